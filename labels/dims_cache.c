/* dims_cache.c - The local cache of a Redis dimension table (see
 * dims_cache.h): chained hash map plus a doubly linked LRU list. */

#include "labels/dims_cache.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"


typedef struct entry entry_t;

struct entry {
    entry_t         *chain;         /* next in the bucket */
    entry_t         *prev, *next;   /* LRU list, most recent first */
    uint64_t         hash;
    dcache_state_t   state;
    double           time;          /* expiry, or request time (pending) */
    uint64_t         seq;
    size_t           klen;
    strv_t          *cols;          /* FOUND: points into data */
    char             data[];        /* key, then the values */
};

struct dcache {
    entry_t        **buckets;
    size_t           nbuckets;      /* power of two */
    size_t           n;
    size_t           ncols;
    size_t           max_rows;
    int              lru;
    entry_t         *head, *tail;
    uint64_t         evictions;
};


static entry_t **find(dcache_t *c, const char *key, size_t klen, uint64_t h);
static void unlink_lru(dcache_t *c, entry_t *e);
static void push_front(dcache_t *c, entry_t *e);
static int grow(dcache_t *c);
static void remove_entry(dcache_t *c, entry_t **slot);


dcache_t *
dcache_create(size_t ncols, size_t max_rows, int lru)
{
    dcache_t  *c;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof(entry_t *));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    c->ncols = ncols;
    c->max_rows = max_rows;
    c->lru = lru && max_rows > 0;
    return c;
}


void
dcache_destroy(dcache_t *c)
{
    if (c == NULL) {
        return;
    }
    dcache_clear(c);
    free(c->buckets);
    free(c);
}


dcache_state_t
dcache_get(dcache_t *c, const char *key, size_t klen, double now,
    dcache_row_t *row)
{
    entry_t  **slot, *e;

    memset(row, 0, sizeof(*row));
    slot = find(c, key, klen, hash_bytes(key, klen, 0));
    if (*slot == NULL) {
        return DCACHE_ABSENT;
    }
    e = *slot;
    if (c->lru && c->head != e) {
        unlink_lru(c, e);
        push_front(c, e);
    }
    row->state = e->state;
    if (e->state == DCACHE_PENDING) {
        row->seq = e->seq;
        row->since = e->time;
    } else {
        row->cols = e->cols;
        row->expired = now >= e->time;
    }
    return row->state;
}


int
dcache_put(dcache_t *c, const char *key, size_t klen, const strv_t *cols,
    double expires)
{
    entry_t  **slot, *e;
    uint64_t   h = hash_bytes(key, klen, 0);
    size_t     size = klen, i;
    char      *w;

    slot = find(c, key, klen, h);
    if (*slot != NULL) {
        remove_entry(c, slot);
    }
    if (cols != NULL) {
        size += c->ncols * sizeof(strv_t) + sizeof(strv_t);
        for (i = 0; i < c->ncols; i++) {
            size += cols[i].len;
        }
    }
    e = malloc(sizeof(*e) + size);
    if (e == NULL) {
        return -1;
    }
    memset(e, 0, sizeof(*e));
    e->hash = h;
    e->klen = klen;
    e->time = expires;
    e->state = cols != NULL ? DCACHE_FOUND : DCACHE_MISSING;
    memcpy(e->data, key, klen);
    if (cols != NULL) {
        /* The views first (aligned), then the bytes they point to. */
        size_t  off = (klen + sizeof(strv_t) - 1) / sizeof(strv_t)
                      * sizeof(strv_t);

        e->cols = (strv_t *) (void *) (e->data + off);
        w = (char *) (e->cols + c->ncols);
        for (i = 0; i < c->ncols; i++) {
            memcpy(w, cols[i].p, cols[i].len);
            e->cols[i].p = w;
            e->cols[i].len = cols[i].len;
            w += cols[i].len;
        }
    }
    if (c->n + 1 > c->nbuckets && grow(c) == 0) {
        slot = find(c, key, klen, h);
    }
    e->chain = *slot;
    *slot = e;
    c->n++;
    push_front(c, e);
    while (c->lru && c->n > c->max_rows && c->tail != NULL
           && c->tail != e)
    {
        entry_t  *old = c->tail;

        remove_entry(c, find(c, old->data, old->klen, old->hash));
        c->evictions++;
    }
    return 0;
}


int
dcache_put_pending(dcache_t *c, const char *key, size_t klen, uint64_t seq,
    double now)
{
    entry_t  **slot;

    if (dcache_put(c, key, klen, NULL, 0) != 0) {
        return -1;
    }
    slot = find(c, key, klen, hash_bytes(key, klen, 0));
    (*slot)->state = DCACHE_PENDING;
    (*slot)->seq = seq;
    (*slot)->time = now;
    return 0;
}


void
dcache_del(dcache_t *c, const char *key, size_t klen)
{
    entry_t  **slot;

    slot = find(c, key, klen, hash_bytes(key, klen, 0));
    if (*slot != NULL) {
        remove_entry(c, slot);
    }
}


void
dcache_clear(dcache_t *c)
{
    entry_t  *e, *next;
    size_t    i;

    for (i = 0; i < c->nbuckets; i++) {
        for (e = c->buckets[i]; e != NULL; e = next) {
            next = e->chain;
            free(e);
        }
        c->buckets[i] = NULL;
    }
    c->n = 0;
    c->head = c->tail = NULL;
}


size_t
dcache_size(const dcache_t *c)
{
    return c->n;
}


uint64_t
dcache_evictions(const dcache_t *c)
{
    return c->evictions;
}


size_t
dcache_encode(const strv_t *keys, size_t n, char *out, size_t cap)
{
    size_t  i, len = 0;

    for (i = 0; i < n; i++) {
        if (len + keys[i].len + (i > 0) > cap) {
            return (size_t) -1;
        }
        if (i > 0) {
            out[len++] = DCACHE_SEP;
        }
        memcpy(out + len, keys[i].p, keys[i].len);
        len += keys[i].len;
    }
    return len;
}


size_t
dcache_split(const char *s, size_t len, strv_t *out, size_t n)
{
    const char  *end = s + len, *q;
    size_t       k = 0;

    for (;;) {
        q = memchr(s, DCACHE_SEP, (size_t) (end - s));
        if (q == NULL) {
            q = end;
        }
        if (k < n) {
            out[k].p = s;
            out[k].len = (size_t) (q - s);
        }
        k++;
        if (q == end) {
            break;
        }
        s = q + 1;
    }
    for (len = k; len < n; len++) {
        out[len].p = "";
        out[len].len = 0;
    }
    return k;
}


static entry_t **
find(dcache_t *c, const char *key, size_t klen, uint64_t h)
{
    entry_t  **slot = &c->buckets[h & (c->nbuckets - 1)];

    while (*slot != NULL && ((*slot)->hash != h || (*slot)->klen != klen
                             || memcmp((*slot)->data, key, klen) != 0))
    {
        slot = &(*slot)->chain;
    }
    return slot;
}


static void
unlink_lru(dcache_t *c, entry_t *e)
{
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->prev = e->next = NULL;
}


static void
push_front(dcache_t *c, entry_t *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head != NULL) {
        c->head->prev = e;
    }
    c->head = e;
    if (c->tail == NULL) {
        c->tail = e;
    }
}


/* Doubles the buckets; returns 0, or -1 (the map stays usable). */
static int
grow(dcache_t *c)
{
    entry_t  **nb, *e, *next;
    size_t     n = c->nbuckets * 2, i;

    nb = calloc(n, sizeof(entry_t *));
    if (nb == NULL) {
        return -1;
    }
    for (i = 0; i < c->nbuckets; i++) {
        for (e = c->buckets[i]; e != NULL; e = next) {
            next = e->chain;
            e->chain = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
        }
    }
    free(c->buckets);
    c->buckets = nb;
    c->nbuckets = n;
    return 0;
}


static void
remove_entry(dcache_t *c, entry_t **slot)
{
    entry_t  *e = *slot;

    *slot = e->chain;
    unlink_lru(c, e);
    c->n--;
    free(e);
}
