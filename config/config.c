/* config.c - Loads, frees and compares configurations (see config.h).
 *
 * The file is loaded whole with libyaml's document API, so that every node
 * knows its line; the table-driven engine (conf_engine.c) then walks it
 * with the tables of conf_table.c, from cfg_top_cmds down.  Defaults are
 * the tables' too: a key that is absent is set from its default's text by
 * the same setter as a value written in the file.
 *
 * On error the cfg_t under construction is released by config_free(),
 * which accepts any partial state.  A reload that fails leaves the running
 * configuration alone: config_load() builds a new cfg_t and touches no
 * other.
 */

#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_internal.h"


/* Static prototypes */

static cfg_t *cfg_load(const char *file, const char *basedir,
    const char *yaml, size_t len, char *err, size_t errlen);
static void cfg_yaml_error(const char *file, yaml_parser_t *parser,
    const char *yaml, size_t len, char *err, size_t errlen);
static void cfg_free_strs(char **strs, size_t n);
static void cfg_free_cond(cfg_cond_t *cond);


/* Public functions */

/* The file is read whole, then parsed like config_load_string(); a relative
 * dimensions.dir is joined to the directory part of path. */
cfg_t *
config_load(const char *path, char *err, size_t errlen)
{
    FILE        *fp;
    char        *buf, *tmp, *basedir;
    const char  *slash;
    size_t       len, cap, n;
    cfg_t       *cfg;

    fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }

    buf = NULL;
    len = 0;
    cap = 0;
    for ( ;; ) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            tmp = realloc(buf, cap);
            if (tmp == NULL) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto err;
            }
            buf = tmp;
        }
        n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto err;
    }
    fclose(fp);

    basedir = NULL;
    slash = strrchr(path, '/');
    if (slash != NULL) {
        basedir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
        if (basedir == NULL) {
            snprintf(err, errlen, "%s: out of memory", path);
            free(buf);
            return NULL;
        }
    }

    cfg = cfg_load(path, basedir, buf, len, err, errlen);
    free(basedir);
    free(buf);
    return cfg;

err:
    free(buf);
    fclose(fp);
    return NULL;
}


/* A relative dimensions.dir is kept as written, hence resolved against the
 * current directory when the tables are opened. */
cfg_t *
config_load_string(const char *name, const char *yaml, size_t len,
    char *err, size_t errlen)
{
    return cfg_load(name, NULL, yaml, len, err, errlen);
}


void
config_free(cfg_t *cfg)
{
    size_t  i;

    if (cfg == NULL) {
        return;
    }

    for (i = 0; i < cfg->ninputs; i++) {
        cfg_free_strs(cfg->inputs[i].paths, cfg->inputs[i].npaths);
        cfg_free_strs(cfg->inputs[i].rotated, cfg->inputs[i].nrotated);
        free(cfg->inputs[i].regex);
    }
    free(cfg->inputs);
    free(cfg->event_time);

    for (i = 0; i < cfg->nfields; i++) {
        cfg_field_t *f = &cfg->fields[i];

        free(f->name);
        free(f->key);
        free(f->from);
        cfg_free_strs(f->json_path, f->njson_path);
        free(f->kv_key);
        free(f->kv_separator);
        free(f->kv_assign);
        free(f->regex);
        free(f->replace);
        free(f->dflt);
    }
    free(cfg->fields);

    cfg_free_strs(cfg->required, cfg->nrequired);

    for (i = 0; i < cfg->nfilters; i++) {
        free(cfg->filters[i].name);
        cfg_free_cond(&cfg->filters[i].drop);
    }
    free(cfg->filters);

    free(cfg->dims_dir);
    cfg_free_strs(cfg->redis.addresses, cfg->redis.naddresses);
    free(cfg->redis.unix_socket);
    free(cfg->redis.username);
    free(cfg->redis.password);
    free(cfg->redis.prefix);
    for (i = 0; i < cfg->ndims; i++) {
        cfg_dim_t *d = &cfg->dims[i];

        free(d->name);
        cfg_free_strs(d->key_columns, d->nkeys);
        cfg_free_strs(d->key_fields, d->nkeys);
        cfg_free_strs(d->provides, d->nprovides);
        free(d->missing);
    }
    free(cfg->dims);

    for (i = 0; i < cfg->nmetrics; i++) {
        cfg_metric_t *m = &cfg->metrics[i];

        free(m->name);
        free(m->help);
        cfg_free_strs(m->label_names, m->nlabels);
        cfg_free_strs(m->label_sources, m->nlabels);
        if (m->when != NULL) {
            cfg_free_cond(m->when);
            free(m->when);
        }
        free(m->value_field);
        free(m->buckets);
        free(m->sibling_label);
        cfg_free_strs(m->sibling_values, m->nsibling_values);
        free(m->exemplar_label);
        free(m->exemplar_field);
    }
    free(cfg->metrics);

    free(cfg->file);
    free(cfg);
}


static int
cfg_strs_equal(char **a, size_t na, char **b, size_t nb)
{
    size_t  i;

    if (na != nb) {
        return 0;
    }
    for (i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            return 0;
        }
    }
    return 1;
}


static int
cfg_str_equal(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}


static int
cfg_cond_equal(const cfg_cond_t *a, const cfg_cond_t *b)
{
    size_t  i;

    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->op != b->op || !cfg_str_equal(a->field, b->field)
        || !cfg_strs_equal(a->strs, a->nstrs, b->strs, b->nstrs)
        || a->num != b->num || a->nsub != b->nsub)
    {
        return 0;
    }
    for (i = 0; i < a->nsub; i++) {
        if (!cfg_cond_equal(&a->sub[i], &b->sub[i])) {
            return 0;
        }
    }
    return 1;
}


int
config_metric_equal(const cfg_metric_t *a, const cfg_metric_t *b)
{
    size_t  i;

    if (strcmp(a->name, b->name) != 0 || a->type != b->type
        || !cfg_strs_equal(a->label_names, a->nlabels, b->label_names,
                           b->nlabels)
        || !cfg_strs_equal(a->label_sources, a->nlabels, b->label_sources,
                           b->nlabels)
        || !cfg_cond_equal(a->when, b->when)
        || a->zero_unmatched != b->zero_unmatched
        || !cfg_str_equal(a->value_field, b->value_field)
        || a->scale != b->scale || a->nbuckets != b->nbuckets
        || a->max_series != b->max_series
        || a->native_factor != b->native_factor
        || a->native_max_buckets != b->native_max_buckets
        || !cfg_str_equal(a->sibling_label, b->sibling_label)
        || !cfg_strs_equal(a->sibling_values, a->nsibling_values,
                           b->sibling_values, b->nsibling_values))
    {
        return 0;
    }
    for (i = 0; i < a->nbuckets; i++) {
        if (a->buckets[i] != b->buckets[i]) {
            return 0;
        }
    }
    return 1;
}


int
config_field_index(const cfg_t *cfg, const char *name)
{
    size_t  i;

    for (i = 0; i < cfg->nfields; i++) {
        if (cfg->fields[i].name != NULL
            && strcmp(cfg->fields[i].name, name) == 0)
        {
            return (int) i;
        }
    }
    return -1;
}


/* Loading */

static cfg_t *
cfg_load(const char *file, const char *basedir, const char *yaml,
    size_t len, char *err, size_t errlen)
{
    yaml_parser_t     parser;
    yaml_document_t   doc, extra;
    yaml_node_t      *root, *node;
    cfg_ctx_t         ctx;
    cfg_t            *cfg;
    int               loaded;

    cfg = NULL;
    loaded = 0;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, len);

    if (!yaml_parser_load(&parser, &doc)) {
        cfg_yaml_error(file, &parser, yaml, len, err, errlen);
        goto err;
    }
    loaded = 1;

    root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
        snprintf(err, errlen, "%s:1: empty configuration", file);
        goto err;
    }

    /* Refuse a second document rather than ignore it. */
    if (!yaml_parser_load(&parser, &extra)) {
        cfg_yaml_error(file, &parser, yaml, len, err, errlen);
        goto err;
    }
    node = yaml_document_get_root_node(&extra);
    if (node != NULL) {
        snprintf(err, errlen, "%s:%d: more than one YAML document", file,
                 (int) extra.start_mark.line + 1);
        yaml_document_delete(&extra);
        goto err;
    }
    yaml_document_delete(&extra);

    cfg = calloc(1, sizeof(cfg_t));
    if (cfg == NULL || (cfg->file = strdup(file)) == NULL) {
        snprintf(err, errlen, "%s: out of memory", file);
        goto err;
    }

    ctx.file = file;
    ctx.basedir = basedir;
    ctx.doc = &doc;
    ctx.cfg = cfg;
    ctx.err = err;
    ctx.errlen = errlen;
    ctx.depth = 0;

    if (cfg_parse_map(&ctx, root, root, cfg_top_cmds, "the top level", cfg)
        != 0)
    {
        goto err;
    }

    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return cfg;

err:
    config_free(cfg);
    if (loaded) {
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return NULL;
}


/* Writes libyaml's error as "file:line: problem context". */
static void
cfg_yaml_error(const char *file, yaml_parser_t *parser, const char *yaml,
    size_t len, char *err, size_t errlen)
{
    size_t  line, i;

    switch (parser->error) {

    case YAML_MEMORY_ERROR:
        snprintf(err, errlen, "%s: out of memory", file);
        return;

    case YAML_READER_ERROR:
        /* Encoding errors carry a byte offset, not a mark. */
        line = 1;
        for (i = 0; i < parser->problem_offset && i < len; i++) {
            if (yaml[i] == '\n') {
                line++;
            }
        }
        snprintf(err, errlen, "%s:%zu: %s (byte %zu)", file, line,
                 parser->problem ? parser->problem : "invalid input",
                 parser->problem_offset);
        return;

    default:
        snprintf(err, errlen, "%s:%zu: %s%s%s", file,
                 parser->problem_mark.line + 1,
                 parser->problem ? parser->problem : "invalid YAML",
                 parser->context ? " " : "",
                 parser->context ? parser->context : "");
        return;
    }
}


/* Freeing */

static void
cfg_free_strs(char **strs, size_t n)
{
    size_t  i;

    if (strs == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(strs[i]);
    }
    free(strs);
}


/* Frees what cond owns, not cond itself. */
static void
cfg_free_cond(cfg_cond_t *cond)
{
    size_t  i;

    free(cond->field);
    cfg_free_strs(cond->strs, cond->nstrs);
    if (cond->sub != NULL) {
        for (i = 0; i < cond->nsub; i++) {
            cfg_free_cond(&cond->sub[i]);
        }
        free(cond->sub);
    }
}
