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

#include "labels/expo.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"


#define READ_CHUNK      (1024 * 1024)
#define MAP_WINDOW      (64 * 1024 * 1024)  /* --one-shot: bytes mapped at once */
#define FP_MAX          STATE_FP_MAX    /* bytes in a fingerprint */
#define SCAN_INTERVAL   1.0             /* seconds, with inotify */
#define DIR_EVENTS      (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM \
                         | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)
#define SCAN_EVENTS     (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)
#define GENS_INTERVAL   10.0            /* seconds between generation scans
                                         * when nothing asked for one */
#define HORIZON_SLACK   2.0             /* seconds: coarse file clocks */
#define MISSING_GRACE   2.0             /* seconds a closed record may be
                                         * missing before it is given up */

/* What a record is (tfile_t.rotated; checkpoints store the number). */
enum {
    K_LIVE = 0,                         /* under an input glob */
    K_ROTATED = 1,                      /* renamed away, still read */
    K_DONE = 2                          /* a generation read to its end (or
                                         * older than our horizon), kept
                                         * to know it and its copies */
};

/* What verify_copy() finds. */
enum { V_NONE, V_PREFIX, V_AT, V_LONGER, V_UNSURE };

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
    atomic_int       rotated;       /* K_LIVE, K_ROTATED or K_DONE; read
                                     * by the metrics thread */
    int              restored;      /* from a checkpoint, not yet seen */
    int              gz;            /* K_DONE: a gzip file */
    off_t            disk_size;     /* K_DONE: st_size and mtime when */
    int64_t          mtime_ns;      /*   last checked */
    unsigned         born;          /* scan that created it */
    double           missing_since; /* closed and not found since then
                                     * (monotonic seconds; 0: found) */
    struct match    *match;         /* during a scan: its candidate */
    double           last_growth;   /* monotonic seconds */
    double           last_active;
    _Atomic int64_t  pub_offset;    /* for the metrics thread */
    _Atomic int64_t  pub_size;
    atomic_int       pub_open;
} tfile_t;

/* A file found by a scan: under an input glob (live) or a generation
 * under a "rotated" pattern of a live path. */
typedef struct match {
    char            *path;
    size_t           input;
    struct stat      st;
    int              used;          /* paired with a record */
    int              live;
} match_t;

/* The first bytes of a candidate, decompressed if it is gzip. */
typedef struct {
    char             head[FP_MAX];
    uint32_t         head_len;
    int              gz;
} probe_t;

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
    int              gens_due;      /* a generation scan is needed */
    unsigned         scan_seq;
    double           horizon;       /* unix time: unknown generations
                                     * last written before are not read */
    double           last_gens;
    int              ckpt_failing;
    double           last_scan, last_ckpt, last_dims;
    _Atomic double   ckpt_time;     /* unix time of the last checkpoint */

    store_family_t  *f_rotations;
    store_family_t  *f_lost;
    store_family_t  *f_files_lost;
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
static void scan(tail_t *t, int gens);
static void match_identities(tail_t *t, match_t *m, size_t nm);
static int scan_found(tail_t *t, tfile_t *f, match_t *c, double now);
static int scan_found_done(tail_t *t, tfile_t *f, match_t *c, double now);
static void scan_take_path(tail_t *t, tfile_t *f, match_t *c);
static int scan_relocate(tail_t *t, tfile_t *f, match_t *m, size_t nm);
static void scan_gone(tail_t *t, tfile_t *f);
static void scan_new_live(tail_t *t, match_t *c);
static void scan_new_generation(tail_t *t, match_t *c);
static void register_copy(tail_t *t, match_t *c, const probe_t *p,
    const tfile_t *like);
static void file_done(tail_t *t, tfile_t *f, const struct stat *st);
static size_t glob_generations(tail_t *t, match_t **mp, size_t nm);
static int probe_head(const char *path, probe_t *p);
static int verify_copy(const tfile_t *f, const char *path,
    const probe_t *p);
static int head_matches(tfile_t *f, const char *path);
static int head_prefix_of(const tfile_t *f, const probe_t *p);
static int gz_complete(const char *path);
static int64_t read_copy(tail_t *t, tfile_t *f, const char *path,
    off_t from, int *complete);
static int64_t st_mtime_ns(const struct stat *st);
static int restore_check(void *ctx, const state_file_t *files, size_t n,
    double saved_at);
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
static int recover_copy(tail_t *t, tfile_t *f);
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
    store_set_clock(store, (uint32_t) clock_mono());
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
    def.help = "Bytes no reader could read any more: removed by a "
               "truncation without a copy, written in copytruncate's "
               "window, or held unread by a file that vanished (a lower "
               "bound).";
    def.labels = path_label;
    def.nlabels = 1;
    t->f_lost = store_family_add(store, &def);
    def.name = "gwlog_files_lost_total";
    def.help = "Followed files whose content vanished (deleted, or rotated "
               "out of every \"rotated\" pattern) before the exporter could "
               "read them to their end; what they held past the last "
               "checkpoint is unknown.";
    t->f_files_lost = store_family_add(store, &def);
    def.name = "gwlog_checkpoint_errors_total";
    def.help = "Checkpoints that could not be written (ingestion goes on).";
    def.labels = NULL;
    def.nlabels = 0;
    t->f_ckpt_errors = store_family_add(store, &def);
    def.name = "gwlog_checkpoint_corrupt_total";
    def.help = "Checkpoint files found torn or corrupt at start; the "
               "previous good one was used.";
    t->f_ckpt_corrupt = store_family_add(store, &def);
    if (!t->f_rotations || !t->f_lost || !t->f_files_lost || !t->f_ckpt_errors
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
                store_lock(t->store);
                flush_last(t, f);
                store_unlock(t->store);
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
    rc = state_load(t->state, t->store, restore_check, t, &sf, &n, &info);
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
        f->rotated = sf[i].rotated <= K_DONE ? sf[i].rotated : K_DONE;
        f->restored = 1;
        if (sf[i].carry_len > 0) {
            carry_append(t, f, sf[i].carry, sf[i].carry_len);
        }
    }
    state_files_free(sf, n);
    t->have_state = 1;
    /* Every generation there was at the checkpoint's scan is a record:
     * one unknown and written since was created after it. */
    t->horizon = info.saved_at - HORIZON_SLACK;
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
    scan(t, 1);
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
    store_family_t  *fams[5] = { t->f_rotations, t->f_lost,
                                 t->f_ckpt_errors, t->f_ckpt_corrupt,
                                 t->f_files_lost };
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
        t->f_files_lost = fams[4];
        t->id_ckpt_errors = ids[0];
        t->id_ckpt_corrupt = ids[1];
        return -1;
    }
    store_lock(sw->store);
    store_set_clock(sw->store, (uint32_t) clock_mono());
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
    fi = calloc(t->nfiles + 1, sizeof(*fi));
    for (i = 0, n = 0; fi != NULL && i < t->nfiles; i++) {
        if (t->files[i]->rotated == K_DONE) {
            continue;                       /* read, kept to know it */
        }
        fi[n].path = strdup(t->files[i]->path);
        fi[n].offset = atomic_load(&t->files[i]->pub_offset);
        fi[n].size = atomic_load(&t->files[i]->pub_size);
        fi[n].open = atomic_load(&t->files[i]->pub_open);
        fi[n].rotated = t->files[i]->rotated;
        n++;
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
        now = clock_mono();
        if (scan_now || now - t->last_scan >= every) {
            scan(t, scan_now || t->gens_due
                    || now - t->last_gens >= GENS_INTERVAL);
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
            if (t->gens_due) {
                scan(t, 1);                 /* the horizon's promise */
            }
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


/* Matches the files under the globs, and the generations under the
 * "rotated" patterns, with the records we hold.  See "Generations" at the
 * top of this file. */
static void
scan(tail_t *t, int gens)
{
    match_t      *m = NULL;
    tfile_t      *f;
    struct stat   st;
    size_t        nm, i;
    double        now = clock_mono();
    int           rc;

    t->last_scan = now;
    t->scan_seq++;
    nm = glob_inputs(t, &m);
    if (gens) {
        nm = glob_generations(t, &m, nm);
        t->last_gens = now;
        t->gens_due = 0;
    }
    match_identities(t, m, nm);

    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        if (f->born == t->scan_seq && f->match == NULL) {
            continue;                       /* registered by this scan */
        }
        if (f->match != NULL && scan_found(t, f, f->match, now) == 0) {
            f->missing_since = 0;
            continue;
        }
        /* Not found, or its inode now holds other content: f's content
         * may have moved (compressed) all the same. */
        if (f->fd >= 0) {
            if (f->rotated == K_LIVE) {
                f->rotated = K_ROTATED;
                f->last_growth = now;
                count_rotation(t, f->path, "rename");
                log_info("%s was renamed or deleted: reading the old file for "
                         "%.0f s more", f->path, t->cfg->tail.rotate_wait);
                t->gens_due = 1;
            }
            continue;
        }
        /* Closed, and its inode is gone: moved (compressed) or deleted. */
        if (!gens) {
            t->gens_due = 1;                /* decide on a full scan */
            continue;
        }
        rc = scan_relocate(t, f, m, nm);
        if (rc == 0) {
            f->missing_since = 0;
            continue;
        }
        /* A directory read while logrotate renames may show a file under
         * neither name (readdir(3) leaves it unspecified): a record is
         * given up only once missing for MISSING_GRACE, so that a
         * generation seen again under its next name is still known. */
        if (rc > 0 || f->missing_since == 0
            || now - f->missing_since < MISSING_GRACE)
        {
            if (f->missing_since == 0) {
                f->missing_since = now;
            }
            t->gens_due = 1;
            continue;
        }
        scan_gone(t, f);
        file_remove(t, i--);
    }

    /* Rotated files: closed once read to their end and quiet for
     * rotate_wait; the record stays (K_DONE) to know their copies. */
    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        if (f->rotated != K_ROTATED || f->fd < 0) {
            continue;
        }
        if (fstat(f->fd, &st) != 0 || st.st_size > f->offset) {
            continue;
        }
        /* Deleted or not: a writer that has not reopened yet may still
         * append to it, so it stays open until quiet for rotate_wait. */
        if (now - f->last_growth >= t->cfg->tail.rotate_wait) {
            file_done(t, f, &st);
        }
    }

    for (i = 0; i < nm; i++) {
        if (m[i].used) {
            continue;
        }
        if (m[i].live) {
            scan_new_live(t, &m[i]);
        } else {
            scan_new_generation(t, &m[i]);
        }
    }
    for (i = 0; i < nm; i++) {
        free(m[i].path);
    }
    free(m);
    if (t->first_scan) {
        /* Unknown generations seen from now on were written after this
         * scan, unless restored state set an earlier horizon. */
        if (t->horizon == 0) {
            t->horizon = clock_wall() - HORIZON_SLACK;
        }
        t->first_scan = 0;
    }
    limit_open_files(t);
}


/* Pairs candidates with records by device and inode. */
static void
match_identities(tail_t *t, match_t *m, size_t nm)
{
    size_t  i, j;
    int     pass;

    for (i = 0; i < t->nfiles; i++) {
        t->files[i]->match = NULL;
    }
    /* An open descriptor pins its inode: those records first, so that a
     * closed record whose inode was freed and reused loses to them. */
    for (pass = 0; pass < 2; pass++) {
        for (j = 0; j < nm; j++) {
            for (i = 0; i < t->nfiles && !m[j].used; i++) {
                tfile_t  *f = t->files[i];

                if (f->match == NULL && (f->fd >= 0) == (pass == 0)
                    && f->dev == m[j].st.st_dev && f->ino == m[j].st.st_ino)
                {
                    f->match = &m[j];
                    m[j].used = 1;
                }
            }
        }
    }
}


/* f's inode is at c.  Returns -1 when the inode now holds other content
 * (freed and reused): c is then left to be judged as a candidate of its
 * own, and f's content looked for elsewhere. */
static int
scan_found(tail_t *t, tfile_t *f, match_t *c, double now)
{
    int  restored = f->restored, replaced = 0;

    if (f->rotated == K_DONE) {
        return scan_found_done(t, f, c, now);
    }
    if (f->fd < 0 && (restored || c->st.st_size != f->offset)) {
        /* A restored file, or an idle one we closed, that may hold unread
         * bytes: it must still hold what we read. */
        if (file_open_path(f, c->path) != 0) {
            return 0;
        }
        if (c->st.st_size < f->offset || !position_matches(f, f->fd)) {
            if (!c->live) {
                /* A generation now holds our inode (freed and reused):
                 * our content is elsewhere, if anywhere. */
                file_close(f);
                c->used = 0;
                return -1;
            }
            replaced = 1;                   /* truncated, or reused */
        }
    }
    scan_take_path(t, f, c);
    f->restored = 0;
    if (c->live) {
        if (f->rotated == K_ROTATED) {
            f->rotated = K_LIVE;            /* moved back under a glob */
        }
    } else if (f->rotated == K_LIVE) {
        f->rotated = K_ROTATED;
        f->last_growth = now;
        t->gens_due = 1;
        if (restored) {
            log_info("%s was rotated while we were stopped: reading it "
                     "from offset %lld", c->path, (long long) f->offset);
        } else {
            log_info("%s was renamed: reading it for %.0f s more", c->path,
                     t->cfg->tail.rotate_wait);
        }
        count_rotation(t, c->path, "rename");
    }
    if (replaced) {
        /* Same inode, other content at the live path: truncated while
         * we were stopped or closed (a copy may hold the rest), or the
         * inode was reused by a new file. */
        log_info("%s: same inode, new content: reading it from its start",
                 f->path);
        f->size = f->offset;
        file_truncated(t, f, c->st.st_size, 0);
        return 0;
    }
    f->size = c->st.st_size;
    /* Content replaced in place (truncated and rewritten past our offset
     * before we looked) shows in the first bytes. */
    if (f->fd >= 0 && f->size >= f->offset && !position_matches(f, f->fd)) {
        off_t  size = f->size;

        f->size = f->offset;
        file_truncated(t, f, size, 0);
    }
    return 0;
}


/* scan_found() for a generation read to its end. */
static int
scan_found_done(tail_t *t, tfile_t *f, match_t *c, double now)
{
    int  restored = f->restored;

    if (!restored && !c->live && c->st.st_size == f->disk_size
        && st_mtime_ns(&c->st) == f->mtime_ns)
    {
        scan_take_path(t, f, c);            /* unchanged, maybe renamed */
        return 0;
    }
    if (!head_matches(f, c->path)) {
        log_debug("%s: inode reused by other content", c->path);
        c->used = 0;
        return -1;
    }
    scan_take_path(t, f, c);
    f->restored = 0;
    f->disk_size = c->st.st_size;
    f->mtime_ns = st_mtime_ns(&c->st);
    if (f->gz || (!c->live && c->st.st_size <= f->offset)) {
        return 0;
    }
    /* A plain generation that grew after we closed it (a writer that
     * reopened late), or one moved back under a glob: read on. */
    if (file_open_path(f, c->path) != 0) {
        return 0;
    }
    if (f->size < f->offset || !position_matches(f, f->fd)) {
        file_close(f);
        c->used = 0;
        return -1;
    }
    f->rotated = c->live ? K_LIVE : K_ROTATED;
    f->last_growth = now;
    return 0;
}


/* f is at c's path now. */
static void
scan_take_path(tail_t *t, tfile_t *f, match_t *c)
{
    if (strcmp(f->path, c->path) != 0) {
        pthread_mutex_lock(&t->files_lock);
        free(f->path);
        f->path = c->path;
        c->path = strdup(f->path);          /* freed with the candidates */
        pthread_mutex_unlock(&t->files_lock);
    }
    f->input = c->input;
}


/* f is closed and its inode is gone: look for its content among the
 * generations (compressed, or copied).  Returns 0 when found, 1 when a
 * candidate could not be judged yet, -1 when it is nowhere. */
static int
scan_relocate(tail_t *t, tfile_t *f, match_t *m, size_t nm)
{
    probe_t  p;
    size_t   j;
    int      v, unsure = 0;

    for (j = 0; j < nm; j++) {
        if (m[j].used || m[j].live || probe_head(m[j].path, &p) != 0) {
            continue;
        }
        if (p.gz && !gz_complete(m[j].path)) {
            unsure = 1;                     /* being compressed */
            continue;
        }
        v = verify_copy(f, m[j].path, &p);
        unsure |= v == V_UNSURE;
        if (v != V_AT && v != V_LONGER && v != V_PREFIX) {
            continue;
        }
        if (v == V_PREFIX && f->size > f->offset) {
            /* It holds less than we read: what f held past our offset
             * is nowhere. */
            count_lost(t, f->path, (uint64_t) (f->size - f->offset));
            log_warn("%s: bytes %lld-%lld were never read and no generation "
                     "holds them (lost)", f->path, (long long) f->offset,
                     (long long) f->size);
        }
        m[j].used = 1;
        if (f->rotated != K_DONE) {
            count_rotation(t, f->path, "rename");
        }
        log_info("%s is now %s%s", f->path, m[j].path,
                 v == V_LONGER ? ": reading the rest" : "");
        pthread_mutex_lock(&t->files_lock);
        free(f->path);
        f->path = strdup(m[j].path);
        pthread_mutex_unlock(&t->files_lock);
        if (f->path == NULL) {
            return -1;
        }
        f->dev = m[j].st.st_dev;
        f->ino = m[j].st.st_ino;
        f->gz = p.gz;
        f->restored = 0;
        if (v == V_LONGER && !p.gz) {
            /* A plain copy: follow it as a rotated file. */
            if (file_open_path(f, f->path) == 0) {
                f->rotated = K_ROTATED;
                f->last_growth = clock_mono();
                return 0;
            }
        } else if (v == V_LONGER) {
            read_copy(t, f, f->path, f->offset, NULL);
            store_lock(t->store);
            flush_last(t, f);
            store_unlock(t->store);
        }
        f->rotated = K_DONE;
        f->disk_size = m[j].st.st_size;
        f->mtime_ns = st_mtime_ns(&m[j].st);
        return 0;
    }
    if (unsure) {
        t->gens_due = 1;                    /* decide on a later scan */
        return 1;
    }
    return -1;
}


/* f's content is nowhere to be found: what it held unread is lost. */
static void
scan_gone(tail_t *t, tfile_t *f)
{
    uint64_t  lost = 0;

    if (f->rotated == K_DONE) {
        log_debug("%s is gone (read to its end)", f->path);
        return;
    }
    if (f->restored) {
        /* Known only from the checkpoint: it may have grown before it
         * was rotated away or deleted, and nobody can tell by how much. */
        strv_t  v = { f->path, strlen(f->path) };

        store_lock(t->store);
        store_add(t->f_files_lost, store_series(t->f_files_lost, &v), 1);
        store_unlock(t->store);
        log_warn("%s (inode %llu) vanished while we were stopped and no "
                 "generation holds it: whatever it held past offset %lld is "
                 "lost (counted in gwlog_files_lost_total)", f->path,
                 (unsigned long long) f->ino, (long long) f->offset);
        return;
    }
    if (f->size > f->offset) {
        lost = (uint64_t) (f->size - f->offset);
    }
    if (lost > 0 || f->carry_len > 0) {
        count_lost(t, f->path, lost);
        log_warn("%s (inode %llu) is gone and no generation holds it: bytes "
                 "%lld-%lld were never read (lost), an unfinished line of "
                 "%zu bytes is counted as it is", f->path,
                 (unsigned long long) f->ino, (long long) f->offset,
                 (long long) f->size, f->carry_len);
    } else {
        log_info("%s (inode %llu) is gone; it was read to offset %lld",
                 f->path, (unsigned long long) f->ino, (long long) f->offset);
    }
}


/* A file under a glob that no record knows. */
static void
scan_new_live(tail_t *t, match_t *c)
{
    tfile_t  *f;

    f = file_new(t, c->path, c->input);
    if (f == NULL || file_open_path(f, f->path) != 0) {
        if (f != NULL) {
            file_remove(t, t->nfiles - 1);
        }
        return;
    }
    if (t->first_scan && !t->have_state
        && t->cfg->inputs[c->input].start_at == CFG_START_END)
    {
        f->offset = c->st.st_size;
        fp_update(f);
    }
    t->gens_due = 1;
    log_info("following %s from offset %lld", f->path, (long long) f->offset);
}


/* A generation no record knows by inode: a copy of content we know, one
 * still being written (decided later), one older than our horizon (known
 * from now on, never read), or one written after it: read from its
 * start. */
static void
scan_new_generation(tail_t *t, match_t *c)
{
    probe_t   p;
    tfile_t  *f;
    size_t    i;
    int       v, complete;

    if (probe_head(c->path, &p) != 0) {
        return;
    }
    if (p.gz) {
        /* Decide on a whole stream only: a partial one shows a short
         * head, or none. */
        if (!gz_complete(c->path) || probe_head(c->path, &p) != 0) {
            t->gens_due = 1;                /* still being compressed */
            return;
        }
    }
    if (p.head_len == 0) {
        return;                             /* nothing to read yet */
    }
    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        if (f->dev == c->st.st_dev && f->ino == c->st.st_ino) {
            return;                         /* registered in this scan */
        }
        if (f->fp_len == 0) {
            continue;
        }
        if (p.head_len < f->fp_len) {
            /* Too short to tell by the hash: compare with an open file's
             * head (a copy in the making), else decide later. */
            if (f->fd >= 0 && head_prefix_of(f, &p)) {
                t->gens_due = 1;
                return;
            }
            continue;
        }
        if (hash_bytes(p.head, f->fp_len, 0) != f->fp) {
            continue;
        }
        if (f->fd >= 0) {
            /* A copy of a file we still read (copytruncate before the
             * truncation, or compression of a rotated file): that file
             * brings its bytes itself. */
            t->gens_due = 1;
            return;
        }
        v = verify_copy(f, c->path, &p);
        log_debug("%s: compared with %s: %d", c->path, f->path, v);
        if (v == V_AT || v == V_PREFIX) {
            /* Content we read already. */
            register_copy(t, c, &p, v == V_AT ? f : NULL);
            return;
        }
        if (v == V_LONGER || v == V_UNSURE) {
            t->gens_due = 1;                /* decide later */
            return;
        }
    }
    if ((t->first_scan && !t->have_state)
        || (double) st_mtime_ns(&c->st) / 1e9 < t->horizon)
    {
        log_debug("%s: an older generation, not read", c->path);
        register_copy(t, c, &p, NULL);
        return;
    }
    f = file_new(t, c->path, c->input);
    if (f == NULL) {
        return;
    }
    f->gz = p.gz;
    log_info("%s: a generation written after the last checkpoint that was "
             "never followed: reading it from its start", c->path);
    if (!p.gz && file_open_path(f, f->path) == 0) {
        f->rotated = K_ROTATED;
        f->last_growth = clock_mono();
        return;
    }
    f->dev = c->st.st_dev;
    f->ino = c->st.st_ino;
    read_copy(t, f, f->path, 0, &complete);
    store_lock(t->store);
    flush_last(t, f);
    store_unlock(t->store);
    if (!complete) {
        log_warn("%s: the gzip stream ends early: read what it holds",
                 f->path);
    }
    f->rotated = K_DONE;
    f->disk_size = c->st.st_size;
    f->mtime_ns = st_mtime_ns(&c->st);
}


/* A record for generation c whose content we count as read: a copy of
 * like (its fingerprints; NULL: computed from c). */
static void
register_copy(tail_t *t, match_t *c, const probe_t *p, const tfile_t *like)
{
    tfile_t  *f;
    size_t    i;

    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        if (f != like && f->fd < 0 && f->dev == c->st.st_dev
            && f->ino == c->st.st_ino)
        {
            /* A closed record of a file whose inode was freed and given
             * to this copy: its content is elsewhere, if anywhere. */
            f->dev = 0;
            f->ino = 0;
            t->gens_due = 1;
        }
    }
    if ((f = file_new(t, c->path, c->input)) == NULL) {
        return;
    }
    log_debug("%s (inode %llu): known as read%s", c->path,
              (unsigned long long) c->st.st_ino,
              like != NULL ? ", a copy" : "");
    f->rotated = K_DONE;
    f->dev = c->st.st_dev;
    f->ino = c->st.st_ino;
    f->gz = p->gz;
    f->disk_size = c->st.st_size;
    f->mtime_ns = st_mtime_ns(&c->st);
    if (like != NULL) {
        f->fp = like->fp;
        f->fp_len = like->fp_len;
        f->tfp = like->tfp;
        f->tfp_len = like->tfp_len;
        f->tfp_at = like->tfp_at;
        f->offset = like->offset;
    } else if (!p->gz) {
        /* Pinned at its end, so that its compressed copy is known too. */
        f->offset = c->st.st_size;
        f->fp_len = p->head_len;
        f->fp = hash_bytes(p->head, p->head_len, 0);
        if (file_open_path(f, f->path) == 0) {
            tfp_update(f);
            file_close(f);
        }
    }
    /* else: a compressed old generation, known by inode only. */
    f->size = f->offset;
    publish(f);
}


/* A rotated file read to its end and quiet: closed, kept as a record. */
static void
file_done(tail_t *t, tfile_t *f, const struct stat *st)
{
    store_lock(t->store);
    flush_last(t, f);
    store_unlock(t->store);
    tfp_update(f);
    f->disk_size = st->st_size;
    f->mtime_ns = st_mtime_ns(st);
    f->rotated = K_DONE;
    file_close(f);
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
                m[n].live = 1;
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
    f->born = t->scan_seq;
    f->last_growth = f->last_active = clock_mono();
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
    f->last_active = clock_mono();
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
        f->last_growth = f->last_active = clock_mono();
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

    if (recover_copy(t, f)) {
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
 * patterns with {path} replaced, plain or gzip) that holds f's bytes up to
 * its offset, and reads it from there to its end.  The copy is kept as a
 * record (K_DONE), so that it is never read again.  Bytes f had seen past
 * the copy's end are counted lost: they were written between the copy and
 * the truncation (copytruncate's window).  Returns 1 when one was read. */
static int
recover_copy(tail_t *t, tfile_t *f)
{
    const cfg_input_t  *in = &t->cfg->inputs[f->input];
    match_t             c;
    probe_t             p;
    glob_t              g;
    char               *pat;
    off_t               seen = f->size;
    size_t              i, k;
    int                 v, found = 0;

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
            if (stat(g.gl_pathv[k], &c.st) != 0 || !S_ISREG(c.st.st_mode)
                || (c.st.st_dev == f->dev && c.st.st_ino == f->ino)
                || probe_head(g.gl_pathv[k], &p) != 0)
            {
                continue;
            }
            v = verify_copy(f, g.gl_pathv[k], &p);
            if (v != V_AT && v != V_LONGER && v != V_PREFIX) {
                continue;
            }
            found = 1;
            /* V_PREFIX: the copy was taken before the bytes we read last
             * (they were in the file before the truncation): nothing in
             * it is new. */
            if (v != V_PREFIX) {
                log_debug("reading %s from offset %lld", g.gl_pathv[k],
                          (long long) f->offset);
                read_copy(t, f, g.gl_pathv[k], f->offset, NULL);
            }
            if (seen > f->offset) {
                /* The unfinished line at the copy's end went on in those
                 * bytes: it is lost with them. */
                count_lost(t, f->path,
                           (uint64_t) (seen - f->offset) + f->carry_len);
                log_warn("%s: bytes %lld-%lld were written after the copy "
                         "%s was taken and truncated before they could be "
                         "read (copytruncate window): lost", f->path,
                         (long long) (f->offset - (off_t) f->carry_len),
                         (long long) seen, g.gl_pathv[k]);
                f->carry_len = 0;
                f->skipping = 0;
            }
            c.path = g.gl_pathv[k];
            c.input = f->input;
            c.used = 1;
            c.live = 0;
            register_copy(t, &c, &p, v == V_PREFIX ? NULL : f);
        }
        globfree(&g);
    }
    return found;
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
 * that is gone), a last line without newline counts.  The caller holds
 * the store lock. */
static void
flush_last(tail_t *t, tfile_t *f)
{
    if (f->skipping) {
        pipeline_invalid(t->pipe, "too_long");
    } else if (f->carry_len > 0) {
        pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
    }
    f->carry_len = 0;
    f->skipping = 0;
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

    t->last_ckpt = clock_mono();
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


/* Adds the generations of every followed path (the input's "rotated"
 * patterns with {path} replaced) to the candidates.  Returns the new
 * count. */
static size_t
glob_generations(tail_t *t, match_t **mp, size_t nm)
{
    const cfg_input_t  *in;
    match_t            *m = *mp, *more;
    struct stat         st;
    glob_t              g;
    char               *pat;
    const char         *base;
    size_t              nm0 = nm, cap = nm, b, i, k, d, input;
    int                 dup;

    for (b = 0; b < nm0 + t->nfiles; b++) {
        if (b < nm0) {
            if (!m[b].live) {
                continue;
            }
            base = m[b].path;
            input = m[b].input;
        } else {
            tfile_t  *f = t->files[b - nm0];

            if (f->rotated != K_LIVE) {
                continue;
            }
            for (d = 0, dup = 0; d < nm0 && !dup; d++) {
                dup = m[d].live && strcmp(m[d].path, f->path) == 0;
            }
            if (dup) {
                continue;                   /* done as a candidate */
            }
            base = f->path;
            input = f->input;
        }
        if (input >= t->cfg->ninputs) {
            continue;
        }
        in = &t->cfg->inputs[input];
        for (i = 0; i < in->nrotated; i++) {
            pat = expand(in->rotated[i], base);
            if (pat == NULL || glob(pat, 0, NULL, &g) != 0) {
                free(pat);
                continue;
            }
            free(pat);
            for (k = 0; k < g.gl_pathc; k++) {
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) {
                    continue;
                }
                for (d = 0, dup = 0; d < nm && !dup; d++) {
                    dup = strcmp(m[d].path, g.gl_pathv[k]) == 0;
                }
                if (dup) {
                    continue;
                }
                if (nm == cap) {
                    cap = cap ? cap * 2 : 64;
                    more = realloc(m, cap * sizeof(match_t));
                    if (more == NULL) {
                        break;
                    }
                    m = more;
                }
                m[nm].path = strdup(g.gl_pathv[k]);
                if (m[nm].path == NULL) {
                    break;
                }
                m[nm].input = input;
                m[nm].st = st;
                m[nm].used = 0;
                m[nm].live = 0;
                nm++;
            }
            globfree(&g);
        }
    }
    *mp = m;
    return nm;
}


/* Reads the first bytes of path, through zlib: a gzip file is read
 * decompressed, any other as it is. */
static int
probe_head(const char *path, probe_t *p)
{
    gzFile  gz;
    int     n;

    gz = gzopen(path, "rbe");
    if (gz == NULL) {
        return -1;
    }
    n = gzread(gz, p->head, FP_MAX);
    p->gz = !gzdirect(gz);
    gzclose(gz);
    if (n < 0) {
        return -1;
    }
    p->head_len = (uint32_t) n;
    return 0;
}


/* Whether path's content is f's, as far as f has read it: the first bytes
 * by f's fingerprint, the bytes before f's offset by its tail fingerprint.
 * V_NONE: other content; V_PREFIX: the same start but fewer bytes than
 * f's offset; V_AT: exactly f's bytes up to its offset; V_LONGER: those
 * and more; V_UNSURE: unreadable (a gzip stream still being written). */
static int
verify_copy(const tfile_t *f, const char *path, const probe_t *p)
{
    char      buf[FP_MAX + 1];
    uint32_t  want;
    gzFile    gz;
    int       n, err;

    if (f->fp_len == 0 || p->head_len < f->fp_len
        || hash_bytes(p->head, f->fp_len, 0) != f->fp)
    {
        return V_NONE;
    }
    want = f->tfp_len > 0 && f->tfp_at == f->offset ? f->tfp_len
           : (f->offset > 0 ? 1 : 0);
    gz = gzopen(path, "rbe");
    if (gz == NULL) {
        return V_UNSURE;
    }
    if (gzseek(gz, f->offset - (off_t) want, SEEK_SET) < 0) {
        gzclose(gz);
        return V_UNSURE;
    }
    n = gzread(gz, buf, want + 1);
    if (n >= 0 && (uint32_t) n < want + 1) {
        /* A short read: the end of the content, or of what a compressor
         * has written so far, which zlib reports on the next read. */
        (void) gzread(gz, buf + n, 1);
    }
    (void) gzerror(gz, &err);
    gzclose(gz);
    if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
        return V_UNSURE;
    }
    if ((uint32_t) n < want) {
        return V_PREFIX;
    }
    if (f->tfp_len > 0 && want == f->tfp_len
        && hash_bytes(buf, want, 0) != f->tfp)
    {
        return V_NONE;
    }
    return (uint32_t) n > want ? V_LONGER : V_AT;
}


/* Whether path starts with f's fingerprinted bytes (always, without a
 * fingerprint); sets f->gz from what it finds. */
static int
head_matches(tfile_t *f, const char *path)
{
    probe_t  p;

    if (probe_head(path, &p) != 0) {
        return 0;
    }
    f->gz = p.gz;
    return f->fp_len == 0 || (p.head_len >= f->fp_len
                              && hash_bytes(p.head, f->fp_len, 0) == f->fp);
}


/* Whether the (short) candidate p is the start of open file f. */
static int
head_prefix_of(const tfile_t *f, const probe_t *p)
{
    char  buf[FP_MAX];

    return p->head_len > 0
           && pread(f->fd, buf, p->head_len, 0) == (ssize_t) p->head_len
           && memcmp(buf, p->head, p->head_len) == 0;
}


/* Whether a gzip file ends properly (it is not being written). */
static int
gz_complete(const char *path)
{
    char    buf[65536];
    gzFile  gz;
    int     n, err;

    gz = gzopen(path, "rbe");
    if (gz == NULL) {
        return 0;
    }
    while ((n = gzread(gz, buf, sizeof(buf))) > 0) {
        /* Discard. */
    }
    (void) gzerror(gz, &err);
    gzclose(gz);
    return n == 0 && (err == Z_OK || err == Z_STREAM_END);
}


/* Feeds path (plain or gzip) from content offset from to its end as f's
 * bytes: f->offset advances, the fingerprints follow (the head one when
 * reading from 0; the tail one pins the end).  *complete, if given, says
 * whether a gzip stream ended properly.  Returns the bytes read, or -1. */
static int64_t
read_copy(tail_t *t, tfile_t *f, const char *path, off_t from, int *complete)
{
    char     head[FP_MAX], tail[FP_MAX];
    size_t   hlen = 0, tlen = 0, keep, n;
    int64_t  total = 0;
    gzFile   gz;
    int      r, err;

    gz = gzopen(path, "rbe");
    if (gz == NULL) {
        return -1;
    }
    if (from > 0 && gzseek(gz, from, SEEK_SET) != from) {
        gzclose(gz);
        return -1;
    }
    f->offset = from;
    while ((r = gzread(gz, t->buf, READ_CHUNK)) > 0) {
        n = (size_t) r;
        if (from == 0 && hlen < FP_MAX) {
            keep = n < FP_MAX - hlen ? n : FP_MAX - hlen;
            memcpy(head + hlen, t->buf, keep);
            hlen += keep;
        }
        if (n >= FP_MAX) {
            memcpy(tail, t->buf + n - FP_MAX, FP_MAX);
            tlen = FP_MAX;
        } else {
            keep = tlen < FP_MAX - n ? tlen : FP_MAX - n;
            memmove(tail, tail + tlen - keep, keep);
            memcpy(tail + keep, t->buf, n);
            tlen = keep + n;
        }
        store_lock(t->store);
        f->offset += (off_t) n;
        pipeline_bytes(t->pipe, (uint64_t) n);
        feed(t, f, t->buf, n);
        store_unlock(t->store);
        total += (int64_t) n;
    }
    (void) gzerror(gz, &err);
    if (complete != NULL) {
        *complete = r == 0 && (err == Z_OK || err == Z_STREAM_END);
    }
    gzclose(gz);
    if (hlen > 0) {
        f->fp = hash_bytes(head, hlen, 0);
        f->fp_len = (uint32_t) hlen;
    }
    if (tlen > 0) {
        f->tfp = hash_bytes(tail, tlen, 0);
        f->tfp_len = (uint32_t) tlen;
        f->tfp_at = f->offset;
    }
    f->size = f->offset;
    publish(f);
    return total;
}


static int64_t
st_mtime_ns(const struct stat *st)
{
    return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}


/* A checkpoint's files against the file system (state_load()'s check).  A
 * file still there under the same inode that holds fewer bytes than the
 * checkpoint says were read from it was truncated since, or the
 * checkpoint is wrong.  Truncation moves the mtime and, for a log, the
 * first bytes: a file that starts with the same FP_MAX bytes, or that was
 * not modified since the second before the checkpoint was saved, makes
 * the checkpoint wrong.  It is refused and the other slot tried.
 * Returns 0 to accept. */
static int
restore_check(void *ctx, const state_file_t *files, size_t n, double saved_at)
{
    const state_file_t  *sf;
    struct stat          st;
    char                 head[FP_MAX];
    size_t               i;
    int                  fd, same_head;

    (void) ctx;
    for (i = 0; i < n; i++) {
        sf = &files[i];
        if (sf->rotated == K_DONE || stat(sf->path, &st) != 0
            || (uint64_t) st.st_dev != sf->dev
            || (uint64_t) st.st_ino != sf->ino
            || (uint64_t) st.st_size >= sf->offset)
        {
            continue;
        }
        same_head = 0;
        if (sf->fp_len == FP_MAX
            && (fd = open(sf->path, O_RDONLY | O_CLOEXEC)) >= 0)
        {
            same_head = pread(fd, head, FP_MAX, 0) == FP_MAX
                        && hash_bytes(head, FP_MAX, 0) == sf->fp;
            close(fd);
        }
        if (same_head || (double) st.st_mtim.tv_sec < saved_at) {
            log_error("checkpoint refused: %s was read to offset %" PRIu64
                      " by its account, but the file (%s) holds %lld bytes",
                      sf->path, sf->offset, same_head ? "same first bytes"
                      : "unchanged since", (long long) st.st_size);
            return -1;
        }
    }
    return 0;
}
