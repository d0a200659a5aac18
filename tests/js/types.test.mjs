// index.d.ts type-checks (strict) together with a usage sample of the whole API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from './helpers.mjs';

test('index.d.ts and a usage sample compile with tsc --strict', (t) => {
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    if (!fs.existsSync(tsc)) return t.skip('typescript is not installed (npm ci)');
    const out = (() => {
        try {
            return execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
                '--moduleResolution', 'nodenext', '--lib', 'es2022,dom,dom.asynciterable',
                path.join(ROOT, 'index.d.ts'), path.join(ROOT, 'tests/js/types/usage.ts')], { encoding: 'utf8', cwd: ROOT });
        } catch (e) { return e.stdout + e.stderr; }
    })();
    assert.equal(out.trim(), '');
});
