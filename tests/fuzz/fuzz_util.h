/* fuzz_util.h - Helpers shared by the libFuzzer targets: the embedded
 * default configuration, a private temporary directory, quiet logs.
 *
 * Everything is static: each target is one .c file linked with the
 * library sources (see "make fuzz"). */

#ifndef GWLOG_FUZZ_UTIL_H
#define GWLOG_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/default.h"
#include "lib/log.h"


/* Functions */

/* Aborts with msg: a harness failure, reported by libFuzzer as a crash. */
static inline void
fz_fail(const char *msg)
{
    fprintf(stderr, "fuzz harness: %s\n", msg);
    abort();
}


/* The default configuration (config/gwlog_exporter.yml, embedded),
 * loaded once; logging turned off. */
static inline cfg_t *
fz_default_config(void)
{
    static cfg_t  *cfg;
    char           err[CFG_ERRLEN];

    if (cfg == NULL) {
        log_set_level((log_level_t) (LOG_ERROR + 1));
        cfg = config_load_string(CONFIG_DEFAULT_NAME, config_default_yaml,
                                 (size_t) (config_default_yaml_end
                                           - config_default_yaml),
                                 err, sizeof(err));
        if (cfg == NULL) {
            fz_fail(err);
        }
    }
    return cfg;
}


/* A temporary directory made once per process (removed by the caller's
 * atexit handler or left in /tmp: it holds one small file). */
static inline const char *
fz_tmpdir(void)
{
    static char  dir[64];

    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/gwlog_fuzz_XXXXXX");
        if (mkdtemp(dir) == NULL) {
            fz_fail("mkdtemp() failed");
        }
    }
    return dir;
}


/* Writes data to dir/name, replacing it. */
static inline void
fz_write(const char *dir, const char *name, const uint8_t *data, size_t size)
{
    char   path[256];
    FILE  *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "wb");
    if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp) != 0) {
        fz_fail("cannot write a temporary file");
    }
}

#endif /* GWLOG_FUZZ_UTIL_H */
