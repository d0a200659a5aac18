#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-numpy is only visible to the system
# interpreter, not to other python3 builds that may come first on PATH.
"""Make a random DeepSeek-V2-architecture (llama.cpp arch `deepseek2`) GGUF of any shape.

The model is defined by HF-style master weights (names and [out, in] layouts of
DeepseekV2ForCausalLM) generated from --seed, one independent RNG stream per tensor, so a
`--gen legacy` and a `--gen mla` file of the same seed and shape are the same model, and the
dtype only changes the storage. The GGUF is written exactly as llama.cpp's converter would
(2024 converter for legacy: attn_kv_b; recent converter for mla: attn_k_b / attn_v_b).

    make_tiny.py --out tiny.gguf [--seed 1] [--dtype f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q2_k|q3_k|q4_k|
                                          q5_k|q6_k|iq4_nl|iq4_xs|q4_k_m] [--gen mla|legacy] ...
    (the Q4_1 .. IQ4_XS encoders are simple round-to-nearest ones, models/quants.py: valid blocks, not
    llama-quantize's bytes; q4_k_m: Q4_K with Q6_K where llama-quantize's Q4_K_M uses it, see
    q4_k_m_type)
    make_tiny.py --print-config [shape flags]
    make_tiny.py --selftest          # writer/reader round trips for every dtype and KV type

This module is also a library: convert.py uses write_deepseek2_gguf() and the tokenizer helpers.
"""
import argparse
import math
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402
from gguf import GT, VT, GGUFWriter, GGUFError  # noqa: E402

ARCH = "deepseek2"
# DeepSeek-V2 / V2-Lite-Chat chat template (Jinja), as shipped in their tokenizer_config.json
DS_V2_CHAT_TEMPLATE = (
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'User: ' + message['content'] + '\n\n' }}{% elif message['role'] == 'assistant' %}"
    "{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
    "{{ message['content'] + '\n\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")
BOS_TEXT = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
EOS_TEXT = "<\uff5cend\u2581of\u2581sentence\uff5c>"


# ---------------------------------------------------------------------------------------------
# Byte-level BPE vocabulary
# ---------------------------------------------------------------------------------------------
def bytes_to_unicode():
    """GPT-2 byte -> symbol map: printable bytes map to themselves, the other 68 bytes (in
    increasing order) to U+0100.. ."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    m = {}
    n = 0
    for b in range(256):
        if b in keep:
            m[b] = chr(b)
        else:
            m[b] = chr(0x100 + n)
            n += 1
    return m


BYTE_SYM = bytes_to_unicode()

# A small corpus written for this tool; BPE merges are learned from it.
_CORPUS = """
The small model reads a line of text and guesses the next word. It is not a good model:
its weights are random numbers, chosen only so that the numbers inside stay the right size.
Tests run it on short prompts, compare the logits from two engines, and check that they agree.
A token is a piece of text; the tokenizer splits the text into words, then merges pairs of
symbols by rank until no known pair is left. The first two hundred and fifty six tokens are
the bytes, so every string can be written down, even one in another language or with digits
like 12345 and 67890. When the user asks a question, the assistant answers: hello, world!
This is the end of the sentence, and this is the start of another one. Where are the
experts? There are eight of them in each layer, and the router picks two for every token.
Attention looks back at the tokens that came before; the latent cache keeps them small.
Some people write code in C, some in Python, and some in both; the tests are written so that
anyone can read them. Over the river and through the woods, the quick brown fox jumps over
the lazy dog while the cat sleeps in the sun. Numbers: one two three four five six seven eight
nine ten. Questions? Answers. Reading, writing, thinking, running, testing, merging, sorting.
"""


def _pretokenize(text):
    """Rough word split in the spirit of the deepseek-llm pre-tokenizer: newlines, letter runs
    with an optional leading space, punctuation runs with an optional leading space, digits."""
    import re
    return re.findall(r"[\r\n]| ?[A-Za-z]+| ?[^\sA-Za-z0-9]+|\s+|[0-9]", text)


def build_vocab(n_vocab):
    """tokens, token_types, merges, bos_id, eos_id. Layout: 256 byte symbols (id = byte value),
    then merge results up to n_vocab-2, then BOS and EOS (control, type 3)."""
    if n_vocab < 260:
        raise ValueError("vocab must be >= 260 (256 bytes + >=2 merges + BOS + EOS)")
    tokens = [BYTE_SYM[b] for b in range(256)]
    have = set(tokens)
    merges = []
    want = n_vocab - 2 - 256
    words = {}
    for w in _pretokenize(_CORPUS):
        sym = tuple(BYTE_SYM[b] for b in w.encode("utf-8"))
        words[sym] = words.get(sym, 0) + 1
    while len(merges) < want:
        counts = {}
        for w, c in words.items():
            for p in zip(w[:-1], w[1:]):
                counts[p] = counts.get(p, 0) + c
        # best pair: highest count, then lexicographically smallest (deterministic)
        best = None
        for p, c in counts.items():
            if p[0] + p[1] in have:
                continue
            if best is None or c > best[1] or (c == best[1] and p < best[0]):
                best = (p, c)
        if best is None or best[1] < 2:
            break
        a, b = best[0]
        merges.append(a + " " + b)
        tokens.append(a + b)
        have.add(a + b)
        nw = {}
        for w, c in words.items():
            out = []
            i = 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    # corpus exhausted: synthetic merges of existing tokens with single letters (deterministic)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    i = 0
    while len(merges) < want:
        base = tokens[i % len(tokens)] if i < len(tokens) * 4 else None
        if base is None:
            raise ValueError("vocab too large for the synthetic tokenizer")
        for ch in letters:
            if len(merges) >= want:
                break
            if base + ch not in have and " " not in base:
                merges.append(base + " " + ch)
                tokens.append(base + ch)
                have.add(base + ch)
        i += 1
    types = [1] * len(tokens)
    tokens += [BOS_TEXT, EOS_TEXT]
    types += [3, 3]
    return {"tokens": tokens, "token_type": types, "merges": merges,
            "bos": len(tokens) - 2, "eos": len(tokens) - 1}


# ---------------------------------------------------------------------------------------------
# Hyper-parameters (HF config.json vocabulary) and master weights (HF names, [out, in])
# ---------------------------------------------------------------------------------------------
def default_args():
    return dict(seed=1, dtype="f32", gen="mla", hidden=64, layers=3, dense_layers=1, heads=4,
                q_lora_rank=32, kv_lora_rank=32, qk_nope=32, qk_rope=16, v_head=32, vocab=320,
                ff=96, expert_ff=32, experts=8, experts_used=2, shared=2, gating="softmax",
                exp_probs_b=False, groups=1, groups_used=1, weights_norm=False, weights_scale=1.0,
                yarn=True, yarn_factor=40.0, yarn_orig_ctx=4096, mscale_all_dim=0.707,
                rope_theta=10000.0, ctx=4096, eps=1e-6)


def hf_config(a):
    """HF DeepseekV2 config dict from make_tiny args (dict or namespace)."""
    a = dict(vars(a)) if not isinstance(a, dict) else dict(a)
    d = default_args()
    d.update({k: v for k, v in a.items() if v is not None})
    a = d
    if a["exp_probs_b"]:
        topk = "noaux_tc"
    elif a["groups"] > 1:
        topk = "group_limited_greedy"
    else:
        topk = "greedy"
    cfg = {
        "architectures": ["DeepseekV2ForCausalLM"],
        "model_type": "deepseek_v2",
        "hidden_size": a["hidden"],
        "num_hidden_layers": a["layers"],
        "first_k_dense_replace": a["dense_layers"],
        "moe_layer_freq": 1,
        "num_attention_heads": a["heads"],
        "num_key_value_heads": a["heads"],
        "q_lora_rank": a["q_lora_rank"] if a["q_lora_rank"] else None,
        "kv_lora_rank": a["kv_lora_rank"],
        "qk_nope_head_dim": a["qk_nope"],
        "qk_rope_head_dim": a["qk_rope"],
        "v_head_dim": a["v_head"],
        "vocab_size": a["vocab"],
        "intermediate_size": a["ff"],
        "moe_intermediate_size": a["expert_ff"],
        "n_routed_experts": a["experts"],
        "num_experts_per_tok": a["experts_used"],
        "n_shared_experts": a["shared"],
        "scoring_func": a["gating"],
        "topk_method": topk,
        "n_group": a["groups"],
        "topk_group": a["groups_used"],
        "norm_topk_prob": bool(a["weights_norm"]),
        "routed_scaling_factor": float(a["weights_scale"]),
        "rope_theta": float(a["rope_theta"]),
        "rope_scaling": None,
        "max_position_embeddings": a["ctx"],
        "rms_norm_eps": float(a["eps"]),
        "hidden_act": "silu",
        "tie_word_embeddings": False,
        "attention_bias": False,
        "torch_dtype": "float32",
    }
    if a["yarn"]:
        cfg["rope_scaling"] = {
            "type": "yarn", "factor": float(a["yarn_factor"]),
            "original_max_position_embeddings": int(a["yarn_orig_ctx"]),
            "beta_fast": 32, "beta_slow": 1,
            "mscale": float(a["mscale_all_dim"]), "mscale_all_dim": float(a["mscale_all_dim"]),
        }
    check_config(cfg)
    return cfg


def check_config(c):
    """Raise ValueError on shapes that cannot form a valid model."""
    pos = ["hidden_size", "num_hidden_layers", "num_attention_heads", "kv_lora_rank", "qk_nope_head_dim",
           "qk_rope_head_dim", "v_head_dim", "vocab_size", "max_position_embeddings"]
    for k in pos:
        if not isinstance(c.get(k), int) or c[k] <= 0:
            raise ValueError("%s must be a positive integer (got %r)" % (k, c.get(k)))
    L = c["num_hidden_layers"]
    nd = c.get("first_k_dense_replace", 0) or 0
    if not 0 <= nd <= L:
        raise ValueError("first_k_dense_replace (--dense-layers) must be in [0, layers]")
    if nd > 0 and not c.get("intermediate_size"):
        raise ValueError("dense layers need intermediate_size (--ff) > 0")
    if nd < L:
        E, k = c.get("n_routed_experts") or 0, c.get("num_experts_per_tok") or 0
        if E <= 0 or not 0 < k <= E:
            raise ValueError("MoE layers need experts > 0 and 0 < experts_used <= experts")
        if not c.get("moe_intermediate_size"):
            raise ValueError("MoE layers need moe_intermediate_size (--expert-ff) > 0")
        g, gu = c.get("n_group") or 1, c.get("topk_group") or 1
        if E % g != 0 or not 0 < gu <= g:
            raise ValueError("groups must divide experts and 0 < groups_used <= groups")
        if g > 1 and gu * (E // g) < k:
            raise ValueError("groups_used * experts/group must be >= experts_used")
        if g > 1 and E // g < 2:
            raise ValueError("group-limited routing needs >= 2 experts per group (top-2 group score)")
        if c.get("scoring_func", "softmax") not in ("softmax", "sigmoid"):
            raise ValueError("scoring_func must be softmax or sigmoid")
    if c["qk_rope_head_dim"] % 2:
        raise ValueError("qk_rope_head_dim must be even")
    if c["vocab_size"] < 260:
        raise ValueError("vocab must be >= 260")
    if c.get("q_lora_rank") is not None and c["q_lora_rank"] <= 0:
        raise ValueError("q_lora_rank must be positive or null")


def _rng(seed, name):
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])


# init scales (chosen so a random model has O(1) activations, a peaked but not one-hot
# next-token distribution and non-degenerate routing; see --print-config / reference.py)
EMBED_STD = 1.0
IN_GAIN = 1.0        # q/kv/gate/up projections: std = IN_GAIN / sqrt(fan_in)
OUT_GAIN = 0.5       # o_proj / down projections: std = OUT_GAIN / sqrt(fan_in)
ROUTER_GAIN = 2.0    # router logits std ~ 2 (on RMS-normed input)
HEAD_GAIN = 3.0      # lm_head: logits std ~ 3
NORM_JITTER = 0.1    # RMSNorm weights = 1 + 0.1 N(0,1)
BIAS_STD = 0.1       # e_score_correction_bias


def master_weights(cfg, seed):
    """HF-named float32 master weights (Linear weights [out, in])."""
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    dn, dr, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    dc, qr = cfg["kv_lora_rank"], cfg.get("q_lora_rank")
    V = cfg["vocab_size"]
    w = {}

    def lin(name, out, inp, gain):
        w[name] = (_rng(seed, name).standard_normal((out, inp)) * (gain / math.sqrt(inp))).astype(np.float32)

    def norm(name, n):
        w[name] = (1.0 + NORM_JITTER * _rng(seed, name).standard_normal(n)).astype(np.float32)

    w["model.embed_tokens.weight"] = (_rng(seed, "model.embed_tokens.weight").standard_normal((V, D))
                                      * EMBED_STD).astype(np.float32)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        norm(p + "input_layernorm.weight", D)
        if qr:
            lin(p + "self_attn.q_a_proj.weight", qr, D, IN_GAIN)
            norm(p + "self_attn.q_a_layernorm.weight", qr)
            lin(p + "self_attn.q_b_proj.weight", H * (dn + dr), qr, IN_GAIN)
        else:
            lin(p + "self_attn.q_proj.weight", H * (dn + dr), D, IN_GAIN)
        lin(p + "self_attn.kv_a_proj_with_mqa.weight", dc + dr, D, IN_GAIN)
        norm(p + "self_attn.kv_a_layernorm.weight", dc)
        lin(p + "self_attn.kv_b_proj.weight", H * (dn + dv), dc, IN_GAIN)
        lin(p + "self_attn.o_proj.weight", D, H * dv, OUT_GAIN)
        norm(p + "post_attention_layernorm.weight", D)
        if l < (cfg.get("first_k_dense_replace") or 0):
            F = cfg["intermediate_size"]
            lin(p + "mlp.gate_proj.weight", F, D, IN_GAIN)
            lin(p + "mlp.up_proj.weight", F, D, IN_GAIN)
            lin(p + "mlp.down_proj.weight", D, F, OUT_GAIN)
        else:
            E, Fe, S = cfg["n_routed_experts"], cfg["moe_intermediate_size"], cfg.get("n_shared_experts") or 0
            lin(p + "mlp.gate.weight", E, D, ROUTER_GAIN)
            if cfg.get("topk_method") == "noaux_tc":
                nm = p + "mlp.gate.e_score_correction_bias"
                w[nm] = (_rng(seed, nm).standard_normal(E) * BIAS_STD).astype(np.float32)
            for e in range(E):
                q = p + "mlp.experts.%d." % e
                lin(q + "gate_proj.weight", Fe, D, IN_GAIN)
                lin(q + "up_proj.weight", Fe, D, IN_GAIN)
                lin(q + "down_proj.weight", D, Fe, OUT_GAIN)
            if S:
                q = p + "mlp.shared_experts."
                lin(q + "gate_proj.weight", Fe * S, D, IN_GAIN)
                lin(q + "up_proj.weight", Fe * S, D, IN_GAIN)
                lin(q + "down_proj.weight", D, Fe * S, OUT_GAIN)
    norm("model.norm.weight", D)
    lin("lm_head.weight", V, D, HEAD_GAIN)
    return w


# ---------------------------------------------------------------------------------------------
# HF weights -> GGUF tensors (both converter generations)
# ---------------------------------------------------------------------------------------------
def gguf_tensor_plan(cfg, shape_of, get, gen):
    """The GGUF tensor list in file order: [(gguf_name, ne, produce)], produce() -> float32
    numpy array (numpy shape = reversed ne). shape_of(hf_name) -> HF shape ([out, in]) or None
    when absent; get(hf_name) -> the HF tensor. Shapes are checked against cfg here, data is only
    read by produce(), so a writer can stream huge checkpoints."""
    if gen not in ("legacy", "mla"):
        raise ValueError("gen must be legacy or mla")
    D, V = cfg["hidden_size"], cfg["vocab_size"]
    H = cfg["num_attention_heads"]
    dn, dr, dv, dc = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    qr = cfg.get("q_lora_rank")
    plan = []

    def f32(name):
        return lambda: np.asarray(get(name), dtype=np.float32)

    def add(gname, hname, shape):
        got = shape_of(hname)
        if got is None:
            raise ValueError("missing tensor %s" % hname)
        if tuple(got) != tuple(shape):
            raise ValueError("tensor %s has shape %s, expected %s" % (hname, tuple(got), tuple(shape)))
        plan.append((gname, list(reversed(shape)), f32(hname)))

    add("token_embd.weight", "model.embed_tokens.weight", (V, D))
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        b = "blk.%d." % l
        add(b + "attn_norm.weight", p + "input_layernorm.weight", (D,))
        if qr:
            add(b + "attn_q_a.weight", p + "self_attn.q_a_proj.weight", (qr, D))
            add(b + "attn_q_a_norm.weight", p + "self_attn.q_a_layernorm.weight", (qr,))
            add(b + "attn_q_b.weight", p + "self_attn.q_b_proj.weight", (H * (dn + dr), qr))
        else:
            add(b + "attn_q.weight", p + "self_attn.q_proj.weight", (H * (dn + dr), D))
        add(b + "attn_kv_a_mqa.weight", p + "self_attn.kv_a_proj_with_mqa.weight", (dc + dr, D))
        add(b + "attn_kv_a_norm.weight", p + "self_attn.kv_a_layernorm.weight", (dc,))
        kvb = p + "self_attn.kv_b_proj.weight"
        if gen == "legacy":
            add(b + "attn_kv_b.weight", kvb, (H * (dn + dv), dc))
        else:
            add(b + "attn_kv_b.weight", kvb, (H * (dn + dv), dc))   # shape check only
            plan.pop()

            # recent converter: view (H, dn+dv, dc), split on dim 1, k_b transposed
            def k_b(kvb=kvb):
                kv = np.asarray(get(kvb), dtype=np.float32).reshape(H, dn + dv, dc)
                return np.ascontiguousarray(kv[:, :dn, :].transpose(0, 2, 1))

            def v_b(kvb=kvb):
                kv = np.asarray(get(kvb), dtype=np.float32).reshape(H, dn + dv, dc)
                return np.ascontiguousarray(kv[:, dn:, :])
            plan.append((b + "attn_k_b.weight", [dn, dc, H], k_b))
            plan.append((b + "attn_v_b.weight", [dc, dv, H], v_b))
        add(b + "attn_output.weight", p + "self_attn.o_proj.weight", (D, H * dv))
        add(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", (D,))
        if l < (cfg.get("first_k_dense_replace") or 0):
            F = cfg["intermediate_size"]
            add(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", (F, D))
            add(b + "ffn_up.weight", p + "mlp.up_proj.weight", (F, D))
            add(b + "ffn_down.weight", p + "mlp.down_proj.weight", (D, F))
        else:
            E, Fe = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
            add(b + "ffn_gate_inp.weight", p + "mlp.gate.weight", (E, D))
            if shape_of(p + "mlp.gate.e_score_correction_bias") is not None:
                add(b + "exp_probs_b.bias", p + "mlp.gate.e_score_correction_bias", (E,))
            for hf, gg, shp in (("gate_proj", "ffn_gate_exps", (Fe, D)), ("up_proj", "ffn_up_exps", (Fe, D)),
                                ("down_proj", "ffn_down_exps", (D, Fe))):
                names = [p + "mlp.experts.%d.%s.weight" % (e, hf) for e in range(E)]
                for n in names:
                    got = shape_of(n)
                    if got is None:
                        raise ValueError("missing tensor %s" % n)
                    if tuple(got) != shp:
                        raise ValueError("tensor %s has shape %s, expected %s" % (n, tuple(got), shp))
                plan.append((b + gg + ".weight", [shp[1], shp[0], E],
                             lambda names=names: np.stack([np.asarray(get(n), dtype=np.float32) for n in names])))
            S = cfg.get("n_shared_experts") or 0
            if S:
                q = p + "mlp.shared_experts."
                add(b + "ffn_gate_shexp.weight", q + "gate_proj.weight", (Fe * S, D))
                add(b + "ffn_up_shexp.weight", q + "up_proj.weight", (Fe * S, D))
                add(b + "ffn_down_shexp.weight", q + "down_proj.weight", (D, Fe * S))
    add("output_norm.weight", "model.norm.weight", (D,))
    if shape_of("lm_head.weight") is not None:
        add("output.weight", "lm_head.weight", (V, D))
    return plan


def gguf_tensors(cfg, get, gen):
    """Yield (gguf_name, float32 array with numpy shape = reversed ne) in file order (in-memory
    HF weights: get(hf_name) -> array or None)."""
    def shape_of(n):
        t = get(n)
        return None if t is None else np.shape(t)
    for name, ne, produce in gguf_tensor_plan(cfg, shape_of, get, gen):
        yield name, produce().reshape(tuple(reversed(ne)))


def add_hparams(w, cfg, gen, dtype, name):
    """deepseek2.* keys as the recent (mla) or 2024 (legacy) converter writes them."""
    A = ARCH + "."
    H = cfg["num_attention_heads"]
    dn, dr, dv, dc = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
    w.add_string("general.architecture", ARCH)
    w.add_string("general.name", name)
    w.add_u32(A + "block_count", cfg["num_hidden_layers"])
    w.add_u32(A + "context_length", cfg["max_position_embeddings"])
    w.add_u32(A + "embedding_length", cfg["hidden_size"])
    w.add_u32(A + "feed_forward_length", cfg.get("intermediate_size") or 0)
    w.add_u32(A + "attention.head_count", H)
    w.add_u32(A + "attention.head_count_kv", 1 if gen == "mla" else H)
    w.add_f32(A + "rope.freq_base", cfg.get("rope_theta", 10000.0))
    w.add_f32(A + "attention.layer_norm_rms_epsilon", cfg["rms_norm_eps"])
    w.add_u32(A + "expert_used_count", cfg.get("num_experts_per_tok") or 0)
    if dtype is not None:
        w.add_u32("general.file_type", gguf.FILE_TYPE[dtype])
    w.add_u32(A + "vocab_size", cfg["vocab_size"])
    w.add_u32(A + "leading_dense_block_count", cfg.get("first_k_dense_replace") or 0)
    if cfg.get("q_lora_rank"):
        w.add_u32(A + "attention.q_lora_rank", cfg["q_lora_rank"])
    w.add_u32(A + "attention.kv_lora_rank", dc)
    if gen == "mla":
        w.add_u32(A + "attention.key_length", dc + dr)
        w.add_u32(A + "attention.value_length", dc)
        w.add_u32(A + "attention.key_length_mla", dn + dr)
        w.add_u32(A + "attention.value_length_mla", dv)
    else:
        w.add_u32(A + "attention.key_length", dn + dr)
        w.add_u32(A + "attention.value_length", dv)
    w.add_u32(A + "expert_feed_forward_length", cfg.get("moe_intermediate_size") or 0)
    w.add_u32(A + "expert_count", cfg.get("n_routed_experts") or 0)
    w.add_u32(A + "expert_shared_count", cfg.get("n_shared_experts") or 0)
    w.add_f32(A + "expert_weights_scale", cfg.get("routed_scaling_factor", 1.0))
    if gen == "mla" or cfg.get("norm_topk_prob"):
        w.add_bool(A + "expert_weights_norm", bool(cfg.get("norm_topk_prob")))
    sf = cfg.get("scoring_func", "softmax")
    w.add_u32(A + "expert_gating_func", 2 if sf == "sigmoid" else 1)
    ng = cfg.get("n_group") or 1
    if gen == "mla" or ng > 1:
        w.add_u32(A + "expert_group_count", ng)
        w.add_u32(A + "expert_group_used_count", cfg.get("topk_group") or 1)
    w.add_u32(A + "rope.dimension_count", dr)
    rs = cfg.get("rope_scaling")
    if rs and rs.get("type", rs.get("rope_type")) == "yarn":
        w.add_string(A + "rope.scaling.type", "yarn")
        w.add_f32(A + "rope.scaling.factor", rs["factor"])
        w.add_u32(A + "rope.scaling.original_context_length", rs["original_max_position_embeddings"])
        w.add_f32(A + "rope.scaling.yarn_log_multiplier", 0.1 * rs.get("mscale_all_dim", 0.0))
    if dtype not in (None, "f32", "f16", "bf16"):
        w.add_u32("general.quantization_version", 2)


def add_tokenizer(w, vocab, pre="deepseek-llm", chat_template=None):
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", pre)
    w.add_array("tokenizer.ggml.tokens", VT.STRING, vocab["tokens"])
    w.add_array("tokenizer.ggml.token_type", VT.INT32, vocab["token_type"])
    if vocab.get("merges"):
        w.add_array("tokenizer.ggml.merges", VT.STRING, vocab["merges"])
    if vocab.get("bos") is not None:
        w.add_u32("tokenizer.ggml.bos_token_id", vocab["bos"])
    if vocab.get("eos") is not None:
        w.add_u32("tokenizer.ggml.eos_token_id", vocab["eos"])
    if vocab.get("pad") is not None:
        w.add_u32("tokenizer.ggml.padding_token_id", vocab["pad"])
    w.add_bool("tokenizer.ggml.add_bos_token", vocab.get("add_bos", True))
    w.add_bool("tokenizer.ggml.add_eos_token", vocab.get("add_eos", False))
    if chat_template:
        w.add_string("tokenizer.chat_template", chat_template)


DTYPES = list(gguf.DTYPE_BY_NAME) + ["q4_k_m"]


def _use_more_bits(i_layer, n_layer):
    """llama-quant.cpp use_more_bits: the first and last eighth of the layers and every third between."""
    return i_layer < n_layer // 8 or i_layer >= 7 * n_layer // 8 or (i_layer - n_layer // 8) % 3 == 2


def q4_k_m_type(name, n_layer):
    """A "Q4_K_M-like" mixture (llama-quant.cpp llama_tensor_get_type for LLAMA_FTYPE_MOSTLY_Q4_K_M):
    output.weight Q6_K; attention value projections (attn_v_b / attn_kv_b, which llama.cpp's
    deepseek2 counts as attn_v) and ffn_down* Q6_K in the use_more_bits layers; everything else Q4_K.
    choose_type then applies llama-quantize's fallbacks (ne0 not a multiple of 256: Q4_K -> Q5_0,
    Q6_K -> Q8_0; not a multiple of 32: F16), so the file holds Q4_K, Q6_K, Q5_0, Q8_0 like a real
    V2-Lite Q4_K_M. Approximate: llama.cpp's own per-tensor counters differ in corner cases."""
    if name == "output.weight":
        return "q6_k"
    parts = name.split(".")
    if len(parts) > 2 and parts[0] == "blk":
        il = int(parts[1])
        if parts[2] in ("attn_v_b", "attn_kv_b", "ffn_down", "ffn_down_exps", "ffn_down_shexp") \
                and _use_more_bits(il, n_layer):
            return "q6_k"
    return "q4_k"


def build_writer(cfg, get, vocab, gen="mla", dtype="f32", name="tiny-deepseek2", pre="deepseek-llm",
                 chat_template=None, alignment=32, shape_of=None, lazy=False):
    """A GGUFWriter holding the complete model (hparams, tokenizer, tensors with llama.cpp's
    per-tensor type rules). lazy: tensors are read/converted only while writing."""
    if dtype not in DTYPES:
        raise ValueError("dtype must be one of %s" % ", ".join(DTYPES))
    w = GGUFWriter(alignment=alignment)
    add_hparams(w, cfg, gen, dtype, name)
    add_tokenizer(w, vocab, pre=pre, chat_template=chat_template)
    if shape_of is None:
        def shape_of(n):
            t = get(n)
            return None if t is None else np.shape(t)
    for nm, ne, produce in gguf_tensor_plan(cfg, shape_of, get, gen):
        if dtype == "q4_k_m":
            t = gguf.choose_type(nm, ne, q4_k_m_type(nm, cfg["num_hidden_layers"]))
        else:
            t = gguf.choose_type(nm, ne, dtype)
        if lazy:
            w.add_lazy_tensor(nm, ne, t, produce)
        else:
            w.add_tensor(nm, produce().reshape(tuple(reversed(ne))), t)
    return w


def write_deepseek2_gguf(path, cfg, get, vocab, **kw):
    w = build_writer(cfg, get, vocab, **kw)
    w.write(path)
    return w


def make_model(args):
    """(cfg, master weights, vocab) for make_tiny args (dict or namespace)."""
    a = dict(vars(args)) if not isinstance(args, dict) else dict(args)
    cfg = hf_config(a)
    seed = a.get("seed") if a.get("seed") is not None else default_args()["seed"]
    return cfg, master_weights(cfg, seed), build_vocab(cfg["vocab_size"])


# ---------------------------------------------------------------------------------------------
# self test
# ---------------------------------------------------------------------------------------------
def _ref_q8_0(x):
    """Scalar port of the reference Q8_0 quantizer (for cross-checking the vectorised one)."""
    out = bytearray()
    for blk in np.asarray(x, np.float32).reshape(-1, 32):
        amax = np.float32(max(abs(float(v)) for v in blk))
        d = np.float32(amax / np.float32(127))
        idv = np.float32(1) / d if d != 0 else np.float32(0)
        out += np.float16(d).tobytes()
        for v in blk:
            x0 = float(np.float32(v * idv))
            q = math.floor(abs(x0) + 0.5) * (1 if x0 >= 0 else -1)
            out += int(q).to_bytes(1, "little", signed=True)
    return bytes(out)


def _ref_q4_0(x):
    out = bytearray()
    for blk in np.asarray(x, np.float32).reshape(-1, 32):
        amax, mx = 0.0, np.float32(0)
        for v in blk:
            if amax < abs(float(v)):
                amax, mx = abs(float(v)), v
        d = np.float32(mx / np.float32(-8))
        idv = np.float32(1) / d if d != 0 else np.float32(0)
        out += np.float16(d).tobytes()
        q = [min(15, int(float(np.float32(np.float32(v * idv) + np.float32(8.5))))) for v in blk]
        out += bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return bytes(out)


def selftest():
    import tempfile
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp(prefix="ds2_selftest_")
    path = os.path.join(tmp, "rt.gguf")
    fails = []

    def check(cond, msg):
        if not cond:
            fails.append(msg)
            print("FAIL:", msg)

    # --- every KV value type, nested arrays, all dtypes ----------------------------------------
    x = (rng.standard_normal((6, 96)) * np.exp(rng.standard_normal((6, 1)))).astype(np.float32)
    x[0, :32] = 0.0                       # all-zero block
    x[1, 5] = 40.0                        # outlier
    x[2, :32] = np.linspace(-1, 1, 32)    # exact ties for q4_0 (max at both ends)
    f16_exact = rng.standard_normal((4, 64)).astype(np.float16).astype(np.float32)
    bf16_exact = bf = gguf.bf16_bits_to_f32(gguf.f32_to_bf16_bits(rng.standard_normal((4, 64)).astype(np.float32)))
    w = GGUFWriter(alignment=64)
    kvs = [("t.u8", VT.UINT8, 200), ("t.i8", VT.INT8, -100), ("t.u16", VT.UINT16, 60000),
           ("t.i16", VT.INT16, -30000), ("t.u32", VT.UINT32, 4000000000), ("t.i32", VT.INT32, -2000000000),
           ("t.f32", VT.FLOAT32, 0.5), ("t.bool", VT.BOOL, True), ("t.str", VT.STRING, "h\u00e9llo \uff5c"),
           ("t.u64", VT.UINT64, 2 ** 63 + 5), ("t.i64", VT.INT64, -2 ** 62), ("t.f64", VT.FLOAT64, 1.0 / 3)]
    for k, t, v in kvs:
        w.add_kv(k, t, v)
    w.add_array("t.arr_i32", VT.INT32, [1, -2, 3])
    w.add_array("t.arr_str", VT.STRING, ["a", "", "b c"])
    w.add_array("t.arr_bool", VT.BOOL, [True, False])
    w.add_array("t.arr_f64", VT.FLOAT64, [1.5, -2.25])
    w.add_array("t.arr_arr", VT.ARRAY, [gguf.GArray(VT.UINT8, [1, 2]), gguf.GArray(VT.STRING, ["x"])])
    w.add_array("t.arr_empty", VT.UINT32, [])
    for dt in ("f32", "f16", "bf16", "q8_0", "q4_0"):
        w.add_tensor("x_" + dt, x, dt)
    w.add_tensor("f16_exact", f16_exact, "f16")
    w.add_tensor("bf16_exact", bf16_exact, "bf16")
    w.add_tensor("odd_shape", np.arange(3 * 5 * 7, dtype=np.float32).reshape(7, 5, 3), "f32")
    w.write(path)
    g = gguf.read_gguf(path)
    check(g.alignment == 64 and g.data_start % 64 == 0, "alignment")
    for k, t, v in kvs:
        got = g.kv[k]
        if t == VT.FLOAT32:
            ok = got == np.float32(v)
        else:
            ok = got == v
        check(ok and g.kv_types[k] == t, "kv %s: %r != %r" % (k, got, v))
    check(g.kv["t.arr_i32"] == [1, -2, 3] and g.kv_types["t.arr_i32"] == (VT.ARRAY, VT.INT32), "arr_i32")
    check(g.kv["t.arr_str"] == ["a", "", "b c"], "arr_str")
    check(g.kv["t.arr_bool"] == [True, False], "arr_bool")
    check(g.kv["t.arr_f64"] == [1.5, -2.25], "arr_f64")
    check(g.kv["t.arr_arr"] == [[1, 2], ["x"]], "arr_arr")
    check(g.kv["t.arr_empty"] == [], "arr_empty")
    for ti in g.tensors.values():
        check(ti.offset % 64 == 0, "tensor %s offset %d not aligned" % (ti.name, ti.offset))
    check(g.tensors["odd_shape"].ne == [3, 5, 7], "ne order")
    check(np.array_equal(g.array("odd_shape"), np.arange(105, dtype=np.float32).reshape(7, 5, 3)), "odd_shape data")
    check(np.array_equal(g.array("x_f32"), x), "f32 exact")
    check(np.array_equal(g.array("f16_exact"), f16_exact), "f16 exact round trip")
    check(np.array_equal(g.array("bf16_exact"), bf16_exact), "bf16 exact round trip")
    y16 = g.array("x_f16")
    check(np.array_equal(y16, x.astype(np.float16).astype(np.float32)), "f16 rounding")
    check(np.all(np.abs(y16 - x) <= np.abs(x) * 2.0 ** -11 + 2.0 ** -25), "f16 error bound")
    ybf = g.array("x_bf16")
    check(np.all(np.abs(ybf - x) <= np.abs(x) * 2.0 ** -8), "bf16 error bound (half ulp)")
    # bf16 round-to-nearest-even on exact ties, and NaN
    ties = np.array([0x3F808000, 0x3F818000, 0xBF808000, 0x3F80C000, 0x7F7FFFFF], dtype=np.uint32).view(np.float32)
    check(gguf.f32_to_bf16_bits(ties).tolist() == [0x3F80, 0x3F82, 0xBF80, 0x3F81, 0x7F80], "bf16 RNE ties")
    check(gguf.f32_to_bf16_bits(np.array([np.nan], np.float32))[0] & 0x7FC0 == 0x7FC0, "bf16 NaN")
    # quantized: exact bytes vs scalar reference ports, and error bounds per block
    check(g.raw("x_q8_0") == _ref_q8_0(x), "q8_0 bytes == scalar reference")
    check(g.raw("x_q4_0") == _ref_q4_0(x), "q4_0 bytes == scalar reference")
    xb = x.reshape(-1, 32).astype(np.float64)
    amax = np.max(np.abs(xb), axis=1, keepdims=True)
    e8 = np.abs(g.array("x_q8_0").reshape(-1, 32) - xb)
    b8 = amax / 127 * (0.5 + 127 * 2.0 ** -11) + 1e-30
    check(np.all(e8 <= b8), "q8_0 error bound (max %.3g of bound)" % np.max(e8 / b8))
    e4 = np.abs(g.array("x_q4_0").reshape(-1, 32) - xb)
    b4 = amax / 8 * (1.0 + 8 * 2.0 ** -11) + 1e-30           # worst case: clipped +8 -> 7
    check(np.all(e4 <= b4), "q4_0 error bound (max %.3g of bound)" % np.max(e4 / b4))
    frac_half = np.mean(e4 <= amax / 8 * (0.5 + 8 * 2.0 ** -11) + 1e-30)
    check(frac_half > 0.97, "q4_0: %.3f of elements within d/2" % frac_half)
    check(np.all(g.array("x_q8_0")[0, :32] == 0) and np.all(g.array("x_q4_0")[0, :32] == 0), "zero block")
    # rms error sanity
    rel8 = np.sqrt(np.mean(e8 ** 2) / np.mean(xb ** 2))
    rel4 = np.sqrt(np.mean(e4 ** 2) / np.mean(xb ** 2))
    print("round trip: q8_0 rel rms err %.4f, q4_0 %.4f" % (rel8, rel4))
    check(rel8 < 0.01 and rel4 < 0.15, "relative rms errors")

    # --- quants.py types: size, writer/reader round trip, error bounds, fallbacks, the q4_k_m mixture ---
    import quants
    xr = (np.random.default_rng(7).standard_normal((4, 512)) * 0.05).astype(np.float32)
    xr[0, :256] = 0.0                                       # an all-zero super-block
    w = GGUFWriter()
    names = {t: n for n, t in gguf.DTYPE_BY_NAME.items() if t in quants.CODECS}
    for t, n in names.items():
        w.add_tensor("x_" + n, xr, t)
    p = os.path.join(tmp, "quants.gguf")
    w.write(p)
    g = gguf.read_gguf(p)
    # simple round-to-nearest encoders: relative rms error of each type on Gaussian data (measured
    # 0.02 (Q6_K) .. 0.33 (Q2_K); bounds with margin)
    bound = {"q4_1": 0.1, "q5_0": 0.06, "q5_1": 0.06, "iq4_nl": 0.1, "q2_k": 0.4, "q3_k": 0.2,
             "q4_k": 0.1, "q5_k": 0.06, "q6_k": 0.03, "iq4_xs": 0.1}
    for t, n in names.items():
        be, bb = quants.CODECS[t][:2]
        check(len(g.raw("x_" + n)) == xr.size // be * bb, "%s size" % n)
        y = g.array("x_" + n)
        check(np.all(y[0, :256] == 0), "%s zero block" % n)
        rel = float(np.sqrt(np.mean((y[1:] - xr[1:]) ** 2)) / np.sqrt(np.mean(xr[1:] ** 2)))
        check(rel < bound[n], "%s round trip rel rms err %.4f < %.2f" % (n, rel, bound[n]))
    check(gguf.choose_type("blk.0.attn_k_b.weight", [32, 64, 4], "q4_k") == GT.Q5_0, "Q4_K -> Q5_0 fallback")
    check(gguf.choose_type("blk.0.ffn_down_exps.weight", [96, 256, 8], "q6_k") == GT.Q8_0, "Q6_K -> Q8_0")
    check(gguf.choose_type("blk.0.attn_k_b.weight", [32, 64, 4], "iq4_xs") == GT.IQ4_NL, "IQ4_XS -> IQ4_NL")
    check(gguf.choose_type("blk.0.attn_q_b.weight", [24, 64], "q2_k") == GT.F16, "Q2_K -> Q4_0 -> F16")
    check(q4_k_m_type("output.weight", 3) == "q6_k" and q4_k_m_type("blk.2.ffn_down_exps.weight", 3) == "q6_k"
          and q4_k_m_type("blk.1.ffn_down_exps.weight", 3) == "q4_k", "q4_k_m mixture rules")

    # --- whole tiny models: every dtype x generation, type rules, same master weights ----------
    base = None
    for gen in ("legacy", "mla"):
        for dt in ("f32", "f16", "bf16", "q8_0", "q4_0"):
            args = default_args()
            args.update(gen=gen, dtype=dt, q_lora_rank=32, exp_probs_b=True, gating="sigmoid",
                        groups=2, groups_used=1, weights_norm=True, weights_scale=2.5)
            cfg, mw, vocab = make_model(args)
            p = os.path.join(tmp, "m_%s_%s.gguf" % (gen, dt))
            write_deepseek2_gguf(p, cfg, mw.get, vocab, gen=gen, dtype=dt)
            g = gguf.read_gguf(p)
            check(g.kv["general.architecture"] == ARCH, "arch")
            check(len(g.kv["tokenizer.ggml.tokens"]) == cfg["vocab_size"], "vocab size")
            for ti in g.tensors.values():
                want = gguf.choose_type(ti.name, ti.ne, dt)
                check(ti.type == want, "%s %s type %s" % (gen, ti.name, ti.type_name))
                if ti.name.endswith("_norm.weight") or "ffn_gate_inp" in ti.name or "exp_probs_b" in ti.name:
                    check(ti.type == GT.F32, "%s should be F32" % ti.name)
            if dt == "f32":
                if gen == "legacy":
                    base = g
                else:
                    # legacy and mla file of one seed: identical shared tensors, k_b/v_b from kv_b
                    H, dn, dv, dc = 4, 32, 32, 32
                    for nm in base.tensors:
                        if nm in g.tensors:
                            check(np.array_equal(base.array(nm), g.array(nm)), "legacy/mla differ: " + nm)
                    kv = base.array("blk.0.attn_kv_b.weight").reshape(H, dn + dv, dc)
                    check(np.array_equal(g.array("blk.0.attn_k_b.weight"), kv[:, :dn].transpose(0, 2, 1)), "k_b")
                    check(np.array_equal(g.array("blk.0.attn_v_b.weight"), kv[:, dn:]), "v_b")
    # vocab consistency: every merge result is a token
    vocab = build_vocab(320)
    toks = set(vocab["tokens"])
    check(all(m.replace(" ", "", 1) in toks for m in vocab["merges"]), "merges produce vocab tokens")
    check(len(vocab["tokens"]) == 320 and len(set(vocab["tokens"])) == 320, "vocab unique")
    big = build_vocab(2000)
    check(len(set(big["tokens"])) == 2000, "large vocab unique")
    # HF checkpoint folder -> convert.py -> identical GGUF (safetensors, .bin, vocab-only)
    import convert
    if convert.selftest() != 0:
        fails.append("convert.py round trips")
    if fails:
        print("selftest: %d FAILED" % len(fails))
        return 1
    print("selftest: all passed")
    return 0


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def parse_args(argv=None):
    d = default_args()
    ap = argparse.ArgumentParser(
        description="Make a random DeepSeek-V2-architecture (deepseek2) GGUF for tests.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", help="output GGUF path")
    ap.add_argument("--seed", type=int, default=d["seed"])
    ap.add_argument("--dtype", choices=DTYPES, default=d["dtype"],
                    help="weight type; q4_1..iq4_xs use simple valid quantizers (not llama-quantize's); "
                         "q4_k_m = a Q4_K/Q6_K mixture with llama-quantize's fallbacks")
    ap.add_argument("--gen", choices=["legacy", "mla"], default=d["gen"],
                    help="legacy: 2024 converter (attn_kv_b); mla: recent converter (attn_k_b/attn_v_b)")
    ap.add_argument("--hidden", type=int, default=d["hidden"])
    ap.add_argument("--layers", type=int, default=d["layers"],
                    help="(llama.cpp ignores attention.q_lora_rank when layers is 26 or 27)")
    ap.add_argument("--dense-layers", type=int, default=d["dense_layers"], help="leading dense blocks")
    ap.add_argument("--heads", type=int, default=d["heads"])
    ap.add_argument("--q-lora-rank", type=int, default=d["q_lora_rank"],
                    help="0 = plain attn_q (V2-Lite style; llama.cpp then needs --layers 26 or 27)")
    ap.add_argument("--kv-lora-rank", type=int, default=d["kv_lora_rank"])
    ap.add_argument("--qk-nope", type=int, default=d["qk_nope"])
    ap.add_argument("--qk-rope", type=int, default=d["qk_rope"])
    ap.add_argument("--v-head", type=int, default=d["v_head"])
    ap.add_argument("--vocab", type=int, default=d["vocab"])
    ap.add_argument("--ff", type=int, default=d["ff"], help="dense intermediate size")
    ap.add_argument("--expert-ff", type=int, default=d["expert_ff"])
    ap.add_argument("--experts", type=int, default=d["experts"])
    ap.add_argument("--experts-used", type=int, default=d["experts_used"])
    ap.add_argument("--shared", type=int, default=d["shared"], help="shared experts (fused width expert_ff*shared)")
    ap.add_argument("--gating", choices=["softmax", "sigmoid"], default=d["gating"])
    ap.add_argument("--exp-probs-b", action="store_true", help="add exp_probs_b.bias (V3-style noaux_tc)")
    ap.add_argument("--groups", type=int, default=d["groups"])
    ap.add_argument("--groups-used", type=int, default=d["groups_used"])
    ap.add_argument("--weights-norm", action="store_true", help="expert_weights_norm (norm_topk_prob)")
    ap.add_argument("--weights-scale", type=float, default=d["weights_scale"], help="routed_scaling_factor")
    ap.add_argument("--yarn", dest="yarn", action="store_true", default=d["yarn"],
                    help="YaRN rope scaling (factor 40, mscale_all_dim 0.707 -> yarn_log_multiplier 0.0707)")
    ap.add_argument("--no-yarn", dest="yarn", action="store_false")
    ap.add_argument("--yarn-factor", type=float, default=d["yarn_factor"])
    ap.add_argument("--yarn-orig-ctx", type=int, default=d["yarn_orig_ctx"])
    ap.add_argument("--mscale-all-dim", type=float, default=d["mscale_all_dim"])
    ap.add_argument("--rope-theta", type=float, default=d["rope_theta"])
    ap.add_argument("--ctx", type=int, default=d["ctx"], help="context_length")
    ap.add_argument("--eps", type=float, default=d["eps"])
    ap.add_argument("--name", default="tiny-deepseek2", help="general.name")
    ap.add_argument("--no-chat-template", action="store_true",
                    help="omit tokenizer.chat_template (default: the DeepSeek-V2 chat template)")
    ap.add_argument("--hf-out", metavar="DIR",
                    help="also write the same model as a fake Hugging Face checkpoint folder (config.json, "
                         "tokenizer.json, tokenizer_config.json, safetensors) for convert.py tests")
    ap.add_argument("--hf-dtype", choices=["F32", "F16", "BF16"], default="F32", help="safetensors dtype for --hf-out")
    ap.add_argument("--print-config", action="store_true", help="print the hparams (and write nothing unless --out)")
    ap.add_argument("--selftest", action="store_true", help="writer/reader round-trip self check")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    if a.selftest:
        return selftest()
    if not a.out and not a.print_config and not a.hf_out:
        print("error: --out PATH is required (or --hf-out / --print-config / --selftest)", file=sys.stderr)
        return 2
    try:
        cfg, mw, vocab = make_model(a)
    except ValueError as e:
        print("error: bad shape: %s" % e, file=sys.stderr)
        return 2
    lite = cfg["num_hidden_layers"] in (26, 27)
    if bool(cfg["q_lora_rank"]) == lite:
        print("warning: llama.cpp decides q-LoRA vs plain attn_q from n_layer (26/27 = V2-Lite style): "
              "this file (layers %d, q_lora_rank %s) will not load in llama.cpp"
              % (cfg["num_hidden_layers"], cfg["q_lora_rank"]), file=sys.stderr)
    if not cfg["n_shared_experts"] and cfg["first_k_dense_replace"] < cfg["num_hidden_layers"]:
        print("warning: llama.cpp requires shared experts (ffn_*_shexp); --shared 0 files will not load there",
              file=sys.stderr)
    if a.print_config:
        H = cfg["num_attention_heads"]
        dn, dr, dv, dc = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"], cfg["kv_lora_rank"]
        print("gen=%s dtype=%s seed=%d" % (a.gen, a.dtype, a.seed))
        for k in sorted(cfg):
            print("  %-28s %r" % (k, cfg[k]))
        s = (dn + dr) ** -0.5
        rs = cfg["rope_scaling"]
        if rs:
            m = 0.1 * rs["mscale_all_dim"] * math.log(rs["factor"]) + 1 if rs["factor"] > 1 else 1.0
            s *= m * m
        print("  %-28s %.6f" % ("(softmax scale)", s))
        print("  %-28s %d" % ("(params)", sum(v.size for v in mw.values())))
        print("  %-28s %d tokens, %d merges, bos %d, eos %d" % ("(vocab)", len(vocab["tokens"]),
                                                              len(vocab["merges"]), vocab["bos"], vocab["eos"]))
        del H
    if a.hf_out:
        import convert
        try:
            convert.write_hf_folder(a.hf_out, cfg, mw, vocab, st_dtype=a.hf_dtype,
                                    chat_template=None if a.no_chat_template else DS_V2_CHAT_TEMPLATE)
        except OSError as e:
            print("error: cannot write %s: %s" % (a.hf_out, e), file=sys.stderr)
            return 1
    if a.out:
        try:
            write_deepseek2_gguf(a.out, cfg, mw.get, vocab, gen=a.gen, dtype=a.dtype, name=a.name,
                                 chat_template=None if a.no_chat_template else DS_V2_CHAT_TEMPLATE)
        except (OSError, ValueError, GGUFError) as e:
            print("error: cannot write %s: %s" % (a.out, e), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
