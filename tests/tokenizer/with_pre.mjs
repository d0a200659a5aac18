#!/usr/bin/env node
// with_pre.mjs IN.json NAME > OUT.json — a copy of a byte-level BPE tokenizer.json whose pre_tokenizer is the
// Split (Isolated) sequence llama.cpp names NAME (reference §5.2), written here from that list, so the Hugging
// Face reference can tokenize with a pre-tokenizer that no published tokenizer.json of ours carries
// (deepseek-coder). Only NAME = deepseek-coder is needed today.
import fs from "node:fs";
import process from "node:process";

const SETS = {
    "deepseek-coder": ["[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+", "\\p{N}"],
};
const [inPath, name] = process.argv.slice(2);
if (!inPath || !SETS[name]) {
    console.error(`usage: with_pre.mjs tokenizer.json (${Object.keys(SETS).join("|")})`);
    process.exit(2);
}
const tj = JSON.parse(fs.readFileSync(inPath, "utf8"));
tj.pre_tokenizer = {type: "Sequence", pretokenizers: SETS[name].map((r) => (
    {type: "Split", pattern: {Regex: r}, behavior: "Isolated", invert: false})).concat(
    [{type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false}])};
process.stdout.write(JSON.stringify(tj));
