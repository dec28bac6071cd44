/* dims_internal.h - The interface every dimension backend implements
 * (internal to labels/: dims.c is the front end that calls it).
 *
 * Like hiredis' adapters or redis' ae_epoll.c: a backend is a constructor
 * plus one table of functions taking its own object as void *.  An entry
 * left NULL means the backend has nothing to do there; the front end then
 * answers for it (the defaults are written beside each entry). */

#ifndef GWLOG_DIMS_INTERNAL_H
#define GWLOG_DIMS_INTERNAL_H

#include "labels/dims.h"
#include "labels/store.h"


/* Types */

typedef struct {
    const char      *name;                  /* "csv", "redis" */

    /* 1 when get() may answer DIMS_PENDING. */
    int              async;

    void           (*destroy)(void *b);

    /* dims_get(): required. */
    dims_result_t  (*get)(void *b, size_t t, const strv_t *keys,
                          unsigned flags, const strv_t **row, uint64_t *seq);

    /* dims_lookup(), a lookup that counts nothing: NULL answers NULL. */
    const strv_t  *(*lookup)(void *b, size_t t, const strv_t *keys);

    /* dims_reload_if_changed(): NULL reloads nothing (0). */
    int            (*reload)(void *b);

    /* dims_sync(), dims_has_news(): NULL answers 0. */
    uint64_t       (*sync)(void *b);
    int            (*has_news)(void *b);

    /* dims_wait(): NULL sleeps timeout; dims_wake(), dims_wait_loaded():
     * NULL does nothing. */
    void           (*wait)(void *b, double timeout);
    void           (*wake)(void *b);
    void           (*wait_loaded)(void *b, double timeout);

    /* dims_max_wait(), dims_max_pending_bytes(): NULL answers 0;
     * dims_set_pending_lines(): NULL ignores it. */
    double         (*max_wait)(const void *b);
    uint64_t       (*max_pending_bytes)(const void *b);
    void           (*set_pending_lines)(void *b, uint64_t n);

    /* dims_entries(): required; dims_loads(): NULL answers 0. */
    size_t         (*entries)(const void *b, size_t t);
    uint64_t       (*loads)(const void *b, size_t t);

    /* dims_state(): NULL answers DIMS_LOADED. */
    dims_state_t   (*state)(const void *b, size_t t);

    /* dims_collect(): required; sets the gwlog_dim_* families in s (a
     * store of collected families, its lock held), getting the shared
     * ones with dims__families(). */
    void           (*collect)(void *b, store_t *s);
} dims_ops_t;


/* Prototypes */

/* The Redis backend (dims_redis.c): same contract as
 * dims_create_redis(); NULL on failure.  Free with dredis_ops.destroy. */
void *dredis_create(const cfg_t *cfg, const char *addr);

extern const dims_ops_t  dredis_ops;

/* Lookups of table t the CSV backend answered from the table's last
 * answer (0 for other backends); for tests, on the ingest side. */
uint64_t dims__last_hits(const dims_t *d, size_t t);

/* The families every backend sets (lookups by table and result, cache
 * entries and last refresh by table), found or added in s.  Returns 0, or
 * -1 when one could not be added. */
int dims__families(store_t *s, store_family_t **lookups,
    store_family_t **entries, store_family_t **refresh);

#endif /* GWLOG_DIMS_INTERNAL_H */
