/* error.h — internal helpers to fill a ds2_error (status code + message a user can act on).
 *
 * Library code never aborts on bad input: it returns ds2_fail(err, CODE, "what was wrong, with the name of
 * the tensor/key/offset involved"). `err` may be NULL (the caller only wants the code).
 */
#ifndef DS2_ERROR_H
#define DS2_ERROR_H

#include "ds2.h"

#if defined(__GNUC__) || defined(__clang__)
#define DS2_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DS2_PRINTF(a, b)
#endif

/* Fills err (if non-NULL) and returns code. fmt == NULL uses the default message of the code. */
ds2_status ds2_fail(ds2_error *err, ds2_status code, const char *fmt, ...) DS2_PRINTF(3, 4);

/* Resets err to DS2_OK / "ok". */
void ds2_error_clear(ds2_error *err);

#endif
