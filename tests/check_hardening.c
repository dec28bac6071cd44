/* check_hardening.c - Unit tests for issue 7's hostile-input work:
 * max_label_bytes (utf8_cut() and the pipeline's cut and counter), the
 * PCRE2 interpreter against the JIT (forced by a test hook, and by the
 * kernel's W^X switch PR_SET_MDWE as systemd's MemoryDenyWriteExecute
 * sets it), and regressions for what the fuzzers (tests/fuzz/) found. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <check.h>

#include "config/config.h"
#include "config/default.h"
#include "exporter/pipeline.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "lib/log.h"
#include "parsers/regex.h"
#include "parsers/utf8.h"
#include "tests/testutil.h"


/* Test hook of parsers/regex.c, not in regex.h. */
extern int regex__jit;


/* Macros */

#define PRODUCT     "gw_product_requests_total"
#define TENANT      "gw_tenant_requests_total"
#define CUT         "gwlog_label_values_truncated_total"

#define COMMON \
    "\"Api\":\"DescribeInstances\",\"Version\":\"2014-05-26\"," \
    "\"CallerUid\":\"42\",\"LocalIp\":\"11.197.1.2\"," \
    "\"Domain\":\"ecs.aliyuncs.com\",\"RequestContent\":\"RegionId=cn-x\"," \
    "\"HttpCode\":\"200\",\"TotalUsedTime\":\"5\""

/* PR_SET_MDWE is Linux 6.3+; Debian 12's headers predate it. */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE                 65
#define PR_MDWE_REFUSE_EXEC_GAIN    1
#endif


/* utf8_cut() */

START_TEST(test_cut_ascii)
{
    ck_assert_uint_eq(utf8_cut("abcdef", 6, 6), 6);
    ck_assert_uint_eq(utf8_cut("abcdef", 6, 10), 6);
    ck_assert_uint_eq(utf8_cut("abcdef", 6, 4), 4);
    ck_assert_uint_eq(utf8_cut("abcdef", 6, 0), 0);
}
END_TEST


START_TEST(test_cut_multibyte)
{
    /* "a" U+00E9 (2) U+20AC (3) U+1F600 (4) "b": offsets 0 1 3 6 10. */
    static const char  s[] = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "b";
    static const size_t  want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11 };
    size_t             max;

    for (max = 0; max <= 11; max++) {
        ck_assert_msg(utf8_cut(s, 11, max) == want[max],
                      "max %zu: %zu, want %zu", max, utf8_cut(s, 11, max),
                      want[max]);
        ck_assert_uint_eq(utf8_valid_prefix(s, want[max]), want[max]);
    }
}
END_TEST


START_TEST(test_cut_ill_formed)
{
    /* Only continuation bytes: no boundary within 3 bytes, cut at max. */
    ck_assert_uint_eq(utf8_cut("\x80\x80\x80\x80\x80\x80", 6, 5), 5);
    ck_assert_uint_eq(utf8_cut("\x80\x80\x80", 3, 1), 1);
}
END_TEST


/* max_label_bytes in the config and the pipeline. */

static store_t      *store;
static dims_t       *dims;
static pipeline_t   *pl;
static cfg_t        *cfg;
static store_snap_t *snap;


/* The default config with extra top-level YAML appended. */
static cfg_t *
load_default(const char *extra, char *err, size_t errlen)
{
    size_t   n = (size_t) (config_default_yaml_end - config_default_yaml);
    size_t   m = strlen(extra);
    char    *yaml = malloc(n + m + 2);
    cfg_t   *c;

    ck_assert_ptr_nonnull(yaml);
    memcpy(yaml, config_default_yaml, n);
    yaml[n] = '\n';
    memcpy(yaml + n + 1, extra, m + 1);
    c = config_load_string("test.yml", yaml, n + m + 1, err, errlen);
    free(yaml);
    return c;
}


static void
start(const char *extra)
{
    char  err[CFG_ERRLEN] = "";

    log_set_level((log_level_t) (LOG_ERROR + 1));
    cfg = load_default(extra, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    store = store_create();
    dims = dims_create(cfg, NULL);
    ck_assert_ptr_nonnull(store);
    ck_assert_ptr_nonnull(dims);
    pl = pipeline_create(cfg, store, dims, err, sizeof(err));
    ck_assert_msg(pl != NULL, "%s", err);
}


static void
stop(void)
{
    store_snap_free(snap);
    snap = NULL;
    pipeline_destroy(pl);
    dims_destroy(dims);
    store_destroy(store);
    config_free(cfg);
}


static void
feed(const char *line)
{
    store_ingest_lock(store);
    pipeline_line(pl, 0, line, strlen(line));
    store_ingest_unlock(store);
}


static void
take(void)
{
    store_snap_free(snap);
    snap = store_snapshot(store);
    ck_assert_ptr_nonnull(snap);
}


START_TEST(test_config_default)
{
    char    err[CFG_ERRLEN] = "";
    cfg_t  *c;

    c = load_default("", err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->max_label_bytes, CFG_DEFAULT_MAX_LABEL_BYTES);
    ck_assert_uint_eq(c->max_label_bytes, 1024);
    config_free(c);

    c = load_default("max_label_bytes: 64\n", err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->max_label_bytes, 64);
    config_free(c);

    c = load_default("max_label_bytes: 0\n", err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "max_label_bytes") != NULL, "%s", err);
    c = load_default("max_label_bytes: -3\n", err, sizeof(err));
    ck_assert_ptr_null(c);
}
END_TEST


START_TEST(test_pipeline_cut)
{
    start("max_label_bytes: 16\n");
    /* Two products that differ only after byte 16 fold into one series. */
    feed("{" COMMON ",\"Product\":\"abcdefghijklmnop-one\"}");
    feed("{" COMMON ",\"Product\":\"abcdefghijklmnop-two\"}");
    /* Exactly 16 bytes: kept whole, not counted. */
    feed("{" COMMON ",\"Product\":\"0123456789abcdef\"}");
    /* 15 ASCII bytes then U+20AC: cut before the euro sign. */
    feed("{" COMMON ",\"Product\":\"0123456789abcde\\u20acxyz\"}");
    take();

    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "abcdefghijklmnop",
                                 "unknown", "cn-x", "2xx"), 2);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "0123456789abcdef",
                                 "unknown", "cn-x", "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, "0123456789abcde",
                                 "unknown", "cn-x", "2xx"), 1);
    /* One per cut value: the product of lines 1, 2 and 4; the API family
     * also cuts "DescribeInstances" (17 bytes) on every line. */
    ck_assert_uint_eq(tu_counter(snap, CUT, PRODUCT), 3);
    ck_assert_uint_eq(tu_counter(snap, CUT, "gw_api_requests_total"), 3 + 4);
    /* Pre-created at 0 for every family. */
    ck_assert_uint_eq(tu_counter(snap, CUT, TENANT), 0);
    ck_assert_uint_eq(tu_counter(snap, "gwlog_lines_total", "ok"), 4);
    stop();
}
END_TEST


START_TEST(test_pipeline_default_limit)
{
    char    line[4096];
    char    big[2001];

    start("");
    memset(big, 'x', 2000);
    big[2000] = '\0';
    snprintf(line, sizeof(line), "{" COMMON ",\"Product\":\"%s\"}", big);
    feed(line);
    big[1024] = '\0';
    take();
    ck_assert_uint_eq(tu_counter(snap, PRODUCT, big, "unknown", "cn-x",
                                 "2xx"), 1);
    ck_assert_uint_eq(tu_counter(snap, CUT, PRODUCT), 1);
    stop();
}
END_TEST


/* PCRE2: the interpreter must match exactly as the JIT does. */

static const char *const patterns[] = {
    "(?<method>[A-Z]+) (?<path>/[^ ?]*)(\\?(?<q>\\S*))? HTTP/(?<v>[\\d.]+)",
    "([0-9]{3})",
    "(?:(a+)|(b+))*c",
    "(\\w+)@(\\w+)\\.(com|org)",
    "((?:[^;]*;)*?)Region=(?<r>[^;]*)(.*)",
    ".*(?=x)x+",
    "(\\p{L}+)\\s*(\\d*)",
};

static const char *const subjects[] = {
    "GET /a/b?x=1 HTTP/1.1", "POST / HTTP/2", "get / HTTP/1.1", "200", "2000",
    "aaabbbc", "ababab", "c", "bob@example.com", "x@y.org", "a;b;Region=cn;z",
    "Region=", "xxx", "", "\xC3\xA9t\xC3\xA9 42", "abc 7",
};

static const char *const templates[] = {
    "$1", "${1}-${2}", "${method}:${path}", "$$1", "${r}$3", "$0", "x$9$",
};


/* Writes every match result (rc, ovector, expansions) to out. */
static size_t
run_all(char *out, size_t cap)
{
    char               err[256], exp[512];
    pcre2_code        *re;
    pcre2_match_data  *md;
    PCRE2_SIZE        *ov;
    size_t             n = 0, i, j, t;
    long               len;
    int                rc, g;

    for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        re = regex_compile(patterns[i], 1, err, sizeof(err));
        ck_assert_msg(re != NULL, "%s", err);
        md = pcre2_match_data_create_from_pattern(re, NULL);
        for (j = 0; j < sizeof(subjects) / sizeof(subjects[0]); j++) {
            strv_t  s = { subjects[j], strlen(subjects[j]) };

            rc = regex_match(re, s, md);
            n += (size_t) snprintf(out + n, cap - n, "%zu/%zu:%d", i, j, rc);
            ov = pcre2_get_ovector_pointer(md);
            for (g = 0; rc > 0 && g < rc; g++) {
                n += (size_t) snprintf(out + n, cap - n, " %ld-%ld",
                                       (long) ov[2 * g], (long) ov[2 * g + 1]);
            }
            for (t = 0; rc > 0 && t < sizeof(templates) / sizeof(templates[0]);
                 t++)
            {
                len = regex_expand(re, s, md, templates[t], exp, sizeof(exp));
                n += (size_t) snprintf(out + n, cap - n, " [%.*s]",
                                       (int) (len < 0 ? 0 : len), exp);
            }
            n += (size_t) snprintf(out + n, cap - n, "\n");
            ck_assert_uint_lt(n, cap);
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
    return n;
}


/* 1 when regex_compile() left pattern JIT-compiled. */
static int
jit_used(void)
{
    char         err[256];
    pcre2_code  *re = regex_compile("a(b+)c", 1, err, sizeof(err));
    size_t       size = 0;

    ck_assert_ptr_nonnull(re);
    (void) pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &size);
    pcre2_code_free(re);
    return size > 0;
}


START_TEST(test_jit_vs_interpreter)
{
    static char  a[64 * 1024], b[64 * 1024];
    size_t       na, nb;

    regex__jit = 1;
    ck_assert_int_eq(jit_used(), 1);
    na = run_all(a, sizeof(a));
    regex__jit = 0;
    ck_assert_int_eq(jit_used(), 0);
    nb = run_all(b, sizeof(b));
    regex__jit = 1;
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(a, b, na) == 0, "JIT:\n%s\ninterpreter:\n%s", a, b);
    ck_assert_ptr_nonnull(strstr(a, "0/0:6 0-21 0-3 4-8 8-12 9-12 18-21 "
                                 "[GET] [GET-/a/b] [GET:/a/b] [$1] [?x=1]"));
    ck_assert_ptr_nonnull(strstr(a, "\n1/3:2 0-3 0-3 [200]"));
}
END_TEST


/* Under W^X (PR_SET_MDWE, what MemoryDenyWriteExecute=yes enforces on
 * recent kernels) pcre2_jit_compile() fails; regex_compile() must still
 * return a pattern that matches as the JIT did.  Runs in a child, since
 * the switch cannot be turned off again. */
START_TEST(test_jit_refused_by_wx)
{
    static char  a[64 * 1024], b[64 * 1024];
    size_t       na, nb;
    pid_t        pid;
    int          status;

    regex__jit = 1;
    na = run_all(a, sizeof(a));
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0) {
            _exit(errno == EINVAL ? 3 : 4);     /* kernel without MDWE */
        }
        /* Executable memory the JIT allocator kept from the parent's
         * patterns would still be usable: a process started under W^X
         * has none. */
        pcre2_jit_free_unused_memory(NULL);
        if (jit_used()) {
            _exit(5);
        }
        nb = run_all(b, sizeof(b));
        _exit(nb == na && memcmp(a, b, na) == 0 ? 0 : 6);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3) {
        fprintf(stderr, "check_hardening: PR_SET_MDWE not supported, "
                "W^X case skipped\n");
        return;
    }
    ck_assert_msg(WEXITSTATUS(status) == 0, "child exit %d (5: JIT worked "
                  "under W^X, 6: results differ)", WEXITSTATUS(status));
}
END_TEST


Suite *
hardening_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("hardening");

    tc = tcase_create("utf8_cut");
    tcase_add_test(tc, test_cut_ascii);
    tcase_add_test(tc, test_cut_multibyte);
    tcase_add_test(tc, test_cut_ill_formed);
    suite_add_tcase(s, tc);

    tc = tcase_create("max_label_bytes");
    tcase_add_test(tc, test_config_default);
    tcase_add_test(tc, test_pipeline_cut);
    tcase_add_test(tc, test_pipeline_default_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("jit");
    tcase_add_test(tc, test_jit_vs_interpreter);
    tcase_add_test(tc, test_jit_refused_by_wx);
    suite_add_tcase(s, tc);

    tc = tcase_create("fuzz_regressions");
    suite_add_tcase(s, tc);
    return s;
}
