#!/usr/bin/env node
// llama.cpp oracle: next-token log-probabilities for every position of a fixed token sequence.
//
//   node tests/oracle/llama_logprobs.mjs --model m.gguf --tokens 1,2,3,... --out lp.f32 [--threads N]
//
// Runs the token ids exactly as given (no BOS added, no tokenization) through llama.cpp, via the
// prebuilt CPU binaries of the exact-pinned npm package node-llama-cpp (see package.json), and
// writes positions x n_vocab little-endian float32 values: row i = log p(next token | tokens[0..i]).
//
// How the numbers are obtained (node-llama-cpp 3.21.1, llama.cpp tag v0.4.0):
//  - LlamaContextSequence.controlledEvaluate() with generateNext: {probabilities: true} on every
//    input token makes llama.cpp output logits for every position of one decode batch
//    (batchSize >= sequence length, so the whole sequence is a single llama_decode / ubatch).
//  - The addon (llama/addon/AddonContext.cpp, AddonSampleTokenWorker) takes the raw logits row of
//    the FULL vocabulary (AddonSampler::setTokenCandidates -> llama_get_logits_ith), runs the
//    sampler chain, and returns softmax(logits) computed in float32 (expf(l - max) / sum).
//    With the default sampling options (temperature 0) the chain is only the greedy sampler, which
//    selects a token but does not modify logits, and no top-k/top-p/min-p/temperature/penalty/bias
//    sampler is inserted. So the probabilities are the plain float32 softmax of the raw logits.
//  - node-llama-cpp exposes no raw-logits API. log(p) recovers logit - logsumexp(logits) to
//    float32 relative precision (~1e-7 absolute in log space) as long as p is a normal float32
//    (log p > -87.3). Below that p is denormal (precision degrades) and below ~-103.3 it is 0
//    (written as -Infinity). Such rows are counted and reported on stderr.
//  - The context uses an F32 KV cache (experimentalKvCacheKeyType/ValueType "F32"), flash attention
//    off, gpu off. Seed is irrelevant (greedy, no randomness).
//  - CPU variant (--cpu-variant, default x64 on x86-64): the package ships one ggml CPU backend per
//    instruction-set level (libggml-cpu-{x64,sse42,sandybridge,haswell,skylakex,icelake,zen4,...}.so)
//    and ggml normally loads the best one for the host. Their arithmetic differs in the last bits
//    (FMA lanes and tinyBLAS block sums in the AVX builds, SIMD exp, Q8_0 rounding ties), and with
//    F16/Q8_0-rounded activations such bits decide rounding steps that then propagate through the KV
//    cache: on the tiny test models the variants disagree with EACH OTHER by up to ~0.9 in log p for
//    Q4_0 and ~0.1 for Q8_0 (zen4 vs haswell vs sse42 vs x64, same model and tokens). Only the
//    baseline x64 build (SSE2, no FMA, no tinyBLAS) gives the same bits on every x86-64 host, so it
//    is the default. It is selected by loading that one backend before node-llama-cpp looks for
//    one (addon loadBackends(dir) on a directory holding only that variant); the loaded library is
//    then checked in /proc/self/maps. --cpu-variant auto keeps ggml's own choice. Within a variant
//    the results do not depend on the thread count or the batch size.

import fs from "node:fs";
import path from "node:path";
import process from "node:process";

function usage(msg) {
    if (msg) process.stderr.write(`llama_logprobs: ${msg}\n`);
    process.stderr.write(
        "usage: node tests/oracle/llama_logprobs.mjs --model m.gguf --tokens 1,2,3|@file --out lp.f32 " +
        "[--threads N] [--cpu-variant x64|auto|<name>] [--verbose]\n" +
        "  --tokens @file reads comma/whitespace separated ids from a file\n" +
        "  --cpu-variant: ggml CPU backend to load (default x64 on x86-64, else auto = ggml's pick)\n");
    process.exit(2);
}

function parseArgs(argv) {
    const args = {threads: 0, verbose: false, cpuVariant: process.arch === "x64" ? "x64" : "auto"};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) usage(`missing value for ${a}`);
            return argv[++i];
        };
        if (a === "--model" || a === "-m") args.model = next();
        else if (a === "--tokens") args.tokens = next();
        else if (a === "--out" || a === "-o") args.out = next();
        else if (a === "--threads" || a === "-t") args.threads = Number.parseInt(next(), 10);
        else if (a === "--cpu-variant") args.cpuVariant = next();
        else if (a === "--verbose" || a === "-v") args.verbose = true;
        else if (a === "--help" || a === "-h") usage();
        else usage(`unknown argument ${a}`);
    }
    if (!args.model || !args.tokens || !args.out) usage("--model, --tokens and --out are required");
    if (!Number.isInteger(args.threads) || args.threads < 0) usage("--threads must be a non-negative integer");
    if (!/^[A-Za-z0-9_.]+$/.test(args.cpuVariant)) usage(`bad --cpu-variant "${args.cpuVariant}"`);
    return args;
}

function parseTokens(spec) {
    const text = spec.startsWith("@") ? fs.readFileSync(spec.slice(1), "utf8") : spec;
    const parts = text.split(/[\s,]+/).filter((s) => s.length > 0);
    const ids = parts.map((s) => {
        if (!/^\d+$/.test(s)) usage(`bad token id "${s}"`);
        return Number.parseInt(s, 10);
    });
    if (ids.length === 0) usage("empty token list");
    return ids;
}

const args = parseArgs(process.argv.slice(2));
const tokens = parseTokens(args.tokens);
const t0 = performance.now();

// Pin the ggml CPU backend variant (see the header): load it from a directory that holds only that
// library, through the prebuilt addon itself, before node-llama-cpp loads the best one for the host.
// node-llama-cpp then finds a CPU backend already registered and loads no other.
let variantDir = null;
if (args.cpuVariant !== "auto") {
    const {createRequire} = await import("node:module");
    const os = await import("node:os");
    const req = createRequire(import.meta.url); // resolves like this script's import("node-llama-cpp")
    const plat = `${process.platform}-${process.arch}`;
    let binDir;
    try { // the platform package node-llama-cpp takes its prebuilt binaries from
        const {getBinsDir} = await import(`@node-llama-cpp/${plat}`);
        binDir = path.join(getBinsDir().binsDir, plat);
    } catch {
        usage(`--cpu-variant ${args.cpuVariant}: prebuilt package @node-llama-cpp/${plat} not found (use --cpu-variant auto)`);
    }
    const lib = path.join(binDir, `libggml-cpu-${args.cpuVariant}.so`);
    if (!fs.existsSync(lib)) usage(`--cpu-variant ${args.cpuVariant}: ${lib} not found`);
    variantDir = fs.mkdtempSync(path.join(os.tmpdir(), "ggml-cpu-variant-"));
    fs.symlinkSync(lib, path.join(variantDir, path.basename(lib)));
    const addon = req(path.join(binDir, "llama-addon.node"));
    addon.loadBackends(variantDir);
}

const {getLlama, LlamaLogLevel} = await import("node-llama-cpp");

// Capture llama.cpp's log lines: we print the selected CPU backend and keep the rest for errors.
const logLines = [];
let cpuBackend = null;
const llama = await getLlama({
    gpu: false,
    build: "never",            // never compile from source
    usePrebuiltBinaries: true, // use the @node-llama-cpp/<platform> npm optional dependency
    skipDownload: true,        // never fetch anything from the network
    progressLogs: false,
    logLevel: LlamaLogLevel.info,
    logger(level, message) {
        const m = /loaded CPU backend from (.*)/.exec(message);
        if (m) cpuBackend = path.basename(m[1].trim());
        logLines.push(`[${level}] ${message}`);
        // llama.cpp errors (e.g. "missing tensor ...") always go to stderr, as they arrive
        if (args.verbose || level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) {
            process.stderr.write(`[${level}] ${message.endsWith("\n") ? message : message + "\n"}`);
        }
    },
});

// Which ggml CPU backend variant the dynamic loader picked (libggml-cpu-<variant>.so).
function loadedCpuBackend() {
    try {
        const maps = fs.readFileSync("/proc/self/maps", "utf8");
        const m = /\/(libggml-cpu[^/\s]*\.(?:so|dylib|dll))\s*$/m.exec(maps);
        return m ? m[1] : null;
    } catch {
        return null;
    }
}

// The pinned variant must be the only ggml CPU backend in the process.
function checkCpuVariant() {
    if (args.cpuVariant === "auto") return;
    let libs = [];
    try {
        const maps = fs.readFileSync("/proc/self/maps", "utf8");
        libs = [...new Set([...maps.matchAll(/\/(libggml-cpu[^/\s]*\.so)\s*$/gm)].map((m) => m[1]))];
    } catch {
        return; // no /proc: cannot check
    }
    const want = `libggml-cpu-${args.cpuVariant}.so`;
    if (libs.length !== 1 || libs[0] !== want)
        throw new Error(`--cpu-variant ${args.cpuVariant}: loaded CPU backends are [${libs.join(", ")}], expected ${want}`);
}

let model, context;
try {
    checkCpuVariant();
    model = await llama.loadModel({
        modelPath: path.resolve(args.model),
        gpuLayers: 0,
        useMmap: false,
        checkTensors: true,
        ignoreMemorySafetyChecks: true,
    });

    const n = tokens.length;
    // KV cells: at least n; llama.cpp pads n_ctx internally. Batch = whole sequence (one ubatch).
    const contextSize = Math.max(256, Math.ceil((n + 1) / 256) * 256);
    context = await model.createContext({
        contextSize,
        batchSize: Math.max(n, 1),
        sequences: 1,
        flashAttention: false,
        experimentalKvCacheKeyType: "F32",
        experimentalKvCacheValueType: "F32",
        threads: args.threads > 0 ? args.threads : Math.max(1, llama.cpuMathCores),
        ignoreMemorySafetyChecks: true,
    });
    const seq = context.getSequence();

    const input = tokens.map((t) => [t, {generateNext: {probabilities: true}}]);
    const res = await seq.controlledEvaluate(input);

    let nVocab = -1;
    let out = null;
    let nZero = 0, nDenormal = 0;
    for (let i = 0; i < n; i++) {
        const probs = res[i]?.next?.probabilities;
        if (probs == null) throw new Error(`no probabilities returned for position ${i}`);
        if (nVocab < 0) {
            nVocab = probs.size;
            out = new Float32Array(n * nVocab);
        } else if (probs.size !== nVocab) {
            throw new Error(`position ${i}: probability map has ${probs.size} entries, expected ${nVocab}`);
        }
        const row = out.subarray(i * nVocab, (i + 1) * nVocab);
        row.fill(Number.NaN);
        for (const [tok, p] of probs) {
            if (!(tok >= 0 && tok < nVocab)) throw new Error(`position ${i}: token id ${tok} outside [0, ${nVocab})`);
            if (p === 0) nZero++;
            else if (p < 1.1754943508222875e-38) nDenormal++;
            row[tok] = Math.log(p);
        }
        for (let j = 0; j < nVocab; j++) {
            if (Number.isNaN(row[j])) throw new Error(`position ${i}: token ${j} missing from probability map`);
        }
    }

    fs.writeFileSync(args.out, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
    const secs = (performance.now() - t0) / 1000;
    const threads = context.currentThreads;
    cpuBackend ??= loadedCpuBackend();
    let summary = `llama_logprobs: positions=${n} vocab=${nVocab} time=${secs.toFixed(2)}s ` +
        `backend=${cpuBackend ?? "unknown"} threads=${threads} out=${args.out}`;
    if (nZero || nDenormal) summary += ` WARNING: ${nZero} zero (-inf) and ${nDenormal} denormal probabilities`;
    process.stderr.write(summary + "\n");
} catch (err) {
    // log lines are delivered asynchronously: give late ones (the actual error message) a moment
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (!args.verbose) {
        const lines = logLines.filter((l) => !/^\[info\] \.?\s*$/.test(l)).slice(-30);
        for (const line of lines) process.stderr.write(line.endsWith("\n") ? line : line + "\n");
    }
    process.stderr.write(`llama_logprobs: FAILED: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
} finally {
    await context?.dispose();
    await model?.dispose();
    await llama.dispose();
    if (variantDir) fs.rmSync(variantDir, {recursive: true, force: true});
}
