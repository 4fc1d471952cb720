/*
 * Streaming JSON writer (RFC 8259). Strings are escaped per §7: quote, backslash and
 * control characters; everything else passes through as UTF-8. Bytes that are not
 * valid UTF-8 become U+FFFD, so a sample value taken from broken input still yields a
 * parseable record.
 */
#include <math.h>
#include <stdio.h>

#include "assay/number.h"
#include "assay/utf8.h"
#include "engine/json_writer.h"

void assay_json_init(assay_json *j, assay_strbuf *out)
{
    j->out = out;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}

static void sep(assay_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        assay_sb_putc(j->out, ',');
    j->first[j->depth] = false;
}

static void open_(assay_json *j, char c)
{
    sep(j);
    assay_sb_putc(j->out, c);
    if (j->depth + 1 < ASSAY_JSON_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
}

static void close_(assay_json *j, char c)
{
    assay_sb_putc(j->out, c);
    if (j->depth > 0)
        j->depth--;
}

void assay_json_obj_open(assay_json *j)
{
    open_(j, '{');
}

void assay_json_obj_close(assay_json *j)
{
    close_(j, '}');
}

void assay_json_arr_open(assay_json *j)
{
    open_(j, '[');
}

void assay_json_arr_close(assay_json *j)
{
    close_(j, ']');
}

static void escaped(assay_strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    assay_sb_putc(sb, '"');
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\' &&
               (unsigned char)s[run] < 0x80)
            run++;
        assay_sb_append(sb, s + i, run - i);
        i = run;
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* Copy the longest valid UTF-8 prefix of the rest, or one U+FFFD. */
            size_t end = i;
            while (end < n && (unsigned char)s[end] >= 0x80)
                end++;
            size_t ok = assay_utf8_check(s + i, end - i);
            if (ok > 0) {
                assay_sb_append(sb, s + i, ok);
                i += ok;
            } else {
                assay_sb_puts(sb, "\xEF\xBF\xBD");
                i++;
            }
            continue;
        }
        switch (c) {
        case '"':
            assay_sb_puts(sb, "\\\"");
            break;
        case '\\':
            assay_sb_puts(sb, "\\\\");
            break;
        case '\n':
            assay_sb_puts(sb, "\\n");
            break;
        case '\r':
            assay_sb_puts(sb, "\\r");
            break;
        case '\t':
            assay_sb_puts(sb, "\\t");
            break;
        default: {
            char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
            assay_sb_append(sb, u, 6);
        }
        }
        i++;
    }
    assay_sb_putc(sb, '"');
}

void assay_json_key(assay_json *j, const char *k)
{
    sep(j);
    escaped(j->out, k, __builtin_strlen(k));
    assay_sb_putc(j->out, ':');
    j->after_key = true;
}

void assay_json_strn(assay_json *j, const char *s, size_t n)
{
    sep(j);
    escaped(j->out, s, n);
}

void assay_json_str(assay_json *j, const char *s)
{
    if (!s) {
        assay_json_null(j);
        return;
    }
    assay_json_strn(j, s, __builtin_strlen(s));
}

void assay_json_u64(assay_json *j, uint64_t v)
{
    sep(j);
    assay_sb_printf(j->out, "%llu", (unsigned long long)v);
}

void assay_json_i64(assay_json *j, int64_t v)
{
    sep(j);
    assay_sb_printf(j->out, "%lld", (long long)v);
}

void assay_json_f64(assay_json *j, double v)
{
    if (!isfinite(v)) {
        assay_json_null(j);
        return;
    }
    sep(j);
    char buf[40];
    size_t n = assay_format_double(v, buf, sizeof(buf));
    assay_sb_append(j->out, buf, n);
}

void assay_json_fixed(assay_json *j, double v, int digits)
{
    if (!isfinite(v)) {
        assay_json_null(j);
        return;
    }
    sep(j);
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%.*f", digits, v);
    /* Trim trailing zeros so 100.00 prints as 100 and 97.50 as 97.5. */
    if (digits > 0) {
        while (n > 1 && buf[n - 1] == '0')
            n--;
        if (buf[n - 1] == '.')
            n--;
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0')
        buf[0] = '0', n = 1;
    assay_sb_append(j->out, buf, (size_t)n);
}

void assay_json_bool(assay_json *j, bool v)
{
    sep(j);
    assay_sb_puts(j->out, v ? "true" : "false");
}

void assay_json_null(assay_json *j)
{
    sep(j);
    assay_sb_puts(j->out, "null");
}

void assay_json_time(assay_json *j, int64_t us)
{
    char buf[40];
    assay_format_timestamp(us, buf, sizeof(buf));
    assay_json_str(j, buf);
}

int assay_json_finish(assay_strbuf *sb, char **out, size_t *len)
{
    if (sb->oom) {
        assay_sb_free(sb);
        return -ENOMEM;
    }
    *out = sb->data;
    *len = sb->len;
    return 0;
}
