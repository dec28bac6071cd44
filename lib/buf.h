/* buf.h - Growable byte buffer used by the encoder and the HTTP layer. */

#ifndef GWLOG_BUF_H
#define GWLOG_BUF_H

#include <stddef.h>


/* Types */

typedef struct {
    char   *p;          /* owned; NUL-terminated when len < cap */
    size_t  len;
    size_t  cap;
} buf_t;


/* Prototypes */

/* Makes room for n more bytes.  Aborts on allocation failure (the
 * exporter cannot serve anything without memory). */
void buf_reserve(buf_t *b, size_t n);

void buf_append(buf_t *b, const void *p, size_t n);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Releases the bytes; the buffer is empty and reusable afterwards. */
void buf_free(buf_t *b);

/* Hands the bytes to the caller (free() them) and empties the buffer. */
char *buf_detach(buf_t *b, size_t *len);

#endif /* GWLOG_BUF_H */
