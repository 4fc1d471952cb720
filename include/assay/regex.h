/*
 * assay/regex.h - `matches` rules through Vectorscan/Hyperscan. All patterns of one
 * column go into one database, compiled once and shared read-only by every shard; each
 * shard owns a scratch. Matching is search semantics (like re.search): anchor with
 * ^...$ to match the whole value.
 */
#ifndef ASSAY_REGEX_H
#define ASSAY_REGEX_H

#include "assay/common.h"

typedef struct assay_regex_db assay_regex_db;
typedef struct assay_regex_scratch assay_regex_scratch;

/* Compile n patterns. On error, err names the pattern's index and Hyperscan's
 * message, e.g. "pattern 2 '^(abc': Missing close parenthesis for group started at
 * index 1". */
ASSAY_API int assay_regex_compile(const char *const *patterns, size_t n, assay_regex_db **out,
                                  assay_error *err);
ASSAY_API void assay_regex_free(assay_regex_db *db);
ASSAY_API size_t assay_regex_count(const assay_regex_db *db);

ASSAY_API int assay_regex_scratch_new(const assay_regex_db *db, assay_regex_scratch **out);
ASSAY_API void assay_regex_scratch_free(assay_regex_scratch *s);

/* For each value i < n not set in skip (may be NULL) and each pattern j, set bit i of
 * match[j] when pattern j matches value i. Each match[j] has ASSAY_BITMAP_WORDS(n)
 * words and is cleared by the call first. */
ASSAY_API int assay_regex_match_batch(const assay_regex_db *db, assay_regex_scratch *s,
                                      const char *const *vals, const uint32_t *lens,
                                      const uint64_t *skip, size_t n, uint64_t **match);

/* Named formats usable as `format: NAME`: email uuid ipv4 iso_date phone_e164.
 * Returns 0 and the pattern, or -ENOENT. */
ASSAY_API int assay_format_pattern(const char *name, const char **pattern);

/* NULL-terminated list of the format names. */
ASSAY_API const char *const *assay_format_names(void);

#endif
