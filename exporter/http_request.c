/* http_request.c - One request: the dispatch by path and method,
 * /metrics (with --web.max-requests and gzip), /-/healthy, /-/ready,
 * POST /-/reload, the page at /, 404 and 405, and the replies that count
 * themselves in gwlog_http_requests_total. */

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "exporter/http.h"
#include "exporter/http_internal.h"
#include "labels/expo.h"


int  http_request_seen, http_scrape_held;

static enum MHD_Result reload(http_t *h, struct MHD_Connection *conn,
    const char *method);
static int handler_of(const http_t *h, const char *url);
static enum MHD_Result reply(http_t *h, struct MHD_Connection *conn, int hd,
    unsigned status, const char *type, char *body, size_t len,
    int must_free);
static int has_body(struct MHD_Connection *conn);
static enum MHD_Result not_allowed(http_t *h, struct MHD_Connection *conn,
    int hd, const char *allow);
static enum MHD_Result metrics(http_t *h, struct MHD_Connection *conn,
    int hd, void **state);
static enum MHD_Result landing(http_t *h, struct MHD_Connection *conn,
    int hd);
static int accepts_gzip(struct MHD_Connection *conn);


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


/* The request handler: libmicrohttpd calls it once the header is complete
 * (*state NULL), then again to answer (body data is never read). */
enum MHD_Result
http_handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **state)
{
    http_t               *h = cls;
    enum MHD_Result       ret;
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
            http_waiting_del(h, ci->socket_context);
            pthread_mutex_unlock(&h->conn_lock);
        }
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  h->timeout);
        *state = &http_request_seen;
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
    if (h->web != NULL && !http_guard(h, conn, hd, &ret)) {
        return ret;
    }
    if (strcmp(url, "/-/reload") == 0) {
        return reload(h, conn, method);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return not_allowed(h, conn, hd, "GET, HEAD");
    }

    if (strcmp(url, h->path) == 0) {
        return metrics(h, conn, hd, state);
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
        return landing(h, conn, hd);
    }
    return reply(h, conn, hd, MHD_HTTP_NOT_FOUND, "text/plain",
                 (char *) "Not Found\n", strlen("Not Found\n"), 0);
}


/* GET or HEAD on the telemetry path: the exposition in the negotiated
 * format, gzipped when the client takes it; 503 beyond max_requests. */
static enum MHD_Result
metrics(http_t *h, struct MHD_Connection *conn, int hd, void **state)
{
    buf_t                 body = { 0 }, gz = { 0 };
    struct MHD_Response  *resp;
    enum MHD_Result       ret;
    expo_format_t         fmt;
    size_t                len;
    char                 *p;

    /* Like node_exporter's --web.max-requests: beyond it, 503. */
    if (atomic_fetch_add(&h->in_flight, 1) >= h->max_requests
        && h->max_requests > 0)
    {
        atomic_fetch_sub(&h->in_flight, 1);
        http_count(h, &h->st.overload);
        return reply(h, conn, hd, MHD_HTTP_SERVICE_UNAVAILABLE,
                     "text/plain",
                     (char *) "Too many concurrent scrapes\n",
                     strlen("Too many concurrent scrapes\n"), 0);
    }
    /* Held until the response is sent (http_notify_completed()): at most
     * max_requests bodies in memory, whatever the readers' speed. */
    *state = &http_scrape_held;
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
    ret = http_queue(h, conn, hd, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* GET / (when it is not the telemetry path): the status page, or a
 * plain landing page linking to the metrics. */
static enum MHD_Result
landing(http_t *h, struct MHD_Connection *conn, int hd)
{
    static const char     page[] =
        "<!DOCTYPE html>\n<html><head><title>gwlog_exporter</title></head>\n"
        "<body><h1>gwlog_exporter</h1>\n"
        "<p>API gateway access logs as Prometheus metrics.</p>\n"
        "<p><a href=\"%s\">Metrics</a></p>\n</body></html>\n";
    buf_t                 body = { 0 };
    size_t                len;
    char                 *p;

    if (h->hs.status != NULL) {
        h->hs.status(h->hs.ctx, &body);
    } else {
        buf_printf(&body, page, h->path);
    }
    p = buf_detach(&body, &len);
    return reply(h, conn, hd, MHD_HTTP_OK, "text/html; charset=utf-8", p,
                 len, 1);
}


/* POST /-/reload, as Prometheus: 403 unless the lifecycle API is enabled,
 * 405 for other methods, 500 with the reason when the reload fails. */
static enum MHD_Result
reload(http_t *h, struct MHD_Connection *conn, const char *method)
{
    static const char   off[] = "Lifecycle API is not enabled.\n";
    buf_t                body = { 0 };
    char                 err[512], *p;
    size_t               len;

    if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
        return not_allowed(h, conn, H_RELOAD, "POST, PUT");
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
    ret = http_queue(h, conn, hd, status, resp);
    MHD_destroy_response(resp);
    return ret;
}


/* 405, with the methods the handler takes in Allow. */
static enum MHD_Result
not_allowed(http_t *h, struct MHD_Connection *conn, int hd,
    const char *allow)
{
    static const char     text[] = "Method Not Allowed\n";
    struct MHD_Response  *resp;
    enum MHD_Result       ret;

    resp = MHD_create_response_from_buffer(strlen(text), (void *) text,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Allow", allow);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    ret = http_queue(h, conn, hd, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
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
enum MHD_Result
http_reply_close(http_t *h, struct MHD_Connection *conn, int hd,
    unsigned status, const char *text)
{
    struct MHD_Response  *resp;
    enum MHD_Result       ret;

    resp = MHD_create_response_from_buffer(strlen(text), (void *) text,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    MHD_add_response_header(resp, "Connection", "close");
    ret = http_queue(h, conn, hd, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Queues resp for conn and counts it in gwlog_http_requests_total. */
enum MHD_Result
http_queue(http_t *h, struct MHD_Connection *conn, int hd, unsigned status,
    struct MHD_Response *resp)
{
    size_t  i;

    for (i = 0; i < HTTP_NCODES; i++) {
        if (http_codes[i] == status) {
            http_count(h, &h->st.requests[hd][i]);
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


