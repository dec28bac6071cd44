/* check_filter.c - Unit tests for labels/filter.c: every operator over a
 * small table of variables, absent vs "" semantics, nesting, compile
 * errors and value_number(). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "config/config.h"
#include "labels/filter.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })

enum { V_CODE, V_EMPTY, V_ABSENT, V_NUM, V_TEXT, NVARS };

/* Asserts that c evaluates to want with the current variables. */
#define ck_cond(c, want)    check_cond((c), (want), __LINE__)

/* Asserts that numeric op (against num) on value s is want. */
#define ck_num(op, num, s, want) \
    check_num((op), (num), SV(s), 1, (want), __LINE__)


/* Helpers */

static const char *const  var_names[NVARS] = {
    "code", "empty", "absent", "num", "text"
};
static strv_t  var_val[NVARS];
static int     var_present[NVARS];
static int     get_calls;


static void
vars_reset(void)
{
    var_val[V_CODE] = SV("404");
    var_present[V_CODE] = 1;
    var_val[V_EMPTY] = SV("");
    var_present[V_EMPTY] = 1;
    var_val[V_ABSENT] = SV("garbage");     /* must not be looked at */
    var_present[V_ABSENT] = 0;
    var_val[V_NUM] = SV("14");
    var_present[V_NUM] = 1;
    var_val[V_TEXT] = SV("Throttling.User");
    var_present[V_TEXT] = 1;
    get_calls = 0;
}


static void
set_text(strv_t v, int present)
{
    var_val[V_TEXT] = v;
    var_present[V_TEXT] = present;
}


static int
resolve(void *ctx, const char *name)
{
    int  i;

    ck_assert_ptr_eq(ctx, var_val);
    for (i = 0; i < NVARS; i++) {
        if (strcmp(var_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}


static int
get(void *ctx, int var, strv_t *v)
{
    ck_assert_ptr_eq(ctx, var_val);
    ck_assert_int_ge(var, 0);
    ck_assert_int_lt(var, NVARS);
    get_calls++;
    if (!var_present[var]) {
        return 0;
    }
    *v = var_val[var];
    return 1;
}


/* A leaf condition; its strings are literals (the compiled condition
 * borrows them, and literals live forever). */
static cfg_cond_t
leaf(cfg_cond_op_t op, const char *field, double num, char **strs,
    size_t nstrs)
{
    cfg_cond_t  c;

    memset(&c, 0, sizeof(c));
    c.op = op;
    c.field = (char *) field;
    c.num = num;
    c.strs = strs;
    c.nstrs = nstrs;
    c.line = 1;
    return c;
}


/* A string leaf with one value. */
static cfg_cond_t
leaf1(cfg_cond_op_t op, const char *field, const char *s)
{
    static char  *pool[256];
    static int    n;

    pool[n & 255] = (char *) s;
    return leaf(op, field, 0, &pool[n++ & 255], 1);
}


static cfg_cond_t
branch(cfg_cond_op_t op, cfg_cond_t *sub, size_t nsub)
{
    cfg_cond_t  c;

    memset(&c, 0, sizeof(c));
    c.op = op;
    c.sub = sub;
    c.nsub = nsub;
    c.line = 1;
    return c;
}


static cond_t *
compile_ok(const cfg_cond_t *c)
{
    char     err[256] = "";
    cond_t  *cc = cond_compile(c, resolve, var_val, err, sizeof(err));

    ck_assert_msg(cc != NULL, "compile failed: %s", err);
    return cc;
}


static void
check_cond(cfg_cond_t c, int want, int line)
{
    cond_t  *cc = compile_ok(&c);
    int      got = cond_eval(cc, get, var_val);

    ck_assert_msg(got == want, "line %d: got %d, want %d", line, got, want);
    /* A second evaluation gives the same answer. */
    ck_assert_msg(cond_eval(cc, get, var_val) == want, "line %d: unstable",
                  line);
    cond_free(cc);
}


static void
check_num(cfg_cond_op_t op, double num, strv_t s, int present, int want,
    int line)
{
    set_text(s, present);
    check_cond(leaf(op, "text", num, NULL, 0), want, line);
}


/* Core */

START_TEST(test_equals)
{
    ck_cond(leaf1(CFG_COND_EQUALS, "code", "404"), 1);
    ck_cond(leaf1(CFG_COND_EQUALS, "code", "40"), 0);
    ck_cond(leaf1(CFG_COND_EQUALS, "code", "4040"), 0);
    ck_cond(leaf1(CFG_COND_EQUALS, "code", ""), 0);
    /* Absent and "" are both "" for string operators. */
    ck_cond(leaf1(CFG_COND_EQUALS, "absent", ""), 1);
    ck_cond(leaf1(CFG_COND_EQUALS, "empty", ""), 1);
    ck_cond(leaf1(CFG_COND_EQUALS, "absent", "garbage"), 0);
    ck_cond(leaf1(CFG_COND_NOT_EQUALS, "code", "404"), 0);
    ck_cond(leaf1(CFG_COND_NOT_EQUALS, "code", "200"), 1);
    ck_cond(leaf1(CFG_COND_NOT_EQUALS, "absent", ""), 0);
    ck_cond(leaf1(CFG_COND_NOT_EQUALS, "absent", "2xx"), 1);
    ck_cond(leaf1(CFG_COND_NOT_EQUALS, "empty", "2xx"), 1);
    /* Bytes, not C strings: an embedded NUL differs from the end. */
    set_text((strv_t) { "404\0x", 5 }, 1);
    ck_cond(leaf1(CFG_COND_EQUALS, "text", "404"), 0);
}
END_TEST


START_TEST(test_in)
{
    static char  *codes[] = { (char *) "200", (char *) "404" };
    static char  *withempty[] = { (char *) "x", (char *) "" };
    static char  *x[] = { (char *) "x" };

    ck_cond(leaf(CFG_COND_IN, "code", 0, codes, 2), 1);
    ck_cond(leaf(CFG_COND_IN, "code", 0, codes, 1), 0);
    ck_cond(leaf(CFG_COND_IN, "code", 0, NULL, 0), 0);
    ck_cond(leaf(CFG_COND_IN, "absent", 0, withempty, 2), 1);
    ck_cond(leaf(CFG_COND_IN, "absent", 0, x, 1), 0);
    ck_cond(leaf(CFG_COND_NOT_IN, "code", 0, codes, 2), 0);
    ck_cond(leaf(CFG_COND_NOT_IN, "code", 0, codes, 1), 1);
    ck_cond(leaf(CFG_COND_NOT_IN, "code", 0, NULL, 0), 1);
    ck_cond(leaf(CFG_COND_NOT_IN, "absent", 0, x, 1), 1);
    ck_cond(leaf(CFG_COND_NOT_IN, "empty", 0, withempty, 2), 0);
}
END_TEST


START_TEST(test_prefix)
{
    ck_cond(leaf1(CFG_COND_PREFIX, "text", "Throttling"), 1);
    ck_cond(leaf1(CFG_COND_PREFIX, "text", "Throttling.User"), 1);
    ck_cond(leaf1(CFG_COND_PREFIX, "text", "Throttling.User."), 0);
    ck_cond(leaf1(CFG_COND_PREFIX, "text", "throttling"), 0);
    ck_cond(leaf1(CFG_COND_PREFIX, "text", "hrottling"), 0);
    ck_cond(leaf1(CFG_COND_PREFIX, "absent", "T"), 0);
    ck_cond(leaf1(CFG_COND_PREFIX, "absent", ""), 1);
    ck_cond(leaf1(CFG_COND_PREFIX, "empty", ""), 1);
    ck_cond(leaf1(CFG_COND_PREFIX, "code", ""), 1);
}
END_TEST


START_TEST(test_match)
{
    /* Anchored at both ends. */
    ck_cond(leaf1(CFG_COND_MATCH, "code", "4.."), 1);
    ck_cond(leaf1(CFG_COND_MATCH, "code", "4"), 0);
    ck_cond(leaf1(CFG_COND_MATCH, "code", "04"), 0);
    ck_cond(leaf1(CFG_COND_MATCH, "code", "40"), 0);
    ck_cond(leaf1(CFG_COND_MATCH, "code", "4|404"), 1);
    ck_cond(leaf1(CFG_COND_MATCH, "text", "Throttling\\..*"), 1);
    ck_cond(leaf1(CFG_COND_MATCH, "absent", ".*"), 1);
    ck_cond(leaf1(CFG_COND_MATCH, "absent", ".+"), 0);
    ck_cond(leaf1(CFG_COND_NOT_MATCH, "code", "4.."), 0);
    ck_cond(leaf1(CFG_COND_NOT_MATCH, "code", "4"), 1);
    ck_cond(leaf1(CFG_COND_NOT_MATCH, "absent", ".+"), 1);
    ck_cond(leaf1(CFG_COND_NOT_MATCH, "empty", ""), 0);
}
END_TEST


START_TEST(test_exists)
{
    ck_cond(leaf(CFG_COND_EXISTS, "code", 1, NULL, 0), 1);
    ck_cond(leaf(CFG_COND_EXISTS, "empty", 1, NULL, 0), 1);
    ck_cond(leaf(CFG_COND_EXISTS, "absent", 1, NULL, 0), 0);
    ck_cond(leaf(CFG_COND_EXISTS, "code", 0, NULL, 0), 0);
    ck_cond(leaf(CFG_COND_EXISTS, "empty", 0, NULL, 0), 0);
    ck_cond(leaf(CFG_COND_EXISTS, "absent", 0, NULL, 0), 1);
}
END_TEST


START_TEST(test_numeric)
{
    ck_num(CFG_COND_GT, 1000, "1001", 1);
    ck_num(CFG_COND_GT, 1000, "1000", 0);
    ck_num(CFG_COND_GT, 1000, "1000.0001", 1);
    ck_num(CFG_COND_GT, 1000, "1e3", 0);
    ck_num(CFG_COND_GT, 1000, "1.5e3", 1);
    ck_num(CFG_COND_GT, 1000, "-2000", 0);
    ck_num(CFG_COND_GE, 1000, "1000", 1);
    ck_num(CFG_COND_GE, 1000, "999.999", 0);
    ck_num(CFG_COND_LT, 0, "-0.5", 1);
    ck_num(CFG_COND_LT, 0, "0", 0);
    ck_num(CFG_COND_LE, 0, "-0", 1);
    ck_num(CFG_COND_LE, 0, "0.1", 0);
    ck_num(CFG_COND_EQ, 429, "429", 1);
    ck_num(CFG_COND_EQ, 429, "429.0", 1);
    ck_num(CFG_COND_EQ, 429, "4.29e2", 1);
    ck_num(CFG_COND_EQ, 429, "4.29E+2", 1);
    ck_num(CFG_COND_EQ, 429, "428", 0);
    ck_num(CFG_COND_EQ, 0, "-1e-400", 1);       /* underflows to -0 */
    ck_num(CFG_COND_NE, 429, "428", 1);
    ck_num(CFG_COND_NE, 429, "429", 0);
    /* The variable table's own numeric value. */
    check_cond(leaf(CFG_COND_EQ, "num", 14, NULL, 0), 1, __LINE__);
    check_cond(leaf(CFG_COND_GT, "code", 400, NULL, 0), 1, __LINE__);
}
END_TEST


START_TEST(test_numeric_not_numbers)
{
    static const char *const  bad[] = {
        " 14", "14 ", "+5", "0x10", "1e400", "-1e400", "", "-", "01",
        ".5", "1.", "1e", "1e+", "--1", "NaN", "nan", "Infinity", "inf",
        "1,5", "1_000", "abc", "\xEF\xBC\x91",    /* fullwidth 1 */
    };
    static const cfg_cond_op_t  ops[] = {
        CFG_COND_GT, CFG_COND_GE, CFG_COND_LT, CFG_COND_LE, CFG_COND_EQ,
        CFG_COND_NE
    };
    size_t  i, k;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            /* With 0 and a huge number: every comparison must be false. */
            check_num(ops[k], 0, (strv_t) { bad[i], strlen(bad[i]) }, 1, 0,
                      __LINE__ * 1000 + (int) i);
            check_num(ops[k], 1e300, (strv_t) { bad[i], strlen(bad[i]) }, 1,
                      0, __LINE__ * 1000 + (int) i);
        }
    }
    /* Absent: false, for NE too. */
    for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        check_num(ops[k], 0, SV("0"), 0, 0, __LINE__);
    }
}
END_TEST


START_TEST(test_nesting)
{
    cfg_cond_t  s1[3], s2[2], s3[1], s4[2], top;

    /* any: the throttling rule of the default config. */
    s1[0] = leaf1(CFG_COND_PREFIX, "text", "Throttling");
    s1[1] = leaf(CFG_COND_EQ, "code", 429, NULL, 0);
    ck_cond(branch(CFG_COND_ANY, s1, 2), 1);
    set_text(SV("ServiceUnavailable"), 1);
    ck_cond(branch(CFG_COND_ANY, s1, 2), 0);
    var_val[V_CODE] = SV("429");
    ck_cond(branch(CFG_COND_ANY, s1, 2), 1);
    var_val[V_CODE] = SV("\"429\"");
    ck_cond(branch(CFG_COND_ANY, s1, 2), 0);
    vars_reset();

    /* Empty any is false, empty all is true. */
    ck_cond(branch(CFG_COND_ANY, NULL, 0), 0);
    ck_cond(branch(CFG_COND_ALL, NULL, 0), 1);

    /* all(code = 404, not(exists absent) , num > 10) */
    s3[0] = leaf(CFG_COND_EXISTS, "absent", 1, NULL, 0);
    s2[0] = branch(CFG_COND_NOT, s3, 1);
    s2[1] = leaf(CFG_COND_GT, "num", 10, NULL, 0);
    s1[0] = leaf1(CFG_COND_EQUALS, "code", "404");
    s1[1] = branch(CFG_COND_ALL, s2, 2);
    s1[2] = leaf1(CFG_COND_MATCH, "text", "Thr.*");
    top = branch(CFG_COND_ALL, s1, 3);
    ck_cond(top, 1);
    var_val[V_NUM] = SV("9");
    ck_cond(top, 0);
    vars_reset();
    var_present[V_ABSENT] = 1;
    ck_cond(top, 0);
    vars_reset();

    /* not(any(all(), ...)) is false; not(not(x)) is x. */
    s4[0] = branch(CFG_COND_ALL, NULL, 0);
    s4[1] = leaf1(CFG_COND_EQUALS, "code", "nope");
    s3[0] = branch(CFG_COND_ANY, s4, 2);
    ck_cond(branch(CFG_COND_NOT, s3, 1), 0);
    s4[0] = leaf1(CFG_COND_EQUALS, "code", "404");
    s3[0] = branch(CFG_COND_NOT, s4, 1);
    ck_cond(branch(CFG_COND_NOT, s3, 1), 1);
}
END_TEST


START_TEST(test_short_circuit)
{
    cfg_cond_t  s[2];
    cond_t     *cc;

    s[0] = leaf1(CFG_COND_EQUALS, "code", "404");
    s[1] = leaf1(CFG_COND_EQUALS, "num", "14");
    cc = compile_ok(&(cfg_cond_t) { .op = CFG_COND_ANY, .sub = s, .nsub = 2 });
    get_calls = 0;
    ck_assert_int_eq(cond_eval(cc, get, var_val), 1);
    ck_assert_int_eq(get_calls, 1);
    cond_free(cc);
}
END_TEST


START_TEST(test_reuse)
{
    cond_t  *cc;
    cfg_cond_t c = leaf1(CFG_COND_MATCH, "text", "(?i)throttling.*");

    /* One compiled condition over many lines. */
    cc = compile_ok(&c);
    ck_assert_int_eq(cond_eval(cc, get, var_val), 1);
    set_text(SV("OK"), 1);
    ck_assert_int_eq(cond_eval(cc, get, var_val), 0);
    set_text(SV("THROTTLING"), 1);
    ck_assert_int_eq(cond_eval(cc, get, var_val), 1);
    set_text(SV("THROTTLING"), 0);
    ck_assert_int_eq(cond_eval(cc, get, var_val), 0);
    cond_free(cc);
    cond_free(NULL);
}
END_TEST


START_TEST(test_compile_errors)
{
    char         err[256];
    cfg_cond_t   c, sub[2];
    cond_t      *cc;

    c = leaf1(CFG_COND_EQUALS, "nosuch", "x");
    cc = cond_compile(&c, resolve, var_val, err, sizeof(err));
    ck_assert_ptr_null(cc);
    ck_assert_str_eq(err, "unknown variable \"nosuch\"");

    /* Deep inside a tree: everything compiled so far is freed. */
    sub[0] = leaf1(CFG_COND_MATCH, "code", "4..");
    sub[1] = leaf(CFG_COND_GT, "missing", 1, NULL, 0);
    c = branch(CFG_COND_ALL, sub, 2);
    cc = cond_compile(&c, resolve, var_val, err, sizeof(err));
    ck_assert_ptr_null(cc);
    ck_assert_str_eq(err, "unknown variable \"missing\"");

    c = leaf1(CFG_COND_MATCH, "code", "4(");
    cc = cond_compile(&c, resolve, var_val, err, sizeof(err));
    ck_assert_ptr_null(cc);
    ck_assert_msg(strncmp(err, "bad regex at offset 2: ", 23) == 0, "%s",
                  err);
}
END_TEST


START_TEST(test_value_number)
{
    double  x;
    char    big[400];

    x = -1;
    ck_assert_int_eq(value_number(SV("14"), &x), 1);
    ck_assert(x == 14);
    ck_assert_int_eq(value_number(SV("-0.25"), &x), 1);
    ck_assert(x == -0.25);
    ck_assert_int_eq(value_number(SV("1E3"), &x), 1);
    ck_assert(x == 1000);
    ck_assert_int_eq(value_number(SV("1.7976931348623157e308"), &x), 1);
    ck_assert(x == 1.7976931348623157e308);
    ck_assert_int_eq(value_number(SV("0"), &x), 1);
    ck_assert(x == 0);
    /* Not a number in JSON grammar, or not finite: *out untouched. */
    x = 7;
    ck_assert_int_eq(value_number(SV(" 14"), &x), 0);
    ck_assert_int_eq(value_number(SV("+5"), &x), 0);
    ck_assert_int_eq(value_number(SV("0x10"), &x), 0);
    ck_assert_int_eq(value_number(SV("1e400"), &x), 0);
    ck_assert_int_eq(value_number(SV("1.8e308"), &x), 0);
    ck_assert_int_eq(value_number(SV(""), &x), 0);
    ck_assert_int_eq(value_number((strv_t) { NULL, 0 }, &x), 0);
    ck_assert(x == 7);
    /* Not NUL-terminated: only len bytes count. */
    ck_assert_int_eq(value_number((strv_t) { "123abc", 3 }, &x), 1);
    ck_assert(x == 123);
    ck_assert_int_eq(value_number((strv_t) { "12.", 2 }, &x), 1);
    ck_assert(x == 12);
    /* Longer than the stack buffer. */
    memset(big, '0', sizeof(big));
    big[0] = '1';
    ck_assert_int_eq(value_number((strv_t) { big, 300 }, &x), 1);
    ck_assert(x == 1e299);
    ck_assert_int_eq(value_number((strv_t) { big, 310 }, &x), 0);
    big[1] = '.';
    ck_assert_int_eq(value_number((strv_t) { big, 399 }, &x), 1);
    ck_assert(x == 1);
}
END_TEST


/* The integer fast path gives strtod()'s bits: every length from 1 to 18
 * digits (15 and below take the fast path, longer ones strtod), both
 * signs, numbers of the corpus' shapes, and near misses that must fall
 * back (a fraction, an exponent). */
START_TEST(test_value_number_exact)
{
    static const char *const  cases[] = {
        "0", "-0", "7", "-7", "999999999999999", "-999999999999999",
        "1000000000000000", "9007199254740993", "123456789012345678",
        "1764230400", "1000", "1001", "0.0", "-0.0", "10e0", "1E15",
        "123.000", "5e-324", "12345678901234.5",
    };
    char      buf[32];
    double    x, want;
    uint64_t  r = 88172645463325252ULL, a, b;
    size_t    i, len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        want = strtod(cases[i], NULL);
        ck_assert_int_eq(value_number((strv_t) { cases[i],
                                                 strlen(cases[i]) }, &x), 1);
        memcpy(&a, &x, 8);
        memcpy(&b, &want, 8);
        ck_assert_msg(a == b, "%s: %a, strtod %a", cases[i], x, want);
    }
    for (i = 0; i < 200000; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        len = 1 + r % 18;
        snprintf(buf, sizeof(buf), "%s%llu", (r >> 20) & 1 ? "-" : "",
                 (unsigned long long) ((r >> 21) % 1000000000000000000ULL));
        if (strlen(buf) > len + ((r >> 20) & 1)) {
            buf[len + ((r >> 20) & 1)] = '\0';
        }
        want = strtod(buf, NULL);
        ck_assert_int_eq(value_number((strv_t) { buf, strlen(buf) }, &x), 1);
        memcpy(&a, &x, 8);
        memcpy(&b, &want, 8);
        ck_assert_msg(a == b, "%s: %a, strtod %a", buf, x, want);
    }
}
END_TEST


Suite *
filter_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("filter");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, vars_reset, NULL);
    tcase_add_test(tc, test_equals);
    tcase_add_test(tc, test_in);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_match);
    tcase_add_test(tc, test_exists);
    tcase_add_test(tc, test_numeric);
    tcase_add_test(tc, test_nesting);
    tcase_add_test(tc, test_short_circuit);
    tcase_add_test(tc, test_reuse);
    tcase_add_test(tc, test_value_number);
    tcase_add_test(tc, test_value_number_exact);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, vars_reset, NULL);
    tcase_add_test(tc, test_numeric_not_numbers);
    tcase_add_test(tc, test_compile_errors);
    suite_add_tcase(s, tc);

    return s;
}
