/*
 * regex.c - `matches` rules through Hyperscan (x86-64) / Vectorscan (arm64).
 *
 * What is asked
 * -------------
 * For a batch of n values of one column and the m patterns of that column, produce m
 * bitmaps: bit i of match[j] is set when pattern j matches somewhere in value i
 * (search semantics, like Python's re.search; anchor with ^...$ for whole values).
 * We only need *whether* each pattern matched each value, never where.
 *
 * Hyperscan (Wang et al., "Hyperscan: A Fast Multi-pattern Regex Matcher for Modern
 * CPUs", NSDI 2019) compiles all patterns of a column into one database, scans a
 * buffer once for all of them and reports (pattern id, end offset) through a callback.
 * The database is compiled once at config load and shared read-only by all shards;
 * each shard owns an hs_scratch_t (cloned from a prototype, hs_clone_scratch), because
 * a scratch may be used by one scan at a time.
 *
 * Two ways to scan a batch
 * ------------------------
 * (a) PER_VALUE: hs_scan() once per value, patterns compiled with
 *     HS_FLAG_SINGLEMATCH (one report per pattern per scan is all we need). Simple and
 *     obviously right, but every value pays a library call and Hyperscan's per-scan
 *     setup (scratch and engine state initialisation), which for short values such as
 *     e-mail addresses costs more than the matching itself.
 *
 * (b) JOINED: copy the batch's values into one buffer separated by '\n' and scan it
 *     once with a second database compiled with HS_FLAG_MULTILINE, so that ^ and $
 *     match at every value boundary. A match report (id, to) is mapped back to the
 *     value whose span [start, start + len] contains `to` (a cursor over the starts,
 *     binary search when reports come out of order, which Hyperscan allows across
 *     patterns). SINGLEMATCH cannot be used here (it would report one value per
 *     pattern per *buffer*), so a pattern may report several times per value; setting
 *     a bit is idempotent.
 *
 * When is (b) exactly (a)?  Take a value v without '\n' placed at [s, s + |v|) with
 * '\n' (or the buffer's edge) on both sides.
 *   1. If pattern p cannot match any text containing '\n', every match that ends in
 *      [s, s + |v|] lies inside v: it cannot reach over the separator before s.
 *   2. The only constructs whose truth depends on text outside the match are
 *      assertions. ^ and $ under MULTILINE hold exactly at s and s + |v| (the
 *      neighbouring byte is '\n' or the buffer's edge, and v has no '\n' inside), which
 *      is where ^ and $ hold when v is scanned alone (non-multiline $ also holds
 *      before a final '\n', but v has none). \b and \B see '\n' as a non-word byte,
 *      exactly like the edge of a buffer. \A, \z and \Z hold at the edges of the whole
 *      buffer only, so the joined variant of a pattern has them rewritten to ^, $ and
 *      $ (equal at value edges by the same argument). (?m), (?s) and (?x) change the
 *      meaning of ^, $, '.' or of the pattern text and are not analysed: such a
 *      pattern is not joinable.
 *   3. So for such a pattern, v matches alone iff some report ends in [s, s + |v|].
 *      Every buffer offset lies in exactly one such span (the separator after v sits
 *      at s + |v| and the next value starts at s + |v| + 1), so empty matches, which
 *      need HS_FLAG_ALLOWEMPTY, map back correctly too.
 * Condition 1 is decided by a conservative scan of the pattern text (join_rewrite):
 * '.' without DOTALL, literals other than '\n', \d \w \S \h \V and the like, and
 * character classes whose members provably exclude '\n' (or, when negated, provably
 * include it: [^@\s] is fine) are accepted; \s, \v, \W, \D, \H, \p{..}, octal and
 * control escapes, \Q..\E, POSIX [:space:]/[:cntrl:] in a positive class, an
 * unanalysed inline option or anything unrecognised makes the pattern "not joinable".
 * A not joinable pattern goes to a third database scanned per value; it costs speed,
 * never correctness. Values that contain '\n' are scanned alone with the full
 * database. The empty value never needs a scan: which patterns match "" is computed
 * once at compile time. A batch with nothing left to scan does not call Hyperscan.
 *
 * The tests compare (b) with (a) on random values (with '\n', NUL, spaces, empty
 * values) against a list of patterns that exercise every rule above.
 *
 * Measured (`test_regex --bench [PATTERN]`: 1M e-mail-like values, about half invalid,
 * batches of 2048, thread CPU time, x86-64 VM with AVX-512, Hyperscan 5.4.0, gcc -O2):
 *
 *     pattern                          per value   joined    AUTO
 *     format email                     ~75 ns      ~75 ns    ~66-76 ns
 *     ^[^@\s]+@[^@\s]+\.[^@\s]+$         ~66-79 ns   ~55-63 ns  ~52 ns
 *     zzz (never matches)              ~18-24 ns   ~8-12 ns  ~9 ns
 *     "" (matches everywhere)          ~16 ns      ~210 ns   ~16 ns
 *
 * A per-value scan costs ~15 ns of call and setup; joining saves that but the
 * MULTILINE automaton must run over every byte, while an anchored per-value scan stops
 * as soon as the automaton dies (an invalid first byte), and a pattern that matches
 * at every offset makes the joined scan report every byte. Neither wins everywhere,
 * so AUTO times both (thread CPU time) on 16 batches out of every 4096 and uses the
 * faster; results are identical either way.
 *
 * Hyperscan rejects back-references, lookaround, atomic groups and possessive
 * quantifiers; the compile error names the pattern and suggests a rewrite.
 */
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/bitmap.h"
#include "assay/regex.h"

/* Values are joined into chunks of about this many bytes: big enough that the scan
 * call is amortised over hundreds of values, small enough to stay in L2. */
#define JOIN_CHUNK (64 * 1024)

/* AUTO re-measures both strategies on AUTO_PROBES batches out of every AUTO_PERIOD. */
#define AUTO_PERIOD 4096
#define AUTO_PROBES 16

struct assay_regex_db {
    size_t n;
    hs_database_t *all;    /* every pattern, SINGLEMATCH: one value at a time */
    hs_database_t *joined; /* joinable patterns, MULTILINE, rewritten; NULL when none */
    hs_database_t *rest;   /* patterns not joinable, SINGLEMATCH; NULL when none */
    hs_scratch_t *proto;   /* scratch big enough for the three, cloned per shard */
    uint64_t *empty;       /* bit j: pattern j matches the empty value */
    bool *joinable;        /* per pattern */
};

struct assay_regex_scratch {
    hs_scratch_t *hs;
    assay_regex_strategy strategy;
    char *buf; /* joined values */
    size_t buf_cap;
    uint32_t *start; /* buffer offset of the k-th joined value */
    uint32_t *idx;   /* its index in the batch */
    size_t list_cap;
    /* AUTO: batches seen, and time/values of the probe batches of each strategy */
    uint64_t batches;
    double probe_best[2]; /* least ns/value seen in this round's probes */
    assay_regex_strategy chosen;
};

/* ---------------------------------------------------------------------------------
 * Pattern analysis: can the pattern be scanned joined? (see the essay above)
 * --------------------------------------------------------------------------------- */

static bool is_alnum_ascii(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse \x.. at p (p points at the 'x'). Stores the byte value (or -1 when above 0xff
 * or malformed) and returns the number of bytes consumed after the backslash. */
static size_t parse_hex_escape(const char *p, long *val)
{
    size_t i = 1;
    long v = 0;
    if (p[1] == '{') {
        i = 2;
        while (hex_value((unsigned char)p[i]) >= 0 && i < 12)
            v = v * 16 + hex_value((unsigned char)p[i++]);
        if (p[i] != '}' || i == 2) {
            *val = -1;
            return i;
        }
        *val = v;
        return i + 1;
    }
    for (int k = 0; k < 2 && hex_value((unsigned char)p[i]) >= 0; k++)
        v = v * 16 + hex_value((unsigned char)p[i++]);
    *val = v;
    return i;
}

enum { ITEM_CHAR, ITEM_HAS_NL, ITEM_NO_NL, ITEM_UNKNOWN };

/* One class member starting with a backslash at p[0]. Sets *ch for ITEM_CHAR and
 * returns the kind; *used gets the bytes consumed. */
static int class_escape(const char *p, long *ch, size_t *used)
{
    unsigned char d = (unsigned char)p[1];
    *used = 2;
    switch (d) {
    case 'n':
        *ch = '\n';
        return ITEM_CHAR;
    case 't':
        *ch = '\t';
        return ITEM_CHAR;
    case 'r':
        *ch = '\r';
        return ITEM_CHAR;
    case 'f':
        *ch = '\f';
        return ITEM_CHAR;
    case 'e':
        *ch = 27;
        return ITEM_CHAR;
    case 'a':
        *ch = 7;
        return ITEM_CHAR;
    case 'b':
        *ch = 8;
        return ITEM_CHAR;
    case 'x': {
        size_t k = parse_hex_escape(p + 1, ch);
        *used = 1 + k;
        return *ch < 0 ? ITEM_UNKNOWN : ITEM_CHAR;
    }
    case 's':
    case 'v':
    case 'W':
    case 'D':
    case 'H':
        return ITEM_HAS_NL;
    case 'd':
    case 'w':
    case 'S':
    case 'h':
    case 'V':
        return ITEM_NO_NL;
    case '\0':
        *used = 1;
        return ITEM_UNKNOWN;
    default:
        if (!is_alnum_ascii(d)) {
            *ch = d;
            return ITEM_CHAR;
        }
        return ITEM_UNKNOWN;
    }
}

/* Class starting at p[0] == '['. Returns the length of the class, or 0 when the class
 * may match '\n' (or could not be analysed). */
static size_t class_len_if_no_newline(const char *p)
{
    static const char *const no_nl[] = { "alpha",  "digit", "alnum", "upper", "lower", "punct",
                                         "xdigit", "word",  "blank", "graph", "print" };
    size_t i = 1;
    bool neg = false, has = false, unknown = false, first = true;
    if (p[i] == '^') {
        neg = true;
        i++;
    }
    for (;;) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\0')
            return 0;
        if (c == ']' && !first)
            break;
        first = false;
        if (c == '[' && p[i + 1] == ':') {
            const char *end = strstr(p + i + 2, ":]");
            if (!end)
                return 0;
            size_t nlen = (size_t)(end - (p + i + 2));
            const char *name = p + i + 2;
            int kind = ITEM_UNKNOWN;
            if ((nlen == 5 && !memcmp(name, "space", 5)) ||
                (nlen == 5 && !memcmp(name, "cntrl", 5)))
                kind = ITEM_HAS_NL;
            for (size_t k = 0; k < ASSAY_ARRAY_LEN(no_nl); k++)
                if (strlen(no_nl[k]) == nlen && !memcmp(name, no_nl[k], nlen))
                    kind = ITEM_NO_NL;
            has |= kind == ITEM_HAS_NL;
            unknown |= kind == ITEM_UNKNOWN;
            i = (size_t)(end - p) + 2;
            continue;
        }
        long lo;
        size_t used = 1;
        int kind = ITEM_CHAR;
        if (c == '\\')
            kind = class_escape(p + i, &lo, &used);
        else
            lo = c;
        i += used;
        if (kind != ITEM_CHAR) {
            has |= kind == ITEM_HAS_NL;
            unknown |= kind == ITEM_UNKNOWN;
            continue;
        }
        long hi = lo;
        if (p[i] == '-' && p[i + 1] != ']' && p[i + 1] != '\0') {
            int hkind = ITEM_CHAR;
            if (p[i + 1] == '\\') {
                hkind = class_escape(p + i + 1, &hi, &used);
            } else {
                hi = (unsigned char)p[i + 1];
                used = 1;
            }
            i += 1 + used;
            if (hkind != ITEM_CHAR) {
                unknown = true;
                continue;
            }
        }
        if (lo <= '\n' && '\n' <= hi)
            has = true;
    }
    bool safe = neg ? has : (!has && !unknown);
    return safe ? i + 1 : 0;
}

/* Decide whether pattern p is joinable; when it is, write into out (strlen(p) + 1
 * bytes) the variant for the MULTILINE database: \A -> ^, \z and \Z -> $. */
static bool join_rewrite(const char *p, char *out)
{
    size_t i = 0, o = 0;
    while (p[i]) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            return false;
        if (c == '\\') {
            unsigned char d = (unsigned char)p[i + 1];
            if (d == '\0' || d == '\n')
                return false;
            if (!is_alnum_ascii(d) || strchr("dwSVhbBtrfea", d)) {
                out[o++] = (char)c;
                out[o++] = (char)d;
                i += 2;
                continue;
            }
            if (d == 'A' || d == 'z' || d == 'Z') {
                out[o++] = d == 'A' ? '^' : '$';
                i += 2;
                continue;
            }
            if (d == 'x') {
                long v;
                size_t k = parse_hex_escape(p + i + 1, &v);
                if (v < 0 || v == '\n')
                    return false;
                memcpy(out + o, p + i, 1 + k);
                o += 1 + k;
                i += 1 + k;
                continue;
            }
            return false;
        }
        if (c == '[') {
            size_t k = class_len_if_no_newline(p + i);
            if (k == 0)
                return false;
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
            continue;
        }
        if (c == '(' && p[i + 1] == '*')
            return false;
        if (c == '(' && p[i + 1] == '?') {
            const char *q = p + i + 2;
            bool ok = false;
            if (*q == ':' || (*q == '<' && is_alnum_ascii((unsigned char)q[1])) ||
                (*q == 'P' && q[1] == '<')) {
                ok = true;
            } else if (*q == 'i') {
                while (*q == 'i')
                    q++;
                ok = *q == ':' || *q == ')';
            }
            if (!ok)
                return false;
        }
        out[o++] = (char)c;
        i++;
    }
    out[o] = '\0';
    return true;
}

/* ---------------------------------------------------------------------------------
 * Compile
 * --------------------------------------------------------------------------------- */

static const char *suggestion(const char *hs_msg)
{
    if (strstr(hs_msg, "Back-reference") || strstr(hs_msg, "back-reference"))
        return " (Hyperscan cannot match back-references: spell the repeated text out, e.g. "
               "(ab)\\1 -> abab, or list the alternatives)";
    if (strstr(hs_msg, "Zero-width assertion"))
        return " (lookahead/lookbehind are not supported: match the surrounding text "
               "instead, e.g. foo(?=bar) -> foobar, or split the check into two `matches` "
               "rules)";
    if (strstr(hs_msg, "Atomic group") || strstr(hs_msg, "Possessive"))
        return " (write the group or quantifier without (?>...) or the extra '+')";
    return "";
}

static int hs_to_errno(hs_error_t e)
{
    switch (e) {
    case HS_NOMEM:
        return -ENOMEM;
    case HS_INVALID:
        return -EINVAL;
    case HS_SCRATCH_IN_USE:
        return -EBUSY;
    default:
        return -EIO;
    }
}

static int count_cb(unsigned int id, unsigned long long from, unsigned long long to,
                    unsigned int flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    assay_bit_set((uint64_t *)ctx, id);
    return 0;
}

/* Compile the subset of patterns (texts pats, original ids) with per-pattern flags. */
static hs_error_t compile_set(const char *const *pats, const unsigned *flags, const unsigned *ids,
                              size_t n, hs_database_t **db, hs_compile_error_t **cerr)
{
    return hs_compile_multi(pats, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, db, cerr);
}

void assay_regex_free(assay_regex_db *db)
{
    if (!db)
        return;
    hs_free_database(db->all);
    hs_free_database(db->joined);
    hs_free_database(db->rest);
    hs_free_scratch(db->proto);
    free(db->empty);
    free(db->joinable);
    free(db);
}

int assay_regex_compile(const char *const *patterns, size_t n, assay_regex_db **out,
                        assay_error *err)
{
    *out = NULL;
    if (n == 0)
        return assay_error_set(err, -EINVAL, "no patterns to compile");
    if (n > 1u << 20)
        return assay_error_set(err, -EINVAL, "too many patterns (%zu) for one column", n);
    for (size_t j = 0; j < n; j++)
        if (!patterns[j])
            return assay_error_set(err, -EINVAL, "pattern %zu is missing", j);

    int rc = -ENOMEM;
    assay_regex_db *db = calloc(1, sizeof(*db));
    unsigned *flags = calloc(n, sizeof(*flags));
    unsigned *ids = calloc(n, sizeof(*ids));
    const char **sub = calloc(n, sizeof(*sub));
    unsigned *subflags = calloc(n, sizeof(*subflags));
    unsigned *subids = calloc(n, sizeof(*subids));
    char **rewritten = calloc(n, sizeof(*rewritten));
    hs_compile_error_t *cerr = NULL;
    if (!db || !flags || !ids || !sub || !subflags || !subids || !rewritten)
        goto fail;
    db->n = n;
    db->empty = calloc(ASSAY_BITMAP_WORDS(n), sizeof(uint64_t));
    db->joinable = calloc(n, sizeof(bool));
    if (!db->empty || !db->joinable)
        goto fail;

    /* Validate one by one first, so the message names the pattern at fault, and learn
     * which can match the empty string (those need HS_FLAG_ALLOWEMPTY). */
    size_t njoin = 0;
    for (size_t j = 0; j < n; j++) {
        hs_expr_info_t *info = NULL;
        hs_error_t e =
            hs_expression_info(patterns[j], HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY, &info, &cerr);
        if (e != HS_SUCCESS) {
            const char *msg = cerr ? cerr->message : "invalid pattern";
            rc = assay_error_set(err, -EINVAL, "pattern %zu '%.200s': %s%s", j, patterns[j], msg,
                                 suggestion(msg));
            goto fail;
        }
        flags[j] = HS_FLAG_SINGLEMATCH | (info->min_width == 0 ? HS_FLAG_ALLOWEMPTY : 0);
        ids[j] = (unsigned)j;
        free(info);
        rewritten[j] = malloc(strlen(patterns[j]) + 1);
        if (!rewritten[j])
            goto fail;
        db->joinable[j] = join_rewrite(patterns[j], rewritten[j]);
        njoin += db->joinable[j];
    }

    hs_error_t e = compile_set(patterns, flags, ids, n, &db->all, &cerr);
    if (e != HS_SUCCESS) {
        const char *msg = cerr ? cerr->message : "compile failed";
        if (cerr && cerr->expression >= 0 && (size_t)cerr->expression < n)
            rc = assay_error_set(err, -EINVAL, "pattern %d '%.200s': %s%s", cerr->expression,
                                 patterns[cerr->expression], msg, suggestion(msg));
        else
            rc = assay_error_set(err, e == HS_NOMEM ? -ENOMEM : -EINVAL,
                                 "compiling %zu patterns: %s", n, msg);
        goto fail;
    }

    if (njoin > 0) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            if (!db->joinable[j])
                continue;
            sub[k] = rewritten[j];
            subflags[k] = HS_FLAG_MULTILINE | (flags[j] & HS_FLAG_ALLOWEMPTY);
            subids[k++] = (unsigned)j;
        }
        if (compile_set(sub, subflags, subids, k, &db->joined, &cerr) != HS_SUCCESS) {
            /* Should not happen (same patterns, one more flag); stay correct anyway. */
            hs_free_compile_error(cerr);
            cerr = NULL;
            db->joined = NULL;
            memset(db->joinable, 0, n * sizeof(bool));
            njoin = 0;
        }
    }
    if (njoin > 0 && njoin < n) {
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            if (db->joinable[j])
                continue;
            sub[k] = patterns[j];
            subflags[k] = flags[j];
            subids[k++] = (unsigned)j;
        }
        e = compile_set(sub, subflags, subids, k, &db->rest, &cerr);
        if (e != HS_SUCCESS) {
            rc = assay_error_set(err, hs_to_errno(e), "compiling %zu patterns: %s", k,
                                 cerr ? cerr->message : "compile failed");
            goto fail;
        }
    }

    hs_database_t *dbs[3] = { db->all, db->joined, db->rest };
    for (size_t k = 0; k < 3; k++) {
        if (dbs[k] && (e = hs_alloc_scratch(dbs[k], &db->proto)) != HS_SUCCESS) {
            rc = assay_error_set(err, hs_to_errno(e), "allocating Hyperscan scratch failed");
            goto fail;
        }
    }
    /* Which patterns match the empty value: fixed for the database, so empty values
     * never need a scan. */
    e = hs_scan(db->all, "", 0, 0, db->proto, count_cb, db->empty);
    if (e != HS_SUCCESS) {
        rc = assay_error_set(err, hs_to_errno(e), "scanning the empty value failed (%d)", e);
        goto fail;
    }
    rc = 0;
    *out = db;
    db = NULL;
fail:
    hs_free_compile_error(cerr);
    for (size_t j = 0; rewritten && j < n; j++)
        free(rewritten[j]);
    free(rewritten);
    free(flags);
    free(ids);
    free(sub);
    free(subflags);
    free(subids);
    assay_regex_free(db);
    if (rc == -ENOMEM && err && err->code != -ENOMEM)
        assay_error_set(err, -ENOMEM, "out of memory compiling %zu patterns", n);
    return rc;
}

size_t assay_regex_count(const assay_regex_db *db)
{
    return db->n;
}

bool assay_regex_joinable(const assay_regex_db *db, size_t j)
{
    return j < db->n && db->joinable[j];
}

/* ---------------------------------------------------------------------------------
 * Scratch
 * --------------------------------------------------------------------------------- */

int assay_regex_scratch_new(const assay_regex_db *db, assay_regex_scratch **out)
{
    *out = NULL;
    assay_regex_scratch *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    hs_error_t e = hs_clone_scratch(db->proto, &s->hs);
    if (e != HS_SUCCESS) {
        free(s);
        return hs_to_errno(e);
    }
    s->strategy = ASSAY_REGEX_AUTO;
    s->chosen = ASSAY_REGEX_JOINED;
    *out = s;
    return 0;
}

void assay_regex_scratch_free(assay_regex_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->hs);
    free(s->buf);
    free(s->start);
    free(s->idx);
    free(s);
}

void assay_regex_scratch_set_strategy(assay_regex_scratch *s, assay_regex_strategy strategy)
{
    s->strategy = strategy;
}

/* ---------------------------------------------------------------------------------
 * Matching
 * --------------------------------------------------------------------------------- */

struct one_ctx {
    uint64_t **match;
    size_t i;
};

static int one_cb(unsigned int id, unsigned long long from, unsigned long long to,
                  unsigned int flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    struct one_ctx *c = ctx;
    assay_bit_set(c->match[id], c->i);
    return 0;
}

/* Scan value i alone with db; 0 or a negative errno. */
static int scan_one(const hs_database_t *db, hs_scratch_t *hs, const char *v, uint32_t len,
                    size_t i, uint64_t **match)
{
    struct one_ctx c = { match, i };
    hs_error_t e = hs_scan(db, len ? v : "", len, 0, hs, one_cb, &c);
    return e == HS_SUCCESS ? 0 : hs_to_errno(e);
}

struct join_ctx {
    uint64_t **match;
    const uint32_t *start;
    const uint32_t *idx;
    size_t count;
    size_t cur;
};

static int join_cb(unsigned int id, unsigned long long from, unsigned long long to,
                   unsigned int flags, void *ctx)
{
    (void)from;
    (void)flags;
    struct join_ctx *c = ctx;
    size_t k = c->cur;
    if (to >= c->start[k]) {
        while (k + 1 < c->count && to >= c->start[k + 1])
            k++;
    } else {
        /* Out-of-order report: last k with start[k] <= to. */
        size_t lo = 0, hi = k;
        while (lo + 1 < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (c->start[mid] <= to)
                lo = mid;
            else
                hi = mid;
        }
        k = lo;
    }
    c->cur = k;
    assay_bit_set(c->match[id], c->idx[k]);
    return 0;
}

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int flush_joined(const assay_regex_db *db, assay_regex_scratch *s, size_t len, size_t count,
                        uint64_t **match)
{
    struct join_ctx c = { match, s->start, s->idx, count, 0 };
    /* The last separator is dropped: no value follows it. */
    hs_error_t e = hs_scan(db->joined, s->buf, (unsigned)(len - 1), 0, s->hs, join_cb, &c);
    return e == HS_SUCCESS ? 0 : hs_to_errno(e);
}

static int grow_scratch_buffers(assay_regex_scratch *s, size_t n, size_t bytes)
{
    if (n > s->list_cap) {
        uint32_t *a = realloc(s->start, n * sizeof(uint32_t));
        if (!a)
            return -ENOMEM;
        s->start = a;
        uint32_t *b = realloc(s->idx, n * sizeof(uint32_t));
        if (!b)
            return -ENOMEM;
        s->idx = b;
        s->list_cap = n;
    }
    if (bytes > s->buf_cap) {
        size_t cap = ASSAY_MAX(bytes, (size_t)JOIN_CHUNK + 1);
        char *b = realloc(s->buf, cap);
        if (!b)
            return -ENOMEM;
        s->buf = b;
        s->buf_cap = cap;
    }
    return 0;
}

static int match_per_value(const assay_regex_db *db, assay_regex_scratch *s,
                           const char *const *vals, const uint32_t *lens, const uint64_t *skip,
                           size_t n, uint64_t **match)
{
    for (size_t i = 0; i < n; i++) {
        if (skip && assay_bit_get(skip, i))
            continue;
        int rc = scan_one(db->all, s->hs, vals[i], lens[i], i, match);
        if (rc)
            return rc;
    }
    return 0;
}

static int match_joined(const assay_regex_db *db, assay_regex_scratch *s, const char *const *vals,
                        const uint32_t *lens, const uint64_t *skip, size_t n, uint64_t **match)
{
    int rc = grow_scratch_buffers(s, n, JOIN_CHUNK + 1);
    if (rc)
        return rc;
    const hs_database_t *per_value = db->joined ? db->rest : db->all;
    size_t len = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (skip && assay_bit_get(skip, i))
            continue;
        uint32_t l = lens[i];
        if (l == 0) {
            for (size_t j = 0; j < db->n; j++)
                if (assay_bit_get(db->empty, j))
                    assay_bit_set(match[j], i);
            continue;
        }
        if (memchr(vals[i], '\n', l)) {
            if ((rc = scan_one(db->all, s->hs, vals[i], l, i, match)))
                return rc;
            continue;
        }
        if (per_value && (rc = scan_one(per_value, s->hs, vals[i], l, i, match)))
            return rc;
        if (!db->joined)
            continue;
        if (len > 0 && len + l + 1 > JOIN_CHUNK) {
            if ((rc = flush_joined(db, s, len, count, match)))
                return rc;
            len = count = 0;
        }
        if ((size_t)l + 1 > s->buf_cap && (rc = grow_scratch_buffers(s, n, (size_t)l + 1)))
            return rc;
        s->start[count] = (uint32_t)len;
        s->idx[count++] = (uint32_t)i;
        memcpy(s->buf + len, vals[i], l);
        s->buf[len + l] = '\n';
        len += (size_t)l + 1;
    }
    if (count > 0)
        return flush_joined(db, s, len, count, match);
    return 0;
}

int assay_regex_match_batch(const assay_regex_db *db, assay_regex_scratch *s,
                            const char *const *vals, const uint32_t *lens, const uint64_t *skip,
                            size_t n, uint64_t **match)
{
    size_t words = ASSAY_BITMAP_WORDS(n);
    for (size_t j = 0; j < db->n; j++)
        memset(match[j], 0, words * sizeof(uint64_t));
    if (n == 0)
        return 0;
    if (n > UINT32_MAX)
        return -EINVAL;
    /* Nothing to scan (all skipped): do not touch Hyperscan, s may be NULL. */
    size_t todo = 0;
    for (size_t w = 0; w < words && todo == 0; w++) {
        uint64_t live = skip ? ~skip[w] : ~(uint64_t)0;
        if (w == words - 1 && (n & 63))
            live &= ((uint64_t)1 << (n & 63)) - 1;
        todo = live != 0;
    }
    if (todo == 0)
        return 0;
    if (!s)
        return -EINVAL;
    assay_regex_strategy st = s->strategy;
    if (st == ASSAY_REGEX_AUTO && !db->joined)
        st = ASSAY_REGEX_PER_VALUE; /* nothing joinable: the same scans either way */
    if (st != ASSAY_REGEX_AUTO)
        return st == ASSAY_REGEX_PER_VALUE ? match_per_value(db, s, vals, lens, skip, n, match)
                                           : match_joined(db, s, vals, lens, skip, n, match);

    /* AUTO: the first AUTO_PROBES batches of every AUTO_PERIOD alternate the two
     * strategies under the thread's CPU clock; the rest use the one with the lower
     * best ns/value (the minimum filters out batches hit by an interrupt). */
    uint64_t phase = s->batches++ % AUTO_PERIOD;
    if (phase >= AUTO_PROBES)
        return s->chosen == ASSAY_REGEX_PER_VALUE
                   ? match_per_value(db, s, vals, lens, skip, n, match)
                   : match_joined(db, s, vals, lens, skip, n, match);
    int k = (int)(phase & 1);
    uint64_t t0 = clock_ns();
    int rc = k ? match_joined(db, s, vals, lens, skip, n, match)
               : match_per_value(db, s, vals, lens, skip, n, match);
    double per_value_ns = (double)(clock_ns() - t0) / (double)n;
    if (phase < 2 || per_value_ns < s->probe_best[k])
        s->probe_best[k] = per_value_ns;
    if (phase == AUTO_PROBES - 1)
        s->chosen =
            s->probe_best[0] < s->probe_best[1] ? ASSAY_REGEX_PER_VALUE : ASSAY_REGEX_JOINED;
    return rc;
}
