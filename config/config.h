/* config.h - The exporter's YAML configuration, loaded and validated.
 *
 * config_load() turns a YAML file into a cfg_t.  Everything a line goes
 * through is declared here, so that other gateways (nginx, Envoy, Kong)
 * need no C: inputs, fields, required fields, filters, dimension tables and
 * metric families.  The loader refuses unknown keys, wrong types and
 * dangling references with "file:line: reason".
 *
 * Ownership: config_load() returns a cfg_t that owns every string and array
 * below it; config_free() releases all of it.  Nothing else frees parts of
 * a cfg_t.
 */

#ifndef GWLOG_CONFIG_H
#define GWLOG_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>


/* Types */

typedef enum {
    CFG_FORMAT_JSON = 0,
    CFG_FORMAT_REGEX
} cfg_format_t;

typedef enum {
    CFG_START_BEGINNING = 0,
    CFG_START_END
} cfg_start_t;

typedef struct {
    char          **paths;          /* globs */
    size_t          npaths;
    cfg_format_t    format;
    char           *regex;          /* PCRE2 with named groups (regex only) */
    cfg_start_t     start_at;       /* for files seen for the first time */
    char          **rotated;        /* globs of its generations */
    size_t          nrotated;
    int             line;
} cfg_input_t;

/* How files are followed and how often state is saved (top-level "tail"). */
typedef struct {
    int             poll;           /* stat() polling instead of inotify */
    double          poll_interval;  /* seconds between polls */
    uint64_t        max_open_files; /* idle files beyond are closed */
    double          rotate_wait;    /* seconds a rotated-away file is read */
    double          checkpoint_interval;    /* seconds */
} cfg_tail_t;

typedef enum {
    CFG_XFORM_NONE = 0,
    CFG_XFORM_JSON,                 /* value is JSON (object or string) */
    CFG_XFORM_KV,                   /* value is "k=v;k=v" */
    CFG_XFORM_REGEX                 /* PCRE2 match, optional replacement */
} cfg_xform_t;

typedef struct {
    char           *name;
    char           *key;            /* top-level JSON key or regex group */
    char           *from;           /* or: another field's name */
    cfg_xform_t     xform;
    char          **json_path;      /* CFG_XFORM_JSON: keys, outermost first */
    size_t          njson_path;
    char           *kv_key;         /* CFG_XFORM_KV */
    char           *kv_separator;   /* default ";" */
    char           *kv_assign;      /* default "=" */
    char           *regex;          /* CFG_XFORM_REGEX */
    char           *replace;        /* NULL: value is the whole match */
    char           *dflt;           /* value when absent; NULL: absent */
    int             line;
} cfg_field_t;

typedef enum {
    CFG_COND_EQUALS = 0,            /* string ops: strs[0..nstrs) */
    CFG_COND_NOT_EQUALS,
    CFG_COND_IN,
    CFG_COND_NOT_IN,
    CFG_COND_PREFIX,
    CFG_COND_MATCH,                 /* PCRE2, anchored at both ends */
    CFG_COND_NOT_MATCH,
    CFG_COND_EXISTS,                /* num: 1 = present, 0 = absent */
    CFG_COND_GT,                    /* numeric ops: num */
    CFG_COND_GE,
    CFG_COND_LT,
    CFG_COND_LE,
    CFG_COND_EQ,
    CFG_COND_NE,
    CFG_COND_ANY,                   /* sub[0..nsub) */
    CFG_COND_ALL,
    CFG_COND_NOT                    /* sub[0] */
} cfg_cond_op_t;

typedef struct cfg_cond cfg_cond_t;

struct cfg_cond {
    cfg_cond_op_t   op;
    char           *field;          /* variable name, leaf ops only */
    char          **strs;
    size_t          nstrs;
    double          num;
    cfg_cond_t     *sub;
    size_t          nsub;
    int             line;
};

typedef struct {
    char           *name;           /* label of gwlog_lines_filtered_total */
    cfg_cond_t      drop;           /* drop the line when true */
    int             line;
} cfg_filter_t;

/* How a table is cached when it comes from Redis (per table "cache"). */
typedef enum {
    CFG_CACHE_ALL = 0,              /* whole table, reloaded every refresh */
    CFG_CACHE_LRU                   /* rows fetched on demand, LRU + TTL */
} cfg_cache_policy_t;

typedef struct {
    cfg_cache_policy_t  policy;     /* default all */
    double          refresh;        /* all: seconds between full reloads */
    uint64_t        max_rows;       /* lru: cached rows, default 50000 */
    double          ttl;            /* lru: seconds a found row is kept */
    double          negative_ttl;   /* lru: seconds a missing row is kept */
    uint64_t        max_retries;    /* failed Redis requests retried */
} cfg_dim_cache_t;

typedef enum {
    CFG_DIMS_CSV = 0,               /* dimensions.dir (the default) */
    CFG_DIMS_REDIS                  /* dimensions.redis */
} cfg_dims_backend_t;

/* dimensions.redis: where the shared tables live. */
typedef struct {
    char          **addresses;      /* HOST:PORT, tried in order */
    size_t          naddresses;
    char           *unix_socket;    /* tried before the addresses */
    char           *username;       /* ACL user (AUTH user pass) */
    char           *password;
    uint64_t        db;             /* SELECT index */
    double          connect_timeout;    /* seconds */
    double          command_timeout;    /* seconds */
    double          max_wait;       /* "wait": longest a line waits */
    uint64_t        max_pending_bytes;  /* bytes of lines held waiting */
    char           *prefix;         /* key prefix, default "gwlog:dim" */
    int             line;
} cfg_redis_t;

typedef struct {
    char           *name;           /* table name; CSV file is NAME.csv */
    char          **key_columns;    /* CSV columns forming the key */
    char          **key_fields;     /* variables giving the key's values */
    size_t          nkeys;
    char          **provides;       /* CSV columns exposed as variables */
    size_t          nprovides;
    char           *missing;        /* value on a miss, default "unknown" */
    int             line;
    cfg_dim_cache_t cache;          /* Redis backend only (last, so that
                                     * positional initializers still work) */
} cfg_dim_t;

typedef enum {
    CFG_METRIC_COUNTER = 0,
    CFG_METRIC_HISTOGRAM
} cfg_metric_type_t;

typedef struct {
    char              *name;
    char              *help;
    cfg_metric_type_t  type;
    char             **label_names;
    char             **label_sources;   /* variable per label */
    size_t             nlabels;
    cfg_cond_t        *when;            /* NULL: every line */
    int                zero_unmatched;  /* a line "when" rejects still
                                         * creates its series, at 0 */
    char              *value_field;     /* histogram only */
    double             scale;           /* histogram only, default 1 */
    double            *buckets;         /* histogram only, ascending */
    size_t             nbuckets;
    uint64_t           max_series;      /* default 100000 */
    double             series_ttl;      /* seconds an idle series is kept;
                                         * 0 (default): forever */
    char              *sibling_label;   /* NULL: no siblings */
    char             **sibling_values;
    size_t             nsibling_values;
    double             native_factor;   /* histogram: native buckets'
                                         * growth; 0 (default): none */
    uint64_t           native_max_buckets;  /* default 160 */
    char              *exemplar_label;  /* "exemplar": label name */
    char              *exemplar_field;  /* variable; NULL: no exemplars */
    int                line;
} cfg_metric_t;

typedef struct {
    char            *file;              /* path the config was read from */

    cfg_input_t     *inputs;
    size_t           ninputs;

    cfg_field_t     *fields;
    size_t           nfields;

    char           **required;          /* field names */
    size_t           nrequired;

    cfg_filter_t    *filters;
    size_t           nfilters;

    char            *dims_dir;          /* CSV backend; NULL: no tables read */
    cfg_dims_backend_t dims_backend;    /* dimensions.backend, default csv */
    cfg_redis_t      redis;             /* dimensions.redis */
    cfg_dim_t       *dims;
    size_t           ndims;

    cfg_metric_t    *metrics;
    size_t           nmetrics;

    size_t           max_line_bytes;    /* default 1 MiB */
    size_t           max_label_bytes;   /* longer label values are cut */
    char            *event_time;        /* field: unix time of a line */
    cfg_tail_t       tail;
} cfg_t;


/* Macros */

/* The defaults, as plain numbers: config/conf_table.c turns them into the
 * text of the keys' defaults, which the setters parse like user input. */
#define CFG_DEFAULT_MAX_SERIES      100000
#define CFG_DEFAULT_NATIVE_MAX_BUCKETS 160     /* labels/native.h */
#define CFG_DEFAULT_MAX_LINE_BYTES  1048576
#define CFG_DEFAULT_MAX_LABEL_BYTES 1024
#define CFG_DEFAULT_POLL_INTERVAL   0.25
#define CFG_DEFAULT_MAX_OPEN_FILES  1024
#define CFG_DEFAULT_ROTATE_WAIT     10.0
#define CFG_DEFAULT_CHECKPOINT      5.0
#define CFG_ERRLEN                  512
#define CFG_DEFAULT_DIM_REFRESH     60.0
#define CFG_DEFAULT_DIM_MAX_ROWS    50000
#define CFG_DEFAULT_DIM_TTL         600.0
#define CFG_DEFAULT_DIM_NEG_TTL     30.0
#define CFG_DEFAULT_DIM_RETRIES     3
#define CFG_DEFAULT_REDIS_CONNECT   0.5
#define CFG_DEFAULT_REDIS_COMMAND   0.25
#define CFG_DEFAULT_REDIS_WAIT      1.0
#define CFG_DEFAULT_REDIS_PENDING   67108864
#define CFG_DEFAULT_REDIS_PREFIX    "gwlog:dim"


/* Prototypes */

/* Loads and validates the YAML file at path.  Returns a cfg_t owned by the
 * caller (free it with config_free()), or NULL with "file:line: reason"
 * written into err (CFG_ERRLEN bytes).  Relative dims_dir is resolved
 * against the config file's directory. */
cfg_t *config_load(const char *path, char *err, size_t errlen);

/* Same as config_load(), from a buffer; name is used in messages. */
cfg_t *config_load_string(const char *name, const char *yaml, size_t len,
    char *err, size_t errlen);

/* Frees cfg and everything it owns.  config_free(NULL) is a no-op. */
void config_free(cfg_t *cfg);

/* Whether two metric families are defined the same way: type, labels and
 * their variables, condition, value field, scale, buckets, max_series and
 * siblings (the help text may differ). */
int config_metric_equal(const cfg_metric_t *a, const cfg_metric_t *b);

/* Prints the reference of every configuration key (type, default,
 * meaning) as Markdown, generated from the loader's own tables: what
 * --help-config prints and README's configuration reference holds. */
void config_reference(FILE *fp);

/* Returns the index of the field called name, or -1. */
int config_field_index(const cfg_t *cfg, const char *name);

#endif /* GWLOG_CONFIG_H */
