/* pipeline_internal.h - The layout of a pipeline, shared by the files that
 * implement exporter/pipeline.h (internal: nothing else includes it).
 *
 *   pipeline_plan.c    compiling a cfg_t into a pipeline (inputs, fields,
 *                      variables, filters, families, self-metrics)
 *   pipeline_eval.c    the trip of one line: parse, required fields,
 *                      filter, enrich (lookups), then count
 *   pipeline_wait.c    lines waiting for a Redis lookup, and the settler
 *                      thread that counts them
 *   pipeline_series.c  the per-family series cache in front of the store
 *   pipeline_trace.c   the line tester, through the trace hooks of the
 *                      evaluation (NULL when counting)
 */

#ifndef GWLOG_PIPELINE_INTERNAL_H
#define GWLOG_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "exporter/pipeline.h"
#include "labels/filter.h"
#include "parsers/json.h"
#include "parsers/regex.h"


/* Macros */

#define MAX_LABELS      32
#define SCRATCH_BLOCK   (256 * 1024)
#define SC_SLOTS        512             /* series cache, per family */
#define SC_KEY          112             /* packed label bytes it keeps */

/* Calls trace hook h when the line tester runs; one predictable branch on
 * a NULL pointer when counting. */
#define PIPE_TRACE(p, h, ...)                                               \
    do {                                                                    \
        if (__builtin_expect((p)->trace != NULL, 0)) {                      \
            (p)->trace->h((p), ##__VA_ARGS__);                                \
        }                                                                   \
    } while (0)


/* Types */

typedef struct {
    cfg_format_t         format;
    pcre2_code          *re;            /* regex inputs */
    pcre2_match_data    *md;
    int                 *group;         /* per key: capture group, or -1 */
} input_t;

typedef struct {
    const cfg_field_t   *cfg;
    int                  key;           /* index into raw[], or -1 */
    int                  from;          /* field index, or -1 */
    json_keys_t        **path;          /* one key set per path level */
    size_t               npath;
    strv_t               kv_key, kv_sep, kv_assign;
    pcre2_code          *re;
    pcre2_match_data    *md;
} field_t;

/* One slot of a family's series cache (see pipe_series_id()): the label
 * values packed as (u8 length, bytes)*, and the store's id for them. */
typedef struct {
    uint64_t             hash;
    uint32_t             id;
    uint16_t             klen;          /* 0: empty slot */
    char                 key[SC_KEY];
} sc_slot_t;

typedef struct {
    store_family_t      *fam;
    sc_slot_t           *cache;         /* SC_SLOTS, or NULL: no labels */
    uint64_t             max_series;
    int                  labels[MAX_LABELS];
    size_t               nlabels;
    cond_t              *when;
    int                  zero_unmatched; /* "when" false: create at 0 */
    int                  value;         /* histogram: variable, else -1 */
    uint32_t             value_err_id;
    uint32_t             cut_id;        /* gwlog_label_values_truncated */
    int                  exemplar;      /* its variable, or -1: none */
    uint32_t             ex_absent_id;  /* gwlog_exemplars_skipped_total */
    uint32_t             ex_long_id;
} family_t;

typedef struct scratch scratch_t;

struct scratch {
    scratch_t           *next;
    size_t               used;
    size_t               cap;
    char                 data[];
};

typedef struct {
    const char          *name;
    uint32_t             id;
} reason_t;

/* A line waiting for a dimension lookup (Redis backend), with its own
 * copy of the bytes. */
typedef struct parked parked_t;

struct parked {
    parked_t            *next;
    size_t               input;
    size_t               len;
    double               deadline;      /* monotonic: counted by then */
    uint64_t             wait_seq;      /* the answer it waits for */
    char                 line[];
};

/* What a line does to one family, decided before anything is counted. */
typedef struct {
    int                  what;          /* FL_SKIP, FL_VALUE_ERR, FL_COUNT */
    double               x;
    size_t               cut;
    strv_t               labels[MAX_LABELS];
    int                  has_exemplar;  /* the exemplar variable is set */
    strv_t               exemplar;
} famline_t;

/* FL_ZERO: "when" does not hold but the family has zero_unmatched: the
 * series of the line's labels is created (at 0), nothing is added. */
enum { FL_SKIP = 0, FL_VALUE_ERR, FL_COUNT, FL_ZERO };

/* Why a family does not count a line, for the skipped hook. */
enum { PIPE_SKIP_WHEN = 0, PIPE_SKIP_VALUE };

/* The trace hooks: what the evaluation tells the line tester at each
 * step.  pipe_process() calls them only while p->trace is set, which is
 * only inside pipeline_explain(); counting lines never does. */
typedef struct {
    void  (*fields)(pipeline_t *p);                 /* parsed */
    void  (*invalid)(pipeline_t *p, const char *reason);
    void  (*required)(pipeline_t *p, size_t i);     /* absent or empty */
    void  (*filtered)(pipeline_t *p, size_t i);     /* filter i drops it */
    void  (*lookups)(pipeline_t *p);                /* before families */
    void  (*skipped)(pipeline_t *p, size_t fam, int why);
    void  (*series)(pipeline_t *p, size_t fam, double x); /* p->fl[fam] */
    void  (*ok)(pipeline_t *p);
} pipe_trace_t;

struct pipeline {
    const cfg_t         *cfg;           /* not owned */
    store_t             *store;         /* not owned */
    dims_t              *dims;          /* not owned */

    /* The plan (pipeline_plan.c), read only once compiled. */
    char               **keys;          /* distinct "key" names */
    size_t               nkeys;
    json_keys_t         *jkeys;
    input_t             *inputs;

    field_t             *fields;
    size_t               nfields;
    size_t               nvars;         /* fields + provided columns */
    int                 *var_table;     /* per variable beyond the fields */
    int                 *var_col;
    int                (*dim_keys)[MAX_LABELS]; /* per table: key fields */

    int                 *required;
    int                  event_time;    /* variable, or -1 */
    _Atomic double       last_event;    /* unix time of the last ok line */
    cond_t             **filters;
    uint32_t            *filter_ids;
    family_t            *fams;
    size_t               nfams;

    /* Self-metrics. */
    store_family_t      *f_lines, *f_errors, *f_filtered, *f_bytes;
    store_family_t      *f_value_errors, *f_cut;
    store_family_t      *f_exemplars;   /* NULL: no family has exemplars */
    uint32_t             id_ok, id_invalid, id_filtered, id_bytes;
    reason_t             reasons[16];
    size_t               nreasons;

    /* Per-line state (pipeline_eval.c). */
    uint32_t             gen;
    json_val_t          *raw;
    uint32_t            *stamp;         /* per variable */
    uint8_t             *present;
    strv_t              *val;
    uint32_t            *row_stamp;     /* per table */
    const strv_t       **row;
    strv_t               tmp_keys[MAX_LABELS];
    scratch_t           *scratch;
    famline_t           *fl;            /* per family */

    /* The line tester (pipeline_trace.c): NULL when counting. */
    const pipe_trace_t  *trace;
    FILE                *trace_out;     /* not owned */
    pipeline_verdict_t   trace_verdict;

    /* Lines waiting for Redis (pipeline_wait.c).  The list belongs to
     * whoever holds the ingest lock. */
    int                  async;         /* dims may answer DIMS_PENDING */
    double               max_wait;
    uint64_t             max_bytes;
    parked_t            *phead, **ptail;
    uint64_t             pbytes;
    _Atomic uint64_t     nparked;
    uint32_t             tick;
    int                  replay;        /* replaying a parked line */
    int                  final;         /* pending lookups give "missing" */
    int                  probe;         /* count nothing (line tester) */
    int                  pending;       /* this line needs an answer */
    uint64_t             wait_seq;
    int                  overflow_logged;
    pthread_t            settler;
    int                  settler_running;
    _Atomic int          stop;
};


/* Prototypes */

/* pipeline_eval.c: the trip of one line.  Returns 1, having counted
 * nothing, when a dimension lookup is pending (p->wait_seq says which
 * answer to wait for), else 0.  The caller holds the ingest lock. */
int pipe_process(pipeline_t *p, size_t input, const char *line, size_t len);

/* pipeline_eval.c: the value of variable var for the current line (1), or
 * 0 when absent; a cond_eval() callback (ctx is the pipeline). */
int pipe_var_get(void *ctx, int var, strv_t *v);

/* pipeline_eval.c: the series id of value in a one-label self family. */
uint32_t pipe_self_series(store_family_t *f, const char *value);

/* pipeline_eval.c: frees the scratch arena. */
void pipe_scratch_free(pipeline_t *p);

/* pipeline_wait.c: pipeline_line() with the Redis backend. */
void pipe_wait_line(pipeline_t *p, size_t input, const char *line,
    size_t len);

/* pipeline_wait.c: starts the settler thread (the Redis backend); 0, or
 * -1 with a reason in err.  pipe_wait_stop() stops it and frees the lines
 * still waiting (uncounted: pipeline_flush() first to count them). */
int pipe_wait_start(pipeline_t *p, char *err, size_t errlen);
void pipe_wait_stop(pipeline_t *p);

/* pipeline_series.c: store_series() through family f's cache. */
uint32_t pipe_series_id(family_t *f, const strv_t *labels);

#endif /* GWLOG_PIPELINE_INTERNAL_H */
