/*
 * metrics.h - GET /metrics: the Prometheus text exposition format (version 0.0.4).
 */
#ifndef ASSAY_SERVE_METRICS_H
#define ASSAY_SERVE_METRICS_H

#include "core/strbuf.h"
#include "serve/hub.h"

/* What the server thread counts about itself. */
typedef struct serve_stats {
    uint64_t http_requests[6]; /* by status class: 1xx..5xx, [0] other */
    uint64_t ws_clients;       /* connected now */
    uint64_t ws_events;        /* events queued to clients */
    uint64_t ws_slow;          /* clients disconnected for falling behind */
    uint64_t history_errors;   /* history writes that failed */
    uint64_t history_scores, history_alerts;
    double start_time; /* wall seconds */
    double boot_time;  /* the kernel's btime (wall seconds), 0 unknown; read once */
} serve_stats;

/* The boot time from /proc/stat, 0 when it cannot be read: for serve_stats.boot_time
 * (the file is long on a large machine; a scrape should not read it each time). */
double metrics_boot_time(void);

void metrics_render(assay_hub *h, const serve_stats *ss, assay_strbuf *out);

#endif
