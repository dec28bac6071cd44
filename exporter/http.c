/* http.c - The HTTP server: start and stop, one libmicrohttpd daemon per
 * listener (an address, or a socket passed in by systemd), all sharing one
 * http_t: its connection limits, counters, web config and sweeper.
 *
 * The other files of the server (http_internal.h lists them): a request
 * is answered in http_request.c, after http_auth.c's checks; connections
 * are tracked by http_conn.c against floods; http_metrics.c collects the
 * gwlog_http_* families. */

#include "exporter/http.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exporter/http_internal.h"


#define HTTP_CONNECTION_LIMIT   1024
#define HTTP_TIMEOUT_SECONDS    10
#define HTTP_THREADS            2
#define HTTP_EVICT_SLACK        64      /* libmicrohttpd's limit is ours
                                         * plus this: connections being
                                         * closed still count there */
#define HTTP_MEMORY_LIMIT       (16 * 1024)  /* request headers and more */


static void http_free(http_t *h);
static int listen_one(http_t *h, const char *addr, int fd, char *err,
    size_t errlen);
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
    h->auth_refill_ms = http_now_ms();
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
    if (pthread_create(&h->sweeper, NULL, http_sweep, h) != 0) {
        snprintf(err, errlen, "cannot start the connection sweeper thread");
        goto err;
    }
    if (h->hs.self != NULL
        && store_collector_add(h->hs.self, http_collect, h))
    {
        h->hs.self = NULL;                  /* no memory: no HTTP metrics */
    }
    return h;

err:
    /* Sockets passed in and not yet handed to a daemon are closed too:
     * the caller gave them to the server. */
    for (i = h->ndaemons; i < n; i++) {
        if (i >= ls->naddrs) {
            close(ls->fds[i - ls->naddrs]);
        }
    }
    http_free(h);
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
    d = MHD_start_daemon(flags, 0, NULL, NULL, http_handle, h,
                         MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, h,
                         MHD_OPTION_ARRAY, opts,
                         MHD_OPTION_NOTIFY_CONNECTION,
                         http_notify_connection, h,
                         MHD_OPTION_NOTIFY_COMPLETED, http_notify_completed, h,
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
    if (h == NULL) {
        return;
    }
    pthread_mutex_lock(&h->conn_lock);
    h->stopping = 1;
    pthread_cond_signal(&h->conn_cond);
    pthread_mutex_unlock(&h->conn_lock);
    pthread_join(h->sweeper, NULL);
    if (h->hs.self != NULL) {
        store_collector_del(h->hs.self, http_collect, h);
    }
    http_free(h);
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


/* Stops h's daemons (closing every connection) and frees h: the end of
 * http_stop(), and of http_start() when it fails. */
static void
http_free(http_t *h)
{
    size_t  i;

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
