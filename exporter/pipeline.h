/* pipeline.h - The one place a line goes through parse -> filter -> enrich
 * -> series.
 *
 * A pipeline is compiled from a cfg_t: the JSON keys or regex groups to
 * extract, the fields (computed lazily, once per line), the filters, the
 * dimension lookups and the metric families.  pipeline_line() is called by
 * the tailer for every complete line, with the ingest lock held.
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

/* What pipeline_explain() found the line does. */
typedef enum {
    PIPELINE_OK = 0,                /* counted (valid, not filtered) */
    PIPELINE_INVALID,               /* gwlog_parse_errors_total */
    PIPELINE_FILTERED               /* dropped by a filter */
} pipeline_verdict_t;


/* Prototypes */

/* Compiles cfg into a pipeline that updates families it adds to store,
 * looking dimensions up in dims.  cfg, store and dims are borrowed and
 * must outlive the pipeline.  Returns NULL with a reason in err. */
pipeline_t *pipeline_create(const cfg_t *cfg, store_t *store, dims_t *dims,
    char *err, size_t errlen);

/* Frees p (not what it borrows).  pipeline_destroy(NULL) is a no-op. */
void pipeline_destroy(pipeline_t *p);

/* Processes one line, without its newline, read from cfg->inputs[input].
 * The caller holds the ingest lock. */
void pipeline_line(pipeline_t *p, size_t input, const char *line,
    size_t len);

/* Whether the line parses in cfg->inputs[input]'s format; nothing is
 * counted.  For the tailer's one guess: whether a line cut by a
 * truncation goes on in the file's new content.  The caller holds the
 * ingest lock. */
int pipeline_parses(pipeline_t *p, size_t input, const char *line,
    size_t len);

/* The line tester: describes on out what pipeline_line() would do with
 * this line (fields, required fields, filter verdict, dimension lookups,
 * each series and how it changes) without counting anything, and returns
 * the verdict.  With the Redis backend it waits (at most
 * dimensions.redis.wait) for the lookups, taking the ingest lock itself:
 * the caller must not hold it. */
pipeline_verdict_t pipeline_explain(pipeline_t *p, size_t input,
    const char *line, size_t len, FILE *out);

/* Lines waiting for a dimension lookup (Redis backend; always 0 with the
 * CSV backend).  Any thread. */
uint64_t pipeline_pending(pipeline_t *p);

/* How long a line may wait for a lookup, in seconds (0: CSV backend). */
double pipeline_max_wait(pipeline_t *p);

/* Counts every waiting line now, with the answers that arrived and the
 * table's "missing" value for the others.  Call before a checkpoint's
 * snapshot (and before the pipeline goes away), so that the counts match
 * the offsets.  The caller holds the ingest lock. */
void pipeline_flush(pipeline_t *p);

/* Waits until every waiting line has been counted (each waits at most
 * dimensions.redis.wait); for --one-shot.  The caller must not hold the
 * store lock. */
void pipeline_drain(pipeline_t *p);

/* Counts a line that never reached the parser (e.g. "too_long") as
 * invalid.  The caller holds the ingest lock. */
void pipeline_invalid(pipeline_t *p, const char *reason);

/* Adds n to gwlog_bytes_read_total.  The caller holds the ingest lock. */
void pipeline_bytes(pipeline_t *p, uint64_t n);

/* The event time (config "event_time", unix seconds) of the last valid
 * line, or 0 before the first; safe to call from any thread. */
double pipeline_last_event_time(pipeline_t *p);

#endif /* GWLOG_PIPELINE_H */
