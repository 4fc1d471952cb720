/*
 * number.c - typed parsing of field text: int64, double, bool; and double formatting.
 *
 * These run once per field value on the hot path, so each parser is a single forward
 * pass over a (pointer, length) slice with no allocation, no locale and no libc call
 * in the common case.
 *
 * Integers
 * --------
 * assay_parse_i64 accepts [+-]?[0-9]+. Leading zeros are skipped; at most 19
 * significant digits remain (10^19 - 1 < 2^64, so the unsigned accumulator cannot
 * wrap), more than 19 is out of range. The magnitude is then compared with 2^63 - 1
 * (or 2^63 for a minus sign, so INT64_MIN is accepted). Eight digits at a time are
 * converted at once as in Lemire's paper (below, section 3), SWAR style: check that
 * all eight bytes are '0'..'9' with masks and one addition, then combine adjacent
 * digits pairwise with three multiplications. Since the length is known up front,
 * groups of 4 to 8 digits are read with two overlapping loads and no loop, so the
 * digit count of a value costs no mispredicted branch.
 *
 * Doubles: correctly rounded, bit-identical to strtod
 * ---------------------------------------------------
 * The grammar is [+-]?(digits[.digits]|.digits)([eE][+-]?digits)? plus inf, infinity
 * and nan in any case with an optional sign. The scan produces w, the first (up to)
 * 19 significant digits as an integer, the count of significant digits, and the
 * decimal exponent q, so that the value is w * 10^q. Three methods follow, fastest
 * first; every one of them returns the double nearest to w * 10^q, ties to even,
 * which is what glibc's strtod returns, so the results agree bit for bit.
 *
 * 1. Clinger's fast path (W. D. Clinger, "How to Read Floating Point Numbers
 *    Accurately", PLDI 1990). If w <= 2^53 and |q| <= 22, both w and 10^|q| are
 *    exact doubles, and one IEEE multiplication or division rounds the exact
 *    product/quotient once, correctly. If q > 22 but w * 10^(q-22) is still an
 *    integer <= 2^53, the same holds for that integer times 1e22. This handles
 *    short decimals such as "1234.56" with one division. It assumes round-to-nearest
 *    and that double expressions are evaluated in double (FLT_EVAL_METHOD == 0, true
 *    on x86-64 SSE and arm64; the path is compiled out otherwise).
 *
 * 2. The Eisel-Lemire algorithm (D. Lemire, "Number Parsing at a Gigabyte per
 *    Second", Software: Practice and Experience 51(8), 2021, sections 5-6). With w
 *    shifted left so its top bit is set (w in [2^63, 2^64), lz = shift), and T(q)
 *    the 128-bit truncation of 5^q * 2^(127 - floor(q log2 5)) from pow5_table.h,
 *
 *        V = w * 5^q * 2^(127 - floor(q log2 5))        (the exact scaled value)
 *        P = w * T(q)                                    (a 192-bit integer)
 *
 *    Since T(q) <= 5^q * 2^... < T(q) + 1, we have P <= V < P + w, and V lies in
 *    [2^190, 2^192). The double nearest to w * 10^q is read off the top 55 bits of V
 *    (53 significand bits, the rounding bit, and one bit of slack because the top
 *    bit is 191 or 190), with binary exponent 63 + top + floor(q log2 10) - lz.
 *    Those 55 bits are known as soon as the interval [P, P + w) contains no
 *    multiple of 2^137. The paper computes P lazily: first only w * T.hi (the
 *    upper 128 of P are then known to within w), and only if its low bits are all
 *    ones and could carry also w * T.lo. If even the full P leaves the top 55 bits
 *    undecided (P within w below a multiple of 2^137, a case of probability about
 *    2^-64), the paper falls back to a slow exact method; so do we (3).
 *
 *    Rounding needs one more fact: whether V has any bits set below the rounding
 *    bit ("sticky"), to tell an exact tie from a value just above it. We settle it
 *    with a case analysis on q instead of extra arithmetic:
 *      - 0 <= q <= 55: 5^q has at most 128 bits, T(q) is exact, so V = P and the
 *        sticky bits are read directly (for q <= 27, T.lo = 0 and V = (w*T.hi)<<64).
 *      - -27 <= q < 0: V = w * 2^S / 5^-q with S >= 130 and 5^-q < 2^63. Any
 *        multiple M of 2^137 either equals V or differs from it by at least
 *        2^130 / 5^27 > 2^67 > w. So if [P, P + w) holds such an M, V = M exactly:
 *        the input is exactly representable, or an exact tie, e.g.
 *        "1.500000000000000000" or "9007199254740993.5" (which the truncated table
 *        alone could not resolve). We "snap" V to M and round exactly.
 *      - otherwise V is never a multiple of 2^137: an exact tie or an exactly
 *        representable value needs 5^q < 2^54 (q <= 23) or 5^-q dividing w < 2^64
 *        (q >= -27). So sticky is 1 whenever the 55 bits are known.
 *    Subnormal results shift the significand further right before rounding, with
 *    the same sticky rule; q < -342 gives 0 and q > 308 gives infinity (w < 2^64
 *    and w >= 1 make those exact conclusions).
 *
 * 3. More than 19 significant digits, or the undecided case above: strtod_l in the
 *    "C" locale on a NUL-terminated copy (stack buffer; heap only for very long
 *    text). glibc's newlocale returns its static C locale object for "C" without
 *    allocating, so creating it per call costs nothing and keeps us free of global
 *    state. errno is preserved (strtod sets ERANGE on overflow/underflow).
 *
 * tests/test_number.c compares against strtod_l on millions of random, halfway and
 * boundary inputs; tests/fuzz/fuzz_number.c does the same on fuzzed text.
 *
 * Formatting doubles
 * ------------------
 * assay_format_double tries "%.15g", "%.16g", "%.17g" (in the C locale, via
 * uselocale) and keeps the first that parses back to the same bits. For a normal
 * double this is the shortest decimal: if a k <= 15 digit decimal rounds to v, it is
 * the 15-digit decimal nearest to v, since 15-digit spacing exceeds one ulp;
 * likewise for 16. Subnormals have fewer significand bits, so for them all
 * precisions from 1 are tried.
 */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "parse/pow5_table.h"

/* ------------------------------------------------------------------------------------ */
/* Digits                                                                               */
/* ------------------------------------------------------------------------------------ */

static inline unsigned digit_value(char c)
{
    return (unsigned)(unsigned char)c - '0';
}

/* Load 8 bytes little-endian (the first character in the low byte). */
static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* True when all 8 bytes of v are ASCII digits: subtracting '0' must not borrow and
 * adding 0x46 ('9' + 0x46 = 0x7f) must not carry into the high bit of any byte. */
static inline bool all8_digits(uint64_t v)
{
    return (((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >>
                                            4)) == 0x3333333333333333ULL);
}

/* Value of 8 ASCII digits (first digit most significant), by combining neighbours in
 * lanes that double in width: bytes d0..d7 -> 16-bit 10*d0+d1 ... -> 32-bit
 * 100*p0+p1 ... -> 10000*q0+q1. No lane overflows (99, 9999, 99999999 fit). */
static inline uint32_t parse8_digits(uint64_t v)
{
    v -= 0x3030303030303030ULL;
    v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFULL;
    v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFULL;
    v = (v * 10000 + (v >> 32)) & 0xFFFFFFFFULL;
    return (uint32_t)v;
}

/* ------------------------------------------------------------------------------------ */
/* int64                                                                                */
/* ------------------------------------------------------------------------------------ */

/* Load 4 bytes, the first character in the low byte. */
static inline uint64_t load4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

/* Value of the n <= 8 characters at p if they are all digits. For n >= 4 there is no
 * loop and no data-dependent branch: two overlapping 4-byte loads are merged into one
 * word holding the digits right-aligned behind '0' padding, which is then checked and
 * converted as 8 digits. */
static inline bool digits_upto8(const char *p, size_t n, uint64_t *v)
{
    if (n >= 4) {
        unsigned pad = 8 * (8 - (unsigned)n); /* bits of '0' padding, 0..32 */
        uint64_t head = (load4(p) << pad) & 0xFFFFFFFFULL;
        uint64_t word = head | (0x30303030ULL & ((1ULL << pad) - 1)) | (load4(p + n - 4) << 32);
        *v = parse8_digits(word);
        return all8_digits(word);
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = digit_value(p[i]);
        if (d > 9)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

int assay_parse_i64(const char *s, size_t len, int64_t *out)
{
    const char *p = s, *end = s + len;

    if (len == 0)
        return -EINVAL;
    unsigned neg = *p == '-'; /* branch-free: signs are unpredictable in data */
    p += neg | (*p == '+');
    if (p == end)
        return -EINVAL;
    while (*p == '0' && end - p > 1)
        p++;

    uint64_t v = 0, lo = 0;
    size_t n = (size_t)(end - p);
    bool ok;
    if (n <= 8) {
        ok = digits_upto8(p, n, &v);
    } else if (n <= 16) {
        ok = digits_upto8(p, n - 8, &v) && digits_upto8(p + n - 8, 8, &lo);
        v = v * 100000000u + lo;
    } else if (n <= 19) {
        uint64_t mid = 0;
        ok = digits_upto8(p, n - 16, &v) && digits_upto8(p + n - 16, 8, &mid) &&
             digits_upto8(p + n - 8, 8, &lo);
        v = (v * 100000000u + mid) * 100000000u + lo;
    } else {
        for (; p < end; p++)
            if (digit_value(*p) > 9)
                return -EINVAL;
        return -ERANGE;
    }
    if (!ok)
        return -EINVAL;
    if (v > (uint64_t)INT64_MAX + neg)
        return -ERANGE;
    /* v <= 2^63: negate in unsigned arithmetic; the conversion is modular in gcc/clang */
    *out = (int64_t)(neg ? 0 - v : v);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* double                                                                               */
/* ------------------------------------------------------------------------------------ */

static inline double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD == 0
#define ASSAY_CLINGER 1
static const double exact_pow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
static const uint64_t int_pow10[16] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
};
#else
#define ASSAY_CLINGER 0
#endif

/* Clinger's fast path: set *out to w * 10^q and return true when that is exact-then-
 * rounded-once; return false when the operands are not exact doubles. */
static inline bool clinger(uint64_t w, int64_t q, double *out)
{
#if ASSAY_CLINGER
    if (w > (1ULL << 53))
        return false;
    if (q >= -22 && q <= 22) {
        double d = (double)w;
        *out = q < 0 ? d / exact_pow10[-q] : d * exact_pow10[q];
        return true;
    }
    if (q > 22 && q <= 22 + 15) {
        uint64_t m = int_pow10[q - 22];
        unsigned __int128 x = (unsigned __int128)w * m;
        if (x <= (1ULL << 53)) {
            *out = (double)(uint64_t)x * 1e22;
            return true;
        }
    }
#else
    (void)w;
    (void)q;
    (void)out;
#endif
    return false;
}

/* Eisel-Lemire (see the essay above). w != 0. On success store the bits of the
 * positive double nearest to w * 10^q and return true; return false when the top
 * bits of the product cannot be decided (the caller falls back to strtod). */
static bool eisel_lemire(uint64_t w, int64_t q, uint64_t *bits)
{
    if (q < ASSAY_POW5_MIN_Q) {
        *bits = 0;
        return true;
    }
    if (q > ASSAY_POW5_MAX_Q) {
        *bits = 0x7FF0000000000000ULL;
        return true;
    }
    int lz = __builtin_clzll(w);
    w <<= lz;
    const uint64_t *t = assay_pow5_128[q - ASSAY_POW5_MIN_Q];
    unsigned __int128 a = (unsigned __int128)w * t[0];
    uint64_t a1 = (uint64_t)(a >> 64), a0 = (uint64_t)a;
    uint64_t u;         /* bits 191..128 of V; bits 63..9 certain */
    bool below_nonzero; /* some bit of V below bit 128 is set */

    if (q >= 0 && q <= 27) {
        /* T(q) = 5^q << k exactly with T.lo = 0: V = (w * T.hi) << 64. */
        u = a1;
        below_nonzero = a0 != 0;
    } else if ((a1 & 0x1FF) != 0x1FF || a0 + w >= a0) {
        /* The unknown remainder (< w << 64) cannot carry into bit 137. */
        u = a1;
        below_nonzero = true; /* T(q) inexact or q in (27, 55]: no ties possible */
    } else {
        unsigned __int128 b = (unsigned __int128)w * t[1];
        uint64_t b1 = (uint64_t)(b >> 64), b0 = (uint64_t)b;
        uint64_t c0 = a0 + b1;
        uint64_t c1 = a1 + (c0 < a0);
        u = c1;
        below_nonzero = true;
        if (q >= 0 && q <= 55) {
            /* q in (27, 55]: T(q) exact, V = P; ties are impossible for q > 23. */
        } else if ((c1 & 0x1FF) == 0x1FF && c0 == UINT64_MAX && b0 + w < b0) {
            /* A multiple M of 2^137 lies in (P, P + w): undecided, unless q is in
             * [-27, -1], where V = M exactly (separation argument in the essay). */
            if (q > 0 || q < -27)
                return false;
            u = c1 + 1;
            below_nonzero = false;
        }
    }

    int top = (int)(u >> 63);
    uint64_t m54 = u >> (9 + top); /* 53 significand bits and the rounding bit */
    bool sticky = below_nonzero || (u & ((1ULL << (9 + top)) - 1)) != 0;
    int64_t e2 = 63 + top + ((q * 217706) >> 16) - lz + 1023; /* biased exponent */

    int shift = 1;
    if (e2 <= 0) {
        shift = (int)(2 - e2); /* subnormal: align to 2^-1074 */
        if (shift > 55) {
            *bits = 0;
            return true;
        }
    }
    uint64_t mant = m54 >> shift;
    uint64_t rem = m54 & ((1ULL << shift) - 1);
    uint64_t half = 1ULL << (shift - 1);
    if (rem > half || (rem == half && (sticky || (mant & 1))))
        mant++;

    if (e2 <= 0) {
        *bits = mant; /* mant == 2^52 encodes the smallest normal, as it should */
        return true;
    }
    if (mant == (1ULL << 53)) {
        mant >>= 1;
        e2++;
    }
    if (e2 >= 0x7FF) {
        *bits = 0x7FF0000000000000ULL;
        return true;
    }
    *bits = ((uint64_t)e2 << 52) | (mant & ((1ULL << 52) - 1));
    return true;
}

/* strtod_l in the C locale on a NUL-terminated copy of text our grammar accepted. */
static int parse_f64_slow(const char *s, size_t len, double *out)
{
    char stackbuf[256];
    char *buf = stackbuf;
    if (len >= sizeof(stackbuf)) {
        buf = malloc(len + 1);
        if (!buf)
            return -ENOMEM;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';

    int rc = 0;
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c == (locale_t)0) {
        rc = -ENOMEM;
    } else {
        int saved_errno = errno;
        char *endp;
        *out = strtod_l(buf, &endp, c);
        errno = saved_errno;
        assay_assert(endp == buf + len);
        freelocale(c);
    }
    if (buf != stackbuf)
        free(buf);
    return rc;
}

static inline bool ieq(const char *p, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != lower[i])
            return false;
    return true;
}

/* inf, infinity, nan in any case (the sign already consumed). */
static int parse_special(const char *p, size_t n, bool neg, double *out)
{
    uint64_t sign = neg ? 1ULL << 63 : 0;
    if ((n == 3 && ieq(p, "inf", 3)) || (n == 8 && ieq(p, "infinity", 8))) {
        *out = bits_to_double(sign | 0x7FF0000000000000ULL);
        return 0;
    }
    if (n == 3 && ieq(p, "nan", 3)) {
        *out = bits_to_double(sign | 0x7FF8000000000000ULL); /* what strtod returns */
        return 0;
    }
    return -EINVAL;
}

int assay_parse_f64(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    bool neg = false;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return -EINVAL;
    if (digit_value(*p) > 9 && *p != '.')
        return parse_special(p, (size_t)(end - p), neg, out);

    /* Significand: w accumulates every digit; it is only used when there are at most
     * 19 significant digits (leading zeros are not significant), so it cannot wrap. */
    uint64_t w = 0;
    int64_t nsig = 0;
    const char *int_start = p;
    while (end - p >= 8) {
        uint64_t c = load8(p);
        if (!all8_digits(c))
            break;
        w = w * 100000000u + parse8_digits(c);
        p += 8;
        nsig += 8; /* corrected below if w still has leading zeros */
    }
    for (; p < end; p++) {
        unsigned d = digit_value(*p);
        if (d > 9)
            break;
        w = w * 10 + d;
        nsig++;
    }
    int64_t nint = p - int_start;
    int64_t nfrac = 0;
    if (p < end && *p == '.') {
        p++;
        const char *frac_start = p;
        while (end - p >= 8) {
            uint64_t c = load8(p);
            if (!all8_digits(c))
                break;
            w = w * 100000000u + parse8_digits(c);
            p += 8;
        }
        for (; p < end; p++) {
            unsigned d = digit_value(*p);
            if (d > 9)
                break;
            w = w * 10 + d;
        }
        nfrac = p - frac_start;
        nsig += nfrac;
    }
    if (nint + nfrac == 0)
        return -EINVAL;

    int64_t e = 0;
    if (p < end && (*p | 0x20) == 'e') {
        p++;
        bool eneg = false;
        if (p < end && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || digit_value(*p) > 9)
            return -EINVAL;
        for (; p < end; p++) {
            unsigned d = digit_value(*p);
            if (d > 9)
                return -EINVAL;
            if (e < (1LL << 50)) /* saturate: far beyond any finite result */
                e = e * 10 + d;
        }
        if (eneg)
            e = -e;
    }
    if (p != end)
        return -EINVAL;

    int64_t q = e - nfrac;
    if (ASSAY_UNLIKELY(nsig > 19)) {
        /* Leading zeros are not significant: count them out before giving up. */
        const char *z = int_start;
        while (z < end && (*z == '0' || *z == '.')) {
            nsig -= *z == '0';
            z++;
        }
        if (nsig > 19)
            return parse_f64_slow(s, len, out);
    }

    double v;
    if (w == 0) {
        v = 0.0;
    } else if (!clinger(w, q, &v)) {
        uint64_t b;
        if (ASSAY_UNLIKELY(!eisel_lemire(w, q, &b)))
            return parse_f64_slow(s, len, out);
        v = bits_to_double(b);
    }
    *out = neg ? -v : v;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* bool                                                                                 */
/* ------------------------------------------------------------------------------------ */

int assay_parse_bool(const char *s, size_t len, bool *out)
{
    switch (len) {
    case 1:
        switch (s[0] | 0x20) {
        case 't':
        case 'y':
            *out = true;
            return 0;
        case 'f':
        case 'n':
            *out = false;
            return 0;
        }
        if (s[0] == '1' || s[0] == '0') {
            *out = s[0] == '1';
            return 0;
        }
        return -EINVAL;
    case 2:
        if (ieq(s, "no", 2)) {
            *out = false;
            return 0;
        }
        return -EINVAL;
    case 3:
        if (ieq(s, "yes", 3)) {
            *out = true;
            return 0;
        }
        return -EINVAL;
    case 4:
        if (ieq(s, "true", 4)) {
            *out = true;
            return 0;
        }
        return -EINVAL;
    case 5:
        if (ieq(s, "false", 5)) {
            *out = false;
            return 0;
        }
        return -EINVAL;
    default:
        return -EINVAL;
    }
}

/* ------------------------------------------------------------------------------------ */
/* Formatting                                                                           */
/* ------------------------------------------------------------------------------------ */

static size_t copy_out(const char *src, size_t n, char *buf, size_t cap)
{
    if (cap == 0)
        return 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, src, n);
    buf[n] = '\0';
    return n;
}

size_t assay_format_double(double v, char *buf, size_t cap)
{
    char tmp[48];
    int n;

    if (isnan(v))
        return copy_out("nan", 3, buf, cap);
    if (isinf(v))
        return v < 0 ? copy_out("-inf", 4, buf, cap) : copy_out("inf", 3, buf, cap);

    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t old = c ? uselocale(c) : (locale_t)0;
    int prec = (v != 0 && fabs(v) < DBL_MIN) ? 1 : 15;
    for (;; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        double back;
        if (prec >= 17 ||
            (assay_parse_f64(tmp, (size_t)n, &back) == 0 && memcmp(&back, &v, sizeof(v)) == 0))
            break;
    }
    if (c) {
        uselocale(old);
        freelocale(c);
    }
    return copy_out(tmp, (size_t)n, buf, cap);
}
