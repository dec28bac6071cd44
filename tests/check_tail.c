/* check_tail.c - Unit tests for exporter/tail.c in --one-shot mode: line
 * splitting, the last line without a newline, CRLF, too long lines, globs
 * and missing paths. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <check.h>

#include "config/config.h"
#include "exporter/pipeline.h"
#include "exporter/tail.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "lib/log.h"
#include "tests/testutil.h"


/* Macros */

#define LINES   "gwlog_lines_total"
#define PERR    "gwlog_parse_errors_total"
#define BYTES   "gwlog_bytes_read_total"
#define T       "t_total"


/* Helpers */

static char          *dir;
static cfg_t         *cfg;
static store_t       *store;
static dims_t        *dims;
static pipeline_t    *pl;
static tail_t        *tail;
static store_snap_t  *snap;


static void
setup(void)
{
    log_set_level((log_level_t) (LOG_ERROR + 1));
    dir = tu_mkdtemp();
    cfg = NULL;
    store = NULL;
    dims = NULL;
    pl = NULL;
    tail = NULL;
    snap = NULL;
}


static void
teardown(void)
{
    store_snap_free(snap);
    tail_destroy(tail);
    pipeline_destroy(pl);
    dims_destroy(dims);
    store_destroy(store);
    config_free(cfg);
    tu_rmdir(dir);
    dir = NULL;
}


/* Loads a config whose only input has the given paths (a YAML flow list
 * body, "%s" standing for the temporary directory), counting lines per
 * Product; then builds everything and runs one pass.  Returns what
 * tail_one_shot() returned. */
static int
run(const char *paths_fmt, size_t max_line_bytes)
{
    char    paths[1024], yaml[4096], err[CFG_ERRLEN] = "";
    int     rc;

    snprintf(paths, sizeof(paths), paths_fmt, dir, dir, dir);
    snprintf(yaml, sizeof(yaml),
             "inputs:\n"
             "  - paths: [%s]\n"
             "    format: json\n"
             "max_line_bytes: %zu\n"
             "fields:\n"
             "  product: {key: Product}\n"
             "required: [product]\n"
             "metrics:\n"
             "  - name: t_total\n"
             "    help: Lines per product.\n"
             "    type: counter\n"
             "    labels: [product]\n",
             paths, max_line_bytes);
    cfg = config_load_string("tail.yml", yaml, strlen(yaml), err,
                             sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_uint_eq(cfg->max_line_bytes, max_line_bytes);
    store = store_create();
    dims = dims_create(cfg, NULL);
    ck_assert_ptr_nonnull(dims);
    pl = pipeline_create(cfg, store, dims, err, sizeof(err));
    ck_assert_msg(pl != NULL, "%s", err);
    tail = tail_create(cfg, pl, store, dims, NULL);
    ck_assert_ptr_nonnull(tail);
    rc = tail_one_shot(tail);
    snap = store_snapshot(store);
    ck_assert_ptr_nonnull(snap);
    return rc;
}


static void
check_lines(uint64_t ok, uint64_t invalid, int line)
{
    uint64_t  a = tu_counter(snap, LINES, "ok");
    uint64_t  b = tu_counter(snap, LINES, "invalid");

    ck_assert_msg(a == ok && b == invalid,
                  "line %d: ok/invalid = %llu/%llu, want %llu/%llu", line,
                  (unsigned long long) a, (unsigned long long) b,
                  (unsigned long long) ok, (unsigned long long) invalid);
}

#define ck_lines(ok, invalid)  check_lines((ok), (invalid), __LINE__)


/* A valid line {"Product":"p","Pad":"xxx"} of exactly len bytes
 * (len >= 26), without its newline, into buf. */
static void
line_of(char *buf, size_t len, const char *p)
{
    size_t  n = (size_t) sprintf(buf, "{\"Product\":\"%s\",\"Pad\":\"", p);

    ck_assert(len >= n + 2);
    memset(buf + n, 'x', len - n - 2);
    memcpy(buf + len - 2, "\"}", 2);
    buf[len] = '\0';
}


/* Core */

START_TEST(test_split)
{
    static const char  data[] =
        "{\"Product\":\"a\"}\n"
        "{\"Product\":\"b\"}\n"
        "\n"
        "{\"Product\":\"a\"}\n"
        "not json\n"
        "{\"Product\":\"c\"}";             /* last line, no newline */

    tu_write(dir, "a.log", data, sizeof(data) - 1);
    ck_assert_int_eq(run("\"%s/a.log\"", 1024), 0);
    ck_lines(4, 2);
    ck_assert_uint_eq(tu_counter(snap, T, "a"), 2);
    ck_assert_uint_eq(tu_counter(snap, T, "b"), 1);
    ck_assert_uint_eq(tu_counter(snap, T, "c"), 1);
    ck_assert_uint_eq(tu_counter(snap, PERR, "empty"), 1);
    ck_assert_uint_eq(tu_counter(snap, PERR, "syntax"), 1);
    ck_assert_uint_eq(tu_counter(snap, BYTES), sizeof(data) - 1);
}
END_TEST


START_TEST(test_trailing_newline)
{
    static const char  data[] = "{\"Product\":\"a\"}\n{\"Product\":\"b\"}\n";

    /* A final newline does not make an extra empty line. */
    tu_write(dir, "a.log", data, sizeof(data) - 1);
    ck_assert_int_eq(run("\"%s/a.log\"", 1024), 0);
    ck_lines(2, 0);
    ck_assert_uint_eq(tu_counter(snap, PERR, "empty"), 0);
}
END_TEST


START_TEST(test_empty_files)
{
    tu_write(dir, "a.log", "", 0);
    tu_write(dir, "b.log", "\n\n", 2);
    ck_assert_int_eq(run("\"%s/a.log\", \"%s/b.log\"", 1024), 0);
    ck_lines(0, 2);
    ck_assert_uint_eq(tu_counter(snap, PERR, "empty"), 2);
    ck_assert_uint_eq(tu_counter(snap, BYTES), 2);
}
END_TEST


START_TEST(test_crlf)
{
    static const char  data[] =
        "{\"Product\":\"a\"}\r\n"
        "{\"Product\":\"b\"}\r\n"
        "\r\n"
        "{\"Product\":\"a\"}\r";

    tu_write(dir, "a.log", data, sizeof(data) - 1);
    ck_assert_int_eq(run("\"%s/a.log\"", 1024), 0);
    ck_lines(3, 1);
    ck_assert_uint_eq(tu_counter(snap, T, "a"), 2);
    ck_assert_uint_eq(tu_counter(snap, T, "b"), 1);
    ck_assert_uint_eq(tu_counter(snap, PERR, "empty"), 1);
}
END_TEST


START_TEST(test_glob)
{
    tu_write_str(dir, "a.log", "{\"Product\":\"a\"}\n");
    tu_write_str(dir, "b.log", "{\"Product\":\"b\"}\n{\"Product\":\"b\"}");
    tu_write_str(dir, "c.txt", "{\"Product\":\"c\"}\n");
    /* a.log matched twice is read once. */
    ck_assert_int_eq(run("\"%s/*.log\", \"%s/a.log\", \"%s/nomatch*.log\"",
                         1024), 0);
    ck_lines(3, 0);
    ck_assert_uint_eq(tu_counter(snap, T, "a"), 1);
    ck_assert_uint_eq(tu_counter(snap, T, "b"), 2);
    ck_assert_uint_eq(tu_counter(snap, T, "c"), TU_MISSING);
}
END_TEST


START_TEST(test_missing_path)
{
    tu_write_str(dir, "a.log", "{\"Product\":\"a\"}\n");
    /* A literal path that does not exist fails the run; the others are
     * still read. */
    ck_assert_int_eq(run("\"%s/missing.log\", \"%s/a.log\"", 1024), -1);
    ck_lines(1, 0);
    ck_assert_uint_eq(tu_counter(snap, T, "a"), 1);
}
END_TEST


START_TEST(test_glob_no_match)
{
    /* A glob that matches nothing is not an error. */
    ck_assert_int_eq(run("\"%s/*.log\"", 1024), 0);
    ck_lines(0, 0);
}
END_TEST


/* Limits */

START_TEST(test_too_long)
{
    size_t  big = 1024 * 1024 + 7, len = 0;
    char   *data = malloc(big + 1024);

    line_of(data, 30, "a");                         /* short */
    len = 30;
    data[len++] = '\n';
    line_of(data + len, 100, "b");                  /* exactly the limit */
    len += 100;
    data[len++] = '\n';
    line_of(data + len, 101, "c");                  /* one byte over */
    len += 101;
    data[len++] = '\n';
    memset(data + len, 'x', big);                   /* 1 MB, across reads */
    len += big;
    data[len++] = '\n';
    line_of(data + len, 40, "d");
    len += 40;
    data[len++] = '\n';
    memset(data + len, 'y', 150);                   /* last, too long */
    len += 150;
    tu_write(dir, "a.log", data, len);
    free(data);

    ck_assert_int_eq(run("\"%s/a.log\"", 100), 0);
    ck_lines(3, 3);
    ck_assert_uint_eq(tu_counter(snap, PERR, "too_long"), 3);
    ck_assert_uint_eq(tu_counter(snap, T, "a"), 1);
    ck_assert_uint_eq(tu_counter(snap, T, "b"), 1);
    ck_assert_uint_eq(tu_counter(snap, T, "c"), TU_MISSING);
    ck_assert_uint_eq(tu_counter(snap, T, "d"), 1);
    ck_assert_uint_eq(tu_counter(snap, BYTES), len);
}
END_TEST


START_TEST(test_chunk_boundaries)
{
    size_t   n = 60000, i, len = 0, width;
    char    *data = malloc(n * 64), name[16];
    uint64_t want[7] = { 0 };

    /* Lines of varying length, more than one 1 MiB read: lines cross the
     * read boundaries. */
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "p%zu", i % 7);
        width = 30 + (i * 7919) % 31;
        line_of(data + len, width, name);
        len += width;
        data[len++] = '\n';
        want[i % 7]++;
    }
    tu_write(dir, "a.log", data, len);
    free(data);
    ck_assert(len > 2 * 1024 * 1024);

    ck_assert_int_eq(run("\"%s/a.log\"", 100), 0);
    ck_lines(n, 0);
    for (i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "p%zu", i);
        ck_assert_uint_eq(tu_counter(snap, T, name), want[i]);
    }
    ck_assert_uint_eq(tu_counter(snap, BYTES), len);
}
END_TEST


START_TEST(test_glob_skips_directories)
{
    char  *sub = tu_path(dir, "sub.log");

    /* The live tailer only follows regular files; --one-shot must not
     * fail because a glob also matched a directory. */
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    free(sub);
    tu_write_str(dir, "a.log", "{\"Product\":\"a\"}\n");
    ck_assert_int_eq(run("\"%s/*.log\"", 1024), 0);
    ck_lines(1, 0);
}
END_TEST


Suite *
tail_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("tail");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_trailing_newline);
    tcase_add_test(tc, test_empty_files);
    tcase_add_test(tc, test_crlf);
    tcase_add_test(tc, test_glob);
    tcase_add_test(tc, test_missing_path);
    tcase_add_test(tc, test_glob_no_match);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_too_long);
    tcase_add_test(tc, test_chunk_boundaries);
    tcase_add_test(tc, test_glob_skips_directories);
    suite_add_tcase(s, tc);

    return s;
}
