// status.js — GENERATED from src/status.h by wasm/gen_status.mjs; do not edit (ctest checks it is current).
// The C status codes: index = the ds2_status value returned by the wasm exports.

/** Status names by code: STATUS_NAMES[code] is e.g. 'DS2_E_TRUNCATED'. */
export const STATUS_NAMES = Object.freeze([
  "DS2_OK",
  "DS2_E_INVALID_ARG",
  "DS2_E_NOMEM",
  "DS2_E_IO",
  "DS2_E_STATE",
  "DS2_E_BAD_MAGIC",
  "DS2_E_BAD_VERSION",
  "DS2_E_TRUNCATED",
  "DS2_E_OVERFLOW",
  "DS2_E_BAD_KV_TYPE",
  "DS2_E_DUPLICATE",
  "DS2_E_BAD_ALIGNMENT",
  "DS2_E_BAD_TENSOR",
  "DS2_E_UNKNOWN_DTYPE",
  "DS2_E_BAD_OFFSET",
  "DS2_E_MISALIGNED",
  "DS2_E_UNSUPPORTED_DTYPE",
  "DS2_E_UNSUPPORTED_ARCH",
  "DS2_E_MISSING_KEY",
  "DS2_E_BAD_KEY_TYPE",
  "DS2_E_BAD_HPARAM",
  "DS2_E_MISSING_TENSOR",
  "DS2_E_SHAPE_MISMATCH",
  "DS2_E_BAD_TOKEN",
  "DS2_E_CONTEXT_FULL",
  "DS2_E_CANCELLED",
  "DS2_E_NO_TOKENIZER",
  "DS2_E_UNSUPPORTED_TEMPLATE"
]);

/** Default messages by code (the C calls usually give a more specific one). */
export const STATUS_MESSAGES = Object.freeze([
  "ok",
  "invalid argument",
  "out of memory",
  "I/O error",
  "call made in the wrong state",
  "not a GGUF file (bad magic)",
  "unsupported GGUF version",
  "GGUF file is truncated",
  "a count or size in the file is too large",
  "unknown metadata value type",
  "duplicate key or tensor name",
  "general.alignment is not a power of two",
  "malformed tensor description",
  "unknown tensor data type",
  "tensor data lies outside the file",
  "tensor offset is not aligned",
  "tensor data type not supported by this build",
  "model architecture is not deepseek2",
  "required metadata key is missing",
  "metadata key has the wrong type",
  "hyper-parameter value not supported",
  "required tensor is missing",
  "tensor shape does not match the hyper-parameters",
  "token id out of range",
  "context is full",
  "cancelled",
  "the model has no usable tokenizer",
  "the model's chat template is not one the built-in formatter knows"
]);

/** Code by name: Status.DS2_E_TRUNCATED. */
export const Status = Object.freeze({
  DS2_OK: 0,
  DS2_E_INVALID_ARG: 1,
  DS2_E_NOMEM: 2,
  DS2_E_IO: 3,
  DS2_E_STATE: 4,
  DS2_E_BAD_MAGIC: 5,
  DS2_E_BAD_VERSION: 6,
  DS2_E_TRUNCATED: 7,
  DS2_E_OVERFLOW: 8,
  DS2_E_BAD_KV_TYPE: 9,
  DS2_E_DUPLICATE: 10,
  DS2_E_BAD_ALIGNMENT: 11,
  DS2_E_BAD_TENSOR: 12,
  DS2_E_UNKNOWN_DTYPE: 13,
  DS2_E_BAD_OFFSET: 14,
  DS2_E_MISALIGNED: 15,
  DS2_E_UNSUPPORTED_DTYPE: 16,
  DS2_E_UNSUPPORTED_ARCH: 17,
  DS2_E_MISSING_KEY: 18,
  DS2_E_BAD_KEY_TYPE: 19,
  DS2_E_BAD_HPARAM: 20,
  DS2_E_MISSING_TENSOR: 21,
  DS2_E_SHAPE_MISMATCH: 22,
  DS2_E_BAD_TOKEN: 23,
  DS2_E_CONTEXT_FULL: 24,
  DS2_E_CANCELLED: 25,
  DS2_E_NO_TOKENIZER: 26,
  DS2_E_UNSUPPORTED_TEMPLATE: 27,
});

/** The C name of a status code ('DS2_E_UNKNOWN(<code>)' for a code this table does not know). */
export function statusName(code) {
  return STATUS_NAMES[code] ?? `DS2_E_UNKNOWN(${code})`;
}
