/* store.h - Metric families and their labelled series.
 *
 * A store holds families (counters, gauges and histograms); a family maps label
 * value tuples to series.  The ingest thread updates series while holding
 * store_ingest_lock() for a batch of lines; a scrape takes store_snapshot(),
 * which copies every value under the same lock, so that it never sees a
 * torn histogram and never holds the lock while encoding.
 *
 * The ingest lock.  A store has one mutex ("the store's lock" below).  For
 * the ingest store it is the ingest lock: besides the series it guards
 * everything the ingest side touches per line (the pipeline's per-line
 * state and parked lines, the dimension caches and lookups), which is why
 * it is taken through store_ingest_lock() and never for less.  The self
 * store's lock is only taken inside store_snapshot_collect(), around its
 * collectors (ARCHITECTURE.md, "Locks").
 *
 * Series are removed only from families with a ttl (store_expire()) and
 * collected families; the label bytes a snapshot points to stay valid
 * until the snapshot is freed.  A family holds at most max_series
 * series; further label sets fold into one series whose
 * label values are all "__overflow__", so sums stay exact.
 *
 * Collected families.  Values kept elsewhere (the process's /proc figures,
 * the HTTP server's counters, the dimension tables' atomics) enter a store
 * through collectors: functions registered with store_collector_add() that
 * store_snapshot_collect() calls under the store's lock, before it copies
 * the values.  A collector finds or adds its families with
 * store_family_get() and sets each series with store_set(); a collected
 * family (gauge or counter) holds doubles, and exactly the series set
 * during the last collection, the others are dropped.  The
 * ingest store has no collectors: its families are counted line by line,
 * carried by reloads and saved in checkpoints; collected families live in
 * a store of their own (main.c's "self" store), so neither happens to
 * them.
 */

#ifndef GWLOG_STORE_H
#define GWLOG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "labels/native.h"
#include "labels/exemplar.h"
#include "lib/strv.h"


/* Types */

typedef enum {
    STORE_COUNTER = 0,
    STORE_HISTOGRAM,
    STORE_GAUGE                                 /* collected families only */
} store_type_t;

typedef struct store store_t;                   /* opaque */
typedef struct store_family store_family_t;     /* opaque */
typedef struct store_snap store_snap_t;         /* opaque */

/* A collector: sets the values of its families (see above).  Called with
 * the store's lock held, from the thread taking the snapshot; arg is the
 * one given to store_snapshot_collect().  It must not take a lock that is
 * held by anyone waiting for this store's lock. */
typedef void (*store_collect_fn)(void *ctx, store_t *s, void *arg);

typedef struct {
    const char          *name;
    const char          *help;
    store_type_t         type;
    const char *const   *labels;                /* label names */
    size_t               nlabels;
    const double        *buckets;               /* histogram upper bounds */
    size_t               nbuckets;
    double               scale;                 /* observed = raw * scale */
    uint64_t             max_series;            /* 0: no limit */
    int                  sibling_label;         /* -1: none */
    const char *const   *sibling_values;
    size_t               nsibling_values;
    double               ttl;                   /* seconds an idle series
                                                 * is kept; 0: forever */
    int                  collected;             /* set by store_family_get() */
    double               native_factor;         /* histogram: > 1 keeps
                                                 * native buckets too
                                                 * (native.h); 0: off */
    uint32_t             native_max_buckets;    /* 0: no cap */
    const char          *exemplar_label;        /* NULL: no exemplars */
} store_family_def_t;

/* One family of a snapshot, for the encoder. */
typedef struct {
    const char          *name;
    const char          *help;
    store_type_t         type;
    const char *const   *labels;
    size_t               nlabels;
    const double        *buckets;               /* upper bounds */
    size_t               nbuckets;              /* without +Inf */
    double               divisor;               /* sum = raw_sum / divisor */
    double               scale;                 /*   or raw_sum * scale */
    size_t               nseries;
    uint64_t             overflowed;            /* increments folded */
    uint64_t             expired;               /* idle series removed */
    int                  collected;             /* values are doubles */
    int                  native;                /* keeps native buckets */
    int                  native_schema;         /* a new series' schema */
    double               native_factor;         /* as configured */
    uint32_t             native_max_buckets;
    const char          *exemplar_label;        /* NULL: no exemplars */
} store_snap_family_t;


/* Macros */

#define STORE_OVERFLOW_VALUE  "__overflow__"


/* Prototypes */

store_t *store_create(void);

/* Frees the store, its families and every series.  No snapshot of it may
 * be in use.  store_destroy(NULL) is a no-op. */
void store_destroy(store_t *s);

/* Adds a family; every string and array in def is copied.  Returns NULL
 * on allocation failure.  The store owns the family. */
store_family_t *store_family_add(store_t *s, const store_family_def_t *def);

/* Takes and releases the store's lock: for the ingest store, the ingest
 * lock (above), held around a chunk of lines, a settling of parked lines,
 * a checkpoint's snapshot, expiry and a reload's carry.  "Caller holds
 * the lock" below means this lock. */
void store_ingest_lock(store_t *s);
void store_ingest_unlock(store_t *s);

/* Returns the id of the series with these label values (one per label),
 * creating it (and its siblings) if needed.  Caller holds the lock.  The
 * values are copied when a series is created. */
uint32_t store_series(store_family_t *f, const strv_t *values);

/* Registers fn(ctx, ...) to run at every store_snapshot_collect(); ctx is
 * borrowed until store_collector_del() or store_destroy().  Returns 0, or
 * -1 when memory runs out. */
int store_collector_add(store_t *s, store_collect_fn fn, void *ctx);
void store_collector_del(store_t *s, store_collect_fn fn, void *ctx);

/* For a collector (the lock is held): the collected family called
 * def->name, added as def says on first use.  NULL when memory runs out,
 * or when a family of that name exists and is not collected. */
store_family_t *store_family_get(store_t *s, const store_family_def_t *def);

/* Sets a series of a collected family (a gauge, or a counter kept by its
 * owner) to v.  Caller holds the lock. */
void store_set(store_family_t *f, uint32_t id, double v);

/* store_series() with the values given as C strings (at most 16). */
uint32_t store_series_str(store_family_t *f, const char *const *values);

/* Adds n to a counter series.  Caller holds the lock. */
void store_add(store_family_t *f, uint32_t id, uint64_t n);

/* Observes raw (before scale) into a histogram series.  raw is finite.
 * Caller holds the lock. */
void store_observe(store_family_t *f, uint32_t id, double raw);

/* Number of series in f (caller holds the lock, or accepts a stale
 * value). */
size_t store_family_size(const store_family_t *f);

/* Returns the family called name, or NULL. */
store_family_t *store_family_find(store_t *s, const char *name);

/* The family's definition (name, type, labels, buckets); nseries and
 * overflowed are not filled in.  Valid as long as the store. */
const store_snap_family_t *store_family_info(const store_family_t *f);

/* Adds saved values to series id: a counter's value, or a histogram's
 * nbuckets + 1 bucket counts (non-cumulative) and its raw sum, in the
 * layout store_snap_counter()/store_snap_buckets() give.  Used to restore
 * a checkpoint.  Caller holds the lock. */
void store_merge(store_family_t *f, uint32_t id, const uint64_t *counts,
    double raw_sum);

/* Adds saved native buckets n (not kept: the store copies them) to
 * series id of f, a family with native buckets: a series without any
 * takes them as they are (schema included, so a checkpoint restores them
 * unchanged), else native_merge() at the family's schema and cap.  Used
 * to restore a checkpoint, after store_merge().  Caller holds the lock. */
void store_merge_native(store_family_t *f, uint32_t id, const native_t *n);

/* Sets the store's coarse clock (seconds, any origin), used to expire
 * idle series of families with a ttl.  Caller holds the lock. */
void store_set_clock(store_t *s, uint32_t now);

/* Removes the series of families with a ttl that no line has touched for
 * longer than it; returns how many.  An expired series that comes back
 * starts again from zero.  Snapshots taken before stay valid.  Caller
 * holds the lock. */
size_t store_expire(store_t *s);

/* Adds n to the family's count of increments folded into __overflow__. */
void store_add_overflowed(store_family_t *f, uint64_t n);

/* Whether f is defined as the given type, label names and buckets. */
int store_family_compatible(const store_family_t *f, store_type_t type,
    const char *const *labels, size_t nlabels, const double *buckets,
    size_t nbuckets);

/* Merges into s every series of snap (taken of another store) whose
 * family s also has, defined the same way, when keep(ctx, name) says so
 * (keep NULL: all).  Used by a configuration reload, so that families
 * that did not change keep their values.  Returns the series carried.
 * Caller holds s's lock; snap's store must still exist. */
size_t store_carry(store_t *s, const store_snap_t *snap,
    int (*keep)(void *ctx, const char *family), void *ctx);

/* Copies every value under the lock.  The snapshot is owned by the caller
 * (free with store_snap_free()) and must not outlive the store. */
store_snap_t *store_snapshot(store_t *s);
void store_snap_free(store_snap_t *snap);

/* Runs the collectors with arg, then copies like store_snapshot(), all
 * under the lock: a snapshot never mixes two collections. */
store_snap_t *store_snapshot_collect(store_t *s, void *arg);

size_t store_snap_nfamilies(const store_snap_t *snap);
const store_snap_family_t *store_snap_family(const store_snap_t *snap,
    size_t i);

/* Label values of series j of family i: nlabels views, valid until
 * store_destroy(). */
void store_snap_labels(const store_snap_t *snap, size_t i, size_t j,
    strv_t *values);

/* A counter's count (not of a collected family); the value of a series
 * of a collected family, or any counter's as a double; or for a
 * histogram: bucket counts (non-cumulative, nbuckets + 1 with +Inf last)
 * and the raw sum. */
uint64_t store_snap_counter(const store_snap_t *snap, size_t i, size_t j);
double store_snap_value(const store_snap_t *snap, size_t i, size_t j);
const uint64_t *store_snap_buckets(const store_snap_t *snap, size_t i,
    size_t j, double *raw_sum);

/* The native buckets of series j of family i (copied with the other
 * values, so they agree with its count and sum), or NULL when the family
 * keeps none or the series has none yet.  Valid until the snapshot is
 * freed. */
const native_t *store_snap_native(const store_snap_t *snap, size_t i,
    size_t j);
/* Exemplars (labels/exemplar.h; store_exemplar.c).  Records in series id
 * of f, whose family has exemplar_label, the exemplar of one line: value
 * (valid UTF-8) of the label, raw as store_observe() takes it (a
 * histogram: in the bucket raw falls into, as its scaled value) or the
 * increment (a counter), counted at Unix time ts_ms.  Returns 0, or -1
 * when label and value pass EXEMPLAR_MAX_RUNES (nothing recorded).
 * Caller holds the lock. */
int store_exemplar(store_family_t *f, uint32_t id, double raw, strv_t value,
    int64_t ts_ms);

/* Slot k (a bucket, +Inf last; 0 for a counter) of series j of family i
 * of the snapshot into *out, valid until store_snap_free().  Returns 1,
 * or 0 when it has none. */
int store_snap_exemplar(const store_snap_t *snap, size_t i, size_t j,
    size_t k, exemplar_t *out);

#endif /* GWLOG_STORE_H */
