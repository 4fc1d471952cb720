/*
 * report.h - pieces of the reports that the record encoders share.
 */
#ifndef ASSAY_REPORT_H
#define ASSAY_REPORT_H

#include "assay/engine.h"
#include "engine/json_writer.h"

/* A value in the column's own terms: timestamps as RFC 3339, whole numbers of an int
 * column as integers, NaN as null. */
void assay_json_column_value(assay_json *j, const assay_column_result *c, double v);

/* Spread (stddev) of a timestamp column in seconds; other columns unchanged. */
double assay_column_spread(const assay_column_result *c, double v);

/* The forest's counts: scored, not_ready, judged, count (anomalies) and rate. */
void assay_json_anomaly_counts(assay_json *j, const assay_anomaly_result *a);

/* A rule's name, column, check, dimension and severity, as keys of an open object. */
void assay_json_rule_head(assay_json *j, const assay_rule_config *c);

/* "dimensions": the score of each dimension present, with the given decimals. */
void assay_json_dimensions(assay_json *j, const bool *present, const double *dims, int digits);

/* The fields every column record carries once profiled: distinct, min, max, mean and
 * stddev; and the quantiles (an object for numeric columns, null otherwise). */
void assay_json_column_summary(assay_json *j, const assay_column_result *c);
void assay_json_column_quantiles(assay_json *j, const assay_column_result *c);

/* One alert record as a JSON object (src/sink/encode_json.c). */
struct assay_alert;
void assay_json_alert(assay_json *j, const struct assay_alert *a);
/* A column of a score record (src/sink/encode_json.c). */
void assay_json_score_column(assay_json *j, const assay_column_result *c);

#endif
