// Compiles against index.d.ts (tsc --noEmit --strict): the published types describe the API as the tests use it.
import { loadModel, DS2Error, type Model, type Progress, type ModelInfo } from '../../../index.js';

async function main(): Promise<void> {
    const ac = new AbortController();
    const seen: Progress[] = [];
    const model: Model = await loadModel({ path: 'model.gguf' }, {
        onProgress: (p) => { seen.push(p); const pct: number = p.total ? p.loaded / p.total : 0; void pct; },
        signal: ac.signal, build: 'simd', nCtx: 2048, threads: 2, kvType: 'f16', chunkSize: 65536,
    });
    const info: ModelInfo = await model.info();
    const why: string = info.build.reason;
    const ids: number[] = await model.generateTokens([1, 2, 3], { maxTokens: 8, temperature: 0, onToken: (id) => void id });
    const logits: Float32Array = await model.logits(ids);
    const stream = model.generate('Once upon a time', { maxTokens: 32, temperature: 0.8, seed: 7, signal: ac.signal });
    let text = '';
    for await (const piece of stream) { text += piece; if (stream.tokenCount > 20) ac.abort(); }
    const done = await stream.result;
    const why2: string = done.stopReason + done.promptTokens + done.cachedTokens;
    const topK: number = info.samplerDefaults ? info.samplerDefaults.topK : 40;
    for await (const piece of model.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 16, stop: ['\n\n', 2], cache: true, topK, repeatPenalty: 1.1 })) text += piece;
    const toks: number[] = await model.tokenize(text, { addBos: false });
    const back: string = await model.detokenize(toks);
    const s = await model.stats();
    const rate: number = s.genTokensPerSecond + s.heapBytes;
    await model.unload();
    await model.dispose?.();
    void [why, why2, logits, done.tokens, back, rate];
    try { await loadModel('https://example.invalid/x-00001-of-00002.gguf'); } catch (e) {
        if (e instanceof DS2Error) { const code: string = e.code; void code; }
    }
}
void main;
