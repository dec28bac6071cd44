/* store.c - Metric families and their labelled series: the store, its
 * families, the ingest lock.  store_internal.h has the layout and maps
 * the other files.
 */

#include "labels/store.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labels/store_internal.h"


store_t *
store_create(void)
{
    store_t  *s;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    return s;
}


void
store_destroy(store_t *s)
{
    store_family_t  *f, *next;
    size_t           i;

    if (s == NULL) {
        return;
    }
    for (f = s->first; f != NULL; f = next) {
        next = f->next;
        store_family_free(f);
    }
    for (i = 0; i < s->ngraves; i++) {
        free(s->graves[i].labels);
    }
    free(s->graves);
    free(s->collectors);
    pthread_mutex_destroy(&s->lock);
    free(s);
}


store_family_t *
store_family_add(store_t *s, const store_family_def_t *def)
{
    store_family_t  *f;

    f = store_family_new(s, def);
    if (f == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    store_family_link(s, f);
    pthread_mutex_unlock(&s->lock);
    return f;
}


/* A family as def says, not yet in the store.  NULL when memory runs
 * out. */
store_family_t *
store_family_new(store_t *s, const store_family_def_t *def)
{
    store_family_t  *f;
    char           **labels;
    double          *buckets;
    size_t           i;

    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }
    f->pub.name = strdup(def->name);
    f->pub.help = strdup(def->help ? def->help : "");
    f->pub.type = def->type;
    labels = calloc(def->nlabels + 1, sizeof(char *));
    f->pub.labels = (const char *const *) labels;
    if (f->pub.name == NULL || f->pub.help == NULL || labels == NULL) {
        goto err;
    }
    f->pub.nlabels = def->nlabels;
    for (i = 0; i < def->nlabels; i++) {
        labels[i] = strdup(def->labels[i]);
        if (labels[i] == NULL) {
            goto err;
        }
    }

    if (def->type == STORE_HISTOGRAM) {
        buckets = calloc(def->nbuckets + 1, sizeof(double));
        if (buckets == NULL) {
            goto err;
        }
        memcpy(buckets, def->buckets, def->nbuckets * sizeof(double));
        f->pub.buckets = buckets;
        f->pub.nbuckets = def->nbuckets;
        f->stride = def->nbuckets + 2;
        if (def->native_factor > 1) {
            f->stride++;                /* the native_t pointer */
            f->pub.native = 1;
            f->pub.native_schema = native_schema_for_factor(
                                       def->native_factor);
            f->pub.native_factor = def->native_factor;
            f->pub.native_max_buckets = def->native_max_buckets;
        }
    } else {
        f->stride = 1;
    }

    /* A scale of 1/N with N integral divides by N instead: ms / 1000 is
     * correctly rounded, ms * 0.001 is not (5 * 0.001 > 0.005). */
    f->pub.scale = def->scale > 0 ? def->scale : 1.0;
    f->pub.divisor = 0;
    if (f->pub.scale < 1.0) {
        double  n = nearbyint(1.0 / f->pub.scale);

        if (n >= 1.0 && fabs(1.0 / n - f->pub.scale) <= 1e-12 * f->pub.scale) {
            f->pub.divisor = n;
        }
    }

    f->max_series = def->max_series;
    f->ttl = def->ttl > 0 ? (uint32_t) (def->ttl < 1 ? 1 : def->ttl) : 0;
    f->collected = def->collected;
    f->pub.collected = def->collected;
    f->store = s;
    f->sibling_label = def->sibling_label;
    if (def->sibling_label >= 0) {
        f->sibling_values = calloc(def->nsibling_values + 1, sizeof(char *));
        if (f->sibling_values == NULL) {
            goto err;
        }
        f->nsibling_values = def->nsibling_values;
        for (i = 0; i < def->nsibling_values; i++) {
            f->sibling_values[i] = strdup(def->sibling_values[i]);
            if (f->sibling_values[i] == NULL) {
                goto err;
            }
        }
    }
    if (def->exemplar_label != NULL && !def->collected) {
        f->ex = exemplar_set_create(def->exemplar_label,
                                    def->type == STORE_HISTOGRAM
                                    ? def->nbuckets + 1 : 1);
        if (f->ex == NULL) {
            goto err;
        }
        f->pub.exemplar_label = exemplar_set_label(f->ex);
    }
    f->overflow_id = NO_SERIES;
    f->index_cap = 64;
    f->index = malloc(f->index_cap * sizeof(uint32_t));
    if (f->index == NULL) {
        goto err;
    }
    memset(f->index, 0xff, f->index_cap * sizeof(uint32_t));
    return f;

err:
    store_family_free(f);
    return NULL;
}


/* Appends f to the store's families.  Caller holds the lock. */
void
store_family_link(store_t *s, store_family_t *f)
{
    if (s->last) {
        s->last->next = f;
    } else {
        s->first = f;
    }
    s->last = f;
    s->nfamilies++;
}


void
store_family_free(store_family_t *f)
{
    arena_block_t  *b, *next;
    size_t          i;

    for (i = 0; i < f->pub.nlabels; i++) {
        free((char *) f->pub.labels[i]);
    }
    free((void *) f->pub.labels);
    free((void *) f->pub.buckets);
    free((char *) f->pub.name);
    free((char *) f->pub.help);
    for (i = 0; i < f->nsibling_values; i++) {
        free(f->sibling_values[i]);
    }
    free(f->sibling_values);
    exemplar_set_free(f->ex);
    for (i = 0; (f->ttl || f->collected) && i < f->nseries; i++) {
        free((char *) SERIES_META(f, i).labels);
    }
    for (i = 0; f->pub.native && i < f->nseries; i++) {
        native_free(series_native_get(SERIES_VALS(f, i), &f->pub));
    }
    for (i = 0; i < f->nchunks; i++) {
        free(f->meta[i]);
        free(f->vals[i]);
    }
    free(f->free_ids);
    free(f->meta);
    free(f->vals);
    free(f->index);
    for (b = f->arena; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(f);
}


store_family_t *
store_family_find(store_t *s, const char *name)
{
    store_family_t  *f;

    for (f = s->first; f != NULL; f = f->next) {
        if (strcmp(f->pub.name, name) == 0) {
            return f;
        }
    }
    return NULL;
}


const store_snap_family_t *
store_family_info(const store_family_t *f)
{
    return &f->pub;
}


size_t
store_family_size(const store_family_t *f)
{
    return f->nlive;
}


int
store_family_compatible(const store_family_t *f, store_type_t type,
    const char *const *labels, size_t nlabels, const double *buckets,
    size_t nbuckets)
{
    size_t  i;

    if (f->pub.type != type || f->pub.nlabels != nlabels
        || (type == STORE_HISTOGRAM && f->pub.nbuckets != nbuckets))
    {
        return 0;
    }
    for (i = 0; i < nlabels; i++) {
        if (strcmp(f->pub.labels[i], labels[i]) != 0) {
            return 0;
        }
    }
    for (i = 0; type == STORE_HISTOGRAM && i < nbuckets; i++) {
        if (f->pub.buckets[i] != buckets[i]) {
            return 0;
        }
    }
    return 1;
}


void
store_add_overflowed(store_family_t *f, uint64_t n)
{
    f->overflowed += n;
}


void
store_ingest_lock(store_t *s)
{
    pthread_mutex_lock(&s->lock);
}


void
store_ingest_unlock(store_t *s)
{
    pthread_mutex_unlock(&s->lock);
}
