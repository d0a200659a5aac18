#!/usr/bin/env node
// serve.mjs — the demo's run command: `node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--model x.gguf]`
//
// 1. builds what is missing: the wasm builds in wasm/dist/ (scripts/build-wasm.sh, Debian's emscripten);
// 2. picks the bundled model: --model, else the first models/*.gguf, else a tiny random deepseek2 model made
//    by models/make_tiny.py into build/demo/ (the page says it is random: it produces gibberish);
// 3. serves the page with the headers threads need (COOP: same-origin, COEP: require-corp → the page is
//    cross-origin isolated, SharedArrayBuffer works, the SIMD + threads build runs), the right MIME types
//    (application/wasm, text/javascript), Range requests for models (resumed/re-fetched chunks), and
//    `Service-Worker-Allowed: /` so web/sw.js can control the whole page; prints the URL.
//
// Only the page's own folders are served (index.html, web/, wasm/, models/): not the rest of the checkout.
// Also a module: startDemoServer() is what tests/browser/demo.test.mjs runs.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILDS = ['relaxed-mt', 'simd-mt', 'simd', 'nosimd'];

const MIME = {
    '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
    '.gguf': 'application/octet-stream', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
    '.md': 'text/plain; charset=utf-8',
};

/** Builds the wasm variants that wasm/dist/ lacks. Returns the list still missing (e.g. no emscripten). */
export function ensureWasm({ quiet = false } = {}) {
    const missing = () => BUILDS.filter((b) => !wasmFile(`ds2-${b}.mjs`));
    const need = missing();
    if (need.length) {
        if (!quiet) console.log(`serve: building the wasm builds that are missing: ${need.join(' ')} (a few minutes)`);
        if (!quiet && !hasCommand('emcc')) {
            console.log('serve: emscripten is not installed: running scripts/setup.sh first');
            try { execFileSync('sh', [path.join(ROOT, 'scripts/setup.sh')], { cwd: ROOT, stdio: 'inherit' }); } catch { /* reported below */ }
        }
        try {
            execFileSync('sh', [path.join(ROOT, 'scripts/build-wasm.sh'), ...need],
                { cwd: ROOT, stdio: quiet ? 'pipe' : 'inherit' });
        } catch (e) {
            if (!quiet) console.error(`serve: building wasm failed (${e.message.split('\n')[0]}); run scripts/setup.sh (installs emscripten)`);
        }
    }
    return missing();
}

function hasCommand(c) {
    try { execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'pipe' }); return true; } catch { return false; }
}

/** A file of the wasm builds: wasm/dist/ (what ships), else the build folders scripts/build-wasm.sh fills. */
export function wasmFile(name) {
    for (const d of ['wasm/dist', ...BUILDS.map((b) => `build/wasm-${b}`)]) {
        const f = path.join(ROOT, d, name);
        if (fs.existsSync(f)) return f;
    }
    return null;
}

/** The bundled model: {file, name, random, note}. */
export function pickModel(explicit) {
    if (explicit) return { file: path.resolve(explicit), name: path.basename(explicit), random: false, note: '' };
    const dir = path.join(ROOT, 'models');
    const found = fs.readdirSync(dir).filter((f) => f.endsWith('.gguf')).sort();
    if (found.length) return { file: path.join(dir, found[0]), name: found[0], random: false, note: '' };
    const out = path.join(ROOT, 'build/demo/tiny-random-deepseek2.gguf');
    if (!fs.existsSync(out)) {
        fs.mkdirSync(path.dirname(out), { recursive: true });
        execFileSync('/usr/bin/python3', [path.join(ROOT, 'models/make_tiny.py'), '--out', out, '--seed', '1',
            '--dtype', 'q8_0', '--layers', '4', '--hidden', '128', '--experts', '16', '--experts-used', '4',
            '--vocab', '512', '--name', 'tiny-random-deepseek2'], { stdio: 'pipe' });
    }
    return { file: out, name: path.basename(out), random: true,
        note: 'No trained model is bundled yet: this is a tiny random deepseek2 model made by models/make_tiny.py. ' +
            'It runs the real engine, but its text is gibberish.' };
}

/**
 * Starts the server. `model`: the bundled model ({file, name, random, note}); `isolate` (default true) sends
 * COOP/COEP. Returns {url, server, close, log} — log records each request (method, path, range, status).
 * `intercept(req, res, file, headers, logEntry)` (tests) may answer a request itself and return true.
 */
export async function startDemoServer({ port = 8080, host = '127.0.0.1', model = pickModel(), isolate = true, intercept = null } = {}) {
    const log = [];
    const modelUrl = `/models/${encodeURIComponent(model.name)}`;
    const bundled = JSON.stringify({ models: [{ name: model.name, url: `models/${encodeURIComponent(model.name)}`,
        size: fs.statSync(model.file).size, random: model.random, note: model.note }] });
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        let p;
        try { p = decodeURIComponent(url.pathname); } catch { p = '/'; }
        const headers = { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
        if (isolate) {
            headers['Cross-Origin-Opener-Policy'] = 'same-origin';
            headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
            headers['Cross-Origin-Resource-Policy'] = 'same-origin';
        }
        const entry = { method: req.method, path: url.pathname, range: req.headers.range || null, status: 0 };
        log.push(entry);
        const send = (status, body, type = 'text/plain; charset=utf-8') => {
            entry.status = status;
            res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
            res.end(req.method === 'HEAD' ? undefined : body);
        };
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
        if (p === '/models/bundled.json') return send(200, bundled, 'application/json');
        let file;
        if (url.pathname === modelUrl) file = model.file;
        else if (/^\/wasm\/dist\/[^/]+$/.test(p)) file = wasmFile(path.basename(p)) || path.join(ROOT, p);
        else {
            if (p === '/') p = '/index.html';
            const ok = p === '/index.html' || /^\/(web|wasm|models)\//.test(p);
            file = path.resolve(ROOT, '.' + p);
            if (!ok || !file.startsWith(ROOT + path.sep)) return send(404, 'not found');
        }
        let st;
        try { st = fs.statSync(file); } catch { st = null; }
        if (!st || !st.isFile()) return send(404, `not found: ${url.pathname}`);
        if (p.endsWith('/sw.js')) headers['Service-Worker-Allowed'] = '/';
        // tests: misbehave on purpose (cut a download short…); returns true when it answered
        if (intercept && intercept(req, res, file, headers, entry)) return;
        headers['Content-Type'] = MIME[path.extname(file)] || 'application/octet-stream';
        headers['Accept-Ranges'] = 'bytes';
        headers['ETag'] = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
        headers['Last-Modified'] = st.mtime.toUTCString();
        const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
        const ifRange = req.headers['if-range'];
        if (m && (!ifRange || ifRange === headers['ETag'] || ifRange === headers['Last-Modified'])) {
            const start = parseInt(m[1], 10), end = m[2] ? Math.min(parseInt(m[2], 10), st.size - 1) : st.size - 1;
            if (start >= st.size || end < start) {
                entry.status = 416;
                res.writeHead(416, { ...headers, 'Content-Range': `bytes */${st.size}` });
                return res.end();
            }
            entry.status = 206;
            res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${st.size}` });
            if (req.method === 'HEAD') return res.end();
            return fs.createReadStream(file, { start, end }).pipe(res);
        }
        entry.status = 200;
        res.writeHead(200, { ...headers, 'Content-Length': st.size });
        if (req.method === 'HEAD') return res.end();
        fs.createReadStream(file).pipe(res);
    });
    await new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, host, resolve); });
    const a = server.address();
    const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
    return {
        url: `http://${shownHost}:${a.port}/`, server, log,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    };
}

function parseArgs(argv) {
    const o = { port: 8080, host: '127.0.0.1', model: null, build: true };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--port') o.port = parseInt(argv[++i], 10);
        else if (a === '--host') o.host = argv[++i];
        else if (a === '--model') o.model = argv[++i];
        else if (a === '--no-build') o.build = false;
        else if (a === '-h' || a === '--help') {
            console.log('usage: node scripts/serve.mjs [--port 8080] [--host 127.0.0.1] [--model file.gguf] [--no-build]');
            process.exit(0);
        } else { console.error(`serve: unknown argument ${a}`); process.exit(2); }
    }
    return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const o = parseArgs(process.argv.slice(2));
    if (o.build) {
        const still = ensureWasm();
        if (still.length === BUILDS.length) {
            console.error('serve: no wasm build in wasm/dist/ and none could be built: run scripts/setup.sh, then scripts/build-wasm.sh');
            process.exit(1);
        }
    }
    const model = pickModel(o.model);
    if (model.random) console.log(`serve: ${model.note}`);
    const s = await startDemoServer({ port: o.port, host: o.host, model });
    console.log(`serve: bundled model ${model.name} (${(fs.statSync(model.file).size / 1e6).toFixed(1)} MB)`);
    console.log(`serve: open ${s.url}   (Ctrl-C stops)`);
}
