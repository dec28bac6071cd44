/* health.h - Whether the exporter reads anything: the files each
 * configured input glob matches, for gwlog_input_files and its alerts
 * (README "Readiness and health").
 *
 * Computed from the configuration and tail_files() when asked (a scrape),
 * without touching the disk: a glob "matches" a file the tailer follows
 * under it, renamed-away files excluded.  0 for a glob is the signal of a
 * misconfigured node (a typo, a directory that does not exist, a gateway
 * writing elsewhere). */

#ifndef GWLOG_HEALTH_H
#define GWLOG_HEALTH_H

#include <stddef.h>

#include "config/config.h"
#include "exporter/tail.h"
#include "labels/store.h"


/* Types */

/* One configured glob and the live files the tailer follows under it. */
typedef struct {
    size_t           input;         /* index in cfg->inputs */
    const char      *glob;          /* not owned: cfg's, valid as long */
    size_t           files;
} health_glob_t;


/* Prototypes */

/* Fills *out (owned by the caller, free()) with every path of every input
 * of cfg, in configuration order, and the files t follows under it.
 * Returns how many, 0 with *out NULL when memory runs out.  Any thread. */
size_t health_globs(const cfg_t *cfg, tail_t *t, health_glob_t **out);

/* Sets gwlog_input_files{input,glob} in s, a store of collected families
 * (store.h), its lock held; any thread. */
void health_collect(store_t *s, const cfg_t *cfg, tail_t *t);

#endif /* GWLOG_HEALTH_H */
