/*
 * NDJSON: one JSON object per line, validated in full and mapped onto schema columns.
 *
 * Input and framing
 * -----------------
 * A chunk is a run of lines. A line ends at '\n'; a '\r' right before it belongs to
 * the terminator (CRLF files), and the last line of a chunk may lack its '\n'. JSON
 * (RFC 8259, section 7) forbids raw control characters - '\n' among them - inside
 * strings, so, unlike CSV, no quote state survives a line break and the framer is just
 * memchr('\n') (glibc's is vectorised). A UTF-8 byte order mark at offset 0 of a chunk
 * is skipped (RFC 8259, section 8.1 lets a parser ignore it).
 *
 * Lines made only of JSON whitespace (space, tab, CR) are skipped when
 * options.skip_blank is set: they are not rows and take no ordinal. Otherwise they are
 * bad rows with ASSAY_JSON_EMPTY. A line longer than max_row_bytes (terminator not
 * counted) is a bad row ASSAY_BAD_ROW_TOO_LONG without being looked at.
 *
 * What a good row is
 * ------------------
 * The whole line is validated against the RFC 8259 grammar, not only the parts that
 * some column needs, because a row that a stricter consumer downstream would reject
 * must be quarantined here:
 *   - exactly one value, an object, with only whitespace around it (section 2);
 *     another valid value is ASSAY_BAD_JSON_NOT_OBJECT, text after the object is
 *     ASSAY_JSON_TRAILING;
 *   - strings (section 7): no raw byte below 0x20, escapes only \" \\ \/ \b \f \n \r
 *     \t and \uXXXX; a \u escape for a high surrogate (D800..DBFF) must be followed by
 *     one for a low surrogate (DC00..DFFF), and a low surrogate alone is an error.
 *     The RFC's grammar tolerates lone surrogates but warns (section 8.2) that their
 *     meaning is unpredictable; we reject them so that every accepted string unescapes
 *     to valid UTF-8. \u0000 is accepted (it unescapes to a NUL byte);
 *   - the bytes of every string are valid UTF-8 (RFC 3629, see utf8.c): section 8.1
 *     requires UTF-8 for JSON exchanged between systems. Bytes >= 0x80 outside strings
 *     are simply unexpected characters;
 *   - numbers (section 6): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and nothing
 *     that looks like more of a number right after (01, 1.5.2, 1e5x: ASSAY_JSON_BAD_NUMBER);
 *   - the literals true, false, null, spelled exactly;
 *   - objects and arrays nest at most ASSAY_JSON_MAX_DEPTH deep, the line's object
 *     being depth 1 (the skipper keeps a fixed stack, so no input can exhaust memory).
 * The first problem in reading order is reported: reason ASSAY_BAD_JSON_SYNTAX, detail
 * the assay_json_error, `at` its byte offset in the row. `at` points at the offending
 * byte, except: an unterminated string points at its opening quote, a bad escape at
 * its backslash, and an unexpected end of line at the row length.
 *
 * Keys and columns
 * ----------------
 * Top-level keys are compared with the schema's column names after unescaping (so
 * "\u0061" is the key "a"). A value whose key names a column that the caller wants
 * (rs->want[c]) becomes a cell, a zero-copy slice into the chunk:
 *     string -> the bytes between the quotes, QUOTED, plus ESCAPED if it holds a '\'
 *     number -> the token, NUMBER          true/false -> the literal, BOOL
 *     null   -> NULL (off at the literal, len 0)
 *     object or array -> the raw text, brackets included, RAW
 * A wanted column whose key is absent is NULL with off = len = 0. A schema column's
 * key appearing twice in one object makes the row bad (ASSAY_BAD_JSON_DUPLICATE_KEY,
 * detail = column, at = the second key's opening quote) whether or not the column is
 * wanted, because which of the two values counts is not defined (section 4). Repeated
 * unknown keys and keys inside nested values are not checked. When the caller asks
 * (rs->unk), each top-level key of a good row that names no schema column is reported
 * once per row (rs->unk: row, raw bytes), so the engine can tell the user that the
 * stream gained a key; a bad row reports none. Invalid UTF-8 is
 * ASSAY_BAD_UTF8 with detail = the column whose key or value held it, or UINT32_MAX
 * when it was not a schema column.
 *
 * Finding the column of a key
 * ---------------------------
 * The schema is an open-addressing hash table (linear probing, load <= 1/2) keyed by
 * XXH3-64 of the unescaped name. Hashing every key of every row is still the largest
 * cost after scanning, and NDJSON writers almost always emit keys in the same order on
 * every line. So the parser remembers, for each key position i of the previous rows in
 * this call, the raw bytes of the key seen there and the column it mapped to
 * (including "no column"). If the i-th key of the current row has the same raw bytes,
 * it is the same key - identical raw bytes unescape identically - and the lookup is a
 * length compare plus a short memcmp. Only a miss hashes (and, for a key holding a
 * backslash, unescapes into scratch space first). The prediction table lives on the
 * stack of assay_ndjson_parse, so the schema stays read-only and shareable between
 * shards.
 *
 * Scanning strings
 * ----------------
 * String bodies are the bulk of the bytes. The scanner looks for the next byte that
 * ends the fast path - '"', '\\' or a control byte below 0x20 - 16 bytes at a time
 * with SSE2 (part of x86-64's baseline, so no run-time dispatch is needed): two
 * byte-equality compares and, for "below 0x20", max_epu8(v, 0x1F) == 0x1F; movemask
 * and count-trailing-zeros give the position. The same movemask of the raw bytes says
 * whether any byte >= 0x80 went by; only then is the segment run through
 * assay_utf8_check, so ASCII strings pay nothing for UTF-8 validation. The portable
 * twin (arm64, or ASSAY_SIMD=scalar) tests 8 bytes at a time with the SWAR "has a
 * zero byte" trick (Mycroft; see Anderson, "Bit Twiddling Hacks": haszero(v) =
 * (v - 0x01..01) & ~v & 0x80..80) applied to v ^ '"'*0x01..01, v ^ '\\'*0x01..01 and,
 * for "less than 0x20", (v - 0x20..20) & ~v & 0x80..80; a block with a hit is then
 * finished byte by byte. Both kernels give identical results (tests compare them).
 *
 * Limits
 * ------
 * Cell offsets are 32-bit, so a chunk must be shorter than 4 GiB (-EINVAL otherwise).
 * The parser never reads outside [buf, buf + len): every look-ahead is bounded by the
 * end of the line.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "assay/cpu.h"
#include "assay/ndjson.h"
#include "assay/utf8.h"

/* ------------------------------------------------------------------------------------
 * Error text and options
 * ---------------------------------------------------------------------------------- */

static const char *const json_error_text[ASSAY_JSON_ERROR_COUNT] = {
    [ASSAY_JSON_OK] = "no error",
    [ASSAY_JSON_UNEXPECTED_CHAR] = "unexpected character",
    [ASSAY_JSON_UNTERMINATED_STRING] = "unterminated string",
    [ASSAY_JSON_BAD_ESCAPE] = "invalid escape sequence in string",
    [ASSAY_JSON_BAD_UNICODE] = "invalid \\u escape or lone surrogate",
    [ASSAY_JSON_BAD_NUMBER] = "malformed number",
    [ASSAY_JSON_BAD_LITERAL] = "invalid literal (expected true, false or null)",
    [ASSAY_JSON_CONTROL_CHAR] = "unescaped control character in string",
    [ASSAY_JSON_TOO_DEEP] = "objects/arrays nested more than 64 deep",
    [ASSAY_JSON_TRAILING] = "text after the JSON object",
    [ASSAY_JSON_EMPTY] = "empty line",
};

const char *assay_json_error_text(assay_json_error e)
{
    if ((unsigned)e < ASSAY_JSON_ERROR_COUNT)
        return json_error_text[e];
    return "unknown JSON error";
}

void assay_ndjson_options_default(assay_ndjson_options *o)
{
    o->max_row_bytes = 1u << 20;
    o->skip_blank = true;
    o->comment = 0;
    o->nulls = NULL;
}

/* ------------------------------------------------------------------------------------
 * Schema: key -> column hash table
 * ---------------------------------------------------------------------------------- */

#define NO_COL UINT32_MAX

typedef struct schema_slot {
    uint64_t hash;
    uint32_t col; /* NO_COL: empty */
    uint32_t len;
} schema_slot;

struct assay_ndjson_schema {
    uint32_t ncols;
    uint32_t mask; /* table size - 1 */
    size_t max_name_len;
    char **names;
    uint32_t *name_len;
    schema_slot *table;
};

static inline uint64_t key_hash(const char *k, size_t len)
{
    return XXH3_64bits(k, len);
}

/* Column of the unescaped key k[0..len), or NO_COL. */
static uint32_t schema_find(const assay_ndjson_schema *s, const char *k, size_t len)
{
    if (len > s->max_name_len)
        return NO_COL;
    uint64_t h = key_hash(k, len);
    for (uint32_t i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
        const schema_slot *e = &s->table[i];
        if (e->col == NO_COL)
            return NO_COL;
        if (e->hash == h && e->len == len && memcmp(s->names[e->col], k, len) == 0)
            return e->col;
    }
}

void assay_ndjson_schema_free(assay_ndjson_schema *s)
{
    if (!s)
        return;
    if (s->names) {
        for (uint32_t c = 0; c < s->ncols; c++)
            free(s->names[c]);
    }
    free(s->names);
    free(s->name_len);
    free(s->table);
    free(s);
}

int assay_ndjson_schema_new(const char *const *names, uint32_t ncols, assay_ndjson_schema **out)
{
    if (!out || (ncols && !names) || ncols > (UINT32_MAX >> 2))
        return -EINVAL;
    *out = NULL;
    assay_ndjson_schema *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    uint32_t size = 4;
    while (size < 2 * (uint64_t)ncols)
        size <<= 1;
    s->mask = size - 1;
    s->names = calloc(ncols ? ncols : 1, sizeof(*s->names));
    s->name_len = calloc(ncols ? ncols : 1, sizeof(*s->name_len));
    s->table = malloc(size * sizeof(*s->table));
    if (!s->names || !s->name_len || !s->table) {
        assay_ndjson_schema_free(s);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < size; i++)
        s->table[i].col = NO_COL;
    for (uint32_t c = 0; c < ncols; c++) {
        if (!names[c]) {
            assay_ndjson_schema_free(s);
            return -EINVAL;
        }
        size_t len = strlen(names[c]);
        if (len > UINT32_MAX / 8) {
            assay_ndjson_schema_free(s);
            return -EINVAL;
        }
        if (schema_find(s, names[c], len) != NO_COL) {
            assay_ndjson_schema_free(s); /* duplicate column name */
            return -EINVAL;
        }
        s->names[c] = strdup(names[c]);
        if (!s->names[c]) {
            s->ncols = c;
            assay_ndjson_schema_free(s);
            return -ENOMEM;
        }
        s->ncols = c + 1;
        s->name_len[c] = (uint32_t)len;
        if (len > s->max_name_len)
            s->max_name_len = len;
        uint64_t h = key_hash(names[c], len);
        uint32_t i = (uint32_t)h & s->mask;
        while (s->table[i].col != NO_COL)
            i = (i + 1) & s->mask;
        s->table[i] = (schema_slot){ .hash = h, .col = c, .len = (uint32_t)len };
    }
    s->ncols = ncols;
    *out = s;
    return 0;
}

/* ------------------------------------------------------------------------------------
 * String body scanning kernels
 * ---------------------------------------------------------------------------------- */

/* Both kernels: first byte in [p, end) that is '"', '\\' or < 0x20, or end. *hi gets
 * a non-zero value when a byte >= 0x80 lies in [p, result). */

static inline int is_special(uint8_t c)
{
    return c == '"' || c == '\\' || c < 0x20;
}

static const char *find_special_swar(const char *p, const char *end, unsigned *hi)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t q = x ^ (ones * '"');
        uint64_t b = x ^ (ones * '\\');
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x);
        if (hit & high)
            break; /* some byte of these 8 is special: finish bytewise */
        *hi |= (x & high) != 0;
        p += 8;
    }
    while (p < end && !is_special((uint8_t)*p)) {
        *hi |= (uint8_t)*p >> 7;
        p++;
    }
    return p;
}

#if defined(__SSE2__)
static const char *find_special_sse2(const char *p, const char *end, unsigned *hi)
{
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i c1f = _mm_set1_epi8(0x1F);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                  _mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
        unsigned m = (unsigned)_mm_movemask_epi8(sp);
        unsigned h = (unsigned)_mm_movemask_epi8(v);
        if (m) {
            unsigned i = (unsigned)__builtin_ctz(m);
            *hi |= h & ((1u << i) - 1);
            return p + i;
        }
        *hi |= h;
        p += 16;
    }
    return find_special_swar(p, end, hi);
}
#endif

/* ------------------------------------------------------------------------------------
 * Row parser
 * ---------------------------------------------------------------------------------- */

#define NPRED 64 /* key positions remembered for the key-order prediction */

typedef struct pred_slot {
    uint32_t off; /* raw key bytes in the chunk */
    uint32_t len;
    uint32_t col;
} pred_slot;

typedef struct key_ref {
    uint32_t off, len; /* raw key bytes in the chunk */
    bool esc;
} key_ref;

typedef struct keyvec {
    key_ref *v;
    size_t n, cap;
    bool oom;
} keyvec;

typedef struct row_ctx {
    const char *chunk;
    const char *row, *end; /* current line, terminator excluded */
    const char *chunk_end;
    bool sse2; /* string scan kernel: SSE2, else the portable SWAR one */
    /* first problem of the row */
    uint32_t reason, detail;
    const char *at;
    uint32_t col;    /* column whose key/value is being scanned, for BAD_UTF8 */
    const char *key; /* raw bytes of the top-level key being scanned (or whose value is),
                      * NULL between values: the bad row names it */
    uint32_t klen;   /* their length; UINT32_MAX while the key itself is scanned */
    /* schema matching (s may be NULL: no columns) */
    const assay_ndjson_schema *s;
    uint32_t *stamp; /* [ncols]: last row stamp that set the column */
    uint32_t cur_stamp;
    char *scratch; /* >= 6 * max_name_len bytes, to unescape keys */
    /* output */
    assay_rowset *rs;
    uint32_t wn;      /* columns that may be wanted: min(rs->ncols, s->ncols) */
    uint32_t *wanted; /* list of wanted columns */
    uint32_t nwanted;
    uint32_t slot;
    uint32_t unk_mark; /* rs->nunk when the row began */
    keyvec *keys;      /* assay_ndjson_keys: collect top-level keys here */
    /* key-order prediction (last: left uninitialised beyond npred) */
    uint32_t npred;
    pred_slot pred[NPRED];
} row_ctx;

static inline const char *find_special(const row_ctx *x, const char *p, const char *end,
                                       unsigned *hi)
{
#if defined(__SSE2__)
    if (ASSAY_LIKELY(x->sse2))
        return find_special_sse2(p, end, hi);
#endif
    (void)x;
    return find_special_swar(p, end, hi);
}

/* Raw bytes a[0..len) == b[0..len); a_room/b_room: readable bytes from a and b. Short
 * keys compare with one or two masked 8-byte loads instead of a memcmp call. */
static inline bool key_equal(const char *a, size_t a_room, const char *b, size_t b_room, size_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len <= 16 && a_room >= 16 && b_room >= 16) {
        uint64_t a0, a1, b0, b1;
        memcpy(&a0, a, 8);
        memcpy(&a1, a + 8, 8);
        memcpy(&b0, b, 8);
        memcpy(&b1, b + 8, 8);
        uint64_t m0 = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
        uint64_t m1 = len >= 16 ? ~0ull : len <= 8 ? 0 : (1ull << (8 * (len - 8))) - 1;
        return (((a0 ^ b0) & m0) | ((a1 ^ b1) & m1)) == 0;
    }
#endif
    (void)a_room;
    (void)b_room;
    return memcmp(a, b, len) == 0;
}

static const char *fail(row_ctx *x, uint32_t reason, uint32_t detail, const char *at)
{
    x->reason = reason;
    x->detail = detail;
    x->at = at;
    return NULL;
}

static const char *syntax(row_ctx *x, assay_json_error e, const char *at)
{
    return fail(x, ASSAY_BAD_JSON_SYNTAX, (uint32_t)e, at);
}

static inline int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline const char *skip_ws(const char *p, const char *end)
{
    while (p < end && ASSAY_UNLIKELY((uint8_t)*p <= ' ') && is_ws((uint8_t)*p))
        p++;
    return p;
}

static inline int is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10;
}

static inline int hexval(uint8_t c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Four hex digits at p (caller checked they exist), or -1. */
static inline int32_t hex4(const char *p)
{
    int a = hexval((uint8_t)p[0]), b = hexval((uint8_t)p[1]);
    int c = hexval((uint8_t)p[2]), d = hexval((uint8_t)p[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return (a << 12) | (b << 8) | (c << 4) | d;
}

/* Escape at p (p[0] == '\\', p + 1 < end). Returns the byte after it, or NULL. */
static const char *scan_escape(row_ctx *x, const char *p, const char *end)
{
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 2;
    case 'u': {
        if (end - p < 6)
            return syntax(x, ASSAY_JSON_BAD_UNICODE, p);
        int32_t u = hex4(p + 2);
        if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
            return syntax(x, ASSAY_JSON_BAD_UNICODE, p);
        if (u < 0xD800 || u > 0xDBFF)
            return p + 6;
        if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
            return syntax(x, ASSAY_JSON_BAD_UNICODE, p);
        int32_t lo = hex4(p + 8);
        if (lo < 0xDC00 || lo > 0xDFFF)
            return syntax(x, ASSAY_JSON_BAD_UNICODE, p);
        return p + 12;
    }
    default:
        return syntax(x, ASSAY_JSON_BAD_ESCAPE, p);
    }
}

/* String whose opening quote is at q. Returns the closing quote, or NULL; *esc tells
 * whether the body holds a backslash. */
static const char *scan_string(row_ctx *x, const char *q, bool *esc)
{
    const char *end = x->end;
    const char *p = q + 1;
    const char *seg = p; /* start of the not-yet-UTF-8-checked run */
    bool any_esc = false;
    for (;;) {
        unsigned hi = 0;
        p = find_special(x, p, end, &hi);
        if (ASSAY_UNLIKELY(hi)) {
            size_t n = (size_t)(p - seg);
            size_t bad = assay_utf8_check(seg, n);
            if (bad != n)
                return fail(x, ASSAY_BAD_UTF8, x->col, seg + bad);
        }
        if (ASSAY_UNLIKELY(p == end))
            return syntax(x, ASSAY_JSON_UNTERMINATED_STRING, q);
        if (ASSAY_LIKELY(*p == '"')) {
            *esc = any_esc;
            return p;
        }
        if (*p == '\\') {
            if (end - p < 2)
                return syntax(x, ASSAY_JSON_UNTERMINATED_STRING, q);
            any_esc = true;
            p = scan_escape(x, p, end);
            if (!p)
                return NULL;
            seg = p;
            continue;
        }
        return syntax(x, ASSAY_JSON_CONTROL_CHAR, p);
    }
}

static inline int number_tail(uint8_t c)
{
    return is_digit(c) || c == '.' || c == '+' || c == '-' || c == '_' ||
           ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Number starting at p ('-' or a digit). Returns the byte after it, or NULL. */
static const char *scan_number(row_ctx *x, const char *p)
{
    const char *end = x->end;
    if (*p == '-')
        p++;
    if (p == end || !is_digit((uint8_t)*p))
        return syntax(x, ASSAY_JSON_BAD_NUMBER, p);
    if (*p == '0') {
        p++;
    } else {
        while (p < end && is_digit((uint8_t)*p))
            p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit((uint8_t)*p))
            return syntax(x, ASSAY_JSON_BAD_NUMBER, p);
        while (p < end && is_digit((uint8_t)*p))
            p++;
    }
    if (p < end && (*p | 0x20) == 'e') {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit((uint8_t)*p))
            return syntax(x, ASSAY_JSON_BAD_NUMBER, p);
        while (p < end && is_digit((uint8_t)*p))
            p++;
    }
    if (p < end && number_tail((uint8_t)*p))
        return syntax(x, ASSAY_JSON_BAD_NUMBER, p);
    return p;
}

/* Literal lit (n bytes) expected at p. */
static const char *scan_literal(row_ctx *x, const char *p, const char *lit, size_t n)
{
    const char *end = x->end;
    for (size_t i = 0; i < n; i++) {
        if (p + i == end || p[i] != lit[i])
            return syntax(x, ASSAY_JSON_BAD_LITERAL, p + i);
    }
    p += n;
    if (p < end && number_tail((uint8_t)*p))
        return syntax(x, ASSAY_JSON_BAD_LITERAL, p);
    return p;
}

/* A string, literal or number at p: the byte after it, or NULL with the syntax error
 * recorded (anything else at p is an unexpected character). */
static const char *scan_scalar(row_ctx *x, const char *p)
{
    bool esc;
    switch (*p) {
    case '"':
        p = scan_string(x, p, &esc);
        return p ? p + 1 : NULL;
    case 't':
        return scan_literal(x, p, "true", 4);
    case 'f':
        return scan_literal(x, p, "false", 5);
    case 'n':
        return scan_literal(x, p, "null", 4);
    case '-':
    case '0' ... '9':
        return scan_number(x, p);
    default:
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
    }
}

/* Object or array opening at p, at nesting depth `depth` (the line's object is 1).
 * Validates it completely; returns the byte after its closing bracket, or NULL. */
static const char *skip_container(row_ctx *x, const char *p, unsigned depth)
{
    const char *end = x->end;
    char kind[ASSAY_JSON_MAX_DEPTH + 1]; /* indexed by depth - base */
    const unsigned base = depth;
    unsigned d = depth;
    bool esc;

    if (d > ASSAY_JSON_MAX_DEPTH)
        return syntax(x, ASSAY_JSON_TOO_DEEP, p);
    kind[0] = *p++;
open:
    p = skip_ws(p, end);
    if (p == end)
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
    if (kind[d - base] == '{') {
        if (*p == '}')
            goto close;
        goto key;
    }
    if (*p == ']')
        goto close;
    goto value;
key:
    if (*p != '"')
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
    p = scan_string(x, p, &esc);
    if (!p)
        return NULL;
    p = skip_ws(p + 1, end);
    if (p == end || *p != ':')
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
    p = skip_ws(p + 1, end);
value:
    if (p == end)
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
    switch (*p) {
    case '{':
    case '[':
        if (++d > ASSAY_JSON_MAX_DEPTH)
            return syntax(x, ASSAY_JSON_TOO_DEEP, p);
        kind[d - base] = *p++;
        goto open;
    default:
        p = scan_scalar(x, p);
        break;
    }
    if (!p)
        return NULL;
after:
    p = skip_ws(p, end);
    if (p == end)
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
    if (*p == ',') {
        p = skip_ws(p + 1, end);
        if (p == end)
            return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
        if (kind[d - base] == '{')
            goto key;
        goto value;
    }
    if (*p != (kind[d - base] == '{' ? '}' : ']'))
        return syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
close:
    p++;
    if (d == base)
        return p;
    d--;
    goto after;
}

/* Column of the key whose raw body is k[0..len) (esc: holds a backslash), using and
 * updating the key-order prediction for key position i. */
static uint32_t key_column(row_ctx *x, const char *k, uint32_t len, bool esc, uint32_t i)
{
    if (i < x->npred) {
        const pred_slot *ps = &x->pred[i];
        if (ps->len == len &&
            key_equal(x->chunk + ps->off, (size_t)(x->chunk_end - x->chunk) - ps->off, k,
                      (size_t)(x->chunk_end - k), len))
            return ps->col;
    }
    uint32_t col = NO_COL;
    const assay_ndjson_schema *s = x->s;
    if (!esc) {
        col = schema_find(s, k, len);
    } else if (len <= 6 * s->max_name_len) {
        /* each unescaped byte costs at most 6 raw bytes, so longer keys cannot match */
        size_t n;
        if (assay_json_unescape(k, len, x->scratch, &n) == 0)
            col = schema_find(s, x->scratch, n);
    }
    if (i < NPRED) {
        x->pred[i] = (pred_slot){ .off = (uint32_t)(k - x->chunk), .len = len, .col = col };
        if (i >= x->npred)
            x->npred = i + 1;
    }
    return col;
}

/* Report a key outside the schema, once per row (the row's earlier reports are the
 * entries from unk_mark on). */
static void unknown_key(row_ctx *x, uint32_t off, uint32_t len, bool esc)
{
    assay_rowset *rs = x->rs;
    for (uint32_t i = x->unk_mark; i < rs->nunk; i++)
        if (rs->unk[i].len == len && memcmp(x->chunk + rs->unk[i].off, x->chunk + off, len) == 0)
            return;
    if (rs->nunk < rs->unk_cap)
        rs->unk[rs->nunk++] =
            (assay_unknown_key){ .row = x->slot, .off = off, .len = len, .esc = esc };
    else
        rs->unk_dropped++;
}

static inline void put_cell(row_ctx *x, uint32_t col, const char *v, uint32_t len, uint8_t flags)
{
    assay_rowset *rs = x->rs;
    size_t i = (size_t)col * rs->cap + x->slot;
    rs->cells[i].off = (uint32_t)(v - x->chunk);
    rs->cells[i].len = len;
    rs->flags[i] = flags;
}

static void keys_push(keyvec *kv, uint32_t off, uint32_t len, bool esc)
{
    if (kv->n == kv->cap) {
        size_t cap = kv->cap ? kv->cap * 2 : 32;
        key_ref *v = realloc(kv->v, cap * sizeof(*v));
        if (!v) {
            kv->oom = true;
            return;
        }
        kv->v = v;
        kv->cap = cap;
    }
    kv->v[kv->n++] = (key_ref){ .off = off, .len = len, .esc = esc };
}

/* Parse the line [x->row, x->end) whose first non-blank byte is p. Returns 0 for a
 * good row (cells of slot x->slot written) or -1 with x->reason/detail/at set. */
static int parse_row(row_ctx *x, const char *p)
{
    const char *end = x->end;
    x->col = NO_COL;
    x->key = NULL;
    x->klen = UINT32_MAX;
    if (p == end) {
        syntax(x, ASSAY_JSON_EMPTY, p);
        return -1;
    }
    if (*p != '{') {
        /* Not an object: find out whether it is valid JSON at all. */
        const char *v = p;
        p = *p == '[' ? skip_container(x, p, 1) : scan_scalar(x, p);
        if (!p)
            return -1;
        p = skip_ws(p, end);
        if (p != end)
            syntax(x, ASSAY_JSON_TRAILING, p);
        else
            fail(x, ASSAY_BAD_JSON_NOT_OBJECT, 0, v);
        return -1;
    }

    uint32_t stamp = ++x->cur_stamp;
    if (ASSAY_UNLIKELY(stamp == 0)) {
        /* wrapped after 2^32 rows in one call: restart the stamps */
        if (x->s && x->s->ncols)
            memset(x->stamp, 0, x->s->ncols * sizeof(*x->stamp));
        stamp = x->cur_stamp = 1;
    }
    for (uint32_t i = 0; i < x->nwanted; i++) {
        size_t ci = (size_t)x->wanted[i] * x->rs->cap + x->slot;
        x->rs->cells[ci] = (assay_cell){ 0, 0 };
        x->rs->flags[ci] = ASSAY_CELL_NULL;
    }

    p = skip_ws(p + 1, end);
    if (p == end) {
        syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
        return -1;
    }
    if (*p == '}') {
        p++;
        goto done;
    }
    for (uint32_t ki = 0;; ki++) {
        if (*p != '"') {
            syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
            return -1;
        }
        const char *kq = p;
        bool esc;
        x->col = NO_COL;
        x->key = kq + 1;
        x->klen = UINT32_MAX;
        const char *ke = scan_string(x, kq, &esc);
        if (!ke)
            return -1;
        uint32_t klen = (uint32_t)(ke - kq - 1);
        x->klen = klen;
        uint32_t col = NO_COL;
        if (x->s) {
            col = key_column(x, kq + 1, klen, esc, ki);
            if (col != NO_COL) {
                if (x->stamp[col] == stamp) {
                    fail(x, ASSAY_BAD_JSON_DUPLICATE_KEY, col, kq);
                    return -1;
                }
                x->stamp[col] = stamp;
            } else if (x->rs->unk) {
                unknown_key(x, (uint32_t)(kq + 1 - x->chunk), klen, esc);
            }
        }
        if (x->keys)
            keys_push(x->keys, (uint32_t)(kq + 1 - x->chunk), klen, esc);
        p = skip_ws(ke + 1, end);
        if (p == end || *p != ':') {
            syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
            return -1;
        }
        p = skip_ws(p + 1, end);
        if (p == end) {
            syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
            return -1;
        }
        x->col = col;
        bool want = col < x->wn && x->rs->want[col];
        const char *v = p;
        uint8_t flags;
        switch (*p) {
        case '"':
            p = scan_string(x, v, &esc);
            if (!p)
                return -1;
            if (want)
                put_cell(x, col, v + 1, (uint32_t)(p - v - 1),
                         ASSAY_CELL_QUOTED | (esc ? ASSAY_CELL_ESCAPED : 0));
            p++;
            goto next;
        case '{':
        case '[':
            p = skip_container(x, p, 2);
            flags = ASSAY_CELL_RAW;
            break;
        case 't':
            p = scan_literal(x, p, "true", 4);
            flags = ASSAY_CELL_BOOL;
            break;
        case 'f':
            p = scan_literal(x, p, "false", 5);
            flags = ASSAY_CELL_BOOL;
            break;
        case 'n':
            p = scan_literal(x, p, "null", 4);
            if (p && want)
                put_cell(x, col, v, 0, ASSAY_CELL_NULL);
            goto checked;
        case '-':
        case '0' ... '9':
            p = scan_number(x, p);
            flags = ASSAY_CELL_NUMBER;
            break;
        default:
            syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
            return -1;
        }
        if (p && want)
            put_cell(x, col, v, (uint32_t)(p - v), flags);
    checked:
        if (!p)
            return -1;
    next:
        x->key = NULL; /* between values: a problem here is the row's */
        p = skip_ws(p, end);
        if (p == end) {
            syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
            return -1;
        }
        if (*p == ',') {
            p = skip_ws(p + 1, end);
            if (p == end) {
                syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
                return -1;
            }
            continue;
        }
        if (*p == '}') {
            p++;
            break;
        }
        syntax(x, ASSAY_JSON_UNEXPECTED_CHAR, p);
        return -1;
    }
done:
    p = skip_ws(p, end);
    if (p != end) {
        syntax(x, ASSAY_JSON_TRAILING, p);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------
 * Chunk driver
 * ---------------------------------------------------------------------------------- */

static bool pick_sse2(assay_simd_level level)
{
#if defined(__SSE2__)
    return level > ASSAY_SIMD_SCALAR;
#else
    (void)level;
    return false;
#endif
}

/* Offset where parsing of a chunk starts: past a UTF-8 BOM at offset 0. */
static size_t skip_bom(const char *buf, size_t len, size_t pos)
{
    if (pos == 0 && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        return 3;
    return pos;
}

/* Null tokens: a string value of a good row whose text (escapes undone) is a token
 * becomes null. Only strings: JSON null is null anyway, and a number or literal is not
 * text (the token "0" must not turn the number 0 into a null). A pass after the rows
 * are parsed, so parsing is the same with and without tokens. */
static void mark_null_tokens(const assay_null_tokens *t, const char *buf, assay_rowset *rs,
                             const uint32_t *wanted, uint32_t nwanted)
{
    for (uint32_t i = 0; i < nwanted; i++) {
        size_t base = (size_t)wanted[i] * rs->cap;
        assay_cell *cells = rs->cells + base;
        uint8_t *fl = rs->flags + base;
        for (uint32_t r = 0; r < rs->nrows; r++) {
            if (!(fl[r] & ASSAY_CELL_QUOTED))
                continue;
            const char *p = buf + cells[r].off;
            size_t len = cells[r].len;
            char tmp[6 * ASSAY_NULL_TOKEN_MAX_LEN]; /* a \uXXXX escape is 6 bytes for 1 */
            if (ASSAY_UNLIKELY(fl[r] & ASSAY_CELL_ESCAPED)) {
                if (len > sizeof(tmp) || assay_json_unescape(p, len, tmp, &len) != 0)
                    continue;
                p = tmp;
            }
            if (assay_null_tokens_match(t, p, len)) {
                fl[r] = ASSAY_CELL_NULL;
                cells[r].len = 0;
            }
        }
    }
}

int assay_ndjson_parse_level(const assay_ndjson_options *o, const assay_ndjson_schema *s,
                             assay_cursor *cur, assay_rowset *rs, assay_simd_level level)
{
    if (!s || !cur || !rs || (!cur->buf && cur->len) || cur->len > UINT32_MAX)
        return -EINVAL;
    assay_ndjson_options def;
    if (!o) {
        assay_ndjson_options_default(&def);
        o = &def;
    }
    rs->nrows = rs->nbad = rs->nlines = rs->ncomments = 0;
    rs->nunk = rs->unk_dropped = 0;
    if (cur->pos >= cur->len || rs->cap == 0 || rs->bad_cap == 0)
        return 0;

    row_ctx *x = malloc(sizeof(*x));
    if (!x)
        return -ENOMEM;
    memset(x, 0, offsetof(row_ctx, pred)); /* everything but the prediction table */
    x->chunk = cur->buf;
    x->chunk_end = cur->buf + cur->len;
    x->sse2 = pick_sse2(level);
    x->s = s;
    x->rs = rs;
    x->wn = rs->want ? ASSAY_MIN(rs->ncols, s->ncols) : 0;

    /* One allocation for the per-column stamps, the wanted list and key scratch. */
    size_t scratch_len = 6 * s->max_name_len + 8;
    size_t words = 2 * (size_t)s->ncols;
    void *mem = malloc(words * sizeof(uint32_t) + scratch_len);
    if (!mem) {
        free(x);
        return -ENOMEM;
    }
    x->stamp = mem;
    memset(x->stamp, 0, s->ncols * sizeof(uint32_t));
    x->wanted = x->stamp + s->ncols;
    x->scratch = (char *)(x->wanted + s->ncols);
    for (uint32_t c = 0; c < x->wn; c++) {
        if (rs->want[c])
            x->wanted[x->nwanted++] = c;
    }

    const char *buf = cur->buf;
    size_t len = cur->len;
    size_t pos = skip_bom(buf, len, cur->pos);
    uint32_t ord = cur->ord;
    uint32_t max_row = o->max_row_bytes;
    while (pos < len && rs->nrows < rs->cap && rs->nbad < rs->bad_cap) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        const char *lend = nl ? nl : buf + len;
        pos = nl ? (size_t)(nl - buf) + 1 : len;
        if (nl) {
            rs->nlines++;
            if (lend > line && lend[-1] == '\r')
                lend--;
        }
        uint32_t llen = (uint32_t)(lend - line);
        uint32_t loff = (uint32_t)(line - buf);
        if (ASSAY_UNLIKELY(o->comment) && llen && line[0] == o->comment) {
            rs->ncomments++; /* a comment line: no row, no ordinal */
            continue;
        }
        if (max_row && llen > max_row) {
            rs->bad[rs->nbad++] = (assay_bad_row){ .row = ord++,
                                                   .off = loff,
                                                   .len = llen,
                                                   .at = max_row,
                                                   .detail = max_row,
                                                   .reason = ASSAY_BAD_ROW_TOO_LONG,
                                                   .key_at = UINT32_MAX,
                                                   .key_len = UINT32_MAX };
            continue;
        }
        const char *p = skip_ws(line, lend);
        if (p == lend && o->skip_blank)
            continue;
        x->row = line;
        x->end = lend;
        x->slot = rs->nrows;
        x->unk_mark = rs->nunk;
        uint32_t dropped = rs->unk_dropped;
        if (parse_row(x, p) == 0) {
            uint32_t r = rs->nrows++;
            if (rs->row_off)
                rs->row_off[r] = loff;
            if (rs->row_len)
                rs->row_len[r] = llen;
            if (rs->row_ord)
                rs->row_ord[r] = ord;
        } else {
            rs->nunk = x->unk_mark; /* a bad row reports no keys */
            rs->unk_dropped = dropped;
            rs->bad[rs->nbad++] =
                (assay_bad_row){ .row = ord,
                                 .off = loff,
                                 .len = llen,
                                 .at = (uint32_t)(x->at - line),
                                 .detail = x->detail,
                                 .reason = x->reason,
                                 .key_at = x->key ? (uint32_t)(x->key - line) : UINT32_MAX,
                                 .key_len = x->klen };
        }
        ord++;
    }
    if (o->nulls && o->nulls->n && x->nwanted && rs->nrows)
        mark_null_tokens(o->nulls, buf, rs, x->wanted, x->nwanted);
    cur->pos = pos;
    cur->ord = ord;
    free(mem);
    free(x);
    return 0;
}

int assay_ndjson_parse(const assay_ndjson_options *o, const assay_ndjson_schema *s,
                       assay_cursor *cur, assay_rowset *rs)
{
    return assay_ndjson_parse_level(o, s, cur, rs, assay_cpu_level());
}

/* ------------------------------------------------------------------------------------
 * Key discovery (schema inference)
 * ---------------------------------------------------------------------------------- */

typedef struct keyset {
    char **names;
    size_t *lens;
    uint32_t n, cap;
    uint32_t *table; /* index + 1 into names, 0 empty */
    uint32_t mask;
} keyset;

static int keyset_grow(keyset *ks)
{
    uint32_t cap = ks->cap ? ks->cap * 2 : 16;
    char **names = realloc(ks->names, cap * sizeof(*names));
    if (!names)
        return -ENOMEM;
    ks->names = names;
    size_t *lens = realloc(ks->lens, cap * sizeof(*lens));
    if (!lens)
        return -ENOMEM;
    ks->lens = lens;
    uint32_t *table = calloc(2 * (size_t)cap, sizeof(*table));
    if (!table)
        return -ENOMEM;
    uint32_t mask = 2 * cap - 1;
    for (uint32_t i = 0; i < ks->n; i++) {
        uint32_t h = (uint32_t)key_hash(ks->names[i], ks->lens[i]) & mask;
        while (table[h])
            h = (h + 1) & mask;
        table[h] = i + 1;
    }
    free(ks->table);
    ks->table = table;
    ks->mask = mask;
    ks->cap = cap;
    return 0;
}

/* Add the unescaped key k[0..len) unless present. */
static int keyset_add(keyset *ks, const char *k, size_t len)
{
    if (ks->n == ks->cap) {
        int rc = keyset_grow(ks);
        if (rc)
            return rc;
    }
    uint32_t h = (uint32_t)key_hash(k, len) & ks->mask;
    for (; ks->table[h]; h = (h + 1) & ks->mask) {
        uint32_t i = ks->table[h] - 1;
        if (ks->lens[i] == len && memcmp(ks->names[i], k, len) == 0)
            return 0;
    }
    char *name = malloc(len + 1);
    if (!name)
        return -ENOMEM;
    memcpy(name, k, len);
    name[len] = '\0';
    ks->names[ks->n] = name;
    ks->lens[ks->n] = len;
    ks->table[h] = ++ks->n;
    return 0;
}

int assay_ndjson_keys(const char *buf, size_t len, uint32_t max_lines, char ***keys,
                      uint32_t *nkeys, assay_error *err)
{
    if (!keys || !nkeys || (!buf && len))
        return assay_error_set(err, -EINVAL, "assay_ndjson_keys: invalid arguments");
    *keys = NULL;
    *nkeys = 0;
    if (len > UINT32_MAX)
        return assay_error_set(err, -EINVAL, "NDJSON sample too large (%zu bytes, limit 4 GiB)",
                               len);
    row_ctx *x = calloc(1, sizeof(*x));
    keyvec kv = { 0 };
    keyset ks = { 0 };
    char *tmp = NULL;
    size_t tmp_cap = 0;
    int rc = 0;
    bool any = false;
    uint32_t first_bad_line = 0, first_bad_at = 0, first_bad_reason = 0, first_bad_detail = 0;
    if (!x) {
        rc = -ENOMEM;
        goto out;
    }
    x->chunk = buf;
    x->chunk_end = buf ? buf + len : buf; /* an empty chunk may have no buffer */
    x->sse2 = pick_sse2(assay_cpu_level());
    x->keys = &kv;

    size_t pos = skip_bom(buf, len, 0);
    for (uint32_t line_no = 1; pos < len && (max_lines == 0 || line_no <= max_lines); line_no++) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        const char *lend = nl ? nl : buf + len;
        pos = nl ? (size_t)(nl - buf) + 1 : len;
        if (nl && lend > line && lend[-1] == '\r')
            lend--;
        const char *p = skip_ws(line, lend);
        if (p == lend)
            continue;
        x->row = line;
        x->end = lend;
        kv.n = 0;
        if (parse_row(x, p) != 0) {
            if (!first_bad_line) {
                first_bad_line = line_no;
                first_bad_at = (uint32_t)(x->at - line);
                first_bad_reason = x->reason;
                first_bad_detail = x->detail;
            }
            continue;
        }
        if (kv.oom) {
            rc = -ENOMEM;
            goto out;
        }
        any = true;
        for (size_t i = 0; i < kv.n; i++) {
            const char *k = buf + kv.v[i].off;
            size_t klen = kv.v[i].len;
            if (kv.v[i].esc) {
                if (klen > tmp_cap) {
                    char *t = realloc(tmp, klen);
                    if (!t) {
                        rc = -ENOMEM;
                        goto out;
                    }
                    tmp = t;
                    tmp_cap = klen;
                }
                if (assay_json_unescape(k, klen, tmp, &klen) != 0)
                    continue; /* cannot happen: the row validated */
                k = tmp;
            }
            rc = keyset_add(&ks, k, klen);
            if (rc)
                goto out;
        }
    }
    if (!any) {
        if (first_bad_line) {
            const char *why = first_bad_reason == ASSAY_BAD_JSON_SYNTAX
                                  ? assay_json_error_text((assay_json_error)first_bad_detail)
                              : first_bad_reason == ASSAY_BAD_UTF8 ? "invalid UTF-8"
                                                                   : "not a JSON object";
            rc = assay_error_set(err, -EINVAL,
                                 "no line of the NDJSON sample is a JSON object "
                                 "(line %u: %s at byte %u)",
                                 first_bad_line, why, first_bad_at);
        } else {
            rc = assay_error_set(err, -EINVAL,
                                 "no line of the NDJSON sample is a JSON object (input is empty)");
        }
        goto out;
    }
    *keys = ks.names;
    *nkeys = ks.n;
    ks.names = NULL;
    ks.n = 0;
out:
    if (rc == -ENOMEM)
        assay_error_set(err, rc, "out of memory while collecting NDJSON keys");
    for (uint32_t i = 0; i < ks.n; i++)
        free(ks.names[i]);
    free(ks.names);
    free(ks.lens);
    free(ks.table);
    free(kv.v);
    free(tmp);
    free(x);
    return rc;
}

/* ------------------------------------------------------------------------------------
 * Unescape and framing helpers
 * ---------------------------------------------------------------------------------- */

static size_t put_utf8(char *d, uint32_t cp)
{
    uint8_t *o = (uint8_t *)d;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Output never outgrows input (2 -> 1, 6 -> <= 3, 12 -> 4 bytes), so dst may equal
 * src: every write lands at or before the byte being read. Bytes other than escapes
 * are copied unchanged (not re-validated: the parser has checked them). */
int assay_json_unescape(const char *src, size_t len, char *dst, size_t *out_len)
{
    size_t i = 0, o = 0;
    while (i < len) {
        const char *bs = memchr(src + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - src) - i : len - i;
        if (run) {
            memmove(dst + o, src + i, run);
            o += run;
            i += run;
        }
        if (!bs)
            break;
        if (len - i < 2)
            return -EINVAL;
        char c = src[i + 1];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            dst[o++] = c;
            i += 2;
            continue;
        case 'b':
            dst[o++] = '\b';
            i += 2;
            continue;
        case 'f':
            dst[o++] = '\f';
            i += 2;
            continue;
        case 'n':
            dst[o++] = '\n';
            i += 2;
            continue;
        case 'r':
            dst[o++] = '\r';
            i += 2;
            continue;
        case 't':
            dst[o++] = '\t';
            i += 2;
            continue;
        case 'u':
            break;
        default:
            return -EINVAL;
        }
        if (len - i < 6)
            return -EINVAL;
        int32_t u = hex4(src + i + 2);
        if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
            return -EINVAL;
        uint32_t cp = (uint32_t)u;
        i += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (len - i < 6 || src[i] != '\\' || src[i + 1] != 'u')
                return -EINVAL;
            int32_t lo = hex4(src + i + 2);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -EINVAL;
            cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            i += 6;
        }
        o += put_utf8(dst + o, cp);
    }
    if (out_len)
        *out_len = o;
    return 0;
}

size_t assay_ndjson_last_row_end(const char *buf, size_t len)
{
    if (!buf || !len)
        return 0;
    const char *nl = memrchr(buf, '\n', len);
    return nl ? (size_t)(nl - buf) + 1 : 0;
}
