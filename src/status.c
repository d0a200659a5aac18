/* status.c — names and messages of status codes, generated from DS2_STATUS_MAP, and the error filler. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const k_names[] = {
#define DS2_X_NAME(name, msg) #name,
    DS2_STATUS_MAP(DS2_X_NAME)
#undef DS2_X_NAME
};

static const char *const k_messages[] = {
#define DS2_X_MSG(name, msg) msg,
    DS2_STATUS_MAP(DS2_X_MSG)
#undef DS2_X_MSG
};

const char *ds2_status_name(ds2_status s) {
    return (unsigned)s < DS2_STATUS_COUNT ? k_names[s] : "DS2_E_UNKNOWN";
}

const char *ds2_status_message(ds2_status s) {
    return (unsigned)s < DS2_STATUS_COUNT ? k_messages[s] : "unknown status";
}

ds2_status ds2_fail(ds2_error *err, ds2_status code, const char *fmt, ...) {
    if (err) {
        err->code = code;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err->message, sizeof err->message, fmt, ap);
            va_end(ap);
        } else {
            snprintf(err->message, sizeof err->message, "%s", ds2_status_message(code));
        }
    }
    return code;
}

void ds2_error_clear(ds2_error *err) {
    if (err) {
        err->code = DS2_OK;
        snprintf(err->message, sizeof err->message, "ok");
    }
}
