/* Row bitmaps: popcount, OR, AND-NOT and next-set-bit over 64-bit words. */
#include "assay/bitmap.h"

static inline uint64_t tail_mask(size_t nbits)
{
    size_t r = nbits & 63;
    return r ? (((uint64_t)1 << r) - 1) : ~(uint64_t)0;
}

uint64_t assay_bitmap_count(const uint64_t *bm, size_t nbits)
{
    size_t words = ASSAY_BITMAP_WORDS(nbits);
    uint64_t n = 0;
    if (words == 0)
        return 0;
    for (size_t i = 0; i + 1 < words; i++)
        n += (uint64_t)__builtin_popcountll(bm[i]);
    n += (uint64_t)__builtin_popcountll(bm[words - 1] & tail_mask(nbits));
    return n;
}

void assay_bitmap_or(uint64_t *dst, const uint64_t *src, size_t nbits)
{
    size_t words = ASSAY_BITMAP_WORDS(nbits);
    for (size_t i = 0; i < words; i++)
        dst[i] |= src[i];
}

void assay_bitmap_andnot(uint64_t *dst, const uint64_t *src, size_t nbits)
{
    size_t words = ASSAY_BITMAP_WORDS(nbits);
    for (size_t i = 0; i < words; i++)
        dst[i] &= ~src[i];
}

size_t assay_bitmap_next(const uint64_t *bm, size_t i, size_t nbits)
{
    while (i < nbits) {
        uint64_t w = bm[i >> 6] >> (i & 63);
        if (w) {
            size_t j = i + (size_t)__builtin_ctzll(w);
            return j < nbits ? j : nbits;
        }
        i = (i | 63) + 1;
    }
    return nbits;
}
