/*
 * Run-time SIMD dispatch. The CPU is asked once (CPUID through
 * __builtin_cpu_supports); ASSAY_SIMD may lower the level so tests and benchmarks can
 * run every kernel on one machine. On non-x86 builds everything is scalar.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "assay/cpu.h"

static const char *const level_names[] = { "scalar", "sse42", "avx2", "avx512" };

assay_simd_level assay_cpu_detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul"))
        return ASSAY_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") &&
        __builtin_cpu_supports("pclmul"))
        return ASSAY_SIMD_AVX2;
    if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt"))
        return ASSAY_SIMD_SSE42;
#endif
    return ASSAY_SIMD_SCALAR;
}

int assay_simd_parse(const char *name, assay_simd_level *out)
{
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (assay_simd_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *assay_simd_name(assay_simd_level level)
{
    if ((unsigned)level < ASSAY_ARRAY_LEN(level_names))
        return level_names[level];
    return "unknown";
}

assay_simd_level assay_cpu_level(void)
{
    /* Relaxed is enough: every thread computes the same value, so a race only
     * repeats the work. -1 means "not yet computed". */
    static _Atomic int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v >= 0)
        return (assay_simd_level)v;
    assay_simd_level level = assay_cpu_detect();
    const char *env = getenv("ASSAY_SIMD");
    assay_simd_level want;
    if (env && *env && assay_simd_parse(env, &want) == 0 && want < level)
        level = want;
    atomic_store_explicit(&cached, (int)level, memory_order_relaxed);
    return level;
}
