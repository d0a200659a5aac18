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
 * Since every head reads the same latent rows, this is multi-query attention (kernels/attn.h ds2_mqa): each
 * cache tile is converted once for all heads of a token, and the SIMD kernels give the scalar reference's bits.
 * The per-head W_UK / W_UV products run as one pool job each (split over (head, rows)).
 *
 * Naive form (reference and test oracle): decompress K-nope and V of every cached position with W_UK/W_UV
 * and run ordinary multi-head attention. Both give the same result up to float rounding (tests/test_model.c).
 */
#include <math.h>
#include <string.h>

#include "kernels/attn.h"
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

/* acc + Σ row[i]·x[i] in double (one segment of a longer dot product), row from the cache. */
static double dot_cache_acc(const ds2_session *s, const void *row, const float *x, int64_t n, double acc) {
    if (s->kv_elem == 4) return ds2_dot_f32_acc(n, row, x, acc);
    return ds2_dot_f16_f32_acc(n, row, x, acc);
}

/* Naive mode's attention-weighted sum o[c] = Σ_j p[j]·v_j[c] for j < n_kv over decompressed f32 values, as
 * llama.cpp's kqv = mul_mat(V^T, kq): each output one dot product over the positions, products in float
 * accumulated in double (in order of j), rounded to float at the end. v_j = v + j·ldv. */
enum { KQV_CHUNK = 256 };
static void kqv_sum_f32(const float *p, int32_t n_kv, const float *v, int64_t ldv, int64_t cols, float *o) {
    double acc[KQV_CHUNK];
    for (int64_t c0 = 0; c0 < cols; c0 += KQV_CHUNK) {
        const int64_t nc = cols - c0 < KQV_CHUNK ? cols - c0 : KQV_CHUNK;
        for (int64_t c = 0; c < nc; c++) acc[c] = 0.0;
        for (int32_t j = 0; j < n_kv; j++) {
            const float pj = p[j], *vj = v + (size_t)j * ldv + c0;
            for (int64_t c = 0; c < nc; c++) acc[c] += (double)(vj[c] * pj);
        }
        for (int64_t c = 0; c < nc; c++) o[c0 + c] = (float)acc[c];
    }
}

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

/* Absorbed attention: all heads of a token read the same latent rows, so it is multi-query attention over
 * keys [latent c' (dc) | k_pe (dr)] with values c' (kernels/attn.h), scaled by kq_scale. Decode (one token)
 * runs ds2_mqa_mt: the threads share one call, splitting positions, heads and columns between barriers, so each
 * cache row is converted once. Prefill: work items are (token, head group), dealt round-robin so the causal
 * growth of n_kv over the batch is shared evenly; batches smaller than 2·threads split the heads into one
 * group per thread. Every variant gives each head the same bits, so results do not depend on the thread count. */
static ds2_mqa_args mqa_args(const mla_ctx *c, int32_t t) {
    const ds2_session *s = c->s;
    const ds2_hparams *hp = &s->model->hp;
    const int64_t H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dc = hp->kv_lora_rank;
    const ds2_mqa_args a = {
        .n_head = H, .d1 = dc, .d2 = dr,
        .n_kv = s->n_past + t + 1, /* causal: positions 0 .. n_past+t */
        .f16 = s->kv_elem == 2,
        .k1 = cache_latent((ds2_session *)s, c->l, 0), .k2 = cache_pe((ds2_session *)s, c->l, 0),
        .q1 = s->q_abs + (size_t)t * H * dc, .ld_q1 = dc,
        .q2 = s->q + (size_t)t * H * (dn + dr) + dn, .ld_q2 = dn + dr,
        .scale = hp->kq_scale,
        .o = s->o_lat + (size_t)t * H * dc, .ld_o = dc,
    };
    return a;
}
static void pool_barrier(void *pool) { ds2_pool_barrier(pool); }
static void attend_absorbed_task(void *vctx, int32_t ith, int32_t nth) {
    mla_ctx *c = vctx;
    ds2_session *s = c->s;
    const int64_t H = s->model->hp.n_head;
    float *scratch = s->attn_scratch + (size_t)ith * s->attn_scratch_floats;
    if (c->T == 1) {
        const ds2_mqa_args a = mqa_args(c, 0);
        ds2_mqa_mt(&a, ith, nth, s->attn_shared, scratch, pool_barrier, s->pool);
        return;
    }
    const int64_t G = c->T >= 2 * nth ? 1 : (nth < H ? nth : H);
    for (int64_t i = ith; i < (int64_t)c->T * G; i += nth) {
        int64_t h0, h1;
        ds2_pool_split(H, (int32_t)(i % G), (int32_t)G, &h0, &h1);
        const ds2_mqa_args a = mqa_args(c, (int32_t)(i / G));
        ds2_mqa(&a, h0, h1, scratch);
    }
}

/* Naive attention of every (token, head) pair over decompressed K-nope/V, split over threads. kq is ONE dot
 * product over the concatenated key [k_nope | k_pe], as llama.cpp's Kcur = concat(...), then scaled. */
static void attend_naive_task(void *vctx, int32_t ith, int32_t nth) {
    mla_ctx *c = vctx;
    ds2_session *s = c->s;
    const ds2_hparams *hp = &s->model->hp;
    const int64_t H = hp->n_head, dn = hp->qk_nope, dr = hp->qk_rope, dv = hp->v_head;
    const int64_t dq = dn + dr;
    float *p = s->scores + (size_t)ith * s->n_ctx;
    int64_t i0, i1;
    ds2_pool_split((int64_t)c->T * H, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        const int32_t t = (int32_t)(i / H);
        const int64_t h = i % H;
        const int32_t n_kv = s->n_past + t + 1; /* causal: positions 0 .. n_past+t */
        const float *qn = s->q + ((size_t)t * H + h) * dq, *q_pe = qn + dn;
        for (int32_t j = 0; j < n_kv; j++) {
            const float *kn = s->kv_naive + ((size_t)j * H + h) * (dn + dv);
            double acc = ds2_dot_f32_acc(dn, kn, qn, 0.0);
            acc = dot_cache_acc(s, cache_pe(s, c->l, j), q_pe, dr, acc);
            p[j] = (float)acc * hp->kq_scale;
        }
        ds2_softmax_row(p, n_kv, padded_row(n_kv));
        kqv_sum_f32(p, n_kv, s->kv_naive + h * (dn + dv) + dn, H * (dn + dv), dv, s->o + ((size_t)t * H + h) * dv);
    }
}

/* The per-head products of the absorbed form, y_h = W_h · x_h for every head h and token, in ONE pool run:
 * W_h = rows [h·rows_h, (h+1)·rows_h) of W (row stride h_stride rows), x_h = head h's input (row (t·H + h) of
 * src, stride src_stride), y_h at y + h·rows_h with token stride ldy. First the inputs are rounded to W's
 * partner type into qx ([H][T] rows of arb bytes), split over threads by (head, token) — in a prompt that is
 * H·T rows, too much for one thread while the others wait — then, after a barrier, the (head, row) pairs are
 * split; every output is still one vec_dot call (bits as ds2_matmul). */
typedef struct {
    ds2_pool *pool;
    float *y;
    int64_t ldy, rows_h, h_stride, cols, H, src_stride;
    const ds2_tensor *W;
    const float *src;
    char *qx;
    size_t arb;
    int32_t T;
} head_mm;
static void head_mm_task(void *vctx, int32_t ith, int32_t nth) {
    const head_mm *m = vctx;
    int64_t i0, i1;
    ds2_pool_split(m->H * m->T, ith, nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++) { /* i = h·T + t */
        const int64_t h = i / m->T, t = i % m->T;
        ds2_quantize_act(m->W->type, m->src + ((size_t)t * m->H + h) * m->src_stride, m->cols, 1, m->qx + (size_t)i * m->arb);
    }
    if (nth > 1) ds2_pool_barrier(m->pool);
    /* (head, 4-row group) pairs: an interleaved W (kernels.h DS2_TYPE_X4, one layout per head's matrix) can only
     * be split between groups */
    const int64_t gph = (m->rows_h + 3) / 4;
    ds2_pool_split(m->H * gph, ith, nth, &i0, &i1);
    const size_t wrb = ds2_row_bytes(m->W->type, m->cols);
    for (int64_t i = i0; i < i1;) {
        const int64_t h = i / gph, g0 = i % gph, g1 = i1 - h * gph < gph ? i1 - h * gph : gph;
        ds2_matmul_q_rows(m->y + h * m->rows_h, m->ldy, (const char *)m->W->data + (size_t)(h * m->h_stride) * wrb,
                          m->W->mtype, m->qx + (size_t)h * m->T * m->arb, m->cols, 4 * g0,
                          4 * g1 < m->rows_h ? 4 * g1 : m->rows_h, m->T);
        i += g1 - g0;
    }
}
/* x_h row of token t: src + (t·H + h)·src_stride (cols floats), rounded into s->qhead, then the products. */
static void head_matmul(ds2_session *s, float *y, int64_t ldy, const ds2_tensor *W, int64_t rows_h, int64_t h_stride,
                        const float *src, int64_t src_stride, int64_t cols, int32_t T) {
    const int64_t H = s->model->hp.n_head;
    const size_t arb = ds2_matmul_qbuf_bytes(W->type, cols, 1);
    head_mm m = {s->pool, y, ldy, rows_h, h_stride, cols, H, src_stride, W, src, (char *)s->qhead, arb, T};
    /* small products run on the calling thread (a dispatch costs more), as ds2_matmul does */
    if (ds2_pool_n_threads(s->pool) > 1 && H * rows_h * cols * T >= 32 * 1024) ds2_pool_run(s->pool, head_mm_task, &m);
    else head_mm_task(&m, 0, 1);
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
                   (const char *)L->v_b.data + (size_t)h * dv * L->v_b.row_bytes, L->v_b.mtype, lat, dc, dv, n_kv,
                   s->qbuf);
        /* K-nope: k_b holds W_UK_h transposed (dc rows of dn): k[d] = Σ_c c'[c]·row_c[d] */
        float *wt = s->w_uk; /* [dc][dn] */
        for (int64_t cc = 0; cc < dc; cc++) ds2_get_row_of(L->k_b.data, L->k_b.mtype, dn, dc, h * dc + cc, wt + cc * dn);
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
        ds2_matmul(s->pool, s->cq, r, L->q_a.data, L->q_a.mtype, s->a, D, r, T, s->qbuf);
        for (int32_t t = 0; t < T; t++) ds2_rmsnorm(s->cq + t * r, s->cq + t * r, L->q_a_norm.data, r, hp->rms_eps);
        ds2_matmul(s->pool, s->q, H * dq, L->q_b.data, L->q_b.mtype, s->cq, r, H * dq, T, s->qbuf);
    } else {
        ds2_matmul(s->pool, s->q, H * dq, L->q.data, L->q.mtype, s->a, D, H * dq, T, s->qbuf);
    }
    /* latent and rope key: kv_a = W_KVA·a = [c | k_pe_raw] */
    ds2_matmul(s->pool, s->kva, dc + dr, L->kv_a_mqa.data, L->kv_a_mqa.mtype, s->a, D, dc + dr, T, s->qbuf);
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
        ds2_pool_run(s->pool, attend_naive_task, &c);
    } else {
        /* q_abs_h = W_UK_hᵀ q_nope_h: k_b holds W_UK_h transposed, dc rows of dn per head */
        if (s->model->w.split_kv_b) head_matmul(s, s->q_abs, H * dc, &L->k_b, dc, dc, s->q, dq, dn, T);
        else ds2_pool_run(s->pool, q_abs_legacy_task, &c);
        ds2_pool_run(s->pool, attend_absorbed_task, &c);
        /* o_h = W_UV_h o_lat_h: v_b rows h·dv.. (split) or kv_b rows h·(dn+dv)+dn.. (legacy) */
        if (s->model->w.split_kv_b) {
            head_matmul(s, s->o, H * dv, &L->v_b, dv, dv, s->o_lat, dc, dc, T);
        } else {
            /* legacy: head h's V rows start at h·(dn+dv)+dn; shift the base by dn rows, stride dn+dv rows */
            ds2_tensor wv = L->kv_b;
            wv.data = (const char *)wv.data + (size_t)dn * ds2_row_bytes(wv.type, dc);
            head_matmul(s, s->o, H * dv, &wv, dv, dn + dv, s->o_lat, dc, dc, T);
        }
    }
    /* out = W_O · concat_h o_h */
    ds2_matmul(s->pool, s->tmp, D, L->attn_out.data, L->attn_out.mtype, s->o, H * dv, D, T, s->qbuf);
}
