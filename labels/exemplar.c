/* exemplar.c - Exemplar sets: the latest exemplar per slot (bucket) of
 * each series, in chunks of series allocated on first use; and their
 * copies for snapshots.
 *
 * A slot keeps a value of up to EX_INLINE bytes in place (a W3C trace id
 * is 32 hex digits, a UUID 36 characters); a longer one goes to a block of
 * its own, kept and reused by the slot's later exemplars, so that
 * recording allocates nothing in the steady state.
 */

#include "labels/exemplar.h"

#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"


#define EX_CHUNK_SHIFT  10
#define EX_CHUNK        (1u << EX_CHUNK_SHIFT)
#define EX_CHUNK_MASK   (EX_CHUNK - 1)
#define EX_INLINE       40

typedef struct {
    double      v;
    int64_t     ts_ms;          /* 0: no exemplar */
    char       *big;            /* malloc()ed, big_cap bytes, or NULL */
    uint32_t    big_cap;
    uint32_t    len;
    char        inl[EX_INLINE];
} ex_slot_t;

struct exemplar_set {
    char        *label;
    size_t       label_runes;
    size_t       nslots;        /* per series */
    ex_slot_t  **chunks;        /* EX_CHUNK series each, or NULL */
    size_t       nchunks;
};

/* A snapshot's exemplar: its value at off in the copy's bytes. */
typedef struct {
    double      v;
    int64_t     ts_ms;          /* 0: none */
    size_t      off;
    size_t      len;
} ex_copy_t;

struct exemplar_snap {
    size_t       nslots;
    size_t       nseries;
    ex_copy_t   *copies;        /* nseries * nslots */
    char        *bytes;
    size_t       used;
    size_t       cap;
};


static size_t runes(const char *p, size_t len);
static ex_slot_t *slot_at(const exemplar_set_t *ex, uint32_t id, size_t k);


exemplar_set_t *
exemplar_set_create(const char *label, size_t nslots)
{
    exemplar_set_t  *ex;

    ex = calloc(1, sizeof(*ex));
    if (ex == NULL) {
        return NULL;
    }
    ex->label = strdup(label);
    if (ex->label == NULL) {
        goto err;
    }
    ex->label_runes = runes(label, strlen(label));
    ex->nslots = nslots > 0 ? nslots : 1;
    return ex;

err:
    exemplar_set_free(ex);
    return NULL;
}


void
exemplar_set_free(exemplar_set_t *ex)
{
    size_t  c, i;

    if (ex == NULL) {
        return;
    }
    for (c = 0; c < ex->nchunks; c++) {
        for (i = 0; ex->chunks[c] != NULL && i < EX_CHUNK * ex->nslots; i++) {
            free(ex->chunks[c][i].big);
        }
        free(ex->chunks[c]);
    }
    free(ex->chunks);
    free(ex->label);
    free(ex);
}


const char *
exemplar_set_label(const exemplar_set_t *ex)
{
    return ex->label;
}


int
exemplar_fits(const exemplar_set_t *ex, strv_t value)
{
    /* Short values fit without counting. */
    if (ex->label_runes + value.len <= EXEMPLAR_MAX_RUNES) {
        return 1;
    }
    return ex->label_runes + runes(value.p, value.len) <= EXEMPLAR_MAX_RUNES;
}


void
exemplar_set_put(exemplar_set_t *ex, uint32_t id, size_t k, strv_t value,
    double v, int64_t ts_ms)
{
    ex_slot_t  *s;
    size_t      c = id >> EX_CHUNK_SHIFT, n;

    if (c >= ex->nchunks) {
        n = c + 1;
        ex->chunks = xrealloc(ex->chunks, n * sizeof(ex_slot_t *));
        memset(ex->chunks + ex->nchunks, 0,
               (n - ex->nchunks) * sizeof(ex_slot_t *));
        ex->nchunks = n;
    }
    if (ex->chunks[c] == NULL) {
        ex->chunks[c] = xcalloc(EX_CHUNK * ex->nslots, sizeof(ex_slot_t));
    }
    s = &ex->chunks[c][(id & EX_CHUNK_MASK) * ex->nslots + k];
    if (value.len > EX_INLINE && value.len > s->big_cap) {
        s->big = xrealloc(s->big, value.len);
        s->big_cap = (uint32_t) value.len;
    }
    if (value.len > 0) {
        memcpy(value.len > EX_INLINE ? s->big : s->inl, value.p, value.len);
    }
    s->len = (uint32_t) value.len;
    s->v = v;
    /* 0 means none: an exemplar of the epoch's first millisecond is 1. */
    s->ts_ms = ts_ms != 0 ? ts_ms : 1;
}


void
exemplar_set_clear(exemplar_set_t *ex, uint32_t id)
{
    size_t  k;

    for (k = 0; k < ex->nslots; k++) {
        ex_slot_t  *s = slot_at(ex, id, k);

        if (s != NULL) {
            s->ts_ms = 0;
        }
    }
}


int
exemplar_set_get(const exemplar_set_t *ex, uint32_t id, size_t k,
    exemplar_t *out)
{
    const ex_slot_t  *s = slot_at(ex, id, k);

    if (s == NULL || s->ts_ms == 0) {
        return 0;
    }
    out->value.p = s->len > EX_INLINE ? s->big : s->inl;
    out->value.len = s->len;
    out->v = s->v;
    out->ts_ms = s->ts_ms;
    return 1;
}


exemplar_snap_t *
exemplar_snap_new(const exemplar_set_t *ex, size_t nseries)
{
    exemplar_snap_t  *es;

    es = calloc(1, sizeof(*es));
    if (es == NULL) {
        return NULL;
    }
    es->nslots = ex->nslots;
    es->nseries = nseries;
    es->copies = calloc(nseries * ex->nslots + 1, sizeof(ex_copy_t));
    if (es->copies == NULL) {
        goto err;
    }
    return es;

err:
    exemplar_snap_free(es);
    return NULL;
}


/* Returns 0, or -1 when memory runs out. */
int
exemplar_snap_copy(exemplar_snap_t *es, size_t j, const exemplar_set_t *ex,
    uint32_t id)
{
    exemplar_t   e;
    ex_copy_t   *c;
    char        *p;
    size_t       k, cap;

    for (k = 0; k < es->nslots; k++) {
        c = &es->copies[j * es->nslots + k];
        c->ts_ms = 0;
        if (!exemplar_set_get(ex, id, k, &e)) {
            continue;
        }
        if (es->cap - es->used < e.value.len) {
            cap = es->cap ? es->cap * 2 : 4096;
            while (cap - es->used < e.value.len) {
                cap *= 2;
            }
            p = realloc(es->bytes, cap);
            if (p == NULL) {
                return -1;
            }
            es->bytes = p;
            es->cap = cap;
        }
        if (e.value.len > 0) {
            memcpy(es->bytes + es->used, e.value.p, e.value.len);
        }
        c->off = es->used;
        c->len = e.value.len;
        c->v = e.v;
        c->ts_ms = e.ts_ms;
        es->used += e.value.len;
    }
    return 0;
}


void
exemplar_snap_free(exemplar_snap_t *es)
{
    if (es == NULL) {
        return;
    }
    free(es->copies);
    free(es->bytes);
    free(es);
}


int
exemplar_snap_get(const exemplar_snap_t *es, size_t j, size_t k,
    exemplar_t *out)
{
    const ex_copy_t  *c;

    if (j >= es->nseries || k >= es->nslots) {
        return 0;
    }
    c = &es->copies[j * es->nslots + k];
    if (c->ts_ms == 0) {
        return 0;
    }
    out->value.p = es->bytes != NULL ? es->bytes + c->off : "";
    out->value.len = c->len;
    out->v = c->v;
    out->ts_ms = c->ts_ms;
    return 1;
}


/* Code points of valid UTF-8: the bytes that are not continuations. */
static size_t
runes(const char *p, size_t len)
{
    size_t  i, n = 0;

    for (i = 0; i < len; i++) {
        n += ((unsigned char) p[i] & 0xc0) != 0x80;
    }
    return n;
}


static ex_slot_t *
slot_at(const exemplar_set_t *ex, uint32_t id, size_t k)
{
    size_t  c = id >> EX_CHUNK_SHIFT;

    if (c >= ex->nchunks || ex->chunks[c] == NULL || k >= ex->nslots) {
        return NULL;
    }
    return &ex->chunks[c][(id & EX_CHUNK_MASK) * ex->nslots + k];
}
