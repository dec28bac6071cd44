/* fuzz_regex.c - libFuzzer target: regex_match() and regex_expand() with a
 * few fixed patterns (the default config's kinds).  Input: pattern choice
 * (1 byte), template (up to the first NUL), subject (the rest). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/regex.h"
#include "tests/fuzz/fuzz_util.h"


static const char *const patterns[] = {
    "(\\d)\\d\\d",
    "(?<method>[A-Z]+) (?<path>/[^ ?]*)(?:\\?(?<q>\\S*))? HTTP/(?<v>[\\d.]+)",
    "(?:(a+)|(b+))*(c?)",
    ".*?Region=(?<r>[^;]*).*",
    "(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)(.*)",
    "[^/]+/(?<tail>.*)|(?<none>)",
};

#define NPAT  (sizeof(patterns) / sizeof(patterns[0]))


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pcre2_code        *re[NPAT];
    static pcre2_match_data  *md[NPAT];
    char                      err[256], *tpl, *subj, *out;
    const uint8_t            *nul;
    size_t                    i, tlen, slen, bound, small;
    long                      n, m;

    if (re[0] == NULL) {
        for (i = 0; i < NPAT; i++) {
            re[i] = regex_compile(patterns[i], 1, err, sizeof(err));
            if (re[i] == NULL) {
                fz_fail(err);
            }
            md[i] = pcre2_match_data_create_from_pattern(re[i], NULL);
        }
    }
    if (size < 1) {
        return 0;
    }
    i = data[0] % NPAT;
    data++;
    size--;
    nul = memchr(data, '\0', size);
    tlen = nul ? (size_t) (nul - data) : size;
    tpl = malloc(tlen + 1);
    memcpy(tpl, data, tlen);
    tpl[tlen] = '\0';
    slen = nul ? size - tlen - 1 : 0;
    subj = malloc(slen ? slen : 1);
    memcpy(subj, nul ? nul + 1 : data, slen);

    if (regex_match(re[i], (strv_t) { subj, slen }, md[i]) > 0) {
        bound = regex_expand_bound(tpl, slen);
        out = malloc(bound ? bound : 1);
        n = regex_expand(re[i], (strv_t) { subj, slen }, md[i], tpl, out,
                         bound);
        if (n > (long) bound) {
            fz_fail("regex_expand() beyond its bound");
        }
        free(out);
        /* A buffer too small must give -1, never an overflow. */
        if (n > 0) {
            small = (size_t) n - 1;
            out = malloc(small ? small : 1);
            m = regex_expand(re[i], (strv_t) { subj, slen }, md[i], tpl, out,
                             small);
            if (m != -1) {
                fz_fail("regex_expand() did not refuse a short buffer");
            }
            free(out);
        }
    }
    free(tpl);
    free(subj);
    return 0;
}
