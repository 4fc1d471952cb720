/*
 * fuzz_number.c - libFuzzer target for the typed field parsers (src/parse/number.c,
 * src/parse/timestamp.c).
 *
 * Every parser sees the input as an exact-length, non-NUL-terminated heap slice, so
 * ASan reports any read past len. Beyond "no crash", each accepted value is checked
 * against an independent oracle, and any disagreement aborts:
 *   - assay_parse_f64 vs strtod_l in the C locale on the same text: strtod must
 *     consume all of it and return the same bits;
 *   - assay_format_double of that value (and of the first 8 input bytes taken as a
 *     double) must parse back to the same bits;
 *   - assay_parse_i64 vs strtoll (value, or ERANGE);
 *   - assay_format_timestamp(assay_parse_timestamp(x)) must re-parse to the same value.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t bits_of(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static void die(const char *what, const char *text, size_t len)
{
    fprintf(stderr, "fuzz_number: %s on \"%.*s\"\n", what, (int)len, text);
    abort();
}

static void check_format_double(double v)
{
    char buf[32];
    size_t n = assay_format_double(v, buf, sizeof(buf));
    if (n >= sizeof(buf) || buf[n] != '\0')
        die("format_double length", buf, n);
    double back;
    if (assay_parse_f64(buf, n, &back) != 0)
        die("format_double output rejected", buf, n);
    if (isnan(v) ? !isnan(back) : bits_of(back) != bits_of(v))
        die("format_double does not round-trip", buf, n);
}

static void check_f64(const char *s, size_t len, const char *z)
{
    double v;
    if (assay_parse_f64(s, len, &v) != 0)
        return;
    static locale_t c; /* fuzzer-only cache */
    if (!c)
        c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    char *end;
    double ref = strtod_l(z, &end, c);
    if ((size_t)(end - z) != len)
        die("accepted but strtod stops early", s, len);
    if (bits_of(v) != bits_of(ref))
        die("parse_f64 differs from strtod_l", s, len);
    check_format_double(v);
}

static void check_i64(const char *s, size_t len, const char *z)
{
    int64_t v;
    int rc = assay_parse_i64(s, len, &v);
    bool plain_start = len > 0 && (z[0] == '-' || z[0] == '+' || (z[0] >= '0' && z[0] <= '9'));
    char *end;
    errno = 0;
    long long ref = strtoll(z, &end, 10);
    if (rc == -EINVAL) {
        if (plain_start && (size_t)(end - z) == len)
            die("parse_i64 rejected what strtoll takes", s, len);
        return;
    }
    if (!plain_start)
        die("parse_i64 accepted a bad first byte", s, len);
    if ((size_t)(end - z) != len)
        die("parse_i64 accepted what strtoll does not", s, len);
    if (rc == -ERANGE ? errno != ERANGE : (rc != 0 || errno == ERANGE || v != ref))
        die("parse_i64 differs from strtoll", s, len);
}

static void check_timestamp(const char *s, size_t len)
{
    int64_t us;
    if (assay_parse_timestamp(s, len, &us) != 0)
        return;
    char buf[40];
    size_t n = assay_format_timestamp(us, buf, sizeof(buf));
    if (n >= 32)
        die("format_timestamp too long", buf, n);
    int64_t back;
    if (assay_parse_timestamp(buf, n, &back) != 0 || back != us)
        die("timestamp does not round-trip", s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size ? size : 1); /* exact length, no terminator */
    char *z = malloc(size + 1);        /* NUL-terminated copy for libc */
    if (!s || !z)
        abort();
    memcpy(s, data, size);
    memcpy(z, data, size);
    z[size] = '\0';
    bool has_nul = memchr(data, 0, size) != NULL;

    if (!has_nul) {
        check_f64(s, size, z);
        check_i64(s, size, z);
    }
    check_timestamp(s, size);
    bool b;
    (void)assay_parse_bool(s, size, &b);

    if (size >= 8) {
        double d;
        memcpy(&d, data, sizeof(d));
        check_format_double(d);
        int64_t t;
        memcpy(&t, data, sizeof(t));
        char buf[40];
        size_t n = assay_format_timestamp(t, buf, sizeof(buf));
        if (n >= 32)
            die("format_timestamp too long", buf, n);
    }
    free(s);
    free(z);
    return 0;
}
