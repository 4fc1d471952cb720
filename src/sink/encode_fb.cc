/*
 * encode_fb.cc - score and quarantine records as FlatBuffers, built with the code flatc
 * generates from schemas/assay.fbs at build time, behind C functions (assay/sink.h,
 * assay/alert.h). A record is a Record whose body union holds the Score, Alert or
 * Quarantine; the buffer is
 * finished size-prefixed with the file identifier "ASY1", so a file of them can be read
 * one after another and decoded by `flatc --json --raw-binary --size-prefixed`.
 * Numbers stay numbers: NaN where JSON writes null (NaN is the schema default, so such
 * fields are left out of the buffer).
 */
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

/* NaN fields equal to their NaN default are left out, as for any other default */
#define FLATBUFFERS_NAN_DEFAULTS 1
#include "assay_generated.h"

extern "C" {
#include "assay/alert.h"
#include "assay/number.h"
#include "assay/sink.h"
}

namespace fb = assay::fb;

static int copy_out(flatbuffers::FlatBufferBuilder &b, uint8_t **out, size_t *len)
{
    size_t n = b.GetSize();
    uint8_t *p = static_cast<uint8_t *>(std::malloc(n ? n : 1));
    if (!p)
        return -ENOMEM;
    std::memcpy(p, b.GetBufferPointer(), n);
    *out = p;
    *len = n;
    return 0;
}

static flatbuffers::Offset<flatbuffers::String> time_text(flatbuffers::FlatBufferBuilder &b,
                                                          bool has, int64_t us)
{
    if (!has)
        return 0;
    char buf[40];
    assay_format_timestamp(us, buf, sizeof(buf));
    return b.CreateString(buf);
}

static flatbuffers::Offset<fb::ColumnStats> column(flatbuffers::FlatBufferBuilder &b,
                                                   const assay_column_result *c)
{
    auto name = b.CreateString(c->name);
    auto type = b.CreateString(assay_type_name(c->type));
    flatbuffers::Offset<flatbuffers::String> min_text = 0, max_text = 0;
    flatbuffers::Offset<fb::Quantiles> q = 0;
    double mn = NAN, mx = NAN, mean = NAN, sd = NAN;
    if (c->profiled && c->numeric) {
        mn = c->min;
        mx = c->max;
        mean = c->mean;
        sd = c->type == ASSAY_TYPE_TIMESTAMP ? c->stddev / 1e6 : c->stddev;
        if (c->type == ASSAY_TYPE_TIMESTAMP && !std::isnan(c->min)) {
            min_text = time_text(b, true, (int64_t)std::llround(c->min));
            max_text = time_text(b, true, (int64_t)std::llround(c->max));
        }
        q = fb::CreateQuantiles(b, c->quantiles[0], c->quantiles[1], c->quantiles[2],
                                c->quantiles[3], c->quantiles[4], c->quantiles[5], c->quantiles[6]);
    } else if (c->profiled) {
        if (c->min_text)
            min_text = b.CreateString(c->min_text);
        if (c->max_text)
            max_text = b.CreateString(c->max_text);
    }
    double null_rate = c->parsed ? (c->count ? (double)c->nulls / (double)c->count : 0) : NAN;
    return fb::CreateColumnStats(b, name, type, c->count, c->nulls, null_rate,
                                 c->profiled ? (uint64_t)std::llround(c->distinct) : 0, mn, mx,
                                 min_text, max_text, mean, sd, q);
}

extern "C" int assay_encode_score_fb(const assay_result *w, const assay_config *cfg, uint8_t **out,
                                     size_t *len)
{
    try {
        flatbuffers::FlatBufferBuilder b(4096);
        std::vector<flatbuffers::Offset<fb::DimensionScore>> dims;
        for (int d = 0; d < ASSAY_DIM_COUNT; d++)
            if (w->dim_present[d])
                dims.push_back(fb::CreateDimensionScore(
                    b, b.CreateString(assay_dimension_name((assay_dimension)d)), w->dims[d]));
        std::vector<flatbuffers::Offset<fb::RuleCount>> rules;
        for (size_t r = 0; r < w->nrules; r++)
            rules.push_back(fb::CreateRuleCount(b, b.CreateString(w->rules[r].cfg->name),
                                                w->rules[r].evaluated, w->rules[r].failed,
                                                w->rules[r].breached));
        std::vector<flatbuffers::Offset<fb::ColumnStats>> cols;
        for (size_t c = 0; c < w->ncolumns; c++)
            cols.push_back(column(b, &w->columns[c]));
        flatbuffers::Offset<fb::Anomalies> an = 0;
        if (w->anomaly.enabled) {
            const assay_anomaly_result *a = &w->anomaly;
            an = fb::CreateAnomalies(b, a->scored, a->not_ready, a->judged, a->anomalies, a->rate,
                                     a->contamination);
        }
        auto id = b.CreateString(w->id);
        auto asset = b.CreateString(cfg->asset ? cfg->asset : "");
        auto ws = time_text(b, w->windowed, w->window_start);
        auto we = time_text(b, w->windowed, w->window_end);
        auto dv = b.CreateVector(dims);
        auto rv = b.CreateVector(rules);
        auto cv = b.CreateVector(cols);
        flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::NewColumn>>> nv = 0;
        if (w->nnew_columns) {
            std::vector<flatbuffers::Offset<fb::NewColumn>> nc;
            for (size_t k = 0; k < w->nnew_columns; k++)
                nc.push_back(fb::CreateNewColumn(b, b.CreateString(w->new_columns[k].name),
                                                 w->new_columns[k].rows));
            nv = b.CreateVector(nc);
        }
        auto score = fb::CreateScore(b, id, asset, ws, we, w->rows, w->late_rows, w->bad_rows,
                                     w->rows ? w->overall : NAN, dv, rv, cv, an, nv);
        auto rec = fb::CreateRecord(b, fb::Body_Score, score.Union());
        fb::FinishSizePrefixedRecordBuffer(b, rec);
        return copy_out(b, out, len);
    } catch (const std::bad_alloc &) {
        return -ENOMEM;
    }
}

extern "C" int assay_encode_quarantine_fb(const assay_quarantine_row *q, uint8_t **out, size_t *len)
{
    try {
        flatbuffers::FlatBufferBuilder b(1024 + q->value_len);
        std::vector<flatbuffers::Offset<flatbuffers::String>> rules, reasons;
        for (size_t i = 0; i < q->n; i++) {
            rules.push_back(b.CreateString(q->rules[i]));
            reasons.push_back(b.CreateString(q->reasons[i]));
        }
        auto asset = b.CreateString(q->asset ? q->asset : "");
        auto rv = b.CreateVector(rules);
        auto sv = b.CreateVector(reasons);
        auto src = q->topic ? fb::CreateSource(b, 0, 0, b.CreateString(q->topic), q->partition,
                                               q->msg ? q->msg->offset : -1)
                            : fb::CreateSource(b, q->file ? b.CreateString(q->file) : 0, q->line);
        auto val = b.CreateVector(reinterpret_cast<const uint8_t *>(q->value), q->value_len);
        auto quar = fb::CreateQuarantine(b, asset, rv, sv, src, q->row, val);
        auto rec = fb::CreateRecord(b, fb::Body_Quarantine, quar.Union());
        fb::FinishSizePrefixedRecordBuffer(b, rec);
        return copy_out(b, out, len);
    } catch (const std::bad_alloc &) {
        return -ENOMEM;
    }
}

static flatbuffers::Offset<flatbuffers::String> opt_string(flatbuffers::FlatBufferBuilder &b,
                                                           const char *s)
{
    return s ? b.CreateString(s) : 0;
}

extern "C" int assay_encode_alert_fb(const assay_alert *a, uint8_t **out, size_t *len)
{
    try {
        flatbuffers::FlatBufferBuilder b(2048);
        std::vector<flatbuffers::Offset<fb::Sample>> samples;
        for (size_t i = 0; i < a->nsamples; i++)
            samples.push_back(fb::CreateSample(b, a->samples[i].row, a->samples[i].line,
                                               opt_string(b, a->samples[i].value),
                                               a->samples[i].offset));
        std::vector<flatbuffers::Offset<fb::Cause>> causes;
        for (size_t i = 0; i < a->ncauses; i++) {
            const assay_alert_cause *c = &a->causes[i];
            causes.push_back(fb::CreateCause(b, opt_string(b, c->rule), opt_string(b, c->column),
                                             opt_string(b, c->dimension), c->points, c->fail_rate,
                                             c->prev_fail_rate));
        }
        flatbuffers::Offset<fb::Forecast> fc = 0;
        if (a->nforecast) {
            auto sv = b.CreateVector(a->forecast, a->nforecast);
            fc = fb::CreateForecast(b, sv, opt_string(b, a->forecast_contract),
                                    a->forecast_contract ? a->forecast_min_score : NAN,
                                    a->forecast_windows_to_breach);
        }
        auto impact = fb::CreateImpact(b, a->impact_rows, a->has_revenue ? a->revenue_at_risk : NAN,
                                       a->has_users ? std::round(a->affected_users) : NAN);
        bool windowed = a->window_end > a->window_start;
        auto id = b.CreateString(a->id);
        auto state = b.CreateString(assay_alert_state_name(a->state));
        auto kind = b.CreateString(assay_alert_kind_name(a->kind));
        auto sev = b.CreateString(assay_severity_name(a->severity));
        auto asset = b.CreateString(a->asset ? a->asset : "");
        auto subject = opt_string(b, a->subject);
        auto column = opt_string(b, a->column);
        auto rule = opt_string(b, a->rule);
        auto metric = opt_string(b, a->metric);
        auto ws = time_text(b, windowed, a->window_start);
        auto we = time_text(b, windowed, a->window_end);
        auto fa = time_text(b, windowed, a->fired_start);
        auto title = opt_string(b, a->title);
        auto expl = opt_string(b, a->explanation);
        auto sv = b.CreateVector(samples);
        auto cv = b.CreateVector(causes);
        auto alert = fb::CreateAlert(b, id, state, kind, sev, asset, subject, column, rule, metric,
                                     a->threshold, a->value, a->previous, ws, we, fa, a->acked,
                                     title, expl, impact, sv, cv, fc);
        auto rec = fb::CreateRecord(b, fb::Body_Alert, alert.Union());
        fb::FinishSizePrefixedRecordBuffer(b, rec);
        return copy_out(b, out, len);
    } catch (const std::bad_alloc &) {
        return -ENOMEM;
    }
}
