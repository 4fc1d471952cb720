/*
 * clock.h - the two clocks assay reads: the wall clock in microseconds since the epoch
 * (arrival times, processing-time windows, the freshness rule's "now": it must agree
 * with the event times in the data) and a monotonic clock in seconds (durations:
 * stage timings, checkpoint intervals, progress; it does not jump when the wall clock
 * is set).
 */
#ifndef ASSAY_CLOCK_H
#define ASSAY_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t assay_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline double assay_mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
