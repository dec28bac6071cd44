/* flags.h - The command line: one table of flags drives getopt_long(),
 * --help and the OPTIONS section of the man page (deploy/gwlog_exporter.1,
 * kept equal to `gwlog_exporter --help-man` by tools/docs.py).
 *
 * Ownership: the strings in opts_t point into argv or into the table's
 * defaults (not owned), but for input_paths and listen_addresses, arrays
 * owned by the opts_t and freed by flags_free().
 */

#ifndef GWLOG_FLAGS_H
#define GWLOG_FLAGS_H

#include <stddef.h>
#include <stdio.h>


/* Types */

typedef struct {
    const char      *config_file;
    char           **listen_addresses;  /* owned, strings not owned */
    size_t           nlisten_addresses;
    int              systemd_socket;
    const char      *telemetry_path;
    char           **input_paths;       /* owned, strings not owned */
    size_t           ninput_paths;
    const char      *dims_dir;
    const char      *dims_redis;        /* --dims.redis: HOST:PORT */
    const char      *state_dir;
    int              one_shot;
    int              check_config;
    const char      *test_line;
    int              test_lines;
    const char      *test_expect;       /* --test-expect: FILE */
    unsigned         test_fail_on;      /* --test-fail-on: TESTER_* bits */
    int              lifecycle;
    const char      *web_config;
    unsigned         max_requests;
    unsigned         max_connections;
    unsigned         conn_timeout;
} opts_t;


/* Macros */

#define FLAGS_OK        0
#define FLAGS_ERROR     -1          /* a bad flag, reported on stderr */
#define FLAGS_EXIT      1           /* --help, --version...: printed, exit 0 */


/* Prototypes */

/* Sets o from the defaults of the table, then from argv (getopt_long).
 * Returns FLAGS_OK, FLAGS_ERROR after a message on stderr, or FLAGS_EXIT
 * after printing what an informational flag asked for. */
int flags_parse(int argc, char **argv, opts_t *o);

/* Frees what o owns (not o).  flags_free() on a zeroed opts_t is a no-op. */
void flags_free(opts_t *o);

/* Prints --help: usage, then every flag with its argument, default and
 * help text. */
void flags_usage(FILE *fp);

/* Prints the man page's OPTIONS section in roff, from the same table. */
void flags_man(FILE *fp);

#endif /* GWLOG_FLAGS_H */
