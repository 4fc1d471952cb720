/* Rule kernels: each check through assay_rule_eval over one batch of 4096 rows, as
 * the engine's shards call it (a column view with null/invalid bitmaps and a typed
 * vector or value text, an all-rows `ok` mask). About 2% of rows are null and 1% are
 * not of the column's type. `matches` includes the Hyperscan scan that fills the
 * view's match bitmap (assay_regex_match_batch), since that is where its time goes;
 * the rule itself only combines bitmaps. Items are rows; "ns/row" is this thread's
 * CPU time per row (pauses excluded), matching Google Benchmark's CPU column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/bitmap.h"
#include "assay/regex.h"
#include "bench.h"
#include "rules/rules.h"

#define N      4096
#define WORDS  ASSAY_BITMAP_WORDS(N)
#define NOW_US 1772368496000000ll /* 2026-03-01T12:34:56Z */
#define DAY_US 86400000000ll

/* CPU-time clock of the timed sections, leaving out paused stretches. */
typedef struct clk {
    double start, total;
} clk;

static void clk_pause(assay_bench_state *s, clk *c)
{
    c->total += bench_cpu_ns() - c->start;
    assay_bench_pause(s);
}

static void clk_resume(assay_bench_state *s, clk *c)
{
    assay_bench_resume(s);
    c->start = bench_cpu_ns();
}

/* Stop the clock and report rows/s and the time per row it measured. */
static void clk_report(assay_bench_state *s, clk *c, int64_t rows)
{
    c->total += bench_cpu_ns() - c->start;
    assay_bench_set_items(s, rows);
    if (rows)
        assay_bench_counter(s, "ns/row", c->total / (double)rows);
}

/* One batch: bitmaps, typed vectors and value text for N rows. */
typedef struct batch {
    uint64_t null[WORDS], invalid[WORDS], ok[WORDS], fail[WORDS], eval[WORDS];
    uint64_t pos[N];
    int64_t i64[N];
    double f64[N];
    const char *str[N];
    uint32_t len[N];
    char text[N * 160]; /* backing store for str */
    size_t text_used;
} batch;

static batch *batch_new(void)
{
    batch *b = calloc(1, sizeof(*b));
    if (!b)
        abort();
    for (uint32_t i = 0; i < N; i++) {
        uint64_t r = bench_mix64(0xb00c + i);
        if (r % 100 < 2)
            assay_bit_set(b->null, i);
        else if (r % 100 < 3)
            assay_bit_set(b->invalid, i);
        b->pos[i] = i;
        b->str[i] = "";
    }
    memset(b->ok, 0xff, sizeof(b->ok));
    return b;
}

static void batch_put(batch *b, uint32_t i, const char *fmt_val)
{
    size_t l = strlen(fmt_val);
    if (b->text_used + l > sizeof(b->text))
        abort();
    memcpy(b->text + b->text_used, fmt_val, l);
    b->str[i] = b->text + b->text_used;
    b->len[i] = (uint32_t)l;
    b->text_used += l;
}

static assay_col_view batch_view(const batch *b, assay_type type)
{
    assay_col_view v = { .n = N,
                         .type = type,
                         .null = b->null,
                         .invalid = b->invalid,
                         .i64 = b->i64,
                         .f64 = b->f64,
                         .str = b->str,
                         .len = b->len };
    return v;
}

static assay_rule_config rule_config(assay_check check)
{
    assay_rule_config c;
    memset(&c, 0, sizeof(c));
    c.name = (char *)"bench_rule";
    c.column = (char *)"col";
    c.check = check;
    c.min_inclusive = c.max_inclusive = true;
    return c;
}

static void compile(const assay_rule_config *c, assay_type type, assay_rule *r)
{
    assay_error err = { 0 };
    if (assay_rule_compile(c, 0, type, r, "bench.yaml", &err)) {
        fprintf(stderr, "bench_rules: %s\n", err.msg);
        abort();
    }
}

/* Evaluate r over b until the benchmark stops; report rows and ns/row. */
static void run_eval(assay_bench_state *s, const assay_rule *r, const assay_col_view *v, batch *b)
{
    int64_t rows = 0;
    clk c = { bench_cpu_ns(), 0 };
    while (assay_bench_next(s)) {
        assay_rule_eval(r, v, b->ok, NOW_US, b->fail, b->eval);
        assay_bench_keep(b->fail);
        rows += N;
    }
    c.total += bench_cpu_ns() - c.start;
    assay_bench_set_items(s, rows);
    if (rows)
        assay_bench_counter(s, "ns/row", c.total / (double)rows);
    char label[64];
    snprintf(label, sizeof(label), "%.1f%% fail",
             100.0 * (double)assay_bitmap_count(b->fail, N) / N);
    assay_bench_label(s, label);
}

/* Rules with no per-shard state. */
static void run_simple(assay_bench_state *s, const assay_rule_config *c, assay_type type, batch *b)
{
    assay_rule r;
    compile(c, type, &r);
    assay_col_view v = batch_view(b, type);
    run_eval(s, &r, &v, b);
    assay_rule_free(&r);
}

/* ---- bitmap-only and typed rules ---------------------------------------------- */

/* int column: amounts in cents, about 3% negative */
static batch *int_batch(void)
{
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++) {
        uint64_t r = bench_mix64(0x1e7 + i);
        b->i64[i] = (int64_t)(r % 200000) - (r % 100 < 3 ? 300000 : 0);
    }
    return b;
}

ASSAY_BENCH(rule_not_null)
{
    batch *b = int_batch();
    assay_rule_config c = rule_config(ASSAY_CHECK_NOT_NULL);
    run_simple(s, &c, ASSAY_TYPE_INT, b);
    free(b);
}

ASSAY_BENCH(rule_type)
{
    batch *b = int_batch();
    assay_rule_config c = rule_config(ASSAY_CHECK_TYPE);
    run_simple(s, &c, ASSAY_TYPE_INT, b);
    free(b);
}

ASSAY_BENCH(rule_in_range_int)
{
    batch *b = int_batch();
    assay_rule_config c = rule_config(ASSAY_CHECK_IN_RANGE);
    c.has_min = c.has_max = true;
    c.min_text = (char *)"0";
    c.max_text = (char *)"150000";
    c.min = 0;
    c.max = 150000;
    run_simple(s, &c, ASSAY_TYPE_INT, b);
    free(b);
}

ASSAY_BENCH(rule_in_range_float)
{
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++) {
        uint64_t r = bench_mix64(0xf10a + i);
        b->f64[i] = (double)(r % 1000000) / 100.0 - (r % 100 < 3 ? 20000.0 : 0.0);
    }
    assay_rule_config c = rule_config(ASSAY_CHECK_IN_RANGE);
    c.has_min = c.has_max = true;
    c.min_text = (char *)"0";
    c.max_text = (char *)"9000.5";
    c.min = 0;
    c.max = 9000.5;
    run_simple(s, &c, ASSAY_TYPE_FLOAT, b);
    free(b);
}

ASSAY_BENCH(rule_freshness)
{
    /* created_at over the last 30 hours; max_age 1 day fails about a fifth */
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++)
        b->i64[i] = NOW_US - (int64_t)(bench_mix64(0xf4e5 + i) % (uint64_t)(DAY_US / 4 * 5));
    assay_rule_config c = rule_config(ASSAY_CHECK_FRESHNESS);
    c.max_age_us = DAY_US;
    run_simple(s, &c, ASSAY_TYPE_TIMESTAMP, b);
    free(b);
}

/* ---- text rules ----------------------------------------------------------------- */

ASSAY_BENCH(rule_in_set_small)
{
    /* 4 allowed currencies; the data has those (weighted) plus others and bad ones */
    static const char *const data[] = { "USD", "USD", "USD", "EUR", "EUR",  "GBP", "JPY",
                                        "CAD", "AUD", "CHF", "usd", "EURO", "US$" };
    static const char *const allowed[] = { "USD", "EUR", "GBP", "JPY" };
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++)
        batch_put(b, i, data[bench_mix64(0xc0 + i) % ASSAY_ARRAY_LEN(data)]);
    assay_rule_config c = rule_config(ASSAY_CHECK_IN_SET);
    c.values = (char **)allowed;
    c.nvalues = ASSAY_ARRAY_LEN(allowed);
    run_simple(s, &c, ASSAY_TYPE_STRING, b);
    free(b);
}

ASSAY_BENCH(rule_in_set_hashed)
{
    /* 40 allowed values (more than ASSAY_SMALL_SET_MAX: the hash-set path); the data
     * draws from 44, so about 9% fail */
    char vals[44][24];
    char *allowed[40];
    for (int k = 0; k < 44; k++) {
        snprintf(vals[k], sizeof(vals[k]), "warehouse-%02d", k);
        if (k < 40)
            allowed[k] = vals[k];
    }
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++)
        batch_put(b, i, vals[bench_mix64(0x5e7 + i) % 44]);
    assay_rule_config c = rule_config(ASSAY_CHECK_IN_SET);
    c.values = allowed;
    c.nvalues = 40;
    assay_rule r;
    compile(&c, ASSAY_TYPE_STRING, &r);
    if (r.nsmall)
        abort(); /* must take the hashed path */
    assay_rule_free(&r);
    run_simple(s, &c, ASSAY_TYPE_STRING, b);
    free(b);
}

ASSAY_BENCH(rule_length)
{
    /* notes of 0-120 characters, a quarter with multi-byte UTF-8; length 1..100 */
    static const char *const pieces[] = { "a", "b", "e", " ", "x", "\xc3\xa9", "\xe4\xb8\xad" };
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++) {
        uint64_t r = bench_mix64(0x1e6 + i);
        char buf[400];
        size_t l = 0;
        unsigned chars = (unsigned)(r % 121);
        bool multi = (r >> 8) % 4 == 0;
        for (unsigned k = 0; k < chars; k++) {
            const char *p = pieces[bench_mix64(r + k) % (multi ? 7 : 5)];
            size_t pl = strlen(p);
            memcpy(buf + l, p, pl);
            l += pl;
        }
        buf[l] = 0;
        batch_put(b, i, buf);
    }
    assay_rule_config c = rule_config(ASSAY_CHECK_LENGTH);
    c.has_min_length = c.has_max_length = true;
    c.min_length = 1;
    c.max_length = 100;
    run_simple(s, &c, ASSAY_TYPE_STRING, b);
    free(b);
}

/* Realistic emails, about 8% malformed (no @, spaces, no dot in the domain, empty
 * local part, doubled dot). */
static void email_batch(batch *b)
{
    static const char *const first[] = { "anna",  "ben",  "chloe", "dmitri", "emma", "farid",
                                         "grace", "hiro", "ines",  "jon",    "kofi", "lena" };
    static const char *const last[] = { "smith",  "garcia", "muller", "rossi",    "tanaka",
                                        "okafor", "nguyen", "dubois", "kowalski", "silva" };
    static const char *const dom[] = { "gmail.com",   "yahoo.co.uk",       "outlook.com",
                                       "example.org", "mail.company-x.de", "proton.me",
                                       "icloud.com" };
    for (uint32_t i = 0; i < N; i++) {
        uint64_t r = bench_mix64(0xe3a1 + i);
        const char *f = first[r % 12], *l = last[(r >> 8) % 10], *d = dom[(r >> 16) % 7];
        unsigned num = (unsigned)((r >> 24) % 1000);
        char buf[96];
        switch ((r >> 40) % 100) {
        case 0:
        case 1:
            snprintf(buf, sizeof(buf), "%s.%s%u%s", f, l, num, d); /* no @ */
            break;
        case 2:
        case 3:
            snprintf(buf, sizeof(buf), "%s %s@%s", f, l, d); /* space */
            break;
        case 4:
            snprintf(buf, sizeof(buf), "%s@localhost", f); /* no dot in the domain */
            break;
        case 5:
        case 6:
            snprintf(buf, sizeof(buf), "@%s", d); /* empty local part */
            break;
        case 7:
            snprintf(buf, sizeof(buf), "%s..%s@%s", f, l, d); /* doubled dot */
            break;
        default:
            if ((r >> 48) & 1)
                snprintf(buf, sizeof(buf), "%s.%s%u@%s", f, l, num, d);
            else
                snprintf(buf, sizeof(buf), "%s_%c%s+news@%s", f, l[0], l + 1, d);
            break;
        }
        batch_put(b, i, buf);
    }
}

/* matches(format: email): Hyperscan scan into the match bitmap, then the rule.
 * Argument: 0 = AUTO strategy, 1 = per value, 2 = joined. */
ASSAY_BENCH_ARGS(rule_matches_email, 0, 1, 2)
{
    static const char *const strat_name[] = { "auto", "per-value", "joined" };
    int strat = (int)assay_bench_arg(s, 0);
    batch *b = batch_new();
    email_batch(b);
    const char *pattern = NULL;
    if (assay_format_pattern("email", &pattern))
        abort();
    assay_regex_db *db = NULL;
    assay_regex_scratch *scratch = NULL;
    assay_error err = { 0 };
    if (assay_regex_compile(&pattern, 1, &db, &err)) {
        fprintf(stderr, "bench_rules: %s\n", err.msg);
        abort();
    }
    if (assay_regex_scratch_new(db, &scratch))
        abort();
    assay_regex_scratch_set_strategy(scratch, strat == 1   ? ASSAY_REGEX_PER_VALUE
                                              : strat == 2 ? ASSAY_REGEX_JOINED
                                                           : ASSAY_REGEX_AUTO);
    uint64_t match[WORDS];
    uint64_t *matchv[1] = { match };
    assay_rule_config c = rule_config(ASSAY_CHECK_MATCHES);
    c.format = (char *)"email";
    assay_rule r;
    compile(&c, ASSAY_TYPE_STRING, &r);
    r.regex_id = 0; /* the engine assigns the pattern's index in the column's db */
    assay_col_view v = batch_view(b, ASSAY_TYPE_STRING);
    v.match = matchv;
    int64_t rows = 0;
    clk ck = { bench_cpu_ns(), 0 };
    while (assay_bench_next(s)) {
        if (assay_regex_match_batch(db, scratch, b->str, b->len, b->null, N, matchv))
            abort();
        assay_rule_eval(&r, &v, b->ok, NOW_US, b->fail, b->eval);
        assay_bench_keep(b->fail);
        rows += N;
    }
    clk_report(s, &ck, rows);
    char label[64];
    snprintf(label, sizeof(label), "%s, %.1f%% fail", strat_name[strat],
             100.0 * (double)assay_bitmap_count(b->fail, N) / N);
    assay_bench_label(s, label);
    assay_rule_free(&r);
    assay_regex_scratch_free(scratch);
    assay_regex_free(db);
    free(b);
}

/* ---- unique --------------------------------------------------------------------- */

#define POOL_BATCHES 256 /* 1M distinct order ids per unique-set lifetime */

/* unique as the pipeline does it: the shard hashes each value (assay_hash_bytes) and
 * the aggregator inserts the batch's hashes into the window's set in stream order
 * (assay_hashset_insert_batch); a repeat is an insert that finds its key. */
static void unique_batch(assay_hashset *set, const char *const *str, const uint32_t *len,
                         uint64_t base, uint64_t *h, uint64_t *pos, int8_t *res)
{
    for (uint32_t i = 0; i < N; i++) {
        h[i] = assay_hash_bytes(str[i], len[i]);
        pos[i] = base + i;
    }
    assay_hashset_insert_batch(set, h, pos, N, res);
}

/* unique over fresh values: every batch brings 4096 ids never seen before, so each
 * row is an insert of a new key. The set grows as a window's set does and is rebuilt,
 * untimed, when the pool is used up. */
ASSAY_BENCH(rule_unique_fresh)
{
    size_t total = (size_t)POOL_BATCHES * N;
    char *text = malloc(total * 16);
    const char **str = malloc(total * sizeof(*str));
    uint32_t *len = malloc(total * sizeof(*len));
    uint64_t *h = malloc(N * sizeof(*h)), *pos = malloc(N * sizeof(*pos));
    int8_t *res = malloc(N);
    if (!text || !str || !len || !h || !pos || !res)
        abort();
    for (size_t i = 0; i < total; i++) {
        snprintf(text + i * 16, 16, "ORD-%010llu", 7000000000ull + (unsigned long long)i * 7);
        str[i] = text + i * 16;
        len[i] = 14;
    }
    assay_hashset *set = NULL;
    if (assay_hashset_new(&set, 1024, 0))
        abort();
    int64_t rows = 0;
    size_t k = 0;
    clk ck = { bench_cpu_ns(), 0 };
    while (assay_bench_next(s)) {
        if (k == POOL_BATCHES) {
            clk_pause(s, &ck);
            assay_hashset_free(set);
            if (assay_hashset_new(&set, 1024, 0))
                abort();
            k = 0;
            clk_resume(s, &ck);
        }
        unique_batch(set, str + k * N, len + k * N, k * N, h, pos, res);
        assay_bench_keep(res);
        k++;
        rows += N;
    }
    clk_report(s, &ck, rows);
    assay_hashset_free(set);
    free(text);
    free(str);
    free(len);
    free(h);
    free(pos);
    free(res);
}

/* unique over repeated values: the same 4096 ids again and again after a first,
 * untimed pass, so every checked row is a lookup that finds its key (and fails). */
ASSAY_BENCH(rule_unique_repeated)
{
    batch *b = batch_new();
    for (uint32_t i = 0; i < N; i++) {
        char buf[24];
        snprintf(buf, sizeof(buf), "ORD-%010llu", 7000000000ull + (unsigned long long)i * 7);
        batch_put(b, i, buf);
    }
    uint64_t *h = malloc(N * sizeof(*h)), *pos = malloc(N * sizeof(*pos));
    int8_t *res = malloc(N);
    assay_hashset *set = NULL;
    if (!h || !pos || !res || assay_hashset_new(&set, 1024, 0))
        abort();
    unique_batch(set, b->str, b->len, 0, h, pos, res); /* first sight */
    int64_t rows = 0;
    clk ck = { bench_cpu_ns(), 0 };
    while (assay_bench_next(s)) {
        unique_batch(set, b->str, b->len, 0, h, pos, res);
        assay_bench_keep(res);
        rows += N;
    }
    clk_report(s, &ck, rows);
    assay_hashset_free(set);
    free(h);
    free(pos);
    free(res);
    free(b);
}
