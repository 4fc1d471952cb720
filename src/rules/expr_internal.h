/*
 * expr_internal.h - the expression language's syntax tree, typed plan and scratch,
 * shared by expr_parse.c (text -> tree), expr_check.c (tree -> typed plan),
 * expr_eval.c (plan x batch -> bitmaps) and expr_error.c (messages). Internal to
 * libassay; the public side is include/assay/expr.h.
 */
#ifndef ASSAY_EXPR_INTERNAL_H
#define ASSAY_EXPR_INTERNAL_H

#include "assay/expr.h"
#include "rules/rules.h"

/* ------------------------------------------------------------------ value types */
typedef enum xtype {
    XT_NULL = 0, /* the literal null: takes the type the context needs */
    XT_BOOL,
    XT_NUM, /* every number is a double inside an expression */
    XT_STR,
    XT_TS,  /* microseconds since the epoch */
    XT_DUR, /* microseconds */
    XT_COUNT
} xtype;

const char *assay_xtype_name(xtype t);

/* ------------------------------------------------------------------ syntax tree */
typedef enum xkind {
    XN_NUM, /* literals */
    XN_STR,
    XN_DUR,
    XN_TS,
    XN_BOOL,
    XN_NULL,
    XN_COL,    /* column reference */
    XN_NEG,    /* -a */
    XN_NOT,    /* not a */
    XN_BIN,    /* a OP b, op in xop */
    XN_ISNULL, /* a is [not] null (neg) */
    XN_IN,     /* a [not] in [k...] (neg), kids[1..] the list */
    XN_CALL,   /* fn(kids...) */
} xkind;

typedef enum xop {
    XO_ADD,
    XO_SUB,
    XO_MUL,
    XO_DIV,
    XO_EQ,
    XO_NE,
    XO_LT,
    XO_LE,
    XO_GT,
    XO_GE,
    XO_AND,
    XO_OR,
} xop;

typedef enum xfn {
    XF_COALESCE,
    XF_ABS,
    XF_LEN,
    XF_LOWER,
    XF_UPPER,
    XF_STARTS_WITH,
    XF_ENDS_WITH,
    XF_CONTAINS,
    XF_MATCHES,
    XF_COUNT
} xfn;

extern const char *const assay_xfn_names[XF_COUNT];

typedef struct xnode xnode;
struct xnode {
    xkind kind;
    int op;            /* xop for XN_BIN, xfn for XN_CALL */
    bool neg;          /* is NOT null, NOT in */
    uint32_t pos, end; /* byte offsets into the expression text, end exclusive */
    xtype type;        /* set by the checker */
    double num;        /* XN_NUM */
    int64_t i;         /* XN_DUR, XN_TS (us), XN_BOOL (0/1) */
    char *str;         /* XN_STR (unescaped), XN_COL (name) */
    uint32_t slen;
    int slot; /* XN_COL: column slot, set by the checker */
    int reg;  /* register holding the node's value, set by the checker; -1 = none */
    xnode **kids;
    uint32_t nkids;
};

/* A parse or type error: message and the offending byte range of the text. */
typedef struct xerr {
    char msg[256];
    uint32_t pos, end;
} xerr;

/* expr_parse.c: text -> tree. Returns 0, -EINVAL (e filled) or -ENOMEM. */
int assay_expr_parse_tree(const char *text, size_t len, xnode **out, xerr *e);
void assay_expr_tree_free(xnode *n);

/* expr_error.c: the user-facing message, with file:line:col and a caret line. */
int assay_expr_error(assay_error *err, const assay_expr_source *src, const char *text,
                     const xerr *e);

/* ------------------------------------------------------------------ typed plan */
typedef enum rkind { RK_BOOL, RK_F64, RK_I64, RK_STR } rkind;

typedef enum xopcode {
    OP_LOAD_NUM,  /* dst(F64) = column slot a (int or float) */
    OP_LOAD_I64,  /* dst(I64) = column slot a (timestamp) */
    OP_LOAD_STR,  /* dst(STR) = column slot a as text */
    OP_LOAD_BOOL, /* dst(BOOL) = column slot a (bool) */
    OP_CONST,     /* dst = literal kf / ki / ks (or all-null when null_k) */
    OP_ARITH_F,   /* dst = a op b (sub = xop; b_k/k_left: one side is the literal) */
    OP_ARITH_I,
    OP_NEG_F,
    OP_NEG_I,
    OP_ABS_F,
    OP_ABS_I,
    OP_CMP_F, /* dst(BOOL) = a cmp b */
    OP_CMP_I,
    OP_CMP_S,
    OP_CMP_B,
    OP_NEED, /* before b of `a and b` / `a or b` (sub, register a, depth aux): the rows
              * where b can change the result, for text kernels to skip the others */
    OP_AND,  /* aux: the depth of its OP_NEED, restored after it */
    OP_OR,
    OP_NOT,
    OP_ISNULL, /* dst(BOOL) = a is null (neg: is not null); never null */
    OP_IN_F,   /* dst(BOOL) = a in set (neg: not in) */
    OP_IN_I,
    OP_IN_S,
    OP_COALESCE, /* dst = a unless null, else b */
    OP_LEN,      /* dst(F64) = code points of a */
    OP_LOWER,    /* dst(STR) = ASCII-lowercased a */
    OP_UPPER,
    OP_STARTS, /* dst(BOOL) = a starts with literal ks */
    OP_ENDS,
    OP_CONTAINS,
    OP_MATCH, /* dst(BOOL) = slot a's value matches pattern aux */
} xopcode;

typedef struct xinstr {
    uint8_t op;   /* xopcode */
    uint8_t sub;  /* xop for arithmetic and comparisons */
    uint8_t kind; /* rkind of dst (OP_CONST, OP_ISNULL's operand, OP_COALESCE) */
    bool b_k;     /* operand b is the literal (kf / ki / ks) */
    bool k_left;  /* with b_k: the literal was written on the left */
    bool null_k;  /* OP_CONST of null */
    bool neg;     /* OP_ISNULL, OP_IN_* */
    int32_t dst, a, b;
    uint32_t aux;  /* OP_IN_*: first set entry; OP_MATCH: pattern index */
    uint32_t nset; /* OP_IN_*: entries */
    double kf;
    int64_t ki;
    const char *ks; /* points into the tree (owned by the plan) */
    uint32_t klen;
} xinstr;

typedef struct xslot {
    int col; /* schema column */
    assay_type type;
    bool text, typed;
} xslot;

typedef struct xpattern {
    uint32_t slot;
    const char *pattern;
    int regex_id;
} xpattern;

struct assay_expr {
    char *text;
    xnode *root;
    xinstr *code;
    uint32_t ncode;
    rkind *regs;
    uint32_t nregs;
    int32_t result; /* register of the whole expression (BOOL) */
    xslot *slots;
    uint32_t nslots;
    /* in-lists: numbers / microseconds / strings, packed per instruction */
    double *set_f;
    int64_t *set_i;
    const char **set_s;
    uint32_t *set_l;
    uint64_t *set_lo, *set_hi; /* strings of <= 16 bytes as two words */
    uint32_t nset;
    xpattern *pats;
    uint32_t npats;
    uint32_t nneed; /* nesting depth of and/or: row-need bitmaps in the scratch */
};

/* expr_check.c: tree -> plan (takes ownership of text and root on success). */
int assay_expr_plan(assay_expr *x, const char *const *names, const assay_type *types, size_t ncols,
                    xerr *e);

/* ------------------------------------------------------------------ evaluation */
typedef struct assay_expr_scratch assay_expr_scratch;

/* Scratch for evaluating x over batches of at most max_rows rows; one per thread. */
int assay_expr_scratch_new(const assay_expr *x, uint32_t max_rows, assay_expr_scratch **out);
void assay_expr_scratch_free(assay_expr_scratch *s);

/* Evaluate over n rows: views[slot] is the view of the plan's slot column (text,
 * typed vectors, null and invalid bitmaps, match bitmaps as the slot needs). Rows
 * set in ok with a non-null result get an eval bit; those whose result is false also
 * a fail bit. Returns 0 or -ENOMEM (lower/upper text). */
int assay_expr_eval(const assay_expr *x, assay_expr_scratch *s, const assay_col_view *views,
                    uint32_t n, const uint64_t *ok, uint64_t *fail, uint64_t *eval);

#endif
