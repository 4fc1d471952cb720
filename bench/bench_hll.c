/* HyperLogLog: add (single and batch) in dense form, add in sparse form, register
 * merge per SIMD level, sketch merge and estimate. Items are values added, registers
 * merged, or estimates; Google Benchmark prints items/s (ns per item = 1e9 / that). */
#include <stdlib.h>
#include <string.h>

#include "assay/hll.h"
#include "bench.h"

#define NVALS (1u << 20)

static uint64_t *vals;

static void make_vals(void)
{
    if (vals)
        return;
    vals = malloc(NVALS * sizeof(*vals));
    for (uint32_t i = 0; i < NVALS; i++)
        vals[i] = bench_mix64(0x1234567ull + i);
}

/* A dense sketch of precision p holding all of vals. */
static assay_hll *dense_sketch(unsigned p, uint64_t salt)
{
    make_vals();
    assay_hll *h = NULL;
    if (assay_hll_new(&h, p))
        abort();
    for (uint32_t i = 0; i < NVALS; i++)
        assay_hll_add(h, vals[i] ^ salt);
    return h;
}

ASSAY_BENCH_ARGS(hll_add_dense_single, 14, 18)
{
    unsigned p = (unsigned)assay_bench_arg(s, 0);
    assay_hll *h = dense_sketch(p, 0);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        for (uint32_t i = 0; i < NVALS; i++)
            assay_hll_add(h, vals[i] * 3);
        items += NVALS;
    }
    assay_bench_keep(h);
    assay_bench_set_items(s, items);
    assay_hll_free(h);
}

ASSAY_BENCH_ARGS(hll_add_dense_batch, 14, 18)
{
    unsigned p = (unsigned)assay_bench_arg(s, 0);
    assay_hll *h = dense_sketch(p, 0);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        assay_hll_add_batch(h, vals, NVALS);
        items += NVALS;
    }
    assay_bench_keep(h);
    assay_bench_set_items(s, items);
    assay_hll_free(h);
}

/* Fresh p = 14 sketch per iteration, ARG distinct values: it stays sparse (limit
 * 4096 entries), so this is batch, radix sort and merge into the sorted array. */
ASSAY_BENCH_ARGS(hll_add_sparse, 100, 1000, 4000)
{
    make_vals();
    uint32_t n = (uint32_t)assay_bench_arg(s, 0);
    int64_t items = 0;
    uint32_t off = 0;
    while (assay_bench_next(s)) {
        assay_hll *h = NULL;
        if (assay_hll_new(&h, 14))
            abort();
        for (uint32_t i = 0; i < n; i++)
            assay_hll_add(h, vals[off + i]);
        assay_bench_keep(h);
        if (!assay_hll_is_sparse(h))
            abort();
        assay_hll_free(h);
        off = (off + n) % (NVALS - n);
        items += n;
    }
    assay_bench_set_items(s, items);
}

static void merge_level(assay_bench_state *s, assay_simd_level level)
{
    unsigned p = (unsigned)assay_bench_arg(s, 0);
    if (level > assay_cpu_detect()) {
        assay_bench_label(s, "skipped: CPU lacks this level");
        while (assay_bench_next(s)) {
        }
        return;
    }
    size_t m = (size_t)1 << p;
    uint8_t *a = malloc(m), *b = malloc(m);
    for (size_t i = 0; i < m; i++) {
        a[i] = (uint8_t)(bench_mix64(i) % 20);
        b[i] = (uint8_t)(bench_mix64(i + m) % 20);
    }
    int64_t items = 0;
    while (assay_bench_next(s)) {
        assay_hll_merge_registers(a, b, m, level);
        assay_bench_keep(a);
        items += (int64_t)m;
    }
    assay_bench_set_items(s, items);
    assay_bench_set_bytes(s, items);
    assay_bench_label(s, assay_simd_name(level));
    free(a);
    free(b);
}

ASSAY_BENCH_ARGS(hll_merge_registers_scalar, 14, 18)
{
    merge_level(s, ASSAY_SIMD_SCALAR);
}

ASSAY_BENCH_ARGS(hll_merge_registers_avx2, 14, 18)
{
    merge_level(s, ASSAY_SIMD_AVX2);
}

ASSAY_BENCH_ARGS(hll_merge_registers_avx512, 14, 18)
{
    merge_level(s, ASSAY_SIMD_AVX512);
}

/* Whole-sketch merge through the API (dense into dense, level from assay_cpu_level). */
ASSAY_BENCH_ARGS(hll_merge_dense, 14)
{
    unsigned p = (unsigned)assay_bench_arg(s, 0);
    assay_hll *a = dense_sketch(p, 0), *b = dense_sketch(p, 0x5555);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        assay_hll_merge(a, b);
        items++;
    }
    assay_bench_set_items(s, items);
    assay_bench_label(s, assay_simd_name(assay_cpu_level()));
    assay_hll_free(a);
    assay_hll_free(b);
}

ASSAY_BENCH_ARGS(hll_estimate_dense, 14, 18)
{
    unsigned p = (unsigned)assay_bench_arg(s, 0);
    assay_hll *h = dense_sketch(p, 0);
    int64_t items = 0;
    double acc = 0;
    while (assay_bench_next(s)) {
        acc += assay_hll_estimate(h);
        items++;
    }
    assay_bench_keep(&acc);
    assay_bench_set_items(s, items);
    assay_hll_free(h);
}

/* Sparse estimate: 900 values, 768 merged into the sorted array and 132 still in the
 * pending batch (which the estimate sorts and merges on the fly). */
ASSAY_BENCH(hll_estimate_sparse)
{
    make_vals();
    assay_hll *h = NULL;
    if (assay_hll_new(&h, 14))
        abort();
    for (uint32_t i = 0; i < 900; i++)
        assay_hll_add(h, vals[i]);
    int64_t items = 0;
    double acc = 0;
    while (assay_bench_next(s)) {
        acc += assay_hll_estimate(h);
        items++;
    }
    assay_bench_keep(&acc);
    assay_bench_set_items(s, items);
    assay_hll_free(h);
}
