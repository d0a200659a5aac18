/* test_kernels_act.c — the activation quantizers of the active kernel set (from_float of the partner types, as
 * ds2_matmul uses them) against the scalar reference, byte for byte: random lengths and magnitudes, blocks whose
 * largest |x| occurs several times with both signs (the reference keeps the first), exact rounding ties, and
 * all-zero blocks. Where the active set has no own quantizer for a type the comparison holds trivially.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "kernels/kernels.h"
#include "kernels/ref.h"
#include "test.h"

#include "rng.h"

TEST(q8_k_rounding_identical) {
    enum { MAXN = 256 * 6 };
    static float x[MAXN];
    static uint8_t qr[2 * MAXN], qf[2 * MAXN];
    ASSERT_TRUE(ds2_set_kernels("auto", NULL) == DS2_OK);
    const ds2_type_traits *r = ds2_type_traits_ref_act_get(DS2_Q8_K), *f = ds2_type_traits_act_get(DS2_Q8_K);
    ASSERT_TRUE(r && f);
    printf("  Q8_K from_float in the %s set: %s\n", ds2_kernels_name(), f->from_float == r->from_float ? "the reference" : "own");
    for (int rep = 0; rep < 500; rep++) {
        const int64_t n = 256 * (1 + (int64_t)(rng_u64() % 6));
        const int kind = rep % 6;
        const double scale = kind == 1 ? 1e-6 : kind == 2 ? 7e4 : 1.0;
        for (int64_t j = 0; j < n; j++) x[j] = (float)((rng_unit() - 0.5) * scale * (rng_unit() < 0.05 ? 8 : 1));
        if (kind == 3) /* max |x| = 127 twice, negative first: iscale = 1, halves are exact ties */
            for (int64_t j = 0; j < n; j++) x[j] = j % 256 == 7 ? -127.0f : j % 256 == 9 ? 127.0f : (float)((int)(j % 254) - 127) + 0.5f;
        if (kind == 4) /* one all-zero block */
            for (int j = 0; j < 256; j++) x[j] = 0.0f;
        if (kind == 5) /* the largest |x| several times, positive first */
            for (int64_t j = 0; j < n; j += 37) x[j] = (j / 37) % 2 ? -3.5f : 3.5f;
        const size_t rb = ds2_row_bytes(DS2_Q8_K, n);
        memset(qr, 0xa5, rb + 8);
        memset(qf, 0xa5, rb + 8);
        r->from_float(x, qr, n);
        f->from_float(x, qf, n);
        if (memcmp(qr, qf, rb + 8) != 0) {
            size_t k = 0;
            while (qr[k] == qf[k]) k++;
            FAIL_("Q8_K n=%lld kind %d: byte %zu differs (%u vs reference %u)", (long long)n, kind, k, qf[k], qr[k]);
        }
    }
}

int main(void) {
    rng_seed(0x5851f42d4c957f2dull);
    RUN(q8_k_rounding_identical);
    return test_summary();
}
