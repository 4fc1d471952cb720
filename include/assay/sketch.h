/*
 * assay/sketch.h - what every sketch shares: a serialized header, checked before
 * anything else is read.
 *
 *     offset  size  field
 *     0       4     magic "ASK1"
 *     4       1     kind (assay_sketch_kind)
 *     5       1     version of that kind's payload (1)
 *     6       2     reserved, 0
 *     8       8     payload length in bytes (little endian), excluding this header
 *     16      ...   payload (kind-specific, little endian)
 *
 * Deserializers reject: short input, wrong magic, wrong kind, unknown version,
 * non-zero reserved bytes, a length that disagrees with the input, and any payload
 * field out of its range - each with a message naming what was wrong.
 */
#ifndef ASSAY_SKETCH_H
#define ASSAY_SKETCH_H

#include "assay/common.h"

#define ASSAY_SKETCH_MAGIC  "ASK1"
#define ASSAY_SKETCH_HEADER 16

typedef enum assay_sketch_kind {
    ASSAY_SKETCH_HLL = 1,
    ASSAY_SKETCH_TDIGEST = 2,
    ASSAY_SKETCH_MOMENTS = 3,
    ASSAY_SKETCH_TOPK = 4,
    ASSAY_SKETCH_IFOREST = 5,
} assay_sketch_kind;

/* Write the header for a payload of payload_len bytes into out[0..16). */
ASSAY_API void assay_sketch_header_write(uint8_t *out, assay_sketch_kind kind, uint8_t version,
                                         uint64_t payload_len);

/* Check buf[0..len) holds a header of `kind` and `version` followed by exactly its
 * payload; on success *payload / *payload_len point past the header. -EINVAL with a
 * message otherwise. */
ASSAY_API int assay_sketch_header_check(const uint8_t *buf, size_t len, assay_sketch_kind kind,
                                        uint8_t version, const uint8_t **payload,
                                        uint64_t *payload_len, assay_error *err);

#endif
