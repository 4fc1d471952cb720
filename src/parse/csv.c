/*
 * csv.c - RFC 4180 CSV: quote-aware row framing and field splitting.
 *
 * The method in two stages
 * ------------------------
 * CSV (RFC 4180, section 2) is rows of fields separated by a delimiter and ended by
 * CRLF (we accept LF alone too, and strip the CR). A field may be enclosed in double
 * quotes; inside, the delimiter and line breaks are data and a quote is written twice
 * (""). Framing therefore needs one bit of state, "inside quotes", and that bit is
 * what makes CSV slow to parse one byte at a time.
 *
 * Stage 1, the structural index (csv_index_*.c), follows simdjson's stage 1
 * (Langdale & Lemire, "Parsing Gigabytes of JSON per Second", VLDB Journal 28(6),
 * 2019, section 3.1) as adapted to CSV by Langdale's simdcsv: per 64-byte block,
 * bit masks of quote, delimiter and '\n' bytes; the in-quote mask is the prefix XOR
 * of the quote mask (a carry-less multiply by all-ones); the quote state is carried
 * across blocks; separators = (delimiter | newline) & ~inquote, flattened into an
 * array of uint32 offsets with bit 31 on newlines. There is a scalar twin and AVX2 and
 * AVX-512 versions, chosen at run time (assay_csv_index_kernel) and tested against
 * each other on random inputs.
 *
 * Stage 2, row assembly (this file, scalar), walks the separator list. Each entry
 * ends a field; a newline entry also ends the row. For each field it decides null /
 * quoted / escaped, checks the quoting, and stores a zero-copy slice for the columns
 * the caller wants (rs->want). It never looks at the bytes of an ordinary field: the
 * only per-field reads are of the separator list and, for the last field of a row,
 * the byte before '\n' (a CR to strip). Quotes are found with a forward "next quote"
 * cursor (memchr over at most QSCAN bytes at a time), so a field is compared against
 * one integer to learn that it holds no quote; only the rare fields that do hold one
 * are scanned (to validate them, to set ASSAY_CELL_ESCAPED, and to count the quoted
 * '\n' bytes for rs->nlines).
 *
 * The index is built a window at a time (at most WINDOW bytes or SEPCAP separators,
 * whichever comes first) into a stack array, so the separator list stays in L1 while
 * row assembly reads it. Rows may span windows: the field/row state lives in local
 * variables, not in the window, and the quote state is carried by the kernel. A call
 * that stops early (rs->cap good rows or rs->bad_cap bad rows) throws away the rest of
 * the current window, at most WINDOW bytes of indexing.
 *
 * Quote state is pure parity, everywhere
 * --------------------------------------
 * A quote byte flips the state wherever it is - also a stray one in an unquoted field.
 * The kernels, assay_csv_last_row_end and row assembly all use this one rule, so a
 * row boundary is the same whether the parser sees the whole file or chunks cut by
 * the reader at assay_csv_last_row_end, and a parse result never depends on where the
 * chunks were cut (tests/test_csv_simd.c and the fuzz target check exactly that). The
 * price: after a stray quote, framing follows parity, so e.g. `a"b,c\n` swallows the
 * following line(s) until the next quote; the resulting row is reported as bad.
 *
 * Field and row rules
 * -------------------
 *   - unquoted empty field          -> ASSAY_CELL_NULL (slice of length 0)
 *   - "" (quoted empty)             -> empty string, ASSAY_CELL_QUOTED
 *   - "a,b"                         -> slice a,b, ASSAY_CELL_QUOTED
 *   - "say ""hi"""                  -> slice say ""hi"", QUOTED|ESCAPED (assay_csv_unescape)
 *   - a CR right before '\n' (or at the very end of the chunk) is not part of the row;
 *   - a blank line (no bytes, or only a CR, before '\n') is skipped: it is not a row,
 *     gets no ordinal, and is not a bad row (its '\n' still counts in rs->nlines);
 *     with keep_blank it is a bad row ASSAY_BAD_FIELD_COUNT with 0 fields instead;
 *   - the last row of a chunk may lack its '\n'.
 *
 * Bad rows, in order of precedence when a row has several problems (the row is
 * skipped, counted in rs->bad with its ordinal, offset, length and the byte offset
 * 'at' inside the row):
 *   1. ASSAY_BAD_UNTERMINATED_QUOTE: the chunk ends inside quotes; the row runs to the
 *      end of the chunk; at = the quote that opened the unterminated run.
 *   2. ASSAY_BAD_ROW_TOO_LONG: more than max_row_bytes (excluding the terminator);
 *      at = max_row_bytes, detail = the limit.
 *   3. ASSAY_BAD_TOO_MANY_FIELDS: more than max_fields; at = start of the first field
 *      past the limit, detail = the limit.
 *   4. ASSAY_BAD_QUOTE: a quote in an unquoted field (at = that quote) or text after a
 *      closing quote (at = the first such byte); the first problem of the row.
 *   5. ASSAY_BAD_FIELD_COUNT: fields != rs->ncols; detail = fields found; at = start
 *      of the first extra field, or the row length when fields are missing.
 *
 * Limits: a chunk must be shorter than 2 GiB (offsets are uint32 with bit 31 used as
 * the newline flag).
 *
 * Speed. One core of the development machine (AVX-512 Xeon, gcc 12 -O3), 100 MiB of
 * synthetic CSV: 10 columns, ~129 bytes/row, 30% of one column quoted with a comma
 * inside, 10% of another with doubled quotes; parse = index + row assembly with 5 of
 * 10 columns wanted, 4096-row batches (best of 3, on an otherwise idle core):
 *
 *     level     index alone   full parse
 *     scalar     0.64 GB/s    0.54 GB/s
 *     avx2       4.6  GB/s    1.95 GB/s
 *     avx512     8.5  GB/s    2.0  GB/s
 *
 * With SIMD, row assembly (~5 ns per row of 10 fields) dominates; the index costs
 * about a quarter of the time at AVX2 and an eighth at AVX-512.
 */
#include <stdlib.h>
#include <string.h>

#include "assay/csv.h"
#include "parse/csv_internal.h"

/* ---------------------------------------------------------------- options, dispatch */

#define DEFAULT_MAX_ROW_BYTES (1u << 20)
#define DEFAULT_MAX_FIELDS    4096u

void assay_csv_options_default(assay_csv_options *o)
{
    o->delimiter = ',';
    o->quote = '"';
    o->header = true;
    o->max_row_bytes = DEFAULT_MAX_ROW_BYTES;
    o->max_fields = DEFAULT_MAX_FIELDS;
    o->keep_blank = false;
    o->comment = 0;
    o->nulls = NULL;
}

assay_csv_index_fn assay_csv_index_kernel(assay_simd_level level)
{
#if defined(__x86_64__)
    if (level >= ASSAY_SIMD_AVX512)
        return assay_csv_index_avx512;
    if (level >= ASSAY_SIMD_AVX2)
        return assay_csv_index_avx2;
#else
    (void)level;
#endif
    return assay_csv_index_scalar;
}

/* Options the framing cannot honour: a delimiter or quote that is a line break, or a
 * delimiter equal to the quote. */
static bool options_ok(const assay_csv_options *o)
{
    return o->delimiter != o->quote && o->delimiter != '\n' && o->delimiter != '\r' &&
           o->quote != '\n' && o->quote != '\r' && o->comment != o->delimiter &&
           o->comment != o->quote && o->comment != '\n' && o->comment != '\r';
}

/* ---------------------------------------------------------------- row assembly */

#define WINDOW   (16u * 1024u) /* bytes indexed per kernel call */
#define SEPCAP   1024u         /* separator slots per kernel call (4 KiB, in L1) */
#define QSCAN    4096u         /* bytes memchr looks ahead for the next quote */
#define NONE     UINT32_MAX
#define SEP_MASK (~ASSAY_CSV_SEP_NEWLINE)

/* Everything about the row being assembled. Kept in a struct so helpers can share it;
 * the hot loop copies the few fields it touches into locals. */
typedef struct row_state {
    const char *buf;
    size_t len;
    char q;
    /* next-quote cursor: nq is the offset of a quote (nq_real) or a horizon below
     * which there is no quote at or after the current field start */
    size_t nq;
    bool nq_real;
    /* current row */
    size_t row_start;
    uint32_t err_at;     /* first ASSAY_BAD_QUOTE position in the row, or NONE */
    uint32_t extra_at;   /* start of field ncols (the first extra field) */
    uint32_t toomany_at; /* start of field max_fields */
    uint32_t qnl;        /* '\n' bytes inside quoted text of this row */
} row_state;

static size_t next_quote(const row_state *st, size_t from, bool *real)
{
    size_t lim = st->len - from > QSCAN ? from + QSCAN : st->len;
    const char *p = memchr(st->buf + from, st->q, lim - from);
    if (p) {
        *real = true;
        return (size_t)(p - st->buf);
    }
    *real = false;
    return lim;
}

/* True when [fs, e) contains a quote; leaves st->nq at it (or at a horizon >= e). */
static inline bool field_has_quote(row_state *st, size_t e)
{
    while (st->nq < e) {
        if (st->nq_real)
            return true;
        st->nq = next_quote(st, st->nq, &st->nq_real);
    }
    return false;
}

static uint32_t count_newlines(const char *p, size_t n)
{
    uint32_t c = 0;
    const char *end = p + n;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

/* A field [fs, e) that holds at least one quote (the first at st->nq): validate it,
 * count its quoted newlines, and return its cell and flags. */
static void quoted_field(row_state *st, size_t fs, size_t e, assay_cell *cell, uint8_t *flags)
{
    const char *buf = st->buf;
    const char q = st->q;
    size_t bad = NONE;
    uint8_t f = 0;

    cell->off = (uint32_t)fs;
    cell->len = (uint32_t)(e - fs);
    if (buf[fs] == q) {
        size_t i = fs + 1;
        for (;;) {
            const char *p = i < e ? memchr(buf + i, q, e - i) : NULL;
            if (!p) { /* cannot happen under parity framing; kept for safety */
                bad = e;
                break;
            }
            size_t at = (size_t)(p - buf);
            if (at + 1 == e)
                break; /* the closing quote ends the field */
            if (buf[at + 1] == q) {
                f |= ASSAY_CELL_ESCAPED;
                i = at + 2;
                continue;
            }
            bad = at + 1; /* text after the closing quote */
            break;
        }
        if (bad == NONE) {
            cell->off = (uint32_t)(fs + 1);
            cell->len = (uint32_t)(e - fs - 2);
            f |= ASSAY_CELL_QUOTED;
        } else {
            f = 0;
        }
    } else {
        bad = st->nq; /* a quote inside an unquoted field */
    }
    if (bad != NONE && st->err_at == NONE)
        st->err_at = (uint32_t)(bad - st->row_start);
    st->qnl += count_newlines(buf + fs, e - fs);
    *flags = f;
    /* the separator at e (or the CR before it) is no quote: rescan from there */
    st->nq = e;
    st->nq_real = false;
}

/* Offset of the last quote in [from, to), which exists when the chunk ends in quotes. */
static size_t last_quote(const char *buf, size_t from, size_t to, char q)
{
    for (size_t i = to; i > from; i--)
        if (buf[i - 1] == q)
            return i - 1;
    return from;
}

/* Store field col of row r when wanted; track the limits; validate quotes. The slow
 * path of FIELD below: fields past min(ncols, max_fields) and fields with a quote. */
static void special_field(row_state *st, const assay_rowset *rs, uint32_t max_fields, uint32_t r,
                          uint32_t col, size_t fs, size_t e, bool has_quote)
{
    assay_cell c = { (uint32_t)fs, (uint32_t)(e - fs) };
    uint8_t f = e == fs ? ASSAY_CELL_NULL : 0;
    if (has_quote)
        quoted_field(st, fs, e, &c, &f);
    if (col == rs->ncols)
        st->extra_at = (uint32_t)(fs - st->row_start);
    if (col == max_fields)
        st->toomany_at = (uint32_t)(fs - st->row_start);
    if (col < rs->ncols && rs->want && rs->want[col]) {
        size_t k = (size_t)col * rs->cap + r;
        rs->cells[k] = c;
        rs->flags[k] = f;
    }
}

typedef struct counters {
    uint32_t nrows, nbad, nlines, ord;
} counters;

/* The row [st->row_start, e) with col fields is complete. Record it as a good or bad
 * row (or skip it when blank). Returns true when rs is now full. */
static inline bool finish_row(row_state *st, assay_rowset *rs, const assay_csv_options *o,
                              counters *c, size_t e, uint32_t col)
{
    size_t rlen = e - st->row_start;
    uint32_t reason = 0, at = 0, detail = 0;
    if (ASSAY_UNLIKELY(rlen == 0)) {
        if (!o->keep_blank)
            return false;               /* blank line: not a row */
        reason = ASSAY_BAD_FIELD_COUNT; /* a row with no fields, even when ncols is 1 */
    } else if (ASSAY_UNLIKELY(rlen > o->max_row_bytes)) {
        reason = ASSAY_BAD_ROW_TOO_LONG, at = o->max_row_bytes, detail = o->max_row_bytes;
    } else if (ASSAY_UNLIKELY(col > o->max_fields)) {
        reason = ASSAY_BAD_TOO_MANY_FIELDS, at = st->toomany_at, detail = o->max_fields;
    } else if (ASSAY_UNLIKELY(st->err_at != NONE)) {
        reason = ASSAY_BAD_QUOTE, at = st->err_at;
    } else if (ASSAY_UNLIKELY(col != rs->ncols)) {
        reason = ASSAY_BAD_FIELD_COUNT, detail = col;
        at = col > rs->ncols ? st->extra_at : (uint32_t)rlen;
    }
    if (ASSAY_LIKELY(!reason)) {
        if (rs->row_off)
            rs->row_off[c->nrows] = (uint32_t)st->row_start;
        if (rs->row_len)
            rs->row_len[c->nrows] = (uint32_t)rlen;
        if (rs->row_ord)
            rs->row_ord[c->nrows] = c->ord;
        c->ord++;
        return ++c->nrows == rs->cap;
    }
    assay_bad_row *b = &rs->bad[c->nbad];
    b->row = c->ord++;
    b->off = (uint32_t)st->row_start;
    b->len = (uint32_t)rlen;
    b->at = at;
    b->detail = detail;
    b->reason = reason;
    b->key_at = b->key_len = UINT32_MAX;
    return ++c->nbad == rs->bad_cap;
}

/* Comment lines: from `at`, a row start, skip every line that starts with cmt (through
 * its '\n'). Returns the next row start; adds the lines to *ncomments and their '\n'
 * bytes to *nlines. A comment line is not framed: its quotes mean nothing, so the
 * caller restarts the index after it with the quote state cleared. */
static size_t skip_comments(const char *buf, size_t len, size_t at, char cmt, uint32_t *ncomments,
                            uint32_t *nlines)
{
    while (at < len && buf[at] == cmt) {
        const char *nl = memchr(buf + at, '\n', len - at);
        ++*ncomments;
        if (!nl)
            return len;
        ++*nlines;
        at = (size_t)(nl - buf) + 1;
    }
    return at;
}

/* Null tokens: a good row's wanted cell whose text (unquoted, "" undone) is a token
 * becomes null. A pass after framing, so the hot loop above is the same with and
 * without tokens; the cells are column-major, so each column is one linear scan. A
 * quoted "NA" counts too: many writers quote every field, and the token list says
 * what the text means, whatever the quoting. */
static void mark_null_tokens(const assay_null_tokens *t, const char *buf, char q, assay_rowset *rs,
                             uint32_t nrows)
{
    for (uint32_t c = 0; c < rs->ncols; c++) {
        if (!rs->want[c])
            continue;
        assay_cell *cells = rs->cells + (size_t)c * rs->cap;
        uint8_t *fl = rs->flags + (size_t)c * rs->cap;
        for (uint32_t r = 0; r < nrows; r++) {
            if (fl[r] & ASSAY_CELL_NULL)
                continue;
            const char *p = buf + cells[r].off;
            size_t len = cells[r].len;
            char tmp[2 * ASSAY_NULL_TOKEN_MAX_LEN]; /* "" pairs: at most twice the token */
            if (ASSAY_UNLIKELY(fl[r] & ASSAY_CELL_ESCAPED)) {
                if (len > sizeof(tmp))
                    continue;
                len = assay_csv_unescape(p, len, q, tmp);
                p = tmp;
            }
            if (assay_null_tokens_match(t, p, len)) {
                fl[r] = ASSAY_CELL_NULL;
                cells[r].len = 0;
            }
        }
    }
}

static inline void start_row(row_state *st, size_t at)
{
    st->row_start = at;
    st->err_at = st->extra_at = st->toomany_at = NONE;
    st->qnl = 0;
}

int assay_csv_parse_level(const assay_csv_options *o, assay_cursor *cur, assay_rowset *rs,
                          assay_simd_level level)
{
    if (!o || !cur || !rs || !options_ok(o) || rs->cap == 0 || rs->bad_cap == 0 || !rs->bad ||
        cur->len >= ASSAY_CSV_SEP_NEWLINE || (rs->want && (!rs->cells || !rs->flags)))
        return -EINVAL;

    const assay_csv_index_fn index = assay_csv_index_kernel(level);
    const char *const buf = cur->buf;
    const size_t len = cur->len;
    const char delim = o->delimiter, q = o->quote;
    const uint32_t cap = rs->cap;
    const uint8_t *const want = rs->want;
    /* fields below 'plain' need nothing but the want check */
    const uint32_t plain = want ? ASSAY_MIN(rs->ncols, o->max_fields) : 0;
    assay_cell *const cells = rs->cells;
    uint8_t *const flags = rs->flags;

    counters c = { 0, 0, 0, cur->ord };
    size_t pos = cur->pos;
    const char cmt = o->comment;
    uint32_t ncomments = 0;
    rs->nrows = rs->nbad = rs->nlines = rs->ncomments = 0;
    rs->nunk = rs->unk_dropped = 0;
    if (cmt)
        pos = skip_comments(buf, len, pos, cmt, &ncomments, &c.nlines);
    if (pos >= len) {
        cur->pos = pos;
        rs->nlines = c.nlines;
        rs->ncomments = ncomments;
        return 0;
    }

    row_state st = { .buf = buf, .len = len, .q = q, .nq = pos, .nq_real = false };
    start_row(&st, pos);

    uint32_t seps[SEPCAP];
    uint64_t inq = 0;
    size_t wpos = pos;  /* next byte to index */
    size_t fs = pos;    /* start of the current field */
    uint32_t col = 0;   /* index of the current field in its row */
    bool ended = false; /* stopped early: pos is set */

/* Finish the field [fs, e): store it when wanted, track the limits. */
#define FIELD(e_)                                                                                  \
    do {                                                                                           \
        size_t e__ = (e_);                                                                         \
        if (ASSAY_LIKELY(!field_has_quote(&st, e__) && col < plain)) {                             \
            if (want[col]) {                                                                       \
                size_t k__ = (size_t)col * cap + c.nrows;                                          \
                cells[k__].off = (uint32_t)fs;                                                     \
                cells[k__].len = (uint32_t)(e__ - fs);                                             \
                flags[k__] = e__ == fs ? ASSAY_CELL_NULL : 0;                                      \
            }                                                                                      \
        } else {                                                                                   \
            special_field(&st, rs, o->max_fields, c.nrows, col, fs, e__,                           \
                          st.nq < e__ && st.nq_real);                                              \
        }                                                                                          \
    } while (0)

    while (wpos < len && !ended) {
        size_t wlen = ASSAY_MIN(len - wpos, (size_t)WINDOW);
        size_t consumed = 0;
        uint32_t unused_nl = 0;
        size_t n = index(buf + wpos, wlen, delim, q, &inq, seps, SEPCAP, &consumed, &unused_nl);
        const size_t base = wpos;
        for (size_t k = 0; k < n; k++) {
            const uint32_t s = seps[k];
            const size_t off = base + (s & SEP_MASK);
            if (ASSAY_LIKELY(!(s & ASSAY_CSV_SEP_NEWLINE))) {
                FIELD(off);
                col++;
                fs = off + 1;
                continue;
            }
            size_t e = off;
            if (e > fs && buf[e - 1] == '\r')
                e--;
            FIELD(e);
            c.nlines += 1 + st.qnl;
            ended = finish_row(&st, rs, o, &c, e, col + 1);
            col = 0;
            fs = off + 1;
            start_row(&st, fs);
            if (ended) {
                pos = fs;
                break;
            }
            if (ASSAY_UNLIKELY(cmt) && fs < len && buf[fs] == cmt) {
                /* index again after the comment lines, outside quotes */
                fs = skip_comments(buf, len, fs, cmt, &ncomments, &c.nlines);
                start_row(&st, fs);
                st.nq = fs;
                st.nq_real = false;
                inq = 0;
                consumed = fs - wpos;
                break;
            }
        }
        wpos += consumed;
    }

    if (!ended) {
        /* the chunk's last row, without a line terminator */
        if (st.row_start < len) {
            if (inq) {
                assay_bad_row *b = &rs->bad[c.nbad++];
                b->row = c.ord++;
                b->off = (uint32_t)st.row_start;
                b->len = (uint32_t)(len - st.row_start);
                b->at = (uint32_t)(last_quote(buf, st.row_start, len, q) - st.row_start);
                b->detail = 0;
                b->reason = ASSAY_BAD_UNTERMINATED_QUOTE;
                b->key_at = b->key_len = UINT32_MAX;
                /* quoted newlines of finished fields, plus those of the open run */
                c.nlines += st.qnl + count_newlines(buf + fs, len - fs);
            } else {
                size_t e = len;
                if (e > fs && buf[e - 1] == '\r')
                    e--;
                FIELD(e);
                c.nlines += st.qnl;
                finish_row(&st, rs, o, &c, e, col + 1);
            }
        }
        pos = len;
    }
#undef FIELD

    if (o->nulls && o->nulls->n && want && c.nrows)
        mark_null_tokens(o->nulls, buf, q, rs, c.nrows);
    cur->pos = pos;
    cur->ord = c.ord;
    rs->nrows = c.nrows;
    rs->nbad = c.nbad;
    rs->nlines = c.nlines;
    rs->ncomments = ncomments;
    return 0;
}

int assay_csv_parse(const assay_csv_options *o, assay_cursor *cur, assay_rowset *rs)
{
    return assay_csv_parse_level(o, cur, rs, assay_cpu_level());
}

/* ---------------------------------------------------------------- chunk boundaries */

/* With comment lines, row boundaries depend on where rows start (a comment line's
 * quotes do not count), so walk the rows from the start: a comment line ends at its
 * '\n'; another row at the first '\n' after an even number of quotes. memchr keeps
 * this fast enough for the rare files that have comments. */
static size_t last_row_end_comments(const assay_csv_options *o, const char *buf, size_t len)
{
    size_t at = 0, last = 0;
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        if (buf[at] != o->comment) {
            bool inq = false;
            size_t from = at;
            while (nl) {
                for (const char *p = buf + from; (p = memchr(p, o->quote, (size_t)(nl - p))); p++)
                    inq = !inq;
                if (!inq)
                    break;
                from = (size_t)(nl - buf) + 1;
                nl = from < len ? memchr(buf + from, '\n', len - from) : NULL;
            }
        }
        if (!nl)
            break;
        at = last = (size_t)(nl - buf) + 1;
    }
    return last;
}

size_t assay_csv_last_row_end(const assay_csv_options *o, const char *buf, size_t len)
{
    if (o && o->comment)
        return last_row_end_comments(o, buf, len);
    const assay_csv_index_fn index = assay_csv_index_kernel(assay_cpu_level());
    const char delim = o ? o->delimiter : ',', q = o ? o->quote : '"';
    uint32_t seps[SEPCAP];
    uint64_t inq = 0;
    size_t pos = 0, last = 0;
    while (pos < len) {
        /* chunks are < 2 GiB by contract, but windows keep offsets small anyway */
        size_t wlen = ASSAY_MIN(len - pos, (size_t)1 << 30);
        size_t consumed = 0;
        uint32_t unused_nl = 0;
        size_t n = index(buf + pos, wlen, delim, q, &inq, seps, SEPCAP, &consumed, &unused_nl);
        for (size_t k = n; k > 0; k--) {
            if (seps[k - 1] & ASSAY_CSV_SEP_NEWLINE) {
                last = pos + (seps[k - 1] & SEP_MASK) + 1;
                break;
            }
        }
        pos += consumed;
    }
    return last;
}

/* ---------------------------------------------------------------- header row */

size_t assay_csv_unescape(const char *src, size_t len, char quote, char *dst)
{
    size_t i = 0, o = 0;
    while (i < len) {
        const char *p = memchr(src + i, quote, len - i);
        size_t run = p ? (size_t)(p - src) - i + 1 : len - i; /* through the quote */
        memmove(dst + o, src + i, run);
        o += run;
        i += run;
        if (p && i < len && src[i] == quote)
            i++; /* the second quote of a pair */
    }
    return o;
}

static void free_fields(char **f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

int assay_csv_read_row(const assay_csv_options *o, const char *buf, size_t len, char ***fields,
                       uint32_t *nfields, size_t *consumed, assay_error *err)
{
    *fields = NULL;
    *nfields = 0;
    *consumed = 0;
    if (!options_ok(o))
        return assay_error_set(err, -EINVAL,
                               "CSV options: the delimiter, the quote and the comment "
                               "character must differ and not be a line break");
    const char d = o->delimiter, q = o->quote;
    size_t start = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        start = 3; /* UTF-8 byte order mark, as written by spreadsheet programs */
    /* skip blank lines and comment lines, as assay_csv_parse does */
    for (;;) {
        if (start < len && buf[start] == '\n') {
            start++;
        } else if (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n') {
            start += 2;
        } else if (o->comment && start < len && buf[start] == o->comment) {
            const char *nl = memchr(buf + start, '\n', len - start);
            start = nl ? (size_t)(nl - buf) + 1 : len;
        } else {
            break;
        }
    }
    /* find the row end by parity, exactly as the kernels do */
    size_t end = start, open = NONE;
    bool inq = false;
    for (; end < len; end++) {
        if (buf[end] == q) {
            inq = !inq;
            if (inq)
                open = end;
        } else if (buf[end] == '\n' && !inq) {
            break;
        }
    }
    if (inq)
        return assay_error_set(err, -EINVAL, "CSV header: unterminated quote opened at byte %zu",
                               open);
    size_t rend = end;
    if (rend > start && buf[rend - 1] == '\r')
        rend--;
    if (rend == start)
        return assay_error_set(err, -EINVAL, "CSV header: the input is empty (no header row)");

    uint32_t n = 0, ncap = 16;
    char **out = malloc(ncap * sizeof(*out));
    if (!out)
        return assay_error_set(err, -ENOMEM, "CSV header: out of memory");
    size_t fs = start;
    inq = false;
    for (size_t i = start; i <= rend; i++) {
        if (i < rend) {
            if (buf[i] == q)
                inq = !inq;
            if (inq || buf[i] != d)
                continue;
        }
        /* field [fs, i) */
        const char *f = buf + fs;
        size_t flen = i - fs;
        const char *qp = memchr(f, q, flen);
        if (qp && f[0] == q) {
            /* quoted: pairs inside, one closing quote at the end */
            size_t j = 1;
            for (;;) {
                const char *p = memchr(f + j, q, flen - j); /* exists: parity is even */
                size_t at = (size_t)(p - f);
                if (at + 1 == flen)
                    break;
                if (f[at + 1] != q) {
                    free_fields(out, n);
                    return assay_error_set(err, -EINVAL,
                                           "CSV header: text after a closing quote at byte %zu",
                                           fs + at + 1);
                }
                j = at + 2;
            }
            f++;
            flen -= 2;
        } else if (qp) {
            free_fields(out, n);
            return assay_error_set(err, -EINVAL,
                                   "CSV header: quote inside an unquoted name at byte %zu",
                                   (size_t)(qp - buf));
        }
        if (n >= o->max_fields) {
            free_fields(out, n);
            return assay_error_set(err, -EINVAL, "CSV header: more than %u columns (max_fields)",
                                   o->max_fields);
        }
        if (n == ncap) {
            char **grown = realloc(out, 2 * (size_t)ncap * sizeof(*out));
            if (!grown) {
                free_fields(out, n);
                return assay_error_set(err, -ENOMEM, "CSV header: out of memory");
            }
            out = grown;
            ncap *= 2;
        }
        char *s = malloc(flen + 1);
        if (!s) {
            free_fields(out, n);
            return assay_error_set(err, -ENOMEM, "CSV header: out of memory");
        }
        s[assay_csv_unescape(f, flen, q, s)] = '\0';
        out[n++] = s;
        fs = i + 1;
    }
    *fields = out;
    *nfields = n;
    *consumed = end < len ? end + 1 : len;
    return 0;
}
