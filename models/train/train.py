#!/usr/bin/python3
# Run with /usr/bin/python3: Debian's python3-torch/numpy are only visible to the
# system interpreter (the `python3` first on PATH may be a different installation).
# Run with OMP_WAIT_POLICY=PASSIVE in the environment (2-core machine).
"""Train the small DeepSeek-V2 on the tokenized corpus (see README.md).

Reproducible: the batch at step s is drawn from np.random.default_rng([seed, s]),
so a resumed run sees exactly the batches an uninterrupted one would.

Outputs in --out:
  config.json, tokenizer.json   copied at start (HF DeepSeek-V2 style config)
  best.pt                       plain state_dict (HF names) of the best val loss
  last.pt                       {model, optim, step, best_val, elapsed} for --resume
  log.tsv                       step, lr, train_loss, aux_loss, val_loss, tok_s, elapsed_s
All checkpoint writes go to a temp file first and are renamed into place.
"""
import argparse
import math
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import DeepseekV2ForCausalLM, save_config  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", action="store_true", help="continue from out/last.pt")
    ap.add_argument("--init", default=None,
                    help="start from these weights (a best.pt state_dict), fresh optimizer "
                         "and schedule (second-stage training); ignored with --resume")
    ap.add_argument("--bench", type=int, default=0,
                    help="only time this many training steps, print tokens/s, write nothing")
    return ap.parse_args()


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = (step - a.warmup) / max(1, a.steps - a.warmup)
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def get_batch(data, step, a):
    rng = np.random.default_rng([a.seed, step])
    off = rng.integers(0, len(data) - a.ctx - 1, size=a.batch)
    x = np.stack([data[o:o + a.ctx] for o in off]).astype(np.int64)
    y = np.stack([data[o + 1:o + a.ctx + 1] for o in off]).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def val_windows(val, a):
    n = a.eval_windows
    last = len(val) - a.ctx - 1
    offs = [round(i * last / (n - 1)) for i in range(n)]
    x = np.stack([val[o:o + a.ctx] for o in offs]).astype(np.int64)
    y = np.stack([val[o + 1:o + a.ctx + 1] for o in offs]).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def evaluate(model, vx, vy, bs=16):
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, len(vx), bs):
        _, loss, _ = model(vx[i:i + bs], vy[i:i + bs])
        k = vy[i:i + bs].numel()
        tot += loss.item() * k
        n += k
    model.train()
    return tot / n


def atomic_save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = np.memmap(os.path.join(a.data, "train.bin"), dtype=np.uint16, mode="r")
    val = np.memmap(os.path.join(a.data, "val.bin"), dtype=np.uint16, mode="r")
    model = DeepseekV2ForCausalLM()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)

    if a.bench:
        model.train()
        t0 = None
        for s in range(a.bench + 3):
            if s == 3:
                t0 = time.time()
            x, y = get_batch(train, s, a)
            _, loss, aux = model(x, y)
            opt.zero_grad(set_to_none=True)
            (loss + aux).backward()
            opt.step()
            print(f"bench step {s} loss {loss.item():.4f} aux {float(aux):.4f}", flush=True)
        dt = time.time() - t0
        vx, vy = val_windows(val, a)
        te = time.time()
        evaluate(model, vx, vy)
        te = time.time() - te
        tps = a.bench * a.batch * a.ctx / dt
        print(f"bench: {a.bench} steps in {dt:.1f}s = {dt/a.bench:.3f} s/step, {tps:.0f} tokens/s; "
              f"eval of {a.eval_windows} windows {te:.1f}s")
        return

    os.makedirs(a.out, exist_ok=True)
    save_config(model.hf_config(), os.path.join(a.out, "config.json"))
    shutil.copyfile(os.path.join(a.data, "tokenizer.json"), os.path.join(a.out, "tokenizer.json"))
    last_path = os.path.join(a.out, "last.pt")
    best_path = os.path.join(a.out, "best.pt")
    log_path = os.path.join(a.out, "log.tsv")

    start, best_val, elapsed = 0, float("inf"), 0.0
    if a.init and not (a.resume and os.path.exists(last_path)):
        model.load_state_dict(torch.load(a.init, map_location="cpu"))
        print(f"initialised weights from {a.init}", flush=True)
    if a.resume and os.path.exists(last_path):
        ck = torch.load(last_path, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        start, best_val, elapsed = ck["step"] + 1, ck["best_val"], ck["elapsed"]
        print(f"resumed from step {ck['step']} (best val {best_val:.4f})", flush=True)
    else:
        with open(log_path, "w") as f:
            f.write("step\tlr\ttrain_loss\taux_loss\tval_loss\ttok_s\telapsed_s\n")
    log = open(log_path, "a")
    print(f"args: {vars(a)}", flush=True)
    print(f"params {sum(p.numel() for p in model.parameters())/1e6:.3f}M, "
          f"train {len(train)} tokens, val {len(val)} tokens", flush=True)

    vx, vy = val_windows(val, a)
    model.train()
    acc_l, acc_a, acc_n, t_int = 0.0, 0.0, 0, time.time()
    for step in range(start, a.steps):
        lr = lr_at(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = get_batch(train, step, a)
        _, loss, aux = model(x, y)
        opt.zero_grad(set_to_none=True)
        (loss + aux).backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        acc_l += loss.item()
        acc_a += float(aux)
        acc_n += 1
        last_step = step == a.steps - 1
        if step % 10 == 0 and step % a.eval_every != 0:
            print(f"step {step} loss {loss.item():.4f} lr {lr:.2e}", flush=True)
        if step % a.eval_every == 0 or last_step:
            dt = time.time() - t_int
            elapsed += dt
            tps = acc_n * a.batch * a.ctx / dt
            vl = evaluate(model, vx, vy)
            improved = vl < best_val
            if improved:
                best_val = vl
                atomic_save(model.state_dict(), best_path)
            atomic_save({"model": model.state_dict(), "optim": opt.state_dict(), "step": step,
                         "best_val": best_val, "elapsed": elapsed, "args": vars(a)}, last_path)
            log.write(f"{step}\t{lr:.6g}\t{acc_l/acc_n:.4f}\t{acc_a/acc_n:.5f}\t{vl:.4f}\t"
                      f"{tps:.0f}\t{elapsed:.0f}\n")
            log.flush()
            print(f"step {step} train {acc_l/acc_n:.4f} aux {acc_a/acc_n:.4f} val {vl:.4f}"
                  f"{' *best*' if improved else ''} {tps:.0f} tok/s elapsed {elapsed:.0f}s",
                  flush=True)
            acc_l, acc_a, acc_n, t_int = 0.0, 0.0, 0, time.time()
    print(f"done: best val {best_val:.4f} nats/token", flush=True)


if __name__ == "__main__":
    main()
