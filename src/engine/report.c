/*
 * Reports of a check: JSON with the documented field names (for tools) and a
 * table for people (rules sorted by severity, then failures, with samples; the
 * score per dimension; bad rows with file:line and reason; the verdict).
 */
#include <math.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"

#include "assay/engine.h"
#include "core/strbuf.h"
#include "engine/json_writer.h"
#include "assay/alert.h"
#include "engine/report.h"

static const char *format_name(assay_format f)
{
    return f == ASSAY_FORMAT_NDJSON ? "ndjson" : "csv";
}

void assay_json_column_value(assay_json *j, const assay_column_result *c, double v)
{
    if (isnan(v)) {
        assay_json_null(j);
    } else if (c->type == ASSAY_TYPE_TIMESTAMP) {
        char buf[40];
        assay_format_timestamp((int64_t)llround(v), buf, sizeof(buf));
        assay_json_str(j, buf);
    } else if (c->type == ASSAY_TYPE_INT && v == (double)(int64_t)v) {
        assay_json_i64(j, (int64_t)v);
    } else {
        assay_json_f64(j, v);
    }
}

double assay_column_spread(const assay_column_result *c, double v)
{
    return c->type == ASSAY_TYPE_TIMESTAMP ? v / 1e6 : v;
}

void assay_json_anomaly_counts(assay_json *j, const assay_anomaly_result *a)
{
    assay_json_key(j, "scored");
    assay_json_u64(j, a->scored);
    assay_json_key(j, "not_ready");
    assay_json_u64(j, a->not_ready);
    assay_json_key(j, "judged");
    assay_json_u64(j, a->judged);
    assay_json_key(j, "count");
    assay_json_u64(j, a->anomalies);
    assay_json_key(j, "rate");
    assay_json_f64(j, a->rate);
}

void assay_json_rule_head(assay_json *j, const assay_rule_config *c)
{
    assay_json_key(j, "name");
    assay_json_str(j, c->name);
    assay_json_key(j, "column");
    assay_json_str(j, c->column);
    assay_json_key(j, "check");
    assay_json_str(j, assay_check_name(c->check));
    if (c->check == ASSAY_CHECK_EXPR) {
        assay_json_key(j, "expr");
        assay_json_str(j, c->expr);
    }
    assay_json_key(j, "dimension");
    assay_json_str(j, assay_dimension_name(c->dimension));
    assay_json_key(j, "severity");
    assay_json_str(j, assay_severity_name(c->severity));
}

void assay_json_dimensions(assay_json *j, const bool *present, const double *dims, int digits)
{
    assay_json_key(j, "dimensions");
    assay_json_obj_open(j);
    for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
        if (!present[d])
            continue;
        assay_json_key(j, assay_dimension_name((assay_dimension)d));
        assay_json_fixed(j, dims[d], digits);
    }
    assay_json_obj_close(j);
}

void assay_json_column_summary(assay_json *j, const assay_column_result *c)
{
    assay_json_key(j, "distinct");
    assay_json_u64(j, (uint64_t)llround(c->distinct));
    assay_json_key(j, "min");
    if (c->has_int_extremes)
        assay_json_i64(j, c->min_int);
    else if (c->numeric)
        assay_json_column_value(j, c, c->min);
    else
        assay_json_str(j, c->min_text);
    assay_json_key(j, "max");
    if (c->has_int_extremes)
        assay_json_i64(j, c->max_int);
    else if (c->numeric)
        assay_json_column_value(j, c, c->max);
    else
        assay_json_str(j, c->max_text);
    if (c->null_tokens > 0) {
        assay_json_key(j, "null_tokens");
        assay_json_u64(j, c->null_tokens);
    }
    if (c->nan + c->pos_inf + c->neg_inf > 0) {
        assay_json_key(j, "non_finite");
        assay_json_obj_open(j);
        assay_json_key(j, "nan");
        assay_json_u64(j, c->nan);
        assay_json_key(j, "inf");
        assay_json_u64(j, c->pos_inf);
        assay_json_key(j, "-inf");
        assay_json_u64(j, c->neg_inf);
        assay_json_obj_close(j);
    }
    assay_json_key(j, "mean");
    assay_json_column_value(j, c, c->numeric ? c->mean : NAN);
    assay_json_key(j, "stddev");
    assay_json_f64(j, c->numeric ? assay_column_spread(c, c->stddev) : NAN);
}

void assay_json_column_quantiles(assay_json *j, const assay_column_result *c)
{
    assay_json_key(j, "quantiles");
    if (!c->numeric) {
        assay_json_null(j);
        return;
    }
    assay_json_obj_open(j);
    for (int q = 0; q < ASSAY_PROFILE_NQ; q++) {
        assay_json_key(j, assay_profile_qname[q]);
        assay_json_column_value(j, c, c->quantiles[q]);
    }
    assay_json_obj_close(j);
}

static void write_column(assay_json *j, const assay_column_result *c)
{
    assay_json_obj_open(j);
    assay_json_key(j, "name");
    assay_json_str(j, c->name);
    assay_json_key(j, "type");
    assay_json_str(j, assay_type_name(c->type));
    assay_json_key(j, "inferred");
    assay_json_bool(j, c->inferred);
    if (c->parsed) {
        assay_json_key(j, "count");
        assay_json_u64(j, c->count);
        assay_json_key(j, "nulls");
        assay_json_u64(j, c->nulls);
        assay_json_key(j, "null_rate");
        assay_json_f64(j, c->count ? (double)c->nulls / (double)c->count : 0);
        assay_json_key(j, "invalid");
        assay_json_u64(j, c->invalid);
    }
    if (c->profiled) {
        assay_json_column_summary(j, c);
        assay_json_key(j, "skewness");
        assay_json_f64(j, c->numeric ? c->skewness : NAN);
        assay_json_key(j, "kurtosis");
        assay_json_f64(j, c->numeric ? c->kurtosis : NAN);
        assay_json_column_quantiles(j, c);
        if (!c->numeric) {
            assay_json_key(j, "length");
            assay_json_obj_open(j);
            assay_json_key(j, "min");
            assay_json_u64(j, c->len_min);
            assay_json_key(j, "max");
            assay_json_u64(j, c->len_max);
            assay_json_key(j, "mean");
            assay_json_fixed(j, c->len_mean, 2);
            assay_json_obj_close(j);
        }
        assay_json_key(j, "top");
        assay_json_arr_open(j);
        for (size_t k = 0; k < c->ntop; k++) {
            assay_json_obj_open(j);
            assay_json_key(j, "value");
            assay_json_str(j, c->top[k].value);
            assay_json_key(j, "count");
            assay_json_u64(j, c->top[k].count);
            if (!c->top[k].exact) {
                assay_json_key(j, "estimated");
                assay_json_bool(j, true);
                assay_json_key(j, "count_min");
                assay_json_u64(j, c->top[k].count_min);
            }
            assay_json_obj_close(j);
        }
        assay_json_arr_close(j);
        if (c->numeric) {
            assay_json_key(j, "outliers");
            assay_json_u64(j, c->outliers);
        }
        /* type-inference counters: non-null values among the first 10,000 rows */
        assay_json_key(j, "sampled_types");
        assay_json_obj_open(j);
        assay_json_key(j, "values");
        assay_json_u64(j, c->sampled);
        assay_json_key(j, "int");
        assay_json_u64(j, c->sampled_int);
        assay_json_key(j, "float");
        assay_json_u64(j, c->sampled_float);
        assay_json_key(j, "timestamp");
        assay_json_u64(j, c->sampled_ts);
        assay_json_key(j, "bool");
        assay_json_u64(j, c->sampled_bool);
        assay_json_obj_close(j);
        assay_json_key(j, "issues");
        assay_json_arr_open(j);
        for (size_t k = 0; k < c->nissues; k++) {
            assay_json_obj_open(j);
            assay_json_key(j, "issue");
            assay_json_str(j, c->issues[k]);
            assay_json_key(j, "detail");
            assay_json_str(j, c->issue_text[k]);
            assay_json_obj_close(j);
        }
        assay_json_arr_close(j);
    }
    assay_json_obj_close(j);
}

static void write_columns(assay_json *j, const assay_result *r)
{
    assay_json_key(j, "columns");
    assay_json_arr_open(j);
    for (size_t c = 0; c < r->ncolumns; c++)
        write_column(j, &r->columns[c]);
    assay_json_arr_close(j);
}

/* What was read and how long it took: files, format, rows, bytes, seconds, threads. */
static void write_run(assay_json *j, const assay_result *r)
{
    assay_json_key(j, "files");
    assay_json_arr_open(j);
    for (size_t i = 0; i < r->nfiles; i++)
        assay_json_str(j, r->files[i]);
    assay_json_arr_close(j);
    assay_json_key(j, "format");
    assay_json_str(j, format_name(r->format));
    assay_json_key(j, "rows");
    assay_json_u64(j, r->rows);
    assay_json_key(j, "bytes");
    assay_json_u64(j, r->bytes);
    assay_json_key(j, "seconds");
    assay_json_fixed(j, r->seconds, 3);
    assay_json_key(j, "threads");
    assay_json_u64(j, r->threads);
}

/* Close the top-level object; the document as a string, or NULL when out of memory. */
static char *finish(assay_json *j, assay_strbuf *sb)
{
    assay_json_obj_close(j);
    assay_sb_putc(sb, '\n');
    if (sb->oom) {
        assay_sb_free(sb);
        return NULL;
    }
    return sb->data;
}

char *assay_profile_json(const assay_result *r)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    write_run(&j, r);
    assay_json_key(&j, "bad_rows");
    assay_json_u64(&j, r->bad_rows);
    assay_json_key(&j, "duplicate_rows");
    assay_json_u64(&j, r->duplicate_rows);
    if (r->duplicate_note) {
        assay_json_key(&j, "duplicate_rows_note");
        assay_json_str(&j, r->duplicate_note);
    }
    write_columns(&j, r);
    return finish(&j, &sb);
}

/* The isolation forest's findings: settings, counts, and the highest-scoring rows
 * with their feature values in each column's own terms. */
static void write_anomalies(assay_json *j, const assay_result *r)
{
    const assay_anomaly_result *a = &r->anomaly;
    assay_json_key(j, "anomalies");
    assay_json_obj_open(j);
    assay_json_key(j, "columns");
    assay_json_arr_open(j);
    for (size_t c = 0; c < a->ncolumns; c++)
        assay_json_str(j, a->columns[c]);
    assay_json_arr_close(j);
    assay_json_key(j, "trees");
    assay_json_u64(j, a->trees);
    assay_json_key(j, "sample");
    assay_json_u64(j, a->sample);
    assay_json_key(j, "window");
    assay_json_u64(j, a->window);
    assay_json_key(j, "refresh");
    assay_json_u64(j, a->refresh);
    assay_json_key(j, "contamination");
    assay_json_f64(j, a->contamination);
    assay_json_anomaly_counts(j, a);
    assay_json_key(j, "threshold");
    if (isnan(a->threshold))
        assay_json_null(j);
    else
        assay_json_fixed(j, a->threshold, 6);
    assay_json_key(j, "samples");
    assay_json_arr_open(j);
    for (size_t k = 0; k < a->nsamples; k++) {
        const assay_anomaly_sample *s = &a->samples[k];
        assay_json_obj_open(j);
        assay_json_key(j, "row");
        assay_json_u64(j, s->row);
        assay_json_key(j, "score");
        assay_json_fixed(j, s->score, 6);
        assay_json_key(j, "values");
        assay_json_obj_open(j);
        for (size_t c = 0; c < a->ncolumns; c++) {
            assay_json_key(j, a->columns[c]);
            assay_json_column_value(j, &r->columns[a->column_index[c]], s->values[c]);
        }
        assay_json_obj_close(j);
        assay_json_obj_close(j);
    }
    assay_json_arr_close(j);
    assay_json_obj_close(j);
}

char *assay_result_json(const assay_result *r, const assay_config *cfg)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    if (cfg->asset) {
        assay_json_key(&j, "asset");
        assay_json_str(&j, cfg->asset);
    }
    write_run(&j, r);
    assay_json_key(&j, "score");
    assay_json_obj_open(&j);
    assay_json_key(&j, "overall");
    assay_json_fixed(&j, r->overall, 3);
    assay_json_dimensions(&j, r->dim_present, r->dims, 3);
    assay_json_obj_close(&j);

    assay_json_key(&j, "rules");
    assay_json_arr_open(&j);
    for (size_t i = 0; i < r->nrules; i++) {
        const assay_rule_result *rr = &r->rules[i];
        const assay_rule_config *c = rr->cfg;
        assay_json_obj_open(&j);
        assay_json_rule_head(&j, c);
        assay_json_key(&j, "evaluated");
        assay_json_u64(&j, rr->evaluated);
        assay_json_key(&j, "failed");
        assay_json_u64(&j, rr->failed);
        if (c->check == ASSAY_CHECK_EXPR) {
            assay_json_key(&j, "unevaluated");
            assay_json_u64(&j, rr->unevaluated);
        }
        assay_json_key(&j, "fail_rate");
        assay_json_f64(&j, rr->fail_rate);
        assay_json_key(&j, "threshold");
        assay_json_f64(&j, c->threshold);
        assay_json_key(&j, "breached");
        assay_json_bool(&j, rr->breached);
        if (rr->note) {
            assay_json_key(&j, "note");
            assay_json_str(&j, rr->note);
        }
        assay_json_key(&j, "samples");
        assay_json_arr_open(&j);
        for (size_t k = 0; k < rr->nsamples; k++) {
            assay_json_obj_open(&j);
            assay_json_key(&j, "row");
            assay_json_u64(&j, rr->samples[k].row);
            if (rr->samples[k].offset != UINT64_MAX) {
                assay_json_key(&j, "offset");
                assay_json_u64(&j, rr->samples[k].offset);
            }
            assay_json_key(&j, "value");
            assay_json_str(&j, rr->samples[k].value);
            assay_json_obj_close(&j);
        }
        assay_json_arr_close(&j);
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);

    assay_json_key(&j, "bad_rows");
    assay_json_obj_open(&j);
    assay_json_key(&j, "count");
    assay_json_u64(&j, r->bad_rows);
    assay_json_key(&j, "samples");
    assay_json_arr_open(&j);
    for (size_t k = 0; k < r->nbad_samples; k++) {
        const assay_bad_sample *b = &r->bad_samples[k];
        assay_json_obj_open(&j);
        assay_json_key(&j, "file");
        assay_json_str(&j, r->files[b->file]);
        assay_json_key(&j, "line");
        assay_json_u64(&j, b->line);
        assay_json_key(&j, "row");
        assay_json_u64(&j, b->row);
        assay_json_key(&j, "reason");
        assay_json_str(&j, b->reason);
        assay_json_key(&j, "text");
        assay_json_str(&j, b->text);
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    assay_json_obj_close(&j);

    if (r->has_duplicate_rows) {
        assay_json_key(&j, "duplicate_rows");
        assay_json_u64(&j, r->duplicate_rows);
    }
    if (r->anomaly.enabled)
        write_anomalies(&j, r);
    assay_json_key(&j, "alerts");
    assay_json_arr_open(&j);
    for (size_t i = 0; i < r->nalerts; i++)
        assay_json_alert(&j, &r->alerts[i]);
    assay_json_arr_close(&j);
    write_columns(&j, r);
    return finish(&j, &sb);
}

/* ---------------------------------------------------------------------------------
 * Text report
 * ------------------------------------------------------------------------------- */

typedef struct style {
    const char *bold, *dim, *red, *yellow, *green, *reset;
} style;

static int cmp_rules(const void *a, const void *b)
{
    const assay_rule_result *x = *(const assay_rule_result *const *)a;
    const assay_rule_result *y = *(const assay_rule_result *const *)b;
    if (x->breached != y->breached)
        return y->breached - x->breached;
    if (x->cfg->severity != y->cfg->severity)
        return (int)y->cfg->severity - (int)x->cfg->severity;
    if (x->failed != y->failed)
        return y->failed > x->failed ? 1 : -1;
    return strcmp(x->cfg->name, y->cfg->name);
}

static void put_value(FILE *out, const char *v)
{
    if (!v) {
        fputs("(null)", out);
        return;
    }
    fputc('"', out);
    /* A table row, not a dump: long values are cut (the JSON keeps 200 bytes). */
    int shown = 0;
    for (const char *p = v; *p; p++) {
        if (++shown > 72 && ((unsigned char)*p & 0xC0) != 0x80) {
            fputs("...", out);
            break;
        }
        if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '"')
            fputs("\\\"", out);
        else if ((unsigned char)*p < 0x20)
            fprintf(out, "\\x%02x", (unsigned char)*p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void put_count(FILE *out, uint64_t v)
{
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_sb_count(&sb, v);
    fputs(sb.data ? sb.data : "0", out);
    assay_sb_free(&sb);
}

static void cell_value(const assay_column_result *c, double v, char *buf, size_t cap);

/* ANOMALIES: how many rows scored above the learned threshold, against the expected
 * share, and the highest-scoring rows with their values. */
static void anomalies_text(const assay_result *r, FILE *out, const style *st)
{
    const assay_anomaly_result *a = &r->anomaly;
    fprintf(out, "\n  %sANOMALIES%s ", st->bold, st->reset);
    put_count(out, a->anomalies);
    fprintf(out, " of ");
    put_count(out, a->judged);
    fprintf(out, " rows above the threshold");
    if (!isnan(a->threshold))
        fprintf(out, " %.4f", a->threshold);
    fprintf(out, " (%.2f%%; expected %.2f%%)\n", 100.0 * a->rate, 100.0 * a->contamination);
    fprintf(out, "      %sisolation forest on ", st->dim);
    for (size_t c = 0; c < a->ncolumns; c++)
        fprintf(out, "%s%s", c ? ", " : "", a->columns[c]);
    fprintf(out, ": %u trees x %u rows, window %llu, refresh %llu; ", a->trees, a->sample,
            (unsigned long long)a->window, (unsigned long long)a->refresh);
    put_count(out, a->not_ready);
    fprintf(out, " rows before the first model, ");
    put_count(out, a->scored - a->judged);
    fprintf(out, " scored before the first threshold%s\n", st->reset);
    for (size_t k = 0; k < a->nsamples; k++) {
        const assay_anomaly_sample *s = &a->samples[k];
        fprintf(out, "      %srow ", st->dim);
        put_count(out, s->row);
        fprintf(out, ":%s score %.4f ", st->reset, s->score);
        for (size_t c = 0; c < a->ncolumns; c++) {
            char buf[64];
            cell_value(&r->columns[a->column_index[c]], s->values[c], buf, sizeof(buf));
            fprintf(out, " %s=%s", a->columns[c], buf);
        }
        fputc('\n', out);
    }
}

void assay_result_text(const assay_result *r, const assay_config *cfg, FILE *out, bool color)
{
    style st = { "", "", "", "", "", "" };
    if (color)
        st = (style){ "\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[32m", "\033[0m" };
    double mb = (double)r->bytes / 1e6;
    fprintf(out, "%sassay check%s", st.bold, st.reset);
    if (cfg->asset)
        fprintf(out, " · %s", cfg->asset);
    fprintf(out, "\n  input    ");
    for (size_t i = 0; i < r->nfiles && i < 3; i++)
        fprintf(out, "%s%s", i ? ", " : "", r->files[i]);
    if (r->nfiles > 3)
        fprintf(out, " and %zu more", r->nfiles - 3);
    fprintf(out, " (%s)\n  rows     ", format_name(r->format));
    put_count(out, r->rows);
    fprintf(out, " · %.1f MB in %.2f s (%.0f MB/s, ", mb, r->seconds,
            r->seconds > 0 ? mb / r->seconds : 0);
    put_count(out, r->seconds > 0 ? (uint64_t)(r->rows / r->seconds) : 0);
    fprintf(out, " rows/s) · %u thread%s · %s · %s\n\n", r->threads, r->threads == 1 ? "" : "s",
            r->io_uring ? "io_uring" : "read()", r->simd);

    const assay_rule_result **order = malloc(r->nrules * sizeof(*order) + 1);
    if (!order)
        return;
    for (size_t i = 0; i < r->nrules; i++)
        order[i] = &r->rules[i];
    qsort(order, r->nrules, sizeof(*order), cmp_rules);
    fprintf(out, "  %s%-28s %-12s %-11s %-8s %12s %9s  %s%s\n", st.bold, "RULE", "CHECK", "COLUMN",
            "SEVERITY", "FAILED", "RATE", "STATUS", st.reset);
    for (size_t i = 0; i < r->nrules; i++) {
        const assay_rule_result *rr = order[i];
        const assay_rule_config *c = rr->cfg;
        char rate[32];
        snprintf(rate, sizeof(rate), "%.3f%%", 100.0 * rr->fail_rate);
        assay_strbuf fs;
        assay_sb_init(&fs);
        assay_sb_count(&fs, rr->failed);
        fprintf(out, "  %-28s %-12s %-11s %-8s %12s %9s  %s%s%s\n", c->name,
                assay_check_name(c->check), c->column ? c->column : "-",
                assay_severity_name(c->severity), fs.data ? fs.data : "0", rate,
                rr->breached ? st.red : st.green, rr->breached ? "BREACH" : "ok", st.reset);
        assay_sb_free(&fs);
        if (rr->note)
            fprintf(out, "      %s%s%s\n", st.yellow, rr->note, st.reset);
        if (c->check == ASSAY_CHECK_EXPR && rr->unevaluated) {
            fprintf(out, "      %s", st.dim);
            put_count(out, rr->unevaluated);
            fprintf(out, " row%s not evaluated (the expression was null)%s\n",
                    rr->unevaluated == 1 ? "" : "s", st.reset);
        }
        if (rr->breached) {
            for (size_t k = 0; k < rr->nsamples; k++) {
                fprintf(out, "      %srow ", st.dim);
                put_count(out, rr->samples[k].row);
                fprintf(out, ":%s ", st.reset);
                put_value(out, rr->samples[k].value);
                fputc('\n', out);
            }
        }
    }
    free(order);

    fprintf(out, "\n  %sSCORE%s    overall %s%.1f%s", st.bold, st.reset, st.bold, r->overall,
            st.reset);
    for (int d = 0; d < ASSAY_DIM_COUNT; d++)
        if (r->dim_present[d])
            fprintf(out, " · %s %.2f", assay_dimension_name((assay_dimension)d), r->dims[d]);
    fputc('\n', out);

    if (r->bad_rows) {
        fprintf(out, "\n  %sBAD ROWS%s ", st.bold, st.reset);
        put_count(out, r->bad_rows);
        fprintf(out, " row%s could not be parsed (counted as failed validity checks)\n",
                r->bad_rows == 1 ? "" : "s");
        for (size_t k = 0; k < r->nbad_samples && k < 10; k++) {
            const assay_bad_sample *b = &r->bad_samples[k];
            fprintf(out, "      %s%s:%llu:%s %s\n", st.dim, r->files[b->file],
                    (unsigned long long)b->line, st.reset, b->reason);
        }
    }
    if (r->anomaly.enabled)
        anomalies_text(r, out, &st);
    if (r->nalerts) {
        fprintf(out, "\n  %sALERTS%s\n", st.bold, st.reset);
        for (size_t i = 0; i < r->nalerts; i++) {
            const assay_alert *a = &r->alerts[i];
            bool hot = a->severity >= ASSAY_SEV_HIGH;
            fprintf(out, "  %s%-8s%s %-12s %s\n      %s%s%s\n", hot ? st.red : st.yellow,
                    assay_severity_name(a->severity), st.reset, assay_alert_kind_name(a->kind),
                    a->title, st.dim, a->explanation, st.reset);
        }
    }
    fputc('\n', out);
    size_t contracts = 0;
    for (size_t i = 0; i < r->nalerts; i++)
        contracts += r->alerts[i].kind == ASSAY_ALERT_CONTRACT;
    if (assay_result_status(r) == 0) {
        fprintf(out, "  %sPASS%s  all %zu rules passed\n", st.green, st.reset, r->nrules);
    } else {
        fprintf(out, "  %sFAIL%s  %zu of %zu rules breached", st.red, st.reset, r->breached,
                r->nrules);
        if (r->bad_rows)
            fprintf(out, "; %llu bad rows", (unsigned long long)r->bad_rows);
        if (contracts)
            fprintf(out, "; %zu contract clause%s violated", contracts, contracts == 1 ? "" : "s");
        fprintf(out, " (exit status 1)\n");
    }
}

/* ---------------------------------------------------------------------------------
 * Profile table
 * ------------------------------------------------------------------------------- */

/* A column's value for the table: timestamps as dates, numbers %g. */
static void cell_value(const assay_column_result *c, double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
    } else if (c->type == ASSAY_TYPE_TIMESTAMP) {
        assay_format_timestamp((int64_t)llround(v), buf, cap);
    } else if (c->type == ASSAY_TYPE_INT && fabs(v) < 9e15) {
        snprintf(buf, cap, "%lld", (long long)llround(v));
    } else {
        snprintf(buf, cap, "%.6g", v);
    }
}

/* Display width of UTF-8 text: one column per code point (the table's values are
 * mostly ASCII; wide CJK glyphs would take two, which this does not try to know). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* s cut to at most `width` columns into buf: control characters become spaces (a
 * value must not move the cursor), and a cut ends in "…" so it is never mistaken for
 * the whole value (the whole value is in --json). */
static void cut(const char *s, char *buf, size_t cap, size_t width)
{
    size_t n = 0, w = 0, total = text_width(s);
    bool cutting = total > width;
    size_t keep = cutting ? (width ? width - 1 : 0) : total;
    for (const char *p = s ? s : ""; *p && n + 4 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        bool lead = (ch & 0xC0) != 0x80;
        if (lead && w == keep)
            break;
        w += lead;
        buf[n++] = ch < 0x20 || ch == 0x7F ? ' ' : (char)ch;
    }
    if (cutting && width) {
        memcpy(buf + n, "\xe2\x80\xa6", 3); /* U+2026 */
        n += 3;
    }
    buf[n] = '\0';
}

/* text, left-aligned in `width` columns, then `gap` spaces */
static void put_cell(FILE *out, const char *text, size_t width, size_t gap)
{
    fputs(text, out);
    for (size_t w = text_width(text); w < width + gap; w++)
        fputc(' ', out);
}

/* Columns of the terminal `out` is (at least 80), else $COLUMNS, else 100. */
static size_t out_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);
    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col < 80 ? 80 : ws.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v >= 80 ? (size_t)v : v > 0 ? 80 : 100;
}

#define PT_TEXT 160 /* bytes of a cell before cutting */

typedef struct prof_row {
    char name[PT_TEXT], lo[PT_TEXT], hi[PT_TEXT], rest[PT_TEXT], nulls[16], distinct[32];
} prof_row;

static void prof_row_fill(const assay_column_result *c, prof_row *pr)
{
    char a[64];
    snprintf(pr->name, sizeof(pr->name), "%s", c->name);
    snprintf(pr->nulls, sizeof(pr->nulls), "%.1f%%",
             c->count ? 100.0 * (double)c->nulls / (double)c->count : 0.0);
    assay_strbuf d;
    assay_sb_init(&d);
    assay_sb_count(&d, (uint64_t)llround(c->distinct));
    snprintf(pr->distinct, sizeof(pr->distinct), "%s", d.data ? d.data : "0");
    assay_sb_free(&d);
    pr->lo[0] = pr->hi[0] = pr->rest[0] = '\0';
    if (c->has_int_extremes) {
        snprintf(pr->lo, sizeof(pr->lo), "%lld", (long long)c->min_int);
        snprintf(pr->hi, sizeof(pr->hi), "%lld", (long long)c->max_int);
    } else if (c->numeric) {
        cell_value(c, c->min, pr->lo, sizeof(pr->lo));
        cell_value(c, c->max, pr->hi, sizeof(pr->hi));
    }
    if (c->numeric) {
        if (c->type == ASSAY_TYPE_TIMESTAMP) {
            cell_value(c, c->quantiles[3], a, sizeof(a));
            snprintf(pr->rest, sizeof(pr->rest), "median %s", a);
        } else if (isnan(c->stddev)) {
            snprintf(pr->rest, sizeof(pr->rest), "%.6g", c->mean);
        } else {
            snprintf(pr->rest, sizeof(pr->rest), "%.6g ± %.4g", c->mean, c->stddev);
        }
        if (isnan(c->mean))
            snprintf(pr->rest, sizeof(pr->rest), "-");
        return;
    }
    snprintf(pr->lo, sizeof(pr->lo), "%s", c->min_text ? c->min_text : "");
    snprintf(pr->hi, sizeof(pr->hi), "%s", c->max_text ? c->max_text : "");
    size_t n = 0;
    for (size_t k = 0; k < c->ntop && k < 3 && n + 40 < sizeof(pr->rest); k++) {
        char b[64];
        cut(c->top[k].value, b, sizeof(b), 16);
        /* "~" marks a Space-Saving estimate; the share is of its guaranteed count */
        double share = 100.0 * (double)c->top[k].count_min /
                       (double)(c->count - c->nulls ? c->count - c->nulls : 1);
        n += (size_t)snprintf(pr->rest + n, sizeof(pr->rest) - n, "%s%s (%s%.*f%%)", k ? ", " : "",
                              b, c->top[k].exact ? "" : "~", share < 9.95 ? 1 : 0, share);
    }
}

/* Write text wrapped at `width` columns, continuation lines indented by `indent`. */
static void put_wrapped(FILE *out, const char *text, size_t first_col, size_t width, size_t indent)
{
    size_t col = first_col;
    const char *p = text;
    while (*p) {
        const char *sp = strchr(p, ' ');
        size_t wl = sp ? (size_t)(sp - p) : strlen(p);
        char word[PT_TEXT * 2];
        size_t take = ASSAY_MIN(wl, sizeof(word) - 1);
        memcpy(word, p, take);
        word[take] = '\0';
        size_t ww = text_width(word);
        if (col > indent && col + 1 + ww > width) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
        } else if (col > first_col || (col > indent && p != text)) {
            fputc(' ', out);
            col++;
        }
        fputs(word, out);
        col += ww;
        p += wl;
        while (*p == ' ')
            p++;
    }
    fputc('\n', out);
}

void assay_profile_text(const assay_result *r, FILE *out, bool color)
{
    assay_profile_text_width(r, out, color, out_width(out));
}

void assay_profile_text_width(const assay_result *r, FILE *out, bool color, size_t width)
{
    style st = { "", "", "", "", "", "" };
    if (color)
        st = (style){ "\033[1m", "\033[2m", "\033[31m", "\033[33m", "\033[32m", "\033[0m" };
    if (width < 80)
        width = 80;
    double mb = (double)r->bytes / 1e6;
    fprintf(out, "%sassay profile%s · ", st.bold, st.reset);
    for (size_t i = 0; i < r->nfiles && i < 3; i++)
        fprintf(out, "%s%s", i ? ", " : "", r->files[i]);
    fprintf(out, "\n  rows     ");
    put_count(out, r->rows);
    fprintf(out, " · %.1f MB in %.2f s (%.0f MB/s) · %u thread%s\n", mb, r->seconds,
            r->seconds > 0 ? mb / r->seconds : 0, r->threads, r->threads == 1 ? "" : "s");
    fprintf(out, "  repeats  ");
    put_count(out, r->duplicate_rows);
    fprintf(out, " duplicate row%s", r->duplicate_rows == 1 ? "" : "s");
    if (r->bad_rows) {
        fprintf(out, " · ");
        put_count(out, r->bad_rows);
        fprintf(out, " bad row%s", r->bad_rows == 1 ? "" : "s");
    }
    fputs("\n\n", out);

    prof_row *rows = calloc(r->ncolumns ? r->ncolumns : 1, sizeof(prof_row));
    if (!rows) {
        fprintf(out, "  (out of memory formatting the table; use --json)\n");
        return;
    }
    /* widths: as wide as the content, within a share of the line; the last column
     * takes what is left (at 80 columns: name 12, min/max 10, the rest ~24) */
    size_t wn = 6, wt = 4, wnu = 5, wd = 8, wlo = 3, whi = 3, wr = 25;
    for (size_t i = 0; i < r->ncolumns; i++) {
        prof_row *pr = &rows[i];
        prof_row_fill(&r->columns[i], pr);
        wn = ASSAY_MAX(wn, text_width(pr->name));
        wt = ASSAY_MAX(wt, strlen(assay_type_name(r->columns[i].type)));
        wnu = ASSAY_MAX(wnu, strlen(pr->nulls));
        wd = ASSAY_MAX(wd, text_width(pr->distinct));
        wlo = ASSAY_MAX(wlo, text_width(pr->lo));
        whi = ASSAY_MAX(whi, text_width(pr->hi));
        wr = ASSAY_MAX(wr, text_width(pr->rest));
    }
    size_t fixed = 2 + wt + 1 + wnu + 1 + wd + 2 + 2; /* indent, gaps */
    size_t avail = width > fixed + 40 ? width - fixed : 40;
    size_t cap_n = ASSAY_MAX((size_t)8, avail * 3 / 20), cap_v = ASSAY_MAX((size_t)8, avail / 5);
    wn = ASSAY_MIN(wn, cap_n);
    wlo = ASSAY_MIN(wlo, cap_v);
    whi = ASSAY_MIN(whi, cap_v);
    size_t used = wn + 1 + wlo + 1 + whi + 1;
    wr = avail > used ? ASSAY_MIN(wr, avail - used) : 10;

    char cell[PT_TEXT + 8];
    fprintf(out, "  %s", st.bold);
    put_cell(out, "COLUMN", wn, 1);
    put_cell(out, "TYPE", wt, 1);
    fprintf(out, "%*s %*s  ", (int)wnu, "NULLS", (int)wd, "DISTINCT");
    put_cell(out, "MIN", wlo, 1);
    put_cell(out, "MAX", whi, 1);
    cut(wr >= 25 ? "MEAN ± SD / MOST FREQUENT" : "MEAN / TOP", cell, sizeof(cell), wr);
    fprintf(out, "%s%s\n", cell, st.reset);
    for (size_t i = 0; i < r->ncolumns; i++) {
        const prof_row *pr = &rows[i];
        fputs("  ", out);
        cut(pr->name, cell, sizeof(cell), wn);
        put_cell(out, cell, wn, 1);
        put_cell(out, assay_type_name(r->columns[i].type), wt, 1);
        fprintf(out, "%*s %*s  ", (int)wnu, pr->nulls, (int)wd, pr->distinct);
        cut(pr->lo, cell, sizeof(cell), wlo);
        put_cell(out, cell, wlo, 1);
        cut(pr->hi, cell, sizeof(cell), whi);
        put_cell(out, cell, whi, 1);
        cut(pr->rest, cell, sizeof(cell), wr);
        fprintf(out, "%s\n", cell);
    }
    free(rows);

    bool any = false;
    size_t wi = 12, wc = 6;
    for (size_t i = 0; i < r->ncolumns; i++)
        for (size_t k = 0; k < r->columns[i].nissues; k++) {
            wi = ASSAY_MAX(wi, strlen(r->columns[i].issues[k]));
            wc = ASSAY_MAX(wc, text_width(r->columns[i].name));
        }
    wc = ASSAY_MIN(wc, ASSAY_MAX((size_t)8, width / 6));
    for (size_t i = 0; i < r->ncolumns; i++) {
        const assay_column_result *c = &r->columns[i];
        for (size_t k = 0; k < c->nissues; k++) {
            if (!any)
                fprintf(out, "\n  %sISSUES%s\n", st.bold, st.reset);
            any = true;
            bool serious = !strcmp(c->issues[k], "high_nulls") ||
                           !strcmp(c->issues[k], "mixed_types") ||
                           !strcmp(c->issues[k], "duplicates");
            fprintf(out, "  %s", serious ? st.yellow : st.dim);
            put_cell(out, c->issues[k], wi, 0);
            fprintf(out, "%s ", st.reset);
            cut(c->name, cell, sizeof(cell), wc);
            put_cell(out, cell, wc, 1);
            put_wrapped(out, c->issue_text[k], 2 + wi + 1 + wc + 1, width, 2 + wi + 1 + wc + 1);
        }
    }
    if (r->bad_rows) {
        fprintf(out, "\n  %sBAD ROWS%s ", st.bold, st.reset);
        put_count(out, r->bad_rows);
        fprintf(out, " row%s could not be parsed\n", r->bad_rows == 1 ? "" : "s");
        for (size_t k = 0; k < r->nbad_samples && k < 10; k++) {
            const assay_bad_sample *b = &r->bad_samples[k];
            char where[PT_TEXT];
            snprintf(where, sizeof(where), "%s:%llu:", r->files[b->file],
                     (unsigned long long)b->line);
            fprintf(out, "      %s%s%s ", st.dim, where, st.reset);
            put_wrapped(out, b->reason, 6 + text_width(where) + 1, width, 8);
        }
    }
    if (r->duplicate_note)
        fprintf(out, "\n  %s%s%s\n", st.yellow, r->duplicate_note, st.reset);
}

bool assay_result_nothing_parsed(const assay_result *r, char *msg, size_t cap)
{
    if (r->rows == 0 || r->bad_rows < r->rows)
        return false;
    const assay_bad_sample *b = r->nbad_samples ? &r->bad_samples[0] : NULL;
    const char *why = b ? b->reason : "";
    const char *hint = "";
    if (strstr(why, "field count") || strstr(why, "fields"))
        hint = "; the rows do not have the header's number of fields: is the delimiter right "
               "(--delimiter, source.delimiter)?";
    else if (strstr(why, "quote"))
        hint = "; a quote is never closed: is the quote character right (source.quote), or is "
               "this CSV at all?";
    else if (strstr(why, "JSON") || strstr(why, "json"))
        hint = "; is this NDJSON (one JSON object per line)? --format csv reads it as CSV";
    else if (strstr(why, "UTF-8"))
        hint = "; is the file UTF-8? convert it with iconv -t UTF-8";
    if (b)
        snprintf(
            msg, cap, "no row of the input parsed: all %llu rows are bad (first: %s:%llu: %s)%s",
            (unsigned long long)r->rows, r->files[b->file], (unsigned long long)b->line, why, hint);
    else
        snprintf(msg, cap, "no row of the input parsed: all %llu rows are bad",
                 (unsigned long long)r->rows);
    return true;
}
