/* store_collect.c - Collectors and the collected families they set
 * (store.h, "Collected families"): gauges, or counters kept by their
 * owner, holding doubles and exactly the series set in the last round.
 */

#include "labels/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labels/store_internal.h"


int
store_collector_add(store_t *s, store_collect_fn fn, void *ctx)
{
    void  *p;

    pthread_mutex_lock(&s->lock);
    p = realloc(s->collectors, (s->ncollectors + 1) * sizeof(*s->collectors));
    if (p == NULL) {
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    s->collectors = p;
    s->collectors[s->ncollectors].fn = fn;
    s->collectors[s->ncollectors].ctx = ctx;
    s->ncollectors++;
    pthread_mutex_unlock(&s->lock);
    return 0;
}


void
store_collector_del(store_t *s, store_collect_fn fn, void *ctx)
{
    size_t  i;

    pthread_mutex_lock(&s->lock);
    for (i = 0; i < s->ncollectors; i++) {
        if (s->collectors[i].fn == fn && s->collectors[i].ctx == ctx) {
            memmove(&s->collectors[i], &s->collectors[i + 1],
                    (s->ncollectors - i - 1) * sizeof(*s->collectors));
            s->ncollectors--;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}


store_family_t *
store_family_get(store_t *s, const store_family_def_t *def)
{
    store_family_def_t   d = *def;
    store_family_t      *f;

    f = store_family_find(s, def->name);
    if (f != NULL) {
        return f->collected ? f : NULL;
    }
    d.collected = 1;
    d.ttl = 0;
    d.max_series = 0;
    d.sibling_label = -1;
    f = store_family_new(s, &d);
    if (f != NULL) {
        store_family_link(s, f);
    }
    return f;
}


void
store_set(store_family_t *f, uint32_t id, double v)
{
    memcpy(SERIES_VALS(f, id), &v,
           sizeof(v));
}


/* Runs the collectors, then drops the series of collected families that
 * none of them set in this round.  Lock held. */
void
store_collect_round(store_t *s, void *arg)
{
    store_family_t  *f;
    series_meta_t   *m;
    uint32_t         id;
    size_t           i, n = 0;

    s->round++;
    for (i = 0; i < s->ncollectors; i++) {
        s->collectors[i].fn(s->collectors[i].ctx, s, arg);
    }
    for (f = s->first; f != NULL; f = f->next) {
        for (id = 0; f->collected && id < f->nseries; id++) {
            m = &SERIES_META(f, id);
            if (m->labels != NULL && m->touched != s->round) {
                store_series_remove(f, id);
                n++;
            }
        }
    }
    store_sweep_done(s, n);
}
