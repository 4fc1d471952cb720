/* Rule kernels on hand-made column views: each check's eval and fail bitmaps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "assay/bitmap.h"
#include "rules/rules.h"

#define N 70 /* crosses a word boundary */

static uint64_t ok[2], null_[2], invalid[2], fail[2], eval[2], pos[N];
static int64_t i64[N];
static double f64[N];
static const char *str[N];
static uint32_t len[N];

static void reset(void)
{
    memset(ok, 0, sizeof(ok));
    for (int i = 0; i < N; i++)
        assay_bit_set(ok, (size_t)i), pos[i] = (uint64_t)i;
    memset(null_, 0, sizeof(null_));
    memset(invalid, 0, sizeof(invalid));
}

static assay_col_view view(assay_type t)
{
    return (assay_col_view){ .n = N,
                             .type = t,
                             .null = null_,
                             .invalid = invalid,
                             .i64 = i64,
                             .f64 = f64,
                             .str = str,
                             .len = len };
}

static assay_rule_config base_cfg(assay_check check)
{
    assay_rule_config c;
    memset(&c, 0, sizeof(c));
    c.name = "r";
    c.column = "c";
    c.check = check;
    c.min_inclusive = c.max_inclusive = true;
    return c;
}

static void test_not_null_and_type(void **state)
{
    (void)state;
    reset();
    assay_bit_set(null_, 3);
    assay_bit_set(null_, 65);
    assay_bit_set(invalid, 10);
    ok[0] &= ~(1ull << 3); /* row 3 is a bad row: neither evaluated nor failed */
    assay_rule_config c = base_cfg(ASSAY_CHECK_NOT_NULL);
    assay_rule r;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_INT, &r, "t.yaml", NULL), 0);
    assay_col_view v = view(ASSAY_TYPE_INT);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    assert_int_equal(assay_bitmap_count(eval, N), N - 1);
    assert_int_equal(assay_bitmap_count(fail, N), 1);
    assert_true(assay_bit_get(fail, 65));

    c = base_cfg(ASSAY_CHECK_TYPE);
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_INT, &r, "t.yaml", NULL), 0);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    assert_int_equal(assay_bitmap_count(eval, N), N - 2); /* not the bad row, not the null */
    assert_int_equal(assay_bitmap_count(fail, N), 1);
    assert_true(assay_bit_get(fail, 10));
}

static void test_in_range_int_float_exclusive(void **state)
{
    (void)state;
    reset();
    for (int i = 0; i < N; i++)
        i64[i] = i - 10, f64[i] = (i - 10) * 0.5;
    assay_bit_set(invalid, 0); /* not of the type: in_range skips it */
    assay_rule_config c = base_cfg(ASSAY_CHECK_IN_RANGE);
    c.has_min = c.has_max = true;
    c.min_text = "0";
    c.max_text = "50";
    c.min = 0;
    c.max = 50;
    assay_rule r;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_INT, &r, "t.yaml", NULL), 0);
    assay_col_view v = view(ASSAY_TYPE_INT);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    /* values -10..59; fail: -9..-1 (rows 1..9; row 0 invalid) and 51..59 (rows 61..69) */
    assert_int_equal(assay_bitmap_count(eval, N), N - 1);
    assert_int_equal(assay_bitmap_count(fail, N), 9 + 9);
    assert_false(assay_bit_get(fail, 10)); /* 0 inclusive */
    assert_false(assay_bit_get(fail, 60)); /* 50 inclusive */

    c.min_inclusive = false;
    c.max_inclusive = false;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_INT, &r, "t.yaml", NULL), 0);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    assert_true(assay_bit_get(fail, 10));
    assert_true(assay_bit_get(fail, 60));

    c = base_cfg(ASSAY_CHECK_IN_RANGE);
    c.has_min = true;
    c.min_text = "2.25";
    c.min = 2.25;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_FLOAT, &r, "t.yaml", NULL), 0);
    v = view(ASSAY_TYPE_FLOAT);
    f64[69] = 0.0 / 0.0; /* NaN is never in range */
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    /* f = (i-10)/2 >= 2.25 <=> i >= 14.5; rows 1..14 fail (row 0 invalid) + NaN row */
    assert_int_equal(assay_bitmap_count(fail, N), 14 + 1);

    /* in_range on a string column is a config error naming the rule */
    assay_error err = { 0 };
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_STRING, &r, "t.yaml", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "in_range needs a numeric or timestamp column"));
}

static void test_set_unique_length(void **state)
{
    (void)state;
    reset();
    static const char *words[] = { "USD", "EUR", "usd", "GBP", "", "JPY", "XXX" };
    for (int i = 0; i < N; i++) {
        str[i] = words[i % 7];
        len[i] = (uint32_t)strlen(str[i]);
    }
    assay_bit_set(null_, 4); /* the "" at row 4 is a null */
    char *vals[] = { "USD", "EUR", "GBP", "JPY" };
    assay_rule_config c = base_cfg(ASSAY_CHECK_IN_SET);
    c.values = vals;
    c.nvalues = 4;
    assay_rule r;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_STRING, &r, "t.yaml", NULL), 0);
    assay_col_view v = view(ASSAY_TYPE_STRING);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    /* failing: "usd" (i%7==2), "" non-null (i%7==4 except row 4), "XXX" (i%7==6) */
    size_t expect = 0;
    for (int i = 0; i < N; i++)
        expect += (i % 7 == 2) || (i % 7 == 6) || (i % 7 == 4 && i != 4);
    assert_int_equal(assay_bitmap_count(fail, N), expect);
    assert_int_equal(assay_bitmap_count(eval, N), N - 1);
    assay_rule_free(&r);

    /* the same set padded past the small-set limit (and with a value over 16 bytes)
     * takes the hashed path and must agree */
    char *many[40];
    char names[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "filler-value-number-%02d", i);
        many[i] = names[i];
    }
    memcpy(many, vals, sizeof(vals));
    c.values = many;
    c.nvalues = 40;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_STRING, &r, "t.yaml", NULL), 0);
    assert_int_equal(r.nsmall, 0);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    assert_int_equal(assay_bitmap_count(fail, N), expect);
    assay_rule_free(&r);

    /* unique: the kernel evaluates the non-null values and fails none itself; whether a
     * value repeats is decided against the window's key set in stream order (the
     * aggregator; tests/integration.sh checks the counts against an exact recount) */
    c = base_cfg(ASSAY_CHECK_UNIQUE);
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_STRING, &r, "t.yaml", NULL), 0);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    assert_int_equal(assay_bitmap_count(eval, N), N - 1); /* row 4 is null */
    assert_false(assay_bit_get(eval, 4));
    assert_int_equal(assay_bitmap_count(fail, N), 0);

    /* length in code points: "é" is 2 bytes, 1 code point */
    c = base_cfg(ASSAY_CHECK_LENGTH);
    c.has_min_length = c.has_max_length = true;
    c.min_length = 1;
    c.max_length = 2;
    for (int i = 0; i < N; i++) {
        str[i] = (i % 2) ? "\xc3\xa9\xc3\xa9" : "abc";
        len[i] = (uint32_t)strlen(str[i]);
    }
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_STRING, &r, "t.yaml", NULL), 0);
    assay_rule_eval(&r, &v, ok, 0, fail, eval);
    size_t even_nonnull = 0;
    for (int i = 0; i < N; i += 2)
        even_nonnull += (i != 4);
    assert_int_equal(assay_bitmap_count(fail, N), even_nonnull);
}

static void test_freshness(void **state)
{
    (void)state;
    reset();
    int64_t now = 1000000000;
    for (int i = 0; i < N; i++)
        i64[i] = now - (int64_t)i * 1000000; /* i seconds old */
    assay_rule_config c = base_cfg(ASSAY_CHECK_FRESHNESS);
    c.max_age_us = 30 * 1000000LL;
    assay_rule r;
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_TIMESTAMP, &r, "t.yaml", NULL), 0);
    assay_col_view v = view(ASSAY_TYPE_TIMESTAMP);
    assay_rule_eval(&r, &v, ok, now, fail, eval);
    assert_int_equal(assay_bitmap_count(fail, N), N - 31); /* older than 30 s: rows 31.. */
    assert_false(assay_bit_get(fail, 30));
    /* the clock is read when rows are judged: 10 s later, 10 more rows are stale */
    assay_rule_eval(&r, &v, ok, now + 10 * 1000000LL, fail, eval);
    assert_int_equal(assay_bitmap_count(fail, N), N - 21);
    assert_false(assay_bit_get(fail, 20));
    assert_true(assay_bit_get(fail, 21));
    assay_error err = { 0 };
    assert_int_equal(assay_rule_compile(&c, 0, ASSAY_TYPE_INT, &r, "t.yaml", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "freshness needs a timestamp column"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_null_and_type),
        cmocka_unit_test(test_in_range_int_float_exclusive),
        cmocka_unit_test(test_set_unique_length),
        cmocka_unit_test(test_freshness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
