/* check_utf8.c - Unit tests for parsers/utf8.c (validation and repair). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "parsers/utf8.h"


/* Macros */

#define FFFD    "\xEF\xBF\xBD"

/* Like ck_assert(), but silent on success: Check records every passing
 * ck_assert_*() (a write to its pipe), which dominates the loops below. */
#define ck_fast(cond)                                                       \
    do {                                                                    \
        if (!(cond)) {                                                      \
            ck_abort_msg("Assertion '%s' failed", #cond);                   \
        }                                                                   \
    } while (0)

/* Asserts utf8_repair(in) == want, and utf8_valid_prefix(in) == vp. */
#define ck_repair(in, want, vp)                                             \
    check_repair((in), sizeof(in) - 1, (want), sizeof(want) - 1, (vp),     \
                 __LINE__)


/* Types */

typedef struct {
    const char  *in;
    size_t       in_len;
    const char  *out;
    size_t       out_len;
} utf8_case_t;


static void
check_repair(const char *in, size_t in_len, const char *want,
    size_t want_len, size_t vp, int line)
{
    char    *buf;
    size_t   n;

    buf = malloc(UTF8_REPAIR_MAX(in_len) + 1);
    ck_assert_ptr_nonnull(buf);
    n = utf8_repair(in, in_len, buf, UTF8_REPAIR_MAX(in_len));
    ck_assert_msg(n == want_len && memcmp(buf, want, n) == 0,
                  "line %d: utf8_repair gave %zu bytes, want %zu", line, n,
                  want_len);
    ck_assert_msg(utf8_valid_prefix(in, in_len) == vp,
                  "line %d: utf8_valid_prefix = %zu, want %zu", line,
                  utf8_valid_prefix(in, in_len), vp);
    free(buf);
}


/* Core */

START_TEST(test_valid)
{
    ck_repair("", "", 0);
    ck_repair("hello", "hello", 5);
    ck_repair("\x00\x7F", "\x00\x7F", 2);
    /* The first and last code point of each length. */
    ck_repair("\xC2\x80", "\xC2\x80", 2);
    ck_repair("\xDF\xBF", "\xDF\xBF", 2);
    ck_repair("\xE0\xA0\x80", "\xE0\xA0\x80", 3);
    ck_repair("\xED\x9F\xBF", "\xED\x9F\xBF", 3);       /* U+D7FF */
    ck_repair("\xEE\x80\x80", "\xEE\x80\x80", 3);       /* U+E000 */
    ck_repair("\xEF\xBF\xBF", "\xEF\xBF\xBF", 3);
    ck_repair("\xF0\x90\x80\x80", "\xF0\x90\x80\x80", 4);
    ck_repair("\xF4\x8F\xBF\xBF", "\xF4\x8F\xBF\xBF", 4);
    ck_repair("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80!",
              "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80!", 15);
    ck_repair(FFFD, FFFD, 3);
}
END_TEST


START_TEST(test_ill_formed)
{
    /* Lone continuation bytes and bytes that start nothing. */
    ck_repair("\x80", FFFD, 0);
    ck_repair("\xBF", FFFD, 0);
    ck_repair("a\x80\x80z", "a" FFFD FFFD "z", 1);
    ck_repair("\xC0\x80", FFFD FFFD, 0);                /* overlong NUL */
    ck_repair("\xC1\xBF", FFFD FFFD, 0);
    ck_repair("\xF5\x80\x80\x80", FFFD FFFD FFFD FFFD, 0);
    ck_repair("\xFF\xFE", FFFD FFFD, 0);
    /* Overlongs: the second byte is out of range, so each byte is one
     * maximal subpart. */
    ck_repair("\xE0\x80\x80", FFFD FFFD FFFD, 0);
    ck_repair("\xE0\x9F\xBF", FFFD FFFD FFFD, 0);
    ck_repair("\xF0\x80\x80\x80", FFFD FFFD FFFD FFFD, 0);
    ck_repair("\xF0\x8F\xBF\xBF", FFFD FFFD FFFD FFFD, 0);
    /* Surrogates encoded in UTF-8. */
    ck_repair("\xED\xA0\x80", FFFD FFFD FFFD, 0);
    ck_repair("\xED\xBF\xBF", FFFD FFFD FFFD, 0);
    ck_repair("\xED\xA0\x80\xED\xB0\x80", FFFD FFFD FFFD FFFD FFFD FFFD, 0);
    /* Above U+10FFFF. */
    ck_repair("\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD, 0);
    /* Truncated sequences are one U+FFFD each (maximal subpart). */
    ck_repair("\xC3", FFFD, 0);
    ck_repair("\xE2\x82", FFFD, 0);
    ck_repair("\xF0\x9F\x98", FFFD, 0);
    ck_repair("\xF0\x9F\x98" "A", FFFD "A", 0);
    ck_repair("\xE2\x82\xE2\x82\xAC", FFFD "\xE2\x82\xAC", 0);
    ck_repair("ab\xF0\x9F\x98\xF0\x9F\x98\x80", "ab" FFFD "\xF0\x9F\x98\x80",
              2);
    ck_repair("\xE1\x80\x41", FFFD "A", 0);
    ck_repair("\xF1\x80\x80\xC3\xA9", FFFD "\xC3\xA9", 0);
    /* The classic example from the Unicode standard (table 3-8). */
    ck_repair("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
              "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d", 1);
}
END_TEST


/* Vectors produced by Python 3: bytes.decode("utf-8", "replace"). */
static const utf8_case_t  python_cases[] = {
    { "\x90\xE0\xF3\x7F\x80\xEF", 6,
      FFFD FFFD FFFD "\x7F" FFFD FFFD, 16 },
    { "\xDF\xF0", 2, FFFD FFFD, 6 },
    { "\x7F\x80\xE1\xE1", 4, "\x7F" FFFD FFFD FFFD, 10 },
    { "\xE1\x7F\xF0\x8F\xBF\xF3\xF3\xF0\x7F", 9,
      FFFD "\x7F" FFFD FFFD FFFD FFFD FFFD FFFD "\x7F", 23 },
    { "\x7F\xBF\x7F\xEF\x90\xC1\xE1", 7,
      "\x7F" FFFD "\x7F" FFFD FFFD FFFD, 14 },
    { "\xEF\x8F\xF0", 3, FFFD FFFD, 6 },
    { "\xEF\xF4\x9F\x8F\xF0", 5, FFFD FFFD FFFD FFFD FFFD, 15 },
    { "\xDF\x8F\xEF\xF5", 4, "\xDF\x8F" FFFD FFFD, 8 },
    { "\xF0\x7F", 2, FFFD "\x7F", 4 },
    { "\xF5\xBF\x80", 3, FFFD FFFD FFFD, 9 },
    { "\xF1\x80\x8F\xEE\xE1", 5, FFFD FFFD FFFD, 9 },
    { "\xC2\x90\xED", 3, "\xC2\x90" FFFD, 5 },
    { "\xF1\xED\xF0\xEC\x80\x80", 6, FFFD FFFD FFFD "\xEC\x80\x80", 12 },
    { "\xED\xF5\xF4\x80\x7F", 5, FFFD FFFD FFFD "\x7F", 10 },
    { "\xF4\xDF\x41\xEC\xDF\x9F\xF1", 7,
      FFFD FFFD "A" FFFD "\xDF\x9F" FFFD, 15 },
    { "\xC1\x90\xFF\xBF", 4, FFFD FFFD FFFD FFFD, 12 }
};


START_TEST(test_python_vectors)
{
    const utf8_case_t  *c;
    char                buf[64];
    size_t              i, n;

    for (i = 0; i < sizeof(python_cases) / sizeof(python_cases[0]); i++) {
        c = &python_cases[i];
        n = utf8_repair(c->in, c->in_len, buf, sizeof(buf));
        ck_assert_msg(n == c->out_len && memcmp(buf, c->out, n) == 0,
                      "python case %zu", i);
    }
}
END_TEST


START_TEST(test_ascii_fast_path)
{
    char    in[300], out[900];
    size_t  pos, n;

    /* An invalid byte at every offset of a long ASCII run (the word loop
     * must stop at the right byte). */
    for (pos = 0; pos < 200; pos++) {
        memset(in, 'a', sizeof(in));
        in[pos] = (char) 0x80;
        ck_assert_uint_eq(utf8_valid_prefix(in, sizeof(in)), pos);
        n = utf8_repair(in, sizeof(in), out, sizeof(out));
        ck_assert_uint_eq(n, sizeof(in) + 2);
        ck_assert_mem_eq(out, in, pos);
        ck_assert_mem_eq(out + pos, FFFD, 3);
        ck_assert_mem_eq(out + pos + 3, in + pos + 1, sizeof(in) - pos - 1);
    }
    memset(in, 'z', sizeof(in));
    ck_assert_uint_eq(utf8_valid_prefix(in, sizeof(in)), sizeof(in));
    ck_assert_uint_eq(utf8_repair(in, sizeof(in), out, sizeof(out)),
                      sizeof(in));
    ck_assert_mem_eq(out, in, sizeof(in));
}
END_TEST


/* Limits */

START_TEST(test_dstcap)
{
    static const char  in[] = "ab\xC3\xA9\x80" "cd";    /* 7 bytes */
    char               out[32];
    size_t             n;

    /* Full result: "ab" C3A9 FFFD "cd" = 9 bytes. */
    ck_assert_uint_eq(utf8_repair(in, 7, out, sizeof(out)), 9);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 0), 0);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 1), 1);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 2), 2);
    /* A character that does not fit is left out whole. */
    ck_assert_uint_eq(utf8_repair(in, 7, out, 3), 2);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 4), 4);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 5), 4);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 6), 4);
    ck_assert_uint_eq(utf8_repair(in, 7, out, 7), 7);
    n = utf8_repair(in, 7, out, 8);
    ck_assert_uint_eq(n, 8);
    ck_assert_mem_eq(out, "ab\xC3\xA9" FFFD "c", 8);
    /* Output never goes past dstcap. */
    memset(out, 0x55, sizeof(out));
    ck_assert_uint_eq(utf8_repair("\x80\x80\x80", 3, out, 7), 6);
    ck_assert_int_eq((unsigned char) out[6], 0x55);
}
END_TEST


/* An independent oracle: the set of well-formed sequences is built by
 * encoding every Unicode scalar value, and prefixes of those sequences
 * are looked up in bitmaps. */

static uint8_t  *pre2;              /* 2^16 bits: valid 2-byte prefixes */
static uint8_t  *pre3;              /* 2^24 bits: valid 3-byte prefixes */
static uint8_t   pre1[256];


static void
oracle_setup(void)
{
    uint32_t       cp, i2, i3;
    unsigned char  b[4] = { 0 };
    int            n;

    pre2 = calloc(1, (1u << 16) / 8);
    pre3 = calloc(1, (1u << 24) / 8);
    ck_assert_ptr_nonnull(pre2);
    ck_assert_ptr_nonnull(pre3);
    memset(pre1, 0, sizeof(pre1));

    for (cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        if (cp < 0x80) {
            b[0] = (unsigned char) cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (unsigned char) (0xC0 | (cp >> 6));
            b[1] = (unsigned char) (0x80 | (cp & 63));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (unsigned char) (0xE0 | (cp >> 12));
            b[1] = (unsigned char) (0x80 | ((cp >> 6) & 63));
            b[2] = (unsigned char) (0x80 | (cp & 63));
            n = 3;
        } else {
            b[0] = (unsigned char) (0xF0 | (cp >> 18));
            b[1] = (unsigned char) (0x80 | ((cp >> 12) & 63));
            b[2] = (unsigned char) (0x80 | ((cp >> 6) & 63));
            b[3] = (unsigned char) (0x80 | (cp & 63));
            n = 4;
        }
        pre1[b[0]] = (uint8_t) n;
        if (n >= 2) {
            i2 = (uint32_t) b[0] << 8 | b[1];
            pre2[i2 >> 3] |= (uint8_t) (1u << (i2 & 7));
        }
        if (n >= 3) {
            i3 = (uint32_t) b[0] << 16 | (uint32_t) b[1] << 8 | b[2];
            pre3[i3 >> 3] |= (uint8_t) (1u << (i3 & 7));
        }
    }
}


static void
oracle_teardown(void)
{
    free(pre2);
    free(pre3);
    pre2 = NULL;
    pre3 = NULL;
}


/* Is s[0..k) a prefix (or the whole) of a well-formed sequence? */
static int
oracle_prefix(const unsigned char *s, size_t k)
{
    uint32_t  i;

    if (pre1[s[0]] == 0) {
        return 0;
    }
    if (k == 1) {
        return 1;
    }
    i = (uint32_t) s[0] << 8 | s[1];
    if (!(pre2[i >> 3] & (1u << (i & 7)))) {
        return 0;
    }
    if (k == 2) {
        return 1;
    }
    i = (uint32_t) s[0] << 16 | (uint32_t) s[1] << 8 | s[2];
    if (!(pre3[i >> 3] & (1u << (i & 7)))) {
        return 0;
    }
    if (k == 3) {
        return 1;
    }
    /* Every 3-byte prefix of a 4-byte sequence takes any continuation. */
    return pre1[s[0]] == 4 && (s[3] & 0xC0) == 0x80;
}


/* Reference repair: at each position take the longest prefix of a
 * well-formed sequence; copy it when complete, else one U+FFFD for it (or
 * for one byte when no prefix starts there). */
static size_t
oracle_repair(const unsigned char *s, size_t len, char *dst, size_t *vp)
{
    size_t  i, o, k, best;

    i = 0;
    o = 0;
    *vp = (size_t) -1;
    while (i < len) {
        best = 0;
        for (k = 1; k <= 4 && i + k <= len; k++) {
            if (oracle_prefix(s + i, k)) {
                best = k;
            }
        }
        if (best > 0 && best == pre1[s[i]]) {
            memcpy(dst + o, s + i, best);
            o += best;
            i += best;
            continue;
        }
        if (*vp == (size_t) -1) {
            *vp = i;
        }
        memcpy(dst + o, FFFD, 3);
        o += 3;
        i += best ? best : 1;
    }
    if (*vp == (size_t) -1) {
        *vp = len;
    }
    return o;
}


START_TEST(test_oracle_random)
{
    static const unsigned char  pool[] = {
        0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
        0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3,
        0xF4, 0xF5, 0xFF
    };
    unsigned char  in[40];
    char           got[120], want[120];
    size_t         n, i, gn, wn, vp;
    uint64_t       x;
    int            t;

    x = 88172645463325252ULL;
    for (t = 0; t < 300000; t++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n = (size_t) (x % 40);
        for (i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (x >> 40) % 4 == 0 ? (unsigned char) (x >> 20)
                                       : pool[(x >> 8) % sizeof(pool)];
        }
        wn = oracle_repair(in, n, want, &vp);
        gn = utf8_repair((const char *) in, n, got, sizeof(got));
        ck_fast(gn == wn);
        ck_fast(memcmp(got, want, gn) == 0);
        ck_fast(utf8_valid_prefix((const char *) in, n) == vp);
    }
}
END_TEST


/* Every 1- and 2-byte input, and every 3-byte input that starts with a
 * lead byte, against the oracle. */
START_TEST(test_oracle_exhaustive)
{
    unsigned char  in[4];          /* 3 used; 4 quiets -Warray-bounds */
    char           got[16], want[16];
    unsigned       a, b, c;
    size_t         gn, wn, vp;

    for (a = 0; a < 256; a++) {
        in[0] = (unsigned char) a;
        for (b = 0; b < 256; b++) {
            in[1] = (unsigned char) b;
            wn = oracle_repair(in, 2, want, &vp);
            gn = utf8_repair((const char *) in, 2, got, sizeof(got));
            ck_fast(gn == wn);
            ck_fast(memcmp(got, want, gn) == 0);
            ck_fast(utf8_valid_prefix((const char *) in, 2) == vp);
            if (a < 0xC0 || b < 0x80 || b > 0xBF) {
                continue;
            }
            for (c = 0; c < 256; c++) {
                in[2] = (unsigned char) c;
                wn = oracle_repair(in, 3, want, &vp);
                gn = utf8_repair((const char *) in, 3, got, sizeof(got));
                ck_fast(gn == wn);
                ck_fast(memcmp(got, want, gn) == 0);
                ck_fast(utf8_valid_prefix((const char *) in, 3) == vp);
            }
        }
    }
}
END_TEST


Suite *
utf8_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("utf8");

    tc = tcase_create("Core");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_ill_formed);
    tcase_add_test(tc, test_python_vectors);
    tcase_add_test(tc, test_ascii_fast_path);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_test(tc, test_dstcap);
    suite_add_tcase(s, tc);

    tc = tcase_create("Oracle");
    tcase_add_checked_fixture(tc, oracle_setup, oracle_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_oracle_random);
    tcase_add_test(tc, test_oracle_exhaustive);
    suite_add_tcase(s, tc);

    return s;
}
