/*
 * server.h - the serving thread's state, shared by the transport (server.c: sockets,
 * WebSocket clients, the thread) and the API (api.c: what each request answers).
 */
#ifndef ASSAY_SERVE_SERVER_H
#define ASSAY_SERVE_SERVER_H

#include <libwebsockets.h>
#include <pthread.h>

#include "assay/serve.h"
#include "core/strbuf.h"
#include "serve/history.h"
#include "serve/hub.h"
#include "serve/metrics.h"

#define SERVE_MAX_BODY       (64 * 1024)  /* request bodies: larger ones get 413 */
#define SERVE_DRAIN_BODY     (1 << 20)    /* ... read and dropped first up to this size */
#define SERVE_MAX_HEADERS    4096         /* request header bytes (libwebsockets' pool) */
#define SERVE_WS_QUEUE       256          /* events waiting per WebSocket client ... */
#define SERVE_WS_QUEUE_BYTES (8u << 20)   /* ... or bytes: past either it is disconnected */
#define SERVE_WS_SNDBUF      (128 * 1024) /* the kernel's send buffer of a client socket */
#define SERVE_CMD_TIMEOUT    5.0          /* seconds an ack waits for the pipeline */
#define SERVE_RATE_CLIENTS   1024         /* client addresses the rate limit tracks */

typedef enum api_method {
    API_GET = 0,
    API_POST,
    API_HEAD,
    API_OTHER,
} api_method;

typedef struct api_request {
    api_method method;
    const char *method_name;
    const char *path;
    char **args; /* "name=value", URL-decoded */
    size_t nargs;
    const char *auth;   /* Authorization header, or NULL */
    const char *origin; /* Origin header, or NULL */
    const char *peer;   /* client address */
    size_t body_len;
} api_request;

typedef struct api_response {
    int status;
    const char *ctype;
    assay_strbuf body;
    const char *allow; /* 405: the Allow header */
    int retry_after;   /* 429: seconds; 0 none */
    bool www_auth;     /* 401 */
    uint64_t wait_seq; /* > 0: no answer yet; it waits for this pipeline command */
    char wait_id[17];  /* ... about this alert */
} api_response;

typedef struct rate_slot {
    char peer[64];
    double window; /* start of its minute (monotonic seconds) */
    unsigned n;
} rate_slot;

struct assay_server {
    assay_config *cfg;
    assay_hub hub;
    assay_history *hist;
    char addr[96]; /* HOST:PORT bound; "" without http */
    char host[64]; /* as configured, for Origin checks */
    int port;
    char *token;     /* from http.token_file; NULL: open */
    serve_stats ss;  /* the server thread's counters (read by /metrics on the same thread) */
    rate_slot *rate; /* [SERVE_RATE_CLIENTS] */

    pthread_t th;
    bool running;
    volatile int stop;
    pthread_mutex_t mu; /* history-only mode: the thread sleeps on cv */
    pthread_cond_t cv;
    bool kicked;

    struct lws_context *lws;
    lws_sorted_usec_list_t tick; /* 200 ms: expire waits, stats events */
    struct session *clients;     /* WebSocket clients */
    struct session *waiting;     /* HTTP requests waiting for the pipeline */
    double last_stats;           /* monotonic seconds the last stats event went out */
};

/* The answer to one request (api.c). */
void api_handle(assay_server *s, const api_request *rq, api_response *rs);
/* The answer to a request that waited for the pipeline's command seq. */
void api_finish_command(assay_server *s, const char *id, int rc, const char *msg, api_response *rs);
/* {error: {code, message, details}} with status. */
void api_error(api_response *rs, int status, const char *code, const char *details, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
/* Whether a browser page of this Origin may use the API (NULL: not a browser). */
bool api_origin_ok(const assay_server *s, const char *origin);

/* The live page compiled into the binary (page.c, generated). */
extern const unsigned char assay_page_html[];
extern const size_t assay_page_html_len;

#endif
