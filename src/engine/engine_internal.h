/*
 * engine_internal.h - state shared by the pipeline's stages: the job (schema, compiled
 * rules, window spec), the shards that turn chunks into partial window state, the
 * messages that carry chunks there and back, and the partial state itself.
 *
 * Ownership: a chunk message belongs to one thread at a time - the pipeline thread
 * fills it, a shard processes it, the pipeline thread folds it back (aggregator.c) and
 * reuses it. Everything a shard computes travels in the message; shards keep no window
 * state of their own (their only long-lived state is the isolation forests of the
 * partitions they own).
 */
#ifndef ASSAY_ENGINE_INTERNAL_H
#define ASSAY_ENGINE_INTERNAL_H

#include <pthread.h>

#include "assay/config.h"
#include "assay/csv.h"
#include "assay/engine.h"
#include "assay/hashset.h"
#include "assay/hll.h"
#include "assay/iforest.h"
#include "assay/moments.h"
#include "assay/ndjson.h"
#include "assay/reader.h"
#include "assay/regex.h"
#include "assay/tdigest.h"
#include "assay/topk.h"
#include "assay/window.h"
#include "core/ring.h"
#include "rules/rules.h"

/* Virtual partitions of a file: chunk k belongs to partition k mod ASSAY_VPARTS and
 * each partition has its own isolation forest, owned by shard (partition mod N). So
 * what each forest sees does not depend on the number of threads. */
#define ASSAY_VPARTS 16

/* The forest partition of a chunk: a file's chunk k is in k mod ASSAY_VPARTS; a Kafka
 * chunk in its partition's (so one shard owns each partition and its forest). */
static inline unsigned assay_chunk_vpart(const assay_window_spec *w, const assay_chunk *c)
{
    return (unsigned)((w->per_part ? c->file : c->seq) % ASSAY_VPARTS);
}

typedef struct assay_infer_count {
    uint64_t nonnull, as_int, as_float, as_ts, as_bool;
    uint64_t id_like; /* digit strings with a leading '+' or '0': phone numbers, zip codes */
    uint64_t big_int; /* integers beyond int64 (20-digit ids) */
} assay_infer_count;

#define ASSAY_SAMPLE_VALUES 1000 /* values kept per column from the first rows */

typedef struct assay_schema {
    uint32_t ncols;
    char **names;
    assay_type *types;
    bool *inferred;
    uint8_t *want;            /* parse cells of this column */
    uint8_t *need_text;       /* build unescaped text views */
    uint8_t *need_typed;      /* parse typed values */
    assay_regex_db **regex;   /* per column, NULL when no matches rule */
    assay_infer_count *infer; /* what the first rows' values parse as, per column */
    char ***samples;          /* up to ASSAY_SAMPLE_VALUES non-null values per column */
    uint32_t *nsamples;
} assay_schema;

/* Row position inside the pipeline: chunk sequence number in the high 32 bits, row
 * ordinal in the chunk in the low 32 (sorting positions sorts rows in input order).
 * The aggregator turns them into 1-based row numbers as chunks come back. */
#define POS(seq, ord) (((uint64_t)(seq) << 32) | (uint32_t)(ord))
#define POS_SEQ(p)    ((uint32_t)((p) >> 32))
#define POS_ORD(p)    ((uint32_t)(p))

/* ---------------------------------------------------------------------------------
 * Partial window state
 * ------------------------------------------------------------------------------- */

/* A failing row kept as evidence: its position (a POS in a chunk's partial, a 1-based
 * row number once folded), where its bytes start in its input (offset), its priority
 * in the window's reservoir and a copy of its value (NULL = null).
 *
 * The reservoir is bottom-k sampling (Cohen and Kaplan, "Summarizing data using
 * bottom-k sketches", PODC 2007): every failing row gets a priority that is a hash of
 * its bytes (ties, which only identical rows have, go to the earlier row), and a
 * partial keeps the k rows with the smallest priorities. That is a uniform sample
 * without replacement of the failing rows; the k smallest of a union are the k smallest
 * of the parts' k smallest, so the samples merge exactly and are the same for any
 * number of threads, any chunking, the input split into several files, and a resumed
 * run - unlike the first k failures, which show only a window's first seconds. */
typedef struct pos_sample {
    uint64_t pos;
    uint64_t prio;
    uint64_t offset;
    char *value;
} pos_sample;

static inline uint64_t assay_sample_prio(const char *row, size_t len)
{
    return assay_hash_bytes(row, len) | 1; /* never 0: 0 marks "not computed" */
}

/* The profile's sketches per column (src/engine/profile.c); the alert engine's drift
 * baselines are made the same way so that they merge. */
#define ASSAY_PROFILE_TDIGEST_DELTA 300.0
#define ASSAY_PROFILE_TOPK_K        64
#define ASSAY_PROFILE_TOPK_MAXLEN   256

#define ASSAY_IMPACT_HLL_P 12 /* affected users: 4 KiB dense, 1.6 % standard error */

typedef struct part_rule {
    uint64_t evaluated, failed;
    uint64_t unevaluated; /* expr: rows where the expression was null */
    /* impact over the failed rows (config impact:): revenue summed, users' values
     * hashed into a sparse-first HyperLogLog (NULL until the first failure) */
    double revenue;
    assay_hll *users;
    pos_sample *samples; /* a reservoir of `limits.samples` failures (pos_sample) */
    uint32_t nsamples;
    /* freshness rules: the lag of the newest value, min over batches of (the batch's
     * clock - its newest value); INT64_MAX when no value was seen */
    int64_t lag_us;
} part_rule;

/* One column's counts and profile sketches. Sketches are created on first use and
 * reset (not freed) for reuse. In a chunk's partial the distinct-value hashes are
 * buffered first (hb) and only a column with many values gets a dense HyperLogLog:
 * a chunk's sketch would otherwise spend its first 16k values in the sparse form,
 * which costs 20x a dense update. */
#define PART_HB_MAX 1024

typedef struct col_profile {
    uint64_t count, nulls, invalid; /* rows seen, nulls, non-null values not of the type */
    assay_hll *hll;
    uint64_t *hb; /* buffered hashes (chunk partials), grown as needed up to PART_HB_MAX */
    uint32_t hn, hb_cap;
    bool chunk;    /* a chunk's partial (buffers hashes, dense HLL) rather than an accumulator */
    bool hll_used; /* hll holds values (else only hb does) */
    assay_tdigest *td; /* numeric columns */
    assay_moments mom; /* numeric columns */
    assay_topk *topk;  /* string and bool columns */
    char *smin, *smax; /* strings: bytewise smallest / largest value */
    uint32_t smin_len, smax_len, smin_cap, smax_cap;
    bool has_s;
    uint64_t len_min, len_max, len_sum, len_n;
    /* numeric columns: values of an inferred int column that needed a float (the
     * column widens to float), non-finite values kept out of moments and digest, and
     * the exact extremes of the int values (doubles round above 2^53) */
    uint64_t widened, n_nan, n_pinf, n_ninf;
    /* values that are common spellings of "no value" (NA, N/A, null, -, ...) while
     * source.null_values does not list them; the first one seen, as an example */
    uint64_t n_nulltok;
    char nulltok[8];
    int64_t imin, imax;
    bool has_i;
} col_profile;

/* One of the highest-scoring rows (anomaly evidence). */
typedef struct an_sample {
    uint64_t pos; /* as pos_sample.pos */
    double score;
    double *values; /* the row's features as fed to the forest (NaN = missing) */
} an_sample;

typedef struct an_part {
    uint64_t scored, not_ready, judged, flagged;
    an_sample *top; /* highest scores (limits.samples), unordered */
    double *vals;   /* their values, d per sample */
    size_t ntop;
    double top_min; /* smallest score in a full `top`; -inf before */
    /* the flag threshold each partition's forest had at its last row here, and the
     * chunk (seq + 1) that row came from: the latest one wins when merging */
    double thr[ASSAY_VPARTS];
    uint64_t thr_seq[ASSAY_VPARTS];
    uint32_t *hist; /* [ASSAY_AN_BINS] judged rows' scores by bin */
} an_part;

static inline uint32_t assay_an_bin(double score)
{
    uint32_t b = score <= 0 ? 0 : (uint32_t)(score * ASSAY_AN_BINS);
    return b < ASSAY_AN_BINS ? b : ASSAY_AN_BINS - 1;
}

/* The state of some rows of one sub-pane (see src/window/window.c): a chunk's rows of
 * (pane, first) in a chunk partial, or everything folded so far in an accumulator. */
typedef struct assay_partial {
    int64_t pane, first; /* key: pane, first window the rows count in */
    uint64_t rows;       /* rows (good and on time so far as the chunk can tell) */
    part_rule *rules;    /* [nrules] */
    col_profile *cols;   /* [ncols] */
    an_part an;
    /* keys outside the schema: rows per name, the first ASSAY_NEW_COLUMNS names (in
     * merge order), and rows with a name past them */
    assay_new_column newcols[ASSAY_NEW_COLUMNS];
    uint32_t nnewcols;
    uint64_t newcols_other;
    bool folded;    /* accumulator: samples hold row numbers */
    int64_t lag_us; /* event-time lag of the newest row, as part_rule.lag_us */
} assay_partial;

typedef struct assay_engine assay_engine;

/* src/window/partial.c */
int assay_partial_init(const assay_engine *e, assay_partial *p, bool chunk);
void assay_partial_reset(const assay_engine *e, assay_partial *p, int64_t pane, int64_t first);
void assay_partial_free(const assay_engine *e, assay_partial *p);
/* A partial on the heap, initialised (NULL when out of memory), and its release (NULL
 * is fine). */
assay_partial *assay_partial_new(const assay_engine *e, bool chunk);
void assay_partial_delete(const assay_engine *e, assay_partial *p);
/* dst += src. row_base: rows before src's chunk (src is a chunk partial; its positions
 * become row numbers), or UINT64_MAX when src is an accumulator already. */
int assay_partial_merge(const assay_engine *e, assay_partial *dst, const assay_partial *src,
                        uint64_t row_base);
/* Count `rows` rows with the key name[0..len) outside the schema. */
int assay_partial_new_column(assay_partial *p, const char *name, size_t len, uint64_t rows);
/* Whether a failure of priority prio would enter a reservoir of n (of at most max). */
static inline bool assay_samples_wants(const pos_sample *s, uint32_t n, size_t max, uint64_t prio)
{
    return n < max || (n > 0 && prio < s[n - 1].prio);
}
/* Keep x (its value: v, len, is_null; copied) in a reservoir of at most max, sorted by
 * priority. */
int assay_samples_keep(pos_sample *s, uint32_t *n, size_t max, const pos_sample *x, const char *v,
                       uint32_t len, bool is_null);

/* ---------------------------------------------------------------------------------
 * Chunk messages
 * ------------------------------------------------------------------------------- */

/* A value of a `unique` rule (or a whole row, for duplicate_rows) on its way to the
 * aggregator, which checks it against the window's key set in stream order. */
typedef struct ukey {
    uint64_t hash;
    uint32_t off, len; /* the value: bytes in the chunk, or in the arena when in_arena */
    uint32_t ord;      /* row ordinal in the chunk */
    uint32_t part;     /* index of the row's partial in the message */
    bool in_arena;
} ukey;

typedef struct ukey_list {
    ukey *k;
    uint32_t n, cap;
} ukey_list;

/* Rows the chunk alone shows are late, and bad rows, by the chunk-local frontier
 * before them (ASSAY_TIME_NONE: no event time seen yet in the chunk). */
typedef struct bucket {
    int64_t frontier;
    uint64_t late, bad;
} bucket;

typedef struct bad_acc {
    uint32_t ord;
    uint64_t line_in_chunk; /* '\n' bytes before the row in its chunk */
    char reason[160];
    char *text;
} bad_acc;

/* A row's route: clean rows are runs of input bytes; quarantined rows carry reasons. */
typedef struct clean_run {
    uint32_t off, len; /* bytes in the chunk, line terminators included */
    uint32_t ord;      /* first row */
    uint32_t nrows;
    bool add_newline; /* the chunk's last row had no terminator */
} clean_run;

typedef struct qrow {
    uint32_t ord, off, len;
    uint64_t line_in_chunk;
    uint32_t rules;    /* offset of "\0"-separated rule names in the arena */
    uint32_t nrules;   /* names there */
    uint32_t reasons;  /* offset of "\0"-separated reasons in the arena */
    uint32_t nreasons; /* reasons there (one per rule name) */
} qrow;

typedef struct arena {
    char *p;
    size_t len, cap;
} arena;

typedef struct chunk_msg {
    assay_chunk chunk;
    size_t start;          /* parse from here (after a CSV header) */
    uint32_t header_lines; /* '\n' bytes before start */
    bool stop;             /* control: the shard exits */
    bool drain;            /* control: the shard reports its forests into `forests` */

    /* results, filled by the shard */
    int error;
    uint32_t rows;     /* row ordinals (good and bad rows) */
    uint64_t lines;    /* '\n' bytes in the chunk, header included */
    int64_t max_event; /* largest usable event time (ASSAY_TIME_NONE when none) */
    assay_partial **parts;
    uint32_t nparts, parts_cap;
    bucket *buckets;
    uint32_t nbuckets, buckets_cap;
    uint64_t nbad;
    bad_acc bad[ASSAY_BAD_SAMPLES];
    uint32_t nbad_kept;
    ukey_list *ukeys;   /* [nrules]: values of unique rules, in row order */
    ukey_list rowkeys;  /* whole rows (duplicate_rows) */
    ukey_list *colkeys; /* [ncols] value hashes per column (exact_keys) */
    clean_run *clean;
    uint32_t nclean, clean_cap;
    qrow *quar;
    uint32_t nquar, quar_cap;
    arena text;     /* unescaped unique values, quarantine reasons */
    double *scores; /* anomaly score per row ordinal (NaN: none), for --row-scores */
    uint32_t nscores, scores_cap;
} chunk_msg;

/* ---------------------------------------------------------------------------------
 * Shards
 * ------------------------------------------------------------------------------- */

typedef struct assay_shard {
    assay_engine *e;
    unsigned id;
    pthread_t thread;
    assay_ring in, out;

    /* batch memory, sized for batch_rows */
    assay_rowset rs;
    uint64_t *ok, *fail, *eval, *pos, *mask, *blocked;
    uint64_t **null, **invalid; /* per column (wanted ones) */
    uint64_t **frac;            /* per inferred int column: values that needed a float (widened) */
    int64_t **i64;
    double **f64;
    const char ***str;
    uint32_t **len;
    uint64_t ***match;
    assay_regex_scratch **rx;
    char *scratch;
    size_t scratch_cap, scratch_len;
    bool any_text;    /* some column needs text views (and so a UTF-8 check) */
    uint32_t *pidx;   /* partial index per batch row; UINT32_MAX: none (late or bad) */
    uint64_t *prio;   /* sample priority per batch row (assay_sample_prio), 0: not yet */
    uint64_t **masks; /* per partial touched by the batch: its rows */
    uint32_t *mpart;  /* ... and which partial each mask is for */
    uint32_t nmasks, masks_cap;
    uint64_t **bfail; /* fail bitmaps of block rules, [nrules] (NULL when not block) */
    struct assay_expr_scratch **xs; /* expr rules' registers, [nrules] (NULL for others) */
    assay_col_view *xviews;         /* views of an expr rule's columns, [ncols] */
    /* chunk-local watermark: the largest event time seen so far in the chunk */
    int64_t max_in;
    uint64_t line_off, line_n; /* '\n' counting cursor: line_n newlines before line_off */

    double stage[ASSAY_STAGE_COUNT]; /* seconds, see assay_stage */
    uint64_t comment_lines;          /* skipped by the parser (source.comment) */

    /* profile scratch */
    uint64_t *hbuf;         /* value hashes */
    double *dbuf;           /* numeric values */
    struct topk_block *tkb; /* exact value counts of one column's batch (profile.c) */

    /* anomaly detection (src/engine/anomaly.c): forests of the partitions it owns */
    assay_iforest *forests[ASSAY_VPARTS];
    double *an_x;      /* batch scratch: features, row-major */
    double *an_score;  /* batch scratch: scores */
    uint64_t *an_flag; /* batch scratch: above the threshold */
    uint32_t *an_row;  /* batch scratch: batch index of each fed row */
} assay_shard;

/* ---------------------------------------------------------------------------------
 * The job
 * ------------------------------------------------------------------------------- */

struct assay_engine {
    const assay_engine_options *opt;
    const assay_config *cfg;
    const char *const *paths;
    size_t npaths;
    assay_format format;
    assay_csv_options csv;
    assay_ndjson_options nj;
    assay_ndjson_schema *njs;
    uint64_t header_comments; /* comment lines before CSV headers (the shards count the rest) */
    char delim_hint[160];     /* CSV header of one field that holds another likely delimiter:
                               * the advice, for errors about missing columns; "" none */
    assay_schema sch;
    assay_rule *rules;
    size_t nrules;
    assay_rule_config *probes; /* engine-made expr rules after the config's (exact_keys) */
    size_t nprobes;
    unsigned nshards;
    assay_shard *shards;
    uint32_t batch_rows;
    size_t chunk_bytes; /* the source's read size (chunks are cut from it) */
    size_t max_samples;
    bool profile;         /* profile every column */
    bool messages;        /* rows are messages (Kafka): chunks carry each row's meta */
    bool duplicate_rows;  /* count repeated rows (global window only) */
    bool exact_keys;      /* count repeated values per column (global window only) */
    unsigned hll_p;       /* HyperLogLog precision of the profile */
    double avg_row_bytes; /* from the inference sample; 0 when unknown */
    uint64_t est_rows;    /* rows expected in the whole input (global window); 0 unknown */
    assay_window_spec win;
    int event_col;     /* column of event_time, -1 for arrival time */
    int lag_col;       /* column the event-time lag is read from (check: event_time), or -1 */
    int imp_rev_col;   /* impact.revenue_column, -1 when not set */
    int imp_user_col;  /* impact.user_column, -1 when not set */
    int64_t now_us;    /* fixed clock (--now), or INT64_MIN: wall clock when judged */
    bool route;        /* clean / quarantine outputs wanted: routes are computed */
    bool any_block;    /* some column rule has action block */
    bool unique_block; /* some unique rule has action block */
    /* anomaly detection: feature columns, forest options, the --row-scores file */
    uint32_t *an_cols;
    size_t an_d; /* 0: off */
    assay_iforest_options an_opt;
    bool row_scores;
};

/* setup.c: the job from the config and the first chunk */
assay_format assay_engine_detect_format(const assay_engine_options *o, const char *first);
/* Row boundary finders for the reader (ctx: the engine's assay_csv_options). */
size_t assay_engine_csv_row_end(void *ctx, const char *buf, size_t len);
size_t assay_engine_ndjson_row_end(void *ctx, const char *buf, size_t len);
void assay_engine_parser_options(assay_engine *e);
int assay_engine_schema(assay_engine *e, const assay_chunk *first, const char *name, size_t *start,
                        assay_error *err);
int assay_engine_check_header(assay_engine *e, const assay_chunk *ch, const char *name,
                              const char *first_name, size_t *start, uint32_t *header_lines,
                              assay_error *err);
int assay_engine_compile(assay_engine *e, assay_error *err);
void assay_engine_free(assay_engine *e);
int assay_engine_find_column(const assay_engine *e, const char *name);
int assay_engine_no_such_column(const assay_engine *e, const char *what, const char *name,
                                assay_config_pos pos, assay_error *err);
uint32_t assay_count_newlines(const char *p, size_t n);

/* rules/reference.c: the reference set of a foreign_key rule */
int assay_rule_load_reference(const assay_engine *e, assay_rule *r, assay_error *err);

/* schema.c */
void assay_schema_free(assay_schema *s);
int assay_schema_infer(assay_engine *e, const char *buf, size_t len, size_t start,
                       assay_error *err);

/* suggest.c: one database of every named format; the format most of vals fit, and
 * the share that fit it. */
int assay_formats_compile(assay_regex_db **db);
const char *assay_best_format(const assay_regex_db *db, char **vals, uint32_t n, double *share);

/* profile.c: column sketches of partials */
bool assay_profile_numeric(assay_type t);
void assay_col_profile_reset(col_profile *p);
void assay_col_profile_free(col_profile *p);
int assay_col_profile_merge(const assay_engine *e, uint32_t c, col_profile *dst,
                            const col_profile *src);
int assay_profile_shard_init(assay_engine *e, assay_shard *s);
void assay_profile_shard_free(assay_shard *s);
/* Feed the rows of mask (a subset of the batch's ok rows) to partial p. */
int assay_profile_batch(assay_shard *s, assay_partial *p, const uint64_t *mask, uint32_t n);
/* The hash the profile gives row i's (non-null) value of column c: typed bits for a
 * valid number (12 and 12.0 alike), the text otherwise. */
uint64_t assay_profile_value_hash(const assay_shard *s, uint32_t c, size_t i);
/* Result fields of column c from an accumulator. */
int assay_profile_result(const assay_engine *e, uint32_t c, col_profile *p, assay_column_result *cr,
                         const assay_regex_db *formats);
void assay_column_result_free(assay_column_result *c);

/* anomaly.c */
int assay_anomaly_engine_init(assay_engine *e, assay_error *err);
void assay_anomaly_engine_free(assay_engine *e);
int assay_anomaly_shard_init(assay_engine *e, assay_shard *s);
void assay_anomaly_shard_free(assay_shard *s);
/* Score the batch's ok rows with the forest of the chunk's partition, into the rows'
 * partials (pidx) and the message's row scores. */
int assay_anomaly_batch(assay_shard *s, chunk_msg *m, uint32_t n);
void assay_anomaly_part_reset(an_part *a);
int assay_anomaly_part_init(const assay_engine *e, an_part *a);
void assay_anomaly_part_free(an_part *a);
void assay_anomaly_part_merge(const assay_engine *e, an_part *dst, const an_part *src,
                              uint64_t row_base);
int assay_anomaly_fill_result(const assay_engine *e, const an_part *a, assay_anomaly_result *out,
                              assay_error *err);
void assay_anomaly_result_free(assay_anomaly_result *a);
/* "0.123456": a score with six decimals, 8 bytes, no NUL. */
size_t assay_put_score(char *p, double v);
/* The forest of partition v (owned by shard v mod N); NULL when off. */
assay_iforest *assay_anomaly_forest(const assay_engine *e, unsigned v);

/* shard.c */
int assay_shard_init(assay_engine *e, assay_shard *s, unsigned id);
void assay_shard_free(assay_shard *s);
void *assay_shard_main(void *arg);
/* Process one chunk into m (exposed so the engine can also run inline). */
int assay_shard_process(assay_shard *s, chunk_msg *m);
/* Parse rows of a chunk; shared by shards, inference and reference loading. */
int assay_engine_parse(const assay_engine *e, assay_cursor *cur, assay_rowset *rs);
/* A sample value as reports keep it: a NUL-terminated copy of at most
 * ASSAY_SAMPLE_VALUE_MAX bytes, "..." appended when cut; NULL when out of memory. */
char *assay_sample_copy(const char *p, uint32_t len);
/* Text of a cell (unescaped into buf when needed; buf has cell.len bytes). */
void assay_cell_text(const assay_engine *e, const char *base, assay_cell cell, uint8_t flags,
                     char *buf, const char **p, uint32_t *len);
void assay_chunk_msg_free(const assay_engine *e, chunk_msg *m);

/* arena.c-style helpers (shard.c) */
int assay_arena_put(arena *a, const void *p, size_t n, uint32_t *off);

#endif
