/*
 * result.c - a closed window's result: its merged sub-panes (counts, samples, sketches,
 * anomaly counts) and its window state (unique repeats, late and bad rows) become the
 * assay_result that reports and score records are written from, scored as the quality model of
 * docs/design.md section 2 says (score.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/hashset.h"
#include "window/aggregator.h"

/* "64 KiB", "1 GiB": a byte count as a user wrote it. */
static void size_text(uint64_t b, char *out, size_t cap)
{
    static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    double v = (double)b;
    while (v >= 1024 && u < 4 && fmod(v, 1024) == 0)
        v /= 1024, u++;
    snprintf(out, cap, "%.0f %s", v, unit[u]);
}

static int by_row(const void *a, const void *b)
{
    uint64_t x = ((const assay_sample *)a)->row, y = ((const assay_sample *)b)->row;
    return (x > y) - (x < y);
}

/* A reservoir (kept by priority) as samples in row order. */
static int copy_samples(assay_rule_result *rr, const pos_sample *s, uint32_t n)
{
    rr->samples = calloc(n ? n : 1, sizeof(assay_sample));
    if (!rr->samples)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        rr->samples[i].row = s[i].pos;
        rr->samples[i].offset = s[i].offset;
        if (s[i].value && !(rr->samples[i].value = strdup(s[i].value)))
            return -ENOMEM;
        rr->nsamples = i + 1;
    }
    qsort(rr->samples, rr->nsamples, sizeof(assay_sample), by_row);
    return 0;
}

/* Window id: 16 hex digits of a hash of (asset, window start), so a replay re-emits a
 * record consumers can recognise. */
static void window_id(const char *asset, int64_t start, char out[17])
{
    size_t n = strlen(asset);
    char buf[512];
    size_t m = ASSAY_MIN(n, sizeof(buf) - 9);
    memcpy(buf, asset, m);
    buf[m] = '\0';
    memcpy(buf + m + 1, &start, 8);
    uint64_t h = assay_hash_bytes(buf, m + 9);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int assay_window_result(const assay_agg *a, int64_t k, assay_partial *acc, const win_state *ws,
                        assay_result **out, assay_error *err)
{
    const assay_engine *e = a->e;
    const assay_config *cfg = e->cfg;
    assay_result *res = calloc(1, sizeof(*res));
    *out = NULL;
    if (!res)
        return assay_error_set(err, -ENOMEM, "out of memory");
    res->windowed = !e->win.global;
    res->window = k;
    if (res->windowed) {
        res->window_start = assay_window_start(&e->win, k);
        res->window_end = assay_window_end(&e->win, k);
        window_id(cfg->asset ? cfg->asset : "", res->window_start, res->id);
    } else {
        window_id(cfg->asset ? cfg->asset : "", 0, res->id);
    }
    res->format = e->format;
    res->late_rows = ws ? ws->late : 0;
    res->bad_rows = ws ? ws->bad : 0;
    res->rows = acc->rows + res->bad_rows;
    res->has_lag = acc->lag_us != INT64_MAX;
    for (uint32_t i = 0; i < acc->nnewcols; i++) {
        if (!(res->new_columns[i].name = strdup(acc->newcols[i].name)))
            goto oom;
        res->new_columns[i].rows = acc->newcols[i].rows;
        res->nnew_columns = i + 1;
    }
    res->new_columns_other = acc->newcols_other;
    res->lag_us = res->has_lag ? acc->lag_us : 0;
    size_t S = e->max_samples;

    if (!res->windowed) {
        res->nbad_samples = a->nbad_kept;
        res->bad_samples = calloc(a->nbad_kept ? a->nbad_kept : 1, sizeof(assay_bad_sample));
        if (!res->bad_samples)
            goto oom;
        for (size_t i = 0; i < a->nbad_kept; i++) {
            res->bad_samples[i] = a->bad[i];
            res->bad_samples[i].text = a->bad[i].text ? strdup(a->bad[i].text) : NULL;
        }
    }

    /* rules */
    res->nrules = e->nrules;
    res->rules = calloc(e->nrules ? e->nrules : 1, sizeof(assay_rule_result));
    if (!res->rules)
        goto oom;
    for (size_t r = 0; r < e->nrules; r++) {
        const assay_rule *rule = &e->rules[r];
        const assay_rule_config *c = rule->cfg;
        assay_rule_result *rr = &res->rules[r];
        rr->cfg = c;
        if (c->probe) {
            assay_rule_config *oc = calloc(1, sizeof(*oc));
            if (!oc)
                goto oom;
            rr->own_cfg = oc;
            *oc = *c;
            oc->name = oc->expr = NULL;
            oc->values = calloc(2, sizeof(char *));
            oc->nvalues = 0;
            if (!oc->values || !(oc->name = strdup(c->name)) || !(oc->expr = strdup(c->expr)) ||
                !(oc->values[0] = strdup(c->values[0])) || !(oc->values[1] = strdup(c->values[1])))
                goto oom;
            oc->nvalues = 2;
            rr->cfg = oc;
        }
        if (rule->col < 0) {
            /* row_count: one table-level check per window */
            rr->evaluated = 1;
            rr->failed = (c->has_min && (double)res->rows < c->min) ||
                         (c->has_max && (double)res->rows > c->max);
            if (rr->failed) {
                char msg[200];
                snprintf(msg, sizeof(msg), "%llu rows, expected %s%s%s%s%s",
                         (unsigned long long)res->rows, c->has_min ? "at least " : "",
                         c->has_min ? c->min_text : "", c->has_min && c->has_max ? " and " : "",
                         c->has_max ? "at most " : "", c->has_max ? c->max_text : "");
                if (!(rr->note = strdup(msg)))
                    goto oom;
            }
            if (!(rr->samples = calloc(1, sizeof(assay_sample))))
                goto oom;
        } else if (c->check == ASSAY_CHECK_UNIQUE) {
            rr->evaluated = acc->rules[r].evaluated;
            rr->failed = ws ? ws->ufailed[r] : 0;
            if (copy_samples(rr, ws && ws->usamples[r] ? ws->usamples[r] : NULL,
                             ws ? ws->nus[r] : 0) < 0)
                goto oom;
            if (ws && ws->capped[r]) {
                char msg[240], sz[32];
                size_text(cfg->limits.unique_memory, sz, sizeof(sz));
                snprintf(msg, sizeof(msg),
                         "limits.unique_memory (%s) reached after %zu distinct values: later new "
                         "values were not tracked, so their repeats are not counted",
                         sz, assay_hashset_size(ws->uniq[r]));
                if (!(rr->note = strdup(msg)))
                    goto oom;
            }
        } else {
            rr->evaluated = acc->rules[r].evaluated;
            rr->failed = acc->rules[r].failed;
            rr->unevaluated = acc->rules[r].unevaluated;
            if (copy_samples(rr, acc->rules[r].samples, acc->rules[r].nsamples) < 0)
                goto oom;
        }
        (void)S;
        if (e->imp_rev_col >= 0 || e->imp_user_col >= 0) {
            rr->has_impact = c->check != ASSAY_CHECK_UNIQUE && rule->col >= 0;
            rr->has_revenue = rr->has_impact && e->imp_rev_col >= 0;
            rr->has_users = rr->has_impact && e->imp_user_col >= 0;
            rr->revenue_at_risk = acc->rules[r].revenue;
            rr->affected_users = acc->rules[r].users ? assay_hll_estimate(acc->rules[r].users) : 0;
        }
        if (c->check == ASSAY_CHECK_FRESHNESS) {
            rr->has_lag = acc->rules[r].lag_us != INT64_MAX;
            rr->lag_us = rr->has_lag ? acc->rules[r].lag_us : 0;
        }
        rr->fail_rate = rr->evaluated ? (double)rr->failed / (double)rr->evaluated : 0;
        rr->breached = rr->evaluated > 0 && rr->fail_rate > c->threshold;
        res->breached += rr->breached;
    }

    /* columns */
    res->ncolumns = e->sch.ncols;
    res->columns = calloc(e->sch.ncols ? e->sch.ncols : 1, sizeof(assay_column_result));
    if (!res->columns)
        goto oom;
    assay_regex_db *formats = NULL;
    if (e->profile && !res->windowed && assay_formats_compile(&formats) < 0)
        formats = NULL; /* no format detection; the rest of the profile stands */
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        assay_column_result *cr = &res->columns[c];
        cr->name = strdup(e->sch.names[c]);
        cr->type = e->sch.types[c];
        cr->inferred = e->sch.inferred[c];
        cr->parsed = e->sch.want[c];
        if (!cr->name || assay_profile_result(e, c, &acc->cols[c], cr, formats) < 0) {
            assay_regex_free(formats);
            goto oom;
        }
        if (a->colset && !res->windowed) { /* exact_keys */
            cr->repeats_known = a->col_state[c] == 0;
            cr->repeats_many = a->col_state[c] == 1;
            cr->repeats = a->col_repeats[c];
        }
    }
    assay_regex_free(formats);

    if (e->duplicate_rows) {
        res->has_duplicate_rows = true;
        res->duplicate_rows = ws ? ws->rowdup_repeats : 0;
        if (ws && ws->rowdups_capped) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "limits.unique_memory reached after %zu distinct rows: repeats of rows not "
                     "tracked are not counted",
                     assay_hashset_size(ws->rowdups));
            if (!(res->duplicate_note = strdup(msg)))
                goto oom;
        }
    }
    int rc = assay_anomaly_fill_result(e, &acc->an, &res->anomaly, err);
    if (rc < 0) {
        assay_result_free(res);
        return rc;
    }
    assay_score(res, cfg);
    *out = res;
    return 0;
oom:
    assay_result_free(res);
    return assay_error_set(err, -ENOMEM, "out of memory building a window's result");
}
