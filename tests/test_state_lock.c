/* state.dir's lock: one holder, a file run refused with the holder's pid, a standby
 * that waits, stops when told, and takes over the moment the holder lets go. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/lock.h"

typedef struct notices {
    pthread_mutex_t mu;
    char text[4][512];
    int n;
} notices;

static void on_notice(void *ctx, const char *msg)
{
    notices *ns = ctx;
    pthread_mutex_lock(&ns->mu);
    if (ns->n < 4)
        snprintf(ns->text[ns->n++], sizeof(ns->text[0]), "%s", msg);
    pthread_mutex_unlock(&ns->mu);
}

static int notice_count(notices *ns)
{
    pthread_mutex_lock(&ns->mu);
    int n = ns->n;
    pthread_mutex_unlock(&ns->mu);
    return n;
}

static char *fresh_dir(void)
{
    char tmpl[] = "/tmp/assay-lock-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *dir = malloc(strlen(d) + 16);
    sprintf(dir, "%s/a/b", d); /* nested: the lock makes the directories */
    return dir;
}

static void test_one_holder(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    assay_error err = { 0 };
    int fd = -1, fd2 = -1;
    assert_int_equal(assay_state_lock(dir, false, NULL, NULL, NULL, &fd, &err), 0);
    assert_true(fd >= 0);

    /* the lock file names the holder */
    char path[600], buf[64] = { 0 }, want[64];
    snprintf(path, sizeof(path), "%s/lock", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    assert_string_equal(buf, want);

    /* a second open of the file is a second holder to flock(2), as another process is */
    assert_int_equal(assay_state_lock(dir, false, NULL, NULL, NULL, &fd2, &err), -EBUSY);
    assert_int_equal(fd2, -1);
    snprintf(want, sizeof(want), "in use by another assay run (pid %ld)", (long)getpid());
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, dir));

    /* let go: the next run takes it */
    close(fd);
    assert_int_equal(assay_state_lock(dir, false, NULL, NULL, NULL, &fd2, &err), 0);
    assert_true(fd2 >= 0);
    close(fd2);
    free(dir);
}

static void test_standby_stops(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    assay_error err = { 0 };
    int fd = -1, fd2 = 7;
    notices ns = { .mu = PTHREAD_MUTEX_INITIALIZER };
    assert_int_equal(assay_state_lock(dir, false, NULL, NULL, NULL, &fd, &err), 0);
    volatile int stop = 1;
    assert_int_equal(assay_state_lock(dir, true, &stop, on_notice, &ns, &fd2, &err), 1);
    assert_int_equal(fd2, -1);
    assert_int_equal(ns.n, 1);
    assert_non_null(strstr(ns.text[0], "waiting to take over"));
    close(fd);
    free(dir);
}

typedef struct waiter {
    const char *dir;
    notices *ns;
    volatile int stop;
    int fd, rc;
    assay_error err;
} waiter;

static void *wait_lock(void *arg)
{
    waiter *w = arg;
    w->rc = assay_state_lock(w->dir, true, &w->stop, on_notice, w->ns, &w->fd, &w->err);
    return NULL;
}

static void test_standby_takes_over(void **state)
{
    (void)state;
    char *dir = fresh_dir();
    assay_error err = { 0 };
    int fd = -1;
    notices ns = { .mu = PTHREAD_MUTEX_INITIALIZER };
    assert_int_equal(assay_state_lock(dir, false, NULL, NULL, NULL, &fd, &err), 0);
    waiter w = { .dir = dir, .ns = &ns, .fd = -1, .rc = -100 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_lock, &w), 0);
    /* bounded wait for the standby's notice: it is waiting, not done */
    for (int i = 0; i < 1000 && notice_count(&ns) == 0; i++)
        usleep(10000);
    assert_int_equal(notice_count(&ns), 1);
    assert_int_equal(w.rc, -100);
    close(fd); /* the holder stops */
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_true(w.fd >= 0);
    assert_int_equal(ns.n, 2);
    assert_non_null(strstr(ns.text[1], "taking over"));
    close(w.fd);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_holder),
        cmocka_unit_test(test_standby_stops),
        cmocka_unit_test(test_standby_takes_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
