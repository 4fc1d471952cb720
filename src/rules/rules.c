/*
 * Rule kernels over column batches (see rules.h for what each check evaluates).
 *
 * Every kernel is a straight loop over the batch that builds 64-bit words of the
 * fail/eval bitmaps in registers and stores each word once, so the compiler can
 * vectorise the comparisons (in_range over an int64/double vector, not_null as a
 * copy of the null bitmap). Text rules hash or scan value slices that point into the
 * input chunk; nothing is copied unless a value carried escapes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
#include "assay/expr.h"
#include "assay/number.h"
#include "assay/utf8.h"
#include "rules/rules.h"

bool assay_rule_needs_text(const assay_rule *r)
{
    switch (r->cfg->check) {
    case ASSAY_CHECK_IN_SET:
    case ASSAY_CHECK_MATCHES:
    case ASSAY_CHECK_UNIQUE:
    case ASSAY_CHECK_FOREIGN_KEY:
    case ASSAY_CHECK_LENGTH:
        return true;
    default:
        return false;
    }
}

bool assay_rule_needs_typed(const assay_rule *r)
{
    switch (r->cfg->check) {
    case ASSAY_CHECK_TYPE:
    case ASSAY_CHECK_IN_RANGE:
    case ASSAY_CHECK_FRESHNESS:
        return true;
    default:
        return false;
    }
}

/* Parse a bound written in the config into the column's domain. */
static int parse_bound(const assay_rule *r, const char *text, double num, bool is_lo,
                       const assay_rule_config *cfg, const char *cfg_path, assay_error *err)
{
    const char *which = is_lo ? "min" : "max";
    size_t len = strlen(text);
    int64_t i;
    double f;
    assay_rule *w = (assay_rule *)r;
    switch (r->type) {
    case ASSAY_TYPE_INT:
        if (assay_parse_i64(text, len, &i) == 0) {
            if (is_lo)
                w->lo_i = i;
            else
                w->hi_i = i;
            return 0;
        }
        /* a fractional bound on an int column: compare as doubles */
        w->int_bounds = false;
        if (is_lo)
            w->lo_f = num;
        else
            w->hi_f = num;
        return 0;
    case ASSAY_TYPE_FLOAT:
        if (assay_parse_f64(text, len, &f) != 0)
            f = num;
        if (is_lo)
            w->lo_f = f;
        else
            w->hi_f = f;
        return 0;
    case ASSAY_TYPE_TIMESTAMP:
        if (assay_parse_timestamp(text, len, &i) != 0)
            return assay_error_set(err, -EINVAL,
                                   "%s:%d:%d: rules.%s.%s: '%s' is not a timestamp (column "
                                   "'%s' holds timestamps; write e.g. 2026-01-01T00:00:00Z)",
                                   cfg_path, cfg->pos.line, cfg->pos.col, cfg->name, which, text,
                                   cfg->column);
        if (is_lo)
            w->lo_i = i;
        else
            w->hi_i = i;
        return 0;
    default:
        return assay_error_set(err, -EINVAL,
                               "%s:%d:%d: rules.%s: in_range needs a numeric or timestamp "
                               "column, but '%s' is %s (use length for strings)",
                               cfg_path, cfg->pos.line, cfg->pos.col, cfg->name, cfg->column,
                               assay_type_name(r->type));
    }
}

int assay_rule_compile(const assay_rule_config *cfg, int col, assay_type type, assay_rule *out,
                       const char *cfg_path, assay_error *err)
{
    memset(out, 0, sizeof(*out));
    out->cfg = cfg;
    out->col = col;
    out->type = type;
    out->regex_id = -1;
    int rc;
    switch (cfg->check) {
    case ASSAY_CHECK_IN_RANGE:
        out->int_bounds = (type == ASSAY_TYPE_INT || type == ASSAY_TYPE_TIMESTAMP);
        out->has_lo = cfg->has_min;
        out->has_hi = cfg->has_max;
        out->lo_incl = cfg->min_inclusive;
        out->hi_incl = cfg->max_inclusive;
        if (type != ASSAY_TYPE_INT && type != ASSAY_TYPE_FLOAT && type != ASSAY_TYPE_TIMESTAMP)
            return parse_bound(out, "", 0, true, cfg, cfg_path, err);
        if (cfg->has_min &&
            (rc = parse_bound(out, cfg->min_text, cfg->min, true, cfg, cfg_path, err)) < 0)
            return rc;
        if (cfg->has_max &&
            (rc = parse_bound(out, cfg->max_text, cfg->max, false, cfg, cfg_path, err)) < 0)
            return rc;
        if (type == ASSAY_TYPE_INT) {
            /* doubles too: for a fractional bound (both sides compare as doubles),
             * and for the values of an inferred int column that widened to float */
            if (cfg->has_min)
                out->lo_f = cfg->min;
            if (cfg->has_max)
                out->hi_f = cfg->max;
        }
        return 0;
    case ASSAY_CHECK_IN_SET:
        /* The usual set is a handful of short codes (currencies, statuses): compare
         * those exactly as two 64-bit words plus a length, no hashing. */
        if (cfg->nvalues <= ASSAY_SMALL_SET_MAX) {
            bool fits = true;
            for (size_t i = 0; i < cfg->nvalues; i++)
                fits &= strlen(cfg->values[i]) <= 16;
            if (fits) {
                for (size_t i = 0; i < cfg->nvalues; i++) {
                    char w[16] = { 0 };
                    size_t l = strlen(cfg->values[i]);
                    memcpy(w, cfg->values[i], l);
                    out->small_len[i] = (uint8_t)l;
                    memcpy(&out->small_lo[i], w, 8);
                    memcpy(&out->small_hi[i], w + 8, 8);
                }
                out->nsmall = (uint32_t)cfg->nvalues;
                if (out->nsmall > 0)
                    return 0;
            }
        }
        rc = assay_hashset_new(&out->set, cfg->nvalues * 2 + 16, 0);
        if (rc < 0)
            return assay_error_set(err, rc, "out of memory building in_set for %s", cfg->name);
        out->owns_set = true;
        for (size_t i = 0; i < cfg->nvalues; i++)
            assay_hashset_insert(out->set, assay_hash_bytes(cfg->values[i], strlen(cfg->values[i])),
                                 i, NULL);
        return 0;
    case ASSAY_CHECK_FRESHNESS:
        if (type != ASSAY_TYPE_TIMESTAMP)
            return assay_error_set(err, -EINVAL,
                                   "%s:%d:%d: rules.%s: freshness needs a timestamp column, but "
                                   "'%s' is %s (declare it under columns: with type: timestamp)",
                                   cfg_path, cfg->pos.line, cfg->pos.col, cfg->name, cfg->column,
                                   assay_type_name(type));
        out->max_age_us = cfg->max_age_us;
        return 0;
    default:
        /* type on a string column passes every value: any text is a string */
        return 0;
    }
}

void assay_rule_free(assay_rule *r)
{
    assay_expr_free(r->expr);
    r->expr = NULL;
    if (r->owns_set)
        assay_hashset_free(r->set);
    r->set = NULL;
}

/* ---------------------------------------------------------------------------------
 * Kernels
 * ------------------------------------------------------------------------------- */

/* eval = ok & ~null (& ~invalid when typed) */
static void eval_present(const assay_col_view *v, const uint64_t *ok, bool typed, uint64_t *eval)
{
    size_t words = ASSAY_BITMAP_WORDS(v->n);
    for (size_t w = 0; w < words; w++) {
        uint64_t e = ok[w] & ~v->null[w];
        if (typed)
            e &= ~v->invalid[w];
        eval[w] = e;
    }
}

static inline bool in_range_i(const assay_rule *r, int64_t x)
{
    if (r->has_lo && (r->lo_incl ? x < r->lo_i : x <= r->lo_i))
        return false;
    if (r->has_hi && (r->hi_incl ? x > r->hi_i : x >= r->hi_i))
        return false;
    return true;
}

static inline bool in_range_f(const assay_rule *r, double x)
{
    if (isnan(x))
        return false;
    if (r->has_lo && (r->lo_incl ? x < r->lo_f : x <= r->lo_f))
        return false;
    if (r->has_hi && (r->hi_incl ? x > r->hi_f : x >= r->hi_f))
        return false;
    return true;
}

static void eval_in_range(const assay_rule *r, const assay_col_view *v, uint64_t *fail,
                          const uint64_t *eval)
{
    size_t words = ASSAY_BITMAP_WORDS(v->n);
    for (size_t w = 0; w < words; w++) {
        uint64_t f = 0;
        size_t base = w * 64, end = ASSAY_MIN(base + 64, (size_t)v->n);
        if (v->type == ASSAY_TYPE_FLOAT) {
            for (size_t i = base; i < end; i++)
                f |= (uint64_t)!in_range_f(r, v->f64[i]) << (i - base);
        } else if (r->int_bounds) {
            for (size_t i = base; i < end; i++)
                f |= (uint64_t)!in_range_i(r, v->i64[i]) << (i - base);
        } else {
            for (size_t i = base; i < end; i++)
                f |= (uint64_t)!in_range_f(r, (double)v->i64[i]) << (i - base);
        }
        /* values of an inferred int column that widened to float compare as doubles */
        if (v->frac && v->frac[w]) {
            for (uint64_t b = v->frac[w]; b; b &= b - 1) {
                size_t i = base + (size_t)__builtin_ctzll(b);
                uint64_t bit = 1ull << (i - base);
                f = in_range_f(r, v->f64[i]) ? f & ~bit : f | bit;
            }
        }
        fail[w] = f & eval[w];
    }
}

static void eval_small_set(const assay_rule *r, const assay_col_view *v, uint64_t *fail,
                           const uint64_t *eval)
{
    for (size_t i = assay_bitmap_next(eval, 0, v->n); i < v->n;
         i = assay_bitmap_next(eval, i + 1, v->n)) {
        uint32_t l = v->len[i];
        bool found = false;
        if (l <= 16) {
            char w[16] = { 0 };
            memcpy(w, v->str[i], l);
            uint64_t lo, hi;
            memcpy(&lo, w, 8);
            memcpy(&hi, w + 8, 8);
            for (uint32_t k = 0; k < r->nsmall; k++)
                found |= (r->small_len[k] == l) & (r->small_lo[k] == lo) & (r->small_hi[k] == hi);
        }
        if (!found)
            assay_bit_set(fail, i);
    }
}

static void eval_set(const assay_rule *r, const assay_col_view *v, uint64_t *fail,
                     const uint64_t *eval)
{
    if (r->nsmall) {
        eval_small_set(r, v, fail, eval);
        return;
    }
    for (size_t i = assay_bitmap_next(eval, 0, v->n); i < v->n;
         i = assay_bitmap_next(eval, i + 1, v->n)) {
        uint64_t h = assay_hash_bytes(v->str[i], v->len[i]);
        if (!assay_hashset_contains(r->set, h))
            assay_bit_set(fail, i);
    }
}

static void eval_length(const assay_rule *r, const assay_col_view *v, uint64_t *fail,
                        const uint64_t *eval)
{
    const assay_rule_config *c = r->cfg;
    for (size_t i = assay_bitmap_next(eval, 0, v->n); i < v->n;
         i = assay_bitmap_next(eval, i + 1, v->n)) {
        uint64_t n = assay_utf8_length(v->str[i], v->len[i]);
        if ((c->has_min_length && n < c->min_length) || (c->has_max_length && n > c->max_length))
            assay_bit_set(fail, i);
    }
}

void assay_rule_eval(const assay_rule *r, const assay_col_view *v, const uint64_t *ok,
                     int64_t now_us, uint64_t *fail, uint64_t *eval)
{
    size_t words = ASSAY_BITMAP_WORDS(v->n);
    memset(fail, 0, words * sizeof(uint64_t));
    switch (r->cfg->check) {
    case ASSAY_CHECK_NOT_NULL:
        for (size_t w = 0; w < words; w++) {
            eval[w] = ok[w];
            fail[w] = ok[w] & v->null[w];
        }
        break;
    case ASSAY_CHECK_TYPE:
        eval_present(v, ok, false, eval);
        if (v->invalid)
            for (size_t w = 0; w < words; w++)
                fail[w] = eval[w] & v->invalid[w];
        break;
    case ASSAY_CHECK_IN_RANGE:
        eval_present(v, ok, true, eval);
        eval_in_range(r, v, fail, eval);
        break;
    case ASSAY_CHECK_IN_SET:
    case ASSAY_CHECK_FOREIGN_KEY:
        eval_present(v, ok, false, eval);
        eval_set(r, v, fail, eval);
        break;
    case ASSAY_CHECK_MATCHES:
        eval_present(v, ok, false, eval);
        for (size_t w = 0; w < words; w++)
            fail[w] = eval[w] & ~v->match[r->regex_id][w];
        break;
    case ASSAY_CHECK_UNIQUE:
        eval_present(v, ok, false, eval);
        break;
    case ASSAY_CHECK_FRESHNESS:
        eval_present(v, ok, true, eval);
        for (size_t w = 0; w < words; w++) {
            uint64_t f = 0;
            size_t base = w * 64, end = ASSAY_MIN(base + 64, (size_t)v->n);
            int64_t cutoff = now_us - r->max_age_us;
            for (size_t i = base; i < end; i++)
                f |= (uint64_t)(v->i64[i] < cutoff) << (i - base);
            fail[w] = f & eval[w];
        }
        break;
    case ASSAY_CHECK_LENGTH:
        eval_present(v, ok, false, eval);
        eval_length(r, v, fail, eval);
        break;
    default:
        memset(eval, 0, words * sizeof(uint64_t));
        break;
    }
    /* The last word may carry bits past n from ~null: clear them. */
    if (v->n & 63) {
        uint64_t m = ((uint64_t)1 << (v->n & 63)) - 1;
        eval[words - 1] &= m;
        fail[words - 1] &= m;
    }
}
