/* selfstats.c - The exporter's own gauges and the process metrics, as
 * collected families of the self store. */

#include "revision.h"
#include "exporter/selfstats.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>


static void collect_per_family(store_t *s, const store_snap_t *snap,
    const char *name, const char *help, store_type_t type, size_t offset);
static void collect_process(store_t *s);
static void set_one(store_t *s, const char *name, const char *help,
    store_type_t type, double v);
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "8-byte counts");


void
selfstats_collect(void *ctx, store_t *s, void *arg)
{
    static const char *const  build_labels[] = { "version", "revision" };
    static const char *const  build_values[] = { GWLOG_VERSION,
                                                 GWLOG_REVISION };
    const store_snap_t       *snap = arg;
    store_family_t           *f;

    (void) ctx;
    if (snap != NULL) {
        collect_per_family(s, snap, "gwlog_series",
                           "Series held per metric family.", STORE_GAUGE,
                           offsetof(store_snap_family_t, nseries));
        collect_per_family(s, snap, "gwlog_series_overflow_total",
                           "Increments folded into the __overflow__ series "
                           "because the family reached max_series.",
                           STORE_COUNTER,
                           offsetof(store_snap_family_t, overflowed));
        collect_per_family(s, snap, "gwlog_series_expired_total",
                           "Idle series removed because of the family's "
                           "series_ttl.", STORE_COUNTER,
                           offsetof(store_snap_family_t, expired));
    }
    f = store_family_get(s, &(store_family_def_t) {
            .name = "gwlog_build_info", .type = STORE_GAUGE,
            .help = "A metric with a constant 1 value labelled by the "
                    "exporter's version and revision.",
            .labels = build_labels, .nlabels = 2 });
    if (f != NULL) {
        store_set(f, store_series_str(f, build_values), 1);
    }
    collect_process(s);
}


/* One series per family of the ingest snapshot, labelled metric="NAME",
 * with the value of the snapshot field at offset (a size_t or a
 * uint64_t, both 8 bytes here). */
static void
collect_per_family(store_t *s, const store_snap_t *snap, const char *name,
    const char *help, store_type_t type, size_t offset)
{
    static const char *const    labels[] = { "metric" };
    const store_snap_family_t  *sf;
    store_family_t             *f;
    uint64_t                    v;
    size_t                      i;

    f = store_family_get(s, &(store_family_def_t) {
            .name = name, .help = help, .type = type, .labels = labels,
            .nlabels = 1 });
    for (i = 0; f != NULL && i < store_snap_nfamilies(snap); i++) {
        sf = store_snap_family(snap, i);
        memcpy(&v, (const char *) sf + offset, sizeof(v));
        store_set(f, store_series_str(f, &sf->name), (double) v);
    }
}


/* process_* as client libraries export them, from /proc/self; a figure
 * that cannot be read is left out rather than exported wrong. */
static void
collect_process(store_t *s)
{
    static long     hz, page;
    char            data[4096], *p;
    unsigned long   utime, stime, vsize;
    unsigned long long start;
    long            rss;
    double          btime = 0;
    struct rlimit   rl;
    struct dirent  *de;
    FILE           *fp;
    DIR            *dir;
    size_t          n;
    int             fds = 0;

    if (hz == 0) {
        hz = sysconf(_SC_CLK_TCK);
        page = sysconf(_SC_PAGESIZE);
    }
    fp = fopen("/proc/self/stat", "r");
    if (fp == NULL) {
        return;
    }
    n = fread(data, 1, sizeof(data) - 1, fp);
    fclose(fp);
    data[n] = '\0';
    /* The command name may hold spaces and parentheses: skip to the last
     * ')' and count the fields after it (field 3 is the state). */
    p = strrchr(data, ')');
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                            "%*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %lu %ld",
                            &utime, &stime, &start, &vsize, &rss) != 5)
    {
        return;
    }
    fp = fopen("/proc/stat", "r");
    if (fp != NULL) {
        while (fgets(data, sizeof(data), fp) != NULL) {
            if (strncmp(data, "btime ", 6) == 0) {
                btime = strtod(data + 6, NULL);
                break;
            }
        }
        fclose(fp);
    }
    dir = opendir("/proc/self/fd");
    if (dir != NULL) {
        while ((de = readdir(dir)) != NULL) {
            fds += de->d_name[0] != '.';
        }
        closedir(dir);
        fds--;                              /* the one opendir() holds */
    }

    set_one(s, "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            STORE_COUNTER, (double) (utime + stime) / (double) hz);
    set_one(s, "process_resident_memory_bytes",
            "Resident memory size in bytes.", STORE_GAUGE,
            (double) rss * page);
    set_one(s, "process_virtual_memory_bytes",
            "Virtual memory size in bytes.", STORE_GAUGE, (double) vsize);
    if (btime > 0) {
        set_one(s, "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                STORE_GAUGE, btime + (double) start / (double) hz);
    }
    if (fds > 0) {
        set_one(s, "process_open_fds", "Number of open file descriptors.",
                STORE_GAUGE, fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        set_one(s, "process_max_fds",
                "Maximum number of open file descriptors.", STORE_GAUGE,
                (double) rl.rlim_cur);
    }
}


/* Sets the one series of a collected family without labels. */
static void
set_one(store_t *s, const char *name, const char *help, store_type_t type,
    double v)
{
    store_family_t  *f;

    f = store_family_get(s, &(store_family_def_t) {
            .name = name, .help = help, .type = type });
    if (f != NULL) {
        store_set(f, store_series(f, NULL), v);
    }
}
