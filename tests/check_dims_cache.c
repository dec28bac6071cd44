/* check_dims_cache.c - Unit tests for labels/dims_cache.c: the local cache
 * of Redis dimension tables (found, negative and pending rows, expiry,
 * LRU eviction, key encoding). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "labels/dims_cache.h"


static dcache_t  *c;


static void
setup(void)
{
    c = dcache_create(2, 3, 1);
    ck_assert_ptr_nonnull(c);
}


static void
teardown(void)
{
    dcache_destroy(c);
    c = NULL;
}


static void
put2(const char *key, const char *a, const char *b, double expires)
{
    strv_t  v[2] = { { a, strlen(a) }, { b, strlen(b) } };

    ck_assert_int_eq(dcache_put(c, key, strlen(key), v, expires), 0);
}


static dcache_state_t
get(const char *key, double now, dcache_row_t *row)
{
    return dcache_get(c, key, strlen(key), now, row);
}


START_TEST(test_found_missing_pending)
{
    dcache_row_t  r;

    ck_assert_int_eq(get("a", 0, &r), DCACHE_ABSENT);
    put2("a", "GC1", "x", 10);
    ck_assert_int_eq(get("a", 5, &r), DCACHE_FOUND);
    ck_assert_int_eq(r.expired, 0);
    ck_assert_int_eq((int) r.cols[0].len, 3);
    ck_assert(memcmp(r.cols[0].p, "GC1", 3) == 0);
    ck_assert(memcmp(r.cols[1].p, "x", 1) == 0);

    /* Expired rows are still returned, flagged. */
    ck_assert_int_eq(get("a", 10, &r), DCACHE_FOUND);
    ck_assert_int_eq(r.expired, 1);

    ck_assert_int_eq(dcache_put(c, "b", 1, NULL, 3), 0);
    ck_assert_int_eq(get("b", 1, &r), DCACHE_MISSING);
    ck_assert_int_eq(r.expired, 0);
    ck_assert_ptr_null(r.cols);
    ck_assert_int_eq(get("b", 4, &r), DCACHE_MISSING);
    ck_assert_int_eq(r.expired, 1);

    /* A request replaces the row; the answer replaces the request. */
    ck_assert_int_eq(dcache_put_pending(c, "a", 1, 42, 7.5), 0);
    ck_assert_int_eq(get("a", 8, &r), DCACHE_PENDING);
    ck_assert_uint_eq(r.seq, 42);
    ck_assert(r.since == 7.5);
    put2("a", "GC2", "", 100);
    ck_assert_int_eq(get("a", 8, &r), DCACHE_FOUND);
    ck_assert(memcmp(r.cols[0].p, "GC2", 3) == 0);
    ck_assert_int_eq((int) r.cols[1].len, 0);
    ck_assert_uint_eq(dcache_size(c), 2);

    dcache_del(c, "a", 1);
    ck_assert_int_eq(get("a", 8, &r), DCACHE_ABSENT);
    dcache_clear(c);
    ck_assert_uint_eq(dcache_size(c), 0);
    ck_assert_int_eq(get("b", 1, &r), DCACHE_ABSENT);
}
END_TEST


START_TEST(test_lru_eviction)
{
    dcache_row_t  r;

    put2("k1", "1", "", 100);
    put2("k2", "2", "", 100);
    put2("k3", "3", "", 100);
    /* Touch k1: k2 becomes the least recently used. */
    ck_assert_int_eq(get("k1", 0, &r), DCACHE_FOUND);
    put2("k4", "4", "", 100);
    ck_assert_uint_eq(dcache_size(c), 3);
    ck_assert_uint_eq(dcache_evictions(c), 1);
    ck_assert_int_eq(get("k2", 0, &r), DCACHE_ABSENT);
    ck_assert_int_eq(get("k1", 0, &r), DCACHE_FOUND);
    ck_assert_int_eq(get("k3", 0, &r), DCACHE_FOUND);
    ck_assert_int_eq(get("k4", 0, &r), DCACHE_FOUND);
    /* Replacing a row does not evict. */
    put2("k3", "33", "", 100);
    ck_assert_uint_eq(dcache_evictions(c), 1);
    ck_assert_int_eq(get("k3", 0, &r), DCACHE_FOUND);
    ck_assert(memcmp(r.cols[0].p, "33", 2) == 0);
}
END_TEST


START_TEST(test_unbounded_grows)
{
    dcache_t      *all = dcache_create(1, 0, 0);
    dcache_row_t   r;
    char           key[32], val[32];
    strv_t         v;
    int            i;

    for (i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "uid%d", i);
        snprintf(val, sizeof(val), "GC%d", i % 8);
        v.p = val;
        v.len = strlen(val);
        ck_assert_int_eq(dcache_put(all, key, strlen(key), &v, 1e300), 0);
    }
    ck_assert_uint_eq(dcache_size(all), 100000);
    ck_assert_uint_eq(dcache_evictions(all), 0);
    for (i = 0; i < 100000; i += 997) {
        snprintf(key, sizeof(key), "uid%d", i);
        snprintf(val, sizeof(val), "GC%d", i % 8);
        ck_assert_int_eq(dcache_get(all, key, strlen(key), 0, &r),
                         DCACHE_FOUND);
        ck_assert(r.cols[0].len == strlen(val)
                  && memcmp(r.cols[0].p, val, r.cols[0].len) == 0);
    }
    dcache_destroy(all);
}
END_TEST


START_TEST(test_encode_split)
{
    strv_t  keys[2] = { { "ecs", 3 }, { "DescribeInstances", 17 } };
    strv_t  out[3];
    char    buf[64];
    size_t  n;

    n = dcache_encode(keys, 2, buf, sizeof(buf));
    ck_assert_uint_eq(n, 21);
    ck_assert(memcmp(buf, "ecs\x1f" "DescribeInstances", 21) == 0);
    ck_assert_uint_eq(dcache_encode(keys, 2, buf, 10), (size_t) -1);

    ck_assert_uint_eq(dcache_split(buf, n, out, 3), 2);
    ck_assert_uint_eq(out[0].len, 3);
    ck_assert_uint_eq(out[1].len, 17);
    ck_assert_uint_eq(out[2].len, 0);           /* missing: empty */
    ck_assert_uint_eq(dcache_split("", 0, out, 1), 1);
    ck_assert_uint_eq(out[0].len, 0);
    ck_assert_uint_eq(dcache_split("a\x1f\x1f" "b", 4, out, 2), 3);
    ck_assert_uint_eq(out[1].len, 0);
}
END_TEST


Suite *
dims_cache_suite(void)
{
    Suite  *s = suite_create("dims_cache");
    TCase  *tc = tcase_create("Core");

    tcase_set_timeout(tc, 10);  /* slowest 0.21 s here, 0.6 s under ASan */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_found_missing_pending);
    tcase_add_test(tc, test_lru_eviction);
    tcase_add_test(tc, test_unbounded_grows);
    tcase_add_test(tc, test_encode_split);
    suite_add_tcase(s, tc);
    return s;
}
