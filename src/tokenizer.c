/* tokenizer.c — vocabulary, merges, special tokens, byte-level BPE (reference §5.1, §5.3); the regex
 * pre-tokenizer is tokenizer_pre.c. */
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "unicode.h"

/* Symbol strings: the vocabulary's tokens (ids < n_vocab), then strings that occur only in merges
 * ("virtual" symbols, ids ≥ n_vocab: BPE may pass through them; if one survives, it is emitted as bytes). */
typedef struct str_map {
    uint32_t cap;    /* power of two */
    int32_t *slot;   /* symbol id or -1 */
} str_map;

typedef struct pair_map {
    uint64_t cap;     /* power of two */
    uint64_t *key;    /* (left << 32 | right) + 1; 0 = empty */
    int32_t *rank;
    int32_t *result;
} pair_map;

struct ds2_tokenizer {
    ds2_pre_kind pre;
    int32_t n_vocab, n_sym, cap_sym;
    const char **sym;        /* symbol text (vocab: GGUF strings; virtual: owned) */
    uint32_t *sym_len;
    int32_t *type;           /* per vocab id */
    str_map strs;
    pair_map pairs;
    int32_t byte_tok[256];   /* token of each byte's byte-level character */
    uint8_t cp_byte_ok[0x144]; /* byte-level decoding: code point < 0x144 → byte, if cp_byte_ok */
    uint8_t cp_byte[0x144];
    int32_t bos, eos, add_bos;
    /* special tokens (CONTROL / UNKNOWN / USER_DEFINED), grouped by first byte, longest first */
    int32_t *special;        /* ids */
    int32_t special_start[257];
};

static uint64_t hash_bytes(const char *s, size_t n) { /* FNV-1a, 64 bit */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_u64(uint64_t x) { /* splitmix64 finaliser */
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int32_t str_find(const ds2_tokenizer *t, const char *s, size_t n) {
    uint32_t mask = t->strs.cap - 1, i = (uint32_t)hash_bytes(s, n) & mask;
    for (;; i = (i + 1) & mask) {
        int32_t id = t->strs.slot[i];
        if (id < 0) return -1;
        if (t->sym_len[id] == n && memcmp(t->sym[id], s, n) == 0) return id;
    }
}

/* Inserts symbol id (its text already set); a later duplicate string replaces the earlier id (as llama.cpp's
 * token_to_id map). Capacity is sized at build so the table never fills. */
static void str_put(ds2_tokenizer *t, int32_t id) {
    uint32_t mask = t->strs.cap - 1, i = (uint32_t)hash_bytes(t->sym[id], t->sym_len[id]) & mask;
    for (;; i = (i + 1) & mask) {
        int32_t o = t->strs.slot[i];
        if (o < 0 || (t->sym_len[o] == t->sym_len[id] && memcmp(t->sym[o], t->sym[id], t->sym_len[id]) == 0)) {
            t->strs.slot[i] = id;
            return;
        }
    }
}

static int pair_find(const ds2_tokenizer *t, int32_t a, int32_t b, int32_t *rank, int32_t *result) {
    if (a < 0 || b < 0) return 0;
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1, mask = t->pairs.cap - 1;
    for (uint64_t i = hash_u64(k) & mask;; i = (i + 1) & mask) {
        if (t->pairs.key[i] == 0) return 0;
        if (t->pairs.key[i] == k) {
            *rank = t->pairs.rank[i], *result = t->pairs.result[i];
            return 1;
        }
    }
}

static void pair_put(ds2_tokenizer *t, int32_t a, int32_t b, int32_t rank, int32_t result) {
    uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1, mask = t->pairs.cap - 1;
    for (uint64_t i = hash_u64(k) & mask;; i = (i + 1) & mask) {
        if (t->pairs.key[i] == k) return; /* duplicate merge: the first (lowest rank) wins */
        if (t->pairs.key[i] == 0) {
            t->pairs.key[i] = k, t->pairs.rank[i] = rank, t->pairs.result[i] = result;
            return;
        }
    }
}

/* GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68 to U+0100.. in byte order. */
static uint32_t byte_to_cp(int b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    uint32_t k = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) k++;
    return 0x100 + k;
}

/* Adds a virtual symbol with an owned copy of s[0..n); returns its id or -1 on OOM. */
static int32_t add_virtual(ds2_tokenizer *t, const char *s, size_t n) {
    if (t->n_sym == t->cap_sym) {
        int32_t cap = t->cap_sym * 2;
        const char **ns = realloc(t->sym, (size_t)cap * sizeof *ns);
        if (!ns) return -1;
        t->sym = ns;
        uint32_t *nl = realloc(t->sym_len, (size_t)cap * sizeof *nl);
        if (!nl) return -1;
        t->sym_len = nl;
        t->cap_sym = cap;
    }
    char *c = malloc(n ? n : 1);
    if (!c) return -1;
    memcpy(c, s, n);
    int32_t id = t->n_sym++;
    t->sym[id] = c, t->sym_len[id] = (uint32_t)n;
    str_put(t, id);
    return id;
}

static int32_t find_or_add(ds2_tokenizer *t, const char *s, size_t n) {
    int32_t id = str_find(t, s, n);
    return id >= 0 ? id : add_virtual(t, s, n);
}

/* special-token sort key: first byte ascending, then longest text first, then id (no global sort context, so
 * models may load concurrently) */
typedef struct special_key {
    uint32_t first, len;
    int32_t id;
} special_key;

static int cmp_special(const void *pa, const void *pb) {
    const special_key *a = pa, *b = pb;
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int is_special_type(int32_t ty) {
    return ty == DS2_TOKTYPE_CONTROL || ty == DS2_TOKTYPE_UNKNOWN || ty == DS2_TOKTYPE_USER_DEFINED;
}

void ds2_tokenizer_free(ds2_tokenizer *t) {
    if (!t) return;
    if (t->sym)
        for (int32_t i = t->n_vocab; i < t->n_sym; i++) free((void *)t->sym[i]);
    free(t->sym);
    free(t->sym_len);
    free(t->type);
    free(t->strs.slot);
    free(t->pairs.key);
    free(t->pairs.rank);
    free(t->pairs.result);
    free(t->special);
    free(t);
}

static int32_t kv_token_id(const ds2_gguf *g, const char *key, int32_t n_vocab) {
    const ds2_gguf_kv *kv = ds2_gguf_find_kv(g, key);
    if (!kv || kv->type == DS2_GGUF_STRING || kv->type == DS2_GGUF_ARRAY) return -1;
    return kv->i64 >= 0 && kv->i64 < n_vocab ? (int32_t)kv->i64 : -1;
}

ds2_status ds2_tokenizer_build(const ds2_gguf *g, ds2_tokenizer **out, ds2_error *err) {
    *out = NULL;
    const ds2_gguf_kv *model = ds2_gguf_find_kv(g, "tokenizer.ggml.model");
    if (!model || model->type != DS2_GGUF_STRING)
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "the file has no tokenizer.ggml.model");
    if (strcmp(model->str, "gpt2") != 0)
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.model is '%.60s'; only 'gpt2' (byte-level BPE) "
                        "is supported", model->str);
    const ds2_gguf_kv *pre = ds2_gguf_find_kv(g, "tokenizer.ggml.pre");
    ds2_pre_kind kind;
    if (!pre || pre->type != DS2_GGUF_STRING)
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.pre is missing; supported pre-tokenizers: "
                        "deepseek-llm, deepseek-coder, deepseek-v3");
    if (!strcmp(pre->str, "deepseek-llm")) kind = DS2_PRE_DEEPSEEK_LLM;
    else if (!strcmp(pre->str, "deepseek-coder")) kind = DS2_PRE_DEEPSEEK_CODER;
    else if (!strcmp(pre->str, "deepseek-v3")) kind = DS2_PRE_DEEPSEEK_V3;
    else
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "unknown pre-tokenizer tokenizer.ggml.pre = '%.60s'; supported: "
                        "deepseek-llm, deepseek-coder, deepseek-v3", pre->str);
    const ds2_gguf_kv *toks = ds2_gguf_find_kv(g, "tokenizer.ggml.tokens");
    if (!toks || toks->type != DS2_GGUF_ARRAY || toks->arr_type != DS2_GGUF_STRING || toks->arr_n == 0)
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.tokens is missing or not a string array");
    if (toks->arr_n > (1u << 30))
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.tokens has too many entries (%llu)",
                        (unsigned long long)toks->arr_n);
    const ds2_gguf_kv *merges = ds2_gguf_find_kv(g, "tokenizer.ggml.merges");
    if (!merges || merges->type != DS2_GGUF_ARRAY || merges->arr_type != DS2_GGUF_STRING)
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.merges is missing or not a string array "
                        "(required by a gpt2 tokenizer)");
    if (merges->arr_n > (1u << 30))
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.merges has too many entries");
    const ds2_gguf_kv *types = ds2_gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (types && (types->type != DS2_GGUF_ARRAY || types->arr_n != toks->arr_n ||
                  (types->arr_type != DS2_GGUF_I32 && types->arr_type != DS2_GGUF_U32)))
        return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.token_type must be an int32 array with one "
                        "entry per token (%llu)", (unsigned long long)toks->arr_n);
    for (uint64_t i = 0; i < toks->arr_n; i++)
        if (toks->arr_str_lens[i] > (1u << 20))
            return ds2_fail(err, DS2_E_NO_TOKENIZER, "token %llu has an oversized text (%llu bytes)",
                            (unsigned long long)i, (unsigned long long)toks->arr_str_lens[i]);

    ds2_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return ds2_fail(err, DS2_E_NOMEM, NULL);
    t->pre = kind;
    t->n_vocab = t->n_sym = (int32_t)toks->arr_n;
    t->cap_sym = t->n_vocab + 64;
    t->sym = malloc((size_t)t->cap_sym * sizeof *t->sym);
    t->sym_len = malloc((size_t)t->cap_sym * sizeof *t->sym_len);
    t->type = malloc((size_t)t->n_vocab * sizeof *t->type);
    /* strings: vocab + up to one virtual per merge part/result (rare); load factor ≤ 1/2 */
    uint64_t want = 2 * ((uint64_t)t->n_vocab + 3 * merges->arr_n) + 16;
    t->strs.cap = 16;
    while (t->strs.cap < want) t->strs.cap *= 2;
    t->strs.slot = malloc((size_t)t->strs.cap * sizeof *t->strs.slot);
    t->pairs.cap = 16;
    while (t->pairs.cap < 2 * merges->arr_n + 16) t->pairs.cap *= 2;
    t->pairs.key = calloc((size_t)t->pairs.cap, sizeof *t->pairs.key);
    t->pairs.rank = malloc((size_t)t->pairs.cap * sizeof *t->pairs.rank);
    t->pairs.result = malloc((size_t)t->pairs.cap * sizeof *t->pairs.result);
    if (!t->sym || !t->sym_len || !t->type || !t->strs.slot || !t->pairs.key || !t->pairs.rank ||
        !t->pairs.result) {
        ds2_tokenizer_free(t);
        return ds2_fail(err, DS2_E_NOMEM, "tokenizer tables for %d tokens", (int)toks->arr_n);
    }
    memset(t->strs.slot, 0xFF, (size_t)t->strs.cap * sizeof *t->strs.slot);
    int n_special = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        t->sym[i] = toks->arr_strs[i];
        t->sym_len[i] = (uint32_t)toks->arr_str_lens[i];
        t->type[i] = types ? ((const int32_t *)types->arr_data)[i] : DS2_TOKTYPE_NORMAL;
        n_special += is_special_type(t->type[i]) && t->sym_len[i] > 0; /* an empty text never matches */
        str_put(t, i);
    }

    /* byte-level alphabet: each byte's character must be a token (BPE starts from them) */
    for (int b = 0; b < 256; b++) {
        char u[4];
        uint32_t cp = byte_to_cp(b);
        size_t n = ds2_utf8_encode(cp, u);
        t->cp_byte[cp] = (uint8_t)b, t->cp_byte_ok[cp] = 1;
        t->byte_tok[b] = str_find(t, u, n);
        if (t->byte_tok[b] < 0) {
            ds2_tokenizer_free(t);
            return ds2_fail(err, DS2_E_NO_TOKENIZER, "the vocabulary has no token for byte 0x%02X (U+%04X); not a "
                            "byte-level BPE vocabulary", b, (unsigned)cp);
        }
    }

    /* merges: "A B" split at the first space after position 0; rank = index */
    char *cat = NULL;
    size_t cat_cap = 0;
    for (uint64_t r = 0; r < merges->arr_n; r++) {
        const char *m = merges->arr_strs[r];
        size_t len = (size_t)merges->arr_str_lens[r];
        const char *sp = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
        if (!sp || sp + 1 == m + len) {
            free(cat);
            ds2_tokenizer_free(t);
            return ds2_fail(err, DS2_E_NO_TOKENIZER, "tokenizer.ggml.merges[%llu] is not 'A B'",
                            (unsigned long long)r);
        }
        size_t la = (size_t)(sp - m), lb = len - la - 1;
        if (la + lb > cat_cap) {
            cat_cap = 2 * (la + lb);
            char *c = realloc(cat, cat_cap);
            if (!c) { free(cat); ds2_tokenizer_free(t); return ds2_fail(err, DS2_E_NOMEM, NULL); }
            cat = c;
        }
        memcpy(cat, m, la);
        memcpy(cat + la, sp + 1, lb);
        int32_t a = find_or_add(t, m, la), b = find_or_add(t, sp + 1, lb), ab = find_or_add(t, cat, la + lb);
        if (a < 0 || b < 0 || ab < 0) { free(cat); ds2_tokenizer_free(t); return ds2_fail(err, DS2_E_NOMEM, NULL); }
        pair_put(t, a, b, (int32_t)r, ab);
    }
    free(cat);

    /* special tokens, bucketed by first byte, longest text first within a bucket */
    t->special = malloc((size_t)(n_special ? n_special : 1) * sizeof *t->special);
    if (!t->special) { ds2_tokenizer_free(t); return ds2_fail(err, DS2_E_NOMEM, NULL); }
    special_key *keys = malloc((size_t)(n_special ? n_special : 1) * sizeof *keys);
    if (!keys) { ds2_tokenizer_free(t); return ds2_fail(err, DS2_E_NOMEM, NULL); }
    int k = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (is_special_type(t->type[i]) && t->sym_len[i] > 0) {
            keys[k].first = (unsigned char)t->sym[i][0], keys[k].len = t->sym_len[i], keys[k].id = i;
            k++;
        }
    qsort(keys, (size_t)n_special, sizeof *keys, cmp_special);
    for (int j = 0; j < n_special; j++) t->special[j] = keys[j].id;
    free(keys);
    for (int b = 0, j = 0; b <= 256; b++) {
        while (j < n_special && (unsigned char)t->sym[t->special[j]][0] < b) j++;
        t->special_start[b] = j;
    }

    t->bos = kv_token_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab);
    t->eos = kv_token_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab);
    const ds2_gguf_kv *ab = ds2_gguf_find_kv(g, "tokenizer.ggml.add_bos_token");
    /* llama.cpp's BPE default is false; DeepSeek GGUFs set it true */
    t->add_bos = ab && ab->type != DS2_GGUF_STRING && ab->type != DS2_GGUF_ARRAY ? ab->u64 != 0 : 0;
    *out = t;
    return DS2_OK;
}

int32_t ds2_tokenizer_n_vocab(const ds2_tokenizer *t) { return t->n_vocab; }
int32_t ds2_tokenizer_bos(const ds2_tokenizer *t) { return t->bos; }
int32_t ds2_tokenizer_eos(const ds2_tokenizer *t) { return t->eos; }
int32_t ds2_tokenizer_add_bos(const ds2_tokenizer *t) { return t->add_bos; }
int32_t ds2_tokenizer_type(const ds2_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab ? t->type[id] : -1;
}

size_t ds2_tokenizer_token_bytes(const ds2_tokenizer *t, int32_t id, char *buf, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return 0;
    const char *s = t->sym[id];
    size_t n = t->sym_len[id];
    int ty = t->type[id];
    if (ty != DS2_TOKTYPE_NORMAL && ty != DS2_TOKTYPE_UNDEFINED && ty != DS2_TOKTYPE_BYTE) {
        /* control / user-defined text is stored verbatim, not byte-level encoded */
        if (buf) memcpy(buf, s, n < cap ? n : cap);
        return n;
    }
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = ds2_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (cp < 0x144 && t->cp_byte_ok[cp]) {
            if (buf && o < cap) buf[o] = (char)t->cp_byte[cp];
            o++;
        } else {
            /* not a byte-level character: keep its bytes as they are */
            for (size_t j = 0; j < l; j++, o++)
                if (buf && o < cap) buf[o] = s[i + j];
        }
        i += l;
    }
    return o;
}

/* ---- encoding ---- */

/* Growable output: counts every token, stores those that fit. */
typedef struct out_buf {
    int32_t *tok;
    int32_t cap;
    int64_t n;
} out_buf;

static void emit(out_buf *o, int32_t id) {
    if (o->n < o->cap) o->tok[o->n] = id;
    o->n++;
}

/* Scratch for one call; grown as needed. */
typedef struct work {
    uint32_t *cp;
    uint8_t *fl;
    size_t *off;      /* byte offset of each code point, + total */
    size_t *ends, *scratch;
    size_t cap_cp;
    /* BPE */
    int32_t *sid, *prev, *next;
    uint32_t *slen;
    struct heap_item { int32_t rank, left, right, lid, rid, result; } *heap;
    size_t cap_sym, n_heap, cap_heap;
} work;

static int work_cp(work *w, size_t n) {
    if (n <= w->cap_cp) return 1;
    size_t c = n + n / 2 + 16;
    void *p;
    if (!(p = realloc(w->cp, c * sizeof *w->cp))) return 0;
    w->cp = p;
    if (!(p = realloc(w->fl, c))) return 0;
    w->fl = p;
    if (!(p = realloc(w->off, (c + 1) * sizeof *w->off))) return 0;
    w->off = p;
    if (!(p = realloc(w->ends, c * sizeof *w->ends))) return 0;
    w->ends = p;
    if (!(p = realloc(w->scratch, c * sizeof *w->scratch))) return 0;
    w->scratch = p;
    w->cap_cp = c;
    return 1;
}

static int work_sym(work *w, size_t n) {
    if (n <= w->cap_sym) return 1;
    size_t c = n + n / 2 + 16;
    void *p;
    if (!(p = realloc(w->sid, c * sizeof *w->sid))) return 0;
    w->sid = p;
    if (!(p = realloc(w->prev, c * sizeof *w->prev))) return 0;
    w->prev = p;
    if (!(p = realloc(w->next, c * sizeof *w->next))) return 0;
    w->next = p;
    if (!(p = realloc(w->slen, c * sizeof *w->slen))) return 0;
    w->slen = p;
    /* ≤ n-1 initial pairs + ≤ 2 per merge */
    if (!(p = realloc(w->heap, 3 * c * sizeof *w->heap))) return 0;
    w->heap = p;
    w->cap_sym = c, w->cap_heap = 3 * c;
    return 1;
}

static void work_free(work *w) {
    free(w->cp), free(w->fl), free(w->off), free(w->ends), free(w->scratch);
    free(w->sid), free(w->prev), free(w->next), free(w->slen), free(w->heap);
}

static int heap_less(const struct heap_item *a, const struct heap_item *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->left < b->left; /* ties: leftmost first */
}

static void heap_push(work *w, struct heap_item it) {
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&it, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = it;
}

static struct heap_item heap_pop(work *w) {
    struct heap_item top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!heap_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static void try_pair(const ds2_tokenizer *t, work *w, int32_t left) {
    int32_t right = w->next[left];
    if (right < 0) return;
    int32_t rank, res;
    if (!pair_find(t, w->sid[left], w->sid[right], &rank, &res)) return;
    struct heap_item it = {rank, left, right, w->sid[left], w->sid[right], res};
    heap_push(w, it);
}

/* BPE over one pre-token's bytes p[0..n) (n ≥ 1). Symbols are indexed by their first byte's position. */
static int bpe(const ds2_tokenizer *t, work *w, const unsigned char *p, size_t n, out_buf *o) {
    if (n == 1) { emit(o, t->byte_tok[p[0]]); return 1; }
    if (!work_sym(w, n)) return 0;
    for (size_t i = 0; i < n; i++) {
        w->sid[i] = t->byte_tok[p[i]];
        w->prev[i] = (int32_t)i - 1;
        w->next[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
        w->slen[i] = 1;
    }
    w->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) try_pair(t, w, (int32_t)i);
    while (w->n_heap) {
        struct heap_item it = heap_pop(w);
        /* stale if either side has merged since (a merged symbol has a different, longer string) */
        if (w->slen[it.left] == 0 || w->slen[it.right] == 0 || w->next[it.left] != it.right ||
            w->sid[it.left] != it.lid || w->sid[it.right] != it.rid)
            continue;
        w->sid[it.left] = it.result;
        w->slen[it.left] += w->slen[it.right];
        w->slen[it.right] = 0;
        w->next[it.left] = w->next[it.right];
        if (w->next[it.right] >= 0) w->prev[w->next[it.right]] = it.left;
        if (w->prev[it.left] >= 0) try_pair(t, w, w->prev[it.left]);
        try_pair(t, w, it.left);
    }
    for (int32_t i = 0; i >= 0; i = w->next[i]) {
        int32_t id = w->sid[i];
        if (id < t->n_vocab) emit(o, id);
        else /* a merge product that is not a token: its bytes (llama.cpp's fallback) */
            for (uint32_t j = 0; j < w->slen[i]; j++) emit(o, t->byte_tok[p[i + j]]);
    }
    return 1;
}

/* Plain text fragment: decode → pre-tokenize → BPE per piece. */
static int encode_fragment(const ds2_tokenizer *t, work *w, const unsigned char *s, size_t n, out_buf *o) {
    if (n == 0) return 1;
    if (!work_cp(w, n)) return 0;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t l = ds2_utf8_decode(s + i, n - i, &c);
        w->cp[m] = c;
        w->fl[m] = (uint8_t)ds2_unicode_flags(c);
        w->off[m] = i;
        m++;
        i += l;
    }
    w->off[m] = n;
    size_t np = ds2_pre_split(t->pre, w->cp, w->fl, m, w->ends, w->scratch);
    /* ends[] is consumed before BPE reuses nothing of it; copy the byte bounds first */
    size_t start = 0;
    for (size_t k = 0; k < np; k++) {
        size_t e = w->ends[k];
        if (!bpe(t, w, s + w->off[start], w->off[e] - w->off[start], o)) return 0;
        start = e;
    }
    return 1;
}

ds2_status ds2_tokenizer_encode(const ds2_tokenizer *t, const char *text, size_t len, int add_bos,
                                int parse_special, int32_t *tokens, int32_t cap, int32_t *n_tokens,
                                ds2_error *err) {
    if (n_tokens) *n_tokens = 0;
    if ((!text && len) || (!tokens && cap > 0) || cap < 0 || !n_tokens)
        return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_tokenize: NULL text/tokens/n_tokens or negative cap");
    out_buf o = {tokens, cap, 0};
    work w;
    memset(&w, 0, sizeof w);
    if (add_bos && t->add_bos && t->bos >= 0) emit(&o, t->bos);
    const unsigned char *s = (const unsigned char *)text;
    size_t frag = 0; /* start of the current plain-text fragment */
    int ok = 1;
    for (size_t i = 0; i < len && ok;) {
        /* special tokens: leftmost, then longest (CONTROL/UNKNOWN only with parse_special) */
        int32_t hit = -1;
        for (int32_t j = t->special_start[s[i]]; j < t->special_start[s[i] + 1]; j++) {
            int32_t id = t->special[j];
            if (!parse_special && t->type[id] != DS2_TOKTYPE_USER_DEFINED) continue;
            size_t l = t->sym_len[id];
            if (l <= len - i && memcmp(s + i, t->sym[id], l) == 0) { hit = id; break; }
        }
        if (hit < 0) { i++; continue; }
        ok = encode_fragment(t, &w, s + frag, i - frag, &o);
        emit(&o, hit);
        i += t->sym_len[hit];
        frag = i;
    }
    if (ok) ok = encode_fragment(t, &w, s + frag, len - frag, &o);
    work_free(&w);
    if (!ok) return ds2_fail(err, DS2_E_NOMEM, "tokenizer scratch for %zu bytes", len);
    if (o.n > INT32_MAX) return ds2_fail(err, DS2_E_INVALID_ARG, "text gives more than 2^31 tokens");
    *n_tokens = (int32_t)o.n;
    if (o.n > cap)
        return ds2_fail(err, DS2_E_INVALID_ARG, "token buffer too small: %lld tokens needed, capacity %d",
                        (long long)o.n, (int)cap);
    return DS2_OK;
}

/* ---- public API (ds2.h "text") ---- */

#include "model.h"

static ds2_status need_tok(const ds2_model *m, ds2_error *err) {
    if (!m) return ds2_fail(err, DS2_E_INVALID_ARG, "NULL model");
    if (!m->tok) {
        if (err) *err = m->tok_err;
        return m->tok_err.code != DS2_OK ? m->tok_err.code : DS2_E_NO_TOKENIZER;
    }
    return DS2_OK;
}

int32_t ds2_vocab_size(const ds2_model *m) { return m && m->tok ? m->tok->n_vocab : (m ? m->hp.n_vocab : 0); }
int32_t ds2_token_bos(const ds2_model *m) { return m && m->tok ? m->tok->bos : (m ? m->hp.bos_id : -1); }
int32_t ds2_token_eos(const ds2_model *m) { return m && m->tok ? m->tok->eos : (m ? m->hp.eos_id : -1); }
int32_t ds2_token_add_bos(const ds2_model *m) { return m && m->tok ? m->tok->add_bos : 0; }

int32_t ds2_token_is_control(const ds2_model *m, int32_t id) {
    if (!m || !m->tok) return 0;
    int32_t ty = ds2_tokenizer_type(m->tok, id);
    return ty == DS2_TOKTYPE_CONTROL || ty == DS2_TOKTYPE_UNKNOWN || ty == DS2_TOKTYPE_UNUSED;
}

ds2_status ds2_tokenize(const ds2_model *m, const char *text, size_t len, int32_t add_bos, int32_t parse_special,
                        int32_t *tokens, int32_t cap, int32_t *n_tokens, ds2_error *err) {
    if (n_tokens) *n_tokens = 0;
    ds2_status st = need_tok(m, err);
    if (st != DS2_OK) return st;
    return ds2_tokenizer_encode(m->tok, text, len, add_bos, parse_special, tokens, cap, n_tokens, err);
}

ds2_status ds2_token_to_bytes(const ds2_model *m, int32_t id, char *buf, size_t cap, size_t *len, ds2_error *err) {
    if (len) *len = 0;
    ds2_status st = need_tok(m, err);
    if (st != DS2_OK) return st;
    if (!len || (!buf && cap)) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_token_to_bytes: NULL len or buf");
    if (id < 0 || id >= m->tok->n_vocab)
        return ds2_fail(err, DS2_E_BAD_TOKEN, "token %d is outside the vocabulary [0, %d)", (int)id,
                        (int)m->tok->n_vocab);
    size_t n = ds2_tokenizer_token_bytes(m->tok, id, NULL, 0);
    *len = n;
    if (n > cap) return ds2_fail(err, DS2_E_INVALID_ARG, "buffer too small: token %d has %zu bytes", (int)id, n);
    ds2_tokenizer_token_bytes(m->tok, id, buf, cap);
    return DS2_OK;
}
