/*
 * kafka_mock.c - assay-kafka-mock: librdkafka's mock cluster as a process, for the
 * tests and the demo. The mock cluster is a real Kafka protocol server on loopback
 * (metadata, produce, fetch, consumer groups with their coordinator, offsets,
 * idempotent and transactional producers), built into librdkafka; any Kafka client -
 * assay, kcat, kafka-python - talks to it as to a broker. No Kafka broker is packaged
 * for Debian 12, so this is the cluster the Kafka tests run against.
 *
 *   assay-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...
 *
 * It prints "bootstrap HOST:PORT,..." on stdout, then reads one command per line on
 * stdin and answers each with one line, "ok" or "error: WHY" (so a test can wait for
 * the answer before it goes on):
 *
 *   topic NAME PARTITIONS          create a topic (replication factor min(3, brokers))
 *   down BROKER | up BROKER        stop / resume accepting connections (-1: all);
 *                                  leaders do not move by themselves
 *   leader TOPIC PARTITION BROKER  move a partition's leader (-1: leaderless)
 *   coordinator group|transaction KEY BROKER
 *                                  move a group's (or transactional id's) coordinator
 *   errors API COUNT ERROR...      the next COUNT requests of API (a name such as
 *                                  OffsetCommit, or its number) fail with the ERRORs
 *                                  in turn (names as rd_kafka_err2name gives them,
 *                                  e.g. REQUEST_TIMED_OUT, or numbers); COUNT errors
 *                                  are given, or one repeated COUNT times
 *   rtt BROKER MS                  delay every response of BROKER (-1: all)
 *   quit                           shut down (so does end of input or SIGTERM)
 *
 * Facts of librdkafka 2.0.2's mock cluster that shape tests: a partition keeps only
 * about 5 MiB or 100,000 message sets and drops older ones, so consume while producing
 * or use more partitions; broker down does not move leaders (use `leader`).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Kafka protocol API keys by name (those a test may want to fail). */
static const struct {
    const char *name;
    int16_t key;
} apis[] = {
    { "Produce", 0 },
    { "Fetch", 1 },
    { "ListOffsets", 2 },
    { "Metadata", 3 },
    { "OffsetCommit", 8 },
    { "OffsetFetch", 9 },
    { "FindCoordinator", 10 },
    { "JoinGroup", 11 },
    { "Heartbeat", 12 },
    { "LeaveGroup", 13 },
    { "SyncGroup", 14 },
    { "InitProducerId", 22 },
    { "AddPartitionsToTxn", 24 },
    { "AddOffsetsToTxn", 25 },
    { "EndTxn", 26 },
    { "TxnOffsetCommit", 28 },
};

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int api_key(const char *s, int16_t *out)
{
    for (size_t i = 0; i < sizeof(apis) / sizeof(apis[0]); i++)
        if (!strcasecmp(s, apis[i].name)) {
            *out = apis[i].key;
            return 0;
        }
    long v;
    if (parse_int(s, 0, 100, &v) < 0)
        return -1;
    *out = (int16_t)v;
    return 0;
}

/* An error code by rd_kafka_err2name (with or without a leading '_') or number. */
static int error_code(const char *s, rd_kafka_resp_err_t *out)
{
    long v;
    if (parse_int(s, -200, 200, &v) == 0) {
        *out = (rd_kafka_resp_err_t)v;
        return 0;
    }
    for (int c = -200; c < 200; c++) {
        const char *n = rd_kafka_err2name((rd_kafka_resp_err_t)c);
        if (n && (!strcmp(n, s) || (n[0] == '_' && !strcmp(n + 1, s)))) {
            *out = (rd_kafka_resp_err_t)c;
            return 0;
        }
    }
    return -1;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, int brokers, const char *name, long parts,
                        char *why, size_t cap)
{
    int rf = brokers < 3 ? brokers : 3;
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, (int)parts, rf);
    if (e) {
        snprintf(why, cap, "cannot create topic %s: %s", name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

#define MAX_ARGS 64

/* One command line: 0 ok, -1 error (why set), 1 quit. */
static int command(rd_kafka_mock_cluster_t *mc, int brokers, char *line, char *why, size_t cap)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *t = strtok(line, " \t\r\n"); t && argc < MAX_ARGS; t = strtok(NULL, " \t\r\n"))
        argv[argc++] = t;
    if (argc == 0) {
        snprintf(why, cap, "empty command");
        return -1;
    }
    const char *c = argv[0];
    long a, b;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!strcmp(c, "quit") && argc == 1)
        return 1;
    if (!strcmp(c, "topic") && argc == 3) {
        if (parse_int(argv[2], 1, 10000, &a) < 0) {
            snprintf(why, cap, "partitions must be 1..10000, got '%s'", argv[2]);
            return -1;
        }
        return create_topic(mc, brokers, argv[1], a, why, cap);
    }
    if ((!strcmp(c, "down") || !strcmp(c, "up")) && argc == 2) {
        if (parse_int(argv[1], -1, brokers, &a) < 0 || a == 0) {
            snprintf(why, cap, "broker must be 1..%d or -1, got '%s'", brokers, argv[1]);
            return -1;
        }
        e = c[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                        : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
    } else if (!strcmp(c, "leader") && argc == 4) {
        if (parse_int(argv[2], 0, 100000, &a) < 0 || parse_int(argv[3], -1, brokers, &b) < 0 ||
            b == 0) {
            snprintf(why, cap, "usage: leader TOPIC PARTITION BROKER (1..%d or -1)", brokers);
            return -1;
        }
        e = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t)a, (int32_t)b);
    } else if (!strcmp(c, "coordinator") && argc == 4) {
        if ((strcmp(argv[1], "group") && strcmp(argv[1], "transaction")) ||
            parse_int(argv[3], 1, brokers, &b) < 0) {
            snprintf(why, cap, "usage: coordinator group|transaction KEY BROKER (1..%d)", brokers);
            return -1;
        }
        e = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t)b);
    } else if (!strcmp(c, "errors") && argc >= 4) {
        int16_t api;
        if (api_key(argv[1], &api) < 0 || parse_int(argv[2], 1, 100000, &a) < 0) {
            snprintf(why, cap, "usage: errors API COUNT ERROR... (API a name or number)");
            return -1;
        }
        int nerr = argc - 3;
        if (nerr != 1 && nerr != a) {
            snprintf(why, cap, "give one ERROR or COUNT of them (%ld), not %d", a, nerr);
            return -1;
        }
        rd_kafka_resp_err_t *errs = calloc((size_t)a, sizeof(*errs));
        if (!errs) {
            snprintf(why, cap, "out of memory");
            return -1;
        }
        for (long i = 0; i < a; i++)
            if (error_code(argv[3 + (nerr == 1 ? 0 : i)], &errs[i]) < 0) {
                snprintf(why, cap, "unknown error '%s'", argv[3 + (nerr == 1 ? 0 : i)]);
                free(errs);
                return -1;
            }
        rd_kafka_mock_push_request_errors_array(mc, api, (size_t)a, errs);
        free(errs);
    } else if (!strcmp(c, "rtt") && argc == 3) {
        if (parse_int(argv[1], -1, brokers, &a) < 0 || a == 0 ||
            parse_int(argv[2], 0, 600000, &b) < 0) {
            snprintf(why, cap, "usage: rtt BROKER MS (BROKER 1..%d or -1)", brokers);
            return -1;
        }
        e = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
    } else {
        snprintf(why, cap, "unknown command or wrong arguments: '%s' (see the top of kafka_mock.c)",
                 c);
        return -1;
    }
    if (e) {
        snprintf(why, cap, "%s", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: assay-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...\n"
                    "then commands on stdin (topic, down, up, leader, coordinator, errors, "
                    "rtt, quit)\n");
    return 2;
}

int main(int argc, char **argv)
{
    long brokers = 3;
    const char *topics[256];
    int ntopics = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
            if (parse_int(argv[++i], 1, 64, &brokers) < 0)
                return usage();
        } else if (!strcmp(argv[i], "--topic") && i + 1 < argc && ntopics < 256) {
            topics[ntopics++] = argv[++i];
        } else {
            return usage();
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "assay-kafka-mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
    if (!mc) {
        fprintf(stderr, "assay-kafka-mock: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int status = 0;
    for (int i = 0; i < ntopics && status == 0; i++) {
        char name[256];
        const char *colon = strrchr(topics[i], ':');
        long parts = 1;
        size_t n = colon ? (size_t)(colon - topics[i]) : strlen(topics[i]);
        if (n == 0 || n >= sizeof(name) || (colon && parse_int(colon + 1, 1, 10000, &parts) < 0)) {
            fprintf(stderr, "assay-kafka-mock: --topic wants NAME:PARTITIONS, got '%s'\n",
                    topics[i]);
            status = 2;
            break;
        }
        memcpy(name, topics[i], n);
        name[n] = '\0';
        if (create_topic(mc, (int)brokers, name, parts, errstr, sizeof(errstr)) < 0) {
            fprintf(stderr, "assay-kafka-mock: %s\n", errstr);
            status = 1;
        }
    }
    if (status == 0) {
        printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);
        char line[4096];
        while (!stop && fgets(line, sizeof(line), stdin)) {
            char why[512] = "";
            int rc = command(mc, (int)brokers, line, why, sizeof(why));
            if (rc == 1) {
                printf("ok\n");
                fflush(stdout);
                break;
            }
            printf(rc == 0 ? "ok\n" : "error: %s\n", why);
            fflush(stdout);
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return status;
}
