// sw.js — the demo's service worker: the app shell, scripts and wasm builds work offline after one visit.
//
// Registered by web/ui.js with scope '/' (the server sends `Service-Worker-Allowed: /`, scripts/serve.mjs).
// Strategy: network first (a running server always serves the current files; every good response refreshes
// the copy), the stored copy when the network fails (offline, server stopped). Stored responses keep their
// headers, so an offline page is still cross-origin isolated (COOP/COEP) and runs the threads build.
// Model files (.gguf) are not touched here: web/cache.js stores them per chunk with checksums.

const APP_CACHE = 'ds2-app-v1';
const SHELL = [
    './', 'index.html', 'models/bundled.json',
    'web/ui.js', 'web/ui.css', 'web/cache.js', 'web/client.js', 'web/worker.js', 'web/fetch.js', 'web/features.js',
    'web/gguf_split.js', 'wasm/engine.js', 'wasm/protocol.js',
    'web/examples/embed.html',
];
// the builds: whichever exist on this server (a missing one is skipped, not fatal)
const BUILDS = ['ds2-relaxed-mt.mjs', 'ds2-relaxed-mt.wasm', 'ds2-relaxed-mt.worker.js',
    'ds2-simd-mt.mjs', 'ds2-simd-mt.wasm', 'ds2-simd-mt.worker.js', 'ds2-simd.mjs', 'ds2-simd.wasm',
    'ds2-nosimd.mjs', 'ds2-nosimd.wasm'].map((f) => 'wasm/dist/' + f);

const scopeUrl = (p) => new URL(p, self.registration.scope).href;

self.addEventListener('install', (event) => {
    event.waitUntil((async () => {
        const cache = await caches.open(APP_CACHE);
        await Promise.all([...SHELL, ...BUILDS].map(async (p) => {
            try {
                const r = await fetch(scopeUrl(p), { cache: 'no-store' });
                if (r.ok) await cache.put(scopeUrl(p), r);
            } catch { /* offline during install or not shipped: the runtime copy covers it */ }
        }));
        await self.skipWaiting();
    })());
});

self.addEventListener('activate', (event) => {
    event.waitUntil((async () => {
        for (const k of await caches.keys()) if (k.startsWith('ds2-app-') && k !== APP_CACHE) await caches.delete(k);
        await self.clients.claim();
    })());
});

self.addEventListener('fetch', (event) => {
    const req = event.request;
    if (req.method !== 'GET') return;
    const url = new URL(req.url);
    if (url.origin !== self.location.origin) return;
    if (url.pathname.endsWith('.gguf') || req.headers.has('range')) return; // models: web/cache.js
    event.respondWith((async () => {
        const cache = await caches.open(APP_CACHE);
        // the query string never selects different content here (?autoload=0 etc.)
        const key = url.origin + url.pathname;
        try {
            const res = await fetch(req);
            if (res.ok && res.type === 'basic') cache.put(key, res.clone()).catch(() => {});
            return res;
        } catch (e) {
            const hit = (await cache.match(key)) ||
                (req.mode === 'navigate' ? await cache.match(scopeUrl('./')) : undefined);
            if (hit) return hit;
            return new Response(`offline and not cached: ${url.pathname}`, { status: 503, headers: { 'Content-Type': 'text/plain' } });
        }
    })());
});
