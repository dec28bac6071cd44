/* expo.c - Prometheus text exposition format 0.0.4 encoder. */

#include "exporter/expo.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void write_labels(buf_t *b, const store_snap_family_t *f,
    const strv_t *values, const char *le);
static void write_u64(buf_t *b, uint64_t v);


void
expo_write_snapshot(buf_t *b, const store_snap_t *snap)
{
    const store_snap_family_t  *f;
    const uint64_t             *counts;
    strv_t                      values[64];
    char                        le[64][EXPO_DOUBLE_LEN], num[EXPO_DOUBLE_LEN];
    double                      raw_sum, sum;
    uint64_t                    cum;
    size_t                      i, j, k, n;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (f->nlabels > 64 || f->nbuckets > 63) {
            continue;
        }
        expo_write_header(b, f->name, f->help,
                          f->type == STORE_HISTOGRAM ? "histogram" : "counter");
        if (f->type == STORE_COUNTER) {
            for (j = 0; j < f->nseries; j++) {
                store_snap_labels(snap, i, j, values);
                buf_puts(b, f->name);
                write_labels(b, f, values, NULL);
                write_u64(b, store_snap_counter(snap, i, j));
            }
            continue;
        }

        for (k = 0; k < f->nbuckets; k++) {
            expo_format_double(le[k], f->buckets[k]);
        }
        strcpy(le[f->nbuckets], "+Inf");
        for (j = 0; j < f->nseries; j++) {
            store_snap_labels(snap, i, j, values);
            counts = store_snap_buckets(snap, i, j, &raw_sum);
            cum = 0;
            for (k = 0; k <= f->nbuckets; k++) {
                cum += counts[k];
                buf_puts(b, f->name);
                buf_append(b, "_bucket", 7);
                write_labels(b, f, values, le[k]);
                write_u64(b, cum);
            }
            sum = f->divisor > 0 ? raw_sum / f->divisor : raw_sum * f->scale;
            n = expo_format_double(num, sum);
            buf_puts(b, f->name);
            buf_append(b, "_sum", 4);
            write_labels(b, f, values, NULL);
            buf_append(b, num, n);
            buf_append(b, "\n", 1);
            buf_puts(b, f->name);
            buf_append(b, "_count", 6);
            write_labels(b, f, values, NULL);
            write_u64(b, cum);
        }
    }
}


void
expo_write_header(buf_t *b, const char *name, const char *help,
    const char *type)
{
    const char  *p;

    buf_printf(b, "# HELP %s ", name);
    for (p = help; *p; p++) {
        if (*p == '\\') {
            buf_append(b, "\\\\", 2);
        } else if (*p == '\n') {
            buf_append(b, "\\n", 2);
        } else {
            buf_append(b, p, 1);
        }
    }
    buf_printf(b, "\n# TYPE %s %s\n", name, type);
}


void
expo_write_label_value(buf_t *b, const char *p, size_t len)
{
    size_t  i, start = 0;

    for (i = 0; i < len; i++) {
        if (p[i] != '\\' && p[i] != '"' && p[i] != '\n') {
            continue;
        }
        buf_append(b, p + start, i - start);
        buf_append(b, "\\", 1);
        buf_append(b, p[i] == '\n' ? "n" : &p[i], 1);
        start = i + 1;
    }
    buf_append(b, p + start, len - start);
}


size_t
expo_format_double(char *out, double v)
{
    int  prec, n = 0;

    if (isnan(v)) {
        return (size_t) snprintf(out, EXPO_DOUBLE_LEN, "NaN");
    }
    if (isinf(v)) {
        return (size_t) snprintf(out, EXPO_DOUBLE_LEN, v > 0 ? "+Inf" : "-Inf");
    }
    if (v == 0) {
        return (size_t) snprintf(out, EXPO_DOUBLE_LEN, signbit(v) ? "-0" : "0");
    }
    /* %.15g is already the shortest form when one of 15 digits or fewer
     * exists; otherwise take 16 or 17 digits, whichever reads back. */
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(out, EXPO_DOUBLE_LEN, "%.*g", prec, v);
        if (strtod(out, NULL) == v) {
            break;
        }
    }
    return (size_t) n;
}


static void
write_labels(buf_t *b, const store_snap_family_t *f, const strv_t *values,
    const char *le)
{
    size_t  i;

    if (f->nlabels == 0 && le == NULL) {
        buf_append(b, " ", 1);
        return;
    }
    buf_append(b, "{", 1);
    for (i = 0; i < f->nlabels; i++) {
        if (i > 0) {
            buf_append(b, ",", 1);
        }
        buf_puts(b, f->labels[i]);
        buf_append(b, "=\"", 2);
        expo_write_label_value(b, values[i].p, values[i].len);
        buf_append(b, "\"", 1);
    }
    if (le != NULL) {
        buf_puts(b, f->nlabels ? ",le=\"" : "le=\"");
        buf_puts(b, le);
        buf_append(b, "\"", 1);
    }
    buf_append(b, "} ", 2);
}


static void
write_u64(buf_t *b, uint64_t v)
{
    char  tmp[24];
    int   n;

    n = snprintf(tmp, sizeof(tmp), "%" PRIu64 "\n", v);
    buf_append(b, tmp, (size_t) n);
}
