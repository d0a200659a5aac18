#!/usr/bin/env node
// Engine-vs-oracle correctness driver (one ctest test per variant).
//
//   node tests/oracle/compare.mjs --ds2 build/ds2 --python /usr/bin/python3 --variant f32-mla [--workdir DIR]
//        [--against llama|reference] [--threads N] [--cpu-variant x64|auto|<name>] [--keep] [--verbose]
//   node tests/oracle/compare.mjs --list
//
// For the named variant: builds a seeded random tiny deepseek2 GGUF with models/make_tiny.py, picks a
// seeded random sequence of NORMAL token ids (no BOS/EOS/control/unused ids), computes next-token
// log-probabilities with the oracle (default: llama.cpp via tests/oracle/llama_logprobs.mjs; with
// --against reference: the float64 numpy reference models/reference.py) and with
// `<ds2> eval -m model.gguf --tokens a,b,c --logits out.f32` (raw logits, positions x vocab, LE
// float32), then compares log_softmax (float64) position by position over the whole vocabulary.
// Prints max |d log p|, mean |d log p|, per-position KL and argmax agreement; exit 0 = within
// tolerance, 1 = not, 2 = usage / tool failure, 77 = skipped (node-llama-cpp not installed).
//
// Argmax agreement: a position counts as agreeing if both sides pick the same token. If they differ
// only because the oracle's two candidates are tied to within TIE_EPS in log-probability (a float32
// tie), the position is counted as agreeing and reported as a tie.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import {spawnSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import {createRequire} from "node:module";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const TIE_EPS = 1e-6;

// Tolerances (checked: every limit that is set must hold; see the report printed per run).
// The llama.cpp oracle runs ggml's portable x86-64 CPU backend (llama_logprobs.mjs --cpu-variant x64,
// its default), whose arithmetic the engine reproduces bit for bit, F16 / BF16 / Q8_0 / Q4_0 activation
// rounding included: every variant below measures max |d log p| <= 3.5e-6 (the float32 precision of
// the oracle's probabilities) with identical argmax.
//  - F32 models: max |d log p| <= 1e-4, identical argmax.
//  - F16 / BF16 / Q8_0 / Q4_0 models, and Q4_1 / Q5_0 / Q5_1 / IQ4_NL (Q8_0 / Q8_1 activations), Q2_K..Q6_K /
//    IQ4_XS (Q8_K activations) and the Q4_K_M-like mixture: the issue's requirement, max |d log p| <= 2e-2 and
//    >= 98% identical argmax, over 128 positions (measured: <= 3.5e-6, 100%, like the types above).
// Against ggml's own pick of CPU variant (--cpu-variant auto: zen4 / skylakex / haswell / ... builds
// with FMA lanes, tinyBLAS and SIMD exp) Q8_0 / Q4_0 comparisons fail by design: those builds differ
// from the x64 build, and from each other, in last bits that decide Q8_0 rounding steps, which then
// propagate through the KV cache (llama.cpp vs llama.cpp on these models: up to 0.88 for Q4_0, 0.11 for
// Q8_0, 6e-3 for F16).
const TOL_F32 = {maxAbs: 1e-4, argmax: 1.0};
const TOL_F16 = {maxAbs: 2e-2, argmax: 0.98};
const TOL_BF16 = {maxAbs: 2e-2, argmax: 0.98};
const TOL_Q = {maxAbs: 2e-2, argmax: 0.98};

// variant name -> make_tiny.py flags, tolerance. Every variant spells out the flags that matter
// (make_tiny.py defaults: plain attn_q, YaRN on, 2 shared experts, softmax, no groups).
// Model shape notes (llama.cpp 3.21.1 bundle):
//  - llama.cpp decides "lite" (plain attn_q) by n_layer: for n_layer in {26, 27} it never reads
//    attention.q_lora_rank and requires attn_q; for other n_layer the q_lora_rank key is REQUIRED and
//    must be > 0 (make_tiny omits the key for plain attn_q, like the HF converter). So plain attn_q
//    variants use 26/27 layers and q-LoRA variants use the default 3 layers.
//  - group-limited routing needs 1 < groups_used < groups (GGML_ASSERT abort otherwise) and >= 2
//    experts per group (group score = sum of the top-2 expert scores).
const Q = ["--q-lora-rank", "24"];
const K256 = ["--hidden", "256", "--q-lora-rank", "256", "--kv-lora-rank", "256", "--v-head", "64", "--ff", "256",
    "--expert-ff", "256"];
const VARIANTS = [
    // attention generation x q path
    {name: "f32-legacy",         flags: ["--gen", "legacy", "--dtype", "f32", ...Q, "--no-yarn"], tol: TOL_F32},
    {name: "f32-mla",            flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--no-yarn"], tol: TOL_F32},
    {name: "f32-legacy-noqlora", flags: ["--gen", "legacy", "--dtype", "f32", "--q-lora-rank", "0", "--layers", "27", "--no-yarn"], tol: TOL_F32},
    {name: "f32-mla-noqlora",    flags: ["--gen", "mla", "--dtype", "f32", "--q-lora-rank", "0", "--layers", "26", "--no-yarn"], tol: TOL_F32},
    // routing
    {name: "f32-sigmoid-bias",   flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--no-yarn", "--gating", "sigmoid", "--exp-probs-b"], tol: TOL_F32},
    {name: "f32-groups",         flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--no-yarn", "--groups", "4", "--groups-used", "2"], tol: TOL_F32},
    {name: "f32-v3-routing",     flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--no-yarn", "--gating", "sigmoid", "--exp-probs-b",
        "--groups", "4", "--groups-used", "2", "--weights-norm", "--weights-scale", "2.5"], tol: TOL_F32},
    // rope / shared experts
    {name: "f32-yarn",           flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--yarn"], tol: TOL_F32},
    {name: "f32-legacy-yarn",    flags: ["--gen", "legacy", "--dtype", "f32", ...Q, "--yarn"], tol: TOL_F32},
    {name: "f32-shared1",        flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--no-yarn", "--shared", "1"], tol: TOL_F32},
    {name: "f32-shared2",        flags: ["--gen", "mla", "--dtype", "f32", ...Q, "--no-yarn", "--shared", "2"], tol: TOL_F32},
    // V2-Lite-like: plain attn_q, 27 layers, YaRN, 2 shared, softmax greedy
    {name: "f32-lite",           flags: ["--gen", "mla", "--dtype", "f32", "--q-lora-rank", "0", "--layers", "27", "--yarn"], tol: TOL_F32},
    // weight types. q-LoRA rank 24 (legacy): attn_q_b has ne0 = 24, not a multiple of 32, so quantized
    // files keep it F16 (llama.cpp's fallback rule) -> mixed-type model; rank 64 (mla): all quantized.
    {name: "f16-legacy",         flags: ["--gen", "legacy", "--dtype", "f16", ...Q, "--yarn"], tol: TOL_F16},
    {name: "f16-mla",            flags: ["--gen", "mla", "--dtype", "f16", ...Q, "--yarn"], tol: TOL_F16},
    {name: "bf16-legacy",        flags: ["--gen", "legacy", "--dtype", "bf16", ...Q, "--yarn"], tol: TOL_BF16},
    {name: "bf16-mla",           flags: ["--gen", "mla", "--dtype", "bf16", ...Q, "--yarn"], tol: TOL_BF16},
    {name: "q8_0-legacy",        flags: ["--gen", "legacy", "--dtype", "q8_0", ...Q, "--yarn"], tol: TOL_Q},
    {name: "q8_0-mla",           flags: ["--gen", "mla", "--dtype", "q8_0", "--q-lora-rank", "64", "--yarn"], tol: TOL_Q},
    {name: "q4_0-legacy",        flags: ["--gen", "legacy", "--dtype", "q4_0", ...Q, "--yarn"], tol: TOL_Q},
    {name: "q4_0-mla",           flags: ["--gen", "mla", "--dtype", "q4_0", "--q-lora-rank", "64", "--yarn"], tol: TOL_Q},
    // the other types of real V2-family GGUFs (models/quants.py encoders). K-quants / IQ4_XS need ne0 % 256 == 0,
    // hence hidden = kv_lora_rank = q_lora_rank = H*dv = ff = expert_ff = 256; attn_k_b (ne0 = qk_nope = 32)
    // takes llama-quantize's fallback (Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, Q2_K/Q3_K->Q4_0, IQ4_XS->IQ4_NL).
    {name: "q4_1-mla",           flags: ["--gen", "mla", "--dtype", "q4_1", "--q-lora-rank", "64", "--yarn"], tol: TOL_Q},
    {name: "q5_0-mla",           flags: ["--gen", "mla", "--dtype", "q5_0", "--q-lora-rank", "64", "--yarn"], tol: TOL_Q},
    {name: "q5_1-legacy",        flags: ["--gen", "legacy", "--dtype", "q5_1", "--q-lora-rank", "64", "--yarn"], tol: TOL_Q},
    {name: "iq4_nl-mla",         flags: ["--gen", "mla", "--dtype", "iq4_nl", "--q-lora-rank", "64", "--yarn"], tol: TOL_Q},
    {name: "q2_k-mla",           flags: ["--gen", "mla", "--dtype", "q2_k", ...K256, "--yarn"], tol: TOL_Q},
    {name: "q3_k-mla",           flags: ["--gen", "mla", "--dtype", "q3_k", ...K256, "--yarn"], tol: TOL_Q},
    {name: "q4_k-mla",           flags: ["--gen", "mla", "--dtype", "q4_k", ...K256, "--yarn"], tol: TOL_Q},
    {name: "q4_k-legacy",        flags: ["--gen", "legacy", "--dtype", "q4_k", ...K256, "--yarn"], tol: TOL_Q},
    {name: "q5_k-mla",           flags: ["--gen", "mla", "--dtype", "q5_k", ...K256, "--yarn"], tol: TOL_Q},
    {name: "q6_k-mla",           flags: ["--gen", "mla", "--dtype", "q6_k", ...K256, "--yarn"], tol: TOL_Q},
    {name: "iq4_xs-mla",         flags: ["--gen", "mla", "--dtype", "iq4_xs", ...K256, "--yarn"], tol: TOL_Q},
    // "Q4_K_M"-like mixture (make_tiny.py q4_k_m_type): Q4_K, Q6_K on output / attn_v_b / ffn_down* of the
    // use_more_bits layers, and V2-Lite-style fallbacks: expert_ff = 96 and ff = 352 are not multiples of 256,
    // so ffn_down(_exps) become Q5_0 / Q8_0, attn_k_b Q5_0 (ne0 = 32).
    {name: "q4_k_m-mla",         flags: ["--gen", "mla", "--dtype", "q4_k_m", "--hidden", "256", "--q-lora-rank", "256",
        "--kv-lora-rank", "256", "--v-head", "64", "--ff", "352", "--expert-ff", "96", "--yarn"], tol: TOL_Q},
].map((v) => ({nTokens: 128, modelSeed: fnv1a(v.name) % 100000, tokenSeed: fnv1a("tokens:" + v.name), ...v}));

// Seeds derive from the variant name, so adding or reordering variants changes no existing test.
function fnv1a(str) {
    let h = 0x811c9dc5;
    for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193) >>> 0;
    return h;
}

// ---------------------------------------------------------------------------------------------
function usage(msg) {
    if (msg) process.stderr.write(`compare: ${msg}\n`);
    process.stderr.write(
        "usage: node tests/oracle/compare.mjs --ds2 <ds2 CLI> [--python /usr/bin/python3] --variant <name>\n" +
        "         [--workdir DIR] [--against llama|reference] [--threads N] [--keep] [--verbose]\n" +
        "         [--cpu-variant x64|auto|<name>]   (llama.cpp CPU backend; default: llama_logprobs.mjs's, x64)\n" +
        "         [--model-seed N] [--token-seed N] [--tokens-n N]   (override the variant's seeds / length)\n" +
        "       node tests/oracle/compare.mjs --list\n");
    process.exit(2);
}

function parseArgs(argv) {
    const a = {python: "/usr/bin/python3", against: "llama", threads: 0, keep: false, verbose: false, list: false};
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) usage(`missing value for ${k}`);
            return argv[++i];
        };
        if (k === "--ds2") a.ds2 = next();
        else if (k === "--python") a.python = next();
        else if (k === "--variant") a.variant = next();
        else if (k === "--workdir") a.workdir = next();
        else if (k === "--against") a.against = next();
        else if (k === "--threads") a.threads = Number.parseInt(next(), 10);
        else if (k === "--cpu-variant") a.cpuVariant = next();
        else if (k === "--keep") a.keep = true;
        else if (k === "--model-seed") a.modelSeed = Number.parseInt(next(), 10);
        else if (k === "--token-seed") a.tokenSeed = Number.parseInt(next(), 10);
        else if (k === "--tokens-n") a.nTokens = Number.parseInt(next(), 10);
        else if (k === "--verbose" || k === "-v") a.verbose = true;
        else if (k === "--list") a.list = true;
        else if (k === "--help" || k === "-h") usage();
        else usage(`unknown argument ${k}`);
    }
    if (a.list) return a;
    if (!a.ds2 || !a.variant) usage("--ds2 and --variant are required");
    if (a.against !== "llama" && a.against !== "reference") usage("--against must be llama or reference");
    return a;
}

// ---------------------------------------------------------------------------------------------
// Minimal GGUF metadata reader (header + KV section only) to find the vocabulary and special ids.
function readGgufKv(file) {
    const fd = fs.openSync(file, "r");
    let buf = Buffer.alloc(0);
    let filePos = 0;
    const ensure = (pos, n) => {
        while (pos + n > buf.length) {
            const chunk = Buffer.alloc(Math.max(1 << 20, n));
            const got = fs.readSync(fd, chunk, 0, chunk.length, filePos);
            if (got <= 0) throw new Error(`${file}: unexpected end of file in GGUF header`);
            filePos += got;
            buf = Buffer.concat([buf, chunk.subarray(0, got)]);
        }
    };
    let p = 0;
    const u32 = () => { ensure(p, 4); const v = buf.readUInt32LE(p); p += 4; return v; };
    const i32 = () => { ensure(p, 4); const v = buf.readInt32LE(p); p += 4; return v; };
    const u64 = () => { ensure(p, 8); const v = buf.readBigUInt64LE(p); p += 8; return Number(v); };
    const str = () => { const n = u64(); ensure(p, n); const s = buf.toString("utf8", p, p + n); p += n; return s; };
    const scalar = (t) => {
        switch (t) {
            case 0: ensure(p, 1); return buf.readUInt8(p++);
            case 1: ensure(p, 1); return buf.readInt8(p++);
            case 2: { ensure(p, 2); const v = buf.readUInt16LE(p); p += 2; return v; }
            case 3: { ensure(p, 2); const v = buf.readInt16LE(p); p += 2; return v; }
            case 4: return u32();
            case 5: return i32();
            case 6: { ensure(p, 4); const v = buf.readFloatLE(p); p += 4; return v; }
            case 7: ensure(p, 1); return buf.readUInt8(p++) !== 0;
            case 8: return str();
            case 10: return u64();
            case 11: { ensure(p, 8); const v = buf.readBigInt64LE(p); p += 8; return Number(v); }
            case 12: { ensure(p, 8); const v = buf.readDoubleLE(p); p += 8; return v; }
            default: throw new Error(`${file}: bad GGUF value type ${t}`);
        }
    };
    const value = (t) => {
        if (t !== 9) return scalar(t);
        const et = i32();
        const n = u64();
        const arr = new Array(n);
        for (let i = 0; i < n; i++) arr[i] = value(et);
        return arr;
    };
    try {
        ensure(0, 24);
        if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error(`${file}: not a GGUF file`);
        p = 4;
        u32(); // version
        u64(); // n_tensors
        const nKv = u64();
        const kv = new Map();
        for (let i = 0; i < nKv; i++) {
            const key = str();
            kv.set(key, value(i32()));
        }
        return kv;
    } finally {
        fs.closeSync(fd);
    }
}

// Deterministic PRNG (mulberry32) so token sequences are reproducible everywhere.
function mulberry32(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6D2B79F5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function pickTokens(kv, n, seed) {
    const tokens = kv.get("tokenizer.ggml.tokens");
    const arch = kv.get("general.architecture");
    const nVocab = tokens ? tokens.length : kv.get(`${arch}.vocab_size`);
    if (!nVocab) throw new Error("model has no tokenizer.ggml.tokens / vocab_size");
    const types = kv.get("tokenizer.ggml.token_type");
    const special = new Set();
    for (const k of ["bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask"]) {
        const id = kv.get(`tokenizer.ggml.${k}_token_id`);
        if (id != null) special.add(id);
    }
    const allowed = [];
    for (let id = 0; id < nVocab; id++) {
        if (special.has(id)) continue;
        if (types && types[id] !== 1 && types[id] !== 6) continue; // NORMAL or BYTE only
        allowed.push(id);
    }
    if (allowed.length < 2) throw new Error("model has fewer than 2 normal tokens");
    const rnd = mulberry32(seed);
    const out = [];
    for (let i = 0; i < n; i++) out.push(allowed[Math.floor(rnd() * allowed.length)]);
    return {tokens: out, nVocab};
}

// ---------------------------------------------------------------------------------------------
function run(cmd, argv, {verbose, label}) {
    const t0 = performance.now();
    if (verbose) process.stderr.write(`compare: $ ${[cmd, ...argv].join(" ")}\n`);
    const r = spawnSync(cmd, argv, {encoding: "utf8", maxBuffer: 64 << 20});
    const secs = (performance.now() - t0) / 1000;
    if (r.error) throw new Error(`${label}: cannot run ${cmd}: ${r.error.message}`);
    if (verbose || r.status !== 0) {
        if (r.stdout) process.stderr.write(r.stdout.replace(/^/gm, `  [${label}] `));
        if (r.stderr) process.stderr.write(r.stderr.replace(/^/gm, `  [${label}] `));
    }
    if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status ?? r.signal}): ${[cmd, ...argv].join(" ")}`);
    return {secs, stdout: r.stdout, stderr: r.stderr};
}

function readF32(file, rows, cols, label) {
    const b = fs.readFileSync(file);
    if (b.length !== rows * cols * 4) {
        throw new Error(`${label}: ${file} has ${b.length} bytes, expected ${rows}x${cols} float32 = ${rows * cols * 4}`);
    }
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows * cols; i++) out[i] = b.readFloatLE(4 * i);
    return out;
}

// log_softmax of each row, in float64.
function logSoftmaxRows(x, rows, cols) {
    const out = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let m = -Infinity;
        for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
        let s = 0;
        for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
        const lse = m + Math.log(s);
        for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
    }
    return out;
}

function argmaxRow(x, o, cols) {
    let best = 0;
    for (let j = 1; j < cols; j++) if (x[o + j] > x[o + best]) best = j;
    return best;
}

// oracle, test: log-probs (float64 arrays), rows x cols.
function compareLogProbs(oracle, test, rows, cols) {
    let maxAbs = 0, maxPos = -1, maxTok = -1, sumAbs = 0, nonFinite = 0;
    let agree = 0, ties = 0, klSum = 0, klMax = 0;
    const mismatches = [];
    const posMax = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let kl = 0;
        for (let j = 0; j < cols; j++) {
            const a = oracle[o + j], b = test[o + j];
            if (!Number.isFinite(a) || !Number.isFinite(b)) {
                if (!(a === b)) nonFinite++;
                continue;
            }
            const d = Math.abs(a - b);
            sumAbs += d;
            kl += Math.exp(a) * (a - b);
            if (d > posMax[r]) posMax[r] = d;
            if (d > maxAbs) { maxAbs = d; maxPos = r; maxTok = j; }
        }
        kl = Math.max(kl, 0);
        klSum += kl;
        if (kl > klMax) klMax = kl;
        const ia = argmaxRow(oracle, o, cols), ib = argmaxRow(test, o, cols);
        if (ia === ib) agree++;
        else if (Math.abs(oracle[o + ia] - oracle[o + ib]) < TIE_EPS) { agree++; ties++; }
        else mismatches.push({pos: r, oracle: ia, test: ib, gap: oracle[o + ia] - oracle[o + ib]});
    }
    const sorted = Array.from(posMax).sort((x, y) => x - y);
    const quant = (q) => sorted[Math.min(rows - 1, Math.floor(q * rows))];
    // first position whose max |d log p| exceeds 1e-4 (where two computations start to diverge)
    let firstDiverge = -1;
    for (let r = 0; r < rows; r++) if (posMax[r] > 1e-4) { firstDiverge = r; break; }
    return {
        maxAbs, maxPos, maxTok, meanAbs: sumAbs / (rows * cols), nonFinite,
        p50: quant(0.5), p90: quant(0.9), klMean: klSum / rows, klMax, firstDiverge,
        argmaxAgree: agree / rows, ties, mismatches,
    };
}

// Exit code when the llama.cpp oracle is not installed (ctest: SKIP_RETURN_CODE 77).
const SKIP_CODE = 77;

function oracleInstalled() {
    try {
        // resolve from the repository root, like llama_logprobs.mjs's import does
        const req = createRequire(path.join(ROOT, "package.json"));
        req.resolve("node-llama-cpp");
        return true;
    } catch {
        return false;
    }
}

// ---------------------------------------------------------------------------------------------
function main() {
    const args = parseArgs(process.argv.slice(2));
    if (args.list) {
        for (const v of VARIANTS) process.stdout.write(v.name + "\n");
        return 0;
    }
    const base = VARIANTS.find((x) => x.name === args.variant);
    if (!base) usage(`unknown variant "${args.variant}" (see --list)`);
    const v = {...base};
    if (Number.isInteger(args.modelSeed)) v.modelSeed = args.modelSeed;
    if (Number.isInteger(args.tokenSeed)) v.tokenSeed = args.tokenSeed;
    if (Number.isInteger(args.nTokens) && args.nTokens > 0) v.nTokens = args.nTokens;

    if (args.against === "llama" && !oracleInstalled()) {
        process.stdout.write(`SKIP ${v.name}: node-llama-cpp is not installed (run \`npm ci\` in ${ROOT})\n`);
        return SKIP_CODE;
    }
    if (!fs.existsSync(args.ds2)) usage(`--ds2 ${args.ds2} does not exist`);

    const tmpOwned = !args.workdir;
    const work = args.workdir
        ? path.resolve(args.workdir, v.name)
        : fs.mkdtempSync(path.join(os.tmpdir(), `ds2-compare-${v.name}-`));
    fs.mkdirSync(work, {recursive: true});
    const opt = {verbose: args.verbose};

    try {
        // 1. model
        const model = path.join(work, "model.gguf");
        const mk = run(args.python, [path.join(ROOT, "models", "make_tiny.py"), ...v.flags,
            "--seed", String(v.modelSeed), "--out", model], {...opt, label: "make_tiny"});

        // 2. tokens
        const kv = readGgufKv(model);
        const {tokens, nVocab} = pickTokens(kv, v.nTokens, v.tokenSeed);
        const tokStr = tokens.join(",");
        fs.writeFileSync(path.join(work, "tokens.txt"), tokStr + "\n");
        const n = tokens.length;

        // 3. oracle
        let oracle, oracleSecs, oracleName;
        if (args.against === "llama") {
            oracleName = "llama.cpp";
            const lp = path.join(work, "llama_logprobs.f32");
            const av = [path.join(HERE, "llama_logprobs.mjs"), "--model", model, "--tokens", tokStr, "--out", lp];
            if (args.threads > 0) av.push("--threads", String(args.threads));
            if (args.cpuVariant) av.push("--cpu-variant", args.cpuVariant);
            const r = run(process.execPath, av, {...opt, label: "llama"});
            oracleSecs = r.secs;
            const f = readF32(lp, n, nVocab, "llama");
            oracle = Float64Array.from(f);
        } else {
            oracleName = "reference.py";
            const lg = path.join(work, "reference_logits.f32");
            const r = run(args.python, [path.join(ROOT, "models", "reference.py"), "--model", model,
                "--tokens", tokStr, "--out", lg], {...opt, label: "reference"});
            oracleSecs = r.secs;
            oracle = logSoftmaxRows(readF32(lg, n, nVocab, "reference"), n, nVocab);
        }

        // 4. engine
        const el = path.join(work, "ds2_logits.f32");
        const dr = run(args.ds2, ["eval", "-m", model, "--tokens", tokStr, "--logits", el], {...opt, label: "ds2"});
        const test = logSoftmaxRows(readF32(el, n, nVocab, "ds2"), n, nVocab);

        // 5. compare
        const c = compareLogProbs(oracle, test, n, nVocab);
        const t = v.tol;
        const checks = [
            ["max |d log p|", c.maxAbs, t.maxAbs, "le"],
            ["mean |d log p|", c.meanAbs, t.meanAbs, "le"],
            ["p90 per-position max |d log p|", c.p90, t.p90, "le"],
            ["mean KL", c.klMean, t.klMean, "le"],
            ["argmax agreement", c.argmaxAgree, t.argmax, "ge"],
        ];
        const failed = checks.filter(([, val, lim, how]) => lim != null && !(how === "le" ? val <= lim : val >= lim));
        const ok = c.nonFinite === 0 && failed.length === 0;
        const pct = (x) => (100 * x).toFixed(2) + "%";
        const lim = (x, f = (y) => y) => (x == null ? "" : `; tol ${f(x)}`);
        process.stdout.write(
            `variant ${v.name} (${v.flags.join(" ")}; model seed ${v.modelSeed}, token seed ${v.tokenSeed}) ` +
            `vs ${oracleName}: positions=${n} vocab=${nVocab}\n` +
            `  max |d log p| = ${c.maxAbs.toExponential(3)} (pos ${c.maxPos}, token ${c.maxTok}${lim(t.maxAbs)})\n` +
            `  mean |d log p| = ${c.meanAbs.toExponential(3)}${lim(t.meanAbs)}\n` +
            `  per-position max |d log p|: median ${c.p50.toExponential(2)}, p90 ${c.p90.toExponential(2)}` +
            `${lim(t.p90)}; first position > 1e-4: ${c.firstDiverge < 0 ? "none" : c.firstDiverge}\n` +
            `  KL(oracle||ds2) per position: mean ${c.klMean.toExponential(2)}, max ${c.klMax.toExponential(2)}` +
            `${lim(t.klMean)}\n` +
            `  argmax agreement = ${pct(c.argmaxAgree)} (${Math.round(c.argmaxAgree * n)}/${n}` +
            `${c.ties ? `, ${c.ties} float32 ties` : ""}${lim(t.argmax, pct)})\n` +
            (c.nonFinite ? `  non-finite mismatches = ${c.nonFinite}\n` : "") +
            `  time: make_tiny ${mk.secs.toFixed(2)}s, ${oracleName} ${oracleSecs.toFixed(2)}s, ds2 ${dr.secs.toFixed(2)}s\n`);
        for (const [name] of failed) process.stdout.write(`  out of tolerance: ${name}\n`);
        for (const m of c.mismatches.slice(0, 5)) {
            process.stdout.write(`  argmax mismatch at pos ${m.pos}: oracle ${m.oracle}, ds2 ${m.test} ` +
                `(oracle gap ${m.gap.toExponential(2)})\n`);
        }
        process.stdout.write(`${ok ? "PASS" : "FAIL"} ${v.name}\n`);
        if (!ok && tmpOwned) process.stdout.write(`  (files kept in ${work})\n`);
        if (ok && tmpOwned && !args.keep) fs.rmSync(work, {recursive: true, force: true});
        return ok ? 0 : 1;
    } catch (err) {
        process.stderr.write(`compare: ERROR: ${err?.message ?? err}\n  (files kept in ${work})\n`);
        return 2;
    }
}

process.exitCode = main();
