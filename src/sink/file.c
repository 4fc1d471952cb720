/*
 * file.c - file and stdout sinks. Records are appended (O_APPEND, so several writers
 * and `tail -f` see whole records) through a 1 MiB buffer: JSON records end with a
 * newline, FlatBuffers records are written as they come (each carries its own 4-byte
 * size prefix), raw bytes (clean rows) as given. flush(durable) writes the buffer and,
 * for a file, fdatasync()s it: that is what a checkpoint waits for before it records
 * the rows as delivered.
 *
 * At a checkpoint a file sink is marked with its device, inode and length; a restart
 * from that checkpoint truncates the file back to that length before the replay, so
 * a record written after the checkpoint - or torn by a crash in the middle of a
 * write() - is not left behind to be followed by its replay. The file sink is the
 * run's own: another writer's appends after the checkpoint would be cut as well.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assay/sink.h"

#define BUF_CAP (1u << 20)

typedef struct file_sink {
    assay_sink base;
    int fd;
    bool is_stdout;
    char *buf;
    size_t len;
} file_sink;

static int write_all(file_sink *f, const char *p, size_t n, assay_error *err)
{
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            return assay_error_set(err, -e, "%s: cannot write: %s", f->base.name, strerror(e));
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int drain(file_sink *f, assay_error *err)
{
    int rc = write_all(f, f->buf, f->len, err);
    f->len = 0;
    return rc;
}

static int fs_write(assay_sink *s, const assay_sink_meta *m, const void *p, size_t len,
                    assay_error *err)
{
    (void)m; /* files keep records in order; keys live inside them */
    file_sink *f = (file_sink *)s;
    bool nl = s->format == ASSAY_SINK_JSON;
    size_t need = len + nl;
    int rc;
    if (f->len + need > BUF_CAP && (rc = drain(f, err)) < 0)
        return rc;
    if (need > BUF_CAP) {
        if ((rc = write_all(f, p, len, err)) < 0 || (nl && (rc = write_all(f, "\n", 1, err)) < 0))
            return rc;
    } else {
        memcpy(f->buf + f->len, p, len);
        f->len += len;
        if (nl)
            f->buf[f->len++] = '\n';
    }
    s->records++;
    s->bytes += need;
    return 0;
}

static int fs_poll(assay_sink *s, assay_error *err)
{
    (void)s, (void)err;
    return 0;
}

static int fs_flush(assay_sink *s, bool durable, assay_error *err)
{
    file_sink *f = (file_sink *)s;
    int rc = drain(f, err);
    if (rc < 0)
        return rc;
    if (durable && !f->is_stdout && fdatasync(f->fd) < 0) {
        int e = errno;
        return assay_error_set(err, -e, "%s: cannot sync: %s", s->name, strerror(e));
    }
    return 0;
}

static int fs_mark(assay_sink *s, assay_sink_mark *out, assay_error *err)
{
    file_sink *f = (file_sink *)s;
    struct stat st;
    if (f->len > 0)
        return assay_error_set(err, -EINVAL, "%s: marked with unwritten bytes", s->name);
    if (fstat(f->fd, &st) < 0) {
        int e = errno;
        return assay_error_set(err, -e, "%s: cannot stat: %s", s->name, strerror(e));
    }
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    return 0;
}

static int fs_rewind(assay_sink *s, const assay_sink_mark *m, assay_error *err)
{
    file_sink *f = (file_sink *)s;
    struct stat st;
    if (fstat(f->fd, &st) < 0) {
        int e = errno;
        return assay_error_set(err, -e, "%s: cannot stat: %s", s->name, strerror(e));
    }
    if ((uint64_t)st.st_dev != m->dev || (uint64_t)st.st_ino != m->ino ||
        (uint64_t)st.st_size < m->size)
        return 0;
    if ((uint64_t)st.st_size > m->size && ftruncate(f->fd, (off_t)m->size) < 0) {
        int e = errno;
        return assay_error_set(err, -e, "%s: cannot cut back to the checkpoint's %llu bytes: %s",
                               s->name, (unsigned long long)m->size, strerror(e));
    }
    s->fresh = m->size == 0;
    return 1;
}

static void fs_close(assay_sink *s)
{
    file_sink *f = (file_sink *)s;
    if (f->fd >= 0 && !f->is_stdout)
        close(f->fd);
    free(f->buf);
    free(s->name);
    free(f);
}

static const assay_sink_ops file_ops = {
    .name = "file",
    .write = fs_write,
    .poll = fs_poll,
    .flush = fs_flush,
    .mark = fs_mark,
    .rewind = fs_rewind,
    .close = fs_close,
};

static const assay_sink_ops stdout_ops = {
    .name = "stdout",
    .write = fs_write,
    .poll = fs_poll,
    .flush = fs_flush,
    .close = fs_close,
};

static int open_sink(assay_sink **out, const char *path, int fd, assay_sink_format fmt,
                     assay_error *err)
{
    *out = NULL;
    file_sink *f = calloc(1, sizeof(*f));
    if (!f || !(f->buf = malloc(BUF_CAP)) || !(f->base.name = strdup(path ? path : "stdout"))) {
        if (f)
            free(f->buf);
        free(f);
        if (fd >= 0 && path)
            close(fd);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    f->base.ops = path ? &file_ops : &stdout_ops;
    f->base.format = fmt;
    f->fd = fd;
    f->is_stdout = path == NULL;
    struct stat st;
    f->base.fresh = f->is_stdout || (fstat(fd, &st) == 0 && st.st_size == 0);
    *out = &f->base;
    return 0;
}

int assay_sink_file(assay_sink **out, const char *path, assay_sink_format f, assay_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        *out = NULL;
        return assay_error_set(err, -e, "%s: cannot open for writing: %s", path, strerror(e));
    }
    return open_sink(out, path, fd, f, err);
}

int assay_sink_stdout(assay_sink **out, assay_sink_format f, assay_error *err)
{
    return open_sink(out, NULL, STDOUT_FILENO, f, err);
}
