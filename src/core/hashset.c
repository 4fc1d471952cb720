/*
 * hashset.c - a set of 64-bit hashes with one 64-bit payload each.
 *
 * Used by `unique` (is this key new? where was it first seen?), `foreign_key` (is this
 * reference among the referenced keys?) and duplicate-row counting. The keys are not
 * the values themselves but their 64-bit XXH3 hashes (assay_hash_bytes), so the set
 * never stores variable-length data and every slot has the same size.
 *
 * Layout
 * ------
 * One power-of-two array of 16-byte slots, open addressing with linear probing
 * (Knuth, TAOCP vol. 3, 6.4, algorithm L):
 *
 *     slot:  +----------------+----------------+
 *            | key (uint64)   | val (uint64)   |     key 0 = empty slot
 *            +----------------+----------------+
 *     home(key) = (key * 0x9E3779B97F4A7C15) >> (64 - log2(slots))
 *
 * The home slot takes the high bits of a Fibonacci multiplication (Knuth, 6.4,
 * multiplicative hashing), so keys that are not well mixed (small integers, say)
 * still spread; for real XXH3 hashes it costs one multiply. A lookup walks from the
 * home slot until it finds the key or an empty slot; four slots share a 64-byte cache
 * line, so most probes touch one line. Nothing is ever deleted, so no tombstones.
 *
 * Key 0 marks an empty slot, so a real key 0 is stored as key 1: the two hash values 0
 * and 1 are treated as one key. For hashes of distinct values that merge happens with
 * probability 2^-64 per value, far below the collision rate discussed below.
 *
 * Load factor
 * -----------
 * The table doubles when an insert would take it above three quarters full. At load
 * factor a, linear probing costs on average about (1 + 1/(1-a))/2 probes for a key
 * that is present and (1 + 1/(1-a)^2)/2 for one that is absent (Knuth, 6.4, eq.
 * (44)-(45)): 1.5 and 2.5 probes at a = 1/2, 2.5 and 8.5 at a = 3/4. Four slots share
 * a cache line and a run continues into the next line, which the hardware prefetches,
 * so a longer run costs far less than another miss. Memory is the other side: the
 * first touch of a fresh page is expensive (the kernel zeroes it, and in a VM the
 * hypervisor maps it), and measured on 10M keys in our target VM the zeroing of a
 * table sized for a = 1/2 took more time than every probe together. At 3/4 a
 * presized table for n keys needs 21-43 bytes per key instead of 32-64.
 *
 * Memory cap
 * ----------
 * mem_cap bounds the table's bytes (slots x 16). Growth that would pass the cap is
 * refused and the insert returns -ENOSPC, leaving the set as it was; the caller
 * reports that the rule ran out of its memory budget instead of the process running
 * out of memory. With a cap the table holds at most (largest power-of-two slot count
 * whose bytes fit the cap) x 3/4 keys. A cap smaller than the initial table shrinks the
 * initial table to the largest that fits, but never below 16 slots (256 bytes): a cap
 * under 256 bytes is treated as 256. While the table doubles, the old and the new
 * table exist together for a moment (1.5 x the new table's bytes); the cap counts the
 * table the set keeps.
 *
 * How exact is a set of hashes?
 * -----------------------------
 * Two different values with the same 64-bit hash look like one key: `unique` would
 * report a false duplicate, `foreign_key` a false match. For n distinct values and a
 * hash that behaves like a random function, the expected number of colliding pairs
 * is n(n-1)/2 / 2^64 = n(n-1)/2^65 and the probability of at least one collision is
 * 1 - exp(-n(n-1)/2^65) (the birthday bound):
 *
 *        n distinct values   expected colliding pairs   P(any collision)
 *        10^6                2.71e-8                    2.71e-8
 *        10^7                2.71e-6                    2.71e-6
 *        10^8                2.71e-4                    2.71e-4
 *        10^9                0.0271                     0.0267  (2.7%)
 *        10^10               2.71                       0.933
 *
 * So up to a few hundred million distinct keys per window the rules are exact for all
 * practical purposes; at 10^9 one run in 37 may miscount one pair (an error of one
 * row in a billion); beyond 10^10 a few pairs per window are expected. XXH3-64 passes
 * SMHasher's collision tests, which is the basis for treating it as random here.
 *
 * assay_hash_bytes uses XXH3_64bits_withSeed with the fixed seed ASSAY_HASH_SEED below.
 * The seed must never change: hashes from different shards and different assay
 * instances of one consumer group are merged and compared.
 *
 * Batched inserts
 * ---------------
 * A random insert into a table larger than the caches costs a cache miss (~80 ns of
 * DRAM latency here). insert_batch computes the home slot of the key PREFETCH_AHEAD
 * (8) positions ahead and issues __builtin_prefetch for it, so several misses are in
 * flight at once and the insert usually finds its line in cache. Measured with
 * `test_hashset --bench` (10M random keys, thread CPU time, x86-64 VM, gcc -O2):
 *
 *     into                              single     batch
 *     a set growing from 16 slots       75 ns      54 ns
 *     a presized set (512 MiB)          50 ns      33 ns
 *     the full set again (duplicates)   38 ns      28 ns
 *
 * Tables of 2 MiB and more use transparent huge pages (table_alloc): without them the
 * 4 KiB page faults of first touch cost ~470 ns per new key on this VM.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "assay/hashset.h"

/* "assay v1" in ASCII. Never change it (see above). */
#define ASSAY_HASH_SEED 0x6173736179207631ull

#define GOLDEN         0x9E3779B97F4A7C15ull
#define MIN_SLOTS      16
#define SLOT_BYTES     16
#define PREFETCH_AHEAD 8
#define HUGE_BYTES     ((size_t)2 << 20)

struct slot {
    uint64_t key;
    uint64_t val;
};

struct assay_hashset {
    struct slot *slots;
    size_t mask;      /* slots - 1 */
    unsigned shift;   /* 64 - log2(slots) */
    size_t count;     /* keys stored */
    size_t max_count; /* slots x 3/4 */
    size_t mem_cap;   /* 0 = none */
};

/* ---------------------------------------------------------------------------------
 * Internals
 * --------------------------------------------------------------------------------- */

static inline uint64_t fix_key(uint64_t key)
{
    return key ? key : 1;
}

static inline size_t home(const assay_hashset *s, uint64_t key)
{
    return (size_t)((key * GOLDEN) >> s->shift);
}

/* Index of key's slot, or of the empty slot where it would go. The table is never
 * full (load <= 3/4), so the walk ends. */
static inline size_t probe(const assay_hashset *s, uint64_t key)
{
    size_t i = home(s, key);
    for (;;) {
        uint64_t k = s->slots[i].key;
        if (k == key || k == 0)
            return i;
        i = (i + 1) & s->mask;
    }
}

static unsigned log2_pow2(size_t n)
{
    return (unsigned)__builtin_ctzll((unsigned long long)n);
}

/* Whether a table of nslots fits the cap. */
static bool fits(const assay_hashset *s, size_t nslots)
{
    if (nslots > SIZE_MAX / SLOT_BYTES)
        return false;
    return s->mem_cap == 0 || nslots * SLOT_BYTES <= s->mem_cap;
}

/* A zeroed table of nslots. Tables of 2 MiB and more are mapped 2 MiB-aligned and
 * advised to use transparent huge pages: a random insert then costs no 4 KiB page
 * fault on first touch and fewer TLB misses (measured: the page faults dominated
 * inserts of new keys into a 512 MiB table). */
static struct slot *table_alloc(size_t nslots)
{
    size_t bytes = nslots * SLOT_BYTES;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_BYTES) {
        size_t span = bytes + HUGE_BYTES;
        char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        uintptr_t a = ((uintptr_t)p + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
        size_t head = a - (uintptr_t)p, tail = span - head - bytes;
        if (head)
            munmap(p, head);
        if (tail)
            munmap((char *)a + bytes, tail);
        madvise((void *)a, bytes, MADV_HUGEPAGE); /* advice only: failure is harmless */
        return (struct slot *)a;
    }
#endif
    return calloc(nslots, sizeof(struct slot));
}

static void table_free(struct slot *t, size_t nslots)
{
#ifdef MADV_HUGEPAGE
    if (t && nslots * SLOT_BYTES >= HUGE_BYTES) {
        munmap(t, nslots * SLOT_BYTES);
        return;
    }
#endif
    free(t);
}

/* Replace the table by one of nslots (a power of two) and re-insert every key. */
static int resize(assay_hashset *s, size_t nslots)
{
    struct slot *fresh = table_alloc(nslots);
    if (!fresh)
        return -ENOMEM;
    struct slot *old = s->slots;
    size_t old_n = s->slots ? s->mask + 1 : 0;
    s->slots = fresh;
    s->mask = nslots - 1;
    s->shift = 64 - log2_pow2(nslots);
    s->max_count = nslots - nslots / 4;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].key == 0)
            continue;
        size_t j = home(s, old[i].key);
        while (fresh[j].key != 0)
            j = (j + 1) & s->mask;
        fresh[j] = old[i];
    }
    table_free(old, old_n);
    return 0;
}

/* Make room for one more key: 0, -ENOSPC (cap) or -ENOMEM. */
static int reserve_one(assay_hashset *s)
{
    if (s->count < s->max_count)
        return 0;
    size_t nslots = (s->mask + 1) * 2;
    if (nslots == 0 || !fits(s, nslots))
        return -ENOSPC;
    return resize(s, nslots);
}

/* insert() on a key already passed through fix_key. */
static inline int insert_fixed(assay_hashset *s, uint64_t key, uint64_t val, uint64_t *old)
{
    size_t i = probe(s, key);
    struct slot *sl = &s->slots[i];
    if (sl->key == key) {
        if (old)
            *old = sl->val;
        if (val < sl->val)
            sl->val = val;
        return 0;
    }
    if (ASSAY_UNLIKELY(s->count >= s->max_count)) {
        int rc = reserve_one(s);
        if (rc)
            return rc;
        sl = &s->slots[probe(s, key)];
    }
    sl->key = key;
    sl->val = val;
    s->count++;
    return 1;
}

/* ---------------------------------------------------------------------------------
 * Public API
 * --------------------------------------------------------------------------------- */

int assay_hashset_new(assay_hashset **out, size_t initial_cap, size_t mem_cap)
{
    *out = NULL;
    assay_hashset *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->mem_cap = mem_cap;
    size_t nslots = MIN_SLOTS;
    while (nslots - nslots / 4 < initial_cap && nslots <= SIZE_MAX / 4 && fits(s, nslots * 2))
        nslots *= 2;
    int rc = resize(s, nslots);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void assay_hashset_free(assay_hashset *s)
{
    if (!s)
        return;
    table_free(s->slots, s->mask + 1);
    free(s);
}

int assay_hashset_insert(assay_hashset *s, uint64_t key, uint64_t val, uint64_t *old)
{
    return insert_fixed(s, fix_key(key), val, old);
}

int64_t assay_hashset_insert_batch(assay_hashset *s, const uint64_t *keys, const uint64_t *vals,
                                   size_t n, int8_t *res)
{
    int64_t added = 0;
    size_t warm = ASSAY_MIN(n, (size_t)PREFETCH_AHEAD);
    for (size_t i = 0; i < warm; i++)
        __builtin_prefetch(&s->slots[home(s, fix_key(keys[i]))], 1, 3);
    for (size_t i = 0; i < n; i++) {
        /* The table may grow meanwhile; a stale prefetch only wastes a load. */
        if (i + PREFETCH_AHEAD < n)
            __builtin_prefetch(&s->slots[home(s, fix_key(keys[i + PREFETCH_AHEAD]))], 1, 3);
        int r = insert_fixed(s, fix_key(keys[i]), vals[i], NULL);
        res[i] = (int8_t)r;
        added += r > 0;
    }
    return added;
}

bool assay_hashset_contains(const assay_hashset *s, uint64_t key)
{
    key = fix_key(key);
    return s->slots[probe(s, key)].key == key;
}

bool assay_hashset_get(const assay_hashset *s, uint64_t key, uint64_t *val)
{
    key = fix_key(key);
    const struct slot *sl = &s->slots[probe(s, key)];
    if (sl->key != key)
        return false;
    *val = sl->val;
    return true;
}

bool assay_hashset_next(const assay_hashset *s, size_t *cursor, uint64_t *key, uint64_t *val)
{
    size_t n = s->mask + 1;
    for (size_t i = *cursor; i < n; i++) {
        if (s->slots[i].key) {
            *key = s->slots[i].key;
            *val = s->slots[i].val;
            *cursor = i + 1;
            return true;
        }
    }
    *cursor = n;
    return false;
}

size_t assay_hashset_size(const assay_hashset *s)
{
    return s->count;
}

size_t assay_hashset_memory(const assay_hashset *s)
{
    return (s->mask + 1) * SLOT_BYTES;
}

int64_t assay_hashset_merge(assay_hashset *dst, const assay_hashset *src,
                            assay_hashset_both_fn on_both, void *ctx)
{
    int64_t both = 0;
    size_t n = src->mask + 1;
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n && src->slots[i + PREFETCH_AHEAD].key)
            __builtin_prefetch(&dst->slots[home(dst, src->slots[i + PREFETCH_AHEAD].key)], 1, 3);
        const struct slot *sl = &src->slots[i];
        if (sl->key == 0)
            continue;
        uint64_t dst_val;
        int r = insert_fixed(dst, sl->key, sl->val, &dst_val);
        if (r < 0)
            return r;
        if (r == 0) {
            both++;
            if (on_both)
                on_both(ctx, sl->key, dst_val, sl->val);
        }
    }
    return both;
}

uint64_t assay_hash_bytes(const void *p, size_t len)
{
    return XXH3_64bits_withSeed(p, len, ASSAY_HASH_SEED);
}
