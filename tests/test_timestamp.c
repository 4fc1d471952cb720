/*
 * test_timestamp.c - assay_parse_timestamp and assay_format_timestamp.
 *
 * Expected values come from outside the code under test: glibc's timegm() for random
 * dates 1900-2100 with random offsets and fractions, and a day-by-day walk over every
 * date 0000-01-01 .. 9999-12-31 that counts days with its own month-length rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/number.h"

#define US 1000000LL

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Parse from an exact-length heap copy, so ASan catches reads past len. */
static int parse_ts(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    int rc = assay_parse_timestamp(copy, len, out);
    free(copy);
    return rc;
}

static void expect_ts(const char *s, int64_t want)
{
    int64_t got = 0;
    int rc = parse_ts(s, &got);
    if (rc != 0)
        fail_msg("\"%s\": rc %d, want %lld", s, rc, (long long)want);
    if (got != want)
        fail_msg("\"%s\": %lld, want %lld", s, (long long)got, (long long)want);
}

static void expect_bad(const char *s)
{
    int64_t got = 777;
    int rc = parse_ts(s, &got);
    if (rc != -EINVAL)
        fail_msg("\"%s\": rc %d (value %lld), want -EINVAL", s, rc, (long long)got);
    assert_int_equal(got, 777);
}

static void test_known_values(void **state)
{
    (void)state;
    expect_ts("1970-01-01T00:00:00Z", 0);
    expect_ts("1970-01-01", 0);
    expect_ts("1970-01-01T00:00:00.000001Z", 1);
    expect_ts("1969-12-31T23:59:59.999999Z", -1);
    expect_ts("1969-12-31T23:59:59Z", -US);
    expect_ts("1969-12-31", -86400 * US);
    expect_ts("2026-03-01T12:34:56Z", 1772368496 * US);
    expect_ts("2026-03-01T12:34:56.123456+02:00", (1772368496 - 7200) * US + 123456);
    expect_ts("2026-03-01T12:34:56.123456-02:30", (1772368496 + 9000) * US + 123456);
    expect_ts("2000-01-01T00:00:00Z", 946684800 * US);
    expect_ts("2038-01-19T03:14:07Z", 2147483647LL * US);
    expect_ts("1900-01-01T00:00:00Z", -2208988800LL * US);
    expect_ts("0000-01-01T00:00:00Z", -62167219200LL * US);
    expect_ts("0000-03-01", -62162035200LL * US);
    expect_ts("9999-12-31T23:59:59.999999Z", 253402300799LL * US + 999999);
    /* offsets that leave the 0000..9999 range still work */
    expect_ts("0000-01-01T00:00:00+23:59", (-62167219200LL - 86340) * US);
    expect_ts("9999-12-31T23:59:59-23:59", (253402300799LL + 86340) * US);
    /* RFC 3339 section 5.8 examples */
    expect_ts("1985-04-12T23:20:50.52Z", 482196050 * US + 520000);
    expect_ts("1996-12-19T16:39:57-08:00", 851042397 * US);
    expect_ts("1990-12-31T23:59:60Z", 662688000 * US); /* leap second: next minute */
    expect_ts("1990-12-31T15:59:60-08:00", 662688000 * US);
    expect_ts("1937-01-01T12:00:27.87+00:20", -1041337173LL * US + 870000);
}

static void test_relaxations(void **state)
{
    (void)state;
    const int64_t t = 1772368496 * US;
    expect_ts("2026-03-01T12:34:56Z", t);
    expect_ts("2026-03-01t12:34:56Z", t);
    expect_ts("2026-03-01 12:34:56Z", t);
    expect_ts("2026-03-01T12:34:56z", t);
    expect_ts("2026-03-01T12:34:56", t);
    expect_ts("2026-03-01 12:34:56", t);
    expect_ts("2026-03-01T12:34:56+00:00", t);
    expect_ts("2026-03-01T12:34:56-00:00", t); /* RFC 3339 4.3: unknown offset, UTC */
    expect_ts("2026-03-01T12:34:56.5", t + 500000);
    expect_ts("2026-03-01", t - (12 * 3600 + 34 * 60 + 56) * US);
}

static void test_fraction(void **state)
{
    (void)state;
    const int64_t t = 1772368496 * US;
    expect_ts("2026-03-01T12:34:56.1Z", t + 100000);
    expect_ts("2026-03-01T12:34:56.12Z", t + 120000);
    expect_ts("2026-03-01T12:34:56.000001Z", t + 1);
    expect_ts("2026-03-01T12:34:56.0000009Z", t); /* truncated, not rounded */
    expect_ts("2026-03-01T12:34:56.1234567Z", t + 123456);
    expect_ts("2026-03-01T12:34:56.999999999999999999999999999999Z", t + 999999);
    expect_ts("2026-03-01T12:34:56.000000000000000000000000000000", t);
    expect_ts("1969-12-31T23:59:59.9999999Z", -1);
    expect_ts("1969-12-31T23:59:59.5+01:00", -3600 * US - 500000);
}

static void test_leap_seconds_and_years(void **state)
{
    (void)state;
    int64_t a, b;
    /* second 60 is the first second of the next minute (documented choice) */
    assert_int_equal(parse_ts("2016-12-31T23:59:60Z", &a), 0);
    assert_int_equal(parse_ts("2017-01-01T00:00:00Z", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(parse_ts("2016-12-31T23:59:60.25Z", &a), 0);
    assert_int_equal(a, b + 250000);
    assert_int_equal(parse_ts("2024-02-29T12:30:60+01:00", &a), 0);
    assert_int_equal(parse_ts("2024-02-29T12:31:00+01:00", &b), 0);
    assert_int_equal(a, b);
    expect_bad("2016-12-31T23:59:61Z");

    static const char *leap_ok[] = { "2000-02-29", "2024-02-29", "1996-02-29",
                                     "0000-02-29", "1600-02-29", "2400-02-29T00:00:00Z" };
    static const char *leap_bad[] = { "1900-02-29",          "2023-02-29", "2100-02-29",
                                      "1700-02-29",          "2001-02-29", "2000-02-30",
                                      "2024-02-30T00:00:00Z" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(leap_ok); i++) {
        int64_t v;
        if (parse_ts(leap_ok[i], &v) != 0)
            fail_msg("\"%s\" rejected, but it is a leap day", leap_ok[i]);
    }
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(leap_bad); i++)
        expect_bad(leap_bad[i]);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "2026",
        "2026-03",
        "2026-03-0",
        "2026-3-01",
        "26-03-01",
        "+2026-03-01",
        "20260301",
        "2026/03/01",
        "2026-03-01T",
        "2026-03-01T12",
        "2026-03-01T12:34",
        "2026-03-01T12:34Z",
        "2026-03-01T12:34:5",
        "2026-03-01T12:34:5Z",
        "2026-03-01X12:34:56Z",
        "2026-03-01_12:34:56Z",
        "2026-03-01  12:34:56Z",
        "2026-03-01T12-34-56Z",
        "2026-03-01T12:34-56Z",
        "2026-00-01",
        "2026-13-01",
        "2026-99-01",
        "2026-01-00",
        "2026-01-32",
        "2026-04-31",
        "2026-06-31",
        "2026-09-31",
        "2026-11-31",
        "2026-03-01T24:00:00Z",
        "2026-03-01T25:00:00Z",
        "2026-03-01T12:60:00Z",
        "2026-03-01T12:34:61Z",
        "2026-03-01T12:34:99Z",
        "2026-03-01T12:34:56.Z",
        "2026-03-01T12:34:56.",
        "2026-03-01T12:34:56,5Z",
        "2026-03-01T12:34:56.5.5Z",
        "2026-03-01T12:34:56.5xZ",
        "2026-03-01T12:34:56ZZ",
        "2026-03-01T12:34:56Z ",
        " 2026-03-01T12:34:56Z",
        "2026-03-01T12:34:56 Z",
        "2026-03-01T12:34:56UTC",
        "2026-03-01T12:34:56+02",
        "2026-03-01T12:34:56+0200",
        "2026-03-01T12:34:56+2:00",
        "2026-03-01T12:34:56+02:0",
        "2026-03-01T12:34:56+02:000",
        "2026-03-01T12:34:56+24:00",
        "2026-03-01T12:34:56+02:60",
        "2026-03-01T12:34:56+0a:00",
        "2026-03-01T12:34:56+02;00",
        "2026-03-01T12:34:56*02:00",
        "2026-03-01T12:34:56+02:00Z",
        "2026-03-01 ",
        "2026-03-01Z",
        "2026-03-01+02:00",
        "2026-03-01x",
        "a026-03-01",
        "2026-0a-01",
        "2026-03-0a",
        "2026-03-01T1a:34:56Z",
        "2026-03-01T12:3a:56Z",
        "2026-03-01T12:34:5aZ",
        "2026-03-01T12:34:56.1a",
        "2026-03-01T-1:34:56Z",
        "2026-03-01T12:34:56.123456789+02:00x",
        "-001-03-01",
        "10000-01-01",
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad); i++)
        expect_bad(bad[i]);
}

/* Random dates 1900-2100 against timegm(), with random offsets and fractions. */
static void test_random_vs_timegm(void **state)
{
    (void)state;
    uint64_t s = 11;
    char buf[96];
    for (int i = 0; i < 300000; i++) {
        struct tm tm = { 0 };
        tm.tm_year = 1900 + (int)(rnd(&s) % 201) - 1900;
        tm.tm_mon = (int)(rnd(&s) % 12);
        tm.tm_mday = 1 + (int)(rnd(&s) % 31);
        tm.tm_hour = (int)(rnd(&s) % 24);
        tm.tm_min = (int)(rnd(&s) % 60);
        tm.tm_sec = (int)(rnd(&s) % 61);
        int y = tm.tm_year + 1900, mo = tm.tm_mon + 1, d = tm.tm_mday;
        int h = tm.tm_hour, mi = tm.tm_min, se = tm.tm_sec;
        /* timegm normalizes invalid days; use that to know whether the day exists */
        struct tm probe = { 0 };
        probe.tm_year = tm.tm_year;
        probe.tm_mon = tm.tm_mon;
        probe.tm_mday = d;
        probe.tm_hour = 12;
        timegm(&probe);
        bool day_exists = probe.tm_mday == d;
        int64_t secs = (int64_t)timegm(&tm);

        int oh = (int)(rnd(&s) % 24), om = (int)(rnd(&s) % 60);
        int sign = (int)(rnd(&s) % 4); /* 0 Z, 1 +, 2 -, 3 none */
        int fd = (int)(rnd(&s) % 10);  /* fraction digits */
        uint64_t fr = rnd(&s) % 1000000000ULL;
        int k = snprintf(buf, sizeof(buf), "%04d-%02d-%02d%c%02d:%02d:%02d", y, mo, d,
                         "Tt "[rnd(&s) % 3], h, mi, se);
        int64_t frac_us = 0;
        if (fd) {
            static const int64_t scale[6] = { 100000, 10000, 1000, 100, 10, 1 };
            char digits[16];
            snprintf(digits, sizeof(digits), "%09llu", (unsigned long long)fr);
            buf[k++] = '.';
            for (int j = 0; j < fd; j++) {
                buf[k++] = digits[j % 9];
                if (j < 6)
                    frac_us += (digits[j % 9] - '0') * scale[j];
            }
        }
        int64_t off = 0;
        if (sign == 0) {
            buf[k++] = "Zz"[rnd(&s) & 1];
        } else if (sign < 3) {
            k += snprintf(buf + k, sizeof(buf) - (size_t)k, "%c%02d:%02d", sign == 1 ? '+' : '-',
                          oh, om);
            off = (sign == 1 ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        }
        buf[k] = '\0';
        if (!day_exists) {
            expect_bad(buf);
            continue;
        }
        expect_ts(buf, (secs - off) * US + frac_us);
    }
}

/* Every date 0000-01-01 .. 9999-12-31, walking one day at a time. */
static void test_every_day(void **state)
{
    (void)state;
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t day = -719528; /* 0000-01-01 relative to 1970-01-01 */
    char buf[32], out[40];
    for (int y = 0; y <= 9999; y++) {
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int m = 1; m <= 12; m++) {
            int n = dim[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= n; d++, day++) {
                snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
                int64_t v;
                if (parse_ts(buf, &v) != 0)
                    fail_msg("\"%s\" rejected", buf);
                if (v != day * 86400 * US)
                    fail_msg("\"%s\": %lld, want day %lld", buf, (long long)v, (long long)day);
                assay_format_timestamp(v, out, sizeof(out));
                char want[48];
                snprintf(want, sizeof(want), "%sT00:00:00Z", buf);
                assert_string_equal(out, want);
            }
            if (y % 97 == 0) { /* the day after the last is invalid */
                snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, n + 1);
                expect_bad(buf);
            }
        }
    }
    assert_int_equal(day, 2932897); /* 10000-01-01 */
}

static void test_format(void **state)
{
    (void)state;
    static const struct {
        int64_t us;
        const char *want;
    } cases[] = {
        { 0, "1970-01-01T00:00:00Z" },
        { 1, "1970-01-01T00:00:00.000001Z" },
        { -1, "1969-12-31T23:59:59.999999Z" },
        { 500000, "1970-01-01T00:00:00.5Z" },
        { -500000, "1969-12-31T23:59:59.5Z" },
        { 120000, "1970-01-01T00:00:00.12Z" },
        { 1772368496 * US, "2026-03-01T12:34:56Z" },
        { 1772368496 * US + 123456, "2026-03-01T12:34:56.123456Z" },
        { 1772368496 * US + 100, "2026-03-01T12:34:56.0001Z" },
        { -62167219200LL * US, "0000-01-01T00:00:00Z" },
        { 253402300799LL * US + 999999, "9999-12-31T23:59:59.999999Z" },
        { 253402300800LL * US, "10000-01-01T00:00:00Z" },
        { -62167219200LL * US - 1, "-0001-12-31T23:59:59.999999Z" },
        /* extremes, checked with Python: 400-year cycles shifted into 1..9999 */
        { INT64_MAX, "294247-01-10T04:00:54.775807Z" },
        { INT64_MIN, "-290308-12-21T19:59:05.224192Z" },
    };
    char buf[64];
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        memset(buf, 'x', sizeof(buf));
        size_t n = assay_format_timestamp(cases[i].us, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
        assert_true(n < 32);
    }
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(assay_format_timestamp(0, buf, 5), 4);
    assert_string_equal(buf, "1970");
    buf[0] = 'x';
    assert_int_equal(assay_format_timestamp(0, buf, 0), 0);
    assert_int_equal(buf[0], 'x');
}

/* format(parse(x)) and parse(format(v)) on random values in the parser's range. */
static void test_roundtrip(void **state)
{
    (void)state;
    uint64_t s = 12;
    const int64_t lo = -62167219200LL * US, hi = 253402300800LL * US;
    char buf[64];
    for (int i = 0; i < 1000000; i++) {
        int64_t v = lo + (int64_t)(rnd(&s) % (uint64_t)(hi - lo));
        if (i % 4 == 1)
            v -= v % US; /* whole seconds */
        else if (i % 4 == 2)
            v = (int64_t)(rnd(&s) % (200 * 365 * 86400ULL)) * (rnd(&s) & 1 ? 1 : -1) * US / 100;
        size_t n = assay_format_timestamp(v, buf, sizeof(buf));
        int64_t back;
        if (assay_parse_timestamp(buf, n, &back) != 0 || back != v)
            fail_msg("%lld -> \"%s\" -> %lld", (long long)v, buf, (long long)back);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values), cmocka_unit_test(test_relaxations),
        cmocka_unit_test(test_fraction),     cmocka_unit_test(test_leap_seconds_and_years),
        cmocka_unit_test(test_invalid),      cmocka_unit_test(test_random_vs_timegm),
        cmocka_unit_test(test_every_day),    cmocka_unit_test(test_format),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
