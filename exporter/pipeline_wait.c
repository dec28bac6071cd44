/* pipeline_wait.c - Lines waiting for a dimension lookup (the Redis
 * backend), and the settler thread that counts them while the tail
 * thread is idle.
 */

#include "exporter/pipeline_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"


static void park(pipeline_t *p, size_t input, const char *line, size_t len);
static void settle(pipeline_t *p, int force);
static void *settler_main(void *arg);


/* Waiting lines (the Redis backend).
 *
 * A line whose lookups the local cache cannot answer is "parked": nothing
 * of it is counted yet, its bytes are copied, and it waits for the answer
 * (dims_sync() reaching its sequence number) or for its deadline
 * (dimensions.redis.wait, 1 s by default), whichever comes first.  It is
 * then processed again from its bytes ("replayed"): with the answer it
 * gets the right labels; at the deadline every lookup still pending gives
 * the table's "missing" value.  A replay that needs another lookup (a
 * filter on one table, then a label from another) parks again with the
 * same deadline.  Every line is counted exactly once, either way:
 *
 *   1. nothing is counted before the line's lookups are all answered:
 *      families are evaluated first (labels, values, "when"), and counted
 *      only when no lookup is pending;
 *   2. the list is only touched under the ingest lock: by the tail thread
 *      at the start of each line, and by the settler thread when the tail
 *      is idle (it wakes on answers and every 20 ms for deadlines);
 *   3. a checkpoint flushes the list first (pipeline_flush(), replaying
 *      each line with what is known), so counts match the offsets it
 *      saves; the tailer postpones a due checkpoint while lines wait, by
 *      at most one wait, so that a flush rarely has to give up on one;
 *   4. more than max_pending_bytes of waiting lines (a stalled Redis at a
 *      high rate): the oldest are counted at once with what is known.
 */
void
pipe_wait_line(pipeline_t *p, size_t input, const char *line, size_t len)
{
    if (p->phead != NULL
        && (dims_has_news(p->dims) || (++p->tick & 255) == 0))
    {
        settle(p, 0);
    } else {
        (void) dims_sync(p->dims);
    }
    p->pending = 0;
    p->wait_seq = 0;
    if (pipe_process(p, input, line, len) != 0) {
        park(p, input, line, len);
    }
}


int
pipe_wait_start(pipeline_t *p, char *err, size_t errlen)
{
    p->ptail = &p->phead;
    p->async = p->dims != NULL && dims_async(p->dims);
    if (!p->async) {
        return 0;
    }
    p->max_wait = dims_max_wait(p->dims);
    p->max_bytes = dims_max_pending_bytes(p->dims);
    if (pthread_create(&p->settler, NULL, settler_main, p) != 0) {
        snprintf(err, errlen, "pthread_create() failed");
        return -1;
    }
    p->settler_running = 1;
    return 0;
}


void
pipe_wait_stop(pipeline_t *p)
{
    parked_t  *next;

    if (p->settler_running) {
        atomic_store(&p->stop, 1);
        dims_wake(p->dims);
        pthread_join(p->settler, NULL);
        p->settler_running = 0;
    }
    while (p->phead != NULL) {
        next = p->phead->next;
        free(p->phead);
        p->phead = next;
    }
}


uint64_t
pipeline_pending(pipeline_t *p)
{
    return atomic_load_explicit(&p->nparked, memory_order_relaxed);
}


double
pipeline_max_wait(pipeline_t *p)
{
    return p->async ? p->max_wait : 0;
}


void
pipeline_flush(pipeline_t *p)
{
    if (p->async) {
        settle(p, 1);
    }
}


void
pipeline_drain(pipeline_t *p)
{
    uint64_t  n;

    while (p->async) {
        store_ingest_lock(p->store);
        settle(p, 0);
        n = atomic_load(&p->nparked);
        store_ingest_unlock(p->store);
        if (n == 0) {
            break;
        }
        dims_wait(p->dims, 0.02);
    }
}


/* Keeps a copy of the line; see "Waiting lines". */
static void
park(pipeline_t *p, size_t input, const char *line, size_t len)
{
    parked_t  *e;

    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL) {
        p->final = 1;                   /* no memory: count it now */
        (void) pipe_process(p, input, line, len);
        p->final = 0;
        return;
    }
    e->next = NULL;
    e->input = input;
    e->len = len;
    e->deadline = clock_mono() + p->max_wait;
    e->wait_seq = p->wait_seq;
    memcpy(e->line, line, len);
    e->line[len] = '\0';
    *p->ptail = e;
    p->ptail = &e->next;
    p->pbytes += len;
    atomic_fetch_add(&p->nparked, 1);

    /* Scenario 4: too much waiting. */
    while (p->pbytes > p->max_bytes && p->phead != NULL) {
        e = p->phead;
        p->phead = e->next;
        if (p->phead == NULL) {
            p->ptail = &p->phead;
        }
        p->pbytes -= e->len;
        atomic_fetch_sub(&p->nparked, 1);
        if (!p->overflow_logged) {
            log_warn_kv("lines wait for dimension lookups past the limit: "
                        "the oldest are counted without waiting "
                        "(dimensions.redis.max_pending_bytes)",
                        LOG_U64("bytes", p->max_bytes));
            p->overflow_logged = 1;
        }
        p->replay = 1;
        p->final = 1;
        (void) pipe_process(p, e->input, e->line, e->len);
        p->replay = 0;
        p->final = 0;
        free(e);
    }
    dims_set_pending_lines(p->dims, atomic_load(&p->nparked));
}


/* Replays the waiting lines whose answer arrived or whose deadline
 * passed (every one when force).  The caller holds the ingest lock. */
static void
settle(pipeline_t *p, int force)
{
    parked_t  **prev, *e;
    uint64_t    synced;
    double      now;
    int         rc;

    synced = dims_sync(p->dims);
    if (p->phead == NULL) {
        return;
    }
    now = clock_mono();
    prev = &p->phead;
    while ((e = *prev) != NULL) {
        if (!force && now < e->deadline && synced < e->wait_seq) {
            prev = &e->next;
            continue;
        }
        p->replay = 1;
        p->final = force || now >= e->deadline;
        p->pending = 0;
        p->wait_seq = 0;
        rc = pipe_process(p, e->input, e->line, e->len);
        p->replay = 0;
        p->final = 0;
        if (rc != 0) {
            e->wait_seq = p->wait_seq;      /* needs another answer */
            prev = &e->next;
            continue;
        }
        *prev = e->next;
        p->pbytes -= e->len;
        atomic_fetch_sub(&p->nparked, 1);
        free(e);
    }
    p->ptail = prev;
    dims_set_pending_lines(p->dims, atomic_load(&p->nparked));
}


/* Counts waiting lines while the tail thread is idle: wakes on answers,
 * and every 20 ms for deadlines. */
static void *
settler_main(void *arg)
{
    pipeline_t  *p = arg;

    while (!atomic_load(&p->stop)) {
        dims_wait(p->dims, 0.02);
        if (atomic_load(&p->nparked) == 0 && !dims_has_news(p->dims)) {
            continue;
        }
        store_ingest_lock(p->store);
        settle(p, 0);
        store_ingest_unlock(p->store);
    }
    return NULL;
}
