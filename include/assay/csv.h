/*
 * assay/csv.h - RFC 4180 CSV: quote-aware row framing and field splitting.
 * See src/parse/csv.c for the method (SIMD structural index + scalar row assembly).
 */
#ifndef ASSAY_CSV_H
#define ASSAY_CSV_H

#include "assay/common.h"
#include "assay/rowset.h"
#include "assay/cpu.h"
#include "assay/nulls.h"

typedef struct assay_csv_options {
    char delimiter;         /* default ',' */
    char quote;             /* default '"' */
    bool header;            /* first row of each file names the columns (default true) */
    uint32_t max_row_bytes; /* longer rows are bad rows (default 1 MiB) */
    uint32_t max_fields;    /* rows with more fields are bad rows (default 4096) */
    bool keep_blank;        /* a blank line is a bad row (field count 0), not skipped: one
                             * Kafka message is one row, an empty one included (default false) */
    char comment; /* a row starting with it (outside quotes) is a comment line: skipped up to
                   * its '\n' (quotes in it mean nothing), counted in rs->ncomments, no
                   * ordinal; 0: none (the default) */
    const assay_null_tokens *nulls; /* text that means null besides the empty field; NULL or
                                     * an empty set: none (the default). Quoted fields too */
} assay_csv_options;

ASSAY_API void assay_csv_options_default(assay_csv_options *o);

/* Parse rows from cur into rs until rs->cap good rows, rs->bad_cap bad rows, or the
 * end of the chunk. expect_fields is the schema's column count (rs->ncols). Uses the
 * SIMD level from assay_cpu_level(). Returns 0; never fails on data (bad data becomes
 * bad rows). The last row of a chunk may lack its line terminator. Blank lines are
 * skipped (no row, no ordinal) unless o->keep_blank. -EINVAL for unusable options
 * (delimiter == quote, or either a line break), rs->cap or rs->bad_cap of 0, or a chunk
 * of 2 GiB or more.
 * rs->want may be NULL (no cells wanted); row_off/row_len/row_ord may be NULL. */
ASSAY_API int assay_csv_parse(const assay_csv_options *o, assay_cursor *cur, assay_rowset *rs);

/* Same with an explicit kernel level (tests and benchmarks compare levels). */
ASSAY_API int assay_csv_parse_level(const assay_csv_options *o, assay_cursor *cur, assay_rowset *rs,
                                    assay_simd_level level);

/* Read the first row of buf as a list of field values (unescaped, NUL-terminated,
 * malloc'd: free each and the array). Sets *consumed to the bytes through its line
 * terminator. A leading UTF-8 byte order mark and blank lines are skipped (and counted
 * in *consumed). -EINVAL with a message on an unterminated quote, a malformed quoted
 * field, more than o->max_fields fields, or an empty header. */
ASSAY_API int assay_csv_read_row(const assay_csv_options *o, const char *buf, size_t len,
                                 char ***fields, uint32_t *nfields, size_t *consumed,
                                 assay_error *err);

/* Offset just past the last line terminator in buf that lies outside quotes, given
 * that buf starts outside quotes; 0 when there is none. Used by the reader to cut
 * chunks on row boundaries. */
ASSAY_API size_t assay_csv_last_row_end(const assay_csv_options *o, const char *buf, size_t len);

/* Copy src to dst turning each doubled quote into one. dst may equal src. Returns the
 * new length. */
ASSAY_API size_t assay_csv_unescape(const char *src, size_t len, char quote, char *dst);

/* Structural index kernel (exposed for tests and benchmarks): for buf[0..len) write
 * the offsets of delimiters and newlines outside quotes to seps, with bit 31 set on
 * newlines. *in_quote carries the quote state across calls (0 or ~0). Returns the
 * number of separators written; stops early (at a 64-byte block boundary) when fewer
 * than 64 slots remain, setting *consumed to the bytes scanned. Adds to *nlines the
 * number of '\n' bytes scanned, quoted or not. May use seps[n..cap) as scratch. */
typedef size_t (*assay_csv_index_fn)(const char *buf, size_t len, char delim, char quote,
                                     uint64_t *in_quote, uint32_t *seps, size_t cap,
                                     size_t *consumed, uint32_t *nlines);

ASSAY_API assay_csv_index_fn assay_csv_index_kernel(assay_simd_level level);

#define ASSAY_CSV_SEP_NEWLINE 0x80000000u

#endif
