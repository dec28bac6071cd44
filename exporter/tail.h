/* tail.h - Follows the input files and feeds complete lines to the
 * pipeline.
 *
 * The files are the matches of every input's globs.  inotify (through
 * libinotifytools, on the files' directories) is only a wake-up hint;
 * stat() is the truth: a path whose inode changed was rotated (the old
 * file is read to its end first, then the new one from its beginning), a
 * file shorter than our offset was truncated.  A line is handed to the
 * pipeline only once its newline has arrived; a line longer than
 * max_line_bytes is counted as invalid ("too_long") and skipped with
 * constant memory.
 */

#ifndef GWLOG_TAIL_H
#define GWLOG_TAIL_H

#include "config/config.h"
#include "exporter/pipeline.h"
#include "labels/dims.h"
#include "labels/store.h"


/* Types */

typedef struct tail tail_t;     /* opaque */


/* Prototypes */

/* Creates a tailer for cfg's inputs.  Everything passed is borrowed and
 * must outlive the tailer.  Returns NULL on allocation failure. */
tail_t *tail_create(const cfg_t *cfg, pipeline_t *pipe, store_t *store,
    dims_t *dims);

/* Frees t; the thread must have been stopped.  NULL is a no-op. */
void tail_destroy(tail_t *t);

/* Reads every input file from its beginning to its end, counting a last
 * line without a newline too.  Returns 0, or -1 when a path without glob
 * characters does not exist or a file cannot be read. */
int tail_one_shot(tail_t *t);

/* Starts following the files in a thread of its own.  Returns 0 or -1. */
int tail_start(tail_t *t);

/* Asks the thread to stop and waits for it (at most about a second). */
void tail_stop(tail_t *t);

#endif /* GWLOG_TAIL_H */
