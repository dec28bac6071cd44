/* check_log.c - Unit tests for lib/log.c: level names, the logfmt
 * line format and its escapes, and filtering by level. */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <check.h>

#include "lib/log.h"


/* Macros */

#define PREFIX_LEN  (sizeof("ts=2026-11-20T22:00:00.000Z") - 1)


/* Helpers */

static int  saved_stderr = -1;
static int  capture_fd = -1;


/* Sends stderr to a fresh temporary file until capture_end(). */
static void
capture_begin(void)
{
    char  path[] = "/tmp/gwlog_check_log_XXXXXX";

    capture_fd = mkstemp(path);
    ck_assert_int_ge(capture_fd, 0);
    ck_assert_int_eq(unlink(path), 0);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(saved_stderr, 0);
    ck_assert_int_ge(dup2(capture_fd, STDERR_FILENO), 0);
}


/* Restores stderr and returns what was written to it (free() it). */
static char *
capture_end(size_t *len)
{
    char   *out;
    off_t   size;

    fflush(stderr);
    ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
    close(saved_stderr);
    saved_stderr = -1;
    size = lseek(capture_fd, 0, SEEK_END);
    ck_assert_int_ge(size, 0);
    out = malloc((size_t) size + 1);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(pread(capture_fd, out, (size_t) size, 0), size);
    out[size] = '\0';
    close(capture_fd);
    capture_fd = -1;
    *len = (size_t) size;
    return out;
}


static int
digits(const char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return 1;
}


/* Checks "ts=YYYY-MM-DDTHH:MM:SS.mmmZ" at line and that the time lies
 * between before and after (seconds, inclusive). */
static void
check_ts(const char *line, time_t before, time_t after)
{
    struct tm  tm;
    time_t     t;

    ck_assert_msg(strncmp(line, "ts=", 3) == 0, "no ts= in \"%s\"", line);
    ck_assert_msg(digits(line + 3, 4) && line[7] == '-'
                  && digits(line + 8, 2) && line[10] == '-'
                  && digits(line + 11, 2) && line[13] == 'T'
                  && digits(line + 14, 2) && line[16] == ':'
                  && digits(line + 17, 2) && line[19] == ':'
                  && digits(line + 20, 2) && line[22] == '.'
                  && digits(line + 23, 3) && line[26] == 'Z',
                  "bad timestamp in \"%s\"", line);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = atoi(line + 3) - 1900;
    tm.tm_mon = atoi(line + 8) - 1;
    tm.tm_mday = atoi(line + 11);
    tm.tm_hour = atoi(line + 14);
    tm.tm_min = atoi(line + 17);
    tm.tm_sec = atoi(line + 20);
    t = timegm(&tm);
    ck_assert_msg(t >= before && t <= after,
                  "timestamp %.27s not UTC now (%ld..%ld)", line,
                  (long) before, (long) after);
}


/* Logs one message at level with the logger at min, and asserts the
 * output is exactly one line "ts=... level=name msg=\"want\"\n". */
static void
check_line(log_level_t min, log_level_t level, const char *name,
    const char *msg, const char *want)
{
    char    *out, expect[2048];
    size_t   len;
    time_t   before, after;

    log_set_level(min);
    before = time(NULL);
    capture_begin();
    log_msg(level, "%s", msg);
    out = capture_end(&len);
    after = time(NULL);
    log_set_level(LOG_INFO);

    snprintf(expect, sizeof(expect), " level=%s msg=\"%s\"\n", name, want);
    ck_assert_msg(len > PREFIX_LEN, "no output for \"%s\"", msg);
    check_ts(out, before, after);
    ck_assert_msg(strcmp(out + PREFIX_LEN, expect) == 0,
                  "got \"%s\", want \"...%s\"", out, expect);
    ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
    free(out);
}


/* Core */

START_TEST(test_level_parse)
{
    ck_assert_int_eq(log_level_parse("debug"), LOG_DEBUG);
    ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
    ck_assert_int_eq(log_level_parse("warn"), LOG_WARN);
    ck_assert_int_eq(log_level_parse("error"), LOG_ERROR);
    ck_assert_int_eq(log_level_parse("trace"), -1);
    ck_assert_int_eq(log_level_parse(""), -1);
    ck_assert_int_eq(log_level_parse("warning"), -1);
    ck_assert_int_eq(log_level_parse("inf"), -1);
    ck_assert_int_eq(log_level_parse("info "), -1);
}
END_TEST


START_TEST(test_line_format)
{
    check_line(LOG_INFO, LOG_INFO, "info", "listening on :9144",
               "listening on :9144");
}
END_TEST


START_TEST(test_every_level_name)
{
    check_line(LOG_DEBUG, LOG_DEBUG, "debug", "d", "d");
    check_line(LOG_DEBUG, LOG_INFO, "info", "i", "i");
    check_line(LOG_DEBUG, LOG_WARN, "warn", "w", "w");
    check_line(LOG_DEBUG, LOG_ERROR, "error", "e", "e");
}
END_TEST


START_TEST(test_escapes)
{
    check_line(LOG_INFO, LOG_INFO, "info", "a \"quoted\" word",
               "a \\\"quoted\\\" word");
    check_line(LOG_INFO, LOG_INFO, "info", "C:\\path\\x",
               "C:\\\\path\\\\x");
    check_line(LOG_INFO, LOG_INFO, "info", "two\nlines\n",
               "two\\nlines\\n");
    check_line(LOG_INFO, LOG_INFO, "info", "\\\"\n", "\\\\\\\"\\n");
    check_line(LOG_INFO, LOG_INFO, "info", "", "");
}
END_TEST


START_TEST(test_printf_format)
{
    char    *out;
    size_t   len;

    log_set_level(LOG_INFO);
    capture_begin();
    log_warn("file %s: %d errors (%.1f%%)", "a.log", 3, 12.5);
    out = capture_end(&len);
    ck_assert_uint_gt(len, PREFIX_LEN);
    ck_assert_str_eq(out + PREFIX_LEN,
                     " level=warn msg=\"file a.log: 3 errors (12.5%)\"\n");
    free(out);
}
END_TEST


START_TEST(test_below_level)
{
    char    *out;
    size_t   len;

    capture_begin();
    log_set_level(LOG_INFO);
    log_debug("hidden %d", 1);
    log_set_level(LOG_WARN);
    log_debug("hidden %d", 2);
    log_info("hidden %d", 3);
    log_set_level(LOG_ERROR);
    log_warn("hidden %d", 4);
    out = capture_end(&len);
    log_set_level(LOG_INFO);
    ck_assert_msg(len == 0, "unexpected output \"%s\"", out);
    free(out);
}
END_TEST


START_TEST(test_at_and_above_level)
{
    char        *out, *p;
    size_t       len, lines = 0;

    capture_begin();
    log_set_level(LOG_WARN);
    log_info("no");
    log_warn("yes 1");
    log_error("yes 2");
    out = capture_end(&len);
    log_set_level(LOG_INFO);
    for (p = out; (p = strchr(p, '\n')) != NULL; p++) {
        lines++;
    }
    ck_assert_uint_eq(lines, 2);
    ck_assert_ptr_nonnull(strstr(out, " level=warn msg=\"yes 1\"\n"));
    ck_assert_ptr_nonnull(strstr(out, " level=error msg=\"yes 2\"\n"));
    ck_assert_ptr_null(strstr(out, "\"no\""));
    free(out);
}
END_TEST


START_TEST(test_kv_logfmt)
{
    char    *out;
    size_t   len;

    log_set_level(LOG_INFO);
    capture_begin();
    log_info_kv("table loaded", LOG_STR("path", "/d/t.csv"),
                LOG_U64("rows", 12), LOG_I64("delta", -3),
                LOG_F64("seconds", 0.25), LOG_STR("err", "No such file"),
                LOG_STR("empty", ""), LOG_STR("q", "a=\"b\"\n"),
                LOG_STR("null", NULL), LOG_F64("inf", 1.0 / 0.0));
    out = capture_end(&len);
    ck_assert_uint_gt(len, PREFIX_LEN);
    ck_assert_str_eq(out + PREFIX_LEN,
                     " level=info msg=\"table loaded\" path=/d/t.csv rows=12"
                     " delta=-3 seconds=0.25 err=\"No such file\" empty=\"\""
                     " q=\"a=\\\"b\\\"\\n\" null=\"\" inf=+Inf\n");
    free(out);
}
END_TEST


START_TEST(test_kv_json)
{
    char    *out;
    size_t   len;

    log_set_level(LOG_INFO);
    log_set_format(LOG_JSON);
    capture_begin();
    log_warn_kv("a \"b\"", LOG_STR("path", "/x y\t\x01"),
                LOG_U64("rows", 18446744073709551615ULL),
                LOG_F64("ratio", 0.1), LOG_F64("nan", 0.0 / 0.0));
    log_error("plain %d", 7);
    out = capture_end(&len);
    log_set_format(LOG_LOGFMT);
    ck_assert_msg(strncmp(out, "{\"ts\":\"", 7) == 0, "got %s", out);
    ck_assert_ptr_nonnull(strstr(out,
        "\",\"level\":\"warn\",\"msg\":\"a \\\"b\\\"\","
        "\"path\":\"/x y\\t\\u0001\",\"rows\":18446744073709551615,"
        "\"ratio\":0.1,\"nan\":\"NaN\"}\n{\"ts\":\""));
    ck_assert_ptr_nonnull(strstr(out,
        "\",\"level\":\"error\",\"msg\":\"plain 7\"}\n"));
    ck_assert_ptr_eq(out + len - 1, strrchr(out, '\n'));
    free(out);
}
END_TEST


START_TEST(test_format_parse_and_signals)
{
    char  buf[16];

    ck_assert_int_eq(log_format_parse("logfmt"), LOG_LOGFMT);
    ck_assert_int_eq(log_format_parse("json"), LOG_JSON);
    ck_assert_int_eq(log_format_parse("JSON"), -1);
    ck_assert_int_eq(log_format_parse(""), -1);
    ck_assert_str_eq(log_signal_name(SIGTERM, buf, sizeof(buf)), "SIGTERM");
    ck_assert_str_eq(log_signal_name(SIGHUP, buf, sizeof(buf)), "SIGHUP");
    ck_assert_str_eq(log_signal_name(SIGINT, buf, sizeof(buf)), "SIGINT");
    ck_assert_str_eq(log_signal_name(99, buf, sizeof(buf)), "SIG99");
}
END_TEST


/* Limits */

/* A long JSON line is cut and stays one closed JSON object: no key
 * without its value. */
START_TEST(test_long_json)
{
    char    *big, *out;
    size_t   len;
    int      i;

    big = malloc(6001);
    ck_assert_ptr_nonnull(big);
    memset(big, '\n', 6000);
    big[6000] = '\0';
    for (i = 0; i < 3; i++) {
        log_set_format(LOG_JSON);
        capture_begin();
        log_info_kv("long", LOG_STR("a", big + 2000 * i), LOG_U64("n", 1),
                    LOG_STR("b", "x"));
        out = capture_end(&len);
        log_set_format(LOG_LOGFMT);
        ck_assert_uint_le(len, 4096);
        ck_assert_str_eq(out + len - 3, "\"}\n");
        ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
        /* Whole escapes only: an even run of \n pairs before the quote. */
        ck_assert_int_ne(out[len - 4], '\\');
        free(out);
    }
    free(big);
}
END_TEST


START_TEST(test_long_message)
{
    const char  *body;
    char        *msg, *out;
    size_t       len, i, n;

    /* 5000 quotes: the message is cut, but the line stays one closed
     * logfmt line with whole escapes. */
    msg = malloc(5001);
    ck_assert_ptr_nonnull(msg);
    memset(msg, '"', 5000);
    msg[5000] = '\0';
    log_set_level(LOG_INFO);
    capture_begin();
    log_info("%s", msg);
    out = capture_end(&len);
    ck_assert_uint_gt(len, PREFIX_LEN + 20);
    ck_assert_str_eq(out + len - 2, "\"\n");
    ck_assert_ptr_eq(strchr(out, '\n'), out + len - 1);
    body = strstr(out, "msg=\"");
    ck_assert_ptr_nonnull(body);
    body += 5;
    n = (size_t) (out + len - 2 - body);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(n % 2, 0);
    for (i = 0; i < n; i += 2) {
        ck_assert_int_eq(body[i], '\\');
        ck_assert_int_eq(body[i + 1], '"');
    }
    free(out);
    free(msg);
}
END_TEST


Suite *
log_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("log");

    tc = tcase_create("Core");
    tcase_add_test(tc, test_level_parse);
    tcase_add_test(tc, test_line_format);
    tcase_add_test(tc, test_every_level_name);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_printf_format);
    tcase_add_test(tc, test_below_level);
    tcase_add_test(tc, test_at_and_above_level);
    tcase_add_test(tc, test_kv_logfmt);
    tcase_add_test(tc, test_kv_json);
    tcase_add_test(tc, test_format_parse_and_signals);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_test(tc, test_long_message);
    tcase_add_test(tc, test_long_json);
    suite_add_tcase(s, tc);

    return s;
}
