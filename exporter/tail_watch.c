/* tail_watch.c - What wakes the tail thread: inotify on the directories of
 * the input globs, or polling every poll_interval, behind one interface
 * (watch_ops_t).  Events are hints: the thread reads every open file at
 * each pass and the scan (stat(), not the event) is the truth, so a lost
 * or coalesced event costs at most one scan interval.
 *
 * libinotifytools keeps process-global state and is not thread-safe: only
 * the tail thread calls it (tail_watch_init() runs before the thread
 * starts, tail_watch_cleanup() after it stopped).
 */

#include "exporter/tail_internal.h"

#include <errno.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"


#define SCAN_INTERVAL   1.0             /* seconds between scans, inotify */
#define DIR_EVENTS      (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM \
                         | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)
#define SCAN_EVENTS     (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)

typedef struct watch_ops {
    const char  *name;
    int        (*add)(tail_t *t, const char *dir);  /* 0, or -1: scanned */
    int        (*wait)(tail_t *t);                  /* 1: scan now */
    double     (*scan_every)(const tail_t *t);
    void       (*cleanup)(void);
} watch_ops_t;


static int inotify_add(tail_t *t, const char *dir);
static int inotify_wait(tail_t *t);
static double inotify_scan_every(const tail_t *t);
static void inotify_cleanup(void);
static int poll_wait(tail_t *t);
static double poll_scan_every(const tail_t *t);


static const watch_ops_t  inotify_ops = {
    "inotify", inotify_add, inotify_wait, inotify_scan_every, inotify_cleanup
};

static const watch_ops_t  poll_ops = {
    "poll", NULL, poll_wait, poll_scan_every, NULL
};


void
tail_watch_init(tail_t *t)
{
    t->watch = &poll_ops;
    if (t->cfg->tail.poll) {
        return;
    }
    if (inotifytools_initialize() == 0) {
        log_warn_kv("inotify unavailable: polling every tail.poll_interval",
                    LOG_STR("err", strerror(inotifytools_error())),
                    LOG_F64("seconds", t->cfg->tail.poll_interval));
        return;
    }
    t->watch = &inotify_ops;
}


/* Watches the directory of a glob when the directory part is literal;
 * otherwise the scan finds new files. */
void
tail_watch_dir(tail_t *t, const char *glob_path)
{
    char    *copy, *dir, **dirs;
    size_t   i;

    if (t->watch == NULL || t->watch->add == NULL
        || (copy = strdup(glob_path)) == NULL)
    {
        return;
    }
    dir = dirname(copy);
    for (i = 0; i < t->ndirs && !tail_has_glob(dir); i++) {
        if (strcmp(t->dirs[i], dir) == 0) {
            break;
        }
    }
    if (tail_has_glob(dir) || i < t->ndirs || t->watch->add(t, dir) != 0) {
        free(copy);
        return;
    }
    dirs = realloc(t->dirs, (t->ndirs + 1) * sizeof(char *));
    if (dirs != NULL) {
        t->dirs = dirs;
        t->dirs[t->ndirs] = strdup(dir);
        t->ndirs += t->dirs[t->ndirs] != NULL;
    }
    free(copy);
}


int
tail_watch_wait(tail_t *t)
{
    return t->watch->wait(t);
}


double
tail_watch_scan_every(const tail_t *t)
{
    return t->watch->scan_every(t);
}


void
tail_watch_cleanup(tail_t *t)
{
    if (t->watch != NULL && t->watch->cleanup != NULL) {
        t->watch->cleanup();
    }
    t->watch = NULL;
}


void
tail_watch_free(tail_t *t)
{
    size_t  i;

    for (i = 0; i < t->ndirs; i++) {
        free(t->dirs[i]);
    }
    free(t->dirs);
    t->dirs = NULL;
    t->ndirs = 0;
}


int
tail_has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}


static int
inotify_add(tail_t *t, const char *dir)
{
    int  err;

    (void) t;
    if (inotifytools_watch_file(dir, DIR_EVENTS)) {
        return 0;
    }
    err = inotifytools_error();
    log_warn_kv(err == ENOSPC ? "inotify_add_watch() failed (the user limit "
                "on the total number of inotify watches was reached): the "
                "directory is scanned every second"
                : "inotify_add_watch() failed: the directory is scanned "
                "every second", LOG_STR("dir", dir),
                LOG_STR("err", strerror(err)));
    return -1;
}


/* Whole seconds only (libinotifytools); returns at once when an event is
 * queued. */
static int
inotify_wait(tail_t *t)
{
    struct inotify_event  *ev;

    (void) t;
    ev = inotifytools_next_event(1);
    return ev != NULL && (ev->mask & (SCAN_EVENTS | IN_Q_OVERFLOW)) != 0;
}


static double
inotify_scan_every(const tail_t *t)
{
    (void) t;
    return SCAN_INTERVAL;
}


static void
inotify_cleanup(void)
{
    inotifytools_cleanup();
}


static int
poll_wait(tail_t *t)
{
    struct timespec  ts;
    double           every = t->cfg->tail.poll_interval;

    ts.tv_sec = (time_t) every;
    ts.tv_nsec = (long) ((every - (double) ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    return 0;
}


static double
poll_scan_every(const tail_t *t)
{
    return t->cfg->tail.poll_interval;
}
