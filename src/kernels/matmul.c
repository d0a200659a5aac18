/* matmul.c — y = W·x through the traits table: activations rounded to the weight type's partner type, one
 * vec_dot per output element, rows of W split across the thread pool.
 *
 * Every y element is one vec_dot call on the same inputs whatever the thread count or tiling, so results are
 * bit-identical for any number of threads. For n_tok > 1 rows are processed in blocks small enough to stay in
 * cache, each block against every token, so W is streamed from memory once per call. Where the kernel set has
 * a multi-token form for the type (ds2_gemm_get) a thread's whole share of rows goes to it instead: it packs
 * the activations and each weight row once and computes 4-row × 2-token tiles with vec_dot's bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

/* Target bytes of W per row block in the multi-token loop (fits L1/L2 with the activation rows). */
#define ROW_BLOCK_BYTES (16 * 1024)
/* Below this many multiply-adds the product runs on the calling thread (dispatch costs more). */
#define MIN_PARALLEL_WORK (32 * 1024)

size_t ds2_matmul_qbuf_bytes(int32_t wtype, int64_t cols, int64_t n_tok) {
    const ds2_type_traits *tr = ds2_type_traits_get(wtype & ~DS2_TYPE_X4);
    if (!tr || n_tok < 0) return 0;
    return ds2_row_bytes(tr->vec_dot_type, cols) * (size_t)n_tok;
}

void ds2_quantize_act(int32_t wtype, const float *x, int64_t cols, int64_t n_tok, void *qx) {
    const ds2_type_traits *tr = ds2_type_traits_get(wtype & ~DS2_TYPE_X4);
    if (!tr) return;
    const ds2_type_traits *pt = ds2_type_traits_act_get(tr->vec_dot_type);
    const size_t arb = ds2_row_bytes(tr->vec_dot_type, cols);
    for (int64_t t = 0; t < n_tok; t++) pt->from_float(x + t * cols, (char *)qx + (size_t)t * arb, cols);
}

void ds2_dot_rows(void (*vec_dot)(int64_t, float *, const void *, const void *), ds2_vec_dot_x4_fn vec_dot_x4, int x4,
                  size_t bb, size_t wrb, int64_t cols, float *yt, const void *W, int64_t r0, int64_t r1, const void *at) {
    const char *w = (const char *)W;
    int64_t r = r0;
    if (vec_dot_x4)
        for (; r + 4 <= r1; r += 4) vec_dot_x4(cols, &yt[r], w + (size_t)r * wrb, x4 ? bb : wrb, x4 ? 4 * bb : bb, at);
    for (; r < r1; r++) vec_dot(cols, &yt[r], w + (size_t)r * wrb, at);
}

/* An interleaved matrix under a kernel set without a four-row form for its type (the reference set, chosen after
 * the model was loaded): each row of a group gathered into a row-major scratch row for vec_dot. */
static void rows_deinterleaved(const ds2_type_traits *tr, float *y, int64_t ldy, const char *w, size_t bb, size_t wrb,
                               const char *a, size_t arb, int64_t cols, int64_t r0, int64_t r1, int64_t n_tok) {
    int64_t r = r0;
    unsigned char *row = r + 4 <= r1 ? malloc(wrb) : NULL;
    for (; r + 4 <= r1; r += 4) {
        const char *g = w + (size_t)r * wrb;
        for (size_t k = 0; k < 4; k++) {
            if (!row) { /* a few KiB could not be had: the failure shows in the outputs, never a wrong number */
                for (int64_t t = 0; t < n_tok; t++) y[t * ldy + r + (int64_t)k] = NAN;
                continue;
            }
            for (size_t ib = 0; ib < wrb / bb; ib++) memcpy(row + ib * bb, g + (4 * ib + k) * bb, bb);
            for (int64_t t = 0; t < n_tok; t++) tr->vec_dot(cols, &y[t * ldy + r + (int64_t)k], row, a + (size_t)t * arb);
        }
    }
    free(row);
    for (; r < r1; r++) /* the row-major tail */
        for (int64_t t = 0; t < n_tok; t++) tr->vec_dot(cols, &y[t * ldy + r], w + (size_t)r * wrb, a + (size_t)t * arb);
}

void ds2_matmul_q_rows(float *y, int64_t ldy, const void *W, int32_t wtype, const void *qx, int64_t cols,
                       int64_t r0, int64_t r1, int64_t n_tok) {
    const int x4 = (wtype & DS2_TYPE_X4) != 0;
    wtype &= ~DS2_TYPE_X4;
    const ds2_type_traits *tr = ds2_type_traits_get(wtype);
    if (!tr || r1 <= r0 || n_tok <= 0) return;
    const size_t wrb = ds2_row_bytes(wtype, cols);
    const size_t bb = (size_t)ds2_dtype_info_get(wtype)->block_bytes;
    const size_t arb = ds2_row_bytes(tr->vec_dot_type, cols);
    const char *w = (const char *)W;
    const char *a = (const char *)qx;
    const ds2_vec_dot_x4_fn vec_dot_x4 = ds2_vec_dot_x4_get(wtype);
    if (x4 && !vec_dot_x4) {
        rows_deinterleaved(tr, y, ldy, w, bb, wrb, a, arb, cols, r0, r1, n_tok);
        return;
    }

    const ds2_gemm_fn gemm = ds2_gemm_get(wtype);
    /* One token of F16 goes to the multi-token form too: it widens the activations to double once per call, so
     * each row's dot converts only its own halves (the vec_dot converts both operands per row): natively 14 →
     * 21 GB/s from cache. The quantized types' multi-token forms repack weight rows, which one token cannot
     * amortize; they have four-row decode forms instead. */
    if (n_tok == 1 && !(wtype == DS2_F16 && gemm)) {
        ds2_dot_rows(tr->vec_dot, vec_dot_x4, x4, bb, wrb, cols, y, w, r0, r1, a);
        return;
    }
    if (gemm) { /* all of this share at once: it packs the activations once and each weight row once */
        gemm(cols, y + r0, ldy, w + (size_t)r0 * wrb, wrb, x4, r1 - r0, a, arb, n_tok);
        return;
    }
    int64_t rb = wrb ? (int64_t)(ROW_BLOCK_BYTES / wrb) & ~(int64_t)3 : 4; /* whole 4-row groups */
    if (rb < 4) rb = 4;
    for (int64_t b0 = r0; b0 < r1; b0 += rb) {
        const int64_t b1 = b0 + rb < r1 ? b0 + rb : r1;
        for (int64_t t = 0; t < n_tok; t++)
            ds2_dot_rows(tr->vec_dot, vec_dot_x4, x4, bb, wrb, cols, y + t * ldy, w, b0, b1, a + (size_t)t * arb);
    }
}

/* A product's rows go out in chunks of whole 4-row groups that the threads take in turn (ds2_pool_take_chunk):
 * the four-row kernels cover every chunk, and an interleaved matrix (kernels.h DS2_TYPE_X4) can only be split
 * there. Which thread computes a row does not change its value. */
typedef struct {
    float *y;
    int64_t ldy;
    const void *W;
    int32_t wtype;
    const void *qx;
    int64_t cols, rows, n_tok;
    int64_t n_chunks;
    atomic_int next; /* the next chunk to take */
} matmul_job;

static void matmul_worker(void *ctx, int32_t ith, int32_t nth) {
    (void)ith, (void)nth;
    matmul_job *j = (matmul_job *)ctx;
    for (int64_t g0, g1; ds2_pool_take_chunk(&j->next, j->n_chunks, (j->rows + 3) / 4, &g0, &g1);)
        ds2_matmul_q_rows(j->y, j->ldy, j->W, j->wtype, j->qx, j->cols, 4 * g0, 4 * g1 < j->rows ? 4 * g1 : j->rows,
                          j->n_tok);
}

void ds2_matmul_q(ds2_pool *pool, float *y, int64_t ldy, const void *W, int32_t wtype, const void *qx,
                  int64_t cols, int64_t rows, int64_t n_tok) {
    if (rows <= 0 || n_tok <= 0) return;
    const int32_t nth = pool ? ds2_pool_n_threads(pool) : 1;
    if (nth <= 1 || rows < 2 || rows * cols * n_tok < MIN_PARALLEL_WORK) {
        ds2_matmul_q_rows(y, ldy, W, wtype, qx, cols, 0, rows, n_tok);
        return;
    }
    const int64_t groups = (rows + 3) / 4, n_chunks = (int64_t)nth * DS2_POOL_CHUNKS_PER_THREAD;
    matmul_job job = {y, ldy, W, wtype, qx, cols, rows, n_tok, n_chunks < groups ? n_chunks : groups, 0};
    atomic_init(&job.next, 0);
    ds2_pool_run(pool, matmul_worker, &job);
}

void ds2_matmul(ds2_pool *pool, float *y, int64_t ldy, const void *W, int32_t wtype, const float *x,
                int64_t cols, int64_t rows, int64_t n_tok, void *qbuf) {
    const ds2_type_traits *tr = ds2_type_traits_get(wtype & ~DS2_TYPE_X4);
    if (!tr) return;
    const void *qx = x; /* an F32 partner needs no rounding: use x in place */
    if (tr->vec_dot_type != DS2_F32) {
        ds2_quantize_act(wtype, x, cols, n_tok, qbuf);
        qx = qbuf;
    }
    ds2_matmul_q(pool, y, ldy, W, wtype, qx, cols, rows, n_tok);
}

void ds2_get_row(const void *W, int32_t wtype, int64_t cols, int64_t r, float *y) {
    const ds2_type_traits *tr = ds2_type_traits_get(wtype);
    if (!tr) return;
    tr->to_float((const char *)W + (size_t)r * ds2_row_bytes(wtype, cols), y, cols);
}

void ds2_get_row_of(const void *W, int32_t mtype, int64_t cols, int64_t rows, int64_t r, float *y) {
    const int32_t wtype = mtype & ~DS2_TYPE_X4;
    const int64_t i = rows > 0 ? r % rows : 0; /* row i of its matrix */
    if (!(mtype & DS2_TYPE_X4) || i >= rows / 4 * 4) {
        ds2_get_row(W, wtype, cols, r, y);
        return;
    }
    const ds2_type_traits *tr = ds2_type_traits_get(wtype);
    const ds2_dtype_info *di = ds2_dtype_info_get(wtype);
    if (!tr || !di) return;
    const size_t wrb = ds2_row_bytes(wtype, cols), bb = (size_t)di->block_bytes;
    const char *g = (const char *)W + (size_t)(r - i % 4) * wrb; /* the group's first row */
    for (size_t ib = 0; ib < wrb / bb; ib++)
        tr->to_float(g + (4 * ib + (size_t)(i % 4)) * bb, y + (int64_t)ib * di->block_elems, di->block_elems);
}
