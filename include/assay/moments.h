/*
 * assay/moments.h - streaming count, mean, M2, M3, M4, min, max with the pairwise
 * update and merge formulas of Pebay (2008) (see src/sketch/moments.c).
 */
#ifndef ASSAY_MOMENTS_H
#define ASSAY_MOMENTS_H

#include "assay/common.h"

/* n counts the finite values; mean and M2..M4 (central sums) describe them. min/max
 * cover every non-NaN value, so they show +-inf when the column holds infinities
 * (and are +inf / -inf when nothing was seen). mean_lo is the low-order part of the
 * mean (mean + mean_lo, a double-double), which keeps updates exact to ~1e-13 on data
 * with a large offset (1e9 + N(0,1)); read `mean`. */
typedef struct assay_moments {
    uint64_t n;
    double mean, m2, m3, m4;
    double min, max; /* +inf / -inf when n == 0 */
    double mean_lo;  /* |mean_lo| <= ulp(mean) / 2 */
} assay_moments;

ASSAY_API void assay_moments_init(assay_moments *m);
/* NaN is ignored; +-inf only moves min/max (see src/sketch/moments.c). */
ASSAY_API void assay_moments_add(assay_moments *m, double x);
/* Batch: computes the batch's own moments (two-pass over the batch, exact and stable)
 * and merges them, which is faster and more accurate than n single adds. */
ASSAY_API void assay_moments_add_batch(assay_moments *m, const double *x, size_t n);
ASSAY_API void assay_moments_merge(assay_moments *dst, const assay_moments *src);

/* Estimators: variance M2 / (n - 1) (sample, unbiased); skewness g1 = sqrt(n) M3 /
 * M2^1.5 and excess kurtosis g2 = n M4 / M2^2 - 3 (the plain moment estimators, not
 * the small-sample-adjusted G1/G2). */
ASSAY_API double assay_moments_variance(const assay_moments *m); /* NaN if n < 2 */
ASSAY_API double assay_moments_stddev(const assay_moments *m);
ASSAY_API double assay_moments_skewness(const assay_moments *m); /* NaN if n < 3 or M2 = 0 */
ASSAY_API double assay_moments_kurtosis(const assay_moments *m); /* NaN if n < 4 or M2 = 0 */

ASSAY_API int assay_moments_serialize(const assay_moments *m, uint8_t **buf, size_t *len);
ASSAY_API int assay_moments_deserialize(const uint8_t *buf, size_t len, assay_moments *out,
                                        assay_error *err);

#endif
