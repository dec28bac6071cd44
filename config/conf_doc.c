/* conf_doc.c - The configuration reference, printed from the tables of
 * conf_table.c and conf_cond.c (gwlog_exporter --help-config, and the
 * section of README.md that tools/docs.py keeps equal to it).
 *
 * One Markdown table per kind of map, in the order of the tables, each
 * headed by its path in the YAML ("metrics[].value"): key, type, default
 * and meaning.  What is printed is what the loader does: the same entries
 * drive both.
 */

#include "config/config.h"

#include <stdio.h>
#include <string.h>

#include "config/conf_internal.h"


/* Static prototypes */

static void cfg_doc_table(FILE *fp, const char *path, const cfg_cmd_t *cmds);
static void cfg_doc_type(FILE *fp, const cfg_cmd_t *cmd);


void
config_reference(FILE *fp)
{
    fputs("Every key of the YAML configuration, generated from the loader's "
          "tables\n(`gwlog_exporter --help-config`). Durations are `250ms`, "
          "`5s`, `1m`, `1h`\nor plain seconds. A key without a default is "
          "unset when absent.\n", fp);
    cfg_doc_table(fp, "", cfg_top_cmds);
    fputs("\n#### Conditions\n\nA condition (`drop`, `when`) is a map with "
          "one operator: `{field: VAR, OP: VALUE}`\nor `{any: [...]}`, "
          "`{all: [...]}`, `{not: ...}`. Every regex is anchored at\nboth "
          "ends.\n", fp);
    cfg_doc_table(fp, "condition", cfg_cond_cmds);
}


/* Prints the table of cmds under the heading path, then the tables of the
 * maps nested in it, depth first. */
static void
cfg_doc_table(FILE *fp, const char *path, const cfg_cmd_t *cmds)
{
    const cfg_cmd_t  *c;
    const cfg_sub_t  *sub;
    char              sub_path[256];

    if (path[0] != '\0' && strcmp(path, "condition") != 0) {
        fprintf(fp, "\n#### `%s`\n", path);
    } else if (path[0] == '\0') {
        fputs("\n#### The top level\n", fp);
    }
    fputs("\n| key | type | default | meaning |\n|---|---|---|---|\n", fp);
    for (c = cmds; c->name != NULL; c++) {
        fprintf(fp, "| `%s` | ", c->name);
        cfg_doc_type(fp, c);
        fprintf(fp, " | %s%s%s | %s |\n", c->dflt ? "`" : "",
                c->dflt ? c->dflt : "", c->dflt ? "`" : "",
                c->help ? c->help : "");
    }

    for (c = cmds; c->name != NULL; c++) {
        if (c->type != CFG_T_MAP && c->type != CFG_T_LIST) {
            continue;
        }
        sub = c->post;
        snprintf(sub_path, sizeof(sub_path), "%s%s%s%s", path,
                 path[0] ? "." : "", c->name,
                 c->type == CFG_T_LIST ? "[]" : "");
        cfg_doc_table(fp, sub_path, sub->cmds);
    }
}


/* The type of cmd in words, "required" added. */
static void
cfg_doc_type(FILE *fp, const cfg_cmd_t *cmd)
{
    static const char *names[] = {
        [CFG_T_BOOL] = "true or false",
        [CFG_T_UINT] = "integer",
        [CFG_T_SIZE] = "bytes",
        [CFG_T_POSITIVE] = "number > 0",
        [CFG_T_DURATION] = "duration",
        [CFG_T_STR] = "string",
        [CFG_T_STRS] = "list of strings",
        [CFG_T_VAR] = "variable",
        [CFG_T_NAME] = "name",
        [CFG_T_MAP] = "map",
        [CFG_T_LIST] = "list of maps"
    };
    const cfg_enum_t  *e;

    if (cmd->type == CFG_T_ENUM) {
        for (e = cmd->post; e->name != NULL; e++) {
            fprintf(fp, "%s`%s`", e == cmd->post ? "" : ", ", e->name);
        }
    } else if (cmd->type == CFG_T_CUSTOM) {
        fputs(cmd->tname ? cmd->tname : "", fp);
    } else {
        fputs(names[cmd->type], fp);
    }
    if (cmd->type == CFG_T_UINT && cmd->max != 0) {
        fprintf(fp, " %llu..%llu", (unsigned long long) cmd->min,
                (unsigned long long) cmd->max);
    }
    if (cmd->flags & CFG_ONE_OR_LIST) {
        fputs(" (or one string)", fp);
    }
    if (cmd->flags & CFG_REQUIRED) {
        fputs(", required", fp);
    }
}
