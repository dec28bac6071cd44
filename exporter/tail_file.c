/* tail_file.c - One record: opening it, reading it to its end in chunks
 * fed to the pipeline, splitting lines (an unfinished line is carried to
 * the next chunk), and the fingerprints that say it is still the file we
 * read: the hash of its first bytes, and of the bytes before our offset.
 */

#include "exporter/tail_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/strv.h"


static void file_drain_mapped(tail_t *t, tfile_t *f, off_t end);
static void on_sigbus(int sig);
static int fp_compute(int fd, uint32_t len, uint64_t *fp);
static int fp_matches(tfile_t *f, int fd);


tfile_t *
tfile_new(tail_t *t, const char *path, size_t input)
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


void
tfile_remove(tail_t *t, size_t i)
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
        store_ingest_lock(t->store);
        tfile_flush_last(t, f);
        store_ingest_unlock(t->store);
    }
    tfile_close(f);
    free(f->path);
    free(f->carry);
    free(f);
}


/* Opens path for f, which must be (or become) the file at that path; sets
 * the identity from the opened descriptor. */
int
tfile_open(tfile_t *f, const char *path)
{
    struct stat  st;

    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        log_error_kv("open() failed", LOG_STR("path", path),
                     LOG_STR("err", strerror(errno)));
        return -1;
    }
    if (fstat(f->fd, &st) != 0) {
        log_error_kv("fstat() failed", LOG_STR("path", path),
                     LOG_STR("err", strerror(errno)));
        tfile_close(f);
        return -1;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->size = st.st_size;
    f->last_active = clock_mono();
    tfile_publish(f);
    return 0;
}


void
tfile_close(tfile_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    atomic_store(&f->pub_open, 0);
}


void
tfile_publish(tfile_t *f)
{
    atomic_store(&f->pub_offset, (int64_t) f->offset);
    atomic_store(&f->pub_size, (int64_t) f->size);
    atomic_store(&f->pub_open, f->fd >= 0);
}


/* Closes the least recently active idle files beyond max_open_files; the
 * scan reopens a closed file when it grows. */
void
tail_limit_open_files(tail_t *t)
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
        tfile_close(oldest);
        open--;
    }
}


/* A rotated file read to its end and quiet: closed, kept as a record. */
void
tfile_done(tail_t *t, tfile_t *f, const struct stat *st)
{
    store_ingest_lock(t->store);
    tfile_flush_last(t, f);
    store_ingest_unlock(t->store);
    tfile_tfp_update(f);
    f->disk_size = st->st_size;
    f->mtime_ns = tail_mtime_ns(st);
    f->rotated = K_DONE;
    tfile_close(f);
}


/* Reads f from its offset to its end.  Returns 0, or -1 on a read error. */
int
tfile_drain(tail_t *t, tfile_t *f)
{
    struct stat  st;
    ssize_t      n;

    if (f->fd < 0) {
        return 0;
    }
    if (fstat(f->fd, &st) == 0) {
        if (st.st_size < f->offset) {
            tfile_truncated(t, f, st.st_size, 1);
        }
        f->size = st.st_size;
        if (st.st_size == f->offset) {
            tfile_publish(f);
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
            log_error_kv("read() failed", LOG_STR("path", f->path),
                         LOG_STR("err", strerror(errno)));
            return -1;
        }
        if (n == 0) {
            break;
        }
        store_ingest_lock(t->store);
        f->offset += n;
        pipeline_bytes(t->pipe, (uint64_t) n);
        tfile_feed(t, f, t->buf, (size_t) n);
        store_ingest_unlock(t->store);
        f->last_growth = f->last_active = clock_mono();
        if (f->offset > f->size) {
            f->size = f->offset;
        }
        if (atomic_load(&t->stop) && t->running) {
            break;
        }
    }
    tfile_fp_update(f);
    tfile_tfp_update(f);
    tfile_publish(f);
    return 0;
}


/* --one-shot reads f up to end through a mapping, READ_CHUNK bytes of
 * lines per ingest lock as tfile_drain() does, instead of copying the bytes
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
            store_ingest_lock(t->store);
            f->offset += (off_t) n;
            pipeline_bytes(t->pipe, (uint64_t) n);
            tfile_feed(t, f, m + at, n);
            store_ingest_unlock(t->store);
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


/* The carry holds a line cut by a truncation (join_at bytes from before
 * it) and the first line of the new content.  Either the writer went on
 * with the cut line after the truncation (a writer that splits lines
 * across writes), and the two parts are one line; or it finished that
 * line in bytes truncated before we read them, and the new content
 * starts a line of its own, which is on disk and must be counted.  The
 * bytes can't tell; the format can: the join is kept when it parses, or
 * when the second part does not parse alone either.  Otherwise the first
 * part is counted lost and the second part counted as the line. */
static void
feed_joined(tail_t *t, tfile_t *f)
{
    const char  *rest = f->carry + f->join_at;
    size_t       n = f->carry_len - f->join_at;

    if (f->join_at < f->carry_len
        && !pipeline_parses(t->pipe, f->input, f->carry, f->carry_len)
        && pipeline_parses(t->pipe, f->input, rest, n))
    {
        tail_count_lost_locked(t, f->path, f->join_at);
        log_warn_kv("a line cut by the truncation does not go on in the "
                    "new content (its first line parses alone): its first "
                    "part is counted lost", LOG_STR("path", f->path),
                    LOG_U64("bytes", (uint64_t) f->join_at));
        pipeline_line(t->pipe, f->input, rest, n);
        return;
    }
    pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
}


/* Splits n bytes into lines, completing the carried partial line first.
 * The caller holds the ingest lock. */
void
tfile_feed(tail_t *t, tfile_t *f, const char *p, size_t n)
{
    const char  *end = p + n, *nl;
    size_t       max = t->cfg->max_line_bytes;

    if (f->carry_len > 0 || f->skipping) {
        nl = memchr(p, '\n', n);
        if (nl == NULL) {
            tfile_carry_append(t, f, p, n);
            return;
        }
        if (!f->skipping) {
            tfile_carry_append(t, f, p, (size_t) (nl - p));
        }
        if (f->skipping) {
            pipeline_invalid(t->pipe, "too_long");
            f->skipping = 0;
        } else if (f->join_at > 0) {
            feed_joined(t, f);
        } else {
            pipeline_line(t->pipe, f->input, f->carry, f->carry_len);
        }
        f->carry_len = 0;
        f->join_at = 0;
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
        tfile_carry_append(t, f, p, (size_t) (end - p));
    }
}


/* At the end of a file that will not grow (--one-shot, or a rotated file
 * that is gone), a last line without newline counts.  The caller holds
 * the ingest lock. */
void
tfile_flush_last(tail_t *t, tfile_t *f)
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
void
tfile_carry_append(tail_t *t, tfile_t *f, const char *p, size_t n)
{
    size_t  cap;
    char   *c;

    if (f->skipping) {
        return;
    }
    if (f->carry_len == 0) {
        f->join_at = 0;                     /* a new line */
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
void
tfile_fp_update(tfile_t *f)
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
void
tfile_tfp_update(tfile_t *f)
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
int
tfile_position_matches(tfile_t *f, int fd)
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
