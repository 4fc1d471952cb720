/*
 * checkpoint.c - a run's state in state.dir/checkpoint.bin, so a restart (after a
 * SIGTERM, a crash or a SIGKILL) goes on exactly where the last checkpoint was taken.
 *
 * What is in it: the position after the last folded chunk (file, byte offset, chunk
 * sequence number) and the identity of the input files; the aggregator's counters and
 * watermark; every open sub-pane's accumulated state (counts, samples, and the
 * sketches in their own serialized forms: HyperLogLog, t-digest, Space-Saving, moments
 * as raw doubles); every open window's unique key sets, repeats and late/bad counts;
 * the isolation forest of every partition (trees, sliding window, PRNG, threshold);
 * and the alert engine's state (active alerts, the previous window's summary, the
 * volume, forecast and anomaly baselines, the drift baselines' sketches).
 * Together that is everything a fold of the next chunk reads, so records emitted after
 * a restart are byte for byte those of an uninterrupted run.
 *
 * Writing: the pipeline drains first (no chunk in flight, shards idle) and syncs the
 * sinks; then the file is written to checkpoint.bin.tmp, fsync()ed, renamed over
 * checkpoint.bin and the directory fsync()ed, so a crash leaves the old or the new
 * checkpoint, never a torn one. Format:
 *
 *     "ACKP" u32 version | u64 fingerprint | sections... | u64 XXH3 of all before
 *
 * The fingerprint hashes what the saved state means - rules (name, check, column,
 * action), columns and types, window spec, input format, chunk size, profile and
 * anomaly settings - so a checkpoint is never loaded into a job it does not fit: a
 * changed config is an error that says what to do, not silently wrong numbers.
 * Reading checks the magic, version, checksum and every length before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "alert/alerts.h"
#include "core/clock.h"
#include "core/grow.h"
#include "state/checkpoint.h"
#include "state/lock.h"

#define CK_MAGIC   "ACKP"
#define CK_VERSION 9u /* 9: expr rules' unevaluated count per partial */
#define CK_NAME    "checkpoint.bin"

/* ---------------------------------------------------------------------------------
 * Writer: buffered, hashing as it goes
 * ------------------------------------------------------------------------------- */

typedef struct ckw {
    FILE *f;
    XXH3_state_t *h;
    int err;
} ckw;

static void w_bytes(ckw *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->err = errno ? -errno : -EIO;
    XXH3_64bits_update(w->h, p, n);
}

/* Fixed-size scalars in the machine's byte order: a checkpoint is read back by the
 * same build on the same machine (the fingerprint and version say so). */
#define CK_SCALAR(T, suffix)                                                                       \
    static void w_##suffix(ckw *w, T v)                                                            \
    {                                                                                              \
        w_bytes(w, &v, sizeof(v));                                                                 \
    }
CK_SCALAR(uint8_t, u8)
CK_SCALAR(uint32_t, u32)
CK_SCALAR(uint64_t, u64)
CK_SCALAR(int64_t, i64)
CK_SCALAR(double, f64)
#undef CK_SCALAR
/* a string or NULL */
static void w_str(ckw *w, const char *s)
{
    if (!s) {
        w_u32(w, UINT32_MAX);
        return;
    }
    uint32_t n = (uint32_t)strlen(s);
    w_u32(w, n);
    w_bytes(w, s, n);
}
static void w_blob(ckw *w, const uint8_t *p, size_t n)
{
    w_u64(w, n);
    w_bytes(w, p, n);
}

/* ---------------------------------------------------------------------------------
 * Reader: bounds-checked cursor
 * ------------------------------------------------------------------------------- */

typedef struct ckr {
    const uint8_t *p;
    size_t n, at;
    bool bad;
} ckr;

static bool r_take(ckr *r, void *out, size_t n)
{
    if (r->bad || n > r->n - r->at) {
        r->bad = true;
        if (out)
            memset(out, 0, n);
        return false;
    }
    if (out)
        memcpy(out, r->p + r->at, n);
    r->at += n;
    return true;
}
#define CK_SCALAR(T, suffix)                                                                       \
    static T r_##suffix(ckr *r)                                                                    \
    {                                                                                              \
        T v;                                                                                       \
        r_take(r, &v, sizeof(v));                                                                  \
        return v;                                                                                  \
    }
CK_SCALAR(uint8_t, u8)
CK_SCALAR(uint32_t, u32)
CK_SCALAR(uint64_t, u64)
CK_SCALAR(int64_t, i64)
CK_SCALAR(double, f64)
#undef CK_SCALAR
/* malloc'd string, or NULL (also for NULL written); *ok false on a bad length */
static char *r_str(ckr *r, bool *ok)
{
    uint32_t n = r_u32(r);
    *ok = !r->bad;
    if (n == UINT32_MAX || r->bad)
        return NULL;
    if (n > r->n - r->at) {
        r->bad = true;
        *ok = false;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *ok = false;
        return NULL;
    }
    r_take(r, s, n);
    s[n] = '\0';
    return s;
}
/* a view of a blob in the buffer */
static const uint8_t *r_blob(ckr *r, size_t *n)
{
    uint64_t len = r_u64(r);
    if (r->bad || len > r->n - r->at) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    const uint8_t *p = r->p + r->at;
    r->at += len;
    *n = len;
    return p;
}

/* ---------------------------------------------------------------------------------
 * What the state means
 * ------------------------------------------------------------------------------- */

static void fp_str(XXH3_state_t *h, const char *s)
{
    XXH3_64bits_update(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t fingerprint(const assay_engine *e)
{
    XXH3_state_t *h = XXH3_createState();
    if (!h)
        return 0;
    XXH3_64bits_reset(h);
    const assay_config *cfg = e->cfg;
    uint64_t v[16] = { e->nrules,
                       e->sch.ncols,
                       (uint64_t)e->win.size_us,
                       (uint64_t)e->win.slide_us,
                       (uint64_t)e->win.lateness_us,
                       (uint64_t)e->win.event_time,
                       (uint64_t)e->format,
                       e->profile,
                       e->an_d,
                       e->an_opt.trees,
                       e->an_opt.sample,
                       e->an_opt.window,
                       e->an_opt.seed,
                       e->chunk_bytes,
                       cfg->limits.max_row_bytes,
                       e->max_samples };
    XXH3_64bits_update(h, v, sizeof(v));
    for (size_t r = 0; r < e->nrules; r++) {
        /* what the rule counts (severity and threshold only judge the counts) */
        const assay_rule_config *c = e->rules[r].cfg;
        fp_str(h, c->name);
        fp_str(h, c->column);
        fp_str(h, c->has_min ? c->min_text : NULL);
        fp_str(h, c->has_max ? c->max_text : NULL);
        fp_str(h, c->pattern);
        fp_str(h, c->format);
        fp_str(h, c->ref_file);
        fp_str(h, c->ref_column);
        for (size_t i = 0; i < c->nvalues; i++)
            fp_str(h, c->values[i]);
        uint64_t k[10] = { c->check,
                           c->action,
                           c->dimension,
                           c->nvalues,
                           c->min_inclusive,
                           c->max_inclusive,
                           (uint64_t)c->max_age_us,
                           c->has_min_length ? c->min_length : 0,
                           c->has_max_length ? c->max_length : UINT64_MAX,
                           0 };
        XXH3_64bits_update(h, k, sizeof(k));
    }
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        fp_str(h, e->sch.names[c]);
        uint32_t t = e->sch.types[c];
        XXH3_64bits_update(h, &t, sizeof(t));
    }
    /* the drift baselines' layout (other alert settings only judge the state) */
    uint64_t dv[2] = { cfg->alerts.ndrift_columns, cfg->alerts.drift_baseline };
    XXH3_64bits_update(h, dv, sizeof(dv));
    for (size_t i = 0; i < cfg->alerts.ndrift_columns; i++)
        fp_str(h, cfg->alerts.drift_columns[i]);
    fp_str(h, cfg->impact.revenue_column);
    fp_str(h, cfg->impact.user_column);
    uint64_t out = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return out;
}

void assay_checkpoint_identify(const char *const *paths, size_t n, assay_checkpoint_source *out)
{
    memset(out, 0, sizeof(*out));
    out->n = ASSAY_MIN(n, (size_t)ASSAY_CHECKPOINT_FILES);
    for (size_t i = 0; i < out->n; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISREG(st.st_mode)) {
            out->known[i] = true;
            out->dev[i] = (uint64_t)st.st_dev;
            out->ino[i] = (uint64_t)st.st_ino;
            out->size[i] = (uint64_t)st.st_size;
        }
    }
}

/* ---------------------------------------------------------------------------------
 * Sections
 * ------------------------------------------------------------------------------- */

/* A sketch's serialized form as a blob. (The serializer runs first: the buffer it fills
 * must not be read as an argument of the same call.) */
static void w_sketch(ckw *w, int rc, uint8_t **b, size_t *n)
{
    if (rc < 0) {
        w->err = rc;
        return;
    }
    w_blob(w, *b, *n);
    free(*b);
    *b = NULL;
}

/* A score histogram (ASSAY_AN_BINS counts; NULL when anomaly scoring is off), sparse:
 * the count of non-empty bins, then (bin, count) pairs. */
static void w_hist(ckw *w, const uint32_t *h)
{
    uint32_t n = 0;
    for (uint32_t b = 0; h && b < ASSAY_AN_BINS; b++)
        n += h[b] != 0;
    w_u32(w, n);
    for (uint32_t b = 0; h && b < ASSAY_AN_BINS; b++)
        if (h[b]) {
            w_u32(w, b);
            w_u32(w, h[b]);
        }
}

static bool r_hist(ckr *r, uint32_t *h)
{
    uint32_t n = r_u32(r);
    if (r->bad || n > ASSAY_AN_BINS || (n && !h))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = r_u32(r), c = r_u32(r);
        if (r->bad || b >= ASSAY_AN_BINS)
            return false;
        h[b] = c;
    }
    return true;
}

static void w_partial(ckw *w, const assay_engine *e, const assay_partial *p)
{
    w_i64(w, p->pane);
    w_i64(w, p->first);
    w_u64(w, p->rows);
    w_i64(w, p->lag_us);
    w_u32(w, p->nnewcols);
    for (uint32_t i = 0; i < p->nnewcols; i++) {
        w_str(w, p->newcols[i].name);
        w_u64(w, p->newcols[i].rows);
    }
    w_u64(w, p->newcols_other);
    for (size_t r = 0; r < e->nrules; r++) {
        const part_rule *pr = &p->rules[r];
        w_u64(w, pr->evaluated);
        w_u64(w, pr->failed);
        w_u64(w, pr->unevaluated);
        w_f64(w, pr->revenue);
        w_i64(w, pr->lag_us);
        w_u8(w, pr->users != NULL);
        if (pr->users) {
            uint8_t *b;
            size_t n;
            w_sketch(w, assay_hll_serialize(pr->users, &b, &n), &b, &n);
        }
        w_u32(w, pr->nsamples);
        for (uint32_t k = 0; k < pr->nsamples; k++) {
            w_u64(w, pr->samples[k].pos);
            w_u64(w, pr->samples[k].prio);
            w_u64(w, pr->samples[k].offset);
            w_str(w, pr->samples[k].value);
        }
    }
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        const col_profile *cp = &p->cols[c];
        uint8_t *b;
        size_t n;
        w_u64(w, cp->count);
        w_u64(w, cp->nulls);
        w_u64(w, cp->invalid);
        w_u8(w, cp->hll_used);
        if (cp->hll_used)
            w_sketch(w, assay_hll_serialize(cp->hll, &b, &n), &b, &n);
        bool td = cp->td && assay_tdigest_count(cp->td) + assay_tdigest_nan_count(cp->td) > 0;
        w_u8(w, td);
        if (td)
            w_sketch(w, assay_tdigest_save(cp->td, &b, &n), &b, &n);
        const assay_moments *m = &cp->mom;
        w_u64(w, m->n);
        w_f64(w, m->mean);
        w_f64(w, m->m2);
        w_f64(w, m->m3);
        w_f64(w, m->m4);
        w_f64(w, m->min);
        w_f64(w, m->max);
        w_f64(w, m->mean_lo);
        bool tk = cp->topk && assay_topk_total(cp->topk) > 0;
        w_u8(w, tk);
        if (tk)
            w_sketch(w, assay_topk_serialize(cp->topk, &b, &n), &b, &n);
        w_u8(w, cp->has_s);
        if (cp->has_s) {
            w_blob(w, (const uint8_t *)cp->smin, cp->smin_len);
            w_blob(w, (const uint8_t *)cp->smax, cp->smax_len);
        }
        w_u64(w, cp->len_min);
        w_u64(w, cp->len_max);
        w_u64(w, cp->len_sum);
        w_u64(w, cp->len_n);
        w_u64(w, cp->widened);
        w_u64(w, cp->n_nulltok);
        w_blob(w, (const uint8_t *)cp->nulltok, strnlen(cp->nulltok, sizeof(cp->nulltok) - 1));
        w_u64(w, cp->n_nan);
        w_u64(w, cp->n_pinf);
        w_u64(w, cp->n_ninf);
        w_u8(w, cp->has_i);
        w_u64(w, (uint64_t)cp->imin);
        w_u64(w, (uint64_t)cp->imax);
    }
    const an_part *a = &p->an;
    w_u64(w, a->scored);
    w_u64(w, a->not_ready);
    w_u64(w, a->judged);
    w_u64(w, a->flagged);
    w_u64(w, a->ntop);
    for (size_t k = 0; k < a->ntop; k++) {
        w_u64(w, a->top[k].pos);
        w_f64(w, a->top[k].score);
        w_bytes(w, a->top[k].values, e->an_d * sizeof(double));
    }
    for (unsigned v = 0; v < ASSAY_VPARTS; v++) {
        w_f64(w, a->thr[v]);
        w_u64(w, a->thr_seq[v]);
    }
    w_hist(w, a->hist);
}

static void w_set(ckw *w, const assay_hashset *s)
{
    w_u8(w, s != NULL);
    if (!s)
        return;
    w_u64(w, assay_hashset_size(s));
    size_t cur = 0;
    uint64_t key, val;
    while (assay_hashset_next(s, &cur, &key, &val)) {
        w_u64(w, key);
        w_u64(w, val);
    }
}

static void w_window(ckw *w, const assay_engine *e, const win_state *ws)
{
    w_i64(w, ws->k);
    w_u64(w, ws->late);
    w_u64(w, ws->bad);
    for (size_t r = 0; r < e->nrules; r++) {
        w_set(w, ws->uniq[r]);
        w_u8(w, ws->capped[r]);
        w_u64(w, ws->ufailed[r]);
        w_u32(w, ws->nus[r]);
        for (uint32_t k = 0; k < ws->nus[r]; k++) {
            w_u64(w, ws->usamples[r][k].pos); /* prio = pos, offset unknown: rebuilt */
            w_str(w, ws->usamples[r][k].value);
        }
    }
    w_set(w, ws->rowdups);
    w_u8(w, ws->rowdups_capped);
    w_u64(w, ws->rowdup_repeats);
}

static void w_alerts(ckw *w, const assay_alerter *al)
{
    w_u8(w, al != NULL);
    if (!al)
        return;
    w_u64(w, al->nact);
    for (size_t i = 0; i < al->nact; i++) {
        const assay_alert_active *x = &al->act[i];
        w_u32(w, (uint32_t)x->kind);
        w_str(w, x->subject);
        w_str(w, x->column);
        w_str(w, x->rule);
        w_str(w, x->metric);
        w_str(w, x->title);
        w_bytes(w, x->id, sizeof(x->id));
        w_u32(w, (uint32_t)x->severity);
        w_i64(w, x->fired_start);
        w_i64(w, x->fired_end);
        w_f64(w, x->threshold);
        w_f64(w, x->fired_value);
        w_f64(w, x->ref);
        w_u32(w, x->clear);
        w_u8(w, x->acked);
    }
    const assay_alert_prev *p = &al->prev;
    w_u8(w, p->valid);
    w_f64(w, p->overall);
    for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
        w_f64(w, p->dims[d]);
        w_u8(w, p->dim_present[d]);
        w_u64(w, p->dim_checks[d]);
    }
    w_u64(w, p->rows);
    w_u64(w, p->bad_rows);
    w_u64(w, p->breached);
    w_u64(w, p->nrules);
    for (size_t r = 0; r < p->nrules; r++) {
        w_u64(w, p->rule_failed[r]);
        w_u64(w, p->rule_evaluated[r]);
    }
    w_u32(w, al->empty_run);
    w_u64(w, al->vol_n);
    w_f64(w, al->vol_mean);
    w_f64(w, al->vol_var);
    w_u64(w, al->holt_n);
    w_f64(w, al->holt_level);
    w_f64(w, al->holt_trend);
    w_u64(w, al->an_n);
    w_f64(w, al->an_mean);
    w_u32(w, al->an_nbase);
    w_u32(w, al->an_next);
    for (uint32_t k = 0; k < al->an_nbase; k++)
        w_hist(w, al->an_base + (size_t)k * ASSAY_AN_BINS);
    w_u64(w, al->nschema);
    w_bytes(w, al->schema_seen, al->schema_seen ? al->nschema : 0);
    w_u64(w, al->ndrift);
    for (size_t i = 0; i < al->ndrift; i++) {
        const assay_drift_base *d = &al->drift[i];
        w_u32(w, d->col);
        w_u8(w, d->numeric);
        w_u32(w, d->n);
        w_u32(w, d->next);
        for (uint32_t k = 0; k < d->n; k++) {
            uint8_t *b = NULL;
            size_t n = 0;
            int rc = d->numeric ? assay_tdigest_save(d->td[k], &b, &n)
                                : assay_topk_serialize(d->tk[k], &b, &n);
            w_sketch(w, rc, &b, &n);
        }
    }
}

int assay_checkpoint_write(const char *dir, const assay_engine *e, const assay_agg *a,
                           const assay_checkpoint_source *src, const assay_sink_marks *sinks,
                           assay_error *err)
{
    char path[4096], tmp[4096];
    int rc = assay_state_mkdir(dir);
    if (rc < 0)
        return assay_error_set(err, rc, "state.dir %s: cannot create: %s", dir, strerror(-rc));
    snprintf(path, sizeof(path), "%s/%s", dir, CK_NAME);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, CK_NAME);
    ckw w = { .f = fopen(tmp, "wb"), .h = XXH3_createState() };
    if (!w.f || !w.h) {
        int en = errno ? errno : ENOMEM;
        if (w.f)
            fclose(w.f);
        XXH3_freeState(w.h);
        return assay_error_set(err, -en, "%s: cannot write a checkpoint: %s", tmp, strerror(en));
    }
    XXH3_64bits_reset(w.h);
    w_bytes(&w, CK_MAGIC, 4);
    w_u32(&w, CK_VERSION);
    w_u64(&w, fingerprint(e));
    /* position and input identity */
    uint32_t part = a->file == UINT32_MAX ? 0 : a->file;
    uint64_t off = a->next_off;
    if (a->file != UINT32_MAX && src->n > part && src->known[part] && off >= src->size[part] &&
        part + 1 < e->npaths) {
        part++; /* the file is done: the next one starts at 0 */
        off = 0;
    }
    w_u32(&w, part);
    w_u64(&w, off);
    w_u64(&w, a->next_seq);
    /* per-part streams (Kafka): each partition's watermark input and next offset */
    w_u32(&w, (uint32_t)a->nparts);
    for (size_t i = 0; i < a->nparts; i++) {
        w_u32(&w, a->parts[i].part);
        w_i64(&w, a->parts[i].max_event);
        w_u64(&w, a->parts[i].next_off);
    }
    w_u32(&w, (uint32_t)src->n);
    for (size_t i = 0; i < src->n; i++) {
        w_u8(&w, src->known[i]);
        w_u64(&w, src->dev[i]);
        w_u64(&w, src->ino[i]);
    }
    /* where each file sink stood */
    w_u32(&w, (uint32_t)sinks->n);
    for (size_t i = 0; i < sinks->n; i++) {
        w_str(&w, sinks->v[i].name);
        w_u64(&w, sinks->v[i].dev);
        w_u64(&w, sinks->v[i].ino);
        w_u64(&w, sinks->v[i].size);
    }
    /* aggregator counters */
    w_u64(&w, a->rows);
    w_u64(&w, a->bytes);
    w_u64(&w, a->chunks);
    w_u32(&w, a->file);
    w_u64(&w, a->lines);
    w_i64(&w, a->max_event);
    w_i64(&w, a->wm);
    w_u8(&w, a->started);
    w_i64(&w, a->next);
    w_u64(&w, a->pend_late);
    w_u64(&w, a->pend_bad);
    w_u64(&w, a->nbad);
    w_u64(&w, a->windows_emitted);
    w_u64(&w, a->windows_skipped);
    w_u32(&w, (uint32_t)a->nbad_kept);
    for (size_t i = 0; i < a->nbad_kept; i++) {
        const assay_bad_sample *b = &a->bad[i];
        w_u32(&w, b->file);
        w_u64(&w, b->line);
        w_u64(&w, b->row);
        w_str(&w, b->reason);
        w_str(&w, b->text);
    }
    w_u64(&w, a->nsubs);
    for (size_t i = 0; i < a->nsubs; i++)
        w_partial(&w, e, a->subs[i]);
    w_u64(&w, a->nwins);
    for (size_t i = 0; i < a->nwins; i++)
        w_window(&w, e, a->wins[i]);
    /* forests */
    w_u32(&w, e->an_d ? ASSAY_VPARTS : 0);
    for (unsigned v = 0; e->an_d && v < ASSAY_VPARTS; v++) {
        uint8_t *b;
        size_t n;
        w_sketch(&w, assay_iforest_serialize(assay_anomaly_forest(e, v), &b, &n), &b, &n);
    }
    w_alerts(&w, a->alerter);
    uint64_t sum = XXH3_64bits_digest(w.h);
    XXH3_freeState(w.h);
    if (!w.err && fwrite(&sum, 1, 8, w.f) != 8)
        w.err = errno ? -errno : -EIO;
    if (!w.err && (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0))
        w.err = errno ? -errno : -EIO;
    if (fclose(w.f) != 0 && !w.err)
        w.err = errno ? -errno : -EIO;
    if (!w.err && rename(tmp, path) != 0)
        w.err = -errno;
    if (w.err) {
        unlink(tmp);
        return assay_error_set(err, w.err, "%s: cannot write a checkpoint: %s", path,
                               strerror(-w.err));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------- */

static int read_file(const char *path, uint8_t **out, size_t *len, assay_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        return assay_error_set(err, -errno, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int en = errno;
        close(fd);
        return assay_error_set(err, -en, "%s: %s", path, strerror(en));
    }
    size_t n = (size_t)st.st_size;
    uint8_t *b = malloc(n ? n : 1);
    size_t got = 0;
    while (b && got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (!b)
        return assay_error_set(err, -ENOMEM, "out of memory reading %s", path);
    if (got != n) {
        free(b);
        return assay_error_set(err, -EIO, "%s: short read", path);
    }
    *out = b;
    *len = n;
    return 1;
}

/* Check magic, version and checksum; the reader starts after the version. */
static int open_checked(const char *dir, uint8_t **buf, ckr *r, char *path, size_t cap,
                        assay_error *err)
{
    snprintf(path, cap, "%s/%s", dir, CK_NAME);
    size_t len = 0;
    int rc = read_file(path, buf, &len, err);
    if (rc <= 0)
        return rc;
    const char *why = NULL;
    uint32_t ver = 0;
    if (len < 24 || memcmp(*buf, CK_MAGIC, 4) != 0)
        why = "not an assay checkpoint";
    else if (memcpy(&ver, *buf + 4, 4), ver != CK_VERSION)
        why = "written by another version of assay";
    else {
        uint64_t sum;
        memcpy(&sum, *buf + len - 8, 8);
        if (XXH3_64bits(*buf, len - 8) != sum)
            why = "its checksum does not match (torn or corrupted)";
    }
    if (why) {
        free(*buf);
        *buf = NULL;
        return assay_error_set(err, -EINVAL,
                               "%s: %s; move it away to start over, or run with --from-beginning",
                               path, why);
    }
    *r = (ckr){ .p = *buf, .n = len - 8, .at = 8 };
    return 1;
}

void assay_checkpoint_info_free(assay_checkpoint_info *ck)
{
    free(ck->resume);
    ck->resume = NULL;
    ck->nresume = 0;
}

int assay_checkpoint_peek(const char *dir, assay_checkpoint_info *out, assay_error *err)
{
    memset(out, 0, sizeof(*out));
    uint8_t *buf = NULL;
    ckr r;
    char path[4096];
    int rc = open_checked(dir, &buf, &r, path, sizeof(path), err);
    if (rc <= 0)
        return rc;
    r_u64(&r); /* fingerprint: checked when loading */
    out->position.part = r_u32(&r);
    out->position.offset = r_u64(&r);
    out->position.seq = r_u64(&r);
    uint32_t np = r_u32(&r);
    if (!r.bad && np && np <= (r.n - r.at) / 20) {
        out->resume = calloc(np, sizeof(*out->resume));
        for (uint32_t i = 0; out->resume && i < np; i++) {
            out->resume[i].partition = (int32_t)r_u32(&r);
            r_i64(&r);
            out->resume[i].offset = (int64_t)r_u64(&r);
        }
        if (!out->resume) {
            free(buf);
            return assay_error_set(err, -ENOMEM, "out of memory reading %s", path);
        }
        out->nresume = np;
    } else if (np) {
        r.bad = true;
    }
    out->found = !r.bad;
    if (r.bad)
        assay_checkpoint_info_free(out);
    free(buf);
    return 0;
}

static int r_sketch_hll(ckr *r, assay_hll **out, assay_error *err)
{
    size_t n;
    const uint8_t *b = r_blob(r, &n);
    if (!b)
        return assay_error_set(err, -EINVAL, "truncated");
    return assay_hll_deserialize(b, n, out, err);
}

static int r_partial(ckr *r, const assay_engine *e, assay_partial *p, assay_error *err)
{
    int rc;
    bool ok = true;
    p->pane = r_i64(r);
    p->first = r_i64(r);
    p->rows = r_u64(r);
    p->lag_us = r_i64(r);
    uint32_t nn = r_u32(r);
    if (r->bad || nn > ASSAY_NEW_COLUMNS)
        return assay_error_set(err, -EINVAL, "too many new columns");
    for (uint32_t i = 0; i < nn && ok; i++) {
        char *name = r_str(r, &ok);
        uint64_t rows = r_u64(r);
        if (ok && name && assay_partial_new_column(p, name, strlen(name), rows) < 0)
            ok = false;
        ok = ok && name;
        free(name);
    }
    p->newcols_other = r_u64(r);
    p->folded = true;
    for (size_t ri = 0; ri < e->nrules; ri++) {
        part_rule *pr = &p->rules[ri];
        pr->evaluated = r_u64(r);
        pr->failed = r_u64(r);
        pr->unevaluated = r_u64(r);
        pr->revenue = r_f64(r);
        pr->lag_us = r_i64(r);
        if (r_u8(r)) {
            assay_hll_free(pr->users);
            pr->users = NULL;
            if ((rc = r_sketch_hll(r, &pr->users, err)) < 0)
                return rc;
        }
        uint32_t ns = r_u32(r);
        if (ns > e->max_samples)
            return assay_error_set(err, -EINVAL, "too many samples");
        for (uint32_t k = 0; k < ns && ok; k++) {
            pr->samples[k].pos = r_u64(r);
            pr->samples[k].prio = r_u64(r);
            pr->samples[k].offset = r_u64(r);
            pr->samples[k].value = r_str(r, &ok);
            pr->nsamples = k + 1;
        }
    }
    for (uint32_t c = 0; c < e->sch.ncols && ok && !r->bad; c++) {
        col_profile *cp = &p->cols[c];
        cp->count = r_u64(r);
        cp->nulls = r_u64(r);
        cp->invalid = r_u64(r);
        if (r_u8(r)) {
            assay_hll_free(cp->hll);
            cp->hll = NULL;
            if ((rc = r_sketch_hll(r, &cp->hll, err)) < 0)
                return rc;
            cp->hll_used = true;
        }
        size_t n;
        const uint8_t *b;
        if (r_u8(r)) {
            assay_tdigest_free(cp->td);
            cp->td = NULL;
            if (!(b = r_blob(r, &n)) || (rc = assay_tdigest_restore(b, n, &cp->td, err)) < 0)
                return assay_error_set(err, -EINVAL, "a t-digest does not load");
        }
        assay_moments *m = &cp->mom;
        m->n = r_u64(r);
        m->mean = r_f64(r);
        m->m2 = r_f64(r);
        m->m3 = r_f64(r);
        m->m4 = r_f64(r);
        m->min = r_f64(r);
        m->max = r_f64(r);
        m->mean_lo = r_f64(r);
        if (r_u8(r)) {
            assay_topk_free(cp->topk);
            cp->topk = NULL;
            if (!(b = r_blob(r, &n)) || (rc = assay_topk_deserialize(b, n, &cp->topk, err)) < 0)
                return assay_error_set(err, -EINVAL, "a top-k summary does not load");
        }
        cp->has_s = r_u8(r) != 0;
        if (cp->has_s) {
            const uint8_t *s1 = r_blob(r, &n);
            size_t n2;
            const uint8_t *s2 = s1 ? r_blob(r, &n2) : NULL;
            if (!s1 || !s2 || n > UINT32_MAX - 1 || n2 > UINT32_MAX - 1)
                return assay_error_set(err, -EINVAL, "truncated");
            cp->smin = malloc(n + 1);
            cp->smax = malloc(n2 + 1);
            if (!cp->smin || !cp->smax)
                return -ENOMEM;
            memcpy(cp->smin, s1, n);
            cp->smin[n] = '\0';
            memcpy(cp->smax, s2, n2);
            cp->smax[n2] = '\0';
            cp->smin_len = (uint32_t)n;
            cp->smax_len = (uint32_t)n2;
            cp->smin_cap = (uint32_t)n + 1;
            cp->smax_cap = (uint32_t)n2 + 1;
        }
        cp->len_min = r_u64(r);
        cp->len_max = r_u64(r);
        cp->len_sum = r_u64(r);
        cp->len_n = r_u64(r);
        cp->widened = r_u64(r);
        cp->n_nulltok = r_u64(r);
        {
            size_t tl;
            const uint8_t *tb = r_blob(r, &tl);
            if (!tb || tl >= sizeof(cp->nulltok))
                return assay_error_set(err, -EINVAL, "truncated");
            memcpy(cp->nulltok, tb, tl);
            cp->nulltok[tl] = '\0';
        }
        cp->n_nan = r_u64(r);
        cp->n_pinf = r_u64(r);
        cp->n_ninf = r_u64(r);
        cp->has_i = r_u8(r) != 0;
        cp->imin = (int64_t)r_u64(r);
        cp->imax = (int64_t)r_u64(r);
    }
    an_part *a = &p->an;
    a->scored = r_u64(r);
    a->not_ready = r_u64(r);
    a->judged = r_u64(r);
    a->flagged = r_u64(r);
    uint64_t nt = r_u64(r);
    if (nt > e->max_samples || (nt && !e->an_d))
        return assay_error_set(err, -EINVAL, "too many anomaly samples");
    for (uint64_t k = 0; k < nt; k++) {
        a->top[k].pos = r_u64(r);
        a->top[k].score = r_f64(r);
        r_take(r, a->top[k].values, e->an_d * sizeof(double));
    }
    a->ntop = nt;
    if (nt == e->max_samples && nt) {
        double lo = INFINITY;
        for (size_t k = 0; k < nt; k++)
            lo = a->top[k].score < lo ? a->top[k].score : lo;
        a->top_min = lo;
    }
    for (unsigned v = 0; v < ASSAY_VPARTS; v++) {
        a->thr[v] = r_f64(r);
        a->thr_seq[v] = r_u64(r);
    }
    if (!r_hist(r, a->hist))
        return assay_error_set(err, -EINVAL, "bad anomaly score histogram");
    if (!ok || r->bad)
        return assay_error_set(err, -EINVAL, "truncated");
    return 0;
}

static int r_set(ckr *r, const assay_engine *e, assay_hashset **out)
{
    *out = NULL;
    if (!r_u8(r))
        return 0;
    uint64_t n = r_u64(r);
    if (r->bad || n > (r->n - r->at) / 16)
        return -EINVAL;
    int rc = assay_hashset_new(out, (size_t)n, e->cfg->limits.unique_memory);
    if (rc < 0)
        return rc;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t key = r_u64(r), val = r_u64(r);
        if (assay_hashset_insert(*out, key, val, NULL) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int r_window(ckr *r, const assay_engine *e, win_state *w)
{
    bool ok = true;
    int rc;
    w->k = r_i64(r);
    w->late = r_u64(r);
    w->bad = r_u64(r);
    for (size_t ri = 0; ri < e->nrules; ri++) {
        if ((rc = r_set(r, e, &w->uniq[ri])) < 0)
            return rc;
        w->capped[ri] = r_u8(r) != 0;
        w->ufailed[ri] = r_u64(r);
        uint32_t ns = r_u32(r);
        if (ns > e->max_samples)
            return -EINVAL;
        if (ns && !(w->usamples[ri] = calloc(e->max_samples, sizeof(pos_sample))))
            return -ENOMEM;
        for (uint32_t k = 0; k < ns && ok; k++) {
            w->usamples[ri][k].pos = w->usamples[ri][k].prio = r_u64(r);
            w->usamples[ri][k].offset = UINT64_MAX;
            w->usamples[ri][k].value = r_str(r, &ok);
            w->nus[ri] = k + 1;
        }
    }
    if ((rc = r_set(r, e, &w->rowdups)) < 0)
        return rc;
    w->rowdups_capped = r_u8(r) != 0;
    w->rowdup_repeats = r_u64(r);
    return ok && !r->bad ? 0 : -EINVAL;
}

/* Loaded window positions must be what a run can produce: times and window numbers far
 * from overflowing k * slide, each sub-pane's first window among its pane's, keys in
 * order. (A checkpoint is checksummed; this guards against one from a buggy writer.) */
/* The alert engine's state; false when it does not load. */
static bool r_alerts(ckr *r, assay_alerter *al)
{
    bool had = r_u8(r) != 0, ok = true;
    if (!had)
        return !r->bad;
    if (!al)
        return false;
    uint64_t na = r_u64(r);
    if (r->bad || na > r->n - r->at)
        return false;
    for (uint64_t i = 0; i < na && ok && !r->bad; i++) {
        assay_alert_active x = { 0 };
        x.kind = (assay_alert_kind)r_u32(r);
        x.subject = r_str(r, &ok);
        if (ok)
            x.column = r_str(r, &ok);
        if (ok)
            x.rule = r_str(r, &ok);
        if (ok)
            x.metric = r_str(r, &ok);
        if (ok)
            x.title = r_str(r, &ok);
        r_take(r, x.id, sizeof(x.id));
        x.id[16] = 0;
        x.severity = (assay_severity)r_u32(r);
        x.fired_start = r_i64(r);
        x.fired_end = r_i64(r);
        x.threshold = r_f64(r);
        x.fired_value = r_f64(r);
        x.ref = r_f64(r);
        x.clear = r_u32(r);
        x.acked = r_u8(r) != 0;
        if (!ok || r->bad || !x.subject || !x.metric || !x.title ||
            (unsigned)x.kind >= ASSAY_ALERT_KIND_COUNT || (unsigned)x.severity >= ASSAY_SEV_COUNT ||
            ASSAY_RESERVE(al->act, al->nact, al->act_cap, 8) < 0) {
            free(x.subject);
            free(x.column);
            free(x.rule);
            free(x.metric);
            free(x.title);
            return false;
        }
        al->act[al->nact++] = x;
    }
    assay_alert_prev *p = &al->prev;
    p->valid = r_u8(r) != 0;
    p->overall = r_f64(r);
    for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
        p->dims[d] = r_f64(r);
        p->dim_present[d] = r_u8(r) != 0;
        p->dim_checks[d] = r_u64(r);
    }
    p->rows = r_u64(r);
    p->bad_rows = r_u64(r);
    p->breached = r_u64(r);
    uint64_t nr = r_u64(r);
    if (r->bad || nr > (r->n - r->at) / 16)
        return false;
    p->nrules = nr;
    p->rule_failed = calloc(nr ? nr : 1, sizeof(uint64_t));
    p->rule_evaluated = calloc(nr ? nr : 1, sizeof(uint64_t));
    if (!p->rule_failed || !p->rule_evaluated)
        return false;
    for (uint64_t i = 0; i < nr; i++) {
        p->rule_failed[i] = r_u64(r);
        p->rule_evaluated[i] = r_u64(r);
    }
    al->empty_run = r_u32(r);
    al->vol_n = r_u64(r);
    al->vol_mean = r_f64(r);
    al->vol_var = r_f64(r);
    al->holt_n = r_u64(r);
    al->holt_level = r_f64(r);
    al->holt_trend = r_f64(r);
    al->an_n = r_u64(r);
    al->an_mean = r_f64(r);
    al->an_nbase = r_u32(r);
    al->an_next = r_u32(r);
    if (r->bad || al->an_nbase > ASSAY_AN_BASE || al->an_next >= ASSAY_AN_BASE)
        return false;
    if (al->an_nbase &&
        !(al->an_base = calloc((size_t)ASSAY_AN_BASE * ASSAY_AN_BINS, sizeof(uint32_t))))
        return false;
    for (uint32_t k = 0; k < al->an_nbase; k++)
        if (!r_hist(r, al->an_base + (size_t)k * ASSAY_AN_BINS))
            return false;
    uint64_t ns = r_u64(r);
    if (r->bad || ns > r->n - r->at)
        return false;
    if (ns) {
        al->nschema = ns;
        if (!(al->schema_seen = malloc(ns)))
            return false;
        r_take(r, al->schema_seen, ns);
    }
    uint64_t nd = r_u64(r);
    if (r->bad || nd != al->cfg->alerts.ndrift_columns)
        return nd == 0 && !r->bad;
    uint32_t b = al->cfg->alerts.drift_baseline;
    if (!(al->drift = calloc(nd, sizeof(*al->drift))))
        return false;
    for (uint64_t i = 0; i < nd; i++) {
        assay_drift_base *d = &al->drift[al->ndrift++];
        d->col = r_u32(r);
        d->numeric = r_u8(r) != 0;
        d->n = r_u32(r);
        d->next = r_u32(r);
        if (d->numeric)
            d->td = calloc(b, sizeof(*d->td));
        else
            d->tk = calloc(b, sizeof(*d->tk));
        if (r->bad || d->n > b || d->next >= b || (!d->td && !d->tk))
            return false;
        for (uint32_t k = 0; k < d->n; k++) {
            size_t n;
            const uint8_t *bl = r_blob(r, &n);
            assay_error e2 = { 0 };
            if (!bl || (d->numeric ? assay_tdigest_restore(bl, n, &d->td[k], &e2)
                                   : assay_topk_deserialize(bl, n, &d->tk[k], &e2)) < 0)
                return false;
        }
    }
    return !r->bad;
}

static bool sane(const assay_engine *e, const assay_agg *a)
{
    const assay_window_spec *w = &e->win;
    int64_t lim = w->global ? 0 : (INT64_MAX / 4) / w->slide_us;
    int64_t tlim = INT64_MAX / 4;
    if ((a->wm != ASSAY_TIME_NONE && (a->wm > tlim || a->wm < -tlim)) ||
        (a->max_event != ASSAY_TIME_NONE && (a->max_event > tlim || a->max_event < -tlim)))
        return false;
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].max_event != ASSAY_TIME_NONE &&
            (a->parts[i].max_event > tlim || a->parts[i].max_event < -tlim))
            return false;
    if (a->started && (a->next > lim || a->next < -lim))
        return false;
    for (size_t i = 0; i < a->nsubs; i++) {
        const assay_partial *p = a->subs[i];
        if (p->pane > lim || p->pane < -lim || p->first > p->pane || p->pane - p->first >= w->q)
            return false;
        if (i && (p->pane < a->subs[i - 1]->pane ||
                  (p->pane == a->subs[i - 1]->pane && p->first <= a->subs[i - 1]->first)))
            return false;
        if (!a->started)
            return false;
    }
    for (size_t i = 0; i < a->nwins; i++) {
        int64_t k = a->wins[i]->k;
        if (k > lim || k < -lim || (i && k <= a->wins[i - 1]->k))
            return false;
    }
    return true;
}

/* Everything after the version, into a fresh aggregator and the forests. */
static int load_sections(ckr r, const char *path, assay_engine *e, assay_agg *a,
                         const assay_checkpoint_source *src, assay_sink_marks *sinks,
                         assay_error *err)
{
    int rc = 0;
    bool ok = true;
    const char *why = NULL;
    if (r_u64(&r) != fingerprint(e)) {
        why = "it was written for another config (rules, columns, window or limits changed); "
              "remove it or run with --from-beginning to start over";
        goto out;
    }
    r_u32(&r); /* position: the source was opened there */
    r_u64(&r);
    r_u64(&r);
    uint32_t np = r_u32(&r);
    if (r.bad || np > (r.n - r.at) / 20) {
        why = "corrupt (partitions)";
        goto out;
    }
    for (uint32_t i = 0; i < np; i++) {
        uint32_t part = r_u32(&r);
        agg_part *pt = assay_agg_part(a, part);
        if (!pt) {
            rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
            goto out;
        }
        pt->max_event = r_i64(&r);
        pt->next_off = r_u64(&r);
        pt->heard_us = assay_wall_us();
    }
    uint32_t nid = r_u32(&r);
    for (uint32_t i = 0; i < nid && !r.bad; i++) {
        bool known = r_u8(&r) != 0;
        uint64_t dev = r_u64(&r), ino = r_u64(&r);
        if (known && i < src->n && src->known[i] && (src->dev[i] != dev || src->ino[i] != ino)) {
            why = "the input file was replaced since (another inode); remove the checkpoint or "
                  "run with --from-beginning";
            goto out;
        }
    }
    uint32_t nsk = r_u32(&r);
    if (r.bad || nsk > r.n - r.at) {
        why = "corrupt (sinks)";
        goto out;
    }
    if (!(sinks->v = calloc(nsk ? nsk : 1, sizeof(*sinks->v)))) {
        rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
        goto out;
    }
    for (uint32_t i = 0; i < nsk && ok; i++) {
        assay_sink_mark *m = &sinks->v[i];
        m->name = r_str(&r, &ok);
        m->dev = r_u64(&r);
        m->ino = r_u64(&r);
        m->size = r_u64(&r);
        sinks->n = i + 1;
        if (!m->name)
            ok = false;
    }
    if (!ok || r.bad) {
        why = "corrupt (sinks)";
        goto out;
    }
    a->rows = r_u64(&r);
    a->bytes = r_u64(&r);
    a->chunks = r_u64(&r);
    a->file = r_u32(&r);
    a->lines = r_u64(&r);
    a->max_event = r_i64(&r);
    a->wm = r_i64(&r);
    a->started = r_u8(&r) != 0;
    a->next = r_i64(&r);
    a->pend_late = r_u64(&r);
    a->pend_bad = r_u64(&r);
    a->nbad = r_u64(&r);
    a->windows_emitted = r_u64(&r);
    a->windows_skipped = r_u64(&r);
    uint32_t nb = r_u32(&r);
    if (nb > ASSAY_BAD_SAMPLES) {
        why = "corrupt (bad-row samples)";
        goto out;
    }
    for (uint32_t i = 0; i < nb && ok; i++) {
        assay_bad_sample *b = &a->bad[i];
        b->file = r_u32(&r);
        b->line = r_u64(&r);
        b->row = r_u64(&r);
        char *reason = r_str(&r, &ok);
        snprintf(b->reason, sizeof(b->reason), "%s", reason ? reason : "");
        free(reason);
        b->text = r_str(&r, &ok);
        a->nbad_kept = i + 1;
    }
    uint64_t ns = r_u64(&r);
    if (r.bad || ns > r.n) {
        why = "corrupt (sub-panes)";
        goto out;
    }
    a->subs = calloc(ns ? ns : 1, sizeof(*a->subs));
    a->subs_cap = ns ? ns : 1;
    if (!a->subs) {
        rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
        goto out;
    }
    for (uint64_t i = 0; i < ns; i++) {
        assay_partial *p = assay_agg_sub_new(e, 0, 0);
        if (!p) {
            rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
            goto out;
        }
        a->subs[a->nsubs++] = p;
        assay_error e2 = { 0 };
        if (r_partial(&r, e, p, &e2) < 0) {
            why = "corrupt (a sub-pane does not load)";
            goto out;
        }
    }
    uint64_t nw = r_u64(&r);
    if (r.bad || nw > r.n) {
        why = "corrupt (windows)";
        goto out;
    }
    a->wins = calloc(nw ? nw : 1, sizeof(*a->wins));
    a->wins_cap = nw ? nw : 1;
    if (!a->wins) {
        rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
        goto out;
    }
    for (uint64_t i = 0; i < nw; i++) {
        win_state *w = assay_agg_window_new(e, 0);
        if (!w) {
            rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
            goto out;
        }
        a->wins[a->nwins++] = w;
        if (r_window(&r, e, w) < 0) {
            why = "corrupt (a window does not load)";
            goto out;
        }
    }
    uint32_t nf = r_u32(&r);
    if (nf != (e->an_d ? ASSAY_VPARTS : 0u)) {
        why = "corrupt (forests)";
        goto out;
    }
    for (unsigned v = 0; v < nf; v++) {
        size_t n;
        const uint8_t *b = r_blob(&r, &n);
        assay_iforest *f = NULL;
        assay_error e2 = { 0 };
        if (!b || assay_iforest_deserialize(b, n, &f, &e2) < 0) {
            why = "corrupt (a forest does not load)";
            goto out;
        }
        assay_shard *s = &e->shards[v % e->nshards];
        assay_iforest_free(s->forests[v]);
        s->forests[v] = f;
    }
    if (!r_alerts(&r, a->alerter))
        why = "corrupt (alert state)";
    else if (r.bad || r.at != r.n)
        why = "corrupt (trailing or missing bytes)";
    else if (!sane(e, a))
        why = "corrupt (window positions out of range or out of order)";
out:
    if (why)
        return assay_error_set(err, -EINVAL, "%s: cannot resume: %s", path, why);
    return rc;
}

int assay_checkpoint_load(const char *dir, assay_engine *e, assay_agg *a,
                          const assay_checkpoint_source *src, assay_sink_marks *sinks,
                          assay_error *err)
{
    uint8_t *buf = NULL;
    ckr r;
    char path[4096];
    int rc = open_checked(dir, &buf, &r, path, sizeof(path), err);
    if (rc <= 0)
        return rc;
    rc = load_sections(r, path, e, a, src, sinks, err);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------------------------
 * Fuzzing hook (tests/fuzz/fuzz_checkpoint.c): the sections of a checkpoint from
 * arbitrary bytes, into a small fixed job (three columns, a unique and a not_null rule;
 * forests have their own target, fuzz_sketch); magic, version, fingerprint and checksum
 * are supplied, so the fuzzer reaches the section parser. Returns what the loader
 * returned.
 * ------------------------------------------------------------------------------- */

static int fuzz_alert(void *ctx, const assay_alert *a, assay_error *err)
{
    (void)ctx, (void)a, (void)err;
    return 0;
}

/* closed windows go through the alert engine the loaded state restored */
static int fuzz_window(void *ctx, assay_result *w, assay_error *err)
{
    int rc = assay_alerter_window(ctx, w, w->closed_by_end, fuzz_alert, NULL, err);
    assay_result_free(w);
    return rc == -ENOMEM ? rc : 0;
}

int assay_checkpoint__fuzz(const uint8_t *data, size_t len);
int assay_checkpoint__fuzz(const uint8_t *data, size_t len)
{
    static const char yaml[] = "asset: f\nevent_time: t\nwindow: {size: 60s, slide: 30s}\n"
                               "columns: [{name: t, type: timestamp}, {name: x, type: float}]\n"
                               "rules: [{column: x, check: unique}, {column: x, check: not_null}]\n"
                               "limits: {samples: 3}\n"
                               "alerts: {drift: {columns: [x], baseline: 2}}\n";
    static const char csv[] = "t,x,y\n2026-01-01T00:00:00Z,1.5,2\n";
    assay_config *cfg = NULL;
    if (assay_config_parse(yaml, sizeof(yaml) - 1, "f.yaml", &cfg, NULL) < 0)
        return -ENOMEM;
    assay_engine_options o;
    assay_engine_options_default(&o);
    o.cfg = cfg;
    o.profile = true;
    assay_engine e;
    memset(&e, 0, sizeof(e));
    e.opt = &o;
    e.cfg = cfg;
    e.batch_rows = 64;
    e.chunk_bytes = 65536;
    e.max_samples = cfg->limits.samples;
    e.profile = true;
    e.hll_p = 16;
    e.nshards = 1;
    e.format = ASSAY_FORMAT_CSV;
    e.win = (assay_window_spec){ .event_time = true, .size_us = 60000000, .slide_us = 30000000 };
    assay_window_spec_check(&e.win, NULL, NULL);
    assay_engine_parser_options(&e);
    assay_chunk ch = { .data = csv, .len = sizeof(csv) - 1, .first_in_file = true };
    size_t start;
    assay_agg a;
    memset(&a, 0, sizeof(a));
    int rc = assay_engine_schema(&e, &ch, "f.csv", &start, NULL);
    if (rc == 0)
        rc = assay_engine_compile(&e, NULL);
    if (rc == 0 && !(e.shards = calloc(1, sizeof(assay_shard))))
        rc = -ENOMEM;
    if (rc == 0)
        rc = assay_shard_init(&e, &e.shards[0], 0);
    assay_alerter al;
    assay_alerter_init(&al, cfg, true, NULL);
    assay_agg_hooks h = { .window = fuzz_window, .ctx = &al };
    if (rc == 0)
        rc = assay_agg_init(&a, &e, &h);
    a.alerter = &al;
    if (rc == 0) {
        size_t n = 16 + len;
        uint8_t *buf = malloc(n);
        if (!buf) {
            rc = -ENOMEM;
        } else {
            memcpy(buf, CK_MAGIC, 4);
            uint32_t ver = CK_VERSION;
            memcpy(buf + 4, &ver, 4);
            uint64_t fp = fingerprint(&e);
            memcpy(buf + 8, &fp, 8);
            memcpy(buf + 16, data, len);
            assay_checkpoint_source src = { 0 };
            assay_sink_marks sinks = { 0 };
            ckr r = { .p = buf, .n = n, .at = 8 };
            rc = load_sections(r, "fuzz", &e, &a, &src, &sinks, NULL);
            assay_sink_marks_free(&sinks);
            if (rc == 0) /* a state that loads must also close its windows cleanly */
                rc = assay_agg_finish(&a, NULL);
            free(buf);
        }
    }
    if (a.e)
        assay_agg_free(&a);
    assay_alerter_free(&al);
    assay_engine_free(&e);
    assay_config_free(cfg);
    return rc;
}
