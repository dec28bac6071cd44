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
 */

#ifndef GWLOG_STATE_H
#define GWLOG_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "labels/store.h"


/* Types */

typedef struct state state_t;   /* opaque */

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
    int         rotated;        /* no longer at path: rotated away */
    char       *carry;          /* bytes of an unfinished line; owned */
    size_t      carry_len;
} state_file_t;

/* What a load found. */
typedef struct {
    uint64_t    generation;     /* of the checkpoint used; 0: none */
    double      saved_at;       /* unix time it was written */
    int         corrupt;        /* slots rejected as torn or corrupt */
    size_t      series;         /* series restored */
    size_t      skipped;        /* series of families that changed */
} state_info_t;


/* Prototypes */

/* Opens the state directory dir (which must exist).  Returns NULL on
 * allocation failure. */
state_t *state_open(const char *dir);

/* Frees st.  state_close(NULL) is a no-op. */
void state_close(state_t *st);

/* Loads the newest valid checkpoint: its series are merged into store
 * (families missing from the store, or defined differently, are skipped)
 * and its files returned in *files (free with state_files_free()).
 * Returns 0 when a checkpoint was used, 1 when there was none, -1 when
 * every slot was corrupt.  The caller holds the store lock. */
int state_load(state_t *st, store_t *store, state_file_t **files,
    size_t *nfiles, state_info_t *info);

/* Writes a checkpoint of snap and files.  Returns 0, or -1 with a reason
 * in err (the previous checkpoints are then untouched). */
int state_save(state_t *st, const store_snap_t *snap,
    const state_file_t *files, size_t nfiles, char *err, size_t errlen);

void state_files_free(state_file_t *files, size_t n);

#endif /* GWLOG_STATE_H */
