/*
 * expr_check.c - the type checker, and the typed plan it compiles an expression to.
 *
 * Types
 * -----
 * bool, number (a double: int columns widen; exact for integers up to 2^53),
 * string, timestamp and duration (both int64 microseconds). Column types come from
 * the schema (declared or inferred); a column of unknown type reads as a string.
 * Checking is bottom-up over the tree (a syntax-directed type system in the sense of
 * Aho, Lam, Sethi and Ullman, "Compilers", 2nd ed., section 6.5): each node's type
 * follows from its children's by the table in docs/expressions.md, and the first
 * node that fits no row of the table is the error, with a caret under that node
 * ("cannot compare timestamp with string"). Two conversions are implicit, both on
 * literals only and both decided here, once: a 'string' literal next to a timestamp
 * (or duration) is read as one, and the null literal takes the type of its context.
 * `x = null` is rejected (it is null for every row, so it would silently evaluate
 * nothing; `is null` is what was meant).
 *
 * The plan
 * --------
 * The checked tree is flattened in post order into an array of instructions over
 * virtual registers, one register per value (the tree is small and batches are
 * 4,096 rows, so there is no register reuse to gain). Each register is a vector of
 * the batch's values of one kind - double, int64, text slice, or a three-valued bool
 * kept as two bitmaps (true rows, false rows; neither = null) - plus a null bitmap for
 * the non-bool kinds. A literal operand of a binary operator is folded into its
 * instruction (`total < 0.01` is one compare against a constant, not a broadcast and
 * a compare), and each column is loaded once however often the expression names it.
 * This is the column-at-a-time execution of MonetDB/X100 (Boncz, Zukowski and Nes,
 * "MonetDB/X100: Hyper-Pipelining Query Execution", CIDR 2005): the interpretation
 * cost is paid once per instruction and batch, never per row.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/number.h"
#include "rules/expr_internal.h"

static const char *const xtype_names[XT_COUNT] = {
    [XT_NULL] = "null",  [XT_BOOL] = "bool",    [XT_NUM] = "number",
    [XT_STR] = "string", [XT_TS] = "timestamp", [XT_DUR] = "duration",
};

const char *assay_xtype_name(xtype t)
{
    return (unsigned)t < XT_COUNT ? xtype_names[t] : "?";
}

typedef struct checker {
    assay_expr *x;
    const char *const *names;
    const assay_type *types;
    size_t ncols;
    xerr *e;
    int rc;
    int *typed_reg, *text_reg; /* per slot: register of the loaded column, -1 */
    uint32_t ccode, cregs, cset, cpats;
    uint32_t depth; /* and/or nesting while generating */
} checker;

static int fail(checker *c, const xnode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(checker *c, const xnode *n, const char *fmt, ...)
{
    if (c->rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->e->msg, sizeof(c->e->msg), fmt, ap);
        va_end(ap);
        c->e->pos = n->pos;
        c->e->end = n->end > n->pos ? n->end : n->pos + 1;
        c->rc = -EINVAL;
    }
    return c->rc;
}

static int fail_op(checker *c, const xnode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with the caret under a binary node's operator. */
static int fail_op(checker *c, const xnode *n, const char *fmt, ...)
{
    if (c->rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->e->msg, sizeof(c->e->msg), fmt, ap);
        va_end(ap);
        c->e->pos = (uint32_t)((uint64_t)n->i >> 32);
        c->e->end = (uint32_t)(n->i & 0xffffffff);
        c->rc = -EINVAL;
    }
    return c->rc;
}

static int oom(checker *c)
{
    if (c->rc == 0) {
        snprintf(c->e->msg, sizeof(c->e->msg), "out of memory");
        c->rc = -ENOMEM;
    }
    return c->rc;
}

static bool is_literal(const xnode *n)
{
    return n->kind == XN_NUM || n->kind == XN_STR || n->kind == XN_DUR || n->kind == XN_TS ||
           n->kind == XN_BOOL;
}

static xtype col_xtype(assay_type t)
{
    switch (t) {
    case ASSAY_TYPE_INT:
    case ASSAY_TYPE_FLOAT:
        return XT_NUM;
    case ASSAY_TYPE_BOOL:
        return XT_BOOL;
    case ASSAY_TYPE_TIMESTAMP:
        return XT_TS;
    default:
        return XT_STR;
    }
}

/* A slot for schema column col (added on first use). */
static int slot_for(checker *c, int col)
{
    assay_expr *x = c->x;
    for (uint32_t i = 0; i < x->nslots; i++)
        if (x->slots[i].col == col)
            return (int)i;
    xslot *ns = realloc(x->slots, (x->nslots + 1) * sizeof(*ns));
    int *tr = realloc(c->typed_reg, (x->nslots + 1) * sizeof(int));
    if (ns)
        x->slots = ns;
    if (tr)
        c->typed_reg = tr;
    int *xr = realloc(c->text_reg, (x->nslots + 1) * sizeof(int));
    if (xr)
        c->text_reg = xr;
    if (!ns || !tr || !xr)
        return oom(c);
    x->slots[x->nslots] = (xslot){ .col = col, .type = c->types[col] };
    c->typed_reg[x->nslots] = c->text_reg[x->nslots] = -1;
    return (int)x->nslots++;
}

static int resolve_col(checker *c, xnode *n)
{
    int col = -1;
    for (size_t i = 0; i < c->ncols; i++)
        if (c->names[i] && strlen(c->names[i]) == n->slen &&
            memcmp(c->names[i], n->str, n->slen) == 0)
            col = (int)i;
    if (col < 0) {
        const char *near = assay_closest(n->str, c->names, c->ncols);
        char hint[128] = "";
        if (near)
            snprintf(hint, sizeof(hint), " (did you mean '%.100s'?)", near);
        return fail(c, n, "no column '%.80s' in the data%s", n->str, hint);
    }
    int s = slot_for(c, col);
    if (s < 0)
        return s;
    n->slot = s;
    n->type = col_xtype(c->types[col]);
    return 0;
}

/* A string literal where a timestamp or duration is wanted becomes one. */
static int coerce(checker *c, xnode *n, xtype want)
{
    if (n->kind == XN_NULL) {
        n->type = want;
        return 0;
    }
    if (n->kind != XN_STR || (want != XT_TS && want != XT_DUR))
        return 0;
    int64_t v;
    int rc = want == XT_TS ? assay_parse_timestamp(n->str, n->slen, &v)
                           : assay_parse_duration(n->str, n->slen, &v);
    if (rc != 0)
        return 0; /* stays a string: the caller reports the mismatch */
    n->kind = want == XT_TS ? XN_TS : XN_DUR;
    n->type = want;
    n->i = v;
    return 0;
}

/* Unify the types of two operands (literal conversions, null), in place. */
static int unify(checker *c, xnode *a, xnode *b)
{
    if (a->type == XT_NULL && b->type != XT_NULL)
        a->type = b->type;
    else if (b->type == XT_NULL && a->type != XT_NULL)
        b->type = a->type;
    if (a->type == XT_STR && b->type != XT_STR)
        coerce(c, a, b->type);
    else if (b->type == XT_STR && a->type != XT_STR)
        coerce(c, b, a->type);
    return c->rc;
}

static const char *const op_words[] = {
    [XO_ADD] = "add",
    [XO_SUB] = "subtract",
    [XO_MUL] = "multiply",
    [XO_DIV] = "divide",
};
static const char *const op_text[] = {
    [XO_ADD] = "+", [XO_SUB] = "-", [XO_MUL] = "*",   [XO_DIV] = "/",
    [XO_EQ] = "=",  [XO_NE] = "!=", [XO_LT] = "<",    [XO_LE] = "<=",
    [XO_GT] = ">",  [XO_GE] = ">=", [XO_AND] = "and", [XO_OR] = "or",
};

static int check(checker *c, xnode *n);

static int check_arith(checker *c, xnode *n)
{
    xnode *a = n->kids[0], *b = n->kids[1];
    if (unify(c, a, b) < 0)
        return c->rc;
    xtype ta = a->type, tb = b->type;
    if (ta == XT_NULL && tb == XT_NULL)
        return fail(c, n, "null %s null has no type", op_text[n->op]);
    if (ta == XT_NUM && tb == XT_NUM) {
        n->type = XT_NUM;
        return 0;
    }
    if (n->op == XO_SUB && ta == XT_TS && tb == XT_TS) {
        n->type = XT_DUR;
        return 0;
    }
    if ((n->op == XO_ADD || n->op == XO_SUB) && ta == XT_TS && tb == XT_DUR) {
        n->type = XT_TS;
        return 0;
    }
    if (n->op == XO_ADD && ta == XT_DUR && tb == XT_TS) {
        n->type = XT_TS;
        return 0;
    }
    if ((n->op == XO_ADD || n->op == XO_SUB) && ta == XT_DUR && tb == XT_DUR) {
        n->type = XT_DUR;
        return 0;
    }
    return fail_op(c, n, "cannot %s %s and %s", op_words[n->op], assay_xtype_name(ta),
                   assay_xtype_name(tb));
}

static int check_cmp(checker *c, xnode *n)
{
    xnode *a = n->kids[0], *b = n->kids[1];
    if (a->kind == XN_NULL || b->kind == XN_NULL)
        return fail_op(c, n, "'%s null' is null for every row; write 'is %snull'", op_text[n->op],
                       n->op == XO_NE ? "not " : "");
    if (unify(c, a, b) < 0)
        return c->rc;
    if (a->type != b->type) {
        /* the caret goes under a literal that does not fit, else under the operator */
        const xnode *lit = is_literal(b) ? b : is_literal(a) ? a : NULL;
        if (lit)
            return fail(c, lit, "cannot compare %s with %s", assay_xtype_name(a->type),
                        assay_xtype_name(b->type));
        return fail_op(c, n, "cannot compare %s with %s", assay_xtype_name(a->type),
                       assay_xtype_name(b->type));
    }
    if (a->type == XT_BOOL && n->op != XO_EQ && n->op != XO_NE)
        return fail_op(c, n, "bools compare only with = and !=");
    n->type = XT_BOOL;
    return 0;
}

static int want_bool(checker *c, xnode *k, const char *what)
{
    if (k->type == XT_NULL)
        k->type = XT_BOOL;
    if (k->type != XT_BOOL)
        return fail(c, k, "%s needs true or false, but this is a %s", what,
                    assay_xtype_name(k->type));
    return 0;
}

/* The argument of a text function: a column of any type reads as its text. */
static int want_text(checker *c, xnode *k, const char *fn)
{
    if (k->kind == XN_COL) {
        k->type = XT_STR;
        return 0;
    }
    if (k->type != XT_STR)
        return fail(c, k, "%s() takes a string, but this is a %s", fn, assay_xtype_name(k->type));
    return 0;
}

static int check_call(checker *c, xnode *n)
{
    const char *fn = assay_xfn_names[n->op];
    uint32_t want = n->op == XF_COALESCE ? 0 : (n->op <= XF_UPPER ? 1 : 2);
    if (n->op == XF_COALESCE) {
        if (n->nkids < 2)
            return fail(c, n, "coalesce() takes two or more arguments");
    } else if (n->nkids != want) {
        return fail(c, n, "%s() takes %u argument%s, got %u", fn, want, want == 1 ? "" : "s",
                    n->nkids);
    }
    switch (n->op) {
    case XF_COALESCE: {
        xtype t = XT_NULL;
        for (uint32_t i = 0; i < n->nkids; i++)
            if (n->kids[i]->type != XT_NULL && n->kids[i]->type != XT_STR && t == XT_NULL)
                t = n->kids[i]->type;
        if (t == XT_NULL)
            for (uint32_t i = 0; i < n->nkids; i++)
                if (n->kids[i]->type != XT_NULL)
                    t = n->kids[i]->type;
        if (t == XT_NULL)
            return fail(c, n, "coalesce() of nulls only has no type");
        for (uint32_t i = 0; i < n->nkids; i++) {
            coerce(c, n->kids[i], t);
            if (n->kids[i]->type != t)
                return fail(c, n->kids[i], "coalesce() arguments must have one type: %s and %s",
                            assay_xtype_name(t), assay_xtype_name(n->kids[i]->type));
        }
        n->type = t;
        return 0;
    }
    case XF_ABS: {
        xnode *a = n->kids[0];
        if (a->type != XT_NUM && a->type != XT_DUR)
            return fail(c, a, "abs() takes a number or a duration, but this is a %s",
                        assay_xtype_name(a->type));
        n->type = a->type;
        return 0;
    }
    case XF_LEN:
        n->type = XT_NUM;
        return want_text(c, n->kids[0], fn);
    case XF_LOWER:
    case XF_UPPER:
        n->type = XT_STR;
        return want_text(c, n->kids[0], fn);
    case XF_STARTS_WITH:
    case XF_ENDS_WITH:
    case XF_CONTAINS:
        n->type = XT_BOOL;
        if (want_text(c, n->kids[0], fn) < 0)
            return c->rc;
        if (n->kids[1]->kind != XN_STR)
            return fail(c, n->kids[1], "%s() takes a 'string' literal as its second argument", fn);
        return 0;
    case XF_MATCHES:
        n->type = XT_BOOL;
        if (n->kids[0]->kind != XN_COL)
            return fail(c, n->kids[0], "matches() takes a column as its first argument");
        n->kids[0]->type = XT_STR;
        if (n->kids[1]->kind != XN_STR)
            return fail(c, n->kids[1],
                        "matches() takes a 'regex' literal as its second "
                        "argument");
        if (n->kids[1]->slen == 0)
            return fail(c, n->kids[1], "matches() needs a non-empty pattern");
        return 0;
    default:
        return fail(c, n, "unknown function");
    }
}

static int check(checker *c, xnode *n)
{
    for (uint32_t i = 0; i < n->nkids; i++)
        if (check(c, n->kids[i]) < 0)
            return c->rc;
    switch (n->kind) {
    case XN_NUM:
        n->type = XT_NUM;
        return 0;
    case XN_STR:
        n->type = XT_STR;
        return 0;
    case XN_DUR:
        n->type = XT_DUR;
        return 0;
    case XN_TS:
        n->type = XT_TS;
        return 0;
    case XN_BOOL:
        n->type = XT_BOOL;
        return 0;
    case XN_NULL:
        n->type = XT_NULL;
        return 0;
    case XN_COL:
        return resolve_col(c, n);
    case XN_NEG:
        if (n->kids[0]->type != XT_NUM && n->kids[0]->type != XT_DUR)
            return fail(c, n, "cannot negate a %s", assay_xtype_name(n->kids[0]->type));
        n->type = n->kids[0]->type;
        return 0;
    case XN_NOT:
        n->type = XT_BOOL;
        return want_bool(c, n->kids[0], "not");
    case XN_ISNULL:
        n->type = XT_BOOL;
        if (n->kids[0]->type == XT_NULL)
            n->kids[0]->type = XT_BOOL;
        return 0;
    case XN_IN: {
        xnode *a = n->kids[0];
        n->type = XT_BOOL;
        if (a->type == XT_NULL || a->type == XT_BOOL)
            return fail(c, a,
                        "in [...] needs a number, string, timestamp or duration, but this "
                        "is a %s",
                        assay_xtype_name(a->type));
        for (uint32_t i = 1; i < n->nkids; i++) {
            xnode *k = n->kids[i];
            if (k->kind == XN_NULL)
                return fail(c, k, "null in a list never matches; test 'is null' separately");
            if (!is_literal(k))
                return fail(c, k, "in [...] takes literals only");
            coerce(c, k, a->type);
            if (k->type != a->type)
                return fail(c, k, "cannot compare %s with %s", assay_xtype_name(a->type),
                            assay_xtype_name(k->type));
        }
        return 0;
    }
    case XN_BIN:
        if (n->op <= XO_DIV)
            return check_arith(c, n);
        if (n->op <= XO_GE)
            return check_cmp(c, n);
        n->type = XT_BOOL;
        if (want_bool(c, n->kids[0], op_text[n->op]) < 0)
            return c->rc;
        return want_bool(c, n->kids[1], op_text[n->op]);
    case XN_CALL:
        return check_call(c, n);
    }
    return fail(c, n, "unknown node");
}

/* ---------------------------------------------------------------- emission */

static rkind kind_of(xtype t)
{
    switch (t) {
    case XT_NUM:
        return RK_F64;
    case XT_STR:
        return RK_STR;
    case XT_TS:
    case XT_DUR:
        return RK_I64;
    default:
        return RK_BOOL;
    }
}

static int new_reg(checker *c, rkind k)
{
    assay_expr *x = c->x;
    if (x->nregs == c->cregs) {
        uint32_t nc = c->cregs ? c->cregs * 2 : 16;
        rkind *r = realloc(x->regs, nc * sizeof(*r));
        if (!r)
            return oom(c);
        x->regs = r;
        c->cregs = nc;
    }
    x->regs[x->nregs] = k;
    return (int)x->nregs++;
}

static int push_code(checker *c, xinstr in)
{
    assay_expr *x = c->x;
    if (x->ncode == c->ccode) {
        uint32_t nc = c->ccode ? c->ccode * 2 : 16;
        xinstr *code = realloc(x->code, nc * sizeof(*code));
        if (!code)
            return oom(c);
        x->code = code;
        c->ccode = nc;
    }
    x->code[x->ncode++] = in;
    return 0;
}

static int emit(checker *c, xinstr in, rkind k)
{
    int r = new_reg(c, k);
    if (r < 0)
        return r;
    in.dst = r;
    if (push_code(c, in) < 0)
        return c->rc;
    return r;
}

/* Literal value into an instruction's constant fields. */
static void put_const(xinstr *in, const xnode *k)
{
    in->kf = k->num;
    in->ki = k->kind == XN_BOOL ? k->i : k->i;
    in->ks = k->str;
    in->klen = k->slen;
    in->null_k = k->kind == XN_NULL;
}

static int gen(checker *c, xnode *n);

static int gen_col(checker *c, xnode *n)
{
    xslot *s = &c->x->slots[n->slot];
    bool text = n->type == XT_STR;
    int *cache = text ? &c->text_reg[n->slot] : &c->typed_reg[n->slot];
    if (*cache >= 0)
        return *cache;
    xinstr in = { .a = n->slot };
    rkind k;
    if (text) {
        s->text = true;
        in.op = OP_LOAD_STR;
        k = RK_STR;
    } else {
        s->typed = true;
        switch (n->type) {
        case XT_NUM:
            in.op = OP_LOAD_NUM;
            k = RK_F64;
            break;
        case XT_TS:
            in.op = OP_LOAD_I64;
            k = RK_I64;
            break;
        default:
            in.op = OP_LOAD_BOOL;
            k = RK_BOOL;
            break;
        }
    }
    int r = emit(c, in, k);
    if (r >= 0)
        *cache = r;
    return r;
}

static int gen_const(checker *c, xnode *n)
{
    xinstr in = { .op = OP_CONST, .kind = (uint8_t)kind_of(n->type) };
    put_const(&in, n);
    return emit(c, in, kind_of(n->type));
}

static int flip(int op)
{
    switch (op) {
    case XO_LT:
        return XO_GT;
    case XO_LE:
        return XO_GE;
    case XO_GT:
        return XO_LT;
    case XO_GE:
        return XO_LE;
    default:
        return op;
    }
}

static int gen_bin(checker *c, xnode *n)
{
    xnode *a = n->kids[0], *b = n->kids[1];
    xinstr in = { .sub = (uint8_t)n->op };
    bool cmp = n->op >= XO_EQ && n->op <= XO_GE;
    if (n->op == XO_AND || n->op == XO_OR) {
        in.op = n->op == XO_AND ? OP_AND : OP_OR;
        if ((in.a = gen(c, a)) < 0)
            return c->rc;
        /* b only matters where a is not already the answer (a true for or, false for
         * and): OP_NEED marks those rows for b's kernels */
        xinstr need = { .op = OP_NEED, .sub = in.sub, .a = in.a, .dst = in.a, .b = -1 };
        need.aux = in.aux = c->depth++;
        if (c->depth > c->x->nneed)
            c->x->nneed = c->depth;
        if (push_code(c, need) < 0 || (in.b = gen(c, b)) < 0)
            return c->rc;
        c->depth--;
        return emit(c, in, RK_BOOL);
    }
    xtype t = a->type; /* operand type (both equal, or ts/dur mixes for arithmetic) */
    rkind ok = kind_of(t == XT_DUR ? XT_TS : t);
    if (cmp) {
        in.op = ok == RK_F64   ? OP_CMP_F
                : ok == RK_I64 ? OP_CMP_I
                : ok == RK_STR ? OP_CMP_S
                               : OP_CMP_B;
    } else {
        in.op = ok == RK_F64 ? OP_ARITH_F : OP_ARITH_I;
    }
    bool lit_a = is_literal(a) || a->kind == XN_NULL, lit_b = is_literal(b) || b->kind == XN_NULL;
    if (lit_b && !lit_a) {
        if ((in.a = gen(c, a)) < 0)
            return c->rc;
        in.b_k = true;
        put_const(&in, b);
    } else if (lit_a && !lit_b) {
        if ((in.a = gen(c, b)) < 0)
            return c->rc;
        in.b_k = true;
        put_const(&in, a);
        if (cmp)
            in.sub = (uint8_t)flip(n->op);
        else
            in.k_left = true;
    } else {
        if ((in.a = gen(c, a)) < 0 || (in.b = gen(c, b)) < 0)
            return c->rc;
    }
    return emit(c, in, cmp ? RK_BOOL : kind_of(n->type));
}

static int add_set(checker *c, xnode *n, xinstr *in)
{
    assay_expr *x = c->x;
    uint32_t k = n->nkids - 1;
    if (x->nset + k > c->cset) {
        uint32_t nc = (x->nset + k) * 2;
        double *f = realloc(x->set_f, nc * sizeof(*f));
        if (f)
            x->set_f = f;
        int64_t *i = realloc(x->set_i, nc * sizeof(*i));
        if (i)
            x->set_i = i;
        const char **s = realloc(x->set_s, nc * sizeof(*s));
        if (s)
            x->set_s = s;
        uint32_t *l = realloc(x->set_l, nc * sizeof(*l));
        if (l)
            x->set_l = l;
        uint64_t *lo = realloc(x->set_lo, nc * sizeof(*lo));
        if (lo)
            x->set_lo = lo;
        uint64_t *hi = realloc(x->set_hi, nc * sizeof(*hi));
        if (hi)
            x->set_hi = hi;
        if (!f || !i || !s || !l || !lo || !hi)
            return oom(c);
        c->cset = nc;
    }
    in->aux = x->nset;
    in->nset = k;
    for (uint32_t j = 0; j < k; j++) {
        const xnode *v = n->kids[j + 1];
        uint32_t at = x->nset + j;
        x->set_f[at] = v->num;
        x->set_i[at] = v->i;
        x->set_s[at] = v->str;
        x->set_l[at] = v->slen;
        char w[16] = { 0 };
        if (v->str)
            memcpy(w, v->str, ASSAY_MIN(v->slen, 16u));
        memcpy(&x->set_lo[at], w, 8);
        memcpy(&x->set_hi[at], w + 8, 8);
    }
    x->nset += k;
    return 0;
}

static int gen(checker *c, xnode *n)
{
    if (c->rc)
        return c->rc;
    xinstr in = { 0 };
    int r;
    switch (n->kind) {
    case XN_NUM:
    case XN_STR:
    case XN_DUR:
    case XN_TS:
    case XN_BOOL:
    case XN_NULL:
        r = gen_const(c, n);
        break;
    case XN_COL:
        r = gen_col(c, n);
        break;
    case XN_NEG:
        in.op = n->type == XT_NUM ? OP_NEG_F : OP_NEG_I;
        if ((in.a = gen(c, n->kids[0])) < 0)
            return c->rc;
        r = emit(c, in, kind_of(n->type));
        break;
    case XN_NOT:
        in.op = OP_NOT;
        if ((in.a = gen(c, n->kids[0])) < 0)
            return c->rc;
        r = emit(c, in, RK_BOOL);
        break;
    case XN_ISNULL:
        in.op = OP_ISNULL;
        in.neg = n->neg;
        in.kind = (uint8_t)kind_of(n->kids[0]->type);
        if ((in.a = gen(c, n->kids[0])) < 0)
            return c->rc;
        r = emit(c, in, RK_BOOL);
        break;
    case XN_IN: {
        rkind k = kind_of(n->kids[0]->type);
        in.op = k == RK_F64 ? OP_IN_F : k == RK_I64 ? OP_IN_I : OP_IN_S;
        in.neg = n->neg;
        if ((in.a = gen(c, n->kids[0])) < 0 || add_set(c, n, &in) < 0)
            return c->rc;
        r = emit(c, in, RK_BOOL);
        break;
    }
    case XN_BIN:
        r = gen_bin(c, n);
        break;
    case XN_CALL:
        switch (n->op) {
        case XF_COALESCE: {
            in.op = OP_COALESCE;
            in.kind = (uint8_t)kind_of(n->type);
            if ((r = gen(c, n->kids[0])) < 0)
                return c->rc;
            for (uint32_t i = 1; i < n->nkids; i++) {
                xinstr ci = in;
                ci.a = r;
                if ((ci.b = gen(c, n->kids[i])) < 0)
                    return c->rc;
                if ((r = emit(c, ci, kind_of(n->type))) < 0)
                    return c->rc;
            }
            break;
        }
        case XF_ABS:
            in.op = n->type == XT_NUM ? OP_ABS_F : OP_ABS_I;
            if ((in.a = gen(c, n->kids[0])) < 0)
                return c->rc;
            r = emit(c, in, kind_of(n->type));
            break;
        case XF_LEN:
        case XF_LOWER:
        case XF_UPPER:
            in.op = n->op == XF_LEN ? OP_LEN : n->op == XF_LOWER ? OP_LOWER : OP_UPPER;
            if ((in.a = gen(c, n->kids[0])) < 0)
                return c->rc;
            r = emit(c, in, n->op == XF_LEN ? RK_F64 : RK_STR);
            break;
        case XF_STARTS_WITH:
        case XF_ENDS_WITH:
        case XF_CONTAINS:
            in.op = n->op == XF_STARTS_WITH ? OP_STARTS
                    : n->op == XF_ENDS_WITH ? OP_ENDS
                                            : OP_CONTAINS;
            if ((in.a = gen(c, n->kids[0])) < 0)
                return c->rc;
            in.b_k = true;
            put_const(&in, n->kids[1]);
            r = emit(c, in, RK_BOOL);
            break;
        case XF_MATCHES: {
            assay_expr *x = c->x;
            xslot *s = &x->slots[n->kids[0]->slot];
            s->text = true;
            xpattern *np = realloc(x->pats, (x->npats + 1) * sizeof(*np));
            if (!np)
                return oom(c);
            x->pats = np;
            x->pats[x->npats] = (xpattern){ .slot = (uint32_t)n->kids[0]->slot,
                                            .pattern = n->kids[1]->str,
                                            .regex_id = -1 };
            in.op = OP_MATCH;
            in.a = n->kids[0]->slot;
            in.aux = x->npats++;
            r = emit(c, in, RK_BOOL);
            break;
        }
        default:
            return fail(c, n, "unknown function");
        }
        break;
    default:
        return fail(c, n, "unknown node");
    }
    if (r >= 0)
        n->reg = r;
    return r;
}

int assay_expr_plan(assay_expr *x, const char *const *names, const assay_type *types, size_t ncols,
                    xerr *e)
{
    checker c = { .x = x, .names = names, .types = types, .ncols = ncols, .e = e };
    if (check(&c, x->root) == 0) {
        if (x->root->type == XT_NULL)
            x->root->type = XT_BOOL;
        if (x->root->type != XT_BOOL)
            fail(&c, x->root, "a check must be true or false, but this is a %s",
                 assay_xtype_name(x->root->type));
        else if (x->nslots == 0)
            fail(&c, x->root, "the expression reads no column");
    }
    if (c.rc == 0) {
        int r = gen(&c, x->root);
        if (r >= 0)
            x->result = r;
    }
    free(c.typed_reg);
    free(c.text_reg);
    return c.rc;
}

/* ---------------------------------------------------------------- public side */

static int compile(const char *text, const char *const *names, const assay_type *types,
                   size_t ncols, bool plan, const assay_expr_source *src, assay_expr **out,
                   assay_error *err)
{
    xerr e;
    assay_expr *x = calloc(1, sizeof(*x));
    if (out)
        *out = NULL;
    if (!x)
        return assay_error_set(err, -ENOMEM, "out of memory");
    if (!(x->text = strdup(text))) {
        free(x);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    int rc = assay_expr_parse_tree(text, strlen(text), &x->root, &e);
    if (rc == 0 && plan)
        rc = assay_expr_plan(x, names, types, ncols, &e);
    if (rc < 0) {
        if (rc == -ENOMEM)
            assay_error_set(err, rc, "out of memory");
        else
            assay_expr_error(err, src, text, &e);
        assay_expr_free(x);
        return rc;
    }
    if (out)
        *out = x;
    else
        assay_expr_free(x);
    return 0;
}

int assay_expr_compile(const char *text, const char *const *names, const assay_type *types,
                       size_t ncols, const assay_expr_source *src, assay_expr **out,
                       assay_error *err)
{
    return compile(text, names, types, ncols, true, src, out, err);
}

int assay_expr_syntax(const char *text, const assay_expr_source *src, assay_error *err)
{
    return compile(text, NULL, NULL, 0, false, src, NULL, err);
}

void assay_expr_free(assay_expr *x)
{
    if (!x)
        return;
    assay_expr_tree_free(x->root);
    free(x->text);
    free(x->code);
    free(x->regs);
    free(x->slots);
    free(x->set_f);
    free(x->set_i);
    free(x->set_s);
    free(x->set_l);
    free(x->set_lo);
    free(x->set_hi);
    free(x->pats);
    free(x);
}

size_t assay_expr_ncols(const assay_expr *x)
{
    return x->nslots;
}

int assay_expr_col(const assay_expr *x, size_t slot)
{
    return slot < x->nslots ? x->slots[slot].col : -1;
}

bool assay_expr_needs_text(const assay_expr *x, size_t slot)
{
    return slot < x->nslots && x->slots[slot].text;
}

bool assay_expr_needs_typed(const assay_expr *x, size_t slot)
{
    return slot < x->nslots && x->slots[slot].typed;
}

size_t assay_expr_npatterns(const assay_expr *x)
{
    return x->npats;
}

void assay_expr_pattern(const assay_expr *x, size_t i, size_t *slot, const char **pattern)
{
    *slot = x->pats[i].slot;
    *pattern = x->pats[i].pattern;
}

void assay_expr_set_pattern_id(assay_expr *x, size_t i, int regex_id)
{
    x->pats[i].regex_id = regex_id;
}

size_t assay_expr_ninstr(const assay_expr *x)
{
    return x->ncode;
}
