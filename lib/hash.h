/* hash.h - Fast 64-bit hash for label values and dimension keys. */

#ifndef GWLOG_HASH_H
#define GWLOG_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/strv.h"


/* Prototypes */

/* hash_bytes() and hash_mix() are used for checkpoint fingerprints, so
 * their values must never change. */

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

/* Multiplies a by b into 128 bits and folds the halves together. */
static inline uint64_t
hash_mum(uint64_t a, uint64_t b)
{
    __uint128_t  r = (__uint128_t) a * b;

    return (uint64_t) r ^ (uint64_t) (r >> 64);
}


/* A cheaper hash for in-memory tables only (one 64x64->128 multiply per
 * 8 bytes, in the manner of wyhash): never persist it, its values may
 * change between versions.  hash_bytes() stays as it is, because
 * checkpoints store file fingerprints made with it. */
static inline uint64_t
hash_fast(const void *p, size_t len, uint64_t seed)
{
    const unsigned char  *s = p;
    uint64_t              h = seed ^ 0xa0761d6478bd642fULL, w, t;

    while (len > 8) {
        memcpy(&w, s, 8);
        h = hash_mum(w ^ 0xe7037ed1a0b428dbULL, h ^ 0x8ebc6af09c88c6e3ULL);
        s += 8;
        len -= 8;
    }
    w = 0;
    t = 0;
    if (len >= 4) {
        uint32_t  a, b;

        memcpy(&a, s, 4);
        memcpy(&b, s + len - 4, 4);
        w = a;
        t = b;
    } else if (len > 0) {
        w = ((uint64_t) s[0] << 16) | ((uint64_t) s[len >> 1] << 8)
            | s[len - 1];
    }
    return hash_mum(w ^ 0xe7037ed1a0b428dbULL ^ len,
                    (t << 32 | t >> 32) ^ h ^ 0x589965cc75374cc3ULL);
}


/* The hash of a label set, as the store indexes its series: each value
 * hashed alone with hash_fast() (one multiply per 8 bytes; values are
 * short), folded in order.  In-memory only, like hash_fast(). */
static inline uint64_t
hash_labels(const strv_t *v, size_t n)
{
    uint64_t  h = 0x13198a2e03707344ULL;
    size_t    i;

    for (i = 0; i < n; i++) {
        h = (h << 23 | h >> 41) ^ hash_fast(v[i].p, v[i].len, i);
    }
    return h;
}

#endif /* GWLOG_HASH_H */
