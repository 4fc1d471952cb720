/*
 * test_csv.c - CSV parser behaviour: RFC 4180 cases, bad rows with their positions,
 * limits, cursor continuation, header reading, chunk boundaries, unescaping and the
 * bad-row texts. Kernel equivalence across SIMD levels is in test_csv_simd.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/csv.h"
#include "assay/sniff.h"

#define CAP     32
#define MAXCOLS 8

typedef struct fixture {
    assay_csv_options o;
    uint8_t want[MAXCOLS];
    assay_cell cells[MAXCOLS * CAP];
    uint8_t flags[MAXCOLS * CAP];
    uint32_t row_off[CAP], row_len[CAP], row_ord[CAP];
    assay_bad_row bad[CAP];
    assay_rowset rs;
    assay_cursor cur;
    const char *text;
} fixture;

static fixture F;

/* Parse text in one call with every column wanted. */
static assay_rowset *parse_n(const char *text, size_t len, uint32_t ncols)
{
    memset(&F.rs, 0, sizeof(F.rs));
    memset(F.cells, 0xAB, sizeof(F.cells));
    memset(F.flags, 0xAB, sizeof(F.flags));
    for (int i = 0; i < MAXCOLS; i++)
        F.want[i] = 1;
    F.rs.ncols = ncols;
    F.rs.want = F.want;
    F.rs.cap = CAP;
    F.rs.cells = F.cells;
    F.rs.flags = F.flags;
    F.rs.row_off = F.row_off;
    F.rs.row_len = F.row_len;
    F.rs.row_ord = F.row_ord;
    F.rs.bad = F.bad;
    F.rs.bad_cap = CAP;
    F.cur = (assay_cursor){ text, len, 0, 0 };
    F.text = text;
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    return &F.rs;
}

static assay_rowset *parse(const char *text, uint32_t ncols)
{
    return parse_n(text, strlen(text), ncols);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    assay_csv_options_default(&F.o);
    return 0;
}

/* Cell text of good row r, column c. */
static const char *cell(uint32_t r, uint32_t c)
{
    static char out[256];
    const assay_cell *x = &F.cells[c * CAP + r];
    assert_true(x->len < sizeof(out));
    memcpy(out, F.text + x->off, x->len);
    out[x->len] = '\0';
    return out;
}

static uint8_t flag(uint32_t r, uint32_t c)
{
    return F.flags[c * CAP + r];
}

/* ---------------------------------------------------------------- RFC 4180 */

static void test_simple_rows(void **state)
{
    assay_rowset *rs = parse("a,b,c\n1,22,333\n", 3);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(rs->nlines, 2);
    assert_string_equal(cell(0, 0), "a");
    assert_string_equal(cell(1, 1), "22");
    assert_string_equal(cell(1, 2), "333");
    assert_int_equal(flag(1, 2), 0);
    assert_int_equal(F.row_off[1], 6);
    assert_int_equal(F.row_len[1], 8);
    assert_int_equal(F.row_ord[1], 1);
    assert_int_equal(F.cur.pos, 15);
    assert_int_equal(F.cur.ord, 2);
}

static void test_quoted_delimiter(void **state)
{
    assay_rowset *rs = parse("\"a,b\",c\n", 2);
    assert_int_equal(rs->nrows, 1);
    assert_string_equal(cell(0, 0), "a,b");
    assert_int_equal(flag(0, 0), ASSAY_CELL_QUOTED);
    assert_string_equal(cell(0, 1), "c");
    assert_int_equal(flag(0, 1), 0);
}

static void test_doubled_quotes(void **state)
{
    assay_rowset *rs = parse("\"say \"\"hi\"\"\",\"\"\"\"\n", 2);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(rs->nrows, 1);
    assert_string_equal(cell(0, 0), "say \"\"hi\"\"");
    assert_int_equal(flag(0, 0), ASSAY_CELL_QUOTED | ASSAY_CELL_ESCAPED);
    assert_string_equal(cell(0, 1), "\"\"");
    assert_int_equal(flag(0, 1), ASSAY_CELL_QUOTED | ASSAY_CELL_ESCAPED);
    char out[32];
    size_t n = assay_csv_unescape(F.text + F.cells[0].off, F.cells[0].len, '"', out);
    out[n] = '\0';
    assert_string_equal(out, "say \"hi\"");
}

static void test_embedded_newlines(void **state)
{
    const char *t = "\"line1\nline2\r\nline3\",x\ny,z\n";
    assay_rowset *rs = parse(t, 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(rs->nlines, 4);
    assert_string_equal(cell(0, 0), "line1\nline2\r\nline3");
    assert_string_equal(cell(0, 1), "x");
    assert_int_equal(F.row_len[0], 22);
    assert_int_equal(F.row_off[1], 23);
    assert_string_equal(cell(1, 0), "y");
}

static void test_crlf(void **state)
{
    assay_rowset *rs = parse("a,b\r\nc,\"d\"\r\ne,\r\n", 2);
    assert_int_equal(rs->nrows, 3);
    assert_int_equal(rs->nbad, 0);
    assert_string_equal(cell(0, 1), "b");
    assert_int_equal(F.row_len[0], 3);
    assert_string_equal(cell(1, 1), "d");
    assert_int_equal(flag(1, 1), ASSAY_CELL_QUOTED);
    assert_int_equal(F.cells[1 * CAP + 2].len, 0);
    assert_int_equal(flag(2, 1), ASSAY_CELL_NULL);
    /* a CR that is not before a line feed is data */
    rs = parse("a\rb,c\n", 2);
    assert_string_equal(cell(0, 0), "a\rb");
}

static void test_null_vs_empty_string(void **state)
{
    assay_rowset *rs = parse(",\"\",x,\n", 4);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(flag(0, 0), ASSAY_CELL_NULL);
    assert_int_equal(F.cells[0].len, 0);
    assert_int_equal(flag(0, 1), ASSAY_CELL_QUOTED);
    assert_int_equal(F.cells[1 * CAP].len, 0);
    assert_int_equal(flag(0, 2), 0);
    assert_int_equal(flag(0, 3), ASSAY_CELL_NULL);
}

/* source.null_values: a field whose whole text (unquoted, "" undone) is a token is
 * null; other fields, case variants and longer text are not. */
static void test_null_tokens(void **state)
{
    (void)state;
    const char *text = "NA,\"NA\",x\n-,NAX,\"\"\n\"N\"\"A\",na,\n";
    assay_rowset *rs = parse(text, 3); /* no tokens: only the empty field is null */
    assert_int_equal(rs->nrows, 3);
    assert_int_equal(flag(0, 0), 0);
    assert_int_equal(flag(0, 1), ASSAY_CELL_QUOTED);
    assert_int_equal(flag(2, 2), ASSAY_CELL_NULL);

    assay_null_tokens t;
    const char *toks[] = { "NA", "-", "N\"A", "NA" };
    assert_int_equal(assay_null_tokens_set(&t, toks, 4, NULL), 0);
    assert_int_equal(t.n, 3); /* the repeat is kept once */
    F.o.nulls = &t;
    rs = parse(text, 3);
    assert_int_equal(rs->nrows, 3);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(flag(0, 0), ASSAY_CELL_NULL);
    assert_int_equal(F.cells[0].len, 0);
    assert_int_equal(flag(0, 1), ASSAY_CELL_NULL); /* quoted "NA" too */
    assert_int_equal(flag(0, 2), 0);
    assert_string_equal(cell(0, 2), "x");
    assert_int_equal(flag(1, 0), ASSAY_CELL_NULL);
    assert_int_equal(flag(1, 1), 0);                 /* NAX: the whole text must match */
    assert_int_equal(flag(1, 2), ASSAY_CELL_QUOTED); /* "" is an empty string, not a token */
    assert_int_equal(flag(2, 0), ASSAY_CELL_NULL);   /* "N""A" is N"A */
    assert_int_equal(flag(2, 1), 0);                 /* letter case counts */
    assert_int_equal(flag(2, 2), ASSAY_CELL_NULL);

    /* unwanted columns are left alone */
    F.o.nulls = &t;
    memset(&F.rs, 0, sizeof(F.rs));
    rs = parse("NA,NA\n", 2);
    assert_int_equal(flag(0, 1), ASSAY_CELL_NULL);
    F.want[1] = 0;
    F.cur = (assay_cursor){ "NA,NA\n", 6, 0, 0 };
    memset(F.flags, 0xAB, sizeof(F.flags));
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(flag(0, 0), ASSAY_CELL_NULL);
    assert_int_equal(flag(0, 1), 0xAB);

    /* an empty set is the default */
    assert_int_equal(assay_null_tokens_set(&t, NULL, 0, NULL), 0);
    rs = parse("NA\n", 1);
    assert_int_equal(flag(0, 0), 0);
}

/* The --null-values list, its limits, and the common spellings the profile knows. */
static void test_null_token_lists(void **state)
{
    (void)state;
    assay_null_tokens t;
    assay_error err = { 0 };
    assert_int_equal(assay_null_tokens_parse_list(&t, "NA,N/A,,-", &err), 0);
    assert_int_equal(t.n, 4);
    assert_true(assay_null_tokens_match(&t, "N/A", 3));
    assert_true(assay_null_tokens_match(&t, "", 0)); /* the empty item: quoted "" too */
    assert_true(assay_null_tokens_match(&t, "-", 1));
    assert_false(assay_null_tokens_match(&t, "N", 1));
    assert_false(assay_null_tokens_match(&t, "n/a", 3));
    char big[80];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(assay_null_tokens_parse_list(&t, big, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "longer than 63 bytes"));
    assert_int_equal(t.n, 0);
    assert_int_equal(assay_null_tokens_parse_list(&t, "a\nb", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "line break"));
    char many[200] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i ? "," : "", i);
    assert_int_equal(assay_null_tokens_parse_list(&t, many, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "more than 32"));

    const char *yes[] = { "NA",  "na",  "N/A", "n/a", "null", "NULL", "None",
                          "nil", "NaN", "nan", "-",   "--",   "#N/A", "(null)" };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(assay_is_common_null_token(yes[i], strlen(yes[i])));
    const char *no[] = { "", "N", "NAN0", "nullx", "0", "---", " NA", "unknown" };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(assay_is_common_null_token(no[i], strlen(no[i])));
}

/* Input the parsers cannot read is refused with what it is and how to convert it. */
static void test_sniff(void **state)
{
    (void)state;
    assay_error err = { 0 };
    static const char le_bom[] = "\xFF\xFE"
                                 "a\0,\0b\0\n\0";
    assert_int_equal(assay_sniff_input(le_bom, sizeof(le_bom) - 1, false, '"', "x.csv", &err),
                     -EINVAL);
    assert_string_equal(err.msg, "x.csv looks like UTF-16 (little endian); assay reads UTF-8: "
                                 "convert it with iconv -f UTF-16 -t UTF-8 x.csv > x.csv.utf8");
    static const char be[] = "\0a\0,\0b\0\n\0"
                             "1\0,\0"
                             "2";
    assert_int_equal(assay_sniff_input(be, sizeof(be) - 1, false, '"', "x.csv", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "UTF-16 (big endian)"));
    assert_non_null(strstr(err.msg, "iconv -f UTF-16BE"));

    const char *cr = "id,amount\r1,2\r3,4\r";
    assert_int_equal(assay_sniff_input(cr, strlen(cr), false, '"', "m.csv", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "m.csv:1: lines end with a carriage return alone"));
    assert_non_null(strstr(err.msg, "tr '\\r' '\\n' < m.csv > m.csv.unix"));
    assert_null(strchr(err.msg, '\r')); /* no raw control bytes in the message */
    const char *crj = "{\"a\":1}\r{\"a\":2}\r";
    assert_int_equal(assay_sniff_input(crj, strlen(crj), true, '"', "m.ndjson", &err), -EINVAL);

    const char *arr = " [\n  {\"a\": 1},\n  {\"a\": 2}\n]\n";
    assert_int_equal(assay_sniff_input(arr, strlen(arr), true, '"', "a.json", &err), -EINVAL);
    assert_string_equal(err.msg, "a.json:1: this file is one JSON array; assay reads one object "
                                 "per line (NDJSON): convert it with jq -c '.[]' a.json > "
                                 "a.json.ndjson");
    assert_int_equal(assay_sniff_input("[]", 2, true, '"', "a.json", &err), -EINVAL);

    /* what is fine */
    const char *fine[] = { "a,b\r\n1,2\r\n",     /* CRLF */
                           "a,\"x\ry\"\n1,2\n",  /* a CR inside quotes */
                           "a,b\n1,2\r3\n",      /* a lone CR after the first row */
                           "a,b\r",              /* a CR that ends the input */
                           "[1,2]\n{\"a\":1}\n", /* an array row in NDJSON: a bad row */
                           "a\0b,c\n1,2\n" };    /* a stray NUL is not UTF-16 */
    size_t lens[] = { 10, 12, 11, 4, 15, 10 };
    for (size_t k = 0; k < sizeof(fine) / sizeof(fine[0]); k++)
        assert_int_equal(assay_sniff_input(fine[k], lens[k], k == 4, '"', "f", &err), 0);
    const char *jstr = "{\"a\":\"x\\\"\r\"}\n"; /* an escaped quote keeps the string open */
    assert_int_equal(assay_sniff_input(jstr, strlen(jstr), true, '"', "f", &err), 0);
    assert_int_equal(assay_sniff_input("[1,2]", 5, false, '"', "f.csv", &err), 0);
}

/* source.comment: a row that starts with the character (outside quotes) is skipped to
 * its '\n' - its quotes do not count - and counted; a quoted field's line that starts
 * with it is data. Row boundaries for chunking follow the same rule. */
static void test_comment_lines(void **state)
{
    (void)state;
    const char *text = "# \"odd\n1,\"a\n#b\"\n#x,y\n2,c\n# end";
    F.o.comment = '#';
    assay_rowset *rs = parse(text, 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(rs->ncomments, 3);
    assert_int_equal(rs->nlines, 5); /* every '\n', those of comments and quotes included */
    assert_string_equal(cell(0, 0), "1");
    assert_string_equal(cell(0, 1), "a\n#b");
    assert_string_equal(cell(1, 1), "c");
    assert_int_equal(F.row_ord[0], 0);
    assert_int_equal(F.row_ord[1], 1); /* comments take no ordinal */
    assert_int_equal(F.cur.pos, strlen(text));

    /* chunk boundaries: the last row end respects comment lines' odd quotes */
    assert_int_equal(assay_csv_last_row_end(&F.o, text, strlen(text)), strlen(text) - 5);
    const char *t2 = "# \"\n1,2\n";
    assert_int_equal(assay_csv_last_row_end(&F.o, t2, strlen(t2)), strlen(t2));
    assay_csv_options plain;
    assay_csv_options_default(&plain);
    assert_int_equal(assay_csv_last_row_end(&plain, t2, strlen(t2)), 0); /* by parity: open */

    /* cap stops, then the next call starts at a comment */
    F.rs.cap = 1;
    F.cur = (assay_cursor){ text, strlen(text), 0, 0 };
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(F.rs.nrows, 1);
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(F.rs.nrows, 1);
    assert_int_equal(F.row_ord[0], 1);
    assert_int_equal(F.cells[1].len, 1); /* column 1 of the one row (cap 1): "c" */
    assert_int_equal(text[F.cells[1].off], 'c');

    /* without the option the first line is a row (and an odd quote swallows the rest) */
    F.o.comment = 0;
    rs = parse("#a,b\n1,2\n", 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->ncomments, 0);

    /* the header is found after leading comment lines */
    F.o.comment = '#';
    char **fields;
    uint32_t nf;
    size_t consumed;
    const char *h = "# made by x \"\n\n#\nid,name\n1,a\n";
    assert_int_equal(assay_csv_read_row(&F.o, h, strlen(h), &fields, &nf, &consumed, NULL), 0);
    assert_int_equal(nf, 2);
    assert_string_equal(fields[0], "id");
    assert_int_equal(consumed, strlen(h) - 4);
    for (uint32_t k = 0; k < nf; k++)
        free(fields[k]);
    free(fields);
    /* a comment character that is the delimiter or the quote is refused */
    F.o.comment = ',';
    F.cur = (assay_cursor){ "a\n", 2, 0, 0 };
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), -EINVAL);
}

static void test_last_row_without_newline(void **state)
{
    assay_rowset *rs = parse("a,b\nc,d", 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nlines, 1);
    assert_string_equal(cell(1, 1), "d");
    assert_int_equal(F.row_len[1], 3);
    assert_int_equal(F.cur.pos, 7);
    rs = parse("a,b\nc,d\r", 2);
    assert_int_equal(rs->nrows, 2);
    assert_string_equal(cell(1, 1), "d");
    rs = parse("a,b\nc,", 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(flag(1, 1), ASSAY_CELL_NULL);
    rs = parse("a,b\nc,\"q\"", 2);
    assert_int_equal(rs->nrows, 2);
    assert_string_equal(cell(1, 1), "q");
}

static void test_blank_lines_skipped(void **state)
{
    assay_rowset *rs = parse("\na,b\n\n\r\nc,d\n\n", 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(rs->nlines, 6);
    assert_int_equal(F.row_ord[0], 0);
    assert_int_equal(F.row_ord[1], 1);
    assert_int_equal(F.row_off[1], 8);
    assert_int_equal(F.cur.ord, 2);
    /* one column: a blank line is still not a row (not a null cell) */
    rs = parse("x\n\ny\n", 1);
    assert_int_equal(rs->nrows, 2);
    assert_string_equal(cell(1, 0), "y");
    /* but a quoted empty field is a row */
    rs = parse("\"\"\n", 1);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(flag(0, 0), ASSAY_CELL_QUOTED);
}

/* keep_blank (Kafka: one message is one row): every line has an ordinal, and a blank
 * one is a bad row with 0 fields even when the schema has one column */
static void test_blank_lines_kept(void **state)
{
    F.o.keep_blank = true;
    assay_rowset *rs = parse("a,b\n\nc,d\n\r\n", 2);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 2);
    assert_int_equal(F.row_ord[0], 0);
    assert_int_equal(F.row_ord[1], 2);
    assert_int_equal(rs->bad[0].row, 1);
    assert_int_equal(rs->bad[0].reason, ASSAY_BAD_FIELD_COUNT);
    assert_int_equal(rs->bad[0].detail, 0);
    assert_int_equal(rs->bad[1].row, 3);
    rs = parse("x\n\ny\n", 1);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 1);
    assert_int_equal(rs->bad[0].row, 1);
    assert_string_equal(cell(1, 0), "y");
}

static void test_other_delimiter_and_quote(void **state)
{
    F.o.delimiter = ';';
    F.o.quote = '\'';
    assay_rowset *rs = parse("'a;b''c';d,e\n", 2);
    assert_int_equal(rs->nrows, 1);
    assert_string_equal(cell(0, 0), "a;b''c");
    assert_int_equal(flag(0, 0), ASSAY_CELL_QUOTED | ASSAY_CELL_ESCAPED);
    assert_string_equal(cell(0, 1), "d,e");
}

static void test_unwanted_columns_untouched(void **state)
{
    parse("a,b,c\n", 3); /* set up F */
    memset(F.cells, 0xAB, sizeof(F.cells));
    memset(F.flags, 0xAB, sizeof(F.flags));
    F.want[0] = 0;
    F.want[2] = 0;
    F.cur = (assay_cursor){ F.text, 6, 0, 0 };
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(F.rs.nrows, 1);
    assert_string_equal(cell(0, 1), "b");
    assert_int_equal(F.flags[0], 0xAB);
    assert_int_equal(F.flags[2 * CAP], 0xAB);
    assert_int_equal(F.cells[0].off, 0xABABABABu);
}

/* ---------------------------------------------------------------- bad rows */

static void assert_bad(uint32_t i, uint32_t reason, uint32_t row, uint32_t off, uint32_t len,
                       uint32_t at, uint32_t detail)
{
    const assay_bad_row *b = &F.bad[i];
    print_message("bad[%u]: reason %u row %u off %u len %u at %u detail %u\n", i, b->reason, b->row,
                  b->off, b->len, b->at, b->detail);
    assert_int_equal(b->reason, reason);
    assert_int_equal(b->row, row);
    assert_int_equal(b->off, off);
    assert_int_equal(b->len, len);
    assert_int_equal(b->at, at);
    assert_int_equal(b->detail, detail);
}

static void test_bad_field_count(void **state)
{
    assay_rowset *rs = parse("a,b,c\n1,2\n1,2,3,4,5\nx,y,z\n", 3);
    assert_int_equal(rs->nrows, 2);
    assert_int_equal(rs->nbad, 2);
    assert_bad(0, ASSAY_BAD_FIELD_COUNT, 1, 6, 3, 3, 2);  /* missing: at = row end */
    assert_bad(1, ASSAY_BAD_FIELD_COUNT, 2, 10, 9, 6, 5); /* extra: at = 4th field */
    assert_int_equal(F.row_ord[1], 3);
    assert_int_equal(F.row_off[1], 20);
}

static void test_bad_quote(void **state)
{
    /* a quote inside an unquoted field */
    assay_rowset *rs = parse("ok,1\nab\"\"c,d\n", 2);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(rs->nbad, 1);
    assert_bad(0, ASSAY_BAD_QUOTE, 1, 5, 7, 2, 0);
    /* text after a closing quote, in the second field */
    rs = parse("x,\"ab\"c\ny,z\n", 2);
    assert_int_equal(rs->nrows, 1);
    assert_bad(0, ASSAY_BAD_QUOTE, 0, 0, 7, 6, 0);
    assert_int_equal(F.row_ord[0], 1);
    /* bad quoting beats a wrong field count */
    rs = parse("\"a\"b\n", 2);
    assert_bad(0, ASSAY_BAD_QUOTE, 0, 0, 4, 3, 0);
}

static void test_bad_unterminated_quote(void **state)
{
    const char *t = "a,b\nc,\"d\ne,f\n";
    assay_rowset *rs = parse(t, 2);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(rs->nbad, 1);
    assert_bad(0, ASSAY_BAD_UNTERMINATED_QUOTE, 1, 4, 9, 2, 0);
    assert_int_equal(rs->nlines, 3); /* every '\n' consumed, quoted ones too */
    assert_int_equal(F.cur.pos, strlen(t));
}

static void test_bad_stray_quote_swallows_by_parity(void **state)
{
    /* parity framing: the stray quote opens a run that the next quote closes, so
     * the first two lines are one (bad) row; the third is fine */
    assay_rowset *rs = parse("a\"b,c\nd\"e,f\ng,h\n", 2);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(rs->nbad, 1);
    assert_bad(0, ASSAY_BAD_QUOTE, 0, 0, 11, 1, 0);
    assert_int_equal(rs->nlines, 3);
    assert_string_equal(cell(0, 0), "g");
    assert_int_equal(F.row_ord[0], 1);
}

static void test_bad_row_too_long(void **state)
{
    F.o.max_row_bytes = 5;
    assay_rowset *rs = parse("ab,cd\nabc,def\n\"x,\ny\",z\r\n", 2);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(rs->nbad, 2);
    assert_bad(0, ASSAY_BAD_ROW_TOO_LONG, 1, 6, 7, 5, 5);
    assert_bad(1, ASSAY_BAD_ROW_TOO_LONG, 2, 14, 8, 5, 5);
    /* the limit excludes the terminator: exactly 5 bytes plus CRLF is fine */
    rs = parse("ab,cd\r\n", 2);
    assert_int_equal(rs->nrows, 1);
}

static void test_bad_too_many_fields(void **state)
{
    F.o.max_fields = 3;
    assay_rowset *rs = parse("a,b,c\na,b,c,d\n,,,,,,\n", 3);
    assert_int_equal(rs->nrows, 1);
    assert_int_equal(rs->nbad, 2);
    assert_bad(0, ASSAY_BAD_TOO_MANY_FIELDS, 1, 6, 7, 6, 3);
    assert_bad(1, ASSAY_BAD_TOO_MANY_FIELDS, 2, 14, 6, 3, 3);
}

static void test_bad_row_text_describes(void **state)
{
    char buf[128];
    assay_bad_row b = { .reason = ASSAY_BAD_FIELD_COUNT, .detail = 9 };
    assay_bad_row_describe(&b, 10, NULL, buf, sizeof(buf));
    assert_string_equal(buf, "wrong field count: expected 10, found 9");
    b = (assay_bad_row){ .reason = ASSAY_BAD_UNTERMINATED_QUOTE, .at = 17 };
    assay_bad_row_describe(&b, 10, NULL, buf, sizeof(buf));
    assert_string_equal(buf, "unterminated quote at byte 17");
    for (uint32_t r = 1; r <= ASSAY_BAD_REASON_COUNT; r++) {
        b = (assay_bad_row){ .reason = r, .at = 3, .detail = 1, .len = 4 };
        size_t n = assay_bad_row_describe(&b, 2, NULL, buf, sizeof(buf));
        assert_int_equal(n, strlen(buf));
        assert_true(n > 10);
    }
    /* truncation: returns the length it wanted, writes a NUL within cap */
    b = (assay_bad_row){ .reason = ASSAY_BAD_FIELD_COUNT, .detail = 9 };
    char small[8];
    size_t want = assay_bad_row_describe(&b, 10, NULL, small, sizeof(small));
    assert_int_equal(want, strlen("wrong field count: expected 10, found 9"));
    assert_string_equal(small, "wrong f");
    assert_int_equal(assay_bad_row_describe(&b, 10, NULL, NULL, 0), want);
}

/* ---------------------------------------------------------------- cursor and caps */

static void test_cap_and_ordinals_across_calls(void **state)
{
    const char *t = "r0,a\nbad\nr2,b\n\nr3,c\nr4,d";
    parse(t, 2);
    assert_int_equal(F.rs.nrows, 4);
    /* again with cap 1: each call stops after one good row */
    F.rs.cap = 1;
    F.cur = (assay_cursor){ t, strlen(t), 0, 0 };
    uint32_t ords[8], nbad = 0, lines = 0, calls = 0;
    uint32_t n = 0;
    while (F.cur.pos < F.cur.len) {
        assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
        assert_true(F.rs.nrows <= 1);
        if (F.rs.nrows)
            ords[n++] = F.row_ord[0];
        nbad += F.rs.nbad;
        lines += F.rs.nlines;
        calls++;
        assert_true(calls < 10);
    }
    assert_int_equal(n, 4);
    assert_int_equal(nbad, 1);
    assert_int_equal(lines, 5);
    assert_int_equal(ords[0], 0);
    assert_int_equal(ords[1], 2);
    assert_int_equal(ords[2], 3);
    assert_int_equal(ords[3], 4);
    assert_int_equal(F.cur.ord, 5);
}

static void test_bad_cap_stops(void **state)
{
    const char *t = "x\ny\nok,1\nz\n";
    F.rs.cap = CAP;
    parse(t, 2);
    assert_int_equal(F.rs.nbad, 3);
    F.rs.bad_cap = 1;
    F.cur = (assay_cursor){ t, strlen(t), 0, 0 };
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(F.rs.nbad, 1);
    assert_int_equal(F.rs.nrows, 0);
    assert_int_equal(F.cur.pos, 2);
    assert_int_equal(F.cur.ord, 1);
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(F.rs.nbad, 1);
    assert_int_equal(F.bad[0].row, 1);
    assert_int_equal(F.cur.pos, 4);
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), 0);
    assert_int_equal(F.rs.nrows, 1);
    assert_int_equal(F.rs.nbad, 1);
    assert_int_equal(F.row_ord[0], 2);
    assert_int_equal(F.bad[0].row, 3);
    assert_int_equal(F.cur.pos, F.cur.len);
}

static void test_long_rows_span_windows(void **state)
{
    /* rows much longer than the parser's index window (16 KiB), with quotes */
    size_t n = 100000;
    char *t = malloc(n);
    size_t len = 0;
    for (int r = 0; r < 3; r++) {
        t[len++] = '"';
        for (int i = 0; i < 30000; i++)
            t[len++] = i % 100 == 0 ? ',' : (i % 1000 == 5 ? '\n' : 'x');
        t[len++] = '"';
        t[len++] = ',';
        t[len++] = 'e';
        t[len++] = '\n';
    }
    F.o.max_row_bytes = 1 << 20;
    assay_rowset *rs = parse_n(t, len, 2);
    assert_int_equal(rs->nbad, 0);
    assert_int_equal(rs->nrows, 3);
    assert_int_equal(rs->nlines, 3 + 3 * 30);
    assert_int_equal(F.cells[2].len, 30000);
    assert_int_equal(flag(2, 0), ASSAY_CELL_QUOTED);
    assert_string_equal(cell(2, 1), "e");
    F.o.max_row_bytes = 30000;
    rs = parse_n(t, len, 2);
    assert_int_equal(rs->nbad, 3);
    assert_int_equal(F.bad[2].reason, ASSAY_BAD_ROW_TOO_LONG);
    assert_int_equal(F.bad[2].len, 30004);
    free(t);
}

static void test_invalid_arguments(void **state)
{
    parse("a\n", 1);
    assay_csv_options o = F.o;
    o.delimiter = '"';
    assert_int_equal(assay_csv_parse(&o, &F.cur, &F.rs), -EINVAL);
    o = F.o;
    o.quote = '\n';
    assert_int_equal(assay_csv_parse(&o, &F.cur, &F.rs), -EINVAL);
    F.rs.cap = 0;
    assert_int_equal(assay_csv_parse(&F.o, &F.cur, &F.rs), -EINVAL);
}

/* ---------------------------------------------------------------- headers */

static void free_row(char **f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

static void test_read_row_header(void **state)
{
    const char *t = "\xEF\xBB\xBFid,\"full, name\",\"say \"\"x\"\"\",\r\n1,2,3,4\n";
    char **f;
    uint32_t n;
    size_t used;
    assay_error err = { 0 };
    assert_int_equal(assay_csv_read_row(&F.o, t, strlen(t), &f, &n, &used, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(f[0], "id");
    assert_string_equal(f[1], "full, name");
    assert_string_equal(f[2], "say \"x\"");
    assert_string_equal(f[3], "");
    assert_int_equal(used, strlen(t) - 8);
    free_row(f, n);

    /* quoted newline inside a name, no terminator, leading blank line */
    t = "\n\"a\nb\",c";
    assert_int_equal(assay_csv_read_row(&F.o, t, strlen(t), &f, &n, &used, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(f[0], "a\nb");
    assert_string_equal(f[1], "c");
    assert_int_equal(used, strlen(t));
    free_row(f, n);
}

static void test_read_row_errors(void **state)
{
    char **f = (char **)1;
    uint32_t n = 7;
    size_t used;
    assay_error err = { 0 };
    assert_int_equal(assay_csv_read_row(&F.o, "a,\"b\n", 5, &f, &n, &used, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unterminated quote"));
    assert_null(f);
    assert_int_equal(n, 0);
    assert_int_equal(assay_csv_read_row(&F.o, "\n\r\n", 3, &f, &n, &used, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "empty"));
    assert_int_equal(assay_csv_read_row(&F.o, "", 0, &f, &n, &used, &err), -EINVAL);
    assert_int_equal(assay_csv_read_row(&F.o, "a,b\"\"c\n", 7, &f, &n, &used, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "byte 3"));
    assert_int_equal(assay_csv_read_row(&F.o, "\"a\"b\n", 5, &f, &n, &used, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "closing quote"));
    F.o.max_fields = 2;
    assert_int_equal(assay_csv_read_row(&F.o, "a,b,c\n", 6, &f, &n, &used, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "max_fields"));
}

/* ---------------------------------------------------------------- chunk ends */

static void test_last_row_end(void **state)
{
    const char *t = "a,\"x\ny\",b\nc,\"d\ne";
    assert_int_equal(assay_csv_last_row_end(&F.o, t, strlen(t)), 10);
    assert_int_equal(assay_csv_last_row_end(&F.o, "abc", 3), 0);
    assert_int_equal(assay_csv_last_row_end(&F.o, "\"a\nb\nc\"", 7), 0);
    assert_int_equal(assay_csv_last_row_end(&F.o, "a\nb\n", 4), 4);
    assert_int_equal(assay_csv_last_row_end(&F.o, "", 0), 0);
    /* long: the last unquoted newline is far from the start, with quoted ones after */
    size_t n = 5000;
    char *b = malloc(n);
    memset(b, 'z', n);
    b[1000] = '\n';
    b[3000] = '\n';
    b[3001] = '"';
    b[4000] = '\n';
    assert_int_equal(assay_csv_last_row_end(&F.o, b, n), 3001);
    b[4500] = '"';
    assert_int_equal(assay_csv_last_row_end(&F.o, b, n), 3001);
    b[4600] = '\n';
    assert_int_equal(assay_csv_last_row_end(&F.o, b, n), 4601);
    free(b);
}

static void test_unescape(void **state)
{
    char out[32];
    assert_int_equal(assay_csv_unescape("a\"\"b\"\"\"\"", 8, '"', out), 5);
    assert_memory_equal(out, "a\"b\"\"", 5);
    char in[] = "x''y''";
    size_t n = assay_csv_unescape(in, 6, '\'', in); /* in place */
    assert_int_equal(n, 4);
    assert_memory_equal(in, "x'y'", 4);
    assert_int_equal(assay_csv_unescape("plain", 5, '"', out), 5);
    assert_memory_equal(out, "plain", 5);
    assert_int_equal(assay_csv_unescape("", 0, '"', out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_simple_rows, setup),
        cmocka_unit_test_setup(test_quoted_delimiter, setup),
        cmocka_unit_test_setup(test_doubled_quotes, setup),
        cmocka_unit_test_setup(test_embedded_newlines, setup),
        cmocka_unit_test_setup(test_crlf, setup),
        cmocka_unit_test_setup(test_null_vs_empty_string, setup),
        cmocka_unit_test_setup(test_null_tokens, setup),
        cmocka_unit_test_setup(test_null_token_lists, setup),
        cmocka_unit_test_setup(test_sniff, setup),
        cmocka_unit_test_setup(test_comment_lines, setup),
        cmocka_unit_test_setup(test_last_row_without_newline, setup),
        cmocka_unit_test_setup(test_blank_lines_skipped, setup),
        cmocka_unit_test_setup(test_blank_lines_kept, setup),
        cmocka_unit_test_setup(test_other_delimiter_and_quote, setup),
        cmocka_unit_test_setup(test_unwanted_columns_untouched, setup),
        cmocka_unit_test_setup(test_bad_field_count, setup),
        cmocka_unit_test_setup(test_bad_quote, setup),
        cmocka_unit_test_setup(test_bad_unterminated_quote, setup),
        cmocka_unit_test_setup(test_bad_stray_quote_swallows_by_parity, setup),
        cmocka_unit_test_setup(test_bad_row_too_long, setup),
        cmocka_unit_test_setup(test_bad_too_many_fields, setup),
        cmocka_unit_test_setup(test_bad_row_text_describes, setup),
        cmocka_unit_test_setup(test_cap_and_ordinals_across_calls, setup),
        cmocka_unit_test_setup(test_bad_cap_stops, setup),
        cmocka_unit_test_setup(test_long_rows_span_windows, setup),
        cmocka_unit_test_setup(test_invalid_arguments, setup),
        cmocka_unit_test_setup(test_read_row_header, setup),
        cmocka_unit_test_setup(test_read_row_errors, setup),
        cmocka_unit_test_setup(test_last_row_end, setup),
        cmocka_unit_test_setup(test_unescape, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
