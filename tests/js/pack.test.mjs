// `npm pack` gives a package that works when installed elsewhere: pack the repository (prepack stages the builds),
// install the tarball offline into a fresh folder, import it by name, load a model from a path, and run the
// CLI through npx — greedy tokens equal the native CLI's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, VARIANTS, wasmDir, tmpdir, makeModel, nativeEval } from './helpers.mjs';

const dir = tmpdir('pack');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

test('npm pack → install offline in a temp folder → import and CLI work', { timeout: 180000 }, async (t) => {
    const built = VARIANTS.filter(wasmDir);
    if (!built.length) return t.skip('no wasm build');

    // `npm pack` of the repository itself: "prepack" stages the builds into wasm/dist/ (wasm/stage-dist.mjs)
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], ROOT).replace(/^[^\[]*/, ''))[0];
    const listed = packed.files.map((f) => f.path);
    for (const must of ['package.json', 'index.d.ts', 'bin/deepseek2-wasm.mjs', 'wasm/node.js', 'wasm/engine.js',
        'wasm/protocol.js', 'web/client.js', 'web/worker.js', 'web/fetch.js', 'web/features.js', 'web/gguf_split.js',
        'wasm/dist/package.json', ...built.map((v) => `wasm/dist/ds2-${v}.wasm`)])
        assert.ok(listed.includes(must), `package lacks ${must}`);
    assert.ok(!listed.some((f) => f.startsWith('tests/') || f.startsWith('src/')), 'tests/src are not shipped');
    const tgz = packed.filename;
    assert.match(tgz, /^deepseek2-wasm-\d+\.\d+\.\d+\.tgz$/);

    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--offline', path.join(dir, tgz)], app);
    assert.ok(fs.existsSync(path.join(app, 'node_modules/deepseek2-wasm/wasm/dist')));

    const model = makeModel(dir, 'pack-model', ['--seed', '31']);
    const ids = [4, 5, 6, 7];
    const want = nativeEval(model, ids, 6).greedy;
    fs.writeFileSync(path.join(app, 'run.mjs'), `
import { loadModel } from 'deepseek2-wasm';
const m = await loadModel(process.argv[2]);
const info = await m.info();
const tokens = await m.generateTokens(${JSON.stringify(ids)}, { maxTokens: 6, temperature: 0 });
console.log(JSON.stringify({ tokens, build: info.build.name, reason: info.build.reason }));
await m.dispose();
`);
    const out = JSON.parse(execFileSync(process.execPath, ['run.mjs', model], { cwd: app, encoding: 'utf8' }));
    t.diagnostic(`installed package picked ${out.build} (${out.reason})`);
    assert.deepEqual(out.tokens, want);

    const cli = execFileSync('npx', ['--offline', 'deepseek2-wasm', 'run', '-m', model, '--tokens', ids.join(','), '-n', '6', '--quiet'],
        { cwd: app, encoding: 'utf8' });
    assert.deepEqual(cli.trim().split(/\s+/).map(Number), want);
});
