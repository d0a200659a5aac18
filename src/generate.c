/* generate.c — prompt → tokens → text with stop conditions (see generate.h). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "generate.h"
#include "session.h"

ds2_generate_params ds2_generate_default_params(void) {
    ds2_generate_params p;
    memset(&p, 0, sizeof p);
    p.max_tokens = -1;
    p.sampler = ds2_sampler_default_params();
    p.stop_at_eos = 1;
    return p;
}

int ds2_stop_find(const char *text, size_t len, const char *const *stop, const size_t *stop_len, int32_t n,
                  size_t *at, size_t *match_len) {
    for (size_t i = 0; i < len; i++) {
        size_t best = 0;
        for (int32_t k = 0; k < n; k++)
            if (stop_len[k] > best && stop_len[k] <= len - i && !memcmp(text + i, stop[k], stop_len[k]))
                best = stop_len[k];
        if (best) {
            *at = i;
            if (match_len) *match_len = best;
            return 1;
        }
    }
    return 0;
}

size_t ds2_stop_partial(const char *text, size_t len, const char *const *stop, const size_t *stop_len, int32_t n) {
    size_t hold = 0;
    for (int32_t k = 0; k < n; k++) {
        size_t m = stop_len[k] - 1 < len ? stop_len[k] - 1 : len; /* proper prefixes only */
        for (; m > hold; m--)
            if (!memcmp(text + len - m, stop[k], m)) {
                hold = m;
                break;
            }
    }
    return hold;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

typedef struct gen_state {
    char *pending;   /* decoded text not yet given to the callback */
    size_t n_pending, cap_pending;
    char *piece;     /* one detokenizer output */
    size_t cap_piece;
    size_t *stop_len;
} gen_state;

ds2_status ds2_generate(ds2_session *s, const int32_t *prompt, int32_t n_prompt, const ds2_generate_params *params,
                        ds2_token_fn on_token, void *ud, const volatile int32_t *cancel, ds2_generate_stats *stats,
                        ds2_error *err) {
    ds2_generate_stats st_local;
    ds2_generate_stats *stt = stats ? stats : &st_local;
    memset(stt, 0, sizeof *stt);
    if (!s || !prompt || n_prompt < 1)
        return ds2_fail(err, DS2_E_INVALID_ARG,
                        "ds2_generate: needs a session and at least one prompt token (to continue a cache, truncate "
                        "it by one and pass its last token)");
    const ds2_generate_params p = params ? *params : ds2_generate_default_params();
    if (p.n_stop < 0 || (p.n_stop > 0 && !p.stop) || p.context_shift_keep < 0)
        return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_generate: invalid stop list (%d) or context_shift_keep (%d)",
                        p.n_stop, p.context_shift_keep);
    const ds2_model *m = s->model;
    const int32_t V = m->hp.n_vocab;
    if (n_prompt > s->n_ctx - s->n_past)
        return ds2_fail(err, DS2_E_CONTEXT_FULL, "the prompt of %d tokens does not fit: %d of %d positions are used",
                        n_prompt, s->n_past, s->n_ctx);

    /* ---- everything the loop needs, allocated now ---- */
    ds2_status st = DS2_OK;
    gen_state g;
    memset(&g, 0, sizeof g);
    ds2_sampler *smp = NULL;
    ds2_detokenizer *det = NULL;
    float *logits = malloc((size_t)V * sizeof *logits);
    g.stop_len = malloc(((size_t)p.n_stop + 1) * sizeof *g.stop_len);
    if (!logits || !g.stop_len) { st = ds2_fail(err, DS2_E_NOMEM, NULL); goto done; }
    size_t max_stop = 0;
    for (int32_t k = 0; k < p.n_stop; k++) {
        if (!p.stop[k] || !p.stop[k][0]) {
            st = ds2_fail(err, DS2_E_INVALID_ARG, "stop string %d is empty", k);
            goto done;
        }
        g.stop_len[k] = strlen(p.stop[k]);
        if (g.stop_len[k] > max_stop) max_stop = g.stop_len[k];
    }
    if ((st = ds2_sampler_create(V, &p.sampler, &smp, err)) != DS2_OK) goto done;
    /* Text needs the tokenizer; without one, ids are still generated (pieces are empty) unless stop strings
     * were asked for. */
    const int32_t eos = ds2_token_eos(m);
    if (ds2_detokenizer_create(m, &det, err) == DS2_OK) {
        size_t max_tok = 0, n;
        const int32_t nv = ds2_vocab_size(m);
        for (int32_t id = 0; id < nv; id++)
            if (ds2_token_to_bytes(m, id, NULL, 0, &n, NULL) == DS2_E_INVALID_ARG && n > max_tok) max_tok = n;
        g.cap_piece = 3 * (max_tok + 4) + 8; /* ≤ 3 output bytes per input byte, + 3 held from before */
    } else if (p.n_stop > 0) {
        st = err ? err->code : DS2_E_NO_TOKENIZER;
        goto done;
    } else {
        g.cap_piece = 16;
    }
    g.cap_pending = max_stop + g.cap_piece + 16;
    g.piece = malloc(g.cap_piece);
    g.pending = malloc(g.cap_pending);
    if (!g.piece || !g.pending) { st = ds2_fail(err, DS2_E_NOMEM, NULL); goto done; }
    if (err) ds2_error_clear(err);

    /* ---- prompt ---- */
    for (int32_t i = 0; i < n_prompt; i++) ds2_sampler_accept(smp, prompt[i]);
    double t0 = now_ms();
    for (int32_t done_n = 0; done_n < n_prompt;) {
        if (cancel && *cancel) { stt->stop_reason = DS2_STOP_CANCELLED; st = ds2_fail(err, DS2_E_CANCELLED, NULL); goto done; }
        const int32_t T = n_prompt - done_n < s->n_batch ? n_prompt - done_n : s->n_batch;
        const int last = done_n + T == n_prompt;
        if ((st = ds2_session_eval(s, prompt + done_n, T, last ? DS2_LOGITS_LAST : DS2_LOGITS_NONE, logits, err)) != DS2_OK)
            goto done;
        done_n += T;
        stt->n_prompt = done_n;
    }
    double t1 = now_ms();
    stt->prompt_ms = t1 - t0;

    /* ---- generation ---- */
    ds2_stop_reason reason = DS2_STOP_NONE;
    for (;;) {
        if (cancel && *cancel) { reason = DS2_STOP_CANCELLED; break; }
        if (p.max_tokens >= 0 && stt->n_gen >= p.max_tokens) { reason = DS2_STOP_MAX_TOKENS; break; }
        const int32_t id = ds2_sampler_sample(smp, logits);
        stt->n_gen++;
        ds2_sampler_accept(smp, id);
        if (p.stop_at_eos && id == eos) { reason = DS2_STOP_EOS; break; }
        size_t n = 0;
        if (det && (st = ds2_detokenizer_push(det, id, g.piece, g.cap_piece, &n, err)) != DS2_OK) goto done;
        memcpy(g.pending + g.n_pending, g.piece, n);
        g.n_pending += n;
        size_t at, mlen, emit;
        const int hit = ds2_stop_find(g.pending, g.n_pending, p.stop, g.stop_len, p.n_stop, &at, &mlen);
        emit = hit ? at : g.n_pending - ds2_stop_partial(g.pending, g.n_pending, p.stop, g.stop_len, p.n_stop);
        const int stop_cb = on_token ? on_token(ud, id, g.pending, emit) : 0;
        memmove(g.pending, g.pending + emit, g.n_pending - emit);
        g.n_pending -= emit;
        if (hit) { reason = DS2_STOP_STRING; break; }
        if (stop_cb) { reason = DS2_STOP_CALLBACK; break; }
        if (p.max_tokens >= 0 && stt->n_gen >= p.max_tokens) { reason = DS2_STOP_MAX_TOKENS; break; }
        if (s->n_past >= s->n_ctx) {
            const int32_t keep = p.context_shift_keep;
            if (keep <= 0 || keep >= s->n_past - 1) { reason = DS2_STOP_CONTEXT_FULL; break; }
            const int32_t discard = (s->n_past - keep + 1) / 2;
            if ((st = ds2_session_shift(s, keep, discard, err)) != DS2_OK) goto done;
            stt->n_shifted += discard;
        }
        if ((st = ds2_session_eval(s, &id, 1, DS2_LOGITS_LAST, logits, err)) != DS2_OK) goto done;
    }
    stt->stop_reason = reason;
    /* text still held: an unfinished character (as U+FFFD) and a partial stop string that never completed */
    if (reason != DS2_STOP_STRING && reason != DS2_STOP_CALLBACK) {
        size_t n = 0;
        if (det && (st = ds2_detokenizer_flush(det, g.pending + g.n_pending, g.cap_pending - g.n_pending, &n, err)) != DS2_OK)
            goto done;
        g.n_pending += n;
        size_t at = 0, mlen;
        const int hit = ds2_stop_find(g.pending, g.n_pending, p.stop, g.stop_len, p.n_stop, &at, &mlen);
        if (hit) stt->stop_reason = DS2_STOP_STRING;
        const size_t emit = hit ? at : g.n_pending;
        if (emit && on_token) on_token(ud, -1, g.pending, emit);
    }
    double t2 = now_ms();
    stt->gen_ms = t2 - t1;
    if (stt->prompt_ms > 0) stt->prompt_tps = stt->n_prompt * 1e3 / stt->prompt_ms;
    if (stt->gen_ms > 0) stt->gen_tps = stt->n_gen * 1e3 / stt->gen_ms;
    if (reason == DS2_STOP_CANCELLED) st = ds2_fail(err, DS2_E_CANCELLED, "generation cancelled after %d tokens", stt->n_gen);
done:
    free(logits);
    free(g.stop_len);
    free(g.piece);
    free(g.pending);
    ds2_sampler_free(smp);
    ds2_detokenizer_free(det);
    return st;
}
