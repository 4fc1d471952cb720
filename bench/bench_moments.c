/* Moments and top-k: cost per value of the streaming updates.
 *
 *   moments_add          assay_moments_add, one value at a time (N(5,2) data)
 *   moments_add_batch/B  assay_moments_add_batch over batches of B values
 *   topk_add_lowcard     Space-Saving k = 64 on 20 distinct short strings (exact mode)
 *   topk_add_zipf        k = 64 on Zipf(1.1) over 1M distinct strings (takeovers)
 *
 * The caller's hash is precomputed (the engine has it already), so top-k times are the
 * sketch's own work. "ns/value" is wall time per value over the timed loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/hashset.h"
#include "assay/moments.h"
#include "assay/topk.h"
#include "bench.h"

#define NVAL (1 << 16)

static uint64_t rng = 0x853c49e6748fea9bull;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return ((double)(rnd() >> 11) + 0.5) / 9007199254740992.0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double *normals(void)
{
    static double *x;
    if (!x) {
        x = malloc(NVAL * sizeof(double));
        for (int i = 0; i < NVAL; i++)
            x[i] = 5.0 + 2.0 * sqrt(-2.0 * log(unif())) * cos(6.283185307179586 * unif());
    }
    return x;
}

ASSAY_BENCH(moments_add)
{
    const double *x = normals();
    assay_moments m;
    assay_moments_init(&m);
    int64_t items = 0;
    double t0 = now_ns();
    while (assay_bench_next(s)) {
        for (int i = 0; i < NVAL; i++)
            assay_moments_add(&m, x[i]);
        items += NVAL;
    }
    double t1 = now_ns();
    assay_bench_keep(&m);
    assay_bench_set_items(s, items);
    assay_bench_counter(s, "ns/value", items ? (t1 - t0) / (double)items : 0);
}

ASSAY_BENCH_ARGS(moments_add_batch, 64, 1024, 4096, 65536)
{
    const double *x = normals();
    size_t b = (size_t)assay_bench_arg(s, 0);
    assay_moments m;
    assay_moments_init(&m);
    int64_t items = 0;
    double t0 = now_ns();
    while (assay_bench_next(s)) {
        for (size_t i = 0; i < NVAL; i += b)
            assay_moments_add_batch(&m, x + i, b);
        items += NVAL;
    }
    double t1 = now_ns();
    assay_bench_keep(&m);
    assay_bench_set_items(s, items);
    assay_bench_counter(s, "ns/value", items ? (t1 - t0) / (double)items : 0);
}

/* A stream of NVAL string values with their hashes. */
typedef struct stream {
    char *pool;
    const char *ptr[NVAL];
    uint32_t len[NVAL];
    uint64_t hash[NVAL];
} stream;

static void topk_run(assay_bench_state *s, const stream *st)
{
    assay_topk *t;
    if (assay_topk_new(&t, 64, 256) < 0)
        return;
    int64_t items = 0;
    double t0 = now_ns();
    while (assay_bench_next(s)) {
        for (int i = 0; i < NVAL; i++)
            assay_topk_add(t, st->ptr[i], st->len[i], st->hash[i]);
        items += NVAL;
    }
    double t1 = now_ns();
    assay_bench_set_items(s, items);
    assay_bench_counter(s, "ns/value", items ? (t1 - t0) / (double)items : 0);
    assay_bench_label(s, assay_topk_exact(t) ? "exact" : "space-saving");
    assay_topk_free(t);
}

ASSAY_BENCH(topk_add_lowcard)
{
    static const char *const vals[20] = { "USD",   "EUR",     "GBP",     "JPY",  "CHF",
                                          "CAD",   "AUD",     "NZD",     "SEK",  "NOK",
                                          "DKK",   "PLN",     "CZK",     "HUF",  "true",
                                          "false", "pending", "shipped", "paid", "refunded" };
    static stream st;
    if (!st.ptr[0])
        for (int i = 0; i < NVAL; i++) {
            /* skewed: the first values are the common ones */
            int v = (int)(rnd() % 20);
            if (rnd() & 1)
                v %= 4;
            st.ptr[i] = vals[v];
            st.len[i] = (uint32_t)strlen(vals[v]);
            st.hash[i] = assay_hash_bytes(st.ptr[i], st.len[i]);
        }
    topk_run(s, &st);
}

ASSAY_BENCH(topk_add_zipf)
{
    static stream st;
    if (!st.pool) {
        const uint32_t u = 1000000;
        const double sz = 1.1;
        /* inverse CDF by bisection over a table of cumulative weights */
        double *cdf = malloc(u * sizeof(double));
        double acc = 0;
        for (uint32_t i = 0; i < u; i++)
            cdf[i] = (acc += pow(i + 1.0, -sz));
        st.pool = malloc((size_t)NVAL * 16);
        for (int i = 0; i < NVAL; i++) {
            double r = unif() * acc;
            uint32_t lo = 0, hi = u - 1;
            while (lo < hi) {
                uint32_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] < r)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            char *p = st.pool + (size_t)i * 16;
            st.len[i] = (uint32_t)snprintf(p, 16, "user%u", lo);
            st.ptr[i] = p;
            st.hash[i] = assay_hash_bytes(p, st.len[i]);
        }
        free(cdf);
    }
    topk_run(s, &st);
}
