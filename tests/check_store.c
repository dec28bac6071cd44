/* check_store.c - Unit tests for labels/store.c: series identity,
 * counters, histograms, siblings, the max_series cap and snapshots. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "labels/store.h"
#include "tests/testutil.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })


/* Helpers */

static const char *const  two_labels[] = { "a", "b" };
static const double       buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5, 1, 2.5, 5, 10 };
static const char *const  classes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

static store_t  *st;


static void
setup(void)
{
    st = store_create();
    ck_assert_ptr_nonnull(st);
}


static void
teardown(void)
{
    store_destroy(st);
    st = NULL;
}


static store_family_t *
add_counter(const char *name, const char *const *labels, size_t n,
    uint64_t max_series)
{
    store_family_def_t  def;
    store_family_t     *f;

    memset(&def, 0, sizeof(def));
    def.name = name;
    def.help = "help";
    def.type = STORE_COUNTER;
    def.labels = labels;
    def.nlabels = n;
    def.max_series = max_series;
    def.sibling_label = -1;
    f = store_family_add(st, &def);
    ck_assert_ptr_nonnull(f);
    return f;
}


static store_family_t *
add_histogram(const char *name, double scale)
{
    static const char *const  labels[] = { "product" };
    store_family_def_t        def;
    store_family_t           *f;

    memset(&def, 0, sizeof(def));
    def.name = name;
    def.help = "latency";
    def.type = STORE_HISTOGRAM;
    def.labels = labels;
    def.nlabels = 1;
    def.buckets = buckets;
    def.nbuckets = sizeof(buckets) / sizeof(buckets[0]);
    def.scale = scale;
    def.sibling_label = -1;
    f = store_family_add(st, &def);
    ck_assert_ptr_nonnull(f);
    return f;
}


static store_family_t *
add_siblings(uint64_t max_series)
{
    static const char *const  labels[] = { "product", "code_class" };
    store_family_def_t        def;
    store_family_t           *f;

    memset(&def, 0, sizeof(def));
    def.name = "req_total";
    def.help = "requests";
    def.type = STORE_COUNTER;
    def.labels = labels;
    def.nlabels = 2;
    def.max_series = max_series;
    def.sibling_label = 1;
    def.sibling_values = classes;
    def.nsibling_values = 5;
    f = store_family_add(st, &def);
    ck_assert_ptr_nonnull(f);
    return f;
}


static uint32_t
series2(store_family_t *f, strv_t a, strv_t b)
{
    strv_t  v[2];

    v[0] = a;
    v[1] = b;
    return store_series(f, v);
}


/* Core */

START_TEST(test_empty_store)
{
    store_snap_t  *snap;

    snap = store_snapshot(st);
    ck_assert_ptr_nonnull(snap);
    ck_assert_uint_eq(store_snap_nfamilies(snap), 0);
    store_snap_free(snap);
    store_destroy(NULL);
    store_snap_free(NULL);
}
END_TEST


START_TEST(test_family_def_copied)
{
    char                 name[16], help[16], l0[8];
    const char          *labels[1];
    store_family_def_t   def;
    double               b[2] = { 1, 2 };
    store_snap_t        *snap;
    const store_snap_family_t  *sf;

    strcpy(name, "x_total");
    strcpy(help, "some help");
    strcpy(l0, "lab");
    labels[0] = l0;
    memset(&def, 0, sizeof(def));
    def.name = name;
    def.help = help;
    def.type = STORE_HISTOGRAM;
    def.labels = labels;
    def.nlabels = 1;
    def.buckets = b;
    def.nbuckets = 2;
    def.scale = 1;
    def.sibling_label = -1;
    ck_assert_ptr_nonnull(store_family_add(st, &def));
    memset(name, 'z', sizeof(name) - 1);
    memset(help, 'z', sizeof(help) - 1);
    memset(l0, 'z', sizeof(l0) - 1);
    b[0] = b[1] = 99;

    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_nfamilies(snap), 1);
    sf = store_snap_family(snap, 0);
    ck_assert_str_eq(sf->name, "x_total");
    ck_assert_str_eq(sf->help, "some help");
    ck_assert_str_eq(sf->labels[0], "lab");
    ck_assert_uint_eq(sf->nlabels, 1);
    ck_assert_int_eq(sf->type, STORE_HISTOGRAM);
    ck_assert_uint_eq(sf->nbuckets, 2);
    ck_assert(sf->buckets[0] == 1 && sf->buckets[1] == 2);
    ck_assert_uint_eq(sf->nseries, 0);
    ck_assert_uint_eq(sf->overflowed, 0);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_series_identity)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 0);
    char             buf1[8], buf2[8];
    uint32_t         a, b, c, d, e, g, h;

    store_ingest_lock(st);
    a = series2(f, SV("x"), SV("y"));
    /* The same bytes from another buffer are the same series. */
    strcpy(buf1, "x");
    strcpy(buf2, "y");
    b = series2(f, (strv_t) { buf1, 1 }, (strv_t) { buf2, 1 });
    /* The boundary between values matters: "xy","" != "x","y" != "","xy". */
    c = series2(f, SV("xy"), SV(""));
    d = series2(f, SV(""), SV("xy"));
    /* Empty values, with a NULL or a non-NULL pointer. */
    e = series2(f, SV(""), SV(""));
    g = series2(f, (strv_t) { NULL, 0 }, (strv_t) { "", 0 });
    /* Embedded NUL bytes are compared too. */
    h = series2(f, SV("a\0b"), SV("y"));
    ck_assert_uint_ne(series2(f, SV("a\0c"), SV("y")), h);
    ck_assert_uint_ne(series2(f, SV("a"), SV("y")), h);
    ck_assert_uint_eq(series2(f, SV("a\0b"), SV("y")), h);
    store_ingest_unlock(st);

    ck_assert_uint_eq(a, 0);
    ck_assert_uint_eq(b, a);
    ck_assert_uint_eq(c, 1);
    ck_assert_uint_eq(d, 2);
    ck_assert_uint_eq(e, 3);
    ck_assert_uint_eq(g, e);
    ck_assert_uint_eq(h, 4);
    ck_assert_uint_eq(store_family_size(f), 7);
}
END_TEST


START_TEST(test_labels_copied)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 0);
    store_snap_t    *snap;
    strv_t           v[2];
    char             buf[8];

    strcpy(buf, "abc");
    store_ingest_lock(st);
    store_add(f, series2(f, (strv_t) { buf, 3 }, SV("a\0b")), 3);
    store_ingest_unlock(st);
    memset(buf, 'z', sizeof(buf));

    snap = store_snapshot(st);
    store_snap_labels(snap, 0, 0, v);
    ck_assert_uint_eq(v[0].len, 3);
    ck_assert(memcmp(v[0].p, "abc", 3) == 0);
    ck_assert_uint_eq(v[1].len, 3);
    ck_assert(memcmp(v[1].p, "a\0b", 3) == 0);
    ck_assert_uint_eq(store_snap_counter(snap, 0, 0), 3);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_counters)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 0);
    store_family_t  *g = add_counter("d_total", two_labels, 2, 0);
    store_snap_t    *snap;
    uint32_t         a, b;

    store_ingest_lock(st);
    a = series2(f, SV("x"), SV("1"));
    b = series2(f, SV("x"), SV("2"));
    store_add(f, a, 1);
    store_add(f, a, 1);
    store_add(f, b, 40);
    store_add(f, b, 2);
    store_add(g, series2(g, SV("x"), SV("1")), 7);
    store_add(f, a, UINT64_C(1) << 40);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_nfamilies(snap), 2);
    ck_assert_str_eq(store_snap_family(snap, 0)->name, "c_total");
    ck_assert_str_eq(store_snap_family(snap, 1)->name, "d_total");
    ck_assert_uint_eq(tu_counter(snap, "c_total", "x", "1"),
                      (UINT64_C(1) << 40) + 2);
    ck_assert_uint_eq(tu_counter(snap, "c_total", "x", "2"), 42);
    ck_assert_uint_eq(tu_counter(snap, "d_total", "x", "1"), 7);
    ck_assert_uint_eq(tu_counter(snap, "d_total", "x", "2"), TU_MISSING);
    ck_assert_uint_eq(tu_nseries(snap, "c_total"), 2);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_histogram_buckets)
{
    store_family_t             *f = add_histogram("lat_seconds", 0.001);
    store_snap_t               *snap;
    const store_snap_family_t  *sf;
    const uint64_t             *b;
    double                      sum;
    uint32_t                    id;
    size_t                      i;
    /* Raw milliseconds and the bucket each must land in (11 = +Inf). */
    static const struct { double raw; size_t bucket; } obs[] = {
        { 5, 0 },           /* 0.005 <= .005 exactly */
        { 6, 1 },
        { 0, 0 },
        { -3, 0 },
        { 10, 1 },
        { 10.5, 2 },
        { 25, 2 },
        { 100, 4 },
        { 1000, 7 },
        { 1001, 8 },
        { 10000, 10 },
        { 10001, 11 },
        { 1e12, 11 },
    };
    uint64_t                    want[12] = { 0 };

    store_ingest_lock(st);
    id = store_series(f, &SV("acc"));
    for (i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
        store_observe(f, id, obs[i].raw);
        want[obs[i].bucket]++;
    }
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    sf = store_snap_family(snap, 0);
    ck_assert_int_eq(sf->type, STORE_HISTOGRAM);
    ck_assert_uint_eq(sf->nbuckets, 11);
    ck_assert(sf->divisor == 1000);
    b = tu_hist(snap, &sum, "lat_seconds", "acc");
    ck_assert_ptr_nonnull(b);
    for (i = 0; i < 12; i++) {
        ck_assert_msg(b[i] == want[i], "bucket %zu: %llu, want %llu", i,
                      (unsigned long long) b[i], (unsigned long long) want[i]);
    }
    /* The sum stays in raw units, exactly. */
    ck_assert_msg(sum == 5 + 6 + 0 - 3 + 10 + 10.5 + 25 + 100 + 1000 + 1001
                         + 10000 + 10001 + 1e12,
                  "raw sum %.17g", sum);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_histogram_scale)
{
    store_family_t             *f1 = add_histogram("unit_seconds", 1);
    store_family_t             *f2 = add_histogram("quarter_seconds", 0.25);
    store_family_t             *f3 = add_histogram("odd_seconds", 0.3);
    store_snap_t               *snap;
    const uint64_t             *b;
    double                      sum;

    store_ingest_lock(st);
    store_observe(f1, store_series(f1, &SV("p")), 0.005);
    store_observe(f1, store_series(f1, &SV("p")), 11);
    store_observe(f2, store_series(f2, &SV("p")), 4);       /* 1 */
    store_observe(f3, store_series(f3, &SV("p")), 10);      /* 3 */
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert(store_snap_family(snap, 0)->scale == 1);
    ck_assert(store_snap_family(snap, 0)->divisor == 0);
    ck_assert(store_snap_family(snap, 1)->divisor == 4);
    ck_assert(store_snap_family(snap, 2)->divisor == 0);
    ck_assert(store_snap_family(snap, 2)->scale == 0.3);

    b = tu_hist(snap, &sum, "unit_seconds", "p");
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(b[11], 1);
    ck_assert(sum == 0.005 + 11.0);
    b = tu_hist(snap, &sum, "quarter_seconds", "p");
    ck_assert_uint_eq(b[7], 1);                             /* le=1 */
    ck_assert(sum == 4);
    b = tu_hist(snap, &sum, "odd_seconds", "p");
    ck_assert_uint_eq(b[9], 1);                             /* le=5 */
    ck_assert(sum == 10);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_siblings)
{
    store_family_t  *f = add_siblings(0);
    store_snap_t    *snap;
    uint32_t         id;
    size_t           i;

    store_ingest_lock(st);
    /* A value outside the sibling list: itself plus the five. */
    id = series2(f, SV("acc"), SV("unknown"));
    store_add(f, id, 1);
    ck_assert_uint_eq(id, 0);
    ck_assert_uint_eq(store_family_size(f), 6);
    /* A value of the list: the other four. */
    id = series2(f, SV("ecs"), SV("4xx"));
    store_add(f, id, 2);
    ck_assert_uint_eq(id, 6);
    ck_assert_uint_eq(store_family_size(f), 11);
    /* An existing sibling is found, nothing new is created. */
    id = series2(f, SV("ecs"), SV("2xx"));
    store_add(f, id, 5);
    ck_assert_uint_eq(store_family_size(f), 11);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", "unknown"), 1);
    for (i = 0; i < 5; i++) {
        ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", classes[i]), 0);
    }
    ck_assert_uint_eq(tu_counter(snap, "req_total", "ecs", "1xx"), 0);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "ecs", "2xx"), 5);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "ecs", "3xx"), 0);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "ecs", "4xx"), 2);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "ecs", "5xx"), 0);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "ecs", "unknown"),
                      TU_MISSING);
    ck_assert_uint_eq(tu_total(snap, "req_total"), 8);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_zero_labels)
{
    store_family_t  *f = add_counter("bytes_total", NULL, 0, 0);
    store_snap_t    *snap;
    uint32_t         a, b;

    store_ingest_lock(st);
    a = store_series(f, NULL);
    b = store_series(f, NULL);
    store_add(f, a, 10);
    store_add(f, b, 5);
    store_ingest_unlock(st);

    ck_assert_uint_eq(a, b);
    ck_assert_uint_eq(store_family_size(f), 1);
    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nlabels, 0);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nseries, 1);
    ck_assert_uint_eq(store_snap_counter(snap, 0, 0), 15);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_snapshot_independent)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 0);
    store_family_t  *h = add_histogram("lat_seconds", 0.001);
    store_snap_t    *s1, *s2;
    const uint64_t  *b;
    double           sum;
    uint32_t         id, hid;

    store_ingest_lock(st);
    id = series2(f, SV("x"), SV("y"));
    store_add(f, id, 1);
    hid = store_series(h, &SV("p"));
    store_observe(h, hid, 7);
    store_ingest_unlock(st);

    s1 = store_snapshot(st);

    store_ingest_lock(st);
    store_add(f, id, 100);
    store_add(f, series2(f, SV("new"), SV("one")), 1);
    store_observe(h, hid, 20000);
    store_ingest_unlock(st);

    s2 = store_snapshot(st);

    /* s1 still shows the values at the time it was taken. */
    ck_assert_uint_eq(tu_counter(s1, "c_total", "x", "y"), 1);
    ck_assert_uint_eq(tu_nseries(s1, "c_total"), 1);
    ck_assert_uint_eq(tu_counter(s1, "c_total", "new", "one"), TU_MISSING);
    b = tu_hist(s1, &sum, "lat_seconds", "p");
    ck_assert_uint_eq(b[1], 1);
    ck_assert_uint_eq(b[11], 0);
    ck_assert(sum == 7);

    ck_assert_uint_eq(tu_counter(s2, "c_total", "x", "y"), 101);
    ck_assert_uint_eq(tu_counter(s2, "c_total", "new", "one"), 1);
    b = tu_hist(s2, &sum, "lat_seconds", "p");
    ck_assert_uint_eq(b[1], 1);
    ck_assert_uint_eq(b[11], 1);
    ck_assert(sum == 20007);

    store_snap_free(s2);
    store_snap_free(s1);
}
END_TEST


/* Limits */

START_TEST(test_max_series_overflow)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 3);
    store_snap_t    *snap;
    uint32_t         ids[6];
    char             v[6][4];
    int              i;

    store_ingest_lock(st);
    for (i = 0; i < 6; i++) {
        v[i][0] = 'v';     /* "v0".."v5" */
        v[i][1] = (char) ('0' + i);
        v[i][2] = '\0';
        ids[i] = series2(f, (strv_t) { v[i], strlen(v[i]) }, SV("z"));
        store_add(f, ids[i], (uint64_t) (i + 1));
    }
    /* An existing series is still found after the cap. */
    ck_assert_uint_eq(series2(f, SV("v1"), SV("z")), ids[1]);
    store_add(f, ids[1], 10);
    store_ingest_unlock(st);

    ck_assert_uint_eq(ids[0], 0);
    ck_assert_uint_eq(ids[1], 1);
    ck_assert_uint_eq(ids[2], 2);
    ck_assert_uint_eq(ids[3], 3);
    ck_assert_uint_eq(ids[4], ids[3]);
    ck_assert_uint_eq(ids[5], ids[3]);

    snap = store_snapshot(st);
    /* Three real series plus the one overflow series. */
    ck_assert_uint_eq(tu_nseries(snap, "c_total"), 4);
    ck_assert_uint_eq(store_snap_family(snap, 0)->overflowed, 3);
    ck_assert_uint_eq(tu_counter(snap, "c_total", "v0", "z"), 1);
    ck_assert_uint_eq(tu_counter(snap, "c_total", "v1", "z"), 12);
    ck_assert_uint_eq(tu_counter(snap, "c_total", "v2", "z"), 3);
    ck_assert_uint_eq(tu_counter(snap, "c_total", "v3", "z"), TU_MISSING);
    ck_assert_uint_eq(tu_counter(snap, "c_total", STORE_OVERFLOW_VALUE,
                                 STORE_OVERFLOW_VALUE), 4 + 5 + 6);
    /* The sum over the family stays exact. */
    ck_assert_uint_eq(tu_total(snap, "c_total"), 1 + 12 + 3 + 4 + 5 + 6);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_siblings_capped)
{
    store_family_t  *f = add_siblings(4);
    store_snap_t    *snap;

    store_ingest_lock(st);
    store_add(f, series2(f, SV("acc"), SV("4xx")), 1);
    /* Siblings stop at the cap: 4xx, then 1xx 2xx 3xx. */
    ck_assert_uint_eq(store_family_size(f), 4);
    store_add(f, series2(f, SV("acc"), SV("5xx")), 1);
    store_add(f, series2(f, SV("ecs"), SV("2xx")), 1);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(tu_nseries(snap, "req_total"), 5);
    ck_assert_uint_eq(store_snap_family(snap, 0)->overflowed, 2);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", "4xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", "1xx"), 0);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", "2xx"), 0);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", "3xx"), 0);
    ck_assert_uint_eq(tu_counter(snap, "req_total", "acc", "5xx"),
                      TU_MISSING);
    ck_assert_uint_eq(tu_counter(snap, "req_total", STORE_OVERFLOW_VALUE,
                                 STORE_OVERFLOW_VALUE), 2);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_overflow_histogram)
{
    store_family_def_t   def;
    store_family_t      *f;
    store_snap_t        *snap;
    const uint64_t      *b;
    double               sum;
    static const char *const  labels[] = { "product" };

    memset(&def, 0, sizeof(def));
    def.name = "lat_seconds";
    def.help = "h";
    def.type = STORE_HISTOGRAM;
    def.labels = labels;
    def.nlabels = 1;
    def.buckets = buckets;
    def.nbuckets = 11;
    def.scale = 0.001;
    def.max_series = 1;
    def.sibling_label = -1;
    f = store_family_add(st, &def);

    store_ingest_lock(st);
    store_observe(f, store_series(f, &SV("a")), 1);
    store_observe(f, store_series(f, &SV("b")), 2);
    store_observe(f, store_series(f, &SV("c")), 30);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(tu_nseries(snap, "lat_seconds"), 2);
    ck_assert_uint_eq(store_snap_family(snap, 0)->overflowed, 2);
    b = tu_hist(snap, &sum, "lat_seconds", STORE_OVERFLOW_VALUE);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(b[3], 1);
    ck_assert(sum == 32);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_many_series)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 0);
    store_snap_t    *snap;
    strv_t           v[2], got[2];
    char             buf[32];
    uint32_t         id;
    size_t           i, n = 200000;
    int              ok = 1;

    store_ingest_lock(st);
    for (i = 0; i < n && ok; i++) {
        v[0].len = (size_t) snprintf(buf, sizeof(buf), "uid%zu", i);
        v[0].p = buf;
        v[1] = SV("lvl");
        id = store_series(f, v);
        ok = id == i;
        store_add(f, id, i + 1);
    }
    ck_assert_msg(ok, "series %zu got a wrong id", i - 1);
    /* Every one is found again after the index grew. */
    for (i = 0; i < n && ok; i++) {
        v[0].len = (size_t) snprintf(buf, sizeof(buf), "uid%zu", i);
        v[0].p = buf;
        ok = store_series(f, v) == i;
    }
    ck_assert_msg(ok, "series %zu not found again", i - 1);
    ck_assert_uint_eq(store_family_size(f), n);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nseries, n);
    for (i = 0; i < n && ok; i++) {
        v[0].len = (size_t) snprintf(buf, sizeof(buf), "uid%zu", i);
        store_snap_labels(snap, 0, i, got);
        ok = got[0].len == v[0].len && memcmp(got[0].p, buf, v[0].len) == 0
             && got[1].len == 3 && memcmp(got[1].p, "lvl", 3) == 0
             && store_snap_counter(snap, 0, i) == i + 1;
    }
    ck_assert_msg(ok, "snapshot series %zu is wrong", i - 1);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_long_label_value)
{
    store_family_t  *f = add_counter("c_total", two_labels, 2, 0);
    store_snap_t    *snap;
    strv_t           got[2];
    char            *big;
    size_t           n = 200 * 1024;        /* larger than an arena block */

    big = malloc(n);
    memset(big, 'q', n);
    store_ingest_lock(st);
    store_add(f, series2(f, (strv_t) { big, n }, SV("1")), 1);
    store_add(f, series2(f, (strv_t) { big, n }, SV("1")), 1);
    store_add(f, series2(f, SV("small"), SV("1")), 1);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(tu_nseries(snap, "c_total"), 2);
    store_snap_labels(snap, 0, 0, got);
    ck_assert_uint_eq(got[0].len, n);
    ck_assert(memcmp(got[0].p, big, n) == 0);
    ck_assert_uint_eq(store_snap_counter(snap, 0, 0), 2);
    ck_assert_uint_eq(tu_counter(snap, "c_total", "small", "1"), 1);
    store_snap_free(snap);
    free(big);
}
END_TEST


/* Expiry (series_ttl) */

static store_family_t *
add_expiring(uint32_t ttl, uint64_t max_series)
{
    static const char *const  one[] = { "k" };
    store_family_def_t        def;
    store_family_t           *f;

    memset(&def, 0, sizeof(def));
    def.name = "exp_total";
    def.help = "help";
    def.type = STORE_COUNTER;
    def.labels = one;
    def.nlabels = 1;
    def.max_series = max_series;
    def.sibling_label = -1;
    def.ttl = ttl;
    f = store_family_add(st, &def);
    ck_assert_ptr_nonnull(f);
    return f;
}


static uint32_t
key(store_family_t *f, const char *k)
{
    strv_t  v = { k, strlen(k) };

    return store_series(f, &v);
}


/* The value of series k in the snapshot's first family, or -1. */
static long long
snap_value(store_snap_t *snap, const char *k)
{
    const store_snap_family_t  *sf = store_snap_family(snap, 0);
    strv_t                      v[1];
    size_t                      j;

    for (j = 0; j < sf->nseries; j++) {
        store_snap_labels(snap, 0, j, v);
        if (v[0].len == strlen(k) && memcmp(v[0].p, k, v[0].len) == 0) {
            return (long long) store_snap_counter(snap, 0, j);
        }
    }
    return -1;
}


START_TEST(test_expiry_removes_idle_series)
{
    store_family_t  *f;
    store_snap_t    *snap;

    f = add_expiring(10, 0);
    store_ingest_lock(st);
    store_set_clock(st, 100);
    store_add(f, key(f, "a"), 1);
    store_add(f, key(f, "b"), 2);
    store_set_clock(st, 105);
    store_add(f, key(f, "a"), 1);               /* a used again at 105 */
    store_set_clock(st, 110);
    ck_assert_uint_eq(store_expire(st), 0);     /* b idle 10 s: kept */
    store_set_clock(st, 111);
    ck_assert_uint_eq(store_expire(st), 1);     /* b idle 11 s: gone */
    ck_assert_uint_eq(store_family_size(f), 1);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nseries, 1);
    ck_assert_uint_eq(store_snap_family(snap, 0)->expired, 1);
    ck_assert_int_eq(snap_value(snap, "a"), 2);
    ck_assert_int_eq(snap_value(snap, "b"), -1);
    store_snap_free(snap);

    /* b comes back: a new series from zero. */
    store_ingest_lock(st);
    store_add(f, key(f, "b"), 5);
    store_ingest_unlock(st);
    snap = store_snapshot(st);
    ck_assert_int_eq(snap_value(snap, "b"), 5);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_expiry_snapshot_outlives_removal)
{
    store_family_t  *f;
    store_snap_t    *old, *now;

    f = add_expiring(5, 0);
    store_ingest_lock(st);
    store_set_clock(st, 0);
    store_add(f, key(f, "gone-soon"), 7);
    store_ingest_unlock(st);
    old = store_snapshot(st);

    store_ingest_lock(st);
    store_set_clock(st, 100);
    ck_assert_uint_eq(store_expire(st), 1);
    store_add(f, key(f, "reuses-the-id"), 3);   /* the freed id */
    store_ingest_unlock(st);

    /* The old snapshot still reads the removed series' labels. */
    ck_assert_int_eq(snap_value(old, "gone-soon"), 7);
    ck_assert_int_eq(snap_value(old, "reuses-the-id"), -1);
    now = store_snapshot(st);
    ck_assert_int_eq(snap_value(now, "reuses-the-id"), 3);
    ck_assert_int_eq(snap_value(now, "gone-soon"), -1);
    store_snap_free(old);
    store_snap_free(now);

    store_ingest_lock(st);
    store_expire(st);                           /* frees the labels */
    store_ingest_unlock(st);
}
END_TEST


START_TEST(test_expiry_index_integrity)
{
    store_family_t  *f;
    store_snap_t    *snap;
    char             k[32];
    uint32_t         ids[20000];
    int              i;

    f = add_expiring(10, 0);
    store_ingest_lock(st);
    store_set_clock(st, 0);
    for (i = 0; i < 20000; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        ids[i] = key(f, k);
        store_add(f, ids[i], (uint64_t) i);
    }
    store_set_clock(st, 8);
    for (i = 0; i < 20000; i += 2) {            /* keep the even ones */
        snprintf(k, sizeof(k), "k%d", i);
        key(f, k);
    }
    store_set_clock(st, 15);
    ck_assert_uint_eq(store_expire(st), 10000);
    ck_assert_uint_eq(store_family_size(f), 10000);
    for (i = 0; i < 20000; i += 2) {            /* same ids, same values */
        snprintf(k, sizeof(k), "k%d", i);
        ck_assert_uint_eq(key(f, k), ids[i]);
    }
    for (i = 1; i < 20000; i += 2) {            /* back, from zero */
        snprintf(k, sizeof(k), "k%d", i);
        store_add(f, key(f, k), 1);
    }
    ck_assert_uint_eq(store_family_size(f), 20000);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nseries, 20000);
    ck_assert_int_eq(snap_value(snap, "k4"), 4);
    ck_assert_int_eq(snap_value(snap, "k5"), 1);
    ck_assert_int_eq(snap_value(snap, "k19998"), 19998);
    store_snap_free(snap);
}
END_TEST


START_TEST(test_expiry_frees_room_under_the_cap)
{
    store_family_t  *f;
    store_snap_t    *snap;

    f = add_expiring(5, 2);
    store_ingest_lock(st);
    store_set_clock(st, 0);
    store_add(f, key(f, "a"), 1);
    store_add(f, key(f, "b"), 1);
    store_add(f, key(f, "c"), 1);               /* over the cap: folded */
    store_set_clock(st, 10);
    store_expire(st);                           /* all idle: removed */
    store_add(f, key(f, "d"), 1);               /* room again */
    store_ingest_unlock(st);
    snap = store_snapshot(st);
    ck_assert_int_eq(snap_value(snap, "d"), 1);
    ck_assert_int_eq(snap_value(snap, STORE_OVERFLOW_VALUE), -1);
    store_snap_free(snap);
}
END_TEST


/* Collected */

/* A collector setting "tables" series of a gauge and a counter; its ctx
 * is how many tables there are now. */
static void
collect_tables(void *ctx, store_t *s, void *arg)
{
    static const char *const  labels[] = { "table" };
    static const char *const  names[] = { "a", "b", "c" };
    store_family_t           *g, *c;
    size_t                    i, n = *(size_t *) ctx;
    double                    base = arg != NULL ? *(double *) arg : 0;

    g = store_family_get(s, &(store_family_def_t) {
        .name = "rows", .help = "Rows.", .type = STORE_GAUGE,
        .labels = labels, .nlabels = 1 });
    c = store_family_get(s, &(store_family_def_t) {
        .name = "lookups_total", .help = "Lookups.", .type = STORE_COUNTER,
        .labels = labels, .nlabels = 1 });
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(c);
    for (i = 0; i < n; i++) {
        store_set(g, store_series_str(g, &names[i]), base + 0.5 + (double) i);
        store_set(c, store_series_str(c, &names[i]), 1e15 + (double) i);
    }
}


/* The value of series "table"=v of the family called name, or -1. */
static double
collected_value(const store_snap_t *snap, const char *name, const char *v)
{
    const store_snap_family_t  *f;
    strv_t                      values[1];
    size_t                      i, j;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (strcmp(f->name, name) != 0) {
            continue;
        }
        ck_assert(f->collected);
        for (j = 0; j < f->nseries; j++) {
            store_snap_labels(snap, i, j, values);
            if (values[0].len == strlen(v)
                && memcmp(values[0].p, v, values[0].len) == 0)
            {
                return store_snap_value(snap, i, j);
            }
        }
    }
    return -1;
}


START_TEST(test_collector_sets_and_drops)
{
    store_snap_t  *s1, *s2, *s3;
    size_t         n = 3;
    double         base = 10;
    strv_t         v[1];

    ck_assert_int_eq(store_collector_add(st, collect_tables, &n), 0);
    s1 = store_snapshot_collect(st, &base);
    ck_assert_ptr_nonnull(s1);
    ck_assert_double_eq(collected_value(s1, "rows", "c"), 12.5);
    ck_assert_double_eq(collected_value(s1, "lookups_total", "b"), 1e15 + 1);
    ck_assert_uint_eq(store_snap_family(s1, 0)->type, STORE_GAUGE);

    /* Table c goes away: its series with it, s1 still reads it. */
    n = 2;
    s2 = store_snapshot_collect(st, NULL);
    ck_assert_ptr_nonnull(s2);
    ck_assert_uint_eq(store_snap_family(s2, 0)->nseries, 2);
    ck_assert_double_eq(collected_value(s2, "rows", "c"), -1);
    ck_assert_double_eq(collected_value(s2, "rows", "a"), 0.5);
    store_snap_labels(s1, 0, 2, v);
    ck_assert_uint_eq(v[0].len, 1);
    ck_assert_int_eq(v[0].p[0], 'c');
    store_snap_free(s1);

    /* Back again, from its new value; without the collector, nothing
     * changes any more. */
    n = 3;
    s3 = store_snapshot_collect(st, NULL);
    ck_assert_double_eq(collected_value(s3, "rows", "c"), 2.5);
    store_snap_free(s3);
    store_collector_del(st, collect_tables, &n);
    n = 1;
    s3 = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(s3, 0)->nseries, 3);
    store_snap_free(s3);
    store_snap_free(s2);
}
END_TEST


START_TEST(test_collected_not_carried)
{
    store_t       *other;
    store_snap_t  *snap;
    size_t         n = 2;

    ck_assert_int_eq(store_collector_add(st, collect_tables, &n), 0);
    snap = store_snapshot_collect(st, NULL);
    other = store_create();
    ck_assert_int_eq(store_collector_add(other, collect_tables, &n), 0);
    store_snap_free(store_snapshot_collect(other, NULL));
    store_ingest_lock(other);
    ck_assert_uint_eq(store_carry(other, snap, NULL, NULL), 0);
    store_ingest_unlock(other);
    /* A collector does not take over a family counted line by line. */
    ck_assert_ptr_nonnull(store_family_add(other, &(store_family_def_t) {
        .name = "plain_total", .type = STORE_COUNTER, .sibling_label = -1 }));
    store_ingest_lock(other);
    ck_assert_ptr_null(store_family_get(other, &(store_family_def_t) {
        .name = "plain_total", .type = STORE_GAUGE }));
    store_ingest_unlock(other);
    store_snap_free(snap);
    store_destroy(other);
}
END_TEST


Suite *
store_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("store");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_empty_store);
    tcase_add_test(tc, test_family_def_copied);
    tcase_add_test(tc, test_series_identity);
    tcase_add_test(tc, test_labels_copied);
    tcase_add_test(tc, test_counters);
    tcase_add_test(tc, test_histogram_buckets);
    tcase_add_test(tc, test_histogram_scale);
    tcase_add_test(tc, test_siblings);
    tcase_add_test(tc, test_zero_labels);
    tcase_add_test(tc, test_snapshot_independent);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_max_series_overflow);
    tcase_add_test(tc, test_siblings_capped);
    tcase_add_test(tc, test_overflow_histogram);
    tcase_add_test(tc, test_many_series);
    tcase_add_test(tc, test_long_label_value);
    suite_add_tcase(s, tc);

    tc = tcase_create("Expiry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_expiry_removes_idle_series);
    tcase_add_test(tc, test_expiry_snapshot_outlives_removal);
    tcase_add_test(tc, test_expiry_index_integrity);
    tcase_add_test(tc, test_expiry_frees_room_under_the_cap);
    suite_add_tcase(s, tc);

    tc = tcase_create("Collected");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_collector_sets_and_drops);
    tcase_add_test(tc, test_collected_not_carried);
    suite_add_tcase(s, tc);

    return s;
}
