/*
 * assay/alert.h - alert records: what fired (or resolved), on what, how bad, why, and
 * what it costs. The alert engine (src/alert/alerts.c) makes them as windows close;
 * the encoders (JSON, FlatBuffers, Alertmanager v2) and sinks take them as they are.
 * docs/alerts.md describes every kind, the lifecycle and each field.
 */
#ifndef ASSAY_ALERT_H
#define ASSAY_ALERT_H

#include "assay/common.h"
#include "assay/config.h"

typedef enum assay_alert_kind {
    ASSAY_ALERT_RULE_BREACH = 0,
    ASSAY_ALERT_SCORE_DROP,
    ASSAY_ALERT_ISSUE_INCREASE,
    ASSAY_ALERT_VOLUME,
    ASSAY_ALERT_DRIFT,
    ASSAY_ALERT_FRESHNESS,
    ASSAY_ALERT_ANOMALY,
    ASSAY_ALERT_CONTRACT,
    ASSAY_ALERT_SCHEMA,
    ASSAY_ALERT_KIND_COUNT
} assay_alert_kind;

typedef enum assay_alert_state {
    ASSAY_ALERT_FIRING = 0,
    ASSAY_ALERT_RESOLVED,
    ASSAY_ALERT_ACKED, /* a person acknowledged it (HTTP API): still active; an alert_ack record */
} assay_alert_state;

ASSAY_API const char *assay_alert_kind_name(assay_alert_kind k);
ASSAY_API const char *assay_alert_state_name(assay_alert_state s);

#define ASSAY_ALERT_SAMPLES  5 /* evidence rows per alert */
#define ASSAY_ALERT_CAUSES   5 /* root-cause entries per score drop */
#define ASSAY_ALERT_FORECAST 3 /* windows ahead in the forecast */

/* One evidence row: where it is (1-based data row over the input; line in its file
 * when known, else 0) and the failing value or the row's text (NULL = null). */
typedef struct assay_alert_sample {
    uint64_t row, line; /* line 0: not known */
    int64_t offset;     /* byte offset where the row starts in its input; -1: not known */
    char *value;
} assay_alert_sample;

/* One contributor to a score drop: a rule (or, for bad rows, a column-less cause),
 * the dimension it counts in, and the points of overall score it took away. */
typedef struct assay_alert_cause {
    char *rule;   /* NULL for bad rows */
    char *column; /* NULL for table-level rules and bad rows */
    const char *dimension;
    double points;                    /* of the overall drop explained by it (> 0 = worse) */
    double fail_rate, prev_fail_rate; /* in this window and the one before */
} assay_alert_cause;

typedef struct assay_alert {
    char id[17];             /* hex of a hash of asset, kind, subject and the firing window start */
    assay_alert_state state; /* firing, or resolved (the record that ends it) */
    assay_alert_kind kind;
    assay_severity severity;
    const char *asset;
    char *subject; /* what it is about, unique per kind: rule name, column, dimension, contract */
    char *column;  /* NULL when not about one column */
    char *rule;    /* NULL when not about one rule (a contract's name for contracts) */
    char *metric;  /* fail_rate, overall_score, rows, psi, lag_seconds, anomaly_rate, ... */
    double threshold, value, previous; /* NaN = none */
    int64_t window_start, window_end;  /* the window this record is about (us since epoch) */
    int64_t fired_start, fired_end;    /* the window it fired in (= window_* when firing) */
    bool acked;                        /* acknowledged (held for the HTTP API) */
    char *title;                       /* one line */
    char *explanation;                 /* plain words with the numbers */

    /* impact over the window's failing rows (has_*: configured and measurable) */
    uint64_t impact_rows;
    bool has_revenue, has_users;
    double revenue_at_risk, affected_users;

    assay_alert_sample samples[ASSAY_ALERT_SAMPLES];
    size_t nsamples;

    assay_alert_cause causes[ASSAY_ALERT_CAUSES]; /* score drops: largest first */
    size_t ncauses;

    /* Holt linear trend of the overall score: the next windows' predictions; when a
     * contract has min_score, the windows until it is predicted to be crossed (-1:
     * not within the horizon the trend allows, 0: below already). */
    size_t nforecast;
    double forecast[ASSAY_ALERT_FORECAST];
    const char *forecast_contract; /* NULL when no contract has min_score */
    double forecast_min_score;
    int64_t forecast_windows_to_breach;
} assay_alert;

/* The deterministic id: 16 hex digits of XXH3 over asset, kind, subject and the start
 * of the window the alert fired in. */
ASSAY_API void assay_alert_make_id(const char *asset, assay_alert_kind k, const char *subject,
                                   int64_t fired_start, char out[17]);

/* Deep copy (dst is overwritten); 0 or -ENOMEM (dst then holds nothing). */
ASSAY_API int assay_alert_copy(assay_alert *dst, const assay_alert *src);

/* Free what an alert owns (strings, samples, causes); the struct itself is the
 * caller's. */
ASSAY_API void assay_alert_clear(assay_alert *a);

/* Encoders (src/sink/encode_json.c, encode_fb.cc, encode_am.c): malloc'd buffers; 0 or
 * -ENOMEM. The Alertmanager form is one element of the v2 `POST /api/v2/alerts` array
 * (labels, annotations, startsAt, endsAt on resolve, generatorURL when the HTTP API is
 * on). */
ASSAY_API int assay_encode_alert_json(const assay_alert *a, char **out, size_t *len);
ASSAY_API int assay_encode_alert_fb(const assay_alert *a, uint8_t **out, size_t *len);
ASSAY_API int assay_encode_alert_am(const assay_alert *a, const assay_config *cfg, char **out,
                                    size_t *len);

#endif
