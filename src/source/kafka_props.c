/*
 * kafka_props.c - which client a librdkafka property belongs to.
 *
 * The config has one `kafka:` section for the consumer of the Kafka source and the
 * producer of the Kafka sinks, since brokers, security and client settings are the
 * same for both. librdkafka accepts a property of the other kind of client but logs a
 * warning for each one (CONFWARN), so each client skips the ones that are only the
 * other's. The lists follow librdkafka's CONFIGURATION.md ("C" and "P" columns) for
 * the properties a user is likely to set; anything not listed goes to both.
 */
#include <string.h>

#include "assay/source.h"

static bool listed(const char *key, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

assay_kafka_side assay_kafka_prop_side(const char *key)
{
    static const char *const consumer[] = { "group.id",
                                            "group.instance.id",
                                            "session.timeout.ms",
                                            "heartbeat.interval.ms",
                                            "max.poll.interval.ms",
                                            "auto.offset.reset",
                                            "enable.auto.commit",
                                            "auto.commit.interval.ms",
                                            "enable.auto.offset.store",
                                            "partition.assignment.strategy",
                                            "queued.min.messages",
                                            "queued.max.messages.kbytes",
                                            "fetch.wait.max.ms",
                                            "fetch.min.bytes",
                                            "fetch.max.bytes",
                                            "max.partition.fetch.bytes",
                                            "isolation.level",
                                            "check.crcs" };
    static const char *const producer[] = { "acks",
                                            "request.required.acks",
                                            "enable.idempotence",
                                            "enable.gapless.guarantee",
                                            "transactional.id",
                                            "transaction.timeout.ms",
                                            "queue.buffering.max.messages",
                                            "queue.buffering.max.kbytes",
                                            "queue.buffering.max.ms",
                                            "linger.ms",
                                            "message.send.max.retries",
                                            "retries",
                                            "batch.num.messages",
                                            "batch.size",
                                            "compression.codec",
                                            "compression.type",
                                            "compression.level",
                                            "message.timeout.ms",
                                            "delivery.timeout.ms",
                                            "request.timeout.ms",
                                            "partitioner",
                                            "sticky.partitioning.linger.ms",
                                            "max.in.flight.requests.per.connection",
                                            "max.in.flight" };
    if (listed(key, consumer, ASSAY_ARRAY_LEN(consumer)))
        return ASSAY_KAFKA_CONSUMER;
    if (listed(key, producer, ASSAY_ARRAY_LEN(producer)))
        return ASSAY_KAFKA_PRODUCER;
    return ASSAY_KAFKA_BOTH;
}
