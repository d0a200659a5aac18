#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-numpy is only visible to the system
# interpreter (the `python3` first on PATH may be a different installation).
"""Byte-level BPE trainer/encoder for deepseek2-wasm's small training run.

Pre-tokenization reproduces llama.cpp's `deepseek-llm` regex set: six regexes
applied one after another, each splitting every current fragment with
"isolated" semantics (gap before a match, the match, trailing gap; nothing is
ever dropped). Pieces are byte-encoded with the GPT-2 byte->unicode map and
BPE-merged independently (lowest merge rank first, ties leftmost).

Vocabulary layout written to tokenizer.json:
    ids 0..255      single-byte tokens, id == byte value (GPT-2 encoded string)
    ids 256..N-2    merges, in merge order (rank r -> id 256 + r)
    id  N-1         <|endoftext|>  (special; used as BOS/EOS/document separator)

Usage:
    bpe.py train  --input data/train.txt --vocab-size 4096 --out data/tokenizer.json
    bpe.py encode --tokenizer data/tokenizer.json --input data/train.txt --out data/train.bin
"""
import argparse
import collections
import heapq
import json
import re
import sys
import time
import unicodedata

EOT = "<|endoftext|>"

# ---------------------------------------------------------------- \p{N}
def _build_number_class():
    """Character-class body for \\p{N} (categories Nd, Nl, No), built from
    unicodedata at import time as a list of code-point ranges."""
    ranges = []
    start = prev = None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp)) in ("Nd", "Nl", "No"):
            if start is None:
                start = prev = cp
            elif cp == prev + 1:
                prev = cp
            else:
                ranges.append((start, prev))
                start = prev = cp
    if start is not None:
        ranges.append((start, prev))
    out = []
    for a, b in ranges:
        out.append(re.escape(chr(a)) if a == b else re.escape(chr(a)) + "-" + re.escape(chr(b)))
    return "".join(out)


_PN = _build_number_class()

# ------------------------------------------------- deepseek-llm regex set
# Regex 2's letter class and regex 3/5 literal ranges are the literal character
# ranges of llama.cpp's deepseek-llm pre-tokenizer (spec: docs reference §5.2).
_LETTERS = (
    "A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293"
    "\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A"
    "\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556"
    "\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B"
    "\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D"
    "\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE"
    "\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4"
    "\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128"
    "\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184"
    "\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B"
    "\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17"
    "\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3"
    "\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2"
    "\U000118A0-\U000118DF\U0001E900-\U0001E943"
)
_PUNCT = "!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002"

# Textual form (as in llama.cpp; written into tokenizer.json for reference).
DEEPSEEK_LLM_REGEXES = [
    "[\\r\\n]",
    "\\s?[" + _LETTERS + "]+",
    "\\s?[" + _PUNCT + "]+",
    "\\s+$",
    "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
    "\\p{N}+",
]

# Python forms: `$` must mean "end of the current fragment" (Python's `$` also
# matches before a final newline, so use \Z); \p{N} expanded from unicodedata.
_PY_REGEXES = [
    re.compile(r"[\r\n]"),
    re.compile(r"\s?[" + _LETTERS + r"]+"),
    re.compile(r"\s?[" + _PUNCT + r"]+"),
    re.compile(r"\s+\Z"),
    re.compile("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"),
    re.compile("[" + _PN + "]+"),
]


def pre_tokenize(text):
    """Split text into pieces with the deepseek-llm regex chain (isolated)."""
    frags = [text]
    for rx in _PY_REGEXES:
        out = []
        for f in frags:
            pos = 0
            for m in rx.finditer(f):
                s, e = m.span()
                if s > pos:
                    out.append(f[pos:s])
                out.append(f[s:e])
                pos = e
            if pos < len(f):
                out.append(f[pos:])
        frags = out
    return frags


# ---------------------------------------------------------- byte mapping
def bytes_to_unicode():
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    m = {b: chr(b) for b in keep}
    n = 0
    for b in range(256):
        if b not in m:
            m[b] = chr(0x100 + n)
            n += 1
    return m


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {v: k for k, v in BYTE_ENC.items()}


def encode_piece_bytes(piece):
    return "".join(BYTE_ENC[b] for b in piece.encode("utf-8"))


def split_specials(text):
    """Cut <|endoftext|> out of raw text; yields (is_special, str)."""
    parts = text.split(EOT)
    for i, p in enumerate(parts):
        if i > 0:
            yield True, EOT
        if p:
            yield False, p


# ---------------------------------------------------------------- train
def train(text, vocab_size, log=print):
    t0 = time.time()
    counts = collections.Counter()
    for special, chunk in split_specials(text):
        if special:
            continue
        for line in chunk.split("\n"):
            # regex 1 isolates every \r/\n, so splitting on \n first is exact
            counts.update(pre_tokenize(line))
        counts["\n"] += chunk.count("\n")
    log(f"bpe: {sum(counts.values())} pieces, {len(counts)} unique, {time.time()-t0:.1f}s")

    vocab = [BYTE_ENC[b] for b in range(256)]        # id -> string
    str2id = {s: i for i, s in enumerate(vocab)}
    words = []     # list of symbol-id lists
    wfreq = []
    for w, c in counts.items():
        if not w:
            continue
        words.append([str2id[ch] for ch in encode_piece_bytes(w)])
        wfreq.append(c)

    pair_count = collections.defaultdict(int)
    pair_words = collections.defaultdict(set)
    for wi, syms in enumerate(words):
        f = wfreq[wi]
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += f
            pair_words[(a, b)].add(wi)

    # max-heap on count; ties broken by smaller (a, b) ids -> deterministic
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    n_target = vocab_size - 1            # last id reserved for <|endoftext|>
    while len(vocab) < n_target and heap:
        negc, p = heapq.heappop(heap)
        if pair_count.get(p, 0) != -negc or -negc <= 0:
            continue
        a, b = p
        new_s = vocab[a] + vocab[b]
        merges.append((vocab[a], vocab[b]))
        if new_s in str2id:
            nid = str2id[new_s]
        else:
            nid = len(vocab)
            vocab.append(new_s)
            str2id[new_s] = nid
        changed = set()
        for wi in list(pair_words[p]):
            syms = words[wi]
            f = wfreq[wi]
            # remove old pair contributions of this word
            for x, y in zip(syms, syms[1:]):
                pair_count[(x, y)] -= f
                changed.add((x, y))
            i = 0
            ns = []
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    ns.append(nid)
                    i += 2
                else:
                    ns.append(syms[i])
                    i += 1
            for x, y in zip(syms, syms[1:]):
                s = pair_words.get((x, y))
                if s is not None:
                    s.discard(wi)
            words[wi] = ns
            for x, y in zip(ns, ns[1:]):
                pair_count[(x, y)] += f
                pair_words[(x, y)].add(wi)
                changed.add((x, y))
        pair_count.pop(p, None)
        pair_words.pop(p, None)
        for q in changed:
            c = pair_count.get(q, 0)
            if c > 0:
                heapq.heappush(heap, (-c, q))
            elif q in pair_count:
                del pair_count[q]
        if len(merges) % 500 == 0:
            log(f"bpe: {len(merges)} merges, vocab {len(vocab)}, {time.time()-t0:.1f}s")
    log(f"bpe: done, {len(merges)} merges, vocab {len(vocab)} (+1 special), {time.time()-t0:.1f}s")
    return vocab, merges


def to_tokenizer_json(vocab, merges):
    eot_id = len(vocab)
    if len(vocab) != 256 + len(merges):
        print("bpe: warning: some merges produced an existing token; "
              "merge rank r no longer equals id 256+r", file=sys.stderr)
    v = {s: i for i, s in enumerate(vocab)}
    v[EOT] = eot_id
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{
            "id": eot_id, "content": EOT, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": False, "special": True,
        }],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": (
                [{"type": "Split", "pattern": {"Regex": r}, "behavior": "Isolated", "invert": False}
                 for r in DEEPSEEK_LLM_REGEXES]
                + [{"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                    "use_regex": False}]
            ),
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": v,
            "merges": [a + " " + b for a, b in merges],
        },
    }


# --------------------------------------------------------------- encode
class Tokenizer:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tj = json.load(f)
        self.vocab = tj["model"]["vocab"]
        self.id2str = {i: s for s, i in self.vocab.items()}
        self.ranks = {}
        for r, m in enumerate(tj["model"]["merges"]):
            # byte-level strings never contain a literal space (0x20 -> U+0120)
            a, b = m.split(" ", 1)
            self.ranks[(a, b)] = r
        self.specials = {t["content"]: t["id"] for t in tj["added_tokens"]}
        self.eot_id = self.specials[EOT]
        self.cache = {}

    def _bpe(self, piece):
        ids = self.cache.get(piece)
        if ids is not None:
            return ids
        syms = list(encode_piece_bytes(piece))
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            bi = -1
            for i in range(len(syms) - 1):
                r = ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            syms[bi:bi + 2] = [syms[bi] + syms[bi + 1]]
        ids = []
        for s in syms:
            i = self.vocab.get(s)
            if i is None:
                ids.extend(self.vocab[c] for c in s)  # single byte tokens
            else:
                ids.append(i)
        self.cache[piece] = ids
        return ids

    def encode(self, text):
        out = []
        for special, chunk in split_specials(text):
            if special:
                out.append(self.eot_id)
                continue
            for p in pre_tokenize(chunk):
                out.extend(self._bpe(p))
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            s = self.id2str[int(i)]
            if s == EOT:
                bs.extend(s.encode("utf-8"))
            else:
                bs.extend(BYTE_DEC[c] for c in s)
        return bs.decode("utf-8", errors="replace")


def encode(tokenizer_path, text):
    return Tokenizer(tokenizer_path).encode(text)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--input", required=True)
    t.add_argument("--vocab-size", type=int, default=4096)
    t.add_argument("--out", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("--input", required=True)
    e.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.cmd == "train":
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
        vocab, merges = train(text, args.vocab_size)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(to_tokenizer_json(vocab, merges), f, ensure_ascii=False, indent=1)
    else:
        import numpy as np
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
        tok = Tokenizer(args.tokenizer)
        t0 = time.time()
        ids = tok.encode(text)
        arr = np.array(ids, dtype=np.uint16)
        assert arr.max() < 65536
        arr.tofile(args.out)
        n = min(len(ids), 20000)
        rt = tok.decode(ids[:n])
        assert text.startswith(rt), "decode(encode(x)) round trip failed"
        print(f"encode: {len(text)} chars -> {len(ids)} tokens "
              f"({len(text)/max(1,len(ids)):.2f} chars/token), {time.time()-t0:.1f}s -> {args.out}")


if __name__ == "__main__":
    main()
