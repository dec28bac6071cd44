/* check_exemplar.c - Unit tests for labels/exemplar.c and the store's side
 * of exemplars (labels/store_exemplar.c): replacement, bounds, the bucket
 * chosen, snapshots, expiry, a reload's carry, and the encoders (the
 * OpenMetrics line, protobuf fields, nothing in the 0.0.4 text). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "labels/exemplar.h"
#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })


/* Helpers */

static const char *const  one_label[] = { "k" };
static const double       buckets[] = { 0.005, 0.05, 0.5, 5 };

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
add_family(store_t *s, const char *name, store_type_t type, double ttl,
    const char *label)
{
    store_family_def_t  def;
    store_family_t     *f;

    memset(&def, 0, sizeof(def));
    def.name = name;
    def.help = "help";
    def.type = type;
    def.labels = one_label;
    def.nlabels = 1;
    def.sibling_label = -1;
    def.ttl = ttl;
    def.exemplar_label = label;
    if (type == STORE_HISTOGRAM) {
        def.buckets = buckets;
        def.nbuckets = 4;
        def.scale = 0.001;                  /* ms to seconds */
    }
    f = store_family_add(s, &def);
    ck_assert_ptr_nonnull(f);
    return f;
}


static uint32_t
key(store_family_t *f, const char *v)
{
    strv_t  s = { v, strlen(v) };

    return store_series(f, &s);
}


/* Asserts that slot k of series j of family i has the exemplar (value,
 * v, ts_ms), or none when value is NULL. */
static void
assert_exemplar(const store_snap_t *snap, size_t i, size_t j, size_t k,
    const char *value, double v, int64_t ts_ms)
{
    exemplar_t  e;
    int         got = store_snap_exemplar(snap, i, j, k, &e);

    if (value == NULL) {
        ck_assert_msg(!got, "slot %zu: unexpected exemplar %.*s", k,
                      (int) e.value.len, e.value.p);
        return;
    }
    ck_assert_msg(got, "slot %zu: no exemplar, expected %s", k, value);
    ck_assert_uint_eq(e.value.len, strlen(value));
    ck_assert(memcmp(e.value.p, value, e.value.len) == 0);
    ck_assert_msg(e.v == v, "slot %zu: value %g, expected %g", k, e.v, v);
    ck_assert_int_eq(e.ts_ms, ts_ms);
}


/* The set on its own */

START_TEST(test_set_replaces_per_slot)
{
    exemplar_set_t  *ex;
    exemplar_t       e;
    char             big[200];

    ex = exemplar_set_create("trace_id", 3);
    ck_assert_ptr_nonnull(ex);
    ck_assert_str_eq(exemplar_set_label(ex), "trace_id");
    ck_assert(!exemplar_set_get(ex, 0, 0, &e));
    ck_assert(!exemplar_set_get(ex, 5000, 2, &e));      /* chunk not there */

    exemplar_set_put(ex, 7, 1, SV("first"), 0.5, 1000);
    exemplar_set_put(ex, 7, 1, SV("second"), 0.25, 2000);  /* newest wins */
    exemplar_set_put(ex, 7, 2, SV("other"), 3, 3000);
    ck_assert(!exemplar_set_get(ex, 7, 0, &e));
    ck_assert(exemplar_set_get(ex, 7, 1, &e));
    ck_assert_uint_eq(e.value.len, 6);
    ck_assert(memcmp(e.value.p, "second", 6) == 0);
    ck_assert(e.v == 0.25);
    ck_assert_int_eq(e.ts_ms, 2000);
    ck_assert(exemplar_set_get(ex, 7, 2, &e));
    ck_assert(memcmp(e.value.p, "other", 5) == 0);

    /* Past the inline bytes, back, and past again (the block reused). */
    memset(big, 'x', sizeof(big));
    exemplar_set_put(ex, 5000, 0, (strv_t) { big, 120 }, 1, 4000);
    ck_assert(exemplar_set_get(ex, 5000, 0, &e));
    ck_assert_uint_eq(e.value.len, 120);
    ck_assert(memcmp(e.value.p, big, 120) == 0);
    exemplar_set_put(ex, 5000, 0, SV("short"), 2, 5000);
    ck_assert(exemplar_set_get(ex, 5000, 0, &e));
    ck_assert_uint_eq(e.value.len, 5);
    ck_assert(memcmp(e.value.p, "short", 5) == 0);
    big[0] = 'y';
    exemplar_set_put(ex, 5000, 0, (strv_t) { big, 200 }, 3, 6000);
    ck_assert(exemplar_set_get(ex, 5000, 0, &e));
    ck_assert_uint_eq(e.value.len, 200);
    ck_assert(e.value.p[0] == 'y' && e.value.p[199] == 'x');

    /* An empty value is an exemplar too; ts 0 is kept as 1 ms. */
    exemplar_set_put(ex, 8, 0, SV(""), 4, 0);
    ck_assert(exemplar_set_get(ex, 8, 0, &e));
    ck_assert_uint_eq(e.value.len, 0);
    ck_assert_int_eq(e.ts_ms, 1);

    exemplar_set_clear(ex, 7);
    ck_assert(!exemplar_set_get(ex, 7, 1, &e));
    ck_assert(!exemplar_set_get(ex, 7, 2, &e));
    ck_assert(exemplar_set_get(ex, 5000, 0, &e));       /* others kept */
    exemplar_set_clear(ex, 99999);                      /* never used */
    exemplar_set_free(ex);
    exemplar_set_free(NULL);
}
END_TEST


/* OpenMetrics: label names and values together at most 128 code
 * points; multi-byte characters count once. */
START_TEST(test_fits_counts_code_points)
{
    exemplar_set_t  *ex;
    char             s[1024];
    size_t           i;

    ex = exemplar_set_create("trace_id", 1);          /* 8 code points */
    ck_assert_ptr_nonnull(ex);
    memset(s, 'a', sizeof(s));
    ck_assert(exemplar_fits(ex, (strv_t) { s, 0 }));
    ck_assert(exemplar_fits(ex, (strv_t) { s, 120 }));
    ck_assert(!exemplar_fits(ex, (strv_t) { s, 121 }));
    for (i = 0; i < 121; i++) {                         /* U+00E9, 2 bytes */
        s[2 * i] = (char) 0xc3;
        s[2 * i + 1] = (char) 0xa9;
    }
    ck_assert(exemplar_fits(ex, (strv_t) { s, 240 }));
    ck_assert(!exemplar_fits(ex, (strv_t) { s, 242 }));
    for (i = 0; i < 121; i++) {                         /* U+1F600, 4 bytes */
        memcpy(s + 4 * i, "\xf0\x9f\x98\x80", 4);
    }
    ck_assert(exemplar_fits(ex, (strv_t) { s, 480 }));
    ck_assert(!exemplar_fits(ex, (strv_t) { s, 484 }));
    exemplar_set_free(ex);
}
END_TEST


/* The store's side */

/* The exemplar goes to the bucket the observation is counted in, as the
 * scaled value; the latest line of each bucket wins. */
START_TEST(test_histogram_bucket_per_observation)
{
    store_family_t  *f;
    store_snap_t    *snap;
    const uint64_t  *counts;
    double           sum;
    uint32_t         id;
    size_t           k;

    f = add_family(st, "h", STORE_HISTOGRAM, 0, "trace_id");
    store_ingest_lock(st);
    id = key(f, "a");
    store_observe(f, id, 5);                        /* 0.005: le 0.005 */
    ck_assert_int_eq(store_exemplar(f, id, 5, SV("t1"), 1001), 0);
    store_observe(f, id, 6);                        /* 0.006: le 0.05 */
    ck_assert_int_eq(store_exemplar(f, id, 6, SV("t2"), 1002), 0);
    store_observe(f, id, 40);                       /* le 0.05 again */
    ck_assert_int_eq(store_exemplar(f, id, 40, SV("t3"), 1003), 0);
    store_observe(f, id, 9000);                     /* 9: +Inf */
    ck_assert_int_eq(store_exemplar(f, id, 9000, SV("t4"), 1004), 0);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_str_eq(store_snap_family(snap, 0)->exemplar_label, "trace_id");
    counts = store_snap_buckets(snap, 0, 0, &sum);
    assert_exemplar(snap, 0, 0, 0, "t1", 0.005, 1001);
    assert_exemplar(snap, 0, 0, 1, "t3", 0.04, 1003);
    assert_exemplar(snap, 0, 0, 2, NULL, 0, 0);
    assert_exemplar(snap, 0, 0, 3, NULL, 0, 0);
    assert_exemplar(snap, 0, 0, 4, "t4", 9, 1004);
    /* Each exemplar sits in a bucket that counted it. */
    for (k = 0; k <= 4; k++) {
        exemplar_t  e;

        if (store_snap_exemplar(snap, 0, 0, k, &e)) {
            ck_assert_uint_gt(counts[k], 0);
        }
    }
    store_snap_free(snap);
}
END_TEST


START_TEST(test_counter_and_bounds)
{
    store_family_t  *f, *plain;
    store_snap_t    *snap;
    char             s[200];
    uint32_t         a, b;

    f = add_family(st, "c_total", STORE_COUNTER, 0, "request_id");
    plain = add_family(st, "p_total", STORE_COUNTER, 0, NULL);
    memset(s, 'r', sizeof(s));
    store_ingest_lock(st);
    a = key(f, "a");
    b = key(f, "b");
    store_add(f, a, 1);
    ck_assert_int_eq(store_exemplar(f, a, 1, SV("r-1"), 10), 0);
    store_add(f, a, 1);
    ck_assert_int_eq(store_exemplar(f, a, 1, SV("r-2"), 20), 0);
    /* "request_id" is 10 code points: 118 more fit, 119 do not, and the
     * series keeps its exemplar. */
    ck_assert_int_eq(store_exemplar(f, b, 1, (strv_t) { s, 118 }, 30), 0);
    ck_assert_int_eq(store_exemplar(f, b, 1, (strv_t) { s, 119 }, 40), -1);
    /* A family without exemplars ignores them. */
    ck_assert_int_eq(store_exemplar(plain, key(plain, "a"), 1, SV("x"), 50),
                     0);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    assert_exemplar(snap, 0, a, 0, "r-2", 1, 20);
    s[118] = '\0';
    assert_exemplar(snap, 0, b, 0, s, 1, 30);
    ck_assert_ptr_null(store_snap_family(snap, 1)->exemplar_label);
    assert_exemplar(snap, 1, 0, 0, NULL, 0, 0);
    store_snap_free(snap);
}
END_TEST


/* A snapshot holds the exemplars of its instant: later ones do not
 * change it. */
START_TEST(test_snapshot_is_a_copy)
{
    store_family_t  *f;
    store_snap_t    *old, *now;
    uint32_t         id;

    f = add_family(st, "c_total", STORE_COUNTER, 0, "trace_id");
    store_ingest_lock(st);
    id = key(f, "a");
    store_add(f, id, 1);
    store_exemplar(f, id, 1, SV("before"), 100);
    store_ingest_unlock(st);
    old = store_snapshot(st);

    store_ingest_lock(st);
    store_add(f, id, 1);
    store_exemplar(f, id, 1, SV("after-with-a-longer-value-than-inline-bytes"),
                   200);
    store_ingest_unlock(st);
    now = store_snapshot(st);

    assert_exemplar(old, 0, 0, 0, "before", 1, 100);
    ck_assert_uint_eq(store_snap_counter(old, 0, 0), 1);
    assert_exemplar(now, 0, 0, 0,
                    "after-with-a-longer-value-than-inline-bytes", 1, 200);
    ck_assert_uint_eq(store_snap_counter(now, 0, 0), 2);
    store_snap_free(now);
    store_snap_free(old);
}
END_TEST


/* An expired series loses its exemplars: the series that reuses its id
 * starts without any.  Snapshots of expiring families are compacted; the
 * exemplars follow their series. */
START_TEST(test_expiry_clears)
{
    store_family_t  *f;
    store_snap_t    *snap;
    strv_t           v[1];
    uint32_t         a, b;

    f = add_family(st, "t_total", STORE_COUNTER, 10, "trace_id");
    store_ingest_lock(st);
    store_set_clock(st, 100);
    a = key(f, "a");
    store_add(f, a, 1);
    store_exemplar(f, a, 1, SV("ta"), 1);
    store_set_clock(st, 105);
    b = key(f, "b");
    store_add(f, b, 1);
    store_exemplar(f, b, 1, SV("tb"), 2);
    store_set_clock(st, 111);
    ck_assert_uint_eq(store_expire(st), 1);         /* a */
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nseries, 1);
    store_snap_labels(snap, 0, 0, v);
    ck_assert(v[0].len == 1 && v[0].p[0] == 'b');
    assert_exemplar(snap, 0, 0, 0, "tb", 1, 2);
    store_snap_free(snap);

    store_ingest_lock(st);
    ck_assert_uint_eq(key(f, "c"), a);              /* a's id reused */
    store_add(f, a, 1);
    store_ingest_unlock(st);
    snap = store_snapshot(st);
    ck_assert_uint_eq(store_snap_family(snap, 0)->nseries, 2);
    store_snap_labels(snap, 0, 0, v);
    ck_assert(v[0].len == 1 && v[0].p[0] == 'c');
    assert_exemplar(snap, 0, 0, 0, NULL, 0, 0);
    assert_exemplar(snap, 0, 1, 0, "tb", 1, 2);
    store_snap_free(snap);
}
END_TEST


/* A reload's carry keeps the exemplars of a family whose label is the
 * same, not of one whose label changed. */
START_TEST(test_carry)
{
    store_t         *s2;
    store_family_t  *f, *g, *f2, *g2;
    store_snap_t    *snap, *snap2;
    uint32_t         id;

    f = add_family(st, "h", STORE_HISTOGRAM, 0, "trace_id");
    g = add_family(st, "c_total", STORE_COUNTER, 0, "trace_id");
    store_ingest_lock(st);
    id = key(f, "a");
    store_observe(f, id, 30);
    store_exemplar(f, id, 30, SV("h1"), 7);
    id = key(g, "a");
    store_add(g, id, 3);
    store_exemplar(g, id, 1, SV("c1"), 8);
    store_ingest_unlock(st);
    snap = store_snapshot(st);

    s2 = store_create();
    ck_assert_ptr_nonnull(s2);
    f2 = add_family(s2, "h", STORE_HISTOGRAM, 0, "trace_id");
    g2 = add_family(s2, "c_total", STORE_COUNTER, 0, "request_id");
    store_ingest_lock(s2);
    ck_assert_uint_eq(store_carry(s2, snap, NULL, NULL), 2);
    store_ingest_unlock(s2);
    (void) f2;
    (void) g2;
    snap2 = store_snapshot(s2);
    assert_exemplar(snap2, 0, 0, 1, "h1", 0.03, 7);
    ck_assert_uint_eq(store_snap_counter(snap2, 1, 0), 3);
    assert_exemplar(snap2, 1, 0, 0, NULL, 0, 0);
    store_snap_free(snap2);
    store_snap_free(snap);
    store_destroy(s2);
}
END_TEST


/* The encoders */

START_TEST(test_openmetrics_and_text)
{
    store_family_t  *f, *g;
    store_snap_t    *snap;
    buf_t            b = { 0 };
    char            *s;
    uint32_t         id;

    f = add_family(st, "h", STORE_HISTOGRAM, 0, "trace_id");
    g = add_family(st, "c_total", STORE_COUNTER, 0, "trace_id");
    store_ingest_lock(st);
    id = key(f, "a");
    store_observe(f, id, 120);
    store_exemplar(f, id, 120, SV("q\"\\\nz"), 1700000000123LL);
    store_observe(f, id, 7000);
    store_exemplar(f, id, 7000, SV("inf"), 1700000000005LL);
    id = key(g, "a");
    store_add(g, id, 2);
    store_exemplar(g, id, 1, SV("abc"), 1700000001000LL);
    store_ingest_unlock(st);
    snap = store_snapshot(st);

    expo_write(&b, EXPO_OPENMETRICS_1, snap);
    buf_append(&b, "", 1);
    s = b.p;
    ck_assert_msg(strstr(s, "h_bucket{k=\"a\",le=\"0.5\"} 1 # "
                  "{trace_id=\"q\\\"\\\\\\nz\"} 0.12 1700000000.123\n") != NULL,
                  "%s", s);
    ck_assert_msg(strstr(s, "h_bucket{k=\"a\",le=\"0.05\"} 0\n") != NULL,
                  "%s", s);
    ck_assert_msg(strstr(s, "h_bucket{k=\"a\",le=\"+Inf\"} 2 # "
                  "{trace_id=\"inf\"} 7 1700000000.005\n") != NULL, "%s", s);
    ck_assert_msg(strstr(s, "h_count{k=\"a\"} 2\n") != NULL, "%s", s);
    ck_assert_msg(strstr(s, "c_total{k=\"a\"} 2 # {trace_id=\"abc\"} 1 "
                  "1700000001.000\n") != NULL, "%s", s);

    /* Never in the 0.0.4 text format. */
    b.len = 0;
    expo_write(&b, EXPO_TEXT, snap);
    buf_append(&b, "", 1);
    ck_assert_msg(strchr(b.p, '#') == strstr(b.p, "# HELP"), "%s", b.p);
    ck_assert_msg(strstr(b.p, "} 2 #") == NULL && strstr(b.p, "trace_id")
                  == NULL, "%s", b.p);
    buf_free(&b);
    store_snap_free(snap);
}
END_TEST


/* Protobuf: Bucket field 3 and Counter field 2 hold an Exemplar (label,
 * value, Timestamp{seconds, nanos}); the +Inf bucket is sent to carry
 * one.  Checked on the bytes, field by field. */
START_TEST(test_protobuf_fields)
{
    store_family_t  *g, *f;
    store_snap_t    *snap;
    buf_t            b = { 0 };
    uint32_t         id;
    const unsigned char *p;
    size_t           i;
    int              found = 0;

    g = add_family(st, "c_total", STORE_COUNTER, 0, "l");
    store_ingest_lock(st);
    id = key(g, "a");
    store_add(g, id, 2);
    store_exemplar(g, id, 1, SV("r-42"), 1000);
    store_ingest_unlock(st);
    snap = store_snapshot(st);
    expo_write(&b, EXPO_PROTOBUF, snap);
    store_snap_free(snap);
    /* The Timestamp of 1000 ms is {seconds: 1}: 0x1a 0x02 0x08 0x01. */
    for (i = 0; i + 4 <= b.len; i++) {
        p = (const unsigned char *) b.p + i;
        if (p[0] == 0x1a && p[1] == 0x02 && p[2] == 0x08 && p[3] == 0x01) {
            found = 1;
        }
    }
    ck_assert_msg(found, "no Timestamp{seconds: 1} in the counter");
    found = 0;
    for (i = 0; i + 9 <= b.len; i++) {
        if (memcmp(b.p + i, "\x0a\x01l\x12\x04r-42", 9) == 0) {
            found = 1;
        }
    }
    ck_assert_msg(found, "no LabelPair{l, r-42} in the counter");

    b.len = 0;
    f = add_family(st, "h", STORE_HISTOGRAM, 0, "trace_id");
    store_ingest_lock(st);
    id = key(f, "a");
    store_observe(f, id, 9000);
    store_exemplar(f, id, 9000, SV("big"), 2500);
    store_ingest_unlock(st);
    snap = store_snapshot(st);
    expo_write(&b, EXPO_PROTOBUF, snap);
    store_snap_free(snap);
    /* The +Inf bucket: cumulative_count 1, upper_bound +Inf, then its
     * exemplar with Timestamp{seconds: 2, nanos: 500000000}. */
    found = 0;
    for (i = 0; i + 12 <= b.len; i++) {
        if (memcmp(b.p + i, "\x08\x01\x11\x00\x00\x00\x00\x00\x00\xf0\x7f"
                   "\x1a", 12) == 0)
        {
            found = 1;
        }
    }
    ck_assert_msg(found, "no +Inf bucket with an exemplar");
    found = 0;
    for (i = 0; i + 8 <= b.len; i++) {
        if (memcmp(b.p + i, "\x08\x02\x10\x80\xca\xb5\xee\x01", 8) == 0) {
            found = 1;
        }
    }
    ck_assert_msg(found, "no Timestamp{2 s, 500000000 ns}");
    buf_free(&b);
}
END_TEST


Suite *
exemplar_suite(void)
{
    Suite  *s = suite_create("exemplar");
    TCase  *tc;

    tc = tcase_create("Set");
    tcase_add_test(tc, test_set_replaces_per_slot);
    tcase_add_test(tc, test_fits_counts_code_points);
    suite_add_tcase(s, tc);

    tc = tcase_create("Store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_histogram_bucket_per_observation);
    tcase_add_test(tc, test_counter_and_bounds);
    tcase_add_test(tc, test_snapshot_is_a_copy);
    tcase_add_test(tc, test_expiry_clears);
    tcase_add_test(tc, test_carry);
    suite_add_tcase(s, tc);

    tc = tcase_create("Encoders");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_openmetrics_and_text);
    tcase_add_test(tc, test_protobuf_fields);
    suite_add_tcase(s, tc);
    return s;
}
