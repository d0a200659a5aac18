/* attn_simd128.c — the tile primitives of the fast multi-query attention (attn.h) for wasm SIMD128.
 *
 * Compiled only when the build targets SIMD128 (-msimd128). The reference's arithmetic exactly: float
 * products (f32x4.mul), promoted to f64x2 and summed in the reference's order, lanes over independent sums
 * (4 heads × 4 rows for the scores, 16 columns for the values). f16 rows are converted with an integer bit
 * move (half_simd128.h), exact. With an f16 cache the "_d" primitives do one f64x2 multiply + add per 2 products
 * (exact, attn.c): 4 heads × 4 rows for the scores, column strips of 4 × 4 heads for the values. Both are
 * bound by V8's f64x2 multiply/add throughput (wasm SIMD128 has no FMA without relaxed-SIMD): in Node, 16
 * heads × 512 positions take ~0.45 ms each, the tile conversions ~0.27 ms. Tried without gain: 2 rows × 8
 * heads, i-chunks of the tile kept in L1 across head blocks, rows interleaved by 4 for constant load offsets
 * (the scores gain was lost in the conversion), a branch-free finite-half fast path for the conversion (the
 * branch on "any inf / NaN among 8" that half8_to_f32 takes instead does gain).
 */
#if !defined(__wasm_simd128__)
#error "attn_simd128.c must be compiled with -msimd128"
#endif

#include <string.h>
#include <wasm_simd128.h>

#include "attn.h"
#include "half_simd128.h"
#include "kernels.h"
#include "ref.h"

static void load_seg_f16(const uint16_t *src, int64_t n, float *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t lo, hi;
        half8_to_f32(wasm_v128_load(src + i), &lo, &hi);
        wasm_v128_store(dst + i, lo);
        wasm_v128_store(dst + i + 4, hi);
    }
    for (; i < n; i++) dst[i] = ds2_half_to_float_inline(src[i]);
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

/* lo/hi (2 doubles each) += the 4 float products p, widened exactly */
#define ACC4(lo, hi, p)                                                                  \
    do {                                                                                 \
        const v128_t p_ = (p);                                                           \
        lo = wasm_f64x2_add(lo, wasm_f64x2_promote_low_f32x4(p_));                       \
        hi = wasm_f64x2_add(hi, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(p_, p_, 2, 3, 2, 3))); \
    } while (0)

/* 4 double sums (lanes = heads hb..hb+3) → s[h·lds + j] as floats, for the heads that exist */
static inline void store_heads(v128_t lo, v128_t hi, int64_t hb, int64_t nh, float *s, int64_t lds, int32_t j) {
    const double d[4] = {wasm_f64x2_extract_lane(lo, 0), wasm_f64x2_extract_lane(lo, 1), wasm_f64x2_extract_lane(hi, 0),
                         wasm_f64x2_extract_lane(hi, 1)};
    for (int l = 0; l < 4 && hb + l < nh; l++) s[(hb + l) * lds + j] = (float)d[l];
}

static void scores(const float *tile, int32_t nj, int64_t ldt, int64_t D, const float *qT, int64_t nhp, int64_t nh,
                   float *s, int64_t lds) {
    for (int64_t hb = 0; hb < nh; hb += 4) { /* nhp is a multiple of 8: qT holds zeros past nh */
        int32_t j = 0;
        for (; j + 4 <= nj; j += 4) { /* 4 rows × 4 heads: 8 independent double chains */
            const float *r0 = tile + j * ldt, *r1 = r0 + ldt, *r2 = r1 + ldt, *r3 = r2 + ldt;
            v128_t a0 = wasm_f64x2_splat(0.0), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            for (int64_t i = 0; i < D; i++) {
                const v128_t q = wasm_v128_load(qT + i * nhp + hb);
                ACC4(a0, b0, wasm_f32x4_mul(q, wasm_v128_load32_splat(r0 + i)));
                ACC4(a1, b1, wasm_f32x4_mul(q, wasm_v128_load32_splat(r1 + i)));
                ACC4(a2, b2, wasm_f32x4_mul(q, wasm_v128_load32_splat(r2 + i)));
                ACC4(a3, b3, wasm_f32x4_mul(q, wasm_v128_load32_splat(r3 + i)));
            }
            store_heads(a0, b0, hb, nh, s, lds, j);
            store_heads(a1, b1, hb, nh, s, lds, j + 1);
            store_heads(a2, b2, hb, nh, s, lds, j + 2);
            store_heads(a3, b3, hb, nh, s, lds, j + 3);
        }
        for (; j < nj; j++) {
            const float *r0 = tile + j * ldt;
            v128_t a0 = wasm_f64x2_splat(0.0), b0 = a0;
            for (int64_t i = 0; i < D; i++)
                ACC4(a0, b0, wasm_f32x4_mul(wasm_v128_load(qT + i * nhp + hb), wasm_v128_load32_splat(r0 + i)));
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
        for (; c + 16 <= nc; c += 16) { /* 16 columns: 8 independent double chains */
            v128_t a0 = wasm_v128_load(o + c), a1 = wasm_v128_load(o + c + 2), a2 = wasm_v128_load(o + c + 4),
                   a3 = wasm_v128_load(o + c + 6), a4 = wasm_v128_load(o + c + 8), a5 = wasm_v128_load(o + c + 10),
                   a6 = wasm_v128_load(o + c + 12), a7 = wasm_v128_load(o + c + 14);
            for (int32_t j = 0; j < nj; j++) {
                const float *r = tile + j * ldt + c;
                const v128_t w = wasm_v128_load32_splat(ph + j);
                ACC4(a0, a1, wasm_f32x4_mul(wasm_v128_load(r), w));
                ACC4(a2, a3, wasm_f32x4_mul(wasm_v128_load(r + 4), w));
                ACC4(a4, a5, wasm_f32x4_mul(wasm_v128_load(r + 8), w));
                ACC4(a6, a7, wasm_f32x4_mul(wasm_v128_load(r + 12), w));
            }
            wasm_v128_store(o + c, a0), wasm_v128_store(o + c + 2, a1), wasm_v128_store(o + c + 4, a2);
            wasm_v128_store(o + c + 6, a3), wasm_v128_store(o + c + 8, a4), wasm_v128_store(o + c + 10, a5);
            wasm_v128_store(o + c + 12, a6), wasm_v128_store(o + c + 14, a7);
        }
        for (; c < nc; c += 8) {
            v128_t a0 = wasm_v128_load(o + c), a1 = wasm_v128_load(o + c + 2), a2 = wasm_v128_load(o + c + 4),
                   a3 = wasm_v128_load(o + c + 6);
            for (int32_t j = 0; j < nj; j++) {
                const float *r = tile + j * ldt + c;
                const v128_t w = wasm_v128_load32_splat(ph + j);
                ACC4(a0, a1, wasm_f32x4_mul(wasm_v128_load(r), w));
                ACC4(a2, a3, wasm_f32x4_mul(wasm_v128_load(r + 4), w));
            }
            wasm_v128_store(o + c, a0), wasm_v128_store(o + c + 2, a1);
            wasm_v128_store(o + c + 4, a2), wasm_v128_store(o + c + 6, a3);
        }
    }
}

/* x = f32(f16(x)), round to nearest even, as ds2_half_to_float_inline(ds2_f32_to_f16(x)) bit for bit:
 * half normals: the float's low 13 mantissa bits rounded away in the integer bits (a carry into the exponent
 * is correct); half subnormals (|x| < 2^-14): |x| + 0.5 - 0.5 in float rounds to a multiple of 2^-24 (the
 * ulp of [0.5, 1)), nearest even, exactly; ≥ 65520 → inf; NaN → quiet, top 10 payload bits kept. */
static inline v128_t round_f16x4(v128_t x) {
    const v128_t ax = wasm_v128_and(x, wasm_i32x4_splat(0x7fffffff)), sign = wasm_v128_xor(x, ax);
    const v128_t odd = wasm_v128_and(wasm_u32x4_shr(ax, 13), wasm_i32x4_splat(1));
    const v128_t rn = wasm_v128_and(wasm_i32x4_add(ax, wasm_i32x4_add(odd, wasm_i32x4_splat(0xfff))),
                                    wasm_i32x4_splat((int32_t)0xffffe000u));
    const v128_t half = wasm_f32x4_splat(0.5f);
    const v128_t rs = wasm_f32x4_sub(wasm_f32x4_add(ax, half), half);
    const v128_t nan = wasm_v128_or(wasm_v128_and(ax, wasm_i32x4_splat(0x7fe000)), wasm_i32x4_splat(0x7fc00000));
    v128_t r = wasm_v128_bitselect(rs, rn, wasm_i32x4_lt(ax, wasm_i32x4_splat(0x38800000)));
    r = wasm_v128_bitselect(wasm_i32x4_splat(0x7f800000), r, wasm_i32x4_ge(ax, wasm_i32x4_splat(0x477ff000)));
    r = wasm_v128_bitselect(nan, r, wasm_i32x4_gt(ax, wasm_i32x4_splat(0x7f800000)));
    return wasm_v128_or(r, sign);
}

static void round_f16(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, round_f16x4(wasm_v128_load(x + i)));
    for (; i < n; i++) x[i] = ds2_half_to_float_inline(ds2_f32_to_f16(x[i]));
}

/* ---- f16 rows on doubles (attn.c: products of halves are exact in double, so multiply + add per product) - */

static void load_tile_d(const ds2_mqa_args *a, int32_t j0, int32_t nj, double *tile, int64_t ldt, int seg2) {
    const int64_t d1 = a->d1, d2 = seg2 ? a->d2 : 0;
    for (int32_t jj = 0; jj < nj; jj++) {
        double *t = tile + jj * ldt;
        const size_t j = (size_t)(j0 + jj);
        half_row_to_f64((const uint16_t *)a->k1 + j * d1, d1, t);
        half_row_to_f64((const uint16_t *)a->k2 + j * d2, d2, t + d1);
        if (seg2)
            for (int64_t i = d1 + d2; i < ldt; i++) t[i] = 0.0;
    }
}

#define MADD_D(acc, x, y) acc = madd_exact_f64x2(acc, x, y)

static inline void store_heads_d(v128_t lo, v128_t hi, int64_t hb, int64_t nh, float *s, int64_t lds, int32_t j) {
    const double d[4] = {wasm_f64x2_extract_lane(lo, 0), wasm_f64x2_extract_lane(lo, 1), wasm_f64x2_extract_lane(hi, 0),
                         wasm_f64x2_extract_lane(hi, 1)};
    for (int l = 0; l < 4 && hb + l < nh; l++) s[(hb + l) * lds + j] = (float)d[l];
}

/* The hot loops step pointers with 32-bit counters: wasm32 pointers are 32-bit, and an int64_t index costs an
 * i64 multiply, a wrap and a shift per load in the engine's code. */
static void scores_d(const double *tile, int32_t nj, int64_t ldt, int64_t D, const double *qT, int64_t nhp, int64_t nh,
                     float *s, int64_t lds) {
    const size_t ld = (size_t)ldt, qs = (size_t)nhp;
    const int nd = (int)D;
    for (int64_t hb = 0; hb < nh; hb += 4) { /* nhp is a multiple of 8: qT holds zeros past nh */
        int32_t j = 0;
        for (; j + 4 <= nj; j += 4) { /* 4 rows × 4 heads: 8 independent chains */
            const double *r0 = tile + (size_t)j * ld, *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
            const double *q = qT + hb;
            v128_t a0 = wasm_f64x2_splat(0.0), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
            for (int i = 0; i < nd; i++, q += qs) {
                const v128_t ql = wasm_v128_load(q), qh = wasm_v128_load(q + 2);
                v128_t k = wasm_v128_load64_splat(r0 + i);
                MADD_D(a0, ql, k), MADD_D(b0, qh, k);
                k = wasm_v128_load64_splat(r1 + i);
                MADD_D(a1, ql, k), MADD_D(b1, qh, k);
                k = wasm_v128_load64_splat(r2 + i);
                MADD_D(a2, ql, k), MADD_D(b2, qh, k);
                k = wasm_v128_load64_splat(r3 + i);
                MADD_D(a3, ql, k), MADD_D(b3, qh, k);
            }
            store_heads_d(a0, b0, hb, nh, s, lds, j);
            store_heads_d(a1, b1, hb, nh, s, lds, j + 1);
            store_heads_d(a2, b2, hb, nh, s, lds, j + 2);
            store_heads_d(a3, b3, hb, nh, s, lds, j + 3);
        }
        for (; j < nj; j++) {
            const double *r0 = tile + (size_t)j * ld, *q = qT + hb;
            v128_t a0 = wasm_f64x2_splat(0.0), b0 = a0;
            for (int i = 0; i < nd; i++, q += qs) {
                const v128_t k = wasm_v128_load64_splat(r0 + i);
                MADD_D(a0, wasm_v128_load(q), k);
                MADD_D(b0, wasm_v128_load(q + 2), k);
            }
            store_heads_d(a0, b0, hb, nh, s, lds, j);
        }
    }
}

/* Column strips of 4 outer, heads inner (as attn_avx2.c): the tile (nj rows × 4 KiB) would otherwise stream from
 * L2 once per head; a strip (nj rows × 32 B) comes from L2 once and serves every head from L1. 4 heads × 4
 * columns = 8 independent chains; per row 2 tile loads + 4 probability splats for 8 multiply-adds. */
static void accum_d(const double *tile, int32_t nj, int64_t ldt, const double *p, int64_t lds, int64_t nh, double *acc,
                    int64_t ldo, int64_t nc) {
    const size_t ld = (size_t)ldt;
    for (int64_t c = 0; c < nc; c += 4) { /* nc is a multiple of 8 */
        int64_t h = 0;
        for (; h + 4 <= nh; h += 4) {
            const double *p0 = p + h * lds, *p1 = p0 + lds, *p2 = p1 + lds, *p3 = p2 + lds;
            double *o0 = acc + h * ldo + c, *o1 = o0 + ldo, *o2 = o1 + ldo, *o3 = o2 + ldo;
            v128_t a0 = wasm_v128_load(o0), b0 = wasm_v128_load(o0 + 2), a1 = wasm_v128_load(o1),
                   b1 = wasm_v128_load(o1 + 2), a2 = wasm_v128_load(o2), b2 = wasm_v128_load(o2 + 2),
                   a3 = wasm_v128_load(o3), b3 = wasm_v128_load(o3 + 2);
            const double *r = tile + c;
            for (int32_t j = 0; j < nj; j++, r += ld) {
                const v128_t x0 = wasm_v128_load(r), x1 = wasm_v128_load(r + 2);
                v128_t w = wasm_v128_load64_splat(p0 + j);
                MADD_D(a0, x0, w), MADD_D(b0, x1, w);
                w = wasm_v128_load64_splat(p1 + j);
                MADD_D(a1, x0, w), MADD_D(b1, x1, w);
                w = wasm_v128_load64_splat(p2 + j);
                MADD_D(a2, x0, w), MADD_D(b2, x1, w);
                w = wasm_v128_load64_splat(p3 + j);
                MADD_D(a3, x0, w), MADD_D(b3, x1, w);
            }
            wasm_v128_store(o0, a0), wasm_v128_store(o0 + 2, b0), wasm_v128_store(o1, a1);
            wasm_v128_store(o1 + 2, b1), wasm_v128_store(o2, a2), wasm_v128_store(o2 + 2, b2);
            wasm_v128_store(o3, a3), wasm_v128_store(o3 + 2, b3);
        }
        for (; h < nh; h++) {
            const double *p0 = p + h * lds;
            double *o0 = acc + h * ldo + c;
            v128_t a0 = wasm_v128_load(o0), b0 = wasm_v128_load(o0 + 2);
            const double *r = tile + c;
            for (int32_t j = 0; j < nj; j++, r += ld) {
                const v128_t w = wasm_v128_load64_splat(p0 + j);
                MADD_D(a0, wasm_v128_load(r), w);
                MADD_D(b0, wasm_v128_load(r + 2), w);
            }
            wasm_v128_store(o0, a0), wasm_v128_store(o0 + 2, b0);
        }
    }
}

static void load_cols_d(const ds2_mqa_args *a, int32_t j0, int32_t nj, int64_t c0, int64_t c1, double *tile,
                        int64_t ldt) {
    const int64_t d1 = a->d1, cv = c1 < d1 ? c1 : d1;
    for (int32_t jj = 0; jj < nj; jj++) {
        double *t = tile + jj * ldt;
        if (cv > c0) half_row_to_f64((const uint16_t *)a->k1 + (size_t)(j0 + jj) * d1 + c0, cv - c0, t + c0);
        for (int64_t c = cv > c0 ? cv : c0; c < c1; c++) t[c] = 0.0;
    }
}

const ds2_mqa_ops ds2_simd128_mqa_ops = {load_tile, scores,   accum,   round_f16,
                                        load_tile_d, scores_d, accum_d, load_cols_d};

void ds2_simd128_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch) {
    ds2_mqa_tiled(a, h0, h1, scratch, &ds2_simd128_mqa_ops);
}
