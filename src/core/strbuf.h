/* strbuf.h - growable byte buffer for building output text. */
#ifndef ASSAY_STRBUF_H
#define ASSAY_STRBUF_H

#include "assay/common.h"

typedef struct assay_strbuf {
    char *data; /* NUL-terminated while len < cap */
    size_t len, cap;
    bool oom; /* an allocation failed; further appends are dropped */
} assay_strbuf;

void assay_sb_init(assay_strbuf *sb);
void assay_sb_free(assay_strbuf *sb);
void assay_sb_append(assay_strbuf *sb, const char *s, size_t n);
void assay_sb_puts(assay_strbuf *sb, const char *s);
void assay_sb_putc(assay_strbuf *sb, char c);
void assay_sb_printf(assay_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Integer with thousands separators: 1234567 -> "1,234,567". */
void assay_sb_count(assay_strbuf *sb, uint64_t v);

#endif
