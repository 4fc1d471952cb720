/*
 * Reports of a check: JSON with DESIGN section 4's field names (for tools) and a
 * table for people (rules sorted by severity, then failures, with samples; the
 * score per dimension; bad rows with file:line and reason; the verdict).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/engine.h"
#include "core/strbuf.h"
#include "engine/json_writer.h"

static const char *format_name(assay_format f)
{
    return f == ASSAY_FORMAT_NDJSON ? "ndjson" : "csv";
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
    assay_json_key(&j, "files");
    assay_json_arr_open(&j);
    for (size_t i = 0; i < r->nfiles; i++)
        assay_json_str(&j, r->files[i]);
    assay_json_arr_close(&j);
    assay_json_key(&j, "format");
    assay_json_str(&j, format_name(r->format));
    assay_json_key(&j, "rows");
    assay_json_u64(&j, r->rows);
    assay_json_key(&j, "bytes");
    assay_json_u64(&j, r->bytes);
    assay_json_key(&j, "seconds");
    assay_json_fixed(&j, r->seconds, 3);
    assay_json_key(&j, "threads");
    assay_json_u64(&j, r->threads);

    assay_json_key(&j, "score");
    assay_json_obj_open(&j);
    assay_json_key(&j, "overall");
    assay_json_fixed(&j, r->overall, 3);
    assay_json_key(&j, "dimensions");
    assay_json_obj_open(&j);
    for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
        if (!r->dim_present[d])
            continue;
        assay_json_key(&j, assay_dimension_name((assay_dimension)d));
        assay_json_fixed(&j, r->dims[d], 3);
    }
    assay_json_obj_close(&j);
    assay_json_obj_close(&j);

    assay_json_key(&j, "rules");
    assay_json_arr_open(&j);
    for (size_t i = 0; i < r->nrules; i++) {
        const assay_rule_result *rr = &r->rules[i];
        const assay_rule_config *c = rr->cfg;
        assay_json_obj_open(&j);
        assay_json_key(&j, "name");
        assay_json_str(&j, c->name);
        assay_json_key(&j, "column");
        assay_json_str(&j, c->column);
        assay_json_key(&j, "check");
        assay_json_str(&j, assay_check_name(c->check));
        assay_json_key(&j, "dimension");
        assay_json_str(&j, assay_dimension_name(c->dimension));
        assay_json_key(&j, "severity");
        assay_json_str(&j, assay_severity_name(c->severity));
        assay_json_key(&j, "evaluated");
        assay_json_u64(&j, rr->evaluated);
        assay_json_key(&j, "failed");
        assay_json_u64(&j, rr->failed);
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

    assay_json_key(&j, "columns");
    assay_json_arr_open(&j);
    for (size_t c = 0; c < r->ncolumns; c++) {
        const assay_column_result *cr = &r->columns[c];
        assay_json_obj_open(&j);
        assay_json_key(&j, "name");
        assay_json_str(&j, cr->name);
        assay_json_key(&j, "type");
        assay_json_str(&j, assay_type_name(cr->type));
        assay_json_key(&j, "inferred");
        assay_json_bool(&j, cr->inferred);
        if (cr->parsed) {
            assay_json_key(&j, "count");
            assay_json_u64(&j, cr->count);
            assay_json_key(&j, "nulls");
            assay_json_u64(&j, cr->nulls);
            assay_json_key(&j, "null_rate");
            assay_json_f64(&j, cr->count ? (double)cr->nulls / (double)cr->count : 0);
            assay_json_key(&j, "invalid");
            assay_json_u64(&j, cr->invalid);
        }
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    assay_json_obj_close(&j);
    assay_sb_putc(&sb, '\n');
    if (sb.oom) {
        assay_sb_free(&sb);
        return NULL;
    }
    return sb.data;
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
    fputc('\n', out);
    if (assay_result_status(r) == 0) {
        fprintf(out, "  %sPASS%s  all %zu rules passed\n", st.green, st.reset, r->nrules);
    } else {
        fprintf(out, "  %sFAIL%s  %zu of %zu rules breached", st.red, st.reset, r->breached,
                r->nrules);
        if (r->bad_rows)
            fprintf(out, "; %llu bad rows", (unsigned long long)r->bad_rows);
        fprintf(out, " (exit status 1)\n");
    }
}
