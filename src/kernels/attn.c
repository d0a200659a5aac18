/* attn.c — multi-query attention over shared key rows (attn.h): the scalar reference and the driver of the
 * tiled fast variants, whose inner loops live in one file per instruction set.
 */
#include <math.h>
#include <string.h>

#include "attn.h"
#include "kernels.h"
#include "ref.h"

static int64_t round8(int64_t n) { return (n + 7) / 8 * 8; }

/* llama.cpp's KV cache is padded (to 256 cells); its softmax rows have masked tails, grouped by 4 */
static int64_t padded_row(int32_t n_kv) { return ((int64_t)n_kv + 3) / 4 * 4; }

static size_t ref_scratch(int64_t d1, int64_t d2, int32_t n_kv) {
    return (size_t)round8((d1 + d2 + 1) / 2) + (size_t)n_kv;
}

static size_t tiled_scratch(int64_t nh, int64_t d1, int64_t d2) {
    const int64_t ldt = round8(d1 + d2), d1p = round8(d1);
    /* tile, queries, scores, accumulators, running max (float) and sum (double) */
    return (size_t)(DS2_MQA_TILE * ldt + nh * (ldt + DS2_MQA_TILE + d1p) + round8(nh) + 2 * round8(nh) + 8);
}

size_t ds2_mqa_scratch_floats(int64_t n_head, int64_t d1, int64_t d2, int32_t n_kv_max) {
    const size_t r = ref_scratch(d1, d2, n_kv_max), t = tiled_scratch(n_head, d1, d2);
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
 * Per tile of positions: rows → f32 once, scores of every head, online softmax (running max m and sum l per
 * head; when m grows the accumulated output and l are scaled by e^(m_old − m_new)), then acc += p·rows.
 * Head h's numbers never depend on the other heads of the call. */
void ds2_mqa_tiled(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch, const ds2_mqa_ops *ops) {
    const int64_t nh = h1 - h0, d1 = a->d1, d2 = a->d2;
    if (nh <= 0) return;
    const int64_t ldt = round8(d1 + d2), d1p = round8(d1);
    enum { TJ = DS2_MQA_TILE };
    float *tile = scratch;                 /* [TJ][ldt] */
    float *q = tile + TJ * ldt;            /* [nh][ldt] */
    float *s = q + nh * ldt;               /* [nh][TJ] scores, then probabilities */
    float *acc = s + nh * TJ;              /* [nh][d1p] unnormalized output */
    float *m = acc + nh * d1p;             /* [nh] running max */
    double *l = (double *)(m + round8(nh)); /* [nh] running Σ e^(s − m) */
    /* scratch is at least 8-byte aligned (malloc) and every offset above is a multiple of 8 floats */

    for (int64_t hh = 0; hh < nh; hh++) {
        float *qh = q + hh * ldt;
        memcpy(qh, a->q1 + (h0 + hh) * a->ld_q1, (size_t)d1 * sizeof(float));
        memcpy(qh + d1, a->q2 + (h0 + hh) * a->ld_q2, (size_t)d2 * sizeof(float));
        /* an f16 cache gets an f16 query, as in the reference (keeps the two close) */
        if (a->f16)
            for (int64_t i = 0; i < d1 + d2; i++) qh[i] = ds2_half_to_float_inline(ds2_f32_to_f16(qh[i]));
        for (int64_t i = d1 + d2; i < ldt; i++) qh[i] = 0.0f;
        memset(acc + hh * d1p, 0, (size_t)d1p * sizeof(float));
        m[hh] = -INFINITY;
        l[hh] = 0.0;
    }
    for (int32_t j0 = 0; j0 < a->n_kv; j0 += TJ) {
        const int32_t nj = a->n_kv - j0 < TJ ? a->n_kv - j0 : TJ;
        ops->load_tile(a, j0, nj, tile, ldt);
        ops->scores(tile, nj, ldt, q, nh, s, TJ);
        for (int64_t hh = 0; hh < nh; hh++) {
            float *sh = s + hh * TJ;
            float tmax = -INFINITY;
            for (int32_t jj = 0; jj < nj; jj++) {
                sh[jj] *= a->scale;
                tmax = sh[jj] > tmax ? sh[jj] : tmax;
            }
            if (tmax > m[hh]) {
                if (m[hh] != -INFINITY) {
                    const float f = expf(m[hh] - tmax);
                    float *ah = acc + hh * d1p;
                    for (int64_t c = 0; c < d1p; c++) ah[c] *= f;
                    l[hh] *= (double)f;
                }
                m[hh] = tmax;
            }
            double sum = 0.0;
            for (int32_t jj = 0; jj < nj; jj++) {
                sh[jj] = expf(sh[jj] - m[hh]);
                sum += (double)sh[jj];
            }
            l[hh] += sum;
        }
        ops->accum(tile, nj, ldt, s, TJ, nh, acc, d1p, d1p);
    }
    for (int64_t hh = 0; hh < nh; hh++) {
        const float inv = (float)(1.0 / l[hh]);
        const float *ah = acc + hh * d1p;
        float *o = a->o + (h0 + hh) * a->ld_o;
        for (int64_t c = 0; c < d1; c++) o[c] = ah[c] * inv;
    }
}
