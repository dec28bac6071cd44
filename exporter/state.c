/* state.c - Checkpoints: the state directory, its two slots, loading
 * the newest valid one and saving the next.
 *
 * A slot is read whole and gunzipped (slot_read(), a gzip bomb is not
 * read past STATE_TEXT_MAX), decoded and checked by state_parse_text()
 * (state_parse.c), offered to the caller's check, and only then merged
 * (state_ckpt.c).  Saving formats the text (state_format.c), gzips it and
 * writes it atomically over the older slot.  state_internal.h maps the
 * other files.
 */

#include "exporter/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "exporter/state_internal.h"
#include "lib/log.h"


#define DIR_MODE        0750            /* as main.c creates it */

struct state {
    char           *dir;
    uint64_t        generation;     /* of the last checkpoint read or
                                     * written */
};


static const char  *slot_names[2] = { "checkpoint.a.gz", "checkpoint.b.gz" };


static void slot_path(const state_t *st, int i, char *path, size_t len);
static int slot_read(const state_t *st, int i, char **text, size_t *len);
static int gzip_text(const buf_t *text, buf_t *gz, char *err, size_t errlen);
static int mkdir_p(const char *dir, mode_t mode);
static int write_file(const char *path, const char *p, size_t len,
    char *err, size_t errlen);


state_t *
state_open(const char *dir)
{
    state_t  *st;

    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->dir = strdup(dir)) == NULL) {
        free(st);
        return NULL;
    }
    return st;
}


void
state_close(state_t *st)
{
    if (st == NULL) {
        return;
    }
    free(st->dir);
    free(st);
}


/* Each slot is read and decoded; then the valid ones are offered, newest
 * first, to check; the first one accepted is merged.  Nothing of a slot
 * reaches the store before every field of it was checked. */
int
state_load(state_t *st, store_t *store, state_check_pt check, void *ctx,
    state_file_t **files, size_t *nfiles, state_info_t *info)
{
    state_ckpt_t  *ck[2] = { NULL, NULL };
    char          *text, err[512], path[4096];
    size_t         len;
    int            i, rc, order[2], present = 0, used = -1;

    memset(info, 0, sizeof(*info));
    *files = NULL;
    *nfiles = 0;
    for (i = 0; i < 2; i++) {
        rc = slot_read(st, i, &text, &len);
        if (rc == 1) {
            continue;                       /* absent */
        }
        present++;
        if (rc < 0) {
            info->corrupt++;                /* logged by slot_read() */
            continue;
        }
        ck[i] = state_parse_text(text, len, err, sizeof(err));
        free(text);
        if (ck[i] != NULL && ck[i]->hdr.generation % 2 != (uint64_t) i) {
            snprintf(err, sizeof(err), "line 1 (header): generation %"
                     PRIu64 " belongs in the other slot",
                     ck[i]->hdr.generation);
            state_ckpt_free(ck[i]);
            ck[i] = NULL;
        }
        if (ck[i] == NULL) {
            slot_path(st, i, path, sizeof(path));
            log_error_kv("checkpoint refused", LOG_STR("path", path),
                         LOG_STR("err", err));
            info->corrupt++;
        }
    }

    /* Newest generation first. */
    order[0] = ck[1] != NULL && (ck[0] == NULL || ck[1]->hdr.generation
                                 > ck[0]->hdr.generation) ? 1 : 0;
    order[1] = 1 - order[0];
    for (i = 0; i < 2 && used < 0; i++) {
        state_ckpt_t  *c = ck[order[i]];

        if (c == NULL) {
            continue;
        }
        if (check != NULL
            && check(ctx, c->files, c->nfiles, (double) c->hdr.saved_at) != 0)
        {
            slot_path(st, order[i], path, sizeof(path));
            log_error_kv("checkpoint refused",  LOG_STR("path", path),
                         LOG_STR("err", "its files contradict the file "
                                 "system"));
            info->corrupt++;
            continue;
        }
        used = order[i];
    }

    if (used >= 0) {
        state_ckpt_t  *c = ck[used];

        state_ckpt_apply(c, store, info);
        *files = c->files;                  /* handed over */
        *nfiles = c->nfiles;
        c->files = NULL;
        c->nfiles = 0;
        st->generation = c->hdr.generation;
        info->generation = c->hdr.generation;
        info->saved_at = (double) c->hdr.saved_at;
        if (info->corrupt > 0) {
            slot_path(st, used, path, sizeof(path));
            log_warn_kv("used the other checkpoint slot after refusing one",
                        LOG_STR("path", path),
                        LOG_U64("generation", c->hdr.generation),
                        LOG_U64("refused", (uint64_t) info->corrupt));
        }
    }
    for (i = 0; i < 2; i++) {
        state_ckpt_free(ck[i]);
    }
    if (used < 0) {
        return present ? -1 : 1;
    }
    return 0;
}


int
state_save(state_t *st, const store_snap_t *snap, const state_file_t *files,
    size_t nfiles, char *err, size_t errlen)
{
    buf_t        text = { 0 }, gz = { 0 };
    char         path[4096];
    uint64_t     gen = st->generation + 1;
    struct stat  sb;
    int          rc;

    state_format_text(&text, gen, (long long) time(NULL), snap, files, nfiles);

    rc = gzip_text(&text, &gz, err, errlen);
    buf_free(&text);
    if (rc != 0) {
        return -1;
    }

    /* A state directory removed while we run (a cleanup, an operator) is
     * created again, else every checkpoint would fail until a restart. */
    if (stat(st->dir, &sb) != 0 && errno == ENOENT) {
        if (mkdir_p(st->dir, DIR_MODE) != 0) {
            snprintf(err, errlen, "the state directory %s is gone and "
                     "mkdir() failed: %s", st->dir, strerror(errno));
            buf_free(&gz);
            return -1;
        }
        log_info_kv("the state directory was removed: created it again",
                    LOG_STR("dir", st->dir));
    }

    slot_path(st, (int) (gen % 2), path, sizeof(path));
    rc = write_file(path, gz.p, gz.len, err, errlen);
    buf_free(&gz);
    if (rc != 0) {
        return -1;
    }
    st->generation = gen;
    return 0;
}


void
state_files_free(state_file_t *files, size_t n)
{
    size_t  i;

    for (i = 0; files != NULL && i < n; i++) {
        free(files[i].path);
        free(files[i].carry);
    }
    free(files);
}


/* The path of slot i, "DIR/checkpoint.a.gz" or "DIR/checkpoint.b.gz". */
static void
slot_path(const state_t *st, int i, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", st->dir, slot_names[i]);
}


/* Reads slot i whole (decompressed).  Returns 0 with the text in *text
 * (free() it), 1 (absent) or -1 (torn or corrupt: gzip error, bad CRC,
 * larger than STATE_TEXT_MAX; logged). */
static int
slot_read(const state_t *st, int i, char **text, size_t *len)
{
    char      path[4096];
    gzFile    gz;
    buf_t     b = { 0 };
    int       n = 0, errnum = Z_OK, big = 0;

    *text = NULL;
    *len = 0;
    slot_path(st, i, path, sizeof(path));
    gz = gzopen(path, "rb");
    if (gz == NULL) {
        if (errno == ENOENT) {
            return 1;
        }
        log_error_kv("checkpoint cannot be opened", LOG_STR("path", path),
                     LOG_STR("err", strerror(errno)));
        return -1;
    }
    for (;;) {
        if (b.len > STATE_TEXT_MAX) {
            big = 1;                        /* a gzip bomb is not read */
            break;
        }
        buf_reserve(&b, 65536);
        n = gzread(gz, b.p + b.len, 65536);
        if (n <= 0) {
            break;
        }
        b.len += (size_t) n;
    }
    if (!big) {
        gzerror(gz, &errnum);
    }
    if (gzclose(gz) != Z_OK && !big) {
        errnum = Z_DATA_ERROR;
    }
    if (big || n < 0 || errnum != Z_OK) {
        log_error_kv("checkpoint torn or corrupt", LOG_STR("path", path),
                     LOG_STR("err", big ? "decompresses past the size bound"
                             : "bad gzip stream"));
        buf_free(&b);
        return -1;
    }
    *text = buf_detach(&b, len);
    if (*text == NULL) {
        *text = strdup("");                 /* an empty file */
        *len = 0;
        if (*text == NULL) {
            return -1;
        }
    }
    return 0;
}


/* Appends text gzip-compressed (level 1: a checkpoint is written every
 * few seconds) to gz.  Returns 0, or -1 with a reason in err (gz is then
 * freed). */
static int
gzip_text(const buf_t *text, buf_t *gz, char *err, size_t errlen)
{
    z_stream  z;
    int       rc;

    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        snprintf(err, errlen, "deflateInit2() failed");
        return -1;
    }
    buf_reserve(gz, deflateBound(&z, (uLong) text->len) + 64);
    z.next_in = (Bytef *) text->p;
    z.avail_in = (uInt) text->len;
    z.next_out = (Bytef *) gz->p;
    z.avail_out = (uInt) (gz->cap - 1);
    rc = deflate(&z, Z_FINISH);
    gz->len = (gz->cap - 1) - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        snprintf(err, errlen, "deflate() failed");
        buf_free(gz);
        return -1;
    }
    return 0;
}


/* mkdir -p dir.  Returns 0, or -1 with errno. */
static int
mkdir_p(const char *dir, mode_t mode)
{
    char    tmp[4096], *p;
    size_t  len = strlen(dir);

    if (len == 0 || len >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, dir, len + 1);
    for (p = tmp + 1; *p; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
            return -1;
        }
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}


/* Writes path atomically: temporary file, fsync, rename, fsync of the
 * directory. */
static int
write_file(const char *path, const char *p, size_t len, char *err,
    size_t errlen)
{
    char     tmp[4200], dir[4200], *slash;
    ssize_t  w;
    size_t   done = 0;
    int      fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "open() of %s failed: %s", tmp, strerror(errno));
        return -1;
    }
    while (done < len) {
        w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            snprintf(err, errlen, "write() of %s failed: %s", tmp,
                     w < 0 ? strerror(errno) : "short write");
            close(fd);
            unlink(tmp);
            return -1;
        }
        done += (size_t) w;
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "fsync() of %s failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "rename() of %s failed: %s", tmp,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void) fsync(fd);
            close(fd);
        }
    }
    return 0;
}
