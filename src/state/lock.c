/*
 * lock.c - one process at a time on a state.dir.
 *
 * Two runs sharing a state.dir would overwrite each other's checkpoints and, for
 * Kafka, both resume from the same window state - each row counted by two windows
 * that carry the same ids. So a run takes an exclusive flock(2) on state.dir/lock
 * before it reads the checkpoint, and keeps it until it exits. The kernel drops the
 * lock when the process ends in any way, SIGKILL included, so a crash never leaves a
 * stale lock behind (a pid file alone would); the pid written into the file is only
 * for the message that names the holder.
 *
 * A second file run on the same directory is an error. A second Kafka run waits: it is
 * a standby that takes over - checkpoint, positions and all - the moment the first one
 * stops, which is how two instances on one host (or on a shared volume that supports
 * flock) give failover without sharing a consumer group's partitions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "state/lock.h"

int assay_state_mkdir(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return -ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        path[i] = c;
    }
    return 0;
}

/* The pid the holder wrote, or 0. */
static long holder(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    long pid = 0;
    return sscanf(buf, "%ld", &pid) == 1 ? pid : 0;
}

int assay_state_lock(const char *dir, bool wait, volatile const int *stop,
                     void (*notice)(void *ctx, const char *msg), void *notice_ctx, int *fd,
                     assay_error *err)
{
    *fd = -1;
    int rc = assay_state_mkdir(dir);
    if (rc < 0)
        return assay_error_set(err, rc, "state.dir %s: cannot create: %s", dir, strerror(-rc));
    char path[4096];
    snprintf(path, sizeof(path), "%s/lock", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0)
        return assay_error_set(err, -errno, "state.dir %s: cannot open %s: %s", dir, path,
                               strerror(errno));
    bool told = false;
    while (flock(f, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            int en = errno;
            close(f);
            return assay_error_set(err, -en, "state.dir %s: cannot lock %s: %s", dir, path,
                                   strerror(en));
        }
        long pid = holder(f);
        if (!wait) {
            close(f);
            return assay_error_set(err, -EBUSY,
                                   "state.dir %s is in use by another assay run (pid %ld): two "
                                   "runs cannot share one; give this one its own state.dir",
                                   dir, pid);
        }
        if (!told && notice) {
            char msg[4096 + 200];
            snprintf(msg, sizeof(msg),
                     "state.dir %s is in use by another assay run (pid %ld): waiting to take "
                     "over when it stops (a standby)",
                     dir, pid);
            notice(notice_ctx, msg);
            told = true;
        }
        if (stop && *stop) {
            close(f);
            return 1;
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(f, 0) < 0 || pwrite(f, buf, (size_t)n, 0) != n) {
        int en = errno;
        close(f);
        return assay_error_set(err, -en, "state.dir %s: cannot write %s: %s", dir, path,
                               strerror(en));
    }
    if (told && notice)
        notice(notice_ctx, "state.dir is free: taking over");
    *fd = f;
    return 0;
}
