/*
 * outputs.c - the four outputs and their sinks (see outputs.h). Sinks of an output are
 * written in config order; an error from any of them stops the run (exit 2) with the
 * sink named, because a run that cannot deliver its outputs must not move on as if it
 * had. Clean rows are raw bytes; records are JSON or FlatBuffers per sink.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/alertmanager.h"
#include "sink/outputs.h"

static int open_producer(assay_outputs *o, assay_error *err)
{
    if (o->kafka)
        return 0;
    const assay_config *cfg = o->cfg;
    const char **props = calloc(2 * cfg->nkafka + 1, sizeof(char *));
    if (!props)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->nkafka; i++) {
        props[2 * i] = cfg->kafka_keys[i];
        props[2 * i + 1] = cfg->kafka_values[i];
    }
    int rc = assay_kafka_producer_open(&o->kafka, props, cfg->nkafka, err);
    free(props);
    return rc;
}

static int open_list(assay_outputs *o, const assay_sink_list *l, assay_sink ***out, size_t *n,
                     bool raw, assay_error *err)
{
    *out = calloc(l->n ? l->n : 1, sizeof(assay_sink *));
    *n = 0;
    if (!*out)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        const assay_sink_config *c = &l->v[i];
        assay_sink_format f = raw ? ASSAY_SINK_RAW
                              : (c->format && !strcmp(c->format, "flatbuffers"))
                                  ? ASSAY_SINK_FLATBUFFERS
                                  : ASSAY_SINK_JSON;
        int rc;
        if (c->kind == ASSAY_SINK_FILE)
            rc = assay_sink_file(&(*out)[*n], c->path, f, err);
        else if (c->kind == ASSAY_SINK_STDOUT)
            rc = assay_sink_stdout(&(*out)[*n], f, err);
        else if (c->kind == ASSAY_SINK_ALERTMANAGER)
            rc = assay_sink_alertmanager(&(*out)[*n], c->url, err);
        else if (c->kind == ASSAY_SINK_KAFKA) {
            assay_sink_format kf = raw ? ASSAY_SINK_RAW
                                   : (c->kafka_format && !strcmp(c->kafka_format, "flatbuffers"))
                                       ? ASSAY_SINK_FLATBUFFERS
                                       : ASSAY_SINK_JSON;
            rc = open_producer(o, err);
            if (rc == 0)
                rc = assay_sink_kafka(&(*out)[*n], o->kafka, c->topic, kf, err);
        } else
            rc = assay_error_set(err, -ENOTSUP, "sink kind %d is not supported in this build",
                                 (int)c->kind);
        if (rc < 0)
            return rc;
        (*n)++;
    }
    return 0;
}

int assay_outputs_open(assay_outputs *o, const assay_config *cfg, assay_error *err)
{
    memset(o, 0, sizeof(*o));
    o->cfg = cfg;
    int rc;
    if ((rc = open_list(o, &cfg->sinks.scores, &o->scores, &o->nscores, false, err)) < 0 ||
        (rc = open_list(o, &cfg->sinks.alerts, &o->alerts, &o->nalerts, false, err)) < 0 ||
        (rc = open_list(o, &cfg->sinks.quarantine, &o->quar, &o->nquar, false, err)) < 0 ||
        (rc = open_list(o, &cfg->sinks.clean, &o->clean, &o->nclean, true, err)) < 0) {
        assay_outputs_close(o);
        return rc;
    }
    size_t na = o->nalerts ? o->nalerts : 1;
    o->am_failed_seen = calloc(na, sizeof(uint64_t));
    o->am_ok_seen = calloc(na, sizeof(uint64_t));
    o->am_failing = calloc(na, sizeof(bool));
    if (!o->am_failed_seen || !o->am_ok_seen || !o->am_failing) {
        assay_outputs_close(o);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    return 0;
}

static void close_list(assay_sink **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        assay_sink_close(s[i]);
    free(s);
}

void assay_outputs_close(assay_outputs *o)
{
    close_list(o->scores, o->nscores);
    close_list(o->alerts, o->nalerts);
    close_list(o->quar, o->nquar);
    close_list(o->clean, o->nclean);
    assay_kafka_producer_close(o->kafka);
    o->kafka = NULL;
    free(o->am_failed_seen);
    free(o->am_ok_seen);
    free(o->am_failing);
    o->am_failed_seen = o->am_ok_seen = NULL;
    o->am_failing = NULL;
    o->scores = o->alerts = o->quar = o->clean = NULL;
    o->nscores = o->nalerts = o->nquar = o->nclean = 0;
}

bool assay_outputs_route(const assay_outputs *o)
{
    return o->nquar > 0 || o->nclean > 0;
}

/* Write one record to every sink of a list, encoding it once per format. */
typedef int (*encode_json_fn)(const void *rec, const assay_config *cfg, char **out, size_t *len);
typedef int (*encode_fb_fn)(const void *rec, const assay_config *cfg, uint8_t **out, size_t *len);

static int enc_score_json(const void *rec, const assay_config *cfg, char **out, size_t *len)
{
    return assay_encode_score_json(rec, cfg, out, len);
}
static int enc_score_fb(const void *rec, const assay_config *cfg, uint8_t **out, size_t *len)
{
    return assay_encode_score_fb(rec, cfg, out, len);
}
static int enc_quar_json(const void *rec, const assay_config *cfg, char **out, size_t *len)
{
    (void)cfg;
    return assay_encode_quarantine_json(rec, out, len);
}
static int enc_quar_fb(const void *rec, const assay_config *cfg, uint8_t **out, size_t *len)
{
    (void)cfg;
    return assay_encode_quarantine_fb(rec, out, len);
}

static int write_record(assay_outputs *o, assay_sink **sinks, size_t n, const void *rec,
                        const assay_sink_meta *meta, encode_json_fn ej, encode_fb_fn ef,
                        encode_json_fn eam, const char *what, assay_error *err)
{
    char *js = NULL, *am = NULL;
    uint8_t *fb = NULL;
    size_t jlen = 0, flen = 0, alen = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        assay_sink *s = sinks[i];
        if (meta && meta->quarantine && s->takes_rows) {
            rc = s->ops->write(s, meta, NULL, 0, err);
        } else if (s->format == ASSAY_SINK_AM_V2 && eam) {
            if (!am && (rc = eam(rec, o->cfg, &am, &alen)) < 0)
                rc = assay_error_set(err, rc, "cannot encode a %s record", what);
            else
                rc = s->ops->write(s, meta, am, alen, err);
        } else if (s->format == ASSAY_SINK_FLATBUFFERS) {
            if (!fb && (rc = ef(rec, o->cfg, &fb, &flen)) < 0)
                rc = assay_error_set(err, rc, "cannot encode a %s record", what);
            else
                rc = s->ops->write(s, meta, fb, flen, err);
        } else {
            if (!js && (rc = ej(rec, o->cfg, &js, &jlen)) < 0)
                rc = assay_error_set(err, rc, "cannot encode a %s record", what);
            else
                rc = s->ops->write(s, meta, js, jlen, err);
        }
    }
    free(js);
    free(am);
    free(fb);
    return rc;
}

int assay_outputs_score(assay_outputs *o, const assay_result *w, assay_error *err)
{
    o->score_records++;
    const char *asset = o->cfg->asset ? o->cfg->asset : "";
    assay_sink_meta meta = { .key = asset, .key_len = strlen(asset) };
    return write_record(o, o->scores, o->nscores, w, &meta, enc_score_json, enc_score_fb, NULL,
                        "score", err);
}

static int enc_alert_json(const void *rec, const assay_config *cfg, char **out, size_t *len)
{
    (void)cfg;
    return assay_encode_alert_json(rec, out, len);
}
static int enc_alert_fb(const void *rec, const assay_config *cfg, uint8_t **out, size_t *len)
{
    (void)cfg;
    return assay_encode_alert_fb(rec, out, len);
}
static int enc_alert_am(const void *rec, const assay_config *cfg, char **out, size_t *len)
{
    return assay_encode_alert_am(rec, cfg, out, len);
}

int assay_outputs_alert(assay_outputs *o, const assay_alert *a, assay_error *err)
{
    o->alert_records++;
    assay_sink_meta meta = { .key = a->id,
                             .key_len = strlen(a->id),
                             .final = a->state == ASSAY_ALERT_RESOLVED };
    return write_record(o, o->alerts, o->nalerts, a, &meta, enc_alert_json, enc_alert_fb,
                        enc_alert_am, "alert", err);
}

int assay_outputs_quarantine(assay_outputs *o, const assay_quarantine_row *q, assay_error *err)
{
    o->quarantined_rows++;
    assay_sink_meta meta = { .quarantine = q };
    return write_record(o, o->quar, o->nquar, q, &meta, enc_quar_json, enc_quar_fb, NULL,
                        "quarantine", err);
}

int assay_outputs_clean(assay_outputs *o, const char *p, size_t len, bool add_newline,
                        const assay_msg_meta *msgs, uint32_t nmsgs, assay_error *err)
{
    assay_sink_meta meta = { .msgs = msgs, .nmsgs = nmsgs };
    for (size_t i = 0; i < o->nclean; i++) {
        assay_sink *s = o->clean[i];
        int rc = s->ops->write(s, msgs ? &meta : NULL, p, len, err);
        if (rc == 0 && add_newline && !s->takes_rows)
            rc = s->ops->write(s, NULL, "\n", 1, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int assay_outputs_clean_header(assay_outputs *o, const char *p, size_t len, assay_error *err)
{
    for (size_t i = 0; i < o->nclean; i++) {
        assay_sink *s = o->clean[i];
        if (!s->fresh || s->records > 0 || s->takes_rows)
            continue;
        int rc = s->ops->write(s, NULL, p, len, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Sink i of the run, counting through scores, alerts, quarantine and clean in that
 * order. */
static assay_sink *sink_at(const assay_outputs *o, size_t i)
{
    if (i < o->nscores)
        return o->scores[i];
    i -= o->nscores;
    if (i < o->nalerts)
        return o->alerts[i];
    i -= o->nalerts;
    if (i < o->nquar)
        return o->quar[i];
    i -= o->nquar;
    return i < o->nclean ? o->clean[i] : NULL;
}

static size_t nsinks(const assay_outputs *o)
{
    return o->nscores + o->nalerts + o->nquar + o->nclean;
}

int assay_outputs_flush(assay_outputs *o, bool durable, assay_error *err)
{
    for (size_t i = 0; i < nsinks(o); i++) {
        assay_sink *s = sink_at(o, i);
        int rc = s->ops->flush(s, durable, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int assay_outputs_flush_records(assay_outputs *o, assay_error *err)
{
    for (size_t i = 0; i < o->nscores + o->nalerts; i++) {
        assay_sink *s = sink_at(o, i);
        int rc = s->format == ASSAY_SINK_AM_V2 ? 0 : s->ops->flush(s, false, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

uint64_t assay_outputs_errors(const assay_outputs *o)
{
    uint64_t n = 0;
    if (o->kafka) {
        assay_kafka_producer_stats_t st;
        assay_kafka_producer_stats(o->kafka, &st);
        n += st.failed;
    }
    for (size_t i = 0; i < o->nalerts; i++) {
        if (o->alerts[i]->format != ASSAY_SINK_AM_V2)
            continue;
        assay_am_stats st;
        assay_sink_alertmanager_stats(o->alerts[i], &st);
        n += st.posts_failed;
    }
    return n;
}

void assay_outputs_health(assay_outputs *o, bool final, void (*notice)(void *, const char *),
                          void *ctx)
{
    char msg[1024], why[512];
    for (size_t i = 0; notice && o->am_failing && i < o->nalerts; i++) {
        assay_sink *s = o->alerts[i];
        if (s->format != ASSAY_SINK_AM_V2)
            continue;
        assay_am_stats st;
        assay_sink_alertmanager_stats(s, &st);
        assay_sink_alertmanager_last_error(s, why, sizeof(why));
        bool failed_more = st.posts_failed > o->am_failed_seen[i];
        bool ok_more = st.posts_ok > o->am_ok_seen[i];
        if (final) {
            if (st.posts_failed || st.undelivered || st.dropped) {
                snprintf(msg, sizeof(msg),
                         "alertmanager %s: %llu POSTs delivered %llu alerts, %llu POSTs "
                         "failed%s%s%s; %zu "
                         "alerts undelivered at the end, %llu dropped by the bound",
                         s->name, (unsigned long long)st.posts_ok,
                         (unsigned long long)st.alerts_sent, (unsigned long long)st.posts_failed,
                         *why ? " (last: " : "", why, *why ? ")" : "", st.undelivered,
                         (unsigned long long)st.dropped);
                notice(ctx, msg);
            }
        } else if (failed_more && !o->am_failing[i]) {
            o->am_failing[i] = true;
            snprintf(msg, sizeof(msg),
                     "alertmanager %s: cannot deliver alerts (%s); %zu queued, retrying with "
                     "backoff while "
                     "the pipeline goes on",
                     s->name, *why ? why : "unknown error", st.undelivered);
            notice(ctx, msg);
        } else if (o->am_failing[i] && ok_more && !failed_more) {
            o->am_failing[i] = false;
            snprintf(msg, sizeof(msg),
                     "alertmanager %s: delivering alerts again after %llu failed POSTs", s->name,
                     (unsigned long long)st.posts_failed);
            notice(ctx, msg);
        }
        o->am_failed_seen[i] = st.posts_failed;
        o->am_ok_seen[i] = st.posts_ok;
    }
}

void assay_sink_marks_free(assay_sink_marks *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].name);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

int assay_outputs_mark(assay_outputs *o, assay_sink_marks *out, assay_error *err)
{
    size_t total = nsinks(o);
    assay_sink_marks m = { 0, calloc(total ? total : 1, sizeof(assay_sink_mark)) };
    int rc = m.v ? 0 : assay_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < total && rc == 0; i++) {
        assay_sink *s = sink_at(o, i);
        if (!s->ops->mark)
            continue;
        assay_sink_mark *k = &m.v[m.n];
        if ((rc = s->ops->mark(s, k, err)) < 0)
            break;
        if (!(k->name = strdup(s->name)))
            rc = assay_error_set(err, -ENOMEM, "out of memory");
        else
            m.n++;
    }
    if (rc < 0) {
        assay_sink_marks_free(&m);
        return rc;
    }
    assay_sink_marks_free(out);
    *out = m;
    return 0;
}

int assay_outputs_rewind(assay_outputs *o, const assay_sink_marks *m, uint32_t *unmatched,
                         char *first, size_t first_cap, assay_error *err)
{
    size_t total = nsinks(o);
    bool *used = calloc(m->n ? m->n : 1, 1);
    int rc = used ? 0 : assay_error_set(err, -ENOMEM, "out of memory");
    *unmatched = 0;
    for (size_t i = 0; i < total && rc == 0; i++) {
        assay_sink *s = sink_at(o, i);
        if (!s->ops->rewind)
            continue;
        size_t k = 0;
        while (k < m->n && (used[k] || strcmp(m->v[k].name, s->name) != 0))
            k++;
        if (k == m->n)
            continue; /* a sink the checkpoint did not know: it only appends */
        used[k] = true;
        if ((rc = s->ops->rewind(s, &m->v[k], err)) == 0) {
            if ((*unmatched)++ == 0 && first_cap)
                snprintf(first, first_cap, "%s", s->name);
        }
        rc = rc < 0 ? rc : 0;
    }
    free(used);
    return rc;
}
