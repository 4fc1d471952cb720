/*
 * SPSC ring with futex sleep.
 *
 * Indexes are free-running uint32 counters; slot = index & mask, and head - tail is
 * the fill level even across wrap-around. Ordering (C11 atomics):
 *   - The producer writes the slot, then publishes head with a release store; the
 *     consumer reads head with an acquire load before reading the slot. So a consumer
 *     that sees head move also sees the pointer stored in the slot.
 *   - Symmetrically the consumer releases tail after reading the slot, and the
 *     producer acquires tail before overwriting that slot.
 *   - Each side caches the other's index and re-reads it only when the cached view
 *     says full/empty, which keeps the shared line mostly read-only.
 *
 * Sleeping: an empty consumer sets its bit in `sleepers` (a seq_cst read-modify-write),
 * re-checks head, and futex-waits on head with the value it saw. A producer publishes
 * head, then reads `sleepers` and wakes the consumer when the bit is set. This is the
 * store-load (Dekker) pattern: each side stores, then loads what the other stored, and
 * at least one of them must see the other's store. The consumer's RMW is a full
 * barrier; the producer's head store is only a release, which does not order a later
 * load (a store buffer may hold the store while the load of `sleepers` goes ahead),
 * so the producer issues a seq_cst fence between the two: either the producer sees
 * the bit (and wakes), or the consumer's re-check sees the new head (and does not
 * sleep). The futex itself also compares head before sleeping, which covers a push
 * between the re-check and the wait. The full-ring case mirrors it on tail, with the
 * consumer's tail store and the producer's bit. Handoffs are per chunk (megabytes), so
 * the fences and syscalls are rare.
 *
 * Only a sleeper clears its own bit, after its wait (or its re-check) returns; a waker
 * only reads it. When the waker cleared the bit instead, a wake meant for an earlier
 * announcement could erase a newer one: the producer announced, the consumer (still
 * acting on the announcement before) cleared the bit and woke nobody, the producer
 * slept, and the consumer drained the ring without waking it - both asleep for good
 * (seen under ASan's slower timing). A bit left set a little longer costs at most a
 * spare wake.
 */
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/ring.h"

#define SLEEP_CONSUMER 1u
#define SLEEP_PRODUCER 2u

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

int assay_ring_init(assay_ring *r, uint32_t capacity)
{
    if (capacity < 2 || (capacity & (capacity - 1)))
        return -EINVAL;
    r->slots = calloc(capacity, sizeof(void *));
    if (!r->slots)
        return -ENOMEM;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->sleepers, 0);
    r->cached_tail = 0;
    r->cached_head = 0;
    r->mask = capacity - 1;
    return 0;
}

void assay_ring_destroy(assay_ring *r)
{
    free(r->slots);
    r->slots = NULL;
}

bool assay_ring_push(assay_ring *r, void *p)
{
    uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head - r->cached_tail > r->mask) {
        r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->cached_tail > r->mask)
            return false;
    }
    r->slots[head & r->mask] = p;
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
    /* head must be visible before sleepers is read: see the comment at the top */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sleepers, memory_order_seq_cst) & SLEEP_CONSUMER)
        futex_wake(&r->head); /* the sleeper clears its own bit: see the top */
    return true;
}

void *assay_ring_pop(assay_ring *r)
{
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail == r->cached_head) {
        r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
        if (tail == r->cached_head)
            return NULL;
    }
    void *p = r->slots[tail & r->mask];
    atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
    /* tail must be visible before sleepers is read (the producer's side of the pair) */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sleepers, memory_order_seq_cst) & SLEEP_PRODUCER)
        futex_wake(&r->tail);
    return p;
}

void *assay_ring_pop_wait(assay_ring *r)
{
    for (;;) {
        for (int spin = 0; spin < 64; spin++) {
            void *p = assay_ring_pop(r);
            if (p)
                return p;
            cpu_relax();
        }
        uint32_t seen = atomic_load_explicit(&r->head, memory_order_seq_cst);
        atomic_fetch_or_explicit(&r->sleepers, SLEEP_CONSUMER, memory_order_seq_cst);
        /* Re-check after announcing ourselves: a push that happened before the bit
         * was visible did not wake us. */
        if (atomic_load_explicit(&r->head, memory_order_seq_cst) ==
            atomic_load_explicit(&r->tail, memory_order_relaxed))
            futex_wait(&r->head, seen);
        atomic_fetch_and_explicit(&r->sleepers, ~SLEEP_CONSUMER, memory_order_seq_cst);
    }
}

void assay_ring_push_wait(assay_ring *r, void *p)
{
    for (;;) {
        for (int spin = 0; spin < 64; spin++) {
            if (assay_ring_push(r, p))
                return;
            cpu_relax();
        }
        uint32_t seen = atomic_load_explicit(&r->tail, memory_order_seq_cst);
        atomic_fetch_or_explicit(&r->sleepers, SLEEP_PRODUCER, memory_order_seq_cst);
        if (atomic_load_explicit(&r->head, memory_order_relaxed) -
                atomic_load_explicit(&r->tail, memory_order_seq_cst) >
            r->mask)
            futex_wait(&r->tail, seen);
        atomic_fetch_and_explicit(&r->sleepers, ~SLEEP_PRODUCER, memory_order_seq_cst);
    }
}

uint32_t assay_ring_count(assay_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) -
           atomic_load_explicit(&r->tail, memory_order_acquire);
}
