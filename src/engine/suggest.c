/*
 * Rule suggestion from a profile, in the spirit of Deequ's constraint suggestion
 * (Schelter et al., "Automating large-scale data quality verification", PVLDB 11(12),
 * 2018, section 4; and Deequ's ConstraintSuggestionRunner rules): every suggestion is
 * a rule the profiled data itself passes, carries its evidence as a comment, and is
 * tight enough that data with real defects fails it.
 *
 *   not_null     column has no nulls
 *   type         typed column; threshold = observed share of values not of the type
 *   in_range     int/float column: [0 or min - 10% of the range, max + 10% of the
 *                range], rounded outward to two significant digits
 *   in_set       string column whose exact top list covers every value, <= 20 values
 *   unique       a column in which no value repeats, from an exact count of repeats
 *                (assay profile --suggest-rules counts them per column, with the
 *                memory cap of `unique`): threshold 0; a near-unique column (HLL
 *                distinct >= 95%) with some repeats: threshold = their exact share,
 *                rounded up. Only when the count was cut
 *                short by the memory cap does it fall back to the HyperLogLog: key-like
 *                (distinct >= 95% of values), threshold = what the estimate leaves
 *                open (1 - distinct/values) plus 3 standard errors
 *   matches      string column where >= 95% of the first rows' values fit a named
 *                format; threshold 3x the sampled failure share (at least 1%)
 *   length       string column: max = 1.5x the longest value, rounded up
 *   expr         two timestamp columns that are ordered in every row where both are
 *                timestamps (at least 100 such rows): `b >= a`, from probe rules the
 *                engine evaluates for every pair of timestamp columns (setup.c,
 *                add_probes); e.g. shipped_at >= created_at
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
#include "assay/regex.h"
#include "core/strbuf.h"
#include "engine/engine_internal.h"

/* Round v away from zero to two significant digits (1234 -> 1300, -0.0123 -> -0.013). */
static double round_out(double v, bool up)
{
    if (v == 0 || !isfinite(v))
        return v;
    double mag = pow(10, floor(log10(fabs(v))) - 1);
    return (up ? ceil(v / mag) : floor(v / mag)) * mag;
}

static double ceil3(double v)
{
    return ceil(v * 1000 - 1e-9) / 1000;
}

/* YAML single-quoted scalar. */
static void yq(assay_strbuf *sb, const char *s)
{
    assay_sb_putc(sb, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            assay_sb_putc(sb, '\'');
        if (*s == '\n')
            assay_sb_puts(sb, " ");
        else
            assay_sb_putc(sb, *s);
    }
    assay_sb_putc(sb, '\'');
}

static void num(assay_strbuf *sb, double v, bool integer)
{
    if (integer)
        assay_sb_printf(sb, "%lld", (long long)llround(v));
    else
        assay_sb_printf(sb, "%.10g", v);
}

int assay_formats_compile(assay_regex_db **db)
{
    const char *const *names = assay_format_names();
    const char *pats[16];
    size_t n = 0;
    for (; names[n] && n < 16; n++)
        if (assay_format_pattern(names[n], &pats[n]) < 0)
            return -EINVAL;
    return assay_regex_compile(pats, n, db, NULL);
}

/* Share of sample values each named format matches (one scan of all formats at
 * once, db from assay_formats_compile); the best one. */
const char *assay_best_format(const assay_regex_db *db, char **vals, uint32_t n, double *share)
{
    const char *const *names = assay_format_names();
    size_t nf = assay_regex_count(db);
    const char *best = NULL;
    *share = 0;
    if (n == 0 || nf == 0)
        return NULL;
    const char **v = malloc(n * sizeof(char *));
    uint32_t *len = malloc(n * sizeof(uint32_t));
    uint64_t *bits = calloc(nf * ASSAY_BITMAP_WORDS(n), 8);
    uint64_t *m[16];
    assay_regex_scratch *sc = NULL;
    if (!v || !len || !bits || assay_regex_scratch_new(db, &sc) < 0)
        goto out;
    for (uint32_t i = 0; i < n; i++) {
        v[i] = vals[i];
        len[i] = (uint32_t)strlen(vals[i]);
    }
    for (size_t f = 0; f < nf; f++)
        m[f] = bits + f * ASSAY_BITMAP_WORDS(n);
    if (assay_regex_match_batch(db, sc, v, len, NULL, n, m) == 0) {
        for (size_t f = 0; f < nf; f++) {
            double sh = (double)assay_bitmap_count(m[f], n) / n;
            if (sh > *share)
                *share = sh, best = names[f];
        }
    }
out:
    assay_regex_scratch_free(sc);
    free(v);
    free(len);
    free(bits);
    return best;
}

char *assay_suggest_rules(const assay_result *r, const char *asset)
{
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_sb_printf(&sb, "# Suggested by `assay profile --suggest-rules` from ");
    for (size_t i = 0; i < r->nfiles; i++)
        assay_sb_printf(&sb, "%s%s", i ? ", " : "", r->files[i]);
    assay_sb_puts(&sb, " (");
    assay_sb_count(&sb, r->rows);
    assay_sb_puts(&sb,
                  " rows).\n# Every rule passes on that data; each comment gives the evidence. "
                  "Review before use.\n");
    assay_sb_puts(&sb, "asset: ");
    yq(&sb, asset ? asset : "data");
    assay_sb_puts(&sb, "\ncolumns:\n");
    for (size_t c = 0; c < r->ncolumns; c++) {
        assay_sb_puts(&sb, "  - {name: ");
        yq(&sb, r->columns[c].name);
        assay_sb_printf(&sb, ", type: %s}\n", assay_type_name(r->columns[c].type));
    }
    assay_sb_puts(&sb, "rules:\n");
    double rse = 1.04 / 256.0; /* the profile's HLL precision, p = 16 */
    for (size_t ci = 0; ci < r->ncolumns; ci++) {
        const assay_column_result *c = &r->columns[ci];
        uint64_t values = c->count - c->nulls;
        if (!c->profiled || c->count == 0)
            continue;
        if (c->nulls == 0) {
            assay_sb_puts(&sb, "  # 0 nulls in ");
            assay_sb_count(&sb, c->count);
            assay_sb_puts(&sb, " rows\n  - {column: ");
            yq(&sb, c->name);
            assay_sb_puts(&sb, ", check: not_null}\n");
        }
        if (values == 0)
            continue;
        if (c->type != ASSAY_TYPE_STRING) {
            double share = (double)c->invalid / (double)values;
            assay_sb_printf(&sb, "  # %llu of %llu values are not %s\n  - {column: ",
                            (unsigned long long)c->invalid, (unsigned long long)values,
                            assay_type_name(c->type));
            yq(&sb, c->name);
            assay_sb_puts(&sb, ", check: type");
            if (c->invalid)
                assay_sb_printf(&sb, ", threshold: %g", ceil3(share + 0.0005));
            assay_sb_puts(&sb, "}\n");
        }
        if ((c->type == ASSAY_TYPE_INT || c->type == ASSAY_TYPE_FLOAT) && c->numeric &&
            isfinite(c->min) && isfinite(c->max)) {
            double range = c->max - c->min;
            double lo = c->min >= 0 ? 0 : round_out(c->min - 0.1 * range, false);
            double hi = round_out(c->max + 0.1 * range, true);
            if (hi < c->max)
                hi = c->max;
            bool integer = c->type == ASSAY_TYPE_INT;
            assay_sb_printf(&sb, "  # observed %.10g .. %.10g\n  - {column: ", c->min, c->max);
            yq(&sb, c->name);
            assay_sb_puts(&sb, ", check: in_range, min: ");
            num(&sb, lo, integer);
            assay_sb_puts(&sb, ", max: ");
            num(&sb, hi, integer);
            assay_sb_puts(&sb, "}\n");
        }
        if (c->type == ASSAY_TYPE_STRING && c->ntop > 0 && c->ntop <= 20 && values >= 20) {
            uint64_t covered = 0;
            bool exact = true;
            for (size_t k = 0; k < c->ntop; k++) {
                covered += c->top[k].count;
                exact &= c->top[k].exact;
            }
            if (exact && covered == values) {
                assay_sb_printf(&sb, "  # %zu distinct values in ", c->ntop);
                assay_sb_count(&sb, values);
                assay_sb_puts(&sb, " values\n  - {column: ");
                yq(&sb, c->name);
                assay_sb_puts(&sb, ", check: in_set, values: [");
                for (size_t k = 0; k < c->ntop; k++) {
                    if (k)
                        assay_sb_puts(&sb, ", ");
                    yq(&sb, c->top[k].value);
                }
                assay_sb_puts(&sb, "]}\n");
            }
        }
        if (c->repeats_known && values >= 100 && c->repeats == 0) {
            assay_sb_printf(&sb, "  # no value repeats (exact count over %llu values)\n",
                            (unsigned long long)values);
            assay_sb_puts(&sb, "  - {column: ");
            yq(&sb, c->name);
            assay_sb_puts(&sb, ", check: unique}\n");
        } else if (c->repeats_known && values >= 100 && c->distinct >= 0.95 * (double)values) {
            /* a key with a few repeats: the rule passes on this data and fails on more */
            double share = (double)c->repeats / (double)values;
            assay_sb_printf(
                &sb, "  # %llu of %llu values repeat an earlier one (%.3f%%, exact count)\n",
                (unsigned long long)c->repeats, (unsigned long long)values, 100 * share);
            assay_sb_puts(&sb, "  - {column: ");
            yq(&sb, c->name);
            assay_sb_printf(&sb, ", check: unique, threshold: %g}\n", ceil3(share));
        } else if (!c->repeats_known && !c->repeats_many && values >= 100 &&
                   c->distinct >= 0.95 * (double)values) {
            double open = fmax(0, 1.0 - c->distinct / (double)values);
            assay_sb_printf(&sb, "  # ~%.0f distinct of %llu values (HyperLogLog, +-%.1f%%)\n",
                            c->distinct, (unsigned long long)values, 100 * rse);
            assay_sb_puts(&sb, "  - {column: ");
            yq(&sb, c->name);
            assay_sb_printf(&sb, ", check: unique, threshold: %g}\n", ceil3(open + 3 * rse));
        }
        if (c->type == ASSAY_TYPE_STRING && c->format) {
            double share = c->format_share;
            const char *fmt = c->format;
            if (share >= 0.95) {
                double thr = fmax(0.01, ceil3(3 * (1 - share)));
                assay_sb_printf(&sb, "  # %.1f%% of the first %u values are %s\n  - {column: ",
                                100 * share, c->format_n, fmt);
                yq(&sb, c->name);
                assay_sb_printf(&sb, ", check: matches, format: %s", fmt);
                if (share < 1)
                    assay_sb_printf(&sb, ", threshold: %g", thr);
                assay_sb_puts(&sb, "}\n");
            }
        }
        if (c->type == ASSAY_TYPE_STRING && c->len_max > 0) {
            uint64_t max = (uint64_t)round_out(1.5 * (double)c->len_max, true);
            if (max < c->len_max)
                max = c->len_max;
            assay_sb_printf(&sb, "  # lengths %llu .. %llu code points\n  - {column: ",
                            (unsigned long long)c->len_min, (unsigned long long)c->len_max);
            yq(&sb, c->name);
            assay_sb_printf(&sb, ", check: length, max: %llu}\n", (unsigned long long)max);
        }
    }
    /* orderings between timestamp columns, from the probes */
    for (size_t k = 0; k < r->nrules; k++) {
        const assay_rule_result *rr = &r->rules[k];
        const assay_rule_config *pc = rr->cfg;
        if (!pc->probe || pc->nvalues != 2 || rr->evaluated < 100)
            continue;
        if (rr->failed != 0 && rr->failed != rr->evaluated)
            continue;
        /* the probe is "values[1] >= values[0]"; failing everywhere means the reverse
         * (strictly) holds everywhere */
        bool fwd = rr->failed == 0;
        const char *later = fwd ? pc->values[1] : pc->values[0];
        const char *earlier = fwd ? pc->values[0] : pc->values[1];
        assay_strbuf ex, nm;
        assay_sb_init(&ex);
        assay_sb_init(&nm);
        bool plain = true;
        for (const char *q = later; *q; q++)
            plain &= (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_' ||
                     (q != later && *q >= '0' && *q <= '9');
        for (const char *q = earlier; *q; q++)
            plain &= (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_' ||
                     (q != earlier && *q >= '0' && *q <= '9');
        if (plain)
            assay_sb_printf(&ex, "%s >= %s", later, earlier);
        else
            assay_sb_printf(&ex, "`%s` >= `%s`", later, earlier);
        assay_sb_printf(&nm, "%s_after_%s", later, earlier);
        assay_sb_printf(&sb, "  # %s %s %s in all ", later, fwd ? ">=" : ">", earlier);
        assay_sb_count(&sb, rr->evaluated);
        assay_sb_puts(&sb, " rows where both are timestamps\n  - {name: ");
        yq(&sb, nm.data ? nm.data : "");
        assay_sb_puts(&sb, ", check: expr, dimension: consistency, expr: ");
        yq(&sb, ex.data ? ex.data : "");
        assay_sb_puts(&sb, "}\n");
        sb.oom |= ex.oom || nm.oom;
        assay_sb_free(&ex);
        assay_sb_free(&nm);
    }
    if (sb.oom) {
        assay_sb_free(&sb);
        return NULL;
    }
    return sb.data;
}
