// The demo page (index.html) in headless Chromium (Debian's `chromium`, driven by playwright-core), served by
// the README's run command (scripts/serve.mjs: COOP/COEP, application/wasm, Range) with its bundled model.
// One browser context runs the steps in order, as a visitor would: the service worker and the model cache
// persist from step to step. Screenshots (desktop 1280x800, phone 390x844) go to build/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, tmpdir } from '../js/helpers.mjs';
import { startDemoServer, ensureWasm, pickModel } from '../../scripts/serve.mjs';

const CHROMIUM = process.env.DS2_CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'build/screenshots');
const dir = tmpdir('demo');
const T = 60000; // per wait: generous for a loaded 2-core CI machine

let chromium = null, browser = null, ctx = null, page = null, srv = null, port = 0, model = null, skip = null;
const pageErrors = [];

before(async () => {
    try { ({ chromium } = await import('playwright-core')); } catch { chromium = null; }
    if (!chromium || !fs.existsSync(CHROMIUM)) { skip = 'chromium or playwright-core missing (scripts/setup.sh installs them)'; return; }
    if (ensureWasm({ quiet: true }).length === 4) { skip = 'no wasm build in wasm/dist/ and emscripten cannot build one'; return; }
    model = pickModel(process.env.DS2_DEMO_MODEL); // the bundled model (or another, to try one)
    srv = await startDemoServer({ port: 0, model });
    port = new URL(srv.url).port;
    browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
            '--disable-component-update', '--no-first-run'],
    });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
    if (browser) await browser.close();
    if (srv) await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

const state = (p = page) => p.evaluate(() => document.body.dataset.state);
const waitState = (want, p = page) => p.waitForFunction((w) => w.includes(document.body.dataset.state), want, { timeout: T });
const lastAnswer = (p = page) => p.evaluate(() => {
    const a = [...document.querySelectorAll('.msg.assistant')].pop();
    return a && { text: a.querySelector('.text').textContent, status: a.dataset.status || null, tokens: Number(a.dataset.tokens || -1) };
});

async function setField(id, value) {
    await page.fill(`#${id}`, String(value));
    await page.dispatchEvent(`#${id}`, 'change');
}

/** Sends a message from the keyboard (focus the box, type, Enter) and waits for the answer to end. */
async function ask(text, p = page) {
    await p.focus('#prompt');
    await p.keyboard.type(text);
    const n = await p.locator('.msg.assistant').count();
    await p.keyboard.press('Enter');
    await p.waitForFunction((k) => {
        const a = document.querySelectorAll('.msg.assistant');
        return a.length > k && a[a.length - 1].dataset.status;
    }, n, { timeout: T });
    return lastAnswer(p);
}

async function errorBanner(p = page) {
    return p.evaluate(() => (document.getElementById('error').hidden ? null : document.getElementById('error-text').textContent));
}

test('the bundled model loads by itself: progress reaches 100%, the model card shows MLA vs MHA', async (t) => {
    if (skip) return t.skip(skip);
    const seen = [];
    await page.exposeFunction('reportProgress', (v) => seen.push(v));
    await page.addInitScript(() => {
        // record every value the progress bar takes
        new MutationObserver(() => {
            const p = document.getElementById('progress');
            if (p) window.reportProgress && window.reportProgress(Number(p.value));
        }).observe(document, { subtree: true, attributes: true, attributeFilter: ['value'] });
    });
    await page.goto(srv.url);
    await waitState(['ready', 'error']);
    assert.equal(await errorBanner(), null);
    assert.equal(await state(), 'ready');
    assert.equal(await page.evaluate(() => document.getElementById('progress').value), 100);
    assert.equal(await page.textContent('#progress-pct'), '100%');
    assert.match(await page.textContent('#progress-detail'), new RegExp(`loaded ${model.name.replace(/\./g, '\\.')}`));
    assert.ok(seen.includes(100), `progress values: ${seen.join(',')}`);
    const card = await page.textContent('#info');
    assert.match(card, /KV cache \/ token.*MLA latent vs .*standard MHA/);
    assert.match(card, /Active \/ token/);
    assert.match(card, /Quant types/);
    // served with COOP/COEP: isolated, so the SIMD + threads build runs and no single-thread notice shows
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    assert.match(card, /(relaxed|simd)-mt/);
    assert.equal(await page.locator('#notice-coi').count(), 0);
    // keyboard users land in the message box once the model is ready
    assert.equal(await page.evaluate(() => document.activeElement.id), 'prompt');
});

test('every control is reachable with Tab, in a sensible order', async (t) => {
    if (skip) return t.skip(skip);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    const seen = [];
    for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const id = await page.evaluate(() => {
            const a = document.activeElement;
            return a ? (a.id || (a.name ? `${a.name}:${a.value}` : a.textContent.trim().slice(0, 20) || a.tagName)) : '';
        });
        if (seen.includes(id)) break;
        seen.push(id);
    }
    // the walk may start mid-page (focus was in the message box): rotate it to begin at the skip link
    const k = seen.indexOf('Skip to the chat');
    if (k > 0) seen.push(...seen.splice(0, k));
    const want = ['src:bundled', 'model-file', 'load', 's-temperature', 's-topk', 's-topp', 's-minp', 's-repeat', 's-seed',
        's-max', 's-threads', 'persist', 'cache-refresh', 'prompt', 'send', 'clear'];
    const order = want.map((w) => seen.indexOf(w));
    assert.ok(order.every((i) => i >= 0), `reached: ${seen.join(' ')}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, `in order: ${seen.join(' ')}`);
    // focus is visible (the outline of :focus-visible)
    await page.focus('#load');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.equal(outline, 'solid');
});

test('chat streams the answer piece by piece', async (t) => {
    if (skip) return t.skip(skip);
    await setField('s-max', 48);
    await page.evaluate(() => {
        window.__lengths = [];
        new MutationObserver(() => {
            const a = [...document.querySelectorAll('.msg.assistant .text')].pop();
            if (a) window.__lengths.push(a.textContent.length);
        }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    });
    const a = await ask('Hello! Who are you?');
    assert.equal(a.status, 'done');
    assert.ok(a.text.length > 0, 'an answer');
    const lengths = await page.evaluate(() => [...new Set(window.__lengths)].filter((n) => n > 0));
    assert.ok(lengths.length >= 3, `streamed in several updates (distinct lengths ${lengths.join(',')})`);
    assert.match(await page.textContent('#st-gen'), /^\d+(\.\d+)?$/);
    assert.match(await page.textContent('#st-prompt'), /^\d+(\.\d+)?$/);
    assert.match(await page.textContent('#st-mem'), /\d+(\.\d+)? (KB|MB|GB)/);
    await page.screenshot({ path: path.join(SHOTS, 'demo-desktop.png'), fullPage: false });
    await page.screenshot({ path: path.join(SHOTS, 'demo-desktop-full.png'), fullPage: true });
});

test('Stop ends a long answer mid-way', async (t) => {
    if (skip) return t.skip(skip);
    const nCtx = await page.evaluate(() => window.ds2demo.ui.info.nCtx);
    const max = Math.min(2000, Math.floor(nCtx / 2)); // leaves room for the conversation so far
    await setField('s-max', max);
    await page.click('#clear');
    await page.focus('#prompt');
    await page.keyboard.type('Write a very long essay.');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
        const a = [...document.querySelectorAll('.msg.assistant')].pop();
        return a && a.classList.contains('streaming') && a.querySelector('.text').textContent.length > 5;
    }, null, { timeout: T });
    assert.equal(await page.isDisabled('#stop'), false);
    await page.click('#stop');
    await page.waitForFunction(() => [...document.querySelectorAll('.msg.assistant')].pop().dataset.status, null, { timeout: T });
    const a = await lastAnswer();
    assert.equal(a.status, 'stopped');
    assert.ok(a.tokens > 0 && a.tokens < max, `stopped after ${a.tokens} of ${max} tokens`);
    assert.equal(await page.isDisabled('#send'), false);
    assert.equal(await errorBanner(), null);
});

test('a conversation longer than the context: oldest turns left out, the answer shortened to fit', async (t) => {
    if (skip) return t.skip(skip);
    await page.click('#clear');
    await setField('s-max', 8);
    await ask('First question.');
    const nCtx = await page.evaluate(() => window.ds2demo.ui.info.nCtx);
    await setField('s-max', nCtx); // can never fit with a prompt
    await page.focus('#prompt');
    await page.keyboard.type('Second question.');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
        const a = [...document.querySelectorAll('.msg.assistant')].pop();
        return a && (a.dataset.status || (a.classList.contains('streaming') && a.querySelector('.text').textContent.length > 3));
    }, null, { timeout: T });
    if (!(await lastAnswer()).status) await page.click('#stop');
    await page.waitForFunction(() => [...document.querySelectorAll('.msg.assistant')].pop().dataset.status, null, { timeout: T });
    const meta = await page.locator('.msg.assistant >> nth=-1').locator('.meta').textContent();
    assert.match(meta, /1 oldest exchange left out/);
    assert.match(meta, /max tokens lowered to \d+/);
    assert.equal(await errorBanner(), null);
    await setField('s-max', 64);
});

test('sampling settings apply: the seed changes the answer and the same seed repeats it', async (t) => {
    if (skip) return t.skip(skip);
    await page.click('#clear');
    await setField('s-temperature', 1.0);
    await setField('s-topk', 0);
    await setField('s-topp', 1);
    await setField('s-minp', 0);
    await setField('s-max', 32);
    await setField('s-seed', 1);
    const a1 = await ask('Tell me a story.');
    const regen = async (seed) => {
        await setField('s-seed', seed);
        await page.click('#regen');
        await page.waitForFunction((s) => {
            const a = [...document.querySelectorAll('.msg.assistant')].pop();
            return a && a.dataset.status && a.dataset.seed === String(s);
        }, seed, { timeout: T });
        return lastAnswer();
    };
    const b = await regen(2);
    const a2 = await regen(1);
    assert.equal(await page.locator('.msg.assistant').count(), 1, 'regenerate replaces the answer');
    assert.ok(a1.text.length > 0 && b.text.length > 0);
    assert.notEqual(b.text, a1.text, 'seed 2 differs from seed 1');
    assert.equal(a2.text, a1.text, 'seed 1 again gives the same answer');
    // greedy: temperature 0 ignores the seed
    await setField('s-temperature', 0);
    const g1 = await regen(5), g2 = await regen(6);
    assert.equal(g1.text, g2.text);
    // threads apply at the next load (a new worker with that pool size)
    for (const n of [1, 2]) {
        await setField('s-threads', n);
        await page.check('input[name=src][value=bundled]');
        await page.click('#load');
        await page.waitForFunction(() => document.body.dataset.state === 'loading', null, { timeout: T }).catch(() => {});
        await waitState(['ready', 'error']);
        const build = await page.evaluate(() => [...document.querySelectorAll('#info dt')].find((d) => d.textContent === 'Engine build').nextSibling.textContent);
        if (n === 1) assert.doesNotMatch(build, /threads$/, build);
        else assert.match(build, /, 2 threads$/, build);
    }
    await setField('s-temperature', 0.8);
    await setField('s-topk', 40);
    await setField('s-topp', 0.95);
    await setField('s-minp', 0.05);
});

test('a local .gguf file chosen with the file picker loads', async (t) => {
    if (skip) return t.skip(skip);
    const file = path.join(dir, 'my-local-model.gguf');
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'models/make_tiny.py'), '--out', file, '--seed', '7',
        '--dtype', 'q4_0', '--name', 'local-file-model'], { stdio: 'pipe' });
    await page.setInputFiles('#model-file', file);
    assert.equal(await page.isChecked('input[name=src][value=file]'), true);
    await page.click('#load');
    await page.waitForFunction(() => /my-local-model\.gguf/.test(document.getElementById('progress-detail').textContent) &&
        ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: T });
    assert.equal(await errorBanner(), null);
    assert.match(await page.textContent('#info'), /local-file-model/);
    assert.match(await page.textContent('#info'), /Q4_0/);
    await page.click('#clear');
    const a = await ask('Hi');
    assert.equal(a.status, 'done');
    // the same file dropped on the page (a synthetic drop carrying a File)
    const bytes = fs.readFileSync(file).toString('base64');
    await page.evaluate((b64) => {
        const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([raw], 'dropped-model.gguf'));
        window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForFunction(() => /loaded dropped-model\.gguf/.test(document.getElementById('progress-detail').textContent), null, { timeout: T });
    assert.match(await page.textContent('#info'), /local-file-model/);
});

test('a failing URL is a readable error, and the page stays usable', async (t) => {
    if (skip) return t.skip(skip);
    await page.check('input[name=src][value=url]');
    await page.fill('#model-url', `${srv.url}models/does-not-exist.gguf`);
    await page.click('#load');
    await waitState(['error']);
    assert.match(await errorBanner(), /HTTP 404/);
    assert.equal(await page.isDisabled('#load'), false);
    await page.click('#error-close');
    assert.equal(await errorBanner(), null);
});

test('offline: with the server stopped the page reloads and generates from the cached model', async (t) => {
    if (skip) return t.skip(skip);
    await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: T });
    const stored = await page.evaluate(() => window.ds2demo.cache.list());
    assert.ok(stored.some((m) => m.complete), 'the bundled model is stored');
    await srv.close();
    const r = await fetch(srv.url).then(() => 'up', () => 'down');
    assert.equal(r, 'down');
    await page.reload();
    await waitState(['ready', 'error']);
    assert.equal(await errorBanner(), null);
    assert.match(await page.textContent('#progress-detail'), /from the offline cache/);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'still isolated offline (stored headers)');
    const a = await ask('Are you offline?');
    assert.equal(a.status, 'done');
    assert.ok(a.text.length > 0);
});

test('a corrupted cached chunk is detected and fetched again', async (t) => {
    if (skip) return t.skip(skip);
    srv = await startDemoServer({ port: Number(port), model });
    const url = await page.evaluate(() => new URL(window.ds2demo.ui.bundled.url, location.href).href);
    const m = await page.evaluate((u) => window.ds2demo.cache.manifest(u), url);
    assert.ok(m && m.complete && m.chunks.length >= 2, 'stored in several chunks');
    const victim = m.chunks.length - 1 > 1 ? 1 : 0;
    await page.evaluate(([u, i]) => window.ds2demo.cache.corruptChunk(u, i), [url, victim]);
    srv.log.length = 0;
    await page.reload();
    await waitState(['ready', 'error']);
    assert.equal(await errorBanner(), null);
    assert.equal(await page.getAttribute('#progress-detail', 'data-refetched'), '1');
    assert.match(await page.textContent('#progress-detail'), /1 damaged cached chunk re-fetched/);
    const ranges = srv.log.filter((e) => e.path.endsWith('.gguf') && e.range);
    const start = victim * m.chunkSize;
    assert.deepEqual(ranges.map((e) => e.range), [`bytes=${start}-${start + m.chunks[victim].size - 1}`], 'exactly the bad chunk re-fetched');
    // the replaced chunk now verifies: the next load reads everything from the cache
    srv.log.length = 0;
    await page.reload();
    await waitState(['ready', 'error']);
    assert.match(await page.textContent('#progress-detail'), /from the offline cache/);
    assert.deepEqual(srv.log.filter((e) => e.path.endsWith('.gguf')).map((e) => e.method), ['HEAD'], 'only the freshness check');
});

test('a new version of the file on the server replaces the stored copy', async (t) => {
    if (skip) return t.skip(skip);
    await srv.close();
    // same URL, other bytes (the local-file test's model): the ETag differs
    const other = { ...model, file: path.join(dir, 'my-local-model.gguf') };
    srv = await startDemoServer({ port: Number(port), model: other });
    try {
        await page.reload();
        await waitState(['ready', 'error']);
        assert.equal(await errorBanner(), null);
        assert.match(await page.textContent('#progress-detail'), /new version of this file: downloaded again/);
        assert.match(await page.textContent('#info'), /local-file-model/);
    } finally {
        await srv.close();
        srv = await startDemoServer({ port: Number(port), model });
    }
    await page.reload();
    await waitState(['ready', 'error']);
    assert.match(await page.textContent('#progress-detail'), /new version/);
    assert.doesNotMatch(await page.textContent('#info'), /local-file-model/);
});

test('an interrupted download keeps its verified chunks and resumes with a Range request', async (t) => {
    if (skip) return t.skip(skip);
    const size = fs.statSync(model.file).size;
    const cut = Math.floor(size * 0.45);
    let cutting = true;
    const flaky = await startDemoServer({
        port: 0, model,
        intercept: (req, res, file, headers, entry) => {
            if (!cutting || file !== model.file || req.headers.range) return false;
            // promise the whole file, send 45% of it, drop the connection
            entry.status = 200;
            res.writeHead(200, { ...headers, 'Content-Length': size });
            const s = fs.createReadStream(file, { start: 0, end: cut - 1 });
            s.on('end', () => setTimeout(() => res.destroy(), 50));
            s.pipe(res, { end: false });
            return true;
        },
    });
    const p = await ctx.newPage();
    try {
        await p.goto(flaky.url);
        await waitState(['ready', 'error'], p);
        assert.match(await errorBanner(p), /interrupted at byte \d+.*load again to resume/);
        const url = await p.evaluate(() => new URL(window.ds2demo.ui.bundled.url, location.href).href);
        const m = await p.evaluate((u) => window.ds2demo.cache.manifest(u), url);
        assert.equal(m.complete, false);
        const kept = m.chunks.reduce((a, c) => a + c.size, 0);
        assert.ok(kept > 0 && kept <= cut, `kept ${kept} of the ${cut} bytes received`);
        assert.match(await p.textContent('#cache-list'), /incomplete/);
        cutting = false;
        flaky.log.length = 0;
        await p.click('#error-close');
        await p.click('#load');
        await p.waitForFunction(() => document.body.dataset.state !== 'error', null, { timeout: T });
        await waitState(['ready', 'error'], p);
        assert.equal(await errorBanner(p), null);
        const gets = flaky.log.filter((e) => e.path.endsWith('.gguf') && e.method === 'GET');
        assert.deepEqual(gets.map((e) => e.range), [`bytes=${kept}-`], 'resumed after the kept chunks');
        assert.equal(gets[0].status, 206);
        const done = await p.evaluate((u) => window.ds2demo.cache.manifest(u), url);
        assert.equal(done.complete, true);
        assert.equal(done.size, size);
        const a = await ask('Resumed?', p);
        assert.equal(a.status, 'done');
    } finally {
        await p.close();
        await flaky.close();
    }
});

test('the cache panel lists the stored model with its size and deletes it', async (t) => {
    if (skip) return t.skip(skip);
    await page.waitForFunction(() => document.querySelectorAll('#cache-list li[data-url]').length > 0, null, { timeout: T });
    const row = page.locator('#cache-list li[data-url]').first();
    assert.match(await row.textContent(), /\d+(\.\d+)? (KB|MB|GB)/);
    assert.match(await page.textContent('#storage'), /used of .* available/);
    await row.locator('button').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#cache-list li[data-url]').length === 0, null, { timeout: T });
    assert.deepEqual(await page.evaluate(() => window.ds2demo.cache.list()), []);
    assert.match(await page.textContent('#cache-list'), /No models stored/);
});

test('phone-sized viewport: everything reachable, screenshot', async (t) => {
    if (skip) return t.skip(skip);
    const phone = await ctx.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(srv.url);
    await waitState(['ready', 'error'], phone);
    assert.equal(await errorBanner(phone), null);
    const a = await ask('Hello from a phone', phone);
    assert.equal(a.status, 'done');
    // nothing wider than the screen
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
    await phone.screenshot({ path: path.join(SHOTS, 'demo-phone.png'), fullPage: false });
    await phone.screenshot({ path: path.join(SHOTS, 'demo-phone-full.png'), fullPage: true });
    await phone.close();
});

test('the embedding example loads the model through the worker API and generates', async (t) => {
    if (skip) return t.skip(skip);
    const p = await ctx.newPage();
    await p.goto(`${srv.url}web/examples/embed.html`);
    await p.waitForFunction(() => /^(ready|could not)/.test(document.getElementById('status').textContent), null, { timeout: T });
    assert.match(await p.textContent('#status'), /^ready: .* on the (relaxed|simd)-mt build/);
    await p.click('#run');
    await p.waitForFunction(() => document.body.dataset.done === '1', null, { timeout: T });
    assert.equal(await p.textContent('#status'), 'done');
    assert.ok((await p.textContent('#out')).length > 0);
    await p.close();
});

test('a browser without WebAssembly SIMD is told so', async (t) => {
    if (skip) return t.skip(skip);
    const p = await ctx.newPage();
    try {
        // the page's feature probe (web/features.js validates a 29-byte SIMD module) answers "unsupported"
        await p.addInitScript(() => {
            const validate = WebAssembly.validate;
            WebAssembly.validate = (b) => (b.byteLength === 29 ? false : validate(b));
        });
        await p.goto(`${srv.url}?autoload=0`);
        await p.waitForFunction(() => window.ds2demo && window.ds2demo.ready, null, { timeout: T });
        assert.match(await p.textContent('#notice-simd'), /No WebAssembly SIMD/);
        assert.match(await p.textContent('#badges'), /no SIMD/);
        assert.equal(await p.evaluate(() => document.body.dataset.state), 'idle');
    } finally {
        await p.close();
    }
});

test('without COOP/COEP the page says it is single-threaded and still works', async (t) => {
    if (skip) return t.skip(skip);
    const plain = await startDemoServer({ port: 0, model, isolate: false });
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
        await p.goto(plain.url);
        await waitState(['ready', 'error'], p);
        assert.equal(await errorBanner(p), null);
        assert.match(await p.textContent('#notice-coi'), /Single-threaded/);
        assert.equal(await p.isDisabled('#s-threads'), true);
        assert.match(await p.textContent('#info'), /Engine build\s*simd \(/);
        const a = await ask('Hi', p);
        assert.equal(a.status, 'done');
        await p.screenshot({ path: path.join(SHOTS, 'demo-not-isolated.png') });
    } finally {
        await p.close();
        await plain.close();
    }
    assert.deepEqual(pageErrors, []);
});
