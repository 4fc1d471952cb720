/*
 * hub.h - what the pipeline and the server thread share, behind one mutex held only
 * for copies: the last closed window (as the JSON texts the API serves), the live
 * numbers, totals per rule, the active alerts, a queue of events for the history and
 * the WebSocket clients, and the queue of acks and resolves going the other way.
 *
 * The pipeline side never waits on the server side: it encodes outside the lock,
 * swaps pointers inside it, and wakes the server through a callback. The event queue
 * is bounded (HUB_MAX_EVENTS); when the server thread cannot keep up - a history on a
 * stalled disk - the oldest events are dropped and counted, never the pipeline held.
 */
#ifndef ASSAY_SERVE_HUB_H
#define ASSAY_SERVE_HUB_H

#include <pthread.h>

#include "assay/alert.h"
#include "assay/engine.h"
#include "core/strbuf.h"

#define HUB_MAX_EVENTS 4096 /* events waiting for the server thread */
#define HUB_MAX_CMDS   64   /* acks and resolves waiting for the pipeline */
#define HUB_TREND      120  /* overall scores kept for rates and trends */

typedef enum hub_event_kind {
    HUB_EV_SCORE = 0,
    HUB_EV_ALERT,
    HUB_EV_ALERT_ACK,
    HUB_EV_ALERT_RESOLVED,
} hub_event_kind;

const char *hub_event_name(hub_event_kind k);

/* One record on its way to the history and the WebSocket clients. */
typedef struct hub_event {
    hub_event_kind kind;
    char *json; /* the record, as written to sinks */
    size_t len;
    char id[17];
    int64_t window_start, window_end, fired_at;
    double overall; /* scores: NaN when the window had no rows */
    char state[16], akind[24], severity[16];
} hub_event;

/* An active alert, as the metrics and contracts see it. */
typedef struct hub_active {
    char id[17];
    assay_alert_kind kind;
    assay_severity severity;
    bool acked;
    char *rule; /* contracts: the contract's name */
} hub_active;

typedef enum hub_cmd_op { HUB_ACK = 0, HUB_RESOLVE } hub_cmd_op;

typedef struct hub_cmd {
    uint64_t seq;
    hub_cmd_op op;
    char id[17];
    char by[64];
    bool taken, done;
    int rc;           /* of assay_engine_ack / _resolve */
    char msg[512];    /* its error message */
    double queued_at; /* monotonic seconds */
} hub_cmd;

typedef struct assay_hub {
    pthread_mutex_t mu;
    const assay_config *cfg;
    void (*wake)(void *ctx); /* the server thread has something to do */
    void *wake_ctx;

    /* the last closed window */
    char *score, *dims, *rules, *profile; /* JSON texts; NULL before the first window */
    size_t score_len;
    double overall;
    bool has_overall;
    double dim_score[ASSAY_DIM_COUNT];
    bool dim_present[ASSAY_DIM_COUNT];
    int64_t window_start, window_end;
    double close_lag; /* seconds from the window's end (event time) to its close (wall) */
    bool has_window;

    /* totals since start, per rule in config order */
    uint64_t *rule_evaluated, *rule_failed;
    uint64_t window_rows_total; /* rows counted in closed windows */

    /* live numbers, from on_poll */
    assay_run_live live;
    bool have_live, finished;
    double rate; /* rows per second over the last few seconds */
    double rate_t;
    uint64_t rate_rows;

    hub_active *alerts;
    size_t nalerts, alerts_cap;

    hub_event *ev; /* ring */
    size_t ev_head, ev_n;
    uint64_t ev_dropped;

    hub_cmd cmds[HUB_MAX_CMDS];
    size_t ncmds;
    uint64_t cmd_seq;
} assay_hub;

int hub_init(assay_hub *h, const assay_config *cfg, assay_error *err);
void hub_free(assay_hub *h);

/* pipeline side */
void hub_window(assay_hub *h, const assay_result *w);
void hub_alert(assay_hub *h, const assay_alert *a);
void hub_poll(assay_hub *h, assay_engine_hand *eh);
void hub_finish(assay_hub *h);
/* The last score record of the history, for /api/v1/score until a window closes. */
void hub_seed_score(assay_hub *h, const char *json, size_t len);

/* server side: take the queued events (the caller frees them with hub_event_free). */
size_t hub_take_events(assay_hub *h, hub_event *out, size_t cap);
void hub_event_free(hub_event *e);
/* Queue an ack or resolve; its seq (0: the queue is full). */
uint64_t hub_command(assay_hub *h, hub_cmd_op op, const char *id, const char *by);
/* 1 and *rc, msg filled when seq is done (and forgets it); 0 not yet; -1 unknown seq. */
int hub_command_result(assay_hub *h, uint64_t seq, int *rc, char *msg, size_t cap);
/* Give up on commands queued before `before` (monotonic seconds) that the pipeline has
 * not taken: they fail with -ETIMEDOUT. */
void hub_command_expire(assay_hub *h, double before);

/* Copies for the API, under the lock: append the text to out; false when there is none. */
typedef enum hub_text { HUB_SCORE = 0, HUB_DIMS, HUB_RULES, HUB_PROFILE } hub_text;
bool hub_copy(assay_hub *h, hub_text which, assay_strbuf *out);
void hub_status_json(assay_hub *h, assay_strbuf *out);
void hub_contracts_json(assay_hub *h, assay_strbuf *out);
bool hub_ready(assay_hub *h, char *why, size_t cap);

#endif
