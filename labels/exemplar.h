/* exemplar.h - The latest exemplar of each histogram bucket and of each
 * counter series: one label (a request or trace id taken from a line),
 * the value observed and when it was counted.
 *
 * As client_golang keeps them: one exemplar per bucket (per series for a
 * counter), the newest replacing the one before.  A family's exemplars
 * live in an exemplar set the family owns (store_family_def_t's
 * exemplar_label turns it on); the ingest thread records them with
 * store_exemplar() under the ingest lock, store_snapshot() copies them
 * with the values, so a scrape's exemplars belong to the same instant as
 * its counts, and the encoders read them from the snapshot with
 * store_snap_exemplar().
 *
 * Bounds: OpenMetrics 1.0 limits an exemplar's label set (names and
 * values) to 128 UTF-8 code points.  A value that would pass it is not
 * recorded (never truncated: a cut trace id leads nowhere); the bucket
 * keeps its previous exemplar and store_exemplar() says so, for the
 * caller to count.
 *
 * Allocation: exemplar_set_create() and exemplar_snap_new() return NULL
 * when memory runs out; recording (store_exemplar(), exemplar_set_put())
 * aborts instead, as counting does (lib/alloc.h).
 */

#ifndef GWLOG_EXEMPLAR_H
#define GWLOG_EXEMPLAR_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strv.h"


/* Types */

typedef struct exemplar_set exemplar_set_t;     /* opaque */
typedef struct exemplar_snap exemplar_snap_t;   /* opaque */

/* One exemplar as read from a snapshot. */
typedef struct {
    strv_t      value;          /* the label's value; owned by the snapshot */
    double      v;              /* observed value (a counter: increment) */
    int64_t     ts_ms;          /* Unix time in milliseconds */
} exemplar_t;


/* Macros */

#define EXEMPLAR_MAX_RUNES  128     /* label names + values, OpenMetrics */


/* Prototypes */

/* A set for series of nslots exemplars each (a histogram: its buckets
 * and +Inf; a counter: 1), whose label is called label (copied).  Owned
 * by the caller; NULL when memory runs out. */
exemplar_set_t *exemplar_set_create(const char *label, size_t nslots);

/* Frees the set and every exemplar.  exemplar_set_free(NULL) is a no-op. */
void exemplar_set_free(exemplar_set_t *ex);

/* The label name (valid as long as the set). */
const char *exemplar_set_label(const exemplar_set_t *ex);

/* Whether label name + value fit EXEMPLAR_MAX_RUNES code points; value
 * is valid UTF-8. */
int exemplar_fits(const exemplar_set_t *ex, strv_t value);

/* Replaces the exemplar of slot k of series id with value (copied), v and
 * ts_ms.  The caller checked exemplar_fits().  Aborts when memory runs
 * out. */
void exemplar_set_put(exemplar_set_t *ex, uint32_t id, size_t k,
    strv_t value, double v, int64_t ts_ms);

/* Forgets the exemplars of series id (it was removed; its id will be
 * reused). */
void exemplar_set_clear(exemplar_set_t *ex, uint32_t id);

/* The exemplar of slot k of series id, into *out (value valid until the
 * next put or clear of that slot).  Returns 1, or 0 when there is none. */
int exemplar_set_get(const exemplar_set_t *ex, uint32_t id, size_t k,
    exemplar_t *out);

/* A copy of the exemplars of nseries series, for a snapshot: series j of
 * the snapshot is filled by exemplar_snap_copy(es, j, ex, id).  Owned by
 * the caller (exemplar_snap_free()); NULL when memory runs out. */
exemplar_snap_t *exemplar_snap_new(const exemplar_set_t *ex, size_t nseries);
int exemplar_snap_copy(exemplar_snap_t *es, size_t j,
    const exemplar_set_t *ex, uint32_t id);
void exemplar_snap_free(exemplar_snap_t *es);

/* Slot k of series j of the copy into *out (value valid until
 * exemplar_snap_free()).  Returns 1, or 0 when it has none. */
int exemplar_snap_get(const exemplar_snap_t *es, size_t j, size_t k,
    exemplar_t *out);

#endif /* GWLOG_EXEMPLAR_H */
