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
 * the caller repairs them with utf8_repair()).  Finding the end of a
 * string is the hot path: log lines spend most of their bytes in a few
 * long string values.  There are three string scanners, all giving the
 * same results (tests/check_json.c runs every case through each):
 *
 *   - the byte loop, the reference;
 *   - the 64-byte block classifier (see string_end_blocks()): bitmasks of
 *     quotes, backslashes, odd backslash runs and the in-string mask by a
 *     carry-less multiply, as simdjson's stage 1, so that an escape costs
 *     no branch; with a class table, SSE2, or AVX2 + PCLMUL;
 *   - the run loops: 32 bytes at a time with AVX2 (16 with SSE2), every
 *     special byte of a block handled in order (one-byte escapes inline).
 *
 * json_scan() uses the run loop (AVX2 when the CPU has it, chosen once at
 * run time): on the seed-shaped corpus it measured 4 % faster on the
 * top-level lines and 15 % faster on the Ext5 texts than the block
 * classifier (AMD EPYC, BENCHMARKS.md), whose fixed cost per 64-byte block
 * is more than the run loop pays for the 3-4 escapes such a block holds.
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

/* String scanners, for scan()'s simd argument (json__scan_mode()). */
#define JSON_SIMD_NONE  0               /* byte loop, the reference */
#define JSON_SIMD_WORD  1               /* 64-byte blocks, portable */
#define JSON_SIMD_SSE2  2               /* 64-byte blocks, SSE2 */
#define JSON_SIMD_AVX2  3               /* AVX2 + PCLMUL, if the CPU has it */
#define JSON_SIMD_RUN_SSE2 4            /* run loops: 16-byte blocks */
#define JSON_SIMD_RUN_AVX2 5            /* 32-byte blocks, if the CPU has it */


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

/* The block classifier's state over one text (see string_end_blocks()). */
typedef struct {
    const unsigned char  *base;     /* the text, not owned */
    size_t                len;
    size_t                next;     /* offset of the next block to classify */
    int                   simd;     /* JSON_SIMD_* */
    uint64_t              quote;    /* current block: unescaped quotes */
    uint64_t              bslash;   /* backslashes */
    uint64_t              bad;      /* bytes that make a string invalid */
    uint64_t              esc_carry;    /* 1: next block's byte 0 escaped */
    uint64_t              str_carry;    /* ~0: next block starts in a string */
    uint64_t              hex_carry;    /* next block's bytes owed to \u */
    unsigned char         tail[64];     /* the last block, padded */
} json_cursor_t;

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
static const unsigned char *string_end(json_cursor_t *c,
    const unsigned char *p, const unsigned char *end, int *escaped, int *err);
static const unsigned char *number_end(const unsigned char *p,
    const unsigned char *end, int *err);
static int scan(const json_keys_t *k, const char *buf, size_t len,
    json_val_t *out, int simd);
static size_t unescape_core(const char *src, size_t len, size_t *pos,
    char *dst, size_t cap);
static int hexval(unsigned char c);
static size_t utf8_put(char *dst, uint32_t cp);
static int simd_best(void);

/* Test hook, not in json.h: json_scan() with a given string scanner
 * (JSON_SIMD_*): 0 the byte loop (the reference), 1-3 the 64-byte block
 * classifier (class table, SSE2, AVX2 + PCLMUL), 4-5 the run loops (SSE2,
 * AVX2); a mode the CPU lacks falls back to its SSE2 sibling.
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
#if JSON_HAVE_SSE2
    if (simd == JSON_SIMD_AVX2 && !(__builtin_cpu_supports("avx2")
                                    && __builtin_cpu_supports("pclmul")))
    {
        simd = JSON_SIMD_SSE2;
    }
    if (simd == JSON_SIMD_RUN_AVX2 && !__builtin_cpu_supports("avx2")) {
        simd = JSON_SIMD_RUN_SSE2;
    }
#else
    if (simd > JSON_SIMD_WORD) {
        simd = JSON_SIMD_WORD;
    }
#endif
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
    return __builtin_cpu_supports("avx2") ? JSON_SIMD_RUN_AVX2
                                          : JSON_SIMD_RUN_SSE2;
#else
    /* The class-table classifier measured slower than the byte loop. */
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
    json_cursor_t         cur;
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
    cur.base = p;
    cur.len = len;
    cur.next = 0;
    cur.simd = simd;
    cur.esc_carry = 0;
    cur.str_carry = 0;
    cur.hex_carry = 0;
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
        q = string_end(&cur, s, end, &esc, &err);
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
    q = string_end(&cur, s, end, &esc, &err);
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
 * has it (json_scan() asks once; see string_end()). */
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


/* The string scanner of the block modes.
 *
 * The input is cut into 64-byte blocks, counted from the start of the
 * text, and each block is classified once, in order, into bitmasks (bit
 * i = byte i of the block), as simdjson's stage 1 does:
 *
 *   escaped   bytes preceded by an odd run of backslashes, from the carry
 *             of two additions (a run that starts at an even position
 *             escapes the byte after it when it ends at an odd one, and
 *             conversely); a run reaching byte 63 carries into the next
 *             block
 *   quote     the quotes that are not escaped
 *   instr     inside a string: the prefix XOR of quote (a carry-less
 *             multiply by all ones with PCLMUL, shifts otherwise), from
 *             the opening quote to the byte before the closing one
 *   bad       a control byte inside a string, an escaped byte that is not
 *             one of " \ / b f n r t u, or one of the four bytes after an
 *             escaped 'u' that is not a hex digit (carried across blocks)
 *
 * The state machine only ever asks where the string opened at p ends:
 * the first quote bit at or after p, provided no bad bit comes at or
 * before it.  Escapes cost no branch, and the short strings of one block
 * share its classification.  The quote bits agree with the state machine
 * up to its first error: outside strings it meets a quote only where a
 * string opens, and a backslash only to fail.  The last, partial block is
 * copied into cursor.tail, padded with spaces, and its bits beyond the end
 * of the text are cleared.
 *
 * Three classifiers give the same masks: a byte loop over a class table
 * (any CPU), SSE2 (16 bytes at a time, escape classes computed only for
 * blocks that hold an escape) and AVX2 with PCLMUL (32 bytes at a time,
 * escape classes by two nibble lookups).  The byte-at-a-time loop of
 * string_end() stays as the reference the tests compare them with. */

#define JSON_EVEN   0x5555555555555555ULL   /* bits 0, 2, 4 ... */
#define JSON_ODD    0xAAAAAAAAAAAAAAAAULL

/* Byte classes of the byte loop classifier. */
#define JC_QUOTE    0x01
#define JC_BSLASH   0x02
#define JC_CTL      0x04
#define JC_ESC      0x08            /* may follow a backslash */
#define JC_U        0x10
#define JC_HEX      0x20

/* Byte classes for blk_word(). */
static const unsigned char json_class[256] = {
    [0x00 ... 0x1f] = JC_CTL,
    ['"'] = JC_QUOTE | JC_ESC,  ['\\'] = JC_BSLASH | JC_ESC,
    ['/'] = JC_ESC,             ['b'] = JC_ESC | JC_HEX,
    ['f'] = JC_ESC | JC_HEX,    ['n'] = JC_ESC,
    ['r'] = JC_ESC,             ['t'] = JC_ESC,
    ['u'] = JC_ESC | JC_U,
    ['0' ... '9'] = JC_HEX,     ['A' ... 'F'] = JC_HEX,
    ['a'] = JC_HEX, ['c'] = JC_HEX, ['d'] = JC_HEX, ['e'] = JC_HEX,
};


/* Returns the escaped bytes of a block whose backslashes are bs, and
 * updates the carry (1: byte 0 of the next block is escaped). */
static inline uint64_t
blk_escaped(json_cursor_t *c, uint64_t bs)
{
    uint64_t       b, starts, even_end, odd_end, escaped;
    unsigned char  carry;

    b = bs & ~c->esc_carry;         /* an escaped backslash escapes nothing */
    starts = b & ~(b << 1);
    even_end = (b + (starts & JSON_EVEN)) & ~b;
    carry = __builtin_add_overflow(b, starts & JSON_ODD, &odd_end);
    odd_end &= ~b;
    escaped = (even_end & JSON_ODD) | (odd_end & JSON_EVEN) | c->esc_carry;
    c->esc_carry = carry;
    return escaped;
}


/* The rest of a block once the in-string mask is known: stores the masks
 * the string scanner reads.  u: escaped 'u' bytes; esc_ok, hex: the bytes
 * of those classes; lim: the bytes that are in the text. */
static inline void
blk_store(json_cursor_t *c, uint64_t quote, uint64_t bs, uint64_t ctl,
    uint64_t escaped, uint64_t instr, uint64_t esc_ok, uint64_t u,
    uint64_t hex, uint64_t lim)
{
    uint64_t  need_hex, t;

    need_hex = (u << 1) | (u << 2) | (u << 3) | (u << 4) | c->hex_carry;
    t = u >> 60;
    c->hex_carry = t | (t >> 1) | (t >> 2) | (t >> 3);
    c->str_carry = (uint64_t) ((int64_t) instr >> 63);

    c->quote = quote & lim;
    c->bslash = bs & lim;
    c->bad = ((ctl & instr) | (escaped & ~esc_ok) | (need_hex & ~hex)) & lim;
}


static inline uint64_t
prefix_xor_shift(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}


/* Classifies the block at p (64 readable bytes) with the class table. */
static void
blk_word(json_cursor_t *c, const unsigned char *p, uint64_t lim)
{
    uint64_t       m[6] = { 0 }, bit, quote, escaped;
    unsigned char  cl;
    unsigned       i, j;

    for (i = 0; i < 64; i++) {
        cl = json_class[p[i]];
        bit = (uint64_t) 1 << i;
        for (j = 0; j < 6; j++) {
            m[j] |= (cl >> j & 1) ? bit : 0;
        }
    }
    escaped = blk_escaped(c, m[1]);
    quote = m[0] & ~escaped;
    blk_store(c, quote, m[1], m[2], escaped,
              prefix_xor_shift(quote) ^ c->str_carry, m[3],
              escaped & m[4], m[5], lim);
}


#if JSON_HAVE_SSE2
static inline uint64_t
sse2_mask(__m128i a, __m128i b, __m128i c, __m128i d)
{
    return (uint64_t) (uint16_t) _mm_movemask_epi8(a)
           | (uint64_t) (uint16_t) _mm_movemask_epi8(b) << 16
           | (uint64_t) (uint16_t) _mm_movemask_epi8(c) << 32
           | (uint64_t) (uint16_t) _mm_movemask_epi8(d) << 48;
}


/* bytes in [lo, lo + span] (unsigned) */
static inline __m128i
sse2_range(__m128i v, char lo, char span)
{
    __m128i  d = _mm_sub_epi8(v, _mm_set1_epi8(lo));

    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(span)), d);
}


static inline __m128i
sse2_esc_ok(__m128i v)
{
    __m128i  r;

    r = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
    r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('b')));
    r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('f')));
    r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('n')));
    r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('r')));
    r = _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('t')));
    return _mm_or_si128(r, _mm_cmpeq_epi8(v, _mm_set1_epi8('u')));
}


static inline __m128i
sse2_hex(__m128i v)
{
    return _mm_or_si128(sse2_range(v, '0', 9),
                        sse2_range(_mm_or_si128(v, _mm_set1_epi8(0x20)),
                                   'a', 5));
}


/* The x86-64 baseline: four 16-byte vectors; the escape classes only for
 * a block that has an escape (or \u digits carried into it). */
static void
blk_sse2(json_cursor_t *c, const unsigned char *p, uint64_t lim)
{
    const __m128i  quote_v = _mm_set1_epi8('"');
    const __m128i  bs_v = _mm_set1_epi8('\\');
    const __m128i  ctl_v = _mm_set1_epi8(0x1f);
    __m128i        v0, v1, v2, v3;
    uint64_t       quote, bs, ctl, escaped, esc_ok, u, hex;

    v0 = _mm_loadu_si128((const __m128i *) p);
    v1 = _mm_loadu_si128((const __m128i *) (p + 16));
    v2 = _mm_loadu_si128((const __m128i *) (p + 32));
    v3 = _mm_loadu_si128((const __m128i *) (p + 48));

#define SSE2_CTL(v) _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_v), v)
    quote = sse2_mask(_mm_cmpeq_epi8(v0, quote_v), _mm_cmpeq_epi8(v1, quote_v),
                      _mm_cmpeq_epi8(v2, quote_v), _mm_cmpeq_epi8(v3, quote_v));
    bs = sse2_mask(_mm_cmpeq_epi8(v0, bs_v), _mm_cmpeq_epi8(v1, bs_v),
                   _mm_cmpeq_epi8(v2, bs_v), _mm_cmpeq_epi8(v3, bs_v));
    ctl = sse2_mask(SSE2_CTL(v0), SSE2_CTL(v1), SSE2_CTL(v2), SSE2_CTL(v3));
#undef SSE2_CTL

    escaped = blk_escaped(c, bs);
    esc_ok = ~(uint64_t) 0;
    u = 0;
    hex = ~(uint64_t) 0;
    if ((escaped | c->hex_carry) != 0) {
        const __m128i  u_v = _mm_set1_epi8('u');

        esc_ok = sse2_mask(sse2_esc_ok(v0), sse2_esc_ok(v1), sse2_esc_ok(v2),
                           sse2_esc_ok(v3));
        u = escaped & sse2_mask(_mm_cmpeq_epi8(v0, u_v),
                                _mm_cmpeq_epi8(v1, u_v),
                                _mm_cmpeq_epi8(v2, u_v),
                                _mm_cmpeq_epi8(v3, u_v));
        hex = sse2_mask(sse2_hex(v0), sse2_hex(v1), sse2_hex(v2),
                        sse2_hex(v3));
    }
    quote &= ~escaped;
    blk_store(c, quote, bs, ctl, escaped,
              prefix_xor_shift(quote) ^ c->str_carry, esc_ok, u, hex, lim);
}


/* Nibble tables of the AVX2 classifier: a byte is in class bit k when
 * bit k is set in both lo_tab[low nibble] and hi_tab[high nibble].
 *   0x01 '0'-'9'        0x02 'A'-'F' 'a'-'f'   0x04 '"' '/'
 *   0x08 '\\'           0x10 'b' 'f' 'n'        0x20 'r' 't'   0x40 'u'
 * Bytes >= 0x80 have a high nibble whose entry is 0. */
#define NIB_HEX     0x03
#define NIB_ESC     0x7C
#define NIB_U       0x40

static const unsigned char json_nib_lo[16] = {
    0x01, 0x03, 0x37, 0x03, 0x23, 0x43, 0x13, 0x01,
    0x01, 0x01, 0x00, 0x00, 0x08, 0x00, 0x10, 0x04
};
static const unsigned char json_nib_hi[16] = {
    0x00, 0x00, 0x04, 0x01, 0x02, 0x08, 0x12, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
};


__attribute__((target("avx2,pclmul")))
static inline uint64_t
avx2_mask(__m256i a, __m256i b)
{
    return (uint64_t) (uint32_t) _mm256_movemask_epi8(a)
           | (uint64_t) (uint32_t) _mm256_movemask_epi8(b) << 32;
}


/* Two 32-byte vectors; the in-string mask by a carry-less multiply. */
__attribute__((target("avx2,pclmul")))
static void
blk_avx2(json_cursor_t *c, const unsigned char *p, uint64_t lim)
{
    const __m256i  quote_v = _mm256_set1_epi8('"');
    const __m256i  bs_v = _mm256_set1_epi8('\\');
    const __m256i  ctl_v = _mm256_set1_epi8(0x1f);
    const __m256i  nib = _mm256_set1_epi8(0x0f);
    const __m256i  zero = _mm256_setzero_si256();
    __m256i        v0, v1, lo_t, hi_t, c0, c1;
    __m128i        t;
    uint64_t       quote, bs, ctl, escaped, esc_ok, u, hex, instr;

    v0 = _mm256_loadu_si256((const __m256i *) p);
    v1 = _mm256_loadu_si256((const __m256i *) (p + 32));
    lo_t = _mm256_broadcastsi128_si256(
               _mm_loadu_si128((const __m128i *) json_nib_lo));
    hi_t = _mm256_broadcastsi128_si256(
               _mm_loadu_si128((const __m128i *) json_nib_hi));

    quote = avx2_mask(_mm256_cmpeq_epi8(v0, quote_v),
                      _mm256_cmpeq_epi8(v1, quote_v));
    bs = avx2_mask(_mm256_cmpeq_epi8(v0, bs_v), _mm256_cmpeq_epi8(v1, bs_v));
    ctl = avx2_mask(_mm256_cmpeq_epi8(_mm256_min_epu8(v0, ctl_v), v0),
                    _mm256_cmpeq_epi8(_mm256_min_epu8(v1, ctl_v), v1));

    if ((bs | c->esc_carry | c->hex_carry) == 0) {
        /* No escape: nothing to classify beyond the quotes. */
        instr = c->str_carry;
        if (quote != 0) {
            t = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long) quote),
                                     _mm_set1_epi8((char) 0xff), 0);
            instr ^= (uint64_t) _mm_cvtsi128_si64(t);
        }
        c->str_carry = (uint64_t) ((int64_t) instr >> 63);
        c->quote = quote & lim;
        c->bslash = 0;
        c->bad = ctl & instr & lim;
        return;
    }

#define AVX2_CLASS(v)                                                       \
    _mm256_and_si256(                                                       \
        _mm256_shuffle_epi8(lo_t, _mm256_and_si256(v, nib)),                \
        _mm256_shuffle_epi8(hi_t,                                           \
                            _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)))
#define AVX2_NOT_IN(cl, bits)                                               \
    _mm256_cmpeq_epi8(_mm256_and_si256(cl, _mm256_set1_epi8(bits)), zero)
    c0 = AVX2_CLASS(v0);
    c1 = AVX2_CLASS(v1);
    esc_ok = ~avx2_mask(AVX2_NOT_IN(c0, NIB_ESC), AVX2_NOT_IN(c1, NIB_ESC));
    u = ~avx2_mask(AVX2_NOT_IN(c0, NIB_U), AVX2_NOT_IN(c1, NIB_U));
    hex = ~avx2_mask(AVX2_NOT_IN(c0, NIB_HEX), AVX2_NOT_IN(c1, NIB_HEX));
#undef AVX2_CLASS
#undef AVX2_NOT_IN

    escaped = blk_escaped(c, bs);
    quote &= ~escaped;
    t = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long) quote),
                             _mm_set1_epi8((char) 0xff), 0);
    instr = (uint64_t) _mm_cvtsi128_si64(t) ^ c->str_carry;
    blk_store(c, quote, bs, ctl, escaped, instr, esc_ok, escaped & u, hex,
              lim);
}



/* Inside a string, with no escape carried: the number of whole blocks
 * from c->next on that hold no quote, backslash or control byte (such a
 * block changes no state), 64 bytes per test. */
static size_t
clean_blocks_sse2(const json_cursor_t *c)
{
    const __m128i         quote_v = _mm_set1_epi8('"');
    const __m128i         bs_v = _mm_set1_epi8('\\');
    const __m128i         ctl_v = _mm_set1_epi8(0x1f);
    const unsigned char  *p = c->base + c->next;
    size_t                n = 0, left;
    __m128i               v, m;
    int                   i;

    /* The last block may run past the text (it is padded): c->next can
     * be beyond len. */
    left = c->next < c->len ? (c->len - c->next) / 64 : 0;
    for ( ; n < left; n++, p += 64) {
        m = _mm_setzero_si128();
        for (i = 0; i < 64; i += 16) {
            v = _mm_loadu_si128((const __m128i *) (p + i));
            m = _mm_or_si128(m, _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(v, quote_v),
                                 _mm_cmpeq_epi8(v, bs_v)),
                    _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_v), v)));
        }
        if (_mm_movemask_epi8(m) != 0) {
            break;
        }
    }
    return n;
}


__attribute__((target("avx2,pclmul")))
static size_t
clean_blocks_avx2(const json_cursor_t *c)
{
    const __m256i         quote_v = _mm256_set1_epi8('"');
    const __m256i         bs_v = _mm256_set1_epi8('\\');
    const __m256i         ctl_v = _mm256_set1_epi8(0x1f);
    const unsigned char  *p = c->base + c->next;
    size_t                n = 0, left;
    __m256i               v0, v1, m;

    left = c->next < c->len ? (c->len - c->next) / 64 : 0;
#define AVX2_DIRTY(v) _mm256_or_si256(                                      \
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote_v),                  \
                            _mm256_cmpeq_epi8(v, bs_v)),                    \
            _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl_v), v))
    for ( ; n < left; n++, p += 64) {
        v0 = _mm256_loadu_si256((const __m256i *) p);
        v1 = _mm256_loadu_si256((const __m256i *) (p + 32));
        m = _mm256_or_si256(AVX2_DIRTY(v0), AVX2_DIRTY(v1));
        if (!_mm256_testz_si256(m, m)) {
            break;
        }
    }
#undef AVX2_DIRTY
    return n;
}


/* Bit i: p[i] is '"', '\\' or a control byte, for 32 bytes at p; the
 * short-string test of string_end_blocks(). */
static inline uint32_t
special32_sse2(const unsigned char *p)
{
    const __m128i  quote_v = _mm_set1_epi8('"');
    const __m128i  bs_v = _mm_set1_epi8('\\');
    const __m128i  ctl_v = _mm_set1_epi8(0x1f);
    __m128i        v0, v1;

    v0 = _mm_loadu_si128((const __m128i *) p);
    v1 = _mm_loadu_si128((const __m128i *) (p + 16));
#define SSE2_SPECIAL(v) _mm_or_si128(                                       \
            _mm_or_si128(_mm_cmpeq_epi8(v, quote_v),                        \
                         _mm_cmpeq_epi8(v, bs_v)),                          \
            _mm_cmpeq_epi8(_mm_min_epu8(v, ctl_v), v))
    return (uint32_t) (uint16_t) _mm_movemask_epi8(SSE2_SPECIAL(v0))
           | (uint32_t) (uint16_t) _mm_movemask_epi8(SSE2_SPECIAL(v1)) << 16;
#undef SSE2_SPECIAL
}


__attribute__((target("avx2,pclmul")))
static uint32_t
special32_avx2(const unsigned char *p)
{
    const __m256i  v = _mm256_loadu_si256((const __m256i *) p);
    __m256i        m;

    m = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
                            _mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))),
            _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v));
    return (uint32_t) _mm256_movemask_epi8(m);
}
#endif


/* Classifies the next block of the text into c. */
static void
cursor_advance(json_cursor_t *c)
{
    const unsigned char  *p;
    size_t                n;
    uint64_t              lim;

    p = c->base + c->next;
    n = c->len - c->next;
    lim = ~(uint64_t) 0;
    if (n < 64) {
        memset(c->tail, ' ', sizeof(c->tail));
        memcpy(c->tail, p, n);
        p = c->tail;
        lim = ((uint64_t) 1 << n) - 1;
    }

    switch (c->simd) {
#if JSON_HAVE_SSE2
    case JSON_SIMD_AVX2:
        blk_avx2(c, p, lim);
        break;
    case JSON_SIMD_SSE2:
        blk_sse2(c, p, lim);
        break;
#endif
    default:
        blk_word(c, p, lim);
        break;
    }
    c->next += 64;
}


/* The block string scanner: p is the first byte after an opening quote.
 * Same contract as string_end(). */
static const unsigned char *
string_end_blocks(json_cursor_t *c, const unsigned char *p, int *escaped,
    int *err)
{
    size_t    i;
    uint64_t  from, quote, upto;

    i = (size_t) (p - c->base);
    if (i >= c->len) {
        *err = SCAN_EOF;
        return NULL;
    }
    if (i >= c->next) {
#if JSON_HAVE_SSE2
        /* A short string without escapes ends at the first special byte:
         * no need to classify a block. */
        if (c->simd != JSON_SIMD_WORD && c->len - i >= 32) {
            uint32_t  m = c->simd == JSON_SIMD_AVX2 ? special32_avx2(p)
                                                    : special32_sse2(p);

            if (m != 0 && p[__builtin_ctz(m)] == '"') {
                return p + __builtin_ctz(m);
            }
        }
#endif
        /* Past the classified blocks: outside a string nothing is carried,
         * so the next block starts at the string. */
        c->next = i;
        c->esc_carry = 0;
        c->hex_carry = 0;
        c->str_carry = ~(uint64_t) 0;
    }
    for ( ;; ) {
        if (i >= c->next) {
            cursor_advance(c);
        }
        from = ~(uint64_t) 0 << (i - (c->next - 64));
        quote = c->quote & from;
        upto = quote ? quote ^ (quote - 1) : ~(uint64_t) 0;
        if ((c->bad & from & upto) != 0) {
            *err = JSON_ERR_SYNTAX;
            return NULL;
        }
        if ((c->bslash & from & upto) != 0) {
            *escaped = 1;
        }
        if (quote != 0) {
            return c->base + (c->next - 64)
                   + (unsigned) __builtin_ctzll(quote);
        }
#if JSON_HAVE_SSE2
        if (c->simd != JSON_SIMD_WORD
            && (c->esc_carry | c->hex_carry | c->bslash | c->bad) == 0)
        {
            /* The string went through a block without an escape: it may
             * be a long plain one. */
            c->next += 64 * (c->simd == JSON_SIMD_AVX2 ? clean_blocks_avx2(c)
                                                       : clean_blocks_sse2(c));
        }
#endif
        if (c->next >= c->len) {
            *err = SCAN_EOF;
            return NULL;
        }
        i = c->next;
    }
}


/* p is the first byte after an opening quote.  Returns the closing quote,
 * or NULL with *err set (JSON_ERR_SYNTAX for a control byte or a bad
 * escape, SCAN_EOF when the input ends first).  Sets *escaped when the
 * string holds a backslash.  With c->simd JSON_SIMD_NONE, the byte loop
 * below, the reference the block scanner is tested against. */
static const unsigned char *
string_end(json_cursor_t *c, const unsigned char *p,
    const unsigned char *end, int *escaped, int *err)
{
#if JSON_HAVE_SSE2
    if (c->simd >= JSON_SIMD_RUN_SSE2) {
        const unsigned char  *r;
        int                   found = 0;

        r = c->simd == JSON_SIMD_RUN_AVX2
            ? string_end_avx2(&p, end, escaped, err, &found)
            : string_end_sse2(&p, end, escaped, err, &found);
        if (r != NULL || *err != 0) {
            return r;
        }
        if (c->simd == JSON_SIMD_RUN_AVX2) {
            /* 16 to 31 bytes left: the SSE2 loop takes 16 of them. */
            r = string_end_sse2(&p, end, escaped, err, &found);
            if (r != NULL || *err != 0) {
                return r;
            }
        }
        goto bytes;
    }
#endif
    if (c->simd != JSON_SIMD_NONE) {
        return string_end_blocks(c, p, escaped, err);
    }

#if JSON_HAVE_SSE2
bytes:
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
