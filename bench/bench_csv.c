/* CSV framing: the structural-index kernel and the full parse, per SIMD level. */
#include <stdlib.h>
#include <string.h>

#include "assay/csv.h"
#include "assay/gen.h"
#include "bench.h"

#define ROWS 200000

static char *data;
static size_t len;

static void make_data(void)
{
    if (data)
        return;
    assay_gen_options o;
    assay_gen_options_default(&o);
    size_t cap = (size_t)ROWS * 400;
    data = malloc(cap);
    uint64_t done = 0;
    len = assay_gen_rows(&o, 0, ROWS, data, cap, &done);
}

static void index_level(assay_bench_state *s, assay_simd_level level)
{
    make_data();
    if (level > assay_cpu_detect()) {
        assay_bench_label(s, "skipped: CPU lacks this level");
        while (assay_bench_next(s)) {
        }
        return;
    }
    assay_csv_index_fn fn = assay_csv_index_kernel(level);
    static uint32_t seps[4096];
    int64_t bytes = 0;
    while (assay_bench_next(s)) {
        uint64_t inq = 0;
        size_t pos = 0;
        while (pos < len) {
            size_t consumed = 0;
            uint32_t nl = 0;
            fn(data + pos, len - pos, ',', '"', &inq, seps, 4096, &consumed, &nl);
            pos += consumed ? consumed : len - pos;
        }
        bytes += (int64_t)len;
    }
    assay_bench_set_bytes(s, bytes);
    assay_bench_label(s, assay_simd_name(level));
}

static void parse_level(assay_bench_state *s, assay_simd_level level)
{
    make_data();
    if (level > assay_cpu_detect()) {
        assay_bench_label(s, "skipped: CPU lacks this level");
        while (assay_bench_next(s)) {
        }
        return;
    }
    assay_csv_options o;
    assay_csv_options_default(&o);
    uint8_t want[10] = { 1, 0, 1, 1, 1, 0, 0, 1, 0, 0 }; /* 5 of 10 columns */
    assay_rowset rs;
    assay_rowset_init(&rs, 10, want, 4096, 256);
    int64_t bytes = 0, rows = 0;
    while (assay_bench_next(s)) {
        assay_cursor cur = { .buf = data, .len = len, .pos = 0, .ord = 0 };
        while (cur.pos < cur.len) {
            rs.nrows = rs.nbad = rs.nlines = 0;
            assay_csv_parse_level(&o, &cur, &rs, level);
            rows += rs.nrows;
        }
        bytes += (int64_t)len;
    }
    assay_rowset_free(&rs);
    assay_bench_set_bytes(s, bytes);
    assay_bench_set_items(s, rows);
    assay_bench_label(s, assay_simd_name(level));
}

ASSAY_BENCH(csv_index_scalar)
{
    index_level(s, ASSAY_SIMD_SCALAR);
}

ASSAY_BENCH(csv_index_avx2)
{
    index_level(s, ASSAY_SIMD_AVX2);
}

ASSAY_BENCH(csv_index_avx512)
{
    index_level(s, ASSAY_SIMD_AVX512);
}

ASSAY_BENCH(csv_parse_scalar)
{
    parse_level(s, ASSAY_SIMD_SCALAR);
}

ASSAY_BENCH(csv_parse_avx2)
{
    parse_level(s, ASSAY_SIMD_AVX2);
}

ASSAY_BENCH(csv_parse_avx512)
{
    parse_level(s, ASSAY_SIMD_AVX512);
}
