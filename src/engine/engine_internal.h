/*
 * engine_internal.h - state shared by engine.c (setup, dispatch, merge) and shard.c
 * (per-shard batch processing). A shard owns everything it writes; the engine reads
 * shard state only after joining the shard's thread.
 */
#ifndef ASSAY_ENGINE_INTERNAL_H
#define ASSAY_ENGINE_INTERNAL_H

#include <pthread.h>

#include "assay/config.h"
#include "assay/csv.h"
#include "assay/engine.h"
#include "assay/hll.h"
#include "assay/iforest.h"
#include "assay/moments.h"
#include "assay/ndjson.h"
#include "assay/tdigest.h"
#include "assay/topk.h"
#include "assay/reader.h"
#include "assay/regex.h"
#include "core/ring.h"
#include "rules/rules.h"

typedef struct assay_infer_count {
    uint64_t nonnull, as_int, as_float, as_ts, as_bool;
    uint64_t id_like; /* digit strings with a leading '+' or '0': phone numbers, zip codes */
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

/* Row position: chunk sequence number in the high 32 bits, row ordinal in the chunk
 * in the low 32. Sorting positions sorts rows in input order, whatever shard saw them. */
#define POS(seq, ord) (((uint64_t)(seq) << 32) | (uint32_t)(ord))
#define POS_SEQ(p)    ((uint32_t)((p) >> 32))
#define POS_ORD(p)    ((uint32_t)(p))

/* One chunk's order-sensitive sketches of one column, handed back with the chunk:
 * the reading thread folds them into the run's sketches as chunks return, which is
 * chunk order: the result is the same for any number of shards. */
typedef struct chunk_sketch {
    uint64_t seq;
    uint32_t col;
    assay_moments mom;
    uint8_t *td; /* serialized t-digest, or NULL */
    size_t td_len;
    uint8_t *topk; /* serialized top-k, or NULL */
    size_t topk_len;
} chunk_sketch;

typedef struct chunk_msg {
    assay_chunk chunk;
    size_t start;          /* parse from here (after a CSV header) */
    uint32_t header_lines; /* '\n' bytes before start */
    bool stop;             /* no more chunks */
    chunk_sketch *cks;     /* filled by the shard at the chunk's end (profile) */
    uint32_t ncks;
    double *scores; /* anomaly score per row ordinal (NaN: none), for --row-scores */
    uint32_t nscores;
} chunk_msg;

typedef struct chunk_stat {
    uint64_t seq;
    uint32_t file;
    uint32_t rows;               /* data rows (ordinals), bad ones included */
    uint64_t lines;              /* '\n' bytes in the chunk, header included */
    uint64_t offset, len, start; /* to re-read a row for a sample */
} chunk_stat;

typedef struct pos_sample {
    uint64_t pos;
    char *value; /* NULL = null value */
    bool fetch;  /* value must be re-read from the input (cross-shard duplicate) */
} pos_sample;

typedef struct rule_acc {
    uint64_t evaluated, failed;
    pos_sample *samples; /* the first `limits.samples` failures this shard saw */
    size_t nsamples;
} rule_acc;

typedef struct bad_acc {
    uint64_t pos;
    uint32_t file;
    uint64_t line_in_chunk; /* '\n' bytes before the row in its chunk */
    char reason[160];
    char *text;
} bad_acc;

typedef struct assay_engine assay_engine;

/* One column's profile in one shard (src/engine/profile.c). */
typedef struct col_profile {
    assay_hll *hll;
    assay_tdigest *td; /* numeric columns */
    assay_moments mom; /* numeric columns */
    assay_topk *topk;  /* string and bool columns */
    char *smin, *smax; /* strings: bytewise smallest / largest value */
    uint32_t smin_len, smax_len;
    bool has_s;
    uint64_t len_min, len_max, len_sum, len_n;
    bool touched; /* td/mom/topk saw a value in the current chunk */
} col_profile;

/* One of a shard's highest-scoring rows (anomaly evidence). */
typedef struct an_sample {
    uint64_t pos;
    double score;
    double *values; /* the row's features as fed to the forest (NaN = missing) */
} an_sample;

typedef struct assay_shard {
    assay_engine *e;
    unsigned id;
    pthread_t thread;
    assay_ring in, out;

    /* batch memory, sized for batch_rows */
    assay_rowset rs;
    uint64_t *ok, *fail, *eval, *pos;
    uint64_t **null, **invalid; /* per column (wanted ones) */
    int64_t **i64;
    double **f64;
    const char ***str;
    uint32_t **len;
    uint64_t ***match;
    assay_regex_scratch **rx;
    char *scratch;
    size_t scratch_cap, scratch_len;
    bool any_text; /* some column needs text views (and so a UTF-8 check) */

    /* accumulated results */
    assay_rule_state *rst;
    rule_acc *acc;
    uint64_t *col_count, *col_nulls, *col_invalid;
    chunk_stat *stats;
    size_t nstats, stats_cap;
    bad_acc bad[ASSAY_BAD_SAMPLES];
    size_t nbad_kept;
    uint64_t nbad;
    int error;

    double stage[ASSAY_STAGE_COUNT]; /* seconds, see assay_stage */

    /* profile (when the engine profiles) */
    col_profile *prof;
    uint64_t *hbuf;         /* batch scratch: value hashes */
    uint64_t *pbuf;         /* batch scratch: row positions */
    int8_t *res;            /* batch scratch: hash-set insert results */
    double *dbuf;           /* batch scratch: numeric values */
    assay_hashset *rowdups; /* duplicate rows: hash of the row's bytes -> position */
    bool rowdups_capped;
    uint64_t rowdup_repeats;

    /* anomaly detection (src/engine/anomaly.c), when anomaly.columns is set */
    assay_iforest *an_forest;
    double *an_x;      /* batch scratch: features, row-major */
    double *an_score;  /* batch scratch: scores */
    uint64_t *an_flag; /* batch scratch: above the threshold */
    uint32_t *an_row;  /* batch scratch: batch index of each fed row */
    an_sample *an_top; /* highest scores seen (limits.samples) */
    double *an_vals;   /* their values */
    size_t an_ntop;
    double an_top_min; /* smallest score in a full an_top; -inf before */
    uint64_t an_scored, an_not_ready, an_flagged;
    double *an_chunk; /* this chunk's scores by row ordinal (--row-scores) */
    size_t an_chunk_n, an_chunk_cap;
} assay_shard;

struct assay_engine {
    const assay_engine_options *opt;
    const assay_config *cfg;
    const char *const *paths;
    size_t npaths;
    assay_format format;
    assay_csv_options csv;
    assay_ndjson_options nj;
    assay_ndjson_schema *njs;
    assay_schema sch;
    assay_rule *rules;
    size_t nrules;
    unsigned nshards;
    assay_shard *shards;
    uint32_t batch_rows;
    size_t max_samples;
    bool profile; /* profile every column */
    /* the run's order-sensitive profile sketches, per column, fed in chunk order by
     * the reading thread (assay_profile_absorb) */
    assay_moments *acc_mom;
    assay_tdigest **acc_td;
    assay_topk **acc_topk;
    bool duplicate_rows;  /* count repeated rows */
    unsigned hll_p;       /* HyperLogLog precision of the profile */
    double avg_row_bytes; /* from the inference sample; 0 when unknown */
    uint64_t est_rows;    /* rows expected in the whole input; 0 when unknown */
    /* anomaly detection: feature columns, forest options, the --row-scores file */
    uint32_t *an_cols;
    size_t an_d; /* 0: off */
    assay_iforest_options an_opt;
    FILE *row_scores;
    uint64_t an_rows_written;
};

/* schema.c: free a schema; fill the types of undeclared columns (and the inference
 * counters and value samples) from the first rows of buf, parsed from start. */
void assay_schema_free(assay_schema *s);
int assay_schema_infer(assay_engine *e, const char *buf, size_t len, size_t start,
                       assay_error *err);

/* suggest.c: one database of every named format; the format most of vals fit, and
 * the share that fit it. */
int assay_formats_compile(assay_regex_db **db);
const char *assay_best_format(const assay_regex_db *db, char **vals, uint32_t n, double *share);

/* profile.c */
int assay_profile_shard_init(assay_engine *e, assay_shard *s);
void assay_profile_shard_free(assay_engine *e, assay_shard *s);
int assay_profile_batch(assay_shard *s, const chunk_msg *m, uint32_t n);
int assay_profile_chunk_end(assay_shard *s, chunk_msg *m);
int assay_profile_engine_init(assay_engine *e);
void assay_profile_engine_free(assay_engine *e);
/* Fold a returned chunk's sketches into the run's (reading thread, chunk order). */
int assay_profile_absorb(assay_engine *e, chunk_msg *m);
int assay_profile_merge(assay_engine *e, assay_result *res, assay_error *err);
void assay_column_result_free(assay_column_result *c);
/* Repeats no single shard saw, over per-shard sets of hash -> first position (see
 * engine.c); candidates for samples go to on_both. */
typedef void (*assay_repeat_fn)(void *ctx, uint64_t key, uint64_t earlier, uint64_t later);
uint64_t assay_cross_shard_repeats(assay_hashset *const *sets, unsigned n, assay_repeat_fn fn,
                                   void *ctx);

/* anomaly.c */
int assay_anomaly_engine_init(assay_engine *e, assay_error *err);
void assay_anomaly_engine_free(assay_engine *e);
int assay_anomaly_shard_init(assay_engine *e, assay_shard *s);
void assay_anomaly_shard_free(assay_shard *s);
/* Score the batch's rows (only when anomaly.columns is set). */
int assay_anomaly_batch(assay_shard *s, uint32_t n);
/* rows: ordinals in the chunk; hands the chunk's scores over to m */
int assay_anomaly_chunk_end(assay_shard *s, chunk_msg *m, uint32_t rows);
/* Write a returned chunk's --row-scores lines (reading thread, chunk order). */
int assay_anomaly_absorb(assay_engine *e, chunk_msg *m);
int assay_anomaly_merge(assay_engine *e, assay_result *res, const uint64_t *rows_before,
                        assay_error *err);
void assay_anomaly_result_free(assay_anomaly_result *a);

/* engine.c: column lookup by name (-1 when absent), and the error naming a missing
 * column with the config position, a did-you-mean and the columns there are. */
int assay_engine_find_column(const assay_engine *e, const char *name);
int assay_engine_no_such_column(const assay_engine *e, const char *what, const char *name,
                                assay_config_pos pos, assay_error *err);

int assay_shard_init(assay_engine *e, assay_shard *s, unsigned id);
void assay_shard_free(assay_shard *s);
void *assay_shard_main(void *arg);
/* Process one chunk (exposed so the engine can also run inline). */
int assay_shard_process(assay_shard *s, chunk_msg *m);
/* Parse rows of a chunk; shared by shards, inference and sample re-reads. */
int assay_engine_parse(const assay_engine *e, assay_cursor *cur, assay_rowset *rs);
/* A sample value as reports keep it: a NUL-terminated copy of at most
 * ASSAY_SAMPLE_VALUE_MAX bytes, "..." appended when cut; NULL when out of memory. */
char *assay_sample_copy(const char *p, uint32_t len);
/* Text of a cell (unescaped into buf when needed; buf has cell.len bytes). */
void assay_cell_text(const assay_engine *e, const char *base, assay_cell cell, uint8_t flags,
                     char *buf, const char **p, uint32_t *len);

#endif
