/* expo_proto.c - The protobuf exposition format, encoded by hand.
 *
 * Each family is one io.prometheus.client.MetricFamily message preceded by
 * its length as a varint (encoding=delimited).  The fields written, from
 * client_model's metrics.proto:
 *
 *   MetricFamily  1 name, 2 help, 3 type (COUNTER 0, GAUGE 1, HISTOGRAM 4),
 *                 4 metric (repeated)
 *   Metric        1 label (repeated LabelPair), 2 gauge, 3 counter,
 *                 7 histogram
 *   LabelPair     1 name, 2 value
 *   Gauge/Counter 1 value (double)
 *   Histogram     1 sample_count, 2 sample_sum (double), 3 bucket; for a
 *                 family with native buckets also 5 schema (sint32),
 *                 6 zero_threshold (double), 7 zero_count,
 *                 9 negative_span, 10 negative_delta (sint64, repeated),
 *                 12 positive_span, 13 positive_delta
 *   Bucket        1 cumulative_count, 2 upper_bound (double), 3 exemplar
 *   BucketSpan    1 offset (sint32), 2 length
 *   Counter       2 exemplar
 *   Exemplar      1 label (repeated LabelPair), 2 value (double),
 *                 3 timestamp (google.protobuf.Timestamp: 1 seconds,
 *                 2 nanos)
 *
 * Native buckets go out as client_golang's makeBuckets() writes them: a
 * span starts at the first bucket (its offset the absolute index), a gap
 * of one or two empty buckets is filled with zero counts, a larger gap
 * starts a new span (offset: the gap); each count is a delta to the
 * previous bucket's.  proto2 repeated scalars are not packed: one tag per
 * delta, as the Go client writes them.
 *
 * As client_golang does, a +Inf bucket is sent only to carry an
 * exemplar.
 *
 * A nested message is written into a scratch buffer first, then appended
 * with its length: four levels (family, metric, value, bucket) use four
 * buffers, reused from family to family.
 */

#include "labels/expo_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "labels/expo.h"


#define WIRE_VARINT   0
#define WIRE_I64      1
#define WIRE_LEN      2

#define PB_COUNTER    0
#define PB_GAUGE      1
#define PB_HISTOGRAM  4


static void pb_varint(buf_t *b, uint64_t v);
static void pb_tag(buf_t *b, unsigned field, unsigned wire);
static void pb_bytes(buf_t *b, unsigned field, const char *p, size_t len);
static void pb_double(buf_t *b, unsigned field, double v);
static void pb_uint(buf_t *b, unsigned field, uint64_t v);
static void pb_sint(buf_t *b, unsigned field, int64_t v);
static void pb_message(buf_t *b, unsigned field, const buf_t *m);
static void write_native(buf_t *v, buf_t *w, const store_snap_family_t *f,
    const native_t *n);
static void write_side(buf_t *v, buf_t *w, const native_bucket_t *b,
    size_t len, unsigned span_field, unsigned delta_field);
static void write_metric(buf_t *m, buf_t *v, buf_t *w,
    const store_snap_t *snap, size_t i, size_t j);
static void write_exemplar(buf_t *b, unsigned field,
    const store_snap_t *snap, size_t i, size_t j, size_t k);


void
expo_proto_write(buf_t *b, const store_snap_t *snap)
{
    const store_snap_family_t  *f;
    buf_t                       fam = { 0 }, met = { 0 }, val = { 0 },
                                sub = { 0 };
    size_t                      i, j;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (f->nlabels > 64) {
            continue;
        }
        fam.len = 0;
        pb_bytes(&fam, 1, f->name, strlen(f->name));
        if (f->help[0] != '\0') {
            pb_bytes(&fam, 2, f->help, strlen(f->help));
        }
        pb_uint(&fam, 3, f->type == STORE_HISTOGRAM ? PB_HISTOGRAM
                         : f->type == STORE_GAUGE ? PB_GAUGE : PB_COUNTER);
        for (j = 0; j < f->nseries; j++) {
            met.len = 0;
            write_metric(&met, &val, &sub, snap, i, j);
            pb_message(&fam, 4, &met);
        }
        pb_varint(b, fam.len);
        buf_append(b, fam.p, fam.len);
    }
    buf_free(&fam);
    buf_free(&met);
    buf_free(&val);
    buf_free(&sub);
}


/* Series j of family i as a Metric message into m (v, w: scratch). */
static void
write_metric(buf_t *m, buf_t *v, buf_t *w, const store_snap_t *snap,
    size_t i, size_t j)
{
    const store_snap_family_t  *f = store_snap_family(snap, i);
    const uint64_t             *counts;
    strv_t                      values[64];
    double                      raw_sum;
    uint64_t                    cum = 0;
    exemplar_t                  e;
    size_t                      k;

    store_snap_labels(snap, i, j, values);
    for (k = 0; k < f->nlabels; k++) {
        v->len = 0;
        pb_bytes(v, 1, f->labels[k], strlen(f->labels[k]));
        pb_bytes(v, 2, values[k].p, values[k].len);
        pb_message(m, 1, v);
    }
    v->len = 0;
    switch (f->type) {
    case STORE_COUNTER:
        pb_double(v, 1, store_snap_value(snap, i, j));
        write_exemplar(v, 2, snap, i, j, 0);
        pb_message(m, 3, v);
        break;
    case STORE_GAUGE:
        pb_double(v, 1, store_snap_value(snap, i, j));
        pb_message(m, 2, v);
        break;
    case STORE_HISTOGRAM:
        counts = store_snap_buckets(snap, i, j, &raw_sum);
        for (k = 0; k <= f->nbuckets; k++) {
            cum += counts[k];
        }
        pb_uint(v, 1, cum);
        pb_double(v, 2, expo_hist_sum(f, raw_sum));
        cum = 0;
        for (k = 0; k < f->nbuckets; k++) {
            cum += counts[k];
            w->len = 0;
            pb_uint(w, 1, cum);
            pb_double(w, 2, f->buckets[k]);
            write_exemplar(w, 3, snap, i, j, k);
            pb_message(v, 3, w);
        }
        if (f->exemplar_label != NULL
            && store_snap_exemplar(snap, i, j, f->nbuckets, &e))
        {
            w->len = 0;
            pb_uint(w, 1, cum + counts[f->nbuckets]);
            pb_double(w, 2, HUGE_VAL);
            write_exemplar(w, 3, snap, i, j, f->nbuckets);
            pb_message(v, 3, w);
        }
        if (f->native) {
            write_native(v, w, f, store_snap_native(snap, i, j));
        }
        pb_message(m, 7, v);
        break;
    }
}


/* The native fields of a Histogram into v (w: scratch); n NULL: a
 * series without observations yet, at the family's schema. */
static void
write_native(buf_t *v, buf_t *w, const store_snap_family_t *f,
    const native_t *n)
{
    const native_bucket_t  *b;
    size_t                  len;

    pb_sint(v, 5, n != NULL ? native_schema(n) : f->native_schema);
    pb_double(v, 6, NATIVE_ZERO_THRESHOLD);
    pb_uint(v, 7, n != NULL ? native_zero_count(n) : 0);
    if (n == NULL) {
        return;
    }
    len = native_buckets(n, 1, &b);
    write_side(v, w, b, len, 9, 10);
    len = native_buckets(n, 0, &b);
    write_side(v, w, b, len, 12, 13);
}


/* Spans then deltas of one side, as makeBuckets() in client_golang: a
 * first pass writes the spans, a second the deltas. */
static void
write_side(buf_t *v, buf_t *w, const native_bucket_t *b, size_t len,
    unsigned span_field, unsigned delta_field)
{
    uint64_t  prev;
    int64_t   next, gap, j;
    uint32_t  length;
    size_t    k;
    int       pass;

    for (pass = 0; pass < 2 && len > 0; pass++) {
        prev = 0;
        next = 0;
        length = 0;
        for (k = 0; k < len; k++) {
            gap = (int64_t) b[k].index - next;
            if (k == 0 || gap > 2) {
                if (k > 0 && pass == 0) {
                    pb_uint(w, 2, length);
                    pb_message(v, span_field, w);
                }
                w->len = 0;
                pb_sint(w, 1, gap);     /* the first: the absolute index */
                length = 0;
            } else {
                for (j = 0; j < gap; j++) {
                    length++;
                    if (pass == 1) {
                        pb_sint(v, delta_field, -(int64_t) prev);
                    }
                    prev = 0;
                }
            }
            length++;
            if (pass == 1) {
                pb_sint(v, delta_field, (int64_t) (b[k].count - prev));
            }
            prev = b[k].count;
            next = (int64_t) b[k].index + 1;
        }
        if (pass == 0) {
            pb_uint(w, 2, length);
            pb_message(v, span_field, w);
        }
    }
}


/* The exemplar of slot k of series j, if any, as message field of b. */
static void
write_exemplar(buf_t *b, unsigned field, const store_snap_t *snap, size_t i,
    size_t j, size_t k)
{
    const store_snap_family_t  *f = store_snap_family(snap, i);
    exemplar_t                  e;
    buf_t                       ex = { 0 }, sub = { 0 };

    if (f->exemplar_label == NULL || !store_snap_exemplar(snap, i, j, k, &e)) {
        return;
    }
    pb_bytes(&sub, 1, f->exemplar_label, strlen(f->exemplar_label));
    pb_bytes(&sub, 2, e.value.p, e.value.len);
    pb_message(&ex, 1, &sub);
    pb_double(&ex, 2, e.v);
    sub.len = 0;
    pb_uint(&sub, 1, (uint64_t) (e.ts_ms / 1000));
    if (e.ts_ms % 1000 != 0) {
        pb_uint(&sub, 2, (uint64_t) (e.ts_ms % 1000) * 1000000);
    }
    pb_message(&ex, 3, &sub);
    pb_message(b, field, &ex);
    buf_free(&ex);
    buf_free(&sub);
}


static void
pb_varint(buf_t *b, uint64_t v)
{
    uint8_t  tmp[10];
    size_t   n = 0;

    while (v >= 0x80) {
        tmp[n++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t) v;
    buf_append(b, tmp, n);
}


static void
pb_tag(buf_t *b, unsigned field, unsigned wire)
{
    pb_varint(b, (uint64_t) field << 3 | wire);
}


static void
pb_bytes(buf_t *b, unsigned field, const char *p, size_t len)
{
    pb_tag(b, field, WIRE_LEN);
    pb_varint(b, len);
    buf_append(b, p, len);
}


/* A double is its 8 bytes of IEEE 754, least significant first. */
static void
pb_double(buf_t *b, unsigned field, double v)
{
    uint8_t   tmp[8];
    uint64_t  u;
    int       i;

    memcpy(&u, &v, sizeof(u));
    for (i = 0; i < 8; i++) {
        tmp[i] = (uint8_t) (u >> (8 * i));
    }
    pb_tag(b, field, WIRE_I64);
    buf_append(b, tmp, 8);
}


static void
pb_uint(buf_t *b, unsigned field, uint64_t v)
{
    pb_tag(b, field, WIRE_VARINT);
    pb_varint(b, v);
}


/* sint32 and sint64: ZigZag, 2n for n >= 0 and -2n - 1 below (the same
 * number for both widths). */
static void
pb_sint(buf_t *b, unsigned field, int64_t v)
{
    pb_tag(b, field, WIRE_VARINT);
    pb_varint(b, ((uint64_t) v << 1) ^ (v < 0 ? UINT64_MAX : 0));
}


static void
pb_message(buf_t *b, unsigned field, const buf_t *m)
{
    pb_tag(b, field, WIRE_LEN);
    pb_varint(b, m->len);
    buf_append(b, m->p, m->len);
}
