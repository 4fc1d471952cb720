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
    snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    return err->code;
}

void assay_error_clear(assay_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
