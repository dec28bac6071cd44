/* state_ckpt.c - A decoded checkpoint: the checks across its records
 * (duplicates), what it holds, its merge into a store, freeing it.
 */

#include "exporter/state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/state_internal.h"
#include "lib/log.h"


/* A series' label values, for sorting. */
typedef struct {
    const strv_t   *values;
    size_t          n;
} row_t;


static const char *native_change(const ck_family_t *cf,
    const store_family_t *fam);
static int find_twice(const void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *), const void **dup);
static int cmp_file(const void *a, const void *b);
static int cmp_family(const void *a, const void *b);
static int cmp_series(const void *a, const void *b);


const state_file_t *
state_ckpt_files(const state_ckpt_t *ck, size_t *n)
{
    *n = ck->nfiles;
    return ck->files;
}


uint64_t
state_ckpt_generation(const state_ckpt_t *ck)
{
    return ck->hdr.generation;
}


double
state_ckpt_saved_at(const state_ckpt_t *ck)
{
    return (double) ck->hdr.saved_at;
}


void
state_ckpt_apply(const state_ckpt_t *ck, store_t *store, state_info_t *info)
{
    const ck_family_t  *cf;
    store_family_t     *fam;
    size_t              i, j, nc;
    uint32_t            id;

    for (i = 0; i < ck->nfams; i++) {
        cf = &ck->fams[i];
        fam = store_family_find(store, cf->name);
        if (fam == NULL
            || !store_family_compatible(fam, cf->hist ? STORE_HISTOGRAM
                                                      : STORE_COUNTER,
                                        cf->labels, cf->nlabels, cf->bounds,
                                        cf->nbuckets))
        {
            log_warn_kv("checkpoint: a family is not defined the same way "
                        "any more; its saved series are dropped",
                        LOG_STR("family", cf->name),
                        LOG_U64("series", (uint64_t) cf->nseries));
            info->skipped += cf->nseries;
            continue;
        }
        if (native_change(cf, fam) != NULL) {
            log_warn("checkpoint: family %s %s; its %zu saved series are "
                     "dropped, as a reload drops a changed family",
                     cf->name, native_change(cf, fam), cf->nseries);
            info->skipped += cf->nseries;
            continue;
        }
        store_add_overflowed(fam, cf->overflowed);
        nc = cf->hist ? cf->nbuckets + 1 : 1;
        for (j = 0; j < cf->nseries; j++) {
            id = store_series(fam, cf->nlabels ? &cf->values[j * cf->nlabels]
                                               : NULL);
            store_merge(fam, id, &cf->counts[j * nc],
                        cf->hist ? cf->sums[j] : 0);
            if (cf->native && cf->natives[j] != NULL) {
                store_merge_native(fam, id, cf->natives[j]);
            }
            info->series++;
        }
    }
}


void
state_ckpt_free(state_ckpt_t *ck)
{
    size_t  i, j;

    if (ck == NULL) {
        return;
    }
    state_files_free(ck->files, ck->nfiles);
    for (i = 0; i < ck->nfams; i++) {
        for (j = 0; ck->fams[i].natives != NULL && j < ck->fams[i].nseries;
             j++)
        {
            native_free(ck->fams[i].natives[j]);
        }
        free(ck->fams[i].natives);
        free(ck->fams[i].labels);
        free(ck->fams[i].bounds);
        free(ck->fams[i].values);
        free(ck->fams[i].counts);
        free(ck->fams[i].sums);
    }
    free(ck->fams);
    free(ck->text);
    free(ck);
}


/* Why the native buckets saved for cf cannot go to fam (defined the same
 * way otherwise), or NULL when they can: a reload keeps a family only
 * when its native factor and cap did not change (reload.c's
 * keep_family()), and a checkpoint does the same.  A checkpoint from
 * before version 4 has no native record: its families kept no native
 * buckets, for all it says. */
static const char *
native_change(const ck_family_t *cf, const store_family_t *fam)
{
    const store_snap_family_t  *def = store_family_info(fam);

    if (!cf->hist) {
        return NULL;
    }
    if (cf->native != def->native) {
        return def->native ? "keeps native buckets now and did not when "
                             "saved"
                           : "kept native buckets when saved and does not "
                             "any more";
    }
    if (cf->native && (cf->native_factor != def->native_factor
                       || cf->native_max != def->native_max_buckets))
    {
        return "has another native bucket factor or maximum bucket number "
               "than when saved";
    }
    return NULL;
}


/* The same file twice would be read twice; the same family or series
 * twice would be counted twice. */
int
state_check_duplicates(state_ckpt_t *ck, char *err, size_t errlen)
{
    row_t       *rows = NULL;
    const void  *dup;
    size_t       n, i, j;
    int          rc;

    n = ck->nfiles > ck->nfams ? ck->nfiles : ck->nfams;
    for (i = 0; i < ck->nfams; i++) {
        n = ck->fams[i].nseries > n ? ck->fams[i].nseries : n;
    }
    if (n == 0) {
        return 0;
    }
    rows = malloc(n * sizeof(row_t));
    if (rows == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* Files: the same inode with the same first bytes. */
    rc = find_twice(ck->files, ck->nfiles, sizeof(*ck->files), cmp_file,
                    &dup);
    if (rc > 0) {
        const state_file_t  *sf = dup;

        snprintf(err, errlen, "file %.200s: recorded twice (device %" PRIu64
                 ", inode %" PRIu64 ")", sf->path, sf->dev, sf->ino);
    }

    /* Families by name. */
    if (rc == 0) {
        rc = find_twice(ck->fams, ck->nfams, sizeof(*ck->fams), cmp_family,
                        &dup);
        if (rc > 0) {
            snprintf(err, errlen, "family %.200s: recorded twice",
                     ((const ck_family_t *) dup)->name);
        }
    }
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
    }
    rc = rc != 0 ? -1 : 0;

    /* Series of a family by label values. */
    for (i = 0; rc == 0 && i < ck->nfams; i++) {
        ck_family_t  *cf = &ck->fams[i];

        if (cf->nseries < 2) {
            continue;
        }
        if (cf->nlabels == 0) {
            snprintf(err, errlen, "family %.200s: %zu series of a family "
                     "without labels", cf->name, cf->nseries);
            rc = -1;
            break;
        }
        for (j = 0; j < cf->nseries; j++) {
            rows[j].values = &cf->values[j * cf->nlabels];
            rows[j].n = cf->nlabels;
        }
        qsort(rows, cf->nseries, sizeof(row_t), cmp_series);
        for (j = 1; j < cf->nseries && rc == 0; j++) {
            if (cmp_series(&rows[j - 1], &rows[j]) == 0) {
                snprintf(err, errlen, "family %.200s: a series recorded "
                         "twice", cf->name);
                rc = -1;
            }
        }
    }
    free(rows);
    return rc;
}


/* Whether two of the n elements of size at base compare equal by cmp
 * (which takes pointers to element pointers).  Sorts a copy of the
 * pointers, so the records keep their order.  Returns 1 with one of them
 * in *dup, 0 when none, -1 when memory runs out. */
static int
find_twice(const void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *), const void **dup)
{
    const void  **ptrs;
    size_t        i;
    int           rc = 0;

    if (n < 2) {
        return 0;
    }
    ptrs = malloc(n * sizeof(*ptrs));
    if (ptrs == NULL) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        ptrs[i] = (const char *) base + i * size;
    }
    qsort(ptrs, n, sizeof(*ptrs), cmp);
    for (i = 1; i < n; i++) {
        if (cmp(&ptrs[i - 1], &ptrs[i]) == 0) {
            *dup = ptrs[i];
            rc = 1;
            break;
        }
    }
    free(ptrs);
    return rc;
}


static int
cmp_file(const void *a, const void *b)
{
    const state_file_t  *x = *(const state_file_t *const *) a;
    const state_file_t  *y = *(const state_file_t *const *) b;

    if (x->dev != y->dev) {
        return x->dev < y->dev ? -1 : 1;
    }
    if (x->ino != y->ino) {
        return x->ino < y->ino ? -1 : 1;
    }
    if (x->fp_len != y->fp_len) {
        return x->fp_len < y->fp_len ? -1 : 1;
    }
    if (x->fp != y->fp) {
        return x->fp < y->fp ? -1 : 1;
    }
    return 0;
}


static int
cmp_family(const void *a, const void *b)
{
    const ck_family_t  *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}


static int
cmp_series(const void *a, const void *b)
{
    const strv_t  *x = ((const row_t *) a)->values;
    const strv_t  *y = ((const row_t *) b)->values;
    size_t         k, n = ((const row_t *) a)->n;
    int            c;

    for (k = 0; k < n; k++) {
        if (x[k].len != y[k].len) {
            return x[k].len < y[k].len ? -1 : 1;
        }
        c = x[k].len ? memcmp(x[k].p, y[k].p, x[k].len) : 0;
        if (c != 0) {
            return c;
        }
    }
    return 0;
}
