/*
 * Engine: one pass of `assay check` over files.
 *
 *   reader (this thread) --chunk--> shard 0..N-1 (SPSC rings) --chunk back--> reader
 *
 * The reading thread cuts the input into chunks of whole rows (assay_reader), hands
 * chunk k to shard k mod N, and gets each buffer back on that shard's return ring
 * when the shard is done with it. Round-robin keeps the bookkeeping trivial (the
 * oldest chunk out is always at a known shard) and is balanced because chunks are
 * equal-sized. Shards share nothing while running; at the end the engine joins
 * them and merges: counts add up; samples are the failures with the smallest row
 * positions over all shards; `unique` merges the shards' hash sets, and every key
 * first seen in two shards is one more duplicate. So the report is the same for
 * any number of threads, samples included.
 *
 * Row numbers: a position is (chunk seq, row ordinal in the chunk). Shards record
 * how many rows and line breaks each chunk held; after the join, prefix sums over
 * chunks turn positions into 1-based data row numbers and per-file line numbers.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "assay/bitmap.h"
#include "assay/hashset.h"
#include "assay/number.h"
#include "engine/engine_internal.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *assay_stage_name(assay_stage s)
{
    static const char *const names[ASSAY_STAGE_COUNT] = { "read",  "frame+split", "parse",
                                                          "rules", "sketches",    "anomaly",
                                                          "merge" };
    return (unsigned)s < ASSAY_STAGE_COUNT ? names[s] : "unknown";
}

void assay_engine_options_default(assay_engine_options *o)
{
    memset(o, 0, sizeof(*o));
    o->now_us = INT64_MIN;
    o->batch_rows = 4096;
    o->chunk_bytes = 4u << 20;
}

static const char *path_ext(const char *p)
{
    const char *dot = strrchr(p, '.');
    const char *slash = strrchr(p, '/');
    return (dot && (!slash || dot > slash)) ? dot + 1 : "";
}

static assay_format detect_format(const assay_engine_options *o, const char *first)
{
    if (o->format != ASSAY_FORMAT_AUTO)
        return o->format;
    if (o->cfg->source.format != ASSAY_FORMAT_AUTO)
        return o->cfg->source.format;
    const char *ext = path_ext(first);
    if (!strcmp(ext, "ndjson") || !strcmp(ext, "jsonl") || !strcmp(ext, "json"))
        return ASSAY_FORMAT_NDJSON;
    return ASSAY_FORMAT_CSV;
}

static size_t csv_row_end(void *ctx, const char *buf, size_t len)
{
    return assay_csv_last_row_end(ctx, buf, len);
}

static size_t ndjson_row_end(void *ctx, const char *buf, size_t len)
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
    for (uint32_t c = 0; c < s->ncols && n + 8 < cap; c++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", c ? ", " : "", s->names[c]);
}

int assay_engine_no_such_column(const assay_engine *e, const char *what, const char *name,
                                assay_config_pos pos, assay_error *err)
{
    char cols[256];
    list_columns(&e->sch, cols, sizeof(cols));
    const char *near = assay_closest(name, (const char *const *)e->sch.names, e->sch.ncols);
    return assay_error_set(
        err, -EINVAL, "%s:%d:%d: %s: no column '%s' in the data%s%s%s (columns: %s)", e->cfg->path,
        pos.line, pos.col, what, name, near ? " (did you mean '" : "", near ? near : "",
        near ? "'?)" : "", cols);
}

/* ---------------------------------------------------------------------------------
 * Schema from the first chunk
 * ------------------------------------------------------------------------------- */

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

static uint32_t count_newlines(const char *p, size_t n)
{
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

/* Build the schema from the first chunk; *start = bytes of header to skip. */
static int schema_from_chunk(assay_engine *e, const assay_chunk *ch, size_t *start,
                             assay_error *err)
{
    const assay_config *cfg = e->cfg;
    char **fields = NULL;
    uint32_t nf = 0;
    size_t consumed = 0;
    int rc;
    *start = 0;
    if (e->format == ASSAY_FORMAT_CSV) {
        if (ch->len > 0) {
            rc = assay_csv_read_row(&e->csv, ch->data, ch->len, &fields, &nf, &consumed, err);
            if (rc < 0)
                return assay_error_prefix(err, "%s:1", e->paths[ch->file]);
        }
        if (e->csv.header) {
            *start = consumed;
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
                    char name[32];
                    snprintf(name, sizeof(name), "c%u", i + 1);
                    fields[i] = strdup(name);
                }
            }
            if (!fields)
                return assay_error_set(err, -ENOMEM, "out of memory");
        }
    } else {
        rc = assay_ndjson_keys(ch->data, ch->len, 1000, &fields, &nf, err);
        if (rc < 0) {
            if (ch->len > 0 && !cfg->ncolumns)
                return assay_error_prefix(err, "%s", e->paths[ch->file]);
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
    if ((rc = schema_alloc(&e->sch, nf)) < 0) {
        free_fields(fields, nf);
        return assay_error_set(err, rc, "out of memory");
    }
    for (uint32_t c = 0; c < nf; c++) {
        e->sch.names[c] = fields[c];
        if (!e->sch.names[c])
            return assay_error_set(err, -ENOMEM, "out of memory");
        for (uint32_t k = 0; k < c; k++)
            if (!strcmp(e->sch.names[k], fields[c]))
                return assay_error_set(err, -EINVAL,
                                       "%s:1: column name '%s' appears twice in the header "
                                       "(columns %u and %u)",
                                       e->paths[ch->file], fields[c], k + 1, c + 1);
    }
    free(fields);
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
static int check_header(assay_engine *e, const assay_chunk *ch, size_t *start,
                        uint32_t *header_lines, assay_error *err)
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
        return assay_error_prefix(err, "%s:1", e->paths[ch->file]);
    rc = 0;
    for (uint32_t c = 0; c < ASSAY_MAX(nf, e->sch.ncols); c++) {
        const char *got = c < nf ? fields[c] : "(none)";
        const char *want = c < e->sch.ncols ? e->sch.names[c] : "(none)";
        if (strcmp(got, want)) {
            rc = assay_error_set(err, -EINVAL,
                                 "%s:1: header differs from %s: column %u is '%s', expected '%s' "
                                 "(all files of one run must have the same columns)",
                                 e->paths[ch->file], e->paths[0], c + 1, got, want);
            break;
        }
    }
    free_fields(fields, nf);
    *start = consumed;
    *header_lines = count_newlines(ch->data, consumed);
    return rc;
}

/* ---------------------------------------------------------------------------------
 * Rules
 * ------------------------------------------------------------------------------- */

/* Load the reference values of a foreign_key rule into a hash set. */
static int load_reference(assay_engine *e, assay_rule *r, assay_error *err)
{
    const assay_rule_config *rc_ = r->cfg;
    const char *path = rc_->ref_file;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return assay_error_set(err, -errno, "%s:%d:%d: rules.%s.ref.file: %s: %s", e->cfg->path,
                               rc_->pos.line, rc_->pos.col, rc_->name, path, strerror(errno));
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && (got = read(fd, buf + len, cap - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int en = errno;
            close(fd);
            free(buf);
            return assay_error_set(err, -en, "%s: %s", path, strerror(en));
        }
        len += (size_t)got;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf)
        return assay_error_set(err, -ENOMEM, "out of memory reading %s", path);

    /* Parse it with its own small engine: same parsers, its own schema. */
    assay_engine sub = { 0 };
    sub.cfg = e->cfg;
    sub.csv = e->csv;
    sub.csv.header = true;
    assay_ndjson_options_default(&sub.nj);
    const char *ext = path_ext(path);
    sub.format = (!strcmp(ext, "ndjson") || !strcmp(ext, "jsonl") || !strcmp(ext, "json"))
                     ? ASSAY_FORMAT_NDJSON
                     : ASSAY_FORMAT_CSV;
    size_t start = 0;
    char **names = NULL;
    uint32_t nn = 0;
    int rc;
    if (sub.format == ASSAY_FORMAT_CSV) {
        rc = assay_csv_read_row(&sub.csv, buf, len, &names, &nn, &start, err);
    } else {
        rc = assay_ndjson_keys(buf, len, 1000, &names, &nn, err);
    }
    if (rc < 0) {
        free(buf);
        return assay_error_prefix(err, "%s", path);
    }
    int col = -1;
    for (uint32_t i = 0; i < nn; i++)
        if (!strcmp(names[i], rc_->ref_column))
            col = (int)i;
    if (col < 0) {
        const char *near = assay_closest(rc_->ref_column, (const char *const *)names, nn);
        assay_error_set(err, -EINVAL, "%s:%d:%d: rules.%s.ref.column: no column '%s' in %s%s%s%s",
                        e->cfg->path, rc_->pos.line, rc_->pos.col, rc_->name, rc_->ref_column, path,
                        near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        free_fields(names, nn);
        free(buf);
        return -EINVAL;
    }
    if (sub.format == ASSAY_FORMAT_NDJSON &&
        assay_ndjson_schema_new((const char *const *)names, nn, &sub.njs) < 0) {
        free_fields(names, nn);
        free(buf);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    uint32_t cap_rows = 4096;
    uint8_t *want = calloc(nn, 1);
    assay_rowset rs = { 0 };
    char *tmp = malloc(len + 1);
    rc = assay_hashset_new(&r->set, 1024, 0);
    if (rc < 0 || !want || !tmp || assay_rowset_init(&rs, nn, want, cap_rows, 64) < 0) {
        rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
        goto out;
    }
    r->owns_set = true;
    want[col] = 1;
    assay_cursor cur = { .buf = buf, .len = len, .pos = start, .ord = 0 };
    while (cur.pos < cur.len) {
        size_t before = cur.pos;
        rs.nrows = rs.nbad = rs.nlines = 0;
        assay_engine_parse(&sub, &cur, &rs);
        for (uint32_t i = 0; i < rs.nrows; i++) {
            assay_cell cell = rs.cells[(size_t)col * cap_rows + i];
            uint8_t fl = rs.flags[(size_t)col * cap_rows + i];
            if (fl & ASSAY_CELL_NULL)
                continue;
            const char *p;
            uint32_t l;
            assay_cell_text(&sub, buf, cell, fl, tmp, &p, &l);
            if (assay_hashset_insert(r->set, assay_hash_bytes(p, l), 0, NULL) == -ENOSPC) {
                rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
                goto out;
            }
        }
        if (cur.pos == before && rs.nrows == 0 && rs.nbad == 0)
            break;
    }
    rc = 0;
out:
    assay_ndjson_schema_free(sub.njs);
    free(sub.sch.names);
    free_fields(names, nn);
    free(want);
    assay_rowset_free(&rs);
    free(tmp);
    free(buf);
    return rc;
}

static int compile_rules(assay_engine *e, int64_t now_us, assay_error *err)
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
        rc = assay_rule_compile(rc_, col, type, now_us, &e->rules[i], cfg->path, err);
        if (rc < 0)
            goto out;
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
        if (rc_->check == ASSAY_CHECK_FOREIGN_KEY && (rc = load_reference(e, r, err)) < 0)
            goto out;
    }
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

/* ---------------------------------------------------------------------------------
 * Merge
 * ------------------------------------------------------------------------------- */

typedef struct merge_ctx {
    pos_sample *cand;
    size_t ncand, max;
} merge_ctx;

/* A key first seen in two shards: the later first occurrence is a duplicate. Keep
 * the `max` smallest such positions as sample candidates. */
static void on_both(void *ctx, uint64_t key, uint64_t dst_val, uint64_t src_val)
{
    (void)key;
    merge_ctx *m = ctx;
    uint64_t p = dst_val > src_val ? dst_val : src_val;
    size_t at = m->ncand;
    while (at > 0 && m->cand[at - 1].pos > p)
        at--;
    if (at >= m->max)
        return;
    if (m->ncand == m->max)
        m->ncand--;
    memmove(&m->cand[at + 1], &m->cand[at], (m->ncand - at) * sizeof(pos_sample));
    m->cand[at] = (pos_sample){ .pos = p, .value = NULL, .fetch = true };
    m->ncand++;
}

/* Duplicates that no single shard saw: a value first seen in m shards is m - 1 more
 * repeats. For each shard k > 0, every key it holds is looked up in shards 0..k-1;
 * when found, the later of (its first position in k, its earliest first position in
 * the shards before) is a repeat - over all k that names every first occurrence but
 * the global first exactly once. Lookups only: no merged table is built, so merging
 * needs no memory beyond the shards' own sets, and walking one table in slot order
 * while probing another of similar size reads both nearly sequentially. */
uint64_t assay_cross_shard_repeats(assay_hashset *const *sets, unsigned n, assay_repeat_fn fn,
                                   void *ctx)
{
    uint64_t cross = 0;
    for (unsigned k = 1; k < n; k++) {
        size_t cursor = 0;
        uint64_t key, pk;
        while (assay_hashset_next(sets[k], &cursor, &key, &pk)) {
            uint64_t earliest = UINT64_MAX, pj;
            for (unsigned j = 0; j < k; j++)
                if (assay_hashset_get(sets[j], key, &pj) && pj < earliest)
                    earliest = pj;
            if (earliest == UINT64_MAX)
                continue;
            cross++;
            if (fn)
                fn(ctx, key, earliest, pk);
        }
    }
    return cross;
}

static int cmp_pos(const void *a, const void *b)
{
    uint64_t x = ((const pos_sample *)a)->pos, y = ((const pos_sample *)b)->pos;
    return (x > y) - (x < y);
}

/* Re-read one row of the input to recover a sample value no shard kept. */
static char *fetch_value(assay_engine *e, const chunk_stat *st, uint32_t ord, int col)
{
    const char *path = e->paths[st->file];
    if (!strcmp(path, "-"))
        return strdup("(value not retained: input was a stream)");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(st->len ? st->len : 1);
    char *out = NULL;
    if (buf && pread(fd, buf, st->len, (off_t)st->offset) == (ssize_t)st->len) {
        uint32_t nc = e->sch.ncols, cap = 1024;
        uint8_t *want = calloc(nc, 1);
        assay_rowset rs = { 0 };
        if (want && assay_rowset_init(&rs, nc, want, cap, 64) == 0) {
            want[col] = 1;
            assay_cursor cur = { .buf = buf, .len = st->len, .pos = st->start, .ord = 0 };
            while (!out && cur.pos < cur.len) {
                size_t before = cur.pos;
                rs.nrows = rs.nbad = rs.nlines = 0;
                assay_engine_parse(e, &cur, &rs);
                for (uint32_t i = 0; i < rs.nrows; i++) {
                    if (rs.row_ord[i] != ord)
                        continue;
                    assay_cell cell = rs.cells[(size_t)col * cap + i];
                    uint8_t fl = rs.flags[(size_t)col * cap + i];
                    char *tmp = malloc(cell.len + 1);
                    const char *p;
                    uint32_t l;
                    if (!tmp)
                        break;
                    assay_cell_text(e, buf, cell, fl, tmp, &p, &l);
                    out = assay_sample_copy(p, l);
                    free(tmp);
                    break;
                }
                if (cur.pos == before && rs.nrows == 0 && rs.nbad == 0)
                    break;
            }
        }
        free(want);
        assay_rowset_free(&rs);
    }
    free(buf);
    close(fd);
    return out;
}

static int merge(assay_engine *e, assay_result *res, assay_error *err)
{
    /* chunk table indexed by seq */
    uint64_t nseq = 0;
    for (unsigned k = 0; k < e->nshards; k++)
        for (size_t i = 0; i < e->shards[k].nstats; i++)
            nseq = ASSAY_MAX(nseq, e->shards[k].stats[i].seq + 1);
    chunk_stat *tab = calloc(nseq ? nseq : 1, sizeof(chunk_stat));
    uint64_t *rows_before = calloc(nseq ? nseq : 1, 8);
    uint64_t *lines_before = calloc(nseq ? nseq : 1, 8);
    if (!tab || !rows_before || !lines_before) {
        free(tab);
        free(rows_before);
        free(lines_before);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    for (unsigned k = 0; k < e->nshards; k++)
        for (size_t i = 0; i < e->shards[k].nstats; i++)
            tab[e->shards[k].stats[i].seq] = e->shards[k].stats[i];
    uint64_t rows = 0, lines = 0;
    uint32_t file = UINT32_MAX;
    for (uint64_t q = 0; q < nseq; q++) {
        if (tab[q].file != file)
            lines = 0, file = tab[q].file;
        rows_before[q] = rows;
        lines_before[q] = lines;
        rows += tab[q].rows;
        lines += tab[q].lines;
    }
    res->rows = rows;

    /* bad rows */
    size_t nb = 0;
    for (unsigned k = 0; k < e->nshards; k++) {
        res->bad_rows += e->shards[k].nbad;
        nb += e->shards[k].nbad_kept;
    }
    bad_acc *all = calloc(nb ? nb : 1, sizeof(bad_acc));
    if (!all)
        goto oom;
    nb = 0;
    for (unsigned k = 0; k < e->nshards; k++)
        for (size_t i = 0; i < e->shards[k].nbad_kept; i++)
            all[nb++] = e->shards[k].bad[i];
    qsort(all, nb, sizeof(bad_acc), cmp_pos); /* pos is the first member */
    res->nbad_samples = ASSAY_MIN(nb, (size_t)ASSAY_BAD_SAMPLES);
    res->bad_samples = calloc(res->nbad_samples ? res->nbad_samples : 1, sizeof(assay_bad_sample));
    if (!res->bad_samples) {
        free(all);
        goto oom;
    }
    for (size_t i = 0; i < res->nbad_samples; i++) {
        uint32_t q = POS_SEQ(all[i].pos);
        assay_bad_sample *b = &res->bad_samples[i];
        b->file = all[i].file;
        b->row = rows_before[q] + POS_ORD(all[i].pos) + 1;
        b->line = lines_before[q] + all[i].line_in_chunk + 1;
        memcpy(b->reason, all[i].reason, sizeof(b->reason));
        b->text = all[i].text ? strdup(all[i].text) : NULL;
    }
    free(all);

    /* rules */
    res->nrules = e->nrules;
    res->rules = calloc(e->nrules ? e->nrules : 1, sizeof(assay_rule_result));
    if (!res->rules)
        goto oom;
    size_t S = e->max_samples;
    for (size_t r = 0; r < e->nrules; r++) {
        assay_rule *rule = &e->rules[r];
        assay_rule_result *rr = &res->rules[r];
        rr->cfg = rule->cfg;
        if (rule->col < 0) {
            /* row_count: one table-level check per window */
            const assay_rule_config *c = rule->cfg;
            rr->evaluated = 1;
            rr->failed =
                (c->has_min && (double)rows < c->min) || (c->has_max && (double)rows > c->max);
            if (rr->failed) {
                char msg[160];
                snprintf(msg, sizeof(msg), "%llu rows, expected %s%s%s%s%s",
                         (unsigned long long)rows, c->has_min ? "at least " : "",
                         c->has_min ? c->min_text : "", c->has_min && c->has_max ? " and " : "",
                         c->has_max ? "at most " : "", c->has_max ? c->max_text : "");
                rr->note = strdup(msg);
            }
        } else {
            size_t ncand = 0;
            for (unsigned k = 0; k < e->nshards; k++) {
                rr->evaluated += e->shards[k].acc[r].evaluated;
                rr->failed += e->shards[k].acc[r].failed;
                ncand += e->shards[k].acc[r].nsamples;
            }
            merge_ctx mc = { .cand = calloc(S + 1, sizeof(pos_sample)), .max = S };
            pos_sample *cand = calloc(ncand + S + 1, sizeof(pos_sample));
            if (!mc.cand || !cand) {
                free(mc.cand);
                free(cand);
                goto oom;
            }
            if (rule->cfg->check == ASSAY_CHECK_UNIQUE) {
                bool capped = false;
                size_t distinct = 0;
                for (unsigned k = 0; k < e->nshards; k++) {
                    capped |= e->shards[k].rst[r].capped;
                    distinct += assay_hashset_size(e->shards[k].rst[r].uniq);
                }
                assay_hashset *sets[256] = { 0 };
                for (unsigned k = 0; k < e->nshards; k++)
                    sets[k] = e->shards[k].rst[r].uniq;
                uint64_t cross = assay_cross_shard_repeats(sets, e->nshards, on_both, &mc);
                rr->failed += cross;
                distinct -= (size_t)cross;
                if (capped) {
                    char msg[200];
                    snprintf(msg, sizeof(msg),
                             "limits.unique_memory (%llu MiB) reached after %zu distinct values: "
                             "repeats of values not tracked are not counted",
                             (unsigned long long)(e->cfg->limits.unique_memory >> 20), distinct);
                    rr->note = strdup(msg);
                }
            }
            size_t nc = 0;
            for (unsigned k = 0; k < e->nshards; k++)
                for (size_t i = 0; i < e->shards[k].acc[r].nsamples; i++)
                    cand[nc++] = e->shards[k].acc[r].samples[i];
            for (size_t i = 0; i < mc.ncand; i++)
                cand[nc++] = mc.cand[i];
            qsort(cand, nc, sizeof(pos_sample), cmp_pos);
            rr->nsamples = ASSAY_MIN(nc, S);
            rr->samples = calloc(rr->nsamples ? rr->nsamples : 1, sizeof(assay_sample));
            if (!rr->samples) {
                free(mc.cand);
                free(cand);
                goto oom;
            }
            for (size_t i = 0; i < rr->nsamples; i++) {
                uint32_t q = POS_SEQ(cand[i].pos);
                rr->samples[i].row = rows_before[q] + POS_ORD(cand[i].pos) + 1;
                if (cand[i].fetch)
                    rr->samples[i].value = fetch_value(e, &tab[q], POS_ORD(cand[i].pos), rule->col);
                else
                    rr->samples[i].value = cand[i].value ? strdup(cand[i].value) : NULL;
            }
            free(mc.cand);
            free(cand);
        }
        rr->fail_rate = rr->evaluated ? (double)rr->failed / (double)rr->evaluated : 0;
        rr->breached = rr->evaluated > 0 && rr->fail_rate > rule->cfg->threshold;
        res->breached += rr->breached;
    }

    /* columns */
    res->ncolumns = e->sch.ncols;
    res->columns = calloc(e->sch.ncols ? e->sch.ncols : 1, sizeof(assay_column_result));
    if (!res->columns)
        goto oom;
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        assay_column_result *cr = &res->columns[c];
        cr->name = strdup(e->sch.names[c]);
        cr->type = e->sch.types[c];
        cr->inferred = e->sch.inferred[c];
        cr->parsed = e->sch.want[c];
        for (unsigned k = 0; k < e->nshards; k++) {
            cr->count += e->shards[k].col_count[c];
            cr->nulls += e->shards[k].col_nulls[c];
            cr->invalid += e->shards[k].col_invalid[c];
        }
    }
    int prc = assay_profile_merge(e, res, err);
    if (prc == 0)
        prc = assay_anomaly_merge(e, res, rows_before, err);
    if (prc < 0) {
        free(tab);
        free(rows_before);
        free(lines_before);
        return prc;
    }
    free(tab);
    free(rows_before);
    free(lines_before);
    return 0;
oom:
    free(tab);
    free(rows_before);
    free(lines_before);
    return assay_error_set(err, -ENOMEM, "out of memory merging results");
}

/* ---------------------------------------------------------------------------------
 * Where chunks come from: files through the reader, or a buffer in memory
 * (`assay bench` without FILE), cut the same way on row boundaries.
 * ------------------------------------------------------------------------------- */

typedef struct source {
    assay_reader *rd;
    const char *mem;
    size_t mem_len, mem_pos, chunk;
    uint64_t seq;
    unsigned out, max_out; /* chunks handed out and not yet released */
    assay_row_end_fn row_end;
    void *row_end_ctx;
    double read_seconds; /* time spent producing chunks (the read stage) */
} source;

static int src_next(source *s, assay_chunk *c, assay_error *err)
{
    double t0 = now_seconds();
    int rc;
    if (s->rd) {
        rc = assay_reader_next(s->rd, c, err);
    } else if (s->mem_pos >= s->mem_len) {
        rc = 1;
    } else if (s->out >= s->max_out) {
        rc = -EAGAIN;
    } else {
        size_t rest = s->mem_len - s->mem_pos, len = rest;
        if (rest > s->chunk) {
            len = s->row_end(s->row_end_ctx, s->mem + s->mem_pos, s->chunk);
            if (len == 0) /* a row longer than a chunk: take up to its end */
                len = ASSAY_MAX(s->row_end(s->row_end_ctx, s->mem + s->mem_pos, rest), rest);
        }
        memset(c, 0, sizeof(*c));
        c->data = s->mem + s->mem_pos;
        c->len = len;
        c->seq = s->seq++;
        c->offset = s->mem_pos;
        c->first_in_file = s->mem_pos == 0;
        s->mem_pos += len;
        c->last_in_file = s->mem_pos >= s->mem_len;
        s->out++;
        rc = 0;
    }
    s->read_seconds += now_seconds() - t0;
    return rc;
}

static void src_release(source *s, const assay_chunk *c)
{
    if (s->rd)
        assay_reader_release(s->rd, c);
    else
        s->out--;
}

static uint64_t src_bytes_read(const source *s)
{
    return s->rd ? assay_reader_bytes_read(s->rd) : s->mem_pos;
}

static uint64_t src_bytes_total(const source *s)
{
    return s->rd ? assay_reader_bytes_total(s->rd) : s->mem_len;
}

/* ---------------------------------------------------------------------------------
 * The pass
 * ------------------------------------------------------------------------------- */

/* A chunk back from its shard, in chunk order: fold its profile sketches, write its
 * row scores, give its buffer back. The first failure of each kind is kept. */
static void chunk_returned(assay_engine *e, source *src, chunk_msg *back, int *absorb_rc,
                           int *scores_rc)
{
    int rc = assay_profile_absorb(e, back);
    if (rc < 0 && *absorb_rc == 0)
        *absorb_rc = rc;
    rc = assay_anomaly_absorb(e, back);
    if (rc < 0 && *scores_rc == 0)
        *scores_rc = rc;
    src_release(src, &back->chunk);
}

static void engine_free(assay_engine *e)
{
    for (unsigned k = 0; e->shards && k < e->nshards; k++)
        assay_shard_free(&e->shards[k]);
    free(e->shards);
    for (size_t r = 0; e->rules && r < e->nrules; r++)
        assay_rule_free(&e->rules[r]);
    free(e->rules);
    assay_profile_engine_free(e);
    assay_anomaly_engine_free(e);
    assay_ndjson_schema_free(e->njs);
    assay_schema_free(&e->sch);
}

int assay_engine_check(const assay_engine_options *o, assay_result **out, assay_error *err)
{
    const assay_config *cfg = o->cfg;
    assay_engine e = { 0 };
    assay_reader *rd = NULL;
    assay_result *res = NULL;
    chunk_msg *msgs = NULL;
    chunk_msg *stops = NULL;
    unsigned started = 0;
    int rc = 0;
    double t0 = now_seconds();
    *out = NULL;

    e.opt = o;
    e.cfg = cfg;
    e.paths = o->paths;
    e.npaths = o->npaths;
    static const char *const mem_name[] = { "(memory)" };
    if (o->mem) {
        e.paths = mem_name;
        e.npaths = 1;
    } else if (o->npaths == 0) {
        if (!cfg->source.file)
            return assay_error_set(err, -EINVAL,
                                   "no input: give FILE... on the command line or source.file "
                                   "in %s",
                                   cfg->path ? cfg->path : "the config");
        e.paths = (const char *const *)&cfg->source.file;
        e.npaths = 1;
    }
    e.format = detect_format(o, e.paths[0]);
    assay_csv_options_default(&e.csv);
    e.csv.delimiter = cfg->source.delimiter ? cfg->source.delimiter : ',';
    e.csv.quote = cfg->source.quote ? cfg->source.quote : '"';
    e.csv.header = cfg->source.header;
    e.csv.max_row_bytes = (uint32_t)ASSAY_MIN(cfg->limits.max_row_bytes, (uint64_t)UINT32_MAX / 2);
    e.csv.max_fields = (uint32_t)ASSAY_MIN(cfg->limits.max_fields, (uint64_t)UINT32_MAX);
    assay_ndjson_options_default(&e.nj);
    e.nj.max_row_bytes = e.csv.max_row_bytes;
    e.batch_rows = o->batch_rows ? o->batch_rows : 4096;
    e.profile = o->profile;
    e.duplicate_rows = o->duplicate_rows;
    e.hll_p = 16;
    e.max_samples = cfg->limits.samples;
    e.row_scores = o->row_scores;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    e.nshards = o->threads ? o->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    if (e.nshards > 256)
        e.nshards = 256;
    int64_t now_us = o->now_us;
    if (now_us == INT64_MIN) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }

    assay_reader_options ro;
    assay_reader_options_default(&ro);
    ro.buffer_size = o->chunk_bytes ? o->chunk_bytes : ro.buffer_size;
    ro.max_row_bytes = cfg->limits.max_row_bytes;
    ro.nbuffers = ASSAY_MAX(ro.nbuffers, 3 * e.nshards + 2);
    ro.row_end = e.format == ASSAY_FORMAT_CSV ? csv_row_end : ndjson_row_end;
    ro.row_end_ctx = &e.csv;
    source src = { .chunk = ro.buffer_size,
                   .max_out = ro.nbuffers,
                   .row_end = ro.row_end,
                   .row_end_ctx = ro.row_end_ctx };
    if (o->mem) {
        src.mem = o->mem;
        src.mem_len = o->mem_len;
    } else {
        if ((rc = assay_reader_open(&rd, e.paths, e.npaths, &ro, err)) < 0)
            goto out;
        src.rd = rd;
    }

    msgs = calloc(ro.nbuffers, sizeof(chunk_msg));
    stops = calloc(e.nshards, sizeof(chunk_msg));
    bool *msg_used = calloc(ro.nbuffers, sizeof(bool));
    if (!msgs || !stops || !msg_used) {
        free(msg_used);
        rc = assay_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }

    /* First chunk: schema, inference, rules. */
    assay_chunk first;
    int nrc;
    bool have_first = false;
    while ((nrc = src_next(&src, &first, err)) == 0) {
        if (first.len > 0) {
            have_first = true;
            break;
        }
        src_release(&src, &first);
    }
    if (nrc < 0) {
        free(msg_used);
        rc = nrc;
        goto out;
    }
    if (have_first && first.oversized) {
        src_release(&src, &first);
        free(msg_used);
        rc = assay_error_set(err, -EINVAL,
                             "%s:1: first row is longer than limits.max_row_bytes (%llu); raise "
                             "the limit or check the delimiter and quote settings",
                             e.paths[first.file], (unsigned long long)cfg->limits.max_row_bytes);
        goto out;
    }
    assay_chunk empty = { 0 };
    size_t first_start = 0;
    if ((rc = schema_from_chunk(&e, have_first ? &first : &empty, &first_start, err)) < 0 ||
        (rc = compile_rules(&e, now_us, err)) < 0 ||
        (rc = assay_anomaly_engine_init(&e, err)) < 0) {
        if (have_first)
            src_release(&src, &first);
        free(msg_used);
        goto out;
    }

    if (e.profile) {
        /* the profile reads every column: text for hashing and top-k, typed values
         * for the numeric sketches */
        for (uint32_t c = 0; c < e.sch.ncols; c++) {
            e.sch.want[c] = 1;
            e.sch.need_text[c] = 1;
            if (e.sch.types[c] != ASSAY_TYPE_STRING && e.sch.types[c] != ASSAY_TYPE_UNKNOWN)
                e.sch.need_typed[c] = 1;
        }
    }
    if ((rc = assay_profile_engine_init(&e)) < 0) {
        free(msg_used);
        assay_error_set(err, rc, "out of memory setting up the profile");
        goto out;
    }
    if (e.avg_row_bytes > 0 && src_bytes_total(&src) > 0)
        e.est_rows = (uint64_t)((double)src_bytes_total(&src) / e.avg_row_bytes);

    e.shards = calloc(e.nshards, sizeof(assay_shard));
    if (!e.shards) {
        free(msg_used);
        rc = assay_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (unsigned k = 0; k < e.nshards; k++) {
        if ((rc = assay_shard_init(&e, &e.shards[k], k)) < 0) {
            free(msg_used);
            assay_error_set(err, rc, "cannot set up shard %u: out of memory", k);
            goto join;
        }
    }
    for (unsigned k = 0; k < e.nshards; k++) {
        if (pthread_create(&e.shards[k].thread, NULL, assay_shard_main, &e.shards[k]) != 0) {
            free(msg_used);
            rc = assay_error_set(err, -EAGAIN, "cannot start shard thread %u", k);
            goto join;
        }
        started++;
    }

    /* Dispatch. Chunk k goes to shard k mod N; `outstanding` is a FIFO of messages
     * out, so when the reader runs out of buffers we wait on the oldest one's shard. */
    uint64_t dispatched = 0, returned = 0;
    int absorb_rc = 0; /* first failure folding a chunk's profile sketches */
    int scores_rc = 0; /* first failure writing --row-scores */
    chunk_msg **fifo = calloc(ro.nbuffers + 1, sizeof(chunk_msg *));
    unsigned *fifo_shard = calloc(ro.nbuffers + 1, sizeof(unsigned));
    if (!fifo || !fifo_shard) {
        free(fifo);
        free(fifo_shard);
        free(msg_used);
        rc = assay_error_set(err, -ENOMEM, "out of memory");
        goto join;
    }
    size_t fcap = ro.nbuffers + 1;
    double last_progress = now_seconds();
    uint64_t next_shard = 0;
    bool use_first = have_first;
    for (;;) {
        assay_chunk ch;
        if (use_first) {
            ch = first;
            use_first = false;
            nrc = 0;
        } else {
            nrc = src_next(&src, &ch, err);
        }
        if (nrc == -EAGAIN) {
            /* wait for the oldest chunk out to come back */
            if (dispatched == returned) {
                rc = assay_error_set(err, -EIO, "reader has no free buffer and none is out");
                break;
            }
            size_t slot = returned % fcap;
            chunk_msg *back = assay_ring_pop_wait(&e.shards[fifo_shard[slot]].out);
            chunk_returned(&e, &src, back, &absorb_rc, &scores_rc);
            msg_used[back - msgs] = false;
            returned++;
            continue;
        }
        if (nrc == 1)
            break;
        if (nrc < 0) {
            rc = nrc;
            break;
        }
        if (ch.len == 0 && !ch.oversized) {
            src_release(&src, &ch);
            continue;
        }
        size_t mi = 0;
        while (mi < ro.nbuffers && msg_used[mi])
            mi++;
        chunk_msg *m = &msgs[mi];
        msg_used[mi] = true;
        memset(m, 0, sizeof(*m));
        m->chunk = ch;
        if (ch.first_in_file && !ch.oversized) {
            if (ch.seq == first.seq && have_first) {
                m->start = first_start;
                m->header_lines = count_newlines(ch.data, first_start);
            } else if ((rc = check_header(&e, &ch, &m->start, &m->header_lines, err)) < 0) {
                src_release(&src, &ch);
                msg_used[mi] = false;
                break;
            }
        }
        unsigned k = (unsigned)(next_shard++ % e.nshards);
        fifo[dispatched % fcap] = m;
        fifo_shard[dispatched % fcap] = k;
        assay_ring_push_wait(&e.shards[k].in, m);
        dispatched++;
        if (o->progress) {
            double t = now_seconds();
            if (t - last_progress >= 0.25) {
                last_progress = t;
                uint64_t got = src_bytes_read(&src);
                o->progress(o->progress_ctx, got, src_bytes_total(&src),
                            e.avg_row_bytes > 0 ? (uint64_t)((double)got / e.avg_row_bytes) : 0);
            }
        }
    }
    while (returned < dispatched) {
        size_t slot = returned % fcap;
        chunk_msg *back = assay_ring_pop_wait(&e.shards[fifo_shard[slot]].out);
        chunk_returned(&e, &src, back, &absorb_rc, &scores_rc);
        msg_used[back - msgs] = false;
        returned++;
    }
    free(fifo);
    free(fifo_shard);
    free(msg_used);
    if (rc == 0 && absorb_rc < 0)
        rc = assay_error_set(err, absorb_rc, "cannot fold a chunk's profile: %s",
                             strerror(-absorb_rc));
    if (rc == 0 && scores_rc < 0)
        rc = assay_error_set(err, scores_rc, "cannot write the row scores (--row-scores): %s",
                             strerror(-scores_rc));

join:
    for (unsigned k = 0; k < started; k++) {
        stops[k].stop = true;
        assay_ring_push_wait(&e.shards[k].in, &stops[k]);
    }
    for (unsigned k = 0; k < started; k++) {
        assay_ring_pop_wait(&e.shards[k].out); /* the stop message comes back */
        pthread_join(e.shards[k].thread, NULL);
        if (rc == 0 && e.shards[k].error)
            rc = assay_error_set(err, e.shards[k].error, "shard %u failed: %s", k,
                                 strerror(-e.shards[k].error));
    }
    if (rc < 0)
        goto out;

    res = calloc(1, sizeof(*res));
    if (!res) {
        rc = assay_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    res->format = e.format;
    res->threads = e.nshards;
    res->io_uring = rd && assay_reader_uses_io_uring(rd);
    res->simd = assay_simd_name(assay_cpu_level());
    res->bytes = src_bytes_read(&src);
    res->nfiles = e.npaths;
    res->files = calloc(e.npaths, sizeof(char *));
    for (size_t i = 0; res->files && i < e.npaths; i++)
        res->files[i] = strdup(e.paths[i]);
    double t_merge = now_seconds();
    if ((rc = merge(&e, res, err)) < 0)
        goto out;
    assay_score(res, cfg);
    for (unsigned k = 0; k < e.nshards; k++)
        for (int st = 0; st < ASSAY_STAGE_COUNT; st++)
            res->stage_seconds[st] += e.shards[k].stage[st];
    res->stage_seconds[ASSAY_STAGE_READ] = src.read_seconds;
    res->stage_seconds[ASSAY_STAGE_MERGE] = now_seconds() - t_merge;
    res->seconds = now_seconds() - t0;
    if (o->progress)
        o->progress(o->progress_ctx, res->bytes, res->bytes, res->rows);
    *out = res;
    res = NULL;
out:
    assay_result_free(res);
    free(msgs);
    free(stops);
    engine_free(&e);
    assay_reader_close(rd);
    return rc;
}

void assay_result_free(assay_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->files && i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    for (size_t i = 0; r->bad_samples && i < r->nbad_samples; i++)
        free(r->bad_samples[i].text);
    free(r->bad_samples);
    for (size_t i = 0; r->rules && i < r->nrules; i++) {
        for (size_t k = 0; k < r->rules[i].nsamples; k++)
            free(r->rules[i].samples[k].value);
        free(r->rules[i].samples);
        free(r->rules[i].note);
    }
    free(r->rules);
    for (size_t i = 0; r->columns && i < r->ncolumns; i++)
        assay_column_result_free(&r->columns[i]);
    free(r->columns);
    assay_anomaly_result_free(&r->anomaly);
    free(r->duplicate_note);
    free(r);
}

int assay_result_status(const assay_result *r)
{
    return (r->breached > 0 || r->bad_rows > 0) ? 1 : 0;
}
