/* health.c - The files each input glob matches (see health.h). */

#include "exporter/health.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>



size_t
health_globs(const cfg_t *cfg, tail_t *t, health_glob_t **out)
{
    tail_file_info_t  *files = NULL;
    health_glob_t     *g;
    size_t             n = 0, nfiles, i, j, k;

    for (i = 0; i < cfg->ninputs; i++) {
        n += cfg->inputs[i].npaths;
    }
    *out = NULL;
    g = calloc(n + 1, sizeof(*g));
    if (g == NULL) {
        return 0;
    }
    nfiles = tail_files(t, &files);
    for (i = 0, k = 0; i < cfg->ninputs; i++) {
        for (j = 0; j < cfg->inputs[i].npaths; j++, k++) {
            g[k].input = i;
            g[k].glob = cfg->inputs[i].paths[j];
        }
    }
    /* The tailer finds files with glob(3), flags 0: the same matching is
     * fnmatch() with FNM_PATHNAME and FNM_PERIOD. */
    for (i = 0; i < nfiles; i++) {
        if (files[i].rotated) {
            continue;                   /* renamed away: under no glob */
        }
        for (k = 0; k < n; k++) {
            if (fnmatch(g[k].glob, files[i].path,
                        FNM_PATHNAME | FNM_PERIOD) == 0)
            {
                g[k].files++;
            }
        }
    }
    tail_files_free(files, nfiles);
    *out = g;
    return n;
}


void
health_collect(store_t *s, const cfg_t *cfg, tail_t *t)
{
    static const char *const  labels[] = { "input", "glob" };
    store_family_t           *f;
    health_glob_t            *g;
    const char               *v[2];
    char                      idx[24];
    size_t                    n, i;

    f = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_input_files", .type = STORE_GAUGE,
        .help = "Files followed under each configured input glob "
                "(renamed-away files excluded); 0: the glob matches "
                "nothing.",
        .labels = labels, .nlabels = 2 });
    if (f == NULL) {
        return;
    }
    n = health_globs(cfg, t, &g);
    for (i = 0; i < n; i++) {
        snprintf(idx, sizeof(idx), "%zu", g[i].input);
        v[0] = idx;
        v[1] = g[i].glob;
        store_set(f, store_series_str(f, v), (double) g[i].files);
    }
    free(g);
}
