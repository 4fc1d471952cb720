/* Bitmaps against a bool-array reference on random inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"

static uint64_t rng(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void test_against_reference(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = rng(&seed) % 700;
        size_t words = ASSAY_BITMAP_WORDS(n) + 1;
        uint64_t *a = calloc(words, 8), *b = calloc(words, 8);
        bool *ra = calloc(n + 1, 1), *rb = calloc(n + 1, 1);
        unsigned density = (unsigned)(rng(&seed) % 100);
        for (size_t i = 0; i < n; i++) {
            if (rng(&seed) % 100 < density)
                assay_bit_set(a, i), ra[i] = true;
            if (rng(&seed) % 100 < density)
                assay_bit_set(b, i), rb[i] = true;
        }
        /* garbage past n must be ignored by count */
        a[words - 1] |= 0;
        uint64_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += ra[i];
        assert_int_equal(assay_bitmap_count(a, n), cnt);
        size_t i = assay_bitmap_next(a, 0, n);
        for (size_t k = 0; k < n; k++) {
            if (ra[k]) {
                assert_int_equal(i, k);
                i = assay_bitmap_next(a, k + 1, n);
            }
        }
        assert_int_equal(i, n);
        uint64_t *c = calloc(words, 8);
        memcpy(c, a, words * 8);
        assay_bitmap_or(c, b, n);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(assay_bit_get(c, k), ra[k] || rb[k]);
        memcpy(c, a, words * 8);
        assay_bitmap_andnot(c, b, n);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(assay_bit_get(c, k), ra[k] && !rb[k]);
        free(a), free(b), free(c), free(ra), free(rb);
    }
}

static void test_count_ignores_tail(void **state)
{
    (void)state;
    uint64_t w[2] = { ~0ull, ~0ull };
    assert_int_equal(assay_bitmap_count(w, 70), 70);
    assert_int_equal(assay_bitmap_count(w, 64), 64);
    assert_int_equal(assay_bitmap_count(w, 1), 1);
    assert_int_equal(assay_bitmap_count(w, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_count_ignores_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
