/* tail.h - Follows the input files and feeds every complete line to the
 * pipeline exactly once, through rotation, truncation and restarts.
 *
 * A file is known by its identity (device, inode, and a fingerprint of its
 * first bytes), not by its name.  inotify (through libinotifytools, on the
 * files' directories) only wakes the reader; stat() is the truth:
 *
 *   - a file no longer found under any glob was renamed away (or deleted):
 *     it is still read until it has not grown for rotate_wait, so a writer
 *     that keeps writing to the old inode loses nothing;
 *   - a file shorter than our offset (or whose first bytes changed) was
 *     truncated: the bytes we had not read yet are recovered from its
 *     rotated copy (config "rotated", plain or gzip), found by fingerprint;
 *     what cannot be recovered is counted in
 *     gwlog_truncated_bytes_lost_total;
 *   - with a state directory, offsets, unfinished lines and every series
 *     value are checkpointed together, so a restart (even after SIGKILL)
 *     resumes where the counts stopped.
 *
 * A line is handed to the pipeline only once its newline has arrived; a
 * line longer than max_line_bytes is counted as invalid ("too_long") and
 * skipped with constant memory.
 */

#ifndef GWLOG_TAIL_H
#define GWLOG_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "exporter/pipeline.h"
#include "exporter/state.h"
#include "labels/dims.h"
#include "labels/store.h"
#include "lib/buf.h"


/* Types */

typedef struct tail tail_t;     /* opaque */

/* One followed file, for the status page. */
typedef struct {
    char        *path;          /* owned by the array (tail_files_free) */
    int64_t      offset;
    int64_t      size;
    int          open;
    int          rotated;       /* renamed away, still being read */
} tail_file_info_t;


/* Prototypes */

/* Creates a tailer for cfg's inputs; it adds its own counters to store.
 * Everything passed is borrowed and must outlive the tailer; state may be
 * NULL (no checkpoints).  Returns NULL on allocation failure. */
tail_t *tail_create(const cfg_t *cfg, pipeline_t *pipe, store_t *store,
    dims_t *dims, state_t *state);

/* Frees t; the thread must have been stopped.  NULL is a no-op. */
void tail_destroy(tail_t *t);

/* Reads every input file from its beginning to its end, counting a last
 * line without a newline too.  Returns 0, or -1 when a path without glob
 * characters does not exist or a file cannot be read. */
int tail_one_shot(tail_t *t);

/* Restores the last checkpoint, if there is a state directory: series
 * values go into the store, file positions into the tailer.  Call before
 * serving and before tail_start().  Returns 0, or -1 when every
 * checkpoint was corrupt (the exporter then starts from zero). */
int tail_restore(tail_t *t);

/* Starts following the files in a thread of its own.  Returns 0 or -1. */
int tail_start(tail_t *t);

/* Asks the thread to stop, waits for it (about a second at most) and
 * writes a last checkpoint. */
void tail_stop(tail_t *t);

/* Hands a reloaded configuration to the tailer: between two read chunks,
 * the series of the old store whose families keep(ctx, name) accepts (and
 * that the new store defines the same way) are carried into the new store,
 * then the tailer follows cfg with pipe, store and dims.  Blocks until it
 * is done (at most about a second).  The old objects are no longer used by
 * the tailer afterwards; the caller frees them.  Returns 0 or -1 (the old
 * configuration stays). */
int tail_swap(tail_t *t, const cfg_t *cfg, pipeline_t *pipe, store_t *store,
    dims_t *dims, int (*keep)(void *ctx, const char *family), void *ctx);

/* Copies the list of followed files into *out (free it with
 * tail_files_free()); returns how many.  Safe from any thread. */
size_t tail_files(tail_t *t, tail_file_info_t **out);
void tail_files_free(tail_file_info_t *files, size_t n);

/* Unix time of the last valid line's event time, or 0; any thread. */
double tail_last_event_time(tail_t *t);

/* Sets the tailer's gauges (open files, offset and size of each live
 * path, event lag, last checkpoint) in s, a store of collected families
 * (store.h), its lock held; any thread. */
void tail_collect(tail_t *t, store_t *s);

#endif /* GWLOG_TAIL_H */
