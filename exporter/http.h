/* http.h - The HTTP endpoints: /metrics, a status or landing page at /,
 * /-/healthy, /-/ready, POST /-/reload; 404 and 405 otherwise.
 *
 * libmicrohttpd runs the server in threads of its own.  For every scrape
 * it calls the metrics callback, which appends the exposition to a
 * buffer in the format the Accept header asks for (labels/expo.h); the
 * body is gzip-compressed when the client accepts gzip. */

#ifndef GWLOG_HTTP_H
#define GWLOG_HTTP_H

#include <stddef.h>

#include "config/webconfig.h"
#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Types */

typedef struct http http_t;     /* opaque */

/* Appends the whole exposition to out in fmt (negotiated from the
 * request's Accept header, expo_negotiate()); called from server
 * threads. */
typedef void (*http_metrics_fn)(void *ctx, buf_t *out, expo_format_t fmt);

/* What the server answers besides the metrics; every callback runs on a
 * server thread with the same ctx. */
typedef struct {
    http_metrics_fn   metrics;      /* GET/HEAD on the telemetry path */
    void            (*status)(void *ctx, buf_t *html);  /* GET /; NULL: a
                                                       * plain landing page */
    int             (*ready)(void *ctx);        /* /-/ready: 1 ready */
    int             (*reload)(void *ctx, char *err, size_t errlen);
                                    /* POST /-/reload: 0 or -1; NULL: 403 */
    void             *ctx;          /* borrowed */
    store_t          *self;         /* borrowed, outlives the server; NULL:
                                     * none.  The server registers there the
                                     * collector of its gwlog_http_*
                                     * families (removed by http_stop()),
                                     * which the metrics callback encodes
                                     * with the rest of that store */
} http_handlers_t;


/* Prototypes */

/* Listens on addr ("HOST:PORT", ":PORT" for every interface, "[V6]:PORT")
 * and serves metrics at path.  ctx is borrowed.  Returns NULL with a
 * reason in err. */
http_t *http_start(const char *addr, const char *path, http_metrics_fn fn,
    void *ctx, char *err, size_t errlen);

/* Limits and security of the server. */
typedef struct {
    unsigned          max_connections;  /* 0: 1024; beyond, the oldest
                                         * connection waiting for a request
                                         * header is closed */
    unsigned          timeout;          /* seconds to send a request header
                                         * (from the opening or the last
                                         * response), and idle seconds in a
                                         * request; 0: 10 */
    unsigned          max_requests;     /* scrapes at once; 0: no limit */
    webcfg_t         *web;              /* TLS and basic auth, or NULL;
                                         * owned by the server afterwards */
} http_limits_t;

/* Like http_start(), with the handlers in hs (copied) and the limits in
 * lim (NULL: defaults, plain HTTP).  With lim->web, the server serves TLS
 * as configured, enforces client_auth_type on every request (403) and
 * basic_auth_users (401 with WWW-Authenticate); the users are re-read when
 * the web config file changes (TLS settings need a restart). */
http_t *http_start_handlers(const char *addr, const char *path,
    const http_handlers_t *hs, const http_limits_t *lim, char *err,
    size_t errlen);

/* Where a server listens: every address of addrs (as http_start()
 * takes them), then every socket of fds, already bound and listening
 * (systemd socket activation); the server owns those sockets from the
 * call on, and closes them when it stops or fails to start. */
typedef struct {
    const char *const   *addrs;
    size_t               naddrs;
    const int           *fds;
    size_t               nfds;
} http_listen_t;

/* http_start_handlers() on every listener of ls: one libmicrohttpd
 * daemon each, sharing the handlers, the limits and the counters.  Fails
 * (NULL, err naming the listener) unless every listener can serve. */
http_t *http_start_listen(const http_listen_t *ls, const char *path,
    const http_handlers_t *hs, const http_limits_t *lim, char *err,
    size_t errlen);

/* The port actually bound by the first listener (useful with port 0). */
unsigned http_port(const http_t *h);

/* The number of listeners, and the port bound by listener i (in the
 * order of http_listen_t: addresses, then sockets). */
size_t http_listeners(const http_t *h);
unsigned http_listener_port(const http_t *h, size_t i);

/* Stops the server and frees h.  http_stop(NULL) is a no-op. */
void http_stop(http_t *h);

/* Compresses in[0..len) as gzip into out.  Returns 0 or -1. */
int http_gzip(const char *in, size_t len, buf_t *out);

#endif /* GWLOG_HTTP_H */
