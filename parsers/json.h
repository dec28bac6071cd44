/* json.h - Single-pass JSON scanner that extracts selected top-level keys.
 *
 * json_scan() validates one JSON text that must be an object (RFC 8259,
 * strict: no NaN/Infinity, no trailing commas, no control characters in
 * strings, no leading zeros) and, in the same pass, records where the
 * values of the wanted top-level keys are.  It builds no tree and does not
 * allocate: values are slices of the caller's buffer.  Nested objects and
 * arrays are skipped (a nested "Api" is never taken for the top-level one).
 * Keys are compared after unescaping ("Pro\u0064uct" is "Product").  When a
 * key occurs twice, the last occurrence wins (as in Python's json module).
 */

#ifndef GWLOG_JSON_H
#define GWLOG_JSON_H

#include <stddef.h>
#include <stdint.h>


/* Types */

typedef enum {
    JSON_ABSENT = 0,                /* key not present */
    JSON_STRING,                    /* p/len: between the quotes, raw */
    JSON_NUMBER,                    /* p/len: the number's text */
    JSON_TRUE,                      /* p/len: "true" */
    JSON_FALSE,                     /* p/len: "false" */
    JSON_NULL,                      /* p/len: "null" */
    JSON_OBJECT,                    /* p/len: from '{' to '}' inclusive */
    JSON_ARRAY                      /* p/len: from '[' to ']' inclusive */
} json_type_t;

typedef struct {
    const char     *p;
    size_t          len;
    json_type_t     type;
    int             escaped;        /* JSON_STRING: contains a backslash */
} json_val_t;

/* Why a text was refused.  Negative, so that 0 can mean success. */
typedef enum {
    JSON_OK = 0,
    JSON_ERR_EMPTY = -1,            /* nothing but whitespace */
    JSON_ERR_NOT_OBJECT = -2,       /* valid JSON, but not an object */
    JSON_ERR_TRUNCATED = -3,        /* input ended before the text did */
    JSON_ERR_SYNTAX = -4,           /* anything else that is not JSON */
    JSON_ERR_TOO_DEEP = -5          /* nesting beyond JSON_MAX_DEPTH */
} json_err_t;

/* A compiled set of wanted keys; opaque. */
typedef struct json_keys json_keys_t;


/* Macros */

#define JSON_MAX_DEPTH  512             /* the top-level object is 1 */


/* Prototypes */

/* Compiles the n wanted keys (UTF-8, unescaped).  The keys are copied.
 * Returns NULL on allocation failure.  Free with json_keys_destroy(). */
json_keys_t *json_keys_create(const char *const *keys, size_t n);

/* Frees k.  json_keys_destroy(NULL) is a no-op. */
void json_keys_destroy(json_keys_t *k);

/* Scans buf[0..len), one JSON object with optional surrounding whitespace
 * (space, tab, CR, LF).  out must have room for the n keys given to
 * json_keys_create(); out[i] describes key i (JSON_ABSENT when missing).
 * Returns JSON_OK, or a json_err_t; on error out[] is unspecified. */
int json_scan(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out);

/* Unescapes the body of a JSON string already validated by json_scan()
 * into dst, which must hold at least len bytes (an escape never grows).
 * \uXXXX becomes UTF-8; a surrogate pair becomes one 4-byte sequence; a
 * lone surrogate becomes U+FFFD.  Returns the number of bytes written. */
size_t json_unescape(const char *src, size_t len, char *dst);

/* Returns a short, stable name for a json_err_t ("empty", "not_object",
 * "truncated", "syntax", "too_deep"), used as a metric label. */
const char *json_strerror(int err);

/* Returns 1 when s[0..len) is a JSON number (the RFC 8259 grammar, the
 * whole text), else 0. */
int json_is_number(const char *s, size_t len);

#endif /* GWLOG_JSON_H */
