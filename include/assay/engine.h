/*
 * assay/engine.h - the pipeline: a source's chunks go to N shared-nothing shards that
 * frame, split and parse the needed columns and run every rule into partial window
 * state; the aggregator folds the partials in stream order into event-time windows,
 * closes them as the watermark passes, scores them and hands the results to the
 * outputs. `assay check` is the same pipeline with one window over the whole input
 * (assay_engine_check); `assay run` places rows in windows and writes one score
 * record per closed window to the configured sinks (assay_engine_run).
 */
#ifndef ASSAY_ENGINE_H
#define ASSAY_ENGINE_H

#include <stdio.h>
#include "assay/common.h"
#include "assay/config.h"
#include "assay/reader.h"
#include "assay/source.h"

#define ASSAY_SAMPLE_VALUE_MAX 200 /* bytes of a sample value kept (then "...") */
#define ASSAY_BAD_SAMPLES      20  /* bad rows kept with line and reason */

typedef void (*assay_progress_fn)(void *ctx, uint64_t bytes, uint64_t total, uint64_t rows);

struct assay_result;
struct assay_alert;
struct assay_partial;

typedef struct assay_engine_hand assay_engine_hand; /* a running pipeline, in on_poll */

typedef struct assay_engine_options {
    const assay_config *cfg;
    const char *const *paths; /* "-" = stdin; when npaths == 0 cfg->source.file is used */
    size_t npaths;
    unsigned threads;    /* shards; 0 = number of online CPUs */
    bool profile;        /* profile every column (HLL, t-digest, moments, top-k) */
    bool duplicate_rows; /* count rows whose whole content repeats an earlier row */
    bool exact_keys;     /* count each column's repeated values exactly (--suggest-rules) */
    assay_format format; /* AUTO: cfg, then the first file's extension, then CSV */
    int64_t now_us;      /* clock for freshness; INT64_MIN = wall clock at start */
    uint32_t batch_rows; /* rows per batch; 0 (default): 4096, fewer for wide inputs */
    size_t chunk_bytes;  /* reader buffer size; 0 = limits.read_buffer (4 MiB) */
    FILE *row_scores;    /* anomaly score per row as `row,score` lines (--row-scores), or NULL */
    const char *mem;     /* input in memory instead of files (assay bench), or NULL */
    size_t mem_len;
    assay_progress_fn progress; /* called from the reading thread, about 4 times a second */
    void *progress_ctx;

    /* assay run */
    bool from_beginning;      /* ignore a checkpoint's position: start over */
    volatile const int *stop; /* set (by a signal handler) to stop gracefully */
    /* called when a closed window's score record was written to the sinks, before its
     * alerts are judged (terminal lines, the HTTP surface) */
    void (*on_window)(void *ctx, const struct assay_result *w);
    void *on_window_ctx;
    /* called with each alert record (firing, resolved) as it goes to the sinks; the
     * same ctx as on_window */
    void (*on_alert)(void *ctx, const struct assay_alert *a);
    /* what the user should know that does not stop the run (one sentence, no newline) */
    void (*notice)(void *ctx, const char *msg);
    void *notice_ctx;
    /* called on the pipeline's thread between chunks, at most every 20 ms and at least
     * every 100 ms while the run is in its loop: where the HTTP surface reads the live
     * numbers (assay_engine_live) and applies acks and resolves (same ctx as on_window) */
    void (*on_poll)(void *ctx, assay_engine_hand *h);
} assay_engine_options;

ASSAY_API void assay_engine_options_default(assay_engine_options *o);

/* What a run has done so far, for metrics and readiness (assay_engine_live). */
#define ASSAY_LIVE_PARTS 256 /* partitions whose lag is reported */
typedef struct assay_run_live {
    uint64_t rows, bytes, bad_rows, late_rows; /* of the stream, a resumed run's included */
    uint64_t clean_rows, quarantined_rows, score_records, alert_records;
    uint64_t windows, alerts_fired, alerts_resolved, alerts_acked, checkpoints, stalls;
    uint64_t sink_errors;  /* deliveries that failed: Kafka produce errors, Alertmanager POSTs */
    double checkpoint_age; /* seconds since the last checkpoint was written; -1: none */
    bool source_ready;     /* reading: files open, or Kafka partitions assigned */
    bool paused;           /* a sink's backpressure holds the source */
    int64_t watermark;     /* event time the windows have closed up to (us); INT64_MIN none */
    size_t nlag;           /* Kafka: consumer lag per assigned partition */
    assay_part_lag lag[ASSAY_LIVE_PARTS];
} assay_run_live;

ASSAY_API void assay_engine_live(assay_engine_hand *h, assay_run_live *out);
/* Acknowledge / resolve an active alert by id (see assay_alerter_ack in
 * src/alert/alerts.h): its record goes to the alert sinks and on_alert at once. 0 done,
 * 1 already acknowledged, -ENOENT no active alert has the id. */
ASSAY_API int assay_engine_ack(assay_engine_hand *h, const char *id, const char *by,
                               assay_error *err);
ASSAY_API int assay_engine_resolve(assay_engine_hand *h, const char *id, const char *by,
                                   assay_error *err);

/* Where the time of a pass goes (assay bench). Stage times are summed over shards
 * from per-batch clock readings (never per row), so they are CPU-like seconds. */
typedef enum assay_stage {
    ASSAY_STAGE_READ = 0, /* producing chunks: I/O, or cutting memory (reading thread) */
    ASSAY_STAGE_FRAME,    /* framing rows and splitting fields (the parser) */
    ASSAY_STAGE_PARSE,    /* text views, UTF-8, typed values, regex scans */
    ASSAY_STAGE_RULES,    /* rule kernels and samples */
    ASSAY_STAGE_SKETCH,   /* the profile's sketches and duplicate rows */
    ASSAY_STAGE_ANOMALY,  /* the isolation forest: features, scoring, learning */
    ASSAY_STAGE_MERGE,    /* merging shards, scoring (reading thread, after the join) */
    ASSAY_STAGE_COUNT
} assay_stage;

ASSAY_API const char *assay_stage_name(assay_stage s);

/* A failing row kept as evidence. Rules keep a uniform sample of their failing rows (a
 * bottom-k reservoir keyed by where each row is in its input), listed in row order;
 * unique keeps its first repeats. */
typedef struct assay_sample {
    uint64_t row;    /* 1-based data row over all input files */
    uint64_t offset; /* byte offset where the row starts in its input; UINT64_MAX unknown */
    char *value;     /* NUL-terminated copy (truncated to ASSAY_SAMPLE_VALUE_MAX); NULL = null */
} assay_sample;

typedef struct assay_rule_result {
    const assay_rule_config *cfg; /* name, column, check, dimension, severity, threshold */
    uint64_t evaluated, failed;
    uint64_t unevaluated; /* expr: rows where the expression was null (neither pass nor fail) */
    double fail_rate;     /* failed / evaluated, 0 when nothing was evaluated */
    bool breached;        /* fail_rate > threshold */
    char *note;           /* e.g. unique's memory cap was reached; NULL when none */
    /* impact over the rows this rule failed (config `impact:`; has_impact when set) */
    bool has_impact, has_revenue, has_users;
    double revenue_at_risk; /* sum of impact.revenue_column over them */
    double affected_users;  /* distinct impact.user_column values among them (HLL) */
    /* freshness rules: clock - newest value when it was judged (has_lag: one was seen) */
    bool has_lag;
    int64_t lag_us;
    assay_sample *samples;
    size_t nsamples;
    /* a probe rule's config (profile --suggest-rules): the result's own copy, since the
     * engine that made the probe is gone when the result is read; cfg points to it */
    assay_rule_config *own_cfg;
} assay_rule_result;

/* A key of the input that is not a column of the schema (NDJSON), and the rows of the
 * window that had it. */
#define ASSAY_NEW_COLUMNS 8
typedef struct assay_new_column {
    char *name;
    uint64_t rows;
} assay_new_column;

typedef struct assay_bad_sample {
    uint32_t file; /* index into files */
    uint64_t line; /* 1-based line in that file where the row starts */
    uint64_t row;  /* 1-based data row over all input */
    char reason[160];
    char *text; /* the row's first bytes */
} assay_bad_sample;

#define ASSAY_PROFILE_TOP    20 /* most frequent values reported per column */
#define ASSAY_PROFILE_ISSUES 8

typedef struct assay_top_value {
    char *value;
    uint64_t count;     /* exact, or an estimate that is an upper bound */
    uint64_t count_min; /* the guaranteed count (= count when exact) */
    bool exact;         /* false: the true count is in [count_min, count] */
} assay_top_value;

/* Quantiles reported, in this order: p01 p05 p25 p50 p75 p95 p99. */
#define ASSAY_PROFILE_NQ 7
extern const double assay_profile_q[ASSAY_PROFILE_NQ];
extern const char *const assay_profile_qname[ASSAY_PROFILE_NQ];

typedef struct assay_column_result {
    char *name;
    assay_type type;
    bool inferred;                  /* type came from the data, not the config */
    bool parsed;                    /* the column was parsed (a rule or the profile needed it) */
    uint64_t count, nulls, invalid; /* rows seen, nulls, non-null values not of type */

    /* the profile (filled when profiled) */
    bool profiled;
    double distinct; /* HyperLogLog estimate of distinct non-null values */
    bool numeric;    /* int, float, timestamp: the numeric fields below are set */
    double min, max, mean, stddev, skewness, kurtosis; /* NaN when undefined */
    bool has_int_extremes; /* int columns: min and max exactly (doubles round >2^53) */
    int64_t min_int, max_int;
    uint64_t widened;               /* inferred int values that needed a float (type -> float) */
    uint64_t nan, pos_inf, neg_inf; /* non-finite values, kept out of moments and quantiles */
    uint64_t null_tokens;           /* values like NA, N/A, null not declared as nulls */
    char null_token[8];             /* ... the first one seen */
    double quantiles[ASSAY_PROFILE_NQ];
    /* exact_keys: values that repeat an earlier value of the column, counted exactly
     * (up to 64-bit hash collisions) while they stay under 5% of the values */
    bool repeats_known; /* repeats is the exact count */
    bool repeats_many;  /* tracking stopped: at least 5% of the values repeat */
    uint64_t repeats;
    uint64_t outliers;         /* beyond the Tukey fences Q1 - 1.5 IQR, Q3 + 1.5 IQR (estimated) */
    char *min_text, *max_text; /* strings: smallest and largest value (bytewise) */
    uint64_t len_min, len_max; /* strings: length in code points */
    double len_mean;
    assay_top_value top[ASSAY_PROFILE_TOP];
    size_t ntop;
    /* what the first rows' values parse as (the inference sample): counts of values */
    uint64_t sampled, sampled_int, sampled_float, sampled_ts, sampled_bool;
    const char *format;  /* strings: named format most of the first values fit, or NULL */
    double format_share; /* ... and the share of them that fit it */
    uint32_t format_n;   /* values sampled */
    const char *issues[ASSAY_PROFILE_ISSUES]; /* static names: high_nulls, constant, ... */
    char *issue_text[ASSAY_PROFILE_ISSUES];   /* the evidence, one line each */
    size_t nissues;
} assay_column_result;

/* One of the highest-scoring rows. */
typedef struct assay_anomaly_sample {
    uint64_t row;   /* 1-based data row over all input files */
    double score;   /* (0, 1] */
    double *values; /* one per anomaly column, as fed to the forest; NaN = missing */
} assay_anomaly_sample;

/* The isolation forest's findings (src/engine/anomaly.c); enabled when anomaly.columns
 * is set. */
/* Judged rows' scores by bin: bin i holds scores in [i / BINS, (i + 1) / BINS), the last
 * one 1.0 too; the alert engine learns its bar from these. */
#define ASSAY_AN_BINS 1000

typedef struct assay_anomaly_result {
    bool enabled;
    char **columns;
    uint32_t *column_index; /* each one's place in assay_result.columns */
    size_t ncolumns;
    unsigned trees, sample;
    uint64_t window, refresh;
    double contamination;
    uint64_t scored;    /* rows that got a score */
    uint64_t not_ready; /* rows fed before their shard's first forest (no score) */
    uint64_t judged;    /* scored rows after their shard's first threshold (1024 scores) */
    uint64_t anomalies; /* judged rows above the threshold in force when scored */
    double rate;        /* anomalies / judged */
    double threshold;   /* the last threshold (mean over shards); NaN when none yet */
    assay_anomaly_sample *samples; /* highest scores first, limits.samples of them */
    size_t nsamples;
    uint32_t *hist; /* [ASSAY_AN_BINS] judged rows' scores */
} assay_anomaly_result;

typedef struct assay_result {
    /* a window of `assay run` (windowed), or the whole input (check, profile) */
    bool windowed;
    int64_t window;                   /* index k: the window covers [k * slide, k * slide + size) */
    int64_t window_start, window_end; /* microseconds since the epoch */
    char id[17];                      /* hex of a hash of asset and window start */
    uint64_t late_rows;               /* rows whose windows had all closed, counted here */
    bool closed_by_end;               /* the end of input closed it (it may not be whole) */
    double closed_at;                 /* monotonic seconds when it was closed (run) */
    /* keys outside the schema (NDJSON), the first ASSAY_NEW_COLUMNS by name, and the
     * rows with one of the others */
    assay_new_column new_columns[ASSAY_NEW_COLUMNS];
    size_t nnew_columns;
    uint64_t new_columns_other;
    /* event-time lag: the clock minus the newest event time, when its rows were judged
     * (has_lag: the window had event-time rows) */
    bool has_lag;
    int64_t lag_us;

    char **files;
    size_t nfiles;
    assay_format format;
    uint64_t rows;  /* data rows, bad ones included (a window: its on-time rows and the
                     * bad rows counted in it) */
    uint64_t bytes; /* input bytes */
    double seconds; /* wall time of the pass */
    unsigned threads;
    bool io_uring;
    const char *simd;

    uint64_t bad_rows;
    assay_bad_sample *bad_samples; /* the first ASSAY_BAD_SAMPLES by row */

    bool has_duplicate_rows;
    uint64_t duplicate_rows; /* rows repeating an earlier row byte for byte */
    char *duplicate_note;    /* memory cap reached, when it was */
    size_t nbad_samples;

    assay_rule_result *rules;
    size_t nrules;
    size_t breached; /* rules breached */

    assay_column_result *columns;
    size_t ncolumns;

    /* the quality model (docs/design.md): per-dimension score over its checks; present = had
     * checks. */
    double dims[ASSAY_DIM_COUNT];
    bool dim_present[ASSAY_DIM_COUNT];
    uint64_t dim_checks[ASSAY_DIM_COUNT], dim_failed[ASSAY_DIM_COUNT];
    double overall; /* weighted mean over present dimensions; 100 when none */

    assay_anomaly_result anomaly;

    double stage_seconds[ASSAY_STAGE_COUNT]; /* see assay_stage */
    uint64_t comment_lines; /* lines skipped as comments (source.comment): not rows */

    /* the alerts this window raised (check: rule breaches and contracts), records of
     * src/alert; NULL when none */
    struct assay_alert *alerts;
    size_t nalerts;

    /* internal: the window's merged state (sketches) while the window hook runs,
     * NULL otherwise */
    const struct assay_partial *state;
} assay_result;

/* Run every rule of o->cfg over the input. Returns 0 and a result (whatever the data
 * looked like), or a negative code with err set for usage/config/I-O errors. */
ASSAY_API int assay_engine_check(const assay_engine_options *o, assay_result **out,
                                 assay_error *err);

/* A row routed to the quarantine output (rows failing a `block` rule, bad rows, rows
 * without a usable event time). */
typedef struct assay_quarantine_row {
    const char *asset;
    const char *const *rules;   /* names of what it failed: rules, parse_error, event_time */
    const char *const *reasons; /* one reason per name */
    size_t n;
    const char *file;  /* the source file; NULL for other sources */
    uint64_t line;     /* 1-based line where the row starts */
    uint64_t row;      /* 1-based data row */
    const char *value; /* the row's original bytes (no line terminator) */
    size_t value_len;
    /* a message source (Kafka): the topic, partition and message (key, headers,
     * timestamp, offset) the row came from; NULL topic / msg otherwise */
    const char *topic;
    int32_t partition;
    const assay_msg_meta *msg;
    int64_t window_start; /* the first window open when the row was folded (its bad or
                           * late count lands there); ASSAY_TIME_NONE before any */
} assay_quarantine_row;

/* What a run did, for the closing summary. */
typedef struct assay_run_summary {
    uint64_t rows, bytes, bad_rows, late_rows; /* of the stream, a resumed run's included */
    uint64_t rows_read; /* by this run (rows less what the checkpoint had counted) */
    uint64_t clean_rows, quarantined_rows;
    uint64_t windows, windows_skipped, windows_open; /* open: left in the checkpoint */
    int64_t gap_from, gap_to; /* the first run of skipped windows (start times) */
    uint64_t alerts_fired, alerts_resolved, alerts_acked;
    double alert_seconds;     /* time spent judging windows for alerts (and writing them) */
    double alert_latency_max; /* longest time from a window's close to its alerts written */
    double alert_latency_p50, alert_latency_p99; /* the same, over every window (1 % bins) */
    uint64_t checkpoints;
    uint64_t checkpoint_bytes; /* size of the largest one */
    double checkpoint_seconds; /* time spent writing them (drain, sync, write) */
    bool resumed;              /* started from a checkpoint */
    uint64_t stalls;           /* times a full Kafka producer queue paused the source */
    bool stopped;              /* ended by o->stop, not by the end of input */
    double seconds;
    double active_seconds; /* from the first chunk read to the last one folded */
} assay_run_summary;

/* Streaming: rows into event-time windows (o->cfg's window, event_time), one score
 * record per closed window and the rows' routes to the sinks of o->cfg, checkpoints
 * in state.dir. Returns at the end of input or when *o->stop is set (0), or on an
 * error (negative, err set). */
ASSAY_API int assay_engine_run(const assay_engine_options *o, assay_run_summary *sum,
                               assay_error *err);
ASSAY_API void assay_result_free(assay_result *r);

/* The exit status `assay check` gives this result: 0 pass, 1 a rule breached or rows
 * could not be parsed. */
ASSAY_API int assay_result_status(const assay_result *r);

/* Reports. `assay profile` prints the profile part only. */
ASSAY_API char *assay_profile_json(const assay_result *r);
ASSAY_API void assay_profile_text(const assay_result *r, FILE *out, bool color);
/* True when the input had rows but not one of them parsed; msg then says so with the
 * first bad row and the most likely cause (a delimiter, a quote, the format). */
ASSAY_API bool assay_result_nothing_parsed(const assay_result *r, char *msg, size_t cap);
/* The same table fitted to `width` columns (at least 80): long names and values are
 * cut with an ellipsis (the whole values are in the JSON). assay_profile_text takes
 * the width of out's terminal, else $COLUMNS, else 100. */
ASSAY_API void assay_profile_text_width(const assay_result *r, FILE *out, bool color, size_t width);
/* A config `assay check` accepts, suggested from the profile (Deequ-style). */
ASSAY_API char *assay_suggest_rules(const assay_result *r, const char *asset);

/* Reports. */
ASSAY_API char *assay_result_json(const assay_result *r, const assay_config *cfg);
ASSAY_API void assay_result_text(const assay_result *r, const assay_config *cfg, FILE *out,
                                 bool color);

/* Scoring (src/engine/score.c): fill dims/overall from rules and bad rows. */
ASSAY_API void assay_score(assay_result *r, const assay_config *cfg);

#endif
