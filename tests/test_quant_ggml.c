/* test_quant_ggml.c — the scalar reference kernels against llama.cpp's own portable x86-64 CPU build, kernel by
 * kernel: libggml-cpu-x64.so (the oracle's CPU variant) and libggml-base.so from the pinned node-llama-cpp npm
 * package are loaded with dlopen and fed the same random blocks; results must be bit-identical:
 *  - activation quantizers (Q8_0, Q8_1, Q8_K from_float of ggml_get_type_traits_cpu): identical bytes;
 *  - vec_dot of every weight type against the same partner-type bytes: identical float;
 *  - dequantization (ggml_get_type_traits()->to_float): identical floats;
 *  - F32 / F16 / BF16: from_float rounding and vec_dot, any length.
 * The end-to-end check (whole models) is tests/oracle/compare.mjs; this one covers corner cases random models
 * rarely hit (huge/tiny scales, all-zero blocks, clamped Q8_K values, long rows).
 * Without the package (npm ci not run) or off x86-64 Linux it exits 77, which ctest reports as skipped. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "kernels/kernels.h"
#include "kernels/ref.h"
#include "test.h"

#if defined(__linux__) && defined(__x86_64__)
#include <dlfcn.h>
#define HAVE_GGML 1
#else
#define HAVE_GGML 0
#endif

/* ggml ABI of the pinned llama.cpp (ggml.h / ggml-cpu.h): */
typedef void (*ggml_to_float_t)(const void *x, float *y, int64_t k);
typedef void (*ggml_from_float_t)(const float *x, void *y, int64_t k);
typedef void (*ggml_vec_dot_t)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by,
                               int nrc);
struct ggml_type_traits_cpu {
    ggml_from_float_t from_float;
    ggml_vec_dot_t vec_dot;
    int vec_dot_type; /* enum ggml_type */
    int64_t nrows;
};
struct ggml_type_traits {
    const char *type_name;
    int64_t blck_size;
    int64_t blck_size_interleave;
    size_t type_size;
    _Bool is_quantized;
    ggml_to_float_t to_float;
    ggml_from_float_t from_float_ref;
};

static const struct ggml_type_traits_cpu *(*g_traits_cpu)(int type);
static const struct ggml_type_traits *(*g_traits)(int type);

static int load_ggml(void) {
#if HAVE_GGML
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64", DS2_SOURCE_DIR);
    snprintf(path, sizeof path, "%s/libggml-cpu-x64.so", dir);
    void *cpu = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    snprintf(path, sizeof path, "%s/libggml-base.so", dir);
    void *base = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!cpu || !base) {
        printf("  SKIPPED: cannot load llama.cpp's x64 CPU build (%s); run npm ci\n", dlerror());
        return 0;
    }
    void (*init)(void) = (void (*)(void))dlsym(cpu, "ggml_cpu_init");
    g_traits_cpu = (const struct ggml_type_traits_cpu *(*)(int))dlsym(cpu, "ggml_get_type_traits_cpu");
    g_traits = (const struct ggml_type_traits *(*)(int))dlsym(base, "ggml_get_type_traits");
    if (!init || !g_traits_cpu || !g_traits) {
        printf("  SKIPPED: ggml symbols not found\n");
        return 0;
    }
    init(); /* fp16 tables */
    return 1;
#else
    printf("  SKIPPED: not x86-64 Linux\n");
    return 0;
#endif
}

#include "rng.h"

typedef struct {
    int32_t type;
    int f16_at[2];
} qtype;
static const qtype k_types[] = {
    {DS2_Q8_0, {0, -1}},  {DS2_Q4_0, {0, -1}},  {DS2_Q4_1, {0, 2}},   {DS2_Q5_0, {0, -1}},
    {DS2_Q5_1, {0, 2}},   {DS2_IQ4_NL, {0, -1}}, {DS2_Q2_K, {80, 82}}, {DS2_Q3_K, {108, -1}},
    {DS2_Q4_K, {0, 2}},   {DS2_Q5_K, {0, 2}},   {DS2_Q6_K, {208, -1}}, {DS2_IQ4_XS, {0, -1}},
};
#define N_TYPES (int)(sizeof k_types / sizeof k_types[0])
#define NMAX (256 * 16)

/* Random bytes with f16 scale fields of random sign and magnitude 2^-14 .. 2^2 (some blocks all zero). */
static void random_row(const qtype *qt, uint8_t *row, int64_t n) {
    const ds2_dtype_info *info = ds2_dtype_info_get(qt->type);
    const int64_t nb = n / info->block_elems;
    for (int64_t i = 0; i < nb * info->block_bytes; i++) row[i] = (uint8_t)rng_u64();
    for (int64_t ib = 0; ib < nb; ib++) {
        uint8_t *b = row + ib * info->block_bytes;
        if (rng_unit() < 0.03) {
            memset(b, 0, (size_t)info->block_bytes);
            continue;
        }
        for (int f = 0; f < 2; f++) {
            if (qt->f16_at[f] < 0) continue;
            float v = (float)ldexp(0.5 + rng_unit(), -14 + (int)(rng_u64() % 17));
            if (rng_unit() < 0.3) v = -v;
            const uint16_t h = ds2_f32_to_f16(v);
            b[qt->f16_at[f]] = (uint8_t)(h & 0xff);
            b[qt->f16_at[f] + 1] = (uint8_t)(h >> 8);
        }
    }
}

static void random_act(float *x, int64_t n) {
    const double scale = ldexp(1.0, -12 + (int)(rng_u64() % 20));
    for (int64_t j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < 4; i++) s += rng_unit() - 0.5;
        x[j] = (float)(s * scale * (rng_unit() < 0.02 ? 50.0 : 1.0));
    }
    if (rng_unit() < 0.2)
        for (int64_t j = 0; j < (n < 256 ? n : 256); j++) x[j] = 0.0f;
    if (rng_unit() < 0.2) x[rng_u64() % n] = (rng_unit() < 0.5 ? -1.0f : 1.0f) * (float)(scale * 100.0);
}

static int g_ok;

TEST(activation_quantizers_bitwise) {
    if (!g_ok) return;
    static const int32_t acts[] = {DS2_Q8_0, DS2_Q8_1, DS2_Q8_K};
    for (int i = 0; i < 3; i++) {
        const int32_t t = acts[i];
        int checked = 0;
        for (int rep = 0; rep < 300; rep++) {
            const int64_t n = 256 * (1 + rep % 8);
            float x[NMAX];
            static uint8_t mine[NMAX * 2], theirs[NMAX * 2];
            random_act(x, n);
            const size_t bytes = ds2_row_bytes(t, n);
            memset(mine, 0, bytes);
            memset(theirs, 0, bytes); /* ggml leaves an all-zero Q8_K block's bsums untouched */
            ds2_type_traits_ref_act_get(t)->from_float(x, mine, n);
            g_traits_cpu(t)->from_float(x, theirs, n);
            if (memcmp(mine, theirs, bytes) != 0) {
                size_t k = 0;
                while (mine[k] == theirs[k]) k++;
                FAIL_("%s n=%lld: byte %zu differs (ours 0x%02x, llama.cpp 0x%02x)", ds2_dtype_name(t),
                      (long long)n, k, mine[k], theirs[k]);
            }
            checked++;
        }
        printf("  %s quantizer: %d rows bit-identical to llama.cpp x64\n", ds2_dtype_name(t), checked);
    }
}

TEST(vec_dot_and_dequant_bitwise) {
    if (!g_ok) return;
    for (int i = 0; i < N_TYPES; i++) {
        const qtype *qt = &k_types[i];
        const ds2_type_traits *t = ds2_type_traits_ref_get(qt->type);
        const struct ggml_type_traits_cpu *gt = g_traits_cpu(qt->type);
        const struct ggml_type_traits *gb = g_traits(qt->type);
        ASSERT_TRUE(t && gt && gt->vec_dot && gb && gb->to_float);
        ASSERT_EQ_I64(gt->vec_dot_type, t->vec_dot_type); /* the pairing */
        const ds2_type_traits *p = ds2_type_traits_ref_act_get(t->vec_dot_type);
        int n_dots = 0;
        for (int rep = 0; rep < 200; rep++) {
            const int64_t n = 256 * (1 + rep % 16);
            static uint8_t w[NMAX * 2], a[NMAX * 2];
            static float x[NMAX], y1[NMAX], y2[NMAX];
            random_row(qt, w, n);
            random_act(x, n);
            p->from_float(x, a, n); /* identical to ggml's (previous test) */
            float s1 = 0, s2 = 0;
            t->vec_dot(n, &s1, w, a);
            gt->vec_dot((int)n, &s2, 0, w, 0, a, 0, 1);
            if (memcmp(&s1, &s2, 4) != 0)
                FAIL_("%s vec_dot n=%lld rep %d: ours %.9g, llama.cpp %.9g", ds2_dtype_name(qt->type),
                      (long long)n, rep, s1, s2);
            t->to_float(w, y1, n);
            gb->to_float(w, y2, n);
            for (int64_t j = 0; j < n; j++)
                if (memcmp(&y1[j], &y2[j], 4) != 0)
                    FAIL_("%s to_float elem %lld: ours %.9g, llama.cpp %.9g", ds2_dtype_name(qt->type),
                          (long long)j, y1[j], y2[j]);
            n_dots++;
        }
        printf("  %-6s·%-4s vec_dot and to_float: %d rows bit-identical to llama.cpp x64\n",
               ds2_dtype_name(qt->type), ds2_dtype_name(t->vec_dot_type), n_dots);
    }
}

/* The plain float types: from_float (F16/BF16 rounding) and vec_dot (products in float, double sum). */
TEST(float_types_bitwise) {
    if (!g_ok) return;
    static const int32_t types[] = {DS2_F32, DS2_F16, DS2_BF16};
    for (int i = 0; i < 3; i++) {
        const int32_t t = types[i];
        const ds2_type_traits *tr = ds2_type_traits_ref_get(t);
        const struct ggml_type_traits_cpu *gt = g_traits_cpu(t);
        ASSERT_TRUE(tr && gt && gt->vec_dot);
        ASSERT_EQ_I64(gt->vec_dot_type, tr->vec_dot_type);
        for (int rep = 0; rep < 200; rep++) {
            const int64_t n = 1 + (int64_t)(rng_u64() % 3000); /* any length: tails */
            static float xw[NMAX], xa[NMAX];
            static _Alignas(16) uint8_t w[NMAX * 4], a[NMAX * 4], a2[NMAX * 4];
            random_act(xw, n);
            random_act(xa, n);
            if (t == DS2_F32) {
                memcpy(w, xw, (size_t)n * 4);
                memcpy(a, xa, (size_t)n * 4);
            } else {
                tr->from_float(xw, w, n);
                tr->from_float(xa, a, n);
                gt->from_float(xa, a2, n);
                if (memcmp(a, a2, ds2_row_bytes(t, n)) != 0)
                    FAIL_("%s from_float n=%lld differs", ds2_dtype_name(t), (long long)n);
            }
            float s1 = 0, s2 = 0;
            tr->vec_dot(n, &s1, w, a);
            gt->vec_dot((int)n, &s2, 0, w, 0, a, 0, 1);
            if (memcmp(&s1, &s2, 4) != 0)
                FAIL_("%s vec_dot n=%lld: ours %.9g, llama.cpp %.9g", ds2_dtype_name(t), (long long)n, s1, s2);
        }
        printf("  %-4s from_float and vec_dot: 200 rows bit-identical to llama.cpp x64\n", ds2_dtype_name(t));
    }
}

int main(void) {
    rng_seed(0x13198a2e03707344ull);
    g_ok = load_ggml();
    if (!g_ok) return 77; /* ctest: skipped */
    RUN(activation_quantizers_bitwise);
    RUN(vec_dot_and_dequant_bitwise);
    RUN(float_types_bitwise);
    return test_summary();
}
