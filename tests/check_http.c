/* check_http.c - Unit tests for exporter/http.c: a real server on a
 * loopback port, spoken to with raw HTTP/1.1 over a TCP socket (status,
 * headers, exact bodies, gzip negotiation, 404, 405, the landing page),
 * listen address errors and http_gzip() round trips. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <check.h>

#include "exporter/http.h"
#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Macros */

#define EXPOSITION \
    "# HELP req_total Requests.\n" \
    "# TYPE req_total counter\n" \
    "req_total{product=\"acc\"} 3\n"

#define MB5     (5 * 1024 * 1024)


/* Types */

/* The metrics callback's context: what to append and how often it ran. */
typedef struct {
    const char       *body;             /* not owned */
    size_t            len;
    pthread_mutex_t   lock;
    unsigned          calls;
    store_t          *self;             /* owned; NULL: no HTTP metrics */
    expo_format_t     fmt;              /* of the last call */
} metrics_ctx_t;

/* A parsed response. */
typedef struct {
    int      status;
    char    *head;                      /* status line and headers */
    char    *body;                      /* NUL-terminated copy */
    size_t   body_len;
} resp_t;


/* Helpers */

static void
metrics(void *ctx, buf_t *out, expo_format_t fmt)
{
    metrics_ctx_t  *m = ctx;
    store_snap_t   *snap;

    pthread_mutex_lock(&m->lock);
    m->calls++;
    m->fmt = fmt;
    pthread_mutex_unlock(&m->lock);
    buf_append(out, m->body, m->len);
    if (m->self != NULL) {
        snap = store_snapshot(m->self);
        ck_assert_ptr_nonnull(snap);
        expo_write(out, EXPO_TEXT, snap);
        store_snap_free(snap);
    }
}


static void
ctx_init(metrics_ctx_t *m, const char *body, size_t len)
{
    m->body = body;
    m->len = len;
    m->calls = 0;
    m->self = NULL;
    m->fmt = EXPO_TEXT;
    pthread_mutex_init(&m->lock, NULL);
}


static unsigned
ctx_calls(metrics_ctx_t *m)
{
    unsigned  n;

    pthread_mutex_lock(&m->lock);
    n = m->calls;
    pthread_mutex_unlock(&m->lock);
    return n;
}


/* Starts a server on 127.0.0.1:0 serving path; asserts success. */
static http_t *
start(const char *path, metrics_ctx_t *m)
{
    char     err[256] = "";
    http_t  *h;

    h = http_start("127.0.0.1:0", path, metrics, m, err, sizeof(err));
    ck_assert_msg(h != NULL, "http_start: %s", err);
    ck_assert_uint_ne(http_port(h), 0);
    return h;
}


/* Connects to 127.0.0.1:port (AF_INET) or [::1]:port (AF_INET6). */
static int
connect_to(int family, unsigned port)
{
    struct sockaddr_in6  a6;
    struct sockaddr_in   a4;
    struct timeval       tv = { 10, 0 };
    int                  fd;

    fd = socket(family, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (family == AF_INET6) {
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t) port);
        a6.sin6_addr = in6addr_loopback;
        ck_assert_msg(connect(fd, (struct sockaddr *) &a6, sizeof(a6)) == 0,
                      "connect [::1]:%u: %s", port, strerror(errno));
    } else {
        memset(&a4, 0, sizeof(a4));
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t) port);
        a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_msg(connect(fd, (struct sockaddr *) &a4, sizeof(a4)) == 0,
                      "connect 127.0.0.1:%u: %s", port, strerror(errno));
    }
    return fd;
}


static void
send_all(int fd, const char *p, size_t n)
{
    ssize_t  w;

    while (n > 0) {
        w = write(fd, p, n);
        ck_assert_msg(w > 0, "write: %s", strerror(errno));
        p += w;
        n -= (size_t) w;
    }
}


/* Reads until the server closes the connection; returns the bytes. */
static char *
recv_all(int fd, size_t *len)
{
    buf_t    b = { 0 };
    char     chunk[65536];
    ssize_t  r;

    for ( ;; ) {
        r = read(fd, chunk, sizeof(chunk));
        if (r == 0) {
            break;
        }
        ck_assert_msg(r > 0, "read: %s", strerror(errno));
        buf_append(&b, chunk, (size_t) r);
    }
    buf_append(&b, "", 0);
    return buf_detach(&b, len);
}


/* Sends a raw request and returns the raw response (server closes). */
static char *
raw_exchange(int family, unsigned port, const char *req, size_t *len)
{
    char  *out;
    int    fd;

    fd = connect_to(family, port);
    send_all(fd, req, strlen(req));
    out = recv_all(fd, len);
    close(fd);
    return out;
}


/* Splits a raw response into status, head and body. */
static void
parse(const char *raw, size_t len, resp_t *r)
{
    const char  *sep;
    size_t       hlen;

    memset(r, 0, sizeof(*r));
    ck_assert_msg(len >= 12 && strncmp(raw, "HTTP/1.", 7) == 0,
                  "not an HTTP response: \"%.80s\"", raw);
    r->status = atoi(raw + 9);
    sep = strstr(raw, "\r\n\r\n");
    ck_assert_msg(sep != NULL, "no end of headers in \"%.200s\"", raw);
    hlen = (size_t) (sep - raw) + 2;
    r->head = strndup(raw, hlen);
    r->body_len = len - hlen - 2;
    r->body = malloc(r->body_len + 1);
    ck_assert_ptr_nonnull(r->head);
    ck_assert_ptr_nonnull(r->body);
    memcpy(r->body, sep + 4, r->body_len);
    r->body[r->body_len] = '\0';
}


/* One request "METHOD path" with extra header lines (each ending in
 * "\r\n"), Connection: close; returns the parsed response. */
static void
request(unsigned port, const char *method, const char *path,
    const char *headers, resp_t *r)
{
    char    req[4096], *raw;
    size_t  len;

    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s"
             "Connection: close\r\n\r\n", method, path, headers);
    raw = raw_exchange(AF_INET, port, req, &len);
    parse(raw, len, r);
    free(raw);
}


static void
resp_free(resp_t *r)
{
    free(r->head);
    free(r->body);
}


/* Value of header name (case-insensitive) in r, copied into out; returns
 * out, or NULL when the header is absent. */
static char *
header(const resp_t *r, const char *name, char *out, size_t outlen)
{
    const char  *p, *end;
    size_t       n = strlen(name), vlen;

    for (p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ' || *p == '\t') {
                p++;
            }
            end = strstr(p, "\r\n");
            vlen = (size_t) (end - p);
            if (vlen >= outlen) {
                vlen = outlen - 1;
            }
            memcpy(out, p, vlen);
            out[vlen] = '\0';
            return out;
        }
    }
    return NULL;
}


/* Asserts header name is exactly want. */
static void
check_header(const resp_t *r, const char *name, const char *want)
{
    char  v[512];

    ck_assert_msg(header(r, name, v, sizeof(v)) != NULL,
                  "no %s header in:\n%s", name, r->head);
    ck_assert_msg(strcmp(v, want) == 0, "%s: \"%s\", want \"%s\"", name, v,
                  want);
}


/* Inflates a gzip stream into out (appended). */
static void
gunzip(const char *in, size_t len, buf_t *out)
{
    z_stream  z;
    char      chunk[65536];
    int       rc;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *) in;
    z.avail_in = (uInt) len;
    do {
        z.next_out = (Bytef *) chunk;
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d", rc);
        buf_append(out, chunk, sizeof(chunk) - z.avail_out);
    } while (rc != Z_STREAM_END);
    ck_assert_uint_eq(z.avail_in, 0);           /* nothing after the end */
    inflateEnd(&z);
    buf_append(out, "", 0);
}


/* Asserts r is a 200 exposition of want, plain or gzip as told. */
static void
check_metrics(const resp_t *r, const char *want, size_t want_len, int gz)
{
    char   v[64];
    buf_t  plain = { 0 };

    ck_assert_int_eq(r->status, 200);
    check_header(r, "Content-Type", EXPO_CONTENT_TYPE);
    ck_assert_str_eq(EXPO_CONTENT_TYPE,
                     "text/plain; version=0.0.4; charset=utf-8");
    if (header(r, "Content-Length", v, sizeof(v)) != NULL) {
        ck_assert_uint_eq(strtoull(v, NULL, 10), r->body_len);
    }
    if (gz) {
        check_header(r, "Content-Encoding", "gzip");
        ck_assert_uint_ge(r->body_len, 18);
        ck_assert_int_eq((unsigned char) r->body[0], 0x1f);
        ck_assert_int_eq((unsigned char) r->body[1], 0x8b);
        gunzip(r->body, r->body_len, &plain);
        ck_assert_uint_eq(plain.len, want_len);
        ck_assert_msg(memcmp(plain.p, want, want_len) == 0,
                      "inflated body differs");
        buf_free(&plain);
    } else {
        ck_assert_msg(header(r, "Content-Encoding", v, sizeof(v)) == NULL,
                      "unexpected Content-Encoding: %s", v);
        ck_assert_uint_eq(r->body_len, want_len);
        ck_assert_msg(memcmp(r->body, want, want_len) == 0,
                      "body differs: \"%.200s\"", r->body);
    }
}


/* GET /metrics with one Accept-Encoding value; checks the encoding. */
static void
check_accept(unsigned port, const char *ae, int gz)
{
    char    hdr[512];
    resp_t  r;

    snprintf(hdr, sizeof(hdr), "Accept-Encoding: %s\r\n", ae);
    request(port, "GET", "/metrics", hdr, &r);
    ck_assert_msg((header(&r, "Content-Encoding", hdr, sizeof(hdr)) != NULL)
                  == gz, "Accept-Encoding \"%s\": %s", ae,
                  gz ? "not compressed" : "compressed");
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), gz);
    resp_free(&r);
}


/* Whether a socket can bind [::1]. */
static int
have_ipv6_loopback(void)
{
    struct sockaddr_in6  a6;
    int                  fd, ok;

    fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *) &a6, sizeof(a6)) == 0;
    close(fd);
    return ok;
}


/* Asserts http_start(addr) fails with a message naming addr. */
static void
check_bad_addr(const char *addr)
{
    metrics_ctx_t  m;
    char           err[256] = "";
    http_t        *h;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = http_start(addr, "/metrics", metrics, &m, err, sizeof(err));
    if (h != NULL) {
        unsigned  port = http_port(h);

        http_stop(h);
        ck_abort_msg("http_start(\"%s\") succeeded (bound port %u), want "
                     "NULL", addr, port);
    }
    ck_assert_msg(err[0] != '\0', "http_start(\"%s\"): empty message", addr);
    ck_assert_msg(strstr(err, addr) != NULL,
                  "http_start(\"%s\"): message \"%s\" does not name it",
                  addr, err);
}


/* Core */

START_TEST(test_get_metrics)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    request(http_port(h), "GET", "/metrics", "", &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 0);
    check_header(&r, "Vary", "Accept, Accept-Encoding");
    ck_assert_str_eq(r.body, EXPOSITION);
    ck_assert_uint_eq(ctx_calls(&m), 1);
    resp_free(&r);

    /* The query string is not part of the path. */
    request(http_port(h), "GET", "/metrics?x=1", "", &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 0);
    resp_free(&r);
    ck_assert_uint_eq(ctx_calls(&m), 2);
    http_stop(h);
}
END_TEST


START_TEST(test_gzip_negotiation)
{
    metrics_ctx_t  m;
    http_t        *h;
    unsigned       port;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    port = http_port(h);
    check_accept(port, "gzip", 1);
    check_accept(port, "GZIP", 1);
    check_accept(port, "deflate, GZIP", 1);
    check_accept(port, "deflate,gzip", 1);
    check_accept(port, "br;q=1.0, gzip;q=0.8, *;q=0.1", 1);
    check_accept(port, "gzip;q=0.001", 1);
    check_accept(port, "gzip, deflate;q=0", 1);
    check_accept(port, "gzip ; q=1", 1);
    check_accept(port, "gzip;q=0", 0);
    check_accept(port, "gzip;q=0.0", 0);
    check_accept(port, "gzip; q=0.000", 0);
    check_accept(port, "deflate, gzip;q=0", 0);
    check_accept(port, "gzip;q=0, deflate", 0);
    check_accept(port, "deflate", 0);
    check_accept(port, "identity", 0);
    check_accept(port, "x-gzip", 0);
    check_accept(port, "gzipped", 0);
    check_accept(port, "", 0);
    http_stop(h);
}
END_TEST


START_TEST(test_gzip_qvalue_case)
{
    metrics_ctx_t  m;
    http_t        *h;

    /* RFC 9110 12.4.2: the "q" parameter name is case-insensitive. */
    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    check_accept(http_port(h), "gzip;Q=0", 0);
    http_stop(h);
}
END_TEST


START_TEST(test_head)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;
    char           v[64];

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    request(http_port(h), "HEAD", "/metrics", "", &r);
    ck_assert_int_eq(r.status, 200);
    check_header(&r, "Content-Type", EXPO_CONTENT_TYPE);
    ck_assert_uint_eq(r.body_len, 0);
    if (header(&r, "Content-Length", v, sizeof(v)) != NULL) {
        ck_assert_uint_eq(strtoull(v, NULL, 10), strlen(EXPOSITION));
    }
    resp_free(&r);
    http_stop(h);
}
END_TEST


START_TEST(test_method_not_allowed)
{
    static const char *const  methods[] = { "POST", "PUT", "DELETE" };
    metrics_ctx_t             m;
    http_t                   *h;
    resp_t                    r;
    size_t                    i;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        request(http_port(h), methods[i], "/metrics", "", &r);
        ck_assert_msg(r.status == 405, "%s: status %d", methods[i], r.status);
        check_header(&r, "Allow", "GET, HEAD");
        ck_assert_str_eq(r.body, "Method Not Allowed\n");
        resp_free(&r);
    }

    /* On another path too. */
    request(http_port(h), "DELETE", "/other", "", &r);
    ck_assert_int_eq(r.status, 405);
    check_header(&r, "Allow", "GET, HEAD");
    resp_free(&r);

    ck_assert_uint_eq(ctx_calls(&m), 0);
    http_stop(h);
}
END_TEST


START_TEST(test_post_with_body)
{
    metrics_ctx_t  m;
    http_t        *h;
    char          *raw;
    size_t         len;
    resp_t         r;

    /* A body sent with the headers is read and discarded. */
    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    raw = raw_exchange(AF_INET, http_port(h),
                       "POST /metrics HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
                       &len);
    parse(raw, len, &r);
    ck_assert_int_eq(r.status, 405);
    check_header(&r, "Allow", "GET, HEAD");
    ck_assert_str_eq(r.body, "Method Not Allowed\n");
    resp_free(&r);
    free(raw);
    http_stop(h);
}
END_TEST


START_TEST(test_not_found)
{
    static const char *const  paths[] = {
        "/other", "/metrics/", "/metricsx", "/Metrics", "/favicon.ico"
    };
    metrics_ctx_t             m;
    http_t                   *h;
    resp_t                    r;
    size_t                    i;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        request(http_port(h), "GET", paths[i], "", &r);
        ck_assert_msg(r.status == 404, "%s: status %d", paths[i], r.status);
        check_header(&r, "Content-Type", "text/plain");
        ck_assert_str_eq(r.body, "Not Found\n");
        resp_free(&r);
    }
    ck_assert_uint_eq(ctx_calls(&m), 0);
    http_stop(h);
}
END_TEST


START_TEST(test_landing_page)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    request(http_port(h), "GET", "/", "", &r);
    ck_assert_int_eq(r.status, 200);
    check_header(&r, "Content-Type", "text/html; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "<a href=\"/metrics\">"));
    ck_assert_ptr_nonnull(strstr(r.body, "<html>"));
    ck_assert_ptr_nonnull(strstr(r.body, "</html>"));
    ck_assert_uint_eq(strlen(r.body), r.body_len);
    resp_free(&r);
    ck_assert_uint_eq(ctx_calls(&m), 0);
    http_stop(h);
}
END_TEST


START_TEST(test_custom_path)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/m", &m);
    request(http_port(h), "GET", "/m", "", &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 0);
    resp_free(&r);
    request(http_port(h), "GET", "/m", "Accept-Encoding: gzip\r\n", &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 1);
    resp_free(&r);
    request(http_port(h), "GET", "/metrics", "", &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    request(http_port(h), "GET", "/", "", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "<a href=\"/m\">"));
    resp_free(&r);
    ck_assert_uint_eq(ctx_calls(&m), 2);
    http_stop(h);
}
END_TEST


START_TEST(test_empty_exposition)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;

    ctx_init(&m, "", 0);
    h = start("/metrics", &m);
    request(http_port(h), "GET", "/metrics", "", &r);
    check_metrics(&r, "", 0, 0);
    resp_free(&r);
    request(http_port(h), "GET", "/metrics", "Accept-Encoding: gzip\r\n", &r);
    check_metrics(&r, "", 0, 1);
    resp_free(&r);
    http_stop(h);
}
END_TEST


START_TEST(test_keep_alive)
{
    metrics_ctx_t  m;
    http_t        *h;
    char          *raw, *second;
    size_t         len;
    resp_t         r;

    /* Two pipelined requests on one connection, the second closing it. */
    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    raw = raw_exchange(AF_INET, http_port(h),
                       "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /nope HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n", &len);
    second = strstr(raw + 1, "HTTP/1.1 ");
    ck_assert_msg(second != NULL, "one response only:\n%s", raw);
    *second = '\0';
    parse(raw, (size_t) (second - raw), &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 0);
    resp_free(&r);
    *second = 'H';
    parse(second, len - (size_t) (second - raw), &r);
    ck_assert_int_eq(r.status, 404);
    resp_free(&r);
    free(raw);
    http_stop(h);
}
END_TEST


START_TEST(test_stop_null)
{
    http_stop(NULL);
}
END_TEST


/* Addresses */

START_TEST(test_bad_addresses)
{
    check_bad_addr("nope");
    check_bad_addr("127.0.0.1:");
    check_bad_addr("127.0.0.1:abc");
    check_bad_addr("127.0.0.1:-1");
    check_bad_addr("");
    check_bad_addr(":");
}
END_TEST


START_TEST(test_port_out_of_range)
{
    /* A port above 65535 must be refused, not truncated modulo 65536
     * (65536 would silently become port 0, an ephemeral port). */
    check_bad_addr("127.0.0.1:65536");
    check_bad_addr("127.0.0.1:99999");
}
END_TEST


START_TEST(test_address_in_use)
{
    metrics_ctx_t  m;
    char           addr[64], err[256] = "";
    http_t        *h, *h2;
    int            saved, devnull;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", http_port(h));
    /* libmicrohttpd logs the bind failure itself: keep it off stderr. */
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    devnull = open("/dev/null", O_WRONLY);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(devnull, 0);
    dup2(devnull, STDERR_FILENO);
    h2 = http_start(addr, "/metrics", metrics, &m, err, sizeof(err));
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(devnull);
    ck_assert_ptr_null(h2);
    ck_assert_msg(strstr(err, addr) != NULL, "message \"%s\"", err);
    http_stop(h);
}
END_TEST


START_TEST(test_ipv6_loopback)
{
    metrics_ctx_t  m;
    char           err[256] = "", *raw;
    http_t        *h;
    size_t         len;
    resp_t         r;

    if (!have_ipv6_loopback()) {
        fprintf(stderr, "check_http: no IPv6 loopback, [::1]:0 skipped\n");
        return;
    }
    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = http_start("[::1]:0", "/metrics", metrics, &m, err, sizeof(err));
    ck_assert_msg(h != NULL, "http_start([::1]:0): %s", err);
    ck_assert_uint_ne(http_port(h), 0);
    raw = raw_exchange(AF_INET6, http_port(h),
                       "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n", &len);
    parse(raw, len, &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 0);
    resp_free(&r);
    free(raw);
    http_stop(h);
}
END_TEST


START_TEST(test_every_interface)
{
    metrics_ctx_t  m;
    char           err[256] = "";
    http_t        *h;
    resp_t         r;

    /* ":0" listens on every interface, IPv4 included. */
    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = http_start(":0", "/metrics", metrics, &m, err, sizeof(err));
    ck_assert_msg(h != NULL, "http_start(:0): %s", err);
    ck_assert_uint_ne(http_port(h), 0);
    request(http_port(h), "GET", "/metrics", "", &r);
    check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 0);
    resp_free(&r);
    http_stop(h);
}
END_TEST


/* Gzip */

START_TEST(test_gzip_empty)
{
    buf_t  gz = { 0 }, plain = { 0 };

    ck_assert_int_eq(http_gzip("", 0, &gz), 0);
    ck_assert_uint_ge(gz.len, 18);              /* header + trailer */
    ck_assert_int_eq((unsigned char) gz.p[0], 0x1f);
    ck_assert_int_eq((unsigned char) gz.p[1], 0x8b);
    gunzip(gz.p, gz.len, &plain);
    ck_assert_uint_eq(plain.len, 0);
    buf_free(&gz);
    buf_free(&plain);
}
END_TEST


START_TEST(test_gzip_appends)
{
    buf_t  gz = { 0 }, plain = { 0 };

    /* The stream goes after what out already holds. */
    buf_puts(&gz, "PFX");
    ck_assert_int_eq(http_gzip(EXPOSITION, strlen(EXPOSITION), &gz), 0);
    ck_assert_int_eq(memcmp(gz.p, "PFX", 3), 0);
    gunzip(gz.p + 3, gz.len - 3, &plain);
    ck_assert_uint_eq(plain.len, strlen(EXPOSITION));
    ck_assert_str_eq(plain.p, EXPOSITION);
    buf_free(&gz);
    buf_free(&plain);
}
END_TEST


/* Limits */

/* 5 MB of exposition-like text with a pseudo-random part, so that it
 * compresses but not to nothing. */
static char *
big_text(size_t n)
{
    char      *p = malloc(n + 1);
    uint32_t   x = 2463534242u;
    size_t     i;
    int        k;

    ck_assert_ptr_nonnull(p);
    for (i = 0; i < n; ) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        k = snprintf(p + i, n + 1 - i, "req_total{product=\"p%u\"} %u\n",
                     x % 5000, x);
        i += (size_t) k;
    }
    p[n] = '\0';
    return p;
}


START_TEST(test_gzip_5mb)
{
    buf_t   gz = { 0 }, plain = { 0 };
    char   *text = big_text(MB5);

    ck_assert_int_eq(http_gzip(text, MB5, &gz), 0);
    ck_assert_uint_lt(gz.len, MB5);
    gunzip(gz.p, gz.len, &plain);
    ck_assert_uint_eq(plain.len, MB5);
    ck_assert_int_eq(memcmp(plain.p, text, MB5), 0);
    buf_free(&gz);
    buf_free(&plain);

    /* Incompressible bytes still round-trip (the bound is honoured). */
    {
        uint32_t  x = 88172645u;
        size_t    i;

        for (i = 0; i < MB5; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            text[i] = (char) (x >> 24);
        }
    }
    ck_assert_int_eq(http_gzip(text, MB5, &gz), 0);
    gunzip(gz.p, gz.len, &plain);
    ck_assert_uint_eq(plain.len, MB5);
    ck_assert_int_eq(memcmp(plain.p, text, MB5), 0);
    buf_free(&gz);
    buf_free(&plain);
    free(text);
}
END_TEST


START_TEST(test_large_scrape)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;
    char          *text = big_text(MB5);

    ctx_init(&m, text, MB5);
    h = start("/metrics", &m);
    request(http_port(h), "GET", "/metrics", "", &r);
    check_metrics(&r, text, MB5, 0);
    resp_free(&r);
    request(http_port(h), "GET", "/metrics", "Accept-Encoding: gzip\r\n", &r);
    check_metrics(&r, text, MB5, 1);
    ck_assert_uint_lt(r.body_len, MB5);
    resp_free(&r);
    http_stop(h);
    free(text);
}
END_TEST


START_TEST(test_concurrent_connections)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;
    char          *raw;
    size_t         len, i;
    int            fds[16];
    static const char  req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                               "Accept-Encoding: gzip\r\n"
                               "Connection: close\r\n\r\n";

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start("/metrics", &m);
    for (i = 0; i < 16; i++) {
        fds[i] = connect_to(AF_INET, http_port(h));
    }
    for (i = 0; i < 16; i++) {
        send_all(fds[i], req, strlen(req));
    }
    for (i = 0; i < 16; i++) {
        raw = recv_all(fds[i], &len);
        close(fds[i]);
        parse(raw, len, &r);
        check_metrics(&r, EXPOSITION, strlen(EXPOSITION), 1);
        resp_free(&r);
        free(raw);
    }
    ck_assert_uint_eq(ctx_calls(&m), 16);
    http_stop(h);
}
END_TEST


/* Flood */

/* A server with its own gwlog_http_* families, max_connections and
 * timeout (seconds). */
static http_t *
start_limited(metrics_ctx_t *m, unsigned max_connections, unsigned timeout,
    unsigned max_requests)
{
    http_handlers_t  hs;
    http_limits_t    lim;
    char             err[256] = "";
    http_t          *h;

    memset(&hs, 0, sizeof(hs));
    hs.metrics = metrics;
    hs.ctx = m;
    m->self = store_create();
    ck_assert_ptr_nonnull(m->self);
    hs.self = m->self;
    memset(&lim, 0, sizeof(lim));
    lim.max_connections = max_connections;
    lim.timeout = timeout;
    lim.max_requests = max_requests;
    h = http_start_handlers("127.0.0.1:0", "/metrics", &hs, &lim, err,
                            sizeof(err));
    ck_assert_msg(h != NULL, "http_start_handlers: %s", err);
    return h;
}


/* The value of sample "name" (with its labels) in a scrape. */
static double
sample(unsigned port, const char *name)
{
    resp_t       r;
    const char  *p;
    double       v = -1;
    size_t       n = strlen(name);

    request(port, "GET", "/metrics", "", &r);
    ck_assert_uint_eq(r.status, 200);
    for (p = r.body; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
    resp_free(&r);
    ck_assert_msg(v >= 0, "no sample %s", name);
    return v;
}


/* Waits (5 s at most) until the server counts want open connections, read
 * from its self store, not over HTTP: a client may see its connection
 * closed before the server has noticed, and a scrape made then would be
 * one connection more than the test means. */
static void
settle_open(metrics_ctx_t *m, double want)
{
    static const char  key[] = "\ngwlog_http_connections_open ";
    store_snap_t  *snap;
    buf_t          b = { 0 };
    const char    *p;
    double         v = -1;
    int            i;

    for (i = 0; i < 500; i++) {
        snap = store_snapshot_collect(m->self, NULL);
        ck_assert_ptr_nonnull(snap);
        b.len = 0;
        expo_write(&b, EXPO_TEXT, snap);
        store_snap_free(snap);
        buf_append(&b, "", 1);
        p = strstr(b.p, key);
        v = p != NULL ? strtod(p + strlen(key), NULL) : -1;
        if (v == want) {
            break;
        }
        usleep(10000);
    }
    buf_free(&b);
    ck_assert_msg(v == want, "gwlog_http_connections_open %g, not %g", v,
                  want);
}


/* 1 when the server has closed fd (EOF or reset) within ms, else 0. */
static int
closed_within(int fd, int ms)
{
    struct pollfd  p = { .fd = fd, .events = POLLIN };
    char           c;
    ssize_t        r;

    if (poll(&p, 1, ms) <= 0) {
        return 0;
    }
    r = recv(fd, &c, 1, MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}


START_TEST(test_evicts_oldest_waiting)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;
    int            fds[4], i;

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start_limited(&m, 4, 30, 0);
    /* Four idle connections fill the limit, oldest first. */
    for (i = 0; i < 4; i++) {
        fds[i] = connect_to(AF_INET, http_port(h));
        usleep(100000);
    }
    /* A scrape is a fifth: the oldest idle one makes room. */
    request(http_port(h), "GET", "/metrics", "", &r);
    ck_assert_uint_eq(r.status, 200);
    resp_free(&r);
    ck_assert_msg(closed_within(fds[0], 5000), "the oldest idle connection "
                  "was not closed");
    for (i = 1; i < 4; i++) {
        ck_assert_msg(!closed_within(fds[i], 0), "connection %d closed", i);
    }
    /* Three idle ones and this scrape: the limit, nobody evicted. */
    settle_open(&m, 3);
    ck_assert_double_eq(sample(http_port(h), "gwlog_http_connections_refused_"
                               "total{reason=\"evicted\"}"), 1);
    ck_assert_msg(!closed_within(fds[1], 200), "second oldest closed");
    settle_open(&m, 3);
    ck_assert_double_eq(sample(http_port(h), "gwlog_http_connections_total"),
                        7);
    settle_open(&m, 3);
    ck_assert_double_eq(sample(http_port(h), "gwlog_http_connections_open"),
                        4);
    for (i = 0; i < 4; i++) {
        close(fds[i]);
    }
    http_stop(h);
    store_destroy(m.self);
}
END_TEST


START_TEST(test_header_deadline)
{
    metrics_ctx_t    m;
    http_t          *h;
    struct timespec  t0, t1;
    double           dt;
    char             buf[65536];
    int              fd, keep, i, closed = 0;
    static const char  req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start_limited(&m, 64, 1, 0);

    /* A slowloris client: a byte every 200 ms never ends its header, and
     * is closed after the 1 s timeout all the same. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fd = connect_to(AF_INET, http_port(h));
    send_all(fd, "GET /metrics HTTP/1.1\r\nX-Slow: ", 30);
    for (i = 0; i < 40 && !closed; i++) {
        closed = closed_within(fd, 200);
        if (!closed && send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
            closed = 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dt = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(closed && dt >= 0.9 && dt < 5, "slowloris closed %d after "
                  "%.2f s", closed, dt);
    close(fd);

    /* A kept-alive connection waits for its next header under the same
     * deadline, counted from its response. */
    keep = connect_to(AF_INET, http_port(h));
    send_all(keep, req, strlen(req));
    usleep(300000);
    ck_assert_int_gt(recv(keep, buf, sizeof(buf), MSG_DONTWAIT), 0);
    ck_assert_msg(!closed_within(keep, 0), "closed at once");
    ck_assert_msg(closed_within(keep, 5000), "the kept-alive connection was "
                  "not closed");
    close(keep);

    /* Both closed, as the client saw; the server may not have counted the
     * second close yet (a scrape then would see two open). */
    settle_open(&m, 0);
    ck_assert_double_eq(sample(http_port(h), "gwlog_http_connections_timed_"
                               "out_total{phase=\"header\"}"), 2);
    settle_open(&m, 0);
    ck_assert_double_eq(sample(http_port(h), "gwlog_http_connections_open"),
                        1);
    http_stop(h);
    store_destroy(m.self);
}
END_TEST


START_TEST(test_slow_body_answered_early)
{
    metrics_ctx_t    m;
    http_t          *h;
    struct pollfd    p;
    char             buf[4096];
    size_t           got = 0;
    ssize_t          r;
    int              fd, closed = 0, i;
    static const char  req[] = "POST /metrics HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 100000\r\n\r\nab";

    /* A body announced and trickled: the answer comes at once and the
     * connection is closed, long before the 30 s timeout. */
    ctx_init(&m, EXPOSITION, strlen(EXPOSITION));
    h = start_limited(&m, 64, 30, 0);
    fd = connect_to(AF_INET, http_port(h));
    send_all(fd, req, strlen(req));
    for (i = 0; i < 50 && !closed; i++) {
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 100) == 1) {
            r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
            if (r > 0) {
                got += (size_t) r;
            } else {
                closed = 1;                 /* EOF, or reset */
            }
        } else {
            (void) send(fd, "c", 1, MSG_NOSIGNAL);
        }
    }
    buf[got] = '\0';
    ck_assert_msg(strncmp(buf, "HTTP/1.1 405", 12) == 0, "got \"%.40s\"",
                  buf);
    ck_assert_msg(closed, "the connection stayed open");
    close(fd);
    http_stop(h);
    store_destroy(m.self);
}
END_TEST


/* --web.max-requests counts a scrape until its response is sent, so slow
 * readers hold at most that many bodies in memory. */
START_TEST(test_max_requests_until_sent)
{
    metrics_ctx_t  m;
    http_t        *h;
    resp_t         r;
    char          *text;
    int            fd, i, status = 0;
    size_t         n = 24 * 1024 * 1024;  /* beyond the socket buffers */
    static const char  req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

    text = big_text(n);
    ctx_init(&m, text, n);
    h = start_limited(&m, 64, 30, 1);
    fd = connect_to(AF_INET, http_port(h));
    send_all(fd, req, strlen(req));
    for (i = 0; i < 50 && ctx_calls(&m) == 0; i++) {
        usleep(100000);
    }
    ck_assert_uint_eq(ctx_calls(&m), 1);
    usleep(200000);
    /* The first response is not read: a second scrape is refused. */
    request(http_port(h), "GET", "/metrics", "", &r);
    ck_assert_uint_eq(r.status, 503);
    resp_free(&r);
    close(fd);
    for (i = 0; i < 50 && status != 200; i++) {
        usleep(100000);
        request(http_port(h), "GET", "/metrics", "", &r);
        status = r.status;
        resp_free(&r);
    }
    ck_assert_uint_eq(status, 200);
    http_stop(h);
    store_destroy(m.self);
    free(text);
}
END_TEST


Suite *
http_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("http");

    tc = tcase_create("Core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_get_metrics);
    tcase_add_test(tc, test_gzip_negotiation);
    tcase_add_test(tc, test_gzip_qvalue_case);
    tcase_add_test(tc, test_head);
    tcase_add_test(tc, test_method_not_allowed);
    tcase_add_test(tc, test_post_with_body);
    tcase_add_test(tc, test_not_found);
    tcase_add_test(tc, test_landing_page);
    tcase_add_test(tc, test_custom_path);
    tcase_add_test(tc, test_empty_exposition);
    tcase_add_test(tc, test_keep_alive);
    tcase_add_test(tc, test_stop_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("Flood");
    tcase_set_timeout(tc, 30);          /* 2.5 s here */
    tcase_add_test(tc, test_evicts_oldest_waiting);
    tcase_add_test(tc, test_header_deadline);
    tcase_add_test(tc, test_slow_body_answered_early);
    tcase_add_test(tc, test_max_requests_until_sent);
    suite_add_tcase(s, tc);

    tc = tcase_create("Addresses");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_bad_addresses);
    tcase_add_test(tc, test_port_out_of_range);
    tcase_add_test(tc, test_address_in_use);
    tcase_add_test(tc, test_ipv6_loopback);
    tcase_add_test(tc, test_every_interface);
    suite_add_tcase(s, tc);

    tc = tcase_create("Gzip");
    tcase_add_test(tc, test_gzip_empty);
    tcase_add_test(tc, test_gzip_appends);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gzip_5mb);
    tcase_add_test(tc, test_large_scrape);
    tcase_add_test(tc, test_concurrent_connections);
    suite_add_tcase(s, tc);

    return s;
}
