/*
 * assay/nulls.h - text that means null (source.null_values, --null-values).
 *
 * By default only the empty CSV field (and JSON null or a missing key) is null. A
 * token set lists more spellings ("NA", "N/A", "-"); the parsers mark a cell whose
 * whole text equals one of them as ASSAY_CELL_NULL, so every later stage (rules, the
 * profile, type inference) sees a null. The set is small and fixed-size, so it lives
 * inside the parser options and is read-only while shards parse.
 */
#ifndef ASSAY_NULLS_H
#define ASSAY_NULLS_H

#include <string.h>

#include "assay/common.h"

#define ASSAY_NULL_TOKENS_MAX    32 /* tokens in one set */
#define ASSAY_NULL_TOKEN_MAX_LEN 63 /* bytes of one token */

typedef struct assay_null_tokens {
    uint32_t n;
    uint64_t len_mask; /* bit L set when some token is L bytes long: one test rejects most cells */
    uint8_t len[ASSAY_NULL_TOKENS_MAX];
    char text[ASSAY_NULL_TOKENS_MAX][ASSAY_NULL_TOKEN_MAX_LEN + 1];
} assay_null_tokens;

/* Build a set from n strings (n == 0: the empty set, the default). -EINVAL with a
 * message naming the token when there are more than ASSAY_NULL_TOKENS_MAX, one is
 * longer than ASSAY_NULL_TOKEN_MAX_LEN bytes, or one holds a line break. Repeats are
 * kept once. */
ASSAY_API int assay_null_tokens_set(assay_null_tokens *t, const char *const *tokens, size_t n,
                                    assay_error *err);

/* Add one token s[0..len) to t (already there: nothing happens). Same errors. */
ASSAY_API int assay_null_tokens_add(assay_null_tokens *t, const char *s, size_t len,
                                    assay_error *err);

/* Split a comma-separated list ("NA,N/A,-") into a set, as --null-values gives it.
 * Tokens are taken as written (no trimming, no quoting); an empty item is the empty
 * string. Same errors as assay_null_tokens_set. */
ASSAY_API int assay_null_tokens_parse_list(assay_null_tokens *t, const char *list,
                                           assay_error *err);

/* Whether s[0..len) is exactly one of the tokens. Inline: the parsers call it per
 * cell, and the length mask answers "no" for most cells without touching the text. */
static inline bool assay_null_tokens_match(const assay_null_tokens *t, const char *s, size_t len)
{
    if (len > ASSAY_NULL_TOKEN_MAX_LEN || !((t->len_mask >> len) & 1))
        return false;
    /* same length: the first byte settles most (USD vs N/A), before any memcmp */
    for (uint32_t i = 0; i < t->n; i++)
        if (t->len[i] == len &&
            (len == 0 || (t->text[i][0] == s[0] && memcmp(t->text[i] + 1, s + 1, len - 1) == 0)))
            return true;
    return false;
}

/* Whether s[0..len) is a common spelling of "no value" that files use instead of an
 * empty field: NA, N/A, null, None, nil, NaN, -, --, #N/A, (null), in any letter
 * case. Not used for parsing (the default is only the empty field); the profile uses
 * it to suggest source.null_values for a column full of them. */
ASSAY_API bool assay_is_common_null_token(const char *s, size_t len);

/* A cheap first test for the above, inlined in the profile's loop: every common token
 * is 1-6 bytes and starts with n/N, '-', '#' or '(' (most short values - codes,
 * currencies, countries - fail on the first byte). */
static inline bool assay_may_be_null_token(const char *s, size_t len)
{
    if (len == 0 || len > 6)
        return false;
    char c = (char)(s[0] | 0x20);
    return c == 'n' || c == '-' || c == '#' || c == '(';
}

#endif
