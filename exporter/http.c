/* http.c - The HTTP endpoint: /metrics, a landing page, 404 and 405. */

#include "exporter/http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <zlib.h>

#include "exporter/expo.h"
#include "exporter/log.h"


#define HTTP_CONNECTION_LIMIT   64
#define HTTP_TIMEOUT_SECONDS    10
#define HTTP_THREADS            2

#define HTTP_MEMORY_LIMIT       (16 * 1024)  /* request headers and more */
#define HTTP_REALM              "gwlog_exporter"

struct http {
    struct MHD_Daemon   *daemon;
    http_handlers_t      hs;
    char                *path;
    unsigned             port;
    unsigned             max_requests;
    atomic_uint          in_flight;     /* scrapes being served */
    pthread_mutex_t      web_lock;      /* web and web_mtime */
    webcfg_t            *web;           /* owned; NULL: plain, no auth */
    struct timespec      web_mtime;
};


static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_size, void **state);
static enum MHD_Result reload(http_t *h, struct MHD_Connection *conn,
    const char *method);
static int guard(http_t *h, struct MHD_Connection *conn,
    enum MHD_Result *ret);
static void web_refresh(http_t *h);
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
    const char *type, char *body, size_t len, int must_free);
static int accepts_gzip(struct MHD_Connection *conn);
static int parse_addr(const char *addr, struct sockaddr_storage *ss,
    int *v6, char *err, size_t errlen);


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
    struct sockaddr_storage   ss;
    const union MHD_DaemonInfo *info;
    struct MHD_OptionItem     opts[16];
    http_t                   *h;
    unsigned                  flags;
    size_t                    n;
    int                       v6 = 0;

    if (parse_addr(addr, &ss, &v6, err, errlen) != 0) {
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL || (h->path = strdup(path)) == NULL) {
        free(h);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->hs = *hs;
    pthread_mutex_init(&h->web_lock, NULL);
    h->max_requests = lim ? lim->max_requests : 0;
    h->web = lim ? lim->web : NULL;
    if (h->web != NULL) {
        struct stat  st;

        if (stat(h->web->file, &st) == 0) {
            h->web_mtime = st.st_mtim;
        }
    }
    flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (v6) {
        flags |= (v6 == 2) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    }
    n = 0;
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_SOCK_ADDR, 0, &ss };
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_LIMIT,
        lim && lim->max_connections ? lim->max_connections
                                    : HTTP_CONNECTION_LIMIT, NULL };
    opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_TIMEOUT,
        lim && lim->timeout ? lim->timeout : HTTP_TIMEOUT_SECONDS, NULL };
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
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not "
                 "available%s)", addr, h->web && h->web->tls
                 ? ", or the TLS certificate or key is not valid PEM" : "");
        webconfig_free(h->web);
        pthread_mutex_destroy(&h->web_lock);
        free(h->path);
        free(h);
        return NULL;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    return h;
}


unsigned
http_port(const http_t *h)
{
    return h->port;
}


void
http_stop(http_t *h)
{
    if (h == NULL) {
        return;
    }
    MHD_stop_daemon(h->daemon);
    webconfig_free(h->web);
    pthread_mutex_destroy(&h->web_lock);
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
    static int            first_call;
    static const char     page[] =
        "<!DOCTYPE html>\n<html><head><title>gwlog_exporter</title></head>\n"
        "<body><h1>gwlog_exporter</h1>\n"
        "<p>API gateway access logs as Prometheus metrics.</p>\n"
        "<p><a href=\"%s\">Metrics</a></p>\n</body></html>\n";
    http_t               *h = cls;
    buf_t                 body = { 0 }, gz = { 0 };
    struct MHD_Response  *resp;
    enum MHD_Result       ret;
    size_t                len;
    char                 *p;

    (void) version;
    (void) upload_data;
    if (*state == NULL) {
        /* First call for this request: headers only. */
        *state = &first_call;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        *upload_size = 0;                   /* discard any body */
        return MHD_YES;
    }
    if (h->web != NULL && !guard(h, conn, &ret)) {
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
        ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        return ret;
    }

    if (strcmp(url, h->path) == 0) {
        /* Like node_exporter's --web.max-requests: beyond it, 503. */
        if (h->max_requests > 0
            && atomic_fetch_add(&h->in_flight, 1) >= h->max_requests)
        {
            atomic_fetch_sub(&h->in_flight, 1);
            return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                         (char *) "Too many concurrent scrapes\n",
                         strlen("Too many concurrent scrapes\n"), 0);
        }
        h->hs.metrics(h->hs.ctx, &body);
        if (h->max_requests > 0) {
            atomic_fetch_sub(&h->in_flight, 1);
        }
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
        MHD_add_response_header(resp, "Content-Type", EXPO_CONTENT_TYPE);
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
        ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (strcmp(url, "/-/healthy") == 0) {
        return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8",
                     (char *) "gwlog_exporter is Healthy.\n",
                     strlen("gwlog_exporter is Healthy.\n"), 0);
    }
    if (strcmp(url, "/-/ready") == 0) {
        if (h->hs.ready == NULL || h->hs.ready(h->hs.ctx)) {
            return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8",
                         (char *) "gwlog_exporter is Ready.\n",
                         strlen("gwlog_exporter is Ready.\n"), 0);
        }
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
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
        return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", p, len, 1);
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain",
                 (char *) "Not Found\n", strlen("Not Found\n"), 0);
}


/* TLS client certificates and basic auth, per request.  Returns 1 to go
 * on, or 0 with the refusal queued and its result in *ret. */
static int
guard(http_t *h, struct MHD_Connection *conn, enum MHD_Result *ret)
{
    static const char                   denied[] = "Unauthorized\n";
    const union MHD_ConnectionInfo     *ci;
    const gnutls_datum_t               *peers;
    struct MHD_Response                *resp;
    unsigned                            npeers = 0, status = 1;
    char                               *user, *pass = NULL;
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
            *ret = reply(conn, MHD_HTTP_FORBIDDEN, "text/plain",
                         (char *) "A valid client certificate is required\n",
                         strlen("A valid client certificate is required\n"),
                         0);
            return 0;
        }
    }
    if (h->web->nusers == 0) {
        pthread_mutex_unlock(&h->web_lock);
        return 1;
    }
    user = MHD_basic_auth_get_username_password(conn, &pass);
    ok = user != NULL && pass != NULL
         && webconfig_check_password(h->web, user, pass);
    pthread_mutex_unlock(&h->web_lock);
    if (user != NULL) {
        MHD_free(user);
    }
    if (pass != NULL) {
        MHD_free(pass);
    }
    if (ok) {
        return 1;
    }
    resp = MHD_create_response_from_buffer(strlen(denied), (void *) denied,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    *ret = MHD_queue_basic_auth_fail_response(conn, HTTP_REALM, resp);
    MHD_destroy_response(resp);
    return 0;
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
        log_error("web config not reloaded, the old one stays: %s", err);
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
    log_info("web config %s reloaded: %zu basic auth users", w->file,
             w->nusers);
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
        ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (h->hs.reload == NULL) {
        return reply(conn, MHD_HTTP_FORBIDDEN, "text/plain", (char *) off,
                     strlen(off), 0);
    }
    if (h->hs.reload(h->hs.ctx, err, sizeof(err)) != 0) {
        buf_printf(&body, "failed to reload config: %s\n", err);
        p = buf_detach(&body, &len);
        return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", p,
                     len, 1);
    }
    return reply(conn, MHD_HTTP_OK, "text/plain", (char *) "", 0, 0);
}


static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type,
    char *body, size_t len, int must_free)
{
    struct MHD_Response  *resp;
    enum MHD_Result       ret;

    resp = MHD_create_response_from_buffer(len, body, must_free
                                           ? MHD_RESPMEM_MUST_FREE
                                           : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", type);
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
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
