/*
 * assay/tdigest.h - merging t-digest for quantiles and CDF (see src/sketch/tdigest.c).
 */
#ifndef ASSAY_TDIGEST_H
#define ASSAY_TDIGEST_H

#include "assay/common.h"

#define ASSAY_TDIGEST_DELTA_DEFAULT 100.0

typedef struct assay_tdigest assay_tdigest;

/* compression delta in [10, 10000]; -EINVAL outside. */
ASSAY_API int assay_tdigest_new(assay_tdigest **out, double delta);
ASSAY_API void assay_tdigest_free(assay_tdigest *t);
/* Empty the digest, keeping its memory and delta, for reuse. */
ASSAY_API void assay_tdigest_reset(assay_tdigest *t);

/* Add one value / n values (buffered; merged in sorted batches). NaN is counted
 * separately and not inserted; +-inf are inserted (they sort to the ends). Memory grows
 * with the values held, up to the bound of the delta; -ENOMEM when it cannot (the values
 * not taken are not counted). */
ASSAY_API int assay_tdigest_add(assay_tdigest *t, double x);
ASSAY_API int assay_tdigest_add_batch(assay_tdigest *t, const double *x, size_t n);

/* dst absorbs src (src unchanged, its buffered values included). -EINVAL when deltas
 * differ or dst == src; -ENOMEM when a temporary run cannot be allocated. */
ASSAY_API int assay_tdigest_merge(assay_tdigest *dst, const assay_tdigest *src);

/* Values inserted (NaN excluded), and NaNs seen. */
ASSAY_API uint64_t assay_tdigest_count(const assay_tdigest *t);
ASSAY_API uint64_t assay_tdigest_nan_count(const assay_tdigest *t);
ASSAY_API double assay_tdigest_min(const assay_tdigest *t);
ASSAY_API double assay_tdigest_max(const assay_tdigest *t);

/* Value at quantile q in [0, 1] (NaN when empty or q outside [0, 1]; quantile(0) = min and
 * quantile(1) = max exactly); estimated fraction of values <= x (NaN when empty or x is
 * NaN; at a repeated value x it returns the middle of x's rank range). Both first fold
 * pending buffered values into the centroids (hence the non-const digest), so the same
 * sequence of calls always gives the same answers. */
ASSAY_API double assay_tdigest_quantile(assay_tdigest *t, double q);
ASSAY_API double assay_tdigest_cdf(assay_tdigest *t, double x);

/* Estimated number of values strictly below / strictly above x (0 when empty, NaN when x
 * is NaN): a value equal to x counts in neither, so a fence at a repeated value does not
 * split the repeats. Exact at and beyond min and max. */
ASSAY_API double assay_tdigest_count_below(assay_tdigest *t, double x);
ASSAY_API double assay_tdigest_count_above(assay_tdigest *t, double x);

/* Fold buffered values into the centroids now. -ENOMEM (nothing changes) when the
 * centroids cannot grow; queries then answer NaN, as they do on their own flush. */
ASSAY_API int assay_tdigest_flush(assay_tdigest *t);

/* Number of centroids (after a flush). */
ASSAY_API size_t assay_tdigest_centroids(assay_tdigest *t);

/* The summary (version 3: buffered values folded in first, so t changes): centroids with
 * their spreads, count, min, max - what quantile queries need. Version 1 summaries are
 * still read. */
ASSAY_API int assay_tdigest_serialize(assay_tdigest *t, uint8_t **buf, size_t *len);
ASSAY_API int assay_tdigest_deserialize(const uint8_t *buf, size_t len, assay_tdigest **out,
                                        assay_error *err);

/* The exact state (version 4, for checkpoints): the same plus the buffered values, the
 * merge-pass parity and purity flags, written without touching t, so the restored
 * digest answers and evolves exactly like the original would have. Version 2 states are
 * still read. */
ASSAY_API int assay_tdigest_save(const assay_tdigest *t, uint8_t **buf, size_t *len);
ASSAY_API int assay_tdigest_restore(const uint8_t *buf, size_t len, assay_tdigest **out,
                                    assay_error *err);

#endif
