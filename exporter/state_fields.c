/* state_fields.c - The checkpoint's decoders: a fixed record by its
 * field table (state_internal.h's field_t), and one token at a time.
 *
 * The text is hostile (state.h): integers are digits only (a sign is
 * refused, not wrapped), a hash is exactly 16 hex digits, strings must be
 * encoded as state_format.c's put_str() encodes them.
 */

#include "exporter/state.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/state_internal.h"


#define NAME_LEN_MAX    1024            /* a family or label name */


static int hex_digit(char c);
static void set_uint(void *rec, size_t off, size_t size, uint64_t v);


/* Decodes tok[0..] into rec by tab, each field checked against its
 * bounds.  Strings are copied (owned by rec); on failure those already
 * copied stay in rec for the caller to free. */
int
state_decode_fields(const field_t *tab, size_t n, unsigned version, char **tok,
    void *rec, char *err, size_t errlen)
{
    const field_t  *f;
    uint64_t        v;
    size_t          i, k = 0, len;
    char           *copy;

    for (i = 0; i < n; i++) {
        f = &tab[i];
        if (f->since > version) {
            continue;
        }
        switch (f->kind) {
        case FLD_DEC:
        case FLD_HEX:
            if ((f->kind == FLD_DEC ? state_parse_dec(tok[k], &v)
                                    : state_parse_hex(tok[k], &v)) != 0)
            {
                snprintf(err, errlen, "%s: \"%.40s\" is not a %s", f->name,
                         tok[k], f->kind == FLD_DEC ? "decimal number"
                                                    : "16-digit hash");
                return -1;
            }
            if (v < f->min || v > f->max) {
                snprintf(err, errlen, "%s: %" PRIu64 " is out of bounds [%"
                         PRIu64 ", %" PRIu64 "]", f->name, v, f->min, f->max);
                return -1;
            }
            set_uint(rec, f->off, f->size, v);
            break;
        case FLD_STR:
            if (state_get_str(tok[k], &len) != 0) {
                snprintf(err, errlen, "%s: badly encoded", f->name);
                return -1;
            }
            if (len < f->min || len > f->max) {
                snprintf(err, errlen, "%s: length %zu is out of bounds [%"
                         PRIu64 ", %" PRIu64 "]", f->name, len, f->min,
                         f->max);
                return -1;
            }
            if (((f->flags & FLD_NO_NUL) && memchr(tok[k], '\0', len))
                || ((f->flags & FLD_NO_NL) && memchr(tok[k], '\n', len)))
            {
                snprintf(err, errlen, "%s: holds a %s byte", f->name,
                         memchr(tok[k], '\n', len) ? "newline" : "NUL");
                return -1;
            }
            copy = malloc(len + 1);
            if (copy == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            memcpy(copy, tok[k], len + 1);
            memcpy((char *) rec + f->off, &copy, sizeof(copy));
            if (f->len_off != NO_LEN) {
                memcpy((char *) rec + f->len_off, &len, sizeof(len));
            }
            break;
        }
        k++;
    }
    return 0;
}


/* How many fields of tab a record of this version has. */
size_t
state_nfields(const field_t *tab, size_t n, unsigned version)
{
    size_t  i, k = 0;

    for (i = 0; i < n; i++) {
        k += tab[i].since <= version;
    }
    return k;
}


static void
set_uint(void *rec, size_t off, size_t size, uint64_t v)
{
    uint32_t  v32 = (uint32_t) v;

    if (size == sizeof(uint32_t)) {
        memcpy((char *) rec + off, &v32, sizeof(v32));
    } else {
        memcpy((char *) rec + off, &v, sizeof(v));
    }
}


uint64_t
state_get_uint(const void *rec, size_t off, size_t size)
{
    uint32_t  v32;
    uint64_t  v;

    if (size == sizeof(uint32_t)) {
        memcpy(&v32, (const char *) rec + off, sizeof(v32));
        return v32;
    }
    memcpy(&v, (const char *) rec + off, sizeof(v));
    return v;
}


static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


/* Decodes a put_str() token in place (NUL-terminated after its *len
 * bytes).  Returns -1 for what put_str() never writes: a '%' not followed
 * by two hex digits, a byte it escapes left raw. */
int
state_get_str(char *tok, size_t *len)
{
    unsigned char  *r = (unsigned char *) tok, *w = r;
    int             hi, lo;

    if (strcmp(tok, "%") == 0) {
        tok[0] = '\0';
        *len = 0;
        return 0;
    }
    while (*r) {
        if (*r == '%') {
            hi = hex_digit((char) r[1]);
            lo = hi < 0 ? -1 : hex_digit((char) r[2]);
            if (lo < 0) {
                return -1;
            }
            *w++ = (unsigned char) (hi << 4 | lo);
            r += 3;
        } else if (*r <= 0x20 || *r >= 0x7f) {
            return -1;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    *len = (size_t) (w - (unsigned char *) tok);
    return 0;
}


/* Digits only: no sign, no blank, no overflow. */
int
state_parse_dec(const char *s, uint64_t *v)
{
    uint64_t  x = 0, d;

    if (*s == '\0') {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        d = (uint64_t) (*s - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return -1;
        }
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}


/* A signed decimal as "%d" writes it: an optional '-', then digits
 * only (no '+', no blank, no overflow). */
int
state_parse_int(const char *s, int64_t *v)
{
    uint64_t  u;
    int       neg = *s == '-';

    if (state_parse_dec(s + neg, &u) != 0
        || u > (neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX))
    {
        return -1;
    }
    *v = neg ? (int64_t) (0 - u) : (int64_t) u;
    return 0;
}


/* Exactly 16 hex digits, as "%016" PRIx64 writes them. */
int
state_parse_hex(const char *s, uint64_t *v)
{
    uint64_t  x = 0;
    size_t    i;
    int       d;

    for (i = 0; i < 16; i++) {
        d = hex_digit(s[i]);
        if (d < 0) {
            return -1;
        }
        x = x << 4 | (uint64_t) d;
    }
    if (s[16] != '\0') {
        return -1;
    }
    *v = x;
    return 0;
}


/* A whole token as strtod() reads it (%a writes it); NaN refused. */
int
state_parse_double(const char *s, double *v)
{
    char  *end;

    errno = 0;
    *v = strtod(s, &end);
    if (end == s || *end != '\0' || isnan(*v)) {
        return -1;
    }
    return 0;
}


/* A metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*, bounded. */
int
state_valid_name(const char *s)
{
    size_t  i;
    char    c;

    for (i = 0; (c = s[i]) != '\0'; i++) {
        if (i >= NAME_LEN_MAX
            || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                 || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9')))
        {
            return 0;
        }
    }
    return i > 0;
}


/* Makes room for n elements of size in p (capacity *cap, doubled).
 * Returns the array (maybe moved), or NULL (p is then untouched). */
void *
state_grow(void *p, size_t *cap, size_t n, size_t size)
{
    size_t  c = *cap;

    if (n <= c) {
        return p;
    }
    c = c ? c * 2 : 16;
    p = realloc(p, c * size);
    if (p != NULL) {
        *cap = c;
    }
    return p;
}
