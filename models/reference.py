#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-numpy is only visible to the system
# interpreter, not to other python3 builds that may come first on PATH.
"""Readable numpy DeepSeek-V2 (llama.cpp arch `deepseek2`) forward pass, float64.

An independent oracle for the C engine: naive (un-absorbed) MLA, computed from the
dequantized weights of a GGUF of either converter generation (attn_kv_b, or attn_k_b +
attn_v_b), following llama.cpp's semantics where sources differ:

  x = E[tok]; per layer: x += MLA(RMSNorm(x)); x += FFN(RMSNorm(x)); logits = W_out RMSNorm(x)
  MLA: q = W_q a  (or W_q_b RMSNorm(W_q_a a)), per head [q_nope | q_pe]
       kv_a = W_kv_a a -> [c (dc) | k_pe (dr)], c' = RMSNorm(c); k_nope_h = W_UK_h c', v_h = W_UV_h c'
       RoPE (adjacent pairs, YaRN frequencies) on q_pe and the single shared k_pe
       score = s (q_h . k_h), s = m^2 / sqrt(dn+dr), m = 1 + yarn_log_multiplier * ln(factor)
  FFN: dense SwiGLU, or MoE: probs = softmax|sigmoid(W_g f); selection = probs (+ exp_probs_b);
       group limiting (group score = sum of top-2, other groups -inf); top-k on selection;
       weights = probs[sel] (/ max(sum, 6.1035e-5) if expert_weights_norm) (* scale if not 0/1);
       + shared experts (one SwiGLU).

    reference.py --model m.gguf --tokens 1,2,3 --out logits.f32 [--stats]
writes little-endian float32 logits, positions x vocab.
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402


class ModelError(Exception):
    pass


def rms_norm(x, w, eps):
    return w * x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


class HParams:
    pass


def load_hparams(g):
    kv = g.kv
    arch = kv.get("general.architecture")
    if arch != "deepseek2":
        raise ModelError("general.architecture is %r, expected 'deepseek2'" % (arch,))
    A = "deepseek2."

    def req(k):
        if A + k not in kv:
            raise ModelError("missing required key %s%s" % (A, k))
        return kv[A + k]

    hp = HParams()
    hp.n_layer = req("block_count")
    hp.n_embd = req("embedding_length")
    hp.n_head = req("attention.head_count")
    hp.eps = req("attention.layer_norm_rms_epsilon")
    hp.dc = req("attention.kv_lora_rank")
    hp.dr = kv.get(A + "rope.dimension_count")
    if hp.dr is None:
        raise ModelError("missing required key deepseek2.rope.dimension_count")
    if A + "attention.key_length_mla" in kv:
        hp.dq = kv[A + "attention.key_length_mla"]
        hp.dv = req("attention.value_length_mla")
    else:
        hp.dq = req("attention.key_length")
        hp.dv = req("attention.value_length")
    hp.dn = hp.dq - hp.dr
    hp.n_dense = kv.get(A + "leading_dense_block_count", 0)
    hp.n_expert = kv.get(A + "expert_count", 0)
    hp.n_used = kv.get(A + "expert_used_count", 0)
    hp.n_shared = kv.get(A + "expert_shared_count", 0)
    hp.gating = kv.get(A + "expert_gating_func", 1)   # absent in 2024 files -> softmax
    hp.w_norm = bool(kv.get(A + "expert_weights_norm", False))
    hp.w_scale = kv.get(A + "expert_weights_scale", 0.0)
    hp.n_group = kv.get(A + "expert_group_count", 1) or 1
    hp.n_group_used = kv.get(A + "expert_group_used_count", 1) or 1
    hp.freq_base = kv.get(A + "rope.freq_base", 10000.0)
    hp.rope_type = kv.get(A + "rope.scaling.type", "none")
    hp.rope_factor = kv.get(A + "rope.scaling.factor", 1.0) or 1.0
    hp.n_ctx_orig = kv.get(A + "rope.scaling.original_context_length", kv.get(A + "context_length", 4096))
    hp.yarn_log_mul = kv.get(A + "rope.scaling.yarn_log_multiplier", 0.0)
    hp.beta_fast = kv.get(A + "rope.scaling.yarn_beta_fast", 32.0)
    hp.beta_slow = kv.get(A + "rope.scaling.yarn_beta_slow", 1.0)
    if hp.dn <= 0 or hp.dr % 2:
        raise ModelError("bad head dims: dq=%d dr=%d" % (hp.dq, hp.dr))
    return hp


def rope_inv_freq(hp):
    """Per-pair angular frequencies (dr/2), YaRN-blended like ggml rope_yarn."""
    d = hp.dr
    i = np.arange(d // 2, dtype=np.float64)
    f_extra = hp.freq_base ** (-2.0 * i / d)
    if hp.rope_type == "yarn" and hp.rope_factor != 1.0:
        fs = 1.0 / hp.rope_factor
        f_inter = f_extra * fs

        def corr_dim(r):
            return d * math.log(hp.n_ctx_orig / (r * 2 * math.pi)) / (2 * math.log(hp.freq_base))
        low = max(0.0, math.floor(corr_dim(hp.beta_fast)))
        high = min(d - 1.0, math.ceil(corr_dim(hp.beta_slow)))
        ramp = np.clip((i - low) / max(0.001, high - low), 0.0, 1.0)
        mix = 1.0 - ramp          # weight of the original (extrapolated) frequency
        return f_inter * (1 - mix) + f_extra * mix
    if hp.rope_type == "linear" and hp.rope_factor != 1.0:
        return f_extra / hp.rope_factor
    return f_extra


def kq_scale(hp):
    m = 1.0
    if hp.rope_type == "yarn" and hp.rope_factor > 1.0:
        # GGUF stores 0.1*mscale_all_dim; llama.cpp: m = 1 + 0.1*mscale_all_dim*ln(factor)
        m = 1.0 + hp.yarn_log_mul * math.log(hp.rope_factor)
    return m * m / math.sqrt(hp.dq)


def apply_rope(x, pos, inv_freq):
    """x: (..., T, dr) with positions pos (T,). Adjacent pairs (x[2i], x[2i+1]) rotated by pos*f_i."""
    ang = pos[:, None] * inv_freq[None, :]          # (T, dr/2)
    c, s = np.cos(ang), np.sin(ang)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y = np.empty_like(x)
    y[..., 0::2] = x0 * c - x1 * s
    y[..., 1::2] = x0 * s + x1 * c
    return y


class Reference:
    def __init__(self, path, group_score="top2sum"):
        self.g = gguf.read_gguf(path)
        self.hp = load_hparams(self.g)
        self.group_score = group_score
        self._cache = {}
        self.stats = {}
        hp = self.hp
        if "token_embd.weight" not in self.g.tensors:
            raise ModelError("missing tensor token_embd.weight")
        self.vocab = self.g.tensors["token_embd.weight"].ne[1]
        self.check_shapes()
        self.inv_freq = rope_inv_freq(hp)
        self.scale = kq_scale(hp)

    def expected_shapes(self):
        """name -> expected ne for every tensor the forward pass reads (optional ones included
        only when present)."""
        hp, V = self.hp, self.vocab
        D, H, dn, dr, dv, dc = hp.n_embd, hp.n_head, hp.dn, hp.dr, hp.dv, hp.dc
        exp = {"token_embd.weight": [D, V], "output_norm.weight": [D]}
        if self.has("output.weight"):
            exp["output.weight"] = [D, V]
        for l in range(hp.n_layer):
            b = "blk.%d." % l
            exp[b + "attn_norm.weight"] = [D]
            if self.has(b + "attn_q.weight"):
                exp[b + "attn_q.weight"] = [D, H * (dn + dr)]
            else:
                qr = self.g.kv.get("deepseek2.attention.q_lora_rank")
                if qr is None:
                    raise ModelError("missing tensor %sattn_q.weight (and no q_lora_rank)" % b)
                exp[b + "attn_q_a.weight"] = [D, qr]
                exp[b + "attn_q_a_norm.weight"] = [qr]
                exp[b + "attn_q_b.weight"] = [qr, H * (dn + dr)]
            exp[b + "attn_kv_a_mqa.weight"] = [D, dc + dr]
            exp[b + "attn_kv_a_norm.weight"] = [dc]
            if self.has(b + "attn_kv_b.weight"):
                exp[b + "attn_kv_b.weight"] = [dc, H * (dn + dv)]
            else:
                exp[b + "attn_k_b.weight"] = [dn, dc, H]
                exp[b + "attn_v_b.weight"] = [dc, dv, H]
            exp[b + "attn_output.weight"] = [H * dv, D]
            exp[b + "ffn_norm.weight"] = [D]
            if l < hp.n_dense:
                F = self.g.kv.get("deepseek2.feed_forward_length")
                exp[b + "ffn_gate.weight"] = [D, F]
                exp[b + "ffn_up.weight"] = [D, F]
                exp[b + "ffn_down.weight"] = [F, D]
            else:
                E = hp.n_expert
                Fe = self.g.kv.get("deepseek2.expert_feed_forward_length")
                if not E or not hp.n_used or not Fe:
                    raise ModelError("MoE layer %d but expert_count/expert_used_count/"
                                     "expert_feed_forward_length missing or 0" % l)
                if hp.n_used > E or (hp.n_group > 1 and (E % hp.n_group or hp.n_group_used > hp.n_group)):
                    raise ModelError("bad expert routing hparams")
                exp[b + "ffn_gate_inp.weight"] = [D, E]
                if self.has(b + "exp_probs_b.bias"):
                    exp[b + "exp_probs_b.bias"] = [E]
                exp[b + "ffn_gate_exps.weight"] = [D, Fe, E]
                exp[b + "ffn_up_exps.weight"] = [D, Fe, E]
                exp[b + "ffn_down_exps.weight"] = [Fe, D, E]
                if self.has(b + "ffn_gate_shexp.weight"):
                    Fs = self.g.tensors[b + "ffn_gate_shexp.weight"].ne[1]
                    exp[b + "ffn_gate_shexp.weight"] = [D, Fs]
                    exp[b + "ffn_up_shexp.weight"] = [D, Fs]
                    exp[b + "ffn_down_shexp.weight"] = [Fs, D]
        return exp

    def check_shapes(self):
        for name, ne in self.expected_shapes().items():
            if name not in self.g.tensors:
                raise ModelError("missing tensor %s" % name)
            got = self.g.tensors[name].ne
            got = got + [1] * (len(ne) - len(got)) if len(got) < len(ne) else got
            if list(got) != list(ne):
                raise ModelError("tensor %s has ne %s, expected %s" % (name, self.g.tensors[name].ne, ne))

    def has(self, name):
        return name in self.g.tensors

    def t(self, name):
        if name not in self._cache:
            if name not in self.g.tensors:
                raise ModelError("missing tensor %s" % name)
            self._cache[name] = self.g.array(name).astype(np.float64)
        return self._cache[name]

    # --- attention ------------------------------------------------------------------------------
    def attention(self, l, a, pos):
        hp = self.hp
        b = "blk.%d." % l
        T = a.shape[0]
        H, dn, dr, dv, dc = hp.n_head, hp.dn, hp.dr, hp.dv, hp.dc
        if self.has(b + "attn_q.weight"):
            q = a @ self.t(b + "attn_q.weight").T
        else:
            cq = rms_norm(a @ self.t(b + "attn_q_a.weight").T, self.t(b + "attn_q_a_norm.weight"), hp.eps)
            q = cq @ self.t(b + "attn_q_b.weight").T
        q = q.reshape(T, H, dn + dr).transpose(1, 0, 2)            # (H, T, dq)
        q_nope, q_pe = q[..., :dn], apply_rope(q[..., dn:], pos, self.inv_freq)
        kv_a = a @ self.t(b + "attn_kv_a_mqa.weight").T             # (T, dc+dr)
        c = rms_norm(kv_a[:, :dc], self.t(b + "attn_kv_a_norm.weight"), hp.eps)
        k_pe = apply_rope(kv_a[:, dc:], pos, self.inv_freq)          # (T, dr), shared by heads
        if self.has(b + "attn_kv_b.weight"):
            kvb = self.t(b + "attn_kv_b.weight").reshape(H, dn + dv, dc)
            w_uk, w_uv = kvb[:, :dn, :], kvb[:, dn:, :]             # (H, dn, dc), (H, dv, dc)
        else:
            w_uk = self.t(b + "attn_k_b.weight").transpose(0, 2, 1)  # stored (H, dc, dn)
            w_uv = self.t(b + "attn_v_b.weight")                     # (H, dv, dc)
        k_nope = np.einsum("hdc,tc->htd", w_uk, c)                   # (H, T, dn)
        v = np.einsum("hdc,tc->htd", w_uv, c)                        # (H, T, dv)
        scores = (np.einsum("hid,hjd->hij", q_nope, k_nope)
                  + np.einsum("hid,jd->hij", q_pe, k_pe)) * self.scale
        mask = np.triu(np.ones((T, T), dtype=bool), k=1)
        scores = np.where(mask[None], -np.inf, scores)
        p = softmax(scores, axis=-1)
        o = np.einsum("hij,hjd->hid", p, v)                          # (H, T, dv)
        o = o.transpose(1, 0, 2).reshape(T, H * dv)
        self.stats.setdefault("attn_max_p", []).append(float(np.mean(np.max(p, axis=-1))))
        return o @ self.t(b + "attn_output.weight").T

    # --- feed forward -----------------------------------------------------------------------------
    def swiglu(self, f, gate, up, down):
        return (silu(f @ gate.T) * (f @ up.T)) @ down.T

    def moe(self, l, f):
        hp = self.hp
        b = "blk.%d." % l
        T = f.shape[0]
        logits = f @ self.t(b + "ffn_gate_inp.weight").T            # (T, E)
        if hp.gating == 2:
            probs = 1.0 / (1.0 + np.exp(-logits))
        elif hp.gating == 1:
            probs = softmax(logits)
        else:
            raise ModelError("unsupported expert_gating_func %d" % hp.gating)
        sel = probs.copy()
        if self.has(b + "exp_probs_b.bias"):
            sel = sel + self.t(b + "exp_probs_b.bias")[None, :]
        E, k = probs.shape[1], hp.n_used
        if hp.n_group > 1:
            G = hp.n_group
            gs = sel.reshape(T, G, E // G)
            if self.group_score == "max":
                gscore = gs.max(axis=-1)
            else:
                gscore = np.sort(gs, axis=-1)[..., -2:].sum(axis=-1)   # sum of top-2 per group
            keep = np.argsort(-gscore, axis=-1, kind="stable")[:, :hp.n_group_used]
            gmask = np.zeros((T, G), dtype=bool)
            np.put_along_axis(gmask, keep, True, axis=-1)
            sel = np.where(np.repeat(gmask, E // G, axis=-1), sel, -np.inf)
        order = np.argsort(-sel, axis=-1, kind="stable")
        idx = order[:, :k]                                             # (T, k)
        if k < E:   # gap between the k-th and (k+1)-th selection score: small = fragile routing
            srt = np.take_along_axis(sel, order[:, k - 1:k + 1], axis=-1)
            gap = srt[:, 0] - srt[:, 1]
            self.stats.setdefault("route_margin", []).append(float(np.min(gap)))
        w = np.take_along_axis(probs, idx, axis=-1)
        if hp.w_norm:
            w = w / np.maximum(w.sum(axis=-1, keepdims=True), 6.103515625e-5)
        if hp.w_scale not in (0.0, 1.0):
            w = w * hp.w_scale
        gate = self.t(b + "ffn_gate_exps.weight")
        up = self.t(b + "ffn_up_exps.weight")
        down = self.t(b + "ffn_down_exps.weight")
        out = np.zeros_like(f)
        for t in range(T):
            for j in range(k):
                e = idx[t, j]
                out[t] += w[t, j] * self.swiglu(f[t:t + 1], gate[e], up[e], down[e])[0]
        if self.has(b + "ffn_gate_shexp.weight"):
            out += self.swiglu(f, self.t(b + "ffn_gate_shexp.weight"), self.t(b + "ffn_up_shexp.weight"),
                               self.t(b + "ffn_down_shexp.weight"))
        self.stats.setdefault("routing", []).append(idx.copy())
        self.stats.setdefault("router_max_p", []).append(float(np.mean(np.max(probs, axis=-1))))
        return out

    def forward(self, tokens):
        hp = self.hp
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or tokens.size == 0:
            raise ModelError("need at least one token")
        if np.any(tokens < 0) or np.any(tokens >= self.vocab):
            raise ModelError("token id out of range [0, %d)" % self.vocab)
        self.stats = {}
        pos = np.arange(tokens.size, dtype=np.float64)
        x = self.t("token_embd.weight")[tokens]
        rms = [float(np.sqrt(np.mean(x * x)))]
        for l in range(hp.n_layer):
            b = "blk.%d." % l
            x = x + self.attention(l, rms_norm(x, self.t(b + "attn_norm.weight"), hp.eps), pos)
            f = rms_norm(x, self.t(b + "ffn_norm.weight"), hp.eps)
            if l < hp.n_dense:
                x = x + self.swiglu(f, self.t(b + "ffn_gate.weight"), self.t(b + "ffn_up.weight"),
                                    self.t(b + "ffn_down.weight"))
            else:
                x = x + self.moe(l, f)
            rms.append(float(np.sqrt(np.mean(x * x))))
        self.stats["resid_rms"] = rms
        x = rms_norm(x, self.t("output_norm.weight"), hp.eps)
        w_out = self.t("output.weight") if self.has("output.weight") else self.t("token_embd.weight")
        return x @ w_out.T


def parse_tokens(s):
    try:
        return [int(t) for t in s.replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise ModelError("--tokens must be a comma-separated list of integers, got %r" % s)


def main(argv=None):
    ap = argparse.ArgumentParser(description="float64 numpy reference forward pass of a deepseek2 GGUF")
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids, e.g. 1,2,3")
    ap.add_argument("--out", help="write logits as little-endian float32, positions x vocab")
    ap.add_argument("--group-score", choices=["top2sum", "max"], default="top2sum",
                    help="group score for group-limited routing (llama.cpp: top2sum; HF V2: max)")
    ap.add_argument("--stats", action="store_true", help="print next-token max-prob / routing / activation stats")
    a = ap.parse_args(argv)
    try:
        tokens = parse_tokens(a.tokens)
        ref = Reference(a.model, group_score=a.group_score)
        logits = ref.forward(tokens)
    except (OSError, gguf.GGUFError, ModelError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    if a.out:
        try:
            logits.astype("<f4").tofile(a.out)
        except OSError as e:
            print("error: cannot write %s: %s" % (a.out, e), file=sys.stderr)
            return 1
    if a.stats or not a.out:
        p = softmax(logits)
        mp = p.max(axis=-1)
        print("positions %d, vocab %d" % logits.shape)
        print("next-token max prob: min %.3f mean %.3f max %.3f; argmax %s"
              % (mp.min(), mp.mean(), mp.max(), p.argmax(axis=-1).tolist()))
        print("logit std per position: %s" % np.round(logits.std(axis=-1), 3).tolist())
        print("residual rms per layer: %s" % np.round(ref.stats["resid_rms"], 3).tolist())
        print("mean attention max-prob per layer: %s" % np.round(ref.stats.get("attn_max_p", []), 3).tolist())
        if "routing" in ref.stats:
            r = np.concatenate([x.reshape(-1) for x in ref.stats["routing"]])
            print("router mean max-prob per MoE layer: %s" % np.round(ref.stats["router_max_p"], 3).tolist())
            print("expert usage counts: %s" % np.bincount(r, minlength=ref.hp.n_expert).tolist())
            if ref.stats.get("route_margin"):
                print("min routing margin (k-th minus (k+1)-th selection score) per MoE layer: %s"
                      % ["%.2e" % m for m in ref.stats["route_margin"]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
