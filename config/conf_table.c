/* conf_table.c - The configuration, declared: one cfg_cmd_t table per kind
 * of YAML mapping (see conf_internal.h), with the few setters and checks
 * that are not generic.
 *
 * Setters run in table order, not in file order.  The top-level table
 * lists fields and dimensions before filters and metrics, so that every
 * reference can be checked, with its own line, as soon as it is read.
 */

#include "config/conf_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* Static prototypes */

static int cfg_set_rotated(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_check_input(cfg_ctx_t *ctx, yaml_node_t *item, void *conf,
    const char *what);
static int cfg_set_dims_dir(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_check_dims(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what);
static int cfg_check_redis(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what);
static int cfg_check_metric_name(cfg_ctx_t *ctx, yaml_node_t *val,
    void *conf, const char *what);
static int cfg_check_metric(cfg_ctx_t *ctx, yaml_node_t *item, void *conf,
    const char *what);
static int cfg_check_exemplar(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what);


/* cfg_set_enum() writes an int into enum members. */
_Static_assert(sizeof(cfg_format_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_start_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_metric_type_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_cache_policy_t) == sizeof(int), "enum size");
_Static_assert(sizeof(cfg_dims_backend_t) == sizeof(int), "enum size");


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


/* Names */

static const cfg_name_t cfg_metric_name = {
    "metric", "a_:", "a0_:", "[a-zA-Z_:][a-zA-Z0-9_:]*",
    offsetof(cfg_t, metrics), sizeof(cfg_metric_t), cfg_check_metric_name
};

static const cfg_name_t cfg_table_name = {
    "table", "a0_", "a0_", "[a-zA-Z0-9_]+",
    offsetof(cfg_t, dims), sizeof(cfg_dim_t), NULL
};

/* A filter name becomes a label value. */
static const cfg_name_t cfg_filter_name = {
    "filter", "a0_", "a0_", "[a-zA-Z0-9_]+",
    offsetof(cfg_t, filters), sizeof(cfg_filter_t), NULL
};


/* Key tables, one per kind of mapping */

static const cfg_cmd_t cfg_tail_cmds[] = {
    { .name = "poll", .type = CFG_T_BOOL,
      .offset = offsetof(cfg_tail_t, poll), .dflt = "false",
      .help = "follow files by stat() polling instead of inotify" },
    { .name = "poll_interval", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_tail_t, poll_interval),
      .dflt = CFG_STR(CFG_DEFAULT_POLL_INTERVAL),
      .help = "time between two polls" },
    { .name = "max_open_files", .type = CFG_T_UINT,
      .offset = offsetof(cfg_tail_t, max_open_files),
      .dflt = CFG_STR(CFG_DEFAULT_MAX_OPEN_FILES),
      .help = "idle files beyond are closed (and reopened when they grow)" },
    { .name = "rotate_wait", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_tail_t, rotate_wait),
      .dflt = CFG_STR(CFG_DEFAULT_ROTATE_WAIT),
      .help = "how long a rotated-away file is still read" },
    { .name = "checkpoint_interval", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_tail_t, checkpoint_interval),
      .dflt = CFG_STR(CFG_DEFAULT_CHECKPOINT),
      .help = "time between two checkpoints (with --state.dir)" },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_input_cmds[] = {
    { .name = "paths", .type = CFG_T_STRS,
      .flags = CFG_REQUIRED | CFG_NONEMPTY | CFG_NONEMPTY_ITEMS
               | CFG_ONE_OR_LIST,
      .offset = offsetof(cfg_input_t, paths),
      .count = offsetof(cfg_input_t, npaths),
      .help = "globs of the files to follow (one string or a list)" },
    { .name = "format", .type = CFG_T_ENUM, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_input_t, format), .post = cfg_formats,
      .help = "how a line is parsed" },
    { .name = "regex", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_input_t, regex),
      .help = "format regex: PCRE2 with named groups, the fields' keys" },
    { .name = "start_at", .type = CFG_T_ENUM,
      .offset = offsetof(cfg_input_t, start_at), .post = cfg_starts,
      .dflt = "beginning",
      .help = "where a file seen for the first time is read from" },
    { .name = "rotated", .type = CFG_T_CUSTOM, .set = cfg_set_rotated,
      .tname = "list of strings",
      .flags = CFG_NONEMPTY | CFG_NONEMPTY_ITEMS | CFG_ONE_OR_LIST,
      .offset = offsetof(cfg_input_t, rotated),
      .count = offsetof(cfg_input_t, nrotated),
      .dflt = "{path}[.-][0-9]*",
      .help = "globs of a file's rotated generations, with `{path}` for "
              "its path (the default covers `.1`, `.2.gz`, dateext's "
              "`-YYYYMMDD` and `-YYYYMMDD.gz`)" },
    cfg_null_cmd
};

const cfg_cmd_t cfg_field_cmds[] = {
    { .name = "key", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_field_t, key),
      .help = "top-level JSON key or regex group (or \"from\")" },
    { .name = "from", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_field_t, from),
      .help = "another field, whose value this one transforms" },
    { .name = "json", .type = CFG_T_CUSTOM, .set = cfg_set_json_path,
      .tname = "path or list",
      .offset = offsetof(cfg_field_t, json_path),
      .count = offsetof(cfg_field_t, njson_path),
      .help = "path into a JSON value: \"a.b\" or a list of keys" },
    { .name = "kv", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_field_t, kv_key),
      .help = "key in a \"k=v;k=v\" value" },
    { .name = "kv_separator", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_field_t, kv_separator), .dflt = ";",
      .help = "with kv: between two pairs" },
    { .name = "kv_assign", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_field_t, kv_assign), .dflt = "=",
      .help = "with kv: between a key and its value" },
    { .name = "regex", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_field_t, regex),
      .help = "PCRE2 match; the value is the first group or the match" },
    { .name = "replace", .type = CFG_T_STR,
      .offset = offsetof(cfg_field_t, replace),
      .help = "with regex: the value, with ${1} for groups" },
    { .name = "default", .type = CFG_T_STR,
      .offset = offsetof(cfg_field_t, dflt),
      .help = "the value when the line has none" },
    cfg_null_cmd
};

static const cfg_cmd_t cfg_filter_cmds[] = {
    { .name = "name", .type = CFG_T_NAME, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_filter_t, name), .post = &cfg_filter_name,
      .help = "label of `gwlog_lines_filtered_total`, `[a-zA-Z0-9_]+`" },
    { .name = "drop", .type = CFG_T_CUSTOM, .set = cfg_set_cond,
      .tname = "condition",
      .flags = CFG_REQUIRED, .offset = offsetof(cfg_filter_t, drop),
      .help = "a condition: the line is dropped when it holds" },
    cfg_null_cmd
};

/* conf is the cfg_redis_t. */
static const cfg_cmd_t cfg_redis_cmds[] = {
    { .name = "addresses", .type = CFG_T_STRS,
      .flags = CFG_NONEMPTY | CFG_NONEMPTY_ITEMS | CFG_ONE_OR_LIST,
      .offset = offsetof(cfg_redis_t, addresses),
      .count = offsetof(cfg_redis_t, naddresses),
      .help = "HOST:PORT, tried in order" },
    { .name = "unix_socket", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_redis_t, unix_socket),
      .help = "path of a unix socket, tried before the addresses" },
    { .name = "username", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_redis_t, username),
      .help = "ACL user (needs password)" },
    { .name = "password", .type = CFG_T_STR,
      .offset = offsetof(cfg_redis_t, password),
      .help = "AUTH password" },
    { .name = "db", .type = CFG_T_UINT, .offset = offsetof(cfg_redis_t, db),
      .dflt = "0", .min = 0, .max = 1000000,
      .help = "database index (SELECT)" },
    { .name = "connect_timeout", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_redis_t, connect_timeout),
      .dflt = CFG_STR(CFG_DEFAULT_REDIS_CONNECT),
      .help = "time to connect" },
    { .name = "command_timeout", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_redis_t, command_timeout),
      .dflt = CFG_STR(CFG_DEFAULT_REDIS_COMMAND),
      .help = "time for an answer" },
    { .name = "wait", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_redis_t, max_wait),
      .dflt = CFG_STR(CFG_DEFAULT_REDIS_WAIT),
      .help = "longest a line waits for a lookup" },
    { .name = "max_pending_bytes", .type = CFG_T_UINT,
      .offset = offsetof(cfg_redis_t, max_pending_bytes),
      .dflt = CFG_STR(CFG_DEFAULT_REDIS_PENDING),
      .help = "bytes of lines held waiting for lookups" },
    { .name = "prefix", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_redis_t, prefix),
      .dflt = CFG_DEFAULT_REDIS_PREFIX,
      .help = "prefix of the tables' keys" },
    cfg_null_cmd
};

/* conf is the cfg_dim_cache_t. */
static const cfg_cmd_t cfg_cache_cmds[] = {
    { .name = "policy", .type = CFG_T_ENUM,
      .offset = offsetof(cfg_dim_cache_t, policy), .post = cfg_cache_policies,
      .dflt = "all",
      .help = "all: whole table, reloaded; lru: rows on demand" },
    { .name = "refresh", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_dim_cache_t, refresh),
      .dflt = CFG_STR(CFG_DEFAULT_DIM_REFRESH),
      .help = "all: time between two full reloads" },
    { .name = "max_rows", .type = CFG_T_UINT,
      .offset = offsetof(cfg_dim_cache_t, max_rows),
      .dflt = CFG_STR(CFG_DEFAULT_DIM_MAX_ROWS),
      .help = "lru: rows cached" },
    { .name = "ttl", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_dim_cache_t, ttl),
      .dflt = CFG_STR(CFG_DEFAULT_DIM_TTL),
      .help = "lru: how long a row found is kept" },
    { .name = "negative_ttl", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_dim_cache_t, negative_ttl),
      .dflt = CFG_STR(CFG_DEFAULT_DIM_NEG_TTL),
      .help = "lru: how long a row missing is kept" },
    { .name = "max_retries", .type = CFG_T_UINT,
      .offset = offsetof(cfg_dim_cache_t, max_retries),
      .dflt = CFG_STR(CFG_DEFAULT_DIM_RETRIES),
      .help = "failed Redis requests retried" },
    cfg_null_cmd
};

static const cfg_sub_t cfg_cache_sub = {
    cfg_cache_cmds, 0, CFG_NOLINE, NULL, NULL, NULL
};

static const cfg_cmd_t cfg_table_cmds[] = {
    { .name = "name", .type = CFG_T_NAME, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_dim_t, name), .post = &cfg_table_name,
      .help = "table name, `[a-zA-Z0-9_]+`; the CSV file is `NAME.csv`" },
    { .name = "key", .type = CFG_T_CUSTOM, .set = cfg_set_table_key,
      .tname = "list or map",
      .flags = CFG_REQUIRED,
      .help = "columns named like fields, or a map column -> field" },
    { .name = "provides", .type = CFG_T_STRS,
      .flags = CFG_REQUIRED | CFG_NONEMPTY | CFG_NONEMPTY_ITEMS,
      .offset = offsetof(cfg_dim_t, provides),
      .count = offsetof(cfg_dim_t, nprovides),
      .help = "columns that become variables" },
    { .name = "missing", .type = CFG_T_STR,
      .offset = offsetof(cfg_dim_t, missing), .dflt = "unknown",
      .help = "the value of the columns when the key is not found" },
    { .name = "cache", .type = CFG_T_MAP,
      .offset = offsetof(cfg_dim_t, cache), .post = &cfg_cache_sub,
      .help = "how the Redis backend caches the table" },
    cfg_null_cmd
};

static const cfg_sub_t cfg_redis_sub = {
    cfg_redis_cmds, 0, offsetof(cfg_redis_t, line), NULL, NULL,
    cfg_check_redis
};

static const cfg_sub_t cfg_table_sub = {
    cfg_table_cmds, sizeof(cfg_dim_t), offsetof(cfg_dim_t, line), NULL,
    NULL, cfg_check_table
};

/* conf is the cfg_t.  "redis" comes before "backend": cfg_check_dims
 * checks them together. */
static const cfg_cmd_t cfg_dims_cmds[] = {
    { .name = "dir", .type = CFG_T_CUSTOM, .set = cfg_set_dims_dir,
      .tname = "directory",
      .help = "directory of the CSV tables, relative to the config file" },
    { .name = "redis", .type = CFG_T_MAP, .offset = offsetof(cfg_t, redis),
      .post = &cfg_redis_sub,
      .help = "where the Redis backend connects" },
    { .name = "backend", .type = CFG_T_ENUM,
      .offset = offsetof(cfg_t, dims_backend), .post = cfg_dims_backends,
      .dflt = "csv",
      .help = "where the tables are read from" },
    { .name = "tables", .type = CFG_T_LIST,
      .offset = offsetof(cfg_t, dims), .count = offsetof(cfg_t, ndims),
      .post = &cfg_table_sub,
      .help = "the dimension tables" },
    cfg_null_cmd
};

/* conf is the cfg_metric_t. */
static const cfg_cmd_t cfg_value_cmds[] = {
    { .name = "field", .type = CFG_T_VAR, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_metric_t, value_field),
      .help = "the variable observed" },
    { .name = "scale", .type = CFG_T_POSITIVE,
      .offset = offsetof(cfg_metric_t, scale), .dflt = "1",
      .help = "factor applied to the value (0.001: ms to seconds)" },
    cfg_null_cmd
};

static const cfg_sub_t cfg_value_sub = {
    cfg_value_cmds, 0, CFG_NOLINE, NULL, NULL, NULL
};

/* conf is the cfg_metric_t. */
static const cfg_cmd_t cfg_exemplar_cmds[] = {
    { .name = "label", .type = CFG_T_STR, .flags = CFG_NONEMPTY,
      .offset = offsetof(cfg_metric_t, exemplar_label), .dflt = "trace_id",
      .help = "the exemplar's label name" },
    { .name = "field", .type = CFG_T_VAR, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_metric_t, exemplar_field),
      .help = "the variable whose value is the label's (a request id)" },
    cfg_null_cmd
};

static const cfg_sub_t cfg_exemplar_sub = {
    cfg_exemplar_cmds, 0, CFG_NOLINE, NULL, NULL, cfg_check_exemplar
};

/* "type" comes before "labels" and "labels" before "siblings": their
 * setters rely on it.  "value" is after "type" so that its default scale
 * applies to counters too. */
static const cfg_cmd_t cfg_metric_cmds[] = {
    { .name = "name", .type = CFG_T_NAME, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_metric_t, name), .post = &cfg_metric_name,
      .help = "family name; `gwlog_` and `process_` are reserved" },
    { .name = "help", .type = CFG_T_STR, .flags = CFG_REQUIRED | CFG_NONEMPTY,
      .offset = offsetof(cfg_metric_t, help),
      .help = "HELP text" },
    { .name = "type", .type = CFG_T_ENUM, .flags = CFG_REQUIRED,
      .offset = offsetof(cfg_metric_t, type), .post = cfg_metric_types,
      .help = "a counter's name ends in `_total`" },
    { .name = "labels", .type = CFG_T_CUSTOM, .set = cfg_set_labels,
      .tname = "list",
      .help = "variables, or {label: variable}" },
    { .name = "when", .type = CFG_T_CUSTOM, .set = cfg_set_cond_ptr,
      .tname = "condition",
      .offset = offsetof(cfg_metric_t, when),
      .help = "a condition: only lines for which it holds count" },
    { .name = "zero_unmatched", .type = CFG_T_BOOL,
      .offset = offsetof(cfg_metric_t, zero_unmatched), .dflt = "false",
      .help = "a line \"when\" rejects still creates its series, at 0" },
    { .name = "value", .type = CFG_T_MAP, .post = &cfg_value_sub,
      .help = "histogram: {field, scale}" },
    { .name = "buckets", .type = CFG_T_CUSTOM, .set = cfg_set_buckets,
      .tname = "list of numbers",
      .help = "histogram: upper bounds, ascending, without +Inf" },
    { .name = "series_ttl", .type = CFG_T_DURATION,
      .offset = offsetof(cfg_metric_t, series_ttl),
      .help = "idle series are removed after this long (off when absent)" },
    { .name = "max_series", .type = CFG_T_UINT,
      .offset = offsetof(cfg_metric_t, max_series),
      .dflt = CFG_STR(CFG_DEFAULT_MAX_SERIES),
      .help = "label sets beyond fold into one `__overflow__` series" },
    { .name = "siblings", .type = CFG_T_CUSTOM, .set = cfg_set_siblings,
      .tname = "map",
      .help = "{label: [values]}: series created together, at 0" },
    { .name = "native_histogram_bucket_factor", .type = CFG_T_POSITIVE,
      .offset = offsetof(cfg_metric_t, native_factor),
      .help = "histogram: > 1 adds native buckets this much apart at "
              "most (protobuf only)" },
    { .name = "native_histogram_max_bucket_number", .type = CFG_T_UINT,
      .offset = offsetof(cfg_metric_t, native_max_buckets),
      .dflt = CFG_STR(CFG_DEFAULT_NATIVE_MAX_BUCKETS),
      .min = 1, .max = 1000000,
      .help = "native buckets of a series beyond halve its resolution" },
    { .name = "exemplar", .type = CFG_T_MAP, .post = &cfg_exemplar_sub,
      .help = "{label, field}: the latest line's id on each bucket and "
              "counter series, for OpenMetrics and protobuf (off when "
              "absent)" },
    cfg_null_cmd
};

static const cfg_sub_t cfg_tail_sub = {
    cfg_tail_cmds, 0, CFG_NOLINE, NULL, NULL, NULL
};

static const cfg_sub_t cfg_dims_sub = {
    cfg_dims_cmds, 0, CFG_NOLINE, NULL, NULL, cfg_check_dims
};

static const cfg_sub_t cfg_input_sub = {
    cfg_input_cmds, sizeof(cfg_input_t), offsetof(cfg_input_t, line), NULL,
    NULL, cfg_check_input
};

static const cfg_sub_t cfg_filter_sub = {
    cfg_filter_cmds, sizeof(cfg_filter_t), offsetof(cfg_filter_t, line),
    NULL, NULL, NULL
};

static const cfg_sub_t cfg_metric_sub = {
    cfg_metric_cmds, sizeof(cfg_metric_t), offsetof(cfg_metric_t, line),
    "name", "metric", cfg_check_metric
};

const cfg_cmd_t cfg_top_cmds[] = {
    { .name = "inputs", .type = CFG_T_LIST,
      .flags = CFG_REQUIRED | CFG_NONEMPTY,
      .offset = offsetof(cfg_t, inputs), .count = offsetof(cfg_t, ninputs),
      .post = &cfg_input_sub,
      .help = "the files to follow and how to parse them" },
    { .name = "fields", .type = CFG_T_CUSTOM, .set = cfg_set_fields,
      .tname = "map of fields",
      .help = "name: {key or from, transform}: the values of a line" },
    { .name = "required", .type = CFG_T_CUSTOM, .set = cfg_set_required,
      .tname = "list of fields",
      .help = "fields a valid line must have, non-empty" },
    { .name = "dimensions", .type = CFG_T_MAP, .post = &cfg_dims_sub,
      .help = "tables that add variables, looked up by fields" },
    { .name = "filters", .type = CFG_T_LIST,
      .offset = offsetof(cfg_t, filters), .count = offsetof(cfg_t, nfilters),
      .post = &cfg_filter_sub,
      .help = "lines dropped before counting, first match wins" },
    { .name = "metrics", .type = CFG_T_LIST,
      .flags = CFG_REQUIRED | CFG_NONEMPTY,
      .offset = offsetof(cfg_t, metrics), .count = offsetof(cfg_t, nmetrics),
      .post = &cfg_metric_sub,
      .help = "the metric families" },
    { .name = "max_line_bytes", .type = CFG_T_SIZE,
      .offset = offsetof(cfg_t, max_line_bytes),
      .dflt = CFG_STR(CFG_DEFAULT_MAX_LINE_BYTES),
      .help = "longer lines are invalid (too_long)" },
    { .name = "max_label_bytes", .type = CFG_T_SIZE,
      .offset = offsetof(cfg_t, max_label_bytes),
      .dflt = CFG_STR(CFG_DEFAULT_MAX_LABEL_BYTES),
      .help = "longer label values are cut at a character boundary" },
    { .name = "event_time", .type = CFG_T_VAR,
      .offset = offsetof(cfg_t, event_time),
      .help = "variable holding a line's unix time (event lag)" },
    { .name = "tail", .type = CFG_T_MAP, .offset = offsetof(cfg_t, tail),
      .post = &cfg_tail_sub,
      .help = "how files are followed" },
    cfg_null_cmd
};


/* Inputs */

/* rotated: patterns where rotated copies of a file go; each must hold
 * "{path}" (the file's path). */
static int
cfg_set_rotated(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_input_t  *in = conf;
    size_t        i;

    if (cfg_get_strs(ctx, val, cmd->name, cmd->flags, &in->rotated,
                     &in->nrotated) != 0)
    {
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


/* A regex input has a regex with named groups; a JSON input none. */
static int
cfg_check_input(cfg_ctx_t *ctx, yaml_node_t *item, void *conf,
    const char *what)
{
    cfg_input_t  *in = conf;
    yaml_node_t  *re;

    re = cfg_map_get(ctx, item, "regex");
    if (in->format == CFG_FORMAT_REGEX) {
        if (in->regex == NULL) {
            return cfg_error(ctx, item, "%s: format regex needs \"regex\"",
                             what);
        }
        return cfg_check_regex(ctx, re, "regex", in->regex, 1);
    }
    if (in->regex != NULL) {
        return cfg_error(ctx, re, "%s: \"regex\" is only for format regex",
                         what);
    }
    return 0;
}


/* Fields */


/* Dimensions */

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


/* The redis backend needs somewhere to connect to.  conf: cfg_t. */
static int
cfg_check_dims(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what)
{
    cfg_t        *cfg = conf;
    yaml_node_t  *b;

    (void) what;
    if (cfg->dims_backend == CFG_DIMS_REDIS && cfg->redis.naddresses == 0
        && cfg->redis.unix_socket == NULL)
    {
        b = cfg_map_get(ctx, val, "backend");
        return cfg_error(ctx, b ? b : val, "\"backend\": redis needs "
                         "redis.addresses or redis.unix_socket");
    }
    return 0;
}


/* dimensions.redis: addresses are HOST:PORT; a user needs a password.
 * conf: cfg_redis_t. */
static int
cfg_check_redis(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what)
{
    cfg_redis_t  *r = conf;
    const char   *c;
    size_t        i;

    (void) what;
    for (i = 0; i < r->naddresses; i++) {
        c = strrchr(r->addresses[i], ':');
        if (c == NULL || c == r->addresses[i] || c[1] == '\0'
            || strspn(c + 1, "0123456789") != strlen(c + 1)
            || atoi(c + 1) < 1 || atoi(c + 1) > 65535)
        {
            return cfg_error(ctx, cfg_map_get(ctx, val, "addresses"),
                             "\"addresses\": \"%s\" is not HOST:PORT",
                             r->addresses[i]);
        }
    }
    if (r->username != NULL && r->password == NULL) {
        return cfg_error(ctx, cfg_map_get(ctx, val, "username"),
                         "\"username\": needs a password");
    }
    return 0;
}


/* Metrics */

/* The prefixes of the exporter's own families and of the process metrics
 * are reserved.  conf: cfg_metric_t. */
static int
cfg_check_metric_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what)
{
    cfg_metric_t  *m = conf;

    (void) what;
    if (strncmp(m->name, "gwlog_", 6) == 0
        || strncmp(m->name, "process_", 8) == 0)
    {
        return cfg_error(ctx, val, "metric name \"%s\": the prefixes "
                         "gwlog_ and process_ are reserved for the "
                         "exporter's own metrics", m->name);
    }
    return 0;
}


/* A counter ends in _total and has neither value nor buckets; a histogram
 * has both and none of the suffixes of its series.  conf: cfg_metric_t. */
static int
cfg_check_metric(cfg_ctx_t *ctx, yaml_node_t *item, void *conf,
    const char *what)
{
    static const char *hist_suffixes[] = {
        "_total", "_bucket", "_sum", "_count"
    };
    cfg_metric_t  *m = conf;
    yaml_node_t   *name, *node;
    size_t         len, slen, j;

    name = cfg_map_get(ctx, item, "name");
    len = strlen(m->name);
    if (m->type == CFG_METRIC_COUNTER) {
        if (len < 6 || strcmp(m->name + len - 6, "_total") != 0) {
            return cfg_error(ctx, name, "%s: a counter's name must end in "
                             "_total", what);
        }
        node = cfg_map_get(ctx, item, "value");
        if (node == NULL) {
            node = cfg_map_get(ctx, item, "buckets");
        }
        if (node == NULL) {
            node = cfg_map_get(ctx, item, "native_histogram_bucket_factor");
        }
        if (node == NULL) {
            node = cfg_map_get(ctx, item,
                               "native_histogram_max_bucket_number");
        }
        if (node != NULL) {
            return cfg_error(ctx, node, "%s: \"value\", \"buckets\" and "
                             "the native_histogram_ keys are for histograms",
                             what);
        }
        return 0;
    }

    for (j = 0; j < sizeof(hist_suffixes) / sizeof(hist_suffixes[0]); j++) {
        slen = strlen(hist_suffixes[j]);
        if (len >= slen && strcmp(m->name + len - slen, hist_suffixes[j]) == 0)
        {
            return cfg_error(ctx, name, "%s: a histogram's name must not end "
                             "in %s", what, hist_suffixes[j]);
        }
    }
    if (m->value_field == NULL) {
        return cfg_error(ctx, item, "%s: a histogram needs \"value\"", what);
    }
    if (m->nbuckets == 0) {
        return cfg_error(ctx, item, "%s: a histogram needs \"buckets\"", what);
    }
    node = cfg_map_get(ctx, item, "native_histogram_bucket_factor");
    if (node != NULL && !(m->native_factor > 1)) {
        return cfg_error(ctx, node, "%s: native_histogram_bucket_factor "
                         "must be greater than 1", what);
    }
    return 0;
}


/* exemplar: the label is a label name, and with the longest value it
 * leaves room for within OpenMetrics' 128 code points.  conf:
 * cfg_metric_t. */
static int
cfg_check_exemplar(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const char *what)
{
    cfg_metric_t  *m = conf;
    yaml_node_t   *node;

    (void) what;
    node = cfg_map_get(ctx, val, "label");
    if (node == NULL) {
        node = val;
    }
    if (!cfg_valid_name(m->exemplar_label, "a_", "a0_")
        || strncmp(m->exemplar_label, "__", 2) == 0)
    {
        return cfg_error(ctx, node, "\"label\": \"%s\" is not a label name "
                         "([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)",
                         m->exemplar_label);
    }
    if (strlen(m->exemplar_label) >= 128) {
        return cfg_error(ctx, node, "\"label\": longer than the 127 "
                         "characters an exemplar's label set leaves for "
                         "its name");
    }
    return 0;
}
