/*
 * memory.c - the memory source (assay bench without FILE): one buffer cut into chunks
 * of about `chunk` bytes on row boundaries, exactly as the reader cuts a file, so the
 * pipeline does the same work without disk or page cache in the measurement.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/source.h"
#include "core/clock.h"

typedef struct mem_source {
    assay_source base;
    const char *mem;
    size_t len, pos, chunk;
    uint64_t seq;
    unsigned out, max_out; /* chunks handed out and not yet released */
    assay_row_end_fn row_end;
    void *row_end_ctx;
} mem_source;

static const char *const mem_names[] = { "(memory)" };

static int mem_next(assay_source *s, assay_chunk *c, int timeout_ms, assay_error *err)
{
    (void)timeout_ms, (void)err;
    mem_source *m = (mem_source *)s;
    if (m->pos >= m->len)
        return 1;
    if (m->out >= m->max_out)
        return -EAGAIN;
    size_t rest = m->len - m->pos, len = rest;
    if (rest > m->chunk) {
        len = m->row_end(m->row_end_ctx, m->mem + m->pos, m->chunk);
        if (len == 0) /* a row longer than a chunk: take up to its end */
            len = ASSAY_MAX(m->row_end(m->row_end_ctx, m->mem + m->pos, rest), rest);
    }
    memset(c, 0, sizeof(*c));
    c->data = m->mem + m->pos;
    c->len = len;
    c->seq = m->seq++;
    c->offset = m->pos;
    c->first_in_file = m->pos == 0;
    m->pos += len;
    c->last_in_file = m->pos >= m->len;
    c->arrival_us = assay_wall_us();
    m->out++;
    return 0;
}

static void mem_release(assay_source *s, const assay_chunk *c)
{
    (void)c;
    ((mem_source *)s)->out--;
}

static int mem_done(assay_source *s, uint64_t seq, assay_error *err)
{
    (void)s, (void)seq, (void)err;
    return 0;
}

static void mem_nop(assay_source *s)
{
    (void)s;
}

static void mem_stats(const assay_source *s, assay_source_stats *out)
{
    const mem_source *m = (const mem_source *)s;
    out->bytes_read = m->pos;
    out->bytes_total = m->len;
    out->io_uring = false;
}

static void mem_close(assay_source *s)
{
    free(s);
}

static const assay_source_ops mem_ops = {
    .name = "memory",
    .next = mem_next,
    .release = mem_release,
    .done = mem_done,
    .pause = mem_nop,
    .resume = mem_nop,
    .stats = mem_stats,
    .close = mem_close,
};

int assay_source_memory(assay_source **out, const char *mem, size_t len, size_t chunk,
                        unsigned max_out, assay_row_end_fn row_end, void *row_end_ctx,
                        assay_error *err)
{
    mem_source *m = calloc(1, sizeof(*m));
    *out = NULL;
    if (!m)
        return assay_error_set(err, -ENOMEM, "out of memory");
    m->base.ops = &mem_ops;
    m->base.names = mem_names;
    m->base.nnames = 1;
    m->base.ordered = true;
    m->mem = mem;
    m->len = len;
    m->chunk = chunk ? chunk : (4u << 20);
    m->max_out = max_out ? max_out : 16;
    m->row_end = row_end;
    m->row_end_ctx = row_end_ctx;
    *out = &m->base;
    return 0;
}
