/*
 * hub.c - the state the pipeline hands to the server thread (see hub.h).
 *
 * The JSON the API serves for a window (score record, dimensions, rules, profile) is
 * encoded on the pipeline's thread when the window closes - once per window, a few
 * microseconds - so a request is a copy under the lock and never touches pipeline
 * state. Counters the pipeline keeps (rows, bytes, lag) arrive through on_poll as one
 * assay_run_live struct; the rate of rows is computed here from its successive values.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "assay/sink.h"
#include "core/clock.h"
#include "core/grow.h"
#include "engine/json_writer.h"
#include "engine/report.h"
#include "serve/hub.h"

const char *hub_event_name(hub_event_kind k)
{
    static const char *const names[] = { "score", "alert", "alert_ack", "alert_resolved" };
    return (unsigned)k < 4 ? names[k] : "unknown";
}

int hub_init(assay_hub *h, const assay_config *cfg, assay_error *err)
{
    memset(h, 0, sizeof(*h));
    h->cfg = cfg;
    h->ev = calloc(HUB_MAX_EVENTS, sizeof(hub_event));
    h->rule_evaluated = calloc(cfg->nrules + 1, sizeof(uint64_t));
    h->rule_failed = calloc(cfg->nrules + 1, sizeof(uint64_t));
    if (!h->ev || !h->rule_evaluated || !h->rule_failed) {
        hub_free(h);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&h->mu, NULL);
    return 0;
}

void hub_event_free(hub_event *e)
{
    free(e->json);
    e->json = NULL;
}

void hub_free(assay_hub *h)
{
    if (h->ev) {
        for (size_t i = 0; i < h->ev_n; i++)
            hub_event_free(&h->ev[(h->ev_head + i) % HUB_MAX_EVENTS]);
        pthread_mutex_destroy(&h->mu);
    }
    free(h->ev);
    free(h->score);
    free(h->dims);
    free(h->rules);
    free(h->profile);
    free(h->rule_evaluated);
    free(h->rule_failed);
    for (size_t i = 0; i < h->nalerts; i++)
        free(h->alerts[i].rule);
    free(h->alerts);
    memset(h, 0, sizeof(*h));
}

/* Under the lock: queue e (taking its json), dropping the oldest when full. Returns
 * whether the queue was empty: only then does the server need a wake-up, since it
 * drains until the queue is empty and a wake-up for the earlier events is pending. */
static bool push_event(assay_hub *h, hub_event *e)
{
    bool was_empty = h->ev_n == 0;
    if (h->ev_n == HUB_MAX_EVENTS) {
        hub_event_free(&h->ev[h->ev_head]);
        h->ev_head = (h->ev_head + 1) % HUB_MAX_EVENTS;
        h->ev_n--;
        h->ev_dropped++;
    }
    h->ev[(h->ev_head + h->ev_n) % HUB_MAX_EVENTS] = *e;
    h->ev_n++;
    return was_empty;
}

size_t hub_take_events(assay_hub *h, hub_event *out, size_t cap)
{
    pthread_mutex_lock(&h->mu);
    size_t n = 0;
    while (n < cap && h->ev_n) {
        out[n++] = h->ev[h->ev_head];
        h->ev_head = (h->ev_head + 1) % HUB_MAX_EVENTS;
        h->ev_n--;
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

static void wake(assay_hub *h)
{
    if (h->wake)
        h->wake(h->wake_ctx);
}

static char *finish_json(assay_strbuf *sb)
{
    char *out = NULL;
    size_t len;
    return assay_json_finish(sb, &out, &len) == 0 ? out : NULL;
}

static void window_head(assay_json *j, const assay_result *w)
{
    assay_json_key(j, "window_start");
    assay_json_time(j, w->window_start);
    assay_json_key(j, "window_end");
    assay_json_time(j, w->window_end);
    assay_json_key(j, "rows");
    assay_json_u64(j, w->rows);
}

static char *dims_json(const assay_result *w, const assay_config *cfg)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    window_head(&j, w);
    assay_json_key(&j, "overall");
    if (w->rows)
        assay_json_fixed(&j, w->overall, 4);
    else
        assay_json_null(&j);
    assay_json_key(&j, "dimensions");
    assay_json_arr_open(&j);
    for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
        assay_json_obj_open(&j);
        assay_json_key(&j, "name");
        assay_json_str(&j, assay_dimension_name((assay_dimension)d));
        assay_json_key(&j, "score");
        if (w->dim_present[d] && w->rows)
            assay_json_fixed(&j, w->dims[d], 4);
        else
            assay_json_null(&j);
        assay_json_key(&j, "checks");
        assay_json_u64(&j, w->dim_checks[d]);
        assay_json_key(&j, "failed");
        assay_json_u64(&j, w->dim_failed[d]);
        assay_json_key(&j, "weight");
        assay_json_f64(&j, cfg->weights[d]);
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    assay_json_obj_close(&j);
    return finish_json(&sb);
}

static char *rules_json(const assay_hub *h, const assay_result *w)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    assay_json_key(&j, "window_start");
    assay_json_time(&j, w->window_start);
    assay_json_key(&j, "window_end");
    assay_json_time(&j, w->window_end);
    assay_json_key(&j, "rules");
    assay_json_arr_open(&j);
    for (size_t r = 0; r < w->nrules; r++) {
        const assay_rule_result *rr = &w->rules[r];
        const assay_rule_config *rc = rr->cfg;
        assay_json_obj_open(&j);
        assay_json_rule_head(&j, rc);
        assay_json_key(&j, "threshold");
        assay_json_f64(&j, rc->threshold);
        assay_json_key(&j, "window");
        assay_json_obj_open(&j);
        assay_json_key(&j, "evaluated");
        assay_json_u64(&j, rr->evaluated);
        assay_json_key(&j, "failed");
        assay_json_u64(&j, rr->failed);
        assay_json_key(&j, "fail_rate");
        assay_json_f64(&j, rr->fail_rate);
        assay_json_key(&j, "breached");
        assay_json_bool(&j, rr->breached);
        assay_json_obj_close(&j);
        assay_json_key(&j, "total");
        assay_json_obj_open(&j);
        assay_json_key(&j, "evaluated");
        assay_json_u64(&j, r < h->cfg->nrules ? h->rule_evaluated[r] : 0);
        assay_json_key(&j, "failed");
        assay_json_u64(&j, r < h->cfg->nrules ? h->rule_failed[r] : 0);
        assay_json_obj_close(&j);
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    assay_json_obj_close(&j);
    return finish_json(&sb);
}

static char *profile_json(const assay_result *w)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    window_head(&j, w);
    assay_json_key(&j, "columns");
    assay_json_arr_open(&j);
    for (size_t c = 0; c < w->ncolumns; c++)
        assay_json_score_column(&j, &w->columns[c]);
    assay_json_arr_close(&j);
    assay_json_obj_close(&j);
    return finish_json(&sb);
}

void hub_window(assay_hub *h, const assay_result *w)
{
    if (!w->windowed)
        return;
    hub_event e = { .kind = HUB_EV_SCORE };
    if (assay_encode_score_json(w, h->cfg, &e.json, &e.len) < 0)
        return;
    memcpy(e.id, w->id, sizeof(e.id));
    e.window_start = w->window_start;
    e.window_end = w->window_end;
    e.overall = w->rows ? w->overall : NAN;
    char *dims = dims_json(w, h->cfg), *profile = profile_json(w);
    /* totals first (the rules text carries them), outside the lock: only this thread
     * writes them */
    for (size_t r = 0; r < w->nrules && r < h->cfg->nrules; r++) {
        h->rule_evaluated[r] += w->rules[r].evaluated;
        h->rule_failed[r] += w->rules[r].failed;
    }
    char *rules = rules_json(h, w);
    char *score = malloc(e.len + 1);
    if (score)
        memcpy(score, e.json, e.len + 1);
    double lag = (double)(assay_wall_us() - w->window_end) / 1e6;

    pthread_mutex_lock(&h->mu);
    free(h->score);
    free(h->dims);
    free(h->rules);
    free(h->profile);
    h->score = score;
    h->score_len = score ? e.len : 0;
    h->dims = dims;
    h->rules = rules;
    h->profile = profile;
    if (w->rows > 0) { /* the gauges keep the last window that had rows to score */
        h->has_overall = true;
        h->overall = w->overall;
        memcpy(h->dim_score, w->dims, sizeof(h->dim_score));
        for (int d = 0; d < ASSAY_DIM_COUNT; d++)
            h->dim_present[d] = w->dim_present[d];
    }
    h->window_start = w->window_start;
    h->window_end = w->window_end;
    h->close_lag = lag;
    h->has_window = true;
    h->window_rows_total += w->rows;
    bool first = push_event(h, &e);
    pthread_mutex_unlock(&h->mu);
    if (first)
        wake(h);
}

static hub_active *alert_find(assay_hub *h, const char *id, size_t *at)
{
    for (size_t i = 0; i < h->nalerts; i++)
        if (!strcmp(h->alerts[i].id, id)) {
            if (at)
                *at = i;
            return &h->alerts[i];
        }
    return NULL;
}

void hub_alert(assay_hub *h, const assay_alert *a)
{
    hub_event e = { .kind = a->state == ASSAY_ALERT_RESOLVED ? HUB_EV_ALERT_RESOLVED
                            : a->state == ASSAY_ALERT_ACKED  ? HUB_EV_ALERT_ACK
                                                             : HUB_EV_ALERT };
    if (assay_encode_alert_json(a, &e.json, &e.len) < 0)
        return;
    memcpy(e.id, a->id, sizeof(e.id));
    e.window_start = a->window_start;
    e.window_end = a->window_end;
    e.fired_at = a->fired_start;
    e.overall = NAN;
    snprintf(e.state, sizeof(e.state), "%s", assay_alert_state_name(a->state));
    snprintf(e.akind, sizeof(e.akind), "%s", assay_alert_kind_name(a->kind));
    snprintf(e.severity, sizeof(e.severity), "%s", assay_severity_name(a->severity));
    char *rule = a->rule ? strdup(a->rule) : NULL;

    pthread_mutex_lock(&h->mu);
    size_t at;
    hub_active *x = alert_find(h, a->id, &at);
    if (a->state == ASSAY_ALERT_RESOLVED) {
        if (x) {
            free(x->rule);
            h->alerts[at] = h->alerts[--h->nalerts];
        }
        free(rule);
    } else if (x) {
        x->acked = x->acked || a->acked || a->state == ASSAY_ALERT_ACKED;
        free(rule);
    } else if (ASSAY_RESERVE(h->alerts, h->nalerts, h->alerts_cap, 16) == 0) {
        hub_active *n = &h->alerts[h->nalerts++];
        memcpy(n->id, a->id, sizeof(n->id));
        n->kind = a->kind;
        n->severity = a->severity;
        n->acked = a->acked || a->state == ASSAY_ALERT_ACKED;
        n->rule = rule;
    } else {
        free(rule);
    }
    bool first = push_event(h, &e);
    pthread_mutex_unlock(&h->mu);
    if (first)
        wake(h);
}

void hub_poll(assay_hub *h, assay_engine_hand *eh)
{
    assay_run_live live;
    assay_engine_live(eh, &live);
    double now = assay_mono_seconds();
    hub_cmd todo[HUB_MAX_CMDS];
    size_t ntodo = 0;
    pthread_mutex_lock(&h->mu);
    if (!h->have_live) {
        h->rate_t = now;
        h->rate_rows = live.rows;
    } else if (now - h->rate_t >= 1.0) {
        /* an exponentially weighted rate over ~3 s: steady enough to read, quick to follow */
        double inst = (double)(live.rows - h->rate_rows) / (now - h->rate_t);
        h->rate = h->rate > 0 ? h->rate + (inst - h->rate) / 3 : inst;
        h->rate_t = now;
        h->rate_rows = live.rows;
    }
    h->live = live;
    h->have_live = true;
    for (size_t i = 0; i < h->ncmds; i++)
        if (!h->cmds[i].taken) {
            h->cmds[i].taken = true;
            todo[ntodo++] = h->cmds[i];
        }
    pthread_mutex_unlock(&h->mu);
    if (!ntodo)
        return;
    for (size_t i = 0; i < ntodo; i++) {
        assay_error err = { 0 };
        hub_cmd *c = &todo[i];
        c->rc = c->op == HUB_ACK ? assay_engine_ack(eh, c->id, c->by, &err)
                                 : assay_engine_resolve(eh, c->id, c->by, &err);
        snprintf(c->msg, sizeof(c->msg), "%s", c->rc < 0 ? err.msg : "");
    }
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < ntodo; i++)
        for (size_t k = 0; k < h->ncmds; k++)
            if (h->cmds[k].seq == todo[i].seq) {
                h->cmds[k].rc = todo[i].rc;
                memcpy(h->cmds[k].msg, todo[i].msg, sizeof(todo[i].msg));
                h->cmds[k].done = true;
            }
    pthread_mutex_unlock(&h->mu);
    wake(h);
}

void hub_seed_score(assay_hub *h, const char *json, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return;
    memcpy(s, json, len);
    s[len] = 0;
    pthread_mutex_lock(&h->mu);
    free(h->score);
    h->score = s;
    h->score_len = len;
    pthread_mutex_unlock(&h->mu);
}

void hub_finish(assay_hub *h)
{
    pthread_mutex_lock(&h->mu);
    h->finished = true;
    pthread_mutex_unlock(&h->mu);
    wake(h);
}

uint64_t hub_command(assay_hub *h, hub_cmd_op op, const char *id, const char *by)
{
    uint64_t seq = 0;
    pthread_mutex_lock(&h->mu);
    if (h->ncmds < HUB_MAX_CMDS) {
        hub_cmd *c = &h->cmds[h->ncmds++];
        memset(c, 0, sizeof(*c));
        c->seq = seq = ++h->cmd_seq;
        c->op = op;
        snprintf(c->id, sizeof(c->id), "%s", id);
        snprintf(c->by, sizeof(c->by), "%s", by ? by : "");
        c->queued_at = assay_mono_seconds();
        if (h->finished) { /* no pipeline left to take it */
            c->done = true;
            c->rc = -ESHUTDOWN;
            snprintf(c->msg, sizeof(c->msg), "the run has ended; alerts can no longer change");
        }
    }
    pthread_mutex_unlock(&h->mu);
    return seq;
}

int hub_command_result(assay_hub *h, uint64_t seq, int *rc, char *msg, size_t cap)
{
    int found = -1;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->ncmds; i++) {
        if (h->cmds[i].seq != seq)
            continue;
        found = 0;
        if (h->cmds[i].done) {
            found = 1;
            *rc = h->cmds[i].rc;
            snprintf(msg, cap, "%s", h->cmds[i].msg);
            h->cmds[i] = h->cmds[--h->ncmds];
        }
        break;
    }
    pthread_mutex_unlock(&h->mu);
    return found;
}

void hub_command_expire(assay_hub *h, double before)
{
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->ncmds; i++) {
        hub_cmd *c = &h->cmds[i];
        if (!c->taken && !c->done && (c->queued_at < before || h->finished)) {
            c->done = true;
            c->rc = h->finished ? -ESHUTDOWN : -ETIMEDOUT;
            snprintf(c->msg, sizeof(c->msg), "%s",
                     h->finished ? "the run has ended; alerts can no longer change"
                                 : "the pipeline did not take the request in time (it is "
                                   "starting, waiting as a standby, or stopping)");
        }
    }
    pthread_mutex_unlock(&h->mu);
}

static bool copy_text(assay_hub *h, char *const *p, assay_strbuf *out)
{
    pthread_mutex_lock(&h->mu);
    bool have = *p != NULL;
    if (have)
        assay_sb_puts(out, *p);
    pthread_mutex_unlock(&h->mu);
    return have;
}

bool hub_copy(assay_hub *h, hub_text which, assay_strbuf *out)
{
    char *const *texts[] = { &h->score, &h->dims, &h->rules, &h->profile };
    return copy_text(h, texts[which], out);
}

/* Under the lock. */
static bool ready_locked(const assay_hub *h, char *why, size_t cap)
{
    const char *no = NULL;
    if (h->finished)
        no = "the run has ended";
    else if (!h->have_live)
        no = "the pipeline has not started (opening the source, or waiting as a standby)";
    else if (!h->live.source_ready)
        no = "the source is not connected (no Kafka partitions assigned yet)";
    else if (h->live.checkpoints == 0 && !h->has_window && h->cfg->state.dir)
        no = "no checkpoint written and no window closed yet";
    else if (!h->cfg->state.dir && !h->has_window)
        no = "no window closed yet";
    if (why)
        snprintf(why, cap, "%s", no ? no : "ready");
    return no == NULL;
}

bool hub_ready(assay_hub *h, char *why, size_t cap)
{
    pthread_mutex_lock(&h->mu);
    bool r = ready_locked(h, why, cap);
    pthread_mutex_unlock(&h->mu);
    return r;
}

void hub_status_json(assay_hub *h, assay_strbuf *out)
{
    assay_json j;
    assay_json_init(&j, out);
    pthread_mutex_lock(&h->mu);
    const assay_run_live *l = &h->live;
    assay_json_obj_open(&j);
    assay_json_key(&j, "asset");
    assay_json_str(&j, h->cfg->asset ? h->cfg->asset : "");
    assay_json_key(&j, "version");
    assay_json_str(&j, ASSAY_VERSION);
    assay_json_key(&j, "ready");
    assay_json_bool(&j, ready_locked(h, NULL, 0));
    assay_json_key(&j, "rows");
    assay_json_u64(&j, l->rows);
    assay_json_key(&j, "bytes");
    assay_json_u64(&j, l->bytes);
    assay_json_key(&j, "bad_rows");
    assay_json_u64(&j, l->bad_rows);
    assay_json_key(&j, "late_rows");
    assay_json_u64(&j, l->late_rows);
    assay_json_key(&j, "rows_per_second");
    assay_json_fixed(&j, h->rate, 1);
    assay_json_key(&j, "lag_messages");
    if (l->nlag) {
        int64_t sum = 0;
        bool known = false;
        for (size_t i = 0; i < l->nlag; i++)
            if (l->lag[i].messages >= 0) {
                sum += l->lag[i].messages;
                known = true;
            }
        if (known)
            assay_json_i64(&j, sum);
        else
            assay_json_null(&j);
    } else {
        assay_json_null(&j);
    }
    assay_json_key(&j, "windows");
    assay_json_u64(&j, l->windows);
    assay_json_key(&j, "watermark");
    if (l->watermark != INT64_MIN)
        assay_json_time(&j, l->watermark);
    else
        assay_json_null(&j);
    assay_json_key(&j, "alerts_active");
    assay_json_u64(&j, h->nalerts);
    assay_json_key(&j, "paused");
    assay_json_bool(&j, l->paused);
    assay_json_obj_close(&j);
    pthread_mutex_unlock(&h->mu);
}

void hub_contracts_json(assay_hub *h, assay_strbuf *out)
{
    const assay_config *cfg = h->cfg;
    assay_json j;
    assay_json_init(&j, out);
    pthread_mutex_lock(&h->mu);
    assay_json_obj_open(&j);
    assay_json_key(&j, "contracts");
    assay_json_arr_open(&j);
    for (size_t c = 0; c < cfg->ncontracts; c++) {
        const assay_contract_config *ct = &cfg->contracts[c];
        assay_json_obj_open(&j);
        assay_json_key(&j, "name");
        assay_json_str(&j, ct->name);
        assay_json_key(&j, "owner");
        assay_json_str(&j, ct->owner);
        assay_json_key(&j, "min_score");
        if (ct->has_min_score)
            assay_json_f64(&j, ct->min_score);
        else
            assay_json_null(&j);
        for (int d = 0; d < ASSAY_DIM_COUNT; d++) {
            if (!ct->has_min_dim[d])
                continue;
            char key[48];
            snprintf(key, sizeof(key), "min_%s", assay_dimension_name((assay_dimension)d));
            assay_json_key(&j, key);
            assay_json_f64(&j, ct->min_dim[d]);
        }
        assay_json_key(&j, "max_freshness_seconds");
        if (ct->has_max_freshness)
            assay_json_f64(&j, (double)ct->max_freshness_us / 1e6);
        else
            assay_json_null(&j);
        /* met: no active contract alert names it; null before any window was judged */
        assay_json_key(&j, "violations");
        assay_json_arr_open(&j);
        size_t nv = 0;
        for (size_t a = 0; a < h->nalerts; a++) {
            const hub_active *x = &h->alerts[a];
            if (x->kind == ASSAY_ALERT_CONTRACT && x->rule && !strcmp(x->rule, ct->name)) {
                assay_json_str(&j, x->id);
                nv++;
            }
        }
        assay_json_arr_close(&j);
        assay_json_key(&j, "met");
        if (h->has_window)
            assay_json_bool(&j, nv == 0);
        else
            assay_json_null(&j);
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    assay_json_obj_close(&j);
    pthread_mutex_unlock(&h->mu);
}
