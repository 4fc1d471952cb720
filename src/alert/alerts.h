/*
 * alerts.h - the alert engine: every closed window, in order, goes through each alert
 * kind's condition; conditions become firing alerts, stay quiet while active, and
 * resolve after `alerts.resolve_after` clear windows (src/alert/alerts.c has the
 * model, docs/alerts.md the user's view).
 *
 * Its state is plain data (below) because the checkpoint writes it as it is: active
 * alerts, the previous window's summary, the volume and forecast baselines, the drift
 * baselines' sketches and the anomaly bar. A restart therefore neither re-fires an
 * active alert nor forgets one.
 */
#ifndef ASSAY_ALERTS_H
#define ASSAY_ALERTS_H

#include "assay/alert.h"
#include "assay/engine.h"
#include "assay/tdigest.h"
#include "assay/topk.h"

/* An active alert: enough to keep it quiet while active and to write its resolved
 * record. */
typedef struct assay_alert_active {
    assay_alert_kind kind;
    char *subject, *column, *rule, *metric, *title;
    char id[17];
    assay_severity severity;
    int64_t fired_start, fired_end;
    double threshold, fired_value;
    double ref;     /* score_drop / issue_increase: the level before the drop */
    uint32_t clear; /* clear windows in a row */
    bool acked;
    bool seen; /* scratch: its condition held in the window being judged */
} assay_alert_active;

/* What the next window is compared with: the last window that had rows. */
typedef struct assay_alert_prev {
    bool valid;
    double overall;
    double dims[ASSAY_DIM_COUNT];
    bool dim_present[ASSAY_DIM_COUNT];
    uint64_t dim_checks[ASSAY_DIM_COUNT];
    uint64_t rows, bad_rows;
    size_t breached;
    size_t nrules;
    uint64_t *rule_failed, *rule_evaluated; /* [nrules] */
} assay_alert_prev;

/* One drift column's baseline: the sketches of the last `baseline` windows that were
 * not drifting (a ring), merged when a window is judged. */
typedef struct assay_drift_base {
    uint32_t col; /* index into the result's columns */
    bool numeric;
    uint32_t n, next;   /* windows held, slot the next one goes to */
    assay_tdigest **td; /* [baseline] numeric */
    assay_topk **tk;    /* [baseline] categorical */
} assay_drift_base;

#define ASSAY_AN_BASE      10   /* windows in the anomaly score baseline */
#define ASSAY_AN_BASE_MIN  3    /* ... needed before it replaces the forests' own flags */
#define ASSAY_AN_BASE_ROWS 1000 /* ... and judged rows in them */

typedef struct assay_alerter {
    const assay_config *cfg;
    bool history; /* run: kinds that compare windows; check: rule breaches and contracts */

    assay_alert_active *act;
    size_t nact, act_cap;

    assay_alert_prev prev;
    uint32_t empty_run; /* empty windows in a row (freshness) */
    /* volume: EWMA of rows per window over windows that were not in a volume alert */
    uint64_t vol_n;
    double vol_mean, vol_var;
    /* forecast: Holt's level and trend of the overall score */
    uint64_t holt_n;
    double holt_level, holt_trend;
    /* anomaly: the rate bar is factor x contamination of rows above a score learned
     * from the score histograms of the last ASSAY_AN_BASE windows not in an anomaly
     * alert (a ring); their mean rate is kept to report how unusual a window is */
    uint64_t an_n;
    double an_mean;
    uint32_t *an_base; /* [ASSAY_AN_BASE * ASSAY_AN_BINS], NULL until the first window */
    uint32_t an_nbase, an_next;

    assay_drift_base *drift;
    size_t ndrift;

    /* schema: what each column looked like when first seen with values */
    size_t nschema;
    uint8_t *schema_seen; /* [ncols] 1: it has had values */

    int64_t last_start, last_end; /* the last window judged (0, 0: none since start) */

} assay_alerter;

typedef int (*assay_alert_emit_fn)(void *ctx, const assay_alert *a, assay_error *err);

/* history: false for `check` (one window; no kinds that compare windows). */
int assay_alerter_init(assay_alerter *al, const assay_config *cfg, bool history, assay_error *err);
void assay_alerter_free(assay_alerter *al);

/* Judge one closed window (in window order). partial: the window is not a whole one
 * (the first of a stream, or one that the end of input closed), so volume neither
 * judges nor learns from it. Each record (firing, resolved) goes to emit. */
int assay_alerter_window(assay_alerter *al, const assay_result *w, bool partial,
                         assay_alert_emit_fn emit, void *ctx, assay_error *err);

/* A person's hand on an active alert (the HTTP API's POST alerts/{id}/ack and
 * /resolve, applied on the pipeline's thread between windows). ack marks it
 * acknowledged and emits an ASSAY_ALERT_ACKED record (once: 1 when it already was);
 * resolve ends it now with a resolved record saying so - when its condition still holds
 * in the next window it fires again, under a new id. by: who asked (a client address),
 * for the explanation. -ENOENT: no active alert has this id. */
int assay_alerter_ack(assay_alerter *al, const char *id, const char *by, assay_alert_emit_fn emit,
                      void *ctx, assay_error *err);
int assay_alerter_resolve(assay_alerter *al, const char *id, const char *by,
                          assay_alert_emit_fn emit, void *ctx, assay_error *err);

/* Drift: make the per-column baselines once the window's columns are known. */
int assay_alerter_bind(assay_alerter *al, const assay_result *w, assay_error *err);

#endif
