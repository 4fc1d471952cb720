/*
 * assay/reader.h - file input in large chunks that end on row boundaries.
 *
 * Reads go through io_uring (several reads of buffer_size in flight into a pool of
 * buffers); when io_uring is refused (ENOSYS, EPERM, ...) or ASSAY_NO_IO_URING=1 is
 * set in the environment, plain read(2) is used instead, with the same output. "-"
 * names stdin. A row that straddles two buffers is carried into the next chunk by
 * copying only that partial row into the headroom in front of the next buffer's data,
 * never the whole buffer.
 *
 * Files compressed with gzip or zstd (told by their magic bytes, not their names) are
 * decompressed as they are read; their chunks are those of the decompressed file and
 * offsets count decompressed bytes (see "Compressed files" in src/io/reader.c).
 *
 * The reader is single-threaded: next() and release() are called from one thread
 * (the engine returns buffers from its shards over rings and releases them there).
 */
#ifndef ASSAY_READER_H
#define ASSAY_READER_H

#include "assay/common.h"

/* Offset just past the last complete row in buf (buf starts at a row boundary); 0
 * when buf holds no complete row. */
typedef size_t (*assay_row_end_fn)(void *ctx, const char *buf, size_t len);

/* A zero field means its default. Memory: nbuffers * (buffer_size + max_row_bytes
 * rounded up to 4 KiB). */
typedef struct assay_reader_options {
    size_t buffer_size;       /* bytes per read (default 4 MiB, at least 64 KiB, at most 1 GiB) */
    unsigned depth;           /* reads in flight (default 4; at most nbuffers) */
    unsigned nbuffers;        /* buffers in the pool (default 16, at least 2); chunks out at once */
    size_t max_row_bytes;     /* a row longer than this is cut off (default 1 MiB); applies to
                                 rows that do not end within one read (see reader.c) */
    bool force_plain;         /* use read(2) even when io_uring works */
    assay_row_end_fn row_end; /* required: the format's row boundary finder */
    void *row_end_ctx;
    /* Resume: start in file start_file at byte start_offset (a row boundary of a
     * regular file) with chunk sequence number start_seq. Reads keep the grid of an
     * uninterrupted run (buffer k of a file at offset k * buffer_size), so the chunks
     * after the resume point are the ones that run would have cut. */
    uint32_t start_file;
    uint64_t start_offset;
    uint64_t start_seq;
    /* Pipes and terminals: hand out the complete rows read so far when no more input is
     * ready, instead of waiting for a full buffer (a live stream must not wait for 4 MiB
     * before its rows are seen). Chunks then depend on timing. */
    bool stream;
} assay_reader_options;

ASSAY_API void assay_reader_options_default(assay_reader_options *o);

/* Every file yields at least one chunk. A chunk may be empty (len 0): an empty file
 * gives one with both flags set, and a file whose end is only seen after its last
 * rows went out ends with an empty chunk carrying last_in_file. */
/* One message of a message source (Kafka) behind a row of a chunk: where its row is in
 * the chunk and what the sinks must keep of it (key, headers, timestamp). */
typedef struct assay_msg_meta {
    uint32_t at, len;     /* the row's bytes in chunk.data (without its '\n') */
    int64_t offset;       /* the message's offset in its partition */
    int64_t timestamp_ms; /* the message's timestamp; -1 when it has none */
    const char *key;      /* NULL: no key */
    uint32_t key_len;
    uint32_t orig_len;
    const char *orig; /* the value as sent, when the row's bytes differ from it (line
                       * breaks read as spaces, or a poison pill); NULL otherwise */
    void *headers;    /* the source's own header list (rd_kafka_headers_t), or NULL */
    /* not a row but a poison pill (an empty, null or oversized value): the reason it is
     * quarantined with */
    const char *poison;
} assay_msg_meta;

typedef struct assay_chunk {
    const char *data; /* whole rows; the last chunk of a file may end without '\n' */
    size_t len;
    uint64_t seq;       /* 0, 1, 2, ... across all files in order */
    uint32_t file;      /* index into the path list */
    uint64_t offset;    /* byte offset of data[0] in its file (decompressed, if it is) */
    bool first_in_file; /* data starts at the file's first byte (after any UTF-8 BOM) */
    bool last_in_file;  /* data ends at the end of the file */
    /* A row longer than max_row_bytes: data holds its first max_row_bytes bytes,
     * `skipped` more bytes of it were dropped, and reading went on after the next
     * '\n' (quote state reset). The engine reports it as one bad row. */
    bool oversized;
    uint64_t skipped;
    int64_t arrival_us; /* wall clock when the chunk was handed out (processing time) */
    void *priv;         /* the reader's (or the source's); do not touch */
    /* Message sources: one entry per row, in row order (NULL for files), and the
     * position after the chunk in its part (files: offset + len + skipped; Kafka: the
     * last message's offset + 1). */
    const assay_msg_meta *msgs;
    uint32_t nmsgs;
    uint64_t end;
} assay_chunk;

/* The meta of the row starting at byte `at` of a message chunk (NULL when none). */
static inline const assay_msg_meta *assay_chunk_msg_at(const assay_chunk *c, size_t at)
{
    uint32_t lo = 0, hi = c->nmsgs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->msgs[mid].at < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->nmsgs && c->msgs[lo].at == at ? &c->msgs[lo] : NULL;
}

typedef struct assay_reader assay_reader;

ASSAY_API int assay_reader_open(assay_reader **out, const char *const *paths, size_t npaths,
                                const assay_reader_options *o, assay_error *err);

/* Next chunk in file order. Returns 0 with *out filled, 1 at the end of all input,
 * -EAGAIN when every buffer is out (release some and call again), or another negative
 * code with err naming the file on an I/O error (-EBADMSG: corrupt or truncated
 * compressed data, with the decompressed offset reached). */
ASSAY_API int assay_reader_next(assay_reader *r, assay_chunk *out, assay_error *err);

/* Wait up to timeout_ms (-1: forever) until next() can go on without blocking on a
 * pipe: 1 when it can (rows are buffered, input is ready, or the input is a regular
 * file), 0 on timeout. */
ASSAY_API int assay_reader_wait(assay_reader *r, int timeout_ms);

/* Give a chunk's buffer back to the pool. */
ASSAY_API void assay_reader_release(assay_reader *r, const assay_chunk *c);

/* true when reads go through io_uring. */
ASSAY_API bool assay_reader_uses_io_uring(const assay_reader *r);

/* Total bytes read so far and the total size of regular files (0 when unknown, e.g.
 * stdin), for progress and throughput. Both count bytes on disk: for a compressed file
 * the compressed bytes. */
ASSAY_API uint64_t assay_reader_bytes_read(const assay_reader *r);
ASSAY_API uint64_t assay_reader_bytes_total(const assay_reader *r);

ASSAY_API void assay_reader_close(assay_reader *r);

#endif
