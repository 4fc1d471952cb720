/* Tests for the Space-Saving top-k (src/sketch/topk.c) against exact counts kept here.
 *
 * The guarantees asserted on every output (N = total occurrences, k counters):
 *   true <= count <= true + error,   error <= N / k,
 *   every value with true count > N / k is listed,
 *   exact mode (<= k distinct values): error 0 and count == true for every value.
 *
 * Set ASSAY_TEST_LONG=1 for a bigger sweep (more seeds, longer streams, more k). */
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
#include "assay/sketch.h"
#include "assay/topk.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static bool long_run(void)
{
    const char *e = getenv("ASSAY_TEST_LONG");
    return e && *e && strcmp(e, "0") != 0;
}

/* Value number i as text: "v<i>" (distinct ids, distinct strings). */
static uint32_t value_of(uint32_t id, char *buf)
{
    return (uint32_t)snprintf(buf, 24, "v%u", id);
}

static void add_id(assay_topk *t, uint32_t id)
{
    char b[24];
    uint32_t len = value_of(id, b);
    assay_topk_add(t, b, len, assay_hash_bytes(b, len));
}

/* Id of a value text produced by value_of. */
static uint32_t id_of(const assay_topk_item *it)
{
    char b[24];
    assert_true(it->len > 1 && it->len < sizeof(b));
    memcpy(b, it->value, it->len);
    b[it->len] = 0;
    assert_true(b[0] == 'v');
    return (uint32_t)strtoul(b + 1, NULL, 10);
}

/* Zipf(s) over ids 0..u-1 by inverse CDF. */
typedef struct zipf {
    double *cdf;
    uint32_t u;
} zipf;

static void zipf_init(zipf *z, uint32_t u, double s)
{
    z->u = u;
    z->cdf = malloc(u * sizeof(double));
    assert_non_null(z->cdf);
    double acc = 0;
    for (uint32_t i = 0; i < u; i++)
        z->cdf[i] = (acc += 1.0 / pow(i + 1.0, s));
    for (uint32_t i = 0; i < u; i++)
        z->cdf[i] /= acc;
}

static uint32_t zipf_draw(const zipf *z)
{
    double r = unif();
    uint32_t lo = 0, hi = z->u - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] < r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Check the Space-Saving guarantees of t against exact counts truth[0..u) of a stream
 * of total occurrences (values "v<id>"). */
static void check_guarantees(const char *what, const assay_topk *t, const uint64_t *truth,
                             uint32_t u, uint64_t total, uint32_t k)
{
    assert_int_equal(assay_topk_total(t), total);
    uint32_t size = assay_topk_size(t);
    assert_true(size <= k);
    assay_topk_item *items = malloc((size + 1) * sizeof(*items));
    assert_non_null(items);
    size_t n = assay_topk_list(t, items, size + 1);
    assert_int_equal(n, size);
    bool *listed = calloc(u, 1);
    assert_non_null(listed);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = id_of(&items[i]);
        assert_true(id < u);
        if (listed[id]) {
            print_error("%s: value v%u listed twice\n", what, id);
            fail();
        }
        listed[id] = true;
        uint64_t c = items[i].count, e = items[i].error, tr = truth[id];
        if (!(tr <= c && c <= tr + e) || e * k > total) {
            print_error("%s: v%u true %llu, reported count %llu error %llu, N/k = %.1f\n", what, id,
                        (unsigned long long)tr, (unsigned long long)c, (unsigned long long)e,
                        (double)total / k);
            fail();
        }
        if (assay_topk_exact(t) && (e != 0 || c != tr)) {
            print_error("%s: exact sketch but v%u true %llu count %llu error %llu\n", what, id,
                        (unsigned long long)tr, (unsigned long long)c, (unsigned long long)e);
            fail();
        }
        if (i > 0) { /* list order: count desc, then bytes asc */
            int ord = items[i - 1].count != items[i].count
                          ? (items[i - 1].count > items[i].count ? -1 : 1)
                          : memcmp(items[i - 1].value, items[i].value,
                                   ASSAY_MIN(items[i - 1].len, items[i].len));
            if (ord == 0)
                ord = items[i - 1].len < items[i].len ? -1 : 1;
            assert_true(ord < 0);
        }
        sum += c;
    }
    /* Counters never sum above N (so the minimum is <= N / k). */
    assert_true(sum <= total);
    for (uint32_t id = 0; id < u; id++) {
        if (truth[id] * k > total && !listed[id]) {
            print_error("%s: heavy hitter v%u (true %llu > N/k = %.1f) is missing\n", what, id,
                        (unsigned long long)truth[id], (double)total / k);
            fail();
        }
        if (assay_topk_exact(t) && truth[id] > 0 && !listed[id]) {
            print_error("%s: exact sketch misses v%u\n", what, id);
            fail();
        }
    }
    free(listed);
    free(items);
}

/* ---- tests ---- */

static void test_new_params(void **state)
{
    (void)state;
    assay_topk *t = (assay_topk *)1;
    assert_int_equal(assay_topk_new(&t, 0, 256), -EINVAL);
    assert_null(t);
    assert_int_equal(assay_topk_new(&t, 64, 0), -EINVAL);
    assert_int_equal(assay_topk_new(&t, 1u << 21, 16), -EINVAL);
    assert_int_equal(assay_topk_new(&t, 1u << 20, 1u << 20), -EINVAL); /* 1 TiB arena */
    assert_int_equal(assay_topk_new(&t, 1, 1), 0);
    assert_int_equal(assay_topk_size(t), 0);
    assert_int_equal(assay_topk_total(t), 0);
    assert_true(assay_topk_exact(t));
    assay_topk_item it;
    assert_int_equal(assay_topk_list(t, &it, 1), 0);
    assay_topk_free(t);
    assay_topk_free(NULL);
}

/* <= k distinct values: exact counts, error 0, deterministic order. */
static void test_exact_mode(void **state)
{
    (void)state;
    const uint32_t k = 64;
    uint32_t us[] = { 1, 20, 63, 64 };
    for (size_t ui = 0; ui < ASSAY_ARRAY_LEN(us); ui++) {
        uint32_t u = us[ui];
        uint64_t truth[64] = { 0 };
        assay_topk *t;
        assert_int_equal(assay_topk_new(&t, k, 256), 0);
        uint64_t total = 0;
        for (int i = 0; i < 30000; i++) {
            uint32_t id = (uint32_t)(rnd() % u);
            if (rnd() & 1)
                id = (uint32_t)(rnd() % (u / 4 + 1)); /* skew it */
            truth[id]++;
            total++;
            add_id(t, id);
        }
        assert_true(assay_topk_exact(t));
        uint32_t distinct = 0;
        for (uint32_t i = 0; i < u; i++)
            distinct += truth[i] > 0;
        assert_int_equal(assay_topk_size(t), distinct);
        char what[64];
        snprintf(what, sizeof(what), "exact mode, %u distinct", u);
        check_guarantees(what, t, truth, u, total, k);
        /* one more distinct value than k ends exactness */
        if (distinct == k) {
            add_id(t, 1000);
            assert_false(assay_topk_exact(t));
            assert_int_equal(assay_topk_size(t), k);
        }
        assay_topk_free(t);
    }
}

/* Ties are ordered by value bytes (a proper prefix first), whatever the input order. */
static void test_order_ties(void **state)
{
    (void)state;
    static const char *const vals[] = { "b", "a", "ab", "", "B", "ab\x80", "zz" };
    static const int counts[] = { 3, 3, 3, 3, 3, 3, 5 };
    static const char *const want[] = { "zz", "", "B", "a", "ab", "ab\x80", "b" };
    for (int perm = 0; perm < 20; perm++) {
        assay_topk *t;
        assert_int_equal(assay_topk_new(&t, 8, 16), 0);
        int left[7];
        memcpy(left, counts, sizeof(left));
        int remaining = 0;
        for (int i = 0; i < 7; i++)
            remaining += left[i];
        while (remaining > 0) {
            int i = (int)(rnd() % 7);
            if (!left[i])
                continue;
            left[i]--;
            remaining--;
            size_t len = strlen(vals[i]);
            /* the empty value comes with a NULL pointer half of the time */
            const char *p = len == 0 && (rnd() & 1) ? NULL : vals[i];
            assay_topk_add(t, p, (uint32_t)len, assay_hash_bytes(vals[i], len));
        }
        assay_topk_item items[8];
        size_t n = assay_topk_list(t, items, 8);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++) {
            if (items[i].len != strlen(want[i]) ||
                memcmp(items[i].value, want[i], items[i].len) != 0) {
                print_error("position %zu: got \"%.*s\", want \"%s\"\n", i, (int)items[i].len,
                            items[i].value, want[i]);
                fail();
            }
            assert_int_equal(items[i].count, i == 0 ? 5 : 3);
            assert_int_equal(items[i].error, 0);
        }
        /* asking for fewer gives the first ones */
        n = assay_topk_list(t, items, 3);
        assert_int_equal(n, 3);
        assert_int_equal(items[2].len, 1);
        assert_memory_equal(items[2].value, "B", 1);
        assay_topk_free(t);
    }
}

/* Zipf streams with many more distinct values than counters. */
static void test_zipf_guarantees(void **state)
{
    (void)state;
    const uint32_t u = 50000;
    double exps[] = { 0.8, 1.1, 1.5 };
    uint32_t ks[] = { 16, 64, 200 };
    size_t n = long_run() ? 2000000 : 200000;
    zipf z;
    uint64_t *truth = malloc(u * sizeof(uint64_t));
    assert_non_null(truth);
    for (size_t ei = 0; ei < ASSAY_ARRAY_LEN(exps); ei++) {
        zipf_init(&z, u, exps[ei]);
        for (size_t ki = 0; ki < ASSAY_ARRAY_LEN(ks); ki++) {
            memset(truth, 0, u * sizeof(uint64_t));
            assay_topk *t;
            assert_int_equal(assay_topk_new(&t, ks[ki], 256), 0);
            for (size_t i = 0; i < n; i++) {
                uint32_t id = zipf_draw(&z);
                truth[id]++;
                add_id(t, id);
            }
            assert_false(assay_topk_exact(t));
            assert_int_equal(assay_topk_size(t), ks[ki]);
            char what[64];
            snprintf(what, sizeof(what), "zipf %.1f, k %u", exps[ei], ks[ki]);
            check_guarantees(what, t, truth, u, n, ks[ki]);
            /* Plain Space-Saving: the counters sum to exactly N. */
            assay_topk_item items[200];
            size_t m = assay_topk_list(t, items, 200);
            uint64_t sum = 0;
            for (size_t i = 0; i < m; i++)
                sum += items[i].count;
            assert_int_equal(sum, n);
            /* Every monitored value is still found by the table after all the
             * takeovers: one more add of each raises its count, adds no counter. */
            for (size_t i = 0; i < m; i++) {
                uint64_t before = items[i].count;
                char b[24];
                memcpy(b, items[i].value, items[i].len);
                uint32_t len = items[i].len;
                assay_topk_add(t, b, len, assay_hash_bytes(b, len));
                assay_topk_item after[200];
                size_t m2 = assay_topk_list(t, after, 200);
                bool ok = false;
                for (size_t j = 0; j < m2; j++)
                    if (after[j].len == len && memcmp(after[j].value, b, len) == 0)
                        ok = after[j].count == before + 1;
                if (!ok) {
                    print_error("%s: re-adding \"%.*s\" did not find its counter\n", what, (int)len,
                                b);
                    fail();
                }
            }
            assay_topk_free(t);
        }
        free(z.cdf);
    }
    free(truth);
}

/* Weighted adds: guarantees hold with N = total weight, and w unit adds of a tracked
 * value equal one add of weight w. */
/* Blocks summarized by their exact counts, the way the profile feeds a column once its
 * summary is inexact: the k most frequent of each block whose count exceeds the
 * block's (k+1)-th count F, with F as the bound for the rest. The Space-Saving
 * guarantees must hold, the floor must bound every value left out, and a stream of
 * distinct values must leave no value with a guaranteed count above the floor. */
static void absorb_block(assay_topk *t, const uint32_t *ids, size_t n, uint32_t k)
{
    uint32_t *uniq = malloc(n * sizeof(uint32_t));
    uint64_t *cnt = calloc(n, sizeof(uint64_t));
    assert_non_null(uniq);
    assert_non_null(cnt);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) { /* quadratic, but blocks are small */
        size_t j = 0;
        while (j < nu && uniq[j] != ids[i])
            j++;
        if (j == nu)
            uniq[nu++] = ids[i];
        cnt[j]++;
    }
    uint64_t floor = 0;
    if (nu > k) { /* the (k+1)-th largest count */
        uint64_t *sorted = malloc(nu * sizeof(uint64_t));
        assert_non_null(sorted);
        memcpy(sorted, cnt, nu * sizeof(uint64_t));
        for (size_t a = 0; a <= k; a++)
            for (size_t b = a + 1; b < nu; b++)
                if (sorted[b] > sorted[a]) {
                    uint64_t x = sorted[a];
                    sorted[a] = sorted[b];
                    sorted[b] = x;
                }
        floor = sorted[k];
        free(sorted);
    }
    char(*text)[24] = malloc(nu * sizeof(*text));
    assay_topk_item *it = malloc(nu * sizeof(*it));
    uint64_t *h = malloc(nu * sizeof(uint64_t));
    assert_non_null(text);
    assert_non_null(it);
    assert_non_null(h);
    size_t ni = 0;
    for (size_t j = 0; j < nu; j++) {
        if (floor && cnt[j] <= floor)
            continue;
        uint32_t len = value_of(uniq[j], text[ni]);
        it[ni] = (assay_topk_item){ .value = text[ni], .len = len, .count = cnt[j] };
        h[ni] = assay_hash_bytes(text[ni], len);
        ni++;
    }
    assert_int_equal(assay_topk_absorb(t, it, h, ni, floor, n), 0);
    free(text);
    free(it);
    free(h);
    free(uniq);
    free(cnt);
}

static void test_absorb_blocks(void **state)
{
    (void)state;
    const uint32_t u = 20000, k = 64;
    const size_t n = 60000, block = 1500;
    zipf z;
    zipf_init(&z, u, 1.1);
    uint64_t *truth = calloc(u, sizeof(uint64_t));
    uint32_t *ids = malloc(n * sizeof(uint32_t));
    assert_non_null(truth);
    assert_non_null(ids);
    for (size_t i = 0; i < n; i++)
        truth[ids[i] = zipf_draw(&z)]++;
    assay_topk *t;
    assert_int_equal(assay_topk_new(&t, k, 256), 0);
    size_t i = 0;
    while (i < n && assay_topk_exact(t))
        add_id(t, ids[i++]);
    for (; i < n; i += block)
        absorb_block(t, ids + i, ASSAY_MIN(block, n - i), k);
    check_guarantees("zipf 1.1 in exact blocks, k 64", t, truth, u, n, k);
    uint64_t floor = assay_topk_floor(t);
    assert_true(floor > 0);
    assay_topk_item items[64];
    size_t nl = assay_topk_list(t, items, 64);
    bool *listed = calloc(u, 1);
    assert_non_null(listed);
    for (size_t j = 0; j < nl; j++)
        listed[id_of(&items[j])] = true;
    for (uint32_t id = 0; id < u; id++)
        if (!listed[id] && truth[id] > floor) {
            print_error("v%u occurs %llu times, above the floor %llu, and is not listed\n", id,
                        (unsigned long long)truth[id], (unsigned long long)floor);
            fail();
        }
    /* the most frequent values have guaranteed counts above the floor */
    assert_true(items[0].count - items[0].error > floor);
    assay_topk_free(t);

    /* all distinct: no value is guaranteed more frequent than the floor */
    assert_int_equal(assay_topk_new(&t, k, 256), 0);
    for (i = 0; i < n; i++)
        ids[i] = (uint32_t)i;
    i = 0;
    while (i < n && assay_topk_exact(t))
        add_id(t, ids[i++]);
    for (; i < n; i += block)
        absorb_block(t, ids + i, ASSAY_MIN(block, n - i), k);
    assert_int_equal(assay_topk_total(t), n);
    floor = assay_topk_floor(t);
    nl = assay_topk_list(t, items, 64);
    assert_int_equal(nl, k);
    for (size_t j = 0; j < nl; j++)
        assert_true(items[j].count - items[j].error <= 1 &&
                    items[j].count - items[j].error <= floor);
    assay_topk_free(t);
    /* a bound-only absorb (no items, on a full inexact sketch: the fast path) adds the
     * bound to every counter and its error and keeps the order; an exact summary with
     * free slots refuses it */
    for (int full = 0; full < 2; full++) {
        assay_topk *a;
        assert_int_equal(assay_topk_new(&a, 8, 64), 0);
        for (uint32_t id = 0; id < (full ? 20u : 5u); id++)
            for (uint32_t r = 0; r <= id % 5; r++)
                add_id(a, id);
        assert_int_equal(assay_topk_exact(a), !full);
        assay_topk_item before[8], after[8];
        char keep[8][24];
        size_t nb = assay_topk_list(a, before, 8);
        for (size_t j = 0; j < nb; j++) {
            memcpy(keep[j], before[j].value, before[j].len);
            before[j].value = keep[j];
        }
        uint64_t tot = assay_topk_total(a);
        if (!full) { /* an exact, half-empty summary cannot take a bare bound */
            assert_int_equal(assay_topk_absorb(a, NULL, NULL, 0, 3, 50), -EINVAL);
            assert_true(assay_topk_exact(a));
            assay_topk_free(a);
            continue;
        }
        assert_int_equal(assay_topk_absorb(a, NULL, NULL, 0, 3, 50), 0);
        assert_int_equal(assay_topk_total(a), tot + 50);
        assert_false(assay_topk_exact(a));
        assert_int_equal(assay_topk_list(a, after, 8), nb);
        for (size_t j = 0; j < nb; j++) {
            assert_int_equal(after[j].len, before[j].len);
            assert_memory_equal(after[j].value, before[j].value, before[j].len);
            assert_int_equal(after[j].count, before[j].count + 3);
            assert_int_equal(after[j].error, before[j].error + 3);
        }
        assay_topk_free(a);
    }
    free(listed);
    free(ids);
    free(truth);
    free(z.cdf);
}

static void test_weighted(void **state)
{
    (void)state;
    const uint32_t u = 20000;
    zipf z;
    zipf_init(&z, u, 1.1);
    uint64_t *truth = calloc(u, sizeof(uint64_t));
    assert_non_null(truth);
    assay_topk *t, *a, *b;
    assert_int_equal(assay_topk_new(&t, 64, 256), 0);
    uint64_t total = 0;
    for (size_t i = 0; i < 100000; i++) {
        uint32_t id = zipf_draw(&z);
        uint64_t w = 1 + (uint64_t)(rnd() % 16);
        truth[id] += w;
        total += w;
        char v[24];
        uint32_t len = value_of(id, v);
        assay_topk_add_weighted(t, v, len, assay_hash_bytes(v, len), w);
    }
    check_guarantees("weighted zipf 1.1, k 64", t, truth, u, total, 64);
    assay_topk_free(t);
    free(truth);
    free(z.cdf);

    assert_int_equal(assay_topk_new(&a, 8, 64), 0);
    assert_int_equal(assay_topk_new(&b, 8, 64), 0);
    for (uint32_t id = 0; id < 5; id++) {
        char v[24];
        uint32_t len = value_of(id, v);
        uint64_t h = assay_hash_bytes(v, len);
        assay_topk_add_weighted(a, v, len, h, 7 + id);
        for (uint32_t k = 0; k < 7 + id; k++)
            assay_topk_add(b, v, len, h);
    }
    assay_topk_item ia[8], ib[8];
    size_t na = assay_topk_list(a, ia, 8), nb = assay_topk_list(b, ib, 8);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(ia[i].count, ib[i].count);
        assert_memory_equal(ia[i].value, ib[i].value, ia[i].len);
    }
    assert_true(assay_topk_exact(a));
    assay_topk_free(a);
    assay_topk_free(b);
}

/* A hash that collides a lot must not merge different values (bytes are compared) and
 * must survive takeovers (backward-shift deletion with many equal homes, in a cluster
 * at the start of the table and in one that wraps around its end). */
static void test_bad_hash(void **state)
{
    (void)state;
    const uint32_t u = 300, k = 32;
    for (int wrap = 0; wrap < 2; wrap++) {
        uint64_t truth[300] = { 0 };
        assay_topk *t;
        assert_int_equal(assay_topk_new(&t, k, 64), 0);
        zipf z;
        zipf_init(&z, u, 1.2);
        size_t n = 50000;
        for (size_t i = 0; i < n; i++) {
            uint32_t id = zipf_draw(&z);
            truth[id]++;
            char b[24];
            uint32_t len = value_of(id, b);
            /* five hash values for 300 strings */
            uint64_t h = wrap ? UINT64_MAX - id % 5 : id % 5;
            assay_topk_add(t, b, len, h);
        }
        check_guarantees(wrap ? "colliding hashes at the table end" : "colliding hashes", t, truth,
                         u, n, k);
        /* every counter is still reachable */
        assay_topk_item items[32];
        size_t m = assay_topk_list(t, items, 32);
        uint64_t before = assay_topk_total(t);
        for (size_t i = 0; i < m; i++) {
            uint32_t id = id_of(&items[i]);
            char b[24];
            uint32_t len = value_of(id, b);
            assay_topk_add(t, b, len, wrap ? UINT64_MAX - id % 5 : id % 5);
            truth[id]++;
        }
        assert_int_equal(assay_topk_size(t), k);
        check_guarantees("colliding hashes, re-added", t, truth, u, before + m, k);
        assay_topk_item after[32];
        assert_int_equal(assay_topk_list(t, after, 32), m);
        for (size_t i = 0; i < m; i++) {
            bool found = false;
            for (size_t j = 0; j < m; j++)
                if (id_of(&after[j]) == id_of(&items[i])) {
                    found = true;
                    assert_int_equal(after[j].count, items[i].count + 1);
                }
            assert_true(found);
        }
        free(z.cdf);
        assay_topk_free(t);
    }
}

/* The floor substitution of the merge: X is frequent in A but was pushed out of A's
 * counters by many distinct values; B counts X often. Whichever way they merge, X's
 * count must cover its occurrences in A too (true <= count). */
static void test_merge_floor(void **state)
{
    (void)state;
    const uint32_t k = 4, u = 200;
    for (int dir = 0; dir < 2; dir++) {
        uint64_t truth[200] = { 0 };
        assay_topk *a, *b;
        assert_int_equal(assay_topk_new(&a, k, 16), 0);
        assert_int_equal(assay_topk_new(&b, k, 16), 0);
        for (int i = 0; i < 5; i++) {
            add_id(a, 0);
            truth[0]++;
        }
        for (uint32_t id = 1; id < 150; id++) {
            add_id(a, id);
            truth[id]++;
        }
        for (int i = 0; i < 200; i++) { /* a heavy hitter overall: 205 > N / k = 101 */
            add_id(b, 0);
            truth[0]++;
        }
        for (uint32_t id = 150; id < 200; id++) {
            add_id(b, id);
            truth[id]++;
        }
        /* X (v0) is no longer monitored in A */
        assay_topk_item items[4];
        size_t m = assay_topk_list(a, items, 4);
        for (size_t i = 0; i < m; i++)
            assert_int_not_equal(id_of(&items[i]), 0);
        uint64_t total = assay_topk_total(a) + assay_topk_total(b);
        if (dir == 0) {
            assert_int_equal(assay_topk_merge(a, b), 0);
            check_guarantees("floor merge A <- B", a, truth, u, total, k);
        } else {
            assert_int_equal(assay_topk_merge(b, a), 0);
            check_guarantees("floor merge B <- A", b, truth, u, total, k);
        }
        assay_topk_free(a);
        assay_topk_free(b);
    }
}

/* Split a Zipf stream at random points, summarise each part, merge in random order:
 * the guarantees hold for the whole stream. */
static void test_merge_splits(void **state)
{
    (void)state;
    const uint32_t u = 20000, k = 64;
    size_t n = long_run() ? 1000000 : 120000;
    int trials = long_run() ? 20 : 6;
    zipf z;
    zipf_init(&z, u, 1.05);
    uint32_t *stream = malloc(n * sizeof(uint32_t));
    uint64_t *truth = calloc(u, sizeof(uint64_t));
    assert_non_null(stream);
    assert_non_null(truth);
    for (size_t i = 0; i < n; i++) {
        stream[i] = zipf_draw(&z);
        truth[stream[i]]++;
    }
    for (int trial = 0; trial < trials; trial++) {
        int parts = 2 + (int)(rnd() % 15);
        size_t cuts[17];
        cuts[0] = 0;
        cuts[parts] = n;
        for (int i = 1; i < parts; i++)
            cuts[i] = rnd() % (n + 1);
        for (int i = 1; i < parts; i++)
            for (int j = i; j > 1 && cuts[j] < cuts[j - 1]; j--) {
                size_t tmp = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = tmp;
            }
        assay_topk *part[16];
        for (int i = 0; i < parts; i++) {
            assert_int_equal(assay_topk_new(&part[i], k, 256), 0);
            for (size_t j = cuts[i]; j < cuts[i + 1]; j++)
                add_id(part[i], stream[j]);
        }
        /* merge as a random binary tree: repeatedly merge two random survivors */
        int alive = parts;
        while (alive > 1) {
            int a = (int)(rnd() % (uint64_t)alive), b = (int)(rnd() % (uint64_t)(alive - 1));
            if (b >= a)
                b++;
            assert_int_equal(assay_topk_merge(part[a], part[b]), 0);
            assay_topk_free(part[b]);
            part[b] = part[alive - 1];
            alive--;
        }
        char what[64];
        snprintf(what, sizeof(what), "merge of %d parts (trial %d)", parts, trial);
        check_guarantees(what, part[0], truth, u, n, k);
        assay_topk_free(part[0]);
    }
    free(stream);
    free(truth);
    free(z.cdf);
}

/* Exact sketches merge exactly while the union has <= k values, and the result lists
 * the same as one sketch over everything. */
static void test_merge_exact(void **state)
{
    (void)state;
    const uint32_t k = 40;
    assay_topk *a, *b, *whole;
    assert_int_equal(assay_topk_new(&a, k, 256), 0);
    assert_int_equal(assay_topk_new(&b, k, 256), 0);
    assert_int_equal(assay_topk_new(&whole, k, 256), 0);
    uint64_t truth[40] = { 0 };
    for (int i = 0; i < 5000; i++) {
        uint32_t id = (uint32_t)(rnd() % 40);
        truth[id]++;
        add_id(id < 25 && (rnd() & 1) ? a : b, id);
        add_id(whole, id);
    }
    assert_int_equal(assay_topk_merge(a, b), 0);
    assert_true(assay_topk_exact(a));
    check_guarantees("exact merge", a, truth, 40, 5000, k);
    assay_topk_item x[40], y[40];
    size_t nx = assay_topk_list(a, x, 40), ny = assay_topk_list(whole, y, 40);
    assert_int_equal(nx, ny);
    for (size_t i = 0; i < nx; i++) {
        assert_int_equal(x[i].count, y[i].count);
        assert_int_equal(x[i].len, y[i].len);
        assert_memory_equal(x[i].value, y[i].value, x[i].len);
    }
    /* Merging an empty sketch changes nothing; merging into an empty one copies. */
    assay_topk *e;
    assert_int_equal(assay_topk_new(&e, k, 256), 0);
    assert_int_equal(assay_topk_merge(a, e), 0);
    assert_int_equal(assay_topk_merge(e, a), 0);
    check_guarantees("merge into empty", e, truth, 40, 5000, k);
    /* Self-merge doubles every count. */
    assert_int_equal(assay_topk_merge(e, e), 0);
    for (int i = 0; i < 40; i++)
        truth[i] *= 2;
    check_guarantees("self merge", e, truth, 40, 10000, k);
    assay_topk_free(e);
    /* Two exact sketches whose union exceeds k: inexact, guarantees hold. */
    assay_topk *c, *d;
    assert_int_equal(assay_topk_new(&c, 8, 256), 0);
    assert_int_equal(assay_topk_new(&d, 8, 256), 0);
    uint64_t t2[16] = { 0 };
    for (int i = 0; i < 2000; i++) {
        uint32_t id = (uint32_t)(rnd() % 8);
        t2[id]++;
        add_id(c, id);
        uint32_t id2 = 8 + (uint32_t)(rnd() % 8) / (1 + (uint32_t)(rnd() % 3));
        t2[id2]++;
        add_id(d, id2);
    }
    assert_true(assay_topk_exact(c) && assay_topk_exact(d));
    assert_int_equal(assay_topk_merge(c, d), 0);
    assert_false(assay_topk_exact(c));
    check_guarantees("exact + exact > k", c, t2, 16, 4000, 8);
    assay_topk_free(c);
    assay_topk_free(d);
    assay_topk_free(a);
    assay_topk_free(b);
    assay_topk_free(whole);
}

/* Values longer than max_value_len are stored and counted as their prefix, whatever
 * hash the caller passed for the full value; merge re-truncates to dst's length. */
static void test_truncation(void **state)
{
    (void)state;
    assay_topk *t;
    assert_int_equal(assay_topk_new(&t, 4, 8), 0);
    const char *vs[] = { "abcdefghXYZ", "abcdefghQQ", "abcdefgh", "abcdefg" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(vs); i++)
        assay_topk_add(t, vs[i], (uint32_t)strlen(vs[i]), assay_hash_bytes(vs[i], strlen(vs[i])));
    assay_topk_item it[4];
    size_t n = assay_topk_list(t, it, 4);
    assert_int_equal(n, 2);
    assert_int_equal(it[0].len, 8);
    assert_memory_equal(it[0].value, "abcdefgh", 8);
    assert_int_equal(it[0].count, 3);
    assert_int_equal(it[1].len, 7);
    assert_int_equal(it[1].count, 1);
    assert_true(assay_topk_exact(t));

    /* A long-value sketch merged into a short-value one: two src values that share the
     * 8-byte prefix become one. */
    assay_topk *l;
    assert_int_equal(assay_topk_new(&l, 4, 64), 0);
    const char *lv[] = { "abcdefgh-one", "abcdefgh-two", "abcdefgh-two", "zz" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(lv); i++)
        assay_topk_add(l, lv[i], (uint32_t)strlen(lv[i]), assay_hash_bytes(lv[i], strlen(lv[i])));
    assert_int_equal(assay_topk_size(l), 3);
    assert_int_equal(assay_topk_merge(t, l), 0);
    n = assay_topk_list(t, it, 4);
    assert_int_equal(n, 3);
    assert_memory_equal(it[0].value, "abcdefgh", 8);
    assert_int_equal(it[0].len, 8);
    assert_int_equal(it[0].count, 6);
    assert_int_equal(assay_topk_total(t), 8);
    assert_true(assay_topk_exact(t));
    assay_topk_free(l);
    assay_topk_free(t);
}

/* ---- serialization ---- */

static void roundtrip(assay_topk *t)
{
    uint8_t *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    assert_int_equal(assay_topk_serialize(t, &buf, &len), 0);
    assay_topk *back = NULL;
    assay_error err = { 0 };
    int rc = assay_topk_deserialize(buf, len, &back, &err);
    if (rc)
        print_error("deserialize: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(assay_topk_total(back), assay_topk_total(t));
    assert_int_equal(assay_topk_size(back), assay_topk_size(t));
    assert_int_equal(assay_topk_exact(back), assay_topk_exact(t));
    assert_int_equal(assay_topk_serialize(back, &buf2, &len2), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    /* the copy keeps counting exactly like the original (takeovers included) */
    for (int i = 0; i < 300; i++) {
        uint32_t id = (uint32_t)(rnd() % 2000);
        if (rnd() & 1)
            id %= 10;
        add_id(t, id);
        add_id(back, id);
    }
    free(buf2);
    assert_int_equal(assay_topk_serialize(back, &buf2, &len2), 0);
    free(buf);
    assert_int_equal(assay_topk_serialize(t, &buf, &len), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    free(buf);
    free(buf2);
    assay_topk_free(back);
}

static void test_serialize_roundtrip(void **state)
{
    (void)state;
    assay_topk *t;
    assert_int_equal(assay_topk_new(&t, 16, 32), 0);
    roundtrip(t); /* empty */
    for (int i = 0; i < 100; i++)
        add_id(t, (uint32_t)(rnd() % 10));
    roundtrip(t); /* exact */
    zipf z;
    zipf_init(&z, 1000, 1.1);
    for (int i = 0; i < 5000; i++)
        add_id(t, zipf_draw(&z));
    assert_false(assay_topk_exact(t));
    roundtrip(t); /* inexact */
    free(z.cdf);
    assay_topk_free(t);
}

/* ---- corrupted inputs ---- */

typedef struct item_spec {
    uint64_t count, error;
    const char *value;
} item_spec;

/* Build a serialized top-k by hand. */
static size_t build(uint8_t *out, uint32_t k, uint32_t maxlen, uint64_t total, uint32_t n,
                    uint8_t exact, const item_spec *items, size_t nitems)
{
    uint8_t *p = out + ASSAY_SKETCH_HEADER;
    memset(p, 0, 24);
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(k >> (8 * i));
        p[4 + i] = (uint8_t)(maxlen >> (8 * i));
        p[16 + i] = (uint8_t)(n >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        p[8 + i] = (uint8_t)(total >> (8 * i));
    p[20] = exact;
    uint8_t *q = p + 24;
    for (size_t j = 0; j < nitems; j++) {
        uint32_t len = (uint32_t)strlen(items[j].value);
        for (int i = 0; i < 8; i++) {
            q[i] = (uint8_t)(items[j].count >> (8 * i));
            q[8 + i] = (uint8_t)(items[j].error >> (8 * i));
        }
        for (int i = 0; i < 4; i++)
            q[16 + i] = (uint8_t)(len >> (8 * i));
        memcpy(q + 20, items[j].value, len);
        q += 20 + len;
    }
    size_t plen = (size_t)(q - p);
    assay_sketch_header_write(out, ASSAY_SKETCH_TOPK, 1, plen);
    return ASSAY_SKETCH_HEADER + plen;
}

static void expect_reject(const char *name, const uint8_t *buf, size_t len, const char *expect)
{
    /* exact-size heap copy so ASan catches any read past the end */
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, buf, len);
    assay_topk *t = (assay_topk *)1;
    assay_error err = { 0 };
    int rc = assay_topk_deserialize(len ? copy : NULL, len, &t, &err);
    if (rc != -EINVAL || !strstr(err.msg, expect)) {
        print_error("%s: rc %d, message \"%s\", expected -EINVAL and \"%s\"\n", name, rc, err.msg,
                    expect);
        fail();
    }
    assert_null(t);
    free(copy);
}

static void test_serialize_corrupt(void **state)
{
    (void)state;
    uint8_t buf[1024];
    assay_topk *t = NULL;
    assay_error err = { 0 };

    /* The hand builder agrees with the real thing. */
    static const item_spec good[] = { { 5, 0, "a" }, { 4, 0, "bb" }, { 1, 0, "c" } };
    size_t len = build(buf, 3, 8, 10, 3, 1, good, 3);
    assert_int_equal(assay_topk_deserialize(buf, len, &t, &err), 0);
    assay_topk_free(t);
    static const item_spec inexact[] = { { 5, 1, "a" }, { 4, 0, "bb" }, { 3, 2, "c" } };
    len = build(buf, 3, 8, 20, 3, 0, inexact, 3);
    assert_int_equal(assay_topk_deserialize(buf, len, &t, &err), 0);
    assay_topk_free(t);

    /* Every truncation of a valid input, and one byte too many. */
    len = build(buf, 3, 8, 10, 3, 1, good, 3);
    for (size_t l = 0; l < len; l++)
        expect_reject("truncated", buf, l, "top-k");
    buf[len] = 0;
    expect_reject("one byte more", buf, len + 1, "payload bytes");

    /* Header. */
    static const struct {
        int off;
        uint8_t val;
        const char *expect;
    } hdr[] = {
        { 0, 'a', "magic" },  { 4, ASSAY_SKETCH_MOMENTS, "kind" }, { 5, 2, "version" },
        { 6, 1, "reserved" }, { 8, 0, "payload bytes" },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(hdr); i++) {
        len = build(buf, 3, 8, 10, 3, 1, good, 3);
        buf[hdr[i].off] = hdr[i].val;
        expect_reject(hdr[i].expect, buf, len, hdr[i].expect);
    }

    /* Payload fields. */
    len = build(buf, 0, 8, 10, 0, 1, NULL, 0);
    expect_reject("k = 0", buf, len, "out of range");
    len = build(buf, 3, 0, 10, 0, 1, NULL, 0);
    expect_reject("max_value_len = 0", buf, len, "out of range");
    len = build(buf, 1u << 21, 8, 10, 0, 1, NULL, 0);
    expect_reject("k too large", buf, len, "out of range");
    len = build(buf, 1u << 20, 1u << 20, 10, 0, 1, NULL, 0);
    expect_reject("arena too large", buf, len, "out of range");
    len = build(buf, 3, 8, 10, 3, 2, good, 3);
    expect_reject("flags 2", buf, len, "flags");
    len = build(buf, 3, 8, 10, 3, 1, good, 3);
    buf[ASSAY_SKETCH_HEADER + 22] = 1;
    expect_reject("reserved", buf, len, "reserved");
    len = build(buf, 2, 8, 10, 3, 1, good, 3);
    expect_reject("n > k", buf, len, "but k");
    len = build(buf, 4, 8, 20, 3, 0, inexact, 3);
    expect_reject("inexact with n < k", buf, len, "not k");
    len = build(buf, 4, 8, 10, 4, 1, good, 3);
    expect_reject("n beyond the data", buf, len, "ends inside item 3");
    len = build(buf, 3, 8, 10, 2, 1, good, 3);
    expect_reject("trailing item", buf, len, "after the last item");
    len = build(buf, 3, 1, 10, 3, 1, good, 3);
    expect_reject("value longer than max_value_len", buf, len, "max_value_len 1");
    len = build(buf, 3, 8, 10, 3, 1, good, 3);
    buf[ASSAY_SKETCH_HEADER + 24 + 20 + 1 + 16] = 200; /* item 1's length: past the end */
    expect_reject("length past the end", buf, len, "left");
    static const item_spec zero[] = { { 5, 0, "a" }, { 0, 0, "b" } };
    len = build(buf, 3, 8, 5, 2, 1, zero, 2);
    expect_reject("count 0", buf, len, "count 0");
    static const item_spec errbig[] = { { 5, 5, "a" }, { 4, 0, "b" }, { 3, 0, "c" } };
    len = build(buf, 3, 8, 20, 3, 0, errbig, 3);
    expect_reject("error >= count", buf, len, "error 5");
    static const item_spec exerr[] = { { 5, 1, "a" }, { 4, 0, "b" } };
    len = build(buf, 3, 8, 9, 2, 1, exerr, 2);
    expect_reject("exact with error", buf, len, "exact summary with error");
    static const item_spec order[] = { { 4, 0, "a" }, { 5, 0, "b" } };
    len = build(buf, 3, 8, 9, 2, 1, order, 2);
    expect_reject("count order", buf, len, "out of order");
    static const item_spec order2[] = { { 4, 0, "b" }, { 4, 0, "a" } };
    len = build(buf, 3, 8, 8, 2, 1, order2, 2);
    expect_reject("tie order", buf, len, "out of order");
    static const item_spec dup_adj[] = { { 4, 0, "a" }, { 4, 0, "a" } };
    len = build(buf, 3, 8, 8, 2, 1, dup_adj, 2);
    expect_reject("adjacent duplicate", buf, len, "out of order or repeated");
    static const item_spec dup[] = { { 5, 0, "a" }, { 4, 0, "b" }, { 3, 0, "a" } };
    len = build(buf, 3, 8, 12, 3, 1, dup, 3);
    expect_reject("duplicate", buf, len, "repeats");
    len = build(buf, 3, 8, 9, 3, 1, good, 3);
    expect_reject("sum > total", buf, len, "more than the total");
    len = build(buf, 3, 8, UINT64_MAX, 3, 0,
                (const item_spec[]){ { UINT64_MAX - 1, 0, "a" }, { 3, 0, "b" }, { 2, 0, "c" } }, 3);
    expect_reject("sum overflows", buf, len, "more than the total");
    len = build(buf, 3, 8, 11, 3, 1, good, 3);
    expect_reject("exact sum != total", buf, len, "add up to 10");
    static const item_spec errmin[] = { { 9, 4, "a" }, { 4, 0, "b" }, { 3, 0, "c" } };
    len = build(buf, 3, 8, 20, 3, 0, errmin, 3);
    expect_reject("error above the minimum", buf, len, "above the minimum count 3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_params),        cmocka_unit_test(test_exact_mode),
        cmocka_unit_test(test_order_ties),        cmocka_unit_test(test_zipf_guarantees),
        cmocka_unit_test(test_bad_hash),          cmocka_unit_test(test_merge_floor),
        cmocka_unit_test(test_merge_splits),      cmocka_unit_test(test_merge_exact),
        cmocka_unit_test(test_truncation),        cmocka_unit_test(test_serialize_roundtrip),
        cmocka_unit_test(test_serialize_corrupt), cmocka_unit_test(test_weighted),
        cmocka_unit_test(test_absorb_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
