/*
 * assay/sniff.h - refuse input that is not what the parsers read, with a message that
 * says what it is and how to convert it, instead of a screen of bad rows.
 *
 * Looked at once per file, on its first chunk:
 *   - UTF-16 (a byte order mark FF FE or FE FF, or NUL bytes at every other offset):
 *     "x.csv looks like UTF-16 (little endian); convert it with iconv ...";
 *   - lines ended by a carriage return alone (classic Mac OS): the first row holds a
 *     CR, outside quotes (CSV) or strings (NDJSON), that no LF follows;
 *   - NDJSON input that is one JSON array of objects (`[` then `{` or `]`): assay
 *     reads one object per line; `jq -c '.[]'` converts it.
 * Messages name the file (and line 1 where it applies) and show no raw control bytes.
 */
#ifndef ASSAY_SNIFF_H
#define ASSAY_SNIFF_H

#include "assay/common.h"

/* buf[0..len): the start of the file called name (after a UTF-8 byte order mark);
 * ndjson: the format is NDJSON (else CSV with quote character quote). Returns 0, or
 * -EINVAL with err naming the file, what it looks like and the command to convert it. */
ASSAY_API int assay_sniff_input(const char *buf, size_t len, bool ndjson, char quote,
                                const char *name, assay_error *err);

#endif
