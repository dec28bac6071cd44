/* tester.h - The line tester's driver: --test-line and --test-lines, with
 * the check mode for CI (--test-expect, --test-fail-on).
 *
 * Each line goes through pipeline_explain(); the explanations are printed
 * on out.  The check mode compares them with a file of expected output (an
 * earlier run's, reviewed), and fails on the verdicts it is told to. */

#ifndef GWLOG_TESTER_H
#define GWLOG_TESTER_H

#include <stdio.h>

#include "exporter/pipeline.h"


/* Types */

typedef struct {
    const char      *line;          /* --test-line, or NULL: lines of in */
    FILE            *in;            /* not owned */
    const char      *expect;        /* --test-expect FILE, or NULL */
    unsigned         fail_on;       /* TESTER_FAIL_* */
} tester_opts_t;


/* Macros */

#define TESTER_FAIL_INVALID     0x01
#define TESTER_FAIL_FILTERED    0x02


/* Prototypes */

/* Parses --test-fail-on's LIST ("invalid", "filtered", comma-separated)
 * into *out; -1 on an unknown verdict. */
int tester_parse_fail_on(const char *list, unsigned *out);

/* Runs the line tester over o's lines, the explanations on out and the
 * check mode's findings on err.  Returns the exit status: 0, or 1 when
 * the output differs from o->expect (or it cannot be read) or a line's
 * verdict is in o->fail_on. */
int tester_run(pipeline_t *pipe, const tester_opts_t *o, FILE *out,
    FILE *err);

#endif /* GWLOG_TESTER_H */
