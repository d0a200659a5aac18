#!/usr/bin/env node
// gen_status.mjs — writes wasm/status.js from the status table in src/status.h (DS2_STATUS_MAP), so JS names
// a C status exactly as C does (an Error's `code` is the C name) without calling into the module.
//   node wasm/gen_status.mjs           regenerate wasm/status.js
//   node wasm/gen_status.mjs --check   exit 1 if wasm/status.js is not what src/status.h gives (ctest runs this)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const header = fs.readFileSync(path.join(root, 'src/status.h'), 'utf8');
const out = path.join(root, 'wasm/status.js');

// X(NAME, "message") entries in order: the enum value is the index (status.h: codes are stable numbers).
const entries = [...header.matchAll(/X\((DS2_[A-Z0-9_]+),\s*"((?:[^"\\]|\\.)*)"\)/g)].map((m) => [m[1], JSON.parse(`"${m[2]}"`)]);
if (entries.length < 2 || entries[0][0] !== 'DS2_OK') {
  console.error('gen_status: could not read DS2_STATUS_MAP from src/status.h');
  process.exit(2);
}
const names = entries.map(([n]) => n);
if (new Set(names).size !== names.length) {
  console.error('gen_status: duplicate status name in src/status.h');
  process.exit(2);
}

const text = `// status.js — GENERATED from src/status.h by wasm/gen_status.mjs; do not edit (ctest checks it is current).
// The C status codes: index = the ds2_status value returned by the wasm exports.

/** Status names by code: STATUS_NAMES[code] is e.g. 'DS2_E_TRUNCATED'. */
export const STATUS_NAMES = Object.freeze(${JSON.stringify(names, null, 2)});

/** Default messages by code (the C calls usually give a more specific one). */
export const STATUS_MESSAGES = Object.freeze(${JSON.stringify(entries.map(([, m]) => m), null, 2)});

/** Code by name: Status.DS2_E_TRUNCATED. */
export const Status = Object.freeze({
${entries.map(([n], i) => `  ${n}: ${i},`).join('\n')}
});

/** The C name of a status code ('DS2_E_UNKNOWN(<code>)' for a code this table does not know). */
export function statusName(code) {
  return STATUS_NAMES[code] ?? \`DS2_E_UNKNOWN(\${code})\`;
}
`;

if (process.argv.includes('--check')) {
  const cur = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (cur !== text) {
    console.error('wasm/status.js is out of date with src/status.h: run `node wasm/gen_status.mjs` and commit it');
    process.exit(1);
  }
  console.log(`wasm/status.js matches src/status.h (${names.length} statuses)`);
} else {
  fs.writeFileSync(out, text);
  console.log(`wrote wasm/status.js (${names.length} statuses)`);
}
