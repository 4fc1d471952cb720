/* term.h - terminal helpers: progress line on stderr when it is a terminal. */
#ifndef ASSAY_TERM_H
#define ASSAY_TERM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct assay_progress {
    bool enabled; /* stderr is a terminal */
    double start;
    bool drawn;
} assay_progress;

void assay_progress_init(assay_progress *p);
/* assay_progress_fn-compatible callback: ctx is an assay_progress. */
void assay_progress_update(void *ctx, uint64_t bytes, uint64_t total, uint64_t rows);
/* Erase the line if one was drawn. */
void assay_progress_done(assay_progress *p);

#endif
