/* conf_internal.h - The table-driven config engine, private to config/.
 *
 * Every YAML mapping the configuration knows is described by a table of
 * cfg_cmd_t, in the way of nginx's ngx_command_t with the columns of
 * Fluent Bit's config map added: the key, its type, flags, the offsetof()
 * of the member it fills, a default and a help text.  The engine
 * (conf_engine.c) checks a mapping against its table (unknown and
 * duplicate keys), then runs the setters in TABLE order, not in file order.
 * A key that is absent and has a default is set from the default's text,
 * parsed by the same setter and checks as a value written in the file.
 *
 * Generic setters serve every key whose type is not CFG_T_CUSTOM: bool,
 * positive integers with bounds, sizes, positive numbers, durations,
 * strings, lists of strings, enums, variable names, unique names, nested
 * maps and lists of maps.  conf_table.c holds the tables and the few
 * setters that are not generic; conf_cond.c the conditions.
 *
 * The reference of the configuration (--help-config, README) is printed
 * from the same tables by cfg_reference().
 */

#ifndef GWLOG_CONF_INTERNAL_H
#define GWLOG_CONF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <yaml.h>

#include "config/config.h"


/* Types */

typedef struct cfg_ctx_s cfg_ctx_t;
typedef struct cfg_cmd_s cfg_cmd_t;

/* Fills conf from the value node val; returns 0, or -1 with ctx->err set. */
typedef int (*cfg_set_pt)(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

/* Checks conf once its map is set; node is the map (or the value of the
 * key checked), what names it in messages.  Returns 0 or -1. */
typedef int (*cfg_check_pt)(cfg_ctx_t *ctx, yaml_node_t *node, void *conf,
    const char *what);

typedef enum {
    CFG_T_CUSTOM = 0,       /* cmd->set does it all */
    CFG_T_BOOL,             /* int: true or false */
    CFG_T_UINT,             /* uint64_t, cmd->min..cmd->max */
    CFG_T_SIZE,             /* size_t, 1..SIZE_MAX */
    CFG_T_POSITIVE,         /* double > 0 */
    CFG_T_DURATION,         /* double seconds > 0: 250ms, 5s, 1m, 1h, 2 */
    CFG_T_STR,              /* char * */
    CFG_T_STRS,             /* char ** + size_t count at cmd->count */
    CFG_T_ENUM,             /* int-sized enum, names in cmd->post */
    CFG_T_VAR,              /* char *: the name of a variable */
    CFG_T_NAME,             /* char *: a unique name, cfg_name_t in post */
    CFG_T_MAP,              /* a nested map, cfg_sub_t in post */
    CFG_T_LIST              /* a list of maps, cfg_sub_t in post */
} cfg_type_t;

typedef struct {
    const char      *name;
    int              value;
} cfg_enum_t;

/* CFG_T_MAP and CFG_T_LIST: the nested map's table and what to check.  An
 * absent nested map still gets the defaults of its keys. */
typedef struct {
    const cfg_cmd_t *cmds;
    size_t           size;          /* LIST: sizeof an element */
    size_t           line;          /* offsetof its int line, or NOLINE */
    const char      *named;         /* LIST: key naming an item, or NULL */
    const char      *kind;          /* LIST: "metric" for "metric "x"" */
    cfg_check_pt     check;         /* after the setters, or NULL */
} cfg_sub_t;

/* CFG_T_NAME: a name matching a class, unique in an array of cfg_t. */
typedef struct {
    const char      *kind;          /* "metric", "table", "filter" */
    const char      *first;         /* classes of cfg_valid_name() */
    const char      *rest;
    const char      *pattern;       /* the classes as a regex, for messages */
    size_t           array;         /* offsetof(cfg_t, the array) */
    size_t           size;          /* sizeof an element */
    cfg_check_pt     check;         /* further checks, or NULL */
} cfg_name_t;

struct cfg_cmd_s {
    const char      *name;          /* YAML key */
    cfg_type_t       type;
    unsigned         flags;         /* CFG_REQUIRED | ... */
    size_t           offset;        /* member of conf the setter fills */
    size_t           count;         /* lists: the size_t count */
    const char      *dflt;          /* text parsed when absent, or NULL */
    const char      *help;          /* one line for the reference */
    const char      *tname;         /* CFG_T_CUSTOM: its type, in words */
    cfg_set_pt       set;           /* CFG_T_CUSTOM only */
    int              arg;           /* setter-specific (condition op) */
    const void      *post;          /* cfg_enum_t[], cfg_sub_t, cfg_name_t */
    uint64_t         min, max;      /* CFG_T_UINT; 0, 0: 1..UINT64_MAX */
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
#define CFG_NOLINE          ((size_t) -1)

#define cfg_null_cmd        { .name = NULL }

/* A number macro of config.h as the text of a default. */
#define CFG_STR(x)          CFG_STR_(x)
#define CFG_STR_(x)         #x

#define cfg_line(node)      ((int) (node)->start_mark.line + 1)
#define cfg_text(node)      ((const char *) (node)->data.scalar.value)
#define cfg_member(conf, cmd, type)  ((type *) ((char *) (conf)          \
                                                + (cmd)->offset))

/* The number of items of a sequence node, of pairs of a mapping node. */
#define cfg_nitems(node)    ((size_t) ((node)->data.sequence.items.top     \
                                       - (node)->data.sequence.items.start))
#define cfg_npairs(node)    ((size_t) ((node)->data.mapping.pairs.top      \
                                       - (node)->data.mapping.pairs.start))


/* Prototypes: the engine (conf_engine.c) */

int cfg_error(cfg_ctx_t *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *cfg_kind(const yaml_node_t *node);
int cfg_is_null(const yaml_node_t *node);
yaml_node_t *cfg_map_get(cfg_ctx_t *ctx, yaml_node_t *map, const char *key);
yaml_node_t *cfg_item(cfg_ctx_t *ctx, yaml_node_t *seq, size_t i);
yaml_node_t *cfg_val(const cfg_cmd_t *cmds, yaml_node_t **vals,
    const char *name);
int cfg_map_scan(cfg_ctx_t *ctx, yaml_node_t *map, const cfg_cmd_t *cmds,
    const char *what, yaml_node_t **vals);
int cfg_map_apply(cfg_ctx_t *ctx, yaml_node_t *at, const cfg_cmd_t *cmds,
    const char *what, yaml_node_t **vals, void *conf);
int cfg_parse_map(cfg_ctx_t *ctx, yaml_node_t *map, yaml_node_t *at,
    const cfg_cmd_t *cmds, const char *what, void *conf);
int cfg_set(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_alloc_list(cfg_ctx_t *ctx, yaml_node_t *val, const char *name,
    unsigned flags, size_t size, void **out, size_t *n);

/* Prototypes: the generic setters of scalars (conf_scalar.c) */

int cfg_get_str(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char **out);
int cfg_get_strs(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char ***out, size_t *n);
int cfg_get_number(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    double *out);
int cfg_get_uint(cfg_ctx_t *ctx, yaml_node_t *node, const cfg_cmd_t *cmd,
    uint64_t *out);
int cfg_set_enum(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_bool(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_duration(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

/* Prototypes: checks (conf_engine.c) */

int cfg_check_regex(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    const char *re, int named);
int cfg_check_var(cfg_ctx_t *ctx, yaml_node_t *node, const char *name);
int cfg_valid_name(const char *s, const char *first, const char *rest);
int cfg_str_unique(cfg_ctx_t *ctx, yaml_node_t *seq, char **strs, size_t n,
    const char *what, const char *thing);

void cfg_reference(FILE *fp, const cfg_cmd_t *top);

/* Prototypes: the tables and their setters (conf_table.c, conf_setters.c,
 * conf_cond.c) */

extern const cfg_cmd_t  cfg_top_cmds[];
extern const cfg_cmd_t  cfg_field_cmds[];
extern const cfg_cmd_t  cfg_cond_cmds[];

int cfg_parse_cond(cfg_ctx_t *ctx, yaml_node_t *node, cfg_cond_t *cond);
int cfg_set_cond(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_cond_ptr(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_fields(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_json_path(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_required(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_table_key(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_check_table(cfg_ctx_t *ctx, yaml_node_t *item, void *conf,
    const char *what);
int cfg_set_labels(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_buckets(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
int cfg_set_siblings(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);

#endif /* GWLOG_CONF_INTERNAL_H */
