/*
 * hll_avx512.c - AVX-512 twin of the dense HyperLogLog register merge (see hll.c).
 *
 * VPMAXUB on 64 one-byte registers per instruction (AVX-512BW), two vectors per loop
 * turn; the tail (n not a multiple of 64) uses a byte mask (_bzhi of the remaining
 * count) on a masked load and store, so no byte past dst[n) or src[n) is touched.
 * The result is identical to the scalar kernel by construction (max is exact).
 *
 * Built only on x86-64, with -mavx512f/bw/vl/dq and -mbmi2 (src/meson.build); called
 * only when assay_cpu_detect() reports AVX-512.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

void assay_hll_merge_avx512(uint8_t *dst, const uint8_t *src, size_t n);

void assay_hll_merge_avx512(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m512i a0 = _mm512_loadu_si512((const void *)(dst + i));
        __m512i a1 = _mm512_loadu_si512((const void *)(dst + i + 64));
        __m512i b0 = _mm512_loadu_si512((const void *)(src + i));
        __m512i b1 = _mm512_loadu_si512((const void *)(src + i + 64));
        _mm512_storeu_si512((void *)(dst + i), _mm512_max_epu8(a0, b0));
        _mm512_storeu_si512((void *)(dst + i + 64), _mm512_max_epu8(a1, b1));
    }
    for (; i + 64 <= n; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(dst + i));
        __m512i b = _mm512_loadu_si512((const void *)(src + i));
        _mm512_storeu_si512((void *)(dst + i), _mm512_max_epu8(a, b));
    }
    if (i < n) {
        __mmask64 k = (__mmask64)_bzhi_u64(~0ull, (unsigned)(n - i));
        __m512i a = _mm512_maskz_loadu_epi8(k, dst + i);
        __m512i b = _mm512_maskz_loadu_epi8(k, src + i);
        _mm512_mask_storeu_epi8(dst + i, k, _mm512_max_epu8(a, b));
    }
}
