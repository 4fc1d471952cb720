/*
 * setup.c - the job, from the config and the first chunk of input: the format (flag,
 * config, file extension), the parsers' options, the schema (the CSV header or the
 * NDJSON keys, declared and inferred types), later files' headers checked against
 * it, the rules compiled against the real columns (regex databases per column,
 * reference sets of foreign keys), which columns must be parsed, the event-time
 * column, and the isolation forest's columns.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assay/hashset.h"
#include "assay/expr.h"
#include "engine/engine_internal.h"

/* The extension that names the format: for x.csv.gz, x.ndjson.zst the inner one (the
 * reader decompresses by magic bytes; the outer extension says nothing of the rows). */
static void path_ext(const char *p, char out[16])
{
    const char *slash = strrchr(p, '/');
    const char *base = slash ? slash + 1 : p;
    size_t n = strlen(base);
    static const char *const outer[] = { ".gz", ".zst", ".zstd" };
    for (size_t i = 0; i < sizeof(outer) / sizeof(outer[0]); i++) {
        size_t k = strlen(outer[i]);
        if (n > k && !strcmp(base + n - k, outer[i])) {
            n -= k;
            break;
        }
    }
    const char *dot = memrchr(base, '.', n);
    size_t len = dot ? n - (size_t)(dot + 1 - base) : 0;
    if (len >= 16)
        len = 0;
    memcpy(out, dot ? dot + 1 : "", len);
    out[len] = '\0';
}

assay_format assay_engine_detect_format(const assay_engine_options *o, const char *first)
{
    if (o->format != ASSAY_FORMAT_AUTO)
        return o->format;
    if (o->cfg->source.format != ASSAY_FORMAT_AUTO)
        return o->cfg->source.format;
    char ext[16];
    path_ext(first, ext);
    if (!strcmp(ext, "ndjson") || !strcmp(ext, "jsonl") || !strcmp(ext, "json"))
        return ASSAY_FORMAT_NDJSON;
    return ASSAY_FORMAT_CSV;
}

size_t assay_engine_csv_row_end(void *ctx, const char *buf, size_t len)
{
    return assay_csv_last_row_end(ctx, buf, len);
}

size_t assay_engine_ndjson_row_end(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    return assay_ndjson_last_row_end(buf, len);
}

int assay_engine_find_column(const assay_engine *e, const char *name)
{
    const assay_schema *s = &e->sch;
    for (uint32_t c = 0; c < s->ncols; c++)
        if (!strcmp(s->names[c], name))
            return (int)c;
    return -1;
}

static void list_columns(const assay_schema *s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    char show[300];
    for (uint32_t c = 0; c < s->ncols && n + 8 < cap; c++)
        n += (size_t)snprintf(
            out + n, cap - n, "%s%s", c ? ", " : "",
            assay_show_bytes(s->names[c], strlen(s->names[c]), show, sizeof(show)));
}

int assay_engine_no_such_column(const assay_engine *e, const char *what, const char *name,
                                assay_config_pos pos, assay_error *err)
{
    char cols[256];
    if (e->delim_hint[0])
        /* one column that holds the separators: listing it would only repeat them */
        return assay_error_set(err, -EINVAL, "%s:%d:%d: %s: no column '%s' in the data; %s",
                               e->cfg->path, pos.line, pos.col, what, name, e->delim_hint);
    list_columns(&e->sch, cols, sizeof(cols));
    const char *near = assay_closest(name, (const char *const *)e->sch.names, e->sch.ncols);
    return assay_error_set(
        err, -EINVAL, "%s:%d:%d: %s: no column '%s' in the data%s%s%s (columns: %s)", e->cfg->path,
        pos.line, pos.col, what, name, near ? " (did you mean '" : "", near ? near : "",
        near ? "'?)" : "", cols);
}

/* A CSV header of one field that holds tabs, semicolons, pipes (or commas, when the
 * delimiter is something else) most likely uses that byte as its delimiter. A
 * one-column file is legal, so this is advice: a notice for the run, and the tail of
 * any error about a column missing from the data. */
static void delimiter_hint(assay_engine *e, const char *name, const char *header)
{
    static const char cands[] = { '\t', ';', '|', ',' };
    static const char *const plural[] = { "tabs", "semicolons", "pipes", "commas" };
    size_t best = 0, best_n = 0;
    for (size_t i = 0; i < sizeof(cands); i++) {
        if (cands[i] == e->csv.delimiter)
            continue;
        size_t n = 0;
        for (const char *p = header; *p; p++)
            n += *p == cands[i];
        if (n > best_n)
            best = i, best_n = n;
    }
    e->delim_hint[0] = '\0';
    if (best_n == 0)
        return;
    char opt[8];
    snprintf(opt, sizeof(opt), cands[best] == '\t' ? "tab" : "'%c'", cands[best]);
    snprintf(e->delim_hint, sizeof(e->delim_hint),
             "%s:1: every row has one field; the header contains %s: try --delimiter %s (or "
             "source.delimiter)",
             name, plural[best], opt);
    if (e->opt && e->opt->notice)
        e->opt->notice(e->opt->notice_ctx, e->delim_hint);
}

static int schema_alloc(assay_schema *s, uint32_t n)
{
    s->ncols = n;
    s->names = calloc(n ? n : 1, sizeof(char *));
    s->types = calloc(n ? n : 1, sizeof(assay_type));
    s->inferred = calloc(n ? n : 1, sizeof(bool));
    s->want = calloc(n ? n : 1, 1);
    s->need_text = calloc(n ? n : 1, 1);
    s->need_typed = calloc(n ? n : 1, 1);
    s->regex = calloc(n ? n : 1, sizeof(void *));
    if (!s->names || !s->types || !s->inferred || !s->want || !s->need_text || !s->need_typed ||
        !s->regex)
        return -ENOMEM;
    return 0;
}

static void free_fields(char **f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

/* Comment lines among the first n bytes (before a CSV header): lines starting with
 * cmt. */
static uint64_t count_comment_lines(const char *p, size_t n, char cmt)
{
    uint64_t k = 0;
    for (size_t at = 0; cmt && at < n;) {
        const char *nl = memchr(p + at, '\n', n - at);
        k += p[at] == cmt;
        at = nl ? (size_t)(nl - p) + 1 : n;
    }
    return k;
}

uint32_t assay_count_newlines(const char *p, size_t n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

/* Build the schema from the first chunk (of the input called name); *start = bytes of
 * header to skip. */
int assay_engine_schema(assay_engine *e, const assay_chunk *ch, const char *name, size_t *start,
                        assay_error *err)
{
    const assay_config *cfg = e->cfg;
    char **fields = NULL;
    uint32_t nf = 0;
    size_t consumed = 0;
    int rc;
    *start = 0;
    if (e->format == ASSAY_FORMAT_CSV) {
        /* without a header, declared columns need nothing from the data (a Kafka
         * message that is not valid CSV must not stop the run) */
        if (ch->len > 0 && (e->csv.header || !cfg->ncolumns)) {
            rc = assay_csv_read_row(&e->csv, ch->data, ch->len, &fields, &nf, &consumed, err);
            if (rc < 0)
                return assay_error_prefix(err, "%s:1", name);
        }
        if (e->csv.header) {
            *start = consumed;
            e->header_comments += count_comment_lines(ch->data, consumed, e->csv.comment);
        } else {
            /* no header: declared names in order, else c1..cN */
            free_fields(fields, nf);
            fields = NULL;
            if (cfg->ncolumns) {
                nf = (uint32_t)cfg->ncolumns;
                fields = calloc(nf, sizeof(char *));
                for (uint32_t i = 0; fields && i < nf; i++)
                    fields[i] = strdup(cfg->columns[i].name);
            } else {
                fields = calloc(nf ? nf : 1, sizeof(char *));
                for (uint32_t i = 0; fields && i < nf; i++) {
                    char cn[32];
                    snprintf(cn, sizeof(cn), "c%u", i + 1);
                    fields[i] = strdup(cn);
                }
            }
            if (!fields)
                return assay_error_set(err, -ENOMEM, "out of memory");
        }
    } else {
        rc = assay_ndjson_keys(ch->data, ch->len, 1000, &fields, &nf, err);
        if (rc < 0) {
            if (ch->len > 0 && !cfg->ncolumns)
                return assay_error_prefix(err, "%s", name);
            fields = NULL;
            nf = 0;
        }
        /* declared columns that the first lines lacked still exist (as nulls) */
        for (size_t i = 0; i < cfg->ncolumns; i++) {
            bool found = false;
            for (uint32_t k = 0; k < nf; k++)
                found |= !strcmp(fields[k], cfg->columns[i].name);
            if (!found) {
                char **nf2 = realloc(fields, (nf + 1) * sizeof(char *));
                if (!nf2)
                    return assay_error_set(err, -ENOMEM, "out of memory");
                fields = nf2;
                fields[nf++] = strdup(cfg->columns[i].name);
            }
        }
    }
    if (e->format == ASSAY_FORMAT_CSV && e->csv.header && nf == 1 && fields[0])
        delimiter_hint(e, name, fields[0]);
    if ((rc = schema_alloc(&e->sch, nf)) < 0) {
        free_fields(fields, nf);
        return assay_error_set(err, rc, "out of memory");
    }
    /* repeated names, through a set of name hashes (a wide header of 100,000 names
     * compared pairwise took most of a minute) */
    assay_hashset *seen = NULL;
    if (assay_hashset_new(&seen, nf, 0) < 0) {
        free_fields(fields, nf);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    for (uint32_t c = 0; c < nf; c++)
        e->sch.names[c] = fields[c]; /* owned by the schema from here */
    free(fields);
    for (uint32_t c = 0; c < nf; c++) {
        const char *nm = e->sch.names[c];
        if (!nm) {
            assay_hashset_free(seen);
            return assay_error_set(err, -ENOMEM, "out of memory");
        }
        uint64_t h = assay_hash_bytes(nm, strlen(nm)), first = 0;
        int8_t res;
        uint64_t v = c + 1;
        assay_hashset_insert_batch(seen, &h, &v, 1, &res);
        if (res == 0 && assay_hashset_get(seen, h, &first) &&
            !strcmp(e->sch.names[first - 1], nm)) {
            assay_hashset_free(seen);
            char show[300];
            return assay_error_set(
                err, -EINVAL,
                "%s:1: column name '%s' appears twice in the header (columns %u and %u)", name,
                assay_show_bytes(nm, strlen(nm), show, sizeof(show)), (unsigned)first, c + 1);
        }
    }
    assay_hashset_free(seen);
    /* declared types */
    for (size_t i = 0; i < cfg->ncolumns; i++) {
        int c = assay_engine_find_column(e, cfg->columns[i].name);
        if (c < 0)
            return assay_engine_no_such_column(e, "columns", cfg->columns[i].name,
                                               cfg->columns[i].pos, err);
        e->sch.types[c] = cfg->columns[i].type;
    }
    if (e->format == ASSAY_FORMAT_NDJSON) {
        if ((rc = assay_ndjson_schema_new((const char *const *)e->sch.names, nf, &e->njs)) < 0)
            return assay_error_set(err, rc, "out of memory");
    }
    return assay_schema_infer(e, ch->data, ch->len, *start, err);
}

/* A later file's header must name the same columns in the same order. */
int assay_engine_check_header(assay_engine *e, const assay_chunk *ch, const char *name,
                              const char *first_name, size_t *start, uint32_t *header_lines,
                              assay_error *err)
{
    *start = 0;
    *header_lines = 0;
    if (e->format != ASSAY_FORMAT_CSV || !e->csv.header || ch->len == 0)
        return 0;
    char **fields = NULL;
    uint32_t nf = 0;
    size_t consumed = 0;
    int rc = assay_csv_read_row(&e->csv, ch->data, ch->len, &fields, &nf, &consumed, err);
    if (rc < 0)
        return assay_error_prefix(err, "%s:1", name);
    rc = 0;
    for (uint32_t c = 0; c < ASSAY_MAX(nf, e->sch.ncols); c++) {
        const char *got = c < nf ? fields[c] : "(none)";
        const char *want = c < e->sch.ncols ? e->sch.names[c] : "(none)";
        if (strcmp(got, want)) {
            char g[300], w[300];
            rc = assay_error_set(err, -EINVAL,
                                 "%s:1: header differs from %s: column %u is '%s', expected '%s' "
                                 "(all files of one run must have the same columns)",
                                 name, first_name, c + 1,
                                 assay_show_bytes(got, strlen(got), g, sizeof(g)),
                                 assay_show_bytes(want, strlen(want), w, sizeof(w)));
            break;
        }
    }
    free_fields(fields, nf);
    *start = consumed;
    *header_lines = assay_count_newlines(ch->data, consumed);
    e->header_comments += count_comment_lines(ch->data, consumed, e->csv.comment);
    return rc;
}

/* An expr rule against the real columns: every column it reads is parsed (as text,
 * typed, or both, as the plan reads it), and its matches() patterns join their
 * column's regex database. */
static int compile_expr(assay_engine *e, assay_rule *r, const char ***pats, size_t *npats,
                        assay_error *err)
{
    const assay_rule_config *c = r->cfg;
    char key[200];
    snprintf(key, sizeof(key), "rules.%s.expr", c->name);
    assay_expr_source src = { .file = e->cfg->path ? e->cfg->path : "config",
                              .key = key,
                              .line = c->expr_pos.line,
                              .col = c->expr_pos.col };
    int rc = assay_expr_compile(c->expr, (const char *const *)e->sch.names, e->sch.types,
                                e->sch.ncols, &src, &r->expr, err);
    if (rc < 0)
        return rc;
    r->col = assay_expr_col(r->expr, 0);
    r->type = e->sch.types[r->col];
    for (size_t k = 0; k < assay_expr_ncols(r->expr); k++) {
        int col = assay_expr_col(r->expr, k);
        e->sch.want[col] = 1;
        if (assay_expr_needs_text(r->expr, k))
            e->sch.need_text[col] = 1;
        if (assay_expr_needs_typed(r->expr, k))
            e->sch.need_typed[col] = 1;
    }
    for (size_t k = 0; k < assay_expr_npatterns(r->expr); k++) {
        size_t slot;
        const char *pattern;
        assay_expr_pattern(r->expr, k, &slot, &pattern);
        int col = assay_expr_col(r->expr, slot);
        const char **np = realloc(pats[col], (npats[col] + 1) * sizeof(char *));
        if (!np)
            return assay_error_set(err, -ENOMEM, "out of memory");
        pats[col] = np;
        assay_expr_set_pattern_id(r->expr, k, (int)npats[col]);
        pats[col][npats[col]++] = pattern;
    }
    return 0;
}

/* "name" as a quoted column name of the expression language ("" doubles a quote). */
static char *quote_name(const char *name)
{
    size_t n = strlen(name), q = 0;
    for (size_t i = 0; i < n; i++)
        q += name[i] == '"';
    char *out = malloc(n + q + 3), *p = out;
    if (!out)
        return NULL;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"')
            *p++ = '"';
        *p++ = name[i];
    }
    *p++ = '"';
    *p = 0;
    return out;
}

/* profile --suggest-rules: one probe `"b" >= "a"` per pair of timestamp columns (a
 * before b in the schema; at most PROBE_COLS of them), evaluated like any expr rule,
 * so that suggest.c can propose the orderings the data always keeps (all pass: b >= a;
 * all fail: a > b). */
#define PROBE_COLS 12
static int add_probes(assay_engine *e, assay_error *err)
{
    uint32_t ts[PROBE_COLS], nts = 0;
    for (uint32_t c = 0; c < e->sch.ncols && nts < PROBE_COLS; c++)
        if (e->sch.types[c] == ASSAY_TYPE_TIMESTAMP)
            ts[nts++] = c;
    size_t np = (size_t)nts * (nts ? nts - 1 : 0) / 2;
    if (np == 0)
        return 0;
    e->probes = calloc(np, sizeof(*e->probes));
    assay_rule *nr = realloc(e->rules, (e->nrules + np) * sizeof(*nr));
    if (!e->probes || !nr)
        return assay_error_set(err, -ENOMEM, "out of memory");
    e->rules = nr;
    for (uint32_t i = 0; i < nts; i++) {
        for (uint32_t j = i + 1; j < nts; j++) {
            assay_rule_config *pc = &e->probes[e->nprobes++];
            char *qa = quote_name(e->sch.names[ts[i]]), *qb = quote_name(e->sch.names[ts[j]]);
            size_t len = (qa ? strlen(qa) : 0) + (qb ? strlen(qb) : 0) + 8;
            pc->expr = malloc(len);
            pc->name = malloc(len + 16);
            if (!qa || !qb || !pc->expr || !pc->name) {
                free(qa);
                free(qb);
                return assay_error_set(err, -ENOMEM, "out of memory");
            }
            snprintf(pc->expr, len, "%s >= %s", qb, qa);
            snprintf(pc->name, len + 16, "probe: %s", pc->expr);
            free(qa);
            free(qb);
            /* the two names as they are, for the suggestion's text */
            pc->values = calloc(2, sizeof(char *));
            if (!pc->values || !(pc->values[0] = strdup(e->sch.names[ts[i]])) ||
                !(pc->values[1] = strdup(e->sch.names[ts[j]])))
                return assay_error_set(err, -ENOMEM, "out of memory");
            pc->nvalues = 2;
            pc->check = ASSAY_CHECK_EXPR;
            pc->dimension = ASSAY_DIM_CONSISTENCY;
            pc->probe = true;
            pc->action = ASSAY_ACTION_LOG;
            assay_rule *r = &e->rules[e->nrules];
            int rc = assay_rule_compile(pc, -1, ASSAY_TYPE_UNKNOWN, r, "probe", err);
            if (rc == 0)
                rc = compile_expr(e, r, NULL, NULL, err);
            if (rc < 0)
                return rc;
            e->nrules++;
        }
    }
    return 0;
}

static int compile_rules(assay_engine *e, assay_error *err)
{
    const assay_config *cfg = e->cfg;
    e->nrules = cfg->nrules;
    e->rules = calloc(cfg->nrules ? cfg->nrules : 1, sizeof(assay_rule));
    if (!e->rules)
        return assay_error_set(err, -ENOMEM, "out of memory");
    int rc;
    /* patterns per column, in rule order */
    const char ***pats = calloc(e->sch.ncols ? e->sch.ncols : 1, sizeof(char **));
    size_t *npats = calloc(e->sch.ncols ? e->sch.ncols : 1, sizeof(size_t));
    if (!pats || !npats) {
        free(pats);
        free(npats);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->nrules; i++) {
        const assay_rule_config *rc_ = &cfg->rules[i];
        int col = -1;
        assay_type type = ASSAY_TYPE_UNKNOWN;
        if (rc_->column) {
            col = assay_engine_find_column(e, rc_->column);
            if (col < 0) {
                char what[160];
                snprintf(what, sizeof(what), "rules.%s.column", rc_->name);
                rc = assay_engine_no_such_column(e, what, rc_->column, rc_->column_pos, err);
                goto out;
            }
            type = e->sch.types[col];
        }
        rc = assay_rule_compile(rc_, col, type, &e->rules[i], cfg->path, err);
        if (rc < 0)
            goto out;
        if (rc_->check == ASSAY_CHECK_EXPR) {
            if ((rc = compile_expr(e, &e->rules[i], pats, npats, err)) < 0)
                goto out;
            continue;
        }
        if (col < 0)
            continue;
        assay_rule *r = &e->rules[i];
        e->sch.want[col] = 1;
        if (assay_rule_needs_text(r))
            e->sch.need_text[col] = 1;
        if (assay_rule_needs_typed(r))
            e->sch.need_typed[col] = 1;
        if (rc_->check == ASSAY_CHECK_MATCHES) {
            const char *pattern = rc_->pattern;
            if (!pattern && assay_format_pattern(rc_->format, &pattern) < 0) {
                rc =
                    assay_error_set(err, -EINVAL, "%s:%d:%d: rules.%s.format: unknown format '%s'",
                                    cfg->path, rc_->pos.line, rc_->pos.col, rc_->name, rc_->format);
                goto out;
            }
            const char **np = realloc(pats[col], (npats[col] + 1) * sizeof(char *));
            if (!np) {
                rc = assay_error_set(err, -ENOMEM, "out of memory");
                goto out;
            }
            pats[col] = np;
            r->regex_id = (int)npats[col];
            pats[col][npats[col]++] = pattern;
        }
        if (rc_->check == ASSAY_CHECK_FOREIGN_KEY &&
            (rc = assay_rule_load_reference(e, r, err)) < 0)
            goto out;
    }
    if (e->exact_keys && (rc = add_probes(e, err)) < 0)
        goto out;
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        if (!npats[c])
            continue;
        rc = assay_regex_compile(pats[c], npats[c], &e->sch.regex[c], err);
        if (rc < 0) {
            /* name the rule whose pattern failed */
            for (size_t i = 0; i < cfg->nrules; i++)
                if (e->rules[i].col == (int)c && e->rules[i].regex_id >= 0) {
                    assay_error_prefix(err, "%s:%d:%d: rules.%s.pattern (column '%s')", cfg->path,
                                       cfg->rules[i].pos.line, cfg->rules[i].pos.col,
                                       cfg->rules[i].name, e->sch.names[c]);
                    break;
                }
            goto out;
        }
    }
    rc = 0;
out:
    for (uint32_t c = 0; c < e->sch.ncols; c++)
        free(pats[c]);
    free(pats);
    free(npats);
    return rc;
}

void assay_engine_parser_options(assay_engine *e)
{
    const assay_config *cfg = e->cfg;
    assay_csv_options_default(&e->csv);
    /* no delimiter configured: tab for .tsv and .tab files, else a comma */
    char ext[16] = "";
    if (e->npaths && e->paths)
        path_ext(e->paths[0], ext);
    char auto_delim = !strcmp(ext, "tsv") || !strcmp(ext, "tab") ? '\t' : ',';
    e->csv.delimiter = cfg->source.delimiter ? cfg->source.delimiter : auto_delim;
    e->csv.quote = cfg->source.quote ? cfg->source.quote : '"';
    e->csv.header = cfg->source.header;
    e->csv.max_row_bytes = (uint32_t)ASSAY_MIN(cfg->limits.max_row_bytes, (uint64_t)UINT32_MAX / 2);
    e->csv.max_fields = (uint32_t)ASSAY_MIN(cfg->limits.max_fields, (uint64_t)UINT32_MAX);
    assay_ndjson_options_default(&e->nj);
    e->nj.max_row_bytes = e->csv.max_row_bytes;
    e->csv.comment = e->nj.comment = cfg->source.comment;
    /* the parsers mark null tokens themselves: every later stage just sees nulls */
    e->csv.nulls = e->nj.nulls = &cfg->source.null_values;
}

/* The event-time column: a timestamp column (declared, or inferred as one). */
static int event_column(assay_engine *e, assay_error *err)
{
    const assay_config *cfg = e->cfg;
    e->event_col = e->lag_col = -1;
    if (!cfg->event_time)
        return 0;
    int c = assay_engine_find_column(e, cfg->event_time);
    if (e->win.global) {
        /* one window: event_time places no rows, but a contract's max_freshness reads
         * the lag of its newest value */
        bool wanted = false;
        for (size_t i = 0; i < cfg->ncontracts; i++)
            wanted |= cfg->contracts[i].has_max_freshness;
        if (!wanted)
            return 0;
        if (c < 0 || e->sch.types[c] != ASSAY_TYPE_TIMESTAMP)
            return assay_error_set(err, -EINVAL,
                                   "%s:%d:%d: event_time: a contract's max_freshness needs "
                                   "event_time to name a timestamp column; '%s' is %s",
                                   cfg->path, cfg->event_time_pos.line, cfg->event_time_pos.col,
                                   cfg->event_time,
                                   c < 0 ? "not a column" : assay_type_name(e->sch.types[c]));
        e->lag_col = c;
        e->sch.want[c] = 1;
        e->sch.need_typed[c] = 1;
        return 0;
    }
    if (c < 0)
        return assay_engine_no_such_column(e, "event_time", cfg->event_time, cfg->event_time_pos,
                                           err);
    if (e->sch.types[c] != ASSAY_TYPE_TIMESTAMP)
        return assay_error_set(err, -EINVAL,
                               "%s:%d:%d: event_time: column '%s' is %s%s; declare it under "
                               "columns: with type: timestamp",
                               cfg->path, cfg->event_time_pos.line, cfg->event_time_pos.col,
                               cfg->event_time, assay_type_name(e->sch.types[c]),
                               e->sch.inferred[c] ? " (inferred from the first rows)" : "");
    e->event_col = e->lag_col = c;
    e->sch.want[c] = 1;
    e->sch.need_typed[c] = 1;
    return 0;
}

/* An impact column by name into *out (-1 when not configured). */
static int impact_column(assay_engine *e, const char *key, const char *name, int *out,
                         assay_error *err)
{
    *out = -1;
    if (!name)
        return 0;
    int c = assay_engine_find_column(e, name);
    if (c < 0)
        return assay_engine_no_such_column(e, key, name, (assay_config_pos){ 0, 0 }, err);
    e->sch.want[c] = 1;
    *out = c;
    return 0;
}

/* impact: the revenue column is summed (numeric), the user column hashed (as text). */
static int impact_columns(assay_engine *e, assay_error *err)
{
    const assay_config *cfg = e->cfg;
    int rc;
    if ((rc = impact_column(e, "impact.revenue_column", cfg->impact.revenue_column, &e->imp_rev_col,
                            err)) < 0 ||
        (rc = impact_column(e, "impact.user_column", cfg->impact.user_column, &e->imp_user_col,
                            err)) < 0)
        return rc;
    if (e->imp_rev_col >= 0) {
        assay_type t = e->sch.types[e->imp_rev_col];
        if (t != ASSAY_TYPE_INT && t != ASSAY_TYPE_FLOAT)
            return assay_error_set(
                err, -EINVAL,
                "%s: impact.revenue_column: column '%s' is %s%s; revenue needs "
                "a numeric column (declare it with type: float)",
                cfg->path, cfg->impact.revenue_column, assay_type_name(t),
                e->sch.inferred[e->imp_rev_col] ? " (inferred from the first rows)" : "");
        e->sch.need_typed[e->imp_rev_col] = 1;
    }
    if (e->imp_user_col >= 0)
        e->sch.need_text[e->imp_user_col] = 1;
    return 0;
}

int assay_engine_compile(assay_engine *e, assay_error *err)
{
    int rc;
    if ((rc = compile_rules(e, err)) < 0 || (rc = assay_anomaly_engine_init(e, err)) < 0 ||
        (rc = event_column(e, err)) < 0 || (rc = impact_columns(e, err)) < 0)
        return rc;
    for (size_t r = 0; r < e->nrules; r++) {
        const assay_rule_config *c = e->rules[r].cfg;
        if (c->action != ASSAY_ACTION_BLOCK || e->rules[r].col < 0)
            continue;
        e->any_block = true;
        e->unique_block |= c->check == ASSAY_CHECK_UNIQUE;
    }
    if (e->profile) {
        /* the profile reads every column: text for hashing and top-k, typed values
         * for the numeric sketches */
        for (uint32_t c = 0; c < e->sch.ncols; c++) {
            e->sch.want[c] = 1;
            e->sch.need_text[c] = 1;
            if (e->sch.types[c] != ASSAY_TYPE_STRING && e->sch.types[c] != ASSAY_TYPE_UNKNOWN)
                e->sch.need_typed[c] = 1;
        }
    }
    return 0;
}

void assay_engine_free(assay_engine *e)
{
    for (unsigned k = 0; e->shards && k < e->nshards; k++)
        assay_shard_free(&e->shards[k]);
    free(e->shards);
    e->shards = NULL;
    for (size_t r = 0; e->rules && r < e->nrules; r++)
        assay_rule_free(&e->rules[r]);
    free(e->rules);
    e->rules = NULL;
    for (size_t k = 0; e->probes && k < e->nprobes; k++) {
        free(e->probes[k].name);
        free(e->probes[k].expr);
        for (size_t v = 0; e->probes[k].values && v < 2; v++)
            free(e->probes[k].values[v]);
        free(e->probes[k].values);
    }
    free(e->probes);
    e->probes = NULL;
    assay_anomaly_engine_free(e);
    assay_ndjson_schema_free(e->njs);
    e->njs = NULL;
    assay_schema_free(&e->sch);
}
