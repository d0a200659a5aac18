/* session.c — session creation (every buffer sized and allocated here, once), evaluation in batches of
 * n_batch tokens, and cache truncation. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels/attn.h"
#include "moe.h"
#include "session.h"

ds2_session_params ds2_session_default_params(void) {
    ds2_session_params p = {0};
    p.n_ctx = 0;
    p.n_batch = 512;
    p.n_threads = 1;
    p.kv_type = DS2_KV_F16;
    p.attn_mode = DS2_ATTN_AUTO;
    return p;
}

#define MAX2(a, b) ((a) > (b) ? (a) : (b))

/* All buffers in one list so create/free cannot drift apart. */
#define SESSION_BUFFERS(X)                                                                                  \
    X(kv_latent) X(kv_pe) X(x) X(a) X(cq) X(q) X(kva) X(q_abs) X(o_lat) X(o) X(cs) X(tmp) X(scores) \
    X(w_uk) X(kv_naive) X(lat) X(router) X(select) X(sel_ids) X(sel_w) X(exp_rows) X(exp_count) X(ffn_ws)     \
    X(qbuf) X(qbuf2) X(attn_scratch) X(attn_shared) X(qhead)

void ds2_session_free(ds2_session *s) {
    if (!s) return;
#define FREE_BUF(name) free(s->name);
    SESSION_BUFFERS(FREE_BUF)
#undef FREE_BUF
    ds2_pool_free(s->pool);
    free(s);
}

/* n·size with overflow check; 0 on overflow (callers treat 0 for a non-empty request as failure). */
static size_t mul_size(size_t n, size_t size) { return size && n > SIZE_MAX / size ? 0 : n * size; }

static size_t act_bytes(int32_t wtype, int64_t cols, int64_t rows) {
    return wtype < 0 ? 0 : ds2_matmul_qbuf_bytes(wtype, cols, rows);
}

/* Largest quantized-activation buffer any product of this model needs for `rows` activation rows. */
static size_t qbuf_size(const ds2_model *m, int64_t rows, int64_t naive_rows) {
    const ds2_hparams *hp = &m->hp;
    const ds2_weights *w = &m->w;
    size_t b = act_bytes(w->output.type, hp->n_embd, rows);
    for (int l = 0; l < hp->n_layer; l++) {
        const ds2_layer *L = &w->layers[l];
        const ds2_tensor *ts[] = {&L->q, &L->q_a, &L->q_b, &L->kv_a_mqa, &L->kv_b, &L->k_b, &L->v_b,
                                  &L->attn_out, &L->ffn_gate, &L->ffn_up, &L->ffn_down, &L->gate_inp,
                                  &L->gate_exps, &L->up_exps, &L->down_exps, &L->gate_shexp, &L->up_shexp,
                                  &L->down_shexp};
        for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
            if (ts[i]->data) b = MAX2(b, act_bytes(ts[i]->type, ts[i]->ne[0], rows));
        if (naive_rows > rows) {
            const ds2_tensor *kvt = w->split_kv_b ? &L->v_b : &L->kv_b;
            b = MAX2(b, act_bytes(kvt->type, kvt->ne[0], naive_rows));
        }
    }
    return b;
}

ds2_status ds2_session_create(const ds2_model *m, const ds2_session_params *params, ds2_session **out,
                              ds2_error *err) {
    if (!m || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_session_create: NULL argument");
    *out = NULL;
    if (!m->has_weights)
        return ds2_fail(err, DS2_E_STATE, "this model has no weights (vocabulary-only file); it cannot be evaluated");
    ds2_session_params p = params ? *params : ds2_session_default_params();
    const ds2_hparams *hp = &m->hp;
    if (p.n_ctx < 0 || p.n_batch < 0 || p.n_threads < 0 || p.n_threads > 256 ||
        (p.kv_type != DS2_KV_F32 && p.kv_type != DS2_KV_F16) || p.attn_mode < DS2_ATTN_AUTO ||
        p.attn_mode > DS2_ATTN_NAIVE)
        return ds2_fail(err, DS2_E_INVALID_ARG,
                        "invalid session parameters (n_ctx %d, n_batch %d, n_threads %d, kv_type %d, attn_mode %d)",
                        p.n_ctx, p.n_batch, p.n_threads, (int)p.kv_type, (int)p.attn_mode);
    if (p.n_ctx == 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads == 0) p.n_threads = 1;

    ds2_session *s = calloc(1, sizeof *s);
    if (!s) return ds2_fail(err, DS2_E_NOMEM, NULL);
    s->model = m;
    s->params = p;
    s->n_ctx = p.n_ctx;
    s->n_batch = p.n_batch;
    s->kv_elem = p.kv_type == DS2_KV_F32 ? 4 : 2;
    ds2_rope_init(&s->rope, hp);
    ds2_status st = ds2_pool_create(p.n_threads, &s->pool, err);
    if (st != DS2_OK) {
        ds2_session_free(s);
        return st;
    }

    const size_t T = (size_t)p.n_batch, C = (size_t)p.n_ctx, L = (size_t)hp->n_layer, NT = (size_t)p.n_threads;
    const size_t D = hp->n_embd, H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dv = hp->v_head;
    const size_t dc = hp->kv_lora_rank, dq = dn + dr, E = hp->n_expert ? hp->n_expert : 1;
    const size_t K = hp->n_expert_used ? hp->n_expert_used : 1;
    const int naive = p.attn_mode == DS2_ATTN_NAIVE || (p.attn_mode == DS2_ATTN_AUTO && !m->w.split_kv_b);
    const size_t f = sizeof(float);
    /* absorbed attention: per-thread kernel scratch, and per-head inputs of the W_UK / W_UV products */
    s->attn_scratch_floats = (ds2_mqa_scratch_floats((int64_t)H, (int64_t)dc, (int64_t)dr, (int32_t)C) + 15) / 16 * 16;
    for (int l = 0; l < hp->n_layer; l++) {
        const ds2_layer *Ly = &m->w.layers[l];
        const ds2_tensor *wv = m->w.split_kv_b ? &Ly->v_b : &Ly->kv_b;
        if (m->w.split_kv_b) s->qhead_row_bytes[0] = MAX2(s->qhead_row_bytes[0], act_bytes(Ly->k_b.type, (int64_t)dn, 1));
        s->qhead_row_bytes[1] = MAX2(s->qhead_row_bytes[1], act_bytes(wv->type, (int64_t)dc, 1));
    }
    struct { void **ptr; size_t bytes; } plan[] = {
        {&s->kv_latent, mul_size(L * C * dc, s->kv_elem)},
        {&s->kv_pe, mul_size(L * C * dr, s->kv_elem)},
        {(void **)&s->x, mul_size(T * D, f)},
        {(void **)&s->a, mul_size(T * D, f)},
        {(void **)&s->cq, mul_size(T * MAX2((size_t)hp->q_lora_rank, 1), f)},
        {(void **)&s->q, mul_size(T * H * dq, f)},
        {(void **)&s->kva, mul_size(T * (dc + dr), f)},
        {(void **)&s->q_abs, mul_size(T * H * dc, f)},
        {(void **)&s->o_lat, mul_size(T * H * dc, f)},
        {(void **)&s->o, mul_size(T * H * dv, f)},
        {(void **)&s->cs, mul_size(T * dr, f)},
        {(void **)&s->tmp, mul_size(T * D, f)},
        {(void **)&s->scores, mul_size(NT * C, f)},
        {(void **)&s->w_uk, mul_size(NT * dn * dc, f)},
        {(void **)&s->kv_naive, naive ? mul_size(C * H * (dn + dv), f) : f},
        {(void **)&s->lat, naive ? mul_size(C * dc, f) : f},
        {(void **)&s->router, mul_size(T * E, f)},
        {(void **)&s->select, mul_size(2 * E, f)},
        {(void **)&s->sel_ids, mul_size(T * K, sizeof(int32_t))},
        {(void **)&s->sel_w, mul_size(T * K, f)},
        {(void **)&s->exp_rows, mul_size(T * K, sizeof(int32_t))},
        {(void **)&s->exp_count, mul_size(E, sizeof(int32_t))},
        {&s->ffn_ws, ds2_ffn_workspace_bytes(m, p.n_batch, p.n_threads)},
        {&s->qbuf, qbuf_size(m, (int64_t)T, naive ? (int64_t)C : 0)},
        {&s->qbuf2, qbuf_size(m, (int64_t)T, 0)},
        {(void **)&s->attn_scratch, mul_size(NT * s->attn_scratch_floats, f)},
        {(void **)&s->attn_shared, mul_size(ds2_mqa_shared_floats((int64_t)H, (int32_t)C), f)},
        {&s->qhead, mul_size(H * T, MAX2(MAX2(s->qhead_row_bytes[0], s->qhead_row_bytes[1]), 1))},
    };
    for (size_t i = 0; i < sizeof plan / sizeof *plan; i++) {
        if (plan[i].bytes == 0 || !(*plan[i].ptr = calloc(1, plan[i].bytes))) {
            ds2_session_free(s);
            return ds2_fail(err, DS2_E_NOMEM,
                            "cannot allocate the session buffers for n_ctx %d, n_batch %d (buffer %zu of %zu bytes)",
                            p.n_ctx, p.n_batch, i, plan[i].bytes);
        }
    }
    *out = s;
    return DS2_OK;
}

ds2_status ds2_session_eval(ds2_session *s, const int32_t *tokens, int32_t n, ds2_logits_mode mode, float *logits,
                            ds2_error *err) {
    if (!s || (n > 0 && !tokens) || (mode != DS2_LOGITS_NONE && !logits) || n < 0 || mode < DS2_LOGITS_NONE ||
        mode > DS2_LOGITS_ALL)
        return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_session_eval: invalid argument");
    if (n == 0) return DS2_OK;
    if (n > s->n_ctx - s->n_past)
        return ds2_fail(err, DS2_E_CONTEXT_FULL, "%d tokens do not fit: %d of %d context positions are used", n,
                        s->n_past, s->n_ctx);
    const int64_t V = s->model->hp.n_vocab;
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return ds2_fail(err, DS2_E_BAD_TOKEN, "token %d at index %d is outside the vocabulary [0, %lld)",
                            tokens[i], i, (long long)V);
    for (int32_t done = 0; done < n;) {
        const int32_t T = n - done < s->n_batch ? n - done : s->n_batch;
        const int last = done + T == n;
        ds2_logits_mode m = mode == DS2_LOGITS_ALL ? DS2_LOGITS_ALL : (last ? mode : DS2_LOGITS_NONE);
        float *out = mode == DS2_LOGITS_ALL ? logits + (size_t)done * V : logits;
        ds2_status st = ds2_forward(s, tokens + done, T, m, out, err);
        if (st != DS2_OK) return st;
        done += T;
    }
    return DS2_OK;
}

int32_t ds2_session_n_past(const ds2_session *s) { return s ? s->n_past : 0; }
int32_t ds2_session_n_ctx(const ds2_session *s) { return s ? s->n_ctx : 0; }

ds2_status ds2_session_truncate(ds2_session *s, int32_t n, ds2_error *err) {
    if (!s) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_session_truncate: NULL session");
    if (n < 0 || n > s->n_past)
        return ds2_fail(err, DS2_E_INVALID_ARG, "cannot truncate to %d: the session holds %d tokens", n, s->n_past);
    s->n_past = n; /* rows past n are simply overwritten by the next tokens */
    return DS2_OK;
}

/* Context shift. Only k_pe carries position (RoPE); the latents are position-free and move unchanged. A key
 * cached at position `old` is mag·R(θ(old))·k; at `new` it must be mag·R(θ(new))·k, so each pair is rotated by
 * θ_i(new) − θ_i(old). That rotation is built from the same cos/sin rows the forward pass uses
 * (cos(a−b) = cos a·cos b + sin a·sin b, …, divided by mag²), so the shifted key equals a recomputed one to
 * float rounding even at positions where the float angles themselves are inexact. */
ds2_status ds2_session_shift(ds2_session *s, int32_t keep, int32_t discard, ds2_error *err) {
    if (!s) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_session_shift: NULL session");
    if (keep < 0 || discard < 0 || discard > s->n_past - keep)
        return ds2_fail(err, DS2_E_INVALID_ARG, "cannot drop positions [%d, %d + %d): the session holds %d tokens",
                        keep, keep, discard, s->n_past);
    if (discard == 0) return DS2_OK;
    const ds2_hparams *hp = &s->model->hp;
    const size_t dc = (size_t)hp->kv_lora_rank, dr = (size_t)hp->qk_rope, C = (size_t)s->n_ctx, e = s->kv_elem;
    const int32_t from = keep + discard, moved = s->n_past - from;
    for (int32_t l = 0; l < hp->n_layer; l++) {
        char *lat = (char *)s->kv_latent + (size_t)l * C * dc * e;
        char *pe = (char *)s->kv_pe + (size_t)l * C * dr * e;
        memmove(lat + (size_t)keep * dc * e, lat + (size_t)from * dc * e, (size_t)moved * dc * e);
        memmove(pe + (size_t)keep * dr * e, pe + (size_t)from * dr * e, (size_t)moved * dr * e);
    }
    /* scratch (no allocation): rot → s->cs [dr], cos/sin of the new position → s->kva [dc+dr], a k_pe row → s->q */
    float *rot = s->cs, *cs_new = s->kva, *row = s->q;
    const double mag2 = (double)s->rope.magnitude * (double)s->rope.magnitude;
    for (int32_t j = 0; j < moved; j++) {
        const int32_t pos = keep + j;
        ds2_rope_cos_sin(&s->rope, (float)(pos + discard), rot);
        ds2_rope_cos_sin(&s->rope, (float)pos, cs_new);
        for (size_t i = 0; i < dr / 2; i++) {
            const double co = rot[2 * i], so = rot[2 * i + 1], cn = cs_new[2 * i], sn = cs_new[2 * i + 1];
            rot[2 * i] = (float)((cn * co + sn * so) / mag2);     /* cos(θn − θo) */
            rot[2 * i + 1] = (float)((sn * co - cn * so) / mag2); /* sin(θn − θo) */
        }
        for (int32_t l = 0; l < hp->n_layer; l++) {
            void *p = (char *)s->kv_pe + (((size_t)l * C + (size_t)pos) * dr) * e;
            if (e == 4) {
                ds2_rope_apply((float *)p, rot, (int32_t)dr);
            } else { /* f16 cache: rotate in f32, round back once */
                ds2_f16_to_f32_row((const uint16_t *)p, row, (int64_t)dr);
                ds2_rope_apply(row, rot, (int32_t)dr);
                ds2_f32_to_f16_row(row, (uint16_t *)p, (int64_t)dr);
            }
        }
    }
    s->n_past -= discard;
    return DS2_OK;
}
