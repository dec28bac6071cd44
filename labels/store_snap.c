/* store_snap.c - Snapshots: every value copied under the lock, the
 * labels read after it (chunks never move; label blocks of removed series
 * wait in the graves while a snapshot taken before can read them); and
 * the carry of a reload, from a snapshot of the old store.
 */

#include "labels/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labels/store_internal.h"


static int snap_natives(snap_family_t *sf);


store_snap_t *
store_snapshot(store_t *s)
{
    return store_snapshot_collect(s, NULL);
}


store_snap_t *
store_snapshot_collect(store_t *s, void *arg)
{
    store_snap_t    *snap;
    store_family_t  *f;
    snap_family_t   *sf;
    size_t           i, c, n, per, id;

    snap = calloc(1, sizeof(*snap));
    if (snap == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    if (s->ncollectors > 0) {
        store_collect_round(s, arg);
    }
    snap->store = s;
    snap->epoch = s->epoch;
    snap->next = s->active;
    if (s->active != NULL) {
        s->active->prev = snap;
    }
    s->active = snap;
    snap->fams = calloc(s->nfamilies + 1, sizeof(snap_family_t));
    if (snap->fams == NULL) {
        goto err;
    }
    for (f = s->first, i = 0; f != NULL; f = f->next, i++) {
        sf = &snap->fams[i];
        sf->pub = f->pub;
        sf->pub.nseries = f->nseries;
        sf->pub.overflowed = f->overflowed;
        sf->pub.expired = f->expired;
        sf->stride = f->stride;
        snap->nfams = i + 1;
        if (f->nseries == 0) {
            continue;
        }
        if (f->ttl || f->collected) {
            /* Ids get reused: copy the live series' label blocks (kept
             * alive for this snapshot, see store_expire.c) and values. */
            sf->labels = malloc(f->nlive * sizeof(char *) + 1);
            sf->vals = malloc(f->nlive * f->stride * sizeof(uint64_t) + 1);
            if (sf->labels == NULL || sf->vals == NULL
                || (f->ex != NULL
                    && (sf->ex = exemplar_snap_new(f->ex, f->nlive)) == NULL))
            {
                goto err;
            }
            for (id = 0, n = 0; id < f->nseries; id++) {
                series_meta_t  *m = &SERIES_META(f, id);

                if (m->labels == NULL) {
                    continue;
                }
                sf->labels[n] = m->labels;
                memcpy(sf->vals + n * f->stride,
                       SERIES_VALS(f, id),
                       f->stride * sizeof(uint64_t));
                if (sf->ex != NULL
                    && exemplar_snap_copy(sf->ex, n, f->ex, (uint32_t) id) != 0)
                {
                    goto err;
                }
                n++;
            }
            sf->pub.nseries = n;
            if (sf->pub.native && snap_natives(sf) != 0) {
                goto err;
            }
            continue;
        }
        sf->meta = malloc(f->nchunks * sizeof(series_meta_t *));
        sf->vals = malloc(f->nseries * f->stride * sizeof(uint64_t));
        if (sf->meta == NULL || sf->vals == NULL) {
            goto err;
        }
        memcpy(sf->meta, f->meta, f->nchunks * sizeof(series_meta_t *));
        for (c = 0; c < f->nchunks; c++) {
            n = f->nseries - c * CHUNK_SERIES;
            per = n < CHUNK_SERIES ? n : CHUNK_SERIES;
            memcpy(sf->vals + c * CHUNK_SERIES * f->stride, f->vals[c],
                   per * f->stride * sizeof(uint64_t));
        }
        if (sf->pub.native && snap_natives(sf) != 0) {
            goto err;
        }
        if (f->ex != NULL) {
            /* The exemplars are part of the instant (README, "Scrapes
             * and ingestion"). */
            sf->ex = exemplar_snap_new(f->ex, f->nseries);
            for (id = 0; sf->ex != NULL && id < f->nseries; id++) {
                if (exemplar_snap_copy(sf->ex, id, f->ex, (uint32_t) id) != 0) {
                    goto err;
                }
            }
            if (sf->ex == NULL) {
                goto err;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    return snap;

err:
    pthread_mutex_unlock(&s->lock);
    store_snap_free(snap);
    return NULL;
}


void
store_snap_free(store_snap_t *snap)
{
    store_t  *s;
    size_t    i;

    if (snap == NULL) {
        return;
    }
    s = snap->store;
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        if (snap->prev != NULL) {
            snap->prev->next = snap->next;
        } else {
            s->active = snap->next;
        }
        if (snap->next != NULL) {
            snap->next->prev = snap->prev;
        }
        pthread_mutex_unlock(&s->lock);
    }
    for (i = 0; i < snap->nfams; i++) {
        free(snap->fams[i].meta);
        free((void *) snap->fams[i].labels);
        free(snap->fams[i].vals);
        free(snap->fams[i].natives);
        exemplar_snap_free(snap->fams[i].ex);
    }
    free(snap->fams);
    free(snap);
}


/* Copies the native buckets the values of sf point to (the store's, under
 * its lock) into one block, and points the values at the copies.  On
 * failure every pointer is cleared, so that nothing reads the store's
 * blocks after the lock.  Returns 0 or -1. */
static int
snap_natives(snap_family_t *sf)
{
    const native_t  *n;
    uint64_t        *v;
    size_t           j, size = 0, off = 0;

    for (j = 0; j < sf->pub.nseries; j++) {
        n = series_native_get(&sf->vals[j * sf->stride], &sf->pub);
        if (n != NULL) {
            size += (native_size(n) + 15) & ~(size_t) 15;
        }
    }
    sf->natives = size > 0 ? malloc(size) : NULL;
    for (j = 0; j < sf->pub.nseries; j++) {
        v = &sf->vals[j * sf->stride];
        n = series_native_get(v, &sf->pub);
        if (n == NULL) {
            continue;
        }
        if (sf->natives == NULL) {
            series_native_set(v, &sf->pub, NULL);
            continue;
        }
        series_native_set(v, &sf->pub, native_copy(sf->natives + off, n));
        off += (native_size(n) + 15) & ~(size_t) 15;
    }
    return size > 0 && sf->natives == NULL ? -1 : 0;
}


const native_t *
store_snap_native(const store_snap_t *snap, size_t i, size_t j)
{
    const snap_family_t  *sf = &snap->fams[i];

    if (!sf->pub.native) {
        return NULL;
    }
    return series_native_get(&sf->vals[j * sf->stride], &sf->pub);
}


size_t
store_snap_nfamilies(const store_snap_t *snap)
{
    return snap->nfams;
}


const store_snap_family_t *
store_snap_family(const store_snap_t *snap, size_t i)
{
    return &snap->fams[i].pub;
}


void
store_snap_labels(const store_snap_t *snap, size_t i, size_t j,
    strv_t *values)
{
    const snap_family_t  *sf = &snap->fams[i];
    const char           *p;
    uint32_t              len;
    size_t                k;

    p = sf->labels != NULL ? sf->labels[j]
                           : sf->meta[j >> CHUNK_SHIFT][j & CHUNK_MASK].labels;
    for (k = 0; k < sf->pub.nlabels; k++) {
        memcpy(&len, p, sizeof(len));
        values[k].p = p + sizeof(len);
        values[k].len = len;
        p += sizeof(len) + len;
    }
}


uint64_t
store_snap_counter(const store_snap_t *snap, size_t i, size_t j)
{
    return snap->fams[i].vals[j * snap->fams[i].stride];
}


double
store_snap_value(const store_snap_t *snap, size_t i, size_t j)
{
    const snap_family_t  *sf = &snap->fams[i];
    double                v;

    if (!sf->pub.collected) {
        return (double) sf->vals[j * sf->stride];
    }
    memcpy(&v, &sf->vals[j * sf->stride], sizeof(v));
    return v;
}


const uint64_t *
store_snap_buckets(const store_snap_t *snap, size_t i, size_t j,
    double *raw_sum)
{
    const snap_family_t  *sf = &snap->fams[i];
    const uint64_t       *v = &sf->vals[j * sf->stride];

    memcpy(raw_sum, &v[sf->pub.nbuckets + 1], sizeof(*raw_sum));
    return v;
}


size_t
store_carry(store_t *s, const store_snap_t *snap,
    int (*keep)(void *ctx, const char *family), void *ctx)
{
    const store_snap_family_t  *sf;
    store_family_t             *f;
    const uint64_t             *counts;
    const native_t             *nat;
    native_t                   *dst;
    strv_t                      values[64];
    uint64_t                    one, *v;
    uint32_t                    id;
    double                      sum;
    size_t                      i, j, n = 0;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        sf = store_snap_family(snap, i);
        f = store_family_find(s, sf->name);
        if (f == NULL || sf->nlabels > 64 || sf->type == STORE_GAUGE
            || f->collected
            || !store_family_compatible(f, sf->type, sf->labels, sf->nlabels,
                                        sf->buckets, sf->nbuckets)
            || (keep != NULL && !keep(ctx, sf->name)))
        {
            continue;
        }
        f->overflowed += sf->overflowed;
        for (j = 0; j < sf->nseries; j++) {
            store_snap_labels(snap, i, j, values);
            if (sf->type == STORE_COUNTER) {
                one = store_snap_counter(snap, i, j);
                counts = &one;
                sum = 0;
            } else {
                counts = store_snap_buckets(snap, i, j, &sum);
            }
            id = store_series(f, values);
            store_merge(f, id, counts, sum);
            nat = store_snap_native(snap, i, j);
            if (f->pub.native && nat != NULL) {
                v = SERIES_VALS(f, id);
                dst = series_native_get(v, &f->pub);
                native_merge(&dst, nat, f->pub.native_schema,
                             f->pub.native_max_buckets);
                series_native_set(v, &f->pub, dst);
            }
            if (f->ex != NULL) {
                store_exemplar_carry(f, id, snap, i, j);
            }
            n++;
        }
    }
    return n;
}
