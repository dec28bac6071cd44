/* expo.h - The one writer of exposition formats: Prometheus text 0.0.4,
 * OpenMetrics 1.0 text and the protobuf delimited format, for a store
 * snapshot, chosen by content negotiation.
 *
 * Text: HELP escapes "\\" and "\n"; label values escape "\\", "\"" and
 * "\n"; histogram buckets are cumulative with le="+Inf" equal to _count;
 * floats are the shortest decimal that reads back as the same double, and
 * the non-finite values are spelled "+Inf", "-Inf" and "NaN".
 *
 * OpenMetrics: the same samples, with HELP also escaping "\""; a counter
 * family is named without its "_total" suffix in HELP and TYPE, its sample
 * keeps it; the body ends with "# EOF".  No _created samples (optional).
 *
 * Protobuf: io.prometheus.client.MetricFamily messages, each preceded by
 * its length as a varint (client_model's metrics.proto), encoded by hand.
 * Histograms carry their classic buckets without +Inf, as client_golang
 * sends them.
 *
 * A scrape calls expo_write() for each snapshot, then expo_finish(). */

#ifndef GWLOG_EXPO_H
#define GWLOG_EXPO_H

#include <stddef.h>

#include "labels/store.h"
#include "lib/buf.h"


/* Types */

typedef enum {
    EXPO_TEXT = 0,                  /* text/plain; version=0.0.4 */
    EXPO_OPENMETRICS_1,             /* application/openmetrics-text 1.0.0 */
    EXPO_OPENMETRICS_0,             /*   asked as 0.0.1 or without version */
    EXPO_PROTOBUF                   /* delimited MetricFamily messages */
} expo_format_t;


/* Macros */

#define EXPO_CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_DOUBLE_LEN     32


/* Prototypes */

/* The format an Accept header asks for (NULL: none), negotiated as
 * client_golang's promhttp does with OpenMetrics enabled
 * (expfmt.NegotiateIncludingOpenMetrics): media ranges by decreasing q
 * (ties in header order, q=0 ignored), the first of protobuf with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited,
 * text/plain with version 0.0.4 or none, application/openmetrics-text
 * with version 1.0.0, 0.0.1 or none; otherwise text. */
expo_format_t expo_negotiate(const char *accept);

/* The Content-Type of a response in fmt (a static string). */
const char *expo_content_type(expo_format_t fmt);

/* Appends every family of snap to b in fmt. */
void expo_write(buf_t *b, expo_format_t fmt, const store_snap_t *snap);

/* Appends what ends a body in fmt (OpenMetrics: "# EOF\n"). */
void expo_finish(buf_t *b, expo_format_t fmt);

/* expo_write(b, EXPO_TEXT, snap). */
void expo_write_snapshot(buf_t *b, const store_snap_t *snap);

/* Appends "# HELP name help\n# TYPE name type\n" in the text format.
 * Only exporter/tail.c still writes text itself (tail_write_metrics(), to
 * be turned into a collector); nothing new should use it. */
void expo_write_header(buf_t *b, const char *name, const char *help,
    const char *type);

/* Appends a label value with the text formats' escapes. */
void expo_write_label_value(buf_t *b, const char *p, size_t len);

/* Writes v into out (EXPO_DOUBLE_LEN bytes) as the exposition spells it;
 * returns the length. */
size_t expo_format_double(char *out, double v);

#endif /* GWLOG_EXPO_H */
