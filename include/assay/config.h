/*
 * assay/config.h - the job description: the YAML (or JSON) config (docs/config.md).
 *
 * Loaded through libyaml into a tree that keeps every node's line:column, then
 * checked against key tables (src/config/config.c): types, defaults and docs live in
 * one table per section; unknown keys are rejected with the closest valid key
 * suggested. Every error names file:line:column and the key path, e.g.
 *   orders.yaml:12:14: rules[3].check: unknown check 'in_rnage' (did you mean 'in_range'?)
 */
#ifndef ASSAY_CONFIG_H
#define ASSAY_CONFIG_H

#include <stdio.h>
#include "assay/common.h"
#include "assay/nulls.h"

typedef enum assay_type {
    ASSAY_TYPE_UNKNOWN = 0, /* not declared: inferred from the data */
    ASSAY_TYPE_INT,
    ASSAY_TYPE_FLOAT,
    ASSAY_TYPE_STRING,
    ASSAY_TYPE_BOOL,
    ASSAY_TYPE_TIMESTAMP,
    ASSAY_TYPE_COUNT
} assay_type;

typedef enum assay_dimension {
    ASSAY_DIM_COMPLETENESS = 0,
    ASSAY_DIM_ACCURACY,
    ASSAY_DIM_CONSISTENCY,
    ASSAY_DIM_TIMELINESS,
    ASSAY_DIM_UNIQUENESS,
    ASSAY_DIM_VALIDITY,
    ASSAY_DIM_INTEGRITY,
    ASSAY_DIM_COUNT
} assay_dimension;

typedef enum assay_severity {
    ASSAY_SEV_LOW = 0,
    ASSAY_SEV_MEDIUM,
    ASSAY_SEV_HIGH,
    ASSAY_SEV_CRITICAL,
    ASSAY_SEV_COUNT
} assay_severity;

typedef enum assay_action {
    ASSAY_ACTION_LOG = 0,
    ASSAY_ACTION_ALERT,
    ASSAY_ACTION_BLOCK
} assay_action;

typedef enum assay_check {
    ASSAY_CHECK_NOT_NULL = 0,
    ASSAY_CHECK_TYPE,
    ASSAY_CHECK_IN_RANGE,
    ASSAY_CHECK_IN_SET,
    ASSAY_CHECK_MATCHES,
    ASSAY_CHECK_UNIQUE,
    ASSAY_CHECK_FOREIGN_KEY,
    ASSAY_CHECK_FRESHNESS,
    ASSAY_CHECK_LENGTH,
    ASSAY_CHECK_ROW_COUNT,
    ASSAY_CHECK_EXPR, /* cross-field: an expression over the row (docs/expressions.md) */
    ASSAY_CHECK_COUNT
} assay_check;

typedef enum assay_format {
    ASSAY_FORMAT_AUTO = 0,
    ASSAY_FORMAT_CSV,
    ASSAY_FORMAT_NDJSON
} assay_format;

typedef enum assay_sink_kind {
    ASSAY_SINK_NONE = 0,
    ASSAY_SINK_FILE,
    ASSAY_SINK_KAFKA,
    ASSAY_SINK_STDOUT,
    ASSAY_SINK_ALERTMANAGER
} assay_sink_kind;

/* Where a value came from in the config file, for later error messages. */
typedef struct assay_config_pos {
    int line, col; /* 1-based; 0 when not from the file */
} assay_config_pos;

typedef struct assay_column_config {
    char *name;
    assay_type type;
    assay_config_pos pos;
} assay_column_config;

typedef struct assay_rule_config {
    char *name;   /* default COLUMN_CHECK (or CHECK for table-level rules) */
    char *column; /* NULL for row_count */
    assay_check check;
    assay_dimension dimension; /* default from the check, see assay_check_dimension */
    assay_severity severity;   /* default medium */
    double threshold;          /* breach when fail rate > threshold; default 0 */
    assay_action action;       /* default alert */

    /* in_range (on the column's type), row_count (rows per window) */
    bool has_min, has_max;
    char *min_text, *max_text;         /* as written, for ints/timestamps of full precision */
    double min, max;                   /* numeric value when it is a number; NAN for a timestamp */
    bool min_inclusive, max_inclusive; /* default true */

    /* in_set */
    char **values;
    size_t nvalues;

    /* matches: exactly one of pattern / format */
    char *pattern;
    char *format;

    /* foreign_key */
    char *ref_file; /* resolved relative to the config file's directory */
    char *ref_column;

    /* freshness */
    int64_t max_age_us;

    /* expr: the expression's text, and where its first character is in the file
     * (one column past the node's for a quoted scalar) */
    char *expr;
    assay_config_pos expr_pos;
    bool probe; /* made by the engine, not the config: `profile --suggest-rules` measures
                 * whether timestamp columns are ordered with such rules */

    /* length (code points) */
    bool has_min_length, has_max_length;
    uint64_t min_length, max_length;

    assay_config_pos pos;        /* the rule's mapping */
    assay_config_pos column_pos; /* its column: value */
} assay_rule_config;

typedef struct assay_sink_config {
    assay_sink_kind kind;
    char *path;         /* file (resolved relative to the config file's directory) */
    char *topic;        /* kafka */
    char *format;       /* "json" (default, set for every kind but NONE) | "flatbuffers" */
    char *kafka_format; /* kafka.format */
    char *url;          /* alertmanager */
    assay_config_pos pos;
} assay_sink_config;

/* One output's sinks (a single sink or a list in the config). */
typedef struct assay_sink_list {
    assay_sink_config *v;
    size_t n;
} assay_sink_list;

typedef struct assay_contract_config {
    char *name, *owner;
    bool has_min_score, has_max_freshness;
    double min_score;
    bool has_min_dim[ASSAY_DIM_COUNT]; /* min_completeness, min_accuracy, ... */
    double min_dim[ASSAY_DIM_COUNT];
    int64_t max_freshness_us;
    char **max_null_columns; /* max_null_rate: {COLUMN: RATE} */
    double *max_null_rates;
    size_t nmax_null;
    char **require_names; /* require: [{name, type}] */
    assay_type *require_types;
    size_t nrequire;
    assay_action action;
    assay_config_pos pos;
} assay_contract_config;

typedef struct assay_config {
    char *path;  /* as given to load, or the name given to parse; NULL for the default config */
    char *dir;   /* directory of path, for relative file names */
    char *asset; /* default: the config file's name without extension ("default" in
                  * assay_config_default) */

    struct {
        char *file;        /* NULL when files come from the command line */
        char *kafka_topic; /* source.kafka.topic */
        char *kafka_group; /* source.kafka.group; default "assay-" ASSET */
        char *kafka_start; /* source.kafka.start: committed (default) | earliest | latest */
        assay_format format;
        char delimiter;                /* 0 (default): tab for .tsv/.tab files, else ',' */
        char quote;                    /* default '"' */
        bool header;                   /* default true */
        bool follow;                   /* keep reading as the file grows; reopen on rotation */
        char comment;                  /* lines starting with it are skipped; 0: none (default) */
        assay_null_tokens null_values; /* text that means null; empty: only the empty field */
    } source;

    char **kafka_keys, **kafka_values; /* librdkafka properties, in file order; values are
                                        * the text as written (numbers, booleans too) */
    size_t nkafka;

    assay_column_config *columns;
    size_t ncolumns;

    char *event_time;
    assay_config_pos event_time_pos;
    struct {
        int64_t size_us, slide_us, lateness_us; /* defaults 60s, = size, 0 */
        int64_t idle_us;                        /* default 30s */
    } window;

    assay_rule_config *rules;
    size_t nrules;

    double weights[ASSAY_DIM_COUNT]; /* the quality model's defaults, overridable */

    struct {
        double score_drop[ASSAY_SEV_COUNT];     /* [medium..critical] = 5, 10, 20 */
        double issue_increase[ASSAY_SEV_COUNT]; /* 2, 5, 10 */
        double volume_z;                        /* 3 */
        unsigned volume_warmup;                 /* 5 whole windows before volume judges */
        char **drift_columns;                   /* drift.columns */
        size_t ndrift_columns;
        assay_config_pos *drift_column_pos;
        unsigned drift_baseline;                 /* 10 windows */
        double drift_psi_medium, drift_psi_high; /* 0.1, 0.25 */
        unsigned idle_windows;                   /* freshness: 2 */
        double anomaly_factor;                   /* 3 */
        uint64_t anomaly_min_rows;               /* 20 */
        unsigned resolve_after;                  /* 3 */
    } alerts;

    struct {
        char **columns;
        size_t ncolumns;
        assay_config_pos *column_pos; /* where each was named (NULL when not from a file) */
        unsigned trees;               /* 100 */
        unsigned sample;              /* 256 */
        double contamination;         /* 0.01 */
        uint64_t window;              /* rows kept for regrowing trees (default 2048) */
        uint64_t refresh;             /* rows between tree replacements (default 1000) */
        uint64_t seed;                /* default 1 */
    } anomaly;

    struct {
        char *revenue_column, *user_column;
    } impact;

    assay_contract_config *contracts;
    size_t ncontracts;

    struct {
        assay_sink_list scores, alerts, quarantine, clean;
    } sinks;

    struct {
        char *dir;           /* NULL: no checkpoints */
        int64_t interval_us; /* default 10s */
    } state;

    struct {
        char *sqlite;
        int64_t retention_us;
    } history;

    struct {
        char *listen;     /* NULL when no http: section */
        char *token_file; /* NULL: mutating endpoints open to whoever reaches listen */
        char **origins;   /* allowed Origin values besides the server's own */
        size_t norigins;
        unsigned rate_limit; /* mutating requests per minute per client address */
    } http;

    struct {
        uint64_t max_row_bytes; /* 1 MiB */
        uint64_t max_fields;    /* 4096 */
        uint64_t unique_memory; /* 1 GiB: per unique rule and window */
        uint64_t samples;       /* sample failures kept per rule (5) */
        uint64_t empty_windows; /* longest run of empty windows emitted one by one (10000) */
        uint64_t read_buffer;   /* bytes per read and most per chunk (4 MiB) */
    } limits;
} assay_config;

/* Load and validate a config file. */
ASSAY_API int assay_config_load(const char *path, assay_config **out, assay_error *err);

/* Same from memory; name is used in messages (and for relative paths). */
ASSAY_API int assay_config_parse(const char *text, size_t len, const char *name, assay_config **out,
                                 assay_error *err);

/* The same, but keys this build does not implement yet are parsed instead of rejected
 * (for tests of the parser; the product always rejects them). */
ASSAY_API int assay_config__parse_all(const char *text, size_t len, const char *name,
                                      assay_config **out, assay_error *err);

/* A config with every default and no rules (for `profile` and `bench`). */
ASSAY_API int assay_config_default(assay_config **out);

ASSAY_API void assay_config_free(assay_config *c);

/* Markdown reference of every key (type, default, description), generated from the
 * same tables the loader uses. */
ASSAY_API void assay_config_reference(FILE *out);

/* Names for enums, as written in configs and JSON output. */
ASSAY_API const char *assay_type_name(assay_type t);
ASSAY_API const char *assay_dimension_name(assay_dimension d);
ASSAY_API const char *assay_severity_name(assay_severity s);
ASSAY_API const char *assay_check_name(assay_check c);
ASSAY_API const char *assay_action_name(assay_action a);
ASSAY_API assay_dimension assay_check_dimension(assay_check c);

/* Closest of n candidates to word by edit distance, or NULL when none is close
 * (distance > max(2, len/3)). For "did you mean" hints. */
ASSAY_API const char *assay_closest(const char *word, const char *const *cands, size_t n);

#endif
