/*
 * aggregator.h - folds chunk results back in stream order, owns the open windows,
 * closes them as the watermark passes and hands each closed window's result to the
 * pipeline (src/window/aggregator.c has the details).
 */
#ifndef ASSAY_AGGREGATOR_H
#define ASSAY_AGGREGATOR_H

#include "engine/engine_internal.h"

/* Per-window state that is not in the sub-panes: the keys of `unique` rules (a value
 * repeats within a window, whichever pane it came through), duplicate rows, and the
 * late and bad rows counted here. */
typedef struct win_state {
    int64_t k;
    uint64_t late, bad;
    assay_hashset **uniq;  /* [nrules]: hash -> row of the first occurrence; NULL unused */
    bool *capped;          /* [nrules]: limits.unique_memory reached */
    uint64_t *ufailed;     /* [nrules]: repeats */
    pos_sample **usamples; /* [nrules]: the first repeats, with their values */
    uint32_t *nus;
    assay_hashset *rowdups; /* duplicate_rows (global window) */
    bool rowdups_capped;
    uint64_t rowdup_repeats;
} win_state;

/* What the aggregator tells its owner. Every callback returns 0 or a negative code
 * (with err filled), which stops the run. */
typedef struct assay_agg_hooks {
    void *ctx;
    /* A window closed; the result is the callee's to keep or free. */
    int (*window)(void *ctx, assay_result *w, assay_error *err);
    /* Route of the rows of a folded chunk, in row order: clean bytes (ranges of the
     * chunk) and quarantined rows. */
    int (*clean)(void *ctx, const chunk_msg *m, const char *p, size_t len, uint32_t nrows,
                 bool add_newline, assay_error *err);
    int (*quarantine)(void *ctx, const assay_quarantine_row *q, assay_error *err);
    /* Windows skipped in a gap of more than limits.empty_windows empty windows. */
    void (*gap)(void *ctx, int64_t from, int64_t to);
} assay_agg_hooks;

struct assay_alerter;

/* A part of a per-part stream (a Kafka partition): its own watermark input and where
 * it goes on. */
typedef struct agg_part {
    uint32_t part;
    int64_t max_event; /* largest event time folded from it */
    int64_t heard_us;  /* arrival stamp of its last chunk (not checkpointed: now on load) */
    uint64_t next_off; /* position after its last folded chunk (Kafka: next offset) */
    bool away;         /* not assigned now: it holds the windows until it is back */
} agg_part;

typedef struct assay_agg {
    const assay_engine *e;
    assay_agg_hooks h;
    struct assay_alerter *alerter; /* the run's alert state (checkpointed with it), or NULL */
    bool finishing;                /* the end of input is closing the last windows */

    /* position in the stream */
    uint64_t rows;     /* rows folded (row numbers continue across files) */
    uint64_t bytes;    /* input bytes folded */
    uint64_t chunks;   /* chunks folded */
    uint32_t file;     /* file of the last chunk */
    uint64_t lines;    /* '\n' bytes of that file folded so far */
    uint64_t next_seq; /* sequence number of the next chunk to fold */
    uint64_t next_off; /* byte offset after the last folded chunk in its file */

    /* time */
    int64_t max_event; /* largest event time folded */
    agg_part *parts;   /* per_part streams: by part number */
    size_t nparts, parts_cap;
    bool parts_synced; /* the source's assignment has been seen (parts loaded from a
                        * checkpoint are not yet assigned: the rejoin can take a session
                        * timeout, and that silence is not the partitions' idleness) */
    int64_t wm;        /* watermark; never goes back */
    bool started;      /* a row has been placed in a window */
    int64_t next;      /* next window to close (once started) */

    /* open state, sorted by key */
    assay_partial **subs; /* sub-panes by (pane, first) */
    size_t nsubs, subs_cap;
    win_state **wins; /* by k */
    size_t nwins, wins_cap;
    uint64_t pend_late, pend_bad; /* counted before any window existed */
    assay_partial scratch;        /* the window being closed */

    /* the whole run */
    uint64_t nbad;
    assay_bad_sample bad[ASSAY_BAD_SAMPLES];
    size_t nbad_kept;
    uint64_t windows_emitted, windows_skipped;

    /* key sets of a new window start at the size the last closed window's reached, so a
     * stream's sets do not rehash (and touch fresh pages) on their way up every window */
    size_t *key_hint; /* [nrules + 1]: the last slot is duplicate_rows */

    /* exact_keys: per column, the values seen (NULL once dropped or never used), how
     * many were inserted and how many repeated, and why tracking stopped */
    assay_hashset **colset;
    uint64_t *col_seen, *col_repeats;
    uint8_t *col_state; /* 0 tracking, 1 many repeats (>= 5%), 2 memory cap reached */

    /* per-chunk scratch */
    int64_t *pfirst; /* resolved first window of each partial of the chunk; > pane: late */
    uint32_t pfirst_cap;
    uint32_t *blocked; /* rows of the chunk failing a blocking unique rule (ords) */
    uint32_t nblocked, blocked_cap;
    char **blocked_why;
    const char **blocked_rule;
    uint64_t *kbuf, *vbuf;
    int8_t *rbuf;
} assay_agg;

int assay_agg_init(assay_agg *a, const assay_engine *e, const assay_agg_hooks *h);
void assay_agg_free(assay_agg *a);

/* Fold one chunk's results (chunks in stream order), route its rows, and close the
 * windows the new watermark passes. */
int assay_agg_fold(assay_agg *a, chunk_msg *m, assay_error *err);

/* Let the watermark follow the clock: now_us stands in for the largest event time
 * (a silent source, or processing time with nothing in flight). */
int assay_agg_advance(assay_agg *a, int64_t now_us, assay_error *err);

/* The entry of a part (per-part streams), added when new; NULL when out of memory. */
agg_part *assay_agg_part(assay_agg *a, uint32_t part);

/* Per-part streams: the parts assigned now. New ones are added (with no rows yet, they
 * hold the watermark back until they deliver or stay silent for window.idle); parts
 * no longer assigned (a lost session, another member of the group) are kept as away:
 * their rows so far are in the windows and the rest has not been counted, so they
 * hold the watermark - never idle - until they are assigned again. */
void assay_agg_sync_parts(assay_agg *a, const uint32_t *parts, size_t n, int64_t now_us);

/* Every part known (assigned) has been silent for window.idle; false when none is. */
bool assay_agg_all_idle(const assay_agg *a, int64_t now_us);

/* End of input: close every window that has rows (the global window always). */
int assay_agg_finish(assay_agg *a, assay_error *err);

/* Windows open now (for memory accounting and the terminal). */
size_t assay_agg_open_windows(const assay_agg *a);

/* A fresh sub-pane (pane, first) with no rows yet; NULL when out of memory. */
assay_partial *assay_agg_sub_new(const assay_engine *e, int64_t pane, int64_t first);

/* A fresh, empty state for window k (also for state/checkpoint.c to load into), and
 * its release; NULL when out of memory. */
win_state *assay_agg_window_new(const assay_engine *e, int64_t k);
void assay_agg_window_free(const assay_engine *e, win_state *w);

/* result.c: a closed window's result from its merged sub-panes and window state. */
int assay_window_result(const assay_agg *a, int64_t k, assay_partial *acc, const win_state *ws,
                        assay_result **out, assay_error *err);

#endif
