/*
 * fuzz_csv.c - libFuzzer target for the CSV parser.
 *
 * The first 4 bytes choose the setup (columns, wanted columns, delimiter and quote,
 * caps, limits, a read size); the rest is the chunk, copied into a buffer of exactly
 * its length so ASan catches any read past the end. Besides "does not crash" it
 * checks two properties and aborts when they fail:
 *
 *   1. every SIMD level this CPU has gives the same rows, cells, flags, bad rows and
 *      line count as the scalar kernel;
 *   2. cutting the input into chunks at assay_csv_last_row_end (as the reader does)
 *      and parsing the pieces gives the same rows as parsing it whole.
 *
 * It also runs assay_csv_read_row, assay_csv_last_row_end, assay_csv_unescape and
 * assay_sniff_input on the same bytes. Bit 4 of the first byte turns on comment lines
 * ('#') and null tokens (NA, -, N"A, and the empty text), so property 2 covers chunk
 * cutting around comment lines whose quotes do not count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/csv.h"
#include "assay/sniff.h"

#define MAXC 8
#define CAP  16

typedef struct rec {
    uint32_t reason, off, len, at, detail;
    assay_cell cells[MAXC];
    uint8_t flags[MAXC];
} rec;

typedef struct result {
    rec *r;
    size_t n, cap;
    uint32_t nlines;
} result;

typedef struct setup {
    assay_csv_options o;
    uint32_t ncols, cap, bad_cap;
    uint8_t want[MAXC];
    size_t read;
} setup;

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "fuzz_csv: check failed: %s (line %d)\n", #x, __LINE__);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void push(result *res, const rec *x)
{
    if (res->n == res->cap) {
        res->cap = res->cap ? 2 * res->cap : 64;
        res->r = realloc(res->r, res->cap * sizeof(rec));
        CHECK(res->r != NULL);
    }
    res->r[res->n++] = *x;
}

static void collect(const setup *s, const char *buf, size_t len, assay_simd_level level,
                    size_t base, result *res)
{
    assay_cell cells[MAXC * CAP];
    uint8_t flags[MAXC * CAP];
    uint32_t roff[CAP], rlen[CAP], rord[CAP];
    assay_bad_row bad[CAP];
    assay_cursor cur = { buf, len, 0, 0 };
    while (cur.pos < len) {
        assay_rowset rs = { .ncols = s->ncols,
                            .want = s->want,
                            .cap = s->cap,
                            .cells = cells,
                            .flags = flags,
                            .row_off = roff,
                            .row_len = rlen,
                            .row_ord = rord,
                            .bad = bad,
                            .bad_cap = s->bad_cap };
        size_t before = cur.pos;
        uint32_t ord0 = cur.ord;
        CHECK(assay_csv_parse_level(&s->o, &cur, &rs, level) == 0);
        CHECK(cur.pos > before && cur.pos <= len);
        CHECK(cur.ord == ord0 + rs.nrows + rs.nbad);
        res->nlines += rs.nlines;
        uint32_t g = 0, b = 0;
        while (g < rs.nrows || b < rs.nbad) {
            rec x;
            memset(&x, 0, sizeof(x));
            if (b >= rs.nbad || (g < rs.nrows && rord[g] < bad[b].row)) {
                CHECK((size_t)roff[g] + rlen[g] <= len);
                x.off = roff[g] + (uint32_t)base;
                x.len = rlen[g];
                for (uint32_t c = 0; c < s->ncols; c++) {
                    if (!s->want[c])
                        continue;
                    x.cells[c] = cells[c * s->cap + g];
                    CHECK((size_t)x.cells[c].off + x.cells[c].len <= len);
                    x.cells[c].off += (uint32_t)base;
                    x.flags[c] = flags[c * s->cap + g];
                }
                g++;
            } else {
                CHECK((size_t)bad[b].off + bad[b].len <= len);
                x.reason = bad[b].reason;
                x.off = bad[b].off + (uint32_t)base;
                x.len = bad[b].len;
                x.at = bad[b].at;
                x.detail = bad[b].detail;
                char text[160];
                assay_bad_row_describe_row(&bad[b], buf + bad[b].off, s->ncols, NULL, text,
                                           sizeof(text));
                b++;
            }
            push(res, &x);
        }
    }
}

static void same(const result *a, const result *b)
{
    CHECK(a->n == b->n);
    CHECK(a->nlines == b->nlines);
    for (size_t i = 0; i < a->n; i++)
        CHECK(memcmp(&a->r[i], &b->r[i], sizeof(rec)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = { ',', ';', '\t', '|' };
    static const char quotes[] = { '"', '\'' };
    if (size < 4)
        return 0;
    setup s;
    assay_csv_options_default(&s.o);
    s.ncols = 1 + (data[0] & 7);
    s.o.keep_blank = data[0] & 0x08; /* Kafka's one row per line, blank ones included */
    static assay_null_tokens nulls;
    static bool nulls_set;
    if (!nulls_set) {
        const char *toks[] = { "NA", "-", "N\"A", "" };
        CHECK(assay_null_tokens_set(&nulls, toks, 4, NULL) == 0);
        nulls_set = true;
    }
    if (data[0] & 0x10) {
        s.o.comment = '#';
        s.o.nulls = &nulls;
    }
    for (int c = 0; c < MAXC; c++)
        s.want[c] = (data[1] >> c) & 1;
    s.o.delimiter = delims[data[2] & 3];
    s.o.quote = quotes[(data[2] >> 2) & 1];
    if (data[2] & 0x08)
        s.o.max_row_bytes = 1 + (data[3] & 0x3f);
    if (data[2] & 0x10)
        s.o.max_fields = 1 + (data[3] >> 6);
    s.cap = 1 + ((data[2] >> 5) & 7) * 2;
    s.bad_cap = 1 + (data[0] >> 5);
    s.read = 1 + data[3] * 3u;
    size_t len = size - 4;
    char *buf = malloc(len ? len : 1);
    CHECK(buf != NULL);
    memcpy(buf, data + 4, len);

    /* 1. every level agrees with scalar */
    result ref = { 0 };
    collect(&s, buf, len, ASSAY_SIMD_SCALAR, 0, &ref);
    for (int lv = ASSAY_SIMD_AVX2; lv <= (int)assay_cpu_detect(); lv++) {
        result r = { 0 };
        collect(&s, buf, len, (assay_simd_level)lv, 0, &r);
        same(&ref, &r);
        free(r.r);
    }

    /* 2. chunked at last_row_end == whole */
    result parts = { 0 };
    size_t p = 0;
    while (p < len) {
        size_t w = s.read < len - p ? s.read : len - p, end;
        while ((end = assay_csv_last_row_end(&s.o, buf + p, w)) == 0 && w < len - p)
            w = 2 * w < len - p ? 2 * w : len - p;
        if (end == 0)
            end = len - p;
        CHECK(end <= w);
        char *chunk = malloc(end);
        CHECK(chunk != NULL);
        memcpy(chunk, buf + p, end);
        collect(&s, chunk, end, ASSAY_SIMD_SCALAR, p, &parts);
        free(chunk);
        p += end;
    }
    same(&ref, &parts);
    free(parts.r);
    free(ref.r);

    assay_error serr;
    (void)assay_sniff_input(buf, len, false, s.o.quote, "f.csv", &serr);

    /* header reading and unescaping on the same bytes */
    char **fields;
    uint32_t nf;
    size_t used;
    assay_error err;
    if (assay_csv_read_row(&s.o, buf, len, &fields, &nf, &used, &err) == 0) {
        CHECK(used <= len && nf >= 1);
        for (uint32_t i = 0; i < nf; i++)
            free(fields[i]);
        free(fields);
    }
    char *u = malloc(len ? len : 1);
    CHECK(u != NULL);
    CHECK(assay_csv_unescape(buf, len, s.o.quote, u) <= len);
    free(u);
    free(buf);
    return 0;
}
