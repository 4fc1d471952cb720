/*
 * Schema: the columns of the input (from the CSV header or the NDJSON keys), their
 * types (declared in the config, else inferred), and which columns each rule needs.
 *
 * Inference looks at the first rows of the first chunk (up to 10,000). A column
 * takes the first of int, float, timestamp, bool whose parser accepts at least 90%
 * of its non-null sample values; otherwise it is a string. The 10% slack is on
 * purpose: a data-quality tool must type a column by what most of it is, so that
 * the few values that are not ("N/A" in an amount column) are reported as `type`
 * failures instead of silently turning the column into text. Digit strings written
 * with a leading '+' or '0' (phone numbers, zip codes, account numbers) are
 * identifiers, not quantities: when 10% of a column's values look like that it stays
 * a string. So are integers too large for int64 (20-digit ids): as doubles they would
 * lose digits and collapse. A column that is null throughout the first 10,000 rows
 * is typed by its first non-null values further into the first chunk (up to 1,000 of
 * them), instead of defaulting to text.
 *
 * The first rows cannot see the whole input, so the decision for numbers is not final:
 * an inferred int column whose later values need a float (12.5 after 12,000 integers)
 * widens to float (src/engine/shard.c keeps those values as doubles, the profile
 * reports the column as float), rather than failing those values as "not int".
 * Declare types under `columns:` to take inference out of the picture.
 */
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "engine/engine_internal.h"

#define INFER_ROWS        10000
#define INFER_MORE_ROWS   1000000 /* phase 2 stops here, or at the end of the buffer */
#define INFER_MORE_VALUES 1000
#define INFER_CELLS       ((size_t)1 << 22) /* rowset cells at a time (~36 MiB) */

void assay_schema_free(assay_schema *s)
{
    for (uint32_t c = 0; c < s->ncols; c++) {
        free(s->names ? s->names[c] : NULL);
        if (s->regex)
            assay_regex_free(s->regex[c]);
    }
    free(s->names);
    free(s->types);
    free(s->inferred);
    free(s->want);
    free(s->need_text);
    free(s->need_typed);
    free(s->regex);
    for (uint32_t c = 0; s->samples && c < s->ncols; c++) {
        for (uint32_t k = 0; k < s->nsamples[c]; k++)
            free(s->samples[c][k]);
        free(s->samples[c]);
    }
    free(s->samples);
    free(s->nsamples);
    free(s->infer);
    memset(s, 0, sizeof(*s));
}

/* What one value parses as. */
static void count_value(assay_infer_count *k, const char *p, uint32_t l)
{
    int64_t iv;
    double dv;
    bool bv;
    int irc = assay_parse_i64(p, l, &iv);
    k->as_int += irc == 0;
    k->big_int += irc == -ERANGE;
    k->as_float += assay_parse_f64(p, l, &dv) == 0;
    k->as_ts += assay_parse_timestamp(p, l, &iv) == 0;
    k->as_bool += assay_parse_bool(p, l, &bv) == 0;
    k->id_like += l > 1 && (p[0] == '+' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'));
}

/* An undeclared column with no value in the first rows and too few after them. */
static bool still_empty(const assay_schema *s, const assay_infer_count *cnt,
                        const assay_infer_count *more)
{
    for (uint32_t c = 0; c < s->ncols; c++)
        if (s->types[c] == ASSAY_TYPE_UNKNOWN && cnt[c].nonnull == 0 &&
            more[c].nonnull < INFER_MORE_VALUES)
            return true;
    return false;
}

/* Fill types of columns not declared in the config from the first rows in buf. */
int assay_schema_infer(assay_engine *e, const char *buf, size_t len, size_t start, assay_error *err)
{
    assay_schema *s = &e->sch;
    uint32_t nc = s->ncols;
    uint32_t cap = INFER_ROWS;
    /* the rowset holds rows x columns cells: a wide header parses in shorter steps
     * (10,000 rows of 100,000 columns would be 9 GB) */
    uint32_t rcap =
        nc ? (uint32_t)ASSAY_MIN((size_t)cap, ASSAY_MAX((size_t)8, INFER_CELLS / nc)) : cap;
    assay_rowset rs = { 0 };
    uint8_t *want = malloc(nc ? nc : 1);
    if (want)
        memset(want, 1, nc);
    assay_infer_count *cnt = calloc(nc ? nc : 1, sizeof(*cnt));
    assay_infer_count *more = calloc(nc ? nc : 1, sizeof(*more));
    s->samples = calloc(nc ? nc : 1, sizeof(char **));
    s->nsamples = calloc(nc ? nc : 1, sizeof(uint32_t));
    int rc = 0;
    if (!want || !cnt || !more || !s->samples || !s->nsamples ||
        assay_rowset_init(&rs, nc, want, rcap, 64) < 0) {
        rc = assay_error_set(err, -ENOMEM, "out of memory inferring column types");
        goto out;
    }
    assay_cursor cur = { .buf = buf, .len = len, .pos = start, .ord = 0 };
    uint32_t seen = 0;
    char tmp[256];
    size_t first_pos = cur.pos;
    /* phase 1: the first INFER_ROWS rows, counted in cnt (reported by the profile);
     * phase 2: only while an undeclared column has had no value yet, further rows of
     * the same buffer, counted in more for those columns */
    while (cur.pos < cur.len && seen < INFER_MORE_ROWS) {
        bool phase2 = seen >= cap;
        if (phase2 && !still_empty(s, cnt, more))
            break;
        size_t before = cur.pos;
        rs.cap = ASSAY_MIN(rcap, phase2 ? cap : cap - seen);
        rs.nrows = rs.nbad = rs.nlines = 0;
        if ((rc = assay_engine_parse(e, &cur, &rs)) < 0) {
            rc = assay_error_set(err, rc, "cannot parse the first rows: %s", strerror(-rc));
            goto out;
        }
        for (uint32_t c = 0; c < nc; c++) {
            if (phase2 && (cnt[c].nonnull || more[c].nonnull >= INFER_MORE_VALUES))
                continue;
            assay_infer_count *k = phase2 ? &more[c] : &cnt[c];
            for (uint32_t i = 0; i < rs.nrows; i++) {
                assay_cell cell = rs.cells[(size_t)c * rs.cap + i];
                uint8_t fl = rs.flags[(size_t)c * rs.cap + i];
                if (fl & (ASSAY_CELL_NULL | ASSAY_CELL_RAW))
                    continue;
                const char *p;
                uint32_t l;
                k->nonnull++;
                if (cell.len > sizeof(tmp))
                    continue; /* a value this long is text: no parser would take it */
                assay_cell_text(e, buf, cell, fl, tmp, &p, &l);
                uint32_t ns = s->nsamples[c];
                if (ns < ASSAY_SAMPLE_VALUES) {
                    /* grown by doubling from 16: a wide input's columns hold a few each */
                    if (ns == 0 || (ns >= 16 && (ns & (ns - 1)) == 0)) {
                        size_t grow_to = ASSAY_MIN(ns ? 2 * (size_t)ns : 16, ASSAY_SAMPLE_VALUES);
                        char **grown = realloc(s->samples[c], grow_to * sizeof(char *));
                        if (grown)
                            s->samples[c] = grown;
                        else
                            ns = ASSAY_SAMPLE_VALUES; /* keep what we have */
                    }
                    if (ns < ASSAY_SAMPLE_VALUES && (s->samples[c][ns] = strndup(p, l)))
                        s->nsamples[c] = ns + 1;
                }
                count_value(k, p, l);
            }
        }
        seen += rs.nrows;
        if (cur.pos == before)
            break;
    }
    if (cur.ord > 0)
        e->avg_row_bytes = (double)(cur.pos - first_pos) / cur.ord;
    for (uint32_t c = 0; c < nc; c++) {
        if (s->types[c] != ASSAY_TYPE_UNKNOWN)
            continue;
        s->inferred[c] = true;
        const assay_infer_count *k = cnt[c].nonnull ? &cnt[c] : &more[c];
        uint64_t need = k->nonnull - k->nonnull / 10; /* 90% */
        if (k->nonnull == 0 || (k->id_like > 0 && k->id_like * 10 >= k->nonnull) ||
            (k->big_int > 0 && k->as_int + k->big_int >= need))
            s->types[c] = ASSAY_TYPE_STRING; /* nothing to go by, or identifiers */
        else if (k->as_int >= need)
            s->types[c] = ASSAY_TYPE_INT;
        else if (k->as_float >= need)
            s->types[c] = ASSAY_TYPE_FLOAT;
        else if (k->as_ts >= need)
            s->types[c] = ASSAY_TYPE_TIMESTAMP;
        else if (k->as_bool >= need)
            s->types[c] = ASSAY_TYPE_BOOL;
        else
            s->types[c] = ASSAY_TYPE_STRING;
    }
out:
    free(want);
    free(more);
    s->infer = cnt; /* kept: the profile reports what the first rows parse as */
    assay_rowset_free(&rs);
    return rc;
}
