/*
 * encode_json.c - score and quarantine records as JSON, one object per line, with the
 * field names docs/outputs.md lists. Times are RFC 3339 UTC
 * strings; NaN and undefined values are null; `overall` is null for a window without
 * rows. The JSON writer replaces invalid UTF-8 with U+FFFD, so a quarantined row's
 * `value` is its bytes where they are text (FlatBuffers records carry them exactly).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/alert.h"
#include "assay/number.h"
#include "assay/sink.h"
#include "core/strbuf.h"
#include "engine/json_writer.h"
#include "engine/report.h"

static void time_or_null(assay_json *j, bool has, int64_t us)
{
    if (!has) {
        assay_json_null(j);
        return;
    }
    assay_json_time(j, us);
}

void assay_json_score_column(assay_json *j, const assay_column_result *c)
{
    assay_json_obj_open(j);
    assay_json_key(j, "name");
    assay_json_str(j, c->name);
    assay_json_key(j, "type");
    assay_json_str(j, assay_type_name(c->type));
    if (c->parsed) {
        assay_json_key(j, "count");
        assay_json_u64(j, c->count);
        assay_json_key(j, "nulls");
        assay_json_u64(j, c->nulls);
        assay_json_key(j, "null_rate");
        assay_json_f64(j, c->count ? (double)c->nulls / (double)c->count : 0);
    }
    if (c->profiled) {
        assay_json_column_summary(j, c);
        assay_json_column_quantiles(j, c);
    }
    assay_json_obj_close(j);
}

int assay_encode_score_json(const assay_result *w, const assay_config *cfg, char **out, size_t *len)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    assay_json_key(&j, "type");
    assay_json_str(&j, "score");
    assay_json_key(&j, "id");
    assay_json_str(&j, w->id);
    assay_json_key(&j, "asset");
    assay_json_str(&j, cfg->asset ? cfg->asset : "");
    assay_json_key(&j, "window_start");
    time_or_null(&j, w->windowed, w->window_start);
    assay_json_key(&j, "window_end");
    time_or_null(&j, w->windowed, w->window_end);
    assay_json_key(&j, "rows");
    assay_json_u64(&j, w->rows);
    assay_json_key(&j, "late_rows");
    assay_json_u64(&j, w->late_rows);
    assay_json_key(&j, "bad_rows");
    assay_json_u64(&j, w->bad_rows);
    assay_json_key(&j, "overall");
    if (w->rows)
        assay_json_fixed(&j, w->overall, 4);
    else
        assay_json_null(&j);
    assay_json_dimensions(&j, w->dim_present, w->dims, 4);
    assay_json_key(&j, "rules");
    assay_json_arr_open(&j);
    for (size_t r = 0; r < w->nrules; r++) {
        const assay_rule_result *rr = &w->rules[r];
        assay_json_obj_open(&j);
        assay_json_key(&j, "name");
        assay_json_str(&j, rr->cfg->name);
        assay_json_key(&j, "evaluated");
        assay_json_u64(&j, rr->evaluated);
        assay_json_key(&j, "failed");
        assay_json_u64(&j, rr->failed);
        if (rr->cfg->check == ASSAY_CHECK_EXPR) {
            assay_json_key(&j, "unevaluated");
            assay_json_u64(&j, rr->unevaluated);
        }
        if (rr->breached) {
            assay_json_key(&j, "breached");
            assay_json_bool(&j, true);
        }
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    assay_json_key(&j, "columns");
    assay_json_arr_open(&j);
    for (size_t c = 0; c < w->ncolumns; c++)
        assay_json_score_column(&j, &w->columns[c]);
    assay_json_arr_close(&j);
    if (w->nnew_columns) { /* keys outside the schema (NDJSON): only when there are some */
        assay_json_key(&j, "new_columns");
        assay_json_arr_open(&j);
        for (size_t k = 0; k < w->nnew_columns; k++) {
            assay_json_obj_open(&j);
            assay_json_key(&j, "name");
            assay_json_str(&j, w->new_columns[k].name);
            assay_json_key(&j, "rows");
            assay_json_u64(&j, w->new_columns[k].rows);
            assay_json_obj_close(&j);
        }
        assay_json_arr_close(&j);
    }
    assay_json_key(&j, "anomalies");
    if (w->anomaly.enabled) {
        const assay_anomaly_result *a = &w->anomaly;
        assay_json_obj_open(&j);
        assay_json_anomaly_counts(&j, a);
        assay_json_key(&j, "contamination");
        assay_json_f64(&j, a->contamination);
        assay_json_obj_close(&j);
    } else {
        assay_json_null(&j);
    }
    assay_json_obj_close(&j);
    return assay_json_finish(&sb, out, len);
}

int assay_encode_quarantine_json(const assay_quarantine_row *q, char **out, size_t *len)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    assay_json_key(&j, "type");
    assay_json_str(&j, "quarantine");
    assay_json_key(&j, "asset");
    assay_json_str(&j, q->asset ? q->asset : "");
    assay_json_key(&j, "rules");
    assay_json_arr_open(&j);
    for (size_t i = 0; i < q->n; i++)
        assay_json_str(&j, q->rules[i]);
    assay_json_arr_close(&j);
    assay_json_key(&j, "reasons");
    assay_json_arr_open(&j);
    for (size_t i = 0; i < q->n; i++)
        assay_json_str(&j, q->reasons[i]);
    assay_json_arr_close(&j);
    assay_json_key(&j, "source");
    assay_json_obj_open(&j);
    if (q->topic) {
        assay_json_key(&j, "topic");
        assay_json_str(&j, q->topic);
        assay_json_key(&j, "partition");
        assay_json_i64(&j, q->partition);
        assay_json_key(&j, "offset");
        if (q->msg)
            assay_json_i64(&j, q->msg->offset);
        else
            assay_json_null(&j);
    } else {
        assay_json_key(&j, "file");
        assay_json_str(&j, q->file); /* null for stdin and memory */
        assay_json_key(&j, "line");
        assay_json_u64(&j, q->line);
    }
    assay_json_obj_close(&j);
    assay_json_key(&j, "row");
    assay_json_u64(&j, q->row);
    assay_json_key(&j, "value");
    assay_json_strn(&j, q->value, q->value_len);
    assay_json_obj_close(&j);
    return assay_json_finish(&sb, out, len);
}

static void num_or_null(assay_json *j, double v, int digits)
{
    if (isnan(v))
        assay_json_null(j);
    else if (digits >= 0)
        assay_json_fixed(j, v, digits);
    else
        assay_json_f64(j, v);
}

int assay_encode_alert_json(const assay_alert *a, char **out, size_t *len)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_alert(&j, a);
    return assay_json_finish(&sb, out, len);
}

void assay_json_alert(assay_json *j, const assay_alert *a)
{
    assay_json_obj_open(j);
    assay_json_key(j, "type");
    assay_json_str(j, a->state == ASSAY_ALERT_ACKED ? "alert_ack" : "alert");
    assay_json_key(j, "id");
    assay_json_str(j, a->id);
    assay_json_key(j, "state");
    assay_json_str(j, assay_alert_state_name(a->state));
    assay_json_key(j, "kind");
    assay_json_str(j, assay_alert_kind_name(a->kind));
    assay_json_key(j, "severity");
    assay_json_str(j, assay_severity_name(a->severity));
    assay_json_key(j, "asset");
    assay_json_str(j, a->asset ? a->asset : "");
    assay_json_key(j, "subject");
    assay_json_str(j, a->subject);
    assay_json_key(j, "column");
    assay_json_str(j, a->column);
    assay_json_key(j, "rule");
    assay_json_str(j, a->rule);
    assay_json_key(j, "metric");
    assay_json_str(j, a->metric);
    assay_json_key(j, "threshold");
    num_or_null(j, a->threshold, -1);
    assay_json_key(j, "value");
    num_or_null(j, a->value, -1);
    assay_json_key(j, "previous");
    num_or_null(j, a->previous, -1);
    bool windowed = a->window_end > a->window_start;
    assay_json_key(j, "window_start");
    time_or_null(j, windowed, a->window_start);
    assay_json_key(j, "window_end");
    time_or_null(j, windowed, a->window_end);
    assay_json_key(j, "fired_at");
    time_or_null(j, windowed, a->fired_start);
    assay_json_key(j, "acked");
    assay_json_bool(j, a->acked);
    assay_json_key(j, "title");
    assay_json_str(j, a->title);
    assay_json_key(j, "explanation");
    assay_json_str(j, a->explanation);
    assay_json_key(j, "impact");
    assay_json_obj_open(j);
    assay_json_key(j, "rows");
    assay_json_u64(j, a->impact_rows);
    assay_json_key(j, "revenue_at_risk");
    num_or_null(j, a->has_revenue ? a->revenue_at_risk : NAN, 2);
    assay_json_key(j, "affected_users");
    num_or_null(j, a->has_users ? round(a->affected_users) : NAN, -1);
    assay_json_obj_close(j);
    assay_json_key(j, "samples");
    assay_json_arr_open(j);
    for (size_t i = 0; i < a->nsamples; i++) {
        assay_json_obj_open(j);
        assay_json_key(j, "row");
        assay_json_u64(j, a->samples[i].row);
        if (a->samples[i].line) {
            assay_json_key(j, "line");
            assay_json_u64(j, a->samples[i].line);
        }
        if (a->samples[i].offset >= 0) {
            assay_json_key(j, "offset");
            assay_json_u64(j, (uint64_t)a->samples[i].offset);
        }
        assay_json_key(j, "value");
        assay_json_str(j, a->samples[i].value);
        assay_json_obj_close(j);
    }
    assay_json_arr_close(j);
    assay_json_key(j, "root_cause");
    assay_json_arr_open(j);
    for (size_t i = 0; i < a->ncauses; i++) {
        const assay_alert_cause *c = &a->causes[i];
        assay_json_obj_open(j);
        assay_json_key(j, "rule");
        assay_json_str(j, c->rule);
        assay_json_key(j, "column");
        assay_json_str(j, c->column);
        assay_json_key(j, "dimension");
        assay_json_str(j, c->dimension);
        assay_json_key(j, "points");
        assay_json_fixed(j, c->points, 4);
        assay_json_key(j, "fail_rate");
        assay_json_f64(j, c->fail_rate);
        assay_json_key(j, "previous_fail_rate");
        assay_json_f64(j, c->prev_fail_rate);
        assay_json_obj_close(j);
    }
    assay_json_arr_close(j);
    assay_json_key(j, "forecast");
    if (a->nforecast) {
        assay_json_obj_open(j);
        assay_json_key(j, "scores");
        assay_json_arr_open(j);
        for (size_t i = 0; i < a->nforecast; i++)
            assay_json_fixed(j, a->forecast[i], 4);
        assay_json_arr_close(j);
        if (a->forecast_contract) {
            assay_json_key(j, "contract");
            assay_json_str(j, a->forecast_contract);
            assay_json_key(j, "min_score");
            assay_json_f64(j, a->forecast_min_score);
            assay_json_key(j, "windows_to_breach");
            if (a->forecast_windows_to_breach < 0)
                assay_json_null(j);
            else
                assay_json_i64(j, a->forecast_windows_to_breach);
        }
        assay_json_obj_close(j);
    } else {
        assay_json_null(j);
    }
    assay_json_obj_close(j);
}
