/*
 * units.c - durations ("1h30m", "1.5s") and byte sizes ("512MiB", "10MB") in configs.
 *
 * Durations
 * ---------
 * A duration is one or more components NUMBER UNIT, like Go's time.ParseDuration
 * (https://pkg.go.dev/time#ParseDuration) and systemd.time(7):
 *
 *     duration  = component { [" "] component } | number        ; bare number = seconds
 *     component = number [" "] unit
 *     number    = digits [ "." digits ] | "." digits
 *     unit      = "us" | "µs" | "ms" | "s" | "m" | "h" | "d" | "w"
 *
 * The result is an int64 count of microseconds (the resolution of timestamps in
 * assay, see number.h), which covers +-292,000 years. Each component is computed
 * exactly in integers: whole part * unit + fraction digits * unit / 10^k, with the
 * fraction truncated below one microsecond ("1.0000005s" is 1s). Products are done in
 * 128 bits and anything beyond INT64_MAX is -ERANGE, never a wrapped value. Signs,
 * exponents, "inf" and "nan" are rejected: every duration in a config (window sizes,
 * lateness, max_age) is a non-negative span of time.
 *
 * Formatting goes the other way and picks the shortest text that parses back to the
 * same value: whole days/hours/minutes as "1d2h", then seconds with a trimmed decimal
 * fraction ("1h0.5s", "1.5s"); under a second "500ms" or "250us". So format(parse(x))
 * is a canonical spelling of x and parse(format(v)) == v for every v >= 0.
 *
 * Sizes
 * -----
 *     size = number [" "] [unit]      ; no unit = bytes
 *     unit = B | KB MB GB TB (powers of 1000) | KiB MiB GiB TiB (powers of 1024)
 *
 * following the IEC 80000-13 prefixes (Ki = 2^10) and SI prefixes (k = 10^3). Units are
 * matched case-insensitively, so "kb" and "KB" both mean 1000 bytes; a lone "K"/"M"/"G"
 * is ambiguous between the two families and is rejected. A fractional size
 * ("1.5GiB") is exact down to the byte and truncated below it.
 */
#include <string.h>

#include "assay/number.h"

/* ---------------------------------------------------------------- shared scanning */

/* A decimal number "12", "1.5", ".5": whole part and up to 18 fraction digits (more
 * are scanned and ignored: they are below any unit's resolution here). */
typedef struct decimal {
    uint64_t whole;
    uint64_t frac;     /* fraction digits as an integer */
    uint64_t frac_div; /* 10^(number of kept fraction digits) */
} decimal;

/* Scan a decimal at s[*i]. Returns 0, -EINVAL (no digits) or -ERANGE (whole part
 * overflows). */
static int scan_decimal(const char *s, size_t len, size_t *i, decimal *d)
{
    size_t p = *i;
    size_t ndig = 0;
    d->whole = 0;
    d->frac = 0;
    d->frac_div = 1;
    while (p < len && s[p] >= '0' && s[p] <= '9') {
        unsigned dig = (unsigned)(s[p] - '0');
        if (d->whole > (UINT64_MAX - dig) / 10)
            return -ERANGE;
        d->whole = d->whole * 10 + dig;
        p++;
        ndig++;
    }
    if (p < len && s[p] == '.') {
        p++;
        size_t nfrac = 0;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            if (nfrac < 18) {
                d->frac = d->frac * 10 + (unsigned)(s[p] - '0');
                d->frac_div *= 10;
            }
            nfrac++;
            p++;
        }
        if (nfrac == 0 && ndig == 0)
            return -EINVAL;
        ndig += nfrac;
    }
    if (ndig == 0)
        return -EINVAL;
    *i = p;
    return 0;
}

/* d * unit, exactly, truncated below 1; -ERANGE beyond limit. */
static int scale_decimal(const decimal *d, uint64_t unit, uint64_t limit, uint64_t *out)
{
    unsigned __int128 v = (unsigned __int128)d->whole * unit;
    v += (unsigned __int128)d->frac * unit / d->frac_div;
    if (v > limit)
        return -ERANGE;
    *out = (uint64_t)v;
    return 0;
}

static bool ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- durations */

typedef struct duration_unit {
    const char *name;
    uint64_t us;
} duration_unit;

static const duration_unit duration_units[] = {
    { "us", 1ULL },
    { "\xc2\xb5s", 1ULL }, /* µs (U+00B5 MICRO SIGN) */
    { "ms", 1000ULL },
    { "s", 1000000ULL },
    { "m", 60ULL * 1000000ULL },
    { "h", 3600ULL * 1000000ULL },
    { "d", 86400ULL * 1000000ULL },
    { "w", 7ULL * 86400ULL * 1000000ULL },
};

int assay_parse_duration(const char *s, size_t len, int64_t *out_us)
{
    if (!s || len == 0)
        return -EINVAL;
    size_t i = 0;
    uint64_t total = 0;
    int ncomp = 0;
    while (i < len) {
        if (ncomp > 0 && s[i] == ' ') {
            i++; /* "1h 30m" */
            if (i == len)
                return -EINVAL;
        }
        decimal d;
        int rc = scan_decimal(s, len, &i, &d);
        if (rc < 0)
            return rc;
        size_t u0 = i < len && s[i] == ' ' ? i + 1 : i;
        size_t u1 = u0;
        while (u1 < len && !(s[u1] >= '0' && s[u1] <= '9') && s[u1] != '.' && s[u1] != ' ')
            u1++;
        uint64_t unit = 0;
        if (u1 == u0) {
            /* No unit: only allowed for a lone bare number (seconds). */
            if (ncomp > 0 || u0 != len || u0 != i)
                return -EINVAL;
            unit = 1000000ULL;
        } else {
            for (size_t k = 0; k < ASSAY_ARRAY_LEN(duration_units); k++) {
                size_t ul = strlen(duration_units[k].name);
                if (ul == u1 - u0 && memcmp(s + u0, duration_units[k].name, ul) == 0) {
                    unit = duration_units[k].us;
                    break;
                }
            }
            if (unit == 0)
                return -EINVAL;
        }
        uint64_t v;
        rc = scale_decimal(&d, unit, (uint64_t)INT64_MAX, &v);
        if (rc < 0)
            return rc;
        if (v > (uint64_t)INT64_MAX - total)
            return -ERANGE;
        total += v;
        ncomp++;
        i = u1;
    }
    *out_us = (int64_t)total;
    return 0;
}

/* Append text to buf at *n, keeping one byte for the NUL. */
static void put(char *buf, size_t cap, size_t *n, const char *s)
{
    for (; *s && *n + 1 < cap; s++)
        buf[(*n)++] = *s;
}

static void put_u64(char *buf, size_t cap, size_t *n, uint64_t v)
{
    char tmp[24];
    size_t k = sizeof(tmp);
    tmp[--k] = '\0';
    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(buf, cap, n, tmp + k);
}

size_t assay_format_duration(int64_t us, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return 0;
    size_t n = 0;
    uint64_t v;
    if (us < 0) {
        put(buf, cap, &n, "-");
        v = (uint64_t)0 - (uint64_t)us; /* also right for INT64_MIN */
    } else {
        v = (uint64_t)us;
    }
    if (v == 0) {
        put(buf, cap, &n, "0s");
    } else if (v < 1000000ULL) {
        if (v % 1000 == 0) {
            put_u64(buf, cap, &n, v / 1000);
            put(buf, cap, &n, "ms");
        } else {
            put_u64(buf, cap, &n, v);
            put(buf, cap, &n, "us");
        }
    } else {
        static const struct {
            uint64_t us;
            const char *name;
        } big[] = { { 86400ULL * 1000000ULL, "d" },
                    { 3600ULL * 1000000ULL, "h" },
                    { 60ULL * 1000000ULL, "m" } };
        for (size_t k = 0; k < ASSAY_ARRAY_LEN(big); k++) {
            if (v >= big[k].us) {
                put_u64(buf, cap, &n, v / big[k].us);
                put(buf, cap, &n, big[k].name);
                v %= big[k].us;
            }
        }
        if (v) {
            put_u64(buf, cap, &n, v / 1000000ULL);
            uint64_t frac = v % 1000000ULL;
            if (frac) {
                char digits[8];
                uint64_t f = frac;
                for (int k = 5; k >= 0; k--) {
                    digits[k] = (char)('0' + f % 10);
                    f /= 10;
                }
                int end = 6;
                while (end > 0 && digits[end - 1] == '0')
                    end--;
                digits[end] = '\0';
                put(buf, cap, &n, ".");
                put(buf, cap, &n, digits);
            }
            put(buf, cap, &n, "s");
        }
    }
    buf[n] = '\0';
    return n;
}

/* ---------------------------------------------------------------- sizes */

typedef struct size_unit {
    const char *name;
    uint64_t bytes;
} size_unit;

static const size_unit size_units[] = {
    { "b", 1ULL },
    { "kb", 1000ULL },
    { "mb", 1000ULL * 1000ULL },
    { "gb", 1000ULL * 1000ULL * 1000ULL },
    { "tb", 1000ULL * 1000ULL * 1000ULL * 1000ULL },
    { "kib", 1ULL << 10 },
    { "mib", 1ULL << 20 },
    { "gib", 1ULL << 30 },
    { "tib", 1ULL << 40 },
};

int assay_parse_size(const char *s, size_t len, uint64_t *out_bytes)
{
    if (!s || len == 0)
        return -EINVAL;
    size_t i = 0;
    decimal d;
    int rc = scan_decimal(s, len, &i, &d);
    if (rc < 0)
        return rc;
    uint64_t unit = 1;
    if (i < len) {
        size_t u0 = s[i] == ' ' ? i + 1 : i;
        if (u0 == len)
            return -EINVAL;
        unit = 0;
        for (size_t k = 0; k < ASSAY_ARRAY_LEN(size_units); k++) {
            if (ascii_ieq(s + u0, len - u0, size_units[k].name)) {
                unit = size_units[k].bytes;
                break;
            }
        }
        if (unit == 0)
            return -EINVAL;
    }
    return scale_decimal(&d, unit, UINT64_MAX, out_bytes);
}
