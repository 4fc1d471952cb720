/*
 * Scoring: the quality model (docs/design.md, "Quality model").
 *
 * Each rule belongs to one of seven dimensions. A dimension's score over a window is
 *     s_d = 100 * (1 - sum of failed / sum of evaluated)   over the rules of d,
 * which is exactly the model's table: completeness = 1 - null cells / checked
 * cells, uniqueness = 1 - duplicate keys / keys, validity = passed / checks, ...
 * A table-level rule (row_count) is one check per window. Every row is also checked
 * for well-formedness: rows that could not be parsed count as failed validity
 * checks (docs/design.md), so validity is present whenever there is input.
 *
 * The overall score is the weighted mean over the dimensions that had at least one
 * check; absent dimensions are left out, not counted as 100:
 *     overall = sum_d w_d * s_d / sum_d w_d     (d present, w_d > 0)
 * With no checks at all the overall score is 100 (nothing failed).
 */
#include <string.h>

#include "assay/engine.h"

void assay_score(assay_result *r, const assay_config *cfg)
{
    memset(r->dim_checks, 0, sizeof(r->dim_checks));
    memset(r->dim_failed, 0, sizeof(r->dim_failed));
    for (size_t i = 0; i < r->nrules; i++) {
        const assay_rule_result *rr = &r->rules[i];
        assay_dimension d = rr->cfg->dimension;
        r->dim_checks[d] += rr->evaluated;
        r->dim_failed[d] += rr->failed;
    }
    r->dim_checks[ASSAY_DIM_VALIDITY] += r->rows;
    r->dim_failed[ASSAY_DIM_VALIDITY] += r->bad_rows;

    double num = 0, den = 0;
    for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
        r->dim_present[d] = r->dim_checks[d] > 0;
        if (!r->dim_present[d]) {
            r->dims[d] = 0;
            continue;
        }
        uint64_t failed = r->dim_failed[d] > r->dim_checks[d] ? r->dim_checks[d] : r->dim_failed[d];
        r->dims[d] = 100.0 * (1.0 - (double)failed / (double)r->dim_checks[d]);
        num += cfg->weights[d] * r->dims[d];
        den += cfg->weights[d];
    }
    r->overall = den > 0 ? num / den : 100.0;
}
