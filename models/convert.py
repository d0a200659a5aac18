#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-numpy is only visible to the system
# interpreter, not to other python3 builds that may come first on PATH.
"""Convert a Hugging Face DeepSeek-V2 / V2-Lite (DeepseekV2ForCausalLM) checkpoint to GGUF.

Given the checkpoint folder (config.json, tokenizer.json, optional tokenizer_config.json, and
the weights as *.safetensors (F32/F16/BF16, parsed directly) or a PyTorch state_dict .bin/.pt
(needs torch)), writes a llama.cpp-compatible `deepseek2` GGUF in either converter generation
and any of the supported dtypes:

    convert.py MODEL_DIR --out model.gguf [--gen mla|legacy] [--dtype f32|f16|bf16|q8_0|q4_0]
    convert.py --vocab-only --tokenizer tokenizer.json --pre deepseek-v3 --out vocab.gguf
    convert.py --selftest        # round trips through fake HF folders made from make_tiny weights

Tensors are converted one at a time while writing, so memory stays about one tensor (plus
one layer's experts) even for large models. FP8 (DeepSeek-V3 release) weights are not supported.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402
import make_tiny  # noqa: E402
from gguf import GGUFError, GGUFWriter  # noqa: E402


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# safetensors (8-byte LE header length, JSON header, raw little-endian data)
# ---------------------------------------------------------------------------------------------
_ST_DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2)}


class SafeTensorsFile:
    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise ConvertError("%s: too short for a safetensors file" % path)
            n = int.from_bytes(head, "little")
            if n > size - 8:
                raise ConvertError("%s: safetensors header length %d exceeds file size" % (path, n))
            try:
                header = json.loads(f.read(n).decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise ConvertError("%s: bad safetensors JSON header: %s" % (path, e))
        self.data_start = 8 + n
        self.meta = header.pop("__metadata__", None)
        self.tensors = {}
        for name, info in header.items():
            try:
                dt, shape, (b, e) = info["dtype"], [int(x) for x in info["shape"]], info["data_offsets"]
            except (KeyError, TypeError, ValueError):
                raise ConvertError("%s: bad header entry for %s" % (path, name))
            if not (0 <= b <= e <= size - self.data_start):
                raise ConvertError("%s: data of %s lies outside the file" % (path, name))
            if dt in _ST_DTYPES and (e - b) != int(np.prod(shape)) * _ST_DTYPES[dt][1]:
                raise ConvertError("%s: %s byte size does not match %s %s" % (path, name, dt, shape))
            self.tensors[name] = (dt, tuple(shape), b, e)

    def shape(self, name):
        return self.tensors[name][1]

    def get(self, name):
        dt, shape, b, e = self.tensors[name]
        if dt not in _ST_DTYPES:
            raise ConvertError("%s: tensor %s has unsupported dtype %s (supported: F32, F16, BF16)"
                               % (self.path, name, dt))
        npdt = _ST_DTYPES[dt][0]
        n = int(np.prod(shape))
        a = np.memmap(self.path, dtype=npdt, mode="r", offset=self.data_start + b, shape=(n,)) if n else \
            np.zeros(0, dtype=npdt)
        if dt == "BF16":
            out = gguf.bf16_bits_to_f32(a)
        else:
            out = a.astype(np.float32)
        return out.reshape(shape)


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """tensors: dict name -> float array. dtype: F32 | F16 | BF16 (BF16 rounds to nearest even)."""
    header, blobs, pos = {}, [], 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr, dtype=np.float32)
        if dtype == "F32":
            b = a.astype("<f4").tobytes()
        elif dtype == "F16":
            b = a.astype("<f2").tobytes()
        elif dtype == "BF16":
            b = gguf.f32_to_bf16_bits(a).astype("<u2").tobytes()
        else:
            raise ValueError("unsupported safetensors dtype %s" % dtype)
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------
# checkpoint = all weight files of a folder
# ---------------------------------------------------------------------------------------------
class Checkpoint:
    def __init__(self, folder):
        self.where = {}
        st = sorted(glob.glob(os.path.join(folder, "*.safetensors")))
        if st:
            for p in st:
                f = SafeTensorsFile(p)
                for n in f.tensors:
                    if n in self.where:
                        raise ConvertError("tensor %s appears in more than one weight file" % n)
                    self.where[n] = f
            self.kind = "safetensors"
            return
        pt = sorted(glob.glob(os.path.join(folder, "*.bin")) + glob.glob(os.path.join(folder, "*.pt"))
                    + glob.glob(os.path.join(folder, "*.pth")))
        if not pt:
            raise ConvertError("no weights in %s (expected *.safetensors or a PyTorch *.bin/*.pt)" % folder)
        try:
            import torch
        except ImportError:
            raise ConvertError("reading PyTorch checkpoints (%s) needs torch; install python3-torch "
                               "or convert the weights to safetensors" % os.path.basename(pt[0]))
        self.kind = "pytorch"
        self._pt = {}
        for p in pt:
            try:
                sd = torch.load(p, map_location="cpu", weights_only=True)
            except Exception as e:  # torch raises many types
                raise ConvertError("cannot load %s with torch: %s" % (p, e))
            if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
                sd = sd["state_dict"]
            if not isinstance(sd, dict):
                raise ConvertError("%s does not contain a state_dict" % p)
            for n, t in sd.items():
                if hasattr(t, "shape"):
                    self._pt[n] = t
                    self.where[n] = None

    def shape_of(self, name):
        if name not in self.where:
            return None
        if self.kind == "safetensors":
            return self.where[name].shape(name)
        return tuple(self._pt[name].shape)

    def get(self, name):
        if name not in self.where:
            return None
        if self.kind == "safetensors":
            return self.where[name].get(name)
        return self._pt[name].detach().to(dtype=__import__("torch").float32).numpy()


# ---------------------------------------------------------------------------------------------
# config.json -> normalised config (HF key names, as make_tiny uses them)
# ---------------------------------------------------------------------------------------------
def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ConvertError("cannot read %s %s: %s" % (what, path, e))
    except ValueError as e:
        raise ConvertError("%s %s is not valid JSON: %s" % (what, path, e))


def normalise_config(raw):
    archs = raw.get("architectures") or []
    mt = raw.get("model_type", "")
    if not (set(archs) & {"DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM"} or mt in ("deepseek_v2", "deepseek_v3")):
        raise ConvertError("config.json is not a DeepSeek-V2/V3 config (architectures %s, model_type %r)"
                           % (archs, mt))
    c = dict(raw)
    defaults = {"first_k_dense_replace": 0, "n_shared_experts": 0, "q_lora_rank": None, "rope_scaling": None,
                "norm_topk_prob": False, "routed_scaling_factor": 1.0, "scoring_func": "softmax",
                "topk_method": "greedy", "n_group": 1, "topk_group": 1, "rope_theta": 10000.0,
                "rms_norm_eps": 1e-6, "moe_layer_freq": 1}
    for k, v in defaults.items():
        if c.get(k) is None:
            c[k] = v
    if c.get("moe_layer_freq", 1) != 1:
        raise ConvertError("moe_layer_freq != 1 is not supported")
    rs = c.get("rope_scaling")
    if rs:
        t = rs.get("type", rs.get("rope_type"))
        if t != "yarn":
            raise ConvertError("rope_scaling type %r is not supported (only yarn)" % t)
    try:
        make_tiny.check_config(c)
    except ValueError as e:
        raise ConvertError("config.json: %s" % e)
    return c


# ---------------------------------------------------------------------------------------------
# tokenizer.json -> GGUF vocab
# ---------------------------------------------------------------------------------------------
def _looks_special(tok):
    return (tok.startswith("<|") and tok.endswith("|>")) or (tok.startswith("<\uff5c") and tok.endswith("\uff5c>"))


def _token_content(v):
    if isinstance(v, dict):
        return v.get("content")
    return v


def load_vocab(tok_path, tok_cfg=None, cfg=None, vocab_size=None):
    tj = load_json(tok_path, "tokenizer")
    model = tj.get("model") or {}
    if model.get("type") != "BPE":
        raise ConvertError("%s: tokenizer model type %r is not BPE" % (tok_path, model.get("type")))
    vocab = model.get("vocab")
    if not isinstance(vocab, dict):
        raise ConvertError("%s: model.vocab missing" % tok_path)
    id2tok, types = {}, {}
    for t, i in vocab.items():
        id2tok[int(i)] = t
        types[int(i)] = 1
    for at in tj.get("added_tokens") or []:
        i, t = int(at["id"]), at["content"]
        id2tok[i] = t
        types[i] = 3 if (at.get("special") or _looks_special(t)) else 4
    if not id2tok:
        raise ConvertError("%s: empty vocabulary" % tok_path)
    n = max(id2tok) + 1
    if vocab_size is not None:
        if n > vocab_size:
            raise ConvertError("tokenizer has token id %d >= config vocab_size %d" % (n - 1, vocab_size))
        n = vocab_size
    tokens, ttypes = [], []
    for i in range(n):
        if i in id2tok:
            tokens.append(id2tok[i])
            ttypes.append(types[i])
        else:
            tokens.append("[PAD%d]" % i)
            ttypes.append(5)
    merges = []
    for m in model.get("merges") or []:
        if isinstance(m, str):
            merges.append(m)
        elif isinstance(m, (list, tuple)) and len(m) == 2:
            merges.append("%s %s" % (m[0], m[1]))
        else:
            raise ConvertError("%s: bad merge entry %r" % (tok_path, m))
    tok2id = {t: i for i, t in enumerate(tokens)}

    def resolve(key_tok, key_id):
        if tok_cfg and _token_content(tok_cfg.get(key_tok)) is not None:
            t = _token_content(tok_cfg.get(key_tok))
            if t not in tok2id:
                raise ConvertError("tokenizer_config %s %r is not in the vocabulary" % (key_tok, t))
            return tok2id[t]
        if cfg and cfg.get(key_id) is not None:
            return int(cfg[key_id])
        return None

    bos = resolve("bos_token", "bos_token_id")
    eos = resolve("eos_token", "eos_token_id")
    pad = resolve("pad_token", "pad_token_id")
    if bos is None and make_tiny.BOS_TEXT in tok2id:
        bos = tok2id[make_tiny.BOS_TEXT]
    if eos is None and make_tiny.EOS_TEXT in tok2id:
        eos = tok2id[make_tiny.EOS_TEXT]
    for nm, v in (("bos", bos), ("eos", eos), ("pad", pad)):
        if v is not None and not 0 <= v < n:
            raise ConvertError("%s token id %d out of range" % (nm, v))
    out = {"tokens": tokens, "token_type": ttypes, "merges": merges, "bos": bos, "eos": eos, "pad": pad,
           "add_bos": True, "add_eos": False}
    if tok_cfg:
        if tok_cfg.get("add_bos_token") is not None:
            out["add_bos"] = bool(tok_cfg["add_bos_token"])
        if tok_cfg.get("add_eos_token") is not None:
            out["add_eos"] = bool(tok_cfg["add_eos_token"])
    return out


def chat_template_of(tok_cfg):
    if not tok_cfg:
        return None
    ct = tok_cfg.get("chat_template")
    if isinstance(ct, list):     # [{"name": "default", "template": ...}, ...]
        for e in ct:
            if isinstance(e, dict) and e.get("name") == "default":
                return e.get("template")
        return None
    return ct if isinstance(ct, str) else None


# ---------------------------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------------------------
def _find(folder, name, given):
    if given:
        return given
    if folder and os.path.exists(os.path.join(folder, name)):
        return os.path.join(folder, name)
    return None


def convert(folder, out, gen="mla", dtype="f32", pre="deepseek-llm", name=None, vocab_only=False,
            tokenizer=None, tokenizer_config=None):
    if folder and not os.path.isdir(folder):
        raise ConvertError("%s is not a directory" % folder)
    cfg_path = _find(folder, "config.json", None)
    tok_path = _find(folder, "tokenizer.json", tokenizer)
    tcfg_path = _find(folder, "tokenizer_config.json", tokenizer_config)
    if not tok_path:
        raise ConvertError("tokenizer.json not found (give MODEL_DIR or --tokenizer)")
    tok_cfg = load_json(tcfg_path, "tokenizer config") if tcfg_path else None
    cfg = None
    if cfg_path:
        cfg = normalise_config(load_json(cfg_path, "config"))
    elif not vocab_only:
        raise ConvertError("config.json not found in %s" % folder)
    vocab = load_vocab(tok_path, tok_cfg, cfg, cfg["vocab_size"] if cfg else None)
    if name is None:
        name = os.path.basename(os.path.normpath(folder)) if folder else \
            os.path.basename(os.path.dirname(os.path.abspath(tok_path))) or "deepseek2"
    ct = chat_template_of(tok_cfg)
    if vocab_only:
        w = GGUFWriter()
        if cfg:
            make_tiny.add_hparams(w, cfg, gen, None, name)
        else:
            w.add_string("general.architecture", make_tiny.ARCH)
            w.add_string("general.name", name)
        make_tiny.add_tokenizer(w, vocab, pre=pre, chat_template=ct)
    else:
        ck = Checkpoint(folder)
        w = make_tiny.build_writer(cfg, ck.get, vocab, gen=gen, dtype=dtype, name=name, pre=pre,
                                   chat_template=ct, shape_of=ck.shape_of, lazy=True)
    # write to a temporary name first so a failed conversion leaves no half-written GGUF
    tmp = out + ".part"
    try:
        w.write(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return w


# ---------------------------------------------------------------------------------------------
# fake HF folders (for tests) and self test
# ---------------------------------------------------------------------------------------------
def write_hf_folder(folder, cfg, weights, vocab, st_dtype="F32", shards=1, merges_as_pairs=False,
                    chat_template=None, tokenizer_config=True):
    """Write config.json, tokenizer.json, tokenizer_config.json and safetensors shards."""
    os.makedirs(folder, exist_ok=True)
    c = dict(cfg)
    c["bos_token_id"], c["eos_token_id"] = vocab["bos"], vocab["eos"]
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
        json.dump(c, f, indent=2)
    normal = {t: i for i, (t, ty) in enumerate(zip(vocab["tokens"], vocab["token_type"])) if ty == 1}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, (t, ty) in enumerate(zip(vocab["tokens"], vocab["token_type"])) if ty == 3]
    merges = [m.split(" ", 1) for m in vocab["merges"]] if merges_as_pairs else list(vocab["merges"])
    tj = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                            "use_regex": True},
          "post_processor": None, "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                    "vocab": normal, "merges": merges}}
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False)
    if tokenizer_config:
        tc = {"add_bos_token": True, "add_eos_token": False,
              "bos_token": {"__type": "AddedToken", "content": vocab["tokens"][vocab["bos"]]},
              "eos_token": {"__type": "AddedToken", "content": vocab["tokens"][vocab["eos"]]},
              "model_max_length": cfg["max_position_embeddings"], "tokenizer_class": "LlamaTokenizerFast"}
        if chat_template:
            tc["chat_template"] = chat_template
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(tc, f, ensure_ascii=False, indent=2)
    names = list(weights)
    per = (len(names) + shards - 1) // shards
    index = {"metadata": {}, "weight_map": {}}
    for s in range(shards):
        fn = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
        part = {n: weights[n] for n in names[s * per:(s + 1) * per]}
        write_safetensors(os.path.join(folder, fn), part, st_dtype, metadata={"format": "pt"})
        for n in part:
            index["weight_map"][n] = fn
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f)


def compare_gguf(pa, pb, ignore_keys=("general.name",)):
    """List of differences between two GGUF files (metadata, tensor directory, tensor bytes)."""
    a, b = gguf.read_gguf(pa), gguf.read_gguf(pb)
    diffs = []
    ka = {k: v for k, v in a.kv.items() if k not in ignore_keys}
    kb = {k: v for k, v in b.kv.items() if k not in ignore_keys}
    for k in sorted(set(ka) | set(kb)):
        if ka.get(k) != kb.get(k) or a.kv_types.get(k) != b.kv_types.get(k):
            diffs.append("key %s: %r vs %r" % (k, str(ka.get(k))[:60], str(kb.get(k))[:60]))
    if list(a.tensors) != list(b.tensors):
        diffs.append("tensor lists differ: %s" % sorted(set(a.tensors) ^ set(b.tensors)))
    for n in a.tensors:
        if n in b.tensors:
            ta, tb = a.tensors[n], b.tensors[n]
            if ta.ne != tb.ne or ta.type != tb.type:
                diffs.append("tensor %s: %s %s vs %s %s" % (n, ta.ne, ta.type_name, tb.ne, tb.type_name))
            elif a.raw(n) != b.raw(n):
                diffs.append("tensor %s: data differs" % n)
    return diffs


def selftest():
    import tempfile
    tmp = tempfile.mkdtemp(prefix="ds2_convert_selftest_")
    fails = 0
    variants = [
        # (make_tiny overrides, safetensors dtype, gguf dtype, gen, shards, merges as pairs)
        ({}, "F32", "f32", "mla", 1, False),
        ({}, "F32", "q8_0", "legacy", 2, True),
        ({"q_lora_rank": 0, "layers": 27, "dense_layers": 1}, "F32", "f16", "mla", 3, False),
        ({"gating": "sigmoid", "exp_probs_b": True, "groups": 4, "groups_used": 2, "weights_norm": True,
          "weights_scale": 2.5}, "F32", "q4_0", "mla", 1, True),
        ({"yarn": False, "shared": 1}, "BF16", "bf16", "legacy", 1, False),
        ({}, "F16", "f16", "mla", 2, False),
    ]
    for i, (over, st, dt, gen, shards, pairs) in enumerate(variants):
        args = make_tiny.default_args()
        args.update(over)
        args["seed"] = 100 + i
        cfg, mw, vocab = make_tiny.make_model(args)
        if st == "BF16":   # weights representable in bf16: identical to make_tiny's bf16 output
            mw = {k: gguf.bf16_bits_to_f32(gguf.f32_to_bf16_bits(v)) for k, v in mw.items()}
        if st == "F16":
            mw = {k: v.astype(np.float16).astype(np.float32) for k, v in mw.items()}
        ref = os.path.join(tmp, "ref%d.gguf" % i)
        make_tiny.write_deepseek2_gguf(ref, cfg, mw.get, vocab, gen=gen, dtype=dt,
                                       chat_template=make_tiny.DS_V2_CHAT_TEMPLATE)
        folder = os.path.join(tmp, "hf%d" % i)
        write_hf_folder(folder, cfg, mw, vocab, st_dtype=st, shards=shards, merges_as_pairs=pairs,
                        chat_template=make_tiny.DS_V2_CHAT_TEMPLATE)
        out = os.path.join(tmp, "conv%d.gguf" % i)
        convert(folder, out, gen=gen, dtype=dt)
        d = compare_gguf(ref, out)
        tag = "variant %d (%s, safetensors %s, %s, %s)" % (i, over, st, dt, gen)
        if d:
            fails += 1
            print("FAIL %s: %d differences, e.g. %s" % (tag, len(d), d[:3]))
        else:
            print("ok   %s: identical to make_tiny" % tag)
    # PyTorch state_dict (.bin) instead of safetensors, when torch is available
    try:
        import torch
    except ImportError:
        torch = None
        print("skip PyTorch .bin variant (no torch)")
    if torch is not None:
        args = make_tiny.default_args()
        args.update(seed=200, q_lora_rank=0, layers=26)
        cfg, mw, vocab = make_tiny.make_model(args)
        mw = {k: gguf.bf16_bits_to_f32(gguf.f32_to_bf16_bits(v)) for k, v in mw.items()}
        ref = os.path.join(tmp, "ref_pt.gguf")
        make_tiny.write_deepseek2_gguf(ref, cfg, mw.get, vocab, gen="mla", dtype="q8_0")
        folder = os.path.join(tmp, "hf_pt")
        write_hf_folder(folder, cfg, {}, vocab)
        torch.save({k: torch.from_numpy(np.array(v)).to(torch.bfloat16) for k, v in mw.items()},
                   os.path.join(folder, "pytorch_model.bin"))
        for p in glob.glob(os.path.join(folder, "*.safetensors")):
            os.remove(p)
        out = os.path.join(tmp, "conv_pt.gguf")
        convert(folder, out, gen="mla", dtype="q8_0")
        d = compare_gguf(ref, out)
        print("%s PyTorch .bin (bf16 state_dict) -> q8_0 mla%s" % ("FAIL" if d else "ok  ", (": %s" % d[:3]) if d else ""))
        fails += bool(d)
    # vocab-only from a bare tokenizer.json (no config), padded vocab from config
    args = make_tiny.default_args()
    cfg, mw, vocab = make_tiny.make_model(args)
    folder = os.path.join(tmp, "tokonly")
    write_hf_folder(folder, cfg, {}, vocab, tokenizer_config=False)
    os.remove(os.path.join(folder, "config.json"))
    vo = os.path.join(tmp, "vocab.gguf")
    convert(None, vo, vocab_only=True, tokenizer=os.path.join(folder, "tokenizer.json"), pre="deepseek-v3")
    g = gguf.read_gguf(vo)
    ok = (g.kv["tokenizer.ggml.tokens"] == vocab["tokens"] and g.kv["tokenizer.ggml.merges"] == vocab["merges"]
          and g.kv["tokenizer.ggml.token_type"] == vocab["token_type"] and not g.tensors
          and g.kv["general.architecture"] == "deepseek2" and g.kv["tokenizer.ggml.pre"] == "deepseek-v3"
          and g.kv["tokenizer.ggml.bos_token_id"] == vocab["bos"]
          and g.kv["tokenizer.ggml.eos_token_id"] == vocab["eos"])
    print("%s vocab-only from tokenizer.json" % ("ok  " if ok else "FAIL"))
    fails += not ok
    # padding to config vocab_size with [PAD<i>] (UNUSED)
    cfg2 = dict(cfg)
    cfg2["vocab_size"] = cfg["vocab_size"] + 3
    write_hf_folder(folder, cfg2, {}, vocab, tokenizer_config=False)
    convert(folder, vo, vocab_only=True)
    g = gguf.read_gguf(vo)
    toks, tt = g.kv["tokenizer.ggml.tokens"], g.kv["tokenizer.ggml.token_type"]
    ok = (len(toks) == cfg2["vocab_size"] and toks[-1] == "[PAD%d]" % (cfg2["vocab_size"] - 1) and tt[-1] == 5
          and g.kv["deepseek2.block_count"] == cfg["num_hidden_layers"])
    print("%s vocab padding to config vocab_size" % ("ok  " if ok else "FAIL"))
    fails += not ok
    print("convert selftest: %s" % ("all passed" if not fails else "%d FAILED" % fails))
    return 1 if fails else 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Convert a real Hugging Face DeepSeek-V2 / DeepSeek-V2-Lite (DeepseekV2ForCausalLM) "
                    "checkpoint to a llama.cpp-compatible deepseek2 GGUF, given its files: config.json, "
                    "tokenizer.json (+ tokenizer_config.json) and *.safetensors (F32/F16/BF16) or a PyTorch "
                    "state_dict .bin/.pt (needs torch). --vocab-only makes a tokenizer-only GGUF from just a "
                    "tokenizer.json (e.g. DeepSeek-V3's, with --pre deepseek-v3).")
    ap.add_argument("model_dir", nargs="?", help="HF checkpoint folder")
    ap.add_argument("--out", help="output GGUF path")
    ap.add_argument("--gen", choices=["mla", "legacy"], default="mla",
                    help="mla: recent converter (attn_k_b/attn_v_b, head_count_kv 1); legacy: 2024 (attn_kv_b)")
    ap.add_argument("--dtype", choices=list(gguf.DTYPE_BY_NAME), default="f16",
                    help="tensor type (norms, router, biases stay F32; q8_0/q4_0 fall back to F16 "
                         "when ne0 %% 32 != 0)")
    ap.add_argument("--pre", default="deepseek-llm", help="tokenizer.ggml.pre (deepseek-llm for V2, deepseek-v3)")
    ap.add_argument("--name", help="general.name (default: folder name)")
    ap.add_argument("--vocab-only", action="store_true", help="write only the tokenizer (no tensors)")
    ap.add_argument("--tokenizer", help="tokenizer.json path (default MODEL_DIR/tokenizer.json)")
    ap.add_argument("--tokenizer-config", help="tokenizer_config.json path (default MODEL_DIR/...)")
    ap.add_argument("--selftest", action="store_true", help="round-trip self check on fake HF folders")
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest()
    if not a.out:
        print("error: --out is required", file=sys.stderr)
        return 2
    if not a.model_dir and not (a.vocab_only and a.tokenizer):
        print("error: give MODEL_DIR (or --vocab-only --tokenizer tokenizer.json)", file=sys.stderr)
        return 2
    try:
        convert(a.model_dir, a.out, gen=a.gen, dtype=a.dtype, pre=a.pre, name=a.name, vocab_only=a.vocab_only,
                tokenizer=a.tokenizer, tokenizer_config=a.tokenizer_config)
    except (ConvertError, GGUFError, ValueError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
