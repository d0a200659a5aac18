#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-torch/numpy are only visible to the
# system interpreter (the `python3` first on PATH may be a different installation).
"""Greedy generation + held-out perplexity for the trained small DeepSeek-V2.

  sample.py [--dir models/train/out] [--n 40] [--prompt TEXT ...] [--ppl]
            [--ppl-ctx 256] [--json out.json]

For each prompt (no BOS is prepended; the model was trained on windows that
start anywhere in the text) prints the greedy continuation and, per generated
token, its id, text and the margin between the top-1 and top-2 logits (small
margins mean a golden comparison at that step is fragile).
--ppl: mean negative log-likelihood (nats/token) and perplexity over the whole
val.bin, scored in non-overlapping windows of --ppl-ctx tokens (every token
except the first of each window is predicted).
Generation is full-recompute (no KV cache), all in fp32.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import Tokenizer  # noqa: E402
from model import load_model  # noqa: E402

DEFAULT_PROMPTS = [
    "It is a truth universally acknowledged, that",
    "Call me Ishmael.",
    "Elizabeth looked at",
    "The whale",
]


@torch.no_grad()
def greedy(model, ids, n, max_ctx):
    ids = list(ids)
    steps = []
    for _ in range(n):
        x = torch.tensor([ids[-max_ctx:]], dtype=torch.long)
        logits = model(x)[0, -1].float()
        top = torch.topk(logits, 2)
        nid = int(top.indices[0])
        steps.append({"id": nid, "logit": float(top.values[0]),
                      "margin": float(top.values[0] - top.values[1])})
        ids.append(nid)
    return steps


@torch.no_grad()
def perplexity(model, val, ctx, bs=16):
    wins = [val[i:i + ctx] for i in range(0, len(val) - 1, ctx) if len(val[i:i + ctx]) > 1]
    tot, n = 0.0, 0
    full = [w for w in wins if len(w) == ctx]
    rest = [w for w in wins if len(w) != ctx]
    for i in range(0, len(full), bs):
        x = torch.from_numpy(np.stack(full[i:i + bs]).astype(np.int64))
        logits = model(x[:, :-1]).float()
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                x[:, 1:].reshape(-1), reduction="sum")
        tot += nll.item()
        n += x[:, 1:].numel()
    for w in rest:
        x = torch.from_numpy(np.asarray(w, dtype=np.int64))[None]
        logits = model(x[:, :-1]).float()
        tot += torch.nn.functional.cross_entropy(logits[0], x[0, 1:], reduction="sum").item()
        n += x.shape[1] - 1
    return tot / n, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.path.join(HERE, "out"))
    ap.add_argument("--ckpt", default=None, help="default: DIR/best.pt")
    ap.add_argument("--val", default=os.path.join(HERE, "data", "val.bin"))
    ap.add_argument("--prompt", action="append", default=None)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--ctx", type=int, default=256, help="generation window (training context)")
    ap.add_argument("--ppl", action="store_true")
    ap.add_argument("--ppl-ctx", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write results here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = load_model(a.ckpt or os.path.join(a.dir, "best.pt"), os.path.join(a.dir, "config.json"))
    tok = Tokenizer(os.path.join(a.dir, "tokenizer.json"))
    result = {"generations": []}
    for p in a.prompt or DEFAULT_PROMPTS:
        ids = tok.encode(p)
        steps = greedy(model, ids, a.n, a.ctx)
        gen = [s["id"] for s in steps]
        print(f"=== {p!r}  prompt ids {ids}")
        print(p + tok.decode(gen))
        print("  " + " ".join(f"{s['id']}:{tok.decode([s['id']])!r}:{s['margin']:.2f}" for s in steps))
        print(f"  min top1-top2 margin {min(s['margin'] for s in steps):.3f}")
        result["generations"].append({"prompt": p, "prompt_ids": ids, "steps": steps,
                                      "text": tok.decode(gen)})
    if a.ppl:
        val = np.fromfile(a.val, dtype=np.uint16)
        nll, n = perplexity(model, val, a.ppl_ctx)
        print(f"val: {nll:.4f} nats/token over {n} predicted tokens, ppl {math.exp(nll):.2f}")
        result["val_nll"] = nll
        result["val_tokens"] = n
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
