/* dims.c - Dimension tables from a directory of CSV files, and the front
 * of both backends (the Redis one is labels/dims_redis.c). */

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

#include "labels/dims_redis.h"
#include "labels/expo.h"
#include "lib/clock.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "parsers/csv.h"
#include "parsers/utf8.h"


#define MAX_COLUMNS  64

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
} table_t;

struct dims {
    table_t          *tables;
    size_t            ntables;
    dredis_t         *redis;    /* the Redis backend, or NULL: CSV */
};


static void table_load(table_t *t);
static int rows_parse(table_t *t, char *data, size_t len, rows_t *out);
static void rows_free(rows_t *r);
static uint64_t key_hash(const strv_t *keys, size_t n);


dims_t *
dims_create(const cfg_t *cfg, const char *dir)
{
    dims_t  *d;
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
            dims_destroy(d);
            return NULL;
        }
        snprintf(d->tables[i].path, n, "%s/%s.csv", dir, cfg->dims[i].name);
        table_load(&d->tables[i]);
    }
    return d;
}


void
dims_destroy(dims_t *d)
{
    size_t  i;

    if (d == NULL) {
        return;
    }
    dredis_destroy(d->redis);
    for (i = 0; i < d->ntables; i++) {
        rows_free(&d->tables[i].rows);
        free(d->tables[i].path);
    }
    free(d->tables);
    free(d);
}


int
dims_reload_if_changed(dims_t *d)
{
    struct stat  st;
    table_t     *t;
    size_t       i;
    int          n = 0, exists;

    for (i = 0; d->redis == NULL && i < d->ntables; i++) {
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


const strv_t *
dims_lookup(dims_t *d, size_t t, const strv_t *keys)
{
    rows_t    *r = &d->tables[t].rows;
    size_t     nkeys = d->tables[t].cfg->nkeys, i, k, mask;
    uint64_t   h;
    row_t     *row;

    if (r->n == 0) {
        return NULL;
    }
    h = key_hash(keys, nkeys);
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


size_t
dims_entries(const dims_t *d, size_t t)
{
    if (d->redis != NULL) {
        return dredis_entries(d->redis, t);
    }
    return atomic_load_explicit(&d->tables[t].nrows, memory_order_relaxed);
}


dims_t *
dims_create_redis(const cfg_t *cfg, const char *addr)
{
    dims_t  *d;

    d = dims_create(cfg, NULL);
    if (d == NULL) {
        return NULL;
    }
    d->redis = dredis_create(cfg, addr);
    if (d->redis == NULL) {
        dims_destroy(d);
        return NULL;
    }
    return d;
}


dims_result_t
dims_get(dims_t *d, size_t t, const strv_t *keys, unsigned flags,
    const strv_t **row, uint64_t *seq)
{
    table_t  *tb;

    if (d->redis != NULL) {
        return dredis_get(d->redis, t, keys, flags, row, seq);
    }
    tb = &d->tables[t];
    *row = dims_lookup(d, t, keys);
    if (!(flags & DIMS_NOCOUNT)) {
        atomic_fetch_add_explicit(*row ? &tb->hits : &tb->misses, 1,
                                  memory_order_relaxed);
    }
    return *row ? DIMS_HIT : DIMS_MISS;
}


int
dims_async(const dims_t *d)
{
    return d->redis != NULL;
}


uint64_t
dims_sync(dims_t *d)
{
    return d->redis ? dredis_sync(d->redis) : 0;
}


int
dims_has_news(dims_t *d)
{
    return d->redis ? dredis_has_news(d->redis) : 0;
}


void
dims_wait(dims_t *d, double timeout)
{
    struct timespec  ts;

    if (d->redis != NULL) {
        dredis_wait(d->redis, timeout);
        return;
    }
    ts.tv_sec = (time_t) timeout;
    ts.tv_nsec = (long) ((timeout - (double) ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}


void
dims_wake(dims_t *d)
{
    if (d->redis != NULL) {
        dredis_wake(d->redis);
    }
}


void
dims_wait_loaded(dims_t *d, double timeout)
{
    if (d->redis != NULL) {
        dredis_wait_loaded(d->redis, timeout);
    }
}


double
dims_max_wait(const dims_t *d)
{
    return d->redis ? dredis_max_wait(d->redis) : 0;
}


uint64_t
dims_max_pending_bytes(const dims_t *d)
{
    return d->redis ? dredis_max_pending_bytes(d->redis) : 0;
}


void
dims_set_pending_lines(dims_t *d, uint64_t n)
{
    if (d->redis != NULL) {
        dredis_set_pending_lines(d->redis, n);
    }
}


void
dims_write_metrics(dims_t *d, buf_t *b)
{
    char     num[EXPO_DOUBLE_LEN];
    size_t   i;
    double   ts;

    if (d->redis != NULL) {
        dredis_write_metrics(d->redis, b);
        return;
    }
    if (d->ntables == 0) {
        return;
    }
    /* The CSV backend: every row is in memory, so there is no
     * negative_hit, and a miss is final. */
    expo_write_header(b, "gwlog_dim_lookups_total", "Dimension lookups by "
                      "table and result: hit (local cache), negative_hit "
                      "(cached as absent), miss (asked Redis, or answered "
                      "missing while it is down).", "counter");
    for (i = 0; i < d->ntables; i++) {
        buf_printf(b, "gwlog_dim_lookups_total{table=\"%s\",result=\"hit\"} "
                   "%" PRIu64 "\n", d->tables[i].cfg->name,
                   atomic_load(&d->tables[i].hits));
        buf_printf(b, "gwlog_dim_lookups_total{table=\"%s\",result=\"miss\"} "
                   "%" PRIu64 "\n", d->tables[i].cfg->name,
                   atomic_load(&d->tables[i].misses));
    }
    expo_write_header(b, "gwlog_dim_cache_entries", "Rows held in the local "
                      "cache of each dimension table (found, absent and "
                      "requested).", "gauge");
    for (i = 0; i < d->ntables; i++) {
        buf_printf(b, "gwlog_dim_cache_entries{table=\"%s\"} %zu\n",
                   d->tables[i].cfg->name, dims_entries(d, i));
    }
    expo_write_header(b, "gwlog_dim_last_refresh_timestamp_seconds", "Unix "
                      "time a dimension table was last loaded whole (all) or "
                      "its version checked (lru).", "gauge");
    for (i = 0; i < d->ntables; i++) {
        ts = atomic_load(&d->tables[i].loaded_at);
        if (ts > 0) {
            expo_format_double(num, ts);
            buf_printf(b, "gwlog_dim_last_refresh_timestamp_seconds"
                       "{table=\"%s\"} %s\n", d->tables[i].cfg->name, num);
        }
    }
}


uint64_t
dims_loads(const dims_t *d, size_t t)
{
    return d->tables[t].loads;
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
            t->have_st = 0;
            t->loads++;
            return;
        }
        log_error_kv("open() failed, the table keeps its rows",
                     LOG_STR("table", t->cfg->name), LOG_STR("path", t->path),
                     LOG_STR("err", strerror(errno)));
        return;
    }
    if (fstat(fd, &st) != 0) {
        log_error_kv("fstat() failed, the table keeps its rows",
                     LOG_STR("table", t->cfg->name), LOG_STR("path", t->path),
                     LOG_STR("err", strerror(errno)));
        close(fd);
        return;
    }
    t->st = st;
    t->have_st = 1;
    data = malloc((size_t) st.st_size + 1);
    if (data == NULL) {
        log_error("dimension table %s: out of memory", t->cfg->name);
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
            return;
        }
        got = utf8_repair(data, got, fixed, got * 3);
        free(data);
        data = fixed;
    }
    data[got] = '\0';

    if (rows_parse(t, data, got, &rows) != 0) {
        free(data);
        return;
    }
    rows_free(&t->rows);
    t->rows = rows;
    t->loads++;
    atomic_store(&t->nrows, rows.n);
    atomic_store(&t->loaded_at, clock_wall());
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
        h = key_hash(row, c->nkeys);
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


static uint64_t
key_hash(const strv_t *keys, size_t n)
{
    uint64_t  h = 0x13198a2e03707344ULL;
    size_t    i;

    for (i = 0; i < n; i++) {
        h = hash_bytes(keys[i].p, keys[i].len, h + i);
    }
    return h;
}
