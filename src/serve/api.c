/*
 * api.c - what each request answers (docs/serving.md is the user's reference).
 *
 * Routing is a table of paths, each with the methods it takes and the query
 * parameters it knows: a known path with another method is 405 with Allow, an unknown
 * parameter or a value that does not parse is 400 naming it, so a typo in a script
 * (`?state=firng`) is an error rather than an answer to a different question. Errors
 * are always {error: {code, message, details}}.
 *
 * Mutating requests (ack, resolve) are checked in the order that leaks least: the
 * rate limit first (per client address, a fixed one-minute window; it counts refused
 * attempts too, so guessing tokens is slow), then the bearer token (compared in
 * constant time), then Origin (a browser page from another site must not act on
 * alerts: CSRF), then the alert itself. They are applied by the pipeline's thread
 * (hub.c), so the answer waits for it, at most SERVE_CMD_TIMEOUT.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "core/clock.h"
#include "engine/json_writer.h"
#include "serve/server.h"

static const char JSON[] = "application/json";

void api_error(api_response *rs, int status, const char *code, const char *details, const char *fmt,
               ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rs->status = status;
    rs->ctype = JSON;
    rs->body.len = 0;
    assay_json j;
    assay_json_init(&j, &rs->body);
    assay_json_obj_open(&j);
    assay_json_key(&j, "error");
    assay_json_obj_open(&j);
    assay_json_key(&j, "code");
    assay_json_str(&j, code);
    assay_json_key(&j, "message");
    assay_json_str(&j, msg);
    assay_json_key(&j, "details");
    if (details)
        assay_json_str(&j, details);
    else
        assay_json_null(&j);
    assay_json_obj_close(&j);
    assay_json_obj_close(&j);
}

static void ok_text(api_response *rs, const char *ctype)
{
    rs->status = 200;
    rs->ctype = ctype;
}

/* ---------------------------------------------------------------------------------
 * Query parameters
 * ------------------------------------------------------------------------------- */

/* The value of parameter name, or NULL. */
static const char *arg(const api_request *rq, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < rq->nargs; i++)
        if (!strncmp(rq->args[i], name, n) && rq->args[i][n] == '=')
            return rq->args[i] + n + 1;
    return NULL;
}

/* false (and a 400) when a parameter is not one of the allowed (space separated). */
static bool args_known(const api_request *rq, const char *allowed, api_response *rs)
{
    for (size_t i = 0; i < rq->nargs; i++) {
        const char *a = rq->args[i];
        size_t n = strcspn(a, "=");
        bool found = false;
        for (const char *p = allowed; *p;) {
            size_t m = strcspn(p, " ");
            if (m == n && !strncmp(p, a, n))
                found = true;
            p += m;
            while (*p == ' ')
                p++;
        }
        if (!found) {
            api_error(rs, 400, "bad_query", allowed[0] ? allowed : NULL,
                      "unknown query parameter '%.*s' (%s%s)", (int)ASSAY_MIN(n, 64), a,
                      allowed[0] ? "this endpoint takes: " : "this endpoint takes none", allowed);
            return false;
        }
    }
    return true;
}

/* RFC 3339, or whole seconds since the epoch. */
static bool time_arg(const api_request *rq, const char *name, int64_t *out, api_response *rs)
{
    const char *v = arg(rq, name);
    if (!v)
        return true;
    size_t n = strlen(v);
    bool digits = n > 0 && n < 16 && strspn(v, "0123456789") == n;
    if (digits) {
        *out = (int64_t)strtoll(v, NULL, 10) * 1000000;
        return true;
    }
    if (n && assay_parse_timestamp(v, n, out) == 0)
        return true;
    api_error(rs, 400, "bad_query", v,
              "%s: expected an RFC 3339 time (2026-11-23T12:00:00Z) or seconds since the epoch",
              name);
    return false;
}

static bool limit_arg(const api_request *rq, size_t def, size_t *out, api_response *rs)
{
    const char *v = arg(rq, "limit");
    *out = def;
    if (!v)
        return true;
    size_t n = strlen(v);
    if (n == 0 || n > 6 || strspn(v, "0123456789") != n || atoi(v) < 1 || atoi(v) > 10000) {
        api_error(rs, 400, "bad_query", v, "limit: expected a whole number from 1 to 10000");
        return false;
    }
    *out = (size_t)atoi(v);
    return true;
}

static bool bool_arg(const api_request *rq, const char *name, bool *out, api_response *rs)
{
    const char *v = arg(rq, name);
    if (!v)
        return true;
    if (!strcmp(v, "true") || !strcmp(v, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0")) {
        *out = false;
        return true;
    }
    api_error(rs, 400, "bad_query", v, "%s: expected true or false", name);
    return false;
}

/* name must be one of the space-separated values (or absent). */
static bool enum_arg(const api_request *rq, const char *name, const char *values, const char **out,
                     api_response *rs)
{
    const char *v = arg(rq, name);
    *out = NULL;
    if (!v)
        return true;
    size_t n = strlen(v);
    for (const char *p = values; *p;) {
        size_t m = strcspn(p, " ");
        if (m == n && !strncmp(p, v, n)) {
            *out = v;
            return true;
        }
        p += m;
        while (*p == ' ')
            p++;
    }
    api_error(rs, 400, "bad_query", values, "%s: '%.64s' is not one of: %s", name, v, values);
    return false;
}

/* ---------------------------------------------------------------------------------
 * Endpoints
 * ------------------------------------------------------------------------------- */

static void no_window(api_response *rs)
{
    api_error(rs, 404, "no_window", NULL,
              "no window has closed yet (the first closes when event time passes its end)");
}

static void get_window_text(assay_server *s, hub_text which, api_response *rs)
{
    if (hub_copy(&s->hub, which, &rs->body))
        ok_text(rs, JSON);
    else
        no_window(rs);
}

static void history_failed(assay_server *s, api_response *rs, const assay_error *err)
{
    s->ss.history_errors++;
    api_error(rs, 500, "history", NULL, "the history could not be read: %s", err->msg);
}

static void get_scores(assay_server *s, const api_request *rq, api_response *rs)
{
    int64_t from = INT64_MIN, to = INT64_MAX;
    size_t limit;
    bool latest = false;
    if (!args_known(rq, "from to limit latest", rs) || !time_arg(rq, "from", &from, rs) ||
        !time_arg(rq, "to", &to, rs) || !limit_arg(rq, 100, &limit, rs) ||
        !bool_arg(rq, "latest", &latest, rs))
        return;
    if (from > to) {
        api_error(rs, 400, "bad_query", NULL, "from is after to");
        return;
    }
    assay_error err = { 0 };
    size_t count = 0;
    assay_sb_puts(&rs->body, "{\"scores\":");
    if (assay_history_scores(s->hist, from, to, limit, latest, &rs->body, &count, &err) < 0) {
        history_failed(s, rs, &err);
        return;
    }
    assay_sb_printf(&rs->body, ",\"count\":%zu}", count);
    ok_text(rs, JSON);
}

static void get_alerts(assay_server *s, const api_request *rq, api_response *rs)
{
    const char *state, *sev;
    size_t limit;
    if (!args_known(rq, "state severity limit", rs) ||
        !enum_arg(rq, "state", "active firing acknowledged resolved", &state, rs) ||
        !enum_arg(rq, "severity", "low medium high critical", &sev, rs) ||
        !limit_arg(rq, 100, &limit, rs))
        return;
    assay_error err = { 0 };
    size_t count = 0;
    assay_sb_puts(&rs->body, "{\"alerts\":");
    if (assay_history_alerts(s->hist, state, sev, limit, &rs->body, &count, &err) < 0) {
        history_failed(s, rs, &err);
        return;
    }
    assay_sb_printf(&rs->body, ",\"count\":%zu}", count);
    ok_text(rs, JSON);
}

static bool valid_id(const char *id, size_t n)
{
    return n == 16 && strspn(id, "0123456789abcdef") >= 16;
}

static void unknown_alert(api_response *rs, const char *id)
{
    api_error(rs, 404, "not_found", id, "no alert has id '%.40s'", id);
}

static void get_alert(assay_server *s, const char *id, const api_request *rq, api_response *rs)
{
    if (!args_known(rq, "", rs))
        return;
    assay_error err = { 0 };
    int rc = assay_history_alert(s->hist, id, &rs->body, &err);
    if (rc < 0)
        history_failed(s, rs, &err);
    else if (rc == 1)
        unknown_alert(rs, id);
    else
        ok_text(rs, JSON);
}

/* Constant time in the length of the configured token. */
static bool token_ok(const char *want, const char *auth)
{
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *got = auth + 7;
    size_t n = strlen(want), m = strlen(got);
    unsigned diff = n != m;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)want[i] ^ (unsigned char)(i < m ? got[i] : 0);
    return diff == 0;
}

bool api_origin_ok(const assay_server *s, const char *origin)
{
    if (!origin || !*origin)
        return true; /* not a browser */
    char own[160];
    const char *hosts[] = { s->host, "localhost", "127.0.0.1", "[::1]" };
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        snprintf(own, sizeof(own), "http://%s:%d", hosts[i], s->port);
        if (!strcmp(origin, own))
            return true;
    }
    for (size_t i = 0; i < s->cfg->http.norigins; i++)
        if (!strcmp(origin, s->cfg->http.origins[i]))
            return true;
    return false;
}

/* Count one mutating request of rq->peer; false (and a 429) past the limit. */
static bool rate_ok(assay_server *s, const char *peer, api_response *rs)
{
    double now = assay_mono_seconds();
    rate_slot *slot = NULL, *oldest = &s->rate[0];
    for (size_t i = 0; i < SERVE_RATE_CLIENTS; i++) {
        rate_slot *r = &s->rate[i];
        if (!strcmp(r->peer, peer)) {
            slot = r;
            break;
        }
        if (r->window < oldest->window)
            oldest = r;
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->peer, sizeof(slot->peer), "%s", peer);
        slot->window = now;
        slot->n = 0;
    }
    if (now - slot->window >= 60) {
        slot->window = now;
        slot->n = 0;
    }
    if (slot->n >= s->cfg->http.rate_limit) {
        int wait = (int)(60 - (now - slot->window)) + 1;
        rs->retry_after = wait;
        api_error(rs, 429, "rate_limited", NULL,
                  "more than %u ack/resolve requests in a minute from %s (http.rate_limit); try "
                  "again in %d s",
                  s->cfg->http.rate_limit, peer, wait);
        return false;
    }
    slot->n++;
    return true;
}

static void post_alert(assay_server *s, const char *id, hub_cmd_op op, const api_request *rq,
                       api_response *rs)
{
    if (!rate_ok(s, rq->peer ? rq->peer : "", rs))
        return;
    if (s->token && !token_ok(s->token, rq->auth)) {
        rs->www_auth = true;
        api_error(rs, 401, "unauthorized", NULL,
                  "%s: send the token of http.token_file as 'Authorization: Bearer TOKEN'",
                  rq->auth ? "the bearer token is not the configured one"
                           : "this endpoint needs a bearer token");
        return;
    }
    if (!api_origin_ok(s, rq->origin)) {
        api_error(rs, 403, "forbidden_origin", rq->origin,
                  "a page from %.100s may not change alerts (http.origins lists the allowed ones)",
                  rq->origin);
        return;
    }
    if (rq->body_len > SERVE_MAX_BODY) {
        api_error(rs, 413, "too_large", NULL, "request body over %d bytes", SERVE_MAX_BODY);
        return;
    }
    if (!args_known(rq, "", rs))
        return;
    if (!valid_id(id, strlen(id))) {
        unknown_alert(rs, id);
        return;
    }
    assay_strbuf cur;
    assay_sb_init(&cur);
    assay_error err = { 0 };
    int rc = assay_history_alert(s->hist, id, &cur, &err);
    bool resolved = rc == 0 && strstr(cur.data, "\"state\":\"resolved\"") != NULL;
    assay_sb_free(&cur);
    if (rc < 0) {
        history_failed(s, rs, &err);
        return;
    }
    if (rc == 1) {
        unknown_alert(rs, id);
        return;
    }
    if (resolved) {
        api_error(rs, 409, "resolved", id, "alert %s is resolved already", id);
        return;
    }
    uint64_t seq = hub_command(&s->hub, op, id, rq->peer);
    if (!seq) {
        rs->retry_after = 1;
        api_error(rs, 503, "busy", NULL, "too many ack/resolve requests are waiting");
        return;
    }
    rs->wait_seq = seq;
    snprintf(rs->wait_id, sizeof(rs->wait_id), "%s", id);
}

void api_finish_command(assay_server *s, const char *id, int rc, const char *msg, api_response *rs)
{
    if (rc == -ENOENT) {
        api_error(rs, 409, "not_active", id, "alert %s is no longer active (it resolved meanwhile)",
                  id);
        return;
    }
    if (rc == -ETIMEDOUT || rc == -ESHUTDOWN) {
        rs->retry_after = 1;
        api_error(rs, 503, "unavailable", NULL, "%s", msg);
        return;
    }
    if (rc < 0) {
        api_error(rs, 500, "internal", NULL, "%s", msg);
        return;
    }
    assay_error err = { 0 };
    assay_sb_puts(&rs->body, "{\"alert\":");
    int hr = assay_history_alert(s->hist, id, &rs->body, &err);
    if (hr != 0) {
        if (hr < 0)
            history_failed(s, rs, &err);
        else
            unknown_alert(rs, id);
        return;
    }
    assay_sb_puts(&rs->body, "}");
    ok_text(rs, JSON);
}

/* A path of the table: its methods ("GET", "POST") and what answers it. */
enum route {
    R_PAGE = 0,
    R_LIVEZ,
    R_READYZ,
    R_METRICS,
    R_SCORE,
    R_SCORES,
    R_DIMS,
    R_RULES,
    R_PROFILE,
    R_CONTRACTS,
    R_STATUS,
    R_ALERTS,
    R_ALERT,
    R_ACK,
    R_RESOLVE,
    R_NONE
};

static const struct {
    const char *path;
    bool post;
} routes[] = {
    [R_PAGE] = { "/", false },
    [R_LIVEZ] = { "/livez", false },
    [R_READYZ] = { "/readyz", false },
    [R_METRICS] = { "/metrics", false },
    [R_SCORE] = { "/api/v1/score", false },
    [R_SCORES] = { "/api/v1/scores", false },
    [R_DIMS] = { "/api/v1/dimensions", false },
    [R_RULES] = { "/api/v1/rules", false },
    [R_PROFILE] = { "/api/v1/profile", false },
    [R_CONTRACTS] = { "/api/v1/contracts", false },
    [R_STATUS] = { "/api/v1/status", false },
    [R_ALERTS] = { "/api/v1/alerts", false },
};

/* Which route path is; id gets the alert id of /api/v1/alerts/{id}[/ack|/resolve]. */
static enum route route_of(const char *path, char *id, size_t cap)
{
    for (int r = 0; r < R_ALERT; r++)
        if (!strcmp(path, routes[r].path))
            return (enum route)r;
    static const char pre[] = "/api/v1/alerts/";
    if (strncmp(path, pre, sizeof(pre) - 1) != 0)
        return R_NONE;
    const char *p = path + sizeof(pre) - 1;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= cap)
        return R_NONE;
    memcpy(id, p, n);
    id[n] = 0;
    if (!p[n])
        return R_ALERT;
    if (!strcmp(p + n, "/ack"))
        return R_ACK;
    if (!strcmp(p + n, "/resolve"))
        return R_RESOLVE;
    return R_NONE;
}

void api_handle(assay_server *s, const api_request *rq, api_response *rs)
{
    char id[64];
    enum route r = route_of(rq->path, id, sizeof(id));
    if (r == R_NONE) {
        api_error(rs, 404, "not_found", rq->path,
                  "no such endpoint: %.200s (GET / for the live page; the API is under "
                  "/api/v1)",
                  rq->path);
        return;
    }
    bool post = r == R_ACK || r == R_RESOLVE;
    bool get = rq->method == API_GET || rq->method == API_HEAD;
    if (post ? rq->method != API_POST : !get) {
        rs->allow = post ? "POST" : "GET, HEAD";
        api_error(rs, 405, "method_not_allowed", rs->allow, "%s %.200s: use %s", rq->method_name,
                  rq->path, rs->allow);
        return;
    }
    char why[256];
    switch (r) {
    case R_PAGE:
        if (!args_known(rq, "", rs))
            return;
        assay_sb_append(&rs->body, (const char *)assay_page_html, assay_page_html_len);
        ok_text(rs, "text/html; charset=utf-8");
        return;
    case R_LIVEZ:
        assay_sb_puts(&rs->body, "ok\n");
        ok_text(rs, "text/plain; charset=utf-8");
        return;
    case R_READYZ: {
        bool ready = hub_ready(&s->hub, why, sizeof(why));
        assay_sb_printf(&rs->body, "%s%s\n", ready ? "" : "not ready: ", why);
        rs->status = ready ? 200 : 503;
        rs->ctype = "text/plain; charset=utf-8";
        return;
    }
    case R_METRICS:
        if (!args_known(rq, "", rs))
            return;
        metrics_render(&s->hub, &s->ss, &rs->body);
        ok_text(rs, "text/plain; version=0.0.4; charset=utf-8");
        return;
    case R_SCORE:
        if (args_known(rq, "", rs))
            get_window_text(s, HUB_SCORE, rs);
        return;
    case R_DIMS:
        if (args_known(rq, "", rs))
            get_window_text(s, HUB_DIMS, rs);
        return;
    case R_RULES:
        if (args_known(rq, "", rs))
            get_window_text(s, HUB_RULES, rs);
        return;
    case R_PROFILE:
        if (args_known(rq, "", rs))
            get_window_text(s, HUB_PROFILE, rs);
        return;
    case R_CONTRACTS:
        if (args_known(rq, "", rs)) {
            hub_contracts_json(&s->hub, &rs->body);
            ok_text(rs, JSON);
        }
        return;
    case R_STATUS:
        if (args_known(rq, "", rs)) {
            hub_status_json(&s->hub, &rs->body);
            ok_text(rs, JSON);
        }
        return;
    case R_SCORES:
        get_scores(s, rq, rs);
        return;
    case R_ALERTS:
        get_alerts(s, rq, rs);
        return;
    case R_ALERT:
        get_alert(s, id, rq, rs);
        return;
    case R_ACK:
    case R_RESOLVE:
        post_alert(s, id, r == R_ACK ? HUB_ACK : HUB_RESOLVE, rq, rs);
        return;
    case R_NONE:
        break;
    }
}
