/* dims.c - Dimension tables from a directory of CSV files. */

#include "labels/dims.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exporter/log.h"
#include "labels/hash.h"
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
} table_t;

struct dims {
    table_t          *tables;
    size_t            ntables;
};


static void table_load(table_t *t);
static int rows_parse(table_t *t, char *data, size_t len, rows_t *out);
static void rows_free(rows_t *r);
static uint64_t key_hash(const strv_t *keys, size_t n);
static int csv_record(char **pp, char *end, strv_t *cells, size_t max,
    size_t *ncells, size_t *lineno);


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
    return d->tables[t].rows.n;
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
                log_warn("dimension table %s: %s not found, every lookup "
                         "gives \"%s\"", t->cfg->name, t->path,
                         t->cfg->missing);
            }
            rows_free(&t->rows);
            t->have_st = 0;
            t->loads++;
            return;
        }
        log_error("open() of %s failed: %s", t->path, strerror(errno));
        return;
    }
    if (fstat(fd, &st) != 0) {
        log_error("fstat() of %s failed: %s", t->path, strerror(errno));
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
    log_info("dimension table %s: loaded %zu rows from %s", t->cfg->name,
             rows.n, t->path);
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
        log_error("dimension table %s: %s:1: bad or missing header row",
                  c->name, t->path);
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
            log_error("dimension table %s: %s:1: no column \"%s\" in the "
                      "header", c->name, t->path, want);
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
        log_warn("dimension table %s: skipped %zu malformed rows, the first "
                 "at %s:%zu", c->name, skipped, t->path, first_bad);
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


/* Reads one CSV record at *pp, unquoting fields in place.  Sets *ncells
 * (more than max means the record was too wide) and advances *lineno past
 * the newlines consumed.  Returns -1 on an unterminated quote. */
static int
csv_record(char **pp, char *end, strv_t *cells, size_t max, size_t *ncells,
    size_t *lineno)
{
    char    *p = *pp, *w;
    size_t   n = 0;

    for (;;) {
        char  *start = p;

        if (p < end && *p == '"') {
            w = start;
            p++;
            for (;;) {
                if (p >= end) {
                    return -1;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n') {
                    (*lineno)++;
                }
                *w++ = *p++;
            }
            /* Anything between the closing quote and the separator is
             * kept, as most readers do. */
            while (p < end && *p != ',' && *p != '\n') {
                if (*p != '\r' || (p + 1 < end && p[1] != '\n')) {
                    *w++ = *p;
                }
                p++;
            }
        } else {
            while (p < end && *p != ',' && *p != '\n') {
                p++;
            }
            w = p;
            if (w > start && w[-1] == '\r' && (p >= end || *p == '\n')) {
                w--;
            }
        }
        if (n < max) {
            cells[n].p = start;
            cells[n].len = (size_t) (w - start);
        }
        n++;
        if (p >= end || *p == '\n') {
            if (p < end) {
                p++;
                (*lineno)++;
            }
            break;
        }
        p++;                                    /* the comma */
    }
    *pp = p;
    *ncells = n;
    return 0;
}
