/* Scores per the quality model (docs/design.md), computed by hand for small cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "assay/engine.h"

/* cmocka 1.1.5 has no assert_double_equal: print both sides ourselves. */
#define assert_double_equal(a, b, eps)                                                             \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                                               \
            fail_msg("%s = %.12g, expected %.12g", #a, a_, b_);                                    \
    } while (0)

static assay_rule_config rc[4];
static assay_rule_result rr[4];

static assay_result make(size_t n)
{
    assay_result r;
    memset(&r, 0, sizeof(r));
    r.rules = rr;
    r.nrules = n;
    return r;
}

static void test_dimension_scores_and_weights(void **state)
{
    (void)state;
    assay_config *cfg;
    assert_int_equal(assay_config_default(&cfg), 0);
    memset(rc, 0, sizeof(rc));
    memset(rr, 0, sizeof(rr));
    /* completeness: 2 nulls of 100 -> 98; validity rule: 10 of 200 fail -> with 100
     * parse checks (no bad rows) validity = 100*(1 - 10/300) */
    rc[0].dimension = ASSAY_DIM_COMPLETENESS;
    rr[0] = (assay_rule_result){ .cfg = &rc[0], .evaluated = 100, .failed = 2 };
    rc[1].dimension = ASSAY_DIM_VALIDITY;
    rr[1] = (assay_rule_result){ .cfg = &rc[1], .evaluated = 200, .failed = 10 };
    assay_result r = make(2);
    r.rows = 100;
    assay_score(&r, cfg);
    assert_true(r.dim_present[ASSAY_DIM_COMPLETENESS]);
    assert_true(r.dim_present[ASSAY_DIM_VALIDITY]);
    assert_false(r.dim_present[ASSAY_DIM_UNIQUENESS]);
    assert_double_equal(r.dims[ASSAY_DIM_COMPLETENESS], 98.0, 1e-9);
    double v = 100.0 * (1.0 - 10.0 / 300.0);
    assert_double_equal(r.dims[ASSAY_DIM_VALIDITY], v, 1e-9);
    /* absent dimensions are left out: weights 0.20 and 0.05 only */
    double want = (0.20 * 98.0 + 0.05 * v) / (0.20 + 0.05);
    assert_double_equal(r.overall, want, 1e-9);
    assay_config_free(cfg);
}

static void test_bad_rows_count_in_validity(void **state)
{
    (void)state;
    assay_config *cfg;
    assert_int_equal(assay_config_default(&cfg), 0);
    assay_result r = make(0);
    r.rows = 1000;
    r.bad_rows = 50;
    assay_score(&r, cfg);
    assert_true(r.dim_present[ASSAY_DIM_VALIDITY]);
    assert_double_equal(r.dims[ASSAY_DIM_VALIDITY], 95.0, 1e-9);
    assert_double_equal(r.overall, 95.0, 1e-9);
    assay_config_free(cfg);
}

static void test_custom_weights_and_no_checks(void **state)
{
    (void)state;
    assay_config *cfg;
    assert_int_equal(assay_config_default(&cfg), 0);
    assay_result r = make(0);
    assay_score(&r, cfg);
    assert_double_equal(r.overall, 100.0, 1e-9); /* nothing checked, nothing failed */

    memset(rc, 0, sizeof(rc));
    memset(rr, 0, sizeof(rr));
    rc[0].dimension = ASSAY_DIM_UNIQUENESS;
    rr[0] = (assay_rule_result){ .cfg = &rc[0], .evaluated = 10, .failed = 5 };
    rc[1].dimension = ASSAY_DIM_ACCURACY;
    rr[1] = (assay_rule_result){ .cfg = &rc[1], .evaluated = 1, .failed = 0 };
    cfg->weights[ASSAY_DIM_UNIQUENESS] = 3;
    cfg->weights[ASSAY_DIM_ACCURACY] = 1;
    cfg->weights[ASSAY_DIM_VALIDITY] = 0;
    r = make(2);
    r.rows = 10;
    assay_score(&r, cfg);
    assert_double_equal(r.dims[ASSAY_DIM_UNIQUENESS], 50.0, 1e-9);
    assert_double_equal(r.dims[ASSAY_DIM_ACCURACY], 100.0, 1e-9);
    assert_double_equal(r.overall, (3 * 50.0 + 1 * 100.0) / 4.0, 1e-9);
    assay_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dimension_scores_and_weights),
        cmocka_unit_test(test_bad_rows_count_in_validity),
        cmocka_unit_test(test_custom_weights_and_no_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
