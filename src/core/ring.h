/*
 * ring.h - single-producer/single-consumer ring of pointers between two threads
 * (reader -> shard, shard -> reader). Lock-free on the fast path; a side that finds
 * the ring empty (or full) may sleep on a futex until the other side moves.
 *
 * Layout follows DPDK's rte_ring: the producer's index and the consumer's index sit on
 * separate cache lines so the two cores do not bounce one line on every operation.
 */
#ifndef ASSAY_RING_H
#define ASSAY_RING_H

#include <stdatomic.h>
#include "assay/common.h"

#define ASSAY_CACHELINE 64

typedef struct assay_ring {
    /* written by the producer only */
    _Alignas(ASSAY_CACHELINE) _Atomic uint32_t head; /* next slot to fill */
    uint32_t cached_tail;                            /* producer's last view of tail */
    /* written by the consumer only */
    _Alignas(ASSAY_CACHELINE) _Atomic uint32_t tail; /* next slot to drain */
    uint32_t cached_head;                            /* consumer's last view of head */
    /* read-only after init */
    _Alignas(ASSAY_CACHELINE) uint32_t mask;
    void **slots;
    /* sleepers: bit 0 = consumer waits for data, bit 1 = producer waits for room */
    _Alignas(ASSAY_CACHELINE) _Atomic uint32_t sleepers;
} assay_ring;

/* capacity: a power of two >= 2. Returns 0 or -ENOMEM / -EINVAL. */
int assay_ring_init(assay_ring *r, uint32_t capacity);
void assay_ring_destroy(assay_ring *r);

/* Producer side. Returns false when the ring is full. */
bool assay_ring_push(assay_ring *r, void *p);
/* Consumer side. Returns NULL when the ring is empty (so NULL is never pushed). */
void *assay_ring_pop(assay_ring *r);

/* Block until an element is there, then pop it. */
void *assay_ring_pop_wait(assay_ring *r);
/* Block until there is room, then push. */
void assay_ring_push_wait(assay_ring *r, void *p);

/* Number of elements in the ring (approximate from a third thread). */
uint32_t assay_ring_count(assay_ring *r);

#endif
