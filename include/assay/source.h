/*
 * assay/source.h - where rows come from, behind one small vtable (in the manner of
 * Fluent Bit's input plugins): the pipeline asks for chunks of whole rows, gives each
 * one back when it is done with it, and tells the source how far everything is safely
 * done, without knowing whether rows come from a file, a pipe, memory or Kafka.
 *
 * A chunk carries its position: the part (file index, later a Kafka partition), the
 * byte offset and a sequence number that orders all chunks of a run. The pipeline
 * checkpoints the position after the last chunk it folded; a source opened with that
 * position resumes exactly there and cuts the rest of the input into the same chunks
 * an uninterrupted run would have.
 */
#ifndef ASSAY_SOURCE_H
#define ASSAY_SOURCE_H

#include "assay/common.h"
#include "assay/reader.h"

typedef struct assay_source assay_source;

/* Where to resume: the part and byte offset of the first row not yet done, and the
 * sequence number its chunk gets. */
typedef struct assay_source_position {
    uint32_t part;
    uint64_t offset;
    uint64_t seq;
} assay_source_position;

typedef struct assay_source_stats {
    uint64_t bytes_read;
    uint64_t bytes_total; /* 0 when unknown (a pipe, a growing file) */
    bool io_uring;
} assay_source_stats;

typedef struct assay_part_lag {
    uint32_t part;
    int64_t messages; /* -1: not known yet (no fetch has reported the high watermark) */
} assay_part_lag;

typedef struct assay_source_ops {
    const char *name;
    /* The next chunk. 0: *out filled (arrival_us set); 1: end of input; -EAGAIN: every
     * buffer is out (release chunks, call again); -ETIMEDOUT: nothing arrived within
     * timeout_ms (streaming sources); other negative codes: an error, err set. */
    int (*next)(assay_source *s, assay_chunk *out, int timeout_ms, assay_error *err);
    /* Give a chunk's memory back. */
    void (*release)(assay_source *s, const assay_chunk *c);
    /* Every row of chunks up to and including seq is done: its outputs are delivered
     * and its window state is in a durable checkpoint (a Kafka source commits here).
     * 1: not done yet, to be tried again with a later call (err says why). */
    int (*done)(assay_source *s, uint64_t seq, assay_error *err);
    /* Stop / start fetching (backpressure); sources that are only read on demand do
     * nothing. */
    void (*pause)(assay_source *s);
    void (*resume)(assay_source *s);
    void (*stats)(const assay_source *s, assay_source_stats *out);
    void (*close)(assay_source *s);
    /* The parts assigned now (Kafka partitions), up to cap of them into out; their
     * number. NULL for sources whose parts are all known up front (files). */
    size_t (*parts)(assay_source *s, uint32_t *out, size_t cap);
    /* Consumer lag of the assigned parts (Kafka: the partition's high watermark, as the
     * last fetch saw it, less the next offset to read), up to cap of them; their
     * number. NULL for sources without a lag (files). */
    size_t (*lag)(assay_source *s, assay_part_lag *out, size_t cap);
} assay_source_ops;

struct assay_source {
    const assay_source_ops *ops;
    /* names of the parts, for messages and quarantine records ("orders.csv", "-") */
    const char *const *names;
    size_t nnames;
    /* rows of one chunk are in stream order with everything before them, so a shard may
     * run the watermark over its own chunk (files; not several Kafka partitions) */
    bool ordered;
    /* bumped whenever the assigned parts change (a rebalance) */
    uint64_t parts_gen;
};

/* Files (and "-" for stdin) read through assay_reader, in order. resume: NULL, or where
 * a checkpoint says to go on (regular files only). stream: hand out whatever complete
 * rows a pipe has delivered instead of waiting for full buffers (assay run on stdin). */
ASSAY_API int assay_source_files(assay_source **out, const char *const *paths, size_t npaths,
                                 const assay_reader_options *ro,
                                 const assay_source_position *resume, bool stream,
                                 assay_error *err);

/* A buffer in memory (assay bench), cut into chunks of about chunk bytes on row
 * boundaries; at most max_out chunks out at once. */
ASSAY_API int assay_source_memory(assay_source **out, const char *mem, size_t len, size_t chunk,
                                  unsigned max_out, assay_row_end_fn row_end, void *row_end_ctx,
                                  assay_error *err);

/* `source.follow: true`: read a file to its end, then keep reading as it grows; reopen
 * it when it is replaced (rotation: a new inode at the path) or truncated, like
 * `tail -F`. Ends only when the pipeline stops. */
ASSAY_API int assay_source_follow(assay_source **out, const char *path,
                                  const assay_reader_options *ro,
                                  const assay_source_position *resume, assay_error *err);

/* Which client a librdkafka property of the shared `kafka:` section is for: the
 * source's consumer, the sinks' producer, or both (each client skips the other's). */
typedef enum assay_kafka_side {
    ASSAY_KAFKA_BOTH,
    ASSAY_KAFKA_CONSUMER,
    ASSAY_KAFKA_PRODUCER
} assay_kafka_side;
assay_kafka_side assay_kafka_prop_side(const char *key);

/* A Kafka topic read by a consumer in a group (src/source/kafka.c): one message = one
 * row, chunks of one partition each (part = partition, offset = first offset, end =
 * last offset + 1, msgs = each row's key, headers, timestamp); done() commits
 * asynchronously (1 while the last commit that finished failed: its offsets are sent
 * again, err saying why). */
typedef struct assay_kafka_resume {
    int32_t partition;
    int64_t offset; /* the next message to read */
} assay_kafka_resume;

typedef struct assay_kafka_source_options {
    const char *brokers; /* bootstrap.servers */
    const char *topic;
    const char *group;
    const char *start;                /* committed (default) | earliest | latest */
    const char *const *props;         /* librdkafka properties: props[2i] = props[2i + 1] */
    size_t nprops;                    /* pairs */
    size_t chunk_bytes;               /* a partition's chunk is handed out at this size (1 MiB) */
    int linger_ms;                    /* ... or when its first message waited this long (100) */
    unsigned max_out;                 /* chunks out at once (8) */
    size_t max_row_bytes;             /* longer values are poison pills (0: no limit) */
    char csv_quote;                   /* CSV messages: an odd count of it is a poison pill */
    uint64_t start_seq;               /* sequence number of the first chunk */
    const assay_kafka_resume *resume; /* partitions start here when first assigned */
    size_t nresume;
    /* what the user should know (another member took partitions, ...), or NULL */
    void (*notice)(void *ctx, const char *msg);
    void *notice_ctx;
} assay_kafka_source_options;

ASSAY_API int assay_source_kafka(assay_source **out, const assay_kafka_source_options *o,
                                 assay_error *err);

static inline void assay_source_close(assay_source *s)
{
    if (s)
        s->ops->close(s);
}

#endif
