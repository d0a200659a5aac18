// protocol.js — the one message schema between a client (browser main thread or Node) and the engine worker.
//
// Requests   client → worker: { id, op, args }           (one per call; `id` unique per client)
// Replies    worker → client: { id, type: 'result', result }
//                             { id, type: 'error', error: { code, message } }
// Streams    worker → client: { id, type: 'progress', loaded, total, rate }   (during 'load')
//                             { id, type: 'piece', text, token }              (during 'generate' / 'chat')
//                             then one 'result' or 'error' ends the stream.
// Cancel     client → worker: { op: 'abort', target: id }                     (an AbortSignal fired)
// Pace       client → worker: { op: 'ack', target: id, n }                    (the caller has taken n tokens)
// Ready      worker → client: { type: 'ready' } once, when the worker's module has been evaluated.
//
// Every request gets exactly one 'result' or 'error' reply: that is what makes "never a silent hang" hold; a
// worker that dies rejects every pending request on the client side (code DS2_E_WORKER).

export const OP = Object.freeze({
    LOAD: 'load',                 // args: { source, options }
    UNLOAD: 'unload',
    INFO: 'info',
    STATS: 'stats',
    TOKENIZE: 'tokenize',         // args: { text, addBos, parseSpecial }
    DETOKENIZE: 'detokenize',     // args: { ids }
    LOGITS: 'logits',             // args: { ids } → Float32Array (positions × vocab)
    GENERATE_TOKENS: 'generateTokens', // args: { ids, options, stream } — streams { token } pieces if stream
    GENERATE: 'generate',         // args: { prompt, options } — streams pieces
    CHAT: 'chat',                 // args: { messages, options } — streams pieces
    HEAP: 'heap',                 // test hook: { heapBytes, heapUsed } of the engine instance
    ABORT: 'abort',               // args: none; `target` names the request to cancel
    // A streamed generation runs at most one token ahead of its consumer: before computing token j the worker
    // waits until the client has acked j − 1 tokens (taken by the caller: onToken returned / the iterator was
    // asked for more). An abort made upon receiving token k is posted before any ack of k, so at most one more
    // token is produced. `n` = tokens taken so far (Infinity: stop pacing).
    ACK: 'ack',
    EXIT: 'exit',                 // no reply: the worker frees everything and ends (Node's model.dispose())
});

export const TYPE = Object.freeze({
    READY: 'ready',
    RESULT: 'result',
    ERROR: 'error',
    PROGRESS: 'progress',
    PIECE: 'piece',
});

// Codes the JS layer adds to the C status names (src/status.h) for failures that have no C counterpart.
export const JS_CODES = Object.freeze({
    WORKER: 'DS2_E_WORKER',       // the worker died or could not start
    NETWORK: 'DS2_E_NETWORK',     // HTTP error status (404, 500…)
    ABORTED: 'DS2_E_CANCELLED',   // same name as the C status: a cancel is a cancel
    NO_MODEL: 'DS2_E_STATE',      // a call that needs a loaded model before load()
});

/** An Error carrying the C status name as `code` (the shape every failure reaches callers in). */
export class DS2Error extends Error {
    constructor(code, message) {
        super(message);
        this.name = 'DS2Error';
        this.code = code;
    }
}

/** Error → structured-cloneable object (Error subclasses lose `code` in some structured-clone versions). */
export function errorToWire(e) {
    if (e && typeof e === 'object' && typeof e.code === 'string' && e.code.startsWith('DS2_'))
        return { code: e.code, message: String(e.message) };
    if (e && e.name === 'AbortError') return { code: JS_CODES.ABORTED, message: 'cancelled' };
    return { code: 'DS2_E_INTERNAL', message: String((e && e.stack) || e) };
}

export function errorFromWire(w) {
    return new DS2Error(w.code, w.message);
}
