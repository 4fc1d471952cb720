/*
 * UTF-8 validation and code-point counting (RFC 3629).
 *
 * What is valid
 * -------------
 * RFC 3629, section 4, gives the whole grammar of well-formed UTF-8 as a table of
 * byte ranges. Every rule below is read straight off it:
 *
 *     U+0000..U+007F     00..7F
 *     U+0080..U+07FF     C2..DF  80..BF
 *     U+0800..U+0FFF     E0      A0..BF  80..BF      (E0 80..9F would be overlong)
 *     U+1000..U+CFFF     E1..EC  80..BF  80..BF
 *     U+D000..U+D7FF     ED      80..9F  80..BF      (ED A0..BF = surrogates D800..DFFF)
 *     U+E000..U+FFFF     EE..EF  80..BF  80..BF
 *     U+10000..U+3FFFF   F0      90..BF  80..BF 80..BF  (F0 80..8F would be overlong)
 *     U+40000..U+FFFFF   F1..F3  80..BF  80..BF 80..BF
 *     U+100000..U+10FFFF F4      80..8F  80..BF 80..BF  (F4 90.. would pass U+10FFFF)
 *
 * So C0, C1 and F5..FF never appear, a continuation byte (80..BF) never starts a
 * character, and only the second byte of a sequence has a narrowed range. Anything
 * else - overlongs, surrogates, code points above U+10FFFF, a sequence cut short by
 * the end of the buffer or by a byte that is not a continuation - is invalid.
 *
 * assay_utf8_check() returns the offset of the lead byte of the first ill-formed
 * sequence: every byte before it belongs to a complete, valid character. That is the
 * "maximal valid prefix" a quarantine message can point at ("invalid UTF-8 at byte 17").
 *
 * Speed
 * -----
 * Most data that flows through assay is ASCII, and ASCII is valid UTF-8 byte by byte.
 * The checker therefore tests 16 bytes at a time (two 64-bit words OR-ed and masked
 * with 0x80 in every byte, "SWAR": SIMD within a register) and only decodes a
 * multi-byte character when a high bit shows up; on little-endian machines the count
 * of trailing zero bits of the mask jumps straight to the first non-ASCII byte. This
 * is portable C (x86-64 and arm64 alike) and reaches memory bandwidth on ASCII; mixed
 * text falls back to the table-driven decode above one character at a time. A full
 * vector validator (Keiser & Lemire, "Validating UTF-8 in less than one instruction
 * per byte", Software: Practice and Experience 51(5), 2021) would speed up non-ASCII
 * heavy text further; it is not needed for the JSON parser, which calls this only on
 * string segments that actually contain a high byte.
 *
 * assay_utf8_length() counts the bytes that are not continuation bytes (10xxxxxx):
 * each character has exactly one. SWAR again: in each byte, bit 7 set and bit 6
 * clear marks a continuation, i.e. (x & ~(x << 1)) & 0x80..80; shifted down to 0/1 per
 * byte these add up in eight byte-wide counters for up to 255 words, and one multiply
 * by 0x01..01 sums the counters (no popcount instruction needed, which baseline
 * x86-64 lacks).
 */
#include <string.h>

#include "assay/utf8.h"

#define HI8 0x8080808080808080ull

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof(x));
    return x;
}

/* Length (2..4) of the valid multi-byte sequence at p (p < end, *p >= 0x80), or 0 when
 * it is ill-formed or truncated. */
static inline size_t multibyte_len(const uint8_t *p, const uint8_t *end)
{
    uint8_t b0 = p[0];
    size_t avail = (size_t)(end - p);
    if (b0 < 0xC2)
        return 0; /* continuation byte, or C0/C1 overlong lead */
    if (b0 < 0xE0)
        return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (b0 < 0xF0) {
        uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
        uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
        if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (b0 < 0xF5) {
        uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
        uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
        if (avail < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

size_t assay_utf8_check(const char *s, size_t len)
{
    const uint8_t *start = (const uint8_t *)s;
    const uint8_t *p = start;
    const uint8_t *end = start + len;
    while (p < end) {
        if (*p < 0x80) {
            /* ASCII run: 16 bytes per step, then jump to the first high byte. */
            while (end - p >= 16) {
                uint64_t a = load64(p) & HI8;
                uint64_t b = load64(p + 8) & HI8;
                if (a | b) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                    p += a ? (size_t)__builtin_ctzll(a) / 8 : 8 + (size_t)__builtin_ctzll(b) / 8;
#endif
                    break;
                }
                p += 16;
            }
            while (p < end && *p < 0x80)
                p++;
            continue;
        }
        size_t n = multibyte_len(p, end);
        if (n == 0)
            return (size_t)(p - start);
        p += n;
    }
    return len;
}

size_t assay_utf8_length(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t cont = 0;
    size_t i = 0;
    while (len - i >= 8) {
        /* Per-byte counters (0/1 added per block) cannot overflow in 255 blocks; the
         * multiply sums the eight lanes into the top byte. */
        uint64_t acc = 0;
        size_t blocks = ASSAY_MIN((len - i) / 8, 255);
        for (size_t b = 0; b < blocks; b++, i += 8) {
            uint64_t x = load64(p + i);
            acc += (x & ~(x << 1) & HI8) >> 7;
        }
        cont += (size_t)((acc * 0x0101010101010101ull) >> 56);
    }
    for (; i < len; i++)
        cont += (p[i] & 0xC0) == 0x80;
    return len - cont;
}
