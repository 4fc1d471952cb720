/* Streaming isolation forest (src/sketch/iforest.c): c(n) against the exact harmonic
 * sum, the height limit and bookkeeping of every flat tree, determinism for a seed and
 * independence from batch cuts, not-ready before the window fills, planted anomalies
 * ranking above normal rows (ROC AUC floors that random or inverted scores fail),
 * following drift through refreshes, the contamination threshold, nulls, and option
 * checks.
 *
 * Also a small driver for experiments with options the config does not expose (the
 * refresh fraction); tools/iforest_auc.py measures the product through `assay check`:
 *   test_iforest --score FILE.csv [SEED [refresh N] [fraction F] [window W] [trees T]
 *                                      [sample S]]
 * reads a CSV with a header and a label as the last column, feeds the feature columns
 * through a forest (default options unless given; empty field = null) and prints one
 * score per data row ("nan" while not ready). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/iforest.h"

/* ------------------------------------------------------------------------------ */
/* Generated data                                                                  */
/* ------------------------------------------------------------------------------ */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next64(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(rng *r)
{
    return ((double)(next64(r) >> 11) + 0.5) * 0x1.0p-53;
}

static double gauss(rng *r)
{
    return sqrt(-2 * log(unit(r))) * cos(6.283185307179586 * unit(r));
}

/* n rows of d features: a mixture of 3 Gaussian clusters (sd 1, centres in [-5, 5]^d),
 * shifted by `drift * i / n` on every feature at row i; with probability `rate` a row
 * is an anomaly instead, uniform in the box [-12, 12]^d around the current shift but
 * at least 4.5 from every cluster centre. labels[i] = 1 for anomalies. */
static void make_data(double *rows, int *labels, size_t n, size_t d, double rate, double drift,
                      uint64_t seed)
{
    rng r = { seed };
    double centre[3][32];
    for (int c = 0; c < 3; c++)
        for (size_t j = 0; j < d; j++)
            centre[c][j] = -5 + 10 * unit(&r);
    for (size_t i = 0; i < n; i++) {
        double shift = drift * (double)i / (double)n;
        double *x = rows + i * d;
        if (unit(&r) < rate) {
            labels[i] = 1;
            for (;;) {
                for (size_t j = 0; j < d; j++)
                    x[j] = -12 + 24 * unit(&r);
                double best = INFINITY;
                for (int c = 0; c < 3; c++) {
                    double s = 0;
                    for (size_t j = 0; j < d; j++)
                        s += (x[j] - centre[c][j]) * (x[j] - centre[c][j]);
                    best = s < best ? s : best;
                }
                if (best >= 4.5 * 4.5)
                    break;
            }
        } else {
            labels[i] = 0;
            int c = (int)(unit(&r) * 3);
            for (size_t j = 0; j < d; j++)
                x[j] = centre[c][j] + gauss(&r);
        }
        for (size_t j = 0; j < d; j++)
            x[j] += shift;
    }
}

typedef struct scored {
    double s;
    int label;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

/* ROC AUC of scores (higher = more anomalous) against labels over rows [from, to),
 * skipping NaN scores: the Mann-Whitney statistic with average ranks for ties. */
static double auc(const double *scores, const int *labels, size_t from, size_t to)
{
    scored *v = malloc((to - from) * sizeof(*v));
    size_t m = 0;
    for (size_t i = from; i < to; i++)
        if (!isnan(scores[i]))
            v[m++] = (scored){ scores[i], labels[i] };
    qsort(v, m, sizeof(*v), cmp_scored);
    double pos = 0, neg = 0, ranksum = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && v[j].s == v[i].s)
            j++;
        double rank = 0.5 * (double)(i + 1 + j); /* average of ranks i+1..j */
        for (size_t k = i; k < j; k++)
            if (v[k].label)
                ranksum += rank;
        i = j;
    }
    for (size_t i = 0; i < m; i++) {
        if (v[i].label)
            pos++;
        else
            neg++;
    }
    free(v);
    if (pos == 0 || neg == 0)
        return NAN;
    return (ranksum - pos * (pos + 1) / 2) / (pos * neg);
}

static assay_iforest *forest(size_t d, uint64_t seed)
{
    assay_iforest_options o;
    assay_iforest_options_default(&o, d);
    o.seed = seed;
    assay_iforest *f = NULL;
    assay_error err = { 0 };
    int rc = assay_iforest_new(&f, &o, &err);
    assert_int_equal(rc, 0);
    return f;
}

/* ------------------------------------------------------------------------------ */
/* Tests                                                                           */
/* ------------------------------------------------------------------------------ */

static double c_exact(unsigned n)
{
    if (n <= 1)
        return 0;
    double h = 0;
    for (unsigned i = 1; i <= n - 1; i++)
        h += 1.0 / i;
    return 2 * h - 2.0 * (n - 1) / n;
}

static void test_c(void **state)
{
    (void)state;
    assert_true(assay_iforest_c(0) == 0);
    assert_true(assay_iforest_c(1) == 0);
    assert_true(assay_iforest_c(2) == 1);
    /* the paper's (and sklearn's) value: ln(255) + gamma for H(255) */
    assert_float_equal(assay_iforest_c(256), 10.2448, 1e-4);
    /* the exact harmonic sum differs from ln(i) + gamma by about 1/(2i) */
    unsigned ns[] = { 3, 4, 10, 64, 256, 1000, 65536 };
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        double ex = c_exact(ns[i]), ap = assay_iforest_c(ns[i]);
        double tol = 1.0 / (ns[i] - 1) + 1e-9;
        if (fabs(ex - ap) > tol)
            fail_msg("c(%u) = %.6f, exact harmonic %.6f, |diff| > %.6f", ns[i], ap, ex, tol);
    }
    assert_float_equal(c_exact(256), 10.2490, 1e-3);
}

/* Walk tree t from node k: check structure; returns number of rows below. */
static uint32_t walk(const assay_iforest_tree_view *v, uint32_t k, unsigned depth, unsigned limit,
                     size_t d, unsigned *maxdepth)
{
    assert_true(k < v->nodes);
    if (v->left[k] == k) { /* external */
        if (depth > limit)
            fail_msg("external node %u at depth %u > height limit %u", k, depth, limit);
        assert_true(isinf(v->split[k]));
        assert_float_equal(v->path[k], depth + assay_iforest_c(v->size[k]), 1e-4);
        *maxdepth = depth > *maxdepth ? depth : *maxdepth;
        return v->size[k];
    }
    assert_true(v->left[k] > k);
    assert_true(v->left[k] + 1 < v->nodes);
    assert_true(v->feature[k] < d);
    assert_true(isfinite(v->split[k]));
    uint32_t a = walk(v, v->left[k], depth + 1, limit, d, maxdepth);
    uint32_t b = walk(v, v->left[k] + 1, depth + 1, limit, d, maxdepth);
    assert_true(a > 0 && b > 0); /* a split separates */
    assert_int_equal(a + b, v->size[k]);
    return a + b;
}

static void test_tree_shape(void **state)
{
    (void)state;
    size_t d = 3, n = 2048 + 30000; /* initial forest and three refreshes */
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    make_data(rows, labels, n, d, 0.02, 0, 7);
    /* a sample size that is not a power of two, and the default */
    unsigned samples[] = { 100, 256 };
    for (size_t s = 0; s < 2; s++) {
        assay_iforest_options o;
        assay_iforest_options_default(&o, d);
        o.sample = samples[s];
        o.refresh = 10000;
        assay_iforest *f = NULL;
        assert_int_equal(assay_iforest_new(&f, &o, NULL), 0);
        unsigned limit = (unsigned)ceil(log2(samples[s]));
        assert_int_equal(assay_iforest_height_limit(f), limit);
        assay_iforest_tree_view v;
        assert_int_equal(assay_iforest_tree(f, 0, &v), -EAGAIN);
        assert_int_equal(assay_iforest_process(f, rows, n, NULL, NULL), 0);
        assert_int_equal(assay_iforest_tree(f, o.trees, &v), -EINVAL);
        unsigned deepest = 0;
        for (unsigned t = 0; t < assay_iforest_trees(f); t++) {
            assert_int_equal(assay_iforest_tree(f, t, &v), 0);
            assert_true(v.nodes <= 2 * samples[s]);
            unsigned md = 0;
            assert_int_equal(walk(&v, 0, 0, limit, d, &md), samples[s]);
            deepest = md > deepest ? md : deepest;
        }
        /* the limit is reached (the walk checks it is never exceeded) */
        assert_int_equal(deepest, limit);
        assay_iforest_free(f);
    }
    free(rows);
    free(labels);
}

static void test_determinism(void **state)
{
    (void)state;
    size_t d = 4, n = 15000;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b)), *c = malloc(n * sizeof(*c));
    make_data(rows, labels, n, d, 0.01, 0, 11);
    assay_iforest *fa = forest(d, 5), *fb = forest(d, 5), *fc = forest(d, 6);
    uint64_t *fla = calloc((n + 63) / 64, 8);
    assert_int_equal(assay_iforest_process(fa, rows, n, a, fla), 0);
    /* same seed, stream cut into uneven batches: identical scores and flags */
    size_t flagged = 0;
    for (size_t i = 0; i < n;) {
        size_t m = 1 + (i * 7919) % 333;
        m = m < n - i ? m : n - i;
        uint64_t flb[6];
        memset(flb, 0xa5, sizeof(flb)); /* process() sets or clears every bit */
        assert_int_equal(assay_iforest_process(fb, rows + i * d, m, b + i, flb), 0);
        for (size_t r = 0; r < m; r++) {
            bool x = (fla[(i + r) >> 6] >> ((i + r) & 63)) & 1, y = (flb[r >> 6] >> (r & 63)) & 1;
            if (x != y)
                fail_msg("row %zu: flag %d in one call, %d in batches", i + r, x, y);
            flagged += x;
        }
        i += m;
    }
    free(fla);
    /* flags start once a threshold exists and then mark about contamination (1 %) */
    double share = (double)flagged / (double)(n - 2048 - 1024);
    print_message("flagged %zu rows (%.4f of those after the first threshold)\n", flagged, share);
    if (share < 0.005 || share > 0.02)
        fail_msg("%.4f of the rows flagged, want about 0.01", share);
    assert_int_equal(assay_iforest_process(fc, rows, n, c, NULL), 0);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&a[i], &b[i], sizeof(double)) != 0)
            fail_msg("row %zu: %.17g vs %.17g with the same seed", i, a[i], b[i]);
        if (!isnan(a[i]) && a[i] != c[i])
            differ++;
    }
    /* another seed grows other trees: most scores differ */
    if (differ < (n - 2048) / 2)
        fail_msg("only %zu of %zu ready scores differ between seeds 5 and 6", differ, n - 2048);
    assay_iforest_free(fa);
    assay_iforest_free(fb);
    assay_iforest_free(fc);
    free(rows);
    free(labels);
    free(a);
    free(b);
    free(c);
}

/* A forest saved halfway through a stream and restored scores and learns the rest
 * exactly like the original; corrupted forms are rejected, never read. */
static void test_serialize(void **state)
{
    (void)state;
    size_t d = 3, n = 9000, half = 4321;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
    make_data(rows, labels, n, d, 0.01, 0, 21);
    assay_iforest_options o;
    assay_iforest_options_default(&o, d);
    o.seed = 9;
    o.refresh = 500;
    assay_iforest *fa = NULL, *fb = NULL;
    assert_int_equal(assay_iforest_new(&fa, &o, NULL), 0);
    /* every state on the way round-trips, the learning ones before the window fills
     * included (their trees are still zeros) */
    assay_error err = { 0 };
    for (size_t at = 0; at < half;) {
        size_t step = at < 2100 ? 700 : 997;
        step = ASSAY_MIN(step, half - at);
        assert_int_equal(assay_iforest_process(fa, rows + at * d, step, a + at, NULL), 0);
        at += step;
        uint8_t *tb = NULL;
        size_t tl = 0;
        assay_iforest *x = NULL;
        assert_int_equal(assay_iforest_serialize(fa, &tb, &tl), 0);
        if (assay_iforest_deserialize(tb, tl, &x, &err) != 0)
            fail_msg("a forest after %zu rows does not restore: %s", at, err.msg);
        assay_iforest_free(x);
        free(tb);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(assay_iforest_serialize(fa, &buf, &len), 0);
    if (assay_iforest_deserialize(buf, len, &fb, &err) != 0)
        fail_msg("restore: %s", err.msg);
    assert_int_equal(assay_iforest_rows(fb), half);
    assert_int_equal(assay_iforest_process(fa, rows + half * d, n - half, a + half, NULL), 0);
    assert_int_equal(assay_iforest_process(fb, rows + half * d, n - half, b + half, NULL), 0);
    for (size_t i = half; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(double)) != 0)
            fail_msg("row %zu: %.17g from the original, %.17g from the restored forest", i, a[i],
                     b[i]);
    assert_int_equal(assay_iforest_judged(fa), assay_iforest_judged(fb));
    double ta, tb;
    assert_int_equal(assay_iforest_flag_threshold(fa, &ta), 0);
    assert_int_equal(assay_iforest_flag_threshold(fb, &tb), 0);
    assert_true(ta == tb);
    /* every truncation is rejected */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
        assay_iforest *x = NULL;
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, buf, cut);
        if (assay_iforest_deserialize(t, cut, &x, &err) != -EINVAL || x)
            fail_msg("truncation to %zu of %zu bytes was accepted", cut, len);
        free(t);
    }
    /* a tree link out of its tree, a counter out of range, a bad option */
    size_t opts = 16 + 3 * 4 + 2 * 8 + 2 * 8 + 8;
    size_t state_b = 2 + 4 + 9 * 8 + 8;
    size_t slots = (size_t)o.trees * 2 * o.sample;
    size_t left_at = opts + state_b + slots * 2 + slots * 8;
    struct {
        size_t off;
        uint32_t v;
        const char *want;
    } bad[] = {
        { left_at + 4 * 3, 2 * o.sample + 7, "outside its tree" },
        { left_at + 4 * 3, UINT32_MAX, "outside its tree" }, /* left + 1 wraps to 0 */
        { opts + 2, 100000, "out of range" },                /* next_tree */
        { 16 + 4, 0, "trees" },                              /* trees = 0 */
        /* ready with a part-filled window (regrowing trees drew past it) */
        { opts + 30, 100, "window counter" },
        { opts + 14, 505, "window counter" }, /* since beyond the refresh period */
    };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(bad); k++) {
        uint8_t *t = malloc(len);
        memcpy(t, buf, len);
        memcpy(t + bad[k].off, &bad[k].v, 4);
        assay_iforest *x = NULL;
        int rc = assay_iforest_deserialize(t, len, &x, &err);
        if (rc != -EINVAL || x || !strstr(err.msg, bad[k].want))
            fail_msg("corruption %zu: rc %d, message '%s' (want '%s')", k, rc, err.msg,
                     bad[k].want);
        free(t);
    }
    /* a leaf whose split is finite would step off its node, past the tree's end */
    {
        size_t leaf = slots;
        for (size_t k = 0; k < slots && leaf == slots; k++) {
            uint32_t l;
            memcpy(&l, buf + left_at + 4 * k, 4);
            if (l == k % (2 * o.sample))
                leaf = k;
        }
        assert_true(leaf < slots);
        uint8_t *t = malloc(len);
        memcpy(t, buf, len);
        double split = 0.5;
        memcpy(t + opts + state_b + slots * 2 + 8 * leaf, &split, 8);
        assay_iforest *x = NULL;
        int rc = assay_iforest_deserialize(t, len, &x, &err);
        if (rc != -EINVAL || x || !strstr(err.msg, "outside its tree"))
            fail_msg("a leaf with a split: rc %d, message '%s'", rc, err.msg);
        free(t);
    }
    free(buf);
    assay_iforest_free(fa);
    assay_iforest_free(fb);
    free(rows);
    free(labels);
    free(a);
    free(b);
}

static void test_not_ready(void **state)
{
    (void)state;
    size_t d = 2, n = 3000;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *s = malloc(n * sizeof(*s));
    make_data(rows, labels, n, d, 0.01, 0, 3);
    assay_iforest *f = forest(d, 1);
    double thr;
    assert_int_equal(assay_iforest_threshold(f, &thr), -EAGAIN);
    assert_int_equal(assay_iforest_process(f, rows, 2047, s, NULL), 0);
    assert_false(assay_iforest_ready(f));
    for (size_t i = 0; i < 2047; i++)
        if (!isnan(s[i]))
            fail_msg("row %zu scored %g before the window filled", i, s[i]);
    double probe;
    assay_iforest_score(f, rows, 1, &probe, ASSAY_SIMD_SCALAR);
    assert_true(isnan(probe));
    /* the 2048th row completes the window; it was scored before learning: NaN */
    assert_int_equal(assay_iforest_process(f, rows + 2047 * d, n - 2047, s + 2047, NULL), 0);
    assert_true(isnan(s[2047]));
    assert_true(assay_iforest_ready(f));
    assert_int_equal(assay_iforest_rows(f), n);
    for (size_t i = 2048; i < n; i++)
        if (!(s[i] > 0 && s[i] <= 1))
            fail_msg("row %zu: score %g after the window filled, want (0, 1]", i, s[i]);
    assay_iforest_free(f);
    free(rows);
    free(labels);
    free(s);
}

/* Planted scattered anomalies in d dimensions: AUC floor, and the floor is meaningful. */
static void check_auc(size_t d, uint64_t seed)
{
    size_t n = 12000;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *s = malloc(n * sizeof(*s));
    make_data(rows, labels, n, d, 0.015, 0, seed);
    assay_iforest *f = forest(d, seed);
    assert_int_equal(assay_iforest_process(f, rows, n, s, NULL), 0);
    double a = auc(s, labels, 0, n);
    /* broken scorers: inverted and random scores */
    double *bad = malloc(n * sizeof(*bad));
    rng r = { 99 };
    for (size_t i = 0; i < n; i++)
        bad[i] = isnan(s[i]) ? NAN : -s[i];
    double inv = auc(bad, labels, 0, n);
    for (size_t i = 0; i < n; i++)
        bad[i] = isnan(s[i]) ? NAN : unit(&r);
    double rnd = auc(bad, labels, 0, n);
    print_message("d=%zu: AUC %.4f (inverted %.4f, random %.4f)\n", d, a, inv, rnd);
    if (!(a >= 0.95))
        fail_msg("d=%zu: AUC %.4f < 0.95", d, a);
    if (!(inv < 0.1))
        fail_msg("d=%zu: inverted scores AUC %.4f, want < 0.1", d, inv);
    if (!(rnd < 0.95))
        fail_msg("d=%zu: random scores pass the floor (AUC %.4f)", d, rnd);
    assay_iforest_free(f);
    free(rows);
    free(labels);
    free(s);
    free(bad);
}

static void test_auc_2d(void **state)
{
    (void)state;
    check_auc(2, 21);
}

static void test_auc_6d(void **state)
{
    (void)state;
    check_auc(6, 22);
}

/* Normal data moves 30 sd over the stream; refreshes let the model follow. */
static void test_drift(void **state)
{
    (void)state;
    size_t d = 2, n = 60000;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *s1 = malloc(n * sizeof(*s1)), *s0 = malloc(n * sizeof(*s0));
    make_data(rows, labels, n, d, 0.02, 30, 31);
    assay_iforest_options o;
    assay_iforest_options_default(&o, d);
    o.seed = 4;
    o.refresh = 2000;
    o.refresh_fraction = 0.25;
    assay_iforest *f1 = NULL, *f0 = NULL;
    assert_int_equal(assay_iforest_new(&f1, &o, NULL), 0);
    o.refresh = 0; /* never refreshed */
    assert_int_equal(assay_iforest_new(&f0, &o, NULL), 0);
    assert_int_equal(assay_iforest_process(f1, rows, n, s1, NULL), 0);
    assert_int_equal(assay_iforest_process(f0, rows, n, s0, NULL), 0);
    double late1 = auc(s1, labels, 2 * n / 3, n), late0 = auc(s0, labels, 2 * n / 3, n);
    print_message("drift: last third AUC %.4f with refresh, %.4f without\n", late1, late0);
    if (!(late1 >= 0.9))
        fail_msg("drift: AUC on the last third %.4f < 0.9 with refreshes", late1);
    if (!(late1 > late0 + 0.3))
        fail_msg("drift: refreshes do not help (%.4f vs %.4f without)", late1, late0);
    assay_iforest_free(f1);
    assay_iforest_free(f0);
    free(rows);
    free(labels);
    free(s1);
    free(s0);
}

static void test_threshold(void **state)
{
    (void)state;
    size_t d = 3, n = 12000;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *s = malloc(n * sizeof(*s));
    make_data(rows, labels, n, d, 0.02, 0, 41);
    assay_iforest_options o;
    assay_iforest_options_default(&o, d);
    o.contamination = 0.02;
    assay_iforest *f = NULL;
    assert_int_equal(assay_iforest_new(&f, &o, NULL), 0);
    assert_int_equal(assay_iforest_process(f, rows, n, s, NULL), 0);
    double thr = 0;
    assert_int_equal(assay_iforest_threshold(f, &thr), 0);
    /* the last 4096 scores: about 2 % at or above the threshold (nearest rank) */
    size_t above = 0, hit = 0, anomalies = 0;
    for (size_t i = n - ASSAY_IFOREST_SCORE_HISTORY; i < n; i++) {
        above += s[i] > thr;
        anomalies += labels[i];
        hit += labels[i] && s[i] > thr;
    }
    double share = (double)above / ASSAY_IFOREST_SCORE_HISTORY;
    print_message("threshold %.4f: %.4f above, %zu of %zu anomalies\n", thr, share, hit, anomalies);
    if (share > 0.02 + 1e-9 || share < 0.015)
        fail_msg("%.4f of the scores above the threshold, want about 0.02", share);
    if (hit < anomalies * 6 / 10)
        fail_msg("only %zu of %zu anomalies above the threshold", hit, anomalies);
    assay_iforest_free(f);
    free(rows);
    free(labels);
    free(s);
}

static void test_nulls_and_score(void **state)
{
    (void)state;
    size_t d = 3, n = 4000;
    double *rows = malloc(n * d * sizeof(*rows));
    int *labels = malloc(n * sizeof(*labels));
    double *s = malloc(n * sizeof(*s));
    make_data(rows, labels, n, d, 0.0, 0, 51);
    /* nulls in the training window too */
    for (size_t i = 0; i < n; i += 17)
        rows[i * d + i % d] = NAN;
    assay_iforest_options o;
    assay_iforest_options_default(&o, d);
    o.refresh = 0;
    assay_iforest *f = NULL;
    assert_int_equal(assay_iforest_new(&f, &o, NULL), 0);
    assert_int_equal(assay_iforest_process(f, rows, 3000, NULL, NULL), 0);
    /* read-only scoring agrees with what process() returns for the same model */
    double *t = malloc(1000 * sizeof(*t));
    assay_iforest_score(f, rows + 3000 * d, 1000, t, ASSAY_SIMD_SCALAR);
    double *t2 = malloc(1000 * sizeof(*t2));
    assay_iforest_score(f, rows + 3000 * d, 1000, t2, assay_cpu_detect());
    assert_int_equal(assay_iforest_process(f, rows + 3000 * d, 1000, s, NULL), 0);
    for (size_t i = 0; i < 1000; i++) {
        if (memcmp(&t[i], &s[i], sizeof(double)) || memcmp(&t[i], &t2[i], sizeof(double)))
            fail_msg("row %zu: score() %.17g / %.17g, process() %.17g", 3000 + i, t[i], t2[i],
                     s[i]);
    }
    /* a normal row with nulls (and an infinity) scores as a typical row, not an outlier */
    double probe[3] = { rows[3500 * d], NAN, INFINITY };
    double ps;
    assay_iforest_score(f, probe, 1, &ps, ASSAY_SIMD_SCALAR);
    double thr;
    assert_int_equal(assay_iforest_threshold(f, &thr), 0);
    if (!(isfinite(ps) && ps < thr))
        fail_msg("row with nulls scored %g, threshold %g", ps, thr);
    /* a far-out row scores above it */
    double far[3] = { 100, -100, 100 };
    assay_iforest_score(f, far, 1, &ps, ASSAY_SIMD_SCALAR);
    if (!(ps > thr))
        fail_msg("far row scored %g, threshold %g", ps, thr);
    assay_iforest_free(f);
    free(rows);
    free(labels);
    free(s);
    free(t);
    free(t2);
}

/* Every SIMD level gives bit-identical scores to the scalar kernel: random forests
 * (feature counts, sample sizes, seeds) and random rows with nulls, infinities and
 * values exactly on split points, row counts not a multiple of the vector width. */
static void test_simd_matches_scalar(void **state)
{
    (void)state;
    assay_simd_level have = assay_cpu_detect();
    if (have < ASSAY_SIMD_AVX2)
        print_message("no AVX2 here: only the scalar kernel is compared with itself\n");
    rng r = { 77 };
    for (int round = 0; round < 12; round++) {
        size_t d = 1 + (size_t)(unit(&r) * 20);
        assay_iforest_options o;
        assay_iforest_options_default(&o, d);
        o.trees = 10 + (unsigned)(unit(&r) * 60);
        o.sample = 2 + (unsigned)(unit(&r) * 500);
        o.window = o.sample + (size_t)(unit(&r) * 1000);
        o.seed = next64(&r);
        assay_iforest *f = NULL;
        assert_int_equal(assay_iforest_new(&f, &o, NULL), 0);
        size_t n = o.window + 333 + (size_t)(unit(&r) * 300);
        double *rows = malloc(n * d * sizeof(*rows));
        for (size_t i = 0; i < n * d; i++) {
            double u = unit(&r);
            rows[i] = u < 0.02   ? NAN
                      : u < 0.03 ? -INFINITY
                      : u < 0.3  ? floor(gauss(&r) * 3)
                                 : gauss(&r) * 5;
        }
        assert_int_equal(assay_iforest_process(f, rows, o.window, NULL, NULL), 0);
        assert_true(assay_iforest_ready(f));
        /* rows landing exactly on split values */
        assay_iforest_tree_view v;
        assert_int_equal(assay_iforest_tree(f, 0, &v), 0);
        if (v.left[0] != 0)
            rows[o.window * d + v.feature[0]] = v.split[0];
        size_t m = n - o.window;
        double *a = malloc(m * sizeof(*a)), *b = malloc(m * sizeof(*b));
        for (int lv = ASSAY_SIMD_SCALAR; lv <= ASSAY_SIMD_AVX512; lv++) {
            assay_iforest_score(f, rows + o.window * d, m, a, ASSAY_SIMD_SCALAR);
            assay_iforest_score(f, rows + o.window * d, m, b, (assay_simd_level)lv);
            for (size_t i = 0; i < m; i++)
                if (memcmp(&a[i], &b[i], sizeof(double)))
                    fail_msg("round %d (d=%zu T=%u psi=%u) row %zu: scalar %.17g, %s %.17g", round,
                             d, o.trees, o.sample, i, a[i], assay_simd_name((assay_simd_level)lv),
                             b[i]);
        }
        assay_iforest_free(f);
        free(rows);
        free(a);
        free(b);
    }
}

/* Nulls are imputed with the window median - over every step-th window row, at most
 * 512 of them: a null scores exactly as that median does (odd and even counts, values
 * in shuffled order, some nulls in the window). */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_null_is_median(void **state)
{
    (void)state;
    size_t windows[] = { 257, 2048 };
    for (size_t w = 0; w < 2; w++) {
        size_t n = windows[w];
        assay_iforest_options o;
        assay_iforest_options_default(&o, 1);
        o.window = n;
        assay_iforest *f = NULL;
        assert_int_equal(assay_iforest_new(&f, &o, NULL), 0);
        double *v = malloc(n * sizeof(*v));
        size_t m = n - 5; /* values 0..m-1, then five nulls */
        for (size_t i = 0; i < n; i++)
            v[i] = i < m ? (double)i : NAN;
        rng r = { 5 + w };
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(unit(&r) * (double)(i + 1));
            double t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        assert_int_equal(assay_iforest_process(f, v, n, NULL, NULL), 0);
        size_t step = (n + 511) / 512;
        double *kept = malloc(n * sizeof(*kept));
        size_t nk = 0;
        for (size_t i = 0; i < n; i += step)
            if (!isnan(v[i]))
                kept[nk++] = v[i];
        qsort(kept, nk, sizeof(double), cmp_dbl);
        double median = (nk % 2) ? kept[nk / 2] : 0.5 * (kept[nk / 2 - 1] + kept[nk / 2]);
        free(kept);
        double probe[3] = { NAN, median, median + 0.75 }, s[3];
        assay_iforest_score(f, probe, 3, s, ASSAY_SIMD_SCALAR);
        if (s[0] != s[1])
            fail_msg("window %zu: null scored %.17g, median %g scored %.17g", n, s[0], median,
                     s[1]);
        assay_iforest_free(f);
        free(v);
    }
}

static void test_options(void **state)
{
    (void)state;
    assay_iforest_options o;
    assay_iforest *f = (assay_iforest *)&o;
    assay_error err = { 0 };
    assay_iforest_options_default(&o, 0);
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    assert_null(f);
    assert_non_null(strstr(err.msg, "feature"));
    assay_iforest_options_default(&o, 2);
    o.window = 100;
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "anomaly.window"));
    assay_iforest_options_default(&o, 2);
    o.sample = 1;
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    assay_iforest_options_default(&o, 2);
    o.trees = 0;
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    assay_iforest_options_default(&o, 2);
    o.contamination = 0.51;
    assert_int_equal(assay_iforest_options_check(&o, NULL), -EINVAL);
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "contamination"));
    o.contamination = 0;
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    o.contamination = 0.5; /* the config's upper bound is allowed */
    assert_int_equal(assay_iforest_options_check(&o, NULL), 0);
    assert_int_equal(assay_iforest_new(&f, &o, &err), 0);
    assay_iforest_free(f);
    assay_iforest_options_default(&o, 2);
    o.refresh_fraction = 0;
    assert_int_equal(assay_iforest_new(&f, &o, &err), -EINVAL);
    assay_iforest_options_default(&o, 2);
    o.window = o.sample; /* smallest window allowed */
    assert_int_equal(assay_iforest_new(&f, &o, &err), 0);
    assay_iforest_free(f);
}

/* ------------------------------------------------------------------------------ */
/* Driver for tools/iforest_auc.py                                                 */
/* ------------------------------------------------------------------------------ */

static int score_file(const char *path, uint64_t seed, int argc, char **argv)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        perror(path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, in);
    if (len <= 0) {
        fprintf(stderr, "%s: empty\n", path);
        return 1;
    }
    size_t cols = 1;
    for (char *p = line; *p; p++)
        cols += *p == ',';
    size_t d = cols - 1; /* last column: label */
    assay_iforest_options o;
    assay_iforest_options_default(&o, d);
    o.seed = seed;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "refresh") == 0)
            o.refresh = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "fraction") == 0)
            o.refresh_fraction = strtod(argv[i + 1], NULL);
        else if (strcmp(argv[i], "window") == 0)
            o.window = strtoull(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "trees") == 0)
            o.trees = (unsigned)strtoul(argv[i + 1], NULL, 0);
        else if (strcmp(argv[i], "sample") == 0)
            o.sample = (unsigned)strtoul(argv[i + 1], NULL, 0);
    }
    assay_iforest *f = NULL;
    assay_error err = { 0 };
    if (assay_iforest_new(&f, &o, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t cap_rows = 4096, n = 0;
    double *rows = malloc(cap_rows * d * sizeof(*rows));
    while ((len = getline(&line, &cap, in)) > 0) {
        if (n == cap_rows) {
            cap_rows *= 2;
            rows = realloc(rows, cap_rows * d * sizeof(*rows));
        }
        char *p = line;
        for (size_t j = 0; j < d; j++) {
            char *end;
            double v = strtod(p, &end);
            rows[n * d + j] = end == p ? NAN : v;
            p = strchr(end, ',');
            p = p ? p + 1 : end;
        }
        n++;
    }
    fclose(in);
    free(line);
    double *s = malloc((n ? n : 1) * sizeof(*s));
    assay_iforest_process(f, rows, n, s, NULL);
    for (size_t i = 0; i < n; i++)
        printf("%.17g\n", s[i]);
    assay_iforest_free(f);
    free(rows);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--score") == 0)
        return score_file(argv[2], argc >= 4 ? strtoull(argv[3], NULL, 0) : 0,
                          argc > 4 ? argc - 4 : 0, argv + 4);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c),
        cmocka_unit_test(test_tree_shape),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_serialize),
        cmocka_unit_test(test_not_ready),
        cmocka_unit_test(test_auc_2d),
        cmocka_unit_test(test_auc_6d),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_nulls_and_score),
        cmocka_unit_test(test_simd_matches_scalar),
        cmocka_unit_test(test_null_is_median),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
