/* dims_table.c - The rows of a CSV dimension table: a flat open-addressing
 * map over one arena of records (see dims_table.h). */

#include "labels/dims_table.h"

#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"


#define DTAB_SEED   0x452821e638d01377ULL   /* of a key's hash */
#define UNIT        8                       /* records are 8-byte aligned */

/* A slot: the high half of the hash and where the record starts, in
 * units of 8 bytes from the arena's start; off 0 is an empty slot (the
 * arena's first unit is never a record). */
typedef struct {
    uint32_t    tag;
    uint32_t    off;
} slot_t;

/* A record, at arena + off * UNIT:
 *
 *   strv_t     provided[nprovides]   views of the bytes below
 *   uint32_t   keylen[nkeys]
 *   char       key bytes, one key after the other
 *   char       provided bytes
 *
 * dtab_find() returns the record's address (its provided views). */
struct dtab {
    slot_t     *slots;
    size_t      mask;           /* capacity - 1 */
    size_t      n;              /* distinct rows */
    size_t      nkeys, nprov;
    size_t      inserted, max_rows;
    char       *arena;          /* owned; never moves */
    size_t      used, cap;      /* bytes */
};


static int rec_keys_eq(const dtab_t *t, const char *rec, const strv_t *keys);
static inline int bytes_eq(const char *a, const char *b, size_t n);


uint64_t
dtab_hash(const strv_t *keys, size_t nkeys)
{
    uint64_t  h = DTAB_SEED;
    size_t    i;

    for (i = 0; i < nkeys; i++) {
        h = hash_fast(keys[i].p, keys[i].len, h + i);
    }
    return h;
}


dtab_t *
dtab_create(size_t nkeys, size_t nprovides, size_t max_rows,
    size_t max_bytes)
{
    dtab_t  *t;
    size_t   cap = 16, per;

    per = nprovides * sizeof(strv_t) + nkeys * sizeof(uint32_t) + UNIT - 1;
    if (max_bytes > SIZE_MAX / 4
        || max_rows > (SIZE_MAX / 4 - max_bytes) / (per + 1))
    {
        return NULL;
    }
    while (cap < max_rows * 2) {
        cap *= 2;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->nkeys = nkeys;
    t->nprov = nprovides;
    t->max_rows = max_rows;
    t->mask = cap - 1;
    t->used = UNIT;
    t->cap = UNIT + max_rows * per + max_bytes;
    if (t->cap / UNIT > UINT32_MAX) {
        free(t);
        return NULL;                    /* 32 GiB: offsets do not fit */
    }
    t->slots = calloc(cap, sizeof(slot_t));
    t->arena = malloc(t->cap);
    if (t->slots == NULL || t->arena == NULL) {
        dtab_destroy(t);
        return NULL;
    }
    return t;
}


void
dtab_destroy(dtab_t *t)
{
    if (t == NULL) {
        return;
    }
    free(t->slots);
    free(t->arena);
    free(t);
}


int
dtab_insert(dtab_t *t, const strv_t *cols, uint64_t h)
{
    const strv_t  *keys = cols, *prov = cols + t->nkeys;
    size_t         size, i;
    uint32_t       tag = (uint32_t) (h >> 32), off, *klen;
    strv_t        *views;
    slot_t        *s;
    char          *rec, *w;

    size = t->nprov * sizeof(strv_t) + t->nkeys * sizeof(uint32_t);
    for (i = 0; i < t->nkeys + t->nprov; i++) {
        size += cols[i].len;
    }
    size = (size + UNIT - 1) / UNIT * UNIT;
    if (t->inserted == t->max_rows || size > t->cap - t->used) {
        return -1;
    }

    /* The record first: it is written where nothing points yet. */
    rec = t->arena + t->used;
    off = (uint32_t) (t->used / UNIT);
    views = (strv_t *) (void *) rec;
    klen = (uint32_t *) (void *) (views + t->nprov);
    w = (char *) (klen + t->nkeys);
    for (i = 0; i < t->nkeys; i++) {
        klen[i] = (uint32_t) keys[i].len;
        if (keys[i].len > 0) {
            memcpy(w, keys[i].p, keys[i].len);
        }
        w += keys[i].len;
    }
    for (i = 0; i < t->nprov; i++) {
        if (prov[i].len > 0) {
            memcpy(w, prov[i].p, prov[i].len);
        }
        views[i].p = w;
        views[i].len = prov[i].len;
        w += prov[i].len;
    }

    for (i = h & t->mask; ; i = (i + 1) & t->mask) {
        s = &t->slots[i];
        if (s->off == 0) {
            t->n++;
            break;
        }
        if (s->tag == tag
            && rec_keys_eq(t, t->arena + (size_t) s->off * UNIT, keys))
        {
            break;                      /* a later row wins */
        }
    }
    s->tag = tag;
    s->off = off;
    t->used += size;
    t->inserted++;
    return 0;
}


const strv_t *
dtab_find(const dtab_t *t, const strv_t *keys, uint64_t h)
{
    const slot_t  *s;
    const char    *rec;
    uint32_t       tag = (uint32_t) (h >> 32);
    size_t         i;

    for (i = h & t->mask; ; i = (i + 1) & t->mask) {
        s = &t->slots[i];
        if (s->off == 0) {
            return NULL;
        }
        if (s->tag != tag) {
            continue;
        }
        rec = t->arena + (size_t) s->off * UNIT;
        if (rec_keys_eq(t, rec, keys)) {
            return (const strv_t *) (const void *) rec;
        }
    }
}


int
dtab_row_is(const dtab_t *t, const strv_t *row, const strv_t *keys)
{
    return rec_keys_eq(t, (const char *) row, keys);
}


size_t
dtab_size(const dtab_t *t)
{
    return t->n;
}


size_t
dtab_capacity(const dtab_t *t)
{
    return t->mask + 1;
}


/* 1 when the record's keys equal keys[0..nkeys). */
static int
rec_keys_eq(const dtab_t *t, const char *rec, const strv_t *keys)
{
    const uint32_t  *klen;
    const char      *b;
    size_t           k;

    klen = (const uint32_t *) (const void *) (rec + t->nprov * sizeof(strv_t));
    b = (const char *) (klen + t->nkeys);
    for (k = 0; k < t->nkeys; k++) {
        if (klen[k] != keys[k].len || !bytes_eq(b, keys[k].p, klen[k])) {
            return 0;
        }
        b += klen[k];
    }
    return 1;
}


/* memcmp(a, b, n) == 0 for the short values of dimension keys, without a
 * call: words of 8 (the last one overlapping), or two overlapping words
 * of 4, or three bytes that cover every position of 1 to 3. */
static inline int
bytes_eq(const char *a, const char *b, size_t n)
{
    uint64_t  x, y;
    uint32_t  u, v;

    if (n >= 8) {
        for (; n > 8; n -= 8, a += 8, b += 8) {
            memcpy(&x, a, 8);
            memcpy(&y, b, 8);
            if (x != y) {
                return 0;
            }
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        if (u != v) {
            return 0;
        }
        memcpy(&u, a + n - 4, 4);
        memcpy(&v, b + n - 4, 4);
        return u == v;
    }
    return n == 0
           || (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
}
