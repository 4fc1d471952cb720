/*
 * alertmanager.h - what the Alertmanager sink (alertmanager.c) exposes beyond the sink
 * vtable: delivery counters for tests and metrics, the last delivery error, and a
 * test-only knob for the re-send interval. The sink itself is opened with
 * assay_sink_alertmanager (assay/sink.h).
 */
#ifndef ASSAY_SINK_ALERTMANAGER_H
#define ASSAY_SINK_ALERTMANAGER_H

#include "assay/sink.h"

typedef struct assay_am_stats {
    uint64_t posts_ok;     /* POSTs Alertmanager answered with 2xx */
    uint64_t posts_failed; /* POSTs that failed: no connection, timeout, non-2xx */
    uint64_t alerts_sent;  /* alert objects in the successful POSTs (re-sends count) */
    uint64_t dropped;      /* alerts given up to stay within the bound of 10,000 */
    size_t tracked;        /* alerts held now (firing, or resolved < 5 minutes ago) */
    size_t undelivered;    /* of those, written and not yet delivered */
} assay_am_stats;

/* Counters of an Alertmanager sink (s must be one). */
ASSAY_API void assay_sink_alertmanager_stats(assay_sink *s, assay_am_stats *out);

/* The reason the latest POST failed ("" when it succeeded or none was made), as a
 * user-readable line, copied into buf (always NUL-terminated). */
ASSAY_API void assay_sink_alertmanager_last_error(assay_sink *s, char *buf, size_t cap);

/* Tests only: re-send interval in seconds (default 60). */
ASSAY_API void assay_sink_alertmanager_set_resend(assay_sink *s, double seconds);

#endif
