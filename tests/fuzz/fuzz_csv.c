/* fuzz_csv.c - libFuzzer target: the CSV dimension loader.  The first
 * byte picks one of the default config's tables; the rest is written as
 * DIR/NAME.csv and loaded with dims_create(), then looked up with keys
 * cut from the input itself.  A second variant reloads over a good table,
 * which must keep it. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labels/dims.h"
#include "tests/fuzz/fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const cfg_t   *cfg = fz_default_config();
    const char    *dir = fz_tmpdir();
    const strv_t  *row;
    strv_t         keys[4];
    dims_t        *d;
    char           name[128], path[256];
    size_t         t, i, k, off;

    if (size < 1 || cfg->ndims == 0) {
        return 0;
    }
    t = data[0] % cfg->ndims;
    data++;
    size--;
    snprintf(name, sizeof(name), "%s.csv", cfg->dims[t].name);
    fz_write(dir, name, data, size);

    d = dims_create(cfg, dir);
    if (d == NULL) {
        fz_fail("dims_create() failed");
    }
    /* Keys: successive slices of the input, split at commas/newlines. */
    for (off = 0, i = 0; i < 8 && off <= size; i++) {
        for (k = 0; k < cfg->dims[t].nkeys && k < 4; k++) {
            const uint8_t  *e = memchr(data + off, i % 2 ? '\n' : ',',
                                       size - off);
            size_t          n = e ? (size_t) (e - (data + off)) : size - off;

            keys[k].p = (const char *) data + off;
            keys[k].len = n;
            off += n + 1;
            if (off > size) {
                off = size;
            }
        }
        row = dims_lookup(d, t, keys);
        for (k = 0; row != NULL && k < cfg->dims[t].nprovides; k++) {
            if (row[k].len > 0 && row[k].p == NULL) {
                fz_fail("row with a NULL value");
            }
        }
        if (off >= size) {
            break;
        }
    }
    (void) dims_entries(d, t);
    dims_destroy(d);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    (void) unlink(path);
    return 0;
}
