/* alloc.h - The allocation policy: which allocations may fail.
 *
 * Two kinds, kept apart as Redis's zmalloc does:
 *
 * - x*() (xmalloc, xcalloc, xrealloc, xstrdup) print "out of memory" and
 *   abort() when the allocator fails.  They are for paths that have no
 *   way to report a failure and no sane state to fall back to: counting a
 *   line into a series, growing a buffer that is being written.
 * - plain malloc()/calloc()/strdup(), checked, returning NULL or an error
 *   up to the caller: for constructors and for work driven by input
 *   (loading a config, a dimension table, a checkpoint, a snapshot for a
 *   scrape), where a failure is reported and the exporter carries on.
 *
 * A function uses one kind or the other, never both: a constructor that
 * returns NULL on failure must not abort half-way through.  Each module
 * says in ARCHITECTURE.md which kind it uses where. */

#ifndef GWLOG_ALLOC_H
#define GWLOG_ALLOC_H

#include <stddef.h>


/* Prototypes */

/* Never return NULL (n or size 0 allocates one byte). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif /* GWLOG_ALLOC_H */
