/*
 * assay/ndjson.h - newline-delimited JSON: one flat object per line.
 * Keys are matched to schema columns; strings keep their escapes in the slice
 * (ASSAY_CELL_ESCAPED) and are unescaped only when a rule needs the value; nested
 * objects and arrays are kept as raw text (ASSAY_CELL_RAW).
 */
#ifndef ASSAY_NDJSON_H
#define ASSAY_NDJSON_H

#include "assay/common.h"
#include "assay/rowset.h"
#include "assay/cpu.h"
#include "assay/nulls.h"

typedef enum assay_json_error {
    ASSAY_JSON_OK = 0,
    ASSAY_JSON_UNEXPECTED_CHAR,
    ASSAY_JSON_UNTERMINATED_STRING,
    ASSAY_JSON_BAD_ESCAPE,
    ASSAY_JSON_BAD_UNICODE, /* bad \u escape or lone surrogate */
    ASSAY_JSON_BAD_NUMBER,
    ASSAY_JSON_BAD_LITERAL,
    ASSAY_JSON_CONTROL_CHAR, /* raw byte < 0x20 inside a string */
    ASSAY_JSON_TOO_DEEP,     /* nesting deeper than ASSAY_JSON_MAX_DEPTH */
    ASSAY_JSON_TRAILING,     /* text after the object */
    ASSAY_JSON_EMPTY,
    ASSAY_JSON_ERROR_COUNT
} assay_json_error;

#define ASSAY_JSON_MAX_DEPTH 64

ASSAY_API const char *assay_json_error_text(assay_json_error e);

typedef struct assay_ndjson_schema assay_ndjson_schema;

typedef struct assay_ndjson_options {
    uint32_t max_row_bytes; /* longer lines are bad rows (default 1 MiB) */
    bool skip_blank;        /* blank lines are skipped, not bad rows (default true) */
    char comment; /* a line starting with it is skipped (rs->ncomments); 0: none (default) */
    const assay_null_tokens *nulls; /* string values that mean null (JSON null always is);
                                     * NULL or an empty set: none (the default) */
} assay_ndjson_options;

ASSAY_API void assay_ndjson_options_default(assay_ndjson_options *o);

/* Build a key->column map for the given column names (copied). Unknown keys in the
 * data are ignored; missing keys give null cells. -EINVAL for a NULL name or a name
 * given twice, -ENOMEM. The schema is read-only afterwards: shards may share it. */
ASSAY_API int assay_ndjson_schema_new(const char *const *names, uint32_t ncols,
                                      assay_ndjson_schema **out);
ASSAY_API void assay_ndjson_schema_free(assay_ndjson_schema *s);

/* Parse lines from cur into rs (same contract as assay_csv_parse): until rs->cap good
 * rows, rs->bad_cap bad rows, or the end of the chunk. rs->ncols should be the schema's
 * column count; rs->want == NULL wants no column (rows are only validated and framed).
 * o == NULL means the defaults. Returns 0 (bad data becomes bad rows), -EINVAL for a
 * NULL schema/cursor/rowset or a chunk of 4 GiB or more, -ENOMEM. See src/parse/ndjson.c
 * for what makes a row good and what each bad row's `at` and `detail` hold. */
ASSAY_API int assay_ndjson_parse(const assay_ndjson_options *o, const assay_ndjson_schema *s,
                                 assay_cursor *cur, assay_rowset *rs);

/* Same with an explicit kernel level for the string scan (tests and benchmarks compare
 * levels): ASSAY_SIMD_SCALAR is the portable SWAR scan, any higher level SSE2 on x86-64. */
ASSAY_API int assay_ndjson_parse_level(const assay_ndjson_options *o, const assay_ndjson_schema *s,
                                       assay_cursor *cur, assay_rowset *rs, assay_simd_level level);

/* Collect the keys of the objects in the first max_lines lines of buf (0: all lines),
 * in order of first appearance (malloc'd strings, unescaped: free each and the array).
 * Lines that are not valid JSON objects are skipped. For schema inference. -EINVAL with
 * a message when no line is a valid object, -ENOMEM. */
ASSAY_API int assay_ndjson_keys(const char *buf, size_t len, uint32_t max_lines, char ***keys,
                                uint32_t *nkeys, assay_error *err);

/* Decode JSON string escapes (\" \\ \/ \b \f \n \r \t \uXXXX with surrogate pairs)
 * from src (the slice between the quotes) into dst, which needs len bytes (dst may
 * equal src). Other bytes are copied as they are. Returns 0 and sets *out_len, or
 * -EINVAL on a bad escape or a lone surrogate. */
ASSAY_API int assay_json_unescape(const char *src, size_t len, char *dst, size_t *out_len);

/* Offset just past the last '\n' in buf; 0 when none. */
ASSAY_API size_t assay_ndjson_last_row_end(const char *buf, size_t len);

#endif
