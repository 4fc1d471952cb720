/*
 * assay/serve.h - the serving surface of `assay run` (docs/serving.md): Prometheus
 * metrics, health, the REST API, the WebSocket feed and the live page over HTTP
 * (libwebsockets, on a thread of its own), and the score/alert history in SQLite.
 *
 * The pipeline never waits for it. It hands over closed windows and alert records
 * (encoded once, a short lock, a queue), and on_poll lets the server read the live
 * numbers and apply the acks and resolves that clients asked for. Everything that can
 * take time - SQLite, sockets, slow clients - happens on the server's thread.
 */
#ifndef ASSAY_SERVE_H
#define ASSAY_SERVE_H

#include "assay/alert.h"
#include "assay/common.h"
#include "assay/config.h"
#include "assay/engine.h"

typedef struct assay_server assay_server;

/* Open the history (history.sqlite, or state.dir/history.db, or memory) and, when
 * cfg->http.listen is set, bind it and start serving. cfg->http.listen is rewritten to
 * the bound address (port 0 becomes the real port) so that links in alert records
 * point at it. *out is NULL (and 0 returned) when neither http nor history is
 * configured. */
ASSAY_API int assay_server_start(assay_server **out, assay_config *cfg, assay_error *err);
/* "HOST:PORT" it listens on, or NULL without http. */
ASSAY_API const char *assay_server_address(const assay_server *s);

/* Pipeline side (engine hooks). */
ASSAY_API void assay_server_window(assay_server *s, const assay_result *w);
ASSAY_API void assay_server_alert(assay_server *s, const assay_alert *a);
ASSAY_API void assay_server_poll(assay_server *s, assay_engine_hand *h);
/* The run is over (or never started): readiness goes, pending requests get 503. */
ASSAY_API void assay_server_finished(assay_server *s);

/* Stop serving, write what is queued to the history and close it. */
ASSAY_API void assay_server_stop(assay_server *s);

#endif
