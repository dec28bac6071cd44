/* check_buf.c - Unit tests for lib/buf.c: growth by append, puts and
 * printf, NUL termination, detach and free. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "lib/buf.h"


/* Helpers */

/* Asserts the buffer holds exactly want (len bytes), is NUL-terminated and
 * keeps the len < cap invariant. */
static void
check_content(const buf_t *b, const char *want, size_t len)
{
    ck_assert_uint_eq(b->len, len);
    ck_assert_uint_lt(b->len, b->cap);
    ck_assert_ptr_nonnull(b->p);
    ck_assert_msg(memcmp(b->p, want, len) == 0, "content differs");
    ck_assert_int_eq(b->p[b->len], '\0');
}


/* Core */

START_TEST(test_append)
{
    buf_t  b = { 0 };

    buf_append(&b, "abc", 3);
    check_content(&b, "abc", 3);
    buf_append(&b, "de\0f", 4);                 /* embedded NUL kept */
    check_content(&b, "abcde\0f", 7);
    buf_append(&b, "", 0);
    check_content(&b, "abcde\0f", 7);
    buf_free(&b);
}
END_TEST


START_TEST(test_append_empty_allocates)
{
    buf_t  b = { 0 };

    /* Appending nothing still leaves a valid empty C string. */
    buf_append(&b, "", 0);
    check_content(&b, "", 0);
    buf_free(&b);
}
END_TEST


START_TEST(test_puts)
{
    buf_t  b = { 0 };

    buf_puts(&b, "hello");
    buf_puts(&b, "");
    buf_puts(&b, ", world");
    ck_assert_str_eq(b.p, "hello, world");
    check_content(&b, "hello, world", 12);
    buf_free(&b);
}
END_TEST


START_TEST(test_printf)
{
    buf_t  b = { 0 };

    buf_printf(&b, "%s=%d", "x", 42);
    ck_assert_str_eq(b.p, "x=42");
    ck_assert_uint_eq(b.len, 4);
    buf_printf(&b, " %zu %.2f %c", (size_t) 7, 1.5, 'z');
    ck_assert_str_eq(b.p, "x=42 7 1.50 z");
    ck_assert_uint_eq(b.len, 13);
    buf_printf(&b, "%s", "");
    ck_assert_str_eq(b.p, "x=42 7 1.50 z");
    ck_assert_uint_eq(b.len, 13);
    buf_free(&b);
}
END_TEST


START_TEST(test_printf_longer_than_capacity)
{
    buf_t   b = { 0 };
    char   *big, *want;
    size_t  cap0, n = 10000;

    big = malloc(n + 1);
    want = malloc(n + 3);
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(want);
    memset(big, 'q', n);
    big[n] = '\0';

    buf_puts(&b, "<");
    cap0 = b.cap;
    ck_assert_uint_lt(cap0, n);
    buf_printf(&b, "%s>", big);
    ck_assert_uint_gt(b.cap, cap0);
    want[0] = '<';
    memcpy(want + 1, big, n);
    want[n + 1] = '>';
    want[n + 2] = '\0';
    check_content(&b, want, n + 2);
    ck_assert_str_eq(b.p, want);

    /* Exactly filling the remaining room, then one more byte. */
    buf_free(&b);
    buf_puts(&b, "a");
    n = b.cap - b.len - 1;              /* bytes that fit with the NUL */
    big[n] = '\0';
    buf_printf(&b, "%s", big);
    ck_assert_uint_eq(b.len, n + 1);
    ck_assert_uint_lt(b.len, b.cap);
    ck_assert_int_eq(b.p[b.len], '\0');
    buf_printf(&b, "%s", "!");
    ck_assert_uint_eq(b.len, n + 2);
    ck_assert_int_eq(b.p[b.len - 1], '!');
    ck_assert_int_eq(b.p[b.len], '\0');
    ck_assert_int_eq(b.p[0], 'a');
    ck_assert_int_eq(b.p[1], 'q');
    ck_assert_int_eq(b.p[n], 'q');

    buf_free(&b);
    free(big);
    free(want);
}
END_TEST


START_TEST(test_many_small_appends)
{
    buf_t     b = { 0 };
    size_t    i, n = 100000;
    char      c;

    for (i = 0; i < n; i++) {
        c = (char) ('a' + i % 26);
        switch (i % 3) {
        case 0:
            buf_append(&b, &c, 1);
            break;
        case 1:
            buf_printf(&b, "%c", c);
            break;
        default:
            {
                char  s[2] = { c, '\0' };

                buf_puts(&b, s);
            }
            break;
        }
        ck_assert_uint_eq(b.len, i + 1);
        ck_assert_uint_lt(b.len, b.cap);
        ck_assert_int_eq(b.p[b.len], '\0');
    }
    for (i = 0; i < n; i++) {
        if (b.p[i] != (char) ('a' + i % 26)) {
            ck_abort_msg("byte %zu is '%c', want '%c'", i, b.p[i],
                         (char) ('a' + i % 26));
        }
    }
    ck_assert_uint_eq(strlen(b.p), n);
    buf_free(&b);
}
END_TEST


START_TEST(test_reserve)
{
    buf_t  b = { 0 };
    char  *p;

    buf_reserve(&b, 1000);
    ck_assert_uint_ge(b.cap, 1001);
    ck_assert_uint_eq(b.len, 0);
    p = b.p;
    buf_append(&b, "x", 1);                 /* no further growth */
    ck_assert_ptr_eq(b.p, p);
    buf_reserve(&b, 0);
    ck_assert_ptr_eq(b.p, p);
    check_content(&b, "x", 1);
    buf_free(&b);
}
END_TEST


START_TEST(test_detach)
{
    buf_t   b = { 0 };
    size_t  len = 12345;
    char   *p;

    buf_puts(&b, "payload");
    p = buf_detach(&b, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, 7);
    ck_assert_str_eq(p, "payload");
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);

    /* The buffer is reusable and independent of the detached bytes. */
    buf_puts(&b, "next");
    ck_assert_str_eq(b.p, "next");
    ck_assert_str_eq(p, "payload");
    free(p);
    buf_free(&b);
}
END_TEST


START_TEST(test_detach_empty)
{
    buf_t   b = { 0 };
    size_t  len = 99;
    char   *p;

    /* An empty buffer detaches as "" that free() accepts.  Dirty a freed
     * chunk of the size buf_reserve() allocates first, so that reusing
     * it without writing the NUL cannot pass by luck. */
    p = malloc(256);
    ck_assert_ptr_nonnull(p);
    memset(p, 'X', 256);
    free(p);
    p = buf_detach(&b, &len);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_msg(p[0] == '\0', "detached empty buffer is not "
                  "NUL-terminated: first byte 0x%02x",
                  (unsigned) (unsigned char) p[0]);
    free(p);
}
END_TEST


START_TEST(test_free)
{
    buf_t  b = { 0 };

    buf_free(&b);                           /* empty: no-op */
    ck_assert_ptr_null(b.p);
    buf_puts(&b, "abc");
    buf_free(&b);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    buf_free(&b);                           /* twice: no-op */

    /* Reusable after free. */
    buf_printf(&b, "%d", 5);
    check_content(&b, "5", 1);
    buf_free(&b);
}
END_TEST


/* Limits */

START_TEST(test_large_growth)
{
    buf_t   b = { 0 };
    char    chunk[4096];
    size_t  i, total = 0;

    memset(chunk, 'x', sizeof(chunk));
    for (i = 0; i < 2048; i++) {            /* 8 MB */
        buf_append(&b, chunk, sizeof(chunk));
        total += sizeof(chunk);
    }
    buf_printf(&b, "%s", "end");
    total += 3;
    ck_assert_uint_eq(b.len, total);
    ck_assert_uint_lt(b.len, b.cap);
    ck_assert_int_eq(b.p[b.len], '\0');
    ck_assert_int_eq(memcmp(b.p + b.len - 4, "xend", 4), 0);
    buf_free(&b);
}
END_TEST


Suite *
buf_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("buf");

    tc = tcase_create("Core");
    tcase_set_timeout(tc, 10);  /* slowest 0.37 s here, 1.5 s under ASan */
    tcase_add_test(tc, test_append);
    tcase_add_test(tc, test_append_empty_allocates);
    tcase_add_test(tc, test_puts);
    tcase_add_test(tc, test_printf);
    tcase_add_test(tc, test_printf_longer_than_capacity);
    tcase_add_test(tc, test_many_small_appends);
    tcase_add_test(tc, test_reserve);
    tcase_add_test(tc, test_detach);
    tcase_add_test(tc, test_detach_empty);
    tcase_add_test(tc, test_free);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_large_growth);
    suite_add_tcase(s, tc);

    return s;
}
