/* dims_redis_resolver.c - The resolver thread of the Redis dimension
 * backend: it owns the two connections (commands, and the invalidation
 * subscriber), takes requests from the ingest side's queue, answers them
 * in order and reconnects with backoff.  See dims_redis.c for the threads
 * and the races.
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

#include "labels/expo.h"
#include "lib/clock.h"
#include "lib/log.h"


static int connect_cmd(dredis_t *r);
static redisContext *connect_one(dredis_t *r, const char *addr, char *err,
    size_t errlen, int *op);
static void process(dredis_t *r, req_t *list);
static void read_sub(dredis_t *r);
static void fail_all(dredis_t *r, req_t *list);


void *
dredis__resolver_main(void *arg)
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
                    log_warn_kv("redis: SUBSCRIBE failed",
                                LOG_STR("address", r->c_addr),
                                LOG_STR("err", rep ? rep->str
                                        : r->sub->errstr));
                    dredis__count_error(r, OP_SUBSCRIBE);
                    redisFree(r->sub);
                    r->sub = NULL;
                }
                if (rep != NULL) {
                    freeReplyObject(rep);
                }
            } else {
                dredis__count_error(r, op);
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
                                 dredis__enqueue(r, REQ_LOAD, i, NULL, 0));
                }
            }
            if (now >= r->next_check) {
                r->next_check = now + CHECK_INTERVAL;
                dredis__check_versions(r);
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
uint64_t
dredis__enqueue(dredis_t *r, req_kind_t kind, size_t t, const char *key,
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
void
dredis__deliver(dredis_t *r, ans_t *list)
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


ans_t *
dredis__ans_new(ans_kind_t kind, size_t t, uint64_t seq, const char *key,
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
            dredis__count_error(r, op);
            snprintf(last, sizeof(last), "%s", err);
            continue;
        }
        rep = redisCommand(r->c, "SCRIPT LOAD %s", dredis__lookup_script);
        if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
            snprintf(last, sizeof(last), "redis %s: SCRIPT LOAD failed: %s",
                     r->addrs[i], rep ? rep->str : r->c->errstr);
            dredis__count_error(r, OP_SCRIPT);
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
        dredis__set_up(r, 0, last);
        return -1;
    }
    r->backoff = BACKOFF_MIN;
    dredis__set_up(r, 1, r->c_addr);
    r->next_sub = 0;
    /* Whatever changed while we were away. */
    for (i = 0; i < r->ntables; i++) {
        r->tables[i].r_known = 0;
    }
    dredis__check_versions(r);
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


void
dredis__disconnect(dredis_t *r)
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
                rc = dredis__load_table(r, q->table, q->seq);
                if (rc == 0 || r->c != NULL
                    || tries >= r->tables[q->table].cfg->cache.max_retries
                    || connect_cmd(r) != 0)
                {
                    break;
                }
            }
            if (rc != 0) {
                dredis__deliver(r, dredis__ans_new(ANS_LOAD_FAILED, q->table,
                                                   q->seq, NULL, 0, NULL, 0));
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
            rc = dredis__lookup_chunk(r, chunk, n, &answers);
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
                a = dredis__ans_new(ANS_ROW, chunk[i]->table, chunk[i]->seq,
                            chunk[i]->key, chunk[i]->klen, NULL, 0);
                if (a != NULL) {
                    a->found = -1;
                    *tail = a;
                    tail = &a->next;
                }
            }
            answers = head;
        }
        dredis__deliver(r, answers);
        for (i = 0; i < n; i++) {
            free(chunk[i]);
        }
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
        log_warn_kv("redis: subscriber connection lost",
                    LOG_STR("address", r->c_addr),
                    LOG_STR("err", r->sub->errstr));
        dredis__count_error(r, OP_SUBSCRIBE);
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
                    dredis__new_version(r, i, strtoull(sp + 1, NULL, 10));
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
            a = dredis__ans_new(ANS_LOAD_FAILED, list->table, list->seq,
                                NULL, 0, NULL, 0);
            atomic_store(&r->tables[list->table].load_queued, 0);
            atomic_store(&r->tables[list->table].load_done, 1);
        } else {
            a = dredis__ans_new(ANS_ROW, list->table, list->seq, list->key,
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
    dredis__deliver(r, head);
}


void
dredis__set_up(dredis_t *r, int up, const char *why)
{
    int  was = atomic_exchange(&r->up, up);

    if (up && was != 1) {
        log_info_kv("dimension redis: connected", LOG_STR("address", why));
        r->down_logged = 0;
    } else if (!up && !r->down_logged) {
        log_error_kv("dimension redis unavailable; lookups that are not "
                     "cached answer \"missing\" until it is back, retrying "
                     "with backoff", LOG_STR("err", why));
        r->down_logged = 1;
    }
}


void
dredis__count_error(dredis_t *r, int op)
{
    atomic_fetch_add_explicit(&r->errors[op], 1, memory_order_relaxed);
}
