#!/usr/bin/env node
// compare_hf.mjs — our tokenizer (`ds2 tokenize --jsonl`) against the Hugging Face reference
// (@huggingface/tokenizers, the JS port of `tokenizers`) loading the same tokenizer.json, on a seeded corpus.
//
//   node compare_hf.mjs --ds2 build/release/ds2 --gguf vocab.gguf --tokenizer tokenizer.json
//                       [--tokenizer-config tokenizer_config.json] [--seed N] [--n N] [--corpus kinds]
//
// Checks, over every corpus string:
//  1. ids identical to the reference (special tokens parsed, no BOS — HF's add_special_tokens=false);
//  2. exact round trip: `ds2 detokenize --jsonl` of our ids gives the input bytes back (also invalid UTF-8);
//  3. the reference decodes our ids to the same text.
// Strings that are not valid UTF-8 cannot be given to a JS tokenizer; for them we check the round trip
// (2), and compare their lossy decoding (TextDecoder, U+FFFD) with the reference like any other string.
// Exit 0 = all identical, 1 = a difference (first ones printed), 77 = reference package not installed (skip).
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import process from "node:process";
import {makeCorpus, toJsonText, isValidUtf8} from "./corpus.mjs";

const args = {seed: 20261129, n: 6000};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["ds2", "gguf", "tokenizer"])
    if (!args[k]) { console.error(`compare_hf: --${k} is required`); process.exit(2); }

let Tokenizer;
try {
    ({Tokenizer} = await import("@huggingface/tokenizers"));
} catch (e) {
    console.log("compare_hf: @huggingface/tokenizers is not installed (npm ci) — skipped");
    process.exit(77);
}
if (!fs.existsSync(args.tokenizer)) {
    console.log(`compare_hf: ${args.tokenizer} missing — skipped`);
    process.exit(77);
}
const tj = JSON.parse(fs.readFileSync(args.tokenizer, "utf8"));
const tc = args["tokenizer-config"] ? JSON.parse(fs.readFileSync(args["tokenizer-config"], "utf8")) : {};
const ref = new Tokenizer(tj, tc);

const corpus = makeCorpus(Number(args.seed), Number(args.n));
// texts sent to ds2: every corpus entry, then the lossy decoding of each invalid one
const texts = corpus.map((c) => toJsonText(c.bytes));
const lossy = [];
corpus.forEach((c, i) => {
    if (!isValidUtf8(c.bytes)) lossy.push({i, text: new TextDecoder().decode(c.bytes)});
});
const all = texts.concat(lossy.map((l) => l.text));

function ds2(cmd, lines) {
    const r = spawnSync(args.ds2, [cmd, "-m", args.gguf, "--jsonl"], {input: lines.join("\n") + "\n",
        maxBuffer: 1 << 30, encoding: "utf8"});
    if (r.status !== 0) {
        console.error(`compare_hf: ds2 ${cmd} failed (${r.status}): ${r.stderr}`);
        process.exit(1);
    }
    const out = r.stdout.split("\n");
    out.pop();
    if (out.length !== lines.length) {
        console.error(`compare_hf: ds2 ${cmd} gave ${out.length} lines for ${lines.length}`);
        process.exit(1);
    }
    return out.map((l) => JSON.parse(l));
}

const t0 = Date.now();
const ours = ds2("tokenize", all.map((s) => JSON.stringify(s)));
const t1 = Date.now();
const back = ds2("detokenize", ours.map((ids) => JSON.stringify(ids)));

let bad = 0, nIds = 0, nTok = 0;
const show = (what, i, extra) => {
    if (bad++ < 12) console.log(`MISMATCH (${what}) #${i} [${i < corpus.length ? corpus[i].kind : "lossy"}] ` +
        `${JSON.stringify(all[i]).slice(0, 300)}\n  ${extra}`);
};
const byKind = {};
for (let i = 0; i < all.length; i++) {
    const kind = i < corpus.length ? corpus[i].kind : "lossy";
    byKind[kind] = (byKind[kind] || 0) + 1;
    nTok += ours[i].length;
    if (back[i] !== all[i]) show("round trip", i, `decoded ${JSON.stringify(back[i]).slice(0, 300)}`);
    if (i < corpus.length && !isValidUtf8(corpus[i].bytes)) continue; // no JS reference for raw bytes
    const want = ref.encode(all[i], {add_special_tokens: false}).ids;
    nIds++;
    if (want.length !== ours[i].length || want.some((v, k) => v !== ours[i][k])) {
        let k = 0;
        while (k < want.length && want[k] === ours[i][k]) k++;
        show("ids", i, `first difference at ${k}: ours ${JSON.stringify(ours[i].slice(k, k + 8))} ` +
            `ref ${JSON.stringify(want.slice(k, k + 8))}`);
        continue;
    }
    const dec = ours[i].length === 0 ? "" : ref.decode(ours[i], {skip_special_tokens: false, clean_up_tokenization_spaces: false});
    if (dec !== all[i]) show("reference decode", i, `ref decoded ${JSON.stringify(dec).slice(0, 300)}`);
}
console.log(`compare_hf: ${all.length} strings (${JSON.stringify(byKind)}), ${nTok} tokens; ` +
    `${nIds} compared with the reference, ${all.length} round trips; ds2 tokenize ${t1 - t0} ms; ` +
    `${bad} mismatches`);
process.exit(bad ? 1 : 0);
