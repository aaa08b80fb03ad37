"""Writes a tiny random-weight BERT classifier with its tokenizer to argv[1]."""
import os
import sys

from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(995)]
vocab = os.path.join(out, "vocab.txt")
with open(vocab, "w") as f:
    f.write("\n".join(words) + "\n")
BertTokenizerFast(vocab_file=vocab).save_pretrained(out)
cfg = BertConfig(vocab_size=len(words), hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=256, num_labels=2)
BertForSequenceClassification(cfg).save_pretrained(out)
