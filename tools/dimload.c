/* dimload.c - gwlog_dimload: loads a dimension CSV into Redis as a new
 * version of a table and makes it visible atomically.
 *
 *   gwlog_dimload --redis=HOST:PORT --table=NAME FILE.csv
 *
 * The CSV is the one the CSV backend reads (header row, RFC 4180 quoting,
 * CRLF accepted).  Its key columns come from the table's definition in the
 * configuration (--config.file, default the embedded one) or --key.  The
 * whole file is checked before anything is written: a bad row (wrong
 * number of cells, unterminated quote, invalid UTF-8, a 0x1F byte, an
 * empty key) is reported as FILE:LINE and nothing is loaded.  Then:
 *
 *   1. N = INCR PREFIX:TABLE:seq;
 *   2. PREFIX:TABLE:vN (hash key -> values) and PREFIX:TABLE:vN:meta are
 *      written with pipelined HSETs, with a one-hour expiry so that an
 *      interrupted load leaves nothing behind; no reader looks at vN yet;
 *   3. one Lua script sets PREFIX:TABLE:current to N, removes the expiry
 *      and publishes "TABLE N" on PREFIX:invalidate, atomically;
 *   4. the previous version is UNLINKed.
 *
 * Exit status 0, 1 on a bad file or Redis error, 2 on usage errors. */

#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "config/config.h"
#include "config/default.h"
#include "lib/clock.h"
#include "parsers/csv.h"
#include "parsers/utf8.h"


#define MAX_COLUMNS     64
#define PAIRS_PER_HSET  1000
#define IN_FLIGHT       64          /* HSET commands before reading replies */
#define SEP             '\x1f'

typedef strv_t cell_t;      /* a CSV field, in the file's buffer */

typedef struct {
    const char *file;
    char       *data;
    size_t      len;
    cell_t      header[MAX_COLUMNS];
    size_t      ncols;
    char      **keys, **vals;       /* per row, encoded */
    size_t     *klen, *vlen;
    size_t      nrows, cap;
} csv_t;

static const char  flip_script[] =
    "local old = redis.call('GET', KEYS[1])\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "redis.call('PERSIST', KEYS[2])\n"
    "redis.call('PERSIST', KEYS[3])\n"
    "redis.call('PUBLISH', ARGV[2], ARGV[3])\n"
    "return old\n";

static const char  usage[] =
"Usage: gwlog_dimload --redis=HOST:PORT --table=NAME [options] FILE.csv\n"
"\n"
"Loads FILE.csv as a new version of dimension table NAME in Redis, then\n"
"switches readers to it atomically and deletes the previous version.\n"
"\n"
"  --redis=ADDR          HOST:PORT of the primary, or a unix socket path\n"
"  --table=NAME          table name (default: FILE's name without .csv)\n"
"  --config.file=FILE    configuration defining the table's key columns\n"
"                        (default: the embedded configuration)\n"
"  --key=COL[,COL...]    key columns, instead of the configuration's\n"
"  --username=USER       ACL user\n"
"  --password=PASS       password (also from env GWLOG_REDIS_PASSWORD)\n"
"  --db=N                database index (default 0)\n"
"  --prefix=P            key prefix (default \"gwlog:dim\")\n"
"  --check               check the file only, write nothing\n";


static int parse_csv(csv_t *c, char **keycols, size_t nkeys);
static int load(redisContext *rc, const csv_t *c, const char *prefix,
    const char *table, char **keycols, size_t nkeys);
static int check_reply(redisContext *rc, redisReply *r, const char *what);


int
main(int argc, char **argv)
{
    static const struct option  opts[] = {
        { "redis", required_argument, NULL, 'r' },
        { "table", required_argument, NULL, 't' },
        { "config.file", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },
        { "username", required_argument, NULL, 'u' },
        { "password", required_argument, NULL, 'p' },
        { "db", required_argument, NULL, 'd' },
        { "prefix", required_argument, NULL, 'x' },
        { "check", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char     *addr = NULL, *table = NULL, *config = NULL, *key = NULL;
    const char     *user = NULL, *pass = getenv("GWLOG_REDIS_PASSWORD");
    const char     *prefix = CFG_DEFAULT_REDIS_PREFIX;
    char           *keycols[MAX_COLUMNS], *tname = NULL, *tok, *save;
    char            err[CFG_ERRLEN];
    size_t          nkeys = 0, i;
    long            db = 0;
    int             ch, check = 0, rc = 1;
    cfg_t          *cfg = NULL;
    csv_t           csv;
    FILE           *f;
    redisContext   *ctx = NULL;
    redisReply     *rep;
    struct timeval  tv = { 5, 0 };
    double          t0;

    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': addr = optarg; break;
        case 't': table = optarg; break;
        case 'c': config = optarg; break;
        case 'k': key = optarg; break;
        case 'u': user = optarg; break;
        case 'p': pass = optarg; break;
        case 'd': db = atol(optarg); break;
        case 'x': prefix = optarg; break;
        case 'n': check = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind + 1 != argc || (addr == NULL && !check)) {
        fputs(usage, stderr);
        return 2;
    }
    memset(&csv, 0, sizeof(csv));
    csv.file = argv[optind];
    if (table == NULL) {
        const char  *b = strrchr(csv.file, '/');

        tname = strdup(b ? b + 1 : csv.file);
        if (tname == NULL) {
            return 1;
        }
        if (strlen(tname) > 4 && strcmp(tname + strlen(tname) - 4, ".csv")
                                 == 0)
        {
            tname[strlen(tname) - 4] = '\0';
        }
        table = tname;
    }

    /* Key columns: --key, else the table's definition. */
    if (key != NULL) {
        char  *k = strdup(key);

        for (tok = strtok_r(k, ",", &save); tok && nkeys < MAX_COLUMNS;
             tok = strtok_r(NULL, ",", &save))
        {
            keycols[nkeys++] = tok;
        }
    } else {
        cfg = config != NULL
              ? config_load(config, err, sizeof(err))
              : config_load_string(CONFIG_DEFAULT_NAME, config_default_yaml,
                                   (size_t) (config_default_yaml_end
                                             - config_default_yaml),
                                   err, sizeof(err));
        if (cfg == NULL) {
            fprintf(stderr, "%s\n", err);
            goto done;
        }
        for (i = 0; i < cfg->ndims; i++) {
            if (strcmp(cfg->dims[i].name, table) == 0) {
                for (nkeys = 0; nkeys < cfg->dims[i].nkeys; nkeys++) {
                    keycols[nkeys] = cfg->dims[i].key_columns[nkeys];
                }
                break;
            }
        }
        if (i == cfg->ndims) {
            fprintf(stderr, "gwlog_dimload: table \"%s\" is not in %s (use "
                    "--key=COLUMNS)\n", table, cfg->file);
            goto done;
        }
    }
    if (nkeys == 0) {
        fprintf(stderr, "gwlog_dimload: no key columns\n");
        goto done;
    }

    /* Read and check everything first. */
    t0 = clock_wall();
    f = fopen(csv.file, "rb");
    if (f == NULL) {
        fprintf(stderr, "gwlog_dimload: %s: %s\n", csv.file, strerror(errno));
        goto done;
    }
    fseek(f, 0, SEEK_END);
    csv.len = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    csv.data = malloc(csv.len + 1);
    if (csv.data == NULL || fread(csv.data, 1, csv.len, f) != csv.len) {
        fprintf(stderr, "gwlog_dimload: %s: read failed\n", csv.file);
        fclose(f);
        goto done;
    }
    fclose(f);
    csv.data[csv.len] = '\0';
    if (parse_csv(&csv, keycols, nkeys) != 0) {
        goto done;
    }
    if (check) {
        printf("%s: ok, %zu rows\n", csv.file, csv.nrows);
        rc = 0;
        goto done;
    }

    ctx = addr[0] == '/' ? redisConnectUnixWithTimeout(addr, tv) : NULL;
    if (addr[0] != '/') {
        char         host[256];
        const char  *colon = strrchr(addr, ':');

        if (colon == NULL || (size_t) (colon - addr) >= sizeof(host)) {
            fprintf(stderr, "gwlog_dimload: --redis=%s: not HOST:PORT\n",
                    addr);
            goto done;
        }
        memcpy(host, addr, (size_t) (colon - addr));
        host[colon - addr] = '\0';
        ctx = redisConnectWithTimeout(host, atoi(colon + 1), tv);
    }
    if (ctx == NULL || ctx->err) {
        fprintf(stderr, "gwlog_dimload: redis %s: connect failed: %s\n", addr,
                ctx ? ctx->errstr : "out of memory");
        goto done;
    }
    tv.tv_sec = 30;
    redisSetTimeout(ctx, tv);
    if (pass != NULL) {
        rep = user ? redisCommand(ctx, "AUTH %s %s", user, pass)
                   : redisCommand(ctx, "AUTH %s", pass);
        if (check_reply(ctx, rep, "AUTH") != 0) {
            goto done;
        }
        freeReplyObject(rep);
    }
    if (db != 0) {
        rep = redisCommand(ctx, "SELECT %ld", db);
        if (check_reply(ctx, rep, "SELECT") != 0) {
            goto done;
        }
        freeReplyObject(rep);
    }
    if (load(ctx, &csv, prefix, table, keycols, nkeys) != 0) {
        goto done;
    }
    fprintf(stderr, "gwlog_dimload: %s: %zu rows in %.2f s\n", csv.file,
            csv.nrows, clock_wall() - t0);
    rc = 0;

done:
    if (ctx != NULL) {
        redisFree(ctx);
    }
    for (i = 0; i < csv.nrows; i++) {
        free(csv.keys[i]);
    }
    free(csv.keys);
    free(csv.vals);
    free(csv.klen);
    free(csv.vlen);
    free(csv.data);
    free(tname);
    if (key != NULL && nkeys > 0) {
        free(keycols[0]);
    }
    config_free(cfg);
    return rc;
}


/* Parses and checks every row; each row becomes an encoded key and value
 * (the non-key columns in header order, 0x1F-joined).  Returns 0, or -1
 * after printing FILE:LINE: reason. */
static int
parse_csv(csv_t *c, char **keycols, size_t nkeys)
{
    cell_t   cells[MAX_COLUMNS + 1];
    int      iskey[MAX_COLUMNS] = { 0 }, keyidx[MAX_COLUMNS];
    char    *p = c->data, *end = c->data + c->len, *w;
    size_t   n, i, k, lineno = 1, rowline, kl, vl;

    if (utf8_valid_prefix(c->data, c->len) < c->len) {
        /* Find the line of the first bad byte. */
        size_t  off = utf8_valid_prefix(c->data, c->len), ln = 1;

        for (i = 0; i < off; i++) {
            ln += c->data[i] == '\n';
        }
        fprintf(stderr, "%s:%zu: invalid UTF-8; nothing loaded\n", c->file,
                ln);
        return -1;
    }
    if (csv_record(&p, c->data + c->len, cells, MAX_COLUMNS + 1, &n, &lineno)
        != 0 || n > MAX_COLUMNS
        || (n == 1 && cells[0].len == 0))
    {
        fprintf(stderr, "%s:1: bad or missing header row; nothing loaded\n",
                c->file);
        return -1;
    }
    c->ncols = n;
    memcpy(c->header, cells, n * sizeof(cell_t));
    for (k = 0; k < nkeys; k++) {
        for (i = 0; i < n; i++) {
            if (cells[i].len == strlen(keycols[k])
                && memcmp(cells[i].p, keycols[k], cells[i].len) == 0)
            {
                break;
            }
        }
        if (i == n) {
            fprintf(stderr, "%s:1: no key column \"%s\" in the header; "
                    "nothing loaded\n", c->file, keycols[k]);
            return -1;
        }
        iskey[i] = 1;
        keyidx[k] = (int) i;
    }

    while (p < end) {
        rowline = lineno;
        if (csv_record(&p, c->data + c->len, cells, MAX_COLUMNS + 1, &n,
                       &lineno) != 0)
        {
            fprintf(stderr, "%s:%zu: unterminated quoted value; nothing "
                    "loaded\n", c->file, rowline);
            return -1;
        }
        if (n == 1 && cells[0].len == 0) {
            continue;                           /* empty line */
        }
        if (n != c->ncols) {
            fprintf(stderr, "%s:%zu: %zu cells, the header has %zu; nothing "
                    "loaded\n", c->file, rowline, n, c->ncols);
            return -1;
        }
        kl = vl = 0;
        for (i = 0; i < n; i++) {
            if (memchr(cells[i].p, SEP, cells[i].len) != NULL) {
                fprintf(stderr, "%s:%zu: a value holds the byte 0x1F; "
                        "nothing loaded\n", c->file, rowline);
                return -1;
            }
            if (iskey[i] && cells[i].len == 0) {
                fprintf(stderr, "%s:%zu: empty key column; nothing loaded\n",
                        c->file, rowline);
                return -1;
            }
            if (iskey[i]) {
                kl += cells[i].len + 1;
            } else {
                vl += cells[i].len + 1;
            }
        }
        if (c->nrows == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1024;
            c->keys = realloc(c->keys, c->cap * sizeof(char *));
            c->vals = realloc(c->vals, c->cap * sizeof(char *));
            c->klen = realloc(c->klen, c->cap * sizeof(size_t));
            c->vlen = realloc(c->vlen, c->cap * sizeof(size_t));
            if (!c->keys || !c->vals || !c->klen || !c->vlen) {
                fprintf(stderr, "gwlog_dimload: out of memory\n");
                exit(1);
            }
        }
        /* One block: the key, then the value. */
        w = malloc(kl + vl + 2);
        if (w == NULL) {
            fprintf(stderr, "gwlog_dimload: out of memory\n");
            exit(1);
        }
        c->keys[c->nrows] = w;
        for (k = 0; k < nkeys; k++) {
            if (k > 0) {
                *w++ = SEP;
            }
            memcpy(w, cells[keyidx[k]].p, cells[keyidx[k]].len);
            w += cells[keyidx[k]].len;
        }
        c->klen[c->nrows] = (size_t) (w - c->keys[c->nrows]);
        c->vals[c->nrows] = w;
        for (i = 0, k = 0; i < n; i++) {
            if (iskey[i]) {
                continue;
            }
            if (k++ > 0) {
                *w++ = SEP;
            }
            memcpy(w, cells[i].p, cells[i].len);
            w += cells[i].len;
        }
        c->vlen[c->nrows] = (size_t) (w - c->vals[c->nrows]);
        c->nrows++;
    }
    return 0;
}


/* Steps 1-4 of the header comment. */
static int
load(redisContext *rc, const csv_t *c, const char *prefix, const char *table,
    char **keycols, size_t nkeys)
{
    const char  **argv;
    size_t       *argl;
    redisReply   *rep;
    char          hkey[512], mkey[512], ckey[512], chan[512], msg[512];
    char          ver[32], cols[4096], kcols[1024], nrows[32], when[32];
    uint64_t      version;
    size_t        i, j, na, inflight = 0, cl = 0, kl = 0;

    snprintf(ckey, sizeof(ckey), "%s:%s:seq", prefix, table);
    rep = redisCommand(rc, "INCR %s", ckey);
    if (check_reply(rc, rep, "INCR") != 0) {
        return -1;
    }
    version = (uint64_t) rep->integer;
    freeReplyObject(rep);
    snprintf(hkey, sizeof(hkey), "%s:%s:v%" PRIu64, prefix, table, version);
    snprintf(mkey, sizeof(mkey), "%s:%s:v%" PRIu64 ":meta", prefix, table,
             version);

    /* Rows, pipelined: HSET with PAIRS_PER_HSET pairs per command. */
    argv = malloc((2 + 2 * PAIRS_PER_HSET) * sizeof(char *));
    argl = malloc((2 + 2 * PAIRS_PER_HSET) * sizeof(size_t));
    if (argv == NULL || argl == NULL) {
        return -1;
    }
    redisAppendCommand(rc, "DEL %s %s", hkey, mkey);
    inflight++;
    for (i = 0; i < c->nrows; ) {
        argv[0] = "HSET";
        argl[0] = 4;
        argv[1] = hkey;
        argl[1] = strlen(hkey);
        for (na = 2, j = 0; j < PAIRS_PER_HSET && i < c->nrows; j++, i++) {
            argv[na] = c->keys[i];
            argl[na++] = c->klen[i];
            argv[na] = c->vals[i];
            argl[na++] = c->vlen[i];
        }
        redisAppendCommandArgv(rc, (int) na, argv, argl);
        inflight++;
        if (i == j) {
            /* An interrupted load expires instead of lingering. */
            redisAppendCommand(rc, "EXPIRE %s 3600", hkey);
            inflight++;
        }
        if (inflight >= IN_FLIGHT || i == c->nrows) {
            while (inflight > 0) {
                if (redisGetReply(rc, (void **) &rep) != REDIS_OK
                    || check_reply(rc, rep, "HSET") != 0)
                {
                    free(argv);
                    free(argl);
                    return -1;
                }
                freeReplyObject(rep);
                inflight--;
            }
        }
    }
    free(argv);
    free(argl);
    while (inflight > 0) {
        if (redisGetReply(rc, (void **) &rep) != REDIS_OK
            || check_reply(rc, rep, "DEL") != 0)
        {
            return -1;
        }
        freeReplyObject(rep);
        inflight--;
    }

    /* Meta: the column names of the stored values. */
    for (i = 0; i < c->ncols; i++) {
        int  key = 0;

        for (j = 0; j < nkeys; j++) {
            key |= c->header[i].len == strlen(keycols[j])
                   && memcmp(c->header[i].p, keycols[j], c->header[i].len)
                      == 0;
        }
        if (key || cl + c->header[i].len + 1 >= sizeof(cols)) {
            continue;
        }
        if (cl > 0) {
            cols[cl++] = SEP;
        }
        memcpy(cols + cl, c->header[i].p, c->header[i].len);
        cl += c->header[i].len;
    }
    for (j = 0; j < nkeys; j++) {
        kl += (size_t) snprintf(kcols + kl, sizeof(kcols) - kl, "%s%s",
                                j ? "\x1f" : "", keycols[j]);
    }
    snprintf(nrows, sizeof(nrows), "%zu", c->nrows);
    snprintf(when, sizeof(when), "%.3f", clock_wall());
    {
        const char  *mv[] = { "HSET", mkey, "key_columns", kcols, "columns",
                              cols, "rows", nrows, "loaded_at", when,
                              "source", c->file };
        size_t       ml[12];

        for (i = 0; i < 12; i++) {
            ml[i] = strlen(mv[i]);
        }
        ml[5] = cl;
        rep = redisCommandArgv(rc, 12, mv, ml);
        if (check_reply(rc, rep, "HSET meta") != 0) {
            return -1;
        }
        freeReplyObject(rep);
    }
    rep = redisCommand(rc, "EXPIRE %s 3600", mkey);
    if (check_reply(rc, rep, "EXPIRE") != 0) {
        return -1;
    }
    freeReplyObject(rep);

    /* Flip, remove the expiry and publish, in one step. */
    snprintf(ckey, sizeof(ckey), "%s:%s:current", prefix, table);
    snprintf(chan, sizeof(chan), "%s:invalidate", prefix);
    snprintf(ver, sizeof(ver), "%" PRIu64, version);
    snprintf(msg, sizeof(msg), "%s %" PRIu64, table, version);
    rep = redisCommand(rc, "EVAL %s 3 %s %s %s %s %s %s", flip_script, ckey,
                       hkey, mkey, ver, chan, msg);
    if (check_reply(rc, rep, "EVAL (flip)") != 0) {
        return -1;
    }
    printf("%s: %zu rows, version %" PRIu64, table, c->nrows, version);
    if (rep->type == REDIS_REPLY_STRING && strcmp(rep->str, ver) != 0) {
        redisReply  *del;

        del = redisCommand(rc, "UNLINK %s:%s:v%s %s:%s:v%s:meta", prefix,
                           table, rep->str, prefix, table, rep->str);
        if (check_reply(rc, del, "UNLINK") != 0) {
            freeReplyObject(rep);
            return -1;
        }
        printf(" (version %s removed)", rep->str);
        freeReplyObject(del);
    }
    printf("\n");
    freeReplyObject(rep);
    return 0;
}


/* 0 for a reply that is not an error; else prints why (and frees it). */
static int
check_reply(redisContext *rc, redisReply *r, const char *what)
{
    if (r == NULL) {
        fprintf(stderr, "gwlog_dimload: %s failed: %s\n", what, rc->errstr);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "gwlog_dimload: %s failed: %s\n", what, r->str);
        freeReplyObject(r);
        return -1;
    }
    return 0;
}
