/*
 * libFuzzer target: NDJSON parser, JSON unescaping and the UTF-8 checker.
 *
 * The first input byte picks options (skip_blank, a small max_row_bytes, caps, wanted
 * columns); the rest is the chunk, copied to an exact-size heap buffer so ASan flags
 * any read past it. Checked on every input:
 *   - the SSE2 and portable scan kernels give identical rows, cells and bad rows;
 *   - parsing with small caps through one cursor gives the same rows as one big call;
 *   - every offset stays inside the chunk, every call makes progress;
 *   - each accepted string cell is valid UTF-8 and, when escaped, unescapes to valid
 *     UTF-8 no longer than the slice;
 *   - assay_utf8_check/length agree with a plain reference decoder written here;
 *   - assay_json_unescape of the raw input either fails or yields valid UTF-8 when the
 *     input was valid UTF-8; assay_ndjson_keys returns 0 or -EINVAL.
 * When bits 6 and 7 are both set, comment lines ('#') and null tokens (NA, 0, é) are on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assay/ndjson.h"
#include "assay/sniff.h"
#include "assay/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCOLS  6
#define BIGCAP 256

/* Reference UTF-8 decoder: offset of the first ill-formed sequence (or len), and the
 * number of code points before it. */
static size_t ref_utf8(const uint8_t *s, size_t len, size_t *count)
{
    size_t i = 0, n = 0;
    while (i < len) {
        uint8_t b = s[i];
        size_t need;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            n++;
            continue;
        }
        if ((b & 0xE0) == 0xC0) {
            need = 1, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            need = 2, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            need = 3, cp = b & 0x07, min = 0x10000;
        } else {
            break;
        }
        if (len - i <= need)
            break;
        size_t k;
        for (k = 1; k <= need && (s[i + k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | (s[i + k] & 0x3F);
        if (k <= need || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            break;
        i += need + 1;
        n++;
    }
    *count = n;
    return i;
}

typedef struct result {
    size_t nrows, nbad;
    uint32_t nlines;
    uint32_t *row; /* per good row: off, len, ord, then per column: flags, off, len */
    assay_bad_row *bad;
} result;

#define ROW_WORDS (3 + 3 * NCOLS)

static void parse_all(const assay_ndjson_options *o, const assay_ndjson_schema *s, const char *buf,
                      size_t len, const uint8_t *want, uint32_t cap, uint32_t bad_cap,
                      assay_simd_level level, result *out)
{
    assay_cell *cells = calloc((size_t)NCOLS * cap, sizeof(*cells));
    uint8_t *flags = calloc((size_t)NCOLS * cap, 1);
    uint32_t *ro = calloc(cap, 4), *rl = calloc(cap, 4), *rd = calloc(cap, 4);
    assay_bad_row *bad = calloc(bad_cap, sizeof(*bad));
    uint32_t unk_cap = cap; /* unknown keys: collected, each one checked below */
    assay_unknown_key *unk = calloc(unk_cap, sizeof(*unk));
    assay_cursor cur = { .buf = buf, .len = len };
    out->nrows = out->nbad = 0;
    out->nlines = 0;
    out->row = malloc((len + 1) * ROW_WORDS * sizeof(uint32_t));
    out->bad = malloc((len + 1) * sizeof(assay_bad_row));
    for (;;) {
        assay_rowset rs = { .ncols = NCOLS,
                            .want = want,
                            .cap = cap,
                            .cells = cells,
                            .flags = flags,
                            .row_off = ro,
                            .row_len = rl,
                            .row_ord = rd,
                            .bad = bad,
                            .bad_cap = bad_cap,
                            .unk = unk,
                            .unk_cap = unk_cap };
        size_t before = cur.pos;
        if (assay_ndjson_parse_level(o, s, &cur, &rs, level) != 0)
            abort();
        if (rs.nrows > cap || rs.nbad > bad_cap || cur.pos > len)
            abort();
        out->nlines += rs.nlines;
        /* unknown keys: inside a good row, in row order, at most unk_cap, escapes valid */
        if (rs.nunk > unk_cap)
            abort();
        for (uint32_t k = 0; k < rs.nunk; k++) {
            const assay_unknown_key *u = &unk[k];
            if (u->row >= rs.nrows || (k && u->row < unk[k - 1].row) || u->off < ro[u->row] ||
                (size_t)u->off + u->len > (size_t)ro[u->row] + rl[u->row])
                abort();
            char *tmp = malloc(u->len ? u->len : 1);
            size_t n;
            if (u->esc != (memchr(buf + u->off, '\\', u->len) != NULL) ||
                (u->esc && assay_json_unescape(buf + u->off, u->len, tmp, &n) != 0))
                abort();
            free(tmp);
        }
        for (uint32_t r = 0; r < rs.nrows; r++) {
            uint32_t *w = out->row + out->nrows++ * ROW_WORDS;
            if ((size_t)ro[r] + rl[r] > len)
                abort();
            w[0] = ro[r], w[1] = rl[r], w[2] = rd[r];
            for (uint32_t c = 0; c < NCOLS; c++) {
                uint32_t *cw = w + 3 + 3 * c;
                cw[0] = cw[1] = cw[2] = 0;
                if (!want[c])
                    continue;
                assay_cell cell = cells[c * cap + r];
                uint8_t f = flags[c * cap + r];
                if (cell.len && (cell.off < ro[r] || cell.off + cell.len > ro[r] + rl[r]))
                    abort();
                cw[0] = f, cw[1] = (f & ASSAY_CELL_NULL) ? 0 : cell.off, cw[2] = cell.len;
                if (f & ASSAY_CELL_QUOTED) {
                    const char *v = buf + cell.off;
                    if (assay_utf8_check(v, cell.len) != cell.len)
                        abort();
                    if (f & ASSAY_CELL_ESCAPED) {
                        char *tmp = malloc(cell.len ? cell.len : 1);
                        size_t n = SIZE_MAX;
                        if (assay_json_unescape(v, cell.len, tmp, &n) != 0 || n > cell.len ||
                            assay_utf8_check(tmp, n) != n)
                            abort();
                        free(tmp);
                    } else if (memchr(v, '\\', cell.len) || memchr(v, '"', cell.len)) {
                        abort();
                    }
                }
            }
        }
        for (uint32_t b = 0; b < rs.nbad; b++) {
            if ((size_t)bad[b].off + bad[b].len > len || bad[b].at > bad[b].len ||
                bad[b].reason == 0 || bad[b].reason >= ASSAY_BAD_REASON_COUNT)
                abort();
            out->bad[out->nbad++] = bad[b];
            char text[200];
            assay_bad_row_describe_row(&bad[b], buf + bad[b].off, NCOLS, NULL, text, sizeof(text));
        }
        if (cur.pos >= len)
            break;
        if (cur.pos == before)
            abort(); /* no progress */
    }
    free(cells);
    free(flags);
    free(ro);
    free(rl);
    free(rd);
    free(bad);
    free(unk);
}

static void same(const result *a, const result *b)
{
    if (a->nrows != b->nrows || a->nbad != b->nbad || a->nlines != b->nlines)
        abort();
    if (memcmp(a->row, b->row, a->nrows * ROW_WORDS * sizeof(uint32_t)) != 0)
        abort();
    if (memcmp(a->bad, b->bad, a->nbad * sizeof(assay_bad_row)) != 0)
        abort();
}

static void result_free(result *r)
{
    free(r->row);
    free(r->bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    size_t len = size - 1;
    char *buf = malloc(len ? len : 1);
    memcpy(buf, data + 1, len);

    /* UTF-8 checker vs the reference */
    size_t count;
    size_t want_ok = ref_utf8((const uint8_t *)buf, len, &count);
    if (assay_utf8_check(buf, len) != want_ok)
        abort();
    if (assay_utf8_length(buf, want_ok) != count)
        abort();

    /* unescape of the raw bytes */
    char *tmp = malloc(len ? len : 1);
    size_t n = SIZE_MAX;
    if (assay_json_unescape(buf, len, tmp, &n) == 0) {
        if (n > len)
            abort();
        if (want_ok == len && assay_utf8_check(tmp, n) != n)
            abort();
    }
    free(tmp);

    static const char *const names[NCOLS] = { "a", "b", "id", "\xC3\xA9t\xC3\xA9", "k\"q", "" };
    assay_ndjson_schema *s;
    if (assay_ndjson_schema_new(names, NCOLS, &s) != 0)
        abort();
    assay_ndjson_options o;
    assay_ndjson_options_default(&o);
    o.skip_blank = !(cfg & 1);
    if (cfg & 2)
        o.max_row_bytes = 16 + (cfg >> 4);
    static assay_null_tokens nulls;
    if ((cfg & 0xC0) == 0xC0) {
        if (assay_null_tokens_parse_list(&nulls, "NA,0,\xC3\xA9", NULL) != 0)
            abort();
        o.comment = '#';
        o.nulls = &nulls;
    }
    (void)assay_sniff_input(buf, len, true, '"', "f.ndjson", NULL);
    uint8_t want[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        want[c] = (cfg & 4) ? 1 : (uint8_t)(c % 2);

    result big, scalar, small;
    parse_all(&o, s, buf, len, want, BIGCAP, BIGCAP, ASSAY_SIMD_AVX2, &big);
    parse_all(&o, s, buf, len, want, BIGCAP, BIGCAP, ASSAY_SIMD_SCALAR, &scalar);
    same(&big, &scalar);
    uint32_t cap = 1 + ((cfg >> 3) & 3);
    parse_all(&o, s, buf, len, want, cap, 1 + ((cfg >> 5) & 1), ASSAY_SIMD_SSE42, &small);
    same(&big, &small); /* rows and bad rows each keep their order across calls */
    result_free(&big);
    result_free(&scalar);
    result_free(&small);
    assay_ndjson_schema_free(s);

    char **keys;
    uint32_t nkeys;
    assay_error err;
    int rc = assay_ndjson_keys(buf, len, cfg & 8 ? 0 : 3, &keys, &nkeys, &err);
    if (rc == 0) {
        for (uint32_t i = 0; i < nkeys; i++)
            free(keys[i]);
        free(keys);
    } else if (rc != -EINVAL) {
        abort();
    }
    free(buf);
    return 0;
}
