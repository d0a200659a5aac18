/* attn_avx2.c — the tile primitives of the fast multi-query attention (attn.h) for x86-64 AVX2+FMA+F16C.
 *
 * Compiled with -mavx2 -mfma -mf16c for this file only; reached only through the kernel set dtype_traits.c
 * picks after cpuid reported all three. Register blocking: scores 4 heads × 2 rows (8 accumulators, 6 loads
 * per 8 FMAs), output 2 heads × 32 columns. Every score / output element is one FMA chain in a fixed order
 * whatever block it falls in, so the split of heads over calls never changes a bit.
 */
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "attn_avx2.c must be compiled with -mavx2 -mfma -mf16c"
#endif

#include <immintrin.h>
#include <string.h>

#include "attn.h"

/* n halves → floats (exact), then zeros up to `to` */
static void load_seg_f16(const uint16_t *src, int64_t n, float *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

static void load_tile(const ds2_mqa_args *a, int32_t j0, int32_t nj, float *tile, int64_t ldt) {
    const int64_t d1 = a->d1, d2 = a->d2;
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
        for (int64_t i = d1 + d2; i < ldt; i++) t[i] = 0.0f;
    }
}

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static void scores(const float *tile, int32_t nj, int64_t ldt, const float *q, int64_t nh, float *s, int64_t lds) {
    int64_t h = 0;
    for (; h + 4 <= nh; h += 4) {
        const float *q0 = q + h * ldt, *q1 = q0 + ldt, *q2 = q1 + ldt, *q3 = q2 + ldt;
        float *s0 = s + h * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
        int32_t j = 0;
        for (; j + 2 <= nj; j += 2) {
            const float *r0 = tile + j * ldt, *r1 = r0 + ldt;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                   a31 = a00;
            for (int64_t i = 0; i < ldt; i += 8) {
                const __m256 x0 = _mm256_loadu_ps(r0 + i), x1 = _mm256_loadu_ps(r1 + i);
                __m256 y = _mm256_loadu_ps(q0 + i);
                a00 = _mm256_fmadd_ps(y, x0, a00);
                a01 = _mm256_fmadd_ps(y, x1, a01);
                y = _mm256_loadu_ps(q1 + i);
                a10 = _mm256_fmadd_ps(y, x0, a10);
                a11 = _mm256_fmadd_ps(y, x1, a11);
                y = _mm256_loadu_ps(q2 + i);
                a20 = _mm256_fmadd_ps(y, x0, a20);
                a21 = _mm256_fmadd_ps(y, x1, a21);
                y = _mm256_loadu_ps(q3 + i);
                a30 = _mm256_fmadd_ps(y, x0, a30);
                a31 = _mm256_fmadd_ps(y, x1, a31);
            }
            s0[j] = hsum(a00), s0[j + 1] = hsum(a01);
            s1[j] = hsum(a10), s1[j + 1] = hsum(a11);
            s2[j] = hsum(a20), s2[j + 1] = hsum(a21);
            s3[j] = hsum(a30), s3[j + 1] = hsum(a31);
        }
        for (; j < nj; j++) {
            const float *r0 = tile + j * ldt;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t i = 0; i < ldt; i += 8) {
                const __m256 x0 = _mm256_loadu_ps(r0 + i);
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + i), x0, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + i), x0, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + i), x0, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q3 + i), x0, a3);
            }
            s0[j] = hsum(a0), s1[j] = hsum(a1), s2[j] = hsum(a2), s3[j] = hsum(a3);
        }
    }
    for (; h < nh; h++) {
        const float *q0 = q + h * ldt;
        for (int32_t j = 0; j < nj; j++) {
            const float *r0 = tile + j * ldt;
            __m256 a0 = _mm256_setzero_ps();
            for (int64_t i = 0; i < ldt; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q0 + i), _mm256_loadu_ps(r0 + i), a0);
            s[h * lds + j] = hsum(a0);
        }
    }
}

static void accum(const float *tile, int32_t nj, int64_t ldt, const float *p, int64_t lds, int64_t nh, float *acc,
                  int64_t ldo, int64_t nc) {
    int64_t h = 0;
    for (; h + 2 <= nh; h += 2) {
        const float *p0 = p + h * lds, *p1 = p0 + lds;
        float *o0 = acc + h * ldo, *o1 = o0 + ldo;
        int64_t c = 0;
        for (; c + 32 <= nc; c += 32) {
            __m256 a0 = _mm256_loadu_ps(o0 + c), a1 = _mm256_loadu_ps(o0 + c + 8), a2 = _mm256_loadu_ps(o0 + c + 16),
                   a3 = _mm256_loadu_ps(o0 + c + 24);
            __m256 b0 = _mm256_loadu_ps(o1 + c), b1 = _mm256_loadu_ps(o1 + c + 8), b2 = _mm256_loadu_ps(o1 + c + 16),
                   b3 = _mm256_loadu_ps(o1 + c + 24);
            for (int32_t j = 0; j < nj; j++) {
                const float *r = tile + j * ldt + c;
                const __m256 x0 = _mm256_loadu_ps(r), x1 = _mm256_loadu_ps(r + 8), x2 = _mm256_loadu_ps(r + 16),
                             x3 = _mm256_loadu_ps(r + 24);
                const __m256 w0 = _mm256_broadcast_ss(p0 + j), w1 = _mm256_broadcast_ss(p1 + j);
                a0 = _mm256_fmadd_ps(w0, x0, a0);
                a1 = _mm256_fmadd_ps(w0, x1, a1);
                a2 = _mm256_fmadd_ps(w0, x2, a2);
                a3 = _mm256_fmadd_ps(w0, x3, a3);
                b0 = _mm256_fmadd_ps(w1, x0, b0);
                b1 = _mm256_fmadd_ps(w1, x1, b1);
                b2 = _mm256_fmadd_ps(w1, x2, b2);
                b3 = _mm256_fmadd_ps(w1, x3, b3);
            }
            _mm256_storeu_ps(o0 + c, a0), _mm256_storeu_ps(o0 + c + 8, a1), _mm256_storeu_ps(o0 + c + 16, a2),
                _mm256_storeu_ps(o0 + c + 24, a3);
            _mm256_storeu_ps(o1 + c, b0), _mm256_storeu_ps(o1 + c + 8, b1), _mm256_storeu_ps(o1 + c + 16, b2),
                _mm256_storeu_ps(o1 + c + 24, b3);
        }
        for (; c < nc; c += 8) {
            __m256 a0 = _mm256_loadu_ps(o0 + c), b0 = _mm256_loadu_ps(o1 + c);
            for (int32_t j = 0; j < nj; j++) {
                const __m256 x0 = _mm256_loadu_ps(tile + j * ldt + c);
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + j), x0, a0);
                b0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p1 + j), x0, b0);
            }
            _mm256_storeu_ps(o0 + c, a0), _mm256_storeu_ps(o1 + c, b0);
        }
    }
    for (; h < nh; h++) {
        const float *p0 = p + h * lds;
        float *o0 = acc + h * ldo;
        for (int64_t c = 0; c < nc; c += 8) {
            __m256 a0 = _mm256_loadu_ps(o0 + c);
            for (int32_t j = 0; j < nj; j++)
                a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(p0 + j), _mm256_loadu_ps(tile + j * ldt + c), a0);
            _mm256_storeu_ps(o0 + c, a0);
        }
    }
}

static const ds2_mqa_ops k_ops = {load_tile, scores, accum};

void ds2_avx2_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch) {
    ds2_mqa_tiled(a, h0, h1, scratch, &k_ops);
}
