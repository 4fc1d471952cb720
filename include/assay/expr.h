/*
 * assay/expr.h - cross-field rules: the `check: expr` expression language
 * (docs/expressions.md). An expression is parsed and type-checked once, at config
 * load, into a typed plan of vector instructions; the engine evaluates the plan per
 * batch over the columns it reads (src/rules/expr_eval.c).
 */
#ifndef ASSAY_EXPR_H
#define ASSAY_EXPR_H

#include "assay/common.h"
#include "assay/config.h"

typedef struct assay_expr assay_expr;

/* Where the expression's text sits in the config file, for error messages: the
 * file name, the line and column of its first character, the key path shown in
 * messages ("rules.NAME.expr"). line 0: not from a file (messages show offsets). */
typedef struct assay_expr_source {
    const char *file;
    const char *key;
    int line, col;
} assay_expr_source;

/* Parse and type-check text against the columns (names and types, ncols of them).
 * Returns 0 and *out, or -EINVAL with err->msg
 *   "FILE:LINE:COL: KEY: MESSAGE\n    EXPRESSION\n    ^~~~ caret under the part"
 * or -ENOMEM. A column of unknown type reads as a string. */
ASSAY_API int assay_expr_compile(const char *text, const char *const *names,
                                 const assay_type *types, size_t ncols,
                                 const assay_expr_source *src, assay_expr **out, assay_error *err);

/* Parse only (syntax errors, same message shape); for the fuzzer and config checks
 * that run before the data's columns are known. */
ASSAY_API int assay_expr_syntax(const char *text, const assay_expr_source *src, assay_error *err);

ASSAY_API void assay_expr_free(assay_expr *x);

/* Columns the expression reads, as schema indexes (slot order). */
ASSAY_API size_t assay_expr_ncols(const assay_expr *x);
ASSAY_API int assay_expr_col(const assay_expr *x, size_t slot);
/* Whether the slot's column is read as text (strings, len, lower, ...) and/or as its
 * typed vector (numbers, timestamps, bools). */
ASSAY_API bool assay_expr_needs_text(const assay_expr *x, size_t slot);
ASSAY_API bool assay_expr_needs_typed(const assay_expr *x, size_t slot);

/* matches(col, 'regex'): the patterns go into their column's regex database; the
 * engine tells the plan where each one landed. */
ASSAY_API size_t assay_expr_npatterns(const assay_expr *x);
ASSAY_API void assay_expr_pattern(const assay_expr *x, size_t i, size_t *slot,
                                  const char **pattern);
ASSAY_API void assay_expr_set_pattern_id(assay_expr *x, size_t i, int regex_id);

/* Instructions in the plan (for tests and `assay bench`). */
ASSAY_API size_t assay_expr_ninstr(const assay_expr *x);

#endif
