/*
 * kafka_raw.c - assay-kafka-raw: the baseline for the sidecar benchmark. It consumes
 * a topic with librdkafka's high-level consumer in its own group, as assay does
 * (cooperative-sticky, from the earliest offset), touches every message and does
 * nothing else, so its rate is what the client and the broker can deliver here;
 * assay's rows/s (`assay run --summary FILE`) on the same topic is compared with it.
 *
 *   assay-kafka-raw BOOTSTRAP TOPIC COUNT
 *
 * Reads until COUNT messages have arrived (or 120 s without one), then prints one JSON
 * object: messages, bytes, and the seconds from the first message to the last.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char why[256];
    if (rd_kafka_conf_set(c, k, v, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "assay-kafka-raw: %s: %s\n", k, why);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: assay-kafka-raw BOOTSTRAP TOPIC COUNT\n");
        return 2;
    }
    long long want = atoll(argv[3]);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    set(c, "bootstrap.servers", argv[1]);
    set(c, "group.id", "assay-kafka-raw");
    set(c, "auto.offset.reset", "earliest");
    set(c, "enable.auto.commit", "false");
    set(c, "partition.assignment.strategy", "cooperative-sticky");
    set(c, "queued.max.messages.kbytes", "16384"); /* as assay's consumer */
    char why[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, why, sizeof(why));
    if (!rk) {
        fprintf(stderr, "assay-kafka-raw: %s\n", why);
        return 2;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, argv[2], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    long long n = 0;
    uint64_t bytes = 0, sum = 0;
    double first = 0, last = 0, quiet_since = now_s();
    while (n < want && now_s() - quiet_since < 120) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            last = quiet_since = now_s();
            if (!n)
                first = last;
            n++;
            bytes += m->len;
            if (m->len) /* touch the payload, as a reader of it would */
                sum += ((const unsigned char *)m->payload)[m->len - 1];
        }
        rd_kafka_message_destroy(m);
    }
    printf("{\"messages\": %lld, \"bytes\": %llu, \"seconds\": %.6f, \"checksum\": %llu}\n", n,
           (unsigned long long)bytes, last - first, (unsigned long long)sum);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n == want ? 0 : 1;
}
