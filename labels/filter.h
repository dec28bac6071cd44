/* filter.h - Conditions: the drop rules of filters and "when" of metrics.
 *
 * A condition is compiled once from its cfg_cond_t and evaluated per line
 * through a callback that returns a variable's value.  String operators
 * see an absent value as ""; numeric operators are false unless the value
 * is a finite number in JSON grammar (as a JSON number or inside a
 * string); "exists" tells present from absent. */

#ifndef GWLOG_FILTER_H
#define GWLOG_FILTER_H

#include <stddef.h>

#include "config/config.h"
#include "lib/strv.h"


/* Types */

typedef struct cond cond_t;     /* opaque */

/* Returns 1 and sets *v when variable var is present, else 0. */
typedef int (*cond_get_fn)(void *ctx, int var, strv_t *v);

/* Returns the variable index of name, or -1 when there is none. */
typedef int (*cond_resolve_fn)(void *ctx, const char *name);


/* Prototypes */

/* Compiles c.  Returns NULL with "file:line: reason"-free text in err
 * (the caller prefixes the location).  Free with cond_free(). */
cond_t *cond_compile(const cfg_cond_t *c, cond_resolve_fn resolve,
    void *ctx, char *err, size_t errlen);

/* Frees c and its children.  cond_free(NULL) is a no-op. */
void cond_free(cond_t *c);

/* Returns 1 when c holds for the current line.  Not thread-safe: a
 * compiled condition owns its match data. */
int cond_eval(cond_t *c, cond_get_fn get, void *ctx);

/* Returns 1 and sets *out when s is a JSON-grammar number that is finite
 * as a double, else 0. */
int value_number(strv_t s, double *out);

#endif /* GWLOG_FILTER_H */
