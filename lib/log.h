/* log.h - Levelled logfmt logger writing to stderr.
 *
 * One line per event: ts=2026-11-20T22:00:00.000Z level=info msg="...".
 * Never one log line per log line read: callers log state changes and
 * count repeated events in metrics instead. */

#ifndef GWLOG_LOG_H
#define GWLOG_LOG_H


/* Types */

typedef enum {
    LOG_DEBUG = 0,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR
} log_level_t;


/* Prototypes */

/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int log_level_parse(const char *s);

void log_set_level(log_level_t level);

/* Logs msg (printf format) at level; thread-safe (one write per line). */
void log_msg(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...)  log_msg(LOG_ERROR, __VA_ARGS__)

#endif /* GWLOG_LOG_H */
