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
 * words and is cleared by the call first. Values may contain any byte ('\n', NUL).
 * When every value is skipped (or n == 0) Hyperscan is not called and s may be NULL.
 * Returns 0, -ENOMEM, -EBUSY (scratch in use by another scan) or -EINVAL/-EIO. */
ASSAY_API int assay_regex_match_batch(const assay_regex_db *db, assay_regex_scratch *s,
                                      const char *const *vals, const uint32_t *lens,
                                      const uint64_t *skip, size_t n, uint64_t **match);

/* How match_batch scans (see src/rules/regex.c): JOINED scans the batch's values
 * joined by '\n' in one call, PER_VALUE one call per value. Both give identical
 * results; which is faster depends on the patterns and the data, so AUTO (the
 * default) times both on a few batches now and then and uses the faster. Setting a
 * fixed strategy is for tests and benchmarks. */
typedef enum assay_regex_strategy {
    ASSAY_REGEX_AUTO = 0,
    ASSAY_REGEX_PER_VALUE,
    ASSAY_REGEX_JOINED,
} assay_regex_strategy;
ASSAY_API void assay_regex_scratch_set_strategy(assay_regex_scratch *s,
                                                assay_regex_strategy strategy);

/* Whether pattern j is scanned joined (provably safe, see regex.c) rather than per value. */
ASSAY_API bool assay_regex_joinable(const assay_regex_db *db, size_t j);

/* Named formats usable as `format: NAME`: email uuid ipv4 iso_date phone_e164.
 * Returns 0 and the pattern, or -ENOENT. */
ASSAY_API int assay_format_pattern(const char *name, const char **pattern);

/* NULL-terminated list of the format names. */
ASSAY_API const char *const *assay_format_names(void);

#endif
