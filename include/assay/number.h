/*
 * assay/number.h - typed parsing of field text: int64, double (correctly rounded),
 * bool, RFC 3339 timestamps, durations and byte sizes; and formatting back.
 * All parsers take (pointer, length) slices that are not NUL-terminated, accept no
 * surrounding spaces, and return 0 or -EINVAL (not the type) / -ERANGE (overflow).
 */
#ifndef ASSAY_NUMBER_H
#define ASSAY_NUMBER_H

#include "assay/common.h"

/* [+-]?[0-9]+ */
ASSAY_API int assay_parse_i64(const char *s, size_t len, int64_t *out);

/* [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?, also inf/infinity/nan (any case).
 * Correctly rounded (round-half-even), identical to strtod on every input it accepts;
 * -ERANGE is never returned: overflow gives +-inf and underflow +-0 or a subnormal,
 * like strtod. */
ASSAY_API int assay_parse_f64(const char *s, size_t len, double *out);

/* true/false, t/f, yes/no, y/n, 1/0 in any case. */
ASSAY_API int assay_parse_bool(const char *s, size_t len, bool *out);

/* RFC 3339 date-time "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; also accepts a
 * space for T, lowercase t/z, a missing offset (taken as UTC) and a plain date
 * "YYYY-MM-DD" (midnight UTC). Result: microseconds since 1970-01-01T00:00:00Z
 * (fraction digits past 6 are truncated). Validates ranges (month, day of month with
 * leap years, hour, minute, second <= 60). */
ASSAY_API int assay_parse_timestamp(const char *s, size_t len, int64_t *out_us);

/* Durations and sizes live in src/parse/units.c (config values). */

/* "500ms", "60s", "10m", "2h", "1d", "1h30m", "1.5s", "250us"; a bare number is
 * seconds. Result in microseconds. */
ASSAY_API int assay_parse_duration(const char *s, size_t len, int64_t *out_us);

/* "1024", "64KiB", "512MiB", "1GiB", "1GB" (decimal), "10MB"; result in bytes. */
ASSAY_API int assay_parse_size(const char *s, size_t len, uint64_t *out_bytes);

/* RFC 3339 UTC with a Z; fraction only when non-zero (trailing zeros trimmed).
 * Returns the length written (< cap), buf always NUL-terminated. cap >= 32 suffices. */
ASSAY_API size_t assay_format_timestamp(int64_t us, char *buf, size_t cap);

/* Shortest text that parses back to the same double ("%.17g" worst case); "nan",
 * "inf", "-inf" for the specials. cap >= 32 suffices. */
ASSAY_API size_t assay_format_double(double v, char *buf, size_t cap);

/* Duration in microseconds as the shortest unit text ("10m", "1h30m", "1.5s"). */
ASSAY_API size_t assay_format_duration(int64_t us, char *buf, size_t cap);

#endif
