/*
 * topk.c - the most frequent values of a column: Space-Saving with k counters,
 * exact while the column has at most k distinct values, mergeable across shards.
 *
 * Space-Saving (Metwally, Agrawal, El Abbadi [1], §3)
 * ---------------------------------------------------
 * Keep at most k (value, count, error) counters. For each occurrence of v:
 *
 *   - v is monitored:              count(v) += 1
 *   - fewer than k are monitored:  monitor v with count 1, error 0
 *   - otherwise:                   take the counter with the minimum count m, give it
 *                                  to v with count m + 1 and error m
 *
 * After N occurrences the counts sum to N, so the minimum counter m <= N / k, and
 * ([1] Lemmas 3.3-3.5):
 *
 *   - every monitored v:  true(v) <= count(v) <= true(v) + error(v), error(v) <= m
 *   - every unmonitored v: true(v) <= m <= N / k
 *   - so every v with true(v) > N / k is monitored (no heavy hitter is missed).
 *
 * While no counter was ever taken over (at most k distinct values so far), every count
 * is exact and error 0: assay_topk_exact() says so, and the profile prints exact
 * counts for low-cardinality columns (status codes, currencies, booleans).
 *
 * Data structures
 * ---------------
 *   slots   up to k slots: hash, count, error, length, heap position. The value bytes
 *           of slot i live at arena + i * stride, where stride is the longest value
 *           held so far rounded up to 16 bytes (at most max_value_len), so a takeover
 *           overwrites in place. Slots and arena grow by doubling as values arrive and
 *           the stride when a longer value comes, so a column of few short values costs
 *           a few hundred bytes rather than k * max_value_len (16 KiB for k = 64 and
 *           256-byte values) - which mattered for wide inputs, with a sketch per column
 *           in every partial state. Longer values are truncated to max_value_len and
 *           counted as that prefix; their hash is recomputed over the prefix so that
 *           equal prefixes are one value.
 *   table   open addressing with linear probing over slot numbers (load <= 1/2),
 *           keyed by the caller's 64-bit hash (assay_hash_bytes of the value) and
 *           confirmed by comparing the value bytes. A takeover deletes the old value
 *           with backward-shift deletion (no tombstones; Knuth TAOCP vol. 3, 6.4,
 *           Algorithm R), so probe lengths stay short forever.
 *   heap    a binary min-heap of slots by count in place of [1]'s Stream-Summary
 *           bucket list: finding the minimum is O(1), an increment sifts the counter
 *           down (O(log k) worst case, usually one comparison: frequent values sit in
 *           the leaves), and it is three arrays instead of a web of linked lists.
 *           Ties are broken by hash, then bytes, so which counter a new value takes
 *           over depends only on the summary's contents: a deserialized copy, or a
 *           merge result, evolves exactly like any other sketch with the same items.
 *
 * Merge (Agarwal, Cormode, Huang, Phillips, Wei, Yi [2], §3)
 * ----------------------------------------------------------
 * [2] merges Misra-Gries summaries by adding the counters, taking the (k+1)-th
 * largest combined counter C and subtracting it from all (dropping those that reach
 * zero), and shows the error stays within N / (k+1). Space-Saving is the same summary
 * shifted up by its minimum counter ([2] §3: an SS counter is an MG counter plus the
 * minimum), which turns the recipe into this, for dst A absorbing src B, with m(S) =
 * the minimum count of S when S is inexact and 0 when S is exact:
 *
 *   1. for every value in A or B: count = cA + cB and error = eA + eB, where a side
 *      that does not monitor the value contributes its m to both (that is the most
 *      the value can have occurred there);
 *   2. keep the k largest counts (ties by value bytes, so the result is
 *      deterministic); the (k+1)-th count C bounds every dropped value, and C is at
 *      most the new minimum counter, so "unmonitored => true <= m" still holds.
 *
 * The invariants carry over (proof sketch): a kept value's lower bound count - error
 * is the sum of the two lower bounds; a value absent from both has true <= mA + mB,
 * which is <= every combined count; and the k kept counts sum to at most
 * sum(A) + sum(B) <= N (each side's counters outside the kept set are >= its m, so
 * substituting m never adds more than what was dropped), hence the new minimum is
 * <= N / k and every error (<= mA + mB <= new minimum) is too. The merged summary is
 * exact only if both inputs were and together held at most k distinct values. Sketches
 * with different k or max_value_len merge too (src values are re-truncated to dst's
 * length, and two that become the same prefix add up).
 *
 * Serialized form (kind ASSAY_SKETCH_TOPK, version 1, after the shared header of
 * assay/sketch.h; little endian):
 *
 *     offset  size  field
 *     0       4     k
 *     4       4     max_value_len
 *     8       8     total occurrences N
 *     16      4     number of items (<= k)
 *     20      1     exact (0 or 1)
 *     21      3     reserved, 0
 *     24      ...   items in list order (count desc, value bytes asc), each:
 *                   u64 count, u64 error, u32 len, len bytes of value
 *
 * Hashes are not stored; the reader recomputes them with assay_hash_bytes. It rejects
 * k or max_value_len out of range, items beyond k, a value longer than max_value_len,
 * count 0, error >= count, items out of order or repeated, counts summing above N,
 * an exact summary with errors or counts not summing to N, an inexact one with fewer
 * than k items or an error above its minimum count, and trailing bytes.
 *
 * References
 * [1] A. Metwally, D. Agrawal, A. El Abbadi, "Efficient computation of frequent and
 *     top-k elements in data streams", ICDT 2005, LNCS 3363.
 * [2] P. K. Agarwal, G. Cormode, Z. Huang, J. M. Phillips, Z. Wei, K. Yi, "Mergeable
 *     summaries", PODS 2012 (and ACM TODS 38(4), 2013).
 */
#include <stdlib.h>
#include <string.h>

#include "assay/hashset.h"
#include "assay/sketch.h"
#include "assay/topk.h"
#include "core/grow.h"

#define TOPK_VERSION   1
#define TOPK_MAX_K     (1u << 20)
#define TOPK_MAX_LEN   (1u << 20)
#define TOPK_MAX_ARENA ((uint64_t)256 << 20) /* k * max_value_len, bytes */
#define TOPK_FIXED     24                    /* payload bytes before the items */
#define TOPK_ITEM_HEAD 20                    /* count, error, len */

typedef struct slot {
    uint64_t hash;
    uint64_t count;
    uint64_t error;
    uint32_t len;
    uint32_t hpos; /* index in heap[] */
} slot;

struct assay_topk {
    uint32_t k, maxlen;
    uint32_t size; /* slots in use */
    bool exact;
    uint64_t total;
    slot *slots;     /* [scap] */
    uint32_t *heap;  /* [scap] slot numbers, min-heap by count */
    uint32_t scap;   /* slots allocated (<= k) */
    uint32_t stride; /* bytes per slot in the arena (<= maxlen) */
    uint32_t *table; /* [mask + 1] slot number + 1, 0 = empty */
    uint32_t mask;
    char *arena; /* [scap * stride] */
};

/* ------------------------------------------------------------------------------------ */
/* Allocation                                                                            */
/* ------------------------------------------------------------------------------------ */

static bool params_ok(uint32_t k, uint32_t maxlen)
{
    return k >= 1 && k <= TOPK_MAX_K && maxlen >= 1 && maxlen <= TOPK_MAX_LEN &&
           (uint64_t)k * maxlen <= TOPK_MAX_ARENA;
}

static uint32_t table_size(uint32_t k)
{
    uint32_t s = 8;
    while (s < 2 * k)
        s *= 2;
    return s;
}

/* Allocate an empty sketch; NULL on out-of-memory. Parameters already checked. */
static assay_topk *topk_alloc(uint32_t k, uint32_t maxlen)
{
    assay_topk *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    uint32_t ts = table_size(k);
    t->k = k;
    t->maxlen = maxlen;
    t->exact = true;
    t->mask = ts - 1;
    t->table = calloc(ts, sizeof(uint32_t));
    if (!t->table) {
        assay_topk_free(t);
        return NULL;
    }
    return t;
}

/* Room for `nslots` slots holding values of up to `len` bytes (both within k and
 * maxlen). Values move to the new arena; -ENOMEM leaves t as it was. */
static int reserve(assay_topk *t, uint32_t nslots, uint32_t len)
{
    uint32_t scap = t->scap, stride = t->stride;
    if (nslots > scap)
        scap = (uint32_t)assay_grow_cap(scap, nslots, 8, t->k);
    if (len > stride)
        stride = ASSAY_MIN((len + 15) & ~15u, t->maxlen);
    if (scap == t->scap && stride == t->stride)
        return 0;
    slot *sl = realloc(t->slots, (size_t)scap * sizeof(slot));
    if (!sl)
        return -ENOMEM;
    t->slots = sl;
    uint32_t *hp = realloc(t->heap, (size_t)scap * sizeof(uint32_t));
    if (!hp)
        return -ENOMEM;
    t->heap = hp;
    char *ar = malloc((size_t)scap * stride + 1);
    if (!ar)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->size; i++)
        if (t->slots[i].len)
            memcpy(ar + (size_t)i * stride, t->arena + (size_t)i * t->stride, t->slots[i].len);
    free(t->arena);
    t->arena = ar;
    t->scap = scap;
    t->stride = stride;
    return 0;
}

int assay_topk_new(assay_topk **out, uint32_t k, uint32_t max_value_len)
{
    *out = NULL;
    if (!params_ok(k, max_value_len))
        return -EINVAL;
    assay_topk *t = topk_alloc(k, max_value_len);
    if (!t)
        return -ENOMEM;
    *out = t;
    return 0;
}

void assay_topk_reset(assay_topk *t)
{
    t->size = 0;
    t->exact = true;
    t->total = 0;
    memset(t->table, 0, (size_t)(t->mask + 1) * sizeof(uint32_t));
}

void assay_topk_free(assay_topk *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->heap);
    free(t->table);
    free(t->arena);
    free(t);
}

/* ------------------------------------------------------------------------------------ */
/* Heap and table                                                                        */
/* ------------------------------------------------------------------------------------ */

static inline char *slot_value(const assay_topk *t, uint32_t i)
{
    return t->arena + (size_t)i * t->stride;
}

static inline void heap_set(assay_topk *t, uint32_t pos, uint32_t s)
{
    t->heap[pos] = s;
    t->slots[s].hpos = pos;
}

/* Heap order: count, then hash, then value bytes. The tie-breaks make the counter
 * that a new value takes over a function of the summary's contents alone, so a copy
 * restored from its serialized form evolves exactly like the original. */
static bool slot_less(const assay_topk *t, uint32_t a, uint32_t b)
{
    const slot *x = &t->slots[a], *y = &t->slots[b];
    /* (count, hash) as one 128-bit key: compiles to a compare and a borrow, no branch
     * to mispredict on the many equal counts of a Space-Saving summary. */
    unsigned __int128 kx = ((unsigned __int128)x->count << 64) | x->hash;
    unsigned __int128 ky = ((unsigned __int128)y->count << 64) | y->hash;
    if (ASSAY_LIKELY(kx != ky))
        return kx < ky;
    uint32_t l = ASSAY_MIN(x->len, y->len);
    int c = l ? memcmp(slot_value(t, a), slot_value(t, b), l) : 0;
    return c ? c < 0 : x->len < y->len;
}

/* Restore the heap below pos after the count at pos grew. */
static void sift_down(assay_topk *t, uint32_t pos)
{
    uint32_t s = t->heap[pos];
    for (;;) {
        uint32_t l = 2 * pos + 1;
        if (l >= t->size)
            break;
        uint32_t ch = l;
        if (l + 1 < t->size && slot_less(t, t->heap[l + 1], t->heap[l]))
            ch = l + 1;
        if (!slot_less(t, t->heap[ch], s))
            break;
        heap_set(t, pos, t->heap[ch]);
        pos = ch;
    }
    heap_set(t, pos, s);
}

/* Restore the heap above pos after the slot at pos was placed there. */
static void sift_up(assay_topk *t, uint32_t pos)
{
    uint32_t s = t->heap[pos];
    while (pos > 0) {
        uint32_t p = (pos - 1) / 2;
        if (!slot_less(t, s, t->heap[p]))
            break;
        heap_set(t, pos, t->heap[p]);
        pos = p;
    }
    heap_set(t, pos, s);
}

/* Table position holding value (hash, v, len), or of the empty cell that ends its probe
 * sequence; *found says which. */
static uint32_t table_find(const assay_topk *t, uint64_t hash, const char *v, uint32_t len,
                           bool *found)
{
    uint32_t i = (uint32_t)hash & t->mask;
    for (;;) {
        uint32_t e = t->table[i];
        if (e == 0) {
            *found = false;
            return i;
        }
        const slot *s = &t->slots[e - 1];
        if (s->hash == hash && s->len == len &&
            (len == 0 || memcmp(slot_value(t, e - 1), v, len) == 0)) {
            *found = true;
            return i;
        }
        i = (i + 1) & t->mask;
    }
}

/* Remove slot number s from the table by backward-shift deletion. */
static void table_remove(assay_topk *t, uint32_t s)
{
    uint32_t i = (uint32_t)t->slots[s].hash & t->mask;
    while (t->table[i] != s + 1)
        i = (i + 1) & t->mask;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        uint32_t e = t->table[j];
        if (e == 0)
            break;
        uint32_t home = (uint32_t)t->slots[e - 1].hash & t->mask;
        /* The entry at j may move back to the hole at i unless its home lies
         * cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->table[i] = e;
            i = j;
        }
    }
    t->table[i] = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Counting                                                                              */
/* ------------------------------------------------------------------------------------ */

int assay_topk_add(assay_topk *t, const char *value, uint32_t len, uint64_t hash)
{
    return assay_topk_add_weighted(t, value, len, hash, 1);
}

int assay_topk_add_weighted(assay_topk *t, const char *value, uint32_t len, uint64_t hash,
                            uint64_t w)
{
    if (ASSAY_UNLIKELY(len > t->maxlen)) {
        len = t->maxlen;
        hash = assay_hash_bytes(value, len);
    }
    /* the value may need a slot of its own or a longer stride (a repeat needs neither,
     * but finding out first would cost a second probe on the hot path) */
    if (ASSAY_UNLIKELY(len > t->stride || (t->size == t->scap && t->size < t->k)) &&
        reserve(t, t->size + 1, len) < 0)
        return -ENOMEM;
    t->total += w;
    bool found;
    uint32_t i = table_find(t, hash, value, len, &found);
    if (ASSAY_LIKELY(found)) {
        uint32_t s = t->table[i] - 1;
        t->slots[s].count += w;
        sift_down(t, t->slots[s].hpos);
        return 0;
    }
    uint32_t s;
    if (t->size < t->k) {
        s = t->size++;
        t->slots[s] = (slot){ .hash = hash, .count = w, .error = 0, .len = len };
        t->heap[s] = s;
        t->slots[s].hpos = s;
        sift_up(t, s);
    } else {
        /* Take over the minimum counter ([1] §3). */
        t->exact = false;
        s = t->heap[0];
        uint64_t m = t->slots[s].count;
        table_remove(t, s);
        i = table_find(t, hash, value, len, &found); /* the hole may have moved */
        t->slots[s].hash = hash;
        t->slots[s].len = len;
        t->slots[s].count = m + w;
        t->slots[s].error = m;
        sift_down(t, 0);
    }
    if (len)
        memcpy(slot_value(t, s), value, len);
    t->table[i] = s + 1;
    return 0;
}

uint64_t assay_topk_total(const assay_topk *t)
{
    return t->total;
}

bool assay_topk_exact(const assay_topk *t)
{
    return t->exact;
}

uint32_t assay_topk_size(const assay_topk *t)
{
    return t->size;
}

/* The bound for values this sketch does not monitor: 0 when exact, else the minimum. */
static uint64_t topk_floor(const assay_topk *t)
{
    return t->exact || t->size == 0 ? 0 : t->slots[t->heap[0]].count;
}

/* ------------------------------------------------------------------------------------ */
/* Listing                                                                               */
/* ------------------------------------------------------------------------------------ */

/* < 0 when a comes first in list order: count descending, then value bytes ascending
 * (a proper prefix first). */
static int item_cmp(uint64_t ca, const char *va, uint32_t la, uint64_t cb, const char *vb,
                    uint32_t lb)
{
    if (ca != cb)
        return ca > cb ? -1 : 1;
    uint32_t l = ASSAY_MIN(la, lb);
    int c = l ? memcmp(va, vb, l) : 0;
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

static int item_qsort_cmp(const void *pa, const void *pb)
{
    const assay_topk_item *a = pa, *b = pb;
    return item_cmp(a->count, a->value, a->len, b->count, b->value, b->len);
}

/* out[0..cnt) is a heap with the item that comes LAST in list order at the root. */
static void worst_heap_down(assay_topk_item *out, size_t cnt, size_t pos)
{
    for (;;) {
        size_t l = 2 * pos + 1, w = pos;
        if (l < cnt && item_qsort_cmp(&out[l], &out[w]) > 0)
            w = l;
        if (l + 1 < cnt && item_qsort_cmp(&out[l + 1], &out[w]) > 0)
            w = l + 1;
        if (w == pos)
            return;
        assay_topk_item tmp = out[pos];
        out[pos] = out[w];
        out[w] = tmp;
        pos = w;
    }
}

size_t assay_topk_list(const assay_topk *t, assay_topk_item *out, size_t n)
{
    /* Select the n first items with a bounded heap in out itself (no allocation),
     * then sort them. */
    size_t cnt = 0;
    for (uint32_t s = 0; s < t->size && n > 0; s++) {
        assay_topk_item it = { .value = slot_value(t, s),
                               .len = t->slots[s].len,
                               .count = t->slots[s].count,
                               .error = t->slots[s].error };
        if (cnt < n) {
            out[cnt++] = it;
            if (cnt == n)
                for (size_t p = n / 2; p-- > 0;)
                    worst_heap_down(out, cnt, p);
        } else if (item_qsort_cmp(&it, &out[0]) < 0) {
            out[0] = it;
            worst_heap_down(out, cnt, 0);
        }
    }
    if (cnt > 1)
        qsort(out, cnt, sizeof(*out), item_qsort_cmp);
    return cnt;
}

/* ------------------------------------------------------------------------------------ */
/* Merge                                                                                 */
/* ------------------------------------------------------------------------------------ */

typedef struct cand {
    uint64_t hash, count, error;
    const char *value;
    uint32_t len;
    bool from_dst, seen_src;
} cand;

static int cand_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    return item_cmp(a->count, a->value, a->len, b->count, b->value, b->len);
}

/* Fill a fresh, empty sketch t from items sorted in list order (n <= t->k, len <=
 * t->maxlen). Returns -1, -2 when out of memory, or the list index of a value that
 * repeats an earlier one (t is then half-filled and only fit for freeing). */
static int64_t fill_sorted(assay_topk *t, const cand *c, uint32_t n)
{
    uint32_t longest = 0;
    for (uint32_t r = 0; r < n; r++)
        longest = ASSAY_MAX(longest, c[r].len);
    if (reserve(t, n, longest) < 0)
        return -2;
    for (uint32_t r = 0; r < n; r++) {
        const cand *x = &c[n - 1 - r];
        uint32_t s = r;
        t->slots[s] = (slot){
            .hash = x->hash, .count = x->count, .error = x->error, .len = x->len, .hpos = s
        };
        t->heap[s] = s;
        if (x->len)
            memcpy(slot_value(t, s), x->value, x->len);
        bool found;
        uint32_t i = table_find(t, x->hash, x->value, x->len, &found);
        if (found)
            return (int64_t)(n - 1 - r);
        t->table[i] = s + 1;
    }
    t->size = n;
    for (uint32_t p = n / 2; p-- > 0;) /* heapify (Floyd) */
        sift_down(t, p);
    return -1;
}

/* dst absorbs a summary given as items (distinct values, len <= any max_value_len,
 * hashes from assay_hash_bytes), the bound m_src for values it does not list (0 when
 * it is exact), its total and whether it is exact. */
static int merge_items(assay_topk *dst, const assay_topk_item *src, const uint64_t *src_hash,
                       size_t nsrc, uint64_t m_src, uint64_t src_total, bool src_exact)
{
    if (src_total == 0)
        return 0;
    if (nsrc == 0 && !dst->exact && dst->size == dst->k) {
        /* Nothing but a bound: every counter may have gained m_src, none lost. A
         * uniform shift keeps the heap and the table as they are. */
        for (uint32_t s = 0; s < dst->size; s++) {
            dst->slots[s].count += m_src;
            dst->slots[s].error += m_src;
        }
        dst->total += src_total;
        return 0;
    }
    uint64_t m_dst = topk_floor(dst);
    size_t cap = (size_t)dst->size + nsrc;
    uint32_t ts = table_size((uint32_t)cap); /* cap <= 2 * TOPK_MAX_K */
    cand *c = malloc(cap * sizeof(cand));
    uint32_t *tab = calloc(ts, sizeof(uint32_t)); /* candidate number + 1 */
    assay_topk *nt = topk_alloc(dst->k, dst->maxlen);
    if (!c || !tab || !nt) {
        free(c);
        free(tab);
        assay_topk_free(nt);
        return -ENOMEM;
    }
    uint32_t nc = 0, tmask = ts - 1;
    for (uint32_t s = 0; s < dst->size; s++) {
        const slot *d = &dst->slots[s];
        c[nc] = (cand){ .hash = d->hash,
                        .count = d->count,
                        .error = d->error,
                        .value = slot_value(dst, s),
                        .len = d->len,
                        .from_dst = true };
        uint32_t i = (uint32_t)d->hash & tmask;
        while (tab[i])
            i = (i + 1) & tmask;
        tab[i] = ++nc;
    }
    for (size_t s = 0; s < nsrc; s++) {
        const assay_topk_item *d = &src[s];
        const char *v = d->value;
        uint32_t len = d->len;
        uint64_t h = src_hash[s];
        if (len > dst->maxlen) {
            len = dst->maxlen;
            h = assay_hash_bytes(v, len);
        }
        uint32_t i = (uint32_t)h & tmask;
        cand *hit = NULL;
        for (; tab[i]; i = (i + 1) & tmask) {
            cand *x = &c[tab[i] - 1];
            if (x->hash == h && x->len == len && memcmp(x->value, v, len) == 0) {
                hit = x;
                break;
            }
        }
        if (hit) {
            hit->count += d->count;
            hit->error += d->error;
            hit->seen_src = true;
        } else {
            c[nc] = (cand){ .hash = h,
                            .count = d->count,
                            .error = d->error,
                            .value = v,
                            .len = len,
                            .seen_src = true };
            tab[i] = ++nc;
        }
    }
    /* A side that does not monitor a value contributes its floor ([2] §3, see essay). */
    for (uint32_t j = 0; j < nc; j++) {
        if (!c[j].from_dst) {
            c[j].count += m_dst;
            c[j].error += m_dst;
        } else if (!c[j].seen_src) {
            c[j].count += m_src;
            c[j].error += m_src;
        }
    }
    qsort(c, nc, sizeof(cand), cand_cmp);
    uint32_t keep = ASSAY_MIN(nc, dst->k);
    /* candidates are distinct by construction, so only memory can fail */
    if (fill_sorted(nt, c, keep) == -2) {
        free(c);
        free(tab);
        assay_topk_free(nt);
        return -ENOMEM;
    }
    nt->total = dst->total + src_total;
    nt->exact = dst->exact && src_exact && nc <= dst->k;
    free(c);
    free(tab);
    /* Swap the new state into dst (the items may point into dst: only read above). */
    assay_topk old = *dst;
    *dst = *nt;
    *nt = old;
    assay_topk_free(nt);
    return 0;
}

int assay_topk_merge(assay_topk *dst, const assay_topk *src)
{
    if (src->total == 0)
        return 0;
    assay_topk_item *it = malloc((src->size ? src->size : 1) * sizeof(*it));
    uint64_t *h = malloc((src->size ? src->size : 1) * sizeof(*h));
    if (!it || !h) {
        free(it);
        free(h);
        return -ENOMEM;
    }
    for (uint32_t s = 0; s < src->size; s++) {
        it[s] = (assay_topk_item){ .value = slot_value(src, s),
                                   .len = src->slots[s].len,
                                   .count = src->slots[s].count,
                                   .error = src->slots[s].error };
        h[s] = src->slots[s].hash;
    }
    int rc = merge_items(dst, it, h, src->size, topk_floor(src), src->total, src->exact);
    free(it);
    free(h);
    return rc;
}

int assay_topk_absorb(assay_topk *dst, const assay_topk_item *items, const uint64_t *hashes,
                      size_t n, uint64_t floor, uint64_t total)
{
    /* A bound with fewer than k values to monitor would leave an inexact summary with
     * free slots, where a new value could start below what it may already have had. */
    if (floor > 0 && n < dst->k && (dst->exact || dst->size < dst->k))
        return -EINVAL;
    return merge_items(dst, items, hashes, n, floor, total, floor == 0);
}

uint64_t assay_topk_floor(const assay_topk *t)
{
    return topk_floor(t);
}

/* ------------------------------------------------------------------------------------ */
/* Serialization                                                                         */
/* ------------------------------------------------------------------------------------ */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int assay_topk_serialize(const assay_topk *t, uint8_t **buf, size_t *len)
{
    assay_topk_item *items = malloc((size_t)ASSAY_MAX(t->size, 1u) * sizeof(*items));
    if (!items)
        return -ENOMEM;
    size_t n = assay_topk_list(t, items, t->size);
    size_t plen = TOPK_FIXED;
    for (size_t i = 0; i < n; i++)
        plen += TOPK_ITEM_HEAD + items[i].len;
    uint8_t *b = malloc(ASSAY_SKETCH_HEADER + plen);
    if (!b) {
        free(items);
        return -ENOMEM;
    }
    assay_sketch_header_write(b, ASSAY_SKETCH_TOPK, TOPK_VERSION, plen);
    uint8_t *p = b + ASSAY_SKETCH_HEADER;
    put_le(p, t->k, 4);
    put_le(p + 4, t->maxlen, 4);
    put_le(p + 8, t->total, 8);
    put_le(p + 16, n, 4);
    p[20] = t->exact ? 1 : 0;
    p[21] = p[22] = p[23] = 0;
    p += TOPK_FIXED;
    for (size_t i = 0; i < n; i++) {
        put_le(p, items[i].count, 8);
        put_le(p + 8, items[i].error, 8);
        put_le(p + 16, items[i].len, 4);
        if (items[i].len)
            memcpy(p + TOPK_ITEM_HEAD, items[i].value, items[i].len);
        p += TOPK_ITEM_HEAD + items[i].len;
    }
    free(items);
    *buf = b;
    *len = ASSAY_SKETCH_HEADER + plen;
    return 0;
}

int assay_topk_deserialize(const uint8_t *buf, size_t len, assay_topk **out, assay_error *err)
{
    const uint8_t *p;
    uint64_t plen;
    *out = NULL;
    int rc = assay_sketch_header_check(buf, len, ASSAY_SKETCH_TOPK, TOPK_VERSION, &p, &plen, err);
    if (rc < 0)
        return assay_error_prefix(err, "top-k");
    if (plen < TOPK_FIXED)
        return assay_error_set(err, -EINVAL, "top-k: payload of %llu bytes is shorter than %d",
                               (unsigned long long)plen, TOPK_FIXED);
    uint32_t k = (uint32_t)get_le(p, 4), maxlen = (uint32_t)get_le(p + 4, 4);
    uint64_t total = get_le(p + 8, 8);
    uint32_t n = (uint32_t)get_le(p + 16, 4);
    uint8_t exact = p[20];
    if (!params_ok(k, maxlen))
        return assay_error_set(err, -EINVAL,
                               "top-k: k = %u / max_value_len = %u out of range (1..%u each, "
                               "k * max_value_len <= %llu)",
                               k, maxlen, TOPK_MAX_K, (unsigned long long)TOPK_MAX_ARENA);
    if (exact > 1 || p[21] || p[22] || p[23])
        return assay_error_set(err, -EINVAL, "top-k: bad flags byte %u or reserved bytes", exact);
    if (n > k)
        return assay_error_set(err, -EINVAL, "top-k: %u items but k = %u", n, k);
    if (!exact && n != k)
        return assay_error_set(err, -EINVAL, "top-k: inexact summary holds %u items, not k = %u", n,
                               k);

    assay_topk *t = topk_alloc(k, maxlen);
    cand *c = malloc((size_t)ASSAY_MAX(n, 1u) * sizeof(cand));
    if (!t || !c) {
        assay_topk_free(t);
        free(c);
        return assay_error_set(err, -ENOMEM, "top-k: out of memory for k = %u", k);
    }
    const uint8_t *q = p + TOPK_FIXED, *end = p + plen;
    uint64_t sum = 0;
    rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if ((size_t)(end - q) < TOPK_ITEM_HEAD) {
            rc = assay_error_set(err, -EINVAL, "top-k: input ends inside item %u of %u", i, n);
            goto fail;
        }
        cand *x = &c[i];
        x->count = get_le(q, 8);
        x->error = get_le(q + 8, 8);
        x->len = (uint32_t)get_le(q + 16, 4);
        q += TOPK_ITEM_HEAD;
        if (x->len > maxlen || (size_t)(end - q) < x->len) {
            rc = assay_error_set(err, -EINVAL,
                                 "top-k: item %u is %u bytes long (max_value_len %u, %zu left)", i,
                                 x->len, maxlen, (size_t)(end - q));
            goto fail;
        }
        x->value = (const char *)q;
        x->hash = assay_hash_bytes(q, x->len);
        q += x->len;
        if (x->count == 0 || x->error >= x->count) {
            rc = assay_error_set(err, -EINVAL, "top-k: item %u has count %llu, error %llu", i,
                                 (unsigned long long)x->count, (unsigned long long)x->error);
            goto fail;
        }
        if (exact && x->error) {
            rc = assay_error_set(err, -EINVAL, "top-k: exact summary with error %llu on item %u",
                                 (unsigned long long)x->error, i);
            goto fail;
        }
        if (i > 0 && cand_cmp(&c[i - 1], x) >= 0) {
            rc = assay_error_set(err, -EINVAL, "top-k: item %u is out of order or repeated", i);
            goto fail;
        }
        if (x->count > total - sum) {
            rc = assay_error_set(err, -EINVAL, "top-k: counts add up to more than the total %llu",
                                 (unsigned long long)total);
            goto fail;
        }
        sum += x->count;
    }
    if (q != end) {
        rc = assay_error_set(err, -EINVAL, "top-k: %zu bytes after the last item",
                             (size_t)(end - q));
        goto fail;
    }
    if (exact && sum != total) {
        rc = assay_error_set(err, -EINVAL, "top-k: exact counts add up to %llu, total is %llu",
                             (unsigned long long)sum, (unsigned long long)total);
        goto fail;
    }
    /* error <= the minimum count (see the essay); the minimum is the last item */
    for (uint32_t i = 0; !exact && i < n; i++)
        if (c[i].error > c[n - 1].count) {
            rc = assay_error_set(
                err, -EINVAL, "top-k: item %u has error %llu above the minimum count %llu", i,
                (unsigned long long)c[i].error, (unsigned long long)c[n - 1].count);
            goto fail;
        }
    /* Equal values with different counts are not adjacent in list order: the table
     * catches them. */
    int64_t dup = fill_sorted(t, c, n);
    if (dup == -2) {
        rc = assay_error_set(err, -ENOMEM, "top-k: out of memory");
        goto fail;
    }
    if (dup >= 0) {
        rc = assay_error_set(err, -EINVAL, "top-k: item %lld repeats another item's value",
                             (long long)dup);
        goto fail;
    }
    t->total = total;
    t->exact = exact;
    free(c);
    *out = t;
    return 0;
fail:
    free(c);
    assay_topk_free(t);
    return rc;
}
