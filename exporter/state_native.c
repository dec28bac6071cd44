/* state_native.c - The native histogram records of a checkpoint
 * (version 4): "native" after a family line, "n" after a series line,
 * decoded and checked against what a series of the family can hold
 * (labels/native.h).  The rest of the text is state_parse.c's.
 */

#include "exporter/state.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/state_internal.h"


static char *next_token(char **p);


/* native FACTOR MAX_BUCKETS: the family on the line above keeps native
 * buckets, configured so (version 4). */
int
state_parse_native(state_ckpt_t *ck, prev_t prev, char **tok, size_t nt,
    char *err, size_t errlen)
{
    ck_family_t  *cf;
    uint64_t      max;
    double        factor;

    if (ck->hdr.version < 4) {
        snprintf(err, errlen, "a native record in a version %" PRIu64
                 " checkpoint", ck->hdr.version);
        return -1;
    }
    if (prev != PREV_FAMILY) {
        snprintf(err, errlen, "not right after a family line");
        return -1;
    }
    cf = &ck->fams[ck->nfams - 1];
    if (!cf->hist) {
        snprintf(err, errlen, "family %s is a counter: no native buckets",
                 cf->name);
        return -1;
    }
    if (nt != 3) {
        snprintf(err, errlen, "%zu fields, not 3", nt);
        return -1;
    }
    if (state_parse_double(tok[1], &factor) != 0 || !isfinite(factor)
        || !(factor > 1))
    {
        snprintf(err, errlen, "factor: \"%.40s\" is not a finite number "
                 "above 1", tok[1]);
        return -1;
    }
    if (state_parse_dec(tok[2], &max) != 0 || max > UINT32_MAX) {
        snprintf(err, errlen, "max_buckets: \"%.40s\" is not in [0, %"
                 PRIu32 "]", tok[2], UINT32_MAX);
        return -1;
    }
    cf->native = 1;
    cf->native_factor = factor;
    cf->native_max = (uint32_t) max;
    return 0;
}


/* n SCHEMA ZERO NNEG NPOS INDEX COUNT...: the native buckets of the
 * series on the line above (version 4), checked against what a series
 * of its family can hold (native.h): the schema within -4..8 and not
 * above the family's, at most native_held_max() buckets, indexes strictly
 * ascending per side within native_index_range(), counts > 0, and the
 * native total equal to the series' classic count.  line is decoded in
 * place. */
int
state_parse_buckets(state_ckpt_t *ck, prev_t prev, char *line, char *err,
    size_t errlen)
{
    static const char  *head[] = { "schema", "zero", "nneg", "npos" };
    ck_family_t        *cf;
    native_bucket_t    *b = NULL;
    const uint64_t     *counts;
    native_t           *n;
    uint64_t            v[4], total, classic = 0, c;
    int64_t             schema = 0, idx;
    int32_t             lo, hi;
    size_t              k, nb, held, side_max, j, nc;
    char               *p = line, *t;
    int                 start;

    if (ck->hdr.version < 4) {
        snprintf(err, errlen, "an n record in a version %" PRIu64
                 " checkpoint", ck->hdr.version);
        return -1;
    }
    if (prev != PREV_SERIES) {
        snprintf(err, errlen, "not right after a series line");
        return -1;
    }
    cf = &ck->fams[ck->nfams - 1];
    if (!cf->native) {
        snprintf(err, errlen, "family %s keeps no native buckets (no "
                 "native record)", cf->name);
        return -1;
    }
    (void) next_token(&p);                          /* "n" */
    for (k = 0; k < 4; k++) {
        t = next_token(&p);
        if (t == NULL || *t == '\0') {
            snprintf(err, errlen, "%s: missing or empty", head[k]);
            return -1;
        }
        if (k == 0 ? state_parse_int(t, &schema) != 0
                   : state_parse_dec(t, &v[k]) != 0)
        {
            snprintf(err, errlen, "%s: \"%.40s\" is not a%s decimal number",
                     head[k], t, k == 0 ? "" : " non-negative");
            return -1;
        }
    }
    start = native_schema_for_factor(cf->native_factor);
    if (schema < NATIVE_SCHEMA_MIN || schema > start) {
        snprintf(err, errlen, "schema: %" PRId64 " is not in [%d, %d] (the "
                 "family starts at %d)", schema, NATIVE_SCHEMA_MIN, start,
                 start);
        return -1;
    }
    native_index_range((int) schema, &lo, &hi);
    side_max = (size_t) (hi - lo + 1);
    held = native_held_max((int) schema, start, cf->native_max);
    if (v[2] > side_max || v[3] > side_max || v[2] + v[3] > held) {
        snprintf(err, errlen, "nneg %" PRIu64 " + npos %" PRIu64 ": more "
                 "buckets than a series holds at schema %" PRId64 " (%zu a "
                 "side, %zu in all with max_buckets %" PRIu32 ")", v[2],
                 v[3], schema, side_max, held, cf->native_max);
        return -1;
    }
    nb = (size_t) (v[2] + v[3]);
    if (nb > 0) {
        b = malloc(nb * sizeof(*b));
        if (b == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    total = v[1];
    for (k = 0; k < nb; k++) {
        t = next_token(&p);
        if (t == NULL || *t == '\0' || state_parse_int(t, &idx) != 0) {
            snprintf(err, errlen, "index %zu: \"%.40s\" is not a decimal "
                     "number (%zu buckets announced)", k, t ? t : "", nb);
            goto err;
        }
        if (idx < lo || idx > hi) {
            snprintf(err, errlen, "index %zu: %" PRId64 " is out of the "
                     "range [%" PRId32 ", %" PRId32 "] of schema %" PRId64, k,
                     idx, lo, hi, schema);
            goto err;
        }
        if (k != 0 && k != v[2] && !(idx > b[k - 1].index)) {
            snprintf(err, errlen, "index %zu: %" PRId64 " does not ascend "
                     "(%" PRId32 " before it)", k, idx, b[k - 1].index);
            goto err;
        }
        t = next_token(&p);
        if (t == NULL || *t == '\0' || state_parse_dec(t, &c) != 0
            || c == 0)
        {
            snprintf(err, errlen, "count %zu: \"%.40s\" is not a positive "
                     "integer", k, t ? t : "");
            goto err;
        }
        if (c > UINT64_MAX - total) {
            snprintf(err, errlen, "count %zu: the native counts add up past "
                     "2^64", k);
            goto err;
        }
        total += c;
        b[k].index = (int32_t) idx;
        b[k].count = c;
    }
    if (p != NULL) {
        snprintf(err, errlen, "more fields than the %zu buckets announced",
                 nb);
        goto err;
    }
    j = cf->nseries - 1;
    nc = cf->nbuckets + 1;
    counts = &cf->counts[j * nc];
    for (k = 0; k < nc; k++) {
        classic += counts[k];
    }
    if (total != classic) {
        snprintf(err, errlen, "native total %" PRIu64 " (zero bucket and "
                 "buckets) is not the series' count %" PRIu64, total,
                 classic);
        goto err;
    }
    n = native_build((int) schema, v[1], b, (size_t) v[2], (size_t) v[3]);
    if (n == NULL) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    cf->natives[j] = n;
    ck->nnative++;
    free(b);
    return 0;

err:
    free(b);
    return -1;
}


/* The next space-separated token of *p, NUL-terminated in place; *p
 * moves past it (NULL after the last one).  NULL when none is left. */
static char *
next_token(char **p)
{
    char  *t = *p, *sp;

    if (t == NULL) {
        return NULL;
    }
    sp = strchr(t, ' ');
    if (sp != NULL) {
        *sp = '\0';
        *p = sp + 1;
    } else {
        *p = NULL;
    }
    return t;
}


/* Every series of a family with native buckets that counted something
 * has its "n" record: what it counted went to both. */
int
state_native_missing(const state_ckpt_t *ck, char *err, size_t errlen)
{
    const ck_family_t  *cf;
    uint64_t            classic;
    size_t              i, j, k, nc;

    for (i = 0; i < ck->nfams; i++) {
        cf = &ck->fams[i];
        nc = cf->nbuckets + 1;
        for (j = 0; cf->native && j < cf->nseries; j++) {
            for (k = 0, classic = 0; k < nc; k++) {
                classic += cf->counts[j * nc + k];
            }
            if (classic > 0 && cf->natives[j] == NULL) {
                snprintf(err, errlen, "family %.200s: series %zu counted %"
                         PRIu64 " observations and has no native buckets "
                         "(no n record)", cf->name, j, classic);
                return -1;
            }
        }
    }
    return 0;
}
