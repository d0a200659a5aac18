/* attn.c — multi-query attention over shared key rows (attn.h): the scalar reference and the driver of the
 * tiled fast variants, whose inner loops live in one file per instruction set.
 */
#include <math.h>
#include <string.h>

#include "attn.h"
#include "kernels.h"
#include "ref.h"

static int64_t round8(int64_t n) { return (n + 7) / 8 * 8; }
/* Row stride of the per-head score and sum arrays: rows of 512 doubles (4 KiB) would all map to the same L1
 * sets and evict each other while the heads are interleaved, so the stride is padded off the power of two. */
static int64_t padded_stride(int64_t n) { return round8(n) + 8; }

/* llama.cpp's KV cache is padded (to 256 cells); its softmax rows have masked tails, grouped by 4 */
static int64_t padded_row(int32_t n_kv) { return ((int64_t)n_kv + 3) / 4 * 4; }

static size_t ref_scratch(int64_t d1, int64_t d2, int32_t n_kv) {
    return (size_t)round8((d1 + d2 + 1) / 2) + (size_t)n_kv;
}

static size_t tiled_scratch(int64_t nh, int64_t d1, int64_t d2, int32_t n_kv) {
    /* value sums (double), tile and transposed queries (float or double), scores (float and double) */
    return (size_t)(2 * nh * padded_stride(d1) + 2 * DS2_MQA_TILE * round8(d1 + d2) + 2 * (d1 + d2) * round8(nh) +
                    3 * nh * padded_stride(n_kv));
}

size_t ds2_mqa_scratch_floats(int64_t n_head, int64_t d1, int64_t d2, int32_t n_kv_max) {
    const size_t r = ref_scratch(d1, d2, n_kv_max), t = tiled_scratch(n_head, d1, d2, n_kv_max);
    return r > t ? r : t;
}

/* ---- reference ------------------------------------------------------------------------------------------ */

/* o[c] = Σ_j p[j]·v_j[c] for j < n_kv, as llama.cpp's kqv = mul_mat(V^T, kq): each output is one dot product
 * over the positions, products in float accumulated in double (in order of j), rounded to float at the end.
 * v_j = rows + j·cols: floats, or halves (then the probabilities are rounded to f16 too, as ggml does). */
enum { KQV_CHUNK = 256 };
static void kqv_ref(const float *p, int32_t n_kv, int f16, const void *rows, int64_t cols, float *o) {
    double acc[KQV_CHUNK];
    for (int64_t c0 = 0; c0 < cols; c0 += KQV_CHUNK) {
        const int64_t nc = cols - c0 < KQV_CHUNK ? cols - c0 : KQV_CHUNK;
        for (int64_t c = 0; c < nc; c++) acc[c] = 0.0;
        for (int32_t j = 0; j < n_kv; j++) {
            const float pj = p[j];
            if (f16) {
                const float pj16 = ds2_half_to_float_inline(ds2_f32_to_f16(pj));
                const uint16_t *v = (const uint16_t *)rows + (size_t)j * cols + c0;
                for (int64_t c = 0; c < nc; c++) acc[c] += (double)(ds2_half_to_float_inline(v[c]) * pj16);
            } else {
                const float *v = (const float *)rows + (size_t)j * cols + c0;
                for (int64_t c = 0; c < nc; c++) acc[c] += (double)(v[c] * pj);
            }
        }
        for (int64_t c = 0; c < nc; c++) o[c0 + c] = (float)acc[c];
    }
}

void ds2_mqa_ref(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch) {
    const int64_t d1 = a->d1, d2 = a->d2;
    const int32_t n_kv = a->n_kv;
    uint16_t *q16 = (uint16_t *)scratch; /* f16 copy of the query (llama.cpp rounds F32 operands of F16 mul_mat) */
    float *p = scratch + round8((d1 + d2 + 1) / 2);
    for (int64_t h = h0; h < h1; h++) {
        const float *q1 = a->q1 + h * a->ld_q1, *q2 = a->q2 + h * a->ld_q2;
        if (a->f16) {
            ds2_f32_to_f16_row(q1, q16, d1);
            ds2_f32_to_f16_row(q2, q16 + d1, d2);
        }
        /* kq: ONE dot product over the concatenated key [seg1 | seg2] (llama.cpp's Kcur = concat(...)), then
         * scaled (soft_max_ext scale) */
        for (int32_t j = 0; j < n_kv; j++) {
            double acc;
            if (a->f16) {
                acc = ds2_ref_dot_f16_f16_acc(d1, (const uint16_t *)a->k1 + (size_t)j * d1, q16, 0.0);
                acc = ds2_ref_dot_f16_f16_acc(d2, (const uint16_t *)a->k2 + (size_t)j * d2, q16 + d1, acc);
            } else {
                acc = ds2_ref_dot_f32_acc(d1, (const float *)a->k1 + (size_t)j * d1, q1, 0.0);
                acc = ds2_ref_dot_f32_acc(d2, (const float *)a->k2 + (size_t)j * d2, q2, acc);
            }
            p[j] = (float)acc * a->scale;
        }
        ds2_softmax_row(p, n_kv, padded_row(n_kv));
        kqv_ref(p, n_kv, a->f16, a->k1, d1, a->o + h * a->ld_o);
    }
}

/* ---- tiled driver ---------------------------------------------------------------------------------------
 * The reference's arithmetic (every float product, every double sum in the same order — so the same bits),
 * reorganized so SIMD lanes run over independent sums and each tile of cache rows is converted to f32 once
 * for all heads of the call:
 *   1. scores: lanes over heads (query transposed, qT[i][h]); every row j and head h is one double sum over
 *      i in order, as ds2_ref_dot_*_acc over [seg1 | seg2];
 *   2. each head's row through ds2_softmax_row (same padding), probabilities rounded to f16 for an f16 cache;
 *   3. values: lanes over columns; each (head, column) one double sum over j in order, as kqv_ref.
 * Head h's numbers never depend on the other heads of the call. */

static void round_f16(const ds2_mqa_ops *ops, float *x, int64_t n) {
    if (ops->round_f16) ops->round_f16(x, n);
    else
        for (int64_t i = 0; i < n; i++) x[i] = ds2_half_to_float_inline(ds2_f32_to_f16(x[i]));
}

/* An f16 cache: the query and the probabilities are f16 as well, so every product of the reference is a
 * product of two halves — at most 22 significant bits, exact in float AND in double. Then
 * acc + (double)(a·b) == fma(a, b, acc) in double (one rounding either way), so the "_d" primitives work on
 * tiles and queries widened to double and use one double FMA (or multiply + add) per product: the same bits
 * with a third of the operations of float products widened one by one. */
void ds2_mqa_tiled(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch, const ds2_mqa_ops *ops) {
    const int64_t nh = h1 - h0, d1 = a->d1, d2 = a->d2, D = d1 + d2;
    if (nh <= 0) return;
    const int32_t n_kv = a->n_kv;
    const int64_t ldt = round8(D), d1p = round8(d1), ldo = padded_stride(d1), lds = padded_stride(n_kv);
    const int64_t nhp = round8(nh);
    const int dbl = a->f16 && ops->scores_d; /* the exact-product double path */
    enum { TJ = DS2_MQA_TILE };
    double *acc = (double *)scratch;         /* [nh][ldo] value sums (first: 8-byte aligned like scratch) */
    float *tile = scratch + 2 * nh * ldo;    /* [TJ][ldt] floats or doubles */
    float *qT = tile + 2 * TJ * ldt;         /* [D][nhp] floats or doubles */
    float *s = qT + 2 * D * nhp;             /* [nh][lds] scores, then probabilities */
    double *p_d = (double *)(s + nh * lds);  /* [nh][lds] probabilities as doubles (double path) */
    double *tile_d = (double *)tile, *qT_d = (double *)qT;

    if (dbl) memset(qT_d, 0, (size_t)(D * nhp) * sizeof(double));
    else memset(qT, 0, (size_t)(D * nhp) * sizeof(float));
    for (int64_t hh = 0; hh < nh; hh++) {
        float *qrow = tile; /* the tile is free until pass 1 */
        memcpy(qrow, a->q1 + (h0 + hh) * a->ld_q1, (size_t)d1 * sizeof(float));
        memcpy(qrow + d1, a->q2 + (h0 + hh) * a->ld_q2, (size_t)d2 * sizeof(float));
        if (a->f16) round_f16(ops, qrow, D); /* an f16 cache gets an f16 query, as in the reference */
        if (dbl)
            for (int64_t i = 0; i < D; i++) qT_d[i * nhp + hh] = (double)qrow[i];
        else
            for (int64_t i = 0; i < D; i++) qT[i * nhp + hh] = qrow[i];
    }
    memset(acc, 0, (size_t)(nh * ldo) * sizeof(double));
    for (int32_t j0 = 0; j0 < n_kv; j0 += TJ) {
        const int32_t nj = n_kv - j0 < TJ ? n_kv - j0 : TJ;
        if (dbl) {
            ops->load_tile_d(a, j0, nj, tile_d, ldt, 1);
            ops->scores_d(tile_d, nj, ldt, D, qT_d, nhp, nh, s + j0, lds);
        } else {
            ops->load_tile(a, j0, nj, tile, ldt, 1);
            ops->scores(tile, nj, ldt, D, qT, nhp, nh, s + j0, lds);
        }
    }
    for (int64_t hh = 0; hh < nh; hh++) {
        float *sh = s + hh * lds;
        for (int32_t j = 0; j < n_kv; j++) sh[j] *= a->scale;
        ds2_softmax_row(sh, n_kv, padded_row(n_kv));
        if (a->f16) round_f16(ops, sh, n_kv);
        if (dbl)
            for (int32_t j = 0; j < n_kv; j++) p_d[hh * lds + j] = (double)sh[j];
    }
    for (int32_t j0 = 0; j0 < n_kv; j0 += TJ) {
        const int32_t nj = n_kv - j0 < TJ ? n_kv - j0 : TJ;
        if (dbl) {
            ops->load_tile_d(a, j0, nj, tile_d, ldt, 0);
            ops->accum_d(tile_d, nj, ldt, p_d + j0, lds, nh, acc, ldo, d1p);
        } else {
            ops->load_tile(a, j0, nj, tile, ldt, 0);
            ops->accum(tile, nj, ldt, s + j0, lds, nh, acc, ldo, d1p);
        }
    }
    for (int64_t hh = 0; hh < nh; hh++) {
        float *o = a->o + (h0 + hh) * a->ld_o;
        for (int64_t c = 0; c < d1; c++) o[c] = (float)acc[hh * ldo + c];
    }
}

/* ---- several threads on one call ------------------------------------------------------------------------- */

size_t ds2_mqa_shared_floats(int64_t n_head, int32_t n_kv_max) {
    return (size_t)(3 * n_head * padded_stride(n_kv_max)); /* scores (float) and probabilities (double) */
}

void ds2_mqa_mt(const ds2_mqa_args *a, int32_t ith, int32_t nth, float *shared, float *scratch,
                void (*barrier)(void *barrier_ctx), void *barrier_ctx) {
    const ds2_mqa_ops *ops = ds2_mqa_ops_get();
    const int64_t H = a->n_head;
    if (nth <= 1 || !ops || !a->f16 || !ops->scores_d || !ops->load_cols_d) { /* the same in every thread */
        int64_t h0, h1;
        ds2_pool_split(H, ith, nth, &h0, &h1);
        ds2_mqa(a, h0, h1, scratch);
        return;
    }
    const int64_t d1 = a->d1, d2 = a->d2, D = d1 + d2;
    const int32_t n_kv = a->n_kv;
    const int64_t ldt = round8(D), d1p = round8(d1), ldo = padded_stride(d1), lds = padded_stride(n_kv);
    const int64_t Hp = round8(H);
    enum { TJ = DS2_MQA_TILE };
    float *s = shared;                               /* [H][lds] scores, then probabilities (shared) */
    double *p_d = (double *)(shared + H * lds);      /* [H][lds] probabilities as doubles (shared) */
    double *acc = (double *)scratch;                 /* [H][ldo] value sums, this thread's columns */
    double *tile = acc + H * ldo;                    /* [TJ][ldt] */
    double *qT = tile + TJ * ldt;                    /* [D][Hp] */
    float *qrow = (float *)tile;

    /* 1. scores of all heads for this thread's tiles of positions */
    memset(qT, 0, (size_t)(D * Hp) * sizeof(double));
    for (int64_t h = 0; h < H; h++) {
        memcpy(qrow, a->q1 + h * a->ld_q1, (size_t)d1 * sizeof(float));
        memcpy(qrow + d1, a->q2 + h * a->ld_q2, (size_t)d2 * sizeof(float));
        round_f16(ops, qrow, D); /* an f16 cache gets an f16 query, as in the reference */
        for (int64_t i = 0; i < D; i++) qT[i * Hp + h] = (double)qrow[i];
    }
    /* positions in groups of 4 (the scores kernels' row block), not whole tiles: 577 positions are 19 tiles,
     * 10 and 9 of them (one of a single row) would make one thread do 25% more than the other */
    int64_t g0, g1;
    ds2_pool_split(((int64_t)n_kv + 3) / 4, ith, nth, &g0, &g1);
    const int32_t r1 = (int32_t)(4 * g1 < n_kv ? 4 * g1 : n_kv);
    for (int32_t j0 = (int32_t)(4 * g0); j0 < r1; j0 += TJ) {
        const int32_t nj = r1 - j0 < TJ ? r1 - j0 : TJ;
        ops->load_tile_d(a, j0, nj, tile, ldt, 1);
        ops->scores_d(tile, nj, ldt, D, qT, Hp, H, s + j0, lds);
    }
    barrier(barrier_ctx);
    /* 2. softmax of this thread's heads */
    int64_t h0, h1;
    ds2_pool_split(H, ith, nth, &h0, &h1);
    for (int64_t h = h0; h < h1; h++) {
        float *sh = s + h * lds;
        for (int32_t j = 0; j < n_kv; j++) sh[j] *= a->scale;
        ds2_softmax_row(sh, n_kv, padded_row(n_kv));
        round_f16(ops, sh, n_kv);
        for (int32_t j = 0; j < n_kv; j++) p_d[h * lds + j] = (double)sh[j];
    }
    barrier(barrier_ctx);
    /* 3. values: this thread's columns (in units of 8) of every head over all positions */
    int64_t b0, b1;
    ds2_pool_split(d1p / 8, ith, nth, &b0, &b1);
    const int64_t c0 = b0 * 8, c1 = b1 * 8;
    if (c1 <= c0) return;
    for (int64_t h = 0; h < H; h++) memset(acc + h * ldo + c0, 0, (size_t)(c1 - c0) * sizeof(double));
    for (int32_t j0 = 0; j0 < n_kv; j0 += TJ) {
        const int32_t nj = n_kv - j0 < TJ ? n_kv - j0 : TJ;
        ops->load_cols_d(a, j0, nj, c0, c1, tile, ldt);
        ops->accum_d(tile + c0, nj, ldt, p_d + j0, lds, H, acc + c0, ldo, c1 - c0);
    }
    for (int64_t h = 0; h < H; h++) {
        float *o = a->o + h * a->ld_o;
        for (int64_t c = c0; c < c1 && c < d1; c++) o[c] = (float)acc[h * ldo + c];
    }
}
