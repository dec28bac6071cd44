/* alloc.c - Allocations that abort instead of failing (see alloc.h). */

#include "lib/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void
oom(size_t n)
{
    fprintf(stderr, "gwlog_exporter: out of memory (%zu bytes)\n", n);
    abort();
}


void *
xmalloc(size_t n)
{
    void  *p = malloc(n ? n : 1);

    if (p == NULL) {
        oom(n);
    }
    return p;
}


void *
xcalloc(size_t n, size_t size)
{
    void  *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        oom(n * size);
    }
    return p;
}


void *
xrealloc(void *p, size_t n)
{
    void  *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        oom(n);
    }
    return q;
}


char *
xstrdup(const char *s)
{
    char  *p = strdup(s);

    if (p == NULL) {
        oom(strlen(s) + 1);
    }
    return p;
}
