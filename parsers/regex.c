/* regex.c - PCRE2 helpers: anchored compilation, JIT, replacement. */

#include "parsers/regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Test hook, not in regex.h: 0 skips pcre2_jit_compile(), so that tests
 * can run the interpreter, as under W^X, and compare it with the JIT. */
int regex__jit = 1;


pcre2_code *
regex_compile(const char *pattern, int anchored, char *err, size_t errlen)
{
    pcre2_code   *re;
    PCRE2_UCHAR   msg[256];
    PCRE2_SIZE    off;
    uint32_t      opts = anchored ? (PCRE2_ANCHORED | PCRE2_ENDANCHORED) : 0;
    int           rc;

    re = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED, opts,
                       &rc, &off, NULL);
    if (re == NULL) {
        pcre2_get_error_message(rc, msg, sizeof(msg));
        snprintf(err, errlen, "bad regex at offset %zu: %s", (size_t) off,
                 (char *) msg);
        return NULL;
    }
    /* JIT may be refused (W^X, MemoryDenyWriteExecute=yes): the
     * interpreter then runs the same pattern. */
    if (regex__jit) {
        (void) pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    }
    return re;
}


int
regex_match(const pcre2_code *re, strv_t s, pcre2_match_data *md)
{
    int  rc;

    rc = pcre2_match(re, (PCRE2_SPTR) (s.p ? s.p : ""), s.len, 0, 0, md, NULL);
    return rc > 0 ? rc : (rc == 0 ? 1 : 0);
}


size_t
regex_expand_bound(const char *tpl, size_t slen)
{
    size_t  n = 0;

    /* Each "$" reference expands to at most the whole subject. */
    for (; *tpl; tpl++) {
        n += (*tpl == '$') ? slen + 1 : 1;
    }
    return n;
}


long
regex_expand(const pcre2_code *re, strv_t s, pcre2_match_data *md,
    const char *tpl, char *out, size_t outcap)
{
    PCRE2_SIZE  *ov = pcre2_get_ovector_pointer(md);
    uint32_t     npairs = pcre2_get_ovector_count(md);
    const char  *p = tpl, *end;
    char         name[64];
    size_t       n = 0, len;
    long         g;
    int          num;

    while (*p) {
        if (*p != '$' || p[1] == '\0') {
            if (n + 1 > outcap) {
                return -1;
            }
            out[n++] = *p++;
            continue;
        }
        p++;
        if (*p == '$') {
            if (n + 1 > outcap) {
                return -1;
            }
            out[n++] = *p++;
            continue;
        }
        g = -1;
        if (*p == '{' && (end = strchr(p, '}')) != NULL) {
            len = (size_t) (end - p - 1);
            if (len == 0 || len >= sizeof(name)) {
                return -1;
            }
            memcpy(name, p + 1, len);
            name[len] = '\0';
            if (strspn(name, "0123456789") == len) {
                g = len <= 6 ? strtol(name, NULL, 10) : -1;
            } else {
                num = pcre2_substring_number_from_name(re, (PCRE2_SPTR) name);
                g = num > 0 ? num : -1;
            }
            p = end + 1;
        } else if (*p >= '0' && *p <= '9') {
            g = 0;
            while (*p >= '0' && *p <= '9' && g < 1000) {
                g = g * 10 + (*p++ - '0');
            }
        } else {
            /* A lone "$" stays as written. */
            if (n + 1 > outcap) {
                return -1;
            }
            out[n++] = '$';
            continue;
        }
        if (g < 0 || g >= (long) npairs || ov[2 * g] == PCRE2_UNSET) {
            continue;
        }
        len = ov[2 * g + 1] - ov[2 * g];
        if (n + len > outcap) {
            return -1;
        }
        memcpy(out + n, s.p + ov[2 * g], len);
        n += len;
    }
    return (long) n;
}
