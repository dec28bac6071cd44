/* utf8.h - UTF-8 validation and repair (U+FFFD per maximal subpart).
 *
 * Well-formed means Unicode table 3-7: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF.  utf8_repair() replaces each
 * maximal subpart of an ill-formed subsequence with U+FFFD (EF BF BD),
 * exactly as Python's bytes.decode("utf-8", errors="replace") does.
 */

#ifndef GWLOG_UTF8_H
#define GWLOG_UTF8_H

#include <stddef.h>


/* Macros */

/* Bytes of U+FFFD in UTF-8, and the worst-case growth of utf8_repair():
 * every input byte may become one U+FFFD. */
#define UTF8_REPLACEMENT        "\xEF\xBF\xBD"
#define UTF8_REPAIR_MAX(len)    ((len) * 3)


/* Prototypes */

/* Returns the length of the longest well-formed prefix of s[0..len); len
 * when all of it is well-formed.  A sequence cut by the end of s is not
 * part of the prefix. */
size_t utf8_valid_prefix(const char *s, size_t len);

/* Copies s[0..len) to dst[0..dstcap), replacing each maximal subpart of an
 * ill-formed subsequence with U+FFFD.  dst must not overlap s.  With
 * dstcap >= UTF8_REPAIR_MAX(len) the whole input fits; otherwise the output
 * stops before the first character (or U+FFFD) that would not fit, so it
 * is still well-formed.  Returns the number of bytes written.  Pure ASCII
 * runs are copied as they are. */
size_t utf8_repair(const char *s, size_t len, char *dst, size_t dstcap);

/* Returns how many bytes of s[0..len) to keep so that at most max remain
 * and no character is split: len when len <= max, else max moved back
 * over continuation bytes (10xxxxxx) to the start of a character, at most
 * 3 bytes back.  A well-formed s stays well-formed.  Used for
 * max_label_bytes. */
size_t utf8_cut(const char *s, size_t len, size_t max);

#endif /* GWLOG_UTF8_H */
