/* SIMD level detection and the ASSAY_SIMD override (which may only lower it). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "assay/cpu.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int l = ASSAY_SIMD_SCALAR; l <= ASSAY_SIMD_AVX512; l++) {
        assay_simd_level got;
        assert_int_equal(assay_simd_parse(assay_simd_name((assay_simd_level)l), &got), 0);
        assert_int_equal(got, l);
    }
    assay_simd_level x;
    assert_int_equal(assay_simd_parse("avx1024", &x), -EINVAL);
}

static void test_override_lowers_only(void **state)
{
    (void)state;
    /* First call caches: set the override before it. */
    setenv("ASSAY_SIMD", "scalar", 1);
    assert_int_equal(assay_cpu_level(), ASSAY_SIMD_SCALAR);
    assert_true(assay_cpu_detect() >= ASSAY_SIMD_SCALAR);
#if defined(__x86_64__)
    /* every x86-64 CPU that runs CI has at least SSE4.2 */
    assert_true(assay_cpu_detect() >= ASSAY_SIMD_SSE42);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_override_lowers_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
