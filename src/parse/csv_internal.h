/*
 * csv_internal.h - private prototypes of the CSV structural-index kernels.
 *
 * Every kernel implements assay_csv_index_fn (see include/assay/csv.h) and must
 * produce, for the same input, exactly what the scalar twin produces: the same
 * separator offsets, the same *consumed, *nlines and *in_quote. The SIMD kernels are
 * compiled in separate objects with their own -m flags (src/meson.build) and exist
 * only on x86-64; assay_csv_index_kernel() in csv.c picks one at run time.
 *
 * Contract shared by all kernels (beyond the public one):
 *   - input is processed in 64-byte blocks; before each block the kernel checks that
 *     at least 64 slots remain in seps, otherwise it stops with *consumed at that
 *     block boundary (so a block's separators are never split across calls);
 *   - the last block may be short (len need not be a multiple of 64); no byte at or
 *     beyond buf[len] is ever read;
 *   - seps[n..cap) may be overwritten with scratch values;
 *   - *nlines is incremented (not set) by the number of '\n' bytes scanned.
 */
#ifndef ASSAY_CSV_INTERNAL_H
#define ASSAY_CSV_INTERNAL_H

#include "assay/csv.h"

#define ASSAY_CSV_BLOCK 64

size_t assay_csv_index_scalar(const char *buf, size_t len, char delim, char quote,
                              uint64_t *in_quote, uint32_t *seps, size_t cap, size_t *consumed,
                              uint32_t *nlines);

#if defined(__x86_64__)
size_t assay_csv_index_avx2(const char *buf, size_t len, char delim, char quote, uint64_t *in_quote,
                            uint32_t *seps, size_t cap, size_t *consumed, uint32_t *nlines);
size_t assay_csv_index_avx512(const char *buf, size_t len, char delim, char quote,
                              uint64_t *in_quote, uint32_t *seps, size_t cap, size_t *consumed,
                              uint32_t *nlines);
#endif

#endif
