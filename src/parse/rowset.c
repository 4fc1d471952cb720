/*
 * rowset.c - human text for bad rows.
 *
 * A bad row is data, not an error (DESIGN.md section 5): the engine quarantines it
 * with a reason a person can act on, e.g. "parse_error: unterminated quote at byte
 * 17". Byte positions ('at') are 0-based offsets from the start of the row, the same
 * numbers the row's offset/length use, so a user can find them with `cut -b` or an
 * editor's byte column (add one for a 1-based column).
 */
#include <stdio.h>

#include "assay/rowset.h"
#include "assay/ndjson.h"

size_t assay_bad_row_describe(const assay_bad_row *b, uint32_t ncols, char *out, size_t cap)
{
    int n;
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
        n = snprintf(out, cap, "invalid UTF-8 at byte %u (column %u)", b->at, b->detail);
        break;
    case ASSAY_BAD_JSON_SYNTAX: {
        const char *what = b->detail < ASSAY_JSON_ERROR_COUNT
                               ? assay_json_error_text((assay_json_error)b->detail)
                               : NULL;
        n = snprintf(out, cap, "JSON syntax error at byte %u: %s", b->at,
                     what ? what : "unknown error");
        break;
    }
    case ASSAY_BAD_JSON_NOT_OBJECT:
        n = snprintf(out, cap, "line is valid JSON but not an object");
        break;
    case ASSAY_BAD_JSON_DUPLICATE_KEY:
        n = snprintf(out, cap, "duplicate key for column %u at byte %u", b->detail, b->at);
        break;
    default:
        n = snprintf(out, cap, "unknown bad-row reason %u", b->reason);
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}
