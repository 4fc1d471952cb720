/*
 * assay/cpu.h - run-time choice of SIMD kernels.
 *
 * Every vector kernel has a scalar twin. The level is read once from CPUID
 * (__builtin_cpu_supports) and may be lowered, never raised above what the CPU has,
 * by the environment variable ASSAY_SIMD=scalar|sse42|avx2|avx512, which tests and
 * benchmarks use to run each kernel on the same machine.
 */
#ifndef ASSAY_CPU_H
#define ASSAY_CPU_H

#include "assay/common.h"

typedef enum assay_simd_level {
    ASSAY_SIMD_SCALAR = 0,
    ASSAY_SIMD_SSE42 = 1,
    ASSAY_SIMD_AVX2 = 2,   /* AVX2 + BMI2 + PCLMUL */
    ASSAY_SIMD_AVX512 = 3, /* AVX-512 F/BW/VL/DQ + BMI2 + PCLMUL */
} assay_simd_level;

/* Highest level this CPU supports (ignores ASSAY_SIMD). */
ASSAY_API assay_simd_level assay_cpu_detect(void);

/* Level kernels should use: detect() lowered by ASSAY_SIMD when set. Cached after the
 * first call; safe to call from any thread. */
ASSAY_API assay_simd_level assay_cpu_level(void);

/* "scalar", "sse42", "avx2", "avx512". */
ASSAY_API const char *assay_simd_name(assay_simd_level level);

/* Parse a level name; returns 0 or -EINVAL. */
ASSAY_API int assay_simd_parse(const char *name, assay_simd_level *out);

#endif
