/* check_dims_table.c - Unit tests for labels/dims_table.c, the flat table
 * of a CSV dimension table: hits, misses, collisions forced through equal
 * hashes and equal buckets, the probe wrapping around, empty and long
 * keys, a later row replacing an earlier one, a full table.  Expected
 * values are computed by the tests (a row's values are a function of its
 * key), never read back from the table. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "labels/dims_table.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })


/* Helpers */

static int
sv_is(strv_t v, const char *want)
{
    return v.len == strlen(want) && memcmp(v.p, want, v.len) == 0;
}


/* Inserts the row (key; "v" key) into a one-key, one-value table. */
static void
put(dtab_t *t, const char *key, uint64_t h)
{
    strv_t  cols[2];
    char    val[64];

    snprintf(val, sizeof(val), "v%.60s", key);
    cols[0].p = key;
    cols[0].len = strlen(key);
    cols[1].p = strdup(val);            /* freed below: the table copies */
    cols[1].len = strlen(val);
    ck_assert_int_eq(dtab_insert(t, cols, h), 0);
    free((char *) cols[1].p);
}


/* 1 when key is found with its value "v" key. */
static int
found(const dtab_t *t, const char *key, uint64_t h)
{
    const strv_t  *row;
    strv_t         k = { key, strlen(key) };
    char           val[64];

    snprintf(val, sizeof(val), "v%.60s", key);
    row = dtab_find(t, &k, h);
    return row != NULL && sv_is(row[0], val);
}


static uint64_t
hash1(const char *key)
{
    strv_t  k = { key, strlen(key) };

    return dtab_hash(&k, 1);
}


/* Core */

START_TEST(test_hits_and_misses)
{
    size_t   n = 5000, i;
    dtab_t  *t = dtab_create(1, 1, n, n * 32);
    char     key[32];

    ck_assert_ptr_nonnull(t);
    /* The load stays at most one half: 5000 rows, 16384 slots. */
    ck_assert_uint_eq(dtab_capacity(t), 16384);
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%016zu", i * 7919);
        put(t, key, hash1(key));
    }
    ck_assert_uint_eq(dtab_size(t), n);
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%016zu", i * 7919);
        ck_assert_msg(found(t, key, hash1(key)), "row %zu", i);
        snprintf(key, sizeof(key), "%016zu", i * 7919 + 1);
        ck_assert_msg(!found(t, key, hash1(key)), "absent %zu", i);
    }
    dtab_destroy(t);
    dtab_destroy(NULL);
}
END_TEST


START_TEST(test_equal_hashes)
{
    dtab_t  *t = dtab_create(1, 1, 200, 200 * 16);
    char     key[32];
    size_t   i;

    /* Every key the same 64-bit hash: one chain of 100 rows that only
     * the key comparison tells apart. */
    ck_assert_ptr_nonnull(t);
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        put(t, key, 42);
    }
    ck_assert_uint_eq(dtab_size(t), 100);
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        ck_assert_msg(found(t, key, 42), "k%zu", i);
        snprintf(key, sizeof(key), "x%zu", i);
        ck_assert_msg(!found(t, key, 42), "x%zu", i);
    }
    /* A later row of the same key replaces it, in the middle of the
     * chain. */
    {
        strv_t         cols[2] = { SV("k50"), SV("new") };
        const strv_t  *row;

        ck_assert_int_eq(dtab_insert(t, cols, 42), 0);
        ck_assert_uint_eq(dtab_size(t), 100);
        row = dtab_find(t, &cols[0], 42);
        ck_assert(row != NULL && sv_is(row[0], "new"));
        ck_assert(found(t, "k49", 42) && found(t, "k51", 42));
    }
    dtab_destroy(t);
}
END_TEST


START_TEST(test_equal_buckets)
{
    dtab_t    *t = dtab_create(1, 1, 8, 8 * 16);
    char       key[32], keys[7][32];
    size_t     i, j, n = 0, mask;
    uint64_t   b0;

    /* Real hashes, keys chosen to start in the same bucket of 16 slots:
     * distinct tags, one probe run. */
    ck_assert_ptr_nonnull(t);
    mask = dtab_capacity(t) - 1;
    ck_assert_uint_eq(mask, 15);
    b0 = hash1("k0") & mask;
    for (j = 0; n < 7 && j < 100000; j++) {
        snprintf(key, sizeof(key), "k%zu", j);
        if ((hash1(key) & mask) == b0) {
            memcpy(keys[n++], key, sizeof(key));
        }
    }
    ck_assert_uint_eq(n, 7);
    for (i = 0; i < n; i++) {
        put(t, keys[i], hash1(keys[i]));
    }
    for (i = 0; i < n; i++) {
        ck_assert_msg(found(t, keys[i], hash1(keys[i])), "%s", keys[i]);
    }
    /* An absent key of the same bucket walks the run to its end. */
    for (; j < 1000000; j++) {
        snprintf(key, sizeof(key), "k%zu", j);
        if ((hash1(key) & mask) == b0) {
            break;
        }
    }
    ck_assert_uint_lt(j, 1000000);
    ck_assert(!found(t, key, hash1(key)));
    dtab_destroy(t);
}
END_TEST


START_TEST(test_wrap_around)
{
    dtab_t  *t = dtab_create(1, 1, 8, 8 * 16);
    char     key[32];
    size_t   i;

    /* Every key starts in the last slot: the run wraps to slot 0. */
    ck_assert_ptr_nonnull(t);
    for (i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "w%zu", i);
        put(t, key, 15 + ((uint64_t) i << 32));   /* bucket 15, tags differ */
    }
    for (i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "w%zu", i);
        ck_assert(found(t, key, 15 + ((uint64_t) i << 32)));
        ck_assert(!found(t, key, 15 + ((uint64_t) (i + 1) % 8 << 32)));
    }
    ck_assert(!found(t, "w8", 15 + ((uint64_t) 8 << 32)));
    /* Full: max_rows rows, then refused, unchanged. */
    ck_assert_int_eq(dtab_insert(t, (strv_t[]) { SV("w9"), SV("x") },
                                 hash1("w9")), -1);
    ck_assert_uint_eq(dtab_size(t), 8);
    ck_assert(!found(t, "w9", hash1("w9")));
    dtab_destroy(t);
}
END_TEST


START_TEST(test_empty_keys)
{
    dtab_t         *t = dtab_create(2, 1, 8, 64);
    strv_t          r1[3] = { SV(""), SV(""), SV("both") };
    strv_t          r2[3] = { SV(""), SV("a"), SV("second") };
    strv_t          r3[3] = { SV("a"), SV(""), SV("first") };
    strv_t          k[2];
    const strv_t   *row;
    uint64_t        h;
    int             forced;

    ck_assert_ptr_nonnull(t);
    /* ("", "a") and ("a", "") differ; so do their hashes. */
    ck_assert(dtab_hash(r2, 2) != dtab_hash(r3, 2));
    for (forced = 0; forced < 2; forced++) {
        dtab_destroy(t);
        t = dtab_create(2, 1, 8, 64);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(dtab_insert(t, r1, forced ? 9 : dtab_hash(r1, 2)), 0);
        ck_assert_int_eq(dtab_insert(t, r2, forced ? 9 : dtab_hash(r2, 2)), 0);
        ck_assert_int_eq(dtab_insert(t, r3, forced ? 9 : dtab_hash(r3, 2)), 0);
        ck_assert_uint_eq(dtab_size(t), 3);
        row = dtab_find(t, r1, forced ? 9 : dtab_hash(r1, 2));
        ck_assert(row != NULL && sv_is(row[0], "both"));
        row = dtab_find(t, r2, forced ? 9 : dtab_hash(r2, 2));
        ck_assert(row != NULL && sv_is(row[0], "second"));
        ck_assert(dtab_row_is(t, row, r2) && !dtab_row_is(t, row, r3));
        row = dtab_find(t, r3, forced ? 9 : dtab_hash(r3, 2));
        ck_assert(row != NULL && sv_is(row[0], "first"));
        k[0] = SV("a");
        k[1] = SV("a");
        h = forced ? 9 : dtab_hash(k, 2);
        ck_assert_ptr_null(dtab_find(t, k, h));
    }
    dtab_destroy(t);
}
END_TEST


START_TEST(test_long_keys)
{
    size_t          big = 100000, len, i;
    char           *a = malloc(big + 1), *b = malloc(big + 1);
    dtab_t         *t;
    strv_t          cols[2], k;
    const strv_t   *row;

    /* Keys of every length 0 to 40 (the comparison's word, half-word
     * and byte paths), each against keys differing in one byte only, at
     * every position, under one forced hash. */
    for (len = 0; len <= 40; len++) {
        t = dtab_create(1, 1, 1, len + 8);
        ck_assert_ptr_nonnull(t);
        memset(a, 'x', len);
        cols[0].p = a;
        cols[0].len = len;
        cols[1] = SV("val");
        ck_assert_int_eq(dtab_insert(t, cols, 3), 0);
        ck_assert_ptr_nonnull(dtab_find(t, cols, 3));
        for (i = 0; i < len; i++) {
            memcpy(b, a, len);
            b[i] = 'y';
            k.p = b;
            k.len = len;
            ck_assert_msg(dtab_find(t, &k, 3) == NULL, "len %zu pos %zu",
                          len, i);
        }
        k.p = a;
        k.len = len + 1;                    /* a longer key: a miss */
        a[len] = 'x';
        ck_assert_ptr_null(dtab_find(t, &k, 3));
        dtab_destroy(t);
    }

    /* A 100,000-byte key, and one differing only in its middle byte. */
    t = dtab_create(1, 1, 4, 2 * big + 16);
    ck_assert_ptr_nonnull(t);
    for (i = 0; i < big; i++) {
        a[i] = (char) ('a' + i % 26);
    }
    memcpy(b, a, big);
    b[big / 2] = '#';
    cols[0].p = a;
    cols[0].len = big;
    cols[1] = SV("long-a");
    ck_assert_int_eq(dtab_insert(t, cols, dtab_hash(cols, 1)), 0);
    k.p = b;
    k.len = big;
    ck_assert_ptr_null(dtab_find(t, &k, dtab_hash(&k, 1)));
    ck_assert_ptr_null(dtab_find(t, &k, dtab_hash(cols, 1)));
    cols[0].p = b;
    cols[1] = SV("long-b");
    ck_assert_int_eq(dtab_insert(t, cols, dtab_hash(cols, 1)), 0);
    k.p = a;
    row = dtab_find(t, &k, dtab_hash(&k, 1));
    ck_assert(row != NULL && sv_is(row[0], "long-a"));
    k.p = b;
    row = dtab_find(t, &k, dtab_hash(&k, 1));
    ck_assert(row != NULL && sv_is(row[0], "long-b"));
    /* The bytes were copied: changing the caller's does not matter. */
    memset(a, 0, big);
    ck_assert(row[0].len == 6 && memcmp(row[0].p, "long-b", 6) == 0);
    dtab_destroy(t);
    free(a);
    free(b);
}
END_TEST


START_TEST(test_bytes_limit)
{
    dtab_t  *t = dtab_create(1, 1, 2, 0);

    /* Rows whose values hold max_bytes (0) bytes in all fit; a row with
     * more is refused although max_rows is not reached. */
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(dtab_insert(t, (strv_t[]) { SV(""), SV("") }, 1), 0);
    ck_assert_int_eq(dtab_insert(t, (strv_t[]) { SV("abcdefghijklmnop"),
                                                 SV("") }, 2), -1);
    ck_assert_uint_eq(dtab_size(t), 1);
    ck_assert_ptr_nonnull(dtab_find(t, (strv_t[]) { SV("") }, 1));
    dtab_destroy(t);
}
END_TEST


Suite *
dims_table_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("dims_table");

    tc = tcase_create("Core");
    tcase_add_test(tc, test_hits_and_misses);
    tcase_add_test(tc, test_equal_hashes);
    tcase_add_test(tc, test_equal_buckets);
    tcase_add_test(tc, test_wrap_around);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_test(tc, test_empty_keys);
    tcase_add_test(tc, test_long_keys);
    tcase_add_test(tc, test_bytes_limit);
    suite_add_tcase(s, tc);

    return s;
}
