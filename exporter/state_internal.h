/* state_internal.h - What the checkpoint files share.  Private to
 * exporter/ (tools/layers.py refuses it elsewhere).
 *
 *   state.c         open and close, the two slots, load and save (gzip,
 *                   the atomic write, a state directory created again)
 *   state_parse.c   the text to a state_ckpt_t: the records' field tables
 *                   and their checks, the record order, the end line
 *   state_native.c  the native histogram records ("native", "n")
 *   state_fields.c  the table-driven decoder of a fixed record, and the
 *                   decoders of one token (decimal, hash, double, name,
 *                   percent-encoded string)
 *   state_ckpt.c    a decoded checkpoint: duplicates, accessors, the
 *                   merge into a store, freeing it
 *   state_format.c  a snapshot and its files to the text
 *
 * The text inside the gzip stream, one record per line, fields separated
 * by single spaces; strings are percent-encoded (bytes <= 0x20, '%' and
 * >= 0x7f as %XX; the empty string as a lone "%"):
 *
 *   gwlog_state 4 GENERATION UNIX_TIME
 *   file INPUT DEV INO OFFSET FP_LEN FP SKIPPING ROTATED PATH CARRY
 *        TFP_LEN TFP JOIN_AT
 *                                    (version 1 had no TFP_LEN and TFP,
 *                                     version 2 no JOIN_AT)
 *   family NAME c|h NLABELS LABEL... NBUCKETS BOUND... OVERFLOWED
 *   native FACTOR MAX_BUCKETS        (version 4, a family with native
 *                                     buckets: right after its line)
 *   s VALUE... COUNT...  [histograms: NBUCKETS+1 counts, then SUM]
 *   n SCHEMA ZERO NNEG NPOS INDEX COUNT...
 *                                    (version 4: right after the "s"
 *                                     line of a series of a "native"
 *                                     family that has native buckets:
 *                                     NNEG negative then NPOS positive
 *                                     (index, count) pairs, ascending)
 *   end NFILES NFAMILIES NSERIES NNATIVE
 *                                    (NNATIVE, the "n" records, since
 *                                     version 4)
 *
 * Bucket bounds, sums and factors are written with %a (exact).  "s"
 * lines belong to the family line above them.  The version written is
 * the lowest that holds the checkpoint: 2, 3 when a file needs JOIN_AT, 4
 * when a family keeps native buckets, so that an older release reads
 * what it can.  In an "n" record the native total (ZERO plus every
 * COUNT) equals the series' classic count: every observation goes to
 * both (values are finite, NaN never counted).
 */

#ifndef GWLOG_STATE_INTERNAL_H
#define GWLOG_STATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "exporter/state.h"
#include "lib/strv.h"


/* Macros and types */

#define STATE_VERSION   4
#define NO_LEN          ((size_t) -1)
#define NELEMS(a)       (sizeof(a) / sizeof((a)[0]))

/* offset and size of a record's member, for the field tables. */
#define FIELD(type, m)  offsetof(type, m), sizeof(((type *) 0)->m)

/* How a field is decoded.  A decimal is digits only (no sign, no
 * spaces); a hash is exactly 16 hex digits; a string is percent-encoded,
 * "%" alone being the empty string. */
typedef enum {
    FLD_DEC,
    FLD_HEX,
    FLD_STR
} fld_kind_t;

#define FLD_NO_NUL      1               /* strings: no NUL byte */
#define FLD_NO_NL       2               /* strings: no newline */

/* One field of a fixed record: token tok (after the record's keyword)
 * holds a value in [min, max] (for strings: a decoded length in [min,
 * max]), stored at off (size 4 or 8; for strings a char *, with the length
 * at len_off unless NO_LEN).  Fields with since > the checkpoint's
 * version are absent. */
typedef struct {
    const char     *name;
    fld_kind_t      kind;
    uint64_t        min;
    uint64_t        max;
    size_t          off;
    size_t          size;
    size_t          len_off;
    int             flags;
    unsigned        since;
} field_t;

/* A relation between two numeric fields of a record: a <= b. */
typedef struct {
    const char     *what;
    size_t          a_off;
    size_t          a_size;
    size_t          b_off;
    size_t          b_size;
} field_le_t;

typedef struct {
    uint64_t        version;
    uint64_t        generation;
    uint64_t        saved_at;
} header_t;

/* A family of a decoded checkpoint, with its series.  Strings point into
 * the checkpoint's text. */
typedef struct {
    const char     *name;
    int             hist;
    size_t          nlabels;
    size_t          nbuckets;
    const char    **labels;         /* owned array */
    double         *bounds;         /* owned */
    uint64_t        overflowed;
    size_t          nseries;
    size_t          cap;
    strv_t         *values;         /* nseries * nlabels; owned array */
    uint64_t       *counts;         /* nseries * ncounts; owned */
    double         *sums;           /* nseries, histograms; owned */
    int             native;         /* a "native" record: keeps native
                                     * buckets */
    double          native_factor;
    uint32_t        native_max;     /* the cap; 0: none */
    native_t      **natives;        /* nseries (NULL: none), owned with
                                     * each native_t, when native */
} ck_family_t;

struct state_ckpt {
    char           *text;           /* decoded in place; owned */
    header_t        hdr;
    state_file_t   *files;          /* owned */
    size_t          nfiles;
    size_t          files_cap;
    ck_family_t    *fams;           /* owned */
    size_t          nfams;
    size_t          fams_cap;
    size_t          nseries;
    size_t          nnative;        /* "n" records */
};


/* Prototypes */

/* state_fields.c: decodes tok[0..] into rec by tab (n fields, those of
 * this version), each field checked against its bounds.  Strings are
 * copied (owned by rec); on failure those already copied stay in rec for
 * the caller to free.  Returns 0, or -1 with the field in err. */
int state_decode_fields(const field_t *tab, size_t n, unsigned version,
    char **tok, void *rec, char *err, size_t errlen);

/* How many fields of tab a record of this version has. */
size_t state_nfields(const field_t *tab, size_t n, unsigned version);

/* The numeric member at off (size 4 or 8) of rec. */
uint64_t state_get_uint(const void *rec, size_t off, size_t size);

/* Token decoders; each returns 0, or -1 for what the writer never
 * writes.  state_get_str() decodes in place (see state_format.c's
 * put_str()). */
int state_get_str(char *tok, size_t *len);
int state_parse_dec(const char *s, uint64_t *v);
int state_parse_hex(const char *s, uint64_t *v);
int state_parse_int(const char *s, int64_t *v);
int state_parse_double(const char *s, double *v);
int state_valid_name(const char *s);

/* Makes room for n elements of size in p (capacity *cap, doubled).
 * Returns the array (maybe moved), or NULL (p is then untouched). */
void *state_grow(void *p, size_t *cap, size_t n, size_t size);

/* state_ckpt.c: refuses the same file, family or series twice.  Returns
 * 0, or -1 with the reason in err. */
int state_check_duplicates(state_ckpt_t *ck, char *err, size_t errlen);

/* The record before the current one, for the records that must follow
 * a given one ("native" its family, "n" its series). */
typedef enum {
    PREV_OTHER,
    PREV_FAMILY,
    PREV_SERIES
} prev_t;

/* state_native.c: "native FACTOR MAX_BUCKETS" (tok: its nt tokens) and
 * "n SCHEMA ZERO NNEG NPOS INDEX COUNT..." (line, decoded in place) into
 * ck; prev is the record above.  state_native_missing() refuses a series
 * of a native family that counted something and has no "n" record.  Each
 * returns 0, or -1 with the reason in err. */
int state_parse_native(state_ckpt_t *ck, prev_t prev, char **tok, size_t nt,
    char *err, size_t errlen);
int state_parse_buckets(state_ckpt_t *ck, prev_t prev, char *line, char *err,
    size_t errlen);
int state_native_missing(const state_ckpt_t *ck, char *err, size_t errlen);

#endif /* GWLOG_STATE_INTERNAL_H */
