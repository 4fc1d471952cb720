/* assay/utf8.h - UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef ASSAY_UTF8_H
#define ASSAY_UTF8_H

#include "assay/common.h"

/* Returns len when s is valid UTF-8, else the offset of the first invalid byte. */
ASSAY_API size_t assay_utf8_check(const char *s, size_t len);

/* Number of code points in valid UTF-8 s (for `length` rules). */
ASSAY_API size_t assay_utf8_length(const char *s, size_t len);

#endif
