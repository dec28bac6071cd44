/* fuzz_state.c - libFuzzer target: the checkpoint loader.  The input,
 * gzip-compressed by the harness when its first byte is even (so that the
 * fuzzer explores the text format behind gzip's CRC) and as it is when
 * odd, is written as DIR/checkpoint.a.gz and loaded with state_load() into
 * a store holding the default config's families. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "exporter/pipeline.h"
#include "exporter/state.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "tests/fuzz/fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const cfg_t   *cfg = fz_default_config();
    const char    *dir = fz_tmpdir();
    state_file_t  *files = NULL;
    state_info_t   info;
    pipeline_t    *p;
    state_t       *st;
    store_t       *store;
    size_t         nfiles = 0;
    char           path[256], err[512];
    gzFile         gz;
    int            rc;

    if (size < 1) {
        return 0;
    }
    snprintf(path, sizeof(path), "%s/checkpoint.a.gz", dir);
    if (data[0] % 2 == 0) {
        gz = gzopen(path, "wb1");
        if (gz == NULL || (size > 1 && gzwrite(gz, data + 1,
                                              (unsigned) (size - 1)) <= 0)
            || gzclose(gz) != Z_OK)
        {
            fz_fail("cannot write the checkpoint");
        }
    } else {
        fz_write(dir, "checkpoint.a.gz", data + 1, size - 1);
    }

    store = store_create();
    p = pipeline_create(cfg, store, NULL, err, sizeof(err));
    if (store == NULL || p == NULL) {
        fz_fail("pipeline_create() failed");
    }
    st = state_open(dir);
    if (st == NULL) {
        fz_fail("state_open() failed");
    }
    memset(&info, 0, sizeof(info));
    store_lock(store);
    rc = state_load(st, store, &files, &nfiles, &info);
    store_unlock(store);
    if (rc < -1 || rc > 1) {
        fz_fail("state_load() returned an unknown code");
    }
    if (rc != 0 && nfiles != 0) {
        fz_fail("files returned without a checkpoint");
    }
    state_files_free(files, nfiles);
    state_close(st);
    pipeline_destroy(p);
    store_destroy(store);
    return 0;
}
