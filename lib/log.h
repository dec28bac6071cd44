/* log.h - Levelled logger writing to stderr, logfmt or JSON.
 *
 * One line per event, in the format --log.format chose:
 *
 *   ts=2026-11-20T22:00:00.000Z level=info msg="table loaded" path=/d/t.csv rows=12
 *   {"ts":"2026-11-20T22:00:00.000Z","level":"info","msg":"table loaded","path":"/d/t.csv","rows":12}
 *
 * The message is a constant sentence; what varies (paths, counts,
 * offsets, errors) goes in keys, so that a log pipeline can filter on
 * them.  log_info_kv() and friends take the keys as LOG_STR(), LOG_U64(),
 * LOG_I64(), LOG_F64() items, checked by the compiler:
 *
 *   log_info_kv("dimension table loaded", LOG_STR("table", name),
 *               LOG_STR("path", path), LOG_U64("rows", n));
 *
 * log_info() and friends (printf) remain for messages without keys.
 * Never one log line per log line read: callers log state changes and
 * count repeated events in metrics instead. */

#ifndef GWLOG_LOG_H
#define GWLOG_LOG_H

#include <stddef.h>
#include <stdint.h>


/* Types */

typedef enum {
    LOG_DEBUG = 0,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR
} log_level_t;

typedef enum {
    LOG_LOGFMT = 0,
    LOG_JSON
} log_format_t;

typedef enum {
    LOG_KV_STR = 0,
    LOG_KV_U64,
    LOG_KV_I64,
    LOG_KV_F64
} log_kv_type_t;

/* One key of a structured line; the key and a string value are borrowed
 * for the duration of the call. */
typedef struct {
    const char          *key;
    log_kv_type_t        type;
    union {
        const char      *s;             /* NULL is written as "" */
        uint64_t         u;
        int64_t          i;
        double           f;
    } v;
} log_kv_t;


/* Macros */

#define LOG_STR(k, x)   { .key = (k), .type = LOG_KV_STR, .v.s = (x) }
#define LOG_U64(k, x)   { .key = (k), .type = LOG_KV_U64, .v.u = (x) }
#define LOG_I64(k, x)   { .key = (k), .type = LOG_KV_I64, .v.i = (x) }
#define LOG_F64(k, x)   { .key = (k), .type = LOG_KV_F64, .v.f = (x) }

#define LOG_KVS(...)                                                        \
    (const log_kv_t []) { __VA_ARGS__ },                                    \
    sizeof((const log_kv_t []) { __VA_ARGS__ }) / sizeof(log_kv_t)

#define log_debug_kv(msg, ...)  log_kv(LOG_DEBUG, msg, LOG_KVS(__VA_ARGS__))
#define log_info_kv(msg, ...)   log_kv(LOG_INFO, msg, LOG_KVS(__VA_ARGS__))
#define log_warn_kv(msg, ...)   log_kv(LOG_WARN, msg, LOG_KVS(__VA_ARGS__))
#define log_error_kv(msg, ...)  log_kv(LOG_ERROR, msg, LOG_KVS(__VA_ARGS__))

#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...)  log_msg(LOG_ERROR, __VA_ARGS__)


/* Prototypes */

/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int log_level_parse(const char *s);

void log_set_level(log_level_t level);

/* Parses "logfmt|json"; returns -1 when unknown. */
int log_format_parse(const char *s);

void log_set_format(log_format_t format);

/* Logs msg (printf format) at level; thread-safe (one write per line). */
void log_msg(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs msg (not a format) with n keys at level; thread-safe.  A line is
 * at most 4 KiB: a longer one is cut at a whole character or escape and
 * stays valid logfmt or JSON. */
void log_kv(log_level_t level, const char *msg, const log_kv_t *kv,
    size_t n);

/* "SIGTERM" for SIGTERM, "SIG42" for a number without a name. */
const char *log_signal_name(int sig, char *buf, size_t len);

#endif /* GWLOG_LOG_H */
