/* main.c - gwlog_exporter: API-gateway access logs as Prometheus metrics.
 *
 * Wires the modules along the data flow
 *   tail -> pipeline (parse, filter, enrich) -> store -> expo -> http
 * and owns the process: flags, config, signals, shutdown.
 */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/default.h"
#include "exporter/buf.h"
#include "exporter/expo.h"
#include "exporter/http.h"
#include "exporter/log.h"
#include "exporter/pipeline.h"
#include "exporter/selfstats.h"
#include "exporter/state.h"
#include "exporter/tail.h"
#include "labels/dims.h"
#include "labels/store.h"


#define DEFAULT_LISTEN_ADDRESS  ":3913"
#define DEFAULT_TELEMETRY_PATH  "/metrics"

typedef struct {
    const char      *config_file;
    const char      *listen_address;
    const char      *telemetry_path;
    char           **input_paths;
    size_t           ninput_paths;
    const char      *dims_dir;
    const char      *dims_redis;        /* --dims.redis: HOST:PORT */
    const char      *state_dir;
    int              one_shot;
    int              check_config;
    const char      *test_line;
    int              test_lines;
} opts_t;

enum {
    OPT_CONFIG = 256, OPT_LISTEN, OPT_PATH, OPT_INPUT, OPT_DIMS, OPT_DIMS_REDIS, OPT_STATE,
    OPT_ONE_SHOT, OPT_CHECK, OPT_LOG_LEVEL, OPT_VERSION, OPT_HELP,
    OPT_TEST_LINE, OPT_TEST_LINES
};

static const struct option  long_options[] = {
    { "config.file",          required_argument, NULL, OPT_CONFIG },
    { "web.listen-address",   required_argument, NULL, OPT_LISTEN },
    { "web.telemetry-path",   required_argument, NULL, OPT_PATH },
    { "input.path",           required_argument, NULL, OPT_INPUT },
    { "dims.dir",             required_argument, NULL, OPT_DIMS },
    { "dims.redis",           required_argument, NULL, OPT_DIMS_REDIS },
    { "state.dir",            required_argument, NULL, OPT_STATE },
    { "one-shot",             no_argument,       NULL, OPT_ONE_SHOT },
    { "check-config",         no_argument,       NULL, OPT_CHECK },
    { "test-line",            required_argument, NULL, OPT_TEST_LINE },
    { "test-lines",           no_argument,       NULL, OPT_TEST_LINES },
    { "log.level",            required_argument, NULL, OPT_LOG_LEVEL },
    { "version",              no_argument,       NULL, OPT_VERSION },
    { "help",                 no_argument,       NULL, OPT_HELP },
    { NULL, 0, NULL, 0 }
};

static const char  usage_text[] =
"Usage: gwlog_exporter [FLAGS]\n"
"\n"
"Turns API-gateway access logs into Prometheus metrics.\n"
"\n"
"Flags:\n"
"  --config.file=FILE         YAML configuration (default: the embedded\n"
"                             config/gwlog_exporter.yml)\n"
"  --web.listen-address=ADDR  address to serve on, HOST:PORT or :PORT\n"
"                             (default \"" DEFAULT_LISTEN_ADDRESS "\")\n"
"  --web.telemetry-path=PATH  path of the metrics (default \"/metrics\")\n"
"  --input.path=GLOB          file(s) to tail; repeatable; replaces the\n"
"                             config's input paths\n"
"  --dims.dir=DIR             directory of dimension CSVs; replaces the\n"
"                             config's dimensions.dir\n"
"  --dims.redis=HOST:PORT     read the dimension tables from this Redis\n"
"                             (or unix socket path) instead of the\n"
"                             config's backend\n"
"  --state.dir=DIR            directory for checkpoints of offsets and\n"
"                             counts (must exist and be writable)\n"
"  --one-shot                 read the inputs from their start to their\n"
"                             end, print the exposition, exit\n"
"  --check-config             validate the configuration and exit (0, or 1\n"
"                             with file:line: reason)\n"
"  --test-line=LINE           show what the configuration does with LINE:\n"
"                             fields, filters, lookups, series; then exit\n"
"  --test-lines               the same for every line read from stdin\n"
"  --log.level=LEVEL          debug, info, warn or error (default info)\n"
"  --version                  print the version and exit\n"
"  -h, --help                 print this help and exit\n";


/* What a scrape reads. */
typedef struct {
    store_t         *store;         /* not owned */
    dims_t          *dims;          /* not owned */
    tail_t          *tail;          /* not owned; NULL in --one-shot */
} scrape_ctx_t;

static int parse_flags(int argc, char **argv, opts_t *o);
static cfg_t *load_config(const opts_t *o);
static int apply_overrides(cfg_t *cfg, const opts_t *o);
static void scrape(void *ctx, buf_t *out);
static void write_exposition(const scrape_ctx_t *sc, buf_t *out);
static int serve(scrape_ctx_t *sc, const opts_t *o);
static int test_lines(pipeline_t *pipe, const opts_t *o);


int
main(int argc, char **argv)
{
    opts_t       o;
    cfg_t       *cfg;
    store_t     *store = NULL;
    dims_t      *dims = NULL;
    pipeline_t  *pipe = NULL;
    tail_t      *tail = NULL;
    state_t     *state = NULL;
    scrape_ctx_t sc;
    buf_t        out = { 0 };
    char         err[CFG_ERRLEN];
    int          rc = 1;

    if (parse_flags(argc, argv, &o) != 0) {
        return 1;
    }
    cfg = load_config(&o);
    if (cfg == NULL) {
        return 1;
    }
    if (apply_overrides(cfg, &o) != 0) {
        goto done;
    }

    store = store_create();
    if (store != NULL && !o.check_config
        && (o.dims_redis != NULL || cfg->dims_backend == CFG_DIMS_REDIS))
    {
        dims = dims_create_redis(cfg, o.dims_redis);
    } else {
        dims = store ? dims_create(cfg, o.check_config ? NULL
                                                       : cfg->dims_dir)
                     : NULL;
    }
    if (store == NULL || dims == NULL) {
        fprintf(stderr, "gwlog_exporter: out of memory\n");
        goto done;
    }
    err[0] = '\0';
    pipe = pipeline_create(cfg, store, dims, err, sizeof(err));
    if (pipe == NULL) {
        fprintf(stderr, "gwlog_exporter: %s\n", err);
        goto done;
    }
    if (o.check_config) {
        printf("%s: ok\n", cfg->file);
        rc = 0;
        goto done;
    }
    if (o.test_line != NULL || o.test_lines) {
        rc = test_lines(pipe, &o);
        goto done;
    }

    if (o.state_dir != NULL && !o.one_shot) {
        state = state_open(o.state_dir);
        if (state == NULL) {
            fprintf(stderr, "gwlog_exporter: out of memory\n");
            goto done;
        }
    }
    tail = tail_create(cfg, pipe, store, dims, state);
    if (tail == NULL) {
        fprintf(stderr, "gwlog_exporter: out of memory\n");
        goto done;
    }
    sc.store = store;
    sc.dims = dims;
    sc.tail = o.one_shot ? NULL : tail;
    if (o.one_shot) {
        /* Deterministic output with Redis: the "all" tables loaded first,
         * then every line that waited on a lookup counted. */
        dims_wait_loaded(dims, 30.0);
        rc = tail_one_shot(tail) == 0 ? 0 : 1;
        pipeline_drain(pipe);
        write_exposition(&sc, &out);
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
    (void) tail_restore(tail);
    rc = serve(&sc, &o);

done:
    tail_destroy(tail);
    state_close(state);
    pipeline_destroy(pipe);
    dims_destroy(dims);
    store_destroy(store);
    config_free(cfg);
    free(o.input_paths);
    return rc;
}


static int
parse_flags(int argc, char **argv, opts_t *o)
{
    char  **paths;
    int     c, level;

    memset(o, 0, sizeof(*o));
    o->listen_address = DEFAULT_LISTEN_ADDRESS;
    o->telemetry_path = DEFAULT_TELEMETRY_PATH;

    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG:
            o->config_file = optarg;
            break;
        case OPT_LISTEN:
            o->listen_address = optarg;
            break;
        case OPT_PATH:
            if (optarg[0] != '/') {
                fprintf(stderr, "gwlog_exporter: --web.telemetry-path must "
                        "start with \"/\"\n");
                return -1;
            }
            o->telemetry_path = optarg;
            break;
        case OPT_INPUT:
            paths = realloc(o->input_paths,
                            (o->ninput_paths + 1) * sizeof(char *));
            if (paths == NULL) {
                return -1;
            }
            o->input_paths = paths;
            o->input_paths[o->ninput_paths++] = optarg;
            break;
        case OPT_DIMS:
            o->dims_dir = optarg;
            break;
        case OPT_DIMS_REDIS:
            o->dims_redis = optarg;
            break;
        case OPT_STATE:
            o->state_dir = optarg;
            break;
        case OPT_ONE_SHOT:
            o->one_shot = 1;
            break;
        case OPT_CHECK:
            o->check_config = 1;
            break;
        case OPT_TEST_LINE:
            o->test_line = optarg;
            break;
        case OPT_TEST_LINES:
            o->test_lines = 1;
            break;
        case OPT_LOG_LEVEL:
            level = log_level_parse(optarg);
            if (level < 0) {
                fprintf(stderr, "gwlog_exporter: --log.level: unknown level "
                        "\"%s\" (debug, info, warn, error)\n", optarg);
                return -1;
            }
            log_set_level((log_level_t) level);
            break;
        case OPT_VERSION:
            printf("gwlog_exporter version %s (revision %s)\n", GWLOG_VERSION,
                   GWLOG_REVISION);
            exit(0);
        case 'h':
        case OPT_HELP:
            fputs(usage_text, stdout);
            exit(0);
        default:
            fputs(usage_text, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gwlog_exporter: unexpected argument \"%s\"\n",
                argv[optind]);
        return -1;
    }
    return 0;
}


static cfg_t *
load_config(const opts_t *o)
{
    cfg_t  *cfg;
    char    err[CFG_ERRLEN];

    if (o->config_file != NULL) {
        cfg = config_load(o->config_file, err, sizeof(err));
    } else {
        cfg = config_load_string(CONFIG_DEFAULT_NAME, config_default_yaml,
                                 (size_t) (config_default_yaml_end
                                           - config_default_yaml),
                                 err, sizeof(err));
    }
    if (cfg == NULL) {
        fprintf(stderr, "%s\n", err);
    }
    return cfg;
}


/* --input.path replaces the paths of the first input and drops the other
 * inputs; --dims.dir replaces dimensions.dir. */
static int
apply_overrides(cfg_t *cfg, const opts_t *o)
{
    cfg_input_t  *in;
    size_t        i;

    if (o->ninput_paths > 0) {
        if (cfg->ninputs == 0) {
            fprintf(stderr, "gwlog_exporter: --input.path needs an input in "
                    "the config (for its format)\n");
            return -1;
        }
        in = &cfg->inputs[0];
        for (i = 0; i < in->npaths; i++) {
            free(in->paths[i]);
        }
        free(in->paths);
        in->paths = calloc(o->ninput_paths, sizeof(char *));
        if (in->paths == NULL) {
            return -1;
        }
        for (i = 0; i < o->ninput_paths; i++) {
            in->paths[i] = strdup(o->input_paths[i]);
            if (in->paths[i] == NULL) {
                return -1;
            }
            in->npaths = i + 1;
        }
        for (i = 1; i < cfg->ninputs; i++) {
            size_t  j;

            for (j = 0; j < cfg->inputs[i].npaths; j++) {
                free(cfg->inputs[i].paths[j]);
            }
            free(cfg->inputs[i].paths);
            for (j = 0; j < cfg->inputs[i].nrotated; j++) {
                free(cfg->inputs[i].rotated[j]);
            }
            free(cfg->inputs[i].rotated);
            free(cfg->inputs[i].regex);
        }
        cfg->ninputs = 1;
    }
    if (o->dims_dir != NULL) {
        free(cfg->dims_dir);
        cfg->dims_dir = strdup(o->dims_dir);
        if (cfg->dims_dir == NULL) {
            return -1;
        }
    }
    /* A missing state directory is created; one that cannot be written
     * only costs checkpoints (counted), never ingestion. */
    if (o->state_dir != NULL && !o->one_shot && !o->check_config) {
        if (mkdir(o->state_dir, 0750) != 0 && errno != EEXIST) {
            fprintf(stderr, "gwlog_exporter: --state.dir %s: %s\n",
                    o->state_dir, strerror(errno));
            return -1;
        }
        if (access(o->state_dir, W_OK) != 0) {
            log_warn("--state.dir %s is not writable (%s): checkpoints will "
                     "fail and be counted in gwlog_checkpoint_errors_total",
                     o->state_dir, strerror(errno));
        }
    }
    return 0;
}


static void
scrape(void *ctx, buf_t *out)
{
    write_exposition(ctx, out);
}


static void
write_exposition(const scrape_ctx_t *sc, buf_t *out)
{
    store_snap_t  *snap;

    snap = store_snapshot(sc->store);
    if (snap == NULL) {
        return;
    }
    expo_write_snapshot(out, snap);
    dims_write_metrics(sc->dims, out);
    if (sc->tail != NULL) {
        tail_write_metrics(sc->tail, out);
    }
    selfstats_write(out, snap);
    store_snap_free(snap);
}


/* The line tester: --test-line=LINE, or every line of stdin with
 * --test-lines, through the first input's format. */
static int
test_lines(pipeline_t *pipe, const opts_t *o)
{
    char     *line = NULL;
    size_t    cap = 0, n = 0;
    ssize_t   len;

    if (o->test_line != NULL) {
        printf("line 1: %s\n", o->test_line);
        pipeline_explain(pipe, 0, o->test_line, strlen(o->test_line), stdout);
        return 0;
    }
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        printf("%sline %zu: %.*s\n", n ? "\n" : "", n + 1,
               len > 200 ? 200 : (int) len, line);
        pipeline_explain(pipe, 0, line, (size_t) len, stdout);
        n++;
    }
    free(line);
    return 0;
}


/* Serves until SIGTERM or SIGINT.  Signals are blocked in every thread
 * and taken here with sigwait(). */
static int
serve(scrape_ctx_t *sc, const opts_t *o)
{
    tail_t    *tail = sc->tail;
    sigset_t   set;
    http_t    *http;
    char       err[256];
    int        sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    http = http_start(o->listen_address, o->telemetry_path, scrape, sc,
                      err, sizeof(err));
    if (http == NULL) {
        log_error("%s", err);
        return 1;
    }
    if (tail_start(tail) != 0) {
        http_stop(http);
        return 1;
    }
    log_info("gwlog_exporter %s listening on %s (port %u), metrics at %s",
             GWLOG_VERSION, o->listen_address, http_port(http),
             o->telemetry_path);

    for (;;) {
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            log_info("SIGHUP: configuration reload is not supported yet; "
                     "dimension tables reload by themselves when changed");
            continue;
        }
        break;
    }
    log_info("signal %d: shutting down", sig);
    http_stop(http);
    tail_stop(tail);
    return 0;
}
