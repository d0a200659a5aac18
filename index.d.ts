// Types for deepseek2-wasm (browser: web/client.js, Node: wasm/node.js — the same Model API).

/** Every failure: `code` is the C status name (e.g. "DS2_E_TRUNCATED"), `message` the C message. */
export declare class DS2Error extends Error {
    constructor(code: string, message: string);
    readonly code: string;
}

export interface Progress {
    /** Source bytes received so far (monotonic). */
    loaded: number;
    /** Source bytes in all (null while unknown); the last event has loaded === total. */
    total: number | null;
    /** Bytes per second since the load started. */
    rate: number;
}

export type BuildName = 'relaxed-mt' | 'simd-mt' | 'simd' | 'nosimd';

/** A URL (string or URL), gguf-split shards (a `-00001-of-0000N.gguf` name expands to all), a File/Blob, bytes;
 *  in Node also a file path (streamed from disk). */
export type ModelSource =
    | string | URL | Blob | ArrayBuffer | ArrayBufferView | { path: string }
    | Array<string | URL | Blob | { path: string }>;

export interface LoadOptions {
    onProgress?: (p: Progress) => void;
    /** Cancels the load; its memory is freed. */
    signal?: AbortSignal;
    /** Transfer (detach) an ArrayBuffer source to the worker instead of copying it. */
    transfer?: boolean;
    /** Force a build instead of the detected best one. */
    build?: BuildName;
    /** Folder (URL or path) holding the ds2-*.mjs / .wasm builds; default: the package's wasm/dist/. */
    wasmDir?: string;
    /** Context length in tokens (0: min(training context, 4096)). */
    nCtx?: number;
    nBatch?: number;
    /** Engine threads (SIMD + threads build only). */
    threads?: number;
    /** KV-cache element type (default 'f16', as the C library, the CLI and llama.cpp: half the memory). */
    kvType?: 'f32' | 'f16';
    attn?: 'auto' | 'absorbed' | 'naive';
    /** Re-slice source chunks to at most this many bytes (tests: chunking must not matter). */
    chunkSize?: number;
    /** Retries of an interrupted download (Range resume) before DS2_E_TRUNCATED. Default 3. */
    retries?: number;
    /** Accept a vocabulary-only GGUF (tokenize, no eval). */
    allowVocabOnly?: boolean;
}

export interface GenerateTokensOptions {
    maxTokens?: number;
    /** 0 (default) = greedy: the first index of the maximum logit, as the native CLI. */
    temperature?: number;
    /** Sampler options left out take the C defaults (ds2_sampler_default_params; ModelInfo.samplerDefaults). */
    topK?: number;
    topP?: number;
    minP?: number;
    repeatPenalty?: number;
    presencePenalty?: number;
    frequencyPenalty?: number;
    /** Accepted tokens (prompt included) the penalties look at; -1 = 8192. */
    penaltyLastN?: number;
    seed?: number;
    /** Called with each id as it is generated (generateTokens). The worker stays at most one token ahead of it:
     *  aborting `signal` in onToken(k-th id) returns at most k + 1 ids. */
    onToken?: (id: number) => void;
    /** Token ids: stop when one is generated (it is included in the ids, its text is not emitted). Strings (text
     *  calls): stop when the output text contains one, also across tokens; the text before it is emitted, the
     *  string itself is not (as ds2_generate). */
    stop?: Array<number | string>;
    /** Stop at the model's end-of-sequence id. Default false for token calls, true for text calls. */
    stopAtEos?: boolean;
    signal?: AbortSignal;
}

export interface GenerateOptions extends GenerateTokensOptions {
    addBos?: boolean;
    parseSpecial?: boolean;
    /** chat: reuse the cached prefix (default true). A call whose messages are the previous call's messages, its
     *  reply and new messages evaluates only the new tokens, as `ds2 chat` does. */
    cache?: boolean;
}

export interface SamplerDefaults {
    temperature: number; topK: number; topP: number; minP: number; repeatPenalty: number;
    presencePenalty: number; frequencyPenalty: number; penaltyLastN: number; seed: number;
}

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface GenerateResult {
    text: string;
    /** Every generated id (the EOS or stop id that ended generation included). */
    tokens: number[];
    aborted: boolean;
    stopReason: 'eos' | 'stop' | 'stop-id' | 'max-tokens' | 'cancelled';
    /** Prompt ids evaluated by this call, and prompt ids reused from the cache (chat). */
    promptTokens: number;
    cachedTokens: number;
}

export interface PieceStream extends AsyncIterableIterator<string> {
    /** Resolves when generation ends. Asking for it before the loop has ended lets generation run ahead of the
     *  loop (an abort then ends it within one message round trip instead of one token). */
    readonly result: Promise<GenerateResult>;
    /** Ids behind the pieces taken so far (the piece just returned included). Generation is at most one id ahead
     *  of this while the loop runs: breaking out (or aborting) here ends with at most tokenCount + 1 ids. */
    readonly tokenCount: number;
}

export interface ModelInfo {
    has_weights: number; n_vocab: number; n_ctx_train: number; n_embd: number; n_layer: number; n_head: number;
    n_expert: number; n_expert_used: number; kv_lora_rank: number; weight_bytes: number; n_params: number;
    bos_id: number; eos_id: number; meta: Record<string, string>;
    /** Context of the session. */
    nCtx: number;
    hasTokenizer: boolean;
    /** The C sampler defaults the worker uses for options left out. */
    samplerDefaults: SamplerDefaults | null;
    /** The build in use and why it was picked. */
    build: { name: BuildName; reason: string; compiled: string; url: string };
    [key: string]: unknown;
}

export interface Stats {
    loadMs: number; loadBytes: number;
    promptTokens: number; promptMs: number; promptTokensPerSecond: number;
    genTokens: number; genMs: number; genTokensPerSecond: number;
    /** Linear memory of the engine (grows, never shrinks) and bytes malloc'd in it. */
    heapBytes: number; heapUsed: number; weightBytes: number;
    build: BuildName;
}

export declare class Model {
    load(source: ModelSource, options?: LoadOptions): Promise<ModelInfo>;
    info(): Promise<ModelInfo>;
    stats(): Promise<Stats>;
    heap(options?: { build?: BuildName; wasmDir?: string }): Promise<{ heapBytes: number; heapUsed: number; build: BuildName; reason: string }>;
    unload(): Promise<null>;
    tokenize(text: string, options?: { addBos?: boolean; parseSpecial?: boolean }): Promise<number[]>;
    detokenize(ids: ArrayLike<number>): Promise<string>;
    /** positions × n_vocab, row-major. */
    logits(ids: ArrayLike<number>, options?: { signal?: AbortSignal }): Promise<Float32Array>;
    /** Continuation ids; `ids` are used as given (no BOS added). */
    generateTokens(ids: ArrayLike<number>, options?: GenerateTokensOptions): Promise<number[]>;
    generate(prompt: string, options?: GenerateOptions): PieceStream;
    chat(messages: ChatMessage[], options?: GenerateOptions): PieceStream;
    terminate(): void;
    /** Node: unload and stop the worker. */
    dispose?(): Promise<void>;
}

export declare function loadModel(source: ModelSource, options?: LoadOptions): Promise<Model>;
export declare function createModel(options?: { workerUrl?: string | URL }): Model;

export interface Features {
    isNode: boolean; simd: boolean; relaxedSimd: boolean; sharedArrayBuffer: boolean; sharedMemory: boolean;
    crossOriginIsolated: boolean; cores: number;
}
export declare function detectFeatures(): Features;
export declare function pickBuild(options?: { prefer?: BuildName; features?: Features }):
    { build: BuildName; file: string; threads: boolean; reason: string; features: Features };
