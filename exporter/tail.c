/* tail.c - Follows the input files and feeds complete lines to the
 * pipeline.
 *
 * One thread owns everything here (libinotifytools keeps process-global
 * state and is not thread-safe).  Its loop:
 *
 *   wait for an inotify event on a watched directory, at most 1 s;
 *   read every open file to its end, splitting lines;
 *   at most once a second: re-expand the globs, check each path for
 *   rotation and truncation, and reload changed dimension tables.
 *
 * Reads go in chunks of READ_CHUNK bytes; the store lock is held for one
 * chunk's lines at a time, so a scrape waits for at most one chunk.
 */

#include "exporter/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exporter/log.h"


#define READ_CHUNK  (1024 * 1024)
#define DIR_EVENTS  (IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM \
                     | IN_DELETE | IN_CLOSE_WRITE | IN_ATTRIB)

typedef struct {
    char            *path;
    size_t           input;
    int              fd;
    dev_t            dev;
    ino_t            ino;
    off_t            offset;
    char            *carry;         /* a line whose newline is still due */
    size_t           carry_len;
    size_t           carry_cap;
    int              skipping;      /* inside a too long line */
} tfile_t;

struct tail {
    const cfg_t     *cfg;           /* not owned */
    pipeline_t      *pipe;          /* not owned */
    store_t         *store;         /* not owned */
    dims_t          *dims;          /* not owned */
    tfile_t         *files;
    size_t           nfiles;
    size_t           cap;
    char            *buf;           /* READ_CHUNK bytes */
    char           **dirs;          /* watched directories */
    size_t           ndirs;
    int              inotify;       /* libinotifytools initialised */
    pthread_t        thread;
    int              running;
    atomic_int       stop;
};


static void *tail_main(void *arg);
static void scan_globs(tail_t *t, int first);
static tfile_t *file_add(tail_t *t, const char *path, size_t input);
static int file_open(tfile_t *f, off_t offset);
static void file_close(tfile_t *f);
static void file_check(tail_t *t, tfile_t *f);
static int file_drain(tail_t *t, tfile_t *f);
static void feed(tail_t *t, tfile_t *f, const char *p, size_t n);
static void flush_last(tail_t *t, tfile_t *f);
static void carry_append(tail_t *t, tfile_t *f, const char *p, size_t n);
static void watch_dir(tail_t *t, const char *glob_path);
static int has_glob(const char *s);


tail_t *
tail_create(const cfg_t *cfg, pipeline_t *pipe, store_t *store, dims_t *dims)
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
    t->buf = malloc(READ_CHUNK);
    if (t->buf == NULL) {
        free(t);
        return NULL;
    }
    return t;
}


void
tail_destroy(tail_t *t)
{
    size_t  i;

    if (t == NULL) {
        return;
    }
    for (i = 0; i < t->nfiles; i++) {
        file_close(&t->files[i]);
        free(t->files[i].path);
        free(t->files[i].carry);
    }
    for (i = 0; i < t->ndirs; i++) {
        free(t->dirs[i]);
    }
    free(t->dirs);
    free(t->files);
    free(t->buf);
    free(t);
}


int
tail_one_shot(tail_t *t)
{
    const cfg_input_t  *in;
    struct stat         st;
    glob_t              g;
    tfile_t            *f;
    size_t              i, j, k;
    int                 rc = 0;

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
                f = file_add(t, g.gl_pathv[k], i);
                if (f == NULL || f->fd >= 0) {
                    continue;               /* matched twice */
                }
                if (file_open(f, 0) != 0) {
                    rc = -1;
                    continue;
                }
                if (file_drain(t, f) != 0) {
                    rc = -1;
                }
                flush_last(t, f);
            }
            globfree(&g);
        }
    }
    return rc;
}


int
tail_start(tail_t *t)
{
    if (inotifytools_initialize() == 0) {
        log_warn("inotify unavailable (%s): polling every second",
                 strerror(inotifytools_error()));
    } else {
        t->inotify = 1;
    }
    scan_globs(t, 1);
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
    if (t->inotify) {
        inotifytools_cleanup();
        t->inotify = 0;
    }
}


static void *
tail_main(void *arg)
{
    tail_t          *t = arg;
    struct timespec  now, last = { 0, 0 };
    size_t           i;

    while (!atomic_load(&t->stop)) {
        for (i = 0; i < t->nfiles; i++) {
            if (t->files[i].fd >= 0) {
                file_drain(t, &t->files[i]);
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec != last.tv_sec) {
            last = now;
            scan_globs(t, 0);
            for (i = 0; i < t->nfiles; i++) {
                file_check(t, &t->files[i]);
            }
            if (t->dims != NULL && dims_reload_if_changed(t->dims) > 0) {
                log_info("dimension tables reloaded");
            }
        }
        if (t->inotify) {
            /* Whole seconds only; returns at once when an event is
             * queued.  The event itself is only a hint. */
            (void) inotifytools_next_event(1);
        } else {
            sleep(1);
        }
    }
    return NULL;
}


/* Expands every input's globs; opens new matches.  Files present at the
 * first pass start at the input's start_at; later ones at their start. */
static void
scan_globs(tail_t *t, int first)
{
    const cfg_input_t  *in;
    glob_t              g;
    tfile_t            *f;
    struct stat         st;
    size_t              i, j, k;

    for (i = 0; i < t->cfg->ninputs; i++) {
        in = &t->cfg->inputs[i];
        for (j = 0; j < in->npaths; j++) {
            if (first) {
                watch_dir(t, in->paths[j]);
            }
            if (glob(in->paths[j], 0, NULL, &g) != 0) {
                continue;
            }
            for (k = 0; k < g.gl_pathc; k++) {
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) {
                    continue;
                }
                f = file_add(t, g.gl_pathv[k], i);
                if (f == NULL || f->fd >= 0) {
                    continue;
                }
                if (file_open(f, 0) == 0 && first
                    && in->start_at == CFG_START_END)
                {
                    f->offset = lseek(f->fd, 0, SEEK_END);
                }
                if (f->fd >= 0) {
                    log_info("following %s from offset %lld", f->path,
                             (long long) f->offset);
                }
            }
            globfree(&g);
        }
    }
}


/* Returns the file for path, adding it (closed) when it is new. */
static tfile_t *
file_add(tail_t *t, const char *path, size_t input)
{
    tfile_t  *f;
    size_t    i;

    for (i = 0; i < t->nfiles; i++) {
        if (strcmp(t->files[i].path, path) == 0) {
            return &t->files[i];
        }
    }
    if (t->nfiles == t->cap) {
        size_t    cap = t->cap ? t->cap * 2 : 8;
        tfile_t  *files = realloc(t->files, cap * sizeof(tfile_t));

        if (files == NULL) {
            return NULL;
        }
        t->files = files;
        t->cap = cap;
    }
    f = &t->files[t->nfiles];
    memset(f, 0, sizeof(*f));
    f->path = strdup(path);
    if (f->path == NULL) {
        return NULL;
    }
    f->input = input;
    f->fd = -1;
    t->nfiles++;
    return f;
}


static int
file_open(tfile_t *f, off_t offset)
{
    struct stat  st;

    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        log_error("open() of %s failed: %s", f->path, strerror(errno));
        return -1;
    }
    if (fstat(f->fd, &st) != 0) {
        log_error("fstat() of %s failed: %s", f->path, strerror(errno));
        file_close(f);
        return -1;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->offset = offset;
    f->carry_len = 0;
    f->skipping = 0;
    return 0;
}


static void
file_close(tfile_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
}


/* Rotation and truncation, from stat() of the path and of our fd. */
static void
file_check(tail_t *t, tfile_t *f)
{
    struct stat  st, fst;

    if (f->fd < 0) {
        if (stat(f->path, &st) == 0 && S_ISREG(st.st_mode)
            && file_open(f, 0) == 0)
        {
            log_info("following %s from offset 0", f->path);
            file_drain(t, f);
        }
        return;
    }
    if (fstat(f->fd, &fst) == 0 && fst.st_size < f->offset) {
        log_warn("%s was truncated (size %lld < offset %lld): reading from "
                 "its start", f->path, (long long) fst.st_size,
                 (long long) f->offset);
        f->offset = 0;
        f->carry_len = 0;
        f->skipping = 0;
        file_drain(t, f);
        return;
    }
    if (stat(f->path, &st) != 0 || st.st_ino != f->ino
        || st.st_dev != f->dev)
    {
        /* Rotated or removed: finish the old file, then follow the new
         * one (if any) from its start. */
        file_drain(t, f);
        file_close(f);
        if (stat(f->path, &st) == 0 && file_open(f, 0) == 0) {
            log_info("%s was rotated: following the new file", f->path);
            file_drain(t, f);
        }
    }
}


/* Reads f from its offset to its end.  Returns 0, or -1 on a read error. */
static int
file_drain(tail_t *t, tfile_t *f)
{
    ssize_t  n;

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
            return 0;
        }
        f->offset += n;
        store_lock(t->store);
        pipeline_bytes(t->pipe, (uint64_t) n);
        feed(t, f, t->buf, (size_t) n);
        store_unlock(t->store);
        if (atomic_load(&t->stop)) {
            return 0;
        }
    }
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
        if (f->skipping) {
            pipeline_invalid(t->pipe, "too_long");
            f->skipping = 0;
        } else {
            carry_append(t, f, p, (size_t) (nl - p));
            if (f->skipping) {
                pipeline_invalid(t->pipe, "too_long");
                f->skipping = 0;
            } else {
                pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
            }
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


/* At the end of a --one-shot read, a last line without newline counts. */
static void
flush_last(tail_t *t, tfile_t *f)
{
    store_lock(t->store);
    if (f->skipping) {
        pipeline_invalid(t->pipe, "too_long");
    } else if (f->carry_len > 0) {
        pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
    }
    f->carry_len = 0;
    f->skipping = 0;
    store_unlock(t->store);
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


/* Watches the directory of a glob when the directory part is literal;
 * otherwise the once-a-second glob pass finds new files. */
static void
watch_dir(tail_t *t, const char *glob_path)
{
    char    *copy, *dir, **dirs;
    size_t   i;

    if (!t->inotify) {
        return;
    }
    copy = strdup(glob_path);
    if (copy == NULL) {
        return;
    }
    dir = dirname(copy);
    if (has_glob(dir)) {
        free(copy);
        return;
    }
    for (i = 0; i < t->ndirs; i++) {
        if (strcmp(t->dirs[i], dir) == 0) {
            free(copy);
            return;
        }
    }
    if (!inotifytools_watch_file(dir, DIR_EVENTS)) {
        log_warn("inotify_add_watch() of %s failed: %s; polling it every "
                 "second", dir, strerror(inotifytools_error()));
        free(copy);
        return;
    }
    dirs = realloc(t->dirs, (t->ndirs + 1) * sizeof(char *));
    if (dirs == NULL) {
        free(copy);
        return;
    }
    t->dirs = dirs;
    t->dirs[t->ndirs++] = strdup(dir);
    free(copy);
}


static int
has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}
