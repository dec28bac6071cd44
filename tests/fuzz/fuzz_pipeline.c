/* fuzz_pipeline.c - libFuzzer target: whole lines through pipeline_line()
 * with the default config (parse, fields, filters, dimension lookups
 * against the sample CSVs, series); each snapshot is encoded too.  The
 * store is rebuilt every few thousand lines to bound memory. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/pipeline.h"
#include "labels/dims.h"
#include "labels/expo.h"
#include "labels/store.h"
#include "lib/buf.h"
#include "parsers/utf8.h"
#include "tests/fuzz/fuzz_util.h"


static store_t     *store;
static dims_t      *dims;
static pipeline_t  *pl;
static unsigned     runs;


static void
build(void)
{
    const cfg_t  *cfg = fz_default_config();
    const char   *dir = fz_tmpdir();
    char          err[512];
    static const char  gc[] = "local_ip,app_group,region_id\n"
        "11.197.1.1,pop-region-cn-huhehaote,cn-huhehaote\n";
    static const char  ul[] = "uid,gc_level\n1098373503,GC5\n42,GC1\n";
    static const char  am[] = "product,api,priority\n"
        "acc,DescribeCustomResourceDetail,P1\necs,DescribeInstances,P0\n";

    if (dims == NULL) {
        fz_write(dir, "gateway_cluster.csv", (const uint8_t *) gc,
                 sizeof(gc) - 1);
        fz_write(dir, "user_level.csv", (const uint8_t *) ul, sizeof(ul) - 1);
        fz_write(dir, "api_meta.csv", (const uint8_t *) am, sizeof(am) - 1);
        dims = dims_create(cfg, dir);
    }
    pipeline_destroy(pl);
    store_destroy(store);
    store = store_create();
    pl = pipeline_create(cfg, store, dims, err, sizeof(err));
    if (dims == NULL || store == NULL || pl == NULL) {
        fz_fail("cannot build the pipeline");
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_snap_t  *snap;
    buf_t          b;
    char          *copy;

    if (pl == NULL || ++runs % 4096 == 0) {
        build();
    }
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    store_ingest_lock(store);
    pipeline_line(pl, 0, copy, size);
    store_ingest_unlock(store);
    free(copy);
    if (runs % 256 == 0) {
        snap = store_snapshot(store);
        if (snap == NULL) {
            fz_fail("store_snapshot() failed");
        }
        memset(&b, 0, sizeof(b));
        expo_write_snapshot(&b, snap);
        if (utf8_valid_prefix(b.p, b.len) != b.len) {
            fz_fail("exposition is not valid UTF-8");
        }
        buf_free(&b);
        store_snap_free(snap);
    }
    return 0;
}
