/* store_series.c - Series: found by the hash of their label values in
 * an open-addressing index, created with their labels packed (in the
 * family's arena, or one block each where series get removed), siblings
 * and the overflow series; counting into them.
 *
 * Allocation: nothing here can fail; running out of memory aborts
 * (lib/alloc.h).
 */

#include "labels/store.h"

#include <stdlib.h>
#include <string.h>

#include "labels/store_internal.h"
#include "lib/alloc.h"
#include "lib/hash.h"


static size_t labels_size(const strv_t *values, size_t n);
static void labels_pack(char *p, const strv_t *values, size_t n);
static const char *arena_pack(store_family_t *f, const strv_t *values);
static int labels_equal(const char *packed, const strv_t *values, size_t n);
static uint32_t series_find(store_family_t *f, const strv_t *values,
    uint64_t hash, size_t *slot);
static uint32_t series_create(store_family_t *f, const strv_t *values,
    uint64_t hash, size_t slot);
static void index_grow(store_family_t *f);
static void siblings_create(store_family_t *f, const strv_t *values);


uint32_t
store_series(store_family_t *f, const strv_t *values)
{
    uint64_t  hash;
    uint32_t  id;
    size_t    slot;
    strv_t    over[64];
    size_t    i;

    hash = hash_labels(values, f->pub.nlabels);
    id = series_find(f, values, hash, &slot);
    if (id != NO_SERIES) {
        if (f->ttl) {
            SERIES_META(f, id).touched = f->store->now;
        } else if (f->collected) {
            SERIES_META(f, id).touched =
                f->store->round;
        }
        return id;
    }

    if (f->max_series == 0 || f->nlive < f->max_series) {
        id = series_create(f, values, hash, slot);
        if (f->sibling_label >= 0) {
            siblings_create(f, values);
        }
        return id;
    }

    /* Over the cap: fold into the overflow series. */
    f->overflowed++;
    if (f->overflow_id == NO_SERIES) {
        for (i = 0; i < f->pub.nlabels && i < 64; i++) {
            over[i] = STRV(STORE_OVERFLOW_VALUE);
        }
        hash = hash_labels(over, f->pub.nlabels);
        f->overflow_id = series_find(f, over, hash, &slot);
        if (f->overflow_id == NO_SERIES) {
            f->overflow_id = series_create(f, over, hash, slot);
        }
    }
    return f->overflow_id;
}


uint32_t
store_series_str(store_family_t *f, const char *const *values)
{
    strv_t  v[16];
    size_t  i;

    for (i = 0; i < f->pub.nlabels && i < 16; i++) {
        v[i].p = values[i];
        v[i].len = strlen(values[i]);
    }
    return store_series(f, v);
}


void
store_add(store_family_t *f, uint32_t id, uint64_t n)
{
    *SERIES_VALS(f, id) += n;
}


void
store_observe(store_family_t *f, uint32_t id, double raw)
{
    uint64_t  *v;
    native_t  *n;
    double     x, sum;
    size_t     i, nb;

    v = SERIES_VALS(f, id);
    nb = f->pub.nbuckets;
    x = f->pub.divisor > 0 ? raw / f->pub.divisor : raw * f->pub.scale;
    for (i = 0; i < nb && !(x <= f->pub.buckets[i]); i++) {
        /* Find the first bucket whose bound is >= x. */
    }
    v[i]++;
    memcpy(&sum, &v[nb + 1], sizeof(sum));
    sum += raw;
    memcpy(&v[nb + 1], &sum, sizeof(sum));
    if (f->pub.native) {
        n = series_native_get(v, &f->pub);
        native_observe(&n, x, f->pub.native_schema,
                       f->pub.native_max_buckets);
        series_native_set(v, &f->pub, n);
    }
}


void
store_merge(store_family_t *f, uint32_t id, const uint64_t *counts,
    double raw_sum)
{
    uint64_t  *v;
    double     sum;
    size_t     i, nb = f->pub.nbuckets;

    v = SERIES_VALS(f, id);
    if (f->pub.type == STORE_COUNTER) {
        v[0] += counts[0];
        return;
    }
    for (i = 0; i <= nb; i++) {
        v[i] += counts[i];
    }
    memcpy(&sum, &v[nb + 1], sizeof(sum));
    sum += raw_sum;
    memcpy(&v[nb + 1], &sum, sizeof(sum));
}


void
store_merge_native(store_family_t *f, uint32_t id, const native_t *n)
{
    uint64_t  *v;
    native_t  *dst;

    if (!f->pub.native) {
        return;
    }
    v = SERIES_VALS(f, id);
    dst = series_native_get(v, &f->pub);
    if (dst == NULL) {
        dst = native_dup(n);
    } else {
        native_merge(&dst, n, f->pub.native_schema,
                     f->pub.native_max_buckets);
    }
    series_native_set(v, &f->pub, dst);
}


/* Bytes the values take packed: (u32 length, bytes) per label. */
static size_t
labels_size(const strv_t *values, size_t n)
{
    size_t  i, need = 0;

    for (i = 0; i < n; i++) {
        need += sizeof(uint32_t) + values[i].len;
    }
    return need;
}


/* Packs the values at p (labels_size() bytes). */
static void
labels_pack(char *p, const strv_t *values, size_t n)
{
    uint32_t  len;
    size_t    i;

    for (i = 0; i < n; i++) {
        len = (uint32_t) values[i].len;
        memcpy(p, &len, sizeof(len));
        if (len) {
            memcpy(p + sizeof(len), values[i].p, len);
        }
        p += sizeof(len) + len;
    }
}


/* Copies the values, packed, into the family's arena. */
static const char *
arena_pack(store_family_t *f, const strv_t *values)
{
    arena_block_t  *b;
    size_t          need, cap;
    char           *start;

    need = labels_size(values, f->pub.nlabels);
    b = f->arena;
    if (b == NULL || b->cap - b->used < need) {
        cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        b = xmalloc(sizeof(*b) + cap);
        b->used = 0;
        b->cap = cap;
        b->next = f->arena;
        f->arena = b;
    }
    start = b->data + b->used;
    labels_pack(start, values, f->pub.nlabels);
    b->used += need;
    return start;
}


static int
labels_equal(const char *packed, const strv_t *values, size_t n)
{
    uint32_t  len;
    size_t    i;

    for (i = 0; i < n; i++) {
        memcpy(&len, packed, sizeof(len));
        packed += sizeof(len);
        if (len != values[i].len
            || (len && memcmp(packed, values[i].p, len) != 0))
        {
            return 0;
        }
        packed += len;
    }
    return 1;
}


/* Returns the series id, or NO_SERIES with *slot set to the free index
 * slot where it belongs. */
static uint32_t
series_find(store_family_t *f, const strv_t *values, uint64_t hash,
    size_t *slot)
{
    size_t          mask = f->index_cap - 1, i;
    uint32_t        id;
    series_meta_t  *m;

    for (i = hash & mask; ; i = (i + 1) & mask) {
        id = f->index[i];
        if (id == NO_SERIES) {
            *slot = i;
            return NO_SERIES;
        }
        m = &SERIES_META(f, id);
        if (m->hash == hash
            && labels_equal(m->labels, values, f->pub.nlabels))
        {
            return id;
        }
    }
}


static uint32_t
series_create(store_family_t *f, const strv_t *values, uint64_t hash,
    size_t slot)
{
    uint32_t         id = (uint32_t) f->nseries;
    size_t           c = id >> CHUNK_SHIFT;
    series_meta_t   *m;
    char            *p;

    if (f->nfree > 0) {
        id = f->free_ids[--f->nfree];       /* an expired series' id */
        c = id >> CHUNK_SHIFT;
    } else if (c == f->nchunks) {
        f->meta = xrealloc(f->meta, (c + 1) * sizeof(*f->meta));
        f->vals = xrealloc(f->vals, (c + 1) * sizeof(*f->vals));
        f->meta[c] = xcalloc(CHUNK_SERIES, sizeof(series_meta_t));
        f->vals[c] = xcalloc(CHUNK_SERIES * f->stride, sizeof(uint64_t));
        f->nchunks++;
    }
    m = &f->meta[c][id & CHUNK_MASK];
    m->hash = hash;
    m->touched = f->collected ? f->store->round : f->store->now;
    if (f->ttl == 0 && !f->collected) {
        m->labels = arena_pack(f, values);
    } else {
        /* Expiring series free their labels one by one (+ 1: not NULL
         * even when empty). */
        p = xmalloc(labels_size(values, f->pub.nlabels) + 1);
        labels_pack(p, values, f->pub.nlabels);
        m->labels = p;
    }
    f->index[slot] = id;
    if (id == f->nseries) {
        f->nseries++;
    }
    f->nlive++;

    /* Keep the load factor at or below one half. */
    if (f->nlive * 2 > f->index_cap) {
        index_grow(f);
    }
    return id;
}


static void
index_grow(store_family_t *f)
{
    uint32_t  *index;
    size_t     cap = f->index_cap * 2, mask = cap - 1, i, j;
    uint32_t   id;

    index = xmalloc(cap * sizeof(uint32_t));
    memset(index, 0xff, cap * sizeof(uint32_t));
    for (i = 0; i < f->index_cap; i++) {
        id = f->index[i];
        if (id == NO_SERIES) {
            continue;
        }
        j = SERIES_META(f, id).hash & mask;
        while (index[j] != NO_SERIES) {
            j = (j + 1) & mask;
        }
        index[j] = id;
    }
    free(f->index);
    f->index = index;
    f->index_cap = cap;
}


/* Creates, at zero, the series that differ from values only in the
 * sibling label, taking each of the configured sibling values. */
static void
siblings_create(store_family_t *f, const strv_t *values)
{
    strv_t    v[64];
    uint64_t  hash;
    size_t    i, slot, n = f->pub.nlabels;

    if (n > 64) {
        return;
    }
    memcpy(v, values, n * sizeof(strv_t));
    for (i = 0; i < f->nsibling_values; i++) {
        if (f->max_series != 0 && f->nlive >= f->max_series) {
            return;
        }
        v[f->sibling_label].p = f->sibling_values[i];
        v[f->sibling_label].len = strlen(f->sibling_values[i]);
        hash = hash_labels(v, n);
        if (series_find(f, v, hash, &slot) == NO_SERIES) {
            series_create(f, v, hash, slot);
        }
    }
}
