/* reload.c - Building a configuration and swapping it in: the config
 * file (or the embedded default) with the flags that override it, the
 * store, dimension tables and pipeline built from it, and a reload that
 * hands them to the tail thread, keeping the values of the families that
 * did not change. */

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/default.h"
#include "exporter/app_internal.h"
#include "lib/clock.h"
#include "lib/log.h"


/* Which families keep their values across a reload. */
typedef struct {
    const cfg_t         *old_cfg;
    const cfg_t         *new_cfg;
} keep_ctx_t;

static cfg_t *load_config(const opts_t *o, char *err, size_t errlen);
static int apply_overrides(cfg_t *cfg, const opts_t *o, char *err,
    size_t errlen);
static int keep_family(void *ctx, const char *family);
static int mkdir_p(const char *path, mode_t mode);


int
app_build(const opts_t *o, cfg_t **cfg, store_t **store, dims_t **dims,
    pipeline_t **pipe, char *err, size_t errlen)
{
    *store = NULL;
    *dims = NULL;
    *pipe = NULL;
    *cfg = load_config(o, err, errlen);
    if (*cfg == NULL) {
        return -1;
    }
    if (apply_overrides(*cfg, o, err, errlen) != 0) {
        goto err;
    }
    *store = store_create();
    if (*store != NULL && !o->check_config
        && (o->dims_redis != NULL
            || (*cfg)->dims_backend == CFG_DIMS_REDIS))
    {
        *dims = dims_create_redis(*cfg, o->dims_redis);
    } else {
        *dims = *store ? dims_create(*cfg, o->check_config ? NULL
                                                            : (*cfg)->dims_dir)
                       : NULL;
    }
    if (*store == NULL || *dims == NULL) {
        snprintf(err, errlen, "gwlog_exporter: out of memory");
        goto err;
    }
    err[0] = '\0';
    *pipe = pipeline_create(*cfg, *store, *dims, err, errlen);
    if (*pipe == NULL) {
        goto err;
    }
    return 0;

err:
    dims_destroy(*dims);
    store_destroy(*store);
    config_free(*cfg);
    *cfg = NULL;
    *store = NULL;
    *dims = NULL;
    return -1;
}


/* SIGHUP and POST /-/reload.  A configuration that fails to load or
 * compile is refused and the running one stays.  Families whose
 * definition did not change keep their values (and the exporter's own
 * counters always do): the tail thread carries them between two chunks. */
int
app_reload(void *ctx, char *err, size_t errlen)
{
    app_t        *a = ctx;
    cfg_t        *cfg, *old_cfg;
    store_t      *store, *old_store;
    dims_t       *dims, *old_dims;
    pipeline_t   *pipe, *old_pipe;
    keep_ctx_t    keep;
    int           rc = -1;

    pthread_mutex_lock(&a->reload_lock);
    if (app_build(a->o, &cfg, &store, &dims, &pipe, err, errlen) != 0) {
        log_error_kv("reload refused, the running configuration stays",
                     LOG_STR("err", err));
        goto done;
    }
    keep.old_cfg = a->cfg;
    keep.new_cfg = cfg;
    if (tail_swap(a->tail, cfg, pipe, store, dims, keep_family, &keep) != 0) {
        snprintf(err, errlen, "out of memory while carrying series over");
        log_error_kv("reload failed, the running configuration stays",
                     LOG_STR("err", err));
        pipeline_destroy(pipe);
        dims_destroy(dims);
        store_destroy(store);
        config_free(cfg);
        goto done;
    }
    pthread_rwlock_wrlock(&a->rw);
    old_cfg = a->cfg;
    old_store = a->store;
    old_dims = a->dims;
    old_pipe = a->pipe;
    a->cfg = cfg;
    a->store = store;
    a->dims = dims;
    a->pipe = pipe;
    a->reload_err[0] = '\0';
    pthread_rwlock_unlock(&a->rw);
    pipeline_destroy(old_pipe);
    dims_destroy(old_dims);
    store_destroy(old_store);
    config_free(old_cfg);
    atomic_store(&a->reload_time, clock_wall());
    log_info_kv("configuration reloaded", LOG_STR("file", cfg->file));
    rc = 0;

done:
    if (rc != 0) {
        pthread_rwlock_wrlock(&a->rw);
        snprintf(a->reload_err, sizeof(a->reload_err), "%s", err);
        pthread_rwlock_unlock(&a->rw);
    }
    atomic_store(&a->reload_ok, rc == 0);
    pthread_mutex_unlock(&a->reload_lock);
    return rc;
}


/* A user family keeps its values when its definition is unchanged; the
 * exporter's own families always do. */
static int
keep_family(void *ctx, const char *family)
{
    const keep_ctx_t  *k = ctx;
    size_t             i, j;

    for (i = 0; i < k->old_cfg->nmetrics; i++) {
        if (strcmp(k->old_cfg->metrics[i].name, family) != 0) {
            continue;
        }
        for (j = 0; j < k->new_cfg->nmetrics; j++) {
            if (strcmp(k->new_cfg->metrics[j].name, family) == 0) {
                return config_metric_equal(&k->old_cfg->metrics[i],
                                           &k->new_cfg->metrics[j]);
            }
        }
        return 0;
    }
    return 1;
}

static cfg_t *
load_config(const opts_t *o, char *err, size_t errlen)
{
    if (o->config_file != NULL) {
        return config_load(o->config_file, err, errlen);
    }
    return config_load_string(CONFIG_DEFAULT_NAME, config_default_yaml,
                              (size_t) (config_default_yaml_end
                                        - config_default_yaml),
                              err, errlen);
}


/* --input.path replaces the paths of the first input and drops the other
 * inputs; --dims.dir replaces dimensions.dir. */
static int
apply_overrides(cfg_t *cfg, const opts_t *o, char *err, size_t errlen)
{
    cfg_input_t  *in;
    size_t        i;

    if (o->ninput_paths > 0) {
        if (cfg->ninputs == 0) {
            snprintf(err, errlen, "gwlog_exporter: --input.path needs an "
                     "input in the config (for its format)");
            return -1;
        }
        in = &cfg->inputs[0];
        for (i = 0; i < in->npaths; i++) {
            free(in->paths[i]);
        }
        free(in->paths);
        in->paths = calloc(o->ninput_paths, sizeof(char *));
        if (in->paths == NULL) {
            snprintf(err, errlen, "gwlog_exporter: out of memory");
            return -1;
        }
        for (i = 0; i < o->ninput_paths; i++) {
            in->paths[i] = strdup(o->input_paths[i]);
            if (in->paths[i] == NULL) {
                snprintf(err, errlen, "gwlog_exporter: out of memory");
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
            snprintf(err, errlen, "gwlog_exporter: out of memory");
            return -1;
        }
    }
    /* A missing state directory is created, with its parents; one that
     * cannot be written only costs checkpoints (counted), never
     * ingestion. */
    if (o->state_dir != NULL && !o->one_shot && !o->check_config) {
        if (mkdir_p(o->state_dir, 0750) != 0) {
            snprintf(err, errlen, "gwlog_exporter: --state.dir %s: %s",
                     o->state_dir, strerror(errno));
            return -1;
        }
        if (access(o->state_dir, W_OK) != 0) {
            log_warn_kv("--state.dir is not writable: checkpoints will fail "
                        "and be counted in gwlog_checkpoint_errors_total",
                        LOG_STR("path", o->state_dir),
                        LOG_STR("err", strerror(errno)));
        }
    }
    return 0;
}

/* mkdir -p: creates path and its missing parents (mode for each).
 * Returns 0, or -1 with errno set. */
static int
mkdir_p(const char *path, mode_t mode)
{
    char    *copy, *p;
    int      rc;

    copy = strdup(path);
    if (copy == NULL) {
        return -1;
    }
    rc = 0;
    for (p = copy + 1; rc == 0 && *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, mode) != 0 && errno != EEXIST) {
                rc = -1;
            }
            *p = '/';
        }
    }
    if (rc == 0 && mkdir(copy, mode) != 0 && errno != EEXIST) {
        rc = -1;
    }
    free(copy);
    return rc;
}
