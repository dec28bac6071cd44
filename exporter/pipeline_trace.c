/* pipeline_trace.c - The line tester (--test-line, --test-lines): runs a
 * line through the same evaluation as ingestion, with trace hooks that
 * describe each step on a stream and a probe flag that keeps anything from
 * being counted.  Counting lines never sets the hooks.
 */

#include "exporter/pipeline_internal.h"

#include <stdio.h>

#include "labels/expo.h"
#include "lib/clock.h"


static void trace_fields(pipeline_t *p);
static void trace_invalid(pipeline_t *p, const char *reason);
static void trace_required(pipeline_t *p, size_t i);
static void trace_filtered(pipeline_t *p, size_t i);
static void trace_lookups(pipeline_t *p);
static void trace_skipped(pipeline_t *p, size_t fam, int why);
static void trace_series(pipeline_t *p, size_t fam, double x);
static void trace_ok(pipeline_t *p);
static void explain_quoted(FILE *ex, strv_t v);


static const pipe_trace_t  explain = {
    trace_fields, trace_invalid, trace_required, trace_filtered,
    trace_lookups, trace_skipped, trace_series, trace_ok
};


/* In the line tester, lookups are waited for (bounded): the tester runs
 * the line without counting until nothing is pending, then explains. */
pipeline_verdict_t
pipeline_explain(pipeline_t *p, size_t input, const char *line, size_t len,
    FILE *out)
{
    double  until;

    if (p->async) {
        store_ingest_lock(p->store);
    }
    p->probe = 1;
    if (p->async) {
        until = clock_mono() + p->max_wait;
        for (;;) {
            p->pending = 0;
            (void) dims_sync(p->dims);
            if (pipe_process(p, input, line, len) == 0
                || clock_mono() >= until)
            {
                break;
            }
            dims_wait(p->dims, 0.02);
        }
        p->final = 1;
    }
    p->trace = &explain;
    p->trace_out = out;
    p->trace_verdict = PIPELINE_OK;
    (void) pipe_process(p, input, line, len);
    p->trace = NULL;
    p->trace_out = NULL;
    p->probe = 0;
    p->final = 0;
    if (p->async) {
        store_ingest_unlock(p->store);
    }
    return p->trace_verdict;
}


/* Every field's value, computed as the metrics would see it. */
static void
trace_fields(pipeline_t *p)
{
    FILE   *ex = p->trace_out;
    strv_t  v;
    size_t  i;

    fprintf(ex, "fields:\n");
    for (i = 0; i < p->nfields; i++) {
        fprintf(ex, "  %-20s ", p->cfg->fields[i].name);
        if (pipe_var_get(p, (int) i, &v)) {
            explain_quoted(ex, v);
            fputc('\n', ex);
        } else {
            fprintf(ex, "(absent)\n");
        }
    }
}


static void
trace_invalid(pipeline_t *p, const char *reason)
{
    fprintf(p->trace_out, "verdict: invalid (gwlog_parse_errors_total"
            "{reason=\"%s\"})\n", reason);
    p->trace_verdict = PIPELINE_INVALID;
}


static void
trace_required(pipeline_t *p, size_t i)
{
    fprintf(p->trace_out, "  required field \"%s\" is absent or empty\n",
            p->cfg->required[i]);
}


static void
trace_filtered(pipeline_t *p, size_t i)
{
    fprintf(p->trace_out, "verdict: filtered by filter \"%s\" (line %d of "
            "%s)\n", p->cfg->filters[i].name, p->cfg->filters[i].line,
            p->cfg->file);
    p->trace_verdict = PIPELINE_FILTERED;
}


/* Each table's key values and what the lookup found. */
static void
trace_lookups(pipeline_t *p)
{
    FILE             *ex = p->trace_out;
    const cfg_dim_t  *d;
    strv_t            v;
    size_t            t, k;
    int               var;

    if (p->cfg->ndims == 0) {
        fprintf(ex, "series:\n");
        return;
    }
    fprintf(ex, "dimension lookups:\n");
    for (t = 0, var = (int) p->nfields; t < p->cfg->ndims; t++) {
        d = &p->cfg->dims[t];
        fprintf(ex, "  %s[", d->name);
        for (k = 0; k < d->nkeys; k++) {
            fprintf(ex, "%s%s=", k ? ", " : "", d->key_columns[k]);
            if (pipe_var_get(p, p->dim_keys[t][k], &v)) {
                explain_quoted(ex, v);
            } else {
                fprintf(ex, "(absent)");
            }
        }
        fprintf(ex, "]: ");
        (void) pipe_var_get(p, var, &v);             /* does the lookup */
        fprintf(ex, "%s", p->row[t] != NULL ? "hit" : "miss");
        for (k = 0; k < d->nprovides; k++, var++) {
            (void) pipe_var_get(p, var, &v);
            fprintf(ex, " %s=", d->provides[k]);
            explain_quoted(ex, v);
        }
        fputc('\n', ex);
    }
    fprintf(ex, "series:\n");
}


static void
trace_skipped(pipeline_t *p, size_t i, int why)
{
    const cfg_metric_t  *m = &p->cfg->metrics[i];

    if (why == PIPE_SKIP_WHEN) {
        fprintf(p->trace_out, "  %s: not counted (\"when\" does not hold)%s\n",
                m->name, p->fams[i].zero_unmatched
                ? "; its series is created at 0" : "");
    } else {
        fprintf(p->trace_out, "  %s: not observed (value field \"%s\" absent "
                "or not a number)\n", m->name, m->value_field);
    }
}


static void
trace_series(pipeline_t *p, size_t i, double x)
{
    const cfg_metric_t  *m = &p->cfg->metrics[i];
    const strv_t        *labels = p->fl[i].labels;
    FILE                *ex = p->trace_out;
    size_t               k;

    fprintf(ex, "  %s{", m->name);
    for (k = 0; k < m->nlabels; k++) {
        fprintf(ex, "%s%s=", k ? "," : "", m->label_names[k]);
        explain_quoted(ex, labels[k]);
    }
    if (p->fams[i].value >= 0) {
        char  raw[EXPO_DOUBLE_LEN], scale[EXPO_DOUBLE_LEN];

        expo_format_double(raw, x);
        expo_format_double(scale, m->scale);
        fprintf(ex, "} observe %s (x %s)\n", raw, scale);
    } else {
        fprintf(ex, "} +1\n");
    }
}


static void
trace_ok(pipeline_t *p)
{
    fprintf(p->trace_out, "verdict: ok\n");
}


static void
explain_quoted(FILE *ex, strv_t v)
{
    size_t  i;

    fputc('"', ex);
    for (i = 0; i < v.len; i++) {
        unsigned char  c = (unsigned char) v.p[i];

        if (c == '"' || c == '\\') {
            fprintf(ex, "\\%c", c);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(ex, "\\x%02x", c);
        } else {
            fputc(c, ex);
        }
    }
    fputc('"', ex);
}
