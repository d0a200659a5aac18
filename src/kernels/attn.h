/* attn.h — multi-query attention over shared key rows (internal to the engine; nothing here knows a model).
 *
 * All heads attend over the SAME cached rows. Row j is stored in two segments, seg1 (d1 elements, at
 * k1 + j·d1) and seg2 (d2 elements, at k2 + j·d2), f32 or IEEE half; the key is their concatenation
 * [seg1 | seg2] and the value is seg1:
 *   s[h][j] = scale · (q1_h · seg1_j + q2_h · seg2_j),   p[h] = softmax_j(s[h]),   o_h = Σ_j p[h][j] · seg1_j
 * for j < n_kv. (A latent-cache attention maps onto this with seg1 = latent, seg2 = rope key.)
 *
 * Variants (picked with the kernel set, dtype_traits.c ds2_mqa):
 *  - ds2_mqa_ref (attn.c): head by head, llama.cpp's x64 arithmetic bit for bit — with an f16 cache the query
 *    and the probabilities are rounded to f16 as ggml's mul_mat does for an F16 operand; products in float
 *    summed in double, in order; softmax rows padded to a multiple of 4 (llama.cpp's padded KV cache).
 *  - fast (attn_avx2.c, attn_simd128.c, driven by ds2_mqa_tiled in attn.c): the SAME bits as the reference
 *    (same float products, same double sums in the same order), computed with SIMD lanes over independent
 *    sums — heads for the scores, columns for the values — and each tile of rows converted to f32 once for
 *    all heads of the call instead of once per head and element.
 * Both give head h the same bits whatever range [h0, h1) it is computed in, so a split of the heads over
 * threads does not change results.
 */
#ifndef DS2_KERNELS_ATTN_H
#define DS2_KERNELS_ATTN_H

#include <stddef.h>
#include <stdint.h>

typedef struct ds2_mqa_args {
    int64_t n_head;        /* H (heads [h0, h1) of a call must lie in [0, H)) */
    int64_t d1, d2;        /* segment widths; d1 ≥ 1, d2 ≥ 0 */
    int32_t n_kv;          /* positions 0 .. n_kv-1, n_kv ≥ 1 */
    int f16;               /* rows hold IEEE halves (else f32) */
    const void *k1, *k2;   /* row j: (elements) k1 + j·d1, k2 + j·d2 */
    const float *q1, *q2;  /* head h: q1 + h·ld_q1 (d1 floats), q2 + h·ld_q2 (d2 floats) */
    int64_t ld_q1, ld_q2;
    float scale;
    float *o;              /* head h: o + h·ld_o (d1 floats) */
    int64_t ld_o;
} ds2_mqa_args;

/* Floats of scratch one call of any variant needs for up to n_head heads and n_kv_max positions. */
size_t ds2_mqa_scratch_floats(int64_t n_head, int64_t d1, int64_t d2, int32_t n_kv_max);

/* Heads [h0, h1) of the attention above with the active kernel set (dtype_traits.c). scratch: as above,
 * 32-byte aligned is best; one per concurrent caller. */
void ds2_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch);

/* The scalar reference. */
void ds2_mqa_ref(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch);

/* All heads of one call by nth cooperating threads (this is thread ith; every thread calls it with the same a):
 * with a SIMD set and f16 rows, positions are split for the scores, heads for the softmax and columns for the
 * values, so each cache row is converted once in all (a split over heads converts every row in every thread);
 * otherwise heads are split. barrier(barrier_ctx) separates the phases: every thread calls it equally often.
 * shared: ds2_mqa_shared_floats floats, the same buffer for all threads; scratch: per thread, as ds2_mqa.
 * Same bits as ds2_mqa. */
size_t ds2_mqa_shared_floats(int64_t n_head, int32_t n_kv_max);
void ds2_mqa_mt(const ds2_mqa_args *a, int32_t ith, int32_t nth, float *shared, float *scratch,
                void (*barrier)(void *barrier_ctx), void *barrier_ctx);

/* ---- the tiled fast form: the instruction-set files give three tile primitives, attn.c drives them -------
 * Tile: nj ≤ DS2_MQA_TILE rows of ldt floats each (ldt a multiple of 8), row = [seg1 | seg2 | padding]. */
enum { DS2_MQA_TILE = 32 };
typedef struct ds2_mqa_ops {
    /* tile[jj][0..d1+d2) = f32 of row j0+jj (exact), jj < nj; with seg2 = 0 only [0, d1) is written (values) */
    void (*load_tile)(const ds2_mqa_args *a, int32_t j0, int32_t nj, float *tile, int64_t ldt, int seg2);
    /* s[h·lds + jj] = (float) Σ_{i<D, in order} (double)(qT[i·nhp + h]·tile[jj·ldt + i]) (float products) for
     * h < nh ≤ nhp (a multiple of 8; qT is zero for heads nh..nhp), jj < nj */
    void (*scores)(const float *tile, int32_t nj, int64_t ldt, int64_t D, const float *qT, int64_t nhp, int64_t nh,
                   float *s, int64_t lds);
    /* acc[h·ldo + c] += Σ_{jj<nj, in order} (double)(tile[jj·ldt + c]·p[h·lds + jj]) for h < nh, c < nc (a
     * multiple of 8, ≤ ldt; columns past d1 are don't-care) */
    void (*accum)(const float *tile, int32_t nj, int64_t ldt, const float *p, int64_t lds, int64_t nh, double *acc,
                  int64_t ldo, int64_t nc);
    /* x[i] = f32(f16(x[i])) (round to nearest even) in place, i < n; NULL: the scalar conversion */
    void (*round_f16)(float *x, int64_t n);
    /* optional (f16 rows): the same three on doubles — tile and qT widened exactly, products of halves are exact,
     * so scores_d / accum_d sum a·b with one double FMA (or exact multiply + add) per product (attn.c) */
    void (*load_tile_d)(const ds2_mqa_args *a, int32_t j0, int32_t nj, double *tile, int64_t ldt, int seg2);
    void (*scores_d)(const double *tile, int32_t nj, int64_t ldt, int64_t D, const double *qT, int64_t nhp,
                     int64_t nh, float *s, int64_t lds);
    void (*accum_d)(const double *tile, int32_t nj, int64_t ldt, const double *p, int64_t lds, int64_t nh,
                    double *acc, int64_t ldo, int64_t nc); /* p: the probabilities widened to double */
    /* tile[jj][c0..c1) = columns [c0, c1) of seg1 of row j0+jj widened to double, zero past d1 (c0 a multiple of 8,
     * c1 ≤ round8(d1)) */
    void (*load_cols_d)(const ds2_mqa_args *a, int32_t j0, int32_t nj, int64_t c0, int64_t c1, double *tile,
                        int64_t ldt);
} ds2_mqa_ops;
/* The active kernel set's tiled primitives; NULL for the reference set (dtype_traits.c). */
const ds2_mqa_ops *ds2_mqa_ops_get(void);
void ds2_mqa_tiled(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch, const ds2_mqa_ops *ops);

#if defined(DS2_HAVE_AVX2)
void ds2_avx2_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch);
extern const ds2_mqa_ops ds2_avx2_mqa_ops;
#endif
#if defined(__wasm_simd128__)
void ds2_simd128_mqa(const ds2_mqa_args *a, int64_t h0, int64_t h1, float *scratch);
extern const ds2_mqa_ops ds2_simd128_mqa_ops;
#endif

#endif
