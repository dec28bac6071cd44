/* expo.c - Prometheus text exposition format 0.0.4 encoder. */

#include "labels/expo.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void write_labels(buf_t *b, const store_snap_family_t *f,
    const strv_t *values, const char *le);
static void write_u64(buf_t *b, uint64_t v);
static int reads_back(uint64_t m, int e, double a);
static size_t format_digits(char *out, int neg, uint64_t m, int e);


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
    char        digits[24];
    uint64_t    m, cand[3];
    double      a = fabs(v);
    int         prec, e10, i, n;

    if (isnan(v)) {
        return (size_t) snprintf(out, EXPO_DOUBLE_LEN, "NaN");
    }
    if (isinf(v)) {
        return (size_t) snprintf(out, EXPO_DOUBLE_LEN, v > 0 ? "+Inf" : "-Inf");
    }
    if (v == 0) {
        return (size_t) snprintf(out, EXPO_DOUBLE_LEN, signbit(v) ? "-0" : "0");
    }

    /* The shortest digit string that reads back as v.  For normal numbers
     * a string of 15 digits or fewer exists only if rounding to 15 digits
     * finds it (2^-53 < 10^-15 / 2), so the search starts there; near a
     * power of two the nearest 16-digit string may miss while a neighbour
     * reads back, so neighbours are tried too.  Subnormals have fewer bits
     * and search from one digit. */
    for (prec = a < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(digits, sizeof(digits), "%.*e", prec - 1, a);
        m = 0;
        for (i = 0; digits[i] != 'e'; i++) {
            if (digits[i] != '.') {
                m = m * 10 + (uint64_t) (digits[i] - '0');
            }
        }
        e10 = atoi(&digits[i + 1]);
        cand[0] = m;
        cand[1] = m + 1;
        cand[2] = m - 1;
        for (i = 0; i < (prec >= 16 || a < DBL_MIN ? 3 : 1); i++) {
            if (reads_back(cand[i], e10 - prec + 1, a)) {
                return format_digits(out, v < 0, cand[i], e10 - prec + 1);
            }
        }
    }
    n = snprintf(out, EXPO_DOUBLE_LEN, "%.17g", v);
    return (size_t) n;
}


/* Whether m * 10^e parses back to a. */
static int
reads_back(uint64_t m, int e, double a)
{
    char  tmp[48];

    if (m == 0) {
        return 0;
    }
    snprintf(tmp, sizeof(tmp), "%" PRIu64 "e%d", m, e);
    return strtod(tmp, NULL) == a;
}


/* Writes (neg ? -1 : 1) * m * 10^e as Python's repr() spells a float:
 * positional for exponents -4 to 15, else d.ddde+XX; no trailing zeros. */
static size_t
format_digits(char *out, int neg, uint64_t m, int e)
{
    char    d[24];
    int     nd, e10, i, n = 0, pos;

    while (m % 10 == 0) {
        m /= 10;
        e++;
    }
    nd = snprintf(d, sizeof(d), "%" PRIu64, m);
    e10 = e + nd - 1;                       /* exponent of the first digit */
    if (neg) {
        out[n++] = '-';
    }
    if (e10 < -4 || e10 >= 16) {
        out[n++] = d[0];
        if (nd > 1) {
            out[n++] = '.';
            memcpy(out + n, d + 1, (size_t) nd - 1);
            n += nd - 1;
        }
        n += snprintf(out + n, EXPO_DOUBLE_LEN - (size_t) n, "e%c%02d",
                      e10 < 0 ? '-' : '+', abs(e10));
        return (size_t) n;
    }
    if (e10 < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (i = 0; i < -e10 - 1; i++) {
            out[n++] = '0';
        }
        memcpy(out + n, d, (size_t) nd);
        n += nd;
    } else {
        for (i = 0, pos = 0; i <= e10 || pos < nd; i++) {
            if (i == e10 + 1) {
                out[n++] = '.';
            }
            out[n++] = pos < nd ? d[pos++] : '0';
        }
    }
    out[n] = '\0';
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
