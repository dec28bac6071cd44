/* dims_redis.h - The Redis backend of dims.h (internal: dims.c is its only
 * user).  See dims_redis.c for the schema, the threads and the races. */

#ifndef GWLOG_DIMS_REDIS_H
#define GWLOG_DIMS_REDIS_H

#include "labels/dims.h"


/* Types */

typedef struct dredis dredis_t;     /* opaque */


/* Prototypes */

/* Same contracts as the dims_* functions of the same names. */
dredis_t *dredis_create(const cfg_t *cfg, const char *addr);
void dredis_destroy(dredis_t *r);
dims_result_t dredis_get(dredis_t *r, size_t t, const strv_t *keys,
    unsigned flags, const strv_t **row, uint64_t *seq);
uint64_t dredis_sync(dredis_t *r);
int dredis_has_news(dredis_t *r);
void dredis_wait(dredis_t *r, double timeout);
void dredis_wake(dredis_t *r);
void dredis_wait_loaded(dredis_t *r, double timeout);
double dredis_max_wait(const dredis_t *r);
uint64_t dredis_max_pending_bytes(const dredis_t *r);
void dredis_set_pending_lines(dredis_t *r, uint64_t n);
size_t dredis_entries(const dredis_t *r, size_t t);
/* Sets the backend's values of the gwlog_dim_* families (dims_collect()
 * adds the shared ones) and adds its own; the store lock is held. */
void dredis_collect(dredis_t *r, store_t *s, store_family_t *lookups,
    store_family_t *entries, store_family_t *refresh);

#endif /* GWLOG_DIMS_REDIS_H */
