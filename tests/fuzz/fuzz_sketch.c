/* libFuzzer target: every sketch deserializer (HyperLogLog, t-digest summary and exact
 * state, Space-Saving, moments, isolation forest) on arbitrary bytes; the first byte
 * picks the decoder. Whatever decodes must then work: estimates, quantiles, adds,
 * merges and scores on it may not crash or trip the sanitizers. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "assay/hll.h"
#include "assay/iforest.h"
#include "assay/moments.h"
#include "assay/tdigest.h"
#include "assay/topk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *b = data + 1;
    size_t n = size - 1;
    assay_error err = { 0 };
    switch (data[0] % 6) {
    case 0: {
        assay_hll *h = NULL;
        if (assay_hll_deserialize(b, n, &h, &err) == 0) {
            (void)assay_hll_estimate(h);
            assay_hll_add(h, 0x123456789abcdefull);
            assay_hll *g = NULL;
            if (assay_hll_new(&g, assay_hll_precision(h)) == 0) {
                assay_hll_merge(g, h);
                (void)assay_hll_estimate(g);
                assay_hll_free(g);
            }
            assay_hll_free(h);
        }
        break;
    }
    case 1:
    case 2: {
        assay_tdigest *t = NULL;
        int rc = data[0] % 6 == 1 ? assay_tdigest_deserialize(b, n, &t, &err)
                                  : assay_tdigest_restore(b, n, &t, &err);
        if (rc == 0) {
            (void)assay_tdigest_quantile(t, 0.5);
            (void)assay_tdigest_cdf(t, 1.0);
            for (int i = 0; i < 3000; i++)
                assay_tdigest_add(t, (double)i);
            (void)assay_tdigest_quantile(t, 0.99);
            assay_tdigest_free(t);
        }
        break;
    }
    case 3: {
        assay_topk *t = NULL;
        if (assay_topk_deserialize(b, n, &t, &err) == 0) {
            assay_topk_add(t, "x", 1, 42);
            assay_topk_item it[8];
            (void)assay_topk_list(t, it, 8);
            assay_topk_free(t);
        }
        break;
    }
    case 4: {
        assay_moments m;
        if (assay_moments_deserialize(b, n, &m, &err) == 0) {
            assay_moments_add(&m, 1.0);
            (void)assay_moments_kurtosis(&m);
        }
        break;
    }
    default: {
        assay_iforest *f = NULL;
        if (assay_iforest_deserialize(b, n, &f, &err) == 0) {
            double x[ASSAY_IFOREST_D_MAX * 4], s[4];
            for (size_t i = 0; i < ASSAY_IFOREST_D_MAX * 4; i++)
                x[i] = (double)(i % 7) - 3.0;
            assay_iforest_process(f, x, 4, s, NULL);
            assay_iforest_free(f);
        }
        break;
    }
    }
    return 0;
}
