/* t-digest (delta 100): amortized insert cost, single and batched; quantile and CDF
 * queries; merging two digests. */
#include <stdlib.h>

#include "assay/tdigest.h"
#include "bench.h"

#define NVAL (1 << 20)

static double *vals;

static void make_values(void)
{
    if (vals)
        return;
    vals = malloc(NVAL * sizeof(double));
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < NVAL; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        vals[i] = (double)(s >> 11) * 0x1.0p-53 * 1000.0;
    }
}

/* add() one value at a time; the digest is flushed inside the timing (amortized). */
ASSAY_BENCH(tdigest_add_single)
{
    make_values();
    assay_tdigest *t;
    assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        for (size_t i = 0; i < NVAL; i++)
            assay_tdigest_add(t, vals[i]);
        assay_tdigest_flush(t);
        items += NVAL;
    }
    assay_bench_set_items(s, items);
    assay_tdigest_free(t);
}

ASSAY_BENCH(tdigest_add_batch)
{
    make_values();
    assay_tdigest *t;
    assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT);
    int64_t items = 0;
    while (assay_bench_next(s)) {
        for (size_t i = 0; i < NVAL; i += 4096)
            assay_tdigest_add_batch(t, vals + i, 4096);
        assay_tdigest_flush(t);
        items += NVAL;
    }
    assay_bench_set_items(s, items);
    assay_tdigest_free(t);
}

static assay_tdigest *full_digest(void)
{
    make_values();
    assay_tdigest *t;
    assay_tdigest_new(&t, ASSAY_TDIGEST_DELTA_DEFAULT);
    assay_tdigest_add_batch(t, vals, NVAL);
    assay_tdigest_flush(t);
    return t;
}

ASSAY_BENCH(tdigest_quantile)
{
    assay_tdigest *t = full_digest();
    int64_t items = 0;
    double acc = 0;
    while (assay_bench_next(s)) {
        for (int i = 0; i < 1024; i++)
            acc += assay_tdigest_quantile(t, (i + 0.5) / 1024.0);
        items += 1024;
    }
    assay_bench_keep(&acc);
    assay_bench_set_items(s, items);
    assay_tdigest_free(t);
}

ASSAY_BENCH(tdigest_cdf)
{
    assay_tdigest *t = full_digest();
    int64_t items = 0;
    double acc = 0;
    while (assay_bench_next(s)) {
        for (int i = 0; i < 1024; i++)
            acc += assay_tdigest_cdf(t, i * (1000.0 / 1024.0));
        items += 1024;
    }
    assay_bench_keep(&acc);
    assay_bench_set_items(s, items);
    assay_tdigest_free(t);
}

/* dst absorbs a flushed src of the same size, again and again (an aggregator merging
 * shard digests); dst's centroid count stays bounded, so every merge costs the same. */
ASSAY_BENCH(tdigest_merge)
{
    assay_tdigest *dst = full_digest(), *src = full_digest();
    int64_t items = 0;
    while (assay_bench_next(s)) {
        assay_tdigest_merge(dst, src);
        items++;
    }
    assay_bench_counter(s, "centroids", (double)assay_tdigest_centroids(src));
    assay_bench_set_items(s, items);
    assay_tdigest_free(dst);
    assay_tdigest_free(src);
}
