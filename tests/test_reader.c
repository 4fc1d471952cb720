/* File reader: chunks reproduce the input exactly and end on row ends (a newline finder
 * and a quote-aware one), carries across tiny buffers, rows at buffer boundaries,
 * missing final newlines, empty files, BOMs, file order and flags, oversized rows,
 * -EAGAIN back-pressure, stdin through a pipe, and errors that name the file.
 * Compressed files (gzip and zstd, compressed here with zlib and libzstd): the same
 * chunks as the decompressed file, multi-member gzip and multi-frame zstd, magic bytes
 * over names, compressed stdin, resume, and damaged files (truncated, corrupt,
 * trailing junk) checked against an independent decode of the same bytes.
 *
 * Every test runs twice: through io_uring (skipped where the kernel refuses a ring;
 * the test checks the ring is really used) and through plain read(2) (force_plain; one
 * test also covers ASSAY_NO_IO_URING=1). The random test also requires both paths to
 * cut the input into exactly the same chunks.
 *
 * Tiny buffers (down to 4 bytes) come from the test hook assay_reader__open_small(),
 * which is assay_reader_open() with the 64 KiB minimum lowered; it is not in the
 * public header. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <zlib.h>
#include <zstd.h>

#include <fcntl.h>
#include <ftw.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assay/reader.h"

int assay_reader__open_small(assay_reader **out, const char *const *paths, size_t npaths,
                             const assay_reader_options *o, assay_error *err);

/* ------------------------------------------------------------------------------------
 * Fixtures
 * ---------------------------------------------------------------------------------- */

typedef struct mode {
    bool plain;
} mode;

static mode mode_ring = { false };
static mode mode_plain = { true };

static char tmpdir[64];

/* Whether this kernel gives us a ring at all. */
static bool ring_available(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(2, &ring, 0) != 0)
        return false;
    io_uring_queue_exit(&ring);
    return true;
}

/* Whether the reader can use a ring here: the kernel gives one and the environment
 * does not turn it off (the suite may be run with ASSAY_NO_IO_URING=1). */
static bool ring_usable(void)
{
    const char *env = getenv("ASSAY_NO_IO_URING");
    return ring_available() && !(env && env[0] && strcmp(env, "0") != 0);
}

/* The test's mode; skips ring tests where io_uring is refused. */
static const mode *get_mode(void **state)
{
    const mode *m = *state;
    if (!m->plain && !ring_usable())
        skip();
    return m;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/assay_reader_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Path of a scratch file named name (static storage, one per slot). */
static const char *tmp_path(char out[256], const char *name)
{
    snprintf(out, 256, "%s/%s", tmpdir, name);
    return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ------------------------------------------------------------------------------------
 * Row end finders
 * ---------------------------------------------------------------------------------- */

/* Just past the last '\n'. */
static size_t row_end_nl(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    const char *p = memrchr(buf, '\n', len);
    return p ? (size_t)(p - buf) + 1 : 0;
}

/* Just past the last '\n' outside double quotes ("" inside quotes toggles twice, which
 * is what CSV escaping needs). */
static size_t row_end_quote(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    bool inq = false;
    size_t last = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '"')
            inq = !inq;
        else if (buf[i] == '\n' && !inq)
            last = i + 1;
    }
    return last;
}

/* ------------------------------------------------------------------------------------
 * Checker: validates each chunk against the files' bytes as it arrives
 * ---------------------------------------------------------------------------------- */

typedef struct sig {
    uint32_t file;
    uint64_t offset, len, skipped;
    bool first, last, oversized;
} sig;

typedef struct checker {
    const char *const *data; /* file contents, BOM included */
    const size_t *size;
    size_t nfiles;
    assay_row_end_fn row_end;
    size_t max_row;
    uint64_t next_seq;
    uint32_t file; /* file expected next / in progress */
    bool in_file;
    uint64_t off; /* running offset in the current file */
    sig *sigs;
    size_t nsigs, cap;
} checker;

static size_t bom_len(const char *d, size_t n)
{
    return n >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static void check_chunk(checker *ck, const assay_chunk *c)
{
    assert_int_equal(c->seq, ck->next_seq);
    ck->next_seq++;
    if (!ck->in_file) {
        assert_true(ck->file < ck->nfiles);
        assert_int_equal(c->file, ck->file);
        assert_true(c->first_in_file);
        ck->in_file = true;
        ck->off = bom_len(ck->data[ck->file], ck->size[ck->file]);
    } else {
        assert_int_equal(c->file, ck->file);
        assert_false(c->first_in_file);
    }
    const char *d = ck->data[ck->file];
    size_t size = ck->size[ck->file];
    assert_int_equal(c->offset, ck->off);
    assert_true(c->offset + c->len + c->skipped <= size);
    if (c->len)
        assert_memory_equal(c->data, d + c->offset, c->len);
    if (c->oversized) {
        assert_int_equal(c->len, ck->max_row);
        /* The row really had no row end within max_row + 1 bytes. */
        size_t probe = ASSAY_MIN(ck->max_row + 1, size - c->offset);
        assert_int_equal(ck->row_end(NULL, d + c->offset, probe), 0);
        /* The dropped part ends at the first '\n' after the cut, or at end of file. */
        const char *skip = d + c->offset + c->len;
        const char *nl = c->skipped ? memchr(skip, '\n', c->skipped) : NULL;
        if (nl)
            assert_ptr_equal(nl, skip + c->skipped - 1);
        else
            assert_int_equal(c->offset + c->len + c->skipped, size);
    } else {
        assert_int_equal(c->skipped, 0);
        if (!c->last_in_file) {
            assert_true(c->len > 0);
            assert_int_equal(ck->row_end(NULL, c->data, c->len), c->len);
        } else if (c->len) {
            /* A last row without a row end is no longer than max_row either. */
            size_t tail = c->len - ck->row_end(NULL, c->data, c->len);
            if (tail > ck->max_row)
                fail_msg("last chunk ends in a %zu-byte row; max_row_bytes is %zu", tail,
                         ck->max_row);
        }
    }
    ck->off += c->len + c->skipped;
    if (c->last_in_file) {
        assert_int_equal(ck->off, size);
        ck->in_file = false;
        ck->file++;
    }
    if (ck->nsigs == ck->cap) {
        ck->cap = ck->cap ? 2 * ck->cap : 64;
        ck->sigs = realloc(ck->sigs, ck->cap * sizeof(*ck->sigs));
        assert_non_null(ck->sigs);
    }
    ck->sigs[ck->nsigs++] = (sig){ c->file,          c->offset,       c->len,      c->skipped,
                                   c->first_in_file, c->last_in_file, c->oversized };
}

static bool sig_equal(const sig *a, const sig *b)
{
    return a->file == b->file && a->offset == b->offset && a->len == b->len &&
           a->skipped == b->skipped && a->first == b->first && a->last == b->last &&
           a->oversized == b->oversized;
}

static void check_done(const checker *ck)
{
    assert_false(ck->in_file);
    assert_int_equal(ck->file, ck->nfiles);
}

/* ------------------------------------------------------------------------------------
 * Driving a reader
 * ---------------------------------------------------------------------------------- */

/* Tiny xorshift PRNG: deterministic, seeded per test. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rng_next(s) % n) : 0;
}

/* Read everything from r into ck, holding up to `hold` chunks at a time (released in
 * random order when seed is non-zero, else oldest first). -EAGAIN is only acceptable
 * while something is held. */
static void drain(assay_reader *r, checker *ck, unsigned hold, uint64_t seed)
{
    assay_chunk held[64];
    unsigned nheld = 0;
    assay_error err = { 0 };
    assert_true(hold < 64);
    for (;;) {
        assay_chunk c;
        int rc = assay_reader_next(r, &c, &err);
        if (rc == -EAGAIN) {
            assert_true(nheld > 0); /* a consumer holding nothing must never wait */
            unsigned i = seed ? (unsigned)rng_below(&seed, nheld) : 0;
            assay_reader_release(r, &held[i]);
            memmove(&held[i], &held[i + 1], (nheld - i - 1) * sizeof(held[0]));
            nheld--;
            continue;
        }
        if (rc != 0 && rc != 1)
            fail_msg("assay_reader_next: %d %s", rc, err.msg);
        if (rc == 1)
            break;
        check_chunk(ck, &c);
        held[nheld++] = c;
        while (nheld > hold) {
            unsigned i = seed ? (unsigned)rng_below(&seed, nheld) : 0;
            assay_reader_release(r, &held[i]);
            memmove(&held[i], &held[i + 1], (nheld - i - 1) * sizeof(held[0]));
            nheld--;
        }
    }
    while (nheld)
        assay_reader_release(r, &held[--nheld]);
    check_done(ck);
}

/* Open a reader in mode m (small: through the test hook). */
static assay_reader *open_reader(const mode *m, const char *const *paths, size_t n,
                                 assay_reader_options *o, bool small)
{
    assay_error err = { 0 };
    assay_reader *r = NULL;
    o->force_plain = m->plain;
    int rc = small ? assay_reader__open_small(&r, paths, n, o, &err)
                   : assay_reader_open(&r, paths, n, o, &err);
    if (rc != 0)
        fail_msg("assay_reader_open: %d %s", rc, err.msg);
    assert_int_equal(assay_reader_uses_io_uring(r), !m->plain);
    return r;
}

/* Read paths (contents data/size, as the chunks must show them) fully with o, checking
 * that read_total bytes were read from the files; returns the chunk signatures. */
static checker run_read(const mode *m, const char *const *paths, const char *const *data,
                        const size_t *size, size_t n, assay_reader_options *o, bool small,
                        unsigned hold, uint64_t seed, uint64_t read_total)
{
    assay_reader *r = open_reader(m, paths, n, o, small);
    checker ck = {
        .data = data, .size = size, .nfiles = n, .row_end = o->row_end, .max_row = o->max_row_bytes
    };
    drain(r, &ck, hold, seed);
    assert_int_equal(assay_reader_bytes_read(r), read_total);
    assay_reader_close(r);
    return ck;
}

/* Read paths (contents data/size) fully with o; returns the chunk signatures. */
static checker run(const mode *m, const char *const *paths, const char *const *data,
                   const size_t *size, size_t n, assay_reader_options *o, bool small, unsigned hold,
                   uint64_t seed)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += size[i];
    return run_read(m, paths, data, size, n, o, small, hold, seed, total);
}

/* Read a single file and return its chunks' signatures. */
static checker run1(const mode *m, const char *path, const char *data, size_t size,
                    assay_reader_options *o, bool small)
{
    return run(m, &path, &data, &size, 1, o, small, 0, 0);
}

static void opts(assay_reader_options *o, size_t bufsize, size_t max_row)
{
    assay_reader_options_default(o);
    o->buffer_size = bufsize;
    o->max_row_bytes = max_row;
    o->row_end = row_end_nl;
}

/* ------------------------------------------------------------------------------------
 * Tests
 * ---------------------------------------------------------------------------------- */

/* Rows of 64 bytes, a file of exactly 4 buffers: one full chunk per buffer, no carry,
 * and the end of file arrives as a zero-length last chunk. Then 10 more bytes without
 * a final newline: the last buffer's chunk carries last_in_file itself. */
static void test_rows_at_buffer_boundaries(void **state)
{
    const mode *m = get_mode(state);
    const size_t B = 64 << 10;
    char *d = malloc(4 * B + 10);
    assert_non_null(d);
    for (size_t i = 0; i < 4 * B; i += 64) {
        memset(d + i, 'a' + (int)(i / 64 % 26), 63);
        d[i + 63] = '\n';
    }
    memcpy(d + 4 * B, "tail,no,nl", 10);
    char p[256];
    tmp_path(p, "boundary.csv");
    assay_reader_options o;
    opts(&o, B, 1 << 20);

    write_file(p, d, 4 * B);
    checker ck = run1(m, p, d, 4 * B, &o, false);
    assert_int_equal(ck.nsigs, 5);
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(ck.sigs[i].offset, i * B);
        assert_int_equal(ck.sigs[i].len, B);
        assert_false(ck.sigs[i].last);
    }
    assert_int_equal(ck.sigs[4].len, 0);
    assert_int_equal(ck.sigs[4].offset, 4 * B);
    assert_true(ck.sigs[4].last);
    free(ck.sigs);

    write_file(p, d, 4 * B + 10);
    ck = run1(m, p, d, 4 * B + 10, &o, false);
    assert_int_equal(ck.nsigs, 5);
    assert_int_equal(ck.sigs[4].offset, 4 * B);
    assert_int_equal(ck.sigs[4].len, 10);
    assert_true(ck.sigs[4].last);
    free(ck.sigs);
    free(d);
}

/* Rows of 100 bytes straddle every 64 KiB buffer: each chunk ends at the last whole
 * row, the partial row is carried into the next chunk. */
static void test_carry_between_buffers(void **state)
{
    const mode *m = get_mode(state);
    const size_t B = 64 << 10, N = 3 * B + 777;
    char *d = malloc(N);
    assert_non_null(d);
    for (size_t i = 0; i < N; i++)
        d[i] = i % 100 == 99 ? '\n' : (char)('0' + i % 10);
    char p[256];
    write_file(tmp_path(p, "carry.csv"), d, N);
    assay_reader_options o;
    opts(&o, B, 1 << 20);
    o.nbuffers = 3;
    o.depth = 2;
    checker ck = run1(m, p, d, N, &o, false);
    assert_int_equal(ck.nsigs, 4);
    assert_int_equal(ck.sigs[0].len, B / 100 * 100);
    assert_int_equal(ck.sigs[1].offset, B / 100 * 100);
    assert_int_equal(ck.sigs[1].len, 2 * B / 100 * 100 - B / 100 * 100);
    assert_int_equal(ck.sigs[3].offset + ck.sigs[3].len, N);
    assert_true(ck.sigs[3].last);
    free(ck.sigs);
    free(d);
}

/* Files in order: data, empty, BOM + rows without a final newline, BOM only, a file
 * starting with a partial BOM (kept). File index, offsets and flags are exact. */
static void test_multiple_files_empty_and_bom(void **state)
{
    const mode *m = get_mode(state);
    static const char a[] = "x,y\n1,2\n";
    static const char b[] = "\xEF\xBB\xBF"
                            "id\n7\n8";
    static const char c[] = "\xEF\xBB\xBF";
    static const char e[] = "\xEF\xBB"
                            "z\n";
    const char *data[] = { a, "", b, c, e };
    size_t size[] = { sizeof(a) - 1, 0, sizeof(b) - 1, sizeof(c) - 1, sizeof(e) - 1 };
    char p[5][256];
    const char *paths[5];
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "multi%d.csv", i);
        paths[i] = tmp_path(p[i], name);
        write_file(paths[i], data[i], size[i]);
    }
    assay_reader_options o;
    opts(&o, 64 << 10, 1 << 20);
    checker ck = run(m, paths, data, size, 5, &o, false, 0, 0);
    assert_int_equal(ck.nsigs, 5); /* one chunk per file, empty ones included */
    static const uint64_t want_off[] = { 0, 0, 3, 3, 0 };
    static const uint64_t want_len[] = { 8, 0, 6, 0, 4 };
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(ck.sigs[i].file, i);
        assert_int_equal(ck.sigs[i].offset, want_off[i]);
        assert_int_equal(ck.sigs[i].len, want_len[i]);
        assert_true(ck.sigs[i].first);
        assert_true(ck.sigs[i].last);
    }
    free(ck.sigs);

    /* bytes_total is the sum of the sizes of regular files. */
    assay_reader *r = open_reader(m, paths, 5, &o, false);
    assert_int_equal(assay_reader_bytes_total(r), 8 + 0 + 9 + 3 + 4);
    assay_reader_close(r);
}

/* A 300-byte row with max_row_bytes 100 and 64-byte buffers: an oversized chunk of its
 * first 100 bytes, 201 bytes (to and with the '\n') skipped, then reading goes on. At
 * end of file without a newline the skip runs to the end and the chunk is last. */
static void test_oversized_rows(void **state)
{
    const mode *m = get_mode(state);
    char d[400];
    memcpy(d, "ab\n", 3);
    memset(d + 3, 'x', 300);
    memcpy(d + 303, "\ncd\n", 4);
    char p[256];
    tmp_path(p, "oversized.csv");
    assay_reader_options o;
    opts(&o, 64, 100);
    o.nbuffers = 2;
    write_file(p, d, 307);
    checker ck = run1(m, p, d, 307, &o, true);
    assert_int_equal(ck.nsigs, 3);
    assert_int_equal(ck.sigs[0].len, 3);
    assert_true(ck.sigs[1].oversized);
    assert_int_equal(ck.sigs[1].offset, 3);
    assert_int_equal(ck.sigs[1].len, 100);
    assert_int_equal(ck.sigs[1].skipped, 201);
    assert_false(ck.sigs[1].last);
    assert_int_equal(ck.sigs[2].offset, 304);
    assert_int_equal(ck.sigs[2].len, 3);
    assert_true(ck.sigs[2].last);
    free(ck.sigs);

    write_file(p, d, 303); /* the long row is the last one, no newline */
    ck = run1(m, p, d, 303, &o, true);
    assert_int_equal(ck.nsigs, 2);
    assert_true(ck.sigs[1].oversized);
    assert_int_equal(ck.sigs[1].skipped, 200);
    assert_true(ck.sigs[1].last);
    free(ck.sigs);

    /* Same through the public API: 64 KiB buffers, a 200 KiB row, 1 KiB limit. */
    size_t big = 200 << 10;
    char *g = malloc(big + 10);
    assert_non_null(g);
    memset(g, 'q', big);
    memcpy(g + big, "\nok\n", 4);
    write_file(p, g, big + 4);
    opts(&o, 64 << 10, 1024);
    ck = run1(m, p, g, big + 4, &o, false);
    assert_int_equal(ck.nsigs, 2);
    assert_true(ck.sigs[0].oversized);
    assert_true(ck.sigs[0].first);
    assert_int_equal(ck.sigs[0].skipped, big - 1024 + 1);
    assert_int_equal(ck.sigs[1].len, 3);
    free(ck.sigs);
    free(g);
}

/* A quoted field holding newlines across buffers: chunks end only at row ends outside
 * quotes. */
static void test_quote_aware_row_end(void **state)
{
    const mode *m = get_mode(state);
    char d[600];
    size_t n = 0;
    for (int row = 0; row < 12; row++) {
        n += (size_t)sprintf(d + n, "%d,\"multi\nline\nfield %d\",end\n", row, row);
    }
    char p[256];
    write_file(tmp_path(p, "quoted.csv"), d, n);
    assay_reader_options o;
    opts(&o, 16, 64);
    o.row_end = row_end_quote;
    checker ck = run1(m, p, d, n, &o, true);
    assert_true(ck.nsigs > 5);
    for (size_t i = 0; i < ck.nsigs; i++) {
        /* Every chunk starts a row: the byte before it is the '\n' after ",end". */
        if (ck.sigs[i].offset > 0)
            assert_memory_equal(d + ck.sigs[i].offset - 4, "end\n", 4);
    }
    free(ck.sigs);
}

/* Random files (empty, BOM, partial BOM, long rows, quotes, no final newline) read with
 * tiny buffers, random depths, pool sizes and holding patterns, through both row
 * finders; both I/O paths must agree chunk for chunk. */
static void test_random_files(void **state)
{
    const mode *m = get_mode(state);
    mode other = { !m->plain };
    bool compare = !other.plain ? ring_usable() : true;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 300; iter++) {
        size_t nfiles = 1 + rng_below(&seed, 5);
        size_t max_row = 1 + rng_below(&seed, iter % 3 ? 64 : 400);
        char *data[5];
        size_t size[5];
        char p[5][256];
        const char *paths[5];
        for (size_t f = 0; f < nfiles; f++) {
            size_t want = rng_below(&seed, 4) == 0 ? 0 : rng_below(&seed, 3000);
            data[f] = malloc(want + 3 + 1);
            assert_non_null(data[f]);
            size_t n = 0;
            unsigned bom = (unsigned)rng_below(&seed, 6);
            if (bom >= 4) {
                memcpy(data[f], "\xEF\xBB\xBF", 3);
                n = 3;
            } else if (bom == 3) {
                memcpy(data[f], "\xEF\xBB", 2); /* partial: stays data */
                n = 2;
            }
            want += n;
            while (n < want) {
                if (rng_below(&seed, 40) == 0) { /* a long row */
                    size_t run_len = rng_below(&seed, 3 * max_row + 2);
                    run_len = ASSAY_MIN(want - n, run_len);
                    memset(data[f] + n, 'L', run_len);
                    n += run_len;
                    continue;
                }
                unsigned k = (unsigned)rng_below(&seed, 100);
                data[f][n++] = k < 80 ? 'a' : k < 88 ? ',' : k < 92 ? '"' : '\n';
            }
            if (n && rng_below(&seed, 2))
                data[f][n - 1] = '\n';
            size[f] = n;
            char name[32];
            snprintf(name, sizeof(name), "rand%zu.csv", f);
            paths[f] = tmp_path(p[f], name);
            write_file(paths[f], data[f], n);
        }
        assay_reader_options o;
        opts(&o, 4 + rng_below(&seed, 200), max_row);
        o.row_end = rng_below(&seed, 2) ? row_end_nl : row_end_quote;
        o.nbuffers = 2 + (unsigned)rng_below(&seed, 6);
        o.depth = 1 + (unsigned)rng_below(&seed, 4);
        unsigned hold = (unsigned)rng_below(&seed, o.nbuffers + 2);
        checker a = run(m, paths, (const char *const *)data, size, nfiles, &o, true, hold,
                        rng_next(&seed) | 1);
        if (compare) {
            checker b = run(&other, paths, (const char *const *)data, size, nfiles, &o, true, 0, 0);
            assert_int_equal(a.nsigs, b.nsigs);
            for (size_t i = 0; i < a.nsigs; i++) {
                if (!sig_equal(&a.sigs[i], &b.sigs[i]))
                    fail_msg("iteration %d chunk %zu differs between io_uring and read(2): "
                             "file %u offset %llu len %llu vs file %u offset %llu len %llu",
                             iter, i, a.sigs[i].file, (unsigned long long)a.sigs[i].offset,
                             (unsigned long long)a.sigs[i].len, b.sigs[i].file,
                             (unsigned long long)b.sigs[i].offset,
                             (unsigned long long)b.sigs[i].len);
            }
            free(b.sigs);
        }
        free(a.sigs);
        for (size_t f = 0; f < nfiles; f++)
            free(data[f]);
    }
}

/* Read every chunk of a reader opened with o (which may resume) as signatures, with
 * their sequence numbers. */
static size_t read_sigs(const mode *m, const char *const *paths, size_t n, assay_reader_options *o,
                        sig *out, uint64_t *seqs, size_t cap)
{
    assay_reader *r = open_reader(m, paths, n, o, true);
    assay_error err = { 0 };
    size_t k = 0;
    for (;;) {
        assay_chunk c;
        int rc = assay_reader_next(r, &c, &err);
        if (rc == 1)
            break;
        if (rc != 0)
            fail_msg("assay_reader_next: %d %s", rc, err.msg);
        assert_true(k < cap);
        out[k] = (sig){ c.file,          c.offset,       c.len,      c.skipped,
                        c.first_in_file, c.last_in_file, c.oversized };
        seqs[k++] = c.seq;
        assay_reader_release(r, &c);
    }
    assay_reader_close(r);
    return k;
}

/* Resuming (start_file / start_offset / start_seq) right after any chunk gives exactly
 * the chunks an uninterrupted read cuts after it, on both I/O paths: a restarted run
 * cuts the rest of its input the way the first run would have (checkpoints rely on
 * it). Random files: several per run, partial rows across reads, long rows, BOMs. */
static void test_resume_at_chunk_boundaries(void **state)
{
    const mode *m = get_mode(state);
    uint64_t seed = 0x5EED5EED1234ull;
    for (int iter = 0; iter < 60; iter++) {
        size_t nfiles = 1 + rng_below(&seed, 3), max_row = 8 + rng_below(&seed, 40);
        char *data[3], p[3][256];
        const char *paths[3];
        for (size_t f = 0; f < nfiles; f++) {
            size_t n = rng_below(&seed, 2000);
            data[f] = malloc(n + 4);
            size_t k = 0, bom = rng_below(&seed, 3) == 0 ? 3 : 0;
            if (bom)
                memcpy(data[f], "\xEF\xBB\xBF", 3);
            k = bom;
            while (k < n + bom)
                data[f][k++] = rng_below(&seed, 9) == 0 ? '\n' : 'x';
            char name[32];
            snprintf(name, sizeof(name), "resume%zu.csv", f);
            paths[f] = tmp_path(p[f], name);
            write_file(paths[f], data[f], k);
        }
        assay_reader_options o;
        opts(&o, 16 + rng_below(&seed, 300), max_row);
        sig all[4096], rest[4096];
        uint64_t seq_all[4096], seq_rest[4096];
        size_t n = read_sigs(m, paths, nfiles, &o, all, seq_all, 4096);
        for (size_t k = 0; k + 1 < n; k++) {
            /* the position after chunk k, as the pipeline's checkpoint records it */
            assay_reader_options ro = o;
            if (all[k].last) {
                ro.start_file = all[k].file + 1;
                ro.start_offset = 0;
            } else {
                ro.start_file = all[k].file;
                ro.start_offset = all[k].offset + all[k].len + all[k].skipped;
            }
            ro.start_seq = seq_all[k] + 1;
            size_t nr = read_sigs(m, paths, nfiles, &ro, rest, seq_rest, 4096);
            if (nr != n - k - 1)
                fail_msg("iteration %d: resuming after chunk %zu of %zu gave %zu chunks", iter, k,
                         n, nr);
            for (size_t i = 0; i < nr; i++)
                if (!sig_equal(&rest[i], &all[k + 1 + i]) || seq_rest[i] != seq_all[k + 1 + i])
                    fail_msg("iteration %d: resuming after chunk %zu: chunk %zu is file %u "
                             "offset %llu len %llu, uninterrupted file %u offset %llu len %llu",
                             iter, k, i, rest[i].file, (unsigned long long)rest[i].offset,
                             (unsigned long long)rest[i].len, all[k + 1 + i].file,
                             (unsigned long long)all[k + 1 + i].offset,
                             (unsigned long long)all[k + 1 + i].len);
        }
        for (size_t f = 0; f < nfiles; f++)
            free(data[f]);
    }
    /* a position past the end of the file is an error naming it, not a silent restart */
    char pb[256];
    const char *path = tmp_path(pb, "short.csv");
    write_file(path, "a\nb\n", 4);
    assay_reader_options o;
    opts(&o, 64, 16);
    o.start_offset = 100;
    o.force_plain = m->plain;
    assay_reader *r = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_reader__open_small(&r, &path, 1, &o, &err), 0);
    assay_chunk c;
    assert_int_equal(assay_reader_next(r, &c, &err), -ERANGE);
    assert_non_null(strstr(err.msg, "short.csv: cannot resume at byte 100"));
    assay_reader_close(r);
}

/* Larger random files with real 64 KiB buffers, deeper queues and all chunks held for
 * a while: exercises reads in flight while chunks are out. */
static void test_large_files(void **state)
{
    const mode *m = get_mode(state);
    uint64_t seed = 12345;
    char *data[3];
    size_t size[3];
    char p[3][256];
    const char *paths[3];
    for (int f = 0; f < 3; f++) {
        size[f] = (1 << 20) + rng_below(&seed, 1 << 20);
        data[f] = malloc(size[f]);
        assert_non_null(data[f]);
        for (size_t i = 0; i < size[f]; i++) {
            unsigned k = (unsigned)rng_below(&seed, 64);
            data[f][i] = k == 0 ? '\n' : (char)('a' + k % 26);
        }
        char name[32];
        snprintf(name, sizeof(name), "large%d.csv", f);
        paths[f] = tmp_path(p[f], name);
        write_file(paths[f], data[f], size[f]);
    }
    assay_reader_options o;
    opts(&o, 64 << 10, 4096);
    o.nbuffers = 8;
    o.depth = 6;
    checker ck = run(m, paths, (const char *const *)data, size, 3, &o, false, 6, 77);
    assert_true(ck.nsigs >= 48);
    free(ck.sigs);
    for (int f = 0; f < 3; f++)
        free(data[f]);
}

/* With every buffer out, next() says -EAGAIN; one release lets it go on. */
static void test_eagain_when_all_buffers_out(void **state)
{
    const mode *m = get_mode(state);
    const size_t B = 64 << 10, N = 1 << 20;
    char *d = malloc(N);
    assert_non_null(d);
    for (size_t i = 0; i < N; i++)
        d[i] = i % 50 == 49 ? '\n' : 'r';
    char p[256];
    write_file(tmp_path(p, "eagain.csv"), d, N);
    assay_reader_options o;
    opts(&o, B, 1024);
    o.nbuffers = 3;
    o.depth = 2;
    const char *path = p;
    assay_reader *r = open_reader(m, &path, 1, &o, false);
    assay_chunk held[8];
    unsigned nheld = 0;
    assay_error err = { 0 };
    int rc;
    while ((rc = assay_reader_next(r, &held[nheld], &err)) == 0) {
        nheld++;
        assert_true(nheld <= 3); /* never more chunks out than buffers */
    }
    assert_int_equal(rc, -EAGAIN);
    assert_int_equal(nheld, 3); /* the carry source is out too: all three */
    assert_int_equal(assay_reader_next(r, &held[nheld], &err), -EAGAIN);
    assay_reader_release(r, &held[0]);
    assay_chunk c;
    assert_int_equal(assay_reader_next(r, &c, &err), 0);
    assert_int_equal(c.offset, held[1].offset + held[1].len + held[2].len);
    assay_reader_release(r, &c);
    assay_reader_release(r, &held[1]);
    assay_reader_release(r, &held[2]);
    unsigned more = 0;
    while ((rc = assay_reader_next(r, &c, &err)) == 0) {
        assay_reader_release(r, &c);
        more++;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(more, N / B - 3); /* 17 chunks: 16 buffers, then the last row */
    assert_int_equal(assay_reader_next(r, &c, &err), 1); /* stays at the end */
    assay_reader_close(r);
    free(d);
}

/* Child for the stdin test: write n bytes to fd in uneven pieces, then exit. */
static void feed_pipe(int fd, const char *d, size_t n)
{
    uint64_t seed = 99;
    size_t i = 0;
    while (i < n) {
        size_t k = 1 + rng_below(&seed, 20000);
        k = ASSAY_MIN(n - i, k);
        ssize_t w = write(fd, d + i, k);
        if (w <= 0)
            _exit(1);
        i += (size_t)w;
    }
    _exit(0);
}

/* "-" reads stdin (here a pipe fed by a child in uneven pieces), between two regular
 * files; bytes_total is unknown (0) with stdin in the list. */
static void test_stdin_pipe(void **state)
{
    const mode *m = get_mode(state);
    const size_t N = 700 << 10;
    char *d = malloc(N);
    assert_non_null(d);
    for (size_t i = 0; i < N; i++)
        d[i] = i % 37 == 36 ? '\n' : (char)('A' + i % 23);
    static const char a[] = "before\n", b[] = "after";
    char pa[256], pb[256];
    write_file(tmp_path(pa, "stdin_a.csv"), a, 7);
    write_file(tmp_path(pb, "stdin_b.csv"), b, 5);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        feed_pipe(fds[1], d, N);
    }
    close(fds[1]);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);

    const char *paths[] = { pa, "-", pb };
    const char *data[] = { a, d, b };
    size_t size[] = { 7, N, 5 };
    assay_reader_options o;
    opts(&o, 64 << 10, 4096);
    o.nbuffers = 4;
    assay_reader *r = open_reader(m, paths, 3, &o, false);
    assert_int_equal(assay_reader_bytes_total(r), 0);
    checker ck = {
        .data = data, .size = size, .nfiles = 3, .row_end = row_end_nl, .max_row = 4096
    };
    drain(r, &ck, 2, 5);
    assay_reader_close(r);

    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(ck.nsigs >= N / (64 << 10) + 2);
    free(ck.sigs);
    free(d);
}

/* Errors name the file: missing file and directory (at open), a read error in the
 * middle of the list (after the earlier file's chunks), bad options. */
static void test_errors_name_the_file(void **state)
{
    const mode *m = get_mode(state);
    assay_reader_options o;
    opts(&o, 64 << 10, 1024);
    o.force_plain = m->plain;
    assay_error err = { 0 };
    assay_reader *r = NULL;
    char p[256], good[256];
    write_file(tmp_path(good, "good.csv"), "g\n", 2);

    const char *missing[] = { good, tmp_path(p, "no_such.csv") };
    assert_int_equal(assay_reader_open(&r, missing, 2, &o, &err), -ENOENT);
    assert_null(r);
    assert_non_null(strstr(err.msg, "no_such.csv: No such file or directory"));

    const char *dir[] = { tmpdir };
    assert_int_equal(assay_reader_open(&r, dir, 1, &o, &err), -EISDIR);
    assert_non_null(strstr(err.msg, tmpdir));
    assert_non_null(strstr(err.msg, "Is a directory"));

    /* /proc/self/mem stats as a readable regular file but reading offset 0 gives EIO:
     * a read error found by the read itself, in file order, sticky. */
    const char *eio[] = { good, "/proc/self/mem" };
    assert_int_equal(assay_reader_open(&r, eio, 2, &o, &err), 0);
    assay_chunk c;
    assert_int_equal(assay_reader_next(r, &c, &err), 0);
    assert_int_equal(c.file, 0);
    assert_int_equal(c.len, 2);
    assay_reader_release(r, &c);
    assert_int_equal(assay_reader_next(r, &c, &err), -EIO);
    assert_string_equal(err.msg, "/proc/self/mem: Input/output error");
    assay_error_clear(&err);
    assert_int_equal(assay_reader_next(r, &c, &err), -EIO);
    assert_string_equal(err.msg, "/proc/self/mem: Input/output error");
    assay_reader_close(r);

    o.buffer_size = 1000;
    assert_int_equal(assay_reader_open(&r, missing, 1, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "buffer_size 1000"));
    opts(&o, 64 << 10, 1024);
    o.nbuffers = 1;
    assert_int_equal(assay_reader_open(&r, missing, 1, &o, &err), -EINVAL);
    o.nbuffers = 2;
    o.row_end = NULL;
    assert_int_equal(assay_reader_open(&r, missing, 1, &o, &err), -EINVAL);
}

/* An unreadable file (as an unprivileged user, in a child process, since root reads
 * everything) fails at open with "PATH: Permission denied". */
static void test_permission_denied(void **state)
{
    const mode *m = get_mode(state);
    char p[256];
    write_file(tmp_path(p, "secret.csv"), "s\n", 2);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(chmod(tmpdir, 0755), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        assay_reader_options o;
        opts(&o, 64 << 10, 1024);
        o.force_plain = m->plain;
        assay_error err = { 0 };
        assay_reader *r = NULL;
        const char *paths[] = { p };
        int rc = assay_reader_open(&r, paths, 1, &o, &err);
        ssize_t w = write(fds[1], err.msg, strlen(err.msg));
        (void)w;
        _exit(rc == -EACCES ? 0 : 1);
    }
    close(fds[1]);
    char msg[ASSAY_ERROR_MSG_MAX + 1] = { 0 };
    ssize_t n = read(fds[0], msg, ASSAY_ERROR_MSG_MAX);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        skip(); /* cannot drop privileges here */
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(n > 0);
    char want[300];
    snprintf(want, sizeof(want), "%s: Permission denied", p);
    assert_string_equal(msg, want);
}

/* ASSAY_NO_IO_URING=1 turns the ring off even where it works; the output is the same
 * as the ring's (the random test compares the paths chunk for chunk). */
static void test_env_disables_io_uring(void **state)
{
    (void)state;
    char p[256];
    write_file(tmp_path(p, "env.csv"), "e\n", 2);
    const char *paths[] = { p };
    assay_reader_options o;
    opts(&o, 64 << 10, 1024);
    assay_error err = { 0 };
    assay_reader *r = NULL;
    assert_int_equal(setenv("ASSAY_NO_IO_URING", "1", 1), 0);
    assert_int_equal(assay_reader_open(&r, paths, 1, &o, &err), 0);
    assert_false(assay_reader_uses_io_uring(r));
    assay_chunk c;
    assert_int_equal(assay_reader_next(r, &c, &err), 0);
    assert_int_equal(c.len, 2);
    assay_reader_release(r, &c);
    assay_reader_close(r);
    assert_int_equal(setenv("ASSAY_NO_IO_URING", "0", 1), 0);
    assert_int_equal(assay_reader_open(&r, paths, 1, &o, &err), 0);
    assert_int_equal(assay_reader_uses_io_uring(r), ring_available());
    assay_reader_close(r);
    assert_int_equal(unsetenv("ASSAY_NO_IO_URING"), 0);
}

/* When io_uring_setup is refused (EPERM, as under a container's seccomp profile), the
 * reader falls back to read(2) by itself. Run in a child with a seccomp filter that
 * makes io_uring_setup fail. */
static void test_fallback_when_ring_refused(void **state)
{
    (void)state;
    char p[256];
    static const char d[] = "h\n1\n2\n3";
    write_file(tmp_path(p, "refused.csv"), d, sizeof(d) - 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ASSAY_ARRAY_LEN(f), .filter = f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
            _exit(3);
        assay_reader_options o;
        opts(&o, 64 << 10, 1024);
        assay_error err = { 0 };
        assay_reader *r = NULL;
        const char *paths[] = { p };
        if (assay_reader_open(&r, paths, 1, &o, &err) != 0)
            _exit(1);
        if (assay_reader_uses_io_uring(r))
            _exit(2);
        assay_chunk c;
        if (assay_reader_next(r, &c, &err) != 0 || c.len != sizeof(d) - 1 ||
            memcmp(c.data, d, c.len) != 0 || !c.last_in_file)
            _exit(4);
        assay_reader_release(r, &c);
        int rc = assay_reader_next(r, &c, &err);
        assay_reader_close(r);
        _exit(rc == 1 ? 0 : 5);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3)
        skip();                               /* no seccomp here */
    assert_int_equal(WEXITSTATUS(status), 0); /* 1 open, 2 used a ring, 4/5 bad output */
}

/* ------------------------------------------------------------------------------------
 * Compressed files (.gz, .zst): compressed with zlib and libzstd here, read back
 * ---------------------------------------------------------------------------------- */

typedef struct bytes {
    char *p;
    size_t n, cap;
} bytes;

static void bytes_add(bytes *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* One gzip member of d[0..n) appended to out. */
static void gzip_member(bytes *out, const char *d, size_t n, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 64;
    char *buf = malloc(cap);
    assert_non_null(buf);
    zs.next_in = (Bytef *)(uintptr_t)d;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    bytes_add(out, buf, zs.total_out);
    deflateEnd(&zs);
    free(buf);
}

/* One zstd frame of d[0..n) (with a content checksum when sum) appended to out. */
static void zstd_frame(bytes *out, const char *d, size_t n, int level, bool sum)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    assert_non_null(c);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)));
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, sum)));
    size_t cap = ZSTD_compressBound(n);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t k = ZSTD_compress2(c, buf, cap, d, n);
    assert_false(ZSTD_isError(k));
    bytes_add(out, buf, k);
    ZSTD_freeCCtx(c);
    free(buf);
}

enum { GZ = 1, ZST = 2 };

/* d compressed with codec z as `parts` members/frames cut at random points. */
static bytes compress_parts(int z, const char *d, size_t n, unsigned parts, uint64_t *seed)
{
    bytes out = { 0 };
    size_t at = 0;
    for (unsigned i = 0; i < parts; i++) {
        size_t k = i + 1 == parts ? n - at : rng_below(seed, n - at + 1);
        if (z == GZ)
            gzip_member(&out, d + at, k, 1 + (int)(i % 9));
        else
            zstd_frame(&out, d + at, k, 1 + (int)(i % 19), i % 2 == 0);
        at += k;
    }
    return out;
}

/* n bytes of random rows (a BOM first when bom): short rows, quotes, the odd long row;
 * the last byte a '\n' or not. Caller frees. */
static char *random_rows(uint64_t *seed, size_t n, bool bom, size_t max_row)
{
    char *d = malloc(n + 4);
    assert_non_null(d);
    size_t k = 0;
    if (bom && n >= 3) {
        memcpy(d, "\xEF\xBB\xBF", 3);
        k = 3;
    }
    while (k < n) {
        if (rng_below(seed, 60) == 0) {
            size_t run_len = rng_below(seed, 3 * max_row + 2);
            run_len = ASSAY_MIN(n - k, run_len);
            memset(d + k, 'L', run_len);
            k += run_len;
            continue;
        }
        unsigned c = (unsigned)rng_below(seed, 100);
        d[k++] = c < 80 ? (char)('a' + c % 26) : c < 88 ? ',' : c < 91 ? '"' : '\n';
    }
    if (n && rng_below(seed, 2))
        d[n - 1] = '\n';
    return d;
}

static void expect_same_sigs(const checker *a, const checker *b, const char *what, int iter)
{
    if (a->nsigs != b->nsigs)
        fail_msg("%s, iteration %d: %zu chunks, the plain file gave %zu", what, iter, b->nsigs,
                 a->nsigs);
    for (size_t i = 0; i < a->nsigs; i++)
        if (!sig_equal(&a->sigs[i], &b->sigs[i]))
            fail_msg("%s, iteration %d: chunk %zu is offset %llu len %llu, the plain file's "
                     "offset %llu len %llu",
                     what, iter, i, (unsigned long long)b->sigs[i].offset,
                     (unsigned long long)b->sigs[i].len, (unsigned long long)a->sigs[i].offset,
                     (unsigned long long)a->sigs[i].len);
}

/* A .gz and a .zst of the same random CSV (one to three members/frames, BOMs, long
 * rows, empty files) read with tiny buffers and random pools, depths and holding give
 * exactly the plain file's chunks: the same offsets (of the decompressed bytes),
 * lengths, flags and bytes, on this I/O path and the other one; bytes_read counts
 * the compressed bytes. */
static void test_compressed_same_chunks(void **state)
{
    const mode *m = get_mode(state);
    mode other = { !m->plain };
    bool compare = !other.plain ? ring_usable() : true;
    uint64_t seed = 0xC0FFEE12345ull;
    for (int iter = 0; iter < 80; iter++) {
        size_t max_row = 1 + rng_below(&seed, iter % 3 ? 64 : 400);
        size_t n = iter % 10 == 0 ? 0 : rng_below(&seed, 6000);
        char *d = random_rows(&seed, n, rng_below(&seed, 3) == 0, max_row);
        bytes gz = compress_parts(GZ, d, n, 1 + (unsigned)rng_below(&seed, 3), &seed);
        bytes zs = compress_parts(ZST, d, n, 1 + (unsigned)rng_below(&seed, 3), &seed);
        char pp[256], pg[256], pz[256];
        const char *plain = tmp_path(pp, "same.csv"), *gzp = tmp_path(pg, "same.csv.gz"),
                   *zsp = tmp_path(pz, "same.csv.zst");
        write_file(plain, d, n);
        write_file(gzp, gz.p, gz.n);
        write_file(zsp, zs.p, zs.n);
        assay_reader_options o;
        opts(&o, 4 + rng_below(&seed, 300), max_row);
        o.row_end = rng_below(&seed, 2) ? row_end_nl : row_end_quote;
        o.nbuffers = 2 + (unsigned)rng_below(&seed, 5);
        o.depth = 1 + (unsigned)rng_below(&seed, 4);
        unsigned hold = (unsigned)rng_below(&seed, o.nbuffers + 2);
        const char *data = d;
        checker a = run(m, &plain, &data, &n, 1, &o, true, 0, 0);
        checker g = run_read(m, &gzp, &data, &n, 1, &o, true, hold, rng_next(&seed) | 1, gz.n);
        checker z = run_read(m, &zsp, &data, &n, 1, &o, true, hold, rng_next(&seed) | 1, zs.n);
        expect_same_sigs(&a, &g, "gzip", iter);
        expect_same_sigs(&a, &z, "zstd", iter);
        if (compare) {
            checker g2 = run_read(&other, &gzp, &data, &n, 1, &o, true, 0, 0, gz.n);
            checker z2 = run_read(&other, &zsp, &data, &n, 1, &o, true, 0, 0, zs.n);
            expect_same_sigs(&a, &g2, "gzip, other I/O path", iter);
            expect_same_sigs(&a, &z2, "zstd, other I/O path", iter);
            free(g2.sigs);
            free(z2.sigs);
        }
        free(a.sigs);
        free(g.sigs);
        free(z.sigs);
        free(gz.p);
        free(zs.p);
        free(d);
    }
}

/* Larger files through the public API (64 KiB buffers: compressed reads in flight
 * while chunks are out): a .gz, a plain file and a .zst in one list, each the same
 * as its plain version; bytes_total is the sum of the sizes on disk. */
static void test_compressed_large(void **state)
{
    const mode *m = get_mode(state);
    uint64_t seed = 4242;
    char *data[3];
    size_t size[3];
    bytes enc[3] = { { 0 } };
    char p[3][256];
    const char *paths[3];
    static const char *const names[] = { "large0.csv.gz", "large1.csv", "large2.csv.zst" };
    uint64_t on_disk = 0;
    for (int f = 0; f < 3; f++) {
        size[f] = (1 << 20) + rng_below(&seed, 1 << 20);
        data[f] = malloc(size[f]);
        assert_non_null(data[f]);
        for (size_t i = 0; i < size[f]; i++) {
            unsigned k = (unsigned)rng_below(&seed, 64);
            data[f][i] = k == 0 ? '\n' : (char)('a' + k % 26);
        }
        if (f == 0)
            enc[f] = compress_parts(GZ, data[f], size[f], 2, &seed);
        else if (f == 2)
            enc[f] = compress_parts(ZST, data[f], size[f], 2, &seed);
        else
            bytes_add(&enc[f], data[f], size[f]);
        paths[f] = tmp_path(p[f], names[f]);
        write_file(paths[f], enc[f].p, enc[f].n);
        on_disk += enc[f].n;
    }
    assay_reader_options o;
    opts(&o, 64 << 10, 4096);
    o.nbuffers = 8;
    o.depth = 6;
    checker ck = run_read(m, paths, (const char *const *)data, size, 3, &o, false, 6, 77, on_disk);
    assert_true(ck.nsigs >= 48);
    free(ck.sigs);
    assay_reader *r = open_reader(m, paths, 3, &o, false);
    assert_int_equal(assay_reader_bytes_total(r), on_disk);
    assay_reader_close(r);
    for (int f = 0; f < 3; f++) {
        free(data[f]);
        free(enc[f].p);
    }
}

/* Multi-member gzip (as `cat a.gz b.gz` makes, an empty member among them) and
 * multi-frame zstd (a skippable frame, frames with and without checksums) are read to
 * their end, every member's rows in order; member boundaries inside rows do not show.
 * Also in one list with plain files, with only two buffers in the pool. */
static void test_compressed_members_and_frames(void **state)
{
    const mode *m = get_mode(state);
    char d[3000];
    size_t n = 0;
    for (int row = 0; n + 40 < sizeof(d); row++)
        n += (size_t)snprintf(d + n, sizeof(d) - n, "%d,member row %d,%s\n", row, row,
                              row % 3 ? "x" : "yy");
    size_t cut1 = 1001, cut2 = 2002; /* inside rows */
    bytes gz = { 0 }, zs = { 0 };
    gzip_member(&gz, d, cut1, 6);
    gzip_member(&gz, d, 0, 6); /* an empty member */
    gzip_member(&gz, d + cut1, cut2 - cut1, 1);
    gzip_member(&gz, d + cut2, n - cut2, 9);
    zstd_frame(&zs, d, cut1, 3, true);
    static const uint8_t skippable[] = { 0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 'j', 'u', 'n', 'k' };
    bytes_add(&zs, skippable, sizeof(skippable));
    zstd_frame(&zs, d + cut1, cut2 - cut1, 19, false);
    zstd_frame(&zs, d + cut2, n - cut2, 1, true);
    char pg[256], pz[256], pa[256], pb[256];
    write_file(tmp_path(pg, "members.csv.gz"), gz.p, gz.n);
    write_file(tmp_path(pz, "frames.csv.zst"), zs.p, zs.n);
    assay_reader_options o;
    opts(&o, 64, 256);
    for (int z = 0; z < 2; z++) {
        const char *path = z ? pz : pg;
        const char *data = d;
        checker ck = run_read(m, &path, &data, &n, 1, &o, true, 0, 0, z ? zs.n : gz.n);
        assert_true(ck.nsigs >= n / 64);
        assert_int_equal(ck.sigs[ck.nsigs - 1].offset + ck.sigs[ck.nsigs - 1].len, n);
        free(ck.sigs);
    }
    /* plain, gzip, zstd, plain, gzip: the pool holds two buffers */
    static const char a[] = "h\n1\n", b[] = "h\n2";
    write_file(tmp_path(pa, "mixa.csv"), a, 4);
    write_file(tmp_path(pb, "mixb.csv"), b, 3);
    const char *paths[] = { pa, pg, pz, pb, pg };
    const char *data[] = { a, d, d, b, d };
    size_t size[] = { 4, n, n, 3, n };
    o.nbuffers = 2;
    o.depth = 2;
    checker ck = run_read(m, paths, data, size, 5, &o, true, 1, 9, 4 + gz.n + zs.n + 3 + gz.n);
    free(ck.sigs);
    free(gz.p);
    free(zs.p);
}

/* A small compressed file (its compressed bytes fit in one read) that decompresses to
 * many buffers, then a plain file, with a pool of two: while the first is decoded, no
 * read-ahead of the second may take the buffers the decoder writes into (a consumer
 * that holds nothing must never get -EAGAIN). */
static void test_compressed_pool_not_starved(void **state)
{
    const mode *m = get_mode(state);
    const size_t N = 200000, P = 20000;
    char *d = malloc(N), *q = malloc(P);
    assert_non_null(d);
    assert_non_null(q);
    for (size_t i = 0; i < N; i++)
        d[i] = i % 8 == 7 ? '\n' : 'z';
    for (size_t i = 0; i < P; i++)
        q[i] = i % 10 == 9 ? '\n' : 'p';
    for (int z = GZ; z <= ZST; z++) {
        bytes enc = { 0 };
        if (z == GZ)
            gzip_member(&enc, d, N, 9);
        else
            zstd_frame(&enc, d, N, 19, true);
        assert_true(enc.n < 4096);
        char pz[256], pp[256];
        write_file(tmp_path(pz, z == GZ ? "starve.csv.gz" : "starve.csv.zst"), enc.p, enc.n);
        write_file(tmp_path(pp, "starve_after.csv"), q, P);
        const char *paths[] = { pz, pp, pz };
        const char *data[] = { d, q, d };
        size_t size[] = { N, P, N };
        assay_reader_options o;
        opts(&o, 4096, 64);
        o.nbuffers = 2;
        o.depth = 2;
        checker ck = run_read(m, paths, data, size, 3, &o, true, 0, 0, 2 * enc.n + P);
        free(ck.sigs);
        free(enc.p);
    }
    free(d);
    free(q);
}

/* The magic bytes decide, not the name: gzip data named .csv is decompressed, plain
 * data named .gz or .zst is read as it is, and so are files too short to hold a magic
 * number or holding only its first bytes. */
static void test_compressed_magic_not_name(void **state)
{
    const mode *m = get_mode(state);
    static const char d[] = "id,v\n1,a\n2,b\n";
    size_t n = sizeof(d) - 1;
    bytes gz = { 0 }, zs = { 0 };
    gzip_member(&gz, d, n, 6);
    zstd_frame(&zs, d, n, 3, true);
    char p[6][256];
    write_file(tmp_path(p[0], "gzip_named.csv"), gz.p, gz.n);
    write_file(tmp_path(p[1], "zstd_named"), zs.p, zs.n);
    write_file(tmp_path(p[2], "plain_named.csv.gz"), d, n);
    write_file(tmp_path(p[3], "plain_named.csv.zst"), d, n);
    write_file(tmp_path(p[4], "short.gz"), "\x1F", 1);
    write_file(tmp_path(p[5], "prefix.zst"), "\x28\xB5\x2F", 3);
    const char *paths[] = { p[0], p[1], p[2], p[3], p[4], p[5] };
    const char *data[] = { d, d, d, d, "\x1F", "\x28\xB5\x2F" };
    size_t size[] = { n, n, n, n, 1, 3 };
    assay_reader_options o;
    opts(&o, 64 << 10, 1024);
    checker ck = run_read(m, paths, data, size, 6, &o, false, 0, 0, gz.n + zs.n + n + n + 1 + 3);
    assert_int_equal(ck.nsigs, 6);
    free(ck.sigs);
    free(gz.p);
    free(zs.p);
}

/* What an independent streaming decoder makes of enc: the bytes it yields before
 * stopping (into out) and why it stopped: NULL at a clean end, "truncated" when the
 * input ends inside a member/frame, else the library's message. */
static size_t reference_decode(int z, const bytes *enc, char *out, size_t cap, const char **why)
{
    size_t made = 0;
    if (z == GZ) {
        z_stream zs;
        memset(&zs, 0, sizeof(zs));
        assert_int_equal(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
        zs.next_in = (Bytef *)enc->p;
        zs.avail_in = (uInt)enc->n;
        zs.next_out = (Bytef *)out;
        zs.avail_out = (uInt)cap;
        static char msg[256];
        for (;;) {
            int rc = inflate(&zs, Z_NO_FLUSH);
            made = cap - zs.avail_out;
            if (rc == Z_OK)
                continue;
            if (rc == Z_STREAM_END && zs.avail_in == 0) {
                *why = NULL;
            } else if (rc == Z_STREAM_END) {
                assert_int_equal(inflateReset(&zs), Z_OK);
                continue;
            } else if (rc == Z_BUF_ERROR) {
                assert_int_equal(zs.avail_in, 0);
                *why = "truncated";
            } else {
                snprintf(msg, sizeof(msg), "%s", zs.msg);
                *why = msg;
            }
            break;
        }
        inflateEnd(&zs);
        return made;
    }
    /* One byte of input per call: every call that succeeds reports what it wrote,
     * so the count is that of all the data in front of the damaged piece. */
    ZSTD_DStream *ds = ZSTD_createDStream();
    ZSTD_outBuffer ob = { out, cap, 0 };
    size_t r = 1;
    *why = NULL;
    for (size_t i = 0; i < enc->n; i++) {
        ZSTD_inBuffer ib = { enc->p + i, 1, 0 };
        for (int tries = 0; tries < 4 && ib.pos == 0 && !ZSTD_isError(r); tries++)
            r = ZSTD_decompressStream(ds, &ob, &ib);
        assert_true(ZSTD_isError(r) || ib.pos == 1);
        if (ZSTD_isError(r)) {
            *why = ZSTD_getErrorName(r);
            break;
        }
    }
    if (!*why && r != 0)
        *why = "truncated";
    ZSTD_freeDStream(ds);
    return ob.pos;
}

/* Read enc (written to name) and expect it to stop with an error after delivering
 * exactly the whole rows the reference decoder yields before the damage, each chunk
 * at its decompressed offset; the message names the file, the kind of damage and the
 * decompressed offset; the error is sticky. */
static void expect_damaged(const mode *m, int z, const char *name, const bytes *enc, size_t orig,
                           size_t bufsize)
{
    char *ref = malloc(orig + 4096);
    assert_non_null(ref);
    const char *why = NULL;
    size_t good = reference_decode(z, enc, ref, orig + 4096, &why);
    assert_non_null(why); /* the test's damage must be damage */
    char p[256];
    const char *path = tmp_path(p, name);
    write_file(path, enc->p, enc->n);
    assay_reader_options o;
    opts(&o, bufsize, 1 << 20);
    assay_reader *r = open_reader(m, &path, 1, &o, bufsize < (64 << 10));
    assay_error err = { 0 };
    assay_chunk c;
    uint64_t at = 0;
    int rc;
    while ((rc = assay_reader_next(r, &c, &err)) == 0) {
        assert_int_equal(c.offset, at);
        if (c.offset + c.len > good)
            fail_msg("%s: chunk at %llu len %zu, the reference stops at %zu (%s)", name,
                     (unsigned long long)c.offset, c.len, good, why);
        assert_memory_equal(c.data, ref + c.offset, c.len);
        assert_false(c.last_in_file);
        at += c.len;
        assay_reader_release(r, &c);
    }
    const char *nl = good ? memrchr(ref, '\n', good) : NULL;
    size_t rows_end = nl ? (size_t)(nl - ref) + 1 : 0;
    if (at != rows_end)
        fail_msg("%s: rows up to byte %llu delivered, the damage leaves %zu", name,
                 (unsigned long long)at, rows_end);
    assert_int_equal(rc, -EBADMSG);
    char want[512];
    const char *codec = z == GZ ? "gzip" : "zstd";
    if (strcmp(why, "truncated") == 0)
        snprintf(want, sizeof(want), "%s: truncated %s data after %zu decompressed bytes: ", path,
                 codec, good);
    else
        snprintf(want, sizeof(want), "%s: corrupt %s data after %zu decompressed bytes: ", path,
                 codec, good);
    if (strncmp(err.msg, want, strlen(want)) != 0)
        fail_msg("message '%s', wanted it to start '%s'", err.msg, want);
    if (strcmp(why, "truncated") != 0 && !strstr(err.msg, why))
        fail_msg("message '%s' does not give the library's reason '%s'", err.msg, why);
    char first[ASSAY_ERROR_MSG_MAX];
    snprintf(first, sizeof(first), "%s", err.msg);
    assay_error_clear(&err);
    assert_int_equal(assay_reader_next(r, &c, &err), -EBADMSG); /* sticky */
    assert_string_equal(err.msg, first);
    assay_reader_close(r);
    free(ref);
}

/* Truncated files (cut in the header, in the data, in the trailer or checksum),
 * corrupted data and trailing bytes that are not another member/frame: an error that
 * names the file and the decompressed offset, after the rows decoded before it. */
static void test_compressed_damage(void **state)
{
    const mode *m = get_mode(state);
    const size_t N = 700 << 10;
    char *d = malloc(N);
    assert_non_null(d);
    uint64_t seed = 77;
    for (size_t i = 0; i < N; i++)
        d[i] = i % 50 == 49 ? '\n' : (char)('a' + rng_below(&seed, 26));
    for (int z = GZ; z <= ZST; z++) {
        bytes enc = { 0 };
        if (z == GZ)
            gzip_member(&enc, d, N, 6);
        else
            zstd_frame(&enc, d, N, 3, true);
        const char *ext = z == GZ ? "gz" : "zst";
        size_t cuts[] = { 5, enc.n / 5, enc.n / 2, enc.n * 4 / 5, enc.n - 1 };
        for (size_t k = 0; k < ASSAY_ARRAY_LEN(cuts); k++) {
            bytes t = { 0 };
            bytes_add(&t, enc.p, cuts[k]);
            char name[64];
            snprintf(name, sizeof(name), "trunc%zu.csv.%s", k, ext);
            expect_damaged(m, z, name, &t, N, k % 2 ? 64 << 10 : 1000);
            free(t.p);
        }
        bytes bad = { 0 };
        bytes_add(&bad, enc.p, enc.n);
        for (size_t i = enc.n / 2; i < enc.n / 2 + 64; i++)
            bad.p[i] ^= 0x5A;
        char name[64];
        snprintf(name, sizeof(name), "corrupt.csv.%s", ext);
        expect_damaged(m, z, name, &bad, N, 64 << 10);
        bytes trail = { 0 };
        bytes_add(&trail, enc.p, enc.n);
        bytes_add(&trail, "junk after the end\n", 19);
        snprintf(name, sizeof(name), "trailing.csv.%s", ext);
        expect_damaged(m, z, name, &trail, N, 64 << 10);
        free(bad.p);
        free(trail.p);
        free(enc.p);
    }
    free(d);
}

/* Resuming in a compressed file right after any chunk (offsets are decompressed
 * offsets, most of them beyond the compressed file's size) gives exactly the chunks of
 * an uninterrupted read; a resume point past the decompressed end is an error naming
 * the file. */
static void test_compressed_resume(void **state)
{
    const mode *m = get_mode(state);
    uint64_t seed = 0xFEEDull;
    bool beyond_size = false;
    for (int iter = 0; iter < 24; iter++) {
        size_t nfiles = 1 + rng_below(&seed, 3), max_row = 8 + rng_below(&seed, 40);
        char p[3][256];
        const char *paths[3];
        uint64_t csize[3];
        for (size_t f = 0; f < nfiles; f++) {
            size_t n = rng_below(&seed, 3000), k = 0;
            char *data = malloc(n + 4);
            if (rng_below(&seed, 3) == 0) {
                memcpy(data, "\xEF\xBB\xBF", 3);
                k = 3;
            }
            while (k < n + 3)
                data[k++] = rng_below(&seed, 9) == 0 ? '\n' : 'x';
            int z = (int)((f + (size_t)iter) % 3); /* 0: plain */
            bytes enc = { 0 };
            if (z == 0)
                bytes_add(&enc, data, k);
            else
                enc = compress_parts(z, data, k, 1 + (unsigned)rng_below(&seed, 2), &seed);
            char name[32];
            snprintf(name, sizeof(name), "zresume%zu.csv%s", f,
                     z == GZ    ? ".gz"
                     : z == ZST ? ".zst"
                                : "");
            paths[f] = tmp_path(p[f], name);
            write_file(paths[f], enc.p, enc.n);
            csize[f] = z ? enc.n : UINT64_MAX;
            free(enc.p);
            free(data);
        }
        assay_reader_options o;
        opts(&o, 16 + rng_below(&seed, 300), max_row);
        sig all[4096], rest[4096];
        uint64_t seq_all[4096], seq_rest[4096];
        size_t n = read_sigs(m, paths, nfiles, &o, all, seq_all, 4096);
        for (size_t k = 0; k + 1 < n; k++) {
            assay_reader_options ro = o;
            if (all[k].last) {
                ro.start_file = all[k].file + 1;
                ro.start_offset = 0;
            } else {
                ro.start_file = all[k].file;
                ro.start_offset = all[k].offset + all[k].len + all[k].skipped;
                beyond_size |= ro.start_offset > csize[ro.start_file];
            }
            ro.start_seq = seq_all[k] + 1;
            size_t nr = read_sigs(m, paths, nfiles, &ro, rest, seq_rest, 4096);
            if (nr != n - k - 1)
                fail_msg("iteration %d: resuming after chunk %zu of %zu gave %zu chunks", iter, k,
                         n, nr);
            for (size_t i = 0; i < nr; i++)
                if (!sig_equal(&rest[i], &all[k + 1 + i]) || seq_rest[i] != seq_all[k + 1 + i])
                    fail_msg("iteration %d: resuming after chunk %zu: chunk %zu is file %u "
                             "offset %llu len %llu, uninterrupted file %u offset %llu len %llu",
                             iter, k, i, rest[i].file, (unsigned long long)rest[i].offset,
                             (unsigned long long)rest[i].len, all[k + 1 + i].file,
                             (unsigned long long)all[k + 1 + i].offset,
                             (unsigned long long)all[k + 1 + i].len);
        }
    }
    assert_true(beyond_size);
    /* past the decompressed end: the decompressed size counts, not the size on disk */
    char pb[256];
    const char *path = tmp_path(pb, "zshort.csv.gz");
    static const char d[] = "a\nb\nc\nd\n";
    bytes enc = { 0 };
    gzip_member(&enc, d, 8, 6);
    write_file(path, enc.p, enc.n);
    assay_reader_options o;
    opts(&o, 64, 16);
    o.force_plain = m->plain;
    o.start_offset = 10;
    assay_reader *r = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_reader__open_small(&r, &path, 1, &o, &err), 0);
    assay_chunk c;
    assert_int_equal(assay_reader_next(r, &c, &err), -ERANGE);
    assert_non_null(strstr(err.msg, "zshort.csv.gz: cannot resume at byte 10"));
    assay_reader_close(r);
    o.start_offset = 6; /* a row start, beyond nothing: works */
    assert_int_equal(assay_reader__open_small(&r, &path, 1, &o, &err), 0);
    assert_int_equal(assay_reader_next(r, &c, &err), 0);
    assert_int_equal(c.offset, 6);
    assert_int_equal(c.len, 2);
    assert_memory_equal(c.data, "d\n", 2);
    assay_reader_release(r, &c);
    assay_reader_close(r);
    free(enc.p);
}

/* Run the reader over paths with stdin fed `feed` by a child (in uneven pieces). */
static checker run_stdin(const mode *m, const char *feed, size_t feed_len, const char *const *paths,
                         const char *const *data, const size_t *size, size_t n,
                         assay_reader_options *o)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        feed_pipe(fds[1], feed, feed_len);
    }
    close(fds[1]);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    assay_reader *r = open_reader(m, paths, n, o, true);
    checker ck = {
        .data = data, .size = size, .nfiles = n, .row_end = o->row_end, .max_row = o->max_row_bytes
    };
    drain(r, &ck, 2, 5);
    assay_reader_close(r);
    assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
    close(saved);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return ck;
}

/* Compressed stdin ("-", a pipe) is recognised by its magic bytes, among other files,
 * with the plain file's chunks; also as a live stream (chunks then depend on timing,
 * the bytes do not). Plain stdin that starts like a magic number stays plain. */
static void test_compressed_stdin(void **state)
{
    const mode *m = get_mode(state);
    const size_t N = 300 << 10;
    char *d = malloc(N);
    assert_non_null(d);
    for (size_t i = 0; i < N; i++)
        d[i] = i % 37 == 36 ? '\n' : (char)('A' + i % 23);
    uint64_t seed = 5;
    static const char a[] = "before\n";
    char pa[256];
    write_file(tmp_path(pa, "zstdin_a.csv"), a, 7);
    assay_reader_options o;
    opts(&o, 4096, 1024);
    o.nbuffers = 3;
    for (int z = GZ; z <= ZST; z++) {
        bytes enc = compress_parts(z, d, N, 3, &seed);
        char pp[256];
        write_file(tmp_path(pp, "zstdin_plain.csv"), d, N);
        const char *plain = pp;
        const char *data1 = d;
        checker want = run(m, &plain, &data1, &N, 1, &o, true, 0, 0);
        const char *paths[] = { pa, "-" };
        const char *data[] = { a, d };
        size_t size[] = { 7, N };
        checker got = run_stdin(m, enc.p, enc.n, paths, data, size, 2, &o);
        assert_int_equal(got.nsigs, want.nsigs + 1);
        for (size_t i = 0; i < want.nsigs; i++) {
            want.sigs[i].file = 1; /* stdin is the second file */
            if (!sig_equal(&got.sigs[i + 1], &want.sigs[i]))
                fail_msg("%s stdin: chunk %zu differs from the plain file's",
                         z == GZ ? "gzip" : "zstd", i);
        }
        o.stream = true;
        checker live = run_stdin(m, enc.p, enc.n, paths, data, size, 2, &o);
        o.stream = false;
        free(want.sigs);
        free(got.sigs);
        free(live.sigs);
        free(enc.p);
    }
    /* one byte of the gzip magic, then the end; "(" starts the zstd magic, then text */
    static const char one[] = "\x1F", paren[] = "(1,2)\n(3,4)\n";
    const char *paths[] = { "-" };
    const char *d1[] = { one }, *d2[] = { paren };
    size_t s1[] = { 1 }, s2[] = { sizeof(paren) - 1 };
    checker ck = run_stdin(m, one, 1, paths, d1, s1, 1, &o);
    free(ck.sigs);
    ck = run_stdin(m, paren, s2[0], paths, d2, s2, 1, &o);
    free(ck.sigs);
    free(d);
}

#define BOTH(t) cmocka_unit_test_prestate(t, &mode_ring), cmocka_unit_test_prestate(t, &mode_plain)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_rows_at_buffer_boundaries),
        BOTH(test_carry_between_buffers),
        BOTH(test_multiple_files_empty_and_bom),
        BOTH(test_oversized_rows),
        BOTH(test_quote_aware_row_end),
        BOTH(test_random_files),
        BOTH(test_large_files),
        BOTH(test_resume_at_chunk_boundaries),
        BOTH(test_eagain_when_all_buffers_out),
        BOTH(test_stdin_pipe),
        BOTH(test_errors_name_the_file),
        BOTH(test_permission_denied),
        BOTH(test_compressed_same_chunks),
        BOTH(test_compressed_large),
        BOTH(test_compressed_members_and_frames),
        BOTH(test_compressed_pool_not_starved),
        BOTH(test_compressed_magic_not_name),
        BOTH(test_compressed_damage),
        BOTH(test_compressed_resume),
        BOTH(test_compressed_stdin),
        cmocka_unit_test(test_env_disables_io_uring),
        cmocka_unit_test(test_fallback_when_ring_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
