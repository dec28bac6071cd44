/* dims_cache.h - The local cache of a dimension table that lives in Redis.
 *
 * A hash map from an encoded key (the key columns joined by 0x1F) to a row
 * state: found (with its provided values), known missing (negative
 * caching), or requested and not answered yet (pending).  Found rows
 * expire after the table's ttl, missing ones after its negative_ttl; an
 * expired row is still returned (flagged) so that the caller may serve it
 * while Redis cannot be reached.  With lru set, a lookup moves the row to
 * the front and an insert beyond max_rows evicts the least recently used
 * row; without it the map is a plain table (policy "all").
 *
 * Not thread-safe: a cache belongs to one thread at a time (the Redis
 * resolver builds "all" snapshots, then hands them to the ingest side).
 */

#ifndef GWLOG_DIMS_CACHE_H
#define GWLOG_DIMS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strv.h"


/* Types */

typedef struct dcache dcache_t;     /* opaque */

typedef enum {
    DCACHE_ABSENT = 0,
    DCACHE_FOUND,
    DCACHE_MISSING,                 /* negative entry */
    DCACHE_PENDING                  /* requested, no answer yet */
} dcache_state_t;

typedef struct {
    dcache_state_t   state;
    const strv_t    *cols;          /* FOUND: ncols values, valid until the
                                     * row is replaced, evicted or cleared */
    uint64_t         seq;           /* PENDING: request sequence number */
    double           since;         /* PENDING: when it was requested */
    int              expired;       /* FOUND/MISSING: past its expiry */
} dcache_row_t;


/* Macros */

#define DCACHE_SEP      '\x1f'      /* between key columns and values */


/* Prototypes */

/* Creates a cache of rows with ncols provided values.  lru: evict beyond
 * max_rows (0: unbounded, no LRU order).  NULL on allocation failure. */
dcache_t *dcache_create(size_t ncols, size_t max_rows, int lru);

void dcache_destroy(dcache_t *c);

/* Looks key up at time now; fills *row (state ABSENT when not there). */
dcache_state_t dcache_get(dcache_t *c, const char *key, size_t klen,
    double now, dcache_row_t *row);

/* Inserts or replaces key: found with cols (ncols values, copied) or, cols
 * NULL, missing; it expires at time expires.  Returns 0 or -1 (memory). */
int dcache_put(dcache_t *c, const char *key, size_t klen, const strv_t *cols,
    double expires);

/* Marks key as requested with sequence number seq at time now; a found
 * or missing row of that key becomes pending (its values are dropped).
 * Returns 0 or -1 (memory). */
int dcache_put_pending(dcache_t *c, const char *key, size_t klen,
    uint64_t seq, double now);

/* Removes key if present. */
void dcache_del(dcache_t *c, const char *key, size_t klen);

/* Removes every row. */
void dcache_clear(dcache_t *c);

/* Rows held (found, missing and pending) and evictions so far. */
size_t dcache_size(const dcache_t *c);
uint64_t dcache_evictions(const dcache_t *c);

/* Encodes keys[0..n) into out (cap bytes), joined by DCACHE_SEP.  Returns
 * the length, or (size_t) -1 when out is too small. */
size_t dcache_encode(const strv_t *keys, size_t n, char *out, size_t cap);

/* Splits s on DCACHE_SEP into at most n views (missing ones are empty).
 * Returns how many fields s had. */
size_t dcache_split(const char *s, size_t len, strv_t *out, size_t n);

#endif /* GWLOG_DIMS_CACHE_H */
