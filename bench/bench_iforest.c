/* Streaming isolation forest: scoring throughput with T = 100, psi = 256 on 6 features
 * (goal: 2 M rows/s per core), read-only scoring (assay_iforest_score) per SIMD level and
 * the whole stream step (assay_iforest_process with the default options: score, flag,
 * window, 10 % of the trees regrown every 1000 rows). Items are rows; Google Benchmark prints
 * rows/s. */
#include <math.h>
#include <stdlib.h>

#include "assay/iforest.h"
#include "bench.h"

#define D     6
#define NROWS (1u << 16)

/* Standard normal by Box-Muller from two hashed counters. */
static double gauss(uint64_t i)
{
    double u1 = ((double)(bench_splitmix64(2 * i) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (double)(bench_splitmix64(2 * i + 1) >> 11) * 0x1.0p-53;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static double *make_rows(void)
{
    double *rows = malloc((size_t)NROWS * D * sizeof(*rows));
    if (!rows)
        abort();
    for (size_t i = 0; i < (size_t)NROWS * D; i++)
        rows[i] = gauss(i) * (double)(1 + i % D);
    return rows;
}

static assay_iforest *ready_forest(const double *rows)
{
    assay_iforest_options o;
    assay_iforest_options_default(&o, D);
    o.seed = 42;
    assay_iforest *f = NULL;
    if (assay_iforest_new(&f, &o, NULL) || assay_iforest_process(f, rows, o.window, NULL, NULL))
        abort();
    return f;
}

ASSAY_BENCH_ARGS(iforest_score, ASSAY_SIMD_SCALAR, ASSAY_SIMD_AVX2)
{
    assay_simd_level level = (assay_simd_level)assay_bench_arg(s, 0);
    double *rows = make_rows();
    double *scores = malloc(NROWS * sizeof(*scores));
    assay_iforest *f = ready_forest(rows);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        assay_iforest_score(f, rows, NROWS, scores, level);
        items += NROWS;
    }
    assay_bench_keep(scores);
    assay_bench_set_items(s, items);
    assay_bench_label(s, assay_simd_name(level));
    assay_iforest_free(f);
    free(scores);
    free(rows);
}

ASSAY_BENCH(iforest_process)
{
    double *rows = make_rows();
    double *scores = malloc(NROWS * sizeof(*scores));
    assay_iforest *f = ready_forest(rows);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        if (assay_iforest_process(f, rows, NROWS, scores, NULL))
            abort();
        items += NROWS;
    }
    assay_bench_keep(scores);
    assay_bench_set_items(s, items);
    assay_iforest_free(f);
    free(scores);
    free(rows);
}
