/* check_kv.c - Unit tests for parsers/kv.c (RequestContent lookups). */

#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "parsers/kv.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })

/* Asserts kv_find(s, key, ";", "=") finds want (NULL: not found). */
#define ck_kv(s, key, want) \
    check_kv(SV(s), SV(key), SV(";"), SV("="), (want), __LINE__)


/* Helpers */

static void
check_kv_n(strv_t s, strv_t key, strv_t sep, strv_t assign,
    const char *want, size_t want_len, int line)
{
    strv_t  v = { NULL, 0 };
    int     rc;

    rc = kv_find(s, key, sep, assign, &v);
    if (want == NULL) {
        ck_assert_msg(rc == 0, "line %d: found \"%.*s\", want nothing", line,
                      (int) v.len, v.p ? v.p : "");
        return;
    }
    ck_assert_msg(rc == 1, "line %d: not found, want \"%s\"", line, want);
    ck_assert_msg(v.len == want_len && memcmp(v.p, want, v.len) == 0,
                  "line %d: got \"%.*s\", want \"%s\"", line, (int) v.len,
                  v.p, want);
    /* The value is a slice of s. */
    ck_assert_msg(v.p >= s.p && v.p + v.len <= s.p + s.len,
                  "line %d: value is not a slice of the input", line);
}


static void
check_kv(strv_t s, strv_t key, strv_t sep, strv_t assign, const char *want,
    int line)
{
    check_kv_n(s, key, sep, assign, want, want ? strlen(want) : 0, line);
}


/* Core */

START_TEST(test_positions)
{
    ck_kv("RegionId=cn-huhehaote;Action=Describe;Version=2024-04-02;...",
          "RegionId", "cn-huhehaote");
    ck_kv("RegionId=cn-huhehaote;Action=Describe;Version=2024-04-02;...",
          "Action", "Describe");
    ck_kv("RegionId=cn-huhehaote;Action=Describe;Version=2024-04-02",
          "Version", "2024-04-02");
    ck_kv("a=1", "a", "1");
    ck_kv("a=1;b=2", "c", NULL);
}
END_TEST


START_TEST(test_first_wins)
{
    ck_kv("RegionId=a;RegionId=b", "RegionId", "a");
    ck_kv("x=0;RegionId=;RegionId=b", "RegionId", "");
    /* A pair without "=" never matches, the later pair does. */
    ck_kv("RegionId;RegionId=b", "RegionId", "b");
}
END_TEST


START_TEST(test_values)
{
    ck_kv("a=;b=2", "a", "");
    ck_kv("b=2;a=", "a", "");
    /* Split at the first "=": the value keeps the others. */
    ck_kv("a=b=c;d=e", "a", "b=c");
    ck_kv("a==", "a", "=");
    /* Nothing is trimmed. */
    ck_kv(" a=1; b = 2 ", "b", NULL);
    ck_kv(" a=1; b = 2 ", " b ", " 2 ");
    ck_kv("a=1; b=2", " b", "2");
    /* A pair without "=" has no value. */
    ck_kv("a;b=2", "a", NULL);
    ck_kv("a", "a", NULL);
    /* An empty key. */
    ck_kv("x=1;=v", "", "v");
    ck_kv("x=1;y", "", NULL);
}
END_TEST


START_TEST(test_prefix_suffix_keys)
{
    ck_kv("XRegionId=a;RegionId=b", "RegionId", "b");
    ck_kv("RegionIdX=a;RegionId=b", "RegionId", "b");
    ck_kv("Region=a;RegionId=b", "RegionId", "b");
    ck_kv("RegionId=b;Region=a", "Region", "a");
    ck_kv("RegionIdRegionId=a", "RegionId", NULL);
}
END_TEST


START_TEST(test_empty)
{
    ck_kv("", "a", NULL);
    ck_kv("", "", NULL);
    ck_kv(";", "a", NULL);
    ck_kv(";;a=1;;", "a", "1");
    check_kv((strv_t) { NULL, 0 }, SV("a"), SV(";"), SV("="), NULL,
             __LINE__);
}
END_TEST


START_TEST(test_separators)
{
    /* Multi-character separator and assign. */
    check_kv(SV("a:=1&&b:=2&&c:=3"), SV("b"), SV("&&"), SV(":="), "2",
             __LINE__);
    check_kv(SV("a:=1&&b:=2&&c:=3"), SV("c"), SV("&&"), SV(":="), "3",
             __LINE__);
    check_kv(SV("a:=1&b:=2"), SV("a"), SV("&&"), SV(":="), "1&b:=2",
             __LINE__);
    /* A single "&" inside a value is not the separator "&&". */
    check_kv(SV("a:=x&y&&b:=2"), SV("a"), SV("&&"), SV(":="), "x&y",
             __LINE__);
    /* "=" is not the assign ":=". */
    check_kv(SV("a=1&&a:=2"), SV("a"), SV("&&"), SV(":="), "2", __LINE__);
    check_kv(SV("k=v,x=y"), SV("x"), SV(","), SV("="), "y", __LINE__);
    check_kv(SV("k=v;x=y"), SV("x"), SV(","), SV("="), NULL, __LINE__);
    check_kv(SV("k=v;x=y"), SV("k"), SV(","), SV("="), "v;x=y", __LINE__);
}
END_TEST


/* Limits */

START_TEST(test_limits)
{
    size_t  n = 1 << 20, i;
    char   *big = malloc(n + 16);

    /* Empty separator or assign never matches. */
    check_kv(SV("a=1"), SV("a"), SV(""), SV("="), NULL, __LINE__);
    check_kv(SV("a=1"), SV("a"), SV(";"), SV(""), NULL, __LINE__);
    /* Embedded NUL bytes are ordinary bytes. */
    check_kv(SV("a\0=1;b=\0;"), SV("a\0"), SV(";"), SV("="), "1", __LINE__);
    check_kv_n(SV("a\0=1;b=\0;"), SV("b"), SV(";"), SV("="), "\0", 1,
               __LINE__);

    /* Many pairs, the key last. */
    ck_assert_ptr_nonnull(big);
    for (i = 0; i + 4 <= n; i += 4) {
        memcpy(big + i, "x=1;", 4);
    }
    memcpy(big + i, "k=end", 5);
    check_kv((strv_t) { big, i + 5 }, SV("k"), SV(";"), SV("="), "end",
             __LINE__);
    check_kv((strv_t) { big, i + 5 }, SV("y"), SV(";"), SV("="), NULL,
             __LINE__);
    free(big);
}
END_TEST


Suite *
kv_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("kv");

    tc = tcase_create("Core");
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_first_wins);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_prefix_suffix_keys);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_separators);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_set_timeout(tc, 10);  /* 0.02 s here, 1.6-3 s under ASan */
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);

    return s;
}
