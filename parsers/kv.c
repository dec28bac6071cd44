/* kv.c - Looks up a key in a "k=v;k=v" string. */

#define _GNU_SOURCE
#include "parsers/kv.h"

#include <string.h>


int
kv_find(strv_t s, strv_t key, strv_t sep, strv_t assign, strv_t *value)
{
    const char  *p = s.p, *end = s.p + s.len, *next, *eq;
    size_t       n;

    if (s.p == NULL || sep.len == 0 || assign.len == 0) {
        return 0;
    }
    while (p <= end) {
        next = memmem(p, (size_t) (end - p), sep.p, sep.len);
        n = (size_t) ((next ? next : end) - p);
        eq = memmem(p, n, assign.p, assign.len);
        if (eq != NULL && (size_t) (eq - p) == key.len
            && memcmp(p, key.p, key.len) == 0)
        {
            value->p = eq + assign.len;
            value->len = (size_t) (p + n - value->p);
            return 1;
        }
        if (next == NULL) {
            break;
        }
        p = next + sep.len;
    }
    return 0;
}
