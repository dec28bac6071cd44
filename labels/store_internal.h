/* store_internal.h - What the store's files share: the layout of a
 * store, a family and a snapshot.  Private to labels/ (tools/layers.py
 * refuses it elsewhere).
 *
 *   store.c          the store and its families: create, find, free; the
 *                    ingest lock
 *   store_series.c   series: the hash index, label packing, siblings, the
 *                    overflow series; counting (add, observe, merge)
 *   store_snap.c     snapshots (values copied under the lock, read after
 *                    it) and the carry of a reload
 *   store_collect.c  collectors and the collected families they set
 *   store_expire.c   removing series (expiry of idle ones, collected ones
 *                    not set) and freeing their labels through the graves
 *   store_exemplar.c the store's side of exemplars (labels/exemplar.c
 *                    keeps them): recording, reading a snapshot's, carry
 *
 * Layout of a family:
 *   meta[]    per series: hash and a pointer to its packed label values
 *             (u32 length + bytes, per label), in chunks that never move;
 *   vals[]    per series: stride u64 slots (counter: 1; histogram: one per
 *             bucket incl. +Inf, then the raw sum as a double, then for a
 *             family with native buckets a native_t pointer, NULL until
 *             the first observation), in chunks;
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

#ifndef GWLOG_STORE_INTERNAL_H
#define GWLOG_STORE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "labels/store.h"


/* Macros and types */

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
    exemplar_set_t      *ex;        /* NULL: no exemplars */
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
    uint64_t            *vals;      /* copy of nseries * stride values;
                                     * native pointers point into natives */
    char                *natives;   /* copies of the native buckets */
    exemplar_snap_t     *ex;        /* copy of the exemplars, or NULL */
} snap_family_t;

struct store_snap {
    snap_family_t       *fams;
    size_t               nfams;
    store_t             *store;     /* not owned */
    uint64_t             epoch;     /* the store's epoch when taken */
    store_snap_t        *prev;      /* in store->active */
    store_snap_t        *next;
};


/* Series id of family f: its meta (an lvalue) and its first value slot. */
#define SERIES_META(f, id)  ((f)->meta[(id) >> CHUNK_SHIFT][(id) & CHUNK_MASK])
#define SERIES_VALS(f, id) \
    (&(f)->vals[(id) >> CHUNK_SHIFT][((id) & CHUNK_MASK) * (f)->stride])


_Static_assert(sizeof(native_t *) <= sizeof(uint64_t), "pointer in a slot");

/* Native buckets: the pointer in the last slot of a series' values
 * (copied with memcpy(), the slot being a uint64_t). */
static inline native_t *
series_native_get(const uint64_t *vals, const store_snap_family_t *pub)
{
    native_t  *n;

    memcpy(&n, &vals[pub->nbuckets + 2], sizeof(n));
    return n;
}

static inline void
series_native_set(uint64_t *vals, const store_snap_family_t *pub,
    const native_t *n)
{
    memcpy(&vals[pub->nbuckets + 2], &n, sizeof(n));
}


/* Prototypes */

/* store.c: a family as def says, not yet in the store (NULL when memory
 * runs out); appending it to the store's families (caller holds the
 * lock); freeing it. */
store_family_t *store_family_new(store_t *s, const store_family_def_t *def);
void store_family_link(store_t *s, store_family_t *f);
void store_family_free(store_family_t *f);

/* store_collect.c: runs the collectors, then drops the series of
 * collected families that none of them set in this round.  Lock held. */
void store_collect_round(store_t *s, void *arg);

/* store_expire.c: forgets series id of f (its labels go to the graves);
 * ends a sweep that removed n series (a new epoch, graves freed).  Lock
 * held. */
void store_series_remove(store_family_t *f, uint32_t id);
void store_sweep_done(store_t *s, size_t n);

/* store_exemplar.c: copies the exemplars of series j of family i of snap
 * (another store's) into series id of f, when both name the exemplar
 * label alike: a reload keeps them.  Lock held. */
void store_exemplar_carry(store_family_t *f, uint32_t id,
    const store_snap_t *snap, size_t i, size_t j);

#endif /* GWLOG_STORE_INTERNAL_H */
