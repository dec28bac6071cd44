/* status.c - The status page at "/".
 *
 * Everything on it comes from the same sources as /metrics (the snapshots
 * of the ingest store and of the self store taken for this page, the
 * tailer's file list, the configuration), so the page and the metrics
 * agree; tests/operability.py checks that in Chromium.
 *
 * What is wrong comes first, in a list: red ("bad") when the exporter
 * cannot do its job (no input file, an empty or unreadable dimension
 * table, Redis down, checkpoints failing, a refused reload), amber
 * ("warn") when it works but deserves a look (nothing read for
 * STATUS_IDLE_WARN seconds, a table whose last load failed but kept its
 * rows, series folded into __overflow__, old checkpoint errors, not
 * ready).  Rates (lines/s, bytes/s) are measured between two loads of the
 * page, which reloads itself every STATUS_REFRESH seconds.
 */

#include "revision.h"
#include "exporter/status.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"


#define LVL_WARN    1               /* amber */
#define LVL_BAD     2               /* red */

/* What the page remembers between two loads: the counters of the last
 * sample (taken at least a second after the one before), the rates
 * between the last two samples, and since when the bytes read have not
 * moved, as far as the page saw.  Process-wide, guarded by lock. */
typedef struct {
    pthread_mutex_t  lock;
    double           t;             /* unix time of the last sample, 0: none */
    double           lines, bytes, ckpt_errors;
    double           dt;            /* between the last two samples; 0: no
                                     * rate yet */
    double           lines_rate, bytes_rate;
    double           idle_since;    /* bytes read unchanged since then */
    int              ckpt_rising;   /* checkpoint errors rose between the
                                     * last two samples */
} status_hist_t;

/* One page being written. */
typedef struct {
    const status_src_t  *src;
    double               now;       /* unix time */
    double               start;     /* process start, 0: unknown */
    status_hist_t        h;         /* a copy, taken for this page */
    buf_t                bad, warn; /* <li> items: red, amber */
    unsigned             nbad, nwarn;
    tail_file_info_t    *fi;        /* the tailer's files, owned */
    size_t               nfi;
    size_t               nlive;     /* files matched by the globs */
} status_page_t;


static void sample(status_page_t *pg);
static void write_config(buf_t *b, status_page_t *pg);
static void write_tiles(buf_t *b, status_page_t *pg);
static void write_inputs(buf_t *b, status_page_t *pg);
static void write_files(buf_t *b, status_page_t *pg);
static void write_dims(buf_t *b, status_page_t *pg);
static void write_checkpoints(buf_t *b, status_page_t *pg);
static void write_families(buf_t *b, status_page_t *pg);
static void write_errors(buf_t *b, status_page_t *pg);
static buf_t *problem(status_page_t *pg, int level);
static double snap_value(const store_snap_t *snap, const char *family,
    const char *label, const char *value, const char *label2,
    const char *value2, int *found);
static double snap_sum(const store_snap_t *snap, const char *family);
static void html_text(buf_t *b, const char *p, size_t len);
static void html_str(buf_t *b, const char *s);
static const char *fmt_num(char *out, size_t len, double v, int decimals);
static const char *fmt_bytes(char *out, size_t len, double v);
static const char *fmt_age(char *out, size_t len, double seconds);
static const char *fmt_time(char *out, size_t len, double t);


static status_hist_t  status_hist = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char  css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2433;"
    "background:#f5f6f8}"
    "header{background:#1d2433;color:#fff;padding:14px 24px}"
    "header h1{margin:0;font-size:20px}header span{opacity:.75;margin-left:8px;"
    "font-size:14px;font-weight:400}"
    "nav a{color:#9cc3ff;margin-right:16px}main{padding:8px 24px 24px}"
    "h2{font-size:16px;margin:22px 0 8px}"
    ".banner{padding:10px 16px;border-radius:6px;margin:14px 0 6px;"
    "font-weight:600;font-size:15px}"
    ".banner.ok{background:#e6f4ea;color:#137333}"
    ".banner.warn{background:#fef7e0;color:#a15c00;border-left:6px solid #f9ab00}"
    ".banner.bad{background:#fce8e6;color:#b3261e;border-left:6px solid #d93025}"
    "#problems{margin:4px 0 0;padding-left:22px}#problems li{margin:2px 0}"
    ".tiles{display:flex;flex-wrap:wrap;gap:12px}"
    ".tile{background:#fff;border-radius:6px;padding:10px 16px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.1);min-width:130px}"
    ".tile b{display:block;font-size:20px;font-variant-numeric:tabular-nums}"
    ".tile small{color:#667}.tile i{color:#667;font-style:normal;font-size:12px}"
    ".tile.bad{box-shadow:inset 0 -3px #d93025}"
    ".tile.warn{box-shadow:inset 0 -3px #f9ab00}"
    "table{border-collapse:collapse;background:#fff;width:100%;"
    "box-shadow:0 1px 2px rgba(0,0,0,.1)}"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6eb;"
    "vertical-align:top}"
    "th{background:#eef1f5;font-weight:600}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".ok{color:#137333}.bad{color:#b3261e;font-weight:600}"
    ".warn{color:#a15c00;font-weight:600}.dim{color:#667}"
    "td.bad{background:#fce8e6}td.warn{background:#fef7e0}"
    "code{font-size:13px}footer{color:#667;font-size:12px;padding:0 24px 16px}";


void
status_write(buf_t *b, const status_src_t *src)
{
    status_page_t  pg;
    buf_t          body = { 0 };
    int            found;

    memset(&pg, 0, sizeof(pg));
    pg.src = src;
    pg.now = clock_wall();
    pg.start = snap_value(src->self, "process_start_time_seconds", NULL,
                          NULL, NULL, NULL, &found);
    sample(&pg);
    pg.nfi = src->tail != NULL ? tail_files(src->tail, &pg.fi) : 0;

    write_config(&body, &pg);
    write_tiles(&body, &pg);
    write_inputs(&body, &pg);
    write_files(&body, &pg);
    write_dims(&body, &pg);
    write_checkpoints(&body, &pg);
    write_families(&body, &pg);
    write_errors(&body, &pg);

    buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"%d\">"
               "<title>%sgwlog_exporter</title>\n<style>%s</style></head>\n"
               "<body>\n<header><h1>gwlog_exporter<span>%s (revision %s)"
               "</span></h1>\n<nav><a href=\"", STATUS_REFRESH,
               pg.nbad ? "(!) " : "", css, GWLOG_VERSION, GWLOG_REVISION);
    html_str(b, src->telemetry_path);
    buf_puts(b, "\">Metrics</a><a href=\"/-/healthy\">Health</a>"
             "<a href=\"/-/ready\">Readiness</a></nav></header>\n<main>\n");
    if (pg.nbad + pg.nwarn == 0) {
        buf_puts(b, "<div id=\"summary\" class=\"banner ok\">All clear: "
                 "input files followed, tables loaded, nothing "
                 "failing.</div>\n");
    } else {
        buf_printf(b, "<div id=\"summary\" class=\"banner %s\">%u problem%s, "
                   "%u warning%s<ul id=\"problems\">\n", pg.nbad ? "bad"
                   : "warn", pg.nbad, pg.nbad == 1 ? "" : "s", pg.nwarn,
                   pg.nwarn == 1 ? "" : "s");
        if (pg.nbad > 0) {
            buf_append(b, pg.bad.p, pg.bad.len);
        }
        if (pg.nwarn > 0) {
            buf_append(b, pg.warn.p, pg.warn.len);
        }
        buf_puts(b, "</ul></div>\n");
    }
    buf_append(b, body.p, body.len);
    buf_printf(b, "</main>\n<footer>Reloads itself every %d s; rates are "
               "measured between two loads of the page. Red: the exporter "
               "cannot do its job; amber: it works but deserves a look "
               "(README, \"Status page\").</footer>\n</body></html>\n",
               STATUS_REFRESH);
    buf_free(&body);
    buf_free(&pg.bad);
    buf_free(&pg.warn);
    tail_files_free(pg.fi, pg.nfi);
}


/* Takes this page's sample of the counters into status_hist and copies
 * the history into pg->h.  A new sample is kept only a second or more
 * after the last one, so two pages loaded together share their rates. */
static void
sample(status_page_t *pg)
{
    status_hist_t  *h = &status_hist;
    double          lines, bytes, ckerr, dt;
    int             found;

    lines = snap_sum(pg->src->snap, "gwlog_lines_total");
    bytes = snap_sum(pg->src->snap, "gwlog_bytes_read_total");
    ckerr = snap_value(pg->src->snap, "gwlog_checkpoint_errors_total", NULL,
                       NULL, NULL, NULL, &found);

    pthread_mutex_lock(&h->lock);
    dt = pg->now - h->t;
    if (h->t == 0 || lines < h->lines || bytes < h->bytes) {
        /* The first page (or counters that went back: a new process
         * would not share this memory, so this is only a safeguard). */
        h->dt = 0;
        h->idle_since = bytes == 0 && pg->start > 0 ? pg->start : pg->now;
        h->ckpt_rising = 0;
    } else if (dt >= 1.0) {
        h->dt = dt;
        h->lines_rate = (lines - h->lines) / dt;
        h->bytes_rate = (bytes - h->bytes) / dt;
        if (bytes != h->bytes) {
            h->idle_since = pg->now;
        }
        h->ckpt_rising = ckerr > h->ckpt_errors;
    } else {
        pg->h = *h;
        pthread_mutex_unlock(&h->lock);
        return;
    }
    h->t = pg->now;
    h->lines = lines;
    h->bytes = bytes;
    h->ckpt_errors = ckerr;
    pg->h = *h;
    pthread_mutex_unlock(&h->lock);
}


static void
write_config(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    char                 when[64], age[64];
    buf_t               *p;

    buf_puts(b, "<p id=\"config\">Configuration <code>");
    html_str(b, src->cfg->file);
    buf_printf(b, "</code>, loaded %s (%s ago); last reload ",
               fmt_time(when, sizeof(when), src->reload_time),
               fmt_age(age, sizeof(age), pg->now - src->reload_time));
    if (src->reload_ok) {
        buf_puts(b, "<span class=\"ok\">succeeded</span>");
    } else {
        buf_puts(b, "<span class=\"bad\" id=\"reload-error\">FAILED: <code>");
        html_str(b, src->reload_err != NULL && src->reload_err[0] != '\0'
                    ? src->reload_err : "(no reason given)");
        buf_puts(b, "</code></span>");
        p = problem(pg, LVL_BAD);
        buf_puts(p, "The last reload failed, the configuration loaded before "
                 "keeps running: <code>");
        html_str(p, src->reload_err != NULL && src->reload_err[0] != '\0'
                    ? src->reload_err : "(no reason given)");
        buf_puts(p, "</code></li>\n");
    }
    buf_printf(b, "; <span class=\"%s\">%s</span>.</p>\n",
               src->ready ? "ok" : "warn",
               src->ready ? "ready" : "not ready yet");
    if (!src->ready) {
        p = problem(pg, LVL_WARN);
        buf_puts(p, "Not ready yet (/-/ready answers 503).</li>\n");
    }
}


static void
write_tiles(buf_t *b, status_page_t *pg)
{
    static const char  *results[] = { "ok", "invalid", "filtered" };
    const status_src_t *src = pg->src;
    char                num[64], aux[64];
    double              v, ev;
    size_t              i;
    int                 found;

    buf_puts(b, "<h2>Overview</h2>\n<div class=\"tiles\">\n");
    if (pg->start > 0) {
        buf_printf(b, "<div class=\"tile\" id=\"uptime\"><small>uptime"
                   "</small><b>%s</b></div>\n",
                   fmt_age(num, sizeof(num), pg->now - pg->start));
    }
    v = snap_value(src->self, "process_resident_memory_bytes", NULL, NULL,
                   NULL, NULL, &found);
    if (found) {
        buf_printf(b, "<div class=\"tile\" id=\"rss\"><small>resident memory"
                   "</small><b>%s</b></div>\n",
                   fmt_bytes(num, sizeof(num), v));
    }
    for (i = 0; i < 3; i++) {
        v = snap_value(src->snap, "gwlog_lines_total", "result", results[i],
                       NULL, NULL, &found);
        buf_printf(b, "<div class=\"tile\" id=\"lines-%s\"><small>lines %s"
                   "</small><b>%s</b></div>\n", results[i], results[i],
                   fmt_num(num, sizeof(num), v, 0));
    }
    v = snap_value(src->snap, "gwlog_bytes_read_total", NULL, NULL, NULL,
                   NULL, &found);
    buf_printf(b, "<div class=\"tile\" id=\"bytes-read\"><small>bytes read"
               "</small><b>%s</b><i>%s</i></div>\n",
               fmt_num(num, sizeof(num), v, 0),
               fmt_bytes(aux, sizeof(aux), v));
    if (pg->h.dt > 0) {
        buf_printf(b, "<div class=\"tile\" id=\"lines-rate\"><small>lines/s"
                   "</small><b>%s</b><i>over the last %.0f s</i></div>\n",
                   fmt_num(num, sizeof(num), pg->h.lines_rate, 1), pg->h.dt);
        buf_printf(b, "<div class=\"tile\" id=\"bytes-rate\"><small>bytes/s"
                   "</small><b>%s</b><i>%s/s</i></div>\n",
                   fmt_num(num, sizeof(num), pg->h.bytes_rate, 0),
                   fmt_bytes(aux, sizeof(aux), pg->h.bytes_rate));
    } else {
        buf_printf(b, "<div class=\"tile\" id=\"lines-rate\"><small>lines/s"
                   "</small><b>&hellip;</b><i>at the next refresh (%d s)</i>"
                   "</div>\n", STATUS_REFRESH);
    }
    ev = src->tail != NULL ? tail_last_event_time(src->tail) : 0;
    buf_printf(b, "<div class=\"tile\" id=\"event-lag\"><small>event lag"
               "</small><b>%s</b></div>\n</div>\n",
               ev > 0 ? fmt_age(num, sizeof(num), pg->now - ev)
                      : "no line yet");
}


/* Each glob of each input, with the files of the tailer it matches (as
 * glob(3) would: FNM_PATHNAME | FNM_PERIOD); files renamed away and still
 * being drained are listed under Files only. */
static void
write_inputs(buf_t *b, status_page_t *pg)
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
            html_str(b, in->paths[j]);
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
                html_str(b, fi[k].path);
                buf_puts(b, "</code>");
                m++;
            }
            pg->nlive += m;
            if (m == 0) {
                buf_puts(b, "</td><td class=\"bad\">matches nothing</td>"
                         "</tr>\n");
                p = problem(pg, LVL_BAD);
                buf_puts(p, "Input glob <code>");
                html_str(p, in->paths[j]);
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
        p = problem(pg, LVL_BAD);
        buf_puts(p, "No input is configured: nothing is read.</li>\n");
    } else if (pg->nlive > 0 && pg->now - pg->h.idle_since
                                >= STATUS_IDLE_WARN)
    {
        p = problem(pg, LVL_WARN);
        buf_printf(p, "Nothing read for %s although %zu input file%s %s "
                   "followed.</li>\n",
                   fmt_age(age, sizeof(age), pg->now - pg->h.idle_since),
                   pg->nlive, pg->nlive == 1 ? "" : "s",
                   pg->nlive == 1 ? "is" : "are");
    }
}


static void
write_files(buf_t *b, status_page_t *pg)
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
        rot += snap_value(src->snap, "gwlog_rotations_total", "path",
                          fi[i].path, "kind", "rename", &found);
        rot += snap_value(src->snap, "gwlog_rotations_total", "path",
                          fi[i].path, "kind", "copytruncate", &found);
        rot += snap_value(src->snap, "gwlog_rotations_total", "path",
                          fi[i].path, "kind", "truncate", &found);
        buf_puts(b, "<tr><td><code>");
        html_str(b, fi[i].path);
        buf_printf(b, "</code></td><td class=\"n\">%s</td><td class=\"n\">%s"
                   "</td><td class=\"n\">%s</td><td>%s</td><td class=\"n\">%s"
                   "</td></tr>\n",
                   fmt_num(off, sizeof(off), (double) fi[i].offset, 0),
                   fmt_num(size, sizeof(size), (double) fi[i].size, 0),
                   fmt_num(unread, sizeof(unread), fi[i].size > fi[i].offset
                           ? (double) (fi[i].size - fi[i].offset) : 0, 0),
                   fi[i].rotated ? "rotated, draining"
                                 : (fi[i].open ? "open" : "idle (closed)"),
                   fmt_num(nrot, sizeof(nrot), rot, 0));
    }
    if (n == 0) {
        buf_puts(b, "<tr><td colspan=\"6\" class=\"bad\">no file followed"
                 "</td></tr>\n");
    }
    buf_puts(b, "</table>\n");
}


static void
write_dims(buf_t *b, status_page_t *pg)
{
    const status_src_t  *src = pg->src;
    const cfg_dim_t     *d;
    const char          *cls, *what;
    double               hit, miss, neg, rows, loaded, up;
    char                 num[32], when[64], age[64];
    size_t               t, k;
    int                  found, any, redis, lru;
    dims_state_t         st;
    buf_t               *p;

    if (src->cfg->ndims == 0) {
        return;
    }
    redis = src->dims != NULL && dims_async(src->dims);
    buf_puts(b, "<h2>Dimension tables</h2>\n");
    if (redis) {
        up = snap_value(src->self, "gwlog_dim_redis_up", NULL, NULL, NULL,
                        NULL, &found);
        buf_puts(b, "<p id=\"redis\">Redis <code>");
        if (src->dims_redis != NULL) {
            html_str(b, src->dims_redis);
        } else {
            if (src->cfg->redis.unix_socket != NULL) {
                html_str(b, src->cfg->redis.unix_socket);
            }
            for (k = 0; k < src->cfg->redis.naddresses; k++) {
                buf_puts(b, k || src->cfg->redis.unix_socket ? ", " : "");
                html_str(b, src->cfg->redis.addresses[k]);
            }
        }
        buf_printf(b, "</code>: <span class=\"%s\">%s</span></p>\n",
                   up == 1 ? "ok" : "bad", up == 1 ? "up" : "down");
        if (up != 1) {
            p = problem(pg, LVL_BAD);
            buf_puts(p, "The dimension Redis does not answer "
                     "(gwlog_dim_redis_up 0): lookups it cannot answer "
                     "from the cache give the table's missing value.</li>\n");
        }
    }
    buf_puts(b, "<table id=\"dims\"><tr><th>table</th><th>source</th>"
             "<th>key</th><th>provides</th><th>rows</th><th>last load</th>"
             "<th>state</th><th>hit ratio</th></tr>\n");
    for (t = 0; t < src->cfg->ndims; t++) {
        d = &src->cfg->dims[t];
        lru = redis && d->cache.policy == CFG_CACHE_LRU;
        buf_puts(b, "<tr><td>");
        html_str(b, d->name);
        buf_puts(b, "</td><td><code>");
        if (redis) {
            html_str(b, src->cfg->redis.prefix != NULL
                        ? src->cfg->redis.prefix : "");
            buf_puts(b, ":");
            html_str(b, d->name);
            buf_puts(b, lru ? "</code> (lru)" : "</code> (all)");
        } else if (src->cfg->dims_dir != NULL) {
            html_str(b, src->cfg->dims_dir);
            buf_puts(b, "/");
            html_str(b, d->name);
            buf_puts(b, ".csv</code>");
        } else {
            buf_puts(b, "</code>no dimensions.dir");
        }
        buf_puts(b, "</td><td>");
        for (k = 0; k < d->nkeys; k++) {
            buf_puts(b, k ? ", " : "");
            html_str(b, d->key_columns[k]);
        }
        buf_puts(b, "</td><td>");
        for (k = 0; k < d->nprovides; k++) {
            buf_puts(b, k ? ", " : "");
            html_str(b, d->provides[k]);
        }
        rows = snap_value(src->self, "gwlog_dim_cache_entries", "table",
                          d->name, NULL, NULL, &found);
        loaded = snap_value(src->self,
                            "gwlog_dim_last_refresh_timestamp_seconds",
                            "table", d->name, NULL, NULL, &found);
        buf_printf(b, "</td><td class=\"n\">%s</td>",
                   fmt_num(num, sizeof(num), rows, 0));
        if (loaded > 0) {
            buf_printf(b, "<td>%s<br><span class=\"dim\">%s ago</span></td>",
                       fmt_time(when, sizeof(when), loaded),
                       fmt_age(age, sizeof(age), pg->now - loaded));
        } else {
            buf_puts(b, "<td>never</td>");
        }

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
            p = problem(pg, strcmp(cls, "bad") == 0 ? LVL_BAD : LVL_WARN);
            buf_puts(p, "Dimension table <code>");
            html_str(p, d->name);
            buf_printf(p, "</code>: %s%s", what,
                       strcmp(cls, "bad") == 0 ? ": every lookup gives \""
                                               : " (see the log)");
            if (strcmp(cls, "bad") == 0) {
                html_str(p, d->missing);
                buf_puts(p, "\"");
            }
            buf_puts(p, ".</li>\n");
        }

        hit = snap_value(src->self, "gwlog_dim_lookups_total", "table",
                         d->name, "result", "hit", &any);
        miss = snap_value(src->self, "gwlog_dim_lookups_total", "table",
                          d->name, "result", "miss", &found);
        neg = snap_value(src->self, "gwlog_dim_lookups_total", "table",
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


/* Checkpoints are written every checkpoint_interval: red when the errors
 * rose between the last two samples or the last one is older than three
 * intervals (and 10 s), amber for errors that stopped. */
static void
write_checkpoints(buf_t *b, status_page_t *pg)
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
    errors = snap_value(src->snap, "gwlog_checkpoint_errors_total", NULL,
                        NULL, NULL, NULL, &found);
    last = snap_value(src->self, "gwlog_last_checkpoint_timestamp_seconds",
                      NULL, NULL, NULL, NULL, &found);
    limit = 3 * src->cfg->tail.checkpoint_interval + 10;
    age = last > 0 ? pg->now - last
                   : (pg->start > 0 ? pg->now - pg->start : 0);
    buf_puts(b, "<h2>Checkpoints</h2>\n<table id=\"checkpoints\"><tr><th>"
             "directory</th><th>last checkpoint</th><th>errors</th></tr>\n"
             "<tr><td><code>");
    html_str(b, src->state_dir);
    cls = age > limit ? "bad" : "ok";
    if (last > 0) {
        buf_printf(b, "</code></td><td class=\"%s\">%s<br>%s ago</td>", cls,
                   fmt_time(when, sizeof(when), last),
                   fmt_age(agebuf, sizeof(agebuf), age));
    } else {
        buf_printf(b, "</code></td><td class=\"%s\">none yet</td>", cls);
    }
    buf_printf(b, "<td class=\"n %s\">%s</td></tr>\n</table>\n",
               pg->h.ckpt_rising ? "bad" : errors > 0 ? "warn" : "",
               fmt_num(num, sizeof(num), errors, 0));
    if (age > limit) {
        p = problem(pg, LVL_BAD);
        buf_printf(p, "No checkpoint for %s (one is due every %.0f s): a "
                   "restart would count again what was read since.</li>\n",
                   fmt_age(agebuf, sizeof(agebuf), age),
                   src->cfg->tail.checkpoint_interval);
    }
    if (pg->h.ckpt_rising) {
        p = problem(pg, LVL_BAD);
        buf_printf(p, "Checkpoints are failing (gwlog_checkpoint_errors_total "
                   "%s, rising; the log says why).</li>\n",
                   fmt_num(num, sizeof(num), errors, 0));
    } else if (errors > 0) {
        p = problem(pg, LVL_WARN);
        buf_printf(p, "%s checkpoint%s failed since the start (not since the "
                   "last refresh).</li>\n",
                   fmt_num(num, sizeof(num), errors, 0),
                   errors == 1 ? "" : "s");
    }
}


static void
write_families(buf_t *b, status_page_t *pg)
{
    const store_snap_family_t  *f;
    const cfg_t                *cfg = pg->src->cfg;
    uint64_t                    max;
    size_t                      i, k;
    char                        n1[32], n2[32], n3[32];
    buf_t                      *p;

    buf_puts(b, "<h2>Metric families</h2>\n<table id=\"families\"><tr><th>"
             "family</th><th>type</th><th>series</th><th>max_series</th>"
             "<th>overflowed</th></tr>\n");
    for (i = 0; i < store_snap_nfamilies(pg->src->snap); i++) {
        f = store_snap_family(pg->src->snap, i);
        max = 0;
        for (k = 0; k < cfg->nmetrics; k++) {
            if (strcmp(cfg->metrics[k].name, f->name) == 0) {
                max = cfg->metrics[k].max_series;
            }
        }
        buf_puts(b, "<tr><td><code>");
        html_str(b, f->name);
        buf_printf(b, "</code></td><td>%s</td><td class=\"n\">%s</td>"
                   "<td class=\"n\">", f->type == STORE_HISTOGRAM
                   ? "histogram" : "counter",
                   fmt_num(n1, sizeof(n1), (double) f->nseries, 0));
        if (max > 0) {
            buf_puts(b, fmt_num(n2, sizeof(n2), (double) max, 0));
        } else {
            buf_puts(b, "&mdash;");
        }
        buf_printf(b, "</td><td class=\"n %s\">%s</td></tr>\n",
                   f->overflowed ? "warn" : "",
                   fmt_num(n3, sizeof(n3), (double) f->overflowed, 0));
        if (f->overflowed) {
            p = problem(pg, LVL_WARN);
            buf_puts(p, "Family <code>");
            html_str(p, f->name);
            buf_printf(p, "</code> reached max_series (%s): %s increments "
                       "folded into its <code>__overflow__</code> "
                       "series.</li>\n", max > 0 ? n2 : "?", n3);
        }
    }
    buf_puts(b, "</table>\n");
}


static void
write_errors(buf_t *b, status_page_t *pg)
{
    const store_snap_family_t  *f;
    strv_t                      v[1];
    size_t                      i, j;
    char                        num[32];

    buf_puts(b, "<h2>Invalid lines by reason</h2>\n<table id=\"errors\"><tr>"
             "<th>reason</th><th>lines</th></tr>\n");
    for (i = 0; i < store_snap_nfamilies(pg->src->snap); i++) {
        f = store_snap_family(pg->src->snap, i);
        if (strcmp(f->name, "gwlog_parse_errors_total") != 0
            || f->nlabels != 1)
        {
            continue;
        }
        for (j = 0; j < f->nseries; j++) {
            store_snap_labels(pg->src->snap, i, j, v);
            buf_puts(b, "<tr><td>");
            html_text(b, v[0].p, v[0].len);
            buf_printf(b, "</td><td class=\"n\">%s</td></tr>\n",
                       fmt_num(num, sizeof(num), (double)
                               store_snap_counter(pg->src->snap, i, j), 0));
        }
    }
    buf_puts(b, "</table>\n");
}


/* Opens a <li> of the given level in the list of problems (red ones are
 * listed first) and returns the buffer to write its text into; the caller
 * closes it with "</li>\n". */
static buf_t *
problem(status_page_t *pg, int level)
{
    if (level == LVL_BAD) {
        pg->nbad++;
        buf_puts(&pg->bad, "<li class=\"bad\">");
        return &pg->bad;
    }
    pg->nwarn++;
    buf_puts(&pg->warn, "<li class=\"warn\">");
    return &pg->warn;
}


/* A value from the snapshot (a counter or a gauge), by one or two label
 * values (label NULL: a family without labels).  0 and *found = 0 when
 * absent. */
static double
snap_value(const store_snap_t *snap, const char *family, const char *label,
    const char *value, const char *label2, const char *value2, int *found)
{
    const store_snap_family_t  *f;
    strv_t                      v[64];
    size_t                      i, j, k;
    int                         ok;

    *found = 0;
    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (strcmp(f->name, family) != 0 || f->type == STORE_HISTOGRAM
            || f->nlabels > 64)
        {
            continue;
        }
        for (j = 0; j < f->nseries; j++) {
            store_snap_labels(snap, i, j, v);
            ok = 1;
            for (k = 0; k < f->nlabels && ok; k++) {
                if (label != NULL && strcmp(f->labels[k], label) == 0) {
                    ok = v[k].len == strlen(value)
                         && memcmp(v[k].p, value, v[k].len) == 0;
                } else if (label2 != NULL && strcmp(f->labels[k], label2) == 0)
                {
                    ok = v[k].len == strlen(value2)
                         && memcmp(v[k].p, value2, v[k].len) == 0;
                }
            }
            if (ok) {
                *found = 1;
                return store_snap_value(snap, i, j);
            }
        }
    }
    return 0;
}


/* The sum of every series of a counter family. */
static double
snap_sum(const store_snap_t *snap, const char *family)
{
    const store_snap_family_t  *f;
    double                      sum = 0;
    size_t                      i, j;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (strcmp(f->name, family) != 0 || f->type == STORE_HISTOGRAM) {
            continue;
        }
        for (j = 0; j < f->nseries; j++) {
            sum += store_snap_value(snap, i, j);
        }
    }
    return sum;
}


static void
html_text(buf_t *b, const char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (p[i]) {
        case '<':  buf_puts(b, "&lt;"); break;
        case '>':  buf_puts(b, "&gt;"); break;
        case '&':  buf_puts(b, "&amp;"); break;
        case '"':  buf_puts(b, "&quot;"); break;
        default:   buf_append(b, &p[i], 1); break;
        }
    }
}


static void
html_str(buf_t *b, const char *s)
{
    html_text(b, s, strlen(s));
}


/* v with a comma between thousands and the given decimals:
 * 34873383 -> "34,873,383", 1234.56 (1) -> "1,234.6". */
static const char *
fmt_num(char *out, size_t len, double v, int decimals)
{
    char    digits[48], *dot;
    size_t  n, i, o = 0, lead;

    if (!isfinite(v) || fabs(v) >= 1e18) {
        snprintf(out, len, "%g", v);
        return out;
    }
    snprintf(digits, sizeof(digits), "%.*f", decimals, fabs(v));
    dot = strchr(digits, '.');
    n = dot != NULL ? (size_t) (dot - digits) : strlen(digits);
    if (v < 0 && strspn(digits, "0.") != strlen(digits) && o + 1 < len) {
        out[o++] = '-';
    }
    lead = n % 3 ? n % 3 : 3;
    for (i = 0; i < n && o + 2 < len; i++) {
        if (i >= lead && (i - lead) % 3 == 0) {
            out[o++] = ',';
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
    if (dot != NULL) {
        snprintf(out + o, len - o, "%s", dot);
    }
    return out;
}


/* Bytes for a reader: "512 B", "1.5 KiB", "23.4 MiB"... */
static const char *
fmt_bytes(char *out, size_t len, double v)
{
    static const char  *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    size_t              u = 0;

    while (fabs(v) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return out;
}


/* A duration for a reader: "42 s", "3 min 12 s", "2 h 5 min", "3 d 4 h". */
static const char *
fmt_age(char *out, size_t len, double seconds)
{
    uint64_t  s = seconds > 0 ? (uint64_t) seconds : 0;

    if (s < 60) {
        snprintf(out, len, "%" PRIu64 " s", s);
    } else if (s < 3600) {
        snprintf(out, len, "%" PRIu64 " min %" PRIu64 " s", s / 60, s % 60);
    } else if (s < 86400) {
        snprintf(out, len, "%" PRIu64 " h %" PRIu64 " min", s / 3600,
                 s % 3600 / 60);
    } else {
        snprintf(out, len, "%" PRIu64 " d %" PRIu64 " h", s / 86400,
                 s % 86400 / 3600);
    }
    return out;
}


static const char *
fmt_time(char *out, size_t len, double t)
{
    struct tm  tm;
    time_t     s = (time_t) t;

    gmtime_r(&s, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return out;
}
