#!/usr/bin/env node
// unicode_vs_js.mjs SOURCE_DIR — src/unicode_data.c (generated from Debian's UnicodeData.txt) against an
// independent implementation of the same properties: JavaScript's \p{L} \p{N} \p{P} \p{S} \p{M} (V8/ICU),
// for every code point U+0000..U+10FFFF.
// Allowed differences, counted and printed: code points unassigned in our table but assigned in ICU (ICU may
// carry a newer Unicode version than Debian's unicode-data). \s is compared with White_Space except for the
// two documented differences of ECMAScript's \s (U+FEFF is \s in JS, not White_Space; U+0085 the reverse).
// Exit 0 = agree, 1 = a real difference.
import fs from "node:fs";
import path from "node:path";
import process from "node:process";

const src = fs.readFileSync(path.join(process.argv[2] || ".", "src/unicode_data.c"), "utf8");
const body = src.slice(src.indexOf("ds2_unicode_runs["));
const runs = [...body.matchAll(/\{0x([0-9A-F]+), (\d+)\}/g)].map((m) => [parseInt(m[1], 16), Number(m[2])]);
const ours = new Uint8Array(0x110000);
for (let i = 0; i < runs.length; i++) {
    const end = i + 1 < runs.length ? runs[i + 1][0] : 0x110000;
    ours.fill(runs[i][1], runs[i][0], end);
}
const CLASSES = [[1, /\p{L}/u], [2, /\p{N}/u], [4, /\p{P}/u], [8, /\p{S}/u], [16, /\p{M}/u]];
let bad = 0, newer = 0;
for (let c = 0; c < 0x110000; c++) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const ch = String.fromCodePoint(c);
    let js = 0;
    for (const [f, re] of CLASSES) if (re.test(ch)) js |= f;
    if (/\s/u.test(ch) && c !== 0xFEFF) js |= 32;
    if (c === 0x85) js |= 32;
    if (js === ours[c]) continue;
    if ((ours[c] & ~32) === 0 && (js & 32) === (ours[c] & 32)) { newer++; continue; }
    if (bad++ < 20) console.log(`U+${c.toString(16).toUpperCase().padStart(4, "0")}: ours ${ours[c]}, JS ${js}`);
}
console.log(`unicode_vs_js: ${runs.length} runs; ${bad} differences; ${newer} code points assigned only in ICU ` +
    `(Unicode ${process.versions.unicode} vs the table's)`);
process.exit(bad ? 1 : 0);
