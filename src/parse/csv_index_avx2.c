/*
 * csv_index_avx2.c - CSV structural index, 64 bytes at a time with AVX2 + PCLMUL.
 *
 * Method (Langdale & Lemire, "Parsing Gigabytes of JSON per Second", VLDB Journal
 * 28(6), 2019, section 3.1, and the simdcsv write-up that applies it to CSV):
 *
 *   1. Load a 64-byte block as two 32-byte vectors and compare every byte with the
 *      quote, the delimiter and '\n'; VPMOVMSKB turns each comparison into a 32-bit
 *      mask, two of which make a 64-bit mask per class: Q, D, N.
 *
 *   2. In-quote mask. Bit i of the mask is the parity of the quotes at positions
 *      0..i (the XOR of Q's bits up to and including i). That prefix XOR is the
 *      carry-less product of Q with the all-ones word:
 *
 *          prefix_xor(Q) = low 64 bits of CLMUL(Q, 0xFFFF...FFFF)
 *
 *      because the carry-less product sums (XOR) Q shifted left by 0, 1, ..., 63.
 *      The state carried from the previous block (0 or all-ones) is XORed in, and
 *      the new carry is the top bit of the result broadcast to all 64 bits (an
 *      arithmetic shift right by 63).
 *
 *          bytes:   a , " b , " " c " , d \n
 *          Q:       0 0 1 0 0 1 1 0 1 0 0 0
 *          inquote: 0 0 1 1 1 0 1 1 0 0 0 0
 *          D|N:     0 1 0 0 1 0 0 0 0 1 0 1
 *          seps:    0 1 0 0 0 0 0 0 0 1 0 1
 *
 *      A doubled quote is two flips and needs no special case.
 *
 *   3. Separators S = (D | N) & ~inquote. Flatten S into offsets: count = popcount(S);
 *      write tzcnt(S) + base eight at a time, clearing the lowest bit (BLSR) after
 *      each, without testing for the end (the caller guarantees 64 free slots, so
 *      the extra writes land in scratch slots) - Lemire's branch-light decoder from
 *      the same paper (section 3.1, "stage 1 ... flatten"). Then set bit 31 on the
 *      newline entries: for each bit b of S & N its slot is popcount(S below b).
 *      Newlines are rare next to delimiters, so this costs less than testing every
 *      separator.
 *
 * The tail (len not a multiple of 64) is copied into a zeroed 64-byte stack block
 * and its masks are cut to the valid bytes, so no byte past buf[len] is read.
 *
 * Output is identical to csv_index_scalar.c (tests/test_csv_simd.c checks this on
 * random inputs, and the fuzz target at every level).
 */
#include <immintrin.h>
#include <string.h>

#include "parse/csv_internal.h"

static inline uint64_t eq_mask(__m256i lo, __m256i hi, __m256i c)
{
    uint32_t a = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c));
    uint32_t b = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c));
    return (uint64_t)a | ((uint64_t)b << 32);
}

static inline uint64_t prefix_xor(uint64_t x)
{
    __m128i v = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8(-1), 0);
    return (uint64_t)_mm_cvtsi128_si64(v);
}

/* Write the offsets of S's set bits (plus base) to out; returns how many. May write
 * up to 64 slots. nls = S & N marks the newline entries. */
static inline size_t flatten(uint32_t *out, uint64_t s, uint64_t nls, uint32_t base)
{
    const uint64_t all = s;
    size_t cnt = (size_t)_mm_popcnt_u64(s);
    for (int j = 0; j < 8; j++) {
        out[j] = base + (uint32_t)_tzcnt_u64(s);
        s = _blsr_u64(s);
    }
    if (ASSAY_UNLIKELY(cnt > 8)) {
        for (int j = 8; j < 16; j++) {
            out[j] = base + (uint32_t)_tzcnt_u64(s);
            s = _blsr_u64(s);
        }
        for (size_t j = 16; j < cnt; j++) {
            out[j] = base + (uint32_t)_tzcnt_u64(s);
            s = _blsr_u64(s);
        }
    }
    while (nls) {
        size_t slot = (size_t)_mm_popcnt_u64(all & _blsmsk_u64(nls)) - 1;
        out[slot] |= ASSAY_CSV_SEP_NEWLINE;
        nls = _blsr_u64(nls);
    }
    return cnt;
}

size_t assay_csv_index_avx2(const char *buf, size_t len, char delim, char quote, uint64_t *in_quote,
                            uint32_t *seps, size_t cap, size_t *consumed, uint32_t *nlines)
{
    const __m256i vq = _mm256_set1_epi8(quote);
    const __m256i vd = _mm256_set1_epi8(delim);
    const __m256i vn = _mm256_set1_epi8('\n');
    uint64_t carry = *in_quote;
    uint32_t nl = 0;
    size_t n = 0, i = 0;

    for (; i + ASSAY_CSV_BLOCK <= len; i += ASSAY_CSV_BLOCK) {
        if (cap - n < ASSAY_CSV_BLOCK)
            goto out;
        __m256i lo = _mm256_loadu_si256((const void *)(buf + i));
        __m256i hi = _mm256_loadu_si256((const void *)(buf + i + 32));
        uint64_t q = eq_mask(lo, hi, vq);
        uint64_t d = eq_mask(lo, hi, vd);
        uint64_t nm = eq_mask(lo, hi, vn);
        uint64_t inq = prefix_xor(q) ^ carry;
        carry = (uint64_t)((int64_t)inq >> 63);
        uint64_t s = (d | nm) & ~inq;
        nl += (uint32_t)_mm_popcnt_u64(nm);
        n += flatten(seps + n, s, s & nm, (uint32_t)i);
    }
    if (i < len && cap - n >= ASSAY_CSV_BLOCK) {
        size_t rest = len - i;
        uint8_t tmp[ASSAY_CSV_BLOCK] __attribute__((aligned(32)));
        memset(tmp, 0, sizeof(tmp));
        memcpy(tmp, buf + i, rest);
        uint64_t valid = ((uint64_t)1 << rest) - 1; /* rest < 64 */
        __m256i lo = _mm256_load_si256((const void *)tmp);
        __m256i hi = _mm256_load_si256((const void *)(tmp + 32));
        uint64_t q = eq_mask(lo, hi, vq) & valid;
        uint64_t d = eq_mask(lo, hi, vd) & valid;
        uint64_t nm = eq_mask(lo, hi, vn) & valid;
        uint64_t inq = prefix_xor(q) ^ carry;
        carry = (uint64_t)((int64_t)inq >> 63);
        uint64_t s = (d | nm) & ~inq & valid;
        nl += (uint32_t)_mm_popcnt_u64(nm);
        n += flatten(seps + n, s, s & nm, (uint32_t)i);
        i = len;
    }
out:
    *consumed = i;
    *nlines += nl;
    *in_quote = carry;
    return n;
}
