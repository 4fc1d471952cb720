/*
 * mix.h - the SplitMix64 finalizer (Steele, Lea & Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014; constants from Stafford's Mix13): a
 * bijection on 64-bit words whose every output bit depends on every input bit. SplitMix64
 * output i is assay_mix64(seed + i * ASSAY_SPLITMIX_GAMMA); the generator, the data
 * generator's per-row keys and per-shard seeds all use this one function.
 */
#ifndef ASSAY_CORE_MIX_H
#define ASSAY_CORE_MIX_H

#include <stdint.h>

#define ASSAY_SPLITMIX_GAMMA 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio */

static inline uint64_t assay_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#endif
