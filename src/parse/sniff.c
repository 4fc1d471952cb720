/*
 * sniff.c - recognise input the parsers cannot read (see include/assay/sniff.h).
 *
 * Why refuse rather than read: UTF-16 would need transcoding in front of every
 * parser; lone-CR line ends would need a second newline byte in the three CSV index
 * kernels and in chunk cutting; a JSON array spread over lines would need a framer
 * that follows bracket nesting across chunks. Each is rare and each converts with one
 * standard command, so the message gives that command. Only the first bytes are
 * looked at (at most SAMPLE), so this costs nothing measurable per file.
 */
#include <stdio.h>
#include <string.h>

#include "assay/sniff.h"

#define SAMPLE 4096

/* UTF-16 without a byte order mark: ASCII text in UTF-16 has a NUL in every other
 * byte. 1: little endian (NULs at odd offsets), 2: big endian, 0: neither. */
static int nul_pattern(const unsigned char *b, size_t len)
{
    size_t n = len < SAMPLE ? len : SAMPLE;
    n &= ~(size_t)1;
    if (n < 4)
        return 0;
    size_t even = 0, odd = 0;
    for (size_t i = 0; i < n; i += 2) {
        even += b[i] == 0;
        odd += b[i + 1] == 0;
    }
    size_t pairs = n / 2;
    if (odd * 4 >= pairs * 3 && even * 4 < pairs)
        return 1;
    if (even * 4 >= pairs * 3 && odd * 4 < pairs)
        return 2;
    return 0;
}

/* A carriage return in the first row, outside quotes (CSV) or strings (NDJSON), that
 * no line feed follows. */
static bool lone_cr(const char *buf, size_t len, bool ndjson, char quote)
{
    bool inq = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (ndjson && inq && c == '\\') {
            i++; /* an escaped byte cannot close the string */
            continue;
        }
        if (c == quote) {
            inq = !inq;
        } else if (!inq && c == '\n') {
            return false;
        } else if (!inq && c == '\r' && (i + 1 == len || buf[i + 1] != '\n')) {
            return i + 1 < len; /* a CR that ends the input is just a last line end */
        }
    }
    return false;
}

static size_t skip_ws(const char *buf, size_t len, size_t i)
{
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i;
}

int assay_sniff_input(const char *buf, size_t len, bool ndjson, char quote, const char *name,
                      assay_error *err)
{
    const unsigned char *b = (const unsigned char *)buf;
    if (!buf || len == 0)
        return 0;
    int u16 = 0;
    bool bom = false;
    if (len >= 2 && b[0] == 0xFF && b[1] == 0xFE)
        u16 = 1, bom = true;
    else if (len >= 2 && b[0] == 0xFE && b[1] == 0xFF)
        u16 = 2, bom = true;
    else
        u16 = nul_pattern(b, len);
    if (u16) {
        const char *end = u16 == 1 ? "little" : "big";
        const char *from = bom ? "UTF-16" : u16 == 1 ? "UTF-16LE" : "UTF-16BE";
        return assay_error_set(err, -EINVAL,
                               "%s looks like UTF-16 (%s endian); assay reads UTF-8: convert it "
                               "with iconv -f %s -t UTF-8 %s > %s.utf8",
                               name, end, from, name, name);
    }
    if (lone_cr(buf, len < SAMPLE * 16 ? len : SAMPLE * 16, ndjson, ndjson ? '"' : quote))
        return assay_error_set(err, -EINVAL,
                               "%s:1: lines end with a carriage return alone (\\r, classic Mac OS "
                               "line ends), which assay does not take as a line break: convert "
                               "them with tr '\\r' '\\n' < %s > %s.unix",
                               name, name, name);
    if (ndjson) {
        size_t i = skip_ws(buf, len, 0);
        if (i < len && buf[i] == '[') {
            size_t j = skip_ws(buf, len, i + 1);
            if (j < len && (buf[j] == '{' || buf[j] == ']'))
                return assay_error_set(err, -EINVAL,
                                       "%s:1: this file is one JSON array; assay reads one object "
                                       "per line (NDJSON): convert it with jq -c '.[]' %s > "
                                       "%s.ndjson",
                                       name, name, name);
        }
    }
    return 0;
}
