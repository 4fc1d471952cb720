/*
 * moments.c - count, mean, central sums M2..M4, min and max of a stream of doubles,
 * mergeable exactly (up to rounding) across shards and windows.
 *
 * What is kept
 * ------------
 * For the n finite values x_1..x_n seen so far:
 *
 *     mean = (1/n) sum x_i          M_p = sum (x_i - mean)^p,  p = 2, 3, 4
 *
 * plus min and max over every non-NaN value (so they show +-inf when the column holds
 * infinities). These numbers are the whole state (assay_moments, 64 bytes: the mean is
 * kept as a double-double, see below); a window's statistics are functions of them:
 *
 *     variance  s^2 = M2 / (n - 1)                 sample (Bessel-corrected) variance
 *     stddev    s   = sqrt(s^2)
 *     skewness  g1  = sqrt(n) M3 / M2^(3/2)        = m3 / m2^(3/2), m_p = M_p / n
 *     kurtosis  g2  = n M4 / M2^2 - 3              = m4 / m2^2 - 3 (excess)
 *
 * So the variance is the unbiased sample estimator, while skewness and kurtosis are
 * the plain moment estimators g1 and g2 (population form, no small-sample adjustment:
 * NOT the G1/G2 of Joanes & Gill 1998 that Excel and SAS print, and not b1/b2 either).
 * Variance is NaN below n = 2, skewness below n = 3, kurtosis below n = 4, and both
 * are NaN when M2 == 0 (constant data): a shape statistic of a point mass is
 * undefined, and NaN says so instead of a misleading 0.
 *
 * Why central sums and not power sums
 * -----------------------------------
 * Textbook one-pass formulas (sum x, sum x^2, ...) lose everything to cancellation
 * when the mean is large next to the spread: for 1e9 + N(0,1) data, sum x^2 is ~1e18
 * n, the variance ~n, and a double carries 16 digits, so the result is noise. Central
 * sums never form those large numbers: every update works on deviations from the
 * current mean. This file uses the pairwise update of Pebay [1] for two disjoint sets
 * A and B with n = nA + nB and delta = mean_B - mean_A:
 *
 *     mean = mean_A + delta nB / n
 *     M2   = M2_A + M2_B + delta^2 nA nB / n
 *     M3   = M3_A + M3_B + delta^3 nA nB (nA - nB) / n^2
 *                        + 3 delta (nA M2_B - nB M2_A) / n
 *     M4   = M4_A + M4_B + delta^4 nA nB (nA^2 - nA nB + nB^2) / n^3
 *                        + 6 delta^2 (nA^2 M2_B + nB^2 M2_A) / n^2
 *                        + 4 delta (nA M3_B - nB M3_A) / n
 *
 * which is [1] §2's general pairwise formula for M_p written out for p = 2, 3, 4 (the
 * p = 2 line is Chan, Golub & LeVeque's [2]). Its corollary for nB = 1 (a single
 * value x, delta = x - mean_A, d = delta / n) is the incremental update used by
 * assay_moments_add:
 *
 *     mean += d
 *     M4   += delta d^3 (n-1)(n^2 - 3n + 3) + 6 d^2 M2 - 4 d M3      (old M2, M3)
 *     M3   += delta d^2 (n-1)(n - 2) - 3 d M2                         (old M2)
 *     M2   += delta d (n-1)
 *
 * Batches: two passes, then one merge
 * -----------------------------------
 * The engine hands numeric columns over as arrays of a few thousand doubles.
 * assay_moments_add_batch computes the batch's own moments the way a careful person
 * would by hand - mean first, then central sums - and merges them with the pairwise
 * formula above. That is both faster (no division per value, no dependency from one
 * value to the next, so the compiler vectorises both loops over 8 independent lanes;
 * -O3 on x86-64 gives SSE2 code, and AVX2/AVX-512 clones are picked at run time where
 * the compiler supports target_clones) and more accurate than n incremental adds:
 *
 *   pass 1  s = sum (x_i - K) over finite x_i, K = the batch's first finite value, so
 *           large offsets cancel before summing (shifted data, [3] §1.4 / [4]);
 *           c = count; min, max.  mean0 = K + s / c.
 *   pass 2  S_p = sum (x_i - mean0)^p for p = 1..4.
 *   fix     mean0 carries a rounding error; S_1 measures it (S_1 = 0 in exact
 *           arithmetic). With e = S_1 / c the sums about the true batch mean follow
 *           exactly from the binomial expansion:
 *               M2 = S2 - c e^2
 *               M3 = S3 - 3 e S2 + 2 c e^3
 *               M4 = S4 - 4 e S3 + 6 e^2 S2 - 3 c e^4
 *           (for p = 2 this is the "corrected two-pass algorithm" of [2] / [4]).
 *
 * The mean as a double-double
 * --------------------------
 * Central sums alone are not enough at a large offset. On 1e9 + N(0,1) a double mean
 * has an ulp of 1.2e-7; each add or merge rounds it, the rounding random-walks (step
 * k's error survives with weight k/n), and every later update computes its deviation
 * delta from that wrong mean, so M2 drifts by ~3e-8 relative and M4 by ~5e-8 however
 * long the stream (measured; and 1000x worse at a 1e12 offset). The fix is to keep
 * the mean's rounding error: mean + mean_lo is the mean to about twice double
 * precision, updated with Knuth's TwoSum (Higham [3] §4.3), and deviations are taken
 * as (x - mean) - mean_lo, where x - mean is exact for x near the mean (Sterbenz).
 * Cost: four extra additions per add. With it, single adds, batches and merges all
 * match the exact moments to ~1e-12 relative or better on every distribution the
 * tests use, offset included (tests/test_moments.c asserts 1e-9).
 *
 * Non-finite input
 * ----------------
 * NaN is skipped entirely (not counted, not in min/max). +-inf is counted in min and
 * max only: the moments describe the finite values, so n is the number of finite
 * values and mean/stddev stay finite. A column of [1, 2, +inf] reports n = 2,
 * mean 1.5, max +inf. (Feeding inf to the formulas would make mean inf and M2 NaN
 * for the rest of the window, which says nothing useful.) When only infinities were
 * seen, n == 0 and min/max still show them.
 *
 * Serialized form (kind ASSAY_SKETCH_MOMENTS, version 1, after the shared header of
 * assay/sketch.h; little endian, doubles as IEEE-754 bit patterns):
 *
 *     offset  size  field
 *     0       8     n
 *     8       8     mean
 *     16      8     M2
 *     24      8     M3
 *     32      8     M4
 *     40      8     min
 *     48      8     max
 *     56      8     mean_lo        (payload: 64 bytes)
 *
 * The reader rejects: mean/mean_lo/M2/M3/M4 not finite; mean_lo not below half an
 * ulp of mean; M2 or M4 negative; n == 0 with any of mean/mean_lo/M2/M3/M4 non-zero or
 * a finite min/max; n == 1 with M2/M3/M4 non-zero;
 * NaN min/max; min > max when n > 0; and n > 0 with min > mean or mean > max beyond
 * rounding (a state no stream can produce).
 *
 * References
 * [1] P. Pebay, "Formulas for robust, one-pass parallel computation of covariances
 *     and arbitrary-order statistical moments", Sandia report SAND2008-6212, 2008.
 * [2] T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the sample
 *     variance: analysis and recommendations", The American Statistician 37(3),
 *     1983 (and their 1979 Stanford report STAN-CS-79-773 for the pairwise M2).
 * [3] N. J. Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM
 *     2002, §1.9 (computing the sample variance) and ch. 4 (summation).
 * [4] P. Pebay, T. B. Terriberry, H. Kolla, J. Bennett, "Numerically stable, scalable
 *     formulas for parallel and online computation of higher-order multivariate
 *     central moments with arbitrary weights", Computational Statistics 31, 2016.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/moments.h"
#include "assay/sketch.h"

#define MOMENTS_VERSION 1
#define MOMENTS_PAYLOAD 64

/* ------------------------------------------------------------------------------------ */
/* Update and merge                                                                      */
/* ------------------------------------------------------------------------------------ */

void assay_moments_init(assay_moments *m)
{
    m->n = 0;
    m->mean = m->mean_lo = m->m2 = m->m3 = m->m4 = 0.0;
    m->min = INFINITY;
    m->max = -INFINITY;
}

/* s + *err == a + b exactly (Knuth's TwoSum; no condition on the magnitudes). */
static inline double two_sum(double a, double b, double *err)
{
    double s = a + b;
    double bb = s - a;
    *err = (a - (s - bb)) + (b - bb);
    return s;
}

/* (mean, mean_lo) += t in double-double arithmetic; the final Fast2Sum (valid as
 * |lo| << |s|) renormalises so |mean_lo| <= ulp(mean) / 2. */
static void mean_add(assay_moments *m, double t)
{
    double err;
    double s = two_sum(m->mean, t, &err);
    double lo = m->mean_lo + err;
    double hi = s + lo;
    m->mean_lo = lo - (hi - s);
    m->mean = hi;
}

/* x - mean to ~ double precision relative to the difference (x - hi is exact when x
 * and hi are within a factor 2 of each other, Sterbenz's lemma). */
static inline double dev(const assay_moments *m, double x)
{
    return (x - m->mean) - m->mean_lo;
}

void assay_moments_add(assay_moments *m, double x)
{
    if (isnan(x))
        return;
    if (x < m->min)
        m->min = x;
    if (x > m->max)
        m->max = x;
    if (ASSAY_UNLIKELY(isinf(x)))
        return;
    double n1 = (double)m->n; /* old count */
    double n = n1 + 1.0;
    double delta = dev(m, x);
    double d = delta / n;
    double d2 = d * d;
    double t = delta * d * n1;
    mean_add(m, d);
    m->m4 += t * d2 * (n * n - 3.0 * n + 3.0) + 6.0 * d2 * m->m2 - 4.0 * d * m->m3;
    m->m3 += t * d * (n - 2.0) - 3.0 * d * m->m2;
    m->m2 += t;
    m->n++;
}

/* Pairwise update of [1] §2 (see the essay). a absorbs b; min/max are the caller's. */
static void merge_central(assay_moments *a, uint64_t nb_u, double mean_b, double mean_b_lo,
                          double m2b, double m3b, double m4b)
{
    if (nb_u == 0)
        return;
    if (a->n == 0) {
        a->n = nb_u;
        a->mean = mean_b;
        a->mean_lo = mean_b_lo;
        a->m2 = m2b;
        a->m3 = m3b;
        a->m4 = m4b;
        return;
    }
    double na = (double)a->n, nb = (double)nb_u;
    double n = na + nb;
    double delta = (mean_b - a->mean) + (mean_b_lo - a->mean_lo);
    double dn = delta / n;
    double dn2 = dn * dn;
    double nanb = na * nb;
    double m2a = a->m2, m3a = a->m3, m4a = a->m4;

    mean_add(a, dn * nb);
    a->m2 = m2a + m2b + delta * dn * nanb;
    a->m3 = m3a + m3b + delta * dn2 * nanb * (na - nb) + 3.0 * dn * (na * m2b - nb * m2a);
    a->m4 = m4a + m4b + delta * dn2 * dn * nanb * (na * na - nanb + nb * nb) +
            6.0 * dn2 * (na * na * m2b + nb * nb * m2a) + 4.0 * dn * (na * m3b - nb * m3a);
    a->n += nb_u;
}

void assay_moments_merge(assay_moments *dst, const assay_moments *src)
{
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    merge_central(dst, src->n, src->mean, src->mean_lo, src->m2, src->m3, src->m4);
}

/* ------------------------------------------------------------------------------------ */
/* Batch: two passes over 8 independent lanes, then one merge                            */
/* ------------------------------------------------------------------------------------ */

#define LANES 8

/* Run-time dispatch to AVX2 / AVX-512 copies of the two passes (gcc and clang both
 * support target_clones on x86-64 with glibc's ifunc); other targets get one copy. */
#if defined(__x86_64__) && defined(__GNUC__) &&                                                    \
    (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 6)
#define BATCH_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BATCH_CLONES
#endif

struct pass1 {
    double k;        /* shift: the first finite value */
    double sum, cnt; /* sum of (x - k), count, over finite x */
    double min, max; /* over non-NaN x */
};

/* Finite test (|x| <= DBL_MAX is false for +-inf and NaN). */
static inline bool finite_v(double x)
{
    return fabs(x) <= DBL_MAX;
}

/* 8 lanes as GCC/clang generic vectors: one zmm with AVX-512, two ymm with AVX2, four
 * xmm with SSE2 or NEON. Comparisons give all-ones/all-zeros lanes of vlong, so
 * masking is bitwise and nothing branches. */
typedef double vdbl __attribute__((vector_size(LANES * 8)));
typedef int64_t vlong __attribute__((vector_size(LANES * 8)));

#define VSPLAT(v)                                                                                  \
    {                                                                                              \
        v, v, v, v, v, v, v, v                                                                     \
    }
#define VSELECT(mask, a, b) ((vdbl)(((vlong)(a) & (mask)) | ((vlong)(b) & ~(mask))))

/* Lane j of the vector tail: x[i + j] for i + j < n, NaN beyond (NaN is skipped by
 * both passes, so padding changes nothing). */
static void load_tail(const double *x, size_t i, size_t n, double out[LANES])
{
    for (size_t j = 0; j < LANES; j++)
        out[j] = i + j < n ? x[i + j] : NAN;
}

/* Pass 1: shifted sum, count, min, max over lanes that are independent, so nothing is
 * reassociated and the result is the same for every clone. */
BATCH_CLONES static void batch_pass1(const double *x, size_t n, struct pass1 *p)
{
    const vdbl k = VSPLAT(p->k), big = VSPLAT(DBL_MAX), one = VSPLAT(1.0);
    const vlong absmask = VSPLAT(INT64_MAX);
    vdbl s = VSPLAT(0.0), c = VSPLAT(0.0), mn = VSPLAT(INFINITY), mx = VSPLAT(-INFINITY);
    for (size_t i = 0; i < n; i += LANES) {
        vdbl v;
        if (ASSAY_LIKELY(i + LANES <= n)) {
            memcpy(&v, x + i, sizeof(v));
        } else {
            double t[LANES];
            load_tail(x, i, n, t);
            memcpy(&v, t, sizeof(v));
        }
        vlong ok = (vdbl)((vlong)v & absmask) <= big;
        s += (vdbl)((vlong)(v - k) & ok);
        c += (vdbl)((vlong)one & ok);
        mn = VSELECT(v < mn, v, mn);
        mx = VSELECT(v > mx, v, mx);
    }
    /* Fixed combination order. */
    double ss[LANES], cc[LANES], a[LANES], b[LANES];
    memcpy(ss, &s, sizeof(ss));
    memcpy(cc, &c, sizeof(cc));
    memcpy(a, &mn, sizeof(a));
    memcpy(b, &mx, sizeof(b));
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) {
            ss[j] += ss[j + w];
            cc[j] += cc[j + w];
            a[j] = a[j + w] < a[j] ? a[j + w] : a[j];
            b[j] = b[j + w] > b[j] ? b[j + w] : b[j];
        }
    p->sum = ss[0];
    p->cnt = cc[0];
    p->min = a[0];
    p->max = b[0];
}

/* Pass 2: S_p = sum over finite x of (x - mean)^p, p = 1..4, into out[0..4). */
BATCH_CLONES static void batch_pass2(const double *x, size_t n, double mean, double out[4])
{
    const vdbl mu = VSPLAT(mean), big = VSPLAT(DBL_MAX);
    const vlong absmask = VSPLAT(INT64_MAX);
    vdbl s1 = VSPLAT(0.0), s2 = s1, s3 = s1, s4 = s1;
    for (size_t i = 0; i < n; i += LANES) {
        vdbl v;
        if (ASSAY_LIKELY(i + LANES <= n)) {
            memcpy(&v, x + i, sizeof(v));
        } else {
            double t[LANES];
            load_tail(x, i, n, t);
            memcpy(&v, t, sizeof(v));
        }
        vlong ok = (vdbl)((vlong)v & absmask) <= big;
        vdbl d = (vdbl)((vlong)(v - mu) & ok);
        vdbl d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    double a1[LANES], a2[LANES], a3[LANES], a4[LANES];
    memcpy(a1, &s1, sizeof(a1));
    memcpy(a2, &s2, sizeof(a2));
    memcpy(a3, &s3, sizeof(a3));
    memcpy(a4, &s4, sizeof(a4));
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) {
            a1[j] += a1[j + w];
            a2[j] += a2[j + w];
            a3[j] += a3[j + w];
            a4[j] += a4[j + w];
        }
    out[0] = a1[0];
    out[1] = a2[0];
    out[2] = a3[0];
    out[3] = a4[0];
}

void assay_moments_add_batch(assay_moments *m, const double *x, size_t n)
{
    size_t first = 0;
    while (first < n && !finite_v(x[first]))
        first++;
    struct pass1 p = { .k = first < n ? x[first] : 0.0 };
    batch_pass1(x, n, &p);
    if (p.min < m->min)
        m->min = p.min;
    if (p.max > m->max)
        m->max = p.max;
    if (p.cnt == 0.0)
        return;

    double c = p.cnt;
    double mean0 = p.k + p.sum / c;
    double s[4];
    batch_pass2(x, n, mean0, s);
    double e = s[0] / c;
    double e2 = e * e;
    double m2 = s[1] - c * e2;
    double m3 = s[2] - 3.0 * e * s[1] + 2.0 * c * e2 * e;
    double m4 = s[3] - 4.0 * e * s[2] + 6.0 * e2 * s[1] - 3.0 * c * e2 * e2;
    if (m2 < 0.0) /* only by rounding, when all values are (nearly) equal */
        m2 = 0.0;
    if (m4 < 0.0)
        m4 = 0.0;
    double lo;
    double hi = two_sum(mean0, e, &lo); /* the batch mean as a double-double */
    merge_central(m, (uint64_t)c, hi, lo, m2, m3, m4);
}

/* ------------------------------------------------------------------------------------ */
/* Statistics                                                                            */
/* ------------------------------------------------------------------------------------ */

double assay_moments_variance(const assay_moments *m)
{
    if (m->n < 2)
        return NAN;
    return m->m2 / (double)(m->n - 1);
}

double assay_moments_stddev(const assay_moments *m)
{
    return sqrt(assay_moments_variance(m));
}

double assay_moments_skewness(const assay_moments *m)
{
    if (m->n < 3 || !(m->m2 > 0.0))
        return NAN;
    return sqrt((double)m->n) * m->m3 / (m->m2 * sqrt(m->m2));
}

double assay_moments_kurtosis(const assay_moments *m)
{
    if (m->n < 4 || !(m->m2 > 0.0))
        return NAN;
    return (double)m->n * m->m4 / (m->m2 * m->m2) - 3.0;
}

/* ------------------------------------------------------------------------------------ */
/* Serialization                                                                         */
/* ------------------------------------------------------------------------------------ */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(p, v);
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = get_u64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

int assay_moments_serialize(const assay_moments *m, uint8_t **buf, size_t *len)
{
    uint8_t *b = malloc(ASSAY_SKETCH_HEADER + MOMENTS_PAYLOAD);
    if (!b)
        return -ENOMEM;
    assay_sketch_header_write(b, ASSAY_SKETCH_MOMENTS, MOMENTS_VERSION, MOMENTS_PAYLOAD);
    uint8_t *p = b + ASSAY_SKETCH_HEADER;
    put_u64(p, m->n);
    put_f64(p + 8, m->mean);
    put_f64(p + 16, m->m2);
    put_f64(p + 24, m->m3);
    put_f64(p + 32, m->m4);
    put_f64(p + 40, m->min);
    put_f64(p + 48, m->max);
    put_f64(p + 56, m->mean_lo);
    *buf = b;
    *len = ASSAY_SKETCH_HEADER + MOMENTS_PAYLOAD;
    return 0;
}

int assay_moments_deserialize(const uint8_t *buf, size_t len, assay_moments *out, assay_error *err)
{
    const uint8_t *p;
    uint64_t plen;
    int rc =
        assay_sketch_header_check(buf, len, ASSAY_SKETCH_MOMENTS, MOMENTS_VERSION, &p, &plen, err);
    if (rc < 0)
        return assay_error_prefix(err, "moments");
    if (plen != MOMENTS_PAYLOAD)
        return assay_error_set(err, -EINVAL, "moments: payload is %llu bytes, expected %d",
                               (unsigned long long)plen, MOMENTS_PAYLOAD);
    assay_moments m;
    m.n = get_u64(p);
    m.mean = get_f64(p + 8);
    m.m2 = get_f64(p + 16);
    m.m3 = get_f64(p + 24);
    m.m4 = get_f64(p + 32);
    m.min = get_f64(p + 40);
    m.max = get_f64(p + 48);
    m.mean_lo = get_f64(p + 56);

    if (!isfinite(m.mean) || !isfinite(m.mean_lo) || !isfinite(m.m2) || !isfinite(m.m3) ||
        !isfinite(m.m4))
        return assay_error_set(err, -EINVAL, "moments: mean or M2..M4 is not finite");
    if (m.mean + m.mean_lo != m.mean)
        return assay_error_set(err, -EINVAL,
                               "moments: low part of the mean (%g) is not below half an ulp of "
                               "the mean (%g)",
                               m.mean_lo, m.mean);
    if (m.m2 < 0.0 || m.m4 < 0.0)
        return assay_error_set(err, -EINVAL, "moments: negative M2 (%g) or M4 (%g)", m.m2, m.m4);
    if (isnan(m.min) || isnan(m.max))
        return assay_error_set(err, -EINVAL, "moments: min or max is NaN");
    if (m.n == 0) {
        if (m.mean != 0.0 || m.mean_lo != 0.0 || m.m2 != 0.0 || m.m3 != 0.0 || m.m4 != 0.0)
            return assay_error_set(err, -EINVAL, "moments: n = 0 but mean or M2..M4 is not zero");
        if (isfinite(m.min) || isfinite(m.max))
            return assay_error_set(err, -EINVAL, "moments: n = 0 but min/max is a finite value");
    } else {
        if (m.n == 1 && (m.m2 != 0.0 || m.m3 != 0.0 || m.m4 != 0.0))
            return assay_error_set(err, -EINVAL, "moments: n = 1 but M2..M4 is not zero");
        if (m.min > m.max)
            return assay_error_set(err, -EINVAL, "moments: min %g > max %g with n = %llu", m.min,
                                   m.max, (unsigned long long)m.n);
        /* The mean lies in [min, max]; leave ample room for rounding. */
        double slack = 1e-9 * ASSAY_MAX(fabs(m.min), fabs(m.max));
        if (m.mean < m.min - slack || m.mean > m.max + slack)
            return assay_error_set(err, -EINVAL, "moments: mean %g outside [min %g, max %g]",
                                   m.mean, m.min, m.max);
    }
    *out = m;
    return 0;
}
