/* native.h - The native (sparse, exponential) buckets of one histogram
 * series, kept as prometheus/client_golang's histogram.go keeps them.
 *
 * At schema s, bucket k of the positive side holds the values v with
 * 2^((k-1)/2^s) < v <= 2^(k/2^s); the negative side mirrors it for -v;
 * the zero bucket holds |v| <= NATIVE_ZERO_THRESHOLD.  Only populated
 * buckets are stored (sorted index/count pairs, one block per series).
 * When a series holds more than max_buckets populated buckets (both
 * sides), its schema drops by one and neighbouring buckets merge in pairs
 * (client_golang's doubleBucketWidth()), down to NATIVE_SCHEMA_MIN, where
 * the count may stay above the cap: at schema -4 a side has at most 73
 * buckets (indexes -7..65 cover every double above the zero threshold,
 * and Inf), so a series never holds more than max(max_buckets, 146).
 *
 * Allocation: native_observe() and native_merge() abort when memory runs
 * out (lib/alloc.h), like the rest of counting.
 */

#ifndef GWLOG_NATIVE_H
#define GWLOG_NATIVE_H

#include <stddef.h>
#include <stdint.h>


/* Types */

typedef struct native native_t;                 /* opaque */

typedef struct {
    int32_t              index;
    uint64_t             count;
} native_bucket_t;


/* Macros */

#define NATIVE_SCHEMA_MIN           (-4)
#define NATIVE_SCHEMA_MAX           8
#define NATIVE_ZERO_THRESHOLD       0x1p-128    /* client_golang's
                                                 * DefNativeHistogramZeroThreshold */
#define NATIVE_DEFAULT_MAX_BUCKETS  160


/* Prototypes */

/* client_golang's pickSchema(): the largest schema whose bucket growth
 * 2^(2^-schema) is at most factor, clamped to -4..8.  factor > 1. */
int native_schema_for_factor(double factor);

/* The index of the bucket holding |v| at schema (-4..8), computed as
 * client_golang does from frexp() and its table of boundaries: exact
 * powers of two are upper bounds (2 is the last value of bucket 2^s).
 * v is not zero nor NaN; an infinite v is one bucket above DBL_MAX's. */
int native_key(double v, int schema);

/* Counts v into *n, created at schema when *n is NULL (*n may move: it
 * is owned by the caller, free it with native_free()).  NaN is not
 * counted (client_golang does the same).  max_buckets 0: no cap. */
void native_observe(native_t **n, double v, int schema,
    uint32_t max_buckets);

/* Adds every count of src to *dst (created at schema when NULL), at the
 * lower of the two schemas, then applies the cap. */
void native_merge(native_t **dst, const native_t *src, int schema,
    uint32_t max_buckets);

void native_free(native_t *n);

/* A copy of n into dst, which has native_size(n) bytes and the
 * alignment of malloc().  The copy is owned by whoever owns dst and must
 * not be given to native_observe(), native_merge() or native_free(). */
size_t native_size(const native_t *n);
const native_t *native_copy(void *dst, const native_t *n);

int native_schema(const native_t *n);
uint64_t native_zero_count(const native_t *n);

/* The populated buckets of one side (negative: nonzero), ascending by
 * index; returns how many.  Valid until n changes. */
size_t native_buckets(const native_t *n, int negative,
    const native_bucket_t **b);

#endif /* GWLOG_NATIVE_H */
