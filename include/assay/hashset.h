/*
 * assay/hashset.h - set of 64-bit hashes (XXH3 of a value) with one 64-bit payload
 * each (assay stores the position of the first occurrence), for `unique`,
 * `foreign_key` and duplicate-row counting. Open addressing, linear probing, load
 * factor <= 1/2. A memory cap bounds it: an insert that would grow past the cap
 * returns -ENOSPC and the caller reports it; it never runs the process out of memory.
 */
#ifndef ASSAY_HASHSET_H
#define ASSAY_HASHSET_H

#include "assay/common.h"

typedef struct assay_hashset assay_hashset;

/* mem_cap: bytes the table may occupy (0 = no cap). */
ASSAY_API int assay_hashset_new(assay_hashset **out, size_t initial_cap, size_t mem_cap);
ASSAY_API void assay_hashset_free(assay_hashset *s);

/* Insert key with payload val. Returns 1 when new, 0 when the key was there (its
 * payload is then set to min(old, val) and the old one stored in *old when non-NULL),
 * -ENOSPC when the cap stops the table from growing (key not inserted). */
ASSAY_API int assay_hashset_insert(assay_hashset *s, uint64_t key, uint64_t val, uint64_t *old);

/* Batched insert of n keys: res[i] gets what insert() would return for key i,
 * processed in order (so a key repeated inside the batch is new only once). Prefetches
 * ahead. A full table (cap reached) still finds the keys it holds: res is 0 for those
 * and -ENOSPC only for new keys it cannot take. Returns the number of new keys. */
ASSAY_API int64_t assay_hashset_insert_batch(assay_hashset *s, const uint64_t *keys,
                                             const uint64_t *vals, size_t n, int8_t *res);

ASSAY_API bool assay_hashset_contains(const assay_hashset *s, uint64_t key);

/* Payload of key into *val; false when the key is absent. */
ASSAY_API bool assay_hashset_get(const assay_hashset *s, uint64_t key, uint64_t *val);

/* Walk the keys in table order: start with *cursor = 0; returns false at the end.
 * A key 0 comes back as 1 (see the essay). Table order is close to hash order, so
 * walking one set while probing another of similar size touches both sequentially. */
ASSAY_API bool assay_hashset_next(const assay_hashset *s, size_t *cursor, uint64_t *key,
                                  uint64_t *val);
ASSAY_API size_t assay_hashset_size(const assay_hashset *s);
ASSAY_API size_t assay_hashset_memory(const assay_hashset *s);

/* Merge src into dst. For a key in both, on_both(ctx, key, dst_val, src_val) is called
 * and dst keeps the smaller payload. Returns the number of keys found in both, or
 * -ENOSPC when the cap stops dst from growing. */
typedef void (*assay_hashset_both_fn)(void *ctx, uint64_t key, uint64_t dst_val, uint64_t src_val);
ASSAY_API int64_t assay_hashset_merge(assay_hashset *dst, const assay_hashset *src,
                                      assay_hashset_both_fn on_both, void *ctx);

/* Hash of a value as the rules use it: XXH3-64 with assay's fixed seed. */
ASSAY_API uint64_t assay_hash_bytes(const void *p, size_t len);

#endif
