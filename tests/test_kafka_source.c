/* Kafka source against librdkafka's mock cluster (a real Kafka protocol server on
 * loopback, in this process): every produced message arrives exactly once, chunks hold
 * one partition each in offset order, done() commits so a second consumer of the group
 * starts after the committed rows, start: earliest reads everything again, bad options
 * are refused. Waits are bounded by a count of polls, never by sleeping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "assay/source.h"

#define NPART 3

typedef struct fixture {
    rd_kafka_t *prod;
    rd_kafka_mock_cluster_t *mc;
    const char *boot;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", why, sizeof(why));
    f->prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    assert_non_null(f->prod);
    f->mc = rd_kafka_mock_cluster_new(f->prod, 3);
    assert_non_null(f->mc);
    f->boot = rd_kafka_mock_cluster_bootstraps(f->mc);
    assert_int_equal(rd_kafka_mock_topic_create(f->mc, "orders", NPART, 1), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->prod); /* the mock cluster's owner */
    free(f);
    return 0;
}

/* Produce messages "p:i" for i in [from, to) to partition i % NPART. */
static void produce(const char *boot, int from, int to)
{
    char why[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", boot, why, sizeof(why)), 0);
    rd_kafka_conf_set(conf, "log_level", "2", why, sizeof(why));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    assert_non_null(p);
    for (int i = from; i < to; i++) {
        char v[32];
        int n = snprintf(v, sizeof(v), "%d:%d", i % NPART, i);
        assert_int_equal(
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_PARTITION(i % NPART),
                              RD_KAFKA_V_VALUE(v, (size_t)n),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
            0);
    }
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    rd_kafka_destroy(p);
}

/* Read until `want` rows arrived (at most 600 polls of 100 ms); check each chunk holds
 * one partition's rows in order; seen[i] counts row i. Returns the last seq. */
static uint64_t consume(assay_source *s, int want, int *seen, int nseen)
{
    int got = 0;
    uint64_t last = 0;
    int last_in_part[NPART] = { -1, -1, -1 };
    assay_error err = { 0 };
    for (int polls = 0; got < want && polls < 600; polls++) {
        assay_chunk c;
        int rc = s->ops->next(s, &c, 100, &err);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc != 0)
            fail_msg("next: %d %s", rc, err.msg);
        assert_true(c.len > 0 && c.data[c.len - 1] == '\n');
        assert_true(c.file < NPART);
        assert_true(s->nnames > c.file && strstr(s->names[c.file], "orders["));
        const char *p = c.data, *end = c.data + c.len;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            int part, i;
            assert_int_equal(sscanf(p, "%d:%d", &part, &i), 2);
            assert_int_equal(part, (int)c.file); /* one partition per chunk */
            assert_true(i > last_in_part[part]); /* in offset order */
            last_in_part[part] = i;
            assert_true(i >= 0 && i < nseen);
            seen[i]++;
            got++;
            p = nl + 1;
        }
        last = c.seq;
        s->ops->release(s, &c);
    }
    assert_int_equal(got, want);
    return last;
}

static assay_source *open_source(const fixture *f, const char *group, const char *start)
{
    static const char *const props[] = { "log_level", "2", "session.timeout.ms", "6000" };
    assay_kafka_source_options o = { .brokers = f->boot,
                                     .topic = "orders",
                                     .group = group,
                                     .start = start,
                                     .props = props,
                                     .nprops = 2,
                                     .chunk_bytes = 512,
                                     .linger_ms = 20 };
    assay_source *s = NULL;
    assay_error err = { 0 };
    if (assay_source_kafka(&s, &o, &err) != 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static void test_exactly_once_then_committed(void **state)
{
    fixture *f = *state;
    enum { N = 3000, M = 300 };
    static int seen[N + M];
    produce(f->boot, 0, N);
    assay_source *s = open_source(f, "g1", "committed");
    uint64_t last = consume(s, N, seen, N + M);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assay_error err = { 0 };
    assert_int_equal(s->ops->done(s, last, &err), 0);
    assay_source_close(s);

    /* the group resumes after what was committed: only the new rows */
    produce(f->boot, N, N + M);
    s = open_source(f, "g1", "committed");
    consume(s, M, seen, N + M);
    for (int i = 0; i < N + M; i++)
        assert_int_equal(seen[i], 1);
    assay_source_close(s);

    /* start: earliest reads everything again, whatever the group committed */
    memset(seen, 0, sizeof(seen));
    s = open_source(f, "g1", "earliest");
    consume(s, N + M, seen, N + M);
    for (int i = 0; i < N + M; i++)
        assert_int_equal(seen[i], 1);
    assay_source_close(s);
}

static void test_bad_options(void **state)
{
    fixture *f = *state;
    assay_source *s = NULL;
    assay_error err = { 0 };
    assay_kafka_source_options o = { .brokers = f->boot, .topic = "orders", .group = "g" };
    o.start = "beginning";
    assert_int_equal(assay_source_kafka(&s, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "committed, earliest or latest"));
    static const char *const bad[] = { "sasl.password", "hunter2", "no.such.property", "x" };
    o.start = NULL;
    o.props = bad;
    o.nprops = 2;
    memset(&err, 0, sizeof(err));
    assert_int_equal(assay_source_kafka(&s, &o, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no.such.property"));
    assert_null(strstr(err.msg, "hunter2")); /* values are never repeated */
    o.group = NULL;
    assert_int_equal(assay_source_kafka(&s, &o, &err), -EINVAL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exactly_once_then_committed),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
