/* pipeline.c - The one place a line goes through parse -> filter -> enrich
 * -> series.
 *
 * Per line, parsing fills raw[] (one slot per distinct "key" of the
 * config: a top-level JSON value, or a regex group).  Every other value is
 * computed on first use and kept for the rest of the line: a variable is
 * "fresh" when its stamp equals the line's generation number, so nothing
 * is cleared between lines.  Values that need new bytes (unescaped
 * strings, repaired UTF-8, regex replacements) live in a scratch arena
 * that is reset per line; nothing is allocated per line in the steady
 * state.
 */

#include "exporter/pipeline.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labels/expo.h"
#include "labels/filter.h"
#include "lib/alloc.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "parsers/json.h"
#include "parsers/kv.h"
#include "parsers/regex.h"
#include "parsers/utf8.h"


#define MAX_LABELS      32
#define SCRATCH_BLOCK   (256 * 1024)
#define SC_SLOTS        512             /* series cache, per family */
#define SC_KEY          112             /* packed label bytes it keeps */

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

/* One slot of a family's series cache (see series_id()): the label
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
} famline_t;

/* FL_ZERO: "when" does not hold but the family has zero_unmatched: the
 * series of the line's labels is created (at 0), nothing is added. */
enum { FL_SKIP = 0, FL_VALUE_ERR, FL_COUNT, FL_ZERO };

struct pipeline {
    const cfg_t         *cfg;           /* not owned */
    store_t             *store;         /* not owned */
    dims_t              *dims;          /* not owned */

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
    uint32_t             id_ok, id_invalid, id_filtered, id_bytes;
    reason_t             reasons[16];
    size_t               nreasons;

    /* Per-line state. */
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

    /* Lines waiting for Redis (see "Waiting lines" below).  The list
     * belongs to whoever holds the store lock. */
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


static int process(pipeline_t *p, size_t input, const char *line,
    size_t len, FILE *ex);
static void park(pipeline_t *p, size_t input, const char *line, size_t len);
static void settle(pipeline_t *p, int force);
static void *settler_main(void *arg);
static void verdict_invalid(pipeline_t *p, const char *reason, FILE *ex);
static void explain_fields(pipeline_t *p, FILE *ex);
static void explain_dims(pipeline_t *p, FILE *ex);
static void explain_series(pipeline_t *p, size_t i, const strv_t *labels,
    int observe, double x, FILE *ex);
static void explain_quoted(FILE *ex, strv_t v);
static int compile_fields(pipeline_t *p, char *err, size_t errlen);
static int compile_inputs(pipeline_t *p, char *err, size_t errlen);
static int compile_metrics(pipeline_t *p, char *err, size_t errlen);
static int add_self_families(pipeline_t *p);
static int key_index(pipeline_t *p, const char *name);
static int var_resolve(void *ctx, const char *name);
static int var_get(void *ctx, int var, strv_t *v);
static int field_eval(pipeline_t *p, size_t i, strv_t *v);
static int raw_text(pipeline_t *p, const json_val_t *raw, strv_t *v);
static int json_path(pipeline_t *p, field_t *f, json_val_t cur, strv_t *v);
static char *scratch_alloc(pipeline_t *p, size_t n);
static void scratch_reset(pipeline_t *p);
static void count_invalid(pipeline_t *p, const char *reason);
static uint32_t self_series(store_family_t *f, const char *value);
static uint32_t series_id(family_t *f, const strv_t *labels);
static void *zalloc(size_t n, size_t size);


pipeline_t *
pipeline_create(const cfg_t *cfg, store_t *store, dims_t *dims, char *err,
    size_t errlen)
{
    pipeline_t  *p;
    size_t       i, j, v;

    p = zalloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cfg = cfg;
    p->store = store;
    p->dims = dims;

    p->nfields = cfg->nfields;
    p->nvars = cfg->nfields;
    for (i = 0; i < cfg->ndims; i++) {
        p->nvars += cfg->dims[i].nprovides;
    }
    p->fields = zalloc(cfg->nfields, sizeof(field_t));
    p->keys = zalloc(cfg->nfields, sizeof(char *));
    p->var_table = zalloc(p->nvars, sizeof(int));
    p->var_col = zalloc(p->nvars, sizeof(int));
    p->stamp = zalloc(p->nvars, sizeof(uint32_t));
    p->present = zalloc(p->nvars, sizeof(uint8_t));
    p->val = zalloc(p->nvars, sizeof(strv_t));
    p->row_stamp = zalloc(cfg->ndims, sizeof(uint32_t));
    p->row = zalloc(cfg->ndims, sizeof(strv_t *));
    p->dim_keys = zalloc(cfg->ndims, sizeof(*p->dim_keys));
    p->required = zalloc(cfg->nrequired, sizeof(int));
    p->filters = zalloc(cfg->nfilters, sizeof(cond_t *));
    p->filter_ids = zalloc(cfg->nfilters, sizeof(uint32_t));
    p->fams = zalloc(cfg->nmetrics, sizeof(family_t));
    if (!p->fields || !p->keys || !p->var_table || !p->var_col || !p->stamp
        || !p->present || !p->val || !p->row_stamp || !p->row || !p->dim_keys
        || !p->required || !p->filters || !p->filter_ids || !p->fams)
    {
        snprintf(err, errlen, "out of memory");
        goto err;
    }

    v = cfg->nfields;
    for (i = 0; i < cfg->ndims; i++) {
        for (j = 0; j < cfg->dims[i].nprovides; j++, v++) {
            p->var_table[v] = (int) i;
            p->var_col[v] = (int) j;
        }
        if (cfg->dims[i].nkeys > MAX_LABELS) {
            snprintf(err, errlen, "%s:%d: more than %d key columns", cfg->file,
                     cfg->dims[i].line, MAX_LABELS);
            goto err;
        }
        for (j = 0; j < cfg->dims[i].nkeys; j++) {
            p->dim_keys[i][j] = config_field_index(cfg,
                                                   cfg->dims[i].key_fields[j]);
            if (p->dim_keys[i][j] < 0) {
                snprintf(err, errlen, "%s:%d: key \"%s\" is not a field",
                         cfg->file, cfg->dims[i].line,
                         cfg->dims[i].key_fields[j]);
                goto err;
            }
        }
    }

    if (compile_fields(p, err, errlen) != 0
        || compile_inputs(p, err, errlen) != 0)
    {
        goto err;
    }
    p->event_time = -1;
    if (cfg->event_time != NULL) {
        p->event_time = var_resolve(p, cfg->event_time);
        if (p->event_time < 0) {
            snprintf(err, errlen, "%s: event_time \"%s\" is not a variable",
                     cfg->file, cfg->event_time);
            goto err;
        }
    }
    for (i = 0; i < cfg->nrequired; i++) {
        p->required[i] = config_field_index(cfg, cfg->required[i]);
        if (p->required[i] < 0) {
            snprintf(err, errlen, "%s: required field \"%s\" is not defined",
                     cfg->file, cfg->required[i]);
            goto err;
        }
    }
    for (i = 0; i < cfg->nfilters; i++) {
        char  msg[256];

        p->filters[i] = cond_compile(&cfg->filters[i].drop, var_resolve, p,
                                     msg, sizeof(msg));
        if (p->filters[i] == NULL) {
            snprintf(err, errlen, "%s:%d: %s", cfg->file,
                     cfg->filters[i].line, msg);
            goto err;
        }
    }
    if (compile_metrics(p, err, errlen) != 0 || add_self_families(p) != 0) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "out of memory");
        }
        goto err;
    }
    p->fl = zalloc(p->nfams, sizeof(famline_t));
    if (p->fl == NULL) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    p->ptail = &p->phead;
    p->async = dims != NULL && dims_async(dims);
    if (p->async) {
        p->max_wait = dims_max_wait(dims);
        p->max_bytes = dims_max_pending_bytes(dims);
        if (pthread_create(&p->settler, NULL, settler_main, p) != 0) {
            snprintf(err, errlen, "pthread_create() failed");
            goto err;
        }
        p->settler_running = 1;
    }
    return p;

err:
    pipeline_destroy(p);
    return NULL;
}


void
pipeline_destroy(pipeline_t *p)
{
    size_t  i, j;

    if (p == NULL) {
        return;
    }
    if (p->settler_running) {
        atomic_store(&p->stop, 1);
        dims_wake(p->dims);
        pthread_join(p->settler, NULL);
    }
    while (p->phead != NULL) {
        parked_t  *next = p->phead->next;

        free(p->phead);
        p->phead = next;
    }
    free(p->fl);
    for (i = 0; p->fams && i < p->nfams; i++) {
        free(p->fams[i].cache);
    }
    for (i = 0; p->fields && i < p->nfields; i++) {
        for (j = 0; j < p->fields[i].npath; j++) {
            json_keys_destroy(p->fields[i].path[j]);
        }
        free(p->fields[i].path);
        if (p->fields[i].md) {
            pcre2_match_data_free(p->fields[i].md);
        }
        if (p->fields[i].re) {
            pcre2_code_free(p->fields[i].re);
        }
    }
    for (i = 0; p->inputs && i < p->cfg->ninputs; i++) {
        if (p->inputs[i].md) {
            pcre2_match_data_free(p->inputs[i].md);
        }
        if (p->inputs[i].re) {
            pcre2_code_free(p->inputs[i].re);
        }
        free(p->inputs[i].group);
    }
    for (i = 0; p->filters && i < p->cfg->nfilters; i++) {
        cond_free(p->filters[i]);
    }
    for (i = 0; p->fams && i < p->nfams; i++) {
        cond_free(p->fams[i].when);
    }
    json_keys_destroy(p->jkeys);
    p->nkeys = 0;
    while (p->scratch) {
        scratch_t  *next = p->scratch->next;

        free(p->scratch);
        p->scratch = next;
    }
    free(p->inputs);
    free(p->keys);
    free(p->raw);
    free(p->fields);
    free(p->var_table);
    free(p->var_col);
    free(p->stamp);
    free(p->present);
    free(p->val);
    free(p->row_stamp);
    free(p->row);
    free(p->dim_keys);
    free(p->required);
    free(p->filters);
    free(p->filter_ids);
    free(p->fams);
    free(p);
}


/* Waiting lines (the Redis backend).
 *
 * A line whose lookups the local cache cannot answer is "parked": nothing
 * of it is counted yet, its bytes are copied, and it waits for the answer
 * (dims_sync() reaching its sequence number) or for its deadline
 * (dimensions.redis.wait, 1 s by default), whichever comes first.  It is
 * then processed again from its bytes ("replayed"): with the answer it
 * gets the right labels; at the deadline every lookup still pending gives
 * the table's "missing" value.  A replay that needs another lookup (a
 * filter on one table, then a label from another) parks again with the
 * same deadline.  Every line is counted exactly once, either way:
 *
 *   1. nothing is counted before the line's lookups are all answered:
 *      families are evaluated first (labels, values, "when"), and counted
 *      only when no lookup is pending;
 *   2. the list is only touched under the store lock: by the tail thread
 *      at the start of each line, and by the settler thread when the tail
 *      is idle (it wakes on answers and every 20 ms for deadlines);
 *   3. a checkpoint flushes the list first (pipeline_flush(), replaying
 *      each line with what is known), so counts match the offsets it
 *      saves; the tailer postpones a due checkpoint while lines wait, by
 *      at most one wait, so that a flush rarely has to give up on one;
 *   4. more than max_pending_bytes of waiting lines (a stalled Redis at a
 *      high rate): the oldest are counted at once with what is known.
 */
void
pipeline_line(pipeline_t *p, size_t input, const char *line, size_t len)
{
    if (!p->async) {
        (void) process(p, input, line, len, NULL);
        return;
    }
    if (p->phead != NULL
        && (dims_has_news(p->dims) || (++p->tick & 255) == 0))
    {
        settle(p, 0);
    } else {
        (void) dims_sync(p->dims);
    }
    p->pending = 0;
    p->wait_seq = 0;
    if (process(p, input, line, len, NULL) != 0) {
        park(p, input, line, len);
    }
}


/* In the line tester, lookups are waited for (bounded): the tester runs
 * the line without counting until nothing is pending, then explains. */
void
pipeline_explain(pipeline_t *p, size_t input, const char *line, size_t len,
    FILE *out)
{
    double  until;

    if (p->async) {
        store_lock(p->store);
        until = clock_mono() + p->max_wait;
        p->probe = 1;
        for (;;) {
            p->pending = 0;
            (void) dims_sync(p->dims);
            if (process(p, input, line, len, NULL) == 0
                || clock_mono() >= until)
            {
                break;
            }
            dims_wait(p->dims, 0.02);
        }
        p->probe = 0;
        p->final = 1;
        (void) process(p, input, line, len, out);
        p->final = 0;
        store_unlock(p->store);
        return;
    }
    (void) process(p, input, line, len, out);
}


uint64_t
pipeline_pending(pipeline_t *p)
{
    return atomic_load_explicit(&p->nparked, memory_order_relaxed);
}


double
pipeline_max_wait(pipeline_t *p)
{
    return p->async ? p->max_wait : 0;
}


void
pipeline_flush(pipeline_t *p)
{
    if (p->async) {
        settle(p, 1);
    }
}


void
pipeline_drain(pipeline_t *p)
{
    uint64_t  n;

    while (p->async) {
        store_lock(p->store);
        settle(p, 0);
        n = atomic_load(&p->nparked);
        store_unlock(p->store);
        if (n == 0) {
            break;
        }
        dims_wait(p->dims, 0.02);
    }
}


/* Keeps a copy of the line; see "Waiting lines". */
static void
park(pipeline_t *p, size_t input, const char *line, size_t len)
{
    parked_t  *e;

    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL) {
        p->final = 1;                   /* no memory: count it now */
        (void) process(p, input, line, len, NULL);
        p->final = 0;
        return;
    }
    e->next = NULL;
    e->input = input;
    e->len = len;
    e->deadline = clock_mono() + p->max_wait;
    e->wait_seq = p->wait_seq;
    memcpy(e->line, line, len);
    e->line[len] = '\0';
    *p->ptail = e;
    p->ptail = &e->next;
    p->pbytes += len;
    atomic_fetch_add(&p->nparked, 1);

    /* Scenario 4: too much waiting. */
    while (p->pbytes > p->max_bytes && p->phead != NULL) {
        e = p->phead;
        p->phead = e->next;
        if (p->phead == NULL) {
            p->ptail = &p->phead;
        }
        p->pbytes -= e->len;
        atomic_fetch_sub(&p->nparked, 1);
        if (!p->overflow_logged) {
            log_warn("more than %" PRIu64 " bytes of lines wait for "
                     "dimension lookups: the oldest are counted without "
                     "waiting (dimensions.redis.max_pending_bytes)",
                     p->max_bytes);
            p->overflow_logged = 1;
        }
        p->replay = 1;
        p->final = 1;
        (void) process(p, e->input, e->line, e->len, NULL);
        p->replay = 0;
        p->final = 0;
        free(e);
    }
    dims_set_pending_lines(p->dims, atomic_load(&p->nparked));
}


/* Replays the waiting lines whose answer arrived or whose deadline
 * passed (every one when force).  The caller holds the store lock. */
static void
settle(pipeline_t *p, int force)
{
    parked_t  **prev, *e;
    uint64_t    synced;
    double      now;
    int         rc;

    synced = dims_sync(p->dims);
    if (p->phead == NULL) {
        return;
    }
    now = clock_mono();
    prev = &p->phead;
    while ((e = *prev) != NULL) {
        if (!force && now < e->deadline && synced < e->wait_seq) {
            prev = &e->next;
            continue;
        }
        p->replay = 1;
        p->final = force || now >= e->deadline;
        p->pending = 0;
        p->wait_seq = 0;
        rc = process(p, e->input, e->line, e->len, NULL);
        p->replay = 0;
        p->final = 0;
        if (rc != 0) {
            e->wait_seq = p->wait_seq;      /* needs another answer */
            prev = &e->next;
            continue;
        }
        *prev = e->next;
        p->pbytes -= e->len;
        atomic_fetch_sub(&p->nparked, 1);
        free(e);
    }
    p->ptail = prev;
    dims_set_pending_lines(p->dims, atomic_load(&p->nparked));
}


/* Counts waiting lines while the tail thread is idle: wakes on answers,
 * and every 20 ms for deadlines. */
static void *
settler_main(void *arg)
{
    pipeline_t  *p = arg;

    while (!atomic_load(&p->stop)) {
        dims_wait(p->dims, 0.02);
        if (atomic_load(&p->nparked) == 0 && !dims_has_news(p->dims)) {
            continue;
        }
        store_lock(p->store);
        settle(p, 0);
        store_unlock(p->store);
    }
    return NULL;
}


/* The trip of one line.  With ex set (the line tester), every step is
 * described on ex and nothing is counted: no series, no self-metric.
 * Returns 1, having counted nothing, when a dimension lookup is pending
 * (p->wait_seq says which answer to wait for), else 0. */
static int
process(pipeline_t *p, size_t input, const char *line, size_t len, FILE *ex)
{
    input_t   *in = &p->inputs[input];
    family_t  *f;
    strv_t     v;
    uint32_t   id;
    size_t     i, k, cut;
    double     x;
    int        rc, zero;

    p->gen++;
    if (p->gen == 0) {
        /* Wrapped: stale stamps could look fresh again. */
        memset(p->stamp, 0, p->nvars * sizeof(uint32_t));
        memset(p->row_stamp, 0, p->cfg->ndims * sizeof(uint32_t));
        p->gen = 1;
    }
    scratch_reset(p);

    /* Parse. */
    if (in->format == CFG_FORMAT_JSON) {
        rc = json_scan(p->jkeys, line, len, p->raw);
        if (rc != JSON_OK) {
            verdict_invalid(p, json_strerror(rc), ex);
            return 0;
        }
    } else {
        PCRE2_SIZE  *ov;
        int          n;

        n = regex_match(in->re, (strv_t) { line, len }, in->md);
        if (n == 0) {
            verdict_invalid(p, "no_match", ex);
            return 0;
        }
        ov = pcre2_get_ovector_pointer(in->md);
        for (k = 0; k < p->nkeys; k++) {
            int  g = in->group[k];

            memset(&p->raw[k], 0, sizeof(json_val_t));
            if (g < 0 || g >= n || ov[2 * g] == PCRE2_UNSET) {
                continue;
            }
            p->raw[k].type = JSON_STRING;
            p->raw[k].p = line + ov[2 * g];
            p->raw[k].len = ov[2 * g + 1] - ov[2 * g];
        }
    }
    if (ex != NULL) {
        explain_fields(p, ex);
    }

    /* Required fields. */
    for (i = 0; i < p->cfg->nrequired; i++) {
        if (!var_get(p, p->required[i], &v) || v.len == 0) {
            if (ex != NULL) {
                fprintf(ex, "  required field \"%s\" is absent or empty\n",
                        p->cfg->required[i]);
            }
            verdict_invalid(p, "missing_field", ex);
            return 0;
        }
    }

    /* Filters: the first that holds drops the line. */
    for (i = 0; i < p->cfg->nfilters; i++) {
        rc = cond_eval(p->filters[i], var_get, p);
        if (p->pending) {
            return 1;                   /* the verdict needs an answer */
        }
        if (rc) {
            if (ex != NULL) {
                fprintf(ex, "verdict: filtered by filter \"%s\" (line %d of "
                        "%s)\n", p->cfg->filters[i].name,
                        p->cfg->filters[i].line, p->cfg->file);
                return 0;
            }
            if (!p->probe) {
                store_add(p->f_lines, p->id_filtered, 1);
                store_add(p->f_filtered, p->filter_ids[i], 1);
            }
            return 0;
        }
    }
    if (ex != NULL) {
        explain_dims(p, ex);
        fprintf(ex, "series:\n");
    }

    /* Families: first decide everything (this is where lookups
     * happen), then count, so that a line waiting for a lookup has
     * counted nothing. */
    for (i = 0; i < p->nfams; i++) {
        famline_t  *fl = &p->fl[i];
        strv_t     *labels = fl->labels;

        f = &p->fams[i];
        fl->what = FL_SKIP;
        zero = 0;
        if (f->when != NULL && !cond_eval(f->when, var_get, p)) {
            if (ex != NULL) {
                fprintf(ex, "  %s: not counted (\"when\" does not hold)%s\n",
                        p->cfg->metrics[i].name, f->zero_unmatched
                        ? "; its series is created at 0" : "");
            }
            if (!f->zero_unmatched) {
                continue;
            }
            zero = 1;
        }
        if (!zero && f->value >= 0
            && !(var_get(p, f->value, &v) && value_number(v, &x)))
        {
            if (ex != NULL) {
                fprintf(ex, "  %s: not observed (value field \"%s\" absent "
                        "or not a number)\n", p->cfg->metrics[i].name,
                        p->cfg->metrics[i].value_field);
                continue;
            }
            fl->what = FL_VALUE_ERR;
            continue;
        }
        /* max_label_bytes: a longer value is cut at a character
         * boundary, so values that differ only after the cut share one
         * series (README, "Label safety"). */
        for (k = 0, cut = 0; k < f->nlabels; k++) {
            if (!var_get(p, f->labels[k], &labels[k])) {
                labels[k].p = "";
                labels[k].len = 0;
            }
            if (labels[k].len > p->cfg->max_label_bytes) {
                labels[k].len = utf8_cut(labels[k].p, labels[k].len,
                                         p->cfg->max_label_bytes);
                cut++;
            }
        }
        if (zero) {
            if (ex == NULL) {
                fl->what = FL_ZERO;
            }
            continue;
        }
        if (ex != NULL) {
            explain_series(p, i, labels, f->value >= 0, x, ex);
            continue;
        }
        fl->what = FL_COUNT;
        fl->x = x;
        fl->cut = cut;
    }
    if (ex != NULL) {
        fprintf(ex, "verdict: ok\n");
        return 0;
    }
    if (p->pending) {
        return 1;
    }
    if (p->probe) {
        return 0;
    }
    for (i = 0; i < p->nfams; i++) {
        famline_t  *fl = &p->fl[i];

        f = &p->fams[i];
        if (fl->what == FL_VALUE_ERR) {
            store_add(p->f_value_errors, f->value_err_id, 1);
        }
        if (fl->what == FL_ZERO) {
            /* Never into __overflow__: that would count an increment. */
            if (f->max_series == 0
                || store_family_size(f->fam) < f->max_series)
            {
                (void) series_id(f, fl->labels);
            }
            continue;
        }
        if (fl->what != FL_COUNT) {
            continue;
        }
        if (fl->cut > 0) {
            store_add(p->f_cut, f->cut_id, fl->cut);
        }
        id = series_id(f, fl->labels);
        if (f->value >= 0) {
            store_observe(f->fam, id, fl->x);
        } else {
            store_add(f->fam, id, 1);
        }
    }
    store_add(p->f_lines, p->id_ok, 1);
    if (p->event_time >= 0 && var_get(p, p->event_time, &v)
        && value_number(v, &x))
    {
        atomic_store_explicit(&p->last_event, x, memory_order_relaxed);
    }
    return 0;
}


static void
verdict_invalid(pipeline_t *p, const char *reason, FILE *ex)
{
    if (ex != NULL) {
        fprintf(ex, "verdict: invalid (gwlog_parse_errors_total{reason=\"%s\"})"
                "\n", reason);
        return;
    }
    if (!p->probe) {
        count_invalid(p, reason);
    }
}


/* Every field's value, computed as the metrics would see it. */
static void
explain_fields(pipeline_t *p, FILE *ex)
{
    strv_t  v;
    size_t  i;

    fprintf(ex, "fields:\n");
    for (i = 0; i < p->nfields; i++) {
        fprintf(ex, "  %-20s ", p->cfg->fields[i].name);
        if (var_get(p, (int) i, &v)) {
            explain_quoted(ex, v);
            fputc('\n', ex);
        } else {
            fprintf(ex, "(absent)\n");
        }
    }
}


/* Each table's key values and what the lookup found. */
static void
explain_dims(pipeline_t *p, FILE *ex)
{
    const cfg_dim_t  *d;
    strv_t            v;
    size_t            t, k;
    int               var;

    if (p->cfg->ndims == 0) {
        return;
    }
    fprintf(ex, "dimension lookups:\n");
    for (t = 0, var = (int) p->nfields; t < p->cfg->ndims; t++) {
        d = &p->cfg->dims[t];
        fprintf(ex, "  %s[", d->name);
        for (k = 0; k < d->nkeys; k++) {
            fprintf(ex, "%s%s=", k ? ", " : "", d->key_columns[k]);
            if (var_get(p, p->dim_keys[t][k], &v)) {
                explain_quoted(ex, v);
            } else {
                fprintf(ex, "(absent)");
            }
        }
        fprintf(ex, "]: ");
        (void) var_get(p, var, &v);             /* does the lookup */
        fprintf(ex, "%s", p->row[t] != NULL ? "hit" : "miss");
        for (k = 0; k < d->nprovides; k++, var++) {
            (void) var_get(p, var, &v);
            fprintf(ex, " %s=", d->provides[k]);
            explain_quoted(ex, v);
        }
        fputc('\n', ex);
    }
}


static void
explain_series(pipeline_t *p, size_t i, const strv_t *labels, int observe,
    double x, FILE *ex)
{
    const cfg_metric_t  *m = &p->cfg->metrics[i];
    size_t               k;

    fprintf(ex, "  %s{", m->name);
    for (k = 0; k < m->nlabels; k++) {
        fprintf(ex, "%s%s=", k ? "," : "", m->label_names[k]);
        explain_quoted(ex, labels[k]);
    }
    if (observe) {
        char  raw[EXPO_DOUBLE_LEN], scale[EXPO_DOUBLE_LEN];

        expo_format_double(raw, x);
        expo_format_double(scale, m->scale);
        fprintf(ex, "} observe %s (x %s)\n", raw, scale);
    } else {
        fprintf(ex, "} +1\n");
    }
}


static void
explain_quoted(FILE *ex, strv_t v)
{
    size_t  i;

    fputc('"', ex);
    for (i = 0; i < v.len; i++) {
        unsigned char  c = (unsigned char) v.p[i];

        if (c == '"' || c == '\\') {
            fprintf(ex, "\\%c", c);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(ex, "\\x%02x", c);
        } else {
            fputc(c, ex);
        }
    }
    fputc('"', ex);
}


double
pipeline_last_event_time(pipeline_t *p)
{
    return atomic_load_explicit(&p->last_event, memory_order_relaxed);
}


void
pipeline_invalid(pipeline_t *p, const char *reason)
{
    count_invalid(p, reason);
}


void
pipeline_bytes(pipeline_t *p, uint64_t n)
{
    store_add(p->f_bytes, p->id_bytes, n);
}


/* Collects the distinct "key" names, compiles per-field transforms. */
static int
compile_fields(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t        *cfg = p->cfg;
    const cfg_field_t  *c;
    field_t            *f;
    size_t              i, j;

    for (i = 0; i < cfg->nfields; i++) {
        c = &cfg->fields[i];
        f = &p->fields[i];
        f->cfg = c;
        f->key = -1;
        f->from = -1;
        if (c->key != NULL) {
            f->key = key_index(p, c->key);
            if (f->key < 0) {
                p->keys[p->nkeys] = c->key;
                f->key = (int) p->nkeys++;
            }
        } else if (c->from != NULL) {
            f->from = config_field_index(cfg, c->from);
            if (f->from < 0) {
                snprintf(err, errlen, "%s:%d: unknown field \"%s\"", cfg->file,
                         c->line, c->from);
                return -1;
            }
        }
        switch (c->xform) {
        case CFG_XFORM_JSON:
            f->path = zalloc(c->njson_path, sizeof(json_keys_t *));
            if (f->path == NULL) {
                return -1;
            }
            for (j = 0; j < c->njson_path; j++) {
                f->path[j] = json_keys_create((const char *const *)
                                              &c->json_path[j], 1);
                if (f->path[j] == NULL) {
                    return -1;
                }
                f->npath++;
            }
            break;
        case CFG_XFORM_KV:
            f->kv_key = (strv_t) { c->kv_key, strlen(c->kv_key) };
            f->kv_sep.p = c->kv_separator ? c->kv_separator : ";";
            f->kv_sep.len = strlen(f->kv_sep.p);
            f->kv_assign.p = c->kv_assign ? c->kv_assign : "=";
            f->kv_assign.len = strlen(f->kv_assign.p);
            break;
        case CFG_XFORM_REGEX: {
            char  msg[256];

            f->re = regex_compile(c->regex, 1, msg, sizeof(msg));
            if (f->re == NULL) {
                snprintf(err, errlen, "%s:%d: %s", cfg->file, c->line, msg);
                return -1;
            }
            f->md = pcre2_match_data_create_from_pattern(f->re, NULL);
            if (f->md == NULL) {
                return -1;
            }
            break;
        }
        default:
            break;
        }
    }
    p->raw = zalloc(p->nkeys, sizeof(json_val_t));
    p->jkeys = json_keys_create((const char *const *) p->keys, p->nkeys);
    return (p->raw && p->jkeys) ? 0 : -1;
}


static int
compile_inputs(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t  *cfg = p->cfg;
    input_t      *in;
    size_t        i, k;
    char          msg[256];

    p->inputs = zalloc(cfg->ninputs, sizeof(input_t));
    if (p->inputs == NULL) {
        return -1;
    }
    for (i = 0; i < cfg->ninputs; i++) {
        in = &p->inputs[i];
        in->format = cfg->inputs[i].format;
        if (in->format != CFG_FORMAT_REGEX) {
            continue;
        }
        in->re = regex_compile(cfg->inputs[i].regex, 1, msg, sizeof(msg));
        if (in->re == NULL) {
            snprintf(err, errlen, "%s:%d: %s", cfg->file, cfg->inputs[i].line,
                     msg);
            return -1;
        }
        in->md = pcre2_match_data_create_from_pattern(in->re, NULL);
        in->group = zalloc(p->nkeys, sizeof(int));
        if (in->md == NULL || in->group == NULL) {
            return -1;
        }
        for (k = 0; k < p->nkeys; k++) {
            in->group[k] = pcre2_substring_number_from_name(
                in->re, (PCRE2_SPTR) p->keys[k]);
            if (in->group[k] <= 0) {
                in->group[k] = -1;
            }
        }
    }
    return 0;
}


static int
compile_metrics(pipeline_t *p, char *err, size_t errlen)
{
    const cfg_t         *cfg = p->cfg;
    const cfg_metric_t  *m;
    store_family_def_t   def;
    family_t            *f;
    char                 msg[256];
    size_t               i, k;

    for (i = 0; i < cfg->nmetrics; i++) {
        m = &cfg->metrics[i];
        f = &p->fams[i];
        if (m->nlabels > MAX_LABELS) {
            snprintf(err, errlen, "%s:%d: more than %d labels", cfg->file,
                     m->line, MAX_LABELS);
            return -1;
        }
        for (k = 0; k < m->nlabels; k++) {
            f->labels[k] = var_resolve(p, m->label_sources[k]);
            if (f->labels[k] < 0) {
                snprintf(err, errlen, "%s:%d: unknown variable \"%s\"",
                         cfg->file, m->line, m->label_sources[k]);
                return -1;
            }
        }
        f->nlabels = m->nlabels;
        f->value = -1;
        if (m->type == CFG_METRIC_HISTOGRAM) {
            f->value = var_resolve(p, m->value_field);
            if (f->value < 0) {
                snprintf(err, errlen, "%s:%d: unknown variable \"%s\"",
                         cfg->file, m->line, m->value_field);
                return -1;
            }
        }
        f->zero_unmatched = m->zero_unmatched;
        if (m->when != NULL) {
            f->when = cond_compile(m->when, var_resolve, p, msg, sizeof(msg));
            if (f->when == NULL) {
                snprintf(err, errlen, "%s:%d: %s", cfg->file, m->when->line,
                         msg);
                return -1;
            }
        }

        memset(&def, 0, sizeof(def));
        def.name = m->name;
        def.help = m->help;
        def.type = m->type == CFG_METRIC_HISTOGRAM ? STORE_HISTOGRAM
                                                   : STORE_COUNTER;
        def.labels = (const char *const *) m->label_names;
        def.nlabels = m->nlabels;
        def.buckets = m->buckets;
        def.nbuckets = m->nbuckets;
        def.scale = m->scale;
        def.max_series = m->max_series;
        def.ttl = m->series_ttl;
        def.sibling_label = -1;
        if (m->sibling_label != NULL) {
            for (k = 0; k < m->nlabels; k++) {
                if (strcmp(m->label_names[k], m->sibling_label) == 0) {
                    def.sibling_label = (int) k;
                }
            }
            def.sibling_values = (const char *const *) m->sibling_values;
            def.nsibling_values = m->nsibling_values;
        }
        f->fam = store_family_add(p->store, &def);
        if (f->fam == NULL) {
            return -1;
        }
        f->max_series = m->max_series;
        /* A family whose idle series expire reuses ids, and every use
         * must reach the store to keep its series alive: no cache. */
        if (m->nlabels > 0 && m->series_ttl == 0) {
            f->cache = zalloc(SC_SLOTS, sizeof(sc_slot_t));
            if (f->cache == NULL) {
                return -1;
            }
        }
        p->nfams++;
    }
    return 0;
}


/* The exporter's own counters, pre-created at 0 for every known label
 * value so that rate() and increase() see their first increment. */
static int
add_self_families(pipeline_t *p)
{
    static const char  *reasons[] = { "empty", "not_object", "truncated",
        "syntax", "too_deep", "missing_field", "too_long", "no_match" };
    static const char  *result[] = { "result" }, *reason[] = { "reason" };
    static const char  *filter[] = { "filter" }, *metric[] = { "metric" };
    store_family_def_t  def;
    size_t              i;
    int                 regex = 0;

    memset(&def, 0, sizeof(def));
    def.type = STORE_COUNTER;
    def.sibling_label = -1;

    def.name = "gwlog_lines_total";
    def.help = "Complete lines read, by outcome: ok, invalid (see "
               "gwlog_parse_errors_total) or filtered.";
    def.labels = result;
    def.nlabels = 1;
    if ((p->f_lines = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    p->id_ok = self_series(p->f_lines, "ok");
    p->id_invalid = self_series(p->f_lines, "invalid");
    p->id_filtered = self_series(p->f_lines, "filtered");

    def.name = "gwlog_parse_errors_total";
    def.help = "Invalid lines, by reason; each is skipped.";
    def.labels = reason;
    if ((p->f_errors = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->cfg->ninputs; i++) {
        regex |= p->cfg->inputs[i].format == CFG_FORMAT_REGEX;
    }
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reasons[i], "no_match") == 0 && !regex) {
            continue;
        }
        p->reasons[p->nreasons].name = reasons[i];
        p->reasons[p->nreasons].id = self_series(p->f_errors, reasons[i]);
        p->nreasons++;
    }

    def.name = "gwlog_lines_filtered_total";
    def.help = "Lines dropped by a filter, by the filter's name.";
    def.labels = filter;
    if ((p->f_filtered = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->cfg->nfilters; i++) {
        p->filter_ids[i] = self_series(p->f_filtered,
                                       p->cfg->filters[i].name);
    }

    def.name = "gwlog_value_errors_total";
    def.help = "Valid lines not observed by a histogram because its value "
               "field was absent or not a finite number.";
    def.labels = metric;
    if ((p->f_value_errors = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->nfams; i++) {
        if (p->fams[i].value >= 0) {
            p->fams[i].value_err_id = self_series(p->f_value_errors,
                                                  p->cfg->metrics[i].name);
        }
    }

    def.name = "gwlog_label_values_truncated_total";
    def.help = "Label values cut to max_label_bytes, by metric family.";
    def.labels = metric;
    def.nlabels = 1;
    if ((p->f_cut = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    for (i = 0; i < p->nfams; i++) {
        p->fams[i].cut_id = self_series(p->f_cut, p->cfg->metrics[i].name);
    }

    def.name = "gwlog_bytes_read_total";
    def.help = "Bytes read from the input files.";
    def.labels = NULL;
    def.nlabels = 0;
    if ((p->f_bytes = store_family_add(p->store, &def)) == NULL) {
        return -1;
    }
    p->id_bytes = store_series(p->f_bytes, NULL);
    return 0;
}


static int
key_index(pipeline_t *p, const char *name)
{
    size_t  i;

    for (i = 0; i < p->nkeys; i++) {
        if (strcmp(p->keys[i], name) == 0) {
            return (int) i;
        }
    }
    return -1;
}


static int
var_resolve(void *ctx, const char *name)
{
    pipeline_t  *p = ctx;
    const cfg_t *cfg = p->cfg;
    size_t       i, j, v;
    int          f;

    f = config_field_index(cfg, name);
    if (f >= 0) {
        return f;
    }
    v = cfg->nfields;
    for (i = 0; i < cfg->ndims; i++) {
        for (j = 0; j < cfg->dims[i].nprovides; j++, v++) {
            if (strcmp(cfg->dims[i].provides[j], name) == 0) {
                return (int) v;
            }
        }
    }
    return -1;
}


/* Returns 1 and the value of variable var for the current line, or 0
 * when it is absent.  Computed once per line. */
static int
var_get(void *ctx, int var, strv_t *v)
{
    pipeline_t       *p = ctx;
    const cfg_dim_t  *d;
    size_t            t, k;
    uint64_t          seq = 0;
    int               ok = 1;

    if (p->stamp[var] != p->gen) {
        p->stamp[var] = p->gen;
        if ((size_t) var < p->nfields) {
            p->present[var] = (uint8_t) field_eval(p, (size_t) var,
                                                   &p->val[var]);
        } else {
            t = (size_t) p->var_table[var];
            d = &p->cfg->dims[t];
            if (p->row_stamp[t] != p->gen) {
                p->row_stamp[t] = p->gen;
                for (k = 0; k < d->nkeys && ok; k++) {
                    ok = var_get(p, p->dim_keys[t][k], &p->tmp_keys[k]);
                }
                p->row[t] = NULL;
                if (ok && dims_get(p->dims, t, p->tmp_keys,
                                   p->replay || p->probe ? DIMS_NOCOUNT : 0,
                                   &p->row[t], &seq) == DIMS_PENDING)
                {
                    /* Counted as "missing" at the deadline (final);
                     * until then the line waits (see "Waiting
                     * lines"). */
                    p->row[t] = NULL;
                    if (!p->final) {
                        p->pending = 1;
                        if (seq > p->wait_seq) {
                            p->wait_seq = seq;
                        }
                    }
                }
            }
            if (p->row[t] != NULL) {
                p->val[var] = p->row[t][p->var_col[var]];
            } else {
                p->val[var].p = d->missing;
                p->val[var].len = strlen(d->missing);
            }
            p->present[var] = 1;
        }
    }
    *v = p->val[var];
    return p->present[var];
}


static int
field_eval(pipeline_t *p, size_t i, strv_t *v)
{
    field_t     *f = &p->fields[i];
    json_val_t   cur;
    strv_t       s, out;
    size_t       n, cap;
    char        *dst;
    long         len;
    int          present = 0;

    if (f->key >= 0) {
        cur = p->raw[f->key];
    } else {
        memset(&cur, 0, sizeof(cur));
        if (var_get(p, f->from, &s)) {
            cur.type = JSON_STRING;
            cur.p = s.p;
            cur.len = s.len;
        }
    }

    switch (f->cfg->xform) {
    case CFG_XFORM_JSON:
        present = json_path(p, f, cur, v);
        break;
    case CFG_XFORM_KV:
        present = raw_text(p, &cur, &s)
                  && kv_find(s, f->kv_key, f->kv_sep, f->kv_assign, v);
        break;
    case CFG_XFORM_REGEX:
        if (!raw_text(p, &cur, &s) || regex_match(f->re, s, f->md) == 0) {
            break;
        }
        if (f->cfg->replace == NULL) {
            /* The first group when there is one, else the whole match. */
            PCRE2_SIZE  *ov = pcre2_get_ovector_pointer(f->md);
            int          g = pcre2_get_ovector_count(f->md) > 1
                             && ov[2] != PCRE2_UNSET ? 1 : 0;

            v->p = s.p + ov[2 * g];
            v->len = ov[2 * g + 1] - ov[2 * g];
            present = 1;
            break;
        }
        cap = regex_expand_bound(f->cfg->replace, s.len);
        dst = scratch_alloc(p, cap);
        len = regex_expand(f->re, s, f->md, f->cfg->replace, dst, cap);
        if (len >= 0) {
            v->p = dst;
            v->len = (size_t) len;
            present = 1;
        }
        break;
    default:
        present = raw_text(p, &cur, v);
        break;
    }

    if (!present) {
        if (f->cfg->dflt == NULL) {
            return 0;
        }
        v->p = f->cfg->dflt;
        v->len = strlen(f->cfg->dflt);
        return 1;
    }

    /* Label values must be valid UTF-8: repair what is not. */
    n = utf8_valid_prefix(v->p, v->len);
    if (n < v->len) {
        dst = scratch_alloc(p, v->len * 3);
        out.len = utf8_repair(v->p, v->len, dst, v->len * 3);
        out.p = dst;
        *v = out;
    }
    return 1;
}


/* The text of a scalar raw value: strings unescaped, numbers and booleans
 * as written.  null, objects, arrays and absent values have none. */
static int
raw_text(pipeline_t *p, const json_val_t *raw, strv_t *v)
{
    char  *dst;

    switch (raw->type) {
    case JSON_STRING:
        if (raw->escaped) {
            dst = scratch_alloc(p, raw->len);
            v->len = json_unescape(raw->p, raw->len, dst);
            v->p = dst;
        } else {
            v->p = raw->p;
            v->len = raw->len;
        }
        return 1;
    case JSON_NUMBER:
    case JSON_TRUE:
    case JSON_FALSE:
        v->p = raw->p;
        v->len = raw->len;
        return 1;
    default:
        return 0;
    }
}


/* Follows the field's path into cur, an object or a string holding JSON. */
static int
json_path(pipeline_t *p, field_t *f, json_val_t cur, strv_t *v)
{
    json_val_t  out;
    strv_t      text;
    size_t      i;

    for (i = 0; i < f->npath; i++) {
        if (cur.type == JSON_OBJECT) {
            text.p = cur.p;
            text.len = cur.len;
        } else if (cur.type == JSON_STRING) {
            raw_text(p, &cur, &text);
        } else {
            return 0;
        }
        if (json_scan(f->path[i], text.p, text.len, &out) != JSON_OK) {
            return 0;
        }
        cur = out;
    }
    return raw_text(p, &cur, v);
}


static char *
scratch_alloc(pipeline_t *p, size_t n)
{
    scratch_t  *s = p->scratch;
    size_t      cap;
    char       *r;

    n = (n + 7) & ~(size_t) 7;
    if (s == NULL || s->cap - s->used < n) {
        cap = n > SCRATCH_BLOCK ? n : SCRATCH_BLOCK;
        s = xmalloc(sizeof(*s) + cap);
        s->cap = cap;
        s->used = 0;
        s->next = p->scratch;
        p->scratch = s;
    }
    r = s->data + s->used;
    s->used += n;
    return r;
}


/* Keeps one block of the standard size, frees the rest. */
static void
scratch_reset(pipeline_t *p)
{
    scratch_t  *s, *next, *keep = NULL;

    for (s = p->scratch; s != NULL; s = next) {
        next = s->next;
        if (keep == NULL && s->cap == SCRATCH_BLOCK) {
            keep = s;
            continue;
        }
        free(s);
    }
    if (keep != NULL) {
        keep->used = 0;
        keep->next = NULL;
    }
    p->scratch = keep;
}


static void
count_invalid(pipeline_t *p, const char *reason)
{
    size_t  i;

    store_add(p->f_lines, p->id_invalid, 1);
    for (i = 0; i < p->nreasons; i++) {
        if (strcmp(p->reasons[i].name, reason) == 0) {
            store_add(p->f_errors, p->reasons[i].id, 1);
            return;
        }
    }
    store_add(p->f_errors, self_series(p->f_errors, reason), 1);
}


static uint32_t
self_series(store_family_t *f, const char *value)
{
    strv_t  v = { value, strlen(value) };

    return store_series(f, &v);
}


/* store_series() with a direct-mapped cache in front of it.  The store
 * hashes every label value with hash_bytes() and compares it with the
 * packed copy of the series it finds, three dependent memory reads per
 * family and line; most lines repeat a recent label set, which this cache
 * answers with one cheaper hash and one memcmp() of a slot that holds the
 * packed values itself.  A miss asks the store and fills the slot.
 *
 * Exactness: a slot only answers for the exact bytes it holds; ids never
 * change while the store lives, except in families with series_ttl, which
 * have no cache (their expired ids are reused).  A
 * label set the store folded into __overflow__ must still count there as
 * an overflow on every line, so once the family is full nothing new is
 * cached (slots filled before hold real series, which stay valid).  Label
 * sets longer than SC_KEY bytes (or a value over 255 bytes) bypass it. */
static uint32_t
series_id(family_t *f, const strv_t *labels)
{
    sc_slot_t  *slot;
    uint64_t    h = 0;
    uint32_t    id;
    size_t      k, klen = 0;
    char        key[SC_KEY];

    if (f->cache == NULL) {
        return store_series(f->fam, labels);
    }
    for (k = 0; k < f->nlabels; k++) {
        if (labels[k].len > 255 || klen + 1 + labels[k].len > SC_KEY) {
            return store_series(f->fam, labels);
        }
        key[klen++] = (char) labels[k].len;
        memcpy(key + klen, labels[k].p, labels[k].len);
        klen += labels[k].len;
    }
    h = hash_fast(key, klen, 0);
    slot = &f->cache[h & (SC_SLOTS - 1)];
    if (slot->hash == h && slot->klen == klen
        && memcmp(slot->key, key, klen) == 0)
    {
        return slot->id;
    }
    id = store_series(f->fam, labels);
    if (f->max_series == 0 || store_family_size(f->fam) < f->max_series) {
        slot->hash = h;
        slot->id = id;
        slot->klen = (uint16_t) klen;
        memcpy(slot->key, key, klen);
    }
    return id;
}


static void *
zalloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}
