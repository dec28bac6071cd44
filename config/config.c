/* config.c - Loads and validates the YAML configuration (see config.h).
 *
 * The file is loaded whole with libyaml's document API, so that every node
 * knows its line.  Each kind of YAML mapping is described by a table of
 * cfg_cmd_t, in the way of nginx's ngx_command_t: the key, its setter, the
 * offsetof() of the member it fills and some flags.  cfg_map_scan() checks
 * a mapping against its table (unknown and duplicate keys) and remembers
 * the value of every key; cfg_map_apply() then runs the setters in TABLE
 * order, not in file order.  The top-level table lists fields and
 * dimensions before filters and metrics, so that every reference can be
 * checked, with its own line, as soon as it is read.
 *
 * Errors are "file:line: reason", with a 1-based line.  On error the cfg_t
 * under construction is released by config_free(), which accepts any
 * partial state: every array is allocated zeroed at its final size, with
 * its count set at once.
 */

#include "config/config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>


/* Types */

typedef struct cfg_ctx_s cfg_ctx_t;
typedef struct cfg_cmd_s cfg_cmd_t;

/* Fills conf from the value node val; returns 0, or -1 with ctx->err set. */
typedef int (*cfg_set_pt)(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

typedef struct {
    const char      *name;
    int              value;
} cfg_enum_t;

struct cfg_cmd_s {
    const char      *name;          /* YAML key */
    cfg_set_pt       set;
    unsigned         flags;         /* CFG_REQUIRED | ... */
    size_t           offset;        /* member of conf the setter fills */
    size_t           count;         /* list setters: the size_t count */
    int              arg;           /* setter-specific (condition op) */
    const void      *post;          /* setter-specific (cfg_enum_t[]) */
};

struct cfg_ctx_s {
    const char      *file;          /* for messages, not owned */
    const char      *basedir;       /* of the file; NULL: cwd, not owned */
    yaml_document_t *doc;           /* not owned */
    cfg_t           *cfg;           /* being built, not owned */
    char            *err;           /* caller's buffer */
    size_t           errlen;
    int              depth;         /* of nested conditions */
};


/* Macros */

#define CFG_REQUIRED        0x01    /* the key must be present */
#define CFG_NONEMPTY        0x02    /* string or list must not be empty */
#define CFG_ONE_OR_LIST     0x04    /* a list also given as one string */
#define CFG_NONEMPTY_ITEMS  0x08    /* no empty string in a list */

#define CFG_MAX_KEYS        32      /* entries in one cfg_cmd_t table */
#define CFG_MAX_DEPTH       32      /* nesting of any/all/not */

#define cfg_null_cmd        { NULL, NULL, 0, 0, 0, 0, NULL }

#define cfg_line(node)      ((int) (node)->start_mark.line + 1)
#define cfg_text(node)      ((const char *) (node)->data.scalar.value)


/* cfg_set_enum() writes an int into enum members. */
_Static_assert(sizeof(cfg_format_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_start_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_metric_type_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_cache_policy_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_dims_backend_t) == sizeof(int), "enum size");


/* Static prototypes */

static int cfg_error(cfg_ctx_t *ctx, const yaml_node_t *node,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *cfg_kind(const yaml_node_t *node);
static int cfg_is_null(const yaml_node_t *node);
static yaml_node_t *cfg_map_get(cfg_ctx_t *ctx, yaml_node_t *map,
    const char *key);
static yaml_node_t *cfg_val(const cfg_cmd_t *cmds, yaml_node_t **vals,
    const char *name);
static int cfg_map_scan(cfg_ctx_t *ctx, yaml_node_t *map,
    const cfg_cmd_t *cmds, const char *what, yaml_node_t **vals);
static int cfg_map_apply(cfg_ctx_t *ctx, yaml_node_t *at,
    const cfg_cmd_t *cmds, const char *what, yaml_node_t **vals, void *conf);
static int cfg_parse_map(cfg_ctx_t *ctx, yaml_node_t *map, yaml_node_t *at,
    const cfg_cmd_t *cmds, const char *what, void *conf);

static int cfg_get_str(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char **out);
static int cfg_get_strs(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char ***out, size_t *n);
static int cfg_get_number(cfg_ctx_t *ctx, yaml_node_t *node,
    const char *what, double *out);
static int cfg_get_uint(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    uint64_t max, uint64_t *out);
static int cfg_check_regex(cfg_ctx_t *ctx, yaml_node_t *node,
    const char *what, const char *re, int named);
static int cfg_check_var(cfg_ctx_t *ctx, yaml_node_t *node,
    const char *name);
static int cfg_is_var(const cfg_t *cfg, const char *name);
static int cfg_valid_name(const char *s, const char *first,
    const char *rest);
static int cfg_is_inf(const char *s);

static int cfg_set_str(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_strs(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_enum(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_size(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_u64(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_positive(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_var(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_bool(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_duration(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_tail(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_rotated(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

static int cfg_set_inputs(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_fields(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_json_path(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_required(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_dims(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_dims_dir(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_redis(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_dim_cache(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_tables(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_table_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_table_key(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_filters(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_filter_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_metrics(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_metric_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_labels(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_value(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_buckets(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_siblings(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

static int cfg_parse_cond(cfg_ctx_t *ctx, yaml_node_t *node,
    cfg_cond_t *cond);
static int cfg_set_cond(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_cond_ptr(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_cond_set_str(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_cond_set_strs(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_cond_set_bool(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_cond_set_num(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_cond_set_list(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_cond_set_not(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

static cfg_t *cfg_load(const char *file, const char *basedir,
    const char *yaml, size_t len, char *err, size_t errlen);
static void cfg_yaml_error(const char *file, yaml_parser_t *parser,
    const char *yaml, size_t len, char *err, size_t errlen);
static void cfg_free_strs(char **strs, size_t n);
static void cfg_free_cond(cfg_cond_t *cond);


/* Enumerations */

static const cfg_enum_t cfg_formats[] = {
    { "json",       CFG_FORMAT_JSON },
    { "regex",      CFG_FORMAT_REGEX },
    { NULL, 0 }
};

static const cfg_enum_t cfg_starts[] = {
    { "beginning",  CFG_START_BEGINNING },
    { "end",        CFG_START_END },
    { NULL, 0 }
};

static const cfg_enum_t cfg_metric_types[] = {
    { "counter",    CFG_METRIC_COUNTER },
    { "histogram",  CFG_METRIC_HISTOGRAM },
    { NULL, 0 }
};


/* Key tables, one per kind of mapping.  Setters run in table order. */

static const cfg_cmd_t cfg_top_cmds[] = {
    { "inputs", cfg_set_inputs, CFG_REQUIRED, 0, 0, 0, NULL },
    { "fields", cfg_set_fields, 0, 0, 0, 0, NULL },
    { "required", cfg_set_required, 0, 0, 0, 0, NULL },
    { "dimensions", cfg_set_dims, 0, 0, 0, 0, NULL },
    { "filters", cfg_set_filters, 0, 0, 0, 0, NULL },
    { "metrics", cfg_set_metrics, CFG_REQUIRED, 0, 0, 0, NULL },
    { "max_line_bytes", cfg_set_size, 0,
      offsetof(cfg_t, max_line_bytes), 0, 0, NULL },
    { "max_label_bytes", cfg_set_size, 0,
      offsetof(cfg_t, max_label_bytes), 0, 0, NULL },
    { "event_time", cfg_set_var, 0, offsetof(cfg_t, event_time), 0, 0, NULL },
    { "tail", cfg_set_tail, 0, 0, 0, 0, NULL },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_tail_cmds[] = {
    { "poll", cfg_set_bool, 0, offsetof(cfg_tail_t, poll), 0, 0, NULL },
    { "poll_interval", cfg_set_duration, 0,
      offsetof(cfg_tail_t, poll_interval), 0, 0, NULL },
    { "max_open_files", cfg_set_u64, 0,
      offsetof(cfg_tail_t, max_open_files), 0, 0, NULL },
    { "rotate_wait", cfg_set_duration, 0,
      offsetof(cfg_tail_t, rotate_wait), 0, 0, NULL },
    { "checkpoint_interval", cfg_set_duration, 0,
      offsetof(cfg_tail_t, checkpoint_interval), 0, 0, NULL },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_input_cmds[] = {
    { "paths", cfg_set_strs,
      CFG_REQUIRED | CFG_NONEMPTY | CFG_NONEMPTY_ITEMS | CFG_ONE_OR_LIST,
      offsetof(cfg_input_t, paths), offsetof(cfg_input_t, npaths), 0, NULL },
    { "format", cfg_set_enum, CFG_REQUIRED,
      offsetof(cfg_input_t, format), 0, 0, cfg_formats },
    { "regex", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_input_t, regex), 0, 0, NULL },
    { "start_at", cfg_set_enum, 0,
      offsetof(cfg_input_t, start_at), 0, 0, cfg_starts },
    { "rotated", cfg_set_rotated,
      CFG_NONEMPTY | CFG_NONEMPTY_ITEMS | CFG_ONE_OR_LIST,
      offsetof(cfg_input_t, rotated), offsetof(cfg_input_t, nrotated),
      0, NULL },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_field_cmds[] = {
    { "key", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_field_t, key), 0, 0, NULL },
    { "from", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_field_t, from), 0, 0, NULL },
    { "json", cfg_set_json_path, 0,
      offsetof(cfg_field_t, json_path), offsetof(cfg_field_t, njson_path),
      0, NULL },
    { "kv", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_field_t, kv_key), 0, 0, NULL },
    { "kv_separator", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_field_t, kv_separator), 0, 0, NULL },
    { "kv_assign", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_field_t, kv_assign), 0, 0, NULL },
    { "regex", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_field_t, regex), 0, 0, NULL },
    { "replace", cfg_set_str, 0,
      offsetof(cfg_field_t, replace), 0, 0, NULL },
    { "default", cfg_set_str, 0,
      offsetof(cfg_field_t, dflt), 0, 0, NULL },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_filter_cmds[] = {
    { "name", cfg_set_filter_name, CFG_REQUIRED,
      offsetof(cfg_filter_t, name), 0, 0, NULL },
    { "drop", cfg_set_cond, CFG_REQUIRED,
      offsetof(cfg_filter_t, drop), 0, 0, NULL },
    cfg_null_cmd
};

/* Entry 0 is the variable; every other entry is an operator. */
static const cfg_cmd_t cfg_cond_cmds[] = {
    { "field", cfg_set_var, 0, offsetof(cfg_cond_t, field), 0, 0, NULL },
    { "equals", cfg_cond_set_str, 0, 0, 0, CFG_COND_EQUALS, NULL },
    { "not_equals", cfg_cond_set_str, 0, 0, 0, CFG_COND_NOT_EQUALS, NULL },
    { "in", cfg_cond_set_strs, 0, 0, 0, CFG_COND_IN, NULL },
    { "not_in", cfg_cond_set_strs, 0, 0, 0, CFG_COND_NOT_IN, NULL },
    { "prefix", cfg_cond_set_str, 0, 0, 0, CFG_COND_PREFIX, NULL },
    { "match", cfg_cond_set_str, 0, 0, 0, CFG_COND_MATCH, NULL },
    { "not_match", cfg_cond_set_str, 0, 0, 0, CFG_COND_NOT_MATCH, NULL },
    { "exists", cfg_cond_set_bool, 0, 0, 0, CFG_COND_EXISTS, NULL },
    { "gt", cfg_cond_set_num, 0, 0, 0, CFG_COND_GT, NULL },
    { "ge", cfg_cond_set_num, 0, 0, 0, CFG_COND_GE, NULL },
    { "lt", cfg_cond_set_num, 0, 0, 0, CFG_COND_LT, NULL },
    { "le", cfg_cond_set_num, 0, 0, 0, CFG_COND_LE, NULL },
    { "eq", cfg_cond_set_num, 0, 0, 0, CFG_COND_EQ, NULL },
    { "ne", cfg_cond_set_num, 0, 0, 0, CFG_COND_NE, NULL },
    { "any", cfg_cond_set_list, 0, 0, 0, CFG_COND_ANY, NULL },
    { "all", cfg_cond_set_list, 0, 0, 0, CFG_COND_ALL, NULL },
    { "not", cfg_cond_set_not, 0, 0, 0, CFG_COND_NOT, NULL },
    cfg_null_cmd
};

static const cfg_enum_t cfg_dims_backends[] = {
    { "csv",        CFG_DIMS_CSV },
    { "redis",      CFG_DIMS_REDIS },
    { NULL, 0 }
};

static const cfg_enum_t cfg_cache_policies[] = {
    { "all",        CFG_CACHE_ALL },
    { "lru",        CFG_CACHE_LRU },
    { NULL, 0 }
};

/* "redis" comes before "backend": cfg_set_dims checks them together. */
static const cfg_cmd_t cfg_dims_cmds[] = {
    { "dir", cfg_set_dims_dir, 0, 0, 0, 0, NULL },
    { "redis", cfg_set_redis, 0, 0, 0, 0, NULL },
    { "backend", cfg_set_enum, 0, offsetof(cfg_t, dims_backend), 0, 0,
      cfg_dims_backends },
    { "tables", cfg_set_tables, 0, 0, 0, 0, NULL },
    cfg_null_cmd
};

/* conf is the cfg_redis_t. */
static const cfg_cmd_t cfg_redis_cmds[] = {
    { "addresses", cfg_set_strs,
      CFG_NONEMPTY | CFG_NONEMPTY_ITEMS | CFG_ONE_OR_LIST,
      offsetof(cfg_redis_t, addresses), offsetof(cfg_redis_t, naddresses),
      0, NULL },
    { "unix_socket", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_redis_t, unix_socket), 0, 0, NULL },
    { "username", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_redis_t, username), 0, 0, NULL },
    { "password", cfg_set_str, 0,
      offsetof(cfg_redis_t, password), 0, 0, NULL },
    { "db", cfg_set_u64, 0, offsetof(cfg_redis_t, db), 0, 0, NULL },
    { "connect_timeout", cfg_set_duration, 0,
      offsetof(cfg_redis_t, connect_timeout), 0, 0, NULL },
    { "command_timeout", cfg_set_duration, 0,
      offsetof(cfg_redis_t, command_timeout), 0, 0, NULL },
    { "wait", cfg_set_duration, 0,
      offsetof(cfg_redis_t, max_wait), 0, 0, NULL },
    { "max_pending_bytes", cfg_set_u64, 0,
      offsetof(cfg_redis_t, max_pending_bytes), 0, 0, NULL },
    { "prefix", cfg_set_str, CFG_NONEMPTY,
      offsetof(cfg_redis_t, prefix), 0, 0, NULL },
    cfg_null_cmd
};

/* conf is the cfg_dim_cache_t. */
static const cfg_cmd_t cfg_cache_cmds[] = {
    { "policy", cfg_set_enum, 0, offsetof(cfg_dim_cache_t, policy), 0, 0,
      cfg_cache_policies },
    { "refresh", cfg_set_duration, 0,
      offsetof(cfg_dim_cache_t, refresh), 0, 0, NULL },
    { "max_rows", cfg_set_u64, 0,
      offsetof(cfg_dim_cache_t, max_rows), 0, 0, NULL },
    { "ttl", cfg_set_duration, 0, offsetof(cfg_dim_cache_t, ttl), 0, 0,
      NULL },
    { "negative_ttl", cfg_set_duration, 0,
      offsetof(cfg_dim_cache_t, negative_ttl), 0, 0, NULL },
    { "max_retries", cfg_set_u64, 0,
      offsetof(cfg_dim_cache_t, max_retries), 0, 0, NULL },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_table_cmds[] = {
    { "name", cfg_set_table_name, CFG_REQUIRED,
      offsetof(cfg_dim_t, name), 0, 0, NULL },
    { "key", cfg_set_table_key, CFG_REQUIRED, 0, 0, 0, NULL },
    { "provides", cfg_set_strs,
      CFG_REQUIRED | CFG_NONEMPTY | CFG_NONEMPTY_ITEMS,
      offsetof(cfg_dim_t, provides), offsetof(cfg_dim_t, nprovides),
      0, NULL },
    { "missing", cfg_set_str, 0, offsetof(cfg_dim_t, missing), 0, 0, NULL },
    { "cache", cfg_set_dim_cache, 0, 0, 0, 0, NULL },
    cfg_null_cmd
};

/* "type" comes before "labels" and "labels" before "siblings": their
 * setters rely on it. */
static const cfg_cmd_t cfg_metric_cmds[] = {
    { "name", cfg_set_metric_name, CFG_REQUIRED,
      offsetof(cfg_metric_t, name), 0, 0, NULL },
    { "help", cfg_set_str, CFG_REQUIRED | CFG_NONEMPTY,
      offsetof(cfg_metric_t, help), 0, 0, NULL },
    { "type", cfg_set_enum, CFG_REQUIRED,
      offsetof(cfg_metric_t, type), 0, 0, cfg_metric_types },
    { "labels", cfg_set_labels, 0, 0, 0, 0, NULL },
    { "when", cfg_set_cond_ptr, 0, offsetof(cfg_metric_t, when), 0, 0, NULL },
    { "zero_unmatched", cfg_set_bool, 0,
      offsetof(cfg_metric_t, zero_unmatched), 0, 0, NULL },
    { "value", cfg_set_value, 0, 0, 0, 0, NULL },
    { "buckets", cfg_set_buckets, 0, 0, 0, 0, NULL },
    { "series_ttl", cfg_set_duration, 0,
      offsetof(cfg_metric_t, series_ttl), 0, 0, NULL },
    { "max_series", cfg_set_u64, 0,
      offsetof(cfg_metric_t, max_series), 0, 0, NULL },
    { "siblings", cfg_set_siblings, 0, 0, 0, 0, NULL },
    cfg_null_cmd
};

/* conf is the cfg_metric_t. */
static const cfg_cmd_t cfg_value_cmds[] = {
    { "field", cfg_set_var, CFG_REQUIRED,
      offsetof(cfg_metric_t, value_field), 0, 0, NULL },
    { "scale", cfg_set_positive, 0, offsetof(cfg_metric_t, scale), 0, 0,
      NULL },
    cfg_null_cmd
};


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
    cfg->max_line_bytes = CFG_DEFAULT_MAX_LINE_BYTES;
    cfg->max_label_bytes = CFG_DEFAULT_MAX_LABEL_BYTES;
    cfg->tail.poll_interval = CFG_DEFAULT_POLL_INTERVAL;
    cfg->tail.max_open_files = CFG_DEFAULT_MAX_OPEN_FILES;
    cfg->tail.rotate_wait = CFG_DEFAULT_ROTATE_WAIT;
    cfg->tail.checkpoint_interval = CFG_DEFAULT_CHECKPOINT;
    cfg->redis.connect_timeout = CFG_DEFAULT_REDIS_CONNECT;
    cfg->redis.command_timeout = CFG_DEFAULT_REDIS_COMMAND;
    cfg->redis.max_wait = CFG_DEFAULT_REDIS_WAIT;
    cfg->redis.max_pending_bytes = CFG_DEFAULT_REDIS_PENDING;

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


/* Generic helpers */

/* Writes "file:line: message" for node (line 1 when node is NULL) and
 * returns -1. */
static int
cfg_error(cfg_ctx_t *ctx, const yaml_node_t *node, const char *fmt, ...)
{
    va_list  ap;
    char     msg[CFG_ERRLEN];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    snprintf(ctx->err, ctx->errlen, "%s:%d: %s", ctx->file,
             node ? cfg_line(node) : 1, msg);
    return -1;
}


/* A word for the node's type, for "expected X, found Y". */
static const char *
cfg_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a map";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return cfg_is_null(node) ? "nothing" : "a scalar";
    }
}


/* True for a plain scalar that YAML reads as null: "", "~", "null". */
static int
cfg_is_null(const yaml_node_t *node)
{
    const char  *s;

    if (node->type != YAML_SCALAR_NODE
        || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    {
        return 0;
    }
    s = cfg_text(node);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0
           || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}


/* The value of key in map, or NULL when map is not a map or lacks it. */
static yaml_node_t *
cfg_map_get(cfg_ctx_t *ctx, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t  *pair;
    yaml_node_t       *k;

    if (map->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top;
         pair++)
    {
        k = yaml_document_get_node(ctx->doc, pair->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(cfg_text(k), key) == 0) {
            return yaml_document_get_node(ctx->doc, pair->value);
        }
    }
    return NULL;
}


/* The value cfg_map_scan() found for the key called name, or NULL. */
static yaml_node_t *
cfg_val(const cfg_cmd_t *cmds, yaml_node_t **vals, const char *name)
{
    size_t  i;

    for (i = 0; cmds[i].name != NULL; i++) {
        if (strcmp(cmds[i].name, name) == 0) {
            return vals[i];
        }
    }
    return NULL;
}


/* Checks that map is a mapping whose keys are all in cmds, once each, and
 * stores the value of cmds[i] in vals[i] (NULL when absent).  what names
 * the mapping in messages ("unknown key "x" in what"). */
static int
cfg_map_scan(cfg_ctx_t *ctx, yaml_node_t *map, const cfg_cmd_t *cmds,
    const char *what, yaml_node_t **vals)
{
    yaml_node_pair_t  *pair;
    yaml_node_t       *key;
    size_t             i;

    for (i = 0; cmds[i].name != NULL; i++) {
        vals[i] = NULL;
    }

    if (map->type != YAML_MAPPING_NODE) {
        return cfg_error(ctx, map, "%s: expected a map, found %s", what,
                         cfg_kind(map));
    }

    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top;
         pair++)
    {
        key = yaml_document_get_node(ctx->doc, pair->key);
        if (key->type != YAML_SCALAR_NODE) {
            return cfg_error(ctx, key, "%s: expected a key, found %s", what,
                             cfg_kind(key));
        }
        for (i = 0; cmds[i].name != NULL; i++) {
            if (strcmp(cmds[i].name, cfg_text(key)) == 0) {
                break;
            }
        }
        if (cmds[i].name == NULL) {
            return cfg_error(ctx, key, "unknown key \"%s\" in %s",
                             cfg_text(key), what);
        }
        if (vals[i] != NULL) {
            return cfg_error(ctx, key, "duplicate key \"%s\" in %s",
                             cfg_text(key), what);
        }
        vals[i] = yaml_document_get_node(ctx->doc, pair->value);
    }
    return 0;
}


/* Runs the setter of every key found, in table order; a missing required
 * key is reported at the line of at. */
static int
cfg_map_apply(cfg_ctx_t *ctx, yaml_node_t *at, const cfg_cmd_t *cmds,
    const char *what, yaml_node_t **vals, void *conf)
{
    size_t  i;

    for (i = 0; cmds[i].name != NULL; i++) {
        if (vals[i] == NULL) {
            if (cmds[i].flags & CFG_REQUIRED) {
                return cfg_error(ctx, at, "%s: missing key \"%s\"", what,
                                 cmds[i].name);
            }
            continue;
        }
        if (cmds[i].set(ctx, vals[i], conf, &cmds[i]) != 0) {
            return -1;
        }
    }
    return 0;
}


static int
cfg_parse_map(cfg_ctx_t *ctx, yaml_node_t *map, yaml_node_t *at,
    const cfg_cmd_t *cmds, const char *what, void *conf)
{
    yaml_node_t  *vals[CFG_MAX_KEYS];

    if (cfg_map_scan(ctx, map, cmds, what, vals) != 0) {
        return -1;
    }
    return cfg_map_apply(ctx, at, cmds, what, vals, conf);
}


/* Copies a string scalar into *out (owned by the caller).  The text is
 * kept as written: 429 is "429", "" is empty.  A YAML null is refused. */
static int
cfg_get_str(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char **out)
{
    size_t  len;
    char   *s;

    if (node->type != YAML_SCALAR_NODE || cfg_is_null(node)) {
        return cfg_error(ctx, node, "\"%s\": expected a string, found %s",
                         what, cfg_kind(node));
    }
    len = node->data.scalar.length;
    if (memchr(node->data.scalar.value, '\0', len) != NULL) {
        return cfg_error(ctx, node, "\"%s\": string holds a NUL byte", what);
    }
    if (len == 0 && (flags & CFG_NONEMPTY)) {
        return cfg_error(ctx, node, "\"%s\": must not be empty", what);
    }
    s = malloc(len + 1);
    if (s == NULL) {
        return cfg_error(ctx, node, "out of memory");
    }
    memcpy(s, node->data.scalar.value, len);
    s[len] = '\0';
    *out = s;
    return 0;
}


/* Copies a list of strings into *out / *n (owned by the caller; set before
 * the items are read, so that a partial list is freed with the rest).
 * CFG_NONEMPTY refuses an empty list, CFG_NONEMPTY_ITEMS an empty item. */
static int
cfg_get_strs(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char ***out, size_t *n)
{
    yaml_node_item_t  *item;
    size_t             count, i;
    unsigned           item_flags;

    item_flags = (flags & CFG_NONEMPTY_ITEMS) ? CFG_NONEMPTY : 0;

    if (node->type == YAML_SCALAR_NODE && (flags & CFG_ONE_OR_LIST)
        && !cfg_is_null(node))
    {
        *out = calloc(1, sizeof(char *));
        if (*out == NULL) {
            return cfg_error(ctx, node, "out of memory");
        }
        *n = 1;
        return cfg_get_str(ctx, node, what, item_flags, &(*out)[0]);
    }

    if (node->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, node, "\"%s\": expected a list, found %s",
                         what, cfg_kind(node));
    }

    count = (size_t) (node->data.sequence.items.top
                      - node->data.sequence.items.start);
    if (count == 0) {
        if (flags & CFG_NONEMPTY) {
            return cfg_error(ctx, node, "\"%s\": must not be empty", what);
        }
        return 0;
    }

    *out = calloc(count, sizeof(char *));
    if (*out == NULL) {
        return cfg_error(ctx, node, "out of memory");
    }
    *n = count;

    for (i = 0, item = node->data.sequence.items.start; i < count;
         i++, item++)
    {
        if (cfg_get_str(ctx, yaml_document_get_node(ctx->doc, *item), what,
                        item_flags, &(*out)[i])
            != 0)
        {
            return -1;
        }
    }
    return 0;
}


/* A number: the whole scalar parsed by strtod(), finite. */
static int
cfg_get_number(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    double *out)
{
    const char  *s;
    char        *end;
    double       v;

    if (node->type != YAML_SCALAR_NODE || cfg_is_null(node)) {
        return cfg_error(ctx, node, "\"%s\": expected a number, found %s",
                         what, cfg_kind(node));
    }
    s = cfg_text(node);
    if (s[0] == '\0' || s[0] == ' ' || s[0] == '\t' || s[0] == '\n') {
        return cfg_error(ctx, node, "\"%s\": expected a number, found \"%s\"",
                         what, s);
    }
    v = strtod(s, &end);
    if (*end != '\0' || end == s) {
        return cfg_error(ctx, node, "\"%s\": expected a number, found \"%s\"",
                         what, s);
    }
    if (!isfinite(v)) {
        return cfg_error(ctx, node,
                         "\"%s\": expected a finite number, found \"%s\"",
                         what, s);
    }
    *out = v;
    return 0;
}


/* A positive decimal integer no larger than max. */
static int
cfg_get_uint(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    uint64_t max, uint64_t *out)
{
    const char          *s;
    unsigned long long   v;
    char                *end;

    if (node->type != YAML_SCALAR_NODE || cfg_is_null(node)) {
        return cfg_error(ctx, node,
                         "\"%s\": expected a positive integer, found %s",
                         what, cfg_kind(node));
    }
    s = cfg_text(node);
    if (s[0] < '0' || s[0] > '9') {
        goto bad;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v == 0 || v > max) {
        goto bad;
    }
    *out = (uint64_t) v;
    return 0;

bad:
    return cfg_error(ctx, node,
                     "\"%s\": expected a positive integer, found \"%s\"",
                     what, s);
}


/* Compiles re with PCRE2 to validate it; named: it must have a named
 * group. */
static int
cfg_check_regex(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    const char *re, int named)
{
    pcre2_code   *code;
    int           errcode;
    PCRE2_SIZE    offset;
    PCRE2_UCHAR   msg[256];
    uint32_t      count;

    code = pcre2_compile((PCRE2_SPTR) re, PCRE2_ZERO_TERMINATED, 0,
                         &errcode, &offset, NULL);
    if (code == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof(msg));
        return cfg_error(ctx, node, "\"%s\": bad regex: %s at offset %zu",
                         what, (const char *) msg, (size_t) offset);
    }

    count = 0;
    if (named) {
        pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
    }
    pcre2_code_free(code);

    if (named && count == 0) {
        return cfg_error(ctx, node, "\"%s\": regex has no named group "
                         "(?<name>...)", what);
    }
    return 0;
}


/* A variable is a field or a column that a dimension table provides. */
static int
cfg_is_var(const cfg_t *cfg, const char *name)
{
    size_t  i, j;

    if (config_field_index(cfg, name) >= 0) {
        return 1;
    }
    for (i = 0; i < cfg->ndims; i++) {
        for (j = 0; j < cfg->dims[i].nprovides; j++) {
            if (cfg->dims[i].provides[j] != NULL
                && strcmp(cfg->dims[i].provides[j], name) == 0)
            {
                return 1;
            }
        }
    }
    return 0;
}


static int
cfg_check_var(cfg_ctx_t *ctx, yaml_node_t *node, const char *name)
{
    if (!cfg_is_var(ctx->cfg, name)) {
        return cfg_error(ctx, node, "unknown variable \"%s\" (neither a "
                         "field nor a column a table provides)", name);
    }
    return 0;
}


/* True when s is non-empty, starts with a byte of first and goes on with
 * bytes of rest.  The classes are "a" (letters), "0" (digits), "_" and
 * ":" in any combination. */
static int
cfg_valid_name(const char *s, const char *first, const char *rest)
{
    const char  *set;
    char         c;

    if (*s == '\0') {
        return 0;
    }
    for (set = first; *s != '\0'; s++, set = rest) {
        c = *s;
        if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            && strchr(set, 'a'))
        {
            continue;
        }
        if (c >= '0' && c <= '9' && strchr(set, '0')) {
            continue;
        }
        if ((c == '_' || c == ':') && strchr(set, c)) {
            continue;
        }
        return 0;
    }
    return 1;
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


/* Generic setters: conf + cmd->offset is the member to fill. */

static int
cfg_set_str(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    return cfg_get_str(ctx, val, cmd->name, cmd->flags,
                       (char **) ((char *) conf + cmd->offset));
}


static int
cfg_set_strs(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    return cfg_get_strs(ctx, val, cmd->name, cmd->flags,
                        (char ***) ((char *) conf + cmd->offset),
                        (size_t *) ((char *) conf + cmd->count));
}


/* cmd->post is a cfg_enum_t[]; the member is an enum (int-sized). */
static int
cfg_set_enum(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    const cfg_enum_t  *e;
    char               names[128];
    size_t             len;

    if (val->type == YAML_SCALAR_NODE) {
        for (e = cmd->post; e->name != NULL; e++) {
            if (strcmp(e->name, cfg_text(val)) == 0) {
                memcpy((char *) conf + cmd->offset, &e->value, sizeof(int));
                return 0;
            }
        }
    }

    names[0] = '\0';
    len = 0;
    for (e = cmd->post; e->name != NULL && len < sizeof(names); e++) {
        len += snprintf(names + len, sizeof(names) - len, "%s%s",
                        e == cmd->post ? "" : (e[1].name ? ", " : " or "),
                        e->name);
    }
    if (val->type == YAML_SCALAR_NODE && !cfg_is_null(val)) {
        return cfg_error(ctx, val, "\"%s\": expected %s, found \"%s\"",
                         cmd->name, names, cfg_text(val));
    }
    return cfg_error(ctx, val, "\"%s\": expected %s, found %s", cmd->name,
                     names, cfg_kind(val));
}


static int
cfg_set_size(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    uint64_t  v;

    if (cfg_get_uint(ctx, val, cmd->name, SIZE_MAX, &v) != 0) {
        return -1;
    }
    *(size_t *) ((char *) conf + cmd->offset) = (size_t) v;
    return 0;
}


static int
cfg_set_u64(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    return cfg_get_uint(ctx, val, cmd->name, UINT64_MAX,
                        (uint64_t *) ((char *) conf + cmd->offset));
}


/* A double > 0. */
static int
cfg_set_positive(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    double  v;

    if (cfg_get_number(ctx, val, cmd->name, &v) != 0) {
        return -1;
    }
    if (!(v > 0)) {
        return cfg_error(ctx, val, "\"%s\": must be greater than 0",
                         cmd->name);
    }
    *(double *) ((char *) conf + cmd->offset) = v;
    return 0;
}


/* The name of an existing variable (char * member). */
static int
cfg_set_var(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    char  **out;

    out = (char **) ((char *) conf + cmd->offset);
    if (cfg_get_str(ctx, val, cmd->name, CFG_NONEMPTY, out) != 0) {
        return -1;
    }
    return cfg_check_var(ctx, val, *out);
}


/* true or false (int member). */
static int
cfg_set_bool(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    const char  *t;
    int          b;

    if (val->type != YAML_SCALAR_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected true or false, found %s",
                         cmd->name, cfg_kind(val));
    }
    t = cfg_text(val);
    if (strcmp(t, "true") == 0) {
        b = 1;
    } else if (strcmp(t, "false") == 0) {
        b = 0;
    } else {
        return cfg_error(ctx, val, "\"%s\": expected true or false, found "
                         "\"%s\"", cmd->name, t);
    }
    *(int *) ((char *) conf + cmd->offset) = b;
    return 0;
}


/* A duration: a Prometheus-style "250ms", "5s", "1m", "1h", or a plain
 * number of seconds; greater than 0 (double member, seconds). */
static int
cfg_set_duration(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    static const struct { const char *unit; double s; } units[] = {
        { "ms", 0.001 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }
    };
    const char  *t;
    char        *end;
    double       v;
    size_t       i;

    if (val->type != YAML_SCALAR_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a duration, found %s",
                         cmd->name, cfg_kind(val));
    }
    t = cfg_text(val);
    v = strtod(t, &end);
    if (end == t || !isfinite(v)) {
        goto bad;
    }
    if (*end != '\0') {
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strcmp(end, units[i].unit) == 0) {
                v *= units[i].s;
                break;
            }
        }
        if (i == sizeof(units) / sizeof(units[0])) {
            goto bad;
        }
    }
    if (!(v > 0)) {
        return cfg_error(ctx, val, "\"%s\": must be greater than 0",
                         cmd->name);
    }
    *(double *) ((char *) conf + cmd->offset) = v;
    return 0;

bad:
    return cfg_error(ctx, val, "\"%s\": expected a duration such as 250ms, "
                     "5s or 1m, found \"%s\"", cmd->name, t);
}


/* tail: a map of tailing options.  conf: cfg_t. */
static int
cfg_set_tail(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t  *cfg = conf;

    (void) cmd;
    if (cfg_parse_map(ctx, val, val, cfg_tail_cmds, "tail", &cfg->tail)
        != 0)
    {
        return -1;
    }
    if (cfg->tail.max_open_files == 0) {
        return cfg_error(ctx, val, "\"max_open_files\": must be at least 1");
    }
    return 0;
}


/* rotated: patterns where rotated copies of a file go; each must hold
 * "{path}" (the file's path). */
static int
cfg_set_rotated(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_input_t  *in = conf;
    size_t        i;

    if (cfg_set_strs(ctx, val, conf, cmd) != 0) {
        return -1;
    }
    for (i = 0; i < in->nrotated; i++) {
        if (strstr(in->rotated[i], "{path}") == NULL) {
            return cfg_error(ctx, val, "\"rotated\": pattern \"%s\" must "
                             "contain {path}", in->rotated[i]);
        }
    }
    return 0;
}


/* inputs: a non-empty list of input maps.  conf: cfg_t. */
static int
cfg_set_inputs(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t             *cfg = conf;
    cfg_input_t       *in;
    yaml_node_t       *item, *re;
    yaml_node_item_t  *it;
    size_t             n, i;
    char               what[64];

    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return cfg_error(ctx, val, "\"%s\": must not be empty", cmd->name);
    }
    cfg->inputs = calloc(n, sizeof(cfg_input_t));
    if (cfg->inputs == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cfg->ninputs = n;

    for (i = 0, it = val->data.sequence.items.start; i < n; i++, it++) {
        item = yaml_document_get_node(ctx->doc, *it);
        in = &cfg->inputs[i];
        in->line = cfg_line(item);
        snprintf(what, sizeof(what), "inputs[%zu]", i);

        if (cfg_parse_map(ctx, item, item, cfg_input_cmds, what, in) != 0) {
            return -1;
        }

        re = cfg_map_get(ctx, item, "regex");
        if (in->format == CFG_FORMAT_REGEX) {
            if (in->regex == NULL) {
                return cfg_error(ctx, item, "%s: format regex needs "
                                 "\"regex\"", what);
            }
            if (cfg_check_regex(ctx, re, "regex", in->regex, 1) != 0) {
                return -1;
            }
        } else if (in->regex != NULL) {
            return cfg_error(ctx, re, "%s: \"regex\" is only for format "
                             "regex", what);
        }
    }
    return 0;
}


/* fields: a map of name -> field map.  conf: cfg_t. */
static int
cfg_set_fields(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    static const char *xforms[] = { "json", "kv", "regex" };

    cfg_t             *cfg = conf;
    cfg_field_t       *f;
    yaml_node_pair_t  *pair;
    yaml_node_t       *key, *map, *vals[CFG_MAX_KEYS], *node, *seen;
    size_t             n, i, j, steps;
    int                k;
    char               what[128];

    if (val->type != YAML_MAPPING_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a map, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.mapping.pairs.top
                  - val->data.mapping.pairs.start);
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
        map = yaml_document_get_node(ctx->doc, pair->value);
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

        if (cfg_map_scan(ctx, map, cfg_field_cmds, what, vals) != 0) {
            return -1;
        }

        /* Exactly one source, at most one transform, options with their
         * transform. */
        if (cfg_val(cfg_field_cmds, vals, "key") == NULL
            && cfg_val(cfg_field_cmds, vals, "from") == NULL)
        {
            return cfg_error(ctx, key, "%s: needs \"key\" or \"from\"", what);
        }
        node = cfg_val(cfg_field_cmds, vals, "from");
        if (node != NULL && cfg_val(cfg_field_cmds, vals, "key") != NULL) {
            return cfg_error(ctx, node, "%s: \"key\" and \"from\" are "
                             "exclusive", what);
        }
        seen = NULL;
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
            f->xform = (j == 0) ? CFG_XFORM_JSON
                       : (j == 1) ? CFG_XFORM_KV : CFG_XFORM_REGEX;
        }
        if (f->xform != CFG_XFORM_KV) {
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
        if (node != NULL && f->xform != CFG_XFORM_REGEX) {
            return cfg_error(ctx, node, "%s: \"replace\" goes with "
                             "\"regex\"", what);
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
        if (f->xform == CFG_XFORM_KV) {
            if (f->kv_separator == NULL
                && (f->kv_separator = strdup(";")) == NULL)
            {
                return cfg_error(ctx, key, "out of memory");
            }
            if (f->kv_assign == NULL
                && (f->kv_assign = strdup("=")) == NULL)
            {
                return cfg_error(ctx, key, "out of memory");
            }
        }

        /* Named last, so that "field defined twice" only sees earlier
         * fields and "from" cannot name a field before the loop ends. */
        f->name = strdup(cfg_text(key));
        if (f->name == NULL) {
            return cfg_error(ctx, key, "out of memory");
        }
    }

    /* "from" must name another field, with no cycle. */
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
static int
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
static int
cfg_set_required(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t        *cfg = conf;
    yaml_node_t  *item;
    size_t        i, j;

    if (cfg_get_strs(ctx, val, cmd->name, CFG_NONEMPTY | CFG_NONEMPTY_ITEMS,
                     &cfg->required,
                     &cfg->nrequired) != 0)
    {
        return -1;
    }
    for (i = 0; i < cfg->nrequired; i++) {
        item = yaml_document_get_node(ctx->doc,
                                      val->data.sequence.items.start[i]);
        if (config_field_index(cfg, cfg->required[i]) < 0) {
            return cfg_error(ctx, item, "\"required\": \"%s\" is not a field",
                             cfg->required[i]);
        }
        for (j = 0; j < i; j++) {
            if (strcmp(cfg->required[i], cfg->required[j]) == 0) {
                return cfg_error(ctx, item, "\"required\": \"%s\" listed "
                                 "twice", cfg->required[i]);
            }
        }
    }
    return 0;
}


/* dimensions: {dir, redis, backend, tables}.  conf: cfg_t.  The redis
 * backend needs somewhere to connect to. */
static int
cfg_set_dims(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t        *cfg = conf;
    yaml_node_t  *b;

    (void) cmd;
    if (cfg_parse_map(ctx, val, val, cfg_dims_cmds, "dimensions", conf)
        != 0)
    {
        return -1;
    }
    if (cfg->dims_backend == CFG_DIMS_REDIS && cfg->redis.naddresses == 0
        && cfg->redis.unix_socket == NULL)
    {
        b = cfg_map_get(ctx, val, "backend");
        return cfg_error(ctx, b ? b : val, "\"backend\": redis needs "
                         "redis.addresses or redis.unix_socket");
    }
    return 0;
}


/* dimensions.redis: connection options.  conf: cfg_t. */
static int
cfg_set_redis(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_redis_t  *r = &((cfg_t *) conf)->redis;
    yaml_node_t  *n;
    size_t        i;

    (void) cmd;
    r->line = cfg_line(val);
    if (cfg_parse_map(ctx, val, val, cfg_redis_cmds, "redis", r) != 0) {
        return -1;
    }
    for (i = 0; i < r->naddresses; i++) {
        const char  *c = strrchr(r->addresses[i], ':');

        if (c == NULL || c == r->addresses[i] || c[1] == '\0'
            || strspn(c + 1, "0123456789") != strlen(c + 1)
            || atoi(c + 1) < 1 || atoi(c + 1) > 65535)
        {
            n = cfg_map_get(ctx, val, "addresses");
            return cfg_error(ctx, n, "\"addresses\": \"%s\" is not "
                             "HOST:PORT", r->addresses[i]);
        }
    }
    if (r->db > 1000000) {
        return cfg_error(ctx, cfg_map_get(ctx, val, "db"),
                         "\"db\": %" PRIu64 " is not a database index",
                         r->db);
    }
    if (r->username != NULL && r->password == NULL) {
        return cfg_error(ctx, cfg_map_get(ctx, val, "username"),
                         "\"username\": needs a password");
    }
    if (r->max_pending_bytes == 0) {
        return cfg_error(ctx, cfg_map_get(ctx, val, "max_pending_bytes"),
                         "\"max_pending_bytes\": must be at least 1");
    }
    return 0;
}


/* tables[].cache: how the Redis backend caches the table.  conf:
 * cfg_dim_t, whose defaults cfg_set_tables has set. */
static int
cfg_set_dim_cache(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_dim_cache_t  *c = &((cfg_dim_t *) conf)->cache;

    (void) cmd;
    if (cfg_parse_map(ctx, val, val, cfg_cache_cmds, "cache", c) != 0) {
        return -1;
    }
    if (c->max_rows == 0) {
        return cfg_error(ctx, cfg_map_get(ctx, val, "max_rows"),
                         "\"max_rows\": must be at least 1");
    }
    return 0;
}


/* dimensions.dir, joined to the config file's directory when relative. */
static int
cfg_set_dims_dir(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t   *cfg = conf;
    char    *dir;
    size_t   len;

    if (cfg_get_str(ctx, val, cmd->name, CFG_NONEMPTY, &dir) != 0) {
        return -1;
    }
    if (dir[0] == '/' || ctx->basedir == NULL) {
        cfg->dims_dir = dir;
        return 0;
    }

    len = strlen(ctx->basedir) + 1 + strlen(dir) + 1;
    cfg->dims_dir = malloc(len);
    if (cfg->dims_dir == NULL) {
        free(dir);
        return cfg_error(ctx, val, "out of memory");
    }
    snprintf(cfg->dims_dir, len, "%s%s%s", ctx->basedir,
             strcmp(ctx->basedir, "/") == 0 ? "" : "/", dir);
    free(dir);
    return 0;
}


/* dimensions.tables: a list of table maps.  conf: cfg_t. */
static int
cfg_set_tables(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t             *cfg = conf;
    cfg_dim_t         *d;
    yaml_node_t       *item, *prov, *node;
    yaml_node_item_t  *it;
    size_t             n, i, j, t, p;
    char               what[64];

    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return 0;
    }
    cfg->dims = calloc(n, sizeof(cfg_dim_t));
    if (cfg->dims == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cfg->ndims = n;

    for (i = 0, it = val->data.sequence.items.start; i < n; i++, it++) {
        item = yaml_document_get_node(ctx->doc, *it);
        d = &cfg->dims[i];
        d->line = cfg_line(item);
        snprintf(what, sizeof(what), "tables[%zu]", i);
        d->cache.policy = CFG_CACHE_ALL;
        d->cache.refresh = CFG_DEFAULT_DIM_REFRESH;
        d->cache.max_rows = CFG_DEFAULT_DIM_MAX_ROWS;
        d->cache.ttl = CFG_DEFAULT_DIM_TTL;
        d->cache.negative_ttl = CFG_DEFAULT_DIM_NEG_TTL;
        d->cache.max_retries = CFG_DEFAULT_DIM_RETRIES;

        if (cfg_parse_map(ctx, item, item, cfg_table_cmds, what, d) != 0) {
            return -1;
        }
        if (d->missing == NULL && (d->missing = strdup("unknown")) == NULL) {
            return cfg_error(ctx, item, "out of memory");
        }

        /* A provided column is a new variable: it must not shadow a
         * field or another column. */
        prov = cfg_map_get(ctx, item, "provides");
        for (j = 0; j < d->nprovides; j++) {
            node = yaml_document_get_node(ctx->doc,
                                          prov->data.sequence.items.start[j]);
            if (config_field_index(cfg, d->provides[j]) >= 0) {
                return cfg_error(ctx, node, "table \"%s\": provided column "
                                 "\"%s\" is already a field", d->name,
                                 d->provides[j]);
            }
            for (t = 0; t <= i; t++) {
                for (p = 0; p < (t == i ? j : cfg->dims[t].nprovides); p++) {
                    if (strcmp(cfg->dims[t].provides[p], d->provides[j])
                        == 0)
                    {
                        return cfg_error(ctx, node, "table \"%s\": column "
                                         "\"%s\" is already provided by "
                                         "table \"%s\"", d->name,
                                         d->provides[j], cfg->dims[t].name);
                    }
                }
            }
        }
    }
    return 0;
}


/* A table name, [a-zA-Z0-9_]+, unique.  conf: cfg_dim_t. */
static int
cfg_set_table_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_dim_t  *d = conf;
    cfg_dim_t  *o;

    if (cfg_get_str(ctx, val, cmd->name, 0, &d->name) != 0) {
        return -1;
    }
    if (!cfg_valid_name(d->name, "a0_", "a0_")) {
        return cfg_error(ctx, val, "table name \"%s\" must match "
                         "[a-zA-Z0-9_]+", d->name);
    }
    for (o = ctx->cfg->dims; o < d; o++) {
        if (strcmp(o->name, d->name) == 0) {
            return cfg_error(ctx, val, "table \"%s\" defined twice",
                             d->name);
        }
    }
    return 0;
}


/* key: a list of columns named like fields, or a map column -> field.
 * conf: cfg_dim_t. */
static int
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
        n = (size_t) (val->data.mapping.pairs.top
                      - val->data.mapping.pairs.start);
    } else if (val->type == YAML_SEQUENCE_NODE) {
        n = (size_t) (val->data.sequence.items.top
                      - val->data.sequence.items.start);
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
            col = yaml_document_get_node(ctx->doc,
                                         val->data.sequence.items.start[i]);
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


/* filters: a list of {name, drop}.  conf: cfg_t. */
static int
cfg_set_filters(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_t             *cfg = conf;
    yaml_node_t       *item;
    yaml_node_item_t  *it;
    size_t             n, i;
    char               what[64];

    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return 0;
    }
    cfg->filters = calloc(n, sizeof(cfg_filter_t));
    if (cfg->filters == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cfg->nfilters = n;

    for (i = 0, it = val->data.sequence.items.start; i < n; i++, it++) {
        item = yaml_document_get_node(ctx->doc, *it);
        cfg->filters[i].line = cfg_line(item);
        snprintf(what, sizeof(what), "filters[%zu]", i);
        if (cfg_parse_map(ctx, item, item, cfg_filter_cmds, what,
                          &cfg->filters[i]) != 0)
        {
            return -1;
        }
    }
    return 0;
}


/* A filter name becomes a label value: [a-zA-Z0-9_]+, unique.
 * conf: cfg_filter_t. */
static int
cfg_set_filter_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_filter_t  *flt = conf;
    cfg_filter_t  *o;

    if (cfg_get_str(ctx, val, cmd->name, 0, &flt->name) != 0) {
        return -1;
    }
    if (!cfg_valid_name(flt->name, "a0_", "a0_")) {
        return cfg_error(ctx, val, "filter name \"%s\" must match "
                         "[a-zA-Z0-9_]+", flt->name);
    }
    for (o = ctx->cfg->filters; o < flt; o++) {
        if (strcmp(o->name, flt->name) == 0) {
            return cfg_error(ctx, val, "filter \"%s\" defined twice",
                             flt->name);
        }
    }
    return 0;
}


/* Conditions */

/* Parses a condition map into cond (zeroed by the caller). */
static int
cfg_parse_cond(cfg_ctx_t *ctx, yaml_node_t *node, cfg_cond_t *cond)
{
    yaml_node_t  *vals[CFG_MAX_KEYS];
    size_t        i, op;
    int           rc;

    cond->line = cfg_line(node);

    if (ctx->depth >= CFG_MAX_DEPTH) {
        return cfg_error(ctx, node, "conditions nested too deeply");
    }

    if (cfg_map_scan(ctx, node, cfg_cond_cmds, "condition", vals) != 0) {
        return -1;
    }

    op = 0;
    for (i = 1; cfg_cond_cmds[i].name != NULL; i++) {
        if (vals[i] == NULL) {
            continue;
        }
        if (op != 0) {
            return cfg_error(ctx, vals[i], "condition: \"%s\" and \"%s\" "
                             "are exclusive", cfg_cond_cmds[op].name,
                             cfg_cond_cmds[i].name);
        }
        op = i;
    }
    if (op == 0) {
        return cfg_error(ctx, node, "condition: needs an operator (equals, "
                         "not_equals, in, not_in, prefix, match, not_match, "
                         "exists, gt, ge, lt, le, eq, ne, any, all or not)");
    }

    switch (cfg_cond_cmds[op].arg) {
    case CFG_COND_ANY:
    case CFG_COND_ALL:
    case CFG_COND_NOT:
        if (vals[0] != NULL) {
            return cfg_error(ctx, vals[0], "condition: \"field\" does not go "
                             "with \"%s\"", cfg_cond_cmds[op].name);
        }
        break;
    default:
        if (vals[0] == NULL) {
            return cfg_error(ctx, node, "condition: \"%s\" needs \"field\"",
                             cfg_cond_cmds[op].name);
        }
        break;
    }

    ctx->depth++;
    rc = cfg_map_apply(ctx, node, cfg_cond_cmds, "condition", vals, cond);
    ctx->depth--;
    return rc;
}


/* An embedded cfg_cond_t member. */
static int
cfg_set_cond(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    return cfg_parse_cond(ctx, val, (cfg_cond_t *) ((char *) conf
                                                    + cmd->offset));
}


/* A cfg_cond_t * member, allocated here. */
static int
cfg_set_cond_ptr(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  **out;

    out = (cfg_cond_t **) ((char *) conf + cmd->offset);
    *out = calloc(1, sizeof(cfg_cond_t));
    if (*out == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    return cfg_parse_cond(ctx, val, *out);
}


/* equals, not_equals, prefix, match, not_match: one string.  conf:
 * cfg_cond_t. */
static int
cfg_cond_set_str(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  *cond = conf;

    cond->op = (cfg_cond_op_t) cmd->arg;
    cond->strs = calloc(1, sizeof(char *));
    if (cond->strs == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cond->nstrs = 1;
    if (cfg_get_str(ctx, val, cmd->name, 0, &cond->strs[0]) != 0) {
        return -1;
    }
    if (cond->op == CFG_COND_MATCH || cond->op == CFG_COND_NOT_MATCH) {
        return cfg_check_regex(ctx, val, cmd->name, cond->strs[0], 0);
    }
    return 0;
}


/* in, not_in: a non-empty list of strings. */
static int
cfg_cond_set_strs(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  *cond = conf;

    cond->op = (cfg_cond_op_t) cmd->arg;
    return cfg_get_strs(ctx, val, cmd->name, CFG_NONEMPTY, &cond->strs,
                        &cond->nstrs);
}


/* exists: true or false (YAML 1.2 spellings). */
static int
cfg_cond_set_bool(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  *cond = conf;
    const char  *s;

    cond->op = (cfg_cond_op_t) cmd->arg;
    if (val->type == YAML_SCALAR_NODE) {
        s = cfg_text(val);
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0
            || strcmp(s, "TRUE") == 0)
        {
            cond->num = 1;
            return 0;
        }
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0
            || strcmp(s, "FALSE") == 0)
        {
            cond->num = 0;
            return 0;
        }
    }
    return cfg_error(ctx, val, "\"%s\": expected true or false", cmd->name);
}


/* gt, ge, lt, le, eq, ne: a number. */
static int
cfg_cond_set_num(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  *cond = conf;

    cond->op = (cfg_cond_op_t) cmd->arg;
    return cfg_get_number(ctx, val, cmd->name, &cond->num);
}


/* any, all: a non-empty list of conditions. */
static int
cfg_cond_set_list(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t        *cond = conf;
    yaml_node_item_t  *it;
    size_t             n, i;

    cond->op = (cfg_cond_op_t) cmd->arg;
    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list of conditions, "
                         "found %s", cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return cfg_error(ctx, val, "\"%s\": must not be empty", cmd->name);
    }
    cond->sub = calloc(n, sizeof(cfg_cond_t));
    if (cond->sub == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cond->nsub = n;

    for (i = 0, it = val->data.sequence.items.start; i < n; i++, it++) {
        if (cfg_parse_cond(ctx, yaml_document_get_node(ctx->doc, *it),
                           &cond->sub[i]) != 0)
        {
            return -1;
        }
    }
    return 0;
}


/* not: one condition. */
static int
cfg_cond_set_not(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  *cond = conf;

    cond->op = (cfg_cond_op_t) cmd->arg;
    cond->sub = calloc(1, sizeof(cfg_cond_t));
    if (cond->sub == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cond->nsub = 1;
    return cfg_parse_cond(ctx, val, cond->sub);
}


/* Metrics */

/* metrics: a non-empty list of families.  conf: cfg_t. */
static int
cfg_set_metrics(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    static const char *hist_suffixes[] = {
        "_total", "_bucket", "_sum", "_count"
    };

    cfg_t             *cfg = conf;
    cfg_metric_t      *m;
    yaml_node_t       *item, *name, *node;
    yaml_node_item_t  *it;
    size_t             n, i, j, len, slen;
    char               what[256];

    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return cfg_error(ctx, val, "\"%s\": must not be empty", cmd->name);
    }
    cfg->metrics = calloc(n, sizeof(cfg_metric_t));
    if (cfg->metrics == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cfg->nmetrics = n;

    for (i = 0, it = val->data.sequence.items.start; i < n; i++, it++) {
        item = yaml_document_get_node(ctx->doc, *it);
        m = &cfg->metrics[i];
        m->line = cfg_line(item);
        m->scale = 1;
        m->max_series = CFG_DEFAULT_MAX_SERIES;

        name = cfg_map_get(ctx, item, "name");
        if (name != NULL && name->type == YAML_SCALAR_NODE) {
            snprintf(what, sizeof(what), "metric \"%s\"", cfg_text(name));
        } else {
            snprintf(what, sizeof(what), "metrics[%zu]", i);
        }

        if (cfg_parse_map(ctx, item, item, cfg_metric_cmds, what, m) != 0) {
            return -1;
        }

        len = strlen(m->name);
        if (m->type == CFG_METRIC_COUNTER) {
            if (len < 6 || strcmp(m->name + len - 6, "_total") != 0) {
                return cfg_error(ctx, name, "%s: a counter's name must end "
                                 "in _total", what);
            }
            node = cfg_map_get(ctx, item, "value");
            if (node == NULL) {
                node = cfg_map_get(ctx, item, "buckets");
            }
            if (node != NULL) {
                return cfg_error(ctx, node, "%s: \"value\" and \"buckets\" "
                                 "are for histograms", what);
            }
            continue;
        }

        for (j = 0; j < sizeof(hist_suffixes) / sizeof(hist_suffixes[0]);
             j++)
        {
            slen = strlen(hist_suffixes[j]);
            if (len >= slen
                && strcmp(m->name + len - slen, hist_suffixes[j]) == 0)
            {
                return cfg_error(ctx, name, "%s: a histogram's name must not "
                                 "end in %s", what, hist_suffixes[j]);
            }
        }
        if (m->value_field == NULL) {
            return cfg_error(ctx, item, "%s: a histogram needs \"value\"",
                             what);
        }
        if (m->nbuckets == 0) {
            return cfg_error(ctx, item, "%s: a histogram needs \"buckets\"",
                             what);
        }
    }
    return 0;
}


/* A Prometheus metric name, unique.  conf: cfg_metric_t. */
static int
cfg_set_metric_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t  *m = conf;
    cfg_metric_t  *o;

    if (cfg_get_str(ctx, val, cmd->name, 0, &m->name) != 0) {
        return -1;
    }
    if (!cfg_valid_name(m->name, "a_:", "a0_:")) {
        return cfg_error(ctx, val, "metric name \"%s\" must match "
                         "[a-zA-Z_:][a-zA-Z0-9_:]*", m->name);
    }
    /* The exporter's own families and the process metrics. */
    if (strncmp(m->name, "gwlog_", 6) == 0
        || strncmp(m->name, "process_", 8) == 0)
    {
        return cfg_error(ctx, val, "metric name \"%s\": the prefixes "
                         "gwlog_ and process_ are reserved for the "
                         "exporter's own metrics", m->name);
    }
    for (o = ctx->cfg->metrics; o < m; o++) {
        if (strcmp(o->name, m->name) == 0) {
            return cfg_error(ctx, val, "metric \"%s\" defined twice",
                             m->name);
        }
    }
    return 0;
}


/* labels: a list of VAR (label named like it) or {label: VAR}.
 * conf: cfg_metric_t, whose type is already set. */
static int
cfg_set_labels(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t      *m = conf;
    yaml_node_t       *item, *lab, *var;
    yaml_node_pair_t  *pair;
    size_t             n, i, j;
    const char        *name;

    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return 0;
    }
    m->label_names = calloc(n, sizeof(char *));
    m->label_sources = calloc(n, sizeof(char *));
    if (m->label_names == NULL || m->label_sources == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    m->nlabels = n;

    for (i = 0; i < n; i++) {
        item = yaml_document_get_node(ctx->doc,
                                      val->data.sequence.items.start[i]);
        if (item->type == YAML_MAPPING_NODE) {
            if (item->data.mapping.pairs.top - item->data.mapping.pairs.start
                != 1)
            {
                return cfg_error(ctx, item, "\"%s\": expected {label: "
                                 "variable} with one key", cmd->name);
            }
            pair = item->data.mapping.pairs.start;
            lab = yaml_document_get_node(ctx->doc, pair->key);
            var = yaml_document_get_node(ctx->doc, pair->value);
        } else {
            lab = item;
            var = item;
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


/* value: {field, scale}.  conf: cfg_metric_t. */
static int
cfg_set_value(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    return cfg_parse_map(ctx, val, val, cfg_value_cmds, cmd->name, conf);
}


/* buckets: finite upper bounds, strictly ascending, without +Inf.
 * conf: cfg_metric_t. */
static int
cfg_set_buckets(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t      *m = conf;
    yaml_node_t       *item;
    size_t             n, i;

    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         cmd->name, cfg_kind(val));
    }
    n = (size_t) (val->data.sequence.items.top
                  - val->data.sequence.items.start);
    if (n == 0) {
        return cfg_error(ctx, val, "\"%s\": must not be empty", cmd->name);
    }
    m->buckets = calloc(n, sizeof(double));
    if (m->buckets == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    m->nbuckets = n;

    for (i = 0; i < n; i++) {
        item = yaml_document_get_node(ctx->doc,
                                      val->data.sequence.items.start[i]);
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


/* siblings: {label: [values]}; the label is one of the family's.
 * conf: cfg_metric_t, whose labels are already set. */
static int
cfg_set_siblings(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_metric_t      *m = conf;
    yaml_node_pair_t  *pair;
    yaml_node_t       *lab, *vals, *item;
    size_t             i, j;

    if (val->type != YAML_MAPPING_NODE
        || val->data.mapping.pairs.top - val->data.mapping.pairs.start != 1)
    {
        return cfg_error(ctx, val, "\"%s\": expected {label: [values]} with "
                         "one key", cmd->name);
    }
    pair = val->data.mapping.pairs.start;
    lab = yaml_document_get_node(ctx->doc, pair->key);
    vals = yaml_document_get_node(ctx->doc, pair->value);

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
    for (i = 0; i < m->nsibling_values; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(m->sibling_values[i], m->sibling_values[j]) == 0) {
                item = yaml_document_get_node(
                           ctx->doc, vals->data.sequence.items.start[i]);
                return cfg_error(ctx, item, "\"%s\": value \"%s\" listed "
                                 "twice", cmd->name, m->sibling_values[i]);
            }
        }
    }
    return 0;
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
