/* UTF-8 validation: RFC 3629 tables, Markus Kuhn's stress-test cases (own byte strings),
 * positions across the ASCII fast path, and a reference decoder on random input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "assay/utf8.h"

/* Straightforward reference: decode one code point at a time, then check the rules
 * (minimal length, no surrogates, <= U+10FFFF). Returns the offset of the first byte
 * of the first ill-formed sequence, or len; *count gets the code points before it. */
static size_t ref_check(const uint8_t *s, size_t len, size_t *count)
{
    size_t i = 0, n = 0;
    while (i < len) {
        uint8_t b = s[i];
        size_t need;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            n++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            need = 1;
            cp = b & 0x1F;
            min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            need = 2;
            cp = b & 0x0F;
            min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            need = 3;
            cp = b & 0x07;
            min = 0x10000;
        } else {
            break;
        }
        if (len - i <= need)
            break;
        size_t k;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                break;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (k <= need || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            break;
        i += need + 1;
        n++;
    }
    if (count)
        *count = n;
    return i;
}

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    size_t bad; /* expected result of check */
} u8case;

#define C(name, lit, bad)                                                                          \
    {                                                                                              \
        name, lit, sizeof(lit) - 1, bad                                                            \
    }
#define OK SIZE_MAX /* stands for "the whole length" */

static const u8case cases[] = {
    C("empty", "", OK),
    C("ascii", "hello, world", OK),
    C("nul is valid", "a\0b", OK),
    /* boundaries of each length (Kuhn 2.1-2.3) */
    C("U+0080", "\xC2\x80", OK),
    C("U+07FF", "\xDF\xBF", OK),
    C("U+0800", "\xE0\xA0\x80", OK),
    C("U+D7FF", "\xED\x9F\xBF", OK),
    C("U+E000", "\xEE\x80\x80", OK),
    C("U+FFFD", "\xEF\xBF\xBD", OK),
    C("U+FFFE noncharacter is well-formed", "\xEF\xBF\xBE", OK),
    C("U+FFFF noncharacter is well-formed", "\xEF\xBF\xBF", OK),
    C("U+10000", "\xF0\x90\x80\x80", OK),
    C("U+10FFFF", "\xF4\x8F\xBF\xBF", OK),
    C("greek kosme", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", OK),
    /* beyond U+10FFFF and old 5/6-byte forms (Kuhn 2.1.5, 2.1.6, 2.2.4-6) */
    C("U+110000", "\xF4\x90\x80\x80", 0),
    C("U+1FFFFF", "\xF7\xBF\xBF\xBF", 0),
    C("F5 lead", "\xF5\x80\x80\x80", 0),
    C("5-byte U+200000", "\xF8\x88\x80\x80\x80", 0),
    C("6-byte U+4000000", "\xFC\x84\x80\x80\x80\x80", 0),
    C("FE", "\xFE", 0),
    C("FF", "\xFF", 0),
    C("FE FE FF FF", "\xFE\xFE\xFF\xFF", 0),
    /* unexpected continuation bytes (Kuhn 3.1) */
    C("first continuation 80", "\x80", 0),
    C("last continuation BF", "\xBF", 0),
    C("2 continuations", "\x80\xBF", 0),
    C("continuation after ascii", "ab\x80", 2),
    C("extra continuation after 2-byte", "\xC3\xA9\x80", 2),
    /* lone start bytes followed by a space (Kuhn 3.2) */
    C("C0 space", "\xC0 ", 0),
    C("C2 space", "\xC2 ", 0),
    C("E0 space", "\xE0 ", 0),
    C("F0 space", "\xF0 ", 0),
    C("E2 28 A1", "\xE2\x28\xA1", 0),
    /* sequences with the last byte missing (Kuhn 3.3, 3.4) */
    C("C2 at end", "x\xC2", 1),
    C("E0 A0 at end", "xy\xE0\xA0", 2),
    C("F0 90 80 at end", "\xF0\x90\x80", 0),
    C("EF BF at end after valid", "\xC3\xA9\xEF\xBF", 2),
    C("truncated then valid",
      "\xE2\x82"
      "a",
      0),
    /* overlong forms (Kuhn 4.1-4.3) */
    C("overlong / 2", "\xC0\xAF", 0),
    C("overlong / 3", "\xE0\x80\xAF", 0),
    C("overlong / 4", "\xF0\x80\x80\xAF", 0),
    C("max overlong 2", "\xC1\xBF", 0),
    C("max overlong 3", "\xE0\x9F\xBF", 0),
    C("max overlong 4", "\xF0\x8F\xBF\xBF", 0),
    C("overlong NUL 2", "\xC0\x80", 0),
    C("overlong NUL 3", "\xE0\x80\x80", 0),
    /* surrogates (Kuhn 5.1, 5.2) */
    C("U+D800", "\xED\xA0\x80", 0),
    C("U+DB7F", "\xED\xAD\xBF", 0),
    C("U+DC00", "\xED\xB0\x80", 0),
    C("U+DFFF", "\xED\xBF\xBF", 0),
    C("CESU pair D800 DC00", "\xED\xA0\x80\xED\xB0\x80", 0),
    C("surrogate after text", "ok \xED\xBF\xBF", 3),
    /* bad continuation in a 4-byte sequence */
    C("F1 80 41 80", "\xF1\x80\x41\x80", 0),
    C("F1 80 80 C0", "\xF1\x80\x80\xC0", 0),
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        const u8case *c = &cases[i];
        size_t want = c->bad == OK ? c->len : c->bad;
        size_t got = assay_utf8_check(c->bytes, c->len);
        if (got != want)
            fail_msg("case '%s': check() = %zu, expected %zu", c->name, got, want);
        size_t ref = ref_check((const uint8_t *)c->bytes, c->len, NULL);
        if (ref != want)
            fail_msg("case '%s': reference decoder = %zu, expected %zu", c->name, ref, want);
    }
}

/* The invalid byte must be found at every position relative to the 16-byte fast path,
 * and after long ASCII runs. */
static void test_positions(void **state)
{
    (void)state;
    static const char *const bad[] = { "\x80", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                       "\xE2\x82" };
    char buf[128];
    for (size_t b = 0; b < ASSAY_ARRAY_LEN(bad); b++) {
        size_t blen = strlen(bad[b]);
        for (size_t pre = 0; pre < 70; pre++) {
            /* prefix mixes ASCII with one valid multi-byte char when long enough */
            memset(buf, 'a', pre);
            if (pre >= 20)
                memcpy(buf + 5, "\xE2\x82\xAC", 3); /* U+20AC */
            memcpy(buf + pre, bad[b], blen);
            memset(buf + pre + blen, 'z', 40);
            size_t len = pre + blen + 40;
            size_t got = assay_utf8_check(buf, len);
            if (got != pre)
                fail_msg("bad sequence %zu after %zu bytes: check() = %zu", b, pre, got);
        }
    }
    /* valid text of every length up to 70 */
    for (size_t n = 0; n < 70; n++) {
        memset(buf, 'q', n);
        assert_int_equal(assay_utf8_check(buf, n), n);
        if (n >= 4) {
            memcpy(buf + n - 4, "\xF0\x9F\x98\x80", 4);
            assert_int_equal(assay_utf8_check(buf, n), n);
        }
    }
}

static void test_length(void **state)
{
    (void)state;
    assert_int_equal(assay_utf8_length("", 0), 0);
    assert_int_equal(assay_utf8_length("hello", 5), 5);
    assert_int_equal(assay_utf8_length("h\xC3\xA9llo", 6), 5);             /* héllo */
    assert_int_equal(assay_utf8_length("\xE6\x97\xA5\xE6\x9C\xAC", 6), 2); /* 日本 */
    assert_int_equal(assay_utf8_length("\xF0\x9F\x98\x80", 4), 1);         /* 😀 */
    const char *mixed = "Gr\xC3\xBC\xC3\x9F"
                        "e aus \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80!";
    /* G r ü ß e ␠ a u s ␠ 東 京 ␠ 😀 ! = 15 */
    assert_int_equal(assay_utf8_length(mixed, strlen(mixed)), 15);
    /* long text crossing the 8-byte SWAR blocks */
    char buf[300];
    size_t n = 0, cps = 0;
    while (n + 4 <= sizeof(buf)) {
        static const char *const pieces[] = { "a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80" };
        const char *pc = pieces[cps % 4];
        memcpy(buf + n, pc, strlen(pc));
        n += strlen(pc);
        cps++;
    }
    assert_int_equal(assay_utf8_check(buf, n), n);
    assert_int_equal(assay_utf8_length(buf, n), cps);
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Byte drawn to hit the interesting ranges often. */
static uint8_t interesting_byte(uint64_t r)
{
    static const uint8_t picks[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                     0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                     0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF8, 0xFF };
    switch (r & 3) {
    case 0:
        return (uint8_t)(r >> 8);
    case 1:
        return (uint8_t)(0x80 | ((r >> 8) & 0x3F)); /* continuation */
    case 2:
        return picks[(r >> 8) % sizeof(picks)];
    default:
        return (uint8_t)('a' + (r >> 8) % 26);
    }
}

static void test_random_vs_reference(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed;
    uint8_t buf[64];
    size_t valid = 0;
    for (int iter = 0; iter < 2000000; iter++) {
        uint64_t r = rng_next(&seed);
        size_t len = iter < 1500000 ? (size_t)(r % 13) : (size_t)(r % 64);
        for (size_t i = 0; i < len; i++)
            buf[i] = interesting_byte(rng_next(&seed));
        size_t count;
        size_t want = ref_check(buf, len, &count);
        size_t got = assay_utf8_check((const char *)buf, len);
        if (got != want) {
            char hex[200] = "";
            for (size_t i = 0; i < len && i < 60; i++)
                snprintf(hex + 3 * i, 4, "%02X ", buf[i]);
            fail_msg("iteration %d: check() = %zu, reference = %zu on [%s]", iter, got, want, hex);
        }
        /* length of the valid prefix equals the reference's count */
        size_t lc = assay_utf8_length((const char *)buf, want);
        if (lc != count)
            fail_msg("iteration %d: length() = %zu, reference = %zu", iter, lc, count);
        valid += want == len;
    }
    /* the generator must produce both outcomes, or the comparison proves little */
    assert_true(valid > 100000);
    assert_true(valid < 1900000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_random_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
