/* selfstats.c - The exporter's gauges and process metrics at scrape time. */

#include "revision.h"
#include "exporter/selfstats.h"

#include <dirent.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "labels/expo.h"


static void write_per_family(buf_t *b, const store_snap_t *snap,
    const char *name, const char *help, const char *type, size_t offset);
static void write_process(buf_t *b);
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "8-byte counts");
static void write_sample(buf_t *b, const char *name, double v);


void
selfstats_write(buf_t *b, const store_snap_t *snap)
{
    write_per_family(b, snap, "gwlog_series",
                     "Series held per metric family.", "gauge",
                     offsetof(store_snap_family_t, nseries));
    write_per_family(b, snap, "gwlog_series_overflow_total",
                     "Increments folded into the __overflow__ series because "
                     "the family reached max_series.", "counter",
                     offsetof(store_snap_family_t, overflowed));
    write_per_family(b, snap, "gwlog_series_expired_total",
                     "Idle series removed because of the family's "
                     "series_ttl.", "counter",
                     offsetof(store_snap_family_t, expired));
    expo_write_header(b, "gwlog_build_info",
                      "A metric with a constant 1 value labelled by the "
                      "exporter's version and revision.", "gauge");
    buf_printf(b, "gwlog_build_info{version=\"%s\",revision=\"%s\"} 1\n",
               GWLOG_VERSION, GWLOG_REVISION);
    write_process(b);
}


/* One sample per family, labelled metric="NAME", with the value of the
 * snapshot field at offset (a size_t or a uint64_t, both 8 bytes here). */
static void
write_per_family(buf_t *b, const store_snap_t *snap, const char *name,
    const char *help, const char *type, size_t offset)
{
    const store_snap_family_t  *f;
    uint64_t                    v;
    size_t                      i;

    expo_write_header(b, name, help, type);
    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        memcpy(&v, (const char *) f + offset, sizeof(v));
        buf_printf(b, "%s{metric=\"%s\"} %" PRIu64 "\n", name, f->name, v);
    }
}


/* process_* as client libraries export them, from /proc/self. */
static void
write_process(buf_t *b)
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

    expo_write_header(b, "process_cpu_seconds_total",
                      "Total user and system CPU time spent in seconds.",
                      "counter");
    write_sample(b, "process_cpu_seconds_total",
                 (double) (utime + stime) / (double) hz);
    expo_write_header(b, "process_resident_memory_bytes",
                      "Resident memory size in bytes.", "gauge");
    write_sample(b, "process_resident_memory_bytes", (double) rss * page);
    expo_write_header(b, "process_virtual_memory_bytes",
                      "Virtual memory size in bytes.", "gauge");
    write_sample(b, "process_virtual_memory_bytes", (double) vsize);
    if (btime > 0) {
        expo_write_header(b, "process_start_time_seconds",
                          "Start time of the process since unix epoch in "
                          "seconds.", "gauge");
        write_sample(b, "process_start_time_seconds",
                     btime + (double) start / (double) hz);
    }
    if (fds > 0) {
        expo_write_header(b, "process_open_fds",
                          "Number of open file descriptors.", "gauge");
        write_sample(b, "process_open_fds", fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        expo_write_header(b, "process_max_fds",
                          "Maximum number of open file descriptors.", "gauge");
        write_sample(b, "process_max_fds", (double) rl.rlim_cur);
    }
}


static void
write_sample(buf_t *b, const char *name, double v)
{
    char    num[EXPO_DOUBLE_LEN];
    size_t  n;

    n = expo_format_double(num, v);
    buf_printf(b, "%s %.*s\n", name, (int) n, num);
}
