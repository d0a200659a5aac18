#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-numpy is only visible to the system
# interpreter, not to other python3 builds that may come first on PATH.
"""GGUF v3 writer and reader (Python + numpy only).

Writer: every KV value type (incl. nested arrays), tensor directory, general.alignment,
per-tensor padding, tensor dtypes F32 / F16 / BF16 / Q8_0 / Q4_0 with quantizers that
follow llama.cpp's reference algorithms, and Q4_1 / Q5_0 / Q5_1 / Q2_K..Q6_K / IQ4_NL / IQ4_XS with
the simple (valid, not llama.cpp-optimal) quantizers of quants.py.
Reader: read_gguf(path) -> GGUFFile with .kv, .kv_types, .tensors (infos) and
.array(name) (dequantized float32 numpy array, numpy shape = reversed ne).

File layout (all little-endian):
    "GGUF" u32 version i64 n_tensors i64 n_kv
    n_kv x  (string key, i32 value_type, value)
    n_tensors x (string name, u32 n_dims, i64 ne[n_dims], i32 ggml_type, u64 offset)
    pad to alignment; tensor data, each tensor at data_start + offset (offset % alignment == 0)
"""
import struct
import sys

import numpy as np

import quants as _quants

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
DEFAULT_ALIGNMENT = 32


class GGUFError(Exception):
    """Malformed or unsupported GGUF content (reader) or bad writer input."""


# ---------------------------------------------------------------------------------------------
# KV value types (gguf_type)
# ---------------------------------------------------------------------------------------------
class VT:
    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


_SCALAR_FMT = {
    VT.UINT8: "<B", VT.INT8: "<b", VT.UINT16: "<H", VT.INT16: "<h",
    VT.UINT32: "<I", VT.INT32: "<i", VT.FLOAT32: "<f", VT.BOOL: "<B",
    VT.UINT64: "<Q", VT.INT64: "<q", VT.FLOAT64: "<d",
}
_SCALAR_NP = {
    VT.UINT8: "<u1", VT.INT8: "<i1", VT.UINT16: "<u2", VT.INT16: "<i2",
    VT.UINT32: "<u4", VT.INT32: "<i4", VT.FLOAT32: "<f4", VT.BOOL: "<u1",
    VT.UINT64: "<u8", VT.INT64: "<i8", VT.FLOAT64: "<f8",
}
VT_NAMES = {v: k for k, v in VT.__dict__.items() if not k.startswith("_")}


class GArray:
    """A typed GGUF array value. items: list of scalars / str / GArray (for ARRAY of ARRAY)."""

    def __init__(self, elem_type, items):
        self.elem_type = elem_type
        self.items = list(items)

    def __repr__(self):
        return "GArray(%s, %d items)" % (VT_NAMES.get(self.elem_type), len(self.items))


# ---------------------------------------------------------------------------------------------
# ggml tensor types
# ---------------------------------------------------------------------------------------------
class GT:
    F32 = 0
    F16 = 1
    Q4_0 = 2
    Q4_1 = 3
    Q5_0 = 6
    Q5_1 = 7
    Q8_0 = 8
    Q2_K = 10
    Q3_K = 11
    Q4_K = 12
    Q5_K = 13
    Q6_K = 14
    IQ4_NL = 20
    IQ4_XS = 23
    BF16 = 30


# (block size in elements, bytes per block) for the types this module understands
TYPE_TRAITS = {
    GT.F32: (1, 4), GT.F16: (1, 2), GT.BF16: (1, 2),
    GT.Q8_0: (32, 34), GT.Q4_0: (32, 18),
}
TYPE_NAMES = {GT.F32: "F32", GT.F16: "F16", GT.BF16: "BF16", GT.Q8_0: "Q8_0", GT.Q4_0: "Q4_0"}
# the types encoded/decoded by quants.py
for _t, (_be, _bb, _enc, _dec) in _quants.CODECS.items():
    TYPE_TRAITS[_t] = (_be, _bb)
TYPE_NAMES.update({GT.Q4_1: "Q4_1", GT.Q5_0: "Q5_0", GT.Q5_1: "Q5_1", GT.Q2_K: "Q2_K", GT.Q3_K: "Q3_K",
                   GT.Q4_K: "Q4_K", GT.Q5_K: "Q5_K", GT.Q6_K: "Q6_K", GT.IQ4_NL: "IQ4_NL", GT.IQ4_XS: "IQ4_XS"})
# size info for other common ggml types (so the reader can walk files that contain them)
OTHER_TYPE_TRAITS = {
    3: (32, 20), 6: (32, 22), 7: (32, 24), 9: (32, 36), 10: (256, 84), 11: (256, 110),
    12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292), 20: (32, 18), 23: (256, 136),
    24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
}
DTYPE_BY_NAME = {"f32": GT.F32, "f16": GT.F16, "bf16": GT.BF16, "q8_0": GT.Q8_0, "q4_0": GT.Q4_0,
                 "q4_1": GT.Q4_1, "q5_0": GT.Q5_0, "q5_1": GT.Q5_1, "q2_k": GT.Q2_K, "q3_k": GT.Q3_K,
                 "q4_k": GT.Q4_K, "q5_k": GT.Q5_K, "q6_k": GT.Q6_K, "iq4_nl": GT.IQ4_NL, "iq4_xs": GT.IQ4_XS}
# general.file_type (LlamaFileType) for an all-<dtype> model (K-quants: the _S variants; q4_k_m: the
# mixture make_tiny.py --dtype q4_k_m writes)
FILE_TYPE = {"f32": 0, "f16": 1, "q4_0": 2, "q8_0": 7, "bf16": 32, "q4_1": 3, "q5_0": 8, "q5_1": 9,
             "q2_k": 10, "q3_k": 11, "q4_k": 14, "q5_k": 16, "q6_k": 18, "iq4_nl": 25, "iq4_xs": 30,
             "q4_k_m": 15}
# llama-quantize's fallback when ne0 is not a multiple of the target's block size (llama-quant.cpp
# tensor_type_fallback); if the fallback does not fit either, F16.
FALLBACK = {GT.Q2_K: GT.Q4_0, GT.Q3_K: GT.Q4_0, GT.Q4_K: GT.Q5_0, GT.Q5_K: GT.Q5_1, GT.Q6_K: GT.Q8_0,
            GT.IQ4_XS: GT.IQ4_NL}


def type_traits(t):
    if t in TYPE_TRAITS:
        return TYPE_TRAITS[t]
    if t in OTHER_TYPE_TRAITS:
        return OTHER_TYPE_TRAITS[t]
    raise GGUFError("unknown ggml type %d" % t)


def tensor_nbytes(ne, t):
    blck, size = type_traits(t)
    if ne[0] % blck != 0:
        raise GGUFError("ne0=%d is not a multiple of block size %d" % (ne[0], blck))
    n = 1
    for d in ne[1:]:
        n *= d
    return n * (ne[0] // blck) * size


def align_up(x, a):
    return (x + a - 1) // a * a


# ---------------------------------------------------------------------------------------------
# Scalar conversions and quantizers (vectorised). All arithmetic in float32 like ggml.
# ---------------------------------------------------------------------------------------------
def f32_to_bf16_bits(x):
    """float32 -> bf16 bit pattern (uint16), round-to-nearest-even; NaN kept quiet (ggml rule)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    rounded = ((u.astype(np.uint64) + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    quiet = ((u >> 16) | 64).astype(np.uint16)
    return np.where(nan, quiet, rounded)


def bf16_bits_to_f32(b):
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _blocks(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape[-1] % 32 != 0:
        raise GGUFError("row length %d is not a multiple of 32" % x.shape[-1])
    return x.reshape(-1, 32)


def quantize_q8_0(x):
    """Q8_0 (llama.cpp reference): per 32 values d = max|x|/127, id = 1/d, q = round(x*id)
    (roundf: half away from zero), d stored as f16. Returns raw bytes (34 per block)."""
    b = _blocks(x)
    amax = np.max(np.abs(b), axis=1, keepdims=True)
    d = (amax / np.float32(127.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, np.float32(1)), np.float32(0)).astype(np.float32)
    v = (b * idv).astype(np.float32)
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)
    out = np.empty((b.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def quantize_q4_0(x):
    """Q4_0 (llama.cpp reference): per 32 values take max = the signed value with the largest
    |x| (first one on ties), d = max/-8, id = 1/d, q = min(15, (int8)(x*id + 8.5)) (truncation),
    d stored f16; byte j holds element j in the low nibble and element j+16 in the high nibble."""
    b = _blocks(x)
    idx = np.argmax(np.abs(b), axis=1)
    mx = b[np.arange(b.shape[0]), idx][:, None]
    d = (mx / np.float32(-8.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, np.float32(1)), np.float32(0)).astype(np.float32)
    v = (b * idv + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)
    out = np.empty((b.shape[0], 18), dtype=np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def dequantize(raw, t, ne):
    """Raw tensor bytes of ggml type t and dims ne -> float32 numpy array, shape reversed(ne)."""
    shape = tuple(reversed([int(d) for d in ne]))
    n = int(np.prod(shape)) if shape else 1
    buf = np.frombuffer(raw, dtype=np.uint8)
    if t == GT.F32:
        y = buf.view("<f4").astype(np.float32)
    elif t == GT.F16:
        y = buf.view("<f2").astype(np.float32)
    elif t == GT.BF16:
        y = bf16_bits_to_f32(buf.view("<u2"))
    elif t == GT.Q8_0:
        blk = buf.reshape(-1, 34)
        d = blk[:, 0:2].copy().view("<f2").astype(np.float32)
        q = blk[:, 2:].copy().view(np.int8).astype(np.float32)
        y = (d * q).reshape(-1)
    elif t == GT.Q4_0:
        blk = buf.reshape(-1, 18)
        d = blk[:, 0:2].copy().view("<f2").astype(np.float32)
        qs = blk[:, 2:]
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.float32) - 8.0
        y = (d * q).reshape(-1)
    elif t in _quants.CODECS:
        bb = _quants.CODECS[t][1]
        if buf.size % bb:
            raise GGUFError("tensor data size mismatch")
        y = _quants.CODECS[t][3](buf.reshape(-1, bb))
    else:
        raise GGUFError("cannot dequantize ggml type %d" % t)
    if y.size != n:
        raise GGUFError("tensor data size mismatch")
    return y.reshape(shape)


def encode_tensor(arr, t):
    """float numpy array (numpy shape = reversed ne) -> raw bytes of ggml type t."""
    a = np.ascontiguousarray(arr, dtype=np.float32)
    if t == GT.F32:
        return a.astype("<f4").tobytes()
    if t == GT.F16:
        return a.astype("<f2").tobytes()
    if t == GT.BF16:
        return f32_to_bf16_bits(a).astype("<u2").tobytes()
    if t == GT.Q8_0:
        return quantize_q8_0(a)
    if t == GT.Q4_0:
        return quantize_q4_0(a)
    if t in _quants.CODECS:
        # in chunks of whole blocks: the encoders' temporaries are several times the input
        flat, step = a.reshape(-1), 1 << 20
        return b"".join(_quants.CODECS[t][2](flat[i:i + step]) for i in range(0, flat.size, step))
    raise GGUFError("cannot encode ggml type %d" % t)


def choose_type(name, ne, requested):
    """llama.cpp type rules: 1-D tensors, *_norm.weight, ffn_gate_inp.weight and non-.weight
    tensors (e.g. exp_probs_b.bias) stay F32; quantized types fall back to F16 when ne0 is not a
    multiple of the block size (like llama-quantize). requested: ggml type id or dtype name."""
    if isinstance(requested, str):
        requested = DTYPE_BY_NAME[requested]
    if len(ne) == 1 or name.endswith("_norm.weight") or name.endswith("ffn_gate_inp.weight") \
            or not name.endswith(".weight"):
        return GT.F32
    if ne[0] % TYPE_TRAITS[requested][0] != 0 and requested in FALLBACK:
        requested = FALLBACK[requested]
    if ne[0] % TYPE_TRAITS[requested][0] != 0:
        return GT.F16
    return requested


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------
def _pack_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _pack_value(vtype, value):
    if vtype == VT.STRING:
        return _pack_string(value)
    if vtype == VT.ARRAY:
        if not isinstance(value, GArray):
            raise GGUFError("ARRAY value must be a GArray")
        out = [struct.pack("<iQ", value.elem_type, len(value.items))]
        if value.elem_type in _SCALAR_NP and value.elem_type != VT.BOOL:
            out.append(np.asarray(value.items, dtype=_SCALAR_NP[value.elem_type]).tobytes())
        else:
            for it in value.items:
                out.append(_pack_value(value.elem_type, it))
        return b"".join(out)
    if vtype == VT.BOOL:
        return struct.pack("<B", 1 if value else 0)
    if vtype in _SCALAR_FMT:
        return struct.pack(_SCALAR_FMT[vtype], value)
    raise GGUFError("unknown KV value type %r" % (vtype,))


class GGUFWriter:
    """Collects KVs and tensors, then serialises a GGUF v3 file.

    KVs are kept in insertion order; duplicates are allowed at this level (so broken files can
    be produced on purpose) but the typed add_* helpers replace an existing key."""

    def __init__(self, alignment=DEFAULT_ALIGNMENT, write_alignment_key=None):
        self.alignment = alignment
        self.kvs = []          # list of [key, vtype, value]
        self.tensors = []      # list of dicts: name, ne, type, data (bytes)
        if write_alignment_key is None:
            write_alignment_key = alignment != DEFAULT_ALIGNMENT
        if write_alignment_key:
            self.add_u32("general.alignment", alignment)

    # --- KV -----------------------------------------------------------------------------------
    def add_kv(self, key, vtype, value, replace=True):
        if replace:
            for kv in self.kvs:
                if kv[0] == key:
                    kv[1], kv[2] = vtype, value
                    return
        self.kvs.append([key, vtype, value])

    def add_u8(self, k, v): self.add_kv(k, VT.UINT8, int(v))
    def add_i8(self, k, v): self.add_kv(k, VT.INT8, int(v))
    def add_u16(self, k, v): self.add_kv(k, VT.UINT16, int(v))
    def add_i16(self, k, v): self.add_kv(k, VT.INT16, int(v))
    def add_u32(self, k, v): self.add_kv(k, VT.UINT32, int(v))
    def add_i32(self, k, v): self.add_kv(k, VT.INT32, int(v))
    def add_u64(self, k, v): self.add_kv(k, VT.UINT64, int(v))
    def add_i64(self, k, v): self.add_kv(k, VT.INT64, int(v))
    def add_f32(self, k, v): self.add_kv(k, VT.FLOAT32, float(v))
    def add_f64(self, k, v): self.add_kv(k, VT.FLOAT64, float(v))
    def add_bool(self, k, v): self.add_kv(k, VT.BOOL, bool(v))
    def add_string(self, k, v): self.add_kv(k, VT.STRING, str(v))

    def add_array(self, k, elem_type, items):
        self.add_kv(k, VT.ARRAY, GArray(elem_type, items))

    def remove_kv(self, key):
        self.kvs = [kv for kv in self.kvs if kv[0] != key]

    # --- tensors ------------------------------------------------------------------------------
    def add_tensor(self, name, arr, dtype=GT.F32, ne=None):
        """arr: numpy array, numpy shape = reversed ne (row-major, last axis contiguous).
        dtype: ggml type id or name ('f32','f16','bf16','q8_0','q4_0'). Applies no type rules;
        use choose_type() for llama.cpp's rules."""
        if isinstance(dtype, str):
            dtype = DTYPE_BY_NAME[dtype]
        arr = np.asarray(arr)
        if ne is None:
            ne = list(reversed(arr.shape)) or [1]
        ne = [int(d) for d in ne]
        if int(np.prod(ne)) != arr.size:
            raise GGUFError("tensor %s: ne %s does not match array size %d" % (name, ne, arr.size))
        if len(ne) > 4:
            raise GGUFError("tensor %s: more than 4 dims" % name)
        blck = type_traits(dtype)[0]
        if ne[0] % blck != 0:
            raise GGUFError("tensor %s: ne0=%d not a multiple of %d for %s" % (name, ne[0], blck, TYPE_NAMES[dtype]))
        if any(t["name"] == name for t in self.tensors):
            raise GGUFError("duplicate tensor name %s" % name)
        data = encode_tensor(arr.reshape(tuple(reversed(ne))), dtype)
        self.tensors.append({"name": name, "ne": ne, "type": dtype, "data": data})

    def add_lazy_tensor(self, name, ne, dtype, producer):
        """Tensor whose float data is produced only while writing (producer() -> numpy array of
        numpy shape reversed(ne)), so large models can be written without holding all data."""
        if isinstance(dtype, str):
            dtype = DTYPE_BY_NAME[dtype]
        ne = [int(d) for d in ne]
        if any(t["name"] == name for t in self.tensors):
            raise GGUFError("duplicate tensor name %s" % name)
        self.tensors.append({"name": name, "ne": ne, "type": dtype, "producer": producer,
                             "nbytes": tensor_nbytes(ne, dtype)})

    def add_raw_tensor(self, name, ne, ggml_type, data):
        """Add already-encoded tensor bytes (no checks; used for handcrafted files)."""
        self.tensors.append({"name": name, "ne": [int(d) for d in ne], "type": int(ggml_type), "data": bytes(data)})

    # --- serialisation ------------------------------------------------------------------------
    def serialize(self, version=GGUF_VERSION, n_tensors=None, n_kv=None, offsets=None, header_only=False):
        """Return (bytes, layout). layout records byte positions of every part so that tests
        can patch a valid file into a broken one: layout['kv'][i] = (start, value_type_pos,
        value_pos, end), layout['ti'][i] = dict(start, ndims_pos, ne_pos, type_pos, offset_pos,
        end), layout['data_start'], layout['tensor_offsets']."""
        al = self.alignment
        out = bytearray()
        out += GGUF_MAGIC
        out += struct.pack("<I", version)
        out += struct.pack("<q", len(self.tensors) if n_tensors is None else n_tensors)
        out += struct.pack("<q", len(self.kvs) if n_kv is None else n_kv)
        layout = {"kv": [], "ti": [], "kv_keys": [kv[0] for kv in self.kvs]}
        for key, vtype, value in self.kvs:
            start = len(out)
            out += _pack_string(key)
            tpos = len(out)
            out += struct.pack("<i", vtype)
            vpos = len(out)
            out += _pack_value(vtype, value)
            layout["kv"].append((start, tpos, vpos, len(out)))
        # tensor offsets
        rel = []
        pos = 0
        for t in self.tensors:
            rel.append(pos)
            pos = align_up(pos + self._nbytes(t), al)
        if offsets is not None:
            rel = list(offsets)
        for t, off in zip(self.tensors, rel):
            d = {"start": len(out)}
            out += _pack_string(t["name"])
            d["ndims_pos"] = len(out)
            out += struct.pack("<I", len(t["ne"]))
            d["ne_pos"] = len(out)
            for x in t["ne"]:
                out += struct.pack("<q", x)
            d["type_pos"] = len(out)
            out += struct.pack("<i", t["type"])
            d["offset_pos"] = len(out)
            out += struct.pack("<Q", off)
            d["end"] = len(out)
            layout["ti"].append(d)
        data_start = align_up(len(out), al)
        out += b"\0" * (data_start - len(out))
        layout["data_start"] = data_start
        layout["tensor_offsets"] = rel
        if header_only:
            return bytes(out), layout
        pos = 0
        for t in self.tensors:
            data = self._data(t)
            out += data
            pos += len(data)
            pad = align_up(pos, al) - pos
            out += b"\0" * pad
            pos += pad
        return bytes(out), layout

    @staticmethod
    def _nbytes(t):
        return t["nbytes"] if "producer" in t else len(t["data"])

    @staticmethod
    def _data(t):
        if "producer" not in t:
            return t["data"]
        arr = np.asarray(t["producer"]())
        if arr.size != int(np.prod(t["ne"])):
            raise GGUFError("tensor %s: produced %d elements, expected ne %s" % (t["name"], arr.size, t["ne"]))
        data = encode_tensor(arr.reshape(tuple(reversed(t["ne"]))), t["type"])
        if len(data) != t["nbytes"]:
            raise GGUFError("tensor %s: encoded size mismatch" % t["name"])
        return data

    def write(self, path, **kw):
        """Write the file, streaming tensor data one tensor at a time."""
        header, layout = self.serialize(header_only=True, **kw)
        al = self.alignment
        with open(path, "wb") as f:
            f.write(header)
            pos = 0
            for t in self.tensors:
                data = self._data(t)
                f.write(data)
                pos += len(data)
                pad = align_up(pos, al) - pos
                f.write(b"\0" * pad)
                pos += pad
        return layout


# ---------------------------------------------------------------------------------------------
# Reader
# ---------------------------------------------------------------------------------------------
class TensorInfo:
    def __init__(self, name, ne, ggml_type, offset):
        self.name, self.ne, self.type, self.offset = name, ne, ggml_type, offset
        self.nbytes = 0
        self.data_pos = 0

    @property
    def type_name(self):
        return TYPE_NAMES.get(self.type, str(self.type))

    def __repr__(self):
        return "TensorInfo(%s, ne=%s, %s, off=%d)" % (self.name, self.ne, self.type_name, self.offset)


class GGUFFile:
    def __init__(self):
        self.version = 0
        self.kv = {}
        self.kv_types = {}
        self.tensors = {}       # name -> TensorInfo (insertion order = file order)
        self.alignment = DEFAULT_ALIGNMENT
        self.data_start = 0
        self._buf = None

    def raw(self, name):
        ti = self.tensors[name]
        return bytes(self._buf[ti.data_pos:ti.data_pos + ti.nbytes])

    def array(self, name, dtype=np.float32):
        """Dequantized tensor, numpy shape = reversed(ne)."""
        ti = self.tensors[name]
        return dequantize(self.raw(name), ti.type, ti.ne).astype(dtype, copy=False)

    def get(self, key, default=None):
        return self.kv.get(key, default)


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n, what):
        if n < 0 or self.pos + n > len(self.buf):
            raise GGUFError("truncated file while reading %s (need %d bytes at offset %d, file size %d)"
                            % (what, n, self.pos, len(self.buf)))
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt, what):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what):
        n = self.unpack("<Q", what + " length")
        if n > len(self.buf) - self.pos:
            raise GGUFError("string length %d for %s exceeds remaining file size" % (n, what))
        b = self.take(n, what)
        try:
            return bytes(b).decode("utf-8")
        except UnicodeDecodeError:
            raise GGUFError("%s is not valid UTF-8" % what)


def _read_value(cur, vtype, what, depth=0):
    if vtype == VT.STRING:
        return cur.string(what)
    if vtype == VT.ARRAY:
        if depth > 8:
            raise GGUFError("array nesting too deep in %s" % what)
        et = cur.unpack("<i", what + " array type")
        n = cur.unpack("<Q", what + " array count")
        if et in _SCALAR_NP:
            size = np.dtype(_SCALAR_NP[et]).itemsize
            if n > (len(cur.buf) - cur.pos) // size:
                raise GGUFError("array count %d for %s exceeds file size" % (n, what))
            a = np.frombuffer(cur.take(n * size, what), dtype=_SCALAR_NP[et])
            if et == VT.BOOL:
                return GArray(et, [bool(x) for x in a])
            return GArray(et, a.tolist())
        if et not in (VT.STRING, VT.ARRAY):
            raise GGUFError("unknown array element type %d in %s" % (et, what))
        if n > len(cur.buf) - cur.pos:
            raise GGUFError("array count %d for %s exceeds file size" % (n, what))
        return GArray(et, [_read_value(cur, et, what, depth + 1) for _ in range(n)])
    if vtype in _SCALAR_FMT:
        v = cur.unpack(_SCALAR_FMT[vtype], what)
        return bool(v) if vtype == VT.BOOL else v
    raise GGUFError("unknown KV value type %d for %s" % (vtype, what))


def _plain(v):
    return [_plain(x) for x in v.items] if isinstance(v, GArray) else v


def read_gguf(path, check_data=True):
    """Parse a GGUF file. kv values: python scalars / str / lists (arrays, nested lists).
    kv_types[key] = value type, or (ARRAY, elem_type) for arrays. Raises GGUFError."""
    with open(path, "rb") as f:
        buf = f.read()
    return parse_gguf(buf, check_data=check_data)


def parse_gguf(buf, check_data=True):
    g = GGUFFile()
    g._buf = buf
    cur = _Cursor(buf)
    if len(buf) < 4 or bytes(buf[:4]) != GGUF_MAGIC:
        raise GGUFError("bad magic (not a GGUF file)")
    cur.take(4, "magic")
    g.version = cur.unpack("<I", "version")
    if g.version not in (2, 3):
        raise GGUFError("unsupported GGUF version %d" % g.version)
    n_tensors = cur.unpack("<q", "n_tensors")
    n_kv = cur.unpack("<q", "n_kv")
    if n_tensors < 0 or n_kv < 0 or n_tensors > len(buf) or n_kv > len(buf):
        raise GGUFError("absurd counts n_tensors=%d n_kv=%d" % (n_tensors, n_kv))
    for i in range(n_kv):
        key = cur.string("key #%d" % i)
        vt = cur.unpack("<i", "type of " + key)
        val = _read_value(cur, vt, key)
        if key in g.kv:
            raise GGUFError("duplicate key %s" % key)
        g.kv[key] = _plain(val)
        g.kv_types[key] = (VT.ARRAY, val.elem_type) if vt == VT.ARRAY else vt
    if "general.alignment" in g.kv:
        al = g.kv["general.alignment"]
        if not isinstance(al, int) or al <= 0 or (al & (al - 1)) != 0:
            raise GGUFError("bad general.alignment %r (must be a power of 2)" % (al,))
        g.alignment = al
    for i in range(n_tensors):
        name = cur.string("tensor name #%d" % i)
        nd = cur.unpack("<I", "n_dims of " + name)
        if nd < 1 or nd > 4:
            raise GGUFError("tensor %s has n_dims=%d" % (name, nd))
        ne = [cur.unpack("<q", "ne of " + name) for _ in range(nd)]
        if any(d < 0 for d in ne):
            raise GGUFError("tensor %s has negative ne %s" % (name, ne))
        n = 1
        for d in ne:
            n *= d
        if n >= 2 ** 62:
            raise GGUFError("tensor %s: element count overflows (ne=%s)" % (name, ne))
        t = cur.unpack("<i", "type of " + name)
        try:
            type_traits(t)
        except GGUFError:
            raise GGUFError("tensor %s has unknown ggml type %d" % (name, t))
        off = cur.unpack("<Q", "offset of " + name)
        if name in g.tensors:
            raise GGUFError("duplicate tensor name %s" % name)
        ti = TensorInfo(name, ne, t, off)
        ti.nbytes = tensor_nbytes(ne, t)
        g.tensors[name] = ti
    g.data_start = align_up(cur.pos, g.alignment)
    for ti in g.tensors.values():
        if ti.offset % g.alignment != 0:
            raise GGUFError("tensor %s offset %d is not aligned to %d" % (ti.name, ti.offset, g.alignment))
        ti.data_pos = g.data_start + ti.offset
        if check_data and ti.data_pos + ti.nbytes > len(buf):
            if ti.data_pos >= len(buf):
                raise GGUFError("tensor %s offset %d is past the end of file" % (ti.name, ti.offset))
            raise GGUFError("truncated tensor data for %s" % ti.name)
    return g


# ---------------------------------------------------------------------------------------------
# tiny CLI: dump a GGUF
# ---------------------------------------------------------------------------------------------
def _short(v):
    if isinstance(v, list):
        head = ", ".join(repr(x) for x in v[:6])
        return "[%s%s] (%d items)" % (head, ", ..." if len(v) > 6 else "", len(v))
    return repr(v)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Dump the metadata and tensor directory of a GGUF file.")
    ap.add_argument("path")
    a = ap.parse_args(argv)
    try:
        g = read_gguf(a.path)
    except (OSError, GGUFError) as e:
        print("error: %s: %s" % (a.path, e), file=sys.stderr)
        return 1
    print("version %d, %d kv, %d tensors, alignment %d, data_start %d"
          % (g.version, len(g.kv), len(g.tensors), g.alignment, g.data_start))
    for k, v in g.kv.items():
        t = g.kv_types[k]
        tn = ("ARRAY[%s]" % VT_NAMES[t[1]]) if isinstance(t, tuple) else VT_NAMES[t]
        print("  %-50s %-14s %s" % (k, tn, _short(v)))
    for ti in g.tensors.values():
        print("  %-36s %-5s ne=%s off=%d" % (ti.name, ti.type_name, ti.ne, ti.offset))
    return 0


if __name__ == "__main__":
    sys.exit(main())
