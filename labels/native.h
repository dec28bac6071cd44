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
 * and Inf).  One halving per new bucket may merge nothing (buckets two
 * apart), so a series d schemas below its family's start holds at most
 * cap + d buckets, or 146 at schema -4 (native_held_max()).
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

/* A series built from saved buckets: schema, zero count, then b[0 ..
 * nneg) the negative side and b[nneg .. nneg + npos) the positive one,
 * each strictly ascending by index, counts > 0, indexes within
 * native_index_range() (the caller checked all of it).  Owned by the
 * caller (native_free()); NULL when memory runs out. */
native_t *native_build(int schema, uint64_t zero, const native_bucket_t *b,
    size_t nneg, size_t npos);

/* A copy of n as it is (schema and buckets), owned by the caller
 * (native_free()).  Aborts when memory runs out, like native_merge(). */
native_t *native_dup(const native_t *n);

/* The lowest and highest index a side can hold at schema: the bucket of
 * the smallest double above NATIVE_ZERO_THRESHOLD and the one of Inf. */
void native_index_range(int schema, int32_t *lo, int32_t *hi);

/* The most buckets (both sides) a series of a family starting at
 * start_schema with cap max_buckets (0: none) can hold at schema <=
 * start_schema: each halving is forced by one new bucket, so cap +
 * (start_schema - schema), and at NATIVE_SCHEMA_MIN up to both sides'
 * ranges; never more than both ranges at schema. */
size_t native_held_max(int schema, int start_schema, uint32_t max_buckets);

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
