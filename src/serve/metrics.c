/*
 * metrics.c - the Prometheus exposition of a run (docs/serving.md lists every metric).
 *
 * The text format is Prometheus' "0.0.4" exposition format: for each family a # HELP
 * and a # TYPE line, then its samples; counters end in _total, units are base units
 * (seconds, bytes), and every label value comes from the config (rule, dimension,
 * alert kind and severity names) or is a partition number - never from row values -
 * so the number of series is bounded by the config. Families with labels list every
 * combination the config makes possible, zeros included, so a series does not vanish
 * from a graph when it drops to zero. The process_* families follow the conventions of
 * Prometheus' client libraries, read from /proc/self.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "serve/metrics.h"

static void family(assay_strbuf *o, const char *name, const char *type, const char *help)
{
    assay_sb_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(assay_strbuf *o, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            assay_sb_putc(o, '\\');
        if (*p == '\n') {
            assay_sb_puts(o, "\\n");
            continue;
        }
        assay_sb_putc(o, *p);
    }
}

static void num(assay_strbuf *o, double v)
{
    if (isnan(v))
        assay_sb_puts(o, "NaN");
    else if (isinf(v))
        assay_sb_puts(o, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        assay_sb_printf(o, "%.0f", v);
    else
        assay_sb_printf(o, "%.17g", v);
}

static void sample(assay_strbuf *o, const char *name, double v)
{
    assay_sb_printf(o, "%s ", name);
    num(o, v);
    assay_sb_putc(o, '\n');
}

static void sample1(assay_strbuf *o, const char *name, const char *label, const char *value,
                    double v)
{
    assay_sb_printf(o, "%s{%s=\"", name, label);
    label_value(o, value);
    assay_sb_puts(o, "\"} ");
    num(o, v);
    assay_sb_putc(o, '\n');
}

static void counter(assay_strbuf *o, const char *name, const char *help, double v)
{
    family(o, name, "counter", help);
    sample(o, name, v);
}

static void gauge(assay_strbuf *o, const char *name, const char *help, double v)
{
    family(o, name, "gauge", help);
    sample(o, name, v);
}

double metrics_boot_time(void)
{
    double btime = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "btime %lf", &btime) == 1)
                break;
        fclose(f);
    }
    return btime;
}

static void process_metrics(assay_strbuf *o, double btime)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    unsigned long utime = 0, stime = 0, vsize = 0;
    long rss = 0;
    unsigned long long start = 0;
    bool have = false;
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        fclose(f);
        const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
        /* fields after the name: state(3) ... utime(14) stime(15) ... starttime(22)
         * vsize(23) rss(24) */
        have = p && sscanf(p + 2,
                           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d "
                           "%*d %*d %*d %llu %lu %ld",
                           &utime, &stime, &start, &vsize, &rss) == 5;
    }
    if (have && tick > 0) {
        counter(o, "process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                (double)(utime + stime) / (double)tick);
        gauge(o, "process_resident_memory_bytes", "Resident memory size in bytes.",
              (double)rss * (double)page);
        gauge(o, "process_virtual_memory_bytes", "Virtual memory size in bytes.", (double)vsize);
        if (btime > 0)
            gauge(o, "process_start_time_seconds",
                  "Start time of the process since the Unix epoch, in seconds.",
                  btime + (double)start / (double)tick);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        double n = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
        gauge(o, "process_open_fds", "Number of open file descriptors.", n - 1 /* this one */);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        gauge(o, "process_max_fds", "Maximum number of open file descriptors.",
              (double)rl.rlim_cur);
}

void metrics_render(assay_hub *h, const serve_stats *ss, assay_strbuf *o)
{
    const assay_config *cfg = h->cfg;
    pthread_mutex_lock(&h->mu);
    const assay_run_live *l = &h->live;

    family(o, "assay_build_info", "gauge", "Always 1; the labels say which build runs.");
    assay_sb_printf(o, "assay_build_info{version=\"%s\"} 1\n", ASSAY_VERSION);
    family(o, "assay_asset_info", "gauge", "Always 1; the asset this run checks.");
    sample1(o, "assay_asset_info", "asset", cfg->asset ? cfg->asset : "", 1);
    gauge(o, "assay_ready", "1 when /readyz answers 200.",
          !h->finished && h->have_live && l->source_ready &&
                  (h->has_window || (cfg->state.dir && l->checkpoints > 0))
              ? 1
              : 0);

    counter(o, "assay_rows_total", "Rows read from the source (a resumed stream's included).",
            (double)l->rows);
    counter(o, "assay_input_bytes_total", "Bytes of input read.", (double)l->bytes);
    counter(o, "assay_bad_rows_total", "Rows that could not be parsed or had no usable event time.",
            (double)l->bad_rows);
    counter(o, "assay_late_rows_total", "Rows that arrived after all their windows had closed.",
            (double)l->late_rows);
    counter(o, "assay_clean_rows_total", "Rows written to the clean sinks.", (double)l->clean_rows);
    counter(o, "assay_quarantined_rows_total", "Rows written to the quarantine sinks.",
            (double)l->quarantined_rows);
    counter(o, "assay_windows_total", "Windows closed and scored.", (double)l->windows);
    counter(o, "assay_window_rows_total", "Rows counted in closed windows.",
            (double)h->window_rows_total);

    family(o, "assay_rule_evaluations_total", "counter",
           "Rows each rule evaluated, over closed windows.");
    for (size_t r = 0; r < cfg->nrules; r++)
        sample1(o, "assay_rule_evaluations_total", "rule", cfg->rules[r].name,
                (double)h->rule_evaluated[r]);
    family(o, "assay_rule_failures_total", "counter",
           "Rows each rule failed, over closed windows.");
    for (size_t r = 0; r < cfg->nrules; r++)
        sample1(o, "assay_rule_failures_total", "rule", cfg->rules[r].name,
                (double)h->rule_failed[r]);

    family(o, "assay_quality_score", "gauge",
           "Overall quality score (0..100) of the last closed window that had rows.");
    if (h->has_overall)
        sample(o, "assay_quality_score", h->overall);
    family(o, "assay_quality_dimension_score", "gauge",
           "Score (0..100) of each quality dimension that had checks in the last closed window "
           "that had rows.");
    for (int d = 0; d < ASSAY_DIM_COUNT; d++)
        if (h->dim_present[d])
            sample1(o, "assay_quality_dimension_score", "dimension",
                    assay_dimension_name((assay_dimension)d), h->dim_score[d]);
    family(o, "assay_window_end_timestamp_seconds", "gauge",
           "End (event time) of the last closed window, since the Unix epoch.");
    if (h->has_window)
        sample(o, "assay_window_end_timestamp_seconds", (double)h->window_end / 1e6);
    family(o, "assay_window_close_lag_seconds", "gauge",
           "Wall-clock time of the last window's close minus its end in event time.");
    if (h->has_window)
        sample(o, "assay_window_close_lag_seconds", h->close_lag);
    family(o, "assay_watermark_timestamp_seconds", "gauge",
           "Event time the windows have closed up to, since the Unix epoch.");
    if (l->watermark != INT64_MIN)
        sample(o, "assay_watermark_timestamp_seconds", (double)l->watermark / 1e6);

    family(o, "assay_alerts_active", "gauge", "Active alerts by kind and severity.");
    for (int k = 0; k < ASSAY_ALERT_KIND_COUNT; k++)
        for (int s = 0; s < ASSAY_SEV_COUNT; s++) {
            double n = 0;
            for (size_t a = 0; a < h->nalerts; a++)
                n += h->alerts[a].kind == (assay_alert_kind)k &&
                     h->alerts[a].severity == (assay_severity)s;
            assay_sb_printf(o, "assay_alerts_active{kind=\"%s\",severity=\"%s\"} ",
                            assay_alert_kind_name((assay_alert_kind)k),
                            assay_severity_name((assay_severity)s));
            num(o, n);
            assay_sb_putc(o, '\n');
        }
    counter(o, "assay_alerts_fired_total", "Alerts fired.", (double)l->alerts_fired);
    counter(o, "assay_alerts_resolved_total", "Alerts resolved (by their condition or by hand).",
            (double)l->alerts_resolved);
    counter(o, "assay_alerts_acknowledged_total", "Alerts acknowledged through the API.",
            (double)l->alerts_acked);

    family(o, "assay_consumer_lag_messages", "gauge",
           "Messages of each assigned Kafka partition not read yet (high watermark of the last "
           "fetch less the next offset).");
    for (size_t i = 0; i < l->nlag; i++)
        if (l->lag[i].messages >= 0) {
            char part[16];
            snprintf(part, sizeof(part), "%u", l->lag[i].part);
            sample1(o, "assay_consumer_lag_messages", "partition", part,
                    (double)l->lag[i].messages);
        }
    counter(o, "assay_sink_errors_total",
            "Deliveries that failed: Kafka produce errors and failed Alertmanager POSTs.",
            (double)l->sink_errors);
    counter(o, "assay_source_pauses_total", "Times a full sink paused the source.",
            (double)l->stalls);
    gauge(o, "assay_source_paused", "1 while a sink's backpressure holds the source.",
          l->paused ? 1 : 0);
    counter(o, "assay_checkpoints_total", "Checkpoints written.", (double)l->checkpoints);
    family(o, "assay_checkpoint_age_seconds", "gauge", "Seconds since the last checkpoint.");
    if (l->checkpoint_age >= 0)
        sample(o, "assay_checkpoint_age_seconds", l->checkpoint_age);
    counter(o, "assay_server_events_dropped_total",
            "Score and alert events the server thread fell too far behind to take.",
            (double)h->ev_dropped);
    pthread_mutex_unlock(&h->mu);

    family(o, "assay_http_requests_total", "counter", "HTTP requests answered, by status class.");
    static const char *const cls[] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
    for (int c = 0; c < 6; c++)
        sample1(o, "assay_http_requests_total", "code", cls[c], (double)ss->http_requests[c]);
    gauge(o, "assay_websocket_clients", "WebSocket clients connected to /api/v1/stream.",
          (double)ss->ws_clients);
    counter(o, "assay_websocket_events_total", "Events queued to WebSocket clients.",
            (double)ss->ws_events);
    counter(o, "assay_websocket_slow_disconnects_total",
            "WebSocket clients disconnected because their queue was full.", (double)ss->ws_slow);
    counter(o, "assay_history_errors_total", "History writes that failed.",
            (double)ss->history_errors);
    counter(o, "assay_history_score_records_total", "Score records written to the history.",
            (double)ss->history_scores);
    counter(o, "assay_history_alert_records_total", "Alert records written to the history.",
            (double)ss->history_alerts);
    process_metrics(o, ss->boot_time);
}
