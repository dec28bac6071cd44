/* http_conn.c - Connection tracking, against connection floods (README
 * "Hardening", HTTP limits): every connection is tracked from its opening
 * (MHD_OPTION_NOTIFY_CONNECTION).  One still waiting for a complete
 * request header, because it has just opened or its previous response has
 * been sent, is "waiting"; the waiting ones are kept in a list, oldest
 * first.  A sweeper thread shuts down those waiting for longer than the
 * timeout, however slowly they trickle bytes (slowloris); libmicrohttpd's
 * own idle timeout applies inside a request only.  When a new connection
 * makes more than max_connections, the oldest waiting one is shut down to
 * make room (it was not being served), or the new one if none waits.  So
 * idle and slow clients can neither hold every slot nor keep a scraper
 * out.  libmicrohttpd's log messages are rate-limited here too. */

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "exporter/http_internal.h"
#include "lib/clock.h"
#include "lib/log.h"


#define HTTP_SWEEP_MS           100
#define HTTP_LOG_PER_MINUTE     10      /* libmicrohttpd's messages */


static void waiting_add(http_t *h, http_conn_t *c);


/* Connection tracking (see the top of this file).  libmicrohttpd calls
 * this on its own threads when a connection opens and when it closes; it
 * closes the socket only after the CLOSED call, so a descriptor in our
 * records is still the connection's while conn_lock is held. */
void
http_notify_connection(void *cls, struct MHD_Connection *conn,
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
        http_waiting_del(h, c);
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
            http_waiting_del(h, old);
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
void
http_notify_completed(void *cls, struct MHD_Connection *conn, void **state,
    enum MHD_RequestTerminationCode toe)
{
    const union MHD_ConnectionInfo  *ci;
    http_t                          *h = cls;

    if (*state == &http_scrape_held) {
        atomic_fetch_sub(&h->in_flight, 1);
        *state = NULL;
    }
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        http_count(h, &h->st.timeout_request);
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
void *
http_sweep(void *arg)
{
    http_t           *h = arg;
    http_conn_t      *c;
    struct timespec   ts;
    uint64_t          now, limit = (uint64_t) h->timeout * 1000;

    pthread_mutex_lock(&h->conn_lock);
    while (!h->stopping) {
        now = http_now_ms();
        while ((c = h->waiting) != NULL && now - c->since_ms >= limit) {
            shutdown(c->fd, SHUT_RDWR);
            http_waiting_del(h, c);
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
void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_t         *h = cls;
    char            msg[512];
    unsigned long   dropped = 0;
    uint64_t        now = http_now_ms();
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
    http_waiting_del(h, c);
    c->since_ms = http_now_ms();
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
void
http_waiting_del(http_t *h, http_conn_t *c)
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


void
http_count(http_t *h, uint64_t *counter)
{
    pthread_mutex_lock(&h->conn_lock);
    (*counter)++;
    pthread_mutex_unlock(&h->conn_lock);
}


uint64_t
http_now_ms(void)
{
    return (uint64_t) (clock_mono() * 1000);
}

