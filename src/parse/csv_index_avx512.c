/*
 * csv_index_avx512.c - CSV structural index, 64 bytes at a time with AVX-512.
 *
 * The same method as csv_index_avx2.c (Langdale & Lemire, "Parsing Gigabytes of JSON
 * per Second", VLDB Journal 28(6), 2019, section 3.1; the simdcsv write-up), with
 * what AVX-512 adds:
 *
 *   - one 64-byte load per block, and VPCMPEQB straight into a 64-bit mask register
 *     for each byte class (quote Q, delimiter D, newline N): no movemask shuffling;
 *   - the tail is read with a masked load (_mm512_maskz_loadu_epi8), which does not
 *     touch, and cannot fault on, the masked-off bytes past buf[len];
 *   - flattening without a bit loop: the separator mask S = (D | N) & ~inquote is cut
 *     into four 16-bit pieces; for each, a vector of the 16 byte offsets (base + 0..15,
 *     with bit 31 ORed in under the newline mask) is compressed by the piece of S
 *     (VPCOMPRESSD into a register, then a plain 64-byte store, which is much faster
 *     than a compress-to-memory) and the output pointer advances by popcount. The
 *     caller guarantees 64 free slots, so the full-width stores stay in bounds.
 *
 * The in-quote mask is the prefix XOR of Q, computed as the carry-less product of Q
 * and all-ones (PCLMULQDQ), XORed with the carry from the previous block; the new
 * carry is its top bit broadcast (arithmetic shift by 63). See csv_index_avx2.c for a
 * worked example.
 *
 * Output is identical to csv_index_scalar.c (tests/test_csv_simd.c checks this on
 * random inputs, and the fuzz target at every level).
 */
#include <immintrin.h>

#include "parse/csv_internal.h"

static inline uint64_t prefix_xor(uint64_t x)
{
    __m128i v = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8(-1), 0);
    return (uint64_t)_mm_cvtsi128_si64(v);
}

static inline size_t flatten(uint32_t *out, uint64_t s, uint64_t nm, uint32_t base)
{
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i nlbit = _mm512_set1_epi32((int)ASSAY_CSV_SEP_NEWLINE);
    uint32_t *o = out;
    for (int g = 0; g < 4; g++) {
        __mmask16 sm = (__mmask16)(s >> (16 * g));
        __mmask16 nmm = (__mmask16)(nm >> (16 * g));
        __m512i idx = _mm512_add_epi32(_mm512_set1_epi32((int)(base + 16u * (uint32_t)g)), iota);
        idx = _mm512_mask_or_epi32(idx, nmm, idx, nlbit);
        _mm512_storeu_si512((void *)o, _mm512_maskz_compress_epi32(sm, idx));
        o += _mm_popcnt_u32(sm);
    }
    return (size_t)(o - out);
}

static inline size_t block(const __m512i v, uint64_t valid, __m512i vq, __m512i vd, __m512i vn,
                           uint64_t *carry, uint32_t *nl, uint32_t *out, uint32_t base)
{
    uint64_t q = _mm512_mask_cmpeq_epi8_mask(valid, v, vq);
    uint64_t d = _mm512_mask_cmpeq_epi8_mask(valid, v, vd);
    uint64_t nm = _mm512_mask_cmpeq_epi8_mask(valid, v, vn);
    uint64_t inq = prefix_xor(q) ^ *carry;
    *carry = (uint64_t)((int64_t)inq >> 63);
    uint64_t s = (d | nm) & ~inq;
    *nl += (uint32_t)_mm_popcnt_u64(nm);
    if (!s)
        return 0;
    return flatten(out, s, nm & s, base);
}

size_t assay_csv_index_avx512(const char *buf, size_t len, char delim, char quote,
                              uint64_t *in_quote, uint32_t *seps, size_t cap, size_t *consumed,
                              uint32_t *nlines)
{
    const __m512i vq = _mm512_set1_epi8(quote);
    const __m512i vd = _mm512_set1_epi8(delim);
    const __m512i vn = _mm512_set1_epi8('\n');
    uint64_t carry = *in_quote;
    uint32_t nl = 0;
    size_t n = 0, i = 0;

    for (; i + ASSAY_CSV_BLOCK <= len; i += ASSAY_CSV_BLOCK) {
        if (cap - n < ASSAY_CSV_BLOCK)
            goto out;
        __m512i v = _mm512_loadu_si512((const void *)(buf + i));
        n += block(v, ~(uint64_t)0, vq, vd, vn, &carry, &nl, seps + n, (uint32_t)i);
    }
    if (i < len && cap - n >= ASSAY_CSV_BLOCK) {
        uint64_t valid = ((uint64_t)1 << (len - i)) - 1; /* len - i < 64 */
        __m512i v = _mm512_maskz_loadu_epi8(valid, (const void *)(buf + i));
        n += block(v, valid, vq, vd, vn, &carry, &nl, seps + n, (uint32_t)i);
        i = len;
    }
out:
    *consumed = i;
    *nlines += nl;
    *in_quote = carry;
    return n;
}
