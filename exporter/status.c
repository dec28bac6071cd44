/* status.c - The status page at "/".
 *
 * Everything on it comes from the same sources as /metrics (a snapshot of
 * the store, the tailer's file list, the dimension tables), so the page
 * and the metrics agree; tests/status_page.py checks that in Chromium.
 */

#include "revision.h"
#include "exporter/status.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "labels/expo.h"
#include "lib/clock.h"


static const char  css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2433;"
    "background:#f5f6f8}"
    "header{background:#1d2433;color:#fff;padding:14px 24px}"
    "header h1{margin:0;font-size:20px}header span{opacity:.75;margin-left:8px}"
    "nav a{color:#9cc3ff;margin-right:16px}main{padding:8px 24px 24px}"
    "h2{font-size:16px;margin:22px 0 8px}"
    ".tiles{display:flex;flex-wrap:wrap;gap:12px}"
    ".tile{background:#fff;border-radius:6px;padding:10px 16px;"
    "box-shadow:0 1px 2px rgba(0,0,0,.1);min-width:140px}"
    ".tile b{display:block;font-size:20px}.tile small{color:#667}"
    "table{border-collapse:collapse;background:#fff;width:100%;"
    "box-shadow:0 1px 2px rgba(0,0,0,.1)}"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e3e6eb}"
    "th{background:#eef1f5;font-weight:600}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    ".ok{color:#137333}.bad{color:#b3261e;font-weight:600}.warn{color:#a15c00}"
    "code{font-size:13px}";


static void html_text(buf_t *b, const char *p, size_t len);
static void html_str(buf_t *b, const char *s);
static double snap_value(const store_snap_t *snap, const char *family,
    const char *label, const char *value, const char *label2,
    const char *value2, int *found);
static void write_tiles(buf_t *b, const status_src_t *src);
static void write_files(buf_t *b, const status_src_t *src);
static void write_dims(buf_t *b, const status_src_t *src);
static void write_families(buf_t *b, const status_src_t *src);
static void write_errors(buf_t *b, const status_src_t *src);
static void fmt_time(char *out, size_t len, double t);


void
status_write(buf_t *b, const status_src_t *src)
{
    char  when[64];

    fmt_time(when, sizeof(when), src->reload_time);
    buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><title>gwlog_exporter</title>\n<style>%s"
               "</style></head>\n<body>\n<header><h1>gwlog_exporter<span>"
               "%s (revision %s)</span></h1>\n<nav><a href=\"", css,
               GWLOG_VERSION, GWLOG_REVISION);
    html_str(b, src->telemetry_path);
    buf_puts(b, "\">Metrics</a><a href=\"/-/healthy\">Health</a>"
             "<a href=\"/-/ready\">Readiness</a></nav></header>\n<main>\n");
    buf_puts(b, "<p id=\"config\">Configuration <code>");
    html_str(b, src->cfg->file);
    buf_printf(b, "</code>, loaded %s; last reload <span class=\"%s\">%s"
               "</span>; <span class=\"%s\">%s</span>.</p>\n", when,
               src->reload_ok ? "ok" : "bad",
               src->reload_ok ? "succeeded" : "FAILED (see the log)",
               src->ready ? "ok" : "warn",
               src->ready ? "ready" : "not ready yet");
    write_tiles(b, src);
    write_files(b, src);
    write_dims(b, src);
    write_families(b, src);
    write_errors(b, src);
    buf_puts(b, "</main></body></html>\n");
}


static void
write_tiles(buf_t *b, const status_src_t *src)
{
    static const char  *results[] = { "ok", "invalid", "filtered" };
    char                num[EXPO_DOUBLE_LEN];
    double              v, ev;
    size_t              i;
    int                 found;

    buf_puts(b, "<h2>Lines</h2>\n<div class=\"tiles\">\n");
    for (i = 0; i < 3; i++) {
        v = snap_value(src->snap, "gwlog_lines_total", "result", results[i],
                       NULL, NULL, &found);
        buf_printf(b, "<div class=\"tile\" id=\"lines-%s\"><small>lines %s"
                   "</small><b>%.0f</b></div>\n", results[i], results[i], v);
    }
    v = snap_value(src->snap, "gwlog_bytes_read_total", NULL, NULL, NULL,
                   NULL, &found);
    buf_printf(b, "<div class=\"tile\" id=\"bytes-read\"><small>bytes read"
               "</small><b>%.0f</b></div>\n", v);
    ev = src->tail != NULL ? tail_last_event_time(src->tail) : 0;
    if (ev > 0) {
        snprintf(num, sizeof(num), "%.1f s", clock_wall() - ev);
    } else {
        snprintf(num, sizeof(num), "no line yet");
    }
    buf_printf(b, "<div class=\"tile\" id=\"event-lag\"><small>event lag"
               "</small><b>%s</b></div>\n</div>\n", num);
}


static void
write_files(buf_t *b, const status_src_t *src)
{
    tail_file_info_t  *fi = NULL;
    size_t             n, i;
    double             rot;
    int                found;

    n = src->tail != NULL ? tail_files(src->tail, &fi) : 0;
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
        buf_printf(b, "</code></td><td class=\"n\">%" PRId64 "</td>"
                   "<td class=\"n\">%" PRId64 "</td><td class=\"n %s\">%"
                   PRId64 "</td><td>%s</td><td class=\"n\">%.0f</td></tr>\n",
                   fi[i].offset, fi[i].size,
                   fi[i].size > fi[i].offset ? "warn" : "",
                   fi[i].size > fi[i].offset ? fi[i].size - fi[i].offset : 0,
                   fi[i].rotated ? "rotated, draining"
                                 : (fi[i].open ? "open" : "idle (closed)"),
                   rot);
    }
    buf_puts(b, "</table>\n");
    tail_files_free(fi, n);
}


static void
write_dims(buf_t *b, const status_src_t *src)
{
    const cfg_dim_t  *d;
    double            hit, miss, neg;
    size_t            t, k;
    int               found, any;

    buf_printf(b, "<h2>Dimension tables</h2>\n<p>Source: <code>");
    html_str(b, src->cfg->dims_dir ? src->cfg->dims_dir : "(none)");
    buf_puts(b, "</code></p>\n<table id=\"dims\"><tr><th>table</th><th>key"
             "</th><th>provides</th><th>entries</th><th>loads</th>"
             "<th>hit ratio</th></tr>\n");
    for (t = 0; t < src->cfg->ndims; t++) {
        d = &src->cfg->dims[t];
        buf_puts(b, "<tr><td>");
        html_str(b, d->name);
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
        hit = snap_value(src->self, "gwlog_dim_lookups_total", "table",
                         d->name, "result", "hit", &any);
        miss = snap_value(src->self, "gwlog_dim_lookups_total", "table",
                          d->name, "result", "miss", &found);
        neg = snap_value(src->self, "gwlog_dim_lookups_total", "table",
                         d->name, "result", "negative_hit", &found);
        buf_printf(b, "</td><td class=\"n\">%zu</td><td class=\"n\">%"
                   PRIu64 "</td>", dims_entries(src->dims, t),
                   dims_loads(src->dims, t));
        if (any && hit + miss + neg > 0) {
            buf_printf(b, "<td class=\"n\">%.1f %%</td></tr>\n",
                       100.0 * hit / (hit + miss + neg));
        } else {
            buf_puts(b, "<td class=\"n\">n/a</td></tr>\n");
        }
    }
    buf_puts(b, "</table>\n");
}


static void
write_families(buf_t *b, const status_src_t *src)
{
    const store_snap_family_t  *f;
    uint64_t                    max;
    size_t                      i, k;

    buf_puts(b, "<h2>Metric families</h2>\n<table id=\"families\"><tr><th>"
             "family</th><th>type</th><th>series</th><th>max_series</th>"
             "<th>overflowed</th></tr>\n");
    for (i = 0; i < store_snap_nfamilies(src->snap); i++) {
        f = store_snap_family(src->snap, i);
        max = 0;
        for (k = 0; k < src->cfg->nmetrics; k++) {
            if (strcmp(src->cfg->metrics[k].name, f->name) == 0) {
                max = src->cfg->metrics[k].max_series;
            }
        }
        buf_puts(b, "<tr><td><code>");
        html_str(b, f->name);
        buf_printf(b, "</code></td><td>%s</td><td class=\"n\">%zu</td>"
                   "<td class=\"n\">", f->type == STORE_HISTOGRAM
                   ? "histogram" : "counter", f->nseries);
        if (max > 0) {
            buf_printf(b, "%" PRIu64, max);
        } else {
            buf_puts(b, "&mdash;");
        }
        buf_printf(b, "</td><td class=\"n %s\">%" PRIu64 "</td></tr>\n",
                   f->overflowed ? "bad" : "", f->overflowed);
    }
    buf_puts(b, "</table>\n");
}


static void
write_errors(buf_t *b, const status_src_t *src)
{
    const store_snap_family_t  *f;
    strv_t                      v[1];
    size_t                      i, j;

    buf_puts(b, "<h2>Invalid lines by reason</h2>\n<table id=\"errors\"><tr>"
             "<th>reason</th><th>lines</th></tr>\n");
    for (i = 0; i < store_snap_nfamilies(src->snap); i++) {
        f = store_snap_family(src->snap, i);
        if (strcmp(f->name, "gwlog_parse_errors_total") != 0
            || f->nlabels != 1)
        {
            continue;
        }
        for (j = 0; j < f->nseries; j++) {
            store_snap_labels(src->snap, i, j, v);
            buf_puts(b, "<tr><td>");
            html_text(b, v[0].p, v[0].len);
            buf_printf(b, "</td><td class=\"n\">%" PRIu64 "</td></tr>\n",
                       store_snap_counter(src->snap, i, j));
        }
    }
    buf_puts(b, "</table>\n");
}


/* A counter's value from the snapshot, by one or two label values (label
 * NULL: a family without labels).  0 and *found = 0 when absent. */
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
        if (strcmp(f->name, family) != 0 || f->type != STORE_COUNTER
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


static void
fmt_time(char *out, size_t len, double t)
{
    struct tm  tm;
    time_t     s = (time_t) t;

    gmtime_r(&s, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}
