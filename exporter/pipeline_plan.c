/* pipeline_plan.c - Compiling a configuration into a pipeline: the keys
 * each input extracts, the fields and their transforms, the variables the
 * dimension tables provide, the filters, the metric families and the
 * pipeline's own counters.  Everything here runs once, at creation (or on
 * a reload); what a line does with the plan is pipeline_eval.c.
 */

#include "exporter/pipeline_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int compile_dims(pipeline_t *p, char *err, size_t errlen);
static int compile_fields(pipeline_t *p, char *err, size_t errlen);
static int compile_inputs(pipeline_t *p, char *err, size_t errlen);
static int compile_filters(pipeline_t *p, char *err, size_t errlen);
static int compile_metrics(pipeline_t *p, char *err, size_t errlen);
static int add_self_families(pipeline_t *p);
static int key_index(pipeline_t *p, const char *name);
static int var_resolve(void *ctx, const char *name);
static void *zalloc(size_t n, size_t size);


pipeline_t *
pipeline_create(const cfg_t *cfg, store_t *store, dims_t *dims, char *err,
    size_t errlen)
{
    pipeline_t  *p;
    size_t       i;

    p = zalloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->store = store;
    p->dims = dims;

    p->nfields = cfg->nfields;
    p->nvars = cfg->nfields;
    for (i = 0; i < cfg->ndims; i++) {
        p->nvars += cfg->dims[i].nprovides;
    }
    p->fields = zalloc(cfg->nfields, sizeof(field_t));
    p->keys = zalloc(cfg->nfields, sizeof(char *));
    p->var_table = zalloc(p->nvars, sizeof(int));
    p->var_col = zalloc(p->nvars, sizeof(int));
    p->stamp = zalloc(p->nvars, sizeof(uint32_t));
    p->present = zalloc(p->nvars, sizeof(uint8_t));
    p->val = zalloc(p->nvars, sizeof(strv_t));
    p->row_stamp = zalloc(cfg->ndims, sizeof(uint32_t));
    p->row = zalloc(cfg->ndims, sizeof(strv_t *));
    p->dim_keys = zalloc(cfg->ndims, sizeof(*p->dim_keys));
    p->required = zalloc(cfg->nrequired, sizeof(int));
    p->filters = zalloc(cfg->nfilters, sizeof(cond_t *));
    p->filter_ids = zalloc(cfg->nfilters, sizeof(uint32_t));
    p->fams = zalloc(cfg->nmetrics, sizeof(family_t));
    if (!p->fields || !p->keys || !p->var_table || !p->var_col || !p->stamp
        || !p->present || !p->val || !p->row_stamp || !p->row || !p->dim_keys
        || !p->required || !p->filters || !p->filter_ids || !p->fams)
    {
        snprintf(err, errlen, "out of memory");
        goto err;
    }

    if (compile_dims(p, err, errlen) != 0
        || compile_fields(p, err, errlen) != 0
        || compile_inputs(p, err, errlen) != 0)
    {
        goto err;
    }
    p->event_time = -1;
    if (cfg->event_time != NULL) {
        p->event_time = var_resolve(p, cfg->event_time);
        if (p->event_time < 0) {
            snprintf(err, errlen, "%s: event_time \"%s\" is not a variable",
                     cfg->file, cfg->event_time);
            goto err;
        }
    }
    for (i = 0; i < cfg->nrequired; i++) {
        p->required[i] = config_field_index(cfg, cfg->required[i]);
        if (p->required[i] < 0) {
            snprintf(err, errlen, "%s: required field \"%s\" is not defined",
                     cfg->file, cfg->required[i]);
            goto err;
        }
    }
    if (compile_filters(p, err, errlen) != 0) {
        goto err;
    }
    if (compile_metrics(p, err, errlen) != 0 || add_self_families(p) != 0) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "out of memory");
        }
        goto err;
    }
    p->fl = zalloc(p->nfams, sizeof(famline_t));
    if (p->fl == NULL) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    if (pipe_wait_start(p, err, errlen) != 0) {
        goto err;
    }
    return p;

err:
    pipeline_destroy(p);
    return NULL;
}


void
pipeline_destroy(pipeline_t *p)
{
    size_t  i, j;

    if (p == NULL) {
        return;
    }
    pipe_wait_stop(p);
    free(p->fl);
    for (i = 0; p->fams && i < p->nfams; i++) {
        free(p->fams[i].cache);
    }
    for (i = 0; p->fields && i < p->nfields; i++) {
        for (j = 0; j < p->fields[i].npath; j++) {
            json_keys_destroy(p->fields[i].path[j]);
        }
        free(p->fields[i].path);
        if (p->fields[i].md) {
            pcre2_match_data_free(p->fields[i].md);
        }
        if (p->fields[i].re) {
            pcre2_code_free(p->fields[i].re);
        }
    }
    for (i = 0; p->inputs && i < p->cfg->ninputs; i++) {
        if (p->inputs[i].md) {
            pcre2_match_data_free(p->inputs[i].md);
        }
        if (p->inputs[i].re) {
            pcre2_code_free(p->inputs[i].re);
        }
        free(p->inputs[i].group);
    }
    for (i = 0; p->filters && i < p->cfg->nfilters; i++) {
        cond_free(p->filters[i]);
    }
    for (i = 0; p->fams && i < p->nfams; i++) {
        cond_free(p->fams[i].when);
    }
    json_keys_destroy(p->jkeys);
    p->nkeys = 0;
    pipe_scratch_free(p);
    free(p->inputs);
    free(p->keys);
    free(p->raw);
    free(p->fields);
    free(p->var_table);
    free(p->var_col);
    free(p->stamp);
    free(p->present);
    free(p->val);
    free(p->row_stamp);
    free(p->row);
    free(p->dim_keys);
    free(p->required);
    free(p->filters);
    free(p->filter_ids);
    free(p->fams);
    free(p);
}


/* Numbers the variables the tables provide (after the fields) and finds
 * each table's key fields. */
static int
compile_dims(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t  *cfg = p->cfg;
    size_t        i, j, v;

    v = cfg->nfields;
    for (i = 0; i < cfg->ndims; i++) {
        for (j = 0; j < cfg->dims[i].nprovides; j++, v++) {
            p->var_table[v] = (int) i;
            p->var_col[v] = (int) j;
        }
        if (cfg->dims[i].nkeys > MAX_LABELS) {
            snprintf(err, errlen, "%s:%d: more than %d key columns", cfg->file,
                     cfg->dims[i].line, MAX_LABELS);
            return -1;
        }
        for (j = 0; j < cfg->dims[i].nkeys; j++) {
            p->dim_keys[i][j] = config_field_index(cfg,
                                                   cfg->dims[i].key_fields[j]);
            if (p->dim_keys[i][j] < 0) {
                snprintf(err, errlen, "%s:%d: key \"%s\" is not a field",
                         cfg->file, cfg->dims[i].line,
                         cfg->dims[i].key_fields[j]);
                return -1;
            }
        }
    }

    return 0;
}


/* Collects the distinct "key" names, compiles per-field transforms. */
static int
compile_fields(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t        *cfg = p->cfg;
    const cfg_field_t  *c;
    field_t            *f;
    size_t              i, j;

    for (i = 0; i < cfg->nfields; i++) {
        c = &cfg->fields[i];
        f = &p->fields[i];
        f->cfg = c;
        f->key = -1;
        f->from = -1;
        if (c->key != NULL) {
            f->key = key_index(p, c->key);
            if (f->key < 0) {
                p->keys[p->nkeys] = c->key;
                f->key = (int) p->nkeys++;
            }
        } else if (c->from != NULL) {
            f->from = config_field_index(cfg, c->from);
            if (f->from < 0) {
                snprintf(err, errlen, "%s:%d: unknown field \"%s\"", cfg->file,
                         c->line, c->from);
                return -1;
            }
        }
        switch (c->xform) {
        case CFG_XFORM_JSON:
            f->path = zalloc(c->njson_path, sizeof(json_keys_t *));
            if (f->path == NULL) {
                return -1;
            }
            for (j = 0; j < c->njson_path; j++) {
                f->path[j] = json_keys_create((const char *const *)
                                              &c->json_path[j], 1);
                if (f->path[j] == NULL) {
                    return -1;
                }
                f->npath++;
            }
            break;
        case CFG_XFORM_KV:
            f->kv_key = (strv_t) { c->kv_key, strlen(c->kv_key) };
            f->kv_sep.p = c->kv_separator ? c->kv_separator : ";";
            f->kv_sep.len = strlen(f->kv_sep.p);
            f->kv_assign.p = c->kv_assign ? c->kv_assign : "=";
            f->kv_assign.len = strlen(f->kv_assign.p);
            break;
        case CFG_XFORM_REGEX: {
            char  msg[256];

            f->re = regex_compile(c->regex, 1, msg, sizeof(msg));
            if (f->re == NULL) {
                snprintf(err, errlen, "%s:%d: %s", cfg->file, c->line, msg);
                return -1;
            }
            f->md = pcre2_match_data_create_from_pattern(f->re, NULL);
            if (f->md == NULL) {
                return -1;
            }
            break;
        }
        default:
            break;
        }
    }
    p->raw = zalloc(p->nkeys, sizeof(json_val_t));
    p->jkeys = json_keys_create((const char *const *) p->keys, p->nkeys);
    return (p->raw && p->jkeys) ? 0 : -1;
}


static int
compile_inputs(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t  *cfg = p->cfg;
    input_t      *in;
    size_t        i, k;
    char          msg[256];

    p->inputs = zalloc(cfg->ninputs, sizeof(input_t));
    if (p->inputs == NULL) {
        return -1;
    }
    for (i = 0; i < cfg->ninputs; i++) {
        in = &p->inputs[i];
        in->format = cfg->inputs[i].format;
        if (in->format != CFG_FORMAT_REGEX) {
            continue;
        }
        in->re = regex_compile(cfg->inputs[i].regex, 1, msg, sizeof(msg));
        if (in->re == NULL) {
            snprintf(err, errlen, "%s:%d: %s", cfg->file, cfg->inputs[i].line,
                     msg);
            return -1;
        }
        in->md = pcre2_match_data_create_from_pattern(in->re, NULL);
        in->group = zalloc(p->nkeys, sizeof(int));
        if (in->md == NULL || in->group == NULL) {
            return -1;
        }
        for (k = 0; k < p->nkeys; k++) {
            in->group[k] = pcre2_substring_number_from_name(
                in->re, (PCRE2_SPTR) p->keys[k]);
            if (in->group[k] <= 0) {
                in->group[k] = -1;
            }
        }
    }
    return 0;
}


static int
compile_filters(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t  *cfg = p->cfg;
    size_t        i;

    for (i = 0; i < cfg->nfilters; i++) {
        char  msg[256];

        p->filters[i] = cond_compile(&cfg->filters[i].drop, var_resolve, p,
                                     msg, sizeof(msg));
        if (p->filters[i] == NULL) {
            snprintf(err, errlen, "%s:%d: %s", cfg->file,
                     cfg->filters[i].line, msg);
            return -1;
        }
    }
    return 0;
}


static int
compile_metrics(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t         *cfg = p->cfg;
    const cfg_metric_t  *m;
    store_family_def_t   def;
    family_t            *f;
    char                 msg[256];
    size_t               i, k;

    for (i = 0; i < cfg->nmetrics; i++) {
        m = &cfg->metrics[i];
        f = &p->fams[i];
        if (m->nlabels > MAX_LABELS) {
            snprintf(err, errlen, "%s:%d: more than %d labels", cfg->file,
                     m->line, MAX_LABELS);
            return -1;
        }
        for (k = 0; k < m->nlabels; k++) {
            f->labels[k] = var_resolve(p, m->label_sources[k]);
            if (f->labels[k] < 0) {
                snprintf(err, errlen, "%s:%d: unknown variable \"%s\"",
                         cfg->file, m->line, m->label_sources[k]);
                return -1;
            }
        }
        f->nlabels = m->nlabels;
        f->value = -1;
        if (m->type == CFG_METRIC_HISTOGRAM) {
            f->value = var_resolve(p, m->value_field);
            if (f->value < 0) {
                snprintf(err, errlen, "%s:%d: unknown variable \"%s\"",
                         cfg->file, m->line, m->value_field);
                return -1;
            }
        }
        f->exemplar = -1;
        if (m->exemplar_field != NULL) {
            f->exemplar = var_resolve(p, m->exemplar_field);
            if (f->exemplar < 0) {
                snprintf(err, errlen, "%s:%d: unknown variable \"%s\"",
                         cfg->file, m->line, m->exemplar_field);
                return -1;
            }
        }
        f->zero_unmatched = m->zero_unmatched;
        if (m->when != NULL) {
            f->when = cond_compile(m->when, var_resolve, p, msg, sizeof(msg));
            if (f->when == NULL) {
                snprintf(err, errlen, "%s:%d: %s", cfg->file, m->when->line,
                         msg);
                return -1;
            }
        }

        memset(&def, 0, sizeof(def));
        def.name = m->name;
        def.help = m->help;
        def.type = m->type == CFG_METRIC_HISTOGRAM ? STORE_HISTOGRAM
                                                   : STORE_COUNTER;
        def.labels = (const char *const *) m->label_names;
        def.nlabels = m->nlabels;
        def.buckets = m->buckets;
        def.nbuckets = m->nbuckets;
        def.scale = m->scale;
        def.max_series = m->max_series;
        def.ttl = m->series_ttl;
        def.native_factor = m->native_factor;
        def.native_max_buckets = (uint32_t) m->native_max_buckets;
        def.exemplar_label = m->exemplar_field != NULL ? m->exemplar_label
                                                       : NULL;
        def.sibling_label = -1;
        if (m->sibling_label != NULL) {
            for (k = 0; k < m->nlabels; k++) {
                if (strcmp(m->label_names[k], m->sibling_label) == 0) {
                    def.sibling_label = (int) k;
                }
            }
            def.sibling_values = (const char *const *) m->sibling_values;
            def.nsibling_values = m->nsibling_values;
        }
        f->fam = store_family_add(p->store, &def);
        if (f->fam == NULL) {
            return -1;
        }
        f->max_series = m->max_series;
        /* A family whose idle series expire reuses ids, and every use
         * must reach the store to keep its series alive: no cache. */
        if (m->nlabels > 0 && m->series_ttl == 0) {
            f->cache = zalloc(SC_SLOTS, sizeof(sc_slot_t));
            if (f->cache == NULL) {
                return -1;
            }
        }
        p->nfams++;
    }
    return 0;
}


/* The exporter's own counters, pre-created at 0 for every known label
 * value so that rate() and increase() see their first increment. */
static int
add_self_families(pipeline_t *p)
{
    static const char  *reasons[] = { "empty", "not_object", "truncated",
        "syntax", "too_deep", "missing_field", "too_long", "no_match" };
    static const char  *result[] = { "result" }, *reason[] = { "reason" };
    static const char  *filter[] = { "filter" }, *metric[] = { "metric" };
    static const char  *metric_reason[] = { "metric", "reason" };
    store_family_def_t  def;
    size_t              i;
    int                 regex = 0;

    memset(&def, 0, sizeof(def));
    def.type = STORE_COUNTER;
    def.sibling_label = -1;

    def.name = "gwlog_lines_total";
    def.help = "Complete lines read, by outcome: ok, invalid (see "
               "gwlog_parse_errors_total) or filtered.";
    def.labels = result;
    def.nlabels = 1;
    if ((p->f_lines = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    p->id_ok = pipe_self_series(p->f_lines, "ok");
    p->id_invalid = pipe_self_series(p->f_lines, "invalid");
    p->id_filtered = pipe_self_series(p->f_lines, "filtered");

    def.name = "gwlog_parse_errors_total";
    def.help = "Invalid lines, by reason; each is skipped.";
    def.labels = reason;
    if ((p->f_errors = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->cfg->ninputs; i++) {
        regex |= p->cfg->inputs[i].format == CFG_FORMAT_REGEX;
    }
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reasons[i], "no_match") == 0 && !regex) {
            continue;
        }
        p->reasons[p->nreasons].name = reasons[i];
        p->reasons[p->nreasons].id = pipe_self_series(p->f_errors,
                                                      reasons[i]);
        p->nreasons++;
    }

    def.name = "gwlog_lines_filtered_total";
    def.help = "Lines dropped by a filter, by the filter's name.";
    def.labels = filter;
    if ((p->f_filtered = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->cfg->nfilters; i++) {
        p->filter_ids[i] = pipe_self_series(p->f_filtered,
                                       p->cfg->filters[i].name);
    }

    def.name = "gwlog_value_errors_total";
    def.help = "Valid lines not observed by a histogram because its value "
               "field was absent or not a finite number.";
    def.labels = metric;
    if ((p->f_value_errors = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->nfams; i++) {
        if (p->fams[i].value >= 0) {
            p->fams[i].value_err_id = pipe_self_series(p->f_value_errors,
                                                  p->cfg->metrics[i].name);
        }
    }

    def.name = "gwlog_label_values_truncated_total";
    def.help = "Label values cut to max_label_bytes, by metric family.";
    def.labels = metric;
    def.nlabels = 1;
    if ((p->f_cut = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->nfams; i++) {
        p->fams[i].cut_id = pipe_self_series(p->f_cut,
                                             p->cfg->metrics[i].name);
    }

    for (i = 0; i < p->nfams && p->fams[i].exemplar < 0; i++) {
        /* Only with exemplars: a family of their own. */
    }
    if (i < p->nfams) {
        def.name = "gwlog_exemplars_skipped_total";
        def.help = "Lines counted without replacing their bucket's or "
                   "series' exemplar, by metric family and reason: absent "
                   "(the exemplar field is absent or empty), too_long "
                   "(label and value pass 128 characters).";
        def.labels = metric_reason;
        def.nlabels = 2;
        if ((p->f_exemplars = store_family_add(p->store, &def)) == NULL) {
            return -1;
        }
        for (i = 0; i < p->nfams; i++) {
            const char  *absent[] = { p->cfg->metrics[i].name, "absent" };
            const char  *too_long[] = { p->cfg->metrics[i].name, "too_long" };

            if (p->fams[i].exemplar >= 0) {
                p->fams[i].ex_absent_id = store_series_str(p->f_exemplars,
                                                           absent);
                p->fams[i].ex_long_id = store_series_str(p->f_exemplars,
                                                         too_long);
            }
        }
    }

    def.name = "gwlog_bytes_read_total";
    def.help = "Bytes read from the input files.";
    def.labels = NULL;
    def.nlabels = 0;
    if ((p->f_bytes = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    p->id_bytes = store_series(p->f_bytes, NULL);
    return 0;
}


static int
key_index(pipeline_t *p, const char *name)
{
    size_t  i;

    for (i = 0; i < p->nkeys; i++) {
        if (strcmp(p->keys[i], name) == 0) {
            return (int) i;
        }
    }
    return -1;
}


static int
var_resolve(void *ctx, const char *name)
{
    pipeline_t  *p = ctx;
    const cfg_t *cfg = p->cfg;
    size_t       i, j, v;
    int          f;

    f = config_field_index(cfg, name);
    if (f >= 0) {
        return f;
    }
    v = cfg->nfields;
    for (i = 0; i < cfg->ndims; i++) {
        for (j = 0; j < cfg->dims[i].nprovides; j++, v++) {
            if (strcmp(cfg->dims[i].provides[j], name) == 0) {
                return (int) v;
            }
        }
    }
    return -1;
}


static void *
zalloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}
