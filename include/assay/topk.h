/*
 * assay/topk.h - frequent values by Space-Saving (Metwally, Agrawal, El Abbadi 2005),
 * exact while a column has at most k distinct values (see src/sketch/topk.c).
 */
#ifndef ASSAY_TOPK_H
#define ASSAY_TOPK_H

#include "assay/common.h"

typedef struct assay_topk assay_topk;

typedef struct assay_topk_item {
    const char *value; /* owned by the sketch; valid until the next add/merge/free */
    uint32_t len;
    uint64_t count; /* estimated count (an upper bound: true count >= count - error) */
    uint64_t error; /* over-estimation bound; 0 = exact */
} assay_topk_item;

/* k counters (>= 1). Values longer than max_value_len bytes are stored truncated (and
 * counted as that prefix); default use: k = 64, max_value_len = 256. */
ASSAY_API int assay_topk_new(assay_topk **out, uint32_t k, uint32_t max_value_len);
ASSAY_API void assay_topk_free(assay_topk *t);
/* Forget every value, keeping the memory, for reuse. */
ASSAY_API void assay_topk_reset(assay_topk *t);

/* Count one occurrence of value (hash = assay_hash_bytes of it, passed in because the
 * caller usually has it already). Memory grows with the values held (up to k slots of
 * max_value_len bytes); -ENOMEM when it cannot, and the occurrence is not counted. */
ASSAY_API int assay_topk_add(assay_topk *t, const char *value, uint32_t len, uint64_t hash);

/* Count w occurrences at once (weighted Space-Saving: the same algorithm with counts
 * advanced by w; the bounds hold with N the total weight). */
ASSAY_API int assay_topk_add_weighted(assay_topk *t, const char *value, uint32_t len, uint64_t hash,
                                      uint64_t w);

/* dst absorbs src (the mergeable summaries of Agarwal et al. 2012 for Space-Saving:
 * add counts, keep the k largest; errors add). */
ASSAY_API int assay_topk_merge(assay_topk *dst, const assay_topk *src);

/* dst absorbs the exact counts of a block of values summarized as its most frequent
 * items (distinct values with exact counts, error 0; hashes from assay_hash_bytes),
 * floor = the largest count among the values left out (0: items lists every value of
 * the block) and total = every occurrence in the block. This is the same merge with a
 * summary whose unmonitored values are bounded by floor, so the guarantees hold.
 * floor > 0 needs a full, inexact dst or at least k items (-EINVAL otherwise). */
ASSAY_API int assay_topk_absorb(assay_topk *dst, const assay_topk_item *items,
                                const uint64_t *hashes, size_t n, uint64_t floor, uint64_t total);

/* The most an unmonitored value can have occurred: 0 while exact, else the minimum
 * counter. A listed value is certainly more frequent than every value not listed when
 * count - error > floor. */
ASSAY_API uint64_t assay_topk_floor(const assay_topk *t);

/* Total occurrences counted, and whether every count is exact (never more than k
 * distinct values were seen). */
ASSAY_API uint64_t assay_topk_total(const assay_topk *t);
ASSAY_API bool assay_topk_exact(const assay_topk *t);
/* Distinct values tracked (<= k). */
ASSAY_API uint32_t assay_topk_size(const assay_topk *t);

/* The n most frequent, by count descending, ties by value bytes ascending (so the
 * output is deterministic); returns how many were written (<= n). */
ASSAY_API size_t assay_topk_list(const assay_topk *t, assay_topk_item *out, size_t n);

ASSAY_API int assay_topk_serialize(const assay_topk *t, uint8_t **buf, size_t *len);
ASSAY_API int assay_topk_deserialize(const uint8_t *buf, size_t len, assay_topk **out,
                                     assay_error *err);

#endif
