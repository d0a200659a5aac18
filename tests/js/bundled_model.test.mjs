// The shipped model (models/NAME.gguf) on every wasm build, through the public JS API, against its golden data
// made by the PyTorch trainer (models/train/golden.py): exactly the golden greedy continuation of every prompt,
// and the held-out perplexity within the golden's tolerance (0.5%) of PyTorch's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../wasm/node.js';
import { ROOT, VARIANTS, wasmDir } from './helpers.mjs';

const goldens = fs.readdirSync(path.join(ROOT, 'models')).filter((f) => f.endsWith('.golden.json'));

/** Sum over positions of -log softmax(logits[i])[ids[i+1]], in float64. */
function nll(logits, ids, nVocab) {
    let tot = 0;
    for (let i = 0; i + 1 < ids.length; i++) {
        const row = logits.subarray(i * nVocab, (i + 1) * nVocab);
        let m = -Infinity;
        for (const v of row) m = Math.max(m, v);
        let s = 0;
        for (const v of row) s += Math.exp(v - m);
        tot += m + Math.log(s) - row[ids[i + 1]];
    }
    return tot;
}

for (const gname of goldens) {
    const g = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', gname), 'utf8'));
    const file = path.join(ROOT, 'models', g.gguf);
    for (const variant of VARIANTS) {
        test(`wasm ${variant}: ${g.gguf} greedy == PyTorch goldens, held-out ppl within ${g.ppl.tolerance * 100}%`, async (t) => {
            const wd = wasmDir(variant);
            if (!wd) return t.skip(`ds2-${variant}.mjs is not built (scripts/build-wasm.sh)`);
            const model = await loadModel(file, { build: variant, wasmDir: wd, threads: 2 });
            try {
                const info = await model.info();
                for (const e of g.generations) {
                    const toks = await model.generateTokens(e.prompt_ids, { maxTokens: g.n_gen, temperature: 0 });
                    assert.deepEqual(toks, e.continuation_ids, `${JSON.stringify(e.prompt)}: greedy tokens`);
                }
                let tot = 0;
                for (const w of g.ppl.windows) tot += nll(await model.logits(w), w, info.n_vocab);
                const ppl = Math.exp(tot / g.ppl.predicted_tokens);
                const rel = Math.abs(ppl - g.ppl.pytorch_ppl) / g.ppl.pytorch_ppl;
                t.diagnostic(`${variant}: held-out NLL ${(tot / g.ppl.predicted_tokens).toFixed(5)} ppl ${ppl.toFixed(4)}` +
                    ` vs PyTorch ${g.ppl.pytorch_ppl.toFixed(4)} (rel diff ${rel.toExponential(2)})`);
                assert.ok(rel <= g.ppl.tolerance, `perplexity ${ppl} vs PyTorch ${g.ppl.pytorch_ppl}`);
            } finally {
                await model.dispose();
            }
        });
    }
}
