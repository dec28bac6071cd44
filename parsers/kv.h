/* kv.h - Looks up a key in a "k=v;k=v" string (RequestContent). */

#ifndef GWLOG_KV_H
#define GWLOG_KV_H

#include "lib/strv.h"


/* Prototypes */

/* Splits s on sep into pairs, each pair at its first assign into key and
 * value (nothing trimmed), and finds the first pair whose key equals key.
 * A pair without assign has no value and never matches.  Returns 1 and
 * sets *value (a slice of s) when found, else 0. */
int kv_find(strv_t s, strv_t key, strv_t sep, strv_t assign, strv_t *value);

#endif /* GWLOG_KV_H */
