/* state_parse.c - A checkpoint's text to a state_ckpt_t.
 *
 * Loading treats the text as hostile: state_parse_text() decodes it into a
 * state_ckpt_t and checks every field (the tables below give each field
 * of a fixed record its bounds, and the relations between them), the
 * record order, the counts of the "end" line and duplicates, before
 * anything is merged into the store; a refused slot leaves no trace in
 * it.  Integers are digits only (a sign is refused, not wrapped), strings
 * must be encoded as put_str() encodes them.
 *
 * The format is in state_internal.h.
 */

#include "exporter/state.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporter/state_internal.h"


#define MAX_TOKENS      (STATE_LABELS_MAX + STATE_BUCKETS_MAX + 8)

typedef struct {
    uint64_t        nfiles;
    uint64_t        nfamilies;
    uint64_t        nseries;
    uint64_t        nnative;
} end_t;

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
    { "join_at", FLD_DEC, 0, STATE_CARRY_MAX, FIELD(state_file_t, join_at),
      NO_LEN, 0, 3 },
};

/* What was read of a file lies before its offset. */
static const field_le_t  file_relations[] = {
    { "fp_len <= offset", FIELD(state_file_t, fp_len),
      FIELD(state_file_t, offset) },
    { "tfp_len <= offset", FIELD(state_file_t, tfp_len),
      FIELD(state_file_t, offset) },
    { "join_at <= carry_len", FIELD(state_file_t, join_at),
      FIELD(state_file_t, carry_len) },
};

static const field_t  end_fields[] = {
    { "nfiles", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nfiles),
      NO_LEN, 0, 1 },
    { "nfamilies", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nfamilies),
      NO_LEN, 0, 1 },
    { "nseries", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nseries),
      NO_LEN, 0, 1 },
    { "nnative", FLD_DEC, 0, UINT64_MAX, FIELD(end_t, nnative),
      NO_LEN, 0, 4 },
};


static int text_check(const char *text, size_t len, char *msg,
    size_t msglen);
static int tokens_check(char **tok, size_t nt, char *err, size_t errlen);
static int parse_header(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int parse_end(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int parse_file(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int parse_family(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static int parse_series(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen);
static size_t split(char *line, char **tok, size_t max);


/* The text as a whole: bounded, no NUL, ending with a newline.  Returns
 * 0, or -1 with the reason in msg. */
static int
text_check(const char *text, size_t len, char *msg, size_t msglen)
{
    if (len > STATE_TEXT_MAX) {
        snprintf(msg, msglen, "%zu bytes, more than %u", len,
                 STATE_TEXT_MAX);
        return -1;
    }
    if (memchr(text, '\0', len) != NULL) {
        snprintf(msg, msglen, "a NUL byte in the text");
        return -1;
    }
    if (len == 0 || text[len - 1] != '\n') {
        snprintf(msg, msglen, "the last line has no newline "
                 "(truncated)");
        return -1;
    }
    return 0;
}


state_ckpt_t *
state_parse_text(const char *text, size_t len, char *err, size_t errlen)
{
    state_ckpt_t  *ck;
    char          *line, *next, **tok = NULL, msg[400];
    const char    *what = "record";
    size_t         nt, lineno = 0;
    int            seen_end = 0, in_families = 0;
    prev_t         prev = PREV_OTHER, cur;

    ck = calloc(1, sizeof(*ck));
    if (ck == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    msg[0] = '\0';
    if (text_check(text, len, msg, sizeof(msg)) != 0) {
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
        /* Native buckets: up to native_held_max() pairs, more than
         * MAX_TOKENS, so this record is read token by token. */
        if (lineno > 1 && line[0] == 'n'
            && (line[1] == ' ' || line[1] == '\0'))
        {
            what = "n";
            if (state_parse_buckets(ck, prev, line, msg, sizeof(msg)) != 0) {
                goto err;
            }
            prev = PREV_OTHER;
            continue;
        }
        cur = PREV_OTHER;
        nt = split(line, tok, MAX_TOKENS);
        if (tokens_check(tok, nt, msg, sizeof(msg)) != 0) {
            goto err;
        }
        if (lineno == 1) {
            if (parse_header(ck, tok, nt, msg, sizeof(msg)) != 0) {
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
            cur = PREV_FAMILY;
        } else if (strcmp(tok[0], "native") == 0) {
            if (state_parse_native(ck, prev, tok, nt, msg, sizeof(msg)) != 0) {
                goto err;
            }
        } else if (strcmp(tok[0], "s") == 0) {
            what = "series";
            if (parse_series(ck, tok, nt, msg, sizeof(msg)) != 0) {
                goto err;
            }
            cur = PREV_SERIES;
        } else if (strcmp(tok[0], "end") == 0) {
            if (parse_end(ck, tok, nt, msg, sizeof(msg)) != 0) {
                goto err;
            }
            seen_end = 1;
        } else {
            snprintf(msg, sizeof(msg), "unknown record");
            what = "record";
            goto err;
        }
        prev = cur;
    }
    if (!seen_end) {
        lineno++;
        what = "end";
        snprintf(msg, sizeof(msg), "no end line (truncated)");
        goto err;
    }
    lineno = 0;
    if (state_check_duplicates(ck, msg, sizeof(msg)) != 0
        || state_native_missing(ck, msg, sizeof(msg)) != 0)
    {
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


/* A line's tokens: at most MAX_TOKENS, none empty. */
static int
tokens_check(char **tok, size_t nt, char *err, size_t errlen)
{
    size_t  k;

    if (nt > MAX_TOKENS) {
        snprintf(err, errlen, "more than %d fields", MAX_TOKENS);
        return -1;
    }
    for (k = 0; k < nt; k++) {
        if (tok[k][0] == '\0') {
            snprintf(err, errlen, "field %zu is empty", k);
            return -1;
        }
    }
    return 0;
}


/* gwlog_state VERSION GENERATION UNIX_TIME */
static int
parse_header(state_ckpt_t *ck, char **tok, size_t nt, char *err,
    size_t errlen)
{
    if (strcmp(tok[0], "gwlog_state") != 0) {
        snprintf(err, errlen, "not a gwlog_state header");
        return -1;
    }
    /* The version first: it says which fields follow. */
    if (nt != 1 + NELEMS(header_fields)) {
        snprintf(err, errlen, "%zu fields, not %zu", nt,
                 1 + NELEMS(header_fields));
        return -1;
    }
    if (state_decode_fields(header_fields, NELEMS(header_fields), 1, tok + 1,
                            &ck->hdr, err, errlen) != 0)
    {
        return -1;
    }
    if (ck->hdr.saved_at > (uint64_t) time(NULL) + STATE_FUTURE_MAX) {
        snprintf(err, errlen, "time %" PRIu64 " is more than %d s ahead of "
                 "the clock", ck->hdr.saved_at, STATE_FUTURE_MAX);
        return -1;
    }
    return 0;
}


/* end NFILES NFAMILIES NSERIES: the counts of the records above. */
static int
parse_end(state_ckpt_t *ck, char **tok, size_t nt, char *err, size_t errlen)
{
    end_t  end;

    size_t  want;

    want = 1 + state_nfields(end_fields, NELEMS(end_fields),
                             (unsigned) ck->hdr.version);
    if (nt != want) {
        snprintf(err, errlen, "%zu fields, not %zu (truncated?)", nt, want);
        return -1;
    }
    memset(&end, 0, sizeof(end));
    if (state_decode_fields(end_fields, NELEMS(end_fields),
                            (unsigned) ck->hdr.version, tok + 1, &end,
                            err, errlen) != 0)
    {
        return -1;
    }
    if (end.nfiles != ck->nfiles || end.nfamilies != ck->nfams
        || end.nseries != ck->nseries || end.nnative != ck->nnative)
    {
        snprintf(err, errlen, "counts %" PRIu64 " files, %" PRIu64
                 " families, %" PRIu64 " series, %" PRIu64 " native; the "
                 "records hold %zu, %zu, %zu, %zu", end.nfiles,
                 end.nfamilies, end.nseries, end.nnative, ck->nfiles,
                 ck->nfams, ck->nseries, ck->nnative);
        return -1;
    }
    return 0;
}


static int
parse_file(state_ckpt_t *ck, char **tok, size_t nt, char *err, size_t errlen)
{
    state_file_t  sf, *files;
    size_t        want, i;

    want = 1 + state_nfields(file_fields, NELEMS(file_fields),
                       (unsigned) ck->hdr.version);
    if (nt != want) {
        snprintf(err, errlen, "%zu fields, not %zu", nt, want);
        return -1;
    }
    memset(&sf, 0, sizeof(sf));
    if (state_decode_fields(file_fields, NELEMS(file_fields),
                      (unsigned) ck->hdr.version, tok + 1, &sf, err, errlen)
        != 0)
    {
        goto err;
    }
    for (i = 0; i < NELEMS(file_relations); i++) {
        const field_le_t  *r = &file_relations[i];
        uint64_t           a = state_get_uint(&sf, r->a_off, r->a_size);
        uint64_t           b = state_get_uint(&sf, r->b_off, r->b_size);

        if (a > b) {
            snprintf(err, errlen, "%s: %" PRIu64 " > %" PRIu64, r->what,
                     a, b);
            goto err;
        }
    }
    /* The carry's bytes were read before the offset, but for those
     * from before a truncation. */
    if (sf.carry_len - sf.join_at > sf.offset) {
        snprintf(err, errlen, "carry_len <= offset: %zu bytes carried (%zu "
                 "of them from before a truncation) > %" PRIu64, sf.carry_len,
                 sf.join_at, sf.offset);
        goto err;
    }
    if (sf.skipping && sf.carry_len > 0) {
        snprintf(err, errlen, "carry: %zu bytes kept while skipping a too "
                 "long line", sf.carry_len);
        goto err;
    }
    files = state_grow(ck->files, &ck->files_cap, ck->nfiles + 1, sizeof(sf));
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
    if (!state_valid_name(tok[1])) {
        snprintf(err, errlen, "name: \"%.40s\" is not a metric name", tok[1]);
        return -1;
    }
    if (strcmp(tok[2], "c") != 0 && strcmp(tok[2], "h") != 0) {
        snprintf(err, errlen, "type: \"%.20s\" is neither c nor h", tok[2]);
        return -1;
    }
    if (state_parse_dec(tok[3], &nl) != 0 || nl > STATE_LABELS_MAX
        || nt < 4 + nl + 2)
    {
        snprintf(err, errlen, "nlabels: \"%.20s\" is not in [0, %d] or "
                 "exceeds the %zu fields", tok[3], STATE_LABELS_MAX, nt);
        return -1;
    }
    if (state_parse_dec(tok[4 + nl], &nb) != 0 || nb > STATE_BUCKETS_MAX
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
    fams = state_grow(ck->fams, &ck->fams_cap, ck->nfams + 1, sizeof(*cf));
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
        if (!state_valid_name(cf->labels[k])) {
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
        if (state_parse_double(tok[5 + nl + k], &cf->bounds[k]) != 0
            || !isfinite(cf->bounds[k])
            || (k > 0 && !(cf->bounds[k] > cf->bounds[k - 1])))
        {
            snprintf(err, errlen, "bound %zu: \"%.40s\" is not a finite "
                     "number above the one before", k, tok[5 + nl + k]);
            return -1;
        }
    }
    if (state_parse_dec(tok[5 + nl + nb], &cf->overflowed) != 0) {
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
        if (cf->native) {
            p = realloc(cf->natives, cap * sizeof(native_t *));
            if (p == NULL) {
                goto nomem;
            }
            cf->natives = p;
        }
        cf->cap = cap;
    }
    for (k = 0; k < cf->nlabels; k++) {
        strv_t  *v = &cf->values[j * cf->nlabels + k];

        if (state_get_str(tok[1 + k], &v->len) != 0) {
            snprintf(err, errlen, "value of %s: badly encoded",
                     cf->labels[k]);
            return -1;
        }
        v->p = tok[1 + k];
    }
    counts = &cf->counts[j * nc];
    for (k = 0; k < nc; k++) {
        if (state_parse_dec(tok[1 + cf->nlabels + k], &counts[k]) != 0) {
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
        if (state_parse_double(tok[want - 1], &sum) != 0) {
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
    if (cf->native) {
        cf->natives[j] = NULL;
    }
    cf->nseries++;
    ck->nseries++;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
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
