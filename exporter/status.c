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

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "exporter/status_internal.h"
#include "lib/clock.h"


static void sample(status_page_t *pg);
static void write_config(buf_t *b, status_page_t *pg);
static void write_tiles(buf_t *b, status_page_t *pg);
static void write_families(buf_t *b, status_page_t *pg);
static void write_errors(buf_t *b, status_page_t *pg);


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
    pg.start = status_snap_value(src->self, "process_start_time_seconds", NULL,
                                 NULL, NULL, NULL, &found);
    sample(&pg);
    pg.nfi = src->tail != NULL ? tail_files(src->tail, &pg.fi) : 0;

    write_config(&body, &pg);
    write_tiles(&body, &pg);
    status_write_inputs(&body, &pg);
    status_write_files(&body, &pg);
    status_write_dims(&body, &pg);
    status_write_checkpoints(&body, &pg);
    write_families(&body, &pg);
    write_errors(&body, &pg);

    buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"%d\">"
               "<title>%sgwlog_exporter</title>\n<style>%s</style></head>\n"
               "<body>\n<header><h1>gwlog_exporter<span>%s (revision %s)"
               "</span></h1>\n<nav><a href=\"", STATUS_REFRESH,
               pg.nbad ? "(!) " : "", css, GWLOG_VERSION, GWLOG_REVISION);
    status_html_str(b, src->telemetry_path);
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

    lines = status_snap_sum(pg->src->snap, "gwlog_lines_total");
    bytes = status_snap_sum(pg->src->snap, "gwlog_bytes_read_total");
    ckerr = status_snap_value(pg->src->snap, "gwlog_checkpoint_errors_total", NULL,
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
    status_html_str(b, src->cfg->file);
    buf_printf(b, "</code>, loaded %s (%s ago); last reload ",
               status_fmt_time(when, sizeof(when), src->reload_time),
               status_fmt_age(age, sizeof(age), pg->now - src->reload_time));
    if (src->reload_ok) {
        buf_puts(b, "<span class=\"ok\">succeeded</span>");
    } else {
        buf_puts(b, "<span class=\"bad\" id=\"reload-error\">FAILED: <code>");
        status_html_str(b, src->reload_err != NULL && src->reload_err[0] != '\0'
                    ? src->reload_err : "(no reason given)");
        buf_puts(b, "</code></span>");
        p = status_problem(pg, LVL_BAD);
        buf_puts(p, "The last reload failed, the configuration loaded before "
                 "keeps running: <code>");
        status_html_str(p, src->reload_err != NULL && src->reload_err[0] != '\0'
                    ? src->reload_err : "(no reason given)");
        buf_puts(p, "</code></li>\n");
    }
    buf_printf(b, "; <span class=\"%s\">%s</span>.</p>\n",
               src->ready ? "ok" : "warn",
               src->ready ? "ready" : "not ready yet");
    if (!src->ready) {
        p = status_problem(pg, LVL_WARN);
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
                   status_fmt_age(num, sizeof(num), pg->now - pg->start));
    }
    v = status_snap_value(src->self, "process_resident_memory_bytes", NULL, NULL,
                          NULL, NULL, &found);
    if (found) {
        buf_printf(b, "<div class=\"tile\" id=\"rss\"><small>resident memory"
                   "</small><b>%s</b></div>\n",
                   status_fmt_bytes(num, sizeof(num), v));
    }
    for (i = 0; i < 3; i++) {
        v = status_snap_value(src->snap, "gwlog_lines_total", "result", results[i],
                              NULL, NULL, &found);
        buf_printf(b, "<div class=\"tile\" id=\"lines-%s\"><small>lines %s"
                   "</small><b>%s</b></div>\n", results[i], results[i],
                   status_fmt_num(num, sizeof(num), v, 0));
    }
    v = status_snap_value(src->snap, "gwlog_bytes_read_total", NULL, NULL, NULL,
                          NULL, &found);
    buf_printf(b, "<div class=\"tile\" id=\"bytes-read\"><small>bytes read"
               "</small><b>%s</b><i>%s</i></div>\n",
               status_fmt_num(num, sizeof(num), v, 0),
               status_fmt_bytes(aux, sizeof(aux), v));
    if (pg->h.dt > 0) {
        buf_printf(b, "<div class=\"tile\" id=\"lines-rate\"><small>lines/s"
                   "</small><b>%s</b><i>over the last %.0f s</i></div>\n",
                   status_fmt_num(num, sizeof(num), pg->h.lines_rate, 1), pg->h.dt);
        buf_printf(b, "<div class=\"tile\" id=\"bytes-rate\"><small>bytes/s"
                   "</small><b>%s</b><i>%s/s</i></div>\n",
                   status_fmt_num(num, sizeof(num), pg->h.bytes_rate, 0),
                   status_fmt_bytes(aux, sizeof(aux), pg->h.bytes_rate));
    } else {
        buf_printf(b, "<div class=\"tile\" id=\"lines-rate\"><small>lines/s"
                   "</small><b>&hellip;</b><i>at the next refresh (%d s)</i>"
                   "</div>\n", STATUS_REFRESH);
    }
    ev = src->tail != NULL ? tail_last_event_time(src->tail) : 0;
    buf_printf(b, "<div class=\"tile\" id=\"event-lag\"><small>event lag"
               "</small><b>%s</b></div>\n</div>\n",
               ev > 0 ? status_fmt_age(num, sizeof(num), pg->now - ev)
                      : "no line yet");
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
        status_html_str(b, f->name);
        buf_printf(b, "</code></td><td>%s</td><td class=\"n\">%s</td>"
                   "<td class=\"n\">", f->type == STORE_HISTOGRAM
                   ? "histogram" : "counter",
                   status_fmt_num(n1, sizeof(n1), (double) f->nseries, 0));
        if (max > 0) {
            buf_puts(b, status_fmt_num(n2, sizeof(n2), (double) max, 0));
        } else {
            buf_puts(b, "&mdash;");
        }
        buf_printf(b, "</td><td class=\"n %s\">%s</td></tr>\n",
                   f->overflowed ? "warn" : "",
                   status_fmt_num(n3, sizeof(n3), (double) f->overflowed, 0));
        if (f->overflowed) {
            p = status_problem(pg, LVL_WARN);
            buf_puts(p, "Family <code>");
            status_html_str(p, f->name);
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
            status_html_text(b, v[0].p, v[0].len);
            buf_printf(b, "</td><td class=\"n\">%s</td></tr>\n",
                       status_fmt_num(num, sizeof(num), (double)
                                      store_snap_counter(pg->src->snap, i, j), 0));
        }
    }
    buf_puts(b, "</table>\n");
}
