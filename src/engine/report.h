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

#endif
