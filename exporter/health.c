/* health.c - The files each input glob matches (see health.h). */

#include "exporter/health.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels/expo.h"


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
health_write_metrics(buf_t *b, const cfg_t *cfg, tail_t *t)
{
    health_glob_t  *g;
    size_t          n, i;

    n = health_globs(cfg, t, &g);
    expo_write_header(b, "gwlog_input_files", "Files followed under each "
                      "configured input glob (renamed-away files excluded); "
                      "0: the glob matches nothing.", "gauge");
    for (i = 0; i < n; i++) {
        buf_printf(b, "gwlog_input_files{input=\"%zu\",glob=\"", g[i].input);
        expo_write_label_value(b, g[i].glob, strlen(g[i].glob));
        buf_printf(b, "\"} %zu\n", g[i].files);
    }
    free(g);
}
