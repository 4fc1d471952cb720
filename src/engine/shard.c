/*
 * Shard: one worker thread that owns its batch memory, rule state and counters, and
 * turns chunks of whole rows into rule verdicts without touching another shard's
 * memory (DESIGN section 1).
 *
 * Per chunk: the format's parser frames and splits rows in batches of batch_rows
 * (cells are slices into the chunk, only for wanted columns). Per batch:
 *   1. text views for columns that text rules need (unescaped only if the cell
 *      carried escapes), UTF-8 checked for CSV - a row with invalid UTF-8 in such a
 *      column becomes a bad row and leaves the batch's `ok` bitmap;
 *   2. typed vectors (int64 / double / microseconds / bool) for columns that typed
 *      rules need, with an `invalid` bitmap for values not of the type;
 *   3. one Vectorscan pass per column with matches rules (all its patterns at once);
 *   4. every rule fills fail/eval bitmaps; counts are popcounts, and the first
 *      failures are kept as samples (they have the smallest positions this shard
 *      saw, because a shard gets its chunks in input order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/bitmap.h"
#include "assay/number.h"
#include "assay/utf8.h"
#include "engine/engine_internal.h"

static double clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

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
    s->ok = xcalloc(words, 8, &err);
    s->fail = xcalloc(words, 8, &err);
    s->eval = xcalloc(words, 8, &err);
    s->pos = xcalloc(cap, 8, &err);
    s->null = xcalloc(nc, sizeof(void *), &err);
    s->invalid = xcalloc(nc, sizeof(void *), &err);
    s->i64 = xcalloc(nc, sizeof(void *), &err);
    s->f64 = xcalloc(nc, sizeof(void *), &err);
    s->str = xcalloc(nc, sizeof(void *), &err);
    s->len = xcalloc(nc, sizeof(void *), &err);
    s->match = xcalloc(nc, sizeof(void *), &err);
    s->rx = xcalloc(nc, sizeof(void *), &err);
    s->col_count = xcalloc(nc, 8, &err);
    s->col_nulls = xcalloc(nc, 8, &err);
    s->col_invalid = xcalloc(nc, 8, &err);
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
    s->rst = xcalloc(e->nrules, sizeof(assay_rule_state), &err);
    s->acc = xcalloc(e->nrules, sizeof(rule_acc), &err);
    if (err)
        return err;
    if ((err = assay_profile_shard_init(e, s)) < 0 || (err = assay_anomaly_shard_init(e, s)) < 0)
        return err;
    size_t ucap = e->cfg->limits.unique_memory / e->nshards;
    for (size_t r = 0; r < e->nrules; r++) {
        s->acc[r].samples = xcalloc(e->max_samples, sizeof(pos_sample), &err);
        if (err)
            return err;
        if (e->rules[r].col >= 0 &&
            (err = assay_rule_state_init(&e->rules[r], &s->rst[r], cap, ucap,
                                         e->est_rows / e->nshards)) < 0)
            return err;
    }
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
        free((void *)s->str[c]);
        free(s->len[c]);
        if (s->match[c]) {
            for (size_t j = 0; j < assay_regex_count(e->sch.regex[c]); j++)
                free(s->match[c][j]);
            free(s->match[c]);
        }
        assay_regex_scratch_free(s->rx[c]);
    }
    for (size_t r = 0; s->acc && r < e->nrules; r++) {
        for (size_t k = 0; k < s->acc[r].nsamples; k++)
            free(s->acc[r].samples[k].value);
        free(s->acc[r].samples);
        if (s->rst)
            assay_rule_state_free(&s->rst[r]);
    }
    for (size_t k = 0; k < s->nbad_kept; k++)
        free(s->bad[k].text);
    assay_profile_shard_free(e, s);
    assay_anomaly_shard_free(s);
    free(s->rst);
    free(s->acc);
    assay_rowset_free(&s->rs);
    free(s->ok);
    free(s->fail);
    free(s->eval);
    free(s->pos);
    free(s->null);
    free(s->invalid);
    free(s->i64);
    free(s->f64);
    free(s->str);
    free(s->len);
    free(s->match);
    free(s->rx);
    free(s->col_count);
    free(s->col_nulls);
    free(s->col_invalid);
    free(s->stats);
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

static void record_bad(assay_shard *s, const chunk_msg *m, uint32_t ord, uint32_t off, uint32_t len,
                       const char *reason, uint64_t *line_cursor_off, uint64_t *line_cursor_n)
{
    s->nbad++;
    uint64_t pos = POS(m->chunk.seq, ord);
    /* Keep the ASSAY_BAD_SAMPLES smallest positions, sorted. Parser and UTF-8 bad
     * rows of one batch arrive out of order, so insert rather than append. */
    size_t at = s->nbad_kept;
    while (at > 0 && s->bad[at - 1].pos > pos)
        at--;
    if (at >= ASSAY_BAD_SAMPLES)
        return;
    if (s->nbad_kept == ASSAY_BAD_SAMPLES) {
        free(s->bad[ASSAY_BAD_SAMPLES - 1].text);
        s->nbad_kept--;
    }
    memmove(&s->bad[at + 1], &s->bad[at], (s->nbad_kept - at) * sizeof(bad_acc));
    s->nbad_kept++;
    bad_acc *b = &s->bad[at];
    b->pos = pos;
    b->file = m->chunk.file;
    /* '\n' bytes before the row, counted on from the previous bad row when it lies
     * before this one (the usual case), else from the chunk start. */
    const char *d = m->chunk.data;
    if (off < *line_cursor_off)
        *line_cursor_off = 0, *line_cursor_n = 0;
    uint64_t n = *line_cursor_n;
    for (uint64_t i = *line_cursor_off; i < off; i++)
        n += d[i] == '\n';
    *line_cursor_off = off;
    *line_cursor_n = n;
    b->line_in_chunk = n;
    snprintf(b->reason, sizeof(b->reason), "%s", reason);
    size_t keep = ASSAY_MIN((size_t)len, (size_t)ASSAY_SAMPLE_VALUE_MAX);
    b->text = malloc(keep + 1);
    if (b->text) {
        memcpy(b->text, d + off, keep);
        b->text[keep] = '\0';
    }
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

static void keep_sample(rule_acc *a, size_t max, uint64_t pos, const char *p, uint32_t len,
                        bool is_null)
{
    if (a->nsamples >= max)
        return;
    pos_sample *ps = &a->samples[a->nsamples++];
    ps->pos = pos;
    ps->fetch = false;
    ps->value = NULL;
    if (!is_null)
        ps->value = assay_sample_copy(p, len);
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
    } else {
        if (fl & ASSAY_CELL_ESCAPED) {
            if (cell.len > sizeof(tmp)) {
                bad = true;
            } else {
                assay_cell_text(e, base, cell, fl, tmp, &p, &len);
            }
        }
    }
    if (!bad) {
        switch (e->sch.types[c]) {
        case ASSAY_TYPE_INT:
            bad = assay_parse_i64(p, len, &s->i64[c][i]) != 0;
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
 * One batch
 * ------------------------------------------------------------------------------- */

static int process_batch(assay_shard *s, const chunk_msg *m, uint64_t *lc_off, uint64_t *lc_n)
{
    const assay_engine *e = s->e;
    const assay_schema *sch = &e->sch;
    const char *base = m->chunk.data;
    uint32_t n = s->rs.nrows;
    size_t words = ASSAY_BITMAP_WORDS(n);
    uint32_t cap = s->rs.cap;
    if (n == 0)
        return 0;
    double t_start = clock_s();

    for (uint32_t i = 0; i < n; i++)
        s->pos[i] = POS(m->chunk.seq, s->rs.row_ord[i]);
    memset(s->ok, 0xff, words * 8);
    if (n & 63)
        s->ok[words - 1] = ((uint64_t)1 << (n & 63)) - 1;
    if (reserve_scratch(s, n) < 0)
        return -ENOMEM;

    /* A CSV batch whose bytes are valid UTF-8 as a whole needs no check per value:
     * fields are cut at ASCII bytes (delimiter, quote, newline), which never split a
     * multi-byte sequence. The batch's rows are one contiguous span of the chunk,
     * checked right after the parser read it, while it is still in cache (a pass over
     * the whole chunk up front read it cold from memory and cost 7% of a profile).
     * Only a span that fails is checked value by value, to find the rows. NDJSON
     * strings were validated by the parser. */
    bool utf8_ok = true;
    if (e->format == ASSAY_FORMAT_CSV && s->any_text) {
        size_t a = s->rs.row_off[0], b = s->rs.row_off[n - 1] + (size_t)s->rs.row_len[n - 1];
        utf8_ok = assay_utf8_check(base + a, b - a) == b - a;
    }

    /* 1. nulls and text views (and the UTF-8 check that can turn a row bad) */
    for (uint32_t c = 0; c < sch->ncols; c++) {
        if (!sch->want[c])
            continue;
        const assay_cell *cells = s->rs.cells + (size_t)c * cap;
        const uint8_t *fl = s->rs.flags + (size_t)c * cap;
        uint64_t *nb = s->null[c];
        memset(nb, 0, words * 8);
        memset(s->invalid[c], 0, words * 8);
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
            if (!utf8_ok && assay_bit_get(s->ok, i)) {
                size_t at = assay_utf8_check(str[i], len[i]);
                if (at != len[i]) {
                    char reason[160];
                    snprintf(reason, sizeof(reason),
                             "invalid UTF-8 in column '%s' at byte %zu of the value", sch->names[c],
                             at);
                    s->ok[i >> 6] &= ~((uint64_t)1 << (i & 63));
                    record_bad(s, m, s->rs.row_ord[i], s->rs.row_off[i], s->rs.row_len[i], reason,
                               lc_off, lc_n);
                }
            }
        }
    }

    /* 2. typed vectors, 3. regex matches, column counters */
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
        if (sch->regex[c]) {
            /* skip = null | !ok, built in the fail scratch */
            for (size_t w = 0; w < words; w++)
                s->fail[w] = s->null[c][w] | ~s->ok[w];
            int rc =
                assay_regex_match_batch(sch->regex[c], s->rx[c], (const char *const *)s->str[c],
                                        s->len[c], s->fail, n, s->match[c]);
            if (rc < 0)
                return rc;
        }
        uint64_t cnt = 0, nul = 0, inv = 0;
        for (size_t w = 0; w < words; w++) {
            cnt += (uint64_t)__builtin_popcountll(s->ok[w]);
            nul += (uint64_t)__builtin_popcountll(s->ok[w] & s->null[c][w]);
            inv += (uint64_t)__builtin_popcountll(s->ok[w] & s->invalid[c][w] & ~s->null[c][w]);
        }
        s->col_count[c] += cnt;
        s->col_nulls[c] += nul;
        s->col_invalid[c] += inv;
    }

    double t_rules = clock_s();
    s->stage[ASSAY_STAGE_PARSE] += t_rules - t_start;

    /* 4. rules */
    for (size_t r = 0; r < e->nrules; r++) {
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
            .str = s->str[c],
            .len = s->len[c],
            .match = s->match[c],
        };
        assay_rule_eval(rule, &s->rst[r], &v, s->ok, s->pos, s->fail, s->eval);
        rule_acc *a = &s->acc[r];
        uint64_t ev = 0, fa = 0;
        for (size_t w = 0; w < words; w++) {
            ev += (uint64_t)__builtin_popcountll(s->eval[w]);
            fa += (uint64_t)__builtin_popcountll(s->fail[w]);
        }
        a->evaluated += ev;
        a->failed += fa;
        if (fa && a->nsamples < e->max_samples) {
            const assay_cell *cells = s->rs.cells + (size_t)c * cap;
            const uint8_t *fl = s->rs.flags + (size_t)c * cap;
            for (size_t i = assay_bitmap_next(s->fail, 0, n); i < n && a->nsamples < e->max_samples;
                 i = assay_bitmap_next(s->fail, i + 1, n)) {
                if (fl[i] & ASSAY_CELL_NULL) {
                    keep_sample(a, e->max_samples, s->pos[i], NULL, 0, true);
                } else if (sch->need_text[c]) {
                    keep_sample(a, e->max_samples, s->pos[i], s->str[c][i], s->len[c][i], false);
                } else {
                    char *buf = malloc(cells[i].len + 1);
                    const char *p;
                    uint32_t len;
                    assay_cell_text(e, base, cells[i], fl[i], buf, &p, &len);
                    keep_sample(a, e->max_samples, s->pos[i], p, len, false);
                    free(buf);
                }
            }
        }
    }

    /* 5. profile */
    double t_sketch = clock_s();
    s->stage[ASSAY_STAGE_RULES] += t_sketch - t_rules;
    int rc = assay_profile_batch(s, m, n);
    double t_anomaly = clock_s();
    s->stage[ASSAY_STAGE_SKETCH] += t_anomaly - t_sketch;
    if (rc < 0)
        return rc;

    /* 6. anomaly scores */
    if (e->an_d) {
        rc = assay_anomaly_batch(s, n);
        s->stage[ASSAY_STAGE_ANOMALY] += clock_s() - t_anomaly;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------
 * One chunk
 * ------------------------------------------------------------------------------- */

static int push_stat(assay_shard *s, const chunk_stat *st)
{
    if (s->nstats == s->stats_cap) {
        size_t cap = s->stats_cap ? s->stats_cap * 2 : 64;
        chunk_stat *p = realloc(s->stats, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        s->stats = p;
        s->stats_cap = cap;
    }
    s->stats[s->nstats++] = *st;
    return 0;
}

int assay_shard_process(assay_shard *s, chunk_msg *m)
{
    const assay_chunk *ch = &m->chunk;
    chunk_stat st = {
        .seq = ch->seq,
        .file = ch->file,
        .offset = ch->offset,
        .len = ch->len,
        .start = m->start,
        .lines = m->header_lines,
    };
    uint64_t lc_off = 0, lc_n = 0;
    if (ch->oversized) {
        char reason[160];
        snprintf(reason, sizeof(reason),
                 "row longer than limits.max_row_bytes (%llu bytes); %llu more bytes skipped",
                 (unsigned long long)s->e->cfg->limits.max_row_bytes,
                 (unsigned long long)ch->skipped);
        record_bad(s, m, 0, 0, (uint32_t)ASSAY_MIN(ch->len, (size_t)UINT32_MAX), reason, &lc_off,
                   &lc_n);
        for (size_t i = 0; i < ch->len; i++)
            st.lines += ch->data[i] == '\n';
        st.lines += 1;
        st.rows = 1;
        int rc = s->e->an_d ? assay_anomaly_chunk_end(s, m, 1) : 0;
        return rc < 0 ? rc : push_stat(s, &st);
    }
    assay_cursor cur = { .buf = ch->data, .len = ch->len, .pos = m->start, .ord = 0 };
    while (cur.pos < cur.len) {
        size_t before = cur.pos;
        s->rs.nrows = s->rs.nbad = s->rs.nlines = 0;
        double t0 = clock_s();
        assay_engine_parse(s->e, &cur, &s->rs);
        s->stage[ASSAY_STAGE_FRAME] += clock_s() - t0;
        st.lines += s->rs.nlines;
        for (uint32_t b = 0; b < s->rs.nbad; b++) {
            char reason[160];
            assay_bad_row_describe(&s->rs.bad[b], s->rs.ncols, reason, sizeof(reason));
            record_bad(s, m, s->rs.bad[b].row, s->rs.bad[b].off, s->rs.bad[b].len, reason, &lc_off,
                       &lc_n);
        }
        int rc = process_batch(s, m, &lc_off, &lc_n);
        if (rc < 0)
            return rc;
        if (cur.pos == before && s->rs.nrows == 0 && s->rs.nbad == 0)
            break; /* parser made no progress: never spin */
    }
    st.rows = cur.ord;
    int rc = assay_profile_chunk_end(s, m);
    if (rc == 0 && s->e->an_d)
        rc = assay_anomaly_chunk_end(s, m, cur.ord);
    if (rc < 0)
        return rc;
    return push_stat(s, &st);
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
        if (!s->error) {
            int rc = assay_shard_process(s, m);
            if (rc < 0)
                s->error = rc;
        }
        assay_ring_push_wait(&s->out, m);
    }
    return NULL;
}
