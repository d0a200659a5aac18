/* test_gguf.c — the incremental GGUF reader (src/gguf.c) against files built byte by byte in this test.
 *
 * Covers: every KV type and arrays of numbers and strings, several tensors of different dtypes, the default
 * and a custom alignment, versions 2 and 3; identical results for every chunking (1, 2, 3, 7, 64 KiB, whole);
 * every broken variant gives its named status; every prefix of a file gives DS2_E_TRUNCATED; 1-byte feeding
 * of a 100k-string vocabulary runs in linear time; a few thousand random mutations never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtype.h"
#include "gguf.h"
#include "test.h"

/* Huge (hostile) allocations must fail with NULL rather than abort the sanitizer build. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

/* ===== A tiny GGUF writer ========================================================================= */

typedef struct wb {
    uint8_t *p;
    size_t n, cap;
} wb;

static void wb_put(wb *w, const void *d, size_t n) {
    if (w->n + n > w->cap) {
        size_t c = w->cap ? w->cap : 256;
        while (c < w->n + n) c *= 2;
        w->p = realloc(w->p, c);
        if (!w->p) abort();
        w->cap = c;
    }
    if (n) memcpy(w->p + w->n, d, n);
    w->n += n;
}
static void w_u8(wb *w, uint8_t v) { wb_put(w, &v, 1); }
static void w_u16(wb *w, uint16_t v) {
    for (int i = 0; i < 2; i++) w_u8(w, (uint8_t)(v >> (8 * i)));
}
static void w_u32(wb *w, uint32_t v) {
    for (int i = 0; i < 4; i++) w_u8(w, (uint8_t)(v >> (8 * i)));
}
static void w_u64(wb *w, uint64_t v) {
    for (int i = 0; i < 8; i++) w_u8(w, (uint8_t)(v >> (8 * i)));
}
static void w_f32(wb *w, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    w_u32(w, u);
}
static void w_f64(wb *w, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    w_u64(w, u);
}
static void w_strn(wb *w, const char *s, size_t n) {
    w_u64(w, n);
    wb_put(w, s, n);
}
static void w_str(wb *w, const char *s) { w_strn(w, s, strlen(s)); }
static void w_key(wb *w, const char *key, int32_t type) {
    w_str(w, key);
    w_u32(w, (uint32_t)type);
}
static void patch_u64(wb *w, size_t at, uint64_t v) {
    for (int i = 0; i < 8; i++) w->p[at + i] = (uint8_t)(v >> (8 * i));
}
static void patch_u32(wb *w, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++) w->p[at + i] = (uint8_t)(v >> (8 * i));
}

/* ---- what goes into a file ---- */

#define AUTO UINT64_MAX

typedef struct tspec {
    const char *name;
    uint32_t n_dims;
    int64_t ne[4];
    int32_t type;
    uint64_t offset; /* AUTO: packed automatically (assigned in reverse listing order, so order ≠ offset order) */
} tspec;

/* Knobs for the KV section; zero = the normal rich file. */
typedef struct kvopts {
    int align_mode;        /* 0 none, 1 u32 `align`, 2 written as i32 */
    uint32_t align;
    int dup_key;           /* repeat "test.u8" */
    int32_t bad_type;      /* nonzero: an extra KV with this value type (and no value) */
    int nested;            /* an array of arrays */
    int32_t bad_elem_type; /* nonzero: an array with this element type */
    uint64_t str_len;      /* nonzero: a string value claiming this length */
    uint64_t arr_count;    /* nonzero: an i32 array claiming this count */
} kvopts;

static const char *const k_strs[] = {"alpha", "", "with\0nul", "\xce\xb1\xce\xb2", "last"};
static const uint64_t k_str_lens[] = {5, 0, 8, 4, 4};
static const int32_t k_i32s[] = {-1, 0, 1, 2147483647, (int32_t)0x80000000u};
static const float k_f32s[] = {0.5f, -1.25f, 3.0e38f};

static int write_kvs(wb *w, const kvopts *o) {
    int n = 0;
    w_key(w, "general.architecture", DS2_GGUF_STRING), w_str(w, "deepseek2"), n++;
    if (o->align_mode == 1) w_key(w, "general.alignment", DS2_GGUF_U32), w_u32(w, o->align), n++;
    if (o->align_mode == 2) w_key(w, "general.alignment", DS2_GGUF_I32), w_u32(w, o->align), n++;
    w_key(w, "test.u8", DS2_GGUF_U8), w_u8(w, 200), n++;
    w_key(w, "test.i8", DS2_GGUF_I8), w_u8(w, (uint8_t)-5), n++;
    w_key(w, "test.u16", DS2_GGUF_U16), w_u16(w, 65000), n++;
    w_key(w, "test.i16", DS2_GGUF_I16), w_u16(w, (uint16_t)-30000), n++;
    w_key(w, "test.u32", DS2_GGUF_U32), w_u32(w, 4000000000u), n++;
    w_key(w, "test.i32", DS2_GGUF_I32), w_u32(w, (uint32_t)-2000000000), n++;
    w_key(w, "test.f32", DS2_GGUF_F32), w_f32(w, 1.5f), n++;
    w_key(w, "test.bool_t", DS2_GGUF_BOOL), w_u8(w, 1), n++;
    w_key(w, "test.bool_f", DS2_GGUF_BOOL), w_u8(w, 0), n++;
    w_key(w, "test.str", DS2_GGUF_STRING), w_str(w, "hello, world"), n++;
    w_key(w, "test.str_empty", DS2_GGUF_STRING), w_str(w, ""), n++;
    w_key(w, "test.u64", DS2_GGUF_U64), w_u64(w, 18000000000000000000ull), n++;
    w_key(w, "test.i64", DS2_GGUF_I64), w_u64(w, (uint64_t)-9000000000000000000ll), n++;
    w_key(w, "test.f64", DS2_GGUF_F64), w_f64(w, -2.75e100), n++;
    w_key(w, "test.arr_u8", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_U8), w_u64(w, 3), w_u8(w, 1), w_u8(w, 2), w_u8(w, 255),
        n++;
    w_key(w, "test.arr_i32", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_I32), w_u64(w, 5), n++;
    for (int i = 0; i < 5; i++) w_u32(w, (uint32_t)k_i32s[i]);
    w_key(w, "test.arr_f32", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_F32), w_u64(w, 3), n++;
    for (int i = 0; i < 3; i++) w_f32(w, k_f32s[i]);
    w_key(w, "test.arr_bool", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_BOOL), w_u64(w, 2), w_u8(w, 1), w_u8(w, 0), n++;
    w_key(w, "test.arr_u64", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_U64), w_u64(w, 2), w_u64(w, 1), w_u64(w, ~0ull), n++;
    w_key(w, "test.arr_f64", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_F64), w_u64(w, 1), w_f64(w, 3.25), n++;
    w_key(w, "test.arr_i16", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_I16), w_u64(w, 1), w_u16(w, (uint16_t)-2), n++;
    w_key(w, "test.arr_empty", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_I32), w_u64(w, 0), n++;
    w_key(w, "test.arr_str", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_STRING), w_u64(w, 5), n++;
    for (int i = 0; i < 5; i++) w_strn(w, k_strs[i], (size_t)k_str_lens[i]);
    w_key(w, "test.arr_str_empty", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_STRING), w_u64(w, 0), n++;
    if (o->dup_key) w_key(w, "test.u8", DS2_GGUF_U8), w_u8(w, 1), n++;
    if (o->bad_type) w_key(w, "test.bad_type", o->bad_type), w_u32(w, 0), n++;
    if (o->nested) w_key(w, "test.nested", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_ARRAY), w_u64(w, 1), n++;
    if (o->bad_elem_type) w_key(w, "test.bad_elem", DS2_GGUF_ARRAY), w_u32(w, (uint32_t)o->bad_elem_type), w_u64(w, 1), n++;
    if (o->str_len) w_key(w, "test.long_str", DS2_GGUF_STRING), w_u64(w, o->str_len), wb_put(w, "abc", 3), n++;
    if (o->arr_count) w_key(w, "test.big_arr", DS2_GGUF_ARRAY), w_u32(w, DS2_GGUF_I32), w_u64(w, o->arr_count), n++;
    w_key(w, "test.last", DS2_GGUF_U32), w_u32(w, 7), n++;
    return n;
}

static uint64_t spec_bytes(const tspec *t) {
    const ds2_dtype_info *di = ds2_dtype_info_get(t->type);
    if (!di || t->n_dims < 1 || t->n_dims > 4) return 0;
    uint64_t b = (uint64_t)ds2_row_bytes(t->type, t->ne[0]);
    for (uint32_t d = 1; d < t->n_dims; d++) {
        if (t->ne[d] < 0 || (t->ne[d] && b > (1ull << 24) / (uint64_t)t->ne[d])) return 0; /* absurd: no data */
        b *= (uint64_t)t->ne[d];
    }
    return b > (1ull << 24) ? 0 : b;
}

static uint8_t data_byte(uint64_t i) { return (uint8_t)(i * 131u + 7u + (i >> 8)); }

typedef struct built {
    wb w;
    uint64_t data_start, data_size, header_end, ti_start;
    uint64_t offsets[16];
} built;

/* Writes header, KVs, tensor infos, padding and data. align = alignment used for offsets and padding. */
static void build(built *b, uint32_t version, const kvopts *o, const tspec *ts, int nt, uint32_t align) {
    memset(b, 0, sizeof *b);
    wb *w = &b->w;
    wb_put(w, "GGUF", 4);
    w_u32(w, version);
    w_u64(w, (uint64_t)nt);
    size_t kv_at = w->n;
    w_u64(w, 0);
    patch_u64(w, kv_at, (uint64_t)write_kvs(w, o));
    b->ti_start = w->n;
    uint64_t next = 0, end = 0;
    for (int i = nt - 1; i >= 0; i--) {
        uint64_t nb = spec_bytes(&ts[i]);
        b->offsets[i] = ts[i].offset != AUTO ? ts[i].offset : next;
        if (ts[i].offset == AUTO) next = (next + nb + align - 1) / align * align;
        if (nb && b->offsets[i] + nb > end) end = b->offsets[i] + nb;
    }
    for (int i = 0; i < nt; i++) {
        w_str(w, ts[i].name);
        w_u32(w, ts[i].n_dims);
        for (uint32_t d = 0; d < ts[i].n_dims; d++) w_u64(w, d < 4 ? (uint64_t)ts[i].ne[d] : 1);
        w_u32(w, (uint32_t)ts[i].type);
        w_u64(w, b->offsets[i]);
    }
    b->header_end = w->n;
    while (w->n % align) w_u8(w, 0xee);
    b->data_start = w->n;
    b->data_size = end;
    if (end > (1u << 24)) return; /* absurd offsets: header only */
    for (uint64_t i = 0; i < end; i++) w_u8(w, data_byte(i));
}

static const tspec k_tensors[] = {
    {"token_embd.weight", 2, {8, 3, 1, 1}, DS2_F32, AUTO},
    {"blk.0.attn_q.weight", 2, {64, 2, 1, 1}, DS2_Q8_0, AUTO},
    {"output_norm.weight", 1, {5, 1, 1, 1}, DS2_F16, AUTO},
    {"blk.0.ffn_gate_exps.weight", 3, {256, 1, 2, 1}, DS2_Q4_K, AUTO},
    {"four.dims", 4, {1, 1, 1, 4}, DS2_I32, AUTO},
    {"empty", 2, {0, 3, 1, 1}, DS2_BF16, AUTO},
};
#define N_TENSORS ((int)(sizeof k_tensors / sizeof k_tensors[0]))

/* ===== Feeding ==================================================================================== */

typedef struct result {
    ds2_status feed_st, finish_st;
    ds2_error err;
    ds2_gguf *g;
} result;

/* Feeds the buffer in chunks of `chunk` bytes (0 = whole) and finishes. The caller frees r->g. */
static result parse(const uint8_t *p, size_t n, size_t chunk, uint64_t total) {
    result r;
    memset(&r, 0, sizeof r);
    if (ds2_gguf_create(total, &r.g, &r.err) != DS2_OK) abort();
    if (!chunk) chunk = n ? n : 1;
    r.feed_st = DS2_OK;
    for (size_t at = 0; at < n; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        r.feed_st = ds2_gguf_feed(r.g, p + at, k, &r.err);
        if (r.feed_st) break;
    }
    r.finish_st = r.feed_st ? r.feed_st : ds2_gguf_finish(r.g, &r.err);
    return r;
}

/* 1 if the two readers hold identical KVs, tensor infos and data. */
static int same_result(ds2_gguf *a, ds2_gguf *b) {
    if (ds2_gguf_n_kv(a) != ds2_gguf_n_kv(b) || ds2_gguf_n_tensors(a) != ds2_gguf_n_tensors(b)) return 0;
    if (ds2_gguf_alignment(a) != ds2_gguf_alignment(b) || ds2_gguf_data_offset(a) != ds2_gguf_data_offset(b) ||
        ds2_gguf_bytes_expected(a) != ds2_gguf_bytes_expected(b) || ds2_gguf_version(a) != ds2_gguf_version(b))
        return 0;
    for (int64_t i = 0; i < ds2_gguf_n_kv(a); i++) {
        const ds2_gguf_kv *x = ds2_gguf_kv_at(a, i), *y = ds2_gguf_kv_at(b, i);
        if (strcmp(x->key, y->key) || x->type != y->type || x->u64 != y->u64 || x->i64 != y->i64) return 0;
        if (memcmp(&x->f64, &y->f64, sizeof x->f64)) return 0;
        if (x->type == DS2_GGUF_STRING && (x->str_len != y->str_len || memcmp(x->str, y->str, x->str_len + 1)))
            return 0;
        if (x->type == DS2_GGUF_ARRAY) {
            if (x->arr_type != y->arr_type || x->arr_n != y->arr_n) return 0;
            if (x->arr_type == DS2_GGUF_STRING) {
                for (uint64_t j = 0; j < x->arr_n; j++)
                    if (x->arr_str_lens[j] != y->arr_str_lens[j] ||
                        memcmp(x->arr_strs[j], y->arr_strs[j], x->arr_str_lens[j] + 1))
                        return 0;
            } else {
                size_t es = x->arr_type == DS2_GGUF_U8 || x->arr_type == DS2_GGUF_I8 || x->arr_type == DS2_GGUF_BOOL ? 1
                            : x->arr_type == DS2_GGUF_U16 || x->arr_type == DS2_GGUF_I16                          ? 2
                            : x->arr_type == DS2_GGUF_U64 || x->arr_type == DS2_GGUF_I64 || x->arr_type == DS2_GGUF_F64
                                ? 8
                                : 4;
                if (x->arr_n && memcmp(x->arr_data, y->arr_data, es * x->arr_n)) return 0;
            }
        }
    }
    for (int64_t i = 0; i < ds2_gguf_n_tensors(a); i++) {
        const ds2_gguf_tensor *x = ds2_gguf_tensor_at(a, i), *y = ds2_gguf_tensor_at(b, i);
        if (strcmp(x->name, y->name) || x->n_dims != y->n_dims || memcmp(x->ne, y->ne, sizeof x->ne) ||
            x->type != y->type || x->offset != y->offset || x->nbytes != y->nbytes)
            return 0;
        if (x->nbytes && memcmp(x->data, y->data, x->nbytes)) return 0;
    }
    size_t sa, sb;
    void *pa = ds2_gguf_take_arena(a, &sa), *pb = ds2_gguf_take_arena(b, &sb);
    int same = sa == sb && (!sa || memcmp(pa, pb, (size_t)(ds2_gguf_bytes_expected(a) - ds2_gguf_data_offset(a))) == 0);
    ds2_arena_free(pa);
    ds2_arena_free(pb);
    return same;
}

/* ===== Valid files ================================================================================ */

/* Checks every value of the rich file and the tensor bytes against the built buffer. */
static int check_rich(ds2_gguf *g, const built *b, uint32_t version, uint32_t align, int has_align_kv) {
#define CHK(c)                                                                     \
    do {                                                                           \
        if (!(c)) {                                                                \
            printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #c);         \
            return 0;                                                              \
        }                                                                          \
    } while (0)
    const ds2_gguf_kv *kv;
    CHK(ds2_gguf_version(g) == version);
    CHK(ds2_gguf_alignment(g) == align);
    CHK(ds2_gguf_directory_ready(g));
    CHK(ds2_gguf_n_kv(g) == 26 + has_align_kv);
    CHK((kv = ds2_gguf_find_kv(g, "general.architecture")) && kv->type == DS2_GGUF_STRING &&
        !strcmp(kv->str, "deepseek2") && kv->str_len == 9);
    CHK(ds2_gguf_kv_at(g, 0) == kv && !strcmp(ds2_gguf_kv_at(g, 0)->key, "general.architecture"));
    CHK((kv = ds2_gguf_find_kv(g, "test.u8")) && kv->type == DS2_GGUF_U8 && kv->u64 == 200 && kv->i64 == 200 &&
        kv->f64 == 200);
    CHK((kv = ds2_gguf_find_kv(g, "test.i8")) && kv->type == DS2_GGUF_I8 && kv->i64 == -5 && kv->u64 == 0 &&
        kv->f64 == -5);
    CHK((kv = ds2_gguf_find_kv(g, "test.u16")) && kv->u64 == 65000 && kv->i64 == 65000);
    CHK((kv = ds2_gguf_find_kv(g, "test.i16")) && kv->i64 == -30000 && kv->f64 == -30000);
    CHK((kv = ds2_gguf_find_kv(g, "test.u32")) && kv->type == DS2_GGUF_U32 && kv->u64 == 4000000000u &&
        kv->i64 == 4000000000ll && kv->f64 == 4e9);
    CHK((kv = ds2_gguf_find_kv(g, "test.i32")) && kv->type == DS2_GGUF_I32 && kv->i64 == -2000000000);
    CHK((kv = ds2_gguf_find_kv(g, "test.f32")) && kv->type == DS2_GGUF_F32 && kv->f64 == 1.5 && kv->i64 == 1 &&
        kv->u64 == 1);
    CHK((kv = ds2_gguf_find_kv(g, "test.bool_t")) && kv->type == DS2_GGUF_BOOL && kv->u64 == 1 && kv->i64 == 1 &&
        kv->f64 == 1);
    CHK((kv = ds2_gguf_find_kv(g, "test.bool_f")) && kv->u64 == 0 && kv->i64 == 0);
    CHK((kv = ds2_gguf_find_kv(g, "test.str")) && !strcmp(kv->str, "hello, world") && kv->str_len == 12);
    CHK((kv = ds2_gguf_find_kv(g, "test.str_empty")) && kv->str && kv->str[0] == 0 && kv->str_len == 0);
    CHK((kv = ds2_gguf_find_kv(g, "test.u64")) && kv->u64 == 18000000000000000000ull && kv->i64 == INT64_MAX);
    CHK((kv = ds2_gguf_find_kv(g, "test.i64")) && kv->i64 == -9000000000000000000ll && kv->u64 == 0);
    CHK((kv = ds2_gguf_find_kv(g, "test.f64")) && kv->type == DS2_GGUF_F64 && kv->f64 == -2.75e100 &&
        kv->i64 == INT64_MIN && kv->u64 == 0);
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_u8")) && kv->type == DS2_GGUF_ARRAY && kv->arr_type == DS2_GGUF_U8 &&
        kv->arr_n == 3 && !memcmp(kv->arr_data, "\x01\x02\xff", 3));
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_i32")) && kv->arr_type == DS2_GGUF_I32 && kv->arr_n == 5 &&
        !memcmp(kv->arr_data, k_i32s, sizeof k_i32s)); /* little-endian host (x86, wasm) */
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_f32")) && kv->arr_n == 3 && !memcmp(kv->arr_data, k_f32s, sizeof k_f32s));
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_bool")) && kv->arr_type == DS2_GGUF_BOOL && kv->arr_n == 2 &&
        !memcmp(kv->arr_data, "\x01\x00", 2));
    {
        const uint64_t want[2] = {1, ~0ull};
        CHK((kv = ds2_gguf_find_kv(g, "test.arr_u64")) && kv->arr_n == 2 && !memcmp(kv->arr_data, want, 16));
        const double wd = 3.25;
        CHK((kv = ds2_gguf_find_kv(g, "test.arr_f64")) && kv->arr_n == 1 && !memcmp(kv->arr_data, &wd, 8));
        const int16_t wi = -2;
        CHK((kv = ds2_gguf_find_kv(g, "test.arr_i16")) && kv->arr_n == 1 && !memcmp(kv->arr_data, &wi, 2));
    }
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_empty")) && kv->arr_type == DS2_GGUF_I32 && kv->arr_n == 0);
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_str")) && kv->arr_type == DS2_GGUF_STRING && kv->arr_n == 5);
    for (int i = 0; i < 5; i++) {
        CHK(kv->arr_str_lens[i] == k_str_lens[i]);
        CHK(!memcmp(kv->arr_strs[i], k_strs[i], (size_t)k_str_lens[i]) && kv->arr_strs[i][k_str_lens[i]] == 0);
    }
    CHK((kv = ds2_gguf_find_kv(g, "test.arr_str_empty")) && kv->arr_type == DS2_GGUF_STRING && kv->arr_n == 0);
    CHK((kv = ds2_gguf_find_kv(g, "test.last")) && kv->u64 == 7);
    CHK(ds2_gguf_find_kv(g, "test.missing") == NULL);
    if (has_align_kv) CHK((kv = ds2_gguf_find_kv(g, "general.alignment")) && kv->u64 == align);

    CHK(ds2_gguf_n_tensors(g) == N_TENSORS);
    CHK(ds2_gguf_data_offset(g) == b->data_start && b->data_start % align == 0);
    CHK(ds2_gguf_bytes_expected(g) == b->data_start + b->data_size);
    CHK(ds2_gguf_bytes_fed(g) == b->w.n);
    for (int i = 0; i < N_TENSORS; i++) {
        const ds2_gguf_tensor *t = ds2_gguf_tensor_at(g, i);
        CHK(t && ds2_gguf_find_tensor(g, k_tensors[i].name) == t);
        CHK(!strcmp(t->name, k_tensors[i].name) && t->n_dims == k_tensors[i].n_dims && t->type == k_tensors[i].type);
        for (int d = 0; d < 4; d++) CHK(t->ne[d] == k_tensors[i].ne[d]);
        CHK(t->offset == b->offsets[i] && t->offset % align == 0);
        CHK(t->nbytes == spec_bytes(&k_tensors[i]));
        CHK(((uintptr_t)t->data % align) == 0);
        CHK(((uintptr_t)((const char *)t->data - t->offset) % 64) == 0); /* the arena */
        CHK(!t->nbytes || !memcmp(t->data, b->w.p + b->data_start + t->offset, t->nbytes));
    }
    CHK(ds2_gguf_tensor_at(g, N_TENSORS) == NULL && ds2_gguf_tensor_at(g, -1) == NULL);
    CHK(ds2_gguf_find_tensor(g, "nope") == NULL);
    CHK(ds2_gguf_find_tensor(g, "four.dims")->nbytes == 16);
    CHK(ds2_gguf_find_tensor(g, "blk.0.attn_q.weight")->nbytes == 2 * 2 * 34);
    CHK(ds2_gguf_find_tensor(g, "blk.0.ffn_gate_exps.weight")->nbytes == 2 * 144);
    return 1;
#undef CHK
}

static void check_variant(uint32_t version, int align_mode, uint32_t align, int *ok) {
    kvopts o = {0};
    o.align_mode = align_mode;
    o.align = align;
    uint32_t eff = align_mode ? align : 32;
    built b;
    build(&b, version, &o, k_tensors, N_TENSORS, eff);
    static const size_t chunks[] = {0, 1, 2, 3, 7, 65536};
    result ref = parse(b.w.p, b.w.n, 0, 0);
    *ok = ref.finish_st == DS2_OK && check_rich(ref.g, &b, version, eff, align_mode != 0);
    if (!*ok) printf("  whole-file parse: %s (%s)\n", ds2_status_name(ref.finish_st), ref.err.message);
    for (size_t c = 1; *ok && c < sizeof chunks / sizeof chunks[0]; c++) {
        for (int with_total = 0; with_total < 2 && *ok; with_total++) {
            result r = parse(b.w.p, b.w.n, chunks[c], with_total ? b.w.n : 0);
            *ok = r.finish_st == DS2_OK && check_rich(r.g, &b, version, eff, align_mode != 0);
            if (*ok) {
                result r2 = parse(b.w.p, b.w.n, 0, 0);
                *ok = same_result(r.g, r2.g);
                ds2_gguf_free(r2.g);
            }
            if (!*ok)
                printf("  chunk %zu total %d: %s (%s)\n", chunks[c], with_total, ds2_status_name(r.finish_st),
                       r.err.message);
            ds2_gguf_free(r.g);
        }
    }
    ds2_gguf_free(ref.g);
    free(b.w.p);
}

TEST(valid_v3_default_alignment) {
    int ok;
    check_variant(3, 0, 32, &ok);
    ASSERT_TRUE(ok);
}

TEST(valid_v2_default_alignment) {
    int ok;
    check_variant(2, 0, 32, &ok);
    ASSERT_TRUE(ok);
}

TEST(valid_v3_alignment_64) {
    int ok;
    check_variant(3, 1, 64, &ok);
    ASSERT_TRUE(ok);
}

TEST(valid_v3_alignment_1_and_256) {
    int ok;
    check_variant(3, 1, 1, &ok);
    ASSERT_TRUE(ok);
    check_variant(2, 1, 256, &ok);
    ASSERT_TRUE(ok);
}

TEST(vocab_only_and_trailing_bytes) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, NULL, 0, 32);
    /* no padding is needed after the header of a file without tensors */
    result r = parse(b.w.p, (size_t)b.header_end, 1, 0);
    ASSERT_STATUS(r.finish_st, DS2_OK, r.err);
    ASSERT_TRUE(ds2_gguf_directory_ready(r.g));
    ASSERT_EQ_I64(ds2_gguf_n_tensors(r.g), 0);
    ASSERT_EQ_I64(ds2_gguf_bytes_expected(r.g), b.header_end);
    size_t sz = 123;
    ASSERT_TRUE(ds2_gguf_take_arena(r.g, &sz) == NULL && sz == 0);
    ds2_gguf_free(r.g);
    free(b.w.p);

    /* bytes after the data section are ignored */
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    for (int i = 0; i < 100; i++) w_u8(&b.w, 0xab);
    r = parse(b.w.p, b.w.n, 7, b.w.n);
    ASSERT_STATUS(r.finish_st, DS2_OK, r.err);
    ASSERT_EQ_I64(ds2_gguf_bytes_fed(r.g), b.w.n);
    ASSERT_EQ_I64(ds2_gguf_bytes_expected(r.g), b.w.n - 100);
    size_t asz;
    void *arena = ds2_gguf_take_arena(r.g, &asz);
    ASSERT_TRUE(arena && asz >= b.data_size);
    ASSERT_TRUE(ds2_gguf_take_arena(r.g, NULL) == NULL);
    const ds2_gguf_tensor *t = ds2_gguf_find_tensor(r.g, "token_embd.weight");
    ASSERT_TRUE(t->data == (char *)arena + t->offset);
    ds2_gguf_free(r.g); /* the arena survives the reader */
    ASSERT_TRUE(memcmp(arena, b.w.p + b.data_start, (size_t)b.data_size) == 0);
    ds2_arena_free(arena);
    free(b.w.p);
}

TEST(directory_ready_before_data) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    ds2_gguf *g;
    ds2_error err;
    ASSERT_STATUS(ds2_gguf_create(b.w.n, &g, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_gguf_feed(g, b.w.p, (size_t)b.header_end - 1, &err), DS2_OK, err);
    ASSERT_TRUE(!ds2_gguf_directory_ready(g) && ds2_gguf_bytes_expected(g) == 0);
    ASSERT_STATUS(ds2_gguf_feed(g, b.w.p + b.header_end - 1, 1, &err), DS2_OK, err);
    ASSERT_TRUE(ds2_gguf_directory_ready(g));
    ASSERT_EQ_I64(ds2_gguf_bytes_expected(g), b.w.n);
    ASSERT_STATUS(ds2_gguf_feed(g, NULL, 0, &err), DS2_OK, err);
    ASSERT_STATUS(ds2_gguf_finish(g, &err), DS2_E_TRUNCATED, err);
    ds2_gguf_free(g);
    free(b.w.p);
}

/* ===== Broken files =============================================================================== */

static int g_quiet; /* no verbose listing (loops over many cuts) */

/* Parses with whole-buffer, 1-byte and 3-byte feeding, with and without total_bytes; all must give `want`.
 * Also checks the error is sticky and names something. */
static int expect_status(const uint8_t *p, size_t n, ds2_status want, const char *label) {
    static const size_t chunks[] = {0, 1, 3};
    for (int c = 0; c < 3; c++) {
        for (int with_total = 0; with_total < 2; with_total++) {
            result r = parse(p, n, chunks[c], with_total ? n : 0);
            int ok = r.finish_st == want;
            if (ok && want != DS2_OK) {
                ds2_error e2;
                ok = ds2_gguf_feed(r.g, "x", 1, &e2) == want && !strcmp(e2.message, r.err.message) &&
                     ds2_gguf_finish(r.g, &e2) == want && strlen(r.err.message) > 10;
            }
            if (!ok) {
                printf("  %s (chunk %zu, total %d): got %s, want %s: %s\n", label, chunks[c], with_total,
                       ds2_status_name(r.finish_st), ds2_status_name(want), r.err.message);
                ds2_gguf_free(r.g);
                return 0;
            }
            if (c == 0 && with_total == 0 && want != DS2_OK && getenv("DS2_TEST_VERBOSE") && !g_quiet)
                printf("    %-28s %s: %s\n", label, ds2_status_name(want), r.err.message);
            ds2_gguf_free(r.g);
        }
    }
    return 1;
}

static int expect_kv_variant(const kvopts *o, ds2_status want, const char *label) {
    built b;
    build(&b, 3, o, k_tensors, N_TENSORS, o->align_mode == 1 && o->align && !(o->align & (o->align - 1)) ? o->align : 32);
    int ok = expect_status(b.w.p, b.w.n, want, label);
    free(b.w.p);
    return ok;
}

static int expect_tensor_variant(const tspec *ts, int nt, ds2_status want, const char *label) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, ts, nt, 32);
    int ok = expect_status(b.w.p, b.w.n, want, label);
    free(b.w.p);
    return ok;
}

TEST(bad_magic_and_version) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    b.w.p[0] = 'X';
    ASSERT_TRUE(expect_status(b.w.p, b.w.n, DS2_E_BAD_MAGIC, "bad magic"));
    b.w.p[0] = 'G';
    static const uint32_t bad[] = {0, 1, 4, 0x03000000u, 0xffffffffu};
    for (int i = 0; i < 5; i++) {
        patch_u32(&b.w, 4, bad[i]);
        ASSERT_TRUE(expect_status(b.w.p, b.w.n, DS2_E_BAD_VERSION, "bad version"));
    }
    patch_u32(&b.w, 4, 3);
    ASSERT_TRUE(expect_status(b.w.p, b.w.n, DS2_OK, "restored"));
    free(b.w.p);
}

TEST(every_prefix_is_truncated) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    for (size_t len = 0; len < b.w.n; len++) {
        for (int mode = 0; mode < 3; mode++) {
            /* mode 0: whole prefix, 1: one byte at a time, 2: whole prefix with total_bytes = prefix length */
            result r = parse(b.w.p, len, mode == 1 ? 1 : 0, mode == 2 ? len : 0);
            if (r.finish_st != DS2_E_TRUNCATED)
                FAIL_("prefix %zu mode %d: got %s: %s", len, mode, ds2_status_name(r.finish_st), r.err.message);
            ds2_gguf_free(r.g);
        }
    }
    /* a prefix fed with the real total_bytes is fine until finish */
    result r = parse(b.w.p, b.w.n - 1, 0, b.w.n);
    ASSERT_STATUS(r.feed_st, DS2_OK, r.err);
    ASSERT_STATUS(r.finish_st, DS2_E_TRUNCATED, r.err);
    ds2_gguf_free(r.g);
    free(b.w.p);
}

TEST(offset_past_end) {
    tspec ts[2] = {{"a", 1, {8, 1, 1, 1}, DS2_F32, 0}, {"b", 1, {8, 1, 1, 1}, DS2_F32, 1 << 20}};
    kvopts o = {0};
    built b;
    build(&b, 3, &o, ts, 2, 32);
    /* write the file as if b were at 32: data ends at 64, b's real offset is far beyond the file */
    b.w.n = (size_t)b.data_start;
    for (int i = 0; i < 64; i++) w_u8(&b.w, data_byte((uint64_t)i));
    result r = parse(b.w.p, b.w.n, 0, 0);
    ASSERT_STATUS(r.feed_st, DS2_OK, r.err);
    ASSERT_STATUS(r.finish_st, DS2_E_BAD_OFFSET, r.err);
    ASSERT_TRUE(strstr(r.err.message, "'b'") && strstr(r.err.message, "1048576"));
    ds2_gguf_free(r.g);
    /* with total_bytes the feed that completes the directory already fails */
    r = parse(b.w.p, (size_t)b.header_end, 0, b.w.n);
    ASSERT_STATUS(r.feed_st, DS2_E_BAD_OFFSET, r.err);
    ds2_gguf_free(r.g);
    ASSERT_TRUE(expect_status(b.w.p, b.w.n, DS2_E_BAD_OFFSET, "offset past end"));
    free(b.w.p);

    /* a tensor of a packed file moved to where the data section ends: its old place is a hole */
    built p;
    build(&p, 3, &o, k_tensors, N_TENSORS, 32);
    for (int which = 0; which < N_TENSORS; which++) {
        if (spec_bytes(&k_tensors[which]) <= 32) continue; /* a hole within the padding is not visible */
        tspec moved[N_TENSORS];
        memcpy(moved, k_tensors, sizeof moved);
        for (int i = 0; i < N_TENSORS; i++) moved[i].offset = p.offsets[i];
        moved[which].offset = (p.data_size + 31) / 32 * 32;
        built q;
        build(&q, 3, &o, moved, N_TENSORS, 32);
        /* q's header (same length as p's) followed by p's padding and data */
        uint8_t *f = malloc(p.w.n);
        memcpy(f, p.w.p, p.w.n);
        memcpy(f, q.w.p, (size_t)q.header_end);
        int ok = q.header_end == p.header_end && expect_status(f, p.w.n, DS2_E_BAD_OFFSET, "tensor moved to the end");
        free(f);
        free(q.w.p);
        if (!ok) FAIL_("moving tensor %d", which);
    }
    free(p.w.p);

    /* a single tensor beyond the end */
    tspec one = {"only", 2, {32, 2, 1, 1}, DS2_Q8_0, 4096};
    build(&b, 3, &o, &one, 1, 32);
    b.w.n = (size_t)b.data_start + 10;
    ASSERT_TRUE(expect_status(b.w.p, b.w.n, DS2_E_BAD_OFFSET, "single tensor past end"));
    free(b.w.p);
}

TEST(truncated_data) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    g_quiet = 1;
    for (uint64_t cut = b.header_end; cut < b.w.n; cut += 5) {
        if (!expect_status(b.w.p, (size_t)cut, DS2_E_TRUNCATED, "truncated data")) {
            g_quiet = 0;
            FAIL_("cut at %llu", (unsigned long long)cut);
        }
    }
    g_quiet = 0;
    free(b.w.p);
}

TEST(bad_tensors) {
    tspec t[2] = {{"a", 1, {32, 1, 1, 1}, DS2_F32, AUTO}, {"b", 2, {32, 2, 1, 1}, DS2_Q8_0, AUTO}};
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_OK, "ok"));
    t[1].offset = 16;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_MISALIGNED, "misaligned offset"));
    t[1].offset = 64; /* a is 0..128, so b at 64 overlaps it */
    t[0].offset = 0;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_OFFSET, "overlap"));
    t[0].offset = t[1].offset = AUTO;
    t[1].type = 4; /* removed Q4_2 */
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_UNKNOWN_DTYPE, "unknown dtype 4"));
    t[1].type = 1000;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_UNKNOWN_DTYPE, "unknown dtype 1000"));
    t[1].type = -1;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_UNKNOWN_DTYPE, "unknown dtype -1"));
    t[1].type = DS2_Q8_0;
    t[1].n_dims = 5;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_TENSOR, "n_dims 5"));
    t[1].n_dims = 0;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_TENSOR, "n_dims 0"));
    t[1].n_dims = 2;
    t[1].ne[0] = 48;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_TENSOR, "ne0 not a multiple of the block"));
    t[1].ne[0] = 32;
    t[1].ne[1] = -2;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_TENSOR, "negative ne"));
    t[1].ne[0] = (int64_t)1 << 40;
    t[1].ne[1] = (int64_t)1 << 40;
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_OVERFLOW, "element count overflow"));
    t[1].type = DS2_F64;
    t[1].n_dims = 1;
    t[1].ne[0] = (int64_t)1 << 62; /* element count fits, bytes do not */
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_OVERFLOW, "byte size overflow"));
    t[1].ne[0] = 32;
    t[1].type = DS2_Q8_0;
    t[1].offset = UINT64_MAX - 31; /* aligned, but offset + size wraps */
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_OFFSET, "offset + size overflow"));
    t[1].offset = AUTO;
    t[1].name = "a";
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_DUPLICATE, "duplicate tensor"));
    t[1].name = "0123456789012345678901234567890123456789012345678901234567890123"; /* 64 bytes */
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_E_BAD_TENSOR, "name of 64 bytes"));
    t[1].name = "012345678901234567890123456789012345678901234567890123456789012"; /* 63 bytes: fine */
    ASSERT_TRUE(expect_tensor_variant(t, 2, DS2_OK, "name of 63 bytes"));
}

TEST(misaligned_with_custom_alignment) {
    tspec t[2] = {{"a", 1, {8, 1, 1, 1}, DS2_F32, 0}, {"b", 1, {8, 1, 1, 1}, DS2_F32, 32}};
    kvopts o = {0};
    o.align_mode = 1;
    o.align = 64;
    built b;
    build(&b, 3, &o, t, 2, 64);
    ASSERT_TRUE(expect_status(b.w.p, b.w.n, DS2_E_MISALIGNED, "offset 32 with alignment 64"));
    free(b.w.p);
}

TEST(bad_kvs) {
    kvopts o;
    memset(&o, 0, sizeof o), o.dup_key = 1;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_DUPLICATE, "duplicate key"));
    memset(&o, 0, sizeof o), o.bad_type = 13;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_KV_TYPE, "kv type 13"));
    memset(&o, 0, sizeof o), o.bad_type = -1;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_KV_TYPE, "kv type -1"));
    memset(&o, 0, sizeof o), o.nested = 1;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_KV_TYPE, "nested array"));
    memset(&o, 0, sizeof o), o.bad_elem_type = 99;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_KV_TYPE, "array element type 99"));
    memset(&o, 0, sizeof o), o.align_mode = 1, o.align = 3;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_ALIGNMENT, "alignment 3"));
    memset(&o, 0, sizeof o), o.align_mode = 1, o.align = 0;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_ALIGNMENT, "alignment 0"));
    memset(&o, 0, sizeof o), o.align_mode = 2, o.align = 32;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_BAD_ALIGNMENT, "alignment as i32"));
    memset(&o, 0, sizeof o), o.str_len = (uint64_t)1 << 40;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_OVERFLOW, "string length 2^40"));
    memset(&o, 0, sizeof o), o.str_len = UINT64_MAX;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_OVERFLOW, "string length 2^64-1"));
    memset(&o, 0, sizeof o), o.arr_count = (uint64_t)1 << 40;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_OVERFLOW, "array count 2^40"));
    memset(&o, 0, sizeof o), o.arr_count = UINT64_MAX;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_OVERFLOW, "array count 2^64-1"));
    /* plausible-looking but larger than the file: truncated (at once when the size is known) */
    memset(&o, 0, sizeof o), o.arr_count = 1000000;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_TRUNCATED, "array count beyond the file"));
    memset(&o, 0, sizeof o), o.str_len = 1000000;
    ASSERT_TRUE(expect_kv_variant(&o, DS2_E_TRUNCATED, "string beyond the file"));
}

TEST(absurd_counts) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    static const uint64_t bad[] = {(uint64_t)1 << 40, UINT64_MAX, (uint64_t)1 << 63, ((uint64_t)1 << 20) + 1};
    for (int i = 0; i < 4; i++) {
        uint8_t *c = malloc(b.w.n);
        memcpy(c, b.w.p, b.w.n);
        wb w = {c, b.w.n, b.w.n};
        patch_u64(&w, 8, bad[i]);
        int ok = expect_status(c, b.w.n, DS2_E_OVERFLOW, "absurd n_tensors");
        memcpy(c, b.w.p, b.w.n);
        patch_u64(&w, 16, bad[i]);
        ok = ok && expect_status(c, b.w.n, DS2_E_OVERFLOW, "absurd n_kv");
        free(c);
        ASSERT_TRUE(ok);
    }
    free(b.w.p);
}

TEST(free_mid_stream) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    /* stop at every byte: the reader must free whatever is in progress (LSan checks) */
    for (size_t len = 0; len <= b.w.n; len++) {
        ds2_gguf *g;
        if (ds2_gguf_create(0, &g, NULL) != DS2_OK) FAIL_("create");
        if (ds2_gguf_feed(g, b.w.p, len, NULL) != DS2_OK) FAIL_("feed %zu", len);
        ds2_gguf_free(g);
    }
    ds2_gguf_free(NULL);
    free(b.w.p);
}

/* ===== Linear time ================================================================================ */

TEST(linear_one_byte_feeding_of_a_large_vocab) {
    enum { N = 100000 };
    wb w = {0};
    wb_put(&w, "GGUF", 4);
    w_u32(&w, 3);
    w_u64(&w, 1);
    w_u64(&w, 2);
    w_key(&w, "tokenizer.ggml.tokens", DS2_GGUF_ARRAY), w_u32(&w, DS2_GGUF_STRING), w_u64(&w, N);
    char s[32];
    for (int i = 0; i < N; i++) {
        snprintf(s, sizeof s, "tok%d", i);
        w_str(&w, s);
    }
    w_key(&w, "tokenizer.ggml.token_type", DS2_GGUF_ARRAY), w_u32(&w, DS2_GGUF_I32), w_u64(&w, N);
    for (int i = 0; i < N; i++) w_u32(&w, (uint32_t)(i % 7));
    w_str(&w, "t"), w_u32(&w, 1), w_u64(&w, 4096), w_u32(&w, DS2_F32), w_u64(&w, 0);
    while (w.n % 32) w_u8(&w, 0);
    for (int i = 0; i < 4096 * 4; i++) w_u8(&w, (uint8_t)i);

    clock_t t0 = clock();
    result r = parse(w.p, w.n, 1, 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("    1-byte feeding of %zu bytes (100k-string vocab): %.3f s (%.1f MB/s)\n", w.n, secs,
           (double)w.n / 1e6 / (secs > 0 ? secs : 1e-9));
    ASSERT_STATUS(r.finish_st, DS2_OK, r.err);
    const ds2_gguf_kv *kv = ds2_gguf_find_kv(r.g, "tokenizer.ggml.tokens");
    ASSERT_TRUE(kv && kv->arr_n == N && !strcmp(kv->arr_strs[N - 1], "tok99999") && kv->arr_str_lens[12345] == 8);
    kv = ds2_gguf_find_kv(r.g, "tokenizer.ggml.token_type");
    ASSERT_TRUE(kv && kv->arr_n == N && ((const int32_t *)kv->arr_data)[N - 1] == (N - 1) % 7);
    ASSERT_TRUE(memcmp(ds2_gguf_find_tensor(r.g, "t")->data, w.p + w.n - 4096 * 4, 4096 * 4) == 0);
    ds2_gguf_free(r.g);
    ASSERT_TRUE(secs < 3.0);
    free(w.p);
}

/* ===== Random mutations =========================================================================== */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

TEST(random_mutations_never_crash) {
    kvopts o = {0};
    built b;
    build(&b, 3, &o, k_tensors, N_TENSORS, 32);
    uint8_t *c = malloc(b.w.n);
    int counts[DS2_STATUS_COUNT] = {0};
    for (int it = 0; it < 4000; it++) {
        memcpy(c, b.w.p, b.w.n);
        /* Real hosts know the file size; without it a mutated directory may legitimately ask for a huge arena
         * (slow under ASan), so the unknown-size runs do not mutate the tensor infos. */
        int known_size = rng() % 4 != 0;
        int nmut = 1 + (int)(rng() % 4);
        for (int m = 0; m < nmut; m++) {
            /* mostly the header (where the structure is); sometimes anywhere */
            size_t at = (size_t)(rng() % (rng() % 4 ? b.header_end : b.w.n));
            if (!known_size && at >= b.ti_start && at < b.header_end) at = (size_t)(rng() % b.ti_start);
            switch (rng() % 4) {
            case 0: c[at] = (uint8_t)rng(); break;
            case 1: c[at] ^= (uint8_t)(1u << (rng() % 8)); break;
            case 2: c[at] = 0xff; break;
            default: c[at] = 0; break;
            }
        }
        size_t len = rng() % 8 ? b.w.n : (size_t)(rng() % b.w.n);
        size_t chunk = rng() % 3 == 0 ? 1 : (size_t)(rng() % 100);
        result r = parse(c, len, chunk, known_size ? len : 0);
        if ((unsigned)r.finish_st >= DS2_STATUS_COUNT) FAIL_("iteration %d: status %d", it, (int)r.finish_st);
        counts[r.finish_st]++;
        ds2_gguf_free(r.g);
    }
    if (getenv("DS2_TEST_VERBOSE"))
        for (int s = 0; s < DS2_STATUS_COUNT; s++)
            if (counts[s]) printf("    %-24s %d\n", ds2_status_name((ds2_status)s), counts[s]);
    ASSERT_TRUE(counts[DS2_OK] > 0 && counts[DS2_E_TRUNCATED] > 0);
    free(c);
    free(b.w.p);
}

TEST(arena_alloc) {
    void *p = ds2_arena_alloc(100, 0);
    ASSERT_TRUE(p && (uintptr_t)p % 64 == 0);
    ds2_arena_free(p);
    p = ds2_arena_alloc(1, 4096);
    ASSERT_TRUE(p && (uintptr_t)p % 4096 == 0);
    ds2_arena_free(p);
    ASSERT_TRUE(ds2_arena_alloc(10, 96) == NULL);
    ASSERT_TRUE(ds2_arena_alloc(SIZE_MAX - 10, 64) == NULL);
    ds2_arena_free(NULL);
}

int main(void) {
    RUN(valid_v3_default_alignment);
    RUN(valid_v2_default_alignment);
    RUN(valid_v3_alignment_64);
    RUN(valid_v3_alignment_1_and_256);
    RUN(vocab_only_and_trailing_bytes);
    RUN(directory_ready_before_data);
    RUN(bad_magic_and_version);
    RUN(every_prefix_is_truncated);
    RUN(offset_past_end);
    RUN(truncated_data);
    RUN(bad_tensors);
    RUN(misaligned_with_custom_alignment);
    RUN(bad_kvs);
    RUN(absurd_counts);
    RUN(free_mid_stream);
    RUN(linear_one_byte_feeding_of_a_large_vocab);
    RUN(random_mutations_never_crash);
    RUN(arena_alloc);
    return test_summary();
}
