/*
 * expr_eval.c - evaluation of a typed plan (expr_check.c) over a batch of rows.
 *
 * Method
 * ------
 * Vectorised interpretation, after MonetDB/X100 (Boncz, Zukowski and Nes, CIDR 2005)
 * and the "vectorwise" engines that followed it: the plan is a flat list of
 * instructions, and each instruction runs one tight loop over the whole batch (4,096
 * rows by default), so the switch on the opcode is paid once per instruction and
 * batch, and the loops - straight compares and arithmetic over double / int64
 * arrays building 64-bit result words - are left to the compiler to vectorise, like
 * the single-column kernels in rules.c. No row ever walks the tree.
 *
 * Nulls: SQL's three-valued logic (ISO/IEC 9075-2, 4.5 "Boolean types"; Codd 1979
 * introduced the unknown truth value). A bool register is two bitmaps, T (rows where
 * the value is true) and F (false); a row in neither is null (unknown). Then
 *
 *     a and b:  T = Ta & Tb          F = Fa | Fb
 *     a or b:   T = Ta | Tb          F = Fa & Fb
 *     not a:    T = Fa               F = Ta
 *
 * which is exactly Kleene's strong three-valued logic (false and null = false, true or
 * null = true), one word of 64 rows per operation. Every other register is a value
 * vector plus a null bitmap; an operator's result is null where any operand is (and
 * x / 0 is null), `is null` and coalesce are the only ways out. A column value that
 * does not parse as the column's type is null here (the `type` rule counts it).
 *
 * At the end: rows of `ok` with T or F set are evaluated; those with F set fail. A
 * row where the whole expression is null is neither - the engine reports it as
 * unevaluated.
 *
 * Skipping: in `a or b`, b matters only where a is not true (`and`: not false).
 * OP_NEED, placed before b's instructions, marks those rows (within the rows the
 * enclosing and/or needs); when they are under half the batch the text kernels, which
 * cost a few ns per row, visit only them and leave the others false - the and/or then
 * takes those rows from a. Numeric kernels stay dense: their vector loops cost less
 * than the skipping would. This is the per-batch form of short-circuit evaluation
 * that vectorised engines use (selection vectors in X100, above).
 *
 * Values in null rows are computed anyway (it is cheaper than branching) and
 * discarded by the bitmaps, so every kernel must be safe on any bits: int64
 * arithmetic wraps through uint64 (no signed overflow), doubles may become inf or NaN
 * (a NaN compares false), text slices of null rows are empty strings.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assay/bitmap.h"
#include "assay/utf8.h"
#include "rules/expr_internal.h"

typedef struct xreg {
    double *f;
    int64_t *i;
    const char **s;
    uint32_t *l;
    uint64_t *null; /* non-bool kinds; scratch for bool ones */
    uint64_t *t, *fl;
    /* owned storage (the pointers above may point into a column instead) */
    double *own_f;
    int64_t *own_i;
    const char **own_s;
    uint32_t *own_l;
    char *text; /* lower/upper: the folded bytes */
    size_t text_cap;
    const char *span_lo, *span_hi; /* STR: where values may be read 16 bytes at a time */
    uintptr_t span_room;           /* span_hi - span_lo - 16; 0 with span_lo NULL: none */
} xreg;

struct assay_expr_scratch {
    uint32_t cap;
    uint32_t nregs;
    xreg *r;
    uint32_t nneed;
    uint64_t *need; /* nneed bitmaps: per and/or depth, the rows its b must compute */
    bool *sparse;   /* per depth: few enough rows that text kernels visit only them */
};

void assay_expr_scratch_free(assay_expr_scratch *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; s->r && i < s->nregs; i++) {
        xreg *r = &s->r[i];
        free(r->own_f);
        free(r->own_i);
        free(r->own_s);
        free(r->own_l);
        free(r->null);
        free(r->t);
        free(r->fl);
        free(r->text);
    }
    free(s->r);
    free(s->need);
    free(s->sparse);
    free(s);
}

int assay_expr_scratch_new(const assay_expr *x, uint32_t max_rows, assay_expr_scratch **out)
{
    *out = NULL;
    assay_expr_scratch *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cap = max_rows ? max_rows : 1;
    s->nregs = x->nregs;
    s->r = calloc(x->nregs ? x->nregs : 1, sizeof(xreg));
    if (!s->r) {
        free(s);
        return -ENOMEM;
    }
    size_t words = ASSAY_BITMAP_WORDS(s->cap) + 1;
    s->nneed = x->nneed;
    if (x->nneed && (!(s->need = calloc((size_t)x->nneed * words, 8)) ||
                     !(s->sparse = calloc(x->nneed, sizeof(bool))))) {
        assay_expr_scratch_free(s);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < x->nregs; i++) {
        xreg *r = &s->r[i];
        bool ok = (r->null = calloc(words, 8)) != NULL;
        switch (x->regs[i]) {
        case RK_BOOL:
            ok &= (r->t = calloc(words, 8)) && (r->fl = calloc(words, 8));
            break;
        case RK_F64:
            ok &= (r->own_f = r->f = calloc(s->cap, sizeof(double))) != NULL;
            break;
        case RK_I64:
            ok &= (r->own_i = r->i = calloc(s->cap, sizeof(int64_t))) != NULL;
            break;
        case RK_STR:
            ok &= (r->own_s = r->s = calloc(s->cap, sizeof(char *))) &&
                  (r->own_l = r->l = calloc(s->cap, sizeof(uint32_t)));
            break;
        }
        if (!ok) {
            assay_expr_scratch_free(s);
            return -ENOMEM;
        }
    }
    *out = s;
    return 0;
}

/* ---------------------------------------------------------------- helpers */

/* Loop over the batch in words of 64 rows: EXPR(i) is one row's bool; the word goes
 * to `m`, then STORE runs with w, m. */
#define WORDS_LOOP(EXPR, STORE)                                                                    \
    for (size_t w = 0; w < words; w++) {                                                           \
        size_t base_ = w * 64, end_ = ASSAY_MIN(base_ + 64, (size_t)n);                            \
        uint64_t m = 0;                                                                            \
        for (size_t i = base_; i < end_; i++)                                                      \
            m |= (uint64_t)(EXPR) << (i - base_);                                                  \
        STORE;                                                                                     \
    }

/* WORDS_LOOP for the text kernels, which cost a few ns per row: with `need` (the rows
 * where the result can matter, see OP_NEED) only those rows are computed, the
 * others read as false. Cheap numeric kernels always run dense and vectorised. */
#define TEXT_LOOP(EXPR, STORE)                                                                     \
    if (!need) {                                                                                   \
        WORDS_LOOP(EXPR, STORE)                                                                    \
    } else {                                                                                       \
        for (size_t w = 0; w < words; w++) {                                                       \
            uint64_t m = 0, q_ = need[w];                                                          \
            while (q_) {                                                                           \
                size_t i = w * 64 + (size_t)__builtin_ctzll(q_);                                   \
                m |= (uint64_t)(EXPR) << (i - w * 64);                                             \
                q_ &= q_ - 1;                                                                      \
            }                                                                                      \
            STORE;                                                                                 \
        }                                                                                          \
    }

/* dst bool from a compare word and a null word */
#define STORE_BOOL(NULLW)                                                                          \
    do {                                                                                           \
        uint64_t nn_ = ~(NULLW);                                                                   \
        d->t[w] = m & nn_;                                                                         \
        d->fl[w] = ~m & nn_;                                                                       \
    } while (0)

static void null_or(uint64_t *dst, const uint64_t *a, const uint64_t *b, size_t words)
{
    for (size_t w = 0; w < words; w++)
        dst[w] = a[w] | b[w];
}

static void null_copy(uint64_t *dst, const uint64_t *a, size_t words)
{
    memcpy(dst, a, words * 8);
}

/* A bool register's null rows into its scratch null bitmap. */
static const uint64_t *bool_null(xreg *r, size_t words)
{
    for (size_t w = 0; w < words; w++)
        r->null[w] = ~(r->t[w] | r->fl[w]);
    return r->null;
}

/* A text value of at most 16 bytes as two little-endian words, zero padded - the
 * packed form in_set's small sets use (rules.c) - built from loads that stay inside
 * the value: two overlapping 8-byte loads for 8..16 bytes, two overlapping 4-byte
 * loads for 4..7, three single bytes for 1..3 (overlapping bytes are the same, so
 * OR-ing them in is exact). All three are computed, each from a pointer that is
 * redirected to a zero block when its value would be too short, and the right one is
 * selected, so the loop has no branch on the value's length: with lengths that vary
 * row to row (zip codes of 4, 5 and 7 characters) a branch mispredicts about every
 * other row, which cost more than everything else the kernel does. No call to memcpy
 * with a variable length either. */

static inline uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* l <= 16 */
static inline void pack16(const char *s, uint32_t l, uint64_t *lo, uint64_t *hi)
{
    if (l >= 8) {
        *lo = load64(s);
        *hi = l > 8 ? load64(s + l - 8) >> (8 * (16 - l)) : 0;
    } else if (l >= 4) {
        *lo = load32(s) | load32(s + l - 4) << (8 * (l - 4));
        *hi = 0;
    } else if (l > 0) {
        const unsigned char *u = (const unsigned char *)s;
        *lo = (uint64_t)u[0] | (uint64_t)u[l / 2] << (8 * (l / 2)) |
              (uint64_t)u[l - 1] << (8 * (l - 1));
        *hi = 0;
    } else {
        *lo = *hi = 0;
    }
}

/* Bytes kept of a 16-byte window for a value of l bytes, per word. */
static const uint64_t keep_lo[17] = {
    0,
    0xffull,
    0xffffull,
    0xffffffull,
    0xffffffffull,
    0xffffffffffull,
    0xffffffffffffull,
    0xffffffffffffffull,
    ~0ull,
    ~0ull,
    ~0ull,
    ~0ull,
    ~0ull,
    ~0ull,
    ~0ull,
    ~0ull,
    ~0ull,
};
static const uint64_t keep_hi[17] = {
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0xffull,
    0xffffull,
    0xffffffull,
    0xffffffffull,
    0xffffffffffull,
    0xffffffffffffull,
    0xffffffffffffffull,
    ~0ull,
};

/* pack16 without a branch on the length, for a value (l <= 16) whose 16 bytes from s
 * lie in one buffer the caller vouches for (the input chunk, or a register's own
 * text): two whole-word loads, masked to the value. */
static inline void pack16_window(const char *s, uint32_t l, uint64_t *lo, uint64_t *hi)
{
    *lo = load64(s) & keep_lo[l];
    *hi = load64(s + 8) & keep_hi[l];
}

static void set_span(xreg *d, const char *lo, const char *hi)
{
    d->span_lo = lo;
    d->span_hi = hi;
    d->span_room = 0;
    if (lo && hi && hi - lo >= 16)
        d->span_room = (uintptr_t)(hi - lo) - 16;
    else
        d->span_lo = (const char *)(uintptr_t)1; /* no s - 1 <= 0 but s == 1 */
}

/* Whether value s (l bytes) may be packed by pack16_window. */
static inline bool in_window(const xreg *a, const char *s, uint32_t l)
{
    /* one unsigned compare for lo <= s <= hi - 16 (span_room is hi - lo - 16, or
     * UINTPTR_MAX-wrapped to "none" for spans shorter than a window) */
    return l <= 16 && (uintptr_t)s - (uintptr_t)a->span_lo <= a->span_room;
}

/* pack16 of any value of at most 16 bytes: the window when allowed, else exact loads */
static inline void pack16_any(const xreg *a, const char *s, uint32_t l, uint64_t *lo, uint64_t *hi)
{
    if (in_window(a, s, l))
        pack16_window(s, l, lo, hi);
    else
        pack16(s, l, lo, hi);
}

/* UTF-8 continuation bytes (10xxxxxx) in a word. */
static inline int continuations(uint64_t w)
{
    return __builtin_popcountll(w & ~(w << 1) & 0x8080808080808080ull);
}

/* ---------------------------------------------------------------- loads */

static void load(const assay_expr *x, const xinstr *in, xreg *d, const assay_col_view *v,
                 uint32_t n, size_t words)
{
    (void)x;
    switch (in->op) {
    case OP_LOAD_NUM:
        for (size_t w = 0; w < words; w++)
            d->null[w] = v->null[w] | (v->invalid ? v->invalid[w] : 0);
        if (v->type == ASSAY_TYPE_FLOAT || v->frac) {
            /* floats, and inferred int columns (which keep every value as a double) */
            d->f = (double *)v->f64;
        } else {
            d->f = d->own_f;
            for (uint32_t i = 0; i < n; i++)
                d->f[i] = (double)v->i64[i];
        }
        break;
    case OP_LOAD_I64:
        for (size_t w = 0; w < words; w++)
            d->null[w] = v->null[w] | (v->invalid ? v->invalid[w] : 0);
        d->i = (int64_t *)v->i64;
        break;
    case OP_LOAD_STR:
        null_copy(d->null, v->null, words);
        d->s = (const char **)v->str;
        d->l = (uint32_t *)v->len;
        set_span(d, v->text_lo, v->text_hi);
        break;
    case OP_LOAD_BOOL: {
        const int64_t *b = v->i64;
        for (size_t w = 0; w < words; w++)
            d->null[w] = v->null[w] | (v->invalid ? v->invalid[w] : 0);
        WORDS_LOOP(b[i] != 0, STORE_BOOL(d->null[w]));
        break;
    }
    default:
        break;
    }
}

static void konst(const xinstr *in, xreg *d, uint32_t n, size_t words)
{
    memset(d->null, in->null_k ? 0xff : 0, words * 8);
    switch ((rkind)in->kind) {
    case RK_BOOL:
        memset(d->t, !in->null_k && in->ki ? 0xff : 0, words * 8);
        memset(d->fl, !in->null_k && !in->ki ? 0xff : 0, words * 8);
        break;
    case RK_F64:
        for (uint32_t i = 0; i < n; i++)
            d->f[i] = in->kf;
        break;
    case RK_I64:
        for (uint32_t i = 0; i < n; i++)
            d->i[i] = in->ki;
        break;
    case RK_STR:
        for (uint32_t i = 0; i < n; i++) {
            d->s[i] = in->ks ? in->ks : "";
            d->l[i] = in->ks ? in->klen : 0;
        }
        break;
    }
}

/* ---------------------------------------------------------------- arithmetic */

static void arith_f(const xinstr *in, xreg *d, const xreg *a, const xreg *b, uint32_t n,
                    size_t words)
{
    const double *x = a->f;
    double *o = d->f;
    if (in->b_k) {
        null_copy(d->null, a->null, words);
        if (in->null_k) {
            memset(d->null, 0xff, words * 8);
            return;
        }
        double k = in->kf;
        switch (in->sub) {
        case XO_ADD:
            for (uint32_t i = 0; i < n; i++)
                o[i] = x[i] + k;
            break;
        case XO_SUB:
            if (in->k_left)
                for (uint32_t i = 0; i < n; i++)
                    o[i] = k - x[i];
            else
                for (uint32_t i = 0; i < n; i++)
                    o[i] = x[i] - k;
            break;
        case XO_MUL:
            for (uint32_t i = 0; i < n; i++)
                o[i] = x[i] * k;
            break;
        case XO_DIV:
            if (in->k_left) {
                for (uint32_t i = 0; i < n; i++)
                    o[i] = k / x[i];
                WORDS_LOOP(x[i] == 0, d->null[w] |= m);
            } else if (k == 0) {
                memset(d->null, 0xff, words * 8);
            } else {
                for (uint32_t i = 0; i < n; i++)
                    o[i] = x[i] / k;
            }
            break;
        }
        return;
    }
    const double *y = b->f;
    null_or(d->null, a->null, b->null, words);
    switch (in->sub) {
    case XO_ADD:
        for (uint32_t i = 0; i < n; i++)
            o[i] = x[i] + y[i];
        break;
    case XO_SUB:
        for (uint32_t i = 0; i < n; i++)
            o[i] = x[i] - y[i];
        break;
    case XO_MUL:
        for (uint32_t i = 0; i < n; i++)
            o[i] = x[i] * y[i];
        break;
    case XO_DIV:
        for (uint32_t i = 0; i < n; i++)
            o[i] = x[i] / y[i];
        WORDS_LOOP(y[i] == 0, d->null[w] |= m);
        break;
    }
}

static inline int64_t wadd(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t wsub(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static void arith_i(const xinstr *in, xreg *d, const xreg *a, const xreg *b, uint32_t n,
                    size_t words)
{
    const int64_t *x = a->i;
    int64_t *o = d->i;
    if (in->b_k) {
        null_copy(d->null, a->null, words);
        if (in->null_k) {
            memset(d->null, 0xff, words * 8);
            return;
        }
        int64_t k = in->ki;
        if (in->sub == XO_ADD)
            for (uint32_t i = 0; i < n; i++)
                o[i] = wadd(x[i], k);
        else if (in->k_left)
            for (uint32_t i = 0; i < n; i++)
                o[i] = wsub(k, x[i]);
        else
            for (uint32_t i = 0; i < n; i++)
                o[i] = wsub(x[i], k);
        return;
    }
    const int64_t *y = b->i;
    null_or(d->null, a->null, b->null, words);
    if (in->sub == XO_ADD)
        for (uint32_t i = 0; i < n; i++)
            o[i] = wadd(x[i], y[i]);
    else
        for (uint32_t i = 0; i < n; i++)
            o[i] = wsub(x[i], y[i]);
}

/* ---------------------------------------------------------------- comparisons */

#define CMP_SWITCH(OP, A, B, NULLW)                                                                \
    switch (OP) {                                                                                  \
    case XO_EQ:                                                                                    \
        WORDS_LOOP((A) == (B), STORE_BOOL(NULLW));                                                 \
        break;                                                                                     \
    case XO_NE:                                                                                    \
        WORDS_LOOP((A) != (B), STORE_BOOL(NULLW));                                                 \
        break;                                                                                     \
    case XO_LT:                                                                                    \
        WORDS_LOOP((A) < (B), STORE_BOOL(NULLW));                                                  \
        break;                                                                                     \
    case XO_LE:                                                                                    \
        WORDS_LOOP((A) <= (B), STORE_BOOL(NULLW));                                                 \
        break;                                                                                     \
    case XO_GT:                                                                                    \
        WORDS_LOOP((A) > (B), STORE_BOOL(NULLW));                                                  \
        break;                                                                                     \
    default:                                                                                       \
        WORDS_LOOP((A) >= (B), STORE_BOOL(NULLW));                                                 \
        break;                                                                                     \
    }

static void cmp_f(const xinstr *in, xreg *d, const xreg *a, const xreg *b, uint32_t n, size_t words)
{
    const double *x = a->f;
    const uint64_t *an = a->null;
    if (in->b_k) {
        double k = in->kf;
        CMP_SWITCH(in->sub, x[i], k, an[w]);
        return;
    }
    const double *y = b->f;
    const uint64_t *bn = b->null;
    CMP_SWITCH(in->sub, x[i], y[i], an[w] | bn[w]);
}

static void cmp_i(const xinstr *in, xreg *d, const xreg *a, const xreg *b, uint32_t n, size_t words)
{
    const int64_t *x = a->i;
    const uint64_t *an = a->null;
    if (in->b_k) {
        int64_t k = in->ki;
        CMP_SWITCH(in->sub, x[i], k, an[w]);
        return;
    }
    const int64_t *y = b->i;
    const uint64_t *bn = b->null;
    CMP_SWITCH(in->sub, x[i], y[i], an[w] | bn[w]);
}

static inline int text_cmp(const char *a, uint32_t la, const char *b, uint32_t lb)
{
    int c = memcmp(a, b, ASSAY_MIN(la, lb));
    if (c)
        return c;
    return la < lb ? -1 : la > lb;
}

static inline bool text_eq(const char *a, uint32_t la, const char *b, uint32_t lb)
{
    return la == lb && memcmp(a, b, la) == 0;
}

static void cmp_s(const xinstr *in, xreg *d, const xreg *a, const xreg *b, uint32_t n, size_t words,
                  const uint64_t *need)
{
    const char **xs = a->s;
    const uint32_t *xl = a->l;
    const uint64_t *an = a->null;
    if (in->b_k) {
        const char *k = in->ks;
        uint32_t kl = in->klen;
        if (in->sub == XO_EQ || in->sub == XO_NE) {
            bool ne = in->sub == XO_NE;
            if (kl <= 16) {
                /* length first, then the packed words (no memcmp call) */
                uint64_t klo, khi;
                pack16(k, kl, &klo, &khi);
                TEXT_LOOP(({
                              /* a value of another length reads the literal */
                              bool e_ = false;
                              uint32_t l_ = xl[i];
                              if (in_window(a, xs[i], l_)) {
                                  /* no branch on the value: whole words, then compare */
                                  uint64_t lo_, hi_;
                                  pack16_window(xs[i], l_, &lo_, &hi_);
                                  e_ = (l_ == kl) & (lo_ == klo) & (hi_ == khi);
                              } else if (l_ == kl) {
                                  uint64_t lo_, hi_;
                                  pack16(xs[i], kl, &lo_, &hi_);
                                  e_ = (lo_ == klo) & (hi_ == khi);
                              }
                              e_ != ne;
                          }),
                          STORE_BOOL(an[w]));
                return;
            }
            /* lengths first: most values of another length never reach memcmp */
            TEXT_LOOP(text_eq(xs[i], xl[i], k, kl) != ne, STORE_BOOL(an[w]));
            return;
        }
        CMP_SWITCH(in->sub, text_cmp(xs[i], xl[i], k, kl), 0, an[w]);
        return;
    }
    const char **ys = b->s;
    const uint32_t *yl = b->l;
    const uint64_t *bn = b->null;
    if (in->sub == XO_EQ || in->sub == XO_NE) {
        bool ne = in->sub == XO_NE;
        TEXT_LOOP(text_eq(xs[i], xl[i], ys[i], yl[i]) != ne, STORE_BOOL(an[w] | bn[w]));
        return;
    }
    CMP_SWITCH(in->sub, text_cmp(xs[i], xl[i], ys[i], yl[i]), 0, an[w] | bn[w]);
}

static void cmp_b(const xinstr *in, xreg *d, const xreg *a, const xreg *b, size_t words)
{
    bool ne = in->sub == XO_NE;
    for (size_t w = 0; w < words; w++) {
        uint64_t at = a->t[w], af = a->fl[w], bt, bf;
        if (in->b_k) {
            bt = in->ki ? ~0ull : 0;
            bf = ~bt;
        } else {
            bt = b->t[w];
            bf = b->fl[w];
        }
        uint64_t eq = (at & bt) | (af & bf), neq = (at & bf) | (af & bt);
        d->t[w] = ne ? neq : eq;
        d->fl[w] = ne ? eq : neq;
    }
}

/* ---------------------------------------------------------------- in-lists */

/* numbers and microseconds: each row against every entry, no branch */
#define IN_NUM(VALS, SET)                                                                          \
    do {                                                                                           \
        const __typeof__(*(VALS)) *v_ = (VALS), *set_ = (SET) + in->aux;                           \
        uint32_t k_ = in->nset;                                                                    \
        bool neg_ = in->neg;                                                                       \
        WORDS_LOOP(({                                                                              \
                       bool f_ = false;                                                            \
                       for (uint32_t j = 0; j < k_; j++)                                           \
                           f_ |= v_[i] == set_[j];                                                 \
                       f_ != neg_;                                                                 \
                   }),                                                                             \
                   STORE_BOOL(a->null[w]));                                                        \
    } while (0)

static void in_f(const assay_expr *x, const xinstr *in, xreg *d, const xreg *a, uint32_t n,
                 size_t words)
{
    IN_NUM(a->f, x->set_f);
}

static void in_i(const assay_expr *x, const xinstr *in, xreg *d, const xreg *a, uint32_t n,
                 size_t words)
{
    IN_NUM(a->i, x->set_i);
}

/* Strings: a value of at most 16 bytes is packed into two words (zero padded) and
 * compared with each entry's words and length, as in_set's small sets are (rules.c);
 * longer values (or entries) compare by length, then memcmp. */
static inline bool in_text(const assay_expr *x, const xinstr *in, const xreg *a, const char *s,
                           uint32_t l)
{
    const uint32_t *sl = x->set_l + in->aux;
    uint32_t k = in->nset;
    if (l <= 16) {
        uint64_t lo, hi;
        pack16_any(a, s, l, &lo, &hi);
        const uint64_t *slo = x->set_lo + in->aux, *shi = x->set_hi + in->aux;
        bool f = false;
        for (uint32_t j = 0; j < k; j++)
            f |= (sl[j] == l) & (slo[j] == lo) & (shi[j] == hi);
        return f;
    }
    const char *const *ss = x->set_s + in->aux;
    for (uint32_t j = 0; j < k; j++)
        if (sl[j] == l && memcmp(ss[j], s, l) == 0)
            return true;
    return false;
}

static void in_s(const assay_expr *x, const xinstr *in, xreg *d, const xreg *a, uint32_t n,
                 size_t words, const uint64_t *need)
{
    const char **s = a->s;
    const uint32_t *l = a->l;
    bool neg = in->neg;
    uint32_t k = in->nset;
    bool small = k <= 8;
    for (uint32_t j = 0; j < k; j++)
        small &= x->set_l[in->aux + j] <= 16;
    if (!small) {
        TEXT_LOOP(in_text(x, in, a, s[i], l[i]) != neg, STORE_BOOL(a->null[w]));
        return;
    }
    /* a few short entries (the usual list of codes): their packed words in locals,
     * each row packed once and compared with all of them */
    uint64_t elo[8], ehi[8];
    uint32_t el[8];
    for (uint32_t j = 0; j < k; j++) {
        elo[j] = x->set_lo[in->aux + j];
        ehi[j] = x->set_hi[in->aux + j];
        el[j] = x->set_l[in->aux + j];
    }
    TEXT_LOOP(({
                  bool f_ = false;
                  if (l[i] <= 16) { /* longer values match no entry */
                      uint64_t lo_, hi_;
                      pack16_any(a, s[i], l[i], &lo_, &hi_);
                      for (uint32_t j = 0; j < k; j++)
                          f_ |= (el[j] == l[i]) & (elo[j] == lo_) & (ehi[j] == hi_);
                  }
                  f_ != neg;
              }),
              STORE_BOOL(a->null[w]));
}

/* ---------------------------------------------------------------- functions */

static void coalesce(const xinstr *in, xreg *d, xreg *a, xreg *b, uint32_t n, size_t words)
{
    if (in->kind == RK_BOOL) {
        for (size_t w = 0; w < words; w++) {
            uint64_t an = ~(a->t[w] | a->fl[w]);
            d->t[w] = a->t[w] | (an & b->t[w]);
            d->fl[w] = a->fl[w] | (an & b->fl[w]);
        }
        return;
    }
    for (size_t w = 0; w < words; w++)
        d->null[w] = a->null[w] & b->null[w];
    const uint64_t *an = a->null;
    switch ((rkind)in->kind) {
    case RK_F64:
        for (uint32_t i = 0; i < n; i++)
            d->f[i] = assay_bit_get(an, i) ? b->f[i] : a->f[i];
        break;
    case RK_I64:
        for (uint32_t i = 0; i < n; i++)
            d->i[i] = assay_bit_get(an, i) ? b->i[i] : a->i[i];
        break;
    default:
        for (uint32_t i = 0; i < n; i++) {
            bool nb = assay_bit_get(an, i);
            d->s[i] = nb ? b->s[i] : a->s[i];
            d->l[i] = nb ? b->l[i] : a->l[i];
        }
        break;
    }
}

/* Code points of valid UTF-8: the bytes that do not continue a sequence. */
/* code points of row i's text into d->f[i] */
static inline void len_at(xreg *d, const xreg *a, uint32_t i)
{
    const char *s = a->s[i];
    uint32_t l = a->l[i];
    if (l <= 16) { /* the usual short value: two words, two popcounts */
        uint64_t lo, hi;
        pack16_any(a, s, l, &lo, &hi);
        /* ASCII (the usual case, and a predictable branch): bytes are code
         * points; popcount is a library call on baseline x86-64 */
        uint64_t high = (lo | hi) & 0x8080808080808080ull;
        d->f[i] = high ? (double)((int)l - continuations(lo) - continuations(hi)) : (double)l;
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = 0;
    for (uint32_t j = 0; j < l; j++)
        c += (p[j] & 0xc0) != 0x80;
    d->f[i] = c;
}

static void text_len(xreg *d, const xreg *a, uint32_t n, size_t words, const uint64_t *need)
{
    null_copy(d->null, a->null, words);
    if (!need) {
        for (uint32_t i = 0; i < n; i++)
            len_at(d, a, i);
        return;
    }
    for (size_t w = 0; w < words; w++)
        for (uint64_t q = need[w]; q; q &= q - 1)
            len_at(d, a, (uint32_t)(w * 64 + (size_t)__builtin_ctzll(q)));
}

static int fold(xreg *d, const xreg *a, uint32_t n, size_t words, bool upper)
{
    null_copy(d->null, a->null, words);
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += a->l[i];
    if (total + 16 > d->text_cap) { /* 16 bytes of slack: values are read as words */
        size_t cap = ASSAY_MAX(total + 16, d->text_cap * 2);
        char *t = realloc(d->text, cap);
        if (!t)
            return -ENOMEM;
        d->text = t;
        d->text_cap = cap;
    }
    char *o = d->text;
    set_span(d, d->text, d->text + d->text_cap);
    memset(d->text + total, 0, 16);
    for (uint32_t i = 0; i < n; i++) {
        const char *p = a->s[i];
        uint32_t l = a->l[i];
        d->s[i] = o;
        d->l[i] = l;
        for (uint32_t j = 0; j < l; j++) {
            char ch = p[j];
            if (upper)
                o[j] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
            else
                o[j] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        o += l;
    }
    return 0;
}

static inline bool has_sub(const char *s, uint32_t l, const char *k, uint32_t kl)
{
    if (kl == 0)
        return true;
    return l >= kl && memmem(s, l, k, kl) != NULL;
}

static void affix(const xinstr *in, xreg *d, const xreg *a, uint32_t n, size_t words,
                  const uint64_t *need)
{
    const char **s = a->s;
    const uint32_t *l = a->l;
    const char *k = in->ks;
    uint32_t kl = in->klen;
    switch (in->op) {
    case OP_STARTS:
        TEXT_LOOP(l[i] >= kl && memcmp(s[i], k, kl) == 0, STORE_BOOL(a->null[w]));
        break;
    case OP_ENDS:
        TEXT_LOOP(l[i] >= kl && memcmp(s[i] + l[i] - kl, k, kl) == 0, STORE_BOOL(a->null[w]));
        break;
    default:
        TEXT_LOOP(has_sub(s[i], l[i], k, kl), STORE_BOOL(a->null[w]));
        break;
    }
}

/* ---------------------------------------------------------------- driver */

int assay_expr_eval(const assay_expr *x, assay_expr_scratch *s, const assay_col_view *views,
                    uint32_t n, const uint64_t *ok, uint64_t *fail, uint64_t *eval)
{
    size_t words = ASSAY_BITMAP_WORDS(n);
    if (n > s->cap)
        return -EINVAL;
    size_t stride = ASSAY_BITMAP_WORDS(s->cap) + 1;
    const uint64_t *need = NULL; /* rows the current instruction must compute; NULL: all */
    for (uint32_t pc = 0; pc < x->ncode; pc++) {
        const xinstr *in = &x->code[pc];
        xreg *d = &s->r[in->dst];
        xreg *a = in->a >= 0 && (uint32_t)in->a < s->nregs ? &s->r[in->a] : NULL;
        xreg *b = !in->b_k && in->b >= 0 && (uint32_t)in->b < s->nregs ? &s->r[in->b] : NULL;
        switch ((xopcode)in->op) {
        case OP_LOAD_NUM:
        case OP_LOAD_I64:
        case OP_LOAD_STR:
        case OP_LOAD_BOOL:
            load(x, in, d, &views[in->a], n, words);
            break;
        case OP_CONST:
            konst(in, d, n, words);
            break;
        case OP_ARITH_F:
            arith_f(in, d, a, b, n, words);
            break;
        case OP_ARITH_I:
            arith_i(in, d, a, b, n, words);
            break;
        case OP_NEG_F:
            null_copy(d->null, a->null, words);
            for (uint32_t i = 0; i < n; i++)
                d->f[i] = -a->f[i];
            break;
        case OP_NEG_I:
            null_copy(d->null, a->null, words);
            for (uint32_t i = 0; i < n; i++)
                d->i[i] = wsub(0, a->i[i]);
            break;
        case OP_ABS_F:
            null_copy(d->null, a->null, words);
            for (uint32_t i = 0; i < n; i++)
                d->f[i] = fabs(a->f[i]);
            break;
        case OP_ABS_I:
            null_copy(d->null, a->null, words);
            for (uint32_t i = 0; i < n; i++)
                d->i[i] = a->i[i] < 0 ? wsub(0, a->i[i]) : a->i[i];
            break;
        case OP_CMP_F:
            cmp_f(in, d, a, b, n, words);
            break;
        case OP_CMP_I:
            cmp_i(in, d, a, b, n, words);
            break;
        case OP_CMP_S:
            cmp_s(in, d, a, b, n, words, need);
            break;
        case OP_CMP_B:
            cmp_b(in, d, a, b, words);
            break;
        case OP_NEED: {
            /* b of `a or b` changes the result only where a is not true, of `a and b`
             * only where a is not false - within the rows the enclosing and/or needs */
            const uint64_t *up = in->aux ? s->need + (in->aux - 1) * stride : NULL;
            uint64_t *nb = s->need + in->aux * stride;
            const uint64_t *decided = in->sub == XO_OR ? a->t : a->fl;
            size_t count = 0;
            for (size_t w = 0; w < words; w++) {
                nb[w] = (up ? up[w] : ~0ull) & ~decided[w];
                if (w + 1 == words && (n & 63))
                    nb[w] &= ((uint64_t)1 << (n & 63)) - 1;
                count += (size_t)__builtin_popcountll(nb[w]);
            }
            /* visiting rows one by one pays only when most are skipped */
            s->sparse[in->aux] = count * 2 < n;
            need = s->sparse[in->aux] ? nb : NULL;
            break;
        }
        case OP_AND:
        case OP_OR:
            if (in->op == OP_AND)
                for (size_t w = 0; w < words; w++) {
                    d->t[w] = a->t[w] & b->t[w];
                    d->fl[w] = a->fl[w] | b->fl[w];
                }
            else
                for (size_t w = 0; w < words; w++) {
                    d->t[w] = a->t[w] | b->t[w];
                    d->fl[w] = a->fl[w] & b->fl[w];
                }
            need = in->aux && s->sparse[in->aux - 1] ? s->need + (in->aux - 1) * stride : NULL;
            break;
        case OP_NOT:
            memcpy(d->t, a->fl, words * 8);
            memcpy(d->fl, a->t, words * 8);
            break;
        case OP_ISNULL: {
            const uint64_t *nb = in->kind == RK_BOOL ? bool_null(a, words) : a->null;
            for (size_t w = 0; w < words; w++) {
                d->t[w] = in->neg ? ~nb[w] : nb[w];
                d->fl[w] = ~d->t[w];
            }
            break;
        }
        case OP_IN_F:
            in_f(x, in, d, a, n, words);
            break;
        case OP_IN_I:
            in_i(x, in, d, a, n, words);
            break;
        case OP_IN_S:
            in_s(x, in, d, a, n, words, need);
            break;
        case OP_COALESCE:
            coalesce(in, d, a, b, n, words);
            break;
        case OP_LEN:
            text_len(d, a, n, words, need);
            break;
        case OP_LOWER:
        case OP_UPPER: {
            int rc = fold(d, a, n, words, in->op == OP_UPPER);
            if (rc < 0)
                return rc;
            break;
        }
        case OP_STARTS:
        case OP_ENDS:
        case OP_CONTAINS:
            affix(in, d, a, n, words, need);
            break;
        case OP_MATCH: {
            const assay_col_view *v = &views[in->a];
            int id = x->pats[in->aux].regex_id;
            const uint64_t *mb = id >= 0 && v->match ? v->match[id] : NULL;
            for (size_t w = 0; w < words; w++) {
                uint64_t m = mb ? mb[w] : 0, nn = ~v->null[w];
                d->t[w] = m & nn;
                d->fl[w] = ~m & nn;
            }
            break;
        }
        }
    }
    const xreg *r = &s->r[x->result];
    for (size_t w = 0; w < words; w++) {
        eval[w] = ok[w] & (r->t[w] | r->fl[w]);
        fail[w] = ok[w] & r->fl[w];
    }
    if (n & 63) {
        uint64_t m = ((uint64_t)1 << (n & 63)) - 1;
        eval[words - 1] &= m;
        fail[words - 1] &= m;
    }
    return 0;
}
