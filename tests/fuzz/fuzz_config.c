/* fuzz_config.c - libFuzzer target: config_load_string() on arbitrary
 * YAML; a config that loads is also compiled into a pipeline (conditions,
 * regexes, families) and fed one line. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "exporter/pipeline.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "tests/fuzz/fuzz_util.h"


static const char line[] =
    "{\"Product\":\"ecs\",\"Api\":\"DescribeInstances\",\"HttpCode\":\"200\","
    "\"TotalUsedTime\":\"12\",\"RequestContent\":\"RegionId=cn-x;a=b\","
    "\"Ext5\":\"{\\\"logRegionId\\\":\\\"cn-y\\\"}\",\"__time__\":\"1\"}";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char         err[CFG_ERRLEN], perr[512];
    char        *copy;
    cfg_t       *cfg;
    store_t     *store;
    dims_t      *dims;
    pipeline_t  *p;
    size_t       i;

    log_set_level((log_level_t) (LOG_ERROR + 1));
    copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    cfg = config_load_string("fuzz.yml", copy, size, err, sizeof(err));
    free(copy);
    if (cfg == NULL) {
        if (memchr(err, '\0', sizeof(err)) == NULL) {
            fz_fail("error message not terminated");
        }
        return 0;
    }
    store = store_create();
    dims = dims_create(cfg, NULL);
    p = pipeline_create(cfg, store, dims, perr, sizeof(perr));
    if (p != NULL) {
        store_ingest_lock(store);
        for (i = 0; i < cfg->ninputs; i++) {
            pipeline_line(p, i, line, sizeof(line) - 1);
        }
        store_ingest_unlock(store);
    }
    pipeline_destroy(p);
    dims_destroy(dims);
    store_destroy(store);
    config_free(cfg);
    return 0;
}
