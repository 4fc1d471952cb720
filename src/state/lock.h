/*
 * lock.h - one process at a time on a state.dir (src/state/lock.c has the details).
 */
#ifndef ASSAY_STATE_LOCK_H
#define ASSAY_STATE_LOCK_H

#include <stdbool.h>

#include "assay/common.h"

/* mkdir -p; 0 or -errno. */
int assay_state_mkdir(const char *dir);

/* Take state.dir's lock: 0 with *fd set (close it to let go), or a negative code with
 * err filled when another process holds it and wait is false. With wait true, wait
 * for it (a standby), telling notice once who holds it; returns 1 with *fd = -1 when
 * *stop is set while waiting. */
int assay_state_lock(const char *dir, bool wait, volatile const int *stop,
                     void (*notice)(void *ctx, const char *msg), void *notice_ctx, int *fd,
                     assay_error *err);

#endif
