/* Window math (assay/window.h) against a brute-force model: for every time t and
 * watermark, which windows hold t, which are closed, where the row lands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assay/window.h"

static assay_window_spec spec(int64_t size, int64_t slide, int64_t lateness)
{
    assay_window_spec w = {
        .event_time = true, .size_us = size, .slide_us = slide, .lateness_us = lateness
    };
    assert_int_equal(assay_window_spec_check(&w, "t.yaml", NULL), 0);
    return w;
}

static void test_floor_div(void **state)
{
    (void)state;
    assert_int_equal(assay_floor_div(7, 3), 2);
    assert_int_equal(assay_floor_div(6, 3), 2);
    assert_int_equal(assay_floor_div(-1, 3), -1);
    assert_int_equal(assay_floor_div(-3, 3), -1);
    assert_int_equal(assay_floor_div(-4, 3), -2);
    assert_int_equal(assay_floor_div(0, 3), 0);
}

/* Windows holding t, by the definition [k * slide, k * slide + size), against the pane
 * arithmetic, for tumbling and hopping windows and negative times. */
static void test_windows_of_time(void **state)
{
    (void)state;
    const int64_t shapes[][2] = { { 60, 60 }, { 120, 30 }, { 90, 30 }, { 10, 1 } };
    for (size_t s = 0; s < ASSAY_ARRAY_LEN(shapes); s++) {
        assay_window_spec w = spec(shapes[s][0], shapes[s][1], 0);
        for (int64_t t = -500; t <= 500; t += 7) {
            int64_t p = assay_window_pane(&w, t);
            int64_t lo = assay_window_first_of_pane(&w, p);
            for (int64_t k = lo - 3; k <= p + 3; k++) {
                bool holds = assay_window_start(&w, k) <= t && t < assay_window_end(&w, k);
                bool says = k >= lo && k <= p;
                if (holds != says)
                    fail_msg("size %lld slide %lld t %lld window %lld: holds %d, panes say %d",
                             (long long)shapes[s][0], (long long)shapes[s][1], (long long)t,
                             (long long)k, holds, says);
            }
        }
    }
}

/* The frontier is the first window whose end the watermark has not reached. */
static void test_frontier(void **state)
{
    (void)state;
    assay_window_spec w = spec(120, 30, 10);
    assert_true(assay_window_frontier(&w, ASSAY_TIME_NONE) == ASSAY_TIME_NONE);
    for (int64_t wm = -400; wm <= 400; wm += 3) {
        int64_t c = assay_window_frontier(&w, wm);
        assert_true(assay_window_end(&w, c) > wm);      /* c is open */
        assert_true(assay_window_end(&w, c - 1) <= wm); /* c - 1 is closed */
    }
    /* the watermark is the max event time minus the lateness */
    assert_int_equal(assay_window_watermark(&w, 100), 90);
    assert_true(assay_window_watermark(&w, ASSAY_TIME_NONE) == ASSAY_TIME_NONE);
}

/* A row lands in the windows of its pane that are still open; late when none is. */
static void test_first_open(void **state)
{
    (void)state;
    assay_window_spec w = spec(120, 30, 0);
    for (int64_t t = -200; t <= 200; t += 11) {
        int64_t p = assay_window_pane(&w, t);
        assert_int_equal(assay_window_first_open(&w, p, ASSAY_TIME_NONE), p - 3);
        for (int64_t wm = -300; wm <= 300; wm += 13) {
            int64_t c = assay_window_frontier(&w, wm);
            int64_t first = assay_window_first_open(&w, p, c);
            /* brute force: the open windows holding t */
            int64_t want = INT64_MAX;
            for (int64_t k = p - 3; k <= p; k++)
                if (assay_window_end(&w, k) > wm && k < want)
                    want = k;
            if (want == INT64_MAX)
                assert_true(first > p); /* late */
            else
                assert_int_equal(first, want);
        }
    }
}

/* The chunk-local frontier combined with the stream's is the sequential frontier:
 * c(max(a, b)) = max(c(a), c(b)), which is what lets shards place rows on their own. */
static void test_frontier_of_max(void **state)
{
    (void)state;
    assay_window_spec w = spec(60, 20, 5);
    for (int64_t a = -100; a <= 100; a += 9)
        for (int64_t b = -100; b <= 100; b += 7) {
            int64_t ca = assay_window_frontier(&w, a), cb = assay_window_frontier(&w, b);
            int64_t cm = assay_window_frontier(&w, a > b ? a : b);
            assert_int_equal(cm, ca > cb ? ca : cb);
        }
}

static void test_spec_check(void **state)
{
    (void)state;
    assay_error err = { 0 };
    assay_window_spec w = { .event_time = true, .size_us = 60, .slide_us = 25 };
    assert_int_equal(assay_window_spec_check(&w, "t.yaml", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "multiple of window.slide"));
    w = (assay_window_spec){ .size_us = 60, .slide_us = 120 };
    assert_int_equal(assay_window_spec_check(&w, "t.yaml", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "longer than window.size"));
    w = (assay_window_spec){ .size_us = 60, .slide_us = 60, .lateness_us = -1 };
    assert_int_equal(assay_window_spec_check(&w, "t.yaml", &err), -EINVAL);
    w = (assay_window_spec){ .global = true };
    assert_int_equal(assay_window_spec_check(&w, "t.yaml", &err), 0);
    assert_int_equal(assay_window_pane(&w, 123456), 0);
    assert_true(assay_window_frontier(&w, 5) == ASSAY_TIME_NONE);
    w = spec(3600, 60, 0);
    assert_int_equal(w.q, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floor_div),       cmocka_unit_test(test_windows_of_time),
        cmocka_unit_test(test_frontier),        cmocka_unit_test(test_first_open),
        cmocka_unit_test(test_frontier_of_max), cmocka_unit_test(test_spec_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
