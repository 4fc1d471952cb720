/* Hashing and the hash set: assay_hash_bytes (XXH3-64 with assay's seed) per value at
 * several input sizes, and inserting 1M random keys into a set presized for them,
 * in batches (assay_hashset_insert_batch, the prefetching path `unique` uses) or one
 * key per call. The set is built and freed with the clock paused, so the inserts
 * include first touch of the table's (huge) pages, as in a real run. Google Benchmark
 * prints items/s; "ns/value" / "ns/insert" are this thread's CPU time per item (like
 * Google Benchmark's CPU column, so other load on the machine does not inflate them). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/hashset.h"
#include "bench.h"

#define NHASH 4096       /* distinct inputs per hash benchmark (<= 1 MiB: cache-resident) */
#define NKEYS (1u << 20) /* keys per hash-set insert benchmark */

/* Argument: input length in bytes. NHASH back-to-back inputs of that length. */
ASSAY_BENCH_ARGS(hash_bytes, 8, 16, 32, 64, 256)
{
    size_t len = (size_t)assay_bench_arg(s, 0);
    uint64_t *buf = malloc(NHASH * len);
    if (!buf)
        abort();
    for (size_t i = 0; i < NHASH * len / 8; i++)
        buf[i] = bench_mix64(0x4a54 + i);
    const char *p = (const char *)buf;
    int64_t items = 0;
    uint64_t sink = 0;
    double t0 = bench_cpu_ns();
    while (assay_bench_next(s)) {
        for (size_t i = 0; i < NHASH; i++)
            sink ^= assay_hash_bytes(p + i * len, len);
        items += NHASH;
    }
    double ns = bench_cpu_ns() - t0;
    assay_bench_keep(&sink);
    assay_bench_set_items(s, items);
    assay_bench_set_bytes(s, items * (int64_t)len);
    if (items)
        assay_bench_counter(s, "ns/value", ns / (double)items);
    free(buf);
}

/* Argument: keys per call (1 = assay_hashset_insert per key). */
ASSAY_BENCH_ARGS(hashset_insert_presized, 1, 4096, NKEYS)
{
    size_t per_call = (size_t)assay_bench_arg(s, 0);
    uint64_t *keys = malloc(NKEYS * sizeof(*keys));
    uint64_t *vals = malloc(NKEYS * sizeof(*vals));
    int8_t *res = malloc(per_call);
    if (!keys || !vals || !res)
        abort();
    for (uint32_t i = 0; i < NKEYS; i++) {
        keys[i] = bench_mix64(0x5e75e7 + i);
        vals[i] = i;
    }
    int64_t items = 0;
    double ns = 0;
    while (assay_bench_next(s)) {
        assay_bench_pause(s);
        assay_hashset *set = NULL;
        if (assay_hashset_new(&set, NKEYS, 0))
            abort();
        assay_bench_resume(s);
        double t0 = bench_cpu_ns();
        if (per_call == 1) {
            for (size_t i = 0; i < NKEYS; i++)
                if (assay_hashset_insert(set, keys[i], vals[i], NULL) != 1)
                    abort();
        } else {
            for (size_t i = 0; i < NKEYS; i += per_call)
                if (assay_hashset_insert_batch(set, keys + i, vals + i, per_call, res) !=
                    (int64_t)per_call)
                    abort();
        }
        ns += bench_cpu_ns() - t0;
        assay_bench_pause(s);
        if (assay_hashset_size(set) != NKEYS)
            abort();
        assay_hashset_free(set);
        assay_bench_resume(s);
        items += NKEYS;
    }
    assay_bench_set_items(s, items);
    if (items)
        assay_bench_counter(s, "ns/insert", ns / (double)items);
    free(keys);
    free(vals);
    free(res);
}
