/*
 * rules.h - compiled rules and their batch kernels.
 *
 * A rule sees one column of a batch as a view (null bitmap, typed vector, or value
 * text) and fills two bitmaps over the batch's rows: `eval` (the rows it checked) and
 * `fail` (the rows that failed it). Counts are popcounts; the samples and the
 * verdict of a row come from the bitmaps.
 *
 * What each check evaluates (documented in README "Rules"):
 *   not_null    every row                      fails on null
 *   type        non-null values                fails when the text is not of the type
 *   in_range    non-null values of the type    fails outside [min, max]
 *   in_set      non-null values (as text)      fails when not one of `values`
 *   matches     non-null values (as text)      fails when the pattern does not match
 *   unique      non-null values (as text)      fails on every repeat of an earlier value
 *                                              in the window (decided by the aggregator)
 *   foreign_key non-null values (as text)      fails when absent from the reference
 *   freshness   non-null timestamps            fails when older than now - max_age
 *   length      non-null values (code points)  fails outside [min, max]
 *   row_count   table level, once per window   fails when rows outside [min, max]
 *   expr        rows where the expression over fails when it is false (docs/expressions.md;
 *               several columns is not null    src/rules/expr_*.c); a null result is
 *                                              `unevaluated`, counted apart
 * So a null is only ever a completeness failure, and a value that is not of the
 * column's type only a `type` failure.
 */
#ifndef ASSAY_RULES_H
#define ASSAY_RULES_H

#include "assay/config.h"
#include "assay/hashset.h"

typedef struct assay_col_view {
    uint32_t n;
    assay_type type;
    const uint64_t *null;    /* bit set = null */
    const uint64_t *invalid; /* bit set = non-null but not of the column's type */
    const int64_t *i64;      /* int values; timestamps in microseconds; bools 0/1 */
    const double *f64;       /* float values; also every value of an inferred int column */
    const uint64_t *frac;    /* inferred int column: rows whose value needed a float */
    const char *const *str;  /* value text, unescaped (when some rule needs text) */
    const uint32_t *len;
    uint64_t *const *match; /* match bitmaps, one per pattern of the column's regex db */
    /* optional: a buffer that holds most values of str (the input chunk); a value in it
     * with 16 bytes of the buffer from its start may be read as two whole words */
    const char *text_lo, *text_hi;
} assay_col_view;

#define ASSAY_SMALL_SET_MAX 32 /* in_set values compared directly (each <= 16 bytes) */

typedef struct assay_rule {
    const assay_rule_config *cfg;
    int col;         /* schema column; -1 for table-level rules */
    assay_type type; /* the column's type */
    int regex_id;    /* matches: pattern index in the column's database */
    /* in_range, in the column's domain (ints compare as int64, timestamps as us) */
    bool has_lo, has_hi, lo_incl, hi_incl, int_bounds;
    int64_t lo_i, hi_i;
    double lo_f, hi_f;
    /* in_set values / foreign_key reference values; shared read-only by shards */
    assay_hashset *set;
    bool owns_set;
    /* in_set with few short values: exact compare against packed 16-byte words */
    uint32_t nsmall; /* 0 = use the hash set */
    uint8_t small_len[ASSAY_SMALL_SET_MAX];
    uint64_t small_lo[ASSAY_SMALL_SET_MAX], small_hi[ASSAY_SMALL_SET_MAX];
    /* freshness: event time < now - max_age fails */
    int64_t max_age_us;
    /* expr: the compiled plan (col is the first column it reads); set by the engine,
     * which knows the columns */
    struct assay_expr *expr;
} assay_rule;

/* Which inputs a rule needs from its column. */
bool assay_rule_needs_text(const assay_rule *r);
bool assay_rule_needs_typed(const assay_rule *r);

/* Resolve bounds and sets of a rule whose column (index, type) is known. Does not
 * load foreign-key references (the engine does). */
int assay_rule_compile(const assay_rule_config *cfg, int col, assay_type type, assay_rule *out,
                       const char *cfg_path, assay_error *err);
void assay_rule_free(assay_rule *r);

/* Evaluate a column rule over rows set in ok; fail and eval are cleared first. now_us
 * is the clock freshness judges by (read when the batch is judged). `unique` only marks
 * the values it evaluates: whether one repeats an earlier one is decided against the
 * window's key set, in stream order (src/window/aggregator.c), so it fails nothing
 * here. */
void assay_rule_eval(const assay_rule *r, const assay_col_view *v, const uint64_t *ok,
                     int64_t now_us, uint64_t *fail, uint64_t *eval);

#endif
