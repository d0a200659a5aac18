#!/usr/bin/python3
"""Split a GGUF into llama.cpp gguf-split shards: <prefix>-00001-of-0000N.gguf ... (1-based names).

Follows llama.cpp's layout (tools/gguf-split): every shard is a complete GGUF with its own header, tensor
directory and data section (offsets relative to that shard); split.no (UINT16, 0-based), split.count
(UINT16) and split.tensors.count (INT32, total over all shards) are in every shard; all other metadata is
only in shard 0. Used by the JS loader tests (web/gguf_split.js merges the shards back while streaming).

    models/gguf_split.py IN.gguf OUT_PREFIX --shards N [--no-tensor-first-split]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402


def split(path, prefix, n_shards, no_tensor_first):
    src = gguf.read_gguf(path)
    names = list(src.tensors)
    # tensor groups: shard 0 may be metadata-only (--no-tensor-first-split)
    n_data = n_shards - 1 if no_tensor_first else n_shards
    if n_data < 1 or n_data > len(names):
        raise SystemExit("cannot split %d tensors into %d shards" % (len(names), n_shards))
    per = -(-len(names) // n_data)
    groups = [names[i * per:(i + 1) * per] for i in range(n_data)]
    if no_tensor_first:
        groups = [[]] + groups
    groups += [[]] * (n_shards - len(groups))
    out = []
    for no, group in enumerate(groups):
        w = gguf.GGUFWriter(alignment=src.alignment, write_alignment_key=False)
        if no == 0:
            for key, value in src.kv.items():
                vt = src.kv_types[key]
                if key.startswith("split."):
                    continue
                if isinstance(vt, tuple):
                    w.add_array(key, vt[1], value)
                else:
                    w.add_kv(key, vt, value)
        elif "general.alignment" in src.kv:
            w.add_u32("general.alignment", src.alignment)  # offsets of this shard depend on it
        w.add_u16("split.no", no)
        w.add_u16("split.count", n_shards)
        w.add_i32("split.tensors.count", len(names))
        for name in group:
            ti = src.tensors[name]
            w.add_raw_tensor(name, ti.ne, ti.type, src.raw(name))
        p = "%s-%05d-of-%05d.gguf" % (prefix, no + 1, n_shards)
        w.write(p)
        out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("prefix")
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--no-tensor-first-split", action="store_true")
    a = ap.parse_args()
    for p in split(a.input, a.prefix, a.shards, a.no_tensor_first_split):
        print(p)


if __name__ == "__main__":
    main()
