/*
 * record.c - the parts of an alert record every encoder and the alert engine share:
 * kind and state names, the deterministic id, and releasing what a record owns.
 *
 * The id is XXH3-64 over "asset \0 kind \0 subject \0 fired_start" in hex: the same
 * incident gets the same id in every run over the same data and after a restart (the
 * firing window's start is event time, not the clock), so consumers can drop the
 * duplicates a replay produces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/alert.h"
#include "assay/hashset.h"

static const char *const kind_names[ASSAY_ALERT_KIND_COUNT] = {
    "rule_breach", "score_drop", "issue_increase", "volume", "drift",
    "freshness",   "anomaly",    "contract",       "schema",
};

const char *assay_alert_kind_name(assay_alert_kind k)
{
    return (unsigned)k < ASSAY_ALERT_KIND_COUNT ? kind_names[k] : "unknown";
}

const char *assay_alert_state_name(assay_alert_state s)
{
    return s == ASSAY_ALERT_RESOLVED ? "resolved"
           : s == ASSAY_ALERT_ACKED  ? "acknowledged"
                                     : "firing";
}

void assay_alert_make_id(const char *asset, assay_alert_kind k, const char *subject,
                         int64_t fired_start, char out[17])
{
    char buf[1024];
    int n =
        snprintf(buf, sizeof(buf), "%s%c%s%c%s%c%lld", asset ? asset : "", 0,
                 assay_alert_kind_name(k), 0, subject ? subject : "", 0, (long long)fired_start);
    size_t len = n < 0 ? 0 : ASSAY_MIN((size_t)n, sizeof(buf) - 1);
    snprintf(out, 17, "%016llx", (unsigned long long)assay_hash_bytes(buf, len));
}

void assay_alert_clear(assay_alert *a)
{
    free(a->subject);
    free(a->column);
    free(a->rule);
    free(a->metric);
    free(a->title);
    free(a->explanation);
    for (size_t i = 0; i < a->nsamples; i++)
        free(a->samples[i].value);
    for (size_t i = 0; i < a->ncauses; i++) {
        free(a->causes[i].rule);
        free(a->causes[i].column);
    }
    memset(a, 0, sizeof(*a));
}

static bool dup(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

int assay_alert_copy(assay_alert *dst, const assay_alert *src)
{
    *dst = *src;
    for (size_t i = 0; i < src->nsamples; i++)
        dst->samples[i].value = NULL;
    for (size_t i = 0; i < src->ncauses; i++)
        dst->causes[i].rule = dst->causes[i].column = NULL;
    bool ok = dup(&dst->subject, src->subject) && dup(&dst->column, src->column) &&
              dup(&dst->rule, src->rule) && dup(&dst->metric, src->metric) &&
              dup(&dst->title, src->title) && dup(&dst->explanation, src->explanation);
    for (size_t i = 0; i < src->nsamples; i++)
        ok = dup(&dst->samples[i].value, src->samples[i].value) && ok;
    for (size_t i = 0; i < src->ncauses; i++)
        ok = dup(&dst->causes[i].rule, src->causes[i].rule) &&
             dup(&dst->causes[i].column, src->causes[i].column) && ok;
    if (!ok) {
        assay_alert_clear(dst);
        return -ENOMEM;
    }
    return 0;
}
