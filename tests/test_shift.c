/* test_shift.c — context shift (ds2_session_shift).
 * - One-layer models (whose cache entries depend only on their own token, not on the context): shifting and
 *   continuing gives the same logits as recomputing the kept tokens at their new positions from scratch (f32
 *   cache 1e-4 relative, f16 looser), both GGUF generations, absorbed and naive attention, repeated shifts.
 * - Multi-layer models (where dropped tokens also changed the later tokens' hidden states, so no recompute can
 *   match): every layer's moved latent is bit-identical and every moved k_pe equals the old one rotated by
 *   θ(new) − θ(old), with the YaRN angles recomputed here in double precision from the formula.
 * - Bad arguments fail cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "session.h" /* the multi-layer test reads the cache */
#include "fixtures.h"
#include "test.h"

enum { N = 180, M = 12, CTX = 256 };

/* Shift path: eval t[0..N), drop [keep, keep+discard) (twice when `twice`, the second time from what is left),
 * then eval u[0..M). Reference: a fresh session evaluating exactly the kept tokens, then u. Returns the max
 * relative difference of u's logits, or -1 on failure. `dropped` says how far the reference differs from not
 * shifting at all (the test must be able to see a wrong shift). */
static double shift_vs_recompute(const ds2_model *m, ds2_kv_type kv, ds2_attn_mode attn, int32_t keep,
                                 int32_t discard, int twice, double *dropped) {
    ds2_model_info info;
    ds2_model_get_info(m, &info);
    const size_t V = (size_t)info.n_vocab;
    int32_t t[N], u[M], kept[N + M];
    make_tokens(t, N, info.n_vocab, 11);
    make_tokens(u, M, info.n_vocab, 12);
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = CTX;
    sp.n_batch = 64;
    sp.kv_type = kv;
    sp.attn_mode = attn;
    float *la = malloc(M * V * sizeof(float)), *lb = malloc(M * V * sizeof(float)), *lc = malloc(M * V * sizeof(float));
    ds2_session *a = NULL, *b = NULL, *c = NULL;
    ds2_error err;
    double d = -1;
    if (ds2_session_create(m, &sp, &a, &err) || ds2_session_create(m, &sp, &b, &err) ||
        ds2_session_create(m, &sp, &c, &err))
        goto done;
    if (ds2_session_eval(a, t, N, DS2_LOGITS_NONE, NULL, &err)) goto done;
    if (ds2_session_shift(a, keep, discard, &err)) goto done;
    int nk = 0;
    for (int i = 0; i < N; i++)
        if (i < keep || i >= keep + discard) kept[nk++] = t[i];
    if (twice) { /* drop again, from the already shifted cache */
        if (ds2_session_shift(a, keep, discard, &err)) goto done;
        memmove(kept + keep, kept + keep + discard, (size_t)(nk - keep - discard) * sizeof *kept);
        nk -= discard;
    }
    if (ds2_session_n_past(a) != nk) {
        printf("  n_past %d after shift, want %d\n", ds2_session_n_past(a), nk);
        goto done;
    }
    if (ds2_session_eval(a, u, M, DS2_LOGITS_ALL, la, &err)) goto done;
    if (ds2_session_eval(b, kept, nk, DS2_LOGITS_NONE, NULL, &err)) goto done;
    if (ds2_session_eval(b, u, M, DS2_LOGITS_ALL, lb, &err)) goto done;
    if (ds2_session_eval(c, t, N, DS2_LOGITS_NONE, NULL, &err)) goto done;
    if (ds2_session_eval(c, u, M, DS2_LOGITS_ALL, lc, &err)) goto done;
    d = max_rel_diff(la, lb, M * V);
    *dropped = max_rel_diff(lc, lb, M * V);
done:
    if (d < 0) printf("  failed: %s\n", err.message);
    ds2_session_free(a);
    ds2_session_free(b);
    ds2_session_free(c);
    free(la);
    free(lb);
    free(lc);
    return d;
}

static void check_model(const char *path, ds2_attn_mode attn, int *failed) {
    ds2_model *m = load(path);
    if (!m) { *failed = 1; return; }
    struct { ds2_kv_type kv; int32_t keep, discard; int twice; double tol; } cases[] = {
        {DS2_KV_F32, 5, 60, 0, 1e-4},  {DS2_KV_F32, 0, 1, 0, 1e-4}, {DS2_KV_F32, 20, 30, 1, 1e-4},
        {DS2_KV_F32, 100, 80, 0, 1e-4}, /* drops the tail: nothing moves */
        {DS2_KV_F16, 5, 60, 0, 5e-4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double dropped = 0;
        double d = shift_vs_recompute(m, cases[i].kv, attn, cases[i].keep, cases[i].discard, cases[i].twice, &dropped);
        printf("  %s attn %d kv %s keep %d discard %d%s: shift vs recompute %.3g (vs not dropping: %.3g)\n", path,
               (int)attn, cases[i].kv == DS2_KV_F32 ? "f32" : "f16", cases[i].keep, cases[i].discard,
               cases[i].twice ? " twice" : "", d, dropped);
        if (!(d >= 0 && d <= cases[i].tol && dropped > 10 * cases[i].tol)) *failed = 1;
    }
    ds2_model_free(m);
}

TEST(shift_equals_recompute_one_layer) {
    int failed = 0;
    check_model(FIX("one-mla-f32.gguf"), DS2_ATTN_AUTO, &failed);
    check_model(FIX("one-mla-f32.gguf"), DS2_ATTN_NAIVE, &failed);
    check_model(FIX("one-legacy-f32.gguf"), DS2_ATTN_AUTO, &failed);
    ASSERT_TRUE(!failed);
}

/* θ_i(pos) in double from the formula (reference §1.6): pos · base^(−2i/d) · (freq_scale·(1−ramp) + ramp). */
static double theta(const ds2_rope *r, const ds2_hparams *hp, int i, double pos) {
    double f = pos * pow((double)hp->rope_theta, -2.0 * i / (double)hp->qk_rope);
    double ramp = 0.0;
    if (hp->rope_yarn) {
        double y = (i - (double)r->corr_low) / fmax(0.001, (double)r->corr_high - (double)r->corr_low);
        ramp = 1.0 - fmin(1.0, fmax(0.0, y));
    }
    return f * ((double)hp->rope_freq_scale * (1.0 - ramp) + ramp);
}

static void check_cache(const char *path, ds2_kv_type kv, int *failed) {
    ds2_model *m = load(path);
    if (!m) { *failed = 1; return; }
    const ds2_hparams *hp = &m->hp;
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = CTX;
    sp.kv_type = kv;
    ds2_session *s = NULL;
    ds2_error err;
    int32_t t[N];
    make_tokens(t, N, hp->n_vocab, 21);
    if (ds2_session_create(m, &sp, &s, &err) || ds2_session_eval(s, t, N, DS2_LOGITS_NONE, NULL, &err)) {
        printf("  %s\n", err.message);
        *failed = 1;
        ds2_session_free(s);
        ds2_model_free(m);
        return;
    }
    const size_t L = hp->n_layer, dc = hp->kv_lora_rank, dr = hp->qk_rope, e = s->kv_elem;
    const size_t lat_bytes = L * CTX * dc * e, pe_bytes = L * CTX * dr * e;
    char *lat0 = malloc(lat_bytes), *pe0 = malloc(pe_bytes);
    memcpy(lat0, s->kv_latent, lat_bytes);
    memcpy(pe0, s->kv_pe, pe_bytes);
    const int32_t keep = 7, discard = 50;
    if (ds2_session_shift(s, keep, discard, &err)) { printf("  %s\n", err.message); *failed = 1; }
    double worst = 0;
    int lat_same = 1;
    for (size_t l = 0; l < L; l++)
        for (int32_t p = 0; p < N - discard; p++) {
            const int32_t old = p < keep ? p : p + discard;
            lat_same &= !memcmp(lat0 + ((l * CTX + old) * dc) * e, (char *)s->kv_latent + ((l * CTX + p) * dc) * e, dc * e);
            const char *a = pe0 + ((l * CTX + old) * dr) * e, *b = (const char *)s->kv_pe + ((l * CTX + p) * dr) * e;
            double norm = 0, diff = 0;
            for (size_t i = 0; i < dr / 2; i++) {
                double x0, x1, y0, y1;
                if (e == 4) {
                    x0 = ((const float *)a)[2 * i], x1 = ((const float *)a)[2 * i + 1];
                    y0 = ((const float *)b)[2 * i], y1 = ((const float *)b)[2 * i + 1];
                } else {
                    x0 = ds2_f16_to_f32(((const uint16_t *)a)[2 * i]), x1 = ds2_f16_to_f32(((const uint16_t *)a)[2 * i + 1]);
                    y0 = ds2_f16_to_f32(((const uint16_t *)b)[2 * i]), y1 = ds2_f16_to_f32(((const uint16_t *)b)[2 * i + 1]);
                }
                const double d = theta(&s->rope, hp, (int)i, p) - theta(&s->rope, hp, (int)i, old);
                const double w0 = x0 * cos(d) - x1 * sin(d), w1 = x0 * sin(d) + x1 * cos(d);
                norm += x0 * x0 + x1 * x1;
                diff += (w0 - y0) * (w0 - y0) + (w1 - y1) * (w1 - y1);
            }
            worst = fmax(worst, sqrt(diff / fmax(norm, 1e-30)));
        }
    const double tol = kv == DS2_KV_F32 ? 1e-5 : 2e-3;
    printf("  %s kv %s: latents moved bit-exact %s, k_pe vs double-precision rotation %.3g (tol %.0e)\n", path,
           kv == DS2_KV_F32 ? "f32" : "f16", lat_same ? "yes" : "NO", worst, tol);
    if (!lat_same || !(worst <= tol) || ds2_session_n_past(s) != N - discard) *failed = 1;
    free(lat0);
    free(pe0);
    ds2_session_free(s);
    ds2_model_free(m);
}

TEST(shift_rotates_every_layer) {
    int failed = 0;
    check_cache(FIX("mla-f32.gguf"), DS2_KV_F32, &failed);
    check_cache(FIX("mla-f32.gguf"), DS2_KV_F16, &failed);
    check_cache(FIX("legacy-f32.gguf"), DS2_KV_F32, &failed);
    check_cache(FIX("v3-f32.gguf"), DS2_KV_F32, &failed);
    ASSERT_TRUE(!failed);
}

TEST(shift_bad_args) {
    ds2_model *m = load(FIX("mla-f32.gguf"));
    ASSERT_TRUE(m);
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = 32;
    ds2_session *s = NULL;
    ds2_error err;
    ASSERT_STATUS(ds2_session_create(m, &sp, &s, &err), DS2_OK, err);
    int32_t t[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ASSERT_STATUS(ds2_session_eval(s, t, 10, DS2_LOGITS_NONE, NULL, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_session_shift(s, 5, 6, &err), DS2_E_INVALID_ARG, err);
    ASSERT_STATUS(ds2_session_shift(s, -1, 2, &err), DS2_E_INVALID_ARG, err);
    ASSERT_STATUS(ds2_session_shift(s, 2, -1, &err), DS2_E_INVALID_ARG, err);
    ASSERT_STATUS(ds2_session_shift(NULL, 0, 0, &err), DS2_E_INVALID_ARG, err);
    ASSERT_EQ_I64(ds2_session_n_past(s), 10);
    ASSERT_STATUS(ds2_session_shift(s, 5, 0, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_session_shift(s, 5, 5, &err), DS2_OK, err);
    ASSERT_EQ_I64(ds2_session_n_past(s), 5);
    ds2_session_free(s);
    ds2_model_free(m);
}

int main(void) {
    RUN(shift_equals_recompute_one_layer);
    RUN(shift_rotates_every_layer);
    RUN(shift_bad_args);
    return test_summary();
}
