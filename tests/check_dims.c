/* check_dims.c - Unit tests for labels/dims.c: CSV parsing, header
 * mapping, lookups with simple and composite keys, and reloads. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>

#include "config/config.h"
#include "labels/dims.h"
#include "labels/dims_internal.h"
#include "lib/log.h"
#include "tests/testutil.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })

enum { T_CLUSTER, T_LEVEL, T_API };

/* Asserts a lookup in the gateway_cluster table. */
#define ck_cluster(ip, app, region) \
    check_lookup(T_CLUSTER, SV(ip), (strv_t) { NULL, 0 }, (app), (region), \
                 __LINE__)

/* Asserts a lookup in the api_meta table. */
#define ck_api(product, api, prio) \
    check_lookup(T_API, SV(product), SV(api), (prio), NULL, __LINE__)


/* Helpers */

/* The default config's three tables, by hand. */
static char  *cluster_keys[] = { (char *) "local_ip" };
static char  *cluster_prov[] = { (char *) "app_group", (char *) "region_id" };
static char  *level_keys[] = { (char *) "uid" };
static char  *level_prov[] = { (char *) "gc_level" };
static char  *api_keys[] = { (char *) "product", (char *) "api" };
static char  *api_prov[] = { (char *) "priority" };

static cfg_dim_t  tables[] = {
    { (char *) "gateway_cluster", cluster_keys, cluster_keys, 1,
      cluster_prov, 2, (char *) "unknown", 1 },
    { (char *) "user_level", level_keys, level_keys, 1,
      level_prov, 1, (char *) "unknown", 2 },
    { (char *) "api_meta", api_keys, api_keys, 2,
      api_prov, 1, (char *) "unknown", 3 },
};

static cfg_t    cfg;
static char    *dir;
static dims_t  *dims;


static void
setup(void)
{
    log_set_level((log_level_t) (LOG_ERROR + 1));
    memset(&cfg, 0, sizeof(cfg));
    cfg.dims = tables;
    cfg.ndims = 3;
    dir = tu_mkdtemp();
    dims = NULL;
}


static void
teardown(void)
{
    dims_destroy(dims);
    dims = NULL;
    tu_rmdir(dir);
    dir = NULL;
}


static void
open_dims(void)
{
    dims = dims_create(&cfg, dir);
    ck_assert_ptr_nonnull(dims);
}


/* want1/want2: expected provided columns; want1 NULL: a miss. */
static void
check_lookup(size_t t, strv_t k1, strv_t k2, const char *want1,
    const char *want2, int line)
{
    const strv_t  *row;
    strv_t         keys[2];

    keys[0] = k1;
    keys[1] = k2;
    row = dims_lookup(dims, t, keys);
    if (want1 == NULL) {
        ck_assert_msg(row == NULL, "line %d: found \"%.*s\", want a miss",
                      line, row ? (int) row[0].len : 0, row ? row[0].p : "");
        return;
    }
    ck_assert_msg(row != NULL, "line %d: miss, want \"%s\"", line, want1);
    ck_assert_msg(row[0].len == strlen(want1)
                  && memcmp(row[0].p, want1, row[0].len) == 0,
                  "line %d: got \"%.*s\", want \"%s\"", line,
                  (int) row[0].len, row[0].p, want1);
    if (want2 != NULL) {
        ck_assert_msg(row[1].len == strlen(want2)
                      && memcmp(row[1].p, want2, row[1].len) == 0,
                      "line %d: got \"%.*s\", want \"%s\"", line,
                      (int) row[1].len, row[1].p, want2);
    }
}


/* Sets the mtime of dir/name to sec (nanoseconds 0). */
static void
set_mtime(const char *name, time_t sec)
{
    struct timespec  ts[2];
    char            *path = tu_path(dir, name);

    ts[0].tv_sec = sec;
    ts[0].tv_nsec = 0;
    ts[1] = ts[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    free(path);
}


/* Core */

START_TEST(test_basic)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n"
                 "11.197.1.1,pop-region-cn-huhehaote,cn-huhehaote\n"
                 "11.197.1.2,pop-region-cn-hangzhou,cn-hangzhou\n");
    tu_write_str(dir, "user_level.csv", "uid,gc_level\n1098373503,GC5\n");
    open_dims();
    ck_cluster("11.197.1.1", "pop-region-cn-huhehaote", "cn-huhehaote");
    ck_cluster("11.197.1.2", "pop-region-cn-hangzhou", "cn-hangzhou");
    ck_cluster("11.197.1.3", NULL, NULL);
    ck_cluster("11.197.1.", NULL, NULL);
    ck_cluster("", NULL, NULL);
    check_lookup(T_LEVEL, SV("1098373503"), SV(""), "GC5", NULL, __LINE__);
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 2);
    ck_assert_uint_eq(dims_entries(dims, T_LEVEL), 1);
    ck_assert_uint_eq(dims_entries(dims, T_API), 0);
    ck_assert_uint_eq(dims_loads(dims, T_CLUSTER), 1);
    /* Nothing changed. */
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);
    ck_assert_uint_eq(dims_loads(dims, T_CLUSTER), 1);
}
END_TEST


START_TEST(test_header_mapping)
{
    /* Columns in another order, with extra ones. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "zone,region_id,comment,app_group,local_ip\n"
                 "z1,cn-a,hello,grp-a,10.0.0.1\n"
                 "z2,cn-b,,grp-b,10.0.0.2\n");
    open_dims();
    ck_cluster("10.0.0.1", "grp-a", "cn-a");
    ck_cluster("10.0.0.2", "grp-b", "cn-b");
    ck_cluster("z1", NULL, NULL);
    ck_cluster("cn-a", NULL, NULL);
}
END_TEST


START_TEST(test_quoting)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "\"local_ip\",\"app_group\",region_id\n"
                 "\"10.0.0.1\",\"grp, with comma\",\"say \"\"hi\"\"\"\n"
                 "10.0.0.2,\"two\nlines\",\"\"\n"
                 "\"10.0.0.3\",\"\",\"a\"\"\"\n"
                 "\"10,0\",x,y\n"
                 " 10.0.0.4 , g ,r \n");
    open_dims();
    ck_cluster("10.0.0.1", "grp, with comma", "say \"hi\"");
    ck_cluster("10.0.0.2", "two\nlines", "");
    ck_cluster("10.0.0.3", "", "a\"");
    ck_cluster("10,0", "x", "y");
    /* Nothing is trimmed. */
    ck_cluster(" 10.0.0.4 ", " g ", "r ");
    ck_cluster("10.0.0.4", NULL, NULL);
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 5);
}
END_TEST


START_TEST(test_crlf)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\r\n"
                 "10.0.0.1,grp-a,cn-a\r\n"
                 "10.0.0.2,\"grp-b\",\"cn-b\"\r\n"
                 "10.0.0.4,grp-d,cn-d");            /* no final newline */
    open_dims();
    ck_cluster("10.0.0.1", "grp-a", "cn-a");
    ck_cluster("10.0.0.2", "grp-b", "cn-b");
    ck_cluster("10.0.0.4", "grp-d", "cn-d");
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 3);

    /* A CR before EOF is a line ending too. */
    tu_write_str(dir, "user_level.csv", "uid,gc_level\r\n7,GC1\r");
    dims_destroy(dims);
    open_dims();
    check_lookup(T_LEVEL, SV("7"), SV(""), "GC1", NULL, __LINE__);
}
END_TEST


START_TEST(test_duplicates_and_bad_rows)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n"
                 "10.0.0.1,old,cn-old\n"
                 "10.0.0.2,short\n"                         /* 2 columns */
                 "10.0.0.3,a,b,c\n"                         /* 4 columns */
                 "\n"                                       /* empty */
                 "10.0.0.4,g4,r4\n"
                 "10.0.0.1,new,cn-new\n");
    open_dims();
    ck_cluster("10.0.0.1", "new", "cn-new");
    ck_cluster("10.0.0.2", NULL, NULL);
    ck_cluster("10.0.0.3", NULL, NULL);
    ck_cluster("10.0.0.4", "g4", "r4");
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 2);
}
END_TEST


START_TEST(test_composite_key)
{
    tu_write_str(dir, "api_meta.csv",
                 "product,api,priority\n"
                 "ecs,DescribeInstances,P0\n"
                 "ecsDescribe,Instances,P3\n"
                 "ecs,RunInstances,P1\n"
                 ",,P9\n"
                 "acc,DescribeCustomResourceDetail,P2\n");
    open_dims();
    ck_api("ecs", "DescribeInstances", "P0");
    ck_api("ecsDescribe", "Instances", "P3");
    ck_api("ecs", "RunInstances", "P1");
    ck_api("acc", "DescribeCustomResourceDetail", "P2");
    ck_api("", "", "P9");
    ck_api("ecs", "", NULL);
    ck_api("ecs", "Other", NULL);
    ck_api("RunInstances", "ecs", NULL);
    ck_api("ecsRun", "Instances", NULL);
    ck_assert_uint_eq(dims_entries(dims, T_API), 5);
}
END_TEST


START_TEST(test_missing)
{
    /* Every file missing: every lookup misses. */
    open_dims();
    ck_cluster("10.0.0.1", NULL, NULL);
    ck_api("ecs", "DescribeInstances", NULL);
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 0);
    ck_assert_int_eq(dims_state(dims, T_CLUSTER), DIMS_ABSENT);
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);

    /* The file appears: loaded at the next check. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g,r\n");
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.1", "g", "r");
    ck_assert_int_eq(dims_state(dims, T_CLUSTER), DIMS_LOADED);

    /* It is removed: the table is empty again. */
    {
        char  *p = tu_path(dir, "gateway_cluster.csv");

        ck_assert_int_eq(unlink(p), 0);
        free(p);
    }
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.1", NULL, NULL);
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 0);
    ck_assert_int_eq(dims_state(dims, T_CLUSTER), DIMS_ABSENT);
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);
}
END_TEST


START_TEST(test_no_dir)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g,r\n");
    dims = dims_create(&cfg, NULL);
    ck_assert_ptr_nonnull(dims);
    ck_cluster("10.0.0.1", NULL, NULL);
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 0);
    dims_destroy(NULL);
}
END_TEST


START_TEST(test_reload)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g1,r1\n");
    set_mtime("gateway_cluster.csv", 1000000000);
    open_dims();
    ck_cluster("10.0.0.1", "g1", "r1");

    /* A different size. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g22,r22\n"
                 "10.0.0.2,x,y\n");
    set_mtime("gateway_cluster.csv", 1000000000);
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.1", "g22", "r22");
    ck_cluster("10.0.0.2", "x", "y");
    ck_assert_uint_eq(dims_loads(dims, T_CLUSTER), 2);
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);

    /* The same size, in place, with a new mtime. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g33,r33\n"
                 "10.0.0.3,x,y\n");
    set_mtime("gateway_cluster.csv", 1000000001);
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.1", "g33", "r33");
    ck_cluster("10.0.0.2", NULL, NULL);
    ck_cluster("10.0.0.3", "x", "y");
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);

    /* The same size and mtime, but a new inode (rename over). */
    tu_write_str(dir, "tmp.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g44,r44\n"
                 "10.0.0.4,x,y\n");
    set_mtime("tmp.csv", 1000000001);
    {
        char  *from = tu_path(dir, "tmp.csv");
        char  *to = tu_path(dir, "gateway_cluster.csv");

        ck_assert_int_eq(rename(from, to), 0);
        free(from);
        free(to);
    }
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.1", "g44", "r44");
    ck_cluster("10.0.0.4", "x", "y");
    ck_assert_uint_eq(dims_loads(dims, T_CLUSTER), 4);
}
END_TEST


START_TEST(test_failed_reload_keeps_rows)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g1,r1\n");
    open_dims();
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_assert_int_eq(dims_state(dims, T_CLUSTER), DIMS_LOADED);

    /* A header without region_id: the old rows stay, the state says the
     * load failed. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,regionid\n10.0.0.1,g2,r2\n");
    dims_reload_if_changed(dims);
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 1);
    ck_assert_uint_eq(dims_loads(dims, T_CLUSTER), 1);
    ck_assert_int_eq(dims_state(dims, T_CLUSTER), DIMS_FAILED);

    /* An empty file has no header either. */
    tu_write_str(dir, "gateway_cluster.csv", "");
    dims_reload_if_changed(dims);
    ck_cluster("10.0.0.1", "g1", "r1");

    /* An unterminated quote in the header. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,\"app_group,region_id\n10.0.0.1,g2,r2\n");
    dims_reload_if_changed(dims);
    ck_cluster("10.0.0.1", "g1", "r1");

    /* Fixed: loaded. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g333,r3\n");
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.1", "g333", "r3");
    ck_assert_int_eq(dims_state(dims, T_CLUSTER), DIMS_LOADED);
}
END_TEST


/* Limits */

START_TEST(test_failed_reload_not_retried)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g1,r1\n");
    open_dims();
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,regionid\n10.0.0.1,g2,r2\n");
    dims_reload_if_changed(dims);
    ck_cluster("10.0.0.1", "g1", "r1");
    /* The broken file has not changed since: nothing is reloaded (the
     * tailer calls this every second; a retry would log an error and
     * "dimension tables reloaded" every second). */
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);
    ck_assert_int_eq(dims_reload_if_changed(dims), 0);
}
END_TEST


START_TEST(test_unterminated_quote_row)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n"
                 "10.0.0.1,g1,r1\n"
                 "10.0.0.2,\"g2,r2\n");
    open_dims();
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_cluster("10.0.0.2", NULL, NULL);
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 1);
}
END_TEST


START_TEST(test_last_answer)
{
    uint64_t  before;

    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g1,r1\n"
                 "10.0.0.2,g2,r2\n");
    tu_write_str(dir, "api_meta.csv",
                 "product,api,priority\necs,Run,P0\necs,Stop,P1\n"
                 "ec,sRun,P2\n");
    open_dims();

    /* Runs of one key are answered by the last answer, hits and misses
     * alike; any other key is not. */
    ck_cluster("10.0.0.1", "g1", "r1");
    before = dims__last_hits(dims, T_CLUSTER);
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_assert_uint_eq(dims__last_hits(dims, T_CLUSTER), before + 2);
    ck_cluster("10.0.0.2", "g2", "r2");
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_cluster("10.0.0.9", NULL, NULL);
    ck_cluster("10.0.0.9", NULL, NULL);
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_assert_uint_eq(dims__last_hits(dims, T_CLUSTER), before + 3);

    /* Composite keys: the same first key with another second one, and
     * the same bytes split elsewhere, are other keys. */
    ck_api("ecs", "Run", "P0");
    ck_api("ecs", "Stop", "P1");
    ck_api("ecs", "Stop", "P1");
    ck_api("ec", "sRun", "P2");
    ck_api("ecs", "Run", "P0");
    ck_api("ecsR", "un", NULL);
    ck_api("ecsR", "un", NULL);
    ck_api("ecs", "Run", "P0");
    ck_assert_uint_eq(dims__last_hits(dims, T_API), 2);
}
END_TEST


START_TEST(test_last_answer_reload)
{
    uint64_t  before;
    char     *p;

    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g1,r1\n");
    set_mtime("gateway_cluster.csv", 1000000000);
    open_dims();
    ck_cluster("10.0.0.1", "g1", "r1");
    ck_cluster("10.0.0.1", "g1", "r1");

    /* The same size and a new mtime: the last answer (a row of the old
     * table) is not given again. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.1,g2,r2\n");
    set_mtime("gateway_cluster.csv", 1000000001);
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    before = dims__last_hits(dims, T_CLUSTER);
    ck_cluster("10.0.0.1", "g2", "r2");
    ck_assert_uint_eq(dims__last_hits(dims, T_CLUSTER), before);
    ck_cluster("10.0.0.1", "g2", "r2");
    ck_assert_uint_eq(dims__last_hits(dims, T_CLUSTER), before + 1);

    /* A remembered miss, then the key appears. */
    ck_cluster("10.0.0.7", NULL, NULL);
    ck_cluster("10.0.0.7", NULL, NULL);
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.7,g7,r7\n");
    set_mtime("gateway_cluster.csv", 1000000002);
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.7", "g7", "r7");
    ck_cluster("10.0.0.7", "g7", "r7");

    /* The file is removed: an empty table, the last hit forgotten. */
    p = tu_path(dir, "gateway_cluster.csv");
    ck_assert_int_eq(unlink(p), 0);
    free(p);
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.7", NULL, NULL);

    /* It comes back with the same row: found again. */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n10.0.0.7,g8,r8\n");
    ck_assert_int_eq(dims_reload_if_changed(dims), 1);
    ck_cluster("10.0.0.7", "g8", "r8");
}
END_TEST


START_TEST(test_empty_and_long_keys)
{
    size_t   big = 70000, len = 0, i;
    char    *csv = malloc(2 * big + 256), *key = malloc(big + 1);
    strv_t   k;

    /* An empty key is a key like any other; keys of 70,000 bytes that
     * differ in their last byte are two keys. */
    len += (size_t) snprintf(csv, 256, "local_ip,app_group,region_id\n"
                                        ",empty,r0\n");
    for (i = 0; i < big; i++) {
        key[i] = (char) ('0' + i % 10);
    }
    key[big - 1] = 'a';
    memcpy(csv + len, key, big);
    len += big;
    len += (size_t) snprintf(csv + len, 64, ",long-a,ra\n");
    key[big - 1] = 'b';
    memcpy(csv + len, key, big);
    len += big;
    len += (size_t) snprintf(csv + len, 64, ",long-b,rb\n");
    tu_write(dir, "gateway_cluster.csv", csv, len);
    open_dims();
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 3);
    ck_cluster("", "empty", "r0");
    ck_cluster("", "empty", "r0");
    k.p = key;
    k.len = big;
    for (i = 0; i < 2; i++) {               /* the second is a last hit */
        key[big - 1] = 'b';
        ck_assert(dims_lookup(dims, T_CLUSTER, &k) != NULL
                  && memcmp(dims_lookup(dims, T_CLUSTER, &k)[0].p,
                            "long-b", 6) == 0);
        key[big - 1] = 'a';
        ck_assert(dims_lookup(dims, T_CLUSTER, &k) != NULL
                  && memcmp(dims_lookup(dims, T_CLUSTER, &k)[0].p,
                            "long-a", 6) == 0);
        key[big - 1] = 'c';                 /* a miss too long to keep */
        ck_assert_ptr_null(dims_lookup(dims, T_CLUSTER, &k));
        ck_assert_ptr_null(dims_lookup(dims, T_CLUSTER, &k));
    }
    k.len = big - 1;                        /* a prefix: a miss */
    ck_assert_ptr_null(dims_lookup(dims, T_CLUSTER, &k));
    ck_cluster("", "empty", "r0");
    free(csv);
    free(key);
}
END_TEST


START_TEST(test_many_rows)
{
    size_t  n = 100000, i, len = 0, cap = n * 40 + 64;
    char   *csv = malloc(cap), ip[32], grp[32];
    int     ok = 1;

    len += (size_t) snprintf(csv, cap, "local_ip,app_group,region_id\n");
    for (i = 0; i < n; i++) {
        len += (size_t) snprintf(csv + len, cap - len, "ip%zu,g%zu,r%zu\n",
                                 i, i, i % 7);
    }
    tu_write(dir, "gateway_cluster.csv", csv, len);
    free(csv);
    open_dims();
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), n);
    for (i = 0; i < n && ok; i++) {
        strv_t         key;
        const strv_t  *row;

        key.len = (size_t) snprintf(ip, sizeof(ip), "ip%zu", i);
        key.p = ip;
        row = dims_lookup(dims, T_CLUSTER, &key);
        snprintf(grp, sizeof(grp), "g%zu", i);
        ok = row != NULL && row[0].len == strlen(grp)
             && memcmp(row[0].p, grp, row[0].len) == 0;
    }
    ck_assert_msg(ok, "row %zu", i - 1);
}
END_TEST


START_TEST(test_wide_header)
{
    char    csv[4096];
    size_t  len = 0;
    int     i;

    /* 70 columns (more than the parser's 64): the table is refused. */
    for (i = 0; i < 67; i++) {
        len += (size_t) snprintf(csv + len, sizeof(csv) - len, "c%d,", i);
    }
    len += (size_t) snprintf(csv + len, sizeof(csv) - len,
                             "local_ip,app_group,region_id\n");
    for (i = 0; i < 67; i++) {
        len += (size_t) snprintf(csv + len, sizeof(csv) - len, "v,");
    }
    len += (size_t) snprintf(csv + len, sizeof(csv) - len, "10.0.0.1,g,r\n");
    tu_write(dir, "gateway_cluster.csv", csv, len);
    open_dims();
    ck_cluster("10.0.0.1", NULL, NULL);
    /* A row wider than 64 in a narrow table is skipped, nothing else. */
    len = (size_t) snprintf(csv, sizeof(csv),
                            "local_ip,app_group,region_id\n10.0.0.1,g,r\n");
    for (i = 0; i < 70; i++) {
        len += (size_t) snprintf(csv + len, sizeof(csv) - len, "w,");
    }
    len += (size_t) snprintf(csv + len, sizeof(csv) - len,
                             "w\n10.0.0.2,g2,r2\n");
    tu_write(dir, "gateway_cluster.csv", csv, len);
    dims_destroy(dims);
    open_dims();
    ck_cluster("10.0.0.1", "g", "r");
    ck_cluster("10.0.0.2", "g2", "r2");
    ck_assert_uint_eq(dims_entries(dims, T_CLUSTER), 2);
}
END_TEST


Suite *
dims_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("dims");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_header_mapping);
    tcase_add_test(tc, test_quoting);
    tcase_add_test(tc, test_crlf);
    tcase_add_test(tc, test_duplicates_and_bad_rows);
    tcase_add_test(tc, test_composite_key);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_no_dir);
    tcase_add_test(tc, test_reload);
    tcase_add_test(tc, test_failed_reload_keeps_rows);
    tcase_add_test(tc, test_last_answer);
    tcase_add_test(tc, test_last_answer_reload);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_failed_reload_not_retried);
    tcase_add_test(tc, test_unterminated_quote_row);
    tcase_add_test(tc, test_many_rows);
    tcase_add_test(tc, test_empty_and_long_keys);
    tcase_add_test(tc, test_wide_header);
    suite_add_tcase(s, tc);

    return s;
}
