/* log.c - Levelled logfmt logger writing to stderr. */

#include "lib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


static log_level_t  log_level = LOG_INFO;
static const char  *log_names[] = { "debug", "info", "warn", "error" };


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


void
log_msg(log_level_t level, const char *fmt, ...)
{
    char            msg[1024], line[1400];
    struct timeval  tv;
    struct tm       tm;
    va_list         ap;
    size_t          n, i;

    if (level < log_level) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t) snprintf(line + n, sizeof(line) - n, ".%03dZ level=%s msg=\"",
                           (int) (tv.tv_usec / 1000), log_names[level]);

    /* logfmt: quote the message, escaping quotes, backslashes, newlines. */
    for (i = 0; msg[i] != '\0' && n + 4 < sizeof(line); i++) {
        if (msg[i] == '"' || msg[i] == '\\') {
            line[n++] = '\\';
            line[n++] = msg[i];
        } else if (msg[i] == '\n') {
            line[n++] = '\\';
            line[n++] = 'n';
        } else {
            line[n++] = msg[i];
        }
    }
    line[n++] = '"';
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report it. */
    }
}
