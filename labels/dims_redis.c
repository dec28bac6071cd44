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
 * Threads.  The ingest side (whoever holds the ingest lock) owns the
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

#include "labels/dims_redis_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"


static void dredis_destroy(void *be);
static dims_result_t dredis_get(void *be, size_t t, const strv_t *keys,
    unsigned flags, const strv_t **row, uint64_t *seq);
static uint64_t dredis_sync(void *be);
static int dredis_has_news(void *be);
static void dredis_wait(void *be, double timeout);
static void dredis_wake(void *be);
static void dredis_wait_loaded(void *be, double timeout);
static double dredis_max_wait(const void *be);
static uint64_t dredis_max_pending_bytes(const void *be);
static void dredis_set_pending_lines(void *be, uint64_t n);
static size_t dredis_entries(const void *be, size_t t);
static void dredis_collect(void *be, store_t *s);


const dims_ops_t  dredis_ops = {
    .name = "redis",
    .async = 1,
    .destroy = dredis_destroy,
    .get = dredis_get,
    .sync = dredis_sync,
    .has_news = dredis_has_news,
    .wait = dredis_wait,
    .wake = dredis_wake,
    .wait_loaded = dredis_wait_loaded,
    .max_wait = dredis_max_wait,
    .max_pending_bytes = dredis_max_pending_bytes,
    .set_pending_lines = dredis_set_pending_lines,
    .entries = dredis_entries,
    .collect = dredis_collect,
};


const char  *const dredis__op_names[NOPS] = { "connect", "auth", "select",
    "script", "lookup", "load", "subscribe", "version" };


void *
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
            log_error_kv("dimension table: too many columns",
                         LOG_STR("table", rt->cfg->name),
                         LOG_U64("max_columns", MAX_COLS));
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
            atomic_store(&rt->load_seq,
                         dredis__enqueue(r, REQ_LOAD, i, NULL, 0));
        }
    }

    r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (r->efd < 0) {
        log_error_kv("eventfd() failed", LOG_STR("err", strerror(errno)));
        goto err;
    }
    if (r->naddrs == 0) {
        log_error("dimensions: the redis backend has no address");
        goto err;
    }
    if (pthread_create(&r->thread, NULL, dredis__resolver_main, r) != 0) {
        log_error("pthread_create() failed");
        goto err;
    }
    r->running = 1;
    return r;

err:
    dredis_destroy(r);
    return NULL;
}


static void
dredis_destroy(void *be)
{
    dredis_t  *r = be;
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
    dredis__disconnect(r);
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
static dims_result_t
dredis_get(void *be, size_t t, const strv_t *keys, unsigned flags,
    const strv_t **row, uint64_t *seq)
{
    dredis_t          *r = be;
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
    *seq = dredis__enqueue(r, REQ_LOOKUP, t, r->kbuf, klen);
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
static uint64_t
dredis_sync(void *be)
{
    dredis_t      *r = be;
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


static int
dredis_has_news(void *be)
{
    dredis_t  *r = be;

    return atomic_load_explicit(&r->news, memory_order_relaxed);
}


static void
dredis_wait(void *be, double timeout)
{
    dredis_t        *r = be;
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


static void
dredis_wake(void *be)
{
    dredis_t  *r = be;
    uint64_t  one = 1;

    pthread_mutex_lock(&r->ilock);
    pthread_cond_broadcast(&r->icond);
    pthread_mutex_unlock(&r->ilock);
    if (r->efd >= 0 && write(r->efd, &one, sizeof(one)) < 0) {
        /* Already signalled (EAGAIN): the resolver wakes anyway. */
    }
}


static void
dredis_wait_loaded(void *be, double timeout)
{
    dredis_t  *r = be;
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


static double
dredis_max_wait(const void *be)
{
    const dredis_t  *r = be;

    return r->rc->max_wait > 0 ? r->rc->max_wait : CFG_DEFAULT_REDIS_WAIT;
}


static uint64_t
dredis_max_pending_bytes(const void *be)
{
    const dredis_t  *r = be;

    return r->rc->max_pending_bytes ? r->rc->max_pending_bytes
                                    : CFG_DEFAULT_REDIS_PENDING;
}


static void
dredis_set_pending_lines(void *be, uint64_t n)
{
    dredis_t  *r = be;

    atomic_store_explicit(&r->pending_lines, n, memory_order_relaxed);
}


static size_t
dredis_entries(const void *be, size_t t)
{
    const dredis_t  *r = be;

    return (size_t) atomic_load_explicit(&r->tables[t].entries,
                                         memory_order_relaxed);
}


static void
dredis_collect(void *be, store_t *s)
{
    static const char *const  results[] = { "hit", "miss", "negative_hit" };
    static const char *const  op[] = { "op" };
    dredis_t                 *r = be;
    store_family_t           *lookups, *entries, *refresh;
    store_family_t           *errors, *up, *pending;
    rtable_t                 *rt;
    const char               *v[2];
    uint64_t                  n;
    size_t                    i, k;
    double                    ts;

    if (dims__families(s, &lookups, &entries, &refresh) != 0) {
        return;
    }

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
        store_set(errors, store_series_str(errors, &dredis__op_names[k]),
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
