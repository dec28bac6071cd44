/* status.h - The status page at "/": build, files, dimension tables,
 * families, in plain HTML and CSS with no external assets. */

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
} status_src_t;


/* Prototypes */

/* Appends the whole HTML page to html. */
void status_write(buf_t *html, const status_src_t *src);

#endif /* GWLOG_STATUS_H */
