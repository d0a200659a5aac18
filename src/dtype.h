/* dtype.h — the GGUF tensor data types (ggml type ids) and their block geometry.
 *
 * Owns: names and block sizes of every ggml type a GGUF may name, so the reader can size tensors of types
 * this build cannot compute with (the model binder rejects those with DS2_E_UNSUPPORTED_DTYPE).
 * Does not own: kernels (src/kernels/).
 */
#ifndef DS2_DTYPE_H
#define DS2_DTYPE_H

#include <stddef.h>
#include <stdint.h>

/* ggml_type ids as stored in GGUF (reference §3.1). */
typedef enum ds2_dtype {
    DS2_F32 = 0, DS2_F16 = 1, DS2_Q4_0 = 2, DS2_Q4_1 = 3, DS2_Q5_0 = 6, DS2_Q5_1 = 7, DS2_Q8_0 = 8,
    DS2_Q8_1 = 9, DS2_Q2_K = 10, DS2_Q3_K = 11, DS2_Q4_K = 12, DS2_Q5_K = 13, DS2_Q6_K = 14, DS2_Q8_K = 15,
    DS2_IQ2_XXS = 16, DS2_IQ2_XS = 17, DS2_IQ3_XXS = 18, DS2_IQ1_S = 19, DS2_IQ4_NL = 20, DS2_IQ3_S = 21,
    DS2_IQ2_S = 22, DS2_IQ4_XS = 23, DS2_I8 = 24, DS2_I16 = 25, DS2_I32 = 26, DS2_I64 = 27, DS2_F64 = 28,
    DS2_IQ1_M = 29, DS2_BF16 = 30, DS2_TQ1_0 = 34, DS2_TQ2_0 = 35, DS2_MXFP4 = 39,
    DS2_DTYPE_COUNT = 40
} ds2_dtype;

typedef struct ds2_dtype_info {
    const char *name;     /* "Q4_0"; NULL for ids no GGUF uses */
    int32_t block_elems;  /* elements per block */
    int32_t block_bytes;  /* bytes per block */
} ds2_dtype_info;

/* NULL if `type` is not a known ggml type id. */
const ds2_dtype_info *ds2_dtype_info_get(int32_t type);
const char *ds2_dtype_name(int32_t type); /* "?" if unknown */

/* Bytes of a row of n elements; 0 if the type is unknown or n is not a multiple of the block size. */
size_t ds2_row_bytes(int32_t type, int64_t n);

#endif
