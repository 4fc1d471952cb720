/*
 * decompress.c - streaming gzip and zstd decoding behind one small interface.
 *
 * Formats
 * -------
 * gzip (RFC 1952, "GZIP file format specification version 4.3"): a file is one or more
 * *members*, each a header that starts with the magic bytes 1F 8B and the method byte
 * 08 (deflate, RFC 1951), optional extra/name/comment fields, the deflate data, and an
 * 8-byte trailer holding the CRC-32 and the length (mod 2^32) of the member's
 * uncompressed data. RFC 1952 section 2.2 says a file may hold several members one
 * after another and that a decoder yields their data concatenated; `cat a.gz b.gz`
 * makes such a file, and so do pigz and bgzip. zlib (the zlib manual, zlib.net/manual
 * .html: inflateInit2, inflate, inflateReset) decodes one member per stream when
 * inflateInit2 is given windowBits 16 + MAX_WBITS (gzip wrapper only, 32 KiB window)
 * and checks the header, the CRC and the length itself: inflate() returns
 * Z_STREAM_END at a member's end. When input remains after that, this decoder calls
 * inflateReset() and goes on with the next member; the bytes after a member must be
 * another member (trailing garbage, even zero padding, is an error here, where gzip(1)
 * only warns: a data-quality tool should not guess at bytes it cannot read).
 *
 * zstd (RFC 8878, "Zstandard Compression and the application/zstd Media Type"): a file
 * is a sequence of *frames*; a Zstandard frame starts with the magic number 0xFD2FB528
 * (bytes 28 B5 2F FD, little-endian); a skippable frame (magic 0x184D2A50 to
 * 0x184D2A5F) adds nothing to the content. Section 3.1 has decoders handle a sequence of frames as
 * the concatenation of their contents. libzstd's streaming decoder (zstd.h: ZSTD_createDStream,
 * ZSTD_decompressStream) already works that way: a call returns 0 when a frame has
 * been decoded and fully flushed, and the next call with more input starts the next
 * frame (skippable frames are passed over). Window sizes up to 2^27 (128 MiB, libzstd's
 * default limit) are accepted; frames that need more (`zstd --long=28` and up, on
 * inputs that large) are refused with a message that says so.
 *
 * Detection is by magic number only (assay_codec_sniff); the reader calls it on a
 * file's first bytes, whatever the name says.
 *
 * Errors and completeness
 * -----------------------
 * A decoding error (bad header, bad deflate code, CRC or length mismatch, zstd
 * corruption or checksum) is -EBADMSG with the library's own message (zlib's
 * strm.msg, ZSTD_getErrorName). Output written before the bad spot stays in the
 * output: both libraries emit data as they decode it, so the reader can still hand
 * out the rows in front of the damage (damage found only by a CRC or checksum at the
 * end of a member or frame has gone out with them). A file that just stops (a truncated download)
 * is not an error from the decoder's point of view, it simply wants more input; the caller asks
 * assay_decoder_complete() once the input has ended, which is true only when the last
 * member or frame was complete and all its bytes were delivered.
 *
 * No global state; every decoder owns its library context.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "io/decompress.h"

struct assay_decoder {
    assay_codec codec;
    bool complete;     /* the last member/frame ended and was flushed */
    unsigned finished; /* members/frames completed so far */
    /* gzip */
    z_stream zs;
    bool zs_ready; /* inflateInit2 succeeded */
    bool gz_reset; /* a member ended: reset before reading on */
    bool gz_fresh; /* nothing of the current member decoded yet */
    /* zstd */
    ZSTD_DStream *zd;
    size_t zhint;  /* input size libzstd asked for last (see zstd_step) */
    bool zpending; /* the last call filled the output: libzstd may hold more */
};

/* Input for a frame's first call: the magic number and the frame header descriptor
 * (libzstd then asks for the rest of the header). */
#define ZSTD_FIRST_PIECE 5u
/* A zstd block header: 3 bytes (RFC 8878 section 3.1.1.2). */
#define ZSTD_BLOCK_HEADER 3u

static const uint8_t gzip_magic[] = { 0x1F, 0x8B };
static const uint8_t zstd_magic[] = { 0x28, 0xB5, 0x2F, 0xFD };

assay_codec assay_codec_sniff(const void *head, size_t len)
{
    const uint8_t *h = head;
    if (len >= sizeof(gzip_magic) && memcmp(h, gzip_magic, sizeof(gzip_magic)) == 0)
        return ASSAY_CODEC_GZIP;
    if (len >= sizeof(zstd_magic) && memcmp(h, zstd_magic, sizeof(zstd_magic)) == 0)
        return ASSAY_CODEC_ZSTD;
    return ASSAY_CODEC_NONE;
}

bool assay_codec_undecided(const void *head, size_t len)
{
    const uint8_t *h = head;
    if (len < sizeof(gzip_magic) && memcmp(h, gzip_magic, len) == 0)
        return true;
    return len < sizeof(zstd_magic) && memcmp(h, zstd_magic, len) == 0;
}

const char *assay_codec_name(assay_codec c)
{
    return c == ASSAY_CODEC_GZIP ? "gzip" : c == ASSAY_CODEC_ZSTD ? "zstd" : "plain";
}

int assay_decoder_open(assay_decoder **out, assay_codec c, assay_error *err)
{
    *out = NULL;
    if (c != ASSAY_CODEC_GZIP && c != ASSAY_CODEC_ZSTD)
        return assay_error_set(err, -EINVAL, "decoder: no such codec %d", (int)c);
    assay_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return assay_error_set(err, -ENOMEM, "decoder: out of memory");
    d->codec = c;
    if (c == ASSAY_CODEC_GZIP) {
        /* 16 + MAX_WBITS: a gzip wrapper (not zlib's own, not raw deflate). */
        int rc = inflateInit2(&d->zs, 16 + MAX_WBITS);
        if (rc != Z_OK) {
            free(d);
            return assay_error_set(err, rc == Z_MEM_ERROR ? -ENOMEM : -EINVAL,
                                   "decoder: inflateInit2: %s", zError(rc));
        }
        d->zs_ready = true;
        d->gz_fresh = true;
    } else {
        d->zd = ZSTD_createDStream();
        if (!d->zd || ZSTD_isError(ZSTD_initDStream(d->zd))) {
            ZSTD_freeDStream(d->zd);
            free(d);
            return assay_error_set(err, -ENOMEM, "decoder: cannot create a zstd context");
        }
        d->zhint = ZSTD_FIRST_PIECE;
    }
    *out = d;
    return 0;
}

/* One zlib call's worth of input/output never exceeds what a uInt counts. */
static uInt clamp_uint(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (uInt)n;
}

static int gzip_step(assay_decoder *d, const uint8_t **in, size_t *in_len, char *out, size_t cap,
                     size_t *out_len, assay_error *err)
{
    while (*out_len < cap) {
        if (d->gz_reset) {
            if (*in_len == 0)
                return 0; /* at a member boundary: end here or wait for the next one */
            if (inflateReset(&d->zs) != Z_OK)
                return assay_error_set(err, -EBADMSG, "inflateReset failed");
            d->gz_reset = false;
            d->gz_fresh = true;
            d->complete = false;
        }
        uInt avail_in = clamp_uint(*in_len), avail_out = clamp_uint(cap - *out_len);
        d->zs.next_in = (Bytef *)(uintptr_t)*in;
        d->zs.avail_in = avail_in;
        d->zs.next_out = (Bytef *)out + *out_len;
        d->zs.avail_out = avail_out;
        int rc = inflate(&d->zs, Z_NO_FLUSH);
        size_t used = avail_in - d->zs.avail_in, made = avail_out - d->zs.avail_out;
        if (used) /* *in may be NULL when nothing is left */
            *in += used;
        *in_len -= used;
        *out_len += made;
        if (made)
            d->gz_fresh = false;
        switch (rc) {
        case Z_STREAM_END:
            d->finished++;
            d->complete = true;
            d->gz_reset = true;
            continue;
        case Z_OK:
            if (used == 0 && made == 0)
                return 0;
            continue;
        case Z_BUF_ERROR: /* no progress possible: input is needed */
            return 0;
        case Z_MEM_ERROR:
            return assay_error_set(err, -ENOMEM, "out of memory in zlib");
        case Z_NEED_DICT:
            return assay_error_set(err, -EBADMSG, "the data needs a preset dictionary");
        default:
            if (d->finished > 0 && d->gz_fresh && d->zs.total_in <= 10) /* in the header */
                return assay_error_set(err, -EBADMSG,
                                       "the bytes after gzip member %u are not another gzip "
                                       "member (%s)",
                                       d->finished, d->zs.msg ? d->zs.msg : zError(rc));
            return assay_error_set(err, -EBADMSG, "%s", d->zs.msg ? d->zs.msg : zError(rc));
        }
    }
    return 0;
}

/* A libzstd call that meets bad input returns the error without saying how much it
 * wrote first, so no call may both write output and then fail. Two rules see to it:
 *
 *   - output libzstd holds back (our buffer was full) is flushed by calls without
 *     input, and input is handed over only once nothing is left to flush;
 *   - input goes in pieces no larger than the size the last call asked for minus a
 *     block header (3 bytes, RFC 8878 section 3.1.1.2). When a block's content comes
 *     next, libzstd asks for the content plus the next block's header, so the piece
 *     is exactly the content: the call decodes it and flushes it, and any bad block
 *     header or checksum after it is met by a later call that writes nothing. (For
 *     any other piece the cut only splits it in two; libzstd waits for the rest.)
 *
 * Then an error met in a block header, a checksum or a bad block is reported at the
 * end of the last good block, however the output is sliced. Checks made at the end of
 * a block that has been written already (a frame's content size) still lose that
 * block's count, so a zstd error offset may stop up to one block (128 KiB) short of
 * what was decoded; rows in that block are not handed out. */
static int zstd_step(assay_decoder *d, const uint8_t **in, size_t *in_len, char *out, size_t cap,
                     size_t *out_len, assay_error *err)
{
    ZSTD_outBuffer ob = { .dst = out, .size = cap, .pos = *out_len };
    size_t used = 0;
    int rc = 0;
    while (ob.pos < ob.size) {
        size_t left = *in_len - used;
        bool flush_only = d->zpending;
        size_t piece = d->zhint > ZSTD_BLOCK_HEADER ? d->zhint - ZSTD_BLOCK_HEADER : d->zhint;
        ZSTD_inBuffer ib = { .src = left ? *in + used : NULL,
                             .size = flush_only ? 0 : ASSAY_MIN(left, piece),
                             .pos = 0 };
        size_t out0 = ob.pos;
        bool at_boundary = d->complete;
        size_t r = ZSTD_decompressStream(d->zd, &ob, &ib);
        if (ZSTD_isError(r)) {
            const char *why = ZSTD_getErrorName(r);
            if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
                rc = assay_error_set(err, -EBADMSG,
                                     "%s (the frame needs a window over 128 MiB, as "
                                     "`zstd --long=28` and up make; recompress without "
                                     "--long)",
                                     why);
            else if (at_boundary && d->finished > 0 && ob.pos == out0)
                rc = assay_error_set(err, -EBADMSG,
                                     "the bytes after zstd frame %u are not another zstd "
                                     "frame (%s)",
                                     d->finished, why);
            else
                rc = assay_error_set(err, -EBADMSG, "%s", why);
            break;
        }
        used += ib.pos;
        d->zpending = ob.pos == ob.size; /* more may be held back */
        if (ib.pos == 0 && ob.pos == out0) {
            if (flush_only)
                continue; /* nothing was held back: now the input */
            break;        /* needs more input */
        }
        /* Only a call that moved something says where the stream stands: an empty
         * call at a frame boundary returns a size hint for the next frame's header. */
        d->complete = r == 0;
        if (r == 0)
            d->finished++;
        d->zhint = r ? r : ZSTD_FIRST_PIECE;
    }
    if (used)
        *in += used;
    *in_len -= used;
    *out_len = ob.pos;
    return rc;
}

int assay_decoder_step(assay_decoder *d, const uint8_t **in, size_t *in_len, char *out, size_t cap,
                       size_t *out_len, assay_error *err)
{
    if (d->codec == ASSAY_CODEC_GZIP)
        return gzip_step(d, in, in_len, out, cap, out_len, err);
    return zstd_step(d, in, in_len, out, cap, out_len, err);
}

bool assay_decoder_complete(const assay_decoder *d)
{
    return d->complete;
}

void assay_decoder_close(assay_decoder *d)
{
    if (!d)
        return;
    if (d->zs_ready)
        inflateEnd(&d->zs);
    ZSTD_freeDStream(d->zd);
    free(d);
}
