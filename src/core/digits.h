/*
 * digits.h - decimal digits of an unsigned integer, two at a time from a 200-byte
 * table (half the divisions of one digit at a time), for writers that format millions
 * of numbers: the data generator and the --row-scores file.
 */
#ifndef ASSAY_CORE_DIGITS_H
#define ASSAY_CORE_DIGITS_H

#include <stdint.h>
#include <string.h>

/* Write v in decimal at p (at most 20 bytes, no NUL); returns the end. */
static inline char *assay_put_u64(char *p, uint64_t v)
{
    static const char d2[] = "00010203040506070809101112131415161718192021222324"
                             "25262728293031323334353637383940414243444546474849"
                             "50515253545556575859606162636465666768697071727374"
                             "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    char *e = tmp + sizeof(tmp), *q = e;
    while (v >= 100) {
        q -= 2;
        memcpy(q, d2 + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, d2 + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    memcpy(p, q, (size_t)(e - q));
    return p + (e - q);
}

#endif
