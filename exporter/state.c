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
 *
 * Loading treats the text as hostile: state_parse_text() decodes it into a
 * state_ckpt_t and checks every field (the tables below give each field
 * of a fixed record its bounds, and the relations between them), the
 * record order, the counts of the "end" line and duplicates, before
 * anything is merged into the store; a refused slot leaves no trace in
 * it.  Integers are digits only (a sign is refused, not wrapped), strings
 * must be encoded as put_str() encodes them.
 */

#include "exporter/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "lib/log.h"


#define STATE_VERSION   2
#define MAX_TOKENS      (STATE_LABELS_MAX + STATE_BUCKETS_MAX + 8)
#define NAME_LEN_MAX    1024            /* a family or label name */
#define DIR_MODE        0750            /* as main.c creates it */
#define NO_LEN          ((size_t) -1)

/* offset and size of a record's member, for the field tables. */
#define FIELD(type, m)  offsetof(type, m), sizeof(((type *) 0)->m)

/* How a field is decoded.  A decimal is digits only (no sign, no
 * spaces); a hash is exactly 16 hex digits; a string is percent-encoded,
 * "%" alone being the empty string. */
typedef enum {
    FLD_DEC,
    FLD_HEX,
    FLD_STR
} fld_kind_t;

#define FLD_NO_NUL      1               /* strings: no NUL byte */
#define FLD_NO_NL       2               /* strings: no newline */

/* One field of a fixed record: token tok (after the record's keyword)
 * holds a value in [min, max] (for strings: a decoded length in [min,
 * max]), stored at off (size 4 or 8; for strings a char *, with the length
 * at len_off unless NO_LEN).  Fields with since > the checkpoint's
 * version are absent. */
typedef struct {
    const char     *name;
    fld_kind_t      kind;
    uint64_t        min;
    uint64_t        max;
    size_t          off;
    size_t          size;
    size_t          len_off;
    int             flags;
    unsigned        since;
} field_t;

/* A relation between two numeric fields of a record: a <= b. */
typedef struct {
    const char     *what;
    size_t          a_off;
    size_t          a_size;
    size_t          b_off;
    size_t          b_size;
} field_le_t;

typedef struct {
    uint64_t        version;
    uint64_t        generation;
    uint64_t        saved_at;
} header_t;

typedef struct {
    uint64_t        nfiles;
    uint64_t        nfamilies;
    uint64_t        nseries;
} end_t;

/* A series' label values, for sorting. */
typedef struct {
    const strv_t   *values;
    size_t          n;
} row_t;

/* A family of a decoded checkpoint, with its series.  Strings point into
 * the checkpoint's text. */
typedef struct {
    const char     *name;
    int             hist;
    size_t          nlabels;
    size_t          nbuckets;
    const char    **labels;         /* owned array */
    double         *bounds;         /* owned */
    uint64_t        overflowed;
    size_t          nseries;
    size_t          cap;
    strv_t         *values;         /* nseries * nlabels; owned array */
    uint64_t       *counts;         /* nseries * ncounts; owned */
    double         *sums;           /* nseries, histograms; owned */
} ck_family_t;

struct state_ckpt {
    char           *text;           /* decoded in place; owned */
    header_t        hdr;
    state_file_t   *files;          /* owned */
    size_t          nfiles;
    size_t          files_cap;
    ck_family_t    *fams;           /* owned */
    size_t          nfams;
    size_t          fams_cap;
    size_t          nseries;
};

struct state {
    char           *dir;
    uint64_t        generation;     /* of the last checkpoint read or
                                     * written */
};


static const char  *slot_names[2] = { "checkpoint.a.gz", "checkpoint.b.gz" };

/* The fixed records.  Every bound is what the tailer can produce: an
 * offset is an off_t, a fingerprint covers at most STATE_FP_MAX bytes, a
 * path is a path. */
static const field_t  header_fields[] = {
    { "version", FLD_DEC, 1, STATE_VERSION, FIELD(header_t, version),
      NO_LEN, 0, 1 },
    { "generation", FLD_DEC, 1, UINT64_MAX, FIELD(header_t, generation),
      NO_LEN, 0, 1 },
    { "time", FLD_DEC, 0, INT64_MAX, FIELD(header_t, saved_at),
      NO_LEN, 0, 1 },
};

static const field_t  file_fields[] = {
    { "input", FLD_DEC, 0, STATE_INPUTS_MAX - 1,
      FIELD(state_file_t, input), NO_LEN, 0, 1 },
    { "dev", FLD_DEC, 0, UINT64_MAX, FIELD(state_file_t, dev),
      NO_LEN, 0, 1 },
    { "ino", FLD_DEC, 0, UINT64_MAX, FIELD(state_file_t, ino),
      NO_LEN, 0, 1 },
    { "offset", FLD_DEC, 0, INT64_MAX, FIELD(state_file_t, offset),
      NO_LEN, 0, 1 },
    { "fp_len", FLD_DEC, 0, STATE_FP_MAX, FIELD(state_file_t, fp_len),
      NO_LEN, 0, 1 },
    { "fp", FLD_HEX, 0, UINT64_MAX, FIELD(state_file_t, fp),
      NO_LEN, 0, 1 },
    { "skipping", FLD_DEC, 0, 1, FIELD(state_file_t, skipping),
      NO_LEN, 0, 1 },
    { "rotated", FLD_DEC, 0, STATE_KIND_MAX, FIELD(state_file_t, rotated),
      NO_LEN, 0, 1 },
    { "path", FLD_STR, 1, STATE_PATH_MAX, FIELD(state_file_t, path),
      NO_LEN, FLD_NO_NUL | FLD_NO_NL, 1 },
    { "carry", FLD_STR, 0, STATE_CARRY_MAX, FIELD(state_file_t, carry),
      offsetof(state_file_t, carry_len), FLD_NO_NL, 1 },
    { "tfp_len", FLD_DEC, 0, STATE_FP_MAX, FIELD(state_file_t, tfp_len),
      NO_LEN, 0, 2 },
    { "tfp", FLD_HEX, 0, UINT64_MAX, FIELD(state_file_t, tfp),
      NO_LEN, 0, 2 },
};

/* What was read of a file lies before its offset. */
static const field_le_t  file_relations[] = {
    { "fp_len <= offset", FIELD(state_file_t, fp_len),
      FIELD(state_file_t, offset) },
    { "tfp_len <= offset", FIELD(state_file_t, tfp_len),
      FIELD(state_file_t, offset) },
    { "carry_len <= offset", FIELD(state_file_t, carry_len),
      FIELD(state_file_t, offset) },
};

static const field_t  end_fields[] = {
    { "nfiles", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nfiles),
      NO_LEN, 0, 1 },
    { "nfamilies", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nfamilies),
      NO_LEN, 0, 1 },
    { "nseries", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nseries),
      NO_LEN, 0, 1 },
};

#define NELEMS(a)  (sizeof(a) / sizeof((a)[0]))


static void put_str(buf_t *b, const char *p, size_t len);
static int get_str(char *tok, size_t *len);
static int parse_dec(const char *s, uint64_t *v);
static int parse_hex(const char *s, uint64_t *v);
static int parse_double(const char *s, double *v);
static int valid_name(const char *s);
static void set_uint(void *rec, size_t off, size_t size, uint64_t v);
static uint64_t get_uint(const void *rec, size_t off, size_t size);
static size_t nfields(const field_t *tab, size_t n, unsigned version);
static int decode_fields(const field_t *tab, size_t n, unsigned version,
    char **tok, void *rec, char *err, size_t errlen);
static int parse_file(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int parse_family(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int parse_series(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int check_duplicates(state_ckpt_t *ck, char *err, size_t errlen);
static int cmp_file(const void *a, const void *b);
static int cmp_family(const void *a, const void *b);
static int cmp_series(const void *a, const void *b);
static void *grow(void *p, size_t *cap, size_t n, size_t size);
static size_t split(char *line, char **tok, size_t max);
static int slot_read(const state_t *st, int i, char **text, size_t *len);
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
    char          *text, err[512];
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
            log_error("checkpoint %s/%s refused: %s", st->dir, slot_names[i],
                      err);
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
            log_error("checkpoint %s/%s refused: its files contradict the "
                      "file system", st->dir, slot_names[order[i]]);
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
            log_warn("used checkpoint %s/%s (generation %" PRIu64 ") after "
                     "refusing %d slot%s", st->dir, slot_names[used],
                     c->hdr.generation, info->corrupt,
                     info->corrupt > 1 ? "s" : "");
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


state_ckpt_t *
state_parse_text(const char *text, size_t len, char *err, size_t errlen)
{
    state_ckpt_t  *ck;
    end_t          end;
    char          *line, *next, **tok = NULL, msg[400];
    const char    *what = "header";
    size_t         nt, lineno = 0;
    int            seen_end = 0, in_families = 0;

    ck = calloc(1, sizeof(*ck));
    if (ck == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    msg[0] = '\0';
    if (len > STATE_TEXT_MAX) {
        snprintf(msg, sizeof(msg), "%zu bytes, more than %u", len,
                 STATE_TEXT_MAX);
        goto err;
    }
    if (memchr(text, '\0', len) != NULL) {
        snprintf(msg, sizeof(msg), "a NUL byte in the text");
        goto err;
    }
    if (len == 0 || text[len - 1] != '\n') {
        snprintf(msg, sizeof(msg), "the last line has no newline "
                 "(truncated)");
        goto err;
    }
    ck->text = malloc(len + 1);
    tok = malloc(MAX_TOKENS * sizeof(char *));
    if (ck->text == NULL || tok == NULL) {
        snprintf(msg, sizeof(msg), "out of memory");
        goto err;
    }
    memcpy(ck->text, text, len);
    ck->text[len] = '\0';

    for (line = ck->text; *line != '\0'; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        lineno++;
        what = "record";
        if (seen_end) {
            snprintf(msg, sizeof(msg), "a line after the end line");
            goto err;
        }
        nt = split(line, tok, MAX_TOKENS);
        if (nt > MAX_TOKENS) {
            snprintf(msg, sizeof(msg), "more than %d fields", MAX_TOKENS);
            goto err;
        }
        for (size_t k = 0; k < nt; k++) {
            if (tok[k][0] == '\0') {
                snprintf(msg, sizeof(msg), "field %zu is empty", k);
                goto err;
            }
        }
        if (lineno == 1) {
            if (strcmp(tok[0], "gwlog_state") != 0) {
                snprintf(msg, sizeof(msg), "not a gwlog_state header");
                goto err;
            }
            /* The version first: it says which fields follow. */
            if (nt != 1 + NELEMS(header_fields)
                || decode_fields(header_fields, NELEMS(header_fields), 1,
                                 tok + 1, &ck->hdr, msg, sizeof(msg)) != 0)
            {
                if (msg[0] == '\0') {
                    snprintf(msg, sizeof(msg), "%zu fields, not %zu", nt,
                             1 + NELEMS(header_fields));
                }
                goto err;
            }
            if (ck->hdr.saved_at > (uint64_t) time(NULL) + STATE_FUTURE_MAX) {
                snprintf(msg, sizeof(msg), "time %" PRIu64 " is more than "
                         "%d s ahead of the clock", ck->hdr.saved_at,
                         STATE_FUTURE_MAX);
                goto err;
            }
            continue;
        }
        what = tok[0];
        if (strcmp(tok[0], "file") == 0) {
            if (in_families) {
                snprintf(msg, sizeof(msg), "a file record after a family");
                goto err;
            }
            if (parse_file(ck, tok, nt, msg, sizeof(msg)) != 0) {
                goto err;
            }
        } else if (strcmp(tok[0], "family") == 0) {
            in_families = 1;
            if (parse_family(ck, tok, nt, msg, sizeof(msg)) != 0) {
                goto err;
            }
        } else if (strcmp(tok[0], "s") == 0) {
            what = "series";
            if (parse_series(ck, tok, nt, msg, sizeof(msg)) != 0) {
                goto err;
            }
        } else if (strcmp(tok[0], "end") == 0) {
            if (nt != 1 + NELEMS(end_fields)) {
                snprintf(msg, sizeof(msg), "%zu fields, not %zu (truncated?)",
                         nt, 1 + NELEMS(end_fields));
                goto err;
            }
            memset(&end, 0, sizeof(end));
            if (decode_fields(end_fields, NELEMS(end_fields), 1, tok + 1,
                              &end, msg, sizeof(msg)) != 0)
            {
                goto err;
            }
            if (end.nfiles != ck->nfiles || end.nfamilies != ck->nfams
                || end.nseries != ck->nseries)
            {
                snprintf(msg, sizeof(msg), "counts %" PRIu64 " files, %"
                         PRIu64 " families, %" PRIu64 " series; the records "
                         "hold %zu, %zu, %zu", end.nfiles, end.nfamilies,
                         end.nseries, ck->nfiles, ck->nfams, ck->nseries);
                goto err;
            }
            seen_end = 1;
        } else {
            snprintf(msg, sizeof(msg), "unknown record");
            what = "record";
            goto err;
        }
    }
    if (!seen_end) {
        lineno++;
        what = "end";
        snprintf(msg, sizeof(msg), "no end line (truncated)");
        goto err;
    }
    lineno = 0;
    if (check_duplicates(ck, msg, sizeof(msg)) != 0) {
        goto err;
    }
    free(tok);
    return ck;

err:
    if (lineno > 0) {
        snprintf(err, errlen, "line %zu (%.20s): %s", lineno, what, msg);
    } else {
        snprintf(err, errlen, "%s", msg);
    }
    free(tok);
    state_ckpt_free(ck);
    return NULL;
}


const state_file_t *
state_ckpt_files(const state_ckpt_t *ck, size_t *n)
{
    *n = ck->nfiles;
    return ck->files;
}


uint64_t
state_ckpt_generation(const state_ckpt_t *ck)
{
    return ck->hdr.generation;
}


double
state_ckpt_saved_at(const state_ckpt_t *ck)
{
    return (double) ck->hdr.saved_at;
}


void
state_ckpt_apply(const state_ckpt_t *ck, store_t *store, state_info_t *info)
{
    const ck_family_t  *cf;
    store_family_t     *fam;
    size_t              i, j, nc;
    uint32_t            id;

    for (i = 0; i < ck->nfams; i++) {
        cf = &ck->fams[i];
        fam = store_family_find(store, cf->name);
        if (fam == NULL
            || !store_family_compatible(fam, cf->hist ? STORE_HISTOGRAM
                                                      : STORE_COUNTER,
                                        cf->labels, cf->nlabels, cf->bounds,
                                        cf->nbuckets))
        {
            log_warn("checkpoint: family %s is not defined the same way "
                     "any more; its %zu saved series are dropped", cf->name,
                     cf->nseries);
            info->skipped += cf->nseries;
            continue;
        }
        store_add_overflowed(fam, cf->overflowed);
        nc = cf->hist ? cf->nbuckets + 1 : 1;
        for (j = 0; j < cf->nseries; j++) {
            id = store_series(fam, cf->nlabels ? &cf->values[j * cf->nlabels]
                                               : NULL);
            store_merge(fam, id, &cf->counts[j * nc],
                        cf->hist ? cf->sums[j] : 0);
            info->series++;
        }
    }
}


void
state_ckpt_free(state_ckpt_t *ck)
{
    size_t  i;

    if (ck == NULL) {
        return;
    }
    state_files_free(ck->files, ck->nfiles);
    for (i = 0; i < ck->nfams; i++) {
        free(ck->fams[i].labels);
        free(ck->fams[i].bounds);
        free(ck->fams[i].values);
        free(ck->fams[i].counts);
        free(ck->fams[i].sums);
    }
    free(ck->fams);
    free(ck->text);
    free(ck);
}


void
state_format_text(buf_t *out, uint64_t generation, long long saved_at,
    const store_snap_t *snap, const state_file_t *files, size_t nfiles)
{
    const store_snap_family_t  *f;
    const uint64_t             *counts;
    strv_t                     *values = NULL;
    double                      raw_sum;
    size_t                      i, j, k, nseries = 0, nfams = 0, carry_len;
    int                         skipping;

    buf_printf(out, "gwlog_state %d %" PRIu64 " %lld\n", STATE_VERSION,
               generation, saved_at);
    for (i = 0; i < nfiles; i++) {
        const state_file_t  *sf = &files[i];

        /* A carry the loader would refuse becomes a too long line. */
        skipping = sf->skipping;
        carry_len = sf->carry_len;
        if (carry_len > STATE_CARRY_MAX) {
            skipping = 1;
            carry_len = 0;
        }
        buf_printf(out, "file %zu %" PRIu64 " %" PRIu64 " %" PRIu64 " %u "
                   "%016" PRIx64 " %d %d ", sf->input, sf->dev, sf->ino,
                   sf->offset, sf->fp_len, sf->fp, skipping, sf->rotated);
        put_str(out, sf->path, strlen(sf->path));
        buf_append(out, " ", 1);
        put_str(out, sf->carry, carry_len);
        buf_printf(out, " %u %016" PRIx64 "\n", sf->tfp_len, sf->tfp);
    }
    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (f->nlabels > STATE_LABELS_MAX || f->nbuckets > STATE_BUCKETS_MAX) {
            continue;                       /* the loader would refuse it */
        }
        buf_printf(out, "family %s %c %zu", f->name,
                   f->type == STORE_HISTOGRAM ? 'h' : 'c', f->nlabels);
        for (k = 0; k < f->nlabels; k++) {
            buf_printf(out, " %s", f->labels[k]);
        }
        buf_printf(out, " %zu", f->type == STORE_HISTOGRAM ? f->nbuckets : 0);
        for (k = 0; f->type == STORE_HISTOGRAM && k < f->nbuckets; k++) {
            buf_printf(out, " %a", f->buckets[k]);
        }
        buf_printf(out, " %" PRIu64 "\n", f->overflowed);
        nfams++;
        if (f->nseries > 0 && f->nlabels > 0) {
            values = realloc(values, f->nlabels * sizeof(strv_t));
            if (values == NULL) {
                abort();                    /* as buf_reserve() does */
            }
        }
        for (j = 0; j < f->nseries; j++) {
            if (f->nlabels > 0) {
                store_snap_labels(snap, i, j, values);
            }
            buf_append(out, "s", 1);
            for (k = 0; k < f->nlabels; k++) {
                buf_append(out, " ", 1);
                put_str(out, values[k].p, values[k].len);
            }
            if (f->type == STORE_COUNTER) {
                buf_printf(out, " %" PRIu64 "\n",
                           store_snap_counter(snap, i, j));
            } else {
                counts = store_snap_buckets(snap, i, j, &raw_sum);
                for (k = 0; k <= f->nbuckets; k++) {
                    buf_printf(out, " %" PRIu64, counts[k]);
                }
                buf_printf(out, " %a\n", raw_sum);
            }
            nseries++;
        }
    }
    free(values);
    buf_printf(out, "end %zu %zu %zu\n", nfiles, nfams, nseries);
}


int
state_save(state_t *st, const store_snap_t *snap, const state_file_t *files,
    size_t nfiles, char *err, size_t errlen)
{
    buf_t        text = { 0 }, gz = { 0 };
    char         path[4096];
    uint64_t     gen = st->generation + 1;
    z_stream     z;
    struct stat  sb;
    int          rc;

    state_format_text(&text, gen, (long long) time(NULL), snap, files, nfiles);

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

    /* A state directory removed while we run (a cleanup, an operator) is
     * created again, else every checkpoint would fail until a restart. */
    if (stat(st->dir, &sb) != 0 && errno == ENOENT) {
        if (mkdir_p(st->dir, DIR_MODE) != 0) {
            snprintf(err, errlen, "the state directory %s is gone and "
                     "mkdir() failed: %s", st->dir, strerror(errno));
            buf_free(&gz);
            return -1;
        }
        log_info("the state directory %s was removed: created it again",
                 st->dir);
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


static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


/* Decodes a put_str() token in place (NUL-terminated after its *len
 * bytes).  Returns -1 for what put_str() never writes: a '%' not followed
 * by two hex digits, a byte it escapes left raw. */
static int
get_str(char *tok, size_t *len)
{
    unsigned char  *r = (unsigned char *) tok, *w = r;
    int             hi, lo;

    if (strcmp(tok, "%") == 0) {
        tok[0] = '\0';
        *len = 0;
        return 0;
    }
    while (*r) {
        if (*r == '%') {
            hi = hex_digit((char) r[1]);
            lo = hi < 0 ? -1 : hex_digit((char) r[2]);
            if (lo < 0) {
                return -1;
            }
            *w++ = (unsigned char) (hi << 4 | lo);
            r += 3;
        } else if (*r <= 0x20 || *r >= 0x7f) {
            return -1;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    *len = (size_t) (w - (unsigned char *) tok);
    return 0;
}


/* Digits only: no sign, no blank, no overflow. */
static int
parse_dec(const char *s, uint64_t *v)
{
    uint64_t  x = 0, d;

    if (*s == '\0') {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        d = (uint64_t) (*s - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return -1;
        }
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}


/* Exactly 16 hex digits, as "%016" PRIx64 writes them. */
static int
parse_hex(const char *s, uint64_t *v)
{
    uint64_t  x = 0;
    size_t    i;
    int       d;

    for (i = 0; i < 16; i++) {
        d = hex_digit(s[i]);
        if (d < 0) {
            return -1;
        }
        x = x << 4 | (uint64_t) d;
    }
    if (s[16] != '\0') {
        return -1;
    }
    *v = x;
    return 0;
}


/* A whole token as strtod() reads it (%a writes it); NaN refused. */
static int
parse_double(const char *s, double *v)
{
    char  *end;

    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(*v)) {
        return -1;
    }
    return 0;
}


/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*, bounded. */
static int
valid_name(const char *s)
{
    size_t  i;
    char    c;

    for (i = 0; (c = s[i]) != '\0'; i++) {
        if (i >= NAME_LEN_MAX
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9')))
        {
            return 0;
        }
    }
    return i > 0;
}


static void
set_uint(void *rec, size_t off, size_t size, uint64_t v)
{
    uint32_t  v32 = (uint32_t) v;

    if (size == sizeof(uint32_t)) {
        memcpy((char *) rec + off, &v32, sizeof(v32));
    } else {
        memcpy((char *) rec + off, &v, sizeof(v));
    }
}


static uint64_t
get_uint(const void *rec, size_t off, size_t size)
{
    uint32_t  v32;
    uint64_t  v;

    if (size == sizeof(uint32_t)) {
        memcpy(&v32, (const char *) rec + off, sizeof(v32));
        return v32;
    }
    memcpy(&v, (const char *) rec + off, sizeof(v));
    return v;
}


/* How many fields of tab a record of this version has. */
static size_t
nfields(const field_t *tab, size_t n, unsigned version)
{
    size_t  i, k = 0;

    for (i = 0; i < n; i++) {
        k += tab[i].since <= version;
    }
    return k;
}


/* Decodes tok[0..] into rec by tab, each field checked against its
 * bounds.  Strings are copied (owned by rec); on failure those already
 * copied stay in rec for the caller to free. */
static int
decode_fields(const field_t *tab, size_t n, unsigned version, char **tok,
    void *rec, char *err, size_t errlen)
{
    const field_t  *f;
    uint64_t        v;
    size_t          i, k = 0, len;
    char           *copy;

    for (i = 0; i < n; i++) {
        f = &tab[i];
        if (f->since > version) {
            continue;
        }
        switch (f->kind) {
        case FLD_DEC:
        case FLD_HEX:
            if ((f->kind == FLD_DEC ? parse_dec(tok[k], &v)
                                    : parse_hex(tok[k], &v)) != 0)
            {
                snprintf(err, errlen, "%s: \"%.40s\" is not a %s", f->name,
                         tok[k], f->kind == FLD_DEC ? "decimal number"
                                                    : "16-digit hash");
                return -1;
            }
            if (v < f->min || v > f->max) {
                snprintf(err, errlen, "%s: %" PRIu64 " is out of bounds [%"
                         PRIu64 ", %" PRIu64 "]", f->name, v, f->min, f->max);
                return -1;
            }
            set_uint(rec, f->off, f->size, v);
            break;
        case FLD_STR:
            if (get_str(tok[k], &len) != 0) {
                snprintf(err, errlen, "%s: badly encoded", f->name);
                return -1;
            }
            if (len < f->min || len > f->max) {
                snprintf(err, errlen, "%s: length %zu is out of bounds [%"
                         PRIu64 ", %" PRIu64 "]", f->name, len, f->min,
                         f->max);
                return -1;
            }
            if (((f->flags & FLD_NO_NUL) && memchr(tok[k], '\0', len))
                || ((f->flags & FLD_NO_NL) && memchr(tok[k], '\n', len)))
            {
                snprintf(err, errlen, "%s: holds a %s byte", f->name,
                         memchr(tok[k], '\n', len) ? "newline" : "NUL");
                return -1;
            }
            copy = malloc(len + 1);
            if (copy == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            memcpy(copy, tok[k], len + 1);
            memcpy((char *) rec + f->off, &copy, sizeof(copy));
            if (f->len_off != NO_LEN) {
                memcpy((char *) rec + f->len_off, &len, sizeof(len));
            }
            break;
        }
        k++;
    }
    return 0;
}


static int
parse_file(state_ckpt_t *ck, char **tok, size_t nt, char *err, size_t errlen)
{
    state_file_t  sf, *files;
    size_t        want, i;

    want = 1 + nfields(file_fields, NELEMS(file_fields),
                       (unsigned) ck->hdr.version);
    if (nt != want) {
        snprintf(err, errlen, "%zu fields, not %zu", nt, want);
        return -1;
    }
    memset(&sf, 0, sizeof(sf));
    if (decode_fields(file_fields, NELEMS(file_fields),
                      (unsigned) ck->hdr.version, tok + 1, &sf, err, errlen)
        != 0)
    {
        goto err;
    }
    for (i = 0; i < NELEMS(file_relations); i++) {
        const field_le_t  *r = &file_relations[i];
        uint64_t           a = get_uint(&sf, r->a_off, r->a_size);
        uint64_t           b = get_uint(&sf, r->b_off, r->b_size);

        if (a > b) {
            snprintf(err, errlen, "%s: %" PRIu64 " > %" PRIu64, r->what,
                     a, b);
            goto err;
        }
    }
    if (sf.skipping && sf.carry_len > 0) {
        snprintf(err, errlen, "carry: %zu bytes kept while skipping a too "
                 "long line", sf.carry_len);
        goto err;
    }
    files = grow(ck->files, &ck->files_cap, ck->nfiles + 1, sizeof(sf));
    if (files == NULL) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    ck->files = files;
    ck->files[ck->nfiles++] = sf;
    return 0;

err:
    free(sf.path);
    free(sf.carry);
    return -1;
}


/* family NAME c|h NLABELS LABEL... NBUCKETS BOUND... OVERFLOWED */
static int
parse_family(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen)
{
    ck_family_t  *cf, *fams;
    uint64_t      nl, nb;
    size_t        k, j;

    if (nt < 6) {
        snprintf(err, errlen, "%zu fields, fewer than 6", nt);
        return -1;
    }
    if (!valid_name(tok[1])) {
        snprintf(err, errlen, "name: \"%.40s\" is not a metric name", tok[1]);
        return -1;
    }
    if (strcmp(tok[2], "c") != 0 && strcmp(tok[2], "h") != 0) {
        snprintf(err, errlen, "type: \"%.20s\" is neither c nor h", tok[2]);
        return -1;
    }
    if (parse_dec(tok[3], &nl) != 0 || nl > STATE_LABELS_MAX
        || nt < 4 + nl + 2)
    {
        snprintf(err, errlen, "nlabels: \"%.20s\" is not in [0, %d] or "
                 "exceeds the %zu fields", tok[3], STATE_LABELS_MAX, nt);
        return -1;
    }
    if (parse_dec(tok[4 + nl], &nb) != 0 || nb > STATE_BUCKETS_MAX
        || (tok[2][0] == 'c' && nb != 0))
    {
        snprintf(err, errlen, "nbuckets: \"%.20s\" is not in [0, %d] (0 for "
                 "a counter)", tok[4 + nl], STATE_BUCKETS_MAX);
        return -1;
    }
    if (nt != 4 + nl + 1 + nb + 1) {
        snprintf(err, errlen, "%zu fields, not %" PRIu64, nt,
                 4 + nl + 1 + nb + 1);
        return -1;
    }
    fams = grow(ck->fams, &ck->fams_cap, ck->nfams + 1, sizeof(*cf));
    if (fams == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ck->fams = fams;
    cf = &ck->fams[ck->nfams++];
    memset(cf, 0, sizeof(*cf));
    cf->name = tok[1];
    cf->hist = tok[2][0] == 'h';
    cf->nlabels = (size_t) nl;
    cf->nbuckets = (size_t) nb;
    cf->labels = calloc(nl + 1, sizeof(char *));
    cf->bounds = calloc(nb + 1, sizeof(double));
    if (cf->labels == NULL || cf->bounds == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (k = 0; k < nl; k++) {
        cf->labels[k] = tok[4 + k];
        if (!valid_name(cf->labels[k])) {
            snprintf(err, errlen, "label %zu: \"%.40s\" is not a label name",
                     k, cf->labels[k]);
            return -1;
        }
        for (j = 0; j < k; j++) {
            if (strcmp(cf->labels[j], cf->labels[k]) == 0) {
                snprintf(err, errlen, "label %zu: %.40s appears twice", k,
                         cf->labels[k]);
                return -1;
            }
        }
    }
    for (k = 0; k < nb; k++) {
        if (parse_double(tok[5 + nl + k], &cf->bounds[k]) != 0
            || !isfinite(cf->bounds[k])
            || (k > 0 && !(cf->bounds[k] > cf->bounds[k - 1])))
        {
            snprintf(err, errlen, "bound %zu: \"%.40s\" is not a finite "
                     "number above the one before", k, tok[5 + nl + k]);
            return -1;
        }
    }
    if (parse_dec(tok[5 + nl + nb], &cf->overflowed) != 0) {
        snprintf(err, errlen, "overflowed: \"%.40s\" is not a decimal number",
                 tok[5 + nl + nb]);
        return -1;
    }
    return 0;
}


/* s VALUE... COUNT...  [histograms: NBUCKETS+1 counts, then SUM] */
static int
parse_series(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen)
{
    ck_family_t  *cf;
    size_t        nc, want, k, j, cap;
    uint64_t     *counts, total = 0;
    double        sum = 0;
    void         *p;

    if (ck->nfams == 0) {
        snprintf(err, errlen, "a series before any family");
        return -1;
    }
    cf = &ck->fams[ck->nfams - 1];
    nc = cf->hist ? cf->nbuckets + 1 : 1;
    want = 1 + cf->nlabels + nc + (cf->hist ? 1 : 0);
    if (nt != want) {
        snprintf(err, errlen, "%zu fields, not %zu for family %s", nt, want,
                 cf->name);
        return -1;
    }
    /* One capacity for the three arrays, grown together. */
    j = cf->nseries;
    if (j == cf->cap) {
        cap = cf->cap ? cf->cap * 2 : 16;
        if (cf->nlabels > 0) {
            p = realloc(cf->values, cap * cf->nlabels * sizeof(strv_t));
            if (p == NULL) {
                goto nomem;
            }
            cf->values = p;
        }
        p = realloc(cf->counts, cap * nc * sizeof(uint64_t));
        if (p == NULL) {
            goto nomem;
        }
        cf->counts = p;
        if (cf->hist) {
            p = realloc(cf->sums, cap * sizeof(double));
            if (p == NULL) {
                goto nomem;
            }
            cf->sums = p;
        }
        cf->cap = cap;
    }
    for (k = 0; k < cf->nlabels; k++) {
        strv_t  *v = &cf->values[j * cf->nlabels + k];

        if (get_str(tok[1 + k], &v->len) != 0) {
            snprintf(err, errlen, "value of %s: badly encoded",
                     cf->labels[k]);
            return -1;
        }
        v->p = tok[1 + k];
    }
    counts = &cf->counts[j * nc];
    for (k = 0; k < nc; k++) {
        if (parse_dec(tok[1 + cf->nlabels + k], &counts[k]) != 0) {
            snprintf(err, errlen, "count %zu: \"%.40s\" is not a "
                     "non-negative integer", k, tok[1 + cf->nlabels + k]);
            return -1;
        }
        if (counts[k] > UINT64_MAX - total) {
            snprintf(err, errlen, "count %zu: the bucket counts add up past "
                     "2^64", k);
            return -1;
        }
        total += counts[k];
    }
    if (cf->hist) {
        if (parse_double(tok[want - 1], &sum) != 0) {
            snprintf(err, errlen, "sum: \"%.40s\" is not a number",
                     tok[want - 1]);
            return -1;
        }
        if (total == 0 && sum != 0) {
            snprintf(err, errlen, "sum: %g with no observation", sum);
            return -1;
        }
        cf->sums[j] = sum;
    }
    cf->nseries++;
    ck->nseries++;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}


/* The same file twice would be read twice; the same family or series
 * twice would be counted twice. */
static int
check_duplicates(state_ckpt_t *ck, char *err, size_t errlen)
{
    row_t    *rows = NULL;
    size_t    n, i, j;
    int       rc = 0;

    n = ck->nfiles > ck->nfams ? ck->nfiles : ck->nfams;
    for (i = 0; i < ck->nfams; i++) {
        n = ck->fams[i].nseries > n ? ck->fams[i].nseries : n;
    }
    if (n == 0) {
        return 0;
    }
    rows = malloc(n * sizeof(row_t));
    if (rows == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* Files: the same inode with the same first bytes (sorting pointers
     * keeps the records' order). */
    if (ck->nfiles > 1) {
        const state_file_t  **byid = malloc(ck->nfiles * sizeof(*byid));

        if (byid == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        for (i = 0; rc == 0 && i < ck->nfiles; i++) {
            byid[i] = &ck->files[i];
        }
        if (rc == 0) {
            qsort(byid, ck->nfiles, sizeof(*byid), cmp_file);
        }
        for (i = 1; rc == 0 && i < ck->nfiles; i++) {
            if (cmp_file(&byid[i - 1], &byid[i]) == 0) {
                snprintf(err, errlen, "file %.200s: recorded twice (device "
                         "%" PRIu64 ", inode %" PRIu64 ")", byid[i]->path,
                         byid[i]->dev, byid[i]->ino);
                rc = -1;
            }
        }
        free(byid);
    }

    /* Families by name (sorting a copy of the pointers keeps the order). */
    if (rc == 0 && ck->nfams > 1) {
        const ck_family_t  **byname = malloc(ck->nfams * sizeof(*byname));

        if (byname == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        for (i = 0; rc == 0 && i < ck->nfams; i++) {
            byname[i] = &ck->fams[i];
        }
        if (rc == 0) {
            qsort(byname, ck->nfams, sizeof(*byname), cmp_family);
        }
        for (i = 1; rc == 0 && i < ck->nfams; i++) {
            if (strcmp(byname[i - 1]->name, byname[i]->name) == 0) {
                snprintf(err, errlen, "family %.200s: recorded twice",
                         byname[i]->name);
                rc = -1;
            }
        }
        free(byname);
    }

    /* Series of a family by label values. */
    for (i = 0; rc == 0 && i < ck->nfams; i++) {
        ck_family_t  *cf = &ck->fams[i];

        if (cf->nseries < 2) {
            continue;
        }
        if (cf->nlabels == 0) {
            snprintf(err, errlen, "family %.200s: %zu series of a family "
                     "without labels", cf->name, cf->nseries);
            rc = -1;
            break;
        }
        for (j = 0; j < cf->nseries; j++) {
            rows[j].values = &cf->values[j * cf->nlabels];
            rows[j].n = cf->nlabels;
        }
        qsort(rows, cf->nseries, sizeof(row_t), cmp_series);
        for (j = 1; j < cf->nseries && rc == 0; j++) {
            if (cmp_series(&rows[j - 1], &rows[j]) == 0) {
                snprintf(err, errlen, "family %.200s: a series recorded "
                         "twice", cf->name);
                rc = -1;
            }
        }
    }
    free(rows);
    return rc;
}


static int
cmp_file(const void *a, const void *b)
{
    const state_file_t  *x = *(const state_file_t *const *) a;
    const state_file_t  *y = *(const state_file_t *const *) b;

    if (x->dev != y->dev) {
        return x->dev < y->dev ? -1 : 1;
    }
    if (x->ino != y->ino) {
        return x->ino < y->ino ? -1 : 1;
    }
    if (x->fp_len != y->fp_len) {
        return x->fp_len < y->fp_len ? -1 : 1;
    }
    if (x->fp != y->fp) {
        return x->fp < y->fp ? -1 : 1;
    }
    return 0;
}


static int
cmp_family(const void *a, const void *b)
{
    const ck_family_t  *const *x = a, *const *y = b;

    return strcmp((*x)->name, (*y)->name);
}


static int
cmp_series(const void *a, const void *b)
{
    const strv_t  *x = ((const row_t *) a)->values;
    const strv_t  *y = ((const row_t *) b)->values;
    size_t         k, n = ((const row_t *) a)->n;
    int            c;

    for (k = 0; k < n; k++) {
        if (x[k].len != y[k].len) {
            return x[k].len < y[k].len ? -1 : 1;
        }
        c = x[k].len ? memcmp(x[k].p, y[k].p, x[k].len) : 0;
        if (c != 0) {
            return c;
        }
    }
    return 0;
}


/* Makes room for n elements of size in p (capacity *cap, doubled).
 * Returns the array (maybe moved), or NULL (p is then untouched). */
static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
    size_t  c = *cap;

    if (n <= c) {
        return p;
    }
    c = c ? c * 2 : 16;
    p = realloc(p, c * size);
    if (p != NULL) {
        *cap = c;
    }
    return p;
}


/* Splits line on single spaces, in place; returns the token count, or
 * max + 1 when there are more than max. */
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
    snprintf(path, sizeof(path), "%s/%s", st->dir, slot_names[i]);
    gz = gzopen(path, "rb");
    if (gz == NULL) {
        if (errno == ENOENT) {
            return 1;
        }
        log_error("checkpoint %s cannot be opened: %s", path,
                  strerror(errno));
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
        log_error("checkpoint %s is torn or corrupt%s", path,
                  big ? " (decompresses past the size bound)" : "");
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
