/*
 * hll.c - HyperLogLog distinct counting with a sparse form for small counts.
 *
 * References
 *   [FFGM07] P. Flajolet, E. Fusy, O. Gandouet, F. Meunier, "HyperLogLog: the analysis
 *            of a near-optimal cardinality estimation algorithm", AofA 2007.
 *   [HNH13]  S. Heule, M. Nunkesser, A. Hall, "HyperLogLog in Practice: Algorithmic
 *            Engineering of a State of the Art Cardinality Estimation Algorithm",
 *            EDBT 2013 (section 5.3: the sparse representation).
 *   [Ertl17] O. Ertl, "New cardinality estimation algorithms for HyperLogLog sketches",
 *            arXiv:1702.01284, 2017 (the section "Improved raw estimator", with the
 *            functions sigma and tau; section numbers differ between versions).
 *
 * The method
 * ----------
 * Every value arrives as a 64-bit hash (assay_hash_bytes, XXH3-64 with a fixed seed,
 * so sketches built anywhere merge). With precision p there are m = 2^p registers.
 * The top p bits of the hash pick a register j; the remaining q = 64 - p bits w give
 * rho(w) = 1 + (number of leading zeros of w), or q + 1 when w is all zero. Register j
 * keeps the largest rho it has seen, so it lies in [0, q + 1] (0: nothing seen yet).
 *
 *     hash:  | j (p bits) |          w (q = 64 - p bits)          |
 *            |  register  | 0 0 0 1 x x x ...                     |  rho(w) = 4
 *
 * The registers depend only on the *set* of hashes, not on order or repeats; that is
 * why merge (register-wise max) gives exactly the sketch of the union.
 *
 * Dense layout
 * ------------
 * One byte per register, register j at regs[j] (16 KiB at the default p = 14). Bytes
 * waste 2 bits against Redis's 6-bit packing but make add a single load/store and the
 * merge a byte-wise unsigned max that AVX2 (VPMAXUB, 32 per op, hll_avx2.c) and
 * AVX-512BW (64 per op, hll_avx512.c) do at memory speed; the scalar loop below is the
 * reference twin and the only kernel on non-x86 builds. The dense array is allocated
 * when the sketch is created, so no later add or merge needs memory it may not get.
 *
 * Estimator [Ertl17, "Improved raw estimator"]
 * -------------------------------------------
 * Let C_k be the number of registers equal to k (k = 0 .. q+1). Then
 *
 *                               alpha_inf * m^2
 *   n^ = ----------------------------------------------------------------------
 *         m*sigma(C_0/m) + sum_{k=1..q} C_k 2^-k + m*tau(1 - C_{q+1}/m) 2^-q
 *
 *   alpha_inf = 1 / (2 ln 2)
 *   sigma(x)  = x + sum_{k>=1} x^(2^k) 2^(k-1)               (sigma(1) = infinity)
 *   tau(x)    = (1/3) (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k)
 *
 * sigma replaces the C_0 term of the raw harmonic mean and tau the C_{q+1} term; the
 * result is unbiased over the whole range, from a handful of values to 2^64, without
 * the empirical bias tables of [HNH13] and without the switch to linear counting near
 * 2.5m where the original estimator of [FFGM07] has its bias bump. Both series
 * converge quadratically and are summed until the floating-point value stops changing.
 * The relative standard error is the classic 1.04/sqrt(m) [FFGM07]; [Ertl17] gives
 * the asymptotic constant sqrt(3 ln 2 - 1) = 1.039 for this estimator (and slightly
 * less for small n), i.e. 0.81% at p = 14, 3.25% at p = 10, 0.20% at p = 18.
 *
 * Sparse form [HNH13, section 5.3]
 * ------------------------------
 * A new sketch is sparse: a sorted array of 32-bit entries, one per occupied register
 * of a much larger sketch of precision p' = 25:
 *
 *     entry = idx' << 6 | rho'      idx' = top 25 bits of the hash (25 bits)
 *                                  rho' = rho of the low 39 bits (1 .. 40, 6 bits)
 *
 * sorted by idx', one entry per idx' (the largest rho'). Since p' > p, an entry holds
 * all a dense register needs: j = idx' >> (25 - p); if the s = 25 - p bits below j in
 * idx' are not all zero, rho = 1 + their leading zeros, otherwise rho = s + rho'. So
 * converting to dense gives exactly the registers dense adds would have produced.
 * [HNH13] stores rho' only when those s bits are zero, to fit a varint encoding;
 * storing it always keeps every entry one fixed-size word, which we sort and merge.
 *
 * While sparse, the estimate is linear counting at m' = 2^25 over the k occupied
 * entries, n^ = m' ln(m' / (m' - k)) [HNH13, section 5.3; Whang et al. 1990], which is
 * nearly exact for small n: its standard error is about 1/sqrt(2 m') = 0.012% of n,
 * and the collisions of n values in 2^25 slots are corrected on average.
 *
 * Inserts into the sparse form go to a small unsorted batch (HLL_BATCH entries); a
 * full batch is radix-sorted, de-duplicated and merged into the sorted array in
 * place, from the back (amortized O(1 + k / HLL_BATCH) per insert).
 *
 * Threshold: the sketch turns dense when the sorted array holds more than m/4 entries,
 * i.e. when it would use more bytes (4 per entry) than the dense registers (1 per
 * register): 4096 entries at p = 14. The decision depends only on the number of
 * distinct idx', a function of the set of hashes, so a sketch and the merge of any
 * split of its input always agree on sparse versus dense. (If memory for a growing
 * sparse array cannot be had, the sketch goes dense early; it stays correct.)
 *
 * Memory: a sketch starts with its 1.3 KiB header and batch; the sparse array (up to m
 * bytes, doubled as it grows) comes with the first entries and the m dense bytes when it
 * turns dense, which frees the array. So a sketch of k < m/4 distinct values takes about
 * 1.3 KiB + 4k bytes and a dense one m + 1.3 KiB (peak about 2m at the switch). A wide
 * input keeps a sketch per column in every partial state, most with few values, so the
 * registers are not reserved up front. A failed allocation is reported (-ENOMEM) and
 * leaves the sketch valid: a sparse sketch past its limit without registers stays
 * sparse, which is exact and only bigger.
 *
 * Speed (bench/bench_hll.c, Xeon 2.1 GHz, gcc -O3, p = 14): dense add 1.6 ns per
 * value one at a time and 0.7 ns in add_batch; sparse add 14-26 ns; merge of 16 KiB
 * of registers 430 ns scalar, 213 ns AVX2, 135 ns AVX-512; estimate 5.2 us dense
 * (a histogram of the registers), 2.1 us sparse.
 *
 * Measured error (tests/test_hll.c, p = 14, m = 16384, 1.04/sqrt(m) = 0.8125%;
 * distinct random hashes, RSE = root mean square relative error over the trials,
 * bias = mean relative error; `test_hll --long` for the last two rows):
 *
 *       n        trials  form     RSE       bias
 *       10       1000    sparse   0.000%    0.000%
 *       100      1000    sparse   0.000%    0.000%
 *       1000     1000    sparse   0.013%    0.000%
 *       10^4     1000    dense    0.576%    0.010%
 *       40960    300     dense    0.650%    0.009%    (2.5m: the old estimator's switch)
 *       10^5     1000    dense    0.750%    0.004%
 *       10^6     500     dense    0.788%    0.056%
 *       10^7     300     dense    0.780%   -0.017%
 *       10^8     100     dense    0.806%    0.033%
 *
 * Around the transition of the original estimator (p = 10, m = 1024, 2000 trials,
 * 1.04/sqrt(m) = 3.25%): for n = 0.5m .. 30m the RSE rises from 2.4% to 3.26% and
 * the bias stays within 0.2% (what remains is the O(1/m) bias of any estimator of
 * the form const/Z, about 1.04^2/m = 0.1% here and 0.007% at p = 14). Registers
 * drawn from their Poisson-model distribution at p = 12 (1.625%) give RSE 1.5-1.66%
 * and |bias| < 0.16% for n = 2^20 .. 2^61; the error grows only in the last few
 * powers of two before 2^64, where many registers saturate at q + 1.
 *
 * Serialized form (after the assay/sketch.h header, kind ASSAY_SKETCH_HLL, version 1;
 * little endian):
 *     0   1  p (4 .. 18)
 *     1   1  encoding: 0 sparse, 1 dense
 *     2   2  reserved, 0
 *     4   4  count: sparse entries (<= m/4), or m for dense
 *     8  ... sparse: count u32 entries, strictly increasing idx', rho' in [1, 40]
 *            dense: m bytes, each <= 64 - p + 1
 * A sketch serializes in the form it would have after its pending batch is merged,
 * so equal register states give equal bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/hll.h"
#include "assay/sketch.h"
#include "core/grow.h"

/* ------------------------------------------------------------------------------ */
/* Constants and the sketch                                                        */
/* ------------------------------------------------------------------------------ */

#define HLL_PSPARSE   25                     /* p' of the sparse entries */
#define HLL_RHO_BITS  6                      /* rho' field of an entry */
#define HLL_RHO_MAX_S (64 - HLL_PSPARSE + 1) /* largest rho' (40) */
#define HLL_BATCH     256                    /* unsorted sparse inserts kept before a merge */
#define HLL_PAYLOAD0  8                      /* fixed part of the payload */

#if defined(__x86_64__)
void assay_hll_merge_avx2(uint8_t *dst, const uint8_t *src, size_t n);
void assay_hll_merge_avx512(uint8_t *dst, const uint8_t *src, size_t n);
#endif

struct assay_hll {
    unsigned p;
    uint32_t m;
    bool sparse;
    uint8_t *regs;   /* m bytes, allocated when the sketch turns dense (NULL before) */
    uint32_t *sp;    /* sorted entries, one per idx' */
    uint32_t sp_n;   /* entries in sp */
    uint32_t sp_cap; /* capacity of sp */
    uint32_t batch_n;
    uint32_t batch[HLL_BATCH]; /* unsorted, may repeat */
    /* Direct-mapped cache of sparse entries already added (0 = empty; no entry is 0
     * since rho' >= 1). Re-adding an entry is a no-op - the sparse form keeps the
     * largest rho' per index - so an add that hits the cache is skipped. On a column
     * with few distinct values every add hits, and the sorted-batch merge that
     * otherwise ran once per 256 adds (4% of a profile of 10M orders rows, on the
     * currency/status/country columns) disappears. */
    uint32_t recent[64];
};

/* Sparse entries allowed before the sketch turns dense (4 bytes each vs 1 per register). */
static uint32_t sparse_limit(unsigned p)
{
    return (1u << p) / 4;
}

static inline uint32_t entry_idx(uint32_t e)
{
    return e >> HLL_RHO_BITS;
}

/* Sparse entry of a hash: idx' = top 25 bits, rho' of the low 39 bits (sentinel bit
 * caps it at 40). */
static inline uint32_t entry_of_hash(uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - HLL_PSPARSE));
    uint64_t w = (hash << HLL_PSPARSE) | (1ull << (HLL_PSPARSE - 1));
    uint32_t rho = (uint32_t)__builtin_clzll(w) + 1;
    return idx << HLL_RHO_BITS | rho;
}

/* Dense register index and value encoded by a sparse entry (see the essay). */
static inline void entry_to_dense(uint32_t e, unsigned p, uint32_t *j, uint8_t *rho)
{
    unsigned s = HLL_PSPARSE - p;
    uint32_t idx = entry_idx(e);
    uint32_t low = idx & ((1u << s) - 1);
    *j = idx >> s;
    if (low)
        *rho = (uint8_t)(__builtin_clz(low) - (32 - s) + 1);
    else
        *rho = (uint8_t)(s + (e & ((1u << HLL_RHO_BITS) - 1)));
}

static inline void dense_add(uint8_t *regs, unsigned p, uint64_t hash)
{
    uint32_t j = (uint32_t)(hash >> (64 - p));
    uint64_t w = (hash << p) | (1ull << (p - 1));
    uint8_t rho = (uint8_t)(__builtin_clzll(w) + 1);
    if (rho > regs[j])
        regs[j] = rho;
}

int assay_hll_new(assay_hll **out, unsigned p)
{
    *out = NULL;
    if (p < ASSAY_HLL_P_MIN || p > ASSAY_HLL_P_MAX)
        return -EINVAL;
    assay_hll *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->p = p;
    h->m = 1u << p;
    h->sparse = true;
    *out = h;
    return 0;
}

void assay_hll_free(assay_hll *h)
{
    if (!h)
        return;
    free(h->sp);
    free(h->regs);
    free(h);
}

int assay_hll_reset(assay_hll *h, bool dense)
{
    if (h->regs)
        memset(h->regs, 0, h->m);
    h->sp_n = 0;
    h->batch_n = 0;
    memset(h->recent, 0, sizeof(h->recent));
    h->sparse = true;
    if (dense) {
        if (!h->regs && !(h->regs = calloc(h->m, 1)))
            return -ENOMEM; /* stays an empty sparse sketch */
        h->sparse = false;
    }
    return 0;
}

unsigned assay_hll_precision(const assay_hll *h)
{
    return h->p;
}

/* ------------------------------------------------------------------------------ */
/* Sparse form: sorting the batch, merged views, conversion                        */
/* ------------------------------------------------------------------------------ */

/* Sort a[0..n) (n <= HLL_BATCH) by value, LSD radix on the 31 used bits (4 passes of
 * 8 bits), then keep one entry per idx' (the last, i.e. largest rho'). Returns the
 * new count. tmp must hold n entries. */
static uint32_t sort_unique(uint32_t *a, uint32_t n, uint32_t *tmp)
{
    uint32_t *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        uint32_t cnt[257] = { 0 };
        for (uint32_t i = 0; i < n; i++)
            cnt[((src[i] >> shift) & 0xff) + 1]++;
        for (unsigned b = 0; b < 256; b++)
            cnt[b + 1] += cnt[b];
        for (uint32_t i = 0; i < n; i++)
            dst[cnt[(src[i] >> shift) & 0xff]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    /* four passes: the sorted data is back in a */
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 1 < n && entry_idx(a[i + 1]) == entry_idx(a[i]))
            continue;
        a[k++] = a[i];
    }
    return k;
}

/* A read-only merged view of a sparse sketch: its sorted array plus a sorted,
 * de-duplicated copy of its pending batch. */
typedef struct sparse_view {
    const uint32_t *a, *b;
    uint32_t na, nb, ia, ib;
    uint32_t bcopy[HLL_BATCH];
} sparse_view;

static void view_init(sparse_view *v, const assay_hll *h)
{
    uint32_t tmp[HLL_BATCH];
    memcpy(v->bcopy, h->batch, h->batch_n * sizeof(uint32_t));
    v->nb = sort_unique(v->bcopy, h->batch_n, tmp);
    v->b = v->bcopy;
    v->a = h->sp;
    v->na = h->sp_n;
    v->ia = v->ib = 0;
}

/* Next entry in idx' order (the larger rho' when both sides have the idx'); false at
 * the end. */
static bool view_next(sparse_view *v, uint32_t *e)
{
    if (v->ia < v->na && v->ib < v->nb) {
        uint32_t x = v->a[v->ia], y = v->b[v->ib];
        if (entry_idx(x) < entry_idx(y)) {
            v->ia++;
            *e = x;
        } else if (entry_idx(y) < entry_idx(x)) {
            v->ib++;
            *e = y;
        } else {
            v->ia++;
            v->ib++;
            *e = x > y ? x : y;
        }
        return true;
    }
    if (v->ia < v->na) {
        *e = v->a[v->ia++];
        return true;
    }
    if (v->ib < v->nb) {
        *e = v->b[v->ib++];
        return true;
    }
    return false;
}

static uint32_t view_count(const assay_hll *h)
{
    sparse_view v;
    view_init(&v, h);
    uint32_t k = 0, e;
    while (view_next(&v, &e))
        k++;
    return k;
}

/* Apply every entry of h's sparse view to regs (max per register). */
static void view_to_dense(const assay_hll *h, uint8_t *regs)
{
    sparse_view v;
    view_init(&v, h);
    uint32_t e, j;
    uint8_t rho;
    while (view_next(&v, &e)) {
        entry_to_dense(e, h->p, &j, &rho);
        if (rho > regs[j])
            regs[j] = rho;
    }
}

/* True while sparse, counting the pending batch: a sketch whose batch would carry it
 * past the limit reports the dense form it will take (so the answer depends only on
 * what was added, not on when the batch was last merged). */
bool assay_hll_is_sparse(const assay_hll *h)
{
    if (!h->sparse)
        return false;
    return h->batch_n == 0 || view_count(h) <= sparse_limit(h->p);
}

/* Turn a sparse sketch dense (regs, when kept from an earlier dense life, are zero while
 * sparse). -ENOMEM leaves it sparse and unchanged. */
static int to_dense(assay_hll *h)
{
    if (!h->regs && !(h->regs = calloc(h->m, 1)))
        return -ENOMEM;
    view_to_dense(h, h->regs);
    free(h->sp);
    h->sp = NULL;
    h->sp_n = h->sp_cap = 0;
    h->batch_n = 0;
    h->sparse = false;
    return 0;
}

/* Make room for `need` entries in h->sp; false when memory cannot be had. */
static bool sp_reserve(assay_hll *h, uint32_t need)
{
    if (need <= h->sp_cap)
        return true;
    uint32_t cap = (uint32_t)assay_grow_cap(h->sp_cap, need, 64, UINT32_MAX);
    uint32_t *n = realloc(h->sp, (size_t)cap * sizeof(uint32_t));
    if (!n)
        return false;
    h->sp = n;
    h->sp_cap = cap;
    return true;
}

/* Merge the sorted unique entries t[0..nt) into h->sp in place, from the back: the
 * write position never falls below the unread part of sp, so nothing unread is
 * overwritten. sp must have room for sp_n + nt. */
static void sp_merge_sorted(assay_hll *h, const uint32_t *t, uint32_t nt)
{
    uint32_t *a = h->sp;
    uint32_t i = h->sp_n, j = nt, w = h->sp_n + nt, end = w;
    while (j > 0) {
        if (i > 0 && entry_idx(a[i - 1]) > entry_idx(t[j - 1])) {
            a[--w] = a[--i];
        } else if (i > 0 && entry_idx(a[i - 1]) == entry_idx(t[j - 1])) {
            uint32_t x = a[--i], y = t[--j];
            a[--w] = x > y ? x : y;
        } else {
            a[--w] = t[--j];
        }
    }
    /* a[0..i) is untouched and precedes a[w..end) */
    if (w > i)
        memmove(a + i, a + w, (size_t)(end - w) * sizeof(uint32_t));
    h->sp_n = i + (end - w);
}

/* Merge the pending batch into the sorted array; turn dense past the limit. -ENOMEM
 * when neither a larger array nor the registers can be had: the batch stays pending
 * (sorted and de-duplicated; every view still reads it). Past the limit without memory
 * for the registers, the sketch simply stays sparse, which is exact and only bigger. */
static int flush_batch(assay_hll *h)
{
    if (!h->sparse || h->batch_n == 0)
        return 0;
    uint32_t tmp[HLL_BATCH];
    uint32_t nt = sort_unique(h->batch, h->batch_n, tmp);
    h->batch_n = nt;
    if (!sp_reserve(h, h->sp_n + nt))
        return to_dense(h); /* applies sp and the (sorted) batch */
    sp_merge_sorted(h, h->batch, nt);
    h->batch_n = 0;
    if (h->sp_n > sparse_limit(h->p))
        (void)to_dense(h);
    return 0;
}

/* ------------------------------------------------------------------------------ */
/* Add                                                                             */
/* ------------------------------------------------------------------------------ */

/* Add one entry of `hash` to a sparse sketch. A batch left full by a failed flush is
 * flushed first; if that turns the sketch dense, the hash goes to the registers. */
static inline int sparse_push(assay_hll *h, uint64_t hash)
{
    uint32_t e = entry_of_hash(hash);
    uint32_t slot = (e ^ (e >> 6) ^ (e >> 17)) & 63;
    if (h->recent[slot] == e)
        return 0;
    if (ASSAY_UNLIKELY(h->batch_n == HLL_BATCH)) {
        if (flush_batch(h) < 0)
            return -ENOMEM;
        if (!h->sparse) {
            dense_add(h->regs, h->p, hash);
            return 0;
        }
    }
    h->recent[slot] = e;
    h->batch[h->batch_n++] = e;
    if (h->batch_n == HLL_BATCH)
        (void)flush_batch(h); /* on failure the next add retries */
    return 0;
}

int assay_hll_add(assay_hll *h, uint64_t hash)
{
    if (ASSAY_LIKELY(!h->sparse)) {
        dense_add(h->regs, h->p, hash);
        return 0;
    }
    return sparse_push(h, hash);
}

int assay_hll_add_batch(assay_hll *h, const uint64_t *hashes, size_t n)
{
    size_t i = 0;
    while (i < n && h->sparse)
        if (sparse_push(h, hashes[i++]) < 0)
            return -ENOMEM;
    /* Dense hot path: the register array (16 KiB at p = 14) stays in L1; four
     * independent updates per turn keep the load/compare/store chains overlapped. */
    uint8_t *regs = h->regs;
    const unsigned p = h->p, shift = 64 - p;
    const uint64_t sentinel = 1ull << (p - 1);
    for (; i + 4 <= n; i += 4) {
        uint64_t x0 = hashes[i], x1 = hashes[i + 1], x2 = hashes[i + 2], x3 = hashes[i + 3];
        uint32_t j0 = (uint32_t)(x0 >> shift), j1 = (uint32_t)(x1 >> shift);
        uint32_t j2 = (uint32_t)(x2 >> shift), j3 = (uint32_t)(x3 >> shift);
        uint8_t r0 = (uint8_t)(__builtin_clzll((x0 << p) | sentinel) + 1);
        uint8_t r1 = (uint8_t)(__builtin_clzll((x1 << p) | sentinel) + 1);
        uint8_t r2 = (uint8_t)(__builtin_clzll((x2 << p) | sentinel) + 1);
        uint8_t r3 = (uint8_t)(__builtin_clzll((x3 << p) | sentinel) + 1);
        /* in order, so repeated registers within the four are handled like single adds */
        if (r0 > regs[j0])
            regs[j0] = r0;
        if (r1 > regs[j1])
            regs[j1] = r1;
        if (r2 > regs[j2])
            regs[j2] = r2;
        if (r3 > regs[j3])
            regs[j3] = r3;
    }
    for (; i < n; i++)
        dense_add(regs, p, hashes[i]);
    return 0;
}

/* ------------------------------------------------------------------------------ */
/* Merge                                                                           */
/* ------------------------------------------------------------------------------ */

static void merge_scalar(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[i] > dst[i] ? src[i] : dst[i];
}

void assay_hll_merge_registers(uint8_t *dst, const uint8_t *src, size_t n, assay_simd_level level)
{
#if defined(__x86_64__)
    /* never above what the CPU has, whatever the caller asks */
    if (level >= ASSAY_SIMD_AVX2 && level > assay_cpu_detect())
        level = assay_cpu_detect();
    if (level >= ASSAY_SIMD_AVX512) {
        assay_hll_merge_avx512(dst, src, n);
        return;
    }
    if (level >= ASSAY_SIMD_AVX2) {
        assay_hll_merge_avx2(dst, src, n);
        return;
    }
#else
    (void)level;
#endif
    merge_scalar(dst, src, n);
}

/* dst (sparse, batch flushed) U src (sparse): merge the sorted arrays. */
static int merge_sparse_sparse(assay_hll *dst, const assay_hll *src)
{
    uint32_t nsrc = view_count(src);
    if (nsrc == 0)
        return 0; /* nothing to add (and dst->sp may still be unallocated) */
    /* Room for the result (sp_n + nsrc) and, past it, a copy of src's view: the
     * backward merge writes only below sp_n + nsrc, so the copy is never overwritten
     * before it is read. */
    if (!sp_reserve(dst, dst->sp_n + 2 * nsrc)) {
        if (to_dense(dst) < 0)
            return -ENOMEM;
        view_to_dense(src, dst->regs);
        return 0;
    }
    sparse_view v;
    view_init(&v, src);
    uint32_t *t = dst->sp + dst->sp_n + nsrc, k = 0, e;
    while (view_next(&v, &e))
        t[k++] = e;
    sp_merge_sorted(dst, t, k);
    if (dst->sp_n > sparse_limit(dst->p))
        (void)to_dense(dst); /* without memory it stays sparse: exact, only bigger */
    return 0;
}

int assay_hll_merge(assay_hll *dst, const assay_hll *src)
{
    if (dst->p != src->p)
        return -EINVAL;
    if (dst == src)
        return 0;
    if (flush_batch(dst) < 0)
        return -ENOMEM;
    if (!src->sparse) {
        if (dst->sparse && to_dense(dst) < 0)
            return -ENOMEM;
        assay_hll_merge_registers(dst->regs, src->regs, dst->m, assay_cpu_level());
        return 0;
    }
    if (!dst->sparse) {
        view_to_dense(src, dst->regs);
        return 0;
    }
    return merge_sparse_sparse(dst, src);
}

/* ------------------------------------------------------------------------------ */
/* Estimate                                                                        */
/* ------------------------------------------------------------------------------ */

/* sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1) [Ertl17]; x in [0, 1). */
static double ertl_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

/* tau(x) = (1/3)(1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) [Ertl17]; x in [0, 1]. */
static double ertl_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != prev);
    return z / 3.0;
}

/* Improved raw estimator from the register histogram c[0 .. q+1]. */
static double ertl_estimate(const uint32_t *c, unsigned p)
{
    const unsigned q = 64 - p;
    const double m = (double)(1u << p);
    if (c[0] == (uint32_t)m)
        return 0.0;
    double z = m * ertl_tau(1.0 - c[q + 1] / m);
    for (unsigned k = q; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += m * ertl_sigma(c[0] / m);
    return (0.5 / M_LN2) * m * m / z;
}

double assay_hll_estimate(const assay_hll *h)
{
    uint32_t c[66] = { 0 };
    if (!h->sparse) {
        /* four histograms side by side break the store-to-load chain on repeats */
        uint32_t c4[4][66];
        memset(c4, 0, sizeof(c4));
        uint32_t j = 0;
        for (; j + 4 <= h->m; j += 4) {
            c4[0][h->regs[j]]++;
            c4[1][h->regs[j + 1]]++;
            c4[2][h->regs[j + 2]]++;
            c4[3][h->regs[j + 3]]++;
        }
        for (unsigned k = 0; k < 66; k++)
            c[k] = c4[0][k] + c4[1][k] + c4[2][k] + c4[3][k];
        return ertl_estimate(c, h->p);
    }
    uint32_t k = view_count(h);
    if (k <= sparse_limit(h->p)) {
        /* linear counting over the 2^25 slots of the sparse precision */
        const double ms = (double)(1u << HLL_PSPARSE);
        return -ms * log1p(-(double)k / ms);
    }
    /* the pending batch would turn the sketch dense: estimate as that dense sketch.
     * Entries come in idx' order, so each register's entries are adjacent. */
    sparse_view v;
    view_init(&v, h);
    uint32_t e, j, cur = UINT32_MAX, used = 0;
    uint8_t rho, best = 0;
    while (view_next(&v, &e)) {
        entry_to_dense(e, h->p, &j, &rho);
        if (j != cur) {
            if (cur != UINT32_MAX)
                c[best]++;
            cur = j;
            best = 0;
            used++;
        }
        if (rho > best)
            best = rho;
    }
    if (cur != UINT32_MAX)
        c[best]++;
    c[0] = h->m - used;
    return ertl_estimate(c, h->p);
}

/* ------------------------------------------------------------------------------ */
/* Serialization                                                                   */
/* ------------------------------------------------------------------------------ */

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int assay_hll_serialize(const assay_hll *h, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    uint32_t k = h->sparse ? view_count(h) : 0;
    bool sparse = h->sparse && k <= sparse_limit(h->p);
    uint32_t count = sparse ? k : h->m;
    size_t payload = HLL_PAYLOAD0 + (sparse ? (size_t)k * 4 : h->m);
    uint8_t *out = malloc(ASSAY_SKETCH_HEADER + payload);
    if (!out)
        return -ENOMEM;
    assay_sketch_header_write(out, ASSAY_SKETCH_HLL, 1, payload);
    uint8_t *p = out + ASSAY_SKETCH_HEADER;
    p[0] = (uint8_t)h->p;
    p[1] = sparse ? 0 : 1;
    p[2] = p[3] = 0;
    put_u32le(p + 4, count);
    p += HLL_PAYLOAD0;
    if (sparse) {
        sparse_view v;
        view_init(&v, h);
        uint32_t e;
        while (view_next(&v, &e)) {
            put_u32le(p, e);
            p += 4;
        }
    } else if (h->sparse) {
        memset(p, 0, h->m);
        view_to_dense(h, p);
    } else {
        memcpy(p, h->regs, h->m);
    }
    *buf = out;
    *len = ASSAY_SKETCH_HEADER + payload;
    return 0;
}

int assay_hll_deserialize(const uint8_t *buf, size_t len, assay_hll **out, assay_error *err)
{
    *out = NULL;
    const uint8_t *pl;
    uint64_t plen;
    int rc = assay_sketch_header_check(buf, len, ASSAY_SKETCH_HLL, 1, &pl, &plen, err);
    if (rc)
        return rc;
    if (plen < HLL_PAYLOAD0)
        return assay_error_set(err, -EINVAL, "hll: payload of %llu bytes, need at least %d",
                               (unsigned long long)plen, HLL_PAYLOAD0);
    unsigned p = pl[0], enc = pl[1];
    if (p < ASSAY_HLL_P_MIN || p > ASSAY_HLL_P_MAX)
        return assay_error_set(err, -EINVAL, "hll: precision %u outside [%d, %d]", p,
                               ASSAY_HLL_P_MIN, ASSAY_HLL_P_MAX);
    if (enc > 1)
        return assay_error_set(err, -EINVAL, "hll: unknown encoding %u (0 sparse, 1 dense)", enc);
    if (pl[2] || pl[3])
        return assay_error_set(err, -EINVAL, "hll: reserved payload bytes are not zero");
    uint32_t count = get_u32le(pl + 4);
    uint32_t m = 1u << p;
    uint64_t body = plen - HLL_PAYLOAD0;
    const uint8_t *d = pl + HLL_PAYLOAD0;
    if (enc == 1) {
        if (count != m)
            return assay_error_set(err, -EINVAL, "hll: dense count %u, expected 2^%u = %u", count,
                                   p, m);
        if (body != m)
            return assay_error_set(err, -EINVAL,
                                   "hll: dense payload has %llu register bytes, expected %u",
                                   (unsigned long long)body, m);
        for (uint32_t j = 0; j < m; j++)
            if (d[j] > 64 - p + 1)
                return assay_error_set(err, -EINVAL,
                                       "hll: register %u is %u, above the maximum %u for p=%u", j,
                                       d[j], 64 - p + 1, p);
    } else {
        if (count > sparse_limit(p))
            return assay_error_set(err, -EINVAL,
                                   "hll: %u sparse entries, above the limit %u for p=%u", count,
                                   sparse_limit(p), p);
        if (body != (uint64_t)count * 4)
            return assay_error_set(err, -EINVAL,
                                   "hll: sparse payload has %llu entry bytes, expected %u x 4",
                                   (unsigned long long)body, count);
        for (uint32_t i = 0; i < count; i++) {
            uint32_t e = get_u32le(d + 4 * i);
            uint32_t rho = e & ((1u << HLL_RHO_BITS) - 1);
            if (e >> (HLL_PSPARSE + HLL_RHO_BITS))
                return assay_error_set(err, -EINVAL,
                                       "hll: sparse entry %u index out of range (0x%08x)", i, e);
            if (rho < 1 || rho > HLL_RHO_MAX_S)
                return assay_error_set(err, -EINVAL,
                                       "hll: sparse entry %u has rho %u outside [1, %d]", i, rho,
                                       HLL_RHO_MAX_S);
            if (i > 0 && entry_idx(e) <= entry_idx(get_u32le(d + 4 * (i - 1))))
                return assay_error_set(err, -EINVAL,
                                       "hll: sparse entry %u is not above entry %u (entries must "
                                       "be sorted and unique)",
                                       i, i - 1);
        }
    }
    assay_hll *h;
    rc = assay_hll_new(&h, p);
    if (rc)
        return assay_error_set(err, rc, "hll: out of memory for a p=%u sketch", p);
    if (enc == 1) {
        if (assay_hll_reset(h, true) < 0) {
            assay_hll_free(h);
            return assay_error_set(err, -ENOMEM, "hll: out of memory for a p=%u sketch", p);
        }
        memcpy(h->regs, d, m);
    } else if (count > 0) {
        if (!sp_reserve(h, count)) {
            assay_hll_free(h);
            return assay_error_set(err, -ENOMEM, "hll: out of memory for %u sparse entries", count);
        }
        for (uint32_t i = 0; i < count; i++)
            h->sp[i] = get_u32le(d + 4 * i);
        h->sp_n = count;
    }
    *out = h;
    return 0;
}
