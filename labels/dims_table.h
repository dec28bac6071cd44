/* dims_table.h - The rows of a CSV dimension table: a flat open-addressing
 * map from key values to provided values (private to labels/: dims.c's
 * CSV backend is its only user, tests may include it).
 *
 * Built once per load from the parsed rows, then read only.  Each row is
 * one record in an arena: the views of its provided values, its key
 * values (length, bytes) and the bytes of its provided values, so that a
 * hit reads one slot (8 bytes: a 32-bit tag of the hash and the record's
 * place) and one record, about two cache lines, and nothing of the file.
 * The caller hashes the keys (dtab_hash()) once and passes the hash to
 * both insert and find; tests pass equal hashes to force collisions.
 * Slots are probed linearly; the load stays at most one half. */

#ifndef GWLOG_DIMS_TABLE_H
#define GWLOG_DIMS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strv.h"


/* Types */

typedef struct dtab dtab_t;     /* opaque */


/* Prototypes */

/* Hashes key values keys[0..nkeys) (an in-memory hash, never persisted). */
uint64_t dtab_hash(const strv_t *keys, size_t nkeys);

/* Creates an empty table of rows with nkeys key values and nprovides
 * provided values, sized for up to max_rows rows whose values hold at
 * most max_bytes bytes in all (more are refused: the arena never moves).
 * NULL on allocation failure.  Free with dtab_destroy(). */
dtab_t *dtab_create(size_t nkeys, size_t nprovides, size_t max_rows,
    size_t max_bytes);

void dtab_destroy(dtab_t *t);

/* Inserts a row: cols holds nkeys key values then nprovides values
 * (copied); h is dtab_hash() of the keys.  A row whose keys are already
 * there replaces it (the later row wins).  Returns 0, or -1 when the
 * table is full (max_rows rows or max_bytes bytes; unchanged). */
int dtab_insert(dtab_t *t, const strv_t *cols, uint64_t h);

/* Returns the provided values of the row whose keys equal keys[0..nkeys)
 * (h is dtab_hash() of them), valid until dtab_destroy(); or NULL.
 * Allocates nothing. */
const strv_t *dtab_find(const dtab_t *t, const strv_t *keys, uint64_t h);

/* 1 when the keys of row (a value dtab_find() returned) equal keys. */
int dtab_row_is(const dtab_t *t, const strv_t *row, const strv_t *keys);

/* Distinct rows held, and the number of slots (a power of two). */
size_t dtab_size(const dtab_t *t);
size_t dtab_capacity(const dtab_t *t);

#endif /* GWLOG_DIMS_TABLE_H */
