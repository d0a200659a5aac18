// server.mjs — the browser test's static server: the repository at /, the wasm builds at /wasm-dist/, test
// models at /models/. With isolate=true it sends COOP/COEP (a cross-origin isolated page: SharedArrayBuffer,
// so the SIMD + threads build); without, the page is not isolated and the single-thread build is chosen.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const MIME = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html',
    '.json': 'application/json', '.gguf': 'application/octet-stream' };

export async function startServer({ root, wasmDirs, modelDir, isolate }) {
    const mounts = [['/wasm-dist/', wasmDirs], ['/models/', [modelDir]], ['/', [root]]];
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        const [prefix, bases] = mounts.find(([p]) => url.pathname.startsWith(p));
        const rel = decodeURIComponent(url.pathname.slice(prefix.length));
        // several build folders are one mount: the first that has the file serves it
        const base = bases.find((b) => fs.existsSync(path.resolve(b, rel))) || bases[0];
        const file = path.resolve(base, rel);
        const headers = { 'Cache-Control': 'no-store' };
        if (isolate) {
            headers['Cross-Origin-Opener-Policy'] = 'same-origin';
            headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
        }
        if (!file.startsWith(path.resolve(base)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
            res.writeHead(404, headers); res.end(); return;
        }
        const size = fs.statSync(file).size;
        headers['Content-Type'] = MIME[path.extname(file)] || 'application/octet-stream';
        headers['Content-Length'] = size;
        res.writeHead(200, headers);
        fs.createReadStream(file).pipe(res);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return {
        base: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
    };
}
