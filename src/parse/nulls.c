/*
 * nulls.c - null token sets (see include/assay/nulls.h).
 *
 * Matching is done by the parsers after a batch is framed (csv.c, ndjson.c), over
 * the wanted cells only, and skipped entirely when the set is empty, so the default
 * costs nothing. Per cell it is one shift-and-test of the length mask; only cells
 * whose length equals some token's are compared, and those compares are a few bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/nulls.h"

int assay_null_tokens_add(assay_null_tokens *t, const char *s, size_t len, assay_error *err)
{
    if (len > ASSAY_NULL_TOKEN_MAX_LEN)
        return assay_error_set(err, -EINVAL,
                               "null value '%.20s...' is longer than %d bytes; null values are "
                               "short spellings like NA or N/A",
                               s, ASSAY_NULL_TOKEN_MAX_LEN);
    if (memchr(s, '\n', len) || memchr(s, '\r', len))
        return assay_error_set(err, -EINVAL, "a null value cannot hold a line break");
    if (assay_null_tokens_match(t, s, len))
        return 0; /* listed twice: once is enough */
    if (t->n == ASSAY_NULL_TOKENS_MAX)
        return assay_error_set(err, -EINVAL, "more than %d null values; list at most %d",
                               ASSAY_NULL_TOKENS_MAX, ASSAY_NULL_TOKENS_MAX);
    memcpy(t->text[t->n], s, len);
    t->text[t->n][len] = '\0';
    t->len[t->n] = (uint8_t)len;
    t->len_mask |= 1ull << len;
    t->n++;
    return 0;
}

int assay_null_tokens_set(assay_null_tokens *t, const char *const *tokens, size_t n,
                          assay_error *err)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        int rc = assay_null_tokens_add(t, tokens[i], strlen(tokens[i]), err);
        if (rc < 0) {
            memset(t, 0, sizeof(*t));
            return rc;
        }
    }
    return 0;
}

int assay_null_tokens_parse_list(assay_null_tokens *t, const char *list, assay_error *err)
{
    memset(t, 0, sizeof(*t));
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int rc = assay_null_tokens_add(t, p, len, err);
        if (rc < 0) {
            memset(t, 0, sizeof(*t));
            return rc;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

bool assay_is_common_null_token(const char *s, size_t len)
{
    static const char *const common[] = { "na",  "n/a", "null", "none", "nil",
                                          "nan", "-",   "--",   "#n/a", "(null)" };
    if (len == 0 || len > 6)
        return false;
    char low[8];
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        low[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(common); i++)
        if (strlen(common[i]) == len && memcmp(common[i], low, len) == 0)
            return true;
    return false;
}
