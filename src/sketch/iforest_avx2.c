/*
 * iforest_avx2.c - AVX2 twin of the isolation-forest scoring kernel (see iforest.c).
 *
 * The scalar kernel walks each flat tree with `k = left[k] + (x[feature[k]] > split[k])`
 * exactly l = ceil(log2 psi) times (external nodes point to themselves with split =
 * +inf). Here four rows take that step at once, in the lanes of 128-bit index vectors:
 * VPGATHERDD fetches left[k] and feature[k] (a 32-bit gather at 2k, masked to 16 bits;
 * the feature array carries two bytes of padding for the last node), VGATHERDPD fetches
 * split[k] and x[row * d + feature], VCMPPD (greater-than, ordered: false on NaN like
 * the scalar `>`) gives 0 / -1 per row, and left - mask is the child. Two groups of
 * four rows are interleaved so the gathers of one hide the latency of the other. After
 * the walk, path[k] is gathered, widened to double and added to each row's sum in tree
 * order - the same additions in the same order as the scalar kernel, so the scores are
 * bit-identical (tests/test_iforest.c checks it on random forests and rows).
 *
 * Built only on x86-64 with -mavx2 (src/meson.build); called only when
 * assay_cpu_detect() reports AVX2.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

void assay_iforest_score_avx2(const uint16_t *feature, const double *split, const uint32_t *left,
                              const float *path, unsigned trees, uint32_t stride, unsigned steps,
                              const double *x, size_t d, size_t n, double *acc);

/* One step for four rows: k -> child of k. */
static inline __m128i step4(__m128i k, __m128i rowoff, const uint16_t *fe, const double *sp,
                            const int *le, const double *x)
{
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m128i f = _mm_and_si128(_mm_i32gather_epi32((const int *)(const void *)fe, k, 2),
                              _mm_set1_epi32(0xffff));
    __m256d xv = _mm256_i32gather_pd(x, _mm_add_epi32(rowoff, f), 8);
    __m256d sv = _mm256_i32gather_pd(sp, k, 8);
    __m256d gt = _mm256_cmp_pd(xv, sv, _CMP_GT_OQ);
    __m128i gt32 =
        _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(gt), pick));
    __m128i l = _mm_i32gather_epi32(le, k, 4);
    return _mm_sub_epi32(l, gt32);
}

void assay_iforest_score_avx2(const uint16_t *feature, const double *split, const uint32_t *left,
                              const float *path, unsigned trees, uint32_t stride, unsigned steps,
                              const double *x, size_t d, size_t n, double *acc)
{
    for (size_t r = 0; r < n; r++)
        acc[r] = 0;
    const int di = (int)d;
    for (unsigned t = 0; t < trees; t++) {
        size_t base = (size_t)t * stride;
        const uint16_t *fe = feature + base;
        const double *sp = split + base;
        const int *le = (const int *)(const void *)(left + base);
        const float *pa = path + base;
        size_t r = 0;
        for (; r + 8 <= n; r += 8) {
            int r0 = (int)r * di;
            __m128i offa = _mm_setr_epi32(r0, r0 + di, r0 + 2 * di, r0 + 3 * di);
            __m128i offb = _mm_add_epi32(offa, _mm_set1_epi32(4 * di));
            __m128i ka = _mm_setzero_si128(), kb = _mm_setzero_si128();
            for (unsigned s = 0; s < steps; s++) {
                ka = step4(ka, offa, fe, sp, le, x);
                kb = step4(kb, offb, fe, sp, le, x);
            }
            __m256d pa4 = _mm256_cvtps_pd(_mm_i32gather_ps(pa, ka, 4));
            __m256d pb4 = _mm256_cvtps_pd(_mm_i32gather_ps(pa, kb, 4));
            _mm256_storeu_pd(acc + r, _mm256_add_pd(_mm256_loadu_pd(acc + r), pa4));
            _mm256_storeu_pd(acc + r + 4, _mm256_add_pd(_mm256_loadu_pd(acc + r + 4), pb4));
        }
        for (; r < n; r++) { /* the scalar rule for the tail */
            const double *x0 = x + r * d;
            uint32_t k0 = 0;
            for (unsigned s = 0; s < steps; s++)
                k0 = (uint32_t)le[k0] + (x0[fe[k0]] > sp[k0]);
            acc[r] += pa[k0];
        }
    }
}
