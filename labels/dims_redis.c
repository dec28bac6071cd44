/* dims_redis.c - Dimension tables shared through Redis, cached locally.
 *
 * Schema (PREFIX is dimensions.redis.prefix, "gwlog:dim" by default; see
 * also tools/dimload.c, which writes it):
 *
 *   PREFIX:TABLE:seq            INCR counter handing out version numbers
 *   PREFIX:TABLE:current        string: the version readers use
 *   PREFIX:TABLE:vN             hash: key -> value of version N, where key
 *                               is the key columns joined by 0x1F and value
 *                               the other columns, joined by 0x1F
 *   PREFIX:TABLE:vN:meta        hash: key_columns, columns (0x1F-joined
 *                               header names), rows, loaded_at, source
 *   PREFIX:invalidate           pub/sub channel: "TABLE N" after a flip
 *
 * A loader writes vN completely, then flips "current" to N and publishes in
 * one MULTI/EXEC, then deletes the old version.  A lookup is one Lua script
 * that reads "current" and HMGETs from that version atomically, and returns
 * the version with the values, so a reader never mixes two versions.
 *
 * Threads.  The ingest side (whoever holds the store lock) owns the
 * caches: dredis_get() and dredis_sync().  One resolver thread owns the
 * two connections (commands, and a subscriber for invalidations).  They
 * talk through two queues, each under its own mutex:
 *
 *   requests (ingest -> resolver): LOOKUP(table, key) or LOAD(table), each
 *     with a sequence number, in order; an eventfd wakes the resolver;
 *   answers (resolver -> ingest): rows, snapshots, new versions, failures,
 *     delivered in request order, so "answered up to seq S" is one number.
 *
 * Races, as numbered scenarios:
 *
 *   1. A table is reloaded while lookups are in flight: the script returns
 *      the version it read; answers carry it; the resolver announces every
 *      change of version (seen in an answer, a message, or the periodic
 *      GET of "current" that covers a missed message) before the answers
 *      of that version; the ingest side then clears an "lru" cache and
 *      drops answers of any other version.
 *   2. A cleared or evicted pending row: its answer is inserted anyway
 *      (or dropped when stale); a lookup that finds a pending row whose
 *      sequence number was already answered asks again, so no line waits
 *      on an answer that cannot come.
 *   3. Redis dies with requests queued: a command error retries the batch
 *      on a new connection up to max_retries; when no address answers,
 *      every queued request is failed at once and "up" drops to 0, so
 *      lookups answer "missing" without waiting (rows already cached,
 *      even expired, keep being served) until a reconnect succeeds.
 *   4. An "all" table being scanned while a loader flips it: "current" is
 *      read again after the scan, which is restarted when it changed.
 */

#define _GNU_SOURCE

#include "labels/dims_redis.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "labels/dims_cache.h"
#include "lib/clock.h"
#include "lib/log.h"


#define BATCH_MAX       500         /* keys per script call (Lua unpack) */
#define SCAN_COUNT      2000
#define BACKOFF_MIN     0.1
#define BACKOFF_MAX     2.0
#define CHECK_INTERVAL  5.0         /* GET current, in case of a lost message */
#define PENDING_STALE   5.0         /* a pending row older than this is asked
                                     * again */
#define MAX_COLS        64

/* Reads "current" and HMGETs the keys from that version in one step. */
static const char  lookup_script[] =
    "local v = redis.call('GET', KEYS[1] .. ':current')\n"
    "if not v then return {false, false, {}} end\n"
    "local h = KEYS[1] .. ':v' .. v\n"
    "local cols = redis.call('HGET', h .. ':meta', 'columns')\n"
    "return {v, cols, redis.call('HMGET', h, unpack(ARGV))}\n";

enum { OP_CONNECT, OP_AUTH, OP_SELECT, OP_SCRIPT, OP_LOOKUP, OP_LOAD,
       OP_SUBSCRIBE, OP_VERSION, NOPS };

static const char  *op_names[NOPS] = { "connect", "auth", "select", "script",
    "lookup", "load", "subscribe", "version" };

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


static void *resolver_main(void *arg);
static uint64_t enqueue(dredis_t *r, req_kind_t kind, size_t t,
    const char *key, size_t klen);
static void deliver(dredis_t *r, ans_t *list);
static ans_t *ans_new(ans_kind_t kind, size_t t, uint64_t seq,
    const char *key, size_t klen, const char *val, size_t vlen);
static int connect_cmd(dredis_t *r);
static redisContext *connect_one(dredis_t *r, const char *addr, char *err,
    size_t errlen, int *op);
static void disconnect(dredis_t *r);
static void process(dredis_t *r, req_t *list);
static int lookup_chunk(dredis_t *r, req_t **chunk, size_t n,
    ans_t **answers);
static int load_table(dredis_t *r, size_t t, uint64_t seq);
static int update_colmap(dredis_t *r, rtable_t *rt, uint64_t version,
    const char *cols, size_t len);
static size_t map_values(rtable_t *rt, const char *v, size_t len,
    strv_t *out);
static void new_version(dredis_t *r, size_t t, uint64_t v);
static void check_versions(dredis_t *r);
static void read_sub(dredis_t *r);
static void fail_all(dredis_t *r, req_t *list);
static void set_up(dredis_t *r, int up, const char *why);
static void count_error(dredis_t *r, int op);


dredis_t *
dredis_create(const cfg_t *cfg, const char *addr)
{
    dredis_t  *r;
    rtable_t  *rt;
    size_t     i, n;
    const char *prefix;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->cfg = cfg;
    r->rc = &cfg->redis;
    r->efd = -1;
    pthread_mutex_init(&r->qlock, NULL);
    pthread_mutex_init(&r->ilock, NULL);
    pthread_cond_init(&r->icond, NULL);
    atomic_store(&r->up, -1);
    r->backoff = BACKOFF_MIN;

    /* Addresses: the unix socket first, then the list in order. */
    r->addrs = calloc(cfg->redis.naddresses + 2, sizeof(char *));
    if (r->addrs == NULL) {
        goto err;
    }
    if (addr != NULL) {
        r->addrs[r->naddrs++] = strdup(addr);
    } else {
        if (cfg->redis.unix_socket != NULL) {
            r->addrs[r->naddrs++] = strdup(cfg->redis.unix_socket);
        }
        for (i = 0; i < cfg->redis.naddresses; i++) {
            r->addrs[r->naddrs++] = strdup(cfg->redis.addresses[i]);
        }
    }
    for (i = 0; i < r->naddrs; i++) {
        if (r->addrs[i] == NULL) {
            goto err;
        }
    }

    prefix = cfg->redis.prefix ? cfg->redis.prefix : CFG_DEFAULT_REDIS_PREFIX;
    n = strlen(prefix) + sizeof(":invalidate");
    r->channel = malloc(n);
    if (r->channel == NULL) {
        goto err;
    }
    snprintf(r->channel, n, "%s:invalidate", prefix);

    r->ntables = cfg->ndims;
    r->tables = calloc(cfg->ndims + 1, sizeof(rtable_t));
    if (r->tables == NULL) {
        goto err;
    }
    for (i = 0; i < cfg->ndims; i++) {
        rt = &r->tables[i];
        rt->cfg = &cfg->dims[i];
        if (rt->cfg->nprovides > MAX_COLS) {
            log_error("dimension table %s: more than %d columns",
                      rt->cfg->name, MAX_COLS);
            goto err;
        }
        n = strlen(prefix) + strlen(rt->cfg->name) + 2;
        rt->kprefix = malloc(n);
        if (rt->kprefix == NULL) {
            goto err;
        }
        snprintf(rt->kprefix, n, "%s:%s", prefix, rt->cfg->name);
        if (rt->cfg->cache.policy == CFG_CACHE_LRU) {
            rt->cache = dcache_create(rt->cfg->nprovides,
                                      (size_t) rt->cfg->cache.max_rows, 1);
            if (rt->cache == NULL) {
                goto err;
            }
        } else {
            /* The first load; lines wait on it like on a lookup. */
            atomic_store(&rt->load_queued, 1);
            atomic_store(&rt->load_seq, enqueue(r, REQ_LOAD, i, NULL, 0));
        }
    }

    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0) {
        log_error("eventfd() failed: %s", strerror(errno));
        goto err;
    }
    if (r->naddrs == 0) {
        log_error("dimensions: the redis backend has no address");
        goto err;
    }
    if (pthread_create(&r->thread, NULL, resolver_main, r) != 0) {
        log_error("pthread_create() failed");
        goto err;
    }
    r->running = 1;
    return r;

err:
    dredis_destroy(r);
    return NULL;
}


void
dredis_destroy(dredis_t *r)
{
    req_t   *q, *qn;
    ans_t   *a, *an;
    size_t   i;

    if (r == NULL) {
        return;
    }
    if (r->running) {
        atomic_store(&r->stop, 1);
        dredis_wake(r);
        pthread_join(r->thread, NULL);
    }
    disconnect(r);
    for (q = r->qhead; q != NULL; q = qn) {
        qn = q->next;
        free(q);
    }
    for (a = r->ihead; a != NULL; a = an) {
        an = a->next;
        dcache_destroy(a->rows);
        free(a);
    }
    for (i = 0; r->tables && i < r->ntables; i++) {
        dcache_destroy(r->tables[i].cache);
        free(r->tables[i].kprefix);
    }
    for (i = 0; r->addrs && i < r->naddrs; i++) {
        free(r->addrs[i]);
    }
    if (r->efd >= 0) {
        close(r->efd);
    }
    pthread_mutex_destroy(&r->qlock);
    pthread_mutex_destroy(&r->ilock);
    pthread_cond_destroy(&r->icond);
    free(r->addrs);
    free(r->tables);
    free(r->channel);
    free(r->kbuf);
    free(r);
}


/* The ingest side's lookup: never waits.  See the scenarios at the top. */
dims_result_t
dredis_get(dredis_t *r, size_t t, const strv_t *keys, unsigned flags,
    const strv_t **row, uint64_t *seq)
{
    rtable_t          *rt = &r->tables[t];
    const cfg_dim_t   *c = rt->cfg;
    dcache_row_t       cr;
    dcache_state_t     st;
    dims_result_t      res = DIMS_MISS;
    size_t             need = 0, i, klen;
    double             now;
    int                up = atomic_load_explicit(&r->up,
                                                 memory_order_relaxed);
    int                neg = 0;

    *row = NULL;
    for (i = 0; i < c->nkeys; i++) {
        need += keys[i].len + 1;
    }
    if (need > r->kcap) {
        char  *nb = realloc(r->kbuf, need * 2);

        if (nb == NULL) {
            return DIMS_MISS;
        }
        r->kbuf = nb;
        r->kcap = need * 2;
    }
    klen = dcache_encode(keys, c->nkeys, r->kbuf, r->kcap);
    now = clock_mono_coarse();

    if (c->cache.policy == CFG_CACHE_ALL) {
        if (rt->cache != NULL) {
            if (dcache_get(rt->cache, r->kbuf, klen, now, &cr)
                == DCACHE_FOUND)
            {
                *row = cr.cols;
                res = DIMS_HIT;
            }
        } else if (up != 0 && atomic_load(&rt->load_seq) > r->synced_seq) {
            *seq = atomic_load(&rt->load_seq);
            res = DIMS_PENDING;
        }
        goto count;
    }

    st = dcache_get(rt->cache, r->kbuf, klen, now, &cr);
    switch (st) {
    case DCACHE_FOUND:
        if (!cr.expired || up != 1) {
            *row = cr.cols;
            res = DIMS_HIT;
            goto count;
        }
        break;
    case DCACHE_MISSING:
        if (!cr.expired || up != 1) {
            neg = 1;
            goto count;
        }
        break;
    case DCACHE_PENDING:
        if (cr.seq > r->synced_seq && now - cr.since < PENDING_STALE) {
            *seq = cr.seq;
            res = DIMS_PENDING;
            goto count;
        }
        break;
    default:
        break;
    }
    if (up == 0) {
        goto count;                         /* down: answer at once */
    }
    *seq = enqueue(r, REQ_LOOKUP, t, r->kbuf, klen);
    if (*seq == 0 || dcache_put_pending(rt->cache, r->kbuf, klen, *seq, now)
                     != 0)
    {
        goto count;
    }
    atomic_store_explicit(&rt->entries, dcache_size(rt->cache),
                          memory_order_relaxed);
    res = DIMS_PENDING;

count:
    if (!(flags & DIMS_NOCOUNT)) {
        if (res == DIMS_HIT) {
            atomic_fetch_add_explicit(&rt->hits, 1, memory_order_relaxed);
        } else if (neg) {
            atomic_fetch_add_explicit(&rt->neg_hits, 1, memory_order_relaxed);
        } else {
            atomic_fetch_add_explicit(&rt->misses, 1, memory_order_relaxed);
        }
    }
    return res;
}


/* Applies the answers to the caches, in order. */
uint64_t
dredis_sync(dredis_t *r)
{
    ans_t         *a, *next;
    rtable_t      *rt;
    strv_t         cols[MAX_COLS];
    dcache_row_t   cr;
    double         now;

    if (!atomic_load_explicit(&r->news, memory_order_acquire)) {
        return r->synced_seq;
    }
    pthread_mutex_lock(&r->ilock);
    a = r->ihead;
    r->ihead = r->itail = NULL;
    atomic_store(&r->news, 0);
    pthread_mutex_unlock(&r->ilock);

    now = clock_mono_coarse();
    for (; a != NULL; a = next) {
        next = a->next;
        rt = &r->tables[a->table];
        switch (a->kind) {
        case ANS_VERSION:
            if (a->version != rt->version && rt->cache != NULL
                && rt->cfg->cache.policy == CFG_CACHE_LRU)
            {
                dcache_clear(rt->cache);
            }
            rt->version = a->version;
            break;
        case ANS_ROW:
            if (a->found < 0) {
                /* Failed: forget the request, a later lookup asks again. */
                if (dcache_get(rt->cache, a->data, a->klen, now, &cr)
                        == DCACHE_PENDING && cr.seq == a->seq)
                {
                    dcache_del(rt->cache, a->data, a->klen);
                }
                break;
            }
            if (a->version != rt->version) {
                /* Scenario 1: stale.  The resolver sends ANS_VERSION
                 * before the first answer of a new version, so any other
                 * version is an older one (versions may also restart from
                 * 1 after a Redis that lost its data). */
                break;
            }
            if (a->found == 1) {
                dcache_split(a->data + a->klen, a->vlen, cols,
                             rt->cfg->nprovides);
                dcache_put(rt->cache, a->data, a->klen, cols,
                           now + rt->cfg->cache.ttl);
            } else {
                dcache_put(rt->cache, a->data, a->klen, NULL,
                           now + rt->cfg->cache.negative_ttl);
            }
            break;
        case ANS_SNAPSHOT:
            dcache_destroy(rt->cache);
            rt->cache = a->rows;
            a->rows = NULL;
            rt->version = a->version;
            break;
        default:
            break;
        }
        if (rt->cache != NULL) {
            atomic_store_explicit(&rt->entries, dcache_size(rt->cache),
                                  memory_order_relaxed);
        }
        if (a->seq > r->synced_seq) {
            r->synced_seq = a->seq;
        }
        dcache_destroy(a->rows);
        free(a);
    }
    return r->synced_seq;
}


int
dredis_has_news(dredis_t *r)
{
    return atomic_load_explicit(&r->news, memory_order_relaxed);
}


void
dredis_wait(dredis_t *r, double timeout)
{
    struct timespec  ts;
    double           until;

    clock_gettime(CLOCK_REALTIME, &ts);
    until = (double) ts.tv_sec + ts.tv_nsec / 1e9 + timeout;
    ts.tv_sec = (time_t) until;
    ts.tv_nsec = (long) ((until - (double) ts.tv_sec) * 1e9);
    pthread_mutex_lock(&r->ilock);
    if (!atomic_load(&r->news) && !atomic_load(&r->stop)) {
        pthread_cond_timedwait(&r->icond, &r->ilock, &ts);
    }
    pthread_mutex_unlock(&r->ilock);
}


void
dredis_wake(dredis_t *r)
{
    uint64_t  one = 1;

    pthread_mutex_lock(&r->ilock);
    pthread_cond_broadcast(&r->icond);
    pthread_mutex_unlock(&r->ilock);
    if (r->efd >= 0 && write(r->efd, &one, sizeof(one)) < 0) {
        /* Already signalled (EAGAIN): the resolver wakes anyway. */
    }
}


void
dredis_wait_loaded(dredis_t *r, double timeout)
{
    double  until = clock_mono() + timeout;
    size_t  i;
    int     done;

    do {
        done = 1;
        for (i = 0; i < r->ntables; i++) {
            if (r->tables[i].cfg->cache.policy == CFG_CACHE_ALL
                && !atomic_load(&r->tables[i].load_done))
            {
                done = 0;
            }
        }
        if (done) {
            return;
        }
        dredis_wait(r, 0.02);
    } while (clock_mono() < until);
}


double
dredis_max_wait(const dredis_t *r)
{
    return r->rc->max_wait > 0 ? r->rc->max_wait : CFG_DEFAULT_REDIS_WAIT;
}


uint64_t
dredis_max_pending_bytes(const dredis_t *r)
{
    return r->rc->max_pending_bytes ? r->rc->max_pending_bytes
                                    : CFG_DEFAULT_REDIS_PENDING;
}


void
dredis_set_pending_lines(dredis_t *r, uint64_t n)
{
    atomic_store_explicit(&r->pending_lines, n, memory_order_relaxed);
}


size_t
dredis_entries(const dredis_t *r, size_t t)
{
    return (size_t) atomic_load_explicit(&r->tables[t].entries,
                                         memory_order_relaxed);
}


void
dredis_collect(dredis_t *r, store_t *s, store_family_t *lookups,
    store_family_t *entries, store_family_t *refresh)
{
    static const char *const  results[] = { "hit", "miss", "negative_hit" };
    static const char *const  op[] = { "op" };
    store_family_t           *errors, *up, *pending;
    rtable_t                 *rt;
    const char               *v[2];
    uint64_t                  n;
    size_t                    i, k;
    double                    ts;

    for (i = 0; i < r->ntables; i++) {
        rt = &r->tables[i];
        v[0] = rt->cfg->name;
        for (k = 0; k < 3; k++) {
            n = k == 0 ? atomic_load(&rt->hits)
                : k == 1 ? atomic_load(&rt->misses)
                : atomic_load(&rt->neg_hits);
            v[1] = results[k];
            store_set(lookups, store_series_str(lookups, v), (double) n);
        }
        store_set(entries, store_series_str(entries, v),
                  (double) atomic_load(&rt->entries));
        ts = atomic_load(&rt->last_refresh);
        if (ts > 0) {
            store_set(refresh, store_series_str(refresh, v), ts);
        }
    }
    errors = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_dim_redis_errors_total", .type = STORE_COUNTER,
        .help = "Failed Redis operations, by operation.",
        .labels = op, .nlabels = 1 });
    for (k = 0; errors != NULL && k < NOPS; k++) {
        store_set(errors, store_series_str(errors, &op_names[k]),
                  (double) atomic_load(&r->errors[k]));
    }
    up = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_dim_redis_up", .type = STORE_GAUGE,
        .help = "1 when the dimension Redis answers, else 0." });
    if (up != NULL) {
        store_set(up, store_series(up, NULL), atomic_load(&r->up) == 1);
    }
    pending = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_dim_pending_lines", .type = STORE_GAUGE,
        .help = "Lines waiting for a dimension lookup to be answered." });
    if (pending != NULL) {
        store_set(pending, store_series(pending, NULL),
                  (double) atomic_load(&r->pending_lines));
    }
}


/* Resolver thread. */

static void *
resolver_main(void *arg)
{
    dredis_t       *r = arg;
    struct pollfd   pfd[2];
    req_t          *list;
    uint64_t        junk;
    double          now, timeout;
    size_t          i;
    int             n;

    while (!atomic_load(&r->stop)) {
        now = clock_mono();
        if (r->c == NULL && now >= r->next_connect) {
            if (connect_cmd(r) != 0) {
                r->next_connect = now + r->backoff;
                r->backoff = fmin(r->backoff * 2, BACKOFF_MAX);
            }
        }
        if (r->c != NULL && r->sub == NULL && now >= r->next_sub) {
            char  err[256];
            int   op = OP_SUBSCRIBE;

            r->sub = connect_one(r, r->c_addr, err, sizeof(err), &op);
            if (r->sub != NULL) {
                redisReply  *rep = redisCommand(r->sub, "SUBSCRIBE %s",
                                                r->channel);

                if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
                    log_warn("redis %s: SUBSCRIBE failed: %s", r->c_addr,
                             rep ? rep->str : r->sub->errstr);
                    count_error(r, OP_SUBSCRIBE);
                    redisFree(r->sub);
                    r->sub = NULL;
                }
                if (rep != NULL) {
                    freeReplyObject(rep);
                }
            } else {
                count_error(r, op);
            }
            if (r->sub == NULL) {
                r->next_sub = now + 1.0;
            } else {
                r->next_check = 0;          /* messages may have been lost */
            }
        }
        if (r->c != NULL) {
            for (i = 0; i < r->ntables; i++) {
                rtable_t  *rt = &r->tables[i];

                if (rt->cfg->cache.policy == CFG_CACHE_ALL
                    && rt->next_refresh > 0 && now >= rt->next_refresh
                    && !atomic_exchange(&rt->load_queued, 1))
                {
                    rt->next_refresh = 0;
                    atomic_store(&rt->load_seq,
                                 enqueue(r, REQ_LOAD, i, NULL, 0));
                }
            }
            if (now >= r->next_check) {
                r->next_check = now + CHECK_INTERVAL;
                check_versions(r);
            }
        }

        pthread_mutex_lock(&r->qlock);
        list = r->qhead;
        r->qhead = r->qtail = NULL;
        pthread_mutex_unlock(&r->qlock);
        if (list != NULL) {
            if (r->c != NULL) {
                process(r, list);
            } else {
                fail_all(r, list);
            }
            continue;
        }

        timeout = 0.1;
        if (r->c == NULL) {
            timeout = fmax(0.001, fmin(timeout,
                                       r->next_connect - clock_mono()));
        }
        pfd[0].fd = r->efd;
        pfd[0].events = POLLIN;
        pfd[1].fd = r->sub != NULL ? r->sub->fd : -1;
        pfd[1].events = POLLIN;
        n = poll(pfd, 2, (int) (timeout * 1000) + 1);
        if (n <= 0) {
            continue;
        }
        if (pfd[0].revents & POLLIN) {
            if (read(r->efd, &junk, sizeof(junk)) < 0) {
                /* EAGAIN: someone else read it. */
            }
        }
        if (r->sub != NULL && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            read_sub(r);
        }
    }
    return NULL;
}


/* Appends a request; returns its sequence number (0: out of memory). */
static uint64_t
enqueue(dredis_t *r, req_kind_t kind, size_t t, const char *key,
    size_t klen)
{
    req_t     *q;
    uint64_t   seq, one = 1;
    int        was_empty;

    q = malloc(sizeof(*q) + klen);
    if (q == NULL) {
        return 0;
    }
    q->next = NULL;
    q->kind = kind;
    q->table = t;
    q->klen = klen;
    if (klen > 0) {
        memcpy(q->key, key, klen);
    }
    pthread_mutex_lock(&r->qlock);
    seq = q->seq = ++r->next_seq;
    was_empty = r->qhead == NULL;
    if (r->qtail != NULL) {
        r->qtail->next = q;
    } else {
        r->qhead = q;
    }
    r->qtail = q;
    pthread_mutex_unlock(&r->qlock);
    if (was_empty && r->efd >= 0 && write(r->efd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero. */
    }
    return seq;
}


/* Hands a list of answers (in order) to the ingest side. */
static void
deliver(dredis_t *r, ans_t *list)
{
    ans_t  *last;

    if (list == NULL) {
        return;
    }
    for (last = list; last->next != NULL; last = last->next) {
        /* Find the end. */
    }
    pthread_mutex_lock(&r->ilock);
    if (r->itail != NULL) {
        r->itail->next = list;
    } else {
        r->ihead = list;
    }
    r->itail = last;
    atomic_store_explicit(&r->news, 1, memory_order_release);
    pthread_cond_broadcast(&r->icond);
    pthread_mutex_unlock(&r->ilock);
}


static ans_t *
ans_new(ans_kind_t kind, size_t t, uint64_t seq, const char *key,
    size_t klen, const char *val, size_t vlen)
{
    ans_t  *a;

    a = calloc(1, sizeof(*a) + klen + vlen + 1);
    if (a == NULL) {
        return NULL;
    }
    a->kind = kind;
    a->table = t;
    a->seq = seq;
    a->klen = klen;
    a->vlen = vlen;
    if (klen > 0) {
        memcpy(a->data, key, klen);
    }
    if (vlen > 0) {
        memcpy(a->data + klen, val, vlen);
    }
    return a;
}


/* Connects the command connection to the first address that answers,
 * authenticates, selects the db and loads the lookup script. */
static int
connect_cmd(dredis_t *r)
{
    redisReply  *rep;
    char         err[512], last[512] = "";
    size_t       i;
    int          op;

    for (i = 0; i < r->naddrs && r->c == NULL; i++) {
        op = OP_CONNECT;
        r->c = connect_one(r, r->addrs[i], err, sizeof(err), &op);
        if (r->c == NULL) {
            count_error(r, op);
            snprintf(last, sizeof(last), "%s", err);
            continue;
        }
        rep = redisCommand(r->c, "SCRIPT LOAD %s", lookup_script);
        if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
            snprintf(last, sizeof(last), "redis %s: SCRIPT LOAD failed: %s",
                     r->addrs[i], rep ? rep->str : r->c->errstr);
            count_error(r, OP_SCRIPT);
            if (rep != NULL) {
                freeReplyObject(rep);
            }
            redisFree(r->c);
            r->c = NULL;
            continue;
        }
        snprintf(r->sha, sizeof(r->sha), "%s", rep->str);
        freeReplyObject(rep);
        r->c_addr = r->addrs[i];
    }
    if (r->c == NULL) {
        set_up(r, 0, last);
        return -1;
    }
    r->backoff = BACKOFF_MIN;
    set_up(r, 1, r->c_addr);
    r->next_sub = 0;
    /* Whatever changed while we were away. */
    for (i = 0; i < r->ntables; i++) {
        r->tables[i].r_known = 0;
    }
    check_versions(r);
    return 0;
}


/* Connects to addr ("host:port" or a unix socket path), authenticates
 * and selects the db.  Returns NULL with a message in err and the failing
 * operation in *op. */
static redisContext *
connect_one(dredis_t *r, const char *addr, char *err, size_t errlen,
    int *op)
{
    const cfg_redis_t  *rc = r->rc;
    redisContext       *c;
    redisReply         *rep = NULL;
    struct timeval      tv;
    char                host[256];
    const char         *colon;
    double              t;

    t = rc->connect_timeout > 0 ? rc->connect_timeout
                                : CFG_DEFAULT_REDIS_CONNECT;
    tv.tv_sec = (time_t) t;
    tv.tv_usec = (suseconds_t) ((t - (double) tv.tv_sec) * 1e6);
    *op = OP_CONNECT;
    if (addr[0] == '/') {
        c = redisConnectUnixWithTimeout(addr, tv);
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)) {
            snprintf(err, errlen, "redis %s: not HOST:PORT", addr);
            return NULL;
        }
        memcpy(host, addr, (size_t) (colon - addr));
        host[colon - addr] = '\0';
        c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    }
    if (c == NULL || c->err) {
        snprintf(err, errlen, "redis %s: connect failed: %s", addr,
                 c ? c->errstr : "out of memory");
        goto err;
    }
    t = rc->command_timeout > 0 ? rc->command_timeout
                                : CFG_DEFAULT_REDIS_COMMAND;
    tv.tv_sec = (time_t) t;
    tv.tv_usec = (suseconds_t) ((t - (double) tv.tv_sec) * 1e6);
    redisSetTimeout(c, tv);
    if (addr[0] != '/') {
        redisEnableKeepAlive(c);
    }
    if (rc->password != NULL) {
        *op = OP_AUTH;
        rep = rc->username != NULL
              ? redisCommand(c, "AUTH %s %s", rc->username, rc->password)
              : redisCommand(c, "AUTH %s", rc->password);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "redis %s: AUTH%s%s failed: %s", addr,
                     rc->username ? " as " : "",
                     rc->username ? rc->username : "",
                     rep ? rep->str : c->errstr);
            goto err;
        }
        freeReplyObject(rep);
        rep = NULL;
    }
    *op = OP_SELECT;
    rep = redisCommand(c, "SELECT %" PRIu64, rc->db);
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis %s: SELECT %" PRIu64 " failed: %s",
                 addr, rc->db, rep ? rep->str : c->errstr);
        goto err;
    }
    freeReplyObject(rep);
    return c;

err:
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    if (c != NULL) {
        redisFree(c);
    }
    return NULL;
}


static void
disconnect(dredis_t *r)
{
    if (r->c != NULL) {
        redisFree(r->c);
        r->c = NULL;
    }
    if (r->sub != NULL) {
        redisFree(r->sub);
        r->sub = NULL;
    }
}


/* Runs the requests of list in order: LOADs one by one, LOOKUPs in
 * chunks of at most BATCH_MAX, each chunk one pipelined round trip.
 * A chunk that fails on a broken connection is retried on a new one up
 * to max_retries times (scenario 3). */
static void
process(dredis_t *r, req_t *list)
{
    req_t     *chunk[BATCH_MAX], *q;
    ans_t     *answers;
    size_t     n, i;
    uint64_t   tries, max_tries;
    int        rc;

    while (list != NULL) {
        if (r->c == NULL) {
            fail_all(r, list);
            return;
        }
        if (list->kind == REQ_LOAD) {
            q = list;
            list = list->next;
            atomic_store(&r->tables[q->table].load_queued, 0);
            for (tries = 0; ; tries++) {
                rc = load_table(r, q->table, q->seq);
                if (rc == 0 || r->c != NULL
                    || tries >= r->tables[q->table].cfg->cache.max_retries
                    || connect_cmd(r) != 0)
                {
                    break;
                }
            }
            if (rc != 0) {
                deliver(r, ans_new(ANS_LOAD_FAILED, q->table, q->seq, NULL,
                                   0, NULL, 0));
                atomic_store(&r->tables[q->table].load_done, 1);
            }
            free(q);
            continue;
        }
        n = 0;
        max_tries = 0;
        while (list != NULL && list->kind == REQ_LOOKUP && n < BATCH_MAX) {
            chunk[n++] = list;
            if (r->tables[list->table].cfg->cache.max_retries > max_tries) {
                max_tries = r->tables[list->table].cfg->cache.max_retries;
            }
            list = list->next;
        }
        for (tries = 0; ; tries++) {
            answers = NULL;
            rc = lookup_chunk(r, chunk, n, &answers);
            if (rc == 0 || tries >= max_tries || r->c != NULL
                || connect_cmd(r) != 0)
            {
                break;
            }
        }
        if (rc != 0) {
            ans_t  *a, *head = NULL, **tail = &head;

            for (a = answers; a != NULL; a = answers) {
                answers = a->next;
                free(a);
            }
            for (i = 0; i < n; i++) {
                a = ans_new(ANS_ROW, chunk[i]->table, chunk[i]->seq,
                            chunk[i]->key, chunk[i]->klen, NULL, 0);
                if (a != NULL) {
                    a->found = -1;
                    *tail = a;
                    tail = &a->next;
                }
            }
            answers = head;
        }
        deliver(r, answers);
        for (i = 0; i < n; i++) {
            free(chunk[i]);
        }
    }
}


/* One pipelined round trip for a chunk of lookups: one script call per
 * table present.  Returns 0 with *answers in chunk order, or -1 when the
 * connection broke (it is then closed). */
static int
lookup_chunk(dredis_t *r, req_t **chunk, size_t n, ans_t **answers)
{
    const char   *argv[BATCH_MAX + 4];
    size_t        argl[BATCH_MAX + 4];
    ans_t        *byreq[BATCH_MAX], **tail = answers;
    redisReply   *rep;
    rtable_t     *rt;
    size_t        t, i, k, ncalls = 0, nt, idx[BATCH_MAX];
    strv_t        vals[MAX_COLS];
    uint64_t      version;
    char          nkeys[] = "1", vbuf[4096];
    int           retried = 0;

again:
    memset(byreq, 0, sizeof(byreq));
    ncalls = 0;
    for (t = 0; t < r->ntables; t++) {
        nt = 0;
        for (i = 0; i < n; i++) {
            if (chunk[i]->table == t) {
                argv[4 + nt] = chunk[i]->key;
                argl[4 + nt] = chunk[i]->klen;
                nt++;
            }
        }
        if (nt == 0) {
            continue;
        }
        argv[0] = "EVALSHA";
        argl[0] = 7;
        argv[1] = r->sha;
        argl[1] = strlen(r->sha);
        argv[2] = nkeys;
        argl[2] = 1;
        argv[3] = r->tables[t].kprefix;
        argl[3] = strlen(r->tables[t].kprefix);
        if (redisAppendCommandArgv(r->c, (int) (4 + nt), argv, argl)
            != REDIS_OK)
        {
            goto broken;
        }
        ncalls++;
    }

    for (t = 0; t < r->ntables && ncalls > 0; t++) {
        rt = &r->tables[t];
        nt = 0;
        for (i = 0; i < n; i++) {
            if (chunk[i]->table == t) {
                idx[nt++] = i;
            }
        }
        if (nt == 0) {
            continue;
        }
        ncalls--;
        if (redisGetReply(r->c, (void **) &rep) != REDIS_OK || rep == NULL) {
            goto broken;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            if (strncmp(rep->str, "NOSCRIPT", 8) == 0 && !retried) {
                /* The server restarted or flushed its scripts: load it
                 * again, drain the other replies, start over. */
                freeReplyObject(rep);
                while (ncalls-- > 0) {
                    if (redisGetReply(r->c, (void **) &rep) != REDIS_OK) {
                        goto broken;
                    }
                    freeReplyObject(rep);
                }
                rep = redisCommand(r->c, "SCRIPT LOAD %s", lookup_script);
                if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
                    if (rep != NULL) {
                        freeReplyObject(rep);
                    }
                    count_error(r, OP_SCRIPT);
                    goto broken;
                }
                snprintf(r->sha, sizeof(r->sha), "%s", rep->str);
                freeReplyObject(rep);
                retried = 1;
                for (i = 0; i < n; i++) {
                    free(byreq[i]);
                }
                goto again;
            }
            log_warn("redis %s: lookup in %s failed: %s", r->c_addr,
                     rt->kprefix, rep->str);
            count_error(r, OP_LOOKUP);
            for (k = 0; k < nt; k++) {
                byreq[idx[k]] = ans_new(ANS_ROW, t, chunk[idx[k]]->seq,
                                        chunk[idx[k]]->key,
                                        chunk[idx[k]]->klen, NULL, 0);
                if (byreq[idx[k]] != NULL) {
                    byreq[idx[k]]->found = -1;
                }
            }
            freeReplyObject(rep);
            continue;
        }
        version = 0;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
            && rep->element[0]->type == REDIS_REPLY_STRING)
        {
            version = strtoull(rep->element[0]->str, NULL, 10);
            if (rep->element[1]->type == REDIS_REPLY_STRING) {
                update_colmap(r, rt, version, rep->element[1]->str,
                              rep->element[1]->len);
            }
        }
        if (version != rt->r_version || !rt->r_known) {
            new_version(r, t, version);
        }
        for (k = 0; k < nt; k++) {
            redisReply  *v = NULL;
            size_t       vlen = 0, nv, j;

            if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
                && rep->element[2]->type == REDIS_REPLY_ARRAY
                && k < rep->element[2]->elements)
            {
                v = rep->element[2]->element[k];
            }
            if (v != NULL && v->type == REDIS_REPLY_STRING && version > 0) {
                nv = map_values(rt, v->str, v->len, vals);
                for (j = 0; j < nv; j++) {
                    if (vlen + vals[j].len + 1 > sizeof(vbuf)) {
                        break;
                    }
                    if (j > 0) {
                        vbuf[vlen++] = DCACHE_SEP;
                    }
                    memcpy(vbuf + vlen, vals[j].p, vals[j].len);
                    vlen += vals[j].len;
                }
            }
            byreq[idx[k]] = ans_new(ANS_ROW, t, chunk[idx[k]]->seq,
                                    chunk[idx[k]]->key, chunk[idx[k]]->klen,
                                    vbuf, vlen);
            if (byreq[idx[k]] != NULL) {
                byreq[idx[k]]->found = v != NULL
                                       && v->type == REDIS_REPLY_STRING
                                       && version > 0;
                byreq[idx[k]]->version = version;
            }
        }
        freeReplyObject(rep);
        atomic_store(&rt->last_refresh, clock_wall());
    }
    for (i = 0; i < n; i++) {
        if (byreq[i] != NULL) {
            *tail = byreq[i];
            tail = &byreq[i]->next;
        }
    }
    *tail = NULL;
    return 0;

broken:
    log_warn("redis %s: lookup failed: %s", r->c_addr,
             r->c->err ? r->c->errstr : "no reply");
    count_error(r, OP_LOOKUP);
    for (i = 0; i < n; i++) {
        free(byreq[i]);
    }
    *answers = NULL;
    disconnect(r);
    set_up(r, 0, "lookup failed");
    return -1;
}


/* Loads table t whole (HSCAN of its current version) and hands the
 * snapshot over; returns 0, or -1 (connection closed when it broke). */
static int
load_table(dredis_t *r, size_t t, uint64_t seq)
{
    rtable_t     *rt = &r->tables[t];
    redisReply   *rep = NULL, *e;
    dcache_t     *rows = NULL;
    strv_t        vals[MAX_COLS];
    char          cursor[32];
    uint64_t      version = 0, again;
    size_t        i;
    int           attempt;
    ans_t        *a;

    for (attempt = 0; attempt < 3; attempt++) {
        dcache_destroy(rows);
        rows = dcache_create(rt->cfg->nprovides, 0, 0);
        if (rows == NULL) {
            return -1;
        }
        rep = redisCommand(r->c, "GET %s:current", rt->kprefix);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            goto err;
        }
        version = rep->type == REDIS_REPLY_STRING
                  ? strtoull(rep->str, NULL, 10) : 0;
        freeReplyObject(rep);
        rep = NULL;
        if (version == 0) {
            break;                          /* no such table: empty */
        }
        rep = redisCommand(r->c, "HGET %s:v%" PRIu64 ":meta columns",
                           rt->kprefix, version);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            goto err;
        }
        if (rep->type == REDIS_REPLY_STRING) {
            update_colmap(r, rt, version, rep->str, rep->len);
        }
        freeReplyObject(rep);
        rep = NULL;
        snprintf(cursor, sizeof(cursor), "0");
        do {
            rep = redisCommand(r->c, "HSCAN %s:v%" PRIu64 " %s COUNT %d",
                               rt->kprefix, version, cursor, SCAN_COUNT);
            if (rep == NULL || rep->type != REDIS_REPLY_ARRAY
                || rep->elements != 2
                || rep->element[0]->type != REDIS_REPLY_STRING
                || rep->element[1]->type != REDIS_REPLY_ARRAY)
            {
                goto err;
            }
            snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
            e = rep->element[1];
            for (i = 0; i + 1 < e->elements; i += 2) {
                map_values(rt, e->element[i + 1]->str,
                           e->element[i + 1]->len, vals);
                if (dcache_put(rows, e->element[i]->str,
                               e->element[i]->len, vals, INFINITY) != 0)
                {
                    goto err;
                }
            }
            freeReplyObject(rep);
            rep = NULL;
        } while (strcmp(cursor, "0") != 0);
        /* Scenario 4: flipped while we scanned? */
        rep = redisCommand(r->c, "GET %s:current", rt->kprefix);
        if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
            goto err;
        }
        again = rep->type == REDIS_REPLY_STRING
                ? strtoull(rep->str, NULL, 10) : 0;
        freeReplyObject(rep);
        rep = NULL;
        if (again == version) {
            break;
        }
    }
    a = ans_new(ANS_SNAPSHOT, t, seq, NULL, 0, NULL, 0);
    if (a == NULL) {
        dcache_destroy(rows);
        return -1;
    }
    a->rows = rows;
    a->version = version;
    rt->r_version = version;
    rt->r_known = 1;
    rt->next_refresh = clock_mono() + rt->cfg->cache.refresh;
    log_info("dimension table %s: loaded %zu rows of version %" PRIu64
             " from redis %s", rt->cfg->name, dcache_size(rows), version,
             r->c_addr);
    atomic_store(&rt->last_refresh, clock_wall());
    deliver(r, a);
    atomic_store(&rt->load_done, 1);
    return 0;

err:
    log_warn("redis %s: loading table %s failed: %s", r->c_addr,
             rt->cfg->name, rep && rep->type == REDIS_REPLY_ERROR ? rep->str
             : r->c->err ? r->c->errstr : "unexpected reply");
    count_error(r, OP_LOAD);
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    dcache_destroy(rows);
    if (r->c->err) {
        disconnect(r);
        set_up(r, 0, "load failed");
    }
    rt->next_refresh = clock_mono() + 1.0;        /* try again soon */
    return -1;
}


/* Maps the version's "columns" (header names of the stored values) to the
 * table's provided columns. */
static int
update_colmap(dredis_t *r, rtable_t *rt, uint64_t version, const char *cols,
    size_t len)
{
    strv_t  names[MAX_COLS];
    size_t  n, i, k;

    (void) r;
    if (rt->colmap_valid && rt->colmap_version == version) {
        return 0;
    }
    n = dcache_split(cols, len, names, MAX_COLS);
    for (i = 0; i < rt->cfg->nprovides; i++) {
        rt->colmap[i] = -1;
        for (k = 0; k < n && k < MAX_COLS; k++) {
            if (names[k].len == strlen(rt->cfg->provides[i])
                && memcmp(names[k].p, rt->cfg->provides[i], names[k].len)
                   == 0)
            {
                rt->colmap[i] = (int) k;
                break;
            }
        }
        if (rt->colmap[i] < 0) {
            log_error("dimension table %s: version %" PRIu64 " in redis has "
                      "no column \"%s\"; it reads as \"%s\"", rt->cfg->name,
                      version, rt->cfg->provides[i], rt->cfg->missing);
        }
    }
    rt->colmap_version = version;
    rt->colmap_valid = 1;
    return 0;
}


/* Splits a stored value into the provided columns, in config order. */
static size_t
map_values(rtable_t *rt, const char *v, size_t len, strv_t *out)
{
    strv_t  all[MAX_COLS];
    size_t  n, i;

    n = dcache_split(v, len, all, MAX_COLS);
    for (i = 0; i < rt->cfg->nprovides; i++) {
        if (rt->colmap_valid && rt->colmap[i] >= 0
            && (size_t) rt->colmap[i] < n)
        {
            out[i] = all[rt->colmap[i]];
        } else {
            out[i].p = rt->cfg->missing;
            out[i].len = strlen(rt->cfg->missing);
        }
    }
    return rt->cfg->nprovides;
}


/* The resolver learnt that table t is at version v now. */
static void
new_version(dredis_t *r, size_t t, uint64_t v)
{
    rtable_t  *rt = &r->tables[t];
    ans_t     *a;

    if (rt->r_known && v == rt->r_version) {
        return;
    }
    if (rt->r_known) {
        log_info("dimension table %s: version %" PRIu64 " -> %" PRIu64,
                 rt->cfg->name, rt->r_version, v);
    }
    rt->r_version = v;
    rt->r_known = 1;
    if (rt->cfg->cache.policy == CFG_CACHE_ALL) {
        if (!atomic_exchange(&rt->load_queued, 1)) {
            atomic_store(&rt->load_seq, enqueue(r, REQ_LOAD, t, NULL, 0));
        }
        return;
    }
    a = ans_new(ANS_VERSION, t, 0, NULL, 0, NULL, 0);
    if (a != NULL) {
        a->version = v;
        deliver(r, a);
    }
}


/* GET PREFIX:TABLE:current for every table, pipelined. */
static void
check_versions(dredis_t *r)
{
    redisReply  *rep;
    size_t       i;
    uint64_t     v;

    for (i = 0; i < r->ntables; i++) {
        redisAppendCommand(r->c, "GET %s:current", r->tables[i].kprefix);
    }
    for (i = 0; i < r->ntables; i++) {
        if (redisGetReply(r->c, (void **) &rep) != REDIS_OK || rep == NULL) {
            log_warn("redis %s: GET of the table versions failed: %s",
                     r->c_addr, r->c->errstr);
            count_error(r, OP_VERSION);
            disconnect(r);
            set_up(r, 0, "version check failed");
            return;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            count_error(r, OP_VERSION);
        } else {
            v = rep->type == REDIS_REPLY_STRING
                ? strtoull(rep->str, NULL, 10) : 0;
            new_version(r, i, v);
            if (r->tables[i].cfg->cache.policy == CFG_CACHE_LRU) {
                atomic_store(&r->tables[i].last_refresh, clock_wall());
            }
        }
        freeReplyObject(rep);
    }
}


/* Reads what the subscriber connection has: "TABLE VERSION" messages. */
static void
read_sub(dredis_t *r)
{
    redisReply  *rep;
    size_t       i, len;
    const char  *sp;

    if (redisBufferRead(r->sub) != REDIS_OK) {
        log_warn("redis %s: subscriber connection lost: %s", r->c_addr,
                 r->sub->errstr);
        count_error(r, OP_SUBSCRIBE);
        redisFree(r->sub);
        r->sub = NULL;
        r->next_sub = clock_mono() + BACKOFF_MIN;
        return;
    }
    for (;;) {
        rep = NULL;
        if (redisGetReplyFromReader(r->sub, (void **) &rep) != REDIS_OK
            || rep == NULL)
        {
            return;
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
            && rep->element[0]->type == REDIS_REPLY_STRING
            && strcmp(rep->element[0]->str, "message") == 0
            && rep->element[2]->type == REDIS_REPLY_STRING)
        {
            sp = strchr(rep->element[2]->str, ' ');
            len = sp ? (size_t) (sp - rep->element[2]->str) : 0;
            for (i = 0; sp != NULL && i < r->ntables; i++) {
                if (strlen(r->tables[i].cfg->name) == len
                    && memcmp(r->tables[i].cfg->name, rep->element[2]->str,
                              len) == 0)
                {
                    new_version(r, i, strtoull(sp + 1, NULL, 10));
                }
            }
        }
        freeReplyObject(rep);
    }
}


/* Redis cannot be reached: every queued request is answered "failed" at
 * once, so that no line waits for the bounded wait to pass. */
static void
fail_all(dredis_t *r, req_t *list)
{
    ans_t  *head = NULL, **tail = &head, *a;
    req_t  *next;

    for (; list != NULL; list = next) {
        next = list->next;
        if (list->kind == REQ_LOAD) {
            a = ans_new(ANS_LOAD_FAILED, list->table, list->seq, NULL, 0,
                        NULL, 0);
            atomic_store(&r->tables[list->table].load_queued, 0);
            atomic_store(&r->tables[list->table].load_done, 1);
        } else {
            a = ans_new(ANS_ROW, list->table, list->seq, list->key,
                        list->klen, NULL, 0);
            if (a != NULL) {
                a->found = -1;
            }
        }
        if (a != NULL) {
            *tail = a;
            tail = &a->next;
        }
        free(list);
    }
    deliver(r, head);
}


static void
set_up(dredis_t *r, int up, const char *why)
{
    int  was = atomic_exchange(&r->up, up);

    if (up && was != 1) {
        log_info("dimension redis: connected to %s", why);
        r->down_logged = 0;
    } else if (!up && !r->down_logged) {
        log_error("dimension redis unavailable (%s); lookups that are not "
                  "cached answer \"missing\" until it is back, retrying "
                  "with backoff", why);
        r->down_logged = 1;
    }
}


static void
count_error(dredis_t *r, int op)
{
    atomic_fetch_add_explicit(&r->errors[op], 1, memory_order_relaxed);
}
