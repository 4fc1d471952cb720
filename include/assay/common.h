/*
 * assay/common.h - error convention and small shared types.
 *
 * Every fallible function returns 0 on success or a negative errno-style code
 * (-EINVAL, -ENOMEM, -EIO, ...). Where the code alone does not tell the user what
 * to do, the function also fills an assay_error with a one-line message that names
 * the file, line:column, key or row at fault. Functions never set errno for the
 * caller and never print.
 */
#ifndef ASSAY_COMMON_H
#define ASSAY_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ASSAY_API __attribute__((visibility("default")))

#define ASSAY_ERROR_MSG_MAX 512

typedef struct assay_error {
    int code;                      /* negative errno-style code, 0 when clear */
    char msg[ASSAY_ERROR_MSG_MAX]; /* one line, no trailing newline */
} assay_error;

/* Fill err (when non-NULL) with code and a printf-style message. Returns code, so
 * callers can write `return assay_error_set(err, -EINVAL, "...")`. */
ASSAY_API int assay_error_set(assay_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "PREFIX: old message". Returns err->code. */
ASSAY_API int assay_error_prefix(assay_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

ASSAY_API void assay_error_clear(assay_error *err);

#define ASSAY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ASSAY_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define ASSAY_MAX(a, b)    ((a) > (b) ? (a) : (b))
#define ASSAY_LIKELY(x)    __builtin_expect(!!(x), 1)
#define ASSAY_UNLIKELY(x)  __builtin_expect(!!(x), 0)

/* Always-compiled, always type-checked assertion; enabled by ASSAY_DEBUG. */
#ifndef ASSAY_DEBUG
#define ASSAY_DEBUG 0
#endif
#define assay_assert(x)                                                                            \
    do {                                                                                           \
        if (ASSAY_DEBUG && !(x))                                                                   \
            __builtin_trap();                                                                      \
    } while (0)

#endif
