/* Parsing: NDJSON framing + parse (5 of 10 columns) per kernel level, typed field
 * parsers (int64, double, RFC 3339 timestamps) per value, and UTF-8 validation.
 * Inputs are prepared once, outside the timed loops; the per-value parsers walk an
 * array of pre-formatted strings. Google Benchmark prints bytes/s or items/s, and the
 * per-value benchmarks add an "ns/value" column: this thread's CPU time per value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/gen.h"
#include "assay/ndjson.h"
#include "assay/number.h"
#include "assay/utf8.h"
#include "bench.h"

#define ROWS 200000
#define NSTR (1u << 16) /* strings per number-parsing benchmark */

/* ---- NDJSON ------------------------------------------------------------------- */

static char *json;
static size_t json_len;

static void make_json(void)
{
    if (json)
        return;
    assay_gen_options o;
    assay_gen_options_default(&o);
    o.format = ASSAY_GEN_NDJSON;
    size_t cap = (size_t)ROWS * 600;
    json = malloc(cap);
    if (!json)
        abort();
    uint64_t done = 0;
    json_len = assay_gen_rows(&o, 0, ROWS, json, cap, &done);
    if (done != ROWS)
        abort();
}

static void ndjson_level(assay_bench_state *s, assay_simd_level level)
{
    make_json();
    if (level > assay_cpu_detect()) {
        assay_bench_label(s, "skipped: CPU lacks this level");
        while (assay_bench_next(s)) {
        }
        return;
    }
    static const char *const names[10] = { "order_id", "customer_id", "email",  "amount",
                                           "currency", "country",     "status", "created_at",
                                           "phone",    "note" };
    assay_ndjson_schema *schema = NULL;
    if (assay_ndjson_schema_new(names, 10, &schema))
        abort();
    uint8_t want[10] = { 1, 0, 1, 1, 1, 0, 0, 1, 0, 0 }; /* 5 of 10 columns */
    assay_rowset rs;
    if (assay_rowset_init(&rs, 10, want, 4096, 256))
        abort();
    int64_t bytes = 0, rows = 0;
    while (assay_bench_next(s)) {
        assay_cursor cur = { .buf = json, .len = json_len, .pos = 0, .ord = 0 };
        while (cur.pos < cur.len) {
            rs.nrows = rs.nbad = rs.nlines = 0;
            if (assay_ndjson_parse_level(NULL, schema, &cur, &rs, level))
                abort();
            rows += rs.nrows;
        }
        bytes += (int64_t)json_len;
    }
    assay_rowset_free(&rs);
    assay_ndjson_schema_free(schema);
    assay_bench_set_bytes(s, bytes);
    assay_bench_set_items(s, rows);
    /* any level above scalar selects the SSE2 string scan */
    assay_bench_label(s, level == ASSAY_SIMD_SCALAR ? "scalar (SWAR)" : "sse2");
}

ASSAY_BENCH(ndjson_parse_scalar)
{
    ndjson_level(s, ASSAY_SIMD_SCALAR);
}

ASSAY_BENCH(ndjson_parse_sse2)
{
    ndjson_level(s, ASSAY_SIMD_SSE42);
}

/* ---- typed field parsers ------------------------------------------------------ */

/* NSTR strings packed back to back; off[i], len[i] locate string i. */
typedef struct strs {
    char *buf;
    uint32_t off[NSTR];
    uint32_t len[NSTR];
    size_t bytes;
} strs;

typedef enum strs_kind {
    STR_I64,       /* random int64 of 1..19 digits, some negative */
    STR_F64_SHORT, /* "1234.56": 1-6 integer digits, 2 decimals */
    STR_F64_G17,   /* random doubles as %.17g */
    STR_TS_Z,      /* "2026-03-01T12:34:56Z" */
    STR_TS_FRAC,   /* "2026-03-01T12:34:56.123456+05:30" */
    STR_KIND_COUNT
} strs_kind;

static strs *strs_make(strs_kind kind)
{
    strs *t = calloc(1, sizeof(*t));
    if (!t || !(t->buf = malloc((size_t)NSTR * 40)))
        abort();
    size_t pos = 0;
    for (uint32_t i = 0; i < NSTR; i++) {
        uint64_t r = bench_mix64(0xa55a + i * 0x9e3779b97f4a7c15ull + (uint64_t)kind);
        char *p = t->buf + pos;
        int n = 0;
        switch (kind) {
        case STR_I64: {
            static const uint64_t pow10[] = { 10ull,
                                              100ull,
                                              1000ull,
                                              10000ull,
                                              100000ull,
                                              1000000ull,
                                              10000000ull,
                                              100000000ull,
                                              1000000000ull,
                                              10000000000ull,
                                              100000000000ull,
                                              1000000000000ull,
                                              10000000000000ull,
                                              100000000000000ull,
                                              1000000000000000ull,
                                              10000000000000000ull,
                                              100000000000000000ull,
                                              1000000000000000000ull };
            int64_t v = (int64_t)((r >> 8) % pow10[(r & 0xff) % 18]);
            n = sprintf(p, "%lld", (long long)((r & 0x100) ? -v : v));
            break;
        }
        case STR_F64_SHORT:
            n = sprintf(p, "%u.%02u", (unsigned)((r >> 8) % 1000000), (unsigned)(r % 100));
            break;
        case STR_F64_G17: {
            /* random bits, finite and spread over all exponents */
            double d;
            uint64_t bits = r;
            if (((bits >> 52) & 0x7ff) == 0x7ff)
                bits ^= (uint64_t)1 << 62;
            memcpy(&d, &bits, sizeof(d));
            n = sprintf(p, "%.17g", d);
            break;
        }
        case STR_TS_Z:
        case STR_TS_FRAC: {
            unsigned mon = 1 + (unsigned)(r % 12), day = 1 + (unsigned)((r >> 4) % 28);
            unsigned hh = (unsigned)((r >> 10) % 24), mm = (unsigned)((r >> 16) % 60);
            unsigned ss = (unsigned)((r >> 22) % 60), year = 2000 + (unsigned)((r >> 28) % 40);
            if (kind == STR_TS_Z)
                n = sprintf(p, "%04u-%02u-%02uT%02u:%02u:%02uZ", year, mon, day, hh, mm, ss);
            else
                n = sprintf(p, "%04u-%02u-%02uT%02u:%02u:%02u.%06u%c%02u:%02u", year, mon, day, hh,
                            mm, ss, (unsigned)((r >> 34) % 1000000), (r >> 60) & 1 ? '+' : '-',
                            (unsigned)((r >> 54) % 14), (r >> 58) & 1 ? 30u : 0u);
            break;
        }
        default:
            abort();
        }
        t->off[i] = (uint32_t)pos;
        t->len[i] = (uint32_t)n;
        pos += (size_t)n;
    }
    t->bytes = pos;
    return t;
}

static void strs_free(strs *t)
{
    free(t->buf);
    free(t);
}

static void parse_values(assay_bench_state *s, strs_kind kind)
{
    strs *t = strs_make(kind);
    /* every string must parse, or the benchmark measures the error path */
    for (uint32_t i = 0; i < NSTR; i++) {
        const char *p = t->buf + t->off[i];
        int64_t x;
        double d;
        int rc = kind == STR_I64 ? assay_parse_i64(p, t->len[i], &x)
                 : (kind == STR_F64_SHORT || kind == STR_F64_G17)
                     ? assay_parse_f64(p, t->len[i], &d)
                     : assay_parse_timestamp(p, t->len[i], &x);
        if (rc) {
            fprintf(stderr, "bench_parse: '%.*s' does not parse (%d)\n", (int)t->len[i], p, rc);
            abort();
        }
    }
    int64_t items = 0, bytes = 0;
    uint64_t sink = 0;
    double t0 = bench_cpu_ns();
    while (assay_bench_next(s)) {
        switch (kind) {
        case STR_I64:
            for (uint32_t i = 0; i < NSTR; i++) {
                int64_t x = 0;
                assay_parse_i64(t->buf + t->off[i], t->len[i], &x);
                sink += (uint64_t)x;
            }
            break;
        case STR_F64_SHORT:
        case STR_F64_G17:
            for (uint32_t i = 0; i < NSTR; i++) {
                double d = 0;
                assay_parse_f64(t->buf + t->off[i], t->len[i], &d);
                uint64_t b;
                memcpy(&b, &d, sizeof(b));
                sink += b;
            }
            break;
        default:
            for (uint32_t i = 0; i < NSTR; i++) {
                int64_t x = 0;
                assay_parse_timestamp(t->buf + t->off[i], t->len[i], &x);
                sink += (uint64_t)x;
            }
            break;
        }
        items += NSTR;
        bytes += (int64_t)t->bytes;
    }
    double ns = bench_cpu_ns() - t0;
    assay_bench_keep(&sink);
    assay_bench_set_items(s, items);
    assay_bench_set_bytes(s, bytes);
    if (items)
        assay_bench_counter(s, "ns/value", ns / (double)items);
    strs_free(t);
}

ASSAY_BENCH(parse_i64)
{
    parse_values(s, STR_I64);
}

ASSAY_BENCH(parse_f64_short)
{
    parse_values(s, STR_F64_SHORT);
}

ASSAY_BENCH(parse_f64_g17)
{
    parse_values(s, STR_F64_G17);
}

ASSAY_BENCH(parse_timestamp_z)
{
    parse_values(s, STR_TS_Z);
}

ASSAY_BENCH(parse_timestamp_frac_offset)
{
    parse_values(s, STR_TS_FRAC);
}

/* ---- UTF-8 validation --------------------------------------------------------- */

#define UTF8_BYTES (4u << 20)

/* ASCII text, or text where about one character in four is 2-, 3- or 4-byte UTF-8
 * (Latin accents, CJK, emoji): valid throughout, so the whole buffer is scanned. */
static char *make_text(bool mixed)
{
    static const char *const multi[] = { "\xc3\xa9",        "\xc3\xbc",     "\xd0\x96",
                                         "\xe4\xb8\xad",    "\xe6\x97\xa5", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80" };
    char *t = malloc(UTF8_BYTES);
    if (!t)
        abort();
    size_t pos = 0;
    uint64_t i = 0;
    while (pos < UTF8_BYTES) {
        uint64_t r = bench_mix64(++i);
        const char *piece;
        char one[2] = { (char)(' ' + r % 95), 0 };
        piece = (mixed && (r >> 8) % 4 == 0) ? multi[(r >> 16) % 7] : one;
        size_t l = strlen(piece);
        if (pos + l > UTF8_BYTES) {
            memset(t + pos, 'x', UTF8_BYTES - pos);
            break;
        }
        memcpy(t + pos, piece, l);
        pos += l;
    }
    return t;
}

static void utf8_check(assay_bench_state *s, bool mixed)
{
    char *t = make_text(mixed);
    if (assay_utf8_check(t, UTF8_BYTES) != UTF8_BYTES)
        abort();
    int64_t bytes = 0;
    size_t sink = 0;
    while (assay_bench_next(s)) {
        sink += assay_utf8_check(t, UTF8_BYTES);
        bytes += UTF8_BYTES;
    }
    assay_bench_keep(&sink);
    assay_bench_set_bytes(s, bytes);
    free(t);
}

ASSAY_BENCH(utf8_check_ascii)
{
    utf8_check(s, false);
}

ASSAY_BENCH(utf8_check_mixed)
{
    utf8_check(s, true);
}
