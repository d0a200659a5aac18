#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-torch is only visible to the system
# interpreter (the `python3` first on PATH may be a different installation).
"""A small DeepSeek-V2 (MLA + MoE) in PyTorch, written from the architecture math.

Parameter names and shapes follow the HuggingFace DeepSeek-V2 checkpoints
exactly (Linear weights [out, in], no biases), so a state_dict saved from this
module can be converted like a real DeepSeek-V2 checkpoint.

Conventions that an inference engine must reproduce:
  * RMSNorm in fp32: w * x / sqrt(mean(x^2) + eps), eps = rms_norm_eps (1e-6)
    for every norm, including q_a_layernorm and kv_a_layernorm.
  * q = q_b_proj(q_a_layernorm(q_a_proj(x))); per head (head-major) dn nope
    values then dr rope values.
  * kv_a_proj_with_mqa(x) -> [latent (kv_lora_rank) | k_pe (dr)]; the norm
    applies to the latent only; kv_b_proj rows are head-major, per head dn
    K-nope rows then dv V rows. k_pe is shared by all heads.
  * RoPE on ADJACENT pairs (x[2i], x[2i+1]), inv_freq[i] = theta^(-2i/dr),
    output kept interleaved (no NeoX half split, no YaRN).
  * softmax scale 1/sqrt(dn + dr).
  * MoE: softmax over router logits (fp32), greedy top-k, top-k weights
    renormalised to sum 1 (norm_topk_prob), times routed_scaling_factor,
    plus one shared SwiGLU of width moe_intermediate_size * n_shared_experts.
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_CONFIG = {
    "architectures": ["DeepseekV2ForCausalLM"],
    "model_type": "deepseek_v2",
    "vocab_size": 4096,
    "hidden_size": 256,
    "intermediate_size": 768,
    "moe_intermediate_size": 160,
    "num_hidden_layers": 5,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "n_shared_experts": 1,
    "n_routed_experts": 8,
    "num_experts_per_tok": 2,
    "routed_scaling_factor": 1.0,
    "norm_topk_prob": True,
    "scoring_func": "softmax",
    "topk_method": "greedy",
    "n_group": 1,
    "topk_group": 1,
    "moe_layer_freq": 1,
    "first_k_dense_replace": 1,
    "aux_loss_alpha": 0.01,
    "seq_aux": False,
    "q_lora_rank": 128,
    "kv_lora_rank": 64,
    "qk_nope_head_dim": 32,
    "qk_rope_head_dim": 16,
    "v_head_dim": 32,
    "hidden_act": "silu",
    "max_position_embeddings": 1024,
    "initializer_range": 0.02,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "tie_word_embeddings": False,
    "bos_token_id": 4095,
    "eos_token_id": 4095,
    "torch_dtype": "float32",
    "use_cache": True,
}


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rope_cos_sin(T, dr, theta, device):
    inv = theta ** (-torch.arange(0, dr, 2, dtype=torch.float64, device=device) / dr)  # dr/2
    ang = torch.arange(T, dtype=torch.float64, device=device)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()                             # [T, dr/2]


def apply_rope_adjacent(x, cos, sin):
    """x [..., T, dr]; rotate pairs (x[2i], x[2i+1]) by angle t*inv_freq[i]."""
    x2 = x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2)
    a, b = x2[..., 0], x2[..., 1]
    ya = a * cos - b * sin
    yb = a * sin + b * cos
    return torch.stack((ya, yb), dim=-1).reshape(x.shape)


class MLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["hidden_size"]
        self.H = H = c["num_attention_heads"]
        self.dn, self.dr, self.dv = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
        self.dc = c["kv_lora_rank"]
        dq = self.dn + self.dr
        self.q_a_proj = nn.Linear(D, c["q_lora_rank"], bias=False)
        self.q_a_layernorm = RMSNorm(c["q_lora_rank"], c["rms_norm_eps"])
        self.q_b_proj = nn.Linear(c["q_lora_rank"], H * dq, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(D, self.dc + self.dr, bias=False)
        self.kv_a_layernorm = RMSNorm(self.dc, c["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(self.dc, H * (self.dn + self.dv), bias=False)
        self.o_proj = nn.Linear(H * self.dv, D, bias=False)
        self.scale = 1.0 / math.sqrt(dq)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        H, dn, dr, dv = self.H, self.dn, self.dr, self.dv
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(B, T, H, dn + dr).transpose(1, 2)                 # B H T dq
        q_nope, q_pe = q[..., :dn], q[..., dn:]
        kva = self.kv_a_proj_with_mqa(x)
        c_lat, k_pe = kva[..., :self.dc], kva[..., self.dc:]
        kv = self.kv_b_proj(self.kv_a_layernorm(c_lat))
        kv = kv.view(B, T, H, dn + dv).transpose(1, 2)               # B H T dn+dv
        k_nope, v = kv[..., :dn], kv[..., dn:]
        q_pe = apply_rope_adjacent(q_pe, cos, sin)
        k_pe = apply_rope_adjacent(k_pe, cos, sin)[:, None]          # B 1 T dr
        s = (q_nope @ k_nope.transpose(-1, -2) + q_pe @ k_pe.transpose(-1, -2)) * self.scale
        s = s.float().masked_fill(mask, float("-inf"))
        p = torch.softmax(s, dim=-1).to(v.dtype)
        o = (p @ v).transpose(1, 2).reshape(B, T, H * dv)
        return self.o_proj(o)


class MLP(nn.Module):
    def __init__(self, D, F_):
        super().__init__()
        self.gate_proj = nn.Linear(D, F_, bias=False)
        self.up_proj = nn.Linear(D, F_, bias=False)
        self.down_proj = nn.Linear(F_, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    def __init__(self, D, E):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(E, D))


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        D = c["hidden_size"]
        self.E = c["n_routed_experts"]
        self.k = c["num_experts_per_tok"]
        self.norm_topk = c["norm_topk_prob"]
        self.rsf = c["routed_scaling_factor"]
        self.alpha = c["aux_loss_alpha"]
        self.gate = Gate(D, self.E)
        self.experts = nn.ModuleList(MLP(D, c["moe_intermediate_size"]) for _ in range(self.E))
        self.shared_experts = MLP(D, c["moe_intermediate_size"] * c["n_shared_experts"])
        self.aux_loss = None

    def forward(self, x):
        B, T, D = x.shape
        xf = x.reshape(-1, D)
        N = xf.shape[0]
        logits = F.linear(xf.float(), self.gate.weight.float())
        scores = torch.softmax(logits, dim=-1)                      # N E
        w, idx = torch.topk(scores, self.k, dim=-1)                 # greedy
        if self.norm_topk and self.k > 1:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        w = (w * self.rsf).to(x.dtype)
        y = torch.zeros_like(xf)
        flat_idx = idx.reshape(-1)
        flat_w = w.reshape(-1)
        tok = torch.arange(N, device=x.device).repeat_interleave(self.k)
        for e in range(self.E):
            sel = (flat_idx == e).nonzero(as_tuple=True)[0]
            if sel.numel() == 0:
                continue
            t = tok[sel]
            y.index_add_(0, t, self.experts[e](xf[t]) * flat_w[sel, None])
        if self.training and self.alpha > 0:
            # expert-level balance loss: alpha * sum_i f_i * P_i,
            # f_i = E/(k*N) * (#tokens routed to i), P_i = mean routing prob of i
            cnt = torch.bincount(flat_idx, minlength=self.E).float()
            f = cnt * self.E / (self.k * N)
            P = scores.mean(0)
            self.aux_loss = self.alpha * (f * P).sum()
        else:
            self.aux_loss = None
        return (y + self.shared_experts(xf)).view(B, T, D)


class DecoderLayer(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        D = c["hidden_size"]
        self.input_layernorm = RMSNorm(D, c["rms_norm_eps"])
        self.self_attn = MLA(c)
        self.post_attention_layernorm = RMSNorm(D, c["rms_norm_eps"])
        self.mlp = MLP(D, c["intermediate_size"]) if i < c["first_k_dense_replace"] else MoE(c)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(c, i) for i in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class DeepseekV2ForCausalLM(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        self.config = c = dict(DEFAULT_CONFIG, **(config or {}))
        self.model = Backbone(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        self._rope = {}
        self.reset_parameters()

    def reset_parameters(self):
        std = self.config["initializer_range"]
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name.endswith("norm.weight"):
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, mean=0.0, std=std)

    def rope(self, T, device):
        key = (T, str(device))
        if key not in self._rope:
            self._rope[key] = rope_cos_sin(T, self.config["qk_rope_head_dim"],
                                           self.config["rope_theta"], device)
        return self._rope[key]

    def forward(self, ids, targets=None):
        B, T = ids.shape
        cos, sin = self.rope(T, ids.device)
        mask = torch.ones(T, T, dtype=torch.bool, device=ids.device).triu(1)
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        logits = self.lm_head(self.model.norm(x))
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))
        aux = sum(l.mlp.aux_loss for l in self.model.layers
                  if isinstance(l.mlp, MoE) and l.mlp.aux_loss is not None)
        return logits, loss, aux

    def hf_config(self):
        return dict(self.config)


def save_config(config, path):
    with open(path, "w") as f:
        json.dump(config, f, indent=2)


def load_model(ckpt_path, config_path):
    with open(config_path) as f:
        cfg = json.load(f)
    m = DeepseekV2ForCausalLM(cfg)
    sd = torch.load(ckpt_path, map_location="cpu")
    m.load_state_dict(sd)
    m.eval()
    return m


if __name__ == "__main__":
    # sanity test: shapes, names, parameter count, forward/backward, initial loss
    torch.manual_seed(0)
    torch.set_num_threads(2)
    m = DeepseekV2ForCausalLM()
    n = sum(p.numel() for p in m.parameters())
    print(f"params: {n/1e6:.3f}M")
    for k, v in list(m.state_dict().items())[:20]:
        print(k, tuple(v.shape))
    ids = torch.randint(0, 4095, (2, 64))
    _, loss, aux = m(ids[:, :-1], ids[:, 1:])
    (loss + aux).backward()
    print(f"loss {loss.item():.4f} (ln V = {math.log(4096):.4f}), aux {float(aux):.4f}")
    # RoPE check: adjacent-pair rotation preserves q.k dependence on relative position only
    cos, sin = rope_cos_sin(8, 16, 10000.0, "cpu")
    q = torch.randn(16); k = torch.randn(16)
    d1 = apply_rope_adjacent(q.expand(8, 16), cos, sin)[5] @ apply_rope_adjacent(k.expand(8, 16), cos, sin)[3]
    d2 = apply_rope_adjacent(q.expand(8, 16), cos, sin)[4] @ apply_rope_adjacent(k.expand(8, 16), cos, sin)[2]
    assert abs(d1 - d2) < 1e-4, (d1, d2)
    print("ok")
