/* simd.h — the SIMD row kernels that dtype_traits.c overlays on the scalar table (internal to src/kernels/).
 *
 * Each instruction set lives in its own file, compiled only when the build targets it:
 *  - avx2.c    (x86-64; compiled with -mavx2 -mfma -mf16c for that file alone, DS2_HAVE_AVX2 set for the
 *               library): chosen at run time when cpuid reports AVX2+FMA+F16C, so one binary runs anywhere.
 *               Its *_vnni GEMM tiles carry a target attribute for AVX-512 VL/BW/VNNI (256-bit registers) and
 *               replace the plain tiles only where cpuid reports those too, as the *_vbmi K-quant four-row
 *               decode dots do where it also reports VBMI (tests call both forms).
 *  - simd128.c (wasm with -msimd128, __wasm_simd128__): wasm has no run-time feature detection, so the build
 *               decides. (No relaxed-SIMD variant yet: Debian 12's clang 14 has no relaxed dot intrinsic.)
 * Numerics against the scalar reference (quant_ref.c), which tests/test_simd.c checks on random shapes:
 *  - Q8_0·Q8_0, Q4_0·Q8_0, Q5_0·Q8_0, IQ4_NL·Q8_0, Q4_1/Q5_1·Q8_1, Q2_K..Q6_K·Q8_K, IQ4_XS·Q8_K and the Q8_0 activation
 *    quantizer give the reference's bits exactly: block sums are exact integers and the float accumulation
 *    keeps the reference's order and roundings (for K-quants its 8 float lanes are the vector lanes; the
 *    four-row forms run four rows' sequential sums in four vector lanes).
 *  - The multi-token forms (ds2_gemm_get; gemm_pack.h packs, tests/test_kernels_gemm.c checks) for Q4_0, Q5_0,
 *    Q8_0, IQ4_NL, Q3_K..Q6_K and the Q8_K activation quantizer (tests/test_kernels_act.c): identical bits too —
 *    the same exact integer sums per block / per lane, the same float operations per output in the same order.
 *  - F32·F32, F16·F16, BF16·BF16 and the attention dots ds2_dot_*_acc (kernels.h): products rounded to float as in the
 *    reference, but summed in double lanes (a different order of double additions): a float result differs
 *    from the reference by at most 1 ulp, rarely. The F16 GEMM forms give their vec_dot's bits (exact double
 *    products in the same lanes: a product of two halves is exact; gemm_pack.h).
 */
#ifndef DS2_KERNELS_SIMD_H
#define DS2_KERNELS_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* multi-token forms (kernels.h ds2_gemm_get), one per weight type */
#define DS2_GEMM_DECL(set, name)                                                                                 \
    void ds2_##set##_gemm_##name(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4,      \
                                 int64_t nr, const void *a, size_t a_stride, int64_t nt);

#if defined(DS2_HAVE_AVX2)
void ds2_avx2_vec_dot_f32_f32(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_f16_f16(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q5_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_iq4_nl_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_iq4_xs_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q4_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q5_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_bf16_bf16(int64_t n, float *s, const void *w, const void *a);
void ds2_avx2_vec_dot_q8_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q4_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q4_0_q8_0_x4_vnni(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                        const void *a);
void ds2_avx2_vec_dot_q4_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q5_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_avx2_vec_dot_q6_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
/* AVX-512 VBMI + VNNI + VL forms of the K-quant four-row dots: only where cpuid has them */
void ds2_avx2_vec_dot_q4_k_q8_k_x4_vbmi(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                        const void *a);
void ds2_avx2_vec_dot_q5_k_q8_k_x4_vbmi(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                        const void *a);
void ds2_avx2_vec_dot_q6_k_q8_k_x4_vbmi(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep,
                                        const void *a);
void ds2_avx2_q8_0_from_float(const float *x, void *y, int64_t n);
void ds2_avx2_q8_k_from_float(const float *x, void *y, int64_t n);
void ds2_avx2_f16_from_float(const float *x, void *y, int64_t n);
void ds2_avx2_f16_to_f64(const uint16_t *h, int64_t n, double *d); /* halves widened exactly (GEMM, attention) */
double ds2_avx2_dot_f32_acc(int64_t n, const float *a, const float *b, double acc);
double ds2_avx2_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc);
double ds2_avx2_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc);
void ds2_avx2_softmax_row(float *x, int64_t n, int64_t n_row);
void ds2_avx2_swiglu(float *out, const float *g, const float *u, int64_t n);
DS2_GEMM_DECL(avx2, q4_0)
DS2_GEMM_DECL(avx2, q5_0)
DS2_GEMM_DECL(avx2, q8_0)
DS2_GEMM_DECL(avx2, iq4_nl)
DS2_GEMM_DECL(avx2, q4_k)
DS2_GEMM_DECL(avx2, q5_k)
DS2_GEMM_DECL(avx2, q6_k)
DS2_GEMM_DECL(avx2, q3_k)
DS2_GEMM_DECL(avx2, f16)
DS2_GEMM_DECL(avx2, q4_0_vnni) /* AVX-512 VNNI + VL tiles: only where cpuid has them */
DS2_GEMM_DECL(avx2, q5_0_vnni)
DS2_GEMM_DECL(avx2, q8_0_vnni)
DS2_GEMM_DECL(avx2, iq4_nl_vnni)
DS2_GEMM_DECL(avx2, q6_k_vnni)
DS2_GEMM_DECL(avx2, q3_k_vnni)
DS2_GEMM_DECL(avx2, q4_k_vnni)
DS2_GEMM_DECL(avx2, q5_k_vnni)
#endif

#if defined(__wasm_simd128__)
void ds2_simd128_vec_dot_f32_f32(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_f16_f16(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q8_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q4_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q4_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q6_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q5_0_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q5_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q5_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_iq4_nl_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q2_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q3_k_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_iq4_xs_q8_k(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q4_1_q8_1(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q5_1_q8_1(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q4_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q5_1_q8_1_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_bf16_bf16(int64_t n, float *s, const void *w, const void *a);
void ds2_simd128_vec_dot_q8_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q4_0_q8_0_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q4_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q5_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_vec_dot_q6_k_q8_k_x4(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
void ds2_simd128_q8_0_from_float(const float *x, void *y, int64_t n);
void ds2_simd128_q8_k_from_float(const float *x, void *y, int64_t n);
double ds2_simd128_dot_f32_acc(int64_t n, const float *a, const float *b, double acc);
double ds2_simd128_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc);
double ds2_simd128_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc);
int64_t ds2_simd128_argmax_f32(const float *x, int64_t n);
void ds2_simd128_softmax_row(float *x, int64_t n, int64_t n_row);
void ds2_simd128_swiglu(float *out, const float *g, const float *u, int64_t n);
DS2_GEMM_DECL(simd128, q4_0)
DS2_GEMM_DECL(simd128, q5_0)
DS2_GEMM_DECL(simd128, q8_0)
DS2_GEMM_DECL(simd128, iq4_nl)
DS2_GEMM_DECL(simd128, q4_k)
DS2_GEMM_DECL(simd128, q5_k)
DS2_GEMM_DECL(simd128, q6_k)
DS2_GEMM_DECL(simd128, f16)
DS2_GEMM_DECL(simd128, q3_k)
#endif

#endif
