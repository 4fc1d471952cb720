/*
 * kafka.c - the Kafka sink: records and rows as messages, through one idempotent
 * producer per run shared by every Kafka sink.
 *
 * Producer. librdkafka with enable.idempotence=true (KIP-98: the broker drops the
 * duplicates that a retry after a lost acknowledgement would create, and keeps each
 * partition's messages in the order they were produced), acks=all as idempotence
 * requires, and a short linger (5 ms) so a window's records leave right after the
 * window closes. The user's top-level `kafka:` properties apply on top of these.
 *
 * Messages. Scores are keyed by asset and alerts by alert id (so a compacted topic
 * keeps each alert's latest state); both are JSON, or a FlatBuffer (the Record root
 * with identifier "ASY1", without the size prefix the file sinks use: a message is
 * its own frame). Clean rows are one message each: the source message's key, headers
 * and timestamp and its value untouched. A quarantined row is its original message
 * too, plus the headers of Kafka Connect's dead-letter queue (__connect.errors.topic,
 * .partition, .offset, .exception.class.name, .exception.message), of Confluent's
 * data-contract DLQ (__rule.name, __rule.topic) and assay's own (assay.rules,
 * assay.window_start), so existing DLQ tooling reads it as it is.
 *
 * Delivery. Delivery reports are served by poll() and flush(); a message the
 * producer gives up on (message.timeout.ms, a non-retriable error) stops the run,
 * because its input offset must not be committed: a restart replays from the last
 * checkpoint. flush(durable) waits until every queued message is acknowledged - the
 * pipeline calls it before a checkpoint is written and offsets are committed.
 *
 * Backpressure. The producer's queue is bounded (queue.buffering.max.kbytes, 64 MiB
 * by default here). When it is full, write() tells the pipeline (the stall hook pauses
 * the source's partitions), serves delivery reports until the queue has room, and
 * then lets the source resume: memory stays bounded while a broker is away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "assay/sink.h"
#include "assay/source.h"
#include "assay/window.h"

struct assay_kafka_producer {
    rd_kafka_t *rk;
    uint64_t delivered, failed;
    char last_error[256];
    uint64_t stalls;
    void (*stall)(void *ctx, bool stalled);
    void *stall_ctx;
};

typedef struct kafka_sink {
    assay_sink base;
    assay_kafka_producer *kp;
    rd_kafka_topic_t *rkt;
    char *topic;
} kafka_sink;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    assay_kafka_producer *kp = opaque;
    if (m->err) {
        if (!kp->failed++)
            snprintf(kp->last_error, sizeof(kp->last_error), "%s: %s", rd_kafka_topic_name(m->rkt),
                     rd_kafka_err2str(m->err));
    } else {
        kp->delivered++;
    }
}

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, assay_error *err)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, val, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        /* the value is not repeated: it may be a secret */
        return assay_error_set(err, -EINVAL, "kafka property %s: %s", key, why);
    return 0;
}

int assay_kafka_producer_open(assay_kafka_producer **out, const char *const *props, size_t nprops,
                              assay_error *err)
{
    *out = NULL;
    assay_kafka_producer *kp = calloc(1, sizeof(*kp));
    if (!kp)
        return assay_error_set(err, -ENOMEM, "out of memory");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc;
    if ((rc = conf_set(conf, "enable.idempotence", "true", err)) < 0 ||
        (rc = conf_set(conf, "linger.ms", "5", err)) < 0 ||
        (rc = conf_set(conf, "queue.buffering.max.kbytes", "65536", err)) < 0)
        goto fail;
    for (size_t i = 0; i + 1 < 2 * nprops; i += 2)
        if (assay_kafka_prop_side(props[i]) != ASSAY_KAFKA_CONSUMER &&
            (rc = conf_set(conf, props[i], props[i + 1], err)) < 0)
            goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, kp);
    char why[512];
    if (!(kp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) {
        rc = assay_error_set(err, -EINVAL, "kafka producer: %s", why);
        goto fail;
    }
    *out = kp;
    return 0;
fail:
    rd_kafka_conf_destroy(conf);
    free(kp);
    return rc;
}

void assay_kafka_producer_set_stall(assay_kafka_producer *kp, void (*fn)(void *, bool), void *ctx)
{
    kp->stall = fn;
    kp->stall_ctx = ctx;
}

void assay_kafka_producer_stats(const assay_kafka_producer *kp, assay_kafka_producer_stats_t *out)
{
    out->delivered = kp->delivered;
    out->failed = kp->failed;
    out->stalls = kp->stalls;
    out->queued = (uint64_t)rd_kafka_outq_len(kp->rk);
}

void assay_kafka_producer_close(assay_kafka_producer *kp)
{
    if (!kp)
        return;
    /* what is still queued had its chance at the last durable flush; a run that ends
     * on an error leaves it to the replay */
    rd_kafka_flush(kp->rk, 2000);
    rd_kafka_destroy(kp->rk);
    free(kp);
}

static int check_failed(kafka_sink *k, assay_error *err)
{
    if (!k->kp->failed)
        return 0;
    return assay_error_set(err, -EIO,
                           "kafka sink %s: %llu messages were not delivered (%s); stopping so that "
                           "no offset is committed past them (a restart replays from the last "
                           "checkpoint)",
                           k->topic, (unsigned long long)k->kp->failed, k->kp->last_error);
}

/* The producer cannot take more now (queue full, or acknowledgements outstanding):
 * the pipeline pauses its input until stall_end. Once per wait. */
static void stall_begin(assay_kafka_producer *kp, bool *stalled)
{
    if (*stalled)
        return;
    *stalled = true;
    kp->stalls++;
    if (kp->stall)
        kp->stall(kp->stall_ctx, true);
}

static void stall_end(assay_kafka_producer *kp, bool stalled)
{
    if (stalled && kp->stall)
        kp->stall(kp->stall_ctx, false);
}

/* Produce one message, waiting (and pausing the source) while the queue is full. */
static int produce(kafka_sink *k, const void *key, size_t key_len, const void *val, size_t len,
                   rd_kafka_headers_t *hdrs, int64_t ts_ms, assay_error *err)
{
    assay_kafka_producer *kp = k->kp;
    bool stalled = false;
    int rc = 0;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            kp->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)val, len),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_TIMESTAMP(ts_ms > 0 ? ts_ms : 0), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            hdrs = NULL; /* the message owns them now */
            break;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rc = assay_error_set(err, -EIO, "kafka sink %s: cannot produce: %s", k->topic,
                                 rd_kafka_err2str(e));
            break;
        }
        stall_begin(kp, &stalled);
        rd_kafka_poll(kp->rk, 100);
        if ((rc = check_failed(k, err)) < 0)
            break;
    }
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    stall_end(kp, stalled);
    if (rc == 0)
        rd_kafka_poll(kp->rk, 0);
    return rc;
}

static void hdr_add(rd_kafka_headers_t *h, const char *name, const char *val)
{
    rd_kafka_header_add(h, name, -1, val, -1);
}

/* A quarantined row: the original message and the dead-letter headers. */
static int write_quarantine(kafka_sink *k, const assay_quarantine_row *q, assay_error *err)
{
    const assay_msg_meta *mm = q->msg;
    rd_kafka_headers_t *h =
        mm && mm->headers ? rd_kafka_headers_copy(mm->headers) : rd_kafka_headers_new(8);
    char num[32];
    const char *topic = q->topic ? q->topic : q->file ? q->file : "-";
    hdr_add(h, "__connect.errors.topic", topic);
    snprintf(num, sizeof(num), "%d", q->topic ? (int)q->partition : 0);
    hdr_add(h, "__connect.errors.partition", num);
    snprintf(num, sizeof(num), "%lld",
             mm ? (long long)mm->offset : (long long)(q->line ? q->line : q->row));
    hdr_add(h, "__connect.errors.offset", num);
    bool parse =
        q->n && (!strcmp(q->rules[0], "parse_error") || !strcmp(q->rules[0], "event_time"));
    hdr_add(h, "__connect.errors.exception.class.name",
            parse ? "io.assay.ParseError" : "io.assay.RuleViolation");
    char msg[1024], rules[512];
    size_t ml = 0, rl = 0;
    msg[0] = rules[0] = '\0';
    for (size_t i = 0; i < q->n; i++) {
        int w = snprintf(msg + ml, sizeof(msg) - ml, "%s%s", i ? "; " : "", q->reasons[i]);
        if (w > 0)
            ml = ASSAY_MIN(ml + (size_t)w, sizeof(msg) - 1);
        w = snprintf(rules + rl, sizeof(rules) - rl, "%s%s", i ? "," : "", q->rules[i]);
        if (w > 0)
            rl = ASSAY_MIN(rl + (size_t)w, sizeof(rules) - 1);
    }
    hdr_add(h, "__connect.errors.exception.message", msg);
    hdr_add(h, "__rule.name", q->n ? q->rules[0] : "");
    hdr_add(h, "__rule.topic", topic);
    hdr_add(h, "assay.rules", rules);
    if (q->window_start != ASSAY_TIME_NONE) {
        char ts[40];
        time_t t = (time_t)(q->window_start / 1000000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        hdr_add(h, "assay.window_start", ts);
    }
    return produce(k, mm ? mm->key : NULL, mm ? mm->key_len : 0, q->value, q->value_len, h,
                   mm ? mm->timestamp_ms : 0, err);
}

/* Clean rows: one message each. From a Kafka source each row has its message's meta
 * (value as sent, key, headers, timestamp); from files, rows are split at '\n'. */
static int write_rows(kafka_sink *k, const assay_sink_meta *m, const char *p, size_t len,
                      assay_error *err)
{
    int rc = 0;
    if (m && m->msgs) {
        uint32_t base = m->msgs[0].at;
        for (uint32_t i = 0; i < m->nmsgs && rc == 0; i++) {
            const assay_msg_meta *mm = &m->msgs[i];
            const char *v = mm->orig ? mm->orig : p + (mm->at - base);
            size_t vl = mm->orig ? mm->orig_len : mm->len;
            rc = produce(k, mm->key, mm->key_len, v, vl,
                         mm->headers ? rd_kafka_headers_copy(mm->headers) : NULL, mm->timestamp_ms,
                         err);
        }
        return rc;
    }
    const char *end = p + len;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r')
            l--;
        if (l)
            rc = produce(k, NULL, 0, p, l, NULL, 0, err);
        p = nl ? nl + 1 : end;
    }
    return rc;
}

static int ks_write(assay_sink *s, const assay_sink_meta *m, const void *p, size_t len,
                    assay_error *err)
{
    kafka_sink *k = (kafka_sink *)s;
    int rc = check_failed(k, err);
    if (rc < 0)
        return rc;
    if (m && m->quarantine)
        rc = write_quarantine(k, m->quarantine, err);
    else if (s->format == ASSAY_SINK_RAW)
        rc = write_rows(k, m, p, len, err);
    else if (s->format == ASSAY_SINK_FLATBUFFERS && len >= 4)
        rc = produce(k, m ? m->key : NULL, m ? m->key_len : 0, (const char *)p + 4, len - 4, NULL,
                     0, err);
    else
        rc = produce(k, m ? m->key : NULL, m ? m->key_len : 0, p, len, NULL, 0, err);
    if (rc == 0) {
        s->records++;
        s->bytes += len;
    }
    return rc;
}

static int ks_poll(assay_sink *s, assay_error *err)
{
    kafka_sink *k = (kafka_sink *)s;
    rd_kafka_poll(k->kp->rk, 0);
    return check_failed(k, err);
}

static int ks_flush(assay_sink *s, bool durable, assay_error *err)
{
    kafka_sink *k = (kafka_sink *)s;
    rd_kafka_poll(k->kp->rk, 0);
    if (durable) {
        /* every message acknowledged (or failed: message.timeout.ms bounds the wait) */
        bool stalled = false;
        while (rd_kafka_outq_len(k->kp->rk) > 0 && !k->kp->failed) {
            rd_kafka_flush(k->kp->rk, 500);
            /* still waiting: a broker is away, and the input is paused meanwhile, as
             * when the queue is full */
            if (rd_kafka_outq_len(k->kp->rk) > 0)
                stall_begin(k->kp, &stalled);
        }
        stall_end(k->kp, stalled);
    }
    return check_failed(k, err);
}

static void ks_close(assay_sink *s)
{
    kafka_sink *k = (kafka_sink *)s;
    if (k->rkt)
        rd_kafka_topic_destroy(k->rkt);
    free(k->topic);
    free(s->name);
    free(k);
}

static const assay_sink_ops kafka_sink_ops = {
    .name = "kafka",
    .write = ks_write,
    .poll = ks_poll,
    .flush = ks_flush,
    .close = ks_close,
};

int assay_sink_kafka(assay_sink **out, assay_kafka_producer *kp, const char *topic,
                     assay_sink_format f, assay_error *err)
{
    *out = NULL;
    kafka_sink *k = calloc(1, sizeof(*k));
    size_t n = strlen(topic) + 8;
    if (!k || !(k->topic = strdup(topic)) || !(k->base.name = malloc(n))) {
        if (k)
            free(k->topic);
        free(k);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    snprintf(k->base.name, n, "kafka:%s", topic);
    k->base.ops = &kafka_sink_ops;
    k->base.format = f;
    k->base.takes_rows = true;
    k->kp = kp;
    if (!(k->rkt = rd_kafka_topic_new(kp->rk, topic, NULL))) {
        ks_close(&k->base);
        return assay_error_set(err, -EINVAL, "kafka sink %s: %s", topic,
                               rd_kafka_err2str(rd_kafka_last_error()));
    }
    *out = &k->base;
    return 0;
}
