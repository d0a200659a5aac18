/* attn_simd128.c — the tile primitives of the fast multi-query attention (attn.h) for wasm SIMD128.
 *
 * Compiled only when the build targets SIMD128 (-msimd128). No FMA in SIMD128 (and no relaxed madd in
 * Debian 12's clang 14): multiply then add. f16 rows are converted with an integer bit trick (below), exact.
 * Register blocking: scores 4 heads × 2 rows, output 2 heads × 16 columns; every element is one chain in a
 * fixed order whatever block it falls in, so the split of heads over calls never changes a bit.
 */
#if !defined(__wasm_simd128__)
#error "attn_simd128.c must be compiled with -msimd128"
#endif

#include <string.h>
#include <wasm_simd128.h>

#include "attn.h"
#include "ref.h"

/* 4 IEEE halves (zero-extended in u32 lanes) → floats: exponent+mantissa moved to a float's low bits and
 * scaled by 2^112 is exact for normals and subnormals; exponent 31 selects inf / quiet NaN; sign ORed. */
static inline v128_t half4_to_f32(v128_t h) {
    const v128_t em = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
    const v128_t f = wasm_f32x4_mul(em, wasm_f32x4_splat(5.192296858534828e+33f));
    const v128_t special_exp = wasm_i32x4_eq(wasm_v128_and(h, wasm_i32x4_splat(0x7c00)), wasm_i32x4_splat(0x7c00));
    const v128_t nan_quiet = wasm_v128_and(wasm_i32x4_ne(wasm_v128_and(em, wasm_i32x4_splat(0x7fe000)), wasm_i32x4_splat(0)),
                                           wasm_i32x4_splat(0x400000));
    const v128_t special = wasm_v128_or(wasm_v128_or(wasm_i32x4_splat(0x7f800000), em), nan_quiet);
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    return wasm_v128_or(wasm_v128_bitselect(special, f, special_exp), sign);
}

static void load_seg_f16(const uint16_t *src, int64_t n, float *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t h = wasm_v128_load(src + i);
        wasm_v128_store(dst + i, half4_to_f32(wasm_u32x4_extend_low_u16x8(h)));
        wasm_v128_store(dst + i + 4, half4_to_f32(wasm_u32x4_extend_high_u16x8(h)));
    }
    for (; i < n; i++) dst[i] = ds2_half_to_float_inline(src[i]);
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

static inline float hsum(v128_t v) {
    v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(v, 0);
}

#define MADD(acc, x, y) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(x, y))

static void scores(const float *tile, int32_t nj, int64_t ldt, const float *q, int64_t nh, float *s, int64_t lds) {
    int64_t h = 0;
    for (; h + 4 <= nh; h += 4) {
        const float *q0 = q + h * ldt, *q1 = q0 + ldt, *q2 = q1 + ldt, *q3 = q2 + ldt;
        float *s0 = s + h * lds, *s1 = s0 + lds, *s2 = s1 + lds, *s3 = s2 + lds;
        int32_t j = 0;
        for (; j + 2 <= nj; j += 2) {
            const float *r0 = tile + j * ldt, *r1 = r0 + ldt;
            v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                   a31 = a00;
            for (int64_t i = 0; i < ldt; i += 4) {
                const v128_t x0 = wasm_v128_load(r0 + i), x1 = wasm_v128_load(r1 + i);
                v128_t y = wasm_v128_load(q0 + i);
                MADD(a00, y, x0);
                MADD(a01, y, x1);
                y = wasm_v128_load(q1 + i);
                MADD(a10, y, x0);
                MADD(a11, y, x1);
                y = wasm_v128_load(q2 + i);
                MADD(a20, y, x0);
                MADD(a21, y, x1);
                y = wasm_v128_load(q3 + i);
                MADD(a30, y, x0);
                MADD(a31, y, x1);
            }
            s0[j] = hsum(a00), s0[j + 1] = hsum(a01);
            s1[j] = hsum(a10), s1[j + 1] = hsum(a11);
            s2[j] = hsum(a20), s2[j + 1] = hsum(a21);
            s3[j] = hsum(a30), s3[j + 1] = hsum(a31);
        }
        for (; j < nj; j++) {
            const float *r0 = tile + j * ldt;
            v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (int64_t i = 0; i < ldt; i += 4) {
                const v128_t x0 = wasm_v128_load(r0 + i);
                MADD(a0, wasm_v128_load(q0 + i), x0);
                MADD(a1, wasm_v128_load(q1 + i), x0);
                MADD(a2, wasm_v128_load(q2 + i), x0);
                MADD(a3, wasm_v128_load(q3 + i), x0);
            }
            s0[j] = hsum(a0), s1[j] = hsum(a1), s2[j] = hsum(a2), s3[j] = hsum(a3);
        }
    }
    for (; h < nh; h++) {
        const float *q0 = q + h * ldt;
        for (int32_t j = 0; j < nj; j++) {
            const float *r0 = tile + j * ldt;
            v128_t a0 = wasm_f32x4_splat(0.0f);
            for (int64_t i = 0; i < ldt; i += 4) MADD(a0, wasm_v128_load(q0 + i), wasm_v128_load(r0 + i));
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
        for (int64_t c = 0; c < nc; c += 8) { /* nc is a multiple of 8 */
            v128_t a0 = wasm_v128_load(o0 + c), a1 = wasm_v128_load(o0 + c + 4);
            v128_t b0 = wasm_v128_load(o1 + c), b1 = wasm_v128_load(o1 + c + 4);
            for (int32_t j = 0; j < nj; j++) {
                const float *r = tile + j * ldt + c;
                const v128_t x0 = wasm_v128_load(r), x1 = wasm_v128_load(r + 4);
                const v128_t w0 = wasm_v128_load32_splat(p0 + j), w1 = wasm_v128_load32_splat(p1 + j);
                MADD(a0, w0, x0);
                MADD(a1, w0, x1);
                MADD(b0, w1, x0);
                MADD(b1, w1, x1);
            }
            wasm_v128_store(o0 + c, a0), wasm_v128_store(o0 + c + 4, a1);
            wasm_v128_store(o1 + c, b0), wasm_v128_store(o1 + c + 4, b1);
        }
    }
    for (; h < nh; h++) {
        const float *p0 = p + h * lds;
        float *o0 = acc + h * ldo;
        for (int64_t c = 0; c < nc; c += 8) {
            v128_t a0 = wasm_v128_load(o0 + c), a1 = wasm_v128_load(o0 + c + 4);
            for (int32_t j = 0; j < nj; j++) {
                const float *r = tile + j * ldt + c;
                const v128_t w0 = wasm_v128_load32_splat(p0 + j);
                MADD(a0, w0, wasm_v128_load(r));
                MADD(a1, w0, wasm_v128_load(r + 4));
            }
            wasm_v128_store(o0 + c, a0), wasm_v128_store(o0 + c + 4, a1);
        }
    }
}

static const ds2_mqa_ops k_ops = {load_tile, scores, accum};

void ds2_simd128_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch) {
    ds2_mqa_tiled(a, h0, h1, scratch, &k_ops);
}
