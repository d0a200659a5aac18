/* tokenizer.h — DeepSeek's byte-level BPE tokenizer built from GGUF metadata (reference §5).
 *
 * Owns: the vocabulary view (token strings stay in the GGUF metadata the model owns), the pair → rank map of
 * the merges, the special-token list, the pre-tokenizer (regex sets deepseek-llm / deepseek-coder /
 * deepseek-v3 as hand-written matchers over code points, tokenizer_pre.c), byte-level mapping, BPE.
 * Invariants: read-only after build (shared by threads); any input bytes tokenize (invalid UTF-8 byte by byte)
 * and the tokens' bytes concatenate back to the input exactly.
 */
#ifndef DS2_TOKENIZER_H
#define DS2_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ds2.h"
#include "gguf.h"

/* GGUF token types (llama.cpp llama_token_type) */
enum {
    DS2_TOKTYPE_UNDEFINED = 0, DS2_TOKTYPE_NORMAL = 1, DS2_TOKTYPE_UNKNOWN = 2, DS2_TOKTYPE_CONTROL = 3,
    DS2_TOKTYPE_USER_DEFINED = 4, DS2_TOKTYPE_UNUSED = 5, DS2_TOKTYPE_BYTE = 6
};

/* The pre-tokenizer regex sets (reference §5.2). */
typedef enum ds2_pre_kind { DS2_PRE_DEEPSEEK_LLM = 0, DS2_PRE_DEEPSEEK_CODER, DS2_PRE_DEEPSEEK_V3 } ds2_pre_kind;

typedef struct ds2_tokenizer ds2_tokenizer;

/* Reads tokenizer.ggml.{model,pre,tokens,token_type,merges,bos_token_id,eos_token_id,add_bos_token}. The
 * tokenizer keeps pointers into g's strings: g must outlive it. */
ds2_status ds2_tokenizer_build(const ds2_gguf *g, ds2_tokenizer **out, ds2_error *err);
void ds2_tokenizer_free(ds2_tokenizer *t);

int32_t ds2_tokenizer_n_vocab(const ds2_tokenizer *t);
int32_t ds2_tokenizer_bos(const ds2_tokenizer *t);
int32_t ds2_tokenizer_eos(const ds2_tokenizer *t);
int32_t ds2_tokenizer_add_bos(const ds2_tokenizer *t);
int32_t ds2_tokenizer_type(const ds2_tokenizer *t, int32_t id); /* -1 if out of range */

/* See ds2_tokenize in ds2.h. */
ds2_status ds2_tokenizer_encode(const ds2_tokenizer *t, const char *text, size_t len, int add_bos,
                                int parse_special, int32_t *tokens, int32_t cap, int32_t *n_tokens,
                                ds2_error *err);
/* Bytes of one token; writes min(cap, size) bytes and returns the full size (0 if id is out of range). */
size_t ds2_tokenizer_token_bytes(const ds2_tokenizer *t, int32_t id, char *buf, size_t cap);

/* Pre-tokenizer (tokenizer_pre.c): splits code points cp[0..n) (flags fl[i] = ds2_unicode_flags(cp[i])) into
 * pieces; writes piece end offsets (exclusive, increasing, last = n) to ends[] (room for n entries) and
 * returns the count. scratch: room for n entries. */
size_t ds2_pre_split(ds2_pre_kind kind, const uint32_t *cp, const uint8_t *fl, size_t n, size_t *ends,
                     size_t *scratch);

#endif
