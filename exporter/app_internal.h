/* app_internal.h - The running exporter (private to exporter/): what
 * main.c serves and reload.c builds and swaps. */

#ifndef GWLOG_APP_INTERNAL_H
#define GWLOG_APP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "config/config.h"
#include "exporter/flags.h"
#include "exporter/pipeline.h"
#include "exporter/tail.h"
#include "labels/dims.h"
#include "labels/store.h"


/* The running exporter.  A reload replaces cfg, store, dims and pipe:
 * scrapes hold rw for reading while they use them, a reload takes it for
 * writing to switch and free the old ones. */
typedef struct {
    const opts_t        *o;             /* not owned */
    pthread_rwlock_t     rw;
    pthread_mutex_t      reload_lock;   /* one reload at a time */
    cfg_t               *cfg;
    store_t             *store;
    dims_t              *dims;
    pipeline_t          *pipe;
    store_t             *self;          /* collected families (store.h):
                                         * dims, reload, process, HTTP;
                                         * for the life of the process */
    tail_t              *tail;          /* NULL in --one-shot */
    atomic_int           ready;
    atomic_int           reload_ok;
    _Atomic double       reload_time;   /* unix time of the last success */
    char                 reload_err[CFG_ERRLEN];    /* why the last reload
                                         * failed, "" after a success;
                                         * guarded by rw (status page) */
} app_t;


/* reload.c */

/* Loads the configuration (the file of o, or the embedded default, with
 * the flags that override it) and builds what runs it: a store, the
 * dimension tables and the pipeline, all owned by the caller.  On failure
 * everything is freed and err says why ("file:line: reason" for a bad
 * configuration). */
int app_build(const opts_t *o, cfg_t **cfg, store_t **store, dims_t **dims,
    pipeline_t **pipe, char *err, size_t errlen);

/* SIGHUP and POST /-/reload (an http_handlers_t reload, ctx the app_t):
 * builds a new configuration and hands it to the tail thread, or keeps
 * the running one.  Returns 0, or -1 with a reason in err (also kept in
 * reload_err for the status page). */
int app_reload(void *ctx, char *err, size_t errlen);

#endif
