/*
 * expr_parse.c - tokenizer and parser of the expression language (docs/expressions.md).
 *
 * Method
 * ------
 * A hand-written scanner cuts the text into tokens (numbers, durations such as 10m
 * or 1h30m, 'strings' with '' for a quote, identifiers, "quoted" or `quoted` column
 * names, operators), each with its byte range, so every later error can put a caret
 * under the exact part of the expression it is about.
 *
 * The parser is top-down operator precedence (Pratt 1973, "Top down operator
 * precedence", POPL; the form popularised by Crockford's JavaScript parser): each
 * token has a binding power, and parse(rbp) reads a prefix term, then keeps folding
 * infix operators while their binding power exceeds rbp. Powers, loosest first:
 *
 *     or  <  and  <  not (prefix)  <  = != < <= > >= is in  <  + -  <  * /  <  - (prefix)
 *
 * as in SQL, so `not a = b` is `not (a = b)` and `a or b and c` is `a or (b and c)`.
 * Comparisons do not chain (`a < b < c` is an error that says to use `and`), since
 * SQL and Python read that differently and a quality rule must not be ambiguous.
 *
 * Recursion is bounded (MAX_DEPTH) so a hostile config cannot exhaust the stack, and
 * the text may hold any byte: everything outside the grammar is an error with a
 * position, never undefined behaviour (tests/fuzz/fuzz_expr.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "rules/expr_internal.h"

#define MAX_DEPTH 200

const char *const assay_xfn_names[XF_COUNT] = {
    [XF_COALESCE] = "coalesce",   [XF_ABS] = "abs",           [XF_LEN] = "len",
    [XF_LOWER] = "lower",         [XF_UPPER] = "upper",       [XF_STARTS_WITH] = "starts_with",
    [XF_ENDS_WITH] = "ends_with", [XF_CONTAINS] = "contains", [XF_MATCHES] = "matches",
};

/* ---------------------------------------------------------------- tokens */

typedef enum tkind {
    T_END,
    T_NUM,
    T_DUR,
    T_STR,
    T_IDENT,  /* bare identifier (maybe a keyword) */
    T_QIDENT, /* "quoted" or `quoted` column name */
    T_OP,     /* one of the operator strings below */
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
} tkind;

typedef struct tok {
    tkind kind;
    uint32_t pos, end;
    int op;      /* T_OP: xop */
    double num;  /* T_NUM */
    int64_t dur; /* T_DUR */
    char *str;   /* T_STR, T_QIDENT: unescaped; T_IDENT: as written */
    uint32_t slen;
} tok;

typedef struct parser {
    const char *s;
    size_t len, at;
    tok t; /* current token */
    xerr *e;
    int depth;
    int rc;
} parser;

static int fail(parser *p, uint32_t pos, uint32_t end, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(parser *p, uint32_t pos, uint32_t end, const char *fmt, ...)
{
    if (p->rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->e->msg, sizeof(p->e->msg), fmt, ap);
        va_end(ap);
        p->e->pos = pos;
        p->e->end = end > pos ? end : pos + 1;
        p->rc = -EINVAL;
    }
    return p->rc;
}

static int oom(parser *p)
{
    if (p->rc == 0) {
        snprintf(p->e->msg, sizeof(p->e->msg), "out of memory");
        p->rc = -ENOMEM;
    }
    return p->rc;
}

static bool ident_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* A quoted run starting at p->at (the quote q): doubled q inside is one q. */
static int scan_quoted(parser *p, char q, const char *what)
{
    size_t start = p->at, i = start + 1;
    char *buf = malloc(p->len - start + 1);
    size_t n = 0;
    if (!buf)
        return oom(p);
    for (;;) {
        if (i >= p->len) {
            free(buf);
            return fail(p, (uint32_t)start, (uint32_t)p->len, "unterminated %s (missing %c)", what,
                        q);
        }
        if (p->s[i] == q) {
            if (i + 1 < p->len && p->s[i + 1] == q) {
                buf[n++] = q;
                i += 2;
                continue;
            }
            i++;
            break;
        }
        buf[n++] = p->s[i++];
    }
    buf[n] = 0;
    p->t.str = buf;
    p->t.slen = (uint32_t)n;
    p->at = i;
    return 0;
}

static int next(parser *p)
{
    if (p->rc)
        return p->rc;
    if (p->t.kind != T_NUM && p->t.kind != T_DUR)
        free(p->t.str);
    p->t = (tok){ 0 };
    const char *s = p->s;
    while (p->at < p->len &&
           (s[p->at] == ' ' || s[p->at] == '\t' || s[p->at] == '\n' || s[p->at] == '\r'))
        p->at++;
    tok *t = &p->t;
    t->pos = (uint32_t)p->at;
    if (p->at >= p->len) {
        t->kind = T_END;
        t->end = t->pos;
        return 0;
    }
    unsigned char c = (unsigned char)s[p->at];
    size_t i = p->at;
    if (isdigit(c) || (c == '.' && i + 1 < p->len && isdigit((unsigned char)s[i + 1]))) {
        while (i < p->len && isdigit((unsigned char)s[i]))
            i++;
        if (i < p->len && s[i] == '.') {
            i++;
            while (i < p->len && isdigit((unsigned char)s[i]))
                i++;
        }
        if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
            size_t j = i + 1;
            if (j < p->len && (s[j] == '+' || s[j] == '-'))
                j++;
            if (j < p->len && isdigit((unsigned char)s[j])) {
                while (j < p->len && isdigit((unsigned char)s[j]))
                    j++;
                i = j;
            }
        }
        size_t numend = i;
        if (i < p->len && ident_start((unsigned char)s[i])) {
            /* a duration: digits and units, 10m, 1h30m, 1.5s, 250ms */
            while (i < p->len && (ident_char((unsigned char)s[i]) || s[i] == '.'))
                i++;
            t->kind = T_DUR;
            t->end = (uint32_t)i;
            p->at = i;
            if (assay_parse_duration(s + t->pos, i - t->pos, &t->dur) != 0)
                return fail(p, t->pos, t->end,
                            "'%.*s' is neither a number nor a duration (durations look like "
                            "500ms, 30s, 10m, 2h, 1d, 1h30m)",
                            (int)ASSAY_MIN(i - t->pos, 40u), s + t->pos);
            return 0;
        }
        t->kind = T_NUM;
        t->end = (uint32_t)numend;
        p->at = numend;
        if (assay_parse_f64(s + t->pos, numend - t->pos, &t->num) != 0)
            return fail(p, t->pos, t->end, "'%.*s' is not a number",
                        (int)ASSAY_MIN(numend - t->pos, 40u), s + t->pos);
        return 0;
    }
    if (ident_start(c)) {
        while (i < p->len && ident_char((unsigned char)s[i]))
            i++;
        t->kind = T_IDENT;
        t->end = (uint32_t)i;
        t->slen = (uint32_t)(i - p->at);
        t->str = malloc(t->slen + 1);
        if (!t->str)
            return oom(p);
        memcpy(t->str, s + p->at, t->slen);
        t->str[t->slen] = 0;
        p->at = i;
        return 0;
    }
    if (c == '\'') {
        t->kind = T_STR;
        int rc = scan_quoted(p, '\'', "string");
        t->end = (uint32_t)p->at;
        return rc;
    }
    if (c == '"' || c == '`') {
        t->kind = T_QIDENT;
        int rc = scan_quoted(p, (char)c, "column name");
        t->end = (uint32_t)p->at;
        if (rc == 0 && t->slen == 0)
            return fail(p, t->pos, t->end, "empty column name");
        return rc;
    }
    char d = i + 1 < p->len ? s[i + 1] : 0;
    size_t w = 1;
    t->kind = T_OP;
    switch (c) {
    case '(':
        t->kind = T_LPAREN;
        break;
    case ')':
        t->kind = T_RPAREN;
        break;
    case '[':
        t->kind = T_LBRACK;
        break;
    case ']':
        t->kind = T_RBRACK;
        break;
    case ',':
        t->kind = T_COMMA;
        break;
    case '+':
        t->op = XO_ADD;
        break;
    case '-':
        t->op = XO_SUB;
        break;
    case '*':
        t->op = XO_MUL;
        break;
    case '/':
        t->op = XO_DIV;
        break;
    case '=':
        t->op = XO_EQ;
        w = d == '=' ? 2 : 1;
        break;
    case '!':
        if (d != '=')
            return fail(p, t->pos, t->pos + 1, "unexpected '!' (write != or not)");
        t->op = XO_NE;
        w = 2;
        break;
    case '<':
        t->op = d == '=' ? XO_LE : d == '>' ? XO_NE : XO_LT;
        w = (d == '=' || d == '>') ? 2 : 1;
        break;
    case '>':
        t->op = d == '=' ? XO_GE : XO_GT;
        w = d == '=' ? 2 : 1;
        break;
    default:
        if (c >= 0x20 && c < 0x7f)
            return fail(p, t->pos, t->pos + 1, "unexpected character '%c'", c);
        return fail(p, t->pos, t->pos + 1, "unexpected byte 0x%02x", c);
    }
    p->at = i + w;
    t->end = (uint32_t)p->at;
    return 0;
}

static bool is_kw(const tok *t, const char *kw)
{
    return t->kind == T_IDENT && strcasecmp(t->str, kw) == 0;
}

static bool is_keyword(const tok *t)
{
    static const char *const kws[] = { "and", "or", "not", "in", "is", "null", "true", "false" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(kws); i++)
        if (is_kw(t, kws[i]))
            return true;
    return false;
}

/* ---------------------------------------------------------------- tree */

static xnode *node(parser *p, xkind kind, uint32_t pos, uint32_t end)
{
    xnode *n = calloc(1, sizeof(*n));
    if (!n) {
        oom(p);
        return NULL;
    }
    n->kind = kind;
    n->pos = pos;
    n->end = end;
    n->slot = -1;
    n->reg = -1;
    return n;
}

static int add_kid(parser *p, xnode *n, xnode *k)
{
    xnode **nk = realloc(n->kids, (n->nkids + 1) * sizeof(*nk));
    if (!nk) {
        assay_expr_tree_free(k);
        return oom(p);
    }
    n->kids = nk;
    n->kids[n->nkids++] = k;
    if (k->end > n->end)
        n->end = k->end;
    if (k->pos < n->pos)
        n->pos = k->pos;
    return 0;
}

void assay_expr_tree_free(xnode *n)
{
    if (!n)
        return;
    for (uint32_t i = 0; i < n->nkids; i++)
        assay_expr_tree_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

/* ---------------------------------------------------------------- grammar */

enum { BP_OR = 10, BP_AND = 20, BP_NOT = 30, BP_CMP = 40, BP_ADD = 50, BP_MUL = 60, BP_NEG = 70 };

static xnode *parse(parser *p, int rbp);

/* Move the current token's string into a node (so next() does not free it). */
static char *take_str(parser *p, uint32_t *len)
{
    char *s = p->t.str;
    *len = p->t.slen;
    p->t.str = NULL;
    return s;
}

static const char *tok_text(const parser *p, char *buf, size_t cap)
{
    const tok *t = &p->t;
    if (t->kind == T_END)
        return "the end of the expression";
    snprintf(buf, cap, "'%.*s'", (int)ASSAY_MIN(t->end - t->pos, 30u), p->s + t->pos);
    return buf;
}

static int expect(parser *p, tkind k, const char *what)
{
    char b[48];
    if (p->t.kind != k)
        return fail(p, p->t.pos, p->t.end, "expected %s, found %s", what,
                    tok_text(p, b, sizeof(b)));
    return next(p);
}

/* name(args...) with the name already read (pos..end). */
static xnode *parse_call(parser *p, const char *name, uint32_t pos, uint32_t end)
{
    int fn = -1;
    for (int i = 0; i < XF_COUNT; i++)
        if (strcasecmp(name, assay_xfn_names[i]) == 0)
            fn = i;
    if (fn < 0) {
        const char *near = assay_closest(name, assay_xfn_names, XF_COUNT);
        char hint[64] = "";
        if (near)
            snprintf(hint, sizeof(hint), " (did you mean '%s'?)", near);
        fail(p, pos, end, "unknown function '%s'%s", name, hint);
        return NULL;
    }
    xnode *n = node(p, XN_CALL, pos, end);
    if (!n)
        return NULL;
    n->op = fn;
    if (next(p) < 0 || next(p) < 0) /* the name, the '(' */
        goto bad;
    if (p->t.kind != T_RPAREN) {
        for (;;) {
            xnode *a = parse(p, 0);
            if (!a || add_kid(p, n, a) < 0)
                goto bad;
            if (p->t.kind != T_COMMA)
                break;
            if (next(p) < 0)
                goto bad;
        }
    }
    n->end = p->t.end;
    if (expect(p, T_RPAREN, "',' or ')'") < 0)
        goto bad;
    return n;
bad:
    assay_expr_tree_free(n);
    return NULL;
}

static xnode *parse_prefix(parser *p)
{
    tok *t = &p->t;
    uint32_t pos = t->pos, end = t->end;
    xnode *n = NULL;
    char b[48];
    switch (t->kind) {
    case T_NUM:
        if (!(n = node(p, XN_NUM, pos, end)))
            return NULL;
        n->num = t->num;
        break;
    case T_DUR:
        if (!(n = node(p, XN_DUR, pos, end)))
            return NULL;
        n->i = t->dur;
        break;
    case T_STR:
        if (!(n = node(p, XN_STR, pos, end)))
            return NULL;
        n->str = take_str(p, &n->slen);
        break;
    case T_QIDENT:
        if (!(n = node(p, XN_COL, pos, end)))
            return NULL;
        n->str = take_str(p, &n->slen);
        break;
    case T_LPAREN:
        if (next(p) < 0)
            return NULL;
        n = parse(p, 0);
        if (!n)
            return NULL;
        if (p->t.kind != T_RPAREN) {
            fail(p, p->t.pos, p->t.end, "expected ')' to close the '(' at offset %u, found %s",
                 pos + 1, tok_text(p, b, sizeof(b)));
            assay_expr_tree_free(n);
            return NULL;
        }
        n->pos = pos;
        n->end = p->t.end;
        break;
    case T_OP:
        if (t->op == XO_SUB || t->op == XO_ADD) {
            bool neg = t->op == XO_SUB;
            if (next(p) < 0)
                return NULL;
            xnode *a = parse(p, BP_NEG);
            if (!a)
                return NULL;
            if (!neg) {
                a->pos = pos;
                return a;
            }
            if (a->kind == XN_NUM || a->kind == XN_DUR) { /* a negative literal */
                a->num = -a->num;
                a->i = -a->i;
                a->pos = pos;
                return a;
            }
            if (!(n = node(p, XN_NEG, pos, end)) || add_kid(p, n, a) < 0) {
                if (!n)
                    assay_expr_tree_free(a);
                assay_expr_tree_free(n);
                return NULL;
            }
            return n;
        }
        fail(p, pos, end, "expected a value, found %s", tok_text(p, b, sizeof(b)));
        return NULL;
    case T_IDENT:
        if (is_kw(t, "not")) {
            if (next(p) < 0)
                return NULL;
            xnode *a = parse(p, BP_NOT);
            if (!a)
                return NULL;
            if (!(n = node(p, XN_NOT, pos, end)) || add_kid(p, n, a) < 0) {
                if (!n)
                    assay_expr_tree_free(a);
                assay_expr_tree_free(n);
                return NULL;
            }
            return n;
        }
        if (is_kw(t, "null")) {
            n = node(p, XN_NULL, pos, end);
            break;
        }
        if (is_kw(t, "true") || is_kw(t, "false")) {
            if (!(n = node(p, XN_BOOL, pos, end)))
                return NULL;
            n->i = is_kw(t, "true");
            break;
        }
        if (is_keyword(t)) {
            fail(p, pos, end,
                 "expected a value, found the keyword '%s' (quote a column of that "
                 "name: \"%s\")",
                 t->str, t->str);
            return NULL;
        }
        {
            /* timestamp '...' / duration '...': typed literals */
            bool ts = strcasecmp(t->str, "timestamp") == 0;
            bool du = strcasecmp(t->str, "duration") == 0;
            size_t save = p->at;
            while (save < p->len && (p->s[save] == ' ' || p->s[save] == '\t'))
                save++;
            if ((ts || du) && save < p->len && p->s[save] == '\'') {
                if (next(p) < 0)
                    return NULL;
                uint32_t lpos = p->t.pos;
                if (!(n = node(p, ts ? XN_TS : XN_DUR, pos, p->t.end)))
                    return NULL;
                int rc = ts ? assay_parse_timestamp(p->t.str, p->t.slen, &n->i)
                            : assay_parse_duration(p->t.str, p->t.slen, &n->i);
                if (rc != 0) {
                    fail(p, lpos, p->t.end,
                         ts ? "'%.*s' is not a timestamp (write e.g. '2024-01-01T00:00:00Z')"
                            : "'%.*s' is not a duration (write e.g. '10m' or '1h30m')",
                         (int)ASSAY_MIN(p->t.slen, 40u), p->t.str);
                    assay_expr_tree_free(n);
                    return NULL;
                }
                break;
            }
            if (save < p->len && p->s[save] == '(') {
                char *name = take_str(p, &(uint32_t){ 0 });
                n = parse_call(p, name, pos, end);
                free(name);
                return n;
            }
            if (!(n = node(p, XN_COL, pos, end)))
                return NULL;
            n->str = take_str(p, &n->slen);
        }
        break;
    default:
        fail(p, pos, end, "expected a value, found %s", tok_text(p, b, sizeof(b)));
        return NULL;
    }
    if (!n)
        return NULL;
    if (next(p) < 0) {
        assay_expr_tree_free(n);
        return NULL;
    }
    return n;
}

static bool is_cmp(int op)
{
    return op >= XO_EQ && op <= XO_GE;
}

/* Binding power of the current token as an infix operator (0: not one). */
static int infix_bp(const parser *p)
{
    const tok *t = &p->t;
    if (t->kind == T_OP)
        return is_cmp(t->op) ? BP_CMP : (t->op == XO_ADD || t->op == XO_SUB) ? BP_ADD : BP_MUL;
    if (is_kw(t, "or"))
        return BP_OR;
    if (is_kw(t, "and"))
        return BP_AND;
    if (is_kw(t, "is") || is_kw(t, "in") || is_kw(t, "not"))
        return BP_CMP;
    return 0;
}

static xnode *parse_in(parser *p, xnode *left, bool neg, uint32_t pos)
{
    xnode *n = node(p, XN_IN, left->pos, p->t.end);
    if (!n) {
        assay_expr_tree_free(left);
        return NULL;
    }
    n->neg = neg;
    (void)pos;
    if (add_kid(p, n, left) < 0 || next(p) < 0 || expect(p, T_LBRACK, "'[' after in") < 0)
        goto bad;
    if (p->t.kind == T_RBRACK) {
        fail(p, p->t.pos, p->t.end, "empty list after in");
        goto bad;
    }
    for (;;) {
        xnode *k = parse(p, 0);
        if (!k || add_kid(p, n, k) < 0)
            goto bad;
        if (p->t.kind != T_COMMA)
            break;
        if (next(p) < 0)
            goto bad;
    }
    n->end = p->t.end;
    if (expect(p, T_RBRACK, "',' or ']'") < 0)
        goto bad;
    return n;
bad:
    assay_expr_tree_free(n);
    return NULL;
}

static xnode *parse(parser *p, int rbp)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, p->t.pos, p->t.end, "expression nested too deeply (more than %d levels)",
             MAX_DEPTH);
        p->depth--;
        return NULL;
    }
    xnode *left = parse_prefix(p);
    bool had_cmp = false;
    while (left) {
        int bp = infix_bp(p);
        if (bp <= rbp)
            break;
        tok *t = &p->t;
        uint32_t opos = t->pos, oend = t->end;
        if (bp == BP_CMP && had_cmp) {
            fail(p, opos, oend,
                 "comparisons do not chain: write 'a < b and b < c' instead of 'a < b < c'");
            assay_expr_tree_free(left);
            left = NULL;
            break;
        }
        if (is_kw(t, "is")) {
            if (next(p) < 0)
                goto bad;
            bool neg = false;
            if (is_kw(&p->t, "not")) {
                neg = true;
                if (next(p) < 0)
                    goto bad;
            }
            if (!is_kw(&p->t, "null")) {
                char b[48];
                fail(p, p->t.pos, p->t.end, "expected null after is%s, found %s", neg ? " not" : "",
                     tok_text(p, b, sizeof(b)));
                goto bad;
            }
            xnode *n = node(p, XN_ISNULL, left->pos, p->t.end);
            if (!n)
                goto bad;
            n->neg = neg;
            if (add_kid(p, n, left) < 0) {
                left = NULL;
                assay_expr_tree_free(n);
                goto bad;
            }
            left = n;
            if (next(p) < 0)
                goto bad;
            had_cmp = true;
            continue;
        }
        if (is_kw(t, "not") || is_kw(t, "in")) {
            bool neg = is_kw(t, "not");
            if (neg) {
                if (next(p) < 0)
                    goto bad;
                if (!is_kw(&p->t, "in")) {
                    char b[48];
                    fail(p, p->t.pos, p->t.end, "expected in after not, found %s",
                         tok_text(p, b, sizeof(b)));
                    goto bad;
                }
            }
            left = parse_in(p, left, neg, opos);
            had_cmp = true;
            continue;
        }
        int op;
        if (t->kind == T_OP)
            op = t->op;
        else
            op = is_kw(t, "or") ? XO_OR : XO_AND;
        if (next(p) < 0)
            goto bad;
        xnode *right = parse(p, bp);
        if (!right)
            goto bad;
        xnode *n = node(p, XN_BIN, left->pos, right->end);
        if (!n) {
            assay_expr_tree_free(right);
            goto bad;
        }
        n->op = op;
        /* remember the operator's own range for messages about it */
        n->i = ((int64_t)opos << 32) | oend;
        if (add_kid(p, n, left) < 0) {
            left = NULL;
            assay_expr_tree_free(right);
            assay_expr_tree_free(n);
            goto bad;
        }
        if (add_kid(p, n, right) < 0) {
            left = NULL;
            assay_expr_tree_free(n);
            goto bad;
        }
        left = n;
        had_cmp = is_cmp(op);
    }
    p->depth--;
    return left;
bad:
    assay_expr_tree_free(left);
    p->depth--;
    return NULL;
}

int assay_expr_parse_tree(const char *text, size_t len, xnode **out, xerr *e)
{
    parser p = { .s = text, .len = len, .e = e };
    *out = NULL;
    memset(e, 0, sizeof(*e));
    if (next(&p) < 0)
        goto done;
    if (p.t.kind == T_END) {
        fail(&p, 0, 0, "empty expression");
        goto done;
    }
    xnode *root = parse(&p, 0);
    if (root && p.t.kind != T_END) {
        char b[48];
        fail(&p, p.t.pos, p.t.end,
             "unexpected %s after a complete expression (missing "
             "and/or?)",
             tok_text(&p, b, sizeof(b)));
    }
    if (p.rc) {
        assay_expr_tree_free(root);
        goto done;
    }
    *out = root;
done:
    if (p.t.kind != T_NUM && p.t.kind != T_DUR)
        free(p.t.str);
    return p.rc;
}
