/*
 * drift.h - how far a window's distribution of a column moved from its baseline: the
 * population stability index and the Kolmogorov-Smirnov / total variation distance,
 * computed from the sketches (src/alert/drift.c explains the choices).
 */
#ifndef ASSAY_DRIFT_H
#define ASSAY_DRIFT_H

#include "assay/tdigest.h"
#include "assay/topk.h"

/* Every bin share is floored at this before PSI's logarithm, then the shares are
 * renormalised to sum to 1, so an empty bin costs a large but finite amount. */
#define ASSAY_DRIFT_EPSILON 1e-4
/* Categorical bins: at most this many of the baseline's top values, plus "other". */
#define ASSAY_DRIFT_TOP_VALUES 20
/* Numeric KS grid: each digest's quantiles at steps of 1 / ASSAY_DRIFT_KS_STEPS. */
#define ASSAY_DRIFT_KS_STEPS 200

typedef struct assay_drift {
    double psi;    /* population stability index, sum over bins of (c - b) * ln(c / b) */
    double ks;     /* numeric: max |F_cur - F_base|; categorical: 0.5 * sum |c - b| */
    uint32_t bins; /* bins PSI was summed over */
    /* The bin with the largest PSI term, for the explanation: its label and its shares
     * of the baseline and of the current window (as measured, before the flooring). */
    char top_label[96];
    double top_base, top_cur;
} assay_drift;

/* Numeric: bins are the baseline's deciles (edges = baseline quantiles 0.1 .. 0.9, with
 * repeated edges merged, so fewer bins when the baseline has repeated values, and such a
 * repeated value given a bin of its own); shares from the digests' CDFs; KS over the
 * union of both digests' quantile grids. Labels "< hi", "[lo, hi)", ">= lo", and around
 * a repeated value v: "= v", "(v, hi)", "> v". The digests are flushed (hence not const)
 * but otherwise unchanged. -EINVAL when an argument is NULL or either digest is empty
 * (NaNs do not count: shares are over the non-NaN values). */
int assay_drift_numeric(assay_tdigest *base, assay_tdigest *cur, assay_drift *out);

/* Categorical: bins are the baseline's most frequent values (at most
 * ASSAY_DRIFT_TOP_VALUES) plus "other" (everything else, in either sketch); shares over
 * each sketch's total. Labels are the value in single quotes, or "other". -EINVAL when
 * an argument is NULL or either sketch is empty, -ENOMEM when the lookup table for cur's
 * values cannot be allocated. */
int assay_drift_categorical(const assay_topk *base, const assay_topk *cur, assay_drift *out);

#endif
