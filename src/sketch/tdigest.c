/*
 * tdigest.c - the merging t-digest: quantiles and CDF of a numeric column in a few KiB,
 * mergeable across shards and instances.
 *
 * Method
 * ------
 * T. Dunning and O. Ertl, "Computing extremely accurate quantiles using t-digests"
 * (arXiv:1902.04023, 2019). A t-digest summarises n values by a sorted list of
 * centroids (mean, weight; here also the spread of the centroid's values, see "Ordered
 * input"). A scale function k(q) maps a quantile q to a "k-scale"; a
 * centroid whose values span quantiles [q_left, q_right] is allowed only while
 * k(q_right) - k(q_left) <= 1 (section 2.1). Where k is steep - near the tails for the
 * functions used here - centroids must be small, so extreme quantiles are accurate;
 * where k is flat - around the median - centroids may be large.
 *
 * We follow the *merging* variant (section 3, Algorithm 1). Incoming values go into a
 * buffer. When the buffer is full (or a query, merge or serialization needs the
 * summary), the buffer is sorted and merged with the existing centroids - both runs are
 * sorted by mean - in one pass that greedily grows the current centroid while the
 * size bound allows:
 *
 *     W0 = weight left of the current centroid, Wlim = n * k^-1(k(W0 / n) + 1)
 *     for each item x in merged order:
 *         if W0 + w(current) + w(x) <= Wlim: current absorbs x (weighted mean)
 *         else: emit current; W0 += w(current); recompute Wlim; current = x
 *
 * Passes alternate direction (left to right, then right to left), as the paper
 * suggests, so the greedy pass does not always favour one end.
 *
 * Scale function: k_2
 * -------------------
 * We use k_2 (section 2.1) with the size normalisation of section 2.4, halved:
 *
 *     k_2(q) = delta / Z(n) * ln(q / (1 - q)),    Z(n) = 2 ln(n / delta) + 12
 *
 * Why k_2 and not k_1 or k_3:
 *  - The allowed width of a centroid at q is about dq = Z q (1 - q) / delta: it shrinks
 *    in proportion to the distance to *either* end, so the error at p01/p99 and
 *    p001/p999 is a *relative* error in the tail (k_1's width only shrinks like
 *    sqrt(q (1 - q)); that is the paper's "better tail accuracy", its Fig. 6-8).
 *  - k_3 has the same tail behaviour (dq ~ Z q / delta) but allows centroids twice as
 *    wide around the median (Z min(q, 1-q) / delta versus Z q (1 - q) / delta); k_2 gives
 *    the better median for the same memory.
 *  - Z(n) keeps the number of centroids bounded independent of n, so memory is fixed at
 *    creation (bound below).
 *  - Its inverse composes cheaply: k_2(q') = k_2(q) + 1 means the odds q'/(1-q') are the
 *    odds of q times E = exp(Z / delta). So the limit of a new centroid costs one
 *    division, no log or exp:  Wlim = n * W0 * E / (n - W0 + W0 * E).
 * Why half the paper's Z = 4 ln(n / delta) + 24: with the paper's normaliser a digest of
 * delta = 100 keeps ~65 centroids and, measured on 10^6 lognormal values, its p50 rank
 * error is 0.69% (1.1% after merging 8 digests) and p01 reaches 0.11% when merged - above
 * the 0.5% / 0.05% this project promises. Halving Z is the same as the paper's digest
 * with twice the delta: up to 2 delta + 16 centroids (115-130 in practice for delta =
 * 100, ~2 KiB) and errors within the bounds (table below). n / delta is clamped at >= 1
 * inside the log so Z >= 12 for small digests (the paper assumes n >> delta; for n well
 * below delta every value keeps its own centroid anyway and answers are exact).
 *
 * Single-point centroids at the tails and exact ends (section 2.9)
 * ---------------------------------------------------------------
 * k_2(0) = -inf, so Wlim(W0 = 0) = 0: the first centroid can never absorb anything and
 * stays the single smallest value; symmetrically the largest value keeps its own
 * centroid (we also enforce that explicitly, since Wlim rounds to n for huge n). Near the
 * ends the bound forces weight-1 centroids for the first and last ~delta/Z values. The
 * digest tracks min and max exactly, so quantile(0) = min and quantile(1) = max, and a
 * query between the extreme value and the first (last) centroid's centre interpolates
 * towards min (max), as the paper recommends.
 *
 * Queries. A centroid of weight w is taken to cover the ranks [c, c + w) with its mean at
 * the centre c + w/2, where c is the weight of the centroids before it, corrected for
 * centroids that overlap it in value (see "Ordered input"). quantile(q) finds (binary search)
 * the two centres around q n and interpolates linearly between their means. A *pure*
 * centroid - every value in it equals its mean: a single value, or a block of a repeated
 * value - owns exactly its ranks, so inside them the answer is its mean and interpolation
 * starts at its edge (the paper's weight-1 rule of section 2.9, extended to atoms).
 * cdf(x) is the inverse of the same piecewise-linear map. When x equals the mean of one or
 * more centroids (an atom) cdf returns the middle of their rank range (mid-rank
 * convention): for continuous data that is the fraction <= x within half a value, for an
 * atom it is a point inside [fraction < x, fraction <= x].
 *
 * Repeated values
 * ---------------
 * A centroid whose items all equal v has mean exactly v (the pass sums deviations from a
 * centroid's first item, and an equal item adds none) and is flagged pure. Left alone, the greedy
 * pass would let a large block of v share a centroid with its neighbours, and a quantile inside v's
 * block would then come back as an interpolated value that is not in the data: measured on 10
 * equally frequent values, p25 was off by 5% of rank. So the pass adds "atom breaks": a pure
 * centroid of weight >= 2 does not absorb a different value, and a coming run of pure items equal
 * to the next value does not join a different centroid, whenever the atom holds at least a quarter
 * of what the current centroid may hold. Breaking early never violates the k_2 bound; it costs
 * centroids, so breaks are limited to natural/2 per pass (see the size bound). Continuous data has
 * no pure centroid heavier than 1, so for it the pass is exactly the paper's Algorithm 1. The flag
 * is serialized (top bit of the weight).
 *
 * Infinities and NaN. NaN is counted (assay_tdigest_nan_count) and never inserted. +-inf
 * are inserted: the sort puts them at the ends, and a centroid holding an infinity may
 * absorb only an equal infinity (a mean of inf and a finite value is meaningless, and
 * inf - inf is NaN). Such centroids are pure, so a query next to one uses its exact rank
 * edge instead of interpolating.
 *
 * Ordered input
 * -------------
 * Files are often sorted by a column the numbers correlate with (a date, an id), so a
 * column arrives sorted, in sorted runs that restart, or as a trend under noise. Each
 * flushed buffer then holds a narrow slice of the value range, not a sample of all of
 * it, and it lands inside centroids formed earlier from other slices. Sorting alone is
 * harmless: the k_2 limit is applied against the whole count, and a centroid formed near
 * the top of the data seen so far is small and only gains slack as later data moves it
 * inwards. Two things are not:
 *
 *  - Overlap. The pass orders items by mean, so the new values below an old centroid's
 *    mean become a separate centroid placed entirely below it, although the old
 *    centroid's values spread down past them. Plain rank bookkeeping (each centroid
 *    starts where the previous one ends) then misplaces that centroid by up to half of
 *    the old one: with delta 200, up to ~780 ranks (1.4%) at the median of a 54,000-row
 *    column. Measured on a sawtooth (sorted runs restarting every 0.64 n, 54,000 values),
 *    p62 was off by 0.84% of rank (the same values shuffled: 0.19%).
 *  - Gaps. Where a slice ends and the next begins at a distant value (a sawtooth restart,
 *    the next group of a file sorted by group), the greedy pass joins the last values of
 *    one cluster with the first of the other into one centroid whose mean lies in empty
 *    space; later data filling that space lands inside it (groups of trends, 250,000
 *    values: 1.0% at p42).
 *
 * The fix keeps, per centroid, the sum of squared deviations of its values from its mean
 * (its spread). Spreads combine exactly (Chan, Golub and LeVeque, "Updating formulae and a
 * pairwise algorithm for computing sample variances", 1979): the pass sums, for the
 * centroid it is growing, each item's spread, w (m - a) and w (m - a)^2 for the item mean
 * m and the centroid's first item a, and at the end ss = sum ss_i + S2 - S1^2 / W.
 * Before answering, place() models each centroid's values as
 * a symmetric triangle with its mean and variance (half-width sqrt(6 var)) and moves
 * every centroid by the modelled share of its neighbours that lies on the other side of
 * its mean; then it restores the order of the rank edges so answers stay monotone. For
 * centroids that do not overlap - random input, one pass over sorted input - nothing
 * moves. A triangle rather than a uniform block because merged centroids carry sparse
 * "wings" of values from their neighbours, which a uniform block would overweight.
 *
 * Gaps
 * ----
 * A join is refused (a "gap break") when the next item lies further from the previous
 * one than the current centroid's items span so far, and the spread the join would add,
 * d^2 w x / (w + x) for the distance d from the current mean, exceeds GAP_K = 16 times
 * what it adds when two touching blocks of equal density (weights w, x) are joined; that
 * is d^2 (w^2 - w x + x^2) > 3 GAP_K (w + x) (spread of both). Scale-free, it fires at a
 * jump between clusters and practically never inside a smooth distribution. Joins below
 * GAP_MIN = 16 in weight are exempt (small centroids cost little), and so are joins of
 * atoms, which have no spread and are handled above. Over the ordered shapes of
 * tests/test_tdigest.c (test_ordered_input prints its table) the worst rank error at
 * p01..p99 went from 1.0% to 0.42%; random data improved too (lognormal, 8 digests
 * merged: p50 0.44% -> 0.03%).
 *
 * Cost: one more double per centroid (two arrays, double buffered), a few flops per join,
 * and place() once per query after a change. The pass keeps the current centroid as sums
 * relative to its first item, so the mean needs no division per item, and the atom look-
 * ahead first peeks at the next item; together that leaves the add path as fast as
 * before (bench/bench_tdigest.c, measured 2-5% faster); the first query after a change
 * pays O(centroids) for place(), and each query a little more bookkeeping (~10-18%).
 *
 * Size bound (the capacity allocated at creation)
 * ----------------------------------------------
 * The item that closed centroid i could not join it, so the start of centroid i+2 lies
 * more than 1 on the k-scale beyond the start of centroid i. Starts lie in
 * [1/n, 1 - 1/n] (the ends hold single values), so a pass emits at most
 * 2 (k(1 - 1/n) - k(1/n)) + 3 = 4 delta ln(n - 1) / Z(n) + 3 centroids, plus 2 for each
 * forced break (last value, -inf/finite and finite/+inf boundaries). With our Z,
 * 4 delta ln n / Z(n) = 2 delta ln n / (ln n - ln delta + 6), which is < 2 delta for all n
 * when delta <= e^6 (~403), and otherwise peaks at n = delta with 2 delta ln(delta) / 6.
 * So natural = ceil(2 delta max(1, ln(delta) / 6)) + 16 bounds a pass without breaks
 * (216 for delta = 100); each break (atom or gap) closes a centroid early and so adds at
 * most 2 centroids, and a pass makes at most natural / 2 of them, so capacity = 2 natural
 * (432 for delta = 100, 24 KiB of centroid arrays). The pass still checks the capacity and keeps
 * growing the last centroid if it were ever reached, so memory is safe regardless.
 *
 * Small inputs: exact
 * --------------------
 * While the digest holds at most `natural` values (616 for delta = 300), a pass joins
 * only equal values, so every centroid is one value or a run of equal ones and the
 * quantiles are the data's own order statistics, interpolated. The k_2 limits would
 * otherwise already pair values at a few hundred, and a column of 200 values was off
 * by 1.5 ranks (0.77 %) in the middle; such a digest fits the capacity either way.
 *
 * Memory: allocated as the values arrive
 * --------------------------------------
 * The bound above, 20 delta buffered values and their sort scratch come to about 210 KiB
 * for delta = 300 if reserved at creation. A profile keeps a digest per numeric column in
 * every partial state in flight, and a wide input (thousands of columns, a few rows per
 * chunk) puts only a few values in each, so reserving up front made memory grow with
 * columns times chunks times the bound. So the centroid arrays, the buffer and the sort
 * scratch all start empty and double as they are needed (reserve_centroids,
 * reserve_buffer): centroids never outnumber the values, so a pass writes at most
 * min(cap, count) of them. An add reserves its buffer slots and, when they fill the
 * buffer, what the flush that follows needs, so adds never half-fail; a merge reserves
 * before it changes anything, and frees the buffer and scratch it merged through, so an
 * accumulator keeps only its centroids. A query or an explicit flush that cannot get the
 * memory to fold buffered values in changes nothing and answers NaN (-ENOMEM). The
 * buffer still flushes only when it holds its full 20 delta values, so the answers are
 * the same as with the memory reserved at creation.
 *
 * Sorting the buffer: LSD radix sort on the IEEE-754 bits
 * -------------------------------------------------------
 * Sorting is the hot cost (every value is sorted once; the merge pass is linear). A double
 * maps to a uint64 key that orders like the number (flip all bits of negatives, flip only
 * the sign bit of positives; -inf < finite < +inf, -0 sorts before +0). One read builds
 * all eight byte histograms; each byte then costs one scatter pass, and a byte on which
 * every key agrees (e.g. the exponent of data in a narrow range) is skipped. Buffers of
 * fewer than 64 values use insertion sort. Measured end to end (4M uniform doubles into
 * one digest, delta 100, gcc -O2, ns per value): radix 21, libc qsort 90 (buffer 20
 * delta) and 142 (buffer 40 delta).
 *
 * Buffer size: 20 * delta values (2,000 for delta = 100: 16 KiB plus 32 KiB of radix
 * scratch). The merge pass costs O(buffer + centroids) per flush, so its per-value share
 * falls as the buffer grows, and larger buffers make each merge closer to one exact sort.
 * Measured amortized add cost (same setup, ns/value): buffer 5 delta 24.9, 10 delta 22.6,
 * 20 delta 21.1, 40 delta 21.3, 80 delta 20.8 - past 20 delta only memory grows.
 *
 * Error bound (tests/test_tdigest.c: delta = 100, 10^6 values, exact answers from sorting
 * the same data; rank error = distance from q to the rank range of the returned value,
 * over n): asserted <= 0.5% at p05..p95 and <= 0.05% at p001, p01, p99, p999 for
 * uniform, normal, lognormal, 10 distinct values, 90% one value, sorted ascending and
 * descending input, for one digest and for 8 digests (random split) merged. Measured
 * worst cases: p05..p95 0.33% (p05 of 90% one value, next to the repeated value's block;
 * before the ordered-input fix 0.44%, p50 of lognormal with 8 merged), p01/p99 0.010%,
 * p001/p999 0.001%; repeated values are answered exactly inside their blocks.
 *
 * Ordered input (delta 300, as the profile uses it: 5,000 to 250,000 values in batches of
 * 4096, one digest and chunk digests of 40,000 merged in order; trends under noise,
 * sorted, nearly sorted, sawtooth, groups; whole numbers and continuous): asserted
 * <= 0.5% at every percentile p01..p99 and <= 0.05% at p01/p99 for n >= 10,000; measured
 * worst 0.39% at delta 300, 0.42% at 200 (before the fix 1.0%, 8 of 60 cases out of bounds).
 *
 * Serialized form (after the shared 16-byte header, kind ASSAY_SKETCH_TDIGEST, version
 * 3; little endian):
 *
 *     offset  size     field
 *     0       8        delta (f64)
 *     8       8        count: values inserted, NaN excluded (u64)
 *     16      8        NaN count (u64)
 *     24      8        min (f64; NaN when count = 0)
 *     32      8        max (f64; NaN when count = 0)
 *     40      8        number of centroids m (u64)
 *     48      24 * m   centroids: mean (f64), weight (u64; top bit: pure), sum of
 *                      squared deviations (f64), sorted by mean
 *
 * The exact state for checkpoints (assay_tdigest_save, version 4) has passes (u64) and the
 * number of buffered values b (u64) after the first 48 bytes, then the centroids as above,
 * then b buffered values (f64). Versions 1 and 2 (16-byte centroids without the spread,
 * written before it was kept) are still read, with every spread 0: such a digest answers
 * as it did, and spreads accumulate from its next pass.
 *
 * Deserialization checks the header, then delta finite in [10, 10000], m within the
 * capacity for delta and matching the length, count <= 2^53, means not NaN, sorted and
 * inside [min, max], weights >= 1 and summing to count, spreads finite, >= 0, 0 for a
 * pure or single-value centroid and at most w ((max - min) / 2)^2 - each with a message.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/sketch.h"
#include "assay/tdigest.h"
#include "core/grow.h"

#define DELTA_MIN     10.0
#define DELTA_MAX     10000.0
#define BUFFER_FACTOR 20                  /* buffer = BUFFER_FACTOR * delta values (see above) */
#define SMALL_SORT    64                  /* below this, insertion sort */
#define COUNT_MAX     (UINT64_C(1) << 53) /* weights stay exact in a double */
#define PAYLOAD_FIXED 48
#define SUMMARY_V1    1                   /* read only: 16-byte centroids without the spread */
#define STATE_V2      2                   /* read only */
#define SUMMARY_V     3                   /* assay_tdigest_serialize */
#define STATE_V       4                   /* assay_tdigest_save */
#define CENTROID_V1   16                  /* bytes per centroid: mean, weight */
#define CENTROID      24                  /* ... and the sum of squared deviations */
#define GAP_K         16.0                /* gap break threshold (see "Gaps") */
#define GAP_MIN       16.0                /* gap breaks only for joins of at least this weight */
#define PURE_BIT      (UINT64_C(1) << 63) /* in a serialized weight: the centroid is pure */

struct assay_tdigest {
    double delta;
    size_t cap;              /* centroid capacity (size bound above) */
    size_t bufcap;           /* buffer capacity */
    size_t nc;               /* centroids */
    size_t nb;               /* buffered values */
    uint64_t count;          /* values inserted, buffered ones included; NaN excluded */
    uint64_t nan;            /* NaNs seen */
    uint64_t passes;         /* merge passes so far; odd passes run right to left */
    double min, max;         /* exact; +inf / -inf while empty */
    double *mean, *weight;   /* nc centroids sorted by mean */
    double *ss;              /* per centroid: sum of squared deviations from its mean */
    double *mean2, *weight2; /* where the next pass writes; swapped in after */
    double *ss2;
    double *start;          /* start[i]: estimated rank of centroid i's first value */
    bool placed;            /* start is up to date (queries compute it when not) */
    uint8_t *pure, *pure2;  /* 1: every value in the centroid equals its mean */
    size_t natural;         /* the k_2 size bound; cap - natural is for atom breaks */
    double *buf;            /* bcap buffered values */
    uint64_t *keys, *keys2; /* radix sort scratch, kcap each */
    /* Allocated so far (see "Memory"): centroid arrays for ccap, the buffer for bcap,
     * the sort scratch for kcap; all grow when values arrive or a pass needs them. */
    size_t ccap, bcap, kcap;
    void *cmem;
};

/* ------------------------------------------------------------------------------------ */
/* Sizes                                                                                */
/* ------------------------------------------------------------------------------------ */

/* Centroids a k_2 pass can emit for delta (see "Size bound"). */
static size_t natural_bound(double delta)
{
    double f = log(delta) / 6.0;
    return (size_t)ceil(2.0 * delta * (f > 1.0 ? f : 1.0)) + 16;
}

/* Capacity: the natural bound plus room for the atom breaks (at most natural / 2 of
 * them per pass, each adding at most 2 centroids). */
static size_t centroid_cap(double delta)
{
    return 2 * natural_bound(delta);
}

/* Normaliser Z(n) of k_2, with n/delta clamped at >= 1. */
static double k2_norm(double n, double delta)
{
    double r = n / delta;
    return 2.0 * log(r > 1.0 ? r : 1.0) + 12.0;
}

/* Largest cumulative weight a centroid starting at w0 may reach:
 * n * k^-1(k(w0/n) + 1) = n * w0 * E / (n - w0 + w0 * E), E = exp(Z / delta). */
static double weight_limit(double w0, double n, double e)
{
    if (w0 <= 0)
        return 0;
    if (w0 >= n)
        return n;
    return n * (w0 * e) / (n - w0 + w0 * e);
}

/* ------------------------------------------------------------------------------------ */
/* Radix sort of doubles                                                                */
/* ------------------------------------------------------------------------------------ */

static inline uint64_t key_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    return u ^ ((uint64_t)((int64_t)u >> 63) | UINT64_C(0x8000000000000000));
}

static inline double double_of(uint64_t k)
{
    uint64_t u = k ^ (((k >> 63) - 1) | UINT64_C(0x8000000000000000));
    double x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

static void insertion_sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sort v[0..n) ascending (NaN-free input); a and b are scratch of n keys each. */
static void sort_doubles(double *v, size_t n, uint64_t *a, uint64_t *b)
{
    if (n < SMALL_SORT) {
        insertion_sort(v, n);
        return;
    }
    uint32_t hist[8][256];
    memset(hist, 0, sizeof(hist));
    for (size_t i = 0; i < n; i++) {
        uint64_t k = key_of(v[i]);
        a[i] = k;
        for (int d = 0; d < 8; d++)
            hist[d][(k >> (8 * d)) & 0xff]++;
    }
    uint64_t *src = a, *dst = b;
    for (int d = 0; d < 8; d++) {
        uint32_t *h = hist[d];
        unsigned shift = 8u * (unsigned)d;
        if (h[(src[0] >> shift) & 0xff] == n)
            continue; /* every key has the same byte here */
        uint32_t off = 0;
        for (int j = 0; j < 256; j++) {
            uint32_t c = h[j];
            h[j] = off;
            off += c;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t k = src[i];
            dst[h[(k >> shift) & 0xff]++] = k;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = double_of(src[i]);
}

/* ------------------------------------------------------------------------------------ */
/* The merge pass                                                                       */
/* ------------------------------------------------------------------------------------ */

/* A centroid may absorb x when both are finite or x equals its mean (pure infinities). */
static inline bool can_join(double cm, double xm)
{
    return xm == cm || (isfinite(xm) && isfinite(cm));
}

/* Place the centroids on the rank axis: start[i] estimates how many values lie below
 * centroid i's values. Mean order alone says "all of centroid j's values lie below
 * centroid i's when j < i"; centroids that overlap in value make that wrong by up to half
 * a centroid, so each centroid's values are spread over a symmetric triangle with the
 * centroid's mean and variance (half-width sqrt(6 var); see "Overlapping centroids").
 * Pure centroids are points and spread nothing. Cost: O(nc) plus the overlapping pairs;
 * queries run it once after each change (settle). */
static void place(assay_tdigest *t)
{
    size_t nc = t->nc;
    const double *m = t->mean, *w = t->weight, *ss = t->ss;
    double *st = t->start, c = 0;
    for (size_t i = 0; i < nc; i++) {
        st[i] = c;
        c += w[i];
    }
    for (size_t j = 0; j < nc; j++) {
        if (t->pure[j] || !(ss[j] > 0))
            continue;
        double h = sqrt(6.0 * ss[j] / w[j]);
        if (!(h < INFINITY))
            continue;
        /* j's share below the mean of an earlier centroid i lies below i as well; its share
         * above a later centroid's mean does not. */
        double lo = m[j] - h, hi = m[j] + h, half = w[j] / 2;
        for (size_t i = j; i-- > 0 && m[i] > lo;) {
            double u = (m[i] - lo) / h;
            st[i] += half * u * u;
        }
        for (size_t i = j + 1; i < nc && m[i] < hi; i++) {
            double u = (hi - m[i]) / h;
            st[i] -= half * u * u;
        }
    }
    /* Keep the answers monotone: a centroid ends (a pure one after its block, any other at
     * its centre) no later than the next one begins, and nothing ends past n. */
    double cap = c;
    for (size_t i = nc; i-- > 0;) {
        double end = t->pure[i] ? st[i] + w[i] : st[i] + w[i] / 2;
        if (end > cap)
            st[i] -= end - cap;
        if (st[i] < 0)
            st[i] = 0;
        cap = t->pure[i] ? st[i] : st[i] + w[i] / 2;
    }
}

/* A sorted run of items for the merge pass: means, weights (NULL: 1 each), sums of
 * squared deviations (NULL: 0, single values) and purity flags (NULL: every item is a
 * single raw value, hence pure). */
typedef struct run {
    const double *m, *w, *ss;
    const uint8_t *p;
    size_t n, taken;
} run;

/* Index of the next untaken item in pass order. */
static inline size_t run_at(const run *r, size_t k, bool rev)
{
    return rev ? r->n - 1 - (r->taken + k) : r->taken + k;
}

/* Weight of the pure items equal to v at the head of r, stopping once it reaches stop. */
static double run_weight(const run *r, bool rev, double v, double stop)
{
    double sum = 0;
    for (size_t k = 0; r->taken + k < r->n && sum < stop; k++) {
        size_t i = run_at(r, k, rev);
        if (r->m[i] != v || (r->p && !r->p[i]))
            break;
        sum += r->w ? r->w[i] : 1.0;
    }
    return sum;
}

/* The untaken item after the head of r, in pass order (k = 1), or its head (k = 0),
 * equals v. */
static inline bool peek_is(const run *r, bool rev, size_t k, double v)
{
    return r->taken + k < r->n && r->m[run_at(r, k, rev)] == v;
}

/* Write the current centroid of a pass (see compress) as centroid k: its mean clamped
 * into the span of its items' means (rounding may step an ulp out), its spread >= 0. A
 * spread too large for a double (values near the limits of the range) is dropped: the
 * centroid is then placed as a point, as before spreads were kept. */
static inline void emit(double *om, double *ow, double *oss, uint8_t *op, size_t k, double first,
                        double last, double cw, double s1, double s2, double ss0, bool cp, bool rev)
{
    double lo = rev ? last : first, hi = rev ? first : last;
    double m = first + s1 / cw;
    m = m > lo ? m : lo; /* also replaces a NaN */
    m = m < hi ? m : hi;
    double ss = ss0 + s2 - s1 * (s1 / cw);
    om[k] = m;
    ow[k] = cw;
    oss[k] = cp ? 0 : (ss > 0 && ss < INFINITY ? ss : 0);
    op[k] = cp;
}

/*
 * Merge the centroids with a second sorted run b into a new centroid list. t->count must
 * already include b. Deterministic: the result depends only on the inputs and on the pass
 * number (direction).
 *
 * Besides the k_2 bound, two "atom breaks" keep a heavily repeated value in centroids of
 * its own, so that its block of ranks answers exactly (see "Repeated values"): a pure
 * centroid of weight >= 2 does not absorb a different value, and a run of pure items
 * equal to the next value does not join a different centroid, when the atom holds at
 * least a quarter of what the current centroid may hold. A "gap break" keeps a centroid
 * from reaching across an empty stretch of values (see "Gaps"). Breaks of both kinds
 * share one budget per pass (see "Size bound"). For continuous data without gaps the
 * pass is the paper's Algorithm 1.
 */
static void compress(assay_tdigest *t, const double *bm, const double *bw, const double *bss,
                     const uint8_t *bp, size_t nb)
{
    run ra = { t->mean, t->weight, t->ss, t->pure, t->nc, 0 };
    run rb = { bm, bw, bss, bp, nb, 0 };
    size_t total = ra.n + rb.n;
    double *om = t->mean2, *ow = t->weight2, *oss = t->ss2;
    uint8_t *op = t->pure2;
    size_t cap = t->cap, k = 0, breaks = 0, max_breaks = t->natural / 2;
    bool rev = (t->passes++ & 1) != 0;
    double n = (double)t->count;
    double e = exp(k2_norm(n, t->delta) / t->delta);

    /* The current centroid, kept as sums relative to its first item a: the running mean
     * m = a + s1 / cw and spread ss0 + s2 - s1^2 / cw are only formed when it is emitted,
     * so the loop carries additions, not a division per item. An atom keeps s1 = 0 and
     * so its exact value. */
    double cw = 0;              /* its weight */
    double s1 = 0, s2 = 0;      /* sum of w (x - a), of w (x - a)^2 over its items */
    double ss0 = 0;             /* sum of its items' own spreads */
    bool cp = false;            /* it is pure */
    double first = 0, last = 0; /* its first (a) and latest item means */
    double w0 = 0, wlim = 0;    /* weight before it, and its limit */
    double short_run = NAN;     /* value whose run was already found too light to break */
    for (size_t s = 0; s < total; s++) {
        run *r;
        if (rb.taken == rb.n)
            r = &ra;
        else if (ra.taken == ra.n)
            r = &rb;
        else if (!rev)
            r = ra.m[run_at(&ra, 0, false)] <= rb.m[run_at(&rb, 0, false)] ? &ra : &rb;
        else
            r = ra.m[run_at(&ra, 0, true)] >= rb.m[run_at(&rb, 0, true)] ? &ra : &rb;
        size_t at = run_at(r, 0, rev);
        double xm = r->m[at], xw = r->w ? r->w[at] : 1.0;
        double xss = r->ss ? r->ss[at] : 0.0;
        bool xp = r->p ? r->p[at] != 0 : true;
        if (s == 0) {
            r->taken++;
            first = last = xm;
            cw = xw;
            cp = xp;
            s1 = s2 = 0;
            ss0 = xss;
            wlim = weight_limit(0, n, e);
            continue;
        }
        bool join = w0 + cw + xw <= wlim && s + 1 < total && can_join(first, xm);
        /* Small digests are exact (see "Small inputs"): only equal values join. */
        if (join && n <= (double)t->natural && !(cp && xp && xm == first))
            join = false;
        if (join && (!cp || xm != first) && breaks < max_breaks) {
            double quarter = (wlim - w0) / 4;
            quarter = quarter > 2 ? quarter : 2;
            if (cp && cw >= quarter) {
                join = false; /* keep the atom we hold */
                breaks++;
            } else if (xp && xm != short_run &&
                       (xw >= quarter || peek_is(r, rev, 1, xm) ||
                        peek_is(r == &ra ? &rb : &ra, rev, 0, xm))) {
                /* (without an equal item next in either run the atom is x alone: short) */
                double atom = run_weight(&ra, rev, xm, quarter) + run_weight(&rb, rev, xm, quarter);
                if (atom >= quarter) {
                    join = false; /* give the coming atom its own centroid */
                    breaks++;
                } else {
                    short_run = xm;
                }
            } else if (xp) {
                short_run = xm;
            }
        }
        /* Gap break (see "Gaps"): only when x lies further from the previous item than
         * the centroid's items span so far. Then the spread the join would add,
         * d^2 cw xw / (cw + xw) for d = x - mean, against what it adds between two touching
         * blocks of equal density - scaled by cw^2 so as to need no division (dd = cw d,
         * cc = cw (spread so far + x's own)). */
        double tx = xm - first;
        if (ASSAY_UNLIKELY(join && fabs(xm - last) > fabs(last - first)) && cw + xw >= GAP_MIN &&
            breaks < max_breaks) {
            double dd = cw * tx - s1, cc = cw * (ss0 + s2 + xss) - s1 * s1;
            if (cc > 0 &&
                dd * dd * (cw * cw - cw * xw + xw * xw) > 3.0 * GAP_K * (cw + xw) * cw * cc) {
                join = false;
                breaks++;
            }
        }
        r->taken++;
        if (!join && k + 1 >= cap)
            join = true; /* unreachable by the size bound; keeps memory safe regardless */
        if (join) {
            cp = cp && xp && xm == first;
            ss0 += xss;
            if (xm != first) { /* never for an infinity: it only joins an equal one */
                s1 += xw * tx;
                s2 += xw * tx * tx;
            }
            cw += xw;
            last = xm;
            continue;
        }
        emit(om, ow, oss, op, k++, first, last, cw, s1, s2, ss0, cp, rev);
        w0 += cw;
        wlim = weight_limit(w0, n, e);
        first = last = xm;
        cw = xw;
        cp = xp;
        s1 = s2 = 0;
        ss0 = xss;
    }
    if (total > 0)
        emit(om, ow, oss, op, k++, first, last, cw, s1, s2, ss0, cp, rev);
    if (rev) {
        for (size_t a = 0, b = k; a + 1 < b; a++, b--) {
            double tm = om[a], tw = ow[a], ts = oss[a];
            uint8_t tp = op[a];
            om[a] = om[b - 1];
            ow[a] = ow[b - 1];
            oss[a] = oss[b - 1];
            op[a] = op[b - 1];
            om[b - 1] = tm;
            ow[b - 1] = tw;
            oss[b - 1] = ts;
            op[b - 1] = tp;
        }
    }
    t->mean2 = t->mean;
    t->weight2 = t->weight;
    t->ss2 = t->ss;
    t->pure2 = t->pure;
    t->mean = om;
    t->weight = ow;
    t->ss = oss;
    t->pure = op;
    t->nc = k;
    t->placed = false;
}

/* ------------------------------------------------------------------------------------ */
/* Life cycle and insertion                                                             */
/* ------------------------------------------------------------------------------------ */

/* Room for the centroids of `count` values (centroids never outnumber values), grown
 * geometrically up to cap. The live centroids move to the new block; the pass's output
 * arrays hold nothing between passes. */
static int reserve_centroids(assay_tdigest *t, uint64_t count)
{
    size_t want = count < t->cap ? (size_t)count : t->cap;
    if (want <= t->ccap)
        return 0;
    size_t c = assay_grow_cap(t->ccap, want, 8, t->cap);
    double *mem = malloc(7 * c * sizeof(double) + 2 * c);
    if (!mem)
        return -ENOMEM;
    double *mean = mem, *weight = mem + c, *start = mem + 4 * c, *ss = mem + 5 * c;
    uint8_t *pure = (uint8_t *)(mem + 7 * c);
    if (t->nc) {
        memcpy(mean, t->mean, t->nc * sizeof(double));
        memcpy(weight, t->weight, t->nc * sizeof(double));
        memcpy(ss, t->ss, t->nc * sizeof(double));
        memcpy(start, t->start, t->nc * sizeof(double));
        memcpy(pure, t->pure, t->nc);
    }
    free(t->cmem);
    t->cmem = mem;
    t->ccap = c;
    t->mean = mean;
    t->weight = weight;
    t->mean2 = mem + 2 * c;
    t->weight2 = mem + 3 * c;
    t->start = start;
    t->ss = ss;
    t->ss2 = mem + 6 * c;
    t->pure = pure;
    t->pure2 = pure + c;
    return 0;
}

/* Room for nb buffered values (growing the buffer keeps its contents), and with
 * `scratch` the radix sort's two key arrays for them, which only a sort needs: a
 * chunk's digest is merged into another digest's buffer and never sorts its own. */
static int reserve_buffer(assay_tdigest *t, size_t nb, bool scratch)
{
    if (nb > t->bcap) {
        size_t b = assay_grow_cap(t->bcap, nb, 8, t->bufcap);
        double *mem = realloc(t->buf, b * sizeof(double));
        if (!mem)
            return -ENOMEM;
        t->buf = mem;
        t->bcap = b;
    }
    if (scratch && nb >= SMALL_SORT && nb > t->kcap) {
        size_t k = t->bcap;
        uint64_t *keys = malloc(2 * k * sizeof(uint64_t));
        if (!keys)
            return -ENOMEM;
        free(t->keys);
        t->keys = keys;
        t->keys2 = keys + k;
        t->kcap = k;
    }
    return 0;
}

/* Sort the buffer and fold it into the centroids. -ENOMEM (nothing changes) when the
 * centroid arrays or the sort scratch cannot grow. */
static int flush(assay_tdigest *t)
{
    if (t->nb == 0)
        return 0;
    if (reserve_centroids(t, t->count) < 0 || reserve_buffer(t, t->nb, true) < 0)
        return -ENOMEM;
    sort_doubles(t->buf, t->nb, t->keys, t->keys2);
    compress(t, t->buf, NULL, NULL, NULL, t->nb);
    t->nb = 0;
    return 0;
}

int assay_tdigest_new(assay_tdigest **out, double delta)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!(delta >= DELTA_MIN && delta <= DELTA_MAX))
        return -EINVAL;
    assay_tdigest *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->delta = delta;
    t->natural = natural_bound(delta);
    t->cap = centroid_cap(delta);
    t->bufcap = (size_t)ceil(delta) * BUFFER_FACTOR;
    t->min = INFINITY;
    t->max = -INFINITY;
    *out = t;
    return 0;
}

void assay_tdigest_free(assay_tdigest *t)
{
    if (!t)
        return;
    free(t->cmem);
    free(t->buf);
    free(t->keys);
    free(t);
}

void assay_tdigest_reset(assay_tdigest *t)
{
    t->nc = 0;
    t->placed = false;
    t->nb = 0;
    t->count = 0;
    t->nan = 0;
    t->passes = 0;
    t->min = INFINITY;
    t->max = -INFINITY;
}

int assay_tdigest_flush(assay_tdigest *t)
{
    return t ? flush(t) : 0;
}

/* The memory `take` more values need: buffer slots, and when they fill the buffer, the
 * centroids and sort scratch of the flush that follows (so that flush cannot fail). */
static int reserve_for(assay_tdigest *t, size_t take)
{
    size_t nb = t->nb + take;
    if (reserve_buffer(t, nb, nb == t->bufcap) < 0)
        return -ENOMEM;
    if (nb == t->bufcap && reserve_centroids(t, t->count + take) < 0)
        return -ENOMEM;
    return 0;
}

int assay_tdigest_add(assay_tdigest *t, double x)
{
    if (ASSAY_UNLIKELY(isnan(x))) {
        t->nan++;
        return 0;
    }
    if (ASSAY_UNLIKELY(t->nb == t->bcap || t->nb + 1 == t->bufcap) && reserve_for(t, 1) < 0)
        return -ENOMEM;
    t->min = x < t->min ? x : t->min;
    t->max = x > t->max ? x : t->max;
    t->buf[t->nb++] = x;
    t->count++;
    if (t->nb == t->bufcap)
        (void)flush(t); /* memory reserved above */
    return 0;
}

int assay_tdigest_add_batch(assay_tdigest *t, const double *x, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t room = t->bufcap - t->nb;
        size_t take = n - i < room ? n - i : room;
        if (reserve_for(t, take) < 0)
            return -ENOMEM;
        size_t end = i + take;
        double mn = t->min, mx = t->max;
        double *buf = t->buf;
        size_t nb = t->nb, before = nb;
        for (; i < end; i++) {
            double v = x[i];
            if (ASSAY_UNLIKELY(isnan(v))) {
                t->nan++;
                continue;
            }
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            buf[nb++] = v;
        }
        t->min = mn;
        t->max = mx;
        t->count += nb - before;
        t->nb = nb;
        if (t->nb == t->bufcap)
            (void)flush(t); /* memory reserved by reserve_for */
    }
    return 0;
}

int assay_tdigest_merge(assay_tdigest *dst, const assay_tdigest *src)
{
    if (!dst || !src || dst == src || dst->delta != src->delta)
        return -EINVAL;
    if (src->count == 0) {
        dst->nan += src->nan;
        return 0;
    }
    if (flush(dst) < 0 || reserve_centroids(dst, dst->count + src->count) < 0 ||
        reserve_buffer(dst, src->nb, true) < 0)
        return -ENOMEM;
    /* src's centroids and its sorted buffer become one sorted run (src untouched: its
     * buffer is sorted in dst's empty buffer; same delta, so it fits). */
    size_t ns = src->nc + src->nb;
    double *mem = malloc(3 * ns * sizeof(double) + ns);
    if (!mem)
        return -ENOMEM;
    double *rm = mem, *rw = mem + ns, *rs = mem + 2 * ns;
    uint8_t *rp = (uint8_t *)(mem + 3 * ns);
    if (src->nb) {
        memcpy(dst->buf, src->buf, src->nb * sizeof(double));
        sort_doubles(dst->buf, src->nb, dst->keys, dst->keys2);
    }
    size_t i = 0, j = 0, k = 0;
    while (i < src->nc || j < src->nb) {
        if (j == src->nb || (i < src->nc && src->mean[i] <= dst->buf[j])) {
            rm[k] = src->mean[i];
            rs[k] = src->ss[i];
            rp[k] = src->pure[i];
            rw[k++] = src->weight[i++];
        } else {
            rm[k] = dst->buf[j++];
            rs[k] = 0;
            rp[k] = 1;
            rw[k++] = 1.0;
        }
    }
    dst->nan += src->nan;
    dst->count += src->count;
    dst->min = src->min < dst->min ? src->min : dst->min;
    dst->max = src->max > dst->max ? src->max : dst->max;
    compress(dst, rm, rw, rs, rp, ns);
    free(mem);
    /* dst's buffer and sort scratch only held src's values, and dst->nb is 0: a digest
     * that is merged into (a window's accumulator) keeps just its centroids between
     * merges, at most 70 KiB at delta 300 rather than 210 KiB with the scratch. */
    free(dst->buf);
    free(dst->keys);
    dst->buf = NULL;
    dst->keys = dst->keys2 = NULL;
    dst->bcap = dst->kcap = 0;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Queries                                                                              */
/* ------------------------------------------------------------------------------------ */

/* Fold pending values in and place the centroids on the rank axis, once per change. */
static int settle(assay_tdigest *t)
{
    if (flush(t) < 0)
        return -ENOMEM;
    if (!t->placed) {
        place(t);
        t->placed = true;
    }
    return 0;
}

uint64_t assay_tdigest_count(const assay_tdigest *t)
{
    return t->count;
}

uint64_t assay_tdigest_nan_count(const assay_tdigest *t)
{
    return t->nan;
}

double assay_tdigest_min(const assay_tdigest *t)
{
    return t->count ? t->min : NAN;
}

double assay_tdigest_max(const assay_tdigest *t)
{
    return t->count ? t->max : NAN;
}

size_t assay_tdigest_centroids(assay_tdigest *t)
{
    (void)flush(t); /* without memory for it, the centroids so far */
    return t->nc;
}

double assay_tdigest_quantile(assay_tdigest *t, double q)
{
    if (!(q >= 0.0 && q <= 1.0))
        return NAN;
    if (settle(t) < 0)
        return NAN; /* no memory to fold the buffered values in */
    size_t nc = t->nc;
    if (nc == 0)
        return NAN;
    const double *m = t->mean, *w = t->weight, *st = t->start;
    const uint8_t *pure = t->pure;
    double n = (double)t->count;
    double idx = q * n;
    if (idx < 1.0) /* the smallest value owns ranks [0, 1) */
        return t->min;
    if (idx > n - 1.0)
        return t->max;
    /* Knots of the piecewise-linear map from rank to value: a centroid's centre, or both
     * edges of a pure one's block (every value in it equals its mean). */
    double first = pure[0] ? st[0] : st[0] + w[0] / 2;
    if (idx < first) { /* between min (rank 1) and the first knot */
        if (m[0] == t->min)
            return t->min;
        return t->min + (idx - 1.0) / (first - 1.0) * (m[0] - t->min);
    }
    size_t z = nc - 1;
    if (pure[0] && idx < st[0] + w[0])
        return m[0];
    if (pure[z] && idx >= st[z] && idx < st[z] + w[z])
        return m[z];
    double last = pure[z] ? st[z] + w[z] : st[z] + w[z] / 2;
    if (idx > last) { /* between the last knot and max (rank n - 1) */
        if (m[z] == t->max)
            return t->max;
        return t->max - (n - 1.0 - idx) / (n - 1.0 - last) * (t->max - m[z]);
    }
    /* Largest i with centre(i) = start[i] + w[i]/2 <= idx. */
    size_t lo = 0, hi = z;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (st[mid] + w[mid] / 2 <= idx)
            lo = mid;
        else
            hi = mid - 1;
    }
    size_t i = lo;
    if (i + 1 >= nc)
        return m[z];
    double ml = m[i], mr = m[i + 1];
    if (ml == mr)
        return ml;
    if (isinf(ml) || isinf(mr)) /* pure infinite centroid: its rank edge is exact */
        return idx < (pure[i] ? st[i] + w[i] : st[i + 1]) ? ml : mr;
    double left = st[i] + w[i] / 2, right = st[i + 1] + w[i + 1] / 2;
    if (pure[i]) { /* a single value or an atom owns exactly its ranks */
        left = st[i] + w[i];
        if (idx < left)
            return ml;
    }
    if (pure[i + 1]) {
        right = st[i + 1];
        if (idx >= right)
            return mr;
    }
    if (!(right > left)) /* knots out of order (place() clamped one at 0): a step */
        return idx < right ? ml : mr;
    double f = (idx - left) / (right - left);
    return ml + f * (mr - ml);
}

/* *a = the first centroid whose mean is >= x. True when centroids [*a, *b] have mean
 * exactly x (a repeated value: its rank range is [start[a], start[b] + w[b]]). The digest
 * is flushed. */
static bool atom_run(const assay_tdigest *t, double x, size_t *a, size_t *b)
{
    size_t lo = 0, hi = t->nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->mean[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    *a = lo;
    if (lo >= t->nc || t->mean[lo] != x)
        return false;
    size_t end = lo;
    while (end + 1 < t->nc && t->mean[end + 1] == x)
        end++;
    *b = end;
    return true;
}

double assay_tdigest_cdf(assay_tdigest *t, double x)
{
    if (isnan(x))
        return NAN;
    if (settle(t) < 0)
        return NAN; /* no memory to fold the buffered values in */
    size_t nc = t->nc;
    if (nc == 0)
        return NAN;
    const double *m = t->mean, *w = t->weight, *st = t->start;
    const uint8_t *pure = t->pure;
    double n = (double)t->count;
    size_t z = nc - 1;
    if (x < t->min)
        return 0.0;
    if (x >= t->max)
        return 1.0;
    if (x < m[0]) { /* min <= x < first mean: inverse of the quantile's left tail */
        double knot = pure[0] ? st[0] : st[0] + w[0] / 2;
        double span = m[0] - t->min, f = (x - t->min) / span;
        if (!(f >= 0 && f <= 1))
            f = 0.5; /* infinite span (deserialized digest) */
        double r = 1.0 + f * (knot - 1.0);
        return (r > knot ? knot : r) / n;
    }
    if (x > m[z]) {
        double knot = pure[z] ? st[z] + w[z] : st[z] + w[z] / 2;
        double span = t->max - m[z], f = (t->max - x) / span;
        if (!(f >= 0 && f <= 1))
            f = 0.5;
        double r = n - 1.0 - f * (n - 1.0 - knot);
        return (r < knot ? knot : r) / n;
    }
    size_t lo, end;
    if (atom_run(t, x, &lo, &end)) /* an atom: middle of its rank range */
        return (st[lo] + st[end] + w[end]) / 2 / n;
    size_t i = lo - 1; /* m[i] < x < m[i + 1]; lo >= 1 since x >= m[0] */
    if (isinf(m[i]) || isinf(m[i + 1]))
        return (pure[i] ? st[i] + w[i] : st[i + 1]) / n;
    double left = pure[i] ? st[i] + w[i] : st[i] + w[i] / 2;
    double right = pure[i + 1] ? st[i + 1] : st[i + 1] + w[i + 1] / 2;
    right = right > left ? right : left;
    return (left + (right - left) * (x - m[i]) / (m[i + 1] - m[i])) / n;
}

/* Strict tails, for fences: a value equal to x is in neither. cdf's "middle of the rank
 * range" is the right answer for a rank but not for "how many lie beyond x": at a value
 * repeated half the column, it would call half of the repeats beyond. */
double assay_tdigest_count_below(assay_tdigest *t, double x)
{
    if (isnan(x))
        return NAN;
    if (settle(t) < 0)
        return NAN; /* no memory to fold the buffered values in */
    if (t->nc == 0 || x <= t->min)
        return 0;
    double n = (double)t->count;
    if (x > t->max)
        return n;
    size_t a, b;
    if (atom_run(t, x, &a, &b))
        return t->start[a];
    if (x == t->max)
        return n - 1; /* the maximum itself, seen at least once */
    return n * assay_tdigest_cdf(t, x);
}

double assay_tdigest_count_above(assay_tdigest *t, double x)
{
    if (isnan(x))
        return NAN;
    if (settle(t) < 0)
        return NAN; /* no memory to fold the buffered values in */
    if (t->nc == 0 || x >= t->max)
        return 0;
    double n = (double)t->count;
    if (x < t->min)
        return n;
    size_t a, b;
    if (atom_run(t, x, &a, &b))
        return n - (t->start[b] + t->weight[b]);
    if (x == t->min)
        return n - 1;
    return n * (1.0 - assay_tdigest_cdf(t, x));
}

/* ------------------------------------------------------------------------------------ */
/* Serialization                                                                        */
/* ------------------------------------------------------------------------------------ */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64(uint8_t *p, double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    put_u64(p, u);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static double get_f64(const uint8_t *p)
{
    uint64_t u = get_u64(p);
    double x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

int assay_tdigest_serialize(assay_tdigest *t, uint8_t **buf, size_t *len)
{
    if (!t || !buf || !len)
        return -EINVAL;
    if (flush(t) < 0)
        return -ENOMEM;
    size_t payload = PAYLOAD_FIXED + CENTROID * t->nc;
    uint8_t *b = malloc(ASSAY_SKETCH_HEADER + payload);
    if (!b)
        return -ENOMEM;
    assay_sketch_header_write(b, ASSAY_SKETCH_TDIGEST, SUMMARY_V, payload);
    uint8_t *p = b + ASSAY_SKETCH_HEADER;
    put_f64(p, t->delta);
    put_u64(p + 8, t->count);
    put_u64(p + 16, t->nan);
    put_f64(p + 24, assay_tdigest_min(t));
    put_f64(p + 32, assay_tdigest_max(t));
    put_u64(p + 40, t->nc);
    p += PAYLOAD_FIXED;
    for (size_t i = 0; i < t->nc; i++, p += CENTROID) {
        put_f64(p, t->mean[i]);
        put_u64(p + 8, (uint64_t)t->weight[i] | (t->pure[i] ? PURE_BIT : 0));
        put_f64(p + 16, t->ss[i]);
    }
    *buf = b;
    *len = ASSAY_SKETCH_HEADER + payload;
    return 0;
}

/* The state (assay_tdigest_save): the fixed part, then passes and the count of buffered
 * values, the centroids with their purity flags and spreads, and the buffered values
 * themselves: the digest's whole state, so a restored copy evolves exactly like the
 * original. */
#define SAVE_EXTRA 16

/* The payload of any version into a new digest (everything checked first). Versions 1
 * and 2 (before the spread was kept) are read with every spread 0. */
static int load(const uint8_t *p, uint64_t plen, int version, assay_tdigest **out, assay_error *err)
{
    bool state = version == STATE_V2 || version == STATE_V;
    size_t csize = version >= SUMMARY_V ? CENTROID : CENTROID_V1;
    size_t fixed = PAYLOAD_FIXED + (state ? SAVE_EXTRA : 0);
    if (plen < fixed)
        return assay_error_set(err, -EINVAL,
                               "tdigest: payload is %llu bytes, shorter than its %zu-byte "
                               "fixed part",
                               (unsigned long long)plen, fixed);
    double delta = get_f64(p);
    uint64_t count = get_u64(p + 8), nan = get_u64(p + 16);
    double mn = get_f64(p + 24), mx = get_f64(p + 32);
    uint64_t nc = get_u64(p + 40);
    uint64_t passes = state ? get_u64(p + 48) : 0;
    uint64_t nb = state ? get_u64(p + 56) : 0;
    if (!(delta >= DELTA_MIN && delta <= DELTA_MAX))
        return assay_error_set(err, -EINVAL, "tdigest: delta %g outside [%g, %g]", delta, DELTA_MIN,
                               DELTA_MAX);
    if (count > COUNT_MAX)
        return assay_error_set(err, -EINVAL,
                               "tdigest: count %llu exceeds 2^53 (weights would be inexact)",
                               (unsigned long long)count);
    uint64_t room = (plen - fixed) / csize;
    uint64_t want = nc <= room ? fixed + csize * nc : 0;
    if (nc > room || (!state && want != plen) ||
        (state && (nb > (plen - want) / 8 || want + 8 * nb != plen)))
        return assay_error_set(err, -EINVAL,
                               "tdigest: %llu centroids%s need %llu payload bytes, have %llu",
                               (unsigned long long)nc, state ? " and buffered values" : "",
                               (unsigned long long)(want + (state && nb <= plen / 8 ? 8 * nb : 0)),
                               (unsigned long long)plen);
    size_t cap = centroid_cap(delta);
    if (nc > cap)
        return assay_error_set(err, -EINVAL,
                               "tdigest: %llu centroids, more than the %zu delta %g allows",
                               (unsigned long long)nc, cap, delta);
    size_t bufcap = (size_t)ceil(delta) * BUFFER_FACTOR;
    if (nb > bufcap)
        return assay_error_set(err, -EINVAL, "tdigest: %llu buffered values, more than %zu",
                               (unsigned long long)nb, bufcap);
    if (count == 0) {
        if (nc != 0 || nb != 0)
            return assay_error_set(err, -EINVAL, "tdigest: count is 0 but %llu centroids",
                                   (unsigned long long)(nc + nb));
        if (!isnan(mn) || !isnan(mx))
            return assay_error_set(err, -EINVAL, "tdigest: empty digest with min/max set");
    } else {
        if (nc == 0 && nb == 0)
            return assay_error_set(err, -EINVAL, "tdigest: count %llu but no centroids",
                                   (unsigned long long)count);
        if (isnan(mn) || isnan(mx) || mn > mx)
            return assay_error_set(err, -EINVAL, "tdigest: bad min/max (%g, %g)", mn, mx);
    }
    const uint8_t *c = p + fixed;
    uint64_t sum = 0;
    double prev = mn, half_range = mx / 2 - mn / 2;
    for (uint64_t i = 0; i < nc; i++, c += csize) {
        double mean = get_f64(c);
        uint64_t wt = get_u64(c + 8) & ~PURE_BIT;
        bool pure = (get_u64(c + 8) & PURE_BIT) != 0;
        if (isnan(mean) || mean < mn || mean > mx)
            return assay_error_set(err, -EINVAL,
                                   "tdigest: centroid %llu mean %g outside [min %g, max %g]",
                                   (unsigned long long)i, mean, mn, mx);
        if (mean < prev)
            return assay_error_set(err, -EINVAL,
                                   "tdigest: centroid %llu mean %g below the previous %g "
                                   "(means must be sorted)",
                                   (unsigned long long)i, mean, prev);
        if (wt == 0 || wt > count - sum)
            return assay_error_set(err, -EINVAL,
                                   "tdigest: centroid %llu weight %llu is zero or exceeds the "
                                   "remaining count %llu",
                                   (unsigned long long)i, (unsigned long long)wt,
                                   (unsigned long long)(count - sum));
        if (csize == CENTROID) {
            /* w values inside [min, max] spread by at most w ((max - min) / 2)^2 (half of
             * them at each end); the slack absorbs rounding in the pass's updates. */
            double ss = get_f64(c + 16);
            double most = (double)wt * half_range * half_range * (1 + 1e-9);
            if (!(ss >= 0 && ss <= most) || ((pure || wt == 1) && ss != 0))
                return assay_error_set(err, -EINVAL,
                                       "tdigest: centroid %llu spread %g is negative, not a "
                                       "number or more than %llu values in [%g, %g] allow",
                                       (unsigned long long)i, ss, (unsigned long long)wt, mn, mx);
        }
        sum += wt;
        prev = mean;
    }
    for (uint64_t i = 0; i < nb; i++) {
        double v = get_f64(c + 8 * i);
        if (isnan(v) || v < mn || v > mx)
            return assay_error_set(err, -EINVAL,
                                   "tdigest: buffered value %llu (%g) outside [min %g, max %g]",
                                   (unsigned long long)i, v, mn, mx);
    }
    if (sum + nb != count)
        return assay_error_set(err, -EINVAL, "tdigest: centroid weights sum to %llu, count is %llu",
                               (unsigned long long)(sum + nb), (unsigned long long)count);
    assay_tdigest *t;
    int rc = assay_tdigest_new(&t, delta);
    if (rc < 0 || (rc = reserve_centroids(t, nc)) < 0 || (rc = reserve_buffer(t, nb, false)) < 0) {
        assay_tdigest_free(t);
        return assay_error_set(err, -ENOMEM, "tdigest: out of memory");
    }
    t->count = count;
    t->nan = nan;
    t->passes = passes;
    if (count) {
        t->min = mn;
        t->max = mx;
    }
    c = p + fixed;
    for (size_t i = 0; i < nc; i++, c += csize) {
        t->mean[i] = get_f64(c);
        uint64_t wt = get_u64(c + 8);
        t->weight[i] = (double)(wt & ~PURE_BIT);
        /* version 1 did not flag single values; they are pure all the same */
        t->pure[i] = (wt & PURE_BIT) || (version == SUMMARY_V1 && (wt & ~PURE_BIT) == 1);
        t->ss[i] = csize == CENTROID ? get_f64(c + 16) : 0;
    }
    t->nc = nc;
    for (size_t i = 0; i < nb; i++)
        t->buf[i] = get_f64(c + 8 * i);
    t->nb = nb;
    *out = t;
    return 0;
}

/* The version byte of a buffer long enough to hold a header, else 0. */
static int version_of(const uint8_t *buf, size_t len)
{
    return buf && len >= ASSAY_SKETCH_HEADER ? buf[5] : 0;
}

int assay_tdigest_deserialize(const uint8_t *buf, size_t len, assay_tdigest **out, assay_error *err)
{
    const uint8_t *p;
    uint64_t plen;
    if (!out)
        return assay_error_set(err, -EINVAL, "tdigest: no output pointer");
    *out = NULL;
    int v = version_of(buf, len) == SUMMARY_V1 ? SUMMARY_V1 : SUMMARY_V;
    int rc = assay_sketch_header_check(buf, len, ASSAY_SKETCH_TDIGEST, (uint8_t)v, &p, &plen, err);
    if (rc < 0)
        return assay_error_prefix(err, "tdigest");
    return load(p, plen, v, out, err);
}

int assay_tdigest_save(const assay_tdigest *t, uint8_t **buf, size_t *len)
{
    if (!t || !buf || !len)
        return -EINVAL;
    size_t payload = PAYLOAD_FIXED + SAVE_EXTRA + CENTROID * t->nc + 8 * t->nb;
    uint8_t *b = malloc(ASSAY_SKETCH_HEADER + payload);
    if (!b)
        return -ENOMEM;
    assay_sketch_header_write(b, ASSAY_SKETCH_TDIGEST, STATE_V, payload);
    uint8_t *p = b + ASSAY_SKETCH_HEADER;
    put_f64(p, t->delta);
    put_u64(p + 8, t->count);
    put_u64(p + 16, t->nan);
    put_f64(p + 24, t->count ? t->min : NAN);
    put_f64(p + 32, t->count ? t->max : NAN);
    put_u64(p + 40, t->nc);
    put_u64(p + 48, t->passes);
    put_u64(p + 56, t->nb);
    p += PAYLOAD_FIXED + SAVE_EXTRA;
    for (size_t i = 0; i < t->nc; i++, p += CENTROID) {
        put_f64(p, t->mean[i]);
        put_u64(p + 8, (uint64_t)t->weight[i] | (t->pure[i] ? PURE_BIT : 0));
        put_f64(p + 16, t->ss[i]);
    }
    for (size_t i = 0; i < t->nb; i++, p += 8)
        put_f64(p, t->buf[i]);
    *buf = b;
    *len = ASSAY_SKETCH_HEADER + payload;
    return 0;
}

int assay_tdigest_restore(const uint8_t *buf, size_t len, assay_tdigest **out, assay_error *err)
{
    const uint8_t *p;
    uint64_t plen;
    if (!out)
        return assay_error_set(err, -EINVAL, "tdigest: no output pointer");
    *out = NULL;
    int v = version_of(buf, len) == STATE_V2 ? STATE_V2 : STATE_V;
    int rc = assay_sketch_header_check(buf, len, ASSAY_SKETCH_TDIGEST, (uint8_t)v, &p, &plen, err);
    if (rc < 0)
        return assay_error_prefix(err, "tdigest");
    return load(p, plen, v, out, err);
}
