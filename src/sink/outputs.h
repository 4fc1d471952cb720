/*
 * outputs.h - the four outputs of a run (scores, alerts, quarantine, clean), each a
 * list of sinks built from the config's `sinks:`; a record is encoded once per format
 * and written to every sink of its output.
 */
#ifndef ASSAY_OUTPUTS_H
#define ASSAY_OUTPUTS_H

#include "assay/alert.h"
#include "assay/sink.h"

typedef struct assay_outputs {
    const assay_config *cfg;
    assay_sink **scores, **alerts, **quar, **clean;
    assay_kafka_producer *kafka; /* shared by the Kafka sinks; NULL when there are none */
    size_t nscores, nalerts, nquar, nclean;
    uint64_t clean_rows, quarantined_rows, score_records, alert_records;
    /* per alert sink: POSTs failed and made when last reported (Alertmanager sinks) */
    uint64_t *am_failed_seen, *am_ok_seen;
    bool *am_failing;
} assay_outputs;

int assay_outputs_open(assay_outputs *o, const assay_config *cfg, assay_error *err);
void assay_outputs_close(assay_outputs *o);
/* Rows need routes (some clean or quarantine sink exists). */
bool assay_outputs_route(const assay_outputs *o);
int assay_outputs_score(assay_outputs *o, const assay_result *w, assay_error *err);
int assay_outputs_alert(assay_outputs *o, const assay_alert *a, assay_error *err);
int assay_outputs_quarantine(assay_outputs *o, const assay_quarantine_row *q, assay_error *err);
/* nrows: rows in p (for the counters). */
int assay_outputs_clean(assay_outputs *o, const char *p, size_t len, bool add_newline,
                        const assay_msg_meta *msgs, uint32_t nmsgs, assay_error *err);
/* A CSV header for clean sinks that start empty (written once, before any row). */
int assay_outputs_clean_header(assay_outputs *o, const char *p, size_t len, assay_error *err);
int assay_outputs_flush(assay_outputs *o, bool durable, assay_error *err);
/* Hand a window's score and alert records to the OS now (not durably), so a reader of
 * the files sees them when the window closes rather than at the next checkpoint; the
 * Alertmanager sink sends on its own thread and is left alone. */
int assay_outputs_flush_records(assay_outputs *o, assay_error *err);
/* Tell the user about the Alertmanager sinks' delivery through notice: once when one
 * starts failing (with the reason; the pipeline goes on and the alerts stay queued),
 * once when it delivers again, and - final - a summary of the run when any POST
 * failed or alerts are still undelivered. */
void assay_outputs_health(assay_outputs *o, bool final, void (*notice)(void *, const char *),
                          void *ctx);

/* Deliveries that failed so far, over every sink: Kafka produce errors and failed
 * Alertmanager POSTs (file sinks fail the run instead). */
uint64_t assay_outputs_errors(const assay_outputs *o);

/* The marks of every sink that can be cut back (file sinks), after a durable flush. */
typedef struct assay_sink_marks {
    size_t n;
    assay_sink_mark *v;
} assay_sink_marks;
int assay_outputs_mark(assay_outputs *o, assay_sink_marks *out, assay_error *err);
/* Cut each sink back to the mark of the same name. *unmatched: how many marked sinks
 * could not be (replaced or shortened since), the first one's name in first. */
int assay_outputs_rewind(assay_outputs *o, const assay_sink_marks *m, uint32_t *unmatched,
                         char *first, size_t first_cap, assay_error *err);
void assay_sink_marks_free(assay_sink_marks *m);

#endif
