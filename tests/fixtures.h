/* fixtures.h — helpers shared by the tests that read the generated models (tests/make_fixtures.sh). */
#ifndef DS2_TEST_FIXTURES_H
#define DS2_TEST_FIXTURES_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "ds2.h"

#define FIX(name) DS2_BINARY_DIR "/testdata/" name

/* The model at path, or NULL after printing why it did not load. */
static inline ds2_model *load(const char *path) {
    ds2_error err;
    ds2_model *m = NULL;
    ds2_status st = ds2_model_load_file(path, NULL, &m, &err);
    if (st != DS2_OK) printf("  load %s: %s: %s\n", path, ds2_status_name(st), err.message);
    return m;
}

/* A fixed pseudo-random token sequence inside the vocabulary (xorshift), avoiding the last two ids. */
static inline void make_tokens(int32_t *t, int n, int32_t vocab, uint32_t seed) {
    for (int i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        t[i] = (int32_t)(seed % (uint32_t)(vocab - 2));
    }
}

/* max |a - b| / max(|b|, 1e-6) over n values */
static inline double max_rel_diff(const float *a, const float *b, size_t n) {
    double md = 0, scale = 1e-6;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++) md = fmax(md, fabs((double)a[i] - (double)b[i]));
    return md / scale;
}

#endif
