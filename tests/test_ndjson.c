/* NDJSON parser: value kinds, escapes, every error kind with its offset, keys and
 * columns, framing (CRLF, blank lines, long rows, BOM), chunk/cap split independence,
 * SSE2 vs portable scan kernels, key discovery and unescaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/ndjson.h"
#include "assay/utf8.h"

#define CAP     64
#define MAXCOLS 8

typedef struct fx {
    assay_ndjson_schema *s;
    assay_ndjson_options o;
    uint8_t want[MAXCOLS];
    assay_cell cells[MAXCOLS * CAP];
    uint8_t flags[MAXCOLS * CAP];
    uint32_t row_off[CAP], row_len[CAP], row_ord[CAP];
    assay_bad_row bad[CAP];
    assay_rowset rs;
    assay_cursor cur;
} fx;

static fx *fx_new(const char *const *names, uint32_t ncols)
{
    fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(assay_ndjson_schema_new(names, ncols, &f->s), 0);
    assay_ndjson_options_default(&f->o);
    for (uint32_t c = 0; c < ncols; c++)
        f->want[c] = 1;
    f->rs = (assay_rowset){ .ncols = ncols,
                            .want = f->want,
                            .cap = CAP,
                            .cells = f->cells,
                            .flags = f->flags,
                            .row_off = f->row_off,
                            .row_len = f->row_len,
                            .row_ord = f->row_ord,
                            .bad = f->bad,
                            .bad_cap = CAP };
    return f;
}

static void fx_free(fx *f)
{
    assay_ndjson_schema_free(f->s);
    free(f);
}

/* Parse len bytes of text (copied to an exact-size buffer so ASan sees overreads). */
static char *fx_run_n(fx *f, const char *text, size_t len)
{
    char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, text, len);
    f->cur = (assay_cursor){ .buf = buf, .len = len };
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    return buf;
}

static char *fx_run(fx *f, const char *text)
{
    return fx_run_n(f, text, strlen(text));
}

/* Cell (col, row) must have these flags and this text. */
static void check_cell(fx *f, const char *buf, uint32_t col, uint32_t row, uint8_t flags,
                       const char *text)
{
    size_t i = (size_t)col * CAP + row;
    if (f->flags[i] != flags)
        fail_msg("column %u row %u: flags 0x%x, expected 0x%x", col, row, f->flags[i], flags);
    size_t n = strlen(text);
    if (f->cells[i].len != n || memcmp(buf + f->cells[i].off, text, n) != 0)
        fail_msg("column %u row %u: text '%.*s', expected '%s'", col, row, (int)f->cells[i].len,
                 buf + f->cells[i].off, text);
}

/* ---------------------------------------------------------------------------------- */

/* source.null_values on NDJSON: a string value that is a token (after unescaping) is
 * null; JSON null always is; numbers and literals never are. */
static void test_null_tokens(void **state)
{
    (void)state;
    const char *names[] = { "a", "b", "c", "d", "e" };
    fx *f = fx_new(names, 5);
    const char *text = "{\"a\":\"NA\",\"b\":\"N\\u0041\",\"c\":null,\"d\":0,\"e\":\"NAN\"}\n";
    char *buf = fx_run(f, text);
    assert_int_equal(f->rs.nrows, 1);
    check_cell(f, buf, 0, 0, ASSAY_CELL_QUOTED, "NA"); /* no tokens: a string */
    free(buf);
    assay_null_tokens t;
    assert_int_equal(assay_null_tokens_parse_list(&t, "NA,0", NULL), 0);
    f->o.nulls = &t;
    buf = fx_run(f, text);
    assert_int_equal(f->rs.nrows, 1);
    assert_int_equal(f->rs.nbad, 0);
    check_cell(f, buf, 0, 0, ASSAY_CELL_NULL, "");
    check_cell(f, buf, 1, 0, ASSAY_CELL_NULL, ""); /* "N\u0041" is NA */
    check_cell(f, buf, 2, 0, ASSAY_CELL_NULL, "");
    check_cell(f, buf, 3, 0, ASSAY_CELL_NUMBER, "0"); /* the number 0 is no text */
    check_cell(f, buf, 4, 0, ASSAY_CELL_QUOTED, "NAN");
    free(buf);
    fx_free(f);
}

static void test_value_kinds(void **state)
{
    (void)state;
    const char *names[] = { "s", "n", "t", "f", "z", "o", "a", "missing" };
    fx *f = fx_new(names, 8);
    char *buf = fx_run(f, "{\"s\":\"abc\",\"n\":-1.5e+3,\"t\":true,\"f\":false,\"z\":null,"
                          "\"o\":{\"k\":[1,2,{}]},\"a\":[1,{\"b\":\"}\"},[]]}\n"
                          "{ \"n\" : 0 , \"s\" : \"\" , \"o\" : [ ] , \"a\" : { } }\n");
    assert_int_equal(f->rs.nrows, 2);
    assert_int_equal(f->rs.nbad, 0);
    assert_int_equal(f->rs.nlines, 2);
    check_cell(f, buf, 0, 0, ASSAY_CELL_QUOTED, "abc");
    check_cell(f, buf, 1, 0, ASSAY_CELL_NUMBER, "-1.5e+3");
    check_cell(f, buf, 2, 0, ASSAY_CELL_BOOL, "true");
    check_cell(f, buf, 3, 0, ASSAY_CELL_BOOL, "false");
    check_cell(f, buf, 4, 0, ASSAY_CELL_NULL, "");
    check_cell(f, buf, 5, 0, ASSAY_CELL_RAW, "{\"k\":[1,2,{}]}");
    check_cell(f, buf, 6, 0, ASSAY_CELL_RAW, "[1,{\"b\":\"}\"},[]]");
    check_cell(f, buf, 7, 0, ASSAY_CELL_NULL, "");
    assert_int_equal(f->cells[7 * CAP].off, 0);
    check_cell(f, buf, 0, 1, ASSAY_CELL_QUOTED, "");
    check_cell(f, buf, 1, 1, ASSAY_CELL_NUMBER, "0");
    check_cell(f, buf, 2, 1, ASSAY_CELL_NULL, ""); /* absent in row 1 */
    check_cell(f, buf, 5, 1, ASSAY_CELL_RAW, "[ ]");
    check_cell(f, buf, 6, 1, ASSAY_CELL_RAW, "{ }");
    /* null literal keeps its position */
    assert_int_equal(f->cells[4 * CAP].off, (uint32_t)(strstr(buf, "null") - buf));
    /* rows: offsets, lengths, ordinals */
    assert_int_equal(f->row_off[0], 0);
    assert_int_equal(f->row_off[1], f->row_len[0] + 1);
    assert_int_equal(f->row_ord[0], 0);
    assert_int_equal(f->row_ord[1], 1);
    assert_int_equal(f->cur.pos, f->cur.len);
    assert_int_equal(f->cur.ord, 2);
    free(buf);
    fx_free(f);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *names[] = { "n" };
    static const char *const good[] = { "0",        "-0",   "1",
                                        "-1",       "10",   "123456789012345678901234567890",
                                        "0.5",      "-0.0", "1e5",
                                        "1E5",      "1e+5", "1e-5",
                                        "1.25E-10", "0e0" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(good); i++) {
        fx *f = fx_new(names, 1);
        char line[128];
        snprintf(line, sizeof(line), "{\"n\":%s}", good[i]);
        char *buf = fx_run(f, line);
        if (f->rs.nrows != 1)
            fail_msg("number '%s' rejected: %s", good[i],
                     assay_json_error_text((assay_json_error)f->bad[0].detail));
        check_cell(f, buf, 0, 0, ASSAY_CELL_NUMBER, good[i]);
        free(buf);
        fx_free(f);
    }
}

static void test_escapes(void **state)
{
    (void)state;
    const char *names[] = { "s", "plain" };
    fx *f = fx_new(names, 2);
    const char *raw = "a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\\u0000z";
    char line[256];
    snprintf(line, sizeof(line), "{\"s\":\"%s\",\"plain\":\"caf\xC3\xA9\"}", raw);
    char *buf = fx_run(f, line);
    assert_int_equal(f->rs.nrows, 1);
    check_cell(f, buf, 0, 0, ASSAY_CELL_QUOTED | ASSAY_CELL_ESCAPED, raw);
    check_cell(f, buf, 1, 0, ASSAY_CELL_QUOTED, "caf\xC3\xA9");
    char out[256];
    size_t n = 0;
    assert_int_equal(assay_json_unescape(buf + f->cells[0].off, f->cells[0].len, out, &n), 0);
    const char want[] = "a\"b\\c/\b\f\n\r\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\0z";
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    assert_int_equal(assay_utf8_check(out, n), n);
    free(buf);
    fx_free(f);
}

static void test_unescape(void **state)
{
    (void)state;
    char out[64];
    size_t n;
    /* in place */
    char in[] = "x\\u0041\\n\\ud834\\udd1ey";
    assert_int_equal(assay_json_unescape(in, strlen(in), in, &n), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(in, "xA\n\xF0\x9D\x84\x9Ey", 8);
    /* no escapes: copied */
    assert_int_equal(assay_json_unescape("plain", 5, out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "plain", 5);
    assert_int_equal(assay_json_unescape("", 0, out, &n), 0);
    assert_int_equal(n, 0);
    /* U+07FF and U+FFFF edge encodings */
    assert_int_equal(assay_json_unescape("\\u07ff\\uFFFF", 12, out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\xDF\xBF\xEF\xBF\xBF", 5);
    assert_int_equal(assay_json_unescape("\\udbff\\udfff", 12, out, &n), 0);
    assert_memory_equal(out, "\xF4\x8F\xBF\xBF", 4);
    static const char *const bad[] = { "\\",
                                       "\\x",
                                       "\\u12",
                                       "\\u12G4",
                                       "\\ud800",
                                       "\\udc00",
                                       "\\ud800\\u0041",
                                       "\\ud800x",
                                       "\\ud800\\udbff",
                                       "ab\\'" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad); i++) {
        if (assay_json_unescape(bad[i], strlen(bad[i]), out, &n) != -EINVAL)
            fail_msg("unescape accepted '%s'", bad[i]);
    }
}

typedef struct badcase {
    const char *line;
    uint32_t reason;
    uint32_t detail;
    uint32_t at;
} badcase;

#define SYN(l, e, at)                                                                              \
    {                                                                                              \
        l, ASSAY_BAD_JSON_SYNTAX, e, at                                                            \
    }

static const badcase bad_cases[] = {
    SYN("{\"a\":1", ASSAY_JSON_UNEXPECTED_CHAR, 6),
    SYN("{\"a\" 1}", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{a:1}", ASSAY_JSON_UNEXPECTED_CHAR, 1),
    SYN("{\"a\":1,}", ASSAY_JSON_UNEXPECTED_CHAR, 7),
    SYN("{\"a\":1 \"b\":2}", ASSAY_JSON_UNEXPECTED_CHAR, 7),
    SYN("{\"a\":+1}", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{\"a\":.5}", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{\"a\":'x'}", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{\"a\":True}", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{\"a\":}", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{\"a\":", ASSAY_JSON_UNEXPECTED_CHAR, 5),
    SYN("{", ASSAY_JSON_UNEXPECTED_CHAR, 1),
    SYN("{\"a\":[1,]}", ASSAY_JSON_UNEXPECTED_CHAR, 8),
    SYN("{\"a\":[1 2]}", ASSAY_JSON_UNEXPECTED_CHAR, 8),
    SYN("{\"a\":{\"b\"}}", ASSAY_JSON_UNEXPECTED_CHAR, 9),
    SYN("{\"a\":{\"b\":1,}}", ASSAY_JSON_UNEXPECTED_CHAR, 12),
    SYN("{\"a\":{1:2}}", ASSAY_JSON_UNEXPECTED_CHAR, 6),
    SYN("{\"a\":[1}", ASSAY_JSON_UNEXPECTED_CHAR, 7),
    SYN("[1,2", ASSAY_JSON_UNEXPECTED_CHAR, 4),
    SYN("\x01", ASSAY_JSON_UNEXPECTED_CHAR, 0),
    SYN("{\"a\":\"abc}", ASSAY_JSON_UNTERMINATED_STRING, 5),
    SYN("{\"a\":\"abc\\", ASSAY_JSON_UNTERMINATED_STRING, 5),
    SYN("{\"ab", ASSAY_JSON_UNTERMINATED_STRING, 1),
    SYN("\"abc", ASSAY_JSON_UNTERMINATED_STRING, 0),
    SYN("{\"a\":\"ab\\q\"}", ASSAY_JSON_BAD_ESCAPE, 8),
    SYN("{\"a\":\"\\'\"}", ASSAY_JSON_BAD_ESCAPE, 6),
    SYN("{\"a\":\"\\u12G4\"}", ASSAY_JSON_BAD_UNICODE, 6),
    SYN("{\"a\":\"\\u00\"}", ASSAY_JSON_BAD_UNICODE, 6),
    SYN("{\"a\":\"\\u0", ASSAY_JSON_BAD_UNICODE, 6),
    SYN("{\"a\":\"\\ud800\"}", ASSAY_JSON_BAD_UNICODE, 6),
    SYN("{\"a\":\"\\udc00\"}", ASSAY_JSON_BAD_UNICODE, 6),
    SYN("{\"a\":\"x\\ud800\\u0041\"}", ASSAY_JSON_BAD_UNICODE, 7),
    SYN("{\"a\":\"\\udbff\\udbff\"}", ASSAY_JSON_BAD_UNICODE, 6),
    SYN("{\"a\\ud800\":1}", ASSAY_JSON_BAD_UNICODE, 3),
    SYN("{\"a\":01}", ASSAY_JSON_BAD_NUMBER, 6),
    SYN("{\"a\":-01}", ASSAY_JSON_BAD_NUMBER, 7),
    SYN("{\"a\":1.}", ASSAY_JSON_BAD_NUMBER, 7),
    SYN("{\"a\":-}", ASSAY_JSON_BAD_NUMBER, 6),
    SYN("{\"a\":-a}", ASSAY_JSON_BAD_NUMBER, 6),
    SYN("{\"a\":1e}", ASSAY_JSON_BAD_NUMBER, 7),
    SYN("{\"a\":1e+}", ASSAY_JSON_BAD_NUMBER, 8),
    SYN("{\"a\":1.5.2}", ASSAY_JSON_BAD_NUMBER, 8),
    SYN("{\"a\":12abc}", ASSAY_JSON_BAD_NUMBER, 7),
    SYN("{\"a\":0x10}", ASSAY_JSON_BAD_NUMBER, 6),
    SYN("{\"a\":[1,2,3e]}", ASSAY_JSON_BAD_NUMBER, 12),
    SYN("{\"a\":1", ASSAY_JSON_UNEXPECTED_CHAR, 6),
    SYN("{\"a\":tru}", ASSAY_JSON_BAD_LITERAL, 8),
    SYN("{\"a\":nul", ASSAY_JSON_BAD_LITERAL, 8),
    SYN("{\"a\":falsey}", ASSAY_JSON_BAD_LITERAL, 10),
    SYN("{\"a\":trUe}", ASSAY_JSON_BAD_LITERAL, 7),
    SYN("{\"a\":[nan]}", ASSAY_JSON_BAD_LITERAL, 7),
    SYN("{\"a\":\"x\ty\"}", ASSAY_JSON_CONTROL_CHAR, 7),
    SYN("{\"a\":\"x\x1fy\"}", ASSAY_JSON_CONTROL_CHAR, 7),
    SYN("{\"a\x01\":1}", ASSAY_JSON_CONTROL_CHAR, 3),
    SYN("{\"a\":\"\x7f\"", ASSAY_JSON_UNEXPECTED_CHAR, 8), /* DEL is allowed */
    SYN("{\"a\":1} x", ASSAY_JSON_TRAILING, 8),
    SYN("{\"a\":1}{}", ASSAY_JSON_TRAILING, 7),
    SYN("{}\xC3\xA9", ASSAY_JSON_TRAILING, 2),
    SYN("[1] 2", ASSAY_JSON_TRAILING, 4),
    SYN(" \t ", ASSAY_JSON_EMPTY, 3),
    { "[1,2]", ASSAY_BAD_JSON_NOT_OBJECT, 0, 0 },
    { "  42 ", ASSAY_BAD_JSON_NOT_OBJECT, 0, 2 },
    { "\"x\"", ASSAY_BAD_JSON_NOT_OBJECT, 0, 0 },
    { "null", ASSAY_BAD_JSON_NOT_OBJECT, 0, 0 },
    { "true", ASSAY_BAD_JSON_NOT_OBJECT, 0, 0 },
    { "{\"a\":1,\"a\":2}", ASSAY_BAD_JSON_DUPLICATE_KEY, 0, 7 },
    { "{\"b\":1,\"a\":2,\"b\":[]}", ASSAY_BAD_JSON_DUPLICATE_KEY, 1, 13 },
    { "{\"a\":1,\"\\u0061\":2}", ASSAY_BAD_JSON_DUPLICATE_KEY, 0, 7 },
    { "{\"a\":\"\xFF\"}", ASSAY_BAD_UTF8, 0, 6 },
    { "{\"b\":\"ok \xC3\xA9 \xED\xA0\x80\"}", ASSAY_BAD_UTF8, 1, 12 },
    { "{\"b\":\"\\n\xC3\"}", ASSAY_BAD_UTF8, 1, 8 },
    { "{\"\xFF\":1}", ASSAY_BAD_UTF8, UINT32_MAX, 2 },
    { "{\"zz\":\"\xC3\"}", ASSAY_BAD_UTF8, UINT32_MAX, 7 },
    { "{\"a\":[\"\xC0\xAF\"]}", ASSAY_BAD_UTF8, 0, 7 },
};

static void test_bad_rows(void **state)
{
    (void)state;
    const char *names[] = { "a", "b" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad_cases); i++) {
        const badcase *c = &bad_cases[i];
        for (int level = 0; level < 2; level++) {
            fx *f = fx_new(names, 2);
            f->o.skip_blank = false;
            size_t len = strlen(c->line);
            char *buf = malloc(len ? len : 1);
            memcpy(buf, c->line, len);
            /* second line proves parsing goes on after a bad row */
            f->cur = (assay_cursor){ .buf = buf, .len = len };
            int rc = assay_ndjson_parse_level(&f->o, f->s, &f->cur, &f->rs,
                                              level ? ASSAY_SIMD_SSE42 : ASSAY_SIMD_SCALAR);
            assert_int_equal(rc, 0);
            if (f->rs.nbad != 1 || f->rs.nrows != 0)
                fail_msg("case %zu '%s': %u bad, %u good rows, expected 1 bad", i, c->line,
                         f->rs.nbad, f->rs.nrows);
            const assay_bad_row *b = &f->bad[0];
            if (b->reason != c->reason || b->detail != c->detail || b->at != c->at)
                fail_msg("case %zu '%s' (level %d): reason %u detail %u (%s) at %u, expected "
                         "reason %u detail %u at %u",
                         i, c->line, level, b->reason, b->detail,
                         b->reason == ASSAY_BAD_JSON_SYNTAX
                             ? assay_json_error_text((assay_json_error)b->detail)
                             : "-",
                         b->at, c->reason, c->detail, c->at);
            assert_int_equal(b->row, 0);
            assert_int_equal(b->off, 0);
            assert_int_equal(b->len, len);
            free(buf);
            fx_free(f);
        }
    }
}

/* Mid-chunk bad rows carry chunk offsets, and good rows around them are intact. */
static void test_bad_row_in_stream(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    fx *f = fx_new(names, 1);
    char *buf = fx_run(f, "{\"a\":1}\n{\"a\":tru}\n{\"a\":3}\n\xEF\xBB\xBF{}");
    assert_int_equal(f->rs.nrows, 2);
    assert_int_equal(f->rs.nbad, 2);
    /* a byte order mark is skipped only at the start of a chunk */
    assert_int_equal(f->bad[1].detail, ASSAY_JSON_UNEXPECTED_CHAR);
    assert_int_equal(f->bad[1].at, 0);
    assert_int_equal(f->bad[0].row, 1);
    assert_int_equal(f->bad[0].off, 8);
    assert_int_equal(f->bad[0].len, 9);
    assert_int_equal(f->bad[0].at, 8);
    assert_int_equal(f->row_ord[1], 2);
    check_cell(f, buf, 0, 1, ASSAY_CELL_NUMBER, "3");
    assert_int_equal(f->rs.nlines, 3);
    free(buf);
    fx_free(f);
}

static void test_depth(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    char line[512];
    /* the line's object is depth 1, so 63 arrays inside it reach the limit of 64 */
    for (int extra = 0; extra <= 1; extra++) {
        int n = ASSAY_JSON_MAX_DEPTH - 1 + extra;
        size_t k = 0;
        k += (size_t)sprintf(line, "{\"a\":");
        for (int i = 0; i < n; i++)
            line[k++] = '[';
        for (int i = 0; i < n; i++)
            line[k++] = ']';
        line[k++] = '}';
        line[k] = '\0';
        fx *f = fx_new(names, 1);
        char *buf = fx_run(f, line);
        if (!extra) {
            assert_int_equal(f->rs.nrows, 1);
            assert_int_equal(f->cells[0].len, 2 * n);
        } else {
            assert_int_equal(f->rs.nbad, 1);
            assert_int_equal(f->bad[0].detail, ASSAY_JSON_TOO_DEEP);
            assert_int_equal(f->bad[0].at, 5 + ASSAY_JSON_MAX_DEPTH - 1);
        }
        free(buf);
        fx_free(f);
    }
    /* a top-level array is depth 1 too: 65 deep fails with TOO_DEEP, not NOT_OBJECT */
    memset(line, '[', 65);
    memset(line + 65, ']', 65);
    line[130] = '\0';
    fx *f = fx_new(names, 1);
    char *buf = fx_run(f, line);
    assert_int_equal(f->bad[0].reason, ASSAY_BAD_JSON_SYNTAX);
    assert_int_equal(f->bad[0].detail, ASSAY_JSON_TOO_DEEP);
    assert_int_equal(f->bad[0].at, 64);
    free(buf);
    fx_free(f);
    /* very deep input does not recurse: 100k brackets are just an error */
    size_t big = 100000;
    char *deep = malloc(big);
    memset(deep, '[', big);
    f = fx_new(names, 1);
    buf = fx_run_n(f, deep, big);
    assert_int_equal(f->bad[0].detail, ASSAY_JSON_TOO_DEEP);
    free(buf);
    free(deep);
    fx_free(f);
}

static void test_keys_and_columns(void **state)
{
    (void)state;
    const char *names[] = { "id", "name", "x" };
    fx *f = fx_new(names, 3);
    f->want[2] = 0; /* x is a schema column the caller does not want */
    memset(f->cells + 2 * CAP, 0xEE, CAP * sizeof(assay_cell));
    memset(f->flags + 2 * CAP, 0xEE, CAP);
    char *buf = fx_run(f, "{\"id\":1,\"junk\":1,\"junk\":2,\"name\":\"a\",\"x\":5}\n"
                          "{\"name\":\"b\",\"id\":2,\"x\":{}}\n"         /* other order */
                          "{\"\\u0069d\":3,\"nam\\u0065\":\"c\"}\n"      /* escaped keys */
                          "{\"id\":4,\"nested\":{\"id\":5,\"id\":6}}\n"  /* nested: not ours */
                          "{\"ID\":5,\"name \":\"d\",\"id\\u0000\":1}\n" /* near misses */
                          "{\"x\":1,\"x\":2}\n");                        /* dup, unwanted */
    assert_int_equal(f->rs.nrows, 5);
    assert_int_equal(f->rs.nbad, 1);
    check_cell(f, buf, 0, 0, ASSAY_CELL_NUMBER, "1");
    check_cell(f, buf, 1, 0, ASSAY_CELL_QUOTED, "a");
    check_cell(f, buf, 0, 1, ASSAY_CELL_NUMBER, "2");
    check_cell(f, buf, 1, 1, ASSAY_CELL_QUOTED, "b");
    check_cell(f, buf, 0, 2, ASSAY_CELL_NUMBER, "3");
    check_cell(f, buf, 1, 2, ASSAY_CELL_QUOTED, "c");
    check_cell(f, buf, 0, 3, ASSAY_CELL_NUMBER, "4");
    check_cell(f, buf, 1, 3, ASSAY_CELL_NULL, "");
    check_cell(f, buf, 0, 4, ASSAY_CELL_NULL, "");
    check_cell(f, buf, 1, 4, ASSAY_CELL_NULL, "");
    assert_int_equal(f->bad[0].reason, ASSAY_BAD_JSON_DUPLICATE_KEY);
    assert_int_equal(f->bad[0].detail, 2);
    assert_int_equal(f->bad[0].row, 5);
    /* the unwanted column was never written */
    for (size_t r = 0; r < CAP; r++)
        assert_int_equal(f->flags[2 * CAP + r], 0xEE);
    free(buf);
    fx_free(f);
}

/* Keys outside the schema: once per good row, with their raw bytes; none from a bad
 * row; counted past the cap; not collected unless asked for. */
static void test_unknown_keys(void **state)
{
    (void)state;
    const char *names[] = { "id", "name" };
    fx *f = fx_new(names, 2);
    assay_unknown_key unk[3];
    const char *text = "{\"id\":1,\"name\":\"a\"}\n"
                       "{\"id\":2,\"disc\":5,\"disc\":6,\"n\\u0065w\":1}\n" /* twice; escaped */
                       "{\"id\":3,\"gone\":1,\"id\":4}\n"                   /* bad: dup id */
                       "{\"tag\":{\"inner\":1},\"id\":5,\"disc\":7}\n" /* nested not reported */
                       "{\"id\":6,\"disc\":8}\n";                      /* past the cap */
    char *buf = fx_run(f, text);
    assert_int_equal(f->rs.nunk, 0); /* not asked for */
    free(buf);
    f->rs.unk = unk;
    f->rs.unk_cap = 3;
    buf = fx_run(f, text);
    assert_int_equal(f->rs.nrows, 4);
    assert_int_equal(f->rs.nbad, 1);
    assert_int_equal(f->rs.nunk, 3);
    assert_int_equal(f->rs.unk_dropped, 2); /* row 3's disc, row 4's disc */
    const struct {
        uint32_t row;
        const char *raw;
        bool esc;
    } want[] = { { 1, "disc", false }, { 1, "n\\u0065w", true }, { 2, "tag", false } };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(unk[i].row, want[i].row);
        assert_int_equal(unk[i].len, strlen(want[i].raw));
        assert_memory_equal(buf + unk[i].off, want[i].raw, unk[i].len);
        assert_int_equal(unk[i].esc, want[i].esc);
    }
    free(buf);
    f->rs.unk = NULL;
    fx_free(f);
}

/* The key-order prediction must not confuse keys that share a position. */
static void test_prediction_changes(void **state)
{
    (void)state;
    const char *names[] = { "a", "b", "c" };
    fx *f = fx_new(names, 3);
    char *buf = fx_run(f, "{\"a\":1,\"b\":2,\"c\":3}\n"
                          "{\"b\":4,\"a\":5,\"c\":6}\n"
                          "{\"a\":7,\"q\":0,\"b\":8}\n"
                          "{\"a\":9,\"q\":0,\"b\":10,\"c\":11,\"d\":0,\"e\":0}\n"
                          "{\"c\":12}\n"
                          "{\"a\":13,\"b\":14,\"c\":15}\n");
    assert_int_equal(f->rs.nrows, 6);
    static const char *const want[6][3] = { { "1", "2", "3" },    { "5", "4", "6" },
                                            { "7", "8", NULL },   { "9", "10", "11" },
                                            { NULL, NULL, "12" }, { "13", "14", "15" } };
    for (uint32_t r = 0; r < 6; r++) {
        for (uint32_t c = 0; c < 3; c++) {
            if (want[r][c])
                check_cell(f, buf, c, r, ASSAY_CELL_NUMBER, want[r][c]);
            else
                check_cell(f, buf, c, r, ASSAY_CELL_NULL, "");
        }
    }
    free(buf);
    fx_free(f);
}

static void test_crlf_blank_bom(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    fx *f = fx_new(names, 1);
    const char *text = "\xEF\xBB\xBF{\"a\":1}\r\n\r\n   \n\t\r\n{\"a\":\"x\"} \r\n{\"a\":2}\r";
    char *buf = fx_run(f, text);
    assert_int_equal(f->rs.nrows, 3);
    assert_int_equal(f->rs.nbad, 0);
    assert_int_equal(f->rs.nlines, 5);
    assert_int_equal(f->row_off[0], 3);
    assert_int_equal(f->row_len[0], 7);
    assert_int_equal(f->row_ord[1], 1); /* blank lines take no ordinal */
    assert_int_equal(f->row_len[1], 10);
    assert_int_equal(f->row_len[2], 8); /* a '\r' not before '\n' stays in the row */
    check_cell(f, buf, 0, 1, ASSAY_CELL_QUOTED, "x");
    free(buf);
    fx_free(f);

    /* skip_blank off: blank lines become EMPTY bad rows with ordinals */
    f = fx_new(names, 1);
    f->o.skip_blank = false;
    buf = fx_run(f, "{\"a\":1}\n\n  \r\n{\"a\":2}\n");
    assert_int_equal(f->rs.nrows, 2);
    assert_int_equal(f->rs.nbad, 2);
    assert_int_equal(f->bad[0].detail, ASSAY_JSON_EMPTY);
    assert_int_equal(f->bad[0].row, 1);
    assert_int_equal(f->bad[1].row, 2);
    assert_int_equal(f->bad[1].len, 2);
    assert_int_equal(f->row_ord[1], 3);
    free(buf);
    fx_free(f);
}

static void test_row_too_long(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    fx *f = fx_new(names, 1);
    f->o.max_row_bytes = 10;
    char *buf = fx_run(f, "{\"a\":1234}\n{\"a\":12345}\n{\"a\":\"broken\n{}");
    assert_int_equal(f->rs.nrows, 2);
    assert_int_equal(f->rs.nbad, 2);
    assert_int_equal(f->bad[0].reason, ASSAY_BAD_ROW_TOO_LONG);
    assert_int_equal(f->bad[0].detail, 10);
    assert_int_equal(f->bad[0].row, 1);
    assert_int_equal(f->bad[1].reason, ASSAY_BAD_ROW_TOO_LONG); /* not a syntax error */
    assert_int_equal(f->row_ord[1], 3);
    free(buf);
    fx_free(f);
}

/* ---------------------------------------------------------------------------------- */
/* Split independence: whole vs cap-limited calls vs chunks cut at every line boundary,
 * with both scan kernels. Rows are compared as records with chunk-absolute offsets. */

typedef struct rec {
    int bad;
    uint32_t ord, off, len, at, detail, reason;
    uint8_t flags[MAXCOLS];
    assay_cell cells[MAXCOLS];
} rec;

typedef struct recs {
    rec v[512];
    size_t n;
    uint32_t nlines;
} recs;

static int rec_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    return (x->ord > y->ord) - (x->ord < y->ord);
}

/* Parse buf[from, to) as its own chunk (exact-size copy), appending to out with
 * offsets shifted by `from`; cap/bad_cap limit each call. */
static void collect(const assay_ndjson_schema *s, const char *buf, size_t from, size_t to,
                    uint32_t ord0, uint32_t cap, uint32_t bad_cap, assay_simd_level level,
                    recs *out, uint32_t ncols)
{
    size_t len = to - from;
    char *chunk = malloc(len ? len : 1);
    memcpy(chunk, buf + from, len);
    assay_cell *cells = calloc((size_t)ncols * cap, sizeof(*cells));
    uint8_t *flags = calloc((size_t)ncols * cap, 1);
    uint32_t *ro = calloc(cap, 4), *rl = calloc(cap, 4), *rd = calloc(cap, 4);
    assay_bad_row *bad = calloc(bad_cap, sizeof(*bad));
    uint8_t want[MAXCOLS];
    for (uint32_t c = 0; c < ncols; c++)
        want[c] = c % 2 == 0; /* every other column */
    assay_cursor cur = { .buf = chunk, .len = len, .ord = ord0 };
    assay_ndjson_options o;
    assay_ndjson_options_default(&o);
    o.max_row_bytes = 200;
    for (int guard = 0; guard < 100000; guard++) {
        assay_rowset rs = { .ncols = ncols,
                            .want = want,
                            .cap = cap,
                            .cells = cells,
                            .flags = flags,
                            .row_off = ro,
                            .row_len = rl,
                            .row_ord = rd,
                            .bad = bad,
                            .bad_cap = bad_cap };
        size_t before = cur.pos;
        assert_int_equal(assay_ndjson_parse_level(&o, s, &cur, &rs, level), 0);
        out->nlines += rs.nlines;
        for (uint32_t r = 0; r < rs.nrows; r++) {
            rec *e = &out->v[out->n++];
            memset(e, 0, sizeof(*e));
            e->ord = rd[r];
            e->off = ro[r] + (uint32_t)from;
            e->len = rl[r];
            for (uint32_t c = 0; c < ncols; c++) {
                if (!want[c])
                    continue;
                e->flags[c] = flags[c * cap + r];
                e->cells[c] = cells[c * cap + r];
                if (e->cells[c].len || !(e->flags[c] & ASSAY_CELL_NULL))
                    e->cells[c].off += (uint32_t)from;
                else
                    e->cells[c] = (assay_cell){ 0, 0 }; /* null: position is not compared */
            }
        }
        for (uint32_t b = 0; b < rs.nbad; b++) {
            rec *e = &out->v[out->n++];
            memset(e, 0, sizeof(*e));
            e->bad = 1;
            e->ord = bad[b].row;
            e->off = bad[b].off + (uint32_t)from;
            e->len = bad[b].len;
            e->at = bad[b].at;
            e->detail = bad[b].detail;
            e->reason = bad[b].reason;
        }
        if (cur.pos >= cur.len)
            break;
        assert_true(cur.pos > before); /* progress on every call */
    }
    free(chunk);
    free(cells);
    free(flags);
    free(ro);
    free(rl);
    free(rd);
    free(bad);
}

static void recs_equal(recs *a, recs *b, const char *what)
{
    qsort(a->v, a->n, sizeof(rec), rec_cmp);
    qsort(b->v, b->n, sizeof(rec), rec_cmp);
    if (a->n != b->n)
        fail_msg("%s: %zu records vs %zu", what, a->n, b->n);
    if (a->nlines != b->nlines)
        fail_msg("%s: %u lines vs %u", what, a->nlines, b->nlines);
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(&a->v[i], &b->v[i], sizeof(rec)) != 0)
            fail_msg("%s: record %zu differs (ord %u/%u, off %u/%u, bad %d/%d)", what, i,
                     a->v[i].ord, b->v[i].ord, a->v[i].off, b->v[i].off, a->v[i].bad, b->v[i].bad);
    }
}

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A line: mostly good objects in varying key order, some broken ones, blanks. */
static size_t gen_line(uint64_t *seed, char *out)
{
    static const char *const keys[] = { "k0", "k1", "k2", "k3", "k\\u0034", "other" };
    static const char *const vals[] = {
        "1",
        "-2.5e3",
        "\"str\"",
        "\"with \\\"esc\\\" and \\u00e9\"",
        "true",
        "false",
        "null",
        "{\"n\":[1,2,{\"m\":null}]}",
        "[]",
        "\"long string value that crosses sixteen bytes\"",
        "\"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\"",
        /* broken ones */
        "tru",
        "01",
        "\"unterminated",
        "\"bad \\x\"",
        "\"\xC3(\"",
        "\"ctl\x01\"",
        "[1,",
    };
    uint64_t r = rng(seed);
    size_t k = 0;
    if (r % 23 == 0)
        return (size_t)sprintf(out, "%s", r % 2 ? "   " : "");
    if (r % 29 == 0)
        return (size_t)sprintf(out, "[1,2]");
    out[k++] = '{';
    unsigned nk = 1 + (unsigned)(r >> 8) % 6;
    for (unsigned i = 0; i < nk; i++) {
        uint64_t q = rng(seed);
        unsigned ki = (r >> 16) % 7 == 0 ? (unsigned)(q % 6) : i; /* usually same order */
        unsigned vi = (unsigned)(q >> 8) % ((q >> 32) % 8 == 0 ? ASSAY_ARRAY_LEN(vals) : 11);
        k += (size_t)sprintf(out + k, "%s\"%s\":%s%s", i ? "," : "", keys[ki % 6],
                             (q >> 40) % 4 == 0 ? " " : "", vals[vi]);
    }
    out[k++] = '}';
    if ((r >> 24) % 9 == 0)
        out[k++] = '\r';
    if ((r >> 28) % 40 == 0)
        k += (size_t)sprintf(out + k, " x");
    if ((r >> 34) % 60 == 0) {
        memset(out + k, ' ', 210); /* too long */
        k += 210;
    }
    return k;
}

static void test_split_independence(void **state)
{
    (void)state;
    const char *names[] = { "k0", "k1", "k2", "k3", "k4" };
    assay_ndjson_schema *s;
    assert_int_equal(assay_ndjson_schema_new(names, 5, &s), 0);
    uint64_t seed = 42;
    static recs whole, part, other;
    for (int round = 0; round < 12; round++) {
        static char text[65536];
        size_t len = 0, bounds[256], nb = 0;
        unsigned nlines = 20 + (unsigned)(rng(&seed) % 40);
        for (unsigned i = 0; i < nlines; i++) {
            len += gen_line(&seed, text + len);
            if (i + 1 < nlines || round % 2)
                text[len++] = '\n';
            bounds[nb++] = len;
        }
        memset(&whole, 0, sizeof(whole));
        collect(s, text, 0, len, 0, 512, 512, ASSAY_SIMD_SSE42, &whole, 5);
        size_t nbad = 0;
        for (size_t i = 0; i < whole.n; i++)
            nbad += (size_t)whole.v[i].bad;
        /* the generator must yield both kinds, or the comparison proves little */
        assert_true(nbad > 0);
        assert_true(whole.n - nbad > 10);

        /* the portable kernel agrees */
        memset(&other, 0, sizeof(other));
        collect(s, text, 0, len, 0, 512, 512, ASSAY_SIMD_SCALAR, &other, 5);
        recs_equal(&whole, &other, "SSE2 vs portable scan");

        /* small caps: many calls through one cursor */
        for (uint32_t cap = 1; cap <= 3; cap++) {
            memset(&part, 0, sizeof(part));
            collect(s, text, 0, len, 0, cap, cap == 3 ? 1 : 2, ASSAY_SIMD_SSE42, &part, 5);
            recs_equal(&whole, &part, "cap-limited calls");
        }

        /* two chunks cut at every line boundary */
        for (size_t b = 0; b + 1 < nb; b++) {
            memset(&part, 0, sizeof(part));
            collect(s, text, 0, bounds[b], 0, 512, 512, ASSAY_SIMD_SSE42, &part, 5);
            uint32_t ord = 0;
            for (size_t i = 0; i < part.n; i++)
                ord = ASSAY_MAX(ord, part.v[i].ord + 1);
            collect(s, text, bounds[b], len, ord, 512, 512, ASSAY_SIMD_SCALAR, &part, 5);
            recs_equal(&whole, &part, "split chunks");
        }
    }
    assay_ndjson_schema_free(s);
}

/* Long strings with the interesting byte at every position of the 16-byte scan. */
static void test_scan_positions(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    static const char *const mid[] = { "\\n", "\x01", "\xC3\xA9", "\xC3", "\"" };
    for (size_t m = 0; m < ASSAY_ARRAY_LEN(mid); m++) {
        for (size_t pre = 0; pre < 40; pre++) {
            for (int level = 0; level < 2; level++) {
                char line[256];
                size_t k = (size_t)sprintf(line, "{\"a\":\"");
                memset(line + k, 'x', pre);
                k += pre;
                k += (size_t)sprintf(line + k, "%s", mid[m]);
                memset(line + k, 'y', 20);
                k += 20;
                k += (size_t)sprintf(line + k, "\"}");
                fx *f = fx_new(names, 1);
                char *buf = malloc(k);
                memcpy(buf, line, k);
                f->cur = (assay_cursor){ .buf = buf, .len = k };
                assert_int_equal(
                    assay_ndjson_parse_level(&f->o, f->s, &f->cur, &f->rs,
                                             level ? ASSAY_SIMD_AVX2 : ASSAY_SIMD_SCALAR),
                    0);
                switch (m) {
                case 0:
                case 2:
                    assert_int_equal(f->rs.nrows, 1);
                    assert_int_equal(f->cells[0].len, pre + strlen(mid[m]) + 20);
                    assert_int_equal(f->flags[0],
                                     ASSAY_CELL_QUOTED | (m == 0 ? ASSAY_CELL_ESCAPED : 0));
                    break;
                case 1:
                    assert_int_equal(f->bad[0].detail, ASSAY_JSON_CONTROL_CHAR);
                    assert_int_equal(f->bad[0].at, 6 + pre);
                    break;
                case 3:
                    assert_int_equal(f->bad[0].reason, ASSAY_BAD_UTF8);
                    assert_int_equal(f->bad[0].at, 6 + pre);
                    break;
                case 4:
                    assert_int_equal(f->bad[0].detail, ASSAY_JSON_UNEXPECTED_CHAR);
                    assert_int_equal(f->bad[0].at, 7 + pre);
                    break;
                }
                free(buf);
                fx_free(f);
            }
        }
    }
}

static void test_caps_and_cursor(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    fx *f = fx_new(names, 1);
    f->rs.cap = 2;
    f->rs.bad_cap = 1;
    const char *text = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\nbad\nworse\n{\"a\":4}\n";
    size_t len = strlen(text);
    char *buf = malloc(len);
    memcpy(buf, text, len);
    f->cur = (assay_cursor){ .buf = buf, .len = len };
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    assert_int_equal(f->rs.nrows, 2);
    assert_int_equal(f->rs.nlines, 2);
    assert_int_equal(f->cur.pos, 16);
    assert_int_equal(f->cur.ord, 2);
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    assert_int_equal(f->rs.nrows, 1); /* stopped by the full bad list */
    assert_int_equal(f->rs.nbad, 1);
    assert_int_equal(f->bad[0].row, 3);
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    assert_int_equal(f->rs.nbad, 1);
    assert_int_equal(f->bad[0].row, 4);
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    assert_int_equal(f->rs.nrows, 1);
    assert_int_equal(f->row_ord[0], 5);
    assert_int_equal(f->cur.pos, len);
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    assert_int_equal(f->rs.nrows + f->rs.nbad + f->rs.nlines, 0);
    /* want == NULL: rows validated, no cells touched */
    f->cur = (assay_cursor){ .buf = buf, .len = len };
    f->rs.want = NULL;
    f->rs.cells = NULL;
    f->rs.flags = NULL;
    f->rs.cap = 10;
    assert_int_equal(assay_ndjson_parse(&f->o, f->s, &f->cur, &f->rs), 0);
    assert_int_equal(f->rs.nrows, 3);
    free(buf);
    /* bad arguments */
    assert_int_equal(assay_ndjson_parse(NULL, NULL, &f->cur, &f->rs), -EINVAL);
    fx_free(f);
}

/* Every bad-row reason says where: the column, the JSON key that is not one, a key's
 * own text, or the row - never a column number like 4294967295. */
static void test_reasons_name_the_place(void **state)
{
    (void)state;
    const char *names[] = { "a", "b" };
    fx *f = fx_new(names, 2);
    char *buf = fx_run(f, "{\"a\":2,\"zz\":\"\xff\"}\n"
                          "{\"a\":3,\"b\":\"\xfe\"}\n"
                          "{\"\xff\":1}\n"
                          "{\"a\":1,\"b\":tru}\n"
                          "{\"a\":1,\"q\\n\":[1,}\n"
                          "{\"a\":1} x\n"
                          "{\"a\":1,\"a\":2}\n"
                          "[1]\n");
    static const char *const want[] = {
        "invalid UTF-8 at byte 13 (in key 'zz', not a column)",
        "invalid UTF-8 at byte 12 (in column 'b')",
        "invalid UTF-8 at byte 2 (in a key)",
        ("JSON syntax error at byte 14 (in column 'b'): invalid literal (expected true, false "
         "or null)"),
        "JSON syntax error at byte 16 (in key 'q\\n', not a column): unexpected character",
        "JSON syntax error at byte 8 (in the row): text after the JSON object",
        "duplicate key for column 'a' at byte 7",
        "the row is valid JSON but not an object",
    };
    assert_int_equal(f->rs.nbad, ASSAY_ARRAY_LEN(want));
    for (uint32_t i = 0; i < f->rs.nbad; i++) {
        char text[200];
        assay_bad_row_describe_row(&f->bad[i], buf + f->bad[i].off, 2, names, text, sizeof(text));
        assert_string_equal(text, want[i]);
        assert_null(strstr(text, "4294967295"));
    }
    /* without the row's bytes the key cannot be shown, but the place still can */
    char text[200];
    assay_bad_row_describe(&f->bad[0], 2, names, text, sizeof(text));
    assert_string_equal(text, "invalid UTF-8 at byte 13 (in a key that is not a column)");
    assay_bad_row_describe(&f->bad[5], 2, names, text, sizeof(text));
    assert_string_equal(text,
                        "JSON syntax error at byte 8 (in the row): text after the JSON object");
    /* data text in messages: no raw control bytes */
    char shown[100];
    assert_string_equal(assay_show_bytes("a\rb\n\t\x01\xff", 7, shown, sizeof(shown)),
                        "a\\rb\\n\\t\\x01\\xff");
    assert_string_equal(assay_show_bytes("\xC3\xA9t\xC3\xA9", 5, shown, sizeof(shown)),
                        "\xC3\xA9t\xC3\xA9"); /* valid UTF-8 stays */
    free(buf);
    fx_free(f);
}

/* source.comment on NDJSON: a line that starts with the character is skipped. */
static void test_comment_lines(void **state)
{
    (void)state;
    const char *names[] = { "a" };
    fx *f = fx_new(names, 1);
    f->o.comment = '#';
    char *buf = fx_run(f, "# made by x\n{\"a\":1}\n#{\"a\":2}\n {\"a\":3}\n#");
    assert_int_equal(f->rs.nrows, 2);
    assert_int_equal(f->rs.nbad, 0);
    assert_int_equal(f->rs.ncomments, 3);
    assert_int_equal(f->rs.nlines, 4);
    check_cell(f, buf, 0, 1, ASSAY_CELL_NUMBER, "3");
    assert_int_equal(f->row_ord[1], 1);
    free(buf);
    f->o.comment = 0;
    buf = fx_run(f, "# made by x\n{\"a\":1}\n");
    assert_int_equal(f->rs.nbad, 1); /* without the option: a bad row */
    free(buf);
    fx_free(f);
}

static void test_schema(void **state)
{
    (void)state;
    assay_ndjson_schema *s = NULL;
    const char *dup[] = { "a", "b", "a" };
    assert_int_equal(assay_ndjson_schema_new(dup, 3, &s), -EINVAL);
    assert_null(s);
    const char *withnull[] = { "a", NULL };
    assert_int_equal(assay_ndjson_schema_new(withnull, 2, &s), -EINVAL);
    assert_int_equal(assay_ndjson_schema_new(NULL, 0, &s), 0);
    assay_ndjson_schema_free(s);
    /* many columns: every one found through the hash table */
    char namebuf[300][16];
    const char *names[300];
    for (int i = 0; i < 300; i++) {
        snprintf(namebuf[i], sizeof(namebuf[i]), "col%d", i);
        names[i] = namebuf[i];
    }
    assert_int_equal(assay_ndjson_schema_new(names, 300, &s), 0);
    char text[8192];
    size_t k = 0;
    text[k++] = '{';
    for (int i = 299; i >= 0; i--)
        k += (size_t)sprintf(text + k, "\"col%d\":%d%s", i, i, i ? "," : "}");
    uint8_t want[300];
    memset(want, 1, sizeof(want));
    assay_cell cells[300];
    uint8_t flags[300];
    uint32_t ro, rl, rd;
    assay_bad_row bad;
    assay_rowset rs = { .ncols = 300,
                        .want = want,
                        .cap = 1,
                        .cells = cells,
                        .flags = flags,
                        .row_off = &ro,
                        .row_len = &rl,
                        .row_ord = &rd,
                        .bad = &bad,
                        .bad_cap = 1 };
    assay_cursor cur = { .buf = text, .len = k };
    assert_int_equal(assay_ndjson_parse(NULL, s, &cur, &rs), 0);
    assert_int_equal(rs.nrows, 1);
    for (int i = 0; i < 300; i++) {
        char v[8];
        int n = snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(cells[i].len, n);
        assert_memory_equal(text + cells[i].off, v, (size_t)n);
    }
    assay_ndjson_schema_free(s);
    assay_ndjson_schema_free(NULL);
}

static void test_keys(void **state)
{
    (void)state;
    char **keys;
    uint32_t n;
    assay_error err = { 0 };
    const char *text = "not json\n"
                       "{\"b\":1,\"a\":{\"inner\":1}}\n"
                       "\n"
                       "{\"c\":1,\"a\":2,\"bad\":tru}\n"
                       "{\"\\u00e9t\\u00e9\":1,\"b\":2,\"d\":3}\n"
                       "{\"late\":1}\n";
    assert_int_equal(assay_ndjson_keys(text, strlen(text), 5, &keys, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(keys[0], "b");
    assert_string_equal(keys[1], "a");
    assert_string_equal(keys[2], "\xC3\xA9t\xC3\xA9");
    assert_string_equal(keys[3], "d");
    for (uint32_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    /* max_lines 0: all lines */
    assert_int_equal(assay_ndjson_keys(text, strlen(text), 0, &keys, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_string_equal(keys[4], "late");
    for (uint32_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    /* no valid object: an actionable message naming the first bad line */
    const char *bad = "\n[1]\n{\"a\":\n";
    assert_int_equal(assay_ndjson_keys(bad, strlen(bad), 10, &keys, &n, &err), -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(keys);
    assert_int_equal(assay_ndjson_keys("", 0, 10, &keys, &n, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    /* many distinct keys grow the set */
    char big[20000];
    size_t k = 0;
    for (int i = 0; i < 500; i++)
        k += (size_t)sprintf(big + k, "{\"k%d\":1,\"k%d\":2}\n", i, i / 2);
    assert_int_equal(assay_ndjson_keys(big, k, 0, &keys, &n, &err), 0);
    assert_int_equal(n, 500);
    assert_string_equal(keys[0], "k0");
    assert_string_equal(keys[499], "k499");
    for (uint32_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

static void test_last_row_end_and_text(void **state)
{
    (void)state;
    assert_int_equal(assay_ndjson_last_row_end("{}\n{}\n{", 7), 6);
    assert_int_equal(assay_ndjson_last_row_end("{}", 2), 0);
    assert_int_equal(assay_ndjson_last_row_end("\n", 1), 1);
    assert_int_equal(assay_ndjson_last_row_end("", 0), 0);
    for (int e = 0; e < ASSAY_JSON_ERROR_COUNT; e++) {
        const char *t = assay_json_error_text((assay_json_error)e);
        assert_non_null(t);
        assert_true(strlen(t) > 3);
        for (int g = 0; g < e; g++)
            assert_string_not_equal(t, assay_json_error_text((assay_json_error)g));
    }
    assert_string_equal(assay_json_error_text(ASSAY_JSON_ERROR_COUNT), "unknown JSON error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_kinds),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_bad_row_in_stream),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_keys_and_columns),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_prediction_changes),
        cmocka_unit_test(test_crlf_blank_bom),
        cmocka_unit_test(test_row_too_long),
        cmocka_unit_test(test_split_independence),
        cmocka_unit_test(test_scan_positions),
        cmocka_unit_test(test_caps_and_cursor),
        cmocka_unit_test(test_null_tokens),
        cmocka_unit_test(test_reasons_name_the_place),
        cmocka_unit_test(test_comment_lines),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_last_row_end_and_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
