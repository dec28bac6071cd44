/* tail_internal.h - What the tailer's files share: the records, the
 * candidates of a scan, and the functions one file calls in another.
 * Private to exporter/ (tools/layers.py refuses it elsewhere).
 *
 *   tail.c        the public API and the ingest thread: its loop, timers,
 *                 checkpoints, configuration swaps and self-metrics
 *   tail_file.c   one record: open, read, split lines, fingerprints
 *   tail_scan.c   the scan: globs and generations paired with records
 *   tail_copy.c   content: probing, verifying and reading copies (plain
 *                 or gzip), truncation recovery
 *   tail_watch.c  waking up: inotify or polling, behind one interface
 *
 * Every function here runs on the tail thread (or, before it starts, on
 * the caller's), which owns the records; the ingest lock is taken around
 * each chunk fed to the pipeline, files_lock around changes of the record
 * array and paths (read by the metrics thread).
 */

#ifndef GWLOG_TAIL_INTERNAL_H
#define GWLOG_TAIL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "exporter/tail.h"


/* Macros and types */

#define READ_CHUNK      (1024 * 1024)
#define MAP_WINDOW      (64 * 1024 * 1024)  /* --one-shot: bytes mapped at once */
#define FP_MAX          STATE_FP_MAX    /* bytes in a fingerprint */
#define GENS_INTERVAL   10.0            /* seconds between generation scans
                                         * when nothing asked for one */
#define HORIZON_SLACK   2.0             /* seconds: coarse file clocks */
#define MISSING_GRACE   2.0             /* seconds a closed record may be
                                         * missing before it is given up */

/* What a record is (tfile_t.rotated; checkpoints store the number). */
enum {
    K_LIVE = 0,                         /* under an input glob */
    K_ROTATED = 1,                      /* renamed away, still read */
    K_DONE = 2                          /* a generation read to its end (or
                                         * older than our horizon), kept
                                         * to know it and its copies */
};

/* What verify_copy() finds. */
enum { V_NONE, V_PREFIX, V_AT, V_LONGER, V_UNSURE };

typedef struct {
    char            *path;          /* glob path it was last seen at */
    size_t           input;
    int              fd;            /* -1: closed (idle, or not reopened) */
    dev_t            dev;
    ino_t            ino;
    off_t            offset;        /* bytes consumed, carry included */
    off_t            size;          /* as last seen */
    uint64_t         fp;            /* hash of the first fp_len bytes */
    uint32_t         fp_len;
    uint64_t         tfp;           /* hash of the tfp_len bytes before */
    uint32_t         tfp_len;       /*   tfp_at: pins our position */
    off_t            tfp_at;
    char            *carry;         /* a line whose newline is still due */
    size_t           carry_len;
    size_t           carry_cap;
    size_t           join_at;       /* > 0: the carry's first join_at bytes
                                     * came before a truncation, and the
                                     * join with what follows is a guess */
    int              skipping;      /* inside a too long line */
    atomic_int       rotated;       /* K_LIVE, K_ROTATED or K_DONE; read
                                     * by the metrics thread */
    int              restored;      /* from a checkpoint, not yet seen */
    int              gz;            /* K_DONE: a gzip file */
    off_t            disk_size;     /* K_DONE: st_size and mtime when */
    int64_t          mtime_ns;      /*   last checked */
    unsigned         born;          /* scan that created it */
    double           missing_since; /* closed and not found since then
                                     * (monotonic seconds; 0: found) */
    struct match    *match;         /* during a scan: its candidate */
    double           last_growth;   /* monotonic seconds */
    double           last_active;
    _Atomic int64_t  pub_offset;    /* for the metrics thread */
    _Atomic int64_t  pub_size;
    atomic_int       pub_open;
} tfile_t;

/* A file found by a scan: under an input glob (live) or a generation
 * under a "rotated" pattern of a live path. */
typedef struct match {
    char            *path;
    size_t           input;
    struct stat      st;
    int              used;          /* paired with a record */
    int              live;
    int              probed;        /* 0: not yet; 1: probe holds its
                                     * head; -1: unreadable; -2: a gzip
                                     * stream still being written */
    struct probe    *probe;         /* owned, freed with the candidate */
} match_t;

/* The first bytes of a candidate, decompressed if it is gzip. */
typedef struct probe {
    char             head[FP_MAX];
    uint32_t         head_len;
    int              gz;
} probe_t;

struct tail {
    const cfg_t     *cfg;           /* not owned */
    pipeline_t      *pipe;          /* not owned */
    store_t         *store;         /* not owned */
    dims_t          *dims;          /* not owned */
    state_t         *state;         /* not owned; NULL: no checkpoints */

    pthread_mutex_t  files_lock;    /* the array and paths, for metrics */
    tfile_t        **files;
    size_t           nfiles;
    size_t           cap;
    char            *buf;           /* READ_CHUNK bytes */

    const struct watch_ops *watch;  /* inotify or polling (tail_watch.c) */
    char           **dirs;          /* watched directories */
    size_t           ndirs;
    int              have_state;    /* a checkpoint was restored */
    int              first_scan;
    int              gens_due;      /* a generation scan is needed */
    unsigned         scan_seq;
    double           horizon;       /* unix time: unknown generations
                                     * last written before are not read */
    double           last_gens;
    int              ckpt_failing;
    double           last_scan, last_ckpt, last_dims;
    _Atomic double   ckpt_time;     /* unix time of the last checkpoint */

    store_family_t  *f_rotations;
    store_family_t  *f_lost;
    store_family_t  *f_files_lost;
    store_family_t  *f_ckpt_errors;
    store_family_t  *f_ckpt_corrupt;
    uint32_t         id_ckpt_errors;
    uint32_t         id_ckpt_corrupt;

    pthread_mutex_t  swap_lock;     /* a reload handing over */
    pthread_cond_t   swap_done;
    struct swap     *swap;

    pthread_t        thread;
    int              running;
    int              one_shot;      /* in tail_one_shot(): reads may map */
    atomic_int       stop;
};

/* A configuration reload handed to the tail thread (see tail_swap()). */
struct swap {
    const cfg_t     *cfg;
    pipeline_t      *pipe;
    store_t         *store;
    dims_t          *dims;
    int            (*keep)(void *ctx, const char *family);
    void            *ctx;
    int              done;
};


/* Prototypes */

void tail_scan(tail_t *t, int gens);
void tail_register_copy(tail_t *t, match_t *c, const probe_t *p,
    const tfile_t *like);
void tfile_done(tail_t *t, tfile_t *f, const struct stat *st);
tfile_t *tfile_new(tail_t *t, const char *path, size_t input);
void tfile_remove(tail_t *t, size_t i);
int tfile_open(tfile_t *f, const char *path);
void tfile_close(tfile_t *f);
int tfile_drain(tail_t *t, tfile_t *f);
void tfile_truncated(tail_t *t, tfile_t *f, off_t size,
    int keep_carry);
void tfile_fp_update(tfile_t *f);
void tfile_tfp_update(tfile_t *f);
int tfile_position_matches(tfile_t *f, int fd);
void tfile_feed(tail_t *t, tfile_t *f, const char *p, size_t n);
void tfile_flush_last(tail_t *t, tfile_t *f);
void tfile_carry_append(tail_t *t, tfile_t *f, const char *p, size_t n);
void tail_count_rotation(tail_t *t, const char *path, const char *kind);
void tail_count_lost(tail_t *t, const char *path, uint64_t n);
/* The same, the caller holding the ingest lock. */
void tail_count_lost_locked(tail_t *t, const char *path, uint64_t n);
void tfile_publish(tfile_t *f);
void tail_limit_open_files(tail_t *t);
/* tail_watch.c: what wakes the thread.  tail_watch_init() picks inotify
 * (unless the config polls or it is unavailable) or polling; _dir()
 * watches the directory of a glob; _wait() returns after an event or the
 * poll interval, 1 when a scan is due at once; _scan_every() is the
 * longest time between two scans; _cleanup() stops watching (the thread
 * has stopped); _free() frees the directory list. */
void tail_watch_init(tail_t *t);
void tail_watch_dir(tail_t *t, const char *glob_path);
int tail_watch_wait(tail_t *t);
double tail_watch_scan_every(const tail_t *t);
void tail_watch_cleanup(tail_t *t);
void tail_watch_free(tail_t *t);
int tail_has_glob(const char *s);
char *tail_expand(const char *pattern, const char *path);
int tail_probe_head(const char *path, probe_t *p);
int tail_verify_copy(const tfile_t *f, const char *path,
    const probe_t *p);
int tail_head_matches(tfile_t *f, const char *path);
int tail_head_prefix_of(const tfile_t *f, const probe_t *p);
int tail_gz_complete(const char *path);
int64_t tail_read_copy(tail_t *t, tfile_t *f, const char *path,
    off_t from, int *complete);
int64_t tail_mtime_ns(const struct stat *st);

#endif /* GWLOG_TAIL_INTERNAL_H */
