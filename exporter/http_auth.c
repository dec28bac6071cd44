/* http_auth.c - Who may be answered (--web.config.file): TLS client
 * certificates by the client_auth_type policy, basic auth against the
 * users' passwords, and the budget of password checks: those that need
 * bcrypt run one at a time, within a CPU budget; beyond it, 429.  The web
 * config file is re-read when it changes. */

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "exporter/http_internal.h"
#include "lib/log.h"


#define HTTP_REALM              "gwlog_exporter"


static void web_refresh(http_t *h);
static int auth_take(http_t *h);
static void auth_done(http_t *h, double seconds);


/* Refusals close the connection (a client guessing passwords must
 * connect again). */
int
http_guard(http_t *h, struct MHD_Connection *conn, int hd, enum MHD_Result *ret)
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
            http_count(h, &h->st.forbidden);
            *ret = http_reply_close(h, conn, hd, MHD_HTTP_FORBIDDEN,
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
            http_count(h, &h->st.throttled);
            resp = MHD_create_response_from_buffer(strlen(busy),
                       (void *) busy, MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(resp, "Content-Type", "text/plain");
            MHD_add_response_header(resp, "Retry-After", "1");
            MHD_add_response_header(resp, "Connection", "close");
            *ret = http_queue(h, conn, hd, MHD_HTTP_TOO_MANY_REQUESTS, resp);
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
    http_count(h, &h->st.unauthorized);
    resp = MHD_create_response_from_buffer(strlen(denied), (void *) denied,
                                           MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/plain");
    MHD_add_response_header(resp, "Connection", "close");
    http_count(h, &h->st.requests[hd][2]);       /* 401 */
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
    uint64_t  now = http_now_ms();
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
