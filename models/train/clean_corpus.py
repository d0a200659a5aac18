#!/usr/bin/python3
# Run with /usr/bin/python3 (system interpreter; only stdlib is needed here).
"""Clean the raw book texts written by corpus.sh into train.txt / val.txt.

- Moby Dick: keep the text between the Project Gutenberg START marker and the
  "End of Project Gutenberg's ..." line, and drop the front matter before
  "ETYMOLOGY." (producer credits and transcriber's notes).
- Lines are joined into paragraphs (blank line = paragraph break), whitespace
  is collapsed to single spaces, `_italic_` underscores are removed, and the
  text is normalised to NFC with typographic quotes/dashes mapped to ASCII.
- Paragraphs are separated by a single "\n"; books by "\n<|endoftext|>" +
  nothing else (each book also starts right after a separator).
- The last ~3% of each book's paragraphs (by characters) is held out as val.
"""
import os
import re
import sys
import unicodedata

EOT = "<|endoftext|>"
VAL_FRAC = 0.03

_MAP = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
        "\u2014": "--", "\u2013": "-", "\ufeff": "", "\u00a0": " "}


def paragraphs(text):
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    for k, v in _MAP.items():
        text = text.replace(k, v)
    out = []
    for block in re.split(r"\n[ \t]*\n", text):
        p = " ".join(block.split())
        p = re.sub(r"(?<!\w)_+|_+(?!\w)", "", p)   # _emphasis_ markers
        p = " ".join(p.split())
        if p:
            out.append(p)
    return out


def moby(text):
    s = text.index("*** START OF THIS PROJECT GUTENBERG EBOOK")
    e = text.index("End of Project Gutenberg's Moby Dick")
    body = text[s:e]
    body = body[body.index("ETYMOLOGY."):]
    return body


def split_book(paras):
    total = sum(len(p) + 1 for p in paras)
    acc, cut = 0, len(paras)
    for i, p in enumerate(paras):
        acc += len(p) + 1
        if acc >= total * (1 - VAL_FRAC):
            cut = i + 1
            break
    return paras[:cut], paras[cut:]


def main():
    raw, out = sys.argv[1], sys.argv[2]
    books = []
    n = 1
    while os.path.exists(os.path.join(raw, f"austen_{n}.txt")):
        with open(os.path.join(raw, f"austen_{n}.txt"), encoding="utf-8") as f:
            books.append((f"austen_{n}", f.read()))
        n += 1
    with open(os.path.join(raw, "mobydick.txt"), encoding="utf-8") as f:
        books.append(("mobydick", moby(f.read())))
    tr_parts, va_parts = [], []
    for name, text in books:
        paras = paragraphs(text)
        tr, va = split_book(paras)
        tr_parts.append("\n".join(tr) + "\n")
        va_parts.append("\n".join(va) + "\n")
        print(f"{name}: {len(paras)} paragraphs, train {sum(map(len, tr))} chars, "
              f"val {sum(map(len, va))} chars")
    with open(os.path.join(out, "train.txt"), "w", encoding="utf-8") as f:
        f.write(EOT + EOT.join(tr_parts))
    with open(os.path.join(out, "val.txt"), "w", encoding="utf-8") as f:
        f.write(EOT + EOT.join(va_parts))
    nonascii = {}
    for part in tr_parts:
        for ch in part:
            if ord(ch) > 126:
                nonascii[ch] = nonascii.get(ch, 0) + 1
    print("non-ASCII chars in train:", sorted(nonascii.items(), key=lambda x: -x[1])[:20])


if __name__ == "__main__":
    main()
