#!/usr/bin/env node
// compare_llama.mjs — our tokenizer (`ds2 tokenize --jsonl`) against llama.cpp's (node-llama-cpp, pinned in
// package.json) on the same vocabulary-only GGUF and the same seeded corpus as compare_hf.mjs.
//
//   node compare_llama.mjs --ds2 build/release/ds2 --gguf vocab.gguf [--seed N] [--n N]
//
// Both with special tokens parsed (model.tokenize(text, true) vs `ds2 tokenize --jsonl`) and as plain text
// (model.tokenize(text, false) vs `--no-parse-special`); no BOS in either. Only valid UTF-8 strings are compared (a JS string cannot hold other bytes).
// Exit 0 = identical, 1 = a difference, 77 = node-llama-cpp or the GGUF missing (skip).
//
// --llm-ws-quirk: known llama.cpp divergence for the deepseek-llm regexes. llama.cpp runs regexes without
// Unicode categories through std::wregex after replacing every non-ASCII whitespace character by 0x0B (so that
// `\s` sees it); the explicit classes [\u3000-\u3002] and [\u0800-\u4E00] then no longer match U+1680,
// U+2000–U+200A, U+2028/9, U+202F, U+205F, U+3000. We follow the Hugging Face reference (compare_hf.mjs:
// identical), so with this flag a mismatch on a string containing one of those characters is counted as
// this known divergence, not a failure. Every other mismatch still fails.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import process from "node:process";
import {makeCorpus, isValidUtf8} from "./corpus.mjs";

const args = {seed: 20261129, n: 6000};
for (let i = 2; i < process.argv.length; i++) {
    const k = process.argv[i].replace(/^--/, "");
    if (k === "llm-ws-quirk") args[k] = true;
    else args[k] = process.argv[++i];
}
if (!args.ds2 || !args.gguf) { console.error("compare_llama: --ds2 and --gguf are required"); process.exit(2); }
if (!fs.existsSync(args.gguf)) { console.log(`compare_llama: ${args.gguf} missing — skipped`); process.exit(77); }
let nlc;
try {
    nlc = await import("node-llama-cpp");
} catch (e) {
    console.log("compare_llama: node-llama-cpp is not installed (npm ci) — skipped");
    process.exit(77);
}
const llama = await nlc.getLlama({gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
    progressLogs: false, logLevel: nlc.LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: args.gguf, vocabOnly: true});

const texts = makeCorpus(Number(args.seed), Number(args.n)).filter((c) => isValidUtf8(c.bytes))
    .map((c) => c.bytes.toString("utf8"));
function ds2(extra) {
    const r = spawnSync(args.ds2, ["tokenize", "-m", args.gguf, "--jsonl", ...extra],
        {input: texts.map((s) => JSON.stringify(s)).join("\n") + "\n", maxBuffer: 1 << 30, encoding: "utf8"});
    if (r.status !== 0) { console.error(`compare_llama: ds2 failed: ${r.stderr}`); process.exit(1); }
    return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}
const quirk = "llm-ws-quirk" in args;
const QUIRK_CHARS = /[\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/u;
let bad = 0, nTok = 0, known = 0;
// both modes: special tokens parsed (chat markup) and treated as plain text
for (const special of [true, false]) {
    const ours = ds2(special ? [] : ["--no-parse-special"]);
    for (let i = 0; i < texts.length; i++) {
        const want = Array.from(model.tokenize(texts[i], special));
        nTok += want.length;
        const got = ours[i] || [];
        if (want.length !== got.length || want.some((v, k) => v !== got[k])) {
            if (quirk && QUIRK_CHARS.test(texts[i])) { known++; continue; }
            if (bad++ < 12) {
                let k = 0;
                while (k < want.length && want[k] === got[k]) k++;
                console.log(`MISMATCH (special ${special}) #${i} ${JSON.stringify(texts[i]).slice(0, 300)}\n` +
                    `  first difference at ${k}: ours ${JSON.stringify(got.slice(k, k + 8))} ` +
                    `llama.cpp ${JSON.stringify(want.slice(k, k + 8))}`);
            }
        }
    }
}
console.log(`compare_llama: ${texts.length} strings x 2 modes (special tokens parsed / plain text), ${nTok} tokens, ${bad} mismatches` +
    (quirk ? `, ${known} known llama.cpp non-ASCII-whitespace divergences (deepseek-llm)` : ""));
await model.dispose();
process.exit(bad ? 1 : 0);
