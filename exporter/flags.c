/* flags.c - The flag table and what it drives (see flags.h).
 *
 * Each flag is declared once, in flags[]: its name, its argument, where it
 * goes in opts_t, its default and its help.  getopt_long()'s options,
 * --help and the man page's OPTIONS section are all made from it, so they
 * cannot drift apart.  A default is text, set through the same setter as
 * a value given on the command line.
 */

#include "exporter/flags.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "revision.h"
#include "config/config.h"
#include "exporter/tester.h"
#include "lib/log.h"


/* Types */

typedef enum {
    FLAG_STR = 0,           /* const char * */
    FLAG_URL_PATH,          /* const char *, starting with "/" */
    FLAG_STRS,              /* repeatable: char ** + size_t count */
    FLAG_SWITCH,            /* int set to 1, no argument */
    FLAG_COUNT,             /* unsigned, min..1000000 */
    FLAG_LOG_LEVEL,         /* log_set_level() */
    FLAG_VERDICTS,          /* unsigned: tester_parse_fail_on() */
    FLAG_LOG_FORMAT,        /* log_set_format() */
    FLAG_VERSION,           /* informational: print, then exit 0 */
    FLAG_HELP,
    FLAG_HELP_CONFIG,
    FLAG_HELP_MAN
} flag_type_t;

typedef struct {
    const char      *name;          /* without the leading "--" */
    char             short_name;    /* or 0 */
    const char      *arg;           /* metavariable; NULL: no argument */
    flag_type_t      type;
    size_t           offset;        /* member of opts_t */
    size_t           count;         /* FLAG_STRS: the size_t count */
    const char      *dflt;          /* text set before argv, or NULL */
    unsigned         min;           /* FLAG_COUNT: smallest value */
    const char      *help;
} flag_t;


/* Macros */

#define FLAG_COUNT_MAX  1000000
#define FLAG_VAL_BASE   256         /* getopt values: FLAG_VAL_BASE + index */
#define USAGE_INDENT    29
#define USAGE_WIDTH     78

#define opt(field)      offsetof(opts_t, field)


/* Static prototypes */

static int flag_set(const flag_t *f, const char *arg, opts_t *o);
static void usage_wrap(FILE *fp, const char *text, size_t col);
static void man_text(FILE *fp, const char *text);


/* The flags, in the order --help and the man page show them.  The
 * default of a repeatable flag is replaced by the first value given. */

static const flag_t  flags[] = {
    { "config.file", 0, "FILE", FLAG_STR, opt(config_file), 0, NULL, 0,
      "YAML configuration: inputs, fields, required fields, filters, "
      "dimension tables, metric families (--help-config lists every key). "
      "Without it, the embedded copy of config/gwlog_exporter.yml is "
      "used." },
    { "web.listen-address", 0, "ADDR", FLAG_STRS, opt(listen_addresses),
      opt(nlisten_addresses), ":3913", 0,
      "Address to serve on: HOST:PORT, :PORT (every interface, IPv4 and "
      "IPv6) or [V6]:PORT. Repeatable: every address is served." },
    { "web.systemd-socket", 0, NULL, FLAG_SWITCH, opt(systemd_socket), 0,
      NULL, 0,
      "Serve on the listening sockets systemd passes (socket activation: "
      "LISTEN_FDS, LISTEN_PID) instead of --web.listen-address." },
    { "web.telemetry-path", 0, "PATH", FLAG_URL_PATH, opt(telemetry_path), 0,
      "/metrics", 0,
      "Path of the metrics, starting with /. The path / is a status page "
      "linking to it." },
    { "web.enable-lifecycle", 0, NULL, FLAG_SWITCH, opt(lifecycle), 0, NULL,
      0, "Allow POST /-/reload (SIGHUP always reloads)." },
    { "web.config.file", 0, "FILE", FLAG_STR, opt(web_config), 0, NULL, 0,
      "TLS, mTLS and basic auth, in exporter-toolkit's format "
      "(tls_server_config, basic_auth_users); reread when it changes." },
    { "web.max-requests", 0, "N", FLAG_COUNT, opt(max_requests), 0, "40", 0,
      "Scrapes served at once; beyond, 503. 0: no limit." },
    { "web.max-connections", 0, "N", FLAG_COUNT, opt(max_connections), 0,
      "1024", 1,
      "Connections at once; beyond, the oldest one waiting for a request "
      "is closed." },
    { "web.connection-timeout", 0, "S", FLAG_COUNT, opt(conn_timeout), 0,
      "10", 1,
      "Seconds a connection may take to send a request header, and stay "
      "idle in a request." },
    { "input.path", 0, "GLOB", FLAG_STRS, opt(input_paths),
      opt(ninput_paths), NULL, 0,
      "A file or glob to follow; repeatable. Replaces the paths of the "
      "configuration's first input (its format is kept) and drops the "
      "other inputs." },
    { "dims.dir", 0, "DIR", FLAG_STR, opt(dims_dir), 0, NULL, 0,
      "Directory of the dimension CSV files; replaces dimensions.dir." },
    { "dims.redis", 0, "ADDR", FLAG_STR, opt(dims_redis), 0, NULL, 0,
      "Read the dimension tables from this Redis, HOST:PORT or a unix "
      "socket path, instead of the configuration's backend." },
    { "state.dir", 0, "DIR", FLAG_STR, opt(state_dir), 0, NULL, 0,
      "Where checkpoints of file offsets and counter values are written, "
      "so that a restart resumes exactly; created, with its parents, if "
      "missing." },
    { "one-shot", 0, NULL, FLAG_SWITCH, opt(one_shot), 0, NULL, 0,
      "Read every input from its start to its end, print the exposition "
      "on stdout, exit." },
    { "check-config", 0, NULL, FLAG_SWITCH, opt(check_config), 0, NULL, 0,
      "Validate the configuration and exit: 0, or 1 with file:line: "
      "reason." },
    { "test-line", 0, "LINE", FLAG_STR, opt(test_line), 0, NULL, 0,
      "Show what the configuration does with LINE: fields, filter verdict, "
      "dimension lookups, the series it would increment; then exit." },
    { "test-lines", 0, NULL, FLAG_SWITCH, opt(test_lines), 0, NULL, 0,
      "The same as --test-line for every line read from stdin." },
    { "test-expect", 0, "FILE", FLAG_STR, opt(test_expect), 0, NULL, 0,
      "With --test-line(s): exit 1 unless the output is FILE's (a reviewed "
      "earlier run), naming the first line that differs as FILE:N." },
    { "test-fail-on", 0, "LIST", FLAG_VERDICTS, opt(test_fail_on), 0, NULL,
      0, "With --test-line(s): exit 1 when a line's verdict is in LIST "
      "(invalid, filtered), naming each such line." },
    { "log.level", 0, "LEVEL", FLAG_LOG_LEVEL, 0, 0, "info", 0,
      "debug, info, warn or error. Logs go to stderr." },
    { "log.format", 0, "FORMAT", FLAG_LOG_FORMAT, 0, 0, "logfmt", 0,
      "logfmt or json: one line per event, its message constant, paths, "
      "counts and errors in keys (path=, rows=, err=...)." },
    { "help-config", 0, NULL, FLAG_HELP_CONFIG, 0, 0, NULL, 0,
      "Print the reference of every configuration key (Markdown) and "
      "exit." },
    { "help-man", 0, NULL, FLAG_HELP_MAN, 0, 0, NULL, 0,
      "Print the OPTIONS section of the man page (roff) and exit." },
    { "version", 0, NULL, FLAG_VERSION, 0, 0, NULL, 0,
      "Print the version and exit." },
    { "help", 'h', NULL, FLAG_HELP, 0, 0, NULL, 0,
      "Print this help and exit." },
};

#define NFLAGS  (sizeof(flags) / sizeof(flags[0]))


/* Public functions */

int
flags_parse(int argc, char **argv, opts_t *o)
{
    struct option  longs[NFLAGS + 1];
    unsigned char  dflt_only[NFLAGS];
    size_t         i;
    int            c, rc;

    memset(o, 0, sizeof(*o));
    memset(longs, 0, sizeof(longs));
    memset(dflt_only, 0, sizeof(dflt_only));
    for (i = 0; i < NFLAGS; i++) {
        longs[i].name = flags[i].name;
        longs[i].has_arg = flags[i].arg ? required_argument : no_argument;
        longs[i].val = FLAG_VAL_BASE + (int) i;
        if (flags[i].dflt != NULL
            && flag_set(&flags[i], flags[i].dflt, o) != FLAGS_OK)
        {
            return FLAGS_ERROR;     /* a bad default: a bug, said */
        }
        dflt_only[i] = flags[i].dflt != NULL && flags[i].type == FLAG_STRS;
    }

    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        for (i = 0; c < FLAG_VAL_BASE && i < NFLAGS; i++) {
            if (flags[i].short_name != 0 && flags[i].short_name == c) {
                c = FLAG_VAL_BASE + (int) i;
            }
        }
        if (c < FLAG_VAL_BASE || c >= FLAG_VAL_BASE + (int) NFLAGS) {
            flags_usage(stderr);
            return FLAGS_ERROR;
        }
        i = (size_t) (c - FLAG_VAL_BASE);
        if (dflt_only[i]) {
            /* The first value given replaces the default. */
            *(size_t *) ((char *) o + flags[i].count) = 0;
            dflt_only[i] = 0;
        }
        rc = flag_set(&flags[i], optarg, o);
        if (rc != FLAGS_OK) {
            return rc;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gwlog_exporter: unexpected argument \"%s\"\n",
                argv[optind]);
        return FLAGS_ERROR;
    }
    if ((o->test_expect != NULL || o->test_fail_on != 0)
        && o->test_line == NULL && !o->test_lines)
    {
        fprintf(stderr, "gwlog_exporter: --test-expect and --test-fail-on "
                "go with --test-line or --test-lines\n");
        return FLAGS_ERROR;
    }
    return FLAGS_OK;
}


void
flags_free(opts_t *o)
{
    free(o->input_paths);
    o->input_paths = NULL;
    o->ninput_paths = 0;
    free(o->listen_addresses);
    o->listen_addresses = NULL;
    o->nlisten_addresses = 0;
}


void
flags_usage(FILE *fp)
{
    const flag_t  *f;
    char           head[64], short_name[8];
    size_t         len;

    fputs("Usage: gwlog_exporter [FLAGS]\n\n"
          "Turns API-gateway access logs into Prometheus metrics.\n\n"
          "Flags:\n", fp);
    for (f = flags; f < flags + NFLAGS; f++) {
        short_name[0] = '\0';
        if (f->short_name != 0) {
            snprintf(short_name, sizeof(short_name), "-%c, ", f->short_name);
        }
        len = (size_t) snprintf(head, sizeof(head), "  %s--%s%s%s",
                                short_name, f->name, f->arg ? "=" : "",
                                f->arg ? f->arg : "");
        fputs(head, fp);
        if (len + 1 >= USAGE_INDENT) {
            fputc('\n', fp);
            len = 0;
        }
        fprintf(fp, "%*s", (int) (USAGE_INDENT - len), "");
        usage_wrap(fp, f->help, USAGE_INDENT);
        if (f->dflt != NULL) {
            fprintf(fp, "%*s(default \"%s\")\n", USAGE_INDENT, "", f->dflt);
        }
    }
}


void
flags_man(FILE *fp)
{
    const flag_t  *f;

    for (f = flags; f < flags + NFLAGS; f++) {
        fputs(".TP\n", fp);
        if (f->short_name) {
            fprintf(fp, ".BR \\-%c \", \" ", f->short_name);
        } else {
            fputs(f->arg ? ".BR " : ".B ", fp);
        }
        fputs("\\-\\-", fp);
        man_text(fp, f->name);
        if (f->arg != NULL) {
            fprintf(fp, " =\\fI%s\\fR", f->arg);
        }
        fputc('\n', fp);
        man_text(fp, f->help);
        if (f->dflt != NULL) {
            fputs("\nDefault: ", fp);
            man_text(fp, f->dflt);
            fputc('.', fp);
        }
        fputc('\n', fp);
    }
}


/* Static functions */

/* Sets what f says from arg (a value of argv or f's default).  Returns
 * FLAGS_OK, FLAGS_ERROR with a message, or FLAGS_EXIT. */
static int
flag_set(const flag_t *f, const char *arg, opts_t *o)
{
    char           *p = (char *) o + f->offset;
    char          **strs, *end;
    size_t         *n;
    unsigned long   v;
    int             level;

    switch (f->type) {

    case FLAG_URL_PATH:
        if (arg[0] != '/') {
            fprintf(stderr, "gwlog_exporter: --%s must start with \"/\"\n",
                    f->name);
            return FLAGS_ERROR;
        }
        /* fall through */
    case FLAG_STR:
        *(const char **) p = arg;
        return FLAGS_OK;

    case FLAG_STRS:
        n = (size_t *) ((char *) o + f->count);
        strs = realloc(*(char ***) p, (*n + 1) * sizeof(char *));
        if (strs == NULL) {
            fprintf(stderr, "gwlog_exporter: out of memory\n");
            return FLAGS_ERROR;
        }
        strs[(*n)++] = (char *) arg;
        *(char ***) p = strs;
        return FLAGS_OK;

    case FLAG_SWITCH:
        *(int *) p = 1;
        return FLAGS_OK;

    case FLAG_COUNT:
        errno = 0;
        v = strtoul(arg, &end, 10);
        if (arg[0] == '\0' || arg[0] == '-' || *end != '\0' || errno != 0
            || v > FLAG_COUNT_MAX || v < f->min)
        {
            fprintf(stderr, "gwlog_exporter: --%s: expected a whole number, "
                    "got \"%s\"\n", f->name, arg);
            return FLAGS_ERROR;
        }
        *(unsigned *) p = (unsigned) v;
        return FLAGS_OK;

    case FLAG_LOG_LEVEL:
        level = log_level_parse(arg);
        if (level < 0) {
            fprintf(stderr, "gwlog_exporter: --%s: unknown level \"%s\" "
                    "(debug, info, warn, error)\n", f->name, arg);
            return FLAGS_ERROR;
        }
        log_set_level((log_level_t) level);
        return FLAGS_OK;

    case FLAG_VERDICTS:
        if (tester_parse_fail_on(arg, (unsigned *) p) != 0) {
            fprintf(stderr, "gwlog_exporter: --%s: expected a list of "
                    "invalid, filtered; got \"%s\"\n", f->name, arg);
            return FLAGS_ERROR;
        }
        return FLAGS_OK;

    case FLAG_LOG_FORMAT:
        level = log_format_parse(arg);
        if (level < 0) {
            fprintf(stderr, "gwlog_exporter: --%s: unknown format \"%s\" "
                    "(logfmt, json)\n", f->name, arg);
            return FLAGS_ERROR;
        }
        log_set_format((log_format_t) level);
        return FLAGS_OK;

    case FLAG_VERSION:
        printf("gwlog_exporter version %s (revision %s)\n", GWLOG_VERSION,
               GWLOG_REVISION);
        return FLAGS_EXIT;

    case FLAG_HELP:
        flags_usage(stdout);
        return FLAGS_EXIT;

    case FLAG_HELP_CONFIG:
        config_reference(stdout);
        return FLAGS_EXIT;

    case FLAG_HELP_MAN:
        flags_man(stdout);
        return FLAGS_EXIT;
    }
    return FLAGS_ERROR;
}


/* Prints text wrapped at USAGE_WIDTH, continuation lines indented to col
 * (the first line is assumed to start there). */
static void
usage_wrap(FILE *fp, const char *text, size_t col)
{
    const char  *word, *end;
    size_t       at, len;

    at = col;
    for (word = text; *word != '\0'; word = end) {
        while (*word == ' ') {
            word++;
        }
        end = word;
        while (*end != '\0' && *end != ' ') {
            end++;
        }
        len = (size_t) (end - word);
        if (len == 0) {
            break;
        }
        if (at > col && at + 1 + len > USAGE_WIDTH) {
            fprintf(fp, "\n%*s", (int) col, "");
            at = col;
        }
        if (at > col) {
            fputc(' ', fp);
            at++;
        }
        fwrite(word, 1, len, fp);
        at += len;
    }
    fputc('\n', fp);
}


/* Writes text for roff: backslashes and minus signs escaped. */
static void
man_text(FILE *fp, const char *text)
{
    for ( ; *text != '\0'; text++) {
        if (*text == '\\') {
            fputs("\\e", fp);
        } else if (*text == '-') {
            fputs("\\-", fp);
        } else {
            fputc(*text, fp);
        }
    }
}
