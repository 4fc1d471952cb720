/* Tests for HyperLogLog (src/sketch/hll.c): accuracy against exact distinct counts,
 * bias across the range, merge == union, SIMD merge kernels vs scalar, serialization
 * and corrupted inputs.
 *
 * Accuracy sweeps feed random 64-bit hashes from a fast generator instead of hashing
 * strings: gen_hash(seed, i) is splitmix64 of the counter seed * 2^34 + i (an odd
 * multiply and the finalizer, both bijections of 64-bit words), so the n hashes of one trial are
 * distinct and the exact distinct count is n (test_generator_distinct checks this with a sort).
 * Tests with repeated values count exactly by sorting the hashes.
 *
 * `test_hll --long` (or ASSAY_HLL_LONG=1) adds n = 10^7 and 10^8 to the sweep. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/hashset.h"
#include "assay/hll.h"
#include "assay/sketch.h"

static bool long_run;

/* ---- generators ---------------------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t gen_hash(uint64_t seed, uint64_t i)
{
    /* splitmix64's output for counter (seed << 34) + i: odd multiply then finalizer,
     * both bijections, so distinct i give distinct hashes */
    return mix64(((seed << 34) + i) * 0x9e3779b97f4a7c15ull);
}

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    return mix64(r->s += 0x9e3779b97f4a7c15ull);
}

static uint64_t rnd_below(rng *r, uint64_t n)
{
    return rnd(r) % n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Exact number of distinct values in v[0..n) (sorts a copy). */
static size_t exact_distinct(const uint64_t *v, size_t n)
{
    if (n == 0)
        return 0;
    uint64_t *c = malloc(n * sizeof(*c));
    assert_non_null(c);
    memcpy(c, v, n * sizeof(*c));
    qsort(c, n, sizeof(*c), cmp_u64);
    size_t d = 1;
    for (size_t i = 1; i < n; i++)
        d += c[i] != c[i - 1];
    free(c);
    return d;
}

static assay_hll *new_hll(unsigned p)
{
    assay_hll *h = NULL;
    assert_int_equal(assay_hll_new(&h, p), 0);
    assert_non_null(h);
    return h;
}

/* Serialized bytes: equal iff the register states are equal (hll.c serializes the
 * canonical form). */
typedef struct blob {
    uint8_t *b;
    size_t n;
} blob;

static blob ser(const assay_hll *h)
{
    blob x;
    assert_int_equal(assay_hll_serialize(h, &x.b, &x.n), 0);
    return x;
}

static void assert_same_sketch(const assay_hll *a, const assay_hll *b, const char *what)
{
    blob x = ser(a), y = ser(b);
    if (x.n != y.n || memcmp(x.b, y.b, x.n) != 0)
        fail_msg("%s: serialized sketches differ (%zu vs %zu bytes, sparse %d vs %d)", what, x.n,
                 y.n, assay_hll_is_sparse(a), assay_hll_is_sparse(b));
    double ea = assay_hll_estimate(a), eb = assay_hll_estimate(b);
    if (ea != eb)
        fail_msg("%s: estimates differ: %.17g vs %.17g", what, ea, eb);
    free(x.b);
    free(y.b);
}

static void put32_le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static double rse_bound(unsigned p)
{
    return 1.04 / sqrt((double)(1u << p));
}

/* ---- basics -------------------------------------------------------------------- */

static void test_new_and_precision(void **state)
{
    (void)state;
    assay_hll *h = (assay_hll *)1;
    assert_int_equal(assay_hll_new(&h, 3), -EINVAL);
    assert_null(h);
    assert_int_equal(assay_hll_new(&h, 19), -EINVAL);
    for (unsigned p = ASSAY_HLL_P_MIN; p <= ASSAY_HLL_P_MAX; p++) {
        h = new_hll(p);
        assert_int_equal(assay_hll_precision(h), p);
        assert_true(assay_hll_is_sparse(h));
        assert_true(assay_hll_estimate(h) == 0.0);
        assay_hll_add(h, 42);
        assay_hll_add(h, 42);
        double e = assay_hll_estimate(h);
        if (fabs(e - 1.0) > 1e-6)
            fail_msg("p=%u: one value added twice estimates %.9f, want 1", p, e);
        assay_hll_free(h);
    }
    assay_hll_free(NULL);
}

static void test_generator_distinct(void **state)
{
    (void)state;
    size_t n = 200000;
    uint64_t *v = malloc(2 * n * sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        v[i] = gen_hash(7, i);
        v[n + i] = gen_hash(8, i);
    }
    assert_int_equal(exact_distinct(v, 2 * n), 2 * n);
    free(v);
}

/* Small cardinalities stay sparse and are nearly exact (|error| <= 0.5% or <= 1),
 * with repeated values, string hashes and exact counts by sorting. */
static void test_small_exact(void **state)
{
    (void)state;
    static const unsigned ps[] = { 12, 14, 18 };
    static const size_t ns[] = { 1, 2, 3, 10, 50, 100, 300, 700, 1000 };
    rng r = { 11 };
    for (size_t a = 0; a < ASSAY_ARRAY_LEN(ps); a++) {
        for (size_t b = 0; b < ASSAY_ARRAY_LEN(ns); b++) {
            unsigned p = ps[a];
            size_t want = ns[b];
            if (want > (1u << p) / 4)
                continue; /* would be dense: not the sparse claim */
            for (int trial = 0; trial < 20; trial++) {
                /* draw 3*want values from a universe of `want` strings: repeats */
                size_t len = 3 * want;
                uint64_t *v = malloc(len * sizeof(*v));
                assert_non_null(v);
                uint64_t base = rnd(&r);
                for (size_t i = 0; i < len; i++) {
                    char s[64];
                    int sl = snprintf(s, sizeof(s), "user-%llu-%zu", (unsigned long long)base,
                                      i < want ? i : (size_t)rnd_below(&r, want));
                    v[i] = assay_hash_bytes(s, (size_t)sl);
                }
                size_t exact = exact_distinct(v, len);
                assay_hll *h = new_hll(p);
                if (trial & 1)
                    assay_hll_add_batch(h, v, len);
                else
                    for (size_t i = 0; i < len; i++)
                        assay_hll_add(h, v[i]);
                double e = assay_hll_estimate(h);
                double tol = fmax(1.0, 0.005 * (double)exact);
                if (!assay_hll_is_sparse(h))
                    fail_msg("p=%u n=%zu: sketch went dense", p, exact);
                if (fabs(e - (double)exact) > tol)
                    fail_msg("p=%u: estimate %.3f, exact %zu (tolerance %.1f)", p, e, exact, tol);
                assay_hll_free(h);
                free(v);
            }
        }
    }
}

/* ---- accuracy sweeps ------------------------------------------------------------- */

typedef struct sweep {
    double rse, bias; /* root mean square and mean relative error */
    int sparse;       /* trials that ended sparse */
} sweep;

static sweep run_trials(unsigned p, uint64_t n, int trials, uint64_t seed0)
{
    enum { CHUNK = 4096 };
    uint64_t buf[CHUNK];
    double s1 = 0, s2 = 0;
    sweep out = { 0, 0, 0 };
    assay_hll *h = NULL;
    for (int t = 0; t < trials; t++) {
        assert_int_equal(assay_hll_new(&h, p), 0);
        uint64_t seed = seed0 + (uint64_t)t;
        for (uint64_t i = 0; i < n;) {
            size_t k = (size_t)ASSAY_MIN((uint64_t)CHUNK, n - i);
            for (size_t j = 0; j < k; j++)
                buf[j] = gen_hash(seed, i + j);
            assay_hll_add_batch(h, buf, k);
            i += k;
        }
        double err = (assay_hll_estimate(h) - (double)n) / (double)n;
        s1 += err;
        s2 += err * err;
        out.sparse += assay_hll_is_sparse(h);
        assay_hll_free(h);
    }
    out.rse = sqrt(s2 / trials);
    out.bias = s1 / trials;
    return out;
}

static void test_rse_sweep(void **state)
{
    (void)state;
    const unsigned p = ASSAY_HLL_P_DEFAULT;
    const double bound = rse_bound(p);
    struct {
        uint64_t n;
        int trials;
        bool is_long;
    } rows[] = {
        { 10, 1000, false },     { 100, 1000, false },    { 1000, 1000, false },
        { 10000, 1000, false },  { 40960, 300, false },   { 100000, 1000, false },
        { 1000000, 500, false }, { 10000000, 300, true }, { 100000000, 100, true },
    };
    printf("  p=%u, 1.04/sqrt(m) = %.4f%%\n  %10s %7s %7s %9s %9s\n", p, 100 * bound, "n", "trials",
           "sparse", "RSE %", "bias %");
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(rows); i++) {
        if (rows[i].is_long && !long_run)
            continue;
        uint64_t n = rows[i].n;
        sweep s = run_trials(p, n, rows[i].trials, 1000 * (i + 1));
        printf("  %10llu %7d %7d %9.4f %9.4f\n", (unsigned long long)n, rows[i].trials, s.sparse,
               100 * s.rse, 100 * s.bias);
        fflush(stdout);
        /* within 10% of 1.04/sqrt(m). The --long rows have few trials, so there the
         * RSE estimate's own sampling error (relative sd ~ 1/sqrt(2 trials)) is
         * allowed three times on top. */
        double tol = 1.1 + (rows[i].is_long ? 3 / sqrt(2.0 * rows[i].trials) : 0);
        if (s.rse > tol * bound)
            fail_msg("n=%llu: RSE %.4f%% above %.3f x 1.04/sqrt(m) = %.4f%%", (unsigned long long)n,
                     100 * s.rse, tol, 100 * tol * bound);
        /* once many values share each register the error is the asymptotic one */
        if (n >= 5 * (1u << p) && s.rse < 0.9 * bound)
            fail_msg("n=%llu: RSE %.4f%% below 0.9 x 1.04/sqrt(m) = %.4f%% (suspiciously good)",
                     (unsigned long long)n, 100 * s.rse, 90 * bound);
        /* sparse (n <= 1000 at p = 14): linear counting at p' = 25 has a standard error
         * of about 1/sqrt(2 * 2^25) = 0.012%; allow 2.5 times that */
        if (n <= 1000) {
            assert_int_equal(s.sparse, rows[i].trials);
            if (s.rse > 0.0003)
                fail_msg("n=%llu sparse: RSE %.4f%% above 0.03%%", (unsigned long long)n,
                         100 * s.rse);
        }
        /* unbiased: the mean error stays far below the standard error (standard
         * deviation of the mean is RSE/sqrt(trials)) */
        double bias_tol = fmax(0.25 * bound, 4 * s.rse / sqrt(rows[i].trials));
        if (fabs(s.bias) > bias_tol)
            fail_msg("n=%llu: mean relative error %.4f%% exceeds %.4f%%", (unsigned long long)n,
                     100 * s.bias, 100 * bias_tol);
    }
}

/* Bias across the region where the original estimator switches to linear counting
 * (around 2.5m): p = 10 so the sweep is cheap and the trials many. */
static void test_bias_transition(void **state)
{
    (void)state;
    const unsigned p = 10;
    const double m = 1024, bound = rse_bound(p);
    static const double mult[] = { 0.1, 0.5, 1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0, 30.0 };
    const int trials = 2000;
    printf("  p=%u, 1.04/sqrt(m) = %.3f%%\n  %8s %9s %9s\n", p, 100 * bound, "n/m", "RSE %",
           "bias %");
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(mult); i++) {
        uint64_t n = (uint64_t)(mult[i] * m);
        sweep s = run_trials(p, n, trials, 777000 + 10000 * i);
        printf("  %8.1f %9.3f %9.3f\n", mult[i], 100 * s.rse, 100 * s.bias);
        if (fabs(s.bias) > 0.1 * bound)
            fail_msg("n=%.1fm: mean relative error %.3f%% exceeds 0.1 x 1.04/sqrt(m) = %.3f%%",
                     mult[i], 100 * s.bias, 10 * bound);
        if (s.rse > 1.1 * bound)
            fail_msg("n=%.1fm: RSE %.3f%% above 1.1 x 1.04/sqrt(m) = %.3f%%", mult[i], 100 * s.rse,
                     110 * bound);
    }
}

/* The far end of the range (n up to 2^62, where registers saturate at q + 1 and tau
 * matters) cannot be reached by adding values, so draw the registers from their
 * distribution under the Poisson model [Ertl17]: P(K <= k) = exp(-(n/m) 2^-k) for
 * k <= q, K = q + 1 otherwise; load them through deserialize and estimate. */
static void test_large_range_estimator(void **state)
{
    (void)state;
    const unsigned p = 12, q = 64 - p;
    const uint32_t m = 1u << p;
    const double bound = rse_bound(p);
    static const int log2n[] = { 20, 40, 50, 56, 58, 60, 61 }; /* error grows near 2^64 */
    const int trials = 300;
    size_t len = ASSAY_SKETCH_HEADER + 8 + m;
    uint8_t *b = malloc(len);
    assert_non_null(b);
    rng r = { 4242 };
    printf("  p=%u synthetic registers\n  %6s %9s %9s\n", p, "log2 n", "RSE %", "bias %");
    for (size_t a = 0; a < ASSAY_ARRAY_LEN(log2n); a++) {
        double n = ldexp(1.0, log2n[a]), lambda = n / m, s1 = 0, s2 = 0;
        for (int t = 0; t < trials; t++) {
            assay_sketch_header_write(b, ASSAY_SKETCH_HLL, 1, 8 + m);
            uint8_t *pl = b + ASSAY_SKETCH_HEADER;
            pl[0] = (uint8_t)p;
            pl[1] = 1;
            pl[2] = pl[3] = 0;
            put32_le(pl + 4, m);
            for (uint32_t j = 0; j < m; j++) {
                double u = ((double)(rnd(&r) >> 11) + 0.5) * 0x1p-53;
                double k = ceil(log2(lambda / -log(u)));
                k = k < 0 ? 0 : k;
                pl[8 + j] = (uint8_t)(k > q ? q + 1 : k);
            }
            assay_hll *h = NULL;
            assay_error err = { 0 };
            if (assay_hll_deserialize(b, len, &h, &err))
                fail_msg("synthetic sketch rejected: %s", err.msg);
            double e = (assay_hll_estimate(h) - n) / n;
            s1 += e;
            s2 += e * e;
            assay_hll_free(h);
        }
        double rse = sqrt(s2 / trials), bias = s1 / trials;
        printf("  %6d %9.3f %9.3f\n", log2n[a], 100 * rse, 100 * bias);
        if (rse > 1.1 * bound)
            fail_msg("n=2^%d: RSE %.3f%% above 1.1 x 1.04/sqrt(m) = %.3f%%", log2n[a], 100 * rse,
                     110 * bound);
        if (fabs(bias) > 0.25 * bound)
            fail_msg("n=2^%d: mean relative error %.3f%% exceeds %.3f%%", log2n[a], 100 * bias,
                     25 * bound);
    }
    free(b);
}

/* Hashes of strings with repeats, dense, against a sorted exact count. */
static void test_strings_dense(void **state)
{
    (void)state;
    size_t len = 300000, universe = 150000;
    uint64_t *v = malloc(len * sizeof(*v));
    assert_non_null(v);
    rng r = { 5 };
    for (size_t i = 0; i < len; i++) {
        char s[32];
        int sl = snprintf(s, sizeof(s), "cust-%zu", (size_t)rnd_below(&r, universe));
        v[i] = assay_hash_bytes(s, (size_t)sl);
    }
    size_t exact = exact_distinct(v, len);
    assay_hll *h = new_hll(ASSAY_HLL_P_DEFAULT);
    assay_hll_add_batch(h, v, len);
    assert_false(assay_hll_is_sparse(h));
    double e = assay_hll_estimate(h);
    double rel = (e - (double)exact) / (double)exact;
    /* one fixed sample: allow 3 standard errors */
    if (fabs(rel) > 3 * rse_bound(ASSAY_HLL_P_DEFAULT))
        fail_msg("estimate %.1f, exact %zu: error %.3f%%", e, exact, 100 * rel);
    assay_hll_free(h);
    free(v);
}

/* ---- add paths and merge --------------------------------------------------------- */

static void test_add_batch_equals_add(void **state)
{
    (void)state;
    static const size_t ns[] = { 0, 1, 5, 255, 256, 257, 3000, 4097, 5000, 70000 };
    rng r = { 99 };
    for (unsigned p = ASSAY_HLL_P_MIN; p <= ASSAY_HLL_P_MAX; p += 2) {
        for (size_t a = 0; a < ASSAY_ARRAY_LEN(ns); a++) {
            size_t n = ns[a];
            uint64_t *v = malloc((n + 1) * sizeof(*v));
            assert_non_null(v);
            for (size_t i = 0; i < n; i++)
                v[i] = rnd(&r) >> (i % 3 == 0 ? (i % 64) : 0); /* long zero runs too */
            assay_hll *x = new_hll(p), *y = new_hll(p);
            for (size_t i = 0; i < n; i++)
                assay_hll_add(x, v[i]);
            /* batch in random pieces */
            for (size_t i = 0; i < n;) {
                size_t k = 1 + (size_t)rnd_below(&r, 600); /* not inside ASSAY_MIN: */
                k = ASSAY_MIN(k, n - i);                   /* it evaluates twice */
                assay_hll_add_batch(y, v + i, k);
                i += k;
            }
            assert_int_equal(assay_hll_is_sparse(x), assay_hll_is_sparse(y));
            assert_same_sketch(x, y, "add vs add_batch");
            assay_hll_free(x);
            assay_hll_free(y);
            free(v);
        }
    }
}

/* Hashes sharing a sparse index (top 25 bits) but not rho', one merged into the
 * sorted array and one still pending in the batch (or in another sketch): the larger
 * rho' must win whichever side holds it. */
static void test_sparse_same_index(void **state)
{
    (void)state;
    const uint64_t X = 0x1234567ull;                            /* 25-bit index */
    const uint64_t lo = X << 39 | 1ull << 38, hi = X << 39 | 1; /* rho' 1 and 39 */
    for (int order = 0; order < 2; order++) {
        assay_hll *a = new_hll(14), *b = new_hll(14), *c = new_hll(14), *d = new_hll(14);
        assay_hll_add(a, order ? hi : lo);
        for (uint64_t i = 0; i < 300; i++) { /* pushes the first into the sorted array */
            assay_hll_add(a, gen_hash(12, i));
            assay_hll_add(b, gen_hash(12, i));
        }
        assay_hll_add(a, order ? lo : hi); /* pending */
        assay_hll_add(b, hi);
        assay_hll_add(c, order ? hi : lo);
        assay_hll_add(d, order ? lo : hi);
        assert_true(assay_hll_is_sparse(a));
        assert_same_sketch(a, b, "same index, sorted vs pending");
        assert_int_equal(assay_hll_merge(c, d), 0);
        assay_hll *e = new_hll(14);
        assay_hll_add(e, hi);
        assert_same_sketch(c, e, "same index, merged");
        assay_hll_free(a);
        assay_hll_free(b);
        assay_hll_free(c);
        assay_hll_free(d);
        assay_hll_free(e);
    }
}

/* Split one stream over 2..8 sketches in random (skewed) ways, with values repeated
 * across sketches; merge them in random order; the result must be the sketch of the
 * whole stream: same bytes, same estimate, same sparse/dense form. Mixes sparse and
 * dense operands (small parts of a big union, one big part and many tiny ones). */
static void test_merge_is_union(void **state)
{
    (void)state;
    static const size_t sizes[] = { 10, 300, 2000, 4500, 8000, 20000, 200000 };
    static const unsigned ps[] = { 4, 8, 14, 14, 14, 18 };
    rng r = { 2024 };
    int mixed = 0, rounds = 0;
    for (size_t pi = 0; pi < ASSAY_ARRAY_LEN(ps); pi++) {
        unsigned p = ps[pi];
        for (size_t si = 0; si < ASSAY_ARRAY_LEN(sizes); si++) {
            for (int rep = 0; rep < 4; rep++, rounds++) {
                size_t len = sizes[si];
                uint64_t universe = len / 2 + 1;
                uint64_t seed = rnd(&r);
                unsigned k = 2 + (unsigned)rnd_below(&r, 7);
                assay_hll *parts[8];
                double w[8], wsum = 0;
                for (unsigned j = 0; j < k; j++) {
                    parts[j] = new_hll(p);
                    w[j] = (rep & 1) ? 1.0 / (1u << (2 * j)) : 1.0 + (double)rnd_below(&r, 4);
                    wsum += w[j];
                }
                assay_hll *all = new_hll(p);
                uint64_t *v = malloc(len * sizeof(*v));
                assert_non_null(v);
                for (size_t i = 0; i < len; i++) {
                    v[i] = gen_hash(seed, rnd_below(&r, universe));
                    double u = (double)rnd_below(&r, 1u << 30) / (1u << 30) * wsum;
                    unsigned j = 0;
                    while (j + 1 < k && u >= w[j])
                        u -= w[j++];
                    if (i & 1)
                        assay_hll_add(parts[j], v[i]);
                    else
                        assay_hll_add_batch(parts[j], &v[i], 1);
                }
                assay_hll_add_batch(all, v, len);
                size_t exact = exact_distinct(v, len);
                free(v);
                /* random merge tree */
                unsigned live = k;
                while (live > 1) {
                    unsigned a = (unsigned)rnd_below(&r, live);
                    unsigned b = (unsigned)rnd_below(&r, live - 1);
                    if (b >= a)
                        b++;
                    mixed += assay_hll_is_sparse(parts[a]) != assay_hll_is_sparse(parts[b]);
                    assert_int_equal(assay_hll_merge(parts[a], parts[b]), 0);
                    assay_hll_free(parts[b]);
                    parts[b] = parts[--live];
                }
                char what[96];
                snprintf(what, sizeof(what), "p=%u len=%zu k=%u rep=%d", p, len, k, rep);
                assert_same_sketch(parts[0], all, what);
                assert_int_equal(assay_hll_is_sparse(parts[0]), assay_hll_is_sparse(all));
                /* sanity against the exact count (loose: p = 4 has 26% error) */
                double e = assay_hll_estimate(all);
                if (fabs(e - (double)exact) > 5 * rse_bound(p) * (double)exact + 1)
                    fail_msg("%s: estimate %.1f vs exact %zu", what, e, exact);
                assay_hll_free(parts[0]);
                assay_hll_free(all);
            }
        }
    }
    printf("  %d merge rounds, %d merges of a sparse with a dense sketch\n", rounds, mixed);
    assert_true(mixed > 20);
}

static void test_merge_cases(void **state)
{
    (void)state;
    assay_hll *a = new_hll(12), *b = new_hll(13);
    assert_int_equal(assay_hll_merge(a, b), -EINVAL);
    assay_hll_free(b);
    /* self merge is a no-op */
    for (int i = 0; i < 100; i++)
        assay_hll_add(a, gen_hash(3, (uint64_t)i));
    blob before = ser(a);
    assert_int_equal(assay_hll_merge(a, a), 0);
    blob after = ser(a);
    assert_int_equal(before.n, after.n);
    assert_memory_equal(before.b, after.b, before.n);
    free(before.b);
    free(after.b);
    /* merging an empty sketch changes nothing; merging into an empty one copies */
    assay_hll *e = new_hll(12), *c = new_hll(12);
    assert_int_equal(assay_hll_merge(a, e), 0);
    assert_int_equal(assay_hll_merge(c, a), 0);
    assert_same_sketch(a, c, "empty merges");
    /* dense into sparse: dst turns dense and equals the union */
    assay_hll *d = new_hll(12), *all = new_hll(12);
    for (uint64_t i = 0; i < 50000; i++) {
        assay_hll_add(d, gen_hash(4, i));
        assay_hll_add(all, gen_hash(4, i));
    }
    for (int i = 0; i < 100; i++)
        assay_hll_add(all, gen_hash(3, (uint64_t)i));
    assert_false(assay_hll_is_sparse(d));
    assert_true(assay_hll_is_sparse(c));
    assert_int_equal(assay_hll_merge(c, d), 0);
    assert_false(assay_hll_is_sparse(c));
    assert_same_sketch(c, all, "dense into sparse");
    assay_hll_free(a);
    assay_hll_free(c);
    assay_hll_free(d);
    assay_hll_free(e);
    assay_hll_free(all);
}

/* Every SIMD merge kernel the CPU has vs the scalar one and a plain loop here, on
 * random registers of random lengths and offsets. */
static void test_merge_kernels(void **state)
{
    (void)state;
    rng r = { 31337 };
    assay_simd_level top = assay_cpu_detect();
    enum { MAXN = 70000 };
    uint8_t *src = malloc(MAXN + 64), *dst0 = malloc(MAXN + 64), *want = malloc(MAXN + 64);
    uint8_t *got = malloc(MAXN + 64), *ref = malloc(MAXN + 64);
    assert_true(src && dst0 && want && got && ref);
    int checked[4] = { 0 };
    for (int it = 0; it < 600; it++) {
        size_t n;
        switch (it % 4) {
        case 0:
            n = (size_t)rnd_below(&r, 300);
            break;
        case 1:
            n = 64 * (size_t)rnd_below(&r, 200);
            break;
        case 2:
            n = (size_t)1 << (4 + rnd_below(&r, 13));
            break;
        default:
            n = (size_t)rnd_below(&r, MAXN);
        }
        size_t so = (size_t)rnd_below(&r, 64), doff = (size_t)rnd_below(&r, 64);
        for (size_t i = 0; i < n + 64; i++) {
            src[i] = (uint8_t)rnd_below(&r, 52);
            dst0[i] = (uint8_t)rnd_below(&r, 52);
        }
        for (size_t i = 0; i < n; i++)
            want[i] = ASSAY_MAX(src[so + i], dst0[doff + i]);
        memcpy(ref, dst0, n + 64);
        assay_hll_merge_registers(ref + doff, src + so, n, ASSAY_SIMD_SCALAR);
        assert_memory_equal(ref + doff, want, n);
        for (int lv = ASSAY_SIMD_SCALAR; lv <= ASSAY_SIMD_AVX512; lv++) {
            if (lv > (int)top)
                continue; /* the CPU lacks this level */
            memcpy(got, dst0, n + 64);
            assay_hll_merge_registers(got + doff, src + so, n, (assay_simd_level)lv);
            if (memcmp(got, ref, n + 64) != 0)
                fail_msg("%s kernel differs from scalar at n=%zu (src+%zu, dst+%zu), or wrote "
                         "outside [0, n)",
                         assay_simd_name((assay_simd_level)lv), n, so, doff);
            checked[lv]++;
        }
    }
    printf("  kernels checked: scalar %d, sse42 %d, avx2 %d, avx512 %d (CPU level %s)\n",
           checked[0], checked[1], checked[2], checked[3], assay_simd_name(top));
    free(src);
    free(dst0);
    free(want);
    free(got);
    free(ref);
}

/* ---- serialization ---------------------------------------------------------------- */

static void roundtrip(assay_hll *h, bool want_sparse)
{
    blob x = ser(h);
    assay_hll *g = NULL;
    assay_error err = { 0 };
    int rc = assay_hll_deserialize(x.b, x.n, &g, &err);
    if (rc)
        fail_msg("round trip rejected: %s", err.msg);
    assert_int_equal(assay_hll_is_sparse(g), want_sparse);
    assert_int_equal(assay_hll_precision(g), assay_hll_precision(h));
    assert_same_sketch(g, h, "round trip");
    /* and the copy keeps working like the original */
    for (uint64_t i = 0; i < 3000; i++) {
        assay_hll_add(g, gen_hash(77, i));
        assay_hll_add(h, gen_hash(77, i));
    }
    assert_same_sketch(g, h, "round trip, then adds");
    assay_hll_free(g);
    free(x.b);
}

static void test_serialize_roundtrip(void **state)
{
    (void)state;
    static const uint64_t ns[] = { 0, 1, 100, 4000, 5000, 100000 };
    for (unsigned p = ASSAY_HLL_P_MIN; p <= ASSAY_HLL_P_MAX; p += 7) {
        for (size_t a = 0; a < ASSAY_ARRAY_LEN(ns); a++) {
            assay_hll *h = new_hll(p);
            for (uint64_t i = 0; i < ns[a]; i++)
                assay_hll_add(h, gen_hash(p, i));
            /* serialize includes the pending batch, in the form it would flush to */
            blob x = ser(h);
            bool sparse_bytes = x.b[ASSAY_SKETCH_HEADER + 1] == 0;
            free(x.b);
            roundtrip(h, sparse_bytes);
            assay_hll_free(h);
        }
    }
    /* the sparse limit is exactly where the form switches */
    assay_hll *h = new_hll(14);
    uint64_t i = 0;
    while (assay_hll_is_sparse(h))
        assay_hll_add(h, gen_hash(5, i++));
    blob x = ser(h);
    assert_int_equal(x.b[ASSAY_SKETCH_HEADER + 1], 1);
    assert_int_equal(x.n, ASSAY_SKETCH_HEADER + 8 + (1u << 14));
    free(x.b);
    assay_hll_free(h);
}

/* A valid sparse (p = 10, 3 entries) and dense (p = 4) sketch to corrupt. */
static blob make_sparse(void)
{
    assay_hll *h = new_hll(10);
    for (uint64_t i = 0; i < 3; i++)
        assay_hll_add(h, gen_hash(9, i));
    blob x = ser(h);
    assay_hll_free(h);
    assert_int_equal(x.n, ASSAY_SKETCH_HEADER + 8 + 12);
    assert_int_equal(x.b[ASSAY_SKETCH_HEADER + 1], 0);
    return x;
}

static blob make_dense(void)
{
    assay_hll *h = new_hll(4);
    for (uint64_t i = 0; i < 1000; i++)
        assay_hll_add(h, gen_hash(9, i));
    blob x = ser(h);
    assay_hll_free(h);
    assert_int_equal(x.n, ASSAY_SKETCH_HEADER + 8 + 16);
    assert_int_equal(x.b[ASSAY_SKETCH_HEADER + 1], 1);
    return x;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void expect_reject(const uint8_t *b, size_t n, const char *what)
{
    /* copy to an exact-size heap block so ASan sees any read past the end */
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    if (n)
        memcpy(c, b, n);
    assay_hll *h = (assay_hll *)1;
    assay_error err = { 0 };
    int rc = assay_hll_deserialize(c, n, &h, &err);
    if (rc != -EINVAL)
        fail_msg("%s: deserialize returned %d, want -EINVAL", what, rc);
    if (h != NULL)
        fail_msg("%s: *out not NULL on error", what);
    if (err.msg[0] == '\0')
        fail_msg("%s: no error message", what);
    free(c);
}

enum { PL = ASSAY_SKETCH_HEADER };

static void test_corrupted_inputs(void **state)
{
    (void)state;
    blob s = make_sparse(), d = make_dense();
    const blob *both[2] = { &s, &d };
    /* truncation at every length, with the header's length left as is and with it
     * rewritten to match (so the payload checks see the short payload) */
    for (int w = 0; w < 2; w++) {
        const blob *x = both[w];
        for (size_t n = 0; n < x->n; n++) {
            expect_reject(x->b, n, "truncated");
            if (n >= ASSAY_SKETCH_HEADER) {
                uint8_t *c = malloc(n);
                assert_non_null(c);
                memcpy(c, x->b, n);
                put64(c + 8, n - ASSAY_SKETCH_HEADER);
                expect_reject(c, n, "truncated, length fixed");
                free(c);
            }
        }
        /* one byte too many */
        uint8_t *c = malloc(x->n + 1);
        assert_non_null(c);
        memcpy(c, x->b, x->n);
        c[x->n] = 0;
        expect_reject(c, x->n + 1, "trailing byte");
        put64(c + 8, x->n + 1 - ASSAY_SKETCH_HEADER);
        expect_reject(c, x->n + 1, "trailing byte, length fixed");
        free(c);
    }
    struct {
        const char *what;
        int dense;  /* which blob */
        size_t off; /* byte to change */
        int width;  /* 1 byte, 4 (u32) or 8 (u64) */
        uint64_t val;
    } cases[] = {
        { "magic", 0, 0, 1, 'X' },
        { "magic last byte", 1, 3, 1, '2' },
        { "kind tdigest", 0, 4, 1, ASSAY_SKETCH_TDIGEST },
        { "kind 0", 1, 4, 1, 0 },
        { "version 0", 0, 5, 1, 0 },
        { "version 2", 1, 5, 1, 2 },
        { "header reserved", 0, 6, 1, 1 },
        { "header length short", 0, 8, 8, 8 + 12 - 1 },
        { "header length long", 1, 8, 8, 8 + 16 + 1 },
        { "header length huge", 1, 8, 8, UINT64_MAX },
        { "p = 3", 1, PL + 0, 1, 3 },
        { "p = 19", 0, PL + 0, 1, 19 },
        { "p = 0", 0, PL + 0, 1, 0 },
        { "p = 5 for 16 dense registers", 1, PL + 0, 1, 5 },
        { "encoding 2", 0, PL + 1, 1, 2 },
        { "encoding 255", 1, PL + 1, 1, 255 },
        { "sparse as dense", 0, PL + 1, 1, 1 },
        { "dense as sparse", 1, PL + 1, 1, 0 },
        { "payload reserved", 0, PL + 2, 1, 1 },
        { "payload reserved hi", 1, PL + 3, 1, 0x80 },
        { "dense count 15", 1, PL + 4, 4, 15 },
        { "dense count 2^32-1", 1, PL + 4, 4, UINT32_MAX },
        { "register 62 (max 61 at p=4)", 1, PL + 8 + 5, 1, 62 },
        { "register 255", 1, PL + 8 + 15, 1, 255 },
        { "sparse count 2", 0, PL + 4, 4, 2 },
        { "sparse count 4", 0, PL + 4, 4, 4 },
        { "sparse count above limit", 0, PL + 4, 4, 257 },
        { "sparse count 2^32-1", 0, PL + 4, 4, UINT32_MAX },
        { "sparse rho 0", 0, PL + 8 + 4, 4, 5u << 6 },
        { "sparse rho 41", 0, PL + 8 + 4, 4, 5u << 6 | 41 },
        { "sparse rho 63", 0, PL + 8, 4, 63 },
        { "sparse index bit 31", 0, PL + 8 + 8, 4, 0x80000001u },
        { "sparse unsorted", 0, PL + 8, 4, 0x7fffffc1u },
        { "sparse duplicate idx", 0, PL + 8 + 8, 4, 0 /* patched below */ },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(cases); i++) {
        const blob *x = cases[i].dense ? &d : &s;
        uint8_t *c = malloc(x->n);
        assert_non_null(c);
        memcpy(c, x->b, x->n);
        if (cases[i].width == 1)
            c[cases[i].off] = (uint8_t)cases[i].val;
        else if (cases[i].width == 4)
            put32(c + cases[i].off, (uint32_t)cases[i].val);
        else
            put64(c + cases[i].off, cases[i].val);
        if (strcmp(cases[i].what, "sparse duplicate idx") == 0) {
            /* third entry: same idx' as the second, larger rho' */
            uint32_t e1 = (uint32_t)c[PL + 12] | (uint32_t)c[PL + 13] << 8 |
                          (uint32_t)c[PL + 14] << 16 | (uint32_t)c[PL + 15] << 24;
            uint32_t dup = (e1 & ~63u) | 40;
            if (dup == e1)
                dup = (e1 & ~63u) | 39;
            put32(c + PL + 16, dup);
        }
        expect_reject(c, x->n, cases[i].what);
        free(c);
    }
    /* sanity: the unmodified blobs are accepted */
    for (int w = 0; w < 2; w++) {
        assay_hll *h = NULL;
        assay_error err = { 0 };
        assert_int_equal(assay_hll_deserialize(both[w]->b, both[w]->n, &h, &err), 0);
        assay_hll_free(h);
    }
    free(s.b);
    free(d.b);
}

int main(int argc, char **argv)
{
    const char *env = getenv("ASSAY_HLL_LONG");
    long_run = env && *env && strcmp(env, "0") != 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--long") == 0)
            long_run = true;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_precision),     cmocka_unit_test(test_generator_distinct),
        cmocka_unit_test(test_small_exact),           cmocka_unit_test(test_add_batch_equals_add),
        cmocka_unit_test(test_merge_cases),           cmocka_unit_test(test_sparse_same_index),
        cmocka_unit_test(test_merge_is_union),        cmocka_unit_test(test_merge_kernels),
        cmocka_unit_test(test_serialize_roundtrip),   cmocka_unit_test(test_corrupted_inputs),
        cmocka_unit_test(test_strings_dense),         cmocka_unit_test(test_bias_transition),
        cmocka_unit_test(test_large_range_estimator), cmocka_unit_test(test_rse_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
