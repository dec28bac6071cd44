/* store_exemplar.c - The store's side of exemplars: recording one in the
 * bucket (or counter series) a line counted in, reading them from a
 * snapshot, carrying them over a reload.  The exemplars themselves are
 * kept by labels/exemplar.c, one set per family that has them.
 */

#include "labels/store.h"

#include <string.h>

#include "labels/exemplar.h"
#include "labels/store_internal.h"


int
store_exemplar(store_family_t *f, uint32_t id, double raw, strv_t value,
    int64_t ts_ms)
{
    double  x;
    size_t  k = 0, nb;

    if (f->ex == NULL) {
        return 0;
    }
    if (!exemplar_fits(f->ex, value)) {
        return -1;
    }
    x = raw;
    if (f->pub.type == STORE_HISTOGRAM) {
        /* The bucket store_observe() counts raw in: the first whose bound
         * is >= the scaled value, else +Inf. */
        nb = f->pub.nbuckets;
        x = f->pub.divisor > 0 ? raw / f->pub.divisor : raw * f->pub.scale;
        for (k = 0; k < nb && !(x <= f->pub.buckets[k]); k++) {
        }
    }
    exemplar_set_put(f->ex, id, k, value, x, ts_ms);
    return 0;
}


int
store_snap_exemplar(const store_snap_t *snap, size_t i, size_t j, size_t k,
    exemplar_t *out)
{
    const exemplar_snap_t  *es = snap->fams[i].ex;

    return es != NULL && exemplar_snap_get(es, j, k, out);
}


void
store_exemplar_carry(store_family_t *f, uint32_t id, const store_snap_t *snap,
    size_t i, size_t j)
{
    const store_snap_family_t  *sf = store_snap_family(snap, i);
    exemplar_t                  e;
    size_t                      k, n;

    if (sf->exemplar_label == NULL
        || strcmp(sf->exemplar_label, f->pub.exemplar_label) != 0)
    {
        return;
    }
    n = f->pub.type == STORE_HISTOGRAM ? f->pub.nbuckets + 1 : 1;
    for (k = 0; k < n; k++) {
        if (store_snap_exemplar(snap, i, j, k, &e)
            && exemplar_fits(f->ex, e.value))
        {
            exemplar_set_put(f->ex, id, k, e.value, e.v, e.ts_ms);
        }
    }
}
