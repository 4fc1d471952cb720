/*
 * test_gen.c - the test-data generator: determinism, pieces == whole, buffer-full
 * behaviour, CSV/NDJSON structure (with a small reference CSV splitter and JSON
 * reader written here), fault rates within binomial 5-sigma bounds, distributions
 * that look like orders, fault spec parsing and assay_gen_write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/gen.h"

#define NFIELDS 10

/* FNV-1a of rows [0, 5000), seed 1, all=0.05 (see test_golden_output). */
#define GOLDEN_CSV    0x995e5ae1ed50286cull
#define GOLDEN_NDJSON 0x19da695bd5c64425ull

static const char *const COLUMNS[NFIELDS] = {
    "order_id", "customer_id", "email",      "amount", "currency",
    "country",  "status",      "created_at", "phone",  "note",
};

enum { C_ID, C_CUST, C_EMAIL, C_AMOUNT, C_CUR, C_COUNTRY, C_STATUS, C_TIME, C_PHONE, C_NOTE };

/* ---------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------- */

/* Rows [first, first + n) in one malloc'd buffer, grown as needed. */
static char *gen_all(const assay_gen_options *o, uint64_t first, uint64_t n, size_t *out_len)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    uint64_t i = 0;
    while (i < n) {
        if (cap - len < (1 << 16)) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        uint64_t done = 0;
        len += assay_gen_rows(o, first + i, n - i, buf + len, cap - len, &done);
        assert_true(done > 0);
        i += done;
    }
    *out_len = len;
    return buf;
}

static uint64_t test_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One record, fields decoded (CSV unquoted, JSON unescaped). */
enum { T_STR, T_NUM, T_NULL };
typedef struct rec {
    int n;
    int type[NFIELDS];
    bool quoted[NFIELDS]; /* CSV: the field was quoted */
    size_t len[NFIELDS];
    /* NDJSON only: escapes seen in the note */
    bool note_u_escape, note_raw_utf8, note_nl_escape;
    char val[NFIELDS][4096]; /* last: the parsers clear everything before it */
} rec;

/* Reference CSV splitter (RFC 4180 with LF records). Returns 1 for a record, 0 at
 * the end, -1 on malformed input or more than NFIELDS fields. */
static int csv_next(const char *s, size_t n, size_t *pos, rec *r)
{
    size_t p = *pos;
    if (p >= n)
        return 0;
    memset(r, 0, offsetof(rec, val));
    for (;;) {
        if (r->n == NFIELDS)
            return -1;
        int f = r->n++;
        size_t k = 0;
        if (p < n && s[p] == '"') {
            r->quoted[f] = true;
            p++;
            for (;;) {
                if (p >= n)
                    return -1; /* unterminated quote */
                if (s[p] == '"') {
                    if (p + 1 < n && s[p + 1] == '"') {
                        r->val[f][k++] = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                r->val[f][k++] = s[p++];
                if (k >= sizeof(r->val[f]))
                    return -1;
            }
        } else {
            while (p < n && s[p] != ',' && s[p] != '\n') {
                if (s[p] == '"')
                    return -1; /* quote inside an unquoted field */
                r->val[f][k++] = s[p++];
                if (k >= sizeof(r->val[f]))
                    return -1;
            }
        }
        r->len[f] = k;
        r->val[f][k] = '\0';
        r->type[f] = (k == 0 && !r->quoted[f]) ? T_NULL : T_STR;
        if (p < n && s[p] == ',') {
            p++;
            continue;
        }
        if (p < n && s[p] == '\n') {
            *pos = p + 1;
            return 1;
        }
        return -1; /* a quoted field followed by something else, or no final LF */
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* JSON string at s[*p] (RFC 8259 section 7) decoded to UTF-8 in out. */
static bool json_str(const char *s, size_t n, size_t *p, char *out, size_t cap, size_t *olen,
                     rec *r, bool is_note)
{
    size_t k = 0, q = *p;
    if (q >= n || s[q] != '"')
        return false;
    q++;
    for (;;) {
        if (q >= n || k + 4 >= cap)
            return false;
        unsigned char c = (unsigned char)s[q];
        if (c == '"') {
            q++;
            break;
        }
        if (c < 0x20)
            return false; /* raw control character */
        if (c >= 0x80 && is_note)
            r->note_raw_utf8 = true;
        if (c != '\\') {
            out[k++] = (char)c;
            q++;
            continue;
        }
        if (q + 1 >= n)
            return false;
        char e = s[q + 1];
        q += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[k++] = e;
            break;
        case 'n':
            out[k++] = '\n';
            if (is_note)
                r->note_nl_escape = true;
            break;
        case 'r':
            out[k++] = '\r';
            break;
        case 't':
            out[k++] = '\t';
            break;
        case 'b':
            out[k++] = '\b';
            break;
        case 'f':
            out[k++] = '\f';
            break;
        case 'u': {
            if (q + 4 > n)
                return false;
            unsigned cp = 0;
            for (int d = 0; d < 4; d++) {
                int h = hexval(s[q + d]);
                if (h < 0)
                    return false;
                cp = cp * 16 + (unsigned)h;
            }
            q += 4;
            if (cp >= 0xd800 && cp < 0xe000)
                return false; /* the generator writes BMP characters only */
            if (is_note && cp >= 0x80)
                r->note_u_escape = true;
            if (cp < 0x80) {
                out[k++] = (char)cp;
            } else if (cp < 0x800) {
                out[k++] = (char)(0xc0 | (cp >> 6));
                out[k++] = (char)(0x80 | (cp & 0x3f));
            } else {
                out[k++] = (char)(0xe0 | (cp >> 12));
                out[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[k++] = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default:
            return false;
        }
    }
    out[k] = '\0';
    *olen = k;
    *p = q;
    return true;
}

/* One NDJSON line: a flat object whose keys are COLUMNS in order and whose values
 * are strings, numbers or null. Returns 1, 0 at the end, -1 when malformed. */
static int ndjson_next(const char *s, size_t n, size_t *pos, rec *r)
{
    size_t p = *pos;
    if (p >= n)
        return 0;
    memset(r, 0, offsetof(rec, val));
    if (s[p++] != '{')
        return -1;
    for (int f = 0; f < NFIELDS; f++) {
        char key[64];
        size_t klen;
        if (f > 0 && (p >= n || s[p++] != ','))
            return -1;
        if (!json_str(s, n, &p, key, sizeof(key), &klen, r, false))
            return -1;
        if (strcmp(key, COLUMNS[f]) != 0)
            return -1;
        if (p >= n || s[p++] != ':')
            return -1;
        r->n++;
        if (p < n && s[p] == '"') {
            if (!json_str(s, n, &p, r->val[f], sizeof(r->val[f]), &r->len[f], r, f == C_NOTE))
                return -1;
            r->type[f] = T_STR;
        } else if (n - p >= 4 && memcmp(s + p, "null", 4) == 0) {
            p += 4;
            r->type[f] = T_NULL;
            r->val[f][0] = '\0';
        } else {
            size_t k = 0;
            while (p < n && (s[p] == '-' || s[p] == '.' || (s[p] >= '0' && s[p] <= '9')) && k < 40)
                r->val[f][k++] = s[p++];
            if (k == 0)
                return -1;
            r->val[f][k] = '\0';
            r->len[f] = k;
            r->type[f] = T_NUM;
        }
    }
    if (n - p < 2 || s[p] != '}' || s[p + 1] != '\n')
        return -1;
    *pos = p + 2;
    return 1;
}

static int next_rec(assay_gen_format fmt, const char *s, size_t n, size_t *pos, rec *r)
{
    return fmt == ASSAY_GEN_NDJSON ? ndjson_next(s, n, pos, r) : csv_next(s, n, pos, r);
}

/* Skips the CSV header (checking it) and returns its length. */
static size_t skip_header(assay_gen_format fmt, const char *s, size_t n)
{
    if (fmt == ASSAY_GEN_NDJSON)
        return 0;
    const char *h =
        "order_id,customer_id,email,amount,currency,country,status,created_at,phone,note\n";
    assert_true(n >= strlen(h));
    assert_memory_equal(s, h, strlen(h));
    return strlen(h);
}

/* ---- value checks, as a data-quality rule would see them ---- */

static bool is_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return false;
    return true;
}

/* ^[^@\s]+@[^@\s]+\.[^@\s]+$ */
static bool valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@'))
        return false;
    for (const char *q = s; *q; q++)
        if (*q == ' ' || *q == '\t' || *q == '\n')
            return false;
    const char *dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1] != '\0';
}

/* -?digits.dd, as the generator writes amounts; -1 not a number, else cents. */
static int64_t amount_cents(const char *s, size_t n)
{
    bool neg = n > 0 && s[0] == '-';
    if (neg) {
        s++;
        n--;
    }
    if (n < 4 || s[n - 3] != '.' || !is_digits(s, n - 3) || !is_digits(s + n - 2, 2))
        return -1;
    int64_t v = 0;
    for (size_t k = 0; k < n; k++)
        if (s[k] != '.')
            v = v * 10 + (s[k] - '0');
    return neg ? -v - 1000000000000LL : v; /* negatives map far below zero */
}

/* ^\+[1-9][0-9]{6,14}$ */
static bool valid_phone(const char *s, size_t n)
{
    return n >= 8 && n <= 16 && s[0] == '+' && s[1] >= '1' && s[1] <= '9' &&
           is_digits(s + 1, n - 1);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Strict "YYYY-MM-DDTHH:MM:SS[.fff]Z" with range checks; false when invalid. */
static bool parse_time(const char *s, size_t n, int64_t *us)
{
    if (n != 20 && n != 24)
        return false;
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    for (int k = 0; k < 19; k++)
        if (pat[k] == 'd' ? (s[k] < '0' || s[k] > '9') : s[k] != pat[k])
            return false;
    unsigned ms = 0;
    if (n == 24) {
        if (s[19] != '.' || !is_digits(s + 20, 3))
            return false;
        ms = (unsigned)((s[20] - '0') * 100 + (s[21] - '0') * 10 + (s[22] - '0'));
    }
    if (s[n - 1] != 'Z')
        return false;
    char t[8];
    unsigned v[6];
    static const int off[6] = { 0, 5, 8, 11, 14, 17 }, len[6] = { 4, 2, 2, 2, 2, 2 };
    for (int k = 0; k < 6; k++) {
        memcpy(t, s + off[k], (size_t)len[k]);
        t[len[k]] = '\0';
        v[k] = (unsigned)strtoul(t, NULL, 10);
    }
    static const unsigned mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned y = v[0], mo = v[1], d = v[2];
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || v[3] > 23 ||
        v[4] > 59 || v[5] > 59)
        return false;
    *us = ((days_from_civil(y, mo, d) * 86400 + v[3] * 3600 + v[4] * 60 + v[5]) * 1000 + ms) * 1000;
    return true;
}

/* ---------------------------------------------------------------------------------
 * Determinism, pieces, buffer-full
 * ------------------------------------------------------------------------------- */

static void test_same_seed_same_bytes(void **state)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        assay_gen_options o;
        assay_gen_options_default(&o);
        o.format = (assay_gen_format)fmt;
        o.rows = 20000;
        o.seed = 7;
        size_t la, lb, lc;
        char *a = gen_all(&o, 0, o.rows, &la);
        char *b = gen_all(&o, 0, o.rows, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        o.seed = 8;
        char *c = gen_all(&o, 0, o.rows, &lc);
        assert_false(la == lc && memcmp(a, c, la) == 0);
        /* and not merely a shifted copy: the first rows differ */
        assert_false(memcmp(a, c, 200) == 0);
        free(a);
        free(b);
        free(c);
    }
}

static void test_pieces_equal_whole(void **state)
{
    uint64_t rs = 12345;
    for (int fmt = 0; fmt < 2; fmt++) {
        assay_gen_options o;
        assay_gen_options_default(&o);
        o.format = (assay_gen_format)fmt;
        o.rows = 30000;
        o.seed = 99;
        assay_gen_parse_faults("all=0.05", &o, NULL);
        size_t whole_len;
        char *whole = gen_all(&o, 0, o.rows, &whole_len);

        /* random piece boundaries, pieces generated last to first */
        enum { MAXP = 200 };
        uint64_t start[MAXP + 1];
        int np = 0;
        start[0] = 0;
        while (start[np] < o.rows && np < MAXP - 1) {
            uint64_t len = 1 + test_rng(&rs) % 600;
            if (test_rng(&rs) % 4 == 0)
                len = 1;
            start[np + 1] = ASSAY_MIN(o.rows, start[np] + len);
            np++;
        }
        start[np] = o.rows;
        char *piece[MAXP];
        size_t plen[MAXP];
        for (int k = np - 1; k >= 0; k--)
            piece[k] = gen_all(&o, start[k], start[k + 1] - start[k], &plen[k]);
        size_t off = 0;
        for (int k = 0; k < np; k++) {
            assert_true(off + plen[k] <= whole_len);
            if (memcmp(whole + off, piece[k], plen[k]) != 0)
                fail_msg("format %d: piece %d (rows %llu..%llu) differs from the whole output", fmt,
                         k, (unsigned long long)start[k], (unsigned long long)start[k + 1]);
            off += plen[k];
            free(piece[k]);
        }
        assert_int_equal(off, whole_len);
        free(whole);
    }
}

static void test_buffer_full(void **state)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        assay_gen_options o;
        assay_gen_options_default(&o);
        o.format = (assay_gen_format)fmt;
        o.rows = 400;
        assay_gen_parse_faults("long_note=0.2", &o, NULL); /* some 0.5-1.5 KB rows */
        enum { N = 400 };
        size_t prefix[N + 1];
        prefix[0] = 0;
        char one[16384];
        for (uint64_t i = 0; i < N; i++) {
            uint64_t done = 99;
            size_t len = assay_gen_rows(&o, i, 1, one, sizeof(one), &done);
            assert_int_equal(done, 1);
            assert_true(len > 0);
            prefix[i + 1] = prefix[i] + len;
        }
        size_t total;
        char *whole = gen_all(&o, 0, N, &total);
        assert_int_equal(total, prefix[N]);

        size_t caps[64];
        int nc = 0;
        static const size_t fixed[] = { 0, 1, 50, 8191, 8192, 8193, 9000, 16383, 30000 };
        for (size_t k = 0; k < ASSAY_ARRAY_LEN(fixed); k++)
            caps[nc++] = fixed[k];
        for (int k = 1; k <= 40; k += 3) { /* exactly at and one short of row ends */
            caps[nc++] = prefix[k * 8];
            caps[nc++] = prefix[k * 8] - 1;
        }
        caps[nc++] = total;
        caps[nc++] = total + 1;
        char *buf = malloc(total + 2);
        assert_non_null(buf);
        for (int c = 0; c < nc; c++) {
            size_t cap = caps[c];
            uint64_t want = 0;
            while (want < N && prefix[want + 1] <= cap)
                want++;
            uint64_t done = 12345;
            memset(buf, 0x55, total + 2);
            size_t len = assay_gen_rows(&o, 0, N, cap ? buf : NULL, cap, &done);
            if (done != want || len != prefix[want])
                fail_msg("format %d cap %zu: wrote %zu bytes / %llu rows, want %zu / %llu", fmt,
                         cap, len, (unsigned long long)done, prefix[want],
                         (unsigned long long)want);
            assert_memory_equal(buf, whole, len);
            assert_true(len <= cap);
            if (want < N) /* it stopped because the next row would not have fit */
                assert_true(prefix[want + 1] > cap);
        }
        free(buf);
        free(whole);
    }
}

/* The bytes for a fixed seed are part of the interface: a benchmark or a bug report
 * made with `assay gen --seed S` must be reproducible later and on another machine
 * (the generator uses integer arithmetic only, so compiler, libm and architecture
 * do not matter). If you change the generator on purpose, update these hashes. */
static void test_golden_output(void **state)
{
    static const uint64_t want[2] = { GOLDEN_CSV, GOLDEN_NDJSON };
    for (int fmt = 0; fmt < 2; fmt++) {
        assay_gen_options o;
        assay_gen_options_default(&o);
        o.format = (assay_gen_format)fmt;
        o.rows = 5000;
        assay_gen_parse_faults("all=0.05", &o, NULL);
        size_t len;
        char *s = gen_all(&o, 0, o.rows, &len);
        uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
        for (size_t k = 0; k < len; k++)
            h = (h ^ (unsigned char)s[k]) * 0x100000001b3ull;
        if (h != want[fmt])
            fail_msg("format %d: output hash 0x%016llx, want 0x%016llx (first row: %.120s)", fmt,
                     (unsigned long long)h, (unsigned long long)want[fmt], s);
        free(s);
    }
}

/* duplicate_id=1: every row copies an earlier row, and the chains end at row 0,
 * the only row that cannot be a duplicate. */
static void test_duplicate_chains(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 20000;
    assert_int_equal(assay_gen_parse_faults("duplicate_id=1", &o, NULL), 0);
    size_t len;
    char *s = gen_all(&o, 0, o.rows, &len);
    rec *r = malloc(sizeof(*r));
    size_t pos = 0;
    for (uint64_t i = 0; i < o.rows; i++) {
        assert_int_equal(csv_next(s, len, &pos, r), 1);
        if (strcmp(r->val[C_ID], "1") != 0)
            fail_msg("row %llu: order_id %s, want 1", (unsigned long long)i, r->val[C_ID]);
    }
    free(r);
    free(s);
}

/* ---------------------------------------------------------------------------------
 * Structure
 * ------------------------------------------------------------------------------- */

static void test_csv_structure(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 30000;
    assay_gen_parse_faults("all=0.02", &o, NULL);
    size_t len;
    char *s = gen_all(&o, 0, o.rows, &len);
    assert_string_equal(assay_gen_header(&o),
                        "order_id,customer_id,email,amount,currency,country,status,created_at,"
                        "phone,note\n");
    /* header + rows, through the same splitter */
    size_t hl = strlen(assay_gen_header(&o));
    char *all = malloc(hl + len);
    memcpy(all, assay_gen_header(&o), hl);
    memcpy(all + hl, s, len);
    size_t pos = 0;
    rec *r = malloc(sizeof(*r));
    int rc = csv_next(all, hl + len, &pos, r);
    assert_int_equal(rc, 1);
    assert_int_equal(r->n, NFIELDS);
    for (int f = 0; f < NFIELDS; f++)
        assert_string_equal(r->val[f], COLUMNS[f]);
    uint64_t rows = 0, quoted = 0, multiline = 0, doubled = 0;
    while ((rc = csv_next(all, hl + len, &pos, r)) == 1) {
        if (r->n != NFIELDS)
            fail_msg("row %llu has %d fields, want %d", (unsigned long long)rows, r->n, NFIELDS);
        for (int f = 0; f < NFIELDS; f++) {
            bool needs = strpbrk(r->val[f], ",\"\n\r") != NULL;
            if (needs != r->quoted[f])
                fail_msg("row %llu field %s: quoted=%d but needs quoting=%d ('%s')",
                         (unsigned long long)rows, COLUMNS[f], r->quoted[f], needs, r->val[f]);
            quoted += r->quoted[f];
            multiline += memchr(r->val[f], '\n', r->len[f]) != NULL;
            doubled += memchr(r->val[f], '"', r->len[f]) != NULL;
        }
        rows++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, o.rows);
    /* quoting is exercised: quoted fields, embedded quotes and embedded newlines */
    assert_true(quoted > 100);
    assert_true(doubled > 10);
    assert_true(multiline > 10);
    free(r);
    free(all);
    free(s);
}

static void test_ndjson_structure_and_escapes(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.format = ASSAY_GEN_NDJSON;
    o.rows = 30000;
    assert_string_equal(assay_gen_header(&o), "");
    size_t len;
    char *s = gen_all(&o, 0, o.rows, &len);
    rec *r = malloc(sizeof(*r));
    size_t pos = 0;
    uint64_t rows = 0, u_esc = 0, raw = 0, nl = 0;
    int rc;
    while ((rc = ndjson_next(s, len, &pos, r)) == 1) {
        if (r->type[C_ID] != T_NUM || r->type[C_AMOUNT] == T_NULL ||
            (r->type[C_NOTE] != T_STR && r->type[C_NOTE] != T_NULL))
            fail_msg("line %llu: wrong value types", (unsigned long long)rows);
        for (int f = C_CUR; f <= C_PHONE; f++)
            assert_int_equal(r->type[f], T_STR);
        u_esc += r->note_u_escape;
        raw += r->note_raw_utf8;
        nl += r->note_nl_escape;
        rows++;
    }
    if (rc != 0)
        fail_msg("line %llu is not a flat JSON object with the 10 columns: %.200s",
                 (unsigned long long)rows, s + pos);
    assert_int_equal(rows, o.rows);
    /* non-ASCII both raw and as \u escapes; newlines escaped (a raw one fails above) */
    assert_true(u_esc > 10);
    assert_true(raw > 10);
    assert_true(nl > 10);
    free(r);
    free(s);
}

/* The same row decodes to the same values in CSV and NDJSON. */
static void test_csv_and_ndjson_agree(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 20000;
    assay_gen_parse_faults("all=0.05", &o, NULL);
    size_t lc, lj;
    char *c = gen_all(&o, 0, o.rows, &lc);
    o.format = ASSAY_GEN_NDJSON;
    char *j = gen_all(&o, 0, o.rows, &lj);
    rec *rc = malloc(sizeof(*rc)), *rj = malloc(sizeof(*rj));
    size_t pc = 0, pj = 0;
    for (uint64_t i = 0; i < o.rows; i++) {
        assert_int_equal(csv_next(c, lc, &pc, rc), 1);
        assert_int_equal(ndjson_next(j, lj, &pj, rj), 1);
        for (int f = 0; f < NFIELDS; f++) {
            bool null_c = rc->type[f] == T_NULL, null_j = rj->type[f] == T_NULL;
            if (null_c != null_j || strcmp(rc->val[f], rj->val[f]) != 0)
                fail_msg("row %llu column %s: CSV '%s' vs NDJSON '%s'", (unsigned long long)i,
                         COLUMNS[f], rc->val[f], rj->val[f]);
        }
        /* a bad amount is a JSON string, every other amount a number */
        bool num = amount_cents(rc->val[C_AMOUNT], rc->len[C_AMOUNT]) != -1;
        assert_int_equal(rj->type[C_AMOUNT], num ? T_NUM : T_STR);
    }
    assert_int_equal(pc, lc);
    assert_int_equal(pj, lj);
    free(rc);
    free(rj);
    free(c);
    free(j);
}

/* ---------------------------------------------------------------------------------
 * Fault rates
 * ------------------------------------------------------------------------------- */

enum {
    K_NULL_EMAIL,
    K_BAD_EMAIL,
    K_NEG_AMOUNT,
    K_BAD_AMOUNT,
    K_BAD_CURRENCY,
    K_DUP_ID,
    K_NULL_CUSTOMER,
    K_BAD_PHONE,
    K_STALE,
    K_BAD_TIME,
    K_LONG_NOTE,
    K_COUNT
};
static const char *const K_NAMES[K_COUNT] = {
    "null_email",   "bad_email",     "negative_amount", "bad_amount",
    "bad_currency", "duplicate_id",  "null_customer",   "bad_phone",
    "stale",        "bad_timestamp", "long_note",
};

/* Counts every defect by looking at the output only. */
static void count_defects(const assay_gen_options *o, const char *s, size_t len,
                          uint64_t counts[K_COUNT])
{
    memset(counts, 0, sizeof(uint64_t) * K_COUNT);
    size_t pos = skip_header(o->format, s, len);
    rec *r = malloc(sizeof(*r));
    uint8_t *seen = calloc(o->rows + 2, 1);
    uint64_t id_moved = 0;
    for (uint64_t i = 0; i < o->rows; i++) {
        int rc = next_rec(o->format, s, len, &pos, r);
        if (rc != 1)
            fail_msg("row %llu: malformed record", (unsigned long long)i);
        uint64_t id = strtoull(r->val[C_ID], NULL, 10);
        if (id < 1 || id > i + 1)
            fail_msg("row %llu: order_id %llu is neither its own nor an earlier row's",
                     (unsigned long long)i, (unsigned long long)id);
        counts[K_DUP_ID] += seen[id];
        seen[id] = 1;
        id_moved += id != i + 1;

        if (r->type[C_EMAIL] == T_NULL)
            counts[K_NULL_EMAIL]++;
        else if (!valid_email(r->val[C_EMAIL]))
            counts[K_BAD_EMAIL]++;

        int64_t cents = amount_cents(r->val[C_AMOUNT], r->len[C_AMOUNT]);
        if (cents == -1)
            counts[K_BAD_AMOUNT]++;
        else if (cents < 0)
            counts[K_NEG_AMOUNT]++;

        const char *cur = r->val[C_CUR];
        if (strcmp(cur, "USD") && strcmp(cur, "EUR") && strcmp(cur, "GBP") && strcmp(cur, "JPY"))
            counts[K_BAD_CURRENCY]++;
        if (r->type[C_CUST] == T_NULL)
            counts[K_NULL_CUSTOMER]++;
        else if (!is_digits(r->val[C_CUST], r->len[C_CUST]))
            fail_msg("row %llu: customer_id '%s'", (unsigned long long)i, r->val[C_CUST]);
        if (!valid_phone(r->val[C_PHONE], r->len[C_PHONE]))
            counts[K_BAD_PHONE]++;
        int64_t t;
        if (!parse_time(r->val[C_TIME], r->len[C_TIME], &t))
            counts[K_BAD_TIME]++;
        else if (t < o->start_us + (int64_t)i * o->step_us - 86400000000LL)
            counts[K_STALE]++;
        if (r->len[C_NOTE] > 500)
            counts[K_LONG_NOTE]++;
    }
    assert_int_equal(pos, len);
    /* every moved id is a repeat and every repeat a moved id (see gen.c) */
    assert_int_equal(id_moved, counts[K_DUP_ID]);
    free(seen);
    free(r);
}

/* Expected probability of each observable defect when every rate is p: faults on
 * the same field shadow each other (null over bad email, bad over negative amount,
 * bad timestamp over stale), and row 0 cannot be a duplicate. */
static void check_rates(const assay_gen_options *o, const uint64_t counts[K_COUNT], double p)
{
    double n = (double)o->rows;
    for (int k = 0; k < K_COUNT; k++) {
        double q = p;
        if (k == K_BAD_EMAIL || k == K_NEG_AMOUNT || k == K_STALE)
            q = p * (1 - p);
        double trials = k == K_DUP_ID ? n - 1 : n;
        double mean = trials * q, sd = sqrt(trials * q * (1 - q));
        double lo = mean - 5 * sd, hi = mean + 5 * sd;
        if ((double)counts[k] < lo || (double)counts[k] > hi)
            fail_msg("%s: %llu defects in %.0f rows, want %.0f +- %.0f (5 sigma)", K_NAMES[k],
                     (unsigned long long)counts[k], n, mean, 5 * sd);
    }
}

static void test_fault_rates_csv(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 200000;
    o.seed = 2024;
    assert_int_equal(assay_gen_parse_faults("all=0.1", &o, NULL), 0);
    size_t len;
    char *body = gen_all(&o, 0, o.rows, &len);
    const char *h = assay_gen_header(&o);
    char *s = malloc(strlen(h) + len);
    memcpy(s, h, strlen(h));
    memcpy(s + strlen(h), body, len);
    uint64_t counts[K_COUNT];
    count_defects(&o, s, strlen(h) + len, counts);
    check_rates(&o, counts, 0.1);
    free(s);
    free(body);
}

static void test_fault_rates_ndjson(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.format = ASSAY_GEN_NDJSON;
    o.rows = 100000;
    o.seed = 77;
    assert_int_equal(assay_gen_parse_faults("all=0.2", &o, NULL), 0);
    size_t len;
    char *s = gen_all(&o, 0, o.rows, &len);
    uint64_t counts[K_COUNT];
    count_defects(&o, s, len, counts);
    check_rates(&o, counts, 0.2);
    free(s);
}

static void test_no_faults_is_clean(void **state)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        assay_gen_options o;
        assay_gen_options_default(&o);
        o.format = (assay_gen_format)fmt;
        o.rows = 50000;
        assert_int_equal(assay_gen_parse_faults("all=0", &o, NULL), 0);
        size_t len;
        char *body = gen_all(&o, 0, o.rows, &len);
        const char *h = assay_gen_header(&o);
        char *s = malloc(strlen(h) + len);
        memcpy(s, h, strlen(h));
        memcpy(s + strlen(h), body, len);
        uint64_t counts[K_COUNT];
        count_defects(&o, s, strlen(h) + len, counts);
        for (int k = 0; k < K_COUNT; k++)
            if (counts[k] != 0)
                fail_msg("format %d: %llu %s defects with every rate 0", fmt,
                         (unsigned long long)counts[k], K_NAMES[k]);
        free(s);
        free(body);
    }
}

/* With default rates each defect shows up about as often as documented. */
static void test_default_rates(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 200000;
    size_t len;
    char *body = gen_all(&o, 0, o.rows, &len);
    const char *h = assay_gen_header(&o);
    char *s = malloc(strlen(h) + len);
    memcpy(s, h, strlen(h));
    memcpy(s + strlen(h), body, len);
    uint64_t counts[K_COUNT];
    count_defects(&o, s, strlen(h) + len, counts);
    static const double rate[K_COUNT] = { 0.01,  0.005, 0.002, 0.001,  0.003, 0.001,
                                          0.002, 0.01,  0.001, 0.0005, 0.0005 };
    for (int k = 0; k < K_COUNT; k++) {
        double mean = (double)o.rows * rate[k], sd = sqrt(mean);
        if (fabs((double)counts[k] - mean) > 5 * sd + 2)
            fail_msg("%s: %llu in %llu rows, documented default rate %g", K_NAMES[k],
                     (unsigned long long)counts[k], (unsigned long long)o.rows, rate[k]);
    }
    free(s);
    free(body);
}

/* Raising one fault's rate changes only that fault's column. */
static void test_rates_are_independent(void **state)
{
    assay_gen_options a, b;
    assay_gen_options_default(&a);
    a.rows = 20000;
    b = a;
    assert_int_equal(assay_gen_parse_faults("bad_phone=0.5", &b, NULL), 0);
    size_t la, lb;
    char *sa = gen_all(&a, 0, a.rows, &la), *sb = gen_all(&b, 0, b.rows, &lb);
    rec *ra = malloc(sizeof(*ra)), *rb = malloc(sizeof(*rb));
    size_t pa = 0, pb = 0;
    uint64_t phone_diffs = 0;
    for (uint64_t i = 0; i < a.rows; i++) {
        assert_int_equal(csv_next(sa, la, &pa, ra), 1);
        assert_int_equal(csv_next(sb, lb, &pb, rb), 1);
        for (int f = 0; f < NFIELDS; f++) {
            bool same = strcmp(ra->val[f], rb->val[f]) == 0;
            if (f == C_PHONE)
                phone_diffs += !same;
            else if (!same)
                fail_msg("row %llu: raising bad_phone changed %s ('%s' -> '%s')",
                         (unsigned long long)i, COLUMNS[f], ra->val[f], rb->val[f]);
        }
    }
    assert_true(phone_diffs > a.rows / 3);
    free(ra);
    free(rb);
    free(sa);
    free(sb);
}

/* ---------------------------------------------------------------------------------
 * Distributions
 * ------------------------------------------------------------------------------- */

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void test_distributions_look_like_orders(void **state)
{
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 100000;
    assert_int_equal(assay_gen_parse_faults("all=0", &o, NULL), 0);
    size_t len;
    char *s = gen_all(&o, 0, o.rows, &len);
    rec *r = malloc(sizeof(*r));
    uint64_t customers = 10000; /* max(1000, rows / 10) */
    uint32_t *per_cust = calloc(customers + 1, sizeof(uint32_t));
    int64_t *cents = malloc(o.rows * sizeof(int64_t));
    uint64_t usd = 0, eur = 0, gbp = 0, jpy = 0, us = 0, empty_notes = 0, out_of_order = 0;
    char countries[64][3];
    int ncountries = 0;
    int64_t prev_t = INT64_MIN;
    size_t pos = 0;
    for (uint64_t i = 0; i < o.rows; i++) {
        assert_int_equal(csv_next(s, len, &pos, r), 1);
        uint64_t cid = strtoull(r->val[C_CUST], NULL, 10);
        if (cid < 1 || cid > customers)
            fail_msg("customer_id %llu outside [1, %llu]", (unsigned long long)cid,
                     (unsigned long long)customers);
        per_cust[cid]++;
        for (const char *q = r->val[C_EMAIL]; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                fail_msg("email '%s' is not lower case", r->val[C_EMAIL]);
        assert_non_null(strchr(r->val[C_EMAIL], '+'));
        cents[i] = amount_cents(r->val[C_AMOUNT], r->len[C_AMOUNT]);
        assert_true(cents[i] > 0);
        usd += strcmp(r->val[C_CUR], "USD") == 0;
        eur += strcmp(r->val[C_CUR], "EUR") == 0;
        gbp += strcmp(r->val[C_CUR], "GBP") == 0;
        jpy += strcmp(r->val[C_CUR], "JPY") == 0;
        us += strcmp(r->val[C_COUNTRY], "US") == 0;
        assert_int_equal(r->len[C_COUNTRY], 2);
        int k;
        for (k = 0; k < ncountries; k++)
            if (strcmp(countries[k], r->val[C_COUNTRY]) == 0)
                break;
        if (k == ncountries && ncountries < 64)
            memcpy(countries[ncountries++], r->val[C_COUNTRY], 3);
        int64_t t;
        assert_true(parse_time(r->val[C_TIME], r->len[C_TIME], &t));
        int64_t slot = o.start_us + (int64_t)i * o.step_us;
        if (t < slot - 120000000 || t >= slot + o.step_us)
            fail_msg("row %llu: created_at %s is not within [-120 s, +1 step) of its slot",
                     (unsigned long long)i, r->val[C_TIME]);
        out_of_order += t < prev_t;
        prev_t = t;
        empty_notes += r->len[C_NOTE] == 0;
    }
    /* Zipf(1) over 10,000 customers: top customer ~ log2(2)/log2(10001) = 7.5% */
    uint32_t top = 0;
    uint64_t distinct = 0, max_id = 0;
    for (uint64_t c = 1; c <= customers; c++) {
        top = ASSAY_MAX(top, per_cust[c]);
        distinct += per_cust[c] > 0;
        if (per_cust[c])
            max_id = c;
    }
    /* hot customers are scattered over the ids, not 1, 2, 3, ... */
    int hot_low = 0;
    for (uint64_t c = 1; c <= 10; c++)
        hot_low += per_cust[c] > top / 3;
    if (hot_low >= 3)
        fail_msg("%d of customer ids 1..10 are hot; the id permutation is missing", hot_low);
    /* ids cover [1, C]: the cold tail is there, scattered up to C */
    if (distinct < customers / 2 || max_id < customers * 99 / 100)
        fail_msg("%llu distinct customers, highest id %llu; want most of 1..%llu",
                 (unsigned long long)distinct, (unsigned long long)max_id,
                 (unsigned long long)customers);
    double top_share = (double)top / (double)o.rows;
    if (top_share < 0.06 || top_share > 0.09)
        fail_msg("top customer has %.3f of orders, want ~0.075", top_share);
    /* lognormal around 50 */
    qsort(cents, o.rows, sizeof(int64_t), cmp_i64);
    int64_t median = cents[o.rows / 2];
    if (median < 4500 || median > 5500)
        fail_msg("median amount %lld cents, want ~5000", (long long)median);
    assert_true(cents[o.rows - 1] > 100000); /* occasional large orders */
    assert_true(usd > eur && eur > gbp && gbp > jpy && jpy > o.rows / 50);
    assert_true(us > o.rows / 4 && us < o.rows * 4 / 10);
    assert_int_equal(ncountries, 20);
    assert_true(empty_notes > o.rows / 3 && empty_notes < o.rows / 2);
    assert_true(out_of_order > 0 && out_of_order < o.rows / 50);
    free(per_cust);
    free(cents);
    free(r);
    free(s);
}

/* ---------------------------------------------------------------------------------
 * Fault spec, names, write
 * ------------------------------------------------------------------------------- */

static void test_parse_faults(void **state)
{
    assay_gen_options o, before;
    assay_gen_options_default(&o);
    assay_error err = { 0 };
    assert_int_equal(assay_gen_parse_faults("bad_email=0.2,duplicate_id=0.05", &o, &err), 0);
    assert_true(o.rates[ASSAY_FAULT_BAD_EMAIL] == 0.2);
    assert_true(o.rates[ASSAY_FAULT_DUPLICATE_ID] == 0.05);
    assert_true(o.rates[ASSAY_FAULT_BAD_PHONE] == 0.01); /* untouched default */
    assert_int_equal(assay_gen_parse_faults(" stale = 5% , long_note=1,", &o, &err), 0);
    assert_true(fabs(o.rates[ASSAY_FAULT_STALE] - 0.05) < 1e-12);
    assert_true(o.rates[ASSAY_FAULT_LONG_NOTE] == 1.0);
    assert_int_equal(assay_gen_parse_faults("all=.5", &o, &err), 0);
    for (int f = 0; f < ASSAY_FAULT_COUNT; f++)
        assert_true(o.rates[f] == 0.5);
    assert_int_equal(assay_gen_parse_faults("", &o, &err), 0);
    assert_true(o.rates[0] == 0.5);

    before = o;
    static const char *const bad[] = {
        "bad_emial=0.1",          "bad_email",      "bad_email=",
        "bad_email=abc",          "bad_email=1.5",  "bad_email=-0.1",
        "bad_email=0.1,oops=0.2", "bad_email=0.1x", "=0.1",
        "bad_email=200%",
    };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(bad); k++) {
        err.msg[0] = '\0';
        int rc = assay_gen_parse_faults(bad[k], &o, &err);
        if (rc != -EINVAL)
            fail_msg("spec '%s' gave %d, want -EINVAL", bad[k], rc);
        assert_true(strlen(err.msg) > 0);
        assert_memory_equal(o.rates, before.rates, sizeof(o.rates)); /* unchanged */
    }
    assert_int_equal(assay_gen_parse_faults("bad_emial=0.1", &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bad_emial"));
    for (int f = 0; f < ASSAY_FAULT_COUNT; f++)
        if (!strstr(err.msg, assay_fault_name((assay_fault)f)))
            fail_msg("message '%s' does not list '%s'", err.msg, assay_fault_name((assay_fault)f));
    assert_int_equal(assay_gen_parse_faults("bad_email=2", &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bad_email"));
    assert_non_null(strstr(err.msg, "'2'"));
}

static void test_fault_names(void **state)
{
    for (int f = 0; f < ASSAY_FAULT_COUNT; f++) {
        const char *n = assay_fault_name((assay_fault)f);
        assert_non_null(n);
        for (int g = 0; g < f; g++)
            assert_string_not_equal(n, assay_fault_name((assay_fault)g));
        /* every name round-trips through the spec parser */
        assay_gen_options o;
        assay_gen_options_default(&o);
        char spec[64];
        snprintf(spec, sizeof(spec), "%s=0.25", n);
        assert_int_equal(assay_gen_parse_faults(spec, &o, NULL), 0);
        assert_true(o.rates[f] == 0.25);
    }
    assert_string_equal(assay_fault_name(ASSAY_FAULT_BAD_EMAIL), "bad_email");
    assert_string_equal(assay_fault_name(ASSAY_FAULT_LONG_NOTE), "long_note");
    assert_null(assay_fault_name(ASSAY_FAULT_COUNT));
}

static void test_write(void **state)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        assay_gen_options o;
        assay_gen_options_default(&o);
        o.format = (assay_gen_format)fmt;
        o.rows = 60000; /* > one 4 MiB internal buffer for NDJSON */
        FILE *f = tmpfile();
        assert_non_null(f);
        assay_error err = { 0 };
        assert_int_equal(assay_gen_write(&o, f, &err), 0);
        long flen = ftell(f);
        size_t len;
        char *body = gen_all(&o, 0, o.rows, &len);
        size_t hl = strlen(assay_gen_header(&o));
        assert_int_equal((size_t)flen, hl + len);
        char *got = malloc((size_t)flen);
        rewind(f);
        assert_int_equal(fread(got, 1, (size_t)flen, f), (size_t)flen);
        assert_memory_equal(got, assay_gen_header(&o), hl);
        assert_memory_equal(got + hl, body, len);
        free(got);
        free(body);
        fclose(f);
    }
    /* a stream that cannot be written reports an error instead of succeeding */
    FILE *ro = fopen("/dev/null", "r");
    assert_non_null(ro);
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.rows = 10;
    assay_error err = { 0 };
    int rc = assay_gen_write(&o, ro, &err);
    assert_true(rc < 0);
    assert_int_equal(err.code, rc);
    assert_non_null(strstr(err.msg, "write"));
    fclose(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_pieces_equal_whole),
        cmocka_unit_test(test_buffer_full),
        cmocka_unit_test(test_golden_output),
        cmocka_unit_test(test_duplicate_chains),
        cmocka_unit_test(test_csv_structure),
        cmocka_unit_test(test_ndjson_structure_and_escapes),
        cmocka_unit_test(test_csv_and_ndjson_agree),
        cmocka_unit_test(test_fault_rates_csv),
        cmocka_unit_test(test_fault_rates_ndjson),
        cmocka_unit_test(test_no_faults_is_clean),
        cmocka_unit_test(test_default_rates),
        cmocka_unit_test(test_rates_are_independent),
        cmocka_unit_test(test_distributions_look_like_orders),
        cmocka_unit_test(test_parse_faults),
        cmocka_unit_test(test_fault_names),
        cmocka_unit_test(test_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
