/*
 * json_writer.h - streaming JSON output with correct string escaping. Commas between
 * members and elements are inserted automatically; the caller only opens, names and
 * closes. Invalid UTF-8 in strings is replaced by U+FFFD so output is always valid.
 */
#ifndef ASSAY_JSON_WRITER_H
#define ASSAY_JSON_WRITER_H

#include "core/strbuf.h"

#define ASSAY_JSON_DEPTH 32

typedef struct assay_json {
    assay_strbuf *out;
    int depth;
    bool first[ASSAY_JSON_DEPTH]; /* no element written yet at this depth */
    bool after_key;
} assay_json;

void assay_json_init(assay_json *j, assay_strbuf *out);
void assay_json_obj_open(assay_json *j);
void assay_json_obj_close(assay_json *j);
void assay_json_arr_open(assay_json *j);
void assay_json_arr_close(assay_json *j);
void assay_json_key(assay_json *j, const char *k);
void assay_json_str(assay_json *j, const char *s);
void assay_json_strn(assay_json *j, const char *s, size_t n);
void assay_json_u64(assay_json *j, uint64_t v);
void assay_json_i64(assay_json *j, int64_t v);
/* Doubles are written shortest-round-trip; NaN/inf become null. */
void assay_json_f64(assay_json *j, double v);
/* Rounded to `digits` decimals (scores, rates), still a JSON number. */
void assay_json_fixed(assay_json *j, double v, int digits);
void assay_json_bool(assay_json *j, bool v);
void assay_json_null(assay_json *j);
/* A timestamp (microseconds since the epoch) as an RFC 3339 string. */
void assay_json_time(assay_json *j, int64_t us);
/* Hand the finished text over: *out and *len take sb's buffer, or -ENOMEM (sb freed) when
 * writing ran out of memory. */
int assay_json_finish(assay_strbuf *sb, char **out, size_t *len);

#endif
