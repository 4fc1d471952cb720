/*
 * server.c - the serving thread: libwebsockets for HTTP and the WebSocket feed, and
 * the writer of the history (docs/serving.md).
 *
 * Why libwebsockets rather than civetweb (both are Debian packages): civetweb gives
 * every connection a worker thread and writes to a WebSocket block that thread, so a
 * client that stops reading holds a thread and whoever writes to it. libwebsockets is
 * one non-blocking event loop: a write happens only when the socket can take it, so
 * each client's backlog is a queue we own and can bound, and one thread serves every
 * connection without ever waiting for one. The pipeline hands work over through the
 * hub (hub.c) and wakes the loop with lws_cancel_service(), the one libwebsockets
 * call that is safe from another thread.
 *
 * A request: LWS_CALLBACK_HTTP gives the path (POST bodies follow in HTTP_BODY
 * callbacks); api.c computes the whole answer; the headers and then the body go out
 * in HTTP_WRITEABLE callbacks, 32 KiB at a time. An ack or resolve is answered only
 * once the pipeline applied it, so its session waits on a list until the hub says
 * the command is done (or SERVE_CMD_TIMEOUT passes).
 *
 * The feed: every score and alert record becomes one text message
 * {"event": ..., "data": record}, shared (reference counted) by the queues of all
 * clients. A client whose queue passes SERVE_WS_QUEUE messages or
 * SERVE_WS_QUEUE_BYTES is disconnected (close code 1008) - it would otherwise hold
 * memory without bound - and counted in assay_websocket_slow_disconnects_total.
 *
 * Without http.listen but with history configured the thread only writes the history.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "serve/server.h"

#define WRITE_CHUNK (32 * 1024)
#define MAX_ARGS    16

typedef struct ws_msg {
    unsigned refs;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes, then the text */
} ws_msg;

typedef struct session {
    struct lws *wsi;
    bool is_ws;
    /* HTTP */
    api_request rq;
    char method[12], path[512], auth[512], origin[256], peer[64];
    char argbuf[1024];
    char *args[MAX_ARGS];
    bool chunked_body, close_after, answered, headers_sent, head_only;
    bool handled; /* api_handle ran for this request (lws may still report a body end) */
    bool too_big; /* the body is over SERVE_MAX_BODY: read and dropped, then 413 */
    api_response rs;
    size_t out_off;
    double wait_at;
    struct session *next_wait;
    /* WebSocket */
    ws_msg *q[SERVE_WS_QUEUE];
    size_t qh, qn, qbytes;
    bool kill;
    struct session *next_client;
} session;

static void msg_unref(ws_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static ws_msg *msg_make(const char *event, const char *json, size_t len)
{
    size_t head = strlen(event) + 22;
    ws_msg *m = malloc(sizeof(*m) + LWS_PRE + head + len + 2);
    if (!m)
        return NULL;
    m->refs = 1;
    char *p = (char *)m->buf + LWS_PRE;
    int n = snprintf(p, head + 1, "{\"event\":\"%s\",\"data\":", event);
    memcpy(p + n, json, len);
    p[n + len] = '}';
    m->len = (size_t)n + len + 1;
    return m;
}

/* ---------------------------------------------------------------------------------
 * WebSocket clients
 * ------------------------------------------------------------------------------- */

static void client_push(assay_server *s, session *c, ws_msg *m)
{
    if (c->kill)
        return;
    if (c->qn == SERVE_WS_QUEUE || c->qbytes + m->len > SERVE_WS_QUEUE_BYTES) {
        c->kill = true; /* too far behind: cut it off rather than hold memory for it */
        s->ss.ws_slow++;
        lws_callback_on_writable(c->wsi);
        return;
    }
    m->refs++;
    c->q[(c->qh + c->qn) % SERVE_WS_QUEUE] = m;
    c->qn++;
    c->qbytes += m->len;
    s->ss.ws_events++;
    lws_callback_on_writable(c->wsi);
}

static void broadcast(assay_server *s, ws_msg *m)
{
    for (session *c = s->clients; c; c = c->next_client)
        client_push(s, c, m);
}

static void client_drop(assay_server *s, session *c)
{
    for (session **pp = &s->clients; *pp; pp = &(*pp)->next_client)
        if (*pp == c) {
            *pp = c->next_client;
            s->ss.ws_clients--;
            break;
        }
    while (c->qn) {
        msg_unref(c->q[c->qh]);
        c->qh = (c->qh + 1) % SERVE_WS_QUEUE;
        c->qn--;
    }
    c->qbytes = 0;
}

static int client_write(session *c)
{
    if (c->kill) {
        static const char why[] = "client too slow: its event queue was full";
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                         sizeof(why) - 1);
        return -1;
    }
    if (!c->qn)
        return 0;
    ws_msg *m = c->q[c->qh];
    int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    c->qh = (c->qh + 1) % SERVE_WS_QUEUE;
    c->qn--;
    c->qbytes -= m->len;
    msg_unref(m);
    if (n < 0)
        return -1;
    if (c->qn)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* ---------------------------------------------------------------------------------
 * The hub's work: history, feed, answers that waited
 * ------------------------------------------------------------------------------- */

static void record_history(assay_server *s, const hub_event *e)
{
    assay_error err = { 0 };
    int rc;
    if (e->kind == HUB_EV_SCORE) {
        rc = assay_history_add_score(s->hist, e->id, e->window_start, e->window_end, e->overall,
                                     e->json, e->len, &err);
        s->ss.history_scores += rc == 0;
    } else {
        rc = assay_history_add_alert(s->hist, e->id, e->state, e->akind, e->severity, e->fired_at,
                                     e->window_end, e->json, e->len, &err);
        s->ss.history_alerts += rc == 0;
    }
    if (rc < 0) {
        if (s->ss.history_errors++ == 0)
            fprintf(stderr,
                    "assay run: history: %s (the run goes on; later errors are counted "
                    "in assay_history_errors_total)\n",
                    err.msg);
    }
}

static void drain_events(assay_server *s)
{
    hub_event ev[64];
    size_t n;
    while ((n = hub_take_events(&s->hub, ev, 64)) > 0) {
        assay_error err = { 0 };
        bool tx = assay_history_begin(s->hist, &err) == 0;
        for (size_t i = 0; i < n; i++)
            record_history(s, &ev[i]);
        if (tx && assay_history_commit(s->hist, &err) < 0)
            s->ss.history_errors++;
        for (size_t i = 0; i < n; i++) {
            if (s->lws && s->clients) {
                ws_msg *m = msg_make(hub_event_name(ev[i].kind), ev[i].json, ev[i].len);
                if (m) {
                    broadcast(s, m);
                    msg_unref(m);
                }
            }
            hub_event_free(&ev[i]);
        }
    }
}

static void send_stats(assay_server *s)
{
    double now = assay_mono_seconds();
    if (!s->clients || now - s->last_stats < 1.0)
        return;
    s->last_stats = now;
    assay_strbuf sb;
    assay_sb_init(&sb);
    hub_status_json(&s->hub, &sb);
    if (!sb.oom) {
        ws_msg *m = msg_make("stats", sb.data, sb.len);
        if (m) {
            broadcast(s, m);
            msg_unref(m);
        }
    }
    assay_sb_free(&sb);
}

static void finish_waits(assay_server *s)
{
    hub_command_expire(&s->hub, assay_mono_seconds() - SERVE_CMD_TIMEOUT);
    for (session **pp = &s->waiting; *pp;) {
        session *w = *pp;
        int rc = 0;
        char msg[512];
        if (hub_command_result(&s->hub, w->rs.wait_seq, &rc, msg, sizeof(msg)) == 0) {
            pp = &w->next_wait;
            continue;
        }
        *pp = w->next_wait;
        w->next_wait = NULL;
        w->rs.wait_seq = 0;
        w->rs.body.len = 0;
        api_finish_command(s, w->rs.wait_id, rc, msg, &w->rs);
        w->answered = true;
        lws_callback_on_writable(w->wsi);
    }
}

static void service(assay_server *s)
{
    drain_events(s);
    finish_waits(s);
    send_stats(s);
}

/* ---------------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------------- */

static void count_status(assay_server *s, int status)
{
    int c = status / 100;
    s->ss.http_requests[c >= 1 && c <= 5 ? c : 0]++;
}

static void read_request(session *ss, struct lws *wsi, const char *path)
{
    memset(&ss->rq, 0, sizeof(ss->rq));
    snprintf(ss->path, sizeof(ss->path), "%s", path ? path : "/");
    ss->rq.path = ss->path;
    char *uri;
    int ulen;
    int m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    static const char *const names[] = { "GET",   "POST",   "OPTIONS", "PUT",
                                         "PATCH", "DELETE", "CONNECT", "HEAD" };
    snprintf(ss->method, sizeof(ss->method), "%s",
             m >= 0 && m < (int)(sizeof(names) / sizeof(names[0])) ? names[m] : "?");
    ss->rq.method_name = ss->method;
    ss->rq.method = m == LWSHUMETH_GET    ? API_GET
                    : m == LWSHUMETH_POST ? API_POST
                    : m == LWSHUMETH_HEAD ? API_HEAD
                                          : API_OTHER;
    ss->head_only = ss->rq.method == API_HEAD;
    ss->rq.auth = lws_hdr_copy(wsi, ss->auth, sizeof(ss->auth), WSI_TOKEN_HTTP_AUTHORIZATION) > 0
                      ? ss->auth
                      : NULL;
    ss->rq.origin =
        lws_hdr_copy(wsi, ss->origin, sizeof(ss->origin), WSI_TOKEN_ORIGIN) > 0 ? ss->origin : NULL;
    if (!lws_get_peer_simple(wsi, ss->peer, sizeof(ss->peer)))
        snprintf(ss->peer, sizeof(ss->peer), "unknown");
    ss->rq.peer = ss->peer;
    size_t used = 0;
    ss->rq.args = ss->args;
    for (int i = 0; i < MAX_ARGS && used + 1 < sizeof(ss->argbuf); i++) {
        int n = lws_hdr_copy_fragment(wsi, ss->argbuf + used, (int)(sizeof(ss->argbuf) - used),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        ss->args[ss->rq.nargs++] = ss->argbuf + used;
        used += (size_t)n + 1;
    }
    char cl[32];
    ss->rq.body_len = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0
                          ? (size_t)strtoull(cl, NULL, 10)
                          : 0;
    ss->chunked_body = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
}

static int answer(assay_server *s, session *ss)
{
    if (ss->handled)
        return 0;
    ss->handled = true;
    assay_sb_init(&ss->rs.body);
    ss->rs.status = 500;
    api_handle(s, &ss->rq, &ss->rs);
    if (ss->rs.wait_seq) {
        ss->wait_at = assay_mono_seconds();
        ss->next_wait = s->waiting;
        s->waiting = ss;
        lws_cancel_service(s->lws); /* the pipeline may have answered already */
        return 0;
    }
    ss->answered = true;
    lws_callback_on_writable(ss->wsi);
    return 0;
}

/* 413: the body is over SERVE_MAX_BODY (close: it was not read). */
static int too_big(session *ss, bool close)
{
    ss->close_after = close;
    ss->handled = true;
    assay_sb_init(&ss->rs.body);
    api_error(&ss->rs, 413, "too_large", NULL, "request body of %zu bytes is over %d",
              ss->rq.body_len, SERVE_MAX_BODY);
    ss->answered = true;
    lws_callback_on_writable(ss->wsi);
    return 0;
}

static int write_headers(assay_server *s, session *ss)
{
    unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof(buf) - 1;
    api_response *rs = &ss->rs;
    if (rs->body.oom) {
        rs->body.oom = false;
        api_error(rs, 500, "internal", NULL, "out of memory building the answer");
    }
    count_status(s, rs->status);
    if (lws_add_http_common_headers(ss->wsi, (unsigned)rs->status, rs->ctype, rs->body.len, &p,
                                    end))
        return -1;
    char v[64];
    if (lws_add_http_header_by_name(ss->wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(ss->wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end))
        return -1;
    if (rs->allow && lws_add_http_header_by_name(
                         ss->wsi, (const unsigned char *)"allow:", (const unsigned char *)rs->allow,
                         (int)strlen(rs->allow), &p, end))
        return -1;
    if (rs->retry_after > 0) {
        int n = snprintf(v, sizeof(v), "%d", rs->retry_after);
        if (lws_add_http_header_by_name(ss->wsi, (const unsigned char *)"retry-after:",
                                        (const unsigned char *)v, n, &p, end))
            return -1;
    }
    if (rs->www_auth &&
        lws_add_http_header_by_name(ss->wsi, (const unsigned char *)"www-authenticate:",
                                    (const unsigned char *)"Bearer realm=\"assay\"", 20, &p, end))
        return -1;
    if (ss->close_after &&
        lws_add_http_header_by_name(ss->wsi, (const unsigned char *)"connection:",
                                    (const unsigned char *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_write_http_header(ss->wsi, start, &p, end))
        return -1;
    ss->headers_sent = true;
    ss->out_off = 0;
    return 0;
}

static int http_done(session *ss)
{
    assay_sb_free(&ss->rs.body);
    bool close_now = ss->close_after;
    memset(&ss->rs, 0, sizeof(ss->rs));
    ss->answered = ss->headers_sent = ss->handled = false;
    if (close_now)
        return -1;
    return lws_http_transaction_completed(ss->wsi) ? -1 : 0;
}

static int http_writeable(assay_server *s, session *ss)
{
    if (!ss->answered)
        return 0;
    if (!ss->headers_sent) {
        if (write_headers(s, ss) < 0)
            return -1;
        if (ss->head_only || ss->rs.body.len == 0)
            return http_done(ss);
        lws_callback_on_writable(ss->wsi);
        return 0;
    }
    unsigned char buf[LWS_PRE + WRITE_CHUNK];
    size_t left = ss->rs.body.len - ss->out_off, n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
    memcpy(buf + LWS_PRE, ss->rs.body.data + ss->out_off, n);
    bool last = n == left;
    if (lws_write(ss->wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
        (int)n)
        return -1;
    ss->out_off += n;
    if (last)
        return http_done(ss);
    lws_callback_on_writable(ss->wsi);
    return 0;
}

static void unlink_wait(assay_server *s, session *ss)
{
    for (session **pp = &s->waiting; *pp; pp = &(*pp)->next_wait)
        if (*pp == ss) {
            *pp = ss->next_wait;
            break;
        }
}

static bool ws_allowed(assay_server *s, struct lws *wsi)
{
    char uri[128], origin[256];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
        strcmp(uri, "/api/v1/stream") != 0)
        return false;
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) > 0 &&
        !api_origin_ok(s, origin))
        return false;
    return true;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    assay_server *s = ctx ? lws_context_user(ctx) : NULL;
    session *ss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        memset(ss, 0, sizeof(*ss));
        ss->wsi = wsi;
        read_request(ss, wsi, in);
        if (ss->rq.body_len > SERVE_MAX_BODY) {
            /* up to SERVE_DRAIN_BODY the body is read and dropped, so the client reads the
             * 413 (closing on unread data would reset the connection under it); beyond,
             * the answer goes out and the connection closes */
            ss->too_big = true;
            if (ss->rq.body_len <= SERVE_DRAIN_BODY)
                return 0;
            return too_big(ss, true);
        }
        if (ss->rq.method == API_POST && (ss->rq.body_len > 0 || ss->chunked_body))
            return 0; /* answered at HTTP_BODY_COMPLETION */
        return answer(s, ss);
    case LWS_CALLBACK_HTTP_BODY:
        if (ss->too_big || !ss->chunked_body)
            return 0;           /* its length is known: dropped as it comes */
        ss->rq.body_len += len; /* chunked: counted, and cut off past the limit */
        return ss->rq.body_len > SERVE_MAX_BODY ? -1 : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return ss->too_big ? too_big(ss, false) : answer(s, ss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(s, ss);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (ss && !ss->is_ws) {
            unlink_wait(s, ss);
            assay_sb_free(&ss->rs.body);
            ss->rs.body.data = NULL;
        }
        break;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_allowed(s, wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED: {
        memset(ss, 0, sizeof(*ss));
        ss->wsi = wsi;
        ss->is_ws = true;
        ss->next_client = s->clients;
        s->clients = ss;
        /* a fixed kernel send buffer: left to autotuning it grows to 4 MiB (tcp_wmem) for
         * a client that does not read, and the bound would not be ours */
        int fd = (int)lws_get_socket_fd(wsi), sndbuf = SERVE_WS_SNDBUF;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        s->ss.ws_clients++;
        assay_strbuf sb; /* the newcomer starts from the last window */
        assay_sb_init(&sb);
        if (hub_copy(&s->hub, HUB_SCORE, &sb) && !sb.oom) {
            ws_msg *m = msg_make("score", sb.data, sb.len);
            if (m) {
                client_push(s, ss, m);
                msg_unref(m);
            }
        }
        assay_sb_free(&sb);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return client_write(ss);
    case LWS_CALLBACK_RECEIVE:
        return 0; /* the feed is one way; whatever a client says is ignored */
    case LWS_CALLBACK_CLOSED:
        if (ss && ss->is_ws)
            client_drop(s, ss);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s)
            service(s);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    { "http", callback, sizeof(session), 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* libwebsockets' own errors, in our voice; its notices are left out. */
static void lws_log(int level, const char *line)
{
    (void)level;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
        n--;
    fprintf(stderr, "assay run: http: %.*s\n", (int)n, line);
}

/* ---------------------------------------------------------------------------------
 * The thread
 * ------------------------------------------------------------------------------- */

static void on_tick(lws_sorted_usec_list_t *sul)
{
    assay_server *s = (assay_server *)(void *)((char *)sul - offsetof(assay_server, tick));
    service(s);
    lws_sul_schedule(s->lws, 0, &s->tick, on_tick, 200 * LWS_US_PER_MS);
}

static void *serve_main(void *arg)
{
    assay_server *s = arg;
    pthread_setname_np(pthread_self(), "assay-http"); /* for top -H and the benchmark */
    if (s->lws) {
        lws_sul_schedule(s->lws, 0, &s->tick, on_tick, 200 * LWS_US_PER_MS);
        while (!s->stop)
            if (lws_service(s->lws, 0) < 0)
                break;
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (!s->kicked) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        s->kicked = false;
        pthread_mutex_unlock(&s->mu);
        drain_events(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void wake_lws(void *ctx)
{
    assay_server *s = ctx;
    lws_cancel_service(s->lws);
}

static void wake_cv(void *ctx)
{
    assay_server *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->kicked = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int read_token(assay_server *s, const char *path, assay_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return assay_error_set(err, -errno, "http.token_file: cannot read %s: %s", path,
                               strerror(errno));
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    buf[n] = 0;
    size_t a = strspn(buf, " \t\r\n");
    while (n > a && strchr(" \t\r\n", buf[n - 1]))
        n--;
    if (more)
        return assay_error_set(err, -EINVAL, "http.token_file: %s is over 4 KiB", path);
    if (n <= a)
        return assay_error_set(err, -EINVAL, "http.token_file: %s is empty", path);
    for (size_t i = a; i < n; i++)
        if ((unsigned char)buf[i] < 0x21 || buf[i] == 0x7f)
            return assay_error_set(err, -EINVAL,
                                   "http.token_file: the token in %s has a space or control "
                                   "character (it must fit an Authorization header)",
                                   path);
    s->token = strndup(buf + a, n - a);
    return s->token ? 0 : assay_error_set(err, -ENOMEM, "out of memory");
}

static int open_history(assay_server *s, assay_error *err)
{
    const assay_config *cfg = s->cfg;
    char path[4096];
    const char *p = NULL;
    if (cfg->history.sqlite)
        p = cfg->history.sqlite;
    else if (cfg->state.dir) {
        snprintf(path, sizeof(path), "%s/history.db", cfg->state.dir);
        mkdir(cfg->state.dir, 0755);
        p = path;
    }
    int rc = assay_history_open(&s->hist, p, cfg->history.retention_us, err);
    if (rc < 0)
        return rc;
    /* after a restart GET /api/v1/score answers with the last window of the history
     * until this run closes one */
    assay_strbuf sb;
    assay_sb_init(&sb);
    size_t n = 0;
    if (assay_history_scores(s->hist, INT64_MIN, INT64_MAX, 1, true, &sb, &n, err) == 0 && n == 1 &&
        sb.len > 2 && !sb.oom)
        hub_seed_score(&s->hub, sb.data + 1, sb.len - 2);
    assay_sb_free(&sb);
    return 0;
}

/* Bind (and immediately close) a TCP socket on the address http.listen names; returns
 * 0 or the errno of the failure. SO_REUSEADDR matches what libwebsockets sets, so a
 * port in TIME_WAIT is not reported as busy. */
static int probe_bind(const char *host, int port, bool v6)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = v6 ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return EADDRNOTAVAIL;
    int e = 0;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        e = errno;
    else {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) < 0)
            e = errno;
        close(fd);
    }
    freeaddrinfo(res);
    return e;
}

static int start_http(assay_server *s, assay_error *err)
{
    const char *listen = s->cfg->http.listen;
    const char *colon = strrchr(listen, ':');
    size_t hl = (size_t)(colon - listen);
    bool v6 = listen[0] == '[';
    const char *h = v6 ? listen + 1 : listen;
    size_t hn = v6 ? hl - 2 : hl;
    if (hn >= sizeof(s->host))
        return assay_error_set(err, -EINVAL, "http.listen: host name too long");
    memcpy(s->host, h, hn);
    s->host[hn] = 0;
    int want = atoi(colon + 1);

    /* Probe the address with a socket of our own first: the error then says which of
     * the two failures it is, and libwebsockets 4.1 leaks its partial context when the
     * bind fails inside lws_create_context. */
    int perr = probe_bind(s->host, want, v6);
    if (perr)
        return assay_error_set(
            err, -perr, "http.listen: cannot listen on %s: %s%s", listen, strerror(perr),
            perr == EADDRINUSE      ? " (another process holds the port)"
            : perr == EADDRNOTAVAIL ? " (the host is not an address of this machine)"
                                    : "");
    lws_set_log_level(LLL_ERR, lws_log);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = want;
    info.iface = s->host;
    info.protocols = protocols;
    info.user = s;
    info.max_http_header_data = SERVE_MAX_HEADERS;
    info.timeout_secs = 10;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (!v6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    s->lws = lws_create_context(&info);
    if (!s->lws)
        return assay_error_set(err, -EADDRNOTAVAIL,
                               "http.listen: cannot listen on %s (the port is in use, or the "
                               "host is not an address of this machine)",
                               listen);
    struct lws_vhost *vh = lws_get_vhost_by_name(s->lws, "default");
    s->port = vh ? lws_get_vhost_listen_port(vh) : want;
    snprintf(s->addr, sizeof(s->addr), "%s%s%s:%d", v6 ? "[" : "", s->host, v6 ? "]" : "", s->port);
    return 0;
}

int assay_server_start(assay_server **out, assay_config *cfg, assay_error *err)
{
    *out = NULL;
    if (!cfg->http.listen && !cfg->history.sqlite)
        return 0;
    assay_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->rate = calloc(SERVE_RATE_CLIENTS, sizeof(rate_slot)))) {
        free(s);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    s->cfg = cfg;
    s->ss.start_time = (double)assay_wall_us() / 1e6;
    s->ss.boot_time = metrics_boot_time();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int rc = hub_init(&s->hub, cfg, err);
    if (rc == 0 && cfg->http.token_file)
        rc = read_token(s, cfg->http.token_file, err);
    if (rc == 0)
        rc = open_history(s, err);
    if (rc == 0 && cfg->http.listen)
        rc = start_http(s, err);
    if (rc < 0) {
        assay_server_stop(s);
        return rc;
    }
    s->hub.wake = s->lws ? wake_lws : wake_cv;
    s->hub.wake_ctx = s;
    if (pthread_create(&s->th, NULL, serve_main, s) != 0) {
        assay_server_stop(s);
        return assay_error_set(err, -EAGAIN, "cannot start the HTTP thread");
    }
    s->running = true;
    if (s->lws) {
        char *addr = strdup(s->addr);
        if (addr) {
            free(cfg->http.listen);
            cfg->http.listen = addr;
        }
    }
    *out = s;
    return 0;
}

const char *assay_server_address(const assay_server *s)
{
    return s && s->addr[0] ? s->addr : NULL;
}

void assay_server_window(assay_server *s, const assay_result *w)
{
    if (s)
        hub_window(&s->hub, w);
}

void assay_server_alert(assay_server *s, const assay_alert *a)
{
    if (s)
        hub_alert(&s->hub, a);
}

void assay_server_poll(assay_server *s, assay_engine_hand *h)
{
    if (s)
        hub_poll(&s->hub, h);
}

void assay_server_finished(assay_server *s)
{
    if (s)
        hub_finish(&s->hub);
}

void assay_server_stop(assay_server *s)
{
    if (!s)
        return;
    if (s->running) {
        s->stop = 1;
        if (s->lws)
            lws_cancel_service(s->lws);
        else
            wake_cv(s);
        pthread_join(s->th, NULL);
        s->running = false;
    }
    if (s->hub.ev)
        drain_events(s); /* what the last windows produced reaches the history */
    if (s->lws) {
        lws_sul_cancel(&s->tick);
        lws_context_destroy(s->lws);
    }
    assay_history_close(s->hist);
    hub_free(&s->hub);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->token);
    free(s->rate);
    free(s);
}
