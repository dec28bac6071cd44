/* dims_redis_schema.c - The Redis schema as the resolver reads it: the
 * lookup script and its replies, whole-table loads ("all" tables), the
 * version of each table and the map from its columns to the config's.
 * See dims_redis.c for the schema itself.
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


static long send_lookups(dredis_t *r, req_t **chunk, size_t n);
static int reload_script(dredis_t *r, long ncalls);
static void reply_answers(dredis_t *r, size_t t, redisReply *rep,
    req_t **chunk, const size_t *idx, size_t nt, ans_t **byreq);


const char  dredis__lookup_script[] =
    "local v = redis.call('GET', KEYS[1] .. ':current')\n"
    "if not v then return {false, false, {}} end\n"
    "local h = KEYS[1] .. ':v' .. v\n"
    "local cols = redis.call('HGET', h .. ':meta', 'columns')\n"
    "return {v, cols, redis.call('HMGET', h, unpack(ARGV))}\n";


/* One pipelined round trip for a chunk of lookups: one script call per
 * table present.  Returns 0 with *answers in chunk order, or -1 when the
 * connection broke (it is then closed). */
int
dredis__lookup_chunk(dredis_t *r, req_t **chunk, size_t n, ans_t **answers)
{
    ans_t        *byreq[BATCH_MAX], **tail = answers;
    redisReply   *rep;
    rtable_t     *rt;
    size_t        t, i, k, nt, idx[BATCH_MAX];
    long          ncalls;
    int           retried = 0;

again:
    memset(byreq, 0, sizeof(byreq));
    ncalls = send_lookups(r, chunk, n);
    if (ncalls < 0) {
        goto broken;
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
                if (reload_script(r, ncalls) != 0) {
                    goto broken;
                }
                retried = 1;
                for (i = 0; i < n; i++) {
                    free(byreq[i]);
                }
                goto again;
            }
            log_warn_kv("redis: lookup failed",
                        LOG_STR("address", r->c_addr),
                        LOG_STR("table", rt->cfg->name),
                        LOG_STR("err", rep->str));
            dredis__count_error(r, OP_LOOKUP);
            for (k = 0; k < nt; k++) {
                byreq[idx[k]] = dredis__ans_new(ANS_ROW, t,
                                                chunk[idx[k]]->seq,
                                                chunk[idx[k]]->key,
                                                chunk[idx[k]]->klen, NULL, 0);
                if (byreq[idx[k]] != NULL) {
                    byreq[idx[k]]->found = -1;
                }
            }
            freeReplyObject(rep);
            continue;
        }
        reply_answers(r, t, rep, chunk, idx, nt, byreq);
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
    log_warn_kv("redis: lookup failed", LOG_STR("address", r->c_addr),
                LOG_STR("err", r->c->err ? r->c->errstr : "no reply"));
    dredis__count_error(r, OP_LOOKUP);
    for (i = 0; i < n; i++) {
        free(byreq[i]);
    }
    *answers = NULL;
    dredis__disconnect(r);
    dredis__set_up(r, 0, "lookup failed");
    return -1;
}


/* Appends one EVALSHA per table present in the chunk; returns how many,
 * or -1 when the connection broke. */
static long
send_lookups(dredis_t *r, req_t **chunk, size_t n)
{
    const char   *argv[BATCH_MAX + 4];
    size_t        argl[BATCH_MAX + 4];
    size_t        t, i, nt;
    long          ncalls = 0;
    char          nkeys[] = "1";

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
            return -1;
        }
        ncalls++;
    }
    return ncalls;
}


/* After a NOSCRIPT: drains the ncalls replies still due, loads the
 * script again.  0, or -1 when the connection broke. */
static int
reload_script(dredis_t *r, long ncalls)
{
    redisReply  *rep;

    while (ncalls-- > 0) {
        if (redisGetReply(r->c, (void **) &rep) != REDIS_OK) {
            return -1;
        }
        freeReplyObject(rep);
    }
    rep = redisCommand(r->c, "SCRIPT LOAD %s", dredis__lookup_script);
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
        if (rep != NULL) {
            freeReplyObject(rep);
        }
        dredis__count_error(r, OP_SCRIPT);
        return -1;
    }
    snprintf(r->sha, sizeof(r->sha), "%s", rep->str);
    freeReplyObject(rep);
    return 0;
}


/* The answers of table t's script reply rep ({version, columns, values})
 * for the nt requests chunk[idx[0..nt-1]], into byreq[]. */
static void
reply_answers(dredis_t *r, size_t t, redisReply *rep, req_t **chunk,
    const size_t *idx, size_t nt, ans_t **byreq)
{
    rtable_t     *rt = &r->tables[t];
    redisReply   *v;
    strv_t        vals[MAX_COLS];
    uint64_t      version = 0;
    size_t        k, vlen, nv, j;
    char          vbuf[4096];

    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
        && rep->element[0]->type == REDIS_REPLY_STRING)
    {
        version = strtoull(rep->element[0]->str, NULL, 10);
        if (rep->element[1]->type == REDIS_REPLY_STRING) {
            dredis__update_colmap(r, rt, version, rep->element[1]->str,
                                  rep->element[1]->len);
        }
    }
    if (version != rt->r_version || !rt->r_known) {
        dredis__new_version(r, t, version);
    }
    for (k = 0; k < nt; k++) {
        v = NULL;
        vlen = 0;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3
            && rep->element[2]->type == REDIS_REPLY_ARRAY
            && k < rep->element[2]->elements)
        {
            v = rep->element[2]->element[k];
        }
        if (v != NULL && v->type == REDIS_REPLY_STRING && version > 0) {
            nv = dredis__map_values(rt, v->str, v->len, vals);
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
        byreq[idx[k]] = dredis__ans_new(ANS_ROW, t, chunk[idx[k]]->seq,
                                        chunk[idx[k]]->key,
                                        chunk[idx[k]]->klen, vbuf, vlen);
        if (byreq[idx[k]] != NULL) {
            byreq[idx[k]]->found = v != NULL
                                   && v->type == REDIS_REPLY_STRING
                                   && version > 0;
            byreq[idx[k]]->version = version;
        }
    }
}


/* Loads table t whole (HSCAN of its current version) and hands the
 * snapshot over; returns 0, or -1 (connection closed when it broke). */
int
dredis__load_table(dredis_t *r, size_t t, uint64_t seq)
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
            dredis__update_colmap(r, rt, version, rep->str, rep->len);
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
                dredis__map_values(rt, e->element[i + 1]->str,
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
    a = dredis__ans_new(ANS_SNAPSHOT, t, seq, NULL, 0, NULL, 0);
    if (a == NULL) {
        dcache_destroy(rows);
        return -1;
    }
    a->rows = rows;
    a->version = version;
    rt->r_version = version;
    rt->r_known = 1;
    rt->next_refresh = clock_mono() + rt->cfg->cache.refresh;
    log_info_kv("dimension table loaded from redis",
                LOG_STR("table", rt->cfg->name),
                LOG_STR("address", r->c_addr),
                LOG_U64("rows", (uint64_t) dcache_size(rows)),
                LOG_U64("table_version", version));
    atomic_store(&rt->last_refresh, clock_wall());
    dredis__deliver(r, a);
    atomic_store(&rt->load_done, 1);
    return 0;

err:
    log_warn_kv("redis: loading a table failed",
                LOG_STR("address", r->c_addr),
                LOG_STR("table", rt->cfg->name),
                LOG_STR("err", rep && rep->type == REDIS_REPLY_ERROR
                        ? rep->str : r->c->err ? r->c->errstr
                        : "unexpected reply"));
    dredis__count_error(r, OP_LOAD);
    if (rep != NULL) {
        freeReplyObject(rep);
    }
    dcache_destroy(rows);
    if (r->c->err) {
        dredis__disconnect(r);
        dredis__set_up(r, 0, "load failed");
    }
    rt->next_refresh = clock_mono() + 1.0;        /* try again soon */
    return -1;
}


/* Maps the version's "columns" (header names of the stored values) to the
 * table's provided columns. */
int
dredis__update_colmap(dredis_t *r, rtable_t *rt, uint64_t version,
    const char *cols, size_t len)
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
            log_error_kv("dimension table: a column is missing in redis; "
                         "it reads as the table's missing value",
                         LOG_STR("table", rt->cfg->name),
                         LOG_U64("table_version", version),
                         LOG_STR("column", rt->cfg->provides[i]),
                         LOG_STR("missing", rt->cfg->missing));
        }
    }
    rt->colmap_version = version;
    rt->colmap_valid = 1;
    return 0;
}


/* Splits a stored value into the provided columns, in config order. */
size_t
dredis__map_values(rtable_t *rt, const char *v, size_t len, strv_t *out)
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
void
dredis__new_version(dredis_t *r, size_t t, uint64_t v)
{
    rtable_t  *rt = &r->tables[t];
    ans_t     *a;

    if (rt->r_known && v == rt->r_version) {
        return;
    }
    if (rt->r_known) {
        log_info_kv("dimension table: new version in redis",
                    LOG_STR("table", rt->cfg->name),
                    LOG_U64("previous_version", rt->r_version),
                    LOG_U64("table_version", v));
    }
    rt->r_version = v;
    rt->r_known = 1;
    if (rt->cfg->cache.policy == CFG_CACHE_ALL) {
        if (!atomic_exchange(&rt->load_queued, 1)) {
            atomic_store(&rt->load_seq,
                         dredis__enqueue(r, REQ_LOAD, t, NULL, 0));
        }
        return;
    }
    a = dredis__ans_new(ANS_VERSION, t, 0, NULL, 0, NULL, 0);
    if (a != NULL) {
        a->version = v;
        dredis__deliver(r, a);
    }
}


/* GET PREFIX:TABLE:current for every table, pipelined. */
void
dredis__check_versions(dredis_t *r)
{
    redisReply  *rep;
    size_t       i;
    uint64_t     v;

    for (i = 0; i < r->ntables; i++) {
        redisAppendCommand(r->c, "GET %s:current", r->tables[i].kprefix);
    }
    for (i = 0; i < r->ntables; i++) {
        if (redisGetReply(r->c, (void **) &rep) != REDIS_OK || rep == NULL) {
            log_warn_kv("redis: GET of the table versions failed",
                        LOG_STR("address", r->c_addr),
                        LOG_STR("err", r->c->errstr));
            dredis__count_error(r, OP_VERSION);
            dredis__disconnect(r);
            dredis__set_up(r, 0, "version check failed");
            return;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            dredis__count_error(r, OP_VERSION);
        } else {
            v = rep->type == REDIS_REPLY_STRING
                ? strtoull(rep->str, NULL, 10) : 0;
            dredis__new_version(r, i, v);
            if (r->tables[i].cfg->cache.policy == CFG_CACHE_LRU) {
                atomic_store(&r->tables[i].last_refresh, clock_wall());
            }
        }
        freeReplyObject(rep);
    }
}
