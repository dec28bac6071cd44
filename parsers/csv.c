/* csv.c - One RFC 4180 record at a time, unquoted in place. */

#include "parsers/csv.h"


/* Reads one CSV record at *pp, unquoting fields in place.  Sets *ncells
 * (more than max means the record was too wide) and advances *lineno past
 * the newlines consumed.  Returns -1 on an unterminated quote. */
int
csv_record(char **pp, char *end, strv_t *cells, size_t max, size_t *ncells,
    size_t *lineno)
{
    char    *p = *pp, *w;
    size_t   n = 0;

    for (;;) {
        char  *start = p;

        if (p < end && *p == '"') {
            w = start;
            p++;
            for (;;) {
                if (p >= end) {
                    return -1;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n') {
                    (*lineno)++;
                }
                *w++ = *p++;
            }
            /* Anything between the closing quote and the separator is
             * kept, as most readers do. */
            while (p < end && *p != ',' && *p != '\n') {
                if (*p != '\r' || (p + 1 < end && p[1] != '\n')) {
                    *w++ = *p;
                }
                p++;
            }
        } else {
            while (p < end && *p != ',' && *p != '\n') {
                p++;
            }
            w = p;
            if (w > start && w[-1] == '\r' && (p >= end || *p == '\n')) {
                w--;
            }
        }
        if (n < max) {
            cells[n].p = start;
            cells[n].len = (size_t) (w - start);
        }
        n++;
        if (p >= end || *p == '\n') {
            if (p < end) {
                p++;
                (*lineno)++;
            }
            break;
        }
        p++;                                    /* the comma */
    }
    *pp = p;
    *ncells = n;
    return 0;
}
