/* tail_copy.c - Content, wherever it is: the head of a file read through
 * zlib (a gzip file decompressed, any other as it is), whether a file
 * holds a record's bytes up to its offset, reading a copy from an offset,
 * and recovering the unread bytes of a truncated file from its copy.
 */

#include "exporter/tail_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
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


static int recover_copy(tail_t *t, tfile_t *f);


/* Reads the first bytes of path, through zlib: a gzip file is read
 * decompressed, any other as it is. */
int
tail_probe_head(const char *path, probe_t *p)
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
int
tail_verify_copy(const tfile_t *f, const char *path, const probe_t *p)
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
int
tail_head_matches(tfile_t *f, const char *path)
{
    probe_t  p;

    if (tail_probe_head(path, &p) != 0) {
        return 0;
    }
    f->gz = p.gz;
    return f->fp_len == 0 || (p.head_len >= f->fp_len
                              && hash_bytes(p.head, f->fp_len, 0) == f->fp);
}


/* Whether the (short) candidate p is the start of open file f. */
int
tail_head_prefix_of(const tfile_t *f, const probe_t *p)
{
    char  buf[FP_MAX];

    return p->head_len > 0
           && pread(f->fd, buf, p->head_len, 0) == (ssize_t) p->head_len
           && memcmp(buf, p->head, p->head_len) == 0;
}


/* Whether a gzip file ends properly (it is not being written). */
int
tail_gz_complete(const char *path)
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
int64_t
tail_read_copy(tail_t *t, tfile_t *f, const char *path, off_t from, int *complete)
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
        store_ingest_lock(t->store);
        f->offset += (off_t) n;
        pipeline_bytes(t->pipe, (uint64_t) n);
        tfile_feed(t, f, t->buf, n);
        store_ingest_unlock(t->store);
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
    tfile_publish(f);
    return total;
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
    tfile_tfp_update(f);                          /* pin the offset if we can */
    if (f->tfp_at != f->offset) {
        f->tfp_len = 0;
    }
    for (i = 0; i < in->nrotated && !found; i++) {
        pat = tail_expand(in->rotated[i], f->path);
        if (pat == NULL || glob(pat, 0, NULL, &g) != 0) {
            free(pat);
            continue;
        }
        free(pat);
        for (k = 0; k < g.gl_pathc && !found; k++) {
            if (stat(g.gl_pathv[k], &c.st) != 0 || !S_ISREG(c.st.st_mode)
                || (c.st.st_dev == f->dev && c.st.st_ino == f->ino)
                || tail_probe_head(g.gl_pathv[k], &p) != 0)
            {
                continue;
            }
            v = tail_verify_copy(f, g.gl_pathv[k], &p);
            if (v != V_AT && v != V_LONGER && v != V_PREFIX) {
                continue;
            }
            found = 1;
            /* V_PREFIX: the copy was taken before the bytes we read last
             * (they were in the file before the truncation): nothing in
             * it is new. */
            if (v != V_PREFIX) {
                log_debug_kv("reading a rotated copy",
                             LOG_STR("path", g.gl_pathv[k]),
                             LOG_U64("offset", (uint64_t) f->offset));
                tail_read_copy(t, f, g.gl_pathv[k], f->offset, NULL);
            }
            if (seen > f->offset) {
                /* The unfinished line at the copy's end went on in those
                 * bytes: it is lost with them. */
                tail_count_lost(t, f->path,
                           (uint64_t) (seen - f->offset) + f->carry_len);
                log_warn_kv("bytes written after the copy was taken and "
                            "truncated before they could be read "
                            "(copytruncate window): lost",
                            LOG_STR("path", f->path),
                            LOG_STR("copy", g.gl_pathv[k]),
                            LOG_U64("offset", (uint64_t) (f->offset
                                                - (off_t) f->carry_len)),
                            LOG_U64("end", (uint64_t) seen),
                            LOG_U64("bytes", (uint64_t) (seen - f->offset
                                                + (off_t) f->carry_len)));
                f->carry_len = 0;
                f->skipping = 0;
            }
            c.path = g.gl_pathv[k];
            c.input = f->input;
            c.used = 1;
            c.live = 0;
            c.probed = 0;
            c.probe = NULL;
            tail_register_copy(t, &c, &p, v == V_PREFIX ? NULL : f);
        }
        globfree(&g);
    }
    return found;
}


/* f's file is now shorter than what we read, or its first bytes changed:
 * recover the unread bytes from a rotated copy, then read it from 0.
 * f->size must still be the last size seen of the old content.  When no
 * copy holds the rest and we had read everything, an unfinished line may
 * still end in what the writer appends next (copytruncate with an
 * O_APPEND writer), so it is kept if keep_carry is set. */
void
tfile_truncated(tail_t *t, tfile_t *f, off_t size, int keep_carry)
{
    uint64_t  lost;

    if (recover_copy(t, f)) {
        tail_count_rotation(t, f->path, "copytruncate");
        log_info_kv("truncated (copytruncate): read the rest of the old "
                    "content from its rotated copy", LOG_STR("path", f->path));
    } else {
        lost = f->size > f->offset ? (uint64_t) (f->size - f->offset) : 0;
        if (lost > 0 || !keep_carry) {
            lost += f->carry_len;
            f->carry_len = 0;
            f->skipping = 0;
        }
        tail_count_lost(t, f->path, lost);
        tail_count_rotation(t, f->path, "truncate");
        log_warn_kv("truncated and no rotated copy matches: unread bytes "
                    "lost (at least)", LOG_STR("path", f->path),
                    LOG_U64("bytes", lost));
    }
    /* A line cut by the truncation may or may not go on in what the
     * writer appends next: feed_joined() decides when its newline
     * comes. */
    f->join_at = f->skipping ? 0 : f->carry_len;
    f->offset = 0;
    f->size = size;
    f->fp_len = 0;
    f->fp = 0;
    f->tfp_len = 0;
    f->tfp = 0;
    f->tfp_at = 0;
}


/* A record for generation c whose content we count as read: a copy of
 * like (its fingerprints; NULL: computed from c). */
void
tail_register_copy(tail_t *t, match_t *c, const probe_t *p, const tfile_t *like)
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
    if ((f = tfile_new(t, c->path, c->input)) == NULL) {
        return;
    }
    log_debug_kv(like != NULL ? "a copy, known as read" : "known as read",
                 LOG_STR("path", c->path),
                 LOG_U64("inode", (uint64_t) c->st.st_ino));
    f->rotated = K_DONE;
    f->dev = c->st.st_dev;
    f->ino = c->st.st_ino;
    f->gz = p->gz;
    f->disk_size = c->st.st_size;
    f->mtime_ns = tail_mtime_ns(&c->st);
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
        if (tfile_open(f, f->path) == 0) {
            tfile_tfp_update(f);
            tfile_close(f);
        }
    }
    /* else: a compressed old generation, known by inode only. */
    f->size = f->offset;
    tfile_publish(f);
}


int64_t
tail_mtime_ns(const struct stat *st)
{
    return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}
