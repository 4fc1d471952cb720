/*
 * expr_error.c - messages for expressions that do not parse or do not type-check.
 *
 * One message names where the problem is three ways, for three readers: the file,
 * line and column of the offending part inside the config (for editors that jump to
 * FILE:LINE:COL), the key path (rules.NAME.expr), and the expression itself with a
 * caret line under the part, the way compilers since Clang show source ranges
 * ("Expressive Diagnostics", clang.llvm.org/diagnostics.html):
 *
 *     orders.yaml:7:25: rules.ship_after_order.expr: cannot compare timestamp with string
 *         shipped_at >= 'yesterday'
 *                       ^~~~~~~~~~~
 *
 * The column is exact for an expression written on one line, plain or quoted (one is
 * added for the opening quote); a quoted value with escapes before the part, or a
 * block scalar, puts it off by the escapes (the caret line is always exact, since it
 * is drawn under the text the parser saw). A long expression is shown as a window
 * of about 100 bytes around the part, with ... where it was cut; control bytes show
 * as spaces so the caret stays aligned (a UTF-8 character takes one column; a stray
 * continuation byte where the part starts still gets its caret).
 */
#include <stdio.h>
#include <string.h>

#include "rules/expr_internal.h"

#define WINDOW 100

int assay_expr_error(assay_error *err, const assay_expr_source *src, const char *text,
                     const xerr *e)
{
    size_t len = strlen(text);
    uint32_t pos = e->pos > len ? (uint32_t)len : e->pos;
    uint32_t end = e->end > len ? (uint32_t)len : e->end;
    if (end <= pos)
        end = pos + 1;
    /* the window shown: start..stop */
    size_t start = 0, stop = len;
    if (len > WINDOW) {
        start = pos > WINDOW / 3 ? pos - WINDOW / 3 : 0;
        stop = ASSAY_MIN(len, start + WINDOW);
    }
    char line[WINDOW + 8], caret[WINDOW + 8];
    size_t o = 0, k = 0;
    if (start > 0) {
        memcpy(line, "...", 3);
        memset(caret, ' ', 3);
        o = k = 3;
    }
    for (size_t i = start; i < stop; i++) {
        unsigned char ch = (unsigned char)text[i];
        line[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
        /* continuation bytes of UTF-8 take no column */
        if ((ch & 0xc0) == 0x80 && i != pos && i != start)
            continue;
        caret[k++] = i == pos ? '^' : (i > pos && i < end) ? '~' : ' ';
    }
    if (pos >= stop)
        caret[k++] = '^';
    if (stop < len) {
        memcpy(line + o, "...", 3);
        o += 3;
    }
    line[o] = 0;
    while (k > 0 && caret[k - 1] == ' ')
        k--;
    caret[k] = 0;
    const char *file = src && src->file ? src->file : "expression";
    const char *key = src && src->key ? src->key : "expr";
    if (src && src->line > 0)
        return assay_error_set(err, -EINVAL, "%s:%d:%d: %s: %s\n    %s\n    %s", file, src->line,
                               src->col + (int)pos, key, e->msg, line, caret);
    return assay_error_set(err, -EINVAL, "%s: offset %u: %s: %s\n    %s\n    %s", file,
                           (unsigned)pos + 1, key, e->msg, line, caret);
}
