/* SPSC ring: order and completeness across two threads, full/empty edges, sleeping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "core/ring.h"

static void test_single_thread_edges(void **state)
{
    (void)state;
    assay_ring r;
    assert_int_equal(assay_ring_init(&r, 3), -EINVAL);
    assert_int_equal(assay_ring_init(&r, 4), 0);
    assert_null(assay_ring_pop(&r));
    for (uintptr_t i = 1; i <= 4; i++)
        assert_true(assay_ring_push(&r, (void *)i));
    assert_false(assay_ring_push(&r, (void *)5)); /* full */
    assert_int_equal(assay_ring_count(&r), 4);
    for (uintptr_t i = 1; i <= 4; i++)
        assert_int_equal((uintptr_t)assay_ring_pop(&r), i);
    assert_null(assay_ring_pop(&r));
    /* wrap around many times */
    for (uintptr_t i = 1; i < 100000; i++) {
        assert_true(assay_ring_push(&r, (void *)i));
        assert_int_equal((uintptr_t)assay_ring_pop(&r), i);
    }
    assay_ring_destroy(&r);
}

#define N_ITEMS 2000000u

static void *producer(void *arg)
{
    assay_ring *r = arg;
    for (uintptr_t i = 1; i <= N_ITEMS; i++)
        assay_ring_push_wait(r, (void *)i);
    return NULL;
}

static void test_two_threads_in_order(void **state)
{
    (void)state;
    assay_ring r;
    assert_int_equal(assay_ring_init(&r, 8), 0); /* small: forces both sides to sleep */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
    uintptr_t expect = 1;
    for (uintptr_t k = 0; k < N_ITEMS; k++) {
        uintptr_t got = (uintptr_t)assay_ring_pop_wait(&r);
        if (got != expect)
            fail_msg("item %lu arrived where %lu was expected", (unsigned long)got,
                     (unsigned long)expect);
        expect++;
    }
    pthread_join(t, NULL);
    assert_null(assay_ring_pop(&r));
    assay_ring_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread_edges),
        cmocka_unit_test(test_two_threads_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
