/* state.h - Checkpoints: file positions and every series value, saved
 * together so that a restart resumes exactly where the counts stopped.
 *
 * A checkpoint is a gzip-compressed text file in the state directory.
 * Two slots (checkpoint.a.gz, checkpoint.b.gz) are written in turn, each
 * through a temporary file, fsync() and rename(), then an fsync() of the
 * directory; every checkpoint carries a generation number.  Loading takes
 * the valid slot with the highest generation: gzip's CRC32 and length
 * trailer and a final "end" line with counts reject a torn or corrupt
 * file, and the other slot (the previous good checkpoint) is used instead.
 *
 * The content is untrusted input (a CRC only says the bytes are the ones
 * written, not who wrote them): every decoded field is checked against
 * its bound (the STATE_*_MAX below, and the relations between fields of a
 * record), the counts against the "end" line, and duplicates are refused,
 * before anything is merged into the store.  A refused slot is logged with
 * the field, counted as corrupt, and the other slot is tried.
 */

#ifndef GWLOG_STATE_H
#define GWLOG_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "labels/store.h"
#include "lib/buf.h"


/* Macros */

#define STATE_FP_MAX        1024            /* bytes in a fingerprint, head
                                             * (fp) or tail (tfp) */
#define STATE_KIND_MAX      2               /* state_file_t.rotated */
#define STATE_PATH_MAX      4095            /* bytes in a path, NUL aside */
#define STATE_CARRY_MAX     (256u << 20)    /* bytes of an unfinished line */
#define STATE_INPUTS_MAX    65536           /* inputs (index bound) */
#define STATE_LABELS_MAX    256             /* label names of a family */
#define STATE_BUCKETS_MAX   1024            /* bounds of a histogram */
#define STATE_TEXT_MAX      (1024u << 20)   /* decompressed checkpoint */
#define STATE_FUTURE_MAX    86400           /* seconds a checkpoint's time
                                             * may lie ahead of the clock */


/* Types */

typedef struct state state_t;   /* opaque */
typedef struct state_ckpt state_ckpt_t; /* opaque: one decoded, checked
                                         * checkpoint */

/* One followed file, as a checkpoint records it. */
typedef struct {
    char       *path;           /* where it was last seen; owned */
    size_t      input;          /* index into cfg->inputs */
    uint64_t    dev;
    uint64_t    ino;
    uint64_t    offset;         /* bytes consumed, carry included */
    uint64_t    fp;             /* hash of the first fp_len bytes */
    uint32_t    fp_len;
    uint64_t    tfp;            /* hash of the tfp_len bytes before */
    uint32_t    tfp_len;        /*   offset (0: not known) */
    int         skipping;       /* inside a line longer than the limit */
    int         rotated;        /* what the record is: 0 a live file,
                                 * 1 rotated away and still read, 2 a
                                 * generation read to its end, kept to
                                 * know it (up to STATE_KIND_MAX) */
    char       *carry;          /* bytes of an unfinished line; owned */
    size_t      carry_len;
    size_t      join_at;        /* > 0: the carry's first join_at bytes
                                 * came before a truncation (not in
                                 * offset); the join with the rest is a
                                 * guess made when the line ends */
} state_file_t;

/* What a load found. */
typedef struct {
    uint64_t    generation;     /* of the checkpoint used; 0: none */
    double      saved_at;       /* unix time it was written */
    int         corrupt;        /* slots rejected as torn or corrupt */
    size_t      series;         /* series restored */
    size_t      skipped;        /* series of families that changed */
} state_info_t;

/* Asked about a slot's decoded files before its series are merged (see
 * state_load()); saved_at is the checkpoint's unix time.  Returns 0 to
 * accept the slot, non-zero to refuse it (it is counted as corrupt and
 * the other slot tried).  files are valid during the call only. */
typedef int (*state_check_pt)(void *ctx, const state_file_t *files,
    size_t n, double saved_at);


/* Prototypes */

/* Opens the state directory dir (state_save() recreates it if it goes
 * away).  Returns NULL on allocation failure. */
state_t *state_open(const char *dir);

/* Frees st.  state_close(NULL) is a no-op. */
void state_close(state_t *st);

/* Loads the newest valid checkpoint: the slots are read, decoded and
 * checked, newest generation first; check (NULL: none) is called with
 * ctx on a slot's files and may refuse it; the first slot accepted has
 * its series merged into store (families missing from the store, or
 * defined differently, are skipped) and its files returned in *files
 * (free with state_files_free()).  Nothing of a refused slot reaches the
 * store.  Returns 0 when a checkpoint was used, 1 when there was none, -1
 * when every slot was corrupt or refused.  The caller holds the store
 * lock. */
int state_load(state_t *st, store_t *store, state_check_pt check, void *ctx,
    state_file_t **files, size_t *nfiles, state_info_t *info);

/* Decodes and checks the decompressed text of a checkpoint (its header
 * line to its "end" line; len bytes, no NUL needed).  Returns the
 * checkpoint (free with state_ckpt_free()), or NULL with the line and the
 * field that failed in err.  Used by state_load() after gunzip, and by
 * the tests and the fuzzer directly. */
state_ckpt_t *state_parse_text(const char *text, size_t len, char *err,
    size_t errlen);

/* The checkpoint's files (owned by ck), generation and unix time. */
const state_file_t *state_ckpt_files(const state_ckpt_t *ck, size_t *n);
uint64_t state_ckpt_generation(const state_ckpt_t *ck);
double state_ckpt_saved_at(const state_ckpt_t *ck);

/* Merges ck's series into store as state_load() does; adds to
 * info->series and info->skipped.  The caller holds the ingest lock. */
void state_ckpt_apply(const state_ckpt_t *ck, store_t *store,
    state_info_t *info);

/* state_ckpt_free(NULL) is a no-op. */
void state_ckpt_free(state_ckpt_t *ck);

/* Appends to out the text of a checkpoint of snap and files (what
 * state_save() compresses). */
void state_format_text(buf_t *out, uint64_t generation, long long saved_at,
    const store_snap_t *snap, const state_file_t *files, size_t nfiles);

/* Writes a checkpoint of snap and files.  A state directory that was
 * removed is created again (logged at info).  Returns 0, or -1 with a
 * reason in err (the previous checkpoints are then untouched). */
int state_save(state_t *st, const store_snap_t *snap,
    const state_file_t *files, size_t nfiles, char *err, size_t errlen);

void state_files_free(state_file_t *files, size_t n);

#endif /* GWLOG_STATE_H */
