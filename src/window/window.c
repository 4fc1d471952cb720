/*
 * window.c - the event-time window model.
 *
 * Windows
 * -------
 * A row at event time t belongs to every window [k * slide, k * slide + size) that
 * contains t, epoch-aligned in UTC (the Dataflow model's sliding windows: Akidau et al.,
 * "The Dataflow Model", PVLDB 8(12), 2015, section 2.2; tumbling when slide = size).
 * assay requires size to be a multiple of slide, q = size / slide, so the time line is
 * cut into panes of one slide and pane p = floor(t / slide) lies in exactly the q
 * windows p - q + 1 .. p. A row updates one pane; a window's state is the merge of its
 * q panes at close - Li et al.'s "panes" ("No pane, no gain", SIGMOD Record 34(1),
 * 2005), which turn a hopping row's q updates into one.
 *
 * Watermark and frontier
 * ----------------------
 * The watermark is the largest event time seen so far minus the allowed lateness, and
 * it never goes back. Window k closes when the watermark reaches its end; the frontier
 * c(wm) = floor((wm - size) / slide) + 1 is the first window still open. A row whose
 * frontier (before the row) is past its pane's last window p is late: every window that
 * holds it has closed, so it is counted in no window's metrics, only in late_rows of
 * the window that closes next - the frontier. A row whose frontier lies inside its
 * pane's windows counts in windows max(c, p - q + 1) .. p only; the windows before
 * that closed without it. So the state of a pane is kept per (pane, first window)
 * "sub-pane", and window k merges the sub-panes (p, j) with p in k .. k + q - 1 and
 * j <= k.
 *
 * Exactness without ordering the shards
 * -------------------------------------
 * Whether a row is late depends on every row before it in the stream, but the shards
 * parse chunks in parallel. So a shard decides only what its own chunk tells it: it
 * runs the watermark over the rows of its chunk alone (c_in) and keys each row's
 * state by (pane, max(c_in, p - q + 1)). The aggregator folds chunks back in stream
 * order, knows the frontier c_M that every earlier chunk implies, and moves a chunk's
 * sub-pane (p, j_in) to (p, max(j_in, c_M)) - or to late_rows when that is past p.
 * Since c(max(a, b)) = max(c(a), c(b)), this is exactly the frontier each row would
 * have seen in a sequential run, for any number of threads.
 */
#include <stdio.h>

#include "assay/window.h"

int assay_window_spec_check(assay_window_spec *w, const char *cfg_path, assay_error *err)
{
    const char *f = cfg_path ? cfg_path : "config";
    if (w->global) {
        w->q = 1;
        return 0;
    }
    if (w->size_us <= 0 || w->slide_us <= 0)
        return assay_error_set(err, -EINVAL, "%s: window.size and window.slide must be positive",
                               f);
    if (w->slide_us > w->size_us)
        return assay_error_set(err, -EINVAL,
                               "%s: window.slide (%lld us) is longer than window.size (%lld us): "
                               "rows between windows would belong to none",
                               f, (long long)w->slide_us, (long long)w->size_us);
    if (w->size_us % w->slide_us != 0)
        return assay_error_set(err, -EINVAL,
                               "%s: window.size must be a multiple of window.slide (windows are "
                               "merged from panes of one slide)",
                               f);
    if (w->size_us / w->slide_us > 1000)
        return assay_error_set(err, -EINVAL,
                               "%s: window.size / window.slide is %lld; at most 1000 windows may "
                               "hold one row",
                               f, (long long)(w->size_us / w->slide_us));
    if (w->lateness_us < 0 || w->idle_us < 0)
        return assay_error_set(err, -EINVAL,
                               "%s: window.lateness and window.idle must not be "
                               "negative",
                               f);
    w->q = w->size_us / w->slide_us;
    return 0;
}
