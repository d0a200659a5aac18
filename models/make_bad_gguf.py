#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-numpy is only visible to the system
# interpreter, not to other python3 builds that may come first on PATH.
"""Write a folder of handcrafted broken GGUFs for the C reader's tests.

    make_bad_gguf.py --out DIR [--list]

Every file is a valid tiny deepseek2 model (make_tiny.py, fixed seed) with exactly ONE
thing wrong. DIR/expected.tsv lists `file<TAB>expected_status` (a header line first) with the
C side's status names; `valid.gguf` (DS2_OK) is the unmodified base for a control test.
"""
import argparse
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402
import make_tiny  # noqa: E402
from gguf import VT  # noqa: E402

# small but complete model (q-LoRA, 1 dense + 1 MoE layer, shared experts, yarn)
BASE_ARGS = dict(seed=12345, dtype="f32", gen="mla", hidden=32, layers=2, dense_layers=1, heads=2,
                 q_lora_rank=32, kv_lora_rank=32, qk_nope=32, qk_rope=16, v_head=32, vocab=260,
                 ff=64, expert_ff=32, experts=4, experts_used=2, shared=1)


def base_writer(mutate_cfg=None):
    cfg, mw, vocab = make_tiny.make_model(BASE_ARGS)
    if mutate_cfg:
        mutate_cfg(cfg)
    return make_tiny.build_writer(cfg, mw.get, vocab, gen="mla", dtype="f32", name="bad-gguf-base")


def base_bytes():
    return base_writer().serialize()


def kv_index(layout, key):
    return layout["kv_keys"].index(key)


def tensor_index(w, name):
    return [t["name"] for t in w.tensors].index(name)


def patch(data, pos, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, pos, value)
    return bytes(b)


# --- one function per case: returns the file bytes ----------------------------------------------
def c_valid():
    return base_bytes()[0]


def c_bad_magic():
    d, _ = base_bytes()
    return b"GGUX" + d[4:]


def c_bad_version_1():
    d, _ = base_bytes()
    return patch(d, 4, "<I", 1)


def c_bad_version_4():
    d, _ = base_bytes()
    return patch(d, 4, "<I", 4)


def c_truncated_header():
    d, L = base_bytes()
    s, _, _, e = L["kv"][kv_index(L, "tokenizer.ggml.tokens")]
    return d[:(s + e) // 2]          # cut in the middle of the KV section


def c_truncated_tensor_info():
    d, L = base_bytes()
    ti = L["ti"][len(L["ti"]) // 2]
    return d[:ti["ne_pos"] + 4]      # cut in the middle of a tensor's ne


def c_truncated_tensor_data():
    w = base_writer()
    d, L = w.serialize()
    last = w.tensors[-1]
    end = L["data_start"] + L["tensor_offsets"][-1] + len(last["data"])
    return d[:end - len(last["data"]) // 2]   # half of the last tensor's data missing


def c_offset_past_end():
    w = base_writer()
    d, L = w.serialize()
    off = gguf.align_up(len(d) * 2, w.alignment)
    return patch(d, L["ti"][-1]["offset_pos"], "<Q", off)


def c_offset_wraps():
    # data_start + offset wraps around 2^64: must be caught without overflowing
    d, L = base_bytes()
    return patch(d, L["ti"][-1]["offset_pos"], "<Q", (1 << 64) - 32)


def c_misaligned_offset():
    d, L = base_bytes()
    return patch(d, L["ti"][0]["offset_pos"], "<Q", L["tensor_offsets"][0] + 16)


def c_unknown_dtype():
    d, L = base_bytes()
    return patch(d, L["ti"][1]["type_pos"], "<i", 99)


def c_n_dims_5():
    w = base_writer()
    i = tensor_index(w, "blk.0.attn_q_a.weight")
    w.tensors[i]["ne"] = w.tensors[i]["ne"] + [1, 1, 1]      # 5 dims, same element count
    return w.serialize()[0]


def c_ne_overflow():
    d, L = base_bytes()
    w = base_writer()
    i = tensor_index(w, "blk.0.attn_q_a.weight")              # 2-D tensor
    pos = L["ti"][i]["ne_pos"]
    d = patch(d, pos, "<q", 1 << 32)
    return patch(d, pos + 8, "<q", 1 << 32)                    # 2^64 elements


def c_absurd_n_kv():
    d, _ = base_bytes()
    return patch(d, 16, "<q", 1 << 62)


def c_absurd_n_tensors():
    d, _ = base_bytes()
    return patch(d, 8, "<q", 1 << 62)


def c_absurd_string_length():
    d, L = base_bytes()
    s = L["kv"][kv_index(L, "general.name")][0]
    return patch(d, s, "<Q", 1 << 62)                          # key length


def c_absurd_array_count():
    d, L = base_bytes()
    _, _, vpos, _ = L["kv"][kv_index(L, "tokenizer.ggml.merges")]
    return patch(d, vpos + 4, "<Q", 1 << 62)                   # after the i32 element type


def c_bad_alignment():
    w = base_writer()
    w.kvs.insert(1, ["general.alignment", VT.UINT32, 3])
    return w.serialize()[0]


def c_alignment_zero():
    w = base_writer()
    w.kvs.insert(1, ["general.alignment", VT.UINT32, 0])
    return w.serialize()[0]


def c_duplicate_tensor():
    w = base_writer()
    # second copy of the first 1-D tensor under the same name (extra tensor, nothing dropped)
    src = w.tensors[tensor_index(w, "blk.0.attn_norm.weight")]
    w.add_raw_tensor(src["name"], src["ne"], src["type"], src["data"])
    return w.serialize()[0]


def c_duplicate_key():
    w = base_writer()
    w.add_kv("deepseek2.block_count", VT.UINT32, 2, replace=False)
    return w.serialize()[0]


def c_unknown_kv_type():
    d, L = base_bytes()
    _, tpos, _, _ = L["kv"][kv_index(L, "deepseek2.block_count")]
    return patch(d, tpos, "<i", 13)


def c_unknown_array_type():
    d, L = base_bytes()
    _, _, vpos, _ = L["kv"][kv_index(L, "tokenizer.ggml.token_type")]
    return patch(d, vpos, "<i", 99)


def c_missing_tensor():
    w = base_writer()
    del w.tensors[tensor_index(w, "blk.0.attn_kv_a_mqa.weight")]
    return w.serialize()[0]


def c_shape_mismatch():
    w = base_writer()
    i = tensor_index(w, "blk.0.attn_kv_a_mqa.weight")
    t = w.tensors[i]
    ne = [t["ne"][0], t["ne"][1] + 32]                          # {D, dc+dr+32}
    arr = np.random.default_rng(0).standard_normal((ne[1], ne[0])).astype(np.float32)
    t["ne"], t["data"] = ne, gguf.encode_tensor(arr, t["type"])
    return w.serialize()[0]


def c_missing_key():
    w = base_writer()
    w.remove_kv("deepseek2.attention.kv_lora_rank")
    return w.serialize()[0]


def c_wrong_arch():
    w = base_writer()
    w.add_string("general.architecture", "llama")
    return w.serialize()[0]


CASES = [
    ("valid", "DS2_OK", c_valid, "unmodified base model (control)"),
    ("bad_magic", "DS2_E_BAD_MAGIC", c_bad_magic, "magic GGUX"),
    ("bad_version_1", "DS2_E_BAD_VERSION", c_bad_version_1, "version 1"),
    ("bad_version_4", "DS2_E_BAD_VERSION", c_bad_version_4, "version 4"),
    ("truncated_header", "DS2_E_TRUNCATED", c_truncated_header, "file cut inside the KV section"),
    ("truncated_tensor_info", "DS2_E_TRUNCATED", c_truncated_tensor_info, "file cut inside the tensor directory"),
    ("truncated_tensor_data", "DS2_E_TRUNCATED", c_truncated_tensor_data, "last tensor's data half missing"),
    ("offset_past_end", "DS2_E_BAD_OFFSET", c_offset_past_end, "last tensor offset beyond EOF (aligned)"),
    ("offset_wraps", "DS2_E_BAD_OFFSET", c_offset_wraps, "last tensor offset 2^64-32 (data_start+offset wraps)"),
    ("misaligned_offset", "DS2_E_MISALIGNED", c_misaligned_offset, "first tensor offset +16 (alignment 32)"),
    ("unknown_dtype", "DS2_E_UNKNOWN_DTYPE", c_unknown_dtype, "ggml type 99 on the 2nd tensor"),
    ("n_dims_5", "DS2_E_BAD_TENSOR", c_n_dims_5, "a tensor with n_dims = 5"),
    ("ne_overflow", "DS2_E_OVERFLOW", c_ne_overflow, "ne = {2^32, 2^32}: element count overflows int64"),
    ("absurd_n_kv", "DS2_E_OVERFLOW", c_absurd_n_kv, "n_kv = 2^62"),
    ("absurd_n_tensors", "DS2_E_OVERFLOW", c_absurd_n_tensors, "n_tensors = 2^62"),
    ("absurd_string_length", "DS2_E_OVERFLOW", c_absurd_string_length, "key string length 2^62"),
    ("absurd_array_count", "DS2_E_OVERFLOW", c_absurd_array_count, "merges array count 2^62"),
    ("bad_alignment", "DS2_E_BAD_ALIGNMENT", c_bad_alignment, "general.alignment = 3"),
    ("alignment_zero", "DS2_E_BAD_ALIGNMENT", c_alignment_zero, "general.alignment = 0"),
    ("duplicate_tensor", "DS2_E_DUPLICATE", c_duplicate_tensor, "blk.0.attn_norm.weight twice"),
    ("duplicate_key", "DS2_E_DUPLICATE", c_duplicate_key, "deepseek2.block_count twice"),
    ("unknown_kv_type", "DS2_E_BAD_KV_TYPE", c_unknown_kv_type, "value type 13 on deepseek2.block_count"),
    ("unknown_array_type", "DS2_E_BAD_KV_TYPE", c_unknown_array_type, "array element type 99 (token_type)"),
    ("missing_tensor", "DS2_E_MISSING_TENSOR", c_missing_tensor, "blk.0.attn_kv_a_mqa.weight dropped"),
    ("shape_mismatch", "DS2_E_SHAPE_MISMATCH", c_shape_mismatch, "blk.0.attn_kv_a_mqa.weight ne {D, dc+dr+32}"),
    ("missing_key", "DS2_E_MISSING_KEY", c_missing_key, "deepseek2.attention.kv_lora_rank dropped"),
    ("wrong_arch", "DS2_E_UNSUPPORTED_ARCH", c_wrong_arch, "general.architecture = llama"),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write handcrafted broken GGUF files plus expected.tsv.")
    ap.add_argument("--out", help="output directory (created if needed)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    a = ap.parse_args(argv)
    if a.list:
        for name, st, _, desc in CASES:
            print("%-24s %-24s %s" % (name + ".gguf", st, desc))
        return 0
    if not a.out:
        print("error: --out DIR is required", file=sys.stderr)
        return 2
    try:
        os.makedirs(a.out, exist_ok=True)
        rows = ["file\texpected_status"]
        for name, st, fn, _ in CASES:
            with open(os.path.join(a.out, name + ".gguf"), "wb") as f:
                f.write(fn())
            rows.append("%s.gguf\t%s" % (name, st))
        with open(os.path.join(a.out, "expected.tsv"), "w") as f:
            f.write("\n".join(rows) + "\n")
    except OSError as e:
        print("error: cannot write to %s: %s" % (a.out, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
