// Package tags implements wheel filenames (PEP 427, PEP 491) and platform
// compatibility tags (PEP 425, PEP 600 manylinux, PEP 656 musllinux).
//
// A Target describes the interpreter and C library of the image a wheel will
// be installed into; its Supported set ranks tags from most to least
// specific, as pip and uv do, so the best wheel of a release can be chosen
// and a wheel that cannot run in the image (macOS-only, another CPython,
// a manylinux newer than the image's glibc) is rejected with the reason.
package tags
