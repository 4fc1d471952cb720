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
#include <stdlib.h>

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
