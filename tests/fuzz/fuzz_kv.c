/* fuzz_kv.c - libFuzzer target: kv_find().  The first bytes choose the
 * separator and assign lengths and the key; the rest is the subject. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/kv.h"
#include "tests/fuzz/fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    strv_t   s, key, sep, assign, v;
    size_t   nsep, nassign, nkey;
    char    *copy;

    if (size < 3) {
        return 0;
    }
    nsep = data[0] % 3;         /* 0 is refused by kv_find() */
    nassign = data[1] % 3;
    nkey = data[2] % 16;
    data += 3;
    size -= 3;
    if (nsep + nassign + nkey > size) {
        return 0;
    }
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    sep = (strv_t) { copy, nsep };
    assign = (strv_t) { copy + nsep, nassign };
    key = (strv_t) { copy + nsep + nassign, nkey };
    s = (strv_t) { copy + nsep + nassign + nkey,
                   size - nsep - nassign - nkey };
    if (kv_find(s, key, sep, assign, &v)) {
        if (v.p < s.p || v.p + v.len > s.p + s.len) {
            fz_fail("kv_find() value outside the subject");
        }
        if (v.p - assign.len - key.len < s.p
            || memcmp(v.p - assign.len - key.len, key.p, key.len) != 0)
        {
            fz_fail("kv_find() value does not follow key and assign");
        }
    }
    free(copy);
    return 0;
}
