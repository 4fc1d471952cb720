/*
 * config.c - the config file: key tables, validation, defaults and the reference.
 *
 * Config as data
 * --------------
 * Every section of the config (docs/config.md is generated from them) is one table of key_def rows:
 *
 *     { key, type, default text, offsetof into the struct, description, limits... }
 *
 * after Fluent Bit's config_map (src/flb_config_map.c: type, name, default value,
 * offset into the plugin context, description). The same rows drive four things, so
 * they cannot drift apart:
 *
 *   1. parsing   - parse_map() walks a YAML mapping, finds each key's row and converts
 *                  the value by the row's type into base + offset;
 *   2. defaults  - apply_defaults() feeds each row's default *text* through that same
 *                  converter, so a default is exactly what writing it would give;
 *   3. rejection - a key with no row is an error, with the closest row's key offered
 *                  ("did you mean") or, failing that, the section where the key lives;
 *   4. docs      - assay_config_reference() prints every row as Markdown.
 *
 * Nested sections are rows of type V_SECTION pointing at another table (offsets stay
 * relative to the same struct). Lists of records (rules, columns, contracts) and a few
 * shapes that are not "key: scalar" (librdkafka properties, sinks, min/max whose meaning
 * depends on the check) are V_CUSTOM rows with a parse function; where they hold
 * records, the row's sub table still documents and parses each record's keys.
 *
 * Rules are the one place where keys depend on another key: each rule row carries a
 * bitmask of the checks it applies to, `check` is read first, and a key that belongs to
 * another check is reported as such ("rules[2].values: not valid for check 'in_range'
 * (in_range takes min, max, min_inclusive, max_inclusive)").
 *
 * Error messages
 * --------------
 * One line, "FILE:LINE:COL: KEY.PATH: what is wrong", with LINE:COL (1-based) of the
 * value at fault, or of the key when the key itself is wrong, or of the enclosing
 * mapping when something is missing. Where a fixed set of words applies the message
 * lists them and suggests the closest. Closeness is the optimal string alignment
 * distance (Damerau 1964, "A technique for computer detection and correction of spelling
 * errors", CACM 7(3); the restricted edit distance of Boyer et al.): insertions,
 * deletions, substitutions and adjacent transpositions each cost 1, computed by the
 * usual O(mn) dynamic program (Wagner and Fischer 1974) with a third row for
 * transpositions. A candidate is offered when its distance is at most max(2, len/3),
 * so "in_rnage" finds "in_range" but "x" does not find "max".
 *
 * What YAML gives us is text (src/config/yaml_tree.c). A plain empty value, ~ or null
 * means "not set": the key keeps its default (or is reported missing when required);
 * "" is an empty string, which no key accepts. Numbers and booleans may be quoted
 * (JSON writers sometimes do); their text is parsed either way. Booleans take YAML
 * 1.1's words (true/false, yes/no, on/off). Numbers use a strict decimal grammar and
 * strtod_l in the C locale, so a process locale with decimal commas cannot change a
 * config's meaning.
 *
 * Cross-checks that need the data (does column X exist? is it a timestamp?) belong to
 * the engine. The only one done here: when `columns:` is declared, every column named
 * elsewhere in the config (rules, event_time, anomaly.columns, impact) must be in it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l, newlocale */
#endif
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/config.h"
#include "assay/expr.h"
#include "assay/number.h"
#include "config/yaml_tree.h"
#include "core/strbuf.h"

/* ---------------------------------------------------------------- names */

static const char *const type_names[ASSAY_TYPE_COUNT] = {
    NULL, "int", "float", "string", "bool", "timestamp",
};
static const char *const dim_names[ASSAY_DIM_COUNT] = {
    "completeness", "accuracy", "consistency", "timeliness", "uniqueness", "validity", "integrity",
};
static const char *const sev_names[ASSAY_SEV_COUNT] = { "low", "medium", "high", "critical" };
static const char *const action_names[] = { "log", "alert", "block" };
static const char *const check_names[ASSAY_CHECK_COUNT] = {
    "not_null",    "type",      "in_range", "in_set",    "matches", "unique",
    "foreign_key", "freshness", "length",   "row_count", "expr",
};
static const char *const format_names[] = { NULL, "csv", "ndjson" };
static const char *const sink_format_names[] = { "json", "flatbuffers" };
static const char *const kafka_start_names[] = { "committed", "earliest", "latest" };
/* Named formats for `matches` (src/rules/formats.c implements them). */
static const char *const match_format_names[] = { "email", "uuid", "ipv4", "iso_date",
                                                  "phone_e164" };

static const assay_dimension check_dims[ASSAY_CHECK_COUNT] = {
    [ASSAY_CHECK_NOT_NULL] = ASSAY_DIM_COMPLETENESS, [ASSAY_CHECK_TYPE] = ASSAY_DIM_VALIDITY,
    [ASSAY_CHECK_IN_RANGE] = ASSAY_DIM_VALIDITY,     [ASSAY_CHECK_IN_SET] = ASSAY_DIM_VALIDITY,
    [ASSAY_CHECK_MATCHES] = ASSAY_DIM_VALIDITY,      [ASSAY_CHECK_UNIQUE] = ASSAY_DIM_UNIQUENESS,
    [ASSAY_CHECK_FOREIGN_KEY] = ASSAY_DIM_INTEGRITY, [ASSAY_CHECK_FRESHNESS] = ASSAY_DIM_TIMELINESS,
    [ASSAY_CHECK_LENGTH] = ASSAY_DIM_VALIDITY,       [ASSAY_CHECK_ROW_COUNT] = ASSAY_DIM_ACCURACY,
    [ASSAY_CHECK_EXPR] = ASSAY_DIM_ACCURACY,
};

const char *assay_type_name(assay_type t)
{
    if (t > ASSAY_TYPE_UNKNOWN && t < ASSAY_TYPE_COUNT)
        return type_names[t];
    return "unknown";
}

const char *assay_dimension_name(assay_dimension d)
{
    return (unsigned)d < ASSAY_DIM_COUNT ? dim_names[d] : "unknown";
}

const char *assay_severity_name(assay_severity s)
{
    return (unsigned)s < ASSAY_SEV_COUNT ? sev_names[s] : "unknown";
}

const char *assay_check_name(assay_check c)
{
    return (unsigned)c < ASSAY_CHECK_COUNT ? check_names[c] : "unknown";
}

const char *assay_action_name(assay_action a)
{
    return (unsigned)a < ASSAY_ARRAY_LEN(action_names) ? action_names[a] : "unknown";
}

assay_dimension assay_check_dimension(assay_check c)
{
    return (unsigned)c < ASSAY_CHECK_COUNT ? check_dims[c] : ASSAY_DIM_VALIDITY;
}

/* ---------------------------------------------------------------- closest word */

#define CLOSEST_MAX_LEN 64

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Optimal string alignment distance, case-insensitive; both lengths <= 64. */
static size_t osa_distance(const char *a, size_t m, const char *b, size_t n)
{
    size_t rows[3][CLOSEST_MAX_LEN + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= n; j++)
        prev[j] = j;
    for (size_t i = 1; i <= m; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[n];
}

const char *assay_closest(const char *word, const char *const *cands, size_t n)
{
    if (!word)
        return NULL;
    size_t wl = strlen(word);
    if (wl > CLOSEST_MAX_LEN)
        return NULL;
    size_t limit = ASSAY_MAX((size_t)2, wl / 3);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        size_t cl = strlen(cands[i]);
        if (cl > CLOSEST_MAX_LEN)
            continue;
        size_t d = osa_distance(word, wl, cands[i], cl);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

/* ---------------------------------------------------------------- key tables */

typedef enum vtype {
    V_STR,      /* char *; empty text rejected */
    V_PATH,     /* char *, resolved against the config file's directory */
    V_BOOL,     /* bool */
    V_NUM,      /* double, limited by lo/hi (F_MIN/F_MAX) */
    V_UINT,     /* unsigned */
    V_U64,      /* uint64_t */
    V_SIZE,     /* uint64_t bytes through assay_parse_size */
    V_DURATION, /* int64_t microseconds through assay_parse_duration */
    V_CHAR,     /* char: one byte, or the word "tab" */
    V_ENUM,     /* an enum (int-sized); names[] indexed by value, NULL entries unwritable */
    V_STRENUM,  /* char * holding one of names[] */
    V_STRLIST,  /* char ** at off, size_t count at off2 */
    V_SECTION,  /* nested mapping described by sub, offsets relative to the same base */
    V_CUSTOM,   /* parse() handles it; sub (if any) documents the record's keys */
} vtype;

enum {
    F_REQUIRED = 1u << 0, /* missing -> error */
    F_HAS = 1u << 1,      /* bool at off2 is set when the key is given */
    F_MIN = 1u << 2,      /* value >= lo (or > lo with F_LO_OPEN) */
    F_MAX = 1u << 3,      /* value <= hi */
    F_LO_OPEN = 1u << 4,
    F_PERCENT = 1u << 5,  /* numbers also as "1%" = 0.01 */
    F_POSITIVE = 1u << 6, /* durations: > 0 */
    F_LIST = 1u << 7,     /* custom: a list of records described by sub (docs) */
    F_LATER = 1u << 8,    /* a key of the design this build does not implement: rejected */
};

typedef struct ctx ctx;
typedef struct key_def key_def;

struct key_def {
    const char *key;
    vtype type;
    const char *def; /* default as config text; NULL: not set */
    size_t off;
    const char *desc;
    unsigned flags;
    double lo, hi;
    size_t off2;
    const char *const *names;
    size_t nnames;
    const key_def *sub; /* V_SECTION / V_CUSTOM records: NULL-key-terminated table */
    const char *noun;   /* sub table: what an unknown key is called ("dimension") */
    int (*parse)(ctx *c, const key_def *k, const yt_node *v, void *base);
    uint32_t checks;      /* rule keys: checks that take this key; 0 = all */
    const char *doc_def;  /* default shown in docs when def cannot say it */
    const char *doc_type; /* type shown in docs for custom rows */
};

struct ctx {
    const char *file;
    assay_config *cfg;
    assay_error *err;
    const yt_node *root;
    locale_t cloc;
    bool parse_later; /* parse F_LATER keys instead of rejecting them (parser tests) */
    int check;        /* the rule being parsed, or -1 */
    char path[256];
    size_t plen;
};

#define OFF(f)        offsetof(assay_config, f)
#define ROFF(f)       offsetof(assay_rule_config, f)
#define NAMES(a)      .names = (a), .nnames = ASSAY_ARRAY_LEN(a)
#define CHK(c)        (1u << (c))
#define ALL_CHECKS    ((1u << ASSAY_CHECK_COUNT) - 1)
#define COLUMN_CHECKS (ALL_CHECKS & ~CHK(ASSAY_CHECK_ROW_COUNT) & ~CHK(ASSAY_CHECK_EXPR))
#define MINMAX_CHECKS                                                                              \
    (CHK(ASSAY_CHECK_IN_RANGE) | CHK(ASSAY_CHECK_LENGTH) | CHK(ASSAY_CHECK_ROW_COUNT))

static int parse_kafka_props(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_columns(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_rules(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_contracts(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_sink(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_sink_stdout(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_minmax(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_values(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_listen(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_max_null(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_null_values(ctx *c, const key_def *k, const yt_node *v, void *base);
static int parse_require(ctx *c, const key_def *k, const yt_node *v, void *base);

static const key_def source_kafka_keys[] = {
    { .key = "topic",
      .type = V_STR,
      .off = OFF(source.kafka_topic),
      .flags = F_REQUIRED,
      .desc = "Topic to consume." },
    { .key = "group",
      .type = V_STR,
      .off = OFF(source.kafka_group),
      .doc_def = "assay-ASSET",
      .desc = "Consumer group id (instances sharing it split the partitions)." },
    { .key = "start",
      .type = V_STRENUM,
      .def = "committed",
      .off = OFF(source.kafka_start),
      NAMES(kafka_start_names),
      .desc = "Where a partition starts when this job has no checkpoint for it: `committed` "
              "(the group's offset, the earliest when there is none), `earliest` or `latest`. "
              "`--from-beginning` forces `earliest`." },
    { 0 },
};

static const key_def source_keys[] = {
    { .key = "file",
      .type = V_PATH,
      .off = OFF(source.file),
      .desc = "Input file (relative to the config file's directory; `-` is stdin). Files on the "
              "command line take precedence." },
    { .key = "kafka",
      .type = V_SECTION,
      .sub = source_kafka_keys,
      .desc = "`assay run`: consume a Kafka topic instead of a file, one message = one row (an "
              "NDJSON object, or with `format: csv` one CSV record whose fields are `columns:` "
              "in order); broker properties go in top-level `kafka`." },
    { .key = "follow",
      .type = V_BOOL,
      .def = "false",
      .off = OFF(source.follow),
      .desc = "`assay run`: after the end of the file, keep reading as it grows, and reopen it "
              "when it is rotated (a new file at the path) or truncated, like `tail -F`." },
    { .key = "null_values",
      .type = V_CUSTOM,
      .parse = parse_null_values,
      .doc_type = "list of strings",
      .doc_def = "[] (only the empty field)",
      .desc = "Text that means null, e.g. `[NA, N/A, \"-\"]` (at most 32, each at most 63 "
              "bytes; `--null-values NA,N/A,-` on the command line replaces the list). A value "
              "whose whole text equals one is null everywhere: `not_null` fails on it, the "
              "profile counts it as null, type checks and inference skip it. Matching is exact "
              "(letter case counts). CSV: quoted or not (`\"NA\"` is null too, since many "
              "writers quote every field). NDJSON: a string value (`\"NA\"`); JSON `null` "
              "and a missing key are always null, numbers and `true`/`false` never. Write "
              "`null` in the list for the text null (YAML's null is taken as that text "
              "here)." },
    { .key = "format",
      .type = V_ENUM,
      .off = OFF(source.format),
      NAMES(format_names),
      .doc_def = "from the file extension",
      .desc = "Input format: `csv` or `ndjson` (also `.jsonl` files)." },
    { .key = "delimiter",
      .type = V_CHAR,
      .off = OFF(source.delimiter),
      .doc_def = "`,` (tab for `.tsv` and `.tab` files)",
      .desc = "CSV field delimiter: one character, or `tab` (also `\\t`); `--delimiter C` on "
              "the command line overrides it. When a CSV file's header is one field that holds "
              "tabs, semicolons or pipes, the run warns on stderr (a one-column file is legal) "
              "and an error about a column missing from the data names the delimiter to try." },
    { .key = "comment",
      .type = V_CHAR,
      .off = OFF(source.comment),
      .doc_def = "none",
      .desc = "Files: a line that starts with this character (e.g. `'#'`; quote it in YAML) is a "
              "comment, skipped: not a row, not a bad row, and counted as skipped in the "
              "report. CSV: only at the start of a row, outside quotes (a quoted field's second "
              "line that starts with it is data), and the quotes of a comment line mean "
              "nothing; a header row after leading comment lines is found. NDJSON: a line "
              "that starts with it. Not applied to Kafka messages. `--comment C` on the "
              "command line sets it." },
    { .key = "quote",
      .type = V_CHAR,
      .def = "\"",
      .off = OFF(source.quote),
      .desc = "CSV quote character." },
    { .key = "header",
      .type = V_BOOL,
      .def = "true",
      .off = OFF(source.header),
      .desc = "Whether the first CSV line names the columns (files only: a Kafka message is "
              "one record)." },
    { 0 },
};

static const key_def window_keys[] = {
    { .key = "size",
      .type = V_DURATION,
      .def = "60s",
      .off = OFF(window.size_us),
      .flags = F_POSITIVE,
      .desc = "Window length (tumbling when `slide` equals it); a multiple of `slide`." },
    { .key = "slide",
      .type = V_DURATION,
      .off = OFF(window.slide_us),
      .flags = F_POSITIVE,
      .doc_def = "= size",
      .desc = "Distance between window starts; less than `size` for hopping "
              "windows, never more." },
    { .key = "lateness",
      .type = V_DURATION,
      .def = "0s",
      .off = OFF(window.lateness_us),
      .desc = "Allowed event-time lateness: watermark = max event time seen - lateness." },
    { .key = "idle",
      .type = V_DURATION,
      .def = "30s",
      .off = OFF(window.idle_us),
      .desc = "When the source has delivered nothing for this long, the watermark follows the "
              "wall clock, so windows still close on a quiet stream." },
    { 0 },
};

#define WEIGHT(d, name, dflt)                                                                      \
    {                                                                                              \
        .key = name, .type = V_NUM, .def = dflt, .off = OFF(weights[d]), .flags = F_MIN, .lo = 0,  \
        .desc = "Weight of the " name " score in the overall score."                               \
    }
static const key_def weight_keys[] = {
    WEIGHT(ASSAY_DIM_COMPLETENESS, "completeness", "0.20"),
    WEIGHT(ASSAY_DIM_ACCURACY, "accuracy", "0.25"),
    WEIGHT(ASSAY_DIM_CONSISTENCY, "consistency", "0.20"),
    WEIGHT(ASSAY_DIM_TIMELINESS, "timeliness", "0.15"),
    WEIGHT(ASSAY_DIM_UNIQUENESS, "uniqueness", "0.10"),
    WEIGHT(ASSAY_DIM_VALIDITY, "validity", "0.05"),
    WEIGHT(ASSAY_DIM_INTEGRITY, "integrity", "0.05"),
    { 0 },
};

static const key_def scoring_keys[] = {
    { .key = "weights",
      .type = V_SECTION,
      .sub = weight_keys,
      .noun = "dimension",
      .desc = "Dimension weights (non-negative); dimensions not given keep their defaults." },
    { 0 },
};

#define LEVEL(arr, sev, name, dflt, what)                                                          \
    {                                                                                              \
        .key = name, .type = V_NUM, .def = dflt, .off = OFF(alerts.arr[sev]), .flags = F_MIN,      \
        .lo = 0, .desc = what                                                                      \
    }
static const key_def score_drop_keys[] = {
    LEVEL(score_drop, ASSAY_SEV_MEDIUM, "medium", "5", "Points of score drop for a medium alert."),
    LEVEL(score_drop, ASSAY_SEV_HIGH, "high", "10", "Points of score drop for a high alert."),
    LEVEL(score_drop, ASSAY_SEV_CRITICAL, "critical", "20",
          "Points of score drop for a critical alert."),
    { 0 },
};
static const key_def issue_increase_keys[] = {
    LEVEL(issue_increase, ASSAY_SEV_MEDIUM, "medium", "2", "More breaching rules for medium."),
    LEVEL(issue_increase, ASSAY_SEV_HIGH, "high", "5", "More breaching rules for high."),
    LEVEL(issue_increase, ASSAY_SEV_CRITICAL, "critical", "10",
          "More breaching rules for critical."),
    { 0 },
};
static const key_def volume_keys[] = {
    { .key = "z",
      .type = V_NUM,
      .def = "3",
      .off = OFF(alerts.volume_z),
      .flags = F_MIN | F_LO_OPEN,
      .lo = 0,
      .desc = "|z| of rows per window against the EWMA baseline that fires a volume alert." },
    { .key = "warmup",
      .type = V_UINT,
      .def = "5",
      .off = OFF(alerts.volume_warmup),
      .flags = F_MIN | F_MAX,
      .lo = 1,
      .hi = 100000,
      .desc = "Whole windows learned before volume alerts can fire." },
    { 0 },
};
static const key_def drift_psi_keys[] = {
    { .key = "medium",
      .type = V_NUM,
      .def = "0.1",
      .off = OFF(alerts.drift_psi_medium),
      .flags = F_MIN | F_LO_OPEN,
      .lo = 0,
      .desc = "Population stability index for medium." },
    { .key = "high",
      .type = V_NUM,
      .def = "0.25",
      .off = OFF(alerts.drift_psi_high),
      .flags = F_MIN | F_LO_OPEN,
      .lo = 0,
      .desc = "Population stability index for high." },
    { 0 },
};
static const key_def drift_keys[] = {
    { .key = "columns",
      .type = V_STRLIST,
      .off = OFF(alerts.drift_columns),
      .off2 = OFF(alerts.ndrift_columns),
      .desc = "Columns whose distribution is compared with its baseline (numeric: decile bins of "
              "the baseline's t-digest; others: its top values plus \"other\"); none: drift off." },
    { .key = "baseline",
      .type = V_UINT,
      .def = "10",
      .off = OFF(alerts.drift_baseline),
      .flags = F_MIN | F_MAX,
      .lo = 1,
      .hi = 1000,
      .desc = "Windows (the last ones that did not drift) merged into the baseline." },
    { .key = "psi",
      .type = V_SECTION,
      .sub = drift_psi_keys,
      .noun = "severity",
      .desc = "Population stability index per severity." },
    { 0 },
};
static const key_def freshness_alert_keys[] = {
    { .key = "idle_windows",
      .type = V_UINT,
      .def = "2",
      .off = OFF(alerts.idle_windows),
      .flags = F_MIN | F_MAX,
      .lo = 1,
      .hi = 1000000,
      .desc = "Windows in a row without rows that fire a freshness alert." },
    { 0 },
};
static const key_def anomaly_alert_keys[] = {
    { .key = "factor",
      .type = V_NUM,
      .def = "3",
      .off = OFF(alerts.anomaly_factor),
      .flags = F_MIN | F_LO_OPEN,
      .lo = 0,
      .desc = "A window alerts when its anomaly rate exceeds factor x anomaly.contamination." },
    { .key = "min_rows",
      .type = V_U64,
      .def = "20",
      .off = OFF(alerts.anomaly_min_rows),
      .flags = F_MIN,
      .lo = 1,
      .desc = "... and at least this many rows were flagged." },
    { 0 },
};

static const key_def alerts_keys[] = {
    { .key = "score_drop",
      .type = V_SECTION,
      .sub = score_drop_keys,
      .noun = "severity",
      .desc = "Score drop (points vs the previous window) per severity." },
    { .key = "issue_increase",
      .type = V_SECTION,
      .sub = issue_increase_keys,
      .noun = "severity",
      .desc = "Growth in the number of breaching rules per severity." },
    { .key = "volume",
      .type = V_SECTION,
      .sub = volume_keys,
      .desc = "Volume (rows per window) anomaly alerts." },
    { .key = "drift",
      .type = V_SECTION,
      .sub = drift_keys,
      .desc = "Distribution drift of chosen columns against a baseline of recent windows." },
    { .key = "freshness",
      .type = V_SECTION,
      .sub = freshness_alert_keys,
      .desc = "Freshness alerts: a source that stops sending rows." },
    { .key = "anomaly",
      .type = V_SECTION,
      .sub = anomaly_alert_keys,
      .desc = "Anomaly alerts over the isolation forest's flags (needs `anomaly.columns`)." },
    { .key = "resolve_after",
      .type = V_UINT,
      .def = "3",
      .off = OFF(alerts.resolve_after),
      .flags = F_MIN | F_MAX,
      .lo = 1,
      .hi = 1000000,
      .desc = "Windows a condition must stay clear before its alert resolves." },
    { 0 },
};

static const key_def anomaly_keys[] = {
    { .key = "columns",
      .type = V_STRLIST,
      .off = OFF(anomaly.columns),
      .off2 = OFF(anomaly.ncolumns),
      .desc = "Numeric columns the isolation forest looks at; none: anomaly detection off." },
    { .key = "trees",
      .type = V_UINT,
      .def = "100",
      .off = OFF(anomaly.trees),
      .flags = F_MIN | F_MAX,
      .lo = 1,
      .hi = 4096,
      .desc = "Trees in the forest." },
    { .key = "sample",
      .type = V_UINT,
      .def = "256",
      .off = OFF(anomaly.sample),
      .flags = F_MIN | F_MAX,
      .lo = 2,
      .hi = 65536,
      .desc = "Rows sampled per tree." },
    { .key = "contamination",
      .type = V_NUM,
      .def = "0.01",
      .off = OFF(anomaly.contamination),
      .flags = F_MIN | F_MAX | F_LO_OPEN | F_PERCENT,
      .lo = 0,
      .hi = 0.5,
      .desc = "Expected share of anomalous rows, in (0, 0.5]; a window above it alerts." },
    { .key = "window",
      .type = V_U64,
      .def = "2048",
      .off = OFF(anomaly.window),
      .flags = F_MIN | F_MAX,
      .lo = 2,
      .hi = 16777216,
      .desc = "Recent rows kept for regrowing trees (>= sample)." },
    { .key = "refresh",
      .type = V_U64,
      .def = "1000",
      .off = OFF(anomaly.refresh),
      .flags = F_MIN,
      .lo = 1,
      .desc = "Rows between tree replacements." },
    { .key = "seed",
      .type = V_U64,
      .def = "1",
      .off = OFF(anomaly.seed),
      .desc = "Random seed (runs are reproducible)." },
    { 0 },
};

static const key_def impact_keys[] = {
    { .key = "revenue_column",
      .type = V_STR,
      .off = OFF(impact.revenue_column),
      .desc = "Numeric column summed over failing rows as revenue at risk." },
    { .key = "user_column",
      .type = V_STR,
      .off = OFF(impact.user_column),
      .desc = "Column whose distinct values among failing rows count affected users." },
    { 0 },
};

static const key_def sink_kafka_keys[] = {
    { .key = "topic",
      .type = V_STR,
      .off = offsetof(assay_sink_config, topic),
      .flags = F_REQUIRED,
      .desc = "Topic to produce to." },
    { .key = "format",
      .type = V_STRENUM,
      .def = "json",
      .off = offsetof(assay_sink_config, kafka_format),
      NAMES(sink_format_names),
      .desc = "Record encoding: `json` or `flatbuffers`." },
    { 0 },
};

static const key_def sink_am_keys[] = {
    { .key = "url",
      .type = V_STR,
      .off = offsetof(assay_sink_config, url),
      .flags = F_REQUIRED,
      .desc = "Alertmanager base URL, e.g. http://127.0.0.1:9093." },
    { 0 },
};

/* One sink: exactly one of file / kafka / stdout / alertmanager (parse_sink checks). */
static const key_def sink_keys[] = {
    { .key = "file",
      .type = V_PATH,
      .off = offsetof(assay_sink_config, path),
      .desc = "Append records to this file (relative to the config file's directory): one JSON "
              "object per line, or size-prefixed FlatBuffers. Clean rows are their original "
              "bytes." },
    { .key = "format",
      .type = V_STRENUM,
      .def = "json",
      .off = offsetof(assay_sink_config, format),
      NAMES(sink_format_names),
      .desc = "Record encoding of a file sink: `json` or `flatbuffers` (schemas/assay.fbs)." },
    { .key = "kafka",
      .type = V_SECTION,
      .sub = sink_kafka_keys,
      .desc = "Produce to a Kafka topic (brokers from top-level `kafka`) with an idempotent "
              "producer." },
    { .key = "stdout",
      .type = V_CUSTOM,
      .parse = parse_sink_stdout,
      .doc_type = "bool",
      .desc = "`true`: write JSON lines (clean rows: their bytes) to standard output." },
    { .key = "alertmanager",
      .type = V_SECTION,
      .sub = sink_am_keys,
      .desc = "Send alerts to Prometheus Alertmanager (alerts only)." },
    { 0 },
};

#define SINK(name, what, fl)                                                                       \
    {                                                                                              \
        .key = #name, .type = V_CUSTOM, .off = OFF(sinks.name), .parse = parse_sink,               \
        .sub = sink_keys, .flags = fl, .doc_type = "sink or list of sinks",                        \
        .desc = what " Each sink is `{file: PATH}` (with `format`), `{stdout: true}`, "            \
                     "`{kafka: {topic: T}}`; none when absent."                                    \
    }
static const key_def sinks_keys[] = {
    SINK(scores, "Window score records.", 0),
    SINK(alerts, "Alert records (firing and resolved); also `{alertmanager: {url: U}}`.", 0),
    SINK(quarantine,
         "Rows failing a `block` rule, bad rows and rows without a usable event time, with "
         "their reasons.",
         0),
    SINK(clean, "Every other row, as its original bytes (a CSV sink gets the header once).", 0),
    { 0 },
};

static const key_def state_keys[] = {
    { .key = "dir",
      .type = V_PATH,
      .off = OFF(state.dir),
      .flags = F_REQUIRED,
      .desc = "Directory for checkpoints of open windows and the source position "
              "(`assay run` resumes from it). One run holds it at a time (`flock` on "
              "`lock` inside): a second file run fails, a second Kafka run waits as a "
              "standby and takes over when the first stops." },
    { .key = "interval",
      .type = V_DURATION,
      .def = "10s",
      .off = OFF(state.interval_us),
      .flags = F_POSITIVE,
      .desc = "Time between checkpoints (one is also written at start-up and at shutdown)." },
    { 0 },
};

static const key_def history_keys[] = {
    { .key = "sqlite",
      .type = V_PATH,
      .off = OFF(history.sqlite),
      .doc_def = "STATE.DIR/history.db",
      .desc = "SQLite file keeping score and alert records (created when missing). Default: "
              "`history.db` in `state.dir`; without `state.dir` the history is kept in memory "
              "and lost when the run ends." },
    { .key = "retention",
      .type = V_DURATION,
      .def = "90d",
      .off = OFF(history.retention_us),
      .flags = F_POSITIVE,
      .desc = "How long records are kept, in event time: scores and resolved alerts whose "
              "window ended longer than this before the newest stored window are deleted." },
    { 0 },
};

static const key_def http_keys[] = {
    { .key = "listen",
      .type = V_CUSTOM,
      .off = OFF(http.listen),
      .parse = parse_listen,
      .doc_type = "HOST:PORT",
      .desc = "`assay run`: HOST:PORT of the HTTP surface (metrics, health, REST API, WebSocket "
              "feed, live page; docs/serving.md); port 0 picks a free port (printed on stderr); "
              "loopback unless you name another address; off when absent." },
    { .key = "token_file",
      .type = V_PATH,
      .off = OFF(http.token_file),
      .desc = "File holding the bearer token that `POST /api/v1/alerts/{id}/ack` and `/resolve` "
              "require (surrounding whitespace ignored; read at start). Without it anyone who "
              "can reach the address may acknowledge and resolve alerts." },
    { .key = "origins",
      .type = V_STRLIST,
      .off = OFF(http.origins),
      .off2 = OFF(http.norigins),
      .desc = "Origins (`http://host:port`) allowed to open the WebSocket feed and to POST, "
              "besides the server's own address; browsers send Origin, scripts usually do not." },
    { .key = "rate_limit",
      .type = V_UINT,
      .def = "60",
      .off = OFF(http.rate_limit),
      .flags = F_MIN | F_MAX,
      .lo = 1,
      .hi = 1000000,
      .desc = "Mutating requests (ack, resolve) a client address may make per minute; more get "
              "429 with Retry-After." },
    { 0 },
};

static const key_def limits_keys[] = {
    { .key = "max_row_bytes",
      .type = V_SIZE,
      .def = "1MiB",
      .off = OFF(limits.max_row_bytes),
      .flags = F_MIN,
      .lo = 1,
      .desc = "Longer rows are quarantined as parse errors." },
    { .key = "max_fields",
      .type = V_U64,
      .def = "4096",
      .off = OFF(limits.max_fields),
      .flags = F_MIN,
      .lo = 1,
      .desc = "Rows with more fields are quarantined as parse errors." },
    { .key = "unique_memory",
      .type = V_SIZE,
      .def = "1GiB",
      .off = OFF(limits.unique_memory),
      .flags = F_MIN,
      .lo = 1,
      .desc = "Memory for one `unique` rule's key set in one window." },
    { .key = "samples",
      .type = V_U64,
      .def = "5",
      .off = OFF(limits.samples),
      .flags = F_MIN | F_MAX,
      .lo = 0,
      .hi = 1000,
      .desc = "Failing rows kept per rule as evidence." },
    { .key = "read_buffer",
      .type = V_SIZE,
      .def = "4MiB",
      .off = OFF(limits.read_buffer),
      .flags = F_MIN | F_MAX,
      .lo = 65536,
      .hi = 1073741824,
      .desc = "Bytes per read, and so the most a chunk of rows holds (64KiB..1GiB). Memory is "
              "about 3 x threads + 2 buffers of this plus max_row_bytes." },
    { .key = "empty_windows",
      .type = V_U64,
      .def = "10000",
      .off = OFF(limits.empty_windows),
      .desc = "A run of more empty windows than this (an event-time jump) is reported once "
              "instead of emitted window by window." },
    { 0 },
};

static const key_def column_keys[] = {
    { .key = "name",
      .type = V_STR,
      .off = offsetof(assay_column_config, name),
      .flags = F_REQUIRED,
      .desc = "Column name (CSV header or NDJSON key)." },
    { .key = "type",
      .type = V_ENUM,
      .off = offsetof(assay_column_config, type),
      NAMES(type_names),
      .doc_def = "inferred",
      .desc = "`int`, `float`, `string`, `bool` or `timestamp`." },
    { 0 },
};

static const key_def ref_keys[] = {
    { .key = "file",
      .type = V_PATH,
      .off = ROFF(ref_file),
      .flags = F_REQUIRED,
      .desc = "File holding the referenced keys (relative to the config file's directory)." },
    { .key = "column",
      .type = V_STR,
      .off = ROFF(ref_column),
      .flags = F_REQUIRED,
      .desc = "Key column in that file." },
    { 0 },
};

static const key_def rule_keys[] = {
    { .key = "name",
      .type = V_STR,
      .off = ROFF(name),
      .doc_def = "COLUMN_CHECK",
      .desc = "Rule name in reports and alerts; unique (row_count: `row_count`)." },
    { .key = "column",
      .type = V_STR,
      .off = ROFF(column),
      .checks = COLUMN_CHECKS,
      .desc = "Column checked; required for every check but row_count and expr." },
    { .key = "check",
      .type = V_ENUM,
      .off = ROFF(check),
      .flags = F_REQUIRED,
      NAMES(check_names),
      .desc = "What to check (see the check table)." },
    { .key = "dimension",
      .type = V_ENUM,
      .off = ROFF(dimension),
      NAMES(dim_names),
      .doc_def = "from the check",
      .desc = "Quality dimension the rule counts toward." },
    { .key = "severity",
      .type = V_ENUM,
      .def = "medium",
      .off = ROFF(severity),
      NAMES(sev_names),
      .desc = "`low`, `medium`, `high` or `critical`." },
    { .key = "threshold",
      .type = V_NUM,
      .def = "0",
      .off = ROFF(threshold),
      .flags = F_MIN | F_MAX | F_PERCENT,
      .lo = 0,
      .hi = 1,
      .desc = "The rule breaches when its fail rate exceeds this (0..1, or a percentage)." },
    { .key = "action",
      .type = V_ENUM,
      .def = "alert",
      .off = ROFF(action),
      NAMES(action_names),
      .desc = "`log`, `alert`, or `block` (failing rows go to quarantine)." },
    { .key = "min",
      .type = V_CUSTOM,
      .parse = parse_minmax,
      .checks = MINMAX_CHECKS,
      .doc_type = "number, timestamp or integer",
      .desc = "in_range: lowest value (number or timestamp); length: fewest characters; "
              "row_count: fewest rows per window." },
    { .key = "max",
      .type = V_CUSTOM,
      .parse = parse_minmax,
      .checks = MINMAX_CHECKS,
      .doc_type = "number, timestamp or integer",
      .desc = "in_range: highest value; length: most characters; row_count: most rows." },
    { .key = "min_inclusive",
      .type = V_BOOL,
      .def = "true",
      .off = ROFF(min_inclusive),
      .checks = CHK(ASSAY_CHECK_IN_RANGE),
      .desc = "Whether `min` itself passes." },
    { .key = "max_inclusive",
      .type = V_BOOL,
      .def = "true",
      .off = ROFF(max_inclusive),
      .checks = CHK(ASSAY_CHECK_IN_RANGE),
      .desc = "Whether `max` itself passes." },
    { .key = "values",
      .type = V_CUSTOM,
      .parse = parse_values,
      .checks = CHK(ASSAY_CHECK_IN_SET),
      .doc_type = "list of values",
      .desc = "Allowed values (non-empty list, compared as text)." },
    { .key = "pattern",
      .type = V_STR,
      .off = ROFF(pattern),
      .checks = CHK(ASSAY_CHECK_MATCHES),
      .desc = "Regular expression (Hyperscan syntax) the value must match." },
    { .key = "format",
      .type = V_STRENUM,
      .off = ROFF(format),
      NAMES(match_format_names),
      .checks = CHK(ASSAY_CHECK_MATCHES),
      .desc = "Named format instead of a pattern: `email`, `uuid`, `ipv4`, `iso_date`, "
              "`phone_e164`." },
    { .key = "ref",
      .type = V_SECTION,
      .sub = ref_keys,
      .checks = CHK(ASSAY_CHECK_FOREIGN_KEY),
      .desc = "Referenced key set: `{file: PATH, column: NAME}`." },
    { .key = "expr",
      .type = V_STR,
      .off = ROFF(expr),
      .checks = CHK(ASSAY_CHECK_EXPR),
      .desc = "expr: a condition over the row's columns that must hold, e.g. "
              "`shipped_at >= created_at` (docs/expressions.md). A row where it is null is "
              "not evaluated." },
    { .key = "max_age",
      .type = V_DURATION,
      .off = ROFF(max_age_us),
      .flags = F_POSITIVE,
      .checks = CHK(ASSAY_CHECK_FRESHNESS),
      .desc = "A row is fresh when now - its timestamp <= max_age." },
    { 0 },
};

static const key_def contract_keys[] = {
    { .key = "name",
      .type = V_STR,
      .off = offsetof(assay_contract_config, name),
      .flags = F_REQUIRED,
      .desc = "Contract name (unique)." },
    { .key = "owner",
      .type = V_STR,
      .off = offsetof(assay_contract_config, owner),
      .desc = "Team or person to notify." },
    { .key = "min_score",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_score),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_score),
      .desc = "Lowest acceptable overall score (0..100)." },
    { .key = "min_completeness",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[0]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[0]),
      .desc = "Lowest acceptable completeness score (0..100)." },
    { .key = "min_accuracy",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[1]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[1]),
      .desc = "Lowest acceptable accuracy score (0..100)." },
    { .key = "min_consistency",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[2]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[2]),
      .desc = "Lowest acceptable consistency score (0..100)." },
    { .key = "min_timeliness",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[3]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[3]),
      .desc = "Lowest acceptable timeliness score (0..100)." },
    { .key = "min_uniqueness",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[4]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[4]),
      .desc = "Lowest acceptable uniqueness score (0..100)." },
    { .key = "min_validity",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[5]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[5]),
      .desc = "Lowest acceptable validity score (0..100)." },
    { .key = "min_integrity",
      .type = V_NUM,
      .off = offsetof(assay_contract_config, min_dim[6]),
      .flags = F_MIN | F_MAX | F_HAS,
      .lo = 0,
      .hi = 100,
      .off2 = offsetof(assay_contract_config, has_min_dim[6]),
      .desc = "Lowest acceptable integrity score (0..100)." },
    { .key = "max_freshness",
      .type = V_DURATION,
      .off = offsetof(assay_contract_config, max_freshness_us),
      .flags = F_POSITIVE | F_HAS,
      .off2 = offsetof(assay_contract_config, has_max_freshness),
      .desc = "Largest acceptable event-time lag of a window: the clock minus its newest "
              "event time when its rows were checked." },
    { .key = "max_null_rate",
      .type = V_CUSTOM,
      .parse = parse_max_null,
      .doc_type = "mapping COLUMN: RATE",
      .desc = "Highest acceptable null rate per column, in [0, 1] or as a percentage." },
    { .key = "require",
      .type = V_CUSTOM,
      .parse = parse_require,
      .doc_type = "list of {name, type}",
      .desc = "Columns that must be present, with their type (int, float, string, bool, "
              "timestamp; an int column meets float)." },
    { .key = "action",
      .type = V_ENUM,
      .def = "alert",
      .off = offsetof(assay_contract_config, action),
      NAMES(action_names),
      .desc = "`alert` (default) or `log` when violated. `block` needs write-audit-publish and is "
              "not supported yet." },
    { 0 },
};

static const key_def top_keys[] = {
    { .key = "asset",
      .type = V_STR,
      .off = OFF(asset),
      .doc_def = "config file name",
      .desc = "Name of the data set, in every score and alert (default: the config file's "
              "name without extension)." },
    { .key = "source", .type = V_SECTION, .sub = source_keys, .desc = "Where rows come from." },
    { .key = "kafka",
      .type = V_CUSTOM,
      .parse = parse_kafka_props,
      .doc_type = "mapping of properties",
      .desc = "librdkafka properties (`bootstrap.servers`, `security.protocol`, ...) for the "
              "consumer and the producer, passed through as text in file order; `${NAME}` "
              "in a value is read from the environment. Values are never logged. Rejected: "
              "`group.id`, `auto.offset.reset`, `enable.auto.commit`, "
              "`enable.auto.offset.store`, `enable.idempotence` (assay's delivery depends "
              "on them), `transactional.id` (not supported yet). See docs/kafka.md." },
    { .key = "columns",
      .type = V_CUSTOM,
      .parse = parse_columns,
      .sub = column_keys,
      .flags = F_LIST,
      .desc = "Declared columns; inferred from the data when absent. When present, every column "
              "named in the config must be declared." },
    { .key = "event_time",
      .type = V_STR,
      .off = OFF(event_time),
      .doc_def = "processing time",
      .desc = "Timestamp column that places rows in windows (without it, a row's time is when "
              "assay read it)." },
    { .key = "window",
      .type = V_SECTION,
      .sub = window_keys,
      .desc = "Time windows (batch runs are one window over the whole input)." },
    { .key = "rules",
      .type = V_CUSTOM,
      .parse = parse_rules,
      .sub = rule_keys,
      .flags = F_LIST,
      .desc = "Checks run on every row or window." },
    { .key = "scoring", .type = V_SECTION, .sub = scoring_keys, .desc = "Quality score." },
    { .key = "alerts", .type = V_SECTION, .sub = alerts_keys, .desc = "Alert thresholds." },
    { .key = "anomaly",
      .type = V_SECTION,
      .sub = anomaly_keys,
      .desc = "Isolation-forest anomaly detection." },
    { .key = "impact",
      .type = V_SECTION,
      .sub = impact_keys,
      .desc = "Business impact figures in alerts." },
    { .key = "contracts",
      .type = V_CUSTOM,
      .parse = parse_contracts,
      .sub = contract_keys,
      .flags = F_LIST,
      .desc = "Data contracts: SLAs checked every window." },
    { .key = "sinks", .type = V_SECTION, .sub = sinks_keys, .desc = "Where outputs go." },
    { .key = "state",
      .type = V_SECTION,
      .sub = state_keys,
      .desc = "Checkpoints, so a restarted `assay run` resumes where it stopped." },
    { .key = "history",
      .type = V_SECTION,
      .sub = history_keys,
      .desc = "Score and alert history in SQLite: what `GET /api/v1/scores` and `alerts` "
              "answer from, after a restart too." },
    { .key = "http", .type = V_SECTION, .sub = http_keys, .desc = "HTTP surface of `assay run`." },
    { .key = "limits", .type = V_SECTION, .sub = limits_keys, .desc = "Resource limits." },
    { 0 },
};

/* ---------------------------------------------------------------- errors and paths */

static size_t path_push_key(ctx *c, const char *key, size_t len)
{
    size_t mark = c->plen;
    char show[YT_SHOW_MAX];
    int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "%s%s", c->plen ? "." : "",
                     yt_show(key, len, show));
    if (n > 0)
        c->plen = ASSAY_MIN(c->plen + (size_t)n, sizeof(c->path) - 1);
    return mark;
}

static size_t path_push_index(ctx *c, size_t i)
{
    size_t mark = c->plen;
    int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);
    if (n > 0)
        c->plen = ASSAY_MIN(c->plen + (size_t)n, sizeof(c->path) - 1);
    return mark;
}

static void path_pop(ctx *c, size_t mark)
{
    c->plen = mark;
    c->path[mark] = '\0';
}

static void path_set(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_set(ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path, sizeof(c->path), fmt, ap);
    va_end(ap);
    c->plen = n < 0 ? 0 : ASSAY_MIN((size_t)n, sizeof(c->path) - 1);
}

/* "FILE:LINE:COL: PATH: message" at node n (or "FILE: PATH: message" without one). */
static int errat(ctx *c, const yt_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int errat(ctx *c, const yt_node *n, const char *fmt, ...)
{
    char msg[ASSAY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char where[64] = "";
    if (n)
        snprintf(where, sizeof(where), ":%d:%d", n->line, n->col);
    return assay_error_set(c->err, -EINVAL, "%s%s: %s%s%s", c->file, where, c->path,
                           c->plen ? ": " : "", msg);
}

/* ", " separated list of names (NULL entries skipped) into buf. */
static const char *list_names(const char *const *names, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            buf[len] = '\0';
            break;
        }
        len += (size_t)w;
    }
    return buf;
}

static const char *const *table_names(const key_def *tab, const char **buf, size_t cap)
{
    size_t n = 0;
    for (; tab[n].key && n + 1 < cap; n++)
        buf[n] = tab[n].key;
    buf[n] = NULL;
    return buf;
}

static size_t table_len(const key_def *tab)
{
    size_t n = 0;
    while (tab[n].key)
        n++;
    return n;
}

/* ---------------------------------------------------------------- scalar conversion */

static bool text_eq(const yt_node *v, const char *s)
{
    return v->len == strlen(s) && memcmp(v->text, s, v->len) == 0;
}

/* A scalar with non-empty text and no NUL bytes, for string-valued keys. */
static int need_text(ctx *c, const yt_node *v, const char *what)
{
    if (v->kind != YT_SCALAR)
        return errat(c, v, "expected %s, found %s", what, yt_kind_phrase(v));
    if (v->len == 0)
        return errat(c, v, "expected %s, found an empty string", what);
    if (memchr(v->text, '\0', v->len))
        return errat(c, v, "contains a NUL character");
    return 0;
}

static int dup_text(ctx *c, const yt_node *v, char **out)
{
    char *s = malloc(v->len + 1);
    *out = NULL;
    if (!s)
        return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
    memcpy(s, v->text, v->len + 1);
    *out = s;
    return 0;
}

static void set_str(char **slot, char *s)
{
    free(*slot);
    *slot = s;
}

/* Strict decimal: [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? - no hex, inf or nan. */
static bool parse_number_text(ctx *c, const char *s, size_t len, double *out)
{
    size_t i = 0, digits = 0;
    if (len == 0 || len > 64)
        return false;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (ed == 0)
            return false;
    }
    if (i != len)
        return false;
    char buf[72];
    memcpy(buf, s, len);
    buf[len] = '\0';
    double d = strtod_l(buf, NULL, c->cloc);
    if (!isfinite(d))
        return false;
    *out = d;
    return true;
}

static bool parse_uint_text(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return false;
    size_t i = s[0] == '+' ? 1 : 0;
    if (i == len)
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* "must be between 0 and 1" etc., from a row's limits. */
static const char *range_text(const key_def *k, char *buf, size_t cap)
{
    bool lo = k->flags & F_MIN, hi = k->flags & F_MAX;
    bool open = k->flags & F_LO_OPEN;
    if (lo && hi && !open)
        snprintf(buf, cap, "must be between %.15g and %.15g", k->lo, k->hi);
    else if (lo && hi)
        snprintf(buf, cap, "must be greater than %.15g and at most %.15g", k->lo, k->hi);
    else if (lo && open)
        snprintf(buf, cap, "must be greater than %.15g", k->lo);
    else if (lo && k->lo == 0)
        snprintf(buf, cap, "must not be negative");
    else if (lo)
        snprintf(buf, cap, "must be at least %.15g", k->lo);
    else if (hi)
        snprintf(buf, cap, "must be at most %.15g", k->hi);
    else
        buf[0] = '\0';
    return buf;
}

static bool in_range(const key_def *k, double v)
{
    if ((k->flags & F_MIN) && ((k->flags & F_LO_OPEN) ? !(v > k->lo) : !(v >= k->lo)))
        return false;
    if ((k->flags & F_MAX) && !(v <= k->hi))
        return false;
    return true;
}

static int bad_enum(ctx *c, const key_def *k, const yt_node *v)
{
    char show[YT_SHOW_MAX], list[256];
    list_names(k->names, k->nnames, list, sizeof(list));
    const char *near = NULL;
    if (v->kind == YT_SCALAR && v->len == strlen(v->text))
        near = assay_closest(v->text, k->names, k->nnames);
    if (v->kind != YT_SCALAR)
        return errat(c, v, "expected one of %s, found %s", list, yt_kind_phrase(v));
    if (near)
        return errat(c, v, "unknown %s '%s' (did you mean '%s'? expected one of %s)", k->key,
                     yt_show(v->text, v->len, show), near, list);
    return errat(c, v, "unknown %s '%s' (expected one of %s)", k->key,
                 yt_show(v->text, v->len, show), list);
}

static int find_name(const key_def *k, const yt_node *v)
{
    if (v->kind != YT_SCALAR)
        return -1;
    for (size_t i = 0; i < k->nnames; i++)
        if (k->names[i] && text_eq(v, k->names[i]))
            return (int)i;
    return -1;
}

static char *resolve_path(ctx *c, const char *p)
{
    const char *dir = c->cfg->dir;
    if (p[0] == '/' || strcmp(p, "-") == 0 || !dir || strcmp(dir, ".") == 0)
        return strdup(p);
    size_t dl = strlen(dir), pl = strlen(p);
    char *s = malloc(dl + 1 + pl + 1);
    if (s) {
        memcpy(s, dir, dl);
        s[dl] = '/';
        memcpy(s + dl + 1, p, pl + 1);
    }
    return s;
}

static int parse_map(ctx *c, const key_def *tab, const char *noun, const yt_node *map, void *base,
                     uint64_t *seen);
static void apply_defaults(ctx *c, const key_def *tab, void *base);

/* Convert scalar (or list/mapping, per type) v into the slot of row k in base. */
static int set_value(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    char *slot = (char *)base + k->off;
    char show[YT_SHOW_MAX], range[96];
    int rc;

    switch (k->type) {
    case V_STR:
    case V_PATH: {
        if ((rc = need_text(c, v, k->type == V_PATH ? "a file path" : "a string")) < 0)
            return rc;
        char *s = NULL;
        if (k->type == V_PATH) {
            s = resolve_path(c, v->text);
            if (!s)
                return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
        } else if ((rc = dup_text(c, v, &s)) < 0) {
            return rc;
        }
        set_str((char **)(void *)slot, s);
        break;
    }
    case V_BOOL: {
        static const char *const yes[] = { "true", "yes", "on" };
        static const char *const no[] = { "false", "no", "off" };
        int val = -1;
        if (v->kind == YT_SCALAR && v->len <= 5) {
            char low[8];
            for (size_t i = 0; i <= v->len; i++)
                low[i] = lower(v->text[i]);
            for (size_t i = 0; i < 3; i++) {
                if (strcmp(low, yes[i]) == 0)
                    val = 1;
                if (strcmp(low, no[i]) == 0)
                    val = 0;
            }
        }
        if (val < 0) {
            if (v->kind != YT_SCALAR)
                return errat(c, v, "expected true or false, found %s", yt_kind_phrase(v));
            return errat(c, v, "expected true or false, got '%s'", yt_show(v->text, v->len, show));
        }
        *(bool *)(void *)slot = val;
        break;
    }
    case V_NUM: {
        if (v->kind != YT_SCALAR)
            return errat(c, v, "expected a number, found %s", yt_kind_phrase(v));
        double d;
        bool ok;
        if ((k->flags & F_PERCENT) && v->len > 1 && v->text[v->len - 1] == '%') {
            ok = parse_number_text(c, v->text, v->len - 1, &d);
            d /= 100;
        } else {
            ok = parse_number_text(c, v->text, v->len, &d);
        }
        if (!ok)
            return errat(c, v, "expected a number%s, got '%s'",
                         (k->flags & F_PERCENT) ? " (or a percentage like 1%)" : "",
                         yt_show(v->text, v->len, show));
        if (!in_range(k, d))
            return errat(c, v, "%s, got %s", range_text(k, range, sizeof(range)),
                         yt_show(v->text, v->len, show));
        *(double *)(void *)slot = d;
        break;
    }
    case V_UINT:
    case V_U64:
    case V_SIZE: {
        if (v->kind != YT_SCALAR)
            return errat(c, v, "expected %s, found %s",
                         k->type == V_SIZE ? "a size" : "a whole number", yt_kind_phrase(v));
        uint64_t u;
        if (k->type == V_SIZE) {
            rc = assay_parse_size(v->text, v->len, &u);
            if (rc == -ERANGE)
                return errat(c, v, "size '%s' is too large", yt_show(v->text, v->len, show));
            if (rc < 0)
                return errat(c, v,
                             "invalid size '%s' (expected bytes, or a number with a unit: KB MB GB "
                             "TB = 1000s, KiB MiB GiB TiB = 1024s; e.g. 64KiB, 1GB)",
                             yt_show(v->text, v->len, show));
        } else if (!parse_uint_text(v->text, v->len, &u)) {
            return errat(c, v, "expected a whole number, got '%s'", yt_show(v->text, v->len, show));
        }
        if (k->type == V_UINT && u > UINT_MAX && !(k->flags & F_MAX))
            return errat(c, v, "%s is too large", yt_show(v->text, v->len, show));
        if (((k->flags & F_MIN) && (double)u < k->lo) || ((k->flags & F_MAX) && (double)u > k->hi))
            return errat(c, v, "%s, got %s", range_text(k, range, sizeof(range)),
                         yt_show(v->text, v->len, show));
        if (k->type == V_UINT)
            *(unsigned *)(void *)slot = (unsigned)u;
        else
            *(uint64_t *)(void *)slot = u;
        break;
    }
    case V_DURATION: {
        if (v->kind != YT_SCALAR)
            return errat(c, v, "expected a duration, found %s", yt_kind_phrase(v));
        int64_t us;
        rc = assay_parse_duration(v->text, v->len, &us);
        if (rc == -ERANGE)
            return errat(c, v, "duration '%s' is too long", yt_show(v->text, v->len, show));
        if (rc < 0)
            return errat(c, v,
                         "invalid duration '%s' (expected a number with a unit: us ms s m h d w, "
                         "e.g. 500ms, 10m, 1h30m; a bare number is seconds)",
                         yt_show(v->text, v->len, show));
        if ((k->flags & F_POSITIVE) && us <= 0)
            return errat(c, v, "must be longer than 0, got %s", yt_show(v->text, v->len, show));
        *(int64_t *)(void *)slot = us;
        break;
    }
    case V_CHAR: {
        if (v->kind != YT_SCALAR)
            return errat(c, v, "expected one character, found %s", yt_kind_phrase(v));
        char ch;
        if (text_eq(v, "tab") || text_eq(v, "\\t"))
            ch = '\t';
        else if (v->len == 1 && v->text[0] != '\n' && v->text[0] != '\r' && v->text[0] != '\0' &&
                 (unsigned char)v->text[0] < 0x80)
            ch = v->text[0];
        else
            return errat(c, v, "expected one ASCII character (or 'tab'), got '%s'",
                         yt_show(v->text, v->len, show));
        *slot = ch;
        break;
    }
    case V_ENUM: {
        int i = find_name(k, v);
        if (i < 0)
            return bad_enum(c, k, v);
        *(int *)(void *)slot = i;
        break;
    }
    case V_STRENUM: {
        int i = find_name(k, v);
        if (i < 0)
            return bad_enum(c, k, v);
        char *s = strdup(k->names[i]);
        if (!s)
            return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
        set_str((char **)(void *)slot, s);
        break;
    }
    case V_STRLIST: {
        if (v->kind != YT_SEQ)
            return errat(c, v, "expected a list of names like [a, b], found %s", yt_kind_phrase(v));
        char ***arr = (char ***)(void *)slot;
        size_t *cnt = (size_t *)(void *)((char *)base + k->off2);
        for (size_t i = 0; i < *cnt; i++)
            free((*arr)[i]);
        free(*arr);
        *arr = NULL;
        *cnt = 0;
        if (v->n == 0)
            break;
        *arr = calloc(v->n, sizeof(char *));
        if (!*arr)
            return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
        for (size_t i = 0; i < v->n; i++) {
            size_t mark = path_push_index(c, i);
            const yt_node *it = v->items[i];
            if ((rc = need_text(c, it, "a name")) < 0)
                return rc;
            for (size_t j = 0; j < i; j++) {
                if (strcmp((*arr)[j], it->text) == 0)
                    return errat(c, it, "'%s' is listed twice", yt_show(it->text, it->len, show));
            }
            if ((rc = dup_text(c, it, &(*arr)[i])) < 0)
                return rc;
            *cnt = i + 1;
            path_pop(c, mark);
        }
        break;
    }
    case V_SECTION:
        return parse_map(c, k->sub, k->noun, v, base, NULL);
    case V_CUSTOM:
        return k->parse(c, k, v, base);
    }
    if (k->flags & F_HAS)
        *(bool *)(void *)((char *)base + k->off2) = true;
    return 0;
}

/* ---------------------------------------------------------------- mappings */

static int key_index(const key_def *tab, const char *key)
{
    for (int i = 0; tab[i].key; i++)
        if (strcmp(tab[i].key, key) == 0)
            return i;
    return -1;
}

static bool was_seen(uint64_t seen, const key_def *tab, const char *key)
{
    int i = key_index(tab, key);
    return i >= 0 && (seen >> i) & 1;
}

/* Where else a key exists ("window.size"), for keys put in the wrong section. */
static bool find_elsewhere(const key_def *tab, const char *key, char *path, size_t cap, size_t len,
                           int depth)
{
    if (depth > 4)
        return false;
    for (const key_def *k = tab; k->key; k++) {
        int n = snprintf(path + len, cap - len, "%s%s%s", len ? "." : "", k->key,
                         (k->flags & F_LIST) ? "[]" : "");
        if (n < 0 || (size_t)n >= cap - len)
            continue;
        if (strcmp(k->key, key) == 0)
            return true;
        if (k->sub && find_elsewhere(k->sub, key, path, cap, len + (size_t)n, depth + 1))
            return true;
        path[len] = '\0';
    }
    return false;
}

static const char *checks_taking(const key_def *tab, int check, char *buf, size_t cap)
{
    const char *names[32];
    size_t n = 0;
    for (const key_def *k = tab; k->key && n < 32; k++)
        if (k->checks && k->checks != COLUMN_CHECKS && (k->checks & CHK(check)))
            names[n++] = k->key;
    return list_names(names, n, buf, cap);
}

static int unknown_key(ctx *c, const key_def *tab, const char *noun, const yt_node *key)
{
    char show[YT_SHOW_MAX];
    const char *names[40];
    size_t n = ASSAY_MIN(table_len(tab), (size_t)39);
    table_names(tab, names, 40);
    const char *near = key->len == strlen(key->text) ? assay_closest(key->text, names, n) : NULL;
    const char *what = noun ? noun : "key";
    if (near)
        return errat(c, key, "unknown %s (did you mean '%s'?)", what, near);
    char where[128];
    where[0] = '\0';
    if (!noun && key->len == strlen(key->text) &&
        find_elsewhere(top_keys, key->text, where, sizeof(where), 0, 0)) {
        if (!strchr(where, '.'))
            return errat(c, key, "unknown %s here (%s belongs at the top level)", what, where);
        return errat(c, key, "unknown %s here (did you mean %s?)", what, where);
    }
    char list[320];
    return errat(c, key, "unknown %s '%s' (expected one of %s)", what,
                 yt_show(key->text, key->len, show), list_names(names, n, list, sizeof(list)));
}

static int parse_map(ctx *c, const key_def *tab, const char *noun, const yt_node *map, void *base,
                     uint64_t *seen_out)
{
    uint64_t seen = 0;
    int rc;
    if (map->kind != YT_MAP) {
        const char *names[40];
        size_t n = ASSAY_MIN(table_len(tab), (size_t)39);
        table_names(tab, names, 40);
        char list[320];
        return errat(c, map, "expected a mapping with keys %s; found %s",
                     list_names(names, n, list, sizeof(list)), yt_kind_phrase(map));
    }
    for (size_t i = 0; i < map->n; i++) {
        const yt_node *key = map->items[2 * i], *val = map->items[2 * i + 1];
        int idx = -1;
        if (key->len == strlen(key->text))
            idx = key_index(tab, key->text);
        size_t mark = path_push_key(c, key->text, key->len);
        if (idx < 0)
            return unknown_key(c, tab, noun, key);
        const key_def *k = &tab[idx];
        if ((k->flags & F_LATER) && !c->parse_later)
            return errat(c, key, "not supported in this build yet (see `assay help config`)");
        if (k->checks && c->check >= 0 && !(k->checks & CHK(c->check))) {
            char list[256];
            checks_taking(tab, c->check, list, sizeof(list));
            if (c->check == ASSAY_CHECK_ROW_COUNT && strcmp(k->key, "column") == 0)
                return errat(c, key,
                             "not valid for check 'row_count' (it counts rows per window; "
                             "it takes %s)",
                             list);
            if (list[0])
                return errat(c, key, "not valid for check '%s' (%s takes %s)",
                             check_names[c->check], check_names[c->check], list);
            return errat(c, key,
                         "not valid for check '%s' (it takes only name, column, check, "
                         "dimension, severity, threshold, action)",
                         check_names[c->check]);
        }
        if (yt_is_null(val)) {
            if (k->flags & F_REQUIRED)
                return errat(c, val, "needs a value");
            path_pop(c, mark);
            continue; /* not set: keeps its default */
        }
        if ((rc = set_value(c, k, val, base)) < 0)
            return rc;
        seen |= 1ull << idx;
        path_pop(c, mark);
    }
    for (int i = 0; tab[i].key; i++) {
        if ((tab[i].flags & F_REQUIRED) && !((seen >> i) & 1))
            return errat(c, map, "missing required key '%s'", tab[i].key);
    }
    if (seen_out)
        *seen_out = seen;
    return 0;
}

static void apply_defaults(ctx *c, const key_def *tab, void *base)
{
    for (const key_def *k = tab; k->key; k++) {
        if (k->type == V_SECTION) {
            apply_defaults(c, k->sub, base);
        } else if (k->def) {
            yt_node n = { .kind = YT_SCALAR, .text = (char *)k->def, .len = strlen(k->def) };
            int rc = set_value(c, k, &n, base);
            assay_assert(rc == 0);
            (void)rc;
        }
    }
}

static void free_fields(const key_def *tab, void *base)
{
    for (const key_def *k = tab; k->key; k++) {
        char *slot = (char *)base + k->off;
        switch (k->type) {
        case V_STR:
        case V_PATH:
        case V_STRENUM:
            set_str((char **)(void *)slot, NULL);
            break;
        case V_STRLIST: {
            char ***arr = (char ***)(void *)slot;
            size_t *cnt = (size_t *)(void *)((char *)base + k->off2);
            for (size_t i = 0; i < *cnt; i++)
                free((*arr)[i]);
            free(*arr);
            *arr = NULL;
            *cnt = 0;
            break;
        }
        case V_SECTION:
            free_fields(k->sub, base);
            break;
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------- custom keys */

static int oom(ctx *c)
{
    return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
}

/* ${NAME} in a property value is the environment variable NAME, so secrets and
 * addresses need not be written into the file (`sasl.password: ${KAFKA_PASSWORD}`).
 * An unset variable is an error that names it, never its would-be value. */
static int expand_env(ctx *c, const yt_node *val, char **text)
{
    const char *s = *text;
    if (!strstr(s, "${"))
        return 0;
    assay_strbuf sb;
    assay_sb_init(&sb);
    while (*s) {
        const char *open = strstr(s, "${");
        const char *close = open ? strchr(open + 2, '}') : NULL;
        if (!open || !close) {
            assay_sb_append(&sb, s, strlen(s));
            break;
        }
        assay_sb_append(&sb, s, (size_t)(open - s));
        char name[128];
        size_t n = (size_t)(close - open - 2);
        if (n == 0 || n >= sizeof(name)) {
            assay_sb_free(&sb);
            return errat(c, val, "${...} needs an environment variable name");
        }
        memcpy(name, open + 2, n);
        name[n] = '\0';
        const char *env = getenv(name);
        if (!env) {
            assay_sb_free(&sb);
            return errat(c, val, "environment variable %s is not set", name);
        }
        assay_sb_append(&sb, env, strlen(env));
        s = close + 1;
    }
    char *out = sb.oom ? NULL : strdup(sb.data ? sb.data : "");
    assay_sb_free(&sb);
    if (!out)
        return oom(c);
    free(*text);
    *text = out;
    return 0;
}

static int parse_kafka_props(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_config *cfg = base;
    int rc;
    if (v->kind != YT_MAP)
        return errat(c, v,
                     "expected a mapping of librdkafka properties like "
                     "{bootstrap.servers: HOST:PORT}, found %s",
                     yt_kind_phrase(v));
    cfg->kafka_keys = calloc(v->n ? v->n : 1, sizeof(char *));
    cfg->kafka_values = calloc(v->n ? v->n : 1, sizeof(char *));
    if (!cfg->kafka_keys || !cfg->kafka_values)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *key = v->items[2 * i], *val = v->items[2 * i + 1];
        size_t mark = path_push_key(c, key->text, key->len);
        if ((rc = need_text(c, key, "a property name")) < 0)
            return rc;
        if (val->kind != YT_SCALAR)
            return errat(c, val,
                         "expected a value, found %s (properties are flat: write "
                         "'a.b: value', not nested mappings)",
                         yt_kind_phrase(val));
        if (yt_is_null(val))
            return errat(c, val, "needs a value");
        if (memchr(val->text, '\0', val->len))
            return errat(c, val, "contains a NUL character");
        if ((rc = dup_text(c, key, &cfg->kafka_keys[i])) < 0 ||
            (rc = dup_text(c, val, &cfg->kafka_values[i])) < 0)
            return rc;
        cfg->nkafka = i + 1;
        if ((rc = expand_env(c, val, &cfg->kafka_values[i])) < 0)
            return rc;
        path_pop(c, mark);
    }
    return 0;
}

static int parse_columns(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_config *cfg = base;
    char show[YT_SHOW_MAX];
    int rc;
    if (v->kind != YT_SEQ)
        return errat(c, v, "expected a list like [{name: id, type: int}], found %s",
                     yt_kind_phrase(v));
    cfg->columns = calloc(v->n ? v->n : 1, sizeof(*cfg->columns));
    if (!cfg->columns)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *it = v->items[i];
        size_t mark = path_push_index(c, i);
        assay_column_config *col = &cfg->columns[i];
        cfg->ncolumns = i + 1;
        col->pos = (assay_config_pos){ it->line, it->col };
        if (it->kind != YT_MAP)
            return errat(c, it, "expected a mapping like {name: id, type: int}, found %s",
                         yt_kind_phrase(it));
        if ((rc = parse_map(c, column_keys, NULL, it, col, NULL)) < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->columns[j].name, col->name) == 0) {
                path_push_key(c, "name", 4);
                return errat(c, yt_map_get(it, "name"), "duplicate column '%s' (also columns[%zu])",
                             yt_show(col->name, strlen(col->name), show), j);
            }
        }
        path_pop(c, mark);
    }
    return 0;
}

/* min / max of a rule: meaning depends on the check. */
static int parse_minmax(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_rule_config *r = base;
    bool is_min = k->key[1] == 'i';
    char show[YT_SHOW_MAX];
    int rc;
    if (v->kind != YT_SCALAR)
        return errat(c, v, "expected a number, found %s", yt_kind_phrase(v));
    if (c->check == ASSAY_CHECK_LENGTH || c->check == ASSAY_CHECK_ROW_COUNT) {
        uint64_t u;
        if (!parse_uint_text(v->text, v->len, &u))
            return errat(c, v, "expected a non-negative whole number (%s), got '%s'",
                         c->check == ASSAY_CHECK_LENGTH ? "characters" : "rows",
                         yt_show(v->text, v->len, show));
        if (c->check == ASSAY_CHECK_LENGTH) {
            *(is_min ? &r->min_length : &r->max_length) = u;
            *(is_min ? &r->has_min_length : &r->has_max_length) = true;
            return 0;
        }
        if (u > (1ull << 53))
            return errat(c, v, "%s is too large", yt_show(v->text, v->len, show));
        *(is_min ? &r->min : &r->max) = (double)u;
    } else {
        /* in_range: a number, or a timestamp/date kept as text for the column's type. */
        double d;
        if (parse_number_text(c, v->text, v->len, &d)) {
            *(is_min ? &r->min : &r->max) = d;
        } else {
            bool date = v->len >= 10 && memchr(v->text, '\0', v->len) == NULL;
            for (size_t i = 0; date && i < 10; i++)
                date = (i == 4 || i == 7) ? v->text[i] == '-'
                                          : (v->text[i] >= '0' && v->text[i] <= '9');
            if (!date)
                return errat(c, v,
                             "expected a number or a timestamp (like 2024-01-31T00:00:00Z), "
                             "got '%s'",
                             yt_show(v->text, v->len, show));
            *(is_min ? &r->min : &r->max) = NAN;
        }
    }
    char *text = NULL;
    if ((rc = dup_text(c, v, &text)) < 0)
        return rc;
    set_str(is_min ? &r->min_text : &r->max_text, text);
    *(is_min ? &r->has_min : &r->has_max) = true;
    return 0;
}

static void free_values(assay_rule_config *r)
{
    for (size_t i = 0; i < r->nvalues; i++)
        free(r->values[i]);
    free(r->values);
    r->values = NULL;
    r->nvalues = 0;
}

static int parse_values(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_rule_config *r = base;
    int rc;
    if (v->kind != YT_SEQ)
        return errat(c, v, "expected a list of allowed values like [USD, EUR], found %s",
                     yt_kind_phrase(v));
    if (v->n == 0)
        return errat(c, v, "the list of allowed values is empty");
    free_values(r);
    r->values = calloc(v->n, sizeof(char *));
    if (!r->values)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *it = v->items[i];
        size_t mark = path_push_index(c, i);
        if (it->kind != YT_SCALAR)
            return errat(c, it, "expected a value, found %s", yt_kind_phrase(it));
        if (yt_is_null(it))
            return errat(c, it, "empty value (use a not_null rule to check for missing values)");
        if (memchr(it->text, '\0', it->len))
            return errat(c, it, "contains a NUL character");
        if ((rc = dup_text(c, it, &r->values[i])) < 0)
            return rc;
        r->nvalues = i + 1;
        path_pop(c, mark);
    }
    return 0;
}

/* source.null_values: a list of scalars taken as written. A plain `null` or `~` item
 * is the text, not YAML's null: in this list nobody means "no token". */
static int parse_null_values(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    (void)k;
    assay_config *cfg = base;
    assay_null_tokens *t = &cfg->source.null_values;
    memset(t, 0, sizeof(*t));
    if (v->kind != YT_SEQ)
        return errat(c, v, "expected a list of strings like [NA, N/A], found %s",
                     yt_kind_phrase(v));
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *it = v->items[i];
        size_t mark = path_push_index(c, i);
        if (it->kind != YT_SCALAR)
            return errat(c, it, "expected a string, found %s", yt_kind_phrase(it));
        if (memchr(it->text, '\0', it->len))
            return errat(c, it, "contains a NUL character");
        assay_error e = { 0 };
        if (assay_null_tokens_add(t, it->text, it->len, &e) < 0)
            return errat(c, it, "%s", e.msg);
        path_pop(c, mark);
    }
    return 0;
}

static int parse_sink_stdout(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_sink_config *s = base;
    key_def kb = { .key = "stdout", .type = V_BOOL };
    bool on = false;
    kb.off = 0;
    int rc = set_value(c, &kb, v, &on);
    if (rc < 0)
        return rc;
    s->kind = on ? ASSAY_SINK_STDOUT : ASSAY_SINK_NONE;
    return 0;
}

static void free_sink_list(assay_sink_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free_fields(sink_keys, &l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int parse_one_sink(ctx *c, const yt_node *v, assay_sink_config *s)
{
    uint64_t seen = 0;
    int rc;
    if (v->kind != YT_MAP)
        return errat(c, v, "expected a sink like {file: PATH} or {stdout: true}, found %s",
                     yt_kind_phrase(v));
    apply_defaults(c, sink_keys, s);
    s->pos = (assay_config_pos){ v->line, v->col };
    if ((rc = parse_map(c, sink_keys, NULL, v, s, &seen)) < 0)
        return rc;
    int n = was_seen(seen, sink_keys, "file") + was_seen(seen, sink_keys, "kafka") +
            was_seen(seen, sink_keys, "stdout") + was_seen(seen, sink_keys, "alertmanager");
    if (n > 1)
        return errat(c, v, "give only one of file, kafka, stdout, alertmanager");
    if (was_seen(seen, sink_keys, "file"))
        s->kind = ASSAY_SINK_FILE;
    else if (was_seen(seen, sink_keys, "kafka"))
        s->kind = ASSAY_SINK_KAFKA;
    else if (was_seen(seen, sink_keys, "alertmanager"))
        s->kind = ASSAY_SINK_ALERTMANAGER;
    else if (n == 0)
        return errat(c, v, "expected one of {file: PATH}, {stdout: true}");
    if (was_seen(seen, sink_keys, "format") && s->kind != ASSAY_SINK_FILE) {
        path_push_key(c, "format", 6);
        return errat(c, yt_map_key(v, "format"),
                     "format applies to file sinks (stdout writes JSON lines; a Kafka sink takes "
                     "kafka.format)");
    }
    return 0;
}

static int parse_sink(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_sink_list *l = (assay_sink_list *)(void *)((char *)base + k->off);
    free_sink_list(l);
    size_t n = v->kind == YT_SEQ ? v->n : 1;
    if (n == 0)
        return 0;
    l->v = calloc(n, sizeof(assay_sink_config));
    if (!l->v)
        return oom(c);
    for (size_t i = 0; i < n; i++) {
        size_t mark = v->kind == YT_SEQ ? path_push_index(c, i) : c->plen;
        int rc = parse_one_sink(c, v->kind == YT_SEQ ? v->items[i] : v, &l->v[l->n]);
        l->n++;
        if (rc < 0)
            return rc;
        if (l->v[l->n - 1].kind == ASSAY_SINK_NONE) { /* stdout: false */
            free_fields(sink_keys, &l->v[--l->n]);
            memset(&l->v[l->n], 0, sizeof(l->v[0]));
        }
        path_pop(c, mark);
    }
    return 0;
}

static int parse_listen(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    char show[YT_SHOW_MAX];
    int rc;
    if ((rc = need_text(c, v, "HOST:PORT")) < 0)
        return rc;
    const char *colon = strrchr(v->text, ':');
    uint64_t port = 0;
    bool ok = colon && colon > v->text && parse_uint_text(colon + 1, strlen(colon + 1), &port) &&
              port <= 65535;
    if (ok && v->text[0] == '[')
        ok = colon[-1] == ']';
    else if (ok)
        ok = memchr(v->text, ':', (size_t)(colon - v->text)) == NULL; /* IPv6 needs [] */
    if (!ok)
        return errat(c, v, "expected HOST:PORT like 127.0.0.1:9464 or [::1]:9464, got '%s'",
                     yt_show(v->text, v->len, show));
    char *s = NULL;
    if ((rc = dup_text(c, v, &s)) < 0)
        return rc;
    set_str((char **)(void *)((char *)base + k->off), s);
    return 0;
}

static void free_rule(assay_rule_config *r)
{
    free_fields(rule_keys, r);
    free(r->min_text);
    free(r->max_text);
    free_values(r);
}

/* Per-check requirements, after all keys of rule r were read. */
static int check_rule(ctx *c, const yt_node *it, assay_rule_config *r, uint64_t seen)
{
    const char *cn = check_names[r->check];
    if (r->check == ASSAY_CHECK_EXPR) {
        const yt_node *ex = yt_map_get(it, "expr");
        if (!r->expr)
            return errat(c, it,
                         "check 'expr' needs expr: a condition like "
                         "\"shipped_at >= created_at\" (docs/expressions.md)");
        /* syntax now; names and types when the data's columns are known */
        char key[300];
        snprintf(key, sizeof(key), "%s.expr", c->path);
        r->expr_pos = (assay_config_pos){ ex->line, ex->col + (ex->quoted ? 1 : 0) };
        assay_expr_source src = {
            .file = c->file, .key = key, .line = r->expr_pos.line, .col = r->expr_pos.col
        };
        return assay_expr_syntax(r->expr, &src, c->err);
    }
    if (r->check != ASSAY_CHECK_ROW_COUNT && !r->column)
        return errat(c, it, "missing required key 'column' (check '%s' applies to a column)", cn);
    switch (r->check) {
    case ASSAY_CHECK_IN_RANGE:
    case ASSAY_CHECK_ROW_COUNT:
        if (!r->has_min && !r->has_max)
            return errat(c, it, "check '%s' needs min, max or both", cn);
        if (r->has_min && r->has_max && r->min > r->max) {
            path_push_key(c, "max", 3);
            return errat(c, yt_map_get(it, "max"), "max (%s) is below min (%s)", r->max_text,
                         r->min_text);
        }
        break;
    case ASSAY_CHECK_LENGTH:
        if (!r->has_min_length && !r->has_max_length)
            return errat(c, it, "check 'length' needs min, max or both (in characters)");
        if (r->has_min_length && r->has_max_length && r->min_length > r->max_length) {
            path_push_key(c, "max", 3);
            return errat(c, yt_map_get(it, "max"), "max (%llu) is below min (%llu)",
                         (unsigned long long)r->max_length, (unsigned long long)r->min_length);
        }
        break;
    case ASSAY_CHECK_IN_SET:
        if (!r->values)
            return errat(c, it, "check 'in_set' needs values: [A, B, ...]");
        break;
    case ASSAY_CHECK_MATCHES:
        if (!r->pattern && !r->format) {
            char list[128];
            return errat(c, it, "check 'matches' needs pattern: REGEX or format: (one of %s)",
                         list_names(match_format_names, ASSAY_ARRAY_LEN(match_format_names), list,
                                    sizeof(list)));
        }
        if (r->pattern && r->format) {
            path_push_key(c, "format", 6);
            return errat(c, yt_map_key(it, "format"), "give either pattern or format, not both");
        }
        break;
    case ASSAY_CHECK_FOREIGN_KEY:
        if (!r->ref_file)
            return errat(c, it, "check 'foreign_key' needs ref: {file: PATH, column: NAME}");
        break;
    case ASSAY_CHECK_FRESHNESS:
        if (!was_seen(seen, rule_keys, "max_age"))
            return errat(c, it, "check 'freshness' needs max_age (a duration like 10m)");
        break;
    default:
        break;
    }
    return 0;
}

static int parse_rule(ctx *c, const yt_node *it, assay_rule_config *r)
{
    int rc;
    uint64_t seen = 0;
    if (it->kind != YT_MAP)
        return errat(c, it, "expected a mapping like {column: email, check: not_null}, found %s",
                     yt_kind_phrase(it));
    r->pos = (assay_config_pos){ it->line, it->col };
    const yt_node *chk = yt_map_get(it, "check");
    if (!chk || yt_is_null(chk)) {
        char list[256];
        return errat(c, chk ? chk : it, "missing required key 'check' (one of %s)",
                     list_names(check_names, ASSAY_CHECK_COUNT, list, sizeof(list)));
    }
    size_t mark = path_push_key(c, "check", 5);
    if ((rc = set_value(c, &rule_keys[key_index(rule_keys, "check")], chk, r)) < 0)
        return rc;
    path_pop(c, mark);

    c->check = (int)r->check;
    apply_defaults(c, rule_keys, r);
    rc = parse_map(c, rule_keys, NULL, it, r, &seen);
    c->check = -1;
    if (rc < 0)
        return rc;
    if (!was_seen(seen, rule_keys, "dimension"))
        r->dimension = assay_check_dimension(r->check);
    const yt_node *col = yt_map_get(it, "column");
    if (col && r->column)
        r->column_pos = (assay_config_pos){ col->line, col->col };
    if ((rc = check_rule(c, it, r, seen)) < 0)
        return rc;
    if (!r->name) {
        const char *cn = check_names[r->check];
        size_t len = (r->column ? strlen(r->column) + 1 : 0) + strlen(cn) + 1;
        r->name = malloc(len);
        if (!r->name)
            return oom(c);
        snprintf(r->name, len, "%s%s%s", r->column ? r->column : "", r->column ? "_" : "", cn);
    }
    return 0;
}

static int parse_rules(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_config *cfg = base;
    char show[YT_SHOW_MAX];
    int rc;
    if (v->kind != YT_SEQ)
        return errat(c, v,
                     "expected a list of rules like [{column: email, check: not_null}], "
                     "found %s",
                     yt_kind_phrase(v));
    cfg->rules = calloc(v->n ? v->n : 1, sizeof(*cfg->rules));
    if (!cfg->rules)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        size_t mark = path_push_index(c, i);
        cfg->nrules = i + 1;
        if ((rc = parse_rule(c, v->items[i], &cfg->rules[i])) < 0)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->rules[j].name, cfg->rules[i].name) == 0) {
                const yt_node *nn = yt_map_get(v->items[i], "name");
                if (nn)
                    path_push_key(c, "name", 4);
                return errat(c, nn ? nn : v->items[i],
                             "duplicate rule name '%s' (rules[%zu] has it too; set name: to tell "
                             "them apart)",
                             yt_show(cfg->rules[i].name, strlen(cfg->rules[i].name), show), j);
            }
        }
        path_pop(c, mark);
    }
    return 0;
}

static int parse_max_null(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    (void)k;
    assay_contract_config *ct = base;
    char show[YT_SHOW_MAX];
    int rc;
    if (v->kind != YT_MAP || v->n == 0)
        return errat(c, v, "expected a mapping of column to rate like {email: 0.02}, found %s",
                     yt_kind_phrase(v));
    ct->max_null_columns = calloc(v->n, sizeof(char *));
    ct->max_null_rates = calloc(v->n, sizeof(double));
    if (!ct->max_null_columns || !ct->max_null_rates)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *key = v->items[2 * i], *val = v->items[2 * i + 1];
        size_t mark = path_push_key(c, key->text, key->len);
        if ((rc = need_text(c, key, "a column name")) < 0)
            return rc;
        double d = NAN;
        bool ok = val->kind == YT_SCALAR;
        if (ok && val->len > 1 && val->text[val->len - 1] == '%') {
            ok = parse_number_text(c, val->text, val->len - 1, &d);
            d /= 100;
        } else if (ok) {
            ok = parse_number_text(c, val->text, val->len, &d);
        }
        if (!ok || !(d >= 0 && d <= 1))
            return errat(c, val, "expected a rate in [0, 1] or a percentage like 2%%, got '%s'",
                         val->kind == YT_SCALAR ? yt_show(val->text, val->len, show) : "?");
        if ((rc = dup_text(c, key, &ct->max_null_columns[i])) < 0)
            return rc;
        ct->max_null_rates[i] = d;
        ct->nmax_null = i + 1;
        path_pop(c, mark);
    }
    return 0;
}

static int parse_require(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    (void)k;
    assay_contract_config *ct = base;
    char show[YT_SHOW_MAX];
    int rc;
    if (v->kind != YT_SEQ || v->n == 0)
        return errat(c, v, "expected a list like [{name: order_id, type: int}], found %s",
                     yt_kind_phrase(v));
    ct->require_names = calloc(v->n, sizeof(char *));
    ct->require_types = calloc(v->n, sizeof(assay_type));
    if (!ct->require_names || !ct->require_types)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *it = v->items[i];
        size_t mark = path_push_index(c, i);
        const yt_node *name = it->kind == YT_SCALAR ? it : yt_map_get(it, "name");
        const yt_node *type = it->kind == YT_MAP ? yt_map_get(it, "type") : NULL;
        if (!name)
            return errat(c, it, "expected {name: COLUMN, type: TYPE} or a column name");
        if (it->kind == YT_MAP)
            for (size_t j = 0; j < it->n; j++)
                if (!text_eq(it->items[2 * j], "name") && !text_eq(it->items[2 * j], "type"))
                    return errat(c, it->items[2 * j], "unknown key '%s' (expected name, type)",
                                 yt_show(it->items[2 * j]->text, it->items[2 * j]->len, show));
        if ((rc = need_text(c, name, "a column name")) < 0 ||
            (rc = dup_text(c, name, &ct->require_names[i])) < 0)
            return rc;
        ct->nrequire = i + 1;
        ct->require_types[i] = ASSAY_TYPE_UNKNOWN;
        if (type) {
            int t = -1;
            for (int x = 1; x < ASSAY_TYPE_COUNT && type->kind == YT_SCALAR; x++)
                if (text_eq(type, type_names[x]))
                    t = x;
            if (t < 0)
                return errat(c, type,
                             "expected one of int, float, string, bool, timestamp, got "
                             "'%s'",
                             type->kind == YT_SCALAR ? yt_show(type->text, type->len, show) : "?");
            ct->require_types[i] = (assay_type)t;
        }
        path_pop(c, mark);
    }
    return 0;
}

static int parse_contracts(ctx *c, const key_def *k, const yt_node *v, void *base)
{
    assay_config *cfg = base;
    char show[YT_SHOW_MAX];
    int rc;
    if (v->kind != YT_SEQ)
        return errat(c, v,
                     "expected a list of contracts like [{name: sla, min_score: 90}], "
                     "found %s",
                     yt_kind_phrase(v));
    cfg->contracts = calloc(v->n ? v->n : 1, sizeof(*cfg->contracts));
    if (!cfg->contracts)
        return oom(c);
    for (size_t i = 0; i < v->n; i++) {
        const yt_node *it = v->items[i];
        assay_contract_config *ct = &cfg->contracts[i];
        size_t mark = path_push_index(c, i);
        cfg->ncontracts = i + 1;
        if (it->kind != YT_MAP)
            return errat(c, it, "expected a mapping like {name: sla, min_score: 90}, found %s",
                         yt_kind_phrase(it));
        apply_defaults(c, contract_keys, ct);
        if ((rc = parse_map(c, contract_keys, NULL, it, ct, NULL)) < 0)
            return rc;
        ct->pos = (assay_config_pos){ it->line, it->col };
        bool any = ct->has_min_score || ct->has_max_freshness || ct->nmax_null || ct->nrequire;
        for (int d = 0; d < ASSAY_DIM_COUNT; d++)
            any = any || ct->has_min_dim[d];
        if (!any)
            return errat(c, it,
                         "give at least one of min_score, min_DIMENSION (min_completeness, ...), "
                         "max_null_rate, require");
        if (ct->action == ASSAY_ACTION_BLOCK) {
            path_push_key(c, "action", 6);
            return errat(c, yt_map_get(it, "action"),
                         "block needs write-audit-publish, which is not supported yet (use alert "
                         "or log)");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->contracts[j].name, ct->name) == 0) {
                path_push_key(c, "name", 4);
                return errat(c, yt_map_get(it, "name"),
                             "duplicate contract name '%s' (also contracts[%zu])",
                             yt_show(ct->name, strlen(ct->name), show), j);
            }
        }
        path_pop(c, mark);
    }
    return 0;
}

/* ---------------------------------------------------------------- whole-config checks */

static const yt_node *tree_at(const yt_node *n, const char *a, const char *b)
{
    n = yt_map_get(n, a);
    return b ? yt_map_get(n, b) : n;
}

/* Thresholds per severity under node `at` (path `where`) must not fall. */
static int check_levels(ctx *c, const yt_node *at, const char *where, const double *lv, size_t nlv,
                        const char *const *names)
{
    for (size_t i = 1; i < nlv; i++) {
        if (lv[i] < lv[i - 1]) {
            path_set(c, "%s.%s", where, names[i]);
            const yt_node *n = yt_map_get(at, names[i]);
            return errat(c, n ? n : at, "%g is below %s (%g); thresholds must rise with severity",
                         lv[i], names[i - 1], lv[i - 1]);
        }
    }
    return 0;
}

static bool has_kafka_prop(const assay_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->nkafka; i++)
        if (!strcmp(cfg->kafka_keys[i], key))
            return true;
    return false;
}

static const assay_sink_config *first_kafka_sink(const assay_config *cfg)
{
    const assay_sink_list *l[] = { &cfg->sinks.scores, &cfg->sinks.alerts, &cfg->sinks.quarantine,
                                   &cfg->sinks.clean };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(l); i++)
        for (size_t j = 0; j < l[i]->n; j++)
            if (l[i]->v[j].kind == ASSAY_SINK_KAFKA)
                return &l[i]->v[j];
    return NULL;
}

/* What a Kafka source or sink needs from the rest of the config. */
static int validate_kafka(ctx *c)
{
    assay_config *cfg = c->cfg;
    const yt_node *root = c->root;
    const assay_sink_config *ks = first_kafka_sink(cfg);
    /* properties whose meaning assay's delivery depends on are not the user's to set */
    static const struct {
        const char *key, *why;
    } owned[] = {
        { "group.id", "set the group with source.kafka.group" },
        { "auto.offset.reset", "set where a partition starts with source.kafka.start" },
        { "enable.auto.commit", "assay commits offsets itself, once the rows they cover "
                                "are delivered and checkpointed" },
        { "enable.auto.offset.store", "assay commits offsets itself, once the rows they "
                                      "cover are delivered and checkpointed" },
        { "enable.idempotence", "assay's producer is always idempotent (no duplicates "
                                "from retries, order kept per partition)" },
        { "transactional.id", "not supported yet: exactly-once delivery through a "
                              "transactional producer is not in this build" },
    };
    for (size_t i = 0; i < cfg->nkafka; i++)
        for (size_t j = 0; j < ASSAY_ARRAY_LEN(owned); j++)
            if (!strcmp(cfg->kafka_keys[i], owned[j].key)) {
                path_set(c, "kafka");
                return errat(c, tree_at(root, "kafka", owned[j].key), "%s: %s", owned[j].key,
                             owned[j].why);
            }
    if ((cfg->source.kafka_topic || ks) && !has_kafka_prop(cfg, "bootstrap.servers")) {
        path_set(c, "kafka");
        if (cfg->source.kafka_topic)
            return errat(c, tree_at(root, "source", "kafka"),
                         "a Kafka source needs the brokers: add `kafka: {bootstrap.servers: "
                         "HOST:PORT}`");
        return assay_error_set(c->err, -EINVAL,
                               "%s:%d:%d: a Kafka sink needs the brokers: add `kafka: "
                               "{bootstrap.servers: HOST:PORT}`",
                               c->file, ks->pos.line, ks->pos.col);
    }
    if (!cfg->source.kafka_topic)
        return 0;
    const yt_node *kn = tree_at(root, "source", "kafka");
    path_set(c, "source.kafka");
    const yt_node *hn = tree_at(root, "source", "header");
    if (cfg->source.format == ASSAY_FORMAT_CSV && hn && cfg->source.header)
        return errat(c, hn,
                     "a Kafka message is one CSV record, with no header line to read: remove "
                     "`header` (the columns are the ones in `columns:`, in order)");
    if (cfg->source.follow)
        return errat(c, tree_at(root, "source", "follow"),
                     "follow applies to files; a Kafka source always keeps reading");
    if (!cfg->state.dir)
        return errat(
            c, kn,
            "a Kafka source needs `state: {dir: DIR}`: offsets are committed only once the "
            "window state they fed is in a durable checkpoint (the state topic is not "
            "supported yet)");
    if (!cfg->ncolumns)
        return errat(c, kn,
                     "a Kafka source needs `columns:` with a type for each: a stream's schema is "
                     "declared, not inferred from whichever message comes first");
    for (size_t i = 0; i < cfg->ncolumns; i++)
        if (cfg->columns[i].type == ASSAY_TYPE_UNKNOWN) {
            return assay_error_set(c->err, -EINVAL,
                                   "%s:%d:%d: columns: column '%s' has no type: with a Kafka "
                                   "source every column is declared with its type (a restart or "
                                   "a rebalance must not infer it again)",
                                   c->file, cfg->columns[i].pos.line, cfg->columns[i].pos.col,
                                   cfg->columns[i].name);
        }
    if (cfg->source.format != ASSAY_FORMAT_CSV)
        cfg->source.format = ASSAY_FORMAT_NDJSON;
    return 0;
}

static int validate(ctx *c)
{
    assay_config *cfg = c->cfg;
    const yt_node *root = c->root;
    int rc;

    if (cfg->source.file && cfg->source.kafka_topic) {
        path_set(c, "source");
        return errat(c, yt_map_key(tree_at(root, "source", NULL), "kafka"),
                     "give either file or kafka, not both");
    }
    if ((rc = validate_kafka(c)) < 0)
        return rc;
    if (cfg->source.comment &&
        (cfg->source.comment == cfg->source.quote ||
         cfg->source.comment == (cfg->source.delimiter ? cfg->source.delimiter : ','))) {
        path_set(c, "source.comment");
        return errat(c, tree_at(root, "source", "comment"),
                     "the comment character must differ from the delimiter and the quote");
    }
    if (cfg->source.delimiter == cfg->source.quote) {
        path_set(c, "source.quote");
        const yt_node *n = tree_at(root, "source", "quote");
        return errat(c, n ? n : tree_at(root, "source", "delimiter"),
                     "the quote character must differ from the delimiter");
    }

    if (cfg->window.slide_us == 0)
        cfg->window.slide_us = cfg->window.size_us;
    if (cfg->window.slide_us > cfg->window.size_us) {
        char a[32], b[32];
        path_set(c, "window.slide");
        assay_format_duration(cfg->window.slide_us, a, sizeof(a));
        assay_format_duration(cfg->window.size_us, b, sizeof(b));
        return errat(c, tree_at(root, "window", "slide"),
                     "%s is longer than window.size (%s); rows between windows would be skipped", a,
                     b);
    }
    if (cfg->window.size_us % cfg->window.slide_us != 0) {
        char a[32], b[32];
        path_set(c, "window.slide");
        assay_format_duration(cfg->window.slide_us, a, sizeof(a));
        assay_format_duration(cfg->window.size_us, b, sizeof(b));
        return errat(c, tree_at(root, "window", "slide"),
                     "window.size (%s) must be a multiple of the slide (%s): windows are merged "
                     "from panes of one slide",
                     b, a);
    }
    if (cfg->window.size_us / cfg->window.slide_us > 1000) {
        path_set(c, "window.slide");
        return errat(c, tree_at(root, "window", "slide"),
                     "window.size is %lld slides; at most 1000 windows may overlap",
                     (long long)(cfg->window.size_us / cfg->window.slide_us));
    }
    if (cfg->window.lateness_us < 0) {
        path_set(c, "window.lateness");
        return errat(c, tree_at(root, "window", "lateness"), "must not be negative");
    }
    if (cfg->window.idle_us < 0) {
        path_set(c, "window.idle");
        return errat(c, tree_at(root, "window", "idle"), "must not be negative");
    }
    if (cfg->source.follow && (!cfg->source.file || strcmp(cfg->source.file, "-") == 0)) {
        path_set(c, "source.follow");
        return errat(c, tree_at(root, "source", "follow"),
                     "follow needs source.file naming a file (stdin is read until it ends "
                     "anyway)");
    }
    const yt_node *et = yt_map_get(root, "event_time");
    if (et)
        cfg->event_time_pos = (assay_config_pos){ et->line, et->col };
    for (size_t i = 0; i < cfg->nrules; i++) {
        const assay_rule_config *r = &cfg->rules[i];
        if (r->check == ASSAY_CHECK_ROW_COUNT && r->action == ASSAY_ACTION_BLOCK)
            return assay_error_set(c->err, -EINVAL,
                                   "%s:%d:%d: rules[%zu].action: row_count is checked once per "
                                   "window, so it cannot block rows (use alert or log)",
                                   c->file, r->pos.line, r->pos.col, i);
    }
    for (size_t i = 0; i < cfg->sinks.clean.n; i++) {
        const assay_sink_config *s = &cfg->sinks.clean.v[i];
        if (s->kind == ASSAY_SINK_FILE && strcmp(s->format, "json") != 0)
            return assay_error_set(c->err, -EINVAL,
                                   "%s:%d:%d: sinks.clean: clean rows are written as their "
                                   "original bytes; format applies to records",
                                   c->file, s->pos.line, s->pos.col);
    }

    double wsum = 0;
    for (int d = 0; d < ASSAY_DIM_COUNT; d++)
        wsum += cfg->weights[d];
    if (!(wsum > 0)) {
        path_set(c, "scoring.weights");
        return errat(c, tree_at(tree_at(root, "scoring", NULL), "weights", NULL),
                     "at least one weight must be above 0");
    }

    static const char *const lv3[] = { "medium", "high", "critical" };
    const yt_node *al = tree_at(root, "alerts", NULL);
    if ((rc = check_levels(c, yt_map_get(al, "score_drop"), "alerts.score_drop",
                           cfg->alerts.score_drop + 1, 3, lv3)) < 0 ||
        (rc = check_levels(c, yt_map_get(al, "issue_increase"), "alerts.issue_increase",
                           cfg->alerts.issue_increase + 1, 3, lv3)) < 0)
        return rc;
    double psi[2] = { cfg->alerts.drift_psi_medium, cfg->alerts.drift_psi_high };
    if ((rc = check_levels(c, tree_at(yt_map_get(al, "drift"), "psi", NULL), "alerts.drift.psi",
                           psi, 2, lv3)) < 0)
        return rc;
    const yt_node *dcols = tree_at(tree_at(root, "alerts", "drift"), "columns", NULL);
    if (cfg->alerts.ndrift_columns && dcols && dcols->kind == YT_SEQ) {
        free(cfg->alerts.drift_column_pos);
        cfg->alerts.drift_column_pos = calloc(cfg->alerts.ndrift_columns, sizeof(assay_config_pos));
        if (!cfg->alerts.drift_column_pos)
            return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
        for (size_t i = 0; i < cfg->alerts.ndrift_columns && i < dcols->n; i++)
            cfg->alerts.drift_column_pos[i] =
                (assay_config_pos){ dcols->items[i]->line, dcols->items[i]->col };
    }
    static const char *const outs[] = { "scores", "quarantine", "clean" };
    const assay_sink_list *lists[] = { &cfg->sinks.scores, &cfg->sinks.quarantine,
                                       &cfg->sinks.clean };
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < lists[l]->n; i++)
            if (lists[l]->v[i].kind == ASSAY_SINK_ALERTMANAGER)
                return assay_error_set(c->err, -EINVAL,
                                       "%s:%d:%d: sinks.%s: an alertmanager sink takes alerts "
                                       "only (put it under sinks.alerts)",
                                       c->file, lists[l]->v[i].pos.line, lists[l]->v[i].pos.col,
                                       outs[l]);

    /* where each anomaly column was named, for the engine's "no such column" errors */
    const yt_node *acols = tree_at(root, "anomaly", "columns");
    if (cfg->anomaly.ncolumns && acols && acols->kind == YT_SEQ) {
        free(cfg->anomaly.column_pos);
        cfg->anomaly.column_pos = calloc(cfg->anomaly.ncolumns, sizeof(assay_config_pos));
        if (!cfg->anomaly.column_pos)
            return assay_error_set(c->err, -ENOMEM, "%s: out of memory", c->file);
        for (size_t i = 0; i < cfg->anomaly.ncolumns && i < acols->n; i++)
            cfg->anomaly.column_pos[i] =
                (assay_config_pos){ acols->items[i]->line, acols->items[i]->col };
    }
    if (cfg->anomaly.sample > cfg->anomaly.window) {
        path_set(c, "anomaly.sample");
        const yt_node *n = tree_at(root, "anomaly", "sample");
        return errat(c, n ? n : tree_at(root, "anomaly", "window"),
                     "%u is more than anomaly.window (%llu rows kept to sample from)",
                     cfg->anomaly.sample, (unsigned long long)cfg->anomaly.window);
    }

    /* `columns:` entries are type hints for some or all columns (a config may
     * declares only order_id), so names used elsewhere are not checked against them
     * here: the engine checks every column name against the data it reads, where a
     * typo gets a "did you mean" from the real header. */
    path_set(c, "%s", "");
    return 0;
}

/* ---------------------------------------------------------------- load / free */

static char *base_name_no_ext(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    if (len == 0)
        return strdup("default");
    return strndup(b, len);
}

static char *dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static assay_config *config_new(const char *name)
{
    assay_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cfg->path = name ? strdup(name) : NULL;
    cfg->dir = dir_name(name ? name : "");
    if ((name && !cfg->path) || !cfg->dir) {
        assay_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void assay_config_free(assay_config *cfg)
{
    if (!cfg)
        return;
    free_fields(top_keys, cfg);
    free(cfg->http.listen); /* V_CUSTOM: not freed by the table walk */
    free(cfg->anomaly.column_pos);
    free(cfg->path);
    free(cfg->dir);
    for (size_t i = 0; i < cfg->nkafka; i++) {
        free(cfg->kafka_keys[i]);
        free(cfg->kafka_values[i]);
    }
    free(cfg->kafka_keys);
    free(cfg->kafka_values);
    for (size_t i = 0; i < cfg->ncolumns; i++)
        free_fields(column_keys, &cfg->columns[i]);
    free(cfg->columns);
    for (size_t i = 0; i < cfg->nrules; i++)
        free_rule(&cfg->rules[i]);
    free(cfg->rules);
    for (size_t i = 0; i < cfg->ncontracts; i++) {
        assay_contract_config *ct = &cfg->contracts[i];
        free_fields(contract_keys, ct);
        for (size_t k = 0; k < ct->nmax_null; k++)
            free(ct->max_null_columns[k]);
        free(ct->max_null_columns);
        free(ct->max_null_rates);
        for (size_t k = 0; k < ct->nrequire; k++)
            free(ct->require_names[k]);
        free(ct->require_names);
        free(ct->require_types);
    }
    free(cfg->alerts.drift_column_pos);
    free(cfg->contracts);
    free_sink_list(&cfg->sinks.scores);
    free_sink_list(&cfg->sinks.alerts);
    free_sink_list(&cfg->sinks.quarantine);
    free_sink_list(&cfg->sinks.clean);
    free(cfg);
}

int assay_config_default(assay_config **out)
{
    *out = NULL;
    assay_config *cfg = config_new(NULL);
    if (!cfg)
        return -ENOMEM;
    ctx c = { .file = "<default>", .cfg = cfg, .check = -1 };
    c.cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c.cloc) {
        assay_config_free(cfg);
        return -ENOMEM;
    }
    apply_defaults(&c, top_keys, cfg);
    freelocale(c.cloc);
    cfg->window.slide_us = cfg->window.size_us;
    cfg->asset = strdup("default");
    if (!cfg->asset) {
        assay_config_free(cfg);
        return -ENOMEM;
    }
    *out = cfg;
    return 0;
}

static int config_parse(const char *text, size_t len, const char *name, bool parse_later,
                        assay_config **out, assay_error *err)
{
    *out = NULL;
    const char *file = name ? name : "<config>";
    assay_config *cfg = config_new(name);
    if (!cfg)
        return assay_error_set(err, -ENOMEM, "%s: out of memory", file);
    ctx c = { .file = file, .cfg = cfg, .err = err, .check = -1, .parse_later = parse_later };
    yt_node *root = NULL;
    int rc;
    c.cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c.cloc) {
        rc = assay_error_set(err, -ENOMEM, "%s: out of memory", file);
        goto fail;
    }
    apply_defaults(&c, top_keys, cfg);

    rc = yt_load(text ? text : "", text ? len : 0, file, &root, err);
    if (rc < 0)
        goto fail;
    c.root = root;
    if (!root || yt_is_null(root)) {
        rc = assay_error_set(err, -EINVAL,
                             "%s:1:1: the config is empty; expected a mapping with keys such as "
                             "asset, source and rules",
                             file);
        goto fail;
    }
    if (root->kind != YT_MAP) {
        rc = errat(&c, root,
                   "expected a mapping at the top level (keys such as asset, source, rules), "
                   "found %s",
                   yt_kind_phrase(root));
        goto fail;
    }
    if ((rc = parse_map(&c, top_keys, NULL, root, cfg, NULL)) < 0)
        goto fail;
    if ((rc = validate(&c)) < 0)
        goto fail;
    if (!cfg->asset && !(cfg->asset = base_name_no_ext(name ? name : "default"))) {
        rc = assay_error_set(err, -ENOMEM, "%s: out of memory", file);
        goto fail;
    }
    if (cfg->source.kafka_topic && !cfg->source.kafka_group) {
        size_t n = strlen(cfg->asset) + 7;
        cfg->source.kafka_group = malloc(n);
        if (!cfg->source.kafka_group) {
            rc = assay_error_set(err, -ENOMEM, "%s: out of memory", file);
            goto fail;
        }
        snprintf(cfg->source.kafka_group, n, "assay-%s", cfg->asset);
    }
    yt_free(root);
    freelocale(c.cloc);
    *out = cfg;
    return 0;

fail:
    if (rc == -ENOMEM && err && err->code != -ENOMEM)
        assay_error_set(err, -ENOMEM, "%s: out of memory", file);
    yt_free(root);
    if (c.cloc)
        freelocale(c.cloc);
    assay_config_free(cfg);
    return rc;
}

int assay_config_parse(const char *text, size_t len, const char *name, assay_config **out,
                       assay_error *err)
{
    return config_parse(text, len, name, false, out, err);
}

int assay_config__parse_all(const char *text, size_t len, const char *name, assay_config **out,
                            assay_error *err)
{
    return config_parse(text, len, name, true, out, err);
}

#define CONFIG_MAX_BYTES (16u << 20)

int assay_config_load(const char *path, assay_config **out, assay_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return assay_error_set(err, -e, "%s: cannot open config: %s", path, strerror(e));
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        if (len == cap) {
            if (cap >= CONFIG_MAX_BYTES) {
                rc = assay_error_set(err, -EFBIG, "%s: config is larger than %u MiB", path,
                                     CONFIG_MAX_BYTES >> 20);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                rc = assay_error_set(err, -e, "%s: cannot read config: %s", path, strerror(e));
            }
            break;
        }
    }
    fclose(f);
    if (!buf)
        return assay_error_set(err, -ENOMEM, "%s: out of memory", path);
    if (rc == 0)
        rc = assay_config_parse(buf, len, path, out, err);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------- reference */

static const char *type_doc(const key_def *k, char *buf, size_t cap)
{
    char list[256], range[96];
    switch (k->type) {
    case V_STR:
        return "string";
    case V_PATH:
        return "path";
    case V_BOOL:
        return "bool";
    case V_NUM:
        snprintf(buf, cap, "number%s%s%s", (k->flags & (F_MIN | F_MAX)) ? " (" : "",
                 range_text(k, range, sizeof(range)), (k->flags & (F_MIN | F_MAX)) ? ")" : "");
        return buf;
    case V_UINT:
    case V_U64:
        snprintf(buf, cap, "integer%s%s%s", (k->flags & (F_MIN | F_MAX)) ? " (" : "",
                 range_text(k, range, sizeof(range)), (k->flags & (F_MIN | F_MAX)) ? ")" : "");
        return buf;
    case V_SIZE:
        return "size (64KiB, 1GB)";
    case V_DURATION:
        return (k->flags & F_POSITIVE) ? "duration (> 0)" : "duration";
    case V_CHAR:
        return "character";
    case V_ENUM:
    case V_STRENUM:
        snprintf(buf, cap, "one of: %s", list_names(k->names, k->nnames, list, sizeof(list)));
        return buf;
    case V_STRLIST:
        return "list of strings";
    case V_SECTION:
        return "mapping";
    case V_CUSTOM:
        if (k->doc_type)
            return k->doc_type;
        return (k->flags & F_LIST) ? "list of mappings" : "mapping";
    }
    return "";
}

static const char *checks_doc(uint32_t mask, char *buf, size_t cap)
{
    if (mask == 0)
        return "all";
    if (mask == COLUMN_CHECKS)
        return "all but row_count, expr";
    const char *names[ASSAY_CHECK_COUNT];
    size_t n = 0;
    for (int i = 0; i < ASSAY_CHECK_COUNT; i++)
        if (mask & CHK(i))
            names[n++] = check_names[i];
    return list_names(names, n, buf, cap);
}

static void ref_table(FILE *out, const char *path, const char *title, const key_def *tab,
                      const key_def **done, size_t *ndone, bool later)
{
    char tbuf[320], cbuf[160];
    bool rules = tab == rule_keys;
    fprintf(out, "\n### %s%s\n\n", title, later ? " (not supported in this build yet)" : "");
    fprintf(out, rules ? "| key | type | default | checks | description |\n|---|---|---|---|---|\n"
                       : "| key | type | default | description |\n|---|---|---|---|\n");
    for (const key_def *k = tab; k->key; k++) {
        const char *def = k->def ? k->def : k->doc_def ? k->doc_def : "";
        bool code_def = k->def != NULL;
        fprintf(out, "| `%s%s%s` | %s | %s%s%s |", path, path[0] ? "." : "", k->key,
                type_doc(k, tbuf, sizeof(tbuf)), code_def ? "`" : "", def, code_def ? "`" : "");
        if (rules)
            fprintf(out, " %s |", checks_doc(k->checks, cbuf, sizeof(cbuf)));
        fprintf(out, " %s%s%s |\n",
                (k->flags & F_LATER) && !later ? "**Not supported in this build yet** (rejected). "
                                               : "",
                k->desc ? k->desc : "", (k->flags & F_REQUIRED) ? " Required." : "");
    }
    for (const key_def *k = tab; k->key; k++) {
        if (!k->sub)
            continue;
        char sub[160], stitle[200];
        snprintf(sub, sizeof(sub), "%s%s%s%s", path, path[0] ? "." : "", k->key,
                 (k->flags & F_LIST) ? "[]" : "");
        bool seen = false;
        for (size_t i = 0; i < *ndone; i++)
            seen |= done[i] == k->sub;
        if (seen) {
            fprintf(out, "\n`%s` takes the same keys as the section above.\n", sub);
            continue;
        }
        if (*ndone < 32)
            done[(*ndone)++] = k->sub;
        if (k->flags & F_LIST)
            snprintf(stitle, sizeof(stitle), "`%s` (each item of `%s`)", sub, k->key);
        else
            snprintf(stitle, sizeof(stitle), "`%s`", sub);
        ref_table(out, sub, stitle, k->sub, done, ndone, later || (k->flags & F_LATER));
    }
}

void assay_config_reference(FILE *out)
{
    const key_def *done[32];
    size_t ndone = 0;
    char list[256];
    fputs("# assay configuration reference\n\n"
          "Generated from the key tables in `src/config/config.c`, the same tables the loader "
          "uses. A config is YAML (JSON works too). Unknown keys are errors. An empty value "
          "(`key:`, `~`, `null`) means the key is not set. Durations: `500ms`, `60s`, `10m`, "
          "`1h30m`, `1.5s`, `250us`, `2d` (a bare number is seconds). Sizes: bytes, "
          "`KB`/`MB`/`GB` (powers of 1000) or `KiB`/`MiB`/`GiB` (powers of 1024). Relative "
          "paths are relative to the config file's directory.\n",
          out);
    ref_table(out, "", "Top level", top_keys, done, &ndone, false);
    fputs("\n### Checks\n\n| check | default dimension | keys |\n|---|---|---|\n", out);
    for (int i = 0; i < ASSAY_CHECK_COUNT; i++) {
        checks_taking(rule_keys, i, list, sizeof(list));
        fprintf(out, "| `%s` | %s | %s%s |\n", check_names[i], dim_names[check_dims[i]],
                i == ASSAY_CHECK_ROW_COUNT || i == ASSAY_CHECK_EXPR ? "no column; " : "column; ",
                list[0] ? list : "-");
    }
    fprintf(out, "\nRequired per check: in_range, length, row_count need `min` or `max`; in_set "
                 "needs `values`; matches needs exactly one of `pattern` and `format`; "
                 "foreign_key needs `ref`; freshness needs `max_age`; expr needs `expr` (the "
                 "language: docs/expressions.md).\n");
}
