/* check_json.c - Unit tests for parsers/json.c (the top-level key scanner). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "parsers/json.h"


/* Test hooks defined in json.c (not in json.h): json_scan() with the
 * scalar (simd 0), SSE2 (1) or AVX2 (2) string loop, and the loop
 * json_scan() picks on this CPU. */
int json__scan_mode(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out, int simd);
int json__simd_best(void);


/* Macros */

enum {
    K_PRODUCT, K_API, K_HTTP, K_T, K_F, K_N, K_O, K_A, K_NUM, K_EMPTY,
    K_EXT5, K_UNI, K_PRODUCT2, NKEYS
};

/* Asserts that v is of type t and that its slice is the C string text. */
#define ck_json_val(v, t, text)                                             \
    do {                                                                    \
        const json_val_t  *v_ = (v);                                        \
        const char        *x_ = (text);                                     \
        ck_assert_int_eq(v_->type, (t));                                    \
        ck_assert_uint_eq(v_->len, strlen(x_));                             \
        ck_assert_ptr_nonnull(v_->p);                                       \
        ck_assert_mem_eq(v_->p, x_, v_->len);                               \
    } while (0)

#define ck_json_absent(v)                                                   \
    do {                                                                    \
        ck_assert_int_eq((v)->type, JSON_ABSENT);                           \
        ck_assert_ptr_null((v)->p);                                         \
    } while (0)

/* Like ck_assert(), but silent on success: Check records every passing
 * ck_assert_*() (a write to its pipe), which dominates the random tests. */
#define ck_fast(cond)                                                       \
    do {                                                                    \
        if (!(cond)) {                                                      \
            ck_abort_msg("Assertion '%s' failed", #cond);                   \
        }                                                                   \
    } while (0)

/* Asserts the result of scanning a C string, in both string loops. */
#define ck_scan(s, expect)                                                  \
    do {                                                                    \
        const char  *s_ = (s);                                              \
        ck_assert_msg(scan_both(s_, strlen(s_)) == (expect),                \
                      "json_scan(\"%s\") = %s, want %s", s_,                \
                      json_strerror(scan_both(s_, strlen(s_))),            \
                      json_strerror(expect));                               \
    } while (0)


/* Fixture */

static const char *const wanted[NKEYS] = {
    "Product", "Api", "HttpCode", "T", "F", "N", "O", "A", "Num", "",
    "Ext5", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "Product"
};

static json_keys_t  *keys;
static json_val_t    out[NKEYS];


static void
setup(void)
{
    keys = json_keys_create(wanted, NKEYS);
    ck_assert_ptr_nonnull(keys);
}


static void
teardown(void)
{
    json_keys_destroy(keys);
    keys = NULL;
}


static int
scan(const char *s)
{
    return json_scan(keys, s, strlen(s), out);
}


/* Scans buf with the scalar, SSE2 and AVX2 string loops; fails the test
 * when they disagree (result or slices).  Also scans an exact-size heap
 * copy, so that AddressSanitizer sees any read past the end.  Returns the
 * result.  out[] holds the values of the loop json_scan() uses (slices of
 * buf). */
static int
scan_both(const char *buf, size_t len)
{
    json_val_t   o2[NKEYS], o3[NKEYS];
    char        *copy;
    int          r1, r2, r3, i, simd;

    r1 = json__scan_mode(keys, buf, len, o2, 0);
    for (simd = 5; simd >= 1; simd--) {
        r2 = json__scan_mode(keys, buf, len, out, simd);
        ck_fast(r1 == r2);
        if (r1 == JSON_OK) {
            for (i = 0; i < NKEYS; i++) {
                ck_fast(o2[i].type == out[i].type);
                ck_fast(o2[i].p == out[i].p);
                ck_fast(o2[i].len == out[i].len);
                ck_fast(o2[i].escaped == out[i].escaped);
            }
        }
    }
    r2 = json__scan_mode(keys, buf, len, out, json__simd_best());

    copy = malloc(len ? len : 1);
    ck_fast(copy != NULL);
    memcpy(copy, buf, len);
    r3 = json__scan_mode(keys, copy, len, o3, json__simd_best());
    ck_fast(r3 == r2);
    if (r3 == JSON_OK) {
        for (i = 0; i < NKEYS; i++) {
            ck_fast(o3[i].type == out[i].type);
            ck_fast(o3[i].len == out[i].len);
            if (o3[i].type != JSON_ABSENT) {
                ck_fast(o3[i].p - copy == out[i].p - buf);
            }
        }
    }
    free(copy);
    return r2;
}


/* A tiny deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t  rng_state;


static uint32_t
rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 2685821657736338717ULL) >> 32);
}


/* Core */

START_TEST(test_all_types)
{
    const char  *line =
        "{\"Product\":\"acc\",\"Api\":\"Describe\",\"HttpCode\":404,"
        "\"T\":true,\"F\":false,\"N\":null,\"O\":{\"a\":[1,{\"b\":\"}]\"}]},"
        "\"A\":[1,{\"c\":2},\"]\"],\"Num\":-12.5e+3,\"\":\"empty key\","
        "\"Ext5\":{}}";

    ck_assert_int_eq(scan_both(line, strlen(line)), JSON_OK);
    ck_json_val(&out[K_PRODUCT], JSON_STRING, "acc");
    ck_assert_ptr_eq(out[K_PRODUCT].p, line + 12);
    ck_assert_int_eq(out[K_PRODUCT].escaped, 0);
    ck_json_val(&out[K_API], JSON_STRING, "Describe");
    ck_json_val(&out[K_HTTP], JSON_NUMBER, "404");
    ck_json_val(&out[K_T], JSON_TRUE, "true");
    ck_json_val(&out[K_F], JSON_FALSE, "false");
    ck_json_val(&out[K_N], JSON_NULL, "null");
    ck_json_val(&out[K_O], JSON_OBJECT, "{\"a\":[1,{\"b\":\"}]\"}]}");
    ck_json_val(&out[K_A], JSON_ARRAY, "[1,{\"c\":2},\"]\"]");
    ck_json_val(&out[K_NUM], JSON_NUMBER, "-12.5e+3");
    ck_json_val(&out[K_EMPTY], JSON_STRING, "empty key");
    ck_json_val(&out[K_EXT5], JSON_OBJECT, "{}");
    ck_json_absent(&out[K_UNI]);
    /* The same key wanted twice fills both slots. */
    ck_json_val(&out[K_PRODUCT2], JSON_STRING, "acc");
}
END_TEST


START_TEST(test_absent_and_empty_object)
{
    int  i;

    ck_assert_int_eq(scan("{}"), JSON_OK);
    for (i = 0; i < NKEYS; i++) {
        ck_json_absent(&out[i]);
    }
    ck_assert_int_eq(scan("{\"Other\":1,\"Products\":2,\"Produc\":3}"),
                     JSON_OK);
    for (i = 0; i < NKEYS; i++) {
        ck_json_absent(&out[i]);
    }
    ck_assert_int_eq(scan("  {  }  "), JSON_OK);
    ck_assert_int_eq(scan("{\"a\":[],\"b\":{},\"c\":[[]],\"d\":[{}]}"),
                     JSON_OK);
}
END_TEST


START_TEST(test_key_order)
{
    ck_assert_int_eq(scan("{\"HttpCode\":\"200\",\"Api\":\"B\","
                          "\"Product\":\"ecs\"}"), JSON_OK);
    ck_json_val(&out[K_PRODUCT], JSON_STRING, "ecs");
    ck_json_val(&out[K_API], JSON_STRING, "B");
    ck_json_val(&out[K_HTTP], JSON_STRING, "200");

    ck_assert_int_eq(scan("{\"Api\":\"B\",\"x\":1,\"HttpCode\":\"200\"}"),
                     JSON_OK);
    ck_json_absent(&out[K_PRODUCT]);
    ck_json_val(&out[K_API], JSON_STRING, "B");
}
END_TEST


START_TEST(test_whitespace)
{
    const char  *line = " \t\r\n{ \t\"Api\" \r\n : \t \"x\" \n , \"HttpCode\""
                        "\t:\r404\n,\"A\" : [ 1 , { \"k\" : null } ] ,"
                        "\"Num\":\r\n-0\t}\r\n ";

    ck_assert_int_eq(scan_both(line, strlen(line)), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "x");
    ck_json_val(&out[K_HTTP], JSON_NUMBER, "404");
    ck_json_val(&out[K_A], JSON_ARRAY, "[ 1 , { \"k\" : null } ]");
    ck_json_val(&out[K_NUM], JSON_NUMBER, "-0");

    /* Other blanks are not JSON whitespace. */
    ck_scan("{\"a\":1}\f", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":1}\v", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":\v1}", JSON_ERR_SYNTAX);
    ck_scan("\xC2\xA0{\"a\":1}", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":1}\n\n", JSON_OK);
}
END_TEST


START_TEST(test_nested_decoys)
{
    ck_assert_int_eq(scan("{\"x\":{\"Api\":\"no\"},\"Api\":\"yes\"}"),
                     JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "yes");

    ck_assert_int_eq(scan("{\"Api\":\"yes\",\"x\":{\"Api\":\"no\"}}"),
                     JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "yes");

    ck_assert_int_eq(scan("{\"x\":[{\"Api\":1}],\"y\":{\"z\":{\"Api\":2}}}"),
                     JSON_OK);
    ck_json_absent(&out[K_API]);

    /* A string value that looks like a key is a value. */
    ck_assert_int_eq(scan("{\"x\":\"Api\",\"y\":[\"Api\",\"Product\"]}"),
                     JSON_OK);
    ck_json_absent(&out[K_API]);
    ck_json_absent(&out[K_PRODUCT]);

    /* A nested JSON text inside a string (as Ext5 holds) is a string. */
    ck_assert_int_eq(scan("{\"Ext5\":\"{\\\"Api\\\":\\\"no\\\"}\"}"),
                     JSON_OK);
    ck_json_val(&out[K_EXT5], JSON_STRING, "{\\\"Api\\\":\\\"no\\\"}");
    ck_assert_int_eq(out[K_EXT5].escaped, 1);
    ck_json_absent(&out[K_API]);

    ck_assert_int_eq(scan("[{\"Api\":1}]"), JSON_ERR_NOT_OBJECT);
}
END_TEST


START_TEST(test_duplicates)
{
    ck_assert_int_eq(scan("{\"Product\":\"a\",\"Product\":\"b\"}"), JSON_OK);
    ck_json_val(&out[K_PRODUCT], JSON_STRING, "b");
    ck_json_val(&out[K_PRODUCT2], JSON_STRING, "b");

    ck_assert_int_eq(scan("{\"Product\":\"a\",\"x\":1,\"Product\":null}"),
                     JSON_OK);
    ck_json_val(&out[K_PRODUCT], JSON_NULL, "null");

    ck_assert_int_eq(scan("{\"O\":[1],\"O\":{\"k\":2}}"), JSON_OK);
    ck_json_val(&out[K_O], JSON_OBJECT, "{\"k\":2}");

    ck_assert_int_eq(scan("{\"Api\":\"x\\n\",\"Api\":\"y\"}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "y");
    ck_assert_int_eq(out[K_API].escaped, 0);

    /* An escaped spelling of the same key is the same key. */
    ck_assert_int_eq(scan("{\"Api\":1,\"\\u0041pi\":2}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_NUMBER, "2");
}
END_TEST


START_TEST(test_numbers)
{
    static const char *const ok[] = {
        "0", "-0", "1", "-1", "10", "1234567890", "1E+2", "1e2", "1E-2",
        "0.5e-3", "-0.0", "0e0", "1.25", "-12.5E+10", "123456789012345678901"
    };
    char    line[128];
    size_t  i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(line, sizeof(line), "{\"Num\":%s}", ok[i]);
        ck_assert_int_eq(scan(line), JSON_OK);
        ck_json_val(&out[K_NUM], JSON_NUMBER, ok[i]);
        snprintf(line, sizeof(line), "{\"Num\": %s ,\"x\":[%s]}", ok[i],
                 ok[i]);
        ck_assert_int_eq(scan(line), JSON_OK);
        ck_json_val(&out[K_NUM], JSON_NUMBER, ok[i]);
        ck_assert_int_eq(json_is_number(ok[i], strlen(ok[i])), 1);
    }
}
END_TEST


START_TEST(test_is_number)
{
    static const char *const bad[] = {
        "", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1E-", "0x10",
        " 14", "14 ", "1.5.2", "1e5e5", "NaN", "Infinity", "-Infinity",
        "1,0", "--1", "1_000", "0.e1", "\xEF\xBC\x91"
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(json_is_number(bad[i], strlen(bad[i])) == 0,
                      "json_is_number(\"%s\") != 0", bad[i]);
    }
    ck_assert_int_eq(json_is_number("14", 2), 1);
    ck_assert_int_eq(json_is_number("1e3", 3), 1);
    /* Only the given length counts. */
    ck_assert_int_eq(json_is_number("14x", 2), 1);
    ck_assert_int_eq(json_is_number("1.5", 2), 0);
}
END_TEST


START_TEST(test_high_bytes)
{
    /* Bytes >= 0x80 are taken as they are inside strings, even when they
     * are not UTF-8, ... */
    ck_assert_int_eq(scan("{\"Api\":\"\xFF\xFE\xC3\xA9\x80\"}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "\xFF\xFE\xC3\xA9\x80");
    ck_assert_int_eq(scan("{\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\":7}"),
                     JSON_OK);
    ck_json_val(&out[K_UNI], JSON_NUMBER, "7");
    ck_assert_int_eq(scan("{\"\\u00e9\\u20AC\\ud83d\\ude00\":8}"), JSON_OK);
    ck_json_val(&out[K_UNI], JSON_NUMBER, "8");
    ck_assert_int_eq(scan("{\"Api\":\"\x7F\"}"), JSON_OK);

    /* ... and refused everywhere else. */
    ck_scan("{\"a\":1}\xC2\xA0", JSON_ERR_SYNTAX);
    ck_scan("{\x80\"a\":1}", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":\xE2\x80\x9Cx\xE2\x80\x9D}", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":1\xFF}", JSON_ERR_SYNTAX);
}
END_TEST


START_TEST(test_strerror)
{
    ck_assert_str_eq(json_strerror(JSON_OK), "ok");
    ck_assert_str_eq(json_strerror(JSON_ERR_EMPTY), "empty");
    ck_assert_str_eq(json_strerror(JSON_ERR_NOT_OBJECT), "not_object");
    ck_assert_str_eq(json_strerror(JSON_ERR_TRUNCATED), "truncated");
    ck_assert_str_eq(json_strerror(JSON_ERR_SYNTAX), "syntax");
    ck_assert_str_eq(json_strerror(JSON_ERR_TOO_DEEP), "too_deep");
}
END_TEST


START_TEST(test_keys_edge)
{
    json_keys_t  *k;
    json_val_t    v[1];

    k = json_keys_create(NULL, 0);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(json_scan(k, "{\"a\":1}", 7, v), JSON_OK);
    ck_assert_int_eq(json_scan(k, "{\"a\":1", 6, v), JSON_ERR_TRUNCATED);
    json_keys_destroy(k);
    json_keys_destroy(NULL);

    /* The buffer need not be NUL-terminated: only len bytes are read. */
    ck_assert_int_eq(json_scan(keys, "{\"Api\":12}}}}", 10, out), JSON_OK);
    ck_json_val(&out[K_API], JSON_NUMBER, "12");
    ck_assert_int_eq(json_scan(keys, "{\"Api\":12}", 9, out),
                     JSON_ERR_TRUNCATED);
    ck_assert_int_eq(json_scan(keys, "{\"Api\":true}", 10, out),
                     JSON_ERR_TRUNCATED);
}
END_TEST


/* Escapes */

START_TEST(test_escaped_keys)
{
    ck_assert_int_eq(scan("{\"Pro\\u0064uct\":\"p\"}"), JSON_OK);
    ck_json_val(&out[K_PRODUCT], JSON_STRING, "p");
    ck_json_val(&out[K_PRODUCT2], JSON_STRING, "p");

    ck_assert_int_eq(scan("{\"\\u0050\\u0072\\u006F\\u0064\\u0075\\u0063"
                          "\\u0074\":1}"), JSON_OK);
    ck_json_val(&out[K_PRODUCT], JSON_NUMBER, "1");

    ck_assert_int_eq(scan("{\"Product\\u0000\":\"p\",\"\\/Api\":1,"
                          "\"Api\\n\":2,\"A\\u0070\\u0069 \":3}"), JSON_OK);
    ck_json_absent(&out[K_PRODUCT]);
    ck_json_absent(&out[K_API]);

    ck_assert_int_eq(scan("{\"\\u0000\":1}"), JSON_OK);
    ck_json_absent(&out[K_EMPTY]);
    ck_assert_int_eq(scan("{\"\":1}"), JSON_OK);
    ck_json_val(&out[K_EMPTY], JSON_NUMBER, "1");

    /* A lone surrogate in a key is U+FFFD, not the raw code unit. */
    ck_assert_int_eq(scan("{\"\\u00e9\\u20ac\\ud83d\":1}"), JSON_OK);
    ck_json_absent(&out[K_UNI]);
}
END_TEST


START_TEST(test_long_escaped_keys)
{
    static const char  hex[] = "0123456789abcdef";
    json_keys_t        *k;
    json_val_t          v[3];
    const char         *names[3];
    char               *longkey, *line, *w;
    size_t              i, n;

    /* A wanted key of 300 bytes, written with one \u escape per byte
     * (1800 bytes in the input), must match; so must one made of plain
     * bytes plus a single escape; a key one byte different must not. */
    n = 300;
    longkey = malloc(n + 1);
    line = malloc(n * 6 * 3 + 64);
    ck_assert_ptr_nonnull(longkey);
    ck_assert_ptr_nonnull(line);
    for (i = 0; i < n; i++) {
        longkey[i] = (char) ('a' + i % 26);
    }
    longkey[n] = '\0';
    names[0] = longkey;
    names[1] = "short";
    names[2] = "Api";
    k = json_keys_create(names, 3);
    ck_assert_ptr_nonnull(k);

    w = line;
    *w++ = '{';
    *w++ = '"';
    for (i = 0; i < n; i++) {
        w += sprintf(w, "\\u00%c%c", hex[(unsigned char) longkey[i] >> 4],
                     hex[longkey[i] & 15]);
    }
    w += sprintf(w, "\":1}");
    ck_assert_int_eq(json_scan(k, line, (size_t) (w - line), v), JSON_OK);
    ck_json_val(&v[0], JSON_NUMBER, "1");

    /* Plain bytes with one escape at the very end. */
    w = line;
    w += sprintf(w, "{\"Api\":0,\"%.*s\\u00%c%c\":2}", (int) (n - 1),
                 longkey, hex[(unsigned char) longkey[n - 1] >> 4],
                 hex[longkey[n - 1] & 15]);
    ck_assert_int_eq(json_scan(k, line, (size_t) (w - line), v), JSON_OK);
    ck_json_val(&v[0], JSON_NUMBER, "2");
    ck_json_val(&v[2], JSON_NUMBER, "0");

    /* The same, one byte longer: no match. */
    w = line;
    w += sprintf(w, "{\"%sx\\n\":3}", longkey);
    ck_assert_int_eq(json_scan(k, line, (size_t) (w - line), v), JSON_OK);
    ck_json_absent(&v[0]);

    /* Same length, last byte different. */
    w = line;
    w += sprintf(w, "{\"%.*s\\u0041\":4}", (int) (n - 1), longkey);
    ck_assert_int_eq(json_scan(k, line, (size_t) (w - line), v), JSON_OK);
    ck_json_absent(&v[0]);

    /* A very long escaped key that cannot match any wanted key. */
    w = line;
    *w++ = '{';
    *w++ = '"';
    for (i = 0; i < 3 * n; i++) {
        w += sprintf(w, "\\n\\t");
    }
    w += sprintf(w, "\":5,\"short\":6}");
    ck_assert_int_eq(json_scan(k, line, (size_t) (w - line), v), JSON_OK);
    ck_json_absent(&v[0]);
    ck_json_val(&v[1], JSON_NUMBER, "6");

    json_keys_destroy(k);
    free(line);
    free(longkey);
}
END_TEST


START_TEST(test_escaped_values)
{
    ck_assert_int_eq(scan("{\"Api\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti"
                          "\\u00e9\"}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING,
                "a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u00e9");
    ck_assert_int_eq(out[K_API].escaped, 1);

    ck_assert_int_eq(scan("{\"Api\":\"\\\\\"}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "\\\\");
    ck_assert_int_eq(scan("{\"Api\":\"\\\"\"}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "\\\"");
    ck_assert_int_eq(scan("{\"Api\":\"\"}"), JSON_OK);
    ck_json_val(&out[K_API], JSON_STRING, "");
    ck_assert_int_eq(out[K_API].escaped, 0);
    ck_assert_int_eq(scan("{\"Api\":\"\\uD83D\\uDE00 \\uFFFF\"}"), JSON_OK);
    ck_assert_int_eq(out[K_API].escaped, 1);
}
END_TEST


/* Checks json_unescape(in) == want (want_len bytes). */
static void
check_unescape(const char *in, const char *want, size_t want_len)
{
    char    buf[256];
    size_t  n;

    memset(buf, 0x55, sizeof(buf));
    n = json_unescape(in, strlen(in), buf);
    ck_assert_msg(n == want_len && memcmp(buf, want, n) == 0,
                  "json_unescape(\"%s\") gave %zu bytes, want %zu", in, n,
                  want_len);
    ck_assert_uint_le(n, strlen(in));
    /* No byte beyond the result is touched. */
    ck_assert_int_eq((unsigned char) buf[n], 0x55);
}


#define CHECK_UNESCAPE(in, want)                                            \
    check_unescape((in), (want), sizeof(want) - 1)

START_TEST(test_unescape)
{
    CHECK_UNESCAPE("", "");
    CHECK_UNESCAPE("plain text", "plain text");
    CHECK_UNESCAPE("\\\"\\\\\\/\\b\\f\\n\\r\\t", "\"\\/\b\f\n\r\t");
    CHECK_UNESCAPE("a\\u0041b", "aAb");
    CHECK_UNESCAPE("\\u00e9\\u00E9", "\xC3\xA9\xC3\xA9");
    CHECK_UNESCAPE("\\u07FF\\u0800", "\xDF\xBF\xE0\xA0\x80");
    CHECK_UNESCAPE("\\u20AC", "\xE2\x82\xAC");
    CHECK_UNESCAPE("\\uFFFF", "\xEF\xBF\xBF");
    CHECK_UNESCAPE("\\u0000", "\0");
    CHECK_UNESCAPE("x\\u0000y", "x\0y");
    /* Surrogate pairs become one 4-byte sequence. */
    CHECK_UNESCAPE("\\ud83d\\ude00", "\xF0\x9F\x98\x80");
    CHECK_UNESCAPE("\\uD83D\\uDE00", "\xF0\x9F\x98\x80");
    CHECK_UNESCAPE("\\uD800\\uDC00", "\xF0\x90\x80\x80");
    CHECK_UNESCAPE("\\uDBFF\\uDFFF", "\xF4\x8F\xBF\xBF");
    /* Lone surrogates become U+FFFD. */
    CHECK_UNESCAPE("\\ud83d", "\xEF\xBF\xBD");
    CHECK_UNESCAPE("\\ude00", "\xEF\xBF\xBD");
    CHECK_UNESCAPE("\\ud83dx", "\xEF\xBF\xBDx");
    CHECK_UNESCAPE("\\ud83d\\n", "\xEF\xBF\xBD\n");
    CHECK_UNESCAPE("\\ud83d\\u0041", "\xEF\xBF\xBD" "A");
    CHECK_UNESCAPE("\\ude00\\ud83d", "\xEF\xBF\xBD\xEF\xBF\xBD");
    CHECK_UNESCAPE("\\ud83d\\ud83d\\ude00", "\xEF\xBF\xBD\xF0\x9F\x98\x80");
    CHECK_UNESCAPE("\\ud83d\\ude00\\ude00", "\xF0\x9F\x98\x80\xEF\xBF\xBD");
    CHECK_UNESCAPE("a\\udfff", "a\xEF\xBF\xBD");
    /* Bytes >= 0x80 pass through. */
    CHECK_UNESCAPE("\xFF\\n\xC3\xA9", "\xFF\n\xC3\xA9");
    /* Not validated by json_scan(): copied, never read past the end. */
    CHECK_UNESCAPE("a\\", "a\\");
    CHECK_UNESCAPE("\\u12", "\\u12");
    CHECK_UNESCAPE("\\ud83d\\ude0", "\xEF\xBF\xBD\\ude0");
}
END_TEST


START_TEST(test_bad_escapes)
{
    static const char *const bad[] = {
        "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u00G0\"}",
        "{\"a\":\"\\U0041\"}", "{\"a\":\"\\'\"}", "{\"a\":\"\\a\"}",
        "{\"a\":\"\\0\"}", "{\"a\":\"\\ \"}", "{\"a\":\"\\u-123\"}",
        "{\"a\\x\":1}", "{\"a\":\"\\\xC3\xA9\"}", "{\"a\":\"\\u 123\"}",
        "{\"a\":[\"\\v\"]}", "{\"a\":\"\\u123\"}"
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_scan(bad[i], JSON_ERR_SYNTAX);
    }
}
END_TEST


START_TEST(test_control_chars)
{
    char  line[128];
    int   c, pos;

    /* Every control byte is refused raw in a string, wherever it is (the
     * positions cross the 16- and 32-byte blocks of the SSE2 loop). */
    for (c = 0; c < 0x20; c++) {
        for (pos = 0; pos < 70; pos++) {
            memset(line, 'x', sizeof(line));
            memcpy(line, "{\"Api\":\"", 8);
            line[8 + pos] = (char) c;
            memcpy(line + 8 + 80, "\"}", 2);
            ck_assert_int_eq(scan_both(line, 90), JSON_ERR_SYNTAX);
            /* In a key too. */
            line[0] = '{';
            line[1] = '"';
            memset(line + 2, 'y', 86);
            line[2 + pos] = (char) c;
            memcpy(line + 88, "\":", 2);
            memcpy(line + 90, "1}", 2);
            ck_assert_int_eq(scan_both(line, 92), JSON_ERR_SYNTAX);
        }
    }
    ck_scan("{\"a\":\"\x7F\"}", JSON_OK);
    ck_scan("{\"a\":\"\x1F\"}", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":\"\t\"}", JSON_ERR_SYNTAX);
    ck_scan("{\"a\":\"x\ny\"}", JSON_ERR_SYNTAX);
}
END_TEST


/* Invalid */

START_TEST(test_err_empty)
{
    ck_assert_int_eq(json_scan(keys, "", 0, out), JSON_ERR_EMPTY);
    ck_assert_int_eq(json_scan(keys, NULL, 0, out), JSON_ERR_EMPTY);
    ck_scan(" ", JSON_ERR_EMPTY);
    ck_scan(" \t\r\n \r\n", JSON_ERR_EMPTY);
    ck_scan("\n", JSON_ERR_EMPTY);
}
END_TEST


START_TEST(test_err_not_object)
{
    /* A complete, valid JSON value that is not an object. */
    static const char *const bad[] = {
        "[1]", "\"x\"", "42", "-0.5e3", "true", "false", "null", "[]",
        " [ {\"Api\":1} ] ", "\"{\\\"a\\\":1}\"", "\t0\r\n", "[[[]]]",
        "\"\"", "0", "[{\"a\":[{}]},\"}\"]\n"
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_scan(bad[i], JSON_ERR_NOT_OBJECT);
    }
}
END_TEST


START_TEST(test_err_truncated)
{
    static const char *const bad[] = {
        "{", " {", "{ ", "{\"", "{\"a", "{\"a\"", "{\"a\" ", "{\"a\":",
        "{\"a\": ", "{\"a\":\"b", "{\"a\":\"b\"", "{\"a\":\"b\" ",
        "{\"a\":1", "{\"a\":1,", "{\"a\":1, ", "{\"a\":-", "{\"a\":1.",
        "{\"a\":1e", "{\"a\":1e+", "{\"a\":t", "{\"a\":tru", "{\"a\":fals",
        "{\"a\":n", "{\"a\":\"\\", "{\"a\":\"\\u", "{\"a\":\"\\u00",
        "{\"a\":\"\\u00e", "{\"a\":[", "{\"a\":[1", "{\"a\":[1,",
        "{\"a\":{", "{\"a\":{\"b\":[{}", "{\"a\\", "{\"a\":true",
        "{\"a\":\"x\xC3",
        /* the same rule for a top-level value that is not an object */
        "[", "[1", "[1,", "\"abc", "-", "1.", "1e", "tru", "nul", "[{",
        "[\"\\u12", " [ 1 , {\"a\" "
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_scan(bad[i], JSON_ERR_TRUNCATED);
    }
}
END_TEST


START_TEST(test_err_syntax)
{
    static const char *const bad[] = {
        /* leading zeros, bad numbers */
        "{\"a\":01}", "{\"a\":-01}", "{\"a\":00}", "{\"a\":-}", "{\"a\":1.}",
        "{\"a\":.5}", "{\"a\":1e}", "{\"a\":1e+}", "{\"a\":+1}",
        "{\"a\":1.e5}", "{\"a\":0x10}", "{\"a\":1_0}", "{\"a\":- 1}",
        "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}",
        "{\"a\":1..2}",
        /* literals */
        "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":truex}",
        "{\"a\":nulll}", "{\"a\":undefined}", "{\"a\":t rue}",
        /* commas and colons */
        "{\"a\":1,}", "{,}", "{,\"a\":1}", "{\"a\":[1,]}", "{\"a\":[,1]}",
        "{\"a\":1 \"b\":2}", "{\"a\" 1}", "{\"a\"::1}", "{\"a\":1,,\"b\":2}",
        "{\"a\":[1 2]}", "{\"a\"}", "{\"a\",1}", "{\"a\":}", "{:1}",
        /* quotes and keys */
        "{'a':1}", "{\"a\":'b'}", "{a:1}", "{1:1}", "{null:1}",
        "{\"a\":\"b\"c\"}",
        /* brackets */
        "{\"a\":1]", "{\"a\":[1}", "{\"a\":[1]]}", "{\"a\":{]}", "{]",
        "{}}", "{}]", "{} {}", "{}x", "{}\"", "{}0", "{} ,",
        /* garbage */
        "x", "#{}", "{\"a\":1}//", "{\"a\":#}", "\xEF\xBB\xBF{}",
        /* no JSON value starts with these */
        "]", "}", ",", ":", "+1", ".5", "NaN", "Infinity", "True", "'a'",
        "\x80", "\f{}",
        /* invalid top-level values that are not objects */
        "[1,]", "[1]x", "42 43", "01", "f}", "[{\"a\":1}]{}", "-a", "[}",
        "\"\\x\"", "truex"
    };
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_scan(bad[i], JSON_ERR_SYNTAX);
    }

    /* An embedded NUL is a byte like any other: refused outside strings
     * and as a raw control byte inside them. */
    ck_assert_int_eq(json_scan(keys, "{}\0", 3, out), JSON_ERR_SYNTAX);
    ck_assert_int_eq(json_scan(keys, "\0{}", 3, out), JSON_ERR_SYNTAX);
    ck_assert_int_eq(json_scan(keys, "{\"a\":\"\0\"}", 8, out),
                     JSON_ERR_SYNTAX);
}
END_TEST


/* Limits */

/* Builds {"A": + (depth - 1) containers + 1 + closers + }, i.e. a text
 * whose deepest container is at nesting depth `depth`.  obj selects
 * {"k":...} rather than [...] for the inner containers.  Caller frees. */
static char *
nested(size_t depth, int obj, int close, size_t *len)
{
    char    *buf, *w;
    size_t   i;

    buf = malloc(depth * 6 + 32);
    ck_assert_ptr_nonnull(buf);
    w = buf;
    w += sprintf(w, "{\"A\":");
    for (i = 1; i < depth; i++) {
        w += sprintf(w, obj ? "{\"k\":" : "[");
    }
    *w++ = '1';
    if (close) {
        for (i = 1; i < depth; i++) {
            *w++ = obj ? '}' : ']';
        }
        *w++ = '}';
    }
    *len = (size_t) (w - buf);
    return buf;
}


START_TEST(test_depth)
{
    char    *buf;
    size_t   len;
    int      obj;

    for (obj = 0; obj < 2; obj++) {
        buf = nested(JSON_MAX_DEPTH, obj, 1, &len);
        ck_assert_int_eq(json_scan(keys, buf, len, out), JSON_OK);
        ck_assert_int_eq(out[K_A].type, obj ? JSON_OBJECT : JSON_ARRAY);
        ck_assert_ptr_eq(out[K_A].p, buf + 5);
        ck_assert_uint_eq(out[K_A].len, len - 6);
        free(buf);

        buf = nested(JSON_MAX_DEPTH + 1, obj, 1, &len);
        ck_assert_int_eq(json_scan(keys, buf, len, out), JSON_ERR_TOO_DEEP);
        free(buf);

        /* Too deep is found before the end of the input is. */
        buf = nested(JSON_MAX_DEPTH + 1, obj, 0, &len);
        ck_assert_int_eq(json_scan(keys, buf, len, out), JSON_ERR_TOO_DEEP);
        free(buf);

        buf = nested(JSON_MAX_DEPTH, obj, 0, &len);
        ck_assert_int_eq(json_scan(keys, buf, len, out), JSON_ERR_TRUNCATED);
        free(buf);
    }
}
END_TEST


START_TEST(test_very_deep)
{
    char    *buf;
    size_t   n = 1000000, i;

    buf = malloc(n + 2);
    ck_assert_ptr_nonnull(buf);
    memset(buf, '[', n);
    ck_assert_int_eq(json_scan(keys, buf, n, out), JSON_ERR_TOO_DEEP);
    buf[0] = '{';
    buf[1] = '"';
    buf[2] = '"';
    buf[3] = ':';
    ck_assert_int_eq(json_scan(keys, buf, n, out), JSON_ERR_TOO_DEEP);
    /* Objects all the way down. */
    for (i = 0; i + 5 <= n; i += 5) {
        memcpy(buf + i, "{\"k\":", 5);
    }
    ck_assert_int_eq(json_scan(keys, buf, i, out), JSON_ERR_TOO_DEEP);
    memset(buf, '{', n);
    ck_assert_int_eq(json_scan(keys, buf, n, out), JSON_ERR_SYNTAX);
    free(buf);
}
END_TEST


START_TEST(test_huge_string)
{
    size_t   n = 10 * 1024 * 1024, i;
    char    *buf;
    int      simd;

    buf = malloc(n + 64);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "{\"Ext5\":\"", 9);
    for (i = 9; i < n + 9; i++) {
        buf[i] = (char) ('a' + i % 26);
    }
    memcpy(buf + 9 + n, "\",\"Api\":1}", 10);

    for (simd = 0; simd < 6; simd++) {
        ck_assert_int_eq(json__scan_mode(keys, buf, n + 19, out, simd),
                         JSON_OK);
        ck_assert_int_eq(out[K_EXT5].type, JSON_STRING);
        ck_assert_ptr_eq(out[K_EXT5].p, buf + 9);
        ck_assert_uint_eq(out[K_EXT5].len, n);
        ck_json_val(&out[K_API], JSON_NUMBER, "1");

        /* The same, cut inside the string. */
        ck_assert_int_eq(json__scan_mode(keys, buf, n, out, simd),
                         JSON_ERR_TRUNCATED);
    }

    /* Every 7th byte an escape. */
    for (i = 9; i + 2 < n + 9; i += 7) {
        buf[i] = '\\';
        buf[i + 1] = '"';
    }
    ck_assert_int_eq(scan_both(buf, n + 19), JSON_OK);
    ck_assert_int_eq(out[K_EXT5].escaped, 1);
    ck_assert_uint_eq(out[K_EXT5].len, n);
    free(buf);
}
END_TEST


/* Random strings made mostly of the bytes the string loop cares about, in
 * the three loops: same result and same slices. */
START_TEST(test_simd_equivalence)
{
    static const char  pool[] = "\"\\\\\\\\unrtbf/0aAfF\x01\x1f\x20\x7f"
                                "\x80\xff" "xxxxxxxxxxxxxxxx";
    char    buf[256];
    size_t  len, slen, i;
    int     t, r;
    int     counts[6] = { 0 };

    rng_state = 0x9E3779B97F4A7C15ULL;
    for (t = 0; t < 200000; t++) {
        slen = rnd() % 120;
        memcpy(buf, "{\"Api\":\"", 8);
        for (i = 0; i < slen; i++) {
            if (rnd() % 4 == 0) {
                buf[8 + i] = pool[rnd() % (sizeof(pool) - 1)];
            } else {
                buf[8 + i] = (char) ('a' + rnd() % 26);
            }
        }
        len = 8 + slen;
        if (rnd() % 2) {
            memcpy(buf + len, "\",\"Num\":1}", 10);
            len += 10;
        }
        r = scan_both(buf, len);
        counts[-r]++;
        if (r == JSON_OK) {
            ck_fast(out[K_API].type == JSON_STRING);
            ck_fast(out[K_API].p == buf + 8);
        }
    }
    /* Both outcomes occurred often enough to mean something. */
    ck_assert_int_gt(counts[0], 1000);
    ck_assert_int_gt(counts[-JSON_ERR_SYNTAX], 1000);
    ck_assert_int_gt(counts[-JSON_ERR_TRUNCATED], 1000);
}
END_TEST


/* Every escape, quote and bad byte at every offset across the 64-byte
 * blocks of the block classifier (the string starts at any offset of a
 * block and the pattern straddles the next boundary at each of its
 * bytes), and every prefix of those texts: all scanners agree. */
START_TEST(test_block_boundaries)
{
    static const char *const pats[] = {
        "\\\"", "\\\\", "\\\\\\\"", "\\\\\\\\\"", "\\\\\\\\\\\\\\\"",
        "\\\\\\", "\\\\\\\\x", "\\u00e9", "\\uD83D\\uDE00", "\\u12\"",
        "\\u12G4", "\\uABCDx", "\\x", "\\\x01", "\x1f", "\"", "\\/\\b\\f",
        "\\n\\r\\t", "\\u", "\\u0", "\\u00", "\\u004", "\\"
    };
    char    buf[256];
    size_t  np = sizeof(pats) / sizeof(pats[0]);
    size_t  pad, at, i, len, plen, cut;
    int     counts[6] = { 0 }, r;

    for (i = 0; i < np; i++) {
        plen = strlen(pats[i]);
        for (pad = 0; pad < 64; pad += 7) {
            for (at = 0; at < 72; at++) {
                /* {"N":<pad spaces>"<at x>PAT<x...>","Api":1} */
                len = 0;
                memcpy(buf, "{\"N\":", 5);
                len = 5;
                memset(buf + len, ' ', pad);
                len += pad;
                buf[len++] = '"';
                memset(buf + len, 'x', at);
                len += at;
                memcpy(buf + len, pats[i], plen);
                len += plen;
                memset(buf + len, 'y', 70 - at % 70);
                len += 70 - at % 70;
                memcpy(buf + len, "\",\"Api\":1}", 10);
                len += 10;
                ck_fast(len <= sizeof(buf));
                r = scan_both(buf, len);
                counts[-r]++;
                if (at % 8 == 0 || (pad + 6 + at) % 64 > 56) {
                    for (cut = pad + 6 + at; cut < len; cut++) {
                        (void) scan_both(buf, cut);
                    }
                }
            }
        }
    }
    ck_assert_int_gt(counts[0], 1000);
    ck_assert_int_gt(counts[-JSON_ERR_SYNTAX], 1000);
}
END_TEST


/* Random valid objects */

typedef struct {
    char    *w;                     /* write position */
    char    *end;
} gen_t;


static void
gen_put(gen_t *g, const char *s, size_t n)
{
    ck_fast(n <= (size_t) (g->end - g->w));
    memcpy(g->w, s, n);
    g->w += n;
}


static void
gen_ws(gen_t *g)
{
    static const char  ws[] = " \t\r\n";

    while (rnd() % 4 == 0) {
        gen_put(g, &ws[rnd() % 4], 1);
    }
}


/* Writes the JSON string for the bytes s[0..n), escaping some of them at
 * random (and always the ones that must be). */
static void
gen_string(gen_t *g, const char *s, size_t n)
{
    static const char  hex[] = "0123456789abcdef";
    char               tmp[8];
    unsigned char      c;
    size_t             i;

    gen_put(g, "\"", 1);
    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];
        if (c < 0x20 || c == '"' || c == '\\' || rnd() % 8 == 0) {
            if (c == '"' || c == '\\') {
                tmp[0] = '\\';
                tmp[1] = (char) c;
                gen_put(g, tmp, 2);
            } else if (c == '\n') {
                gen_put(g, "\\n", 2);
            } else if (c == '/' && rnd() % 2) {
                gen_put(g, "\\/", 2);
            } else if (c < 0x80) {
                snprintf(tmp, sizeof(tmp), "\\u00%c%c", hex[c >> 4],
                         (rnd() % 2) ? hex[c & 15]
                                     : "0123456789ABCDEF"[c & 15]);
                gen_put(g, tmp, 6);
            } else {
                gen_put(g, (const char *) &c, 1);
            }
        } else {
            gen_put(g, (const char *) &c, 1);
        }
    }
    gen_put(g, "\"", 1);
}


/* Writes a random value of nesting at most depth; returns its type. */
static json_type_t
gen_value(gen_t *g, int depth)
{
    static const char *const nums[] = {
        "0", "-0", "12", "-3.25", "1e9", "2E-3", "0.5e+7", "404"
    };
    static const char *const decoys[] = {
        "Api", "Product", "T", "", "HttpCode"
    };
    char         str[64];
    size_t       n, i, items;
    unsigned     kind;

    kind = rnd() % (depth > 0 ? 8 : 6);
    switch (kind) {
    case 0:
    case 1:
        n = rnd() % 40;
        for (i = 0; i < n; i++) {
            str[i] = (char) (rnd() % 6 == 0 ? (rnd() % 256 ? rnd() % 256 : 1)
                                            : ' ' + rnd() % 95);
        }
        gen_string(g, str, n);
        return JSON_STRING;
    case 2:
        n = rnd() % (sizeof(nums) / sizeof(nums[0]));
        gen_put(g, nums[n], strlen(nums[n]));
        return JSON_NUMBER;
    case 3:
        gen_put(g, "true", 4);
        return JSON_TRUE;
    case 4:
        gen_put(g, "false", 5);
        return JSON_FALSE;
    case 5:
        gen_put(g, "null", 4);
        return JSON_NULL;
    case 6:
        gen_put(g, "{", 1);
        items = rnd() % 4;
        for (i = 0; i < items; i++) {
            gen_ws(g);
            n = rnd() % (sizeof(decoys) / sizeof(decoys[0]));
            gen_string(g, decoys[n], strlen(decoys[n]));
            gen_ws(g);
            gen_put(g, ":", 1);
            gen_ws(g);
            (void) gen_value(g, depth - 1);
            gen_ws(g);
            if (i + 1 < items) {
                gen_put(g, ",", 1);
            }
        }
        gen_ws(g);
        gen_put(g, "}", 1);
        return JSON_OBJECT;
    default:
        gen_put(g, "[", 1);
        items = rnd() % 4;
        for (i = 0; i < items; i++) {
            gen_ws(g);
            (void) gen_value(g, depth - 1);
            gen_ws(g);
            if (i + 1 < items) {
                gen_put(g, ",", 1);
            }
        }
        gen_ws(g);
        gen_put(g, "]", 1);
        return JSON_ARRAY;
    }
}


START_TEST(test_random_objects)
{
    static const char *const others[] = {
        "Apis", "Produc", "t", "AK", "ClientIp", "__time__", "ext5", "Num "
    };
    char         *buf;
    gen_t         g;
    json_val_t    want[NKEYS];
    json_type_t   type;
    size_t        items, i, len, plen;
    char         *vstart;
    int           t, which, j, r;

    buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    rng_state = 0x2545F4914F6CDD1DULL;

    for (t = 0; t < 3000; t++) {
        memset(want, 0, sizeof(want));
        g.w = buf;
        g.end = buf + (1 << 20);

        gen_ws(&g);
        gen_put(&g, "{", 1);
        items = rnd() % 16;
        for (i = 0; i < items; i++) {
            gen_ws(&g);
            which = (int) (rnd() % (NKEYS + 8));
            if (which < NKEYS) {
                gen_string(&g, wanted[which], strlen(wanted[which]));
            } else {
                gen_string(&g, others[which - NKEYS],
                           strlen(others[which - NKEYS]));
            }
            gen_ws(&g);
            gen_put(&g, ":", 1);
            gen_ws(&g);
            vstart = g.w;
            type = gen_value(&g, 3);
            if (which < NKEYS) {
                for (j = 0; j < NKEYS; j++) {
                    if (strcmp(wanted[j], wanted[which]) != 0) {
                        continue;
                    }
                    want[j].type = type;
                    if (type == JSON_STRING) {
                        want[j].p = vstart + 1;
                        want[j].len = (size_t) (g.w - vstart) - 2;
                        want[j].escaped =
                            memchr(vstart + 1, '\\', want[j].len) != NULL;
                    } else {
                        want[j].p = vstart;
                        want[j].len = (size_t) (g.w - vstart);
                    }
                }
            }
            gen_ws(&g);
            if (i + 1 < items) {
                gen_put(&g, ",", 1);
            }
        }
        gen_ws(&g);
        gen_put(&g, "}", 1);
        plen = (size_t) (g.w - buf);
        gen_ws(&g);
        len = (size_t) (g.w - buf);

        ck_fast(scan_both(buf, len) == JSON_OK);
        for (j = 0; j < NKEYS; j++) {
            ck_fast(out[j].type == want[j].type);
            if (want[j].type != JSON_ABSENT) {
                ck_fast(out[j].p == want[j].p);
                ck_fast(out[j].len == want[j].len);
            }
            if (want[j].type == JSON_STRING) {
                ck_fast(out[j].escaped == want[j].escaped);
            }
        }

        /* Every cut before the closing brace is truncated (or empty when
         * it holds only whitespace); a byte of garbage after it is not. */
        for (i = 0; i < plen; i += 1 + rnd() % 8) {
            r = scan_both(buf, i);
            if (r == JSON_ERR_EMPTY) {
                ck_fast(memchr(buf, '{', i) == NULL);
            } else {
                ck_fast(r == JSON_ERR_TRUNCATED);
            }
        }
        buf[len] = 'x';
        ck_fast(scan_both(buf, len + 1) == JSON_ERR_SYNTAX);
    }
    free(buf);
}
END_TEST


/* Random one-byte mutations of a seed-like line: the two string loops must
 * agree, whatever the outcome. */
START_TEST(test_random_mutations)
{
    static const char  seed[] =
        "{\"AK\":\"STS.NZD***Lgwc\",\"Api\":\"DescribeCustomResourceDetail\","
        "\"CallerUid\":\"109837***3503\",\"Ext5\":\"{\\\"logRegionId\\\":"
        "\\\"cn-huhehaote\\\",\\\"callerInfo\\\":{\\\"a\\\":[1,2.5e3,true]}}\","
        "\"HttpCode\":\"404\",\"T\":[null,false,{\"x\":-0}],\"Num\":14}";
    static const char  bytes[] = "{}[]\":,\\ -0.eE+tfnu\x01\x80";
    char               buf[sizeof(seed)];
    size_t             len = sizeof(seed) - 1, pos;
    int                t;

    ck_assert_int_eq(scan_both(seed, len), JSON_OK);
    rng_state = 0xDEADBEEFCAFEF00DULL;
    for (t = 0; t < 100000; t++) {
        memcpy(buf, seed, len);
        pos = rnd() % len;
        buf[pos] = bytes[rnd() % (sizeof(bytes) - 1)];
        if (rnd() % 3 == 0) {
            pos = rnd() % len;
            buf[pos] = bytes[rnd() % (sizeof(bytes) - 1)];
        }
        (void) scan_both(buf, rnd() % 5 ? len : rnd() % len);
    }
}
END_TEST


Suite *
json_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("json");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_all_types);
    tcase_add_test(tc, test_absent_and_empty_object);
    tcase_add_test(tc, test_key_order);
    tcase_add_test(tc, test_whitespace);
    tcase_add_test(tc, test_nested_decoys);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_is_number);
    tcase_add_test(tc, test_high_bytes);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_keys_edge);
    suite_add_tcase(s, tc);

    tc = tcase_create("Escapes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_escaped_keys);
    tcase_add_test(tc, test_long_escaped_keys);
    tcase_add_test(tc, test_escaped_values);
    tcase_add_test(tc, test_unescape);
    tcase_add_test(tc, test_bad_escapes);
    tcase_add_test(tc, test_control_chars);
    suite_add_tcase(s, tc);

    tc = tcase_create("Invalid");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_err_empty);
    tcase_add_test(tc, test_err_not_object);
    tcase_add_test(tc, test_err_truncated);
    tcase_add_test(tc, test_err_syntax);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_depth);
    tcase_add_test(tc, test_very_deep);
    tcase_add_test(tc, test_huge_string);
    suite_add_tcase(s, tc);

    tc = tcase_create("Random");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_simd_equivalence);
    tcase_add_test(tc, test_block_boundaries);
    tcase_add_test(tc, test_random_objects);
    tcase_add_test(tc, test_random_mutations);
    suite_add_tcase(s, tc);

    return s;
}
