/* pipeline.h - The one place a line goes through parse -> filter -> enrich
 * -> series.
 *
 * A pipeline is compiled from a cfg_t: the JSON keys or regex groups to
 * extract, the fields (computed lazily, once per line), the filters, the
 * dimension lookups and the metric families.  pipeline_line() is called by
 * the tailer for every complete line, with the store lock held.
 *
 * Variables: fields come first (index i = cfg->fields[i]), then the
 * columns the dimension tables provide, in config order.
 */

#ifndef GWLOG_PIPELINE_H
#define GWLOG_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "labels/dims.h"
#include "labels/store.h"


/* Types */

typedef struct pipeline pipeline_t;     /* opaque */


/* Prototypes */

/* Compiles cfg into a pipeline that updates families it adds to store,
 * looking dimensions up in dims.  cfg, store and dims are borrowed and
 * must outlive the pipeline.  Returns NULL with a reason in err. */
pipeline_t *pipeline_create(const cfg_t *cfg, store_t *store, dims_t *dims,
    char *err, size_t errlen);

/* Frees p (not what it borrows).  pipeline_destroy(NULL) is a no-op. */
void pipeline_destroy(pipeline_t *p);

/* Processes one line, without its newline, read from cfg->inputs[input].
 * The caller holds the store lock. */
void pipeline_line(pipeline_t *p, size_t input, const char *line,
    size_t len);

/* The line tester: describes on out what pipeline_line() would do with
 * this line (fields, required fields, filter verdict, dimension lookups,
 * each series and how it changes) without counting anything. */
void pipeline_explain(pipeline_t *p, size_t input, const char *line,
    size_t len, FILE *out);

/* Counts a line that never reached the parser (e.g. "too_long") as
 * invalid.  The caller holds the store lock. */
void pipeline_invalid(pipeline_t *p, const char *reason);

/* Adds n to gwlog_bytes_read_total.  The caller holds the store lock. */
void pipeline_bytes(pipeline_t *p, uint64_t n);

/* The event time (config "event_time", unix seconds) of the last valid
 * line, or 0 before the first; safe to call from any thread. */
double pipeline_last_event_time(pipeline_t *p);

#endif /* GWLOG_PIPELINE_H */
