/* strv.h - A string view: bytes that belong to someone else. */

#ifndef GWLOG_STRV_H
#define GWLOG_STRV_H

#include <stddef.h>
#include <string.h>


/* Types */

typedef struct {
    const char  *p;     /* not owned; not NUL-terminated */
    size_t       len;
} strv_t;


/* Functions implemented as macros */

#define STRV(s)     ((strv_t) { (s), sizeof(s) - 1 })
#define strv_eq(a, b) \
    ((a).len == (b).len && ((a).len == 0 || memcmp((a).p, (b).p, (a).len) == 0))

#endif /* GWLOG_STRV_H */
