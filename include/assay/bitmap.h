/*
 * assay/bitmap.h - row bitmaps. Bit i of word i/64 is row i of a batch.
 * Rules fill failure bitmaps; counts are popcounts; a row's verdict is an OR.
 */
#ifndef ASSAY_BITMAP_H
#define ASSAY_BITMAP_H

#include "assay/common.h"

#define ASSAY_BITMAP_WORDS(nbits) (((nbits) + 63) / 64)

static inline void assay_bit_set(uint64_t *bm, size_t i)
{
    bm[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline void assay_bit_clear(uint64_t *bm, size_t i)
{
    bm[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

static inline bool assay_bit_get(const uint64_t *bm, size_t i)
{
    return (bm[i >> 6] >> (i & 63)) & 1;
}

/* Number of set bits among the first nbits. */
ASSAY_API uint64_t assay_bitmap_count(const uint64_t *bm, size_t nbits);

/* dst |= src over nbits. */
ASSAY_API void assay_bitmap_or(uint64_t *dst, const uint64_t *src, size_t nbits);

/* dst &= ~src over nbits. */
ASSAY_API void assay_bitmap_andnot(uint64_t *dst, const uint64_t *src, size_t nbits);

/* Index of the next set bit at or after i, or nbits when none. */
ASSAY_API size_t assay_bitmap_next(const uint64_t *bm, size_t i, size_t nbits);

#endif
