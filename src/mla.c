/* mla.c — Multi-head Latent Attention (reference §1.2–§1.5, §2).
 *
 * Reads blk.l.{attn_q | attn_q_a, attn_q_a_norm, attn_q_b}, attn_kv_a_mqa, attn_kv_a_norm,
 * {attn_k_b, attn_v_b | attn_kv_b}, attn_output. Writes the layer's cache rows: latent c' = RMSNorm(kv_a[:dc])
 * and k_pe = RoPE(kv_a[dc:]) — one rope key shared by all heads.
 *
 * Absorbed form (decode and prefill): q_nope·(W_UK c') = (W_UKᵀ q_nope)·c', so each head's query is folded
 * through W_UK once (q_abs, dc wide) and attends directly over cached latents; the attention-weighted latent
 * o_lat is mapped to the head's value space by W_UV afterwards. Per cached token only dc+dr numbers are read.
 * The softmax scale is dq^-1/2·m² with dq = dn+dr even though the dot product is dc+dr wide (reference §1.4).
 *
 * Naive form (reference and test oracle): decompress K-nope and V of every cached position with W_UK/W_UV
 * and run ordinary multi-head attention. Both give the same result up to float rounding (tests/test_mla.c).
 */
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "mla.h"

typedef struct mla_ctx {
    ds2_session *s;
    const ds2_layer *L;
    int l;
    int32_t T;
    int naive;
} mla_ctx;

/* Cache rows of layer l. */
static void *cache_latent(ds2_session *s, int l, int32_t pos) {
    const ds2_hparams *hp = &s->model->hp;
    return (char *)s->kv_latent + (((size_t)l * s->n_ctx + pos) * hp->kv_lora_rank) * s->kv_elem;
}
static void *cache_pe(ds2_session *s, int l, int32_t pos) {
    const ds2_hparams *hp = &s->model->hp;
    return (char *)s->kv_pe + (((size_t)l * s->n_ctx + pos) * hp->qk_rope) * s->kv_elem;
}

/* acc + Σ row[i]·x[i] in double (one segment of a longer dot product). With an f16 cache llama.cpp rounds
 * the query to f16 first (mul_mat of an F16 tensor converts its F32 operand to F16): x16 holds that copy. */
static double dot_cache_acc(const ds2_session *s, const void *row, const float *x, const uint16_t *x16, int64_t n,
                            double acc) {
    if (s->kv_elem == 4) return ds2_dot_f32_acc(n, row, x, acc);
    return x16 ? ds2_dot_f16_f16_acc(n, row, x16, acc) : ds2_dot_f16_f32_acc(n, row, x, acc);
}

/* Attention-weighted sum o[c] = Σ_j p[j]·v_j[c] for j < n_kv, as llama.cpp's kqv = mul_mat(V^T, kq): each
 * output is one dot product over the positions, products in float accumulated in double (in order of j),
 * rounded to float at the end. v_j = get(j) + off, cols floats (f32 rows) or halves (f16 cache rows). */
enum { KQV_CHUNK = 256 };
static void kqv_sum(const float *p, int32_t n_kv, int f16, const void *(*get)(void *, int32_t), void *gctx,
                    int64_t cols, float *o) {
    double acc[KQV_CHUNK];
    for (int64_t c0 = 0; c0 < cols; c0 += KQV_CHUNK) {
        const int64_t nc = cols - c0 < KQV_CHUNK ? cols - c0 : KQV_CHUNK;
        for (int64_t c = 0; c < nc; c++) acc[c] = 0.0;
        for (int32_t j = 0; j < n_kv; j++) {
            const float pj = p[j];
            if (f16) { /* F16 values: llama.cpp rounds the probabilities to f16 as well */
                const float pj16 = ds2_f16_to_f32(ds2_f32_to_f16(pj));
                const uint16_t *v = (const uint16_t *)get(gctx, j) + c0;
                for (int64_t c = 0; c < nc; c++) acc[c] += (double)(ds2_f16_to_f32(v[c]) * pj16);
            } else {
                const float *v = (const float *)get(gctx, j) + c0;
                for (int64_t c = 0; c < nc; c++) acc[c] += (double)(v[c] * pj);
            }
        }
        for (int64_t c = 0; c < nc; c++) o[c0 + c] = (float)acc[c];
    }
}

typedef struct {
    ds2_session *s;
    int l;
    int64_t h, H, dn, dv;
} row_ctx;
static const void *get_latent(void *vctx, int32_t j) {
    row_ctx *r = vctx;
    return cache_latent(r->s, r->l, j);
}
static const void *get_v_naive(void *vctx, int32_t j) {
    row_ctx *r = vctx;
    return r->s->kv_naive + ((size_t)j * r->H + r->h) * (r->dn + r->dv) + r->dn;
}

/* f16 copy of one (token, head) query on the stack: dc + dr = 576 in every DeepSeek model */
enum { Q16_MAX = 2048 };

/* llama.cpp's KV cache is padded (to 256 cells); its softmax rows have masked tails, grouped by 4 */
static int64_t padded_row(int32_t n_kv) { return ((int64_t)n_kv + 3) / 4 * 4; }
static void store_cache(const ds2_session *s, void *dst, const float *x, int64_t n) {
    if (s->kv_elem == 4) memcpy(dst, x, (size_t)n * sizeof(float));
    else ds2_f32_to_f16_row(x, dst, n);
}

/* Absorbed query for legacy files (attn_kv_b): q_abs_h = Σ_d q_nope_h[d]·W_UK_h[d,:], one head per task. */
static void q_abs_legacy_task(void *vctx, int32_t ith, int32_t nth) {
    mla_ctx *c = vctx;
    ds2_session *s = c->s;
    const ds2_hparams *hp = &s->model->hp;
    const int64_t H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dv = hp->v_head, dc = hp->kv_lora_rank;
    float *wuk = s->w_uk + (size_t)ith * dn * dc;
    int64_t h0, h1;
    ds2_pool_split(H, ith, nth, &h0, &h1);
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t d = 0; d < dn; d++)
            ds2_get_row(c->L->kv_b.data, c->L->kv_b.type, dc, h * (dn + dv) + d, wuk + d * dc);
        for (int32_t t = 0; t < c->T; t++) {
            const float *qn = s->q + ((size_t)t * H + h) * (dn + dr);
            float *qa = s->q_abs + ((size_t)t * H + h) * dc;
            memset(qa, 0, (size_t)dc * sizeof(float));
            for (int64_t d = 0; d < dn; d++) ds2_axpy_f32(dc, qn[d], wuk + d * dc, qa);
        }
    }
}

/* Attention of every (token, head) pair, split over threads. */
static void attend_task(void *vctx, int32_t ith, int32_t nth) {
    mla_ctx *c = vctx;
    ds2_session *s = c->s;
    const ds2_hparams *hp = &s->model->hp;
    const int64_t H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dv = hp->v_head, dc = hp->kv_lora_rank;
    const int64_t dq = dn + dr;
    float *p = s->scores + (size_t)ith * s->n_ctx;
    int64_t i0, i1;
    ds2_pool_split((int64_t)c->T * H, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        const int32_t t = (int32_t)(i / H);
        const int64_t h = i % H;
        const int32_t n_kv = s->n_past + t + 1; /* causal: positions 0 .. n_past+t */
        const float *q_pe = s->q + ((size_t)t * H + h) * dq + dn;
        /* kq: ONE dot product over the concatenated key [latent | k_pe] (absorbed) or [k_nope | k_pe] (naive),
         * as llama.cpp's Kcur = concat(...), then scaled (soft_max_ext scale) */
        row_ctx rc = {s, c->l, h, H, dn, dv};
        if (!c->naive) {
            const float *qa = s->q_abs + ((size_t)t * H + h) * dc;
            uint16_t q16[Q16_MAX];
            const int r16 = s->kv_elem == 2 && dc + dr <= Q16_MAX;
            if (r16) {
                ds2_f32_to_f16_row(qa, q16, dc);
                ds2_f32_to_f16_row(q_pe, q16 + dc, dr);
            }
            for (int32_t j = 0; j < n_kv; j++) {
                double acc = dot_cache_acc(s, cache_latent(s, c->l, j), qa, r16 ? q16 : NULL, dc, 0.0);
                acc = dot_cache_acc(s, cache_pe(s, c->l, j), q_pe, r16 ? q16 + dc : NULL, dr, acc);
                p[j] = (float)acc * hp->kq_scale;
            }
            ds2_softmax_row(p, n_kv, padded_row(n_kv));
            kqv_sum(p, n_kv, s->kv_elem != 4, get_latent, &rc, dc, s->o_lat + ((size_t)t * H + h) * dc);
        } else {
            const float *qn = s->q + ((size_t)t * H + h) * dq;
            for (int32_t j = 0; j < n_kv; j++) {
                const float *kn = s->kv_naive + ((size_t)j * H + h) * (dn + dv);
                double acc = ds2_dot_f32_acc(dn, kn, qn, 0.0);
                acc = dot_cache_acc(s, cache_pe(s, c->l, j), q_pe, NULL, dr, acc);
                p[j] = (float)acc * hp->kq_scale;
            }
            ds2_softmax_row(p, n_kv, padded_row(n_kv));
            kqv_sum(p, n_kv, 0, get_v_naive, &rc, dv, s->o + ((size_t)t * H + h) * dv);
        }
    }
}

/* Naive: K-nope and V of every cached position, kv_naive[j][h] = [W_UK_h c'_j | W_UV_h c'_j]. */
static void decompress_all(mla_ctx *c) {
    ds2_session *s = c->s;
    const ds2_layer *L = c->L;
    const ds2_hparams *hp = &s->model->hp;
    const int64_t H = hp->n_head, dn = hp->qk_nope, dv = hp->v_head, dc = hp->kv_lora_rank;
    const int32_t n_kv = s->n_past + c->T;
    float *lat = s->lat; /* [n_kv][dc] latents as f32 */
    for (int32_t j = 0; j < n_kv; j++) {
        if (s->kv_elem == 4) memcpy(lat + (size_t)j * dc, cache_latent(s, c->l, j), (size_t)dc * sizeof(float));
        else ds2_f16_to_f32_row(cache_latent(s, c->l, j), lat + (size_t)j * dc, dc);
    }
    if (!s->model->w.split_kv_b) {
        /* legacy kv_b rows are already [head][dn K rows, dv V rows]: one product gives the whole layout */
        ds2_matmul(s->pool, s->kv_naive, H * (dn + dv), L->kv_b.data, L->kv_b.type, lat, dc, H * (dn + dv), n_kv,
                   s->qbuf);
        return;
    }
    for (int64_t h = 0; h < H; h++) {
        /* V: rows of v_b for head h are W_UV_h (dv rows of dc) */
        ds2_matmul(s->pool, s->kv_naive + h * (dn + dv) + dn, H * (dn + dv),
                   (const char *)L->v_b.data + (size_t)h * dv * L->v_b.row_bytes, L->v_b.type, lat, dc, dv, n_kv,
                   s->qbuf);
        /* K-nope: k_b holds W_UK_h transposed (dc rows of dn): k[d] = Σ_c c'[c]·row_c[d] */
        float *wt = s->w_uk; /* [dc][dn] */
        for (int64_t cc = 0; cc < dc; cc++) ds2_get_row(L->k_b.data, L->k_b.type, dn, h * dc + cc, wt + cc * dn);
        for (int32_t j = 0; j < n_kv; j++) {
            float *k = s->kv_naive + ((size_t)j * H + h) * (dn + dv);
            memset(k, 0, (size_t)dn * sizeof(float));
            for (int64_t cc = 0; cc < dc; cc++) ds2_axpy_f32(dn, lat[(size_t)j * dc + cc], wt + cc * dn, k);
        }
    }
}

void ds2_mla_forward(ds2_session *s, int l, int32_t T, int naive) {
    const ds2_hparams *hp = &s->model->hp;
    const ds2_layer *L = &s->model->w.layers[l];
    const int64_t D = hp->n_embd, H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dv = hp->v_head;
    const int64_t dc = hp->kv_lora_rank, dq = dn + dr;
    mla_ctx c = {s, L, l, T, naive};

    /* query: q = W_UQ·RMSNorm(W_DQ·a) with q-LoRA, else q = W_Q·a   → [T][H][dn | dr] */
    if (hp->q_lora_rank > 0) {
        const int64_t r = hp->q_lora_rank;
        ds2_matmul(s->pool, s->cq, r, L->q_a.data, L->q_a.type, s->a, D, r, T, s->qbuf);
        for (int32_t t = 0; t < T; t++) ds2_rmsnorm(s->cq + t * r, s->cq + t * r, L->q_a_norm.data, r, hp->rms_eps);
        ds2_matmul(s->pool, s->q, H * dq, L->q_b.data, L->q_b.type, s->cq, r, H * dq, T, s->qbuf);
    } else {
        ds2_matmul(s->pool, s->q, H * dq, L->q.data, L->q.type, s->a, D, H * dq, T, s->qbuf);
    }
    /* latent and rope key: kv_a = W_KVA·a = [c | k_pe_raw] */
    ds2_matmul(s->pool, s->kva, dc + dr, L->kv_a_mqa.data, L->kv_a_mqa.type, s->a, D, dc + dr, T, s->qbuf);
    for (int32_t t = 0; t < T; t++) {
        const int32_t pos = s->n_past + t;
        float *cs = s->cs + (size_t)t * dr;
        ds2_rope_cos_sin(&s->rope, (float)pos, cs);
        float *kv = s->kva + (size_t)t * (dc + dr);
        ds2_rmsnorm(kv, kv, L->kv_a_norm.data, dc, hp->rms_eps);
        ds2_rope_apply(kv + dc, cs, (int32_t)dr);
        store_cache(s, cache_latent(s, l, pos), kv, dc);
        store_cache(s, cache_pe(s, l, pos), kv + dc, dr);
        for (int64_t h = 0; h < H; h++) ds2_rope_apply(s->q + ((size_t)t * H + h) * dq + dn, cs, (int32_t)dr);
    }

    if (naive) {
        decompress_all(&c);
        ds2_pool_run(s->pool, attend_task, &c);
    } else {
        /* q_abs_h = W_UK_hᵀ q_nope_h */
        if (s->model->w.split_kv_b) {
            for (int64_t h = 0; h < H; h++) {
                for (int32_t t = 0; t < T; t++)
                    memcpy(s->gather + (size_t)t * dn, s->q + ((size_t)t * H + h) * dq, (size_t)dn * sizeof(float));
                ds2_matmul(s->pool, s->q_abs + h * dc, H * dc,
                           (const char *)L->k_b.data + (size_t)h * dc * L->k_b.row_bytes, L->k_b.type, s->gather,
                           dn, dc, T, s->qbuf);
            }
        } else {
            ds2_pool_run(s->pool, q_abs_legacy_task, &c);
        }
        ds2_pool_run(s->pool, attend_task, &c);
        /* o_h = W_UV_h o_lat_h */
        for (int64_t h = 0; h < H; h++) {
            for (int32_t t = 0; t < T; t++)
                memcpy(s->gather + (size_t)t * dc, s->o_lat + ((size_t)t * H + h) * dc, (size_t)dc * sizeof(float));
            const ds2_tensor *wv = s->model->w.split_kv_b ? &L->v_b : &L->kv_b;
            size_t row0 = s->model->w.split_kv_b ? (size_t)h * dv : (size_t)h * (dn + dv) + dn;
            ds2_matmul(s->pool, s->o + h * dv, H * dv, (const char *)wv->data + row0 * wv->row_bytes, wv->type,
                       s->gather, dc, dv, T, s->qbuf);
        }
    }
    /* out = W_O · concat_h o_h */
    ds2_matmul(s->pool, s->tmp, D, L->attn_out.data, L->attn_out.type, s->o, H * dv, D, T, s->qbuf);
}
