/* half_simd128.h — IEEE half → float / double conversions in wasm SIMD128, shared by simd128.c and attn_simd128.c
 * (static inline; only for files compiled with -msimd128). Every form gives ds2_half_to_float_inline's exact
 * values: wasm has no half-precision conversion instruction. */
#ifndef DS2_KERNELS_HALF_SIMD128_H
#define DS2_KERNELS_HALF_SIMD128_H

#include <stdint.h>
#include <wasm_simd128.h>

#include "ref.h" /* ds2_half_to_float_inline */

/* 4 IEEE halves (zero-extended in u32 lanes) → floats: exponent+mantissa placed in a float's low bits times
 * 2^112 (normals and subnormals); exponent 31 → inf / quiet NaN; sign ORed. */
static inline v128_t half4_to_f32(v128_t h) {
    const v128_t em = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
    const v128_t f = wasm_f32x4_mul(em, wasm_f32x4_splat(5.192296858534828e+33f)); /* 2^112 */
    const v128_t is_special = wasm_i32x4_eq(wasm_v128_and(h, wasm_i32x4_splat(0x7c00)), wasm_i32x4_splat(0x7c00));
    const v128_t quiet = wasm_v128_and(wasm_i32x4_ne(wasm_v128_and(em, wasm_i32x4_splat(0x7fe000)), wasm_i32x4_splat(0)),
                                       wasm_i32x4_splat(0x400000));
    const v128_t special = wasm_v128_or(wasm_v128_or(wasm_i32x4_splat(0x7f800000), em), quiet);
    const v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    return wasm_v128_or(wasm_v128_bitselect(special, f, is_special), sign);
}

/* 4 finite halves (exponent < 31; in the high 16 bits of i32 lanes) → floats, the same exact values as
 * half4_to_f32 in 3 steps: sign to bit 31 and exponent + mantissa to bits 13..27 by an arithmetic shift whose
 * copies of the sign are masked off, times 2^112 */
static inline v128_t finite_half4_hi_to_f32(v128_t h_hi) {
    return wasm_f32x4_mul(wasm_v128_and(wasm_i32x4_shr(h_hi, 3), wasm_i32x4_splat((int32_t)0x8fffffff)),
                          wasm_f32x4_splat(5.192296858534828e+33f));
}

/* any of the 8 halves in h with exponent 31 (inf / NaN) */
static inline int any_special_half8(v128_t h) {
    const v128_t e = wasm_i16x8_splat(0x7c00);
    return wasm_v128_any_true(wasm_i16x8_eq(wasm_v128_and(h, e), e));
}

/* 8 halves → floats 0..3 in *lo, 4..7 in *hi: the 3-step form unless one of them is inf / NaN */
static inline void half8_to_f32(v128_t h, v128_t *lo, v128_t *hi) {
    if (!any_special_half8(h)) { /* halves interleaved with zeros: each in the high 16 bits of a lane */
        const v128_t z = wasm_i32x4_splat(0);
        *lo = finite_half4_hi_to_f32(wasm_i16x8_shuffle(z, h, 0, 8, 1, 9, 2, 10, 3, 11));
        *hi = finite_half4_hi_to_f32(wasm_i16x8_shuffle(z, h, 4, 12, 5, 13, 6, 14, 7, 15));
    } else {
        *lo = half4_to_f32(wasm_u32x4_extend_low_u16x8(h));
        *hi = half4_to_f32(wasm_u32x4_extend_high_u16x8(h));
    }
}

/* n halves → doubles (exact) */
static inline void half_row_to_f64(const uint16_t *src, int64_t n, double *dst) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v128_t lo, hi;
        half8_to_f32(wasm_v128_load(src + i), &lo, &hi);
        wasm_v128_store(dst + i, wasm_f64x2_promote_low_f32x4(lo));
        wasm_v128_store(dst + i + 2, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(lo, lo, 2, 3, 2, 3)));
        wasm_v128_store(dst + i + 4, wasm_f64x2_promote_low_f32x4(hi));
        wasm_v128_store(dst + i + 6, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(hi, hi, 2, 3, 2, 3)));
    }
    for (; i < n; i++) dst[i] = (double)ds2_half_to_float_inline(src[i]);
}

/* acc + x·y in f64x2 where every product x·y is exact in double (products of two halves): one rounding whether
 * the engine fuses or not, so relaxed SIMD's f64x2.relaxed_madd (one FMA on x86 engines) gives the bits of a
 * multiply + add. Debian's clang 14 has only the prototype f64x2.fma for it; wasm/relaxed-patch.mjs rewrites
 * that opcode to relaxed_madd (operands a, b, c → a·b + c) after linking. */
static inline v128_t madd_exact_f64x2(v128_t acc, v128_t x, v128_t y) {
#if defined(__wasm_relaxed_simd__)
    return __builtin_wasm_fma_f64x2(x, y, acc);
#else
    return wasm_f64x2_add(acc, wasm_f64x2_mul(x, y));
#endif
}

#endif
