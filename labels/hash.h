/* hash.h - Fast 64-bit hash for label values and dimension keys. */

#ifndef GWLOG_HASH_H
#define GWLOG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


/* Prototypes */

static inline uint64_t
hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}


/* Hashes p[0..len) continuing from seed; 8 bytes a step. */
static inline uint64_t
hash_bytes(const void *p, size_t len, uint64_t seed)
{
    const unsigned char  *s = p;
    uint64_t              h = seed ^ (len * 0x9e3779b97f4a7c15ULL), w;

    while (len >= 8) {
        memcpy(&w, s, 8);
        h = (h ^ hash_mix(w)) * 0x9e3779b97f4a7c15ULL;
        s += 8;
        len -= 8;
    }
    w = 0;
    if (len > 0) {
        memcpy(&w, s, len);
    }
    h = (h ^ hash_mix(w ^ len)) * 0x9e3779b97f4a7c15ULL;
    return hash_mix(h);
}

#endif /* GWLOG_HASH_H */
