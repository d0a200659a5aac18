// temporary: compare builds in Chromium on one model (not committed)
import { chromium } from 'playwright-core';
import { startServer } from './tests/browser/server.mjs';
const ROOT = process.cwd();
const model = process.argv[2], builds = process.argv.slice(3);
const srv = await startServer({ root: ROOT, wasmDirs: [ROOT + '/wasm/dist/'], modelDir: ROOT + '/build/bench', isolate: true });
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const p = await b.newPage();
await p.goto(`${srv.base}/tests/browser/page.html`);
await p.waitForFunction(() => window.pageReady === true, null, { timeout: 20000 });
for (let rep = 0; rep < 2; rep++) for (const build of builds) {
  const r = await p.evaluate(async ([url, build]) => {
    const { loadModel } = await import('/web/client.js');
    const m = await loadModel(url, { wasmDir: '/wasm-dist/', build, threads: 1 });
    const ids = Array.from({ length: 512 }, (_, i) => 100 + i);
    await m.generateTokens(ids, { maxTokens: 1, temperature: 0 });
    const s0 = await m.stats();
    await m.generateTokens(ids, { maxTokens: 65, temperature: 0 });
    const s1 = await m.stats();
    const info = await m.info();
    m.terminate();
    return { build: info.build.name, s0, s1 };
  }, [`/models/${model}`, build]);
  const g = (r.s1.genTokens - r.s0.genTokens - 1) / (r.s1.genMs - r.s0.genMs) * 1000;
  console.log(r.build, 'gen tok/s', g.toFixed(1), JSON.stringify(r.s1).slice(0, 200));
}
await b.close(); await srv.close();
