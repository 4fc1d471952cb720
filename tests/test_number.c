/*
 * test_number.c - assay_parse_i64 / _f64 / _bool and assay_format_double.
 *
 * The double parser must agree bit for bit with glibc's strtod_l in the C locale on
 * every input our grammar accepts; the random tests below feed it several million
 * inputs of the shapes that break parsers (17-digit round trips, long %e output,
 * random digit strings, near-halfway decimals, subnormal and overflow boundaries).
 * The powers-of-five table is recomputed here from exact big-integer arithmetic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "parse/pow5_table.h"

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                              */
/* ------------------------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t dbits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static double bitsd(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static locale_t c_locale(void)
{
    static locale_t loc; /* test-only cache */
    if (!loc)
        loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    assert_non_null(loc);
    return loc;
}

/* Parse text with ours (on an exact-length heap copy, so ASan sees any over-read)
 * and with strtod_l; fail with both values printed when the bits differ. Returns
 * whether ours accepted. */
static unsigned long n_compared;

static bool check_vs_strtod(const char *text)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    double ours = 0;
    int rc = assay_parse_f64(copy, len, &ours);
    free(copy);
    if (rc != 0)
        return false;
    char *end;
    double ref = strtod_l(text, &end, c_locale());
    if ((size_t)(end - text) != len)
        fail_msg("accepted \"%s\" but strtod stops after %zu chars", text, (size_t)(end - text));
    if (dbits(ours) != dbits(ref))
        fail_msg("\"%s\": ours %.17g (0x%016llx), strtod %.17g (0x%016llx)", text, ours,
                 (unsigned long long)dbits(ours), ref, (unsigned long long)dbits(ref));
    n_compared++;
    return true;
}

static void must_accept_vs_strtod(const char *text)
{
    if (!check_vs_strtod(text))
        fail_msg("rejected valid number \"%s\"", text);
}

/* ------------------------------------------------------------------------------------ */
/* Powers-of-five table, recomputed with a tiny bignum                                  */
/* ------------------------------------------------------------------------------------ */

#define BIG_LIMBS 32 /* 1024 bits: 5^342 has 795 */

typedef struct bignum {
    uint32_t l[BIG_LIMBS]; /* little-endian limbs */
} bignum;

static void big_set(bignum *b, uint32_t v)
{
    memset(b, 0, sizeof(*b));
    b->l[0] = v;
}

static void big_mul_small(bignum *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < BIG_LIMBS; i++) {
        uint64_t x = (uint64_t)b->l[i] * m + carry;
        b->l[i] = (uint32_t)x;
        carry = x >> 32;
    }
    assert_int_equal(carry, 0);
}

static int big_bitlen(const bignum *b)
{
    for (int i = BIG_LIMBS - 1; i >= 0; i--)
        if (b->l[i])
            return i * 32 + 32 - __builtin_clz(b->l[i]);
    return 0;
}

static int big_bit(const bignum *b, int i)
{
    if (i < 0 || i >= BIG_LIMBS * 32)
        return 0;
    return (b->l[i / 32] >> (i % 32)) & 1;
}

static void big_shl1(bignum *b)
{
    uint32_t carry = 0;
    for (int i = 0; i < BIG_LIMBS; i++) {
        uint32_t next = b->l[i] >> 31;
        b->l[i] = (b->l[i] << 1) | carry;
        carry = next;
    }
    assert_int_equal(carry, 0);
}

static int big_cmp(const bignum *a, const bignum *b)
{
    for (int i = BIG_LIMBS - 1; i >= 0; i--)
        if (a->l[i] != b->l[i])
            return a->l[i] < b->l[i] ? -1 : 1;
    return 0;
}

static void big_sub(bignum *a, const bignum *b) /* a -= b, a >= b */
{
    uint64_t borrow = 0;
    for (int i = 0; i < BIG_LIMBS; i++) {
        uint64_t x = (uint64_t)a->l[i] - b->l[i] - borrow;
        a->l[i] = (uint32_t)x;
        borrow = (x >> 63) & 1;
    }
    assert_int_equal(borrow, 0);
}

static void test_pow5_table(void **state)
{
    (void)state;
    for (int q = ASSAY_POW5_MIN_Q; q <= ASSAY_POW5_MAX_Q; q++) {
        bignum p;
        big_set(&p, 1);
        for (int i = 0; i < abs(q); i++)
            big_mul_small(&p, 5);
        int len = big_bitlen(&p);
        uint64_t hi = 0, lo = 0;
        int e5; /* floor(q * log2(5)) */
        if (q >= 0) {
            /* top 128 bits of 5^q, zero-filled when shorter: truncation */
            for (int i = 0; i < 128; i++) {
                int bit = big_bit(&p, len - 1 - i);
                hi = (hi << 1) | (lo >> 63);
                lo = (lo << 1) | (uint64_t)bit;
            }
            e5 = len - 1;
        } else {
            /* floor(2^(127+len) / 5^-q) by restoring division: start from the
             * remainder 2^(len-1) < 5^-q and produce 128 quotient bits. */
            bignum r;
            big_set(&r, 0);
            r.l[(len - 1) / 32] = 1u << ((len - 1) % 32);
            for (int i = 0; i < 128; i++) {
                big_shl1(&r);
                int bit = big_cmp(&r, &p) >= 0;
                if (bit)
                    big_sub(&r, &p);
                hi = (hi << 1) | (lo >> 63);
                lo = (lo << 1) | (uint64_t)bit;
            }
            e5 = -len;
        }
        const uint64_t *t = assay_pow5_128[q - ASSAY_POW5_MIN_Q];
        if (t[0] != hi || t[1] != lo)
            fail_msg("5^%d: table {0x%016llx, 0x%016llx}, recomputed {0x%016llx, 0x%016llx}", q,
                     (unsigned long long)t[0], (unsigned long long)t[1], (unsigned long long)hi,
                     (unsigned long long)lo);
        assert_true(hi >> 63); /* normalized */
        /* number.c's binary exponent: floor(q log2 10) = q + floor(q log2 5) */
        int64_t lhs = ((int64_t)q * 217706) >> 16;
        if (lhs != q + e5)
            fail_msg("q=%d: (q*217706)>>16 = %lld, q + floor(q log2 5) = %d", q, (long long)lhs,
                     q + e5);
    }
}

/* ------------------------------------------------------------------------------------ */
/* int64                                                                                */
/* ------------------------------------------------------------------------------------ */

static int parse_i64_str(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    int rc = assay_parse_i64(copy, len, out);
    free(copy);
    return rc;
}

static void test_i64_edges(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        int64_t v;
    } cases[] = {
        { "0", 0, 0 },
        { "-0", 0, 0 },
        { "+0", 0, 0 },
        { "7", 0, 7 },
        { "-7", 0, -7 },
        { "+42", 0, 42 },
        { "12345678", 0, 12345678 },
        { "123456789", 0, 123456789 },
        { "1234567890123456", 0, 1234567890123456LL },
        { "12345678901234567", 0, 12345678901234567LL },
        { "9223372036854775807", 0, INT64_MAX },
        { "+9223372036854775807", 0, INT64_MAX },
        { "-9223372036854775808", 0, INT64_MIN },
        { "-9223372036854775807", 0, -INT64_MAX },
        { "0000000000000000000000000009223372036854775807", 0, INT64_MAX },
        { "-00000000000000000000000009223372036854775808", 0, INT64_MIN },
        { "00000000000000000000000000000000", 0, 0 },
        { "9223372036854775808", -ERANGE, 0 },
        { "-9223372036854775809", -ERANGE, 0 },
        { "9999999999999999999", -ERANGE, 0 },
        { "18446744073709551615", -ERANGE, 0 },
        { "18446744073709551616", -ERANGE, 0 },
        { "99999999999999999999999999999", -ERANGE, 0 },
        { "-99999999999999999999999999999", -ERANGE, 0 },
        { "", -EINVAL, 0 },
        { "+", -EINVAL, 0 },
        { "-", -EINVAL, 0 },
        { "--1", -EINVAL, 0 },
        { "+-1", -EINVAL, 0 },
        { " 1", -EINVAL, 0 },
        { "1 ", -EINVAL, 0 },
        { "1x", -EINVAL, 0 },
        { "0x10", -EINVAL, 0 },
        { "1.0", -EINVAL, 0 },
        { "1e3", -EINVAL, 0 },
        { "1_000", -EINVAL, 0 },
        { "12345678x", -EINVAL, 0 },
        { "1234567x9", -EINVAL, 0 },
        { "1234567812345678x", -EINVAL, 0 },
        { "123456781234567/", -EINVAL, 0 },
        { "12345678:2345678", -EINVAL, 0 },
        { "99999999999999999999999999999x", -EINVAL, 0 },
        { "x99999999999999999999999999999", -EINVAL, 0 },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        int64_t v = 12345;
        int rc = parse_i64_str(cases[i].in, &v);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": rc %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0 && v != cases[i].v)
            fail_msg("\"%s\": %lld, want %lld", cases[i].in, (long long)v, (long long)cases[i].v);
    }
}

static void test_i64_random_vs_strtoll(void **state)
{
    (void)state;
    rng r = { 1 };
    char buf[64];
    for (int i = 0; i < 1000000; i++) {
        uint64_t x = rnd(&r);
        int kind = (int)(x % 5);
        x = rnd(&r);
        int64_t v = (int64_t)x;
        switch (kind) {
        case 0: /* full range */
            snprintf(buf, sizeof(buf), "%lld", (long long)v);
            break;
        case 1: /* short values with a random sign and leading zeros */
            v >>= (int)(rnd(&r) % 63);
            snprintf(buf, sizeof(buf), "%s%0*lld", rnd(&r) & 1 ? "+" : "", (int)(rnd(&r) % 24),
                     (long long)v);
            break;
        case 2: { /* near the limits, on both sides of them */
            uint64_t mag = (1ULL << 63) - 3 + rnd(&r) % 6; /* 2^63-3 .. 2^63+2 */
            snprintf(buf, sizeof(buf), "%s%llu", rnd(&r) & 1 ? "-" : "", (unsigned long long)mag);
            break;
        }
        case 3: { /* random digit strings, 1-25 digits: some overflow */
            int n = 1 + (int)(rnd(&r) % 25);
            int k = 0;
            if (rnd(&r) & 1)
                buf[k++] = '-';
            for (int j = 0; j < n; j++)
                buf[k++] = (char)('0' + rnd(&r) % 10);
            buf[k] = '\0';
            break;
        }
        default: { /* a digit string with one byte replaced */
            snprintf(buf, sizeof(buf), "%lld", (long long)(v >> (rnd(&r) % 64)));
            size_t n = strlen(buf);
            buf[rnd(&r) % n] = (char)(rnd(&r) % 128 + 1);
            break;
        }
        }
        int64_t ours = 0;
        int rc = parse_i64_str(buf, &ours);
        char *end;
        errno = 0;
        long long ref = strtoll(buf, &end, 10);
        int ref_ok = *buf && *end == '\0' &&
                     (buf[0] != ' ' && buf[0] != '\t' && buf[0] != '\n' && buf[0] != '\v' &&
                      buf[0] != '\f' && buf[0] != '\r');
        if (!ref_ok) {
            if (rc != -EINVAL)
                fail_msg("\"%s\": rc %d, strtoll does not take it all", buf, rc);
        } else if (errno == ERANGE) {
            if (rc != -ERANGE)
                fail_msg("\"%s\": rc %d, strtoll says ERANGE", buf, rc);
        } else {
            if (rc != 0 || ours != ref)
                fail_msg("\"%s\": rc %d value %lld, strtoll %lld", buf, rc, (long long)ours, ref);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* double: fixed cases                                                                  */
/* ------------------------------------------------------------------------------------ */

static void test_f64_specials(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t bits;
    } cases[] = {
        { "0", 0 },
        { "-0", 1ULL << 63 },
        { "+0", 0 },
        { "0.0", 0 },
        { "-0.000e10", 1ULL << 63 },
        { "0e999999999999999999999", 0 },
        { "1", 0x3FF0000000000000ULL },
        { "-1", 0xBFF0000000000000ULL },
        { ".5", 0x3FE0000000000000ULL },
        { "5.", 0x4014000000000000ULL },
        { "-.5", 0xBFE0000000000000ULL },
        { "+5.e-1", 0x3FE0000000000000ULL },
        { "1E+2", 0x4059000000000000ULL },
        { "1e999999", 0x7FF0000000000000ULL },
        { "-1e999999", 0xFFF0000000000000ULL },
        { "1e99999999999999999999999999", 0x7FF0000000000000ULL },
        { "1e-999999", 0 },
        { "-1e-999999", 1ULL << 63 },
        { "1e-99999999999999999999999999", 0 },
        { "4.9406564584124654e-324", 1 }, /* smallest subnormal */
        { "2.4703282292062327e-324", 0 }, /* just below half of it: 0 */
        { "2.4703282292062328e-324", 1 }, /* just above half of it */
        { "1.7976931348623157e308", 0x7FEFFFFFFFFFFFFFULL },
        { "1.7976931348623158e308", 0x7FEFFFFFFFFFFFFFULL }, /* below the overflow tie */
        { "1.7976931348623159e308", 0x7FF0000000000000ULL },
        { "2.2250738585072014e-308", 0x0010000000000000ULL }, /* DBL_MIN */
        { "2.2250738585072011e-308", 0x000FFFFFFFFFFFFFULL }, /* largest subnormal */
        { "9007199254740993", 0x4340000000000000ULL },        /* 2^53+1: tie, to even */
        { "9007199254740995", 0x4340000000000002ULL },        /* tie, to even (up) */
        { "9007199254740993.0000000000001", 0x4340000000000001ULL },
        { "inf", 0x7FF0000000000000ULL },
        { "-Inf", 0xFFF0000000000000ULL },
        { "+INFINITY", 0x7FF0000000000000ULL },
        { "iNfInItY", 0x7FF0000000000000ULL },
        { "nan", 0x7FF8000000000000ULL },
        { "NaN", 0x7FF8000000000000ULL },
        { "-NAN", 0xFFF8000000000000ULL },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        double v = 0;
        const char *in = cases[i].in;
        int rc = assay_parse_f64(in, strlen(in), &v);
        if (rc != 0)
            fail_msg("\"%s\": rc %d", in, rc);
        if (dbits(v) != cases[i].bits)
            fail_msg("\"%s\": 0x%016llx, want 0x%016llx", in, (unsigned long long)dbits(v),
                     (unsigned long long)cases[i].bits);
        if (!isnan(v))
            must_accept_vs_strtod(in);
    }
}

static void test_f64_reject(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",          "+",
        "-",         ".",
        "+.",        "-.",
        "e5",        "E5",
        ".e5",       "1e",
        "1e+",       "1e-",
        "1E",        "1ee5",
        "1e5e5",     "1e5.5",
        "1..2",      "1.2.3",
        "0x10",      "0x1p3",
        "0X1.8P1",   " 1",
        "1 ",        "\t1",
        "1\n",       "1_000",
        "1,5",       "1.5x",
        "--1",       "+-1",
        "-+1",       "in",
        "infin",     "infinit",
        "infinityy", "inf ",
        "nanx",      "nan(1)",
        "na",        "i",
        "n",         "x",
        "1f",        "1.0f",
        "12345678x", "1234567890123456789x",
        "1e1x",
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad); i++) {
        double v = 42;
        int rc = assay_parse_f64(bad[i], strlen(bad[i]), &v);
        if (rc != -EINVAL)
            fail_msg("\"%s\": rc %d (value %g), want -EINVAL", bad[i], rc, v);
        assert_true(v == 42); /* untouched on error */
    }
    /* not NUL-terminated: the parser must stop at len */
    double v;
    assert_int_equal(assay_parse_f64("1.25e1xyz", 6, &v), 0);
    assert_true(v == 12.5);
    assert_int_equal(assay_parse_f64("12345678901234567890", 8, &v), 0);
    assert_true(v == 12345678.0);
}

static void test_f64_long_inputs(void **state)
{
    (void)state;
    char buf[2048];
    /* 800 digits: exact integer and fractions */
    for (int k = 0; k < 800; k++)
        buf[k] = (char)('1' + k % 9);
    buf[800] = '\0';
    must_accept_vs_strtod(buf); /* ~1.2e799 -> inf */
    buf[0] = '0';
    buf[1] = '.';
    must_accept_vs_strtod(buf);
    memcpy(buf + 800, "e-700", 6);
    must_accept_vs_strtod(buf);
    /* many leading zeros keep the significant digit count small */
    memset(buf, '0', 900);
    strcpy(buf + 900, "123456789012345678");
    must_accept_vs_strtod(buf);
    buf[1] = '.';
    must_accept_vs_strtod(buf);
    /* many trailing zeros */
    strcpy(buf, "1");
    memset(buf + 1, '0', 400);
    strcpy(buf + 401, "e-400");
    must_accept_vs_strtod(buf); /* 1.0 */
    /* the decimal expansion of the midpoint between 1 and the next double, +- tiny */
    must_accept_vs_strtod("1.00000000000000011102230246251565404236316680908203125");
    must_accept_vs_strtod("1.000000000000000111022302462515654042363166809082031251");
    must_accept_vs_strtod("1.000000000000000111022302462515654042363166809082031249999");
}

/* ------------------------------------------------------------------------------------ */
/* double: random comparisons with strtod                                               */
/* ------------------------------------------------------------------------------------ */

static double random_double(rng *r)
{
    double d;
    do
        d = bitsd(rnd(r));
    while (isnan(d) || isinf(d));
    return d;
}

static void test_f64_random_printed(void **state)
{
    (void)state;
    rng r = { 2 };
    char buf[128];
    n_compared = 0;
    for (int i = 0; i < 1000000; i++) {
        double d = random_double(&r);
        snprintf(buf, sizeof(buf), "%.17g", d);
        must_accept_vs_strtod(buf);
        /* and it must round-trip exactly */
        double back;
        assert_int_equal(assay_parse_f64(buf, strlen(buf), &back), 0);
        if (dbits(back) != dbits(d))
            fail_msg("%%.17g round trip of 0x%016llx failed: \"%s\"", (unsigned long long)dbits(d),
                     buf);
        snprintf(buf, sizeof(buf), "%.*e", 1 + (int)(rnd(&r) % 25), d);
        must_accept_vs_strtod(buf);
    }
    /* doubles with a small exponent, as typical data: %.{1..17}g */
    for (int i = 0; i < 500000; i++) {
        double d = ldexp((double)(rnd(&r) >> 11), (int)(rnd(&r) % 120) - 80);
        snprintf(buf, sizeof(buf), "%.*g", 1 + (int)(rnd(&r) % 17), d);
        must_accept_vs_strtod(buf);
    }
    assert_true(n_compared >= 2500000);
}

static void test_f64_random_digits(void **state)
{
    (void)state;
    rng r = { 3 };
    char buf[128];
    n_compared = 0;
    for (int i = 0; i < 1500000; i++) {
        int nd = 1 + (int)(rnd(&r) % 40);
        if (i & 1)
            nd = 1 + (int)(rnd(&r) % 19); /* half the time within the fast paths */
        int point = (int)(rnd(&r) % (unsigned)(nd + 2)) - 1; /* -1: no point */
        int k = 0;
        uint64_t sign = rnd(&r) % 3;
        if (sign)
            buf[k++] = sign == 1 ? '-' : '+';
        for (int j = 0; j < nd; j++) {
            if (j == point)
                buf[k++] = '.';
            buf[k++] = (char)('0' + rnd(&r) % 10);
        }
        if (point == nd)
            buf[k++] = '.';
        if (rnd(&r) % 4) {
            int range = (i % 3 == 0) ? 700 : 50;
            k += sprintf(buf + k, "%s%d", rnd(&r) & 1 ? "e" : "E",
                         (int)(rnd(&r) % (unsigned)(2 * range + 1)) - range);
        }
        buf[k] = '\0';
        must_accept_vs_strtod(buf);
    }
    assert_int_equal(n_compared, 1500000);
}

#if LDBL_MANT_DIG >= 64 && LDBL_MAX_EXP >= 16384
/* Write x (exact in long double) with all its digits: "%.*Le" at 800 digits prints the
 * exact binary value; trailing zeros are dropped. */
static void exact_decimal(long double x, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.800Le", x);
    char *e = strchr(buf, 'e');
    char expo[16];
    snprintf(expo, sizeof(expo), "%s", e);
    char *z = e;
    while (z[-1] == '0')
        z--;
    if (z[-1] == '.')
        z--;
    strcpy(z, expo);
}

/* Add delta (+1/-1) to the last significand digit of a "d.ddde+x" string. */
static void bump_last_digit(char *buf, int delta)
{
    char *e = strchr(buf, 'e');
    char *p = e - 1;
    if (delta > 0) {
        while (*p == '9' || *p == '.') {
            if (*p == '9')
                *p = '0';
            p--;
        }
        if (*p >= '0' && *p <= '8')
            (*p)++;
    } else {
        while (*p == '0' || *p == '.') {
            if (*p == '0')
                *p = '9';
            p--;
        }
        if (*p >= '1' && *p <= '9')
            (*p)--;
    }
}

/* Truncate a "d.ddde+x" string to n significant digits. */
static void truncate_digits(const char *in, int n, char *out)
{
    const char *e = strchr(in, 'e');
    int k = 0, digits = 0;
    for (const char *p = in; p < e; p++) {
        if (*p >= '0' && *p <= '9') {
            if (digits == n)
                continue;
            digits++;
        }
        out[k++] = *p;
    }
    strcpy(out + k, e);
}

static void near_halfway(double d, rng *r, char *expansion, char *small, size_t cap)
{
    double next = nextafter(d, INFINITY);
    if (isinf(next))
        return;
    long double mid = ((long double)d + (long double)next) / 2; /* exact */
    exact_decimal(mid, expansion, cap);
    must_accept_vs_strtod(expansion); /* exact tie: round half to even */
    char tmp[1024];
    strcpy(tmp, expansion);
    bump_last_digit(tmp, +1);
    must_accept_vs_strtod(tmp);
    strcpy(tmp, expansion);
    bump_last_digit(tmp, -1);
    must_accept_vs_strtod(tmp);
    /* short approximations of the midpoint: the Eisel-Lemire hard cases */
    for (int n = 15; n <= 20; n++) {
        truncate_digits(expansion, n, small);
        must_accept_vs_strtod(small);
        bump_last_digit(small, +1);
        must_accept_vs_strtod(small);
        truncate_digits(expansion, n, small);
        bump_last_digit(small, -1);
        must_accept_vs_strtod(small);
    }
    (void)r;
}

static void test_f64_halfway(void **state)
{
    (void)state;
    rng r = { 4 };
    char *expansion = malloc(1024), *small = malloc(1024);
    assert_non_null(expansion);
    assert_non_null(small);
    n_compared = 0;
    for (int i = 0; i < 40000; i++) {
        double d;
        switch (i % 4) {
        case 0:
            d = fabs(random_double(&r));
            break;
        case 1: /* moderate magnitudes: shorter exact expansions */
            d = ldexp((double)((rnd(&r) >> 11) | (1ULL << 52)), (int)(rnd(&r) % 160) - 110);
            break;
        case 2: /* subnormals */
            d = bitsd(rnd(&r) >> 12);
            break;
        default: /* large integers around 2^53..2^64 */
            d = ldexp((double)((rnd(&r) >> 11) | (1ULL << 52)), (int)(rnd(&r) % 12));
            break;
        }
        near_halfway(d, &r, expansion, small, 1024);
    }
    free(expansion);
    free(small);
    assert_true(n_compared > 40000 * 20);
}
#else
static void test_f64_halfway(void **state)
{
    (void)state;
    skip(); /* needs a long double that holds a 54-bit midpoint exactly */
}
#endif

static void test_f64_boundaries(void **state)
{
    (void)state;
    char buf[128];
    static const double anchors[] = {
        DBL_MAX, DBL_MIN, DBL_TRUE_MIN, 0x1p53, 0x1p52, 0x1p63, 0x1p64, 1.0,    0.1,
        1e22,    1e23,    1e-22,        1e15,   1e16,   1e308,  1e-307, 1e-308, 1e-323,
    };
    for (size_t a = 0; a < ASSAY_ARRAY_LEN(anchors); a++) {
        double d = anchors[a];
        for (int k = 0; k < 200; k++)
            d = nextafter(d, 0);
        for (int k = 0; k < 400 && !isinf(d); k++, d = nextafter(d, INFINITY)) {
            for (int prec = 1; prec <= 25; prec++) {
                snprintf(buf, sizeof(buf), "%.*e", prec, d);
                must_accept_vs_strtod(buf);
                snprintf(buf, sizeof(buf), "-%.*g", prec, d);
                must_accept_vs_strtod(buf);
            }
        }
    }
    /* 2^53 +- 1 and integers around it, with and without exponents */
    for (int64_t v = (1LL << 53) - 50; v <= (1LL << 53) + 50; v++) {
        snprintf(buf, sizeof(buf), "%lld", (long long)v);
        must_accept_vs_strtod(buf);
        snprintf(buf, sizeof(buf), "%lld.5", (long long)v);
        must_accept_vs_strtod(buf);
        snprintf(buf, sizeof(buf), "%lld0e-1", (long long)v);
        must_accept_vs_strtod(buf);
    }
    /* every exponent across the whole range, one and many digits */
    for (int e = -400; e <= 400; e++) {
        snprintf(buf, sizeof(buf), "1e%d", e);
        must_accept_vs_strtod(buf);
        snprintf(buf, sizeof(buf), "9999999999999999999e%d", e);
        must_accept_vs_strtod(buf);
        snprintf(buf, sizeof(buf), "4.9406564584124654e%d", e);
        must_accept_vs_strtod(buf);
    }
}

/* ------------------------------------------------------------------------------------ */
/* bool                                                                                 */
/* ------------------------------------------------------------------------------------ */

static void test_bool(void **state)
{
    (void)state;
    static const char *yes[] = { "true", "TRUE", "True", "tRuE", "t", "T",
                                 "yes",  "YES",  "Yes",  "y",    "Y", "1" };
    static const char *no[] = { "false", "FALSE", "False", "fAlSe", "f", "F",
                                "no",    "NO",    "No",    "n",     "N", "0" };
    static const char *bad[] = { "",   "tru",  "truee", "true ", " true", "2",    "10",
                                 "01", "ye",   "yess",  "nope",  "on",    "off",  "-1",
                                 "+1", "none", "fa",    "falsy", "\x14",  "\x19", "T\0" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(yes); i++) {
        bool v = false;
        assert_int_equal(assay_parse_bool(yes[i], strlen(yes[i]), &v), 0);
        if (!v)
            fail_msg("\"%s\" parsed as false", yes[i]);
    }
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(no); i++) {
        bool v = true;
        assert_int_equal(assay_parse_bool(no[i], strlen(no[i]), &v), 0);
        if (v)
            fail_msg("\"%s\" parsed as true", no[i]);
    }
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad); i++) {
        bool v;
        size_t len = i + 1 == ASSAY_ARRAY_LEN(bad) ? 2 : strlen(bad[i]);
        int rc = assay_parse_bool(bad[i], len, &v);
        if (rc != -EINVAL)
            fail_msg("\"%s\": rc %d, want -EINVAL", bad[i], rc);
    }
}

/* ------------------------------------------------------------------------------------ */
/* format_double                                                                        */
/* ------------------------------------------------------------------------------------ */

static void test_format_double_fixed(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        { 0.0, "0" },
        { -0.0, "-0" },
        { 1.0, "1" },
        { -2.5, "-2.5" },
        { 0.1, "0.1" },
        { 0.1 + 0.2, "0.30000000000000004" },
        { 1234.56, "1234.56" },
        { 1e21, "1e+21" },
        { 1e-7, "1e-07" },
        { 123456789012345.0, "123456789012345" },
        { 9007199254740993.0, "9007199254740992" },
        { DBL_MAX, "1.7976931348623157e+308" },
        { DBL_MIN, "2.2250738585072014e-308" },
        { DBL_TRUE_MIN, "5e-324" },
        { 1.5 * DBL_TRUE_MIN, "1e-323" },
        { INFINITY, "inf" },
        { -INFINITY, "-inf" },
        { NAN, "nan" },
        { -NAN, "nan" },
    };
    char buf[64];
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        memset(buf, 'x', sizeof(buf));
        size_t n = assay_format_double(cases[i].v, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* truncation: always NUL-terminated, returns what was written */
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(assay_format_double(1234.56, buf, 4), 3);
    assert_string_equal(buf, "123");
    assert_int_equal(assay_format_double(1234.56, buf, 1), 0);
    assert_string_equal(buf, "");
    buf[0] = 'x';
    assert_int_equal(assay_format_double(1234.56, buf, 0), 0);
    assert_int_equal(buf[0], 'x');
}

/* Number of significant digits in a %g-style string (from the first to the last
 * non-zero digit: "7850" has 3). */
static int sig_digits(const char *s)
{
    int pos = 0, first = -1, last = -1;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (*s != '0') {
            if (first < 0)
                first = pos;
            last = pos;
        }
        if (first >= 0)
            pos++;
        else
            pos = 0;
    }
    return first < 0 ? 0 : last - first + 1;
}

static void test_format_double_roundtrip(void **state)
{
    (void)state;
    rng r = { 5 };
    char buf[64], shorter[400];
    for (int i = 0; i < 300000; i++) {
        double d;
        switch (i % 3) {
        case 0:
            d = random_double(&r);
            break;
        case 1: /* short decimals, where the shortest form is much shorter than 17 */
            d = (double)(int64_t)(rnd(&r) % 2000000 - 1000000) / 100.0;
            break;
        default:
            d = bitsd(rnd(&r) >> (12 + rnd(&r) % 40)); /* subnormals and tiny */
            break;
        }
        size_t n = assay_format_double(d, buf, sizeof(buf));
        assert_true(n < 32);
        double back;
        if (assay_parse_f64(buf, n, &back) != 0 || dbits(back) != dbits(d))
            fail_msg("0x%016llx formatted as \"%s\" does not parse back",
                     (unsigned long long)dbits(d), buf);
        /* shortest: one digit fewer must not round-trip */
        int digits = sig_digits(buf);
        if (digits > 1 && d != 0) {
            snprintf(shorter, sizeof(shorter), "%.*g", digits - 1, d);
            if (assay_parse_f64(shorter, strlen(shorter), &back) == 0 && dbits(back) == dbits(d))
                fail_msg("%.17g formatted as \"%s\" but \"%s\" is shorter", d, buf, shorter);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pow5_table),
        cmocka_unit_test(test_i64_edges),
        cmocka_unit_test(test_i64_random_vs_strtoll),
        cmocka_unit_test(test_f64_specials),
        cmocka_unit_test(test_f64_reject),
        cmocka_unit_test(test_f64_long_inputs),
        cmocka_unit_test(test_f64_random_printed),
        cmocka_unit_test(test_f64_random_digits),
        cmocka_unit_test(test_f64_halfway),
        cmocka_unit_test(test_f64_boundaries),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_format_double_fixed),
        cmocka_unit_test(test_format_double_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
