/* gguf.h — incremental, bounds-checked GGUF reader (reference §3.1; style guide P4).
 *
 * Owns: parsing header → KV metadata → tensor directory from bytes fed in arbitrary chunks, and copying tensor
 * bytes straight into their final place in ONE weights arena that is allocated as soon as the directory is
 * known (sized from it). The arena holds the data section exactly: tensor i lives at arena + offset_i.
 * Does not own: the meaning of keys or tensors (hparams.c / weights.c).
 * Invariants: never reads past what was fed; every count and size is overflow-checked before use; a
 * truncated, corrupted or hostile file yields a named status with a message, never a crash. Feeding one byte
 * at a time gives the same result as feeding the whole file, in time linear in the file size.
 */
#ifndef DS2_GGUF_H
#define DS2_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "ds2.h"

typedef enum ds2_gguf_vtype {
    DS2_GGUF_U8 = 0, DS2_GGUF_I8 = 1, DS2_GGUF_U16 = 2, DS2_GGUF_I16 = 3, DS2_GGUF_U32 = 4, DS2_GGUF_I32 = 5,
    DS2_GGUF_F32 = 6, DS2_GGUF_BOOL = 7, DS2_GGUF_STRING = 8, DS2_GGUF_ARRAY = 9, DS2_GGUF_U64 = 10,
    DS2_GGUF_I64 = 11, DS2_GGUF_F64 = 12
} ds2_gguf_vtype;

typedef struct ds2_gguf_kv {
    const char *key;       /* NUL-terminated copy */
    int32_t type;          /* ds2_gguf_vtype */
    /* scalars (type != STRING/ARRAY): the value in all three forms, converted from the stored type */
    uint64_t u64;
    int64_t i64;
    double f64;
    /* STRING: NUL-terminated copy (embedded NULs possible: use str_len) */
    const char *str;
    uint64_t str_len;
    /* ARRAY: element type, count; numeric elements as stored (little-endian, packed), string elements as
     * NUL-terminated copies with their lengths. Nested arrays are rejected (DS2_E_BAD_KV_TYPE). */
    int32_t arr_type;
    uint64_t arr_n;
    const void *arr_data;           /* numeric/bool arrays: arr_n elements of the element size */
    const char *const *arr_strs;    /* string arrays */
    const uint64_t *arr_str_lens;
} ds2_gguf_kv;

typedef struct ds2_gguf_tensor {
    const char *name;      /* NUL-terminated copy, < 64 bytes */
    uint32_t n_dims;       /* 1..4 */
    int64_t ne[4];         /* innermost first; unused dims are 1 */
    int32_t type;          /* ggml type id (ds2_dtype) */
    uint64_t offset;       /* relative to the data section; multiple of the alignment */
    uint64_t nbytes;
    void *data;            /* arena + offset once the directory is read; valid bytes once fed */
} ds2_gguf_tensor;

typedef struct ds2_gguf ds2_gguf;

/* total_bytes: file size if known, else 0 (see ds2_loader_params). The arena is allocated with
 * ds2_arena_alloc() (aligned, freed with ds2_arena_free()). */
ds2_status ds2_gguf_create(uint64_t total_bytes, ds2_gguf **out, ds2_error *err);
ds2_status ds2_gguf_feed(ds2_gguf *g, const void *data, size_t n, ds2_error *err);
/* Call after the last byte: DS2_E_TRUNCATED if the header or data ended early, DS2_E_BAD_OFFSET if a
 * tensor's offset lies past the end of what was fed. Bytes after the data section are ignored. */
ds2_status ds2_gguf_finish(ds2_gguf *g, ds2_error *err);
void ds2_gguf_free(ds2_gguf *g);

int ds2_gguf_directory_ready(const ds2_gguf *g);  /* header, KVs and tensor infos parsed, arena allocated */
uint32_t ds2_gguf_version(const ds2_gguf *g);
uint64_t ds2_gguf_bytes_fed(const ds2_gguf *g);
uint64_t ds2_gguf_bytes_expected(const ds2_gguf *g); /* data_start + data size; 0 before the directory */
uint32_t ds2_gguf_alignment(const ds2_gguf *g);
uint64_t ds2_gguf_data_offset(const ds2_gguf *g);   /* file offset of the data section */

int64_t ds2_gguf_n_kv(const ds2_gguf *g);
const ds2_gguf_kv *ds2_gguf_kv_at(const ds2_gguf *g, int64_t i);
const ds2_gguf_kv *ds2_gguf_find_kv(const ds2_gguf *g, const char *key); /* NULL if absent */

int64_t ds2_gguf_n_tensors(const ds2_gguf *g);
const ds2_gguf_tensor *ds2_gguf_tensor_at(const ds2_gguf *g, int64_t i);
const ds2_gguf_tensor *ds2_gguf_find_tensor(const ds2_gguf *g, const char *name); /* NULL if absent */

/* Hands the arena (and its size) to the caller, who frees it with ds2_arena_free(); tensor data pointers
 * stay valid. Returns NULL for a file without tensors. */
void *ds2_gguf_take_arena(ds2_gguf *g, size_t *size);

/* gguf-split (llama.cpp tools/gguf-split): combines completely read shards, given in split.no order, into one
 * reader — shard 0's metadata without the split.* keys, and every shard's tensors, whose data stays where each
 * shard's reader put it (their arenas move into the result; ds2_gguf_take_arena then returns NULL). Tensor
 * offsets stay relative to their own shard. Names are not checked for duplicates here (the loader does that
 * as each shard's directory arrives). On success the shards are left empty (free them); on failure they are
 * untouched. */
ds2_status ds2_gguf_merge(ds2_gguf *const *shards, int32_t n, ds2_gguf **out, ds2_error *err);

/* 64-byte (or `align`, if larger) aligned allocation for weights; NULL on failure or size overflow. */
void *ds2_arena_alloc(size_t size, size_t align);
void ds2_arena_free(void *p);

#endif
