/* check_config.c - Unit tests for config/config.c: the default
 * configuration in detail, a small valid file, and one broken file (or
 * inline document) per error class, each checked for its exact
 * "file:line:" prefix.
 *
 * Run from tests/ (paths are relative to it).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <check.h>

#include "config/config.h"


/* Types */

typedef struct {
    const char  *src;       /* file under data/config/, or inline YAML */
    int          line;      /* expected 1-based line */
    const char  *msg;       /* expected part of the message */
} error_case_t;


/* Macros */

#define DEFAULT_CONFIG  "../config/gwlog_exporter.yml"
#define DATA            "data/config/"

/* One input and one metric, for inline documents (lines 1 and 2). */
#define IN              "inputs: [{paths: a.log, format: json}]\n"
#define MET             "metrics: [{name: a_total, help: h, type: counter}]\n"


/* Helpers */

static cfg_t  *cfg;
static char    err[CFG_ERRLEN];


static cfg_t *
load_inline(const char *yaml)
{
    return config_load_string("inline.yml", yaml, strlen(yaml), err,
                              sizeof(err));
}


/* Asserts that loading failed with "name:line: ...msg...". */
static void
assert_error(const cfg_t *c, const char *name, int line, const char *msg)
{
    char  prefix[256];

    ck_assert_msg(c == NULL, "%s: loaded, expected an error at line %d",
                  name, line);
    snprintf(prefix, sizeof(prefix), "%s:%d: ", name, line);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
                  "expected prefix \"%s\", got \"%s\"", prefix, err);
    ck_assert_msg(strstr(err, msg) != NULL,
                  "expected \"%s\" in \"%s\"", msg, err);
}


static void
default_setup(void)
{
    cfg = config_load(DEFAULT_CONFIG, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
}


static void
default_teardown(void)
{
    config_free(cfg);
    cfg = NULL;
}


static const cfg_field_t *
field(const cfg_t *c, const char *name)
{
    int  i;

    i = config_field_index(c, name);
    ck_assert_msg(i >= 0, "no field %s", name);
    return &c->fields[i];
}


/* The default configuration */

START_TEST(test_default_inputs)
{
    ck_assert_str_eq(cfg->file, DEFAULT_CONFIG);
    ck_assert_uint_eq(cfg->ninputs, 1);
    ck_assert_uint_eq(cfg->inputs[0].npaths, 1);
    ck_assert_str_eq(cfg->inputs[0].paths[0], "/var/log/gateway/access.log");
    ck_assert_int_eq(cfg->inputs[0].format, CFG_FORMAT_JSON);
    ck_assert_int_eq(cfg->inputs[0].start_at, CFG_START_BEGINNING);
    ck_assert_ptr_null(cfg->inputs[0].regex);
    ck_assert_uint_eq(cfg->max_line_bytes, CFG_DEFAULT_MAX_LINE_BYTES);
}
END_TEST


START_TEST(test_tail_options)
{
    static const char  base[] =
        "inputs: [{paths: [/x.log], format: json}]\n"
        "fields: {product: {key: Product}}\n"
        "metrics: [{name: a_total, help: h, type: counter}]\n";
    char                err[CFG_ERRLEN], yaml[1024];
    cfg_t              *c;

    snprintf(yaml, sizeof(yaml), "%stail: {poll: true, poll_interval: 100ms, "
             "rotate_wait: 1m, checkpoint_interval: 2, max_open_files: 7}\n",
             base);
    c = config_load_string("inline.yml", yaml, strlen(yaml), err, sizeof(err));
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(c->tail.poll, 1);
    ck_assert(c->tail.poll_interval == 0.1);
    ck_assert(c->tail.rotate_wait == 60);
    ck_assert(c->tail.checkpoint_interval == 2);
    ck_assert_uint_eq(c->tail.max_open_files, 7);
    config_free(c);

    snprintf(yaml, sizeof(yaml), "%stail: {poll_interval: 5 s}\n", base);
    c = config_load_string("inline.yml", yaml, strlen(yaml), err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strncmp(err, "inline.yml:4: \"poll_interval\": expected a "
                  "duration", 44) == 0, "%s", err);

    snprintf(yaml, sizeof(yaml), "%stail: {poll: yes}\n", base);
    c = config_load_string("inline.yml", yaml, strlen(yaml), err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "inline.yml:4: \"poll\": expected true or false")
                  == err, "%s", err);

    snprintf(yaml, sizeof(yaml), "%sevent_time: nope\n", base);
    c = config_load_string("inline.yml", yaml, strlen(yaml), err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strncmp(err, "inline.yml:4:", 13) == 0, "%s", err);

    snprintf(yaml, sizeof(yaml), "inputs: [{paths: [/x.log], format: json, "
             "rotated: [\"/old.log\"]}]\n%s", base + strlen(
             "inputs: [{paths: [/x.log], format: json}]\n"));
    c = config_load_string("inline.yml", yaml, strlen(yaml), err, sizeof(err));
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "must contain {path}") != NULL, "%s", err);
}
END_TEST


START_TEST(test_default_fields)
{
    static const char *names[] = {
        "product", "api", "version", "domain", "uid", "http_code",
        "error_code", "total_used_time", "local_ip", "time",
        "log_region_id", "biz_region_id", "code_class"
    };
    const cfg_field_t  *f;
    size_t              i;

    ck_assert_uint_eq(cfg->nfields, 13);
    for (i = 0; i < 13; i++) {
        ck_assert_str_eq(cfg->fields[i].name, names[i]);
        ck_assert_int_eq(config_field_index(cfg, names[i]), (int) i);
    }
    ck_assert_int_eq(config_field_index(cfg, "region_id"), -1);
    ck_assert_int_eq(config_field_index(cfg, "Product"), -1);

    f = field(cfg, "product");
    ck_assert_str_eq(f->key, "Product");
    ck_assert_ptr_null(f->from);
    ck_assert_int_eq(f->xform, CFG_XFORM_NONE);
    ck_assert_ptr_null(f->dflt);

    ck_assert_str_eq(field(cfg, "uid")->key, "CallerUid");
    ck_assert_str_eq(field(cfg, "time")->key, "__time__");
    ck_assert_str_eq(cfg->event_time, "time");
    ck_assert_int_eq(cfg->tail.poll, 0);
    ck_assert(cfg->tail.poll_interval == 0.25);
    ck_assert_uint_eq(cfg->tail.max_open_files, 1024);
    ck_assert(cfg->tail.rotate_wait == 10);
    ck_assert(cfg->tail.checkpoint_interval == 5);
    ck_assert_uint_eq(cfg->inputs[0].nrotated, 1);
    ck_assert_str_eq(cfg->inputs[0].rotated[0], "{path}[.-][0-9]*");
    ck_assert_str_eq(field(cfg, "total_used_time")->key, "TotalUsedTime");
    ck_assert_ptr_null(field(cfg, "http_code")->dflt);

    f = field(cfg, "error_code");
    ck_assert_str_eq(f->key, "ErrorCode");
    ck_assert_ptr_nonnull(f->dflt);
    ck_assert_str_eq(f->dflt, "");

    f = field(cfg, "log_region_id");
    ck_assert_str_eq(f->key, "Ext5");
    ck_assert_int_eq(f->xform, CFG_XFORM_JSON);
    ck_assert_uint_eq(f->njson_path, 1);
    ck_assert_str_eq(f->json_path[0], "logRegionId");
    ck_assert_ptr_null(f->dflt);

    f = field(cfg, "biz_region_id");
    ck_assert_str_eq(f->key, "RequestContent");
    ck_assert_int_eq(f->xform, CFG_XFORM_KV);
    ck_assert_str_eq(f->kv_key, "RegionId");
    ck_assert_str_eq(f->kv_separator, ";");
    ck_assert_str_eq(f->kv_assign, "=");
    ck_assert_str_eq(f->dflt, "");

    f = field(cfg, "code_class");
    ck_assert_ptr_null(f->key);
    ck_assert_str_eq(f->from, "http_code");
    ck_assert_int_eq(f->xform, CFG_XFORM_REGEX);
    ck_assert_str_eq(f->regex, "(?s)([0-9]).*");
    ck_assert_str_eq(f->replace, "${1}xx");
    ck_assert_str_eq(f->dflt, "unknown");
    ck_assert_ptr_null(f->kv_key);
    ck_assert_ptr_null(f->json_path);
}
END_TEST


START_TEST(test_default_required_filters)
{
    const cfg_cond_t  *c;

    ck_assert_uint_eq(cfg->nrequired, 2);
    ck_assert_str_eq(cfg->required[0], "product");
    ck_assert_str_eq(cfg->required[1], "http_code");

    ck_assert_uint_eq(cfg->nfilters, 1);
    ck_assert_str_eq(cfg->filters[0].name, "warmup");
    c = &cfg->filters[0].drop;
    ck_assert_int_eq(c->op, CFG_COND_EQUALS);
    ck_assert_str_eq(c->field, "domain");
    ck_assert_uint_eq(c->nstrs, 1);
    ck_assert_str_eq(c->strs[0], "popwarmup.aliyuncs.com");
    ck_assert_uint_eq(c->nsub, 0);
}
END_TEST


START_TEST(test_default_dims)
{
    const cfg_dim_t  *d;

    ck_assert_str_eq(cfg->dims_dir, "/etc/gwlog_exporter/dims");
    ck_assert_uint_eq(cfg->ndims, 3);

    d = &cfg->dims[0];
    ck_assert_str_eq(d->name, "gateway_cluster");
    ck_assert_uint_eq(d->nkeys, 1);
    ck_assert_str_eq(d->key_columns[0], "local_ip");
    ck_assert_str_eq(d->key_fields[0], "local_ip");
    ck_assert_uint_eq(d->nprovides, 2);
    ck_assert_str_eq(d->provides[0], "app_group");
    ck_assert_str_eq(d->provides[1], "region_id");
    ck_assert_str_eq(d->missing, "unknown");

    d = &cfg->dims[1];
    ck_assert_str_eq(d->name, "user_level");
    ck_assert_uint_eq(d->nkeys, 1);
    ck_assert_str_eq(d->key_fields[0], "uid");
    ck_assert_uint_eq(d->nprovides, 1);
    ck_assert_str_eq(d->provides[0], "gc_level");

    d = &cfg->dims[2];
    ck_assert_str_eq(d->name, "api_meta");
    ck_assert_uint_eq(d->nkeys, 2);
    ck_assert_str_eq(d->key_columns[0], "product");
    ck_assert_str_eq(d->key_columns[1], "api");
    ck_assert_str_eq(d->key_fields[1], "api");
    ck_assert_uint_eq(d->nprovides, 1);
    ck_assert_str_eq(d->provides[0], "priority");
    ck_assert_str_eq(d->missing, "unknown");
}
END_TEST


START_TEST(test_default_metrics)
{
    static const char *names[] = {
        "gw_product_requests_total", "gw_product_request_duration_seconds",
        "gw_api_requests_total", "gw_api_slow_requests_total",
        "gw_error_code_requests_total", "gw_tenant_requests_total",
        "gw_tenant_throttled_requests_total",
        "gw_tenant_level_requests_total",
        "gw_tenant_level_throttled_requests_total"
    };
    static const char *classes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
    static const char *product_labels[] = {
        "product", "region_id", "biz_region_id", "code_class"
    };
    static const char *api_labels[] = {
        "product", "api", "version", "priority", "code_class"
    };
    static const double buckets[] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
    };
    const cfg_metric_t  *m;
    size_t               i;

    ck_assert_uint_eq(cfg->nmetrics, 9);
    for (i = 0; i < 9; i++) {
        m = &cfg->metrics[i];
        ck_assert_str_eq(m->name, names[i]);
        ck_assert_ptr_nonnull(m->help);
        ck_assert_uint_eq(m->max_series, CFG_DEFAULT_MAX_SERIES);
        ck_assert_int_eq(m->type, i == 1 ? CFG_METRIC_HISTOGRAM
                                         : CFG_METRIC_COUNTER);
        ck_assert_int_gt(m->line, 0);
        /* Exemplars are off by default (README, "Exemplars"). */
        ck_assert_ptr_null(m->exemplar_field);
    }

    /* gw_product_requests_total: four labels, code_class siblings. */
    m = &cfg->metrics[0];
    ck_assert_str_eq(m->help, "Requests per product, gateway region, "
                     "business region and HTTP code class.");
    ck_assert_uint_eq(m->nlabels, 4);
    for (i = 0; i < 4; i++) {
        ck_assert_str_eq(m->label_names[i], product_labels[i]);
        ck_assert_str_eq(m->label_sources[i], product_labels[i]);
    }
    ck_assert_ptr_null(m->when);
    ck_assert_ptr_null(m->value_field);
    ck_assert_uint_eq(m->nbuckets, 0);
    ck_assert_str_eq(m->sibling_label, "code_class");
    ck_assert_uint_eq(m->nsibling_values, 5);
    for (i = 0; i < 5; i++) {
        ck_assert_str_eq(m->sibling_values[i], classes[i]);
    }

    /* The histogram. */
    m = &cfg->metrics[1];
    ck_assert_uint_eq(m->nlabels, 3);
    ck_assert_str_eq(m->label_names[2], "biz_region_id");
    ck_assert_str_eq(m->value_field, "total_used_time");
    ck_assert(m->scale == 0.001);
    ck_assert_uint_eq(m->nbuckets, 11);
    for (i = 0; i < 11; i++) {
        ck_assert_msg(m->buckets[i] == buckets[i], "bucket %zu", i);
    }
    ck_assert_ptr_null(m->sibling_label);
    ck_assert_ptr_null(m->when);

    m = &cfg->metrics[2];
    ck_assert_uint_eq(m->nlabels, 5);
    for (i = 0; i < 5; i++) {
        ck_assert_str_eq(m->label_names[i], api_labels[i]);
    }
    ck_assert_str_eq(m->sibling_label, "code_class");
    ck_assert_uint_eq(m->nsibling_values, 5);
    ck_assert_str_eq(m->sibling_values[4], "5xx");

    /* Per-uid tenant series expire after an hour idle; the per-level
     * families (one label) do not. */
    for (i = 5; i < 7; i++) {
        m = &cfg->metrics[i];
        ck_assert_uint_eq(m->nlabels, 2);
        ck_assert_str_eq(m->label_names[0], "uid");
        ck_assert_str_eq(m->label_names[1], "gc_level");
        ck_assert_ptr_null(m->sibling_label);
        ck_assert(m->series_ttl == 3600);
    }
    for (i = 7; i < 9; i++) {
        m = &cfg->metrics[i];
        ck_assert_uint_eq(m->nlabels, 1);
        ck_assert_str_eq(m->label_names[0], "gc_level");
        ck_assert_ptr_null(m->sibling_label);
        ck_assert(m->series_ttl == 0);
    }
}
END_TEST


START_TEST(test_default_conditions)
{
    const cfg_cond_t  *c;

    /* gw_api_slow_requests_total: total_used_time > 1000. */
    c = cfg->metrics[3].when;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->op, CFG_COND_GT);
    ck_assert_str_eq(c->field, "total_used_time");
    ck_assert(c->num == 1000);

    /* gw_error_code_requests_total: code_class != "2xx". */
    c = cfg->metrics[4].when;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->op, CFG_COND_NOT_EQUALS);
    ck_assert_str_eq(c->field, "code_class");
    ck_assert_uint_eq(c->nstrs, 1);
    ck_assert_str_eq(c->strs[0], "2xx");

    /* gw_tenant_requests_total: key customers only;
     * gw_tenant_level_requests_total: the others. */
    c = cfg->metrics[5].when;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->op, CFG_COND_IN);
    ck_assert_str_eq(c->field, "gc_level");
    ck_assert_uint_eq(c->nstrs, 3);
    ck_assert_str_eq(c->strs[0], "GC5");
    ck_assert_str_eq(c->strs[2], "GC7");
    c = cfg->metrics[7].when;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->op, CFG_COND_NOT_IN);
    ck_assert_str_eq(c->field, "gc_level");
    ck_assert_uint_eq(c->nstrs, 3);

    /* gw_tenant_level_throttled_requests_total: all of (not a key
     * customer, any of two). */
    c = cfg->metrics[8].when;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->op, CFG_COND_ALL);
    ck_assert_uint_eq(c->nsub, 2);
    ck_assert_int_eq(c->sub[0].op, CFG_COND_NOT_IN);

    /* gw_tenant_throttled_requests_total: a key customer and any of two. */
    c = cfg->metrics[6].when;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->op, CFG_COND_ALL);
    ck_assert_uint_eq(c->nsub, 2);
    ck_assert_int_eq(c->sub[0].op, CFG_COND_IN);
    ck_assert_str_eq(c->sub[0].field, "gc_level");
    c = &c->sub[1];
    ck_assert_int_eq(c->op, CFG_COND_ANY);
    ck_assert_ptr_null(c->field);
    ck_assert_uint_eq(c->nsub, 2);
    ck_assert_int_eq(c->sub[0].op, CFG_COND_PREFIX);
    ck_assert_str_eq(c->sub[0].field, "error_code");
    ck_assert_str_eq(c->sub[0].strs[0], "Throttling");
    ck_assert_int_eq(c->sub[1].op, CFG_COND_EQ);
    ck_assert_str_eq(c->sub[1].field, "http_code");
    ck_assert(c->sub[1].num == 429);
    ck_assert_int_eq(c->sub[1].line, c->sub[0].line + 1);
}
END_TEST


/* A small valid file */

START_TEST(test_valid_file)
{
    const cfg_field_t   *f;
    const cfg_cond_t    *c;
    const cfg_metric_t  *m;

    cfg = config_load(DATA "valid.yml", err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);

    ck_assert_uint_eq(cfg->ninputs, 1);
    ck_assert_int_eq(cfg->inputs[0].line, 4);
    ck_assert_uint_eq(cfg->inputs[0].npaths, 1);
    ck_assert_str_eq(cfg->inputs[0].paths[0], "/var/log/app.log");
    ck_assert_int_eq(cfg->inputs[0].format, CFG_FORMAT_REGEX);
    ck_assert_str_eq(cfg->inputs[0].regex,
                     "^(?<code>\\d+) (?<ms>\\d+) (?<ctx>\\S*)$");
    ck_assert_int_eq(cfg->inputs[0].start_at, CFG_START_END);

    ck_assert_uint_eq(cfg->nfields, 5);
    f = field(cfg, "region");
    ck_assert_int_eq(f->line, 11);
    ck_assert_int_eq(f->xform, CFG_XFORM_KV);
    ck_assert_str_eq(f->kv_separator, "&");
    ck_assert_str_eq(f->kv_assign, "=");
    f = field(cfg, "deep");
    ck_assert_int_eq(f->xform, CFG_XFORM_JSON);
    ck_assert_uint_eq(f->njson_path, 2);
    ck_assert_str_eq(f->json_path[0], "a.b");
    ck_assert_str_eq(f->json_path[1], "c");
    f = field(cfg, "status");
    ck_assert_str_eq(f->from, "code");
    ck_assert_int_eq(f->xform, CFG_XFORM_NONE);
    ck_assert_str_eq(f->dflt, "");

    /* A relative dir is joined to the file's directory. */
    ck_assert_str_eq(cfg->dims_dir, "data/config/dims");
    ck_assert_uint_eq(cfg->ndims, 1);
    ck_assert_int_eq(cfg->dims[0].line, 18);
    ck_assert_str_eq(cfg->dims[0].key_columns[0], "code_col");
    ck_assert_str_eq(cfg->dims[0].key_fields[0], "code");
    ck_assert_str_eq(cfg->dims[0].missing, "?");

    /* all: [{in: ["200", 204]}, {not: {exists: true}}] */
    ck_assert_str_eq(cfg->filters[0].name, "health_checks");
    ck_assert_int_eq(cfg->filters[0].line, 23);
    c = &cfg->filters[0].drop;
    ck_assert_int_eq(c->op, CFG_COND_ALL);
    ck_assert_int_eq(c->line, 25);
    ck_assert_int_eq(c->sub[0].line, 26);
    ck_assert_uint_eq(c->nsub, 2);
    ck_assert_int_eq(c->sub[0].op, CFG_COND_IN);
    ck_assert_uint_eq(c->sub[0].nstrs, 2);
    ck_assert_str_eq(c->sub[0].strs[0], "200");
    ck_assert_str_eq(c->sub[0].strs[1], "204");
    ck_assert_int_eq(c->sub[1].op, CFG_COND_NOT);
    ck_assert_uint_eq(c->sub[1].nsub, 1);
    ck_assert_int_eq(c->sub[1].sub[0].op, CFG_COND_EXISTS);
    ck_assert_str_eq(c->sub[1].sub[0].field, "region");
    ck_assert(c->sub[1].sub[0].num == 1);

    ck_assert_uint_eq(cfg->nmetrics, 2);
    m = &cfg->metrics[0];
    ck_assert_int_eq(m->line, 29);
    ck_assert_uint_eq(m->nlabels, 2);
    ck_assert_str_eq(m->label_names[0], "code");
    ck_assert_str_eq(m->label_sources[0], "code");
    ck_assert_str_eq(m->label_names[1], "what");
    ck_assert_str_eq(m->label_sources[1], "meaning");
    ck_assert_uint_eq(m->max_series, 10);
    m = &cfg->metrics[1];
    ck_assert_int_eq(m->type, CFG_METRIC_HISTOGRAM);
    ck_assert_uint_eq(m->nlabels, 0);
    ck_assert_str_eq(m->value_field, "ms");
    ck_assert(m->scale == 1);
    ck_assert_uint_eq(m->nbuckets, 2);
    ck_assert(m->buckets[1] == 25);

    config_free(cfg);
    cfg = NULL;
}
END_TEST


/* Inline documents: defaults and scalar texts */

START_TEST(test_inline_defaults)
{
    cfg = load_inline(
        IN MET
        "fields:\n"
        "  code: {key: HttpCode, kv: c}\n"
        "  ext: {key: Ext5, json: a.b.c}\n"
        "dimensions: {dir: dims, tables: [{name: t, key: [code], "
        "provides: [x]}]}\n"
        "max_line_bytes: 4096\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(cfg->file, "inline.yml");
    ck_assert_int_eq(cfg->inputs[0].start_at, CFG_START_BEGINNING);
    ck_assert_str_eq(cfg->fields[0].kv_separator, ";");
    ck_assert_str_eq(cfg->fields[0].kv_assign, "=");
    ck_assert_uint_eq(cfg->fields[1].njson_path, 3);
    ck_assert_str_eq(cfg->fields[1].json_path[2], "c");
    ck_assert_str_eq(cfg->dims_dir, "dims");       /* kept: cwd */
    ck_assert_str_eq(cfg->dims[0].missing, "unknown");
    ck_assert_uint_eq(cfg->max_line_bytes, 4096);
    ck_assert_uint_eq(cfg->metrics[0].max_series, CFG_DEFAULT_MAX_SERIES);
    ck_assert_str_eq(cfg->dims[0].provides[0], "x");
    ck_assert_uint_eq(cfg->nfilters, 0);
    ck_assert_uint_eq(cfg->nrequired, 0);
    config_free(cfg);
    cfg = NULL;
}
END_TEST


START_TEST(test_inline_scalar_text)
{
    const cfg_cond_t  *c;

    cfg = load_inline(
        IN
        "fields: {code: {key: HttpCode}, t: {key: T}}\n"
        "metrics:\n"
        "  - name: a_total\n"
        "    help: h\n"
        "    type: counter\n"
        "    labels: [code]\n"
        "    siblings: {code: [429, true, '0x1', \"\"]}\n"
        "    when:\n"
        "      all:\n"
        "        - {field: code, equals: 429}\n"
        "        - {field: code, not_in: [4.0, 1e3, ~x]}\n"
        "        - {field: t, ge: 0x10}\n"
        "        - {field: t, exists: false}\n"
        "        - {field: code, match: '4\\d\\d'}\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_uint_eq(cfg->metrics[0].nsibling_values, 4);
    ck_assert_str_eq(cfg->metrics[0].sibling_values[0], "429");
    ck_assert_str_eq(cfg->metrics[0].sibling_values[1], "true");
    ck_assert_str_eq(cfg->metrics[0].sibling_values[2], "0x1");
    ck_assert_str_eq(cfg->metrics[0].sibling_values[3], "");
    c = cfg->metrics[0].when;
    ck_assert_uint_eq(c->nsub, 5);
    ck_assert_int_eq(c->line, 10);
    ck_assert_int_eq(c->sub[0].line, 11);
    ck_assert_str_eq(c->sub[0].strs[0], "429");
    ck_assert_str_eq(c->sub[1].strs[0], "4.0");
    ck_assert_str_eq(c->sub[1].strs[1], "1e3");
    ck_assert_str_eq(c->sub[1].strs[2], "~x");
    ck_assert_int_eq(c->sub[2].op, CFG_COND_GE);
    ck_assert(c->sub[2].num == 16);
    ck_assert_int_eq(c->sub[3].op, CFG_COND_EXISTS);
    ck_assert(c->sub[3].num == 0);
    ck_assert_int_eq(c->sub[4].op, CFG_COND_MATCH);
    ck_assert_str_eq(c->sub[4].strs[0], "4\\d\\d");
    config_free(cfg);
    cfg = NULL;
}
END_TEST


START_TEST(test_misc)
{
    config_free(NULL);

    cfg = config_load(DATA "no_such_file.yml", err, sizeof(err));
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(err, DATA "no_such_file.yml: No such file or directory");

    /* A short buffer truncates the message, never overflows. */
    cfg = config_load_string("x.yml", "inputs: 1\n", 10, err, 8);
    ck_assert_ptr_null(cfg);
    ck_assert_str_eq(err, "x.yml:1");

    /* Conditions nested too deeply are refused, not recursed into. */
    {
        char    yaml[4096];
        size_t  i, len;

        len = (size_t) snprintf(yaml, sizeof(yaml), IN "filters:\n"
                                "  - name: deep\n    drop: ");
        for (i = 0; i < 40; i++) {
            len += (size_t) snprintf(yaml + len, sizeof(yaml) - len,
                                     "{not: ");
        }
        len += (size_t) snprintf(yaml + len, sizeof(yaml) - len,
                                 "{field: a, exists: true}");
        for (i = 0; i < 40; i++) {
            yaml[len++] = '}';
        }
        yaml[len++] = '\n';
        snprintf(yaml + len, sizeof(yaml) - len, "fields: {a: {key: A}}\n"
                 MET);
        cfg = load_inline(yaml);
        assert_error(cfg, "inline.yml", 4, "nested too deeply");
    }
}
END_TEST


/* Broken files, one per error class */

static const error_case_t file_cases[] = {
    { "syntax.yml", 5, "did not find expected" },
    { "empty.yml", 1, "empty configuration" },
    { "unknown_key.yml", 9, "unknown key \"defualt\" in field \"error_code\"" },
    { "duplicate_key.yml", 9, "duplicate key \"help\"" },
    { "missing_key.yml", 10, "missing key \"help\"" },
    { "wrong_type.yml", 7, "expected a map" },
    { "bad_enum.yml", 4, "expected json or regex, found \"xml\"" },
    { "bad_number.yml", 14, "\"gt\": expected a number, found \"slow\"" },
    { "bad_regex.yml", 9, "missing closing parenthesis at offset 6" },
    { "no_named_group.yml", 7, "no named group" },
    { "missing_regex.yml", 5, "format regex needs \"regex\"" },
    { "unknown_var.yml", 13, "unknown variable \"region_id\"" },
    { "from_cycle.yml", 7, "field \"a\": \"from\" makes a cycle" },
    { "from_unknown.yml", 8, "unknown field \"http_code\"" },
    { "required.yml", 9, "\"http_code\" is not a field" },
    { "cond_ops.yml", 12, "\"equals\" and \"prefix\" are exclusive" },
    { "counter_name.yml", 9, "must end in _total" },
    { "histogram_value.yml", 6, "a histogram needs \"value\"" },
    { "buckets_order.yml", 15, "strictly ascending" },
    { "buckets_inf.yml", 12, "+Inf is implicit" },
    { "label_le.yml", 12, "\"le\" is reserved" },
    { "siblings.yml", 14, "\"code_class\" is not a label of this metric" },
    { "dims_clash.yml", 16, "already provided by table \"gateway_cluster\"" },
    { "dims_key.yml", 13, "key \"region_id\" is not a field" },
};

/* exemplar: {label, field}; the label defaults to trace_id, and a
 * metric without the map has none. */
START_TEST(test_exemplar_option)
{
    cfg = load_inline(IN "fields: {t: {key: T}, ms: {key: Ms}}\nmetrics:\n"
                      "  - name: a_total\n    help: h\n    type: counter\n"
                      "    exemplar: {field: t}\n"
                      "  - name: b\n    help: h\n    type: histogram\n"
                      "    value: {field: ms}\n    buckets: [1]\n"
                      "    exemplar: {label: request_id, field: t}\n"
                      "  - name: c_total\n    help: h\n    type: counter\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_str_eq(cfg->metrics[0].exemplar_label, "trace_id");
    ck_assert_str_eq(cfg->metrics[0].exemplar_field, "t");
    ck_assert_str_eq(cfg->metrics[1].exemplar_label, "request_id");
    ck_assert_str_eq(cfg->metrics[1].exemplar_field, "t");
    ck_assert_ptr_null(cfg->metrics[2].exemplar_field);
    config_free(cfg);
    cfg = NULL;
}
END_TEST


START_TEST(test_file_error)
{
    const error_case_t  *tc = &file_cases[_i];
    char                 path[256];

    snprintf(path, sizeof(path), DATA "%s", tc->src);
    cfg = config_load(path, err, sizeof(err));
    assert_error(cfg, path, tc->line, tc->msg);
}
END_TEST


/* Inline documents, one per finer error class.  IN is line 1, MET line 2
 * when they come first. */

static const error_case_t inline_cases[] = {
    /* Structure. */
    { "input: []\n", 1, "unknown key \"input\" in the top level" },
    { MET, 1, "the top level: missing key \"inputs\"" },
    { "- a\n- b\n", 1, "the top level: expected a map, found a list" },
    { IN MET "---\n" IN MET, 3, "more than one YAML document" },
    { IN MET "x: \"\xff\"\n", 3, "invalid" },
    { IN MET "[a]: 1\n", 3, "expected a key, found a list" },
    { "inputs: []\n" MET, 1, "\"inputs\": must not be empty" },
    { "inputs: {paths: a}\n" MET, 1, "\"inputs\": expected a list" },
    { IN "metrics: []\n", 2, "\"metrics\": must not be empty" },
    { IN MET "max_line_bytes: 1.5\n", 3, "expected a positive integer" },
    { IN MET "max_line_bytes: 0\n", 3, "expected a positive integer" },

    /* Inputs. */
    { "inputs: [{paths: [], format: json}]\n" MET, 1, "must not be empty" },
    { "inputs: [{paths: [a, {b: c}], format: json}]\n" MET, 1,
      "\"paths\": expected a string, found a map" },
    { "inputs:\n  - format: json\n" MET, 2,
      "inputs[0]: missing key \"paths\"" },
    { "inputs:\n  - paths: a\n    format: json\n    start_at: now\n" MET, 4,
      "expected beginning or end, found \"now\"" },
    { "inputs:\n  - paths: a\n    format: json\n    regex: '(?<a>.)'\n" MET,
      4, "\"regex\" is only for format regex" },
    { "inputs:\n  - paths: a\n    format: regex\n    regex: '(?<a>.'\n" MET,
      4, "bad regex: missing closing parenthesis at offset 6" },

    /* Fields. */
    { IN MET "fields: [a]\n", 3, "\"fields\": expected a map, found a list" },
    { IN MET "fields:\n  2x: {key: X}\n", 4, "field name must match" },
    { IN MET "fields:\n  a: {key: A}\n  a: {key: B}\n", 5,
      "field \"a\" defined twice" },
    { IN MET "fields:\n  a: {json: x}\n", 4, "needs \"key\" or \"from\"" },
    { IN MET "fields:\n  a: {key: A}\n  b:\n    key: B\n    from: a\n", 7,
      "\"key\" and \"from\" are exclusive" },
    { IN MET "fields:\n  a:\n    key: A\n    json: x\n    kv: y\n", 7,
      "at most one of" },
    { IN MET "fields:\n  a:\n    key: A\n    kv_assign: ':'\n", 6,
      "go with \"kv\"" },
    { IN MET "fields:\n  a:\n    key: A\n    replace: x\n", 6,
      "\"replace\" goes with \"regex\"" },
    { IN MET "fields:\n  a:\n    key: A\n    kv: x\n    kv_separator: ''\n",
      7, "\"kv_separator\": must not be empty" },
    { IN MET "fields:\n  a: {key: A, json: 'x..y'}\n", 4,
      "empty key in \"x..y\"" },
    { IN MET "fields:\n  a: {key: A, default: }\n", 4,
      "\"default\": expected a string, found nothing" },
    { IN MET "fields:\n  a: {key: A, default: null}\n", 4,
      "expected a string" },
    { IN MET "fields:\n  a: {key: A, default: \"a\\0b\"}\n", 4,
      "NUL byte" },
    { IN MET "fields:\n  a:\n    from: a\n", 5, "names the field itself" },
    { IN MET "fields:\n  a: {key: A, regex: '[z-a]'}\n", 4,
      "\"regex\": bad regex" },

    /* Required. */
    { IN MET "fields: {a: {key: A}}\nrequired: [a, a]\n", 4,
      "\"a\" listed twice" },
    { IN MET "fields: {a: {key: A}}\nrequired: a\n", 4,
      "\"required\": expected a list" },

    /* Filters and conditions. */
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a}\n", 6, "needs an operator" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {equals: a}\n", 6,
      "\"equals\" needs \"field\"" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop:\n      any: [{field: a, exists: true}]\n"
      "      field: a\n", 8, "\"field\" does not go with \"any\"" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: b, exists: true}\n", 6,
      "unknown variable \"b\"" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a, exists: yes}\n", 6,
      "expected true or false" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a, in: []}\n", 6,
      "\"in\": must not be empty" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a, in: b}\n", 6,
      "\"in\": expected a list" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a, not_match: '(?<'}\n", 6,
      "\"not_match\": bad regex" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a, lt: inf}\n", 6,
      "expected a finite number" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {field: a, le: 1 }\n"
      "  - name: x\n    drop: {field: a, le: 2}\n", 7,
      "filter \"x\" defined twice" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x-y\n    drop: {field: a, le: 1}\n", 5,
      "filter name \"x-y\" must match" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n", 5, "filters[0]: missing key \"drop\"" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {all: []}\n", 6, "\"all\": must not be empty" },
    { IN MET "fields: {a: {key: A}}\nfilters:\n"
      "  - name: x\n    drop: {all: [{field: a, ne: 1}, a]}\n", 6,
      "condition: expected a map, found a scalar" },

    /* Dimensions. */
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  dir: ''\n", 5,
      "\"dir\": must not be empty" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t-1, key: [a], provides: [b]}\n", 6,
      "table name \"t-1\" must match" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t, key: [a], provides: [b]}\n"
      "    - {name: t, key: [a], provides: [c]}\n", 7,
      "table \"t\" defined twice" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t, key: [a], provides: [a]}\n", 6,
      "provided column \"a\" is already a field" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t, key: [a], provides: [b, b]}\n", 6,
      "already provided by table \"t\"" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t, key: a, provides: [b]}\n", 6,
      "\"key\": expected a list of columns or a map" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t, key: {c: a, c: a}, provides: [b]}\n", 6,
      "key column \"c\" listed twice" },
    { IN MET "fields: {a: {key: A}}\ndimensions:\n  tables:\n"
      "    - {name: t, key: [a]}\n", 6,
      "tables[0]: missing key \"provides\"" },

    /* Exemplars. */
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: {field: nope}\n", 7, "unknown variable \"nope\"" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: {label: trace_id}\n", 7,
      "exemplar: missing key \"field\"" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar:\n      field: t\n      label: 2x\n", 9,
      "\"label\": \"2x\" is not a label name" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: {field: t, label: __id}\n", 7,
      "\"__id\" is not a label name" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: {field: t, label: ''}\n", 7,
      "\"label\": must not be empty" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: {field: t, label: a, value: 1}\n", 7,
      "unknown key \"value\" in exemplar" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: [t]\n", 7, "exemplar: expected a map, found a list" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    exemplar: {field: t, label: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaa}\n", 7, "longer than the 127 characters" },

    /* Metrics. */
    { IN "metrics:\n  - {name: 1a_total, help: h, type: counter}\n", 3,
      "metric name \"1a_total\" must match" },
    { IN "metrics:\n  - {name: a_total, help: h, type: counter}\n"
      "  - {name: a_total, help: h, type: counter}\n", 4,
      "metric \"a_total\" defined twice" },
    { IN "metrics:\n  - {name: a_total, help: h, type: gauge}\n", 3,
      "expected counter or histogram, found \"gauge\"" },
    { IN "metrics:\n  - {name: a_total, help: '', type: counter}\n", 3,
      "\"help\": must not be empty" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    value: {field: t}\n", 7, "are for histograms" },
    { IN "metrics:\n  - name: a_total\n    help: h\n    type: counter\n"
      "    buckets: [1]\n", 6, "are for histograms" },
    { IN "metrics:\n  - name: a_total\n    help: h\n    type: counter\n"
      "    native_histogram_bucket_factor: 1.1\n", 6, "are for histograms" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: [1]\n"
      "    native_histogram_bucket_factor: 1\n", 9,
      "native_histogram_bucket_factor must be greater than 1" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: [1]\n"
      "    native_histogram_max_bucket_number: 0\n", 9,
      "native_histogram_max_bucket_number" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: [1]\n", 4,
      "must not end in _total" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_bucket\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: [1]\n", 4,
      "must not end in _bucket" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n", 4, "a histogram needs \"buckets\"" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t, scale: 0}\n    buckets: [1]\n", 7,
      "\"scale\": must be greater than 0" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {scale: 2}\n    buckets: [1]\n", 7,
      "value: missing key \"field\"" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: []\n", 8,
      "\"buckets\": must not be empty" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: [1, .inf]\n", 8,
      "+Inf is implicit" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a\n    help: h\n    type: histogram\n"
      "    value: {field: t}\n    buckets: [1, x]\n", 8,
      "\"buckets\": expected a number, found \"x\"" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [{__t: t}]\n", 7, "names starting with __ are reserved" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels:\n      - t\n      - {t: t}\n", 9,
      "label \"t\" listed twice" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [{t: t, u: t}]\n", 7, "with one key" },
    { IN "fields: {t: {key: T}}\ndimensions:\n  tables:\n"
      "    - {name: d, key: [t], provides: [region-id]}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [region-id]\n", 10,
      "label name \"region-id\" must match" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [t]\n    max_series: 0\n", 8,
      "\"max_series\": expected a positive integer, found \"0\"" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [t]\n    max_series: -5\n", 8,
      "expected a positive integer" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [t]\n    siblings: {t: [a], u: [b]}\n", 8,
      "with one key" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [t]\n    siblings: {t: a}\n", 8,
      "expected a list of values" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    labels: [t]\n    siblings:\n      t: [a, b, a]\n", 9,
      "value \"a\" listed twice" },
    { IN "fields: {t: {key: T}}\nmetrics:\n"
      "  - name: a_total\n    help: h\n    type: counter\n"
      "    when: {field: t, eq: 1, ne: 2}\n", 7, "are exclusive" },
};

START_TEST(test_inline_error)
{
    const error_case_t  *tc = &inline_cases[_i];

    cfg = load_inline(tc->src);
    assert_error(cfg, "inline.yml", tc->line, tc->msg);
}
END_TEST


/* Redis backend options and per-table cache policies. */

#define DIMS_T  "fields: {uid: {key: CallerUid}}\n"

START_TEST(test_redis_options)
{
    static const char  yaml[] = IN MET DIMS_T
        "dimensions:\n"
        "  backend: redis\n"
        "  redis:\n"
        "    addresses: ['127.0.0.1:6380', 'primary.example:6379']\n"
        "    unix_socket: /run/redis.sock\n"
        "    username: gwlog\n"
        "    password: s3cret\n"
        "    db: 3\n"
        "    connect_timeout: 200ms\n"
        "    command_timeout: 100ms\n"
        "    wait: 2s\n"
        "    max_pending_bytes: 1000\n"
        "    prefix: 'x:dim'\n"
        "  tables:\n"
        "    - {name: t1, key: [uid], provides: [a]}\n"
        "    - name: t2\n"
        "      key: [uid]\n"
        "      provides: [b]\n"
        "      cache: {policy: lru, refresh: 5s, max_rows: 7, ttl: 1m,\n"
        "              negative_ttl: 10s, max_retries: 1}\n";

    cfg = load_inline(yaml);
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_int_eq(cfg->dims_backend, CFG_DIMS_REDIS);
    ck_assert_uint_eq(cfg->redis.naddresses, 2);
    ck_assert_str_eq(cfg->redis.addresses[1], "primary.example:6379");
    ck_assert_str_eq(cfg->redis.unix_socket, "/run/redis.sock");
    ck_assert_str_eq(cfg->redis.username, "gwlog");
    ck_assert_str_eq(cfg->redis.password, "s3cret");
    ck_assert_uint_eq(cfg->redis.db, 3);
    ck_assert(cfg->redis.connect_timeout == 0.2);
    ck_assert(cfg->redis.command_timeout == 0.1);
    ck_assert(cfg->redis.max_wait == 2);
    ck_assert_uint_eq(cfg->redis.max_pending_bytes, 1000);
    ck_assert_str_eq(cfg->redis.prefix, "x:dim");
    /* Defaults of a table without "cache". */
    ck_assert_int_eq(cfg->dims[0].cache.policy, CFG_CACHE_ALL);
    ck_assert(cfg->dims[0].cache.refresh == CFG_DEFAULT_DIM_REFRESH);
    ck_assert_uint_eq(cfg->dims[0].cache.max_rows, CFG_DEFAULT_DIM_MAX_ROWS);
    ck_assert(cfg->dims[0].cache.ttl == CFG_DEFAULT_DIM_TTL);
    ck_assert(cfg->dims[0].cache.negative_ttl == CFG_DEFAULT_DIM_NEG_TTL);
    ck_assert_uint_eq(cfg->dims[0].cache.max_retries,
                      CFG_DEFAULT_DIM_RETRIES);
    ck_assert_int_eq(cfg->dims[1].cache.policy, CFG_CACHE_LRU);
    ck_assert(cfg->dims[1].cache.refresh == 5);
    ck_assert_uint_eq(cfg->dims[1].cache.max_rows, 7);
    ck_assert(cfg->dims[1].cache.ttl == 60);
    ck_assert(cfg->dims[1].cache.negative_ttl == 10);
    ck_assert_uint_eq(cfg->dims[1].cache.max_retries, 1);
    config_free(cfg);

    /* Without a redis section: CSV, and the documented defaults. */
    cfg = load_inline(IN MET);
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_int_eq(cfg->dims_backend, CFG_DIMS_CSV);
    ck_assert(cfg->redis.connect_timeout == CFG_DEFAULT_REDIS_CONNECT);
    ck_assert(cfg->redis.command_timeout == CFG_DEFAULT_REDIS_COMMAND);
    ck_assert(cfg->redis.max_wait == CFG_DEFAULT_REDIS_WAIT);
    ck_assert_uint_eq(cfg->redis.max_pending_bytes,
                      CFG_DEFAULT_REDIS_PENDING);
    config_free(cfg);
    cfg = NULL;
}
END_TEST


START_TEST(test_default_cache_policies)
{
    cfg = config_load(DEFAULT_CONFIG, err, sizeof(err));
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_int_eq(cfg->dims_backend, CFG_DIMS_CSV);
    ck_assert_str_eq(cfg->dims[1].name, "user_level");
    ck_assert_int_eq(cfg->dims[0].cache.policy, CFG_CACHE_ALL);
    ck_assert_int_eq(cfg->dims[1].cache.policy, CFG_CACHE_LRU);
    ck_assert_uint_eq(cfg->dims[1].cache.max_rows, 50000);
    ck_assert(cfg->dims[1].cache.ttl == 600);
    ck_assert_uint_eq(cfg->dims[1].cache.max_retries, 3);
    ck_assert_int_eq(cfg->dims[2].cache.policy, CFG_CACHE_ALL);
    config_free(cfg);
    cfg = NULL;
}
END_TEST


static const error_case_t  redis_cases[] = {
    { IN MET "dimensions:\n  backend: redis\n", 4, "needs redis.addresses" },
    { IN MET "dimensions:\n  backend: memcached\n", 4,
      "expected csv or redis" },
    { IN MET "dimensions:\n  redis: {addresses: [localhost]}\n", 4,
      "is not HOST:PORT" },
    { IN MET "dimensions:\n  redis: {addresses: ['h:0']}\n", 4,
      "is not HOST:PORT" },
    { IN MET "dimensions:\n  redis:\n    db: -1\n", 5, "db" },
    { IN MET "dimensions:\n  redis:\n    db: 1000001\n", 5,
      "\"db\": 1000001 is more than 1000000" },
    { IN MET "dimensions:\n  redis:\n    username: u\n", 5,
      "needs a password" },
    { IN MET "dimensions:\n  redis:\n    wait: 0s\n", 5,
      "must be greater than 0" },
    { IN MET "dimensions:\n  redis:\n    command_timeout: soon\n", 5,
      "expected a duration" },
    { IN MET "dimensions:\n  redis:\n    max_pending_bytes: 0\n", 5,
      "positive integer" },
    { IN MET "dimensions:\n  redis:\n    tls: true\n", 5, "tls" },
    { IN MET DIMS_T "dimensions:\n  tables:\n"
      "    - {name: t, key: [uid], provides: [a],\n"
      "       cache: {policy: lfu}}\n", 7, "expected all or lru" },
    { IN MET DIMS_T "dimensions:\n  tables:\n"
      "    - name: t\n      key: [uid]\n      provides: [a]\n"
      "      cache:\n        max_rows: 0\n", 10, "positive integer" },
    { IN MET DIMS_T "dimensions:\n  tables:\n"
      "    - name: t\n      key: [uid]\n      provides: [a]\n"
      "      cache:\n        ttl: 10\n        size: 3\n", 11, "size" },
};

/* Database 0 is Redis' own default, and the table's default. */
START_TEST(test_redis_db_zero)
{
    cfg = load_inline(IN MET "dimensions:\n  redis:\n    db: 0\n");
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_uint_eq(cfg->redis.db, 0);
    config_free(cfg);
    cfg = load_inline(IN MET);
    ck_assert_msg(cfg != NULL, "%s", err);
    ck_assert_uint_eq(cfg->redis.db, 0);
    ck_assert_str_eq(cfg->redis.prefix, CFG_DEFAULT_REDIS_PREFIX);
    ck_assert(cfg->redis.connect_timeout == CFG_DEFAULT_REDIS_CONNECT);
    ck_assert(cfg->redis.command_timeout == CFG_DEFAULT_REDIS_COMMAND);
    ck_assert(cfg->redis.max_wait == CFG_DEFAULT_REDIS_WAIT);
    ck_assert_uint_eq(cfg->redis.max_pending_bytes,
                      CFG_DEFAULT_REDIS_PENDING);
    ck_assert_int_eq(cfg->redis.line, 0);
    ck_assert_int_eq(cfg->dims_backend, CFG_DIMS_CSV);
    config_free(cfg);
    cfg = NULL;
}
END_TEST


/* The reference names every key of every map, with its default. */
START_TEST(test_reference)
{
    static const char *rows[] = {
        "#### `inputs[]`", "| `paths` | list of strings (or one string), "
        "required |", "#### `dimensions.tables[].cache`",
        "| `poll_interval` | duration | `0.25` |", "| `max_series` | integer "
        "| `100000` |", "#### `metrics[].value`", "| `scale` | number > 0 | "
        "`1` |", "| `not_match` | string |", "| `db` | integer 0..1000000 | "
        "`0` |", "| `prefix` | string | `gwlog:dim` |"
    };
    char    *text;
    size_t   len, i;
    FILE    *fp;

    fp = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(fp);
    config_reference(fp);
    fclose(fp);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ck_assert_msg(strstr(text, rows[i]) != NULL, "no \"%s\" in:\n%s",
                      rows[i], text);
    }
    free(text);
}
END_TEST


START_TEST(test_redis_errors)
{
    const error_case_t  *tc = &redis_cases[_i];

    cfg = load_inline(tc->src);
    assert_error(cfg, "inline.yml", tc->line, tc->msg);
}
END_TEST


Suite *
config_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("Config");

    tc = tcase_create("Default");
    tcase_add_checked_fixture(tc, default_setup, default_teardown);
    tcase_add_test(tc, test_default_inputs);
    tcase_add_test(tc, test_default_fields);
    tcase_add_test(tc, test_tail_options);
    tcase_add_test(tc, test_default_required_filters);
    tcase_add_test(tc, test_default_dims);
    tcase_add_test(tc, test_default_metrics);
    tcase_add_test(tc, test_default_conditions);
    suite_add_tcase(s, tc);

    tc = tcase_create("Valid");
    tcase_add_test(tc, test_valid_file);
    tcase_add_test(tc, test_inline_defaults);
    tcase_add_test(tc, test_inline_scalar_text);
    tcase_add_test(tc, test_misc);
    tcase_add_test(tc, test_exemplar_option);
    suite_add_tcase(s, tc);

    tc = tcase_create("Errors");
    tcase_add_loop_test(tc, test_file_error, 0,
                        (int) (sizeof(file_cases) / sizeof(file_cases[0])));
    tcase_add_loop_test(tc, test_inline_error, 0,
                        (int) (sizeof(inline_cases)
                               / sizeof(inline_cases[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("Redis");
    tcase_add_test(tc, test_redis_options);
    tcase_add_test(tc, test_default_cache_policies);
    tcase_add_test(tc, test_redis_db_zero);
    tcase_add_test(tc, test_reference);
    tcase_add_loop_test(tc, test_redis_errors, 0,
                        (int) (sizeof(redis_cases) / sizeof(redis_cases[0])));
    suite_add_tcase(s, tc);

    return s;
}
