/* detokenizer.c — streaming token → text that only ever emits complete UTF-8.
 *
 * A multi-byte character may be split across tokens (byte-level BPE); the bytes of an incomplete but so far
 * valid sequence at the end are held until the next push completes it. Invalid bytes are emitted as U+FFFD at
 * once (one per maximal ill-formed subsequence), so pieces concatenate to the lossy decoding of the whole
 * stream. Control tokens (BOS, EOS, …) emit nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "error.h"
#include "model.h"
#include "tokenizer.h"
#include "unicode.h"

struct ds2_detokenizer {
    const ds2_model *model;
    unsigned char held[4]; /* an incomplete sequence: at most 3 bytes */
    size_t n_held;
    unsigned char *buf;    /* held + the token's bytes */
    size_t cap;
};

ds2_status ds2_detokenizer_create(const ds2_model *m, ds2_detokenizer **out, ds2_error *err) {
    if (!m || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_detokenizer_create: NULL argument");
    *out = NULL;
    if (!m->tok) {
        if (err) *err = m->tok_err;
        return m->tok_err.code != DS2_OK ? m->tok_err.code : DS2_E_NO_TOKENIZER;
    }
    ds2_detokenizer *d = calloc(1, sizeof *d);
    if (!d) return ds2_fail(err, DS2_E_NOMEM, NULL);
    d->model = m;
    *out = d;
    return DS2_OK;
}

void ds2_detokenizer_reset(ds2_detokenizer *d) {
    if (d) d->n_held = 0;
}

void ds2_detokenizer_free(ds2_detokenizer *d) {
    if (!d) return;
    free(d->buf);
    free(d);
}

ds2_status ds2_detokenizer_push(ds2_detokenizer *d, int32_t id, char *out, size_t cap, size_t *len,
                                ds2_error *err) {
    if (len) *len = 0;
    if (!d || !len || (!out && cap)) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_detokenizer_push: NULL argument");
    const ds2_tokenizer *t = d->model->tok;
    if (id < 0 || id >= ds2_tokenizer_n_vocab(t))
        return ds2_fail(err, DS2_E_BAD_TOKEN, "token %d is outside the vocabulary [0, %d)", (int)id,
                        (int)ds2_tokenizer_n_vocab(t));
    if (ds2_token_is_control(d->model, id)) return DS2_OK;
    size_t n = ds2_tokenizer_token_bytes(t, id, NULL, 0), total = d->n_held + n;
    if (total > d->cap) {
        unsigned char *b = realloc(d->buf, total);
        if (!b) return ds2_fail(err, DS2_E_NOMEM, NULL);
        d->buf = b, d->cap = total;
    }
    memcpy(d->buf, d->held, d->n_held);
    ds2_tokenizer_token_bytes(t, id, (char *)d->buf + d->n_held, n);
    size_t done = ds2_utf8_complete_prefix(d->buf, total);
    /* worst case 3 output bytes (U+FFFD) per input byte; if the caller's buffer might not do, go through a
     * temporary so that "too small" leaves the state untouched */
    if (done * 3 > cap) {
        char *tmp = malloc(done * 3 + 1);
        if (!tmp) return ds2_fail(err, DS2_E_NOMEM, NULL);
        size_t w = ds2_utf8_lossy(d->buf, done, tmp);
        if (w > cap) {
            free(tmp);
            *len = w;
            return ds2_fail(err, DS2_E_INVALID_ARG, "output buffer too small: %zu bytes needed, capacity %zu", w,
                            cap);
        }
        memcpy(out, tmp, w);
        free(tmp);
        *len = w;
    } else {
        *len = ds2_utf8_lossy(d->buf, done, out);
    }
    d->n_held = total - done;
    memcpy(d->held, d->buf + done, d->n_held);
    return DS2_OK;
}

ds2_status ds2_detokenizer_flush(ds2_detokenizer *d, char *out, size_t cap, size_t *len, ds2_error *err) {
    if (len) *len = 0;
    if (!d || !len || (!out && cap)) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_detokenizer_flush: NULL argument");
    char tmp[16];
    size_t w = ds2_utf8_lossy(d->held, d->n_held, tmp);
    *len = w;
    if (w > cap) return ds2_fail(err, DS2_E_INVALID_ARG, "output buffer too small: %zu bytes needed", w);
    memcpy(out, tmp, w);
    d->n_held = 0;
    return DS2_OK;
}
