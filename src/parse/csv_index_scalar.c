/*
 * csv_index_scalar.c - the reference structural-index kernel for CSV.
 *
 * What a structural index is
 * --------------------------
 * Framing CSV (RFC 4180, section 2) needs one bit of state: are we inside a quoted
 * field? A delimiter or a line feed is structural only outside quotes. The index is
 * the list of offsets of the structural bytes of a buffer, in order, with bit 31
 * (ASSAY_CSV_SEP_NEWLINE) set on line feeds; row assembly (csv.c) then walks this list
 * instead of the bytes.
 *
 * The quote state is *parity*: it flips at every quote byte, wherever that byte is.
 * A doubled quote "" inside a quoted field flips it twice and so needs no special
 * case; a stray quote in an unquoted field flips it too (row assembly reports such a
 * row as bad, but the framing stays exactly what the SIMD kernels compute, so rows
 * never depend on which kernel ran or where a reader cut its chunks).
 *
 * This file is the byte-at-a-time twin of csv_index_avx2.c and csv_index_avx512.c,
 * which compute the same thing 64 bytes at a time with bit masks and a carry-less
 * multiply (Langdale & Lemire, "Parsing Gigabytes of JSON per Second", VLDB Journal
 * 28(6), 2019, section 3.1; Geoff Langdale's simdcsv write-up applies it to CSV). To be
 * a faithful twin it copies their outer structure too: it walks 64-byte blocks and
 * stops before a block when fewer than 64 output slots remain, so *consumed, the
 * output and the carried state are identical byte for byte. The order of the two
 * tests per byte mirrors the bit algebra exactly: the in-quote mask of the SIMD
 * kernels is the *inclusive* prefix XOR of the quote mask, so a byte's own quote flip
 * happens before it is tested as a separator. (This only matters for degenerate
 * options such as delimiter == quote, which csv.c rejects; the kernels still agree.)
 *
 * Speed: about 1 byte per cycle, which is the floor for non-x86 builds.
 */
#include "parse/csv_internal.h"

size_t assay_csv_index_scalar(const char *buf, size_t len, char delim, char quote,
                              uint64_t *in_quote, uint32_t *seps, size_t cap, size_t *consumed,
                              uint32_t *nlines)
{
    const unsigned char *p = (const unsigned char *)buf;
    const unsigned char d = (unsigned char)delim, q = (unsigned char)quote;
    unsigned inq = *in_quote ? 1u : 0u;
    uint32_t nl = 0;
    size_t n = 0, i = 0;

    while (i < len) {
        if (cap - n < ASSAY_CSV_BLOCK)
            break;
        size_t end = len - i < ASSAY_CSV_BLOCK ? len : i + ASSAY_CSV_BLOCK;
        for (; i < end; i++) {
            unsigned char c = p[i];
            inq ^= (c == q);
            nl += (c == '\n');
            if (!inq && (c == d || c == '\n'))
                seps[n++] = (uint32_t)i | (c == '\n' ? ASSAY_CSV_SEP_NEWLINE : 0);
        }
    }
    *consumed = i;
    *nlines += nl;
    *in_quote = inq ? ~(uint64_t)0 : 0;
    return n;
}
