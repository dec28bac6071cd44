/* http_internal.h - What the files of the HTTP server share (private to
 * exporter/): the server's struct, its connection records and counters,
 * and the functions one file calls in another.
 *
 * http.c          start and stop, the listeners (one daemon each)
 * http_request.c  a request: dispatch, /metrics, /-/reload, replies, gzip
 * http_conn.c     connection tracking: the waiting list, the sweeper,
 *                 eviction at max_connections, libmicrohttpd's log limiter
 * http_auth.c     TLS client certificates, basic auth and the bcrypt
 *                 budget, reloading the web config
 * http_metrics.c  the collector of the gwlog_http_* families */

#ifndef GWLOG_HTTP_INTERNAL_H
#define GWLOG_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "exporter/http.h"


#define HTTP_AUTH_SHARE         0.25    /* of one core, for bcrypt */
#define HTTP_AUTH_BURST         0.5     /* seconds of bcrypt banked */

/* A connection, from its opening to its closing. */
typedef struct http_conn_s  http_conn_t;

struct http_conn_s {
    http_conn_t         *prev, *next;   /* in waiting, when waiting */
    uint64_t             since_ms;      /* waiting since (monotonic) */
    int                  fd;
    int                  waiting;
};

/* Requests are counted by handler and status code (gwlog_http_requests_
 * total); codes outside http_codes are not counted. */
enum { H_METRICS = 0, H_STATUS, H_HEALTHY, H_READY, H_RELOAD, H_OTHER,
       NHANDLERS };
#define HTTP_NCODES  9
extern const char      *const http_handler_names[NHANDLERS];
extern const unsigned   http_codes[HTTP_NCODES];    /* http_metrics.c */

/* The server's own counters, set in the gwlog_http_* families. */
typedef struct {
    uint64_t             accepted;
    uint64_t             evicted;       /* waiting, shut for a newcomer */
    uint64_t             refused;       /* newcomer shut: none waiting */
    uint64_t             timeout_header;
    uint64_t             timeout_request;
    uint64_t             unauthorized;  /* 401 */
    uint64_t             forbidden;     /* 403: client certificate */
    uint64_t             throttled;     /* 429: bcrypt budget spent */
    uint64_t             overload;      /* 503: max_requests */
    uint64_t             open;
    uint64_t             requests[NHANDLERS][HTTP_NCODES];
} http_stats_t;

struct http {
    struct MHD_Daemon  **daemons;       /* one per listener, owned */
    unsigned            *ports;         /* bound port of each */
    size_t               ndaemons;
    http_handlers_t      hs;
    char                *path;
    unsigned             max_requests;
    atomic_uint          in_flight;     /* scrapes being served, until
                                         * their response is sent */
    pthread_mutex_t      web_lock;      /* web and web_mtime */
    webcfg_t            *web;           /* owned; NULL: plain, no auth */
    struct timespec      web_mtime;

    pthread_mutex_t      conn_lock;     /* everything below */
    pthread_cond_t       conn_cond;     /* wakes the sweeper to stop */
    http_conn_t         *waiting, *waiting_tail;    /* oldest first */
    http_stats_t         st;
    unsigned             max_connections;
    unsigned             timeout;       /* seconds */
    int                  stopping;
    pthread_t            sweeper;
    uint64_t             log_window_ms; /* libmicrohttpd's messages: */
    unsigned             log_count;     /*   logged in this minute */
    unsigned long        log_dropped;   /*   beyond HTTP_LOG_PER_MINUTE */
    int                  auth_running;  /* a bcrypt under way */
    double               auth_budget;   /* seconds of bcrypt allowed now */
    uint64_t             auth_refill_ms;
};


/* A request's state (the handler's *state): its header was seen, or it
 * holds one of max_requests (http_request.c). */
extern int  http_request_seen, http_scrape_held;


/* http_request.c */

/* libmicrohttpd's request handler; cls is the server. */
enum MHD_Result http_handle(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_size, void **state);
/* Queues resp for conn and counts it in gwlog_http_requests_total. */
enum MHD_Result http_queue(http_t *h, struct MHD_Connection *conn,
    int hd, unsigned status, struct MHD_Response *resp);
/* A plain-text refusal after which the connection is closed. */
enum MHD_Result http_reply_close(http_t *h, struct MHD_Connection *conn,
    int hd, unsigned status, const char *text);

/* http_conn.c: libmicrohttpd's callbacks (cls is the server), the
 * sweeper thread (arg is the server), the waiting list (conn_lock held) */
void http_notify_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe);
void http_notify_completed(void *cls, struct MHD_Connection *conn,
    void **state, enum MHD_RequestTerminationCode toe);
void *http_sweep(void *arg);
void http_mhd_log(void *cls, const char *fmt, va_list ap);
void http_waiting_del(http_t *h, http_conn_t *c);
/* Adds one to *counter, a field of h->st, under conn_lock. */
void http_count(http_t *h, uint64_t *counter);
/* The monotonic clock in milliseconds. */
uint64_t http_now_ms(void);

/* http_auth.c */

/* TLS client certificates and basic auth, per request.  Returns 1 to go
 * on, or 0 with the refusal queued and its result in *ret.  h->web is not
 * NULL. */
int http_guard(http_t *h, struct MHD_Connection *conn, int hd,
    enum MHD_Result *ret);

/* http_metrics.c: the store collector of the gwlog_http_* families, ctx
 * the server. */
void http_collect(void *ctx, store_t *s, void *arg);

#endif
