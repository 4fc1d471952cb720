/* Latency histogram: quantiles against the exact order statistics of log-normal draws
 * (the documented bound: within 1 % relative), the clamp at both ends, the empty case. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/latency.h"
#include "test_rng.h"

static void test_quantiles_within_bound(void **state)
{
    (void)state;
    enum { N = 20000 };
    static double v[N];
    static assay_latency h;
    rng r = { 7 };
    for (int i = 0; i < N; i++) {
        v[i] = 2e-3 * exp(0.8 * gauss(&r)); /* ~2 ms median, a long right tail */
        assay_latency_add(&h, v[i]);
    }
    qsort(v, N, sizeof(v[0]), cmp_double);
    assert_int_equal(h.count, N);
    assert_true(h.max == v[N - 1]);
    const double qs[] = { 0.01, 0.25, 0.5, 0.9, 0.99, 0.999 };
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double exact = v[(size_t)ceil(qs[i] * N) - 1];
        double got = assay_latency_quantile(&h, qs[i]);
        double rel = fabs(got - exact) / exact;
        if (rel > 0.01)
            fail_msg("q%.3f: %.6g vs exact %.6g (%.2f%%)", qs[i], got, exact, 100 * rel);
    }
}

static void test_edges(void **state)
{
    (void)state;
    assay_latency h = { 0 };
    assert_true(assay_latency_quantile(&h, 0.99) == 0);
    assay_latency_add(&h, 0);   /* below the first bucket */
    assay_latency_add(&h, 500); /* beyond the last: kept in it, max exact */
    assert_true(assay_latency_quantile(&h, 0.5) <= 1.02e-6);
    assert_true(assay_latency_quantile(&h, 1.0) <= 500);
    assert_true(assay_latency_quantile(&h, 1.0) > 100);
    assert_true(h.max == 500);
    assay_latency one = { 0 };
    assay_latency_add(&one, 0.0123);
    /* a single value: never reported above what was seen */
    assert_true(assay_latency_quantile(&one, 0.5) <= 0.0123);
    assert_true(assay_latency_quantile(&one, 0.5) >= 0.0123 / 1.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles_within_bound),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
