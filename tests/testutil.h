/* testutil.h - Helpers shared by the unit tests: finding series in a
 * store snapshot, temporary directories and files.
 *
 * Everything is static inline: the Makefile links every tests/check_*.c
 * as a suite file and nothing else, so the helpers live in this header.
 */

#ifndef GWLOG_TESTUTIL_H
#define GWLOG_TESTUTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>

#include "labels/store.h"


/* Macros */

#define TU_MISSING      UINT64_MAX      /* no such family or series */
#define TU_MAX_LABELS   32


/* Functions */

/* Returns the index of family name in snap, or -1. */
static inline long
tu_family(const store_snap_t *snap, const char *name)
{
    size_t  i;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        if (strcmp(store_snap_family(snap, i)->name, name) == 0) {
            return (long) i;
        }
    }
    return -1;
}


/* Returns the index of the series of family fi whose label values equal
 * vals[0..nlabels) (C strings), or -1. */
static inline long
tu_series_v(const store_snap_t *snap, size_t fi, const char *const *vals)
{
    const store_snap_family_t  *f = store_snap_family(snap, fi);
    strv_t                      got[TU_MAX_LABELS];
    size_t                      j, k;

    for (j = 0; j < f->nseries; j++) {
        store_snap_labels(snap, fi, j, got);
        for (k = 0; k < f->nlabels; k++) {
            if (got[k].len != strlen(vals[k])
                || (got[k].len && memcmp(got[k].p, vals[k], got[k].len) != 0))
            {
                break;
            }
        }
        if (k == f->nlabels) {
            return (long) j;
        }
    }
    return -1;
}


/* Collects the variadic label values (as many as the family has). */
static inline void
tu_collect(const store_snap_t *snap, size_t fi, va_list ap,
    const char **vals)
{
    size_t  k, n = store_snap_family(snap, fi)->nlabels;

    for (k = 0; k < n && k < TU_MAX_LABELS; k++) {
        vals[k] = va_arg(ap, const char *);
    }
}


/* Counter value of family name, series with the given label values (one
 * const char * per label, in the family's order); TU_MISSING when there is
 * no such family or series. */
static inline uint64_t
tu_counter(const store_snap_t *snap, const char *name, ...)
{
    const char  *vals[TU_MAX_LABELS];
    va_list      ap;
    long         fi, j;

    fi = tu_family(snap, name);
    if (fi < 0) {
        return TU_MISSING;
    }
    va_start(ap, name);
    tu_collect(snap, (size_t) fi, ap, vals);
    va_end(ap);
    j = tu_series_v(snap, (size_t) fi, vals);
    return j < 0 ? TU_MISSING : store_snap_counter(snap, (size_t) fi,
                                                   (size_t) j);
}


/* Histogram series of family name with the given label values: returns
 * the non-cumulative bucket counts (nbuckets + 1) and sets *raw_sum, or
 * NULL when absent. */
static inline const uint64_t *
tu_hist(const store_snap_t *snap, double *raw_sum, const char *name, ...)
{
    const char  *vals[TU_MAX_LABELS];
    va_list      ap;
    long         fi, j;

    fi = tu_family(snap, name);
    if (fi < 0) {
        return NULL;
    }
    va_start(ap, name);
    tu_collect(snap, (size_t) fi, ap, vals);
    va_end(ap);
    j = tu_series_v(snap, (size_t) fi, vals);
    if (j < 0) {
        return NULL;
    }
    return store_snap_buckets(snap, (size_t) fi, (size_t) j, raw_sum);
}


/* Number of series of family name, or TU_MISSING. */
static inline uint64_t
tu_nseries(const store_snap_t *snap, const char *name)
{
    long  fi = tu_family(snap, name);

    return fi < 0 ? TU_MISSING : store_snap_family(snap, (size_t) fi)->nseries;
}


/* Sum of every counter series of family name, or TU_MISSING. */
static inline uint64_t
tu_total(const store_snap_t *snap, const char *name)
{
    long      fi = tu_family(snap, name);
    uint64_t  sum = 0;
    size_t    j;

    if (fi < 0) {
        return TU_MISSING;
    }
    for (j = 0; j < store_snap_family(snap, (size_t) fi)->nseries; j++) {
        sum += store_snap_counter(snap, (size_t) fi, j);
    }
    return sum;
}


/* Creates a fresh temporary directory; returns it (free() it). */
static inline char *
tu_mkdtemp(void)
{
    char  *dir = strdup("/tmp/gwlog_check_XXXXXX");

    ck_assert_ptr_nonnull(dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}


/* Returns "dir/name" (free() it). */
static inline char *
tu_path(const char *dir, const char *name)
{
    size_t  n = strlen(dir) + strlen(name) + 2;
    char   *p = malloc(n);

    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}


/* Writes len bytes to dir/name, replacing the file (same inode when it
 * exists: opened with "w"). */
static inline void
tu_write(const char *dir, const char *name, const void *data, size_t len)
{
    char  *path = tu_path(dir, name);
    FILE  *fp = fopen(path, "wb");

    ck_assert_msg(fp != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    free(path);
}


static inline void
tu_write_str(const char *dir, const char *name, const char *s)
{
    tu_write(dir, name, s, strlen(s));
}


/* Removes dir and the plain files in it (one level deep), then frees
 * dir.  NULL is a no-op. */
static inline void
tu_rmdir(char *dir)
{
    DIR            *d;
    struct dirent  *e;
    char           *p;

    if (dir == NULL) {
        return;
    }
    d = opendir(dir);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            p = tu_path(dir, e->d_name);
            if (unlink(p) != 0) {
                (void) rmdir(p);
            }
            free(p);
        }
        closedir(d);
    }
    (void) rmdir(dir);
    free(dir);
}

#endif /* GWLOG_TESTUTIL_H */
