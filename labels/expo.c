/* expo.c - The exposition writer: the text formats (Prometheus 0.0.4 and
 * OpenMetrics 1.0), content negotiation; the protobuf format is in
 * expo_proto.c. */

#include "labels/expo.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labels/expo_internal.h"


#define EXPO_MAX_RANGES  32

/* One media range of an Accept header. */
typedef struct {
    const char  *type;          /* "type/subtype", not NUL-terminated */
    size_t       type_len;
    const char  *params;        /* after the first ';', up to the ',' */
    size_t       params_len;
    double       q;
} range_t;


static void write_text(buf_t *b, int om, const store_snap_t *snap);
static void write_help(buf_t *b, int om, const char *name, size_t len,
    const char *help, const char *type);
static void write_labels(buf_t *b, const store_snap_family_t *f,
    const strv_t *values, const char *le);
static void write_u64(buf_t *b, uint64_t v);
static void write_count(buf_t *b, int om, const store_snap_t *snap,
    size_t i, size_t j, size_t k, uint64_t v);
static int reads_back(uint64_t m, int e, double a);
static size_t format_digits(char *out, int neg, uint64_t m, int e);
static int param(const range_t *r, const char *key, char *out, size_t len);


expo_format_t
expo_negotiate(const char *accept)
{
    range_t      r[EXPO_MAX_RANGES], t;
    const char  *p, *end, *semi;
    char         v[64];
    size_t       n = 0, i, j;

    for (p = accept; p != NULL && *p != '\0' && n < EXPO_MAX_RANGES; p = end) {
        end = strchr(p, ',');
        end = end != NULL ? end + 1 : p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }
        r[n].type = p;
        semi = memchr(p, ';', (size_t) (end - p));
        r[n].type_len = (size_t) ((semi != NULL ? semi : end) - p);
        while (r[n].type_len > 0 && (p[r[n].type_len - 1] == ','
               || p[r[n].type_len - 1] == ' ' || p[r[n].type_len - 1] == '\t'))
        {
            r[n].type_len--;
        }
        r[n].params = semi != NULL ? semi + 1 : end;
        r[n].params_len = (size_t) (end - r[n].params);
        r[n].q = param(&r[n], "q", v, sizeof(v)) == 0 ? strtod(v, NULL) : 1.0;
        if (r[n].type_len > 0 && r[n].q > 0) {
            n++;
        }
    }
    /* Stable: equal q keep the header's order. */
    for (i = 1; i < n; i++) {
        t = r[i];
        for (j = i; j > 0 && r[j - 1].q < t.q; j--) {
            r[j] = r[j - 1];
        }
        r[j] = t;
    }
    for (i = 0; i < n; i++) {
#define IS(s)  (r[i].type_len == sizeof(s) - 1 \
                && strncasecmp(r[i].type, (s), sizeof(s) - 1) == 0)
        if (IS("application/vnd.google.protobuf")
            && param(&r[i], "proto", v, sizeof(v)) == 0
            && strcmp(v, "io.prometheus.client.MetricFamily") == 0
            && param(&r[i], "encoding", v, sizeof(v)) == 0
            && strcmp(v, "delimited") == 0)
        {
            return EXPO_PROTOBUF;
        }
        if (IS("text/plain") && (param(&r[i], "version", v, sizeof(v)) != 0
                                 || strcmp(v, "0.0.4") == 0))
        {
            return EXPO_TEXT;
        }
        if (IS("application/openmetrics-text")) {
            if (param(&r[i], "version", v, sizeof(v)) != 0
                || strcmp(v, "0.0.1") == 0)
            {
                return EXPO_OPENMETRICS_0;
            }
            if (strcmp(v, "1.0.0") == 0) {
                return EXPO_OPENMETRICS_1;
            }
        }
#undef IS
    }
    return EXPO_TEXT;
}


const char *
expo_content_type(expo_format_t fmt)
{
    switch (fmt) {
    case EXPO_OPENMETRICS_1:
        return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case EXPO_OPENMETRICS_0:
        return "application/openmetrics-text; version=0.0.1; charset=utf-8";
    case EXPO_PROTOBUF:
        return "application/vnd.google.protobuf; "
               "proto=io.prometheus.client.MetricFamily; encoding=delimited";
    default:
        return EXPO_CONTENT_TYPE;
    }
}


void
expo_write(buf_t *b, expo_format_t fmt, const store_snap_t *snap)
{
    if (fmt == EXPO_PROTOBUF) {
        expo_proto_write(b, snap);
    } else {
        write_text(b, fmt != EXPO_TEXT, snap);
    }
}


void
expo_finish(buf_t *b, expo_format_t fmt)
{
    if (fmt == EXPO_OPENMETRICS_1 || fmt == EXPO_OPENMETRICS_0) {
        buf_append(b, "# EOF\n", 6);
    }
}


void
expo_write_snapshot(buf_t *b, const store_snap_t *snap)
{
    write_text(b, 0, snap);
}


/* The text formats; om: OpenMetrics. */
static void
write_text(buf_t *b, int om, const store_snap_t *snap)
{
    static const char          *types[] = { "counter", "histogram", "gauge" };
    const store_snap_family_t  *f;
    const uint64_t             *counts;
    strv_t                      values[64];
    char                        le[64][EXPO_DOUBLE_LEN], num[EXPO_DOUBLE_LEN];
    double                      raw_sum, sum;
    uint64_t                    cum;
    size_t                      i, j, k, n, len;
    int                         total;

    for (i = 0; i < store_snap_nfamilies(snap); i++) {
        f = store_snap_family(snap, i);
        if (f->nlabels > 64 || f->nbuckets > 63) {
            continue;
        }
        len = strlen(f->name);
        /* OpenMetrics names a counter family without "_total". */
        total = len > 6 && strcmp(f->name + len - 6, "_total") == 0;
        write_help(b, om, f->name, om && f->type == STORE_COUNTER && total
                                   ? len - 6 : len, f->help, types[f->type]);
        if (f->type != STORE_HISTOGRAM) {
            for (j = 0; j < f->nseries; j++) {
                store_snap_labels(snap, i, j, values);
                buf_puts(b, f->name);
                if (om && f->type == STORE_COUNTER && !total) {
                    buf_append(b, "_total", 6);
                }
                write_labels(b, f, values, NULL);
                if (!f->collected) {
                    write_count(b, om, snap, i, j, 0,
                                store_snap_counter(snap, i, j));
                } else {
                    n = expo_format_double(num, store_snap_value(snap, i, j));
                    buf_append(b, num, n);
                    buf_append(b, "\n", 1);
                }
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
                write_count(b, om, snap, i, j, k, cum);
            }
            sum = expo_hist_sum(f, raw_sum);
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


double
expo_hist_sum(const store_snap_family_t *f, double raw_sum)
{
    return f->divisor > 0 ? raw_sum / f->divisor : raw_sum * f->scale;
}


/* "# HELP" and "# TYPE" for the first len bytes of name; OpenMetrics also
 * escapes '"' in the help text. */
static void
write_help(buf_t *b, int om, const char *name, size_t len, const char *help,
    const char *type)
{
    const char  *p;

    buf_append(b, "# HELP ", 7);
    buf_append(b, name, len);
    buf_append(b, " ", 1);
    for (p = help; *p; p++) {
        if (*p == '\\') {
            buf_append(b, "\\\\", 2);
        } else if (*p == '\n') {
            buf_append(b, "\\n", 2);
        } else if (*p == '"' && om) {
            buf_append(b, "\\\"", 2);
        } else {
            buf_append(b, p, 1);
        }
    }
    buf_append(b, "\n# TYPE ", 8);
    buf_append(b, name, len);
    buf_printf(b, " %s\n", type);
}


void
expo_write_header(buf_t *b, const char *name, const char *help,
    const char *type)
{
    write_help(b, 0, name, strlen(name), help, type);
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


/* A counter's or a bucket's count v, then in OpenMetrics the exemplar of
 * slot k of series j of family i, if any:
 * ' # {trace_id="abc"} 0.12 1700000000.123' (OpenMetrics 1.0, "Exemplars":
 * never in the 0.0.4 text format). */
static void
write_count(buf_t *b, int om, const store_snap_t *snap, size_t i, size_t j,
    size_t k, uint64_t v)
{
    const store_snap_family_t  *f;
    exemplar_t                  e;
    char                        num[EXPO_DOUBLE_LEN];
    size_t                      n;

    if (!om || !store_snap_exemplar(snap, i, j, k, &e)) {
        write_u64(b, v);
        return;
    }
    f = store_snap_family(snap, i);
    buf_printf(b, "%" PRIu64 " # {%s=\"", v, f->exemplar_label);
    expo_write_label_value(b, e.value.p, e.value.len);
    buf_append(b, "\"} ", 3);
    n = expo_format_double(num, e.v);
    buf_append(b, num, n);
    buf_printf(b, " %" PRId64 ".%03d\n", e.ts_ms / 1000,
               (int) (e.ts_ms % 1000));
}


/* The value of parameter key (case-insensitive name, quotes removed) of
 * a media range into out.  Returns 0, or -1 when absent or too long. */
static int
param(const range_t *r, const char *key, char *out, size_t len)
{
    const char  *p = r->params, *end = r->params + r->params_len, *e, *v;
    size_t       klen = strlen(key), n;

    while (p < end) {
        e = memchr(p, ';', (size_t) (end - p));
        e = e != NULL ? e : end;
        while (p < e && isspace((unsigned char) *p)) {
            p++;
        }
        v = memchr(p, '=', (size_t) (e - p));
        if (v != NULL && (size_t) (v - p) >= klen
            && strncasecmp(p, key, klen) == 0)
        {
            n = (size_t) (v - p);
            while (n > klen && isspace((unsigned char) p[n - 1])) {
                n--;
            }
            if (n == klen) {
                for (v++; v < e && isspace((unsigned char) *v); v++) {
                }
                n = (size_t) (e - v);
                while (n > 0 && (isspace((unsigned char) v[n - 1])
                                 || v[n - 1] == ',')) {
                    n--;
                }
                if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
                    v++;
                    n -= 2;
                }
                if (n >= len) {
                    return -1;
                }
                memcpy(out, v, n);
                out[n] = '\0';
                return 0;
            }
        }
        p = e + 1;
    }
    return -1;
}
