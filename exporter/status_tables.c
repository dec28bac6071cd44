/* status_tables.c - The status page's tables: each input glob and the
 * files it matches, the files followed, the dimension tables (and their
 * Redis), the checkpoints; each adds the problems it sees (red or amber,
 * see status.c). */

#include <fnmatch.h>
#include <string.h>

#include "exporter/status_internal.h"


static void write_redis(buf_t *b, status_page_t *pg);
static void dim_state(buf_t *b, status_page_t *pg, size_t t, double rows,
    int redis, int lru);


/* Each glob of each input, with the files of the tailer it matches (as
 * glob(3) would: FNM_PATHNAME | FNM_PERIOD); files renamed away and still
 * being drained are listed under Files only. */
void
status_write_inputs(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    const cfg_input_t   *in;
    tail_file_info_t    *fi = pg->fi;
    size_t               i, j, k, m, nglobs = 0;
    char                 age[64];
    buf_t               *p;

    buf_puts(b, "<h2>Inputs</h2>\n<table id=\"inputs\"><tr><th>glob</th>"
             "<th>format</th><th>files matched</th><th>matches</th></tr>\n");
    for (i = 0; i < src->cfg->ninputs; i++) {
        in = &src->cfg->inputs[i];
        for (j = 0; j < in->npaths; j++, nglobs++) {
            buf_puts(b, "<tr><td><code>");
            status_html_str(b, in->paths[j]);
            buf_printf(b, "</code></td><td>%s</td><td>",
                       in->format == CFG_FORMAT_REGEX ? "regex" : "json");
            m = 0;
            for (k = 0; k < pg->nfi; k++) {
                if (fi[k].rotated
                    || fnmatch(in->paths[j], fi[k].path,
                               FNM_PATHNAME | FNM_PERIOD) != 0)
                {
                    continue;
                }
                buf_puts(b, m ? "<br><code>" : "<code>");
                status_html_str(b, fi[k].path);
                buf_puts(b, "</code>");
                m++;
            }
            pg->nlive += m;
            if (m == 0) {
                buf_puts(b, "</td><td class=\"bad\">matches nothing</td>"
                         "</tr>\n");
                p = status_problem(pg, LVL_BAD);
                buf_puts(p, "Input glob <code>");
                status_html_str(p, in->paths[j]);
                buf_puts(p, "</code> matches nothing: no file is read from "
                         "it.</li>\n");
            } else {
                buf_printf(b, "</td><td class=\"n\">%zu file%s</td></tr>\n",
                           m, m == 1 ? "" : "s");
            }
        }
    }
    buf_puts(b, "</table>\n");
    if (nglobs == 0) {
        p = status_problem(pg, LVL_BAD);
        buf_puts(p, "No input is configured: nothing is read.</li>\n");
    } else if (pg->nlive > 0 && pg->now - pg->h.idle_since
                                >= STATUS_IDLE_WARN)
    {
        p = status_problem(pg, LVL_WARN);
        buf_printf(p, "Nothing read for %s although %zu input file%s %s "
                   "followed.</li>\n",
                   status_fmt_age(age, sizeof(age), pg->now - pg->h.idle_since),
                   pg->nlive, pg->nlive == 1 ? "" : "s",
                   pg->nlive == 1 ? "is" : "are");
    }
}


void
status_write_files(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    tail_file_info_t    *fi = pg->fi;
    size_t               n = pg->nfi, i;
    double               rot;
    char                 off[32], size[32], unread[32], nrot[32];
    int                  found;

    buf_printf(b, "<h2>Files (%zu)</h2>\n<table id=\"files\"><tr><th>path"
               "</th><th>offset (bytes)</th><th>size (bytes)</th><th>unread"
               "</th><th>state</th><th>rotations</th></tr>\n", n);
    for (i = 0; i < n; i++) {
        rot = 0;
        rot += status_snap_value(src->snap, "gwlog_rotations_total", "path",
                                 fi[i].path, "kind", "rename", &found);
        rot += status_snap_value(src->snap, "gwlog_rotations_total", "path",
                                 fi[i].path, "kind", "copytruncate", &found);
        rot += status_snap_value(src->snap, "gwlog_rotations_total", "path",
                                 fi[i].path, "kind", "truncate", &found);
        buf_puts(b, "<tr><td><code>");
        status_html_str(b, fi[i].path);
        buf_printf(b, "</code></td><td class=\"n\">%s</td><td class=\"n\">%s"
                   "</td><td class=\"n\">%s</td><td>%s</td><td class=\"n\">%s"
                   "</td></tr>\n",
                   status_fmt_num(off, sizeof(off), (double) fi[i].offset, 0),
                   status_fmt_num(size, sizeof(size), (double) fi[i].size, 0),
                   status_fmt_num(unread, sizeof(unread), fi[i].size > fi[i].offset
                                  ? (double) (fi[i].size - fi[i].offset) : 0, 0),
                   fi[i].rotated ? "rotated, draining"
                                 : (fi[i].open ? "open" : "idle (closed)"),
                   status_fmt_num(nrot, sizeof(nrot), rot, 0));
    }
    if (n == 0) {
        buf_puts(b, "<tr><td colspan=\"6\" class=\"bad\">no file followed"
                 "</td></tr>\n");
    }
    buf_puts(b, "</table>\n");
}


void
status_write_dims(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    const cfg_dim_t     *d;
    double               hit, miss, neg, rows, loaded;
    char                 num[32], when[64], age[64];
    size_t               t, k;
    int                  found, any, redis, lru;

    if (src->cfg->ndims == 0) {
        return;
    }
    redis = src->dims != NULL && dims_async(src->dims);
    buf_puts(b, "<h2>Dimension tables</h2>\n");
    if (redis) {
        write_redis(b, pg);
    }
    buf_puts(b, "<table id=\"dims\"><tr><th>table</th><th>source</th>"
             "<th>key</th><th>provides</th><th>rows</th><th>last load</th>"
             "<th>state</th><th>hit ratio</th></tr>\n");
    for (t = 0; t < src->cfg->ndims; t++) {
        d = &src->cfg->dims[t];
        lru = redis && d->cache.policy == CFG_CACHE_LRU;
        buf_puts(b, "<tr><td>");
        status_html_str(b, d->name);
        buf_puts(b, "</td><td><code>");
        if (redis) {
            status_html_str(b, src->cfg->redis.prefix != NULL
                        ? src->cfg->redis.prefix : "");
            buf_puts(b, ":");
            status_html_str(b, d->name);
            buf_puts(b, lru ? "</code> (lru)" : "</code> (all)");
        } else if (src->cfg->dims_dir != NULL) {
            status_html_str(b, src->cfg->dims_dir);
            buf_puts(b, "/");
            status_html_str(b, d->name);
            buf_puts(b, ".csv</code>");
        } else {
            buf_puts(b, "</code>no dimensions.dir");
        }
        buf_puts(b, "</td><td>");
        for (k = 0; k < d->nkeys; k++) {
            buf_puts(b, k ? ", " : "");
            status_html_str(b, d->key_columns[k]);
        }
        buf_puts(b, "</td><td>");
        for (k = 0; k < d->nprovides; k++) {
            buf_puts(b, k ? ", " : "");
            status_html_str(b, d->provides[k]);
        }
        rows = status_snap_value(src->self, "gwlog_dim_cache_entries", "table",
                                 d->name, NULL, NULL, &found);
        loaded = status_snap_value(src->self,
                                   "gwlog_dim_last_refresh_timestamp_seconds",
                                   "table", d->name, NULL, NULL, &found);
        buf_printf(b, "</td><td class=\"n\">%s</td>",
                   status_fmt_num(num, sizeof(num), rows, 0));
        if (loaded > 0) {
            buf_printf(b, "<td>%s<br><span class=\"dim\">%s ago</span></td>",
                       status_fmt_time(when, sizeof(when), loaded),
                       status_fmt_age(age, sizeof(age), pg->now - loaded));
        } else {
            buf_puts(b, "<td>never</td>");
        }

        dim_state(b, pg, t, rows, redis, lru);

        hit = status_snap_value(src->self, "gwlog_dim_lookups_total", "table",
                                d->name, "result", "hit", &any);
        miss = status_snap_value(src->self, "gwlog_dim_lookups_total", "table",
                                 d->name, "result", "miss", &found);
        neg = status_snap_value(src->self, "gwlog_dim_lookups_total", "table",
                                d->name, "result", "negative_hit", &found);
        if (any && hit + miss + neg > 0) {
            buf_printf(b, "<td class=\"n\">%.1f %%</td></tr>\n",
                       100.0 * hit / (hit + miss + neg));
        } else {
            buf_puts(b, "<td class=\"n\">n/a</td></tr>\n");
        }
    }
    buf_puts(b, "</table>\n");
}


/* The Redis of the dimension tables, up or down (red). */
static void
write_redis(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    double               up;
    size_t               k;
    int                  found;
    buf_t               *p;

    up = status_snap_value(src->self, "gwlog_dim_redis_up", NULL, NULL, NULL,
                           NULL, &found);
    buf_puts(b, "<p id=\"redis\">Redis <code>");
    if (src->dims_redis != NULL) {
        status_html_str(b, src->dims_redis);
    } else {
        if (src->cfg->redis.unix_socket != NULL) {
            status_html_str(b, src->cfg->redis.unix_socket);
        }
        for (k = 0; k < src->cfg->redis.naddresses; k++) {
            buf_puts(b, k || src->cfg->redis.unix_socket ? ", " : "");
            status_html_str(b, src->cfg->redis.addresses[k]);
        }
    }
    buf_printf(b, "</code>: <span class=\"%s\">%s</span></p>\n",
               up == 1 ? "ok" : "bad", up == 1 ? "up" : "down");
    if (up != 1) {
        p = status_problem(pg, LVL_BAD);
        buf_puts(p, "The dimension Redis does not answer "
                 "(gwlog_dim_redis_up 0): lookups it cannot answer "
                 "from the cache give the table's missing value.</li>\n");
    }
}


/* The state cell of table t (rows: its rows; redis: the Redis backend;
 * lru: cached on demand), and its problem when it is not "ok". */
static void
dim_state(buf_t *b, status_page_t *pg, size_t t, double rows, int redis,
    int lru)
{
    const status_src_t  *src = pg->src;
    const cfg_dim_t     *d = &src->cfg->dims[t];
    const char          *cls, *what;
    dims_state_t         st;
    buf_t               *p;

    st = src->dims != NULL ? dims_state(src->dims, t) : DIMS_LOADED;
    cls = "ok";
    what = "loaded";
    if (st == DIMS_ABSENT) {
        cls = "bad";
        what = "file not found";
    } else if (st == DIMS_FAILED) {
        cls = rows > 0 ? "warn" : "bad";
        what = rows > 0 ? "last load failed, previous rows kept"
                        : "load failed";
    } else if (!redis && src->cfg->dims_dir == NULL) {
        cls = "bad";
        what = "not read";
    } else if (rows == 0 && !lru) {
        cls = "bad";
        what = "empty";
    } else if (lru) {
        what = "cached on demand";
    }
    buf_printf(b, "<td class=\"%s\">%s</td>", cls, what);
    if (strcmp(cls, "ok") != 0) {
        p = status_problem(pg, strcmp(cls, "bad") == 0 ? LVL_BAD : LVL_WARN);
        buf_puts(p, "Dimension table <code>");
        status_html_str(p, d->name);
        buf_printf(p, "</code>: %s%s", what,
                   strcmp(cls, "bad") == 0 ? ": every lookup gives \""
                                           : " (see the log)");
        if (strcmp(cls, "bad") == 0) {
            status_html_str(p, d->missing);
            buf_puts(p, "\"");
        }
        buf_puts(p, ".</li>\n");
    }
}


/* Checkpoints are written every checkpoint_interval: red when the errors
 * rose between the last two samples or the last one is older than three
 * intervals (and 10 s), amber for errors that stopped. */
void
status_write_checkpoints(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    double               errors, last, age, limit;
    char                 num[32], when[64], agebuf[64];
    const char          *cls;
    int                  found;
    buf_t               *p;

    if (src->state_dir == NULL || src->tail == NULL) {
        return;
    }
    errors = status_snap_value(src->snap, "gwlog_checkpoint_errors_total", NULL,
                               NULL, NULL, NULL, &found);
    last = status_snap_value(src->self, "gwlog_last_checkpoint_timestamp_seconds",
                             NULL, NULL, NULL, NULL, &found);
    limit = 3 * src->cfg->tail.checkpoint_interval + 10;
    age = last > 0 ? pg->now - last
                   : (pg->start > 0 ? pg->now - pg->start : 0);
    buf_puts(b, "<h2>Checkpoints</h2>\n<table id=\"checkpoints\"><tr><th>"
             "directory</th><th>last checkpoint</th><th>errors</th></tr>\n"
             "<tr><td><code>");
    status_html_str(b, src->state_dir);
    cls = age > limit ? "bad" : "ok";
    if (last > 0) {
        buf_printf(b, "</code></td><td class=\"%s\">%s<br>%s ago</td>", cls,
                   status_fmt_time(when, sizeof(when), last),
                   status_fmt_age(agebuf, sizeof(agebuf), age));
    } else {
        buf_printf(b, "</code></td><td class=\"%s\">none yet</td>", cls);
    }
    buf_printf(b, "<td class=\"n %s\">%s</td></tr>\n</table>\n",
               pg->h.ckpt_rising ? "bad" : errors > 0 ? "warn" : "",
               status_fmt_num(num, sizeof(num), errors, 0));
    if (age > limit) {
        p = status_problem(pg, LVL_BAD);
        buf_printf(p, "No checkpoint for %s (one is due every %.0f s): a "
                   "restart would count again what was read since.</li>\n",
                   status_fmt_age(agebuf, sizeof(agebuf), age),
                   src->cfg->tail.checkpoint_interval);
    }
    if (pg->h.ckpt_rising) {
        p = status_problem(pg, LVL_BAD);
        buf_printf(p, "Checkpoints are failing (gwlog_checkpoint_errors_total "
                   "%s, rising; the log says why).</li>\n",
                   status_fmt_num(num, sizeof(num), errors, 0));
    } else if (errors > 0) {
        p = status_problem(pg, LVL_WARN);
        buf_printf(p, "%s checkpoint%s failed since the start (not since the "
                   "last refresh).</li>\n",
                   status_fmt_num(num, sizeof(num), errors, 0),
                   errors == 1 ? "" : "s");
    }
}
