/* regex.h - PCRE2 helpers: anchored compilation, JIT, replacement.
 *
 * Every regex in the configuration is anchored at both ends, as
 * Prometheus anchors relabelling and label matchers.  JIT is used when it
 * is available and silently skipped when W^X forbids it. */

#ifndef GWLOG_REGEX_H
#define GWLOG_REGEX_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "lib/strv.h"


/* Prototypes */

/* Compiles pattern, anchored at both ends when anchored is set.  Returns
 * the code (free with pcre2_code_free()) or NULL with a message in err. */
pcre2_code *regex_compile(const char *pattern, int anchored, char *err,
    size_t errlen);

/* Matches s against re with md (created for re by the caller).  Returns
 * the number of capture pairs set (>= 1) on a match, 0 on no match. */
int regex_match(const pcre2_code *re, strv_t s, pcre2_match_data *md);

/* Expands template tpl ($1, ${1}, ${name}, $$) after a match of s held in
 * md, into out (room for outcap bytes).  Returns the length, or -1 when
 * the result does not fit. */
long regex_expand(const pcre2_code *re, strv_t s, pcre2_match_data *md,
    const char *tpl, char *out, size_t outcap);

/* Upper bound of the length regex_expand() may produce for tpl on s. */
size_t regex_expand_bound(const char *tpl, size_t slen);

#endif /* GWLOG_REGEX_H */
