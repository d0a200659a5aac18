// helpers.mjs — shared by the JS tests: tiny models (models/make_tiny.py), the native CLI as the reference,
// the wasm builds, and a local HTTP server whose misbehaviour each test chooses.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const PY = '/usr/bin/python3';
export const NATIVE = process.env.DS2_NATIVE || path.join(ROOT, 'build/release/ds2');
export const VARIANTS = ['simd-mt', 'simd', 'nosimd'];
// The builds a browser may be offered: also relaxed-mt, which runs only where relaxed SIMD works (Chromium;
// Node 20 only with --experimental-wasm-relaxed-simd, so the Node tests above leave it out).
export const BROWSER_VARIANTS = ['relaxed-mt', ...VARIANTS];

/** Folder holding ds2-<variant>.mjs: $DS2_WASM_DIR, or build/wasm-<variant>/ (scripts/build-wasm.sh). */
export function wasmDir(variant) {
    const cands = [process.env.DS2_WASM_DIR, path.join(ROOT, `build/wasm-${variant}`), path.join(ROOT, 'wasm/dist')];
    for (const d of cands) if (d && fs.existsSync(path.join(d, `ds2-${variant}.mjs`))) return d + path.sep;
    return null;
}

export function tmpdir(tag) { return fs.mkdtempSync(path.join(os.tmpdir(), `ds2js-${tag}-`)); }

/** A random deepseek2 GGUF from the project's own maker (cached per argument list within one run). */
const made = new Map();
export function makeModel(dir, name, args = []) {
    const key = args.join(' ');
    if (made.has(key)) return made.get(key);
    const out = path.join(dir, `${name}.gguf`);
    execFileSync(PY, [path.join(ROOT, 'models/make_tiny.py'), '--out', out, ...args], { stdio: 'pipe' });
    made.set(key, out);
    return out;
}

/** The native CLI's greedy continuation and every prompt position's logits: the reference. kv: the KV-cache type
 * (default f16, the JS API's; `ds2 eval` alone defaults to f32). */
export function nativeEval(model, ids, n, kv = 'f16') {
    const dir = tmpdir('native');
    const lp = path.join(dir, 'logits.f32');
    const out = execFileSync(NATIVE, ['eval', '-m', model, '--tokens', ids.join(','), '-n', String(n), '--logits', lp, '--kv', kv],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /^greedy:(.*)$/m.exec(out);
    const greedy = m ? m[1].trim().split(/\s+/).map(Number) : [];
    const buf = fs.readFileSync(lp);
    const logits = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
    fs.rmSync(dir, { recursive: true, force: true });
    return { greedy, logits };
}

export function maxAbsDiff(a, b) {
    if (a.length !== b.length) return Infinity;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
}

/**
 * A local static server for model files. Per request, `behave(req, res, file)` may take over (return true).
 * Serves Range requests (206) unless options.noRange.
 */
export async function serve(root, { noRange = false, behave, headers = {} } = {}) {
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        const file = path.join(root, decodeURIComponent(url.pathname));
        if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
            res.writeHead(404); res.end('not found'); return;
        }
        if (behave && behave(req, res, file)) return;
        const size = fs.statSync(file).size;
        const mime = file.endsWith('.wasm') ? 'application/wasm'
            : /\.(m?js)$/.test(file) ? 'text/javascript' : file.endsWith('.html') ? 'text/html' : 'application/octet-stream';
        const h = { 'Content-Type': mime, 'ETag': `"${size}"`, ...headers };
        const range = !noRange && /bytes=(\d+)-/.exec(req.headers.range || '');
        if (!noRange) h['Accept-Ranges'] = 'bytes';
        if (range) {
            const start = parseInt(range[1], 10);
            res.writeHead(206, { ...h, 'Content-Length': size - start, 'Content-Range': `bytes ${start}-${size - 1}/${size}` });
            fs.createReadStream(file, { start }).pipe(res);
        } else {
            res.writeHead(200, { ...h, 'Content-Length': size });
            fs.createReadStream(file).pipe(res);
        }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${server.address().port}`;
    return { base, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}
