/* Cross-field rules: the five examples of docs/expressions.md through the compiled
 * plan (assay_expr_eval) over batches of 4096 rows of orders-like columns, each timed
 * over 10M rows next to an in_range rule on one float column over the same rows, as
 * the engine's shards run them (column views with ~2% nulls and ~1% invalid values
 * per typed column, an all-rows `ok` mask). Counters: ns/row of the expression, of
 * in_range, and their ratio (the goal: each within 2x). CPU time of this
 * thread. Numbers only: nothing here fails on time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/bitmap.h"
#include "assay/expr.h"
#include "bench.h"
#include "rules/expr_internal.h"
#include "rules/rules.h"

#define N     4096
#define WORDS ASSAY_BITMAP_WORDS(N)
#define ROWS  10000000ll
#define NCOL  9

enum { C_CREATED, C_SHIPPED, C_TOTAL, C_QTY, C_PRICE, C_STATUS, C_COUNTRY, C_ZIP, C_CURRENCY };
static const char *const names[NCOL] = { "created_at", "shipped_at", "total",
                                         "quantity",   "unit_price", "status",
                                         "country",    "zip",        "currency" };
static const assay_type types[NCOL] = { ASSAY_TYPE_TIMESTAMP, ASSAY_TYPE_TIMESTAMP,
                                        ASSAY_TYPE_FLOAT,     ASSAY_TYPE_INT,
                                        ASSAY_TYPE_FLOAT,     ASSAY_TYPE_STRING,
                                        ASSAY_TYPE_STRING,    ASSAY_TYPE_STRING,
                                        ASSAY_TYPE_STRING };

static const char *const examples[] = {
    "shipped_at >= created_at",
    "abs(total - quantity * unit_price) < 0.01",
    "status != 'shipped' or shipped_at is not null",
    "country != 'US' or len(zip) = 5",
    "currency in ['USD','EUR']",
    /* parts of the above, to see where the time goes */
    "len(zip) = 5",
    "country != 'US'",
    "currency = 'USD'",
};

typedef struct cols {
    uint64_t null[NCOL][WORDS], invalid[NCOL][WORDS], ok[WORDS], fail[WORDS], eval[WORDS];
    int64_t i64[NCOL][N];
    double f64[NCOL][N];
    const char *str[NCOL][N];
    uint32_t len[NCOL][N];
    char text[N * 64]; /* the values, one after another, as in an input chunk */
    size_t used;
} cols;

static const char *pick(const char *const *v, size_t n, uint64_t r)
{
    return v[r % n];
}

static cols *make_cols(void)
{
    static const char *const status[] = { "pending",   "paid",      "paid",      "shipped",
                                          "shipped",   "delivered", "delivered", "delivered",
                                          "delivered", "cancelled" };
    static const char *const country[] = { "US", "US", "US", "GB", "DE",
                                           "FR", "CA", "JP", "AU", "IN" };
    static const char *const zip[] = { "02134", "94110", "1234", "SW1A 1AA", "10115", "75001" };
    static const char *const cur[] = {
        "USD", "USD", "USD", "USD", "EUR", "EUR", "EUR", "GBP", "JPY"
    };
    cols *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    for (uint32_t i = 0; i < N; i++) {
        for (int k = 0; k < NCOL; k++) {
            uint64_t r = bench_splitmix64(((uint64_t)k << 32) + i);
            if (r % 100 < 2)
                assay_bit_set(c->null[k], i);
            else if (types[k] != ASSAY_TYPE_STRING && r % 100 < 3)
                assay_bit_set(c->invalid[k], i);
            c->str[k][i] = "";
        }
        uint64_t r = bench_splitmix64(0xe4e + i);
        int64_t t = 1767225600000000ll + (int64_t)i * 1000000;
        c->i64[C_CREATED][i] = t;
        c->i64[C_SHIPPED][i] = t + (r % 100 < 2 ? -3600000000ll : 86400000000ll);
        int64_t q = 1 + (int64_t)(r % 10);
        double price = (double)(100 + (r >> 8) % 19901) / 100;
        c->i64[C_QTY][i] = q;
        c->f64[C_PRICE][i] = price;
        c->f64[C_TOTAL][i] = (r >> 40) % 100 == 0 ? (double)q * price + 1 : (double)q * price;
        c->str[C_STATUS][i] = pick(status, 10, r >> 3);
        c->str[C_COUNTRY][i] = pick(country, 10, r >> 13);
        c->str[C_ZIP][i] = pick(zip, 6, r >> 23);
        c->str[C_CURRENCY][i] = pick(cur, 9, r >> 33);
        for (int k = C_STATUS; k <= C_CURRENCY; k++) {
            size_t l = strlen(c->str[k][i]);
            memcpy(c->text + c->used, c->str[k][i], l);
            c->str[k][i] = c->text + c->used;
            c->len[k][i] = (uint32_t)l;
            c->used += l + 1; /* a delimiter */
        }
    }
    memset(c->ok, 0xff, sizeof(c->ok));
    return c;
}

static assay_col_view view(cols *c, int k)
{
    return (assay_col_view){ .n = N,
                             .type = types[k],
                             .null = c->null[k],
                             .invalid = c->invalid[k],
                             .i64 = c->i64[k],
                             .f64 = c->f64[k],
                             .str = c->str[k],
                             .len = c->len[k],
                             .text_lo = c->text,
                             .text_hi = c->text + sizeof(c->text) };
}

/* ns per row of in_range (total in [0, 10000]) over ROWS rows */
static double in_range_ns(cols *c)
{
    assay_rule_config rc;
    memset(&rc, 0, sizeof(rc));
    rc.name = (char *)"total_in_range";
    rc.column = (char *)"total";
    rc.check = ASSAY_CHECK_IN_RANGE;
    rc.has_min = rc.has_max = rc.min_inclusive = rc.max_inclusive = true;
    rc.min_text = (char *)"0";
    rc.max_text = (char *)"10000";
    rc.max = 10000;
    assay_rule r;
    assay_error err = { 0 };
    if (assay_rule_compile(&rc, C_TOTAL, ASSAY_TYPE_FLOAT, &r, "bench", &err))
        abort();
    assay_col_view v = view(c, C_TOTAL);
    double t0 = bench_cpu_ns();
    for (int64_t rows = 0; rows < ROWS; rows += N) {
        assay_rule_eval(&r, &v, c->ok, 0, c->fail, c->eval);
        assay_bench_keep(c->fail);
    }
    double ns = (bench_cpu_ns() - t0) / (double)ROWS;
    assay_rule_free(&r);
    return ns;
}

ASSAY_BENCH_ARGS(expr_examples, 0, 1, 2, 3, 4, 5, 6, 7)
{
    const char *text = examples[assay_bench_arg(s, 0)];
    cols *c = make_cols();
    assay_expr *x = NULL;
    assay_error err = { 0 };
    if (assay_expr_compile(text, names, types, NCOL, NULL, &x, &err)) {
        fprintf(stderr, "bench_expr: %s\n", err.msg);
        abort();
    }
    assay_col_view v[NCOL];
    for (size_t k = 0; k < assay_expr_ncols(x); k++)
        v[k] = view(c, assay_expr_col(x, k));
    assay_expr_scratch *sc = NULL;
    if (assay_expr_scratch_new(x, N, &sc))
        abort();
    double expr_ns = 0, range_ns = 0;
    int64_t rows = 0;
    while (assay_bench_next(s)) {
        range_ns = in_range_ns(c);
        double t0 = bench_cpu_ns();
        for (int64_t r = 0; r < ROWS; r += N) {
            if (assay_expr_eval(x, sc, v, N, c->ok, c->fail, c->eval))
                abort();
            assay_bench_keep(c->fail);
        }
        expr_ns = (bench_cpu_ns() - t0) / (double)ROWS;
        rows += ROWS;
    }
    assay_bench_set_items(s, rows);
    assay_bench_counter(s, "ns/row", expr_ns);
    assay_bench_counter(s, "in_range_ns/row", range_ns);
    assay_bench_counter(s, "ratio", range_ns > 0 ? expr_ns / range_ns : 0);
    char label[96];
    snprintf(label, sizeof(label), "%s (%.1f%% fail)", text,
             100.0 * (double)assay_bitmap_count(c->fail, N) / N);
    assay_bench_label(s, label);
    assay_expr_scratch_free(sc);
    assay_expr_free(x);
    free(c);
}
