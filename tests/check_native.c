/* check_native.c - Unit tests for labels/native.c: the bucket key against
 * tests/native_keys.h (exact values from the definition, computed by
 * tests/native_keys.py), the schema picked from a factor, the zero bucket,
 * the bucket cap, merging, and native buckets through the store (snapshot,
 * expiry, carry). */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "labels/native.h"
#include "labels/store.h"
#include "tests/native_keys.h"


/* Helpers */

/* Total count of n: zero bucket plus both sides. */
static uint64_t
total(const native_t *n)
{
    const native_bucket_t  *b;
    uint64_t                t = native_zero_count(n);
    size_t                  len, k;
    int                     neg;

    for (neg = 0; neg < 2; neg++) {
        len = native_buckets(n, neg, &b);
        for (k = 0; k < len; k++) {
            t += b[k].count;
            if (k > 0) {
                ck_assert_int_lt(b[k - 1].index, b[k].index);
            }
            ck_assert_uint_gt(b[k].count, 0);
        }
    }
    return t;
}


/* Bucket count of the side of v at n's schema, 0 when absent. */
static uint64_t
count_of(const native_t *n, double v)
{
    const native_bucket_t  *b;
    size_t                  len, k;
    int                     key = native_key(v, native_schema(n));

    len = native_buckets(n, v < 0, &b);
    for (k = 0; k < len; k++) {
        if (b[k].index == key) {
            return b[k].count;
        }
    }
    return 0;
}


/* Tests */

START_TEST(test_key_table)
{
    size_t  i, n = sizeof(native_keys) / sizeof(native_keys[0]);

    ck_assert_uint_gt(n, 1000);
    for (i = 0; i < n; i++) {
        ck_assert_msg(native_key(native_keys[i].v, native_keys[i].schema)
                      == native_keys[i].key,
                      "v %a schema %d: key %d, want %d", native_keys[i].v,
                      native_keys[i].schema,
                      native_key(native_keys[i].v, native_keys[i].schema),
                      native_keys[i].key);
        /* The negative side mirrors the positive one. */
        ck_assert_int_eq(native_key(-native_keys[i].v, native_keys[i].schema),
                         native_keys[i].key);
    }
}
END_TEST


/* Powers of two close a bucket at every schema: 2^e is the last value of
 * bucket e * 2^s (s >= 0), and the next double starts the next bucket. */
START_TEST(test_key_powers_of_two)
{
    int     s, e;
    double  p;

    for (s = 0; s <= NATIVE_SCHEMA_MAX; s++) {
        for (e = -1022; e <= 1023; e += 7) {
            p = ldexp(1.0, e);
            ck_assert_int_eq(native_key(p, s), e * (1 << s));
            ck_assert_int_eq(native_key(nextafter(p, INFINITY), s),
                             e * (1 << s) + 1);
            ck_assert_int_eq(native_key(nextafter(p, 0), s), e * (1 << s));
        }
    }
    /* Negative schemas: bucket k ends at 2^(k * 2^-s). */
    ck_assert_int_eq(native_key(16.0, -2), 1);
    ck_assert_int_eq(native_key(nextafter(16.0, 32), -2), 2);
    ck_assert_int_eq(native_key(1.0, -4), 0);
    ck_assert_int_eq(native_key(nextafter(1.0, 2), -4), 1);
    ck_assert_int_eq(native_key(0.5, -4), 0);
    ck_assert_int_eq(native_key(ldexp(1.0, -16), -4), -1);
    ck_assert_int_eq(native_key(nextafter(ldexp(1.0, -16), 1), -4), 0);
    /* Inf: one bucket above DBL_MAX's (client_golang). */
    ck_assert_int_eq(native_key(INFINITY, 0), native_key(DBL_MAX, 0) + 1);
    ck_assert_int_eq(native_key(DBL_MAX, 0), 1024);
}
END_TEST


START_TEST(test_schema_for_factor)
{
    ck_assert_int_eq(native_schema_for_factor(1.1), 3);
    ck_assert_int_eq(native_schema_for_factor(1.0905077326652577), 3);
    ck_assert_int_eq(native_schema_for_factor(1.09), 4);
    ck_assert_int_eq(native_schema_for_factor(2), 0);
    ck_assert_int_eq(native_schema_for_factor(1.99), 1);
    ck_assert_int_eq(native_schema_for_factor(4), -1);
    ck_assert_int_eq(native_schema_for_factor(1.0001), 8);
    ck_assert_int_eq(native_schema_for_factor(65536), -4);
    ck_assert_int_eq(native_schema_for_factor(1e300), -4);
}
END_TEST


/* Zero, the threshold itself and tiny values go to the zero bucket;
 * negative values to the negative side; NaN nowhere. */
START_TEST(test_observe_sides)
{
    native_t  *n = NULL;

    native_observe(&n, 0.0, 3, 160);
    native_observe(&n, NATIVE_ZERO_THRESHOLD, 3, 160);
    native_observe(&n, -NATIVE_ZERO_THRESHOLD, 3, 160);
    native_observe(&n, nextafter(NATIVE_ZERO_THRESHOLD, 1), 3, 160);
    native_observe(&n, -0.12, 3, 160);
    native_observe(&n, -0.12, 3, 160);
    native_observe(&n, 0.12, 3, 160);
    native_observe(&n, NAN, 3, 160);
    ck_assert_int_eq(native_schema(n), 3);
    ck_assert_uint_eq(native_zero_count(n), 3);
    ck_assert_uint_eq(total(n), 7);
    ck_assert_uint_eq(count_of(n, -0.12), 2);
    ck_assert_uint_eq(count_of(n, 0.12), 1);
    ck_assert_uint_eq(count_of(n, nextafter(NATIVE_ZERO_THRESHOLD, 1)), 1);
    /* 0.12 at schema 3: ceil(8 log2 0.12) = ceil(-24.47) = -24. */
    ck_assert_int_eq(native_key(0.12, 3), -24);
    native_free(n);
}
END_TEST


/* Over the cap the schema drops and buckets merge in pairs; nothing is
 * lost, and each count sits in the bucket its values have at the final
 * schema. */
START_TEST(test_cap_halves)
{
    native_t  *n = NULL;
    size_t     i;
    int        s;

    for (i = 1; i <= 2000; i++) {
        native_observe(&n, (double) i / 1000, 8, 20);
    }
    s = native_schema(n);
    ck_assert_int_lt(s, 8);
    ck_assert_uint_eq(total(n), 2000);
    ck_assert_uint_le(native_buckets(n, 0, &(const native_bucket_t *)
                                     { NULL }), 20);
    /* Recount by key at the final schema. */
    for (i = 1; i <= 2000; i++) {
        double  v = (double) i / 1000;
        size_t  j;
        uint64_t c = 0;

        for (j = 1; j <= 2000; j++) {
            if (native_key((double) j / 1000, s) == native_key(v, s)) {
                c++;
            }
        }
        ck_assert_uint_eq(count_of(n, v), c);
    }
    native_free(n);
}
END_TEST


/* Hostile values: the whole double range and Inf, both signs, with a cap
 * of 1.  The schema stops at -4, where a side has at most 73 buckets. */
START_TEST(test_cap_hostile)
{
    native_t  *n = NULL;
    int        e;

    for (e = -126; e <= 1023; e++) {
        native_observe(&n, ldexp(1.5, e), 8, 1);
        native_observe(&n, -ldexp(1.5, e), 8, 1);
    }
    native_observe(&n, INFINITY, 8, 1);
    native_observe(&n, -INFINITY, 8, 1);
    native_observe(&n, DBL_MAX, 8, 1);
    native_observe(&n, nextafter(NATIVE_ZERO_THRESHOLD, 1), 8, 1);
    ck_assert_int_eq(native_schema(n), NATIVE_SCHEMA_MIN);
    ck_assert_uint_le(native_buckets(n, 0, &(const native_bucket_t *)
                                     { NULL }), 73);
    ck_assert_uint_le(native_buckets(n, 1, &(const native_bucket_t *)
                                     { NULL }), 73);
    ck_assert_uint_eq(total(n), 2 * 1150 + 4);
    native_free(n);
}
END_TEST


/* Merging: the same buckets as observing everything into one series at
 * the lower schema. */
START_TEST(test_merge)
{
    native_t  *a = NULL, *b = NULL, *all = NULL;
    double     v;
    int        i;

    for (i = 1; i <= 300; i++) {
        v = (i % 7 == 0 ? -1 : 1) * (double) i / 37;
        native_observe(i % 2 ? &a : &b, v, i % 2 ? 5 : 2, 0);
        native_observe(&all, v, 2, 0);
    }
    native_observe(&a, 0, 5, 0);
    native_observe(&all, 0, 2, 0);
    native_merge(&a, b, 5, 0);
    ck_assert_int_eq(native_schema(a), 2);
    ck_assert_uint_eq(total(a), 301);
    ck_assert_uint_eq(native_zero_count(a), 1);
    for (i = 1; i <= 300; i++) {
        v = (i % 7 == 0 ? -1 : 1) * (double) i / 37;
        ck_assert_uint_eq(count_of(a, v), count_of(all, v));
    }
    native_free(a);
    native_free(b);
    native_free(all);
}
END_TEST


/* Through the store: a scrape's snapshot holds its own copy, consistent
 * with the classic count; expiry frees; a reload's carry keeps them. */
START_TEST(test_store_snapshot_carry)
{
    static const char *const  lab[] = { "p" };
    static const double       bk[] = { 0.1, 0.25 };
    store_family_def_t        def;
    store_t                  *s, *s2;
    store_family_t           *f, *f2;
    store_snap_t             *snap, *snap2;
    const native_t           *n;
    const uint64_t           *counts;
    double                    sum;
    uint32_t                  id;
    int                       i;

    memset(&def, 0, sizeof(def));
    def.name = "lat_seconds";
    def.help = "h";
    def.type = STORE_HISTOGRAM;
    def.labels = lab;
    def.nlabels = 1;
    def.buckets = bk;
    def.nbuckets = 2;
    def.scale = 0.001;
    def.sibling_label = -1;
    def.native_factor = 1.1;
    def.native_max_buckets = 160;
    s = store_create();
    f = store_family_add(s, &def);
    ck_assert_ptr_nonnull(f);
    store_ingest_lock(s);
    id = store_series_str(f, (const char *[]) { "a" });
    for (i = 0; i < 10; i++) {
        store_observe(f, id, 120);
    }
    store_series_str(f, (const char *[]) { "empty" });
    store_ingest_unlock(s);

    snap = store_snapshot(s);
    ck_assert_ptr_nonnull(snap);
    store_ingest_lock(s);
    store_observe(f, id, 120);          /* after the snapshot */
    store_ingest_unlock(s);
    ck_assert(store_snap_family(snap, 0)->native);
    ck_assert_int_eq(store_snap_family(snap, 0)->native_schema, 3);
    n = store_snap_native(snap, 0, 0);
    ck_assert_ptr_nonnull(n);
    counts = store_snap_buckets(snap, 0, 0, &sum);
    ck_assert_uint_eq(counts[0] + counts[1] + counts[2], 10);
    ck_assert_uint_eq(total(n), 10);
    ck_assert_uint_eq(count_of(n, 0.12), 10);
    ck_assert_ptr_null(store_snap_native(snap, 0, 1));

    /* The carry into a new store with the same family. */
    s2 = store_create();
    f2 = store_family_add(s2, &def);
    store_ingest_lock(s2);
    ck_assert_uint_eq(store_carry(s2, snap, NULL, NULL), 2);
    store_ingest_unlock(s2);
    store_snap_free(snap);
    store_destroy(s);
    snap2 = store_snapshot(s2);
    n = store_snap_native(snap2, 0, 0);
    ck_assert_ptr_nonnull(n);
    ck_assert_uint_eq(count_of(n, 0.12), 10);
    store_snap_free(snap2);
    (void) f2;
    store_destroy(s2);
}
END_TEST


START_TEST(test_store_expiry_frees)
{
    static const double       bk[] = { 1 };
    store_family_def_t        def;
    store_t                  *s;
    store_family_t           *f;
    store_snap_t             *snap;
    uint32_t                  id;

    memset(&def, 0, sizeof(def));
    def.name = "x_seconds";
    def.help = "h";
    def.type = STORE_HISTOGRAM;
    def.labels = (const char *const[]) { "p" };
    def.nlabels = 1;
    def.buckets = bk;
    def.nbuckets = 1;
    def.scale = 1;
    def.sibling_label = -1;
    def.ttl = 5;
    def.native_factor = 2;
    def.native_max_buckets = 160;
    s = store_create();
    f = store_family_add(s, &def);
    store_ingest_lock(s);
    store_set_clock(s, 100);
    id = store_series_str(f, (const char *[]) { "a" });
    store_observe(f, id, 3);
    store_ingest_unlock(s);
    snap = store_snapshot(s);
    store_ingest_lock(s);
    store_set_clock(s, 200);
    ck_assert_uint_eq(store_expire(s), 1);
    /* The snapshot's copy outlives the series (ASan checks the rest). */
    ck_assert_uint_eq(count_of(store_snap_native(snap, 0, 0), 3), 1);
    id = store_series_str(f, (const char *[]) { "a" });
    store_observe(f, id, -3);
    store_ingest_unlock(s);
    store_snap_free(snap);
    snap = store_snapshot(s);
    ck_assert_uint_eq(count_of(store_snap_native(snap, 0, 0), 3), 0);
    ck_assert_uint_eq(count_of(store_snap_native(snap, 0, 0), -3), 1);
    store_snap_free(snap);
    store_destroy(s);
}
END_TEST


Suite *
native_suite(void)
{
    Suite  *s = suite_create("native");
    TCase  *tc;

    tc = tcase_create("Keys");
    tcase_add_test(tc, test_key_table);
    tcase_add_test(tc, test_key_powers_of_two);
    tcase_add_test(tc, test_schema_for_factor);
    suite_add_tcase(s, tc);

    tc = tcase_create("Buckets");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_observe_sides);
    tcase_add_test(tc, test_cap_halves);
    tcase_add_test(tc, test_cap_hostile);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_store_snapshot_carry);
    tcase_add_test(tc, test_store_expiry_frees);
    suite_add_tcase(s, tc);

    return s;
}
