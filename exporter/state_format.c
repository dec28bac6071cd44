/* state_format.c - A snapshot and its files to a checkpoint's text (the
 * format is in state_internal.h).  What it writes, state_parse_text()
 * takes: a record the loader would refuse (a carry past STATE_CARRY_MAX,
 * a family past the label or bucket bounds) is not written as it is.
 *
 * Allocation: aborts on a failed realloc(), as buf_reserve() does.
 */

#include "exporter/state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/state_internal.h"


static void put_str(buf_t *b, const char *p, size_t len);
static int native_writable(const store_snap_family_t *f, const native_t *n,
    const uint64_t *counts);
static void put_native(buf_t *b, const native_t *n);


void
state_format_text(buf_t *out, uint64_t generation, long long saved_at,
    const store_snap_t *snap, const state_file_t *files, size_t nfiles)
{
    const store_snap_family_t  *f;
    const uint64_t             *counts;
    const native_t             *nat;
    strv_t                     *values = NULL;
    double                      raw_sum;
    size_t                      i, j, k, nseries = 0, nfams = 0, carry_len;
    size_t                      nnative = 0;
    int                         skipping, version;

    /* Version 3 only when a record needs JOIN_AT, 4 only when a family
     * keeps native buckets: a release that reads version 2 can still
     * read the others (a downgrade keeps its counts). */
    version = 2;
    for (i = 0; i < nfiles; i++) {
        if (files[i].join_at > 0 && files[i].carry_len > 0
            && files[i].carry_len <= STATE_CARRY_MAX)
        {
            version = 3;
        }
    }
    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (f->type == STORE_HISTOGRAM && f->native
            && f->nlabels <= STATE_LABELS_MAX
            && f->nbuckets <= STATE_BUCKETS_MAX)
        {
            version = 4;
        }
    }
    buf_printf(out, "gwlog_state %d %" PRIu64 " %lld\n", version,
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
        buf_printf(out, " %u %016" PRIx64, sf->tfp_len, sf->tfp);
        if (version >= 3) {
            buf_printf(out, " %zu", carry_len > 0 ? sf->join_at : 0);
        }
        buf_append(out, "\n", 1);
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
        if (f->type == STORE_HISTOGRAM && f->native) {
            buf_printf(out, "native %a %" PRIu32 "\n", f->native_factor,
                       f->native_max_buckets);
        }
        nfams++;
        if (f->nseries > 0 && f->nlabels > 0) {
            values = realloc(values, f->nlabels * sizeof(strv_t));
            if (values == NULL) {
                abort();                    /* as buf_reserve() does */
            }
        }
        for (j = 0; j < f->nseries; j++) {
            nat = NULL;
            if (f->type == STORE_HISTOGRAM && f->native) {
                nat = store_snap_native(snap, i, j);
                counts = store_snap_buckets(snap, i, j, &raw_sum);
                if (!native_writable(f, nat, counts)) {
                    continue;               /* the loader would refuse it */
                }
            }
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
            if (nat != NULL) {
                put_native(out, nat);
                nnative++;
            }
        }
    }
    free(values);
    buf_printf(out, "end %zu %zu %zu", nfiles, nfams, nseries);
    if (version >= 4) {
        buf_printf(out, " %zu", nnative);
    }
    buf_append(out, "\n", 1);
}


/* Whether the native buckets n of a series with these classic counts
 * are what the loader takes (state_parse.c's parse_buckets()): every
 * observation went to both, and the series holds no more buckets than
 * its family can.  Always so in the store (native.h); a series that is
 * not is left out rather than making the whole checkpoint refused. */
static int
native_writable(const store_snap_family_t *f, const native_t *n,
    const uint64_t *counts)
{
    const native_bucket_t  *b;
    uint64_t                classic = 0, total;
    size_t                  k, nb = 0;
    int                     side;

    for (k = 0; k <= f->nbuckets; k++) {
        classic += counts[k];
    }
    if (n == NULL) {
        return classic == 0;
    }
    total = native_zero_count(n);
    for (side = 0; side < 2; side++) {
        nb += native_buckets(n, side, &b);
        for (k = 0; k < native_buckets(n, side, &b); k++) {
            total += b[k].count;
        }
    }
    return total == classic && native_schema(n) <= f->native_schema
           && nb <= native_held_max(native_schema(n), f->native_schema,
                                    f->native_max_buckets);
}


/* n SCHEMA ZERO NNEG NPOS INDEX COUNT..., negative side first. */
static void
put_native(buf_t *b, const native_t *n)
{
    const native_bucket_t  *neg, *pos;
    size_t                  nneg, npos, k;

    nneg = native_buckets(n, 1, &neg);
    npos = native_buckets(n, 0, &pos);
    buf_printf(b, "n %d %" PRIu64 " %zu %zu", native_schema(n),
               native_zero_count(n), nneg, npos);
    for (k = 0; k < nneg; k++) {
        buf_printf(b, " %" PRId32 " %" PRIu64, neg[k].index, neg[k].count);
    }
    for (k = 0; k < npos; k++) {
        buf_printf(b, " %" PRId32 " %" PRIu64, pos[k].index, pos[k].count);
    }
    buf_append(b, "\n", 1);
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
