// `npm pack` gives a package that works when installed elsewhere: pack (with the built wasm in wasm/dist/),
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

    // the files the package's "files" field selects, copied to a staging folder with the builds in wasm/dist/
    const listed = JSON.parse(npm(['pack', '--dry-run', '--json'], ROOT))[0].files.map((f) => f.path);
    for (const must of ['package.json', 'index.d.ts', 'bin/deepseek2-wasm.mjs', 'wasm/node.js', 'wasm/engine.js',
        'wasm/protocol.js', 'web/client.js', 'web/worker.js', 'web/fetch.js', 'web/features.js', 'web/gguf_split.js'])
        assert.ok(listed.includes(must), `package lacks ${must}`);
    const stage = path.join(dir, 'stage');
    for (const f of listed) {
        if (f.startsWith('wasm/dist/')) continue;
        fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, f), path.join(stage, f));
    }
    const dist = path.join(stage, 'wasm/dist');
    fs.mkdirSync(dist, { recursive: true });
    for (const v of built) {
        const from = wasmDir(v);
        for (const f of fs.readdirSync(from)) if (f.startsWith(`ds2-${v}.`)) fs.copyFileSync(path.join(from, f), path.join(dist, f));
    }
    // Emscripten's pthread worker script is CommonJS (.js) inside a "type": "module" package
    fs.writeFileSync(path.join(dist, 'package.json'), '{"type": "commonjs"}\n');
    const tgz = npm(['pack', '--pack-destination', dir], stage).trim().split('\n').pop();
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
