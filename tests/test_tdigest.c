/* Tests for the merging t-digest (src/sketch/tdigest.c).
 *
 * Accuracy is measured against exact answers: each data set is sorted here and the
 * digest's answers are located in it.
 *
 * Rank error of a quantile answer v for quantile q: v occupies the ranks
 * [#{x < v}, #{x <= v}] of the n sorted values (a single point when v is not in the data;
 * a long range when v is a repeated value). v is an exact q-quantile for every q inside
 * that range divided by n, so the error is the distance from q to the range (0 inside).
 * Without this, a digest that returns the right repeated value for q = 0.5 when that value
 * fills ranks 5%..95% would be charged a 45% error. The CDF is checked the same way: the
 * exact answer for cdf(x) is any fraction in [#{y < x} / n, #{y <= x} / n] (the digest
 * returns the middle of an atom's range; see tdigest.c), and the error is the distance to
 * that interval.
 *
 * Bounds asserted for delta = 100 on 10^6 values (one digest, and 8 digests built from a
 * random split of the same data and merged): <= 0.5% at p05..p95, <= 0.05% at p01/p99 and
 * p001/p999. Every case prints its measured errors.
 *
 * Ordered input (test_ordered_input): columns that arrive sorted, nearly sorted, in
 * restarting sorted runs, as trends under noise or grouped, whole numbers and continuous,
 * fed as the profile feeds them (delta 300, batches of 4096, one digest and 40,000-value
 * chunk digests merged in order), 5,000 to 250,000 values: <= 0.5% at every percentile
 * p01..p99 and <= 0.05% at p01/p99 for n >= 10,000. Against the sketch before its
 * ordered-input fix this failed in 8 cases (worst: groups, 250,000 values, p42 1.0%;
 * sawtooth, 54,000 values, p62 0.84%).
 *
 * Set ASSAY_TDIGEST_LONG=1 to also run 10^7 values per distribution (slow). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/sketch.h"
#include "assay/tdigest.h"

/* ---- random numbers (splitmix64), local state ---- */

/* ---- exact answers ---- */

/* #{s < v} and #{s <= v} in sorted s[0..n). */
static void rank_range(const double *s, size_t n, double v, size_t *lt, size_t *le)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *lt = lo;
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *le = lo;
}

/* Distance from f to [a, b]. */
static double dist(double f, double a, double b)
{
    return f < a ? a - f : (f > b ? f - b : 0.0);
}

static double quantile_rank_error(const double *s, size_t n, double q, double v)
{
    size_t lt, le;
    rank_range(s, n, v, &lt, &le);
    return dist(q, (double)lt / (double)n, (double)le / (double)n);
}

/* ---- data sets ---- */

enum dist_kind {
    D_UNIFORM,
    D_NORMAL,
    D_LOGNORMAL,
    D_TEN_VALUES,
    D_NINETY_PCT_ONE,
    D_SORTED_ASC,
    D_SORTED_DESC,
    D_COUNT
};

static const char *const dist_names[D_COUNT] = {
    "uniform",
    "normal",
    "lognormal(0,1.5)",
    "10 distinct values",
    "90% one value",
    "sorted ascending",
    "sorted descending (lognormal)",
};

static int cmp_desc(const void *a, const void *b)
{
    return cmp_double(b, a);
}

static void make_data(enum dist_kind d, double *x, size_t n, uint64_t seed)
{
    rng r = { seed };
    for (size_t i = 0; i < n; i++) {
        switch (d) {
        case D_UNIFORM:
            x[i] = unif(&r) * 1000.0 - 200.0;
            break;
        case D_NORMAL:
        case D_SORTED_ASC:
            x[i] = 50.0 + 10.0 * gauss(&r);
            break;
        case D_LOGNORMAL:
        case D_SORTED_DESC:
            x[i] = exp(1.5 * gauss(&r));
            break;
        case D_TEN_VALUES:
            x[i] = 1.5 * (double)(rnd(&r) % 10);
            break;
        case D_NINETY_PCT_ONE:
            x[i] = rnd(&r) % 10 != 0 ? 42.0 : 42.0 + 20.0 * gauss(&r);
            break;
        default:
            x[i] = 0;
        }
    }
    if (d == D_SORTED_ASC)
        qsort(x, n, sizeof(double), cmp_double);
    if (d == D_SORTED_DESC)
        qsort(x, n, sizeof(double), cmp_desc);
}

/* ---- accuracy ---- */

static const double probe_q[] = { 0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999 };

static double bound_for(double q)
{
    return (q <= 0.01 || q >= 0.99) ? 0.0005 : 0.005;
}

/* Check every probe quantile and the CDF at the exact quantile values; print a line. */
static void check_accuracy(assay_tdigest *t, const double *s, size_t n, const char *what)
{
    char line[512];
    int at = snprintf(line, sizeof(line), "%-40s", what);
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(probe_q); k++) {
        double q = probe_q[k];
        double v = assay_tdigest_quantile(t, q);
        double e = quantile_rank_error(s, n, q, v);
        if (!(e <= bound_for(q)))
            fail_msg("%s: quantile(%g) = %.17g has rank error %.5f%%, bound %.3f%%", what, q, v,
                     100 * e, 100 * bound_for(q));
        /* CDF at the exact q-quantile value. */
        double x = s[(size_t)(q * (double)n)];
        size_t lt, le;
        rank_range(s, n, x, &lt, &le);
        double c = assay_tdigest_cdf(t, x);
        double ce = dist(c, (double)lt / (double)n, (double)le / (double)n);
        if (!(ce <= bound_for(q)))
            fail_msg("%s: cdf(%.17g) = %.7f, exact range [%.7f, %.7f], error %.5f%% > %.3f%%", what,
                     x, c, (double)lt / (double)n, (double)le / (double)n, 100 * ce,
                     100 * bound_for(q));
        if (at < (int)sizeof(line))
            at += snprintf(line + at, sizeof(line) - (size_t)at, " %6.4f/%6.4f", 100 * e, 100 * ce);
    }
    assert_true(assay_tdigest_quantile(t, 0.0) == s[0]);
    assert_true(assay_tdigest_quantile(t, 1.0) == s[n - 1]);
    assert_true(assay_tdigest_min(t) == s[0]);
    assert_true(assay_tdigest_max(t) == s[n - 1]);
    assert_int_equal(assay_tdigest_count(t), n);
    print_message("%s (%zu centroids)\n", line, assay_tdigest_centroids(t));
}

static void accuracy_run(size_t n)
{
    double *x = malloc(n * sizeof(double));
    double *s = malloc(n * sizeof(double));
    assert_non_null(x);
    assert_non_null(s);
    print_message("rank error %% quantile/cdf at p001 p01 p05 p25 p50 p75 p95 p99 p999, "
                  "n = %zu, delta = 100\n",
                  n);
    for (int d = 0; d < D_COUNT; d++) {
        make_data((enum dist_kind)d, x, n, 1000 + (uint64_t)d);
        memcpy(s, x, n * sizeof(double));
        qsort(s, n, sizeof(double), cmp_double);

        /* One digest, fed in batches of 1000. */
        assay_tdigest *t;
        assert_int_equal(assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT), 0);
        for (size_t i = 0; i < n; i += 1000)
            assay_tdigest_add_batch(t, x + i, n - i < 1000 ? n - i : 1000);
        char what[128];
        snprintf(what, sizeof(what), "%s", dist_names[d]);
        check_accuracy(t, s, n, what);
        assert_true(assay_tdigest_centroids(t) <= 216); /* 2 delta + 16 */
        assay_tdigest_free(t);

        /* Eight digests from a random split, value by value, merged into a fresh one. */
        assay_tdigest *part[8], *all;
        for (int p = 0; p < 8; p++)
            assert_int_equal(assay_tdigest_new(&part[p], ASSAY_TDIGEST_DELTA_DEFAULT), 0);
        rng r = { 77 + (uint64_t)d };
        for (size_t i = 0; i < n; i++)
            assay_tdigest_add(part[rnd(&r) & 7], x[i]);
        assert_int_equal(assay_tdigest_new(&all, ASSAY_TDIGEST_DELTA_DEFAULT), 0);
        for (int p = 0; p < 8; p++) {
            assert_int_equal(assay_tdigest_merge(all, part[p]), 0);
            assay_tdigest_free(part[p]);
        }
        snprintf(what, sizeof(what), "%s, 8 merged", dist_names[d]);
        check_accuracy(all, s, n, what);
        assay_tdigest_free(all);
    }
    free(x);
    free(s);
}

static void test_accuracy(void **state)
{
    (void)state;
    accuracy_run(1000000);
    const char *lng = getenv("ASSAY_TDIGEST_LONG");
    if (lng && *lng && strcmp(lng, "0") != 0)
        accuracy_run(10000000);
}

/* Bytes per centroid in the serialized summary (version 3): mean, weight, spread. */
#define TD_CENTROID 24

/* Tails: the extreme values are single-value centroids (read from the serialized form). */
static void test_singleton_tails(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    rng r = { 5 };
    for (int i = 0; i < 200000; i++)
        assay_tdigest_add(t, gauss(&r));
    uint8_t *b;
    size_t len;
    assert_int_equal(assay_tdigest_serialize(t, &b, &len), 0);
    const uint8_t *p = b + ASSAY_SKETCH_HEADER;
    uint64_t nc = 0;
    for (int i = 0; i < 8; i++)
        nc |= (uint64_t)p[40 + i] << (8 * i);
    assert_true(nc >= 4);
    uint64_t w_first = 0, w_last = 0;
    for (int i = 0; i < 8; i++) {
        w_first |= (uint64_t)p[48 + 8 + i] << (8 * i);
        w_last |= (uint64_t)p[48 + TD_CENTROID * (nc - 1) + 8 + i] << (8 * i);
    }
    w_first &= ~(UINT64_C(1) << 63); /* the top bit flags a pure centroid */
    w_last &= ~(UINT64_C(1) << 63);
    assert_int_equal(w_first, 1);
    assert_int_equal(w_last, 1);
    double m_first, m_last;
    memcpy(&m_first, p + 48, 8);
    memcpy(&m_last, p + 48 + TD_CENTROID * (nc - 1), 8);
    assert_true(m_first == assay_tdigest_min(t));
    assert_true(m_last == assay_tdigest_max(t));
    free(b);
    assay_tdigest_free(t);
}

/* quantile is nondecreasing in q, cdf in x, and cdf(quantile(q)) is close to q. */
static void test_monotone(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, 50), 0);
    rng r = { 9 };
    for (int i = 0; i < 100000; i++)
        assay_tdigest_add(t, exp(gauss(&r)));
    double prev = -INFINITY;
    for (int i = 0; i <= 10000; i++) {
        double q = i / 10000.0;
        double v = assay_tdigest_quantile(t, q);
        if (!(v >= prev))
            fail_msg("quantile(%g) = %.17g < quantile just before = %.17g", q, v, prev);
        prev = v;
        double c = assay_tdigest_cdf(t, v);
        if (!(fabs(c - q) < 0.02))
            fail_msg("cdf(quantile(%g)) = %g", q, c);
    }
    double pc = 0;
    for (int i = 0; i <= 10000; i++) {
        double x = i / 1000.0;
        double c = assay_tdigest_cdf(t, x);
        if (!(c >= pc && c <= 1.0))
            fail_msg("cdf(%g) = %.17g not in [cdf before = %.17g, 1]", x, c, pc);
        pc = c;
    }
    assay_tdigest_free(t);
}

/* ---- special values ---- */

static void test_empty(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT), 0);
    assert_true(isnan(assay_tdigest_quantile(t, 0.5)));
    assert_true(isnan(assay_tdigest_quantile(t, 0.0)));
    assert_true(isnan(assay_tdigest_cdf(t, 1.0)));
    assert_true(isnan(assay_tdigest_min(t)));
    assert_true(isnan(assay_tdigest_max(t)));
    assert_int_equal(assay_tdigest_count(t), 0);
    assert_int_equal(assay_tdigest_centroids(t), 0);
    /* Only NaNs: still empty. */
    assay_tdigest_add(t, NAN);
    assay_tdigest_add(t, -NAN);
    assert_int_equal(assay_tdigest_nan_count(t), 2);
    assert_int_equal(assay_tdigest_count(t), 0);
    assert_true(isnan(assay_tdigest_quantile(t, 0.5)));
    assay_tdigest_free(t);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assay_tdigest *t = (assay_tdigest *)&t;
    const double bad[] = { 9.99, 10000.5, NAN, INFINITY, -100, 0 };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad); i++) {
        assert_int_equal(assay_tdigest_new(&t, bad[i]), -EINVAL);
        assert_null(t);
    }
    assert_int_equal(assay_tdigest_new(&t, 10), 0);
    assay_tdigest_free(t);
    assert_int_equal(assay_tdigest_new(&t, 10000), 0);
    assay_tdigest_add(t, 1.0);
    /* q outside [0, 1] and NaN arguments */
    assert_true(isnan(assay_tdigest_quantile(t, -0.1)));
    assert_true(isnan(assay_tdigest_quantile(t, 1.1)));
    assert_true(isnan(assay_tdigest_quantile(t, NAN)));
    assert_true(isnan(assay_tdigest_cdf(t, NAN)));
    /* merge: different delta, self */
    assay_tdigest *u;
    assert_int_equal(assay_tdigest_new(&u, 100), 0);
    assert_int_equal(assay_tdigest_merge(t, u), -EINVAL);
    assert_int_equal(assay_tdigest_merge(u, t), -EINVAL);
    assert_int_equal(assay_tdigest_merge(u, u), -EINVAL);
    assay_tdigest_free(u);
    assay_tdigest_free(t);
}

static void test_single_value(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT), 0);
    assay_tdigest_add(t, 7.25);
    const double qs[] = { 0, 0.001, 0.5, 0.999, 1 };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(qs); i++)
        assert_true(assay_tdigest_quantile(t, qs[i]) == 7.25);
    assert_true(assay_tdigest_cdf(t, 7.25) == 1.0);
    assert_true(assay_tdigest_cdf(t, 7.0) == 0.0);
    assert_true(assay_tdigest_cdf(t, 8.0) == 1.0);
    assert_int_equal(assay_tdigest_centroids(t), 1);
    assay_tdigest_free(t);
}

static void test_two_values(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT), 0);
    assay_tdigest_add(t, 3.0);
    assay_tdigest_add(t, 1.0);
    assert_true(assay_tdigest_quantile(t, 0.0) == 1.0);
    assert_true(assay_tdigest_quantile(t, 0.25) == 1.0);
    assert_true(assay_tdigest_quantile(t, 0.75) == 3.0);
    assert_true(assay_tdigest_quantile(t, 1.0) == 3.0);
    double m = assay_tdigest_quantile(t, 0.5); /* either value is an exact median */
    assert_true(m == 1.0 || m == 3.0);
    assert_true(assay_tdigest_cdf(t, 0.5) == 0.0);
    double c1 = assay_tdigest_cdf(t, 1.0); /* exact range [0, 0.5] */
    assert_true(c1 >= 0.0 && c1 <= 0.5);
    assert_true(assay_tdigest_cdf(t, 2.0) == 0.5);
    assert_true(assay_tdigest_cdf(t, 3.0) == 1.0);
    assay_tdigest_free(t);
}

/* Small n with a large delta: every value is its own centroid, answers are exact. */
static void test_small_exact(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, 10000), 0);
    double x[500], s[500];
    rng r = { 3 };
    for (int i = 0; i < 500; i++)
        x[i] = s[i] = gauss(&r);
    assay_tdigest_add_batch(t, x, 500);
    qsort(s, 500, sizeof(double), cmp_double);
    assert_int_equal(assay_tdigest_centroids(t), 500);
    for (int i = 0; i <= 1000; i++) {
        double q = i / 1000.0;
        double e = quantile_rank_error(s, 500, q, assay_tdigest_quantile(t, q));
        if (e != 0.0)
            fail_msg("quantile(%g): rank error %g with all-singleton centroids", q, e);
    }
    assay_tdigest_free(t);
}

static void test_inf_nan(void **state)
{
    (void)state;
    const size_t nfin = 100000, nneg = 100, npos = 50, nnan = 77;
    size_t n = nfin + nneg + npos + nnan;
    double *x = malloc(n * sizeof(double));
    assert_non_null(x);
    rng r = { 11 };
    size_t k = 0;
    for (size_t i = 0; i < nfin; i++)
        x[k++] = gauss(&r);
    for (size_t i = 0; i < nneg; i++)
        x[k++] = -INFINITY;
    for (size_t i = 0; i < npos; i++)
        x[k++] = INFINITY;
    for (size_t i = 0; i < nnan; i++)
        x[k++] = NAN;
    for (size_t i = n - 1; i > 0; i--) { /* shuffle */
        size_t j = rnd(&r) % (i + 1);
        double tmp = x[i];
        x[i] = x[j];
        x[j] = tmp;
    }
    assay_tdigest *t, *a, *b, *m;
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    assert_int_equal(assay_tdigest_new(&a, 100), 0);
    assert_int_equal(assay_tdigest_new(&b, 100), 0);
    assert_int_equal(assay_tdigest_new(&m, 100), 0);
    assay_tdigest_add_batch(t, x, n);
    assay_tdigest_add_batch(a, x, n / 2);
    for (size_t i = n / 2; i < n; i++)
        assay_tdigest_add(b, x[i]);
    assert_int_equal(assay_tdigest_merge(m, a), 0);
    assert_int_equal(assay_tdigest_merge(m, b), 0);

    /* exact data, NaN removed, for rank errors */
    double *s = malloc(n * sizeof(double));
    assert_non_null(s);
    size_t ns = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            s[ns++] = x[i];
    qsort(s, ns, sizeof(double), cmp_double);

    assay_tdigest *ds[2] = { t, m };
    for (int d = 0; d < 2; d++) {
        assay_tdigest *u = ds[d];
        assert_int_equal(assay_tdigest_nan_count(u), nnan);
        assert_int_equal(assay_tdigest_count(u), ns);
        assert_true(assay_tdigest_min(u) == -INFINITY);
        assert_true(assay_tdigest_max(u) == INFINITY);
        assert_true(assay_tdigest_quantile(u, 0.0) == -INFINITY);
        assert_true(assay_tdigest_quantile(u, 1.0) == INFINITY);
        /* inside the blocks of infinities */
        assert_true(assay_tdigest_quantile(u, 50.0 / (double)ns) == -INFINITY);
        assert_true(assay_tdigest_quantile(u, 1.0 - 20.0 / (double)ns) == INFINITY);
        const double qs[] = { 0.01, 0.5, 0.99 };
        for (size_t i = 0; i < ASSAY_ARRAY_LEN(qs); i++) {
            double v = assay_tdigest_quantile(u, qs[i]);
            assert_true(isfinite(v));
            double e = quantile_rank_error(s, ns, qs[i], v);
            if (!(e <= bound_for(qs[i])))
                fail_msg("with infinities: quantile(%g) = %g, rank error %g", qs[i], v, e);
        }
        double c = assay_tdigest_cdf(u, -INFINITY);
        assert_true(c >= 0.0 && c <= (double)nneg / (double)ns);
        assert_true(assay_tdigest_cdf(u, INFINITY) == 1.0);
        c = assay_tdigest_cdf(u, 0.0);
        size_t lt, le;
        rank_range(s, ns, 0.0, &lt, &le);
        assert_true(dist(c, (double)lt / (double)ns, (double)le / (double)ns) <= 0.005);
    }
    free(s);
    free(x);
    assay_tdigest_free(t);
    assay_tdigest_free(a);
    assay_tdigest_free(b);
    assay_tdigest_free(m);

    /* Only infinities. */
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    for (int i = 0; i < 3; i++)
        assay_tdigest_add(t, -INFINITY);
    for (int i = 0; i < 2; i++)
        assay_tdigest_add(t, INFINITY);
    assert_true(assay_tdigest_quantile(t, 0.3) == -INFINITY); /* rank 1.5 of [0, 3) */
    assert_true(assay_tdigest_quantile(t, 0.7) == INFINITY);  /* rank 3.5 of [3, 5) */
    double c = assay_tdigest_cdf(t, 0.0);
    assert_true(c == 0.6);
    assay_tdigest_free(t);
}

/* ---- determinism, batch vs single, merge leaves src alone ---- */

static void serialize_or_fail(assay_tdigest *t, uint8_t **b, size_t *len)
{
    assert_int_equal(assay_tdigest_serialize(t, b, len), 0);
    assert_non_null(*b);
}

static void test_deterministic(void **state)
{
    (void)state;
    size_t n = 300007;
    double *x = malloc(n * sizeof(double));
    assert_non_null(x);
    make_data(D_LOGNORMAL, x, n, 42);
    x[17] = NAN;
    x[40000] = NAN;
    assay_tdigest *a, *b;
    assert_int_equal(assay_tdigest_new(&a, 100), 0);
    assert_int_equal(assay_tdigest_new(&b, 100), 0);
    for (size_t i = 0; i < n; i++)
        assay_tdigest_add(a, x[i]);
    assay_tdigest_add_batch(b, x, n);
    uint8_t *ba, *bb;
    size_t la, lb;
    serialize_or_fail(a, &ba, &la);
    serialize_or_fail(b, &bb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    assert_int_equal(assay_tdigest_nan_count(a), 2);
    free(ba);
    free(bb);
    assay_tdigest_free(a);
    assay_tdigest_free(b);

    /* merge: src (with values still buffered) is unchanged */
    assay_tdigest *s1, *s2, *d;
    assert_int_equal(assay_tdigest_new(&s1, 100), 0);
    assert_int_equal(assay_tdigest_new(&s2, 100), 0);
    assert_int_equal(assay_tdigest_new(&d, 100), 0);
    assay_tdigest_add_batch(s1, x, 10001);
    assay_tdigest_add_batch(s2, x, 10001);
    assay_tdigest_add_batch(d, x + 10001, 5000);
    assert_int_equal(assay_tdigest_merge(d, s1), 0);
    assert_int_equal(assay_tdigest_count(d), 15000); /* x[17] is NaN */
    assert_int_equal(assay_tdigest_nan_count(d), 1);
    serialize_or_fail(s1, &ba, &la);
    serialize_or_fail(s2, &bb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
    /* merging an empty digest changes nothing */
    assay_tdigest *e;
    assert_int_equal(assay_tdigest_new(&e, 100), 0);
    serialize_or_fail(d, &ba, &la);
    assert_int_equal(assay_tdigest_merge(d, e), 0);
    serialize_or_fail(d, &bb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
    assay_tdigest_free(e);
    assay_tdigest_free(s1);
    assay_tdigest_free(s2);
    assay_tdigest_free(d);
    free(x);
}

/* Large delta: many centroids, capacity never exceeded (ASan), answers accurate. */
static void test_large_delta(void **state)
{
    (void)state;
    size_t n = 200000;
    double *x = malloc(n * sizeof(double));
    assert_non_null(x);
    make_data(D_NORMAL, x, n, 8);
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, 10000), 0);
    assay_tdigest_add_batch(t, x, n);
    size_t nc = assay_tdigest_centroids(t);
    print_message("delta 10000, n %zu: %zu centroids\n", n, nc);
    assert_true(nc <= 30718); /* ceil(2 delta ln(delta) / 6) + 16 */
    qsort(x, n, sizeof(double), cmp_double);
    double e = quantile_rank_error(x, n, 0.5, assay_tdigest_quantile(t, 0.5));
    assert_true(e <= 0.0005);
    assay_tdigest_free(t);
    free(x);
}

/* ---- serialization ---- */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void putf(uint8_t *p, double x)
{
    uint64_t u;
    memcpy(&u, &x, 8);
    put64(p, u);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double getf(const uint8_t *p)
{
    uint64_t u = get64(p);
    double x;
    memcpy(&x, &u, 8);
    return x;
}

static void test_roundtrip(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    rng r = { 21 };
    for (int i = 0; i < 50000; i++)
        assay_tdigest_add(t, i % 1000 == 0 ? NAN : gauss(&r));
    assay_tdigest_add(t, INFINITY);
    uint8_t *b, *b2;
    size_t len, len2;
    serialize_or_fail(t, &b, &len);
    assay_tdigest *u = NULL;
    assay_error err = { 0 };
    int rc = assay_tdigest_deserialize(b, len, &u, &err);
    if (rc != 0)
        fail_msg("round trip rejected: %s", err.msg);
    assert_int_equal(assay_tdigest_count(u), assay_tdigest_count(t));
    assert_int_equal(assay_tdigest_nan_count(u), 50);
    assert_true(assay_tdigest_min(u) == assay_tdigest_min(t));
    assert_true(assay_tdigest_max(u) == INFINITY);
    for (int i = 0; i <= 100; i++) {
        double q = i / 100.0;
        assert_true(assay_tdigest_quantile(u, q) == assay_tdigest_quantile(t, q));
        assert_true(assay_tdigest_cdf(u, q - 0.5) == assay_tdigest_cdf(t, q - 0.5));
    }
    serialize_or_fail(u, &b2, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(b, b2, len);
    /* the deserialized digest keeps working: add and merge */
    assay_tdigest_add(u, 0.5);
    assert_int_equal(assay_tdigest_merge(u, t), 0);
    assert_int_equal(assay_tdigest_count(u), 2 * assay_tdigest_count(t) + 1);
    free(b);
    free(b2);
    assay_tdigest_free(u);

    /* empty round trip */
    assay_tdigest *e;
    assert_int_equal(assay_tdigest_new(&e, 33), 0);
    serialize_or_fail(e, &b, &len);
    assert_int_equal(len, ASSAY_SKETCH_HEADER + 48);
    rc = assay_tdigest_deserialize(b, len, &u, &err);
    if (rc != 0)
        fail_msg("empty round trip rejected: %s", err.msg);
    assert_int_equal(assay_tdigest_count(u), 0);
    assert_true(isnan(assay_tdigest_quantile(u, 0.5)));
    free(b);
    assay_tdigest_free(u);
    assay_tdigest_free(e);
    assay_tdigest_free(t);
}

/* Expect rejection with a message containing `want`. */
static void expect_reject(const uint8_t *b, size_t len, const char *want, const char *what)
{
    assay_tdigest *u = (assay_tdigest *)&u;
    assay_error err = { 0 };
    int rc = assay_tdigest_deserialize(b, len, &u, &err);
    if (rc != -EINVAL)
        fail_msg("%s: deserialize returned %d, expected -EINVAL", what, rc);
    if (u != NULL)
        fail_msg("%s: output not cleared", what);
    if (err.msg[0] == '\0' || (want && !strstr(err.msg, want)))
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, err.msg, want ? want : "");
}

/* A summary payload with m centroids (means 1..m, weight 1) for delta, count m, in the
 * current layout (version 3, spreads 0) or the old one (version 1, no spreads). */
static uint8_t *build_payload(double delta, uint64_t m, size_t *len, int version)
{
    size_t cs = version == 1 ? 16 : TD_CENTROID;
    size_t plen = 48 + cs * m;
    uint8_t *b = calloc(1, ASSAY_SKETCH_HEADER + plen);
    assert_non_null(b);
    assay_sketch_header_write(b, ASSAY_SKETCH_TDIGEST, (uint8_t)version, plen);
    uint8_t *p = b + ASSAY_SKETCH_HEADER;
    putf(p, delta);
    put64(p + 8, m);
    put64(p + 16, 0);
    putf(p + 24, 1.0);
    putf(p + 32, (double)m);
    put64(p + 40, m);
    for (uint64_t i = 0; i < m; i++) {
        putf(p + 48 + cs * i, (double)(i + 1));
        put64(p + 48 + cs * i + 8, 1);
    }
    *len = ASSAY_SKETCH_HEADER + plen;
    return b;
}

enum field { F_RAW, F_U64, F_F64 };

struct corruption {
    const char *what;
    size_t off; /* from the start of the buffer; see C_MEAN */
    enum field kind;
    uint64_t u;
    double f;
    const char *want;
};

static void test_corrupted(void **state)
{
    (void)state;
    assay_tdigest *t;
    assert_int_equal(assay_tdigest_new(&t, 10), 0);
    rng r = { 4 };
    for (int i = 0; i < 5000; i++)
        assay_tdigest_add(t, unif(&r) * 100.0);
    uint8_t *good;
    size_t len;
    serialize_or_fail(t, &good, &len);
    uint64_t nc = get64(good + 16 + 40);
    assert_true(nc >= 4);
    /* offsets of centroid i's fields in the buffer (16-byte header, 48-byte fixed part) */
#define C_MEAN(i)   (64 + TD_CENTROID * (size_t)(i))
#define C_WEIGHT(i) (C_MEAN(i) + 8)
#define C_SPREAD(i) (C_MEAN(i) + 16)
    double m1 = getf(good + C_MEAN(1)), m2 = getf(good + C_MEAN(2));
    size_t mid = (size_t)nc / 2; /* a centroid of several values */
    assert_true((get64(good + C_WEIGHT(mid)) & ~(UINT64_C(1) << 63)) > 1);
    assert_true(getf(good + C_SPREAD(mid)) > 0);
    assert_int_equal(get64(good + C_WEIGHT(0)) & ~(UINT64_C(1) << 63), 1);
    double mx = getf(good + 16 + 32);

    /* every truncation, and one byte too many */
    for (size_t cut = 0; cut < len; cut++) {
        char what[64];
        snprintf(what, sizeof(what), "truncated to %zu of %zu bytes", cut, len);
        uint8_t *b = malloc(cut ? cut : 1); /* exact size: ASan catches over-reads */
        memcpy(b, good, cut);
        expect_reject(cut ? b : NULL, cut, NULL, what);
        if (cut == 0)
            expect_reject(b, 0, NULL, what);
        free(b);
    }
    {
        uint8_t *b = malloc(len + 1);
        memcpy(b, good, len);
        b[len] = 0;
        expect_reject(b, len + 1, "payload bytes", "one trailing byte");
        free(b);
    }

    const struct corruption cases[] = {
        { "magic", 0, F_RAW, 'X', 0, "magic" },
        { "kind", 4, F_RAW, ASSAY_SKETCH_HLL, 0, "kind" },
        { "version", 5, F_RAW, 2, 0, "version" },
        { "reserved", 6, F_RAW, 1, 0, "reserved" },
        { "header length", 8, F_U64, len - 16 + 16, 0, "payload bytes" },
        { "delta NaN", 16, F_F64, 0, NAN, "delta" },
        { "delta too small", 16, F_F64, 0, 9.5, "delta" },
        { "delta too large", 16, F_F64, 0, 20000, "delta" },
        { "delta inf", 16, F_F64, 0, INFINITY, "delta" },
        { "delta changed", 16, F_F64, 0, 11, NULL }, /* valid delta: weights still sum */
        { "count + 1", 24, F_U64, 5001, 0, "sum to" },
        { "count - 1", 24, F_U64, 4999, 0, "weight" },
        { "count 2^60", 24, F_U64, UINT64_C(1) << 60, 0, "2^53" },
        { "count 0 with centroids", 24, F_U64, 0, 0, "count is 0" },
        { "min NaN", 40, F_F64, 0, NAN, "min/max" },
        { "min above max", 40, F_F64, 0, 1000, "min/max" },
        { "max below last mean", 48, F_F64, 0, 50, "outside" },
        { "max NaN", 48, F_F64, 0, NAN, "min/max" },
        { "centroid count + 1", 56, F_U64, nc + 1, 0, "centroids need" },
        { "centroid count - 1", 56, F_U64, nc - 1, 0, "centroids need" },
        { "centroid count huge", 56, F_U64, UINT64_C(1) << 62, 0, "centroids need" },
        { "centroid count 0", 56, F_U64, 0, 0, "centroids need" },
        { "mean NaN", C_MEAN(1), F_F64, 0, NAN, "mean" },
        { "mean below min", 64, F_F64, 0, -1, "outside" },
        { "mean above max", C_MEAN(2), F_F64, 0, mx + 1, "outside" },
        { "means unsorted", C_MEAN(1), F_F64, 0, m2 + (mx - m2) / 2, "sorted" },
        { "weight 0", C_WEIGHT(0), F_U64, 0, 0, "weight" },
        { "weight huge", C_WEIGHT(1), F_U64, UINT64_C(1) << 63, 0, "weight" },
        { "weight + 1", C_WEIGHT(1), F_U64, 0, 0, NULL }, /* filled below */
        { "spread negative", C_SPREAD(mid), F_F64, 0, -1.0, "spread" },
        { "spread NaN", C_SPREAD(mid), F_F64, 0, NAN, "spread" },
        { "spread infinite", C_SPREAD(mid), F_F64, 0, INFINITY, "spread" },
        { "spread beyond [min, max]", C_SPREAD(mid), F_F64, 0, 1e12, "spread" },
        { "spread of a single value", C_SPREAD(0), F_F64, 0, 0.5, "spread" },
    };
    (void)m1;
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        const struct corruption *c = &cases[i];
        uint8_t *b = malloc(len);
        memcpy(b, good, len);
        if (c->kind == F_RAW)
            b[c->off] = (uint8_t)c->u;
        else if (c->kind == F_U64)
            put64(b + c->off, c->u);
        else
            putf(b + c->off, c->f);
        if (strcmp(c->what, "weight + 1") == 0)
            put64(b + c->off, get64(good + c->off) + 1);
        if (strcmp(c->what, "delta changed") == 0) {
            /* A different valid delta is accepted when everything else is consistent. */
            assay_tdigest *u = NULL;
            assay_error err = { 0 };
            int rc = assay_tdigest_deserialize(b, len, &u, &err);
            if (rc != 0)
                fail_msg("delta 11 rejected: %s", err.msg);
            assay_tdigest_free(u);
        } else {
            expect_reject(b, len, c->want, c->what);
        }
        free(b);
    }
    free(good);

    /* more centroids than delta allows: a consistent payload with cap + 1 centroids, in
     * the current layout and the old one (version 1 summaries are still read) */
    size_t blen;
    uint8_t *b;
    assay_tdigest *u = NULL;
    assay_error err = { 0 };
    for (int v = 1; v <= 3; v += 2) {
        b = build_payload(10, 72, &blen, v); /* capacity at delta 10: 2 (2 * 10 + 16) */
        if (assay_tdigest_deserialize(b, blen, &u, &err) != 0)
            fail_msg("72 centroids at delta 10 (version %d) rejected: %s", v, err.msg);
        assert_int_equal(assay_tdigest_count(u), 72);
        assert_true(assay_tdigest_quantile(u, 0.0) == 1.0 &&
                    assay_tdigest_quantile(u, 1.0) == 72.0);
        assay_tdigest_free(u);
        free(b);
        b = build_payload(10, 73, &blen, v);
        expect_reject(b, blen, "more than", "73 centroids at delta 10");
        free(b);
    }
    /* a version this build does not know */
    b = build_payload(10, 4, &blen, 3);
    b[5] = 5;
    expect_reject(b, blen, "version", "version 5");
    free(b);

    /* empty digest with min/max set */
    b = build_payload(10, 0, &blen, 3);
    expect_reject(b, blen, "min/max", "empty with min/max");
    putf(b + 16 + 24, NAN);
    putf(b + 16 + 32, NAN);
    if (assay_tdigest_deserialize(b, blen, &u, &err) != 0)
        fail_msg("empty payload rejected: %s", err.msg);
    assay_tdigest_free(u);
    free(b);
    assay_tdigest_free(t);
}

/* The exact state: a digest saved with values still buffered, restored, and then fed
 * the same values as the original answers every quantile bit for bit (checkpoints rely
 * on it); saving does not change the original; corruption is rejected. */
static void test_save_restore(void **state)
{
    (void)state;
    assay_tdigest *a, *b = NULL;
    assert_int_equal(assay_tdigest_new(&a, 200), 0);
    rng r = { 17 };
    for (int i = 0; i < 123457; i++) /* not a multiple of the buffer: values are pending */
        assay_tdigest_add(a, gauss(&r) * 10 + (i % 7 == 0 ? INFINITY : 0));
    assay_tdigest_add(a, NAN);
    uint8_t *buf;
    size_t len;
    assert_int_equal(assay_tdigest_save(a, &buf, &len), 0);
    assay_error err = { 0 };
    if (assay_tdigest_restore(buf, len, &b, &err) != 0)
        fail_msg("restore: %s", err.msg);
    assert_int_equal(assay_tdigest_count(b), assay_tdigest_count(a));
    assert_int_equal(assay_tdigest_nan_count(b), 1);
    rng r2 = r;
    for (int i = 0; i < 50000; i++) {
        double x = gauss(&r) * 3 + 5;
        assay_tdigest_add(a, x);
        assay_tdigest_add(b, gauss(&r2) * 3 + 5);
    }
    for (int q = 0; q <= 100; q++) {
        double x = assay_tdigest_quantile(a, q / 100.0), y = assay_tdigest_quantile(b, q / 100.0);
        if (memcmp(&x, &y, sizeof(x)) != 0)
            fail_msg("q %d: original %.17g, restored %.17g", q, x, y);
    }
    assert_int_equal(assay_tdigest_centroids(a), assay_tdigest_centroids(b));
    /* the summary form of a version-2 buffer and v.v. are refused by kind of version */
    assay_tdigest *v1 = NULL;
    assert_int_equal(assay_tdigest_deserialize(buf, len, &v1, &err), -EINVAL);
    assert_null(v1);
    assert_non_null(strstr(err.msg, "version"));
    for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
        assay_tdigest *x = NULL;
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, buf, cut);
        if (assay_tdigest_restore(t, cut, &x, &err) != -EINVAL || x)
            fail_msg("truncation to %zu of %zu bytes was accepted", cut, len);
        free(t);
    }
    /* a buffered value outside [min, max], and buffered counts that do not add up */
    uint8_t *t = malloc(len);
    memcpy(t, buf, len);
    putf(t + len - 8, -1e300);
    assay_tdigest *x = NULL;
    assert_int_equal(assay_tdigest_restore(t, len, &x, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "buffered value"));
    memcpy(t, buf, len);
    put64(t + 16 + 56, get64(t + 16 + 56) + 1);
    assert_int_equal(assay_tdigest_restore(t, len, &x, &err), -EINVAL);
    free(t);
    free(buf);
    assay_tdigest_free(a);
    assay_tdigest_free(b);

    /* A checkpoint written before the spreads were kept (version 2: 16-byte centroids)
     * is still restored: centroids 10, 20, 30 (weights 1, 2, 1; the middle one not pure)
     * and buffered values 15 and 25. */
    size_t plen = 48 + 16 + 3 * 16 + 2 * 8;
    uint8_t *v2 = calloc(1, ASSAY_SKETCH_HEADER + plen);
    assert_non_null(v2);
    assay_sketch_header_write(v2, ASSAY_SKETCH_TDIGEST, 2, plen);
    uint8_t *p = v2 + ASSAY_SKETCH_HEADER;
    putf(p, 100);
    put64(p + 8, 6);
    putf(p + 24, 10);
    putf(p + 32, 30);
    put64(p + 40, 3);
    put64(p + 48, 7);
    put64(p + 56, 2);
    const double means[] = { 10, 20, 30 };
    const uint64_t weights[] = { 1 | (UINT64_C(1) << 63), 2, 1 | (UINT64_C(1) << 63) };
    for (int i = 0; i < 3; i++) {
        putf(p + 64 + 16 * i, means[i]);
        put64(p + 64 + 16 * i + 8, weights[i]);
    }
    putf(p + 112, 15);
    putf(p + 120, 25);
    if (assay_tdigest_restore(v2, ASSAY_SKETCH_HEADER + plen, &b, &err) != 0)
        fail_msg("version-2 state rejected: %s", err.msg);
    assert_int_equal(assay_tdigest_count(b), 6);
    assert_true(assay_tdigest_quantile(b, 0.0) == 10 && assay_tdigest_quantile(b, 1.0) == 30);
    assay_tdigest_free(b);
    /* the same bytes labelled with the current version are too short for it */
    v2[5] = 4;
    assert_int_equal(assay_tdigest_restore(v2, ASSAY_SKETCH_HEADER + plen, &b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "payload bytes"));
    free(v2);
}

/* Strict tails (values below / above a fence, the fence's own value in neither) against
 * exact counts: a column of repeats where the fence sits on the repeated value, rounded
 * data full of ties, and continuous data; the same rank bound as the quantiles. */
static void check_tails(assay_tdigest *t, double *s, size_t n, const char *what)
{
    qsort(s, n, sizeof(*s), cmp_double);
    const double probes[] = { 0.0, 0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0 };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(probes); k++) {
        size_t at = (size_t)(probes[k] * (double)(n - 1));
        double x = s[at];
        size_t lt, le;
        rank_range(s, n, x, &lt, &le);
        double below = assay_tdigest_count_below(t, x), above = assay_tdigest_count_above(t, x);
        double tol = bound_for(probes[k]) * (double)n;
        if (!(fabs(below - (double)lt) <= tol) || !(fabs(above - (double)(n - le)) <= tol))
            fail_msg("%s: at %.17g: below %.1f (exact %zu), above %.1f (exact %zu), tolerance "
                     "%.1f",
                     what, x, below, lt, above, n - le, tol);
    }
    /* exact at and beyond the ends */
    assert_true(assay_tdigest_count_below(t, s[0]) == 0);
    assert_true(assay_tdigest_count_above(t, s[n - 1]) == 0);
    assert_true(assay_tdigest_count_below(t, s[n - 1] + 1) == (double)n);
    assert_true(assay_tdigest_count_above(t, s[0] - 1) == (double)n);
    assert_true(isnan(assay_tdigest_count_below(t, NAN)));
}

static void test_strict_tails(void **state)
{
    (void)state;
    rng r = { 42 };
    assay_tdigest *t;

    /* 471 zeros and 35 ones: Tukey's fences are [0, 0]; exactly the 35 ones lie beyond */
    size_t n = 506;
    double *s = malloc(1000000 * sizeof(*s));
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = i < 471 ? 0.0 : 1.0;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rnd(&r) % (i + 1);
        double x = s[i];
        s[i] = s[j];
        s[j] = x;
    }
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    assay_tdigest_add_batch(t, s, n);
    assert_true(fabs(assay_tdigest_count_above(t, 0.0) - 35) < 0.5);
    assert_true(assay_tdigest_count_below(t, 0.0) == 0);
    assert_true(fabs(assay_tdigest_count_below(t, 1.0) - 471) < 0.5);
    check_tails(t, s, n, "zeros and ones");
    assay_tdigest_free(t);

    /* a normal rounded to one decimal: every value repeated */
    n = 1000000;
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    for (size_t i = 0; i < n; i++)
        s[i] = round(gauss(&r) * 10) / 10;
    assay_tdigest_add_batch(t, s, n);
    check_tails(t, s, n, "rounded normal");
    assay_tdigest_free(t);

    /* continuous */
    assert_int_equal(assay_tdigest_new(&t, 100), 0);
    for (size_t i = 0; i < n; i++)
        s[i] = gauss(&r);
    assay_tdigest_add_batch(t, s, n);
    check_tails(t, s, n, "normal");
    assay_tdigest_free(t);
    free(s);
}

/* ---- ordered input, fed the way the profile feeds it ----
 *
 * The profile keeps one digest (delta 300) per column per chunk partial - tens of
 * thousands of rows, added in batches of up to 4096 - and merges the chunk digests in
 * stream order. Files are often sorted by a column the numbers correlate with (dates,
 * ids), so a column arrives sorted, nearly sorted, in restarting sorted runs or as a
 * trend under noise. Each shape is measured for one digest and for chunk digests of
 * 40,000 values merged in order, at every percentile p01..p99. */

#define ORD_DELTA 300.0 /* the profile's (ASSAY_PROFILE_TDIGEST_DELTA) */
#define ORD_BATCH 4096
#define ORD_CHUNK 40000

enum ord_shape {
    O_TREND,      /* sorted by date, price trends upward under noise */
    O_TREND_INT,  /* the same as whole numbers: many repeats */
    O_TREND_DESC, /* falling trend, whole numbers */
    O_ASC,        /* sorted ascending (lognormal) */
    O_DESC,       /* sorted descending (normal) */
    O_NEARLY,     /* sorted, then each value moved up to 64 places */
    O_SAW_LONG,   /* sorted runs spanning the range, restarting every 0.64 n */
    O_SAW_SHORT,  /* the same, restarting every 7001 values */
    O_SAW_INT,    /* restarting runs of whole numbers */
    O_GROUPS,     /* sorted by (group, date): each group trends within its own range */
    O_SHAPES
};

static const char *const ord_names[O_SHAPES] = {
    "trend + noise",         "trend + noise, integers", "falling trend, integers",
    "sorted ascending",      "sorted descending",       "nearly sorted",
    "sawtooth, long runs",   "sawtooth, short runs",    "sawtooth, integers",
    "groups, each trending",
};

static void make_ordered(enum ord_shape k, double *x, size_t n, uint64_t seed)
{
    rng r = { seed };
    size_t long_run = (size_t)(0.64 * (double)n);
    for (size_t i = 0; i < n; i++) {
        double f = (double)i / (double)n;
        switch (k) {
        case O_TREND:
            x[i] = 100.0 + 80.0 * f + 12.0 * gauss(&r);
            break;
        case O_TREND_INT:
            x[i] = round(20.0 + 30.0 * f + 4.0 * gauss(&r));
            break;
        case O_TREND_DESC:
            x[i] = round(500.0 - 300.0 * f + 10.0 * gauss(&r));
            break;
        case O_ASC:
            x[i] = exp(gauss(&r));
            break;
        case O_DESC:
        case O_NEARLY:
            x[i] = 50.0 + 10.0 * gauss(&r);
            break;
        case O_SAW_LONG:
            x[i] = 1000.0 * (double)(i % long_run) / (double)long_run + 2.0 * gauss(&r);
            break;
        case O_SAW_SHORT:
            x[i] = 1000.0 * (double)(i % 7001) / 7001.0 + 2.0 * gauss(&r);
            break;
        case O_SAW_INT:
            x[i] = floor(200.0 * (double)(i % long_run) / (double)long_run + gauss(&r));
            break;
        case O_GROUPS: {
            /* 8 groups of equal size; group g trends over [40 g mod 130, + 60] */
            size_t g = i * 8 / n;
            double gf = (double)(i - g * n / 8) / (double)(n / 8 + 1);
            x[i] = (double)((40 * g) % 130) + 60.0 * gf + 1.5 * gauss(&r);
            break;
        }
        default:
            x[i] = 0;
        }
    }
    if (k == O_ASC || k == O_NEARLY)
        qsort(x, n, sizeof(double), cmp_double);
    if (k == O_DESC)
        qsort(x, n, sizeof(double), cmp_desc);
    if (k == O_NEARLY)
        for (size_t i = 0; i + 64 < n; i++) {
            size_t j = i + rnd(&r) % 64;
            double t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
}

static void ord_feed(assay_tdigest *t, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i += ORD_BATCH)
        assay_tdigest_add_batch(t, x + i, n - i < ORD_BATCH ? n - i : ORD_BATCH);
}

/* Worst rank error over p01..p99 (quantile, and cdf at the exact answer), the error at
 * the named profile quantiles, and a failure message for the first one out of bounds. */
static int ord_check(assay_tdigest *t, const double *s, size_t n, const char *what, char *msg,
                     size_t msglen)
{
    static const int named[] = { 1, 5, 25, 50, 75, 95, 99 };
    double worst = 0, worst_cdf = 0;
    int worst_p = 0, bad = 0;
    char line[256];
    int at = snprintf(line, sizeof(line), "%-26s %-7zu", what, n);
    for (int p = 1; p <= 99; p++) {
        double q = p / 100.0;
        double v = assay_tdigest_quantile(t, q);
        double e = quantile_rank_error(s, n, q, v);
        double x = s[(size_t)(q * (double)n)];
        size_t lt, le;
        rank_range(s, n, x, &lt, &le);
        double ce = dist(assay_tdigest_cdf(t, x), (double)lt / (double)n, (double)le / (double)n);
        double bound = (p == 1 || p == 99) && n >= 10000 ? 0.0005 : 0.005;
        if (!bad && !(e <= bound && ce <= bound)) {
            snprintf(msg, msglen, "%s, n %zu: p%02d rank error %.4f%% (cdf %.4f%%), bound %.2f%%",
                     what, n, p, 100 * e, 100 * ce, 100 * bound);
            bad = 1;
        }
        if (e > worst) {
            worst = e;
            worst_p = p;
        }
        worst_cdf = ce > worst_cdf ? ce : worst_cdf;
        for (size_t k = 0; k < ASSAY_ARRAY_LEN(named); k++)
            if (named[k] == p && at < (int)sizeof(line))
                at += snprintf(line + at, sizeof(line) - (size_t)at, " %6.3f", 100 * e);
    }
    print_message("%s | worst %6.3f at p%02d, cdf %6.3f (%zu centroids)\n", line, 100 * worst,
                  worst_p, 100 * worst_cdf, assay_tdigest_centroids(t));
    return bad;
}

static void test_ordered_input(void **state)
{
    (void)state;
    static const size_t sizes[] = { 5000, 54000, 250000 };
    size_t nmax = 250000;
    double *x = malloc(nmax * sizeof(double)), *s = malloc(nmax * sizeof(double));
    assert_non_null(x);
    assert_non_null(s);
    char first[512] = "";
    int failures = 0;
    print_message("rank error %% at p01 p05 p25 p50 p75 p95 p99, delta %g, batches of %d; "
                  "single digest, then %d-value chunk digests merged in order\n",
                  ORD_DELTA, ORD_BATCH, ORD_CHUNK);
    for (int k = 0; k < O_SHAPES; k++) {
        for (size_t z = 0; z < ASSAY_ARRAY_LEN(sizes); z++) {
            size_t n = sizes[z];
            make_ordered((enum ord_shape)k, x, n, 500 + (uint64_t)k);
            memcpy(s, x, n * sizeof(double));
            qsort(s, n, sizeof(double), cmp_double);
            char what[64], msg[256];

            assay_tdigest *t;
            assert_int_equal(assay_tdigest_new(&t, ORD_DELTA), 0);
            ord_feed(t, x, n);
            snprintf(what, sizeof(what), "%s", ord_names[k]);
            if (ord_check(t, s, n, what, msg, sizeof(msg)) && failures++ == 0)
                snprintf(first, sizeof(first), "%s", msg);
            assay_tdigest_free(t);

            assay_tdigest *all;
            assert_int_equal(assay_tdigest_new(&all, ORD_DELTA), 0);
            for (size_t i = 0; i < n; i += ORD_CHUNK) {
                assay_tdigest *c;
                assert_int_equal(assay_tdigest_new(&c, ORD_DELTA), 0);
                ord_feed(c, x + i, n - i < ORD_CHUNK ? n - i : ORD_CHUNK);
                assert_int_equal(assay_tdigest_merge(all, c), 0);
                assay_tdigest_free(c);
            }
            snprintf(what, sizeof(what), "  chunks merged");
            if (ord_check(all, s, n, what, msg, sizeof(msg)) && failures++ == 0)
                snprintf(first, sizeof(first), "%s (%s)", msg, ord_names[k]);
            assert_int_equal(assay_tdigest_count(all), n);
            assay_tdigest_free(all);
        }
    }
    free(x);
    free(s);
    if (failures)
        fail_msg("%d ordered-input cases out of bounds; first: %s", failures, first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),           cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_single_value),    cmocka_unit_test(test_two_values),
        cmocka_unit_test(test_small_exact),     cmocka_unit_test(test_inf_nan),
        cmocka_unit_test(test_singleton_tails), cmocka_unit_test(test_monotone),
        cmocka_unit_test(test_deterministic),   cmocka_unit_test(test_large_delta),
        cmocka_unit_test(test_roundtrip),       cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_save_restore),    cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_strict_tails),    cmocka_unit_test(test_ordered_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
