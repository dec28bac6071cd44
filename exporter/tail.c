/* tail.c - Follows the input files and feeds every complete line to the
 * pipeline exactly once.
 *
 * One thread owns the files (libinotifytools keeps process-global state
 * and is not thread-safe).  Its loop:
 *
 *   read every open file to its end, splitting lines;
 *   scan (every second, at once after a create/move/delete event, or every
 *   poll_interval when polling): expand the globs, match files by
 *   identity, notice renames, deletions, truncations and new files;
 *   checkpoint every checkpoint_interval;
 *   wait for an inotify event (at most 1 s) or poll_interval.
 *
 * The store lock is held for one read chunk (up to READ_CHUNK bytes of
 * lines) at a time, so a scrape waits for at most one chunk.  This thread
 * is the only writer of the store, so a snapshot it takes is consistent
 * with the offsets it holds: that is what makes a checkpoint exact.
 *
 * Rotation by rename while a writer still appends to the old inode:
 *
 *   1. we read access.log (inode A) up to offset X;
 *   2. logrotate renames it to access.log.1 and creates a new access.log
 *      (inode B); the writer, not yet reopened, appends to A;
 *   3. the scan finds B at the glob path and no glob path for A: A becomes
 *      "rotated", B a new file read from its start;
 *   4. A is still read at every pass, so the writer's late lines count;
 *   5. once A has not grown for rotate_wait (or was deleted and is read
 *      to its end) it is closed.
 *
 * copytruncate:
 *
 *   1. we read access.log up to offset X (the file may be at Y > X);
 *   2. logrotate copies it to access.log.1, then truncates it; the writer
 *      appends at the new end;
 *   3. we see size < X (or different first bytes): the rotated copy whose
 *      first bytes match our fingerprint holds bytes X..Y; we read them
 *      (gzip too, if the copy was compressed already) before reading the
 *      truncated file from 0; an unfinished line continues across both.
 *   4. without a matching copy, Y - X (as far as we saw Y) is counted lost.
 */

#include "exporter/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "exporter/expo.h"
#include "exporter/log.h"
#include "labels/hash.h"


#define READ_CHUNK      (1024 * 1024)
#define MAP_WINDOW      (64 * 1024 * 1024)  /* --one-shot: bytes mapped at once */
#define FP_MAX          STATE_FP_MAX    /* bytes in a fingerprint */
#define SCAN_INTERVAL   1.0             /* seconds, with inotify */
#define DIR_EVENTS      (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM \
                         | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)
#define SCAN_EVENTS     (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)

typedef struct {
    char            *path;          /* glob path it was last seen at */
    size_t           input;
    int              fd;            /* -1: closed (idle, or not reopened) */
    dev_t            dev;
    ino_t            ino;
    off_t            offset;        /* bytes consumed, carry included */
    off_t            size;          /* as last seen */
    uint64_t         fp;            /* hash of the first fp_len bytes */
    uint32_t         fp_len;
    uint64_t         tfp;           /* hash of the tfp_len bytes before */
    uint32_t         tfp_len;       /*   tfp_at: pins our position */
    off_t            tfp_at;
    char            *carry;         /* a line whose newline is still due */
    size_t           carry_len;
    size_t           carry_cap;
    int              skipping;      /* inside a too long line */
    atomic_int       rotated;       /* no longer under any glob path; read
                                     * by the metrics thread */
    int              restored;      /* from a checkpoint, not yet seen */
    double           last_growth;   /* monotonic seconds */
    double           last_active;
    _Atomic int64_t  pub_offset;    /* for the metrics thread */
    _Atomic int64_t  pub_size;
    atomic_int       pub_open;
} tfile_t;

typedef struct {
    char            *path;
    size_t           input;
    struct stat      st;
    int              used;
} match_t;

struct tail {
    const cfg_t     *cfg;           /* not owned */
    pipeline_t      *pipe;          /* not owned */
    store_t         *store;         /* not owned */
    dims_t          *dims;          /* not owned */
    state_t         *state;         /* not owned; NULL: no checkpoints */

    pthread_mutex_t  files_lock;    /* the array and paths, for metrics */
    tfile_t        **files;
    size_t           nfiles;
    size_t           cap;
    char            *buf;           /* READ_CHUNK bytes */

    char           **dirs;          /* watched directories */
    size_t           ndirs;
    int              inotify;
    int              have_state;    /* a checkpoint was restored */
    int              first_scan;
    int              ckpt_failing;
    double           last_scan, last_ckpt, last_dims;
    _Atomic double   ckpt_time;     /* unix time of the last checkpoint */

    store_family_t  *f_rotations;
    store_family_t  *f_lost;
    store_family_t  *f_ckpt_errors;
    store_family_t  *f_ckpt_corrupt;
    uint32_t         id_ckpt_errors;
    uint32_t         id_ckpt_corrupt;

    pthread_mutex_t  swap_lock;     /* a reload handing over */
    pthread_cond_t   swap_done;
    struct swap     *swap;

    pthread_t        thread;
    int              running;
    int              one_shot;      /* in tail_one_shot(): reads may map */
    atomic_int       stop;
};

/* A configuration reload handed to the tail thread (see tail_swap()). */
struct swap {
    const cfg_t     *cfg;
    pipeline_t      *pipe;
    store_t         *store;
    dims_t          *dims;
    int            (*keep)(void *ctx, const char *family);
    void            *ctx;
    int              done;
};


static void *tail_main(void *arg);
static int add_families(tail_t *t, store_t *store);
static int do_swap(tail_t *t, struct swap *sw);
static void scan(tail_t *t);
static size_t glob_inputs(tail_t *t, match_t **out);
static tfile_t *file_new(tail_t *t, const char *path, size_t input);
static void file_remove(tail_t *t, size_t i);
static int file_open_path(tfile_t *f, const char *path);
static void file_close(tfile_t *f);
static int file_drain(tail_t *t, tfile_t *f);
static void file_drain_mapped(tail_t *t, tfile_t *f, off_t end);
static void on_sigbus(int sig);
static void file_truncated(tail_t *t, tfile_t *f, off_t size,
    int keep_carry);
static int recover_copy(tail_t *t, tfile_t *f, int same_inode_ok);
static int locate_rotated(tail_t *t, tfile_t *f);
static int fp_compute(int fd, uint32_t len, uint64_t *fp);
static void fp_update(tfile_t *f);
static int fp_matches(tfile_t *f, int fd);
static void tfp_update(tfile_t *f);
static int position_matches(tfile_t *f, int fd);
static void feed(tail_t *t, tfile_t *f, const char *p, size_t n);
static void flush_last(tail_t *t, tfile_t *f);
static void carry_append(tail_t *t, tfile_t *f, const char *p, size_t n);
static void checkpoint(tail_t *t);
static void count_rotation(tail_t *t, const char *path, const char *kind);
static void count_lost(tail_t *t, const char *path, uint64_t n);
static void publish(tfile_t *f);
static void limit_open_files(tail_t *t);
static void watch_dir(tail_t *t, const char *glob_path);
static int has_glob(const char *s);
static double mono(void);
static char *expand(const char *pattern, const char *path);


tail_t *
tail_create(const cfg_t *cfg, pipeline_t *pipe, store_t *store, dims_t *dims,
    state_t *state)
{
    tail_t  *t;

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->cfg = cfg;
    t->pipe = pipe;
    t->store = store;
    t->dims = dims;
    t->state = state;
    t->first_scan = 1;
    pthread_mutex_init(&t->files_lock, NULL);
    t->buf = malloc(READ_CHUNK);
    if (t->buf == NULL) {
        goto err;
    }

    if (add_families(t, store) != 0) {
        goto err;
    }
    /* Series restored or created from now on count as just used. */
    store_lock(store);
    store_set_clock(store, (uint32_t) mono());
    store_unlock(store);
    pthread_mutex_init(&t->swap_lock, NULL);
    pthread_cond_init(&t->swap_done, NULL);
    return t;

err:
    free(t->buf);
    pthread_mutex_destroy(&t->files_lock);
    free(t);
    return NULL;
}


/* The tailer's own counters, added to store. */
static int
add_families(tail_t *t, store_t *store)
{
    static const char  *rot_labels[] = { "path", "kind" };
    static const char  *path_label[] = { "path" };
    store_family_def_t  def;

    memset(&def, 0, sizeof(def));
    def.type = STORE_COUNTER;
    def.sibling_label = -1;
    def.name = "gwlog_rotations_total";
    def.help = "Rotations seen per file: rename (moved away or deleted), "
               "copytruncate (truncated, unread bytes recovered from the "
               "copy), truncate (truncated, no copy found).";
    def.labels = rot_labels;
    def.nlabels = 2;
    t->f_rotations = store_family_add(store, &def);
    def.name = "gwlog_truncated_bytes_lost_total";
    def.help = "Bytes a truncation removed before they were read and that "
               "no rotated copy held (a lower bound).";
    def.labels = path_label;
    def.nlabels = 1;
    t->f_lost = store_family_add(store, &def);
    def.name = "gwlog_checkpoint_errors_total";
    def.help = "Checkpoints that could not be written (ingestion goes on).";
    def.labels = NULL;
    def.nlabels = 0;
    t->f_ckpt_errors = store_family_add(store, &def);
    def.name = "gwlog_checkpoint_corrupt_total";
    def.help = "Checkpoint files found torn or corrupt at start; the "
               "previous good one was used.";
    t->f_ckpt_corrupt = store_family_add(store, &def);
    if (!t->f_rotations || !t->f_lost || !t->f_ckpt_errors
        || !t->f_ckpt_corrupt)
    {
        return -1;
    }
    t->id_ckpt_errors = store_series(t->f_ckpt_errors, NULL);
    t->id_ckpt_corrupt = store_series(t->f_ckpt_corrupt, NULL);
    return 0;
}


void
tail_destroy(tail_t *t)
{
    size_t  i;

    if (t == NULL) {
        return;
    }
    for (i = 0; i < t->nfiles; i++) {
        file_close(t->files[i]);
        free(t->files[i]->path);
        free(t->files[i]->carry);
        free(t->files[i]);
    }
    for (i = 0; i < t->ndirs; i++) {
        free(t->dirs[i]);
    }
    free(t->dirs);
    free(t->files);
    free(t->buf);
    pthread_mutex_destroy(&t->files_lock);
    pthread_mutex_destroy(&t->swap_lock);
    pthread_cond_destroy(&t->swap_done);
    free(t);
}


int
tail_one_shot(tail_t *t)
{
    const cfg_input_t  *in;
    struct stat         st;
    glob_t              g;
    tfile_t            *f;
    size_t              i, j, k, n;
    int                 rc = 0, seen;

    t->one_shot = 1;                        /* see file_drain_mapped() */
    for (i = 0; i < t->cfg->ninputs; i++) {
        in = &t->cfg->inputs[i];
        for (j = 0; j < in->npaths; j++) {
            if (!has_glob(in->paths[j]) && stat(in->paths[j], &st) != 0) {
                log_error("input %s: %s", in->paths[j], strerror(errno));
                rc = -1;
                continue;
            }
            if (glob(in->paths[j], 0, NULL, &g) != 0) {
                log_warn("input %s matches no file", in->paths[j]);
                continue;
            }
            for (k = 0; k < g.gl_pathc; k++) {
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) {
                    if (!has_glob(in->paths[j])) {
                        log_error("input %s is not a regular file",
                                  in->paths[j]);
                        rc = -1;
                    }
                    continue;               /* a directory, a fifo... */
                }
                for (n = 0, seen = 0; n < t->nfiles && !seen; n++) {
                    seen = strcmp(t->files[n]->path, g.gl_pathv[k]) == 0;
                }
                if (seen) {
                    continue;               /* matched twice */
                }
                f = file_new(t, g.gl_pathv[k], i);
                if (f == NULL || file_open_path(f, f->path) != 0) {
                    rc = -1;
                    continue;
                }
                if (file_drain(t, f) != 0) {
                    rc = -1;
                }
                flush_last(t, f);
                file_close(f);
            }
            globfree(&g);
        }
    }
    t->one_shot = 0;
    return rc;
}


int
tail_restore(tail_t *t)
{
    state_file_t  *sf = NULL;
    state_info_t   info;
    tfile_t       *f;
    size_t         n = 0, i;
    int            rc;

    if (t->state == NULL) {
        return 0;
    }
    store_lock(t->store);
    rc = state_load(t->state, t->store, NULL, NULL, &sf, &n, &info);
    if (info.corrupt > 0) {
        store_add(t->f_ckpt_corrupt, t->id_ckpt_corrupt, (uint64_t) info.corrupt);
    }
    store_unlock(t->store);
    if (rc == 1) {
        log_info("no checkpoint yet: files start at their start_at position");
        return 0;
    }
    if (rc < 0) {
        log_error("every checkpoint is corrupt: starting from zero, files "
                  "are read from their start");
        t->have_state = 1;
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (sf[i].input >= t->cfg->ninputs) {
            continue;                       /* the config lost that input */
        }
        f = file_new(t, sf[i].path, sf[i].input);
        if (f == NULL) {
            break;
        }
        f->dev = (dev_t) sf[i].dev;
        f->ino = (ino_t) sf[i].ino;
        f->offset = (off_t) sf[i].offset;
        f->size = f->offset;
        f->fp = sf[i].fp;
        f->fp_len = sf[i].fp_len;
        f->tfp = sf[i].tfp;
        f->tfp_len = sf[i].tfp_len;
        f->tfp_at = f->offset;
        f->skipping = sf[i].skipping;
        f->rotated = sf[i].rotated;
        f->restored = 1;
        if (sf[i].carry_len > 0) {
            carry_append(t, f, sf[i].carry, sf[i].carry_len);
        }
    }
    state_files_free(sf, n);
    t->have_state = 1;
    log_info("restored checkpoint %" PRIu64 " of %.0f: %zu series, %zu files"
             "%s", info.generation, info.saved_at, info.series, t->nfiles,
             info.skipped ? " (series of changed families dropped)" : "");
    return 0;
}


int
tail_start(tail_t *t)
{
    size_t  i, j;

    if (!t->cfg->tail.poll) {
        if (inotifytools_initialize() == 0) {
            log_warn("inotify unavailable (%s): polling every %.3f s",
                     strerror(inotifytools_error()),
                     t->cfg->tail.poll_interval);
        } else {
            t->inotify = 1;
        }
    }
    for (i = 0; i < t->cfg->ninputs; i++) {
        for (j = 0; j < t->cfg->inputs[i].npaths; j++) {
            watch_dir(t, t->cfg->inputs[i].paths[j]);
        }
    }
    scan(t);
    if (pthread_create(&t->thread, NULL, tail_main, t) != 0) {
        log_error("pthread_create() failed");
        return -1;
    }
    t->running = 1;
    return 0;
}


void
tail_stop(tail_t *t)
{
    if (!t->running) {
        return;
    }
    atomic_store(&t->stop, 1);
    pthread_join(t->thread, NULL);
    t->running = 0;
    checkpoint(t);
    if (t->inotify) {
        inotifytools_cleanup();
        t->inotify = 0;
    }
}


int
tail_swap(tail_t *t, const cfg_t *cfg, pipeline_t *pipe, store_t *store,
    dims_t *dims, int (*keep)(void *ctx, const char *family), void *ctx)
{
    struct swap  sw;

    memset(&sw, 0, sizeof(sw));
    sw.cfg = cfg;
    sw.pipe = pipe;
    sw.store = store;
    sw.dims = dims;
    sw.keep = keep;
    sw.ctx = ctx;
    if (!t->running) {
        return do_swap(t, &sw);
    }
    pthread_mutex_lock(&t->swap_lock);
    t->swap = &sw;
    while (!sw.done) {
        pthread_cond_wait(&t->swap_done, &t->swap_lock);
    }
    pthread_mutex_unlock(&t->swap_lock);
    return sw.done > 0 ? 0 : -1;
}


/* On the tail thread, between two chunks: carry the values of the
 * families that did not change into the new store, then follow the new
 * configuration.  No line is read in between, so none is lost or counted
 * twice. */
static int
do_swap(tail_t *t, struct swap *sw)
{
    store_family_t  *fams[4] = { t->f_rotations, t->f_lost,
                                 t->f_ckpt_errors, t->f_ckpt_corrupt };
    uint32_t         ids[2] = { t->id_ckpt_errors, t->id_ckpt_corrupt };
    store_snap_t    *snap = NULL;
    size_t           i, j, n;

    /* Lines waiting for a Redis lookup are counted in the old store. */
    store_lock(t->store);
    pipeline_flush(t->pipe);
    store_unlock(t->store);
    if (add_families(t, sw->store) != 0
        || (snap = store_snapshot(t->store)) == NULL)
    {
        /* Keep counting into the old store. */
        t->f_rotations = fams[0];
        t->f_lost = fams[1];
        t->f_ckpt_errors = fams[2];
        t->f_ckpt_corrupt = fams[3];
        t->id_ckpt_errors = ids[0];
        t->id_ckpt_corrupt = ids[1];
        return -1;
    }
    store_lock(sw->store);
    store_set_clock(sw->store, (uint32_t) mono());
    n = store_carry(sw->store, snap, sw->keep, sw->ctx);
    store_unlock(sw->store);
    store_snap_free(snap);

    pthread_mutex_lock(&t->files_lock);
    t->cfg = sw->cfg;
    t->pipe = sw->pipe;
    t->store = sw->store;
    t->dims = sw->dims;
    for (i = 0; i < t->nfiles; i++) {
        if (t->files[i]->input >= t->cfg->ninputs) {
            t->files[i]->input = 0;
        }
    }
    pthread_mutex_unlock(&t->files_lock);
    for (i = 0; i < t->cfg->ninputs; i++) {
        for (j = 0; j < t->cfg->inputs[i].npaths; j++) {
            watch_dir(t, t->cfg->inputs[i].paths[j]);
        }
    }
    t->last_scan = 0;                       /* scan the new globs now */
    log_info("configuration swapped in: %zu series carried over", n);
    return 0;
}


size_t
tail_files(tail_t *t, tail_file_info_t **out)
{
    tail_file_info_t  *fi;
    size_t             i, n;

    pthread_mutex_lock(&t->files_lock);
    n = t->nfiles;
    fi = calloc(n + 1, sizeof(*fi));
    for (i = 0; fi != NULL && i < n; i++) {
        fi[i].path = strdup(t->files[i]->path);
        fi[i].offset = atomic_load(&t->files[i]->pub_offset);
        fi[i].size = atomic_load(&t->files[i]->pub_size);
        fi[i].open = atomic_load(&t->files[i]->pub_open);
        fi[i].rotated = t->files[i]->rotated;
    }
    pthread_mutex_unlock(&t->files_lock);
    *out = fi;
    return fi != NULL ? n : 0;
}


void
tail_files_free(tail_file_info_t *files, size_t n)
{
    size_t  i;

    for (i = 0; files != NULL && i < n; i++) {
        free(files[i].path);
    }
    free(files);
}


double
tail_last_event_time(tail_t *t)
{
    double  ev;

    pthread_mutex_lock(&t->files_lock);
    ev = pipeline_last_event_time(t->pipe);
    pthread_mutex_unlock(&t->files_lock);
    return ev;
}


void
tail_write_metrics(tail_t *t, buf_t *b)
{
    char     num[EXPO_DOUBLE_LEN];
    double   ev, ck;
    size_t   i, j, open = 0;
    int      dup;
    tfile_t *f;

    pthread_mutex_lock(&t->files_lock);
    for (i = 0; i < t->nfiles; i++) {
        open += (size_t) atomic_load(&t->files[i]->pub_open);
    }
    expo_write_header(b, "gwlog_open_files", "Input files held open.",
                      "gauge");
    buf_printf(b, "gwlog_open_files %zu\n", open);
    expo_write_header(b, "gwlog_file_offset_bytes", "Bytes of each followed "
                      "file read so far.", "gauge");
    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        for (j = 0, dup = 0; j < i && !dup; j++) {
            dup = strcmp(t->files[j]->path, f->path) == 0
                  && !t->files[j]->rotated;
        }
        if (f->rotated || dup) {
            continue;                       /* one series per path */
        }
        buf_puts(b, "gwlog_file_offset_bytes{path=\"");
        expo_write_label_value(b, f->path, strlen(f->path));
        buf_printf(b, "\"} %" PRId64 "\n", atomic_load(&f->pub_offset));
    }
    expo_write_header(b, "gwlog_file_size_bytes", "Size of each followed "
                      "file when last checked.", "gauge");
    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        for (j = 0, dup = 0; j < i && !dup; j++) {
            dup = strcmp(t->files[j]->path, f->path) == 0
                  && !t->files[j]->rotated;
        }
        if (f->rotated || dup) {
            continue;
        }
        buf_puts(b, "gwlog_file_size_bytes{path=\"");
        expo_write_label_value(b, f->path, strlen(f->path));
        buf_printf(b, "\"} %" PRId64 "\n", atomic_load(&f->pub_size));
    }
    ev = pipeline_last_event_time(t->pipe);
    pthread_mutex_unlock(&t->files_lock);

    if (ev > 0) {
        struct timespec  now;

        clock_gettime(CLOCK_REALTIME, &now);
        expo_write_header(b, "gwlog_event_lag_seconds", "Now minus the event "
                          "time of the last valid line read.", "gauge");
        expo_format_double(num, (double) now.tv_sec + now.tv_nsec / 1e9 - ev);
        buf_printf(b, "gwlog_event_lag_seconds %s\n", num);
    }
    ck = atomic_load(&t->ckpt_time);
    if (ck > 0) {
        expo_write_header(b, "gwlog_last_checkpoint_timestamp_seconds",
                          "Unix time of the last checkpoint written.",
                          "gauge");
        expo_format_double(num, ck);
        buf_printf(b, "gwlog_last_checkpoint_timestamp_seconds %s\n", num);
    }
}


static void *
tail_main(void *arg)
{
    tail_t                *t = arg;
    struct inotify_event  *ev;
    struct timespec        ts;
    double                 now, every;
    size_t                 i;
    int                    scan_now = 0;

    while (!atomic_load(&t->stop)) {
        pthread_mutex_lock(&t->swap_lock);
        if (t->swap != NULL) {
            t->swap->done = do_swap(t, t->swap) == 0 ? 1 : -1;
            t->swap = NULL;
            pthread_cond_broadcast(&t->swap_done);
        }
        pthread_mutex_unlock(&t->swap_lock);
        every = t->inotify ? SCAN_INTERVAL : t->cfg->tail.poll_interval;
        for (i = 0; i < t->nfiles; i++) {
            file_drain(t, t->files[i]);
        }
        now = mono();
        if (scan_now || now - t->last_scan >= every) {
            scan(t);
            scan_now = 0;
        }
        /* A due checkpoint waits (at most one Redis wait) for lines
         * waiting on a lookup, so that it rarely has to flush them. */
        if (t->state != NULL
            && now - t->last_ckpt >= t->cfg->tail.checkpoint_interval
            && (pipeline_pending(t->pipe) == 0
                || now - t->last_ckpt >= t->cfg->tail.checkpoint_interval
                                         + pipeline_max_wait(t->pipe)))
        {
            checkpoint(t);
        }
        if (now - t->last_dims >= 1.0) {
            t->last_dims = now;
            /* Idle series of families with series_ttl. */
            store_lock(t->store);
            store_set_clock(t->store, (uint32_t) now);
            store_expire(t->store);
            store_unlock(t->store);
            if (t->dims != NULL && dims_reload_if_changed(t->dims) > 0) {
                log_info("dimension tables reloaded");
            }
        }
        if (t->inotify) {
            /* Whole seconds only; returns at once when an event is
             * queued.  Events are hints: the next pass reads and scans. */
            ev = inotifytools_next_event(1);
            if (ev != NULL && (ev->mask & (SCAN_EVENTS | IN_Q_OVERFLOW))) {
                scan_now = 1;
            }
        } else {
            ts.tv_sec = (time_t) t->cfg->tail.poll_interval;
            ts.tv_nsec = (long) ((t->cfg->tail.poll_interval
                                  - (double) ts.tv_sec) * 1e9);
            nanosleep(&ts, NULL);
        }
    }
    for (i = 0; i < t->nfiles; i++) {
        file_drain(t, t->files[i]);
    }
    return NULL;
}


/* Matches the files under the globs with the ones we follow, by identity.
 * See the scenarios at the top of this file. */
static void
scan(tail_t *t)
{
    match_t      *m = NULL;
    tfile_t      *f;
    struct stat   st;
    size_t        nm, i, j;
    off_t         old_size;
    double        now = mono();
    int           found;

    t->last_scan = now;
    nm = glob_inputs(t, &m);

    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        found = 0;
        old_size = f->size;
        for (j = 0; j < nm && !found; j++) {
            if (!m[j].used && m[j].st.st_dev == f->dev
                && m[j].st.st_ino == f->ino)
            {
                found = 1;
                m[j].used = 1;
                if (strcmp(f->path, m[j].path) != 0) {
                    pthread_mutex_lock(&t->files_lock);
                    free(f->path);
                    f->path = m[j].path;
                    m[j].path = NULL;
                    pthread_mutex_unlock(&t->files_lock);
                }
                if (f->rotated && !f->restored) {
                    f->rotated = 0;         /* moved back under a glob */
                }
                f->input = m[j].input;
                f->size = m[j].st.st_size;
            }
        }
        if (found && f->fd < 0) {
            /* A restored file, or an idle one we closed: reopen when it
             * holds unread bytes, checking it is still the same file. */
            if (!f->restored && f->size == f->offset) {
                continue;
            }
            if (file_open_path(f, f->path) != 0) {
                continue;
            }
            if (f->size < f->offset || !position_matches(f, f->fd)) {
                /* Same inode, other content: truncated while we were
                 * stopped or closed (the copy may hold the rest), or the
                 * inode was reused by a new file.  What the old content
                 * held past our offset is unknown: lost counts 0 more. */
                log_info("%s: same inode, new content: reading it from its "
                         "start", f->path);
                off_t  size = f->size;

                f->size = f->offset;
                file_truncated(t, f, size, 0);
            }
            f->restored = 0;
            f->rotated = 0;
            continue;
        }
        if (found) {
            /* Content replaced in place (truncated and rewritten past our
             * offset before we looked) shows in the first bytes. */
            if (f->size >= f->offset && !position_matches(f, f->fd)) {
                off_t  size = f->size;

                f->size = old_size;
                file_truncated(t, f, size, 0);
            }
            continue;
        }
        if (f->restored || (f->fd < 0 && !f->rotated)) {
            /* Rotated away while we were stopped, or while closed. */
            f->restored = 0;
            if (locate_rotated(t, f) == 0) {
                file_remove(t, i--);
            }
            continue;
        }
        if (!f->rotated) {
            f->rotated = 1;
            f->last_growth = now;
            count_rotation(t, f->path, "rename");
            log_info("%s was renamed or deleted: reading the old file for "
                     "%.0f s more", f->path, t->cfg->tail.rotate_wait);
        }
    }

    /* Rotated files: closed once read to their end and quiet for
     * rotate_wait. */
    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        if (!f->rotated || f->fd < 0) {
            continue;
        }
        if (fstat(f->fd, &st) != 0 || st.st_size > f->offset) {
            continue;
        }
        /* Deleted or not: a writer that has not reopened yet may still
         * append to it, so it stays open until quiet for rotate_wait. */
        if (now - f->last_growth >= t->cfg->tail.rotate_wait) {
            file_remove(t, i--);
        }
    }

    /* New files. */
    for (j = 0; j < nm; j++) {
        if (m[j].used) {
            continue;
        }
        f = file_new(t, m[j].path, m[j].input);
        if (f == NULL || file_open_path(f, f->path) != 0) {
            if (f != NULL) {
                file_remove(t, t->nfiles - 1);
            }
            continue;
        }
        if (t->first_scan && !t->have_state
            && t->cfg->inputs[m[j].input].start_at == CFG_START_END)
        {
            f->offset = m[j].st.st_size;
            fp_update(f);
        }
        log_info("following %s from offset %lld", f->path,
                 (long long) f->offset);
    }
    for (j = 0; j < nm; j++) {
        free(m[j].path);
    }
    free(m);
    t->first_scan = 0;
    limit_open_files(t);
}


/* Regular files under every input's globs, each path once. */
static size_t
glob_inputs(tail_t *t, match_t **out)
{
    const cfg_input_t  *in;
    match_t            *m = NULL, *more;
    glob_t              g;
    struct stat         st;
    size_t              n = 0, cap = 0, i, j, k, d;
    int                 dup;

    for (i = 0; i < t->cfg->ninputs; i++) {
        in = &t->cfg->inputs[i];
        for (j = 0; j < in->npaths; j++) {
            if (glob(in->paths[j], 0, NULL, &g) != 0) {
                continue;
            }
            for (k = 0; k < g.gl_pathc; k++) {
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) {
                    continue;
                }
                for (d = 0, dup = 0; d < n && !dup; d++) {
                    dup = strcmp(m[d].path, g.gl_pathv[k]) == 0;
                }
                if (dup) {
                    continue;
                }
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    more = realloc(m, cap * sizeof(match_t));
                    if (more == NULL) {
                        break;
                    }
                    m = more;
                }
                m[n].path = strdup(g.gl_pathv[k]);
                if (m[n].path == NULL) {
                    break;
                }
                m[n].input = i;
                m[n].st = st;
                m[n].used = 0;
                n++;
            }
            globfree(&g);
        }
    }
    *out = m;
    return n;
}


static tfile_t *
file_new(tail_t *t, const char *path, size_t input)
{
    tfile_t   *f, **files;
    size_t     cap;

    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return NULL;
    }
    f->input = input;
    f->fd = -1;
    f->last_growth = f->last_active = mono();
    pthread_mutex_lock(&t->files_lock);
    if (t->nfiles == t->cap) {
        cap = t->cap ? t->cap * 2 : 16;
        files = realloc(t->files, cap * sizeof(tfile_t *));
        if (files == NULL) {
            pthread_mutex_unlock(&t->files_lock);
            free(f->path);
            free(f);
            return NULL;
        }
        t->files = files;
        t->cap = cap;
    }
    t->files[t->nfiles++] = f;
    pthread_mutex_unlock(&t->files_lock);
    return f;
}


static void
file_remove(tail_t *t, size_t i)
{
    tfile_t  *f = t->files[i];

    pthread_mutex_lock(&t->files_lock);
    memmove(&t->files[i], &t->files[i + 1],
            (t->nfiles - i - 1) * sizeof(tfile_t *));
    t->nfiles--;
    pthread_mutex_unlock(&t->files_lock);
    if (f->carry_len > 0 || f->skipping) {
        /* An unfinished line at the very end of a file that is gone: it
         * will never be completed.  Count it once. */
        store_lock(t->store);
        flush_last(t, f);
        store_unlock(t->store);
    }
    file_close(f);
    free(f->path);
    free(f->carry);
    free(f);
}


/* Opens path for f, which must be (or become) the file at that path; sets
 * the identity from the opened descriptor. */
static int
file_open_path(tfile_t *f, const char *path)
{
    struct stat  st;

    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        log_error("open() of %s failed: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(f->fd, &st) != 0) {
        log_error("fstat() of %s failed: %s", path, strerror(errno));
        file_close(f);
        return -1;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->last_active = mono();
    publish(f);
    return 0;
}


static void
file_close(tfile_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    atomic_store(&f->pub_open, 0);
}


/* Reads f from its offset to its end.  Returns 0, or -1 on a read error. */
static int
file_drain(tail_t *t, tfile_t *f)
{
    struct stat  st;
    ssize_t      n;

    if (f->fd < 0) {
        return 0;
    }
    if (fstat(f->fd, &st) == 0) {
        if (st.st_size < f->offset) {
            file_truncated(t, f, st.st_size, 1);
        }
        f->size = st.st_size;
        if (st.st_size == f->offset) {
            publish(f);
            return 0;
        }
        if (t->one_shot) {
            file_drain_mapped(t, f, st.st_size);
        }
    }
    for (;;) {
        n = pread(f->fd, t->buf, READ_CHUNK, f->offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            log_error("read() of %s failed: %s", f->path, strerror(errno));
            return -1;
        }
        if (n == 0) {
            break;
        }
        store_lock(t->store);
        f->offset += n;
        pipeline_bytes(t->pipe, (uint64_t) n);
        feed(t, f, t->buf, (size_t) n);
        store_unlock(t->store);
        f->last_growth = f->last_active = mono();
        if (f->offset > f->size) {
            f->size = f->offset;
        }
        if (atomic_load(&t->stop) && t->running) {
            break;
        }
    }
    fp_update(f);
    tfp_update(f);
    publish(f);
    return 0;
}


/* --one-shot reads f up to end through a mapping, READ_CHUNK bytes of
 * lines per store lock as file_drain() does, instead of copying the bytes
 * with pread(): the copy was a quarter of the time on 4-5 KB lines.  Only
 * --one-shot does this: a file truncated while mapped raises SIGBUS on
 * access, which the live tailer (copytruncate) must survive, so it keeps
 * pread().  Here a file shrinking under us ends the process with a
 * message (on_sigbus).  If mmap() fails, the pread() loop of the caller
 * reads the rest, as it reads whatever was appended after end. */
static void
file_drain_mapped(tail_t *t, tfile_t *f, off_t end)
{
    static int        handler;
    struct sigaction  sa;
    long              pg = sysconf(_SC_PAGESIZE);
    off_t             base;
    size_t            len, at, n;
    char             *m;

    if (!handler) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigbus;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, NULL);
        handler = 1;
    }
    while (f->offset < end) {
        base = f->offset - f->offset % pg;
        len = (size_t) (end - base < MAP_WINDOW ? end - base : MAP_WINDOW);
        m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, f->fd, base);
        if (m == MAP_FAILED) {
            return;
        }
        (void) madvise(m, len, MADV_SEQUENTIAL);
        (void) madvise(m, len, MADV_WILLNEED);
        for (at = (size_t) (f->offset - base); at < len; at += n) {
            n = len - at < READ_CHUNK ? len - at : READ_CHUNK;
            store_lock(t->store);
            f->offset += (off_t) n;
            pipeline_bytes(t->pipe, (uint64_t) n);
            feed(t, f, m + at, n);
            store_unlock(t->store);
        }
        munmap(m, len);
        if (f->offset > f->size) {
            f->size = f->offset;
        }
    }
}


static void
on_sigbus(int sig)
{
    static const char  msg[] = "gwlog_exporter: an input file shrank while "
                               "--one-shot read it (SIGBUS)\n";

    (void) sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* Nothing more to do. */
    }
    _exit(1);
}


/* f's file is now shorter than what we read, or its first bytes changed:
 * recover the unread bytes from a rotated copy, then read it from 0.
 * f->size must still be the last size seen of the old content.  When no
 * copy holds the rest and we had read everything, an unfinished line may
 * still end in what the writer appends next (copytruncate with an
 * O_APPEND writer), so it is kept if keep_carry is set. */
static void
file_truncated(tail_t *t, tfile_t *f, off_t size, int keep_carry)
{
    uint64_t  lost;

    if (recover_copy(t, f, 0)) {
        count_rotation(t, f->path, "copytruncate");
        log_info("%s was truncated (copytruncate): read the rest of the old "
                 "content from its rotated copy", f->path);
    } else {
        lost = f->size > f->offset ? (uint64_t) (f->size - f->offset) : 0;
        if (lost > 0 || !keep_carry) {
            lost += f->carry_len;
            f->carry_len = 0;
            f->skipping = 0;
        }
        count_lost(t, f->path, lost);
        count_rotation(t, f->path, "truncate");
        log_warn("%s was truncated and no rotated copy matches: %" PRIu64
                 " unread bytes lost (at least)", f->path, lost);
    }
    f->offset = 0;
    f->size = size;
    f->fp_len = 0;
    f->fp = 0;
    f->tfp_len = 0;
    f->tfp = 0;
    f->tfp_at = 0;
}


/* Looks for the rotated copy of f's old content (the input's "rotated"
 * patterns with {path} replaced, plain or gzip) whose first bytes match
 * f's fingerprint, and reads it from f's offset to its end.  A copy with
 * the same inode as f is skipped unless same_inode_ok.  Returns 1 when
 * one was read. */
static int
recover_copy(tail_t *t, tfile_t *f, int same_inode_ok)
{
    const cfg_input_t  *in = &t->cfg->inputs[f->input];
    struct stat         st;
    char               *pat, head[FP_MAX];
    glob_t              g;
    gzFile              gz;
    size_t              i, k;
    int                 n, fd, found = 0;

    if (f->fp_len == 0) {
        return 0;                           /* nothing to recognise it by */
    }
    tfp_update(f);                          /* pin the offset if we can */
    if (f->tfp_at != f->offset) {
        f->tfp_len = 0;
    }
    for (i = 0; i < in->nrotated && !found; i++) {
        pat = expand(in->rotated[i], f->path);
        if (pat == NULL || glob(pat, 0, NULL, &g) != 0) {
            free(pat);
            continue;
        }
        free(pat);
        for (k = 0; k < g.gl_pathc && !found; k++) {
            if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)
                || (!same_inode_ok && st.st_dev == f->dev
                    && st.st_ino == f->ino))
            {
                continue;
            }
            fd = open(g.gl_pathv[k], O_RDONLY | O_CLOEXEC);
            if (fd < 0 || (gz = gzdopen(fd, "rb")) == NULL) {
                if (fd >= 0) {
                    close(fd);
                }
                continue;
            }
            /* The same content (first bytes) at the same place (the bytes
             * before our offset): an older copy that merely starts alike
             * is not taken. */
            n = gzread(gz, head, f->fp_len);
            if (n != (int) f->fp_len
                || hash_bytes(head, f->fp_len, 0) != f->fp
                || gzseek(gz, f->offset - (off_t) f->tfp_len, SEEK_SET)
                   != f->offset - (off_t) f->tfp_len
                || gzread(gz, head, f->tfp_len) != (int) f->tfp_len
                || (f->tfp_len > 0
                    && hash_bytes(head, f->tfp_len, 0) != f->tfp))
            {
                gzclose(gz);
                continue;
            }
            found = 1;
            log_debug("reading %s from offset %lld", g.gl_pathv[k],
                      (long long) f->offset);
            while ((n = gzread(gz, t->buf, READ_CHUNK)) > 0) {
                store_lock(t->store);
                pipeline_bytes(t->pipe, (uint64_t) n);
                feed(t, f, t->buf, (size_t) n);
                store_unlock(t->store);
            }
            gzclose(gz);
        }
        globfree(&g);
    }
    return found;
}


/* f is no longer under its glob path and we hold no descriptor: find it
 * among its rotated names.  By inode (it is followed again, as rotated),
 * else by fingerprint (a compressed copy: read to its end now).  Returns 0
 * when nothing was found (what it still held is lost: logged). */
static int
locate_rotated(tail_t *t, tfile_t *f)
{
    const cfg_input_t  *in = &t->cfg->inputs[f->input];
    struct stat         st;
    glob_t              g;
    char               *pat;
    size_t              i, k;

    for (i = 0; i < in->nrotated; i++) {
        pat = expand(in->rotated[i], f->path);
        if (pat == NULL || glob(pat, 0, NULL, &g) != 0) {
            free(pat);
            continue;
        }
        free(pat);
        for (k = 0; k < g.gl_pathc; k++) {
            if (stat(g.gl_pathv[k], &st) != 0 || st.st_dev != f->dev
                || st.st_ino != f->ino)
            {
                continue;
            }
            if (file_open_path(f, g.gl_pathv[k]) == 0
                && position_matches(f, f->fd))
            {
                log_info("%s was rotated to %s: reading it to its end",
                         f->path, g.gl_pathv[k]);
                globfree(&g);
                if (!f->rotated) {
                    count_rotation(t, f->path, "rename");
                }
                f->rotated = 1;
                f->last_growth = mono();
                return 1;
            }
            file_close(f);
        }
        globfree(&g);
    }
    if (recover_copy(t, f, 1)) {
        if (!f->rotated) {
            count_rotation(t, f->path, "rename");
        }
        log_info("%s was rotated and compressed: read the rest from the "
                 "copy", f->path);
        return 0;
    }
    log_warn("%s (inode %llu) is gone and none of its rotated names holds "
             "it: what it held past offset %lld is lost", f->path,
             (unsigned long long) f->ino, (long long) f->offset);
    return 0;
}


/* Hash of the first len bytes of fd; 0 when it holds fewer. */
static int
fp_compute(int fd, uint32_t len, uint64_t *fp)
{
    char     head[FP_MAX];
    ssize_t  n;

    n = pread(fd, head, len, 0);
    if (n != (ssize_t) len) {
        return -1;
    }
    *fp = hash_bytes(head, len, 0);
    return 0;
}


/* Extends the fingerprint while the file is shorter than FP_MAX. */
static void
fp_update(tfile_t *f)
{
    uint32_t  len;

    if (f->fd < 0 || f->fp_len >= FP_MAX || f->offset <= (off_t) f->fp_len) {
        return;
    }
    len = f->offset < FP_MAX ? (uint32_t) f->offset : FP_MAX;
    if (fp_compute(f->fd, len, &f->fp) == 0) {
        f->fp_len = len;
    }
}


static int
fp_matches(tfile_t *f, int fd)
{
    uint64_t  fp;

    if (f->fp_len == 0) {
        return 1;
    }
    return fp_compute(fd, f->fp_len, &fp) == 0 && fp == f->fp;
}


/* Hashes the (up to FP_MAX) bytes before the offset, once per offset.
 * With the head fingerprint it tells "the same file, and still holding
 * what we read up to here" from a file that was truncated and grew again,
 * or a copy that only starts alike (a short head fingerprint of a freshly
 * truncated file can match every generation). */
static void
tfp_update(tfile_t *f)
{
    char      buf[FP_MAX];
    uint32_t  len;

    if (f->fd < 0 || f->tfp_at == f->offset) {
        return;
    }
    len = f->offset < FP_MAX ? (uint32_t) f->offset : FP_MAX;
    if (pread(f->fd, buf, len, f->offset - (off_t) len) == (ssize_t) len) {
        f->tfp = hash_bytes(buf, len, 0);
        f->tfp_len = len;
        f->tfp_at = f->offset;
    }
}


/* Whether fd still holds, at f's offset, what f read: the first bytes and
 * the bytes just before the offset. */
static int
position_matches(tfile_t *f, int fd)
{
    char  buf[FP_MAX];

    if (!fp_matches(f, fd)) {
        return 0;
    }
    if (f->tfp_len == 0 || f->tfp_at != f->offset) {
        return 1;
    }
    return pread(fd, buf, f->tfp_len, f->offset - (off_t) f->tfp_len)
               == (ssize_t) f->tfp_len
           && hash_bytes(buf, f->tfp_len, 0) == f->tfp;
}


/* Splits n bytes into lines, completing the carried partial line first.
 * The caller holds the store lock. */
static void
feed(tail_t *t, tfile_t *f, const char *p, size_t n)
{
    const char  *end = p + n, *nl;
    size_t       max = t->cfg->max_line_bytes;

    if (f->carry_len > 0 || f->skipping) {
        nl = memchr(p, '\n', n);
        if (nl == NULL) {
            carry_append(t, f, p, n);
            return;
        }
        if (!f->skipping) {
            carry_append(t, f, p, (size_t) (nl - p));
        }
        if (f->skipping) {
            pipeline_invalid(t->pipe, "too_long");
            f->skipping = 0;
        } else {
            pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
        }
        f->carry_len = 0;
        p = nl + 1;
    }
    while (p < end && (nl = memchr(p, '\n', (size_t) (end - p))) != NULL) {
        if ((size_t) (nl - p) > max) {
            pipeline_invalid(t->pipe, "too_long");
        } else {
            pipeline_line(t->pipe, f->input, p, (size_t) (nl - p));
        }
        p = nl + 1;
    }
    if (p < end) {
        carry_append(t, f, p, (size_t) (end - p));
    }
}


/* At the end of a file that will not grow (--one-shot, or a rotated file
 * that is gone), a last line without newline counts. */
static void
flush_last(tail_t *t, tfile_t *f)
{
    int  own = !t->running;

    if (own) {
        store_lock(t->store);
    }
    if (f->skipping) {
        pipeline_invalid(t->pipe, "too_long");
    } else if (f->carry_len > 0) {
        pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
    }
    f->carry_len = 0;
    f->skipping = 0;
    if (own) {
        store_unlock(t->store);
    }
}


/* Keeps bytes of an unfinished line; past max_line_bytes the line is
 * dropped and the rest of it skipped up to its newline. */
static void
carry_append(tail_t *t, tfile_t *f, const char *p, size_t n)
{
    size_t  cap;
    char   *c;

    if (f->skipping) {
        return;
    }
    if (f->carry_len + n > t->cfg->max_line_bytes) {
        f->skipping = 1;
        f->carry_len = 0;
        return;
    }
    if (f->carry_len + n > f->carry_cap) {
        cap = f->carry_cap ? f->carry_cap : 8192;
        while (cap < f->carry_len + n) {
            cap *= 2;
        }
        c = realloc(f->carry, cap);
        if (c == NULL) {
            f->skipping = 1;
            f->carry_len = 0;
            return;
        }
        f->carry = c;
        f->carry_cap = cap;
    }
    memcpy(f->carry + f->carry_len, p, n);
    f->carry_len += n;
}


/* Saves offsets, unfinished lines and every series value together.  This
 * thread is the store's only writer, so the snapshot matches the offsets.
 * A failure is counted and logged once; ingestion goes on. */
static void
checkpoint(tail_t *t)
{
    state_file_t    *sf;
    store_snap_t    *snap;
    struct timespec  now;
    char             err[512];
    size_t           i;
    int              rc = -1;

    t->last_ckpt = mono();
    if (t->state == NULL) {
        return;
    }
    /* Lines waiting for a Redis lookup are counted first (pipeline.c,
     * "Waiting lines"), so that the snapshot matches the offsets. */
    store_lock(t->store);
    pipeline_flush(t->pipe);
    store_unlock(t->store);
    sf = calloc(t->nfiles + 1, sizeof(state_file_t));
    snap = store_snapshot(t->store);
    if (sf == NULL || snap == NULL) {
        snprintf(err, sizeof(err), "out of memory");
    } else {
        for (i = 0; i < t->nfiles; i++) {
            tfile_t  *f = t->files[i];

            sf[i].path = f->path;
            sf[i].input = f->input;
            sf[i].dev = (uint64_t) f->dev;
            sf[i].ino = (uint64_t) f->ino;
            sf[i].offset = (uint64_t) f->offset;
            sf[i].fp = f->fp;
            sf[i].fp_len = f->fp_len;
            tfp_update(f);
            sf[i].tfp = f->tfp_at == f->offset ? f->tfp : 0;
            sf[i].tfp_len = f->tfp_at == f->offset ? f->tfp_len : 0;
            sf[i].skipping = f->skipping;
            sf[i].rotated = f->rotated;
            sf[i].carry = f->carry;
            sf[i].carry_len = f->carry_len;
        }
        rc = state_save(t->state, snap, sf, t->nfiles, err, sizeof(err));
    }
    free(sf);
    store_snap_free(snap);
    if (rc != 0) {
        store_lock(t->store);
        store_add(t->f_ckpt_errors, t->id_ckpt_errors, 1);
        store_unlock(t->store);
        if (!t->ckpt_failing) {
            log_error("checkpoint failed (ingestion goes on; counted in "
                      "gwlog_checkpoint_errors_total): %s", err);
        }
        t->ckpt_failing = 1;
        return;
    }
    if (t->ckpt_failing) {
        log_info("checkpoints are written again");
    }
    t->ckpt_failing = 0;
    clock_gettime(CLOCK_REALTIME, &now);
    atomic_store(&t->ckpt_time, (double) now.tv_sec + now.tv_nsec / 1e9);
}


static void
count_rotation(tail_t *t, const char *path, const char *kind)
{
    strv_t  v[2] = { { path, strlen(path) }, { kind, strlen(kind) } };

    store_lock(t->store);
    store_add(t->f_rotations, store_series(t->f_rotations, v), 1);
    store_unlock(t->store);
}


static void
count_lost(tail_t *t, const char *path, uint64_t n)
{
    strv_t  v = { path, strlen(path) };

    store_lock(t->store);
    store_add(t->f_lost, store_series(t->f_lost, &v), n);
    store_unlock(t->store);
}


static void
publish(tfile_t *f)
{
    atomic_store(&f->pub_offset, (int64_t) f->offset);
    atomic_store(&f->pub_size, (int64_t) f->size);
    atomic_store(&f->pub_open, f->fd >= 0);
}


/* Closes the least recently active idle files beyond max_open_files; the
 * scan reopens a closed file when it grows. */
static void
limit_open_files(tail_t *t)
{
    tfile_t  *f, *oldest;
    size_t    i, open = 0;

    for (i = 0; i < t->nfiles; i++) {
        open += t->files[i]->fd >= 0;
    }
    while (open > t->cfg->tail.max_open_files) {
        oldest = NULL;
        for (i = 0; i < t->nfiles; i++) {
            f = t->files[i];
            if (f->fd >= 0 && !f->rotated && f->offset == f->size
                && (oldest == NULL || f->last_active < oldest->last_active))
            {
                oldest = f;
            }
        }
        if (oldest == NULL) {
            break;                          /* every open file is busy */
        }
        file_close(oldest);
        open--;
    }
}


/* Watches the directory of a glob when the directory part is literal;
 * otherwise the scan finds new files. */
static void
watch_dir(tail_t *t, const char *glob_path)
{
    char    *copy, *dir, **dirs;
    size_t   i;
    int      err;

    if (!t->inotify) {
        return;
    }
    copy = strdup(glob_path);
    if (copy == NULL) {
        return;
    }
    dir = dirname(copy);
    for (i = 0; i < t->ndirs && !has_glob(dir); i++) {
        if (strcmp(t->dirs[i], dir) == 0) {
            break;
        }
    }
    if (has_glob(dir) || i < t->ndirs) {
        free(copy);
        return;
    }
    if (!inotifytools_watch_file(dir, DIR_EVENTS)) {
        err = inotifytools_error();
        log_warn("inotify_add_watch() of %s failed: %s%s; it is scanned every "
                 "second", dir, strerror(err), err == ENOSPC
                 ? " (the user limit on the total number of inotify watches "
                   "was reached)" : "");
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


static int
has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}


static double
mono(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}


/* pattern with every "{path}" replaced by path; the caller frees it. */
static char *
expand(const char *pattern, const char *path)
{
    buf_t        b = { 0 };
    const char  *p = pattern, *q;
    size_t       len;

    while ((q = strstr(p, "{path}")) != NULL) {
        buf_append(&b, p, (size_t) (q - p));
        buf_puts(&b, path);
        p = q + 6;
    }
    buf_puts(&b, p);
    return buf_detach(&b, &len);
}
