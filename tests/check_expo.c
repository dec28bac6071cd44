/* check_expo.c - Unit tests for labels/expo.c: golden exposition text,
 * escapes and the shortest round-trip formatting of doubles. */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Macros */

#define SV(s)   ((strv_t) { (s), sizeof(s) - 1 })

/* Asserts that expo_format_double(v) is exactly want. */
#define ck_double(v, want)  check_double((v), (want), __LINE__)


/* Helpers */

static void
check_double(double v, const char *want, int line)
{
    char    out[EXPO_DOUBLE_LEN];
    size_t  n;

    memset(out, 'X', sizeof(out));
    n = expo_format_double(out, v);
    ck_assert_msg(n == strlen(want) && memcmp(out, want, n) == 0,
                  "line %d: %.17g formatted as \"%.*s\", want \"%s\"", line,
                  v, (int) n, out, want);
    ck_assert_msg(out[n] == '\0', "line %d: not NUL-terminated", line);
}


/* Fewest significant digits of a "%.*g" text that reads back as v. */
static size_t
shortest_digits(double v)
{
    char  tmp[64];
    int   prec;

    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    return (size_t) prec;
}


/* Significant digits in a formatted number: the mantissa's digits without
 * leading and trailing zeros ("1000" has one, "0.0125" three). */
static size_t
significant_digits(const char *s)
{
    const char  *end = strpbrk(s, "eE");
    char         d[64];
    size_t       n = 0, i = 0;

    for (end = end ? end : s + strlen(s); s < end; s++) {
        if (*s >= '0' && *s <= '9' && n < sizeof(d)) {
            d[n++] = *s;
        }
    }
    while (i < n && d[i] == '0') {
        i++;
    }
    while (n > i && d[n - 1] == '0') {
        n--;
    }
    return n - i;
}


/* Checks round trip and shortness for v; returns 1 when both hold. */
static int
round_trips(double v, char *out)
{
    size_t  n = expo_format_double(out, v);

    return strtod(out, NULL) == v && n == strlen(out)
           && (signbit(strtod(out, NULL)) == signbit(v))
           && significant_digits(out) <= shortest_digits(v);
}


static char *
render(buf_t *b)
{
    buf_append(b, "", 1);       /* NUL-terminates */
    return b->p;
}


/* Core */

START_TEST(test_golden)
{
    static const char *const  lab2[] = { "product", "code" };
    static const char *const  lab1[] = { "product" };
    static const double       bk[] = { 0.005, 0.01, 0.5, 1, 2.5 };
    static const double       bk1[] = { 1 };
    static const char        *want =
        "# HELP req_total Requests per product.\n"
        "# TYPE req_total counter\n"
        "req_total{product=\"acc\",code=\"4xx\"} 3\n"
        "req_total{product=\"e\\\"c\\\\s\\n\",code=\"\"} 18446744073709551615\n"
        "# HELP lat_seconds Latency \\\\ in\\nseconds.\n"
        "# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{product=\"acc\",le=\"0.005\"} 1\n"
        "lat_seconds_bucket{product=\"acc\",le=\"0.01\"} 2\n"
        "lat_seconds_bucket{product=\"acc\",le=\"0.5\"} 3\n"
        "lat_seconds_bucket{product=\"acc\",le=\"1\"} 3\n"
        "lat_seconds_bucket{product=\"acc\",le=\"2.5\"} 4\n"
        "lat_seconds_bucket{product=\"acc\",le=\"+Inf\"} 5\n"
        "lat_seconds_sum{product=\"acc\"} 7.025\n"
        "lat_seconds_count{product=\"acc\"} 5\n"
        "# HELP empty_seconds \n"
        "# TYPE empty_seconds histogram\n"
        "empty_seconds_bucket{le=\"1\"} 0\n"
        "empty_seconds_bucket{le=\"+Inf\"} 0\n"
        "empty_seconds_sum 0\n"
        "empty_seconds_count 0\n"
        "# HELP bytes_total Bytes.\n"
        "# TYPE bytes_total counter\n"
        "bytes_total 1234\n"
        "# HELP unused_total Never set.\n"
        "# TYPE unused_total counter\n";
    store_family_def_t   def;
    store_family_t      *c, *h, *e, *z;
    store_t             *st;
    store_snap_t        *snap;
    buf_t                b = { 0 };
    uint32_t             id;

    st = store_create();
    memset(&def, 0, sizeof(def));
    def.sibling_label = -1;

    def.name = "req_total";
    def.help = "Requests per product.";
    def.type = STORE_COUNTER;
    def.labels = lab2;
    def.nlabels = 2;
    c = store_family_add(st, &def);

    def.name = "lat_seconds";
    def.help = "Latency \\ in\nseconds.";
    def.type = STORE_HISTOGRAM;
    def.labels = lab1;
    def.nlabels = 1;
    def.buckets = bk;
    def.nbuckets = 5;
    def.scale = 0.001;
    h = store_family_add(st, &def);

    def.name = "empty_seconds";
    def.help = NULL;
    def.labels = NULL;
    def.nlabels = 0;
    def.buckets = bk1;
    def.nbuckets = 1;
    def.scale = 1;
    e = store_family_add(st, &def);

    def.name = "bytes_total";
    def.help = "Bytes.";
    def.type = STORE_COUNTER;
    def.buckets = NULL;
    def.nbuckets = 0;
    z = store_family_add(st, &def);

    def.name = "unused_total";
    def.help = "Never set.";
    ck_assert_ptr_nonnull(store_family_add(st, &def));

    store_ingest_lock(st);
    {
        strv_t  v[2] = { SV("acc"), SV("4xx") };

        store_add(c, store_series(c, v), 3);
        v[0] = SV("e\"c\\s\n");
        v[1] = SV("");
        store_add(c, store_series(c, v), UINT64_MAX);
    }
    id = store_series(h, &SV("acc"));
    store_observe(h, id, 5);
    store_observe(h, id, 6);
    store_observe(h, id, 14);
    store_observe(h, id, 2000);
    store_observe(h, id, 5000);
    (void) store_series(e, NULL);
    store_add(z, store_series(z, NULL), 1234);
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    expo_write_snapshot(&b, snap);
    ck_assert_str_eq(render(&b), want);
    buf_free(&b);
    store_snap_free(snap);
    store_destroy(st);
}
END_TEST


START_TEST(test_label_value_escapes)
{
    buf_t  b = { 0 };

    expo_write_label_value(&b, "a\\b\"c\nd", 7);
    ck_assert_str_eq(render(&b), "a\\\\b\\\"c\\nd");
    buf_free(&b);

    /* Everything else passes through: tab, CR, UTF-8, a NUL byte. */
    expo_write_label_value(&b, "t\tr\r\xC3\xA9\0z", 8);
    ck_assert_uint_eq(b.len, 8);
    ck_assert(memcmp(b.p, "t\tr\r\xC3\xA9\0z", 8) == 0);
    buf_free(&b);

    expo_write_label_value(&b, "\\\\\n\n\"", 5);
    ck_assert_str_eq(render(&b), "\\\\\\\\\\n\\n\\\"");
    buf_free(&b);

    expo_write_label_value(&b, "", 0);
    ck_assert_uint_eq(b.len, 0);
    buf_free(&b);
}
END_TEST


START_TEST(test_help_escapes)
{
    buf_t  b = { 0 };

    /* HELP escapes the backslash and the newline only, not the quote. */
    expo_write_header(&b, "x_total", "a\\b\"c\nd", "counter");
    ck_assert_str_eq(render(&b),
                     "# HELP x_total a\\\\b\"c\\nd\n# TYPE x_total counter\n");
    buf_free(&b);
}
END_TEST


START_TEST(test_format_double)
{
    ck_double(0.1, "0.1");
    ck_double(0.014, "0.014");
    ck_double(2.025, "2.025");
    ck_double(1e21, "1e+21");
    ck_double(1.0 / 3, "0.3333333333333333");
    ck_double(2.0 / 3, "0.6666666666666666");
    ck_double(100, "100");
    ck_double(2.5, "2.5");
    ck_double(0, "0");
    ck_double(-0.0, "-0");
    ck_double(-2.5, "-2.5");
    ck_double(0.30000000000000004, "0.30000000000000004");
    ck_double(0.1 + 0.2, "0.30000000000000004");
    ck_double(123456789012345680.0, "1.2345678901234568e+17");
    /* Python's repr() layout: positional from 1e-4 up to below 1e16. */
    ck_double(1e15, "1000000000000000");
    ck_double(1e16, "1e+16");
    ck_double(1e-4, "0.0001");
    ck_double(1e-5, "1e-05");
    ck_double(-15320307764497668.0, "-1.5320307764497668e+16");
    ck_double(1e-7, "1e-07");
    ck_double(DBL_MAX, "1.7976931348623157e+308");
    ck_double(DBL_MIN, "2.2250738585072014e-308");
    ck_double(9007199254740993.0, "9007199254740992");
    ck_double(NAN, "NaN");
    ck_double(INFINITY, "+Inf");
    ck_double(-INFINITY, "-Inf");
}
END_TEST


/* Formats nrandom random normal doubles (xorshift over the bit patterns)
 * and the decimal fractions i / 1000 for i < ndecimal (values such as
 * TotalUsedTime / 1000); each must read back, with no more digits than
 * the shortest string that does. */
static void
round_trip_run(long nrandom, long ndecimal)
{
    char      out[EXPO_DOUBLE_LEN];
    uint64_t  x = 0x9E3779B97F4A7C15ULL, bits;
    double    v = 0;
    long      i;
    int       ok = 1;

    for (i = 0; i < nrandom && ok; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bits = x;
        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v) || fpclassify(v) == FP_SUBNORMAL) {
            continue;
        }
        ok = round_trips(v, out);
    }
    ck_assert_msg(ok, "%.17g formatted as \"%s\"", v, out);

    for (i = 0; i < ndecimal && ok; i++) {
        v = (double) i / 1000;
        ok = round_trips(v, out);
    }
    ck_assert_msg(ok, "%.17g formatted as \"%s\"", v, out);
}


/* 20,000 + 10,000 values: 0.34 s here without sanitizers (the oracle,
 * shortest_digits(), tries up to 17 precisions per value). The run over
 * ten times as many is the "exhaustive" case below. */
START_TEST(test_format_double_round_trip)
{
    round_trip_run(20000, 10000);
}
END_TEST


/* Exhaustive */

/* 200,000 random doubles and every i / 1000 below 100: 3.4 s here, 4.5 s
 * on an AMD EPYC, 10 s under ASan.  Tagged "exhaustive": check_main.c
 * leaves it out unless CK_INCLUDE_TAGS=exhaustive (make fuzz runs it). */
START_TEST(test_format_double_round_trip_exhaustive)
{
    round_trip_run(200000, 100000);
}
END_TEST


/* Limits */

START_TEST(test_format_double_shortest_edges)
{
    char  out[EXPO_DOUBLE_LEN];

    /* Powers of two, where the interval of decimals that read back is
     * narrower below the value than above: 16 digits suffice although
     * %.16g (the nearest 16-digit decimal) does not read back. */
    ck_double(ldexp(1, -24), "5.960464477539063e-08");
    ck_double(ldexp(1, -44), "5.684341886080802e-14");
    ck_double(ldexp(1, 89), "6.189700196426902e+26");
    /* Subnormals have fewer significant bits: the smallest one reads back
     * from "5e-324" (%.15g gives "4.94065645841247e-324", which reads back
     * too but is not the shortest). */
    ck_double(5e-324, "5e-324");
    ck_double(-5e-324, "-5e-324");
    ck_double(1e-320, "1e-320");
    ck_assert_msg(round_trips(2.5e-310, out), "2.5e-310 -> %s", out);
}
END_TEST


START_TEST(test_many_series)
{
    static const char *const  lab[] = { "uid" };
    store_family_def_t   def;
    store_family_t      *f;
    store_t             *st;
    store_snap_t        *snap;
    buf_t                b = { 0 };
    char                 tmp[32], line[64];
    strv_t               v;
    size_t               i, n = 50000, off;
    int                  ok = 1, len;

    st = store_create();
    memset(&def, 0, sizeof(def));
    def.name = "t_total";
    def.help = "t";
    def.type = STORE_COUNTER;
    def.labels = lab;
    def.nlabels = 1;
    def.sibling_label = -1;
    f = store_family_add(st, &def);
    store_ingest_lock(st);
    for (i = 0; i < n; i++) {
        v.len = (size_t) snprintf(tmp, sizeof(tmp), "%zu", i);
        v.p = tmp;
        store_add(f, store_series(f, &v), i);
    }
    store_ingest_unlock(st);

    snap = store_snapshot(st);
    expo_write_snapshot(&b, snap);
    off = strlen("# HELP t_total t\n# TYPE t_total counter\n");
    ck_assert(b.len > off);
    for (i = 0; i < n && ok; i++) {
        len = snprintf(line, sizeof(line), "t_total{uid=\"%zu\"} %zu\n", i, i);
        ok = off + (size_t) len <= b.len && memcmp(b.p + off, line,
                                                   (size_t) len) == 0;
        off += (size_t) len;
    }
    ck_assert_msg(ok, "series %zu is wrong", i - 1);
    ck_assert_uint_eq(off, b.len);
    buf_free(&b);
    store_snap_free(snap);
    store_destroy(st);
}
END_TEST


Suite *
expo_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("expo");

    tc = tcase_create("Core");
    tcase_set_timeout(tc, 10);      /* 0.4 s here, 1.1 s under ASan */
    tcase_add_test(tc, test_golden);
    tcase_add_test(tc, test_label_value_escapes);
    tcase_add_test(tc, test_help_escapes);
    tcase_add_test(tc, test_format_double);
    tcase_add_test(tc, test_format_double_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_format_double_shortest_edges);
    tcase_add_test(tc, test_many_series);
    suite_add_tcase(s, tc);

    tc = tcase_create("Exhaustive");
    tcase_set_tags(tc, "exhaustive");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_format_double_round_trip_exhaustive);
    suite_add_tcase(s, tc);

    return s;
}
