/* tester.c - The line tester's driver and its check mode (tester.h).
 *
 * Allocation: the output is kept in a buf_t (aborts on OOM, lib/buf) to
 * compare it with the expected file; a file that cannot be read is a
 * failure with its reason. */

#include "exporter/tester.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"


#define SHOW_BYTES  200     /* of each line, in its "line N:" header */

static pipeline_verdict_t explain_one(pipeline_t *pipe, size_t n,
    const char *line, size_t len, FILE *out, buf_t *got);
static int compare(const char *path, const buf_t *got, FILE *err);
static int read_all(const char *path, buf_t *b);
static size_t line_len(const char *p, size_t len, size_t at);
static void show_line(FILE *err, const char *what, const char *p,
    size_t len);

static const char  *verdicts[] = { "ok", "invalid", "filtered" };


int
tester_parse_fail_on(const char *list, unsigned *out)
{
    const char  *p = list;
    size_t       n;

    *out = 0;
    for (;;) {
        n = strcspn(p, ",");
        if (n == 7 && strncmp(p, "invalid", n) == 0) {
            *out |= TESTER_FAIL_INVALID;
        } else if (n == 8 && strncmp(p, "filtered", n) == 0) {
            *out |= TESTER_FAIL_FILTERED;
        } else {
            return -1;
        }
        if (p[n] == '\0') {
            return 0;
        }
        p += n + 1;
    }
}


int
tester_run(pipeline_t *pipe, const tester_opts_t *o, FILE *out, FILE *err)
{
    pipeline_verdict_t  v;
    buf_t               got = { NULL, 0, 0 };
    char               *line = NULL;
    size_t              cap = 0, n = 0;
    ssize_t             len;
    unsigned            bad = 0;
    int                 rc = 0;

    for (;;) {
        if (o->line != NULL) {
            if (n == 1) {
                break;
            }
            v = explain_one(pipe, ++n, o->line, strlen(o->line), out, &got);
        } else {
            len = getline(&line, &cap, o->in);
            if (len < 0) {
                break;
            }
            if (len > 0 && line[len - 1] == '\n') {
                len--;
            }
            v = explain_one(pipe, ++n, line, (size_t) len, out, &got);
        }
        if ((v == PIPELINE_INVALID && (o->fail_on & TESTER_FAIL_INVALID))
            || (v == PIPELINE_FILTERED
                && (o->fail_on & TESTER_FAIL_FILTERED)))
        {
            fprintf(err, "line %zu: %s (--test-fail-on)\n", n, verdicts[v]);
            bad++;
        }
    }
    free(line);
    if (bad > 0) {
        fprintf(err, "%u of %zu lines failed --test-fail-on\n", bad, n);
        rc = 1;
    }
    if (o->expect != NULL && compare(o->expect, &got, err) != 0) {
        rc = 1;
    }
    buf_free(&got);
    return rc;
}


/* Explains line n on out, keeping a copy of the text in got. */
static pipeline_verdict_t
explain_one(pipeline_t *pipe, size_t n, const char *line, size_t len,
    FILE *out, buf_t *got)
{
    pipeline_verdict_t  v;
    size_t              start = got->len;
    char               *text = NULL;
    size_t              tlen = 0;
    FILE               *mem;

    buf_printf(got, "%sline %zu: %.*s\n", n > 1 ? "\n" : "", n,
               len > SHOW_BYTES ? SHOW_BYTES : (int) len, line);
    mem = open_memstream(&text, &tlen);
    if (mem == NULL) {
        /* Without a stream to compare, explain straight onto out. */
        fwrite(got->p + start, 1, got->len - start, out);
        return pipeline_explain(pipe, 0, line, len, out);
    }
    v = pipeline_explain(pipe, 0, line, len, mem);
    fclose(mem);
    buf_append(got, text, tlen);
    free(text);
    fwrite(got->p + start, 1, got->len - start, out);
    return v;
}


/* Compares the tester's output with the file at path; on a difference,
 * shows the first line that differs. */
static int
compare(const char *path, const buf_t *got, FILE *err)
{
    buf_t        want = { NULL, 0, 0 };
    size_t       i = 0, lineno = 1, a, b;
    const char  *g = got->len ? got->p : "", *w;

    if (read_all(path, &want) != 0) {
        fprintf(err, "%s: %s\n", path, strerror(errno));
        buf_free(&want);
        return -1;
    }
    w = want.len ? want.p : "";
    if (want.len == got->len && memcmp(w, g, got->len) == 0) {
        buf_free(&want);
        return 0;
    }
    /* The first line that differs: i is where it starts in both. */
    for (;;) {
        a = line_len(w, want.len, i);
        b = line_len(g, got->len, i);
        if (a != b || memcmp(w + i, g + i, a) != 0) {
            break;
        }
        i += a + 1;
        lineno++;
        if (i >= want.len || i >= got->len) {
            break;
        }
    }
    fprintf(err, "%s:%zu: the output differs from the expected one\n", path,
            lineno);
    show_line(err, "expected", i < want.len ? w + i : NULL,
              line_len(w, want.len, i));
    show_line(err, "got     ", i < got->len ? g + i : NULL,
              line_len(g, got->len, i));
    buf_free(&want);
    return -1;
}


static int
read_all(const char *path, buf_t *b)
{
    char    chunk[65536];
    size_t  n;
    FILE   *f;
    int     rc;

    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        buf_append(b, chunk, n);
    }
    rc = ferror(f) ? -1 : 0;
    if (rc != 0) {
        errno = EIO;
    }
    fclose(f);
    return rc;
}


/* The bytes of the line starting at at, without its newline. */
static size_t
line_len(const char *p, size_t len, size_t at)
{
    const char  *nl;

    if (at >= len) {
        return 0;
    }
    nl = memchr(p + at, '\n', len - at);
    return nl != NULL ? (size_t) (nl - (p + at)) : len - at;
}


static void
show_line(FILE *err, const char *what, const char *p, size_t len)
{
    if (p == NULL) {
        fprintf(err, "  %s: (end of output)\n", what);
        return;
    }
    fprintf(err, "  %s: %.*s\n", what, (int) len, p);
}
