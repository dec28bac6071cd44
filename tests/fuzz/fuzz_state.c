/* fuzz_state.c - libFuzzer target: the checkpoint loader.
 *
 * The first byte of the input chooses the way in, the rest is the
 * checkpoint:
 *
 *   0 mod 3: the decompressed text, given to state_parse_text() directly
 *            (the fuzzer explores the records behind gzip's CRC); when it
 *            is accepted, it is merged into a store holding the default
 *            config's families, written back with state_format_text() and
 *            parsed again: what the writer writes, the reader must take,
 *            with the same files;
 *   1 mod 3: gzip-compressed by the harness, written as DIR/checkpoint.a.gz
 *            and loaded with state_load();
 *   2 mod 3: written as it is (gzip framing fuzzed) and loaded.
 *
 * Seeds are in tests/fuzz/corpus/state (a first byte '0' + text). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "exporter/pipeline.h"
#include "exporter/state.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "lib/buf.h"
#include "tests/fuzz/fuzz_util.h"


/* A store with the default config's families (built through a pipeline
 * once, then copied: a pipeline per input would cost most of the time),
 * native buckets included, so that a seed's "n" records reach the store
 * and are written back. */
static store_t *
new_store(void)
{
    static store_snap_t        *base;
    const store_snap_family_t  *f;
    store_family_def_t          def;
    store_t                    *s;
    pipeline_t                 *p;
    char                        err[512];
    size_t                      i;

    if (base == NULL) {
        s = store_create();
        p = s ? pipeline_create(fz_default_config(), s, NULL, err,
                                sizeof(err)) : NULL;
        if (p == NULL) {
            fz_fail("pipeline_create() failed");
        }
        base = store_snapshot(s);           /* kept: the store too */
        pipeline_destroy(p);
    }
    s = store_create();
    if (s == NULL) {
        fz_fail("store_create() failed");
    }
    for (i = 0; i < store_snap_nfamilies(base); i++) {
        f = store_snap_family(base, i);
        memset(&def, 0, sizeof(def));
        def.name = f->name;
        def.help = f->help;
        def.type = f->type;
        def.labels = f->labels;
        def.nlabels = f->nlabels;
        def.buckets = f->buckets;
        def.nbuckets = f->nbuckets;
        def.scale = f->scale;
        def.native_factor = f->native ? f->native_factor : 0;
        def.native_max_buckets = f->native_max_buckets;
        def.sibling_label = -1;
        if (store_family_add(s, &def) == NULL) {
            fz_fail("store_family_add() failed");
        }
    }
    return s;
}


static void
round_trip(const uint8_t *data, size_t size, store_t *store)
{
    const state_file_t  *files, *again_files;
    state_ckpt_t        *ck, *again;
    state_info_t         info;
    store_snap_t        *snap;
    buf_t                text = { 0 };
    char                 err[512];
    size_t               n, n2, i;

    ck = state_parse_text((const char *) data, size, err, sizeof(err));
    if (ck == NULL) {
        if (err[0] == '\0') {
            fz_fail("state_parse_text() refused without a reason");
        }
        return;
    }
    memset(&info, 0, sizeof(info));
    store_ingest_lock(store);
    state_ckpt_apply(ck, store, &info);
    store_ingest_unlock(store);
    files = state_ckpt_files(ck, &n);

    snap = store_snapshot(store);
    if (snap == NULL) {
        fz_fail("store_snapshot() failed");
    }
    state_format_text(&text, state_ckpt_generation(ck),
                      (long long) state_ckpt_saved_at(ck), snap, files, n);
    store_snap_free(snap);
    again = state_parse_text(text.p, text.len, err, sizeof(err));
    if (again == NULL) {
        fprintf(stderr, "refused: %s\n%.*s\n", err, (int) text.len, text.p);
        fz_fail("a checkpoint written from an accepted one is refused");
    }
    again_files = state_ckpt_files(again, &n2);
    if (n2 != n) {
        fz_fail("the files changed in a round trip");
    }
    for (i = 0; i < n; i++) {
        if (strcmp(files[i].path, again_files[i].path) != 0
            || files[i].offset != again_files[i].offset
            || files[i].fp_len != again_files[i].fp_len
            || files[i].carry_len != again_files[i].carry_len
            || memcmp(files[i].carry, again_files[i].carry,
                      files[i].carry_len) != 0)
        {
            fz_fail("a file changed in a round trip");
        }
    }
    state_ckpt_free(again);
    state_ckpt_free(ck);
    buf_free(&text);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char    *dir = fz_tmpdir();
    state_file_t  *files = NULL;
    state_info_t   info;
    state_t       *st;
    store_t       *store;
    size_t         nfiles = 0;
    char           path[256];
    gzFile         gz;
    int            rc;

    if (size < 1) {
        return 0;
    }
    store = new_store();
    if (data[0] % 3 == 0) {
        round_trip(data + 1, size - 1, store);
        store_destroy(store);
        return 0;
    }

    snprintf(path, sizeof(path), "%s/checkpoint.a.gz", dir);
    if (data[0] % 3 == 1) {
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
    st = state_open(dir);
    if (st == NULL) {
        fz_fail("state_open() failed");
    }
    memset(&info, 0, sizeof(info));
    store_ingest_lock(store);
    rc = state_load(st, store, NULL, NULL, &files, &nfiles, &info);
    store_ingest_unlock(store);
    if (rc < -1 || rc > 1) {
        fz_fail("state_load() returned an unknown code");
    }
    if (rc != 0 && nfiles != 0) {
        fz_fail("files returned without a checkpoint");
    }
    state_files_free(files, nfiles);
    state_close(st);
    store_destroy(store);
    return 0;
}
