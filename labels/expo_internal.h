/* expo_internal.h - What the exposition formats share inside labels/. */

#ifndef GWLOG_EXPO_INTERNAL_H
#define GWLOG_EXPO_INTERNAL_H

#include "labels/store.h"
#include "lib/buf.h"


/* Prototypes */

/* A histogram's sum in its unit, from the raw sum of its observations. */
double expo_hist_sum(const store_snap_family_t *f, double raw_sum);

/* Appends every family of snap as delimited MetricFamily messages. */
void expo_proto_write(buf_t *b, const store_snap_t *snap);

#endif /* GWLOG_EXPO_INTERNAL_H */
