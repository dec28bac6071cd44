/* fuzz_json.c - libFuzzer target: json_scan() (SSE2 and scalar string
 * loops must agree exactly), json_unescape() on every string value found,
 * json_is_number() on the whole input. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/json.h"
#include "parsers/utf8.h"
#include "tests/fuzz/fuzz_util.h"


/* Test hook of parsers/json.c, not in json.h. */
int json__scan_mode(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out, int simd);

#define NKEYS  8

static const char *const keys[NKEYS] = {
    "Product", "Api", "HttpCode", "Ext5", "a", "", "\xC3\xA9", "k\"ey",
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_keys_t  *k;
    json_val_t           a[NKEYS], b[NKEYS];
    const char          *buf;
    char                *copy, *dst;
    size_t               i, n;
    int                  ra, rb;

    if (k == NULL && (k = json_keys_create(keys, NKEYS)) == NULL) {
        fz_fail("json_keys_create() failed");
    }
    /* An exact-size heap copy, so that ASan sees every overread. */
    copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    buf = copy;

    ra = json__scan_mode(k, buf, size, a, 0);
    rb = json__scan_mode(k, buf, size, b, 1);
    if (ra != rb) {
        fz_fail("scalar and SSE2 scans disagree on the result");
    }
    if (ra == JSON_OK) {
        for (i = 0; i < NKEYS; i++) {
            if (a[i].type != b[i].type || a[i].p != b[i].p
                || a[i].len != b[i].len || a[i].escaped != b[i].escaped)
            {
                fz_fail("scalar and SSE2 scans disagree on a value");
            }
            if (a[i].type == JSON_ABSENT) {
                continue;
            }
            if (a[i].p < buf || a[i].p + a[i].len > buf + size) {
                fz_fail("value outside the input");
            }
            if (a[i].type == JSON_STRING) {
                dst = malloc(a[i].len ? a[i].len : 1);
                n = json_unescape(a[i].p, a[i].len, dst);
                if (n > a[i].len) {
                    fz_fail("json_unescape() grew");
                }
                if (!a[i].escaped && (n != a[i].len
                                      || memcmp(dst, a[i].p, n) != 0))
                {
                    fz_fail("json_unescape() changed an unescaped string");
                }
                free(dst);
            }
        }
    }
    (void) json_is_number(buf, size);
    free(copy);
    return 0;
}
