/*
 * assay/moments.h - streaming count, mean, M2, M3, M4, min, max with the pairwise
 * update and merge formulas of Pebay (2008) (see src/sketch/moments.c).
 */
#ifndef ASSAY_MOMENTS_H
#define ASSAY_MOMENTS_H

#include "assay/common.h"

typedef struct assay_moments {
    uint64_t n;
    double mean, m2, m3, m4;
    double min, max; /* +inf / -inf when n == 0 */
} assay_moments;

ASSAY_API void assay_moments_init(assay_moments *m);
/* NaN values are skipped by the caller's contract: pass only finite or infinite values;
 * NaN is ignored here too. */
ASSAY_API void assay_moments_add(assay_moments *m, double x);
/* Batch: computes the batch's own moments (two-pass over the batch, exact and stable)
 * and merges them, which is faster and more accurate than n single adds. */
ASSAY_API void assay_moments_add_batch(assay_moments *m, const double *x, size_t n);
ASSAY_API void assay_moments_merge(assay_moments *dst, const assay_moments *src);

ASSAY_API double assay_moments_variance(const assay_moments *m); /* sample (n - 1); NaN if n < 2 */
ASSAY_API double assay_moments_stddev(const assay_moments *m);
ASSAY_API double assay_moments_skewness(const assay_moments *m); /* g1; NaN if n < 3 or var 0 */
ASSAY_API double
assay_moments_kurtosis(const assay_moments *m); /* excess g2; NaN if n < 4 or var 0 */

ASSAY_API int assay_moments_serialize(const assay_moments *m, uint8_t **buf, size_t *len);
ASSAY_API int assay_moments_deserialize(const uint8_t *buf, size_t len, assay_moments *out,
                                        assay_error *err);

#endif
