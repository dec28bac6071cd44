/* check_pipeline.c - Unit tests for exporter/pipeline.h with the default
 * configuration (../config/gwlog_exporter.yml, run from tests/): lines in,
 * exact series values out.  The semantics are README.md's. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "config/config.h"
#include "exporter/pipeline.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "lib/log.h"
#include "tests/testutil.h"


/* Macros */

#define DEFAULT_CONFIG  "../config/gwlog_exporter.yml"

#define PRODUCT     "gw_product_requests_total"
#define DURATION    "gw_product_request_duration_seconds"
#define API         "gw_api_requests_total"
#define SLOW        "gw_api_slow_requests_total"
#define ERRCODE     "gw_error_code_requests_total"
#define TENANT      "gw_tenant_requests_total"
#define THROTTLED   "gw_tenant_throttled_requests_total"
#define TLEVEL      "gw_tenant_level_requests_total"
#define TLEVEL_THR  "gw_tenant_level_throttled_requests_total"
#define LINES       "gwlog_lines_total"
#define PERR        "gwlog_parse_errors_total"
#define FILTERED    "gwlog_lines_filtered_total"
#define VERR        "gwlog_value_errors_total"

#define FFFD        "\xEF\xBF\xBD"

/* The seed's sample line (README: the gateway's access log), on one line,
 * with the masked parts filled in. */
#define SEED_LINE \
    "{\"AK\": \"STS.NZD***Lgwc\", \"Api\": \"DescribeCustomResourceDetail\", " \
    "\"CallerUid\": \"1098373503\", \"ClientIp\": \"192.168.1.1\", " \
    "\"Domain\": \"acc-vpc.cn-huhehaote.aliyuncs.com\", " \
    "\"ErrorCode\": \"ResourceNotFound\", " \
    "\"Ext5\": \"{\\\"logRegionId\\\":\\\"cn-huhehaote\\\",\\\"appGroup\\\":" \
    "\\\"pop-region-cn-huhehaote\\\",\\\"callerInfo\\\":{},\\\"headers\\\":{}}\", " \
    "\"HttpCode\": \"404\", \"LocalIp\": \"11.197.1.1\", \"Product\": \"acc\", " \
    "\"RegionId\": \"cn-huhehaote\", \"RequestContent\": " \
    "\"RegionId=cn-huhehaote;Action=DescribeCustomResourceDetail;" \
    "Version=2024-04-02;...\", \"TotalUsedTime\": \"14\", " \
    "\"Version\": \"2024-04-02\", \"__time__\": \"1768484243\"}"

/* Fields every short test line shares: a known node, tenant and API. */
#define COMMON \
    "\"Api\":\"DescribeInstances\",\"Version\":\"2014-05-26\"," \
    "\"CallerUid\":\"42\",\"LocalIp\":\"11.197.1.2\"," \
    "\"Domain\":\"ecs.aliyuncs.com\",\"RequestContent\":\"RegionId=cn-x\""

/* The product series of an ecs line built on COMMON. */
#define ecs_requests(code_class) \
    tu_counter(snap, PRODUCT, "ecs", "cn-hangzhou", "cn-x", (code_class))


/* Helpers */

static cfg_t       *cfg;
static char        *dir;
static store_t     *store;
static dims_t      *dims;
static pipeline_t  *pl;
static store_snap_t *snap;


static void
write_dims(void)
{
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n"
                 "11.197.1.1,pop-region-cn-huhehaote,cn-huhehaote\n"
                 "11.197.1.2,pop-region-cn-hangzhou,cn-hangzhou\n");
    tu_write_str(dir, "user_level.csv",
                 "uid,gc_level\n1098373503,GC5\n42,GC6\n43,GC1\nfalse,GC7\n");
    tu_write_str(dir, "api_meta.csv",
                 "product,api,priority\n"
                 "acc,DescribeCustomResourceDetail,P1\n"
                 "ecs,DescribeInstances,P0\n");
}


/* Builds store, dims and pipeline for c (owned by the fixture). */
static void
start(cfg_t *c)
{
    char  err[512] = "";

    cfg = c;
    store = store_create();
    ck_assert_ptr_nonnull(store);
    dims = dims_create(cfg, dir);
    ck_assert_ptr_nonnull(dims);
    pl = pipeline_create(cfg, store, dims, err, sizeof(err));
    ck_assert_msg(pl != NULL, "pipeline_create: %s", err);
}


static void
setup(void)
{
    char    err[CFG_ERRLEN] = "";
    cfg_t  *c;

    log_set_level((log_level_t) (LOG_ERROR + 1));
    dir = tu_mkdtemp();
    write_dims();
    c = config_load(DEFAULT_CONFIG, err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    start(c);
    snap = NULL;
}


static void
teardown(void)
{
    store_snap_free(snap);
    snap = NULL;
    pipeline_destroy(pl);
    pl = NULL;
    dims_destroy(dims);
    dims = NULL;
    store_destroy(store);
    store = NULL;
    config_free(cfg);
    cfg = NULL;
    tu_rmdir(dir);
    dir = NULL;
}


static void
feed_n(const char *line, size_t len)
{
    store_ingest_lock(store);
    pipeline_line(pl, 0, line, len);
    store_ingest_unlock(store);
}


static void
feed(const char *line)
{
    feed_n(line, strlen(line));
}


/* Takes a fresh snapshot into the global snap. */
static void
take(void)
{
    store_snap_free(snap);
    snap = store_snapshot(store);
    ck_assert_ptr_nonnull(snap);
}


/* Asserts the outcome counters: ok, invalid, filtered. */
static void
check_lines(uint64_t ok, uint64_t invalid, uint64_t filtered, int line)
{
    uint64_t  a = tu_counter(snap, LINES, "ok");
    uint64_t  b = tu_counter(snap, LINES, "invalid");
    uint64_t  c = tu_counter(snap, LINES, "filtered");

    ck_assert_msg(a == ok && b == invalid && c == filtered,
                  "line %d: ok/invalid/filtered = %llu/%llu/%llu, want "
                  "%llu/%llu/%llu", line, (unsigned long long) a,
                  (unsigned long long) b, (unsigned long long) c,
                  (unsigned long long) ok, (unsigned long long) invalid,
                  (unsigned long long) filtered);
}

#define ck_lines(ok, inv, filt)  check_lines((ok), (inv), (filt), __LINE__)


/* Asserts the parse error counters (all pre-created at 0). */
static void
check_errors(uint64_t empty, uint64_t not_object, uint64_t truncated,
    uint64_t syntax, uint64_t missing, int line)
{
    static const char *const  names[] = { "empty", "not_object", "truncated",
        "syntax", "missing_field" };
    uint64_t                  want[5], got;
    size_t                    i;

    want[0] = empty;
    want[1] = not_object;
    want[2] = truncated;
    want[3] = syntax;
    want[4] = missing;
    for (i = 0; i < 5; i++) {
        got = tu_counter(snap, PERR, names[i]);
        ck_assert_msg(got == want[i], "line %d: reason %s = %llu, want %llu",
                      line, names[i], (unsigned long long) got,
                      (unsigned long long) want[i]);
    }
}

#define ck_errors(e, n, t, s, m)  check_errors((e), (n), (t), (s), (m), __LINE__)


/* Asserts the histogram series' bucket counts (non-cumulative, 12) and
 * raw sum. */
static void
check_hist(const char *product, const char *region, const char *biz,
    const uint64_t *want, double want_sum, int line)
{
    const uint64_t  *b;
    double           sum = -1;
    size_t           i;

    b = tu_hist(snap, &sum, DURATION, product, region, biz);
    ck_assert_msg(b != NULL, "line %d: no histogram series", line);
    for (i = 0; i < 12; i++) {
        ck_assert_msg(b[i] == want[i], "line %d: bucket %zu = %llu, want %llu",
                      line, i, (unsigned long long) b[i],
                      (unsigned long long) want[i]);
    }
    ck_assert_msg(sum == want_sum, "line %d: raw sum %.17g, want %.17g",
                  line, sum, want_sum);
}


/* Core */

START_TEST(test_seed_line)
{
    static const uint64_t  want[12] = { 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const char     *classes[] = { "1xx", "2xx", "3xx", "5xx" };
    long                   fi;
    size_t                 i;

    feed(SEED_LINE);
    take();
    ck_lines(1, 0, 0);
    ck_errors(0, 0, 0, 0, 0);

    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "acc", "cn-huhehaote",
                                 "cn-huhehaote", "4xx"), 1);
    ck_assert_uint_eq(tu_nseries(snap, PRODUCT), 5);
    for (i = 0; i < 4; i++) {
        ck_assert_uint_eq(tu_counter(snap, PRODUCT, "acc", "cn-huhehaote",
                                     "cn-huhehaote", classes[i]), 0);
        ck_assert_uint_eq(tu_counter(snap, API, "acc",
                                     "DescribeCustomResourceDetail",
                                     "2024-04-02", "P1", classes[i]), 0);
    }
    check_hist("acc", "cn-huhehaote", "cn-huhehaote", want, 14, __LINE__);
    fi = tu_family(snap, DURATION);
    ck_assert(store_snap_family(snap, (size_t) fi)->divisor == 1000);
    ck_assert_uint_eq(tu_nseries(snap, DURATION), 1);
    ck_assert_uint_eq(tu_counter(snap, API, "acc",
                                 "DescribeCustomResourceDetail", "2024-04-02",
                                 "P1", "4xx"), 1);
    ck_assert_uint_eq(tu_nseries(snap, API), 5);
    /* 14 ms is not slow; zero_unmatched creates the series at 0. */
    ck_assert_uint_eq(tu_nseries(snap, SLOW), 1);
    ck_assert_uint_eq(tu_counter(snap, SLOW, "acc",
                                 "DescribeCustomResourceDetail", "2024-04-02",
                                 "P1"), 0);
    ck_assert_uint_eq(tu_counter(snap, ERRCODE, "acc",
                                 "DescribeCustomResourceDetail", "404",
                                 "ResourceNotFound"), 1);
    ck_assert_uint_eq(tu_nseries(snap, ERRCODE), 1);
    ck_assert_uint_eq(tu_counter(snap, TENANT, "1098373503", "GC5"), 1);
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 1);
    ck_assert_uint_eq(tu_nseries(snap, THROTTLED), 0);
    ck_assert_uint_eq(tu_counter(snap, FILTERED, "warmup"), 0);
    ck_assert_uint_eq(tu_counter(snap, VERR, DURATION), 0);

    /* The same line again: the same series, counted twice. */
    feed(SEED_LINE);
    take();
    ck_lines(2, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "acc", "cn-huhehaote",
                                 "cn-huhehaote", "4xx"), 2);
    ck_assert_uint_eq(tu_nseries(snap, PRODUCT), 5);
}
END_TEST


START_TEST(test_warmup_filtered)
{
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\","
         "\"Domain\":\"popwarmup.aliyuncs.com\",\"TotalUsedTime\":\"3\"}");
    /* Exactly that domain only. */
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\","
         "\"Domain\":\"popwarmup.aliyuncs.com.\"}");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\","
         "\"Domain\":\"POPWARMUP.aliyuncs.com\"}");
    /* Filters run after the required fields: an invalid warm-up line is
     * invalid, not filtered. */
    feed("{\"HttpCode\":\"200\",\"Domain\":\"popwarmup.aliyuncs.com\"}");
    take();
    ck_lines(2, 1, 1);
    ck_errors(0, 0, 0, 0, 1);
    ck_assert_uint_eq(tu_counter(snap, FILTERED, "warmup"), 1);
    ck_assert_uint_eq(tu_total(snap, PRODUCT), 2);
    ck_assert_uint_eq(tu_nseries(snap, DURATION), 0);
    /* Only the two unfiltered lines lacked TotalUsedTime. */
    ck_assert_uint_eq(tu_counter(snap, VERR, DURATION), 2);
}
END_TEST


START_TEST(test_missing_field)
{
    feed("{\"HttpCode\":\"200\"}");
    feed("{\"Product\":\"acc\"}");
    feed("{\"Product\":null,\"HttpCode\":\"200\"}");
    feed("{\"Product\":\"\",\"HttpCode\":\"200\"}");
    feed("{\"Product\":{\"a\":1},\"HttpCode\":\"200\"}");
    feed("{\"Product\":[\"acc\"],\"HttpCode\":\"200\"}");
    feed("{\"Product\":\"acc\",\"HttpCode\":null}");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"\"}");
    feed("{\"product\":\"acc\",\"HttpCode\":\"200\"}");
    /* Present but odd values are fine. */
    feed("{\"Product\":\" \",\"HttpCode\":\"200\"}");
    feed("{\"Product\":false,\"HttpCode\":0}");
    take();
    ck_lines(2, 9, 0);
    ck_errors(0, 0, 0, 0, 9);
    ck_assert_uint_eq(tu_total(snap, PRODUCT), 2);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, " ", "unknown", "", "2xx"),
                      1);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "false", "unknown", "",
                                 "0xx"), 1);
}
END_TEST


START_TEST(test_invalid_json)
{
    feed("garbage");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\"} x");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\",}");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\",\"T\":NaN}");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\",\"T\":012}");
    feed("{\"Product\":\"a\tcc\",\"HttpCode\":\"200\"}");
    feed("{\"Product\":\"a\\xcc\",\"HttpCode\":\"200\"}");
    feed("{\"Product\":\"acc\",\"HttpCode\":\"20");
    feed("{\"Product\":\"acc\",\"HttpCode\":");
    feed("{");
    feed("[{\"Product\":\"acc\",\"HttpCode\":\"200\"}]");
    feed("\"Product\"");
    feed("42");
    feed("");
    feed(" \t\r");
    take();
    ck_lines(0, 15, 0);
    ck_errors(2, 3, 3, 7, 0);
    ck_assert_uint_eq(tu_total(snap, PRODUCT), 0);
    ck_assert_uint_eq(tu_nseries(snap, PRODUCT), 0);
}
END_TEST


START_TEST(test_truncated_and_crlf)
{
    const char  *line = "{\"Product\":\"acc\",\"HttpCode\":\"200\","
                        "\"TotalUsedTime\":\"5\"}";
    size_t       n = strlen(line), i;

    /* Every strict prefix of a valid line is truncated (or empty). */
    for (i = 0; i < n; i++) {
        feed_n(line, i);
    }
    /* A CR before the newline is whitespace after the object. */
    feed("{\"Product\":\"acc\",\"HttpCode\":\"200\"}\r");
    take();
    ck_lines(1, n, 0);
    ck_errors(1, 0, n - 1, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "acc", "unknown", "", "2xx"),
                      1);
}
END_TEST


START_TEST(test_numbers_for_strings)
{
    static const uint64_t  want[12] = { 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":404,"
         "\"TotalUsedTime\":6,\"ErrorCode\":\"NotFound\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":4.04e2,"
         "\"TotalUsedTime\":1.2e4}");
    take();
    ck_lines(2, 0, 0);
    ck_assert_uint_eq(ecs_requests("4xx"), 2);
    ck_assert_uint_eq(tu_counter(snap, ERRCODE, "ecs", "DescribeInstances",
                                 "404", "NotFound"), 1);
    /* The number's text as written, and the default "" ErrorCode. */
    ck_assert_uint_eq(tu_counter(snap, ERRCODE, "ecs", "DescribeInstances",
                                 "4.04e2", ""), 1);
    check_hist("ecs", "cn-hangzhou", "cn-x", want, 6 + 1.2e4, __LINE__);
    ck_assert_uint_eq(tu_counter(snap, SLOW, "ecs", "DescribeInstances",
                                 "2014-05-26", "P0"), 1);
    ck_assert_uint_eq(tu_counter(snap, TENANT, "42", "GC6"), 2);
}
END_TEST


START_TEST(test_code_class)
{
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"503\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"9\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"abc\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"-1\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"\\u0034\\n04\"}");
    take();
    ck_lines(6, 0, 0);
    ck_assert_uint_eq(ecs_requests("2xx"), 1);
    ck_assert_uint_eq(ecs_requests("5xx"), 1);
    ck_assert_uint_eq(ecs_requests("9xx"), 1);
    ck_assert_uint_eq(ecs_requests("unknown"), 2);
    ck_assert_uint_eq(ecs_requests("4xx"), 1);
    ck_assert_uint_eq(ecs_requests("1xx"), 0);
    ck_assert_uint_eq(ecs_requests("3xx"), 0);
    /* 2xx lines are not error-code lines; the others are. */
    ck_assert_uint_eq(tu_total(snap, ERRCODE), 5);
    ck_assert_uint_eq(tu_counter(snap, ERRCODE, "ecs", "DescribeInstances",
                                 "4\n04", ""), 1);
}
END_TEST


START_TEST(test_field_values)
{
    /* Nested decoys are not top-level keys. */
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"Ext\":{\"Api\":\"Decoy\",\"Product\":\"x\",\"CallerUid\":\"1\"},"
         "\"List\":[{\"Api\":\"Decoy2\"},\"Api\"],\"K\":\"\\\"Api\\\":\\\"D3\\\"\"}");
    /* Duplicate keys: the last wins.  Escaped keys match. */
    feed("{\"Product\":\"a\",\"HttpCode\":\"500\",\"Product\":\"b\","
         "\"\\u0041pi\":\"Esc\",\"Api\":\"First\",\"Api\":\"Last\"}");
    /* true/false become text; null is absent. */
    feed("{\"Product\":\"c\",\"HttpCode\":\"200\",\"Api\":true,"
         "\"Version\":null,\"CallerUid\":false}");
    take();
    ck_lines(3, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, API, "ecs", "", "", "unknown", "2xx"),
                      1);
    /* No uid: gc_level "unknown", folded per level (not a key
     * customer). */
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "unknown"), 2);
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 1);
    ck_assert_uint_eq(tu_counter(snap, API, "b", "Last", "", "unknown",
                                 "5xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, API, "a", "Last", "", "unknown",
                                 "5xx"), TU_MISSING);
    ck_assert_uint_eq(tu_counter(snap, API, "c", "true", "", "unknown",
                                 "2xx"), 1);
    /* CallerUid false is the text "false", a key customer's uid. */
    ck_assert_uint_eq(tu_counter(snap, TENANT, "false", "GC7"), 1);
}
END_TEST


START_TEST(test_biz_region)
{
    feed("{\"Product\":\"p\",\"HttpCode\":\"200\","
         "\"RequestContent\":\"XRegionId=a;RegionId=b;RegionId=c\"}");
    feed("{\"Product\":\"p\",\"HttpCode\":\"200\","
         "\"RequestContent\":\"Action=x;RegionId=\"}");
    feed("{\"Product\":\"p\",\"HttpCode\":\"200\","
         "\"RequestContent\":\"RegionId =d;RegionId=e=f\"}");
    feed("{\"Product\":\"p\",\"HttpCode\":\"200\",\"RequestContent\":7}");
    take();
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "p", "unknown", "b", "2xx"),
                      1);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "p", "unknown", "", "2xx"),
                      2);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "p", "unknown", "e=f",
                                 "2xx"), 1);
}
END_TEST


START_TEST(test_invalid_utf8)
{
    /* Repaired into U+FFFD, one per maximal ill-formed subpart. */
    feed("{\"Product\":\"ac\xFF" "c\",\"HttpCode\":\"200\","
         "\"CallerUid\":\"u\xE2\x82\",\"Api\":\"\xC0\xAF\"}");
    take();
    ck_lines(1, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "ac" FFFD "c", "unknown", "",
                                 "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "unknown"), 1);
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 0);
    ck_assert_uint_eq(tu_counter(snap, API, "ac" FFFD "c", FFFD FFFD, "",
                                 "unknown", "2xx"), 1);
}
END_TEST


START_TEST(test_value_errors)
{
    static const uint64_t  want[12] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"abc\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\" 14\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"1e400\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":null}");
    take();
    /* Counted everywhere else, never observed. */
    ck_lines(5, 0, 0);
    ck_assert_uint_eq(ecs_requests("2xx"), 5);
    ck_assert_uint_eq(tu_counter(snap, TENANT, "42", "GC6"), 5);
    ck_assert_uint_eq(tu_counter(snap, VERR, DURATION), 5);
    ck_assert_uint_eq(tu_nseries(snap, DURATION), 0);
    /* No number, so not slow: one series at 0 (zero_unmatched). */
    ck_assert_uint_eq(tu_nseries(snap, SLOW), 1);

    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"-0\"}");
    take();
    check_hist("ecs", "cn-hangzhou", "cn-x", want, 0, __LINE__);
    ck_assert_uint_eq(tu_counter(snap, VERR, DURATION), 5);
}
END_TEST


START_TEST(test_throttling)
{
    /* ErrorCode prefix. */
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"400\","
         "\"ErrorCode\":\"Throttling.User\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"503\","
         "\"ErrorCode\":\"Throttling\"}");
    /* HttpCode 429, as a string, a number or another spelling. */
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"429\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":429}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"4.29e2\"}");
    /* Not throttled. */
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"400\","
         "\"ErrorCode\":\"throttling.user\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"400\","
         "\"ErrorCode\":\"User.Throttling\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"4290\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\" 429\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"429 \"}");
    take();
    ck_lines(10, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, THROTTLED, "42", "GC6"), 5);
    ck_assert_uint_eq(tu_nseries(snap, THROTTLED), 1);
    ck_assert_uint_eq(tu_counter(snap, TENANT, "42", "GC6"), 10);
    ck_assert_uint_eq(tu_nseries(snap, TLEVEL), 0);
    ck_assert_uint_eq(tu_nseries(snap, TLEVEL_THR), 0);
}
END_TEST


START_TEST(test_slow)
{
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"1000\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":1000.0}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"1000.5\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"1001\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"1e4\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"+2000\"}");
    take();
    ck_assert_uint_eq(tu_counter(snap, SLOW, "ecs", "DescribeInstances",
                                 "2014-05-26", "P0"), 3);
    ck_assert_uint_eq(tu_nseries(snap, SLOW), 1);
    ck_assert_uint_eq(tu_counter(snap, VERR, DURATION), 1);
}
END_TEST


START_TEST(test_histogram_boundaries)
{
    static const uint64_t  want[12] = { 3, 1, 0, 0, 0, 0, 0, 2, 0, 0, 1, 1 };

    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"5\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"0\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"-7\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"6\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"1000\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"999.5\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"10000\"}");
    feed("{" COMMON ",\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"TotalUsedTime\":\"10000.001\"}");
    take();
    check_hist("ecs", "cn-hangzhou", "cn-x", want,
               5.0 + 0 - 7 + 6 + 1000 + 999.5 + 10000 + 10000.001, __LINE__);
}
END_TEST


/* Tenants: per-uid series only for GC5-GC7 (series_ttl 1h); every other
 * level, and a uid in no row ("unknown"), folded into its gc_level.  Each
 * line counts in exactly one of the two request families. */
START_TEST(test_tenant_fold)
{
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"CallerUid\":\"42\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"429\",\"CallerUid\":\"42\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"CallerUid\":\"1098373503\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"CallerUid\":\"43\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"400\",\"CallerUid\":\"43\","
         "\"ErrorCode\":\"Throttling.User\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"429\",\"CallerUid\":\"44\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"CallerUid\":\"45\"}");
    take();
    ck_lines(7, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, TENANT, "42", "GC6"), 2);
    ck_assert_uint_eq(tu_counter(snap, THROTTLED, "42", "GC6"), 1);
    ck_assert_uint_eq(tu_counter(snap, TENANT, "1098373503", "GC5"), 1);
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 2);
    ck_assert_uint_eq(tu_nseries(snap, THROTTLED), 1);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "GC1"), 2);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL_THR, "GC1"), 1);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "unknown"), 2);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL_THR, "unknown"), 1);
    ck_assert_uint_eq(tu_nseries(snap, TLEVEL), 2);
    ck_assert_uint_eq(tu_nseries(snap, TLEVEL_THR), 2);
    ck_assert_uint_eq(tu_total(snap, TENANT) + tu_total(snap, TLEVEL), 7);
}
END_TEST


START_TEST(test_dims_misses)
{
    /* No LocalIp, an unknown uid, an unknown (product, api). */
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"CallerUid\":\"7\","
         "\"Api\":\"Nope\",\"Version\":\"v\"}");
    /* The key (product, api) is composite: "ecs" + "DescribeInstances". */
    feed("{\"Product\":\"ecsDescribe\",\"HttpCode\":\"200\","
         "\"Api\":\"Instances\",\"LocalIp\":\"11.197.1.9\"}");
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\","
         "\"Api\":\"DescribeInstances\",\"LocalIp\":\"11.197.1.1\"}");
    take();
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "ecs", "unknown", "", "2xx"),
                      1);
    /* uid 7 is in no row: level unknown, no per-uid series. */
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "unknown"), 3);
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 0);
    ck_assert_uint_eq(tu_counter(snap, API, "ecs", "Nope", "v", "unknown",
                                 "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, API, "ecsDescribe", "Instances", "",
                                 "unknown", "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "ecsDescribe", "unknown", "",
                                 "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, API, "ecs", "DescribeInstances", "",
                                 "P0", "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "ecs", "cn-huhehaote", "",
                                 "2xx"), 1);
}
END_TEST


START_TEST(test_invalid_reason)
{
    store_ingest_lock(store);
    pipeline_invalid(pl, "too_long");
    pipeline_invalid(pl, "too_long");
    pipeline_bytes(pl, 100);
    pipeline_bytes(pl, 23);
    store_ingest_unlock(store);
    take();
    ck_lines(0, 2, 0);
    ck_assert_uint_eq(tu_counter(snap, PERR, "too_long"), 2);
    ck_assert_uint_eq(tu_counter(snap, "gwlog_bytes_read_total"), 123);
    /* Pre-created at zero; no_match only for regex inputs. */
    ck_assert_uint_eq(tu_counter(snap, PERR, "too_deep"), 0);
    ck_assert_uint_eq(tu_counter(snap, PERR, "no_match"), TU_MISSING);
}
END_TEST


START_TEST(test_ext5)
{
    static const char  extra[] =
        "  - name: t_log_region_total\n"
        "    help: Test family labelled by log_region_id.\n"
        "    type: counter\n"
        "    labels: [log_region_id]\n";
    char     err[CFG_ERRLEN] = "", *yaml;
    FILE    *fp;
    size_t   n;
    cfg_t   *c;

    /* The default config plus one family that shows log_region_id. */
    pipeline_destroy(pl);
    pl = NULL;
    dims_destroy(dims);
    dims = NULL;
    store_destroy(store);
    store = NULL;
    config_free(cfg);
    cfg = NULL;
    fp = fopen(DEFAULT_CONFIG, "rb");
    ck_assert_ptr_nonnull(fp);
    yaml = malloc(65536 + sizeof(extra));
    n = fread(yaml, 1, 65536, fp);
    fclose(fp);
    ck_assert(n > 0 && n < 65536);
    if (yaml[n - 1] != '\n') {
        yaml[n++] = '\n';
    }
    memcpy(yaml + n, extra, sizeof(extra) - 1);
    n += sizeof(extra) - 1;
    c = config_load_string("default+ext.yml", yaml, n, err, sizeof(err));
    free(yaml);
    ck_assert_msg(c != NULL, "%s", err);
    start(c);

#define EXT(v) "{\"Product\":\"p\",\"HttpCode\":\"200\",\"Ext5\":" v "}"
    feed(EXT("\"{\\\"logRegionId\\\":\\\"cn-a\\\",\\\"x\\\":{}}\""));
    feed(EXT("{\"logRegionId\":\"cn-a\",\"y\":[1,2]}"));
    feed(EXT("{\"inner\":{\"logRegionId\":\"decoy\"},\"logRegionId\":\"cn-b\"}"));
    feed(EXT("\"{\\\"inner\\\":{\\\"logRegionId\\\":\\\"decoy\\\"}}\""));
    feed(EXT("\"not json\""));
    feed(EXT("\"{\\\"logRegionId\\\":\\\"cn-c\\\"\""));         /* truncated */
    feed(EXT("\"[\\\"logRegionId\\\"]\""));
    feed(EXT("{\"logRegionId\":14}"));
    feed(EXT("{\"logRegionId\":\"cn-\\u0064\"}"));
    feed(EXT("\"{\\\"logRegionId\\\":\\\"cn-\\\\u0065\\\"}\""));
    feed(EXT("[{\"logRegionId\":\"cn-z\"}]"));
#undef EXT
    take();
    ck_lines(11, 0, 0);
    ck_assert_uint_eq(tu_counter(snap, "t_log_region_total", "cn-a"), 2);
    ck_assert_uint_eq(tu_counter(snap, "t_log_region_total", "cn-b"), 1);
    ck_assert_uint_eq(tu_counter(snap, "t_log_region_total", "14"), 1);
    ck_assert_uint_eq(tu_counter(snap, "t_log_region_total", "cn-d"), 1);
    ck_assert_uint_eq(tu_counter(snap, "t_log_region_total", "cn-e"), 1);
    ck_assert_uint_eq(tu_counter(snap, "t_log_region_total", ""), 5);
    ck_assert_uint_eq(tu_nseries(snap, "t_log_region_total"), 6);
}
END_TEST


START_TEST(test_regex_input)
{
    static const char  yaml[] =
        "inputs:\n"
        "  - paths: [/nonexistent/app.log]\n"
        "    format: regex\n"
        "    regex: '(?<product>\\S+) (?<code>\\d+)(?: (?<ms>\\S+))?'\n"
        "fields:\n"
        "  product: {key: product}\n"
        "  http_code: {key: code}\n"
        "  ms: {key: ms}\n"
        "  code_class: {from: http_code, regex: '([0-9]).*',\n"
        "               replace: '${1}xx', default: unknown}\n"
        "required: [product]\n"
        "filters:\n"
        "  - name: health\n"
        "    drop: {field: product, equals: health}\n"
        "metrics:\n"
        "  - name: t_requests_total\n"
        "    help: Requests.\n"
        "    type: counter\n"
        "    labels: [product, code_class]\n"
        "  - name: t_latency_seconds\n"
        "    help: Latency.\n"
        "    type: histogram\n"
        "    labels: [product]\n"
        "    value: {field: ms, scale: 0.001}\n"
        "    buckets: [0.01, 0.1, 1]\n";
    char           err[CFG_ERRLEN] = "";
    cfg_t         *c;
    const uint64_t *b;
    double         sum;

    pipeline_destroy(pl);
    pl = NULL;
    dims_destroy(dims);
    dims = NULL;
    store_destroy(store);
    store = NULL;
    config_free(cfg);
    cfg = NULL;
    c = config_load_string("regex.yml", yaml, sizeof(yaml) - 1, err,
                           sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    start(c);

    feed("ecs 200 5");
    feed("ecs 503 120");
    feed("ecs 200");                    /* no ms: a value error */
    feed("ecs 200 abc");
    feed("health 200 1");
    feed("ecs abc 1");                  /* no match: code is \d+ */
    feed("ecs 200 5 extra");            /* anchored at the end */
    feed("");                           /* no match either */
    take();
    ck_lines(4, 3, 1);
    ck_assert_uint_eq(tu_counter(snap, PERR, "no_match"), 3);
    ck_assert_uint_eq(tu_counter(snap, FILTERED, "health"), 1);
    ck_assert_uint_eq(tu_counter(snap, "t_requests_total", "ecs", "2xx"), 3);
    ck_assert_uint_eq(tu_counter(snap, "t_requests_total", "ecs", "5xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, VERR, "t_latency_seconds"), 2);
    b = tu_hist(snap, &sum, "t_latency_seconds", "ecs");
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(b[0], 1);
    ck_assert_uint_eq(b[1], 0);
    ck_assert_uint_eq(b[2], 1);
    ck_assert_uint_eq(b[3], 0);
    ck_assert(sum == 125);
}
END_TEST


/* Limits */

START_TEST(test_long_and_deep)
{
    size_t  n = 300000, i, len;
    char   *line = malloc(n + 1000);

    /* A 300 KB value (larger than one scratch block, once escaped). */
    len = (size_t) sprintf(line, "{\"Product\":\"ecs\",\"HttpCode\":\"200\","
                           "\"CallerUid\":\"");
    for (i = 0; i < n; i += 2) {
        memcpy(line + len + i, "\\n", 2);
    }
    len += n;
    len += (size_t) sprintf(line + len, "\"}");
    feed_n(line, len);

    /* Nesting: 512 levels are fine, 513 are too deep. */
    len = (size_t) sprintf(line, "{\"Product\":\"ecs\",\"HttpCode\":\"200\","
                           "\"X\":");
    for (i = 0; i < 511; i++) {
        line[len++] = '[';
    }
    for (i = 0; i < 511; i++) {
        line[len++] = ']';
    }
    line[len++] = '}';
    feed_n(line, len);
    len = (size_t) sprintf(line, "{\"Product\":\"ecs\",\"HttpCode\":\"200\","
                           "\"X\":");
    for (i = 0; i < 512; i++) {
        line[len++] = '[';
    }
    for (i = 0; i < 512; i++) {
        line[len++] = ']';
    }
    line[len++] = '}';
    feed_n(line, len);
    free(line);

    take();
    ck_lines(2, 1, 0);
    ck_assert_uint_eq(tu_counter(snap, PERR, "too_deep"), 1);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "unknown"), 2);
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 0);
}
END_TEST


START_TEST(test_many_lines)
{
    char      line[256];
    size_t    i, n = 100000;
    uint64_t  sum = 0;

    for (i = 0; i < n; i++) {
        snprintf(line, sizeof(line),
                 "{\"Product\":\"p%zu\",\"HttpCode\":\"%d\","
                 "\"CallerUid\":\"u%zu\",\"TotalUsedTime\":\"%zu\"}",
                 i % 50, i % 3 == 0 ? 500 : 200, i % 1000, i % 2000);
        feed(line);
        sum += i % 2000;
    }
    take();
    ck_lines(n, 0, 0);
    ck_assert_uint_eq(tu_total(snap, PRODUCT), n);
    ck_assert_uint_eq(tu_nseries(snap, PRODUCT), 50 * 5);
    /* 1000 tenants in no user_level row: one series, their level. */
    ck_assert_uint_eq(tu_nseries(snap, TENANT), 0);
    ck_assert_uint_eq(tu_nseries(snap, TLEVEL), 1);
    ck_assert_uint_eq(tu_counter(snap, TLEVEL, "unknown"), n);
    ck_assert_uint_eq(tu_total(snap, ERRCODE), (n + 2) / 3);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "p7", "unknown", "", "5xx"),
                      /* i = 7 + 50k, i % 3 == 0 */ 667);
    {
        long      fi = tu_family(snap, DURATION);
        double    raw, total = 0;
        size_t    j;

        for (j = 0; j < store_snap_family(snap, (size_t) fi)->nseries; j++) {
            store_snap_buckets(snap, (size_t) fi, j, &raw);
            total += raw;
        }
        ck_assert(total == (double) sum);
    }
}
END_TEST


START_TEST(test_dims_invalid_utf8)
{
    /* Label values from a table are label values too: invalid UTF-8 in
     * the CSV must not reach the exposition (tests/reference.py reads the
     * CSVs with errors="replace"). */
    tu_write_str(dir, "gateway_cluster.csv",
                 "local_ip,app_group,region_id\n"
                 "11.197.1.7,grp,cn-\xFF\n");
    dims_reload_if_changed(dims);
    feed("{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"LocalIp\":\"11.197.1.7\"}");
    take();
    /* The row was loaded (the node is known)... */
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "ecs", "unknown", "", "2xx"),
                      TU_MISSING);
    ck_assert_uint_eq(tu_total(snap, PRODUCT), 1);
    /* ...and its value is repaired. */
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "ecs", "cn-" FFFD, "", "2xx"),
                      1);
}
END_TEST


Suite *
pipeline_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("pipeline");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_seed_line);
    tcase_add_test(tc, test_warmup_filtered);
    tcase_add_test(tc, test_missing_field);
    tcase_add_test(tc, test_invalid_json);
    tcase_add_test(tc, test_truncated_and_crlf);
    tcase_add_test(tc, test_numbers_for_strings);
    tcase_add_test(tc, test_code_class);
    tcase_add_test(tc, test_field_values);
    tcase_add_test(tc, test_biz_region);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_value_errors);
    tcase_add_test(tc, test_throttling);
    tcase_add_test(tc, test_slow);
    tcase_add_test(tc, test_histogram_boundaries);
    tcase_add_test(tc, test_tenant_fold);
    tcase_add_test(tc, test_dims_misses);
    tcase_add_test(tc, test_invalid_reason);
    tcase_add_test(tc, test_ext5);
    tcase_add_test(tc, test_regex_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_long_and_deep);
    tcase_add_test(tc, test_many_lines);
    tcase_add_test(tc, test_dims_invalid_utf8);
    suite_add_tcase(s, tc);

    return s;
}
