/*
 * The expression language: parser and type checker (good and bad expressions, the
 * exact message and caret of each error), and the vector kernels against a scalar
 * reference evaluator written here, row by row over the tree, on random columns with
 * nulls and values that are not of their column's type.
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

#include "assay/bitmap.h"
#include "assay/expr.h"
#include "rules/expr_internal.h"
#include "test_rng.h"

/* The schema every test compiles against. */
static const char *const names[] = { "total",      "quantity", "unit_price", "created_at",
                                     "shipped_at", "status",   "country",    "zip",
                                     "currency",   "paid",     "note",       "weird name" };
static const assay_type types[] = { ASSAY_TYPE_FLOAT,     ASSAY_TYPE_INT,       ASSAY_TYPE_FLOAT,
                                    ASSAY_TYPE_TIMESTAMP, ASSAY_TYPE_TIMESTAMP, ASSAY_TYPE_STRING,
                                    ASSAY_TYPE_STRING,    ASSAY_TYPE_STRING,    ASSAY_TYPE_STRING,
                                    ASSAY_TYPE_BOOL,      ASSAY_TYPE_STRING,    ASSAY_TYPE_INT };
#define NCOLS 12

static int compile(const char *text, assay_expr **x, assay_error *err)
{
    assay_expr_source src = { .file = "t.yaml", .key = "rules.r.expr", .line = 3, .col = 11 };
    memset(err, 0, sizeof(*err));
    return assay_expr_compile(text, names, types, NCOLS, &src, x, err);
}

static void test_good(void **state)
{
    (void)state;
    static const char *const good[] = {
        "shipped_at >= created_at",
        "abs(total - quantity * unit_price) < 0.01",
        "status != 'shipped' or shipped_at is not null",
        "country != 'US' or len(zip) = 5",
        "currency in ['USD','EUR']",
        "shipped_at - created_at <= 30d",
        "shipped_at - created_at < duration '1h30m'",
        "created_at >= '2024-01-01T00:00:00Z'",
        "created_at >= timestamp '2024-01-01'",
        "coalesce(shipped_at, created_at) >= created_at",
        "not (status = 'x') and paid = true",
        "paid or paid is null",
        "lower(status) = 'shipped' and upper(country) in ['US', 'CA']",
        "starts_with(zip, '9') or ends_with(zip, '0') or contains(note, 'gift')",
        "matches(zip, '^[0-9]{5}$')",
        "\"weird name\" > 3 and `weird name` < 10",
        "total / quantity >= 0 and -total <= 0 and +total = total",
        "quantity not in [1, 2, -3]",
        "status IS NULL OR status <> ''",
        "created_at + 1h > created_at and 1h + created_at > created_at",
        "len(quantity) <= 3",
        "1.5e3 > total",
        "abs(shipped_at - created_at) < 2d",
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(good); i++) {
        assay_expr *x = NULL;
        assay_error err;
        int rc = compile(good[i], &x, &err);
        if (rc != 0)
            print_error("%s: %s\n", good[i], err.msg);
        assert_int_equal(rc, 0);
        assert_non_null(x);
        assert_true(assay_expr_ninstr(x) > 0);
        assay_expr_free(x);
    }
}

typedef struct bad_case {
    const char *text;
    const char *msg; /* the whole message */
} bad_case;

static void test_bad(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        { "shipped_at >= 'soon'",
          "t.yaml:3:25: rules.r.expr: cannot compare timestamp with string\n"
          "    shipped_at >= 'soon'\n"
          "                  ^~~~~~" },
        { "shipped_at >= status",
          "t.yaml:3:22: rules.r.expr: cannot compare timestamp with string\n"
          "    shipped_at >= status\n"
          "               ^~" },
        { "total + status > 1", "t.yaml:3:17: rules.r.expr: cannot add number and string\n"
                                "    total + status > 1\n"
                                "          ^" },
        { "totl > 1",
          "t.yaml:3:11: rules.r.expr: no column 'totl' in the data (did you mean 'total'?)\n"
          "    totl > 1\n"
          "    ^~~~" },
        { "total > ", "t.yaml:3:19: rules.r.expr: expected a value, found the end of the "
                      "expression\n    total > \n            ^" },
        { "total = null",
          "t.yaml:3:17: rules.r.expr: '= null' is null for every row; write 'is null'\n"
          "    total = null\n"
          "          ^" },
        { "total", "t.yaml:3:11: rules.r.expr: a check must be true or false, but this is a "
                   "number\n    total\n    ^~~~~" },
        { "abss(total) > 1",
          "t.yaml:3:11: rules.r.expr: unknown function 'abss' (did you mean 'abs'?)\n"
          "    abss(total) > 1\n"
          "    ^~~~" },
        { "total < 1 < 2",
          "t.yaml:3:21: rules.r.expr: comparisons do not chain: write 'a < b and b < c' instead "
          "of 'a < b < c'\n    total < 1 < 2\n              ^" },
        { "status = 'abc", "t.yaml:3:20: rules.r.expr: unterminated string (missing ')\n"
                           "    status = 'abc\n             ^~~~" },
        { "len(total, 1) > 0", "t.yaml:3:11: rules.r.expr: len() takes 1 argument, got 2\n"
                               "    len(total, 1) > 0\n    ^~~~~~~~~~~~~" },
        { "currency in [status]", "t.yaml:3:24: rules.r.expr: in [...] takes literals only\n"
                                  "    currency in [status]\n                 ^~~~~~" },
        { "quantity in ['a']", "t.yaml:3:24: rules.r.expr: cannot compare number with string\n"
                               "    quantity in ['a']\n                 ^~~" },
        { "1 = 1", "t.yaml:3:11: rules.r.expr: the expression reads no column\n"
                   "    1 = 1\n    ^~~~~" },
        { "paid < true", "t.yaml:3:16: rules.r.expr: bools compare only with = and !=\n"
                         "    paid < true\n         ^" },
        { "total > 1 total",
          "t.yaml:3:21: rules.r.expr: unexpected 'total' after a complete "
          "expression (missing and/or?)\n    total > 1 total\n              ^~~~~" },
        { "created_at * 2 > 0", "t.yaml:3:22: rules.r.expr: cannot multiply timestamp and number\n"
                                "    created_at * 2 > 0\n               ^" },
        { "total > 5x", "t.yaml:3:19: rules.r.expr: '5x' is neither a number nor a duration "
                        "(durations look like 500ms, 30s, 10m, 2h, 1d, 1h30m)\n"
                        "    total > 5x\n            ^~" },
        { "starts_with(zip, zip)", "t.yaml:3:28: rules.r.expr: starts_with() takes a 'string' "
                                   "literal as its second argument\n"
                                   "    starts_with(zip, zip)\n                     ^~~" },
        { "not total", "t.yaml:3:15: rules.r.expr: not needs true or false, but this is a number\n"
                       "    not total\n        ^~~~~" },
        { "total ! 1", "t.yaml:3:17: rules.r.expr: unexpected '!' (write != or not)\n"
                       "    total ! 1\n          ^" },
        { "", "t.yaml:3:11: rules.r.expr: empty expression\n    \n    ^" },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(bad); i++) {
        assay_expr *x = NULL;
        assay_error err;
        int rc = compile(bad[i].text, &x, &err);
        assert_int_equal(rc, -EINVAL);
        assert_null(x);
        if (strcmp(err.msg, bad[i].msg) != 0)
            print_error("expression: %s\n got:\n%s\n want:\n%s\n", bad[i].text, err.msg,
                        bad[i].msg);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

static void test_depth(void **state)
{
    (void)state;
    char buf[2000];
    size_t o = 0;
    for (int i = 0; i < 500; i++)
        buf[o++] = '(';
    strcpy(buf + o, "total > 1");
    assay_expr *x = NULL;
    assay_error err;
    assert_int_equal(compile(buf, &x, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    /* a long expression shows a window around the part at fault */
    char lng[1000];
    o = 0;
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(lng + o, "total > %d and ", i);
    strcpy(lng + o, "total > 'x'");
    assert_int_equal(compile(lng, &x, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "cannot compare number with string\n    ..."));
    assert_non_null(strstr(err.msg, "total > 'x'\n"));
}

/* ---------------------------------------------------------------- reference */

#define N 1000

typedef struct rval {
    bool null;
    double f;
    int64_t i;
    const char *s;
    uint32_t l;
    bool b;
} rval;

typedef struct table {
    uint64_t null[NCOLS][N / 64 + 1], invalid[NCOLS][N / 64 + 1];
    int64_t i64[NCOLS][N];
    double f64[NCOLS][N];
    const char *str[NCOLS][N];
    uint32_t len[NCOLS][N];
    char text[NCOLS][N][24];
    char buf[NCOLS * N * 40]; /* every value copied, one after another (an input chunk) */
} table;

static bool tnull(const table *t, int c, size_t i)
{
    return assay_bit_get(t->null[c], i);
}

static bool tinvalid(const table *t, int c, size_t i)
{
    return assay_bit_get(t->invalid[c], i);
}

static rval ref(const assay_expr *x, const table *t, const xnode *n, size_t row);

static int sgn_cmp(const char *a, uint32_t la, const char *b, uint32_t lb)
{
    uint32_t m = la < lb ? la : lb;
    for (uint32_t k = 0; k < m; k++)
        if (a[k] != b[k])
            return (unsigned char)a[k] < (unsigned char)b[k] ? -1 : 1;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

static bool cmp_result(int op, int c)
{
    switch (op) {
    case XO_EQ:
        return c == 0;
    case XO_NE:
        return c != 0;
    case XO_LT:
        return c < 0;
    case XO_LE:
        return c <= 0;
    case XO_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static rval ref(const assay_expr *x, const table *t, const xnode *n, size_t row)
{
    rval v = { 0 };
    switch (n->kind) {
    case XN_NUM:
        v.f = n->num;
        return v;
    case XN_STR:
        v.s = n->str;
        v.l = n->slen;
        return v;
    case XN_DUR:
    case XN_TS:
        v.i = n->i;
        return v;
    case XN_BOOL:
        v.b = n->i != 0;
        return v;
    case XN_NULL:
        v.null = true;
        return v;
    case XN_COL: {
        int c = x->slots[n->slot].col;
        if (tnull(t, c, row)) {
            v.null = true;
            return v;
        }
        if (n->type == XT_STR) {
            v.s = t->str[c][row];
            v.l = t->len[c][row];
            return v;
        }
        if (tinvalid(t, c, row)) {
            v.null = true;
            return v;
        }
        if (types[c] == ASSAY_TYPE_FLOAT)
            v.f = t->f64[c][row];
        else if (types[c] == ASSAY_TYPE_INT)
            v.f = (double)t->i64[c][row];
        else if (types[c] == ASSAY_TYPE_BOOL)
            v.b = t->i64[c][row] != 0;
        else
            v.i = t->i64[c][row];
        return v;
    }
    case XN_NEG:
        v = ref(x, t, n->kids[0], row);
        v.f = -v.f;
        v.i = (int64_t)(0 - (uint64_t)v.i);
        return v;
    case XN_NOT:
        v = ref(x, t, n->kids[0], row);
        v.b = !v.b;
        return v;
    case XN_ISNULL: {
        rval a = ref(x, t, n->kids[0], row);
        v.b = a.null != n->neg;
        return v;
    }
    case XN_IN: {
        rval a = ref(x, t, n->kids[0], row);
        if (a.null)
            return a;
        bool found = false;
        for (uint32_t k = 1; k < n->nkids; k++) {
            rval e = ref(x, t, n->kids[k], row);
            if (n->kids[0]->type == XT_NUM)
                found |= a.f == e.f;
            else if (n->kids[0]->type == XT_STR)
                found |= sgn_cmp(a.s, a.l, e.s, e.l) == 0;
            else
                found |= a.i == e.i;
        }
        v.b = found != n->neg;
        return v;
    }
    case XN_BIN: {
        rval a = ref(x, t, n->kids[0], row), b = ref(x, t, n->kids[1], row);
        if (n->op == XO_AND) {
            if ((!a.null && !a.b) || (!b.null && !b.b))
                return (rval){ .b = false };
            if (a.null || b.null)
                return (rval){ .null = true };
            return (rval){ .b = true };
        }
        if (n->op == XO_OR) {
            if ((!a.null && a.b) || (!b.null && b.b))
                return (rval){ .b = true };
            if (a.null || b.null)
                return (rval){ .null = true };
            return (rval){ .b = false };
        }
        if (a.null || b.null)
            return (rval){ .null = true };
        xtype ta = n->kids[0]->type;
        if (n->op <= XO_DIV) {
            if (ta == XT_NUM) {
                if (n->op == XO_DIV && b.f == 0)
                    return (rval){ .null = true };
                v.f = n->op == XO_ADD   ? a.f + b.f
                      : n->op == XO_SUB ? a.f - b.f
                      : n->op == XO_MUL ? a.f * b.f
                                        : a.f / b.f;
            } else {
                v.i = (int64_t)(n->op == XO_ADD ? (uint64_t)a.i + (uint64_t)b.i
                                                : (uint64_t)a.i - (uint64_t)b.i);
            }
            return v;
        }
        int c;
        if (ta == XT_NUM) {
            if (isnan(a.f) || isnan(b.f)) {
                v.b = n->op == XO_NE;
                return v;
            }
            c = a.f < b.f ? -1 : a.f > b.f;
        } else if (ta == XT_STR) {
            c = sgn_cmp(a.s, a.l, b.s, b.l);
        } else if (ta == XT_BOOL) {
            c = a.b != b.b;
        } else {
            c = a.i < b.i ? -1 : a.i > b.i;
        }
        v.b = cmp_result(n->op, c);
        return v;
    }
    case XN_CALL: {
        switch (n->op) {
        case XF_COALESCE:
            for (uint32_t k = 0; k < n->nkids; k++) {
                v = ref(x, t, n->kids[k], row);
                if (!v.null)
                    return v;
            }
            return v;
        default:
            break;
        }
        rval a = ref(x, t, n->kids[0], row);
        if (a.null)
            return a;
        static char buf[64][64];
        static int bi;
        switch (n->op) {
        case XF_ABS:
            v.f = a.f < 0 ? -a.f : a.f;
            v.i = a.i < 0 ? (int64_t)(0 - (uint64_t)a.i) : a.i;
            return v;
        case XF_LEN: {
            int cp = 0;
            for (uint32_t k = 0; k < a.l; k++)
                cp += ((unsigned char)a.s[k] & 0xc0) != 0x80;
            v.f = cp;
            return v;
        }
        case XF_LOWER:
        case XF_UPPER: {
            char *o = buf[bi++ & 63];
            for (uint32_t k = 0; k < a.l && k < 63; k++) {
                char ch = a.s[k];
                if (n->op == XF_LOWER && ch >= 'A' && ch <= 'Z')
                    ch = (char)(ch - 'A' + 'a');
                if (n->op == XF_UPPER && ch >= 'a' && ch <= 'z')
                    ch = (char)(ch - 'a' + 'A');
                o[k] = ch;
            }
            v.s = o;
            v.l = a.l;
            return v;
        }
        case XF_STARTS_WITH:
        case XF_ENDS_WITH:
        case XF_CONTAINS: {
            const char *k = n->kids[1]->str;
            uint32_t kl = n->kids[1]->slen;
            bool r = false;
            for (uint32_t at = 0; at + kl <= a.l; at++) {
                if (n->op == XF_STARTS_WITH && at > 0)
                    break;
                if (n->op == XF_ENDS_WITH && at != a.l - kl)
                    continue;
                if (memcmp(a.s + at, k, kl) == 0)
                    r = true;
            }
            v.b = r;
            return v;
        }
        default:
            return (rval){ .null = true };
        }
    }
    }
    return (rval){ .null = true };
}

static const char *const words[] = { "shipped",
                                     "pending",
                                     "US",
                                     "CA",
                                     "USD",
                                     "EUR",
                                     "GBP",
                                     "",
                                     "Shipped",
                                     "us",
                                     "12345",
                                     "1234",
                                     "9020",
                                     "gift wrap please",
                                     "a much longer string than sixteen",
                                     "\xc3\xa9t\xc3\xa9" };

static void fill(table *t, rng *r)
{
    memset(t, 0, sizeof(*t));
    for (int c = 0; c < NCOLS; c++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t u = rnd(r);
            if (u % 7 == 0) {
                assay_bit_set(t->null[c], i);
                t->str[c][i] = "";
                t->i64[c][i] = (int64_t)rnd(r); /* garbage under a null */
                t->f64[c][i] = 1e300;
                continue;
            }
            if (types[c] != ASSAY_TYPE_STRING && u % 11 == 0)
                assay_bit_set(t->invalid[c], i);
            switch (types[c]) {
            case ASSAY_TYPE_FLOAT:
                t->f64[c][i] = (double)(int64_t)(rnd(r) % 2001 - 1000) / 8;
                break;
            case ASSAY_TYPE_INT:
                t->i64[c][i] = (int64_t)(rnd(r) % 21) - 5;
                break;
            case ASSAY_TYPE_TIMESTAMP:
                t->i64[c][i] = 1704067200000000ll + (int64_t)(rnd(r) % 100) * 3600000000ll;
                break;
            case ASSAY_TYPE_BOOL:
                t->i64[c][i] = (int64_t)(rnd(r) & 1);
                break;
            default:
                break;
            }
            /* text of every column (len(), matches() read any column as text) */
            if (types[c] == ASSAY_TYPE_STRING) {
                const char *w = words[rnd(r) % ASSAY_ARRAY_LEN(words)];
                t->str[c][i] = w;
                t->len[c][i] = (uint32_t)strlen(w);
            } else {
                int l =
                    snprintf(t->text[c][i], sizeof(t->text[c][i]), "%lld", (long long)t->i64[c][i]);
                t->str[c][i] = t->text[c][i];
                t->len[c][i] = (uint32_t)l;
            }
        }
    }
}

static void test_against_reference(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "shipped_at >= created_at",
        "abs(total - quantity * unit_price) < 0.01",
        "status != 'shipped' or shipped_at is not null",
        "country != 'US' or len(zip) = 5",
        "currency in ['USD','EUR']",
        "currency not in ['USD','EUR', 'a much longer string than sixteen']",
        "shipped_at - created_at <= 30h",
        "shipped_at - 2h > created_at + 1h",
        "coalesce(shipped_at, created_at) >= created_at",
        "coalesce(total, unit_price, 0) > 10",
        "not (status = 'pending') and paid = true",
        "paid or paid is null",
        "paid != false or total > 0",
        "lower(status) = 'shipped' and upper(country) in ['US', 'CA']",
        "starts_with(zip, '9') or ends_with(zip, '5') or contains(note, 'wrap')",
        "total / quantity >= 0.5",
        "10 / quantity < 3",
        "-total <= 0 or -quantity < 2",
        "quantity not in [1, 2, -3]",
        "quantity in [0, 5]",
        "status < country",
        "status >= 'pending' and status <> 'shipped'",
        "created_at in ['2024-01-01T01:00:00Z', timestamp '2024-01-02']",
        "abs(shipped_at - created_at) < 20h",
        "len(quantity) <= 1",
        "total * 2 - unit_price >= quantity + 1 or total is null",
        "1 - total > quantity",
        "`weird name` = quantity",
        "(paid = true) = (total > 0)",
        /* the rows skipped inside an and/or are computed again after it */
        /* (left sides decide most rows, so the right sides run on a few) */
        "(total > -100 or status = 'shipped') = (country = 'US')",
        "(total > 100 and status != 'pending') != starts_with(zip, '9')",
        "(total > -100 or (total < 100 and len(zip) = 5)) or currency in ['EUR']",
        "coalesce(paid, false) or status is null",
        "zip = country",
        "zip != country and len(note) > 3",
    };
    rng r;
    r.s = 14;
    table *t = malloc(sizeof(*t));
    assert_non_null(t);
    for (int round = 0; round < 4; round++) {
        fill(t, &r);
        /* odd rounds: the values in one buffer the views name, so the kernels read
         * them as whole words (ending right at the buffer's end for the last one) */
        bool window = round & 1;
        if (window) {
            size_t used = 0;
            for (int c = 0; c < NCOLS; c++)
                for (size_t i = 0; i < N; i++) {
                    memcpy(t->buf + used, t->str[c][i], t->len[c][i]);
                    t->str[c][i] = t->buf + used;
                    used += t->len[c][i] + (i % 3 == 0);
                }
            /* the very last value ends the buffer */
            memmove(t->buf + sizeof(t->buf) - t->len[NCOLS - 1][N - 1], t->str[NCOLS - 1][N - 1],
                    t->len[NCOLS - 1][N - 1]);
            t->str[NCOLS - 1][N - 1] = t->buf + sizeof(t->buf) - t->len[NCOLS - 1][N - 1];
        }
        /* half the totals agree with quantity * unit_price, so abs(...) < 0.01 passes too */
        for (size_t i = 0; i < N; i += 2)
            t->f64[0][i] = (double)t->i64[1][i] * t->f64[2][i];
        uint64_t ok[N / 64 + 1] = { 0 };
        for (size_t i = 0; i < N; i++)
            if (rnd(&r) % 13)
                assay_bit_set(ok, i);
        assay_col_view views[NCOLS];
        for (size_t e = 0; e < ASSAY_ARRAY_LEN(exprs); e++) {
            assay_expr *x = NULL;
            assay_error err;
            int rc = compile(exprs[e], &x, &err);
            if (rc)
                print_error("%s: %s\n", exprs[e], err.msg);
            assert_int_equal(rc, 0);
            for (size_t s = 0; s < assay_expr_ncols(x); s++) {
                int c = assay_expr_col(x, s);
                views[s] = (assay_col_view){ .n = N,
                                             .type = types[c],
                                             .null = t->null[c],
                                             .invalid = t->invalid[c],
                                             .i64 = t->i64[c],
                                             .f64 = t->f64[c],
                                             .str = t->str[c],
                                             .len = t->len[c],
                                             .text_lo = window ? t->buf : NULL,
                                             .text_hi = window ? t->buf + sizeof(t->buf) : NULL };
            }
            assay_expr_scratch *sc = NULL;
            assert_int_equal(assay_expr_scratch_new(x, N, &sc), 0);
            uint64_t fail[N / 64 + 1], eval[N / 64 + 1];
            /* evaluate twice: a scratch is reused batch after batch */
            for (int twice = 0; twice < 2; twice++)
                assert_int_equal(assay_expr_eval(x, sc, views, N, ok, fail, eval), 0);
            size_t nev = 0, nfail = 0;
            for (size_t i = 0; i < N; i++) {
                rval v = ref(x, t, x->root, i);
                bool want_eval = assay_bit_get(ok, i) && !v.null;
                bool want_fail = want_eval && !v.b;
                if (want_eval != assay_bit_get(eval, i) || want_fail != assay_bit_get(fail, i))
                    print_error("%s: row %zu: eval %d (want %d) fail %d (want %d)\n", exprs[e], i,
                                assay_bit_get(eval, i), want_eval, assay_bit_get(fail, i),
                                want_fail);
                assert_int_equal(assay_bit_get(eval, i), want_eval);
                assert_int_equal(assay_bit_get(fail, i), want_fail);
                nev += want_eval;
                nfail += want_fail;
            }
            /* each expression must exercise both outcomes and nulls somewhere */
            if (round == 0 && (nfail == 0 || nfail == nev))
                print_message("note: %s: %zu of %zu fail\n", exprs[e], nfail, nev);
            assay_expr_scratch_free(sc);
            assay_expr_free(x);
        }
    }
    free(t);
}

/* matches() reads its column's match bitmap, which the engine fills. */
static void test_matches(void **state)
{
    (void)state;
    assay_expr *x = NULL;
    assay_error err;
    assert_int_equal(compile("matches(zip, '^[0-9]{5}$') or country = 'CA'", &x, &err), 0);
    assert_int_equal(assay_expr_npatterns(x), 1);
    size_t slot;
    const char *pat;
    assay_expr_pattern(x, 0, &slot, &pat);
    assert_string_equal(pat, "^[0-9]{5}$");
    assert_int_equal(assay_expr_col(x, slot), 7);
    assert_true(assay_expr_needs_text(x, slot));
    assay_expr_set_pattern_id(x, 0, 0);
    uint64_t nul[1] = { 0x1 }, m0[1] = { 0x6 }, ok[1] = { 0xf }, fail[1], eval[1];
    uint64_t *match[1] = { m0 };
    const char *zs[4] = { "", "12345", "12345", "x" }, *cs[4] = { "US", "US", "CA", "US" };
    uint32_t zl[4] = { 0, 5, 5, 1 }, cl[4] = { 2, 2, 2, 2 };
    uint64_t none[1] = { 0 };
    assay_col_view v[2];
    for (size_t s = 0; s < 2; s++) {
        bool z = assay_expr_col(x, s) == 7;
        v[s] = (assay_col_view){ .n = 4,
                                 .type = ASSAY_TYPE_STRING,
                                 .null = z ? nul : none,
                                 .str = z ? zs : cs,
                                 .len = z ? zl : cl,
                                 .match = z ? match : NULL };
    }
    assay_expr_scratch *sc = NULL;
    assert_int_equal(assay_expr_scratch_new(x, 4, &sc), 0);
    assert_int_equal(assay_expr_eval(x, sc, v, 4, ok, fail, eval), 0);
    /* row 0: zip null, country US -> null or false = null: unevaluated */
    assert_int_equal(eval[0], 0xe);
    assert_int_equal(fail[0], 0x8);
    assay_expr_scratch_free(sc);
    assay_expr_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),    cmocka_unit_test(test_bad),
        cmocka_unit_test(test_depth),   cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
