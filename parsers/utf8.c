/* utf8.c - UTF-8 validation and repair (U+FFFD per maximal subpart).
 *
 * The decoder follows Unicode table 3-7 (well-formed byte sequences):
 *
 *   U+0000..U+007F       00..7F
 *   U+0080..U+07FF       C2..DF  80..BF
 *   U+0800..U+0FFF       E0      A0..BF  80..BF
 *   U+1000..U+CFFF       E1..EC  80..BF  80..BF
 *   U+D000..U+D7FF       ED      80..9F  80..BF
 *   U+E000..U+FFFF       EE..EF  80..BF  80..BF
 *   U+10000..U+3FFFF     F0      90..BF  80..BF  80..BF
 *   U+40000..U+FFFFF     F1..F3  80..BF  80..BF  80..BF
 *   U+100000..U+10FFFF   F4      80..8F  80..BF  80..BF
 *
 * A maximal subpart is the longest prefix of a well-formed sequence found
 * at a position, or the single byte there when it starts none (Unicode
 * 3.9, "U+FFFD Substitution of Maximal Subparts", which CPython follows).
 * So "E0 80" gives two U+FFFD (80 cannot follow E0), "F0 90 80 41" gives
 * one U+FFFD and "A".
 */

#include "parsers/utf8.h"

#include <stdint.h>
#include <string.h>


/* Static prototypes */

static size_t ascii_run(const unsigned char *s, size_t len);
static size_t seq_len(const unsigned char *s, size_t n, int *ok);


/* Returns how many bytes at s[0..len) are ASCII, 8 at a time. */
static size_t
ascii_run(const unsigned char *s, size_t len)
{
    size_t    i;
    uint64_t  w;

    i = 0;
    while (len - i >= 8) {
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ULL) {
            break;
        }
        i += 8;
    }
    while (i < len && s[i] < 0x80) {
        i++;
    }
    return i;
}


/* s[0] >= 0x80 and n >= 1 bytes are available.  Sets *ok and returns the
 * length of the well-formed sequence at s, or (*ok == 0) the length of
 * the maximal subpart to replace (1 to 3). */
static size_t
seq_len(const unsigned char *s, size_t n, int *ok)
{
    unsigned char  c, lo, hi;
    size_t         need, i;

    *ok = 0;
    c = s[0];

    if (c < 0xC2 || c > 0xF4) {
        return 1;
    }
    if (c < 0xE0) {
        need = 2;
        lo = 0x80;
        hi = 0xBF;
    } else if (c < 0xF0) {
        need = 3;
        lo = (c == 0xE0) ? 0xA0 : 0x80;
        hi = (c == 0xED) ? 0x9F : 0xBF;
    } else {
        need = 4;
        lo = (c == 0xF0) ? 0x90 : 0x80;
        hi = (c == 0xF4) ? 0x8F : 0xBF;
    }

    if (n < 2 || s[1] < lo || s[1] > hi) {
        return 1;
    }
    for (i = 2; i < need; i++) {
        if (i >= n || (s[i] & 0xC0) != 0x80) {
            return i;
        }
    }

    *ok = 1;
    return need;
}


size_t
utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char  *u = (const unsigned char *) s;
    size_t                i, n;
    int                   ok;

    i = 0;
    while (i < len) {
        i += ascii_run(u + i, len - i);
        if (i == len) {
            break;
        }
        n = seq_len(u + i, len - i, &ok);
        if (!ok) {
            break;
        }
        i += n;
    }
    return i;
}


size_t
utf8_repair(const char *s, size_t len, char *dst, size_t dstcap)
{
    const unsigned char  *u = (const unsigned char *) s;
    size_t                i, o, n;
    int                   ok;

    i = 0;
    o = 0;
    while (i < len) {
        n = ascii_run(u + i, len - i);
        if (n > 0) {
            if (n > dstcap - o) {
                n = dstcap - o;
                memcpy(dst + o, s + i, n);
                o += n;
                break;
            }
            memcpy(dst + o, s + i, n);
            i += n;
            o += n;
            if (i == len) {
                break;
            }
        }

        n = seq_len(u + i, len - i, &ok);
        if (ok) {
            if (n > dstcap - o) {
                break;
            }
            memcpy(dst + o, s + i, n);
            o += n;
        } else {
            if (dstcap - o < 3) {
                break;
            }
            memcpy(dst + o, UTF8_REPLACEMENT, 3);
            o += 3;
        }
        i += n;
    }
    return o;
}


size_t
utf8_cut(const char *s, size_t len, size_t max)
{
    const unsigned char  *u = (const unsigned char *) s;
    size_t                n = max, back;

    if (len <= max) {
        return len;
    }
    /* u[n] is the first byte dropped: while it continues a character,
     * that character started before n and must go too. */
    for (back = 0; n > 0 && back < 3 && (u[n] & 0xC0) == 0x80; back++) {
        n--;
    }
    return (u[n] & 0xC0) == 0x80 ? max : n;
}
