/*
 * fuzz_expr.c - libFuzzer target for the expression language: the tokenizer and
 * parser (any bytes), the type checker against a fixed schema, and - for inputs that
 * compile - the evaluator over a small batch with nulls and invalid values in every
 * column.
 *
 * Properties checked besides "no crash, no leak, no UB":
 *   - a rejected expression has -EINVAL (or -ENOMEM) and a message with a caret line;
 *   - an accepted one has a plan of at least one instruction, evaluates, and leaves
 *     fail a subset of eval, eval a subset of ok, and no bit past the batch.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
#include "assay/expr.h"
#include "rules/expr_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCOLS 6
#define ROWS  70

static const char *const names[NCOLS] = { "a", "b", "t", "s", "flag", "u" };
static const assay_type types[NCOLS] = { ASSAY_TYPE_FLOAT,  ASSAY_TYPE_INT,  ASSAY_TYPE_TIMESTAMP,
                                         ASSAY_TYPE_STRING, ASSAY_TYPE_BOOL, ASSAY_TYPE_UNKNOWN };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    assay_expr_source src = { .file = "fuzz.yaml", .key = "rules.f.expr", .line = 1, .col = 1 };
    assay_error err = { 0 };
    int rc = assay_expr_syntax(text, &src, &err);
    if (rc != 0 && ((rc != -EINVAL && rc != -ENOMEM) || !err.msg[0]))
        abort();
    if (rc == -EINVAL && !strchr(err.msg, '^'))
        abort();
    assay_expr *x = NULL;
    rc = assay_expr_compile(text, names, types, NCOLS, &src, &x, &err);
    if (rc != 0) {
        if ((rc != -EINVAL && rc != -ENOMEM) || x || !err.msg[0])
            abort();
        free(text);
        return 0;
    }
    if (!x || assay_expr_ninstr(x) == 0)
        abort();
    static uint64_t null[NCOLS][2], invalid[NCOLS][2], m0[2];
    static int64_t i64[ROWS];
    static double f64[ROWS];
    static const char *str[ROWS];
    static uint32_t len[ROWS];
    static const char *const words[] = {
        "", "x", "US", "shipped", "a long value over sixteen b", "\xc3\xa9"
    };
    for (int i = 0; i < ROWS; i++) {
        i64[i] = (int64_t)((uint64_t)i * 0x9e3779b97f4a7c15ull);
        f64[i] = i % 5 == 0 ? 0.0 : (double)i64[i] / 1e9;
        str[i] = words[i % 6];
        len[i] = (uint32_t)strlen(str[i]);
    }
    uint64_t *match[4] = { m0, m0, m0, m0 };
    assay_col_view v[NCOLS];
    for (size_t k = 0; k < assay_expr_ncols(x); k++) {
        int c = assay_expr_col(x, k);
        null[c][0] = 0x1111111111111111ull << (c & 3);
        null[c][1] = 0x21;
        invalid[c][0] = types[c] == ASSAY_TYPE_STRING ? 0 : 0x0808080808080808ull;
        v[k] = (assay_col_view){ .n = ROWS,
                                 .type = types[c],
                                 .null = null[c],
                                 .invalid = invalid[c],
                                 .i64 = i64,
                                 .f64 = f64,
                                 .str = str,
                                 .len = len,
                                 .match = match };
    }
    for (size_t k = 0; k < assay_expr_npatterns(x); k++)
        assay_expr_set_pattern_id(x, k, 0);
    assay_expr_scratch *sc = NULL;
    if (assay_expr_scratch_new(x, ROWS, &sc) == 0) {
        uint64_t ok[2] = { ~0ull ^ 0x4, (1ull << (ROWS - 64)) - 1 }, fail[2], eval[2];
        if (assay_expr_eval(x, sc, v, ROWS, ok, fail, eval) == 0) {
            for (int w = 0; w < 2; w++)
                if ((fail[w] & ~eval[w]) || (eval[w] & ~ok[w]))
                    abort();
        }
        assay_expr_scratch_free(sc);
    }
    assay_expr_free(x);
    free(text);
    return 0;
}
