/*
 * anomaly.c - the streaming isolation forest inside a pass (config `anomaly:`).
 *
 * Each shard owns one forest (src/sketch/iforest.c) over the numeric columns listed
 * in anomaly.columns, seeded by anomaly.seed and the shard number, and feeds it the
 * rows of its chunks in order: a shard gets every N-th chunk, so for a given number
 * of threads the rows each forest sees, and so every score, are the same from run to
 * run (shared-nothing, DESIGN section 1; a different N gives other forests).
 *
 * Features: int, float, timestamp (microseconds) and bool (0/1) columns, as doubles.
 * A null, or a value that does not parse as the column's type, is a missing feature:
 * the forest imputes it with the window's median (see iforest.c), so a missing value
 * alone never makes a row look anomalous - the not_null and type rules report those.
 * Rows the parser rejected (bad rows) are not fed to the forest and get no score.
 *
 * What a row gets: a score in (0, 1] once the shard's window has filled (before that
 * the row is "not ready": no score, counted as such), and an anomaly flag when the
 * score is above the threshold implied by anomaly.contamination, learned by the
 * forest from its recent scores (iforest.c: assay_iforest_flag_threshold). The check
 * report gives the count of flagged rows, and as evidence the highest-scoring rows
 * (limits.samples of them, over all shards: score, row number, feature values).
 * Flags are evidence, not a rule: they do not change the exit status.
 *
 * --row-scores: the shard keeps each chunk's scores by row ordinal and hands them
 * back with the chunk (8 bytes a row, freed as the chunk is written); the
 * reading thread gets chunks back in input order and writes `row,score` lines, so
 * the file has one line per input row, in order, with no header: line k is row k.
 * Rows without a score (not ready, or bad) have an empty score field.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
#include "core/digits.h"
#include "core/mix.h"
#include "engine/engine_internal.h"

static bool numeric_type(assay_type t)
{
    return t == ASSAY_TYPE_INT || t == ASSAY_TYPE_FLOAT || t == ASSAY_TYPE_TIMESTAMP ||
           t == ASSAY_TYPE_BOOL;
}

int assay_anomaly_engine_init(assay_engine *e, assay_error *err)
{
    const assay_config *cfg = e->cfg;
    size_t d = cfg->anomaly.ncolumns;
    if (d == 0)
        return 0;
    e->an_cols = calloc(d, sizeof(uint32_t));
    if (!e->an_cols)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (size_t j = 0; j < d; j++) {
        const char *name = cfg->anomaly.columns[j];
        assay_config_pos pos =
            cfg->anomaly.column_pos ? cfg->anomaly.column_pos[j] : (assay_config_pos){ 0, 0 };
        int c = assay_engine_find_column(e, name);
        if (c < 0)
            return assay_engine_no_such_column(e, "anomaly.columns", name, pos, err);
        assay_type t = e->sch.types[c];
        if (!numeric_type(t))
            return assay_error_set(err, -EINVAL,
                                   "%s:%d:%d: anomaly.columns: column '%s' is %s%s; the isolation "
                                   "forest needs numeric columns (int, float, timestamp, bool)",
                                   cfg->path, pos.line, pos.col, name, assay_type_name(t),
                                   e->sch.inferred[c] ? " (inferred from the first rows)" : "");
        e->an_cols[j] = (uint32_t)c;
        e->sch.want[c] = 1;
        e->sch.need_typed[c] = 1;
    }
    assay_iforest_options_default(&e->an_opt, d);
    e->an_opt.trees = cfg->anomaly.trees;
    e->an_opt.sample = cfg->anomaly.sample;
    e->an_opt.window = cfg->anomaly.window;
    e->an_opt.refresh = cfg->anomaly.refresh;
    e->an_opt.contamination = cfg->anomaly.contamination;
    e->an_opt.seed = cfg->anomaly.seed;
    e->an_d = d;
    /* checked once here, so a bad combination is a config error before any thread
     * starts (the shards' assay_iforest_new then only fails on memory) */
    int rc = assay_iforest_options_check(&e->an_opt, err);
    if (rc < 0 && cfg->path)
        assay_error_prefix(err, "%s", cfg->path);
    return rc;
}

void assay_anomaly_engine_free(assay_engine *e)
{
    free(e->an_cols);
    e->an_cols = NULL;
}

int assay_anomaly_shard_init(assay_engine *e, assay_shard *s)
{
    if (!e->an_d)
        return 0;
    assay_iforest_options o = e->an_opt;
    /* independent seeds per shard from one configured seed */
    o.seed = assay_mix64((e->an_opt.seed ^ ((uint64_t)s->id << 32)) + ASSAY_SPLITMIX_GAMMA);
    if (assay_iforest_new(&s->an_forest, &o, NULL) < 0)
        return -ENOMEM;
    size_t cap = e->batch_rows;
    s->an_x = malloc(cap * e->an_d * sizeof(double));
    s->an_score = malloc(cap * sizeof(double));
    s->an_flag = malloc(ASSAY_BITMAP_WORDS(cap) * 8);
    s->an_row = malloc(cap * sizeof(uint32_t));
    s->an_top = calloc(e->max_samples ? e->max_samples : 1, sizeof(an_sample));
    s->an_vals = calloc((e->max_samples ? e->max_samples : 1) * e->an_d, sizeof(double));
    if (!s->an_x || !s->an_score || !s->an_flag || !s->an_row || !s->an_top || !s->an_vals)
        return -ENOMEM;
    for (size_t k = 0; k < e->max_samples; k++)
        s->an_top[k].values = s->an_vals + k * e->an_d;
    s->an_top_min = -INFINITY;
    return 0;
}

void assay_anomaly_shard_free(assay_shard *s)
{
    assay_iforest_free(s->an_forest);
    free(s->an_x);
    free(s->an_score);
    free(s->an_flag);
    free(s->an_row);
    free(s->an_top);
    free(s->an_vals);
    free(s->an_chunk);
}

/* Make room for chunk scores up to ordinal `ord` (exclusive), new slots NaN. */
static int chunk_scores_reserve(assay_shard *s, uint32_t ord)
{
    if (ord <= s->an_chunk_n)
        return 0;
    if (ord > s->an_chunk_cap) {
        size_t cap = ASSAY_MAX((size_t)ord, 2 * s->an_chunk_cap);
        cap = ASSAY_MAX(cap, (size_t)4096);
        double *p = realloc(s->an_chunk, cap * sizeof(double));
        if (!p)
            return -ENOMEM;
        s->an_chunk = p;
        s->an_chunk_cap = cap;
    }
    for (uint32_t i = s->an_chunk_n; i < ord; i++)
        s->an_chunk[i] = NAN;
    s->an_chunk_n = ord;
    return 0;
}

/* Keep the row among the max_samples highest scores (ties: the earlier row). */
static void keep_top(assay_shard *s, size_t max, uint64_t pos, double score, const double *x)
{
    size_t d = s->e->an_d;
    size_t at;
    if (s->an_ntop < max) {
        at = s->an_ntop++;
    } else {
        if (max == 0)
            return;
        at = 0;
        for (size_t k = 1; k < s->an_ntop; k++) {
            const an_sample *a = &s->an_top[k], *b = &s->an_top[at];
            if (a->score < b->score || (a->score == b->score && a->pos > b->pos))
                at = k;
        }
        const an_sample *w = &s->an_top[at];
        if (score < w->score || (score == w->score && pos > w->pos))
            return;
    }
    s->an_top[at].pos = pos;
    s->an_top[at].score = score;
    memcpy(s->an_top[at].values, x, d * sizeof(double));
    /* the smallest kept score: rows below it need no look at the list */
    double lo = INFINITY;
    if (s->an_ntop == max)
        for (size_t k = 0; k < s->an_ntop; k++)
            lo = s->an_top[k].score < lo ? s->an_top[k].score : lo;
    s->an_top_min = s->an_ntop == max ? lo : -INFINITY;
}

int assay_anomaly_batch(assay_shard *s, uint32_t n)
{
    const assay_engine *e = s->e;
    size_t d = e->an_d;
    /* rows the parser and the UTF-8 check kept, in order, as a row-major matrix */
    uint32_t k = 0;
    for (size_t i = assay_bitmap_next(s->ok, 0, n); i < n; i = assay_bitmap_next(s->ok, i + 1, n))
        s->an_row[k++] = (uint32_t)i;
    for (size_t j = 0; j < d; j++) {
        uint32_t c = e->an_cols[j];
        const uint64_t *nul = s->null[c], *inv = s->invalid[c];
        double *x = s->an_x + j;
        if (s->f64[c]) {
            const double *v = s->f64[c];
            for (uint32_t r = 0; r < k; r++) {
                uint32_t i = s->an_row[r];
                x[r * d] = (assay_bit_get(nul, i) || assay_bit_get(inv, i)) ? NAN : v[i];
            }
        } else {
            const int64_t *v = s->i64[c];
            for (uint32_t r = 0; r < k; r++) {
                uint32_t i = s->an_row[r];
                x[r * d] = (assay_bit_get(nul, i) || assay_bit_get(inv, i)) ? NAN : (double)v[i];
            }
        }
    }
    assay_iforest_process(s->an_forest, s->an_x, k, s->an_score, s->an_flag);

    if (e->row_scores && k && chunk_scores_reserve(s, s->rs.row_ord[s->an_row[k - 1]] + 1) < 0)
        return -ENOMEM;
    for (uint32_t r = 0; r < k; r++) {
        double sc = s->an_score[r];
        if (isnan(sc)) {
            s->an_not_ready++;
            continue;
        }
        uint32_t i = s->an_row[r];
        s->an_scored++;
        s->an_flagged += (s->an_flag[r >> 6] >> (r & 63)) & 1;
        if (sc >= s->an_top_min)
            keep_top(s, e->max_samples, s->pos[i], sc, s->an_x + (size_t)r * d);
        if (e->row_scores)
            s->an_chunk[s->rs.row_ord[i]] = sc;
    }
    return 0;
}

int assay_anomaly_chunk_end(assay_shard *s, chunk_msg *m, uint32_t rows)
{
    if (!s->e->row_scores)
        return 0;
    int rc = chunk_scores_reserve(s, rows);
    if (rc < 0)
        return rc;
    /* the buffer travels with the chunk; the reading thread frees it */
    m->scores = s->an_chunk;
    m->nscores = rows;
    s->an_chunk = NULL;
    s->an_chunk_n = s->an_chunk_cap = 0;
    return 0;
}

/* "0.123456" for a score in [0, 1]: six decimals by integer arithmetic (snprintf of a
 * double cost more than the forest on the reading thread). */
static size_t put_score(char *p, double v)
{
    uint32_t u = (uint32_t)llround(v * 1e6);
    if (u > 1000000)
        u = 1000000;
    p[0] = (char)('0' + u / 1000000);
    p[1] = '.';
    u %= 1000000;
    for (int i = 7; i >= 2; i--) {
        p[i] = (char)('0' + u % 10);
        u /= 10;
    }
    return 8;
}

int assay_anomaly_absorb(assay_engine *e, chunk_msg *m)
{
    if (!e->row_scores || m->stop)
        return 0;
    char buf[1 << 14];
    size_t len = 0;
    int rc = 0;
    for (uint32_t i = 0; i < m->nscores; i++) {
        if (len > sizeof(buf) - 40) {
            if (fwrite(buf, 1, len, e->row_scores) != len && rc == 0)
                rc = errno ? -errno : -EIO;
            len = 0;
        }
        len = (size_t)(assay_put_u64(buf + len, ++e->an_rows_written) - buf);
        buf[len++] = ',';
        if (!isnan(m->scores[i]))
            len += put_score(buf + len, m->scores[i]);
        buf[len++] = '\n';
    }
    if (len && fwrite(buf, 1, len, e->row_scores) != len && rc == 0)
        rc = errno ? -errno : -EIO;
    free(m->scores);
    m->scores = NULL;
    m->nscores = 0;
    return rc;
}

static int cmp_top(const void *a, const void *b)
{
    const an_sample *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int assay_anomaly_merge(assay_engine *e, assay_result *res, const uint64_t *rows_before,
                        assay_error *err)
{
    size_t d = e->an_d;
    if (!d)
        return 0;
    assay_anomaly_result *a = &res->anomaly;
    const assay_config *cfg = e->cfg;
    a->enabled = true;
    a->ncolumns = d;
    a->columns = calloc(d, sizeof(char *));
    a->column_index = calloc(d, sizeof(uint32_t));
    if (!a->columns || !a->column_index)
        goto oom;
    for (size_t j = 0; j < d; j++) {
        a->column_index[j] = e->an_cols[j];
        if (!(a->columns[j] = strdup(e->sch.names[e->an_cols[j]])))
            goto oom;
    }
    a->trees = e->an_opt.trees;
    a->sample = e->an_opt.sample;
    a->window = e->an_opt.window;
    a->refresh = e->an_opt.refresh;
    a->contamination = cfg->anomaly.contamination;
    a->threshold = NAN;
    double thr_sum = 0;
    unsigned thr_n = 0;
    size_t ncand = 0;
    for (unsigned k = 0; k < e->nshards; k++) {
        const assay_shard *s = &e->shards[k];
        a->scored += s->an_scored;
        a->not_ready += s->an_not_ready;
        a->anomalies += s->an_flagged;
        a->judged += assay_iforest_judged(s->an_forest);
        ncand += s->an_ntop;
        double t;
        if (assay_iforest_flag_threshold(s->an_forest, &t) == 0)
            thr_sum += t, thr_n++;
    }
    if (thr_n)
        a->threshold = thr_sum / thr_n;
    a->rate = a->judged ? (double)a->anomalies / (double)a->judged : 0;
    an_sample *cand = calloc(ncand ? ncand : 1, sizeof(an_sample));
    if (!cand)
        goto oom;
    ncand = 0;
    for (unsigned k = 0; k < e->nshards; k++)
        for (size_t i = 0; i < e->shards[k].an_ntop; i++)
            cand[ncand++] = e->shards[k].an_top[i];
    qsort(cand, ncand, sizeof(an_sample), cmp_top);
    a->nsamples = ASSAY_MIN(ncand, e->max_samples);
    a->samples = calloc(a->nsamples ? a->nsamples : 1, sizeof(assay_anomaly_sample));
    if (!a->samples) {
        free(cand);
        goto oom;
    }
    for (size_t i = 0; i < a->nsamples; i++) {
        assay_anomaly_sample *o = &a->samples[i];
        o->row = rows_before[POS_SEQ(cand[i].pos)] + POS_ORD(cand[i].pos) + 1;
        o->score = cand[i].score;
        o->values = malloc(d * sizeof(double));
        if (!o->values) {
            free(cand);
            goto oom;
        }
        memcpy(o->values, cand[i].values, d * sizeof(double));
    }
    free(cand);
    return 0;
oom:
    return assay_error_set(err, -ENOMEM, "out of memory merging anomaly results");
}

void assay_anomaly_result_free(assay_anomaly_result *a)
{
    for (size_t j = 0; a->columns && j < a->ncolumns; j++)
        free(a->columns[j]);
    free(a->columns);
    free(a->column_index);
    for (size_t i = 0; a->samples && i < a->nsamples; i++)
        free(a->samples[i].values);
    free(a->samples);
    memset(a, 0, sizeof(*a));
}
