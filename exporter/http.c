/* http.c - The HTTP endpoint: /metrics, a landing page, 404 and 405.
 *
 * Against connection floods (README "Hardening", HTTP limits): every
 * connection is tracked from its opening (MHD_OPTION_NOTIFY_CONNECTION).
 * One still waiting for a complete request header, because it has just
 * opened or its previous response has been sent, is "waiting"; the waiting
 * ones are kept in a list, oldest first.  A sweeper thread shuts down
 * those waiting for longer than the timeout, however slowly they trickle
 * bytes (slowloris); libmicrohttpd's own idle timeout applies inside a
 * request only.  When a new connection makes more than max_connections,
 * the oldest waiting one is shut down to make room (it was not being
 * served), or the new one if none waits.  So idle and slow clients can
 * neither hold every slot nor keep a scraper out.  Password checks that
 * need bcrypt run one at a time, within a CPU budget; beyond it, 429. */

#include "exporter/http.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stddef.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

#include "labels/expo.h"
#include "lib/clock.h"
#include "lib/log.h"


#define HTTP_CONNECTION_LIMIT   1024
#define HTTP_TIMEOUT_SECONDS    10
#define HTTP_THREADS            2
#define HTTP_EVICT_SLACK        64      /* libmicrohttpd's limit is ours
                                         * plus this: connections being
                                         * closed still count there */
#define HTTP_SWEEP_MS           100
#define HTTP_LOG_PER_MINUTE     10      /* libmicrohttpd's messages */
#define HTTP_AUTH_SHARE         0.25    /* of one core, for bcrypt */
#define HTTP_AUTH_BURST         0.5     /* seconds of bcrypt banked */

#define HTTP_MEMORY_LIMIT       (16 * 1024)  /* request headers and more */
#define HTTP_REALM              "gwlog_exporter"

/* A connection, from its opening to its closing. */
typedef struct http_conn_s  http_conn_t;

struct http_conn_s {
    http_conn_t         *prev, *next;   /* in waiting, when waiting */
    uint64_t             since_ms;      /* waiting since (monotonic) */
    int                  fd;
    int                  waiting;
};

/* Requests are counted by handler and status code (gwlog_http_requests_
 * total); codes outside this list are not counted. */
enum { H_METRICS = 0, H_STATUS, H_HEALTHY, H_READY, H_RELOAD, H_OTHER,
       NHANDLERS };
static const char  *handler_names[NHANDLERS] = {
    "metrics", "status", "healthy", "ready", "reload", "other"
};
static const unsigned  codes[] = { 200, 400, 401, 403, 404, 405, 429, 500,
                                   503 };
#define NCODES  (sizeof(codes) / sizeof(codes[0]))

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
    uint64_t             requests[NHANDLERS][NCODES];
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
 * holds one of max_requests. */
static int  request_seen, scrape_held;

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_size, void **state);
static enum MHD_Result reload(http_t *h, struct MHD_Connection *conn,
    const char *method);
static int guard(http_t *h, struct MHD_Connection *conn, int hd,
    enum MHD_Result *ret);
static void web_refresh(http_t *h);
static enum MHD_Result queue(http_t *h, struct MHD_Connection *conn,
    int hd, unsigned status, struct MHD_Response *resp);
static int handler_of(const http_t *h, const char *url);
static enum MHD_Result reply(http_t *h, struct MHD_Connection *conn, int hd,
    unsigned status, const char *type, char *body, size_t len,
    int must_free);
static enum MHD_Result reply_close(http_t *h, struct MHD_Connection *conn,
    int hd, unsigned status, const char *text);
static int has_body(struct MHD_Connection *conn);
static int accepts_gzip(struct MHD_Connection *conn);
static int listen_one(http_t *h, const char *addr, int fd, char *err,
    size_t errlen);
static int parse_addr(const char *addr, struct sockaddr_storage *ss,
    int *v6, char *err, size_t errlen);
static void notify_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe);
static void notify_completed(void *cls, struct MHD_Connection *conn,
    void **state, enum MHD_RequestTerminationCode toe);
static void *sweep(void *arg);
static void mhd_log(void *cls, const char *fmt, va_list ap);
static void waiting_add(http_t *h, http_conn_t *c);
static void waiting_del(http_t *h, http_conn_t *c);
static int auth_take(http_t *h);
static void auth_done(http_t *h, double seconds);
static void count(http_t *h, uint64_t *counter);
static uint64_t now_ms(void);
static void collect(void *ctx, store_t *s, void *arg);


http_t *
http_start(const char *addr, const char *path, http_metrics_fn fn, void *ctx,
    char *err, size_t errlen)
{
    http_handlers_t  hs;

    memset(&hs, 0, sizeof(hs));
    hs.metrics = fn;
    hs.ctx = ctx;
    return http_start_handlers(addr, path, &hs, NULL, err, errlen);
}


http_t *
http_start_handlers(const char *addr, const char *path,
    const http_handlers_t *hs, const http_limits_t *lim, char *err,
    size_t errlen)
{
    http_listen_t  ls;

    memset(&ls, 0, sizeof(ls));
    ls.addrs = &addr;
    ls.naddrs = 1;
    return http_start_listen(&ls, path, hs, lim, err, errlen);
}


http_t *
http_start_listen(const http_listen_t *ls, const char *path,
    const http_handlers_t *hs, const http_limits_t *lim, char *err,
    size_t errlen)
{
    http_t                   *h;
    size_t                    i, n;

    n = ls->naddrs + ls->nfds;
    if (n == 0) {
        snprintf(err, errlen, "no address to listen on");
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL || (h->path = strdup(path)) == NULL
        || (h->daemons = calloc(n, sizeof(*h->daemons))) == NULL
        || (h->ports = calloc(n, sizeof(*h->ports))) == NULL)
    {
        if (h != NULL) {
            free(h->daemons);
            free(h->path);
        }
        free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->hs = *hs;
    pthread_mutex_init(&h->web_lock, NULL);
    pthread_mutex_init(&h->conn_lock, NULL);
    {
        pthread_condattr_t  ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&h->conn_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
    h->max_connections = lim && lim->max_connections ? lim->max_connections
                                                     : HTTP_CONNECTION_LIMIT;
    h->timeout = lim && lim->timeout ? lim->timeout : HTTP_TIMEOUT_SECONDS;
    h->auth_budget = HTTP_AUTH_BURST;
    h->auth_refill_ms = now_ms();
    h->max_requests = lim ? lim->max_requests : 0;
    h->web = lim ? lim->web : NULL;
    if (h->web != NULL) {
        struct stat  st;

        if (stat(h->web->file, &st) == 0) {
            h->web_mtime = st.st_mtim;
        }
    }
    /* One daemon per listener, all sharing h: the connection limits,
     * counters and the sweeper are the server's, whatever the socket. */
    for (i = 0; i < n; i++) {
        if (listen_one(h, i < ls->naddrs ? ls->addrs[i] : NULL,
                       i < ls->naddrs ? -1 : ls->fds[i - ls->naddrs],
                       err, errlen) != 0)
        {
            goto err;
        }
    }
    if (pthread_create(&h->sweeper, NULL, sweep, h) != 0) {
        snprintf(err, errlen, "cannot start the connection sweeper thread");
        goto err;
    }
    if (h->hs.self != NULL && store_collector_add(h->hs.self, collect, h)) {
        h->hs.self = NULL;                  /* no memory: no HTTP metrics */
    }
    return h;

err:
    for (i = 0; i < h->ndaemons; i++) {
        MHD_stop_daemon(h->daemons[i]);
    }
    /* Sockets passed in and not yet handed to a daemon are closed too:
     * the caller gave them to the server. */
    for (i = h->ndaemons; i < n; i++) {
        if (i >= ls->naddrs) {
            close(ls->fds[i - ls->naddrs]);
        }
    }
    webconfig_free(h->web);
    pthread_mutex_destroy(&h->web_lock);
    pthread_mutex_destroy(&h->conn_lock);
    pthread_cond_destroy(&h->conn_cond);
    free(h->daemons);
    free(h->ports);
    free(h->path);
    free(h);
    return NULL;
}


/* Starts the daemon of one listener: addr, or the listening socket fd
 * when addr is NULL (the daemon then owns it).  Appends it to
 * h->daemons.  Returns 0, or -1 with a reason in err. */
static int
listen_one(http_t *h, const char *addr, int fd, char *err, size_t errlen)
{
    struct sockaddr_storage      ss;
    const union MHD_DaemonInfo  *info;
    struct MHD_OptionItem        opts[16];
    struct MHD_Daemon           *d;
    unsigned                     flags;
    size_t                       n;
    int                          v6 = 0;
    char                         what[64];

    if (addr != NULL && parse_addr(addr, &ss, &v6, err, errlen) != 0) {
        return -1;
    }
    /* epoll: no FD_SETSIZE ceiling on the number of connections. */
    flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (v6) {
        flags |= (v6 == 2) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    }
    n = 0;
    if (addr != NULL) {
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_SOCK_ADDR, 0, &ss };
    } else {
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_LISTEN_SOCKET, fd,
                                              NULL };
    }
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_LIMIT,
        h->max_connections + HTTP_EVICT_SLACK, NULL };
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_TIMEOUT,
        h->timeout, NULL };
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        HTTP_MEMORY_LIMIT, NULL };
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_THREAD_POOL_SIZE,
        HTTP_THREADS, NULL };
    if (h->web != NULL && h->web->tls) {
        flags |= MHD_USE_TLS;
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0,
                                              h->web->key_pem };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0,
                                              h->web->cert_pem };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_PRIORITIES, 0,
            (void *) webconfig_priorities(h->web) };
        if (h->web->client_ca_pem != NULL) {
            opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_TRUST,
                                                  0, h->web->client_ca_pem };
        }
    }
    opts[n] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };
    d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                         MHD_OPTION_ARRAY, opts,
                         MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h,
                         MHD_OPTION_NOTIFY_COMPLETED, notify_completed, h,
                         MHD_OPTION_END);
    if (d == NULL) {
        if (addr == NULL) {
            snprintf(what, sizeof(what), "the socket passed as fd %d", fd);
            close(fd);
        }
        snprintf(err, errlen, "cannot listen on %s (%s%s)",
                 addr != NULL ? addr : what,
                 addr != NULL ? "address in use or not available"
                              : "not a listening stream socket",
                 h->web && h->web->tls
                 ? ", or the TLS certificate or key is not valid PEM" : "");
        return -1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    h->ports[h->ndaemons] = info ? info->port : 0;
    h->daemons[h->ndaemons++] = d;
    return 0;
}


unsigned
http_port(const http_t *h)
{
    return h->ports[0];
}


size_t
http_listeners(const http_t *h)
{
    return h->ndaemons;
}


unsigned
http_listener_port(const http_t *h, size_t i)
{
    return i < h->ndaemons ? h->ports[i] : 0;
}


void
http_stop(http_t *h)
{
    size_t  i;

    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->conn_lock);
    h->stopping = 1;
    pthread_cond_signal(&h->conn_cond);
    pthread_mutex_unlock(&h->conn_lock);
    pthread_join(h->sweeper, NULL);
    if (h->hs.self != NULL) {
        store_collector_del(h->hs.self, collect, h);
    }
    for (i = 0; i < h->ndaemons; i++) {
        MHD_stop_daemon(h->daemons[i]);     /* closes every connection */
    }
    webconfig_free(h->web);
    pthread_mutex_destroy(&h->web_lock);
    pthread_mutex_destroy(&h->conn_lock);
    pthread_cond_destroy(&h->conn_cond);
    free(h->daemons);
    free(h->ports);
    free(h->path);
    free(h);
}


int
http_gzip(const char *in, size_t len, buf_t *out)
{
    z_stream  z;
    size_t    bound;
    int       rc;

    memset(&z, 0, sizeof(z));
    /* Level 1: a scrape must stay cheap; 15 + 16 asks for a gzip wrapper. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        return -1;
    }
    bound = deflateBound(&z, (uLong) len) + 32;
    buf_reserve(out, bound);
    z.next_in = (Bytef *) in;
    z.avail_in = (uInt) len;
    z.next_out = (Bytef *) out->p + out->len;
    z.avail_out = (uInt) bound;
    rc = deflate(&z, Z_FINISH);
    out->len += bound - z.avail_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? 0 : -1;
}


static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **state)
{
    static const char     page[] =
        "<!DOCTYPE html>\n<html><head><title>gwlog_exporter</title></head>\n"
        "<body><h1>gwlog_exporter</h1>\n"
        "<p>API gateway access logs as Prometheus metrics.</p>\n"
        "<p><a href=\"%s\">Metrics</a></p>\n</body></html>\n";
    http_t               *h = cls;
    buf_t                 body = { 0 }, gz = { 0 };
    struct MHD_Response  *resp;
    enum MHD_Result       ret;
    expo_format_t         fmt;
    size_t                len;
    char                 *p;
    int                   hd = handler_of(h, url);

    (void) version;
    (void) upload_data;
    if (*state == NULL) {
        /* First call for this request: the header is complete.  The
         * connection no longer waits; libmicrohttpd's idle timeout now
         * guards the request (a client that stops reading, say). */
        const union MHD_ConnectionInfo  *ci;

        ci = MHD_get_connection_info(conn,
                                     MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci != NULL && ci->socket_context != NULL) {
            pthread_mutex_lock(&h->conn_lock);
            waiting_del(h, ci->socket_context);
            pthread_mutex_unlock(&h->conn_lock);
        }
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  h->timeout);
        *state = &request_seen;
        if (!has_body(conn)) {
            return MHD_YES;                 /* answered on the next call */
        }
        /* No endpoint uses a request body: answer now.  libmicrohttpd
         * then closes the connection without reading the body, so a body
         * trickled byte by byte cannot hold a connection in a request. */
    } else if (*upload_size != 0) {
        *upload_size = 0;                   /* not reached: answered early */
        return MHD_YES;
    }
    if (h->web != NULL && !guard(h, conn, hd, &ret)) {
        return ret;
    }
    if (strcmp(url, "/-/reload") == 0) {
        return reload(h, conn, method);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        resp = MHD_create_response_from_buffer(
            strlen("Method Not Allowed\n"), (void *) "Method Not Allowed\n",
            MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
        MHD_add_response_header(resp, "Content-Type", "text/plain");
        ret = queue(h, conn, hd, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        return ret;
    }

    if (strcmp(url, h->path) == 0) {
        /* Like node_exporter's --web.max-requests: beyond it, 503. */
        if (atomic_fetch_add(&h->in_flight, 1) >= h->max_requests
            && h->max_requests > 0)
        {
            atomic_fetch_sub(&h->in_flight, 1);
            count(h, &h->st.overload);
            return reply(h, conn, hd, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "text/plain",
                         (char *) "Too many concurrent scrapes\n",
                         strlen("Too many concurrent scrapes\n"), 0);
        }
        /* Held until the response is sent (notify_completed()): at most
         * max_requests bodies in memory, whatever the readers' speed. */
        *state = &scrape_held;
        fmt = expo_negotiate(MHD_lookup_connection_value(conn,
                                 MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        h->hs.metrics(h->hs.ctx, &body, fmt);
        if (accepts_gzip(conn) && http_gzip(body.p, body.len, &gz) == 0) {
            buf_free(&body);
            p = buf_detach(&gz, &len);
            resp = MHD_create_response_from_buffer(len, p,
                                                   MHD_RESPMEM_MUST_FREE);
            MHD_add_response_header(resp, "Content-Encoding", "gzip");
        } else {
            buf_free(&gz);
            p = buf_detach(&body, &len);
            resp = MHD_create_response_from_buffer(len, p,
                                                   MHD_RESPMEM_MUST_FREE);
        }
        MHD_add_response_header(resp, "Content-Type",
                                expo_content_type(fmt));
        MHD_add_response_header(resp, "Vary", "Accept, Accept-Encoding");
        ret = queue(h, conn, hd, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (strcmp(url, "/-/healthy") == 0) {
        return reply(h, conn, hd, MHD_HTTP_OK, "text/plain; charset=utf-8",
                     (char *) "gwlog_exporter is Healthy.\n",
                     strlen("gwlog_exporter is Healthy.\n"), 0);
    }
    if (strcmp(url, "/-/ready") == 0) {
        if (h->hs.ready == NULL || h->hs.ready(h->hs.ctx)) {
            return reply(h, conn, hd, MHD_HTTP_OK,
                         "text/plain; charset=utf-8",
                         (char *) "gwlog_exporter is Ready.\n",
                         strlen("gwlog_exporter is Ready.\n"), 0);
        }
        return reply(h, conn, hd, MHD_HTTP_SERVICE_UNAVAILABLE,
                     "text/plain; charset=utf-8",
                     (char *) "Service Unavailable\n",
                     strlen("Service Unavailable\n"), 0);
    }
    if (strcmp(url, "/") == 0 && strcmp(h->path, "/") != 0) {
        if (h->hs.status != NULL) {
            h->hs.status(h->hs.ctx, &body);
        } else {
            buf_printf(&body, page, h->path);
        }
        p = buf_detach(&body, &len);
        return reply(h, conn, hd, MHD_HTTP_OK, "text/html; charset=utf-8", p,
                     len, 1);
    }
    return reply(h, conn, hd, MHD_HTTP_NOT_FOUND, "text/plain",
                 (char *) "Not Found\n", strlen("Not Found\n"), 0);
}


/* TLS client certificates and basic auth, per request.  Returns 1 to go
 * on, or 0 with the refusal queued and its result in *ret.  Refusals close
 * the connection (a client guessing passwords must connect again). */
static int
guard(http_t *h, struct MHD_Connection *conn, int hd, enum MHD_Result *ret)
{
    static const char                   denied[] = "Unauthorized\n";
    static const char                   busy[] =
        "Too many password checks, try again later\n";
    const union MHD_ConnectionInfo     *ci;
    const gnutls_datum_t               *peers;
    struct MHD_Response                *resp;
    struct timespec                     t0, t1;
    unsigned                            npeers = 0, status = 1;
    char                               *user, *pass = NULL, *hash = NULL;
    int                                 present, verified, ok;

    web_refresh(h);
    pthread_mutex_lock(&h->web_lock);
    if (h->web->tls && h->web->client_auth >= WEB_CLIENT_REQUIRE_ANY) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        peers = ci ? gnutls_certificate_get_peers(ci->tls_session, &npeers)
                   : NULL;
        present = peers != NULL && npeers > 0;
        verified = present
                   && gnutls_certificate_verify_peers2(ci->tls_session,
                                                       &status) == 0
                   && status == 0;
        if ((h->web->client_auth == WEB_CLIENT_REQUIRE_ANY && !present)
            || (h->web->client_auth == WEB_CLIENT_VERIFY_IF_GIVEN && present
                && !verified)
            || (h->web->client_auth == WEB_CLIENT_REQUIRE_AND_VERIFY
                && !verified))
        {
            pthread_mutex_unlock(&h->web_lock);
            count(h, &h->st.forbidden);
            *ret = reply_close(h, conn, hd, MHD_HTTP_FORBIDDEN,
                       "A valid client certificate is required\n");
            return 0;
        }
    }
    if (h->web->nusers == 0) {
        pthread_mutex_unlock(&h->web_lock);
        return 1;
    }
    user = MHD_basic_auth_get_username_password(conn, &pass);
    ok = user != NULL && pass != NULL
         ? webconfig_password_known(h->web, user, pass, &hash) : 0;
    pthread_mutex_unlock(&h->web_lock);
    if (ok < 0) {
        /* Only bcrypt can tell: one at a time, within the budget. */
        if (!auth_take(h)) {
            free(hash);
            MHD_free(user);
            MHD_free(pass);
            count(h, &h->st.throttled);
            resp = MHD_create_response_from_buffer(strlen(busy),
                       (void *) busy, MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(resp, "Content-Type", "text/plain");
            MHD_add_response_header(resp, "Retry-After", "1");
            MHD_add_response_header(resp, "Connection", "close");
            *ret = queue(h, conn, hd, MHD_HTTP_TOO_MANY_REQUESTS, resp);
            MHD_destroy_response(resp);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ok = webconfig_password_verify(user, hash, pass);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        auth_done(h, (double) (t1.tv_sec - t0.tv_sec)
                     + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        free(hash);
    }
    if (user != NULL) {
        MHD_free(user);
    }
    if (pass != NULL) {
        MHD_free(pass);
    }
    if (ok) {
        return 1;
    }
    count(h, &h->st.unauthorized);
    resp = MHD_create_response_from_buffer(strlen(denied), (void *) denied,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    MHD_add_response_header(resp, "Connection", "close");
    count(h, &h->st.requests[hd][2]);       /* 401 */
    *ret = MHD_queue_basic_auth_fail_response(conn, HTTP_REALM, resp);
    MHD_destroy_response(resp);
    return 0;
}


/* Whether a bcrypt may start now: none running and budget left.  The
 * budget refills at HTTP_AUTH_SHARE seconds per second, up to
 * HTTP_AUTH_BURST; auth_done() charges what the check took. */
static int
auth_take(http_t *h)
{
    uint64_t  now = now_ms();
    int       ok;

    pthread_mutex_lock(&h->conn_lock);
    h->auth_budget += (double) (now - h->auth_refill_ms) / 1000
                      * HTTP_AUTH_SHARE;
    if (h->auth_budget > HTTP_AUTH_BURST) {
        h->auth_budget = HTTP_AUTH_BURST;
    }
    h->auth_refill_ms = now;
    ok = !h->auth_running && h->auth_budget > 0;
    if (ok) {
        h->auth_running = 1;
    }
    pthread_mutex_unlock(&h->conn_lock);
    return ok;
}


static void
auth_done(http_t *h, double seconds)
{
    pthread_mutex_lock(&h->conn_lock);
    h->auth_budget -= seconds;
    h->auth_running = 0;
    pthread_mutex_unlock(&h->conn_lock);
}


/* Re-reads the web config file when it changed, as exporter-toolkit reads
 * it on every request: users and passwords take effect at once; TLS
 * settings are read at start only. */
static void
web_refresh(http_t *h)
{
    struct stat   st;
    webcfg_t     *w;
    char          err[WEBCFG_ERRLEN];

    if (stat(h->web->file, &st) != 0) {
        return;
    }
    pthread_mutex_lock(&h->web_lock);
    if (st.st_mtim.tv_sec == h->web_mtime.tv_sec
        && st.st_mtim.tv_nsec == h->web_mtime.tv_nsec)
    {
        pthread_mutex_unlock(&h->web_lock);
        return;
    }
    h->web_mtime = st.st_mtim;
    w = webconfig_load(h->web->file, err, sizeof(err));
    if (w == NULL) {
        log_error_kv("web config not reloaded, the old one stays",
                     LOG_STR("err", err));
        pthread_mutex_unlock(&h->web_lock);
        return;
    }
    /* Keep the TLS material the daemon runs with; take the users. */
    w->tls = h->web->tls;
    w->client_auth = h->web->client_auth;
    free(w->cert_pem);
    free(w->key_pem);
    free(w->client_ca_pem);
    w->cert_pem = h->web->cert_pem;
    w->key_pem = h->web->key_pem;
    w->client_ca_pem = h->web->client_ca_pem;
    h->web->cert_pem = h->web->key_pem = h->web->client_ca_pem = NULL;
    webconfig_free(h->web);
    h->web = w;
    log_info_kv("web config reloaded", LOG_STR("file", w->file),
                LOG_U64("users", w->nusers));
    pthread_mutex_unlock(&h->web_lock);
}


/* POST /-/reload, as Prometheus: 403 unless the lifecycle API is enabled,
 * 405 for other methods, 500 with the reason when the reload fails. */
static enum MHD_Result
reload(http_t *h, struct MHD_Connection *conn, const char *method)
{
    static const char   off[] = "Lifecycle API is not enabled.\n";
    struct MHD_Response *resp;
    enum MHD_Result      ret;
    buf_t                body = { 0 };
    char                 err[512], *p;
    size_t               len;

    if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
        resp = MHD_create_response_from_buffer(
            strlen("Method Not Allowed\n"), (void *) "Method Not Allowed\n",
            MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Allow", "POST, PUT");
        MHD_add_response_header(resp, "Content-Type", "text/plain");
        ret = queue(h, conn, H_RELOAD, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (h->hs.reload == NULL) {
        return reply(h, conn, H_RELOAD, MHD_HTTP_FORBIDDEN, "text/plain",
                     (char *) off, strlen(off), 0);
    }
    if (h->hs.reload(h->hs.ctx, err, sizeof(err)) != 0) {
        buf_printf(&body, "failed to reload config: %s\n", err);
        p = buf_detach(&body, &len);
        return reply(h, conn, H_RELOAD, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     "text/plain", p, len, 1);
    }
    return reply(h, conn, H_RELOAD, MHD_HTTP_OK, "text/plain", (char *) "",
                 0, 0);
}


static enum MHD_Result
reply(http_t *h, struct MHD_Connection *conn, int hd, unsigned status,
    const char *type, char *body, size_t len, int must_free)
{
    struct MHD_Response  *resp;
    enum MHD_Result       ret;

    resp = MHD_create_response_from_buffer(len, body, must_free
                                           ? MHD_RESPMEM_MUST_FREE
                                           : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", type);
    ret = queue(h, conn, hd, status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* Whether the request announces a body (Content-Length above 0, or a
 * Transfer-Encoding). */
static int
has_body(struct MHD_Connection *conn)
{
    const char  *v;

    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (v != NULL) {
        return 1;
    }
    v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_CONTENT_LENGTH);
    return v != NULL && strspn(v, "0 \t") != strlen(v);
}


/* A plain-text refusal after which the connection is closed. */
static enum MHD_Result
reply_close(http_t *h, struct MHD_Connection *conn, int hd, unsigned status,
    const char *text)
{
    struct MHD_Response  *resp;
    enum MHD_Result       ret;

    resp = MHD_create_response_from_buffer(strlen(text), (void *) text,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    MHD_add_response_header(resp, "Connection", "close");
    ret = queue(h, conn, hd, status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* Connection tracking (see the top of this file).  libmicrohttpd calls
 * this on its own threads when a connection opens and when it closes; it
 * closes the socket only after the CLOSED call, so a descriptor in our
 * records is still the connection's while conn_lock is held. */
static void
notify_connection(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
    const union MHD_ConnectionInfo  *ci;
    http_t                          *h = cls;
    http_conn_t                     *c = *socket_context, *old;

    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (c == NULL) {
            return;
        }
        pthread_mutex_lock(&h->conn_lock);
        waiting_del(h, c);
        h->st.open--;
        pthread_mutex_unlock(&h->conn_lock);
        free(c);
        *socket_context = NULL;
        return;
    }

    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c = calloc(1, sizeof(*c));
    if (c == NULL || ci == NULL) {
        free(c);
        return;                 /* untracked: libmicrohttpd's timeout only */
    }
    c->fd = ci->connect_fd;
    *socket_context = c;
    /* Waiting for a header is timed by the sweeper, not libmicrohttpd
     * (which would restart its clock at every byte). */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
    pthread_mutex_lock(&h->conn_lock);
    h->st.accepted++;
    h->st.open++;
    if (h->st.open > h->max_connections) {
        old = h->waiting;
        if (old != NULL) {
            shutdown(old->fd, SHUT_RDWR);
            waiting_del(h, old);
            h->st.evicted++;
        } else {
            /* Every other connection is in a request: refuse this one. */
            shutdown(c->fd, SHUT_RDWR);
            h->st.refused++;
            pthread_mutex_unlock(&h->conn_lock);
            return;
        }
    }
    waiting_add(h, c);
    pthread_mutex_unlock(&h->conn_lock);
}


/* A request ended.  A connection kept alive waits for its next header. */
static void
notify_completed(void *cls, struct MHD_Connection *conn, void **state,
    enum MHD_RequestTerminationCode toe)
{
    const union MHD_ConnectionInfo  *ci;
    http_t                          *h = cls;

    if (*state == &scrape_held) {
        atomic_fetch_sub(&h->in_flight, 1);
        *state = NULL;
    }
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        count(h, &h->st.timeout_request);
        return;
    }
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        return;
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci == NULL || ci->socket_context == NULL) {
        return;
    }
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, 0);
    pthread_mutex_lock(&h->conn_lock);
    waiting_add(h, ci->socket_context);
    pthread_mutex_unlock(&h->conn_lock);
}


/* The sweeper thread: shuts down connections waiting for a header for
 * longer than the timeout, every HTTP_SWEEP_MS. */
static void *
sweep(void *arg)
{
    http_t           *h = arg;
    http_conn_t      *c;
    struct timespec   ts;
    uint64_t          now, limit = (uint64_t) h->timeout * 1000;

    pthread_mutex_lock(&h->conn_lock);
    while (!h->stopping) {
        now = now_ms();
        while ((c = h->waiting) != NULL && now - c->since_ms >= limit) {
            shutdown(c->fd, SHUT_RDWR);
            waiting_del(h, c);
            h->st.timeout_header++;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += HTTP_SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->conn_cond, &h->conn_lock, &ts);
    }
    pthread_mutex_unlock(&h->conn_lock);
    return NULL;
}


/* libmicrohttpd's messages (a connection reset, a bad request...) go to
 * our log as warnings, at most HTTP_LOG_PER_MINUTE a minute: a flood of
 * connections must not become a flood of log lines. */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_t         *h = cls;
    char            msg[512];
    unsigned long   dropped = 0;
    uint64_t        now = now_ms();
    size_t          n;
    int             show;

    pthread_mutex_lock(&h->conn_lock);
    if (now - h->log_window_ms >= 60000) {
        dropped = h->log_dropped;
        h->log_dropped = 0;
        h->log_count = 0;
        h->log_window_ms = now;
    }
    show = h->log_count < HTTP_LOG_PER_MINUTE;
    if (show) {
        h->log_count++;
    } else {
        h->log_dropped++;
    }
    pthread_mutex_unlock(&h->conn_lock);
    if (dropped > 0) {
        log_warn_kv("libmicrohttpd: messages of the last minute not logged",
                    LOG_U64("dropped", dropped));
    }
    if (!show) {
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    log_warn_kv("libmicrohttpd", LOG_STR("err", msg));
}


/* Appends c to the waiting list (newest last).  conn_lock held. */
static void
waiting_add(http_t *h, http_conn_t *c)
{
    waiting_del(h, c);
    c->since_ms = now_ms();
    c->waiting = 1;
    c->next = NULL;
    c->prev = h->waiting_tail;
    if (h->waiting_tail != NULL) {
        h->waiting_tail->next = c;
    } else {
        h->waiting = c;
    }
    h->waiting_tail = c;
}


/* Takes c out of the waiting list, if there.  conn_lock held. */
static void
waiting_del(http_t *h, http_conn_t *c)
{
    if (!c->waiting) {
        return;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        h->waiting = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    } else {
        h->waiting_tail = c->prev;
    }
    c->prev = c->next = NULL;
    c->waiting = 0;
}


static void
count(http_t *h, uint64_t *counter)
{
    pthread_mutex_lock(&h->conn_lock);
    (*counter)++;
    pthread_mutex_unlock(&h->conn_lock);
}


static uint64_t
now_ms(void)
{
    return (uint64_t) (clock_mono() * 1000);
}


/* Queues resp for conn and counts it in gwlog_http_requests_total. */
static enum MHD_Result
queue(http_t *h, struct MHD_Connection *conn, int hd, unsigned status,
    struct MHD_Response *resp)
{
    size_t  i;

    for (i = 0; i < NCODES; i++) {
        if (codes[i] == status) {
            count(h, &h->st.requests[hd][i]);
        }
    }
    return MHD_queue_response(conn, status, resp);
}


/* The handler label of a request for url. */
static int
handler_of(const http_t *h, const char *url)
{
    if (strcmp(url, h->path) == 0) {
        return H_METRICS;
    }
    if (strcmp(url, "/") == 0) {
        return H_STATUS;
    }
    if (strcmp(url, "/-/healthy") == 0) {
        return H_HEALTHY;
    }
    if (strcmp(url, "/-/ready") == 0) {
        return H_READY;
    }
    return strcmp(url, "/-/reload") == 0 ? H_RELOAD : H_OTHER;
}


/* The collector of the gwlog_http_* families (store.h), registered on
 * hs.self: one table row per series, families in order. */
static void
collect(void *ctx, store_t *s, void *arg)
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
        for (k = 0; k < NCODES; k++) {
            /* The scrape's own 200 and 503 exist from the start. */
            if (st.requests[i][k] == 0
                && !(i == H_METRICS && (codes[k] == 200 || codes[k] == 503)))
            {
                continue;
            }
            snprintf(code, sizeof(code), "%u", codes[k]);
            v[0] = handler_names[i];
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


/* "gzip" among the Accept-Encoding codings, and not with q=0. */
static int
accepts_gzip(struct MHD_Connection *conn)
{
    const char  *ae, *p, *q, *end;
    size_t       n;

    ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (ae == NULL) {
        return 0;
    }
    for (p = ae; *p; p = *end ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        n = strcspn(p, " \t;,");
        if (n == 4 && strncasecmp(p, "gzip", 4) == 0) {
            /* A q of 0 refuses it; the parameter name is case-blind. */
            for (q = memchr(p, ';', (size_t) (end - p)); q != NULL && q < end;
                 q = memchr(q + 1, ';', (size_t) (end - q - 1)))
            {
                const char  *v = q + 1;

                while (*v == ' ' || *v == '\t') {
                    v++;
                }
                if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
                    return strtod(v + 2, NULL) != 0;
                }
            }
            return 1;
        }
    }
    return 0;
}


/* HOST:PORT, :PORT (every interface, dual stack) or [V6]:PORT.  *v6 is 0
 * for IPv4, 1 for IPv6, 2 for dual stack. */
static int
parse_addr(const char *addr, struct sockaddr_storage *ss, int *v6,
    char *err, size_t errlen)
{
    struct addrinfo   hints, *res;
    char              host[256];
    const char       *colon, *port;
    size_t            n;
    int               rc;

    memset(ss, 0, sizeof(*ss));
    colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0') {
        snprintf(err, errlen, "bad listen address \"%s\": want HOST:PORT",
                 addr);
        return -1;
    }
    port = colon + 1;
    if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5
        || atoi(port) > 65535)
    {
        snprintf(err, errlen, "bad listen address \"%s\": the port must be "
                 "a number from 0 to 65535", addr);
        return -1;
    }
    n = (size_t) (colon - addr);
    if (n >= sizeof(host)) {
        snprintf(err, errlen, "bad listen address \"%s\"", addr);
        return -1;
    }
    memcpy(host, addr, n);
    host[n] = '\0';
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (host[0] == '\0') {
        hints.ai_family = AF_INET6;
        rc = getaddrinfo(NULL, port, &hints, &res);
        *v6 = 2;
    } else {
        hints.ai_family = AF_UNSPEC;
        rc = getaddrinfo(host, port, &hints, &res);
    }
    if (rc != 0) {
        snprintf(err, errlen, "bad listen address \"%s\": %s", addr,
                 gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    if (*v6 == 0 && res->ai_family == AF_INET6) {
        *v6 = 1;
    }
    freeaddrinfo(res);
    return 0;
}
