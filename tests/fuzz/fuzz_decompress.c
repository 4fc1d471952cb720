/*
 * fuzz_decompress.c - libFuzzer target for the gzip/zstd decoders and the reader's
 * decompressing path.
 *
 * The first byte chooses the setup: the decoder's input and output piece sizes, the
 * reader's buffer size, the row finder's quote mode and the I/O path; the rest is the
 * file. It is decoded three ways and the results must agree, else it aborts:
 *
 *   1. in one go (decoder, all input, 256 KiB of output room);
 *   2. in small pieces of input and output (decoder), and cut where the reader cuts:
 *      the same bytes and the same error or completeness (the length only may differ
 *      at a zstd error, see below);
 *   3. through the reader (a memfd file, tiny buffers): the chunks are contiguous,
 *      each holds exactly the bytes decoded at its offset, every non-last chunk ends
 *      at a row end; the reader ends cleanly exactly when the decoders did, else with
 *      -EBADMSG and the offset reached in its message (exactly that of the decoder
 *      cut where the reader cuts); bytes that start with no magic number come out as
 *      they are.
 *
 * Output beyond 256 KiB (a decompression bomb in 8 KiB) is not compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "assay/reader.h"
#include "io/decompress.h"

int assay_reader__open_small(assay_reader **out, const char *const *paths, size_t npaths,
                             const assay_reader_options *o, assay_error *err);

#define OUT_CAP ((size_t)256 << 10)

/* abort() with the failed property on stderr */
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_decompress.c:%d: %s\n", __LINE__, #c);                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct decoded {
    char *out;
    size_t n;
    bool failed, complete, capped;
} decoded;

/* Decode in with codec c, the input cut at multiples of inp and the output at
 * multiples of outp (0: no cuts), as the reader cuts them at its buffer size. */
static decoded decode(assay_codec c, const uint8_t *in, size_t len, size_t inp, size_t outp)
{
    decoded r = { .out = malloc(OUT_CAP) };
    assay_decoder *d = NULL;
    assay_error err = { 0 };
    CHECK(r.out && assay_decoder_open(&d, c, &err) == 0);
    size_t pos = 0;
    for (;;) {
        size_t piece = inp ? ASSAY_MIN(len, (pos / inp + 1) * inp) - pos : len - pos;
        const uint8_t *p = in + pos;
        size_t left = piece;
        size_t cap = outp ? ASSAY_MIN(OUT_CAP, (r.n / outp + 1) * outp) : OUT_CAP;
        size_t n0 = r.n;
        int rc = assay_decoder_step(d, &p, &left, r.out, cap, &r.n, &err);
        CHECK(r.n <= cap && left <= piece);
        pos += piece - left;
        if (rc < 0) {
            CHECK(rc == -EBADMSG && err.msg[0]);
            r.failed = true;
            break;
        }
        if (r.n == OUT_CAP) {
            r.capped = true;
            break;
        }
        bool moved = r.n > n0 || left < piece;
        if (!moved && pos == len)
            break;                  /* input used up */
        CHECK(moved || piece == 0); /* input and room, and no progress */
    }
    r.complete = !r.failed && assay_decoder_complete(d);
    assay_decoder_close(d);
    return r;
}

/* The reader's buffer size in this run. */
static size_t buffer_size(uint8_t cfg)
{
    return 4 + (size_t)(cfg & 0x1F) * 13;
}

static size_t row_end_nl(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    const char *p = memrchr(buf, '\n', len);
    return p ? (size_t)(p - buf) + 1 : 0;
}

/* Read the file through the reader and check it against want (the decoded bytes, or
 * the raw ones for a plain file). */
static void read_back(const uint8_t *data, size_t len, uint8_t cfg, const decoded *want,
                      bool compressed)
{
    int fd = memfd_create("fuzz_decompress", 0);
    if (fd < 0)
        return;
    CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const char *paths[] = { path };
    assay_reader_options o;
    assay_reader_options_default(&o);
    o.buffer_size = buffer_size(cfg);
    o.max_row_bytes = OUT_CAP; /* no row is cut: every output is shorter */
    o.nbuffers = 2 + (cfg >> 5 & 1);
    o.force_plain = !(cfg & 0x80);
    o.row_end = row_end_nl;
    assay_reader *r = NULL;
    assay_error err = { 0 };
    CHECK(assay_reader__open_small(&r, paths, 1, &o, &err) == 0);
    uint64_t at = 0;
    bool last = false;
    int rc;
    assay_chunk c;
    while ((rc = assay_reader_next(r, &c, &err)) == 0) {
        CHECK(!last && !c.oversized);
        /* contiguous; a BOM at the start is dropped */
        CHECK(c.offset == at || (at == 0 && c.offset == 3 && c.first_in_file));
        CHECK(c.offset + c.len <= want->n && memcmp(c.data, want->out + c.offset, c.len) == 0);
        CHECK(c.last_in_file || (c.len > 0 && c.data[c.len - 1] == '\n'));
        at = c.offset + c.len;
        last = c.last_in_file;
        assay_reader_release(r, &c);
    }
    if (rc == 1) {
        CHECK(last && at == want->n && (!compressed || want->complete));
    } else {
        CHECK(rc == -EBADMSG && compressed && !want->complete);
        char needle[64];
        snprintf(needle, sizeof(needle), " data after %zu decompressed bytes: ", want->n);
        CHECK(strstr(err.msg, path) && strstr(err.msg, needle));
        /* the whole rows decoded before the damage were delivered */
        const char *nl = want->n ? memrchr(want->out, '\n', want->n) : NULL;
        CHECK(at >= (nl ? (size_t)(nl - want->out) + 1 : 0));
    }
    assay_reader_close(r);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    data++;
    size--;
    assay_codec c = assay_codec_sniff(data, size);
    if (c == ASSAY_CODEC_NONE) {
        /* the decoders still get the bytes; the reader must pass them through */
        for (int k = ASSAY_CODEC_GZIP; k <= ASSAY_CODEC_ZSTD; k++) {
            decoded a = decode((assay_codec)k, data, size, 0, 0);
            free(a.out);
        }
        decoded raw = { .out = (char *)(uintptr_t)data, .n = size, .complete = true };
        read_back(data, size, cfg, &raw, false);
        return 0;
    }
    decoded one = decode(c, data, size, 0, 0);
    decoded bits = decode(c, data, size, 1 + (cfg & 7) * 5, 1 + (cfg >> 3 & 7) * 9);
    size_t bs = buffer_size(cfg);
    decoded grid = decode(c, data, size, bs, bs); /* what the reader's decoder sees */
    if (!one.capped && !bits.capped && !grid.capped) {
        CHECK(one.failed == bits.failed && one.complete == bits.complete);
        CHECK(one.failed == grid.failed && one.complete == grid.complete);
        /* The same bytes however the input and output are cut. Only the length at a
         * zstd error may differ: libzstd does not report what the failing call wrote
         * (up to a block; see zstd_step), and where it fails depends on the cuts. */
        size_t n = ASSAY_MIN(one.n, ASSAY_MIN(bits.n, grid.n));
        CHECK(memcmp(one.out, bits.out, n) == 0 && memcmp(one.out, grid.out, n) == 0);
        CHECK((c == ASSAY_CODEC_ZSTD && one.failed) || (one.n == bits.n && one.n == grid.n));
        read_back(data, size, cfg, &grid, true);
    }
    free(one.out);
    free(bits.out);
    free(grid.out);
    return 0;
}
