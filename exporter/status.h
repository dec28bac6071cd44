/* status.h - The status page at "/": what is wrong first (red: the
 * exporter cannot do its job, amber: look at it), then inputs and files,
 * dimension tables, checkpoints, families, in plain HTML and CSS with no
 * external assets; it reloads itself every STATUS_REFRESH seconds. */

#ifndef GWLOG_STATUS_H
#define GWLOG_STATUS_H

#include "config/config.h"
#include "exporter/tail.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Types */

/* What the page shows; everything is borrowed for the call. */
typedef struct {
    const cfg_t         *cfg;
    const store_snap_t  *snap;          /* of the ingest store */
    const store_snap_t  *self;          /* of the self store (main.c) */
    tail_t              *tail;          /* NULL: no files */
    dims_t              *dims;
    const char          *telemetry_path;
    int                  ready;
    int                  reload_ok;
    double               reload_time;   /* unix seconds */
    const char          *reload_err;    /* why the last reload failed, or
                                         * "" (NULL: none) */
    const char          *state_dir;     /* NULL: no checkpoints */
    const char          *dims_redis;    /* --dims.redis, or NULL */
} status_src_t;


/* Macros */

#define STATUS_REFRESH      5       /* seconds between reloads of the page */
#define STATUS_IDLE_WARN    60      /* amber when nothing was read for this
                                     * long while input files exist */


/* Prototypes */

/* Appends the whole HTML page to html. */
void status_write(buf_t *html, const status_src_t *src);

#endif /* GWLOG_STATUS_H */
