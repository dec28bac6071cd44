/* check_selfstats.c - Unit tests for exporter/selfstats.c: the series
 * gauges per family, the overflow counters, build info and the process_*
 * metrics read from /proc/self. */

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <check.h>

#include "revision.h"
#include "exporter/selfstats.h"
#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })


/* Helpers */

/* A store with three families:
 *   req_total{product}      counter, max_series 2, four label sets added
 *                           (a, b, then c and d fold into __overflow__);
 *   lat_seconds{product}    histogram, one series;
 *   idle_total              counter, no series. */
static store_t *
small_store(void)
{
    static const char *const  lab1[] = { "product" };
    static const double       bk[] = { 0.1, 1 };
    store_family_def_t        def;
    store_family_t           *c, *h;
    store_t                  *st;

    st = store_create();
    ck_assert_ptr_nonnull(st);
    memset(&def, 0, sizeof(def));
    def.sibling_label = -1;

    def.name = "req_total";
    def.help = "Requests.";
    def.type = STORE_COUNTER;
    def.labels = lab1;
    def.nlabels = 1;
    def.max_series = 2;
    c = store_family_add(st, &def);
    ck_assert_ptr_nonnull(c);

    def.name = "lat_seconds";
    def.help = "Latency.";
    def.type = STORE_HISTOGRAM;
    def.buckets = bk;
    def.nbuckets = 2;
    def.scale = 1;
    def.max_series = 0;
    h = store_family_add(st, &def);
    ck_assert_ptr_nonnull(h);

    def.name = "idle_total";
    def.help = "Idle.";
    def.type = STORE_COUNTER;
    def.labels = NULL;
    def.nlabels = 0;
    def.buckets = NULL;
    def.nbuckets = 0;
    ck_assert_ptr_nonnull(store_family_add(st, &def));

    store_ingest_lock(st);
    store_add(c, store_series(c, &SV("a")), 1);
    store_add(c, store_series(c, &SV("b")), 1);
    store_add(c, store_series(c, &SV("c")), 5);
    store_add(c, store_series(c, &SV("d")), 7);
    store_observe(h, store_series(h, &SV("a")), 0.5);
    store_ingest_unlock(st);
    return st;
}


/* Writes selfstats for a snapshot of st and returns the text (free()). */
static char *
render(store_t *st)
{
    store_snap_t  *snap, *self;
    store_t       *ss;
    buf_t          b = { 0 };
    size_t         len;

    ss = store_create();
    ck_assert_ptr_nonnull(ss);
    ck_assert_int_eq(store_collector_add(ss, selfstats_collect, NULL), 0);
    snap = store_snapshot(st);
    ck_assert_ptr_nonnull(snap);
    self = store_snapshot_collect(ss, snap);
    ck_assert_ptr_nonnull(self);
    expo_write(&b, EXPO_TEXT, self);
    store_snap_free(self);
    store_snap_free(snap);
    store_destroy(ss);
    buf_append(&b, "", 0);                  /* NUL-terminated even if empty */
    return buf_detach(&b, &len);
}


/* Start of the line after the one at p, or the terminating NUL. */
static const char *
next_line(const char *p)
{
    const char  *nl = strchr(p, '\n');

    return nl != NULL ? nl + 1 : p + strlen(p);
}


/* Number of lines of text that start with prefix. */
static size_t
count_lines(const char *text, const char *prefix)
{
    const char  *p;
    size_t       n = 0, plen = strlen(prefix);

    for (p = text; *p != '\0'; p = next_line(p)) {
        if (strncmp(p, prefix, plen) == 0) {
            n++;
        }
    }
    return n;
}


/* Start of the line that starts with prefix, or NULL. */
static const char *
find_line(const char *text, const char *prefix)
{
    const char  *p;
    size_t       plen = strlen(prefix);

    for (p = text; *p != '\0'; p = next_line(p)) {
        if (strncmp(p, prefix, plen) == 0) {
            return p;
        }
    }
    return NULL;
}


/* Asserts family name has exactly one "# HELP name ..." line, followed
 * directly by exactly one "# TYPE name type" line, and that every sample
 * line of it comes after them. */
static void
check_header(const char *text, const char *name, const char *type)
{
    char         help[256], typ[256], sample[256], sample_l[256];
    const char  *h, *t, *s;

    snprintf(help, sizeof(help), "# HELP %s ", name);
    snprintf(typ, sizeof(typ), "# TYPE %s %s\n", name, type);
    snprintf(sample, sizeof(sample), "%s ", name);
    snprintf(sample_l, sizeof(sample_l), "%s{", name);
    ck_assert_msg(count_lines(text, help) == 1, "HELP of %s: %zu lines",
                  name, count_lines(text, help));
    snprintf(typ, sizeof(typ), "# TYPE %s ", name);
    ck_assert_msg(count_lines(text, typ) == 1, "TYPE of %s: %zu lines",
                  name, count_lines(text, typ));
    snprintf(typ, sizeof(typ), "# TYPE %s %s\n", name, type);
    h = find_line(text, help);
    t = strchr(h, '\n') + 1;
    ck_assert_msg(strncmp(t, typ, strlen(typ)) == 0,
                  "TYPE of %s does not follow HELP or is not %s", name, type);
    s = find_line(text, sample);
    ck_assert_msg(s == NULL || s > t, "sample of %s before its TYPE", name);
    s = find_line(text, sample_l);
    ck_assert_msg(s == NULL || s > t, "sample of %s before its TYPE", name);
}


/* Value of the sample line "name value", asserted present exactly once. */
static double
sample_value(const char *text, const char *name)
{
    char         prefix[256], *end;
    const char  *p;
    double       v;

    snprintf(prefix, sizeof(prefix), "%s ", name);
    ck_assert_msg(count_lines(text, prefix) == 1, "sample %s: %zu lines",
                  name, count_lines(text, prefix));
    p = find_line(text, prefix) + strlen(prefix);
    v = strtod(p, &end);
    ck_assert_msg(end != p && *end == '\n', "sample %s: bad value \"%.20s\"",
                  name, p);
    return v;
}


/* Entries of /proc/self/fd other than "." and "..", minus the one the
 * listing itself holds. */
static long
open_fds(void)
{
    struct dirent  *de;
    DIR            *dir;
    long            n = 0;

    dir = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(dir);
    while ((de = readdir(dir)) != NULL) {
        n += de->d_name[0] != '.';
    }
    closedir(dir);
    return n - 1;
}


/* Core */

START_TEST(test_series_gauges)
{
    store_t  *st = small_store();
    char     *out = render(st);

    check_header(out, "gwlog_series", "gauge");
    ck_assert_ptr_nonnull(strstr(out, "\ngwlog_series{metric=\"req_total\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ngwlog_series{metric=\"lat_seconds\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(out, "\ngwlog_series{metric=\"idle_total\"} 0\n"));
    ck_assert_uint_eq(count_lines(out, "gwlog_series{"), 3);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_overflow_counters)
{
    store_t  *st = small_store();
    char     *out = render(st);

    check_header(out, "gwlog_series_overflow_total", "counter");
    ck_assert_ptr_nonnull(strstr(out,
        "\ngwlog_series_overflow_total{metric=\"req_total\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(out,
        "\ngwlog_series_overflow_total{metric=\"lat_seconds\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(out,
        "\ngwlog_series_overflow_total{metric=\"idle_total\"} 0\n"));
    ck_assert_uint_eq(count_lines(out, "gwlog_series_overflow_total{"), 3);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_golden_prefix)
{
    static const char  *want =
        "# HELP gwlog_series Series held per metric family.\n"
        "# TYPE gwlog_series gauge\n"
        "gwlog_series{metric=\"req_total\"} 3\n"
        "gwlog_series{metric=\"lat_seconds\"} 1\n"
        "gwlog_series{metric=\"idle_total\"} 0\n"
        "# HELP gwlog_series_overflow_total Increments folded into the "
        "__overflow__ series because the family reached max_series.\n"
        "# TYPE gwlog_series_overflow_total counter\n"
        "gwlog_series_overflow_total{metric=\"req_total\"} 2\n"
        "gwlog_series_overflow_total{metric=\"lat_seconds\"} 0\n"
        "gwlog_series_overflow_total{metric=\"idle_total\"} 0\n"
        "# HELP gwlog_series_expired_total Idle series removed because of "
        "the family's series_ttl.\n"
        "# TYPE gwlog_series_expired_total counter\n"
        "gwlog_series_expired_total{metric=\"req_total\"} 0\n"
        "gwlog_series_expired_total{metric=\"lat_seconds\"} 0\n"
        "gwlog_series_expired_total{metric=\"idle_total\"} 0\n"
        "# HELP gwlog_build_info A metric with a constant 1 value labelled "
        "by the exporter's version and revision.\n"
        "# TYPE gwlog_build_info gauge\n"
        "gwlog_build_info{version=\"" GWLOG_VERSION "\",revision=\""
        GWLOG_REVISION "\"} 1\n"
        "# HELP process_cpu_seconds_total ";
    store_t  *st = small_store();
    char     *out = render(st);

    ck_assert_msg(strncmp(out, want, strlen(want)) == 0,
                  "got:\n%.900s", out);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_build_info)
{
    store_t  *st = small_store();
    char     *out = render(st);

    check_header(out, "gwlog_build_info", "gauge");
    ck_assert_uint_eq(count_lines(out, "gwlog_build_info{"), 1);
    ck_assert_ptr_nonnull(strstr(out, "\ngwlog_build_info{version=\""
                                 GWLOG_VERSION "\",revision=\""
                                 GWLOG_REVISION "\"} 1\n"));
    ck_assert_str_ne(GWLOG_VERSION, "");
    ck_assert_str_ne(GWLOG_REVISION, "");
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_empty_store)
{
    store_t  *st = store_create();
    char     *out = render(st);

    /* Headers stay, no per-family samples. */
    check_header(out, "gwlog_series", "gauge");
    check_header(out, "gwlog_series_overflow_total", "counter");
    ck_assert_uint_eq(count_lines(out, "gwlog_series{"), 0);
    ck_assert_uint_eq(count_lines(out, "gwlog_series_overflow_total{"), 0);
    ck_assert_uint_eq(count_lines(out, "gwlog_build_info{"), 1);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_process_cpu)
{
    struct rusage        ru;
    volatile uint64_t    x = 0;
    store_t             *st;
    char                *out;
    double               v, want;
    clock_t              until;
    uint64_t             i;

    /* Burn about 0.3 s of CPU so the value is well above a tick. */
    until = clock() + CLOCKS_PER_SEC * 3 / 10;
    while (clock() < until) {
        for (i = 0; i < 100000; i++) {
            x += i;
        }
    }
    st = small_store();
    out = render(st);
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    want = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    check_header(out, "process_cpu_seconds_total", "counter");
    v = sample_value(out, "process_cpu_seconds_total");
    ck_assert_msg(v >= 0.2 && fabs(v - want) < 0.1,
                  "process_cpu_seconds_total %g, getrusage says %g", v, want);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_process_memory)
{
    store_t   *st = small_store();
    char      *out = render(st);
    double     rss, vsz;
    long       pages_total = 0, pages_rss = 0;
    FILE      *fp;

    check_header(out, "process_resident_memory_bytes", "gauge");
    check_header(out, "process_virtual_memory_bytes", "gauge");
    rss = sample_value(out, "process_resident_memory_bytes");
    vsz = sample_value(out, "process_virtual_memory_bytes");

    fp = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fscanf(fp, "%ld %ld", &pages_total, &pages_rss), 2);
    fclose(fp);

    ck_assert_msg(rss > 0, "process_resident_memory_bytes %g", rss);
    ck_assert_double_eq(fmod(rss, (double) sysconf(_SC_PAGESIZE)), 0);
    ck_assert_msg(fabs(rss - (double) pages_rss * sysconf(_SC_PAGESIZE))
                  < 0.5 * rss, "rss %g vs statm %ld pages", rss, pages_rss);
    ck_assert_msg(vsz >= rss, "virtual %g < resident %g", vsz, rss);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_process_open_fds)
{
    store_t  *st = small_store();
    char     *out;
    double    before, after;
    long      want;
    int       fd1, fd2;

    want = open_fds();
    out = render(st);
    check_header(out, "process_open_fds", "gauge");
    before = sample_value(out, "process_open_fds");
    ck_assert_double_eq(before, (double) want);
    free(out);

    fd1 = open("/dev/null", O_RDONLY);
    fd2 = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(fd1, 0);
    ck_assert_int_ge(fd2, 0);
    out = render(st);
    after = sample_value(out, "process_open_fds");
    ck_assert_double_eq(after, before + 2);
    close(fd1);
    close(fd2);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_process_max_fds)
{
    store_t        *st = small_store();
    char           *out = render(st);
    struct rlimit   rl;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur == RLIM_INFINITY) {
        ck_assert_uint_eq(count_lines(out, "process_max_fds "), 0);
    } else {
        check_header(out, "process_max_fds", "gauge");
        ck_assert_double_eq(sample_value(out, "process_max_fds"),
                            (double) rl.rlim_cur);
    }
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_process_start_time)
{
    store_t         *st = small_store();
    char            *out = render(st);
    struct timeval   now;
    double           v, t;

    gettimeofday(&now, NULL);
    t = (double) now.tv_sec + now.tv_usec / 1e6;
    check_header(out, "process_start_time_seconds", "gauge");
    v = sample_value(out, "process_start_time_seconds");
    ck_assert_msg(v > t - 60 && v <= t + 1,
                  "process_start_time_seconds %.3f, now %.3f", v, t);
    free(out);
    store_destroy(st);
}
END_TEST


START_TEST(test_every_header_once)
{
    static const char *const  names[][2] = {
        { "gwlog_series", "gauge" },
        { "gwlog_series_overflow_total", "counter" },
        { "gwlog_build_info", "gauge" },
        { "process_cpu_seconds_total", "counter" },
        { "process_resident_memory_bytes", "gauge" },
        { "process_virtual_memory_bytes", "gauge" },
        { "process_start_time_seconds", "gauge" },
        { "process_open_fds", "gauge" },
    };
    store_t  *st = small_store();
    char     *out = render(st);
    size_t    i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        check_header(out, names[i][0], names[i][1]);
    }
    /* Every line is a comment or a sample, and the text ends in "\n". */
    ck_assert_uint_gt(strlen(out), 0);
    ck_assert_int_eq(out[strlen(out) - 1], '\n');
    ck_assert_ptr_null(strstr(out, "\n\n"));
    free(out);
    store_destroy(st);
}
END_TEST


Suite *
selfstats_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("selfstats");

    tc = tcase_create("Core");
    tcase_add_test(tc, test_series_gauges);
    tcase_add_test(tc, test_overflow_counters);
    tcase_add_test(tc, test_golden_prefix);
    tcase_add_test(tc, test_build_info);
    tcase_add_test(tc, test_empty_store);
    tcase_add_test(tc, test_every_header_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("Process");
    tcase_set_timeout(tc, 10);  /* test_process_cpu burns 0.3 s of CPU:
                                 * 0.7 s of wall time on the loaded machine */
    tcase_add_test(tc, test_process_cpu);
    tcase_add_test(tc, test_process_memory);
    tcase_add_test(tc, test_process_open_fds);
    tcase_add_test(tc, test_process_max_fds);
    tcase_add_test(tc, test_process_start_time);
    suite_add_tcase(s, tc);

    return s;
}
