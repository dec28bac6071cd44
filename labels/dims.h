/* dims.h - Dimension tables: key variables -> extra label values.
 *
 * Two backends behind one interface:
 *
 * - CSV (the default): reads DIR/NAME.csv for every table of the config
 *   (header row first, RFC 4180 quoting, CRLF accepted) and reloads a file
 *   when its size, mtime or inode changes.  A table that cannot be read,
 *   or a reload that fails, keeps the rows it had; a missing file is an
 *   empty table.  Every lookup is answered at once.
 *
 * - Redis (dims_create_redis(), labels/dims_redis.c): tables shared by a
 *   fleet of exporters, cached locally per table ("all" or "lru").  A
 *   lookup never waits on the network: a key the cache cannot answer is
 *   requested from a background thread and dims_get() returns
 *   DIMS_PENDING with a sequence number; once dims_answered() reaches it
 *   (after dims_sync()), the same lookup answers from the cache.
 *
 * Lookups, dims_sync() and reloads belong to the ingest side: whoever
 * holds the ingest lock (the tail thread, or the pipeline's thread that
 * counts lines that waited).  The other functions say where they may be
 * called from. */

#ifndef GWLOG_DIMS_H
#define GWLOG_DIMS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "labels/store.h"
#include "lib/buf.h"
#include "lib/strv.h"


/* Types */

typedef struct dims dims_t;     /* opaque */

typedef enum {
    DIMS_HIT = 0,                   /* *row holds the provided columns */
    DIMS_MISS,                      /* not in the table: use "missing" */
    DIMS_PENDING                    /* asked for; wait for *seq */
} dims_result_t;

/* How the last load of a table went (dims_state()). */
typedef enum {
    DIMS_LOADED = 0,                /* loaded (or not read: no directory) */
    DIMS_ABSENT,                    /* CSV: the file does not exist */
    DIMS_FAILED                     /* the last load failed: the previous
                                     * rows are kept */
} dims_state_t;


/* Macros */

#define DIMS_NOCOUNT    0x01        /* a replay: not a new lookup */


/* Prototypes */

/* Creates the tables of cfg (which must outlive the result) reading from
 * dir; dir NULL means every lookup misses.  Loads every file once.
 * Returns NULL on allocation failure.  Free with dims_destroy(). */
dims_t *dims_create(const cfg_t *cfg, const char *dir);

void dims_destroy(dims_t *d);

/* Reloads the files that changed; returns how many were reloaded. */
int dims_reload_if_changed(dims_t *d);

/* Returns the row of table t for the key values (one per key column):
 * the provided columns in config order, valid until the next reload; or
 * NULL on a miss. */
const strv_t *dims_lookup(dims_t *d, size_t t, const strv_t *keys);

/* Rows in table t, lookups and hits so far (for self-metrics; may be
 * read from another thread, values are then approximate). */
size_t dims_entries(const dims_t *d, size_t t);
uint64_t dims_loads(const dims_t *d, size_t t);

/* How the last load of table t went, for the status page; any thread.
 * The Redis backend answers DIMS_LOADED (its failures are Redis's:
 * gwlog_dim_redis_up, gwlog_dim_redis_errors_total). */
dims_state_t dims_state(const dims_t *d, size_t t);

/* Creates the Redis backend for cfg's tables (cfg->redis; addr, when not
 * NULL, "HOST:PORT" or a unix socket path, replaces its addresses) and
 * starts its resolver thread.  Redis being down is not an error: lookups
 * answer "missing" until it is back.  NULL on allocation failure. */
dims_t *dims_create_redis(const cfg_t *cfg, const char *addr);

/* Looks up table t (either backend): DIMS_HIT with *row (valid until the
 * next dims_sync() or reload), DIMS_MISS, or DIMS_PENDING with *seq, the
 * answer to wait for.  flags: DIMS_NOCOUNT. */
dims_result_t dims_get(dims_t *d, size_t t, const strv_t *keys,
    unsigned flags, const strv_t **row, uint64_t *seq);

/* 1 when lookups may return DIMS_PENDING (the Redis backend). */
int dims_async(const dims_t *d);

/* Applies the answers received since the last call to the caches;
 * returns the sequence number answered so far.  Cheap when nothing
 * arrived. */
uint64_t dims_sync(dims_t *d);

/* 1 when answers wait for dims_sync(); any thread. */
int dims_has_news(dims_t *d);

/* Waits up to timeout seconds for answers (or dims_wake()); any thread
 * that does not hold the ingest lock, or the ingest side in --one-shot. */
void dims_wait(dims_t *d, double timeout);
void dims_wake(dims_t *d);

/* Waits (at most timeout seconds) until every "all" table has been
 * loaded once or its load failed; for --one-shot. */
void dims_wait_loaded(dims_t *d, double timeout);

/* The bounded wait of a line (Redis "wait"), and the bytes of lines that
 * may wait at once (max_pending_bytes). */
double dims_max_wait(const dims_t *d);
uint64_t dims_max_pending_bytes(const dims_t *d);

/* Lines waiting on an answer, for gwlog_dim_pending_lines. */
void dims_set_pending_lines(dims_t *d, uint64_t n);

/* Sets the gwlog_dim_* self-metrics in s, a store of collected families
 * (store.h): called by a collector, with s's lock held; any thread. */
void dims_collect(dims_t *d, store_t *s);

#endif /* GWLOG_DIMS_H */
