/* dims_redis_internal.h - The layout of the Redis dimension backend,
 * shared by its files (internal to labels/):
 *
 *   dims_redis.c           the ingest side (lookups, answers into the
 *                          caches), construction, the self-metrics; the
 *                          schema, threads and races are described there
 *   dims_redis_resolver.c  the resolver thread: queues, connections,
 *                          subscriber, batching of requests
 *   dims_redis_schema.c    the lookup script and its replies, whole-table
 *                          loads, versions and column maps
 */

#ifndef GWLOG_DIMS_REDIS_INTERNAL_H
#define GWLOG_DIMS_REDIS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "labels/dims_cache.h"
#include "labels/dims_internal.h"


/* Macros and types */

#define BATCH_MAX       500         /* keys per script call (Lua unpack) */
#define SCAN_COUNT      2000
#define BACKOFF_MIN     0.1
#define BACKOFF_MAX     2.0
#define CHECK_INTERVAL  5.0         /* GET current, in case of a lost message */
#define PENDING_STALE   5.0         /* a pending row older than this is asked
                                     * again */
#define MAX_COLS        64


enum { OP_CONNECT, OP_AUTH, OP_SELECT, OP_SCRIPT, OP_LOOKUP, OP_LOAD,
       OP_SUBSCRIBE, OP_VERSION, NOPS };


typedef enum { REQ_LOOKUP, REQ_LOAD } req_kind_t;

typedef struct req req_t;

struct req {
    req_t           *next;
    req_kind_t       kind;
    size_t           table;
    uint64_t         seq;
    size_t           klen;
    char             key[];
};

typedef enum { ANS_ROW, ANS_SNAPSHOT, ANS_VERSION, ANS_LOAD_FAILED } ans_kind_t;

typedef struct ans ans_t;

struct ans {
    ans_t           *next;
    ans_kind_t       kind;
    size_t           table;
    uint64_t         seq;           /* 0: nobody waits on it */
    uint64_t         version;
    int              found;         /* 1 found, 0 missing, -1 failed */
    dcache_t        *rows;          /* ANS_SNAPSHOT, owned */
    size_t           klen, vlen;
    char             data[];        /* key, then values joined by 0x1F */
};

typedef struct dredis dredis_t;

typedef struct {
    const cfg_dim_t *cfg;
    char            *kprefix;       /* PREFIX:TABLE */

    /* Ingest side. */
    dcache_t        *cache;         /* lru: the LRU; all: NULL until loaded */
    uint64_t         version;

    /* Resolver side. */
    uint64_t         r_version;
    int              r_known;       /* r_version was read at least once */
    int              colmap[MAX_COLS];
    uint64_t         colmap_version;
    int              colmap_valid;
    double           next_refresh;

    /* Shared. */
    _Atomic uint64_t hits, misses, neg_hits;
    _Atomic uint64_t entries;
    _Atomic double   last_refresh;
    _Atomic uint64_t load_seq;      /* all: the load lines wait on */
    _Atomic int      load_queued;   /* all: a LOAD is queued */
    _Atomic int      load_done;     /* all: first load finished or failed */
} rtable_t;

struct dredis {
    const cfg_t     *cfg;           /* not owned */
    const cfg_redis_t *rc;          /* not owned */
    rtable_t        *tables;
    size_t           ntables;
    char           **addrs;         /* "host:port" or "/socket", owned */
    size_t           naddrs;
    char            *channel;

    pthread_mutex_t  qlock;
    req_t           *qhead, *qtail;
    uint64_t         next_seq;
    int              efd;

    pthread_mutex_t  ilock;
    pthread_cond_t   icond;
    ans_t           *ihead, *itail;
    _Atomic int      news;
    uint64_t         synced_seq;    /* ingest side */

    _Atomic int      up;            /* -1 not tried yet, 0 down, 1 up */
    _Atomic uint64_t errors[NOPS];
    _Atomic uint64_t pending_lines;
    _Atomic int      stop;
    pthread_t        thread;
    int              running;

    /* Resolver side. */
    redisContext    *c, *sub;
    char             sha[48];
    const char      *c_addr;        /* address of c, not owned */
    double           backoff, next_connect, next_sub, next_check;
    int              down_logged;

    /* Ingest side scratch. */
    char            *kbuf;
    size_t           kcap;
};

/* Reads "current" and HMGETs the keys from that version in one step. */
extern const char  dredis__lookup_script[];
extern const char  *const dredis__op_names[NOPS];


/* Prototypes (each documented where it is defined) */

/* dims_redis_resolver.c */
void *dredis__resolver_main(void *arg);
uint64_t dredis__enqueue(dredis_t *r, req_kind_t kind, size_t t,
    const char *key, size_t klen);
ans_t *dredis__ans_new(ans_kind_t kind, size_t t, uint64_t seq,
    const char *key, size_t klen, const char *val, size_t vlen);
void dredis__deliver(dredis_t *r, ans_t *list);
void dredis__disconnect(dredis_t *r);
void dredis__set_up(dredis_t *r, int up, const char *why);
void dredis__count_error(dredis_t *r, int op);

/* dims_redis_schema.c */
int dredis__lookup_chunk(dredis_t *r, req_t **chunk, size_t n,
    ans_t **answers);
int dredis__load_table(dredis_t *r, size_t t, uint64_t seq);
void dredis__check_versions(dredis_t *r);
void dredis__new_version(dredis_t *r, size_t t, uint64_t v);
int dredis__update_colmap(dredis_t *r, rtable_t *rt, uint64_t version,
    const char *cols, size_t len);
size_t dredis__map_values(rtable_t *rt, const char *v, size_t len,
    strv_t *out);

#endif /* GWLOG_DIMS_REDIS_INTERNAL_H */
