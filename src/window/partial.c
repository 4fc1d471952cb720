/*
 * partial.c - the mergeable state of some rows of one sub-pane (window.c explains
 * panes and sub-panes).
 *
 * Every accumulator of a window merges exactly as if one thread had seen all its rows:
 * counts add; sample reservoirs keep the smallest priorities (pos_sample), freshness
 * lags the smallest; HyperLogLog registers take the
 * maximum; string min/max and length sums combine; moments merge by Pebay's formulas
 * and t-digests and Space-Saving summaries by their own merges. The last three are
 * order-sensitive in floating point (or in which counters survive), so the aggregator
 * always merges in one fixed order: chunks in stream order into a sub-pane, sub-panes
 * in (pane, first window) order into a window. That makes a window's record the same
 * for any number of threads.
 *
 * A shard fills one partial per sub-pane its chunk touches (most chunks touch one or
 * two); partials live in the chunk's message and are reset, not freed, when the message
 * is reused, so a long run allocates nothing per chunk once warm.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

int assay_partial_init(const assay_engine *e, assay_partial *p, bool chunk)
{
    memset(p, 0, sizeof(*p));
    size_t S = e->max_samples ? e->max_samples : 1;
    p->rules = calloc(e->nrules ? e->nrules : 1, sizeof(part_rule));
    p->cols = calloc(e->sch.ncols ? e->sch.ncols : 1, sizeof(col_profile));
    if (!p->rules || !p->cols)
        return -ENOMEM;
    p->lag_us = INT64_MAX;
    for (size_t r = 0; r < e->nrules; r++) {
        p->rules[r].lag_us = INT64_MAX;
        if (!(p->rules[r].samples = calloc(S, sizeof(pos_sample))))
            return -ENOMEM;
    }
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        p->cols[c].len_min = UINT64_MAX;
        assay_moments_init(&p->cols[c].mom);
        p->cols[c].chunk = chunk && e->profile; /* hb comes with the first values: a wide
                                                 * input's columns each see few per chunk */
    }
    if (assay_anomaly_part_init(e, &p->an) < 0)
        return -ENOMEM;
    return 0;
}

assay_partial *assay_partial_new(const assay_engine *e, bool chunk)
{
    assay_partial *p = calloc(1, sizeof(*p));
    if (p && assay_partial_init(e, p, chunk) < 0) {
        assay_partial_delete(e, p);
        return NULL;
    }
    return p;
}

void assay_partial_delete(const assay_engine *e, assay_partial *p)
{
    if (!p)
        return;
    assay_partial_free(e, p);
    free(p);
}

static void clear_samples(part_rule *r)
{
    for (uint32_t k = 0; k < r->nsamples; k++) {
        free(r->samples[k].value);
        r->samples[k].value = NULL;
    }
    r->nsamples = 0;
}

static void clear_newcols(assay_partial *p)
{
    for (uint32_t i = 0; i < p->nnewcols; i++)
        free(p->newcols[i].name);
    memset(p->newcols, 0, sizeof(p->newcols));
    p->nnewcols = 0;
    p->newcols_other = 0;
}

int assay_partial_new_column(assay_partial *p, const char *name, size_t len, uint64_t rows)
{
    for (uint32_t i = 0; i < p->nnewcols; i++)
        if (strlen(p->newcols[i].name) == len && memcmp(p->newcols[i].name, name, len) == 0) {
            p->newcols[i].rows += rows;
            return 0;
        }
    if (p->nnewcols == ASSAY_NEW_COLUMNS) {
        p->newcols_other += rows;
        return 0;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    p->newcols[p->nnewcols++] = (assay_new_column){ .name = copy, .rows = rows };
    return 0;
}

void assay_partial_reset(const assay_engine *e, assay_partial *p, int64_t pane, int64_t first)
{
    p->pane = pane;
    p->first = first;
    p->rows = 0;
    p->folded = false;
    p->lag_us = INT64_MAX;
    clear_newcols(p);
    for (size_t r = 0; r < e->nrules; r++) {
        clear_samples(&p->rules[r]);
        p->rules[r].evaluated = p->rules[r].failed = p->rules[r].unevaluated = 0;
        p->rules[r].revenue = 0;
        p->rules[r].lag_us = INT64_MAX;
        if (p->rules[r].users)
            (void)assay_hll_reset(p->rules[r].users, false);
    }
    for (uint32_t c = 0; c < e->sch.ncols; c++)
        assay_col_profile_reset(&p->cols[c]);
    assay_anomaly_part_reset(&p->an);
}

void assay_partial_free(const assay_engine *e, assay_partial *p)
{
    if (p->rules) {
        for (size_t r = 0; r < e->nrules; r++) {
            clear_samples(&p->rules[r]);
            free(p->rules[r].samples);
            assay_hll_free(p->rules[r].users);
        }
    }
    if (p->cols)
        for (uint32_t c = 0; c < e->sch.ncols; c++)
            assay_col_profile_free(&p->cols[c]);
    free(p->rules);
    free(p->cols);
    clear_newcols(p);
    assay_anomaly_part_free(&p->an);
    memset(p, 0, sizeof(*p));
}

int assay_samples_keep(pos_sample *s, uint32_t *n, size_t max, const pos_sample *x, const char *v,
                       uint32_t len, bool is_null)
{
    uint32_t at = *n;
    while (at > 0 &&
           (s[at - 1].prio > x->prio || (s[at - 1].prio == x->prio && s[at - 1].pos > x->pos)))
        at--;
    if (at >= max)
        return 0;
    char *copy = NULL;
    if (!is_null && !(copy = assay_sample_copy(v, len)))
        return -ENOMEM;
    if (*n == max) {
        free(s[max - 1].value);
        (*n)--;
    }
    memmove(&s[at + 1], &s[at], (*n - at) * sizeof(pos_sample));
    s[at] = *x;
    s[at].value = copy;
    (*n)++;
    return 0;
}

/* A chunk position to a 1-based row number. */
static inline uint64_t to_row(uint64_t pos, uint64_t row_base)
{
    return row_base == UINT64_MAX ? pos : row_base + POS_ORD(pos) + 1;
}

int assay_partial_merge(const assay_engine *e, assay_partial *dst, const assay_partial *src,
                        uint64_t row_base)
{
    size_t S = e->max_samples;
    dst->rows += src->rows;
    dst->folded = true;
    if (src->lag_us < dst->lag_us)
        dst->lag_us = src->lag_us;
    for (uint32_t i = 0; i < src->nnewcols; i++)
        if (assay_partial_new_column(dst, src->newcols[i].name, strlen(src->newcols[i].name),
                                     src->newcols[i].rows) < 0)
            return -ENOMEM;
    dst->newcols_other += src->newcols_other;
    for (size_t r = 0; r < e->nrules; r++) {
        part_rule *d = &dst->rules[r];
        const part_rule *s = &src->rules[r];
        d->evaluated += s->evaluated;
        d->unevaluated += s->unevaluated;
        d->failed += s->failed;
        d->revenue += s->revenue;
        if (s->lag_us < d->lag_us)
            d->lag_us = s->lag_us;
        if (s->users) {
            if (!d->users && assay_hll_new(&d->users, ASSAY_IMPACT_HLL_P) < 0)
                return -ENOMEM;
            if (assay_hll_merge(d->users, s->users) < 0)
                return -ENOMEM;
        }
        for (uint32_t k = 0; k < s->nsamples; k++) {
            pos_sample x = s->samples[k];
            const char *v = x.value;
            x.pos = to_row(x.pos, row_base);
            if (!assay_samples_wants(d->samples, d->nsamples, S, x.prio))
                break; /* s is sorted by priority: none after this one enters either */
            if (assay_samples_keep(d->samples, &d->nsamples, S, &x, v, v ? (uint32_t)strlen(v) : 0,
                                   v == NULL) < 0)
                return -ENOMEM;
        }
    }
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        int rc = assay_col_profile_merge(e, c, &dst->cols[c], &src->cols[c]);
        if (rc < 0)
            return rc;
    }
    assay_anomaly_part_merge(e, &dst->an, &src->an, row_base);
    return 0;
}
