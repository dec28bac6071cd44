/* pipeline_eval.c - The trip of one line: parse -> required fields ->
 * filters -> enrich -> series.
 *
 * Per line, parsing fills raw[] (one slot per distinct "key" of the
 * config: a top-level JSON value, or a regex group).  Every other value is
 * computed on first use and kept for the rest of the line: a variable is
 * "fresh" when its stamp equals the line's generation number, so nothing
 * is cleared between lines.  Values that need new bytes (unescaped
 * strings, repaired UTF-8, regex replacements) live in a scratch arena
 * that is reset per line; nothing is allocated per line in the steady
 * state.
 *
 * The line tester runs the same code with p->trace set (pipeline_trace.c):
 * each step then calls its hook, and p->probe keeps anything from being
 * counted.
 */

#include "exporter/pipeline_internal.h"

#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/clock.h"
#include "parsers/kv.h"
#include "parsers/utf8.h"


static const char *scan(pipeline_t *p, input_t *in, const char *line,
    size_t len, int *groups);
static int parse(pipeline_t *p, size_t input, const char *line, size_t len);
static int keep(pipeline_t *p);
static void decide(pipeline_t *p, size_t i);
static void count(pipeline_t *p);
static void count_exemplar(pipeline_t *p, family_t *f, const famline_t *fl,
    uint32_t id, int64_t *now_ms);
static void verdict_invalid(pipeline_t *p, const char *reason);
static int field_eval(pipeline_t *p, size_t i, strv_t *v);
static int raw_text(pipeline_t *p, const json_val_t *raw, strv_t *v);
static int json_path(pipeline_t *p, field_t *f, json_val_t cur, strv_t *v);
static char *scratch_alloc(pipeline_t *p, size_t n);
static void scratch_reset(pipeline_t *p);
static void count_invalid(pipeline_t *p, const char *reason);


void
pipeline_line(pipeline_t *p, size_t input, const char *line, size_t len)
{
    if (p->async) {
        pipe_wait_line(p, input, line, len);
        return;
    }
    (void) pipe_process(p, input, line, len);
}


int
pipe_process(pipeline_t *p, size_t input, const char *line, size_t len)
{
    size_t  i;

    p->gen++;
    if (p->gen == 0) {
        /* Wrapped: stale stamps could look fresh again. */
        memset(p->stamp, 0, p->nvars * sizeof(uint32_t));
        memset(p->row_stamp, 0, p->cfg->ndims * sizeof(uint32_t));
        p->gen = 1;
    }
    scratch_reset(p);

    if (parse(p, input, line, len) != 0) {
        return 0;
    }
    switch (keep(p)) {
    case 0:
        return 0;                       /* invalid or filtered */
    case -1:
        return 1;                       /* the verdict needs an answer */
    }
    PIPE_TRACE(p, lookups);

    /* Families: first decide everything (this is where lookups
     * happen), then count, so that a line waiting for a lookup has
     * counted nothing. */
    for (i = 0; i < p->nfams; i++) {
        decide(p, i);
    }
    if (p->pending) {
        return 1;
    }
    if (p->probe) {
        PIPE_TRACE(p, ok);
        return 0;
    }
    count(p);
    return 0;
}


/* Runs the line through its input's parser (json_scan() fills raw[];
 * a regex sets md and *groups).  Returns NULL, or the reason it does not
 * parse; counts nothing. */
static const char *
scan(pipeline_t *p, input_t *in, const char *line, size_t len, int *groups)
{
    int  rc;

    if (in->format == CFG_FORMAT_JSON) {
        rc = json_scan(p->jkeys, line, len, p->raw);
        return rc == JSON_OK ? NULL : json_strerror(rc);
    }
    *groups = regex_match(in->re, (strv_t) { line, len }, in->md);
    return *groups == 0 ? "no_match" : NULL;
}


int
pipeline_parses(pipeline_t *p, size_t input, const char *line, size_t len)
{
    int  groups;

    /* raw[] and md are scratch: the next line fills them again. */
    return scan(p, &p->inputs[input], line, len, &groups) == NULL;
}


/* Fills raw[] from the line in its input's format; -1 (counted as
 * invalid) when the line does not parse. */
static int
parse(pipeline_t *p, size_t input, const char *line, size_t len)
{
    input_t     *in = &p->inputs[input];
    const char  *reason;
    PCRE2_SIZE  *ov;
    size_t       k;
    int          n = 0, g;

    reason = scan(p, in, line, len, &n);
    if (reason != NULL) {
        verdict_invalid(p, reason);
        return -1;
    }
    if (in->format != CFG_FORMAT_JSON) {
        ov = pcre2_get_ovector_pointer(in->md);
        for (k = 0; k < p->nkeys; k++) {
            g = in->group[k];
            memset(&p->raw[k], 0, sizeof(json_val_t));
            if (g < 0 || g >= n || ov[2 * g] == PCRE2_UNSET) {
                continue;
            }
            p->raw[k].type = JSON_STRING;
            p->raw[k].p = line + ov[2 * g];
            p->raw[k].len = ov[2 * g + 1] - ov[2 * g];
        }
    }
    PIPE_TRACE(p, fields);
    return 0;
}


/* Required fields, then the filters (the first that holds drops the
 * line).  Returns 1 to keep the line, 0 when it was counted as invalid or
 * filtered, -1 when a filter's verdict waits for a lookup. */
static int
keep(pipeline_t *p)
{
    strv_t  v;
    size_t  i;
    int     rc;

    for (i = 0; i < p->cfg->nrequired; i++) {
        if (!pipe_var_get(p, p->required[i], &v) || v.len == 0) {
            PIPE_TRACE(p, required, i);
            verdict_invalid(p, "missing_field");
            return 0;
        }
    }
    for (i = 0; i < p->cfg->nfilters; i++) {
        rc = cond_eval(p->filters[i], pipe_var_get, p);
        if (p->pending) {
            return -1;
        }
        if (rc) {
            PIPE_TRACE(p, filtered, i);
            if (!p->probe) {
                store_add(p->f_lines, p->id_filtered, 1);
                store_add(p->f_filtered, p->filter_ids[i], 1);
            }
            return 0;
        }
    }
    return 1;
}


/* Decides what the line does to family i (p->fl[i]): its labels, its
 * value, whether "when" holds.  Counts nothing. */
static void
decide(pipeline_t *p, size_t i)
{
    famline_t  *fl = &p->fl[i];
    family_t   *f = &p->fams[i];
    strv_t     *labels = fl->labels;
    strv_t      v;
    size_t      k, cut;
    double      x = 0;
    int         zero = 0;

    fl->what = FL_SKIP;
    if (f->when != NULL && !cond_eval(f->when, pipe_var_get, p)) {
        PIPE_TRACE(p, skipped, i, PIPE_SKIP_WHEN);
        if (!f->zero_unmatched) {
            return;
        }
        zero = 1;
    }
    if (!zero && f->value >= 0
        && !(pipe_var_get(p, f->value, &v) && value_number(v, &x)))
    {
        PIPE_TRACE(p, skipped, i, PIPE_SKIP_VALUE);
        fl->what = FL_VALUE_ERR;
        return;
    }
    /* max_label_bytes: a longer value is cut at a character boundary, so
     * values that differ only after the cut share one series (README,
     * "Label safety"). */
    for (k = 0, cut = 0; k < f->nlabels; k++) {
        if (!pipe_var_get(p, f->labels[k], &labels[k])) {
            labels[k].p = "";
            labels[k].len = 0;
        }
        if (labels[k].len > p->cfg->max_label_bytes) {
            labels[k].len = utf8_cut(labels[k].p, labels[k].len,
                                     p->cfg->max_label_bytes);
            cut++;
        }
    }
    if (zero) {
        fl->what = FL_ZERO;
        return;
    }
    fl->has_exemplar = f->exemplar >= 0
                       && pipe_var_get(p, f->exemplar, &fl->exemplar)
                       && fl->exemplar.len > 0;
    PIPE_TRACE(p, series, i, x);
    fl->what = FL_COUNT;
    fl->x = x;
    fl->cut = cut;
}


/* Counts what decide() found, family by family, then the line. */
static void
count(pipeline_t *p)
{
    famline_t  *fl;
    family_t   *f;
    strv_t      v;
    uint32_t    id;
    size_t      i;
    double      x;
    int64_t     now_ms = -1;

    for (i = 0; i < p->nfams; i++) {
        fl = &p->fl[i];
        f = &p->fams[i];
        if (fl->what == FL_VALUE_ERR) {
            store_add(p->f_value_errors, f->value_err_id, 1);
        }
        if (fl->what == FL_ZERO) {
            /* Never into __overflow__: that would count an increment. */
            if (f->max_series == 0
                || store_family_size(f->fam) < f->max_series)
            {
                (void) pipe_series_id(f, fl->labels);
            }
            continue;
        }
        if (fl->what != FL_COUNT) {
            continue;
        }
        if (fl->cut > 0) {
            store_add(p->f_cut, f->cut_id, fl->cut);
        }
        id = pipe_series_id(f, fl->labels);
        if (f->value >= 0) {
            store_observe(f->fam, id, fl->x);
        } else {
            store_add(f->fam, id, 1);
        }
        if (f->exemplar >= 0) {
            count_exemplar(p, f, fl, id, &now_ms);
        }
    }
    store_add(p->f_lines, p->id_ok, 1);
    if (p->event_time >= 0 && pipe_var_get(p, p->event_time, &v)
        && value_number(v, &x))
    {
        atomic_store_explicit(&p->last_event, x, memory_order_relaxed);
    }
}


/* The line's exemplar in the bucket (or series) it counted in: the value
 * of the family's exemplar variable, observed when it is counted (wall
 * clock, milliseconds, read once per line: *now_ms < 0 until then). */
static void
count_exemplar(pipeline_t *p, family_t *f, const famline_t *fl, uint32_t id,
    int64_t *now_ms)
{
    if (!fl->has_exemplar) {
        store_add(p->f_exemplars, f->ex_absent_id, 1);
        return;
    }
    if (*now_ms < 0) {
        *now_ms = (int64_t) (clock_wall() * 1000.0);
    }
    if (store_exemplar(f->fam, id, f->value >= 0 ? fl->x : 1.0,
                       fl->exemplar, *now_ms) != 0)
    {
        store_add(p->f_exemplars, f->ex_long_id, 1);
    }
}


static void
verdict_invalid(pipeline_t *p, const char *reason)
{
    PIPE_TRACE(p, invalid, reason);
    if (!p->probe) {
        count_invalid(p, reason);
    }
}


/* Returns 1 and the value of variable var for the current line, or 0
 * when it is absent.  Computed once per line. */
int
pipe_var_get(void *ctx, int var, strv_t *v)
{
    pipeline_t       *p = ctx;
    const cfg_dim_t  *d;
    size_t            t, k;
    uint64_t          seq = 0;
    int               ok = 1;

    if (p->stamp[var] != p->gen) {
        p->stamp[var] = p->gen;
        if ((size_t) var < p->nfields) {
            p->present[var] = (uint8_t) field_eval(p, (size_t) var,
                                                   &p->val[var]);
        } else {
            t = (size_t) p->var_table[var];
            d = &p->cfg->dims[t];
            if (p->row_stamp[t] != p->gen) {
                p->row_stamp[t] = p->gen;
                for (k = 0; k < d->nkeys && ok; k++) {
                    ok = pipe_var_get(p, p->dim_keys[t][k], &p->tmp_keys[k]);
                }
                p->row[t] = NULL;
                if (ok && dims_get(p->dims, t, p->tmp_keys,
                                   p->replay || p->probe ? DIMS_NOCOUNT : 0,
                                   &p->row[t], &seq) == DIMS_PENDING)
                {
                    /* Counted as "missing" at the deadline (final);
                     * until then the line waits (see "Waiting
                     * lines"). */
                    p->row[t] = NULL;
                    if (!p->final) {
                        p->pending = 1;
                        if (seq > p->wait_seq) {
                            p->wait_seq = seq;
                        }
                    }
                }
            }
            if (p->row[t] != NULL) {
                p->val[var] = p->row[t][p->var_col[var]];
            } else {
                p->val[var].p = d->missing;
                p->val[var].len = strlen(d->missing);
            }
            p->present[var] = 1;
        }
    }
    *v = p->val[var];
    return p->present[var];
}


static int
field_eval(pipeline_t *p, size_t i, strv_t *v)
{
    field_t     *f = &p->fields[i];
    json_val_t   cur;
    strv_t       s, out;
    size_t       n, cap;
    char        *dst;
    long         len;
    int          present = 0;

    if (f->key >= 0) {
        cur = p->raw[f->key];
    } else {
        memset(&cur, 0, sizeof(cur));
        if (pipe_var_get(p, f->from, &s)) {
            cur.type = JSON_STRING;
            cur.p = s.p;
            cur.len = s.len;
        }
    }

    switch (f->cfg->xform) {
    case CFG_XFORM_JSON:
        present = json_path(p, f, cur, v);
        break;
    case CFG_XFORM_KV:
        present = raw_text(p, &cur, &s)
                  && kv_find(s, f->kv_key, f->kv_sep, f->kv_assign, v);
        break;
    case CFG_XFORM_REGEX:
        if (!raw_text(p, &cur, &s) || regex_match(f->re, s, f->md) == 0) {
            break;
        }
        if (f->cfg->replace == NULL) {
            /* The first group when there is one, else the whole match. */
            PCRE2_SIZE  *ov = pcre2_get_ovector_pointer(f->md);
            int          g = pcre2_get_ovector_count(f->md) > 1
                             && ov[2] != PCRE2_UNSET ? 1 : 0;

            v->p = s.p + ov[2 * g];
            v->len = ov[2 * g + 1] - ov[2 * g];
            present = 1;
            break;
        }
        cap = regex_expand_bound(f->cfg->replace, s.len);
        dst = scratch_alloc(p, cap);
        len = regex_expand(f->re, s, f->md, f->cfg->replace, dst, cap);
        if (len >= 0) {
            v->p = dst;
            v->len = (size_t) len;
            present = 1;
        }
        break;
    default:
        present = raw_text(p, &cur, v);
        break;
    }

    if (!present) {
        if (f->cfg->dflt == NULL) {
            return 0;
        }
        v->p = f->cfg->dflt;
        v->len = strlen(f->cfg->dflt);
        return 1;
    }

    /* Label values must be valid UTF-8: repair what is not. */
    n = utf8_valid_prefix(v->p, v->len);
    if (n < v->len) {
        dst = scratch_alloc(p, v->len * 3);
        out.len = utf8_repair(v->p, v->len, dst, v->len * 3);
        out.p = dst;
        *v = out;
    }
    return 1;
}


/* The text of a scalar raw value: strings unescaped, numbers and booleans
 * as written.  null, objects, arrays and absent values have none. */
static int
raw_text(pipeline_t *p, const json_val_t *raw, strv_t *v)
{
    char  *dst;

    switch (raw->type) {
    case JSON_STRING:
        if (raw->escaped) {
            dst = scratch_alloc(p, raw->len);
            v->len = json_unescape(raw->p, raw->len, dst);
            v->p = dst;
        } else {
            v->p = raw->p;
            v->len = raw->len;
        }
        return 1;
    case JSON_NUMBER:
    case JSON_TRUE:
    case JSON_FALSE:
        v->p = raw->p;
        v->len = raw->len;
        return 1;
    default:
        return 0;
    }
}


/* Follows the field's path into cur, an object or a string holding JSON. */
static int
json_path(pipeline_t *p, field_t *f, json_val_t cur, strv_t *v)
{
    json_val_t  out;
    strv_t      text;
    size_t      i;

    for (i = 0; i < f->npath; i++) {
        if (cur.type == JSON_OBJECT) {
            text.p = cur.p;
            text.len = cur.len;
        } else if (cur.type == JSON_STRING) {
            raw_text(p, &cur, &text);
        } else {
            return 0;
        }
        if (json_scan(f->path[i], text.p, text.len, &out) != JSON_OK) {
            return 0;
        }
        cur = out;
    }
    return raw_text(p, &cur, v);
}


static char *
scratch_alloc(pipeline_t *p, size_t n)
{
    scratch_t  *s = p->scratch;
    size_t      cap;
    char       *r;

    n = (n + 7) & ~(size_t) 7;
    if (s == NULL || s->cap - s->used < n) {
        cap = n > SCRATCH_BLOCK ? n : SCRATCH_BLOCK;
        s = xmalloc(sizeof(*s) + cap);
        s->cap = cap;
        s->used = 0;
        s->next = p->scratch;
        p->scratch = s;
    }
    r = s->data + s->used;
    s->used += n;
    return r;
}


/* Keeps one block of the standard size, frees the rest. */
static void
scratch_reset(pipeline_t *p)
{
    scratch_t  *s, *next, *keep = NULL;

    for (s = p->scratch; s != NULL; s = next) {
        next = s->next;
        if (keep == NULL && s->cap == SCRATCH_BLOCK) {
            keep = s;
            continue;
        }
        free(s);
    }
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
    }
    p->scratch = keep;
}


void
pipe_scratch_free(pipeline_t *p)
{
    scratch_t  *next;

    while (p->scratch != NULL) {
        next = p->scratch->next;
        free(p->scratch);
        p->scratch = next;
    }
}


static void
count_invalid(pipeline_t *p, const char *reason)
{
    size_t  i;

    store_add(p->f_lines, p->id_invalid, 1);
    for (i = 0; i < p->nreasons; i++) {
        if (strcmp(p->reasons[i].name, reason) == 0) {
            store_add(p->f_errors, p->reasons[i].id, 1);
            return;
        }
    }
    store_add(p->f_errors, pipe_self_series(p->f_errors, reason), 1);
}


uint32_t
pipe_self_series(store_family_t *f, const char *value)
{
    strv_t  v = { value, strlen(value) };

    return store_series(f, &v);
}


void
pipeline_invalid(pipeline_t *p, const char *reason)
{
    count_invalid(p, reason);
}


void
pipeline_bytes(pipeline_t *p, uint64_t n)
{
    store_add(p->f_bytes, p->id_bytes, n);
}


double
pipeline_last_event_time(pipeline_t *p)
{
    return atomic_load_explicit(&p->last_event, memory_order_relaxed);
}
