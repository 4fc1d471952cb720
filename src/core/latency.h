/*
 * latency.h - a fixed-size latency histogram for per-window timings (window close to
 * alerts written), so a run of any length keeps p50/p99 in constant memory.
 *
 * Buckets are geometric: bucket i holds durations in [LO * R^i, LO * R^(i+1)) with
 * LO = 1 us and R = 1.02, so a quantile read back as the bucket's geometric middle is
 * within 1 % of the true order statistic; 940 buckets reach ~ 130 s, and longer
 * durations land in the last one. This is the log-bucketed layout of HdrHistogram
 * (Tene) and DDSketch (Masson et al., VLDB 2019), reduced to what a per-window timing
 * needs: no merging, one writer.
 */
#ifndef ASSAY_LATENCY_H
#define ASSAY_LATENCY_H

#include <math.h>
#include <stdint.h>

#define ASSAY_LAT_BUCKETS 940
#define ASSAY_LAT_LO      1e-6
#define ASSAY_LAT_R       1.02

typedef struct assay_latency {
    uint64_t n[ASSAY_LAT_BUCKETS];
    uint64_t count;
    double max;
} assay_latency;

static inline void assay_latency_add(assay_latency *h, double seconds)
{
    int i = 0;
    if (seconds > ASSAY_LAT_LO)
        i = (int)(log(seconds / ASSAY_LAT_LO) / log(ASSAY_LAT_R));
    if (i >= ASSAY_LAT_BUCKETS)
        i = ASSAY_LAT_BUCKETS - 1;
    h->n[i]++;
    h->count++;
    if (seconds > h->max)
        h->max = seconds;
}

/* The q-quantile (0 < q <= 1) in seconds: the geometric middle of the bucket holding
 * the ceil(q * count)-th smallest duration, never above the largest seen; 0 when empty. */
static inline double assay_latency_quantile(const assay_latency *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), seen = 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < ASSAY_LAT_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= rank) {
            double mid = ASSAY_LAT_LO * pow(ASSAY_LAT_R, i + 0.5);
            return mid < h->max ? mid : h->max;
        }
    }
    return h->max;
}

#endif
