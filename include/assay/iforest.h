/*
 * assay/iforest.h - streaming isolation forest: one anomaly score per row, in one pass
 * (see src/sketch/iforest.c for the method, parameters and null handling).
 *
 * Rows are d doubles each, row-major. assay_iforest_process() scores each row with the
 * model as it stood before that row arrived, then learns from it (score-then-learn):
 * the result does not depend on how the stream is cut into batches. Until `window`
 * rows have arrived there is no model and scores are NaN ("not ready"), never a guess.
 * Deterministic for a given seed and row sequence. Not thread-safe: one forest per
 * shard (shared-nothing).
 */
#ifndef ASSAY_IFOREST_H
#define ASSAY_IFOREST_H

#include "assay/common.h"
#include "assay/cpu.h"

#define ASSAY_IFOREST_D_MAX         256 /* features per row */
#define ASSAY_IFOREST_TREES_MAX     4096
#define ASSAY_IFOREST_SAMPLE_MIN    2
#define ASSAY_IFOREST_SAMPLE_MAX    65536
#define ASSAY_IFOREST_WINDOW_MAX    (1u << 24)
#define ASSAY_IFOREST_SCORE_HISTORY 4096 /* recent scores kept for the threshold */

typedef struct assay_iforest assay_iforest;

typedef struct assay_iforest_options {
    size_t d;                /* features per row, 1..ASSAY_IFOREST_D_MAX */
    unsigned trees;          /* T (100) */
    unsigned sample;         /* psi: rows per tree (256) */
    size_t window;           /* sliding window of recent rows (2048), >= sample */
    size_t refresh;          /* regrow some trees every `refresh` rows (1000); 0 never */
    double refresh_fraction; /* share of the trees regrown per refresh, (0, 1] (0.1) */
    double contamination;    /* expected anomaly share for the threshold, (0, 0.5] (0.01) */
    uint64_t seed;           /* PRNG seed (0 is a valid seed) */
} assay_iforest_options;

/* Fill *o with the defaults above for d features. */
ASSAY_API void assay_iforest_options_default(assay_iforest_options *o, size_t d);

/* 0 when the options are in range, else -EINVAL with a message naming the anomaly.*
 * key in err (may be NULL). assay_iforest_new() checks the same. */
ASSAY_API int assay_iforest_options_check(const assay_iforest_options *o, assay_error *err);

/* New forest (no trees until `window` rows arrive). -EINVAL with a message in err (may
 * be NULL) when an option is out of range, -ENOMEM. */
ASSAY_API int assay_iforest_new(assay_iforest **out, const assay_iforest_options *o,
                                assay_error *err);
ASSAY_API void assay_iforest_free(assay_iforest *f);

/* Feed n rows (n*d doubles, row-major; NaN/inf = null) in order. scores[i] gets the
 * score of row i in (0, 1] (about 0.5 and below: normal; towards 1: anomalous) or NaN
 * while not ready. Bit i of flags (n bits; set or cleared) says whether row i scored
 * above the threshold in force when it was scored (see assay_iforest_flag_threshold).
 * scores and flags may be NULL. Returns 0 (all memory is taken at assay_iforest_new;
 * int kept for future failure modes). */
ASSAY_API int assay_iforest_process(assay_iforest *f, const double *rows, size_t n, double *scores,
                                    uint64_t *flags);

/* Score n rows with the current model without learning (NaN each when not ready),
 * using the kernel for `level` (lowered to what the CPU has; AVX2 and above use the
 * AVX2 gather kernel). Every level returns bit-identical scores; exposed so tests and
 * benchmarks compare levels. assay_iforest_process() uses the scalar kernel, the
 * faster one where measured (see iforest.c). */
ASSAY_API void assay_iforest_score(const assay_iforest *f, const double *rows, size_t n,
                                   double *scores, assay_simd_level level);

/* true once the first forest has been grown. */
ASSAY_API bool assay_iforest_ready(const assay_iforest *f);
/* Rows fed so far. */
ASSAY_API uint64_t assay_iforest_rows(const assay_iforest *f);

/* Score above which a row counts as anomalous: the (1 - contamination) quantile of the
 * last ASSAY_IFOREST_SCORE_HISTORY ready scores (exact, nearest rank). -EAGAIN while
 * fewer than 1/contamination ready scores (at least 100) have been seen. */
ASSAY_API int assay_iforest_threshold(const assay_iforest *f, double *out);

/* The threshold rows are flagged against: assay_iforest_threshold() as it was at the
 * last multiple of 1024 ready scores (so flags do not depend on batch cuts). Rows are
 * flagged only once one exists; -EAGAIN before. */
ASSAY_API int assay_iforest_flag_threshold(const assay_iforest *f, double *out);
/* Rows scored while a flag threshold was in force (the rows flags can be set on). */
ASSAY_API uint64_t assay_iforest_judged(const assay_iforest *f);

/* The whole forest - options, trees, sliding window, PRNG, score history and
 * threshold - in the assay/sketch.h serialized form, so a restored forest scores and
 * learns exactly as the original would have (checkpoints). *buf is malloc'd. The
 * deserializer checks sizes and every tree link before anything uses them. */
ASSAY_API int assay_iforest_serialize(const assay_iforest *f, uint8_t **buf, size_t *len);
ASSAY_API int assay_iforest_deserialize(const uint8_t *buf, size_t len, assay_iforest **out,
                                        assay_error *err);

/* Average unsuccessful-search path length of a BST of n points (Liu et al. 2008, eq. 1):
 * c(n) = 2H(n-1) - 2(n-1)/n, H(i) ~ ln(i) + 0.5772156649; c(2) = 1, c(n <= 1) = 0. */
ASSAY_API double assay_iforest_c(double n);

/* Read-only view of one tree's flat arrays (for tests and tools). Node 0 is the root.
 * An internal node k has feature[k] and split[k]; a row goes to child left[k] when
 * x[feature] <= split, else left[k] + 1. An external node k has left[k] == k (it points
 * to itself, split = +inf, so a fixed number of steps lands on it and stays) and
 * path[k] = depth + c(size[k]). */
typedef struct assay_iforest_tree_view {
    uint32_t nodes;
    const uint16_t *feature;
    const double *split;
    const uint32_t *left;
    const uint32_t *size;
    const float *path;
} assay_iforest_tree_view;

ASSAY_API unsigned assay_iforest_trees(const assay_iforest *f);
/* ceil(log2 sample): the height limit of every tree (Liu et al. 2008, Algorithm 1). */
ASSAY_API unsigned assay_iforest_height_limit(const assay_iforest *f);
/* -EAGAIN before the first forest, -EINVAL for t >= trees. */
ASSAY_API int assay_iforest_tree(const assay_iforest *f, unsigned t, assay_iforest_tree_view *v);

#endif
