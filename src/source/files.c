/*
 * files.c - the file source: files in order (and "-" for stdin) through assay_reader,
 * which reads them in large io_uring or read(2) reads and cuts chunks of whole rows.
 * Every chunk is stamped with the wall clock when it is handed out (its rows' arrival
 * time, used when there is no event_time column). With `stream`, a pipe's rows go out
 * as soon as they are complete, and next() waits at most its timeout for input, so the
 * pipeline can close windows by the clock while a stream is quiet.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/source.h"
#include "core/clock.h"

typedef struct files_source {
    assay_source base;
    assay_reader *rd;
    char **names;
    size_t n;
    bool stream;
} files_source;

static int files_next(assay_source *s, assay_chunk *out, int timeout_ms, assay_error *err)
{
    files_source *f = (files_source *)s;
    if (f->stream && assay_reader_wait(f->rd, timeout_ms) == 0)
        return -ETIMEDOUT;
    int rc = assay_reader_next(f->rd, out, err);
    if (rc == 0)
        out->arrival_us = assay_wall_us();
    return rc;
}

static void files_release(assay_source *s, const assay_chunk *c)
{
    assay_reader_release(((files_source *)s)->rd, c);
}

static int files_done(assay_source *s, uint64_t seq, assay_error *err)
{
    (void)s, (void)seq, (void)err; /* the checkpoint holds the position */
    return 0;
}

static void files_nop(assay_source *s)
{
    (void)s; /* read on demand: not reading is pausing */
}

static void files_stats(const assay_source *s, assay_source_stats *out)
{
    const files_source *f = (const files_source *)s;
    out->bytes_read = assay_reader_bytes_read(f->rd);
    out->bytes_total = assay_reader_bytes_total(f->rd);
    out->io_uring = assay_reader_uses_io_uring(f->rd);
}

static void files_close(assay_source *s)
{
    files_source *f = (files_source *)s;
    assay_reader_close(f->rd);
    for (size_t i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f);
}

static const assay_source_ops files_ops = {
    .name = "file",
    .next = files_next,
    .release = files_release,
    .done = files_done,
    .pause = files_nop,
    .resume = files_nop,
    .stats = files_stats,
    .close = files_close,
};

int assay_source_files(assay_source **out, const char *const *paths, size_t npaths,
                       const assay_reader_options *ro, const assay_source_position *resume,
                       bool stream, assay_error *err)
{
    *out = NULL;
    files_source *f = calloc(1, sizeof(*f));
    if (!f || !(f->names = calloc(npaths ? npaths : 1, sizeof(char *)))) {
        free(f);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    f->base.ops = &files_ops;
    f->base.ordered = true;
    f->stream = stream;
    for (size_t i = 0; i < npaths; i++) {
        if (!(f->names[i] = strdup(paths[i]))) {
            f->n = i;
            files_close(&f->base);
            return assay_error_set(err, -ENOMEM, "out of memory");
        }
    }
    f->n = npaths;
    f->base.names = (const char *const *)f->names;
    f->base.nnames = npaths;
    assay_reader_options o = *ro;
    o.stream = stream;
    if (resume) {
        o.start_file = resume->part;
        o.start_offset = resume->offset;
        o.start_seq = resume->seq;
    }
    int rc = assay_reader_open(&f->rd, paths, npaths, &o, err);
    if (rc < 0) {
        files_close(&f->base);
        return rc;
    }
    *out = &f->base;
    return 0;
}
