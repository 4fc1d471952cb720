/*
 * assay/rowset.h - what a parser hands the engine: zero-copy cell slices into the
 * input chunk, column-major, for the columns some rule or sketch needs, plus the rows
 * that could not be parsed ("bad rows") with a reason.
 *
 * A chunk is a run of whole rows (the reader cuts on row boundaries). Parsers walk it
 * with an assay_cursor, filling at most rs->cap good rows per call, so the engine can
 * work in cache-sized batches.
 */
#ifndef ASSAY_ROWSET_H
#define ASSAY_ROWSET_H

#include "assay/common.h"

enum assay_cell_flags {
    ASSAY_CELL_NULL = 1 << 0,    /* CSV: unquoted empty field; JSON: null or missing key */
    ASSAY_CELL_ESCAPED = 1 << 1, /* slice holds escapes ("" in CSV, \x in JSON): unescape first */
    ASSAY_CELL_QUOTED = 1 << 2,  /* CSV: was quoted (quotes not in slice); JSON: was a string */
    ASSAY_CELL_RAW = 1 << 3,     /* JSON: nested object/array kept as raw text */
    ASSAY_CELL_BOOL = 1 << 4,    /* JSON: literal true/false */
    ASSAY_CELL_NUMBER = 1 << 5,  /* JSON: number token */
};

typedef struct assay_cell {
    uint32_t off; /* byte offset in the chunk */
    uint32_t len; /* bytes, excluding CSV quotes / JSON string quotes */
} assay_cell;

typedef enum assay_bad_reason {
    ASSAY_BAD_FIELD_COUNT = 1,    /* detail: fields found (expected is the schema's) */
    ASSAY_BAD_UNTERMINATED_QUOTE, /* at: where the quote opened */
    ASSAY_BAD_QUOTE,           /* stray quote in an unquoted field, or text after a closing one */
    ASSAY_BAD_ROW_TOO_LONG,    /* detail: the limit */
    ASSAY_BAD_TOO_MANY_FIELDS, /* detail: the limit */
    ASSAY_BAD_UTF8,            /* at: first invalid byte (detail: column index) */
    ASSAY_BAD_JSON_SYNTAX,     /* at: offending byte; detail: enum assay_json_error */
    ASSAY_BAD_JSON_NOT_OBJECT, /* line is valid JSON but not an object */
    ASSAY_BAD_JSON_DUPLICATE_KEY, /* detail: column index */
    ASSAY_BAD_REASON_COUNT
} assay_bad_reason;

typedef struct assay_bad_row {
    uint32_t row;    /* row ordinal in the chunk (good and bad rows both count) */
    uint32_t off;    /* byte offset of the row start in the chunk */
    uint32_t len;    /* row bytes, without the line terminator */
    uint32_t at;     /* byte offset in the row where the problem was found */
    uint32_t detail; /* reason-specific, see assay_bad_reason */
    uint32_t reason; /* assay_bad_reason */
    /* NDJSON: the top-level key whose key or value held the problem, so the reason can
     * name it: key_at is the offset of its raw bytes (after the opening quote) in the
     * row, key_len their length, or UINT32_MAX when the problem is inside the key
     * itself; key_at is UINT32_MAX when no key applies (CSV: always) */
    uint32_t key_at, key_len;
} assay_bad_row;

/* A top-level NDJSON key that names no column of the schema, in a good row. */
typedef struct assay_unknown_key {
    uint32_t row;      /* good row index of this call */
    uint32_t off, len; /* raw key bytes (between the quotes) in the chunk */
    bool esc;          /* they hold a backslash: unescape before use */
} assay_unknown_key;

typedef struct assay_rowset {
    /* set by the caller */
    uint32_t ncols;      /* columns in the schema */
    const uint8_t *want; /* want[c] != 0: fill cells/flags for column c */
    uint32_t cap;        /* most good rows per call */
    assay_cell *cells;   /* [c * cap + r], for wanted c */
    uint8_t *flags;      /* [c * cap + r], assay_cell_flags */
    uint32_t *row_off;   /* [r]: byte offset of good row r in the chunk */
    uint32_t *row_len;   /* [r]: its bytes, without the line terminator */
    uint32_t *row_ord;   /* [r]: its ordinal in the chunk (bad rows count too) */
    assay_bad_row *bad;  /* bad rows found by this call */
    uint32_t bad_cap;    /* parser returns early when bad is full */
    /* NDJSON: keys outside the schema, each once per row (NULL: not collected); past
     * unk_cap they are only counted in unk_dropped */
    assay_unknown_key *unk;
    uint32_t unk_cap;
    /* filled by the parser on each call */
    uint32_t nrows;       /* good rows */
    uint32_t nbad;        /* bad rows */
    uint32_t nlines;      /* '\n' bytes consumed by this call, quoted ones included */
    uint32_t ncomments;   /* comment lines skipped by this call (options.comment) */
    uint32_t nunk;        /* unk entries filled */
    uint32_t unk_dropped; /* unknown keys past unk_cap */
} assay_rowset;

typedef struct assay_cursor {
    const char *buf; /* chunk */
    size_t len;
    size_t pos;   /* next byte to parse */
    uint32_t ord; /* ordinal of the next row in the chunk */
} assay_cursor;

/* Allocate the caller-side arrays of rs for ncols columns (want may be NULL for "none"),
 * up to cap good and bad_cap bad rows per call. Returns 0 or -ENOMEM (rs then holds
 * nothing to free). */
ASSAY_API int assay_rowset_init(assay_rowset *rs, uint32_t ncols, const uint8_t *want, uint32_t cap,
                                uint32_t bad_cap);
ASSAY_API void assay_rowset_free(assay_rowset *rs);

/* Human text for a bad row, e.g. "wrong field count: expected 10, found 9" or
 * "invalid UTF-8 at byte 12 (in column 'email')". ncols is the schema's column count;
 * names (may be NULL: then columns are given by number) its column names, so a reason
 * names the column the user knows. Writes at most cap bytes including the NUL; returns
 * the length it wanted. */
ASSAY_API size_t assay_bad_row_describe(const assay_bad_row *b, uint32_t ncols,
                                        const char *const *names, char *out, size_t cap);

/* The same, given the row's bytes (row[0..b->len), may be NULL), so that an NDJSON
 * reason names the JSON key that held the problem when it is not a column:
 * "invalid UTF-8 at byte 13 (in key 'zz', not a column)". */
/* Text from the data made safe for a one-line message into out (cap >= 8): CR, LF and
 * tab as \r \n \t, other control bytes, DEL and invalid UTF-8 as \xNN; cut after 64
 * bytes with "...". Returns out. */
ASSAY_API const char *assay_show_bytes(const char *s, size_t len, char *out, size_t cap);

ASSAY_API size_t assay_bad_row_describe_row(const assay_bad_row *b, const char *row, uint32_t ncols,
                                            const char *const *names, char *out, size_t cap);

#endif
