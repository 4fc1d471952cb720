/*
 * assay/window.h - event-time windows: which windows a row belongs to, when a window
 * closes (see src/window/window.c for the model and docs/design.md for the rules).
 *
 * Windows are epoch-aligned: window k covers [k * slide, k * slide + size). size is a
 * multiple of slide (q = size / slide windows hold every instant), so time is cut into
 * panes of one slide: pane p = [p * slide, (p + 1) * slide) lies in windows p - q + 1
 * .. p. A window closes when the watermark reaches its end.
 */
#ifndef ASSAY_WINDOW_H
#define ASSAY_WINDOW_H

#include "assay/common.h"

/* "No time yet": the watermark before any row, a frontier nothing is behind. */
#define ASSAY_TIME_NONE INT64_MIN

typedef struct assay_window_spec {
    bool global;         /* one window over the whole input (check, profile) */
    bool event_time;     /* false: rows are stamped with their arrival time */
    int64_t size_us;     /* window length */
    int64_t slide_us;    /* distance between window starts; size is a multiple of it */
    int64_t lateness_us; /* watermark = max event time - lateness */
    int64_t idle_us;     /* a source silent this long lets the watermark follow the clock */
    int64_t q;           /* size / slide: windows that hold one pane */
    /* Several parts that are each in order but not with each other (Kafka partitions):
     * each part has its own watermark, the stream's is the least over the parts heard
     * from within idle, and a chunk's rows all see the watermark before the chunk. */
    bool per_part;
} assay_window_spec;

/* floor(a / b) for b > 0, also for negative a. */
static inline int64_t assay_floor_div(int64_t a, int64_t b)
{
    int64_t d = a / b;
    return (a % b != 0 && a < 0) ? d - 1 : d;
}

/* Pane of event time t. */
static inline int64_t assay_window_pane(const assay_window_spec *w, int64_t t)
{
    return w->global ? 0 : assay_floor_div(t, w->slide_us);
}

/* The first window that pane p is in. */
static inline int64_t assay_window_first_of_pane(const assay_window_spec *w, int64_t p)
{
    return w->global ? 0 : p - w->q + 1;
}

/* The frontier for watermark wm: the first window that is not closed (windows k with
 * k * slide + size <= wm are closed). ASSAY_TIME_NONE when wm is. */
static inline int64_t assay_window_frontier(const assay_window_spec *w, int64_t wm)
{
    if (wm == ASSAY_TIME_NONE || w->global)
        return ASSAY_TIME_NONE;
    return assay_floor_div(wm - w->size_us, w->slide_us) + 1;
}

/* Start and end of window k (microseconds since the epoch). */
static inline int64_t assay_window_start(const assay_window_spec *w, int64_t k)
{
    return k * w->slide_us;
}
static inline int64_t assay_window_end(const assay_window_spec *w, int64_t k)
{
    return k * w->slide_us + w->size_us;
}

/* Watermark for a maximum event time m (ASSAY_TIME_NONE stays so). */
static inline int64_t assay_window_watermark(const assay_window_spec *w, int64_t m)
{
    return m == ASSAY_TIME_NONE ? ASSAY_TIME_NONE : m - w->lateness_us;
}

/* Where a row lands: the first window it counts in, given the frontier before it, is
 * max(frontier, first window of its pane); the row is late when that is past its
 * pane's last window (every window holding it has closed). */
static inline int64_t assay_window_first_open(const assay_window_spec *w, int64_t pane,
                                              int64_t frontier)
{
    int64_t f = assay_window_first_of_pane(w, pane);
    return frontier != ASSAY_TIME_NONE && frontier > f ? frontier : f;
}

static inline int64_t assay_max_time(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Check a spec read from the config (size a positive multiple of slide, ...); fills
 * q. -EINVAL with a message naming the key otherwise. */
ASSAY_API int assay_window_spec_check(assay_window_spec *w, const char *cfg_path, assay_error *err);

#endif
