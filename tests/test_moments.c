/* Tests for the streaming moments (src/sketch/moments.c) against an exact two-pass
 * computation done here in long double with Neumaier-compensated sums.
 *
 * Tolerances (rel = 1e-9 unless a test says otherwise), per quantity:
 *   n, min, max   exact
 *   mean          |got - exact| <= rel * (|mean| + sd)       sd = sqrt(M2 / n)
 *   M2, M4        |got - exact| <= rel * exact               (relative)
 *   M3            |got - exact| <= rel * sqrt(M2 * M4)       (M3 cancels; by Cauchy-Schwarz
 *                                                             |M3| <= sqrt(M2 M4) is its scale)
 * and the derived variance / skewness / kurtosis are checked against the estimators the
 * header documents, computed from the exact sums. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/moments.h"
#include "assay/sketch.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void) /* (0, 1) */
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
    return sqrt(-2.0 * log(unif())) * cos(6.283185307179586 * unif());
}

/* ---- exact reference ---- */

typedef struct exact {
    uint64_t n;
    long double mean, m2, m3, m4;
    double min, max;
} exact;

/* Neumaier-compensated long double sum. */
typedef struct nsum {
    long double s, c;
} nsum;

static void nsum_add(nsum *a, long double v)
{
    long double t = a->s + v;
    if (fabsl(a->s) >= fabsl(v))
        a->c += (a->s - t) + v;
    else
        a->c += (v - t) + a->s;
    a->s = t;
}

static long double nsum_get(const nsum *a)
{
    return a->s + a->c;
}

/* Two-pass exact moments over the finite values of x; min/max over non-NaN values. */
static exact exact_moments(const double *x, size_t n)
{
    exact e = { .min = INFINITY, .max = -INFINITY };
    nsum s = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        e.min = fmin(e.min, x[i]);
        e.max = fmax(e.max, x[i]);
        if (isinf(x[i]))
            continue;
        nsum_add(&s, x[i]);
        e.n++;
    }
    if (e.n == 0)
        return e;
    long double mean = nsum_get(&s) / (long double)e.n;
    nsum s1 = { 0, 0 }, s2 = { 0, 0 }, s3 = { 0, 0 }, s4 = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        long double d = (long double)x[i] - mean;
        nsum_add(&s1, d);
        nsum_add(&s2, d * d);
        nsum_add(&s3, d * d * d);
        nsum_add(&s4, d * d * d * d);
    }
    long double c = (long double)e.n, g = nsum_get(&s1) / c;
    long double S2 = nsum_get(&s2), S3 = nsum_get(&s3), S4 = nsum_get(&s4);
    e.mean = mean + g;
    e.m2 = S2 - c * g * g;
    e.m3 = S3 - 3 * g * S2 + 2 * c * g * g * g;
    e.m4 = S4 - 4 * g * S3 + 6 * g * g * S2 - 3 * c * g * g * g * g;
    return e;
}

static void check_close(const char *what, const char *name, double got, long double want,
                        long double scale, double rel)
{
    long double diff = fabsl((long double)got - want);
    if (!(diff <= rel * scale)) {
        print_error("%s: %s = %.17g, exact %.17Lg, |diff| %.3Lg > %.3g * scale %.6Lg\n", what, name,
                    got, want, diff, rel, scale);
        fail();
    }
}

static void check_moments(const char *what, const assay_moments *m, const exact *e, double rel)
{
    assert_int_equal(m->n, e->n);
    if (m->min != e->min || m->max != e->max) {
        print_error("%s: min/max %.17g %.17g, exact %.17g %.17g\n", what, m->min, m->max, e->min,
                    e->max);
        fail();
    }
    if (e->n == 0)
        return;
    long double sd = sqrtl(e->m2 / (long double)e->n);
    check_close(what, "mean", m->mean, e->mean, fabsl(e->mean) + sd, rel);
    check_close(what, "M2", m->m2, e->m2, e->m2, rel);
    check_close(what, "M3", m->m3, e->m3, sqrtl(e->m2 * e->m4), rel);
    check_close(what, "M4", m->m4, e->m4, e->m4, rel);
    long double c = (long double)e->n;
    if (e->n >= 2) {
        long double var = e->m2 / (c - 1);
        check_close(what, "variance", assay_moments_variance(m), var, var, rel);
        check_close(what, "stddev", assay_moments_stddev(m), sqrtl(var), sqrtl(var), rel);
    }
    if (e->n >= 4 && e->m2 > 0) {
        long double g1 = sqrtl(c) * e->m3 / powl(e->m2, 1.5L);
        long double g2 = c * e->m4 / (e->m2 * e->m2) - 3;
        /* g1 inherits M3's scale: |dg1| <= rel * sqrt(n M4) / M2 = rel * sqrt(g2 + 3). */
        check_close(what, "skewness", assay_moments_skewness(m), g1, 3 * sqrtl(g2 + 3), rel);
        check_close(what, "kurtosis", assay_moments_kurtosis(m), g2, 3 * (g2 + 3), rel);
    }
}

/* ---- data sets ---- */

enum dist { D_UNIFORM, D_NORMAL, D_LOGNORMAL, D_OFFSET, D_OFFSET12, D_CONSTANT, D_NDIST };
static const char *const dist_name[] = { "uniform(0,1)", "N(5,2)",        "lognormal(0,1)",
                                         "1e9 + N(0,1)", "1e12 + N(0,1)", "constant 3.25" };

static double draw(enum dist d)
{
    switch (d) {
    case D_UNIFORM:
        return unif();
    case D_NORMAL:
        return 5.0 + 2.0 * normal();
    case D_LOGNORMAL:
        return exp(normal());
    case D_OFFSET:
        return 1e9 + normal();
    case D_OFFSET12:
        return 1e12 + normal();
    default:
        return 3.25;
    }
}

static double *make(enum dist d, size_t n)
{
    double *x = malloc(n * sizeof(double) + 1);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = draw(d);
    return x;
}

#define N_BIG 100000

/* ---- tests ---- */

static void test_empty(void **state)
{
    (void)state;
    assay_moments m;
    assay_moments_init(&m);
    assert_int_equal(m.n, 0);
    assert_true(m.min == INFINITY && m.max == -INFINITY);
    assert_true(isnan(assay_moments_variance(&m)));
    assert_true(isnan(assay_moments_stddev(&m)));
    assert_true(isnan(assay_moments_skewness(&m)));
    assert_true(isnan(assay_moments_kurtosis(&m)));
    assay_moments_add_batch(&m, NULL, 0);
    assert_int_equal(m.n, 0);
    assert_true(m.mean == 0.0 && m.m2 == 0.0);
    /* Merging an empty one changes nothing. */
    assay_moments a;
    assay_moments_init(&a);
    assay_moments_add(&a, 2.5);
    assay_moments_merge(&a, &m);
    assert_int_equal(a.n, 1);
    assert_true(a.mean == 2.5 && a.m2 == 0.0 && a.min == 2.5 && a.max == 2.5);
    assay_moments_merge(&m, &a);
    assert_int_equal(m.n, 1);
    assert_true(m.mean == 2.5 && m.min == 2.5 && m.max == 2.5);
}

/* n = 1, 2, 3, 4 by hand: which estimator is NaN when, and the exact values. */
static void test_small_n(void **state)
{
    (void)state;
    static const double v[] = { 1.0, 2.0, 6.0, 7.0 };
    for (int batch = 0; batch < 2; batch++) {
        assay_moments m;
        assay_moments_init(&m);
        /* n = 1 */
        if (batch)
            assay_moments_add_batch(&m, v, 1);
        else
            assay_moments_add(&m, v[0]);
        assert_true(m.mean == 1.0 && m.m2 == 0.0 && m.m3 == 0.0 && m.m4 == 0.0);
        assert_true(isnan(assay_moments_variance(&m)));
        /* n = 3: {1, 2, 6}: deviations -2, -1, 3 */
        assay_moments_init(&m);
        if (batch)
            assay_moments_add_batch(&m, v, 3);
        else
            for (int i = 0; i < 3; i++)
                assay_moments_add(&m, v[i]);
        assert_int_equal(m.n, 3);
        assert_float_equal(m.mean, 3.0, 1e-15);
        assert_float_equal(m.m2, 14.0, 1e-13);
        assert_float_equal(m.m3, 18.0, 1e-13);
        assert_float_equal(m.m4, 98.0, 1e-12);
        assert_float_equal(assay_moments_variance(&m), 7.0, 1e-14);
        assert_float_equal(assay_moments_skewness(&m), sqrt(3.0) * 18.0 / pow(14.0, 1.5), 1e-14);
        assert_true(isnan(assay_moments_kurtosis(&m))); /* n < 4 */
        /* n = 4: {1, 2, 6, 7}: mean 4, deviations -3, -2, 2, 3 */
        if (batch)
            assay_moments_add_batch(&m, v + 3, 1);
        else
            assay_moments_add(&m, v[3]);
        assert_float_equal(m.mean, 4.0, 1e-15);
        assert_float_equal(m.m2, 26.0, 1e-13);
        assert_float_equal(m.m3, 0.0, 1e-12);
        assert_float_equal(m.m4, 194.0, 1e-12);
        assert_float_equal(assay_moments_variance(&m), 26.0 / 3.0, 1e-14);
        assert_float_equal(assay_moments_skewness(&m), 0.0, 1e-14);
        /* g2 = n M4 / M2^2 - 3 (population form, not the sample-adjusted G2) */
        assert_float_equal(assay_moments_kurtosis(&m), 4.0 * 194.0 / (26.0 * 26.0) - 3.0, 1e-14);
        assert_true(m.min == 1.0 && m.max == 7.0);
    }
    /* n = 2: skewness needs 3 values. */
    assay_moments m;
    assay_moments_init(&m);
    assay_moments_add(&m, 1.0);
    assay_moments_add(&m, 3.0);
    assert_float_equal(assay_moments_variance(&m), 2.0, 1e-15);
    assert_float_equal(assay_moments_stddev(&m), sqrt(2.0), 1e-15);
    assert_true(isnan(assay_moments_skewness(&m)));
    assert_true(isnan(assay_moments_kurtosis(&m)));
}

static void test_constant(void **state)
{
    (void)state;
    double *x = make(D_CONSTANT, 1000);
    assay_moments a, b;
    assay_moments_init(&a);
    assay_moments_init(&b);
    for (size_t i = 0; i < 1000; i++)
        assay_moments_add(&a, x[i]);
    assay_moments_add_batch(&b, x, 1000);
    assay_moments *ms[2] = { &a, &b };
    for (int k = 0; k < 2; k++) {
        assay_moments *m = ms[k];
        assert_int_equal(m->n, 1000);
        assert_true(m->mean == 3.25);
        assert_true(m->m2 == 0.0 && m->m3 == 0.0 && m->m4 == 0.0);
        assert_true(assay_moments_variance(m) == 0.0);
        assert_true(isnan(assay_moments_skewness(m))); /* undefined for a point mass */
        assert_true(isnan(assay_moments_kurtosis(m)));
    }
    free(x);
}

/* Single adds, one batch, and batches of odd sizes, against the exact result. */
static void test_vs_exact(void **state)
{
    (void)state;
    for (int d = 0; d < D_NDIST; d++) {
        double *x = make((enum dist)d, N_BIG);
        exact e = exact_moments(x, N_BIG);
        char what[96];

        assay_moments m;
        assay_moments_init(&m);
        assay_moments_add_batch(&m, x, N_BIG);
        snprintf(what, sizeof(what), "%s, one batch", dist_name[d]);
        check_moments(what, &m, &e, 1e-9);

        assay_moments_init(&m);
        for (size_t i = 0; i < N_BIG;) {
            size_t len = ASSAY_MIN((size_t)(rnd() % 5000), N_BIG - i);
            assay_moments_add_batch(&m, x + i, len);
            i += len;
        }
        snprintf(what, sizeof(what), "%s, batches of 0..4999", dist_name[d]);
        check_moments(what, &m, &e, 1e-9);

        assay_moments_init(&m);
        for (size_t i = 0; i < N_BIG; i++)
            assay_moments_add(&m, x[i]);
        snprintf(what, sizeof(what), "%s, single adds", dist_name[d]);
        /* (Without the double-double mean this fails on the offset data at ~3e-8.) */
        check_moments(what, &m, &e, 1e-9);
        free(x);
    }
}

/* add and add_batch agree to 1e-12 (relative, same scales as above). */
static void test_add_vs_batch(void **state)
{
    (void)state;
    enum dist ds[] = { D_UNIFORM, D_NORMAL, D_LOGNORMAL, D_OFFSET, D_OFFSET12 };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(ds); k++) {
        size_t n = 20000 + (size_t)k * 777;
        double *x = make(ds[k], n);
        assay_moments a, b;
        assay_moments_init(&a);
        assay_moments_init(&b);
        for (size_t i = 0; i < n; i++)
            assay_moments_add(&a, x[i]);
        assay_moments_add_batch(&b, x, n);
        /* Use b as the reference. */
        exact e = {
            .n = b.n, .mean = b.mean, .m2 = b.m2, .m3 = b.m3, .m4 = b.m4, .min = b.min, .max = b.max
        };
        char what[96];
        snprintf(what, sizeof(what), "%s: add vs add_batch", dist_name[ds[k]]);
        check_moments(what, &a, &e, 1e-12);
        free(x);
    }
}

/* Split the data at random points into up to 16 parts, summarise each part (by single
 * adds or batches, chosen at random), merge in random order: equals the whole. */
static void test_merge_splits(void **state)
{
    (void)state;
    for (int d = 0; d < D_NDIST; d++) {
        size_t n = 30000;
        double *x = make((enum dist)d, n);
        exact e = exact_moments(x, n);
        assay_moments whole;
        assay_moments_init(&whole);
        assay_moments_add_batch(&whole, x, n);
        for (int trial = 0; trial < 20; trial++) {
            size_t cuts[17];
            int parts = 1 + (int)(rnd() % 16);
            cuts[0] = 0;
            cuts[parts] = n;
            for (int i = 1; i < parts; i++)
                cuts[i] = rnd() % (n + 1);
            /* sort the cuts (insertion sort; parts <= 16) */
            for (int i = 1; i < parts; i++)
                for (int j = i; j > 1 && cuts[j] < cuts[j - 1]; j--) {
                    size_t t = cuts[j];
                    cuts[j] = cuts[j - 1];
                    cuts[j - 1] = t;
                }
            assay_moments part[16];
            for (int i = 0; i < parts; i++) {
                assay_moments_init(&part[i]);
                if (rnd() & 1) {
                    assay_moments_add_batch(&part[i], x + cuts[i], cuts[i + 1] - cuts[i]);
                } else {
                    for (size_t j = cuts[i]; j < cuts[i + 1]; j++)
                        assay_moments_add(&part[i], x[j]);
                }
            }
            /* merge in a random order, into a random part */
            int order[16];
            for (int i = 0; i < parts; i++)
                order[i] = i;
            for (int i = parts - 1; i > 0; i--) {
                int j = (int)(rnd() % (uint64_t)(i + 1));
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            assay_moments acc = part[order[0]];
            for (int i = 1; i < parts; i++)
                assay_moments_merge(&acc, &part[order[i]]);
            char what[96];
            snprintf(what, sizeof(what), "%s: merge of %d parts (trial %d)", dist_name[d], parts,
                     trial);
            check_moments(what, &acc, &e, 1e-9);
        }
        /* Merging two halves made by batches: exact to 1e-9 even with the offset. */
        assay_moments h1, h2;
        assay_moments_init(&h1);
        assay_moments_init(&h2);
        assay_moments_add_batch(&h1, x, n / 3);
        assay_moments_add_batch(&h2, x + n / 3, n - n / 3);
        assay_moments_merge(&h1, &h2);
        check_moments(dist_name[d], &h1, &e, 1e-9);
        free(x);
    }
}

/* NaN is skipped: the same data with NaNs sprinkled in gives the same result. */
static void test_nan_ignored(void **state)
{
    (void)state;
    size_t n = 5000, m = 0;
    double *x = make(D_NORMAL, n);
    double *y = malloc(2 * n * sizeof(double));
    assert_non_null(y);
    for (size_t i = 0; i < n; i++) {
        if (rnd() % 3 == 0)
            y[m++] = (rnd() & 1) ? NAN : -NAN;
        y[m++] = x[i];
    }
    y[m++] = NAN;
    assay_moments a, b, c;
    assay_moments_init(&a);
    assay_moments_init(&b);
    assay_moments_init(&c);
    for (size_t i = 0; i < n; i++)
        assay_moments_add(&a, x[i]);
    for (size_t i = 0; i < m; i++)
        assay_moments_add(&b, y[i]);
    assay_moments_add_batch(&c, y, m);
    /* single adds: bit for bit */
    assert_memory_equal(&a, &b, sizeof(a));
    exact e = exact_moments(x, n);
    check_moments("NaN sprinkled, batch", &c, &e, 1e-9);
    check_moments("NaN sprinkled, single adds", &b, &e, 1e-9);
    /* all NaN */
    assay_moments z;
    assay_moments_init(&z);
    double nans[11];
    for (int i = 0; i < 11; i++)
        nans[i] = NAN;
    assay_moments_add_batch(&z, nans, 11);
    assay_moments_add(&z, NAN);
    assert_int_equal(z.n, 0);
    assert_true(z.min == INFINITY && z.max == -INFINITY);
    free(x);
    free(y);
}

/* +-inf: counted in min/max only; n, mean and the central sums describe the finite
 * values (documented in moments.c). */
static void test_infinities(void **state)
{
    (void)state;
    double v[] = { 1.0, INFINITY, 2.0, -INFINITY, 6.0, NAN, INFINITY };
    for (int batch = 0; batch < 2; batch++) {
        assay_moments m;
        assay_moments_init(&m);
        if (batch)
            assay_moments_add_batch(&m, v, ASSAY_ARRAY_LEN(v));
        else
            for (size_t i = 0; i < ASSAY_ARRAY_LEN(v); i++)
                assay_moments_add(&m, v[i]);
        assert_int_equal(m.n, 3);
        assert_float_equal(m.mean, 3.0, 1e-15);
        assert_float_equal(m.m2, 14.0, 1e-13);
        assert_true(m.min == -INFINITY);
        assert_true(m.max == INFINITY);
        assert_true(isfinite(assay_moments_stddev(&m)));
    }
    /* Only +inf: n stays 0, min = max = +inf. */
    assay_moments m;
    assay_moments_init(&m);
    assay_moments_add(&m, INFINITY);
    double pinf = INFINITY;
    assay_moments_add_batch(&m, &pinf, 1);
    assert_int_equal(m.n, 0);
    assert_true(m.min == INFINITY && m.max == INFINITY);
    assert_true(m.mean == 0.0);
    /* ... and it merges: max stays +inf, min comes from the finite side. */
    assay_moments f;
    assay_moments_init(&f);
    assay_moments_add(&f, -2.0);
    assay_moments_merge(&f, &m);
    assert_int_equal(f.n, 1);
    assert_true(f.min == -2.0 && f.max == INFINITY && f.mean == -2.0);
    /* Huge finite values are still finite (not mistaken for inf). */
    assay_moments h;
    assay_moments_init(&h);
    double big[3] = { DBL_MAX, -DBL_MAX, 0.0 };
    assay_moments_add_batch(&h, big, 3);
    assert_int_equal(h.n, 3);
    assert_true(h.min == -DBL_MAX && h.max == DBL_MAX);
}

/* ---- serialization ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(p, v);
}

static void test_serialize_roundtrip(void **state)
{
    (void)state;
    assay_moments ms[4];
    for (int i = 0; i < 4; i++)
        assay_moments_init(&ms[i]);
    assay_moments_add(&ms[1], 42.0);
    double *x = make(D_LOGNORMAL, 1000);
    assay_moments_add_batch(&ms[2], x, 1000);
    assay_moments_add(&ms[3], INFINITY); /* n = 0, min = max = +inf */
    for (int i = 0; i < 4; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        assert_int_equal(assay_moments_serialize(&ms[i], &buf, &len), 0);
        assert_int_equal(len, 16 + 64);
        assert_memory_equal(buf, "ASK1", 4);
        assert_int_equal(buf[4], ASSAY_SKETCH_MOMENTS);
        assay_moments back;
        assay_error err = { 0 };
        int rc = assay_moments_deserialize(buf, len, &back, &err);
        if (rc != 0)
            print_error("case %d: %s\n", i, err.msg);
        assert_int_equal(rc, 0);
        assert_memory_equal(&back, &ms[i], sizeof(back));
        free(buf);
    }
    free(x);
}

struct corrupt_case {
    const char *name;
    int field;    /* payload offset / 8 of the field to overwrite, -1: header byte */
    double value; /* new value (f64 fields) */
    uint64_t u;   /* new value for n (field 0) */
    const char *expect;
};

static void test_serialize_corrupt(void **state)
{
    (void)state;
    assay_moments m;
    assay_moments_init(&m);
    double v[] = { 1.0, 2.0, 6.0, 7.0 };
    assay_moments_add_batch(&m, v, 4);
    uint8_t *good = NULL;
    size_t len = 0;
    assert_int_equal(assay_moments_serialize(&m, &good, &len), 0);
    assay_error err;

    /* Every truncation, and one byte too many. */
    for (size_t l = 0; l < len; l++) {
        uint8_t *t = malloc(l ? l : 1); /* exact-size copies so ASan sees overreads */
        memcpy(t, good, l);
        memset(&err, 0, sizeof(err));
        assay_moments out;
        int rc = assay_moments_deserialize(l ? t : NULL, l, &out, &err);
        if (rc != -EINVAL)
            print_error("truncated to %zu bytes: rc %d\n", l, rc);
        assert_int_equal(rc, -EINVAL);
        assert_true(strlen(err.msg) > 0);
        free(t);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, good, len);
    longer[len] = 0;
    assay_moments out;
    memset(&err, 0, sizeof(err));
    assert_int_equal(assay_moments_deserialize(longer, len + 1, &out, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "payload"));
    /* ... even when the header's length agrees with the longer input */
    put_u64(longer + 8, 65);
    memset(&err, 0, sizeof(err));
    assert_int_equal(assay_moments_deserialize(longer, len + 1, &out, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "expected 64"));
    free(longer);

    /* Header bytes. */
    static const struct {
        int off;
        uint8_t val;
        const char *expect;
    } hdr[] = {
        { 0, 'X', "magic" },     { 3, '2', "magic" },        { 4, ASSAY_SKETCH_TOPK, "kind" },
        { 5, 2, "version" },     { 5, 0, "version" },        { 6, 1, "reserved" },
        { 7, 0x80, "reserved" }, { 8, 55, "payload bytes" }, { 15, 1, "payload bytes" },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(hdr); i++) {
        uint8_t *t = malloc(len);
        memcpy(t, good, len);
        t[hdr[i].off] = hdr[i].val;
        memset(&err, 0, sizeof(err));
        int rc = assay_moments_deserialize(t, len, &out, &err);
        if (rc != -EINVAL || !strstr(err.msg, hdr[i].expect))
            print_error("header byte %d = %u: rc %d, message \"%s\", expected \"%s\"\n", hdr[i].off,
                        hdr[i].val, rc, err.msg, hdr[i].expect);
        assert_int_equal(rc, -EINVAL);
        assert_non_null(strstr(err.msg, hdr[i].expect));
        assert_non_null(strstr(err.msg, "moments"));
        free(t);
    }

    /* Payload fields out of range. Fields: 0 n, 1 mean, 2 M2, 3 M3, 4 M4, 5 min, 6 max. */
    static const struct corrupt_case cases[] = {
        { "NaN mean", 1, NAN, 0, "not finite" },
        { "inf M2", 2, INFINITY, 0, "not finite" },
        { "NaN M3", 3, NAN, 0, "not finite" },
        { "-inf M4", 4, -INFINITY, 0, "not finite" },
        { "negative M2", 2, -1.0, 0, "negative" },
        { "negative M4", 4, -1e-300, 0, "negative" },
        { "NaN min", 5, NAN, 0, "NaN" },
        { "NaN max", 6, NAN, 0, "NaN" },
        { "min > max", 5, 8.0, 0, "> max" },
        { "mean above max", 1, 7.5, 0, "outside" },
        { "mean below min", 1, 0.5, 0, "outside" },
        { "n = 0 with moments", 0, 0, 0, "n = 0" },
        { "n = 1 with M2", 0, 0, 1, "n = 1" },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        uint8_t *t = malloc(len);
        memcpy(t, good, len);
        uint8_t *f = t + 16 + 8 * cases[i].field;
        if (cases[i].field == 0)
            put_u64(f, cases[i].u);
        else
            put_f64(f, cases[i].value);
        memset(&err, 0, sizeof(err));
        int rc = assay_moments_deserialize(t, len, &out, &err);
        if (rc != -EINVAL || !strstr(err.msg, cases[i].expect))
            print_error("%s: rc %d, message \"%s\", expected \"%s\"\n", cases[i].name, rc, err.msg,
                        cases[i].expect);
        assert_int_equal(rc, -EINVAL);
        assert_non_null(strstr(err.msg, cases[i].expect));
        free(t);
    }

    /* n = 0 states: the empty sketch is fine, a finite min is not. */
    assay_moments z;
    assay_moments_init(&z);
    uint8_t *zb = NULL;
    size_t zl = 0;
    assert_int_equal(assay_moments_serialize(&z, &zb, &zl), 0);
    assert_int_equal(assay_moments_deserialize(zb, zl, &out, &err), 0);
    put_f64(zb + 16 + 40, 1.0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(assay_moments_deserialize(zb, zl, &out, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "finite value"));
    free(zb);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_small_n),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_vs_exact),
        cmocka_unit_test(test_add_vs_batch),
        cmocka_unit_test(test_merge_splits),
        cmocka_unit_test(test_nan_ignored),
        cmocka_unit_test(test_infinities),
        cmocka_unit_test(test_serialize_roundtrip),
        cmocka_unit_test(test_serialize_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
