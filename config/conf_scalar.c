/* conf_scalar.c - The generic setters of scalars and lists of strings
 * (see conf_internal.h): strings, numbers, integers with bounds, enums,
 * booleans and durations.  Each reports "file:line: "key": reason".
 */

#include "config/conf_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* Copies a string scalar into *out (owned by the caller).  The text is
 * kept as written: 429 is "429", "" is empty.  A YAML null is refused. */
int
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
 * CFG_NONEMPTY refuses an empty list, CFG_NONEMPTY_ITEMS an empty item,
 * CFG_ONE_OR_LIST takes one string as a list of one. */
int
cfg_get_strs(cfg_ctx_t *ctx, yaml_node_t *node, const char *what,
    unsigned flags, char ***out, size_t *n)
{
    size_t    count, i;
    unsigned  item_flags;
    char    **strs;

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

    if (cfg_alloc_list(ctx, node, what, flags, sizeof(char *),
                       (void **) out, n) != 0)
    {
        return -1;
    }
    strs = *out;
    count = *n;

    for (i = 0; i < count; i++) {
        if (cfg_get_str(ctx, cfg_item(ctx, node, i), what, item_flags,
                        &strs[i]) != 0)
        {
            return -1;
        }
    }
    return 0;
}


/* A number: the whole scalar parsed by strtod(), finite. */
int
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


/* A decimal integer in cmd->min..cmd->max (1..UINT64_MAX when both are 0,
 * 1..SIZE_MAX for CFG_T_SIZE). */
int
cfg_get_uint(cfg_ctx_t *ctx, yaml_node_t *node, const cfg_cmd_t *cmd,
    uint64_t *out)
{
    const char          *s;
    unsigned long long   v;
    uint64_t             min, max;
    char                *end;

    min = cmd->min;
    max = cmd->max;
    if (max == 0) {
        min = 1;
        max = (cmd->type == CFG_T_SIZE) ? SIZE_MAX : UINT64_MAX;
    }
    if (node->type != YAML_SCALAR_NODE || cfg_is_null(node)) {
        return cfg_error(ctx, node, "\"%s\": expected a%s integer, found %s",
                         cmd->name, min ? " positive" : "n", cfg_kind(node));
    }
    s = cfg_text(node);
    if (s[0] < '0' || s[0] > '9') {
        goto bad;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < min) {
        goto bad;
    }
    if (v > max) {
        return cfg_error(ctx, node, "\"%s\": %s is more than %" PRIu64,
                         cmd->name, s, max);
    }
    *out = (uint64_t) v;
    return 0;

bad:
    return cfg_error(ctx, node, "\"%s\": expected a%s integer, found \"%s\"",
                     cmd->name, min ? " positive" : "n", s);
}


/* CFG_T_ENUM: cmd->post is a cfg_enum_t[]; the member is an int-sized
 * enum. */
int
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


/* CFG_T_BOOL: true or false (int member). */
int
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
    *cfg_member(conf, cmd, int) = b;
    return 0;
}


/* CFG_T_DURATION: a Prometheus-style "250ms", "5s", "1m", "1h", or a plain
 * number of seconds; greater than 0 (double member, seconds). */
int
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
    *cfg_member(conf, cmd, double) = v;
    return 0;

bad:
    return cfg_error(ctx, val, "\"%s\": expected a duration such as 250ms, "
                     "5s or 1m, found \"%s\"", cmd->name, t);
}
