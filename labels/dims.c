/* dims.c - The front end of the dimension backends (dims_internal.h:
 * one ops table each), and the CSV backend: tables from a directory of
 * CSV files, each loaded into a flat table (labels/dims_table.c) with the
 * last answer kept in front of it.  The Redis backend is
 * labels/dims_redis.c. */

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
#include "labels/dims_table.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "parsers/csv.h"
#include "parsers/utf8.h"


#define MAX_COLUMNS  64
#define LAST_MISS    256        /* bytes of keys a remembered miss keeps */

/* The last answer of a table, for runs of lines with the same key: valid
 * while gen equals the table's (a load replaces the rows, whose views it
 * holds, and bumps the table's gen).  The keys' hash, computed once per
 * lookup, is compared first; the keys only when it is equal. */
typedef struct {
    uint64_t          gen;      /* 0: nothing remembered */
    uint64_t          hash;     /* dtab_hash() of its keys */
    const strv_t     *row;      /* a hit: the row dtab_find() gave; NULL:
                                 * a miss of the keys encoded in miss */
    size_t            mlen;
    char              miss[LAST_MISS];  /* (u32 length, bytes) per key */
} last_t;

typedef struct {
    const cfg_dim_t  *cfg;
    char             *path;
    dtab_t           *rows;     /* owned; NULL: no rows */
    uint64_t          gen;      /* bumped whenever rows is replaced */
    last_t            last;
    uint64_t          last_hits;    /* lookups the last answer gave */
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
static void table_set_rows(table_t *t, dtab_t *rows);
static dtab_t *rows_parse(table_t *t, char *data, size_t len);
static void last_keep(table_t *t, const strv_t *keys, uint64_t h,
    const strv_t *row);
static int last_is(const table_t *t, const strv_t *keys);


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


uint64_t
dims__last_hits(const dims_t *d, size_t t)
{
    const dcsv_t  *c = d->be;

    return d->ops == &dcsv_ops ? c->tables[t].last_hits : 0;
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
        d->tables[i].gen = 1;
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
        dtab_destroy(d->tables[i].rows);
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


/* The keys are hashed once: the last answer when they are the same, else
 * the table's, which becomes the last answer.  Allocates nothing. */
static const strv_t *
dcsv_lookup(void *be, size_t t, const strv_t *keys)
{
    dcsv_t        *d = be;
    table_t       *tb = &d->tables[t];
    const strv_t  *row;
    uint64_t       h;

    if (tb->rows == NULL) {
        return NULL;
    }
    h = dtab_hash(keys, tb->cfg->nkeys);
    if (tb->last.hash == h && tb->last.gen == tb->gen && last_is(tb, keys)) {
        tb->last_hits++;
        return tb->last.row;
    }
    row = dtab_find(tb->rows, keys, h);
    last_keep(tb, keys, h, row);
    return row;
}


/* Remembers row (NULL: a miss) as the answer for keys, of hash h; a miss
 * whose keys do not fit in LAST_MISS bytes is not remembered. */
static void
last_keep(table_t *t, const strv_t *keys, uint64_t h, const strv_t *row)
{
    last_t    *l = &t->last;
    size_t     k, len = 0;
    uint32_t   n;

    l->gen = t->gen;
    l->hash = h;
    l->row = row;
    if (row != NULL) {
        return;
    }
    for (k = 0; k < t->cfg->nkeys; k++) {
        if (keys[k].len > LAST_MISS - sizeof(n) - len) {
            l->gen = 0;
            return;
        }
        n = (uint32_t) keys[k].len;
        memcpy(l->miss + len, &n, sizeof(n));
        len += sizeof(n);
        if (n > 0) {
            memcpy(l->miss + len, keys[k].p, n);
        }
        len += n;
    }
    l->mlen = len;
}


/* 1 when keys are those of the last answer (which must be of this gen). */
static int
last_is(const table_t *t, const strv_t *keys)
{
    const last_t  *l = &t->last;
    size_t         k, len = 0;
    uint32_t       n;

    if (l->row != NULL) {
        return dtab_row_is(t->rows, l->row, keys);
    }
    for (k = 0; k < t->cfg->nkeys; k++) {
        if (l->mlen - len < sizeof(n)) {
            return 0;
        }
        memcpy(&n, l->miss + len, sizeof(n));
        len += sizeof(n);
        if (n != keys[k].len || n > l->mlen - len
            || (n > 0 && memcmp(l->miss + len, keys[k].p, n) != 0))
        {
            return 0;
        }
        len += n;
    }
    return 1;
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
    dcsv_t            *d = be;
    table_t           *tb;
    _Atomic uint64_t  *c;

    (void) seq;
    tb = &d->tables[t];
    *row = dcsv_lookup(d, t, keys);
    if (!(flags & DIMS_NOCOUNT)) {
        /* One writer (the ingest lock's holder): a plain load and store,
         * no locked read-modify-write per lookup. */
        c = *row ? &tb->hits : &tb->misses;
        atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
                                 + 1, memory_order_relaxed);
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
    dtab_t      *rows;
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
            table_set_rows(t, NULL);
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
        log_error_kv("dimension table: out of memory",
                     LOG_STR("table", t->cfg->name));
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
            log_error_kv("dimension table: out of memory",
                     LOG_STR("table", t->cfg->name));
            atomic_store(&t->state, DIMS_FAILED);
            return;
        }
        got = utf8_repair(data, got, fixed, got * 3);
        free(data);
        data = fixed;
    }
    data[got] = '\0';

    rows = rows_parse(t, data, got);
    free(data);                         /* the rows hold copies */
    if (rows == NULL) {
        atomic_store(&t->state, DIMS_FAILED);
        return;
    }
    table_set_rows(t, rows);
    t->loads++;
    atomic_store(&t->loaded_at, clock_wall());
    atomic_store(&t->state, DIMS_LOADED);
    log_info_kv("dimension table loaded", LOG_STR("table", t->cfg->name),
                LOG_STR("path", t->path), LOG_U64("rows", dtab_size(rows)));
}


/* Replaces the table's rows with rows (taken; NULL: none).  The new
 * generation forgets the last answer, whose row was the old table's. */
static void
table_set_rows(table_t *t, dtab_t *rows)
{
    dtab_destroy(t->rows);
    t->rows = rows;
    t->gen++;
    atomic_store(&t->nrows, rows != NULL ? dtab_size(rows) : 0);
}


/* Parses the CSV in data (still the caller's: the rows copy what they
 * keep) into a new table of rows; NULL when it is refused. */
static dtab_t *
rows_parse(table_t *t, char *data, size_t len)
{
    const cfg_dim_t  *c = t->cfg;
    strv_t            cells[MAX_COLUMNS + 1], row[MAX_COLUMNS];
    int               colidx[MAX_COLUMNS];
    char             *p = data, *end = data + len;
    size_t            ncols, n, i, k, lineno = 1, rowline, nrows, skipped = 0;
    size_t            width = c->nkeys + c->nprovides, first_bad = 0;
    size_t            uses, most = 1;
    dtab_t           *rows;

    /* Header. */
    if (csv_record(&p, end, cells, MAX_COLUMNS + 1, &ncols, &lineno) != 0
        || ncols > MAX_COLUMNS)
    {
        log_error_kv("dimension table refused: bad or missing header row",
                     LOG_STR("table", c->name), LOG_STR("path", t->path),
                     LOG_U64("line", 1));
        return NULL;
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
            return NULL;
        }
    }

    /* Rows: at most one per line left in the file, their values at most
     * the file's bytes times the most any column is used (a column may
     * be a key and provided too). */
    nrows = 1;
    for (i = 0; i < len; i++) {
        nrows += data[i] == '\n';
    }
    for (i = 0; i < width; i++) {
        for (k = 0, uses = 0; k < width; k++) {
            uses += colidx[k] == colidx[i];
        }
        most = uses > most ? uses : most;
    }
    rows = dtab_create(c->nkeys, c->nprovides, nrows,
                       len > SIZE_MAX / 4 / most ? SIZE_MAX : len * most);
    if (rows == NULL) {
        log_error_kv("dimension table: out of memory",
                     LOG_STR("table", c->name));
        return NULL;
    }

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
        /* Cannot fail: sized above (a later row wins). */
        (void) dtab_insert(rows, row, dtab_hash(row, c->nkeys));
    }
    if (skipped) {
        log_warn_kv("dimension table: malformed rows skipped",
                    LOG_STR("table", c->name), LOG_STR("path", t->path),
                    LOG_U64("rows", skipped), LOG_U64("line", first_bad));
    }
    return rows;
}
