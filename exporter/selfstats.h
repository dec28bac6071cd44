/* selfstats.h - The exporter's own gauges and the process metrics:
 * gwlog_series{metric}, gwlog_series_overflow_total{metric},
 * gwlog_series_expired_total{metric}, gwlog_build_info and the usual
 * process_* metrics from /proc/self, as collected families. */

#ifndef GWLOG_SELFSTATS_H
#define GWLOG_SELFSTATS_H

#include "labels/store.h"


/* Prototypes */

/* A collector (store_collect_fn) for the self store; arg is the snapshot
 * of the ingest store taken by the same scrape (NULL: no per-family
 * series), ctx is unused. */
void selfstats_collect(void *ctx, store_t *s, void *arg);

#endif /* GWLOG_SELFSTATS_H */
