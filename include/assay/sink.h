/*
 * assay/sink.h - where outputs go, behind one small vtable: a sink takes encoded records
 * (or raw bytes, for clean rows), reports deliveries when polled, and flushes - durably
 * at checkpoints. The pipeline encodes each record once per format and never knows
 * whether it lands in a file, on stdout or (later) in a Kafka topic.
 *
 * Four outputs (docs/outputs.md): scores (one record per closed window), alerts,
 * quarantine (rows failing a `block` rule, bad rows, rows without a usable event
 * time) and clean (every other row, its original bytes). Each output has a list of
 * sinks; a record goes to all of them.
 */
#ifndef ASSAY_SINK_H
#define ASSAY_SINK_H

#include "assay/common.h"
#include "assay/config.h"
#include "assay/engine.h"

typedef enum assay_sink_format {
    ASSAY_SINK_JSON = 0,    /* one JSON object per line */
    ASSAY_SINK_FLATBUFFERS, /* size-prefixed FlatBuffers (schemas/assay.fbs) */
    ASSAY_SINK_RAW,         /* bytes as given (clean rows) */
    ASSAY_SINK_AM_V2,       /* one Alertmanager v2 alert object per record (alerts only) */
} assay_sink_format;

typedef struct assay_sink assay_sink;

/* Where a sink stood at a checkpoint, so that a restart can cut it back there and the
 * replay after the checkpoint writes each record once (file sinks: the file's device,
 * inode and length after the durable flush). */
typedef struct assay_sink_mark {
    char *name; /* the sink's name (its path), malloc'd */
    uint64_t dev, ino, size;
} assay_sink_mark;

/* What a sink may need beyond a record's bytes: its key (scores: the asset, alerts: the
 * alert id; Kafka keys messages by it, Alertmanager tracks alerts by it) and whether
 * the record ends its key's life (an alert's resolved record). NULL for raw rows. */
typedef struct assay_sink_meta {
    const char *key;
    size_t key_len;
    bool final;
    /* Raw rows from a message source: each row's message (key, headers, timestamp, the
     * value as sent), in row order; NULL for rows from files. */
    const assay_msg_meta *msgs;
    uint32_t nmsgs;
    /* A quarantined row, for sinks that carry the row itself rather than its record
     * (Kafka: the original message plus dead-letter headers); they get no bytes. */
    const assay_quarantine_row *quarantine;
} assay_sink_meta;

typedef struct assay_sink_ops {
    const char *name;
    /* Queue len bytes of one record (a JSON line without its newline, one FlatBuffer, or
     * raw rows); the sink adds the framing its format needs. */
    int (*write)(assay_sink *s, const assay_sink_meta *m, const void *p, size_t len,
                 assay_error *err);
    /* Serve delivery reports (no-op for synchronous sinks). */
    int (*poll)(assay_sink *s, assay_error *err);
    /* Push everything queued to the destination; durable: and to stable storage. */
    int (*flush)(assay_sink *s, bool durable, assay_error *err);
    /* Where the sink stands now (after a durable flush); NULL: it cannot be cut back
     * (stdout, a pipe). out->name is left to the caller. */
    int (*mark)(assay_sink *s, assay_sink_mark *out, assay_error *err);
    /* Cut the sink back to m: 1 done; 0 the destination is not the one marked (replaced,
     * or shorter than the mark) and is left as it is; negative on an error. */
    int (*rewind)(assay_sink *s, const assay_sink_mark *m, assay_error *err);
    void (*close)(assay_sink *s);
} assay_sink_ops;

struct assay_sink {
    const assay_sink_ops *ops;
    assay_sink_format format;
    char *name; /* for messages: the path, "stdout" */
    uint64_t records, bytes;
    bool fresh;      /* empty when opened (a clean CSV sink then writes the header) */
    bool takes_rows; /* quarantine: gets meta.quarantine instead of an encoded record */
};

/* A file sink appends (O_APPEND) through a 1 MiB buffer; stdout is fd 1. */
ASSAY_API int assay_sink_file(assay_sink **out, const char *path, assay_sink_format f,
                              assay_error *err);
ASSAY_API int assay_sink_stdout(assay_sink **out, assay_sink_format f, assay_error *err);
/* Alertmanager (src/sink/alertmanager.c): records are Alertmanager v2 alert objects
 * (assay_encode_alert_am) keyed by alert id; a background thread POSTs them to
 * URL/api/v2/alerts with libcurl, re-sends firing alerts every minute (well inside
 * Alertmanager's default resolve_timeout of 5m) and resolved ones for 5 minutes,
 * retries with backoff while Alertmanager is down, and never blocks the caller. */
ASSAY_API int assay_sink_alertmanager(assay_sink **out, const char *url, assay_error *err);

/* Kafka (src/sink/kafka.c): one idempotent producer per run, shared by its Kafka
 * sinks; props are the top-level `kafka:` properties (consumer-only ones skipped). The
 * stall hook is told when a full producer queue blocks a write (true) and when it goes
 * on (false): the pipeline pauses and resumes its source there. */
typedef struct assay_kafka_producer assay_kafka_producer;
typedef struct assay_kafka_producer_stats_t {
    uint64_t delivered, failed, stalls, queued;
} assay_kafka_producer_stats_t;
ASSAY_API int assay_kafka_producer_open(assay_kafka_producer **out, const char *const *props,
                                        size_t nprops, assay_error *err);
ASSAY_API void assay_kafka_producer_set_stall(assay_kafka_producer *kp, void (*fn)(void *, bool),
                                              void *ctx);
ASSAY_API void assay_kafka_producer_stats(const assay_kafka_producer *kp,
                                          assay_kafka_producer_stats_t *out);
ASSAY_API void assay_kafka_producer_close(assay_kafka_producer *kp);
/* Scores keyed by asset, alerts by id (json, or a FlatBuffer without size prefix);
 * clean rows and quarantined rows as their original messages. */
ASSAY_API int assay_sink_kafka(assay_sink **out, assay_kafka_producer *kp, const char *topic,
                               assay_sink_format f, assay_error *err);

static inline void assay_sink_close(assay_sink *s)
{
    if (s)
        s->ops->close(s);
}

/* Encoders (src/sink/encode_json.c, src/sink/encode_fb.cc). Each fills a malloc'd
 * buffer; 0 or -ENOMEM. */
ASSAY_API int assay_encode_score_json(const assay_result *w, const assay_config *cfg, char **out,
                                      size_t *len);
ASSAY_API int assay_encode_quarantine_json(const assay_quarantine_row *q, char **out, size_t *len);
ASSAY_API int assay_encode_score_fb(const assay_result *w, const assay_config *cfg, uint8_t **out,
                                    size_t *len);
ASSAY_API int assay_encode_quarantine_fb(const assay_quarantine_row *q, uint8_t **out, size_t *len);

#endif
