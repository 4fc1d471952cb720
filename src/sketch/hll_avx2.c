/*
 * hll_avx2.c - AVX2 twin of the dense HyperLogLog register merge (see hll.c).
 *
 * Dense registers are one byte each, so a merge is an unsigned byte-wise maximum:
 * VPMAXUB over 32 registers per instruction, four vectors (128 registers) per loop
 * turn so loads of dst and src overlap. The tail (n not a multiple of 32) is done
 * with the scalar rule. The result is identical to the scalar kernel by construction
 * (max is exact); tests/test_hll.c checks it on random lengths.
 *
 * Built only on x86-64, with -mavx2 (src/meson.build); called only when
 * assay_cpu_detect() reports AVX2.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

void assay_hll_merge_avx2(uint8_t *dst, const uint8_t *src, size_t n);

/* Unaligned 32-byte load/store (through void * so no alignment is implied). */
static inline __m256i ld(const uint8_t *p)
{
    return _mm256_loadu_si256((const void *)p);
}

static inline void st(uint8_t *p, __m256i v)
{
    _mm256_storeu_si256((void *)p, v);
}

void assay_hll_merge_avx2(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256i a0 = ld(dst + i);
        __m256i a1 = ld(dst + i + 32);
        __m256i a2 = ld(dst + i + 64);
        __m256i a3 = ld(dst + i + 96);
        __m256i b0 = ld(src + i);
        __m256i b1 = ld(src + i + 32);
        __m256i b2 = ld(src + i + 64);
        __m256i b3 = ld(src + i + 96);
        st(dst + i, _mm256_max_epu8(a0, b0));
        st(dst + i + 32, _mm256_max_epu8(a1, b1));
        st(dst + i + 64, _mm256_max_epu8(a2, b2));
        st(dst + i + 96, _mm256_max_epu8(a3, b3));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i a = ld(dst + i);
        __m256i b = ld(src + i);
        st(dst + i, _mm256_max_epu8(a, b));
    }
    for (; i < n; i++)
        dst[i] = src[i] > dst[i] ? src[i] : dst[i];
}
