/* filter.c - Conditions: the drop rules of filters and "when" of metrics. */

#include "labels/filter.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/json.h"
#include "parsers/regex.h"


struct cond {
    cfg_cond_op_t        op;
    int                  var;
    strv_t              *strs;      /* borrowed from the cfg_cond_t */
    size_t               nstrs;
    double               num;
    pcre2_code          *re;
    pcre2_match_data    *md;
    cond_t              *sub;
    size_t               nsub;
};


static int cond_init(cond_t *dst, const cfg_cond_t *c, cond_resolve_fn resolve,
    void *ctx, char *err, size_t errlen);
static void cond_clear(cond_t *c);
static int int_number(strv_t s, double *out);


cond_t *
cond_compile(const cfg_cond_t *c, cond_resolve_fn resolve, void *ctx,
    char *err, size_t errlen)
{
    cond_t  *dst;

    dst = calloc(1, sizeof(*dst));
    if (dst == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cond_init(dst, c, resolve, ctx, err, errlen) != 0) {
        cond_free(dst);
        return NULL;
    }
    return dst;
}


void
cond_free(cond_t *c)
{
    if (c == NULL) {
        return;
    }
    cond_clear(c);
    free(c);
}


int
cond_eval(cond_t *c, cond_get_fn get, void *ctx)
{
    strv_t  v = { "", 0 };
    double  x;
    size_t  i;
    int     present;

    switch (c->op) {
    case CFG_COND_ANY:
        for (i = 0; i < c->nsub; i++) {
            if (cond_eval(&c->sub[i], get, ctx)) {
                return 1;
            }
        }
        return 0;
    case CFG_COND_ALL:
        for (i = 0; i < c->nsub; i++) {
            if (!cond_eval(&c->sub[i], get, ctx)) {
                return 0;
            }
        }
        return 1;
    case CFG_COND_NOT:
        return !cond_eval(&c->sub[0], get, ctx);
    default:
        break;
    }

    present = get(ctx, c->var, &v);
    if (!present) {
        v.p = "";
        v.len = 0;
    }
    switch (c->op) {
    case CFG_COND_EQUALS:
        return strv_eq(v, c->strs[0]);
    case CFG_COND_NOT_EQUALS:
        return !strv_eq(v, c->strs[0]);
    case CFG_COND_IN:
    case CFG_COND_NOT_IN:
        for (i = 0; i < c->nstrs; i++) {
            if (strv_eq(v, c->strs[i])) {
                return c->op == CFG_COND_IN;
            }
        }
        return c->op == CFG_COND_NOT_IN;
    case CFG_COND_PREFIX:
        return v.len >= c->strs[0].len
               && memcmp(v.p, c->strs[0].p, c->strs[0].len) == 0;
    case CFG_COND_MATCH:
        return regex_match(c->re, v, c->md) > 0;
    case CFG_COND_NOT_MATCH:
        return regex_match(c->re, v, c->md) == 0;
    case CFG_COND_EXISTS:
        return present == (c->num != 0);
    default:
        break;
    }

    if (!present || !value_number(v, &x)) {
        return 0;
    }
    switch (c->op) {
    case CFG_COND_GT: return x > c->num;
    case CFG_COND_GE: return x >= c->num;
    case CFG_COND_LT: return x < c->num;
    case CFG_COND_LE: return x <= c->num;
    case CFG_COND_EQ: return x == c->num;
    case CFG_COND_NE: return x != c->num;
    default:          return 0;
    }
}


/* The fast path of value_number() for s, a valid JSON number: an integer
 * of at most 15 digits (most values in access logs: milliseconds, unix
 * seconds, codes) is below 2^53, so its double is exact and equals what
 * strtod() gives, -0 included.  Returns 0 for anything else. */
static int
int_number(strv_t s, double *out)
{
    const char  *p = s.p, *end = s.p + s.len;
    uint64_t     n = 0;
    int          neg = *p == '-';

    p += neg;
    if (end - p > 15) {
        return 0;
    }
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return 0;                   /* a fraction or an exponent */
        }
        n = n * 10 + (uint64_t) (*p - '0');
    }
    *out = neg ? -(double) n : (double) n;
    return 1;
}


int
value_number(strv_t s, double *out)
{
    char    tmp[128], *heap = NULL, *p = tmp;
    double  x;

    if (s.len == 0 || !json_is_number(s.p, s.len)) {
        return 0;
    }
    if (int_number(s, out)) {
        return 1;
    }
    if (s.len >= sizeof(tmp)) {
        heap = malloc(s.len + 1);
        if (heap == NULL) {
            return 0;
        }
        p = heap;
    }
    memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    x = strtod(p, NULL);
    free(heap);
    if (!isfinite(x)) {
        return 0;
    }
    *out = x;
    return 1;
}


static int
cond_init(cond_t *dst, const cfg_cond_t *c, cond_resolve_fn resolve,
    void *ctx, char *err, size_t errlen)
{
    size_t  i;

    dst->op = c->op;
    dst->num = c->num;
    dst->var = -1;
    if (c->op == CFG_COND_ANY || c->op == CFG_COND_ALL
        || c->op == CFG_COND_NOT)
    {
        dst->sub = calloc(c->nsub ? c->nsub : 1, sizeof(cond_t));
        if (dst->sub == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        dst->nsub = c->nsub;
        for (i = 0; i < c->nsub; i++) {
            if (cond_init(&dst->sub[i], &c->sub[i], resolve, ctx, err,
                          errlen) != 0)
            {
                return -1;
            }
        }
        return 0;
    }

    dst->var = resolve(ctx, c->field);
    if (dst->var < 0) {
        snprintf(err, errlen, "unknown variable \"%s\"", c->field);
        return -1;
    }
    if (c->nstrs > 0) {
        dst->strs = calloc(c->nstrs, sizeof(strv_t));
        if (dst->strs == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (i = 0; i < c->nstrs; i++) {
            dst->strs[i].p = c->strs[i];
            dst->strs[i].len = strlen(c->strs[i]);
        }
        dst->nstrs = c->nstrs;
    }
    if ((c->op == CFG_COND_EQUALS || c->op == CFG_COND_NOT_EQUALS
         || c->op == CFG_COND_PREFIX || c->op == CFG_COND_MATCH
         || c->op == CFG_COND_NOT_MATCH) && c->nstrs < 1)
    {
        snprintf(err, errlen, "operator needs a value");
        return -1;
    }
    if (c->op == CFG_COND_MATCH || c->op == CFG_COND_NOT_MATCH) {
        dst->re = regex_compile(c->strs[0], 1, err, errlen);
        if (dst->re == NULL) {
            return -1;
        }
        dst->md = pcre2_match_data_create_from_pattern(dst->re, NULL);
        if (dst->md == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}


static void
cond_clear(cond_t *c)
{
    size_t  i;

    for (i = 0; i < c->nsub; i++) {
        cond_clear(&c->sub[i]);
    }
    free(c->sub);
    free(c->strs);
    if (c->md) {
        pcre2_match_data_free(c->md);
    }
    if (c->re) {
        pcre2_code_free(c->re);
    }
}
