/* attn_avx2.c — the tile primitives of the fast multi-query attention (attn.h) for x86-64 AVX2+FMA+F16C.
 *
 * Compiled with -mavx2 -mfma -mf16c for this file only; reached only through the kernel set dtype_traits.c
 * picks after cpuid reported all three. The reference's arithmetic exactly: float products (_mm256_mul_ps),
 * widened to double and summed in the reference's order, lanes over independent sums (8 heads for the
 * scores, 4 rows at a time; 32 columns for the values), so no FMA anywhere.
 */
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "attn_avx2.c must be compiled with -mavx2 -mfma -mf16c"
#endif

#include <immintrin.h>
#include <string.h>

#include "attn.h"
#include "simd.h" /* ds2_avx2_f16_to_f64 */

/* n halves → floats (exact), then zeros up to `to` */
static void load_seg_f16(const uint16_t *src, int64_t n, float *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

static void load_tile(const ds2_mqa_args *a, int32_t j0, int32_t nj, float *tile, int64_t ldt, int seg2) {
    const int64_t d1 = a->d1, d2 = seg2 ? a->d2 : 0;
    for (int32_t jj = 0; jj < nj; jj++) {
        float *t = tile + jj * ldt;
        const size_t j = (size_t)(j0 + jj);
        if (a->f16) {
            load_seg_f16((const uint16_t *)a->k1 + j * d1, d1, t);
            load_seg_f16((const uint16_t *)a->k2 + j * d2, d2, t + d1);
        } else {
            memcpy(t, (const float *)a->k1 + j * d1, (size_t)d1 * sizeof(float));
            memcpy(t + d1, (const float *)a->k2 + j * d2, (size_t)d2 * sizeof(float));
        }
        if (seg2)
            for (int64_t i = d1 + d2; i < ldt; i++) t[i] = 0.0f;
    }
}

/* acc_lo/hi (4 doubles each) += the 8 float products p, widened exactly */
#define ACC8(lo, hi, p)                                                                   \
    do {                                                                                  \
        const __m256 p_ = (p);                                                            \
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(p_)));              \
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(p_, 1)));            \
    } while (0)

/* lo (4 doubles) += the 4 float products p (128-bit: no lane extraction) */
#define ACC4(lo, p) lo = _mm256_add_pd(lo, _mm256_cvtps_pd(p))

/* 8 double sums (lanes = heads hb..hb+7) → s[h·lds + j] as floats, for the heads that exist */
static inline void store_heads(__m256d lo, __m256d hi, int64_t hb, int64_t nh, float *s, int64_t lds, int32_t j) {
    double d[8];
    _mm256_storeu_pd(d, lo);
    _mm256_storeu_pd(d + 4, hi);
    for (int l = 0; l < 8 && hb + l < nh; l++) s[(hb + l) * lds + j] = (float)d[l];
}

static void scores(const float *tile, int32_t nj, int64_t ldt, int64_t D, const float *qT, int64_t nhp, int64_t nh,
                   float *s, int64_t lds) {
    for (int64_t hb = 0; hb < nh; hb += 8) {
        int32_t j = 0;
        for (; j + 4 <= nj; j += 4) { /* 4 rows × 8 heads: 8 independent double chains */
            const float *r0 = tile + j * ldt, *r1 = r0 + ldt, *r2 = r1 + ldt, *r3 = r2 + ldt;
            __m256d a0 = _mm256_setzero_pd(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            for (int64_t i = 0; i < D; i++) {
                const __m128 ql = _mm_loadu_ps(qT + i * nhp + hb), qh = _mm_loadu_ps(qT + i * nhp + hb + 4);
                __m128 k = _mm_broadcast_ss(r0 + i);
                ACC4(a0, _mm_mul_ps(ql, k)), ACC4(b0, _mm_mul_ps(qh, k));
                k = _mm_broadcast_ss(r1 + i);
                ACC4(a1, _mm_mul_ps(ql, k)), ACC4(b1, _mm_mul_ps(qh, k));
                k = _mm_broadcast_ss(r2 + i);
                ACC4(a2, _mm_mul_ps(ql, k)), ACC4(b2, _mm_mul_ps(qh, k));
                k = _mm_broadcast_ss(r3 + i);
                ACC4(a3, _mm_mul_ps(ql, k)), ACC4(b3, _mm_mul_ps(qh, k));
            }
            store_heads(a0, b0, hb, nh, s, lds, j);
            store_heads(a1, b1, hb, nh, s, lds, j + 1);
            store_heads(a2, b2, hb, nh, s, lds, j + 2);
            store_heads(a3, b3, hb, nh, s, lds, j + 3);
        }
        for (; j < nj; j++) {
            const float *r0 = tile + j * ldt;
            __m256d a0 = _mm256_setzero_pd(), b0 = a0;
            for (int64_t i = 0; i < D; i++)
                ACC8(a0, b0, _mm256_mul_ps(_mm256_loadu_ps(qT + i * nhp + hb), _mm256_broadcast_ss(r0 + i)));
            store_heads(a0, b0, hb, nh, s, lds, j);
        }
    }
}

static void accum(const float *tile, int32_t nj, int64_t ldt, const float *p, int64_t lds, int64_t nh, double *acc,
                  int64_t ldo, int64_t nc) {
    for (int64_t h = 0; h < nh; h++) {
        const float *ph = p + h * lds;
        double *o = acc + h * ldo;
        int64_t c = 0;
        for (; c + 32 <= nc; c += 32) { /* 32 columns: 8 independent double chains */
            __m256d a0 = _mm256_loadu_pd(o + c), a1 = _mm256_loadu_pd(o + c + 4), a2 = _mm256_loadu_pd(o + c + 8),
                    a3 = _mm256_loadu_pd(o + c + 12), a4 = _mm256_loadu_pd(o + c + 16),
                    a5 = _mm256_loadu_pd(o + c + 20),
                    a6 = _mm256_loadu_pd(o + c + 24), a7 = _mm256_loadu_pd(o + c + 28);
            for (int32_t j = 0; j < nj; j++) {
                const float *r = tile + j * ldt + c;
                const __m128 w = _mm_broadcast_ss(ph + j);
                ACC4(a0, _mm_mul_ps(_mm_loadu_ps(r), w));
                ACC4(a1, _mm_mul_ps(_mm_loadu_ps(r + 4), w));
                ACC4(a2, _mm_mul_ps(_mm_loadu_ps(r + 8), w));
                ACC4(a3, _mm_mul_ps(_mm_loadu_ps(r + 12), w));
                ACC4(a4, _mm_mul_ps(_mm_loadu_ps(r + 16), w));
                ACC4(a5, _mm_mul_ps(_mm_loadu_ps(r + 20), w));
                ACC4(a6, _mm_mul_ps(_mm_loadu_ps(r + 24), w));
                ACC4(a7, _mm_mul_ps(_mm_loadu_ps(r + 28), w));
            }
            _mm256_storeu_pd(o + c, a0), _mm256_storeu_pd(o + c + 4, a1), _mm256_storeu_pd(o + c + 8, a2);
            _mm256_storeu_pd(o + c + 12, a3), _mm256_storeu_pd(o + c + 16, a4), _mm256_storeu_pd(o + c + 20, a5);
            _mm256_storeu_pd(o + c + 24, a6), _mm256_storeu_pd(o + c + 28, a7);
        }
        for (; c < nc; c += 8) {
            __m256d a0 = _mm256_loadu_pd(o + c), a1 = _mm256_loadu_pd(o + c + 4);
            for (int32_t j = 0; j < nj; j++)
                ACC8(a0, a1, _mm256_mul_ps(_mm256_loadu_ps(tile + j * ldt + c), _mm256_broadcast_ss(ph + j)));
            _mm256_storeu_pd(o + c, a0), _mm256_storeu_pd(o + c + 4, a1);
        }
    }
}

/* F16C rounds to nearest even, as ds2_f32_to_f16 */
static void round_f16(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

/* ---- f16 rows on doubles (attn.c: products of halves are exact, one FMA per product) ------------------- */

static void load_tile_d(const ds2_mqa_args *a, int32_t j0, int32_t nj, double *tile, int64_t ldt, int seg2) {
    const int64_t d1 = a->d1, d2 = seg2 ? a->d2 : 0;
    for (int32_t jj = 0; jj < nj; jj++) {
        double *t = tile + jj * ldt;
        const size_t j = (size_t)(j0 + jj);
        ds2_avx2_f16_to_f64((const uint16_t *)a->k1 + j * d1, d1, t);
        ds2_avx2_f16_to_f64((const uint16_t *)a->k2 + j * d2, d2, t + d1);
        if (seg2)
            for (int64_t i = d1 + d2; i < ldt; i++) t[i] = 0.0;
    }
}

/* The query block of 8 heads is D × 64 B (37 KB for D = 576): i runs in chunks whose block stays in L1 while
 * every row of the tile passes; the 8 running sums of a row group wait in `part` between chunks (exact, so the
 * order of additions is unchanged). */
enum { SCORE_ICHUNK = 128 };
static void scores_d(const double *tile, int32_t nj, int64_t ldt, int64_t D, const double *qT, int64_t nhp, int64_t nh,
                     float *s, int64_t lds) {
    double part[DS2_MQA_TILE * 8];
    for (int64_t hb = 0; hb < nh; hb += 8) {
        for (int64_t i0 = 0; i0 < D; i0 += SCORE_ICHUNK) {
            const int64_t i1 = D - i0 < SCORE_ICHUNK ? D : i0 + SCORE_ICHUNK;
            int32_t j = 0;
            for (; j + 4 <= nj; j += 4) { /* 4 rows × 8 heads: 8 independent FMA chains */
                const double *r0 = tile + j * ldt, *r1 = r0 + ldt, *r2 = r1 + ldt, *r3 = r2 + ldt;
                double *pj = part + j * 8;
                __m256d a0 = _mm256_setzero_pd(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
                if (i0 > 0) {
                    a0 = _mm256_loadu_pd(pj), b0 = _mm256_loadu_pd(pj + 4), a1 = _mm256_loadu_pd(pj + 8);
                    b1 = _mm256_loadu_pd(pj + 12), a2 = _mm256_loadu_pd(pj + 16), b2 = _mm256_loadu_pd(pj + 20);
                    a3 = _mm256_loadu_pd(pj + 24), b3 = _mm256_loadu_pd(pj + 28);
                }
                for (int64_t i = i0; i < i1; i++) {
                    const __m256d ql = _mm256_loadu_pd(qT + i * nhp + hb), qh = _mm256_loadu_pd(qT + i * nhp + hb + 4);
                    __m256d k = _mm256_broadcast_sd(r0 + i);
                    a0 = _mm256_fmadd_pd(ql, k, a0), b0 = _mm256_fmadd_pd(qh, k, b0);
                    k = _mm256_broadcast_sd(r1 + i);
                    a1 = _mm256_fmadd_pd(ql, k, a1), b1 = _mm256_fmadd_pd(qh, k, b1);
                    k = _mm256_broadcast_sd(r2 + i);
                    a2 = _mm256_fmadd_pd(ql, k, a2), b2 = _mm256_fmadd_pd(qh, k, b2);
                    k = _mm256_broadcast_sd(r3 + i);
                    a3 = _mm256_fmadd_pd(ql, k, a3), b3 = _mm256_fmadd_pd(qh, k, b3);
                }
                _mm256_storeu_pd(pj, a0), _mm256_storeu_pd(pj + 4, b0), _mm256_storeu_pd(pj + 8, a1);
                _mm256_storeu_pd(pj + 12, b1), _mm256_storeu_pd(pj + 16, a2), _mm256_storeu_pd(pj + 20, b2);
                _mm256_storeu_pd(pj + 24, a3), _mm256_storeu_pd(pj + 28, b3);
            }
            for (; j < nj; j++) {
                const double *r0 = tile + j * ldt;
                double *pj = part + j * 8;
                __m256d a0 = _mm256_setzero_pd(), b0 = a0;
                if (i0 > 0) a0 = _mm256_loadu_pd(pj), b0 = _mm256_loadu_pd(pj + 4);
                for (int64_t i = i0; i < i1; i++) {
                    const __m256d k = _mm256_broadcast_sd(r0 + i);
                    a0 = _mm256_fmadd_pd(_mm256_loadu_pd(qT + i * nhp + hb), k, a0);
                    b0 = _mm256_fmadd_pd(_mm256_loadu_pd(qT + i * nhp + hb + 4), k, b0);
                }
                _mm256_storeu_pd(pj, a0), _mm256_storeu_pd(pj + 4, b0);
            }
        }
        for (int32_t j = 0; j < nj; j++)
            for (int l = 0; l < 8 && hb + l < nh; l++) s[(hb + l) * lds + j] = (float)part[j * 8 + l];
    }
}

/* Column strips of 8 outer, heads inner: a strip of the tile (nj rows × 64 B) comes from L2 once and serves
 * every head from L1; 4 heads × 8 columns = 8 FMA chains per strip. */
static void accum_d(const double *tile, int32_t nj, int64_t ldt, const double *p, int64_t lds, int64_t nh, double *acc,
                    int64_t ldo, int64_t nc) {
    for (int64_t c = 0; c < nc; c += 8) {
        int64_t h = 0;
        for (; h + 4 <= nh; h += 4) {
            const double *p0 = p + h * lds, *p1 = p0 + lds, *p2 = p1 + lds, *p3 = p2 + lds;
            double *o0 = acc + h * ldo + c, *o1 = o0 + ldo, *o2 = o1 + ldo, *o3 = o2 + ldo;
            __m256d a0 = _mm256_loadu_pd(o0), b0 = _mm256_loadu_pd(o0 + 4), a1 = _mm256_loadu_pd(o1),
                    b1 = _mm256_loadu_pd(o1 + 4), a2 = _mm256_loadu_pd(o2), b2 = _mm256_loadu_pd(o2 + 4),
                    a3 = _mm256_loadu_pd(o3), b3 = _mm256_loadu_pd(o3 + 4);
            for (int32_t j = 0; j < nj; j++) {
                const __m256d x0 = _mm256_loadu_pd(tile + j * ldt + c), x1 = _mm256_loadu_pd(tile + j * ldt + c + 4);
                __m256d w = _mm256_broadcast_sd(p0 + j);
                a0 = _mm256_fmadd_pd(x0, w, a0), b0 = _mm256_fmadd_pd(x1, w, b0);
                w = _mm256_broadcast_sd(p1 + j);
                a1 = _mm256_fmadd_pd(x0, w, a1), b1 = _mm256_fmadd_pd(x1, w, b1);
                w = _mm256_broadcast_sd(p2 + j);
                a2 = _mm256_fmadd_pd(x0, w, a2), b2 = _mm256_fmadd_pd(x1, w, b2);
                w = _mm256_broadcast_sd(p3 + j);
                a3 = _mm256_fmadd_pd(x0, w, a3), b3 = _mm256_fmadd_pd(x1, w, b3);
            }
            _mm256_storeu_pd(o0, a0), _mm256_storeu_pd(o0 + 4, b0), _mm256_storeu_pd(o1, a1);
            _mm256_storeu_pd(o1 + 4, b1), _mm256_storeu_pd(o2, a2), _mm256_storeu_pd(o2 + 4, b2);
            _mm256_storeu_pd(o3, a3), _mm256_storeu_pd(o3 + 4, b3);
        }
        for (; h < nh; h++) {
            const double *p0 = p + h * lds;
            double *o0 = acc + h * ldo + c;
            __m256d a0 = _mm256_loadu_pd(o0), b0 = _mm256_loadu_pd(o0 + 4);
            for (int32_t j = 0; j < nj; j++) {
                const __m256d w = _mm256_broadcast_sd(p0 + j);
                a0 = _mm256_fmadd_pd(_mm256_loadu_pd(tile + j * ldt + c), w, a0);
                b0 = _mm256_fmadd_pd(_mm256_loadu_pd(tile + j * ldt + c + 4), w, b0);
            }
            _mm256_storeu_pd(o0, a0), _mm256_storeu_pd(o0 + 4, b0);
        }
    }
}

static void load_cols_d(const ds2_mqa_args *a, int32_t j0, int32_t nj, int64_t c0, int64_t c1, double *tile,
                        int64_t ldt) {
    const int64_t d1 = a->d1, cv = c1 < d1 ? c1 : d1;
    for (int32_t jj = 0; jj < nj; jj++) {
        double *t = tile + jj * ldt;
        if (cv > c0) ds2_avx2_f16_to_f64((const uint16_t *)a->k1 + (size_t)(j0 + jj) * d1 + c0, cv - c0, t + c0);
        for (int64_t c = cv > c0 ? cv : c0; c < c1; c++) t[c] = 0.0;
    }
}

const ds2_mqa_ops ds2_avx2_mqa_ops = {load_tile, scores, accum, round_f16,
                                     load_tile_d, scores_d, accum_d, load_cols_d};

void ds2_avx2_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch) {
    ds2_mqa_tiled(a, h0, h1, scratch, &ds2_avx2_mqa_ops);
}
