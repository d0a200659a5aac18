/* simd128.c — WebAssembly SIMD128 row kernels (see simd.h for what each guarantees against the reference).
 *
 * Compiled only into builds with -msimd128 (CMake checks __wasm_simd128__); wasm has no run-time feature
 * detection, so such a build needs a SIMD-capable engine (every current browser and Node ≥ 16).
 * Integer dots widen int8 to int16 and use i32x4.dot_i16x8_s (one pmaddwd on x86 engines) rather than
 * extadd_pairwise, which x86 engines expand into several instructions.
 * Blocks: Q8_0 = {f16 d; int8 qs[32]} (34 B), Q4_0 = {f16 d; u8 qs[16]} (18 B), at any byte address (wasm
 * loads need no alignment).
 */
#if !defined(__wasm_simd128__)
#error "simd128.c must be compiled with -msimd128"
#endif

#include <math.h>
#include <string.h>
#include <wasm_simd128.h>

#include "half_simd128.h"
#include "kernels.h"
#include "ref.h"
#include "simd.h"

#define QK 32
#define Q8_0_BYTES 34
#define Q4_0_BYTES 18

static inline float load_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    if ((h & 0x7c00) == 0x7c00) return ds2_half_to_float_inline(h); /* inf / NaN */
    /* finite: the bits placed as in load_half4 below, times 2^112 (exact, the same value) */
    const uint32_t u = (uint32_t)((int32_t)((uint32_t)h << 16) >> 3) & 0x8fffffffu;
    float f;
    memcpy(&f, &u, 4);
    return f * 5.192296858534828e+33f;
}

static inline int32_t hsum_i32x4(v128_t v) {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
}

/* the high nibble of each byte: a 16-bit shift and a mask (x86 engines emulate i8x16.shr_u with several ops) */
static inline v128_t hi_nibbles(v128_t v) { return wasm_v128_and(wasm_u16x8_shr(v, 4), wasm_i8x16_splat(0x0f)); }

/* Σ w[j]·a[j] over 16 int8 pairs as 4 int32 partial sums (exact). The int16 lanes come from i16 shifts, even
 * and odd bytes apart (x << 8 >> 8, x >> 8), not from the low / high widenings: Chromium's V8 turns those into
 * slower x86 code (the four-row Q8_0 dot: 30.5 → 24.4 ns per 256 weights and row there, Node's V8 the same). */
static inline v128_t dot_i8x16(v128_t w, v128_t a) {
    const v128_t ev = wasm_i32x4_dot_i16x8(wasm_i16x8_shr(wasm_i16x8_shl(w, 8), 8), wasm_i16x8_shr(wasm_i16x8_shl(a, 8), 8));
    const v128_t od = wasm_i32x4_dot_i16x8(wasm_i16x8_shr(w, 8), wasm_i16x8_shr(a, 8));
    return wasm_i32x4_add(ev, od);
}

#if defined(__wasm_relaxed_simd__)
/* i16x8.relaxed_dot_i8x16_i7x16_s(a, b): 16-bit slot k = a[2k]·b[2k] + a[2k+1]·b[2k+1], one pmaddubsw on x86
 * engines; exact only while every b is 0..127 (an engine may read b signed or unsigned). Debian's clang 14 has
 * no builtin for it, so it is written as the prototype relaxed swizzle (same operand shapes) and
 * wasm/relaxed-patch.mjs rewrites that opcode after linking; an unpatched module does not compile.
 * (The i32x4 dot-add form is not used: Node 20's engine computes it wrongly.) */
static inline v128_t rdot16(v128_t a_i8, v128_t b_u7) { return __builtin_wasm_relaxed_swizzle_i8x16(a_i8, b_u7); }
#endif

/* ---- greedy pick ------------------------------------------------------------------------------------------
 * The reference's first index of the largest by `>`, in two passes: the largest value M (pmax(a, b) = a < b ? b : a
 * keeps a when b is NaN, so from a non-NaN start no lane becomes NaN), then the first i with x[i] == M — equal
 * values (±0 too) are the ones `>` never replaces, so that is the reference's index. A scalar scan of a 32000-entry
 * vocabulary took ~0.12 ms per token in Chromium. */
int64_t ds2_simd128_argmax_f32(const float *x, int64_t n) {
    if (n <= 1 || x[0] != x[0]) return 0; /* nothing is > NaN */
    v128_t m0 = wasm_f32x4_splat(x[0]), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = wasm_f32x4_pmax(m0, wasm_v128_load(x + i));
        m1 = wasm_f32x4_pmax(m1, wasm_v128_load(x + i + 4));
        m2 = wasm_f32x4_pmax(m2, wasm_v128_load(x + i + 8));
        m3 = wasm_f32x4_pmax(m3, wasm_v128_load(x + i + 12));
    }
    float lanes[4];
    wasm_v128_store(lanes, wasm_f32x4_pmax(wasm_f32x4_pmax(m0, m1), wasm_f32x4_pmax(m2, m3)));
    float best = lanes[0];
    for (int l = 1; l < 4; l++)
        if (lanes[l] > best) best = lanes[l];
    for (; i < n; i++)
        if (x[i] > best) best = x[i];
    const v128_t b = wasm_f32x4_splat(best);
    i = 0;
    for (; i + 4 <= n; i += 4)
        if (wasm_v128_any_true(wasm_f32x4_eq(wasm_v128_load(x + i), b))) break;
    for (; i < n; i++)
        if (x[i] == best) return i;
    return 0; /* not reached: best is one of the x[i] */
}

/* ---- softmax and SwiGLU: ggml_v_expf four lanes at a time ------------------------------------------------
 * The reference (ref.c) evaluates ggml's SSE2 exp lane by lane; these are the same float operations on f32x4,
 * in the same order and unfused, so every lane gets the reference's bits. In Chromium the 16 softmax rows of a
 * decode attention call at depth 577 took 95 µs (of 1.3 ms) with scalar lanes, ~50 µs with these. */
static inline v128_t expf4_simd128(v128_t x) {
    const v128_t r = wasm_f32x4_splat(0x1.8p23f);
    const v128_t z = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(0x1.715476p+0f)), r);
    const v128_t n = wasm_f32x4_sub(z, r);
    const v128_t b = wasm_f32x4_sub(wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0x1.62e4p-1f))),
                                    wasm_f32x4_mul(n, wasm_f32x4_splat(0x1.7f7d1cp-20f)));
    const v128_t e = wasm_i32x4_shl(z, 23);
    const v128_t k = wasm_i32x4_add(e, wasm_f32x4_splat(1.0f));
    const v128_t u = wasm_f32x4_mul(b, b);
    const v128_t j = wasm_f32x4_add(
        wasm_f32x4_mul(
            wasm_f32x4_add(
                wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(0x1.0e4020p-7f), b),
                                              wasm_f32x4_splat(0x1.573e2ep-5f)),
                               u),
                wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_splat(0x1.555e66p-3f), b), wasm_f32x4_splat(0x1.fffdb6p-2f))),
            u),
        wasm_f32x4_mul(wasm_f32x4_splat(0x1.ffffecp-1f), b));
    const v128_t big = wasm_f32x4_gt(wasm_f32x4_abs(n), wasm_f32x4_splat(126.0f)); /* false for NaN, as !(an > 126) */
    const v128_t normal = wasm_f32x4_add(wasm_f32x4_mul(j, k), k);
    if (!wasm_v128_any_true(big)) return normal;
    /* |n| > 126: 2^n in two factors; |n| > 192: saturated (0 or inf) */
    const v128_t g = wasm_v128_and(wasm_f32x4_le(n, wasm_f32x4_splat(0.0f)), wasm_i32x4_splat((int32_t)0x82000000u));
    const v128_t s1 = wasm_i32x4_add(g, wasm_i32x4_splat(0x7f000000));
    const v128_t s2 = wasm_i32x4_sub(e, g);
    const v128_t huge = wasm_f32x4_gt(wasm_f32x4_abs(n), wasm_f32x4_splat(192.0f));
    const v128_t scaled = wasm_v128_bitselect(wasm_f32x4_mul(s1, s1),
                                              wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_mul(s2, j), s2), s1), huge);
    return wasm_v128_bitselect(scaled, normal, big);
}

void ds2_simd128_softmax_row(float *x, int64_t n, int64_t n_row) {
    if (n <= 0) return;
    if (n_row < n) n_row = n;
    /* the maximum: pmax(m, v) = m < v ? v : m is the reference's `x > max ? x : max` per lane; which zero a lane
     * keeps does not matter (x − (+0) and x − (−0) are equal but for x = ±0, whose exp is 1 either way) */
    float max = -INFINITY;
    int64_t i = 0;
    if (n >= 4) {
        v128_t m = wasm_f32x4_splat(-INFINITY);
        for (; i + 4 <= n; i += 4) m = wasm_f32x4_pmax(m, wasm_v128_load(x + i));
        float lanes[4];
        wasm_v128_store(lanes, m);
        for (int l = 0; l < 4; l++) max = lanes[l] > max ? lanes[l] : max;
    }
    for (; i < n; i++) max = x[i] > max ? x[i] : max;
    const v128_t vmax = wasm_f32x4_splat(max);
    double sum = 0.0;
    for (i = 0; i + 4 <= n; i += 4) { /* whole groups of 4, each summed in float, then added to the double */
        const v128_t e = expf4_simd128(wasm_f32x4_sub(wasm_v128_load(x + i), vmax));
        wasm_v128_store(x + i, e);
        const float s = (wasm_f32x4_extract_lane(e, 0) + wasm_f32x4_extract_lane(e, 1)) +
                        (wasm_f32x4_extract_lane(e, 2) + wasm_f32x4_extract_lane(e, 3));
        sum += (double)s;
    }
    /* a masked last group and a libm tail, as the reference does them */
    const float inv = (float)(1.0 / ds2_ref_softmax_exp_from(x, i, n, n_row, max, sum));
    const v128_t vinv = wasm_f32x4_splat(inv);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

void ds2_simd128_swiglu(float *out, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    const v128_t one = wasm_f32x4_splat(1.0f), zero = wasm_f32x4_splat(0.0f);
    for (; i + 4 <= n; i += 4) {
        const v128_t gi = wasm_v128_load(g + i), ui = wasm_v128_load(u + i);
        const v128_t silu = wasm_f32x4_div(gi, wasm_f32x4_add(one, expf4_simd128(wasm_f32x4_sub(zero, gi))));
        wasm_v128_store(out + i, wasm_f32x4_mul(silu, ui));
    }
    ds2_ref_swiglu(out + i, g + i, u + i, n - i); /* the last < 4: the reference's libm tail */
}

/* ---- F32 · F32, F16 · F16: float products, double lanes --------------------------------------------------- */

static inline void acc_products(v128_t p, v128_t *acc0, v128_t *acc1) {
    *acc0 = wasm_f64x2_add(*acc0, wasm_f64x2_promote_low_f32x4(p));
    *acc1 = wasm_f64x2_add(*acc1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(p, p, 2, 3, 0, 1)));
}

static inline double hsum_f64x2(v128_t v) { return wasm_f64x2_extract_lane(v, 0) + wasm_f64x2_extract_lane(v, 1); }

void ds2_simd128_vec_dot_f32_f32(int64_t n, float *s, const void *w, const void *a) {
    const float *x = (const float *)w, *y = (const float *)a;
    v128_t acc[4] = {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc_products(wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)), &acc[0], &acc[1]);
        acc_products(wasm_f32x4_mul(wasm_v128_load(x + i + 4), wasm_v128_load(y + i + 4)), &acc[2], &acc[3]);
    }
    for (; i + 4 <= n; i += 4)
        acc_products(wasm_f32x4_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)), &acc[0], &acc[1]);
    double sum = hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(acc[0], acc[1]), wasm_f64x2_add(acc[2], acc[3])));
    for (; i < n; i++) sum += (double)(x[i] * y[i]);
    *s = (float)sum;
}

void ds2_simd128_vec_dot_f16_f16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = (const uint16_t *)w, *y = (const uint16_t *)a;
    v128_t acc[4] = {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t x0, x1, y0, y1;
        half8_to_f32(wasm_v128_load(x + i), &x0, &x1);
        half8_to_f32(wasm_v128_load(y + i), &y0, &y1);
        const v128_t p0 = wasm_f32x4_mul(x0, y0), p1 = wasm_f32x4_mul(x1, y1);
        acc_products(p0, &acc[0], &acc[1]);
        acc_products(p1, &acc[2], &acc[3]);
    }
    double sum = hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(acc[0], acc[1]), wasm_f64x2_add(acc[2], acc[3])));
    for (; i < n; i++) sum += (double)(ds2_half_to_float_inline(x[i]) * ds2_half_to_float_inline(y[i]));
    *s = (float)sum;
}

/* ---- Q8_0 activations ---------------------------------------------------------------------------------- */

/* The reference quantizer's bits (d = amax/127, id = 1/d, q = roundf(x·id), ties away from zero): roundf is
 * rebuilt exactly as t = trunc(v), t ± 1 where |v − t| ≥ 0.5. */
void ds2_simd128_q8_0_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    const v128_t signbit = wasm_i32x4_splat((int32_t)0x80000000u), half = wasm_f32x4_splat(0.5f),
                 one = wasm_f32x4_splat(1.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, b += Q8_0_BYTES, x += QK) {
        v128_t v[8];
        for (int k = 0; k < 8; k++) v[k] = wasm_v128_load(x + 4 * k);
        v128_t m = wasm_f32x4_abs(v[0]);
        for (int k = 1; k < 8; k++) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(v[k]));
        m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
        m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
        const float amax = wasm_f32x4_extract_lane(m, 0);
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = ds2_f32_to_f16(d);
        memcpy(b, &dh, 2);
        const v128_t vid = wasm_f32x4_splat(id);
        v128_t q[8];
        for (int k = 0; k < 8; k++) {
            const v128_t p = wasm_f32x4_mul(v[k], vid);
            const v128_t t = wasm_f32x4_trunc(p);
            const v128_t up = wasm_f32x4_ge(wasm_f32x4_abs(wasm_f32x4_sub(p, t)), half);
            const v128_t step = wasm_v128_and(up, wasm_v128_or(wasm_v128_and(p, signbit), one));
            q[k] = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_add(t, step));
        }
        for (int k = 0; k < 2; k++) {
            const v128_t lo = wasm_i16x8_narrow_i32x4(q[4 * k], q[4 * k + 1]);
            const v128_t hi = wasm_i16x8_narrow_i32x4(q[4 * k + 2], q[4 * k + 3]);
            wasm_v128_store(b + 2 + 16 * k, wasm_i8x16_narrow_i16x8(lo, hi));
        }
    }
}

/* ---- quantized dot products ------------------------------------------------------------------------------
 * Per block an exact int32 Σ q_w·q_a, then sumf += (float)sumi · (d_w·d_a) in the reference's order: the same
 * float operations, so the same bits. */

void ds2_simd128_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q8_0_BYTES, ba += Q8_0_BYTES) {
        const v128_t acc = wasm_i32x4_add(dot_i8x16(wasm_v128_load(bw + 2), wasm_v128_load(ba + 2)),
                                          dot_i8x16(wasm_v128_load(bw + 18), wasm_v128_load(ba + 18)));
        sumf += (float)hsum_i32x4(acc) * (load_half(bw) * load_half(ba));
    }
    *s = sumf;
}

void ds2_simd128_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const v128_t lo4 = wasm_i8x16_splat(0x0f), eight = wasm_i8x16_splat(8);
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q4_0_BYTES, ba += Q8_0_BYTES) {
        const v128_t raw = wasm_v128_load(bw + 2);
        const v128_t wl = wasm_i8x16_sub(wasm_v128_and(raw, lo4), eight);   /* elements 0..15 */
        const v128_t wh = wasm_i8x16_sub(hi_nibbles(raw), eight);     /* elements 16..31 */
        const v128_t acc = wasm_i32x4_add(dot_i8x16(wl, wasm_v128_load(ba + 2)), dot_i8x16(wh, wasm_v128_load(ba + 18)));
        sumf += (float)hsum_i32x4(acc) * (load_half(bw) * load_half(ba));
    }
    *s = sumf;
}

/* ---- attention dots (kernels.h ds2_dot_*_acc): acc + Σ (double)(a[i]·b[i]), products in float ---------- */

double ds2_simd128_dot_f32_acc(int64_t n, const float *a, const float *b, double acc) {
    v128_t s[4] = {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        acc_products(wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)), &s[0], &s[1]);
        acc_products(wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)), &s[2], &s[3]);
    }
    acc += hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(s[0], s[1]), wasm_f64x2_add(s[2], s[3])));
    for (; i < n; i++) acc += (double)(a[i] * b[i]);
    return acc;
}

double ds2_simd128_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc) {
    v128_t s[4] = {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t lo, hi;
        half8_to_f32(wasm_v128_load(a + i), &lo, &hi);
        acc_products(wasm_f32x4_mul(lo, wasm_v128_load(b + i)), &s[0], &s[1]);
        acc_products(wasm_f32x4_mul(hi, wasm_v128_load(b + i + 4)), &s[2], &s[3]);
    }
    acc += hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(s[0], s[1]), wasm_f64x2_add(s[2], s[3])));
    for (; i < n; i++) acc += (double)(ds2_half_to_float_inline(a[i]) * b[i]);
    return acc;
}

double ds2_simd128_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc) {
    v128_t s[4] = {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t a0, a1, b0, b1;
        half8_to_f32(wasm_v128_load(a + i), &a0, &a1);
        half8_to_f32(wasm_v128_load(b + i), &b0, &b1);
        acc_products(wasm_f32x4_mul(a0, b0), &s[0], &s[1]);
        acc_products(wasm_f32x4_mul(a1, b1), &s[2], &s[3]);
    }
    acc += hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(s[0], s[1]), wasm_f64x2_add(s[2], s[3])));
    for (; i < n; i++) acc += (double)(ds2_half_to_float_inline(a[i]) * ds2_half_to_float_inline(b[i]));
    return acc;
}

/* ---- four rows at once (vec_dot_x4) ----------------------------------------------------------------------
 * Four rows sharing each activation block; lane k of the float vectors is exactly row k's sequential sumf of
 * the single-row kernel (same operations, same order), so the bits equal four vec_dot calls while the four
 * dependency chains overlap. */

/* lane k = Σ of the 4 lanes of v[k] */
static inline v128_t hsum4_i32x4(v128_t v0, v128_t v1, v128_t v2, v128_t v3) {
    const v128_t a01 = wasm_i32x4_add(wasm_i32x4_shuffle(v0, v1, 0, 4, 1, 5), wasm_i32x4_shuffle(v0, v1, 2, 6, 3, 7));
    const v128_t a23 = wasm_i32x4_add(wasm_i32x4_shuffle(v2, v3, 0, 4, 1, 5), wasm_i32x4_shuffle(v2, v3, 2, 6, 3, 7));
    /* a01 = [v0 02, v1 02, v0 13, v1 13] (pair sums), a23 likewise */
    return wasm_i32x4_add(wasm_i32x4_shuffle(a01, a23, 0, 1, 4, 5), wasm_i32x4_shuffle(a01, a23, 2, 3, 6, 7));
}

/* the f16 scales at p0 + k·stride, k = 0..3, as floats: one vector conversion (exact, as load_half) instead of
 * four scalar ones, which cost about as much as a Q4_0 block's integer dot in the four-row kernels */
static inline v128_t load_half4(const uint8_t *p0, size_t stride) {
    uint16_t h[4];
    for (int k = 0; k < 4; k++) memcpy(&h[k], p0 + (size_t)k * stride, 2);
    const v128_t hv = wasm_i32x4_make(h[0], h[1], h[2], h[3]);
    /* finite halves (all real scales) by the bit move of finite_half4_hi_to_f32 (signed zero included);
     * exponent 31 (inf / NaN) takes the full path */
    const v128_t is_special = wasm_i32x4_eq(wasm_v128_and(hv, wasm_i32x4_splat(0x7c00)), wasm_i32x4_splat(0x7c00));
    if (wasm_v128_any_true(is_special)) return half4_to_f32(hv);
    return finite_half4_hi_to_f32(wasm_i32x4_shl(hv, 16));
}

/* one block of the four rows: sumf + lane-wise (float)sumi·(d_w·d_a), the single-row kernel's float steps */
static inline v128_t q8_0_x4_step(const uint8_t *bw, size_t w_stride, const uint8_t *ba, v128_t da, v128_t sumf) {
    const v128_t a0 = wasm_v128_load(ba + 2), a1 = wasm_v128_load(ba + 18);
    v128_t d[4];
#if defined(__wasm_relaxed_simd__)
    /* The relaxed dot's second operand must be 0..127, so the activations go in as a = a⁺ − a⁻ (both 0..127:
     * they come from the Q8_0 quantizer, whose values lie within ±127; the weights, the signed operand, may be
     * anything). Per 16-bit slot, w·a⁺ − w·a⁻ = w_2k·a_2k + w_2k+1·a_2k+1, |·| ≤ 2·128·127 < 2^15, so the int16
     * difference is exact. Four relaxed dots per block and row instead of six widenings and four dots. */
    const v128_t z = wasm_i8x16_splat(0), one = wasm_i16x8_splat(1);
    const v128_t p0 = wasm_i8x16_max(a0, z), n0 = wasm_i8x16_max(wasm_i8x16_neg(a0), z);
    const v128_t p1 = wasm_i8x16_max(a1, z), n1 = wasm_i8x16_max(wasm_i8x16_neg(a1), z);
    for (int k = 0; k < 4; k++) {
        const uint8_t *r = bw + k * w_stride;
        const v128_t w0 = wasm_v128_load(r + 2), w1 = wasm_v128_load(r + 18);
        d[k] = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_sub(rdot16(w0, p0), rdot16(w0, n0)), one),
                              wasm_i32x4_dot_i16x8(wasm_i16x8_sub(rdot16(w1, p1), rdot16(w1, n1)), one));
    }
#else
    for (int k = 0; k < 4; k++) {
        const uint8_t *r = bw + k * w_stride;
        d[k] = wasm_i32x4_add(dot_i8x16(wasm_v128_load(r + 2), a0), dot_i8x16(wasm_v128_load(r + 18), a1));
    }
#endif
    const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(d[0], d[1], d[2], d[3])); /* exact: < 2^24 */
    const v128_t dd = wasm_f32x4_mul(load_half4(bw, w_stride), da);
    return wasm_f32x4_add(sumf, wasm_f32x4_mul(sumi, dd));
}

void ds2_simd128_vec_dot_q8_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES)
        sumf = q8_0_x4_step(bw, w_stride, ba, wasm_f32x4_splat(load_half(ba)), sumf);
    wasm_v128_store(s, sumf);
}

/* Q4_0 in int16 lanes straight from the packed bytes: viewed as u16, byte 2i holds elements 2i (low nibble) and
 * 2i+16 (high), byte 2i+1 elements 2i+1 and 2i+17, so four u16 shift/mask steps give even and odd elements 0..15
 * and 16..31 (i16 shifts are single x86 instructions; u8 shifts and high-half widening are not). The activations
 * are split into even / odd int16 once for the four rows; the nibbles' −8 is folded into one per-block term,
 * 8·Σa, subtracted from each row's int32 partial sums (integer and exact: the same block sums). */
static inline v128_t q4_0_x4_step(const uint8_t *bw, size_t w_stride, const uint8_t *ba, v128_t da, v128_t sumf) {
    const v128_t a0 = wasm_v128_load(ba + 2), a1 = wasm_v128_load(ba + 18);
    v128_t d[4];
#if defined(__wasm_relaxed_simd__)
    /* the nibbles (0..15) are the relaxed dot's unsigned operand as they are: pairs ≤ 2·15·128, two of them
     * still int16; the −8 is 8·Σa per block as above, shared by the four rows */
    const v128_t one = wasm_i16x8_splat(1), lo4 = wasm_i8x16_splat(0x0f), eight8 = wasm_i8x16_splat(8);
    const v128_t corr = wasm_i32x4_dot_i16x8(wasm_i16x8_add(rdot16(a0, eight8), rdot16(a1, eight8)), one);
    for (int k = 0; k < 4; k++) {
        const v128_t raw = wasm_v128_load(bw + k * w_stride + 2);
        const v128_t s16 = wasm_i16x8_add(rdot16(a0, wasm_v128_and(raw, lo4)), rdot16(a1, hi_nibbles(raw)));
        d[k] = wasm_i32x4_sub(wasm_i32x4_dot_i16x8(s16, one), corr);
    }
#else
    const v128_t m4 = wasm_i16x8_splat(0x000f), eight = wasm_i16x8_splat(8);
    const v128_t a0e = wasm_i16x8_shr(wasm_i16x8_shl(a0, 8), 8), a0o = wasm_i16x8_shr(a0, 8); /* a[2i], a[2i+1] */
    const v128_t a1e = wasm_i16x8_shr(wasm_i16x8_shl(a1, 8), 8), a1o = wasm_i16x8_shr(a1, 8); /* a[16+2i], … */
    /* |Σ of the four| ≤ 4·128 per lane: int16; its dot with 8 sums to 8·Σa over the block */
    const v128_t corr = wasm_i32x4_dot_i16x8(wasm_i16x8_add(wasm_i16x8_add(a0e, a0o), wasm_i16x8_add(a1e, a1o)), eight);
    for (int k = 0; k < 4; k++) {
        const v128_t raw = wasm_v128_load(bw + k * w_stride + 2);
        v128_t acc = wasm_i32x4_sub(wasm_i32x4_dot_i16x8(wasm_v128_and(raw, m4), a0e), corr);
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_and(wasm_u16x8_shr(raw, 8), m4), a0o));
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_and(wasm_u16x8_shr(raw, 4), m4), a1e));
        d[k] = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_u16x8_shr(raw, 12), a1o));
    }
#endif
    const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(d[0], d[1], d[2], d[3]));
    const v128_t dd = wasm_f32x4_mul(load_half4(bw, w_stride), da);
    return wasm_f32x4_add(sumf, wasm_f32x4_mul(sumi, dd));
}

void ds2_simd128_vec_dot_q4_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES)
        sumf = q4_0_x4_step(bw, w_stride, ba, wasm_f32x4_splat(load_half(ba)), sumf);
    wasm_v128_store(s, sumf);
}

/* ---- K-quants · Q8_K (Q4_K, Q6_K) ------------------------------------------------------------------------
 * The reference's lane structure, exactly (see avx2.c): 8 int32 lanes per super-block (lane l = Σ over elements
 * e ≡ l mod 8 of scale·q_w·q_a, exact), per-lane float sums in two f32x4 vectors, finished in lane order.
 * Unrolling the blocks' four chunks is engine-dependent: Node 20's V8 (16 vector registers) spills about a third
 * of an unrolled block's instructions to the stack, Chromium's newer V8 runs the unrolled form faster. So the
 * plain SIMD128 build (what Node 20 runs, no relaxed SIMD there without a flag) keeps the loops rolled — in Node
 * Q4_K 30.7 → 26.3 ns, Q6_K 37.6 → 32.6 ns per 256 weights·row, Chromium unchanged — and the relaxed build (what
 * Chromium runs) unrolls them: Chromium Q6_K 24.9 ns rolled → 22.8 ns, Q4_K 17.4 → 16.7 ns. */
#define QKK 256
#define Q4_K_BYTES 144
#define Q6_K_BYTES 210
#define Q8_K_BYTES 292

static inline float load_f32(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* elements 0..7 and 8..15 of a 16-element group of v·qa folded onto lanes 0..7 (|q_w·q_a| ≤ 32·128: int16) */
static inline v128_t group_fold_simd128(const int8_t *v, const int8_t *qa) {
    const v128_t w = wasm_v128_load(v), a = wasm_v128_load(qa);
    return wasm_i16x8_add(wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(w), wasm_i16x8_extend_low_i8x16(a)),
                          wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(w), wasm_i16x8_extend_high_i8x16(a)));
}

/* lanes 0..3 in *lo, 4..7 in *hi; two groups at a time, their folds interleaved so that one i32x4.dot_i16x8
 * forms sc_g·s_g[k] + sc_h·s_h[k] in lane k (exact int32; cheaper than i32x4.mul on x86 engines). The 16 scales
 * come as int16 in two vectors (sc_lo = groups 0..7, sc_hi = 8..15): the pair (g, g+1) is one int32 lane of
 * them, splat by a shuffle (i16x8.make from scalars cost 8 lane inserts per pair). */
#define LANES_PAIR_SIMD128(g, scv, p)                                                                               \
    do {                                                                                                            \
        const v128_t sg = group_fold_simd128(v + 16 * (g), qa + 16 * (g)),                                          \
                     sh = group_fold_simd128(v + 16 * (g) + 16, qa + 16 * (g) + 16);                                \
        const v128_t sc = wasm_i32x4_shuffle(scv, scv, p, p, p, p);                                                 \
        l0 = wasm_i32x4_add(l0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(sg, sh, 0, 8, 1, 9, 2, 10, 3, 11), sc));   \
        l1 = wasm_i32x4_add(l1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(sg, sh, 4, 12, 5, 13, 6, 14, 7, 15), sc)); \
    } while (0)
static inline void lanes_dot16_simd128(const int8_t *v, const int8_t *qa, v128_t sc_lo, v128_t sc_hi, v128_t *lo,
                                       v128_t *hi) {
    v128_t l0 = wasm_i32x4_splat(0), l1 = wasm_i32x4_splat(0);
    LANES_PAIR_SIMD128(0, sc_lo, 0);
    LANES_PAIR_SIMD128(2, sc_lo, 1);
    LANES_PAIR_SIMD128(4, sc_lo, 2);
    LANES_PAIR_SIMD128(6, sc_lo, 3);
    LANES_PAIR_SIMD128(8, sc_hi, 0);
    LANES_PAIR_SIMD128(10, sc_hi, 1);
    LANES_PAIR_SIMD128(12, sc_hi, 2);
    LANES_PAIR_SIMD128(14, sc_hi, 3);
    *lo = l0;
    *hi = l1;
}
#undef LANES_PAIR_SIMD128

static inline float lanes_finish_simd128(float sumf, v128_t s0, v128_t s1) {
    float s[8];
    wasm_v128_store(s, s0);
    wasm_v128_store(s + 4, s1);
    for (int l = 0; l < 8; l++) sumf += s[l];
    return sumf;
}

/* Q4_K (144 B) and Q5_K (176 B, u8 qh[32] of 5th bits before qs): see avx2.c */
#define Q5_K_BYTES 176
/* Shared by both Q4_K/Q5_K block forms: the super-block's 8 scales as int16 (*scm) and the terms of Σ_j (bsums[2j]
 * + bsums[2j+1])·min_j in four int32 lanes (each min twice against the 16 int16 bsums of the activation block ba;
 * exact int) */
static inline v128_t k45_scales_mins4_simd128(const uint8_t *bw, const uint8_t *ba, v128_t *scm) {
    uint32_t u[4];
    ds2_k45_scales_mins_words(bw + 4, u);
    *scm = wasm_u16x8_extend_low_u8x16(wasm_v128_load64_zero(u));
    const v128_t mnm = wasm_u16x8_extend_low_u8x16(wasm_v128_load64_zero(u + 2));
    return wasm_i32x4_add(
        wasm_i32x4_dot_i16x8(wasm_v128_load(ba + 260), wasm_i16x8_shuffle(mnm, mnm, 0, 0, 1, 1, 2, 2, 3, 3)),
        wasm_i32x4_dot_i16x8(wasm_v128_load(ba + 276), wasm_i16x8_shuffle(mnm, mnm, 4, 4, 5, 5, 6, 6, 7, 7)));
}
/* Q6_K's int8 scales[16] (at 192) as the pairs the lane dots take, one int32 each: sp[4h..4h+3] = groups 8h +
 * (0,2) (1,3) (4,6) (5,7) */
static inline void q6k_scale_pairs(const uint8_t *bw, int32_t sp[8]) {
    const v128_t sc = wasm_v128_load(bw + 192);
    const v128_t s16lo = wasm_i16x8_extend_low_i8x16(sc), s16hi = wasm_i16x8_extend_high_i8x16(sc);
    wasm_v128_store(sp, wasm_i16x8_shuffle(s16lo, s16lo, 0, 2, 1, 3, 4, 6, 5, 7));
    wasm_v128_store(sp + 4, wasm_i16x8_shuffle(s16hi, s16hi, 0, 2, 1, 3, 4, 6, 5, 7));
}
/* Q6_K's unsigned values (0..63) of 16 columns of a half: x[j] = low 4 bits (q0: j = 0, 2 low / high nibbles; q1:
 * j = 1, 3) | 2 high bits of hb (bits 2j..2j+1) << 4. 16-bit shifts (one x86 op; 8-bit ones are emulated): the
 * masks drop the bits that cross bytes. Byte by byte, so bytes paired beforehand come out paired. */
static inline void q6k_uvalues_simd128(v128_t q0, v128_t q1, v128_t hb, v128_t x[4]) {
    const v128_t lo4 = wasm_i8x16_splat(0x0f), m30 = wasm_i8x16_splat(0x30);
    x[0] = wasm_v128_or(wasm_v128_and(q0, lo4), wasm_v128_and(wasm_i16x8_shl(hb, 4), m30));
    x[1] = wasm_v128_or(wasm_v128_and(q1, lo4), wasm_v128_and(wasm_i16x8_shl(hb, 2), m30));
    x[2] = wasm_v128_or(hi_nibbles(q0), wasm_v128_and(hb, m30));
    x[3] = wasm_v128_or(hi_nibbles(q1), wasm_v128_and(wasm_u16x8_shr(hb, 2), m30));
}
/* v | 16 where the bit m of qh is set (Q5_K's 5th bits) */
static inline v128_t or_bit5(v128_t v, v128_t qh, v128_t m) {
    return wasm_v128_or(v, wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(qh, m), m), wasm_i8x16_splat(0x10)));
}
/* the values of 32 bytes q0, q1 of a Q4_K/Q5_K chunk c: v[0], v[1] the low nibbles (sub-block 2c), v[2], v[3]
 * the high ones (2c+1), each + 16 where its 5th bit (bit 2c, 2c+1 of the matching qh0 / qh1 byte) is set (q5) */
static inline void k45_values_simd128(v128_t q0, v128_t q1, v128_t qh0, v128_t qh1, int c, int q5, v128_t v[4]) {
    const v128_t lo4 = wasm_i8x16_splat(0x0f);
    v[0] = wasm_v128_and(q0, lo4), v[1] = wasm_v128_and(q1, lo4), v[2] = hi_nibbles(q0), v[3] = hi_nibbles(q1);
    if (q5) {
        const v128_t ml = wasm_i8x16_splat((int8_t)(1 << (2 * c))), mh = wasm_i8x16_splat((int8_t)(2 << (2 * c)));
        v[0] = or_bit5(v[0], qh0, ml), v[1] = or_bit5(v[1], qh1, ml);
        v[2] = or_bit5(v[2], qh0, mh), v[3] = or_bit5(v[3], qh1, mh);
    }
}
#if !defined(__wasm_relaxed_simd__) /* the relaxed build has its own K-quant blocks (below) */

/* The K-quant dots below take the Q8_K activations widened to int16 once per super-block (act16_simd128), which
 * the four rows of a four-row call share, and fold 16 weights onto lanes 0..7 (elements e and e+8) in int16. */
static inline void act16_simd128(const uint8_t *qa, int16_t *a16) {
    for (int i = 0; i < QKK; i += 16) {
        const v128_t v = wasm_v128_load(qa + i);
        wasm_v128_store(a16 + i, wasm_i16x8_extend_low_i8x16(v));
        wasm_v128_store(a16 + i + 8, wasm_i16x8_extend_high_i8x16(v));
    }
}
/* 16 weights w (unsigned bytes ≤ 31, or signed in [−32, 31]) · a16[0..16) folded onto 8 int16 lanes: |w·a| ≤ 32·128,
 * so up to 4 products per lane (two folds added) stay within int16 */
static inline v128_t fold16_u(v128_t w, const int16_t *a16) {
    return wasm_i16x8_add(wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(w), wasm_v128_load(a16)),
                          wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(w), wasm_v128_load(a16 + 8)));
}
static inline v128_t fold16_s(v128_t w, const int16_t *a16) {
    return wasm_i16x8_add(wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(w), wasm_v128_load(a16)),
                          wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(w), wasm_v128_load(a16 + 8)));
}
/* lanes 0..7 (in *l0, *l1) += scA·sA + scB·sB for two 8-lane int16 partial sums, sc = (scA, scB) repeated: one
 * i32x4.dot_i16x8 per half on the two interleaved (exact int32) */
static inline void pair_lanes_simd128(v128_t sA, v128_t sB, v128_t sc, v128_t *l0, v128_t *l1) {
    *l0 = wasm_i32x4_add(*l0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(sA, sB, 0, 8, 1, 9, 2, 10, 3, 11), sc));
    *l1 = wasm_i32x4_add(*l1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(sA, sB, 4, 12, 5, 13, 6, 14, 7, 15), sc));
}

/* One Q4_K / Q5_K super-block of a row: lanes += d·(float)lane sums (d = d_w·d_a, splat); returns the mins' int32
 * terms (k45_scales_mins4_simd128) for the caller to finish with its other rows. a16: the activation block's values
 * as int16 (act16_simd128). */
static inline __attribute__((always_inline)) v128_t q45k_block_simd128(const uint8_t *bw, const uint8_t *ba,
                                                                       const int16_t *a16, int qh_off, int qs_off,
                                                                       v128_t d, v128_t *sums0, v128_t *sums1) {
    const uint8_t *qs = bw + qs_off;
    v128_t scm;
    const v128_t mins = k45_scales_mins4_simd128(bw, ba, &scm);
    int32_t sc32[4]; /* the scale pair (2c, 2c+1) of chunk c as one int32 */
    wasm_v128_store(sc32, scm);
    /* 64 elements per 32 bytes: low nibbles (sub-block 2c, scale 2c) then high nibbles (2c+1); each sub-block's
     * two folds are added in int16 (4 products per lane), then the pair of sub-blocks meets its two scales */
    v128_t l0 = wasm_i32x4_splat(0), l1 = wasm_i32x4_splat(0);
    const v128_t qh0 = qh_off ? wasm_v128_load(bw + qh_off) : wasm_i32x4_splat(0),
                 qh1 = qh_off ? wasm_v128_load(bw + qh_off + 16) : wasm_i32x4_splat(0);
#pragma clang loop unroll(disable) /* rolled: see the section's note */
    for (int c = 0; c < 4; c++) {
        v128_t v[4];
        k45_values_simd128(wasm_v128_load(qs + 32 * c), wasm_v128_load(qs + 32 * c + 16), qh0, qh1, c, qh_off, v);
        const int16_t *ac = a16 + 64 * c;
        pair_lanes_simd128(wasm_i16x8_add(fold16_u(v[0], ac), fold16_u(v[1], ac + 16)),
                           wasm_i16x8_add(fold16_u(v[2], ac + 32), fold16_u(v[3], ac + 48)),
                           wasm_v128_load32_splat(sc32 + c), &l0, &l1);
    }
    *sums0 = wasm_f32x4_add(*sums0, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l0)));
    *sums1 = wasm_f32x4_add(*sums1, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l1)));
    return mins;
}
#endif

#if defined(__wasm_relaxed_simd__)
/* ---- relaxed-SIMD K-quant blocks (the build with DS2_WASM_RELAXED) ----------------------------------------
 * The relaxed dot (rdot16) is one pmaddubsw on x86 engines, where the widening folds above take five
 * instructions per 16 weights. It is exact here: b are the weights' unsigned values (≤ 63, so "i7"), a the
 * Q8_K values (≥ −128): |slot| ≤ 2·128·63 < 2^15.
 * The pairs must be two elements of one lane (e ≡ e' mod 8) under one scale: for a Q4_K/Q5_K sub-block of 32,
 * (m, m+16) and (m+8, m+24), i.e. its two halves interleaved by unpacks (one instruction each); for a Q6_K
 * group of 16, (k, k+8) by one more unpack (PAIR8). Slot m (or k) is then lane m of the block's exact int sums;
 * two of those (two scales) interleaved by a 16-bit unpack meet their scale pair in one i32x4.dot_i16x8. */
#define UNPACK_LO8(a, b) wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define UNPACK_HI8(a, b) wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
/* bytes (k, k+8) adjacent: an unpack with the halves swapped (engines turn both into one instruction each, where a
 * general byte shuffle costs a 16-byte constant and a pshufb) */
#define PAIR8(x) UNPACK_LO8(x, wasm_i32x4_shuffle(x, x, 2, 3, 0, 1))
/* the same of the 16 bytes at p, with the halves' swap done by a second load 8 bytes on (load ports are idle
 * here, the shuffle port is not); p + 24 must be readable */
#define PAIR8_AT(p) UNPACK_LO8(wasm_v128_load(p), wasm_v128_load((p) + 8))
/* lanes 0..3 (l0), 4..7 (l1) += scA·sA[l] + scB·sB[l] for 8-lane int16 sums sA, sB; sp = (scA, scB) repeated */
#define LANES2(sA, sB, sp, l0, l1)                                                                             \
    do {                                                                                                       \
        l0 = wasm_i32x4_add(l0, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(sA, sB, 0, 8, 1, 9, 2, 10, 3, 11), sp));   \
        l1 = wasm_i32x4_add(l1, wasm_i32x4_dot_i16x8(wasm_i16x8_shuffle(sA, sB, 4, 12, 5, 13, 6, 14, 7, 15), sp)); \
    } while (0)

/* Q4_K/Q5_K activations: per 32-element sub-block j, its halves interleaved (ap[2j] = UNPACK_LO8, ap[2j+1] = HI) */
static inline void k45_act_relaxed(const uint8_t *qa, v128_t ap[16]) {
    for (int j = 0; j < 8; j++) {
        const v128_t lo = wasm_v128_load(qa + 32 * j), hi = wasm_v128_load(qa + 32 * j + 16);
        ap[2 * j] = UNPACK_LO8(lo, hi);
        ap[2 * j + 1] = UNPACK_HI8(lo, hi);
    }
}
/* Q6_K activations: per 16-element group g, the pairs (k, k+8); a32[g] = 32·(a_k + a_k+8) (the −32 of the values) */
static inline void q6k_act_relaxed(const uint8_t *qa, v128_t ap[16], v128_t a32[16]) {
    for (int g = 0; g < 16; g++) {
        ap[g] = PAIR8(wasm_v128_load(qa + 16 * g));
        a32[g] = rdot16(ap[g], wasm_i8x16_splat(32));
    }
}

/* one row's super-block: lanes += d·(float)lane sums (d = d_w·d_a, splat); returns the mins' int32 terms
 * (k45_scales_mins4_simd128), which the caller finishes for its rows at once */
static inline __attribute__((always_inline)) v128_t q45k_block_relaxed(const uint8_t *bw, const uint8_t *ba,
                                                                       const v128_t ap[16], int qh_off, int qs_off,
                                                                       v128_t d, v128_t *sums0, v128_t *sums1) {
    const uint8_t *qs = bw + qs_off;
    v128_t scm;
    const v128_t mins = k45_scales_mins4_simd128(bw, ba, &scm);
    v128_t l0 = wasm_i32x4_splat(0), l1 = wasm_i32x4_splat(0), qh0 = l0, qh1 = l0;
    if (qh_off) { /* the 5th bits, paired like the bytes below */
        const v128_t a = wasm_v128_load(bw + qh_off), b = wasm_v128_load(bw + qh_off + 16);
        qh0 = UNPACK_LO8(a, b);
        qh1 = UNPACK_HI8(a, b);
    }
    /* per 32 bytes (sub-blocks 2c and 2c+1 in the low / high nibbles): the two halves' bytes paired first, then
     * the nibbles taken byte by byte, so each comes out paired (m, m+16) and (m+8, m+24) */
    int32_t sc32[4]; /* the scale pair (2c, 2c+1) of chunk c as one int32 */
    wasm_v128_store(sc32, scm);
#pragma clang loop unroll(full) /* unrolled: see the section's note */
    for (int c = 0; c < 4; c++) {
        const v128_t r0 = wasm_v128_load(qs + 32 * c), r1 = wasm_v128_load(qs + 32 * c + 16);
        v128_t v[4];
        k45_values_simd128(UNPACK_LO8(r0, r1), UNPACK_HI8(r0, r1), qh0, qh1, c, qh_off, v);
        const v128_t *apc = ap + 4 * c;
        const v128_t sA = wasm_i16x8_add(rdot16(apc[0], v[0]), rdot16(apc[1], v[1]));
        const v128_t sB = wasm_i16x8_add(rdot16(apc[2], v[2]), rdot16(apc[3], v[3]));
        LANES2(sA, sB, wasm_v128_load32_splat(sc32 + c), l0, l1);
    }
    *sums0 = wasm_f32x4_add(*sums0, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l0)));
    *sums1 = wasm_f32x4_add(*sums1, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l1)));
    return mins;
}

/* Q6_K: the values unsigned (low 4 bits | high 2 bits << 4, 0..63), minus a32 for the −32; the values of a
 * group are built 16 at a time as in q6k_block_simd128 (columns 16k.. of half h: groups 8h + k + 2j) */
static inline void q6k_block_relaxed(const uint8_t *bw, const uint8_t *ba, const v128_t ap[16], const v128_t a32[16],
                                     v128_t *sums0, v128_t *sums1) {
    int32_t sp[8];
    q6k_scale_pairs(bw, sp);
    v128_t l0 = wasm_i32x4_splat(0), l1 = wasm_i32x4_splat(0);
#pragma clang loop unroll(full) /* unrolled: see the section's note */
    for (int c = 0; c < 4; c++) {
        const int h = c >> 1, k = c & 1, g = 8 * h + k;
        const uint8_t *ql = bw + 64 * h + 16 * k, *qh = ql + 128 - 32 * h;
        /* raw bytes paired first: the value extraction acts byte by byte, so the values come out paired */
        const v128_t q0 = PAIR8_AT(ql), q1 = PAIR8_AT(ql + 32), hb = PAIR8_AT(qh);
        v128_t x[4];
        q6k_uvalues_simd128(q0, q1, hb, x);
        const v128_t *apg = ap + g, *a32g = a32 + g;
        const int32_t *spc = sp + 4 * h + k;
        LANES2(wasm_i16x8_sub(rdot16(apg[0], x[0]), a32g[0]), wasm_i16x8_sub(rdot16(apg[2], x[1]), a32g[2]),
               wasm_v128_load32_splat(spc), l0, l1);
        LANES2(wasm_i16x8_sub(rdot16(apg[4], x[2]), a32g[4]), wasm_i16x8_sub(rdot16(apg[6], x[3]), a32g[6]),
               wasm_v128_load32_splat(spc + 2), l0, l1);
    }
    const v128_t d = wasm_f32x4_splat(load_half(bw + 208) * load_f32(ba));
    *sums0 = wasm_f32x4_add(*sums0, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l0)));
    *sums1 = wasm_f32x4_add(*sums1, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l1)));
}
#endif

/* nrow (1 or 4) rows, block ib of row k at w + k·w_stride + ib·w_bstep (kernels.h); the four rows take turns per
 * super-block, so an interleaved group is read as one stream and the activation block stays in L1. Always
 * inlined: the Q4_K and Q5_K forms are then separate functions (one shared body kept the Q5_K bit tests and
 * their constants in the Q4_K loop). */
static inline __attribute__((always_inline)) void q45k_dot_rows_simd128(int nrow, int64_t n, float *s, const uint8_t *w,
                                                                        size_t w_stride, size_t w_bstep,
                                                                        const uint8_t *ba, int qh_off, int qs_off) {
    v128_t sums0[4], sums1[4], sumf = wasm_f32x4_splat(0.0f); /* sumf lane k: row k's */
    for (int k = 0; k < nrow; k++) sums0[k] = sums1[k] = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QKK; ib++, w += w_bstep, ba += Q8_K_BYTES) {
        /* the rows' d and dmin (times d_a) converted together and their min terms summed together, lane k = row k:
         * the reference's float steps per lane, without two scalar half conversions and a sum per row */
        const v128_t da = wasm_f32x4_splat(load_f32(ba));
        const v128_t d = nrow == 4 ? load_half4(w, w_stride) : wasm_f32x4_splat(load_half(w));
        const v128_t dmin = nrow == 4 ? load_half4(w + 2, w_stride) : wasm_f32x4_splat(load_half(w + 2));
        float dk[4];
        wasm_v128_store(dk, wasm_f32x4_mul(d, da));
        v128_t mins[4];
#if defined(__wasm_relaxed_simd__)
        v128_t ap[16];
        k45_act_relaxed(ba + 4, ap);
        for (int k = 0; k < nrow; k++)
            mins[k] = q45k_block_relaxed(w + (size_t)k * w_stride, ba, ap, qh_off, qs_off,
                                         wasm_v128_load32_splat(dk + k), &sums0[k], &sums1[k]);
#else
        _Alignas(16) int16_t a16[QKK];
        act16_simd128(ba + 4, a16);
        for (int k = 0; k < nrow; k++)
            mins[k] = q45k_block_simd128(w + (size_t)k * w_stride, ba, a16, qh_off, qs_off,
                                         wasm_v128_load32_splat(dk + k), &sums0[k], &sums1[k]);
#endif
        const v128_t sumi = nrow == 4 ? hsum4_i32x4(mins[0], mins[1], mins[2], mins[3])
                                      : wasm_i32x4_splat(hsum_i32x4(mins[0]));
        sumf = wasm_f32x4_sub(sumf, wasm_f32x4_mul(wasm_f32x4_mul(dmin, da), wasm_f32x4_convert_i32x4(sumi)));
    }
    float f[4];
    wasm_v128_store(f, sumf);
    for (int k = 0; k < nrow; k++) s[k] = lanes_finish_simd128(f[k], sums0[k], sums1[k]);
}

void ds2_simd128_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    q45k_dot_rows_simd128(1, n, s, w, 0, Q4_K_BYTES, a, 0, 16);
}
void ds2_simd128_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    q45k_dot_rows_simd128(1, n, s, w, 0, Q5_K_BYTES, a, 16, 48);
}
void ds2_simd128_vec_dot_q4_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q45k_dot_rows_simd128(4, n, s, w, w_stride, w_bstep, a, 0, 16);
}
void ds2_simd128_vec_dot_q5_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q45k_dot_rows_simd128(4, n, s, w, w_stride, w_bstep, a, 16, 48);
}

#if !defined(__wasm_relaxed_simd__)
/* One Q6_K super-block of a row into its lane sums, the reference's steps; a16 as for Q4_K. The values are
 * built 16 at a time in registers: for columns 16k.. of half h the four vectors are groups g = 8h + k + 2j
 * (j = 0..3), each with its own int8 scale, paired (j = 0, 1) and (2, 3) for the lane dots. */
static inline void q6k_block_simd128(const uint8_t *bw, const uint8_t *ba, const int16_t *a16, v128_t *sums0,
                                     v128_t *sums1) {
    const v128_t k32 = wasm_i8x16_splat(32);
    int32_t sp[8];
    q6k_scale_pairs(bw, sp);
    v128_t l0 = wasm_i32x4_splat(0), l1 = wasm_i32x4_splat(0);
#pragma clang loop unroll(disable) /* rolled: see the section's note */
    for (int c = 0; c < 4; c++) {
        const int h = c >> 1, k = c & 1;
        const uint8_t *ql = bw + 64 * h + 16 * k, *qh = ql + 128 - 32 * h;
        const v128_t q0 = wasm_v128_load(ql), q1 = wasm_v128_load(ql + 32), hb = wasm_v128_load(qh);
        v128_t x[4];
        q6k_uvalues_simd128(q0, q1, hb, x);
        const int16_t *ac = a16 + 128 * h + 16 * k;
        const int32_t *spc = sp + 4 * h + k;
        pair_lanes_simd128(fold16_s(wasm_i8x16_sub(x[0], k32), ac), fold16_s(wasm_i8x16_sub(x[1], k32), ac + 32),
                           wasm_v128_load32_splat(spc), &l0, &l1);
        pair_lanes_simd128(fold16_s(wasm_i8x16_sub(x[2], k32), ac + 64), fold16_s(wasm_i8x16_sub(x[3], k32), ac + 96),
                           wasm_v128_load32_splat(spc + 2), &l0, &l1);
    }
    const v128_t d = wasm_f32x4_splat(load_half(bw + 208) * load_f32(ba));
    *sums0 = wasm_f32x4_add(*sums0, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l0)));
    *sums1 = wasm_f32x4_add(*sums1, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l1)));
}
#endif

/* nrow (1 or 4) rows as q45k_dot_rows_simd128 */
static inline void q6k_dot_rows_simd128(int nrow, int64_t n, float *s, const uint8_t *w, size_t w_stride,
                                        size_t w_bstep, const uint8_t *ba) {
    v128_t sums0[4], sums1[4];
    for (int k = 0; k < nrow; k++) sums0[k] = sums1[k] = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QKK; ib++, w += w_bstep, ba += Q8_K_BYTES) {
#if defined(__wasm_relaxed_simd__)
        v128_t ap[16], a32[16];
        q6k_act_relaxed(ba + 4, ap, a32);
        for (int k = 0; k < nrow; k++) q6k_block_relaxed(w + (size_t)k * w_stride, ba, ap, a32, &sums0[k], &sums1[k]);
#else
        _Alignas(16) int16_t a16[QKK];
        act16_simd128(ba + 4, a16);
        for (int k = 0; k < nrow; k++) q6k_block_simd128(w + (size_t)k * w_stride, ba, a16, &sums0[k], &sums1[k]);
#endif
    }
    for (int k = 0; k < nrow; k++) s[k] = lanes_finish_simd128(0.0f, sums0[k], sums1[k]);
}

void ds2_simd128_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    q6k_dot_rows_simd128(1, n, s, w, 0, Q6_K_BYTES, a);
}
void ds2_simd128_vec_dot_q6_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q6k_dot_rows_simd128(4, n, s, w, w_stride, w_bstep, a);
}

/* ---- Q5_0 · Q8_0 -----------------------------------------------------------------------------------------
 * Q5_0 = {f16 d; u8 qh[4]; u8 qs[16]} (22 B): element j = (nibble j | bit j of qh << 4) − 16. Same scheme as
 * Q4_0: exact int sums, sumf += (d_w·d_a)·(float)sumi in the reference's order. */
#define Q5_0_BYTES 22

/* the unsigned values (element + 16, 0..31): elements 0..15 in *lo, 16..31 in *hi */
static inline void q5_0_uvalues(const uint8_t *b, v128_t *lo, v128_t *hi) {
    uint32_t h;
    memcpy(&h, b + 2, 4);
    const v128_t raw = wasm_v128_load(b + 6);
    const v128_t hv = wasm_i32x4_splat((int32_t)h);
    const v128_t bit = wasm_i64x2_splat((int64_t)0x8040201008040201ULL), b10 = wasm_i8x16_splat(0x10);
    /* bit j of h → byte j: byte j/8 of h in lane j, tested against 1 << (j % 8) */
    const v128_t h0 = wasm_i8x16_swizzle(hv, wasm_i8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const v128_t h1 = wasm_i8x16_swizzle(hv, wasm_i8x16_make(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const v128_t s0 = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(h0, bit), bit), b10);
    const v128_t s1 = wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(h1, bit), bit), b10);
    *lo = wasm_v128_or(wasm_v128_and(raw, wasm_i8x16_splat(0x0f)), s0);
    *hi = wasm_v128_or(hi_nibbles(raw), s1);
}
/* the signed values (elements 0..15 in *lo, 16..31 in *hi) */
static inline void q5_0_values(const uint8_t *b, v128_t *lo, v128_t *hi) {
    q5_0_uvalues(b, lo, hi);
    *lo = wasm_i8x16_sub(*lo, wasm_i8x16_splat(16));
    *hi = wasm_i8x16_sub(*hi, wasm_i8x16_splat(16));
}

void ds2_simd128_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += Q5_0_BYTES, ba += Q8_0_BYTES) {
        v128_t wl, wh;
        q5_0_values(bw, &wl, &wh);
        const v128_t acc = wasm_i32x4_add(dot_i8x16(wl, wasm_v128_load(ba + 2)), dot_i8x16(wh, wasm_v128_load(ba + 18)));
        sumf += (load_half(bw) * load_half(ba)) * (float)hsum_i32x4(acc);
    }
    *s = sumf;
}

void ds2_simd128_vec_dot_q5_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES) {
        const v128_t a0 = wasm_v128_load(ba + 2), a1 = wasm_v128_load(ba + 18);
        v128_t d[4];
#if defined(__wasm_relaxed_simd__)
        /* Σ (u − 16)·a = Σ u·a − 16·Σ a, u ≤ 31 unsigned: one relaxed dot per 16 weights (pairs ≤ 2·31·128, two
         * of them still within int16), the 16·Σ a of the block shared by the four rows (exact ints) */
        const v128_t one = wasm_i16x8_splat(1);
        const v128_t a16 = wasm_i32x4_dot_i16x8(wasm_i16x8_add(rdot16(a0, wasm_i8x16_splat(16)), rdot16(a1, wasm_i8x16_splat(16))), one);
        for (int k = 0; k < 4; k++) {
            v128_t ul, uh;
            q5_0_uvalues(bw + k * w_stride, &ul, &uh);
            d[k] = wasm_i32x4_sub(wasm_i32x4_dot_i16x8(wasm_i16x8_add(rdot16(a0, ul), rdot16(a1, uh)), one), a16);
        }
#else
        for (int k = 0; k < 4; k++) {
            v128_t wl, wh;
            q5_0_values(bw + k * w_stride, &wl, &wh);
            d[k] = wasm_i32x4_add(dot_i8x16(wl, a0), dot_i8x16(wh, a1));
        }
#endif
        const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(d[0], d[1], d[2], d[3]));
        const v128_t dd = wasm_f32x4_mul(load_half4(bw, w_stride), wasm_f32x4_splat(load_half(ba)));
        sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(dd, sumi));
    }
    wasm_v128_store(s, sumf);
}

/* ---- IQ4_NL · Q8_0 ---------------------------------------------------------------------------------------
 * IQ4_NL = {f16 d; u8 qs[16]} (18 B): nibbles as Q4_0 index the codebook ds2_kvalues_iq4nl (i8x16.swizzle).
 * Reference order: sumf += (d_a·d_w)·(float)sumi. */
#define IQ4_NL_BYTES 18

void ds2_simd128_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const v128_t table = wasm_v128_load(ds2_kvalues_iq4nl), lo4 = wasm_i8x16_splat(0x0f);
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += IQ4_NL_BYTES, ba += Q8_0_BYTES) {
        const v128_t raw = wasm_v128_load(bw + 2);
        const v128_t wl = wasm_i8x16_swizzle(table, wasm_v128_and(raw, lo4)), wh = wasm_i8x16_swizzle(table, hi_nibbles(raw));
        const v128_t acc = wasm_i32x4_add(dot_i8x16(wl, wasm_v128_load(ba + 2)), dot_i8x16(wh, wasm_v128_load(ba + 18)));
        sumf += (load_half(ba) * load_half(bw)) * (float)hsum_i32x4(acc);
    }
    *s = sumf;
}

void ds2_simd128_vec_dot_iq4_nl_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const v128_t table = wasm_v128_load(ds2_kvalues_iq4nl), lo4 = wasm_i8x16_splat(0x0f);
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_0_BYTES) {
        const v128_t a0 = wasm_v128_load(ba + 2), a1 = wasm_v128_load(ba + 18);
        v128_t d[4];
        for (int k = 0; k < 4; k++) {
            const v128_t raw = wasm_v128_load(bw + k * w_stride + 2);
            d[k] = wasm_i32x4_add(dot_i8x16(wasm_i8x16_swizzle(table, wasm_v128_and(raw, lo4)), a0),
                                  dot_i8x16(wasm_i8x16_swizzle(table, hi_nibbles(raw)), a1));
        }
        const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(d[0], d[1], d[2], d[3]));
        const v128_t dd = wasm_f32x4_mul(wasm_f32x4_splat(load_half(ba)), load_half4(bw, w_stride));
        sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(dd, sumi));
    }
    wasm_v128_store(s, sumf);
}

/* ---- Q3_K, Q2_K, IQ4_XS · Q8_K: layouts and float order as in avx2.c ------------------------------------- */
#define Q2_K_BYTES 84
#define Q3_K_BYTES 110
#define IQ4_XS_BYTES 136

static inline void scales_q3k_simd128(const uint8_t *s, int16_t sc[16]) {
    for (int j = 0; j < 16; j++) {
        const int low4 = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
        const int high2 = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        sc[j] = (int16_t)((low4 | (high2 << 4)) - 32);
    }
}

void ds2_simd128_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const v128_t m3 = wasm_i8x16_splat(3), four = wasm_i8x16_splat(4);
    v128_t sums0 = wasm_f32x4_splat(0.0f), sums1 = wasm_f32x4_splat(0.0f);
    int8_t v[QKK];
    int16_t sc[16];
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q3_K_BYTES, ba += Q8_K_BYTES) {
        for (int half = 0; half < 2; half++)
            for (int hh = 0; hh < 2; hh++) { /* 16 of the 32 columns l at a time */
                const v128_t hm = wasm_v128_load(bw + 16 * hh);
                const v128_t q = wasm_v128_load(bw + 32 + 32 * half + 16 * hh);
                for (int j = 0; j < 4; j++) {
                    const v128_t bit = wasm_i8x16_splat((int8_t)(1 << (4 * half + j)));
                    const v128_t set = wasm_i8x16_eq(wasm_v128_and(hm, bit), bit);
                    const v128_t lo = wasm_v128_and(wasm_u16x8_shr(q, 2 * j), m3) /* mask drops cross-byte bits */;
                    wasm_v128_store(v + 128 * half + 32 * j + 16 * hh, wasm_i8x16_sub(lo, wasm_v128_andnot(four, set)));
                }
            }
        scales_q3k_simd128(bw + 96, sc);
        v128_t l0, l1;
        lanes_dot16_simd128(v, (const int8_t *)(ba + 4), wasm_v128_load(sc), wasm_v128_load(sc + 8), &l0, &l1);
        const v128_t d = wasm_f32x4_splat(load_half(bw + 108) * load_f32(ba));
        sums0 = wasm_f32x4_add(sums0, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l0)));
        sums1 = wasm_f32x4_add(sums1, wasm_f32x4_mul(d, wasm_f32x4_convert_i32x4(l1)));
    }
    *s = lanes_finish_simd128(0.0f, sums0, sums1);
}

void ds2_simd128_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const v128_t m3 = wasm_i8x16_splat(3);
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QKK; ib++, bw += Q2_K_BYTES, ba += Q8_K_BYTES) {
        const uint8_t *sc = bw;
        int summs = 0;
        for (int j = 0; j < 16; j++) {
            int16_t bs;
            memcpy(&bs, ba + 260 + 2 * j, 2);
            summs += bs * (sc[j] >> 4);
        }
        v128_t acc = wasm_i32x4_splat(0);
        for (int half = 0; half < 2; half++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 2; k++) { /* 16 elements with scale sc[8·half + 2j + k] */
                    const v128_t wq = wasm_v128_and(wasm_u16x8_shr(wasm_v128_load(bw + 16 + 32 * half + 16 * k), 2 * j), m3);
                    const v128_t aq = wasm_v128_load(ba + 4 + 128 * half + 32 * j + 16 * k);
                    const v128_t p = dot_i8x16(wq, aq);
                    acc = wasm_i32x4_add(acc, wasm_i32x4_mul(p, wasm_i32x4_splat(sc[8 * half + 2 * j + k] & 0x0f)));
                }
        const int isum = hsum_i32x4(acc);
        const float da = load_f32(ba);
        const float dall = da * load_half(bw + 80), dmin = da * load_half(bw + 82);
        sumf += dall * (float)isum - dmin * (float)summs;
    }
    *s = sumf;
}

void ds2_simd128_vec_dot_iq4_xs_q8_k(int64_t n, float *s, const void *w, const void *a) {
    const uint8_t *bw = (const uint8_t *)w, *ba = (const uint8_t *)a;
    const v128_t table = wasm_v128_load(ds2_kvalues_iq4nl), lo4 = wasm_i8x16_splat(0x0f);
    float sumf = 0.0f;
    for (int64_t ibl = 0; ibl < n / QKK; ibl++, bw += IQ4_XS_BYTES, ba += Q8_K_BYTES) {
        const float d4d8 = load_half(bw) * load_f32(ba);
        uint16_t h;
        memcpy(&h, bw + 2, 2);
        for (int ib = 0; ib < 8; ib++) {
            const v128_t raw = wasm_v128_load(bw + 8 + 16 * ib);
            const uint8_t *q8 = ba + 4 + 32 * ib;
            const v128_t acc = wasm_i32x4_add(dot_i8x16(wasm_i8x16_swizzle(table, wasm_v128_and(raw, lo4)), wasm_v128_load(q8)),
                                              dot_i8x16(wasm_i8x16_swizzle(table, hi_nibbles(raw)), wasm_v128_load(q8 + 16)));
            const int ls = ((bw[4 + ib / 2] >> (4 * (ib % 2))) & 0x0f) | (((h >> (2 * ib)) & 3) << 4);
            const float dl = d4d8 * (float)(ls - 32);
            sumf += dl * (float)hsum_i32x4(acc);
        }
    }
    *s = sumf;
}

/* ---- Q4_1, Q5_1 · Q8_1: layouts and float order as in avx2.c --------------------------------------------- */
#define Q8_1_BYTES 36

/* unsigned 4/5-bit values, elements 0..15 in *lo, 16..31 in *hi */
static inline void q41_51_values(const uint8_t *b, int has_qh, v128_t *lo, v128_t *hi) {
    const v128_t raw = wasm_v128_load(b + (has_qh ? 8 : 4));
    v128_t l = wasm_v128_and(raw, wasm_i8x16_splat(0x0f)), h = hi_nibbles(raw);
    if (has_qh) {
        v128_t q5l, q5h; /* Q5_0's values + 16 are nibble | 5th bit */
        q5_0_values(b + 2, &q5l, &q5h); /* reads qh at b + 4 and qs at b + 8 */
        l = wasm_i8x16_add(q5l, wasm_i8x16_splat(16));
        h = wasm_i8x16_add(q5h, wasm_i8x16_splat(16));
    }
    *lo = l;
    *hi = h;
}

static inline float q41_51_dot_simd128(int64_t n, const uint8_t *bw, const uint8_t *ba, int bytes, int has_qh) {
    float sumf = 0.0f;
    for (int64_t ib = 0; ib < n / QK; ib++, bw += bytes, ba += Q8_1_BYTES) {
        v128_t wl, wh;
        q41_51_values(bw, has_qh, &wl, &wh);
        const v128_t acc = wasm_i32x4_add(dot_i8x16(wl, wasm_v128_load(ba + 4)), dot_i8x16(wh, wasm_v128_load(ba + 20)));
        sumf += (load_half(bw) * load_half(ba)) * (float)hsum_i32x4(acc) + load_half(bw + 2) * load_half(ba + 2);
    }
    return sumf;
}

static inline void q41_51_dot_x4_simd128(int64_t n, float *s, const uint8_t *bw, size_t w_stride, size_t w_bstep,
                                         const uint8_t *ba, int has_qh) {
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < n / QK; ib++, bw += w_bstep, ba += Q8_1_BYTES) {
        const v128_t a0 = wasm_v128_load(ba + 4), a1 = wasm_v128_load(ba + 20);
        v128_t d[4];
        for (int k = 0; k < 4; k++) {
            v128_t wl, wh;
            q41_51_values(bw + k * w_stride, has_qh, &wl, &wh);
            d[k] = wasm_i32x4_add(dot_i8x16(wl, a0), dot_i8x16(wh, a1));
        }
        const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(d[0], d[1], d[2], d[3]));
        const v128_t dd = wasm_f32x4_mul(load_half4(bw, w_stride), wasm_f32x4_splat(load_half(ba)));
        const v128_t ms = wasm_f32x4_mul(load_half4(bw + 2, w_stride), wasm_f32x4_splat(load_half(ba + 2)));
        sumf = wasm_f32x4_add(sumf, wasm_f32x4_add(wasm_f32x4_mul(dd, sumi), ms));
    }
    wasm_v128_store(s, sumf);
}

void ds2_simd128_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *w, const void *a) { *s = q41_51_dot_simd128(n, w, a, 20, 0); }
void ds2_simd128_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *w, const void *a) { *s = q41_51_dot_simd128(n, w, a, 24, 1); }
void ds2_simd128_vec_dot_q4_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q41_51_dot_x4_simd128(n, s, w, w_stride, w_bstep, a, 0);
}
void ds2_simd128_vec_dot_q5_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a) {
    q41_51_dot_x4_simd128(n, s, w, w_stride, w_bstep, a, 1);
}

/* ---- BF16 · BF16: exact widening (bf16 << 16), float products, f64x2 lanes (as F32·F32) ------------------ */
void ds2_simd128_vec_dot_bf16_bf16(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = (const uint16_t *)w, *y = (const uint16_t *)a;
    v128_t acc[4] = {wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0), wasm_f64x2_splat(0.0)};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t hx = wasm_v128_load(x + i), hy = wasm_v128_load(y + i);
        const v128_t p0 = wasm_f32x4_mul(wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(hx), 16),
                                         wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(hy), 16));
        const v128_t p1 = wasm_f32x4_mul(wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(hx), 16),
                                         wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(hy), 16));
        acc_products(p0, &acc[0], &acc[1]);
        acc_products(p1, &acc[2], &acc[3]);
    }
    double sum = hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(acc[0], acc[1]), wasm_f64x2_add(acc[2], acc[3])));
    for (; i < n; i++) sum += (double)(ds2_bf16_to_float_inline(x[i]) * ds2_bf16_to_float_inline(y[i]));
    *s = (float)sum;
}

/* ---- multi-token tiles (kernels.h ds2_gemm_get; packing and blocking in gemm_pack.h) ---------------------- */
#include "gemm_pack.h"

/* F16 (gp_gemm_f16): F16_T tokens per row in vec_dot_f16_f16's lanes (per 8 elements, products 0,1 / 2,3 /
 * 4,5 / 6,7 into four f64x2 sums), an exact f64x2 multiply in place of the float product widened, reduced in
 * its order. */
#define F16_T 3
static inline __attribute__((always_inline)) void f16_rows_t(const int T, int64_t n, const uint16_t *w, const double *a,
                                                              int64_t lda, float *y, int64_t ldy) {
    v128_t acc[F16_T][4];
    for (int t = 0; t < T; t++)
        for (int j = 0; j < 4; j++) acc[t][j] = wasm_f64x2_splat(0.0);
    const int nn = (int)n, ld = (int)lda; /* 32-bit indices: an int64_t one costs an i64 multiply per load */
    int i = 0;
    for (; i + 8 <= nn; i += 8) {
        v128_t x0, x1;
        half8_to_f32(wasm_v128_load(w + i), &x0, &x1);
        const v128_t wd[4] = {wasm_f64x2_promote_low_f32x4(x0), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x0, x0, 2, 3, 2, 3)),
                              wasm_f64x2_promote_low_f32x4(x1), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x1, x1, 2, 3, 2, 3))};
        for (int t = 0; t < T; t++)
            for (int j = 0; j < 4; j++)
                acc[t][j] = madd_exact_f64x2(acc[t][j], wd[j], wasm_v128_load(a + t * ld + i + 2 * j));
    }
    for (int t = 0; t < T; t++) {
        double sum = hsum_f64x2(wasm_f64x2_add(wasm_f64x2_add(acc[t][0], acc[t][1]), wasm_f64x2_add(acc[t][2], acc[t][3])));
        for (int k = i; k < nn; k++) sum += (double)ds2_half_to_float_inline(w[k]) * a[t * ld + k];
        y[t * ldy] = (float)sum;
    }
}
/* Not inlined into the gemm driver: with it inlined, Chromium 156's V8 compiled the driver (the same wasm bytes but
 * for two callee indices) into code that ran one-token F16 products at 58% speed in some builds of the module and
 * not others (big F16 decode, 1 thread: 6.3 against 11.0 tok/s; `--no-wasm-inlining-call-indirect` restored it).
 * As a function of its own the hot loop is compiled alone, whatever the driver around it becomes: 11.4 tok/s. */
__attribute__((noinline)) static void f16_rows_simd128(int T, int64_t n, const uint16_t *w, const double *a, int64_t lda, float *y, int64_t ldy) {
    if (T == 3) f16_rows_t(3, n, w, a, lda, y, ldy);
    else if (T == 2) f16_rows_t(2, n, w, a, lda, y, ldy);
    else f16_rows_t(1, n, w, a, lda, y, ldy);
}
void ds2_simd128_gemm_f16(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4, int64_t nr,
                          const void *a, size_t a_stride, int64_t nt) {
    (void)x4; /* F16 has no four-row form, so its rows are never interleaved (ds2_repack_x4_wanted) */
    gp_gemm_f16(F16_T, half_row_to_f64, f16_rows_simd128, ds2_simd128_vec_dot_f16_f16, n, y, ldy, (const uint8_t *)w,
                w_stride, nr, (const uint8_t *)a, a_stride, nt);
}

/* q32: per block and token the four rows' exact int sums (hsum4 → lane k = row k), then lane-wise
 * sumf[t] += (float)sumi·(d_w·d_a) — row k's sequential sum of vec_dot. */
static void q32_tile_simd128(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    const int16_t *wq = (const int16_t *)w4;
    const float *wd = (const float *)(w4 + (size_t)nb * 4 * 32 * 2);
    const int16_t *q[2] = {(const int16_t *)a0, (const int16_t *)a1};
    const float *d[2] = {(const float *)(a0 + (size_t)nb * 32 * 2), (const float *)(a1 + (size_t)nb * 32 * 2)};
    v128_t sumf[2] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f)};
    for (int64_t ib = 0; ib < nb; ib++) {
        const v128_t dw = wasm_v128_load(wd + 4 * ib);
        for (int t = 0; t < 2; t++) {
            const int16_t *x = q[t] + 32 * ib;
            const v128_t x0 = wasm_v128_load(x), x1 = wasm_v128_load(x + 8), x2 = wasm_v128_load(x + 16),
                         x3 = wasm_v128_load(x + 24);
            v128_t v[4];
            for (int k = 0; k < 4; k++) {
                const int16_t *r = wq + (ib * 4 + k) * 32;
                v[k] = wasm_i32x4_add(
                    wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(r), x0), wasm_i32x4_dot_i16x8(wasm_v128_load(r + 8), x1)),
                    wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(r + 16), x2), wasm_i32x4_dot_i16x8(wasm_v128_load(r + 24), x3)));
            }
            const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(v[0], v[1], v[2], v[3])); /* exact: < 2^24 */
            sumf[t] = wasm_f32x4_add(sumf[t], wasm_f32x4_mul(sumi, wasm_f32x4_mul(dw, wasm_f32x4_splat(d[t][ib]))));
        }
    }
    wasm_v128_store(out[0], sumf[0]);
    wasm_v128_store(out[1], sumf[1]);
}

/* kq: the 8 lanes of each (row k, token t) as two i32x4 (lanes 0..3, then 4..7: the packed group order puts
 * them in the first and second 8 int16 of each 16), then the reference's float steps (see avx2.c). */
static inline void kq_tile_simd128(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1,
                                   float out[2][4], int has_min) {
    const gp_kq_w *w = (const gp_kq_w *)w4;
    const gp_kq_a *x[2] = {(const gp_kq_a *)a0, (const gp_kq_a *)a1};
    v128_t sums[4][2][2]; /* [row][token][lanes 0..3 / 4..7] */
    v128_t sumf[2] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f)};
    for (int k = 0; k < 4; k++)
        for (int t = 0; t < 2; t++) sums[k][t][0] = sums[k][t][1] = wasm_f32x4_splat(0.0f);
    for (int64_t ib = 0; ib < nb; ib++) {
        const gp_kq_w *wb = w + 4 * ib;
        const gp_kq_a *xb0 = x[0] + ib, *xb1 = x[1] + ib;
        for (int h = 0; h < 2; h++) {
            v128_t acc[4][2];
            for (int k = 0; k < 4; k++) acc[k][0] = acc[k][1] = wasm_i32x4_splat(0);
            for (int c = 0; c < 16; c++) {
                const v128_t av0 = wasm_v128_load(xb0->a + 16 * c + 8 * h), av1 = wasm_v128_load(xb1->a + 16 * c + 8 * h);
                for (int k = 0; k < 4; k++) {
                    const v128_t wv = wasm_v128_load(wb[k].sw + 16 * c + 8 * h);
                    acc[k][0] = wasm_i32x4_add(acc[k][0], wasm_i32x4_dot_i16x8(wv, av0));
                    acc[k][1] = wasm_i32x4_add(acc[k][1], wasm_i32x4_dot_i16x8(wv, av1));
                }
            }
            for (int k = 0; k < 4; k++) {
                sums[k][0][h] = wasm_f32x4_add(sums[k][0][h], wasm_f32x4_mul(wasm_f32x4_splat(wb[k].d * xb0->d),
                                                                             wasm_f32x4_convert_i32x4(acc[k][0])));
                sums[k][1][h] = wasm_f32x4_add(sums[k][1][h], wasm_f32x4_mul(wasm_f32x4_splat(wb[k].d * xb1->d),
                                                                             wasm_f32x4_convert_i32x4(acc[k][1])));
            }
        }
        if (has_min) {
            const v128_t dmin = wasm_f32x4_make(wb[0].dmin, wb[1].dmin, wb[2].dmin, wb[3].dmin);
            for (int t = 0; t < 2; t++) {
                const gp_kq_a *xb = t ? xb1 : xb0;
                const v128_t b0 = wasm_v128_load(xb->bs), b1 = wasm_v128_load(xb->bs + 8);
                v128_t m[4];
                for (int k = 0; k < 4; k++)
                    m[k] = wasm_i32x4_add(wasm_i32x4_dot_i16x8(b0, wasm_v128_load(wb[k].mn)),
                                          wasm_i32x4_dot_i16x8(b1, wasm_v128_load(wb[k].mn + 8)));
                const v128_t sumi = wasm_f32x4_convert_i32x4(hsum4_i32x4(m[0], m[1], m[2], m[3]));
                sumf[t] = wasm_f32x4_sub(sumf[t], wasm_f32x4_mul(wasm_f32x4_mul(dmin, wasm_f32x4_splat(xb->d)), sumi));
            }
        }
    }
    for (int t = 0; t < 2; t++) {
        float f[4];
        wasm_v128_store(f, sumf[t]);
        for (int k = 0; k < 4; k++) {
            float l[8];
            wasm_v128_store(l, sums[k][t][0]);
            wasm_v128_store(l + 4, sums[k][t][1]);
            float s = f[k];
            for (int j = 0; j < 8; j++) s += l[j];
            out[t][k] = s;
        }
    }
}
static void kq_tile_min_simd128(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    kq_tile_simd128(nb, w4, a0, a1, out, 1);
}
static void kq_tile_nomin_simd128(int64_t nb, const uint8_t *w4, const uint8_t *a0, const uint8_t *a1, float out[2][4]) {
    kq_tile_simd128(nb, w4, a0, a1, out, 0);
}

#define GEMM_SIMD128(name, fam, wtype, tile, vec_dot, vec_dot_x4)                                                    \
    void ds2_simd128_gemm_##name(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4, int64_t nr, \
                              const void *a, size_t a_stride, int64_t nt) {                                     \
        gp_gemm(fam, wtype, tile, vec_dot, vec_dot_x4, n, y, ldy, (const uint8_t *)w, w_stride, x4, nr,          \
                (const uint8_t *)a, a_stride, nt);                                                              \
    }
GEMM_SIMD128(q4_0, GP_Q32, DS2_Q4_0, q32_tile_simd128, ds2_simd128_vec_dot_q4_0_q8_0, ds2_simd128_vec_dot_q4_0_q8_0_x4)
GEMM_SIMD128(q5_0, GP_Q32, DS2_Q5_0, q32_tile_simd128, ds2_simd128_vec_dot_q5_0_q8_0, ds2_simd128_vec_dot_q5_0_q8_0_x4)
GEMM_SIMD128(q8_0, GP_Q32, DS2_Q8_0, q32_tile_simd128, ds2_simd128_vec_dot_q8_0_q8_0, ds2_simd128_vec_dot_q8_0_q8_0_x4)
GEMM_SIMD128(iq4_nl, GP_Q32, DS2_IQ4_NL, q32_tile_simd128, ds2_simd128_vec_dot_iq4_nl_q8_0, ds2_simd128_vec_dot_iq4_nl_q8_0_x4)
GEMM_SIMD128(q4_k, GP_KQ, DS2_Q4_K, kq_tile_min_simd128, ds2_simd128_vec_dot_q4_k_q8_k, ds2_simd128_vec_dot_q4_k_q8_k_x4)
GEMM_SIMD128(q5_k, GP_KQ, DS2_Q5_K, kq_tile_min_simd128, ds2_simd128_vec_dot_q5_k_q8_k, ds2_simd128_vec_dot_q5_k_q8_k_x4)
GEMM_SIMD128(q6_k, GP_KQ, DS2_Q6_K, kq_tile_nomin_simd128, ds2_simd128_vec_dot_q6_k_q8_k, ds2_simd128_vec_dot_q6_k_q8_k_x4)
GEMM_SIMD128(q3_k, GP_KQ, DS2_Q3_K, kq_tile_nomin_simd128, ds2_simd128_vec_dot_q3_k_q8_k, NULL)

/* ---- Q8_K activations: the reference quantizer's bits (see avx2.c ds2_avx2_q8_k_from_float) -------------- */
void ds2_simd128_q8_k_from_float(const float *x, void *y, int64_t n) {
    uint8_t *b = (uint8_t *)y;
    const v128_t magic = wasm_f32x4_splat(12582912.0f), mant = wasm_i32x4_splat(0x007fffff),
                 bias = wasm_i32x4_splat(0x00400000), cap = wasm_i32x4_splat(127);
    for (int64_t ib = 0; ib < n / QKK; ib++, b += Q8_K_BYTES, x += QKK) {
        v128_t m = wasm_f32x4_splat(0.0f);
        for (int j = 0; j < QKK; j += 4) m = wasm_f32x4_max(m, wasm_f32x4_abs(wasm_v128_load(x + j)));
        float amax = 0.0f;
        for (int k = 0; k < 4; k++) {
            const float e = wasm_f32x4_extract_lane(m, 0);
            amax = e > amax ? e : amax;
            m = wasm_i32x4_shuffle(m, m, 1, 2, 3, 0);
        }
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
        const v128_t vs = wasm_f32x4_splat(iscale);
        int8_t *qs = (int8_t *)(b + 4);
        for (int j = 0; j < QKK; j += 16) {
            v128_t q[4];
            for (int k = 0; k < 4; k++) {
                const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(vs, wasm_v128_load(x + j + 4 * k)), magic);
                q[k] = wasm_i32x4_min(wasm_i32x4_sub(wasm_v128_and(v, mant), bias), cap);
            }
            const v128_t q16a = wasm_i16x8_narrow_i32x4(q[0], q[1]), q16b = wasm_i16x8_narrow_i32x4(q[2], q[3]);
            wasm_v128_store(qs + j, wasm_i8x16_narrow_i16x8(q16a, q16b));
            const v128_t s = wasm_i32x4_add(wasm_i32x4_extadd_pairwise_i16x8(q16a), wasm_i32x4_extadd_pairwise_i16x8(q16b));
            const int16_t sum = (int16_t)(wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) +
                                          wasm_i32x4_extract_lane(s, 2) + wasm_i32x4_extract_lane(s, 3));
            memcpy(b + 260 + 2 * (j / 16), &sum, 2);
        }
        const float d = 1.0f / iscale;
        memcpy(b, &d, 4);
    }
}
