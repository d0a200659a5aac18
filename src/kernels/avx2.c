/* avx2.c — x86-64 AVX2/FMA/F16C row kernels (see simd.h for what each guarantees against the reference).
 *
 * Compiled with -mavx2 -mfma -mf16c for this file only; dtype_traits.c calls into it only after cpuid said
 * the CPU has all three, so nothing here may run (or be inlined) elsewhere.
 * Blocks: Q8_0 = {f16 d; int8 qs[32]} (34 B), Q4_0 = {f16 d; u8 qs[16]} (18 B), at any byte address (loads
 * are unaligned).
 */
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "avx2.c must be compiled with -mavx2 -mfma -mf16c"
#endif

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "ref.h"
#include "simd.h"

#define QK 32
#define Q8_0_BYTES 34
#define Q4_0_BYTES 18

static inline float load_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h); /* exact, as the reference's ds2_half_to_float_inline */
}

/* Σ of the 8 int32 lanes (exact). */
static inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static inline double hsum_f64(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/* Σ_j w[j]·a[j] over 32 int8 pairs as 8 int32 partial sums (exact: |w| ≤ 128, |a| ≤ 127 keeps each i16 pair
 * sum of maddubs within range; activations come from the Q8_0 quantizer, so |a| ≤ 127). */
static inline __m256i dot_i8x32(__m256i w, __m256i a) {
    const __m256i aw = _mm256_sign_epi8(w, w); /* |w| (−128 reads as 128 unsigned) */
    const __m256i sa = _mm256_sign_epi8(a, w); /* a with w's sign (0 where w = 0) */
    const __m256i p16 = _mm256_maddubs_epi16(aw, sa);
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/* ---- F32 · F32, F16 · F16: float products, double lanes --------------------------------------------------- */

static inline void acc_products(__m256 p, __m256d *acc0, __m256d *acc1) {
    *acc0 = _mm256_add_pd(*acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
    *acc1 = _mm256_add_pd(*acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
}

void ds2_avx2_vec_dot_f32_f32(int64_t n, float *s, const void *w, const void *a) {
    const float *x = (const float *)w, *y = (const float *)a;
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc_products(_mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)), &acc[0], &acc[1]);
        acc_products(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)), &acc[2], &acc[3]);
    }
    for (; i + 8 <= n; i += 8)
        acc_products(_mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)), &acc[0], &acc[1]);
    double sum = hsum_f64(_mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])));
    for (; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void ds2_avx2_vec_dot_f16_f16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = (const uint16_t *)w, *y = (const uint16_t *)a;
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
#define LOADH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
    for (; i + 16 <= n; i += 16) {
        acc_products(_mm256_mul_ps(LOADH(x + i), LOADH(y + i)), &acc[0], &acc[1]);
        acc_products(_mm256_mul_ps(LOADH(x + i + 8), LOADH(y + i + 8)), &acc[2], &acc[3]);
    }
    for (; i + 8 <= n; i += 8) acc_products(_mm256_mul_ps(LOADH(x + i), LOADH(y + i)), &acc[0], &acc[1]);
#undef LOADH
    double sum = hsum_f64(_mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])));
    for (; i < n; i++) sum += (double)(_cvtsh_ss(x[i]) * _cvtsh_ss(y[i]));
    *s = (float)sum;
}

void ds2_avx2_f16_to_f64(const uint16_t *h, int64_t n, double *d) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i)));
        _mm256_storeu_pd(d + i, _mm256_cvtps_pd(_mm256_castps256_ps128(f)));
        _mm256_storeu_pd(d + i + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1)));
    }
    for (; i < n; i++) d[i] = (double)_cvtsh_ss(h[i]);
}

void ds2_avx2_f16_from_float(const float *x, void *y, int64_t n) {
    uint16_t *h = (uint16_t *)y;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) /* round to nearest even, as ds2_f32_to_f16 */
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) h[i] = ds2_f32_to_f16(x[i]);
}

/* ---- Q8_0 activations ---------------------------------------------------------------------------------- */

/* The reference quantizer's bits: d = amax/127, id = 1/d, q = roundf(x·id) (ties away from zero), the f16 d
 * rounded by ds2_f32_to_f16. roundf is rebuilt exactly: t = trunc(v); t ± 1 where |v − t| ≥ 0.5 (v − t is
 * exact). */
void ds2_avx2_q8_0_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q8_0_BYTES, x += QK) {
        __m256 v[4];
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v[0]), _mm256_andnot_ps(sign, v[1])),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v[2]), _mm256_andnot_ps(sign, v[3])));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = ds2_f32_to_f16(d);
        memcpy(b, &dh, 2);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 p = _mm256_mul_ps(v[k], vid);
            const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(p, t)), half, _CMP_GE_OQ);
            const __m256 step = _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(sign, p), one)); /* ±1 or 0 */
            q[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
        }
        /* int32 ×32 → int8 ×32: the packs interleave 128-bit lanes; the permute restores element order */
        const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b),
                                                       _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(b + 2), p8);
    }
}

/* ---- quantized dot products ------------------------------------------------------------------------------
 * Per block an exact int32 Σ q_w·q_a, then sumf += (float)sumi · (d_w·d_a) in the reference's order: the same
 * float operations, so the same bits. The float chain costs one add latency per block, which the integer work
 * of the following blocks overlaps. */

void ds2_avx2_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q8_0_BYTES, ba += Q8_0_BYTES) {
        const __m256i qw = _mm256_loadu_si256((const __m256i *)(bw + 2));
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(ba + 2));
        const int32_t sumi = hsum_i32(dot_i8x32(qw, qa));
        sumf += (float)sumi * (load_half(bw) * load_half(ba));
    }
    *s = sumf;
}

void ds2_avx2_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const __m256i lo4 = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q4_0_BYTES, ba += Q8_0_BYTES) {
        const __m128i raw = _mm_loadu_si128((const __m128i *)(bw + 2));
        /* elements 0..15 = low nibbles, 16..31 = high nibbles, each minus 8 */
        const __m256i nib = _mm256_and_si256(
            _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), lo4);
        const __m256i qw = _mm256_sub_epi8(nib, eight);
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(ba + 2));
        const int32_t sumi = hsum_i32(dot_i8x32(qw, qa));
        sumf += (float)sumi * (load_half(bw) * load_half(ba));
    }
    *s = sumf;
}

/* ---- attention dots (kernels.h ds2_dot_*_acc): acc + Σ (double)(a[i]·b[i]), products in float ---------- */

double ds2_avx2_dot_f32_acc(int64_t n, const float *a, const float *b, double acc) {
    __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc_products(_mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)), &s[0], &s[1]);
        acc_products(_mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)), &s[2], &s[3]);
    }
    for (; i + 8 <= n; i += 8) acc_products(_mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)), &s[0], &s[1]);
    acc += hsum_f64(_mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
    for (; i < n; i++) acc += (double)(a[i] * b[i]);
    return acc;
}

double ds2_avx2_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc) {
    __m256d s[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc_products(_mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), _mm256_loadu_ps(b + i)),
                     &s[0], &s[1]);
    acc += hsum_f64(_mm256_add_pd(s[0], s[1]));
    for (; i < n; i++) acc += (double)(_cvtsh_ss(a[i]) * b[i]);
    return acc;
}

double ds2_avx2_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc) {
    __m256d d[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        acc_products(_mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))),
                                   _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)))),
                     &d[0], &d[1]);
    acc += hsum_f64(_mm256_add_pd(d[0], d[1]));
    for (; i < n; i++) acc += (double)(_cvtsh_ss(a[i]) * _cvtsh_ss(b[i]));
    return acc;
}

/* ---- softmax and SwiGLU: ggml_v_expf eight lanes at a time -----------------------------------------------
 * ggml's SSE2 exp (the reference, ref.c, evaluates it lane by lane) with the same unfused float operations on
 * 8 lanes: every lane gets the reference's bits. */
static inline __m256 expf8_avx2(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(0x1.715476p+0f)), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_sub_ps(_mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0x1.62e4p-1f))),
                                   _mm256_mul_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f)));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_add_ps(
        _mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(0x1.0e4020p-7f), b),
                                                                _mm256_set1_ps(0x1.573e2ep-5f)),
                                                  u),
                                    _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(0x1.555e66p-3f), b),
                                                  _mm256_set1_ps(0x1.fffdb6p-2f))),
                      u),
        _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    const __m256 an = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
    const __m256 big = _mm256_cmp_ps(an, _mm256_set1_ps(126.0f), _CMP_GT_OQ); /* false for NaN, as !(an > 126) */
    const __m256 normal = _mm256_add_ps(_mm256_mul_ps(j, k), k);
    if (!_mm256_movemask_ps(big)) return normal;
    /* |n| > 126: 2^n in two factors; |n| > 192: saturated (0 or inf) */
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int32_t)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge = _mm256_cmp_ps(an, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 scaled =
        _mm256_blendv_ps(_mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(s2, j), s2), s1), _mm256_mul_ps(s1, s1), huge);
    return _mm256_blendv_ps(normal, scaled, big);
}

/* (e0 + e1) + (e2 + e3) of a group of 4, as the reference sums each group in float */
static inline float group_sum4(__m128 e) {
    const __m128 p = _mm_hadd_ps(e, e);
    return _mm_cvtss_f32(_mm_hadd_ps(p, p));
}

void ds2_avx2_softmax_row(float *x, int64_t n, int64_t n_row) {
    if (n <= 0) return;
    if (n_row < n) n_row = n;
    /* maxps(v, m) = v > m ? v : m per lane, the reference's step; which zero a lane keeps does not matter
     * (x − (+0) and x − (−0) differ only for x = ±0, whose exp is 1 either way) */
    float max = -INFINITY;
    int64_t i = 0;
    if (n >= 8) {
        __m256 m = _mm256_set1_ps(-INFINITY);
        for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
        float lanes[8];
        _mm256_storeu_ps(lanes, m);
        for (int l = 0; l < 8; l++) max = lanes[l] > max ? lanes[l] : max;
    }
    for (; i < n; i++) max = x[i] > max ? x[i] : max;
    const __m256 vmax = _mm256_set1_ps(max);
    double sum = 0.0;
    for (i = 0; i + 8 <= n; i += 8) { /* two whole groups of 4, each summed in float, then added to the double */
        const __m256 e = expf8_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        sum += (double)group_sum4(_mm256_castps256_ps128(e));
        sum += (double)group_sum4(_mm256_extractf128_ps(e, 1));
    }
    /* the last group(s), masked or not, and a libm tail, as the reference does them */
    const float inv = (float)(1.0 / ds2_ref_softmax_exp_from(x, i, n, n_row, max, sum));
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

void ds2_avx2_swiglu(float *out, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 gi = _mm256_loadu_ps(g + i);
        const __m256 silu = _mm256_div_ps(gi, _mm256_add_ps(one, expf8_avx2(_mm256_sub_ps(_mm256_setzero_ps(), gi))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
    }
    ds2_ref_swiglu(out + i, g + i, u + i, n - i); /* the last < 8: the reference's groups of 4 and libm tail */
}

/* ---- four rows at once (vec_dot_x4) ----------------------------------------------------------------------
 * Same per-row arithmetic as above, four rows sharing each activation block: the four int sums are reduced
 * together (hadd tree), the scale products d_w·d_a and the float accumulations run in the four lanes of one
 * __m128 — lane k is exactly row k's sequential sumf, so the bits equal four vec_dot calls while the four
 * chains overlap. */

/* lane k = Σ of the 8 int32 lanes of v[k] */
static inline __m128i hsum4_i32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
    const __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    return _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* The four-row kernels read four rows as four short interleaved streams, which the hardware prefetchers pick
 * up too late on a matrix larger than the caches (the vocabulary matrix in decode ran at a third of the
 * bandwidth of one row at a time). So each block step also prefetches its share of the next four rows, which
 * follow these contiguously in the usual row-major matrix (a prefetch past the end is harmless). */
static inline void prefetch_next4(const uint8_t *w0, size_t w_stride, size_t w_bstep, int64_t ib, int64_t nb) {
    /* the four rows' bytes: 4 row-major rows, or one interleaved group (w_bstep > w_stride, kernels.h) */
    const size_t span = w_bstep > w_stride ? (size_t)nb * w_bstep : 4 * w_stride;
    const size_t per = (span + (size_t)nb - 1) / (size_t)nb; /* bytes per block step */
    const uint8_t *p = w0 + span + (size_t)ib * per;
    for (size_t o = 0; o < per + 63; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}

static inline uint16_t load_u16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return h;
}

/* the f16 scales at p0 + k·stride, k = 0..3, as floats */
static inline __m128 load_half4(const uint8_t *p0, size_t stride) {
    uint16_t h[4];
    for (int k = 0; k < 4; k++) memcpy(&h[k], p0 + (size_t)k * stride, 2);
    return _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)h));
}

void ds2_avx2_vec_dot_q8_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    __m128 sumf = _mm_setzero_ps();
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES) {
        prefetch_next4((const uint8_t *)w, w_stride, w_bstep, ib, n / QK);
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(ba + 2));
        __m256i d[4];
        for (int k = 0; k < 4; k++) d[k] = dot_i8x32(_mm256_loadu_si256((const __m256i *)(bw + k * w_stride + 2)), qa);
        const __m128 sumi = _mm_cvtepi32_ps(hsum4_i32(d[0], d[1], d[2], d[3])); /* exact: |sumi| < 2^24 */
        const __m128 dd = _mm_mul_ps(load_half4(bw, w_stride), _mm_set1_ps(load_half(ba)));
        sumf = _mm_add_ps(sumf, _mm_mul_ps(sumi, dd));
    }
    _mm_storeu_ps(s, sumf);
}

/* Q4_0 rows: Σ (nib − 8)·a = Σ nib·a − 8·Σ a, with the unsigned nibbles straight into a u8·s8 dot (exact).
 * Two rows share a register: its low 128 bits hold row A's nibbles, the high ones row B's, against the block's
 * activations broadcast to both halves (low nibbles · a[0..15], high nibbles · a[16..31]); the −8·Σ a of each
 * 32-bit lane's bytes is the accumulators' start (one value for every row). Two adds of 32-bit pairs then give
 * each row's block sum, two blocks at a time, and the float steps run on 8 lanes (4 rows × 2 blocks) added to
 * the 4 row sums block by block — the reference's order, so the same bits; per block about a fifth fewer
 * instructions than a register per row with its own 8-lane sum. U8S8_ACC(acc, u, s): acc + the int32 sums of
 * each 4 adjacent u8·s8 products — maddubs + madd + add here (≤ 15·128·2 per pair: no saturation), one
 * vpdpbusd in the VNNI copy below. */
#define Q4_0_X4_BLOCK(U8S8_ACC, hv, ib)                                                                        \
    do {                                                                                                       \
        prefetch_next4((const uint8_t *)w, w_stride, w_bstep, ib, nb);                                         \
        const uint8_t *wb = bw + (size_t)(ib) * w_bstep, *ab = ba + (size_t)(ib) * Q8_0_BYTES;                 \
        const __m256i alo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(ab + 2)));           \
        const __m256i ahi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(ab + 18)));          \
        const __m256i neg = _mm256_sub_epi32(zero, U8S8_ACC(U8S8_ACC(zero, eights, alo), eights, ahi));        \
        __m256i acc_[2];                                                                                       \
        for (int p = 0; p < 2; p++) {                                                                          \
            const uint8_t *r = wb + (size_t)(2 * p) * w_stride + 2;                                            \
            const __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)r)), \
                                                        _mm_loadu_si128((const __m128i *)(r + w_stride)), 1);  \
            acc_[p] = U8S8_ACC(U8S8_ACC(neg, _mm256_and_si256(raw, lo4), alo),                                 \
                               _mm256_and_si256(_mm256_srli_epi16(raw, 4), lo4), ahi);                         \
        }                                                                                                      \
        hv = _mm256_hadd_epi32(acc_[0], acc_[1]);                                                              \
    } while (0)
/* the f16 scale of row k (0..3) of block ib */
#define Q4_0_WD(ib, k) ((short)load_u16(bw + (size_t)(ib) * w_bstep + (size_t)(k) * w_stride))
#define Q4_0_X4_BODY(U8S8_ACC)                                                                                 \
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;                                          \
    const __m256i lo4 = _mm256_set1_epi8(0x0f), eights = _mm256_set1_epi8(8), zero = _mm256_setzero_si256();   \
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);                                            \
    const int64_t nb = n / QK;                                                                                 \
    __m128 sumf = _mm_setzero_ps();                                                                            \
    int64_t ib = 0;                                                                                            \
    for (; ib + 2 <= nb; ib += 2) {                                                                            \
        __m256i h0, h1; /* [A01 A23 C01 C23 | B01 B23 D01 D23]: pair sums of rows A..D's lanes, per block */   \
        Q4_0_X4_BLOCK(U8S8_ACC, h0, ib);                                                                       \
        Q4_0_X4_BLOCK(U8S8_ACC, h1, ib + 1);                                                                   \
        /* [A0 C0 A1 C1 | B0 D0 B1 D1] (digit = block) → [A0 B0 C0 D0 | A1 B1 C1 D1] */                        \
        const __m256i sumi = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(h0, h1), perm);                    \
        const __m256 dw = _mm256_cvtph_ps(_mm_setr_epi16(Q4_0_WD(ib, 0), Q4_0_WD(ib, 1), Q4_0_WD(ib, 2),       \
            Q4_0_WD(ib, 3), Q4_0_WD(ib + 1, 0), Q4_0_WD(ib + 1, 1), Q4_0_WD(ib + 1, 2), Q4_0_WD(ib + 1, 3)));   \
        const __m256 da = _mm256_set_m128(_mm_set1_ps(load_half(ba + (size_t)(ib + 1) * Q8_0_BYTES)),          \
                                          _mm_set1_ps(load_half(ba + (size_t)ib * Q8_0_BYTES)));               \
        const __m256 pr = _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), _mm256_mul_ps(dw, da)); /* ints < 2^24 */    \
        sumf = _mm_add_ps(_mm_add_ps(sumf, _mm256_castps256_ps128(pr)), _mm256_extractf128_ps(pr, 1));         \
    }                                                                                                          \
    if (ib < nb) {                                                                                             \
        __m256i h0;                                                                                            \
        Q4_0_X4_BLOCK(U8S8_ACC, h0, ib);                                                                       \
        const __m128i sumi = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_hadd_epi32(h0, h0), perm)); \
        const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(Q4_0_WD(ib, 0), Q4_0_WD(ib, 1), Q4_0_WD(ib, 2), Q4_0_WD(ib, 3), 0, 0, 0, 0)); \
        const __m128 da = _mm_set1_ps(load_half(ba + (size_t)ib * Q8_0_BYTES));                                \
        sumf = _mm_add_ps(sumf, _mm_mul_ps(_mm_cvtepi32_ps(sumi), _mm_mul_ps(dw, da)));                        \
    }                                                                                                          \
    _mm_storeu_ps(s, sumf)
#define U8S8_AVX2(acc, u, s8) _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s8), _mm256_set1_epi16(1)))
void ds2_avx2_vec_dot_q4_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    Q4_0_X4_BODY(U8S8_AVX2);
}
#undef U8S8_AVX2

/* ---- K-quants · Q8_K (Q4_K, Q6_K) ------------------------------------------------------------------------
 * The reference's lane structure, exactly: per super-block 8 int32 lanes, lane l = Σ over elements e ≡ l (mod 8)
 * of scale(e)·q_w(e)·q_a(e) (exact integers: any grouping gives the same lanes); then per lane
 * sums[l] += (d_w·d_a)·(float)lane[l] — one __m256 multiply and add, the same roundings per lane — and at the
 * end sumf += sums[0], …, sums[7] in order. Q8_K = {f32 d; int8 qs[256]; int16 bsums[16]} (292 B). */
#define QKK 256
#define Q4_K_BYTES 144
#define Q6_K_BYTES 210
#define Q8_K_BYTES 292

static inline float load_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* lanes = Σ_g scale16[g]·(16-element group g of v·qa folded onto lanes k and k+8 → k), two groups at a time:
 * a byte shuffle puts elements k and k+8 of each group side by side, so maddubs (|w| against a with w's sign)
 * forms each fold directly (|q_w·q_a| ≤ 32·128, two per int16); the two groups' folds interleaved give
 * sc_g·s_g[k] + sc_h·s_h[k] in lane k with one madd (exact int32). */
static inline __m256i lanes_dot16_avx2(const int8_t *v, const int8_t *qa, const int *scale16) {
    const __m256i perm = _mm256_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15,
                                          0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    __m256i lanes = _mm256_setzero_si256();
    for (int g = 0; g < 16; g += 2) {
        const __m256i w = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(v + 16 * g)), perm);
        const __m256i a = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(qa + 16 * g)), perm);
        const __m256i f = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
        const __m128i sg = _mm256_castsi256_si128(f), sh = _mm256_extracti128_si256(f, 1);
        const __m128i sc = _mm_set1_epi32((int32_t)((uint32_t)(uint16_t)scale16[g] | ((uint32_t)(uint16_t)scale16[g + 1] << 16)));
        const __m128i lo = _mm_madd_epi16(_mm_unpacklo_epi16(sg, sh), sc), hi = _mm_madd_epi16(_mm_unpackhi_epi16(sg, sh), sc);
        lanes = _mm256_add_epi32(lanes, _mm256_setr_m128i(lo, hi));
    }
    return lanes;
}

static inline float lanes_finish_avx2(float sumf, __m256 sums) {
    float s[8];
    _mm256_storeu_ps(s, sums);
    for (int l = 0; l < 8; l++) sumf += s[l];
    return sumf;
}

/* Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} (144 B); Q5_K adds u8 qh[32] (the 5th bits) before qs
 * (176 B): element 64c + l = low nibble of qs[32c + l] (+16 if bit 2c of qh[l]), element 64c + 32 + l = high
 * nibble (+16 if bit 2c + 1). Q6_K {u8 ql[128]; u8 qh[64]; int8 scales[16]; f16 d} (210 B).
 *
 * Lanes without a shuffle per multiply: each 32-element chunk (groups g, h = 2c, 2c + 1) of weights and of
 * activations is permuted so that bytes 4j..4j+3 hold elements j, j+8 (of g) and j+16, j+24 (of h) — one
 * vpermd + one vpshufb; the activation chunks once per super-block for all rows. Then a byte multiply-add gives
 * g's and h's lane-j folds side by side and a 16-bit multiply-add with the (sc_g, sc_h) pair gives lane j in
 * 32-bit slot j. Q4_K/Q5_K values are unsigned (straight into maddubs, ≤ 2·31·127 per pair); Q6_K's signed ones
 * go as |w| against a with w's sign (≤ 2·32·127). */
#define Q5_K_BYTES 176
static inline __m256i kq_perm_avx2(__m256i x) {
    const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const __m256i shuf = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                          0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(x, idx), shuf);
}

/* one super-block of row bw: values v (element order), scale pairs sp[c] = (sc_2c, sc_2c+1) as int16 pairs,
 * the 8 mins (Q4_K/Q5_K), d, dmin (scalars in int arrays: no narrow stores later read wide) */
static inline void kq_unpack_avx2(int32_t wt, const uint8_t *bw, int8_t *v, int32_t sp[8], int32_t mn[8], float *d,
                                  float *dmin) {
    const __m256i lo4 = _mm256_set1_epi8(0x0f);
    if (wt == DS2_Q6_K) {
        const __m256i m30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
        for (int half = 0; half < 2; half++) { /* ql[64], qh[32] → 128 values (low 4 bits | high 2 bits << 4) − 32 */
            const uint8_t *ql = bw + 64 * half, *qh = bw + 128 + 32 * half;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            int8_t *o = v + 128 * half;
            /* byte shifts via 16-bit shifts: the masks drop the bits that cross from the neighbouring byte */
            _mm256_store_si256((__m256i *)o, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(l0, lo4),
                                   _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)), k32));
            _mm256_store_si256((__m256i *)(o + 32), _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(l1, lo4),
                                   _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)), k32));
            _mm256_store_si256((__m256i *)(o + 64), _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                                   _mm256_and_si256(h, m30)), k32));
            _mm256_store_si256((__m256i *)(o + 96), _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                   _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)), k32));
        }
        const int8_t *sc = (const int8_t *)(bw + 192);
        for (int c = 0; c < 8; c++) sp[c] = (int32_t)((uint32_t)(uint16_t)sc[2 * c] | ((uint32_t)(uint16_t)sc[2 * c + 1] << 16));
        *d = load_half(bw + 208);
        *dmin = 0.0f;
        return;
    }
    const int q5 = wt == DS2_Q5_K;
    const uint8_t *qs = bw + (q5 ? 48 : 16), *sm = bw + 4;
    const __m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)(bw + 16)) : _mm256_setzero_si256();
    const __m256i b10 = _mm256_set1_epi8(0x10);
    for (int c = 0; c < 4; c++) { /* 64 elements per 32 bytes: low nibbles then high nibbles */
        const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i vl = _mm256_and_si256(q, lo4), vh = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
        if (q5) {
            const __m256i ml = _mm256_set1_epi8((char)(1 << (2 * c))), mh = _mm256_set1_epi8((char)(2 << (2 * c)));
            vl = _mm256_or_si256(vl, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, ml), ml), b10));
            vh = _mm256_or_si256(vh, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, mh), mh), b10));
        }
        _mm256_store_si256((__m256i *)(v + 64 * c), vl);
        _mm256_store_si256((__m256i *)(v + 64 * c + 32), vh);
    }
    for (int j = 0; j < 8; j++) {
        int sc, m;
        if (j < 4) {
            sc = sm[j] & 63;
            m = sm[j + 4] & 63;
        } else {
            sc = (sm[j + 4] & 0x0f) | ((sm[j - 4] >> 6) << 4);
            m = (sm[j + 4] >> 4) | ((sm[j] >> 6) << 4);
        }
        sp[j] = sc | (sc << 16);
        mn[j] = m;
    }
    *d = load_half(bw);
    *dmin = load_half(bw + 2);
}

/* lanes (8 int32, exact) += one permuted 32-element chunk: p = the byte multiply-add of the chunk's unsigned
 * values with the permuted activations (Q6_K: minus 32·(a pair), its values being unsigned − 32), then a
 * 16-bit multiply-add with the chunk's scale pair. The block and row loops are in avx2_kq_dot.h. */
#define KQ_FN(name) name##_avx2
#define KQ_TARGET
#define KQ_PERM(x) kq_perm_avx2(x)
#define KQ_CHUNK(lanes, p, sp) lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16((p), _mm256_set1_epi32(sp)))
#include "avx2_kq_dot.h"
#undef KQ_FN
#undef KQ_TARGET
#undef KQ_PERM
#undef KQ_CHUNK

void ds2_avx2_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    kq_dot_rows_avx2(DS2_Q4_K, 1, n, s, w, 0, Q4_K_BYTES, a);
}
void ds2_avx2_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    kq_dot_rows_avx2(DS2_Q5_K, 1, n, s, w, 0, Q5_K_BYTES, a);
}
void ds2_avx2_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    kq_dot_rows_avx2(DS2_Q6_K, 1, n, s, w, 0, Q6_K_BYTES, a);
}
void ds2_avx2_vec_dot_q4_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    kq_dot_rows_avx2(DS2_Q4_K, 4, n, s, w, w_stride, w_bstep, a);
}
void ds2_avx2_vec_dot_q5_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    kq_dot_rows_avx2(DS2_Q5_K, 4, n, s, w, w_stride, w_bstep, a);
}
void ds2_avx2_vec_dot_q6_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    kq_dot_rows_avx2(DS2_Q6_K, 4, n, s, w, w_stride, w_bstep, a);
}

/* ---- Q5_0 · Q8_0 -----------------------------------------------------------------------------------------
 * Q5_0 = {f16 d; u8 qh[4]; u8 qs[16]} (22 B): element j = (nibble j | bit j of qh << 4) − 16, nibbles as Q4_0.
 * Same exact-integer / reference-order float scheme as Q4_0 (sumf += (d_w·d_a)·(float)sumi). */
#define Q5_0_BYTES 22

/* the 32 nibbles of 16 bytes, element order (low nibbles, then high nibbles) */
static inline __m256i nibbles32(const uint8_t *qs) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1),
                            _mm256_set1_epi8(0x0f));
}

/* 0x10 in byte j where bit j of the 32-bit little-endian word at qh is set (the 5th bits) */
static inline __m256i fifth_bits(const uint8_t *qh) {
    uint32_t h;
    memcpy(&h, qh, 4);
    /* byte j/8 of h broadcast into lane j, then tested against 1 << (j % 8) */
    const __m256i hb = _mm256_shuffle_epi8(_mm256_set1_epi32((int32_t)h),
                                           _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL,
                                                              0x0303030303030303LL));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hb, bit), bit), _mm256_set1_epi8(0x10));
}

/* the 32 signed 5-bit values of one block, element order */
static inline __m256i q5_0_values(const uint8_t *b) {
    return _mm256_sub_epi8(_mm256_or_si256(nibbles32(b + 6), fifth_bits(b + 2)), _mm256_set1_epi8(16));
}

void ds2_avx2_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q5_0_BYTES, ba += Q8_0_BYTES) {
        const int32_t sumi = hsum_i32(dot_i8x32(q5_0_values(bw), _mm256_loadu_si256((const __m256i *)(ba + 2))));
        sumf += (load_half(bw) * load_half(ba)) * (float)sumi;
    }
    *s = sumf;
}

void ds2_avx2_vec_dot_q5_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    __m128 sumf = _mm_setzero_ps();
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES) {
        prefetch_next4((const uint8_t *)w, w_stride, w_bstep, ib, n / QK);
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(ba + 2));
        __m256i d[4];
        for (int k = 0; k < 4; k++) d[k] = dot_i8x32(q5_0_values(bw + k * w_stride), qa);
        const __m128 sumi = _mm_cvtepi32_ps(hsum4_i32(d[0], d[1], d[2], d[3]));
        const __m128 dd = _mm_mul_ps(load_half4(bw, w_stride), _mm_set1_ps(load_half(ba)));
        sumf = _mm_add_ps(sumf, _mm_mul_ps(dd, sumi));
    }
    _mm_storeu_ps(s, sumf);
}

/* ---- IQ4_NL · Q8_0 ---------------------------------------------------------------------------------------
 * IQ4_NL = {f16 d; u8 qs[16]} (18 B), nibbles as Q4_0 indexing the 16-entry codebook ds2_kvalues_iq4nl (one
 * byte shuffle). Reference order: sumf += (d_a·d_w)·(float)sumi. */
#define IQ4_NL_BYTES 18

static inline __m256i iq4_nl_values(const uint8_t *b, __m256i table) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)(b + 2));
    const __m256i nib = _mm256_and_si256(_mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1),
                                         _mm256_set1_epi8(0x0f));
    return _mm256_shuffle_epi8(table, nib);
}

static inline __m256i iq4_table(void) {
    const __m128i t = _mm_loadu_si128((const __m128i *)ds2_kvalues_iq4nl);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(t), t, 1);
}

void ds2_avx2_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const __m256i table = iq4_table();
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += IQ4_NL_BYTES, ba += Q8_0_BYTES) {
        const int32_t sumi = hsum_i32(dot_i8x32(iq4_nl_values(bw, table), _mm256_loadu_si256((const __m256i *)(ba + 2))));
        sumf += (load_half(ba) * load_half(bw)) * (float)sumi;
    }
    *s = sumf;
}

void ds2_avx2_vec_dot_iq4_nl_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const __m256i table = iq4_table();
    __m128 sumf = _mm_setzero_ps();
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES) {
        prefetch_next4((const uint8_t *)w, w_stride, w_bstep, ib, n / QK);
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(ba + 2));
        __m256i d[4];
        for (int k = 0; k < 4; k++) d[k] = dot_i8x32(iq4_nl_values(bw + k * w_stride, table), qa);
        const __m128 sumi = _mm_cvtepi32_ps(hsum4_i32(d[0], d[1], d[2], d[3]));
        const __m128 dd = _mm_mul_ps(_mm_set1_ps(load_half(ba)), load_half4(bw, w_stride));
        sumf = _mm_add_ps(sumf, _mm_mul_ps(dd, sumi));
    }
    _mm_storeu_ps(s, sumf);
}

/* ---- Q3_K, Q2_K, IQ4_XS · Q8_K ---------------------------------------------------------------------------
 * Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d} (110 B): value 128h + 32j + l = ((qs[32h + l] >> 2j) & 3)
 * − (bit 4h + j of hmask[l] ? 0 : 4), 16 signed 6-bit scales; lane structure as Q6_K.
 * Q2_K {u8 scales[16]; u8 qs[64]; f16 d; f16 dmin} (84 B): one exact int per super-block
 * (Σ scale·q_w·q_a and Σ bsums·min), then sumf += (d_a·d)·isum − (d_a·dmin)·summs, as the reference.
 * IQ4_XS {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]} (136 B): per 32-element sub-block an exact int,
 * then sumf += (d·d_a·(ls − 32))·sumi in sub-block order, as the reference. */
#define Q2_K_BYTES 84
#define Q3_K_BYTES 110
#define IQ4_XS_BYTES 136

static inline void scales_q3k_avx2(const uint8_t *s, int sc[16]) {
    for (int j = 0; j < 16; j++) {
        const int low4 = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
        const int high2 = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (low4 | (high2 << 4)) - 32;
    }
}

void ds2_avx2_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 sums = _mm256_setzero_ps();
    _Alignas(32) int8_t v[QKK];
    int sc[16];
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q3_K_BYTES, ba += Q8_K_BYTES) {
        const __m256i hm = _mm256_loadu_si256((const __m256i *)bw);
        for (int half = 0; half < 2; half++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(bw + 32 + 32 * half));
            for (int j = 0; j < 4; j++) {
                const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * half + j)));
                const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
                const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
                _mm256_store_si256((__m256i *)(v + 128 * half + 32 * j), _mm256_sub_epi8(lo, _mm256_andnot_si256(set, four)));
            }
        }
        scales_q3k_avx2(bw + 96, sc);
        const __m256i lanes = lanes_dot16_avx2(v, (const int8_t *)(ba + 4), sc);
        sums = _mm256_add_ps(sums, _mm256_mul_ps(_mm256_set1_ps(load_half(bw + 108) * load_f32(ba)), _mm256_cvtepi32_ps(lanes)));
    }
    *s = lanes_finish_avx2(0.0f, sums);
}

void ds2_avx2_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const __m256i m3 = _mm256_set1_epi8(3);
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q2_K_BYTES, ba += Q8_K_BYTES) {
        const uint8_t *sc = bw;
        int summs = 0;
        for (int j = 0; j < 16; j++) {
            int16_t bs;
            memcpy(&bs, ba + 260 + 2 * j, 2);
            summs += bs * (sc[j] >> 4);
        }
        __m256i acc = _mm256_setzero_si256();
        for (int half = 0; half < 2; half++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(bw + 16 + 32 * half));
            for (int j = 0; j < 4; j++) {
                const int is = 8 * half + 2 * j; /* elements 0..15 of this 32 use scale is, 16..31 scale is + 1 */
                const __m256i wq = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
                const __m256i aq = _mm256_loadu_si256((const __m256i *)(ba + 4 + 128 * half + 32 * j));
                const __m256i p16 = _mm256_maddubs_epi16(wq, aq); /* |pair| ≤ 2·3·128: exact */
                const __m256i scl = _mm256_setr_m128i(_mm_set1_epi16((short)(sc[is] & 0x0f)), _mm_set1_epi16((short)(sc[is + 1] & 0x0f)));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p16, scl));
            }
        }
        const int isum = hsum_i32(acc);
        const float da = load_f32(ba);
        const float dall = da * load_half(bw + 80), dmin = da * load_half(bw + 82);
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void ds2_avx2_vec_dot_iq4_xs_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const __m256i table = iq4_table();
    float sumf = 0.0f;
    for (int64_t ibl = 0; ibl < n / QKK; ibl++, bw += IQ4_XS_BYTES, ba += Q8_K_BYTES) {
        const float d4d8 = load_half(bw) * load_f32(ba);
        uint16_t h;
        memcpy(&h, bw + 2, 2);
        int32_t sumi[8];
        for (int q4 = 0; q4 < 2; q4++) { /* 4 sub-blocks of 32 per hadd reduction */
            __m256i d[4];
            for (int k = 0; k < 4; k++) {
                const int ib = 4 * q4 + k;
                const __m128i raw = _mm_loadu_si128((const __m128i *)(bw + 8 + 16 * ib));
                const __m256i nib = _mm256_and_si256(
                    _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), _mm256_set1_epi8(0x0f));
                d[k] = dot_i8x32(_mm256_shuffle_epi8(table, nib), _mm256_loadu_si256((const __m256i *)(ba + 4 + 32 * ib)));
            }
            _mm_storeu_si128((__m128i *)(sumi + 4 * q4), hsum4_i32(d[0], d[1], d[2], d[3]));
        }
        for (int ib = 0; ib < 8; ib++) {
            const int ls = ((bw[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((h >> (2 * ib)) & 3) << 4);
            const float dl = d4d8 * (float)(ls - 32);
            sumf += dl * (float)sumi[ib];
        }
    }
    *s = sumf;
}

/* ---- Q4_1, Q5_1 · Q8_1 -----------------------------------------------------------------------------------
 * Q4_1 = {f16 d; f16 m; u8 qs[16]} (20 B), Q5_1 = {f16 d; f16 m; u8 qh[4]; u8 qs[16]} (24 B), unsigned values;
 * Q8_1 = {f16 d; f16 s; int8 qs[32]} (36 B). Reference order: sumf += (d_w·d_a)·(float)sumi + m_w·s_a. */
#define Q8_1_BYTES 36

static inline __m256i q41_51_values(const uint8_t *b, int has_qh) {
    return has_qh ? _mm256_or_si256(nibbles32(b + 8), fifth_bits(b + 4)) : nibbles32(b + 4);
}

static inline float q41_51_dot_avx2(int64_t n, const uint8_t *bw, const uint8_t *ba, int bytes, int has_qh) {
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += bytes, ba += Q8_1_BYTES) {
        const __m256i p = _mm256_maddubs_epi16(q41_51_values(bw, has_qh), _mm256_loadu_si256((const __m256i *)(ba + 4)));
        const int32_t sumi = hsum_i32(_mm256_madd_epi16(p, _mm256_set1_epi16(1))); /* pairs ≤ 2·31·128: exact */
        sumf += (load_half(bw) * load_half(ba)) * (float)sumi + load_half(bw + 2) * load_half(ba + 2);
    }
    return sumf;
}

static inline void q41_51_dot_x4_avx2(int64_t n, float *s, const uint8_t *bw, size_t w_stride, size_t w_bstep,
                                      const uint8_t *ba, int has_qh) {
    const uint8_t *const bw0 = bw;
    __m128 sumf = _mm_setzero_ps();
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_1_BYTES) {
        prefetch_next4(bw0, w_stride, w_bstep, ib, n / QK);
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(ba + 4));
        __m256i d[4];
        for (int k = 0; k < 4; k++)
            d[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(q41_51_values(bw + k * w_stride, has_qh), qa), _mm256_set1_epi16(1));
        const __m128 sumi = _mm_cvtepi32_ps(hsum4_i32(d[0], d[1], d[2], d[3]));
        const __m128 dd = _mm_mul_ps(load_half4(bw, w_stride), _mm_set1_ps(load_half(ba)));
        const __m128 ms = _mm_mul_ps(load_half4(bw + 2, w_stride), _mm_set1_ps(load_half(ba + 2)));
        sumf = _mm_add_ps(sumf, _mm_add_ps(_mm_mul_ps(dd, sumi), ms));
    }
    _mm_storeu_ps(s, sumf);
}

void ds2_avx2_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *w, const void *a) { *s = q41_51_dot_avx2(n, w, a, 20, 0); }
void ds2_avx2_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *w, const void *a) { *s = q41_51_dot_avx2(n, w, a, 24, 1); }
void ds2_avx2_vec_dot_q4_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q41_51_dot_x4_avx2(n, s, w, w_stride, w_bstep, a, 0);
}
void ds2_avx2_vec_dot_q5_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q41_51_dot_x4_avx2(n, s, w, w_stride, w_bstep, a, 1);
}

/* ---- BF16 · BF16: exact widening (bf16 << 16), float products, double lanes (as F32·F32) ----------------- */
void ds2_avx2_vec_dot_bf16_bf16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = (const uint16_t *)w, *y = (const uint16_t *)a;
    __m256d acc[2] = {_mm256_setzero_pd(), _mm256_setzero_pd()};
    int64_t i = 0;
#define LOADB(p) _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16))
    for (; i + 8 <= n; i += 8) acc_products(_mm256_mul_ps(LOADB(x + i), LOADB(y + i)), &acc[0], &acc[1]);
#undef LOADB
    double sum = hsum_f64(_mm256_add_pd(acc[0], acc[1]));
    for (; i < n; i++) sum += (double)(ds2_bf16_to_float_inline(x[i]) * ds2_bf16_to_float_inline(y[i]));
    *s = (float)sum;
}

/* ---- multi-token tiles (kernels.h ds2_gemm_get; packing and blocking in gemm_pack.h) ---------------------- */
static void kq8_pack_w4_avx2(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                             uint8_t *dst);
#define GP_KQ8_PACK_W4 kq8_pack_w4_avx2
static void kq_pack_w4_avx2(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                            uint8_t *dst);
#define GP_KQ_PACK_W4 kq_pack_w4_avx2
#include "gemm_pack.h"

/* F16 (gp_gemm_f16): F16_T tokens per row, FMAs in vec_dot_f16_f16's lanes (element j of a 16-element step
 * into lane j, an 8-element step into lanes 0..7), reduced in its order; 3 tokens × 4 accumulators + 4 widened
 * weight vectors fill the 16 registers. */
#define F16_T 3
static inline __attribute__((always_inline)) void f16_rows_t(const int T, int64_t n, const uint16_t *w, const double *a,
                                                              int64_t lda, float *y, int64_t ldy) {
    __m256d acc[F16_T][4];
    for (int t = 0; t < T; t++)
        for (int j = 0; j < 4; j++) acc[t][j] = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        const __m256d wd[4] = {_mm256_cvtps_pd(_mm256_castps256_ps128(w0)), _mm256_cvtps_pd(_mm256_extractf128_ps(w0, 1)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(w1)), _mm256_cvtps_pd(_mm256_extractf128_ps(w1, 1))};
        for (int t = 0; t < T; t++)
            for (int j = 0; j < 4; j++)
                acc[t][j] = _mm256_fmadd_pd(wd[j], _mm256_loadu_pd(a + t * lda + i + 4 * j), acc[t][j]);
    }
    if (i + 8 <= n) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        const __m256d wd0 = _mm256_cvtps_pd(_mm256_castps256_ps128(w0)), wd1 = _mm256_cvtps_pd(_mm256_extractf128_ps(w0, 1));
        for (int t = 0; t < T; t++) {
            acc[t][0] = _mm256_fmadd_pd(wd0, _mm256_loadu_pd(a + t * lda + i), acc[t][0]);
            acc[t][1] = _mm256_fmadd_pd(wd1, _mm256_loadu_pd(a + t * lda + i + 4), acc[t][1]);
        }
        i += 8;
    }
    for (int t = 0; t < T; t++) {
        double sum = hsum_f64(_mm256_add_pd(_mm256_add_pd(acc[t][0], acc[t][1]), _mm256_add_pd(acc[t][2], acc[t][3])));
        for (int64_t k = i; k < n; k++) sum += (double)_cvtsh_ss(w[k]) * a[t * lda + k];
        y[t * ldy] = (float)sum;
    }
}
static void f16_rows_avx2(int T, int64_t n, const uint16_t *w, const double *a, int64_t lda, float *y, int64_t ldy) {
    if (T == 3) f16_rows_t(3, n, w, a, lda, y, ldy);
    else if (T == 2) f16_rows_t(2, n, w, a, lda, y, ldy);
    else f16_rows_t(1, n, w, a, lda, y, ldy);
}
void ds2_avx2_gemm_f16(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4, int64_t nr,
                       const void *a, size_t a_stride, int64_t nt) {
    (void)x4; /* F16 has no four-row form, so its rows are never interleaved (ds2_repack_x4_wanted) */
    gp_gemm_f16(F16_T, ds2_avx2_f16_to_f64, f16_rows_avx2, ds2_avx2_vec_dot_f16_f16, n, y, ldy, (const uint8_t *)w,
                w_stride, nr, (const uint8_t *)a, a_stride, nt);
}

/* gp_kq_pack_w4 for Q6_K with the vector unpack (other types: the portable packer) */
static void kq_pack_w4_avx2(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                            uint8_t *dst) {
    if (wtype != DS2_Q6_K) {
        gp_kq_pack_w4(wtype, w, w_stride, w_bstep, nb, dst);
        return;
    }
    const __m128i perm = _mm_loadu_si128((const __m128i *)gp_perm16);
    gp_kq_w *o = (gp_kq_w *)dst;
    _Alignas(32) int8_t v[QKK];
    int32_t sp[8], mn[8] = {0};
    for (int64_t ib = 0; ib < nb; ib++)
        for (int k = 0; k < 4; k++, o++) {
            const uint8_t *b = w + (size_t)k * w_stride + (size_t)ib * w_bstep;
            kq_unpack_avx2(DS2_Q6_K, b, v, sp, mn, &o->d, &o->dmin);
            for (int g = 0; g < 16; g++) {
                const __m256i x = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(_mm_load_si128((const __m128i *)(v + 16 * g)), perm));
                const __m256i sc = _mm256_set1_epi16((short)((const int8_t *)(b + 192))[g]);
                _mm256_store_si256((__m256i *)(o->sw + 16 * g), _mm256_mullo_epi16(x, sc)); /* |sc·w| ≤ 4096 */
            }
            memset(o->mn, 0, sizeof o->mn);
        }
}

/* gp_kq8_pack_w4 with the decode path's vector unpack: its permuted chunks and scale pairs are the kq8 layout */
static void kq8_pack_w4_avx2(int32_t wtype, const uint8_t *w, size_t w_stride, size_t w_bstep, int64_t nb,
                             uint8_t *dst) {
    gp_kq8_w *o = (gp_kq8_w *)dst;
    _Alignas(32) int8_t v[QKK];
    int32_t mn[8] = {0};
    for (int64_t ib = 0; ib < nb; ib++)
        for (int k = 0; k < 4; k++, o++) {
            kq_unpack_avx2(wtype, w + (size_t)k * w_stride + (size_t)ib * w_bstep, v, o->sp, mn, &o->d, &o->dmin);
            for (int c = 0; c < 8; c++)
                _mm256_store_si256((__m256i *)(o->q + 32 * c), kq_perm_avx2(_mm256_load_si256((const __m256i *)(v + 32 * c))));
            for (int j = 0; j < 8; j++) o->mn[2 * j] = o->mn[2 * j + 1] = (int16_t)mn[j];
        }
}

/* Σ of the 8 int32 lanes of each v[i] → lane i (v[0..3] → low half, v[4..7] → high half) */
static inline __m256i hsum8_i32(const __m256i v[8]) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

/* q32: lanes of sumf are (row k, token t) at 4t + k; per block sumf += (float)sumi·(d_w·d_a) lane-wise. */
static void q32_tile_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    const int16_t *wq = (const int16_t *)w4, *q0 = (const int16_t *)a0, *q1 = (const int16_t *)a1;
    const float *wd = (const float *)(w4 + (size_t)nb * 4 * 32 * 2);
    const float *d0 = (const float *)(a0 + (size_t)nb * 32 * 2), *d1 = (const float *)(a1 + (size_t)nb * 32 * 2);
    __m256 sumf = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const __m256i x0l = _mm256_loadu_si256((const __m256i *)(q0 + 32 * ib));
        const __m256i x0h = _mm256_loadu_si256((const __m256i *)(q0 + 32 * ib + 16));
        const __m256i x1l = _mm256_loadu_si256((const __m256i *)(q1 + 32 * ib));
        const __m256i x1h = _mm256_loadu_si256((const __m256i *)(q1 + 32 * ib + 16));
        __m256i v[8];
        for (int k = 0; k < 4; k++) {
            const __m256i wl = _mm256_loadu_si256((const __m256i *)(wq + (ib * 4 + k) * 32));
            const __m256i wh = _mm256_loadu_si256((const __m256i *)(wq + (ib * 4 + k) * 32 + 16));
            v[k] = _mm256_add_epi32(_mm256_madd_epi16(wl, x0l), _mm256_madd_epi16(wh, x0h));
            v[4 + k] = _mm256_add_epi32(_mm256_madd_epi16(wl, x1l), _mm256_madd_epi16(wh, x1h));
        }
        const __m256 sumi = _mm256_cvtepi32_ps(hsum8_i32(v)); /* exact: |sumi| < 2^24 */
        const __m256 dw = _mm256_broadcast_ps((const __m128 *)(wd + 4 * ib));
        const __m256 da = _mm256_setr_m128(_mm_set1_ps(d0[ib]), _mm_set1_ps(d1[ib]));
        sumf = _mm256_add_ps(sumf, _mm256_mul_ps(sumi, _mm256_mul_ps(dw, da)));
    }
    _mm_storeu_ps(out[0], _mm256_castps256_ps128(sumf));
    _mm_storeu_ps(out[1], _mm256_extractf128_ps(sumf, 1));
}

/* The K-quant tiles' float steps, shared by the AVX2 and VNNI tiles (which differ only in their integer
 * multiply-adds). Per super-block: sums[2k+t] += (d_w[k]·d_a[t])·lanes of acc[2k+t]. */
static inline void kq_scale_acc(__m256 sums[8], const __m256i acc[8], const float dw[4], float da0, float da1) {
    for (int k = 0; k < 4; k++) {
        sums[2 * k] = _mm256_add_ps(sums[2 * k], _mm256_mul_ps(_mm256_set1_ps(dw[k] * da0), _mm256_cvtepi32_ps(acc[2 * k])));
        sums[2 * k + 1] =
            _mm256_add_ps(sums[2 * k + 1], _mm256_mul_ps(_mm256_set1_ps(dw[k] * da1), _mm256_cvtepi32_ps(acc[2 * k + 1])));
    }
}
/* one token's mins term for the four rows: sumf − (dmin·d_a)·Σ bsums·mins (bs: the token's 16 block sums,
 * mn[k]: row k's 16 mins, int16) */
static inline __m128 kq_sub_mins(__m128 sumf, __m128 dmin, const void *bs, const void *const mn[4], float da) {
    const __m256i b = _mm256_load_si256((const __m256i *)bs);
    __m256i m[4];
    for (int k = 0; k < 4; k++) m[k] = _mm256_madd_epi16(b, _mm256_load_si256((const __m256i *)mn[k]));
    const __m128 sumi = _mm_cvtepi32_ps(hsum4_i32(m[0], m[1], m[2], m[3]));
    return _mm_sub_ps(sumf, _mm_mul_ps(_mm_mul_ps(dmin, _mm_set1_ps(da)), sumi));
}
/* out[t][k] = base + sums[2k+t] lanes 0..7 in order; base = lane k of sumf[t] (mins), or 0 without mins */
static inline void kq_finish(float out[2][4], const __m128 *sumf, const __m256 sums[8]) {
    for (int t = 0; t < 2; t++) {
        float f[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (sumf) _mm_storeu_ps(f, sumf[t]);
        for (int k = 0; k < 4; k++) {
            float l[8];
            _mm256_storeu_ps(l, sums[2 * k + t]);
            float s = f[k];
            for (int j = 0; j < 8; j++) s += l[j];
            out[t][k] = s;
        }
    }
}

/* kq: per super-block 8 int32 lane vectors (row k, token t), then the reference's float steps per (k, t):
 * sums[l] += (d_w·d_a)·lane[l]; with mins sumf −= (dmin·d_a)·Σ bsums·mins (four rows in one __m128);
 * finally sumf + sums[0] + … + sums[7] in order. */
static inline void kq_tile_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4],
                                int has_min) {
    const gp_kq_w *w = (const gp_kq_w *)w4;
    const gp_kq_a *x[2] = {(const gp_kq_a *)a0, (const gp_kq_a *)a1};
    __m256 sums[8];
    __m128 sumf[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (int i = 0; i < 8; i++) sums[i] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const gp_kq_w *wb = w + 4 * ib;
        const gp_kq_a *xb0 = x[0] + ib, *xb1 = x[1] + ib;
        __m256i acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
        for (int c = 0; c < 16; c++) {
            const __m256i av0 = _mm256_load_si256((const __m256i *)(xb0->a + 16 * c));
            const __m256i av1 = _mm256_load_si256((const __m256i *)(xb1->a + 16 * c));
            for (int k = 0; k < 4; k++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(wb[k].sw + 16 * c));
                acc[2 * k] = _mm256_add_epi32(acc[2 * k], _mm256_madd_epi16(wv, av0));
                acc[2 * k + 1] = _mm256_add_epi32(acc[2 * k + 1], _mm256_madd_epi16(wv, av1));
            }
        }
        kq_scale_acc(sums, acc, (const float[4]){wb[0].d, wb[1].d, wb[2].d, wb[3].d}, xb0->d, xb1->d);
        if (has_min) {
            const void *mn[4] = {wb[0].mn, wb[1].mn, wb[2].mn, wb[3].mn};
            const __m128 dmin = _mm_setr_ps(wb[0].dmin, wb[1].dmin, wb[2].dmin, wb[3].dmin);
            sumf[0] = kq_sub_mins(sumf[0], dmin, xb0->bs, mn, xb0->d);
            sumf[1] = kq_sub_mins(sumf[1], dmin, xb1->bs, mn, xb1->d);
        }
    }
    kq_finish(out, sumf, sums);
}
static void kq_tile_nomin_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    kq_tile_avx2(nb, w4, a0, a1, out, 0);
}

/* kq8 (Q4_K/Q5_K): as kq_tile_avx2 with byte multiply-adds on the chunk-permuted bytes (gemm_pack.h) */

static void kq8_tile_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    const gp_kq8_w *w = (const gp_kq8_w *)w4;
    const gp_kq8_a *x[2] = {(const gp_kq8_a *)a0, (const gp_kq8_a *)a1};
    __m256 sums[8];
    __m128 sumf[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (int i = 0; i < 8; i++) sums[i] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const gp_kq8_w *wb = w + 4 * ib;
        const gp_kq8_a *xb0 = x[0] + ib, *xb1 = x[1] + ib;
        __m256i acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
            const __m256i av0 = _mm256_load_si256((const __m256i *)(xb0->a + 32 * c));
            const __m256i av1 = _mm256_load_si256((const __m256i *)(xb1->a + 32 * c));
            for (int k = 0; k < 4; k++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(wb[k].q + 32 * c));
                const __m256i sp = _mm256_set1_epi32(wb[k].sp[c]);
                acc[2 * k] = _mm256_add_epi32(acc[2 * k], _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av0), sp));
                acc[2 * k + 1] = _mm256_add_epi32(acc[2 * k + 1], _mm256_madd_epi16(_mm256_maddubs_epi16(wv, av1), sp));
            }
        }
        kq_scale_acc(sums, acc, (const float[4]){wb[0].d, wb[1].d, wb[2].d, wb[3].d}, xb0->d, xb1->d);
        const void *mn[4] = {wb[0].mn, wb[1].mn, wb[2].mn, wb[3].mn};
        const __m128 dmin = _mm_setr_ps(wb[0].dmin, wb[1].dmin, wb[2].dmin, wb[3].dmin);
        sumf[0] = kq_sub_mins(sumf[0], dmin, xb0->bs, mn, xb0->d);
        sumf[1] = kq_sub_mins(sumf[1], dmin, xb1->bs, mn, xb1->d);
    }
    kq_finish(out, sumf, sums);
}

/* 8×8 transpose: out[j] lane i = in[i] lane j */
static inline void transpose8_ps(const __m256 in[8], __m256 out[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(in[2 * i], in[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(in[2 * i], in[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        out[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        out[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

/* t32 (gemm_pack.h): per group of 8 blocks and (row k, token t) the 8 block sums in 32-bit lanes; the products
 * (float)sumi·(d_w·d_a) (lanes = blocks) are transposed so that lane 4t + k of the running sumf gets them one
 * block at a time, in block order — row k's sequential sum of vec_dot. */
static inline void t32_tile_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4],
                                 int off) {
    const int64_t ng = (nb + 7) / 8;
    const uint8_t *x[2] = {a0, a1};
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 sumf = _mm256_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *wg = w4 + (size_t)g * GP_T32_W_BPG;
        const float *wd = (const float *)(wg + 1024);
        __m256 p[8];
        for (int t = 0; t < 2; t++) {
            const uint8_t *xg = x[t] + (size_t)g * GP_T32_A_BPG;
            __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
            for (int h = 0; h < 2; h++) { /* 4 steps in 16 bits: ≤ 4·2·31·127 < 2^15 */
                __m256i s16[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
                for (int s = 4 * h; s < 4 * h + 4; s++) {
                    const __m256i av = _mm256_load_si256((const __m256i *)(xg + 32 * s));
                    for (int k = 0; k < 4; k++)
                        s16[k] = _mm256_add_epi16(s16[k], _mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(wg + 256 * k + 32 * s)), av));
                }
                for (int k = 0; k < 4; k++) acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(s16[k], ones));
            }
            const __m256i corr = _mm256_mullo_epi32(_mm256_load_si256((const __m256i *)(xg + 288)), _mm256_set1_epi32(off));
            const __m256 da = _mm256_load_ps((const float *)(xg + 256));
            for (int k = 0; k < 4; k++) {
                const __m256 sumi = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[k], corr)); /* exact: |sumi| < 2^24 */
                p[4 * t + k] = _mm256_mul_ps(sumi, _mm256_mul_ps(_mm256_loadu_ps(wd + 8 * k), da));
            }
        }
        __m256 q[8];
        transpose8_ps(p, q);
        const int nbl = g + 1 < ng ? 8 : (int)(nb - 8 * g);
        for (int j = 0; j < nbl; j++) sumf = _mm256_add_ps(sumf, q[j]);
    }
    _mm_storeu_ps(out[0], _mm256_castps256_ps128(sumf));
    _mm_storeu_ps(out[1], _mm256_extractf128_ps(sumf, 1));
}
static void t32_tile_q4_0_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    t32_tile_avx2(nb, w4, a0, a1, out, 8);
}
static void t32_tile_q5_0_avx2(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    t32_tile_avx2(nb, w4, a0, a1, out, 16);
}

/* The same t32 tile with AVX-512 VNNI's byte dot (vpdpbusd on 256-bit registers: four u8·s8 products added into
 * each 32-bit lane — the four bytes of a lane are one block's, so lanes stay block sums); only this function is
 * compiled for those extensions and it runs only where cpuid reports them (dtype_traits.c). Same bits. */
#define VNNI_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni")))
static inline VNNI_TARGET void t32_tile_vnni(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1,
                                             float out[2][4], int off) {
    const int64_t ng = (nb + 7) / 8;
    __m256 sumf = _mm256_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *wg = w4 + (size_t)g * GP_T32_W_BPG;
        const uint8_t *x0 = a0 + (size_t)g * GP_T32_A_BPG, *x1 = a1 + (size_t)g * GP_T32_A_BPG;
        const float *wd = (const float *)(wg + 1024);
        __m256i acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
        for (int st = 0; st < 8; st++) {
            const __m256i av0 = _mm256_load_si256((const __m256i *)(x0 + 32 * st));
            const __m256i av1 = _mm256_load_si256((const __m256i *)(x1 + 32 * st));
            for (int k = 0; k < 4; k++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(wg + 256 * k + 32 * st));
                acc[k] = _mm256_dpbusd_epi32(acc[k], wv, av0);
                acc[4 + k] = _mm256_dpbusd_epi32(acc[4 + k], wv, av1);
            }
        }
        __m256 p[8];
        for (int t = 0; t < 2; t++) {
            const uint8_t *xg = t ? x1 : x0;
            const __m256i corr = _mm256_mullo_epi32(_mm256_load_si256((const __m256i *)(xg + 288)), _mm256_set1_epi32(off));
            const __m256 da = _mm256_load_ps((const float *)(xg + 256));
            for (int k = 0; k < 4; k++) {
                const __m256 sumi = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[4 * t + k], corr)); /* exact: < 2^24 */
                p[4 * t + k] = _mm256_mul_ps(sumi, _mm256_mul_ps(_mm256_loadu_ps(wd + 8 * k), da));
            }
        }
        __m256 q[8];
        transpose8_ps(p, q);
        const int nbl = g + 1 < ng ? 8 : (int)(nb - 8 * g);
        for (int j = 0; j < nbl; j++) sumf = _mm256_add_ps(sumf, q[j]);
    }
    _mm_storeu_ps(out[0], _mm256_castps256_ps128(sumf));
    _mm_storeu_ps(out[1], _mm256_extractf128_ps(sumf, 1));
}
static VNNI_TARGET void t32_tile_q4_0_vnni(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    t32_tile_vnni(nb, w4, a0, a1, out, 8);
}
static VNNI_TARGET void t32_tile_q5_0_vnni(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    t32_tile_vnni(nb, w4, a0, a1, out, 16);
}

static VNNI_TARGET void t32_tile_s8_vnni(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    t32_tile_vnni(nb, w4, a0, a1, out, 128); /* Q8_0, IQ4_NL */
}

/* The four-row Q4_0 decode dot with VNNI: vpdpbusd forms each row's u8 nibble · s8 activation sums (and Σ a)
 * in one instruction where maddubs + madd took two; exact int32 block sums, so the same bits. */
#define U8S8_VNNI(acc, u, s8) _mm256_dpbusd_epi32(acc, u, s8)
VNNI_TARGET void ds2_avx2_vec_dot_q4_0_q8_0_x4_vnni(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                                   const void *a) {
    Q4_0_X4_BODY(U8S8_VNNI);
}
#undef U8S8_VNNI
#undef Q4_0_X4_BODY
#undef Q4_0_X4_BLOCK
#undef Q4_0_WD

/* The K-quant decode dot with VBMI's byte permutation (one vpermb for vpermd + vpshufb) and VNNI's vpdpwssd
 * (the 16-bit multiply-add and the add in one): Q4_K 15.1 → 17.2 GB/s, Q6_K 18.6 → 24 (bench/stream.c, Zen 4,
 * 1 thread, from memory). Only where cpuid has VBMI as well as VNNI (Ice Lake, Zen 4 and later). */
#define VBMI_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512vnni,avx512vbmi")))
static inline VBMI_TARGET __m256i kq_perm_vbmi(__m256i x) { /* kq_perm_avx2: byte 4j + m ← byte j + 8m */
    const __m256i idx = _mm256_setr_epi8(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27,
                                         4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31);
    return _mm256_permutexvar_epi8(idx, x);
}
#define KQ_FN(name) name##_vbmi
#define KQ_TARGET VBMI_TARGET
#define KQ_PERM(x) kq_perm_vbmi(x)
#define KQ_CHUNK(lanes, p, sp) lanes = _mm256_dpwssd_epi32(lanes, (p), _mm256_set1_epi32(sp))
#include "avx2_kq_dot.h"
#undef KQ_FN
#undef KQ_TARGET
#undef KQ_PERM
#undef KQ_CHUNK
VBMI_TARGET void ds2_avx2_vec_dot_q4_k_q8_k_x4_vbmi(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                                   const void *a) {
    kq_dot_rows_vbmi(DS2_Q4_K, 4, n, s, w, w_stride, w_bstep, a);
}
VBMI_TARGET void ds2_avx2_vec_dot_q5_k_q8_k_x4_vbmi(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                                   const void *a) {
    kq_dot_rows_vbmi(DS2_Q5_K, 4, n, s, w, w_stride, w_bstep, a);
}
VBMI_TARGET void ds2_avx2_vec_dot_q6_k_q8_k_x4_vbmi(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                                   const void *a) {
    kq_dot_rows_vbmi(DS2_Q6_K, 4, n, s, w, w_stride, w_bstep, a);
}
#undef VBMI_TARGET

/* kq with VNNI's 16-bit dot-accumulate (vpdpwssd: the multiply-add and the add in one) */
static VNNI_TARGET void kq_tile_vnni(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    const gp_kq_w *w = (const gp_kq_w *)w4;
    const gp_kq_a *x0 = (const gp_kq_a *)a0, *x1 = (const gp_kq_a *)a1;
    __m256 sums[8];
    for (int i = 0; i < 8; i++) sums[i] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const gp_kq_w *wb = w + 4 * ib;
        const gp_kq_a *xb0 = x0 + ib, *xb1 = x1 + ib;
        __m256i acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
        for (int c = 0; c < 16; c++) {
            const __m256i av0 = _mm256_load_si256((const __m256i *)(xb0->a + 16 * c));
            const __m256i av1 = _mm256_load_si256((const __m256i *)(xb1->a + 16 * c));
            for (int k = 0; k < 4; k++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(wb[k].sw + 16 * c));
                acc[2 * k] = _mm256_dpwssd_epi32(acc[2 * k], wv, av0);
                acc[2 * k + 1] = _mm256_dpwssd_epi32(acc[2 * k + 1], wv, av1);
            }
        }
        kq_scale_acc(sums, acc, (const float[4]){wb[0].d, wb[1].d, wb[2].d, wb[3].d}, xb0->d, xb1->d);
    }
    kq_finish(out, NULL, sums); /* no mins (Q6_K, Q3_K): the reference's lanes_finish from 0 */
}

/* kq8 with VNNI: the 16-bit multiply-add of the byte products and the add in one vpdpwssd */
static VNNI_TARGET void kq8_tile_vnni(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    const gp_kq8_w *w = (const gp_kq8_w *)w4;
    const gp_kq8_a *x[2] = {(const gp_kq8_a *)a0, (const gp_kq8_a *)a1};
    __m256 sums[8];
    __m128 sumf[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (int i = 0; i < 8; i++) sums[i] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const gp_kq8_w *wb = w + 4 * ib;
        const gp_kq8_a *xb0 = x[0] + ib, *xb1 = x[1] + ib;
        __m256i acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
            const __m256i av0 = _mm256_load_si256((const __m256i *)(xb0->a + 32 * c));
            const __m256i av1 = _mm256_load_si256((const __m256i *)(xb1->a + 32 * c));
            for (int k = 0; k < 4; k++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(wb[k].q + 32 * c));
                const __m256i sp = _mm256_set1_epi32(wb[k].sp[c]);
                acc[2 * k] = _mm256_dpwssd_epi32(acc[2 * k], _mm256_maddubs_epi16(wv, av0), sp);
                acc[2 * k + 1] = _mm256_dpwssd_epi32(acc[2 * k + 1], _mm256_maddubs_epi16(wv, av1), sp);
            }
        }
        kq_scale_acc(sums, acc, (const float[4]){wb[0].d, wb[1].d, wb[2].d, wb[3].d}, xb0->d, xb1->d);
        const void *mn[4] = {wb[0].mn, wb[1].mn, wb[2].mn, wb[3].mn};
        const __m128 dmin = _mm_setr_ps(wb[0].dmin, wb[1].dmin, wb[2].dmin, wb[3].dmin);
        sumf[0] = kq_sub_mins(sumf[0], dmin, xb0->bs, mn, xb0->d);
        sumf[1] = kq_sub_mins(sumf[1], dmin, xb1->bs, mn, xb1->d);
    }
    kq_finish(out, sumf, sums);
}

#define GEMM_AVX2(name, fam, wtype, tile, vec_dot, vec_dot_x4)                                                    \
    void ds2_avx2_gemm_##name(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4, int64_t nr, \
                              const void *a, size_t a_stride, int64_t nt) {                                     \
        gp_gemm(fam, wtype, tile, vec_dot, vec_dot_x4, n, y, ldy, (const uint8_t *)w, w_stride, x4, nr,          \
                (const uint8_t *)a, a_stride, nt);                                                              \
    }
GEMM_AVX2(q4_0, GP_T32, DS2_Q4_0, t32_tile_q4_0_avx2, ds2_avx2_vec_dot_q4_0_q8_0, ds2_avx2_vec_dot_q4_0_q8_0_x4)
GEMM_AVX2(q5_0, GP_T32, DS2_Q5_0, t32_tile_q5_0_avx2, ds2_avx2_vec_dot_q5_0_q8_0, ds2_avx2_vec_dot_q5_0_q8_0_x4)
GEMM_AVX2(q4_0_vnni, GP_T32, DS2_Q4_0, t32_tile_q4_0_vnni, ds2_avx2_vec_dot_q4_0_q8_0, ds2_avx2_vec_dot_q4_0_q8_0_x4)
GEMM_AVX2(q5_0_vnni, GP_T32, DS2_Q5_0, t32_tile_q5_0_vnni, ds2_avx2_vec_dot_q5_0_q8_0, ds2_avx2_vec_dot_q5_0_q8_0_x4)
GEMM_AVX2(q8_0_vnni, GP_T32, DS2_Q8_0, t32_tile_s8_vnni, ds2_avx2_vec_dot_q8_0_q8_0, ds2_avx2_vec_dot_q8_0_q8_0_x4)
GEMM_AVX2(iq4_nl_vnni, GP_T32, DS2_IQ4_NL, t32_tile_s8_vnni, ds2_avx2_vec_dot_iq4_nl_q8_0, ds2_avx2_vec_dot_iq4_nl_q8_0_x4)
GEMM_AVX2(q6_k_vnni, GP_KQ, DS2_Q6_K, kq_tile_vnni, ds2_avx2_vec_dot_q6_k_q8_k, ds2_avx2_vec_dot_q6_k_q8_k_x4)
GEMM_AVX2(q3_k_vnni, GP_KQ, DS2_Q3_K, kq_tile_vnni, ds2_avx2_vec_dot_q3_k_q8_k, NULL)
GEMM_AVX2(q4_k_vnni, GP_KQ8, DS2_Q4_K, kq8_tile_vnni, ds2_avx2_vec_dot_q4_k_q8_k, ds2_avx2_vec_dot_q4_k_q8_k_x4)
GEMM_AVX2(q5_k_vnni, GP_KQ8, DS2_Q5_K, kq8_tile_vnni, ds2_avx2_vec_dot_q5_k_q8_k, ds2_avx2_vec_dot_q5_k_q8_k_x4)
GEMM_AVX2(q8_0, GP_Q32, DS2_Q8_0, q32_tile_avx2, ds2_avx2_vec_dot_q8_0_q8_0, ds2_avx2_vec_dot_q8_0_q8_0_x4)
GEMM_AVX2(iq4_nl, GP_Q32, DS2_IQ4_NL, q32_tile_avx2, ds2_avx2_vec_dot_iq4_nl_q8_0, ds2_avx2_vec_dot_iq4_nl_q8_0_x4)
GEMM_AVX2(q4_k, GP_KQ8, DS2_Q4_K, kq8_tile_avx2, ds2_avx2_vec_dot_q4_k_q8_k, ds2_avx2_vec_dot_q4_k_q8_k_x4)
GEMM_AVX2(q5_k, GP_KQ8, DS2_Q5_K, kq8_tile_avx2, ds2_avx2_vec_dot_q5_k_q8_k, ds2_avx2_vec_dot_q5_k_q8_k_x4)
GEMM_AVX2(q6_k, GP_KQ, DS2_Q6_K, kq_tile_nomin_avx2, ds2_avx2_vec_dot_q6_k_q8_k, ds2_avx2_vec_dot_q6_k_q8_k_x4)
GEMM_AVX2(q3_k, GP_KQ, DS2_Q3_K, kq_tile_nomin_avx2, ds2_avx2_vec_dot_q3_k_q8_k, NULL)

/* ---- Q8_K activations ------------------------------------------------------------------------------------
 * The reference quantizer's bits: max = the first element of largest |x| (ties keep the first), iscale =
 * −127/max, q = nearest_int(iscale·x) (the 1.5·2^23 magic-add rounding, done lane-wise the same way) capped at
 * 127, bsums = Σ of each 16 q, d = 1/iscale; an all-zero block is all zero bytes. Finite inputs. */
void ds2_avx2_q8_k_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    const __m256 sign = _mm256_set1_ps(-0.0f), magic = _mm256_set1_ps(12582912.0f);
    const __m256i mant = _mm256_set1_epi32(0x007fffff), bias = _mm256_set1_epi32(0x00400000), cap = _mm256_set1_epi32(127);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q8_K_BYTES, x += QKK) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QKK; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        if (amax == 0.0f) {
            memset(b, 0, Q8_K_BYTES);
            continue;
        }
        float max = 0.0f;
        for (int j = 0; j < QKK; j++)
            if (fabsf(x[j]) == amax) {
                max = x[j];
                break;
            }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        int8_t *qs = (int8_t *)(b + 4);
        for (int j = 0; j < QKK; j += 32) {
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                const __m256 v = _mm256_add_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(x + j + 8 * k)), magic);
                q[k] = _mm256_min_epi32(_mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(v), mant), bias), cap);
            }
            const __m256i p8 = _mm256_permutevar8x32_epi32(
                _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3])),
                _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(qs + j), p8);
            /* two bsums: lanes 0..3 sum the first 16 values, lanes 4..7 the next 16 */
            __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, p8), ones16);
            s = _mm256_hadd_epi32(s, s);
            s = _mm256_hadd_epi32(s, s);
            const int16_t s0 = (int16_t)_mm256_extract_epi32(s, 0), s1 = (int16_t)_mm256_extract_epi32(s, 4);
            memcpy(b + 260 + 2 * (j / 16), &s0, 2);
            memcpy(b + 262 + 2 * (j / 16), &s1, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(b, &d, 4);
    }
}
