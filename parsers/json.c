/* json.c - Single-pass JSON scanner that extracts selected top-level keys.
 *
 * The scanner is a flat state machine (no recursion, no allocation).  The
 * nesting is a bit stack of JSON_MAX_DEPTH bits (1 = object, 0 = array), so
 * a hostile value nested a million deep costs 64 bytes of stack and stops
 * with JSON_ERR_TOO_DEEP at depth JSON_MAX_DEPTH + 1.  The top-level object
 * counts as depth 1.
 *
 * How a text is classified (the rules of tests/reference.py classify() in
 * its default "full" mode; the first problem in scan order wins):
 *
 *   1. Nothing but whitespace (space, tab, CR, LF): JSON_ERR_EMPTY.
 *   2. A container opened beyond JSON_MAX_DEPTH: JSON_ERR_TOO_DEEP.
 *   3. A byte that no valid JSON text could have at that position, or
 *      anything but whitespace after the top-level value: JSON_ERR_SYNTAX.
 *   4. The input ends while every byte so far is a valid prefix:
 *      JSON_ERR_TRUNCATED ("{\"a\":1", "{\"a\":\"\\u00", "{\"a\":tr", "[1,").
 *   5. A complete, valid value that is not an object: JSON_ERR_NOT_OBJECT
 *      ("[1]", "\"x\"", "42", "null").
 *
 * So the top-level value is always scanned whole, whatever its type.
 *
 * Strings are not checked for UTF-8 (bytes >= 0x80 are taken as they are;
 * the caller repairs them with utf8_repair()).  The string-skipping loop is
 * the hot path: log lines spend most of their bytes in a few long string
 * values, so it looks at 32 bytes at a time with AVX2 when the CPU has it
 * (16 with SSE2, the x86-64 baseline, otherwise), and handles every
 * special byte of a block (the one-byte escapes inline) before loading
 * the next one.  The scalar loop is the reference: tests/check_json.c
 * runs every case through the three and compares the results.
 */

#include "parsers/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define JSON_HAVE_SSE2 1
#else
#define JSON_HAVE_SSE2 0
#endif

/* String loops, for scan()'s simd argument (json__scan_mode()). */
#define JSON_SIMD_NONE  0               /* scalar, the reference */
#define JSON_SIMD_SSE2  1
#define JSON_SIMD_AVX2  2               /* only if the CPU has it */


/* Macros */

#define JSON_HASH_SIZE  64          /* buckets of the wanted-key table */
#define JSON_KEYBUF     256         /* unescaped-key buffer on the stack */

/* Internal result of the string and number scanners. */
#define SCAN_EOF        (-100)      /* input ended inside the token */

#define IS_WS(c)        ((c) == ' ' || (c) == '\t' || (c) == '\n'          \
                         || (c) == '\r')
#define IS_DIGIT(c)     ((unsigned char) ((c) - '0') < 10)


/* Types */

typedef struct {
    const char     *name;           /* points into json_keys_t.names */
    size_t          len;
    int             next;           /* next entry in the bucket, or -1 */
    int             out;            /* first out[] index, see out_next */
} json_key_ent_t;

struct json_keys {
    size_t           n;             /* keys given to json_keys_create() */
    size_t           nent;          /* distinct keys */
    size_t           maxlen;        /* longest distinct key */
    int              head[JSON_HASH_SIZE];
    json_key_ent_t  *ent;           /* nent entries, owned */
    int             *out_next;      /* n entries: next out[] of same key */
    char            *names;         /* all names, NUL-separated, owned */
};


/* Static prototypes */

static unsigned key_hash(const unsigned char *s, size_t len);
static int keys_find(const json_keys_t *k, const unsigned char *s,
    size_t len);
static int keys_find_escaped(const json_keys_t *k, const unsigned char *s,
    size_t len);
static void record(const json_keys_t *k, int e, json_val_t *out,
    json_type_t type, const unsigned char *p, size_t len, int escaped);
static const unsigned char *skip_escape(const unsigned char *q,
    const unsigned char *end, int *err);
static const unsigned char *string_end(const unsigned char *p,
    const unsigned char *end, int *escaped, int *err, int simd);
static const unsigned char *number_end(const unsigned char *p,
    const unsigned char *end, int *err);
static int scan(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out, int simd);
static size_t unescape_core(const char *src, size_t len, size_t *pos,
    char *dst, size_t cap);
static int hexval(unsigned char c);
static size_t utf8_put(char *dst, uint32_t cp);
static int simd_best(void);

/* Test hook, not in json.h: json_scan() with the scalar string loop
 * (simd 0), the SSE2 one (1) or the AVX2 one (2, falling back to SSE2 on
 * a CPU without AVX2), so that tests can compare the paths;
 * json__simd_best() says which one json_scan() uses. */
int json__scan_mode(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out, int simd);
int json__simd_best(void);


/* Bytes that end a run of plain string bytes: '"', '\\' and controls. */
static const unsigned char json_str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* '\\' */
};

/* Escapes of one byte after the backslash. */
static const unsigned char json_esc_simple[256] = {
    ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1,
    ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1,
};


json_keys_t *
json_keys_create(const char *const *keys, size_t n)
{
    json_keys_t  *k;
    size_t        i, total, len;
    char         *w;
    int           e;
    unsigned      h;

    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        return NULL;
    }

    total = 1;
    for (i = 0; i < n; i++) {
        total += strlen(keys[i]) + 1;
    }

    k->n = n;
    k->ent = calloc(n ? n : 1, sizeof(*k->ent));
    k->out_next = calloc(n ? n : 1, sizeof(*k->out_next));
    k->names = malloc(total);
    if (k->ent == NULL || k->out_next == NULL || k->names == NULL) {
        goto err;
    }

    for (h = 0; h < JSON_HASH_SIZE; h++) {
        k->head[h] = -1;
    }

    w = k->names;
    for (i = 0; i < n; i++) {
        len = strlen(keys[i]);
        k->out_next[i] = -1;

        e = keys_find(k, (const unsigned char *) keys[i], len);
        if (e >= 0) {
            /* The same key wanted twice: chain the out[] index at the end
             * so that both slots are filled. */
            int  *pp = &k->ent[e].out;

            while (*pp >= 0) {
                pp = &k->out_next[*pp];
            }
            *pp = (int) i;
            continue;
        }

        memcpy(w, keys[i], len + 1);
        e = (int) k->nent++;
        k->ent[e].name = w;
        k->ent[e].len = len;
        k->ent[e].out = (int) i;
        h = key_hash((const unsigned char *) w, len);
        k->ent[e].next = k->head[h];
        k->head[h] = e;
        if (len > k->maxlen) {
            k->maxlen = len;
        }
        w += len + 1;
    }

    return k;

err:
    json_keys_destroy(k);
    return NULL;
}


void
json_keys_destroy(json_keys_t *k)
{
    if (k == NULL) {
        return;
    }
    free(k->ent);
    free(k->out_next);
    free(k->names);
    free(k);
}


int
json_scan(const json_keys_t *k, const char *buf, size_t len, json_val_t *out)
{
    /* __builtin_cpu_supports() reads a variable set at start-up. */
    return scan(k, buf, len, out, simd_best());
}


int
json__scan_mode(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out, int simd)
{
    if (simd > simd_best()) {
        simd = simd_best();
    }
    return scan(k, buf, len, out, simd);
}


int
json__simd_best(void)
{
    return simd_best();
}


/* The best string loop this build and this CPU have. */
static int
simd_best(void)
{
#if JSON_HAVE_SSE2
    return __builtin_cpu_supports("avx2") ? JSON_SIMD_AVX2 : JSON_SIMD_SSE2;
#else
    return JSON_SIMD_NONE;
#endif
}


/* The scanner proper.  Labels are the states:
 *
 *   value       expecting a value
 *   key         expecting a key string (p is at the first non-blank byte)
 *   after       a value ended; expecting ',' or the closing bracket
 *   done        the top-level value ended; only whitespace may follow
 */
static int
scan(const json_keys_t *k, const char *buf, size_t len, json_val_t *out,
    int simd)
{
    const unsigned char  *p, *end, *s, *q, *vstart;
    uint64_t              stack[(JSON_MAX_DEPTH + 63) / 64];
    unsigned              depth;
    int                   in_obj, top_obj, match, esc, err;
    size_t                i;

    for (i = 0; i < k->n; i++) {
        out[i].p = NULL;
        out[i].len = 0;
        out[i].type = JSON_ABSENT;
        out[i].escaped = 0;
    }

    if (len == 0) {
        return JSON_ERR_EMPTY;
    }
    p = (const unsigned char *) buf;
    end = p + len;
    depth = 0;
    in_obj = 0;
    match = -1;
    vstart = NULL;
    err = 0;

    while (p < end && IS_WS(*p)) {
        p++;
    }
    if (p == end) {
        return JSON_ERR_EMPTY;
    }
    top_obj = (*p == '{');

value:
    while (p < end && IS_WS(*p)) {
        p++;
    }
    if (p == end) {
        goto eof;
    }

    switch (*p) {

    case '"':
        s = p + 1;
        esc = 0;
        q = string_end(s, end, &esc, &err, simd);
        if (q == NULL) {
            goto fail;
        }
        if (match >= 0 && depth == 1) {
            record(k, match, out, JSON_STRING, s, (size_t) (q - s), esc);
            match = -1;
        }
        p = q + 1;
        goto after;

    case '{':
    case '[':
        if (depth == JSON_MAX_DEPTH) {
            return JSON_ERR_TOO_DEEP;
        }
        if (depth == 1 && match >= 0) {
            vstart = p;
        }
        in_obj = (*p == '{');
        if (in_obj) {
            stack[depth >> 6] |= (uint64_t) 1 << (depth & 63);
        } else {
            stack[depth >> 6] &= ~((uint64_t) 1 << (depth & 63));
        }
        depth++;
        p++;
        while (p < end && IS_WS(*p)) {
            p++;
        }
        if (p == end) {
            goto eof;
        }
        if (*p == (in_obj ? '}' : ']')) {
            goto close;
        }
        if (in_obj) {
            goto key;
        }
        goto value;

    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        q = number_end(p, end, &err);
        if (q == NULL) {
            goto fail;
        }
        if (match >= 0 && depth == 1) {
            record(k, match, out, JSON_NUMBER, p, (size_t) (q - p), 0);
            match = -1;
        }
        p = q;
        goto after;

    case 't':
    case 'f':
    case 'n':
        {
            const char   *lit;
            size_t        n, avail;
            json_type_t   type;

            if (*p == 't') {
                lit = "true";
                n = 4;
                type = JSON_TRUE;
            } else if (*p == 'f') {
                lit = "false";
                n = 5;
                type = JSON_FALSE;
            } else {
                lit = "null";
                n = 4;
                type = JSON_NULL;
            }
            avail = (size_t) (end - p);
            if (avail < n) {
                if (memcmp(p, lit, avail) == 0) {
                    goto eof;
                }
                return JSON_ERR_SYNTAX;
            }
            if (memcmp(p, lit, n) != 0) {
                return JSON_ERR_SYNTAX;
            }
            if (match >= 0 && depth == 1) {
                record(k, match, out, type, p, n, 0);
                match = -1;
            }
            p += n;
            goto after;
        }

    default:
        return JSON_ERR_SYNTAX;
    }

key:
    /* p is at a non-blank byte inside an object. */
    if (*p != '"') {
        return JSON_ERR_SYNTAX;
    }
    s = p + 1;
    esc = 0;
    q = string_end(s, end, &esc, &err, simd);
    if (q == NULL) {
        goto fail;
    }
    if (depth == 1) {
        if (esc) {
            match = keys_find_escaped(k, s, (size_t) (q - s));
        } else {
            match = keys_find(k, s, (size_t) (q - s));
        }
    }
    p = q + 1;
    while (p < end && IS_WS(*p)) {
        p++;
    }
    if (p == end) {
        goto eof;
    }
    if (*p != ':') {
        return JSON_ERR_SYNTAX;
    }
    p++;
    goto value;

after:
    if (depth == 0) {
        goto done;
    }
    while (p < end && IS_WS(*p)) {
        p++;
    }
    if (p == end) {
        goto eof;
    }
    if (*p == ',') {
        p++;
        if (!in_obj) {
            goto value;
        }
        while (p < end && IS_WS(*p)) {
            p++;
        }
        if (p == end) {
            goto eof;
        }
        goto key;
    }
    if (*p != (in_obj ? '}' : ']')) {
        return JSON_ERR_SYNTAX;
    }

close:
    /* p is at the bracket that closes the container on top of the stack. */
    depth--;
    p++;
    if (depth == 1 && match >= 0) {
        record(k, match, out, in_obj ? JSON_OBJECT : JSON_ARRAY, vstart,
               (size_t) (p - vstart), 0);
        match = -1;
    }
    if (depth > 0) {
        in_obj = (int) ((stack[(depth - 1) >> 6] >> ((depth - 1) & 63)) & 1);
    }
    goto after;

done:
    while (p < end && IS_WS(*p)) {
        p++;
    }
    if (p != end) {
        return JSON_ERR_SYNTAX;
    }
    return top_obj ? JSON_OK : JSON_ERR_NOT_OBJECT;

fail:
    if (err != SCAN_EOF) {
        return err;
    }

eof:
    return JSON_ERR_TRUNCATED;
}


/* q points at a backslash inside a string.  Returns the byte after the
 * escape, or NULL with *err set to JSON_ERR_SYNTAX or SCAN_EOF. */
static const unsigned char *
skip_escape(const unsigned char *q, const unsigned char *end, int *err)
{
    int  i;

    if (end - q < 2) {
        *err = SCAN_EOF;
        return NULL;
    }

    switch (q[1]) {
    case '"': case '\\': case '/': case 'b':
    case 'f': case 'n': case 'r': case 't':
        return q + 2;

    case 'u':
        for (i = 2; i < 6; i++) {
            if (q + i >= end) {
                *err = SCAN_EOF;
                return NULL;
            }
            if (hexval(q[i]) < 0) {
                *err = JSON_ERR_SYNTAX;
                return NULL;
            }
        }
        return q + 6;

    default:
        *err = JSON_ERR_SYNTAX;
        return NULL;
    }
}


/* Handles the special bytes of one block of width bytes at p (bit i of
 * bits: p[i] is '"', '\\' or a control byte), in order.  Returns the
 * closing quote with *found set; NULL with *err set; or where to go on:
 * the end of the block, or past an escape that ran beyond it.  The escapes
 * of one byte (\" \n ...) are checked here, \u by skip_escape(). */
static inline const unsigned char *
block_specials(const unsigned char *p, uint64_t bits, unsigned width,
    const unsigned char *end, int *escaped, int *err, int *found)
{
    const unsigned char  *q;
    unsigned              i;

    while (bits != 0) {
        i = (unsigned) __builtin_ctzll(bits);
        q = p + i;
        if (*q == '"') {
            *found = 1;
            return q;
        }
        if (*q != '\\') {
            *err = JSON_ERR_SYNTAX;
            return NULL;
        }
        if (end - q >= 2 && json_esc_simple[q[1]]) {
            q += 2;
        } else {
            q = skip_escape(q, end, err);
            if (q == NULL) {
                return NULL;
            }
        }
        *escaped = 1;
        i = (unsigned) (q - p);
        if (i >= width) {
            return q;
        }
        bits &= ~(uint64_t) 0 << i;
    }
    return p + width;
}


#if JSON_HAVE_SSE2
/* The SSE2 loop: 16-byte blocks, 32 bytes per test over clean stretches
 * (long values) without paying for that on short runs between escapes.
 * Stops with fewer than 16 bytes left (*p_ for the scalar loop). */
static const unsigned char *
string_end_sse2(const unsigned char **p_, const unsigned char *end,
    int *escaped, int *err, int *found)
{
    const __m128i         quote = _mm_set1_epi8('"');
    const __m128i         bslash = _mm_set1_epi8('\\');
    const __m128i         ctl = _mm_set1_epi8(0x1f);
    const unsigned char  *p = *p_, *r;
    __m128i               x, y, m;
    unsigned              bits;

#define SSE2_SPECIAL(v) _mm_or_si128(                                       \
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),\
            _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v))

    while (end - p >= 16) {
        x = _mm_loadu_si128((const __m128i *) p);
        bits = (unsigned) _mm_movemask_epi8(SSE2_SPECIAL(x));
        if (bits == 0) {
            p += 16;
            while (end - p >= 32) {
                x = _mm_loadu_si128((const __m128i *) p);
                y = _mm_loadu_si128((const __m128i *) (p + 16));
                m = _mm_or_si128(SSE2_SPECIAL(x), SSE2_SPECIAL(y));
                if (_mm_movemask_epi8(m) != 0) {
                    break;
                }
                p += 32;
            }
            continue;
        }
        r = block_specials(p, bits, 16, end, escaped, err, found);
        if (r == NULL || *found) {
            return r;
        }
        p = r;
    }
#undef SSE2_SPECIAL
    *p_ = p;
    return NULL;
}


/* The same with AVX2 (32-byte blocks, 64 bytes per test when clean),
 * compiled for AVX2 whatever the build flags and used only when the CPU
 * has it (json_scan() asks once). */
__attribute__((target("avx2")))
static const unsigned char *
string_end_avx2(const unsigned char **p_, const unsigned char *end,
    int *escaped, int *err, int *found)
{
    const __m256i         quote = _mm256_set1_epi8('"');
    const __m256i         bslash = _mm256_set1_epi8('\\');
    const __m256i         ctl = _mm256_set1_epi8(0x1f);
    const unsigned char  *p = *p_, *r;
    __m256i               x, y, m;
    uint64_t              bits;

#define AVX2_SPECIAL(v) _mm256_or_si256(                                    \
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote),                    \
                            _mm256_cmpeq_epi8(v, bslash)),                  \
            _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl), v))

    while (end - p >= 32) {
        x = _mm256_loadu_si256((const __m256i *) p);
        bits = (uint32_t) _mm256_movemask_epi8(AVX2_SPECIAL(x));
        if (bits == 0) {
            p += 32;
            while (end - p >= 64) {
                x = _mm256_loadu_si256((const __m256i *) p);
                y = _mm256_loadu_si256((const __m256i *) (p + 32));
                m = _mm256_or_si256(AVX2_SPECIAL(x), AVX2_SPECIAL(y));
                if (!_mm256_testz_si256(m, m)) {
                    break;
                }
                p += 64;
            }
            continue;
        }
        r = block_specials(p, bits, 32, end, escaped, err, found);
        if (r == NULL || *found) {
            return r;
        }
        p = r;
    }
#undef AVX2_SPECIAL
    *p_ = p;
    return NULL;
}
#endif


/* p is the first byte after an opening quote.  Returns the closing quote,
 * or NULL with *err set (JSON_ERR_SYNTAX for a control byte or a bad
 * escape, SCAN_EOF when the input ends first).  Sets *escaped when the
 * string holds a backslash.  simd selects the loop (JSON_SIMD_*); the
 * scalar loop, the reference the others are tested against, always
 * handles the last bytes (fewer than one block). */
static const unsigned char *
string_end(const unsigned char *p, const unsigned char *end, int *escaped,
    int *err, int simd)
{
#if JSON_HAVE_SSE2
    const unsigned char  *r;
    int                   found = 0;

    if (simd != JSON_SIMD_NONE) {
        r = simd == JSON_SIMD_AVX2
            ? string_end_avx2(&p, end, escaped, err, &found)
            : string_end_sse2(&p, end, escaped, err, &found);
        if (r != NULL || *err != 0) {
            return r;
        }
        if (simd == JSON_SIMD_AVX2) {
            /* 16 to 31 bytes left: the SSE2 loop takes 16 of them. */
            r = string_end_sse2(&p, end, escaped, err, &found);
            if (r != NULL || *err != 0) {
                return r;
            }
        }
    }
#else
    (void) simd;
#endif

    while (p < end) {
        if (!json_str_special[*p]) {
            p++;
            continue;
        }
        if (*p == '"') {
            return p;
        }
        if (*p != '\\') {
            *err = JSON_ERR_SYNTAX;
            return NULL;
        }
        p = skip_escape(p, end, err);
        if (p == NULL) {
            return NULL;
        }
        *escaped = 1;
    }

    *err = SCAN_EOF;
    return NULL;
}


/* p is at '-' or a digit.  Returns the byte after the number, or NULL with
 * *err set.  The byte after the number is left to the caller: "01" ends
 * after "0" and the caller refuses the '1'. */
static const unsigned char *
number_end(const unsigned char *p, const unsigned char *end, int *err)
{
    if (*p == '-') {
        p++;
        if (p == end) {
            goto eof;
        }
    }

    if (*p == '0') {
        p++;
    } else if (IS_DIGIT(*p)) {
        while (p < end && IS_DIGIT(*p)) {
            p++;
        }
    } else {
        goto syntax;
    }

    if (p < end && *p == '.') {
        p++;
        if (p == end) {
            goto eof;
        }
        if (!IS_DIGIT(*p)) {
            goto syntax;
        }
        while (p < end && IS_DIGIT(*p)) {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p == end) {
            goto eof;
        }
        if (*p == '+' || *p == '-') {
            p++;
            if (p == end) {
                goto eof;
            }
        }
        if (!IS_DIGIT(*p)) {
            goto syntax;
        }
        while (p < end && IS_DIGIT(*p)) {
            p++;
        }
    }

    return p;

eof:
    *err = SCAN_EOF;
    return NULL;

syntax:
    *err = JSON_ERR_SYNTAX;
    return NULL;
}


int
json_is_number(const char *s, size_t len)
{
    const unsigned char  *p, *end;
    int                   err;

    if (len == 0) {
        return 0;
    }
    p = (const unsigned char *) s;
    end = p + len;
    p = number_end(p, end, &err);

    return p == end;
}


static unsigned
key_hash(const unsigned char *s, size_t len)
{
    if (len == 0) {
        return 0;
    }
    return (unsigned) (len * 7 + s[0] * 31u + s[len - 1])
           & (JSON_HASH_SIZE - 1);
}


/* Returns the entry whose name is s[0..len), or -1. */
static int
keys_find(const json_keys_t *k, const unsigned char *s, size_t len)
{
    int  e;

    for (e = k->head[key_hash(s, len)]; e >= 0; e = k->ent[e].next) {
        if (k->ent[e].len == len && memcmp(k->ent[e].name, s, len) == 0) {
            return e;
        }
    }
    return -1;
}


/* Like keys_find() for a raw key body that holds escapes.  Short keys are
 * unescaped on the stack; a longer one is decoded in chunks and compared
 * with each wanted key of the same unescaped length. */
static int
keys_find_escaped(const json_keys_t *k, const unsigned char *s, size_t len)
{
    char    buf[JSON_KEYBUF];
    size_t  ulen, pos, n, off;
    size_t  e;

    if (len <= sizeof(buf)) {
        n = json_unescape((const char *) s, len, buf);
        return keys_find(k, (const unsigned char *) buf, n);
    }

    /* An escape turns at most 6 bytes into 1, so the key is at least
     * len / 6 bytes long once unescaped. */
    if (len / 6 > k->maxlen) {
        return -1;
    }

    ulen = 0;
    pos = 0;
    while (pos < len) {
        ulen += unescape_core((const char *) s, len, &pos, buf, sizeof(buf));
    }

    for (e = 0; e < k->nent; e++) {
        if (k->ent[e].len != ulen) {
            continue;
        }
        pos = 0;
        off = 0;
        while (pos < len) {
            n = unescape_core((const char *) s, len, &pos, buf, sizeof(buf));
            if (memcmp(k->ent[e].name + off, buf, n) != 0) {
                break;
            }
            off += n;
        }
        if (pos == len && off == ulen) {
            return (int) e;
        }
    }
    return -1;
}


/* Stores one value into every out[] slot that wants entry e. */
static void
record(const json_keys_t *k, int e, json_val_t *out, json_type_t type,
    const unsigned char *p, size_t len, int escaped)
{
    int  i;

    for (i = k->ent[e].out; i >= 0; i = k->out_next[i]) {
        out[i].p = (const char *) p;
        out[i].len = len;
        out[i].type = type;
        out[i].escaped = escaped;
    }
}


size_t
json_unescape(const char *src, size_t len, char *dst)
{
    size_t  pos;

    pos = 0;
    return unescape_core(src, len, &pos, dst, (size_t) -1);
}


/* Unescapes src[*pos..len) into dst until the input ends or fewer than 4
 * bytes of dst[0..cap) are left before an escape (or none before a plain
 * byte).  Advances *pos; returns the number of bytes written.  Input that
 * is not a valid escape is copied as it is, so a string that json_scan()
 * did not validate cannot make it read past len. */
static size_t
unescape_core(const char *src, size_t len, size_t *pos, char *dst,
    size_t cap)
{
    const char  *bs;
    size_t       i, o, run;
    uint32_t     cp, lo;
    int          j, h;

    i = *pos;
    o = 0;

    while (i < len) {
        if (src[i] != '\\') {
            bs = memchr(src + i, '\\', len - i);
            run = (bs ? (size_t) (bs - src) : len) - i;
            if (run > cap - o) {
                run = cap - o;
            }
            if (run == 0) {
                break;
            }
            memcpy(dst + o, src + i, run);
            i += run;
            o += run;
            continue;
        }

        if (cap - o < 4) {
            break;
        }
        if (i + 1 >= len) {
            dst[o++] = src[i++];
            continue;
        }

        switch (src[i + 1]) {
        case '"':  dst[o++] = '"';  i += 2; continue;
        case '\\': dst[o++] = '\\'; i += 2; continue;
        case '/':  dst[o++] = '/';  i += 2; continue;
        case 'b':  dst[o++] = '\b'; i += 2; continue;
        case 'f':  dst[o++] = '\f'; i += 2; continue;
        case 'n':  dst[o++] = '\n'; i += 2; continue;
        case 'r':  dst[o++] = '\r'; i += 2; continue;
        case 't':  dst[o++] = '\t'; i += 2; continue;
        case 'u':  break;
        default:   dst[o++] = src[i++]; continue;
        }

        cp = 0;
        for (j = 2; j < 6; j++) {
            h = (i + j < len) ? hexval((unsigned char) src[i + j]) : -1;
            if (h < 0) {
                break;
            }
            cp = (cp << 4) | (uint32_t) h;
        }
        if (j < 6) {
            dst[o++] = src[i++];
            continue;
        }
        i += 6;

        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A high surrogate: a pair only if "\uDC00".."\uDFFF" follows. */
            lo = 0;
            if (i + 6 <= len && src[i] == '\\' && src[i + 1] == 'u') {
                for (j = 2; j < 6; j++) {
                    h = hexval((unsigned char) src[i + j]);
                    if (h < 0) {
                        break;
                    }
                    lo = (lo << 4) | (uint32_t) h;
                }
                if (j < 6) {
                    lo = 0;
                }
            }
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }

        o += utf8_put(dst + o, cp);
    }

    *pos = i;
    return o;
}


static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}


/* Writes cp (not a surrogate, <= 0x10FFFF) as UTF-8; returns 1 to 4. */
static size_t
utf8_put(char *dst, uint32_t cp)
{
    unsigned char  *d = (unsigned char *) dst;

    if (cp < 0x80) {
        d[0] = (unsigned char) cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (unsigned char) (0xC0 | (cp >> 6));
        d[1] = (unsigned char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char) (0xE0 | (cp >> 12));
        d[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
        d[2] = (unsigned char) (0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (unsigned char) (0xF0 | (cp >> 18));
    d[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
    d[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
    d[3] = (unsigned char) (0x80 | (cp & 0x3F));
    return 4;
}


const char *
json_strerror(int err)
{
    switch (err) {
    case JSON_OK:               return "ok";
    case JSON_ERR_EMPTY:        return "empty";
    case JSON_ERR_NOT_OBJECT:   return "not_object";
    case JSON_ERR_TRUNCATED:    return "truncated";
    case JSON_ERR_SYNTAX:       return "syntax";
    case JSON_ERR_TOO_DEEP:     return "too_deep";
    default:                    return "unknown";
    }
}
