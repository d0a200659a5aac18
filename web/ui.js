// ui.js — the demo page (index.html): model picker and loading, model card, chat with streamed tokens,
// sampling settings, live speed and memory, the offline cache panel. No framework: the page is small and
// every control is a native element, so keyboard and screen readers work without extra code.
//
// Data path: a URL (or the bundled model) → web/cache.js (per-chunk Cache API storage, SHA-256 checked on
// read-back) → a Blob of verified chunks → the engine worker (web/client.js) → chat pieces → the DOM.
// A local file goes to the worker directly. State for tests and the curious: window.ds2demo, and
// <body data-state="idle|loading|ready|generating|error">.

import { createModel, detectFeatures } from './client.js';
import { ModelCache, storageInfo, requestPersistence } from './cache.js';

const $ = (id) => document.getElementById(id);
const feats = detectFeatures();
const cache = new ModelCache();
const SETTINGS_KEY = 'ds2-demo-settings';

const ui = {
    model: null,          // web/client.js Model (its worker), created on first load
    modelThreads: 0,      // the thread count that worker was started with
    info: null,
    loadCtl: null,
    genCtl: null,
    messages: [],         // [{role, content}] sent to the template
    bundled: null,        // {name, url, size, random, note}
    lastLoad: null,       // {kind, label, refetched, fromCache}
};
window.ds2demo = { ui, cache };

// ---- helpers ----------------------------------------------------------------------------------------------

const EMPTY = {
    idle: 'Load a model, then ask something. Enter sends, Shift+Enter adds a line, Escape stops.',
    loading: 'Loading the model… (progress under Model)',
    error: 'The model did not load: see the message above.',
};
function setState(s) {
    document.body.dataset.state = s;
    $('empty').textContent = EMPTY[s] || 'Ask something. Enter sends, Shift+Enter adds a line, Escape stops.';
}

function fmtBytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return '?';
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${u[i]}`;
}
function fmtCount(n) {
    if (!isFinite(n)) return '?';
    if (n >= 1e9) return (n / 1e9).toFixed(2) + ' B';
    if (n >= 1e6) return (n / 1e6).toFixed(2) + ' M';
    if (n >= 1e3) return (n / 1e3).toFixed(1) + ' K';
    return String(n);
}
function fmtTime(s) {
    if (!isFinite(s) || s < 0) return '–';
    if (s < 60) return `${Math.ceil(s)} s`;
    return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function showError(e, title = 'Error') {
    const code = e && e.code ? `${e.code}: ` : '';
    const msg = e && e.message ? e.message : String(e);
    $('error-title').textContent = title;
    $('error-text').textContent = code + msg;
    $('error').hidden = false;
    console.warn('[demo]', title, code + msg);
}
function clearError() { $('error').hidden = true; }
$('error-close').addEventListener('click', () => { clearError(); $('prompt').focus(); });
// nothing escapes as a silent failure: uncaught errors become the readable banner
window.addEventListener('error', (ev) => showError(ev.error || ev.message, 'Unexpected error'));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason, 'Unexpected error'));

function notice(html, id) {
    if (id && document.getElementById(id)) return;
    const p = document.createElement('p');
    p.className = 'notice';
    if (id) p.id = id;
    p.innerHTML = html;
    $('notices').append(p);
}

function badge(text, ok = false, title = '') {
    const b = document.createElement('span');
    b.className = 'badge' + (ok ? ' ok' : '');
    b.textContent = text;
    if (title) b.title = title;
    $('badges').append(b);
    return b;
}

// ---- environment notices ----------------------------------------------------------------------------------

function environment() {
    $('badges').textContent = '';
    badge(feats.simd ? 'SIMD128' : 'no SIMD', feats.simd);
    if (feats.simd) badge(feats.relaxedSimd ? 'relaxed SIMD' : 'no relaxed SIMD', feats.relaxedSimd);
    badge(feats.crossOriginIsolated && feats.sharedMemory ? `threads (${feats.cores} cores)` : 'single-threaded',
        feats.crossOriginIsolated && feats.sharedMemory);
    if (!feats.crossOriginIsolated || !feats.sharedMemory)
        notice('<strong>Single-threaded:</strong> this page is not cross-origin isolated (the server must send ' +
            '<code>Cross-Origin-Opener-Policy: same-origin</code> and <code>Cross-Origin-Embedder-Policy: require-corp</code>), ' +
            'so SharedArrayBuffer is unavailable and the engine runs on one thread. <code>node scripts/serve.mjs</code> sends them.', 'notice-coi');
    if (!feats.simd)
        notice('<strong>No WebAssembly SIMD:</strong> this browser runs the baseline build, several times slower.', 'notice-simd');
    if (!ModelCache.supported())
        notice('The Cache API or crypto.subtle is unavailable (not a secure context?): downloaded models are not kept offline.', 'notice-cache');
    const th = $('s-threads');
    th.max = String(Math.max(1, feats.cores || 1));
    if (!(feats.crossOriginIsolated && feats.sharedMemory)) { th.value = '1'; th.disabled = true; }
}

// ---- settings ---------------------------------------------------------------------------------------------

const FIELDS = { temperature: 's-temperature', topK: 's-topk', topP: 's-topp', minP: 's-minp', repeatPenalty: 's-repeat',
    seed: 's-seed', maxTokens: 's-max', threads: 's-threads' };

function readSettings() {
    const s = {};
    for (const [k, id] of Object.entries(FIELDS)) {
        const el = $(id);
        let v = Number(el.value);
        if (!isFinite(v) || el.value === '') v = Number(el.defaultValue);
        if (el.min !== '') v = Math.max(Number(el.min), v);
        if (el.max !== '') v = Math.min(Number(el.max), v);
        s[k] = v;
    }
    s.topK = Math.round(s.topK); s.seed = Math.round(s.seed); s.maxTokens = Math.round(s.maxTokens); s.threads = Math.round(s.threads);
    return s;
}
function restoreSettings() {
    try {
        const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) || 'null');
        if (s) for (const [k, id] of Object.entries(FIELDS)) if (s[k] !== undefined && !$(id).disabled) $(id).value = s[k];
    } catch { /* unreadable: defaults */ }
    if (!$('s-threads').disabled && !localStorage.getItem(SETTINGS_KEY))
        $('s-threads').value = String(Math.min(4, Math.max(1, feats.cores || 1)));
}
$('settings').addEventListener('change', () => { try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(readSettings())); } catch { /* private mode */ } });
$('settings').addEventListener('submit', (e) => e.preventDefault());

// ---- model picker -----------------------------------------------------------------------------------------

function sourceKind() { return document.querySelector('input[name=src]:checked').value; }
function syncPicker() {
    $('model-url').disabled = sourceKind() !== 'url';
}
for (const r of document.querySelectorAll('input[name=src]')) r.addEventListener('change', syncPicker);
$('model-file').addEventListener('change', () => {
    if ($('model-file').files.length) { document.querySelector('input[name=src][value=file]').checked = true; syncPicker(); }
});
$('model-url').addEventListener('input', () => { document.querySelector('input[name=src][value=url]').checked = true; });

// drop a .gguf anywhere on the page
let dragDepth = 0;
window.addEventListener('dragenter', (e) => { if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) { dragDepth++; document.body.classList.add('dragging'); } });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; document.body.classList.remove('dragging'); } });
window.addEventListener('dragover', (e) => { e.preventDefault(); });
window.addEventListener('drop', (e) => {
    e.preventDefault();
    dragDepth = 0; document.body.classList.remove('dragging');
    const files = [...(e.dataTransfer ? e.dataTransfer.files : [])].filter((f) => /\.gguf$/i.test(f.name));
    if (!files.length) { showError(new Error('drop a .gguf file (or all shards of a split model)'), 'Not a model'); return; }
    loadModelFrom({ kind: 'file', files });
});

async function loadBundledList() {
    try {
        const r = await fetch('models/bundled.json', { cache: 'no-cache' });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        const j = await r.json();
        ui.bundled = j.models && j.models[0] || null;
    } catch (e) {
        ui.bundled = null;
    }
    const radio = document.querySelector('input[name=src][value=bundled]');
    if (ui.bundled) {
        $('bundled-name').textContent = `${ui.bundled.name} · ${fmtBytes(ui.bundled.size)}`;
        if (ui.bundled.note) { $('bundled-note').textContent = ui.bundled.note; $('bundled-note').hidden = false; }
    } else {
        $('bundled-name').textContent = '(none on this server)';
        radio.disabled = true;
        document.querySelector('input[name=src][value=url]').checked = true;
        syncPicker();
    }
}

// ---- progress ---------------------------------------------------------------------------------------------

function progressTracker(label) {
    const box = $('progress-box');
    box.hidden = false;
    const t0 = performance.now();
    let phase = null, phaseT0 = t0, phaseStart = 0;
    const update = ({ phase: ph = 'load', loaded, total }) => {
        const now = performance.now();
        if (ph !== phase) { phase = ph; phaseT0 = now; phaseStart = loaded; }
        const pct = total ? Math.min(100, (loaded / total) * 100) : 0;
        $('progress').value = pct;
        $('progress').removeAttribute('aria-valuetext');
        $('progress-pct').textContent = total ? `${pct.toFixed(pct >= 100 ? 0 : 1)}%` : fmtBytes(loaded);
        const dt = (now - phaseT0) / 1000;
        const rate = dt > 0.05 ? (loaded - phaseStart) / dt : 0;
        const left = rate > 0 && total ? (total - loaded) / rate : NaN;
        const verb = { download: 'downloading', verify: 'checking cached chunks', load: 'loading into the engine' }[ph] || ph;
        $('progress-detail').textContent = `${verb} ${label}: ${fmtBytes(loaded)}${total ? ` of ${fmtBytes(total)}` : ''}` +
            (rate ? ` · ${fmtBytes(rate)}/s` : '') + (total && loaded < total ? ` · ${fmtTime(left)} left` : '');
    };
    return {
        update,
        done(text) {
            $('progress').value = 100;
            $('progress-pct').textContent = '100%';
            $('progress-detail').textContent = text;
        },
        fail(text) { $('progress-detail').textContent = text; },
        elapsed: () => (performance.now() - t0) / 1000,
    };
}

// ---- loading ----------------------------------------------------------------------------------------------

function engineFor(threads) {
    // the worker's thread pool is sized when its engine starts: a different count needs a new worker
    // (and a worker that died — out of memory, a crash — is replaced, so the next load starts clean)
    if (ui.model && ui.modelThreads === threads && !ui.model._dead) return ui.model;
    if (ui.model) ui.model.terminate();
    ui.model = createModel();
    ui.modelThreads = threads;
    window.ds2demo.model = ui.model;
    return ui.model;
}

function setBusy(loading) {
    $('load').disabled = loading;
    $('cancel-load').hidden = !loading;
    syncChatButtons();
}

async function loadModelFrom(src) {
    if (ui.loadCtl) ui.loadCtl.abort();
    if (ui.genCtl) ui.genCtl.abort();
    clearError();
    const ctl = new AbortController();
    ui.loadCtl = ctl;
    ui.info = null;
    setState('loading');
    setBusy(true);
    $('info-card').hidden = true;
    const settings = readSettings();
    const label = src.kind === 'file' ? src.files.map((f) => f.name).join(', ') : src.label || src.url;
    const prog = progressTracker(label);
    const t0 = performance.now();
    let refetched = [], fromCache = false, replaced = false;
    try {
        let source;
        if (src.kind === 'file') {
            source = src.files.length === 1 ? src.files[0] : [...src.files].sort((a, b) => a.name.localeCompare(b.name));
        } else if (ModelCache.supported() && !/-\d{5}-of-\d{5}\.gguf/.test(src.url)) {
            const got = await cache.fetchModel(src.url, { signal: ctl.signal, name: src.label, onProgress: prog.update });
            source = got.blob;
            refetched = got.refetched;
            fromCache = got.fromCache;
            replaced = !!got.replaced;
        } else {
            source = src.url; // split models (and browsers without the Cache API) stream straight into the engine
        }
        const model = engineFor(settings.threads);
        const info = await model.load(source, {
            signal: ctl.signal, threads: settings.threads,
            onProgress: (p) => prog.update({ phase: 'load', loaded: p.loaded, total: p.total }),
        });
        ui.info = info;
        ui.lastLoad = { kind: src.kind, label, refetched, fromCache, seconds: (performance.now() - t0) / 1000 };
        const note = replaced ? ' · the server has a new version of this file: downloaded again' : refetched.length ? ` · ${refetched.length} damaged cached chunk${refetched.length > 1 ? 's' : ''} re-fetched` : fromCache ? ' · from the offline cache' : '';
        prog.done(`loaded ${label} (${fmtBytes(info.weight_bytes)} of weights) in ${ui.lastLoad.seconds.toFixed(1)} s${note}`);
        $('progress-detail').dataset.refetched = String(refetched.length);
        renderInfo(info);
        setState('ready');
        updateMemory();
    } catch (e) {
        if (e && e.code === 'DS2_E_CANCELLED') { prog.fail('load cancelled'); setState(ui.info ? 'ready' : 'idle'); }
        else { prog.fail('load failed'); showError(e, `Could not load ${label}`); setState('error'); }
    } finally {
        if (ui.loadCtl === ctl) ui.loadCtl = null;
        setBusy(false);
        refreshCache(); // also after a failure: an interrupted download shows as incomplete
        // the Load button was disabled while loading (focus fell to the body): keyboard users go on typing
        if (ui.info && (document.activeElement === document.body || document.activeElement === $('load'))) $('prompt').focus();
    }
}

$('model-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const kind = sourceKind();
    if (kind === 'bundled') {
        if (!ui.bundled) return showError(new Error('this server has no bundled model'), 'No model');
        loadModelFrom({ kind, url: ui.bundled.url, label: ui.bundled.name });
    } else if (kind === 'url') {
        const u = $('model-url').value.trim();
        if (!u) { showError(new Error('enter the URL of a .gguf file'), 'No URL'); $('model-url').focus(); return; }
        let href;
        try { href = new URL(u, location.href).href; } catch { return showError(new Error(`not a URL: ${u}`), 'Bad URL'); }
        loadModelFrom({ kind, url: href, label: href.split('/').pop() });
    } else {
        const files = [...$('model-file').files];
        if (!files.length) { showError(new Error('choose a .gguf file first'), 'No file'); $('model-file').focus(); return; }
        loadModelFrom({ kind, files });
    }
});
$('cancel-load').addEventListener('click', () => ui.loadCtl && ui.loadCtl.abort());

// ---- model card -------------------------------------------------------------------------------------------

function renderInfo(info) {
    const dl = $('info');
    dl.textContent = '';
    const row = (k, v, html = false) => {
        const dt = document.createElement('dt'); dt.textContent = k;
        const dd = document.createElement('dd'); if (html) dd.innerHTML = v; else dd.textContent = v;
        dl.append(dt, dd);
        return dd;
    };
    const meta = info.meta || {};
    row('Name', meta['general.name'] || '(unnamed)');
    row('Architecture', `${meta['general.architecture'] || 'deepseek2'} · MLA + ${info.n_expert ? 'MoE' : 'dense'}`);
    row('Parameters', fmtCount(info.n_params));
    if (info.n_params_active !== undefined)
        row('Active / token', `${fmtCount(info.n_params_active)} (${info.n_expert_used} of ${info.n_expert} routed experts + ${info.n_expert_shared} shared)`);
    if (info.dtypes) row('Quant types', Object.entries(info.dtypes).sort((a, b) => b[1] - a[1]).map(([t, b]) => `${t} ${fmtBytes(b)}`).join(', '));
    row('Layers', `${info.n_layer} (${info.n_layer_dense} dense), hidden ${info.n_embd}, ${info.n_head} heads`);
    row('Context', `${info.nCtx} tokens (trained ${info.n_ctx_train})`);
    row('Vocabulary', `${info.n_vocab} tokens`);
    const kv = info.kv_bytes_per_token_f16, mha = info.mha_kv_bytes_per_token_f16;
    if (kv && mha) {
        const ratio = mha / kv;
        row('KV cache / token', `${fmtBytes(kv)} MLA latent vs ${fmtBytes(mha)} standard MHA (f16): ${ratio.toFixed(1)}× smaller` +
            `<span class="kvbar" style="width:${Math.max(2, 100 / ratio).toFixed(1)}%" title="MLA"></span><span class="kvbar mha" style="width:100%" title="MHA"></span>`, true);
        row('KV at full context', `${fmtBytes(kv * info.nCtx)} vs ${fmtBytes(mha * info.nCtx)}`);
    }
    row('Weights in memory', fmtBytes(info.weight_bytes));
    if (info.build) row('Engine build', `${info.build.name} (${info.build.compiled})${ui.modelThreads > 1 && /-mt$/.test(info.build.name) ? `, ${ui.modelThreads} threads` : ''}`).title = info.build.reason || '';
    row('Text', info.hasTokenizer ? 'tokenizer and chat template built in' : 'no tokenizer in this build');
    $('info-card').hidden = false;
}

// ---- chat -------------------------------------------------------------------------------------------------

function syncChatButtons() {
    const ready = !!ui.info && !ui.loadCtl;
    const generating = !!ui.genCtl;
    $('prompt').disabled = !ready;
    $('send').disabled = !ready || generating;
    $('stop').disabled = !generating;
    $('regen').disabled = !ready || generating || !ui.messages.some((m) => m.role === 'user');
    $('empty').hidden = ui.messages.length > 0;
}

function addMessage(role, text) {
    const li = document.createElement('li');
    li.className = `msg ${role}`;
    li.dataset.role = role;
    const t = document.createElement('span');
    t.className = 'text';
    t.textContent = text;
    li.append(t);
    $('messages').append(li);
    li.scrollIntoView({ block: 'end' });
    return li;
}

async function respond() {
    const settings = readSettings();
    const li = addMessage('assistant', '');
    li.classList.add('streaming');
    const textEl = li.querySelector('.text');
    const ctl = new AbortController();
    ui.genCtl = ctl;
    setState('generating');
    syncChatButtons();
    const before = await ui.model.stats().catch(() => null);
    const t0 = performance.now();
    let first = 0, pieces = 0, text = '';
    let result = null, failed = null;
    const opts = { signal: ctl.signal, maxTokens: settings.maxTokens, temperature: settings.temperature, topK: settings.topK,
        topP: settings.topP, minP: settings.minP, repeatPenalty: settings.repeatPenalty, seed: settings.seed };
    // The conversation must fit the context with room for the answer: when it does not (DS2_E_CONTEXT_FULL
    // before the first token), the oldest exchanges are left out of the prompt, then the answer is shortened.
    let convo = ui.messages.slice(), trimmed = 0, shortened = false;
    for (;;) {
        const it = ui.model.chat(convo, opts);
        failed = null;
        try {
            for await (const piece of it) {
                if (!first) first = performance.now();
                pieces++;
                // the template ends with "Assistant:"; the model's leading space is not part of the answer
                text = (text + piece).replace(/^\s+/, '');
                textEl.textContent = text;
                if (pieces % 4 === 0) {
                    const dt = (performance.now() - first) / 1000;
                    if (dt > 0) $('st-gen').textContent = (pieces / dt).toFixed(1);
                    li.scrollIntoView({ block: 'end' });
                }
            }
            result = await it.result;
        } catch (e) {
            failed = e;
        }
        if (!failed || failed.code !== 'DS2_E_CONTEXT_FULL' || pieces || ctl.signal.aborted) break;
        const firstUser = convo.findIndex((m) => m.role === 'user');
        if (convo.filter((m) => m.role === 'user').length > 1) {
            // drop the oldest user turn and the answer to it (a system message, if any, stays)
            const next = convo.findIndex((m, i) => i > firstUser && m.role === 'user');
            convo = [...convo.slice(0, firstUser), ...convo.slice(next)];
            trimmed++;
            continue;
        }
        if (shortened) break;
        const nCtx = ui.info.nCtx;
        const promptLen = (await ui.model.tokenize(convo.map((m) => m.content).join('\n')).catch(() => [])).length + 32;
        if (promptLen >= nCtx - 1) break;
        opts.maxTokens = Math.min(opts.maxTokens, nCtx - promptLen);
        shortened = true;
    }
    li.classList.remove('streaming');
    const after = await ui.model.stats().catch(() => null);
    const meta = document.createElement('span');
    meta.className = 'meta';
    if (before && after) {
        const dp = after.promptTokens - before.promptTokens, dpm = after.promptMs - before.promptMs;
        const dg = after.genTokens - before.genTokens, dgm = after.genMs - before.genMs;
        const ptps = dpm > 0 ? (dp / dpm) * 1000 : 0, gtps = dgm > 0 ? (dg / dgm) * 1000 : 0;
        $('st-prompt').textContent = ptps ? ptps.toFixed(1) : '–';
        $('st-gen').textContent = gtps ? gtps.toFixed(1) : '–';
        meta.textContent = `${dg} tokens · prompt ${dp} tokens at ${ptps.toFixed(0)} tok/s · ${gtps.toFixed(1)} tok/s`;
        li.dataset.tokens = String(dg);
        $('st-mem').textContent = fmtBytes(after.heapBytes);
    }
    if (failed && failed.code !== 'DS2_E_CANCELLED') {
        meta.textContent += (meta.textContent ? ' · ' : '') + 'failed';
        showError(failed, 'Generation failed');
        li.dataset.status = 'error';
    } else if (ctl.signal.aborted || (result && result.aborted) || (failed && failed.code === 'DS2_E_CANCELLED')) {
        meta.textContent += ' · stopped';
        li.dataset.status = 'stopped';
    } else {
        li.dataset.status = 'done';
    }
    if (trimmed) meta.textContent += ` · ${trimmed} oldest exchange${trimmed > 1 ? 's' : ''} left out to fit the ${ui.info.nCtx}-token context`;
    if (shortened) meta.textContent += ` · max tokens lowered to ${opts.maxTokens} to fit the context`;
    li.append(meta);
    li.dataset.seed = String(settings.seed);
    ui.messages.push({ role: 'assistant', content: text });
    if (ui.genCtl === ctl) ui.genCtl = null;
    setState(ui.info ? 'ready' : 'idle');
    syncChatButtons();
    if (document.activeElement === $('stop') || document.activeElement === document.body) $('prompt').focus();
}

$('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('prompt').value.trim();
    if (!text || !ui.info || ui.genCtl) return;
    $('prompt').value = '';
    ui.messages.push({ role: 'user', content: text });
    addMessage('user', text);
    respond();
});
$('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('chat-form').requestSubmit(); }
});
document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && ui.genCtl) { e.preventDefault(); ui.genCtl.abort(); }
});
$('stop').addEventListener('click', () => ui.genCtl && ui.genCtl.abort());
$('regen').addEventListener('click', () => {
    if (ui.genCtl || !ui.info) return;
    // drop the last answer (if any) and answer the last user message again with the current settings
    if (ui.messages.length && ui.messages[ui.messages.length - 1].role === 'assistant') {
        ui.messages.pop();
        const items = $('messages').querySelectorAll('.msg.assistant');
        if (items.length) items[items.length - 1].remove();
    }
    respond();
});
$('clear').addEventListener('click', () => {
    if (ui.genCtl) ui.genCtl.abort();
    ui.messages = [];
    $('messages').textContent = '';
    syncChatButtons();
    $('prompt').focus();
});

async function updateMemory() {
    if (!ui.model) return;
    const s = await ui.model.stats().catch(() => null);
    if (s) $('st-mem').textContent = fmtBytes(s.heapBytes);
}

// ---- cache panel ------------------------------------------------------------------------------------------

async function refreshCache() {
    const list = $('cache-list');
    try {
        const [models, st] = await Promise.all([cache.list(), storageInfo()]);
        list.textContent = '';
        if (!models.length) {
            const li = document.createElement('li');
            li.className = 'muted';
            li.textContent = 'No models stored yet.';
            list.append(li);
        }
        for (const m of models) {
            const li = document.createElement('li');
            li.dataset.url = m.url;
            const s = document.createElement('span');
            s.textContent = `${m.name} · ${fmtBytes(m.stored)}${m.complete ? '' : ` of ${fmtBytes(m.size)} (incomplete)`} · ${m.chunks} chunks`;
            const b = document.createElement('button');
            b.type = 'button';
            b.textContent = 'Delete';
            b.setAttribute('aria-label', `Delete ${m.name} from offline storage`);
            b.addEventListener('click', async () => {
                b.disabled = true;
                try { await cache.delete(m.url); } catch (e) { showError(e, 'Could not delete'); }
                await refreshCache();
                $('cache-refresh').focus();
            });
            li.append(s, b);
            list.append(li);
        }
        const usage = st.usage !== null ? `${fmtBytes(st.usage)} used of ${fmtBytes(st.quota)} available to this site` : 'storage estimate unavailable';
        $('storage').textContent = `${usage} · ${st.persisted ? 'persistent (kept under storage pressure)' : 'not persistent (the browser may evict it)'}`;
        $('persist').disabled = !!st.persisted;
    } catch (e) {
        $('storage').textContent = `offline storage unavailable: ${e.message}`;
    }
}
$('cache-refresh').addEventListener('click', refreshCache);
$('persist').addEventListener('click', async () => {
    const ok = await requestPersistence();
    if (!ok) notice('The browser did not grant persistent storage (it decides from site engagement; bookmarking or installing the page helps).', 'notice-persist');
    refreshCache();
});

// ---- start ------------------------------------------------------------------------------------------------

async function registerServiceWorker() {
    if (!('serviceWorker' in navigator)) return;
    try {
        await navigator.serviceWorker.register(new URL('./sw.js', import.meta.url), { scope: new URL('../', import.meta.url).pathname });
    } catch (e) {
        // a server without `Service-Worker-Allowed: /` (scripts/serve.mjs sends it): the page works, not offline
        notice(`Offline mode is off: the service worker could not be registered (${e.message}).`, 'notice-sw');
    }
}

async function start() {
    setState('idle');
    environment();
    restoreSettings();
    syncPicker();
    syncChatButtons();
    registerServiceWorker();
    await loadBundledList();
    refreshCache();
    const params = new URLSearchParams(location.search);
    if (ui.bundled && params.get('autoload') !== '0') {
        $('load').focus();
        loadModelFrom({ kind: 'bundled', url: ui.bundled.url, label: ui.bundled.name });
    }
    window.ds2demo.ready = true;
}

start().catch((e) => showError(e, 'The page could not start'));

