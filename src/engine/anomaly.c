/*
 * anomaly.c - the streaming isolation forest inside a pass (config `anomaly:`).
 *
 * A forest (src/sketch/iforest.c) belongs to a partition, not to a shard: a Kafka
 * partition, or for a file one of ASSAY_VPARTS virtual partitions (chunk k is in
 * partition k mod 16). Each forest is seeded by anomaly.seed and its partition number
 * and is fed the rows of its partition's chunks in order by the one shard that owns
 * the partition (partition mod N). So what every forest sees, and so every score and
 * every window's anomaly counts, are the same for any number of threads.
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
 * (limits.samples of them, over all partitions: score, row number, feature values).
 * Flags are evidence, not a rule: they do not change the exit status. The counts are
 * kept per partial (the rows of one sub-pane of one chunk), so each window gets the
 * anomalies of its own rows.
 *
 * --row-scores: the shard keeps each chunk's scores by row ordinal in the chunk's
 * message (8 bytes a row); the pipeline gets chunks back in input order and writes
 * `row,score` lines, so the file has one line per input row, in order, with no header:
 * line k is row k. Rows without a score (not ready, or bad) have an empty score field.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
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
    for (unsigned v = s->id; v < ASSAY_VPARTS; v += e->nshards) {
        assay_iforest_options o = e->an_opt;
        /* independent seeds per partition from one configured seed */
        o.seed = assay_mix64((e->an_opt.seed ^ ((uint64_t)v << 32)) + ASSAY_SPLITMIX_GAMMA);
        if (assay_iforest_new(&s->forests[v], &o, NULL) < 0)
            return -ENOMEM;
    }
    size_t cap = e->batch_rows;
    s->an_x = malloc(cap * e->an_d * sizeof(double));
    s->an_score = malloc(cap * sizeof(double));
    s->an_flag = malloc(ASSAY_BITMAP_WORDS(cap) * 8);
    s->an_row = malloc(cap * sizeof(uint32_t));
    if (!s->an_x || !s->an_score || !s->an_flag || !s->an_row)
        return -ENOMEM;
    return 0;
}

void assay_anomaly_shard_free(assay_shard *s)
{
    for (unsigned v = 0; v < ASSAY_VPARTS; v++) {
        assay_iforest_free(s->forests[v]);
        s->forests[v] = NULL;
    }
    free(s->an_x);
    free(s->an_score);
    free(s->an_flag);
    free(s->an_row);
}

assay_iforest *assay_anomaly_forest(const assay_engine *e, unsigned v)
{
    if (!e->an_d || !e->shards)
        return NULL;
    return e->shards[v % e->nshards].forests[v];
}

/* ---------------------------------------------------------------------------------
 * Per-partial counts and evidence
 * ------------------------------------------------------------------------------- */

int assay_anomaly_part_init(const assay_engine *e, an_part *a)
{
    memset(a, 0, sizeof(*a));
    a->top_min = -INFINITY;
    for (unsigned v = 0; v < ASSAY_VPARTS; v++)
        a->thr[v] = NAN;
    if (!e->an_d)
        return 0;
    size_t S = e->max_samples ? e->max_samples : 1;
    a->top = calloc(S, sizeof(an_sample));
    a->vals = calloc(S * e->an_d, sizeof(double));
    a->hist = calloc(ASSAY_AN_BINS, sizeof(uint32_t));
    if (!a->top || !a->vals || !a->hist)
        return -ENOMEM;
    for (size_t k = 0; k < S; k++)
        a->top[k].values = a->vals + k * e->an_d;
    return 0;
}

void assay_anomaly_part_reset(an_part *a)
{
    a->scored = a->not_ready = a->judged = a->flagged = 0;
    a->ntop = 0;
    a->top_min = -INFINITY;
    for (unsigned v = 0; v < ASSAY_VPARTS; v++) {
        a->thr[v] = NAN;
        a->thr_seq[v] = 0;
    }
    if (a->hist)
        memset(a->hist, 0, ASSAY_AN_BINS * sizeof(uint32_t));
}

void assay_anomaly_part_free(an_part *a)
{
    free(a->top);
    free(a->vals);
    free(a->hist);
    a->top = NULL;
    a->vals = NULL;
    a->hist = NULL;
}

/* Keep the row among the max highest scores (ties: the earlier row). */
static void keep_top(an_part *a, size_t d, size_t max, uint64_t pos, double score, const double *x)
{
    size_t at;
    if (max == 0)
        return;
    if (a->ntop < max) {
        at = a->ntop++;
    } else {
        at = 0;
        for (size_t k = 1; k < a->ntop; k++) {
            const an_sample *p = &a->top[k], *q = &a->top[at];
            if (p->score < q->score || (p->score == q->score && p->pos > q->pos))
                at = k;
        }
        const an_sample *w = &a->top[at];
        if (score < w->score || (score == w->score && pos > w->pos))
            return;
    }
    a->top[at].pos = pos;
    a->top[at].score = score;
    memcpy(a->top[at].values, x, d * sizeof(double));
    /* the smallest kept score: rows below it need no look at the list */
    double lo = INFINITY;
    if (a->ntop == max)
        for (size_t k = 0; k < a->ntop; k++)
            lo = a->top[k].score < lo ? a->top[k].score : lo;
    a->top_min = a->ntop == max ? lo : -INFINITY;
}

void assay_anomaly_part_merge(const assay_engine *e, an_part *dst, const an_part *src,
                              uint64_t row_base)
{
    dst->scored += src->scored;
    dst->not_ready += src->not_ready;
    dst->judged += src->judged;
    dst->flagged += src->flagged;
    if (dst->hist && src->hist && src->judged)
        for (uint32_t b = 0; b < ASSAY_AN_BINS; b++)
            dst->hist[b] += src->hist[b];
    for (unsigned v = 0; v < ASSAY_VPARTS; v++)
        if (!isnan(src->thr[v]) && (isnan(dst->thr[v]) || src->thr_seq[v] >= dst->thr_seq[v])) {
            dst->thr[v] = src->thr[v];
            dst->thr_seq[v] = src->thr_seq[v];
        }
    for (size_t k = 0; k < src->ntop; k++) {
        const an_sample *x = &src->top[k];
        uint64_t pos = row_base == UINT64_MAX ? x->pos : row_base + POS_ORD(x->pos) + 1;
        if (x->score >= dst->top_min)
            keep_top(dst, e->an_d, e->max_samples, pos, x->score, x->values);
    }
}

/* Make room for row scores up to ordinal `ord` (exclusive), new slots NaN. */
static int scores_reserve(chunk_msg *m, uint32_t ord)
{
    if (ord <= m->nscores)
        return 0;
    if (ord > m->scores_cap) {
        size_t cap = ASSAY_MAX((size_t)ord, 2 * (size_t)m->scores_cap);
        cap = ASSAY_MAX(cap, (size_t)4096);
        double *p = realloc(m->scores, cap * sizeof(double));
        if (!p)
            return -ENOMEM;
        m->scores = p;
        m->scores_cap = (uint32_t)cap;
    }
    for (uint32_t i = m->nscores; i < ord; i++)
        m->scores[i] = NAN;
    m->nscores = ord;
    return 0;
}

int assay_anomaly_batch(assay_shard *s, chunk_msg *m, uint32_t n)
{
    const assay_engine *e = s->e;
    size_t d = e->an_d;
    unsigned v = assay_chunk_vpart(&e->win, &m->chunk);
    assay_iforest *f = s->forests[v];
    /* rows the parser and the UTF-8 check kept, in order, as a row-major matrix */
    uint32_t k = 0;
    for (size_t i = assay_bitmap_next(s->ok, 0, n); i < n; i = assay_bitmap_next(s->ok, i + 1, n))
        s->an_row[k++] = (uint32_t)i;
    for (size_t j = 0; j < d; j++) {
        uint32_t c = e->an_cols[j];
        const uint64_t *nul = s->null[c], *inv = s->invalid[c];
        double *x = s->an_x + j;
        if (s->f64[c]) {
            const double *val = s->f64[c];
            for (uint32_t r = 0; r < k; r++) {
                uint32_t i = s->an_row[r];
                x[r * d] = (assay_bit_get(nul, i) || assay_bit_get(inv, i)) ? NAN : val[i];
            }
        } else {
            const int64_t *val = s->i64[c];
            for (uint32_t r = 0; r < k; r++) {
                uint32_t i = s->an_row[r];
                x[r * d] = (assay_bit_get(nul, i) || assay_bit_get(inv, i)) ? NAN : (double)val[i];
            }
        }
    }
    uint64_t judged0 = assay_iforest_judged(f);
    assay_iforest_process(f, s->an_x, k, s->an_score, s->an_flag);
    /* once a forest has a threshold it keeps one: the judged rows are the last ones */
    uint64_t judged = assay_iforest_judged(f) - judged0;
    double thr = NAN;
    bool has_thr = assay_iforest_flag_threshold(f, &thr) == 0;

    if (e->row_scores && k && scores_reserve(m, s->rs.row_ord[s->an_row[k - 1]] + 1) < 0)
        return -ENOMEM;
    uint32_t ready = 0;
    for (uint32_t r = 0; r < k; r++)
        ready += !isnan(s->an_score[r]);
    uint32_t seen = 0;
    for (uint32_t r = 0; r < k; r++) {
        uint32_t i = s->an_row[r];
        double sc = s->an_score[r];
        if (e->row_scores && !isnan(sc))
            m->scores[s->rs.row_ord[i]] = sc;
        uint32_t pi = s->pidx[i];
        an_part *a = pi == UINT32_MAX ? NULL : &m->parts[pi]->an;
        if (isnan(sc)) {
            if (a)
                a->not_ready++;
            continue;
        }
        seen++;
        if (!a)
            continue;
        a->scored++;
        if (seen > ready - judged) {
            a->judged++;
            a->hist[assay_an_bin(sc)]++;
        }
        a->flagged += (s->an_flag[r >> 6] >> (r & 63)) & 1;
        if (has_thr) {
            a->thr[v] = thr;
            a->thr_seq[v] = m->chunk.seq + 1;
        }
        if (sc >= a->top_min)
            keep_top(a, d, e->max_samples, s->pos[i], sc, s->an_x + (size_t)r * d);
    }
    return 0;
}

/* "0.123456" for a score in [0, 1]: six decimals by integer arithmetic (snprintf of a
 * double cost more than the forest on the reading thread). */
size_t assay_put_score(char *p, double v)
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

static int cmp_top(const void *a, const void *b)
{
    const an_sample *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int assay_anomaly_fill_result(const assay_engine *e, const an_part *src, assay_anomaly_result *a,
                              assay_error *err)
{
    size_t d = e->an_d;
    if (!d)
        return 0;
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
    a->scored = src->scored;
    a->not_ready = src->not_ready;
    a->anomalies = src->flagged;
    a->judged = src->judged;
    double thr_sum = 0;
    unsigned thr_n = 0;
    for (unsigned v = 0; v < ASSAY_VPARTS; v++)
        if (!isnan(src->thr[v]))
            thr_sum += src->thr[v], thr_n++;
    a->threshold = thr_n ? thr_sum / thr_n : NAN;
    a->rate = a->judged ? (double)a->anomalies / (double)a->judged : 0;
    an_sample *cand = calloc(src->ntop ? src->ntop : 1, sizeof(an_sample));
    if (!cand)
        goto oom;
    memcpy(cand, src->top, src->ntop * sizeof(an_sample));
    qsort(cand, src->ntop, sizeof(an_sample), cmp_top);
    a->nsamples = src->ntop;
    a->samples = calloc(a->nsamples ? a->nsamples : 1, sizeof(assay_anomaly_sample));
    if (!a->samples) {
        free(cand);
        goto oom;
    }
    for (size_t i = 0; i < a->nsamples; i++) {
        assay_anomaly_sample *o = &a->samples[i];
        o->row = cand[i].pos;
        o->score = cand[i].score;
        o->values = malloc(d * sizeof(double));
        if (!o->values) {
            free(cand);
            goto oom;
        }
        memcpy(o->values, cand[i].values, d * sizeof(double));
    }
    free(cand);
    if (!(a->hist = malloc(ASSAY_AN_BINS * sizeof(uint32_t))))
        goto oom;
    memcpy(a->hist, src->hist, ASSAY_AN_BINS * sizeof(uint32_t));
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
    free(a->hist);
    memset(a, 0, sizeof(*a));
}
