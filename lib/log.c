/* log.c - Levelled logger writing to stderr, logfmt or JSON (see log.h). */

#include "lib/log.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


/* Types */

/* A line being built: appends that do not fit whole are refused and mark
 * it full, so that it can still be closed ("\"}\n"). */
typedef struct {
    char     p[4096];
    size_t   n;
    int      full;
} line_t;


/* Macros */

#define LINE_RESERVE    4           /* room kept for the closing "}\n */


/* Static prototypes */

static void put(line_t *l, const char *s, size_t len);
static void put_str(line_t *l, const char *s);
static void put_quoted(line_t *l, const char *s);
static void put_value(line_t *l, const char *s);
static void put_key(line_t *l, const char *key);
static void put_kv(line_t *l, const log_kv_t *kv);
static void emit(log_level_t level, const char *msg, const log_kv_t *kv,
    size_t n);


static log_level_t   log_level = LOG_INFO;
static log_format_t  log_format = LOG_LOGFMT;
static const char   *log_names[] = { "debug", "info", "warn", "error" };
static const char   *format_names[] = { "logfmt", "json" };

static const struct {
    int          sig;
    const char  *name;
} signal_names[] = {
    { SIGHUP, "SIGHUP" }, { SIGINT, "SIGINT" }, { SIGQUIT, "SIGQUIT" },
    { SIGILL, "SIGILL" }, { SIGABRT, "SIGABRT" }, { SIGBUS, "SIGBUS" },
    { SIGFPE, "SIGFPE" }, { SIGKILL, "SIGKILL" }, { SIGUSR1, "SIGUSR1" },
    { SIGSEGV, "SIGSEGV" }, { SIGUSR2, "SIGUSR2" }, { SIGPIPE, "SIGPIPE" },
    { SIGALRM, "SIGALRM" }, { SIGTERM, "SIGTERM" }, { SIGCHLD, "SIGCHLD" },
    { SIGCONT, "SIGCONT" }, { SIGSTOP, "SIGSTOP" }, { SIGTSTP, "SIGTSTP" },
};


int
log_level_parse(const char *s)
{
    int  i;

    for (i = 0; i < 4; i++) {
        if (strcmp(s, log_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}


void
log_set_level(log_level_t level)
{
    log_level = level;
}


int
log_format_parse(const char *s)
{
    int  i;

    for (i = 0; i < 2; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}


void
log_set_format(log_format_t format)
{
    log_format = format;
}


void
log_msg(log_level_t level, const char *fmt, ...)
{
    char     msg[1024];
    va_list  ap;

    if (level < log_level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(level, msg, NULL, 0);
}


void
log_kv(log_level_t level, const char *msg, const log_kv_t *kv, size_t n)
{
    if (level < log_level) {
        return;
    }
    emit(level, msg, kv, n);
}


const char *
log_signal_name(int sig, char *buf, size_t len)
{
    size_t  i;

    for (i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
        if (signal_names[i].sig == sig) {
            return signal_names[i].name;
        }
    }
    snprintf(buf, len, "SIG%d", sig);
    return buf;
}


/* Static functions */

/* ts, level, msg, then the keys, in the current format; one write(). */
static void
emit(log_level_t level, const char *msg, const log_kv_t *kv, size_t n)
{
    line_t          l;
    char            ts[40];
    struct timeval  tv;
    struct tm       tm;
    size_t          i, len;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    len = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + len, sizeof(ts) - len, ".%03dZ", (int) (tv.tv_usec / 1000));

    l.n = 0;
    l.full = 0;
    if (log_format == LOG_JSON) {
        put(&l, "{\"ts\":\"", 7);
        put_str(&l, ts);
        put(&l, "\",\"level\":\"", 11);
        put_str(&l, log_names[level]);
        put(&l, "\",\"msg\":", 8);
    } else {
        put(&l, "ts=", 3);
        put_str(&l, ts);
        put(&l, " level=", 7);
        put_str(&l, log_names[level]);
        put(&l, " msg=", 5);
    }
    put_quoted(&l, msg);
    for (i = 0; i < n; i++) {
        put_kv(&l, &kv[i]);
    }
    if (log_format == LOG_JSON) {
        l.p[l.n++] = '}';
    }
    l.p[l.n++] = '\n';
    if (write(STDERR_FILENO, l.p, l.n) < 0) {
        /* Nowhere left to report it. */
    }
}


/* Appends len bytes, or nothing (and marks the line full) when they do
 * not fit before the reserve. */
static void
put(line_t *l, const char *s, size_t len)
{
    if (l->full || l->n + len + LINE_RESERVE > sizeof(l->p)) {
        l->full = 1;
        return;
    }
    memcpy(l->p + l->n, s, len);
    l->n += len;
}


static void
put_str(line_t *l, const char *s)
{
    put(l, s, strlen(s));
}


/* A quoted string: logfmt escapes quotes, backslashes and newlines; JSON
 * also every control character.  Cut at a whole escape; the closing
 * quote always fits (LINE_RESERVE). */
static void
put_quoted(line_t *l, const char *s)
{
    char  esc[8];

    if (l->full) {
        return;
    }
    l->p[l->n++] = '"';
    for ( ; s != NULL && *s != '\0' && !l->full; s++) {
        unsigned char  c = (unsigned char) *s;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char) c;
            put(l, esc, 2);
        } else if (c == '\n') {
            put(l, "\\n", 2);
        } else if (c < 0x20 && log_format == LOG_JSON) {
            if (c == '\t') {
                put(l, "\\t", 2);
            } else if (c == '\r') {
                put(l, "\\r", 2);
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                put(l, esc, 6);
            }
        } else {
            put(l, (const char *) &c, 1);
        }
    }
    l->p[l->n++] = '"';
}


/* A string value: JSON always quotes; logfmt only when needed (empty,
 * spaces, '=', quotes, backslashes or control characters). */
static void
put_value(line_t *l, const char *s)
{
    const char  *p;

    if (s == NULL) {
        s = "";
    }
    if (log_format == LOG_LOGFMT && *s != '\0') {
        for (p = s; *p != '\0'; p++) {
            if ((unsigned char) *p <= ' ' || *p == '=' || *p == '"'
                || *p == '\\' || *p == 0x7f)
            {
                break;
            }
        }
        if (*p == '\0') {
            put_str(l, s);
            return;
        }
    }
    put_quoted(l, s);
}


static void
put_key(line_t *l, const char *key)
{
    if (log_format == LOG_JSON) {
        put(l, ",", 1);
        put_quoted(l, key);
        put(l, ":", 1);
    } else {
        put(l, " ", 1);
        put_str(l, key);
        put(l, "=", 1);
    }
}


/* One key and its value.  A key is written only with its whole value (a
 * number) or with an opening quote, so a cut line stays valid. */
static void
put_kv(line_t *l, const log_kv_t *kv)
{
    char    num[40], *end;
    size_t  save = l->n;

    switch (kv->type) {
    case LOG_KV_STR:
        put_key(l, kv->key);
        if (l->full) {
            l->n = save;                /* no key without its value */
            return;
        }
        put_value(l, kv->v.s);
        break;
    case LOG_KV_U64:
        snprintf(num, sizeof(num), "%" PRIu64, kv->v.u);
        put_key(l, kv->key);
        put_str(l, num);
        break;
    case LOG_KV_I64:
        snprintf(num, sizeof(num), "%" PRId64, kv->v.i);
        put_key(l, kv->key);
        put_str(l, num);
        break;
    case LOG_KV_F64:
        if (isnan(kv->v.f)) {
            strcpy(num, "NaN");
        } else if (isinf(kv->v.f)) {
            strcpy(num, kv->v.f > 0 ? "+Inf" : "-Inf");
        } else {
            /* The shortest of %.15g and %.17g that reads back exactly. */
            snprintf(num, sizeof(num), "%.15g", kv->v.f);
            if (strtod(num, &end) != kv->v.f) {
                snprintf(num, sizeof(num), "%.17g", kv->v.f);
            }
        }
        put_key(l, kv->key);
        if (!isfinite(kv->v.f)) {
            put_value(l, num);          /* JSON has no NaN or Inf */
        } else {
            put_str(l, num);
        }
        break;
    }
    if (l->full && kv->type != LOG_KV_STR) {
        l->n = save;                    /* no key without its number */
    }
}
