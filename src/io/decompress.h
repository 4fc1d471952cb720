/*
 * io/decompress.h - streaming gzip and zstd decoders for the file reader (internal).
 *
 * A decoder turns a compressed byte stream, handed over in pieces of any size, into
 * the bytes it stands for, written into output areas of any size. It knows nothing of
 * files, rows or chunks; the reader (reader.c) feeds it and carves its output. See
 * decompress.c for the formats and what counts as an error.
 */
#ifndef ASSAY_IO_DECOMPRESS_H
#define ASSAY_IO_DECOMPRESS_H

#include "assay/common.h"

typedef enum assay_codec {
    ASSAY_CODEC_NONE = 0, /* not compressed (or not in a format we decode) */
    ASSAY_CODEC_GZIP,     /* RFC 1952: starts 1F 8B */
    ASSAY_CODEC_ZSTD,     /* RFC 8878: starts 28 B5 2F FD */
} assay_codec;

/* Bytes needed from a file's start to tell its codec. */
#define ASSAY_CODEC_SNIFF_LEN 4u

/* The codec the first len bytes of a stream announce (ASSAY_CODEC_NONE when they
 * match no magic number, or are too few to hold the whole magic). */
assay_codec assay_codec_sniff(const void *head, size_t len);

/* true when head[0..len) is a proper prefix of some magic number, so more bytes are
 * needed before sniff can decide (len < ASSAY_CODEC_SNIFF_LEN). */
bool assay_codec_undecided(const void *head, size_t len);

/* "gzip", "zstd" or "plain". */
const char *assay_codec_name(assay_codec c);

typedef struct assay_decoder assay_decoder;

/* A decoder for codec c (GZIP or ZSTD). Returns 0 or -ENOMEM / -EINVAL with err set. */
int assay_decoder_open(assay_decoder **out, assay_codec c, assay_error *err);

/* Decode from the input (*in, *in_len; both advanced past what was consumed) into
 * out[*out_len .. cap) (*out_len advanced past what was written). It stops when the
 * output is full or no progress can be made without more input. Returns 0, or on bad
 * input -EBADMSG with err holding the reason (the library's message, e.g. "invalid
 * distance too far back"); bytes written before the bad spot stay in out. After an
 * error the decoder must not be used again. */
int assay_decoder_step(assay_decoder *d, const uint8_t **in, size_t *in_len, char *out, size_t cap,
                       size_t *out_len, assay_error *err);

/* true when everything consumed so far ends exactly at the end of a gzip member or
 * zstd frame, with all its output delivered: input ending here is complete. */
bool assay_decoder_complete(const assay_decoder *d);

void assay_decoder_close(assay_decoder *d);

#endif
