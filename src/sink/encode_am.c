/*
 * encode_am.c - an alert record as one element of Alertmanager's v2
 * `POST /api/v2/alerts` array.
 *
 * Alertmanager identifies an alert by its label set, groups and routes by labels and
 * keeps one time series of notifications per distinct set, so labels carry only what
 * is low-cardinality and stable for the life of an incident: alertname ("assay_" and
 * the kind), asset, kind, subject, severity, and column and rule when the alert is
 * about one. The subject (a rule, a dimension, a column, a contract clause: names from
 * the config and the schema, so bounded) is what keeps two alerts of one kind apart -
 * without it the score drops of `overall` and of `completeness` would have one label
 * set, and Alertmanager would hold them as one alert.
 * Everything that varies with the numbers (title, explanation, the window, our id)
 * goes in annotations, which Alertmanager keeps from the latest post without making
 * the alert a new one. The firing record and the resolved record of one incident thus
 * have the same labels, and the resolved one's endsAt (the end of the window that
 * resolved it) ends the alert Alertmanager holds. A firing record has no endsAt:
 * Alertmanager then lets the alert lapse after its resolve_timeout unless it is
 * posted again, which is why the sink re-sends firing alerts.
 *
 * generatorURL points at the alert in our HTTP API, and is left out when the API is
 * off (Alertmanager would show a link to nowhere). An empty asset is left out too:
 * Alertmanager, like Prometheus, treats an empty label value as no label.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/alert.h"
#include "assay/number.h"
#include "core/strbuf.h"
#include "engine/json_writer.h"

static void label(assay_json *j, const char *k, const char *v)
{
    if (!v || !*v)
        return;
    assay_json_key(j, k);
    assay_json_str(j, v);
}

static void timestamp(assay_json *j, const char *k, int64_t us)
{
    assay_json_key(j, k);
    assay_json_time(j, us);
}

int assay_encode_alert_am(const assay_alert *a, const assay_config *cfg, char **out, size_t *len)
{
    assay_strbuf sb;
    assay_json j;
    char name[64], start[40], end[40], window[96];
    const char *kind = assay_alert_kind_name(a->kind);

    snprintf(name, sizeof(name), "assay_%s", kind);
    assay_format_timestamp(a->window_start, start, sizeof(start));
    assay_format_timestamp(a->window_end, end, sizeof(end));
    snprintf(window, sizeof(window), "%s/%s", start, end);

    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);

    assay_json_key(&j, "labels");
    assay_json_obj_open(&j);
    label(&j, "alertname", name);
    label(&j, "asset", a->asset);
    label(&j, "kind", kind);
    label(&j, "subject", a->subject);
    label(&j, "severity", assay_severity_name(a->severity));
    label(&j, "column", a->column);
    label(&j, "rule", a->rule);
    assay_json_obj_close(&j);

    assay_json_key(&j, "annotations");
    assay_json_obj_open(&j);
    assay_json_key(&j, "title");
    assay_json_str(&j, a->title ? a->title : "");
    assay_json_key(&j, "explanation");
    assay_json_str(&j, a->explanation ? a->explanation : "");
    assay_json_key(&j, "window");
    assay_json_str(&j, window);
    assay_json_key(&j, "id");
    assay_json_str(&j, a->id);
    if (a->acked) { /* Alertmanager has no acknowledgement: an annotation tells the receiver */
        assay_json_key(&j, "acknowledged");
        assay_json_str(&j, "true");
    }
    assay_json_obj_close(&j);

    timestamp(&j, "startsAt", a->fired_start);
    if (a->state == ASSAY_ALERT_RESOLVED)
        timestamp(&j, "endsAt", a->window_end);
    if (cfg && cfg->http.listen && *cfg->http.listen) {
        assay_json_key(&j, "generatorURL");
        assay_strbuf url;
        assay_sb_init(&url);
        assay_sb_printf(&url, "http://%s/api/v1/alerts/%s", cfg->http.listen, a->id);
        if (url.oom)
            sb.oom = true;
        else
            assay_json_strn(&j, url.data, url.len);
        assay_sb_free(&url);
    }
    assay_json_obj_close(&j);
    return assay_json_finish(&sb, out, len);
}
