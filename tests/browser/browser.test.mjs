// Headless Chromium (Debian's `chromium`, driven by playwright-core): a page loads a model through the Web
// Worker from a local server, streams greedy tokens equal to the native CLI's and cancels within one token.
// With COOP/COEP the page is cross-origin isolated and the SIMD128 + threads build runs (with relaxed-SIMD dots
// where the browser has them, as Debian's Chromium does); without them, the single-thread SIMD build.
import { test, before, after } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ROOT, NATIVE, BROWSER_VARIANTS, wasmDir, tmpdir, makeModel, nativeEval } from '../js/helpers.mjs';
import { startServer } from './server.mjs';

const CHROMIUM = process.env.DS2_CHROMIUM || '/usr/bin/chromium';
const dir = tmpdir('browser');
const IDS = [1, 2, 3, 5, 8];
const N = 10;
let chromium = null, browser = null, want = null, wantText = null, wantK = null;
// a model whose matrices are K-quants (Q4_K, Q6_K: the relaxed build's own kernels)
const KQ_ARGS = ['--seed', '52', '--dtype', 'q4_k_m', '--hidden', '256', '--q-lora-rank', '256', '--kv-lora-rank', '256',
    '--ff', '512', '--expert-ff', '256', '--layers', '2'];

before(async () => {
    try { ({ chromium } = await import('playwright-core')); } catch { chromium = null; }
    makeModel(dir, 'model', ['--seed', '51', '--dtype', 'q8_0']);
    want = nativeEval(`${dir}/model.gguf`, IDS, N).greedy;
    makeModel(dir, 'modelk', KQ_ARGS);
    wantK = nativeEval(`${dir}/modelk.gguf`, IDS, N).greedy;
    wantText = execFileSync(NATIVE, ['run', '-m', `${dir}/model.gguf`, '-p', 'Hello world', '-n', '12', '--temp', '0'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).replace(/\n$/, '');
    if (chromium && fs.existsSync(CHROMIUM)) {
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                '--disable-component-update', '--no-first-run'],
        });
    }
});
after(async () => {
    if (browser) await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

// expectBuild: the build the page must pick, or (with force) the one it is told to use
async function run(t, isolate, expectBuild, force = false) {
    if (!browser) return t.skip('chromium or playwright-core missing (scripts/setup.sh installs them)');
    if (!wasmDir(expectBuild)) return t.skip(`ds2-${expectBuild}.mjs is not built`);
    // the server offers every build there is; the page must choose
    const wasmDirs = [...new Set(BROWSER_VARIANTS.map(wasmDir).filter(Boolean))];
    const srv = await startServer({ root: ROOT, wasmDirs, modelDir: dir, isolate });
    const page = await browser.newPage();
    const logs = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(String(e)));
    try {
        await page.goto(`${srv.base}/tests/browser/page.html`);
        await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20000 });
        const r = await page.evaluate(([ids, n, b]) => window.runTest('/models/model.gguf', ids, n, b),
            [IDS, N, force ? expectBuild : undefined]);
        t.diagnostic(`isolated=${r.crossOriginIsolated}: build ${r.build.name} (${r.build.reason}); ${r.stats.genTokensPerSecond.toFixed(0)} tok/s`);
        assert.equal(r.crossOriginIsolated, isolate);
        assert.equal(r.build.name, expectBuild);
        assert.doesNotMatch(r.build.reason, /not shipped/); // chosen, not fallen back to
        assert.deepEqual(r.tokens, want);
        assert.deepEqual(r.streamed, want);
        const size = fs.statSync(`${dir}/model.gguf`).size;
        assert.equal(r.progress.at(-1).loaded, size);
        assert.equal(r.progress.at(-1).total, size);
        for (let i = 1; i < r.progress.length; i++) assert.ok(r.progress[i].loaded >= r.progress[i - 1].loaded);
        assert.equal(r.pieces.join(''), wantText); // text streamed piece by piece from the worker
        assert.ok(r.pieces.length > 1);
        // cancel within one token through the Web Worker: onToken aborts at id 5, the iterator at its 3rd piece
        t.diagnostic(`cancel: ${JSON.stringify(r.cancel)}`);
        assert.ok(r.cancel.ids >= 5 && r.cancel.ids <= 6, `aborting upon id 5 gave ${r.cancel.ids} ids`);
        assert.ok(r.cancel.aborted && r.cancel.held >= 3 && r.cancel.tokens <= r.cancel.held + 1 && r.cancel.after <= 1,
            JSON.stringify(r.cancel));
        assert.ok(r.error && r.error.isError && r.error.code === 'DS2_E_BAD_TOKEN' && r.error.message, JSON.stringify(r.error));
    } catch (e) {
        e.message += `\nbrowser console:\n${logs.join('\n')}`;
        throw e;
    } finally {
        await page.close();
        await srv.close();
    }
}

/** fn(page) on tests/browser/page.html served with every build there is (isolated: COOP/COEP). */
async function onPage(isolate, fn) {
    const wasmDirs = [...new Set(BROWSER_VARIANTS.map(wasmDir).filter(Boolean))];
    const srv = await startServer({ root: ROOT, wasmDirs, modelDir: dir, isolate });
    const page = await browser.newPage();
    try {
        await page.goto(`${srv.base}/tests/browser/page.html`);
        await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20000 });
        return await fn(page);
    } finally {
        await page.close();
        await srv.close();
    }
}

// The shipped model in the browser gives exactly the PyTorch goldens (models/*.golden.json), like the native
// CLI (ctest bundled_*) and the wasm builds in Node (tests/js/bundled_model.test.mjs).
for (const gname of fs.readdirSync(`${ROOT}/models`).filter((f) => f.endsWith('.golden.json'))) {
    test(`browser (SIMD128 + threads): ${gname} greedy continuations == PyTorch goldens`, async (t) => {
        if (!browser) return t.skip('chromium or playwright-core missing (scripts/setup.sh installs them)');
        if (!wasmDir('simd-mt')) return t.skip('ds2-simd-mt.mjs is not built');
        const g = JSON.parse(fs.readFileSync(`${ROOT}/models/${gname}`, 'utf8'));
        fs.copyFileSync(`${ROOT}/models/${g.gguf}`, `${dir}/${g.gguf}`);
        const r = await onPage(true, (page) => page.evaluate(([url, gens, n]) => window.runGoldens(url, gens, n),
            [`/models/${g.gguf}`, g.generations, g.n_gen]));
        assert.match(r.build.name, /^(relaxed|simd)-mt$/);
        for (let i = 0; i < g.generations.length; i++)
            assert.deepEqual(r.out[i], g.generations[i].continuation_ids, JSON.stringify(g.generations[i].prompt));
        t.diagnostic(`${g.generations.length} prompts × ${g.n_gen} tokens identical (${r.build.name})`);
    });
}

test('cross-origin isolated page (COOP/COEP): the relaxed-SIMD + threads build through the worker', (t) => run(t, true, 'relaxed-mt'));
test('cross-origin isolated page told to use the SIMD128 + threads build', (t) => run(t, true, 'simd-mt', true));
// The relaxed build's K-quant dots (its only kernels of its own) give the native CLI's greedy tokens; so does simd-mt.
for (const build of ['relaxed-mt', 'simd-mt']) {
    test(`${build} in Chromium: a Q4_K/Q6_K model's greedy tokens == native`, async (t) => {
        if (!browser) return t.skip('chromium or playwright-core missing (scripts/setup.sh installs them)');
        if (!wasmDir(build)) return t.skip(`ds2-${build}.mjs is not built`);
        const r = await onPage(true, (page) => page.evaluate(([ids, n, b]) =>
            window.runGoldens('/models/modelk.gguf', [{ prompt_ids: ids }], n, b), [IDS, N, build]));
        assert.equal(r.build.name, build);
        assert.deepEqual(r.out[0], wantK);
    });
}
test('page without COOP/COEP: the single-thread SIMD128 build is chosen', (t) => run(t, false, 'simd'));
