/* tail_scan.c - The scan: the files under the input globs and the
 * generations under the "rotated" globs of each live path, paired with the
 * records by inode first, then by content.  See "Generations" in tail.c
 * and the README's "Exactly once" for the rules.
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


static void match_identities(tail_t *t, match_t *m, size_t nm);
static int cmp_ident(const void *a, const void *b);
static const probe_t *candidate_probe(match_t *c);
static int cmp_path(const void *a, const void *b);
static int scan_found(tail_t *t, tfile_t *f, match_t *c, double now);
static int scan_found_done(tail_t *t, tfile_t *f, match_t *c, double now);
static void scan_take_path(tail_t *t, tfile_t *f, match_t *c);
static int scan_relocate(tail_t *t, tfile_t *f, match_t *m, size_t nm);
static void scan_gone(tail_t *t, tfile_t *f);
static void scan_new_live(tail_t *t, match_t *c);
static void scan_new_generation(tail_t *t, match_t *c);
static size_t glob_inputs(tail_t *t, match_t **out);
static size_t glob_generations(tail_t *t, match_t **mp, size_t nm);


/* Matches the files under the globs, and the generations under the
 * "rotated" patterns, with the records we hold.  See "Generations" at the
 * top of this file. */
void
tail_scan(tail_t *t, int gens)
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
                tail_count_rotation(t, f->path, "rename");
                log_info_kv("renamed or deleted: reading the old file for "
                            "tail.rotate_wait more", LOG_STR("path", f->path),
                            LOG_F64("seconds", t->cfg->tail.rotate_wait));
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
        tfile_remove(t, i--);
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
            tfile_done(t, f, &st);
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
        free(m[i].probe);
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
    tail_limit_open_files(t);
}


/* Pairs candidates with records by device and inode. */
static void
match_identities(tail_t *t, match_t *m, size_t nm)
{
    match_t  key;
    size_t   i, lo, hi, mid;
    int      pass;

    /* Sorted by identity, each record finds its candidates by bisection:
     * records times candidates would be millions of comparisons a scan
     * with thousands of files and their generations. */
    if (nm > 1) {
        qsort(m, nm, sizeof(match_t), cmp_ident);   /* m is NULL when 0 */
    }
    for (i = 0; i < t->nfiles; i++) {
        t->files[i]->match = NULL;
    }
    /* An open descriptor pins its inode: those records first, so that a
     * closed record whose inode was freed and reused loses to them. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < t->nfiles; i++) {
            tfile_t  *f = t->files[i];

            if (f->match != NULL || (f->fd >= 0) != (pass == 0)) {
                continue;
            }
            key.st.st_dev = f->dev;
            key.st.st_ino = f->ino;
            for (lo = 0, hi = nm; lo < hi; ) {  /* the first not below */
                mid = lo + (hi - lo) / 2;
                if (cmp_ident(&m[mid], &key) < 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            for ( ; lo < nm && cmp_ident(&m[lo], &key) == 0; lo++) {
                if (!m[lo].used) {
                    f->match = &m[lo];
                    m[lo].used = 1;
                    break;
                }
            }
        }
    }
}


static int
cmp_ident(const void *a, const void *b)
{
    const struct stat  *x = &((const match_t *) a)->st;
    const struct stat  *y = &((const match_t *) b)->st;

    if (x->st_dev != y->st_dev) {
        return x->st_dev < y->st_dev ? -1 : 1;
    }
    if (x->st_ino != y->st_ino) {
        return x->st_ino < y->st_ino ? -1 : 1;
    }
    return 0;
}


/* By path, a live candidate before a generation of the same path. */
static int
cmp_path(const void *a, const void *b)
{
    const match_t  *x = a, *y = b;
    int             c = strcmp(x->path, y->path);

    return c != 0 ? c : y->live - x->live;
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
        if (tfile_open(f, c->path) != 0) {
            return 0;
        }
        if (c->st.st_size < f->offset || !tfile_position_matches(f, f->fd)) {
            if (!c->live) {
                /* A generation now holds our inode (freed and reused):
                 * our content is elsewhere, if anywhere. */
                tfile_close(f);
                c->used = 0;
                return -1;
            }
            replaced = 1;                   /* truncated, or reused */
        }
    }
    if (!c->live && f->rotated == K_LIVE) {
        /* Logged before f takes c's path: both names are known. */
        if (restored) {
            log_info_kv("rotated while we were stopped: reading it from "
                        "its offset", LOG_STR("from", f->path),
                        LOG_STR("to", c->path),
                        LOG_U64("offset", (uint64_t) f->offset));
        } else {
            log_info_kv("renamed: reading it for tail.rotate_wait more",
                        LOG_STR("from", f->path), LOG_STR("to", c->path),
                        LOG_F64("seconds", t->cfg->tail.rotate_wait));
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
        tail_count_rotation(t, c->path, "rename");
    }
    if (replaced) {
        /* Same inode, other content at the live path: truncated while
         * we were stopped or closed (a copy may hold the rest), or the
         * inode was reused by a new file. */
        log_info_kv("same inode, new content: reading it from its start",
                    LOG_STR("path", f->path));
        f->size = f->offset;
        tfile_truncated(t, f, c->st.st_size, 0);
        return 0;
    }
    f->size = c->st.st_size;
    /* Content replaced in place (truncated and rewritten past our offset
     * before we looked) shows in the first bytes. */
    if (f->fd >= 0 && f->size >= f->offset && !tfile_position_matches(f, f->fd)) {
        off_t  size = f->size;

        f->size = f->offset;
        tfile_truncated(t, f, size, 0);
    }
    return 0;
}


/* scan_found() for a generation read to its end. */
static int
scan_found_done(tail_t *t, tfile_t *f, match_t *c, double now)
{
    int  restored = f->restored;

    if (!restored && !c->live && c->st.st_size == f->disk_size
        && tail_mtime_ns(&c->st) == f->mtime_ns)
    {
        scan_take_path(t, f, c);            /* unchanged, maybe renamed */
        return 0;
    }
    if (!tail_head_matches(f, c->path)) {
        log_debug_kv("inode reused by other content",
                     LOG_STR("path", c->path),
                     LOG_U64("inode", (uint64_t) c->st.st_ino));
        c->used = 0;
        return -1;
    }
    scan_take_path(t, f, c);
    f->restored = 0;
    f->disk_size = c->st.st_size;
    f->mtime_ns = tail_mtime_ns(&c->st);
    if (f->gz || (!c->live && c->st.st_size <= f->offset)) {
        return 0;
    }
    /* A plain generation that grew after we closed it (a writer that
     * reopened late), or one moved back under a glob: read on. */
    if (tfile_open(f, c->path) != 0) {
        return 0;
    }
    if (f->size < f->offset || !tfile_position_matches(f, f->fd)) {
        tfile_close(f);
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
    const probe_t  *p;
    size_t          j;
    int             v, unsure = 0;

    for (j = 0; j < nm; j++) {
        if (m[j].used || m[j].live) {
            continue;
        }
        p = candidate_probe(&m[j]);
        if (m[j].probed == -2) {
            unsure = 1;                     /* being compressed */
            continue;
        }
        if (p == NULL) {
            continue;
        }
        v = tail_verify_copy(f, m[j].path, p);
        unsure |= v == V_UNSURE;
        if (v != V_AT && v != V_LONGER && v != V_PREFIX) {
            continue;
        }
        if (v == V_PREFIX && f->size > f->offset) {
            /* It holds less than we read: what f held past our offset
             * is nowhere. */
            tail_count_lost(t, f->path, (uint64_t) (f->size - f->offset));
            log_warn_kv("bytes never read and no generation holds them "
                        "(lost)", LOG_STR("path", f->path),
                        LOG_U64("offset", (uint64_t) f->offset),
                        LOG_U64("end", (uint64_t) f->size),
                        LOG_U64("bytes", (uint64_t) (f->size - f->offset)));
        }
        m[j].used = 1;
        if (f->rotated != K_DONE) {
            tail_count_rotation(t, f->path, "rename");
        }
        log_info_kv(v == V_LONGER ? "found under another name: reading "
                    "the rest" : "found under another name",
                    LOG_STR("from", f->path), LOG_STR("to", m[j].path));
        pthread_mutex_lock(&t->files_lock);
        free(f->path);
        f->path = strdup(m[j].path);
        pthread_mutex_unlock(&t->files_lock);
        if (f->path == NULL) {
            return -1;
        }
        f->dev = m[j].st.st_dev;
        f->ino = m[j].st.st_ino;
        f->gz = p->gz;
        f->restored = 0;
        if (v == V_LONGER && !p->gz) {
            /* A plain copy: follow it as a rotated file. */
            if (tfile_open(f, f->path) == 0) {
                f->rotated = K_ROTATED;
                f->last_growth = clock_mono();
                return 0;
            }
        } else if (v == V_LONGER) {
            tail_read_copy(t, f, f->path, f->offset, NULL);
            store_ingest_lock(t->store);
            tfile_flush_last(t, f);
            store_ingest_unlock(t->store);
        }
        f->rotated = K_DONE;
        f->disk_size = m[j].st.st_size;
        f->mtime_ns = tail_mtime_ns(&m[j].st);
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
        log_debug_kv("gone (read to its end)", LOG_STR("path", f->path));
        return;
    }
    if (f->restored) {
        /* Known only from the checkpoint: it may have grown before it
         * was rotated away or deleted, and nobody can tell by how much. */
        strv_t  v = { f->path, strlen(f->path) };

        store_ingest_lock(t->store);
        store_add(t->f_files_lost, store_series(t->f_files_lost, &v), 1);
        store_ingest_unlock(t->store);
        log_warn_kv("vanished while we were stopped and no generation "
                    "holds it: whatever it held past its offset is lost "
                    "(counted in gwlog_files_lost_total)",
                    LOG_STR("path", f->path),
                    LOG_U64("inode", (uint64_t) f->ino),
                    LOG_U64("offset", (uint64_t) f->offset));
        return;
    }
    if (f->size > f->offset) {
        lost = (uint64_t) (f->size - f->offset);
    }
    if (lost > 0 || f->carry_len > 0) {
        tail_count_lost(t, f->path, lost);
        log_warn_kv("gone and no generation holds it: bytes never read "
                    "(lost), an unfinished line is counted as it is",
                    LOG_STR("path", f->path),
                    LOG_U64("inode", (uint64_t) f->ino),
                    LOG_U64("offset", (uint64_t) f->offset),
                    LOG_U64("end", (uint64_t) f->size),
                    LOG_U64("bytes", (uint64_t) (f->size - f->offset)),
                    LOG_U64("carry_bytes", (uint64_t) f->carry_len));
    } else {
        log_info_kv("gone, read to its offset", LOG_STR("path", f->path),
                    LOG_U64("inode", (uint64_t) f->ino),
                    LOG_U64("offset", (uint64_t) f->offset));
    }
}


/* A file under a glob that no record knows. */
static void
scan_new_live(tail_t *t, match_t *c)
{
    tfile_t  *f;

    f = tfile_new(t, c->path, c->input);
    if (f == NULL || tfile_open(f, f->path) != 0) {
        if (f != NULL) {
            tfile_remove(t, t->nfiles - 1);
        }
        return;
    }
    if (t->first_scan && !t->have_state
        && t->cfg->inputs[c->input].start_at == CFG_START_END)
    {
        f->offset = c->st.st_size;
        tfile_fp_update(f);
    }
    t->gens_due = 1;
    log_info_kv("following", LOG_STR("path", f->path),
                LOG_U64("offset", (uint64_t) f->offset));
}


/* A generation no record knows by inode: a copy of content we know, one
 * still being written (decided later), one older than our horizon (known
 * from now on, never read), or one written after it: read from its
 * start. */
static void
scan_new_generation(tail_t *t, match_t *c)
{
    const probe_t  *p;
    tfile_t        *f;
    size_t          i;
    int             v, complete;

    p = candidate_probe(c);
    if (c->probed == -2) {
        t->gens_due = 1;                    /* still being compressed */
        return;
    }
    if (p == NULL || p->head_len == 0) {
        return;                             /* nothing to read yet */
    }
    for (i = 0; i < t->nfiles; i++) {
        f = t->files[i];
        if (f->dev == c->st.st_dev && f->ino == c->st.st_ino) {
            return;                         /* registered in this scan */
        }
        if (f->fd >= 0 && f->rotated != K_DONE && tail_head_prefix_of(f, p)) {
            /* It starts as a file we hold open does now: a copy of it
             * (copytruncate before the truncation), even when our record
             * has no fingerprint yet (empty at the last checkpoint).  That
             * file brings its bytes itself. */
            t->gens_due = 1;
            return;
        }
        if (f->fp_len == 0) {
            continue;
        }
        if (p->head_len < f->fp_len) {
            /* Too short to tell by the hash: compare with an open file's
             * head (a copy in the making), else decide later. */
            if (f->fd >= 0 && tail_head_prefix_of(f, p)) {
                t->gens_due = 1;
                return;
            }
            continue;
        }
        if (hash_bytes(p->head, f->fp_len, 0) != f->fp) {
            continue;
        }
        if (f->fd >= 0) {
            /* A copy of a file we still read (copytruncate before the
             * truncation, or compression of a rotated file): that file
             * brings its bytes itself. */
            t->gens_due = 1;
            return;
        }
        v = tail_verify_copy(f, c->path, p);
        log_debug_kv("generation compared with a record",
                     LOG_STR("path", c->path), LOG_STR("record", f->path),
                     LOG_I64("verdict", v));
        if (v == V_AT || v == V_PREFIX) {
            /* Content we read already. */
            tail_register_copy(t, c, p, v == V_AT ? f : NULL);
            return;
        }
        if (v == V_LONGER || v == V_UNSURE) {
            t->gens_due = 1;                /* decide later */
            return;
        }
    }
    if ((t->first_scan && !t->have_state)
        || (double) tail_mtime_ns(&c->st) / 1e9 < t->horizon)
    {
        log_debug_kv("an older generation, not read",
                     LOG_STR("path", c->path));
        tail_register_copy(t, c, p, NULL);
        return;
    }
    f = tfile_new(t, c->path, c->input);
    if (f == NULL) {
        return;
    }
    f->gz = p->gz;
    log_info_kv("a generation written after the last checkpoint that was "
                "never followed: reading it from its start",
                LOG_STR("path", c->path));
    if (!p->gz && tfile_open(f, f->path) == 0) {
        f->rotated = K_ROTATED;
        f->last_growth = clock_mono();
        return;
    }
    f->dev = c->st.st_dev;
    f->ino = c->st.st_ino;
    tail_read_copy(t, f, f->path, 0, &complete);
    store_ingest_lock(t->store);
    tfile_flush_last(t, f);
    store_ingest_unlock(t->store);
    if (!complete) {
        log_warn_kv("the gzip stream ends early: read what it holds",
                    LOG_STR("path", f->path));
    }
    f->rotated = K_DONE;
    f->disk_size = c->st.st_size;
    f->mtime_ns = tail_mtime_ns(&c->st);
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
                m[n].probed = 0;
                m[n].probe = NULL;
                n++;
            }
            globfree(&g);
        }
    }
    *out = m;
    return n;
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
            pat = tail_expand(in->rotated[i], base);
            if (pat == NULL || glob(pat, 0, NULL, &g) != 0) {
                free(pat);
                continue;
            }
            free(pat);
            for (k = 0; k < g.gl_pathc; k++) {
                if (stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) {
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
                m[nm].probed = 0;
                m[nm].probe = NULL;
                nm++;
            }
            globfree(&g);
        }
    }
    /* Each path once, a live one rather than a generation (a glob may
     * match both, or two patterns the same name): sorted, not compared
     * pairwise, for thousands of files with tens of generations each. */
    if (nm > 1) {
        qsort(m, nm, sizeof(match_t), cmp_path);    /* m is NULL when 0 */
    }
    for (b = 0, d = 0; b < nm; b++) {
        if (d > 0 && strcmp(m[d - 1].path, m[b].path) == 0) {
            free(m[b].path);
            continue;
        }
        m[d++] = m[b];
    }
    nm = d;
    *mp = m;
    return nm;
}


/* pattern with every "{path}" replaced by path; the caller frees it. */
char *
tail_expand(const char *pattern, const char *path)
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


/* c's head, probed once a scan however many records ask: a gzip stream is
 * judged when whole only (a partial one shows a short head, or none), so
 * it is decompressed to its end once, then its head read again.  NULL,
 * with c->probed -1 (unreadable) or -2 (still being compressed). */
static const probe_t *
candidate_probe(match_t *c)
{
    if (c->probed == 0) {
        c->probe = malloc(sizeof(probe_t));
        c->probed = -1;
        if (c->probe != NULL && tail_probe_head(c->path, c->probe) == 0) {
            c->probed = 1;
            if (c->probe->gz && (!tail_gz_complete(c->path)
                                 || tail_probe_head(c->path, c->probe) != 0))
            {
                c->probed = -2;
            }
        }
    }
    return c->probed == 1 ? c->probe : NULL;
}
