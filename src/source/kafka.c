/*
 * kafka.c - the Kafka source: a consumer in a group, one message = one row, rows
 * handed to the pipeline in chunks of one partition each.
 *
 * Consuming. librdkafka's high-level consumer (rd_kafka_subscribe) in `group` with the
 * cooperative-sticky assignor (KIP-429), so a rebalance moves only the partitions that
 * change owner and the others keep flowing. Auto-commit and the automatic offset store
 * are off: offsets are committed only by done(), which the pipeline calls once every
 * row of the chunks up to a sequence number has its outputs delivered and its window
 * state in a durable checkpoint (at-least-once end to end, and nothing skipped).
 * `start` says where a partition this process has not read yet begins: at the group's
 * committed offset (falling back to the earliest one), or at the earliest or latest
 * offset whatever was committed (--from-beginning).
 *
 * Chunks. Messages are appended, value then '\n', to a buffer per partition; a buffer
 * becomes a chunk when it reaches `chunk_bytes` or its first message has waited
 * `linger_ms`, so a busy partition gives large chunks (the parser's throughput) and a
 * quiet one still shows up within the linger. A chunk holds one partition's messages
 * in offset order - the unit the engine's per-partition watermarks and ownership need
 * - and carries the partition as its part (`file`) and its first offset as `offset`.
 * Each chunk handed out is remembered (seq, partition, last offset) until done()
 * covers it; done() commits, per partition, the highest offset + 1 among the covered
 * chunks (Kafka's committed offset is the next one to read).
 *
 * Poison pills. A message is one row, so its value is made into exactly one line:
 * line breaks in it (pretty-printed JSON) are read as spaces, which JSON allows between
 * tokens; an empty or null value (a tombstone) and a value longer than max_row_bytes
 * become an empty line that the parser reports as a bad row, and the message's meta
 * says why (`poison`), so it is quarantined with that reason and still counted. Where
 * the row differs from the value, the meta keeps the value as sent (`orig`) for the
 * quarantine and clean topics, which carry messages untouched.
 *
 * Each row's meta (offset, timestamp, key, headers) travels with the chunk, so the
 * Kafka sinks keep a clean or quarantined row's key, headers and timestamp.
 *
 * Resuming. A checkpoint says where each partition's next unfolded message is; a
 * partition in that list starts there when it is first assigned, whatever the group
 * committed (the commit follows the checkpoint, so it can only be behind it).
 *
 * One instance per group. A window counts the rows of every partition, and its state
 * lives in this process's checkpoint, so an instance that holds only some partitions
 * cannot emit a correct window. The topic's partition count comes from its metadata at
 * each rebalance. An instance that has not held them all yet (a newcomer while another
 * instance runs) reads nothing: its partitions are paused and no chunk is handed out
 * until it holds every one; if that takes longer than twice session.timeout.ms (time
 * enough for a stopped instance's session to expire) it fails, which leaves the group
 * and gives the partitions back. An instance that held them all and loses some keeps
 * their window state and position; the pipeline's windows wait for them (a part away
 * holds the watermark), and a partition that comes back goes on after what was read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "assay/source.h"
#include "core/clock.h"
#include "core/grow.h"

/* A row's meta while its buffer fills: key and original value are offsets into the
 * buffer's side arena (which may move) until the chunk is handed out. */
typedef struct meta_build {
    assay_msg_meta m;
    size_t key_off, orig_off;
    bool has_key;
} meta_build;

typedef struct part_buf {
    int32_t partition;
    char *buf;
    size_t len, cap;
    meta_build *metas;
    size_t nmetas, metas_cap;
    char *side; /* keys, original values, poison reasons */
    size_t side_len, side_cap;
    int64_t first_off, last_off;
    int64_t next_read; /* offset after the last message read from it; -1 before any */
    double first_at;   /* monotonic seconds the first message was appended */
    bool seen;         /* assigned before in this process (start applies once) */
} part_buf;

typedef struct assigned_set {
    int32_t *v;
    size_t n, cap;
} assigned_set;

typedef struct out_chunk {
    uint64_t seq;
    int32_t partition;
    int64_t last_off;
} out_chunk;

/* What a chunk owns, given back by release(): to the spare list, whose buffers the
 * next partition buffers start from. Reusing them matters: a fresh 1 MiB buffer per
 * chunk is a page fault per 4 KiB on first touch, which cost more than the copy. */
typedef struct chunk_mem {
    char *buf, *side;
    size_t buf_cap, side_cap;
    assay_msg_meta *metas;
    size_t nmetas, metas_cap;
    struct chunk_mem *next; /* on the spare list */
} chunk_mem;

typedef struct kafka_source {
    assay_source base;
    rd_kafka_t *rk;
    char *topic;
    int start;                  /* 0 committed, 1 earliest, 2 latest */
    assay_kafka_resume *resume; /* where partitions go on after a checkpoint */
    size_t nresume;
    size_t max_row_bytes;
    char csv_quote; /* CSV messages: quotes must pair up within one */
    size_t chunk_bytes;
    double linger;
    unsigned max_out, out;
    part_buf *parts;
    size_t nparts, parts_cap;
    out_chunk *pending; /* handed out, not yet covered by done(), in seq order */
    size_t npending, pending_cap;
    uint64_t seq, bytes;
    char **names; /* "topic[p]" by partition number, grown as partitions appear */
    size_t nnames;
    char fatal[512]; /* a fatal consumer error, reported by the next next() */
    assigned_set assigned;
    assay_chunk *ready; /* sealed chunks not handed out yet (max_out are out), in seq order */
    size_t nready, ready_cap;
    chunk_mem *spare; /* released chunks' memory, for the next buffers */
    size_t nspare;
    bool paused;          /* pause() holds every assigned partition, later ones included */
    bool full;            /* the gathering buffers reached read_ahead: fetching held */
    bool held;            /* the assigned partitions are paused (paused || full) */
    size_t buffered;      /* bytes in the gathering buffers and the ready chunks */
    size_t read_ahead;    /* bound on them and the ready chunks: queued.max.messages.kbytes */
    rd_kafka_queue_t *cq; /* commit results */
    rd_kafka_topic_partition_list_t *want; /* released offsets not yet acknowledged */
    bool commit_inflight;
    rd_kafka_resp_err_t commit_err; /* why the last commit failed; 0 once one succeeds */

    /* one instance per group (see the top) */
    int topic_parts;      /* partitions of the topic, from the last metadata read; 0 unknown */
    bool full_once;       /* every partition has been assigned to this process */
    double partial_since; /* monotonic seconds a newcomer's wait for the rest began; 0 none */
    double partial_bound; /* seconds it may wait: twice session.timeout.ms */
    bool told_wait, told_away;
    bool closing; /* leaving the group: the revocation that follows is ours */
    char *group;
    void (*notice)(void *ctx, const char *msg);
    void *notice_ctx;
} kafka_source;

static void say(kafka_source *k, const char *msg)
{
    if (k->notice)
        k->notice(k->notice_ctx, msg);
}

static void assigned_update(kafka_source *k, const rd_kafka_topic_partition_list_t *l, bool add)
{
    for (int i = 0; i < l->cnt; i++) {
        int32_t p = l->elems[i].partition;
        size_t j = 0;
        while (j < k->assigned.n && k->assigned.v[j] != p)
            j++;
        if (add && j == k->assigned.n &&
            ASSAY_RESERVE(k->assigned.v, k->assigned.n, k->assigned.cap, 16) == 0)
            k->assigned.v[k->assigned.n++] = p;
        else if (!add && j < k->assigned.n)
            k->assigned.v[j] = k->assigned.v[--k->assigned.n];
    }
    k->base.parts_gen++;
}

static size_t kf_parts(assay_source *s, uint32_t *out, size_t cap)
{
    kafka_source *k = (kafka_source *)s;
    if (!k->full_once)
        return 0; /* a newcomer waiting for the rest reads nothing, so holds nothing */
    for (size_t i = 0; i < k->assigned.n && i < cap; i++)
        out[i] = (uint32_t)k->assigned.v[i];
    return k->assigned.n;
}

static part_buf *part_find(kafka_source *k, int32_t p)
{
    for (size_t i = 0; i < k->nparts; i++)
        if (k->parts[i].partition == p)
            return &k->parts[i];
    return NULL;
}

/* Watermarks come from librdkafka's cache of the last fetch responses: no request. */
static size_t kf_lag(assay_source *s, assay_part_lag *out, size_t cap)
{
    kafka_source *k = (kafka_source *)s;
    size_t n = 0;
    for (size_t i = 0; i < k->assigned.n && n < cap; i++) {
        int32_t p = k->assigned.v[i];
        int64_t lo = -1, hi = -1;
        out[n].part = (uint32_t)p;
        out[n].messages = -1;
        if (rd_kafka_get_watermark_offsets(k->rk, k->topic, p, &lo, &hi) == 0 && hi >= 0) {
            const part_buf *b = part_find(k, p);
            int64_t next = b && b->next_read >= 0 ? b->next_read : lo;
            out[n].messages = next >= 0 && hi > next ? hi - next : 0;
        }
        n++;
    }
    return n;
}

static part_buf *part_get(kafka_source *k, int32_t p)
{
    part_buf *have = part_find(k, p);
    if (have)
        return have;
    if (ASSAY_RESERVE(k->parts, k->nparts, k->parts_cap, 8) < 0)
        return NULL;
    part_buf *b = &k->parts[k->nparts++];
    memset(b, 0, sizeof(*b));
    b->partition = p;
    b->next_read = -1;
    return b;
}

static int name_partition(kafka_source *k, int32_t p)
{
    if ((size_t)p < k->nnames)
        return 0;
    char **v = realloc(k->names, ((size_t)p + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    k->names = v;
    for (size_t i = k->nnames; i <= (size_t)p; i++) {
        size_t n = strlen(k->topic) + 16;
        if (!(v[i] = malloc(n)))
            return -ENOMEM;
        snprintf(v[i], n, "%s[%zu]", k->topic, i);
        k->nnames = i + 1;
    }
    k->base.names = (const char *const *)k->names;
    k->base.nnames = k->nnames;
    return 0;
}

/* The topic's partition count from the cluster's metadata (0 when it cannot be had:
 * the last count known stays). Called at rebalances only, on the consumer's thread. */
static void read_topic_parts(kafka_source *k)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(k->rk, k->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (t && rd_kafka_metadata(k->rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
        if (md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0)
            k->topic_parts = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (t)
        rd_kafka_topic_destroy(t);
}

/* Resuming a partition only clears a flag: librdkafka 2.0's fetcher threads notice it
 * the next time they wake, which on an idle connection is up to a second later (they
 * sleep at most 1 s; measured: every pause cost ~1 s with nothing fetched). A seek to
 * the position we read up to is the public call that wakes them at once ("fetch
 * start"). It fetches what resume would have fetched - the pause dropped whatever
 * librdkafka had prefetched past that position - and the seek's version barrier keeps
 * anything fetched before it from reaching us twice. Partitions not read from yet
 * start at their committed or reset offset and are left alone. */
static void wake_fetchers(kafka_source *k, const rd_kafka_topic_partition_list_t *l)
{
    rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(l->cnt);
    for (int i = 0; i < l->cnt; i++) {
        part_buf *b = part_find(k, l->elems[i].partition);
        if (b && b->next_read >= 0)
            rd_kafka_topic_partition_list_add(seek, l->elems[i].topic, b->partition)->offset =
                b->next_read;
    }
    if (seek->cnt) {
        rd_kafka_error_t *e = rd_kafka_seek_partitions(k->rk, seek, 0);
        if (e)
            rd_kafka_error_destroy(e); /* resume still holds: the fetchers wake within 1 s */
    }
    rd_kafka_topic_partition_list_destroy(seek);
}

static void pause_assigned(kafka_source *k, bool pause)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        if (pause)
            rd_kafka_pause_partitions(k->rk, l);
        else {
            rd_kafka_resume_partitions(k->rk, l);
            wake_fetchers(k, l);
        }
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* Pause or resume the assigned partitions as the two holds say: a full producer queue
 * (pause()), and the gathering buffers at their bound. Pausing drops what librdkafka
 * has prefetched for them (the next fetch starts after the last message polled), which
 * is little: its queue is drained into the buffers as fast as it fills. */
static void hold_sync(kafka_source *k)
{
    bool want = k->paused || k->full;
    if (want == k->held)
        return;
    k->held = want;
    if (!want && !k->full_once)
        return; /* a newcomer's partitions stay paused until it holds them all */
    pause_assigned(k, want);
}

/* After a rebalance: does this process hold every partition of the topic? */
static void check_share(kafka_source *k, bool lost)
{
    if (k->closing)
        return;
    read_topic_parts(k);
    char msg[512];
    bool full = k->topic_parts > 0 && k->assigned.n >= (size_t)k->topic_parts;
    if (full) {
        if (!k->full_once) {
            k->full_once = true;
            if (k->told_wait) {
                snprintf(msg, sizeof(msg), "kafka: every partition of %s assigned: reading",
                         k->topic);
                say(k, msg);
            }
            if (!k->held)
                pause_assigned(k, false);
        } else if (k->told_away) {
            snprintf(msg, sizeof(msg), "kafka: every partition of %s assigned again: windows go on",
                     k->topic);
            say(k, msg);
        }
        k->partial_since = 0;
        k->told_away = false;
        return;
    }
    if (!k->full_once) {
        if (k->partial_since == 0)
            k->partial_since = assay_mono_seconds();
    } else if (!lost && !k->told_away && k->topic_parts > 0) {
        snprintf(msg, sizeof(msg),
                 "kafka: group %s gave %d of the %d partitions of %s to another member; "
                 "their window state stays here and the windows wait for them to come "
                 "back (assay runs one instance per consumer group)",
                 k->group, k->topic_parts - (int)k->assigned.n, k->topic_parts, k->topic);
        say(k, msg);
        k->told_away = true;
    }
}

/* Cooperative rebalancing: add or remove only the partitions that move. A partition
 * this process reads for the first time starts where `start` says. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kafka_source *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            part_buf *b = part_get(k, parts->elems[i].partition);
            int64_t at = RD_KAFKA_OFFSET_INVALID;
            for (size_t r = 0; r < k->nresume; r++)
                if (k->resume[r].partition == parts->elems[i].partition)
                    at = k->resume[r].offset;
            /* a partition taken back after a lost session (its buffered and
             * handed-out rows are still ours) goes on after what was read, not from
             * the committed offset, which is behind: the rows between would be
             * counted twice */
            if (b && b->seen && b->next_read >= 0)
                parts->elems[i].offset = b->next_read;
            else if (b && !b->seen && at != RD_KAFKA_OFFSET_INVALID)
                parts->elems[i].offset = b->next_read = at;
            else if (b && !b->seen && k->start)
                parts->elems[i].offset =
                    k->start == 1 ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
            if (b)
                b->seen = true;
        }
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e) {
            snprintf(k->fatal, sizeof(k->fatal), "cannot take partitions: %s",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        } else {
            assigned_update(k, parts, true);
            check_share(k, false);
            /* taken while a full producer queue holds the input, or by a newcomer
             * that does not hold every partition yet */
            if (k->held || !k->full_once)
                rd_kafka_pause_partitions(rk, parts);
        }
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        bool lost = rd_kafka_assignment_lost(rk);
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e)
            rd_kafka_error_destroy(e);
        assigned_update(k, parts, false);
        check_share(k, lost);
    }
}

/* Memory for one more chunk: a spare one, or new. */
static chunk_mem *spare_take(kafka_source *k)
{
    chunk_mem *cm = k->spare;
    if (!cm)
        return calloc(1, sizeof(*cm));
    k->spare = cm->next;
    k->nspare--;
    cm->next = NULL;
    return cm;
}

static void chunk_mem_free(chunk_mem *cm)
{
    if (!cm)
        return;
    free(cm->metas);
    free(cm->buf);
    free(cm->side);
    free(cm);
}

static void chunk_headers_destroy(chunk_mem *cm)
{
    for (size_t i = 0; cm && i < cm->nmetas; i++)
        if (cm->metas[i].headers)
            rd_kafka_headers_destroy(cm->metas[i].headers);
}

/* A chunk's memory back to the spare list; beyond what the chunks in flight and the
 * partition buffers can use at once, it is freed. */
static void spare_put(kafka_source *k, chunk_mem *cm)
{
    if (!cm)
        return;
    if (k->nspare >= k->max_out + 2 + k->read_ahead / k->chunk_bytes) {
        chunk_mem_free(cm);
        return;
    }
    cm->nmetas = 0;
    cm->next = k->spare;
    k->spare = cm;
    k->nspare++;
}

static int metas_room(chunk_mem *cm, size_t n)
{
    if (n <= cm->metas_cap && cm->metas)
        return 0;
    size_t cap = n ? n : 1;
    assay_msg_meta *m = realloc(cm->metas, cap * sizeof(*m));
    if (!m)
        return -ENOMEM;
    cm->metas = m;
    cm->metas_cap = cap;
    return 0;
}

/* The chunk takes the partition buffer's memory; the partition goes on with what
 * cm held before (a spare chunk's buffers, or none). */
static void spare_swap(kafka_source *k, chunk_mem *cm, part_buf *b)
{
    (void)k;
    char *buf = cm->buf, *side = cm->side;
    size_t buf_cap = cm->buf_cap, side_cap = cm->side_cap;
    cm->buf = b->buf;
    cm->buf_cap = b->cap;
    cm->side = b->side;
    cm->side_cap = b->side_cap;
    b->buf = buf;
    b->cap = buf_cap;
    b->side = side;
    b->side_cap = side_cap;
}

/* The buffer of b as a chunk, at the end of the ready list. */
static int seal(kafka_source *k, part_buf *b)
{
    chunk_mem *cm = spare_take(k);
    if (!cm || ASSAY_RESERVE(k->ready, k->nready, k->ready_cap, 8) < 0 ||
        name_partition(k, b->partition) < 0 || metas_room(cm, b->nmetas) < 0) {
        spare_put(k, cm);
        return -ENOMEM;
    }
    assay_msg_meta *metas = cm->metas;
    for (size_t i = 0; i < b->nmetas; i++) {
        const meta_build *mb = &b->metas[i];
        metas[i] = mb->m;
        metas[i].key = mb->has_key ? b->side + mb->key_off : NULL;
        if (mb->m.poison)
            metas[i].poison = b->side + ((uintptr_t)mb->m.poison - 1);
        metas[i].orig = mb->orig_off != SIZE_MAX ? b->side + mb->orig_off : NULL;
    }
    /* the chunk takes the buffers; the partition starts its next ones from the spare
     * list, and cm's old buffers (if any) go there in their place */
    spare_swap(k, cm, b);
    cm->nmetas = b->nmetas;
    assay_chunk *c = &k->ready[k->nready++];
    memset(c, 0, sizeof(*c));
    c->data = cm->buf;
    c->len = b->len;
    c->seq = k->seq++;
    c->file = (uint32_t)b->partition;
    c->offset = (uint64_t)b->first_off;
    c->end = (uint64_t)b->last_off + 1;
    c->arrival_us = assay_wall_us();
    c->msgs = metas;
    c->nmsgs = (uint32_t)b->nmetas;
    c->priv = cm;
    b->len = b->side_len = 0;
    b->nmetas = 0;
    return 0;
}

/* The oldest ready chunk, handed out. */
static int hand_out(kafka_source *k, assay_chunk *c)
{
    if (ASSAY_RESERVE(k->pending, k->npending, k->pending_cap, 16) < 0)
        return -ENOMEM;
    *c = k->ready[0];
    memmove(k->ready, k->ready + 1, --k->nready * sizeof(*k->ready));
    k->pending[k->npending++] = (out_chunk){ .seq = c->seq,
                                             .partition = (int32_t)c->file,
                                             .last_off = (int64_t)c->end - 1 };
    k->buffered -= c->len;
    k->out++;
    if (k->full && k->buffered <= k->read_ahead / 2) {
        k->full = false;
        hold_sync(k);
    }
    return 0;
}

/* A buffer that is due: full, or its first message waited the linger; while the
 * gathering buffers are at their bound, the fullest (many partitions share it, so
 * none may have reached chunk_bytes). */
static part_buf *due(kafka_source *k, double now, bool any)
{
    if (k->full) {
        part_buf *best = NULL;
        for (size_t i = 0; i < k->nparts; i++)
            if (k->parts[i].len && (!best || k->parts[i].len > best->len))
                best = &k->parts[i];
        return best;
    }
    for (size_t i = 0; i < k->nparts; i++) {
        part_buf *b = &k->parts[i];
        if (b->len && (any || b->len >= k->chunk_bytes || now - b->first_at >= k->linger))
            return b;
    }
    return NULL;
}

/* Bytes into the buffer's side arena; their offset in *off. */
static int side_put(part_buf *b, const void *p, size_t n, size_t *off)
{
    if (b->side_len + n + 1 > b->side_cap) {
        size_t cap = b->side_cap ? b->side_cap : 4096;
        while (cap < b->side_len + n + 1)
            cap *= 2;
        char *ns = realloc(b->side, cap);
        if (!ns)
            return -ENOMEM;
        b->side = ns;
        b->side_cap = cap;
    }
    *off = b->side_len;
    if (n)
        memcpy(b->side + b->side_len, p, n);
    b->side_len += n;
    b->side[b->side_len++] = '\0';
    return 0;
}

static bool odd_quotes(const char *v, size_t n, char q)
{
    size_t c = 0;
    for (const char *p = memchr(v, q, n); p; p = memchr(p + 1, q, n - (size_t)(p + 1 - v)))
        c++;
    return c & 1;
}

static int append(kafka_source *k, const rd_kafka_message_t *m)
{
    part_buf *b = part_get(k, m->partition);
    if (!b)
        return -ENOMEM;
    if (b->next_read >= 0 && m->offset < b->next_read)
        return 0; /* read before (a fetch that raced a seek or a rebalance): counted once */
    if (ASSAY_RESERVE(b->metas, b->nmetas, b->metas_cap, 256) < 0)
        return -ENOMEM;
    const char *v = m->payload;
    size_t vlen = v ? m->len : 0;
    const char *poison = NULL;
    char why[160];
    if (!v)
        poison = "null message value (a tombstone): no row to check";
    else if (!vlen)
        poison = "empty message value: no row to check";
    else if (k->max_row_bytes && vlen > k->max_row_bytes) {
        snprintf(why, sizeof(why), "message of %zu bytes is longer than limits.max_row_bytes (%zu)",
                 vlen, k->max_row_bytes);
        poison = why;
    } else if (k->csv_quote && odd_quotes(v, vlen, k->csv_quote)) {
        /* the parser's quote state runs across lines: an unpaired quote would swallow
         * the messages after it into this row */
        snprintf(why, sizeof(why),
                 "CSV message with an unterminated quoted field (an odd "
                 "number of %c)",
                 k->csv_quote);
        poison = why;
    }
    bool breaks = !poison && (memchr(v, '\n', vlen) || memchr(v, '\r', vlen));
    size_t row_len = poison ? 0 : vlen;
    size_t need = b->len + row_len + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : k->chunk_bytes + 4096;
        while (cap < need)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb)
            return -ENOMEM;
        b->buf = nb;
        b->cap = cap;
    }
    meta_build *mb = &b->metas[b->nmetas];
    *mb = (meta_build){ .orig_off = SIZE_MAX };
    mb->m.at = (uint32_t)b->len;
    mb->m.len = (uint32_t)row_len;
    mb->m.offset = m->offset;
    rd_kafka_timestamp_type_t tt;
    mb->m.timestamp_ms = rd_kafka_message_timestamp(m, &tt);
    int rc = 0;
    if (m->key && (rc = side_put(b, m->key, m->key_len, &mb->key_off)) == 0) {
        mb->has_key = true;
        mb->m.key_len = (uint32_t)m->key_len;
    }
    if (rc == 0 && (poison || breaks) && v) {
        rc = side_put(b, v, vlen, &mb->orig_off);
        mb->m.orig_len = (uint32_t)vlen;
    }
    size_t why_off = 0;
    if (rc == 0 && poison)
        rc = side_put(b, poison, strlen(poison), &why_off);
    rd_kafka_headers_t *hdrs = NULL;
    if (rc == 0 && rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs)
        mb->m.headers = rd_kafka_headers_copy(hdrs);
    if (rc < 0)
        return rc;
    /* the reason's text lives in the side arena; its offset stands in until emit */
    mb->m.poison = poison ? (const char *)(uintptr_t)(why_off + 1) : NULL;
    b->nmetas++;
    if (!b->len) {
        b->first_off = m->offset;
        b->first_at = assay_mono_seconds();
    }
    char *dst = b->buf + b->len;
    if (row_len)
        memcpy(dst, v, row_len);
    if (breaks)
        for (size_t i = 0; i < row_len; i++)
            if (dst[i] == '\n' || dst[i] == '\r')
                dst[i] = ' ';
    b->len += row_len;
    b->buf[b->len++] = '\n';
    b->last_off = m->offset;
    b->next_read = m->offset + 1;
    k->bytes += vlen + 1;
    k->buffered += row_len + 1;
    if (b->len >= k->chunk_bytes && (rc = seal(k, b)) < 0)
        return rc;
    if (!k->full && k->buffered >= k->read_ahead) {
        k->full = true;
        hold_sync(k);
    }
    return 0;
}

/* A newcomer holding only some partitions: say so once it has waited a moment (the
 * first rounds of a cooperative rebalance give partial assignments on their way), and
 * give up at the bound. */
static bool hold_expired(kafka_source *k, double now, assay_error *err)
{
    double waited = now - k->partial_since;
    if (!k->told_wait && waited >= 2) {
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "kafka: group %s gives this instance %zu of the %d partitions of %s; "
                 "reading nothing until it holds them all (waiting up to %.0f s: a stopped "
                 "instance's session may still be expiring)",
                 k->group, k->assigned.n, k->topic_parts, k->topic, k->partial_bound);
        say(k, msg);
        k->told_wait = true;
    }
    if (waited < k->partial_bound)
        return false;
    assay_error_set(err, -EBUSY,
                    "kafka topic %s: group %s still gives this instance only %zu of its %d "
                    "partitions after %.0f s: another instance consumes in this group. assay "
                    "runs one instance per consumer group (window state is not shared between "
                    "instances yet), so this one read nothing and leaves the group: stop the "
                    "other instance, or give this one a group of its own",
                    k->topic, k->group, k->assigned.n, k->topic_parts, waited);
    return true;
}

/* One message from librdkafka into its partition's buffer: 1, or 0 when none came
 * within wait_ms (or the poll served only callbacks and events). */
static int poll_one(kafka_source *k, int wait_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, wait_ms);
    if (!m)
        return 0;
    int rc = 0;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = append(k, m);
    else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
             (m->err == RD_KAFKA_RESP_ERR__FATAL ||
              m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
              m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED))
        snprintf(k->fatal, sizeof(k->fatal), "%s", rd_kafka_message_errstr(m));
    /* other errors (a broker away, a leader moving) are retried by librdkafka */
    rd_kafka_message_destroy(m);
    return rc < 0 ? rc : 1;
}

/* What librdkafka has queued, into the buffers without waiting, up to their bound.
 * Why here and not in librdkafka's queue: librdkafka 2.0 stops fetching for a second
 * (a fixed backoff) once its prefetch queue reaches queued.max.messages.kbytes, and a
 * backlog fills that queue faster than rows are checked, so the pipeline sat idle
 * most of the time (15-25 % of the raw consume rate). Kept near empty, the queue never
 * reaches its limit; the same bound is applied to the buffers by pausing (hold_sync),
 * which resumes as soon as they are half empty. */
static int take_queued(kafka_source *k)
{
    int rc = 1;
    for (unsigned n = 0; rc == 1 && !k->full && n < 65536; n++)
        rc = poll_one(k, 0);
    return rc < 0 ? rc : 0;
}

static int kf_next(assay_source *s, assay_chunk *c, int timeout_ms, assay_error *err)
{
    kafka_source *k = (kafka_source *)s;
    if (k->out >= k->max_out) {
        /* the pipeline is busy: keep librdkafka's queue drained meanwhile */
        if (take_queued(k) < 0)
            return assay_error_set(err, -ENOMEM, "out of memory buffering kafka messages");
        return -EAGAIN;
    }
    double deadline = assay_mono_seconds() + (timeout_ms < 0 ? 1e9 : timeout_ms / 1e3);
    for (;;) {
        if (*k->fatal)
            return assay_error_set(err, -EIO, "kafka topic %s: %s", k->topic, k->fatal);
        double now = assay_mono_seconds();
        if (!k->full_once && k->partial_since > 0 && hold_expired(k, now, err))
            return -EBUSY;
        if (k->full_once) {
            /* when the caller's wait is over, hand out what has arrived rather than
             * nothing */
            part_buf *b = k->nready ? NULL : due(k, now, now >= deadline);
            if (b && seal(k, b) < 0)
                return assay_error_set(err, -ENOMEM, "out of memory");
            if (k->nready)
                return hand_out(k, c) < 0 ? assay_error_set(err, -ENOMEM, "out of memory") : 0;
        }
        if (now >= deadline)
            return -ETIMEDOUT;
        int wait = (int)((deadline - now) * 1e3) + 1;
        if (wait > (int)(k->linger * 1e3) + 1)
            wait = (int)(k->linger * 1e3) + 1;
        int rc = poll_one(k, wait);
        if (rc > 0)
            rc = take_queued(k);
        if (rc < 0)
            return assay_error_set(err, rc, "out of memory buffering kafka messages");
    }
}

static void kf_release(assay_source *s, const assay_chunk *c)
{
    kafka_source *k = (kafka_source *)s;
    chunk_headers_destroy(c->priv);
    spare_put(k, c->priv);
    k->out--;
}

/* Commits are asynchronous, on a queue of their own: a synchronous commit waits for
 * the group coordinator, and while the group rejoins (a lost session) the coordinator
 * waits for this thread to take the new assignment - which it would only do after the
 * commit returned. `want` holds, per partition, the highest offset the pipeline has
 * released and no acknowledged commit has covered yet; one commit of it is in flight
 * at a time, and a failed one leaves it there for the next. */
static void want_add(rd_kafka_topic_partition_list_t *want, const char *topic, int32_t part,
                     int64_t off)
{
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(want, topic, part);
    if (!tp)
        tp = rd_kafka_topic_partition_list_add(want, topic, part);
    if (tp->offset < off)
        tp->offset = off;
}

/* Takes the results of finished commits: acknowledged offsets leave `want`. */
static void serve_commits(kafka_source *k, int timeout_ms)
{
    rd_kafka_event_t *ev;
    while (k->commit_inflight && (ev = rd_kafka_queue_poll(k->cq, timeout_ms))) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            k->commit_inflight = false;
            rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
            const rd_kafka_topic_partition_list_t *l = rd_kafka_event_topic_partition_list(ev);
            for (int i = 0; l && i < l->cnt; i++) {
                if (l->elems[i].err) {
                    if (!e)
                        e = l->elems[i].err;
                    continue;
                }
                rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                    k->want, l->elems[i].topic, l->elems[i].partition);
                if (tp && tp->offset <= l->elems[i].offset)
                    rd_kafka_topic_partition_list_del(k->want, l->elems[i].topic,
                                                      l->elems[i].partition);
            }
            k->commit_err = e;
        }
        rd_kafka_event_destroy(ev);
    }
}

/* Only partitions assigned now are committed: after a lost session a commit in the
 * old generation fails (unknown member) and makes librdkafka start the join over, so
 * committing while the group rejoins would keep it from ever finishing. Offsets of a
 * partition given up stay in `want` until it comes back (the checkpoint has them). */
static void send_commit(kafka_source *k)
{
    if (k->commit_inflight || k->want->cnt == 0 || rd_kafka_assignment_lost(k->rk))
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(k->want->cnt);
    for (int i = 0; i < k->want->cnt; i++)
        for (size_t j = 0; j < k->assigned.n; j++)
            if (k->assigned.v[j] == k->want->elems[i].partition)
                rd_kafka_topic_partition_list_add(l, k->want->elems[i].topic,
                                                  k->want->elems[i].partition)
                    ->offset = k->want->elems[i].offset;
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit_queue(k->rk, l, k->cq, NULL, NULL);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        k->commit_err = e;
    else
        k->commit_inflight = true;
}

static int kf_done(assay_source *s, uint64_t seq, assay_error *err)
{
    kafka_source *k = (kafka_source *)s;
    size_t n = 0;
    while (n < k->npending && k->pending[n].seq <= seq)
        n++;
    for (size_t i = 0; i < n; i++)
        want_add(k->want, k->topic, k->pending[i].partition, k->pending[i].last_off + 1);
    memmove(k->pending, k->pending + n, (k->npending - n) * sizeof(*k->pending));
    k->npending -= n;
    serve_commits(k, 0);
    send_commit(k);
    if (k->commit_err) {
        /* until a commit succeeds (the checkpoint holds the positions meanwhile):
         * reported once by the pipeline, which says so again when one does */
        assay_error_set(err, -EAGAIN,
                        "kafka topic %s: cannot commit offsets yet (%s); trying "
                        "again at the next checkpoint",
                        k->topic, rd_kafka_err2str(k->commit_err));
        return 1;
    }
    return 0;
}

/* At the end: what was released is committed before the group is left, within a
 * bound (a coordinator that does not answer must not hold SIGTERM up for ever; the
 * checkpoint has the positions anyway). The consumer is polled meanwhile, so a
 * rebalance in progress can complete; messages it returns are not ours to keep. */
static void final_commit(kafka_source *k)
{
    double until = assay_mono_seconds() + 10;
    while (assay_mono_seconds() < until) {
        send_commit(k);
        if (!k->commit_inflight) {
            if (!k->commit_err || !k->want->cnt)
                break; /* all acknowledged, or nothing assigned to commit */
            struct timespec ts = { 0, 100 * 1000 * 1000 };
            nanosleep(&ts, NULL); /* the coordinator is busy: try again shortly */
        }
        serve_commits(k, 100);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 0);
        if (m)
            rd_kafka_message_destroy(m);
    }
}

static void kf_pause(assay_source *s)
{
    kafka_source *k = (kafka_source *)s;
    k->paused = true;
    hold_sync(k);
}

static void kf_resume(assay_source *s)
{
    kafka_source *k = (kafka_source *)s;
    k->paused = false;
    hold_sync(k);
}

static void kf_stats(const assay_source *s, assay_source_stats *out)
{
    const kafka_source *k = (const kafka_source *)s;
    memset(out, 0, sizeof(*out));
    out->bytes_read = k->bytes;
}

static void kf_close(assay_source *s)
{
    kafka_source *k = (kafka_source *)s;
    if (k->rk) {
        if (k->cq && k->want)
            final_commit(k);
        k->closing = true;
        rd_kafka_consumer_close(k->rk);
        if (k->cq)
            rd_kafka_queue_destroy(k->cq);
        rd_kafka_destroy(k->rk);
    }
    for (size_t i = 0; i < k->nparts; i++) {
        for (size_t j = 0; j < k->parts[i].nmetas; j++)
            if (k->parts[i].metas[j].m.headers)
                rd_kafka_headers_destroy(k->parts[i].metas[j].m.headers);
        free(k->parts[i].metas);
        free(k->parts[i].side);
        free(k->parts[i].buf);
    }
    free(k->parts);
    for (size_t i = 0; i < k->nready; i++) {
        chunk_headers_destroy(k->ready[i].priv);
        chunk_mem_free(k->ready[i].priv);
    }
    free(k->ready);
    while (k->spare) {
        chunk_mem *cm = k->spare;
        k->spare = cm->next;
        chunk_mem_free(cm);
    }
    free(k->resume);
    free(k->assigned.v);
    free(k->pending);
    if (k->want)
        rd_kafka_topic_partition_list_destroy(k->want);
    for (size_t i = 0; i < k->nnames; i++)
        free(k->names[i]);
    free(k->names);
    free(k->topic);
    free(k->group);
    free(k);
}

static const assay_source_ops kafka_ops = {
    .name = "kafka",
    .next = kf_next,
    .release = kf_release,
    .done = kf_done,
    .pause = kf_pause,
    .resume = kf_resume,
    .stats = kf_stats,
    .close = kf_close,
    .parts = kf_parts,
    .lag = kf_lag,
};

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val, assay_error *err)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, val, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        /* the value is not repeated: it may be a secret */
        return assay_error_set(err, -EINVAL, "kafka property %s: %s", key, why);
    return 0;
}

int assay_source_kafka(assay_source **out, const assay_kafka_source_options *o, assay_error *err)
{
    *out = NULL;
    if (!o->topic || !o->group)
        return assay_error_set(err, -EINVAL, "kafka source: topic and group are required");
    int start = 0;
    if (o->start && !strcmp(o->start, "earliest"))
        start = 1;
    else if (o->start && !strcmp(o->start, "latest"))
        start = 2;
    else if (o->start && strcmp(o->start, "committed"))
        return assay_error_set(
            err, -EINVAL, "kafka source: start must be committed, earliest or latest, got '%s'",
            o->start);
    kafka_source *k = calloc(1, sizeof(*k));
    if (!k || !(k->topic = strdup(o->topic)) || !(k->group = strdup(o->group))) {
        if (k)
            free(k->topic);
        free(k);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    k->notice = o->notice;
    k->notice_ctx = o->notice_ctx;
    k->base.ops = &kafka_ops;
    k->base.ordered = false;
    k->start = start;
    k->chunk_bytes = o->chunk_bytes ? o->chunk_bytes : 1u << 20;
    k->linger = (o->linger_ms > 0 ? o->linger_ms : 100) / 1e3;
    k->max_out = o->max_out ? o->max_out : 8;
    k->max_row_bytes = o->max_row_bytes;
    k->csv_quote = o->csv_quote;
    k->seq = o->start_seq;
    if (o->nresume) {
        if (!(k->resume = malloc(o->nresume * sizeof(*k->resume)))) {
            kf_close(&k->base);
            return assay_error_set(err, -ENOMEM, "out of memory");
        }
        memcpy(k->resume, o->resume, o->nresume * sizeof(*k->resume));
        k->nresume = o->nresume;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = 0;
    if ((o->brokers && (rc = conf_set(conf, "bootstrap.servers", o->brokers, err)) < 0) ||
        (rc = conf_set(conf, "group.id", o->group, err)) < 0 ||
        (rc = conf_set(conf, "enable.auto.commit", "false", err)) < 0 ||
        (rc = conf_set(conf, "enable.auto.offset.store", "false", err)) < 0 ||
        (rc = conf_set(conf, "auto.offset.reset", start == 2 ? "latest" : "earliest", err)) < 0 ||
        (rc = conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", err)) < 0 ||
        /* prefetch: 16 MiB keeps the parser fed (chunks are 1 MiB) and bounds memory
         * a quarter as tight as librdkafka's 64 MiB default */
        (rc = conf_set(conf, "queued.max.messages.kbytes", "16384", err)) < 0)
        goto fail;
    for (size_t i = 0; i + 1 < 2 * o->nprops; i += 2)
        if (assay_kafka_prop_side(o->props[i]) != ASSAY_KAFKA_PRODUCER &&
            (rc = conf_set(conf, o->props[i], o->props[i + 1], err)) < 0)
            goto fail;
    char st[32];
    size_t stn = sizeof(st);
    k->read_ahead = 16u << 20;
    if (rd_kafka_conf_get(conf, "queued.max.messages.kbytes", st, &stn) == RD_KAFKA_CONF_OK)
        k->read_ahead = ASSAY_MAX((size_t)atol(st) << 10, k->chunk_bytes);
    stn = sizeof(st);
    k->partial_bound = 90; /* twice librdkafka's default session.timeout.ms */
    if (rd_kafka_conf_get(conf, "session.timeout.ms", st, &stn) == RD_KAFKA_CONF_OK)
        k->partial_bound = ASSAY_MAX(10.0, 2 * atof(st) / 1e3);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, k);
    char why[512];
    if (!(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why)))) {
        rc = assay_error_set(err, -EINVAL, "kafka source: %s", why);
        goto fail;
    }
    conf = NULL; /* rd_kafka_new owns it now */
    rd_kafka_poll_set_consumer(k->rk);
    k->cq = rd_kafka_queue_new(k->rk);
    k->want = rd_kafka_topic_partition_list_new(8);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, o->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        rc = assay_error_set(err, -EINVAL, "kafka source: cannot subscribe to %s: %s", o->topic,
                             rd_kafka_err2str(e));
        goto fail;
    }
    *out = &k->base;
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    kf_close(&k->base);
    return rc;
}
