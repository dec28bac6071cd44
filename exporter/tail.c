/* tail.c - Follows the input files and feeds every complete line to the
 * pipeline exactly once: the public API and the ingest thread.  The
 * tailer's other files are listed in tail_internal.h.
 *
 * One thread owns the records (and libinotifytools, which keeps
 * process-global state and is not thread-safe).  Its loop:
 *
 *   apply a configuration swap handed over by tail_swap();
 *   read every open file to its end, splitting lines (tail_file.c);
 *   scan (every second, at once after a create/move/delete event, or
 *   every poll_interval when polling): the globs and, when something
 *   changed or every GENS_INTERVAL, every generation (tail_scan.c);
 *   checkpoint every checkpoint_interval;
 *   expire idle series, reload changed dimension tables (every second);
 *   wait for an event or the poll interval (tail_watch.c).
 *
 * The ingest lock (store_ingest_lock(): this thread is the store's only
 * writer) is held for one read chunk (up to READ_CHUNK bytes of lines) at
 * a time, so a scrape waits for at most one chunk, and a snapshot taken
 * by this thread is consistent with the offsets it holds: that is what
 * makes a checkpoint exact.
 *
 * Generations.  A record is a piece of content we know: its identity
 * (device, inode), fingerprints (head, and tail at the offset) and the
 * offset read.  K_LIVE records are under an input glob; K_ROTATED ones were
 * renamed away and are read until quiet for rotate_wait; K_DONE ones were
 * read to their end and stay, so that their copies (compressed later, or
 * moved) are known and never read again.  A generation under a "rotated"
 * glob that no record knows is read from its start when it was modified
 * after the horizon (the restored checkpoint's time), else known without
 * being read.  README, "Exactly once", states the rules and their limits.
 *
 * Rotation by rename while a writer still appends to the old inode:
 *
 *   1. we read access.log (inode A) up to offset X;
 *   2. logrotate renames it to access.log.1 and creates a new access.log
 *      (inode B); the writer, not yet reopened, appends to A;
 *   3. the scan finds A at access.log.1 and B at the glob path: A becomes
 *      K_ROTATED, B a new record read from its start;
 *   4. A is still read at every pass, so the writer's late lines count;
 *   5. once A has not grown for rotate_wait (or was deleted and is read
 *      to its end) it is closed and becomes K_DONE.
 *
 * copytruncate:
 *
 *   1. we read access.log up to offset X (the file may be at Y > X);
 *   2. logrotate copies it to access.log.1, then truncates it; the writer
 *      appends at the new end;
 *   3. we see size < X (or different first bytes): the generation that
 *      holds our bytes up to X (head and tail fingerprints) holds X..Y'; we
 *      read them (gzip too) before reading the truncated file from 0; an
 *      unfinished line continues across both; the copy becomes K_DONE;
 *   4. bytes Y' ..Y we saw but the copy lacks (written between the copy and
 *      the truncation) are counted lost, with the line they cut.
 */

#include "exporter/tail_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "labels/expo.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/strv.h"


static int add_families(tail_t *t, store_t *store);
static int restore_check(void *ctx, const state_file_t *files, size_t n,
    double saved_at);
static int do_swap(tail_t *t, struct swap *sw);
static void *tail_main(void *arg);
static void tail_checkpoint(tail_t *t);


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
    /* Page-aligned, not malloc()'s: a block this large is mmap()ed with
     * a 16-byte header, and pread()'s kernel copy (rep movsb) into a
     * destination that is not 64-byte aligned ran 6-7x slower on AMD EPYC
     * (0.52 s instead of 0.075 s for 895 MB): a third of the live
     * tailer's CPU.  BENCHMARKS.md, "Issue 13: the live path's 40 %". */
    if (posix_memalign((void **) &t->buf, 4096, READ_CHUNK) != 0) {
        t->buf = NULL;
        goto err;
    }

    if (add_families(t, store) != 0) {
        goto err;
    }
    /* Series restored or created from now on count as just used. */
    store_ingest_lock(store);
    store_set_clock(store, (uint32_t) clock_mono());
    store_ingest_unlock(store);
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
        tfile_close(t->files[i]);
        free(t->files[i]->path);
        free(t->files[i]->carry);
        free(t->files[i]);
    }
    tail_watch_free(t);
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
            if (!tail_has_glob(in->paths[j]) && stat(in->paths[j], &st) != 0) {
                log_error_kv("input cannot be read",
                             LOG_STR("glob", in->paths[j]),
                             LOG_STR("err", strerror(errno)));
                rc = -1;
                continue;
            }
            if (glob(in->paths[j], 0, NULL, &g) != 0) {
                log_warn_kv("input matches no file",
                            LOG_STR("glob", in->paths[j]));
                continue;
            }
            for (k = 0; k < g.gl_pathc; k++) {
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) {
                    if (!tail_has_glob(in->paths[j])) {
                        log_error_kv("input is not a regular file",
                                     LOG_STR("glob", in->paths[j]));
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
                f = tfile_new(t, g.gl_pathv[k], i);
                if (f == NULL || tfile_open(f, f->path) != 0) {
                    rc = -1;
                    continue;
                }
                if (tfile_drain(t, f) != 0) {
                    rc = -1;
                }
                store_ingest_lock(t->store);
                tfile_flush_last(t, f);
                store_ingest_unlock(t->store);
                tfile_close(f);
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
    store_ingest_lock(t->store);
    rc = state_load(t->state, t->store, restore_check, t, &sf, &n, &info);
    if (info.corrupt > 0) {
        store_add(t->f_ckpt_corrupt, t->id_ckpt_corrupt, (uint64_t) info.corrupt);
    }
    store_ingest_unlock(t->store);
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
        f = tfile_new(t, sf[i].path, sf[i].input);
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
            tfile_carry_append(t, f, sf[i].carry, sf[i].carry_len);
            f->join_at = sf[i].join_at;
        }
    }
    state_files_free(sf, n);
    t->have_state = 1;
    /* Every generation there was at the checkpoint's scan is a record:
     * one unknown and written since was created after it. */
    t->horizon = info.saved_at - HORIZON_SLACK;
    log_info_kv("restored checkpoint",
                LOG_U64("generation", info.generation),
                LOG_F64("saved_at", info.saved_at),
                LOG_U64("series", (uint64_t) info.series),
                LOG_U64("files", (uint64_t) t->nfiles),
                LOG_U64("dropped_series", (uint64_t) info.skipped));
    return 0;
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
            log_error_kv("checkpoint refused: a file holds fewer bytes than "
                         "it says were read from it",
                         LOG_STR("path", sf->path),
                         LOG_U64("offset", sf->offset),
                         LOG_U64("size", (uint64_t) st.st_size),
                         LOG_STR("reason", same_head ? "same first bytes"
                                 : "unchanged since"));
            return -1;
        }
    }
    return 0;
}


int
tail_start(tail_t *t)
{
    size_t  i, j;

    tail_watch_init(t);
    for (i = 0; i < t->cfg->ninputs; i++) {
        for (j = 0; j < t->cfg->inputs[i].npaths; j++) {
            tail_watch_dir(t, t->cfg->inputs[i].paths[j]);
        }
    }
    tail_scan(t, 1);
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
    tail_checkpoint(t);
    tail_watch_cleanup(t);
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
    store_ingest_lock(t->store);
    pipeline_flush(t->pipe);
    store_ingest_unlock(t->store);
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
    store_ingest_lock(sw->store);
    store_set_clock(sw->store, (uint32_t) clock_mono());
    n = store_carry(sw->store, snap, sw->keep, sw->ctx);
    store_ingest_unlock(sw->store);
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
            tail_watch_dir(t, t->cfg->inputs[i].paths[j]);
        }
    }
    t->last_scan = 0;                       /* scan the new globs now */
    log_info_kv("configuration swapped in: series carried over",
                LOG_U64("series", (uint64_t) n));
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
tail_collect(tail_t *t, store_t *s)
{
    static const char *const  path[] = { "path" };
    store_family_t           *open_f, *offset_f, *size_f, *f;
    const char               *v[1];
    double                    ev, ck;
    size_t                    i, open = 0;
    tfile_t                  *r;

    open_f = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_open_files", .type = STORE_GAUGE,
        .help = "Input files held open." });
    offset_f = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_file_offset_bytes", .type = STORE_GAUGE,
        .help = "Bytes of each followed file read so far.",
        .labels = path, .nlabels = 1 });
    size_f = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_file_size_bytes", .type = STORE_GAUGE,
        .help = "Size of each followed file when last checked.",
        .labels = path, .nlabels = 1 });
    if (open_f == NULL || offset_f == NULL || size_f == NULL) {
        return;
    }
    pthread_mutex_lock(&t->files_lock);
    for (i = 0; i < t->nfiles; i++) {
        r = t->files[i];
        open += (size_t) atomic_load(&r->pub_open);
        if (r->rotated != K_LIVE) {
            continue;                       /* one series per live path */
        }
        v[0] = r->path;
        store_set(offset_f, store_series_str(offset_f, v),
                  (double) atomic_load(&r->pub_offset));
        store_set(size_f, store_series_str(size_f, v),
                  (double) atomic_load(&r->pub_size));
    }
    store_set(open_f, store_series(open_f, NULL), (double) open);
    ev = pipeline_last_event_time(t->pipe);
    pthread_mutex_unlock(&t->files_lock);

    if (ev > 0 && (f = store_family_get(s, &(store_family_def_t) {
            .name = "gwlog_event_lag_seconds", .type = STORE_GAUGE,
            .help = "Now minus the event time of the last valid line "
                    "read." })) != NULL)
    {
        store_set(f, store_series(f, NULL), clock_wall() - ev);
    }
    ck = atomic_load(&t->ckpt_time);
    if (ck > 0 && (f = store_family_get(s, &(store_family_def_t) {
            .name = "gwlog_last_checkpoint_timestamp_seconds",
            .type = STORE_GAUGE,
            .help = "Unix time of the last checkpoint written." })) != NULL)
    {
        store_set(f, store_series(f, NULL), ck);
    }
}


static void *
tail_main(void *arg)
{
    tail_t  *t = arg;
    double   now;
    size_t   i;
    int      scan_now = 0;

    while (!atomic_load(&t->stop)) {
        pthread_mutex_lock(&t->swap_lock);
        if (t->swap != NULL) {
            t->swap->done = do_swap(t, t->swap) == 0 ? 1 : -1;
            t->swap = NULL;
            pthread_cond_broadcast(&t->swap_done);
        }
        pthread_mutex_unlock(&t->swap_lock);
        for (i = 0; i < t->nfiles; i++) {
            tfile_drain(t, t->files[i]);
        }
        now = clock_mono();
        if (scan_now || now - t->last_scan >= tail_watch_scan_every(t)) {
            tail_scan(t, scan_now || t->gens_due
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
                tail_scan(t, 1);                 /* the horizon's promise */
            }
            tail_checkpoint(t);
        }
        if (now - t->last_dims >= 1.0) {
            t->last_dims = now;
            /* Idle series of families with series_ttl. */
            store_ingest_lock(t->store);
            store_set_clock(t->store, (uint32_t) now);
            store_expire(t->store);
            store_ingest_unlock(t->store);
            if (t->dims != NULL && dims_reload_if_changed(t->dims) > 0) {
                log_info("dimension tables reloaded");
            }
        }
        scan_now = tail_watch_wait(t);
    }
    for (i = 0; i < t->nfiles; i++) {
        tfile_drain(t, t->files[i]);
    }
    return NULL;
}


/* Saves offsets, unfinished lines and every series value together.  This
 * thread is the store's only writer, so the snapshot matches the offsets.
 * A failure is counted and logged once; ingestion goes on. */
static void
tail_checkpoint(tail_t *t)
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
    store_ingest_lock(t->store);
    pipeline_flush(t->pipe);
    store_ingest_unlock(t->store);
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
            tfile_tfp_update(f);
            sf[i].tfp = f->tfp_at == f->offset ? f->tfp : 0;
            sf[i].tfp_len = f->tfp_at == f->offset ? f->tfp_len : 0;
            sf[i].skipping = f->skipping;
            sf[i].rotated = f->rotated;
            sf[i].carry = f->carry;
            sf[i].carry_len = f->carry_len;
            sf[i].join_at = f->join_at;
        }
        rc = state_save(t->state, snap, sf, t->nfiles, err, sizeof(err));
    }
    free(sf);
    store_snap_free(snap);
    if (rc != 0) {
        store_ingest_lock(t->store);
        store_add(t->f_ckpt_errors, t->id_ckpt_errors, 1);
        store_ingest_unlock(t->store);
        if (!t->ckpt_failing) {
            log_error_kv("checkpoint failed (ingestion goes on; counted in "
                         "gwlog_checkpoint_errors_total)",
                         LOG_STR("err", err));
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


void
tail_count_rotation(tail_t *t, const char *path, const char *kind)
{
    strv_t  v[2] = { { path, strlen(path) }, { kind, strlen(kind) } };

    store_ingest_lock(t->store);
    store_add(t->f_rotations, store_series(t->f_rotations, v), 1);
    store_ingest_unlock(t->store);
}


void
tail_count_lost(tail_t *t, const char *path, uint64_t n)
{
    store_ingest_lock(t->store);
    tail_count_lost_locked(t, path, n);
    store_ingest_unlock(t->store);
}


void
tail_count_lost_locked(tail_t *t, const char *path, uint64_t n)
{
    strv_t  v = { path, strlen(path) };

    store_add(t->f_lost, store_series(t->f_lost, &v), n);
}
