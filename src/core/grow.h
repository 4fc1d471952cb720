/*
 * grow.h - room for one more element in a doubling array.
 *
 * The engine keeps many small per-chunk and per-window arrays (partials, clean runs,
 * quarantined rows, unique keys, windows) that start empty and grow by doubling, so
 * appending n elements costs O(n) copies in all. ASSAY_RESERVE(arr, n, cap, first)
 * makes sure arr has a free slot at index n: when n == cap it reallocates to `first`
 * elements (an empty array) or twice cap. It evaluates to 0, or -ENOMEM with arr and
 * cap unchanged, so a caller can stop and report without losing what it holds.
 */
#ifndef ASSAY_GROW_H
#define ASSAY_GROW_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

/* The capacity for `need` elements of a doubling array that has `cap`: cap (or `first`
 * when empty) doubled until it holds them, at most `max` (callers keep need <= max).
 * For arrays that grow by more than one element at a time; ASSAY_RESERVE below is the
 * one-more-slot case. */
static inline size_t assay_grow_cap(size_t cap, size_t need, size_t first, size_t max)
{
    size_t c = cap ? cap : first;
    while (c < need)
        c *= 2;
    return c < max ? c : max;
}

#define ASSAY_RESERVE(arr, n, cap, first)                                                          \
    ({                                                                                             \
        int reserve_rc_ = 0;                                                                       \
        if ((n) == (cap)) {                                                                        \
            __typeof__(cap) reserve_cap_ = (cap) ? 2 * (cap) : (first);                            \
            void *reserve_p_ = realloc((arr), (size_t)reserve_cap_ * sizeof(*(arr)));              \
            if (reserve_p_) {                                                                      \
                (arr) = reserve_p_;                                                                \
                (cap) = reserve_cap_;                                                              \
            } else {                                                                               \
                reserve_rc_ = -ENOMEM;                                                             \
            }                                                                                      \
        }                                                                                          \
        reserve_rc_;                                                                               \
    })

#endif
