/*
 * Shard: one worker thread that turns chunks of whole rows into partial window state
 * (src/window/partial.c) without touching another shard's memory (docs/design.md).
 * Everything it computes goes into the chunk's message; the aggregator folds messages
 * back in stream order. Its only long-lived state is the isolation forests of the
 * partitions it owns.
 *
 * Per chunk: the format's parser frames and splits rows in batches of batch_rows
 * (cells are slices into the chunk, only for wanted columns). Per batch:
 *   1. text views for columns that text rules need (unescaped only if the cell
 *      carried escapes), UTF-8 checked for CSV - a row with invalid UTF-8 in any
 *      column (read or not) becomes a bad row and leaves the batch's `ok` bitmap;
 *   2. typed vectors (int64 / double / microseconds / bool) for columns that typed
 *      rules need, with an `invalid` bitmap for values not of the type;
 *   3. one Vectorscan pass per column with matches rules (all its patterns at once);
 *   4. event time: each row's pane and first window from the chunk-local watermark
 *      (window.c explains why that is enough), which picks the row's partial; rows
 *      without a usable event time become bad rows, rows the chunk alone shows to be
 *      late are counted and go in no partial;
 *   5. every rule fills fail/eval bitmaps over the batch; counts are popcounts under
 *      each partial's row mask, and the first failures are kept as samples. `unique`
 *      only hashes here: the aggregator checks the hashes against the window's set in
 *      stream order, so repeats across chunks (and shards) are exact;
 *   6. profile sketches and anomaly scores per partial;
 *   7. routes: clean rows as runs of input bytes, quarantined rows with their reasons.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/bitmap.h"
#include "assay/number.h"
#include "assay/utf8.h"
#include "core/grow.h"
#include "core/clock.h"
#include "engine/engine_internal.h"
#include "rules/expr_internal.h"

static void *xcalloc(size_t n, size_t sz, int *err)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        *err = -ENOMEM;
    return p;
}

int assay_shard_init(assay_engine *e, assay_shard *s, unsigned id)
{
    int err = 0;
    uint32_t cap = e->batch_rows, nc = e->sch.ncols;
    size_t words = ASSAY_BITMAP_WORDS(cap);
    memset(s, 0, sizeof(*s));
    s->e = e;
    s->id = id;
    if (assay_ring_init(&s->in, 8) < 0 || assay_ring_init(&s->out, 64) < 0)
        return -ENOMEM;
    if (assay_rowset_init(&s->rs, nc, e->sch.want, cap, 256) < 0)
        return -ENOMEM;
    if (e->format == ASSAY_FORMAT_NDJSON) { /* keys the schema lacks, for the schema alert */
        s->rs.unk_cap = 4 * cap;
        if (!(s->rs.unk = calloc(s->rs.unk_cap, sizeof(assay_unknown_key))))
            return -ENOMEM;
    }
    s->ok = xcalloc(words, 8, &err);
    s->fail = xcalloc(words, 8, &err);
    s->eval = xcalloc(words, 8, &err);
    s->blocked = xcalloc(words, 8, &err);
    s->pos = xcalloc(cap, 8, &err);
    s->pidx = xcalloc(cap, sizeof(uint32_t), &err);
    s->prio = xcalloc(cap, 8, &err);
    s->null = xcalloc(nc, sizeof(void *), &err);
    s->invalid = xcalloc(nc, sizeof(void *), &err);
    s->frac = xcalloc(nc, sizeof(void *), &err);
    s->i64 = xcalloc(nc, sizeof(void *), &err);
    s->f64 = xcalloc(nc, sizeof(void *), &err);
    s->str = xcalloc(nc, sizeof(void *), &err);
    s->len = xcalloc(nc, sizeof(void *), &err);
    s->match = xcalloc(nc, sizeof(void *), &err);
    s->rx = xcalloc(nc, sizeof(void *), &err);
    s->bfail = xcalloc(e->nrules, sizeof(void *), &err);
    if (err)
        return err;
    for (uint32_t c = 0; c < nc; c++) {
        if (!e->sch.want[c])
            continue;
        s->any_text |= e->sch.need_text[c];
        s->null[c] = xcalloc(words, 8, &err);
        s->invalid[c] = xcalloc(words, 8, &err);
        if (e->sch.need_typed[c]) {
            if (e->sch.types[c] == ASSAY_TYPE_FLOAT)
                s->f64[c] = xcalloc(cap, sizeof(double), &err);
            else
                s->i64[c] = xcalloc(cap, sizeof(int64_t), &err);
            /* an inferred int column also carries every value as a double, for the
             * values that turn out to need one (see parse_typed) */
            if (e->sch.types[c] == ASSAY_TYPE_INT && e->sch.inferred[c]) {
                s->f64[c] = xcalloc(cap, sizeof(double), &err);
                s->frac[c] = xcalloc(words, 8, &err);
            }
        }
        if (e->sch.need_text[c]) {
            s->str[c] = xcalloc(cap, sizeof(char *), &err);
            s->len[c] = xcalloc(cap, sizeof(uint32_t), &err);
        }
        if (e->sch.regex[c]) {
            size_t np = assay_regex_count(e->sch.regex[c]);
            s->match[c] = xcalloc(np, sizeof(uint64_t *), &err);
            for (size_t j = 0; !err && j < np; j++)
                s->match[c][j] = xcalloc(words, 8, &err);
            if (!err && assay_regex_scratch_new(e->sch.regex[c], &s->rx[c]) < 0)
                err = -ENOMEM;
        }
    }
    s->xs = xcalloc(e->nrules, sizeof(void *), &err);
    s->xviews = xcalloc(nc, sizeof(assay_col_view), &err);
    for (size_t r = 0; !err && r < e->nrules; r++)
        if (e->rules[r].expr && assay_expr_scratch_new(e->rules[r].expr, cap, &s->xs[r]) < 0)
            err = -ENOMEM;
    for (size_t r = 0; !err && r < e->nrules; r++)
        if (e->rules[r].col >= 0 && e->rules[r].cfg->action == ASSAY_ACTION_BLOCK &&
            e->rules[r].cfg->check != ASSAY_CHECK_UNIQUE)
            s->bfail[r] = xcalloc(words, 8, &err);
    if (err)
        return err;
    if ((err = assay_profile_shard_init(e, s)) < 0 || (err = assay_anomaly_shard_init(e, s)) < 0)
        return err;
    return 0;
}

void assay_shard_free(assay_shard *s)
{
    assay_engine *e = s->e;
    if (!e)
        return;
    for (uint32_t c = 0; s->null && c < e->sch.ncols; c++) {
        free(s->null[c]);
        free(s->invalid[c]);
        free(s->i64[c]);
        free(s->f64[c]);
        free(s->frac[c]);
        free((void *)s->str[c]);
        free(s->len[c]);
        if (s->match[c]) {
            for (size_t j = 0; j < assay_regex_count(e->sch.regex[c]); j++)
                free(s->match[c][j]);
            free(s->match[c]);
        }
        assay_regex_scratch_free(s->rx[c]);
    }
    for (size_t r = 0; s->bfail && r < e->nrules; r++)
        free(s->bfail[r]);
    for (size_t r = 0; s->xs && r < e->nrules; r++)
        assay_expr_scratch_free(s->xs[r]);
    free(s->xs);
    free(s->xviews);
    for (uint32_t k = 0; k < s->masks_cap; k++)
        free(s->masks[k]);
    free(s->masks);
    free(s->mpart);
    free(s->bfail);
    assay_profile_shard_free(s);
    assay_anomaly_shard_free(s);
    assay_rowset_free(&s->rs);
    free(s->ok);
    free(s->fail);
    free(s->eval);
    free(s->blocked);
    free(s->pos);
    free(s->pidx);
    free(s->prio);
    free(s->null);
    free(s->invalid);
    free(s->frac);
    free(s->i64);
    free(s->f64);
    free(s->str);
    free(s->len);
    free(s->match);
    free(s->rx);
    free(s->scratch);
    assay_ring_destroy(&s->in);
    assay_ring_destroy(&s->out);
    memset(s, 0, sizeof(*s));
}

/* ---------------------------------------------------------------------------------
 * Cells to values
 * ------------------------------------------------------------------------------- */

int assay_engine_parse(const assay_engine *e, assay_cursor *cur, assay_rowset *rs)
{
    if (e->format == ASSAY_FORMAT_NDJSON)
        return assay_ndjson_parse(&e->nj, e->njs, cur, rs);
    return assay_csv_parse(&e->csv, cur, rs);
}

void assay_cell_text(const assay_engine *e, const char *base, assay_cell cell, uint8_t flags,
                     char *buf, const char **p, uint32_t *len)
{
    const char *src = base + cell.off;
    if (!(flags & ASSAY_CELL_ESCAPED)) {
        *p = src;
        *len = cell.len;
        return;
    }
    if (e->format == ASSAY_FORMAT_NDJSON) {
        size_t n = 0;
        if (assay_json_unescape(src, cell.len, buf, &n) < 0) {
            *p = src; /* the parser validated it; keep the raw text if not */
            *len = cell.len;
            return;
        }
        *p = buf;
        *len = (uint32_t)n;
        return;
    }
    *p = buf;
    *len = (uint32_t)assay_csv_unescape(src, cell.len, e->csv.quote, buf);
}

/* Bytes for one unescaped value. reserve_scratch() sized the arena for every escaped
 * cell of the batch up front, so this never runs out (and the text views handed out
 * earlier in the batch stay valid: the arena is not moved while a batch runs). */
static char *scratch_alloc(assay_shard *s, size_t n)
{
    assay_assert(s->scratch_len + n <= s->scratch_cap);
    char *p = s->scratch + s->scratch_len;
    s->scratch_len += n;
    return p;
}

/* Make room for every escaped cell of the batch: sum of their lengths. */
static int reserve_scratch(assay_shard *s, uint32_t n)
{
    const assay_engine *e = s->e;
    size_t need = 0;
    for (uint32_t c = 0; c < e->sch.ncols; c++) {
        if (!e->sch.need_text[c])
            continue;
        const assay_cell *cells = s->rs.cells + (size_t)c * s->rs.cap;
        const uint8_t *fl = s->rs.flags + (size_t)c * s->rs.cap;
        for (uint32_t i = 0; i < n; i++)
            if (fl[i] & ASSAY_CELL_ESCAPED)
                need += cells[i].len;
    }
    s->scratch_len = 0;
    if (need > s->scratch_cap) {
        size_t cap = ASSAY_MAX(need, 2 * s->scratch_cap);
        char *p = realloc(s->scratch, cap);
        if (!p)
            return -ENOMEM;
        s->scratch = p;
        s->scratch_cap = cap;
    }
    return 0;
}

char *assay_sample_copy(const char *p, uint32_t len)
{
    size_t keep = ASSAY_MIN((size_t)len, (size_t)ASSAY_SAMPLE_VALUE_MAX);
    char *v = malloc(keep + 4);
    if (!v)
        return NULL;
    memcpy(v, p, keep);
    if (keep < len)
        memcpy(v + keep, "...", 3), keep += 3;
    v[keep] = '\0';
    return v;
}

int assay_arena_put(arena *a, const void *p, size_t n, uint32_t *off)
{
    if (a->len + n + 1 > UINT32_MAX)
        return -E2BIG;
    if (a->len + n + 1 > a->cap) {
        size_t cap = ASSAY_MAX(a->len + n + 1, 2 * a->cap);
        cap = ASSAY_MAX(cap, (size_t)4096);
        char *q = realloc(a->p, cap);
        if (!q)
            return -ENOMEM;
        a->p = q;
        a->cap = cap;
    }
    *off = (uint32_t)a->len;
    memcpy(a->p + a->len, p, n);
    a->p[a->len + n] = '\0';
    a->len += n + 1;
    return 0;
}

/* '\n' bytes before byte off of the chunk, counted from the previous call's offset in
 * whichever direction off lies (rows are visited nearly in order, so each call only
 * scans the bytes between two nearby rows). */
static uint64_t line_at(assay_shard *s, const chunk_msg *m, uint64_t off)
{
    const char *d = m->chunk.data;
    uint64_t n = s->line_n;
    if (off >= s->line_off)
        n += assay_count_newlines(d + s->line_off, off - s->line_off);
    else
        n -= assay_count_newlines(d + off, s->line_off - off);
    s->line_off = off;
    s->line_n = n;
    return n;
}

static void record_bad(assay_shard *s, chunk_msg *m, uint32_t ord, uint32_t off, uint32_t len,
                       const char *reason)
{
    m->nbad++;
    /* Keep the ASSAY_BAD_SAMPLES smallest ordinals, sorted. Parser and UTF-8 bad
     * rows of one batch arrive out of order, so insert rather than append. */
    uint32_t at = m->nbad_kept;
    while (at > 0 && m->bad[at - 1].ord > ord)
        at--;
    if (at >= ASSAY_BAD_SAMPLES)
        return;
    if (m->nbad_kept == ASSAY_BAD_SAMPLES) {
        free(m->bad[ASSAY_BAD_SAMPLES - 1].text);
        m->nbad_kept--;
    }
    memmove(&m->bad[at + 1], &m->bad[at], (m->nbad_kept - at) * sizeof(bad_acc));
    m->nbad_kept++;
    bad_acc *b = &m->bad[at];
    b->ord = ord;
    b->line_in_chunk = line_at(s, m, off);
    snprintf(b->reason, sizeof(b->reason), "%s", reason);
    size_t keep = ASSAY_MIN((size_t)len, (size_t)ASSAY_SAMPLE_VALUE_MAX);
    b->text = malloc(keep + 1);
    if (b->text) {
        memcpy(b->text, m->chunk.data + off, keep);
        b->text[keep] = '\0';
    }
}

/* The reason for a CSV row with invalid UTF-8 at byte `at`: the column it is in (by
 * counting delimiters outside quotes) and the byte within that field. */
static void utf8_reason(const assay_engine *e, const char *row, size_t at, char *out, size_t cap)
{
    char d = e->csv.delimiter, q = e->csv.quote;
    uint32_t field = 0;
    size_t start = 0;
    bool inq = false;
    for (size_t k = 0; k < at; k++) {
        if (row[k] == q)
            inq = !inq;
        else if (row[k] == d && !inq) {
            field++;
            start = k + 1;
        }
    }
    if (start < at && row[start] == q)
        start++; /* the byte within the value, not counting its opening quote */
    if (field < e->sch.ncols)
        snprintf(out, cap, "invalid UTF-8 in column '%s' at byte %zu of the value",
                 e->sch.names[field], at - start);
    else
        snprintf(out, cap, "invalid UTF-8 at byte %zu of the row (field %u)", at, field + 1);
}

/* Typed value of one cell; sets the invalid bit when it is not of the type. */
static void parse_typed(assay_shard *s, uint32_t c, uint32_t i, const char *base, assay_cell cell,
                        uint8_t fl)
{
    const assay_engine *e = s->e;
    char tmp[256];
    const char *p = base + cell.off;
    uint32_t len = cell.len;
    bool bad = false;
    if (fl & ASSAY_CELL_RAW) {
        bad = true;
    } else if (fl & ASSAY_CELL_ESCAPED) {
        if (cell.len > sizeof(tmp))
            bad = true;
        else
            assay_cell_text(e, base, cell, fl, tmp, &p, &len);
    }
    if (!bad) {
        switch (e->sch.types[c]) {
        case ASSAY_TYPE_INT:
            bad = assay_parse_i64(p, len, &s->i64[c][i]) != 0;
            if (s->frac[c]) {
                /* Inferred from the first rows, which cannot see the whole input: a
                 * value with a fraction (or beyond int64) widens the column to float
                 * instead of failing its type. The decision is the whole input's. */
                if (!bad)
                    s->f64[c][i] = (double)s->i64[c][i];
                else if (assay_parse_f64(p, len, &s->f64[c][i]) == 0) {
                    bad = false;
                    assay_bit_set(s->frac[c], i);
                    double f = s->f64[c][i];
                    s->i64[c][i] = f >= 9.2e18 ? INT64_MAX : f <= -9.2e18 ? INT64_MIN : (int64_t)f;
                }
            }
            break;
        case ASSAY_TYPE_FLOAT:
            bad = assay_parse_f64(p, len, &s->f64[c][i]) != 0;
            break;
        case ASSAY_TYPE_TIMESTAMP:
            bad = assay_parse_timestamp(p, len, &s->i64[c][i]) != 0;
            break;
        case ASSAY_TYPE_BOOL: {
            bool b = false;
            bad = assay_parse_bool(p, len, &b) != 0;
            s->i64[c][i] = b;
            break;
        }
        default:
            break;
        }
    }
    if (bad) {
        assay_bit_set(s->invalid[c], i);
        if (s->i64[c])
            s->i64[c][i] = 0;
        if (s->f64[c])
            s->f64[c][i] = 0;
    }
}

/* ---------------------------------------------------------------------------------
 * Partials, buckets and keys of the message
 * ------------------------------------------------------------------------------- */

/* The message's partial for (pane, first), created or reused. */
static int get_partial(assay_shard *s, chunk_msg *m, int64_t pane, int64_t first, uint32_t *out)
{
    for (uint32_t k = m->nparts; k-- > 0;)
        if (m->parts[k]->pane == pane && m->parts[k]->first == first) {
            *out = k;
            return 0;
        }
    if (m->nparts == m->parts_cap) {
        uint32_t cap = m->parts_cap ? 2 * m->parts_cap : 4;
        assay_partial **p = realloc(m->parts, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        for (uint32_t k = m->parts_cap; k < cap; k++)
            p[k] = NULL;
        m->parts = p;
        m->parts_cap = cap;
    }
    if (!m->parts[m->nparts]) {
        if (!(m->parts[m->nparts] = assay_partial_new(s->e, true)))
            return -ENOMEM;
    }
    assay_partial_reset(s->e, m->parts[m->nparts], pane, first);
    *out = m->nparts++;
    return 0;
}

/* Count a late or bad row at the chunk-local frontier f. */
static int bucket_add(chunk_msg *m, int64_t f, bool late)
{
    bucket *b = m->nbuckets ? &m->buckets[m->nbuckets - 1] : NULL;
    if (!b || b->frontier != f) {
        if (ASSAY_RESERVE(m->buckets, m->nbuckets, m->buckets_cap, 8) < 0)
            return -ENOMEM;
        b = &m->buckets[m->nbuckets++];
        *b = (bucket){ .frontier = f };
    }
    if (late)
        b->late++;
    else
        b->bad++;
    return 0;
}

static int key_push(ukey_list *l, const ukey *k)
{
    if (ASSAY_RESERVE(l->k, l->n, l->cap, 4096) < 0)
        return -ENOMEM;
    l->k[l->n++] = *k;
    return 0;
}

/* The frontier before the next row, from the chunk's rows so far. */
static inline int64_t chunk_frontier(const assay_shard *s)
{
    return assay_window_frontier(&s->e->win, assay_window_watermark(&s->e->win, s->max_in));
}

/* ---------------------------------------------------------------------------------
 * Routes
 * ------------------------------------------------------------------------------- */

/* Bytes of row [off, off + len) including its line terminator, if any. */
static uint32_t with_terminator(const chunk_msg *m, uint32_t off, uint32_t len, bool *missing)
{
    size_t end = (size_t)off + len;
    const char *d = m->chunk.data;
    if (end < m->chunk.len && d[end] == '\r')
        end++;
    if (end < m->chunk.len && d[end] == '\n')
        end++;
    *missing = end == (size_t)off + len;
    return (uint32_t)(end - off);
}

static int route_clean(assay_shard *s, chunk_msg *m, uint32_t ord, uint32_t off, uint32_t len)
{
    bool missing;
    uint32_t n = with_terminator(m, off, len, &missing);
    clean_run *r = m->nclean ? &m->clean[m->nclean - 1] : NULL;
    if (r && !s->e->unique_block && !r->add_newline && r->off + r->len == off &&
        r->ord + r->nrows == ord) {
        r->len += n;
        r->nrows++;
        r->add_newline = missing;
        return 0;
    }
    if (ASSAY_RESERVE(m->clean, m->nclean, m->clean_cap, 64) < 0)
        return -ENOMEM;
    m->clean[m->nclean++] =
        (clean_run){ .off = off, .len = n, .ord = ord, .nrows = 1, .add_newline = missing };
    return 0;
}

/* Quarantine a row: names[i] failed because of reasons[i]. */
static int route_quarantine(assay_shard *s, chunk_msg *m, uint32_t ord, uint32_t off, uint32_t len,
                            const char *const *names, const char *const *reasons, uint32_t n)
{
    if (ASSAY_RESERVE(m->quar, m->nquar, m->quar_cap, 64) < 0)
        return -ENOMEM;
    qrow *q = &m->quar[m->nquar];
    *q = (qrow){ .ord = ord, .off = off, .len = len, .nrules = n, .nreasons = n };
    q->line_in_chunk = line_at(s, m, off);
    uint32_t o;
    for (uint32_t i = 0; i < n; i++) {
        if (assay_arena_put(&m->text, names[i], strlen(names[i]), &o) < 0)
            return -ENOMEM;
        if (i == 0)
            q->rules = o;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (assay_arena_put(&m->text, reasons[i], strlen(reasons[i]), &o) < 0)
            return -ENOMEM;
        if (i == 0)
            q->reasons = o;
    }
    m->nquar++;
    return 0;
}

/* The values an expr rule read in batch row i, "a=1, b=null, c=x" (cut to cap), for
 * its samples and quarantine reasons. */
static size_t expr_row_text(const assay_shard *s, const assay_rule *r, uint32_t i, const char *base,
                            char *out, size_t cap)
{
    const assay_engine *e = s->e;
    size_t o = 0;
    out[0] = 0;
    for (size_t k = 0; k < assay_expr_ncols(r->expr) && o + 1 < cap; k++) {
        uint32_t c = (uint32_t)assay_expr_col(r->expr, k);
        const assay_cell *cell = &s->rs.cells[(size_t)c * s->rs.cap + i];
        const uint8_t fl = s->rs.flags[(size_t)c * s->rs.cap + i];
        const char *p = "null";
        uint32_t len = 4;
        char tmp[256];
        if (!(fl & ASSAY_CELL_NULL)) {
            if (e->sch.need_text[c]) {
                p = s->str[c][i];
                len = s->len[c][i];
            } else if (cell->len <= sizeof(tmp)) {
                assay_cell_text(e, base, *cell, fl, tmp, &p, &len);
            } else {
                p = base + cell->off; /* raw slice: escapes shown as written */
                len = cell->len;
            }
        }
        int w = snprintf(out + o, cap - o, "%s%s=%.*s", k ? ", " : "", e->sch.names[c],
                         (int)ASSAY_MIN(len, 100u), p);
        if (w < 0)
            break;
        o = ASSAY_MIN(o + (size_t)w, cap - 1);
    }
    return o;
}

/* Why a value failed a rule, for the quarantine record. */
static void fail_reason(const assay_shard *s, const assay_rule *r, uint32_t i, const char *base,
                        char *out, size_t cap)
{
    const assay_engine *e = s->e;
    uint32_t c = (uint32_t)r->col;
    if (r->expr) {
        char vals[160];
        expr_row_text(s, r, i, base, vals, sizeof(vals));
        snprintf(out, cap, "expr: %s is false with %s", r->cfg->name, vals);
        return;
    }
    const assay_cell *cell = &s->rs.cells[(size_t)c * s->rs.cap + i];
    const uint8_t fl = s->rs.flags[(size_t)c * s->rs.cap + i];
    if (fl & ASSAY_CELL_NULL) {
        snprintf(out, cap, "%s: column '%s' is null", assay_check_name(r->cfg->check),
                 e->sch.names[c]);
        return;
    }
    const char *p;
    uint32_t len;
    if (e->sch.need_text[c]) {
        p = s->str[c][i];
        len = s->len[c][i];
    } else {
        p = base + cell->off; /* raw slice: escapes shown as written */
        len = cell->len;
    }
    snprintf(out, cap, "%s: column '%s' value '%.*s' failed", assay_check_name(r->cfg->check),
             e->sch.names[c], (int)ASSAY_MIN(len, 120u), p);
}

/* ---------------------------------------------------------------------------------
 * One batch
 * ------------------------------------------------------------------------------- */

/* Masks of the partials this batch touches; rows with pidx UINT32_MAX are in none. */
static int build_masks(assay_shard *s, uint32_t n)
{
    size_t words = ASSAY_BITMAP_WORDS(n);
    s->nmasks = 0;
    for (size_t i = assay_bitmap_next(s->ok, 0, n); i < n; i = assay_bitmap_next(s->ok, i + 1, n)) {
        uint32_t p = s->pidx[i];
        if (p == UINT32_MAX)
            continue;
        uint32_t k = s->nmasks;
        if (k && s->mpart[k - 1] == p) {
            k--;
        } else {
            for (k = 0; k < s->nmasks && s->mpart[k] != p; k++)
                ;
        }
        if (k == s->nmasks) {
            if (s->nmasks == s->masks_cap) {
                uint32_t cap = s->masks_cap ? 2 * s->masks_cap : 4;
                uint64_t **mm = realloc(s->masks, cap * sizeof(*mm));
                uint32_t *mp = realloc(s->mpart, cap * sizeof(*mp));
                if (mm)
                    s->masks = mm;
                if (mp)
                    s->mpart = mp;
                if (!mm || !mp)
                    return -ENOMEM;
                for (uint32_t j = s->masks_cap; j < cap; j++)
                    s->masks[j] = NULL;
                s->masks_cap = cap;
            }
            if (!s->masks[k] && !(s->masks[k] = calloc(ASSAY_BITMAP_WORDS(s->e->batch_rows), 8)))
                return -ENOMEM;
            memset(s->masks[k], 0, words * 8);
            s->mpart[k] = p;
            s->nmasks++;
        }
        assay_bit_set(s->masks[k], i);
    }
    return 0;
}

/* Step 4: event time, partial of every ok row, bad and late rows by frontier. Parser bad
 * rows (rs.bad, by ordinal) are attributed in ordinal order among the good rows. */
static int place_rows(assay_shard *s, chunk_msg *m, const uint64_t *bad_utf8, int64_t now_us)
{
    const assay_engine *e = s->e;
    const assay_window_spec *w = &e->win;
    uint32_t n = s->rs.nrows;
    uint32_t b = 0, nb = s->rs.nbad;
    int64_t last_pane = INT64_MIN, last_first = INT64_MIN;
    uint32_t last_idx = UINT32_MAX;
    int rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ord = s->rs.row_ord[i];
        for (; b < nb && s->rs.bad[b].row < ord; b++)
            if ((rc = bucket_add(m, chunk_frontier(s), false)) < 0)
                return rc;
        s->pidx[i] = UINT32_MAX;
        if (!assay_bit_get(s->ok, i)) {
            if (assay_bit_get(bad_utf8, i) && (rc = bucket_add(m, chunk_frontier(s), false)) < 0)
                return rc;
            continue;
        }
        int64_t t;
        if (w->global) {
            t = 0;
        } else if (e->event_col >= 0) {
            uint32_t c = (uint32_t)e->event_col;
            if (assay_bit_get(s->null[c], i) || assay_bit_get(s->invalid[c], i)) {
                /* no usable event time: a bad row, quarantined with the reason */
                char reason[200];
                const assay_cell *cell = &s->rs.cells[(size_t)c * s->rs.cap + i];
                if (assay_bit_get(s->null[c], i))
                    snprintf(reason, sizeof(reason), "event_time: column '%s' is null",
                             e->sch.names[c]);
                else
                    snprintf(reason, sizeof(reason),
                             "event_time: column '%s' value '%.*s' is not a timestamp",
                             e->sch.names[c], (int)ASSAY_MIN(cell->len, 80u),
                             m->chunk.data + cell->off);
                assay_bit_clear(s->ok, i);
                record_bad(s, m, ord, s->rs.row_off[i], s->rs.row_len[i], reason);
                if ((rc = bucket_add(m, chunk_frontier(s), false)) < 0)
                    return rc;
                if (e->route) {
                    const char *nm = "event_time", *rs_ = reason;
                    if ((rc = route_quarantine(s, m, ord, s->rs.row_off[i], s->rs.row_len[i], &nm,
                                               &rs_, 1)) < 0)
                        return rc;
                }
                s->pidx[i] = UINT32_MAX - 1; /* routed already */
                continue;
            }
            t = s->i64[c][i];
        } else {
            t = m->chunk.arrival_us;
        }
        int64_t frontier = chunk_frontier(s);
        int64_t pane = assay_window_pane(w, t);
        int64_t first = assay_window_first_open(w, pane, frontier);
        if (!w->global && t > s->max_in)
            s->max_in = t;
        if (first > pane) {
            if ((rc = bucket_add(m, frontier, true)) < 0)
                return rc;
            continue; /* late: checked and routed, counted in no window */
        }
        if (pane != last_pane || first != last_first) {
            if ((rc = get_partial(s, m, pane, first, &last_idx)) < 0)
                return rc;
            last_pane = pane;
            last_first = first;
        }
        s->pidx[i] = last_idx;
        assay_partial *part = m->parts[last_idx];
        part->rows++;
        if (e->lag_col >= 0) { /* event-time lag (freshness) */
            uint32_t c = (uint32_t)e->lag_col;
            if (!assay_bit_get(s->null[c], i) && !assay_bit_get(s->invalid[c], i) &&
                now_us - s->i64[c][i] < part->lag_us)
                part->lag_us = now_us - s->i64[c][i];
        }
    }
    /* parser bad rows after the batch's last good row belong to this batch's tail */
    for (; b < nb; b++)
        if ((rc = bucket_add(m, chunk_frontier(s), false)) < 0)
            return rc;
    if (s->max_in > m->max_event)
        m->max_event = s->max_in;
    return 0;
}

/* NDJSON keys outside the schema, counted in the partial of each row that had one (rows
 * that count in no window - late or bad - are left out); keys past the parser's list
 * count as "other" in the batch's last partial. */
static int new_columns(assay_shard *s, chunk_msg *m, const char *base)
{
    const assay_rowset *rs = &s->rs;
    uint32_t last = UINT32_MAX;
    for (uint32_t k = 0; k < rs->nunk; k++) {
        const assay_unknown_key *u = &rs->unk[k];
        uint32_t pi = s->pidx[u->row];
        if (pi >= UINT32_MAX - 1)
            continue;
        last = pi;
        char name[256];
        size_t n = 0;
        if (!u->esc || u->len > sizeof(name) ||
            assay_json_unescape(base + u->off, u->len, name, &n) < 0)
            memcpy(name, base + u->off, n = ASSAY_MIN((size_t)u->len, sizeof(name)));
        if (n > 200) { /* a name is for people: cut long ones at a UTF-8 boundary */
            n = 200;
            while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
                n--;
        }
        if (assay_partial_new_column(m->parts[pi], name, n, 1) < 0)
            return -ENOMEM;
    }
    if (rs->unk_dropped && last != UINT32_MAX)
        m->parts[last]->newcols_other += rs->unk_dropped;
    return 0;
}

/* Impact of the rows a rule failed under one partial's mask: their revenue and their
 * users' values (hashed as text) for the alert's figures. */
static int impact_add(assay_shard *s, part_rule *pr, const uint64_t *mask, uint32_t n)
{
    const assay_engine *e = s->e;
    int rc = e->imp_rev_col, uc = e->imp_user_col;
    bool rev_int = rc >= 0 && !s->f64[rc]; /* an inferred int column has doubles too */
    if (uc >= 0 && !pr->users && assay_hll_new(&pr->users, ASSAY_IMPACT_HLL_P) < 0)
        return -ENOMEM;
    size_t words = ASSAY_BITMAP_WORDS(n);
    for (size_t wd = 0; wd < words; wd++) {
        uint64_t bits = s->fail[wd] & mask[wd];
        while (bits) {
            size_t i = wd * 64 + (size_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (rc >= 0 && !assay_bit_get(s->null[rc], i) && !assay_bit_get(s->invalid[rc], i))
                pr->revenue += rev_int ? (double)s->i64[rc][i] : s->f64[rc][i];
            if (uc >= 0 && !assay_bit_get(s->null[uc], i) &&
                assay_hll_add(pr->users, assay_hash_bytes(s->str[uc][i], s->len[uc][i])) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* A freshness rule's lag in one partial: the batch's clock minus the newest value it
 * evaluated under the partial's mask. */
static void freshness_lag(const assay_shard *s, part_rule *pr, const uint64_t *mask, uint32_t c,
                          uint32_t n, int64_t now_us)
{
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        i = assay_bitmap_next(s->eval, i, n);
        if (i >= n)
            break;
        if (assay_bit_get(mask, i) && s->i64[c][i] > newest)
            newest = s->i64[c][i];
    }
    if (newest != INT64_MIN && now_us - newest < pr->lag_us)
        pr->lag_us = now_us - newest;
}

/* Step 5 for one rule: counts, the samples' reservoir and (freshness) the lag, under
 * each partial's mask. */
static int rule_counts(assay_shard *s, chunk_msg *m, size_t r, uint32_t n, const char *base,
                       int64_t now_us)
{
    const assay_engine *e = s->e;
    const assay_rule *rule = &e->rules[r];
    uint32_t c = (uint32_t)rule->col;
    size_t words = ASSAY_BITMAP_WORDS(n);
    const assay_cell *cells = s->rs.cells + (size_t)c * s->rs.cap;
    const uint8_t *fl = s->rs.flags + (size_t)c * s->rs.cap;
    for (uint32_t k = 0; k < s->nmasks; k++) {
        const uint64_t *mask = s->masks[k];
        part_rule *pr = &m->parts[s->mpart[k]]->rules[r];
        uint64_t ev = 0, fa = 0;
        for (size_t wd = 0; wd < words; wd++) {
            ev += (uint64_t)__builtin_popcountll(s->eval[wd] & mask[wd]);
            fa += (uint64_t)__builtin_popcountll(s->fail[wd] & mask[wd]);
        }
        pr->evaluated += ev;
        pr->failed += fa;
        if (rule->expr) {
            /* rows of the partial that were checked but where the expression was null */
            uint64_t un = 0;
            for (size_t wd = 0; wd < words; wd++)
                un += (uint64_t)__builtin_popcountll(s->ok[wd] & mask[wd] & ~s->eval[wd]);
            pr->unevaluated += un;
        }
        if (ev && rule->cfg->check == ASSAY_CHECK_FRESHNESS)
            freshness_lag(s, pr, mask, c, n, now_us);
        if (fa && (e->imp_rev_col >= 0 || e->imp_user_col >= 0)) {
            int rc = impact_add(s, pr, mask, n);
            if (rc < 0)
                return rc;
        }
        if (!fa || !e->max_samples)
            continue;
        for (size_t i = 0; i < n; i++) {
            i = assay_bitmap_next(s->fail, i, n);
            if (i >= n)
                break;
            if (!assay_bit_get(mask, i))
                continue;
            if (!s->prio[i]) /* once per row and batch, whichever rule fails it first */
                s->prio[i] = assay_sample_prio(base + s->rs.row_off[i], s->rs.row_len[i]);
            pos_sample x = { .pos = s->pos[i],
                             .prio = s->prio[i],
                             .offset = m->chunk.offset + s->rs.row_off[i] };
            if (!assay_samples_wants(pr->samples, pr->nsamples, e->max_samples, x.prio))
                continue;
            int rc;
            if (rule->expr) {
                char vals[512];
                size_t vl = expr_row_text(s, rule, (uint32_t)i, base, vals, sizeof(vals));
                rc = assay_samples_keep(pr->samples, &pr->nsamples, e->max_samples, &x, vals, vl,
                                        false);
            } else if (fl[i] & ASSAY_CELL_NULL) {
                rc = assay_samples_keep(pr->samples, &pr->nsamples, e->max_samples, &x, NULL, 0,
                                        true);
            } else if (e->sch.need_text[c]) {
                rc = assay_samples_keep(pr->samples, &pr->nsamples, e->max_samples, &x,
                                        s->str[c][i], s->len[c][i], false);
            } else {
                char *buf = malloc(cells[i].len + 1);
                const char *p;
                uint32_t len;
                if (!buf)
                    return -ENOMEM;
                assay_cell_text(e, base, cells[i], fl[i], buf, &p, &len);
                rc = assay_samples_keep(pr->samples, &pr->nsamples, e->max_samples, &x, p, len,
                                        false);
                free(buf);
            }
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* unique: the values of rows that count in a window go to the aggregator. */
static int unique_keys(assay_shard *s, chunk_msg *m, size_t r, uint32_t n, const char *base)
{
    const assay_engine *e = s->e;
    uint32_t c = (uint32_t)e->rules[r].col;
    ukey_list *l = &m->ukeys[r];
    for (size_t i = assay_bitmap_next(s->eval, 0, n); i < n;
         i = assay_bitmap_next(s->eval, i + 1, n)) {
        if (s->pidx[i] >= UINT32_MAX - 1)
            continue;
        const char *p = s->str[c][i];
        uint32_t len = s->len[c][i];
        ukey k = { .hash = assay_hash_bytes(p, len),
                   .len = len,
                   .ord = s->rs.row_ord[i],
                   .part = s->pidx[i] };
        if (p >= base && p + len <= base + m->chunk.len) {
            k.off = (uint32_t)(p - base);
        } else {
            int rc = assay_arena_put(&m->text, p, len, &k.off); /* unescaped: scratch is reused */
            if (rc < 0)
                return rc;
            k.in_arena = true;
        }
        int rc = key_push(l, &k);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int route_batch(assay_shard *s, chunk_msg *m, uint32_t n, const char *base)
{
    const assay_engine *e = s->e;
    uint32_t nb = s->rs.nbad, b = 0;
    int rc;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t ord = i < n ? s->rs.row_ord[i] : UINT32_MAX;
        for (; b < nb && s->rs.bad[b].row < ord; b++) {
            const assay_bad_row *br = &s->rs.bad[b];
            char reason[200];
            char full[220];
            assay_bad_row_describe_row(br, base + br->off, s->rs.ncols,
                                       (const char *const *)s->e->sch.names, reason,
                                       sizeof(reason));
            snprintf(full, sizeof(full), "parse_error: %s", reason);
            const char *nm = "parse_error", *rs_ = full;
            if ((rc = route_quarantine(s, m, br->row, br->off, br->len, &nm, &rs_, 1)) < 0)
                return rc;
        }
        if (i == n)
            break;
        if (s->pidx[i] == UINT32_MAX - 1)
            continue; /* quarantined while placing (no event time) */
        uint32_t off = s->rs.row_off[i], len = s->rs.row_len[i];
        if (!assay_bit_get(s->ok, i)) {
            /* invalid UTF-8: the reason is in the bad-row record */
            const char *nm = "parse_error", *rs_ = "parse_error: invalid UTF-8";
            if ((rc = route_quarantine(s, m, ord, off, len, &nm, &rs_, 1)) < 0)
                return rc;
            continue;
        }
        if (!assay_bit_get(s->blocked, i)) {
            if ((rc = route_clean(s, m, ord, off, len)) < 0)
                return rc;
            continue;
        }
        const char *names[64], *reasons[64];
        char why[64][200];
        uint32_t k = 0;
        for (size_t r = 0; r < e->nrules && k < 64; r++) {
            if (!s->bfail[r] || !assay_bit_get(s->bfail[r], i))
                continue;
            fail_reason(s, &e->rules[r], i, base, why[k], sizeof(why[k]));
            names[k] = e->rules[r].cfg->name;
            reasons[k] = why[k];
            k++;
        }
        if ((rc = route_quarantine(s, m, ord, off, len, names, reasons, k)) < 0)
            return rc;
    }
    return 0;
}

static int process_batch(assay_shard *s, chunk_msg *m)
{
    const assay_engine *e = s->e;
    const assay_schema *sch = &e->sch;
    const char *base = m->chunk.data;
    uint32_t n = s->rs.nrows;
    size_t words = ASSAY_BITMAP_WORDS(n);
    uint32_t cap = s->rs.cap;
    int rc;
    double t_start = assay_mono_seconds();

    for (uint32_t i = 0; i < n; i++)
        s->pos[i] = POS(m->chunk.seq, s->rs.row_ord[i]);
    if (n) {
        memset(s->ok, 0xff, words * 8);
        if (n & 63)
            s->ok[words - 1] = ((uint64_t)1 << (n & 63)) - 1;
    }
    memset(s->blocked, 0, ASSAY_BITMAP_WORDS(e->batch_rows) * 8);
    if (reserve_scratch(s, n) < 0)
        return -ENOMEM;

    /* A CSV batch whose bytes are valid UTF-8 as a whole needs no check per value:
     * fields are cut at ASCII bytes (delimiter, quote, newline), which never split a
     * multi-byte sequence. The batch's rows are one contiguous span of the chunk,
     * checked right after the parser read it, while it is still in cache (a pass over
     * the whole chunk up front read it cold from memory and cost 7% of a profile).
     * Only a span that fails is checked value by value, to find the rows. NDJSON
     * strings were validated by the parser.
     * Every CSV row is checked, also in columns nothing reads: whether a row is bad
     * must not depend on which rules run or on --no-profile (a row that is not valid
     * UTF-8 cannot be forwarded as text either way). */
    bool utf8_ok = true;
    if (n && e->format == ASSAY_FORMAT_CSV) {
        size_t a = s->rs.row_off[0], b = s->rs.row_off[n - 1] + (size_t)s->rs.row_len[n - 1];
        utf8_ok = assay_utf8_check(base + a, b - a) == b - a;
    }

    /* 1. nulls and text views (and the UTF-8 check that can turn a row bad); the rows
     * it turns bad are remembered in `fail` for place_rows */
    memset(s->fail, 0, ASSAY_BITMAP_WORDS(e->batch_rows) * 8);
    for (uint32_t c = 0; c < sch->ncols; c++) {
        if (!sch->want[c])
            continue;
        const assay_cell *cells = s->rs.cells + (size_t)c * cap;
        const uint8_t *fl = s->rs.flags + (size_t)c * cap;
        uint64_t *nb = s->null[c];
        memset(nb, 0, words * 8);
        memset(s->invalid[c], 0, words * 8);
        if (s->frac[c])
            memset(s->frac[c], 0, words * 8);
        for (uint32_t i = 0; i < n; i++)
            nb[i >> 6] |= (uint64_t)(fl[i] & ASSAY_CELL_NULL) << (i & 63);
        if (!sch->need_text[c])
            continue;
        const char **str = s->str[c];
        uint32_t *len = s->len[c];
        for (uint32_t i = 0; i < n; i++) {
            if (fl[i] & ASSAY_CELL_NULL) {
                str[i] = "";
                len[i] = 0;
                continue;
            }
            char *buf = NULL;
            if (fl[i] & ASSAY_CELL_ESCAPED)
                buf = scratch_alloc(s, cells[i].len);
            assay_cell_text(e, base, cells[i], fl[i], buf, &str[i], &len[i]);
        }
    }
    /* the rows of a span that failed, each as a whole, so that the verdict and its
     * reason are the same whichever columns were parsed */
    for (uint32_t i = 0; !utf8_ok && i < n; i++) {
        if (!assay_bit_get(s->ok, i))
            continue;
        const char *row = base + s->rs.row_off[i];
        size_t rl = s->rs.row_len[i], at = assay_utf8_check(row, rl);
        if (at != rl) {
            char reason[200];
            utf8_reason(e, row, at, reason, sizeof(reason));
            assay_bit_clear(s->ok, i);
            assay_bit_set(s->fail, i);
            record_bad(s, m, s->rs.row_ord[i], s->rs.row_off[i], s->rs.row_len[i], reason);
        }
    }

    /* 2. typed vectors, 3. regex matches */
    for (uint32_t c = 0; c < sch->ncols; c++) {
        if (!sch->want[c])
            continue;
        const assay_cell *cells = s->rs.cells + (size_t)c * cap;
        const uint8_t *fl = s->rs.flags + (size_t)c * cap;
        bool typed = sch->need_typed[c] && sch->types[c] != ASSAY_TYPE_STRING &&
                     sch->types[c] != ASSAY_TYPE_UNKNOWN;
        if (typed) {
            for (uint32_t i = 0; i < n; i++)
                if (!(fl[i] & ASSAY_CELL_NULL))
                    parse_typed(s, c, i, base, cells[i], fl[i]);
        }
        if (sch->regex[c] && n) {
            /* skip = null | !ok, built in the eval scratch */
            for (size_t w = 0; w < words; w++)
                s->eval[w] = s->null[c][w] | ~s->ok[w];
            rc = assay_regex_match_batch(sch->regex[c], s->rx[c], (const char *const *)s->str[c],
                                         s->len[c], s->eval, n, s->match[c]);
            if (rc < 0)
                return rc;
        }
    }

    /* 4. event time and partials; the freshness clock is read now, when the rows are
     * placed and judged */
    int64_t now_us = e->now_us;
    if (now_us == INT64_MIN)
        now_us = assay_wall_us();
    if ((rc = place_rows(s, m, s->fail, now_us)) < 0 || (rc = build_masks(s, n)) < 0)
        return rc;
    if (s->rs.nunk && (rc = new_columns(s, m, base)) < 0)
        return rc;

    double t_rules = assay_mono_seconds();
    s->stage[ASSAY_STAGE_PARSE] += t_rules - t_start;

    /* 5. rules */
    memset(s->prio, 0, (size_t)n * sizeof(*s->prio));
    for (size_t r = 0; r < e->nrules && n; r++) {
        const assay_rule *rule = &e->rules[r];
        if (rule->col < 0)
            continue;
        uint32_t c = (uint32_t)rule->col;
        assay_col_view v = {
            .n = n,
            .type = sch->types[c],
            .null = s->null[c],
            .invalid = s->invalid[c],
            .i64 = s->i64[c],
            .f64 = s->f64[c],
            .frac = s->frac[c],
            .str = s->str[c],
            .len = s->len[c],
            .match = s->match[c],
        };
        if (rule->expr) {
            for (size_t k = 0; k < assay_expr_ncols(rule->expr); k++) {
                uint32_t xc = (uint32_t)assay_expr_col(rule->expr, k);
                s->xviews[k] = (assay_col_view){
                    .n = n,
                    .type = sch->types[xc],
                    .null = s->null[xc],
                    .invalid = s->invalid[xc],
                    .i64 = s->i64[xc],
                    .f64 = s->f64[xc],
                    .frac = s->frac[xc],
                    .str = s->str[xc],
                    .len = s->len[xc],
                    .match = s->match[xc],
                    .text_lo = base,
                    .text_hi = base + m->chunk.len,
                };
            }
            if ((rc = assay_expr_eval(rule->expr, s->xs[r], s->xviews, n, s->ok, s->fail,
                                      s->eval)) < 0)
                return rc;
        } else {
            assay_rule_eval(rule, &v, s->ok, now_us, s->fail, s->eval);
        }
        if (rule->cfg->check == ASSAY_CHECK_UNIQUE) {
            if ((rc = unique_keys(s, m, r, n, base)) < 0)
                return rc;
        } else if (s->bfail[r]) {
            memcpy(s->bfail[r], s->fail, words * 8);
            for (size_t w = 0; w < words; w++)
                s->blocked[w] |= s->fail[w];
        }
        if ((rc = rule_counts(s, m, r, n, base, now_us)) < 0)
            return rc;
    }

    /* 6. profile and counts per partial, duplicate rows, anomaly scores */
    double t_sketch = assay_mono_seconds();
    s->stage[ASSAY_STAGE_RULES] += t_sketch - t_rules;
    for (uint32_t k = 0; k < s->nmasks; k++)
        if ((rc = assay_profile_batch(s, m->parts[s->mpart[k]], s->masks[k], n)) < 0)
            return rc;
    if (e->duplicate_rows) {
        for (size_t i = assay_bitmap_next(s->ok, 0, n); i < n;
             i = assay_bitmap_next(s->ok, i + 1, n)) {
            if (s->pidx[i] >= UINT32_MAX - 1)
                continue;
            ukey k = { .hash = assay_hash_bytes(base + s->rs.row_off[i], s->rs.row_len[i]),
                       .ord = s->rs.row_ord[i],
                       .part = s->pidx[i] };
            if ((rc = key_push(&m->rowkeys, &k)) < 0)
                return rc;
        }
    }
    if (e->exact_keys) {
        for (uint32_t c = 0; c < sch->ncols; c++) {
            if (!sch->want[c])
                continue;
            for (size_t i = assay_bitmap_next(s->ok, 0, n); i < n;
                 i = assay_bitmap_next(s->ok, i + 1, n)) {
                if (s->pidx[i] >= UINT32_MAX - 1 || assay_bit_get(s->null[c], i))
                    continue;
                ukey k = { .hash = assay_profile_value_hash(s, c, i),
                           .ord = s->rs.row_ord[i],
                           .part = s->pidx[i] };
                if ((rc = key_push(&m->colkeys[c], &k)) < 0)
                    return rc;
            }
        }
    }
    double t_anomaly = assay_mono_seconds();
    s->stage[ASSAY_STAGE_SKETCH] += t_anomaly - t_sketch;
    if (e->an_d && n) {
        rc = assay_anomaly_batch(s, m, n);
        s->stage[ASSAY_STAGE_ANOMALY] += assay_mono_seconds() - t_anomaly;
        if (rc < 0)
            return rc;
    }

    /* 7. routes */
    if (e->route)
        return route_batch(s, m, n, base);
    return 0;
}

/* ---------------------------------------------------------------------------------
 * One chunk
 * ------------------------------------------------------------------------------- */

static void msg_reset(const assay_engine *e, chunk_msg *m)
{
    m->error = 0;
    m->rows = 0;
    m->lines = m->header_lines;
    m->max_event = ASSAY_TIME_NONE;
    m->nparts = 0;
    m->nbuckets = 0;
    m->nbad = 0;
    for (uint32_t k = 0; k < m->nbad_kept; k++)
        free(m->bad[k].text);
    m->nbad_kept = 0;
    for (size_t r = 0; m->ukeys && r < e->nrules; r++)
        m->ukeys[r].n = 0;
    m->rowkeys.n = 0;
    for (uint32_t c = 0; m->colkeys && c < e->sch.ncols; c++)
        m->colkeys[c].n = 0;
    m->nclean = 0;
    m->nquar = 0;
    m->text.len = 0;
    m->nscores = 0;
}

void assay_chunk_msg_free(const assay_engine *e, chunk_msg *m)
{
    for (uint32_t k = 0; k < m->parts_cap && m->parts; k++)
        assay_partial_delete(e, m->parts[k]);
    free(m->parts);
    free(m->buckets);
    for (uint32_t k = 0; k < m->nbad_kept; k++)
        free(m->bad[k].text);
    for (size_t r = 0; m->ukeys && r < e->nrules; r++)
        free(m->ukeys[r].k);
    free(m->ukeys);
    free(m->rowkeys.k);
    for (uint32_t c = 0; m->colkeys && c < e->sch.ncols; c++)
        free(m->colkeys[c].k);
    free(m->colkeys);
    free(m->clean);
    free(m->quar);
    free(m->text.p);
    free(m->scores);
    memset(m, 0, sizeof(*m));
}

int assay_shard_process(assay_shard *s, chunk_msg *m)
{
    const assay_engine *e = s->e;
    const assay_chunk *ch = &m->chunk;
    msg_reset(e, m);
    if (!m->ukeys && e->nrules && !(m->ukeys = calloc(e->nrules, sizeof(ukey_list))))
        return -ENOMEM;
    if (!m->colkeys && e->exact_keys && e->sch.ncols &&
        !(m->colkeys = calloc(e->sch.ncols, sizeof(ukey_list))))
        return -ENOMEM;
    s->max_in = ASSAY_TIME_NONE;
    s->line_off = 0;
    s->line_n = 0;
    int rc;
    if (ch->oversized) {
        char reason[200];
        snprintf(reason, sizeof(reason),
                 "row longer than limits.max_row_bytes (%llu bytes); %llu more bytes skipped",
                 (unsigned long long)e->cfg->limits.max_row_bytes, (unsigned long long)ch->skipped);
        uint32_t len = (uint32_t)ASSAY_MIN(ch->len, (size_t)UINT32_MAX);
        record_bad(s, m, 0, 0, len, reason);
        if ((rc = bucket_add(m, ASSAY_TIME_NONE, false)) < 0)
            return rc;
        if (e->route) {
            char full[220];
            snprintf(full, sizeof(full), "parse_error: %s", reason);
            const char *nm = "parse_error", *rs_ = full;
            if ((rc = route_quarantine(s, m, 0, 0, len, &nm, &rs_, 1)) < 0)
                return rc;
        }
        m->lines += assay_count_newlines(ch->data, ch->len) + 1;
        m->rows = 1;
        if (e->row_scores) {
            m->scores = m->scores ? m->scores : malloc(4096 * sizeof(double));
            if (!m->scores)
                return -ENOMEM;
            m->scores_cap = m->scores_cap ? m->scores_cap : 4096;
            m->scores[0] = NAN;
            m->nscores = 1;
        }
        return 0;
    }
    assay_cursor cur = { .buf = ch->data, .len = ch->len, .pos = m->start, .ord = 0 };
    while (cur.pos < cur.len) {
        size_t before = cur.pos;
        s->rs.nrows = s->rs.nbad = s->rs.nlines = 0;
        double t0 = assay_mono_seconds();
        if ((rc = assay_engine_parse(e, &cur, &s->rs)) < 0)
            return rc;
        s->stage[ASSAY_STAGE_FRAME] += assay_mono_seconds() - t0;
        m->lines += s->rs.nlines;
        s->comment_lines += s->rs.ncomments;
        for (uint32_t b = 0; b < s->rs.nbad; b++) {
            char reason[160];
            assay_bad_row_describe_row(&s->rs.bad[b], ch->data + s->rs.bad[b].off, s->rs.ncols,
                                       (const char *const *)s->e->sch.names, reason,
                                       sizeof(reason));
            record_bad(s, m, s->rs.bad[b].row, s->rs.bad[b].off, s->rs.bad[b].len, reason);
        }
        if ((rc = process_batch(s, m)) < 0)
            return rc;
        if (cur.pos == before && s->rs.nrows == 0 && s->rs.nbad == 0)
            break; /* parser made no progress: never spin */
    }
    m->rows = cur.ord;
    if (e->row_scores && m->nscores < m->rows) {
        /* rows after the last scored one (bad, or not ready): no score */
        if (m->rows > m->scores_cap) {
            double *p = realloc(m->scores, m->rows * sizeof(double));
            if (!p)
                return -ENOMEM;
            m->scores = p;
            m->scores_cap = m->rows;
        }
        for (uint32_t i = m->nscores; i < m->rows; i++)
            m->scores[i] = NAN;
        m->nscores = m->rows;
    }
    return 0;
}

void *assay_shard_main(void *arg)
{
    assay_shard *s = arg;
    for (;;) {
        chunk_msg *m = assay_ring_pop_wait(&s->in);
        if (m->stop) {
            assay_ring_push_wait(&s->out, m);
            break;
        }
        if (!m->drain) {
            int rc = assay_shard_process(s, m);
            if (rc < 0)
                m->error = rc;
        }
        assay_ring_push_wait(&s->out, m);
    }
    return NULL;
}
