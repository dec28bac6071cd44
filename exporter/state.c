/* state.c - Checkpoints: file positions and every series value.
 *
 * The text inside the gzip stream, one record per line, fields separated
 * by single spaces; strings are percent-encoded (bytes <= 0x20, '%' and
 * >= 0x7f as %XX; the empty string as a lone "%"):
 *
 *   gwlog_state 2 GENERATION UNIX_TIME
 *   file INPUT DEV INO OFFSET FP_LEN FP SKIPPING ROTATED PATH CARRY
 *        TFP_LEN TFP
 *                                    (version 1 had no TFP_LEN and TFP)
 *   family NAME c|h NLABELS LABEL... NBUCKETS BOUND... OVERFLOWED
 *   s VALUE... COUNT...  [histograms: NBUCKETS+1 counts, then SUM]
 *   end NFILES NFAMILIES NSERIES
 *
 * Bucket bounds and sums are written with %a (exact).  "s" lines belong to
 * the family line above them.
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

#include "exporter/buf.h"
#include "exporter/log.h"


#define STATE_VERSION   2
#define MAX_FIELDS      256

struct state {
    char       *dir;
    uint64_t    generation;     /* of the last checkpoint read or written */
};

typedef struct {
    char       *data;           /* whole decompressed text, owned */
    size_t      len;
    uint64_t    generation;
    double      saved_at;
} slot_t;


static const char  *slot_names[2] = { "checkpoint.a.gz", "checkpoint.b.gz" };


static void put_str(buf_t *b, const char *p, size_t len);
static size_t get_str(char *tok);
static int slot_read(const state_t *st, int i, slot_t *slot);
static int slot_apply(slot_t *slot, store_t *store, state_file_t **files,
    size_t *nfiles, state_info_t *info);
static size_t split(char *line, char **tok, size_t max);
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


int
state_load(state_t *st, store_t *store, state_file_t **files, size_t *nfiles,
    state_info_t *info)
{
    slot_t  slots[2];
    int     ok[2], i, best = -1, present = 0;

    memset(info, 0, sizeof(*info));
    *files = NULL;
    *nfiles = 0;
    for (i = 0; i < 2; i++) {
        memset(&slots[i], 0, sizeof(slots[i]));
        ok[i] = slot_read(st, i, &slots[i]);
        if (ok[i] == 0) {
            present++;
            if (best < 0 || slots[i].generation > slots[best].generation) {
                best = i;
            }
        } else if (ok[i] < 0) {
            present++;
            info->corrupt++;
        }
    }
    /* A slot newer than the best valid one that failed to read is the torn
     * checkpoint; the best valid one is the previous good one. */
    if (best >= 0) {
        if (slot_apply(&slots[best], store, files, nfiles, info) != 0) {
            /* Valid gzip, but not a checkpoint we understand. */
            log_error("checkpoint %s/%s is unusable, trying the other slot",
                      st->dir, slot_names[best]);
            info->corrupt++;
            state_files_free(*files, *nfiles);
            *files = NULL;
            *nfiles = 0;
            i = 1 - best;
            best = (ok[i] == 0
                    && slot_apply(&slots[i], store, files, nfiles, info) == 0)
                   ? i : -1;
        }
    }
    for (i = 0; i < 2; i++) {
        free(slots[i].data);
    }
    if (best < 0) {
        return present ? -1 : 1;
    }
    st->generation = slots[best].generation;
    info->generation = slots[best].generation;
    info->saved_at = slots[best].saved_at;
    if (slots[1 - best].generation > slots[best].generation
        || ok[1 - best] < 0)
    {
        log_warn("checkpoint %s/%s was torn or corrupt; used the previous "
                 "one (generation %" PRIu64 ")", st->dir,
                 slot_names[1 - best], slots[best].generation);
    }
    return 0;
}


int
state_save(state_t *st, const store_snap_t *snap, const state_file_t *files,
    size_t nfiles, char *err, size_t errlen)
{
    const store_snap_family_t  *f;
    const uint64_t             *counts;
    buf_t                       text = { 0 }, gz = { 0 };
    strv_t                      values[64];
    char                        path[4096];
    double                      raw_sum;
    size_t                      i, j, k, nseries = 0;
    uint64_t                    gen = st->generation + 1;
    z_stream                    z;
    int                         rc;

    buf_printf(&text, "gwlog_state %d %" PRIu64 " %lld\n", STATE_VERSION, gen,
               (long long) time(NULL));
    for (i = 0; i < nfiles; i++) {
        const state_file_t  *sf = &files[i];

        buf_printf(&text, "file %zu %" PRIu64 " %" PRIu64 " %" PRIu64 " %u "
                   "%016" PRIx64 " %d %d ", sf->input, sf->dev, sf->ino,
                   sf->offset, sf->fp_len, sf->fp, sf->skipping, sf->rotated);
        put_str(&text, sf->path, strlen(sf->path));
        buf_append(&text, " ", 1);
        put_str(&text, sf->carry, sf->carry_len);
        buf_printf(&text, " %u %016" PRIx64 "\n", sf->tfp_len, sf->tfp);
    }
    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (f->nlabels > 64) {
            continue;
        }
        buf_printf(&text, "family %s %c %zu", f->name,
                   f->type == STORE_HISTOGRAM ? 'h' : 'c', f->nlabels);
        for (k = 0; k < f->nlabels; k++) {
            buf_printf(&text, " %s", f->labels[k]);
        }
        buf_printf(&text, " %zu", f->nbuckets);
        for (k = 0; k < f->nbuckets; k++) {
            buf_printf(&text, " %a", f->buckets[k]);
        }
        buf_printf(&text, " %" PRIu64 "\n", f->overflowed);
        for (j = 0; j < f->nseries; j++) {
            store_snap_labels(snap, i, j, values);
            buf_append(&text, "s", 1);
            for (k = 0; k < f->nlabels; k++) {
                buf_append(&text, " ", 1);
                put_str(&text, values[k].p, values[k].len);
            }
            if (f->type == STORE_COUNTER) {
                buf_printf(&text, " %" PRIu64 "\n",
                           store_snap_counter(snap, i, j));
            } else {
                counts = store_snap_buckets(snap, i, j, &raw_sum);
                for (k = 0; k <= f->nbuckets; k++) {
                    buf_printf(&text, " %" PRIu64, counts[k]);
                }
                buf_printf(&text, " %a\n", raw_sum);
            }
            nseries++;
        }
    }
    buf_printf(&text, "end %zu %zu %zu\n", nfiles, store_snap_nfamilies(snap),
               nseries);

    /* gzip (level 1: a checkpoint is written every few seconds). */
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        != Z_OK)
    {
        snprintf(err, errlen, "deflateInit2() failed");
        buf_free(&text);
        return -1;
    }
    buf_reserve(&gz, deflateBound(&z, (uLong) text.len) + 64);
    z.next_in = (Bytef *) text.p;
    z.avail_in = (uInt) text.len;
    z.next_out = (Bytef *) gz.p;
    z.avail_out = (uInt) (gz.cap - 1);
    rc = deflate(&z, Z_FINISH);
    gz.len = (gz.cap - 1) - z.avail_out;
    deflateEnd(&z);
    buf_free(&text);
    if (rc != Z_STREAM_END) {
        snprintf(err, errlen, "deflate() failed");
        buf_free(&gz);
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s", st->dir, slot_names[gen % 2]);
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


/* Appends p[0..len) percent-encoded; "%" alone for the empty string. */
static void
put_str(buf_t *b, const char *p, size_t len)
{
    static const char  hex[] = "0123456789ABCDEF";
    unsigned char      c;
    size_t             i, start = 0;
    char               esc[3];

    if (len == 0) {
        buf_append(b, "%", 1);
        return;
    }
    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];
        if (c > 0x20 && c != '%' && c < 0x7f) {
            continue;
        }
        buf_append(b, p + start, i - start);
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        buf_append(b, esc, 3);
        start = i + 1;
    }
    buf_append(b, p + start, len - start);
}


/* Decodes a put_str() token in place; returns its length. */
static size_t
get_str(char *tok)
{
    char    *r = tok, *w = tok;
    char     h[3] = { 0 };

    if (strcmp(tok, "%") == 0) {
        tok[0] = '\0';
        return 0;
    }
    while (*r) {
        if (*r == '%' && r[1] && r[2]) {
            h[0] = r[1];
            h[1] = r[2];
            *w++ = (char) strtol(h, NULL, 16);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t) (w - tok);
}


/* Reads and checks slot i.  Returns 0 (valid), 1 (absent) or -1 (torn or
 * corrupt: gzip error, bad CRC, no "end" line). */
static int
slot_read(const state_t *st, int i, slot_t *slot)
{
    char      path[4096], *p, *last, *tok[8];
    gzFile    gz;
    buf_t     b = { 0 };
    int       n, errnum;
    size_t    nt;

    snprintf(path, sizeof(path), "%s/%s", st->dir, slot_names[i]);
    gz = gzopen(path, "rb");
    if (gz == NULL) {
        return errno == ENOENT ? 1 : -1;
    }
    for (;;) {
        buf_reserve(&b, 65536);
        n = gzread(gz, b.p + b.len, 65536);
        if (n <= 0) {
            break;
        }
        b.len += (size_t) n;
    }
    gzerror(gz, &errnum);
    if (gzclose(gz) != Z_OK || n < 0 || errnum != Z_OK || b.len == 0
        || b.p[b.len - 1] != '\n')
    {
        log_error("checkpoint %s is torn or corrupt", path);
        buf_free(&b);
        return -1;
    }
    b.p[b.len] = '\0';

    /* The header, the body and the closing "end" line. */
    b.p[b.len - 1] = '\0';                  /* the last newline */
    p = strchr(b.p, '\n');                  /* end of the header */
    last = strrchr(b.p, '\n');              /* start of the last line - 1 */
    if (p == NULL || strncmp(last + 1, "end ", 4) != 0
        || strncmp(b.p, "gwlog_state ", 12) != 0)
    {
        log_error("checkpoint %s is incomplete", path);
        buf_free(&b);
        return -1;
    }
    *p = '\0';
    nt = split(b.p, tok, 8);
    if (nt < 4 || atoi(tok[1]) < 1 || atoi(tok[1]) > STATE_VERSION) {
        log_error("checkpoint %s: unknown version", path);
        buf_free(&b);
        return -1;
    }
    slot->generation = strtoull(tok[2], NULL, 10);
    slot->saved_at = strtod(tok[3], NULL);
    /* Keep the body, the lines between the header and "end". */
    slot->len = last > p ? (size_t) (last - p) : 0;
    slot->data = malloc(slot->len + 1);
    if (slot->data == NULL) {
        buf_free(&b);
        return -1;
    }
    memcpy(slot->data, p + 1, slot->len);
    slot->data[slot->len] = '\0';
    buf_free(&b);
    return 0;
}


/* Restores the body of a valid slot. */
static int
slot_apply(slot_t *slot, store_t *store, state_file_t **files,
    size_t *nfiles, state_info_t *info)
{
    const store_snap_family_t  *def = NULL;
    store_family_t             *fam = NULL;
    state_file_t               *sf, *more;
    char                       *line, *next, *tok[MAX_FIELDS], *copy;
    strv_t                      values[64];
    uint64_t                    counts[64];
    double                      sum;
    size_t                      nt, k, nl, nb, cap = 0;
    int                         match = 0;
    uint32_t                    id;

    copy = strdup(slot->data);
    if (copy == NULL) {
        return -1;
    }
    for (line = copy; line != NULL && *line; line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        nt = split(line, tok, MAX_FIELDS);
        if (nt == 0) {
            continue;
        }
        if (strcmp(tok[0], "file") == 0 && (nt == 11 || nt == 13)) {
            if (*nfiles == cap) {
                cap = cap ? cap * 2 : 16;
                more = realloc(*files, cap * sizeof(state_file_t));
                if (more == NULL) {
                    goto err;
                }
                *files = more;
            }
            sf = &(*files)[*nfiles];
            memset(sf, 0, sizeof(*sf));
            sf->input = strtoull(tok[1], NULL, 10);
            sf->dev = strtoull(tok[2], NULL, 10);
            sf->ino = strtoull(tok[3], NULL, 10);
            sf->offset = strtoull(tok[4], NULL, 10);
            sf->fp_len = (uint32_t) strtoul(tok[5], NULL, 10);
            sf->fp = strtoull(tok[6], NULL, 16);
            sf->skipping = atoi(tok[7]);
            sf->rotated = atoi(tok[8]);
            get_str(tok[9]);
            sf->path = strdup(tok[9]);
            sf->carry_len = get_str(tok[10]);
            sf->carry = malloc(sf->carry_len + 1);
            if (sf->path == NULL || sf->carry == NULL) {
                free(sf->path);
                free(sf->carry);
                goto err;
            }
            memcpy(sf->carry, tok[10], sf->carry_len);
            if (nt == 13) {
                sf->tfp_len = (uint32_t) strtoul(tok[11], NULL, 10);
                sf->tfp = strtoull(tok[12], NULL, 16);
            }
            (*nfiles)++;
            continue;
        }
        if (strcmp(tok[0], "family") == 0 && nt >= 5) {
            fam = store_family_find(store, tok[1]);
            def = fam ? store_family_info(fam) : NULL;
            nl = strtoul(tok[3], NULL, 10);
            match = def != NULL && nl == def->nlabels && nl <= 64
                    && 4 + nl < nt
                    && (tok[2][0] == 'h') == (def->type == STORE_HISTOGRAM);
            for (k = 0; match && k < nl; k++) {
                match = strcmp(tok[4 + k], def->labels[k]) == 0;
            }
            nb = match ? strtoul(tok[4 + nl], NULL, 10) : 0;
            match = match && nb == def->nbuckets && nb < 63
                    && 5 + nl + nb < nt;
            for (k = 0; match && k < nb; k++) {
                match = strtod(tok[5 + nl + k], NULL) == def->buckets[k];
            }
            if (match) {
                store_add_overflowed(fam, strtoull(tok[5 + nl + nb], NULL,
                                                   10));
            } else {
                log_warn("checkpoint: family %s is not defined the same way "
                         "any more; its saved series are dropped", tok[1]);
            }
            continue;
        }
        if (strcmp(tok[0], "s") == 0) {
            if (!match) {
                info->skipped++;
                continue;
            }
            nl = def->nlabels;
            nb = def->type == STORE_HISTOGRAM ? def->nbuckets + 2 : 1;
            if (nt != 1 + nl + nb) {
                goto err;
            }
            for (k = 0; k < nl; k++) {
                values[k].len = get_str(tok[1 + k]);
                values[k].p = tok[1 + k];
            }
            sum = 0;
            if (def->type == STORE_COUNTER) {
                counts[0] = strtoull(tok[1 + nl], NULL, 10);
            } else {
                for (k = 0; k + 1 < nb; k++) {
                    counts[k] = strtoull(tok[1 + nl + k], NULL, 10);
                }
                sum = strtod(tok[nl + nb], NULL);
            }
            id = store_series(fam, values);
            store_merge(fam, id, counts, sum);
            info->series++;
            continue;
        }
        goto err;
    }
    free(copy);
    return 0;

err:
    free(copy);
    return -1;
}


/* Splits line on single spaces, in place; returns the token count. */
static size_t
split(char *line, char **tok, size_t max)
{
    size_t  n = 0;
    char   *p = line, *sp;

    while (n < max && p != NULL) {
        tok[n++] = p;
        sp = strchr(p, ' ');
        if (sp) {
            *sp = '\0';
            p = sp + 1;
        } else {
            p = NULL;
        }
    }
    return p == NULL ? n : max + 1;
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
