/* check_regex.c - Unit tests for parsers/regex.c: anchoring, compile
 * errors and template expansion. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "parsers/regex.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })

/* Asserts that pattern (anchored or not) matches s or not. */
#define ck_match(pat, anch, s, want) \
    check_match((pat), (anch), SV(s), (want), __LINE__)

/* Asserts that pattern matches s and tpl expands to want (NULL: -1). */
#define ck_expand(pat, s, tpl, want) \
    check_expand((pat), SV(s), (tpl), (want), 256, __LINE__)


/* Helpers */

static pcre2_code *
compile_ok(const char *pat, int anchored)
{
    char         err[256] = "";
    pcre2_code  *re = regex_compile(pat, anchored, err, sizeof(err));

    ck_assert_msg(re != NULL, "%s: %s", pat, err);
    return re;
}


static void
check_match(const char *pat, int anchored, strv_t s, int want, int line)
{
    pcre2_code        *re = compile_ok(pat, anchored);
    pcre2_match_data  *md = pcre2_match_data_create_from_pattern(re, NULL);
    int                rc = regex_match(re, s, md);

    ck_assert_msg((rc > 0) == want, "line %d: /%s/ on \"%.*s\": %d", line,
                  pat, (int) s.len, s.p ? s.p : "", rc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}


static void
check_expand(const char *pat, strv_t s, const char *tpl, const char *want,
    size_t outcap, int line)
{
    pcre2_code        *re = compile_ok(pat, 1);
    pcre2_match_data  *md = pcre2_match_data_create_from_pattern(re, NULL);
    char               out[256];
    long               n;

    ck_assert_msg(regex_match(re, s, md) > 0, "line %d: no match", line);
    memset(out, 'X', sizeof(out));
    n = regex_expand(re, s, md, tpl, out, outcap);
    if (want == NULL) {
        ck_assert_msg(n == -1, "line %d: \"%s\" gave %ld, want -1", line,
                      tpl, n);
    } else {
        ck_assert_msg(n == (long) strlen(want)
                      && memcmp(out, want, (size_t) n) == 0,
                      "line %d: \"%s\" gave \"%.*s\" (%ld), want \"%s\"",
                      line, tpl, n > 0 ? (int) n : 0, out, n, want);
        ck_assert_msg(regex_expand_bound(tpl, s.len) >= (size_t) n,
                      "line %d: bound %zu < %ld", line,
                      regex_expand_bound(tpl, s.len), n);
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}


/* Core */

START_TEST(test_anchoring)
{
    ck_match("abc", 1, "abc", 1);
    ck_match("abc", 1, "xabc", 0);
    ck_match("abc", 1, "abcx", 0);
    ck_match("abc", 1, "", 0);
    ck_match("a|b", 1, "ab", 0);            /* both alternatives anchored */
    ck_match("a|ab", 1, "ab", 1);           /* backtracks into "ab" */
    ck_match("[0-9]+", 1, "404", 1);
    ck_match("[0-9]+", 1, "404\n", 0);      /* no "$" before a newline */
    ck_match(".*", 1, "", 1);
    ck_match("(?s).*", 1, "a\nb", 1);
    ck_match("Throttling.*", 1, "Throttling.User", 1);
    ck_match("Throttling.*", 1, "xThrottling", 0);
    /* Unanchored: anywhere. */
    ck_match("abc", 0, "xabcx", 1);
    ck_match("abc", 0, "xab", 0);
    /* Embedded NUL bytes are part of the subject. */
    ck_match("a\\x00b", 1, "a\0b", 1);
    ck_match("a", 1, "a\0", 0);
    /* A NULL subject of length 0 is the empty string. */
    check_match("", 1, (strv_t) { NULL, 0 }, 1, __LINE__);
}
END_TEST


START_TEST(test_compile_error)
{
    char         err[256] = "";
    pcre2_code  *re;

    re = regex_compile("ab(c", 1, err, sizeof(err));
    ck_assert_ptr_null(re);
    ck_assert_str_eq(err, "bad regex at offset 4: missing closing "
                          "parenthesis");

    err[0] = '\0';
    re = regex_compile("a[", 0, err, sizeof(err));
    ck_assert_ptr_null(re);
    ck_assert_msg(strncmp(err, "bad regex at offset 2: ", 23) == 0, "%s",
                  err);

    /* A short buffer gets a truncated, terminated message. */
    memset(err, 'X', sizeof(err));
    re = regex_compile("(", 1, err, 10);
    ck_assert_ptr_null(re);
    ck_assert_str_eq(err, "bad regex");
}
END_TEST


START_TEST(test_expand)
{
    ck_expand("(?s)([0-9]).*", "404", "${1}xx", "4xx");
    ck_expand("(?s)([0-9]).*", "404", "$1xx", "4xx");      /* $1 then "xx" */
    ck_expand("(\\w+)-(\\w+)", "cn-hangzhou", "$2.$1", "hangzhou.cn");
    ck_expand("(\\w+)-(\\w+)", "cn-hangzhou", "${2}${1}", "hangzhoucn");
    ck_expand("(\\w+)-(\\w+)", "cn-hangzhou", "$0!", "cn-hangzhou!");
    ck_expand("(?<reg>\\w+)-(?<zone>\\w+)", "cn-hangzhou",
              "${zone}/${reg}", "hangzhou/cn");
    ck_expand("(\\w+)", "abc", "$$1", "$1");
    ck_expand("(\\w+)", "abc", "100$$", "100$");
    ck_expand("(\\w+)", "abc", "no refs", "no refs");
    ck_expand("(\\w+)", "abc", "", "");
    /* "$12" is group 12, not group 1 then "2". */
    ck_expand("(\\w+)", "abc", "$12", "");
    ck_expand("(\\w+)", "abc", "${1}2", "abc2");
}
END_TEST


START_TEST(test_expand_missing)
{
    /* Groups that do not exist, or did not take part, are empty. */
    ck_expand("(\\w+)", "abc", "[$2]", "[]");
    ck_expand("(\\w+)", "abc", "[${9}]", "[]");
    ck_expand("(\\w+)", "abc", "[${nosuch}]", "[]");
    ck_expand("(a)|(b)", "b", "[$1][$2]", "[][b]");
    ck_expand("(?<x>a)?b", "b", "[${x}]", "[]");
    /* A lone "$" stays as written. */
    ck_expand("(\\w+)", "abc", "a$", "a$");
    ck_expand("(\\w+)", "abc", "$x", "$x");
    ck_expand("(\\w+)", "abc", "${1", "${1");
}
END_TEST


/* Limits */

START_TEST(test_expand_overflow)
{
    /* Exactly fits, then one byte short. */
    check_expand("(\\w+)", SV("abc"), "<$1>", "<abc>", 5, __LINE__);
    check_expand("(\\w+)", SV("abc"), "<$1>", NULL, 4, __LINE__);
    check_expand("(\\w+)", SV("abc"), "$1", NULL, 2, __LINE__);
    check_expand("(\\w+)", SV("abc"), "$$", NULL, 0, __LINE__);
    check_expand("(\\w+)", SV("abc"), "x", NULL, 0, __LINE__);
    check_expand("(\\w+)", SV("abc"), "", "", 0, __LINE__);
    /* A name longer than any group name can be. */
    check_expand("(\\w+)", SV("abc"),
                 "${aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
                 NULL, 256, __LINE__);
}
END_TEST


START_TEST(test_expand_huge_group_number)
{
    /* Group 4294967296 does not exist: it must not wrap to group 0. */
    ck_expand("(\\w+)", "abc", "[${4294967296}]", "[]");
    ck_expand("(\\w+)", "abc", "[${4294967297}]", "[]");
    ck_expand("(\\w+)", "abc", "[${99999999999999999999999}]", "[]");
}
END_TEST


START_TEST(test_expand_bound)
{
    ck_assert_uint_eq(regex_expand_bound("", 10), 0);
    ck_assert_uint_eq(regex_expand_bound("abc", 10), 3);
    ck_assert_uint_eq(regex_expand_bound("${1}xx", 3), 3 + 1 + 3 + 2);
    ck_assert(regex_expand_bound("$0$0$0", 5) >= 15);
}
END_TEST


Suite *
regex_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("regex");

    tc = tcase_create("Core");
    tcase_add_test(tc, test_anchoring);
    tcase_add_test(tc, test_compile_error);
    tcase_add_test(tc, test_expand);
    tcase_add_test(tc, test_expand_missing);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_test(tc, test_expand_overflow);
    tcase_add_test(tc, test_expand_huge_group_number);
    tcase_add_test(tc, test_expand_bound);
    suite_add_tcase(s, tc);

    return s;
}
