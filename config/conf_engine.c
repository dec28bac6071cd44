/* conf_engine.c - The generic machinery of the config loader (see
 * conf_internal.h): map scanning, defaults, and the setters written once
 * for every key of their type.
 *
 * Errors are "file:line: reason", with a 1-based line.  A setter that
 * fails leaves what it allocated reachable from conf, where config_free()
 * finds it: every array is allocated zeroed at its final size, with its
 * count set at once.
 */

#include "config/conf_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>


/* Static prototypes */

static int cfg_set_default(cfg_ctx_t *ctx, yaml_node_t *at, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_map(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);
static int cfg_set_list(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd);


/* Errors and nodes */

/* Writes "file:line: message" for node (line 1 when node is NULL) and
 * returns -1. */
int
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
const char *
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
int
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
yaml_node_t *
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


/* Item i of the sequence seq. */
yaml_node_t *
cfg_item(cfg_ctx_t *ctx, yaml_node_t *seq, size_t i)
{
    return yaml_document_get_node(ctx->doc, seq->data.sequence.items.start[i]);
}


/* The value cfg_map_scan() found for the key called name, or NULL. */
yaml_node_t *
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


/* Maps */

/* Checks that map is a mapping whose keys are all in cmds, once each, and
 * stores the value of cmds[i] in vals[i] (NULL when absent).  what names
 * the mapping in messages ("unknown key "x" in what"). */
int
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


/* Runs the setter of every key, in table order: with the value found, or
 * with the default when the key is absent.  A missing required key is
 * reported at the line of at. */
int
cfg_map_apply(cfg_ctx_t *ctx, yaml_node_t *at, const cfg_cmd_t *cmds,
    const char *what, yaml_node_t **vals, void *conf)
{
    size_t  i;
    int     rc;

    for (i = 0; cmds[i].name != NULL; i++) {
        if (vals[i] != NULL) {
            rc = cfg_set(ctx, vals[i], conf, &cmds[i]);
        } else if (cmds[i].flags & CFG_REQUIRED) {
            return cfg_error(ctx, at, "%s: missing key \"%s\"", what,
                             cmds[i].name);
        } else {
            rc = cfg_set_default(ctx, at, conf, &cmds[i]);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}


int
cfg_parse_map(cfg_ctx_t *ctx, yaml_node_t *map, yaml_node_t *at,
    const cfg_cmd_t *cmds, const char *what, void *conf)
{
    yaml_node_t  *vals[CFG_MAX_KEYS];

    if (cfg_map_scan(ctx, map, cmds, what, vals) != 0) {
        return -1;
    }
    return cfg_map_apply(ctx, at, cmds, what, vals, conf);
}


/* For an absent key: runs cmd's setter on a node made of its default, as
 * if the file held "key: default" at the line of at.  An absent nested map
 * gets the defaults of its keys (and of its own nested maps), with no
 * checks: they hold for defaults. */
static int
cfg_set_default(cfg_ctx_t *ctx, yaml_node_t *at, void *conf,
    const cfg_cmd_t *cmd)
{
    const cfg_sub_t  *sub;
    yaml_node_t       node;
    size_t            i;

    if (cmd->type == CFG_T_MAP) {
        sub = cmd->post;
        for (i = 0; sub->cmds[i].name != NULL; i++) {
            if (cfg_set_default(ctx, at, (char *) conf + cmd->offset,
                                &sub->cmds[i]) != 0)
            {
                return -1;
            }
        }
        return 0;
    }
    if (cmd->dflt == NULL) {
        return 0;
    }

    memset(&node, 0, sizeof(node));
    node.type = YAML_SCALAR_NODE;
    node.start_mark = at->start_mark;
    node.end_mark = at->start_mark;
    node.data.scalar.value = (yaml_char_t *) cmd->dflt;
    node.data.scalar.length = strlen(cmd->dflt);
    node.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    return cfg_set(ctx, &node, conf, cmd);
}


/* Calls the setter of cmd's type (or cmd->set for CFG_T_CUSTOM). */
int
cfg_set(cfg_ctx_t *ctx, yaml_node_t *val, void *conf, const cfg_cmd_t *cmd)
{
    uint64_t  v;
    double    d;
    char    **s;

    switch (cmd->type) {

    case CFG_T_CUSTOM:
        return cmd->set(ctx, val, conf, cmd);

    case CFG_T_BOOL:
        return cfg_set_bool(ctx, val, conf, cmd);

    case CFG_T_UINT:
        return cfg_get_uint(ctx, val, cmd, cfg_member(conf, cmd, uint64_t));

    case CFG_T_SIZE:
        if (cfg_get_uint(ctx, val, cmd, &v) != 0) {
            return -1;
        }
        *cfg_member(conf, cmd, size_t) = (size_t) v;
        return 0;

    case CFG_T_POSITIVE:
        if (cfg_get_number(ctx, val, cmd->name, &d) != 0) {
            return -1;
        }
        if (!(d > 0)) {
            return cfg_error(ctx, val, "\"%s\": must be greater than 0",
                             cmd->name);
        }
        *cfg_member(conf, cmd, double) = d;
        return 0;

    case CFG_T_DURATION:
        return cfg_set_duration(ctx, val, conf, cmd);

    case CFG_T_STR:
        return cfg_get_str(ctx, val, cmd->name, cmd->flags,
                           cfg_member(conf, cmd, char *));

    case CFG_T_STRS:
        return cfg_get_strs(ctx, val, cmd->name, cmd->flags,
                            cfg_member(conf, cmd, char **),
                            (size_t *) ((char *) conf + cmd->count));

    case CFG_T_ENUM:
        return cfg_set_enum(ctx, val, conf, cmd);

    case CFG_T_VAR:
        s = cfg_member(conf, cmd, char *);
        if (cfg_get_str(ctx, val, cmd->name, CFG_NONEMPTY, s) != 0) {
            return -1;
        }
        return cfg_check_var(ctx, val, *s);

    case CFG_T_NAME:
        return cfg_set_name(ctx, val, conf, cmd);

    case CFG_T_MAP:
        return cfg_set_map(ctx, val, conf, cmd);

    case CFG_T_LIST:
        return cfg_set_list(ctx, val, conf, cmd);
    }
    return cfg_error(ctx, val, "\"%s\": no setter", cmd->name);
}


/* Checks that val is a list (non-empty with CFG_NONEMPTY) and allocates
 * its *n items of size bytes, zeroed, into *out (owned by the caller); an
 * empty list leaves *out NULL and *n 0.  Returns 0 or -1. */
int
cfg_alloc_list(cfg_ctx_t *ctx, yaml_node_t *val, const char *name,
    unsigned flags, size_t size, void **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (val->type != YAML_SEQUENCE_NODE) {
        return cfg_error(ctx, val, "\"%s\": expected a list, found %s",
                         name, cfg_kind(val));
    }
    if (cfg_nitems(val) == 0) {
        if (flags & CFG_NONEMPTY) {
            return cfg_error(ctx, val, "\"%s\": must not be empty", name);
        }
        return 0;
    }
    *out = calloc(cfg_nitems(val), size);
    if (*out == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    *n = cfg_nitems(val);
    return 0;
}


/* CFG_T_MAP: the nested map fills conf + offset, then the check runs. */
static int
cfg_set_map(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    const cfg_sub_t  *sub = cmd->post;
    void             *c;

    c = (char *) conf + cmd->offset;
    if (sub->line != CFG_NOLINE) {
        *(int *) ((char *) c + sub->line) = cfg_line(val);
    }
    if (cfg_parse_map(ctx, val, val, sub->cmds, cmd->name, c) != 0) {
        return -1;
    }
    return sub->check ? sub->check(ctx, val, c, cmd->name) : 0;
}


/* CFG_T_LIST: a list of maps into an array at conf + offset, its count at
 * conf + count.  Items are named "NAME[i]" in messages, or "KIND "x"" when
 * the item has a scalar sub->named key. */
static int
cfg_set_list(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    const cfg_sub_t  *sub = cmd->post;
    yaml_node_t      *item, *name;
    char             *base, *elem;
    size_t            n, i;
    char              what[256];

    if (cfg_alloc_list(ctx, val, cmd->name, cmd->flags, sub->size,
                       cfg_member(conf, cmd, void *), &n) != 0)
    {
        return -1;
    }
    base = *cfg_member(conf, cmd, char *);
    *(size_t *) ((char *) conf + cmd->count) = n;

    for (i = 0; i < n; i++) {
        item = cfg_item(ctx, val, i);
        elem = base + i * sub->size;
        if (sub->line != CFG_NOLINE) {
            *(int *) (elem + sub->line) = cfg_line(item);
        }
        name = sub->named ? cfg_map_get(ctx, item, sub->named) : NULL;
        if (name != NULL && name->type == YAML_SCALAR_NODE) {
            snprintf(what, sizeof(what), "%s \"%s\"", sub->kind,
                     cfg_text(name));
        } else {
            snprintf(what, sizeof(what), "%s[%zu]", cmd->name, i);
        }
        if (cfg_parse_map(ctx, item, item, sub->cmds, what, elem) != 0
            || (sub->check != NULL && sub->check(ctx, item, elem, what) != 0))
        {
            return -1;
        }
    }
    return 0;
}


/* CFG_T_NAME: a name of the class post describes, unique among the
 * elements of its array that come before conf. */
static int
cfg_set_name(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    const cfg_name_t  *nm = cmd->post;
    char             **out, *o;

    out = cfg_member(conf, cmd, char *);
    if (cfg_get_str(ctx, val, cmd->name, 0, out) != 0) {
        return -1;
    }
    if (!cfg_valid_name(*out, nm->first, nm->rest)) {
        return cfg_error(ctx, val, "%s name \"%s\" must match %s", nm->kind,
                         *out, nm->pattern);
    }
    if (nm->check != NULL && nm->check(ctx, val, conf, nm->kind) != 0) {
        return -1;
    }
    for (o = *(char **) ((char *) ctx->cfg + nm->array); o < (char *) conf;
         o += nm->size)
    {
        if (strcmp(*(char **) (o + cmd->offset), *out) == 0) {
            return cfg_error(ctx, val, "%s \"%s\" defined twice", nm->kind,
                             *out);
        }
    }
    return 0;
}


/* Scalars */


/* Checks */

/* Compiles re with PCRE2 to validate it; named: it must have a named
 * group. */
int
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
int
cfg_check_var(cfg_ctx_t *ctx, yaml_node_t *node, const char *name)
{
    const cfg_t  *cfg = ctx->cfg;
    size_t        i, j;

    if (config_field_index(cfg, name) >= 0) {
        return 0;
    }
    for (i = 0; i < cfg->ndims; i++) {
        for (j = 0; j < cfg->dims[i].nprovides; j++) {
            if (cfg->dims[i].provides[j] != NULL
                && strcmp(cfg->dims[i].provides[j], name) == 0)
            {
                return 0;
            }
        }
    }
    return cfg_error(ctx, node, "unknown variable \"%s\" (neither a field "
                     "nor a column a table provides)", name);
}


/* True when s is non-empty, starts with a byte of first and goes on with
 * bytes of rest.  The classes are "a" (letters), "0" (digits), "_" and
 * ":" in any combination. */
int
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


/* "what: "x" listed twice" at the item of seq that repeats an earlier one;
 * thing qualifies the item ("value ") or is "". */
int
cfg_str_unique(cfg_ctx_t *ctx, yaml_node_t *seq, char **strs, size_t n,
    const char *what, const char *thing)
{
    size_t  i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(strs[i], strs[j]) == 0) {
                return cfg_error(ctx, cfg_item(ctx, seq, i), "\"%s\": %s\"%s\" "
                                 "listed twice", what, thing, strs[i]);
            }
        }
    }
    return 0;
}
