/* buf.c - Growable byte buffer. */

#include "lib/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"


void
buf_reserve(buf_t *b, size_t n)
{
    size_t  cap;

    if (b->len + n + 1 <= b->cap) {
        return;
    }
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        cap *= 2;
    }
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
    b->p[b->len] = '\0';
}


void
buf_append(buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}


void
buf_puts(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}


void
buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list  ap;
    size_t   room;
    int      n;

    buf_reserve(b, 64);
    room = b->cap - b->len;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->p[b->len] = '\0';
        return;
    }
    if ((size_t) n >= room) {
        /* Did not fit: grow to the size it told us, then format again. */
        buf_reserve(b, (size_t) n);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t) n;
}


void
buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}


char *
buf_detach(buf_t *b, size_t *len)
{
    char  *p;

    buf_reserve(b, 0);
    p = b->p;
    *len = b->len;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
