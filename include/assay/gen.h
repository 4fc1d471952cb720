/*
 * assay/gen.h - deterministic orders-like test data with realistic defects.
 *
 * Row i is a pure function of (seed, i): data can be generated in parallel, in any
 * order, in pieces, and is byte-identical for the same seed. Columns: order_id,
 * customer_id, email, amount, currency, country, status, created_at, phone, note.
 */
#ifndef ASSAY_GEN_H
#define ASSAY_GEN_H

#include <stdio.h>
#include "assay/common.h"

typedef enum assay_fault {
    ASSAY_FAULT_BAD_EMAIL = 0,   /* malformed email (no @, spaces, no dot in domain) */
    ASSAY_FAULT_NULL_EMAIL,      /* empty email */
    ASSAY_FAULT_NEGATIVE_AMOUNT, /* amount < 0 */
    ASSAY_FAULT_BAD_AMOUNT,      /* amount not a number ("12.3.4", "N/A") */
    ASSAY_FAULT_BAD_CURRENCY,    /* currency outside USD EUR GBP JPY */
    ASSAY_FAULT_DUPLICATE_ID,    /* order_id repeats an earlier row's */
    ASSAY_FAULT_NULL_CUSTOMER,   /* empty customer_id */
    ASSAY_FAULT_BAD_PHONE,       /* phone not E.164 */
    ASSAY_FAULT_STALE,           /* created_at far in the past */
    ASSAY_FAULT_BAD_TIMESTAMP,   /* created_at not a timestamp */
    ASSAY_FAULT_LONG_NOTE,       /* note over 500 characters */
    ASSAY_FAULT_COUNT
} assay_fault;

typedef enum assay_gen_format { ASSAY_GEN_CSV = 0, ASSAY_GEN_NDJSON } assay_gen_format;

/* Something that happens only in windows [from, to] (counted from start_us in windows
 * of window_us): a fault at another rate, a volume drop, or an amount drift. */
typedef enum assay_gen_span_kind {
    ASSAY_GEN_SPAN_FAULT = 0,    /* fault `fault` at rate `value` */
    ASSAY_GEN_SPAN_VOLUME,       /* keep a share `value` of the rows (0: idle) */
    ASSAY_GEN_SPAN_AMOUNT_DRIFT, /* amounts times `value` */
} assay_gen_span_kind;

typedef struct assay_gen_span {
    assay_gen_span_kind kind;
    assay_fault fault;
    double value;
    int64_t from, to;
} assay_gen_span;

#define ASSAY_GEN_SPANS_MAX 32

typedef struct assay_gen_options {
    uint64_t rows;
    uint64_t seed;
    assay_gen_format format;
    double rates[ASSAY_FAULT_COUNT]; /* probability per row of each fault */
    int64_t start_us;                /* created_at of row 0 (default 2026-01-01T00:00:00Z) */
    int64_t step_us;                 /* mean spacing of created_at (default 1 s) */
    /* event-time streams */
    int64_t disorder_us; /* every row's time moved back by U[0, disorder) (default 0) */
    double late_rate;    /* share of rows moved back by up to late_by (default 0.01) */
    int64_t late_by_us;  /* (default 120 s) */
    int64_t window_us;   /* window length the spans count in (default 60 s) */
    assay_gen_span spans[ASSAY_GEN_SPANS_MAX];
    size_t nspans;
    /* --shipping: five more columns after note (quantity, unit_price, total,
     * shipped_at, zip) for cross-field rules; off by default (the default output is
     * unchanged by it) */
    bool shipping;
} assay_gen_options;

/* Defaults: realistic low defect rates (documented in src/gen/gen.c). */
ASSAY_API void assay_gen_options_default(assay_gen_options *o);

/* Fault spec "bad_email=0.2,duplicate_id=0.05" (names: assay_fault_name); rates in
 * [0,1]. An entry may be confined to windows: "null_email=0.3@10-12" (windows 10..12 of
 * window_us from start_us). Stream entries, always with a range: "volume=0.1@20-22"
 * (keep 10% of the rows), "idle@30-31" (no rows), "amount_drift=2.5@40-45" (amounts
 * times 2.5). Unknown names are -EINVAL with the list of valid ones in err. */
ASSAY_API int assay_gen_parse_faults(const char *spec, assay_gen_options *o, assay_error *err);
ASSAY_API const char *assay_fault_name(assay_fault f);

/* Header line (CSV only; "" for NDJSON), with its newline. */
ASSAY_API const char *assay_gen_header(const assay_gen_options *o);

/* Write rows [first, first + n) into buf (no header). Returns bytes written; stops
 * before a row that would not fit, setting *done to the rows handled (a row a volume
 * span drops is handled and writes nothing). */
ASSAY_API size_t assay_gen_rows(const assay_gen_options *o, uint64_t first, uint64_t n, char *buf,
                                size_t cap, uint64_t *done);

/* Header plus all o->rows rows to out. */
ASSAY_API int assay_gen_write(const assay_gen_options *o, FILE *out, assay_error *err);

#endif
