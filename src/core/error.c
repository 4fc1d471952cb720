/* Error messages: one line a user can act on, carried next to a negative code. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assay/common.h"

int assay_error_set(assay_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int assay_error_prefix(assay_error *err, const char *fmt, ...)
{
    if (!err)
        return -EINVAL;
    char prefix[ASSAY_ERROR_MSG_MAX];
    char old[ASSAY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* prefix + ": " + old, cut to fit */
    size_t n = strnlen(prefix, sizeof(prefix) - 1);
    size_t m = strnlen(old, sizeof(old) - 1);
    size_t cap = sizeof(err->msg) - 1;
    size_t at = 0;
    memcpy(err->msg, prefix, ASSAY_MIN(n, cap));
    at = ASSAY_MIN(n, cap);
    if (at + 2 <= cap) {
        memcpy(err->msg + at, ": ", 2);
        at += 2;
    }
    memcpy(err->msg + at, old, ASSAY_MIN(m, cap - at));
    at += ASSAY_MIN(m, cap - at);
    err->msg[at] = '\0';
    return err->code;
}

void assay_error_clear(assay_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
