/* status_html.c - The status page's helpers: the list of problems, values
 * read from a store snapshot, HTML escaping, and numbers (thousands
 * separators), sizes, durations and times for a reader. */

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exporter/status_internal.h"


/* Opens a <li> of the given level in the list of problems (red ones are
 * listed first) and returns the buffer to write its text into; the caller
 * closes it with "</li>\n". */
buf_t *
status_problem(status_page_t *pg, int level)
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
double
status_snap_value(const store_snap_t *snap, const char *family,
    const char *label, const char *value, const char *label2,
    const char *value2, int *found)
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
double
status_snap_sum(const store_snap_t *snap, const char *family)
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


void
status_html_text(buf_t *b, const char *p, size_t len)
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


void
status_html_str(buf_t *b, const char *s)
{
    status_html_text(b, s, strlen(s));
}


/* v with a comma between thousands and the given decimals:
 * 34873383 -> "34,873,383", 1234.56 (1) -> "1,234.6". */
const char *
status_fmt_num(char *out, size_t len, double v, int decimals)
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
const char *
status_fmt_bytes(char *out, size_t len, double v)
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
const char *
status_fmt_age(char *out, size_t len, double seconds)
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


const char *
status_fmt_time(char *out, size_t len, double t)
{
    struct tm  tm;
    time_t     s = (time_t) t;

    gmtime_r(&s, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return out;
}
