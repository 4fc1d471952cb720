/*
 * Progress line: "  ~3.2M rows  412 MB / 1.23 GB  33%  806 MB/s  ETA 1s" redrawn in place on
 * stderr, only when stderr is a terminal (so logs and pipes stay clean).
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli/term.h"
#include "core/clock.h"

void assay_progress_init(assay_progress *p)
{
    p->enabled = isatty(STDERR_FILENO);
    p->start = assay_mono_seconds();
    p->drawn = false;
}

static void human(double bytes, char *buf, size_t cap)
{
    if (bytes >= 1e9)
        snprintf(buf, cap, "%.2f GB", bytes / 1e9);
    else
        snprintf(buf, cap, "%.0f MB", bytes / 1e6);
}

void assay_progress_update(void *ctx, uint64_t bytes, uint64_t total, uint64_t rows)
{
    assay_progress *p = ctx;
    if (!p->enabled)
        return;
    double t = assay_mono_seconds() - p->start;
    double rate = t > 0 ? (double)bytes / t : 0;
    char done[32], all[32];
    human((double)bytes, done, sizeof(done));
    if (total > 0) {
        human((double)total, all, sizeof(all));
        double eta = rate > 0 ? (double)(total - (bytes < total ? bytes : total)) / rate : 0;
        fprintf(stderr, "\r\033[K  ~%.1fM rows  %s / %s  %3.0f%%  %.0f MB/s  ETA %.0fs",
                (double)rows / 1e6, done, all, 100.0 * (double)bytes / (double)total, rate / 1e6,
                eta);
    } else {
        fprintf(stderr, "\r\033[K  ~%.1fM rows  %s  %.0f MB/s", (double)rows / 1e6, done,
                rate / 1e6);
    }
    p->drawn = true;
}

void assay_progress_done(assay_progress *p)
{
    if (p->enabled && p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = false;
}
