/* expo.h - Prometheus text exposition format 0.0.4 encoder.
 *
 * HELP escapes "\\" and "\n"; label values escape "\\", "\"" and "\n";
 * histogram buckets are cumulative with le="+Inf" equal to _count; floats
 * are the shortest decimal that reads back as the same double, and the
 * non-finite values are spelled "+Inf", "-Inf" and "NaN". */

#ifndef GWLOG_EXPO_H
#define GWLOG_EXPO_H

#include <stddef.h>

#include "labels/store.h"
#include "lib/buf.h"


/* Macros */

#define EXPO_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_DOUBLE_LEN     32


/* Prototypes */

/* Appends every family of snap to b: HELP, TYPE, then its samples. */
void expo_write_snapshot(buf_t *b, const store_snap_t *snap);

/* Appends "# HELP name help\n# TYPE name type\n". */
void expo_write_header(buf_t *b, const char *name, const char *help,
    const char *type);

/* Appends a label value with the format's escapes. */
void expo_write_label_value(buf_t *b, const char *p, size_t len);

/* Writes v into out (EXPO_DOUBLE_LEN bytes) as the exposition spells it;
 * returns the length. */
size_t expo_format_double(char *out, double v);

#endif /* GWLOG_EXPO_H */
