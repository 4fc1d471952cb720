/* Tests for the 64-bit hash set (src/core/hashset.c), against a chained hash table
 * kept here as the reference.
 *
 * `test_hashset --bench` instead measures ns/insert of single and batched inserts of
 * 10M random keys (no assertions on time anywhere). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/hashset.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- reference: chained hash table, key 0 folded into 1 like the set documents ---- */

struct ref_node {
    uint64_t key, val;
    int next;
};

struct ref {
    int heads[4096];
    struct ref_node *nodes;
    size_t count, cap;
};

static void ref_init(struct ref *r)
{
    memset(r->heads, -1, sizeof(r->heads));
    r->nodes = NULL;
    r->count = r->cap = 0;
}

static struct ref_node *ref_find(struct ref *r, uint64_t key)
{
    key = key ? key : 1;
    for (int i = r->heads[(key ^ (key >> 29)) & 4095]; i >= 0; i = r->nodes[i].next)
        if (r->nodes[i].key == key)
            return &r->nodes[i];
    return NULL;
}

/* Same contract as assay_hashset_insert (no cap). */
static int ref_insert(struct ref *r, uint64_t key, uint64_t val, uint64_t *old)
{
    struct ref_node *nd = ref_find(r, key);
    if (nd) {
        *old = nd->val;
        if (val < nd->val)
            nd->val = val;
        return 0;
    }
    key = key ? key : 1;
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->nodes = realloc(r->nodes, r->cap * sizeof(*r->nodes));
        assert_non_null(r->nodes);
    }
    size_t b = (key ^ (key >> 29)) & 4095;
    r->nodes[r->count] = (struct ref_node){ key, val, r->heads[b] };
    r->heads[b] = (int)r->count++;
    return 1;
}

static void ref_free(struct ref *r)
{
    free(r->nodes);
}

/* Payload stored for key: insert it again with the largest payload, which keeps the
 * stored one and reports it. */
static uint64_t stored_val(assay_hashset *s, uint64_t key)
{
    uint64_t old = 0;
    assert_int_equal(assay_hashset_insert(s, key, UINT64_MAX, &old), 0);
    return old;
}

/* Keys from a pool of `distinct` random values (plus 0 and 1), so most repeat. */
static uint64_t *random_keys(size_t n, size_t distinct)
{
    uint64_t *pool = malloc(distinct * sizeof(*pool));
    uint64_t *keys = malloc(n * sizeof(*keys));
    for (size_t i = 0; i < distinct; i++)
        pool[i] = rnd();
    pool[0] = 0;
    if (distinct > 1)
        pool[1] = 1;
    if (distinct > 2)
        pool[2] = 2; /* small keys: exercise the multiplicative home slot */
    for (size_t i = 0; i < n; i++)
        keys[i] = pool[rnd() % distinct];
    free(pool);
    return keys;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_against_reference(void **state)
{
    (void)state;
    static const size_t distinct[] = { 1, 3, 100, 5000, 60000 };
    for (size_t d = 0; d < ASSAY_ARRAY_LEN(distinct); d++) {
        size_t n = 100000;
        uint64_t *keys = random_keys(n, distinct[d]);
        assay_hashset *s = NULL;
        assert_int_equal(assay_hashset_new(&s, d == 4 ? 100000 : 0, 0), 0);
        struct ref r;
        ref_init(&r);
        for (size_t i = 0; i < n; i++) {
            uint64_t val = rnd() % 1000000, old_s = 7, old_r = 7;
            int want = ref_insert(&r, keys[i], val, &old_r);
            int got = assay_hashset_insert(s, keys[i], val, &old_s);
            if (got != want)
                fail_msg("insert %zu of key %#llx: got %d want %d", i, (unsigned long long)keys[i],
                         got, want);
            if (want == 0)
                assert_int_equal(old_s, old_r);
            assert_int_equal(assay_hashset_size(s), r.count);
            /* load factor <= 3/4: at least 4/3 slots of 16 bytes per key */
            assert_true(assay_hashset_memory(s) * 3 >= 64 * r.count);
        }
        /* every stored key with its minimum payload */
        for (size_t k = 0; k < r.count; k++) {
            assert_true(assay_hashset_contains(s, r.nodes[k].key));
            assert_int_equal(stored_val(s, r.nodes[k].key), r.nodes[k].val);
        }
        /* absent keys */
        for (int k = 0; k < 10000; k++) {
            uint64_t key = rnd();
            assert_int_equal(assay_hashset_contains(s, key), ref_find(&r, key) != NULL);
        }
        assert_int_equal(assay_hashset_size(s), r.count);
        ref_free(&r);
        assay_hashset_free(s);
        free(keys);
    }
}

static void test_key_zero(void **state)
{
    (void)state;
    assay_hashset *s = NULL;
    assert_int_equal(assay_hashset_new(&s, 0, 0), 0);
    assert_false(assay_hashset_contains(s, 0));
    assert_false(assay_hashset_contains(s, 1));
    assert_int_equal(assay_hashset_insert(s, 0, 5, NULL), 1);
    assert_true(assay_hashset_contains(s, 0));
    /* documented: 0 and 1 are one key */
    assert_true(assay_hashset_contains(s, 1));
    uint64_t old = 0;
    assert_int_equal(assay_hashset_insert(s, 1, 3, &old), 0);
    assert_int_equal(old, 5);
    assert_int_equal(assay_hashset_insert(s, 0, 9, &old), 0);
    assert_int_equal(old, 3);
    assert_int_equal(assay_hashset_size(s), 1);
    assert_false(assay_hashset_contains(s, 2));
    assay_hashset_free(s);
}

/* Fill with distinct keys until -ENOSPC; memory never above the cap. Returns the
 * number of keys that went in. */
static size_t fill_until_full(assay_hashset *s, size_t cap, uint64_t *keys, size_t max)
{
    size_t in = 0;
    for (size_t i = 0; i < max; i++) {
        keys[i] = rnd() | 2;
        int rc = assay_hashset_insert(s, keys[i], i, NULL);
        if (cap)
            assert_true(assay_hashset_memory(s) <= cap);
        if (rc == -ENOSPC) {
            /* refused key not stored, set unchanged */
            assert_false(assay_hashset_contains(s, keys[i]));
            assert_int_equal(assay_hashset_size(s), in);
            return in;
        }
        assert_int_equal(rc, 1);
        in++;
    }
    return in;
}

static void test_cap(void **state)
{
    (void)state;
    static const struct {
        size_t initial, cap, slots; /* slots the capped table ends with */
    } cases[] = {
        { 0, 4096, 256 },           { 1000000, 4096, 256 }, { 0, 10000, 512 },
        { 100, 1 << 20, 65536 },    { 0, 300, 16 },         { 5, 256, 16 },
        { 100000, 1 << 20, 65536 },
    };
    uint64_t *keys = malloc(70000 * sizeof(*keys));
    for (size_t c = 0; c < ASSAY_ARRAY_LEN(cases); c++) {
        assay_hashset *s = NULL;
        assert_int_equal(assay_hashset_new(&s, cases[c].initial, cases[c].cap), 0);
        assert_true(assay_hashset_memory(s) <= cases[c].cap);
        size_t in = fill_until_full(s, cases[c].cap, keys, 70000);
        size_t want = cases[c].slots - cases[c].slots / 4;
        if (in != want)
            fail_msg("case %zu: %zu keys fit, want %zu", c, in, want);
        assert_int_equal(assay_hashset_memory(s), cases[c].slots * 16);
        /* a key already there still updates when full */
        uint64_t old = 0;
        assert_int_equal(assay_hashset_insert(s, keys[0], 0, &old), 0);
        assert_int_equal(old, 0);
        assert_int_equal(assay_hashset_insert(s, keys[in - 1], 0, &old), 0);
        assert_int_equal(old, in - 1);
        assert_int_equal(stored_val(s, keys[in - 1]), 0);
        for (size_t i = 0; i < in; i++)
            assert_true(assay_hashset_contains(s, keys[i]));
        /* and a new one still does not go in */
        assert_int_equal(assay_hashset_insert(s, rnd() | 2, 1, NULL), -ENOSPC);
        assert_int_equal(assay_hashset_size(s), in);
        assay_hashset_free(s);
    }
    /* cap below the minimal table: 16 slots, as documented */
    assay_hashset *s = NULL;
    assert_int_equal(assay_hashset_new(&s, 1000, 100), 0);
    assert_int_equal(assay_hashset_memory(s), 256);
    assert_int_equal(fill_until_full(s, 0, keys, 100), 12);
    assay_hashset_free(s);
    /* no cap: grows */
    assert_int_equal(assay_hashset_new(&s, 0, 0), 0);
    assert_int_equal(fill_until_full(s, 0, keys, 70000), 70000);
    assert_int_equal(assay_hashset_memory(s), 131072 * 16); /* 70000 <= 3/4 x 131072 */
    assay_hashset_free(s);
    free(keys);
}

static void test_batch_equals_single(void **state)
{
    (void)state;
    static const size_t caps[] = { 0, 1 << 15, 1 << 12 }; /* capped ones hold < 3000 keys */
    for (size_t c = 0; c < ASSAY_ARRAY_LEN(caps); c++) {
        size_t n = 50000;
        uint64_t *keys = random_keys(n, 3000);
        uint64_t *vals = malloc(n * sizeof(*vals));
        int8_t *res = malloc(n);
        for (size_t i = 0; i < n; i++)
            vals[i] = rnd() % 100;
        assay_hashset *a = NULL, *b = NULL;
        assert_int_equal(assay_hashset_new(&a, 0, caps[c]), 0);
        assert_int_equal(assay_hashset_new(&b, 0, caps[c]), 0);
        int64_t added = 0;
        size_t done = 0;
        /* batches of varying size, including 0 and sizes below the prefetch distance */
        while (done < n) {
            size_t want_len = (size_t)(rnd() % 3000); /* ASSAY_MIN evaluates twice */
            size_t len = ASSAY_MIN(want_len, n - done);
            int64_t r = assay_hashset_insert_batch(a, keys + done, vals + done, len, res + done);
            assert_true(r >= 0);
            added += r;
            done += len;
        }
        /* a full table goes on answering for the keys it holds: tracked keys are
         * repeats (0), only untracked new keys are -ENOSPC */
        int64_t single_added = 0;
        bool full = false;
        size_t repeats_after_full = 0;
        for (size_t i = 0; i < n; i++) {
            int want = assay_hashset_insert(b, keys[i], vals[i], NULL);
            if (full && want == 0)
                repeats_after_full++;
            full |= want == -ENOSPC;
            single_added += want > 0;
            if (res[i] != want)
                fail_msg("cap %zu key %zu: batch %d single %d", caps[c], i, res[i], want);
        }
        assert_int_equal(added, single_added);
        assert_int_equal(full, caps[c] != 0);
        if (full)
            assert_true(repeats_after_full > 0); /* the old behaviour dropped these */
        assert_int_equal(assay_hashset_size(a), assay_hashset_size(b));
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(assay_hashset_contains(a, keys[i]),
                             assay_hashset_contains(b, keys[i]));
            if (assay_hashset_contains(a, keys[i]))
                assert_int_equal(stored_val(a, keys[i]), stored_val(b, keys[i]));
        }
        assay_hashset_free(a);
        assay_hashset_free(b);
        free(keys);
        free(vals);
        free(res);
    }
}

struct both_log {
    uint64_t key[20000], dst[20000], src[20000];
    size_t n;
};

static void on_both(void *ctx, uint64_t key, uint64_t dst_val, uint64_t src_val)
{
    struct both_log *log = ctx;
    assert_true(log->n < 20000);
    log->key[log->n] = key;
    log->dst[log->n] = dst_val;
    log->src[log->n] = src_val;
    log->n++;
}

/* get() returns the kept (minimum) payload; next() walks exactly the stored keys. */
static void test_get_and_walk(void **state)
{
    (void)state;
    struct ref r;
    ref_init(&r);
    assay_hashset *s;
    assert_int_equal(assay_hashset_new(&s, 16, 0), 0);
    for (int i = 0; i < 50000; i++) {
        uint64_t key = rnd() % 20000; /* many repeats, and key 0 */
        uint64_t val = rnd() % 1000000, old;
        ref_insert(&r, key, val, &old);
        assay_hashset_insert(s, key, val, NULL);
    }
    for (uint64_t key = 0; key < 20000; key++) {
        struct ref_node *nd = ref_find(&r, key);
        uint64_t v = 12345;
        bool got = assay_hashset_get(s, key, &v);
        assert_int_equal(got, nd != NULL);
        if (nd)
            assert_int_equal(v, nd->val);
    }
    size_t cursor = 0, walked = 0;
    uint64_t key, val;
    while (assay_hashset_next(s, &cursor, &key, &val)) {
        struct ref_node *nd = ref_find(&r, key);
        if (!nd)
            fail_msg("walk returned key %llu that was never inserted", (unsigned long long)key);
        assert_int_equal(val, nd->val);
        walked++;
    }
    assert_int_equal(walked, r.count);
    assert_false(assay_hashset_next(s, &cursor, &key, &val));
    assay_hashset_free(s);
    ref_free(&r);
}

static void test_merge(void **state)
{
    (void)state;
    /* A gets keys 0..14999 of a pool, B keys 10000..19999: 5000 in common. */
    size_t na = 15000, nb = 10000, off = 10000, np = 20000;
    uint64_t *pool = malloc(np * sizeof(*pool));
    uint64_t *va = malloc(np * sizeof(*va)), *vb = malloc(np * sizeof(*vb));
    for (size_t i = 0; i < np; i++) {
        pool[i] = rnd() | 2;
        va[i] = rnd() % 1000;
        vb[i] = rnd() % 1000;
    }
    pool[off + 1] = 0; /* key 0 among the common keys */
    assay_hashset *a = NULL, *b = NULL;
    assert_int_equal(assay_hashset_new(&a, 0, 0), 0);
    assert_int_equal(assay_hashset_new(&b, 0, 0), 0);
    for (size_t i = 0; i < na; i++)
        assert_int_equal(assay_hashset_insert(a, pool[i], va[i], NULL), 1);
    for (size_t i = off; i < off + nb; i++)
        assert_int_equal(assay_hashset_insert(b, pool[i], vb[i], NULL), 1);
    struct both_log *log = calloc(1, sizeof(*log));
    int64_t common = assay_hashset_merge(a, b, on_both, log);
    assert_int_equal(common, na - off);
    assert_int_equal(log->n, na - off);
    /* on_both exactly once per common key, with both payloads */
    char *seen = calloc(np, 1);
    for (size_t k = 0; k < log->n; k++) {
        size_t i = SIZE_MAX;
        for (size_t p = off; p < na; p++) {
            uint64_t key = pool[p] ? pool[p] : 1;
            if (key == log->key[k])
                i = p;
        }
        if (i == SIZE_MAX)
            fail_msg("on_both called for key %#llx, not common", (unsigned long long)log->key[k]);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        assert_int_equal(log->dst[k], va[i]);
        assert_int_equal(log->src[k], vb[i]);
    }
    /* merged = union, payloads = minimum */
    assert_int_equal(assay_hashset_size(a), off + nb);
    for (size_t i = 0; i < np; i++) {
        assert_true(assay_hashset_contains(a, pool[i]));
        uint64_t want = i < off ? va[i] : i >= na ? vb[i] : ASSAY_MIN(va[i], vb[i]);
        assert_int_equal(stored_val(a, pool[i]), want);
    }
    /* src unchanged */
    assert_int_equal(assay_hashset_size(b), nb);
    /* merge into a capped set that cannot hold the union */
    assay_hashset *c = NULL;
    assert_int_equal(assay_hashset_new(&c, 0, 1 << 14), 0); /* 1024 slots, 768 keys */
    assert_int_equal(assay_hashset_merge(c, b, NULL, NULL), -ENOSPC);
    assert_true(assay_hashset_memory(c) <= 1 << 14);
    assert_int_equal(assay_hashset_size(c), 768);
    /* merging a set into an empty one: no common keys, same set */
    assay_hashset *d = NULL;
    assert_int_equal(assay_hashset_new(&d, 0, 0), 0);
    log->n = 0;
    assert_int_equal(assay_hashset_merge(d, b, on_both, log), 0);
    assert_int_equal(log->n, 0);
    assert_int_equal(assay_hashset_size(d), nb);
    assay_hashset_free(a);
    assay_hashset_free(b);
    assay_hashset_free(c);
    assay_hashset_free(d);
    free(pool);
    free(va);
    free(vb);
    free(log);
    free(seen);
}

#define ASSAY_HASH_ASSAY 0xca50008e6b49ae6full /* XXH3_64bits_withSeed("assay", 5, seed) */
#define ASSAY_HASH_EMPTY 0x26e91a51121c6e3eull

static void test_hash_bytes(void **state)
{
    (void)state;
    /* Pinned values: the seed must never change (hashes are merged across instances). */
    assert_int_equal(assay_hash_bytes("assay", 5), ASSAY_HASH_ASSAY);
    assert_int_equal(assay_hash_bytes("", 0), ASSAY_HASH_EMPTY);
    assert_int_equal(assay_hash_bytes("assay", 5), assay_hash_bytes("assay!", 5));
    assert_int_not_equal(assay_hash_bytes("assay", 5), assay_hash_bytes("assaz", 5));
    assert_int_not_equal(assay_hash_bytes("a\0b", 3), assay_hash_bytes("a\0c", 3));
}

/* ---- benchmark (not a test) ------------------------------------------------------ */

static double now_ns(void)
{
    struct timespec ts;
    /* CPU time of this thread: the shared build machine is busy, wall time is noise */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench(void)
{
    enum { N = 10000000, BATCH = 4096 };
    uint64_t *keys = malloc(N * sizeof(*keys));
    uint64_t *vals = malloc(N * sizeof(*vals));
    int8_t *res = malloc(BATCH);
    for (size_t i = 0; i < N; i++) {
        keys[i] = rnd();
        vals[i] = i;
    }
    /* mode 0: into a set growing from 16 slots; 1: into a presized set; 2: the same
     * keys again into the full presized set (all duplicates: probe cost, no page
     * faults) */
    static const char *const modes[] = { "new keys, growing from 16 slots",
                                         "new keys, presized table",
                                         "existing keys (all duplicates)" };
    for (int mode = 0; mode < 3; mode++) {
        for (int batch = 0; batch < 2; batch++) {
            double best = 1e30;
            for (int rep = 0; rep < 2; rep++) {
                assay_hashset *s = NULL;
                if (assay_hashset_new(&s, mode ? N : 0, 0))
                    return 1;
                if (mode == 2)
                    for (size_t i = 0; i < N; i++)
                        assay_hashset_insert(s, keys[i], vals[i], NULL);
                double t0 = now_ns();
                if (batch) {
                    for (size_t i = 0; i < N; i += BATCH)
                        assay_hashset_insert_batch(s, keys + i, vals + i,
                                                   ASSAY_MIN((size_t)BATCH, N - i), res);
                } else {
                    for (size_t i = 0; i < N; i++)
                        assay_hashset_insert(s, keys[i], vals[i], NULL);
                }
                best = ASSAY_MIN(best, now_ns() - t0);
                assay_hashset_free(s);
            }
            printf("10M random keys, %-34s %-6s: %6.1f ns/insert (thread CPU time)\n", modes[mode],
                   batch ? "batch" : "single", best / N);
        }
    }
    free(keys);
    free(vals);
    free(res);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        return bench();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_key_zero),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_batch_equals_single),
        cmocka_unit_test(test_get_and_walk),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_hash_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
