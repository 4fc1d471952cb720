/*
 * alerts.c - the alert engine: closed windows in, firing and resolved records out.
 *
 * Every window, in window order, is judged by each kind's condition (docs/alerts.md):
 *
 *   rule_breach     a rule with action alert|block fails more than its threshold;
 *   score_drop      the overall or a dimension score is >= alerts.score_drop.medium
 *                   points below the previous window's (the last one with rows);
 *   issue_increase  the number of breaching rules grew by >= issue_increase.medium;
 *   volume          rows per window are |z| >= alerts.volume.z away from an EWMA of
 *                   the rows of earlier whole windows (after `warmup` of them); empty
 *                   windows are left to freshness, so silence is one alert, not two;
 *   drift           a drift column's PSI against its baseline (the merged sketches of
 *                   the last `baseline` windows that did not drift) reaches psi.medium;
 *   freshness       no rows for `idle_windows` windows in a row;
 *   anomaly         the isolation forest flagged more than factor x contamination of
 *                   the window's judged rows, and at least min_rows of them;
 *   contract        a contract clause (min_score, min_DIMENSION, max_null_rate,
 *                   require) is violated;
 *   schema          a required-by-history column changes type (most of its values stop
 *                   parsing as its type) or disappears (all null after having values).
 *
 * Lifecycle. A condition is keyed by (kind, subject) - the subject is the rule, the
 * dimension, the column or the contract clause. The first window in which it holds
 * fires an alert with a deterministic id (record.c); while active it does not fire
 * again; after `resolve_after` windows in a row in which it does not hold, a resolved
 * record with the same id ends it. Empty windows are no evidence either way for the
 * kinds that look at rows, so a silent source does not resolve a breach (freshness
 * says it is silent).
 *
 * Drops that persist. score_drop and issue_increase compare with the previous window,
 * but a drop that lasts is still the same incident: once fired, the condition holds
 * while the score stays >= medium points below the level before the drop (kept as
 * `ref`), so the alert resolves when the score recovers, not one window after it fell.
 *
 * Baselines learn only from windows in which their kind was not alerting: volume's
 * EWMA and the drift baselines skip windows with an active alert of their kind and
 * subject, so a long incident does not become the new normal.
 *
 * Volume: mean and variance are exponentially weighted (alpha 0.2; West, "Updating
 * mean and variance estimates", 1979, in its EWMA form); the deviation is measured in
 * units of max(sd, sqrt(mean), 1% of mean) so that very steady streams (generated
 * data, a fixed-rate producer) need a real change, not Poisson noise, to alert.
 *
 * Forecast: Holt's linear trend (Holt 1957) over the overall score, alpha 0.5, beta
 * 0.3: level l, trend b; the score h windows ahead is l + h b. With a contract's
 * min_score, the first h <= 20 at which the forecast crosses it is reported.
 *
 * Root cause of a score drop: the overall score is sum_d w_d s_d / W with s_d =
 * 100 (1 - failed_d / checks_d), so rule r (dimension d) moved it by
 * (w_d / W) * 100 * (failed_r / checks_d - failed'_r / checks'_d) between the previous
 * window (') and this one; rules (and bad rows, in validity) are ranked by that.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alerts.h"
#include "alert/drift.h"
#include "assay/number.h"
#include "core/grow.h"
#include "engine/engine_internal.h"

#define VOL_ALPHA     0.2
#define HOLT_ALPHA    0.5
#define HOLT_BETA     0.3
#define HOLT_HORIZON  20
#define SCHEMA_MINROW 20 /* a column's values judged for schema changes from this many rows */
/* drift: a window's PSI is judged from this many rows (its noise is about 9 (1/n + 1/m)
 * for n and m rows, so 0.02 here against the 0.1 of a medium alert) */
#define DRIFT_MINROW 500

/* ---------------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------------- */

int assay_alerter_init(assay_alerter *al, const assay_config *cfg, bool history, assay_error *err)
{
    (void)err;
    memset(al, 0, sizeof(*al));
    al->cfg = cfg;
    al->history = history;
    return 0;
}

static void prev_free(assay_alert_prev *p)
{
    free(p->rule_failed);
    free(p->rule_evaluated);
    memset(p, 0, sizeof(*p));
}

static void active_free(assay_alert_active *a)
{
    free(a->subject);
    free(a->column);
    free(a->rule);
    free(a->metric);
    free(a->title);
}

void assay_alerter_free(assay_alerter *al)
{
    for (size_t i = 0; i < al->nact; i++)
        active_free(&al->act[i]);
    free(al->act);
    prev_free(&al->prev);
    for (size_t i = 0; i < al->ndrift; i++) {
        assay_drift_base *d = &al->drift[i];
        for (uint32_t k = 0; k < al->cfg->alerts.drift_baseline; k++) {
            if (d->td)
                assay_tdigest_free(d->td[k]);
            if (d->tk)
                assay_topk_free(d->tk[k]);
        }
        free(d->td);
        free(d->tk);
    }
    free(al->drift);
    free(al->schema_seen);
    free(al->an_base);
    memset(al, 0, sizeof(*al));
}

int assay_alerter_bind(assay_alerter *al, const assay_result *w, assay_error *err)
{
    const assay_config *cfg = al->cfg;
    if (al->drift || !al->history || cfg->alerts.ndrift_columns == 0)
        return 0;
    al->drift = calloc(cfg->alerts.ndrift_columns, sizeof(*al->drift));
    if (!al->drift)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->alerts.ndrift_columns; i++) {
        const char *name = cfg->alerts.drift_columns[i];
        size_t c = 0;
        while (c < w->ncolumns && strcmp(w->columns[c].name, name) != 0)
            c++;
        assay_config_pos pos = cfg->alerts.drift_column_pos ? cfg->alerts.drift_column_pos[i]
                                                            : (assay_config_pos){ 0, 0 };
        if (c == w->ncolumns)
            return assay_error_set(err, -EINVAL,
                                   "%s:%d:%d: alerts.drift.columns: no column '%s' in the data",
                                   cfg->path, pos.line, pos.col, name);
        assay_drift_base *d = &al->drift[al->ndrift++];
        d->col = (uint32_t)c;
        assay_type t = w->columns[c].type;
        d->numeric = t == ASSAY_TYPE_INT || t == ASSAY_TYPE_FLOAT || t == ASSAY_TYPE_TIMESTAMP;
        uint32_t b = cfg->alerts.drift_baseline;
        if (d->numeric)
            d->td = calloc(b, sizeof(*d->td));
        else
            d->tk = calloc(b, sizeof(*d->tk));
        if (!d->td && !d->tk)
            return assay_error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------------- */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* 12345 -> "12,345" */
static const char *grouped(uint64_t v, char *buf, size_t cap)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

/* "2026-01-01 12:10–12:11 UTC" (seconds shown when the bounds are not whole minutes) */
static void window_text(int64_t s, int64_t e, char *buf, size_t cap)
{
    char a[40], b[40];
    assay_format_timestamp(s, a, sizeof(a));
    assay_format_timestamp(e, b, sizeof(b));
    /* RFC 3339: 2026-01-01T12:10:00Z; the date is a[0..10), the time a[11..19) */
    bool secs = (s % 60000000) != 0 || (e % 60000000) != 0;
    int tl = secs ? 8 : 5;
    bool same_day = strncmp(a, b, 10) == 0;
    if (same_day || (e - s <= 86400000000LL && strcmp(b + 11, "00:00:00Z") == 0))
        snprintf(buf, cap, "%.10s %.*s–%.*s UTC", a, tl, a + 11, tl, b + 11);
    else
        snprintf(buf, cap, "%.10s %.*s – %.10s %.*s UTC", a, tl, a + 11, b, tl, b + 11);
}

static const char *pct(double rate, char *buf, size_t cap)
{
    if (isnan(rate))
        snprintf(buf, cap, "n/a");
    else if (rate > 0 && rate < 0.001)
        snprintf(buf, cap, "%.3f%%", rate * 100);
    else
        snprintf(buf, cap, "%.1f%%", rate * 100);
    return buf;
}

/* ---------------------------------------------------------------------------------
 * Active alerts
 * ------------------------------------------------------------------------------- */

static assay_alert_active *find_active(assay_alerter *al, assay_alert_kind k, const char *subject)
{
    for (size_t i = 0; i < al->nact; i++)
        if (al->act[i].kind == k && strcmp(al->act[i].subject, subject) == 0)
            return &al->act[i];
    return NULL;
}

static bool is_active(assay_alerter *al, assay_alert_kind k, const char *subject)
{
    return find_active(al, k, subject) != NULL;
}

/* A window's context while it is judged. */
typedef struct judge {
    assay_alerter *al;
    const assay_result *w;
    assay_alert_emit_fn emit;
    void *ctx;
    assay_error *err;
    int rc;
} judge;

/* The condition (kind, subject) holds in this window: fire when it is not active yet
 * (a takes the record's strings; the caller fills them and this frees them). */
static void hold(judge *j, assay_alert *a)
{
    if (j->rc < 0) {
        assay_alert_clear(a);
        return;
    }
    assay_alerter *al = j->al;
    assay_alert_active *x = find_active(al, a->kind, a->subject);
    if (x) {
        x->seen = true;
        x->clear = 0;
        assay_alert_clear(a);
        return;
    }
    if (!a->subject || !a->title || !a->explanation || !a->metric) {
        j->rc = assay_error_set(j->err, -ENOMEM, "out of memory making an alert");
        assay_alert_clear(a);
        return;
    }
    const assay_result *w = j->w;
    a->state = ASSAY_ALERT_FIRING;
    a->asset = al->cfg->asset;
    a->window_start = a->fired_start = w->window_start;
    a->window_end = a->fired_end = w->window_end;
    assay_alert_make_id(a->asset, a->kind, a->subject, a->fired_start, a->id);
    if (ASSAY_RESERVE(al->act, al->nact, al->act_cap, 8) < 0) {
        j->rc = assay_error_set(j->err, -ENOMEM, "out of memory making an alert");
        assay_alert_clear(a);
        return;
    }
    x = &al->act[al->nact];
    memset(x, 0, sizeof(*x));
    x->kind = a->kind;
    x->subject = xstrdup(a->subject);
    x->column = xstrdup(a->column);
    x->rule = xstrdup(a->rule);
    x->metric = xstrdup(a->metric);
    x->title = xstrdup(a->title);
    memcpy(x->id, a->id, sizeof(x->id));
    x->severity = a->severity;
    x->fired_start = a->fired_start;
    x->fired_end = a->fired_end;
    x->threshold = a->threshold;
    x->fired_value = a->value;
    x->ref = a->previous;
    x->seen = true;
    if (!x->subject || !x->metric || !x->title || (a->column && !x->column) ||
        (a->rule && !x->rule)) {
        active_free(x);
        j->rc = assay_error_set(j->err, -ENOMEM, "out of memory making an alert");
        assay_alert_clear(a);
        return;
    }
    al->nact++;
    int rc = j->emit(j->ctx, a, j->err);
    if (rc < 0)
        j->rc = rc;
    assay_alert_clear(a);
}

/* Which alerts an empty window says nothing about: all but the idle-stream one (a
 * stream that went quiet has not become fresh, nor has its data become clean). */
static bool needs_rows(const assay_alert_active *x)
{
    return x->kind != ASSAY_ALERT_FRESHNESS || strcmp(x->subject, "idle") != 0;
}

/* The record of an active alert in a later window (ws, we): a resolved one, or an
 * acknowledgement; its strings are the active entry's (title and explanation are the
 * caller's). */
static assay_alert record_of(const assay_alerter *al, const assay_alert_active *x,
                             assay_alert_state state, int64_t ws, int64_t we)
{
    assay_alert a = {
        .state = state,
        .kind = x->kind,
        .severity = x->severity,
        .asset = al->cfg->asset,
        .subject = x->subject,
        .column = x->column,
        .rule = x->rule,
        .metric = x->metric,
        .threshold = x->threshold,
        .value = state == ASSAY_ALERT_ACKED ? x->fired_value : NAN,
        .previous = state == ASSAY_ALERT_ACKED ? NAN : x->fired_value,
        .window_start = ws,
        .window_end = we,
        .fired_start = x->fired_start,
        .fired_end = x->fired_end,
        .acked = x->acked,
        .forecast_windows_to_breach = -1,
    };
    memcpy(a.id, x->id, sizeof(a.id));
    return a;
}

/* After every condition of the window was judged: count clear windows, resolve. */
static void settle(judge *j)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    unsigned after = al->cfg->alerts.resolve_after;
    size_t keep = 0;
    for (size_t i = 0; i < al->nact; i++) {
        assay_alert_active *x = &al->act[i];
        bool evidence = w->rows > 0 || !needs_rows(x);
        if (!x->seen && evidence && j->rc == 0)
            x->clear++;
        x->seen = false;
        if (x->clear < after || j->rc < 0) {
            al->act[keep++] = *x;
            continue;
        }
        char wt[96], ft[96];
        window_text(w->window_start, w->window_end, wt, sizeof(wt));
        window_text(x->fired_start, x->fired_end, ft, sizeof(ft));
        assay_alert a = record_of(al, x, ASSAY_ALERT_RESOLVED, w->window_start, w->window_end);
        a.title = xprintf("Resolved: %s", x->title);
        a.explanation =
            xprintf("clear for %u windows in a row (through %s); it fired in %s", after, wt, ft);
        int rc = (a.title && a.explanation) ? j->emit(j->ctx, &a, j->err)
                                            : assay_error_set(j->err, -ENOMEM, "out of memory");
        free(a.title);
        free(a.explanation);
        if (rc < 0)
            j->rc = rc;
        active_free(x);
    }
    al->nact = keep;
}

/* ---------------------------------------------------------------------------------
 * A person's hand: acknowledge, resolve
 * ------------------------------------------------------------------------------- */

static assay_alert_active *active_by_id(assay_alerter *al, const char *id, size_t *at)
{
    for (size_t i = 0; i < al->nact; i++)
        if (strcmp(al->act[i].id, id) == 0) {
            *at = i;
            return &al->act[i];
        }
    return NULL;
}

/* The record of an active alert for an ack or a resolve by hand: about the last window
 * judged (the fired one when none was judged since). */
static assay_alert by_hand(const assay_alerter *al, const assay_alert_active *x,
                           assay_alert_state state)
{
    bool last = al->last_end > al->last_start && al->last_start >= x->fired_start;
    return record_of(al, x, state, last ? al->last_start : x->fired_start,
                     last ? al->last_end : x->fired_end);
}

static int emit_by_hand(assay_alert *a, assay_alert_emit_fn emit, void *ctx, assay_error *err)
{
    int rc = (a->title && a->explanation) ? emit(ctx, a, err)
                                          : assay_error_set(err, -ENOMEM, "out of memory");
    free(a->title);
    free(a->explanation);
    return rc;
}

int assay_alerter_ack(assay_alerter *al, const char *id, const char *by, assay_alert_emit_fn emit,
                      void *ctx, assay_error *err)
{
    size_t at;
    assay_alert_active *x = active_by_id(al, id, &at);
    if (!x)
        return assay_error_set(err, -ENOENT, "no active alert has id '%s'", id);
    if (x->acked)
        return 1;
    x->acked = true;
    assay_alert a = by_hand(al, x, ASSAY_ALERT_ACKED);
    a.title = xprintf("Acknowledged: %s", x->title);
    a.explanation = xprintf("acknowledged through the HTTP API by %s; it stays active until "
                            "its condition has been clear for %u windows or it is resolved",
                            by ? by : "a client", al->cfg->alerts.resolve_after);
    return emit_by_hand(&a, emit, ctx, err);
}

int assay_alerter_resolve(assay_alerter *al, const char *id, const char *by,
                          assay_alert_emit_fn emit, void *ctx, assay_error *err)
{
    size_t at;
    assay_alert_active *x = active_by_id(al, id, &at);
    if (!x)
        return assay_error_set(err, -ENOENT, "no active alert has id '%s'", id);
    char ft[96];
    window_text(x->fired_start, x->fired_end, ft, sizeof(ft));
    assay_alert a = by_hand(al, x, ASSAY_ALERT_RESOLVED);
    a.title = xprintf("Resolved: %s", x->title);
    a.explanation = xprintf("resolved by hand through the HTTP API by %s; it fired in %s (it "
                            "fires again, with a new id, if its condition still holds)",
                            by ? by : "a client", ft);
    int rc = emit_by_hand(&a, emit, ctx, err);
    if (rc < 0)
        return rc;
    active_free(x);
    memmove(&al->act[at], &al->act[at + 1], (al->nact - at - 1) * sizeof(al->act[0]));
    al->nact--;
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Evidence, impact, forecast
 * ------------------------------------------------------------------------------- */

static void rule_samples(assay_alert *a, const assay_rule_result *rr)
{
    for (size_t i = 0; i < rr->nsamples && a->nsamples < ASSAY_ALERT_SAMPLES; i++) {
        assay_alert_sample *s = &a->samples[a->nsamples++];
        s->row = rr->samples[i].row;
        s->offset = rr->samples[i].offset == UINT64_MAX ? -1 : (int64_t)rr->samples[i].offset;
        s->value = xstrdup(rr->samples[i].value);
    }
}

static void impact_of(assay_alert *a, const assay_result *w, const assay_rule_result *rr)
{
    a->impact_rows = rr ? rr->failed : w->bad_rows;
    if (rr && rr->has_impact) {
        a->has_revenue = rr->has_revenue;
        a->revenue_at_risk = rr->revenue_at_risk;
        a->has_users = rr->has_users;
        a->affected_users = rr->affected_users;
    }
}

static void forecast_of(const assay_alerter *al, assay_alert *a)
{
    a->forecast_windows_to_breach = -1;
    if (!al->history || al->holt_n < 2)
        return;
    a->nforecast = ASSAY_ALERT_FORECAST;
    for (size_t h = 1; h <= ASSAY_ALERT_FORECAST; h++) {
        double f = al->holt_level + (double)h * al->holt_trend;
        a->forecast[h - 1] = f < 0 ? 0 : f > 100 ? 100 : f;
    }
    const assay_config *cfg = al->cfg;
    for (size_t i = 0; i < cfg->ncontracts; i++) {
        const assay_contract_config *ct = &cfg->contracts[i];
        if (!ct->has_min_score)
            continue;
        a->forecast_contract = ct->name;
        a->forecast_min_score = ct->min_score;
        if (al->holt_level < ct->min_score) {
            a->forecast_windows_to_breach = 0;
        } else {
            for (int h = 1; h <= HOLT_HORIZON; h++)
                if (al->holt_level + h * al->holt_trend < ct->min_score) {
                    a->forecast_windows_to_breach = h;
                    break;
                }
        }
        break;
    }
}

/* ---------------------------------------------------------------------------------
 * Kinds
 * ------------------------------------------------------------------------------- */

/* "null rate of email rose from 1.0% to 29.8% (2,981 of 10,004 rows) in ..." */
static char *breach_explanation(const assay_rule_result *rr, double prev, const char *wt)
{
    const assay_rule_config *rc = rr->cfg;
    char a[32], b[32], f[32], n[32], t[32];
    grouped(rr->failed, f, sizeof(f));
    grouped(rr->evaluated, n, sizeof(n));
    pct(rr->fail_rate, b, sizeof(b));
    pct(rc->threshold, t, sizeof(t));
    char what[160];
    const char *col = rc->column ? rc->column : "";
    switch (rc->check) {
    case ASSAY_CHECK_NOT_NULL:
        snprintf(what, sizeof(what), "null rate of %s", col);
        break;
    case ASSAY_CHECK_UNIQUE:
        snprintf(what, sizeof(what), "duplicate rate of %s", col);
        break;
    case ASSAY_CHECK_TYPE:
        snprintf(what, sizeof(what), "share of %s values that are not %s", col,
                 "of the column's type");
        break;
    case ASSAY_CHECK_EXPR:
        snprintf(what, sizeof(what), "share of rows where %s (rule %s) is false", rc->expr,
                 rc->name);
        break;
    case ASSAY_CHECK_ROW_COUNT:
        return xprintf("the window had %s rows, outside the row_count bounds of rule %s, in %s", n,
                       rc->name, wt);
    default:
        snprintf(what, sizeof(what), "share of %s values failing %s (%s)", col,
                 assay_check_name(rc->check), rc->name);
        break;
    }
    const char *unit = rc->check == ASSAY_CHECK_NOT_NULL ? "rows" : "values";
    if (isnan(prev))
        return xprintf("%s is %s (%s of %s %s) in %s, above the rule's threshold of %s", what, b, f,
                       n, unit, wt, t);
    pct(prev, a, sizeof(a));
    return xprintf("%s %s from %s to %s (%s of %s %s) in %s; the rule's threshold is %s", what,
                   rr->fail_rate >= prev ? "rose" : "is", a, b, f, n, unit, wt, t);
}

static void kind_rule_breach(judge *j, const char *wt)
{
    const assay_result *w = j->w;
    const assay_alert_prev *p = &j->al->prev;
    for (size_t r = 0; r < w->nrules; r++) {
        const assay_rule_result *rr = &w->rules[r];
        if (!rr->breached || rr->cfg->action == ASSAY_ACTION_LOG)
            continue;
        double prev = NAN;
        if (p->valid && r < p->nrules && p->rule_evaluated[r] > 0)
            prev = (double)p->rule_failed[r] / (double)p->rule_evaluated[r];
        assay_alert a = {
            .kind = ASSAY_ALERT_RULE_BREACH,
            .severity = rr->cfg->severity,
            .subject = xstrdup(rr->cfg->name),
            .column = xstrdup(rr->cfg->column),
            .rule = xstrdup(rr->cfg->name),
            .metric = xstrdup("fail_rate"),
            .threshold = rr->cfg->threshold,
            .value = rr->fail_rate,
            .previous = prev,
        };
        a.title = xprintf("%s: rule %s failed for %.1f%% of %s", j->al->cfg->asset, rr->cfg->name,
                          rr->fail_rate * 100, rr->cfg->column ? rr->cfg->column : "the window");
        a.explanation = breach_explanation(rr, prev, wt);
        rule_samples(&a, rr);
        impact_of(&a, w, rr);
        forecast_of(j->al, &a);
        hold(j, &a);
    }
}

static assay_severity level_of(const double lv[ASSAY_SEV_COUNT], double v, bool *hit)
{
    *hit = true;
    if (v >= lv[ASSAY_SEV_CRITICAL])
        return ASSAY_SEV_CRITICAL;
    if (v >= lv[ASSAY_SEV_HIGH])
        return ASSAY_SEV_HIGH;
    if (v >= lv[ASSAY_SEV_MEDIUM])
        return ASSAY_SEV_MEDIUM;
    *hit = false;
    return ASSAY_SEV_LOW;
}

/* Rules (and bad rows) ranked by how many points of overall score they took. */
static void root_cause(const assay_alerter *al, const assay_result *w, assay_alert *a)
{
    const assay_alert_prev *p = &al->prev;
    double W = 0;
    for (int d = 0; d < ASSAY_DIM_COUNT; d++)
        if (w->dim_present[d])
            W += al->cfg->weights[d];
    if (W <= 0)
        return;
    size_t n = w->nrules + 1;
    double *pts = calloc(n, sizeof(double));
    if (!pts)
        return;
    for (size_t r = 0; r <= w->nrules; r++) {
        assay_dimension d = r < w->nrules ? w->rules[r].cfg->dimension : ASSAY_DIM_VALIDITY;
        uint64_t checks = w->dim_checks[d], pchecks = p->dim_checks[d];
        uint64_t failed = r < w->nrules ? w->rules[r].failed : w->bad_rows;
        uint64_t pfailed = r < w->nrules ? (r < p->nrules ? p->rule_failed[r] : 0) : p->bad_rows;
        double now = checks ? (double)failed / (double)checks : 0;
        double before = pchecks ? (double)pfailed / (double)pchecks : 0;
        pts[r] = al->cfg->weights[d] / W * 100.0 * (now - before);
    }
    while (a->ncauses < ASSAY_ALERT_CAUSES) {
        size_t best = n;
        for (size_t r = 0; r < n; r++)
            if (pts[r] > 0.005 && (best == n || pts[r] > pts[best]))
                best = r;
        if (best == n)
            break;
        assay_alert_cause *c = &a->causes[a->ncauses++];
        c->points = pts[best];
        if (best < w->nrules) {
            const assay_rule_result *rr = &w->rules[best];
            c->rule = xstrdup(rr->cfg->name);
            c->column = xstrdup(rr->cfg->column);
            c->dimension = assay_dimension_name(rr->cfg->dimension);
            c->fail_rate = rr->fail_rate;
            c->prev_fail_rate = best < p->nrules && p->rule_evaluated[best]
                                    ? (double)p->rule_failed[best] / (double)p->rule_evaluated[best]
                                    : 0;
        } else {
            c->rule = xstrdup("parse_error");
            c->dimension = assay_dimension_name(ASSAY_DIM_VALIDITY);
            c->fail_rate = w->rows ? (double)w->bad_rows / (double)w->rows : 0;
            c->prev_fail_rate = p->rows ? (double)p->bad_rows / (double)p->rows : 0;
        }
        pts[best] = 0;
    }
    free(pts);
}

static void kind_score_drop(judge *j, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    const assay_alert_prev *p = &al->prev;
    const double *lv = al->cfg->alerts.score_drop;
    for (int d = -1; d < ASSAY_DIM_COUNT; d++) {
        const char *subject = d < 0 ? "overall" : assay_dimension_name((assay_dimension)d);
        if (d >= 0 && !w->dim_present[d])
            continue;
        double now = d < 0 ? w->overall : w->dims[d];
        assay_alert_active *x = find_active(al, ASSAY_ALERT_SCORE_DROP, subject);
        if (x) { /* the same incident while the score stays down */
            if (x->ref - now >= lv[ASSAY_SEV_MEDIUM]) {
                x->seen = true;
                x->clear = 0;
            }
            continue;
        }
        if (!p->valid || (d >= 0 && !p->dim_present[d]))
            continue;
        double before = d < 0 ? p->overall : p->dims[d];
        bool hit;
        assay_severity sev = level_of(lv, before - now, &hit);
        if (!hit)
            continue;
        assay_alert a = {
            .kind = ASSAY_ALERT_SCORE_DROP,
            .severity = sev,
            .subject = xstrdup(subject),
            .metric = xprintf("%s_score", subject),
            .threshold = lv[ASSAY_SEV_MEDIUM],
            .value = now,
            .previous = before,
        };
        a.title = xprintf("%s: %s score dropped %.1f points to %.1f", al->cfg->asset, subject,
                          before - now, now);
        root_cause(al, w, &a);
        char top[256] = "";
        if (a.ncauses) {
            const assay_alert_cause *c = &a.causes[0];
            char r1[32], r2[32];
            snprintf(top, sizeof(top), "; most of it from %s%s%s (%s -> %s, %.1f points)", c->rule,
                     c->column ? " on " : "", c->column ? c->column : "",
                     pct(c->prev_fail_rate, r1, sizeof(r1)), pct(c->fail_rate, r2, sizeof(r2)),
                     c->points);
        }
        a.explanation = xprintf("%s score fell from %.1f to %.1f (-%.1f points) in %s%s", subject,
                                before, now, before - now, wt, top);
        impact_of(&a, w, NULL);
        forecast_of(al, &a);
        hold(j, &a);
    }
}

static void kind_issue_increase(judge *j, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    const double *lv = al->cfg->alerts.issue_increase;
    assay_alert_active *x = find_active(al, ASSAY_ALERT_ISSUE_INCREASE, "breaching_rules");
    if (x) {
        if ((double)w->breached - x->ref >= lv[ASSAY_SEV_MEDIUM]) {
            x->seen = true;
            x->clear = 0;
        }
        return;
    }
    if (!al->prev.valid)
        return;
    double before = (double)al->prev.breached, now = (double)w->breached;
    bool hit;
    assay_severity sev = level_of(lv, now - before, &hit);
    if (!hit)
        return;
    assay_alert a = {
        .kind = ASSAY_ALERT_ISSUE_INCREASE,
        .severity = sev,
        .subject = xstrdup("breaching_rules"),
        .metric = xstrdup("breaching_rules"),
        .threshold = lv[ASSAY_SEV_MEDIUM],
        .value = now,
        .previous = before,
    };
    char names[400] = "";
    size_t o = 0;
    for (size_t r = 0; r < w->nrules && o + 2 < sizeof(names); r++)
        if (w->rules[r].breached)
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "",
                                  w->rules[r].cfg->name);
    a.title = xprintf("%s: %.0f rules breaching, up from %.0f", al->cfg->asset, now, before);
    a.explanation = xprintf("%.0f rules breached in %s against %.0f in the window before: %s", now,
                            wt, before, names);
    impact_of(&a, w, NULL);
    forecast_of(al, &a);
    hold(j, &a);
}

static void kind_volume(judge *j, bool partial, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    const assay_config *cfg = al->cfg;
    double x = (double)w->rows;
    bool active = is_active(al, ASSAY_ALERT_VOLUME, "rows");
    if (partial || w->rows == 0) /* silence is freshness's to report */
        return;
    if (al->vol_n >= cfg->alerts.volume_warmup) {
        double sd = sqrt(al->vol_var);
        double floor_sd = fmax(sqrt(al->vol_mean), 0.01 * al->vol_mean);
        sd = fmax(fmax(sd, floor_sd), 1.0);
        double z = (x - al->vol_mean) / sd;
        double zt = cfg->alerts.volume_z;
        if (fabs(z) >= zt) {
            bool spike = z > 0;
            assay_alert a = {
                .kind = ASSAY_ALERT_VOLUME,
                .severity = fabs(z) >= 2 * zt || x == 0 ? ASSAY_SEV_HIGH : ASSAY_SEV_MEDIUM,
                .subject = xstrdup("rows"),
                .metric = xstrdup("rows"),
                .threshold = zt,
                .value = x,
                .previous = al->vol_mean,
            };
            char n[32], m[32];
            grouped(w->rows, n, sizeof(n));
            grouped((uint64_t)llround(al->vol_mean), m, sizeof(m));
            a.title = xprintf("%s: volume %s, %s rows against about %s", cfg->asset,
                              spike ? "spike" : "drop", n, m);
            a.explanation = xprintf(
                "%s rows in %s, %s%.0f%% against the usual %s (z = %.1f, alert at |z| >= %g)", n,
                wt, spike ? "+" : "", al->vol_mean > 0 ? (x / al->vol_mean - 1) * 100 : 0, m, z,
                zt);
            a.impact_rows = w->rows;
            forecast_of(al, &a);
            hold(j, &a);
            return; /* not learned: it is unusual */
        }
    }
    if (active)
        return;
    /* learn */
    if (al->vol_n == 0) {
        al->vol_mean = x;
        al->vol_var = 0;
    } else {
        double d = x - al->vol_mean;
        al->vol_mean += VOL_ALPHA * d;
        al->vol_var = (1 - VOL_ALPHA) * (al->vol_var + VOL_ALPHA * d * d);
    }
    al->vol_n++;
}

/* A duration as the largest two units: "45s", "12m30s", "3h05m", "2d04h". */
static const char *duration_text(double seconds, char *buf, size_t cap)
{
    double s = seconds < 0 ? 0 : seconds;
    if (s < 60)
        snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, cap, "%.0fm%02.0fs", floor(s / 60), fmod(floor(s), 60));
    else if (s < 86400)
        snprintf(buf, cap, "%.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
    else
        snprintf(buf, cap, "%.0fd%02.0fh", floor(s / 86400), floor(fmod(s, 86400) / 3600));
    return buf;
}

/* Lag over a maximum: medium under twice the maximum, high beyond; a freshness rule's
 * own severity when that is higher (a contract's clause is high, like its others). */
static assay_severity lag_severity(double lag, double max)
{
    return lag >= 2 * max ? ASSAY_SEV_HIGH : ASSAY_SEV_MEDIUM;
}

/* Freshness by lag: each freshness rule's newest value, when its rows were judged, was
 * older than the rule's max_age. */
static void freshness_lag(judge *j, const char *wt)
{
    const assay_result *w = j->w;
    const assay_config *cfg = j->al->cfg;
    for (size_t r = 0; r < w->nrules; r++) {
        const assay_rule_result *rr = &w->rules[r];
        const assay_rule_config *c = rr->cfg;
        if (c->check != ASSAY_CHECK_FRESHNESS || !rr->has_lag || rr->lag_us <= c->max_age_us)
            continue;
        double lag = (double)rr->lag_us / 1e6, max = (double)c->max_age_us / 1e6;
        char l[32], m[32];
        assay_alert a = {
            .kind = ASSAY_ALERT_FRESHNESS,
            .severity = c->severity > lag_severity(lag, max) ? c->severity : lag_severity(lag, max),
            .subject = xstrdup(c->name),
            .column = xstrdup(c->column),
            .rule = xstrdup(c->name),
            .metric = xstrdup("lag_seconds"),
            .threshold = max,
            .value = lag,
            .previous = NAN,
        };
        a.title =
            xprintf("%s: %s is %s behind", cfg->asset, c->column, duration_text(lag, l, sizeof(l)));
        a.explanation = xprintf("the newest %s in %s was %s old when it was checked, over the "
                                "rule %s's max_age of %s",
                                c->column, wt, l, c->name, duration_text(max, m, sizeof(m)));
        impact_of(&a, w, rr);
        forecast_of(j->al, &a);
        hold(j, &a);
    }
}

static void kind_freshness(judge *j, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    if (w->rows > 0) {
        al->empty_run = 0;
        freshness_lag(j, wt);
        return;
    }
    al->empty_run++;
    unsigned need = al->cfg->alerts.idle_windows;
    if (al->empty_run < need)
        return;
    assay_alert a = {
        .kind = ASSAY_ALERT_FRESHNESS,
        .severity = ASSAY_SEV_HIGH,
        .subject = xstrdup("idle"),
        .metric = xstrdup("empty_windows"),
        .threshold = need,
        .value = al->empty_run,
        .previous = NAN,
    };
    a.title = xprintf("%s: no rows for %u windows", al->cfg->asset, al->empty_run);
    a.explanation = xprintf("no rows arrived in %u windows in a row, through %s (alert after %u)",
                            al->empty_run, wt, need);
    forecast_of(al, &a);
    hold(j, &a);
}

static void kind_anomaly(judge *j, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    const assay_anomaly_result *an = &w->anomaly;
    const assay_config *cfg = al->cfg;
    if (!an->enabled || an->judged == 0)
        return;
    double bar = cfg->alerts.anomaly_factor * an->contamination;
    bool active = is_active(al, ASSAY_ALERT_ANOMALY, "rows");
    /* the rows counted: above the learned score once the baseline is ready, else the
     * forests' own flags (their threshold follows recent scores, a burst included) */
    uint64_t count = an->anomalies;
    double cut = NAN, base_share = NAN;
    uint64_t base_rows = 0;
    if (an->hist && al->an_nbase >= ASSAY_AN_BASE_MIN) {
        uint64_t tot[ASSAY_AN_BINS];
        memset(tot, 0, sizeof(tot));
        for (uint32_t k = 0; k < al->an_nbase; k++)
            for (uint32_t b = 0; b < ASSAY_AN_BINS; b++)
                tot[b] += al->an_base[(size_t)k * ASSAY_AN_BINS + b];
        for (uint32_t b = 0; b < ASSAY_AN_BINS; b++)
            base_rows += tot[b];
        if (base_rows >= ASSAY_AN_BASE_ROWS) {
            /* the lowest bin edge with at most `contamination` of the baseline at or
             * above it */
            uint64_t above = 0, allowed = (uint64_t)(an->contamination * (double)base_rows);
            uint32_t edge = ASSAY_AN_BINS;
            while (edge > 0 && above + tot[edge - 1] <= allowed)
                above += tot[--edge];
            cut = (double)edge / ASSAY_AN_BINS;
            base_share = (double)above / (double)base_rows;
            count = 0;
            for (uint32_t b = edge; b < ASSAY_AN_BINS; b++)
                count += an->hist[b];
        }
    }
    double rate = (double)count / (double)an->judged;
    if (rate > bar && count >= cfg->alerts.anomaly_min_rows) {
        assay_alert a = {
            .kind = ASSAY_ALERT_ANOMALY,
            .severity = rate > 2 * bar ? ASSAY_SEV_HIGH : ASSAY_SEV_MEDIUM,
            .subject = xstrdup("rows"),
            .metric = xstrdup("anomaly_rate"),
            .threshold = bar,
            .value = rate,
            .previous = al->an_n ? al->an_mean : NAN,
        };
        char f[32], n[32], r[32], b[32], c[32];
        grouped(count, f, sizeof(f));
        grouped(an->judged, n, sizeof(n));
        pct(bar, c, sizeof(c));
        a.title = xprintf("%s: %s anomalous rows (%s)", cfg->asset, f, pct(rate, r, sizeof(r)));
        if (isnan(cut))
            a.explanation = xprintf("the isolation forest flagged %s of %s rows (%s) in %s; "
                                    "expected about %s, alert above %s with at least %llu rows",
                                    f, n, r, wt, pct(an->contamination, b, sizeof(b)), c,
                                    (unsigned long long)cfg->alerts.anomaly_min_rows);
        else
            a.explanation = xprintf("%s of %s rows (%s) in %s scored %.3f or more, a score %s of "
                                    "the rows of the last %u windows not in alert reached; alert "
                                    "above %s with at least %llu rows",
                                    f, n, r, wt, cut, pct(base_share, b, sizeof(b)), al->an_nbase,
                                    c, (unsigned long long)cfg->alerts.anomaly_min_rows);
        for (size_t i = 0; i < an->nsamples && a.nsamples < ASSAY_ALERT_SAMPLES; i++) {
            assay_alert_sample *s = &a.samples[a.nsamples++];
            s->row = an->samples[i].row;
            s->offset = -1;
            char buf[512];
            size_t o = (size_t)snprintf(buf, sizeof(buf), "score %.3f:", an->samples[i].score);
            for (size_t k = 0; k < an->ncolumns && o + 40 < sizeof(buf); k++) {
                char v[32];
                assay_format_double(an->samples[i].values[k], v, sizeof(v));
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %s=%s", an->columns[k], v);
            }
            s->value = xstrdup(buf);
        }
        a.impact_rows = count;
        forecast_of(al, &a);
        hold(j, &a);
        return;
    }
    if (active)
        return;
    /* a window not in alert: its rate and its scores are what normal looks like */
    al->an_mean = al->an_n ? al->an_mean + VOL_ALPHA * (rate - al->an_mean) : rate;
    al->an_n++;
    if (!an->hist)
        return;
    if (!al->an_base &&
        !(al->an_base = calloc((size_t)ASSAY_AN_BASE * ASSAY_AN_BINS, sizeof(uint32_t)))) {
        j->rc = assay_error_set(j->err, -ENOMEM, "out of memory keeping anomaly scores");
        return;
    }
    memcpy(al->an_base + (size_t)al->an_next * ASSAY_AN_BINS, an->hist,
           ASSAY_AN_BINS * sizeof(uint32_t));
    al->an_next = (al->an_next + 1) % ASSAY_AN_BASE;
    if (al->an_nbase < ASSAY_AN_BASE)
        al->an_nbase++;
}

static const assay_column_result *column_named(const assay_result *w, const char *name)
{
    for (size_t c = 0; c < w->ncolumns; c++)
        if (strcmp(w->columns[c].name, name) == 0)
            return &w->columns[c];
    return NULL;
}

static void contract_alert(judge *j, const assay_contract_config *ct, const char *clause,
                           const char *metric, double thr, double value, char *why)
{
    assay_alert a = {
        .kind = ASSAY_ALERT_CONTRACT,
        .severity = ASSAY_SEV_HIGH,
        .subject = xprintf("%s/%s", ct->name, clause),
        .rule = xstrdup(ct->name),
        .metric = xstrdup(metric),
        .threshold = thr,
        .value = value,
        .previous = NAN,
    };
    a.title = xprintf("%s: contract %s violated (%s)", j->al->cfg->asset, ct->name, clause);
    a.explanation = ct->owner ? xprintf("%s; owner: %s", why, ct->owner) : xstrdup(why);
    free(why);
    impact_of(&a, j->w, NULL);
    forecast_of(j->al, &a);
    hold(j, &a);
}

static void kind_contract(judge *j, const char *wt)
{
    const assay_result *w = j->w;
    const assay_config *cfg = j->al->cfg;
    if (w->rows == 0)
        return;
    for (size_t i = 0; i < cfg->ncontracts; i++) {
        const assay_contract_config *ct = &cfg->contracts[i];
        if (ct->action == ASSAY_ACTION_LOG)
            continue;
        if (ct->has_min_score && w->overall < ct->min_score)
            contract_alert(j, ct, "min_score", "overall_score", ct->min_score, w->overall,
                           xprintf("overall score %.1f in %s is below the contract's min_score %g",
                                   w->overall, wt, ct->min_score));
        for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
            if (!ct->has_min_dim[d] || !w->dim_present[d] || w->dims[d] >= ct->min_dim[d])
                continue;
            const char *dn = assay_dimension_name((assay_dimension)d);
            char clause[40], metric[48];
            snprintf(clause, sizeof(clause), "min_%s", dn);
            snprintf(metric, sizeof(metric), "%s_score", dn);
            contract_alert(j, ct, clause, metric, ct->min_dim[d], w->dims[d],
                           xprintf("%s score %.2f in %s is below the contract's %s %g", dn,
                                   w->dims[d], wt, clause, ct->min_dim[d]));
        }
        if (ct->has_max_freshness && w->has_lag && w->lag_us > ct->max_freshness_us) {
            char l[32], m[32];
            double lag = (double)w->lag_us / 1e6, max = (double)ct->max_freshness_us / 1e6;
            contract_alert(j, ct, "max_freshness", "lag_seconds", max, lag,
                           xprintf("the newest event in %s was %s old when it was checked, over "
                                   "the contract's max_freshness of %s",
                                   wt, duration_text(lag, l, sizeof(l)),
                                   duration_text(max, m, sizeof(m))));
        }
        for (size_t k = 0; k < ct->nmax_null; k++) {
            const assay_column_result *c = column_named(w, ct->max_null_columns[k]);
            if (!c || !c->parsed || c->count == 0)
                continue;
            double rate = (double)c->nulls / (double)c->count;
            if (rate <= ct->max_null_rates[k])
                continue;
            char clause[160], r1[32], r2[32], n1[32], n2[32];
            snprintf(clause, sizeof(clause), "max_null_rate.%s", c->name);
            contract_alert(j, ct, clause, "null_rate", ct->max_null_rates[k], rate,
                           xprintf("null rate of %s is %s (%s of %s rows) in %s, above the "
                                   "contract's max_null_rate %s",
                                   c->name, pct(rate, r1, sizeof(r1)),
                                   grouped(c->nulls, n1, sizeof(n1)),
                                   grouped(c->count, n2, sizeof(n2)), wt,
                                   pct(ct->max_null_rates[k], r2, sizeof(r2))));
        }
        for (size_t k = 0; k < ct->nrequire; k++) {
            const assay_column_result *c = column_named(w, ct->require_names[k]);
            char clause[160];
            snprintf(clause, sizeof(clause), "require.%s", ct->require_names[k]);
            assay_type want = ct->require_types[k];
            if (!c)
                contract_alert(j, ct, clause, "column_present", 1, 0,
                               xprintf("required column %s is missing from the data", clause + 8));
            else if (want != ASSAY_TYPE_UNKNOWN && c->type != want &&
                     !(want == ASSAY_TYPE_FLOAT && c->type == ASSAY_TYPE_INT))
                contract_alert(j, ct, clause, "column_type", 1, 0,
                               xprintf("required column %s is %s, the contract says %s", c->name,
                                       assay_type_name(c->type), assay_type_name(want)));
        }
    }
}

static void kind_schema(judge *j, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    if (!al->schema_seen) {
        al->nschema = w->ncolumns;
        al->schema_seen = calloc(w->ncolumns ? w->ncolumns : 1, 1);
        if (!al->schema_seen) {
            j->rc = assay_error_set(j->err, -ENOMEM, "out of memory");
            return;
        }
    }
    for (size_t c = 0; c < w->ncolumns && c < al->nschema; c++) {
        const assay_column_result *cr = &w->columns[c];
        if (!cr->parsed || cr->count < SCHEMA_MINROW)
            continue;
        uint64_t nonnull = cr->count - cr->nulls;
        char subject[300];
        if (nonnull > 0 && cr->invalid * 2 > nonnull && cr->type != ASSAY_TYPE_STRING) {
            snprintf(subject, sizeof(subject), "%s:type", cr->name);
            char r[32];
            assay_alert a = {
                .kind = ASSAY_ALERT_SCHEMA,
                .severity = ASSAY_SEV_HIGH,
                .subject = xstrdup(subject),
                .column = xstrdup(cr->name),
                .metric = xstrdup("invalid_rate"),
                .threshold = 0.5,
                .value = (double)cr->invalid / (double)nonnull,
                .previous = NAN,
            };
            a.title = xprintf("%s: column %s is no longer %s", al->cfg->asset, cr->name,
                              assay_type_name(cr->type));
            a.explanation =
                xprintf("%s of the values of %s in %s do not parse as %s, the type it was %s as",
                        pct(a.value, r, sizeof(r)), cr->name, wt, assay_type_name(cr->type),
                        cr->inferred ? "first seen" : "declared");
            a.impact_rows = cr->invalid;
            hold(j, &a);
        } else if (nonnull == 0 && al->schema_seen[c]) {
            snprintf(subject, sizeof(subject), "%s:missing", cr->name);
            assay_alert a = {
                .kind = ASSAY_ALERT_SCHEMA,
                .severity = ASSAY_SEV_HIGH,
                .subject = xstrdup(subject),
                .column = xstrdup(cr->name),
                .metric = xstrdup("null_rate"),
                .threshold = 1,
                .value = 1,
                .previous = NAN,
            };
            char n[32];
            a.title = xprintf("%s: column %s disappeared", al->cfg->asset, cr->name);
            a.explanation = xprintf("%s had values before; all %s rows in %s have none", cr->name,
                                    grouped(cr->count, n, sizeof(n)), wt);
            a.impact_rows = cr->count;
            hold(j, &a);
        }
        if (nonnull > 0)
            al->schema_seen[c] = 1;
    }
    /* keys the schema (declared, or inferred from the first rows) does not have */
    for (size_t k = 0; k < w->nnew_columns; k++) {
        const assay_new_column *nc = &w->new_columns[k];
        char subject[300], n[32], t[32];
        snprintf(subject, sizeof(subject), "%s:new", nc->name);
        assay_alert a = {
            .kind = ASSAY_ALERT_SCHEMA,
            .severity = ASSAY_SEV_MEDIUM,
            .subject = xstrdup(subject),
            .column = xstrdup(nc->name),
            .metric = xstrdup("rows_with_column"),
            .threshold = 0,
            .value = (double)nc->rows,
            .previous = NAN,
        };
        grouped(nc->rows, n, sizeof(n));
        grouped(w->rows, t, sizeof(t));
        a.title = xprintf("%s: new column %s (in %s of %s rows)", al->cfg->asset, nc->name, n, t);
        a.explanation = xprintf(
            "the input has a key %s that is not in the schema (declared under columns:, or seen "
            "in the first rows): %s of %s rows in %s carry it%s; no rule checks it - declare it "
            "under columns: to check and profile it",
            nc->name, n, t, wt,
            k + 1 == w->nnew_columns && w->new_columns_other ? ", and more new keys follow" : "");
        a.impact_rows = nc->rows;
        hold(j, &a);
    }
}

/* The window's sketch of a drift column. */
static int drift_stats(const assay_result *w, const assay_drift_base *d, assay_drift *out,
                       assay_tdigest **merged_td, assay_topk **merged_tk)
{
    const assay_partial *acc = w->state;
    if (!acc)
        return -EINVAL;
    const col_profile *cp = &acc->cols[d->col];
    if (d->numeric) {
        if (!cp->td || assay_tdigest_count(cp->td) == 0 || d->n == 0)
            return -EINVAL;
        int rc = assay_tdigest_new(merged_td, ASSAY_PROFILE_TDIGEST_DELTA);
        for (uint32_t k = 0; rc == 0 && k < d->n; k++)
            rc = assay_tdigest_merge(*merged_td, d->td[k]);
        return rc < 0 ? rc : assay_drift_numeric(*merged_td, cp->td, out);
    }
    if (!cp->topk || assay_topk_total(cp->topk) == 0 || d->n == 0)
        return -EINVAL;
    int rc = assay_topk_new(merged_tk, ASSAY_PROFILE_TOPK_K, ASSAY_PROFILE_TOPK_MAXLEN);
    for (uint32_t k = 0; rc == 0 && k < d->n; k++)
        rc = assay_topk_merge(*merged_tk, d->tk[k]);
    return rc < 0 ? rc : assay_drift_categorical(*merged_tk, cp->topk, out);
}

/* Put the window's sketch into the baseline ring. */
static int drift_learn(const assay_alerter *al, const assay_result *w, assay_drift_base *d)
{
    const assay_partial *acc = w->state;
    if (!acc)
        return 0;
    const col_profile *cp = &acc->cols[d->col];
    uint32_t b = al->cfg->alerts.drift_baseline;
    int rc = 0;
    if (d->numeric) {
        if (!cp->td || assay_tdigest_count(cp->td) == 0)
            return 0;
        if (!d->td[d->next] &&
            (rc = assay_tdigest_new(&d->td[d->next], ASSAY_PROFILE_TDIGEST_DELTA)) < 0)
            return rc;
        assay_tdigest_reset(d->td[d->next]);
        rc = assay_tdigest_merge(d->td[d->next], cp->td);
    } else {
        if (!cp->topk || assay_topk_total(cp->topk) == 0)
            return 0;
        if (!d->tk[d->next] && (rc = assay_topk_new(&d->tk[d->next], ASSAY_PROFILE_TOPK_K,
                                                    ASSAY_PROFILE_TOPK_MAXLEN)) < 0)
            return rc;
        assay_topk_reset(d->tk[d->next]);
        rc = assay_topk_merge(d->tk[d->next], cp->topk);
    }
    if (rc < 0)
        return rc;
    d->next = (d->next + 1) % b;
    if (d->n < b)
        d->n++;
    return 0;
}

static void kind_drift(judge *j, const char *wt)
{
    assay_alerter *al = j->al;
    const assay_result *w = j->w;
    const assay_config *cfg = al->cfg;
    if (w->rows == 0)
        return;
    for (size_t i = 0; i < al->ndrift && j->rc == 0; i++) {
        assay_drift_base *d = &al->drift[i];
        const assay_column_result *cr = &w->columns[d->col];
        bool active = is_active(al, ASSAY_ALERT_DRIFT, cr->name);
        assay_drift st;
        assay_tdigest *mtd = NULL;
        assay_topk *mtk = NULL;
        bool drifting = false;
        if (d->n >= ASSAY_MIN(cfg->alerts.drift_baseline, 3u) && w->rows >= DRIFT_MINROW &&
            drift_stats(w, d, &st, &mtd, &mtk) == 0 && st.psi >= cfg->alerts.drift_psi_medium) {
            drifting = true;
            assay_alert a = {
                .kind = ASSAY_ALERT_DRIFT,
                .severity =
                    st.psi >= cfg->alerts.drift_psi_high ? ASSAY_SEV_HIGH : ASSAY_SEV_MEDIUM,
                .subject = xstrdup(cr->name),
                .column = xstrdup(cr->name),
                .metric = xstrdup("psi"),
                .threshold = cfg->alerts.drift_psi_medium,
                .value = st.psi,
                .previous = NAN,
            };
            char r1[32], r2[32];
            a.title =
                xprintf("%s: distribution of %s drifted (PSI %.2f)", cfg->asset, cr->name, st.psi);
            a.explanation = xprintf(
                "%s in %s moved against its baseline of the last %u windows: PSI %.3f over %u "
                "bins, KS %.3f; the largest move is %s, %s of rows before and %s now",
                cr->name, wt, d->n, st.psi, st.bins, st.ks, st.top_label,
                pct(st.top_base, r1, sizeof(r1)), pct(st.top_cur, r2, sizeof(r2)));
            a.impact_rows = w->rows;
            forecast_of(al, &a);
            hold(j, &a);
        }
        assay_tdigest_free(mtd);
        assay_topk_free(mtk);
        if (!drifting && !active) {
            int rc = drift_learn(al, w, d);
            if (rc < 0)
                j->rc = assay_error_set(j->err, rc, "cannot keep the drift baseline of %s: %s",
                                        cr->name, strerror(-rc));
        }
    }
}

/* ---------------------------------------------------------------------------------
 * A window
 * ------------------------------------------------------------------------------- */

static int remember(assay_alerter *al, const assay_result *w)
{
    assay_alert_prev *p = &al->prev;
    if (p->nrules != w->nrules || !p->rule_failed) {
        free(p->rule_failed);
        free(p->rule_evaluated);
        p->nrules = w->nrules;
        p->rule_failed = calloc(w->nrules ? w->nrules : 1, sizeof(uint64_t));
        p->rule_evaluated = calloc(w->nrules ? w->nrules : 1, sizeof(uint64_t));
    }
    if (!p->rule_failed || !p->rule_evaluated)
        return -ENOMEM;
    p->valid = true;
    p->overall = w->overall;
    memcpy(p->dims, w->dims, sizeof(p->dims));
    memcpy(p->dim_present, w->dim_present, sizeof(p->dim_present));
    memcpy(p->dim_checks, w->dim_checks, sizeof(p->dim_checks));
    p->rows = w->rows;
    p->bad_rows = w->bad_rows;
    p->breached = w->breached;
    for (size_t r = 0; r < w->nrules; r++) {
        p->rule_failed[r] = w->rules[r].failed;
        p->rule_evaluated[r] = w->rules[r].evaluated;
    }
    return 0;
}

/* The forecast's state follows the windows with a score (this one included, so the
 * forecast in its alerts starts from it). */
static void holt_update(assay_alerter *al, double y)
{
    if (al->holt_n == 0) {
        al->holt_level = y;
        al->holt_trend = 0;
    } else {
        double l0 = al->holt_level;
        al->holt_level = HOLT_ALPHA * y + (1 - HOLT_ALPHA) * (l0 + al->holt_trend);
        al->holt_trend = HOLT_BETA * (al->holt_level - l0) + (1 - HOLT_BETA) * al->holt_trend;
    }
    al->holt_n++;
}

int assay_alerter_window(assay_alerter *al, const assay_result *w, bool partial,
                         assay_alert_emit_fn emit, void *ctx, assay_error *err)
{
    int rc = assay_alerter_bind(al, w, err);
    if (rc < 0)
        return rc;
    judge j = { .al = al, .w = w, .emit = emit, .ctx = ctx, .err = err };
    char wt[96];
    window_text(w->window_start, w->window_end, wt, sizeof(wt));
    if (!w->windowed)
        snprintf(wt, sizeof(wt), "the input");
    if (w->rows > 0 && al->history)
        holt_update(al, w->overall);
    if (w->rows > 0) {
        kind_rule_breach(&j, wt);
        kind_contract(&j, wt);
    }
    if (al->history) {
        if (w->rows > 0) {
            kind_score_drop(&j, wt);
            kind_issue_increase(&j, wt);
            kind_anomaly(&j, wt);
            kind_drift(&j, wt);
            kind_schema(&j, wt);
        }
        kind_volume(&j, partial || !al->prev.valid, wt);
        kind_freshness(&j, wt);
    }
    settle(&j);
    if (j.rc < 0)
        return j.rc;
    if (w->windowed) {
        al->last_start = w->window_start;
        al->last_end = w->window_end;
    }
    if (w->rows > 0 && remember(al, w) < 0)
        return assay_error_set(err, -ENOMEM, "out of memory");
    return 0;
}
