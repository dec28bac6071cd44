/* main.c - gwlog_exporter: API-gateway access logs as Prometheus metrics.
 *
 * Wires the modules along the data flow
 *   tail -> pipeline (parse, filter, enrich) -> store -> expo -> http
 * and owns the process: flags, startup, signals, the serve loop,
 * shutdown; reload.c builds a configuration and swaps it in.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "revision.h"
#include "config/config.h"
#include "config/webconfig.h"
#include "exporter/flags.h"
#include "exporter/health.h"
#include "exporter/app_internal.h"
#include "exporter/http.h"
#include "exporter/pipeline.h"
#include "exporter/selfstats.h"
#include "exporter/state.h"
#include "exporter/status.h"
#include "exporter/tail.h"
#include "exporter/tester.h"
#include "labels/dims.h"
#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"


/* Macros */

#define SD_LISTEN_FDS_START     3       /* systemd's first passed socket */
#define READY_DIMS_WAIT         30.0    /* seconds /-/ready waits for the
                                         * Redis "all" tables */

static int ready(void *ctx);
static void scrape(void *ctx, buf_t *out, expo_format_t fmt);
static void status(void *ctx, buf_t *html);
static void write_exposition(app_t *a, buf_t *out, expo_format_t fmt);
static void collect(void *ctx, store_t *s, void *arg);
static int serve(app_t *a);
static unsigned fit_connections(unsigned want, uint64_t files);
static int systemd_fds(int **fds, char *err, size_t errlen);


int
main(int argc, char **argv)
{
    opts_t       o;
    app_t        a;
    state_t     *state = NULL;
    buf_t        out = { 0 };
    char         err[CFG_ERRLEN];
    int          rc = 1;

    rc = flags_parse(argc, argv, &o);
    if (rc != FLAGS_OK) {
        flags_free(&o);
        return rc == FLAGS_EXIT ? 0 : 1;
    }
    rc = 1;
    memset(&a, 0, sizeof(a));
    a.o = &o;
    pthread_rwlock_init(&a.rw, NULL);
    pthread_mutex_init(&a.reload_lock, NULL);
    if (app_build(&o, &a.cfg, &a.store, &a.dims, &a.pipe, err, sizeof(err))
        != 0)
    {
        fprintf(stderr, "%s\n", err);
        goto done;
    }
    a.self = store_create();
    if (a.self == NULL || store_collector_add(a.self, collect, &a) != 0) {
        fprintf(stderr, "gwlog_exporter: out of memory\n");
        goto done;
    }
    if (o.web_config != NULL) {
        webcfg_t  *w = webconfig_load(o.web_config, err, sizeof(err));

        if (w == NULL) {
            fprintf(stderr, "%s\n", err);
            goto done;
        }
        webconfig_free(w);
    }
    if (o.check_config) {
        printf("%s: ok\n", a.cfg->file);
        if (o.web_config != NULL) {
            printf("%s: ok\n", o.web_config);
        }
        rc = 0;
        goto done;
    }
    if (o.test_line != NULL || o.test_lines) {
        tester_opts_t  t = { o.test_line, stdin, o.test_expect,
                             o.test_fail_on };

        rc = tester_run(a.pipe, &t, stdout, stderr);
        goto done;
    }

    if (o.state_dir != NULL && !o.one_shot) {
        state = state_open(o.state_dir);
        if (state == NULL) {
            fprintf(stderr, "gwlog_exporter: out of memory\n");
            goto done;
        }
    }
    a.tail = tail_create(a.cfg, a.pipe, a.store, a.dims, state);
    if (a.tail == NULL) {
        fprintf(stderr, "gwlog_exporter: out of memory\n");
        goto done;
    }
    if (o.one_shot) {
        /* Deterministic output with Redis: the "all" tables loaded first,
         * then every line that waited on a lookup counted. */
        dims_wait_loaded(a.dims, 30.0);
        rc = tail_one_shot(a.tail) == 0 ? 0 : 1;
        pipeline_drain(a.pipe);
        tail_destroy(a.tail);
        a.tail = NULL;                      /* no file gauges */
        write_exposition(&a, &out, EXPO_TEXT);
        if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout)) {
            fprintf(stderr, "gwlog_exporter: write to stdout failed: %s\n",
                    strerror(errno));
            rc = 1;
        }
        buf_free(&out);
        goto done;
    }
    /* Counters continue from the checkpoint: restore before serving, so
     * that no scrape sees them start from zero. */
    (void) tail_restore(a.tail);
    atomic_store(&a.reload_ok, 1);
    atomic_store(&a.reload_time, clock_wall());
    rc = serve(&a);

done:
    tail_destroy(a.tail);
    state_close(state);
    pipeline_destroy(a.pipe);
    dims_destroy(a.dims);
    store_destroy(a.store);
    store_destroy(a.self);
    config_free(a.cfg);
    pthread_rwlock_destroy(&a.rw);
    pthread_mutex_destroy(&a.reload_lock);
    flags_free(&o);
    return rc;
}



static int
ready(void *ctx)
{
    return atomic_load(&((app_t *) ctx)->ready);
}



static void
scrape(void *ctx, buf_t *out, expo_format_t fmt)
{
    write_exposition(ctx, out, fmt);
}


/* The whole exposition: the ingest store's families, then the self
 * store's (collected now, see collect()). */
static void
write_exposition(app_t *a, buf_t *out, expo_format_t fmt)
{
    store_snap_t  *snap, *self;

    pthread_rwlock_rdlock(&a->rw);
    snap = store_snapshot(a->store);
    self = snap != NULL ? store_snapshot_collect(a->self, snap) : NULL;
    if (self == NULL) {
        store_snap_free(snap);
        pthread_rwlock_unlock(&a->rw);
        return;
    }
    expo_write(out, fmt, snap);
    expo_write(out, fmt, self);
    expo_finish(out, fmt);
    store_snap_free(self);
    store_snap_free(snap);
    pthread_rwlock_unlock(&a->rw);
}


/* The collector of the self store (store.h), run by each scrape with the
 * ingest snapshot as arg, a->rw held for reading: the dimension tables'
 * figures, the reload gauges, the per-family series gauges, build and
 * process. */
static void
collect(void *ctx, store_t *s, void *arg)
{
    app_t           *a = ctx;
    store_family_t  *f;

    dims_collect(a->dims, s);
    if (a->tail != NULL) {
        f = store_family_get(s, &(store_family_def_t) {
            .name = "gwlog_config_last_reload_successful",
            .type = STORE_GAUGE,
            .help = "Whether the last configuration reload attempt "
                    "succeeded." });
        if (f != NULL) {
            store_set(f, store_series(f, NULL), atomic_load(&a->reload_ok));
        }
        f = store_family_get(s, &(store_family_def_t) {
            .name = "gwlog_config_last_reload_success_timestamp_seconds",
            .type = STORE_GAUGE,
            .help = "Unix time of the last successful configuration "
                    "load." });
        if (f != NULL) {
            store_set(f, store_series(f, NULL), atomic_load(&a->reload_time));
        }
    }
    if (a->tail != NULL) {
        tail_collect(a->tail, s);
        health_collect(s, a->cfg, a->tail);
    }
    selfstats_collect(NULL, s, arg);
}


static void
status(void *ctx, buf_t *html)
{
    app_t          *a = ctx;
    status_src_t    src;
    store_snap_t   *snap, *self;

    pthread_rwlock_rdlock(&a->rw);
    snap = store_snapshot(a->store);
    self = snap != NULL ? store_snapshot_collect(a->self, snap) : NULL;
    if (self != NULL) {
        memset(&src, 0, sizeof(src));
        src.cfg = a->cfg;
        src.snap = snap;
        src.self = self;
        src.tail = a->tail;
        src.dims = a->dims;
        src.telemetry_path = a->o->telemetry_path;
        src.ready = atomic_load(&a->ready);
        src.reload_ok = atomic_load(&a->reload_ok);
        src.reload_time = atomic_load(&a->reload_time);
        src.reload_err = a->reload_err;
        src.state_dir = a->o->state_dir;
        src.dims_redis = a->o->dims_redis;
        status_write(html, &src);
    }
    store_snap_free(self);
    store_snap_free(snap);
    pthread_rwlock_unlock(&a->rw);
}


/* Raises the soft limit on open files to the hard one, and returns how
 * many connections fit beside the input files (max_open_files) and a
 * reserve of 64 (state, CSVs, /proc, libraries), at most want; the HTTP
 * server may hold a few more than its limit while closing (64). */
static unsigned
fit_connections(unsigned want, uint64_t files)
{
    struct rlimit  rl;
    uint64_t       room;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return want;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            (void) getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (rl.rlim_cur == RLIM_INFINITY
        || rl.rlim_cur >= (uint64_t) want + files + 128)
    {
        return want;
    }
    room = rl.rlim_cur > files + 128 + 16 ? rl.rlim_cur - files - 128 : 16;
    log_warn_kv("--web.max-connections lowered to fit the open files limit; "
                "raise LimitNOFILE", LOG_U64("wanted", want),
                LOG_U64("max_connections", room),
                LOG_U64("nofile", (uint64_t) rl.rlim_cur),
                LOG_U64("max_open_files", files));
    return (unsigned) room;
}


/* Serves until SIGTERM or SIGINT; SIGHUP reloads the configuration.
 * Signals are blocked in every thread and taken here with sigwait(). */
static int
serve(app_t *a)
{
    http_handlers_t  hs;
    http_limits_t    lim;
    http_listen_t    ls;
    sigset_t         set;
    http_t          *http;
    char             err[CFG_ERRLEN], name[16];
    int             *fds = NULL;
    int              sig = 0, n;
    size_t           i;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    memset(&hs, 0, sizeof(hs));
    hs.metrics = scrape;
    hs.status = status;
    hs.ready = ready;
    hs.reload = a->o->lifecycle ? app_reload : NULL;
    hs.ctx = a;
    hs.self = a->self;
    memset(&lim, 0, sizeof(lim));
    lim.max_requests = a->o->max_requests;
    lim.max_connections = fit_connections(a->o->max_connections,
                                          a->cfg->tail.max_open_files);
    lim.timeout = a->o->conn_timeout;
    if (a->o->web_config != NULL) {
        lim.web = webconfig_load(a->o->web_config, err, sizeof(err));
        if (lim.web == NULL) {
            log_error_kv("web config refused", LOG_STR("err", err));
            return 1;
        }
    }
    memset(&ls, 0, sizeof(ls));
    if (a->o->systemd_socket) {
        n = systemd_fds(&fds, err, sizeof(err));
        if (n < 0) {
            log_error_kv("--web.systemd-socket: no socket to serve on",
                         LOG_STR("err", err));
            webconfig_free(lim.web);
            return 1;
        }
        ls.fds = fds;
        ls.nfds = (size_t) n;
    } else {
        ls.addrs = (const char *const *) a->o->listen_addresses;
        ls.naddrs = a->o->nlisten_addresses;
    }
    http = http_start_listen(&ls, a->o->telemetry_path, &hs, &lim, err,
                             sizeof(err));
    if (http == NULL) {
        log_error_kv("cannot serve", LOG_STR("err", err));
        free(fds);
        return 1;
    }
    for (i = 0; i < http_listeners(http); i++) {
        if (i < ls.naddrs) {
            log_info_kv("listening", LOG_STR("address", ls.addrs[i]),
                        LOG_U64("port", http_listener_port(http, i)));
        } else {
            log_info_kv("listening on a socket from systemd",
                        LOG_I64("fd", ls.fds[i - ls.naddrs]),
                        LOG_U64("port", http_listener_port(http, i)));
        }
    }
    free(fds);
    if (tail_start(a->tail) != 0) {
        http_stop(http);
        return 1;
    }
    /* Ready (README "Readiness and health"): the checkpoint restored
     * (main()), every input glob scanned once (tail_start()), the CSV
     * tables loaded (app_build()) and, with Redis, every "all" table
     * loaded or its load failed, at most READY_DIMS_WAIT seconds. */
    if (dims_async(a->dims)) {
        dims_wait_loaded(a->dims, READY_DIMS_WAIT);
    }
    atomic_store(&a->ready, 1);
    log_info_kv("gwlog_exporter ready", LOG_STR("version", GWLOG_VERSION),
                LOG_STR("revision", GWLOG_REVISION),
                LOG_STR("telemetry_path", a->o->telemetry_path));

    for (;;) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            log_info_kv("reloading the configuration",
                        LOG_STR("signal", log_signal_name(sig, name,
                                                          sizeof(name))));
            (void) app_reload(a, err, sizeof(err));
            continue;
        }
        break;
    }
    log_info_kv("shutting down",
                LOG_STR("signal", log_signal_name(sig, name, sizeof(name))));
    http_stop(http);
    tail_stop(a->tail);
    return 0;
}


/* The listening sockets systemd passes to a socket-activated service
 * (sd_listen_fds(3), by hand): LISTEN_PID must be this process,
 * LISTEN_FDS says how many, from descriptor 3 on.  Each must be a
 * listening stream socket; it is made close-on-exec, and the variables
 * are removed so that no child takes them.  Returns how many, with *fds
 * (owned by the caller), or -1 with a reason in err. */
static int
systemd_fds(int **fds, char *err, size_t errlen)
{
    const char     *pid_s, *n_s;
    char           *end;
    long            pid, n;
    int             i, type, acc;
    socklen_t       len;

    *fds = NULL;
    pid_s = getenv("LISTEN_PID");
    n_s = getenv("LISTEN_FDS");
    if (pid_s == NULL || n_s == NULL) {
        snprintf(err, errlen, "LISTEN_PID and LISTEN_FDS are not set (not "
                 "started by a systemd socket unit)");
        return -1;
    }
    errno = 0;
    pid = strtol(pid_s, &end, 10);
    if (errno != 0 || *end != '\0' || pid != (long) getpid()) {
        snprintf(err, errlen, "LISTEN_PID=%s is not this process (%ld)",
                 pid_s, (long) getpid());
        return -1;
    }
    n = strtol(n_s, &end, 10);
    if (errno != 0 || *end != '\0' || n < 1 || n > 64) {
        snprintf(err, errlen, "LISTEN_FDS=%s: want 1 to 64 sockets", n_s);
        return -1;
    }
    *fds = calloc((size_t) n, sizeof(int));
    if (*fds == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        len = sizeof(type);
        if (getsockopt(SD_LISTEN_FDS_START + i, SOL_SOCKET, SO_TYPE, &type,
                       &len) != 0 || type != SOCK_STREAM)
        {
            snprintf(err, errlen, "fd %d is not a stream socket",
                     SD_LISTEN_FDS_START + i);
            goto err;
        }
        len = sizeof(acc);
        if (getsockopt(SD_LISTEN_FDS_START + i, SOL_SOCKET, SO_ACCEPTCONN,
                       &acc, &len) != 0 || !acc)
        {
            snprintf(err, errlen, "fd %d is not listening",
                     SD_LISTEN_FDS_START + i);
            goto err;
        }
        (void) fcntl(SD_LISTEN_FDS_START + i, F_SETFD, FD_CLOEXEC);
        (*fds)[i] = SD_LISTEN_FDS_START + i;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return (int) n;

err:
    free(*fds);
    *fds = NULL;
    return -1;
}
