/* selfstats.h - The exporter's gauges and process metrics at scrape time:
 * gwlog_series{metric}, gwlog_series_overflow_total{metric},
 * gwlog_build_info and the usual process_* metrics from /proc/self. */

#ifndef GWLOG_SELFSTATS_H
#define GWLOG_SELFSTATS_H

#include "labels/store.h"
#include "lib/buf.h"


/* Prototypes */

/* Appends the families above to b, the series counts taken from snap. */
void selfstats_write(buf_t *b, const store_snap_t *snap);

#endif /* GWLOG_SELFSTATS_H */
