/* stream.c — how fast the decode kernels stream a model's weights, from memory and from cache (bench/run.mjs).
 *
 *   ds2-stream -m model.gguf [--threads 1,2] [--mb 256]
 *
 * A decoded token is one matrix-vector product per weight matrix, and on a big model those products read the
 * weights from DRAM. Whether a second thread can make decode faster therefore depends on how much more memory
 * bandwidth two threads draw than one — a property of the machine, not of the engine. This probe measures it
 * with the engine's own decode path (ds2_matmul on the thread pool, interleaved layout where the kernel set
 * wants it) on the file's own weights: for each weight type in the file, the largest matrix of that type is
 * tiled into a buffer of --mb MiB (well past the last-level cache) and multiplied with one token, best of a few
 * passes; the same product on a slice of ~1 MiB repeated in place gives the rate with the weights in cache (the
 * kernel's compute ceiling). Prints one line per type and thread count:
 *   Q8_0 threads 1: memory 25.1 GB/s, cache 34.6 GB/s (blk.1.ffn_up_exps.weight, 1024 x 16384)
 * If memory ÷ cache is well below 1, decode of that type is bound by memory, and N threads cannot beat 1 thread
 * by more than the ratio of their memory rates (plus the share of the step that is not weight streaming).
 */
/* clock_gettime is POSIX, not C11 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds2.h"
#include "dtype.h"
#include "gguf.h"
#include "kernels/kernels.h"
#include "threadpool.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int die(const char *what, const ds2_error *e) {
    fprintf(stderr, "ds2-stream: %s%s%s\n", what, e ? ": " : "", e ? e->message : "");
    return 1;
}

static ds2_gguf *read_gguf(const char *path, ds2_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->message, sizeof err->message, "cannot open %s", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    ds2_gguf *g = NULL;
    if (ds2_gguf_create(size > 0 ? (uint64_t)size : 0, &g, err) != DS2_OK) {
        fclose(f);
        return NULL;
    }
    static char buf[1 << 20];
    size_t n;
    ds2_status st = DS2_OK;
    while (st == DS2_OK && (n = fread(buf, 1, sizeof buf, f)) > 0) st = ds2_gguf_feed(g, buf, n, err);
    fclose(f);
    if (st == DS2_OK) st = ds2_gguf_finish(g, err);
    if (st != DS2_OK) {
        ds2_gguf_free(g);
        return NULL;
    }
    return g;
}

/* Bytes per second of the best of `passes` passes (after one to warm pages and pool), each one product per
 * matrix: n_mat matrices of rows × cols, `stride` bytes apart (0: the same matrix again). */
static double rate(ds2_pool *pool, const char *W, size_t stride, int64_t n_mat, int32_t wt, int64_t cols, int64_t rows,
                   const float *x, float *y, void *qbuf, int passes) {
    double best = 1e30;
    for (int p = 0; p <= passes; p++) {
        const double t = now_s();
        for (int64_t m = 0; m < n_mat; m++) ds2_matmul(pool, y, rows, W + (size_t)m * stride, wt, x, cols, rows, 1, qbuf);
        const double dt = now_s() - t;
        if (p > 0 && dt < best) best = dt;
    }
    return (double)ds2_row_bytes(wt & ~DS2_TYPE_X4, cols) * (double)rows * (double)n_mat / best;
}

static int probe(const ds2_gguf_tensor *t, const int32_t *threads, int n_threads, size_t mb) {
    const int64_t cols = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3];
    const size_t rb = ds2_row_bytes(t->type, cols), bytes = rb * (size_t)rows;
    if (!rb || !ds2_type_traits_get(t->type)) {
        fprintf(stderr, "ds2-stream: %s: no kernel for type %s, skipped\n", t->name, ds2_dtype_name(t->type));
        return 0;
    }
    const int64_t n_mat = (int64_t)((mb << 20) / bytes) + 1;
    char *big = ds2_arena_alloc(bytes * (size_t)n_mat, 64);
    float *x = malloc(sizeof(float) * (size_t)cols), *y = malloc(sizeof(float) * (size_t)rows);
    void *qbuf = malloc(ds2_matmul_qbuf_bytes(t->type, cols, 1));
    if (!big || !x || !y || !qbuf) {
        fprintf(stderr, "ds2-stream: out of memory for %zu MiB of %s\n", (bytes * (size_t)n_mat) >> 20, t->name);
        ds2_arena_free(big), free(x), free(y), free(qbuf);
        return 1;
    }
    for (int64_t m = 0; m < n_mat; m++) memcpy(big + (size_t)m * bytes, t->data, bytes);
    int32_t wt = t->type;
    /* the layout the engine uses for this type (weights.c repacks at load the same way) */
    if (ds2_repack_x4_wanted(t->type) && ds2_repack_x4(big, t->type, cols, rows, n_mat)) wt |= DS2_TYPE_X4;
    uint32_t s = 12345;
    for (int64_t i = 0; i < cols; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int32_t)(s >> 8) % 2001 - 1000) / 1000.0f;
    }
    /* ~1 MiB of whole 4-row groups: stays in L2 between passes */
    int64_t small_rows = ((int64_t)(1 << 20) / (int64_t)rb) & ~(int64_t)3;
    if (small_rows < 4) small_rows = 4;
    if (small_rows > rows) small_rows = rows;
    const int64_t small_reps = (int64_t)((64u << 20) / ((size_t)small_rows * rb)) + 1;
    for (int i = 0; i < n_threads; i++) {
        ds2_pool *pool = NULL;
        ds2_error err = {0};
        if (ds2_pool_create(threads[i], &pool, &err) != DS2_OK) {
            ds2_arena_free(big), free(x), free(y), free(qbuf);
            return die("thread pool", &err);
        }
        /* three rounds taking turns, best of each: on a shared VM a core's speed moves in steps of seconds */
        double mem = 0, cache = 0;
        for (int round = 0; round < 3; round++) {
            const double m = rate(pool, big, bytes, n_mat, wt, cols, rows, x, y, qbuf, 2);
            const double c = rate(pool, big, 0, small_reps, wt, cols, small_rows, x, y, qbuf, 3);
            if (m > mem) mem = m;
            if (c > cache) cache = c;
        }
        printf("%s threads %d: memory %.1f GB/s, cache %.1f GB/s (%s, %lld x %lld)\n", ds2_dtype_name(t->type),
               (int)threads[i], mem / 1e9, cache / 1e9, t->name, (long long)cols, (long long)rows);
        fflush(stdout);
        ds2_pool_free(pool);
    }
    ds2_arena_free(big), free(x), free(y), free(qbuf);
    return 0;
}

int main(int argc, char **argv) {
    const char *model = NULL;
    int32_t threads[16] = {1, 2};
    int n_threads = 2;
    long mb = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-m") && v) model = v, i++;
        else if (!strcmp(a, "--mb") && v) mb = strtol(v, NULL, 10), i++;
        else if (!strcmp(a, "--threads") && v) {
            n_threads = 0;
            char *end = (char *)v;
            do threads[n_threads++] = (int32_t)strtol(end + (end != v), &end, 10);
            while (*end == ',' && n_threads < 16);
            if (*end) return die("--threads: a comma-separated list of counts, e.g. 1,2", NULL);
            i++;
        } else {
            fprintf(stderr, "usage: ds2-stream -m model.gguf [--threads 1,2] [--mb 256]\n");
            return 2;
        }
    }
    if (!model) return die("-m model.gguf is required", NULL);
    if (mb < 1 || mb > 65536) return die("--mb must be 1..65536", NULL);
    for (int i = 0; i < n_threads; i++)
        if (threads[i] < 1 || threads[i] > 256) return die("--threads: each count must be 1..256", NULL);
    ds2_error err = {0};
    ds2_gguf *g = read_gguf(model, &err);
    if (!g) return die(model, &err);
    /* the largest matrix of each type a decode step reads in full (not the embedding: one row per token; not the
     * small F32 router, whose products are too short to measure a stream) */
    const ds2_gguf_tensor *pick[64] = {0};
    for (int64_t i = 0; i < ds2_gguf_n_tensors(g); i++) {
        const ds2_gguf_tensor *t = ds2_gguf_tensor_at(g, i);
        if (t->ne[1] < 4 || t->nbytes < (1u << 20) || !strcmp(t->name, "token_embd.weight") || t->type < 0 ||
            t->type >= 64)
            continue;
        if (!pick[t->type] || t->nbytes > pick[t->type]->nbytes) pick[t->type] = t;
    }
    int rc = 0;
    for (int ty = 0; ty < 64 && !rc; ty++)
        if (pick[ty]) rc = probe(pick[ty], threads, n_threads, (size_t)mb);
    ds2_gguf_free(g);
    return rc;
}
