/* status.h — the one list of status codes (P3 in the style guide).
 *
 * Owns: every status the library can return, its name and a default message.
 * Invariant: codes are stable numbers; JS mirrors the names (wasm/status.js is generated from this table),
 * so an Error's `code` in JS is exactly the C name below.
 */
#ifndef DS2_STATUS_H
#define DS2_STATUS_H

/* X(name, default message) */
#define DS2_STATUS_MAP(X)                                                                  \
    X(DS2_OK, "ok")                                                                        \
    X(DS2_E_INVALID_ARG, "invalid argument")                                               \
    X(DS2_E_NOMEM, "out of memory")                                                        \
    X(DS2_E_IO, "I/O error")                                                               \
    X(DS2_E_STATE, "call made in the wrong state")                                         \
    X(DS2_E_BAD_MAGIC, "not a GGUF file (bad magic)")                                      \
    X(DS2_E_BAD_VERSION, "unsupported GGUF version")                                       \
    X(DS2_E_TRUNCATED, "GGUF file is truncated")                                           \
    X(DS2_E_OVERFLOW, "a count or size in the file is too large")                         \
    X(DS2_E_BAD_KV_TYPE, "unknown metadata value type")                                    \
    X(DS2_E_DUPLICATE, "duplicate key or tensor name")                                     \
    X(DS2_E_BAD_ALIGNMENT, "general.alignment is not a power of two")                      \
    X(DS2_E_BAD_TENSOR, "malformed tensor description")                                    \
    X(DS2_E_UNKNOWN_DTYPE, "unknown tensor data type")                                     \
    X(DS2_E_BAD_OFFSET, "tensor data lies outside the file")                               \
    X(DS2_E_MISALIGNED, "tensor offset is not aligned")                                    \
    X(DS2_E_UNSUPPORTED_DTYPE, "tensor data type not supported by this build")             \
    X(DS2_E_UNSUPPORTED_ARCH, "model architecture is not deepseek2")                       \
    X(DS2_E_MISSING_KEY, "required metadata key is missing")                               \
    X(DS2_E_BAD_KEY_TYPE, "metadata key has the wrong type")                               \
    X(DS2_E_BAD_HPARAM, "hyper-parameter value not supported")                             \
    X(DS2_E_MISSING_TENSOR, "required tensor is missing")                                  \
    X(DS2_E_SHAPE_MISMATCH, "tensor shape does not match the hyper-parameters")            \
    X(DS2_E_BAD_TOKEN, "token id out of range")                                            \
    X(DS2_E_CONTEXT_FULL, "context is full")                                               \
    X(DS2_E_CANCELLED, "cancelled")                                                        \
    X(DS2_E_NO_TOKENIZER, "the model has no usable tokenizer")                            \
    X(DS2_E_UNSUPPORTED_TEMPLATE, "the model's chat template is not one the built-in formatter knows")

typedef enum ds2_status {
#define DS2_X_ENUM(name, msg) name,
    DS2_STATUS_MAP(DS2_X_ENUM)
#undef DS2_X_ENUM
    DS2_STATUS_COUNT
} ds2_status;

#endif
