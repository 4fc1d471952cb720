/*
 * assay/hll.h - HyperLogLog distinct counting (see src/sketch/hll.c for the method,
 * estimator and error bound). Values are added as 64-bit hashes (assay_hash_bytes,
 * XXH3), so one column's sketch from several shards or instances merges exactly.
 */
#ifndef ASSAY_HLL_H
#define ASSAY_HLL_H

#include "assay/common.h"
#include "assay/cpu.h"

#define ASSAY_HLL_P_MIN     4
#define ASSAY_HLL_P_MAX     18
#define ASSAY_HLL_P_DEFAULT 14

typedef struct assay_hll assay_hll;

/* New empty sketch with 2^p registers (starts sparse). -EINVAL outside [4, 18]. */
ASSAY_API int assay_hll_new(assay_hll **out, unsigned p);
ASSAY_API void assay_hll_free(assay_hll *h);
ASSAY_API unsigned assay_hll_precision(const assay_hll *h);
/* Empty the sketch, keeping its memory, for reuse; dense: start in the dense form
 * (no sparse phase: cheaper when many values are expected). -ENOMEM when the registers
 * cannot be allocated (the sketch is then empty and sparse). */
ASSAY_API int assay_hll_reset(assay_hll *h, bool dense);

/* Add one hash / n hashes. The m registers are allocated when the sketch turns dense,
 * so a sketch of few values stays small; -ENOMEM when memory for a growing sketch cannot
 * be had (the hashes not taken are not counted; the sketch stays valid). */
ASSAY_API int assay_hll_add(assay_hll *h, uint64_t hash);
ASSAY_API int assay_hll_add_batch(assay_hll *h, const uint64_t *hashes, size_t n);

/* dst = dst U src (register-wise max). -EINVAL when precisions differ, -ENOMEM when dst
 * cannot grow. The result is
 * the sketch of the union: identical registers whatever the order of merges. */
ASSAY_API int assay_hll_merge(assay_hll *dst, const assay_hll *src);

/* Cardinality estimate. */
ASSAY_API double assay_hll_estimate(const assay_hll *h);

/* true while the sketch is in its sparse (exact for small counts) form. */
ASSAY_API bool assay_hll_is_sparse(const assay_hll *h);

/* Serialized form (assay/sketch.h header + payload); *buf is malloc'd. */
ASSAY_API int assay_hll_serialize(const assay_hll *h, uint8_t **buf, size_t *len);
ASSAY_API int assay_hll_deserialize(const uint8_t *buf, size_t len, assay_hll **out,
                                    assay_error *err);

/* Dense register merge kernel at a given SIMD level (dst[i] = max(dst[i], src[i]) over
 * n one-byte registers); exposed so tests compare levels. */
ASSAY_API void assay_hll_merge_registers(uint8_t *dst, const uint8_t *src, size_t n,
                                         assay_simd_level level);

#endif
