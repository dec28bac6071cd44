/* http_metrics.c - The gwlog_http_* families: connections accepted, open,
 * refused, timed out; requests refused by reason and answered by handler
 * and code; scrapes in flight.  A collector of the self store (store.h),
 * registered by http_start_handlers() when hs.self is set. */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "exporter/http_internal.h"
#include "labels/store.h"


const char *const  http_handler_names[NHANDLERS] = {
    "metrics", "status", "healthy", "ready", "reload", "other"
};
const unsigned     http_codes[HTTP_NCODES] = { 200, 400, 401, 403, 404, 405,
                                               429, 500, 503 };


/* The collector of the gwlog_http_* families (store.h), registered on
 * hs.self: one table row per series, families in order. */
void
http_collect(void *ctx, store_t *s, void *arg)
{
    static const char *const  reason[] = { "reason" };
    static const char *const  phase[] = { "phase" };
    static const char *const  handler_code[] = { "handler", "code" };
    static const struct {
        const char           *name;
        store_type_t          type;
        const char           *help;
        const char *const    *label;        /* NULL: none */
        const char           *value;
        size_t                offset;       /* in http_stats_t */
    } rows[] = {
        { "gwlog_http_connections_total", STORE_COUNTER,
          "HTTP connections accepted.", NULL, NULL,
          offsetof(http_stats_t, accepted) },
        { "gwlog_http_connections_open", STORE_GAUGE,
          "HTTP connections open.", NULL, NULL,
          offsetof(http_stats_t, open) },
        { "gwlog_http_connections_refused_total", STORE_COUNTER,
          "HTTP connections closed unanswered to keep --web.max-connections: "
          "the oldest one waiting for a request header (evicted), or the "
          "new one when none was waiting (limit).", reason, "evicted",
          offsetof(http_stats_t, evicted) },
        { "gwlog_http_connections_refused_total", STORE_COUNTER, NULL,
          reason, "limit", offsetof(http_stats_t, refused) },
        { "gwlog_http_connections_timed_out_total", STORE_COUNTER,
          "HTTP connections closed by --web.connection-timeout: no complete "
          "request header in time (header), or idle inside a request "
          "(request).", phase, "header",
          offsetof(http_stats_t, timeout_header) },
        { "gwlog_http_connections_timed_out_total", STORE_COUNTER, NULL,
          phase, "request", offsetof(http_stats_t, timeout_request) },
        { "gwlog_http_requests_refused_total", STORE_COUNTER,
          "HTTP requests refused: wrong or missing password (unauthorized, "
          "401), client certificate refused (forbidden, 403), password "
          "checks over their CPU budget (auth_throttled, 429), beyond "
          "--web.max-requests (too_many_scrapes, 503).",
          reason, "unauthorized", offsetof(http_stats_t, unauthorized) },
        { "gwlog_http_requests_refused_total", STORE_COUNTER, NULL,
          reason, "forbidden", offsetof(http_stats_t, forbidden) },
        { "gwlog_http_requests_refused_total", STORE_COUNTER, NULL,
          reason, "auth_throttled", offsetof(http_stats_t, throttled) },
        { "gwlog_http_requests_refused_total", STORE_COUNTER, NULL,
          reason, "too_many_scrapes", offsetof(http_stats_t, overload) },
    };
    http_t          *h = ctx;
    http_stats_t     st;
    store_family_t  *f = NULL;
    const char      *v[2];
    char             code[8];
    uint64_t         n;
    size_t           i, k;

    (void) arg;
    pthread_mutex_lock(&h->conn_lock);
    st = h->st;
    pthread_mutex_unlock(&h->conn_lock);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].help != NULL) {
            f = store_family_get(s, &(store_family_def_t) {
                .name = rows[i].name, .help = rows[i].help,
                .type = rows[i].type, .labels = rows[i].label,
                .nlabels = rows[i].label != NULL });
        }
        if (f != NULL) {
            memcpy(&n, (const char *) &st + rows[i].offset, sizeof(n));
            store_set(f, store_series_str(f, &rows[i].value), (double) n);
        }
    }

    /* As promhttp_metric_handler_requests_total{code} and _in_flight. */
    f = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_http_requests_total", .type = STORE_COUNTER,
        .help = "HTTP requests answered, by handler (metrics, status, "
                "healthy, ready, reload, other) and status code.",
        .labels = handler_code, .nlabels = 2 });
    for (i = 0; f != NULL && i < NHANDLERS; i++) {
        for (k = 0; k < HTTP_NCODES; k++) {
            /* The scrape's own 200 and 503 exist from the start. */
            if (st.requests[i][k] == 0
                && !(i == H_METRICS
                     && (http_codes[k] == 200 || http_codes[k] == 503)))
            {
                continue;
            }
            snprintf(code, sizeof(code), "%u", http_codes[k]);
            v[0] = http_handler_names[i];
            v[1] = code;
            store_set(f, store_series_str(f, v), (double) st.requests[i][k]);
        }
    }
    f = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_http_requests_in_flight", .type = STORE_GAUGE,
        .help = "Scrapes being served, from their request until their "
                "response is sent (this one included)." });
    if (f != NULL) {
        store_set(f, store_series(f, NULL), atomic_load(&h->in_flight));
    }
}
