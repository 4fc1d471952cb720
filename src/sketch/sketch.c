/*
 * sketch.c - the serialized header every sketch shares (see assay/sketch.h for the
 * layout). External bytes are checked - magic, kind, version, length - before a
 * deserializer reads a payload byte (the habit of Redis's hyperloglog.c).
 */
#include <string.h>

#include "assay/sketch.h"

static void put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void assay_sketch_header_write(uint8_t *out, assay_sketch_kind kind, uint8_t version,
                               uint64_t payload_len)
{
    memcpy(out, ASSAY_SKETCH_MAGIC, 4);
    out[4] = (uint8_t)kind;
    out[5] = version;
    out[6] = out[7] = 0;
    put_u64le(out + 8, payload_len);
}

int assay_sketch_header_check(const uint8_t *buf, size_t len, assay_sketch_kind kind,
                              uint8_t version, const uint8_t **payload, uint64_t *payload_len,
                              assay_error *err)
{
    if (!buf || len < ASSAY_SKETCH_HEADER)
        return assay_error_set(err, -EINVAL, "sketch: %zu bytes, shorter than the %d-byte header",
                               buf ? len : 0, ASSAY_SKETCH_HEADER);
    if (memcmp(buf, ASSAY_SKETCH_MAGIC, 4) != 0)
        return assay_error_set(err, -EINVAL, "sketch: bad magic (not an assay sketch)");
    if (buf[4] != (uint8_t)kind)
        return assay_error_set(err, -EINVAL, "sketch: kind %u, expected %u", buf[4],
                               (unsigned)kind);
    if (buf[5] != version)
        return assay_error_set(err, -EINVAL, "sketch: version %u, this build reads %u", buf[5],
                               version);
    if (buf[6] || buf[7])
        return assay_error_set(err, -EINVAL, "sketch: reserved header bytes are not zero");
    uint64_t n = get_u64le(buf + 8);
    if (n != len - ASSAY_SKETCH_HEADER)
        return assay_error_set(err, -EINVAL,
                               "sketch: header says %llu payload bytes, input has %zu",
                               (unsigned long long)n, len - ASSAY_SKETCH_HEADER);
    *payload = buf + ASSAY_SKETCH_HEADER;
    *payload_len = n;
    return 0;
}
