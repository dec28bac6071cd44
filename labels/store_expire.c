/* store_expire.c - Removing series: idle ones of families with a ttl
 * (store_expire()), and those of collected families not set in a round
 * (store_collect.c).  A removed series leaves the index, its id is
 * reused, and its label block waits in the graves until no snapshot taken
 * before can read it.
 *
 * Allocation: aborts (lib/alloc.h); expiry cannot report a failure.
 */

#include "labels/store.h"

#include <stdlib.h>
#include <string.h>

#include "labels/store_internal.h"
#include "lib/alloc.h"


static void graves_free(store_t *s);


void
store_set_clock(store_t *s, uint32_t now)
{
    s->now = now;
}


size_t
store_expire(store_t *s)
{
    store_family_t  *f;
    series_meta_t   *m;
    size_t           n = 0;
    uint32_t         id;

    for (f = s->first; f != NULL; f = f->next) {
        if (f->ttl == 0 || s->now < f->next_sweep) {
            continue;
        }
        f->next_sweep = s->now + (f->ttl / 10 > 1 ? f->ttl / 10 : 1);
        for (id = 0; id < f->nseries; id++) {
            m = &SERIES_META(f, id);
            if (m->labels != NULL && s->now - m->touched > f->ttl) {
                store_series_remove(f, id);
                n++;
            }
        }
    }
    store_sweep_done(s, n);
    return n;
}


/* Forgets an idle series: out of the index (backward-shift deletion keeps
 * linear probing correct without tombstones), values zeroed, id reused,
 * labels freed once no snapshot can read them. */
void
store_series_remove(store_family_t *f, uint32_t id)
{
    store_t        *s = f->store;
    series_meta_t  *m = &SERIES_META(f, id);
    size_t          mask = f->index_cap - 1, i, j, k;

    for (i = m->hash & mask; f->index[i] != id; i = (i + 1) & mask) {
        /* Find the slot holding id. */
    }
    for (j = (i + 1) & mask; f->index[j] != NO_SERIES; j = (j + 1) & mask) {
        k = SERIES_META(f, f->index[j]).hash & mask;
        /* Leave the entry at j if its home slot k lies in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        f->index[i] = f->index[j];
        i = j;
    }
    f->index[i] = NO_SERIES;

    if (f->pub.native) {
        native_free(series_native_get(SERIES_VALS(f, id), &f->pub));
    }
    memset(SERIES_VALS(f, id), 0,
           f->stride * sizeof(uint64_t));
    if (f->ex != NULL) {
        exemplar_set_clear(f->ex, id);
    }
    if (s->ngraves == s->graves_cap) {
        s->graves_cap = s->graves_cap ? s->graves_cap * 2 : 64;
        s->graves = xrealloc(s->graves, s->graves_cap * sizeof(grave_t));
    }
    s->graves[s->ngraves].labels = (char *) m->labels;
    s->graves[s->ngraves].epoch = s->epoch;
    s->ngraves++;
    m->labels = NULL;
    if (f->nfree == f->free_cap) {
        f->free_cap = f->free_cap ? f->free_cap * 2 : 64;
        f->free_ids = xrealloc(f->free_ids, f->free_cap * sizeof(uint32_t));
    }
    f->free_ids[f->nfree++] = id;
    f->nlive--;
    f->expired += f->ttl > 0;
    if (id == f->overflow_id) {
        f->overflow_id = NO_SERIES;
    }
}


/* After a sweep that removed n series: a new epoch when n > 0 (the
 * graves of this sweep are read only by snapshots taken before it), and
 * the graves no live snapshot can read are freed. */
void
store_sweep_done(store_t *s, size_t n)
{
    if (n > 0) {
        s->epoch++;
    }
    graves_free(s);
}


/* Frees the label blocks that every live snapshot was taken after. */
static void
graves_free(store_t *s)
{
    store_snap_t  *snap;
    uint64_t       oldest = UINT64_MAX;
    size_t         i, kept = 0;

    for (snap = s->active; snap != NULL; snap = snap->next) {
        if (snap->epoch < oldest) {
            oldest = snap->epoch;
        }
    }
    for (i = 0; i < s->ngraves; i++) {
        if (s->graves[i].epoch < oldest) {
            free(s->graves[i].labels);
        } else {
            s->graves[kept++] = s->graves[i];
        }
    }
    s->ngraves = kept;
}
