/*
 * bench.h - plain-C face of Google Benchmark. A benchmark is a C function that loops
 * `while (assay_bench_next(s))` over the work being measured; ASSAY_BENCH registers it
 * before main() runs. The C++ shim (wrapper.cc) maps this onto benchmark::State, so
 * the output, filters (--benchmark_filter) and repetitions are Google Benchmark's.
 */
#ifndef ASSAY_BENCH_H
#define ASSAY_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Test data: the finaliser of SplitMix64 (Steele, Lea and Flood, OOPSLA 2014) turns a
 * counter into well-mixed bits; bench_splitmix64 is the whole generator step. */
static inline uint64_t bench_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t bench_splitmix64(uint64_t z)
{
    return bench_mix64(z + 0x9e3779b97f4a7c15ull);
}

/* This thread's CPU time: what a kernel costs, without the other thread's noise. */
static inline double bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct assay_bench_state assay_bench_state;
typedef void (*assay_bench_fn)(assay_bench_state *s);

/* One more iteration? (benchmark::State::KeepRunning) */
bool assay_bench_next(assay_bench_state *s);
/* The i-th argument of this run (see assay_bench_register_args). */
int64_t assay_bench_arg(assay_bench_state *s, int i);
/* Totals over all iterations, for items/s and bytes/s columns. */
void assay_bench_set_items(assay_bench_state *s, int64_t items);
void assay_bench_set_bytes(assay_bench_state *s, int64_t bytes);
/* Keep setup out of the timing. */
void assay_bench_pause(assay_bench_state *s);
void assay_bench_resume(assay_bench_state *s);
/* An extra named column, e.g. ns per value, error %. */
void assay_bench_counter(assay_bench_state *s, const char *name, double value);
/* Label printed next to the result (e.g. the SIMD level). */
void assay_bench_label(assay_bench_state *s, const char *label);
/* Keep the compiler from optimizing a result away. */
void assay_bench_keep(const void *p);

/* Register fn under name, once per argument value in args (nargs 0: no argument). */
void assay_bench_register(const char *name, assay_bench_fn fn, const int64_t *args, size_t nargs);

#define ASSAY_BENCH_ARGS(fn, ...)                                                                  \
    static void fn(assay_bench_state *s);                                                          \
    __attribute__((constructor)) static void fn##_register(void)                                   \
    {                                                                                              \
        static const int64_t args_[] = { __VA_ARGS__ };                                            \
        assay_bench_register(#fn, fn, args_, sizeof(args_) / sizeof(args_[0]));                    \
    }                                                                                              \
    static void fn(assay_bench_state *s)

#define ASSAY_BENCH(fn)                                                                            \
    static void fn(assay_bench_state *s);                                                          \
    __attribute__((constructor)) static void fn##_register(void)                                   \
    {                                                                                              \
        assay_bench_register(#fn, fn, NULL, 0);                                                    \
    }                                                                                              \
    static void fn(assay_bench_state *s)

#ifdef __cplusplus
}
#endif

#endif
