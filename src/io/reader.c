/*
 * reader.c - file input in large chunks that end on row boundaries, read through
 * io_uring with a plain read(2) fallback.
 *
 * What it does
 * ------------
 * The engine wants its input as chunks of whole rows, a few MiB each, so that a shard
 * can frame and parse a chunk without looking at its neighbours. The files themselves
 * are read in large sequential reads of `buffer_size` bytes (4 MiB by default) into a
 * fixed pool of `nbuffers` buffers. A read ends wherever it ends, usually in the middle
 * of a row; the format's row_end() callback finds the last row end in a buffer, the
 * whole rows in front of it become a chunk, and the partial row behind it (the
 * "carry") is copied in front of the next buffer's data. Only that tail is copied,
 * never the whole buffer: every buffer has `headroom` bytes in front of its data area,
 * at least max_row_bytes, which is the most a carry can ever hold (see "Rows that are
 * too long" below). So a chunk is
 *
 *        headroom                   data area (one read, buffer_size bytes)
 *   +------------------+-------------------------------------------------------+
 *   |       | carry    | rows ...............................  |  next carry   |
 *   +------------------+-------------------------------------------------------+
 *           ^ chunk.data                                         ^ row_end()
 *           |<----------------------- chunk.len ---------------->|
 *
 * and chunk.offset is the byte offset of chunk.data[0] in its file (the carry's
 * offset, i.e. the buffer's read offset minus the carry length).
 *
 * Chunks never span two files. A buffer is filled until it is full or read() reports
 * end of file (short reads are continued at the new offset, on both paths), so the
 * way a file is cut into chunks depends only on its bytes, buffer_size, max_row_bytes
 * and row_end(), never on timing or on the I/O path: io_uring and read(2) produce
 * identical chunk sequences, which the tests check.
 *
 * Per file:
 *   - A UTF-8 byte order mark (EF BB BF) at offset 0 is dropped; the first chunk then
 *     has offset 3 (offset is always the true byte offset in the file).
 *   - first_in_file is set on the file's first chunk, last_in_file on its last one.
 *     At end of file the remaining bytes (whole rows plus a last row without '\n', or
 *     a row cut short by an unterminated quote) go out together as the last chunk.
 *   - An empty file (or one holding only a BOM) produces exactly one zero-length chunk
 *     with both flags set, so the engine learns about every file it was given.
 *   - When a buffer ends exactly at a row end and the file ends exactly there too, the
 *     reader only learns about the end of file from the next read (which returns 0),
 *     after the previous chunk has gone out. It then emits a zero-length chunk with
 *     last_in_file set. Consumers must accept zero-length chunks; their data pointer
 *     is valid (a static empty string) and their priv is NULL.
 *
 * Rows that are too long
 * ----------------------
 * When the bytes from the current row start to the end of what has been read hold no
 * row end and are more than max_row_bytes long, the row is oversized: the reader
 * emits a chunk with oversized=true holding its first max_row_bytes bytes, then
 * discards input up to and including the next '\n' after that point (a plain newline,
 * whatever the format's quoting says: an unterminated quote must not swallow the rest
 * of the file), counts the dropped bytes in chunk.skipped, and carries on from the
 * byte after that '\n' with the row_end() state reset. The oversized chunk is handed
 * out once the '\n' (or end of file) has been found, so `skipped` is exact; its buffer
 * stays with the reader meanwhile. Concatenating, per file, every chunk's data
 * followed by `skipped` dropped bytes gives back the file (minus its BOM). Because a
 * carry never grows beyond max_row_bytes, the headroom never overflows.
 *
 * The limit is applied to the rows the reader has to carry, i.e. to the partial row
 * at the end of what has been read (and to a file's last row): the reader does not
 * look for row starts inside a chunk, so a long row that ends inside one buffer goes
 * out in an ordinary chunk and the framer's own row limit has to catch it.
 *
 * Buffer lifecycle
 * ----------------
 *   FREE --submit--> READING --complete--> READY (queued, in file order)
 *     ^                                      |  taken by next(); the previous
 *     |                                      v  buffer's carry copied in front
 *     +-- refs reach 0 <-- chunks out <-- CURRENT (carved into chunks)
 *
 * Each buffer has a reference count: one for every chunk of it that the consumer
 * holds, one while it is the reader's CURRENT buffer (or the source of a carry not yet
 * copied), one while it holds a pending oversized chunk. release() drops a chunk's
 * reference; at zero the buffer goes back to the free list. A buffer may yield several
 * chunks (rows, then an oversized row, then the rows after it). Reads are queued in
 * file order; next() takes the oldest queued buffer, waiting for its read if needed,
 * while later reads stay in flight: up to `depth` reads are kept in flight whenever
 * free buffers exist (prefetch), topped up from next() and release(). A chunk is
 * often being carved from one buffer while its successor is still being read into;
 * the carry is copied into the successor's headroom only when the successor is taken,
 * so the two never touch the same bytes at the same time.
 *
 * When next() needs a buffer and none is free (all are out with the consumer), it
 * returns -EAGAIN; the caller releases chunks and calls again. The reader itself never
 * holds more than two buffers apart from reads in flight (the current one and one with
 * a pending oversized chunk; or the current one and the carry source), so with
 * nbuffers >= 2 (enforced) a consumer that releases everything it holds always makes
 * progress.
 *
 * Memory bound: nbuffers * (buffer_size + headroom), headroom = max_row_bytes rounded
 * up to a 4 KiB page; with the defaults 16 * (4 MiB + 1 MiB) = 80 MiB (compressed
 * input adds its own buffers, see "Compressed files"). Nothing else grows with the
 * input.
 *
 * I/O paths
 * ---------
 * io_uring (Axboe, "Efficient IO with io_uring", kernel.dk/io_uring.pdf, 2019; the
 * liburing man pages io_uring_queue_init(3), io_uring_prep_read(3),
 * io_uring_register_buffers(3), io_uring_wait_cqe(3)): one ring with `depth` entries;
 * every regular file is read with IORING_OP_READ_FIXED (buffers registered once at
 * open; IORING_OP_READ when RLIMIT_MEMLOCK refuses that) at explicit offsets, buffer k
 * of a file at offset k*buffer_size.
 * Reads are submitted up to the size fstat() reported; the file's end is taken from
 * the reads themselves (a read returning 0), so a file that grows while it is read is
 * still read to its end. Only after a file's end has been seen does the cursor move on
 * to (open and prefetch) the next file. Every completion is checked: a negative res is
 * an error for that buffer (reported when the consumer reaches it, naming the file;
 * -EINTR and -EAGAIN are retried), a short read is continued from the new offset, 0 is
 * end of file. Before the ring is torn down all reads in flight are waited for, since
 * the kernel may still write into the buffers.
 *
 * read(2): used for stdin ("-") and other non-regular files (pipes, FIFOs, character
 * devices) always, and for everything when io_uring_queue_init() fails (ENOSYS on old
 * kernels, EPERM under seccomp or kernel.io_uring_disabled, ENOMEM under a low
 * RLIMIT_MEMLOCK, ...), when ASSAY_NO_IO_URING is set to anything but "" or "0", or
 * when options.force_plain is set. A buffer is filled synchronously when next() needs
 * it: short reads are continued, EINTR retried, EAGAIN (a non-blocking stdin) waits in
 * poll(2).
 *
 * Errors: every path is stat()ed and checked for read access when the reader is
 * opened, so a missing file, a directory or an unreadable file fails at once
 * ("data/x.csv: No such file or directory"). Files are opened one at a time as the
 * reading reaches them; an error found then (or a read error) is returned by next()
 * in file order, after all chunks of the files before it, and is sticky.
 *
 * Measured (1 GiB CSV, 4 MiB buffers, a consumer that only touches each chunk; Debian
 * 12 VM, kernel 6.18, 2 shared cores, virtio disk): page-cached, io_uring depth 4
 * 3.8-4.3 GB/s and read(2) 3.7-4.1 GB/s. Registering the buffers mattered: with
 * plain IORING_OP_READ into untouched buffers io_uring managed 0.6-1.2 GB/s (page
 * faults in the read path push the reads to io-wq workers). After dropping the page
 * cache both paths gave 0.8-2.5 GB/s with large run-to-run variance; io_uring did
 * not beat the kernel's readahead behind read(2) on this machine.
 *
 * Resuming (options start_file / start_offset): the reader skips the files before
 * start_file and starts reading that file at the buffer-grid offset at or below
 * start_offset, dropping the bytes before start_offset. Since start_offset was a chunk
 * boundary of an earlier run, no row ends between it and the grid point above it, so
 * the bytes up there become the carry exactly as they did then: every later chunk is
 * the one the earlier run cut.
 *
 * Streams (option stream): a pipe or terminal is read until the buffer is full or no
 * more input is ready (poll with no wait), and assay_reader_wait() lets the caller
 * wait for input with a timeout instead of blocking in read().
 *
 * Compressed files
 * ----------------
 * A file whose first bytes are the gzip magic number (1F 8B, RFC 1952) or the zstd one
 * (28 B5 2F FD, RFC 8878) is decompressed while it is read; io/decompress.c has the
 * formats. The magic bytes decide, never the name: x.csv.gz holding plain text is read
 * as it is, gzip data named x.csv is decompressed (and the engine takes the format
 * from the name with .gz/.zst/.zstd stripped, engine/setup.c). Regular files are
 * sniffed with a 4-byte pread() when the cursor opens them; stdin and pipes by their
 * first read (reading on, blocking, while the bytes are a proper prefix of a magic
 * number, so a stream that starts with "(" waits for 4 bytes). Members of a gzip file
 * and frames of a zstd file are read one after another to the end: `cat a.gz b.gz`
 * reads as the concatenation of a and b.
 *
 * The compressed bytes go through the same I/O paths as plain files (io_uring reads at
 * explicit offsets, or read(2) for stdin, pipes and the fallback), but into NZBUF (3)
 * buffers of their own, bufs[nbufs .. nbufs + NZBUF), allocated and pre-faulted when
 * the first compressed file is opened (they are not registered with the ring: that
 * happens once, at open). While one is decoded, the other two are being read ahead
 * (as depth allows).
 * The decoder then fills the pool's buffers exactly as read() fills them for a plain
 * file, each to buffer_size bytes unless the decompressed stream ends there, so
 * everything after that is unchanged: row_end(), carries, oversized rows, the BOM
 * (of the decompressed stream), flags and the zero-length last chunk. A .gz or .zst
 * file gives exactly the chunks of the file it decompresses to, on both I/O paths.
 * Decoding runs on the consumer's thread inside next(), one output buffer at a time.
 *
 *   - chunk.offset (and so line numbers, positions in reports, checkpoints) counts
 *     bytes of the decompressed stream. bytes_read() and bytes_total() count the bytes
 *     on disk, so progress is the share of the compressed file read.
 *   - A decoding error (corrupt data, a bad CRC or checksum, bytes after the last
 *     member/frame that are not another one) and input that ends inside a member or
 *     frame (a truncated download) are errors (-EBADMSG) naming the file and the
 *     decompressed byte offset reached: "x.csv.gz: corrupt gzip data after 1234567
 *     decompressed bytes: invalid distance too far back" (the reason is zlib's or
 *     libzstd's; for zstd the offset is the end of the last block libzstd reported,
 *     see io/decompress.c). The whole rows decoded before it are handed out first;
 *     the error comes from the next call and is sticky. Where only the CRC (gzip)
 *     or the frame checksum (zstd) catches damage, the rows before the error may
 *     hold the damaged bytes: streaming cannot hold back a whole member; the run
 *     still fails.
 *   - Resuming at an offset of a compressed file decodes it from its start and drops
 *     the output up to the buffer-grid point at or below the offset, then goes on as
 *     for a plain file: the cost of a resume at byte N is decompressing N bytes (at a
 *     few hundred MB/s), and the resumed chunks are again those of the uninterrupted
 *     run. A resume point past the decompressed end is an error, like a plain file's.
 *   - While the consumer is in a compressed file, no pool buffers are read ahead for
 *     a later plain file (the zgate): the pool is what the decoder writes into, and a
 *     read-ahead that took every free buffer would leave it none.
 *   - Extra memory when a compressed file is read: NZBUF * buffer_size (12 MiB with
 *     the defaults) plus the decoder (zlib: about 45 KiB; libzstd: its window, up to
 *     8 MiB at the usual levels, at most 128 MiB, above which frames are refused).
 *   - Measured (`assay check -c RULES --no-profile` with one not_null rule over a
 *     1.0 GB `assay gen` orders CSV, page-cached, 2 shared and busy cores, best of 3,
 *     MB/s of decompressed data): plain 790, gzip -6 (310 MB) 240, zstd -3 (294 MB)
 *     910; `gzip -dc` and `zstd -dc` to /dev/null took 6.7 s and 1.2 s. Decoding is
 *     serial, on the reader's thread: a .gz runs at zlib's inflate speed.
 *
 * Single-threaded: next() and release() must be called from one thread. No global
 * state; the environment is read once in open().
 */
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "assay/reader.h"
#include "io/decompress.h"

#define DEFAULT_BUFFER_SIZE   (4u << 20)
#define DEFAULT_DEPTH         4u
#define DEFAULT_NBUFFERS      16u
#define DEFAULT_MAX_ROW_BYTES (1u << 20)
#define MIN_BUFFER_SIZE       (64u << 10)
#define MAX_BUFFER_SIZE       (1u << 30) /* one read(2) / IORING_OP_READ moves < 2 GiB */
#define MAX_ROW_LIMIT         ((size_t)1 << 30)
#define MAX_NBUFFERS          4096u
#define MAX_DEPTH             4096u
#define PAGE                  4096u
#define BOM_LEN               3u
#define NZBUF                 3u /* compressed-input buffers (see "Compressed files") */

/* ------------------------------------------------------------------------------------
 * State
 * ---------------------------------------------------------------------------------- */

typedef struct rbuf {
    char *mem;     /* allocation: headroom then data area */
    char *data;    /* mem + headroom: where reads land */
    size_t len;    /* bytes of data filled so far */
    uint64_t off;  /* file offset of data[0] */
    uint32_t file; /* index of the file this buffer was read from */
    unsigned refs; /* chunks out + reader's own holds; 0 = on the free list */
    int err;       /* negative errno of a failed read, 0 otherwise */
    bool inflight; /* an io_uring read into it has not completed yet */
    bool eof;      /* the read hit the end of its file (len may be < buffer_size) */
} rbuf;

typedef struct rfile {
    char *path;         /* copy of the caller's path; "-" is stdin */
    int fd;             /* -1 when not open */
    bool is_stdin;      /* fd 0, never closed by us */
    bool async;         /* read through io_uring (regular file and a ring exists) */
    unsigned inflight;  /* io_uring reads of this file not completed yet */
    bool cursor_passed; /* submission has moved on to later files */
    bool codec_known;   /* codec has been decided (regular files: when opened) */
    assay_codec codec;  /* compressed with this (magic bytes), or ASSAY_CODEC_NONE */
} rfile;

/* A pending oversized chunk: the first max_row_bytes bytes of a long row, handed out
 * once the end of the skipped part is known. Holds one reference on its buffer. */
typedef struct pending_chunk {
    int buf;
    const char *data;
    uint64_t offset;
    bool first;
} pending_chunk;

struct assay_reader {
    assay_reader_options o;
    size_t headroom;

    rfile *files;
    uint32_t nfiles;

    rbuf *bufs;
    unsigned nbufs;
    unsigned *free_stack; /* indexes of buffers with refs == 0 */
    unsigned nfree;
    unsigned *queue; /* buffers submitted/read, in file order, not yet taken */
    unsigned qhead, qlen;

    bool use_ring;
    bool fixed_bufs; /* the data areas are registered with the ring (READ_FIXED) */
    struct io_uring ring;
    unsigned inflight; /* io_uring reads in flight, all files */
    unsigned unsubmitted;

    /* Submission cursor: the file being read ahead and the next offset to read. */
    uint32_t sub_file;
    uint64_t sub_off;
    uint64_t sub_size; /* fstat size of sub_file when opened */
    bool sub_open;     /* sub_file has been opened (fd valid or sub_err set) */
    bool sub_eof;      /* a read of sub_file saw its end (or failed) */
    int sub_err;       /* opening sub_file failed: the code, message in sub_msg */
    char sub_msg[ASSAY_ERROR_MSG_MAX];

    /* Consumer side: the file being carved and the current buffer. */
    uint32_t cons_file;
    bool first_pending; /* next chunk of cons_file is its first */
    int cur;            /* current buffer or -1 */
    const char *pos, *end;
    uint64_t pos_off;      /* file offset of pos */
    bool tail_open;        /* [pos, end) is known to hold no row end */
    int carry_buf;         /* buffer holding the carry, -1 when none */
    const char *carry;     /* carry bytes (inside carry_buf) */
    size_t carry_len;      /* may be 0 with carry_buf >= 0 */
    bool skipping;         /* dropping bytes of an oversized row up to '\n' */
    uint64_t skip_count;   /* bytes dropped so far */
    pending_chunk pending; /* valid while skipping */
    uint64_t seq;
    bool resume_pending; /* the first buffer of start_file starts before start_offset */
    uint64_t resume_off;

    uint64_t bytes_read, bytes_total;

    /* Compressed input (see "Compressed files"): NZBUF more rbufs after the pool,
     * bufs[nbufs .. nbufs + NZBUF), allocated when the first compressed file opens. */
    bool zbufs_ready;
    unsigned zfree[NZBUF], nzfree;
    unsigned zqueue[NZBUF], zqhead, zqlen; /* compressed reads in file order */
    uint32_t zgate; /* 1 + the last compressed file the cursor opened (0: none) */
    assay_decoder *dec;
    uint32_t dec_file; /* the file dec decodes (UINT32_MAX: none) */
    int zin;           /* compressed buffer being decoded, -1 when none */
    const uint8_t *zin_pos;
    size_t zin_left;
    bool zin_last; /* zin is its file's last compressed buffer (its read saw the end) */
    bool zfull;    /* the last decode stopped at a full output buffer */
    uint64_t zout; /* decompressed bytes of dec_file so far */
    int zerr;      /* dec_file's error, reported after the rows decoded before it */
    char zmsg[ASSAY_ERROR_MSG_MAX];

    int fail_code; /* sticky error */
    char fail_msg[ASSAY_ERROR_MSG_MAX];
};

static const char empty_data[1] = "";

/* ------------------------------------------------------------------------------------
 * Small helpers
 * ---------------------------------------------------------------------------------- */

/* Name of a file for messages. */
static const char *file_name(const assay_reader *r, uint32_t i)
{
    return r->files[i].is_stdin ? "stdin" : r->files[i].path;
}

/* Record a sticky error and copy it to err. Returns code. */
static int fail(assay_reader *r, assay_error *err, int code, const char *msg)
{
    r->fail_code = code;
    snprintf(r->fail_msg, sizeof(r->fail_msg), "%s", msg);
    return assay_error_set(err, code, "%s", r->fail_msg);
}

/* Record "NAME: strerror(-code)" as the sticky error. Returns code. */
static int fail_file(assay_reader *r, assay_error *err, uint32_t file, int code)
{
    char msg[ASSAY_ERROR_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s: %s", file_name(r, file), strerror(-code));
    return fail(r, err, code, msg);
}

/* Drop one reference on buffer b; at zero it returns to the free list. */
static void unref(assay_reader *r, int b)
{
    rbuf *x = &r->bufs[b];
    assay_assert(x->refs > 0);
    if (--x->refs == 0)
        r->free_stack[r->nfree++] = (unsigned)b;
}

/* Pop a buffer off a free stack (the pool's or the compressed input's) and make it
 * fresh; -1 when the stack is empty. */
static int take_from(assay_reader *r, unsigned *stack, unsigned *n)
{
    if (*n == 0)
        return -1;
    int b = (int)stack[--*n];
    rbuf *x = &r->bufs[b];
    x->refs = 1;
    x->len = 0;
    x->err = 0;
    x->eof = false;
    x->inflight = false;
    return b;
}

/* Take a free buffer, or -1 when none is free. */
static int take_free(assay_reader *r)
{
    return take_from(r, r->free_stack, &r->nfree);
}

static void queue_push(assay_reader *r, unsigned b)
{
    r->queue[(r->qhead + r->qlen) % r->nbufs] = b;
    r->qlen++;
}

static unsigned queue_pop(assay_reader *r)
{
    unsigned b = r->queue[r->qhead];
    r->qhead = (r->qhead + 1) % r->nbufs;
    r->qlen--;
    return b;
}

/* Allocate the compressed-input buffers (once, when the first compressed file is
 * reached). They are not registered with the ring (registration happens once, at
 * open); their pages are faulted in here so that reads into them complete inline. */
static int zbufs_alloc(assay_reader *r)
{
    if (r->zbufs_ready)
        return 0;
    for (unsigned i = 0; i < NZBUF; i++) {
        rbuf *x = &r->bufs[r->nbufs + i];
        if (x->mem)
            continue;
        void *mem = NULL;
        if (posix_memalign(&mem, PAGE, r->o.buffer_size) != 0)
            return -ENOMEM;
        memset(mem, 0, r->o.buffer_size);
        x->mem = x->data = mem;
    }
    for (unsigned i = 0; i < NZBUF; i++)
        r->zfree[r->nzfree++] = r->nbufs + NZBUF - 1 - i;
    r->zbufs_ready = true;
    return 0;
}

/* Take a free compressed-input buffer, or -1 when none is free. */
static int ztake(assay_reader *r)
{
    return take_from(r, r->zfree, &r->nzfree);
}

static void zput(assay_reader *r, int b)
{
    r->bufs[b].refs = 0;
    r->zfree[r->nzfree++] = (unsigned)b;
}

static void zqueue_push(assay_reader *r, unsigned b)
{
    r->zqueue[(r->zqhead + r->zqlen) % NZBUF] = b;
    r->zqlen++;
}

static unsigned zqueue_pop(assay_reader *r)
{
    unsigned b = r->zqueue[r->zqhead];
    r->zqhead = (r->zqhead + 1) % NZBUF;
    r->zqlen--;
    return b;
}

/* Close file i's descriptor once nothing reads from it any more. */
static void maybe_close(assay_reader *r, uint32_t i)
{
    rfile *f = &r->files[i];
    if (f->fd >= 0 && f->cursor_passed && f->inflight == 0) {
        if (!f->is_stdin)
            close(f->fd);
        f->fd = -1;
    }
}

/* ------------------------------------------------------------------------------------
 * Submission cursor: opening files and reading ahead through io_uring
 * ---------------------------------------------------------------------------------- */

/* Open the cursor's file. Errors are stored in sub_err/sub_msg and reported by next()
 * when the consumer reaches this file. */
static void cursor_open(assay_reader *r)
{
    rfile *f = &r->files[r->sub_file];
    r->sub_open = true;
    r->sub_off = 0;
    r->sub_size = 0;
    r->sub_eof = false;
    int fd;
    if (f->is_stdin) {
        fd = STDIN_FILENO;
    } else {
        do
            fd = open(f->path, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            r->sub_err = -errno;
            snprintf(r->sub_msg, sizeof(r->sub_msg), "%s: %s", f->path, strerror(errno));
            return;
        }
    }
    struct stat st;
    int code = fstat(fd, &st) != 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
    if (code) {
        r->sub_err = code;
        snprintf(r->sub_msg, sizeof(r->sub_msg), "%s: %s", file_name(r, r->sub_file),
                 strerror(-code));
        if (!f->is_stdin)
            close(fd);
        return;
    }
    if (S_ISREG(st.st_mode) && !f->is_stdin && !f->codec_known) {
        /* The magic number decides, not the name (stdin, pipes: see sniff_stream). */
        uint8_t head[ASSAY_CODEC_SNIFF_LEN];
        ssize_t n;
        do
            n = pread(fd, head, sizeof(head), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            r->sub_err = -errno;
            snprintf(r->sub_msg, sizeof(r->sub_msg), "%s: %s", f->path, strerror(errno));
            close(fd);
            return;
        }
        f->codec = assay_codec_sniff(head, (size_t)n);
        f->codec_known = true;
    }
    if (f->codec != ASSAY_CODEC_NONE) {
        r->zgate = r->sub_file + 1;
        if (zbufs_alloc(r) < 0) {
            r->sub_err = -ENOMEM;
            snprintf(r->sub_msg, sizeof(r->sub_msg), "%s: out of memory for compressed input",
                     file_name(r, r->sub_file));
            f->codec = ASSAY_CODEC_NONE; /* the error is reported like any open error */
            if (!f->is_stdin)
                close(fd);
            return;
        }
    }
    f->fd = fd;
    f->async = r->use_ring && S_ISREG(st.st_mode) && !f->is_stdin;
    if (S_ISREG(st.st_mode)) {
        r->sub_size = (uint64_t)st.st_size;
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (r->resume_pending && r->sub_file == r->o.start_file) {
        /* A compressed file is read (and decoded) from its start; take_decoded drops
         * the output before the resume point. */
        bool z = f->codec != ASSAY_CODEC_NONE;
        uint64_t aligned = z ? 0 : r->resume_off / r->o.buffer_size * r->o.buffer_size;
        code = !S_ISREG(st.st_mode)                         ? -ESPIPE
               : !z && r->resume_off > (uint64_t)st.st_size ? -ERANGE
                                                            : 0;
        if (code == 0 && !f->async && lseek(fd, (off_t)aligned, SEEK_SET) < 0)
            code = -errno;
        if (code) {
            r->sub_err = code;
            snprintf(r->sub_msg, sizeof(r->sub_msg), "%s: cannot resume at byte %llu: %s",
                     file_name(r, r->sub_file), (unsigned long long)r->resume_off,
                     code == -ERANGE ? "the file is shorter than that (replaced or truncated?)"
                                     : strerror(-code));
            f->fd = -1;
            if (!f->is_stdin)
                close(fd);
            return;
        }
        r->sub_off = aligned;
    }
}

/* Move the cursor past its file (its end has been seen). */
static void cursor_advance(assay_reader *r)
{
    uint32_t i = r->sub_file;
    r->files[i].cursor_passed = true;
    maybe_close(r, i);
    r->sub_file++;
    r->sub_open = false;
    r->sub_eof = false;
}

/* Get an SQE, flushing the submission queue once if it is full. NULL only when the
 * kernel refuses submissions. */
static struct io_uring_sqe *get_sqe(assay_reader *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        int rc;
        do
            rc = io_uring_submit(&r->ring);
        while (rc == -EINTR);
        if (rc >= 0)
            r->unsubmitted = 0;
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

/* Queue an IORING_OP_READ for the unfilled rest of buffer b. Returns 0 or -errno. */
static int prep_read(assay_reader *r, int b)
{
    rbuf *x = &r->bufs[b];
    struct io_uring_sqe *sqe = get_sqe(r);
    if (!sqe)
        return -EBUSY;
    int fd = r->files[x->file].fd;
    unsigned len = (unsigned)(r->o.buffer_size - x->len);
    if (r->fixed_bufs && (unsigned)b < r->nbufs) /* compressed-input buffers are not */
        io_uring_prep_read_fixed(sqe, fd, x->data + x->len, len, x->off + x->len, b);
    else
        io_uring_prep_read(sqe, fd, x->data + x->len, len, x->off + x->len);
    io_uring_sqe_set_data(sqe, (void *)(uintptr_t)b);
    r->unsubmitted++;
    return 0;
}

/* Hand queued SQEs to the kernel. Returns 0 or -errno. */
static int flush_submissions(assay_reader *r)
{
    while (r->unsubmitted > 0) {
        int rc = io_uring_submit(&r->ring);
        if (rc == -EINTR || rc == -EAGAIN)
            continue;
        if (rc < 0)
            return rc;
        r->unsubmitted -= ASSAY_MIN((unsigned)rc, r->unsubmitted);
        if (rc == 0)
            break;
    }
    return 0;
}

/* Keep reads in flight: open files as the cursor reaches them and submit reads of
 * async files into free buffers while fewer than depth are in flight. Stops at a
 * non-regular (synchronously read) file until the consumer has read it to its end.
 * Returns 0 or a negative code when the ring refuses submissions. */
static int refill(assay_reader *r)
{
    while (r->sub_file < r->nfiles) {
        if (!r->sub_open)
            cursor_open(r);
        if (r->sub_err)
            break;
        rfile *f = &r->files[r->sub_file];
        if (r->sub_eof) {
            cursor_advance(r);
            continue;
        }
        if (!f->async)
            break;
        if (r->inflight >= r->o.depth)
            break;
        /* Past the size fstat() gave, read on only once the earlier reads are back:
         * one more read tells whether the file grew or ends here. */
        if (r->sub_off >= r->sub_size && f->inflight > 0)
            break;
        /* Compressed files are read into their own buffers. While the consumer has a
         * compressed file before the cursor, the pool is left to the decoder's output:
         * read-ahead of a later plain file could otherwise take every buffer. */
        bool z = f->codec != ASSAY_CODEC_NONE;
        int b = z ? ztake(r) : r->cons_file < r->zgate ? -1 : take_free(r);
        if (b < 0)
            break;
        rbuf *x = &r->bufs[b];
        x->file = r->sub_file;
        x->off = r->sub_off;
        x->inflight = true;
        int rc = prep_read(r, b);
        if (rc < 0) {
            x->inflight = false;
            if (z)
                zput(r, b);
            else
                unref(r, b);
            return rc;
        }
        if (z)
            zqueue_push(r, (unsigned)b);
        else
            queue_push(r, (unsigned)b);
        f->inflight++;
        r->inflight++;
        r->sub_off += r->o.buffer_size;
    }
    return flush_submissions(r);
}

/* Account a finished io_uring read of buffer b (full, end of file, or failed). */
static void read_done(assay_reader *r, int b)
{
    rbuf *x = &r->bufs[b];
    x->inflight = false;
    rfile *f = &r->files[x->file];
    f->inflight--;
    r->inflight--;
    if ((x->eof || x->err) && x->file == r->sub_file)
        r->sub_eof = true;
    maybe_close(r, x->file);
}

/* Handle one completion: finish the buffer's read or queue its continuation. A read
 * that cannot be continued fails the buffer. */
static void handle_cqe(assay_reader *r, const struct io_uring_cqe *cqe)
{
    int b = (int)(uintptr_t)io_uring_cqe_get_data(cqe);
    rbuf *x = &r->bufs[b];
    int res = cqe->res;
    if (res == -EINTR || res == -EAGAIN) {
        x->err = prep_read(r, b); /* retry the same read */
        if (x->err == 0)
            return;
    } else if (res < 0) {
        x->err = res;
    } else if (res == 0) {
        x->eof = true;
    } else {
        x->len += (size_t)res;
        r->bytes_read += (uint64_t)res;
        /* A short read: go on from the new offset. */
        if (x->len < r->o.buffer_size && (x->err = prep_read(r, b)) == 0)
            return;
    }
    read_done(r, b);
}

/* Reap every available completion, waiting for at least one when wait is set.
 * Returns 0 or -errno. */
static int reap(assay_reader *r, bool wait)
{
    struct io_uring_cqe *cqe;
    int rc;
    if (wait) {
        do
            rc = io_uring_wait_cqe(&r->ring, &cqe);
        while (rc == -EINTR);
        if (rc < 0)
            return rc;
    }
    while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
        handle_cqe(r, cqe);
        io_uring_cqe_seen(&r->ring, cqe);
    }
    return flush_submissions(r);
}

/* ------------------------------------------------------------------------------------
 * Synchronous reads (read(2))
 * ---------------------------------------------------------------------------------- */

/* Fill buffer b from fd until it is full, the file ends, or read() fails (a stream:
 * or no more input is ready once it holds min_len bytes). */
static void fill_sync(assay_reader *r, int b, int fd, size_t min_len)
{
    rbuf *x = &r->bufs[b];
    while (x->len < r->o.buffer_size) {
        if (r->o.stream && x->len >= min_len && x->len > 0) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (poll(&p, 1, 0) == 0)
                return; /* what arrived so far goes out now */
        }
        ssize_t n = read(fd, x->data + x->len, r->o.buffer_size - x->len);
        if (n > 0) {
            x->len += (size_t)n;
            r->bytes_read += (uint64_t)n;
        } else if (n == 0) {
            x->eof = true;
            return;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            (void)poll(&p, 1, -1); /* a non-blocking stdin: wait for data */
        } else {
            x->err = -errno;
            return;
        }
    }
}

/* ------------------------------------------------------------------------------------
 * Compressed files: decoding into the pool's buffers
 * ---------------------------------------------------------------------------------- */

/* Record dec_file's error (reported once the rows decoded before it are out). */
__attribute__((format(printf, 3, 4))) static void zfail(assay_reader *r, int code, const char *fmt,
                                                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->zmsg, sizeof(r->zmsg), fmt, ap);
    va_end(ap);
    r->zerr = code;
}

/* Make dec_file's error the reader's sticky error. Returns its code. */
static int report_zerr(assay_reader *r, assay_error *err)
{
    return fail(r, err, r->zerr, r->zmsg);
}

/* Give the compressed buffer being decoded back. */
static void zin_drop(assay_reader *r)
{
    if (r->zin >= 0)
        zput(r, r->zin);
    r->zin = -1;
    r->zin_left = 0;
    r->zin_last = false;
}

/* Start decoding file fi from its first byte. Returns 0 or a (sticky) error. */
static int decode_begin(assay_reader *r, uint32_t fi, assay_error *err)
{
    zin_drop(r);
    assay_decoder_close(r->dec);
    r->dec = NULL;
    r->dec_file = fi;
    r->zout = 0;
    r->zfull = false;
    r->zerr = 0;
    assay_error e = { 0 };
    int rc = assay_decoder_open(&r->dec, r->files[fi].codec, &e);
    if (rc < 0) {
        char msg[ASSAY_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s: %.200s", file_name(r, fi), e.msg);
        return fail(r, err, rc, msg);
    }
    return 0;
}

/* Make dec_file's next compressed buffer zin: the oldest queued read (io_uring), or
 * one read(2) fill. Returns 0 or the read's -errno. */
static int next_input(assay_reader *r)
{
    zin_drop(r);
    rfile *f = &r->files[r->dec_file];
    int b;
    if (f->async) {
        for (;;) {
            int rc;
            if (r->zqlen > 0) {
                unsigned head = r->zqueue[r->zqhead];
                while (r->bufs[head].inflight)
                    if ((rc = reap(r, true)) < 0)
                        return rc;
                b = (int)zqueue_pop(r);
                if (r->bufs[b].file < r->dec_file) {
                    zput(r, b); /* read past the end of an earlier file that shrank */
                    continue;
                }
                break;
            }
            /* Nothing queued: a buffer is free now (zin went back), so this submits
             * the next read unless the ring is at depth; then wait for a completion. */
            if ((rc = refill(r)) < 0)
                return rc;
            if (r->zqlen == 0) {
                if (r->inflight == 0)
                    return -EIO; /* not reached: the file's end was seen before */
                if ((rc = reap(r, true)) < 0)
                    return rc;
            }
        }
    } else {
        b = ztake(r);
        if (b < 0)
            return -EIO; /* not reached: a synchronous file uses one buffer at a time */
        rbuf *x = &r->bufs[b];
        x->file = r->dec_file;
        x->off = r->sub_off;
        fill_sync(r, b, f->fd, 1);
        r->sub_off += x->len;
        if (x->eof || x->err)
            r->sub_eof = true;
    }
    rbuf *x = &r->bufs[b];
    if (x->err) {
        int code = x->err;
        zput(r, b);
        return code;
    }
    r->zin = b;
    r->zin_pos = (const uint8_t *)x->data;
    r->zin_left = x->len;
    r->zin_last = x->eof;
    return 0;
}

/* Whether input is ready on fd without blocking. */
static bool input_ready(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) != 0;
}

/* Fill output buffer b (x->off = zout, empty) with decoded bytes until it is full or
 * the decoded stream ends (x->eof), exactly as a read fills a plain file's buffer, so
 * the chunks come out as those of the decompressed file. A decoding or read error,
 * or input that ends inside a member/frame, stops it early and is recorded in zerr;
 * what was decoded before stays in b. Streams hand out what they have once no more
 * input is ready. */
static void fill_decoded(assay_reader *r, int b)
{
    rbuf *x = &r->bufs[b];
    rfile *f = &r->files[x->file];
    const char *name = file_name(r, x->file), *codec = assay_codec_name(f->codec);
    const size_t cap = r->o.buffer_size;
    r->zfull = false;
    while (x->len < cap && !r->zerr) {
        size_t len0 = x->len, left0 = r->zin_left;
        assay_error e = { 0 };
        int rc = assay_decoder_step(r->dec, &r->zin_pos, &r->zin_left, x->data, cap, &x->len, &e);
        r->zout += x->len - len0;
        if (rc < 0) {
            zfail(r, rc, "%s: corrupt %s data after %llu decompressed bytes: %.300s", name, codec,
                  (unsigned long long)r->zout, e.msg);
            return;
        }
        if (x->len > len0 || r->zin_left < left0)
            continue;
        if (r->zin_left > 0) { /* not reached: a decoder with input and room moves */
            zfail(r, -EIO, "%s: %s decoder stalled after %llu decompressed bytes", name, codec,
                  (unsigned long long)r->zout);
            return;
        }
        if (r->zin_last) {
            zin_drop(r);
            if (assay_decoder_complete(r->dec))
                x->eof = true;
            else
                zfail(r, -EBADMSG,
                      "%s: truncated %s data after %llu decompressed bytes: the file ends "
                      "inside a %s (cut short by an interrupted download or copy?)",
                      name, codec, (unsigned long long)r->zout,
                      f->codec == ASSAY_CODEC_GZIP ? "gzip member" : "zstd frame");
            return;
        }
        if (r->o.stream && x->len > 0 && !f->async && !input_ready(f->fd))
            return;
        if ((rc = next_input(r)) < 0) {
            zfail(r, rc, "%s: %s", name, strerror(-rc));
            return;
        }
    }
    r->zfull = x->len == cap;
}

/* The next output buffer of the compressed file cons_file, decoded. On resume the
 * output in front of the resume point's grid offset is decoded and dropped. Returns
 * 0 with *out set, -EAGAIN when no buffer is free, or a (sticky) error. */
static int take_decoded(assay_reader *r, int *out, assay_error *err)
{
    uint32_t fi = r->cons_file;
    int rc;
    if (r->dec_file != fi && (rc = decode_begin(r, fi, err)) < 0)
        return rc;
    if (r->zerr)
        return report_zerr(r, err);
    int b = take_free(r);
    if (b < 0)
        return assay_error_set(err, -EAGAIN,
                               "reader: every buffer is out; release chunks and call again");
    rbuf *x = &r->bufs[b];
    x->file = fi;
    bool resume = r->resume_pending && fi == r->o.start_file;
    uint64_t grid = resume ? r->resume_off / r->o.buffer_size * r->o.buffer_size : 0;
    do {
        x->off = r->zout;
        x->len = 0;
        x->eof = false;
        fill_decoded(r, b);
    } while (x->len == r->o.buffer_size && x->off + x->len <= grid);
    if (r->zerr && (x->len == 0 || (resume && x->off + x->len < r->resume_off))) {
        unref(r, b);
        return report_zerr(r, err);
    }
    *out = b;
    return 0;
}

/* The first read of stdin or a pipe is in b: decide its codec from its first bytes
 * (reading on while they are a prefix of a magic number). Called before the read is
 * accounted in sub_off. */
static void sniff_more(assay_reader *r, int b)
{
    rbuf *x = &r->bufs[b];
    if (x->len < ASSAY_CODEC_SNIFF_LEN && !x->eof && !x->err &&
        assay_codec_undecided(x->data, x->len))
        fill_sync(r, b, r->files[x->file].fd, ASSAY_CODEC_SNIFF_LEN);
}

/* After sniff_more and the accounting: when b's bytes are compressed, move them into
 * a compressed-input buffer and fill b with their decoded start instead. Returns 0 or
 * a (sticky) error. */
static int sniff_stream(assay_reader *r, int b, assay_error *err)
{
    rbuf *x = &r->bufs[b];
    rfile *f = &r->files[x->file];
    f->codec_known = true;
    f->codec = x->err ? ASSAY_CODEC_NONE : assay_codec_sniff(x->data, x->len);
    if (f->codec == ASSAY_CODEC_NONE)
        return 0;
    int rc;
    if (zbufs_alloc(r) < 0) {
        unref(r, b);
        char msg[ASSAY_ERROR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s: out of memory for compressed input", file_name(r, x->file));
        return fail(r, err, -ENOMEM, msg);
    }
    r->zgate = x->file + 1;
    if ((rc = decode_begin(r, x->file, err)) < 0) {
        unref(r, b);
        return rc;
    }
    int zb = ztake(r);
    assay_assert(zb >= 0);
    rbuf *z = &r->bufs[zb];
    memcpy(z->data, x->data, x->len);
    z->len = x->len;
    z->file = x->file;
    r->zin = zb;
    r->zin_pos = (const uint8_t *)z->data;
    r->zin_left = z->len;
    r->zin_last = x->eof;
    x->len = 0;
    x->eof = false;
    x->off = 0;
    fill_decoded(r, b);
    if (r->zerr && x->len == 0) {
        unref(r, b);
        return report_zerr(r, err);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Consumer side: taking buffers in order and carving chunks
 * ---------------------------------------------------------------------------------- */

/* Make the next buffer of cons_file current, with the carry copied in front of its
 * data. Returns 0, -EAGAIN when no buffer is free, or a (sticky) error. */
static int take_next(assay_reader *r, assay_error *err)
{
    int b = -1;
    for (;;) {
        int rc = refill(r); /* also opens files and moves past finished ones */
        if (rc < 0)
            return fail(r, err, rc, "io_uring: cannot submit reads");
        if (r->files[r->cons_file].codec != ASSAY_CODEC_NONE) {
            if ((rc = take_decoded(r, &b, err)) < 0)
                return rc;
            break;
        }
        if (r->qlen > 0) {
            unsigned head = r->queue[r->qhead];
            while (r->bufs[head].inflight) {
                rc = reap(r, true);
                if (rc < 0)
                    return fail_file(r, err, r->bufs[head].file, rc);
            }
            b = (int)queue_pop(r);
            if (r->bufs[b].file < r->cons_file) {
                /* Read past the end of a file that shrank while being read. */
                unref(r, b);
                continue;
            }
            break;
        }
        /* Nothing queued: the cursor is at cons_file (refill stops at an error, at
         * a file read synchronously, or when no buffer is free). */
        assay_assert(r->sub_file == r->cons_file);
        if (r->sub_err) {
            r->fail_code = r->sub_err;
            memcpy(r->fail_msg, r->sub_msg, sizeof(r->fail_msg));
            return assay_error_set(err, r->fail_code, "%s", r->fail_msg);
        }
        rfile *f = &r->files[r->cons_file];
        b = f->async ? -1 : take_free(r);
        if (b < 0)
            return assay_error_set(err, -EAGAIN,
                                   "reader: every buffer is out; release "
                                   "chunks and call again");
        rbuf *x = &r->bufs[b];
        x->file = r->cons_file;
        x->off = r->sub_off;
        fill_sync(r, b, f->fd, 1);
        if (!f->codec_known)
            sniff_more(r, b);
        r->sub_off += x->len;
        if (x->eof || x->err)
            r->sub_eof = true;
        if (!f->codec_known && (rc = sniff_stream(r, b, err)) < 0)
            return rc;
        break;
    }

    rbuf *x = &r->bufs[b];
    if (x->err) {
        unref(r, b);
        return fail_file(r, err, x->file, x->err);
    }
    const char *start = x->data;
    uint64_t off = x->off;
    if (r->resume_pending && x->file == r->o.start_file) {
        /* the resume point lies in this buffer (its grid offset is at or below it) */
        r->resume_pending = false;
        uint64_t skip = r->resume_off - x->off;
        if (skip > x->len) {
            unref(r, b);
            char msg[ASSAY_ERROR_MSG_MAX];
            snprintf(msg, sizeof(msg), "%s: cannot resume at byte %llu: the file ends before",
                     file_name(r, x->file), (unsigned long long)r->resume_off);
            return fail(r, err, -ERANGE, msg);
        }
        start += skip;
        off += skip;
        r->first_pending = r->resume_off == 0;
    } else if (r->carry_buf >= 0) {
        /* Only the partial row moves; it always fits: carry_len <= max_row_bytes. */
        assay_assert(r->carry_len <= r->headroom);
        start -= r->carry_len;
        off -= r->carry_len;
        memcpy((char *)start, r->carry, r->carry_len);
        unref(r, r->carry_buf);
        r->carry_buf = -1;
        r->carry_len = 0;
    } else if (x->off == 0 && x->len >= BOM_LEN && !r->skipping &&
               memcmp(x->data, "\xEF\xBB\xBF", BOM_LEN) == 0) {
        start += BOM_LEN;
        off += BOM_LEN;
    }
    r->cur = b;
    r->pos = start;
    r->end = x->data + x->len;
    r->pos_off = off;
    r->tail_open = false;
    return 0;
}

/* Fill out a chunk of [data, data+len) from buffer b (b < 0: zero-length, no buffer).
 * The caller has already given the chunk its reference on b. */
static void make_chunk(assay_reader *r, assay_chunk *out, int b, const char *data, size_t len,
                       uint64_t off, bool first, bool last)
{
    memset(out, 0, sizeof(*out));
    out->data = len ? data : empty_data;
    out->len = len;
    out->seq = r->seq++;
    out->file = r->cons_file;
    out->offset = off;
    out->first_in_file = first;
    out->last_in_file = last;
    out->priv = b >= 0 ? (void *)(uintptr_t)(b + 1) : NULL;
}

/* Emit [pos, pos+len) of the current buffer as a chunk and advance pos. */
static void emit_rows(assay_reader *r, assay_chunk *out, size_t len, bool last)
{
    int b = -1;
    if (len > 0) {
        b = r->cur;
        r->bufs[b].refs++;
    }
    make_chunk(r, out, b, r->pos, len, r->pos_off, r->first_pending, last);
    r->first_pending = false;
    r->pos += len;
    r->pos_off += len;
}

/* Emit the pending oversized chunk (its reference passes to the chunk). */
static void emit_pending(assay_reader *r, assay_chunk *out, bool last)
{
    pending_chunk *p = &r->pending;
    make_chunk(r, out, p->buf, p->data, r->o.max_row_bytes, p->offset, p->first, last);
    out->oversized = true;
    out->skipped = r->skip_count;
    r->skipping = false;
    r->skip_count = 0;
}

/* The current file is done: drop the current buffer and move to the next file. */
static void finish_file(assay_reader *r)
{
    if (r->cur >= 0)
        unref(r, r->cur);
    r->cur = -1;
    r->cons_file++;
    r->first_pending = true;
}

/* Leave the current buffer; [pos, end) is carried in front of the next one. */
static void leave_buffer(assay_reader *r)
{
    size_t n = (size_t)(r->end - r->pos);
    if (n > 0) {
        r->carry_buf = r->cur; /* the reader's reference moves to the carry */
        r->carry = r->pos;
        r->carry_len = n;
    } else {
        unref(r, r->cur);
    }
    r->cur = -1;
}

/* Carve the next chunk from the current buffer. Returns 0 with *out filled, or 1 when
 * the buffer is used up (its tail, if any, is now the carry). */
static int carve(assay_reader *r, assay_chunk *out)
{
    const bool at_eof = r->bufs[r->cur].eof;
    const size_t max_row = r->o.max_row_bytes;
    for (;;) {
        size_t n = (size_t)(r->end - r->pos);
        if (r->skipping) {
            const char *nl = n ? memchr(r->pos, '\n', n) : NULL;
            size_t drop = nl ? (size_t)(nl + 1 - r->pos) : n;
            r->skip_count += drop;
            r->pos += drop;
            r->pos_off += drop;
            if (nl || at_eof) {
                bool last = at_eof && r->pos == r->end;
                emit_pending(r, out, last);
                if (last)
                    finish_file(r);
                return 0;
            }
            leave_buffer(r); /* nothing left to carry */
            return 1;
        }
        if (n == 0 && !at_eof) {
            leave_buffer(r);
            return 1;
        }
        size_t e = 0;
        if (n > 0 && !r->tail_open) {
            e = r->o.row_end(r->o.row_end_ctx, r->pos, n);
            if (e > n)
                e = n; /* a row_end() that overshoots: trust only what exists */
        }
        if (e == 0 && n > max_row) {
            /* Oversized row: keep its first max_row bytes, drop the rest up to '\n'. */
            r->pending = (pending_chunk){
                .buf = r->cur, .data = r->pos, .offset = r->pos_off, .first = r->first_pending
            };
            r->bufs[r->cur].refs++;
            r->first_pending = false;
            r->pos += max_row;
            r->pos_off += max_row;
            r->skipping = true;
            r->skip_count = 0;
            r->tail_open = false;
            continue;
        }
        if (at_eof) {
            if (e > 0 && e < n && n - e > max_row) {
                /* Rows, then an oversized last row: the rows go first. */
                emit_rows(r, out, e, false);
                r->tail_open = true;
                return 0;
            }
            emit_rows(r, out, n, true); /* may end without '\n'; may be empty */
            finish_file(r);
            return 0;
        }
        if (e > 0) {
            emit_rows(r, out, e, false);
            r->tail_open = true; /* e was the last row end */
            return 0;
        }
        leave_buffer(r); /* a partial row of at most max_row bytes: the carry */
        return 1;
    }
}

/* ------------------------------------------------------------------------------------
 * Public interface
 * ---------------------------------------------------------------------------------- */

void assay_reader_options_default(assay_reader_options *o)
{
    memset(o, 0, sizeof(*o));
    o->buffer_size = DEFAULT_BUFFER_SIZE;
    o->depth = DEFAULT_DEPTH;
    o->nbuffers = DEFAULT_NBUFFERS;
    o->max_row_bytes = DEFAULT_MAX_ROW_BYTES;
}

/* Register the data areas with the ring so reads use IORING_OP_READ_FIXED: the
 * kernel pins the pages once instead of on every read, and the pages are faulted in
 * now rather than in the middle of a read (a fault there sends a buffered read that
 * could have completed inline to a worker thread). Registration counts against
 * RLIMIT_MEMLOCK; when it is refused, plain IORING_OP_READ is used and the buffers
 * are pre-faulted by touching them. */
static void register_buffers(assay_reader *r)
{
    struct iovec *iov = calloc(r->nbufs, sizeof(*iov));
    if (iov) {
        for (unsigned i = 0; i < r->nbufs; i++)
            iov[i] = (struct iovec){ .iov_base = r->bufs[i].data, .iov_len = r->o.buffer_size };
        r->fixed_bufs = io_uring_register_buffers(&r->ring, iov, r->nbufs) == 0;
        free(iov);
    }
    if (!r->fixed_bufs)
        for (unsigned i = 0; i < r->nbufs; i++)
            memset(r->bufs[i].data, 0, r->o.buffer_size);
}

/* Whether ASSAY_NO_IO_URING asks for plain reads. */
static bool env_no_io_uring(void)
{
    const char *v = getenv("ASSAY_NO_IO_URING");
    return v && v[0] && strcmp(v, "0") != 0;
}

/* Test hook, not in the public header: assay_reader_open with the buffer size minimum
 * lowered from 64 KiB to 4 bytes (still enough to see a whole BOM in a file's first
 * read), so tests can force many carries and oversized rows with small inputs. */
int assay_reader__open_small(assay_reader **out, const char *const *paths, size_t npaths,
                             const assay_reader_options *o, assay_error *err);

static int reader_open(assay_reader **out, const char *const *paths, size_t npaths,
                       const assay_reader_options *opts, size_t min_buffer, assay_error *err)
{
    *out = NULL;
    if (!opts || !opts->row_end)
        return assay_error_set(err, -EINVAL, "reader: a row_end function is required");
    if (npaths > UINT32_MAX || (npaths && !paths))
        return assay_error_set(err, -EINVAL, "reader: bad path list");
    assay_reader_options o = *opts;
    if (!o.buffer_size)
        o.buffer_size = DEFAULT_BUFFER_SIZE;
    if (!o.depth)
        o.depth = DEFAULT_DEPTH;
    if (!o.nbuffers)
        o.nbuffers = DEFAULT_NBUFFERS;
    if (!o.max_row_bytes)
        o.max_row_bytes = DEFAULT_MAX_ROW_BYTES;
    if (o.buffer_size < min_buffer || o.buffer_size > MAX_BUFFER_SIZE)
        return assay_error_set(err, -EINVAL,
                               "reader: buffer_size %zu is outside %zu bytes to 1 GiB",
                               o.buffer_size, min_buffer);
    if (o.nbuffers < 2 || o.nbuffers > MAX_NBUFFERS)
        return assay_error_set(err, -EINVAL, "reader: nbuffers %u is outside 2 to %u", o.nbuffers,
                               MAX_NBUFFERS);
    if (o.max_row_bytes > MAX_ROW_LIMIT)
        return assay_error_set(err, -EINVAL, "reader: max_row_bytes %zu is above 1 GiB",
                               o.max_row_bytes);
    if (o.depth > MAX_DEPTH)
        o.depth = MAX_DEPTH;
    if (o.depth > o.nbuffers)
        o.depth = o.nbuffers; /* a read needs a buffer */

    assay_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return assay_error_set(err, -ENOMEM, "reader: out of memory");
    r->o = o;
    r->headroom = (o.max_row_bytes + PAGE - 1) / PAGE * PAGE;
    r->cur = -1;
    r->carry_buf = -1;
    r->zin = -1;
    r->dec_file = UINT32_MAX;
    r->first_pending = true;
    r->nfiles = (uint32_t)npaths;
    r->seq = o.start_seq;
    r->cons_file = r->sub_file = o.start_file;
    r->resume_pending = o.start_offset > 0;
    r->resume_off = o.start_offset;
    int rc = -ENOMEM;
    if (o.start_file > npaths || (o.start_file == npaths && o.start_offset)) {
        free(r);
        return assay_error_set(err, -EINVAL, "reader: resume file %u of %zu", o.start_file, npaths);
    }

    r->files = calloc(npaths ? npaths : 1, sizeof(*r->files));
    r->bufs = calloc(o.nbuffers + NZBUF, sizeof(*r->bufs));
    r->free_stack = calloc(o.nbuffers, sizeof(*r->free_stack));
    r->queue = calloc(o.nbuffers, sizeof(*r->queue));
    if (!r->files || !r->bufs || !r->free_stack || !r->queue)
        goto fail_nomem;
    for (uint32_t i = 0; i < npaths; i++) {
        r->files[i].fd = -1;
        r->files[i].cursor_passed = i < o.start_file; /* done before the resume point */
    }

    /* Check every path now, so that a typo fails before any work is done. */
    bool total_known = true;
    for (uint32_t i = 0; i < npaths; i++) {
        rfile *f = &r->files[i];
        if (!paths[i]) {
            rc = assay_error_set(err, -EINVAL, "reader: path %u is NULL", i);
            goto fail;
        }
        f->path = strdup(paths[i]);
        if (!f->path)
            goto fail_nomem;
        if (strcmp(paths[i], "-") == 0) {
            f->is_stdin = true;
            total_known = false;
            continue;
        }
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            rc = assay_error_set(err, -errno, "%s: %s", paths[i], strerror(errno));
            goto fail;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = assay_error_set(err, -EISDIR, "%s: %s", paths[i], strerror(EISDIR));
            goto fail;
        }
        if (faccessat(AT_FDCWD, paths[i], R_OK, AT_EACCESS) != 0) {
            rc = assay_error_set(err, -errno, "%s: %s", paths[i], strerror(errno));
            goto fail;
        }
        if (S_ISREG(st.st_mode))
            r->bytes_total += (uint64_t)st.st_size;
        else
            total_known = false;
    }
    if (!total_known)
        r->bytes_total = 0;

    r->nbufs = o.nbuffers;
    for (unsigned i = 0; i < o.nbuffers; i++) {
        void *mem = NULL;
        if (posix_memalign(&mem, PAGE, r->headroom + o.buffer_size) != 0)
            goto fail_nomem;
        r->bufs[i].mem = mem;
        r->bufs[i].data = (char *)mem + r->headroom;
        r->free_stack[r->nfree++] = o.nbuffers - 1 - i; /* hand out buffer 0 first */
    }

    if (!o.force_plain && !env_no_io_uring() && io_uring_queue_init(o.depth, &r->ring, 0) == 0) {
        r->use_ring = true;
        register_buffers(r);
    }
    *out = r;
    return 0;

fail_nomem:
    rc = assay_error_set(err, -ENOMEM, "reader: out of memory");
fail:
    assay_reader_close(r);
    return rc;
}

int assay_reader__open_small(assay_reader **out, const char *const *paths, size_t npaths,
                             const assay_reader_options *o, assay_error *err)
{
    return reader_open(out, paths, npaths, o, 4, err);
}

int assay_reader_open(assay_reader **out, const char *const *paths, size_t npaths,
                      const assay_reader_options *o, assay_error *err)
{
    return reader_open(out, paths, npaths, o, MIN_BUFFER_SIZE, err);
}

int assay_reader_next(assay_reader *r, assay_chunk *out, assay_error *err)
{
    if (r->fail_code)
        return assay_error_set(err, r->fail_code, "%s", r->fail_msg);
    for (;;) {
        if (r->cons_file >= r->nfiles)
            return 1;
        if (r->cur < 0) {
            int rc = take_next(r, err);
            if (rc < 0)
                return rc;
        }
        if (carve(r, out) == 0) {
            if (r->use_ring) {
                /* Top up the reads in flight before the consumer gets busy. */
                int rc = reap(r, false);
                if (rc == 0)
                    rc = refill(r);
                if (rc < 0) {
                    assay_reader_release(r, out);
                    return fail(r, err, rc, "io_uring: cannot submit reads");
                }
            }
            return 0;
        }
    }
}

void assay_reader_release(assay_reader *r, const assay_chunk *c)
{
    if (!c || !c->priv)
        return;
    unref(r, (int)((uintptr_t)c->priv - 1));
    /* A buffer came back: keep the read-ahead going. A failure here shows up again
     * (and is reported) in the next call to next(). */
    if (r->use_ring && !r->fail_code)
        (void)refill(r);
}

int assay_reader_wait(assay_reader *r, int timeout_ms)
{
    if (r->fail_code || r->cons_file >= r->nfiles)
        return 1;
    if (r->cur >= 0 && (r->pos < r->end || r->bufs[r->cur].eof))
        return 1; /* rows left to carve */
    rfile *f = &r->files[r->cons_file];
    if (f->codec != ASSAY_CODEC_NONE && r->dec_file == r->cons_file &&
        (r->zin_left > 0 || r->zin_last || r->zfull || r->zerr))
        return 1; /* compressed bytes (or decoded ones) are waiting */
    if (!r->sub_open || r->sub_file != r->cons_file || f->async || f->fd < 0 || r->qlen > 0)
        return 1;
    struct pollfd p = { .fd = f->fd, .events = POLLIN };
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    return rc != 0;
}

bool assay_reader_uses_io_uring(const assay_reader *r)
{
    return r->use_ring;
}

uint64_t assay_reader_bytes_read(const assay_reader *r)
{
    return r->bytes_read;
}

uint64_t assay_reader_bytes_total(const assay_reader *r)
{
    return r->bytes_total;
}

void assay_reader_close(assay_reader *r)
{
    if (!r)
        return;
    if (r->use_ring) {
        /* The kernel may still write into buffers with reads in flight: wait for them
         * before the memory goes. Reads of regular files always complete. Reads
         * never handed to the kernel will not complete; do not wait for them. */
        unsigned wait_for = r->inflight;
        if (flush_submissions(r) < 0)
            wait_for -= ASSAY_MIN(wait_for, r->unsubmitted);
        while (wait_for > 0) {
            struct io_uring_cqe *cqe;
            int rc = io_uring_wait_cqe(&r->ring, &cqe);
            if (rc == -EINTR)
                continue;
            if (rc < 0)
                break;
            int b = (int)(uintptr_t)io_uring_cqe_get_data(cqe);
            io_uring_cqe_seen(&r->ring, cqe);
            r->bufs[b].inflight = false;
            r->files[r->bufs[b].file].inflight--;
            r->inflight--;
            wait_for--;
        }
        io_uring_queue_exit(&r->ring);
    }
    if (r->files) {
        for (uint32_t i = 0; i < r->nfiles; i++) {
            if (r->files[i].fd >= 0 && !r->files[i].is_stdin)
                close(r->files[i].fd);
            free(r->files[i].path);
        }
    }
    assay_decoder_close(r->dec);
    if (r->bufs)
        for (unsigned i = 0; r->nbufs && i < r->nbufs + NZBUF; i++)
            free(r->bufs[i].mem);
    free(r->files);
    free(r->bufs);
    free(r->free_stack);
    free(r->queue);
    free(r);
}
