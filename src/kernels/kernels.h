/* kernels.h — the math-only ABI: per-dtype row kernels behind one traits table, matrix products, and the
 * small vector ops of a transformer. Nothing here knows about DeepSeek; nothing outside src/kernels/ knows
 * about SIMD (style guide P6/P7).
 *
 * Numerics follow llama.cpp's CPU backend where the tests compare against it: a weight row of type T is
 * multiplied with an activation row first rounded to T's partner type (vec_dot_type): F32→F32, F16→F16,
 * BF16→BF16, Q4_0/Q5_0/Q8_0/IQ4_NL→Q8_0, Q4_1/Q5_1→Q8_1, Q2_K..Q6_K/IQ4_XS→Q8_K (reference §4 "vec_dot
 * pairing"). The scalar reference kernels (ref.c, quant_ref*.c) are always compiled and are the oracle for
 * faster variants.
 */
#ifndef DS2_KERNELS_H
#define DS2_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../dtype.h"
#include "../threadpool.h"

typedef struct ds2_type_traits {
    int32_t vec_dot_type; /* activation type a row of this type is dotted with */
    /* y[0..n) = dequantized x; n is a multiple of the block size */
    void (*to_float)(const void *x, float *y, int64_t n);
    /* quantize/round n floats into this type's blocks (set for activation types: F32, F16, BF16, Q8_0, Q8_1, Q8_K;
     * Q4_0 has one too, for tests) */
    void (*from_float)(const float *x, void *y, int64_t n);
    /* *s = dot(w[0..n), a[0..n)) with w of this type and a of vec_dot_type */
    void (*vec_dot)(int64_t n, float *s, const void *w, const void *a);
} ds2_type_traits;

/* NULL if this build has no kernels for `type` (the binder reports DS2_E_UNSUPPORTED_DTYPE). */
const ds2_type_traits *ds2_type_traits_get(int32_t type);
/* The interleaved weight layout (repack.c): a matrix's rows in groups of 4 occupy the same bytes as row-major,
 * but block by block — block ib of row 4g+k at W + 4g·row_bytes + (4·ib + k)·block_bytes — so the four-row
 * kernels read one forward stream instead of four (wasm has no prefetch instruction, and four short streams
 * defeat the hardware prefetchers). Rows past the last multiple of 4 stay row-major. The matrix products below
 * take such a matrix as wtype | DS2_TYPE_X4; any range of rows they are given must then start on a multiple
 * of 4 and end on one or at the matrix's last row. */
#define DS2_TYPE_X4 0x10000
/* Optional four-row form of `type`'s vec_dot in the active kernel set (NULL if none): s[k] = vec_dot of row k
 * with a, k = 0..3, where block ib of row k is at (char *)w + k·w_stride + ib·w_bstep — row-major rows are
 * (row_bytes, block_bytes), an interleaved group (block_bytes, 4·block_bytes). Bit-identical to four vec_dot
 * calls (SIMD sets interleave the rows to hide the latency of each row's sequential sum). */
typedef void (*ds2_vec_dot_x4_fn)(int64_t n, float *s, const void *w, size_t w_stride, size_t w_bstep, const void *a);
ds2_vec_dot_x4_fn ds2_vec_dot_x4_get(int32_t type);
/* Whether the active kernel set reads `type` faster in the interleaved layout (it has a four-row form that
 * gains from one stream per group). */
int ds2_repack_x4_wanted(int32_t type);
/* Rewrites n_mat row-major matrices (each rows × cols of type, one after another) in place into the interleaved
 * layout. 1 on success, 0 if the type is unknown or the 4-row scratch could not be allocated (then nothing has
 * changed). */
int ds2_repack_x4(void *W, int32_t type, int64_t cols, int64_t rows, int64_t n_mat);
/* Optional multi-token form (GEMM) of `type`'s vec_dot in the active kernel set (NULL if none): for r < nr,
 * t < nt, y[t·ldy + r] = vec_dot(n, weight row r, activation row (char *)a + t·a_stride), row r of w at
 * (char *)w + r·w_stride (row-major) or in the interleaved layout if x4, bit-identical to the vec_dot call
 * (SIMD sets unpack each weight row once per call and reuse it for every token; see gemm_pack.h). Any nr,
 * nt ≥ 1: tails are handled inside. */
typedef void (*ds2_gemm_fn)(int64_t n, float *y, int64_t ldy, const void *w, size_t w_stride, int x4, int64_t nr,
                            const void *a, size_t a_stride, int64_t nt);
ds2_gemm_fn ds2_gemm_get(int32_t type);
/* Traits of an activation (partner) type — one whose from_float is set, including the partner-only Q8_1 and
 * Q8_K that ds2_type_traits_get does not return (they have no vec_dot); NULL otherwise. */
const ds2_type_traits *ds2_type_traits_act_get(int32_t type);

/* ---- matrix products ----------------------------------------------------------------------------------
 * W: `rows` rows of `cols` elements of type wtype, row r at (char *)W + r·ds2_row_bytes(wtype, cols).
 * x: n_tok rows of cols floats (row stride cols). y: n_tok rows of `rows` floats (row stride ldy ≥ rows).
 * y[t·ldy + r] = Σ_i W[r][i] · x[t][i], with x rounded to the partner type first. */

/* Bytes of scratch needed to hold n_tok activation rows of `cols` elements in wtype's partner type. */
size_t ds2_matmul_qbuf_bytes(int32_t wtype, int64_t cols, int64_t n_tok);
/* Round/quantize x into qx (partner type of wtype); qx rows have stride ds2_row_bytes(partner, cols). */
void ds2_quantize_act(int32_t wtype, const float *x, int64_t cols, int64_t n_tok, void *qx);
/* y from pre-quantized activations (lets gate/up projections share one quantization). Work is split over
 * the pool by rows of W. */
void ds2_matmul_q(ds2_pool *pool, float *y, int64_t ldy, const void *W, int32_t wtype, const void *qx,
                  int64_t cols, int64_t rows, int64_t n_tok);
/* Convenience: quantize x into qbuf (ds2_matmul_qbuf_bytes bytes) then ds2_matmul_q. */
void ds2_matmul(ds2_pool *pool, float *y, int64_t ldy, const void *W, int32_t wtype, const float *x,
                int64_t cols, int64_t rows, int64_t n_tok, void *qbuf);
/* The same product for one thread's share of rows [r0, r1) (for callers that already run inside the pool). */
void ds2_matmul_q_rows(float *y, int64_t ldy, const void *W, int32_t wtype, const void *qx, int64_t cols,
                       int64_t r0, int64_t r1, int64_t n_tok);

/* One token's rows [r0, r1) of W (row stride wrb, blocks of bb bytes; whole 4-row groups interleaved if x4, r0
 * then a multiple of 4): yt[r] = vec_dot(row r, at) — the four-row form on each group of 4 where one is given,
 * vec_dot on the rest. The one row loop of ds2_matmul_q_rows and the GEMM forms' untiled rows. */
void ds2_dot_rows(void (*vec_dot)(int64_t, float *, const void *, const void *), ds2_vec_dot_x4_fn vec_dot_x4, int x4,
                  size_t bb, size_t wrb, int64_t cols, float *yt, const void *W, int64_t r0, int64_t r1, const void *at);

/* Dequantize row r of a row-major W (cols elements) into y (not for the interleaved layout). */
void ds2_get_row(const void *W, int32_t wtype, int64_t cols, int64_t r, float *y);
/* the same for row r of a stack of matrices of `rows` rows each whose layout mtype may be interleaved
 * (DS2_TYPE_X4: each matrix's groups of 4 rows block by block, its last rows % 4 rows row-major; repack.c) */
void ds2_get_row_of(const void *W, int32_t mtype, int64_t cols, int64_t rows, int64_t r, float *y);

/* ---- vector ops (f32) --------------------------------------------------------------------------------- */
/* y = w ⊙ x / sqrt(mean(x²) + eps)   (x, y may alias) */
void ds2_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps);
/* in place: x = exp(x - max) / Σ exp(x - max), rounded as ggml's soft_max of one row of n elements */
void ds2_softmax(float *x, int64_t n);
/* the same for the first n entries of a row of n_row ≥ n entries whose entries n.. are masked (−∞), as the
 * rows of llama.cpp's kq_soft_max over a padded KV cache (n_row a multiple of 4 gives the same bits for any
 * padding); only x[0..n) is read and written */
void ds2_softmax_row(float *x, int64_t n, int64_t n_row);
/* out[i] = silu(g[i]) · u[i],  silu(z) = z / (1 + e^-z), for ONE row of n (ggml groups a row by 4; out may
 * alias g or u) */
void ds2_swiglu(float *out, const float *g, const float *u, int64_t n);
/* rows × cols of the above, row by row */
void ds2_swiglu_rows(float *out, const float *g, const float *u, int64_t rows, int64_t cols);
float ds2_dot_f32(int64_t n, const float *a, const float *b);
float ds2_dot_f16_f32(int64_t n, const uint16_t *a, const float *b); /* a: IEEE half */
/* acc + Σ (double)(a[i]·b[i]) (products in float), unrounded: one dot product over concatenated segments */
double ds2_dot_f32_acc(int64_t n, const float *a, const float *b, double acc);
double ds2_dot_f16_f32_acc(int64_t n, const uint16_t *a, const float *b, double acc);
double ds2_dot_f16_f16_acc(int64_t n, const uint16_t *a, const uint16_t *b, double acc);
/* Index of the first largest of x[0..n) by `>` (NaNs never win; x[0] NaN gives 0; n ≤ 0 gives 0): a greedy pick */
int64_t ds2_argmax_f32(const float *x, int64_t n);
void ds2_axpy_f32(int64_t n, float alpha, const float *x, float *y);   /* y += alpha·x */
void ds2_axpy_f16(int64_t n, float alpha, const uint16_t *x, float *y);
void ds2_f32_to_f16_row(const float *x, uint16_t *y, int64_t n);
void ds2_f16_to_f32_row(const uint16_t *x, float *y, int64_t n);

/* ---- scalar conversions ------------------------------------------------------------------------------- */
float ds2_f16_to_f32(uint16_t h);
uint16_t ds2_f32_to_f16(float f);   /* round to nearest even, as the F16C instruction */
float ds2_bf16_to_f32(uint16_t h);
uint16_t ds2_f32_to_bf16(float f);  /* round to nearest even; NaN stays NaN */

#endif
