/* csv.h - One RFC 4180 record at a time, unquoted in place.
 *
 * Shared by the CSV dimension backend (labels/dims.c) and the Redis loader
 * (tools/dimload.c), so that both read a file the same way: fields split
 * on commas, double quotes with "" inside, quoted newlines, CRLF. */

#ifndef GWLOG_CSV_H
#define GWLOG_CSV_H

#include <stddef.h>

#include "lib/strv.h"


/* Prototypes */

/* Reads the record at *pp (up to end), unquoting its fields in place, so
 * that cells point into the caller's buffer.  Sets *ncells (more than max
 * means the record was wider than cells) and advances *lineno past the
 * newlines consumed.  Returns 0, or -1 on an unterminated quote. */
int csv_record(char **pp, char *end, strv_t *cells, size_t max,
    size_t *ncells, size_t *lineno);

#endif /* GWLOG_CSV_H */
