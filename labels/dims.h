/* dims.h - Dimension tables: key variables -> extra label values.
 *
 * The CSV backend reads DIR/NAME.csv for every table of the config (header
 * row first, RFC 4180 quoting, CRLF accepted) and reloads a file when its
 * size, mtime or inode changes.  A table that cannot be read, or a reload
 * that fails, keeps the rows it had; a missing file is an empty table.
 * Lookups and reloads happen on the ingest thread only. */

#ifndef GWLOG_DIMS_H
#define GWLOG_DIMS_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "parsers/strv.h"


/* Types */

typedef struct dims dims_t;     /* opaque */


/* Prototypes */

/* Creates the tables of cfg (which must outlive the result) reading from
 * dir; dir NULL means every lookup misses.  Loads every file once.
 * Returns NULL on allocation failure.  Free with dims_destroy(). */
dims_t *dims_create(const cfg_t *cfg, const char *dir);

void dims_destroy(dims_t *d);

/* Reloads the files that changed; returns how many were reloaded. */
int dims_reload_if_changed(dims_t *d);

/* Returns the row of table t for the key values (one per key column):
 * the provided columns in config order, valid until the next reload; or
 * NULL on a miss. */
const strv_t *dims_lookup(dims_t *d, size_t t, const strv_t *keys);

/* Rows in table t, lookups and hits so far (for self-metrics; may be
 * read from another thread, values are then approximate). */
size_t dims_entries(const dims_t *d, size_t t);
uint64_t dims_loads(const dims_t *d, size_t t);

#endif /* GWLOG_DIMS_H */
