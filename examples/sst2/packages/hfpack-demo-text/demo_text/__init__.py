"""Tokenizer for the hfpack sst2 example.

Distributed as ``hfpack-demo-text`` but imported as ``demo_text``: the
distribution and import names differ on purpose, as they do for many real
packages (scikit-learn/sklearn, Pillow/PIL), so hfpack's import check must map
them through the wheel's top_level.txt rather than by guessing.
"""

import re
import sys

_WORD = re.compile(r"[a-z0-9']+")


def tokenize(text):
    """Lower-case word tokens of text."""
    return _WORD.findall(text.lower())


def encode(text, vocab, unk=1):
    """Token ids of text in vocab (a dict word -> id); unknown words map to unk."""
    return [vocab.get(tok, unk) for tok in tokenize(text)]


def main():
    """Console script: print the tokens of each argument."""
    for arg in sys.argv[1:]:
        print(" ".join(tokenize(arg)))
    return 0
