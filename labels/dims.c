/* dims.c - The front end of the dimension backends (dims_internal.h:
 * one ops table each), and the CSV backend: tables from a directory of
 * CSV files.  The Redis backend is labels/dims_redis.c. */

#include "labels/dims.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labels/dims_internal.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "parsers/csv.h"
#include "parsers/utf8.h"


#define MAX_COLUMNS  64
#define KEY_SEED     0x13198a2e03707344ULL    /* of a key's hash */

typedef struct {
    uint64_t    hash;
    strv_t     *cols;       /* nkeys key values, then nprovides values */
} row_t;

typedef struct {
    row_t      *slots;      /* open addressing, power-of-two capacity */
    size_t      cap;
    size_t      n;
    char       *data;       /* the file's bytes, which cols point into */
    strv_t     *cells;      /* every row's views, one block */
} rows_t;

typedef struct {
    const cfg_dim_t  *cfg;
    char             *path;
    rows_t            rows;
    struct stat       st;       /* of the file last loaded */
    int               have_st;
    uint64_t          loads;
    _Atomic uint64_t  hits, misses;
    _Atomic size_t    nrows;    /* rows.n, for other threads */
    _Atomic double    loaded_at;    /* unix time of the last load */
    _Atomic int       state;        /* dims_state_t of the last load */
} table_t;

/* The CSV backend. */
typedef struct {
    table_t          *tables;
    size_t            ntables;
} dcsv_t;

struct dims {
    const dims_ops_t *ops;
    void             *be;       /* the backend's object, owned */
};


static dims_t *dims_wrap(const dims_ops_t *ops, void *be);
static void *dcsv_create(const cfg_t *cfg, const char *dir);
static void dcsv_destroy(void *be);
static dims_result_t dcsv_get(void *be, size_t t, const strv_t *keys,
    unsigned flags, const strv_t **row, uint64_t *seq);
static const strv_t *dcsv_lookup(void *be, size_t t, const strv_t *keys);
static int dcsv_reload(void *be);
static size_t dcsv_entries(const void *be, size_t t);
static uint64_t dcsv_loads(const void *be, size_t t);
static dims_state_t dcsv_state(const void *be, size_t t);
static void dcsv_collect(void *be, store_t *s);
static void table_load(table_t *t);
static int rows_parse(table_t *t, char *data, size_t len, rows_t *out);
static void rows_free(rows_t *r);


static const dims_ops_t  dcsv_ops = {
    .name = "csv",
    .async = 0,
    .destroy = dcsv_destroy,
    .get = dcsv_get,
    .lookup = dcsv_lookup,
    .reload = dcsv_reload,
    .entries = dcsv_entries,
    .loads = dcsv_loads,
    .state = dcsv_state,
    .collect = dcsv_collect,
};


/* The front end: dims.h's functions, each calling the backend's entry or
 * answering the default dims_internal.h gives for a NULL one. */

dims_t *
dims_create(const cfg_t *cfg, const char *dir)
{
    return dims_wrap(&dcsv_ops, dcsv_create(cfg, dir));
}


dims_t *
dims_create_redis(const cfg_t *cfg, const char *addr)
{
    return dims_wrap(&dredis_ops, dredis_create(cfg, addr));
}


/* Takes be (NULL: its constructor failed). */
static dims_t *
dims_wrap(const dims_ops_t *ops, void *be)
{
    dims_t  *d;

    if (be == NULL) {
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        ops->destroy(be);
        return NULL;
    }
    d->ops = ops;
    d->be = be;
    return d;
}


void
dims_destroy(dims_t *d)
{
    if (d == NULL) {
        return;
    }
    d->ops->destroy(d->be);
    free(d);
}


int
dims_reload_if_changed(dims_t *d)
{
    return d->ops->reload != NULL ? d->ops->reload(d->be) : 0;
}


const strv_t *
dims_lookup(dims_t *d, size_t t, const strv_t *keys)
{
    return d->ops->lookup != NULL ? d->ops->lookup(d->be, t, keys) : NULL;
}


size_t
dims_entries(const dims_t *d, size_t t)
{
    return d->ops->entries(d->be, t);
}


uint64_t
dims_loads(const dims_t *d, size_t t)
{
    return d->ops->loads != NULL ? d->ops->loads(d->be, t) : 0;
}


dims_state_t
dims_state(const dims_t *d, size_t t)
{
    return d->ops->state != NULL ? d->ops->state(d->be, t) : DIMS_LOADED;
}


dims_result_t
dims_get(dims_t *d, size_t t, const strv_t *keys, unsigned flags,
    const strv_t **row, uint64_t *seq)
{
    return d->ops->get(d->be, t, keys, flags, row, seq);
}


int
dims_async(const dims_t *d)
{
    return d->ops->async;
}


uint64_t
dims_sync(dims_t *d)
{
    return d->ops->sync != NULL ? d->ops->sync(d->be) : 0;
}


int
dims_has_news(dims_t *d)
{
    return d->ops->has_news != NULL ? d->ops->has_news(d->be) : 0;
}


void
dims_wait(dims_t *d, double timeout)
{
    struct timespec  ts;

    if (d->ops->wait != NULL) {
        d->ops->wait(d->be, timeout);
        return;
    }
    ts.tv_sec = (time_t) timeout;
    ts.tv_nsec = (long) ((timeout - (double) ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}


void
dims_wake(dims_t *d)
{
    if (d->ops->wake != NULL) {
        d->ops->wake(d->be);
    }
}


void
dims_wait_loaded(dims_t *d, double timeout)
{
    if (d->ops->wait_loaded != NULL) {
        d->ops->wait_loaded(d->be, timeout);
    }
}


double
dims_max_wait(const dims_t *d)
{
    return d->ops->max_wait != NULL ? d->ops->max_wait(d->be) : 0;
}


uint64_t
dims_max_pending_bytes(const dims_t *d)
{
    return d->ops->max_pending_bytes != NULL
           ? d->ops->max_pending_bytes(d->be) : 0;
}


void
dims_set_pending_lines(dims_t *d, uint64_t n)
{
    if (d->ops->set_pending_lines != NULL) {
        d->ops->set_pending_lines(d->be, n);
    }
}


void
dims_collect(dims_t *d, store_t *s)
{
    d->ops->collect(d->be, s);
}


int
dims__families(store_t *s, store_family_t **lookups, store_family_t **entries,
    store_family_t **refresh)
{
    static const char *const  table[] = { "table" };
    static const char *const  table_result[] = { "table", "result" };

    *lookups = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_dim_lookups_total", .type = STORE_COUNTER,
        .help = "Dimension lookups by table and result: hit (local cache), "
                "negative_hit (cached as absent), miss (asked Redis, or "
                "answered missing while it is down).",
        .labels = table_result, .nlabels = 2 });
    *entries = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_dim_cache_entries", .type = STORE_GAUGE,
        .help = "Rows held in the local cache of each dimension table "
                "(found, absent and requested).",
        .labels = table, .nlabels = 1 });
    *refresh = store_family_get(s, &(store_family_def_t) {
        .name = "gwlog_dim_last_refresh_timestamp_seconds",
        .type = STORE_GAUGE,
        .help = "Unix time a dimension table was last loaded whole (all) "
                "or its version checked (lru).",
        .labels = table, .nlabels = 1 });
    return *lookups && *entries && *refresh ? 0 : -1;
}


/* The CSV backend. */

static void *
dcsv_create(const cfg_t *cfg, const char *dir)
{
    dcsv_t  *d;
    size_t   i, n;

    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return NULL;
    }
    d->tables = calloc(cfg->ndims ? cfg->ndims : 1, sizeof(table_t));
    if (d->tables == NULL) {
        free(d);
        return NULL;
    }
    d->ntables = cfg->ndims;
    for (i = 0; i < cfg->ndims; i++) {
        d->tables[i].cfg = &cfg->dims[i];
        if (dir == NULL) {
            continue;
        }
        n = strlen(dir) + strlen(cfg->dims[i].name) + 6;
        d->tables[i].path = malloc(n);
        if (d->tables[i].path == NULL) {
            dcsv_destroy(d);
            return NULL;
        }
        snprintf(d->tables[i].path, n, "%s/%s.csv", dir, cfg->dims[i].name);
        table_load(&d->tables[i]);
    }
    return d;
}


static void
dcsv_destroy(void *be)
{
    dcsv_t  *d = be;
    size_t   i;

    for (i = 0; i < d->ntables; i++) {
        rows_free(&d->tables[i].rows);
        free(d->tables[i].path);
    }
    free(d->tables);
    free(d);
}


static int
dcsv_reload(void *be)
{
    dcsv_t      *d = be;
    struct stat  st;
    table_t     *t;
    size_t       i;
    int          n = 0, exists;

    for (i = 0; i < d->ntables; i++) {
        t = &d->tables[i];
        if (t->path == NULL) {
            continue;
        }
        exists = stat(t->path, &st) == 0;
        if (exists == t->have_st
            && (!exists || (st.st_ino == t->st.st_ino
                            && st.st_size == t->st.st_size
                            && st.st_mtim.tv_sec == t->st.st_mtim.tv_sec
                            && st.st_mtim.tv_nsec == t->st.st_mtim.tv_nsec)))
        {
            continue;
        }
        table_load(t);
        n++;
    }
    return n;
}


static const strv_t *
dcsv_lookup(void *be, size_t t, const strv_t *keys)
{
    dcsv_t    *d = be;
    rows_t    *r = &d->tables[t].rows;
    size_t     nkeys = d->tables[t].cfg->nkeys, i, k, mask;
    uint64_t   h;
    row_t     *row;

    if (r->n == 0) {
        return NULL;
    }
    h = hash_strv(keys, nkeys, KEY_SEED);
    mask = r->cap - 1;
    for (i = h & mask; ; i = (i + 1) & mask) {
        row = &r->slots[i];
        if (row->cols == NULL) {
            return NULL;
        }
        if (row->hash != h) {
            continue;
        }
        for (k = 0; k < nkeys && strv_eq(row->cols[k], keys[k]); k++) {
            /* Compare every key column. */
        }
        if (k == nkeys) {
            return row->cols + nkeys;
        }
    }
}


static size_t
dcsv_entries(const void *be, size_t t)
{
    const dcsv_t  *d = be;

    return atomic_load_explicit(&d->tables[t].nrows, memory_order_relaxed);
}


static dims_result_t
dcsv_get(void *be, size_t t, const strv_t *keys, unsigned flags,
    const strv_t **row, uint64_t *seq)
{
    dcsv_t   *d = be;
    table_t  *tb;

    (void) seq;
    tb = &d->tables[t];
    *row = dcsv_lookup(d, t, keys);
    if (!(flags & DIMS_NOCOUNT)) {
        atomic_fetch_add_explicit(*row ? &tb->hits : &tb->misses, 1,
                                  memory_order_relaxed);
    }
    return *row ? DIMS_HIT : DIMS_MISS;
}


static void
dcsv_collect(void *be, store_t *s)
{
    dcsv_t          *d = be;
    store_family_t  *lookups, *entries, *refresh;
    const char      *v[2];
    size_t           i;
    double           ts;

    if (d->ntables == 0
        || dims__families(s, &lookups, &entries, &refresh) != 0)
    {
        return;
    }
    /* The CSV backend: every row is in memory, so there is no
     * negative_hit, and a miss is final. */
    for (i = 0; i < d->ntables; i++) {
        v[0] = d->tables[i].cfg->name;
        v[1] = "hit";
        store_set(lookups, store_series_str(lookups, v),
                  (double) atomic_load(&d->tables[i].hits));
        v[1] = "miss";
        store_set(lookups, store_series_str(lookups, v),
                  (double) atomic_load(&d->tables[i].misses));
        store_set(entries, store_series_str(entries, v),
                  (double) dcsv_entries(d, i));
        ts = atomic_load(&d->tables[i].loaded_at);
        if (ts > 0) {
            store_set(refresh, store_series_str(refresh, v), ts);
        }
    }
}


static uint64_t
dcsv_loads(const void *be, size_t t)
{
    const dcsv_t  *d = be;

    return d->tables[t].loads;
}


static dims_state_t
dcsv_state(const void *be, size_t t)
{
    const dcsv_t  *d = be;

    return (dims_state_t) atomic_load(&d->tables[t].state);
}


/* Reads the table's file; on success replaces its rows, otherwise keeps
 * the old ones.  A missing file empties the table.  Either way the file's
 * identity is remembered, so a file that fails to load is tried again only
 * once it changes.  Invalid UTF-8 is repaired (U+FFFD) before parsing: a
 * CSV value becomes a label value. */
static void
table_load(table_t *t)
{
    struct stat  st;
    rows_t       rows;
    char        *data = NULL, *fixed;
    ssize_t      r;
    size_t       got = 0;
    int          fd;

    fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            if (t->have_st || t->loads == 0) {
                log_warn_kv("dimension table file not found, every lookup "
                            "gives the missing value",
                            LOG_STR("table", t->cfg->name),
                            LOG_STR("path", t->path),
                            LOG_STR("missing", t->cfg->missing));
            }
            rows_free(&t->rows);
            atomic_store(&t->nrows, 0);
            atomic_store(&t->state, DIMS_ABSENT);
            t->have_st = 0;
            t->loads++;
            return;
        }
        log_error_kv("open() failed, the table keeps its rows",
                     LOG_STR("table", t->cfg->name), LOG_STR("path", t->path),
                     LOG_STR("err", strerror(errno)));
        atomic_store(&t->state, DIMS_FAILED);
        return;
    }
    if (fstat(fd, &st) != 0) {
        log_error_kv("fstat() failed, the table keeps its rows",
                     LOG_STR("table", t->cfg->name), LOG_STR("path", t->path),
                     LOG_STR("err", strerror(errno)));
        atomic_store(&t->state, DIMS_FAILED);
        close(fd);
        return;
    }
    t->st = st;
    t->have_st = 1;
    data = malloc((size_t) st.st_size + 1);
    if (data == NULL) {
        log_error("dimension table %s: out of memory", t->cfg->name);
        atomic_store(&t->state, DIMS_FAILED);
        close(fd);
        return;
    }
    while (got < (size_t) st.st_size) {
        r = read(fd, data + got, (size_t) st.st_size - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t) r;
    }
    close(fd);

    if (utf8_valid_prefix(data, got) < got) {
        fixed = malloc(got * 3 + 1);
        if (fixed == NULL) {
            free(data);
            log_error("dimension table %s: out of memory", t->cfg->name);
            atomic_store(&t->state, DIMS_FAILED);
            return;
        }
        got = utf8_repair(data, got, fixed, got * 3);
        free(data);
        data = fixed;
    }
    data[got] = '\0';

    if (rows_parse(t, data, got, &rows) != 0) {
        free(data);
        atomic_store(&t->state, DIMS_FAILED);
        return;
    }
    rows_free(&t->rows);
    t->rows = rows;
    t->loads++;
    atomic_store(&t->nrows, rows.n);
    atomic_store(&t->loaded_at, clock_wall());
    atomic_store(&t->state, DIMS_LOADED);
    log_info_kv("dimension table loaded", LOG_STR("table", t->cfg->name),
                LOG_STR("path", t->path), LOG_U64("rows", rows.n));
}


/* Parses the CSV in data (owned by out on success). */
static int
rows_parse(table_t *t, char *data, size_t len, rows_t *out)
{
    const cfg_dim_t  *c = t->cfg;
    strv_t            cells[MAX_COLUMNS + 1];
    int               colidx[MAX_COLUMNS];
    char             *p = data, *end = data + len;
    size_t            ncols, n, i, k, lineno = 1, rowline, nrows, skipped = 0;
    size_t            width = c->nkeys + c->nprovides, first_bad = 0, mask;
    strv_t           *row;
    row_t            *slot;
    uint64_t          h;

    memset(out, 0, sizeof(*out));

    /* Header. */
    if (csv_record(&p, end, cells, MAX_COLUMNS + 1, &ncols, &lineno) != 0
        || ncols > MAX_COLUMNS)
    {
        log_error_kv("dimension table refused: bad or missing header row",
                     LOG_STR("table", c->name), LOG_STR("path", t->path),
                     LOG_U64("line", 1));
        return -1;
    }
    for (i = 0; i < width; i++) {
        const char  *want = i < c->nkeys ? c->key_columns[i]
                                         : c->provides[i - c->nkeys];

        colidx[i] = -1;
        for (k = 0; k < ncols && colidx[i] < 0; k++) {
            if (cells[k].len == strlen(want)
                && memcmp(cells[k].p, want, cells[k].len) == 0)
            {
                colidx[i] = (int) k;            /* the first one wins */
            }
        }
        if (colidx[i] < 0) {
            log_error_kv("dimension table refused: a column is missing "
                         "from the header", LOG_STR("table", c->name),
                         LOG_STR("path", t->path), LOG_U64("line", 1),
                         LOG_STR("column", want));
            return -1;
        }
    }

    /* Rows: at most one per line left in the file. */
    nrows = 1;
    for (i = 0; i < len; i++) {
        nrows += data[i] == '\n';
    }
    out->cap = 16;
    while (out->cap < nrows * 2) {
        out->cap *= 2;
    }
    out->slots = calloc(out->cap, sizeof(row_t));
    out->cells = calloc(nrows * width + 1, sizeof(strv_t));
    if (out->slots == NULL || out->cells == NULL) {
        rows_free(out);
        log_error("dimension table %s: out of memory", c->name);
        return -1;
    }
    out->data = data;
    mask = out->cap - 1;
    row = out->cells;

    while (p < end) {
        rowline = lineno;
        if (csv_record(&p, end, cells, MAX_COLUMNS + 1, &n, &lineno) != 0) {
            skipped++;
            first_bad = first_bad ? first_bad : rowline;
            break;
        }
        if (n == 1 && cells[0].len == 0) {
            continue;                           /* empty line */
        }
        if (n != ncols) {
            skipped++;
            first_bad = first_bad ? first_bad : rowline;
            continue;
        }
        for (i = 0; i < width; i++) {
            row[i] = cells[colidx[i]];
        }
        h = hash_strv(row, c->nkeys, KEY_SEED);
        for (i = h & mask; ; i = (i + 1) & mask) {
            slot = &out->slots[i];
            if (slot->cols == NULL) {
                slot->hash = h;
                slot->cols = row;
                out->n++;
                row += width;
                break;
            }
            for (k = 0; k < c->nkeys && slot->hash == h
                        && strv_eq(slot->cols[k], row[k]); k++)
            {
                /* Compare every key column. */
            }
            if (k == c->nkeys) {
                slot->cols = row;               /* a later row wins */
                row += width;
                break;
            }
        }
    }
    if (skipped) {
        log_warn_kv("dimension table: malformed rows skipped",
                    LOG_STR("table", c->name), LOG_STR("path", t->path),
                    LOG_U64("rows", skipped), LOG_U64("line", first_bad));
    }
    return 0;
}


static void
rows_free(rows_t *r)
{
    free(r->slots);
    free(r->cells);
    free(r->data);
    memset(r, 0, sizeof(*r));
}
