/*
 * pipeline.c - the one engine behind check, profile, bench and run.
 *
 *   source --chunk--> shard 0..N-1 (SPSC rings) --results--> aggregator --> outputs
 *
 * The pipeline thread takes chunks of whole rows from the source (a vtable: files,
 * stdin, a growing file, memory), hands chunk k to a shard and gets the results back
 * in the order the chunks were read: a FIFO of chunks in flight says which shard's
 * return ring holds the oldest one. The aggregator folds results in that order
 * (window state, unique keys, routes) and closes windows; closed windows go to the
 * score sinks (run) or become the report (check: one window over the whole input,
 * closed at the end). Shards share nothing while running; the only state they keep
 * between chunks is the isolation forests of the partitions they own.
 *
 * Which shard gets chunk k: round robin, or - with anomaly detection on - the owner of
 * the chunk's partition (k mod 16) so that each forest sees its partition's chunks in
 * order, whatever the number of threads.
 *
 * Checkpoints (state.dir): every state.interval the pipeline drains - stops handing
 * out chunks until every chunk in flight has been folded - flushes the sinks to disk,
 * and writes the aggregator's open windows, the forests and the position after the
 * last folded chunk (src/state/checkpoint.c). So a checkpoint describes a state in
 * which chunks 0..k are folded and nothing after them: a restart loads it, opens the
 * source at that position (cut into the same chunks) and goes on as if it had never
 * stopped. On stop (SIGTERM), the same: drain, flush, checkpoint, exit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assay/bitmap.h"
#include "assay/cpu.h"
#include "assay/number.h"
#include "assay/source.h"
#include "assay/sniff.h"
#include "core/digits.h"
#include "engine/engine_internal.h"
#include "sink/outputs.h"
#include "state/checkpoint.h"
#include "state/lock.h"
#include "window/aggregator.h"
#include "alert/alerts.h"
#include "core/clock.h"
#include "core/latency.h"

const char *assay_stage_name(assay_stage s)
{
    static const char *const names[ASSAY_STAGE_COUNT] = { "read",  "frame+split", "parse",
                                                          "rules", "sketches",    "anomaly",
                                                          "merge" };
    return (unsigned)s < ASSAY_STAGE_COUNT ? names[s] : "unknown";
}

void assay_engine_options_default(assay_engine_options *o)
{
    memset(o, 0, sizeof(*o));
    o->now_us = INT64_MIN;
    o->batch_rows = 0; /* automatic: 4096, fewer for a wide input (start_shards) */
}

typedef struct pipeline {
    assay_engine e;
    const assay_engine_options *o;
    bool windowed;
    assay_source *src;
    assay_reader_options ro;
    const char *const *paths;
    size_t npaths;

    chunk_msg *msgs;
    bool *used;
    size_t nmsgs;
    unsigned *fifo_shard; /* the shard of each chunk in flight, in dispatch order */
    size_t fcap;
    uint64_t dispatched, returned;
    unsigned started;
    chunk_msg *stops;

    assay_agg agg;
    bool agg_ready;
    assay_alerter alerter;
    bool alerter_ready;
    assay_outputs out;
    char *header; /* CSV header line of the first file, for clean sinks */
    size_t header_len;
    bool header_sent;
    size_t first_start;

    uint64_t rows_written; /* --row-scores lines */
    assay_result *global;
    double read_seconds, merge_seconds;
    double first_chunk_at, last_fold_at; /* the active span: first chunk read, last folded */
    uint64_t rows_before;                /* rows a loaded checkpoint had already counted */
    int64_t last_data_us;
    double last_checkpoint;
    bool resumed;
    assay_checkpoint_source ident; /* identity of the input (files) */
    assay_sink_marks marks;        /* where the file sinks stood at the last checkpoint */
    assay_run_summary *sum;
    assay_latency latency;    /* window close to its records written, per window */
    unsigned commit_failures; /* checkpoints in a row whose offsets could not be committed */
    bool stalled;             /* a sink's full queue paused the source */
    uint64_t parts_gen;       /* the source's assignment the aggregator knows */
    double last_poll;         /* when on_poll was last called (monotonic seconds) */
    bool checkpointed;        /* a checkpoint has been written by this run */
} pipeline;

/* What on_poll gets: the pipeline itself, behind the public name. */
struct assay_engine_hand {
    pipeline p;
};

/* ---------------------------------------------------------------------------------
 * Aggregator hooks: closed windows and routed rows to the outputs
 * ------------------------------------------------------------------------------- */

/* An alert record: to the alert sinks (run), or kept in the result (check). */
static int on_alert(void *ctx, const assay_alert *a, assay_error *err)
{
    pipeline *p = ctx;
    if (p->sum) {
        if (a->state == ASSAY_ALERT_FIRING)
            p->sum->alerts_fired++;
        else if (a->state == ASSAY_ALERT_RESOLVED)
            p->sum->alerts_resolved++;
        else
            p->sum->alerts_acked++;
    }
    if (p->o->on_alert)
        p->o->on_alert(p->o->on_window_ctx, a);
    return assay_outputs_alert(&p->out, a, err);
}

static int keep_alert(void *ctx, const assay_alert *a, assay_error *err)
{
    assay_result *w = ctx;
    assay_alert *v = realloc(w->alerts, (w->nalerts + 1) * sizeof(*v));
    if (!v)
        return assay_error_set(err, -ENOMEM, "out of memory keeping an alert");
    w->alerts = v;
    if (assay_alert_copy(&w->alerts[w->nalerts], a) < 0)
        return assay_error_set(err, -ENOMEM, "out of memory keeping an alert");
    w->nalerts++;
    return 0;
}

static int on_window(void *ctx, assay_result *w, assay_error *err)
{
    pipeline *p = ctx;
    int rc = assay_outputs_score(&p->out, w, err);
    /* before its alerts, as on the sinks: a window's line or event, then what it raised */
    if (rc == 0 && w->windowed && p->o->on_window)
        p->o->on_window(p->o->on_window_ctx, w);
    double t0 = assay_mono_seconds();
    if (rc == 0 && p->alerter_ready)
        rc = w->windowed ? assay_alerter_window(&p->alerter, w, w->closed_by_end, on_alert, p, err)
                         : assay_alerter_window(&p->alerter, w, true, keep_alert, w, err);
    for (size_t i = 0; rc == 0 && !w->windowed && i < w->nalerts; i++)
        rc = assay_outputs_alert(&p->out, &w->alerts[i], err);
    w->state = NULL;
    if (rc == 0 && w->windowed)
        rc = assay_outputs_flush_records(&p->out, err);
    if (w->windowed)
        assay_outputs_health(&p->out, false, p->o->notice, p->o->notice_ctx);
    if (p->sum) {
        double t1 = assay_mono_seconds();
        p->sum->alert_seconds += t1 - t0;
        if (w->windowed)
            assay_latency_add(&p->latency, t1 - (w->closed_at > 0 ? w->closed_at : t0));
    }
    if (rc < 0) {
        assay_result_free(w);
        return rc;
    }
    if (p->sum) {
        p->sum->windows++;
        p->sum->late_rows += w->late_rows;
    }
    if (!w->windowed && p->o->on_window)
        p->o->on_window(p->o->on_window_ctx, w);
    if (!w->windowed && !p->global) {
        p->global = w;
        return 0;
    }
    assay_result_free(w);
    return 0;
}

static int on_clean(void *ctx, const chunk_msg *m, const char *b, size_t len, uint32_t nrows,
                    bool add_newline, assay_error *err)
{
    pipeline *p = ctx;
    p->out.clean_rows += nrows;
    int rc;
    if (!p->header_sent) {
        p->header_sent = true;
        if (p->header_len &&
            (rc = assay_outputs_clean_header(&p->out, p->header, p->header_len, err)) < 0)
            return rc;
    }
    const assay_msg_meta *msgs =
        m->chunk.msgs ? assay_chunk_msg_at(&m->chunk, (size_t)(b - m->chunk.data)) : NULL;
    return assay_outputs_clean(&p->out, b, len, add_newline, msgs, msgs ? nrows : 0, err);
}

static int on_quarantine(void *ctx, const assay_quarantine_row *q, assay_error *err)
{
    pipeline *p = ctx;
    return assay_outputs_quarantine(&p->out, q, err);
}

static void on_gap(void *ctx, int64_t from, int64_t to)
{
    pipeline *p = ctx;
    if (p->sum && !p->sum->windows_skipped) {
        p->sum->gap_from = assay_window_start(&p->e.win, from);
        p->sum->gap_to = assay_window_start(&p->e.win, to);
    }
    if (p->sum)
        p->sum->windows_skipped += (uint64_t)(to - from);
}

/* ---------------------------------------------------------------------------------
 * Chunks out and back
 * ------------------------------------------------------------------------------- */

/* --row-scores lines of a folded chunk, in order. */
static int write_row_scores(pipeline *p, const chunk_msg *m, assay_error *err)
{
    FILE *f = p->o->row_scores;
    if (!f)
        return 0;
    char buf[1 << 14];
    size_t len = 0;
    for (uint32_t i = 0; i < m->nscores; i++) {
        if (len > sizeof(buf) - 40) {
            if (fwrite(buf, 1, len, f) != len)
                goto fail;
            len = 0;
        }
        len = (size_t)(assay_put_u64(buf + len, ++p->rows_written) - buf);
        buf[len++] = ',';
        if (!isnan(m->scores[i]))
            len += assay_put_score(buf + len, m->scores[i]);
        buf[len++] = '\n';
    }
    if (len && fwrite(buf, 1, len, f) != len)
        goto fail;
    return 0;
fail:
    return assay_error_set(err, errno ? -errno : -EIO,
                           "cannot write the row scores (--row-scores): %s",
                           strerror(errno ? errno : EIO));
}

/* Fold the oldest chunk in flight: wait for it, or (wait false) only if it is back.
 * Returns 1 when one was folded, 0 when none is (back), negative on error. */
static int fold_one(pipeline *p, bool wait, assay_error *err)
{
    if (p->returned == p->dispatched)
        return 0;
    size_t slot = p->returned % p->fcap;
    assay_ring *ring = &p->e.shards[p->fifo_shard[slot]].out;
    chunk_msg *m = wait ? assay_ring_pop_wait(ring) : assay_ring_pop(ring);
    if (!m)
        return 0;
    p->returned++;
    int rc = 0;
    if (m->error)
        rc =
            assay_error_set(err, m->error, "shard %u failed on chunk %llu: %s", p->fifo_shard[slot],
                            (unsigned long long)m->chunk.seq, strerror(-m->error));
    double t0 = assay_mono_seconds();
    if (rc == 0)
        rc = assay_agg_fold(&p->agg, m, err);
    p->last_fold_at = assay_mono_seconds();
    p->merge_seconds += p->last_fold_at - t0;
    if (rc == 0)
        rc = write_row_scores(p, m, err);
    p->src->ops->release(p->src, &m->chunk);
    p->used[m - p->msgs] = false;
    return rc < 0 ? rc : 1;
}

static int drain(pipeline *p, assay_error *err)
{
    while (p->returned < p->dispatched) {
        int rc = fold_one(p, true, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int dispatch(pipeline *p, const assay_chunk *ch, size_t start, uint32_t header_lines)
{
    size_t mi = 0;
    while (mi < p->nmsgs && p->used[mi])
        mi++;
    assay_assert(mi < p->nmsgs);
    chunk_msg *m = &p->msgs[mi];
    p->used[mi] = true;
    m->chunk = *ch;
    m->start = start;
    m->header_lines = header_lines;
    m->stop = m->drain = false;
    /* a Kafka partition is owned by one shard; file chunks go round robin unless the
     * forests need them by virtual partition */
    unsigned k = p->e.win.per_part || p->e.an_d ? assay_chunk_vpart(&p->e.win, ch) % p->e.nshards
                                                : (unsigned)(p->dispatched % p->e.nshards);
    p->fifo_shard[p->dispatched % p->fcap] = k;
    p->dispatched++;
    assay_ring_push_wait(&p->e.shards[k].in, m);
    return 0;
}

/* The next chunk from the source, timed as the read stage; a rebalance seen on the way
 * updates the aggregator's parts (each assigned partition holds the watermark). */
static int next_chunk(pipeline *p, assay_chunk *ch, int timeout_ms, assay_error *err)
{
    double t0 = assay_mono_seconds();
    int rc = p->src->ops->next(p->src, ch, timeout_ms, err);
    double t1 = assay_mono_seconds();
    p->read_seconds += t1 - t0;
    if (rc == 0 && p->first_chunk_at == 0) {
        p->first_chunk_at = t1;
        p->rows_before = p->agg.rows;
    }
    if (p->src->ops->parts && p->src->parts_gen != p->parts_gen && p->agg_ready) {
        uint32_t parts[1024];
        size_t n = p->src->ops->parts(p->src, parts, 1024);
        p->parts_gen = p->src->parts_gen;
        assay_agg_sync_parts(&p->agg, parts, n < 1024 ? n : 1024, assay_wall_us());
    }
    return rc;
}

/* ---------------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------------- */

static int setup_engine(pipeline *p, const assay_engine_options *o, assay_error *err)
{
    const assay_config *cfg = o->cfg;
    assay_engine *e = &p->e;
    e->opt = o;
    e->cfg = cfg;
    e->batch_rows = o->batch_rows ? o->batch_rows : 4096;
    e->profile = o->profile;
    e->duplicate_rows = o->duplicate_rows && !p->windowed;
    e->exact_keys = o->exact_keys && !p->windowed && o->profile;
    e->hll_p = 16;
    e->max_samples = cfg->limits.samples;
    e->row_scores = o->row_scores != NULL;
    e->now_us = o->now_us;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    e->nshards = o->threads ? o->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    if (e->nshards > 256)
        e->nshards = 256;
    e->win.global = !p->windowed;
    if (p->windowed) {
        e->win.event_time = cfg->event_time != NULL;
        e->win.size_us = cfg->window.size_us;
        e->win.slide_us = cfg->window.slide_us ? cfg->window.slide_us : cfg->window.size_us;
        e->win.lateness_us = cfg->window.lateness_us;
        e->win.idle_us = cfg->window.idle_us;
    }
    return assay_window_spec_check(&e->win, cfg->path, err);
}

/* source.kafka (assay run without files): a consumer in the group; rows are NDJSON
 * messages with the declared columns; each partition has its own watermark. */
/* The config names a Kafka topic and no files or memory input replace it. */
static bool reads_kafka(const assay_engine_options *o)
{
    return o->cfg->source.kafka_topic && !o->mem && o->npaths == 0;
}

static int open_kafka(pipeline *p, const assay_checkpoint_info *ck, assay_error *err)
{
    const assay_engine_options *o = p->o;
    const assay_config *cfg = o->cfg;
    assay_engine *e = &p->e;
    bool csv = cfg->source.format == ASSAY_FORMAT_CSV;
    e->format = csv ? ASSAY_FORMAT_CSV : ASSAY_FORMAT_NDJSON;
    e->win.per_part = true;
    assay_engine_parser_options(e);
    /* an empty message is a row: a poison pill, quarantined */
    e->nj.skip_blank = false;
    e->csv.keep_blank = true;
    e->csv.comment = e->nj.comment = 0; /* a message is a row: never a comment line */
    e->csv.header = false; /* a message is one record: the columns come from `columns:` */
    e->messages = true;
    assay_reader_options_default(&p->ro);
    p->ro.nbuffers = ASSAY_MAX(8u, 3 * e->nshards + 2);
    e->chunk_bytes = o->chunk_bytes ? o->chunk_bytes : 1u << 20;
    const char **props = calloc(2 * cfg->nkafka + 1, sizeof(char *));
    if (!props)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->nkafka; i++) {
        props[2 * i] = cfg->kafka_keys[i];
        props[2 * i + 1] = cfg->kafka_values[i];
    }
    assay_kafka_source_options ko = {
        .topic = cfg->source.kafka_topic,
        .group = cfg->source.kafka_group,
        .start = o->from_beginning ? "earliest" : cfg->source.kafka_start,
        .props = props,
        .nprops = cfg->nkafka,
        .chunk_bytes = e->chunk_bytes,
        .max_out = p->ro.nbuffers,
        .max_row_bytes = cfg->limits.max_row_bytes,
        .csv_quote = csv ? e->csv.quote : 0,
        .start_seq = ck->found ? ck->position.seq : 0,
        .resume = ck->found ? ck->resume : NULL,
        .nresume = ck->found ? ck->nresume : 0,
        .notice = o->notice,
        .notice_ctx = o->notice_ctx,
    };
    int rc = assay_source_kafka(&p->src, &ko, err);
    free(props);
    return rc;
}

static int open_source(pipeline *p, const assay_checkpoint_info *ck, assay_error *err)
{
    const assay_engine_options *o = p->o;
    const assay_config *cfg = o->cfg;
    assay_engine *e = &p->e;
    const assay_source_position *resume = ck->found ? &ck->position : NULL;
    static const char *const mem_name[] = { "(memory)" };
    if (p->windowed && reads_kafka(o))
        return open_kafka(p, ck, err);
    if (o->mem) {
        p->paths = mem_name;
        p->npaths = 1;
    } else if (o->npaths == 0) {
        if (!cfg->source.file)
            return assay_error_set(err, -EINVAL,
                                   cfg->source.kafka_topic
                                       ? "no input: source.kafka is read by `assay run`; give "
                                         "FILE... to check files against %s"
                                       : "no input: give FILE... on the command line or "
                                         "source.file in %s",
                                   cfg->path ? cfg->path : "the config");
        p->paths = (const char *const *)&cfg->source.file;
        p->npaths = 1;
    } else {
        p->paths = o->paths;
        p->npaths = o->npaths;
    }
    e->paths = p->paths;
    e->npaths = p->npaths;
    e->format = assay_engine_detect_format(o, p->paths[0]);
    assay_engine_parser_options(e);

    assay_reader_options_default(&p->ro);
    p->ro.buffer_size = o->chunk_bytes            ? o->chunk_bytes
                        : cfg->limits.read_buffer ? cfg->limits.read_buffer
                                                  : p->ro.buffer_size;
    e->chunk_bytes = p->ro.buffer_size;
    p->ro.max_row_bytes = cfg->limits.max_row_bytes;
    p->ro.nbuffers = ASSAY_MAX(p->ro.nbuffers, 3 * e->nshards + 2);
    p->ro.row_end =
        e->format == ASSAY_FORMAT_CSV ? assay_engine_csv_row_end : assay_engine_ndjson_row_end;
    p->ro.row_end_ctx = &e->csv;
    if (o->mem)
        return assay_source_memory(&p->src, o->mem, o->mem_len, p->ro.buffer_size, p->ro.nbuffers,
                                   p->ro.row_end, p->ro.row_end_ctx, err);
    bool follow = p->windowed && cfg->source.follow && o->npaths == 0;
    if (follow)
        return assay_source_follow(&p->src, p->paths[0], &p->ro, resume, err);
    bool stream = p->windowed && p->npaths == 1 && strcmp(p->paths[0], "-") == 0;
    return assay_source_files(&p->src, p->paths, p->npaths, &p->ro, resume, stream, err);
}

/* A file's first chunk: refuse UTF-16, lone-CR line ends and a JSON array with a
 * message that says how to convert them (src/parse/sniff.c). Messages of a Kafka
 * source are rows of their own, not files. */
static int sniff_chunk(const assay_engine *e, const assay_chunk *ch, const char *name,
                       assay_error *err)
{
    if (e->messages || !ch->first_in_file)
        return 0;
    return assay_sniff_input(ch->data, ch->len, e->format == ASSAY_FORMAT_NDJSON, e->csv.quote,
                             name, err);
}

/* The schema from the first chunk with data (of `src`); *first holds it (still out)
 * when *have is set. */
static int first_chunk(pipeline *p, assay_source *src, assay_chunk *first, bool *have,
                       assay_error *err)
{
    int nrc;
    *have = false;
    for (;;) {
        nrc = src->ops->next(src, first, 10, err);
        if (nrc == -ETIMEDOUT)
            continue;
        if (nrc != 0)
            break;
        if (first->len > 0) {
            *have = true;
            break;
        }
        src->ops->release(src, first);
    }
    if (nrc < 0)
        return nrc;
    const char *name = src->names[*have ? first->file : 0];
    int rc;
    if (*have && (rc = sniff_chunk(&p->e, first, name, err)) < 0) {
        src->ops->release(src, first);
        *have = false;
        return rc;
    }
    if (*have && first->oversized) {
        src->ops->release(src, first);
        *have = false;
        return assay_error_set(err, -EINVAL,
                               "%s:1: first row is longer than limits.max_row_bytes (%llu); raise "
                               "the limit or check the delimiter and quote settings",
                               name, (unsigned long long)p->o->cfg->limits.max_row_bytes);
    }
    assay_chunk empty = { 0 };
    size_t start = 0;
    rc = assay_engine_schema(&p->e, *have ? first : &empty, name, &start, err);
    if (rc < 0) {
        if (*have)
            src->ops->release(src, first);
        *have = false;
        return rc;
    }
    p->first_start = start;
    if (start > 0 && p->e.format == ASSAY_FORMAT_CSV) {
        p->header = malloc(start);
        if (!p->header)
            return assay_error_set(err, -ENOMEM, "out of memory");
        memcpy(p->header, first->data, start);
        p->header_len = start;
    }
    return 0;
}

/* A shard's batch memory is rows x columns (typed vectors, text views, bitmaps:
 * about 40 bytes a cell), so a wide input gets shorter batches: at most 2^20 cells,
 * about 40 MiB per shard whatever the width, down to 8 rows (262,144 columns at 8 rows
 * would still take 80 MiB; limits.max_fields keeps inputs far below that by default). */
#define BATCH_CELLS (1u << 20)

static int start_shards(pipeline *p, assay_error *err)
{
    assay_engine *e = &p->e;
    if (!e->opt->batch_rows && e->sch.ncols > 0 && e->batch_rows * e->sch.ncols > BATCH_CELLS)
        e->batch_rows = ASSAY_MAX(8u, (BATCH_CELLS / e->sch.ncols) & ~7u);
    p->nmsgs = p->ro.nbuffers;
    p->fcap = p->nmsgs + 1;
    p->msgs = calloc(p->nmsgs, sizeof(chunk_msg));
    p->used = calloc(p->nmsgs, sizeof(bool));
    p->fifo_shard = calloc(p->fcap, sizeof(unsigned));
    p->stops = calloc(e->nshards, sizeof(chunk_msg));
    e->shards = calloc(e->nshards, sizeof(assay_shard));
    if (!p->msgs || !p->used || !p->fifo_shard || !p->stops || !e->shards)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (unsigned k = 0; k < e->nshards; k++) {
        int rc = assay_shard_init(e, &e->shards[k], k);
        if (rc < 0)
            return assay_error_set(err, rc, "cannot set up shard %u: out of memory", k);
    }
    return 0;
}

static int launch_shards(pipeline *p, assay_error *err)
{
    assay_engine *e = &p->e;
    for (unsigned k = 0; k < e->nshards; k++) {
        if (pthread_create(&e->shards[k].thread, NULL, assay_shard_main, &e->shards[k]) != 0)
            return assay_error_set(err, -EAGAIN, "cannot start shard thread %u", k);
        p->started++;
    }
    return 0;
}

static void join_shards(pipeline *p)
{
    assay_engine *e = &p->e;
    for (unsigned k = 0; k < p->started; k++) {
        p->stops[k].stop = true;
        assay_ring_push_wait(&e->shards[k].in, &p->stops[k]);
    }
    for (unsigned k = 0; k < p->started; k++) {
        /* the stop message comes back after anything still queued */
        while (assay_ring_pop_wait(&e->shards[k].out) != &p->stops[k])
            ;
        pthread_join(e->shards[k].thread, NULL);
    }
    p->started = 0;
}

static void pipeline_free(pipeline *p)
{
    if (p->started)
        join_shards(p);
    if (p->agg_ready)
        assay_agg_free(&p->agg);
    if (p->alerter_ready)
        assay_alerter_free(&p->alerter);
    for (size_t i = 0; p->msgs && i < p->nmsgs; i++)
        assay_chunk_msg_free(&p->e, &p->msgs[i]);
    free(p->msgs);
    free(p->used);
    free(p->fifo_shard);
    free(p->stops);
    free(p->header);
    assay_sink_marks_free(&p->marks);
    assay_outputs_close(&p->out);
    assay_engine_free(&p->e);
    assay_source_close(p->src);
    assay_result_free(p->global);
}

/* ---------------------------------------------------------------------------------
 * Checkpoints
 * ------------------------------------------------------------------------------- */

static int checkpoint(pipeline *p, assay_error *err)
{
    const assay_config *cfg = p->o->cfg;
    if (!cfg->state.dir || !p->windowed)
        return 0;
    double t0 = assay_mono_seconds();
    int rc = drain(p, err);
    if (rc == 0)
        rc = assay_outputs_flush(&p->out, true, err);
    if (rc == 0)
        rc = assay_outputs_mark(&p->out, &p->marks, err);
    if (rc == 0)
        rc = assay_checkpoint_write(cfg->state.dir, &p->e, &p->agg, &p->ident, &p->marks, err);
    if (rc == 0 && p->agg.next_seq) {
        rc = p->src->ops->done(p->src, p->agg.next_seq - 1, err);
        if (rc == 1) {
            /* not committed now (OffsetCommit failed): the checkpoint holds the positions
             * and the next checkpoint commits them */
            p->commit_failures++;
            if (p->o->notice && p->commit_failures == 1)
                p->o->notice(p->o->notice_ctx, err->msg);
            rc = 0;
        } else if (rc == 0 && p->commit_failures) {
            if (p->o->notice)
                p->o->notice(p->o->notice_ctx, "kafka: offsets committed again");
            p->commit_failures = 0;
        }
    }
    p->last_checkpoint = assay_mono_seconds();
    p->checkpointed = p->checkpointed || rc == 0;
    if (rc == 0 && p->sum) {
        p->sum->checkpoints++;
        p->sum->checkpoint_seconds += p->last_checkpoint - t0;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/checkpoint.bin", cfg->state.dir);
        if (stat(path, &st) == 0 && (uint64_t)st.st_size > p->sum->checkpoint_bytes)
            p->sum->checkpoint_bytes = (uint64_t)st.st_size;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------
 * The pass
 * ------------------------------------------------------------------------------- */

/* Let the watermark follow the clock when the source is quiet (window.idle), or
 * always with arrival-time windows once nothing is in flight. */
static int tick(pipeline *p, assay_error *err)
{
    const assay_window_spec *w = &p->e.win;
    if (w->global || p->returned != p->dispatched)
        return 0;
    int64_t now = assay_wall_us();
    /* per-part streams: every assigned partition silent for idle (none assigned yet -
     * the group still forming - is not silence) */
    bool quiet = w->idle_us > 0 && (w->per_part ? assay_agg_all_idle(&p->agg, now)
                                                : now - p->last_data_us >= w->idle_us);
    if (!w->event_time || quiet)
        return assay_agg_advance(&p->agg, now, err);
    return 0;
}

static bool stop_requested(const pipeline *p)
{
    return p->o->stop && *p->o->stop;
}

static int run_loop(pipeline *p, assay_chunk *first, bool have_first, assay_error *err)
{
    const assay_engine_options *o = p->o;
    const assay_config *cfg = o->cfg;
    double last_progress = assay_mono_seconds();
    bool use_first = have_first;
    uint32_t first_file = have_first ? first->file : 0;
    int timeout = p->windowed ? 100 : -1;
    double interval = cfg->state.interval_us / 1e6;
    for (;;) {
        if (stop_requested(p)) {
            if (p->sum)
                p->sum->stopped = true;
            return 0;
        }
        if (o->on_poll) {
            double now = assay_mono_seconds();
            if (now - p->last_poll >= 0.02) {
                p->last_poll = now;
                o->on_poll(o->on_window_ctx, (assay_engine_hand *)p);
            }
        }
        if (cfg->state.dir && p->windowed &&
            assay_mono_seconds() - p->last_checkpoint >= interval) {
            int rc = checkpoint(p, err);
            if (rc < 0)
                return rc;
        }
        int rc;
        while ((rc = fold_one(p, false, err)) > 0)
            ;
        if (rc < 0)
            return rc;
        assay_chunk ch;
        int nrc;
        if (use_first) {
            ch = *first;
            use_first = false;
            nrc = 0;
        } else {
            /* with chunks at the shards, do not sleep a whole timeout on a quiet source:
             * their windows could close (and alert) only when it ends */
            nrc =
                next_chunk(p, &ch, p->windowed && p->dispatched != p->returned ? 1 : timeout, err);
        }
        if (nrc == -EAGAIN) {
            if (p->dispatched == p->returned)
                return assay_error_set(err, -EIO, "source has no free buffer and none is out");
            if ((rc = fold_one(p, true, err)) < 0)
                return rc;
            continue;
        }
        if (nrc == -ETIMEDOUT) {
            if ((rc = drain(p, err)) < 0 || (rc = tick(p, err)) < 0 ||
                (rc = assay_outputs_flush(&p->out, false, err)) < 0)
                return rc;
            continue;
        }
        if (nrc == 1)
            return 1;
        if (nrc < 0)
            return nrc;
        p->last_data_us = ch.arrival_us;
        if (ch.len == 0 && !ch.oversized) {
            p->src->ops->release(p->src, &ch);
            continue;
        }
        size_t start = 0;
        uint32_t header_lines = 0;
        if (ch.first_in_file && !(have_first && ch.seq == first->seq) &&
            (rc = sniff_chunk(&p->e, &ch, p->src->names[ch.file], err)) < 0) {
            p->src->ops->release(p->src, &ch);
            return rc;
        }
        if (ch.first_in_file && !ch.oversized) {
            if (have_first && ch.seq == first->seq) {
                start = p->first_start;
                header_lines = assay_count_newlines(ch.data, start);
            } else if ((rc = assay_engine_check_header(&p->e, &ch, p->src->names[ch.file],
                                                       p->src->names[first_file], &start,
                                                       &header_lines, err)) < 0) {
                p->src->ops->release(p->src, &ch);
                return rc;
            }
        }
        dispatch(p, &ch, start, header_lines);
        if (o->progress) {
            double t = assay_mono_seconds();
            if (t - last_progress >= 0.25) {
                last_progress = t;
                assay_source_stats st;
                p->src->ops->stats(p->src, &st);
                o->progress(o->progress_ctx, st.bytes_read, st.bytes_total,
                            p->e.avg_row_bytes > 0
                                ? (uint64_t)((double)st.bytes_read / p->e.avg_row_bytes)
                                : 0);
            }
        }
    }
}

/* A Kafka sink's queue is full (a broker away, a slow topic): stop fetching until it
 * has room, so memory stays bounded instead of growing with the backlog. */
static void on_stall(void *ctx, bool stalled)
{
    pipeline *p = ctx;
    if (stalled == p->stalled)
        return;
    p->stalled = stalled;
    if (stalled) {
        p->src->ops->pause(p->src);
        if (p->sum)
            p->sum->stalls++;
    } else {
        p->src->ops->resume(p->src);
    }
    if (p->o->notice)
        p->o->notice(p->o->notice_ctx,
                     stalled ? "kafka: the producer is waiting for a broker (its queue is "
                               "full, or a checkpoint waits for acknowledgements); input "
                               "paused until it drains"
                             : "kafka: the producer caught up; input resumed");
}

/* Common to check and run: source, schema, rules, outputs, shards, aggregator. */
static int pipeline_open(pipeline *p, const assay_engine_options *o, bool windowed,
                         assay_chunk *first, bool *have_first, assay_error *err)
{
    memset(p, 0, sizeof(*p));
    p->o = o;
    p->windowed = windowed;
    int rc;
    if ((rc = setup_engine(p, o, err)) < 0)
        return rc;
    const assay_config *cfg = o->cfg;
    bool want_resume = windowed && cfg->state.dir && !o->mem && !o->from_beginning;
    assay_checkpoint_info ck = { 0 };
    if (want_resume) {
        rc = assay_checkpoint_peek(cfg->state.dir, &ck, err);
        if (rc < 0)
            return rc;
    }
    rc = open_source(p, &ck, err);
    assay_checkpoint_info_free(&ck);
    if (rc < 0)
        return rc;
    if (p->e.messages) {
        /* the schema is the declared columns (config validation makes sure of them) */
        assay_chunk empty = { 0 };
        size_t start = 0;
        if ((rc = assay_engine_schema(&p->e, &empty, cfg->source.kafka_topic, &start, err)) < 0)
            return rc;
        *have_first = false;
        p->resumed = ck.found;
    } else if (ck.found) {
        /* the schema comes from the head of the input, as it did for the first run */
        assay_source *head = NULL;
        assay_chunk hc;
        bool have = false;
        if ((rc = assay_source_files(&head, p->paths, p->npaths, &p->ro, NULL, false, err)) < 0)
            return rc;
        rc = first_chunk(p, head, &hc, &have, err);
        if (have)
            head->ops->release(head, &hc);
        assay_source_close(head);
        if (rc < 0)
            return rc;
        *have_first = false;
        p->resumed = true;
    } else if ((rc = first_chunk(p, p->src, first, have_first, err)) < 0) {
        return rc;
    }
    if (!windowed && p->e.avg_row_bytes > 0) {
        assay_source_stats st;
        p->src->ops->stats(p->src, &st);
        p->e.est_rows = (uint64_t)((double)st.bytes_total / p->e.avg_row_bytes);
    }
    if ((rc = assay_engine_compile(&p->e, err)) < 0 ||
        (rc = assay_outputs_open(&p->out, cfg, err)) < 0)
        return rc;
    p->e.route = assay_outputs_route(&p->out);
    if (p->out.kafka)
        assay_kafka_producer_set_stall(p->out.kafka, on_stall, p);
    if ((rc = start_shards(p, err)) < 0)
        return rc;
    assay_agg_hooks h = {
        .ctx = p, .window = on_window, .clean = on_clean, .quarantine = on_quarantine, .gap = on_gap
    };
    if ((rc = assay_agg_init(&p->agg, &p->e, &h)) < 0)
        return assay_error_set(err, rc, "out of memory");
    p->agg_ready = true;
    if ((rc = assay_alerter_init(&p->alerter, cfg, windowed, err)) < 0)
        return rc;
    p->alerter_ready = true;
    p->agg.alerter = &p->alerter;
    if (!o->mem && p->npaths && windowed)
        assay_checkpoint_identify(p->paths, p->npaths, &p->ident);
    if (ck.found) {
        rc = assay_checkpoint_load(cfg->state.dir, &p->e, &p->agg, &p->ident, &p->marks, err);
        /* what the sinks got after the checkpoint is produced again by the replay:
         * cut it off (with any record a crash tore), so each record lands once */
        uint32_t appended = 0;
        char name[256] = "";
        if (rc == 0)
            rc = assay_outputs_rewind(&p->out, &p->marks, &appended, name, sizeof(name), err);
        if (rc < 0)
            return rc;
        if (appended && o->notice) {
            char msg[512];
            snprintf(msg, sizeof(msg),
                     "%s%s was replaced or shortened since the checkpoint: appending to it, so "
                     "records written after the checkpoint may appear twice across the old and "
                     "the new file",
                     name, appended > 1 ? " (and other sinks)" : "");
            o->notice(o->notice_ctx, msg);
        }
    }
    p->last_checkpoint = assay_mono_seconds();
    p->last_data_us = assay_wall_us();
    return launch_shards(p, err);
}

/* ---------------------------------------------------------------------------------
 * The hand the HTTP surface gets through on_poll
 * ------------------------------------------------------------------------------- */

void assay_engine_live(assay_engine_hand *h, assay_run_live *out)
{
    pipeline *p = &h->p;
    memset(out, 0, sizeof(*out));
    out->rows = p->agg.rows;
    out->bytes = p->agg.bytes;
    out->bad_rows = p->agg.nbad;
    out->clean_rows = p->out.clean_rows;
    out->quarantined_rows = p->out.quarantined_rows;
    out->score_records = p->out.score_records;
    out->alert_records = p->out.alert_records;
    if (p->sum) {
        out->late_rows = p->sum->late_rows;
        out->windows = p->sum->windows;
        out->alerts_fired = p->sum->alerts_fired;
        out->alerts_resolved = p->sum->alerts_resolved;
        out->alerts_acked = p->sum->alerts_acked;
        out->checkpoints = p->sum->checkpoints;
        out->stalls = p->sum->stalls;
    }
    out->sink_errors = assay_outputs_errors(&p->out);
    out->checkpoint_age = p->checkpointed ? assay_mono_seconds() - p->last_checkpoint : -1;
    out->paused = p->stalled;
    out->watermark = p->agg.started ? p->agg.wm : INT64_MIN;
    if (p->src->ops->parts) {
        uint32_t parts[1];
        out->source_ready = p->src->ops->parts(p->src, parts, 1) > 0;
    } else {
        out->source_ready = true;
    }
    if (p->src->ops->lag)
        out->nlag = p->src->ops->lag(p->src, out->lag, ASSAY_LIVE_PARTS);
}

int assay_engine_ack(assay_engine_hand *h, const char *id, const char *by, assay_error *err)
{
    pipeline *p = &h->p;
    int rc = assay_alerter_ack(&p->alerter, id, by, on_alert, p, err);
    if (rc == 0)
        rc = assay_outputs_flush_records(&p->out, err) < 0 ? -EIO : 0;
    return rc;
}

int assay_engine_resolve(assay_engine_hand *h, const char *id, const char *by, assay_error *err)
{
    pipeline *p = &h->p;
    int rc = assay_alerter_resolve(&p->alerter, id, by, on_alert, p, err);
    if (rc == 0)
        rc = assay_outputs_flush_records(&p->out, err) < 0 ? -EIO : 0;
    return rc;
}

int assay_engine_check(const assay_engine_options *o, assay_result **out, assay_error *err)
{
    pipeline p;
    assay_chunk first;
    bool have_first = false;
    double t0 = assay_mono_seconds();
    *out = NULL;
    int rc = pipeline_open(&p, o, false, &first, &have_first, err);
    if (rc == 0) {
        rc = run_loop(&p, &first, have_first, err);
        have_first = false;
        if (rc >= 0)
            rc = drain(&p, err);
    }
    if (have_first)
        p.src->ops->release(p.src, &first);
    if (rc >= 0) {
        double t = assay_mono_seconds();
        rc = assay_agg_finish(&p.agg, err);
        p.merge_seconds += assay_mono_seconds() - t;
    }
    if (rc >= 0)
        rc = assay_outputs_flush(&p.out, false, err);
    if (p.started)
        join_shards(&p);
    if (rc >= 0 && !p.global)
        rc = assay_error_set(err, -EIO, "the run ended without a result");
    if (rc < 0) {
        pipeline_free(&p);
        return rc;
    }
    assay_result *res = p.global;
    p.global = NULL;
    assay_source_stats st;
    p.src->ops->stats(p.src, &st);
    res->format = p.e.format;
    res->threads = p.e.nshards;
    res->io_uring = st.io_uring;
    res->simd = assay_simd_name(assay_cpu_level());
    res->bytes = p.agg.bytes;
    res->nfiles = p.npaths;
    res->files = calloc(p.npaths ? p.npaths : 1, sizeof(char *));
    for (size_t i = 0; res->files && i < p.npaths; i++)
        res->files[i] = strdup(p.paths[i]);
    for (unsigned k = 0; k < p.e.nshards; k++) {
        for (int s = 0; s < ASSAY_STAGE_COUNT; s++)
            res->stage_seconds[s] += p.e.shards[k].stage[s];
        res->comment_lines += p.e.shards[k].comment_lines;
    }
    res->comment_lines += p.e.header_comments;
    res->stage_seconds[ASSAY_STAGE_READ] = p.read_seconds;
    res->stage_seconds[ASSAY_STAGE_MERGE] = p.merge_seconds;
    res->seconds = assay_mono_seconds() - t0;
    if (o->progress)
        o->progress(o->progress_ctx, res->bytes, res->bytes, res->rows);
    pipeline_free(&p);
    *out = res;
    return 0;
}

int assay_engine_run(const assay_engine_options *o, assay_run_summary *sum, assay_error *err)
{
    pipeline p;
    assay_chunk first;
    bool have_first = false;
    double t0 = assay_mono_seconds();
    memset(sum, 0, sizeof(*sum));
    /* one run per state.dir; a Kafka run waits for it as a standby (src/state/lock.c) */
    int lock_fd = -1;
    if (o->cfg->state.dir) {
        int lr = assay_state_lock(o->cfg->state.dir, reads_kafka(o), o->stop, o->notice,
                                  o->notice_ctx, &lock_fd, err);
        if (lr < 0)
            return lr;
        if (lr == 1) {
            sum->stopped = true;
            return 0;
        }
    }
    int rc = pipeline_open(&p, o, true, &first, &have_first, err);
    p.sum = sum;
    sum->resumed = p.resumed;
    bool at_end = false;
    /* a fresh start is a checkpoint too: the sinks are marked where they stand, so a
     * crash before the first interval cuts them back instead of leaving rows that the
     * restart (from the beginning) writes again */
    if (rc == 0 && o->cfg->state.dir && !p.resumed)
        rc = checkpoint(&p, err);
    if (rc == 0) {
        rc = run_loop(&p, &first, have_first, err);
        have_first = false;
        at_end = rc == 1;
        if (rc >= 0)
            rc = drain(&p, err);
    }
    if (have_first)
        p.src->ops->release(p.src, &first);
    if (rc >= 0 && at_end)
        rc = assay_agg_finish(&p.agg, err);
    if (rc >= 0)
        rc = o->cfg->state.dir ? checkpoint(&p, err) : assay_outputs_flush(&p.out, false, err);
    if (rc >= 0) {
        sum->rows = p.agg.rows;
        sum->rows_read = p.agg.rows - p.rows_before;
        sum->bytes = p.agg.bytes;
        sum->bad_rows = p.agg.nbad;
        sum->clean_rows = p.out.clean_rows;
        sum->quarantined_rows = p.out.quarantined_rows;
        sum->windows_open = assay_agg_open_windows(&p.agg);
        sum->seconds = assay_mono_seconds() - t0;
        if (p.first_chunk_at > 0 && p.last_fold_at > p.first_chunk_at)
            sum->active_seconds = p.last_fold_at - p.first_chunk_at;
        sum->alert_latency_p50 = assay_latency_quantile(&p.latency, 0.50);
        sum->alert_latency_p99 = assay_latency_quantile(&p.latency, 0.99);
        sum->alert_latency_max = p.latency.max;
    }
    if (rc >= 0)
        assay_outputs_health(&p.out, true, o->notice, o->notice_ctx);
    pipeline_free(&p);
    if (lock_fd >= 0)
        close(lock_fd); /* after the last checkpoint: a standby may take over now */
    return rc < 0 ? rc : 0;
}

void assay_result_free(assay_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->files && i < r->nfiles; i++)
        free(r->files[i]);
    free(r->files);
    for (size_t i = 0; r->bad_samples && i < r->nbad_samples; i++)
        free(r->bad_samples[i].text);
    free(r->bad_samples);
    for (size_t i = 0; r->rules && i < r->nrules; i++) {
        for (size_t k = 0; k < r->rules[i].nsamples; k++)
            free(r->rules[i].samples[k].value);
        free(r->rules[i].samples);
        free(r->rules[i].note);
        assay_rule_config *oc = r->rules[i].own_cfg;
        if (oc) {
            free(oc->name);
            free(oc->expr);
            for (size_t v = 0; oc->values && v < 2; v++)
                free(oc->values[v]);
            free(oc->values);
            free(oc);
        }
    }
    free(r->rules);
    for (size_t i = 0; r->columns && i < r->ncolumns; i++)
        assay_column_result_free(&r->columns[i]);
    free(r->columns);
    assay_anomaly_result_free(&r->anomaly);
    for (size_t i = 0; i < r->nnew_columns; i++)
        free(r->new_columns[i].name);
    free(r->duplicate_note);
    for (size_t i = 0; i < r->nalerts; i++)
        assay_alert_clear(&r->alerts[i]);
    free(r->alerts);
    free(r);
}

int assay_result_status(const assay_result *r)
{
    for (size_t i = 0; i < r->nalerts; i++)
        if (r->alerts[i].kind == ASSAY_ALERT_CONTRACT)
            return 1; /* a violated contract fails the data like a breach */
    return (r->breached > 0 || r->bad_rows > 0) ? 1 : 0;
}
