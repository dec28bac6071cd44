/* conf_setters.c - The setters and checks of the configuration that are
 * not generic (see conf_internal.h): fields and their transforms, the
 * required fields, a table's key and provided columns, a metric family's
 * labels, buckets and siblings.  The tables naming them are in
 * conf_table.c.
 */

#include "config/conf_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* Static prototypes */

static int cfg_check_field(cfg_ctx_t *ctx, yaml_node_t *key,
    yaml_node_t **vals, const char *what, cfg_xform_t *xform);
static int cfg_check_from(cfg_ctx_t *ctx, yaml_node_t *val);
static int cfg_is_inf(const char *s);


/* Fields */

/* fields: a map of name -> field map.  conf: cfg_t.  Each field is named
 * last, so that "field defined twice" only sees earlier fields and "from"
 * cannot name a field before every field is read. */
int
cfg_set_fields(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t             *cfg = conf;
    cfg_field_t       *f;
    yaml_node_pair_t  *pair;
    yaml_node_t       *key, *vals[CFG_MAX_KEYS];
    size_t             n, i;
    char               what[128];

    if (val->type != YAML_MAPPING_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a map, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = cfg_npairs(val);
    if (n == 0) {
        return 0;
    }
    cfg->fields = calloc(n, sizeof(cfg_field_t));
    if (cfg->fields == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cfg->nfields = n;

    for (i = 0, pair = val->data.mapping.pairs.start; i < n; i++, pair++) {
        key = yaml_document_get_node(ctx->doc, pair->key);
        f = &cfg->fields[i];
        f->line = cfg_line(key);

        if (key->type != YAML_SCALAR_NODE
            || !cfg_valid_name(cfg_text(key), "a_", "a0_"))
        {
            return cfg_error(ctx, key, "field name must match "
                             "[a-zA-Z_][a-zA-Z0-9_]*");
        }
        if (config_field_index(cfg, cfg_text(key)) >= 0) {
            return cfg_error(ctx, key, "field \"%s\" defined twice",
                             cfg_text(key));
        }
        snprintf(what, sizeof(what), "field \"%s\"", cfg_text(key));

        if (cfg_map_scan(ctx, yaml_document_get_node(ctx->doc, pair->value),
                         cfg_field_cmds, what, vals) != 0
            || cfg_check_field(ctx, key, vals, what, &f->xform) != 0)
        {
            return -1;
        }

        if (cfg_map_apply(ctx, key, cfg_field_cmds, what, vals, f) != 0) {
            return -1;
        }
        if (f->xform == CFG_XFORM_REGEX
            && cfg_check_regex(ctx, cfg_val(cfg_field_cmds, vals, "regex"),
                               "regex", f->regex, 0) != 0)
        {
            return -1;
        }
        f->name = strdup(cfg_text(key));
        if (f->name == NULL) {
            return cfg_error(ctx, key, "out of memory");
        }
    }
    return cfg_check_from(ctx, val);
}


/* Exactly one source, at most one transform (into *xform), options with
 * their transform.  vals: what cfg_map_scan() found. */
static int
cfg_check_field(cfg_ctx_t *ctx, yaml_node_t *key, yaml_node_t **vals,
    const char *what, cfg_xform_t *xform)
{
    static const char *xforms[] = { "json", "kv", "regex" };
    static const cfg_xform_t ids[] = {
        CFG_XFORM_JSON, CFG_XFORM_KV, CFG_XFORM_REGEX
    };
    yaml_node_t  *node, *seen;
    size_t        j;

    if (cfg_val(cfg_field_cmds, vals, "key") == NULL
        && cfg_val(cfg_field_cmds, vals, "from") == NULL)
    {
        return cfg_error(ctx, key, "%s: needs \"key\" or \"from\"", what);
    }
    node = cfg_val(cfg_field_cmds, vals, "from");
    if (node != NULL && cfg_val(cfg_field_cmds, vals, "key") != NULL) {
        return cfg_error(ctx, node, "%s: \"key\" and \"from\" are exclusive",
                         what);
    }
    seen = NULL;
    *xform = CFG_XFORM_NONE;
    for (j = 0; j < sizeof(xforms) / sizeof(xforms[0]); j++) {
        node = cfg_val(cfg_field_cmds, vals, xforms[j]);
        if (node == NULL) {
            continue;
        }
        if (seen != NULL) {
            return cfg_error(ctx, node, "%s: at most one of \"json\", "
                             "\"kv\" and \"regex\"", what);
        }
        seen = node;
        *xform = ids[j];
    }
    if (*xform != CFG_XFORM_KV) {
        node = cfg_val(cfg_field_cmds, vals, "kv_separator");
        if (node == NULL) {
            node = cfg_val(cfg_field_cmds, vals, "kv_assign");
        }
        if (node != NULL) {
            return cfg_error(ctx, node, "%s: \"kv_separator\" and "
                             "\"kv_assign\" go with \"kv\"", what);
        }
    }
    node = cfg_val(cfg_field_cmds, vals, "replace");
    if (node != NULL && *xform != CFG_XFORM_REGEX) {
        return cfg_error(ctx, node, "%s: \"replace\" goes with \"regex\"",
                         what);
    }
    return 0;
}


/* "from" must name another field, with no cycle.  val: the fields map. */
static int
cfg_check_from(cfg_ctx_t *ctx, yaml_node_t *val)
{
    cfg_t             *cfg = ctx->cfg;
    cfg_field_t       *f;
    yaml_node_pair_t  *pair;
    yaml_node_t       *node;
    size_t             n, i, steps;
    int                k;

    n = cfg->nfields;
    for (i = 0, pair = val->data.mapping.pairs.start; i < n; i++, pair++) {
        f = &cfg->fields[i];
        if (f->from == NULL) {
            continue;
        }
        node = cfg_map_get(ctx, yaml_document_get_node(ctx->doc, pair->value),
                           "from");
        k = config_field_index(cfg, f->from);
        if (k < 0) {
            return cfg_error(ctx, node, "field \"%s\": \"from\" names an "
                             "unknown field \"%s\"", f->name, f->from);
        }
        if ((size_t) k == i) {
            return cfg_error(ctx, node, "field \"%s\": \"from\" names the "
                             "field itself", f->name);
        }
        for (steps = 0; steps < n && k >= 0; steps++) {
            if ((size_t) k == i) {
                return cfg_error(ctx, node, "field \"%s\": \"from\" makes a "
                                 "cycle", f->name);
            }
            if (cfg->fields[k].from == NULL) {
                break;
            }
            k = config_field_index(cfg, cfg->fields[k].from);
        }
    }
    return 0;
}


/* json: "a.b" (dotted) or a list of keys. */
int
cfg_set_json_path(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_field_t  *f = conf;
    const char   *s, *dot;
    size_t        n, i;

    if (val->type != YAML_SCALAR_NODE) {
        return cfg_get_strs(ctx, val, cmd->name,
                            CFG_NONEMPTY | CFG_NONEMPTY_ITEMS, &f->json_path,
                            &f->njson_path);
    }
    if (cfg_is_null(val)) {
        return cfg_error(ctx, val, "\"%s\": expected a path or a list of "
                         "keys, found nothing", cmd->name);
    }

    s = cfg_text(val);
    n = 1;
    for (dot = s; *dot != '\0'; dot++) {
        n += (*dot == '.');
    }
    f->json_path = calloc(n, sizeof(char *));
    if (f->json_path == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    f->njson_path = n;

    for (i = 0; i < n; i++) {
        dot = strchr(s, '.');
        if (dot == NULL) {
            dot = s + strlen(s);
        }
        if (dot == s) {
            return cfg_error(ctx, val, "\"%s\": empty key in \"%s\" (use a "
                             "list for keys holding dots)", cmd->name,
                             cfg_text(val));
        }
        f->json_path[i] = strndup(s, (size_t) (dot - s));
        if (f->json_path[i] == NULL) {
            return cfg_error(ctx, val, "out of memory");
        }
        s = dot + 1;
    }
    return 0;
}



/* required: a list of field names.  conf: cfg_t. */
int
cfg_set_required(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t   *cfg = conf;
    size_t   i;

    if (cfg_get_strs(ctx, val, cmd->name, CFG_NONEMPTY | CFG_NONEMPTY_ITEMS,
                     &cfg->required, &cfg->nrequired) != 0)
    {
        return -1;
    }
    for (i = 0; i < cfg->nrequired; i++) {
        if (config_field_index(cfg, cfg->required[i]) < 0) {
            return cfg_error(ctx, cfg_item(ctx, val, i), "\"required\": "
                             "\"%s\" is not a field", cfg->required[i]);
        }
    }
    return cfg_str_unique(ctx, val, cfg->required, cfg->nrequired,
                          cmd->name, "");
}


/* key: a list of columns named like fields, or a map column -> field.
 * conf: cfg_dim_t. */
int
cfg_set_table_key(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_dim_t         *d = conf;
    yaml_node_pair_t  *pair;
    yaml_node_t       *col, *var;
    size_t             n, i, j;
    int                is_map;

    is_map = (val->type == YAML_MAPPING_NODE);
    if (is_map) {
        n = cfg_npairs(val);
    } else if (val->type == YAML_SEQUENCE_NODE) {
        n = cfg_nitems(val);
    } else {
        return cfg_error(ctx, val, "\"%s\": expected a list of columns or a "
                         "map column -> field, found %s", cmd->name,
                         cfg_kind(val));
    }
    if (n == 0) {
        return cfg_error(ctx, val, "\"%s\": must not be empty", cmd->name);
    }

    d->key_columns = calloc(n, sizeof(char *));
    d->key_fields = calloc(n, sizeof(char *));
    if (d->key_columns == NULL || d->key_fields == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    d->nkeys = n;

    for (i = 0; i < n; i++) {
        if (is_map) {
            pair = &val->data.mapping.pairs.start[i];
            col = yaml_document_get_node(ctx->doc, pair->key);
            var = yaml_document_get_node(ctx->doc, pair->value);
        } else {
            col = cfg_item(ctx, val, i);
            var = col;
        }
        if (cfg_get_str(ctx, col, cmd->name, CFG_NONEMPTY,
                        &d->key_columns[i]) != 0
            || cfg_get_str(ctx, var, cmd->name, CFG_NONEMPTY,
                           &d->key_fields[i]) != 0)
        {
            return -1;
        }
        if (config_field_index(ctx->cfg, d->key_fields[i]) < 0) {
            return cfg_error(ctx, var, "table \"%s\": key \"%s\" is not a "
                             "field", d->name, d->key_fields[i]);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(d->key_columns[j], d->key_columns[i]) == 0) {
                return cfg_error(ctx, col, "table \"%s\": key column \"%s\" "
                                 "listed twice", d->name, d->key_columns[i]);
            }
        }
    }
    return 0;
}


/* A provided column is a new variable: it must not shadow a field or a
 * column provided before.  conf: cfg_dim_t, an element of ctx->cfg->dims. */
int
cfg_check_table(cfg_ctx_t *ctx, yaml_node_t *item, void *conf,
    const char *what)
{
    cfg_t        *cfg = ctx->cfg;
    cfg_dim_t    *d = conf;
    yaml_node_t  *prov, *node;
    size_t        i, j, t, p;

    (void) what;
    i = (size_t) (d - cfg->dims);
    prov = cfg_map_get(ctx, item, "provides");
    for (j = 0; j < d->nprovides; j++) {
        node = cfg_item(ctx, prov, j);
        if (config_field_index(cfg, d->provides[j]) >= 0) {
            return cfg_error(ctx, node, "table \"%s\": provided column "
                             "\"%s\" is already a field", d->name,
                             d->provides[j]);
        }
        for (t = 0; t <= i; t++) {
            for (p = 0; p < (t == i ? j : cfg->dims[t].nprovides); p++) {
                if (strcmp(cfg->dims[t].provides[p], d->provides[j]) == 0) {
                    return cfg_error(ctx, node, "table \"%s\": column \"%s\" "
                                     "is already provided by table \"%s\"",
                                     d->name, d->provides[j],
                                     cfg->dims[t].name);
                }
            }
        }
    }
    return 0;
}


/* labels: a list of VAR (label named like it) or {label: VAR}.
 * conf: cfg_metric_t, whose type is already set. */
int
cfg_set_labels(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t  *m = conf;
    yaml_node_t   *item, *lab, *var;
    size_t         n, i, j;
    const char    *name;

    if (cfg_alloc_list(ctx, val, cmd->name, 0, sizeof(char *),
                       (void **) &m->label_names, &n) != 0)
    {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    m->nlabels = n;
    m->label_sources = calloc(n, sizeof(char *));
    if (m->label_sources == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }

    for (i = 0; i < n; i++) {
        item = cfg_item(ctx, val, i);
        lab = item;
        var = item;
        if (item->type == YAML_MAPPING_NODE) {
            if (cfg_npairs(item) != 1) {
                return cfg_error(ctx, item, "\"%s\": expected {label: "
                                 "variable} with one key", cmd->name);
            }
            lab = yaml_document_get_node(ctx->doc,
                                         item->data.mapping.pairs.start->key);
            var = yaml_document_get_node(ctx->doc,
                                         item->data.mapping.pairs.start->value);
        }

        if (cfg_get_str(ctx, lab, cmd->name, CFG_NONEMPTY,
                        &m->label_names[i]) != 0
            || cfg_get_str(ctx, var, cmd->name, CFG_NONEMPTY,
                           &m->label_sources[i]) != 0
            || cfg_check_var(ctx, var, m->label_sources[i]) != 0)
        {
            return -1;
        }

        name = m->label_names[i];
        if (!cfg_valid_name(name, "a_", "a0_")) {
            return cfg_error(ctx, lab, "label name \"%s\" must match "
                             "[a-zA-Z_][a-zA-Z0-9_]*%s", name,
                             lab == var ? " (use {label: variable})" : "");
        }
        if (name[0] == '_' && name[1] == '_') {
            return cfg_error(ctx, lab, "label name \"%s\": names starting "
                             "with __ are reserved", name);
        }
        if (m->type == CFG_METRIC_HISTOGRAM && strcmp(name, "le") == 0) {
            return cfg_error(ctx, lab, "label name \"le\" is reserved in a "
                             "histogram");
        }
        for (j = 0; j < i; j++) {
            if (strcmp(m->label_names[j], name) == 0) {
                return cfg_error(ctx, lab, "label \"%s\" listed twice",
                                 name);
            }
        }
    }
    return 0;
}


/* buckets: finite upper bounds, strictly ascending, without +Inf.
 * conf: cfg_metric_t. */
int
cfg_set_buckets(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t  *m = conf;
    yaml_node_t   *item;
    size_t         i;

    if (cfg_alloc_list(ctx, val, cmd->name, CFG_NONEMPTY, sizeof(double),
                       (void **) &m->buckets, &m->nbuckets) != 0)
    {
        return -1;
    }
    for (i = 0; i < m->nbuckets; i++) {
        item = cfg_item(ctx, val, i);
        if (cfg_get_number(ctx, item, cmd->name, &m->buckets[i]) != 0) {
            /* Say why +Inf is refused. */
            if (item->type == YAML_SCALAR_NODE && cfg_is_inf(cfg_text(item))) {
                return cfg_error(ctx, item, "\"%s\": +Inf is implicit, "
                                 "leave it out", cmd->name);
            }
            return -1;
        }
        if (i > 0 && !(m->buckets[i] > m->buckets[i - 1])) {
            return cfg_error(ctx, item, "\"%s\": must be strictly ascending",
                             cmd->name);
        }
    }
    return 0;
}


/* True for the spellings of infinity: inf, +Inf, .inf, -Infinity... */
static int
cfg_is_inf(const char *s)
{
    while (*s == '+' || *s == '-' || *s == '.') {
        s++;
    }
    return strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0;
}


/* siblings: {label: [values]}; the label is one of the family's.
 * conf: cfg_metric_t, whose labels are already set. */
int
cfg_set_siblings(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t  *m = conf;
    yaml_node_t   *lab, *vals;
    size_t         i;

    if (val->type != YAML_MAPPING_NODE || cfg_npairs(val) != 1) {
        return cfg_error(ctx, val, "\"%s\": expected {label: [values]} with "
                         "one key", cmd->name);
    }
    lab = yaml_document_get_node(ctx->doc, val->data.mapping.pairs.start->key);
    vals = yaml_document_get_node(ctx->doc,
                                  val->data.mapping.pairs.start->value);

    if (cfg_get_str(ctx, lab, cmd->name, CFG_NONEMPTY, &m->sibling_label)
        != 0)
    {
        return -1;
    }
    for (i = 0; i < m->nlabels; i++) {
        if (strcmp(m->label_names[i], m->sibling_label) == 0) {
            break;
        }
    }
    if (i == m->nlabels) {
        return cfg_error(ctx, lab, "\"%s\": \"%s\" is not a label of this "
                         "metric", cmd->name, m->sibling_label);
    }

    if (vals->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, vals, "\"%s\": expected a list of values, "
                         "found %s", cmd->name, cfg_kind(vals));
    }
    if (cfg_get_strs(ctx, vals, cmd->name, CFG_NONEMPTY, &m->sibling_values,
                     &m->nsibling_values) != 0)
    {
        return -1;
    }
    return cfg_str_unique(ctx, vals, m->sibling_values, m->nsibling_values,
                          cmd->name, "value ");
}
