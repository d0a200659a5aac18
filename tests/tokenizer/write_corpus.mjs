#!/usr/bin/env node
// write_corpus.mjs — the valid-UTF-8 strings of the seeded corpus, one blank-line-separated block each, as
// training text for a small BPE (tests/tokenizer/fixtures.sh):  node write_corpus.mjs [--seed N] [--n N]
import process from "node:process";
import {makeCorpus, isValidUtf8} from "./corpus.mjs";
const a = {seed: 7, n: 3000};
for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, "")] = Number(process.argv[i + 1]);
const out = makeCorpus(a.seed, a.n).filter((c) => isValidUtf8(c.bytes)).map((c) => c.bytes.toString("utf8"));
process.stdout.write(out.join("\n\n") + "\n");
