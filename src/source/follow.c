/*
 * follow.c - `source.follow: true`: a file that grows, like `tail -F`.
 *
 * The file is read with plain read(2) (io_uring buys nothing for a file that is read
 * as it is written) into a pool of buffers; each chunk is the whole rows read so far,
 * and an incomplete last row - the writer may be in the middle of it - stays behind as
 * the carry until its line end arrives. At the end of what has been written, next()
 * checks the path: a different inode means the file was rotated (renamed away and
 * recreated): the old file is finished (a trailing row without a line end goes out as
 * it is) and the new one is read from its start; a size below what was read means it
 * was truncated, and it is read again from its start. Otherwise next() waits (up to its
 * timeout, polling every 50 ms) and reports -ETIMEDOUT, so the pipeline can close
 * windows by the clock while the file is quiet.
 *
 * A row longer than max_row_bytes goes out as an oversized chunk (its first
 * max_row_bytes bytes; the rest up to the next line end is dropped and counted), as
 * the reader does for ordinary files.
 *
 * Position: the byte offset after the last row handed out; a resume opens the file
 * and seeks there.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assay/source.h"
#include "core/clock.h"

#define POLL_MS 50

typedef struct fbuf {
    char *mem;
    bool out;
} fbuf;

typedef struct follow_source {
    assay_source base;
    char *path;
    const char *names[1];
    assay_reader_options o;
    int fd;
    uint64_t ino, dev;
    uint64_t off;     /* file offset of the first byte not yet in a chunk or the carry */
    uint64_t row_off; /* file offset of carry[0] */
    char *carry;      /* bytes of an incomplete row */
    size_t carry_len, carry_cap;
    bool at_start; /* the next chunk is the file's first */
    bool skipping; /* dropping the rest of an oversized row */
    uint64_t skipped;
    uint64_t seq;
    fbuf *bufs;
    unsigned nbufs;
    uint64_t bytes_read;
    char *scratch; /* read buffer */
} follow_source;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int open_file(follow_source *f, uint64_t at, assay_error *err)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return assay_error_set(err, -errno, "%s: %s", f->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return assay_error_set(err, -EINVAL, "%s: follow needs a regular file", f->path);
    }
    if (at > (uint64_t)st.st_size) {
        close(fd);
        return assay_error_set(err, -ERANGE,
                               "%s: cannot resume at byte %llu: the file is shorter than that "
                               "(replaced or truncated?)",
                               f->path, (unsigned long long)at);
    }
    if (at && lseek(fd, (off_t)at, SEEK_SET) < 0) {
        int en = errno;
        close(fd);
        return assay_error_set(err, -en, "%s: %s", f->path, strerror(en));
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = fd;
    f->ino = (uint64_t)st.st_ino;
    f->dev = (uint64_t)st.st_dev;
    f->off = f->row_off = at;
    f->carry_len = 0;
    f->at_start = at == 0;
    f->skipping = false;
    return 0;
}

static int carry_reserve(follow_source *f, size_t n)
{
    if (n <= f->carry_cap)
        return 0;
    size_t cap = ASSAY_MAX(n, 2 * f->carry_cap);
    char *p = realloc(f->carry, cap);
    if (!p)
        return -ENOMEM;
    f->carry = p;
    f->carry_cap = cap;
    return 0;
}

/* Read what is there now into the carry (at most one buffer's worth). Returns bytes
 * read, 0 at the current end, negative on error. */
static ssize_t read_more(follow_source *f, assay_error *err)
{
    size_t want = f->o.buffer_size;
    if (carry_reserve(f, f->carry_len + want) < 0)
        return assay_error_set(err, -ENOMEM, "out of memory");
    for (;;) {
        ssize_t n = read(f->fd, f->carry + f->carry_len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return assay_error_set(err, -errno, "%s: %s", f->path, strerror(errno));
        if (n > 0) {
            if (f->at_start && f->off == 0 && f->carry_len == 0 && n >= 3 &&
                memcmp(f->carry, "\xEF\xBB\xBF", 3) == 0) {
                memmove(f->carry, f->carry + 3, (size_t)n - 3); /* a UTF-8 byte order mark */
                f->off = (uint64_t)n;
                f->row_off = 3;
                f->carry_len += (size_t)n - 3;
                f->bytes_read += (uint64_t)n;
                return n;
            }
            f->carry_len += (size_t)n;
            f->off += (uint64_t)n;
            f->bytes_read += (uint64_t)n;
        }
        return n;
    }
}

/* Hand out carry[0, len) as a chunk; keep the rest as the carry. */
static int emit(follow_source *f, assay_chunk *out, size_t len, bool oversized)
{
    unsigned b = 0;
    while (b < f->nbufs && f->bufs[b].out)
        b++;
    if (b == f->nbufs)
        return -EAGAIN;
    fbuf *x = &f->bufs[b];
    if (!x->mem && !(x->mem = malloc(f->o.buffer_size + f->o.max_row_bytes + 1)))
        return -ENOMEM;
    size_t cap = f->o.buffer_size + f->o.max_row_bytes;
    size_t n = len < cap ? len : cap;
    memcpy(x->mem, f->carry, n);
    x->out = true;
    memset(out, 0, sizeof(*out));
    out->data = x->mem;
    out->len = n;
    out->seq = f->seq++;
    out->file = 0;
    out->offset = f->row_off;
    out->first_in_file = f->at_start;
    out->oversized = oversized;
    out->arrival_us = assay_wall_us();
    out->priv = (void *)(uintptr_t)(b + 1);
    f->at_start = false;
    memmove(f->carry, f->carry + len, f->carry_len - len);
    f->carry_len -= len;
    f->row_off += len;
    return 0;
}

static int follow_next(assay_source *s, assay_chunk *out, int timeout_ms, assay_error *err)
{
    follow_source *f = (follow_source *)s;
    int waited = 0;
    for (;;) {
        bool any_free = false;
        for (unsigned b = 0; b < f->nbufs; b++)
            any_free |= !f->bufs[b].out;
        if (!any_free)
            return -EAGAIN;
        ssize_t got = read_more(f, err);
        if (got < 0)
            return (int)got;
        if (f->skipping) {
            char *nl = memchr(f->carry, '\n', f->carry_len);
            size_t drop = nl ? (size_t)(nl + 1 - f->carry) : f->carry_len;
            memmove(f->carry, f->carry + drop, f->carry_len - drop);
            f->carry_len -= drop;
            f->row_off += drop;
            f->skipped += drop;
            if (!nl)
                goto wait;
            f->skipping = false;
        }
        if (f->carry_len > 0) {
            size_t e = f->o.row_end(f->o.row_end_ctx, f->carry, f->carry_len);
            if (e > f->carry_len)
                e = f->carry_len;
            if (e > 0)
                return emit(f, out, e, false);
            if (f->carry_len > f->o.max_row_bytes) {
                /* an oversized row: its first max_row_bytes go out, the rest is dropped */
                int rc = emit(f, out, f->o.max_row_bytes, true);
                if (rc == 0) {
                    f->skipping = true;
                    out->skipped = 0;
                }
                return rc;
            }
        }
        if (got > 0)
            continue; /* more may be there */
        /* at the end of what has been written: rotated, truncated, or quiet? */
        struct stat st;
        if (stat(f->path, &st) == 0 &&
            ((uint64_t)st.st_ino != f->ino || (uint64_t)st.st_dev != f->dev)) {
            /* rotated: finish the old file (drain it, then its last row), open the new */
            if ((got = read_more(f, err)) < 0)
                return (int)got;
            if (got > 0)
                continue;
            if (f->carry_len > 0 && !f->skipping)
                return emit(f, out, f->carry_len, false);
            int rc = open_file(f, 0, err);
            if (rc < 0)
                return rc;
            continue;
        }
        struct stat fst;
        if (fstat(f->fd, &fst) == 0 && (uint64_t)fst.st_size < f->off) {
            int rc = open_file(f, 0, err); /* truncated: read it again from the start */
            if (rc < 0)
                return rc;
            continue;
        }
    wait:
        if (timeout_ms >= 0 && waited >= timeout_ms)
            return -ETIMEDOUT;
        int step = timeout_ms < 0 ? POLL_MS : ASSAY_MIN(POLL_MS, timeout_ms - waited);
        sleep_ms(step > 0 ? step : 1);
        waited += step;
    }
}

static void follow_release(assay_source *s, const assay_chunk *c)
{
    follow_source *f = (follow_source *)s;
    if (c && c->priv)
        f->bufs[(uintptr_t)c->priv - 1].out = false;
}

static int follow_done(assay_source *s, uint64_t seq, assay_error *err)
{
    (void)s, (void)seq, (void)err;
    return 0;
}

static void follow_nop(assay_source *s)
{
    (void)s;
}

static void follow_stats(const assay_source *s, assay_source_stats *out)
{
    const follow_source *f = (const follow_source *)s;
    out->bytes_read = f->bytes_read;
    out->bytes_total = 0;
    out->io_uring = false;
}

static void follow_close(assay_source *s)
{
    follow_source *f = (follow_source *)s;
    if (f->fd >= 0)
        close(f->fd);
    for (unsigned b = 0; f->bufs && b < f->nbufs; b++)
        free(f->bufs[b].mem);
    free(f->bufs);
    free(f->carry);
    free(f->path);
    free(f);
}

static const assay_source_ops follow_ops = {
    .name = "follow",
    .next = follow_next,
    .release = follow_release,
    .done = follow_done,
    .pause = follow_nop,
    .resume = follow_nop,
    .stats = follow_stats,
    .close = follow_close,
};

int assay_source_follow(assay_source **out, const char *path, const assay_reader_options *ro,
                        const assay_source_position *resume, assay_error *err)
{
    *out = NULL;
    follow_source *f = calloc(1, sizeof(*f));
    if (!f)
        return assay_error_set(err, -ENOMEM, "out of memory");
    f->base.ops = &follow_ops;
    f->base.ordered = true;
    f->fd = -1;
    f->o = *ro;
    if (!f->o.buffer_size)
        f->o.buffer_size = 4u << 20;
    if (!f->o.max_row_bytes)
        f->o.max_row_bytes = 1u << 20;
    f->nbufs = f->o.nbuffers ? f->o.nbuffers : 16;
    f->path = strdup(path);
    f->bufs = calloc(f->nbufs, sizeof(fbuf));
    if (!f->path || !f->bufs) {
        follow_close(&f->base);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    f->names[0] = f->path;
    f->base.names = f->names;
    f->base.nnames = 1;
    uint64_t at = resume ? resume->offset : 0;
    f->seq = resume ? resume->seq : 0;
    int rc = open_file(f, at, err);
    if (rc < 0) {
        follow_close(&f->base);
        return rc;
    }
    *out = &f->base;
    return 0;
}
