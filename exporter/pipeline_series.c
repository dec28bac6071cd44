/* pipeline_series.c - The per-family series cache in front of
 * store_series(): label values -> series id for the label sets a family
 * saw last, without hashing every value again.
 */

#include "exporter/pipeline_internal.h"

#include <string.h>

#include "lib/hash.h"


/* store_series() with a direct-mapped cache in front of it.  The store
 * hashes every label value with hash_bytes() and compares it with the
 * packed copy of the series it finds, three dependent memory reads per
 * family and line; most lines repeat a recent label set, which this cache
 * answers with one cheaper hash and one memcmp() of a slot that holds the
 * packed values itself.  A miss asks the store and fills the slot.
 *
 * Exactness: a slot only answers for the exact bytes it holds; ids never
 * change while the store lives, except in families with series_ttl, which
 * have no cache (their expired ids are reused).  A
 * label set the store folded into __overflow__ must still count there as
 * an overflow on every line, so once the family is full nothing new is
 * cached (slots filled before hold real series, which stay valid).  Label
 * sets longer than SC_KEY bytes (or a value over 255 bytes) bypass it. */
uint32_t
pipe_series_id(family_t *f, const strv_t *labels)
{
    sc_slot_t  *slot;
    uint64_t    h = 0;
    uint32_t    id;
    size_t      k, klen = 0;
    char        key[SC_KEY];

    if (f->cache == NULL) {
        return store_series(f->fam, labels);
    }
    for (k = 0; k < f->nlabels; k++) {
        if (labels[k].len > 255 || klen + 1 + labels[k].len > SC_KEY) {
            return store_series(f->fam, labels);
        }
        key[klen++] = (char) labels[k].len;
        memcpy(key + klen, labels[k].p, labels[k].len);
        klen += labels[k].len;
    }
    h = hash_fast(key, klen, 0);
    slot = &f->cache[h & (SC_SLOTS - 1)];
    if (slot->hash == h && slot->klen == klen
        && memcmp(slot->key, key, klen) == 0)
    {
        return slot->id;
    }
    id = store_series(f->fam, labels);
    if (f->max_series == 0 || store_family_size(f->fam) < f->max_series) {
        slot->hash = h;
        slot->id = id;
        slot->klen = (uint16_t) klen;
        memcpy(slot->key, key, klen);
    }
    return id;
}
