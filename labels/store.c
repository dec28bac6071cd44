/* store.c - Metric families and their labelled series.
 *
 * Layout of a family:
 *   meta[]    per series: hash and a pointer to its packed label values
 *             (u32 length + bytes, per label), in chunks that never move;
 *   vals[]    per series: stride u64 slots (counter: 1; histogram: one per
 *             bucket incl. +Inf, then the raw sum as a double), in chunks;
 *   index[]   open addressing table of series ids, keyed by hash.
 * Chunks keep every series at a fixed address, so a snapshot can copy the
 * chunk pointer arrays and read label bytes after the lock is released.
 *
 * Allocation (lib/alloc.h): store_create(), store_family_add(),
 * store_family_get(), store_collector_add() and store_snapshot() return
 * NULL (or -1) when memory runs out, having freed what they took; counting
 * (store_series() and what it calls, store_expire(), store_set()) cannot
 * fail and aborts instead.
 *
 * Collected families keep their labels like families with a ttl (one
 * malloc()ed block per series, freed through the graves once no snapshot
 * reads it), and use "touched" for the collection round that last set the
 * series: after the collectors run, a series not set in this round is
 * removed.
 */

#include "labels/store.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/hash.h"


#define CHUNK_SHIFT   12
#define CHUNK_SERIES  (1u << CHUNK_SHIFT)
#define CHUNK_MASK    (CHUNK_SERIES - 1)
#define ARENA_BLOCK   (64 * 1024)
#define NO_SERIES     UINT32_MAX

typedef struct {
    uint64_t        hash;
    const char     *labels;         /* packed, in the family's arena (or
                                     * malloc()ed when the family expires
                                     * series); NULL: a free id */
    uint32_t        touched;        /* store clock when last used, or
                                     * for a collected family the round
                                     * that last set it */
} series_meta_t;

/* A label block of an expired series, freed once no snapshot taken
 * before its removal can still read it. */
typedef struct {
    char           *labels;
    uint64_t        epoch;
} grave_t;

typedef struct arena_block arena_block_t;

struct arena_block {
    arena_block_t  *next;
    size_t          used;
    size_t          cap;
    char            data[];
};

struct store_family {
    store_snap_family_t  pub;       /* name, help, type, labels, buckets */
    size_t               stride;    /* u64 slots per series */
    uint64_t             max_series;
    int                  sibling_label;
    char               **sibling_values;
    size_t               nsibling_values;

    series_meta_t      **meta;      /* chunks */
    uint64_t           **vals;      /* chunks */
    size_t               nchunks;
    size_t               nseries;

    uint32_t            *index;
    size_t               index_cap; /* power of two */

    uint32_t             overflow_id;
    uint64_t             overflowed;

    /* Expiry of idle series (ttl > 0 only). */
    uint32_t             ttl;       /* seconds; 0: series never expire */
    int                  collected; /* set by collectors (store.h) */
    size_t               nlive;     /* series not expired */
    uint32_t            *free_ids;  /* ids of expired series, for reuse */
    size_t               nfree;
    size_t               free_cap;
    uint32_t             next_sweep;
    uint64_t             expired;

    arena_block_t       *arena;
    store_t             *store;     /* not owned */
    store_family_t      *next;
};

struct store {
    pthread_mutex_t      lock;
    store_family_t      *first;
    store_family_t      *last;
    size_t               nfamilies;

    uint32_t             now;       /* coarse clock for expiry */
    uint64_t             epoch;     /* bumped by every sweep that removes */
    store_snap_t        *active;    /* snapshots not freed yet */
    grave_t             *graves;
    size_t               ngraves;
    size_t               graves_cap;

    struct {
        store_collect_fn fn;
        void            *ctx;       /* not owned */
    }                   *collectors;
    size_t               ncollectors;
    uint32_t             round;     /* collections so far */
};

typedef struct {
    store_snap_family_t  pub;
    size_t               stride;
    series_meta_t      **meta;      /* copy of the chunk pointer array */
    const char         **labels;    /* or, for families that expire series,
                                     * the live series' label blocks */
    uint64_t            *vals;      /* copy of nseries * stride values */
} snap_family_t;

struct store_snap {
    snap_family_t       *fams;
    size_t               nfams;
    store_t             *store;     /* not owned */
    uint64_t             epoch;     /* the store's epoch when taken */
    store_snap_t        *prev;      /* in store->active */
    store_snap_t        *next;
};


static void family_free(store_family_t *f);
static store_family_t *family_new(store_t *s, const store_family_def_t *def);
static void family_link(store_t *s, store_family_t *f);
static void collect(store_t *s, void *arg);
static const char *arena_pack(store_family_t *f, const strv_t *values);
static uint64_t labels_hash(const strv_t *values, size_t n);
static int labels_equal(const char *packed, const strv_t *values, size_t n);
static uint32_t series_find(store_family_t *f, const strv_t *values,
    uint64_t hash, size_t *slot);
static uint32_t series_create(store_family_t *f, const strv_t *values,
    uint64_t hash, size_t slot);
static void index_grow(store_family_t *f);
static void siblings_create(store_family_t *f, const strv_t *values);
static void series_remove(store_family_t *f, uint32_t id);
static void graves_free(store_t *s);


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
        family_free(f);
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

    f = family_new(s, def);
    if (f == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    family_link(s, f);
    pthread_mutex_unlock(&s->lock);
    return f;
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
    f = family_new(s, &d);
    if (f != NULL) {
        family_link(s, f);
    }
    return f;
}


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


void
store_set(store_family_t *f, uint32_t id, double v)
{
    memcpy(&f->vals[id >> CHUNK_SHIFT][(id & CHUNK_MASK) * f->stride], &v,
           sizeof(v));
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


/* A family as def says, not yet in the store.  NULL when memory runs
 * out. */
static store_family_t *
family_new(store_t *s, const store_family_def_t *def)
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
    f->overflow_id = NO_SERIES;
    f->index_cap = 64;
    f->index = malloc(f->index_cap * sizeof(uint32_t));
    if (f->index == NULL) {
        goto err;
    }
    memset(f->index, 0xff, f->index_cap * sizeof(uint32_t));
    return f;

err:
    family_free(f);
    return NULL;
}


/* Appends f to the store's families.  Caller holds the lock. */
static void
family_link(store_t *s, store_family_t *f)
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
store_ingest_lock(store_t *s)
{
    pthread_mutex_lock(&s->lock);
}


void
store_ingest_unlock(store_t *s)
{
    pthread_mutex_unlock(&s->lock);
}


uint32_t
store_series(store_family_t *f, const strv_t *values)
{
    uint64_t  hash;
    uint32_t  id;
    size_t    slot;
    strv_t    over[64];
    size_t    i;

    hash = labels_hash(values, f->pub.nlabels);
    id = series_find(f, values, hash, &slot);
    if (id != NO_SERIES) {
        if (f->ttl) {
            f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK].touched = f->store->now;
        } else if (f->collected) {
            f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK].touched =
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
        hash = labels_hash(over, f->pub.nlabels);
        f->overflow_id = series_find(f, over, hash, &slot);
        if (f->overflow_id == NO_SERIES) {
            f->overflow_id = series_create(f, over, hash, slot);
        }
    }
    return f->overflow_id;
}


void
store_add(store_family_t *f, uint32_t id, uint64_t n)
{
    f->vals[id >> CHUNK_SHIFT][(id & CHUNK_MASK) * f->stride] += n;
}


void
store_observe(store_family_t *f, uint32_t id, double raw)
{
    uint64_t  *v;
    double     x, sum;
    size_t     i, nb;

    v = &f->vals[id >> CHUNK_SHIFT][(id & CHUNK_MASK) * f->stride];
    nb = f->pub.nbuckets;
    x = f->pub.divisor > 0 ? raw / f->pub.divisor : raw * f->pub.scale;
    for (i = 0; i < nb && !(x <= f->pub.buckets[i]); i++) {
        /* Find the first bucket whose bound is >= x. */
    }
    v[i]++;
    memcpy(&sum, &v[nb + 1], sizeof(sum));
    sum += raw;
    memcpy(&v[nb + 1], &sum, sizeof(sum));
}


size_t
store_family_size(const store_family_t *f)
{
    return f->nlive;
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


void
store_merge(store_family_t *f, uint32_t id, const uint64_t *counts,
    double raw_sum)
{
    uint64_t  *v;
    double     sum;
    size_t     i, nb = f->pub.nbuckets;

    v = &f->vals[id >> CHUNK_SHIFT][(id & CHUNK_MASK) * f->stride];
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
store_add_overflowed(store_family_t *f, uint64_t n)
{
    f->overflowed += n;
}


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
            m = &f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK];
            if (m->labels != NULL && s->now - m->touched > f->ttl) {
                series_remove(f, id);
                n++;
            }
        }
    }
    if (n > 0) {
        s->epoch++;
    }
    graves_free(s);
    return n;
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


size_t
store_carry(store_t *s, const store_snap_t *snap,
    int (*keep)(void *ctx, const char *family), void *ctx)
{
    const store_snap_family_t  *sf;
    store_family_t             *f;
    const uint64_t             *counts;
    strv_t                      values[64];
    uint64_t                    one;
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
            store_merge(f, store_series(f, values), counts, sum);
            n++;
        }
    }
    return n;
}


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
        collect(s, arg);
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
             * alive for this snapshot, see graves_free()) and values. */
            sf->labels = malloc(f->nlive * sizeof(char *) + 1);
            sf->vals = malloc(f->nlive * f->stride * sizeof(uint64_t) + 1);
            if (sf->labels == NULL || sf->vals == NULL) {
                goto err;
            }
            for (id = 0, n = 0; id < f->nseries; id++) {
                series_meta_t  *m = &f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK];

                if (m->labels == NULL) {
                    continue;
                }
                sf->labels[n] = m->labels;
                memcpy(sf->vals + n * f->stride,
                       &f->vals[id >> CHUNK_SHIFT][(id & CHUNK_MASK) * f->stride],
                       f->stride * sizeof(uint64_t));
                n++;
            }
            sf->pub.nseries = n;
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
    }
    free(snap->fams);
    free(snap);
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


/* Runs the collectors, then drops the series of collected families that
 * none of them set in this round.  Lock held. */
static void
collect(store_t *s, void *arg)
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
            m = &f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK];
            if (m->labels != NULL && m->touched != s->round) {
                series_remove(f, id);
                n++;
            }
        }
    }
    if (n > 0) {
        s->epoch++;
    }
    graves_free(s);
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


static void
family_free(store_family_t *f)
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
    for (i = 0; (f->ttl || f->collected) && i < f->nseries; i++) {
        free((char *) f->meta[i >> CHUNK_SHIFT][i & CHUNK_MASK].labels);
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


/* Copies the values into the family's arena as (u32 length, bytes)*. */
static const char *
arena_pack(store_family_t *f, const strv_t *values)
{
    arena_block_t  *b;
    size_t          need, i, cap;
    uint32_t        len;
    char           *p, *start;

    need = 0;
    for (i = 0; i < f->pub.nlabels; i++) {
        need += sizeof(uint32_t) + values[i].len;
    }
    b = f->arena;
    if (b == NULL || b->cap - b->used < need) {
        cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;
        b = xmalloc(sizeof(*b) + cap);
        b->used = 0;
        b->cap = cap;
        b->next = f->arena;
        f->arena = b;
    }
    start = p = b->data + b->used;
    for (i = 0; i < f->pub.nlabels; i++) {
        len = (uint32_t) values[i].len;
        memcpy(p, &len, sizeof(len));
        if (len) {
            memcpy(p + sizeof(len), values[i].p, len);
        }
        p += sizeof(len) + len;
    }
    b->used += need;
    return start;
}


static uint64_t
labels_hash(const strv_t *values, size_t n)
{
    uint64_t  h = 0x243f6a8885a308d3ULL;
    size_t    i;

    for (i = 0; i < n; i++) {
        h = hash_bytes(values[i].p, values[i].len, h + i);
    }
    return h;
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
        m = &f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK];
        if (m->hash == hash && labels_equal(m->labels, values, f->pub.nlabels)) {
            return id;
        }
    }
}


static uint32_t
series_create(store_family_t *f, const strv_t *values, uint64_t hash,
    size_t slot)
{
    uint32_t         id = (uint32_t) f->nseries;
    size_t           c = id >> CHUNK_SHIFT, need, i;
    series_meta_t   *m;
    char            *p;
    uint32_t         len;

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
        /* Expiring series free their labels one by one. */
        for (i = 0, need = 0; i < f->pub.nlabels; i++) {
            need += sizeof(uint32_t) + values[i].len;
        }
        p = xmalloc(need + 1);              /* not NULL, even empty */
        m->labels = p;
        for (i = 0; i < f->pub.nlabels; i++) {
            len = (uint32_t) values[i].len;
            memcpy(p, &len, sizeof(len));
            if (len) {
                memcpy(p + sizeof(len), values[i].p, len);
            }
            p += sizeof(len) + len;
        }
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
        j = f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK].hash & mask;
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
        hash = labels_hash(v, n);
        if (series_find(f, v, hash, &slot) == NO_SERIES) {
            series_create(f, v, hash, slot);
        }
    }
}


/* Forgets an idle series: out of the index (backward-shift deletion keeps
 * linear probing correct without tombstones), values zeroed, id reused,
 * labels freed once no snapshot can read them. */
static void
series_remove(store_family_t *f, uint32_t id)
{
    store_t        *s = f->store;
    series_meta_t  *m = &f->meta[id >> CHUNK_SHIFT][id & CHUNK_MASK];
    size_t          mask = f->index_cap - 1, i, j, k;

    for (i = m->hash & mask; f->index[i] != id; i = (i + 1) & mask) {
        /* Find the slot holding id. */
    }
    for (j = (i + 1) & mask; f->index[j] != NO_SERIES; j = (j + 1) & mask) {
        k = f->meta[f->index[j] >> CHUNK_SHIFT][f->index[j] & CHUNK_MASK].hash
            & mask;
        /* Leave the entry at j if its home slot k lies in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) {
            continue;
        }
        f->index[i] = f->index[j];
        i = j;
    }
    f->index[i] = NO_SERIES;

    memset(&f->vals[id >> CHUNK_SHIFT][(id & CHUNK_MASK) * f->stride], 0,
           f->stride * sizeof(uint64_t));
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
