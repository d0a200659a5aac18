/* gguf.c — incremental, bounds-checked GGUF reader (reference §3.1; interface and invariants in gguf.h).
 *
 * The parser is a resumable state machine at the granularity of primitives: a fixed-size integer (buffered in
 * `pb` until complete), the bytes of a string (copied straight into their final NUL-terminated allocation),
 * the bytes of a numeric array (copied into its growing buffer), and finally tensor data (copied straight
 * into the weights arena). Nothing is ever re-parsed, so any chunking — including one byte at a time — costs
 * time linear in the file size.
 *
 * Layout (all little-endian):  "GGUF" u32 version, i64 n_tensors, i64 n_kv,
 *   n_kv × (string key, i32 type, value),  n_tensors × (string name, u32 n_dims, i64 ne[n_dims], i32 type,
 *   u64 offset),  padding to the alignment,  data section (tensor i at data_start + offset_i).
 *
 * Hostile input: every count is capped and every product is overflow-checked before anything is allocated;
 * containers grow geometrically with the bytes actually received, so a header that claims 2^31 elements
 * cannot make us allocate more than what was fed (plus a constant factor). When the file size is known
 * (total_bytes), claims that could never fit in it are rejected as soon as they are read.
 */
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#define _DEFAULT_SOURCE /* madvise */
#include <sys/mman.h>
#endif
#include "gguf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error.h"

/* ===== Limits ===================================================================================== */

#define GGUF_MAX_STRING ((uint64_t)1 << 30)  /* one string (a chat template is KBs; 1 GiB is absurd) */
#define GGUF_MAX_ARRAY ((uint64_t)1 << 31)   /* elements of one array (vocabularies are ~130k) */
#define GGUF_MAX_TENSORS ((int64_t)1 << 20)  /* V3 has ~1100 */
#define GGUF_MAX_KV ((int64_t)1 << 20)       /* real files have ~50 */
#define GGUF_MAX_NAME 64                     /* tensor names are < 64 bytes (GGML_MAX_NAME) */
#define GGUF_DEFAULT_ALIGNMENT 32u
/* Smallest possible encodings, used to reject counts that cannot fit in a file of known size. */
#define GGUF_MIN_KV_BYTES 13u      /* u64 key length + i32 type + 1-byte value */
#define GGUF_MIN_TENSOR_BYTES 32u  /* u64 name length + u32 n_dims + i64 ne + i32 type + u64 offset */

/* ===== Parser state =============================================================================== */

enum {
    ST_MAGIC, ST_VERSION, ST_N_TENSORS, ST_N_KV,
    ST_KV_KEY_LEN, ST_KV_KEY, ST_KV_TYPE, ST_KV_SCALAR, ST_KV_STR_LEN, ST_KV_STR,
    ST_ARR_TYPE, ST_ARR_COUNT, ST_ARR_NUM, ST_ARR_STR_LEN, ST_ARR_STR,
    ST_TI_NAME_LEN, ST_TI_NAME, ST_TI_NDIMS, ST_TI_NE, ST_TI_TYPE, ST_TI_OFFSET,
    ST_PAD, ST_DATA, ST_DONE, ST_ERROR
};

/* Open-addressing set of item indices (slot = index + 1, 0 = empty), keyed by the item's bytes. */
typedef struct hset {
    uint32_t *slots;
    uint32_t cap; /* power of two, or 0 */
    uint32_t n;
} hset;

struct ds2_gguf {
    uint64_t total;      /* file size if known, else 0 */
    uint64_t pos;        /* bytes consumed so far (= bytes fed) */
    int state;
    ds2_status status;   /* sticky error */
    char msg[256];

    uint8_t pb[8];       /* the fixed-size primitive in progress */
    uint32_t pb_n;

    uint32_t version;
    int64_t n_tensors_decl, n_kv_decl;
    uint32_t alignment;

    /* KVs: kvs[0 .. n_kv) are complete; kvs[n_kv] is in progress while parsing the KV section. */
    ds2_gguf_kv *kvs;
    uint64_t *key_lens;
    int64_t n_kv, kv_cap;
    hset kv_set;

    /* the string in progress (key, string value, array string element or tensor name) */
    char *str;             /* owned by the reader until complete */
    uint64_t str_len, str_got, str_cap;

    /* the array in progress */
    uint64_t arr_i;        /* string arrays: elements complete */
    uint64_t arr_cap;      /* string arrays: slots allocated in arr_strs/arr_str_lens */
    uint8_t *arr_buf;      /* numeric arrays */
    uint64_t arr_bytes, arr_got, arr_buf_cap;

    /* tensors: tensors[0 .. n_ti) are complete; tensors[n_ti] is in progress. */
    ds2_gguf_tensor *tensors;
    uint64_t *name_lens;
    int64_t n_ti, ti_cap;
    uint32_t ne_i;
    hset ti_set;

    /* directory */
    int dir_ready;
    uint64_t header_end, data_start, data_size;
    int64_t *order;        /* tensor indices sorted by offset */
    uint8_t *arena;
    size_t arena_size;
    int arena_owned;

    /* a reader made by ds2_gguf_merge: its tensors' data lives in the shards' arenas, owned here */
    void **shard_arenas;
    int32_t n_shard_arenas;
};

/* ===== Small helpers ============================================================================== */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (uint16_t)p[1] << 8); }
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static const char *vtype_name(int32_t t) {
    static const char *const names[] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return (t >= 0 && t <= DS2_GGUF_F64) ? names[t] : "unknown";
}

/* Bytes of one scalar of type t; 0 for STRING, ARRAY and unknown types. */
static uint32_t vtype_size(int32_t t) {
    switch (t) {
    case DS2_GGUF_U8: case DS2_GGUF_I8: case DS2_GGUF_BOOL: return 1;
    case DS2_GGUF_U16: case DS2_GGUF_I16: return 2;
    case DS2_GGUF_U32: case DS2_GGUF_I32: case DS2_GGUF_F32: return 4;
    case DS2_GGUF_U64: case DS2_GGUF_I64: case DS2_GGUF_F64: return 8;
    default: return 0;
    }
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + (a - 1)) & ~(a - 1); }

/* Records a sticky error: this and every later feed/finish return it with the same message. */
static ds2_status gfail(ds2_gguf *g, ds2_error *err, ds2_status code, const char *fmt, ...) DS2_PRINTF(4, 5);
static ds2_status gfail(ds2_gguf *g, ds2_error *err, ds2_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->msg, sizeof g->msg, fmt, ap);
    va_end(ap);
    g->status = code;
    g->state = ST_ERROR;
    return ds2_fail(err, code, "%s", g->msg);
}

static uint64_t fnv1a(const char *s, uint64_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* which: 0 = KV keys, 1 = tensor names */
static const char *item_bytes(const ds2_gguf *g, int which, uint32_t idx, uint64_t *len) {
    if (which == 0) {
        *len = g->key_lens[idx];
        return g->kvs[idx].key;
    }
    *len = g->name_lens[idx];
    return g->tensors[idx].name;
}

/* Index of the item with these bytes, or -1. */
static int64_t hset_find(const ds2_gguf *g, int which, const char *s, uint64_t n) {
    const hset *h = which == 0 ? &g->kv_set : &g->ti_set;
    if (!h->cap) return -1;
    uint32_t mask = h->cap - 1;
    for (uint32_t i = (uint32_t)fnv1a(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t slot = h->slots[i];
        if (!slot) return -1;
        uint64_t len;
        const char *b = item_bytes(g, which, slot - 1, &len);
        if (len == n && memcmp(b, s, (size_t)n) == 0) return slot - 1;
    }
}

/* Adds item idx (not present yet). Keeps the load factor ≤ 1/2. */
static int hset_add(ds2_gguf *g, int which, uint32_t idx) {
    hset *h = which == 0 ? &g->kv_set : &g->ti_set;
    if ((uint64_t)(h->n + 1) * 2 > h->cap) {
        uint32_t ncap = h->cap ? h->cap * 2 : 64;
        uint32_t *ns = calloc(ncap, sizeof *ns);
        if (!ns) return 0;
        for (uint32_t i = 0; i < h->cap; i++) {
            uint32_t slot = h->slots[i];
            if (!slot) continue;
            uint64_t len;
            const char *b = item_bytes(g, which, slot - 1, &len);
            uint32_t j = (uint32_t)fnv1a(b, len) & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = slot;
        }
        free(h->slots);
        h->slots = ns;
        h->cap = ncap;
    }
    uint64_t len;
    const char *b = item_bytes(g, which, idx, &len);
    uint32_t j = (uint32_t)fnv1a(b, len) & (h->cap - 1);
    while (h->slots[j]) j = (j + 1) & (h->cap - 1);
    h->slots[j] = idx + 1;
    h->n++;
    return 1;
}

/* Grows a zero-filled array of `elem` bytes per item to hold at least `need` items (geometric). */
static int grow(void **arr, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 1;
    int64_t ncap = *cap ? *cap : 16;
    while (ncap < need) ncap *= 2;
    if ((uint64_t)ncap > SIZE_MAX / elem) return 0;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return 0;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 1;
}

/* Accumulates k (≤ 8) bytes of a primitive into g->pb; 1 when complete (g->pb holds it). */
static int need(ds2_gguf *g, const uint8_t **p, size_t *n, uint32_t k) {
    size_t take = k - g->pb_n;
    if (take > *n) take = *n;
    memcpy(g->pb + g->pb_n, *p, take);
    g->pb_n += (uint32_t)take;
    *p += take;
    *n -= take;
    g->pos += take;
    if (g->pb_n < k) return 0;
    g->pb_n = 0;
    return 1;
}

/* Copies string bytes into g->str (growing it with the bytes received: a hostile length costs nothing until
 * the bytes arrive); 1 when the whole string has arrived. */
static int take_str(ds2_gguf *g, const uint8_t **p, size_t *n, int *nomem) {
    uint64_t want = g->str_len - g->str_got;
    size_t take = want < *n ? (size_t)want : *n;
    if (g->str_got + take > g->str_cap) {
        uint64_t ncap = g->str_cap * 2;
        if (ncap < g->str_got + take) ncap = g->str_got + take;
        if (ncap > g->str_len) ncap = g->str_len;
        char *ns = realloc(g->str, (size_t)ncap + 1);
        if (!ns) {
            *nomem = 1;
            return 0;
        }
        g->str = ns;
        g->str_cap = ncap;
    }
    memcpy(g->str + g->str_got, *p, take);
    g->str_got += take;
    *p += take;
    *n -= take;
    g->pos += take;
    if (g->str_got < g->str_len) return 0;
    g->str[g->str_len] = '\0';
    return 1;
}

/* Hands the completed string to its owner. */
static char *done_str(ds2_gguf *g) {
    char *s = g->str;
    g->str = NULL;
    return s;
}

/* Validates a string length just read (ending at g->pos) and starts its NUL-terminated buffer. */
static ds2_status begin_str(ds2_gguf *g, ds2_error *err, uint64_t len, const char *what) {
    uint64_t at = g->pos - 8;
    if (len > GGUF_MAX_STRING)
        return gfail(g, err, DS2_E_OVERFLOW, "%s: string length %llu at byte %llu exceeds the limit of %llu bytes",
                     what, (unsigned long long)len, (unsigned long long)at, (unsigned long long)GGUF_MAX_STRING);
    if (g->total && len > g->total - (g->pos < g->total ? g->pos : g->total))
        return gfail(g, err, DS2_E_TRUNCATED,
                     "%s: string of %llu bytes at byte %llu extends past the end of the file (%llu bytes)", what,
                     (unsigned long long)len, (unsigned long long)at, (unsigned long long)g->total);
    g->str_cap = len < 4096 ? len : 4096;
    g->str = malloc((size_t)g->str_cap + 1);
    if (!g->str) return gfail(g, err, DS2_E_NOMEM, "%s: cannot allocate a string buffer", what);
    g->str_len = len;
    g->str_got = 0;
    return DS2_OK;
}

/* Human-readable "where are we" for messages. */
static void describe(const ds2_gguf *g, char *buf, size_t n) {
    switch (g->state) {
    case ST_MAGIC: case ST_VERSION: case ST_N_TENSORS: case ST_N_KV:
        snprintf(buf, n, "the file header");
        break;
    case ST_KV_KEY_LEN: case ST_KV_KEY:
        snprintf(buf, n, "the key of metadata entry #%lld of %lld", (long long)g->n_kv, (long long)g->n_kv_decl);
        break;
    case ST_KV_TYPE: case ST_KV_SCALAR: case ST_KV_STR_LEN: case ST_KV_STR: case ST_ARR_TYPE: case ST_ARR_COUNT:
        snprintf(buf, n, "the value of metadata key '%.100s'", g->kvs[g->n_kv].key);
        break;
    case ST_ARR_NUM:
        snprintf(buf, n, "the value of metadata key '%.100s' (array byte %llu of %llu)", g->kvs[g->n_kv].key,
                 (unsigned long long)g->arr_got, (unsigned long long)g->arr_bytes);
        break;
    case ST_ARR_STR_LEN: case ST_ARR_STR:
        snprintf(buf, n, "the value of metadata key '%.100s' (string element %llu of %llu)", g->kvs[g->n_kv].key,
                 (unsigned long long)g->arr_i, (unsigned long long)g->kvs[g->n_kv].arr_n);
        break;
    case ST_TI_NAME_LEN: case ST_TI_NAME:
        snprintf(buf, n, "the name of tensor info #%lld of %lld", (long long)g->n_ti, (long long)g->n_tensors_decl);
        break;
    case ST_TI_NDIMS: case ST_TI_NE: case ST_TI_TYPE: case ST_TI_OFFSET:
        snprintf(buf, n, "the info of tensor '%s'", g->tensors[g->n_ti].name);
        break;
    default:
        snprintf(buf, n, "the data section");
        break;
    }
}

/* ===== KV values ================================================================================== */

static void set_scalar(ds2_gguf_kv *kv, int32_t t, const uint8_t *b) {
    uint64_t u = 0;
    int64_t s = 0;
    double d = 0;
    int kind = 0; /* 0 unsigned, 1 signed, 2 float */
    switch (t) {
    case DS2_GGUF_U8: u = b[0]; break;
    case DS2_GGUF_BOOL: u = b[0] != 0; break;
    case DS2_GGUF_I8: s = (int8_t)b[0]; kind = 1; break;
    case DS2_GGUF_U16: u = rd16(b); break;
    case DS2_GGUF_I16: s = (int16_t)rd16(b); kind = 1; break;
    case DS2_GGUF_U32: u = rd32(b); break;
    case DS2_GGUF_I32: s = (int32_t)rd32(b); kind = 1; break;
    case DS2_GGUF_U64: u = rd64(b); break;
    case DS2_GGUF_I64: s = (int64_t)rd64(b); kind = 1; break;
    case DS2_GGUF_F32: {
        uint32_t x = rd32(b);
        float f;
        memcpy(&f, &x, 4);
        d = f;
        kind = 2;
        break;
    }
    case DS2_GGUF_F64: {
        uint64_t x = rd64(b);
        memcpy(&d, &x, 8);
        kind = 2;
        break;
    }
    default: break;
    }
    /* Out-of-range conversions saturate; NaN converts to 0. */
    if (kind == 0) {
        kv->u64 = u;
        kv->i64 = u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
        kv->f64 = (double)u;
    } else if (kind == 1) {
        kv->i64 = s;
        kv->u64 = s < 0 ? 0 : (uint64_t)s;
        kv->f64 = (double)s;
    } else {
        kv->f64 = d;
        if (d != d) {
            kv->i64 = 0;
            kv->u64 = 0;
        } else {
            kv->i64 = d >= 9223372036854775808.0 ? INT64_MAX : d <= -9223372036854775808.0 ? INT64_MIN : (int64_t)d;
            kv->u64 = d <= 0 ? 0 : d >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)d;
        }
    }
}

/* A KV is complete: apply general.alignment and publish it. */
static ds2_status kv_done(ds2_gguf *g, ds2_error *err) {
    ds2_gguf_kv *kv = &g->kvs[g->n_kv];
    if (strcmp(kv->key, "general.alignment") == 0 && g->key_lens[g->n_kv] == 17) {
        if (kv->type != DS2_GGUF_U32)
            return gfail(g, err, DS2_E_BAD_ALIGNMENT, "general.alignment has type %s, expected u32",
                         vtype_name(kv->type));
        uint64_t a = kv->u64;
        if (a == 0 || (a & (a - 1)))
            return gfail(g, err, DS2_E_BAD_ALIGNMENT, "general.alignment = %llu is not a nonzero power of two",
                         (unsigned long long)a);
        g->alignment = (uint32_t)a;
    }
    g->n_kv++;
    g->state = g->n_kv < g->n_kv_decl ? ST_KV_KEY_LEN : ST_TI_NAME_LEN;
    return DS2_OK;
}

/* ===== Directory ================================================================================== */

/* Sorts tensor indices by offset (merge sort: no global state, stable, O(n log n)). */
static void sort_by_offset(const ds2_gguf *g, int64_t *idx, int64_t *tmp, int64_t n) {
    if (n < 2) return;
    int64_t h = n / 2;
    sort_by_offset(g, idx, tmp, h);
    sort_by_offset(g, idx + h, tmp, n - h);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        const ds2_gguf_tensor *a = &g->tensors[idx[i]], *b = &g->tensors[idx[j]];
        int b_first = b->offset < a->offset || (b->offset == a->offset && b->nbytes < a->nbytes);
        tmp[k++] = b_first ? idx[j++] : idx[i++];
    }
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, (size_t)n * sizeof *idx);
}

/* Given the data bytes that exist (`avail`, relative to data_start), explains why the data is incomplete.
 * A writer packs tensors back to back (each padded to the alignment), so the bytes of a truncated file are
 * all covered by tensors, and the file simply stops inside (or right after) one of them: DS2_E_TRUNCATED.
 * A tensor whose offset was corrupted to lie past the end shows up as a tensor starting at/after `avail`
 * together with a gap the writer would never leave — before it, or inside the bytes that do exist (where the
 * moved tensor used to be): DS2_E_BAD_OFFSET, naming the past-the-end tensor with the largest offset. */
static ds2_status explain_short_data(ds2_gguf *g, ds2_error *err, uint64_t avail, uint64_t file_end,
                                     const char *how) {
    uint64_t prev_end = 0;
    int gap = 0;
    const ds2_gguf_tensor *first_short = NULL, *last_past = NULL;
    for (int64_t k = 0; k < g->n_ti; k++) {
        const ds2_gguf_tensor *t = &g->tensors[g->order[k]];
        if (!t->nbytes) continue;
        uint64_t expected = align_up(prev_end, g->alignment);
        if (t->offset > expected && expected <= avail) gap = 1; /* gaps wholly past the end do not count */
        if (t->offset >= avail) last_past = t;
        if (!first_short && t->offset + t->nbytes > avail) first_short = t;
        if (t->offset + t->nbytes > prev_end) prev_end = t->offset + t->nbytes;
    }
    if (last_past && gap)
        return gfail(g, err, DS2_E_BAD_OFFSET,
                     "tensor '%s': offset %llu (file byte %llu) lies past the end of the file at byte %llu (%s)",
                     last_past->name, (unsigned long long)last_past->offset,
                     (unsigned long long)(g->data_start + last_past->offset), (unsigned long long)file_end, how);
    if (!first_short) return DS2_OK;
    return gfail(g, err, DS2_E_TRUNCATED,
                 "the file ends at byte %llu (%s) but tensor '%s' needs bytes %llu..%llu", (unsigned long long)file_end,
                 how, first_short->name, (unsigned long long)(g->data_start + first_short->offset),
                 (unsigned long long)(g->data_start + first_short->offset + first_short->nbytes));
}

/* The last tensor info has been read: lay out the data section and allocate the arena. */
static ds2_status directory_done(ds2_gguf *g, ds2_error *err) {
    g->header_end = g->pos;
    if (g->pos > UINT64_MAX - g->alignment)
        return gfail(g, err, DS2_E_OVERFLOW, "header end %llu overflows", (unsigned long long)g->pos);
    g->data_start = align_up(g->pos, g->alignment);
    if (g->total && g->header_end > g->total)
        return gfail(g, err, DS2_E_TRUNCATED, "the tensor directory ends at byte %llu, past the file size %llu",
                     (unsigned long long)g->header_end, (unsigned long long)g->total);

    int64_t n = g->n_ti;
    if (n) {
        g->order = malloc((size_t)n * sizeof *g->order);
        int64_t *tmp = malloc((size_t)n * sizeof *tmp);
        if (!g->order || !tmp) {
            free(tmp);
            return gfail(g, err, DS2_E_NOMEM, "cannot allocate the tensor directory (%lld tensors)", (long long)n);
        }
        for (int64_t i = 0; i < n; i++) g->order[i] = i;
        sort_by_offset(g, g->order, tmp, n);
        free(tmp);
    }

    uint64_t end = 0;
    const ds2_gguf_tensor *end_t = NULL;
    for (int64_t k = 0; k < n; k++) {
        const ds2_gguf_tensor *t = &g->tensors[g->order[k]];
        if (!t->nbytes) continue;
        if (end_t && t->offset < end)
            return gfail(g, err, DS2_E_BAD_OFFSET,
                         "tensor '%s' (data bytes %llu..%llu) overlaps tensor '%s' (data bytes %llu..%llu)", t->name,
                         (unsigned long long)t->offset, (unsigned long long)(t->offset + t->nbytes), end_t->name,
                         (unsigned long long)end_t->offset, (unsigned long long)(end_t->offset + end_t->nbytes));
        end = t->offset + t->nbytes; /* no overflow: checked when the info was read */
        end_t = t;
    }
    g->data_size = end;
    if (end > (uint64_t)SIZE_MAX - 4096 || g->data_start > UINT64_MAX - end)
        return gfail(g, err, DS2_E_OVERFLOW, "data section of %llu bytes does not fit in memory",
                     (unsigned long long)end);

    if (g->total && end && g->data_start + end > g->total) {
        uint64_t avail = g->total > g->data_start ? g->total - g->data_start : 0;
        ds2_status st = explain_short_data(g, err, avail, g->total, "the file size given");
        if (st) return st;
    }

    if (n) {
        size_t align = g->alignment > 64 ? g->alignment : 64;
        g->arena_size = end ? (size_t)end : 1;
        g->arena = ds2_arena_alloc(g->arena_size, align);
        if (!g->arena)
            return gfail(g, err, DS2_E_NOMEM, "cannot allocate %llu bytes for the tensor data of %lld tensors",
                         (unsigned long long)end, (long long)n);
        g->arena_owned = 1;
        for (int64_t i = 0; i < n; i++) {
            ds2_gguf_tensor *t = &g->tensors[i];
            /* an empty tensor may name any aligned offset; keep its pointer inside the arena */
            t->data = g->arena + (t->offset <= end ? t->offset : 0);
        }
    }
    g->dir_ready = 1;
    g->state = end == 0 ? ST_DONE : g->pos < g->data_start ? ST_PAD : ST_DATA;
    return DS2_OK;
}

/* A tensor info is complete: validate it and publish it. */
static ds2_status tensor_done(ds2_gguf *g, ds2_error *err) {
    ds2_gguf_tensor *t = &g->tensors[g->n_ti];
    const ds2_dtype_info *di = ds2_dtype_info_get(t->type);
    if (!di) return gfail(g, err, DS2_E_UNKNOWN_DTYPE, "tensor '%s': unknown ggml type id %d", t->name, (int)t->type);
    if (t->ne[0] % di->block_elems)
        return gfail(g, err, DS2_E_BAD_TENSOR, "tensor '%s': ne[0] = %lld is not a multiple of the %s block size %d",
                     t->name, (long long)t->ne[0], di->name, (int)di->block_elems);
    uint64_t elems = 1;
    for (int d = 0; d < 4; d++) {
        uint64_t e = (uint64_t)t->ne[d];
        if (e && elems > (uint64_t)INT64_MAX / e)
            return gfail(g, err, DS2_E_OVERFLOW,
                         "tensor '%s': element count %lld x %lld x %lld x %lld overflows", t->name,
                         (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
        elems *= e;
    }
    uint64_t bytes = (uint64_t)t->ne[0] / (uint64_t)di->block_elems;
    for (int d = 0; d < 4; d++) {
        uint64_t m = d == 0 ? (uint64_t)di->block_bytes : (uint64_t)t->ne[d];
        if (m && bytes > UINT64_MAX / m)
            return gfail(g, err, DS2_E_OVERFLOW,
                         "tensor '%s': byte size of %lld x %lld x %lld x %lld %s overflows", t->name,
                         (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                         di->name);
        bytes *= m;
    }
    t->nbytes = bytes;
    if (t->offset % g->alignment)
        return gfail(g, err, DS2_E_MISALIGNED, "tensor '%s': offset %llu is not a multiple of the alignment %u",
                     t->name, (unsigned long long)t->offset, (unsigned)g->alignment);
    if (t->offset > UINT64_MAX - bytes || t->offset + bytes > (uint64_t)SIZE_MAX)
        return gfail(g, err, DS2_E_BAD_OFFSET, "tensor '%s': data at offset %llu + size %llu lies beyond any "
                     "addressable file", t->name,
                     (unsigned long long)t->offset, (unsigned long long)bytes);
    g->n_ti++;
    if (g->n_ti < g->n_tensors_decl) {
        g->state = ST_TI_NAME_LEN;
        return DS2_OK;
    }
    return directory_done(g, err);
}

/* ===== The state machine ========================================================================== */

static ds2_status run(ds2_gguf *g, const uint8_t *p, size_t n, ds2_error *err) {
    ds2_status st;
    int oom = 0;
    for (;;) {
        switch (g->state) {
        case ST_MAGIC:
            if (!need(g, &p, &n, 4)) return DS2_OK;
            if (memcmp(g->pb, "GGUF", 4) != 0)
                return gfail(g, err, DS2_E_BAD_MAGIC,
                             "not a GGUF file: bytes 0..3 are %02x %02x %02x %02x, expected 47 47 55 46 (\"GGUF\")",
                             g->pb[0], g->pb[1], g->pb[2], g->pb[3]);
            g->state = ST_VERSION;
            break;
        case ST_VERSION: {
            if (!need(g, &p, &n, 4)) return DS2_OK;
            uint32_t v = rd32(g->pb);
            if (v != 2 && v != 3) {
                if (v >= 0x01000000u && (v & 0xffffu) == 0)
                    return gfail(g, err, DS2_E_BAD_VERSION,
                                 "GGUF version field at byte 4 is 0x%08x: a big-endian file, not supported", v);
                return gfail(g, err, DS2_E_BAD_VERSION, "GGUF version %u at byte 4 is not supported (only 2 and 3)", v);
            }
            g->version = v;
            g->state = ST_N_TENSORS;
            break;
        }
        case ST_N_TENSORS: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            int64_t v = (int64_t)rd64(g->pb);
            if (v < 0 || v > GGUF_MAX_TENSORS)
                return gfail(g, err, DS2_E_OVERFLOW, "tensor count %lld at byte 8 is out of range (0..%lld)",
                             (long long)v, (long long)GGUF_MAX_TENSORS);
            if (g->total && (uint64_t)v * GGUF_MIN_TENSOR_BYTES > g->total)
                return gfail(g, err, DS2_E_TRUNCATED,
                             "tensor count %lld at byte 8 cannot fit in a file of %llu bytes", (long long)v,
                             (unsigned long long)g->total);
            g->n_tensors_decl = v;
            g->state = ST_N_KV;
            break;
        }
        case ST_N_KV: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            int64_t v = (int64_t)rd64(g->pb);
            if (v < 0 || v > GGUF_MAX_KV)
                return gfail(g, err, DS2_E_OVERFLOW, "metadata count %lld at byte 16 is out of range (0..%lld)",
                             (long long)v, (long long)GGUF_MAX_KV);
            if (g->total && (uint64_t)v * GGUF_MIN_KV_BYTES + (uint64_t)g->n_tensors_decl * GGUF_MIN_TENSOR_BYTES >
                                g->total - (g->pos < g->total ? g->pos : g->total))
                return gfail(g, err, DS2_E_TRUNCATED,
                             "%lld metadata entries and %lld tensor infos cannot fit in a file of %llu bytes",
                             (long long)v, (long long)g->n_tensors_decl, (unsigned long long)g->total);
            g->n_kv_decl = v;
            g->state = v ? ST_KV_KEY_LEN : ST_TI_NAME_LEN;
            break;
        }

        /* ---- metadata ---- */
        case ST_KV_KEY_LEN: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            if (g->n_kv == g->kv_cap) {
                if (!grow((void **)&g->kvs, &g->kv_cap, g->n_kv + 1, sizeof *g->kvs)) goto nomem;
                uint64_t *kl = realloc(g->key_lens, (size_t)g->kv_cap * sizeof *kl); /* same capacity as kvs */
                if (!kl) goto nomem;
                g->key_lens = kl;
            }
            char what[64];
            snprintf(what, sizeof what, "key of metadata entry #%lld", (long long)g->n_kv);
            if ((st = begin_str(g, err, rd64(g->pb), what))) return st;
            g->state = ST_KV_KEY;
            break;
        }
        case ST_KV_KEY: {
            if (!take_str(g, &p, &n, &oom)) goto more;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            g->key_lens[g->n_kv] = g->str_len;
            kv->key = done_str(g);
            if (hset_find(g, 0, kv->key, g->str_len) >= 0)
                return gfail(g, err, DS2_E_DUPLICATE, "duplicate metadata key '%.150s' (entry #%lld, ending at byte %llu)",
                             kv->key, (long long)g->n_kv, (unsigned long long)g->pos);
            if (!hset_add(g, 0, (uint32_t)g->n_kv)) goto nomem;
            g->state = ST_KV_TYPE;
            break;
        }
        case ST_KV_TYPE: {
            if (!need(g, &p, &n, 4)) return DS2_OK;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            int32_t t = (int32_t)rd32(g->pb);
            kv->type = t;
            if (t < 0 || t > DS2_GGUF_F64)
                return gfail(g, err, DS2_E_BAD_KV_TYPE, "metadata key '%.150s': unknown value type %d at byte %llu",
                             kv->key, (int)t, (unsigned long long)(g->pos - 4));
            g->state = t == DS2_GGUF_STRING ? ST_KV_STR_LEN : t == DS2_GGUF_ARRAY ? ST_ARR_TYPE : ST_KV_SCALAR;
            break;
        }
        case ST_KV_SCALAR: {
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            if (!need(g, &p, &n, vtype_size(kv->type))) return DS2_OK;
            set_scalar(kv, kv->type, g->pb);
            if ((st = kv_done(g, err))) return st;
            break;
        }
        case ST_KV_STR_LEN: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            char what[200];
            snprintf(what, sizeof what, "metadata key '%.150s'", kv->key);
            if ((st = begin_str(g, err, rd64(g->pb), what))) return st;
            g->state = ST_KV_STR;
            break;
        }
        case ST_KV_STR:
            if (!take_str(g, &p, &n, &oom)) goto more;
            g->kvs[g->n_kv].str_len = g->str_len;
            g->kvs[g->n_kv].str = done_str(g);
            if ((st = kv_done(g, err))) return st;
            break;
        case ST_ARR_TYPE: {
            if (!need(g, &p, &n, 4)) return DS2_OK;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            int32_t t = (int32_t)rd32(g->pb);
            kv->arr_type = t;
            if (t == DS2_GGUF_ARRAY)
                return gfail(g, err, DS2_E_BAD_KV_TYPE, "metadata key '%.150s': nested arrays are not supported (byte %llu)",
                             kv->key, (unsigned long long)(g->pos - 4));
            if (t < 0 || t > DS2_GGUF_F64)
                return gfail(g, err, DS2_E_BAD_KV_TYPE,
                             "metadata key '%.150s': unknown array element type %d at byte %llu", kv->key, (int)t,
                             (unsigned long long)(g->pos - 4));
            g->state = ST_ARR_COUNT;
            break;
        }
        case ST_ARR_COUNT: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            uint64_t cnt = rd64(g->pb);
            uint64_t esz = kv->arr_type == DS2_GGUF_STRING ? 8 : vtype_size(kv->arr_type);
            if (cnt > GGUF_MAX_ARRAY || cnt * esz > (uint64_t)SIZE_MAX / 2)
                return gfail(g, err, DS2_E_OVERFLOW,
                             "metadata key '%.150s': array of %llu %s elements at byte %llu is too large", kv->key,
                             (unsigned long long)cnt, vtype_name(kv->arr_type), (unsigned long long)(g->pos - 8));
            if (g->total && cnt * esz > g->total - (g->pos < g->total ? g->pos : g->total))
                return gfail(g, err, DS2_E_TRUNCATED,
                             "metadata key '%.150s': array of %llu %s elements at byte %llu extends past the end of "
                             "the file (%llu bytes)",
                             kv->key, (unsigned long long)cnt, vtype_name(kv->arr_type),
                             (unsigned long long)(g->pos - 8), (unsigned long long)g->total);
            kv->arr_n = cnt;
            g->arr_i = 0;
            if (kv->arr_type == DS2_GGUF_STRING) {
                /* slots grow with the elements actually received */
                g->arr_cap = cnt < 1024 ? (cnt ? cnt : 1) : 1024;
                kv->arr_strs = calloc((size_t)g->arr_cap, sizeof(char *));
                kv->arr_str_lens = calloc((size_t)g->arr_cap, sizeof(uint64_t));
                if (!kv->arr_strs || !kv->arr_str_lens) goto nomem;
                if (cnt) {
                    g->state = ST_ARR_STR_LEN;
                } else if ((st = kv_done(g, err))) {
                    return st;
                }
            } else {
                g->arr_bytes = cnt * esz;
                g->arr_got = 0;
                g->arr_buf_cap = g->arr_bytes < 65536 ? (g->arr_bytes ? g->arr_bytes : 1) : 65536;
                g->arr_buf = malloc((size_t)g->arr_buf_cap);
                if (!g->arr_buf) goto nomem;
                kv->arr_data = g->arr_buf;
                g->state = ST_ARR_NUM;
            }
            break;
        }
        case ST_ARR_NUM: {
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            uint64_t want = g->arr_bytes - g->arr_got;
            size_t take = want < n ? (size_t)want : n;
            if (g->arr_got + take > g->arr_buf_cap) {
                uint64_t ncap = g->arr_buf_cap;
                while (ncap < g->arr_got + take) ncap *= 2;
                if (ncap > g->arr_bytes) ncap = g->arr_bytes;
                uint8_t *nb = realloc(g->arr_buf, (size_t)ncap);
                if (!nb) goto nomem;
                g->arr_buf = nb;
                g->arr_buf_cap = ncap;
                kv->arr_data = nb;
            }
            memcpy(g->arr_buf + g->arr_got, p, take);
            g->arr_got += take;
            p += take;
            n -= take;
            g->pos += take;
            if (g->arr_got < g->arr_bytes) return DS2_OK;
            g->arr_buf = NULL; /* owned by the kv now */
            if ((st = kv_done(g, err))) return st;
            break;
        }
        case ST_ARR_STR_LEN: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            if (g->arr_i == g->arr_cap) {
                uint64_t ncap = g->arr_cap * 2 < kv->arr_n ? g->arr_cap * 2 : kv->arr_n;
                char **ns = realloc((void *)kv->arr_strs, (size_t)ncap * sizeof *ns);
                if (!ns) goto nomem;
                memset(ns + g->arr_cap, 0, (size_t)(ncap - g->arr_cap) * sizeof *ns);
                kv->arr_strs = (const char *const *)ns;
                uint64_t *nl = realloc((void *)kv->arr_str_lens, (size_t)ncap * sizeof *nl);
                if (!nl) goto nomem;
                kv->arr_str_lens = nl;
                g->arr_cap = ncap;
            }
            char what[200];
            snprintf(what, sizeof what, "metadata key '%.150s' element %llu", kv->key, (unsigned long long)g->arr_i);
            if ((st = begin_str(g, err, rd64(g->pb), what))) return st;
            g->state = ST_ARR_STR;
            break;
        }
        case ST_ARR_STR: {
            if (!take_str(g, &p, &n, &oom)) goto more;
            ds2_gguf_kv *kv = &g->kvs[g->n_kv];
            ((uint64_t *)kv->arr_str_lens)[g->arr_i] = g->str_len;
            ((char **)kv->arr_strs)[g->arr_i] = done_str(g);
            g->arr_i++;
            if (g->arr_i < kv->arr_n) {
                g->state = ST_ARR_STR_LEN;
            } else if ((st = kv_done(g, err))) {
                return st;
            }
            break;
        }

        /* ---- tensor infos ---- */
        case ST_TI_NAME_LEN: {
            if (g->n_tensors_decl == 0) {
                if ((st = directory_done(g, err))) return st;
                break;
            }
            if (!need(g, &p, &n, 8)) return DS2_OK;
            if (g->n_ti == g->ti_cap) {
                if (!grow((void **)&g->tensors, &g->ti_cap, g->n_ti + 1, sizeof *g->tensors)) goto nomem;
                uint64_t *nl = realloc(g->name_lens, (size_t)g->ti_cap * sizeof *nl); /* same capacity */
                if (!nl) goto nomem;
                g->name_lens = nl;
            }
            uint64_t len = rd64(g->pb);
            if (len >= GGUF_MAX_NAME)
                return gfail(g, err, DS2_E_BAD_TENSOR,
                             "tensor info #%lld: name length %llu at byte %llu is not below the limit of %d bytes",
                             (long long)g->n_ti, (unsigned long long)len, (unsigned long long)(g->pos - 8),
                             GGUF_MAX_NAME);
            char what[64];
            snprintf(what, sizeof what, "name of tensor info #%lld", (long long)g->n_ti);
            if ((st = begin_str(g, err, len, what))) return st;
            g->state = ST_TI_NAME;
            break;
        }
        case ST_TI_NAME: {
            if (!take_str(g, &p, &n, &oom)) goto more;
            ds2_gguf_tensor *t = &g->tensors[g->n_ti];
            g->name_lens[g->n_ti] = g->str_len;
            t->name = done_str(g);
            if (hset_find(g, 1, t->name, g->str_len) >= 0)
                return gfail(g, err, DS2_E_DUPLICATE, "duplicate tensor name '%s' (tensor info #%lld, ending at byte %llu)",
                             t->name, (long long)g->n_ti, (unsigned long long)g->pos);
            if (!hset_add(g, 1, (uint32_t)g->n_ti)) goto nomem;
            g->state = ST_TI_NDIMS;
            break;
        }
        case ST_TI_NDIMS: {
            if (!need(g, &p, &n, 4)) return DS2_OK;
            ds2_gguf_tensor *t = &g->tensors[g->n_ti];
            uint32_t nd = rd32(g->pb);
            if (nd < 1 || nd > 4)
                return gfail(g, err, DS2_E_BAD_TENSOR, "tensor '%s': n_dims = %u at byte %llu is not in 1..4", t->name,
                             nd, (unsigned long long)(g->pos - 4));
            t->n_dims = nd;
            for (int d = 0; d < 4; d++) t->ne[d] = 1;
            g->ne_i = 0;
            g->state = ST_TI_NE;
            break;
        }
        case ST_TI_NE: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            ds2_gguf_tensor *t = &g->tensors[g->n_ti];
            int64_t v = (int64_t)rd64(g->pb);
            if (v < 0)
                return gfail(g, err, DS2_E_BAD_TENSOR, "tensor '%s': ne[%u] = %lld at byte %llu is negative", t->name,
                             g->ne_i, (long long)v, (unsigned long long)(g->pos - 8));
            t->ne[g->ne_i++] = v;
            if (g->ne_i == t->n_dims) g->state = ST_TI_TYPE;
            break;
        }
        case ST_TI_TYPE: {
            if (!need(g, &p, &n, 4)) return DS2_OK;
            g->tensors[g->n_ti].type = (int32_t)rd32(g->pb);
            g->state = ST_TI_OFFSET;
            break;
        }
        case ST_TI_OFFSET: {
            if (!need(g, &p, &n, 8)) return DS2_OK;
            g->tensors[g->n_ti].offset = rd64(g->pb);
            if ((st = tensor_done(g, err))) return st;
            break;
        }

        /* ---- data ---- */
        case ST_PAD: {
            uint64_t want = g->data_start - g->pos;
            size_t take = want < n ? (size_t)want : n;
            p += take;
            n -= take;
            g->pos += take;
            if (g->pos < g->data_start) return DS2_OK;
            g->state = ST_DATA;
            break;
        }
        case ST_DATA: {
            uint64_t off = g->pos - g->data_start;
            uint64_t want = g->data_size - off;
            size_t take = want < n ? (size_t)want : n;
            memcpy(g->arena + off, p, take);
            p += take;
            n -= take;
            g->pos += take;
            if (off + take < g->data_size) return DS2_OK;
            g->state = ST_DONE;
            break;
        }
        case ST_DONE:
            g->pos += n; /* bytes after the data section are ignored */
            return DS2_OK;
        default:
            return ds2_fail(err, g->status, "%s", g->msg);
        }
    }
more:
    if (!oom) return DS2_OK;
nomem: {
        char where[200];
        describe(g, where, sizeof where);
        return gfail(g, err, DS2_E_NOMEM, "out of memory while reading %s (byte %llu)", where,
                     (unsigned long long)g->pos);
    }
}

/* ===== Public API ================================================================================= */

ds2_status ds2_gguf_create(uint64_t total_bytes, ds2_gguf **out, ds2_error *err) {
    if (!out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_gguf_create: out is NULL");
    *out = NULL;
    ds2_gguf *g = calloc(1, sizeof *g);
    if (!g) return ds2_fail(err, DS2_E_NOMEM, "cannot allocate the GGUF reader");
    g->total = total_bytes;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    g->state = ST_MAGIC;
    *out = g;
    ds2_error_clear(err);
    return DS2_OK;
}

ds2_status ds2_gguf_feed(ds2_gguf *g, const void *data, size_t n, ds2_error *err) {
    if (!g || (!data && n)) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_gguf_feed: NULL reader or data");
    if (g->status != DS2_OK) return ds2_fail(err, g->status, "%s", g->msg);
    static const uint8_t none[1];
    return run(g, n ? (const uint8_t *)data : none, n, err); /* never memcpy from NULL */
}

ds2_status ds2_gguf_finish(ds2_gguf *g, ds2_error *err) {
    if (!g) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_gguf_finish: NULL reader");
    if (g->status != DS2_OK) return ds2_fail(err, g->status, "%s", g->msg);
    if (!g->dir_ready) {
        char where[200];
        describe(g, where, sizeof where);
        return gfail(g, err, DS2_E_TRUNCATED, "file ends after %llu bytes, in the middle of %s",
                     (unsigned long long)g->pos, where);
    }
    if (g->state != ST_DONE) {
        uint64_t avail = g->pos > g->data_start ? g->pos - g->data_start : 0;
        ds2_status st = explain_short_data(g, err, avail, g->pos, "end of the bytes fed");
        if (st) return st;
        /* unreachable: data incomplete means some tensor is short */
        return gfail(g, err, DS2_E_TRUNCATED, "file ends at byte %llu, before the end of the data section at %llu",
                     (unsigned long long)g->pos, (unsigned long long)(g->data_start + g->data_size));
    }
    ds2_error_clear(err);
    return DS2_OK;
}

static void free_kv(ds2_gguf_kv *kv, uint64_t n_strs) {
    free((void *)kv->key);
    free((void *)kv->str);
    free((void *)kv->arr_data);
    if (kv->arr_strs)
        for (uint64_t i = 0; i < n_strs; i++) free((void *)kv->arr_strs[i]);
    free((void *)kv->arr_strs);
    free((void *)kv->arr_str_lens);
}

void ds2_gguf_free(ds2_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; i < g->n_kv; i++) free_kv(&g->kvs[i], g->kvs[i].arr_type == DS2_GGUF_STRING ? g->kvs[i].arr_n : 0);
    if (g->n_kv < g->kv_cap) {
        /* the entry in progress (zero-filled if never started); its numeric buffer may still be in arr_buf */
        ds2_gguf_kv *kv = &g->kvs[g->n_kv];
        if (kv->arr_data == g->arr_buf) kv->arr_data = NULL;
        free_kv(kv, kv->type == DS2_GGUF_ARRAY && kv->arr_type == DS2_GGUF_STRING ? g->arr_cap : 0);
    }
    free(g->arr_buf);
    free(g->str);
    free(g->kvs);
    free(g->key_lens);
    for (int64_t i = 0; i < g->ti_cap; i++) free((void *)g->tensors[i].name);
    free(g->tensors);
    free(g->name_lens);
    free(g->kv_set.slots);
    free(g->ti_set.slots);
    free(g->order);
    if (g->arena_owned) ds2_arena_free(g->arena);
    for (int32_t i = 0; i < g->n_shard_arenas; i++) ds2_arena_free(g->shard_arenas[i]);
    free(g->shard_arenas);
    free(g);
}

int ds2_gguf_directory_ready(const ds2_gguf *g) { return g && g->dir_ready; }
uint32_t ds2_gguf_version(const ds2_gguf *g) { return g ? g->version : 0; }
uint64_t ds2_gguf_bytes_fed(const ds2_gguf *g) { return g ? g->pos : 0; }
uint64_t ds2_gguf_bytes_expected(const ds2_gguf *g) {
    if (!g || !g->dir_ready) return 0;
    return g->data_size ? g->data_start + g->data_size : g->header_end;
}
uint32_t ds2_gguf_alignment(const ds2_gguf *g) { return g ? g->alignment : 0; }
uint64_t ds2_gguf_data_offset(const ds2_gguf *g) { return g && g->dir_ready ? g->data_start : 0; }

int64_t ds2_gguf_n_kv(const ds2_gguf *g) { return g ? g->n_kv : 0; }
const ds2_gguf_kv *ds2_gguf_kv_at(const ds2_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_kv ? &g->kvs[i] : NULL;
}
const ds2_gguf_kv *ds2_gguf_find_kv(const ds2_gguf *g, const char *key) {
    if (!g || !key) return NULL;
    int64_t i = hset_find(g, 0, key, strlen(key));
    return i >= 0 && i < g->n_kv ? &g->kvs[i] : NULL;
}

int64_t ds2_gguf_n_tensors(const ds2_gguf *g) { return g ? g->n_ti : 0; }
const ds2_gguf_tensor *ds2_gguf_tensor_at(const ds2_gguf *g, int64_t i) {
    return g && i >= 0 && i < g->n_ti ? &g->tensors[i] : NULL;
}
const ds2_gguf_tensor *ds2_gguf_find_tensor(const ds2_gguf *g, const char *name) {
    if (!g || !name) return NULL;
    int64_t i = hset_find(g, 1, name, strlen(name));
    return i >= 0 && i < g->n_ti ? &g->tensors[i] : NULL;
}

void *ds2_gguf_take_arena(ds2_gguf *g, size_t *size) {
    if (size) *size = 0;
    if (!g || !g->arena || !g->arena_owned) return NULL;
    g->arena_owned = 0;
    if (size) *size = g->arena_size;
    return g->arena;
}

void *ds2_arena_alloc(size_t size, size_t align) {
    if (align < 64) align = 64;
    if (align & (align - 1)) return NULL;
    if (size == 0) size = 1;
    if (size > SIZE_MAX - (align - 1)) return NULL;
#if defined(MADV_HUGEPAGE)
    /* A decoded token streams every active weight once (~100-200 MB for a mid-size model): with 4 KiB pages
     * that is a TLB miss per 4 KiB. Linux backs an madvise'd range with 2 MiB pages where it can (transparent
     * huge pages in "madvise" mode, the common default), so large arenas start on a 2 MiB boundary and ask for
     * them; where the kernel says no, nothing changes. */
    if (size >= ((size_t)64 << 20)) {
        const size_t huge = (size_t)2 << 20;
        if (align < huge) align = huge;
        size = (size + align - 1) & ~(align - 1);
        void *p = aligned_alloc(align, size);
        if (p) (void)madvise(p, size, MADV_HUGEPAGE);
        return p;
    }
#endif
    size = (size + align - 1) & ~(align - 1); /* C11 aligned_alloc wants a multiple of the alignment */
    return aligned_alloc(align, size);
}

void ds2_arena_free(void *p) { free(p); }

/* ===== gguf-split shards ========================================================================== */

/* Moves the shards' contents into one new reader. Everything that can fail (allocation) happens before
 * anything moves, so on failure the shards are untouched. Entries moved out of a shard are zeroed, which its
 * ds2_gguf_free then skips (free(NULL)). */
ds2_status ds2_gguf_merge(ds2_gguf *const *shards, int32_t n, ds2_gguf **out, ds2_error *err) {
    if (!shards || n < 1 || !out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_gguf_merge: bad arguments");
    *out = NULL;
    int64_t n_kv = 0, n_ti = 0;
    uint64_t fed = 0, data = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!shards[i] || shards[i]->state != ST_DONE)
            return ds2_fail(err, DS2_E_STATE, "ds2_gguf_merge: shard %d has not been read completely", (int)i);
        n_ti += shards[i]->n_ti;
        fed += shards[i]->pos;
        data += shards[i]->data_size;
    }
    const ds2_gguf *s0 = shards[0];
    for (int64_t i = 0; i < s0->n_kv; i++)
        if (strncmp(s0->kvs[i].key, "split.", 6) != 0) n_kv++;

    ds2_gguf *g = calloc(1, sizeof *g);
    if (!g) return ds2_fail(err, DS2_E_NOMEM, "cannot allocate the merged GGUF reader");
    g->kvs = calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->kvs);
    g->key_lens = calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->key_lens);
    g->tensors = calloc((size_t)(n_ti ? n_ti : 1), sizeof *g->tensors);
    g->name_lens = calloc((size_t)(n_ti ? n_ti : 1), sizeof *g->name_lens);
    g->shard_arenas = calloc((size_t)n, sizeof *g->shard_arenas);
    if (!g->kvs || !g->key_lens || !g->tensors || !g->name_lens || !g->shard_arenas) {
        ds2_gguf_free(g);
        return ds2_fail(err, DS2_E_NOMEM, "cannot allocate the merged tensor directory (%lld tensors)",
                        (long long)n_ti);
    }
    g->kv_cap = n_kv ? n_kv : 1;
    g->ti_cap = n_ti ? n_ti : 1;
    /* the hash sets, sized up front so that adding cannot fail later */
    for (int which = 0; which < 2; which++) {
        hset *h = which == 0 ? &g->kv_set : &g->ti_set;
        uint64_t items = which == 0 ? (uint64_t)n_kv : (uint64_t)n_ti;
        uint32_t cap = 64;
        while ((uint64_t)cap < items * 2 + 2) cap *= 2;
        h->slots = calloc(cap, sizeof *h->slots);
        if (!h->slots) {
            ds2_gguf_free(g);
            return ds2_fail(err, DS2_E_NOMEM, "cannot allocate the merged name index");
        }
        h->cap = cap;
    }

    /* nothing can fail from here on */
    g->version = s0->version;
    g->alignment = s0->alignment;
    for (int64_t i = 0; i < s0->n_kv; i++) {
        ds2_gguf_kv *kv = &s0->kvs[i];
        if (strncmp(kv->key, "split.", 6) == 0) continue;
        g->kvs[g->n_kv] = *kv;
        g->key_lens[g->n_kv] = s0->key_lens[i];
        memset(kv, 0, sizeof *kv);
        hset_add(g, 0, (uint32_t)g->n_kv);
        g->n_kv++;
    }
    for (int32_t s = 0; s < n; s++) {
        ds2_gguf *sh = shards[s];
        for (int64_t i = 0; i < sh->n_ti; i++) {
            g->tensors[g->n_ti] = sh->tensors[i]; /* offset stays relative to its shard's data section */
            g->name_lens[g->n_ti] = sh->name_lens[i];
            sh->tensors[i].name = NULL;
            hset_add(g, 1, (uint32_t)g->n_ti);
            g->n_ti++;
        }
        void *a = ds2_gguf_take_arena(sh, NULL);
        if (a) g->shard_arenas[g->n_shard_arenas++] = a;
    }
    g->n_kv_decl = g->n_kv;
    g->n_tensors_decl = g->n_ti;
    g->pos = fed;
    g->data_size = data;
    g->dir_ready = 1;
    g->state = ST_DONE;
    *out = g;
    ds2_error_clear(err);
    return DS2_OK;
}
