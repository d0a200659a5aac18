/* test_split.c — gguf-split shards through ds2_loader_create_split / ds2_loader_feed_shard: any interleaving of
 * the shards' bytes (random order, random chunk sizes, streams in any order) gives the same model as the single
 * file (identical logits), and bad sets fail with named errors as soon as the bad shard's directory is read
 * (missing shard, shards from different sets, a split.no twice, a tensor in two shards) or at finish
 * (truncated shard, split.tensors.count). Shards: tests/make_fixtures.sh (models/gguf_split.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds2.h"
#include "fixtures.h"
#include "test.h"

static char g_dir[256];
static char g_model[300];
static char g_a[3][320]; /* 3 shards, tensors in all */
static char g_c[3][320]; /* 3 shards, the first metadata only */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static bytes slurp(const char *path) {
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return b;
    fseek(f, 0, SEEK_END);
    b.n = (size_t)ftell(f);
    rewind(f);
    b.p = malloc(b.n ? b.n : 1);
    if (b.p && fread(b.p, 1, b.n, f) != b.n) {
        free(b.p);
        b.p = NULL;
    }
    fclose(f);
    return b;
}

static uint32_t rng(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feeds the streams (files[k] is stream k) interleaved at random in chunks of 1..max_chunk bytes; returns the
 * first failing status (err filled), else the status of finish. *out gets the model on success. */
static ds2_status feed_random(const char *const *files, int n, uint32_t seed, size_t max_chunk, size_t cut_last,
                              ds2_model **out, ds2_error *err) {
    bytes b[8];
    size_t pos[8] = {0};
    uint64_t sizes[8];
    for (int i = 0; i < n; i++) {
        b[i] = slurp(files[i]);
        if (i == n - 1 && cut_last) b[i].n = cut_last;
        sizes[i] = cut_last && i == n - 1 ? 0 : b[i].n;
    }
    *out = NULL;
    ds2_loader *l = NULL;
    ds2_status st = ds2_loader_create_split(NULL, n, sizes, &l, err);
    while (st == DS2_OK) {
        int left = 0;
        for (int i = 0; i < n; i++) left += pos[i] < b[i].n;
        if (!left) break;
        int k = (int)(rng(&seed) % (uint32_t)n);
        if (pos[k] >= b[k].n) continue;
        size_t c = 1 + rng(&seed) % max_chunk;
        if (c > b[k].n - pos[k]) c = b[k].n - pos[k];
        st = ds2_loader_feed_shard(l, k, b[k].p + pos[k], c, err);
        pos[k] += c;
    }
    if (st == DS2_OK) st = ds2_loader_finish(l, out, err);
    ds2_loader_free(l);
    for (int i = 0; i < n; i++) free(b[i].p);
    return st;
}

/* Logits of a fixed prompt at every position. */
static float *logits_of(ds2_model *m, int *n_out) {
    static const int32_t ids[] = {1, 2, 3, 5, 8, 13};
    const int n = (int)(sizeof ids / sizeof ids[0]);
    ds2_session *s = NULL;
    ds2_error err;
    ds2_session_params sp = ds2_session_default_params();
    sp.n_ctx = 32;
    if (ds2_session_create(m, &sp, &s, &err) != DS2_OK) return NULL;
    int32_t nv = ds2_vocab_size(m);
    float *lg = malloc((size_t)n * (size_t)nv * sizeof *lg);
    if (lg && ds2_session_eval(s, ids, n, DS2_LOGITS_ALL, lg, &err) != DS2_OK) {
        free(lg);
        lg = NULL;
    }
    ds2_session_free(s);
    *n_out = n * nv;
    return lg;
}

/* The shards come from tests/make_fixtures.sh (models/gguf_split.py on mla-q8_0.gguf). */
static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "%s", FIX(""));
    snprintf(g_model, sizeof g_model, "%s", FIX("mla-q8_0.gguf"));
    for (int i = 0; i < 3; i++) {
        snprintf(g_a[i], sizeof g_a[i], "%s/split-a-%05d-of-00003.gguf", g_dir, i + 1);
        snprintf(g_c[i], sizeof g_c[i], "%s/split-c-%05d-of-00003.gguf", g_dir, i + 1);
    }
}

TEST(any_interleaving_gives_the_single_file_model) {
    ds2_error err;
    ds2_model *ref = NULL;
    ASSERT_TRUE(ds2_model_load_file(g_model, NULL, &ref, &err) == DS2_OK);
    int n = 0;
    float *want = logits_of(ref, &n);
    ASSERT_TRUE(want != NULL);
    ds2_model_info ri;
    ds2_model_get_info(ref, &ri);
    /* streams in shard order and permuted; chunks of 1..7 bytes, 1..4096, 1..1 MiB */
    const char *sets[4][3] = {{g_a[0], g_a[1], g_a[2]}, {g_a[2], g_a[0], g_a[1]}, {g_c[1], g_c[2], g_c[0]},
                              {g_c[0], g_c[1], g_c[2]}};
    static const size_t chunks[] = {7, 4096, 1 << 20};
    for (int s = 0; s < 4; s++)
        for (int c = 0; c < 3; c++) {
            ds2_model *m = NULL;
            ds2_status st = feed_random(sets[s], 3, 0x9e3779b9u + (uint32_t)(s * 3 + c), chunks[c], 0, &m, &err);
            if (st != DS2_OK) printf("  set %d chunks %zu: %s: %s\n", s, chunks[c], ds2_status_name(st), err.message);
            ASSERT_TRUE(st == DS2_OK);
            int n2 = 0;
            float *got = logits_of(m, &n2);
            ds2_model_info mi;
            ds2_model_get_info(m, &mi);
            char buf[64];
            int same = got && n2 == n && memcmp(got, want, (size_t)n * sizeof *got) == 0;
            int meta = ds2_model_meta_str(m, "split.count", buf, sizeof buf) == NULL &&
                       ds2_model_meta_str(m, "general.architecture", buf, sizeof buf) != NULL &&
                       strcmp(buf, "deepseek2") == 0 && ds2_model_n_tensors(m) == ds2_model_n_tensors(ref) &&
                       mi.n_params == ri.n_params && mi.weight_bytes == ri.weight_bytes;
            free(got);
            ds2_model_free(m);
            if (!same || !meta) printf("  set %d chunks %zu: logits %s, metadata %s\n", s, chunks[c],
                                       same ? "same" : "DIFFER", meta ? "same" : "DIFFER");
            ASSERT_TRUE(same && meta);
        }
    free(want);
    ds2_model_free(ref);
}

static int expect(const char *const *files, int n, size_t cut_last, ds2_status want, const char *needle,
                  const char *label) {
    ds2_error err;
    ds2_model *m = NULL;
    ds2_status st = feed_random(files, n, 12345u, 65536, cut_last, &m, &err);
    ds2_model_free(m);
    int ok = st == want && strstr(err.message, needle) != NULL;
    printf("  %-28s %s: %s\n", label, ds2_status_name(st), st ? err.message : "");
    return ok;
}

TEST(bad_sets_give_named_errors) {
    const char *missing[] = {g_a[0], g_a[2]};
    ASSERT_TRUE(expect(missing, 2, 0, DS2_E_INVALID_ARG, "a shard is missing", "missing shard"));
    const char *extra[] = {g_a[0], g_a[1], g_a[2], g_c[0]};
    ASSERT_TRUE(expect(extra, 4, 0, DS2_E_INVALID_ARG, "split.count", "one shard too many"));
    const char *twice[] = {g_a[0], g_a[1], g_a[1]};
    ASSERT_TRUE(expect(twice, 3, 0, DS2_E_DUPLICATE, "both split.no 1", "the same shard twice"));
    const char *mixed[] = {g_a[0], g_c[1], g_a[2]}; /* c-2 holds tensors that a-1 holds too */
    ASSERT_TRUE(expect(mixed, 3, 0, DS2_E_DUPLICATE, "is in shard", "shards of two splits"));
    const char *short_set[] = {g_c[0], g_a[1], g_a[2]}; /* a-1's tensors are in no shard */
    ASSERT_TRUE(expect(short_set, 3, 0, DS2_E_MISSING_TENSOR, "split.tensors.count", "tensors missing"));
    const char *cut[] = {g_a[0], g_a[1], g_a[2]};
    bytes b = slurp(g_a[2]);
    free(b.p);
    ASSERT_TRUE(expect(cut, 3, b.n * 6 / 10, DS2_E_TRUNCATED, "shard #2", "truncated shard"));

    /* shards that disagree on split.count: a 2-shard split next to a 3-shard one */
    char two[2][320];
    for (int i = 0; i < 2; i++) snprintf(two[i], sizeof two[i], "%s/split-b-%05d-of-00002.gguf", g_dir, i + 1);
    {
        /* stream 0 (a-1, count 3) is read first: feed it whole before the 2-shard one */
        ds2_error err;
        ds2_loader *l = NULL;
        ASSERT_TRUE(ds2_loader_create_split(NULL, 3, NULL, &l, &err) == DS2_OK);
        bytes a0 = slurp(g_a[0]), b1 = slurp(two[1]);
        ds2_status s1 = ds2_loader_feed_shard(l, 0, a0.p, a0.n, &err);
        ds2_status s2 = ds2_loader_feed_shard(l, 1, b1.p, b1.n, &err);
        printf("  %-28s %s: %s\n", "disagreeing split.count", ds2_status_name(s2), err.message);
        int ok = s1 == DS2_OK && s2 == DS2_E_INVALID_ARG && strstr(err.message, "not one set");
        /* the error is sticky for that stream; a single-file feed on a split loader is refused */
        ok = ok && ds2_loader_feed(l, a0.p, 1, &err) == DS2_E_STATE;
        free(a0.p);
        free(b1.p);
        ds2_loader_free(l);
        ASSERT_TRUE(ok);
    }
}

TEST(load_file_by_any_shard_name) {
    /* ds2_model_load_file (the native CLI's loader) reads the whole set when named by any of its shards */
    ds2_error err;
    ds2_model *ref = NULL, *m = NULL;
    ASSERT_TRUE(ds2_model_load_file(g_model, NULL, &ref, &err) == DS2_OK);
    ds2_status st = ds2_model_load_file(g_c[1], NULL, &m, &err);
    if (st != DS2_OK) printf("  %s: %s\n", ds2_status_name(st), err.message);
    ASSERT_TRUE(st == DS2_OK);
    int n1 = 0, n2 = 0;
    float *a = logits_of(ref, &n1), *b = logits_of(m, &n2);
    int same = a && b && n1 == n2 && memcmp(a, b, (size_t)n1 * sizeof *a) == 0;
    free(a);
    free(b);
    ds2_model_free(m);
    ds2_model_free(ref);
    ASSERT_TRUE(same);
    /* a shard file that is not there: the I/O error names it */
    char name[400];
    snprintf(name, sizeof name, "%s/split-a-00002-of-00004.gguf", g_dir);
    st = ds2_model_load_file(name, NULL, &m, &err);
    printf("  %-28s %s: %s\n", "shard file missing", ds2_status_name(st), err.message);
    ASSERT_TRUE(st == DS2_E_IO && strstr(err.message, "split-a-00001-of-00004.gguf") && strstr(err.message, "shard 1 of 4"));
}

TEST(one_stream_of_a_plain_file) {
    /* a plain GGUF is a set of one: the split loader takes it too */
    const char *one[] = {g_model};
    ds2_error err;
    ds2_model *m = NULL;
    ASSERT_TRUE(feed_random(one, 1, 7u, 9000, 0, &m, &err) == DS2_OK);
    ASSERT_TRUE(ds2_model_n_tensors(m) > 0);
    ds2_model_free(m);
}

int main(void) {
    setup();
    RUN(any_interleaving_gives_the_single_file_model);
    RUN(bad_sets_give_named_errors);
    RUN(load_file_by_any_shard_name);
    RUN(one_stream_of_a_plain_file);
    return test_summary();
}
