/*
 * formats.c - named formats for `matches` rules (`format: NAME`).
 *
 * Each format is an ordinary pattern compiled with the column's other patterns (see
 * regex.c), anchored at both ends. The end anchor is \z, not $: in PCRE (and
 * Hyperscan) $ also matches before a final '\n', so "2024-01-31\n" would pass a
 * ^...$ date check; \z does not allow that. regex.c rewrites \z to $ for its joined
 * scan, where it is equivalent, so the formats stay on the fast path.
 *
 * email      A pragmatic version of the WHATWG HTML "valid e-mail address"
 *            (HTML Living Standard, 4.10.5.1.5 "E-mail state (type=email)"), which is
 *            itself a deliberate simplification of RFC 5322 section 3.4.1:
 *              local  = dot-atom of RFC 5322 atext: letters, digits and
 *                       ! # $ % & ' * + / = ? ^ _ ` { | } ~ -, in runs separated by
 *                       single dots (no leading, trailing or doubled dot; HTML allows
 *                       those, RFC 5322 does not); no quoted strings, no comments.
 *              domain = HTML's labels (1-63 letters, digits or '-', not starting or
 *                       ending with '-'), but at least two labels, the last one (the
 *                       top-level domain) at least 2 characters and starting with a
 *                       letter: "user@localhost" and "a@1.2.3.4" are rejected, which is
 *                       what a data-quality check on customer addresses wants.
 *            No IP-literal domains, no internationalised (non-ASCII) addresses (use
 *            their punycode form, xn--...), and the 254-byte overall limit of RFC 5321
 *            section 4.5.3.1 is not checked (add a `length` rule for that).
 * uuid       8-4-4-4-12 hex digits, any case, any version/variant (RFC 4122 section 3).
 * ipv4       dotted quad, each octet 0-255 in decimal without leading zeros
 *            ("01.2.3.4" is rejected: some parsers read it as octal).
 * iso_date   YYYY-MM-DD (ISO 8601 / RFC 3339 full-date) with month 01-12 and day 01-31;
 *            day-of-month against the month (2024-02-31) is not checked.
 * phone_e164 '+' then 8 to 15 digits, the first non-zero (ITU-T E.164: at most 15
 *            digits; 8 is a pragmatic lower bound for real subscriber numbers).
 */
#include <string.h>

#include "assay/regex.h"

#define ATEXT "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
#define LABEL "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#define TLD   "[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]"
#define HEX   "[0-9A-Fa-f]"
#define OCTET "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"

static const char *const format_names[] = {
    "email", "uuid", "ipv4", "iso_date", "phone_e164", NULL
};

static const char *const format_patterns[] = {
    "^" ATEXT "+(?:\\." ATEXT "+)*@(?:" LABEL "\\.)+" TLD "\\z",
    "^" HEX "{8}-" HEX "{4}-" HEX "{4}-" HEX "{4}-" HEX "{12}\\z",
    "^" OCTET "\\." OCTET "\\." OCTET "\\." OCTET "\\z",
    "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])\\z",
    "^\\+[1-9][0-9]{7,14}\\z",
};

int assay_format_pattern(const char *name, const char **pattern)
{
    for (size_t i = 0; format_names[i]; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *pattern = format_patterns[i];
            return 0;
        }
    }
    return -ENOENT;
}

const char *const *assay_format_names(void)
{
    return format_names;
}
