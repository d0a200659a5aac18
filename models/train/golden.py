#!/usr/bin/python3
# Run with /usr/bin/python3 (Debian's numpy; `make` also needs Debian's python3-torch).
"""Golden data for the shipped model, made by the PyTorch trainer's model, and the checks against it.

  golden.py make  --dir HF_DIR --gguf models/NAME.gguf --out models/NAME.golden.json [--val VAL.bin]
  golden.py check --golden models/NAME.golden.json --ds2 build/release/ds2 [--gguf FILE ...]
  golden.py check --golden ... --llama [--node node] [--gguf FILE ...]

make (PyTorch, fp32 math, full recompute, no BOS as in training; weights rounded to float16 where the F16
GGUF has F16, so the goldens are the shipped file's model): for every candidate prompt the greedy
continuation of N_GEN tokens with the top-1 - top-2 logit margin at each step; prompts whose smallest
margin is below MIN_MARGIN are dropped (a float-rounding difference between engines could flip such a
step), at least N_PROMPTS must remain. Also the mean next-token NLL over PPL_WINDOWS fixed windows of
PPL_CTX validation tokens (each window scored on its own, its first token only as context); the window
ids are stored, so the check needs no corpus. The GGUF's sha256 ties the goldens to the shipped file.

check --ds2: the native CLI on each GGUF (default: the golden's file next to the json)
  - `ds2 tokenize --no-bos -p PROMPT` gives the PyTorch tokenizer's ids (bpe.py),
  - `ds2 run --tokens IDS -n N_GEN --temp 0 --print-ids 1` gives exactly the golden continuation,
  - `ds2 eval --logits` on each window: mean NLL within PPL_TOL (relative) of PyTorch's.
check --llama: llama.cpp (node-llama-cpp, tests/oracle/llama_logprobs.mjs, x64 CPU build) on prompt +
  golden continuation: its argmax at each generated position is the golden token (teacher forcing = the
  greedy continuation, step by step), and its held-out NLL agrees with PyTorch's too.
Exit 0 = all agree, 1 = a mismatch, 2 = usage/tool error, 77 = llama.cpp not installed (skip).
"""
import argparse
import copy
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

CANDIDATES = [
    "It is a truth universally acknowledged, that",
    "Call me Ishmael.",
    "Elizabeth looked at",
    "The whale",
    "Mr. Darcy",
    "\"My dear Mr. Bennet,\" said his lady to him one day,",
    "Emma Woodhouse, handsome, clever, and rich,",
    "Captain Ahab",
    "She was",
    "In the morning",
    "The sea",
    "Anne Elliot",
    "\"I am sure,\" said",
    "Queequeg",
    "It was a fine day, and",
    "Mrs. Jennings",
    "Sir Walter Elliot, of Kellynch Hall,",
    "The family of Dashwood had long been settled in",
    "No one who had ever seen Catherine Morland",
    "Marianne",
    "Harriet Smith",
    "Mr. Knightley",
    "Fanny Price",
    "Captain Wentworth",
    "Elinor",
    "Lady Catherine",
    "Mr. Collins",
    "The Pequod",
    "Stubb",
    "The ship",
    "He said",
    "I do not know",
    "There was",
    "As soon as",
    "After dinner",
    "The next day",
    "Her mother",
    "My dear",
    "\"Oh!",
    "When they",
]
N_GEN = 16
MIN_MARGIN = 0.05
N_PROMPTS = 5
MAX_PROMPTS = 8
PPL_WINDOWS = 4
PPL_CTX = 256
PPL_TOL = 0.005


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def nll_from_logits(logits, ids):
    """logits [n, vocab] float32 for positions 0..n-1, ids [n]: sum of -log p(ids[i+1] | ..i) (float64)."""
    z = logits[:-1].astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1)))
    tgt = z[np.arange(len(ids) - 1), ids[1:]]
    return float((lse - tgt).sum())


# ---------------------------------------------------------------------------------------------
# make (PyTorch)
# ---------------------------------------------------------------------------------------------
def make(a):
    import torch
    sys.path.insert(0, HERE)
    from bpe import Tokenizer
    from model import load_model
    from sample import greedy
    torch.set_num_threads(2)
    model = load_model(os.path.join(a.dir, "pytorch_model.bin"), os.path.join(a.dir, "config.json"))
    tok = Tokenizer(os.path.join(a.dir, "tokenizer.json"))
    # The same model with every weight the F16 GGUF stores as F16 rounded to float16 (gguf.choose_type:
    # matrices except the router stay F32 only as norms/router): the greedy goldens are made on exactly
    # the shipped file's weights, so an engine differs from them only by arithmetic order and activation
    # rounding, which the margin threshold covers.
    model16 = copy.deepcopy(model)
    with torch.no_grad():
        for nm, p in model16.named_parameters():
            if p.dim() >= 2 and not nm.endswith("mlp.gate.weight"):
                p.copy_(p.half().float())
    gens, dropped = [], []
    for p in CANDIDATES:
        ids = tok.encode(p)
        steps = greedy(model16, ids, N_GEN, PPL_CTX)
        mm = min(s["margin"] for s in steps)
        rec = {"prompt": p, "prompt_ids": ids, "continuation_ids": [s["id"] for s in steps],
               "margins": [round(s["margin"], 4) for s in steps], "min_margin": round(mm, 4),
               "text": tok.decode([s["id"] for s in steps])}
        print("%-55r min margin %.3f  %r" % (p, mm, rec["text"]))
        (gens if mm >= MIN_MARGIN and len(gens) < MAX_PROMPTS else dropped).append(rec)
    if len(gens) < N_PROMPTS:
        sys.exit("golden: only %d prompts with min margin >= %g" % (len(gens), MIN_MARGIN))
    val = np.fromfile(a.val, dtype=np.uint16).astype(np.int64)
    # PPL_WINDOWS evenly spaced windows over the validation set (it is the tail of every book)
    step = (len(val) - PPL_CTX) // (PPL_WINDOWS - 1)
    wins = [val[i * step:i * step + PPL_CTX] for i in range(PPL_WINDOWS)]
    tot, tot16 = 0.0, 0.0
    with torch.no_grad():
        for w in wins:
            x = torch.from_numpy(w)[None]
            tot += nll_from_logits(model(x)[0].float().numpy(), w)
            tot16 += nll_from_logits(model16(x)[0].float().numpy(), w)
    n = PPL_WINDOWS * (PPL_CTX - 1)
    out = {
        "about": "made by models/train/golden.py from the PyTorch model (fp32); checked by golden.py check",
        "gguf": os.path.basename(a.gguf), "gguf_sha256": sha256(a.gguf),
        "checkpoint_sha256": sha256(os.path.join(a.dir, "pytorch_model.bin")),
        "n_gen": N_GEN, "min_margin_required": MIN_MARGIN, "add_bos": False,
        "greedy_weights": "the trained fp32 weights rounded to float16 where the F16 GGUF stores F16",
        "generations": gens,
        "dropped_thin_margin": [{"prompt": d["prompt"], "min_margin": d["min_margin"]} for d in dropped],
        "ppl": {"windows": [w.tolist() for w in wins], "ctx": PPL_CTX, "predicted_tokens": n,
                "pytorch_nll": tot / n, "pytorch_ppl": math.exp(tot / n),
                "pytorch_f16_weights_ppl": math.exp(tot16 / n), "tolerance": PPL_TOL},
    }
    with open(a.out + ".part", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(a.out + ".part", a.out)
    print("golden: %d prompts (min margin %.3f), PyTorch held-out NLL %.4f ppl %.3f over %d tokens -> %s"
          % (len(gens), min(g["min_margin"] for g in gens), tot / n, math.exp(tot / n), n, a.out))


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------
def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        print("golden: FAILED to run %s\n%s" % (" ".join(cmd), r.stderr[-2000:]))
        sys.exit(2)
    return r.stdout


def check_ppl(g, nll_of, who):
    p = g["ppl"]
    tot = sum(nll_of(np.asarray(w, dtype=np.int64)) for w in p["windows"])
    nll = tot / p["predicted_tokens"]
    rel = abs(math.exp(nll) - p["pytorch_ppl"]) / p["pytorch_ppl"]
    ok = rel <= p["tolerance"]
    print("  %s held-out NLL %.5f ppl %.4f  vs PyTorch ppl %.4f: rel diff %.2e %s"
          % (who, nll, math.exp(nll), p["pytorch_ppl"], rel, "ok" if ok else "FAIL"))
    return ok


def check_native(g, gguf, ds2, tmp):
    ok = True
    for e in g["generations"]:
        ids = json.loads(run([ds2, "tokenize", "-m", gguf, "--jsonl"],
                             input=json.dumps(e["prompt"]) + "\n").strip())
        got = run([ds2, "run", "-m", gguf, "--tokens", ",".join(map(str, e["prompt_ids"])), "-n",
                   str(g["n_gen"]), "--temp", "0", "--print-ids", "1", "--threads", "2"]).strip()
        got = [int(t) for t in got.replace(",", " ").split()]
        good = got == e["continuation_ids"] and ids == e["prompt_ids"]
        ok &= good
        print("  native %-50r tokens %s, greedy %s" % (e["prompt"], "ok" if ids == e["prompt_ids"] else
              "FAIL %s != %s" % (ids, e["prompt_ids"]), "ok" if got == e["continuation_ids"] else
              "FAIL\n    got  %s\n    want %s" % (got, e["continuation_ids"])))

    def nll(w):
        lp = os.path.join(tmp, "logits.f32")
        run([ds2, "eval", "-m", gguf, "--tokens", ",".join(map(str, w.tolist())), "--logits", lp,
             "--threads", "2"])
        logits = np.fromfile(lp, dtype="<f4").reshape(len(w), -1)
        return nll_from_logits(logits, w)
    return check_ppl(g, nll, "native") and ok


def check_llama(g, gguf, node, tmp):
    script = os.path.join(ROOT, "tests", "oracle", "llama_logprobs.mjs")
    lp = os.path.join(tmp, "lp.f32")

    def logprobs(ids):
        r = subprocess.run([node, script, "--model", gguf, "--tokens", ",".join(map(str, ids)), "--out", lp,
                            "--threads", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            if "Cannot find package 'node-llama-cpp'" in r.stderr or "ERR_MODULE_NOT_FOUND" in r.stderr:
                print("golden: node-llama-cpp is not installed (npm ci): skipped")
                sys.exit(77)
            print("golden: llama_logprobs failed\n" + r.stderr[-3000:])
            sys.exit(2)
        return np.fromfile(lp, dtype="<f4").reshape(len(ids), -1)
    ok = True
    for e in g["generations"]:
        seq = e["prompt_ids"] + e["continuation_ids"]
        lpm = logprobs(seq)
        n0 = len(e["prompt_ids"]) - 1
        am = [int(lpm[n0 + k].argmax()) for k in range(g["n_gen"])]
        good = am == e["continuation_ids"]
        ok &= good
        print("  llama.cpp %-47r greedy %s" % (e["prompt"], "ok" if good else
              "FAIL\n    got  %s\n    want %s" % (am, e["continuation_ids"])))
    # log-probabilities: NLL = -sum log p(target)
    return check_ppl(g, lambda w: float(-logprobs(w.tolist())[np.arange(len(w) - 1), w[1:]].astype(np.float64)
                                        .sum()), "llama.cpp") and ok


def check(a):
    with open(a.golden) as f:
        g = json.load(f)
    files = a.gguf or [os.path.join(os.path.dirname(os.path.abspath(a.golden)), g["gguf"])]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for gguf in files:
            print("golden: %s (%d prompts x %d tokens, %d held-out tokens)"
                  % (gguf, len(g["generations"]), g["n_gen"], g["ppl"]["predicted_tokens"]))
            if os.path.basename(gguf) == g["gguf"]:
                same = sha256(gguf) == g["gguf_sha256"]
                print("  sha256 %s" % ("matches the golden's" if same else "DIFFERS from the golden's (re-run "
                                       "models/train/export.sh)"))
                ok &= same
            if a.llama:
                ok &= check_llama(g, gguf, a.node, tmp)
            else:
                ok &= check_native(g, gguf, a.ds2, tmp)
    print("golden: %s" % ("all agree" if ok else "MISMATCH"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--dir", required=True, help="HF folder from export.sh (pytorch_model.bin, config.json, ...)")
    m.add_argument("--gguf", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--val", default=os.path.join(HERE, "data", "val.bin"))
    c = sub.add_parser("check")
    c.add_argument("--golden", required=True)
    c.add_argument("--gguf", action="append", help="GGUF(s) to check (default: the golden's file)")
    c.add_argument("--ds2", default=os.path.join(ROOT, "build", "release", "ds2"))
    c.add_argument("--llama", action="store_true", help="check llama.cpp (node-llama-cpp) instead of ds2")
    c.add_argument("--node", default="node")
    a = ap.parse_args()
    if a.cmd == "make":
        make(a)
        return 0
    return check(a)


if __name__ == "__main__":
    sys.exit(main())
