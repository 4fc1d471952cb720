/*
 * rowset.c - rowset buffers, and human text for bad rows.
 *
 * A bad row is data, not an error (docs/design.md): the engine quarantines it
 * with a reason a person can act on, e.g. "parse_error: unterminated quote at byte
 * 17". Byte positions ('at') are 0-based offsets from the start of the row, the same
 * numbers the row's offset/length use, so a user can find them with `cut -b` or an
 * editor's byte column (add one for a 1-based column).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/rowset.h"
#include "assay/ndjson.h"
#include "assay/utf8.h"

int assay_rowset_init(assay_rowset *rs, uint32_t ncols, const uint8_t *want, uint32_t cap,
                      uint32_t bad_cap)
{
    memset(rs, 0, sizeof(*rs));
    size_t cells = (size_t)(ncols ? ncols : 1) * cap;
    rs->ncols = ncols;
    rs->want = want;
    rs->cap = cap;
    rs->bad_cap = bad_cap;
    rs->cells = calloc(cells, sizeof(assay_cell));
    rs->flags = calloc(cells, 1);
    rs->row_off = calloc(cap, sizeof(uint32_t));
    rs->row_len = calloc(cap, sizeof(uint32_t));
    rs->row_ord = calloc(cap, sizeof(uint32_t));
    rs->bad = calloc(bad_cap, sizeof(assay_bad_row));
    if (!rs->cells || !rs->flags || !rs->row_off || !rs->row_len || !rs->row_ord || !rs->bad) {
        assay_rowset_free(rs);
        return -ENOMEM;
    }
    return 0;
}

void assay_rowset_free(assay_rowset *rs)
{
    free(rs->cells);
    free(rs->flags);
    free(rs->row_off);
    free(rs->row_len);
    free(rs->row_ord);
    free(rs->bad);
    free(rs->unk); /* the caller's, when it asked for unknown keys */
    memset(rs, 0, sizeof(*rs));
}

/* "column 'email'" (or "column 3" without names). Names are cut to keep the reason
 * one short line. */
static void column_text(uint32_t col, const char *const *names, char *out, size_t cap)
{
    if (names && names[col])
        snprintf(out, cap, "column '%.64s%s'", names[col], strlen(names[col]) > 64 ? "..." : "");
    else
        snprintf(out, cap, "column %u", col);
}

/* See rowset.h. Keys are cut shorter than the message, so a reason stays one line. */
const char *assay_show_bytes(const char *k, size_t len, char *out, size_t cap)
{
    size_t n = 0, lim = len > 64 ? 64 : len;
    bool utf8 = assay_utf8_check(k, lim) == lim;
    for (size_t i = 0; i < lim && n + 8 < cap; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c == '\r' || c == '\n' || c == '\t')
            n += (size_t)snprintf(out + n, cap - n, "\\%c",
                                  c == '\r'   ? 'r'
                                  : c == '\n' ? 'n'
                                              : 't');
        else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    if (lim < len && n + 4 < cap)
        memcpy(out + n, "...", 3), n += 3;
    out[n < cap ? n : cap - 1] = '\0';
    return out;
}

/* Where in the row an NDJSON problem was: "column 'b'", "key 'zz', not a column",
 * "a key" (inside a key's own text) or "the row" (outside any key and value). col is
 * the column when the parser knew it (UINT32_MAX otherwise). */
static void place_text(const assay_bad_row *b, const char *row, uint32_t col, uint32_t ncols,
                       const char *const *names, char *out, size_t cap)
{
    if (col < ncols) {
        column_text(col, names, out, cap);
        return;
    }
    if (b->key_at == UINT32_MAX) {
        snprintf(out, cap, "the row");
        return;
    }
    if (b->key_len == UINT32_MAX) {
        snprintf(out, cap, "a key");
        return;
    }
    if (!row || b->key_at > b->len || b->key_len > b->len - b->key_at) {
        snprintf(out, cap, "a key that is not a column"); /* its bytes are not at hand */
        return;
    }
    const char *k = row + b->key_at;
    for (uint32_t c = 0; names && c < ncols; c++) {
        if (names[c] && strlen(names[c]) == b->key_len && memcmp(names[c], k, b->key_len) == 0) {
            column_text(c, names, out, cap);
            return;
        }
    }
    char key[300];
    assay_show_bytes(k, b->key_len, key, sizeof(key));
    snprintf(out, cap, "key '%s'%s", key, names ? ", not a column" : "");
}

size_t assay_bad_row_describe(const assay_bad_row *b, uint32_t ncols, const char *const *names,
                              char *out, size_t cap)
{
    return assay_bad_row_describe_row(b, NULL, ncols, names, out, cap);
}

size_t assay_bad_row_describe_row(const assay_bad_row *b, const char *row, uint32_t ncols,
                                  const char *const *names, char *out, size_t cap)
{
    int n;
    char where[400];
    switch ((assay_bad_reason)b->reason) {
    case ASSAY_BAD_FIELD_COUNT:
        n = snprintf(out, cap, "wrong field count: expected %u, found %u", ncols, b->detail);
        break;
    case ASSAY_BAD_UNTERMINATED_QUOTE:
        n = snprintf(out, cap, "unterminated quote at byte %u", b->at);
        break;
    case ASSAY_BAD_QUOTE:
        n = snprintf(out, cap,
                     "unexpected quote at byte %u (a quote inside an unquoted field, or text "
                     "after a closing quote)",
                     b->at);
        break;
    case ASSAY_BAD_ROW_TOO_LONG:
        n = snprintf(out, cap, "row of %u bytes is longer than the limit of %u bytes", b->len,
                     b->detail);
        break;
    case ASSAY_BAD_TOO_MANY_FIELDS:
        n = snprintf(out, cap, "more than %u fields in the row (limit), extra field at byte %u",
                     b->detail, b->at);
        break;
    case ASSAY_BAD_UTF8:
        place_text(b, row, b->detail, ncols, names, where, sizeof(where));
        n = snprintf(out, cap, "invalid UTF-8 at byte %u (in %s)", b->at, where);
        break;
    case ASSAY_BAD_JSON_SYNTAX: {
        const char *what = b->detail < ASSAY_JSON_ERROR_COUNT
                               ? assay_json_error_text((assay_json_error)b->detail)
                               : NULL;
        place_text(b, row, UINT32_MAX, ncols, names, where, sizeof(where));
        n = snprintf(out, cap, "JSON syntax error at byte %u (in %s): %s", b->at, where,
                     what ? what : "unknown error");
        break;
    }
    case ASSAY_BAD_JSON_NOT_OBJECT:
        n = snprintf(out, cap, "the row is valid JSON but not an object");
        break;
    case ASSAY_BAD_JSON_DUPLICATE_KEY:
        place_text(b, row, b->detail, ncols, names, where, sizeof(where));
        n = snprintf(out, cap, "duplicate key for %s at byte %u", where, b->at);
        break;
    default:
        n = snprintf(out, cap, "unknown bad-row reason %u", b->reason);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}
