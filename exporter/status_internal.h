/* status_internal.h - What the files of the status page share (private to
 * exporter/): the page being written, its problem list and the helpers.
 *
 * status.c         the page: its layout, the history of rates, the header
 *                  (configuration, reload), the overview tiles, the metric
 *                  families and the invalid lines
 * status_tables.c  the tables of inputs, files, dimension tables and
 *                  checkpoints, with the problems they find
 * status_html.c    the problem list, values from a snapshot, HTML
 *                  escaping and numbers, sizes, durations, times for a
 *                  reader */

#ifndef GWLOG_STATUS_INTERNAL_H
#define GWLOG_STATUS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include "exporter/status.h"
#include "exporter/tail.h"
#include "labels/store.h"
#include "lib/buf.h"


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


/* status_tables.c: the sections, appended to b; problems go to pg. */
void status_write_inputs(buf_t *b, status_page_t *pg);
void status_write_files(buf_t *b, status_page_t *pg);
void status_write_dims(buf_t *b, status_page_t *pg);
void status_write_checkpoints(buf_t *b, status_page_t *pg);

/* status_html.c */

/* Opens a <li> of the given level in the list of problems (red ones are
 * listed first) and returns the buffer to write its text into; the caller
 * closes it with "</li>\n". */
buf_t *status_problem(status_page_t *pg, int level);
/* A value from the snapshot (a counter or a gauge), by one or two label
 * values (label NULL: a family without labels).  0 and *found = 0 when
 * absent. */
double status_snap_value(const store_snap_t *snap, const char *family,
    const char *label, const char *value, const char *label2,
    const char *value2, int *found);
/* The sum of every series of a counter family. */
double status_snap_sum(const store_snap_t *snap, const char *family);
/* Appends text, escaped for HTML (<, >, &, "). */
void status_html_text(buf_t *b, const char *p, size_t len);
void status_html_str(buf_t *b, const char *s);
/* Formatters into out (len bytes), which they return: v with a comma
 * between thousands and the given decimals; bytes ("1.5 KiB"); a duration
 * ("3 min 12 s"); a unix time in UTC. */
const char *status_fmt_num(char *out, size_t len, double v, int decimals);
const char *status_fmt_bytes(char *out, size_t len, double v);
const char *status_fmt_age(char *out, size_t len, double seconds);
const char *status_fmt_time(char *out, size_t len, double t);

#endif
