/* conf_cond.c - Conditions of the configuration: filters' "drop" and
 * metrics' "when" (see conf_internal.h).
 *
 * A condition is a map with one operator key, declared in cfg_cond_cmds:
 * {field: VAR, OP: VALUE} for the leaf operators, {any: [...]},
 * {all: [...]} or {not: ...} for the others.
 */

#include "config/conf_internal.h"

#include <stdlib.h>
#include <string.h>


/* Static prototypes */

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


/* Entry 0 is the variable; every other entry is an operator. */
#define CFG_COND(key, fn, op, h)                                          \
    { .name = key, .type = CFG_T_CUSTOM, .set = fn, .arg = op, .help = h,  \
      .tname = fn##_tname }

#define cfg_cond_set_str_tname      "string"
#define cfg_cond_set_strs_tname     "list of strings"
#define cfg_cond_set_bool_tname     "true or false"
#define cfg_cond_set_num_tname      "number"
#define cfg_cond_set_list_tname     "list of conditions"
#define cfg_cond_set_not_tname      "condition"

const cfg_cmd_t cfg_cond_cmds[] = {
    { .name = "field", .type = CFG_T_VAR, .offset = offsetof(cfg_cond_t, field),
      .help = "the variable tested (leaf operators)" },
    CFG_COND("equals", cfg_cond_set_str, CFG_COND_EQUALS,
             "the value is this string"),
    CFG_COND("not_equals", cfg_cond_set_str, CFG_COND_NOT_EQUALS,
             "the value is not this string"),
    CFG_COND("in", cfg_cond_set_strs, CFG_COND_IN,
             "the value is one of these strings"),
    CFG_COND("not_in", cfg_cond_set_strs, CFG_COND_NOT_IN,
             "the value is none of these strings"),
    CFG_COND("prefix", cfg_cond_set_str, CFG_COND_PREFIX,
             "the value starts with this string"),
    CFG_COND("match", cfg_cond_set_str, CFG_COND_MATCH,
             "the value matches this PCRE2 regex (anchored)"),
    CFG_COND("not_match", cfg_cond_set_str, CFG_COND_NOT_MATCH,
             "the value does not match this regex"),
    CFG_COND("exists", cfg_cond_set_bool, CFG_COND_EXISTS,
             "true: the value is present; false: absent"),
    CFG_COND("gt", cfg_cond_set_num, CFG_COND_GT, "the value is a number >"),
    CFG_COND("ge", cfg_cond_set_num, CFG_COND_GE, "the value is a number >="),
    CFG_COND("lt", cfg_cond_set_num, CFG_COND_LT, "the value is a number <"),
    CFG_COND("le", cfg_cond_set_num, CFG_COND_LE, "the value is a number <="),
    CFG_COND("eq", cfg_cond_set_num, CFG_COND_EQ, "the value is a number =="),
    CFG_COND("ne", cfg_cond_set_num, CFG_COND_NE, "the value is a number !="),
    CFG_COND("any", cfg_cond_set_list, CFG_COND_ANY,
             "a list of conditions, one of which holds"),
    CFG_COND("all", cfg_cond_set_list, CFG_COND_ALL,
             "a list of conditions, all of which hold"),
    CFG_COND("not", cfg_cond_set_not, CFG_COND_NOT,
             "a condition that does not hold"),
    cfg_null_cmd
};


/* Parses a condition map into cond (zeroed by the caller). */
int
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

    cond->op = (cfg_cond_op_t) cfg_cond_cmds[op].arg;
    ctx->depth++;
    rc = cfg_map_apply(ctx, node, cfg_cond_cmds, "condition", vals, cond);
    ctx->depth--;
    return rc;
}


/* An embedded cfg_cond_t member. */
int
cfg_set_cond(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    return cfg_parse_cond(ctx, val, (cfg_cond_t *) ((char *) conf
                                                    + cmd->offset));
}


/* A cfg_cond_t * member, allocated here. */
int
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

    return cfg_get_number(ctx, val, cmd->name, &cond->num);
}


/* any, all: a non-empty list of conditions. */
static int
cfg_cond_set_list(cfg_ctx_t *ctx, yaml_node_t *val, void *conf,
    const cfg_cmd_t *cmd)
{
    cfg_cond_t  *cond = conf;
    size_t       i;

    if (cfg_alloc_list(ctx, val, cmd->name, CFG_NONEMPTY, sizeof(cfg_cond_t),
                       (void **) &cond->sub, &cond->nsub) != 0)
    {
        return -1;
    }
    for (i = 0; i < cond->nsub; i++) {
        if (cfg_parse_cond(ctx, cfg_item(ctx, val, i), &cond->sub[i]) != 0) {
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

    (void) cmd;
    cond->sub = calloc(1, sizeof(cfg_cond_t));
    if (cond->sub == NULL) {
        return cfg_error(ctx, val, "out of memory");
    }
    cond->nsub = 1;
    return cfg_parse_cond(ctx, val, cond->sub);
}


