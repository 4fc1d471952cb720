/*
 * test_rng.h - deterministic random numbers for the sketch tests (splitmix64, Steele,
 * Lea and Flood 2014) with uniform and normal draws, and a double comparator for the
 * exact answers the tests sort their raw values for. Header-only: each test program
 * has its own copy with local state.
 */
#ifndef ASSAY_TEST_RNG_H
#define ASSAY_TEST_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rnd(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline double unif(rng *r)
{
    return (double)(rnd(r) >> 11) * 0x1.0p-53;
}

/* Box-Muller */
static inline double gauss(rng *r)
{
    double u = unif(r), v = unif(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
