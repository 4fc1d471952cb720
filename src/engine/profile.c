/*
 * Column profiles: one pass, mergeable per-shard state, the fields of the
 * section 4's profile record.
 *
 * Per shard and column, fed from the same batch views the rules use (text views and
 * typed vectors, nulls and bad rows already masked out):
 *   distinct   HyperLogLog over a 64-bit hash of each value. Numeric values hash
 *              their typed bits (so "1.50" and "1.5" are one value), text values
 *              their bytes; values that do not parse as the column's type hash their
 *              text. Precision p = 16 by default: RSE 1.04/256 = 0.41%, so an
 *              estimate is within 1% of the truth 98% of the time (2.4 sigma); the
 *              sketch's own default (14, 0.81%) misses 1% a fifth of the time, which
 *              is too often for the product's "distinct within 1%" goal.
 *   numeric    int, float and timestamp columns: Pebay moments (mean, stddev,
 *              skewness, excess kurtosis, min, max) and a t-digest for the quantiles
 *              p01..p99 and the Tukey-fence outlier count. delta = 300, not the
 *              sketch's default 100: merging the many per-chunk digests (below) of a
 *              skewed integer column (Zipf customer ids) gave 0.62% rank error at the
 *              median with 100; 200 held that, but real data in short overlapping
 *              ascending runs with many ties (ggplot2's diamonds, docs/profile-
 *              accuracy.md) still missed by 0.64% at the median and 0.11% at p01,
 *              where its middle centroids held 2.9% of the values each; 300 meets
 *              both bounds there, for 1.5x the centroids (70 KiB at most per digest).
 *   text       string and bool columns: Space-Saving top-k (k = 64, exact while the
 *              column has at most 64 distinct values), bytewise min/max value, and
 *              length in code points (min, max, mean). Once a partial's summary has
 *              seen more than k distinct values, a batch's values are first counted
 *              exactly in a small per-shard table; the batch's k most frequent values
 *              then go into the summary with their exact counts, and the (k+1)-th
 *              count bounds every value left out (the mergeable-summary step of
 *              src/sketch/topk.c). This costs one hash-table increment per value
 *              instead of a Space-Saving takeover per new value, and it invents
 *              nothing: an earlier version fed a 1-in-16 row sample with weight 16
 *              there, which gave values seen once counts of 16 and more.
 *              What is reported: a value is listed only while its guaranteed count
 *              (count - error) is above the floor (the most any value outside the
 *              summary can have) and at least the estimate of the next value, so the
 *              listed values are certainly the most frequent ones; estimated counts
 *              carry their range [count - error, count]. A column where every value
 *              is (nearly) unique lists nothing rather than arbitrary values.
 * Where the state lives: every sketch is kept per partial (one sub-pane's rows of one
 * chunk, src/window/partial.c), travels back with the chunk and is folded by the
 * aggregator in stream order; windows merge their sub-panes in a fixed order. So the
 * whole profile is identical for any number of threads, and memory is bounded by the
 * chunks in flight and the open windows, not by the size of the input. Per-chunk
 * digests also keep t-digests accurate on monotonic columns (ids, event times): with
 * per-shard digests, round-robin chunks hand each shard disjoint sorted runs, a
 * centroid then straddles a gap another shard fills, and the merged median was off by
 * 1.5% on sequential ids; per-chunk digests have no such gaps. A chunk's distinct-value
 * hashes are buffered (1024) before a dense HyperLogLog is started, so small partials
 * stay small and big ones skip the sparse form.
 *
 * duplicate_rows: rows whose whole text repeats an earlier row byte for byte (after
 * the line terminator is removed), counted exactly like `unique`: the shard hashes the
 * row, the aggregator checks the hash against the window's set in stream order, under
 * limits.unique_memory.
 *
 * Issues (per column, each with its evidence as one line):
 *   high_nulls            more than 50% of the rows are null
 *   constant              every non-null value is the same
 *   mixed_types           a typed column has values that are not of its type, or a
 *                         string column's first rows parse as numbers 10-90% of the time
 *   null_tokens           values that are common spellings of "no value" (NA, N/A, null,
 *                         -, ...) not listed in source.null_values: declare them
 *   outliers              values strictly beyond Q1 - 1.5 IQR / Q3 + 1.5 IQR (Tukey 1977),
 *                         counted from the t-digest's strict tails (an estimate; a value
 *                         on a fence is inside, so IQR = 0 flags only the other values)
 *   high_cardinality_key  (nearly) every value is distinct: looks like a key
 *   duplicates            near-unique (>= 95% distinct) but clearly not unique: the HLL
 *                         estimate is more than 3 standard errors below the count
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
#include "assay/hashset.h"
#include "assay/nulls.h"
#include "assay/number.h"
#include "assay/utf8.h"
#include "core/grow.h"
#include "engine/engine_internal.h"

#define TOPK_K        ASSAY_PROFILE_TOPK_K
#define TOPK_MAXLEN   ASSAY_PROFILE_TOPK_MAXLEN
#define TDIGEST_DELTA ASSAY_PROFILE_TDIGEST_DELTA

const double assay_profile_q[ASSAY_PROFILE_NQ] = { 0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99 };
const char *const assay_profile_qname[ASSAY_PROFILE_NQ] = { "p01", "p05", "p25", "p50",
                                                            "p75", "p95", "p99" };

bool assay_profile_numeric(assay_type t)
{
    return t == ASSAY_TYPE_INT || t == ASSAY_TYPE_FLOAT || t == ASSAY_TYPE_TIMESTAMP;
}

/* ---------------------------------------------------------------------------------
 * Column sketches: lazy creation, reset, merge
 * ------------------------------------------------------------------------------- */

void assay_col_profile_reset(col_profile *p)
{
    p->count = p->nulls = p->invalid = 0;
    p->hn = 0;
    p->hll_used = false;
    if (p->td)
        assay_tdigest_reset(p->td);
    assay_moments_init(&p->mom);
    if (p->topk)
        assay_topk_reset(p->topk);
    p->has_s = false;
    p->smin_len = p->smax_len = 0;
    p->len_min = UINT64_MAX;
    p->len_max = p->len_sum = p->len_n = 0;
    p->widened = p->n_nan = p->n_pinf = p->n_ninf = p->n_nulltok = 0;
    p->nulltok[0] = '\0';
    p->has_i = false;
}

void assay_col_profile_free(col_profile *p)
{
    assay_hll_free(p->hll);
    free(p->hb);
    assay_tdigest_free(p->td);
    assay_topk_free(p->topk);
    free(p->smin);
    free(p->smax);
    memset(p, 0, sizeof(*p));
}

/* The sketch holding distinct values, started when first needed: in a chunk's partial
 * (it only gets here past PART_HB_MAX values) dense, unless those values hold few
 * distinct ones; sparse in an accumulator. */
static int hll_ready(const assay_engine *e, col_profile *p, bool dense)
{
    if (p->hll_used)
        return 0;
    if (!p->hll && assay_hll_new(&p->hll, e->hll_p) < 0)
        return -ENOMEM;
    if (assay_hll_reset(p->hll, dense) < 0)
        return -ENOMEM;
    p->hll_used = true;
    return 0;
}

/* Whether the first PART_HB_MAX hashes of a then b hold at most about PART_FEW distinct
 * values. A chunk's sketch for such a column stays sparse (its repeats hit the sparse
 * form's cache, so it costs little), and so does every accumulator it merges into,
 * which keeps the distinct count of a column of a few hundred values exact: a dense
 * chunk sketch made the window's sketch dense, and at 79 values a register collision
 * then printed 78. The count only picks the sketch's form, so linear counting over a
 * 4096-bit map is enough (Whang et al. 1990: at 256 distinct values in 4096 bits its
 * standard error is about 2 %); sorting the hashes cost 0.4 % of a profile's instructions. */
#define PART_FEW 256
static bool few_distinct(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    uint64_t map[64] = { 0 };
    size_t n = ASSAY_MIN(na, (size_t)PART_HB_MAX);
    size_t m = ASSAY_MIN(nb, (size_t)PART_HB_MAX - n);
    for (size_t i = 0; i < n; i++)
        map[a[i] >> 58] |= 1ull << ((a[i] >> 52) & 63);
    for (size_t i = 0; i < m; i++)
        map[b[i] >> 58] |= 1ull << ((b[i] >> 52) & 63);
    unsigned set = 0;
    for (int w = 0; w < 64; w++)
        set += (unsigned)__builtin_popcountll(map[w]);
    /* PART_FEW distinct values set 4096 (1 - e^(-PART_FEW / 4096)) = 248 bits on average */
    return set <= 248;
}

static int add_hashes(const assay_engine *e, col_profile *p, const uint64_t *h, size_t n)
{
    if (n == 0)
        return 0;
    if (p->chunk && !p->hll_used) {
        if (p->hn + n <= PART_HB_MAX && p->hn + n > p->hb_cap) {
            uint32_t cap = (uint32_t)assay_grow_cap(p->hb_cap, p->hn + n, 64, PART_HB_MAX);
            uint64_t *nb = realloc(p->hb, cap * sizeof(uint64_t));
            if (!nb)
                return -ENOMEM;
            p->hb = nb;
            p->hb_cap = cap;
        }
        if (p->hn + n <= PART_HB_MAX) {
            memcpy(p->hb + p->hn, h, n * sizeof(uint64_t));
            p->hn += (uint32_t)n;
            return 0;
        }
        if (hll_ready(e, p, !few_distinct(p->hb, p->hn, h, n)) < 0)
            return -ENOMEM;
        if (assay_hll_add_batch(p->hll, p->hb, p->hn) < 0)
            return -ENOMEM;
        p->hn = 0;
    } else if (hll_ready(e, p, p->chunk) < 0) {
        return -ENOMEM;
    }
    return assay_hll_add_batch(p->hll, h, n);
}

static int td_ready(col_profile *p)
{
    if (!p->td)
        return assay_tdigest_new(&p->td, TDIGEST_DELTA);
    return 0;
}

static int topk_ready(col_profile *p)
{
    if (!p->topk)
        return assay_topk_new(&p->topk, TOPK_K, TOPK_MAXLEN);
    return 0;
}

/* Keep a copy of v in *dst when it is smaller (want_min) or larger than *dst. */
static int keep_extreme(char **dst, uint32_t *dlen, uint32_t *dcap, bool has, const char *v,
                        uint32_t len, bool want_min)
{
    if (has) {
        size_t m = ASSAY_MIN(*dlen, len);
        int c = memcmp(v, *dst, m);
        if (c == 0)
            c = (len > *dlen) - (len < *dlen);
        if (want_min ? c >= 0 : c <= 0)
            return 0;
    }
    if (len + 1 > *dcap) {
        uint32_t cap = ASSAY_MAX(len + 1, 2 * *dcap);
        char *p = realloc(*dst, cap);
        if (!p)
            return -ENOMEM;
        *dst = p;
        *dcap = cap;
    }
    memcpy(*dst, v, len);
    (*dst)[len] = '\0';
    *dlen = len;
    return 0;
}

int assay_col_profile_merge(const assay_engine *e, uint32_t c, col_profile *d, const col_profile *s)
{
    (void)c;
    d->count += s->count;
    d->nulls += s->nulls;
    d->invalid += s->invalid;
    if (s->hn && add_hashes(e, d, s->hb, s->hn) < 0)
        return -ENOMEM;
    if (s->hll_used) {
        if (hll_ready(e, d, d->chunk) < 0 || assay_hll_merge(d->hll, s->hll) < 0)
            return -ENOMEM;
    }
    if (s->td && assay_tdigest_count(s->td) + assay_tdigest_nan_count(s->td) > 0) {
        if (td_ready(d) < 0 || assay_tdigest_merge(d->td, s->td) < 0)
            return -ENOMEM;
    }
    if (s->mom.n > 0 || s->mom.min <= s->mom.max)
        assay_moments_merge(&d->mom, &s->mom);
    if (s->topk && assay_topk_total(s->topk) > 0) {
        if (topk_ready(d) < 0 || assay_topk_merge(d->topk, s->topk) < 0)
            return -ENOMEM;
    }
    if (s->has_s) {
        if (keep_extreme(&d->smin, &d->smin_len, &d->smin_cap, d->has_s, s->smin, s->smin_len,
                         true) < 0 ||
            keep_extreme(&d->smax, &d->smax_len, &d->smax_cap, d->has_s, s->smax, s->smax_len,
                         false) < 0)
            return -ENOMEM;
        d->has_s = true;
    }
    d->len_min = ASSAY_MIN(d->len_min, s->len_min);
    d->len_max = ASSAY_MAX(d->len_max, s->len_max);
    d->len_sum += s->len_sum;
    d->len_n += s->len_n;
    d->widened += s->widened;
    if (!d->n_nulltok && s->n_nulltok)
        memcpy(d->nulltok, s->nulltok, sizeof(d->nulltok));
    d->n_nulltok += s->n_nulltok;
    d->n_nan += s->n_nan;
    d->n_pinf += s->n_pinf;
    d->n_ninf += s->n_ninf;
    if (s->has_i) {
        d->imin = d->has_i ? ASSAY_MIN(d->imin, s->imin) : s->imin;
        d->imax = d->has_i ? ASSAY_MAX(d->imax, s->imax) : s->imax;
        d->has_i = true;
    }
    return 0;
}

/* How many of the listed items (count order, nt of them, the first ASSAY_PROFILE_TOP
 * wanted) are certainly the most frequent values: the largest L such that every one of
 * the first L has a guaranteed count above the sketch's floor and at least the
 * estimate of item L (the first one left out). An exact summary lists them all. */
static size_t listed_top(const assay_topk *t, const assay_topk_item *it, size_t nt)
{
    size_t want = ASSAY_MIN(nt, (size_t)ASSAY_PROFILE_TOP);
    if (assay_topk_exact(t))
        return want;
    uint64_t floor = assay_topk_floor(t);
    size_t best = 0;
    uint64_t lo_min = UINT64_MAX;
    for (size_t l = 1; l <= want; l++) {
        uint64_t lo = it[l - 1].count - it[l - 1].error;
        if (lo <= floor)
            break;
        lo_min = ASSAY_MIN(lo_min, lo);
        uint64_t next = l < nt ? it[l].count : floor;
        if (lo_min >= next)
            best = l;
    }
    return best;
}

/* ---------------------------------------------------------------------------------
 * Feeding a batch
 * ------------------------------------------------------------------------------- */

/* Exact counts of the distinct values of one column within one batch: open addressing
 * keyed by the value hash (confirmed by the bytes, which stay valid for the batch),
 * at most batch_rows entries in a table of twice that. */
typedef struct topk_block {
    uint32_t *tab; /* entry + 1, 0 = empty */
    uint32_t mask;
    uint32_t n;
    assay_topk_item *items; /* [batch_rows]: value, len, exact count (error 0) */
    uint64_t *hash;         /* [batch_rows] */
    uint32_t *slot;         /* [batch_rows] table slot, to clear only what was used */
    uint32_t *heap;         /* [TOPK_K + 1] selection of the most frequent */
    assay_topk_item *sel;   /* [TOPK_K] */
    uint64_t *sel_hash;     /* [TOPK_K] */
} topk_block;

int assay_profile_shard_init(assay_engine *e, assay_shard *s)
{
    s->hbuf = malloc(e->batch_rows * sizeof(uint64_t));
    s->dbuf = malloc(e->batch_rows * sizeof(double));
    topk_block *b = s->tkb = calloc(1, sizeof(topk_block));
    if (!s->hbuf || !s->dbuf || !b)
        return -ENOMEM;
    uint32_t ts = 16;
    while (ts < 2 * e->batch_rows)
        ts <<= 1;
    b->mask = ts - 1;
    b->tab = calloc(ts, sizeof(uint32_t));
    b->items = malloc(e->batch_rows * sizeof(assay_topk_item));
    b->hash = malloc(e->batch_rows * sizeof(uint64_t));
    b->slot = malloc(e->batch_rows * sizeof(uint32_t));
    b->heap = malloc((TOPK_K + 1) * sizeof(uint32_t));
    b->sel = malloc(TOPK_K * sizeof(assay_topk_item));
    b->sel_hash = malloc(TOPK_K * sizeof(uint64_t));
    if (!b->tab || !b->items || !b->hash || !b->slot || !b->heap || !b->sel || !b->sel_hash)
        return -ENOMEM;
    return 0;
}

void assay_profile_shard_free(assay_shard *s)
{
    free(s->hbuf);
    free(s->dbuf);
    s->hbuf = NULL;
    s->dbuf = NULL;
    topk_block *b = s->tkb;
    if (b) {
        free(b->tab);
        free(b->items);
        free(b->hash);
        free(b->slot);
        free(b->heap);
        free(b->sel);
        free(b->sel_hash);
        free(b);
        s->tkb = NULL;
    }
}

static void block_count(topk_block *b, const char *v, uint32_t len, uint64_t h)
{
    if (ASSAY_UNLIKELY(len > TOPK_MAXLEN)) { /* counted as its prefix, as the sketch does */
        len = TOPK_MAXLEN;
        h = assay_hash_bytes(v, len);
    }
    uint32_t i = (uint32_t)h & b->mask;
    for (; b->tab[i]; i = (i + 1) & b->mask) {
        uint32_t x = b->tab[i] - 1;
        if (b->hash[x] == h && b->items[x].len == len && memcmp(b->items[x].value, v, len) == 0) {
            b->items[x].count++;
            return;
        }
    }
    uint32_t x = b->n++;
    b->items[x] = (assay_topk_item){ .value = v, .len = len, .count = 1 };
    b->hash[x] = h;
    b->slot[x] = i;
    b->tab[i] = x + 1;
}

/* heap[0..n) of entries with the least frequent at the root; which of several equal
 * counts stays depends only on the batch's order, so the result is deterministic. */
static void block_sift(topk_block *b, uint32_t n, uint32_t pos)
{
    for (;;) {
        uint32_t l = 2 * pos + 1, w = pos;
        if (l < n && b->items[b->heap[l]].count < b->items[b->heap[w]].count)
            w = l;
        if (l + 1 < n && b->items[b->heap[l + 1]].count < b->items[b->heap[w]].count)
            w = l + 1;
        if (w == pos)
            return;
        uint32_t t = b->heap[pos];
        b->heap[pos] = b->heap[w];
        b->heap[w] = t;
        pos = w;
    }
}

/* Hand the batch's exact counts to the column's summary and clear the table. With at
 * most k distinct values they all go in, exactly; otherwise the (k+1)-th largest count
 * F bounds every value left out, and only the values counted more than F times go in,
 * with their exact counts (a value with F or fewer occurrences adds nothing the bound
 * does not already say; on a high-cardinality column that is every value, and the
 * merge shrinks to adding F to every counter). This is the mergeable-summary step of
 * topk.c. Unlike feeding a sample with weights, nothing is extrapolated: a value's
 * guaranteed count only grows by occurrences that were counted. */
static int block_flush(topk_block *b, assay_topk *t)
{
    uint32_t n = b->n;
    uint64_t total = 0;
    for (uint32_t x = 0; x < n; x++)
        total += b->items[x].count;
    int rc;
    if (n <= TOPK_K) {
        rc = assay_topk_absorb(t, b->items, b->hash, n, 0, total);
    } else {
        uint32_t hn = TOPK_K + 1;
        for (uint32_t x = 0; x < hn; x++)
            b->heap[x] = x;
        for (uint32_t p = hn / 2; p-- > 0;)
            block_sift(b, hn, p);
        for (uint32_t x = hn; x < n; x++) {
            if (b->items[x].count > b->items[b->heap[0]].count) {
                b->heap[0] = x;
                block_sift(b, hn, 0);
            }
        }
        uint64_t floor = b->items[b->heap[0]].count; /* the (k+1)-th most frequent */
        uint32_t ns = 0;
        for (uint32_t j = 1; j < hn; j++) {
            uint32_t x = b->heap[j];
            if (b->items[x].count > floor) {
                b->sel[ns] = b->items[x];
                b->sel_hash[ns++] = b->hash[x];
            }
        }
        rc = assay_topk_absorb(t, b->sel, b->sel_hash, ns, floor, total);
    }
    for (uint32_t x = 0; x < n; x++)
        b->tab[b->slot[x]] = 0;
    b->n = 0;
    return rc;
}

static inline uint64_t hash_i64(int64_t v)
{
    return assay_hash_bytes(&v, sizeof(v));
}

static inline uint64_t hash_f64(double v)
{
    if (v == 0)
        v = 0; /* -0.0 and 0.0 are one value */
    if (isnan(v))
        v = NAN;
    return assay_hash_bytes(&v, sizeof(v));
}

/* A double's hash; a widened value of an int column that is whole (12.0) hashes as
 * the int it equals, so it is one value with 12. */
static inline uint64_t hash_number(double v, bool wide)
{
    return wide && v == trunc(v) && fabs(v) < 9.2e18 ? hash_i64((int64_t)v) : hash_f64(v);
}

uint64_t assay_profile_value_hash(const assay_shard *s, uint32_t c, size_t i)
{
    assay_type t = s->e->sch.types[c];
    bool valid = !assay_bit_get(s->invalid[c], i);
    if (assay_profile_numeric(t) && valid) {
        const uint64_t *frac = s->frac[c];
        bool wide = frac && assay_bit_get(frac, i);
        if (t == ASSAY_TYPE_FLOAT || wide) {
            double v = s->f64[c][i];
            return hash_number(v, wide);
        }
        return hash_i64(s->i64[c][i]);
    }
    return assay_hash_bytes(s->str[c][i], s->len[c][i]);
}

int assay_profile_batch(assay_shard *s, assay_partial *part, const uint64_t *mask, uint32_t n)
{
    const assay_engine *e = s->e;
    const assay_schema *sch = &e->sch;
    size_t words = ASSAY_BITMAP_WORDS(n);
    for (uint32_t c = 0; c < sch->ncols; c++) {
        if (!sch->want[c])
            continue;
        col_profile *p = &part->cols[c];
        const uint64_t *null = s->null[c], *inv = s->invalid[c];
        uint64_t cnt = 0, nul = 0, bad = 0;
        for (size_t w = 0; w < words; w++) {
            cnt += (uint64_t)__builtin_popcountll(mask[w]);
            nul += (uint64_t)__builtin_popcountll(mask[w] & null[w]);
            bad += (uint64_t)__builtin_popcountll(mask[w] & inv[w] & ~null[w]);
        }
        p->count += cnt;
        p->nulls += nul;
        p->invalid += bad;
        if (!e->profile)
            continue;
        assay_type t = sch->types[c];
        bool numeric = assay_profile_numeric(t);
        size_t nh = 0, nd = 0;
        bool text_seen = false;
        const uint64_t *frac = s->frac[c];
        int64_t imin = INT64_MAX, imax = INT64_MIN;
        bool any_i = false;
        for (size_t w = 0; w < words; w++) {
            uint64_t bits = mask[w] & ~null[w];
            while (bits) {
                size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                bool valid = !((inv[i >> 6] >> (i & 63)) & 1);
                if (numeric && valid) {
                    bool wide = frac && ((frac[i >> 6] >> (i & 63)) & 1);
                    if (t == ASSAY_TYPE_FLOAT || wide) {
                        double v = s->f64[c][i];
                        p->widened += wide;
                        /* 12.0 in an int column is the value 12 */
                        s->hbuf[nh++] = hash_number(v, wide);
                        if (ASSAY_LIKELY(isfinite(v)))
                            s->dbuf[nd++] = v;
                        else if (isnan(v))
                            p->n_nan++;
                        else if (v > 0)
                            p->n_pinf++;
                        else
                            p->n_ninf++;
                    } else {
                        int64_t v = s->i64[c][i];
                        s->hbuf[nh++] = hash_i64(v);
                        s->dbuf[nd++] = (double)v;
                        if (t == ASSAY_TYPE_INT) {
                            imin = ASSAY_MIN(imin, v);
                            imax = ASSAY_MAX(imax, v);
                            any_i = true;
                        }
                    }
                    continue;
                }
                const char *v = s->str[c][i];
                uint32_t len = s->len[c][i];
                uint64_t h = assay_hash_bytes(v, len);
                s->hbuf[nh++] = h;
                if (ASSAY_UNLIKELY(assay_may_be_null_token(v, len) &&
                                   assay_is_common_null_token(v, len))) {
                    if (!p->n_nulltok++) {
                        memcpy(p->nulltok, v, len);
                        p->nulltok[len] = '\0';
                    }
                }
                if (numeric)
                    continue; /* an invalid value of a numeric column: distinct only */
                if (!text_seen) {
                    if (topk_ready(p) < 0)
                        return -ENOMEM;
                    text_seen = true;
                }
                if (assay_topk_exact(p->topk)) {
                    if (assay_topk_add(p->topk, v, len, h) < 0)
                        return -ENOMEM;
                } else
                    block_count(s->tkb, v, len, h);
                uint64_t cp = assay_utf8_length(v, len);
                p->len_min = ASSAY_MIN(p->len_min, cp);
                p->len_max = ASSAY_MAX(p->len_max, cp);
                p->len_sum += cp;
                p->len_n++;
                if (keep_extreme(&p->smin, &p->smin_len, &p->smin_cap, p->has_s, v, len, true) <
                        0 ||
                    keep_extreme(&p->smax, &p->smax_len, &p->smax_cap, p->has_s, v, len, false) < 0)
                    return -ENOMEM;
                p->has_s = true;
            }
        }
        if (any_i) {
            p->imin = p->has_i ? ASSAY_MIN(p->imin, imin) : imin;
            p->imax = p->has_i ? ASSAY_MAX(p->imax, imax) : imax;
            p->has_i = true;
        }
        if (s->tkb->n && block_flush(s->tkb, p->topk) < 0)
            return -ENOMEM;
        if (add_hashes(e, p, s->hbuf, nh) < 0)
            return -ENOMEM;
        if (nd) {
            if (td_ready(p) < 0)
                return -ENOMEM;
            assay_moments_add_batch(&p->mom, s->dbuf, nd);
            if (assay_tdigest_add_batch(p->td, s->dbuf, nd) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Results
 * ------------------------------------------------------------------------------- */

static void add_issue(assay_column_result *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_issue(assay_column_result *c, const char *name, const char *fmt, ...)
{
    if (c->nissues >= ASSAY_PROFILE_ISSUES)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->issues[c->nissues] = name;
    c->issue_text[c->nissues] = strdup(buf);
    c->nissues++;
}

static void pct(char *buf, size_t cap, double share)
{
    snprintf(buf, cap, "%.1f%%", 100.0 * share);
}

static void find_issues(const assay_engine *e, uint32_t ci, assay_column_result *c)
{
    uint64_t rows = c->count;
    uint64_t nonnull = c->count - c->nulls;
    char a[32];
    double rse = 1.04 / sqrt((double)(1u << e->hll_p));
    if (rows > 0 && (double)c->nulls / (double)rows > 0.5) {
        pct(a, sizeof(a), (double)c->nulls / (double)rows);
        add_issue(c, "high_nulls", "%llu of %llu rows are null (%s): low quality",
                  (unsigned long long)c->nulls, (unsigned long long)rows, a);
    }
    if (nonnull > 1 && c->distinct < 1.5) {
        if (c->numeric)
            add_issue(c, "constant", "every non-null value is %g", c->min);
        else
            add_issue(c, "constant", "every non-null value is '%s'",
                      c->min_text ? c->min_text : "");
    }
    if (c->invalid > 0 && c->type != ASSAY_TYPE_STRING) {
        pct(a, sizeof(a), (double)c->invalid / (double)nonnull);
        add_issue(c, "mixed_types", "%llu values (%s) are not %s", (unsigned long long)c->invalid,
                  a, assay_type_name(c->type));
    } else if (c->type == ASSAY_TYPE_STRING) {
        const assay_infer_count *ic = &e->sch.infer[ci];
        double best = 0;
        const char *as = NULL;
        if (ic->nonnull) {
            double f[] = { (double)ic->as_int / ic->nonnull, (double)ic->as_float / ic->nonnull,
                           (double)ic->as_ts / ic->nonnull };
            const char *names[] = { "int", "float", "timestamp" };
            for (int k = 0; k < 3; k++)
                if (f[k] > best)
                    best = f[k], as = names[k];
        }
        if (as && best >= 0.10 && best < 0.90) {
            pct(a, sizeof(a), best);
            add_issue(c, "mixed_types", "%s of the first %llu values parse as %s, the rest do not",
                      a, (unsigned long long)ic->nonnull, as);
        }
    }
    if (c->null_tokens > 0) {
        pct(a, sizeof(a), (double)c->null_tokens / (double)nonnull);
        add_issue(c, "null_tokens",
                  "%llu values (%s) are text that usually means no value ('%s'): list it in "
                  "source.null_values (or --null-values) to count them as nulls",
                  (unsigned long long)c->null_tokens, a, c->null_token);
    }
    if (c->nan + c->pos_inf + c->neg_inf > 0) {
        pct(a, sizeof(a), (double)(c->nan + c->pos_inf + c->neg_inf) / (double)nonnull);
        add_issue(
            c, "non_finite",
            "%llu NaN, %llu inf and %llu -inf values (%s): counted, but kept out of the mean, "
            "stddev, min/max and quantiles",
            (unsigned long long)c->nan, (unsigned long long)c->pos_inf,
            (unsigned long long)c->neg_inf, a);
    }
    if (c->numeric && c->outliers > 0) {
        double iqr = c->quantiles[4] - c->quantiles[2];
        double lo = c->quantiles[2] - 1.5 * iqr, hi = c->quantiles[4] + 1.5 * iqr;
        char l[40], h[40];
        if (c->type == ASSAY_TYPE_TIMESTAMP) {
            assay_format_timestamp((int64_t)llround(lo), l, sizeof(l));
            assay_format_timestamp((int64_t)llround(hi), h, sizeof(h));
        } else {
            snprintf(l, sizeof(l), "%.6g", lo);
            snprintf(h, sizeof(h), "%.6g", hi);
        }
        pct(a, sizeof(a), (double)c->outliers / (double)nonnull);
        add_issue(c, "outliers", "about %llu values (%s) beyond the Tukey fences [%s, %s]",
                  (unsigned long long)c->outliers, a, l, h);
    }
    if (nonnull >= 100 && c->distinct >= 0.95 * (double)nonnull) {
        if (c->distinct >= (1.0 - 3 * rse) * (double)nonnull)
            add_issue(c, "high_cardinality_key",
                      "~%.0f distinct of %llu values: looks like a key (declare `unique` to "
                      "check it exactly)",
                      c->distinct, (unsigned long long)nonnull);
        else
            add_issue(c, "duplicates",
                      "near-unique column with repeats: ~%.0f distinct of %llu values (HLL "
                      "estimate, +-%.1f%%)",
                      c->distinct, (unsigned long long)nonnull, 100 * rse);
    }
}

int assay_profile_result(const assay_engine *e, uint32_t c, col_profile *d, assay_column_result *cr,
                         const assay_regex_db *formats)
{
    cr->count = d->count;
    cr->nulls = d->nulls;
    cr->invalid = d->invalid;
    if (!e->profile)
        return 0;
    if (d->hn && (hll_ready(e, d, d->chunk) < 0 || assay_hll_add_batch(d->hll, d->hb, d->hn) < 0))
        return -ENOMEM;
    d->hn = 0;
    bool numeric = assay_profile_numeric(e->sch.types[c]);
    cr->profiled = true;
    cr->distinct = d->hll_used ? assay_hll_estimate(d->hll) : 0;
    /* an estimate never claims more distinct values than there are values, and a text
     * column whose top-k is still exact knows its distinct count exactly */
    cr->distinct = ASSAY_MIN(cr->distinct, (double)(d->count - d->nulls));
    if (!numeric && d->topk && assay_topk_exact(d->topk))
        cr->distinct = assay_topk_size(d->topk);
    cr->numeric = numeric;
    cr->widened = d->widened;
    cr->null_tokens = d->n_nulltok;
    memcpy(cr->null_token, d->nulltok, sizeof(cr->null_token));
    cr->nan = d->n_nan;
    cr->pos_inf = d->n_pinf;
    cr->neg_inf = d->n_ninf;
    /* an inferred int column with values that needed a float is a float column */
    if (cr->type == ASSAY_TYPE_INT && cr->inferred && d->widened > 0)
        cr->type = ASSAY_TYPE_FLOAT;
    if (cr->type == ASSAY_TYPE_INT && d->has_i) {
        cr->has_int_extremes = true;
        cr->min_int = d->imin;
        cr->max_int = d->imax;
    }
    cr->min = cr->max = cr->mean = cr->stddev = cr->skewness = cr->kurtosis = NAN;
    for (int q = 0; q < ASSAY_PROFILE_NQ; q++)
        cr->quantiles[q] = NAN;
    if (numeric && d->mom.n > 0 && d->td) {
        cr->min = d->mom.min;
        cr->max = d->mom.max;
        cr->mean = d->mom.mean;
        cr->stddev = assay_moments_stddev(&d->mom);
        cr->skewness = assay_moments_skewness(&d->mom);
        cr->kurtosis = assay_moments_kurtosis(&d->mom);
        for (int q = 0; q < ASSAY_PROFILE_NQ; q++)
            cr->quantiles[q] = assay_tdigest_quantile(d->td, assay_profile_q[q]);
        double q1 = cr->quantiles[2], q3 = cr->quantiles[4], iqr = q3 - q1;
        double lo = q1 - 1.5 * iqr, hi = q3 + 1.5 * iqr;
        /* only values strictly outside the fences: with IQR = 0 the fences sit on the
         * repeated value, which is not an outlier however often it occurs */
        double out = assay_tdigest_count_below(d->td, lo) + assay_tdigest_count_above(d->td, hi);
        if (d->mom.min >= lo && d->mom.max <= hi)
            out = 0;
        cr->outliers = out > 0.5 ? (uint64_t)llround(out) : 0;
    }
    if (!numeric) {
        if (d->has_s) {
            cr->min_text = strdup(d->smin);
            cr->max_text = strdup(d->smax);
            if (!cr->min_text || !cr->max_text)
                return -ENOMEM;
        }
        cr->len_min = d->len_n ? d->len_min : 0;
        cr->len_max = d->len_max;
        cr->len_mean = d->len_n ? (double)d->len_sum / (double)d->len_n : NAN;
        if (d->topk) {
            assay_topk_item items[ASSAY_PROFILE_TOP + 1];
            size_t nt = assay_topk_list(d->topk, items, ASSAY_PROFILE_TOP + 1);
            size_t nl = listed_top(d->topk, items, nt);
            bool exact = assay_topk_exact(d->topk);
            for (size_t i = 0; i < nl; i++) {
                if (!(cr->top[i].value = strndup(items[i].value, items[i].len)))
                    return -ENOMEM;
                cr->top[i].count = items[i].count;
                cr->top[i].count_min = items[i].count - items[i].error;
                cr->top[i].exact = exact || items[i].error == 0;
                cr->ntop = i + 1;
            }
        }
    }
    if (formats && cr->type == ASSAY_TYPE_STRING && e->sch.nsamples[c] > 0) {
        cr->format =
            assay_best_format(formats, e->sch.samples[c], e->sch.nsamples[c], &cr->format_share);
        cr->format_n = e->sch.nsamples[c];
    }
    const assay_infer_count *ic = &e->sch.infer[c];
    cr->sampled = ic->nonnull;
    cr->sampled_int = ic->as_int;
    cr->sampled_float = ic->as_float;
    cr->sampled_ts = ic->as_ts;
    cr->sampled_bool = ic->as_bool;
    find_issues(e, c, cr);
    return 0;
}

void assay_column_result_free(assay_column_result *c)
{
    free(c->name);
    free(c->min_text);
    free(c->max_text);
    for (size_t i = 0; i < c->ntop; i++)
        free(c->top[i].value);
    for (size_t i = 0; i < c->nissues; i++)
        free(c->issue_text[i]);
}
