/*
 * timestamp.c - RFC 3339 timestamps to and from microseconds since the Unix epoch.
 *
 * Grammar (RFC 3339, section 5.6), with the relaxations assay accepts marked (*):
 *
 *     date-time   = full-date sep partial-time [offset]
 *                 / full-date                                  (*) midnight UTC
 *     full-date   = YYYY "-" MM "-" DD                          years 0000..9999
 *     sep         = "T" / "t" (*) / " " (*)
 *     partial-time= HH ":" MM ":" SS ["." 1*DIGIT]
 *     offset      = "Z" / "z" (*) / ("+" / "-") HH ":" MM          missing (*) = UTC
 *
 * Every field has a fixed width, so the parser reads digits at fixed positions and
 * never loops except over the fraction. Ranges: month 01-12, day 01 to the length of
 * that month (February has 29 days in Gregorian leap years: divisible by 4, except
 * centuries not divisible by 400, so 2000-02-29 is valid and 1900-02-29 is not), hour
 * 00-23, minute 00-59, second 00-60, offset hour 00-23 and minute 00-59. Offsets
 * are subtracted to get UTC ("-00:00", RFC 3339 section 4.3's "unknown local
 * offset", is UTC too).
 *
 * Leap seconds. RFC 3339 allows second 60 (section 5.7), but Unix time has no
 * representation for it: we count it as the first second of the next minute, so
 * "2016-12-31T23:59:60.5Z" equals "2017-01-01T00:00:00.5Z". This is what POSIX
 * timegm() does with tm_sec = 60, keeps the result monotonic in the text, and never
 * fails on a real leap second. Second 60 is accepted in any minute (the grammar
 * does; which minutes actually had one depends on IERS bulletins and the offset).
 *
 * Fractions may have any number of digits; the first six are kept as microseconds
 * and the rest are truncated (the digit text is cut, so ".9999999" is 999999 us, also
 * before 1970 where the result is negative).
 *
 * Calendar arithmetic. Days since 1970-01-01 come from a closed form over a year that
 * starts on March 1, so the leap day is the last day of the year and month lengths
 * follow the repeating pattern 31,30,31,30,31 from March: day-of-year of the first of
 * shifted month m' (March = 0) is (153 m' + 2) / 5. Years then contribute
 * 365 y + y/4 - y/100 + y/400 days. The method and the inverse below (era of 400
 * years = 146097 days, year-of-era from day-of-era) follow Howard Hinnant's
 * derivation, "chrono-Compatible Low-Level Date Algorithms"
 * (howardhinnant.github.io/date_algorithms.html, days_from_civil / civil_from_days).
 * We add 400 years before dividing so every quotient in the parser is of a
 * non-negative number; the formatter uses floor division and handles any int64.
 *
 * assay_format_timestamp writes "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" with trailing zeros of
 * the fraction trimmed and no fraction when it is zero. Years outside 0000..9999
 * (only reachable from values the parser does not produce) are written with as many
 * digits as needed and a leading '-' for years before 0000.
 */
#include <string.h>

#include "assay/number.h"

#define US_PER_SEC  1000000LL
#define SEC_PER_DAY 86400LL

/* Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar. */
#define DAYS_0000_03_01_TO_EPOCH 719468LL
#define DAYS_PER_ERA             146097LL /* 400 Gregorian years */

static inline bool is_leap(int y)
{
    return (y % 4 == 0) && (y % 100 != 0 || y % 400 == 0);
}

static inline int days_in_month(int y, int m)
{
    static const unsigned char dim[13] = { 0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dim[m];
}

/* Days since 1970-01-01 of a valid date with y in [0, 9999]. */
static inline int64_t days_from_civil(int y, int m, int d)
{
    int64_t yy = y - (m <= 2) + 400;    /* March-based year, shifted to stay >= 0 */
    int64_t mp = m > 2 ? m - 3 : m + 9; /* March = 0 ... February = 11 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400 + doy;
    return days - DAYS_PER_ERA - DAYS_0000_03_01_TO_EPOCH;
}

/* Inverse of days_from_civil for any day count an int64 of microseconds can hold. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += DAYS_0000_03_01_TO_EPOCH;
    int64_t era = (z >= 0 ? z : z - (DAYS_PER_ERA - 1)) / DAYS_PER_ERA;
    int64_t doe = z - era * DAYS_PER_ERA; /* [0, 146096] */
    /* Each 4-year cycle has 1460 + 1 days, each century one day less, the whole era
     * one more: removing those leap days makes doe a multiple-of-365 count. */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ------------------------------------------------------------------------------------ */
/* Parsing                                                                              */
/* ------------------------------------------------------------------------------------ */

/* Two ASCII digits as 0..99, or -1. */
static inline int dig2(const char *p)
{
    unsigned a = (unsigned)(unsigned char)p[0] - '0';
    unsigned b = (unsigned)(unsigned char)p[1] - '0';
    if (a > 9 || b > 9)
        return -1;
    return (int)(a * 10 + b);
}

int assay_parse_timestamp(const char *s, size_t len, int64_t *out_us)
{
    if (len < 10 || s[4] != '-' || s[7] != '-')
        return -EINVAL;
    int yh = dig2(s), yl = dig2(s + 2), mon = dig2(s + 5), day = dig2(s + 8);
    if ((yh | yl | mon | day) < 0)
        return -EINVAL;
    int year = yh * 100 + yl;
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
        return -EINVAL;
    int64_t days = days_from_civil(year, mon, day);
    if (len == 10) {
        *out_us = days * SEC_PER_DAY * US_PER_SEC;
        return 0;
    }

    if (len < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -EINVAL;
    int hour = dig2(s + 11), min = dig2(s + 14), sec = dig2(s + 17);
    if ((hour | min | sec) < 0 || hour > 23 || min > 59 || sec > 60)
        return -EINVAL;

    const char *p = s + 19, *end = s + len;
    int64_t frac = 0;
    if (p < end && *p == '.') {
        p++;
        const char *digits = p;
        static const uint32_t scale[6] = { 100000, 10000, 1000, 100, 10, 1 };
        for (size_t i = 0; p < end; p++, i++) {
            unsigned dv = (unsigned)(unsigned char)*p - '0';
            if (dv > 9)
                break;
            if (i < 6) /* later digits are truncated */
                frac += dv * scale[i];
        }
        if (p == digits)
            return -EINVAL;
    }

    int64_t offset = 0; /* seconds east of UTC */
    if (p < end) {
        char c = *p;
        if (c == 'Z' || c == 'z') {
            p++;
        } else if (c == '+' || c == '-') {
            if (end - p != 6 || p[3] != ':')
                return -EINVAL;
            int oh = dig2(p + 1), om = dig2(p + 4);
            if ((oh | om) < 0 || oh > 23 || om > 59)
                return -EINVAL;
            offset = (oh * 60 + om) * 60;
            if (c == '-')
                offset = -offset;
            p += 6;
        } else {
            return -EINVAL;
        }
        if (p != end)
            return -EINVAL;
    }

    int64_t secs = days * SEC_PER_DAY + hour * 3600 + min * 60 + sec - offset;
    *out_us = secs * US_PER_SEC + frac;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Formatting                                                                           */
/* ------------------------------------------------------------------------------------ */

static inline char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

size_t assay_format_timestamp(int64_t us, char *buf, size_t cap)
{
    char tmp[48];
    char *p = tmp;

    int64_t secs = us / US_PER_SEC, frac = us % US_PER_SEC;
    if (frac < 0) {
        frac += US_PER_SEC;
        secs--;
    }
    int64_t days = secs / SEC_PER_DAY, sod = secs % SEC_PER_DAY;
    if (sod < 0) {
        sod += SEC_PER_DAY;
        days--;
    }
    int64_t year;
    int mon, day;
    civil_from_days(days, &year, &mon, &day);

    uint64_t ay = year < 0 ? (uint64_t)-year : (uint64_t)year;
    if (year < 0)
        *p++ = '-';
    char ydig[24];
    int nd = 0;
    do {
        ydig[nd++] = (char)('0' + ay % 10);
        ay /= 10;
    } while (ay);
    while (nd < 4)
        ydig[nd++] = '0';
    while (nd)
        *p++ = ydig[--nd];
    *p++ = '-';
    p = put2(p, mon);
    *p++ = '-';
    p = put2(p, day);
    *p++ = 'T';
    p = put2(p, (int)(sod / 3600));
    *p++ = ':';
    p = put2(p, (int)(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, (int)(sod % 60));
    if (frac) {
        *p++ = '.';
        int64_t div = 100000;
        while (frac) {
            *p++ = (char)('0' + frac / div);
            frac %= div;
            div /= 10;
        }
    }
    *p++ = 'Z';

    size_t n = (size_t)(p - tmp);
    if (cap == 0)
        return 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}
