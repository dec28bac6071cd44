/* check_state.c - Unit tests for exporter/state.c: a checkpoint is
 * untrusted input.  Every bound of every decoded field, the counts of the
 * "end" line and duplicates are refused with the field named; a refused
 * slot leaves nothing in the store and the other slot is used; the check
 * hook can refuse a slot; a removed state directory is created again. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <check.h>
#include <zlib.h>

#include "exporter/state.h"
#include "labels/store.h"
#include "lib/log.h"
#include "tests/testutil.h"


/* Macros */

#define T       "t_total"
#define H       "h_seconds"

/* Two files, a counter family with two series, a histogram with one
 * (bounds 0.1 and 1, counts 1 2 3, raw sum 12). */
#define GOOD \
    "gwlog_state 2 4 1700000000\n" \
    "file 0 2049 1234 5000 1024 00000000deadbeef 0 0 /var/log/a.log " \
        "ab%20c 1024 0000000000c0ffee\n" \
    "file 0 2049 1235 10 10 0000000000000001 0 1 /var/log/a.log.1 % 10 " \
        "0000000000000002\n" \
    "family t_total c 2 a b 0 3\n" \
    "s x y 5\n" \
    "s x z 7\n" \
    "family h_seconds h 1 a 2 0x1.999999999999ap-4 0x1p+0 0\n" \
    "s x 1 2 3 0x1.8p+3\n" \
    "end 2 2 3\n"

#define FILE1 \
    "file 0 2049 1234 5000 1024 00000000deadbeef 0 0 /var/log/a.log " \
        "ab%20c 1024 0000000000c0ffee\n"


/* Helpers */

static char     *dir;
static store_t  *store;
static char      err[512];

static const char  *t_labels[] = { "a", "b" };
static const char  *h_labels[] = { "a" };
static const double h_bounds[] = { 0.1, 1.0 };


static store_t *
make_store(void)
{
    store_family_def_t  def;
    store_t            *s = store_create();

    ck_assert_ptr_nonnull(s);
    memset(&def, 0, sizeof(def));
    def.sibling_label = -1;
    def.name = T;
    def.help = "t";
    def.type = STORE_COUNTER;
    def.labels = t_labels;
    def.nlabels = 2;
    ck_assert_ptr_nonnull(store_family_add(s, &def));
    def.name = H;
    def.type = STORE_HISTOGRAM;
    def.labels = h_labels;
    def.nlabels = 1;
    def.buckets = h_bounds;
    def.nbuckets = 2;
    ck_assert_ptr_nonnull(store_family_add(s, &def));
    return s;
}


static void
setup(void)
{
    log_set_level((log_level_t) (LOG_ERROR + 1));
    dir = tu_mkdtemp();
    store = make_store();
    err[0] = '\0';
}


static void
teardown(void)
{
    store_destroy(store);
    tu_rmdir(dir);
}


/* Replaces the first occurrence of old in s by new; returns a new string
 * (free() it).  old must occur. */
static char *
replace(const char *s, const char *old, const char *new)
{
    const char  *at = strstr(s, old);
    size_t       n;
    char        *r;

    ck_assert_msg(at != NULL, "\"%s\" not in the text", old);
    n = strlen(s) - strlen(old) + strlen(new) + 1;
    r = malloc(n);
    ck_assert_ptr_nonnull(r);
    snprintf(r, n, "%.*s%s%s", (int) (at - s), s, new, at + strlen(old));
    return r;
}


/* Writes text gzip-compressed as slot i of dir. */
static void
write_slot(int i, const char *text)
{
    char    *path = tu_path(dir, i == 0 ? "checkpoint.a.gz"
                                        : "checkpoint.b.gz");
    gzFile   gz = gzopen(path, "wb");

    ck_assert_ptr_nonnull(gz);
    if (text[0] != '\0') {
        ck_assert_int_eq(gzwrite(gz, text, (unsigned) strlen(text)),
                         (int) strlen(text));
    }
    ck_assert_int_eq(gzclose(gz), Z_OK);
    free(path);
}


/* Counter t_total{a=x,b=y} in store. */
static uint64_t
t_xy(store_t *s)
{
    store_snap_t  *snap = store_snapshot(s);
    uint64_t       v = tu_counter(snap, T, "x", "y");

    store_snap_free(snap);
    return v;
}


static int
load(state_check_pt check, void *ctx, state_info_t *info, size_t *nfiles)
{
    state_t       *st = state_open(dir);
    state_file_t  *files = NULL;
    int            rc;

    ck_assert_ptr_nonnull(st);
    store_ingest_lock(store);
    rc = state_load(st, store, check, ctx, &files, nfiles, info);
    store_ingest_unlock(store);
    state_files_free(files, *nfiles);
    state_close(st);
    return rc;
}


/* Core */

START_TEST(test_parse_good)
{
    state_ckpt_t        *ck;
    const state_file_t  *f;
    state_info_t         info;
    size_t               n;

    ck = state_parse_text(GOOD, strlen(GOOD), err, sizeof(err));
    ck_assert_msg(ck != NULL, "%s", err);
    ck_assert_uint_eq(state_ckpt_generation(ck), 4);
    ck_assert(state_ckpt_saved_at(ck) == 1700000000.0);
    f = state_ckpt_files(ck, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(f[0].path, "/var/log/a.log");
    ck_assert_uint_eq(f[0].offset, 5000);
    ck_assert_uint_eq(f[0].fp_len, 1024);
    ck_assert_uint_eq(f[0].fp, 0xdeadbeef);
    ck_assert_uint_eq(f[0].carry_len, 4);
    ck_assert_mem_eq(f[0].carry, "ab c", 4);
    ck_assert_uint_eq(f[0].tfp, 0xc0ffee);
    ck_assert_int_eq(f[1].rotated, 1);
    ck_assert_uint_eq(f[1].carry_len, 0);

    memset(&info, 0, sizeof(info));
    store_ingest_lock(store);
    state_ckpt_apply(ck, store, &info);
    store_ingest_unlock(store);
    state_ckpt_free(ck);
    ck_assert_uint_eq(info.series, 3);
    ck_assert_uint_eq(info.skipped, 0);
    ck_assert_uint_eq(t_xy(store), 5);
}
END_TEST


/* Version 1 had no tail fingerprint: 11 fields. */
START_TEST(test_version1)
{
    const char    *v1 = "gwlog_state 1 2 1700000000\n"
                        "file 0 1 2 30 30 0000000000000001 0 0 /a.log %\n"
                        "end 1 0 0\n";
    state_ckpt_t  *ck;
    size_t         n;

    ck = state_parse_text(v1, strlen(v1), err, sizeof(err));
    ck_assert_msg(ck != NULL, "%s", err);
    ck_assert_uint_eq(state_ckpt_files(ck, &n)[0].tfp_len, 0);
    state_ckpt_free(ck);
}
END_TEST


/* Version 3: JOIN_AT, the carry's bytes from before a truncation, which
 * are not in the offset (the file was truncated after they were read). */
START_TEST(test_version3_join_at)
{
    static const struct {
        const char  *carry;
        const char  *join_at;
        const char  *refused;           /* NULL: accepted */
    } c[] = {
        { "%", "0", NULL },
        { "abc", "0", NULL },
        { "abc", "3", NULL },
        { "xxxxxxxxxxxx", "2", NULL },  /* 12 - 2 = 10 = offset */
        { "xxxxxxxxxxxx", "1", "carry_len <= offset" },
        { "xxxxxxxxxxxx", "0", "carry_len <= offset" },
        { "abc", "4", "join_at <= carry_len" },
        { "%", "1", "join_at <= carry_len" },
    };
    char           text[256];
    state_ckpt_t  *ck;
    size_t         i, n;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        snprintf(text, sizeof(text), "gwlog_state 3 2 1700000000\n"
                 "file 0 1 2 10 10 0000000000000001 0 0 /a.log %s 10 "
                 "0000000000000002 %s\nend 1 0 0\n", c[i].carry,
                 c[i].join_at);
        err[0] = '\0';
        ck = state_parse_text(text, strlen(text), err, sizeof(err));
        if (c[i].refused == NULL) {
            ck_assert_msg(ck != NULL, "case %zu refused: %s", i, err);
            ck_assert_uint_eq(state_ckpt_files(ck, &n)[0].join_at,
                              strtoul(c[i].join_at, NULL, 10));
            state_ckpt_free(ck);
        } else {
            ck_assert_msg(ck == NULL, "case %zu accepted", i);
            ck_assert_msg(strstr(err, c[i].refused) != NULL,
                          "case %zu: \"%s\" lacks \"%s\"", i, err,
                          c[i].refused);
        }
    }
}
END_TEST


/* What state_format_text() writes, state_parse_text() accepts, and the
 * values come back equal. */
START_TEST(test_round_trip)
{
    const char     *vals[2] = { "a b%\n\x01\xff", "" };
    state_file_t    f;
    store_snap_t   *snap;
    state_ckpt_t   *ck;
    state_info_t    info;
    store_t        *other;
    buf_t           text = { 0 };
    strv_t          v[2];
    const uint64_t *c;
    double          sum;
    uint32_t        id;
    size_t          n;

    store_ingest_lock(store);
    v[0].p = vals[0];
    v[0].len = strlen(vals[0]);
    v[1].p = vals[1];
    v[1].len = 0;
    id = store_series(store_family_find(store, T), v);
    store_add(store_family_find(store, T), id, 42);
    id = store_series(store_family_find(store, H), v);
    store_observe(store_family_find(store, H), id, 0.05);
    store_observe(store_family_find(store, H), id, 7.25);
    store_ingest_unlock(store);

    memset(&f, 0, sizeof(f));
    f.path = (char *) "/var/log/with space\tand%.log";
    f.offset = 100;
    f.fp_len = 100;
    f.carry = (char *) "par\0tial";
    f.carry_len = 8;
    f.join_at = 3;
    snap = store_snapshot(store);
    state_format_text(&text, 7, 1700000000, snap, &f, 1);
    store_snap_free(snap);
    /* Version 3 because of join_at; version 2 (which an older release
     * reads) without it. */
    ck_assert_msg(strncmp(text.p, "gwlog_state 3 7 ", 16) == 0, "%.20s",
                  text.p);
    ck = state_parse_text(text.p, text.len, err, sizeof(err));
    buf_free(&text);
    ck_assert_msg(ck != NULL, "%s", err);
    ck_assert_str_eq(state_ckpt_files(ck, &n)[0].path, f.path);
    ck_assert_mem_eq(state_ckpt_files(ck, &n)[0].carry, f.carry, 8);
    ck_assert_uint_eq(state_ckpt_files(ck, &n)[0].join_at, 3);
    f.join_at = 0;
    snap = store_snapshot(store);
    state_format_text(&text, 8, 1700000000, snap, &f, 1);
    store_snap_free(snap);
    ck_assert_msg(strncmp(text.p, "gwlog_state 2 8 ", 16) == 0, "%.20s",
                  text.p);
    buf_free(&text);

    other = make_store();
    memset(&info, 0, sizeof(info));
    store_ingest_lock(other);
    state_ckpt_apply(ck, other, &info);
    store_ingest_unlock(other);
    state_ckpt_free(ck);
    snap = store_snapshot(other);
    ck_assert_uint_eq(tu_counter(snap, T, vals[0], vals[1]), 42);
    c = tu_hist(snap, &sum, H, vals[0]);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c[0], 1);
    ck_assert_uint_eq(c[1], 0);
    ck_assert_uint_eq(c[2], 1);
    ck_assert(sum == 7.3);
    store_snap_free(snap);
    store_destroy(other);
}
END_TEST


/* A NUL byte anywhere in the decompressed text. */
START_TEST(test_nul_byte)
{
    char  text[] = GOOD;

    text[30] = '\0';
    ck_assert_ptr_null(state_parse_text(text, sizeof(text) - 1, err,
                                        sizeof(err)));
    ck_assert_msg(strstr(err, "NUL") != NULL, "%s", err);
}
END_TEST


/* The newest slot is refused for its content: the older one is used, and
 * nothing of the refused one reached the store even though its series
 * lines were all decoded before the bad "end" line. */
START_TEST(test_fallback)
{
    state_info_t  info;
    char         *older = replace(GOOD, "gwlog_state 2 4", "gwlog_state 2 2");
    char         *bad = replace(GOOD, "gwlog_state 2 4", "gwlog_state 2 5");
    char         *bad2 = replace(bad, "end 2 2 3", "end 2 2 4");
    size_t        n;

    write_slot(0, older);
    write_slot(1, bad2);
    ck_assert_int_eq(load(NULL, NULL, &info, &n), 0);
    ck_assert_int_eq(info.corrupt, 1);
    ck_assert_uint_eq(info.generation, 2);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(t_xy(store), 5);
    free(older);
    free(bad);
    free(bad2);
}
END_TEST


/* The crash of issue 11: a fingerprint length of 4,000,000,000 with a
 * valid gzip CRC. */
START_TEST(test_fp_len_crash)
{
    state_info_t  info;
    char         *older = replace(GOOD, "gwlog_state 2 4", "gwlog_state 2 2");
    char         *bad = replace(GOOD, "5000 1024 0000", "5000 4000000000 0000");
    char         *bad3 = replace(bad, "gwlog_state 2 4", "gwlog_state 2 3");
    size_t        n;

    write_slot(0, older);
    write_slot(1, bad3);
    ck_assert_int_eq(load(NULL, NULL, &info, &n), 0);
    ck_assert_int_eq(info.corrupt, 1);
    ck_assert_uint_eq(info.generation, 2);
    ck_assert_uint_eq(t_xy(store), 5);
    free(older);
    free(bad);
    free(bad3);
}
END_TEST


typedef struct {
    int     calls;
    int     refuse;             /* refuse the first n calls */
    double  saved_at[2];
    size_t  nfiles[2];
} hook_t;


static int
hook(void *ctx, const state_file_t *files, size_t n, double saved_at)
{
    hook_t  *h = ctx;

    ck_assert_int_lt(h->calls, 2);
    ck_assert(n == 0 || files != NULL);
    h->saved_at[h->calls] = saved_at;
    h->nfiles[h->calls] = n;
    return h->calls++ < h->refuse;
}


START_TEST(test_check_hook)
{
    state_info_t  info;
    hook_t        h;
    char         *older = replace(GOOD, "gwlog_state 2 4 1700000000",
                                  "gwlog_state 2 2 1600000000");
    char         *newer = replace(GOOD, "gwlog_state 2 4", "gwlog_state 2 3");
    size_t        n;

    write_slot(0, older);
    write_slot(1, newer);

    /* Accepted: only the newest is asked about. */
    memset(&h, 0, sizeof(h));
    ck_assert_int_eq(load(hook, &h, &info, &n), 0);
    ck_assert_int_eq(h.calls, 1);
    ck_assert(h.saved_at[0] == 1700000000.0);
    ck_assert_uint_eq(h.nfiles[0], 2);
    ck_assert_uint_eq(info.generation, 3);
    ck_assert_int_eq(info.corrupt, 0);
    ck_assert_uint_eq(t_xy(store), 5);

    /* The newest refused: the older one. */
    store_destroy(store);
    store = make_store();
    memset(&h, 0, sizeof(h));
    h.refuse = 1;
    ck_assert_int_eq(load(hook, &h, &info, &n), 0);
    ck_assert_int_eq(h.calls, 2);
    ck_assert(h.saved_at[1] == 1600000000.0);
    ck_assert_uint_eq(info.generation, 2);
    ck_assert_int_eq(info.corrupt, 1);
    ck_assert_uint_eq(t_xy(store), 5);

    /* Both refused: nothing restored. */
    store_destroy(store);
    store = make_store();
    memset(&h, 0, sizeof(h));
    h.refuse = 2;
    ck_assert_int_eq(load(hook, &h, &info, &n), -1);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(info.corrupt, 2);
    ck_assert_uint_eq(t_xy(store), TU_MISSING);
    free(older);
    free(newer);
}
END_TEST


/* A path longer than any path (the last byte past STATE_PATH_MAX). */
START_TEST(test_giant_path)
{
    state_ckpt_t  *ck;
    char          *path = malloc(STATE_PATH_MAX + 2), *text;
    char           want[64];

    ck_assert_ptr_nonnull(path);
    memset(path, 'x', STATE_PATH_MAX + 1);
    path[0] = '/';
    path[STATE_PATH_MAX + 1] = '\0';
    text = replace(GOOD, "/var/log/a.log.1", path);
    ck_assert_ptr_null(state_parse_text(text, strlen(text), err,
                                        sizeof(err)));
    snprintf(want, sizeof(want), "path: length %d", STATE_PATH_MAX + 1);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    free(text);

    /* One byte less is a path. */
    path[STATE_PATH_MAX] = '\0';
    text = replace(GOOD, "/var/log/a.log.1", path);
    ck = state_parse_text(text, strlen(text), err, sizeof(err));
    ck_assert_msg(ck != NULL, "%s", err);
    state_ckpt_free(ck);
    free(text);
    free(path);
}
END_TEST


/* Slot a holds even generations, slot b odd ones. */
START_TEST(test_generation_slot)
{
    state_info_t  info;
    size_t        n;

    write_slot(0, GOOD);                    /* generation 4: right */
    write_slot(1, GOOD);                    /* generation 4: wrong slot */
    ck_assert_int_eq(load(NULL, NULL, &info, &n), 0);
    ck_assert_int_eq(info.corrupt, 1);
    ck_assert_uint_eq(info.generation, 4);
}
END_TEST


START_TEST(test_empty_and_absent)
{
    state_info_t  info;
    size_t        n;

    ck_assert_int_eq(load(NULL, NULL, &info, &n), 1);
    write_slot(0, "");
    ck_assert_int_eq(load(NULL, NULL, &info, &n), -1);
    ck_assert_int_eq(info.corrupt, 1);
}
END_TEST


/* state_save() creates the directory again, with its parents. */
START_TEST(test_dir_recreated)
{
    store_snap_t  *snap = store_snapshot(store);
    state_info_t   info;
    struct stat    sb;
    state_t       *st;
    char          *sub = tu_path(dir, "sub"), *st_dir = tu_path(sub, "st");
    char          *slot;
    size_t         n;

    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(mkdir(st_dir, 0700), 0);
    st = state_open(st_dir);
    ck_assert_int_eq(state_save(st, snap, NULL, 0, err, sizeof(err)), 0);
    slot = tu_path(st_dir, "checkpoint.b.gz");
    ck_assert_int_eq(unlink(slot), 0);
    ck_assert_int_eq(rmdir(st_dir), 0);
    ck_assert_int_eq(rmdir(sub), 0);
    ck_assert_msg(state_save(st, snap, NULL, 0, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_eq(stat(st_dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    free(slot);
    slot = tu_path(st_dir, "checkpoint.a.gz");
    ck_assert_int_eq(stat(slot, &sb), 0);
    state_close(st);

    /* And what it wrote loads. */
    st = state_open(st_dir);
    store_ingest_lock(store);
    {
        state_file_t  *files;

        ck_assert_int_eq(state_load(st, store, NULL, NULL, &files, &n,
                                    &info), 0);
        state_files_free(files, n);
    }
    store_ingest_unlock(store);
    ck_assert_uint_eq(info.generation, 2);
    state_close(st);
    unlink(slot);
    rmdir(st_dir);
    rmdir(sub);
    free(slot);
    free(st_dir);
    free(sub);
    store_snap_free(snap);
}
END_TEST


/* Limits: one hostile change of GOOD per case, and the field the error
 * must name. */

typedef struct {
    const char  *old, *new;         /* first change */
    const char  *old2, *new2;       /* second change, or NULL */
    const char  *want;              /* in the error */
} hostile_t;

static const hostile_t  hostile[] = {
    /* Fingerprints against the buffer and the offset. */
    { "5000 1024 0000", "5000 4000000000 0000", NULL, NULL,
      "fp_len: 4000000000 is out of bounds [0, 1024]" },
    { "5000 1024 0000", "5000 1025 0000", NULL, NULL, "fp_len: 1025" },
    { "1235 10 10", "1235 9 10", NULL, NULL, "fp_len <= offset: 10 > 9" },
    { "% 10 0000000000000002", "% 11 0000000000000002", NULL, NULL,
      "tfp_len <= offset: 11 > 10" },
    { "ab%20c 1024 ", "ab%20c 4000000000 ", NULL, NULL, "tfp_len: 4000000000" },
    { "00000000deadbeef", "00000000deadbeeg", NULL, NULL, "fp: " },
    { "00000000deadbeef", "deadbeef", NULL, NULL, "fp: " },
    /* Offsets. */
    { "1234 5000 ", "1234 9223372036854775808 ", NULL, NULL,
      "offset: 9223372036854775808 is out of bounds" },
    { "1234 5000 ", "1234 18446744073709551616 ", NULL, NULL, "offset: " },
    { "1234 5000 ", "1234 -1 ", NULL, NULL, "offset: \"-1\"" },
    { "1234 5000 ", "1234 +5000 ", NULL, NULL, "offset: " },
    /* Carries. */
    { "/var/log/a.log.1 % 10", "/var/log/a.log.1 abcdefghijk 10", NULL, NULL,
      "carry_len <= offset: 11 bytes carried (0 of them from before a truncation) > 10" },
    { "00000000deadbeef 0 0", "00000000deadbeef 1 0", NULL, NULL,
      "while skipping" },
    { "ab%20c", "ab%2", NULL, NULL, "carry: badly encoded" },
    { "ab%20c", "ab%0Ac", NULL, NULL, "carry: holds a newline" },
    /* Other file fields. */
    { "file 0 2049 1234", "file 65536 2049 1234", NULL, NULL, "input: 65536" },
    { "0 1 /var/log/a.log.1", "0 3 /var/log/a.log.1", NULL, NULL,
      "rotated: 3" },
    { "0 0 /var/log/a.log ", "2 0 /var/log/a.log ", NULL, NULL,
      "skipping: 2" },
    { " /var/log/a.log ab", " % ab", NULL, NULL, "path: length 0" },
    { "/var/log/a.log ab", "/var/log/a%0A.log ab", NULL, NULL,
      "path: holds a newline" },
    { "/var/log/a.log ab", "/var/log/a%00.log ab", NULL, NULL,
      "path: holds a NUL" },
    { "/var/log/a.log ab", "/var/log/a\x7f.log ab", NULL, NULL,
      "path: badly encoded" },
    { " 1024 0000000000c0ffee\n", "\n", NULL, NULL, "11 fields, not 13" },
    /* Counts against the "end" line. */
    { "end 2 2 3", "end 3 2 3", NULL, NULL, "counts 3 files" },
    { "end 2 2 3", "end 4000000000 2 3", NULL, NULL, "counts 4000000000" },
    { "end 2 2 3", "end 2 2 99999999999", NULL, NULL, "counts" },
    { "end 2 2 3", "end 2 1 3", NULL, NULL, "counts" },
    { "end 2 2 3", "end -2 2 3", NULL, NULL, "nfiles" },
    { "end 2 2 3\n", "end 2 2\n", NULL, NULL, "(end): 3 fields, not 4" },
    { "end 2 2 3\n", "", NULL, NULL, "no end line" },
    { "end 2 2 3\n", "end 2 2 3", NULL, NULL, "no newline" },
    { "end 2 2 3\n", "end 2 2 3\nend 2 2 3\n", NULL, NULL, "after the end" },
    /* Duplicates. */
    { "family t_total", FILE1 "family t_total", "end 2 2", "end 3 2",
      "recorded twice (device 2049, inode 1234)" },
    { "s x z 7", "s x y 7", NULL, NULL, "family t_total: a series recorded "
      "twice" },
    { "end 2 2 3", "family t_total c 2 a b 0 0\nend 2 3 3", NULL, NULL,
      "family t_total: recorded twice" },
    { "c 2 a b", "c 2 a a", NULL, NULL, "label 1: a appears twice" },
    /* Series values. */
    { "s x y 5", "s x y -5", NULL, NULL, "count 0: \"-5\"" },
    { "s x y 5", "s x y 18446744073709551616", NULL, NULL, "count 0" },
    { "s x 1 2 3 ", "s x 18446744073709551615 2 3 ", NULL, NULL, "2^64" },
    { "0x1.8p+3", "nan", NULL, NULL, "sum: \"nan\"" },
    { "s x 1 2 3 0x1.8p+3", "s x 0 0 0 0x1.8p+3", NULL, NULL,
      "no observation" },
    { "s x y 5", "s x y 5 6", NULL, NULL, "5 fields, not 4" },
    { "s x y 5", "s x%G1 y 5", NULL, NULL, "value of a: badly encoded" },
    { "family t_total c 2 a b 0 3\n", "", NULL, NULL, "before any family" },
    /* Families. */
    { "t_total c 2 a b", "t_total c 300 a b", NULL, NULL, "nlabels" },
    { "t_total c 2 a b", "t_total c 5 a b", NULL, NULL, "nlabels" },
    { "a b 0 3", "a b 1 0x1p+0 3", NULL, NULL, "nbuckets" },
    { "a 2 0x1.999999999999ap-4 0x1p+0", "a 2 0x1p+0 0x1.999999999999ap-4",
      NULL, NULL, "bound 1" },
    { "a 2 0x1.999999999999ap-4 0x1p+0", "a 2 0x1p+0 inf", NULL, NULL,
      "bound 1" },
    { "a b 0 3", "a b 0 -3", NULL, NULL, "overflowed" },
    { "family t_total", "family 9t", NULL, NULL, "name: \"9t\"" },
    { "c 2 a b", "c 2 a b-c", NULL, NULL, "label 1" },
    { "t_total c", "t_total x", NULL, NULL, "type" },
    /* Header and record order. */
    { "gwlog_state 2", "gwlog_state 5", NULL, NULL, "version: 5" },
    { "gwlog_state 2", "gwlog_state 3", NULL, NULL, "fields, not 14" },
    { "gwlog_state 2", "gwlog_state 0", NULL, NULL, "version: 0" },
    { "gwlog_state 2 4 ", "gwlog_state 2 0 ", NULL, NULL, "generation: 0" },
    { "1700000000", "99999999999", NULL, NULL, "time 99999999999" },
    { "1700000000", "-1700000000", NULL, NULL, "time: " },
    { "gwlog_state", "gwlog_stat", NULL, NULL, "header" },
    { "family h_seconds", "bogus 1\nfamily h_seconds", NULL, NULL,
      "unknown record" },
    { "s x y 5", "s x  y 5", NULL, NULL, "field 2 is empty" },
    { "end 2 2 3", "file 0 1 1 0 0 0000000000000000 0 0 /z % 0 "
      "0000000000000000\nend 3 2 3", NULL, NULL, "a file record after" },
};


START_TEST(test_hostile)
{
    const hostile_t  *h = &hostile[_i];
    state_ckpt_t     *ck;
    char             *text, *t2;

    text = replace(GOOD, h->old, h->new);
    if (h->old2 != NULL) {
        t2 = replace(text, h->old2, h->new2);
        free(text);
        text = t2;
    }
    ck = state_parse_text(text, strlen(text), err, sizeof(err));
    ck_assert_msg(ck == NULL, "case %d accepted: %.60s -> %.60s", _i, h->old,
                  h->new);
    ck_assert_msg(strstr(err, h->want) != NULL, "case %d: \"%s\" lacks "
                  "\"%s\"", _i, err, h->want);
    free(text);
}
END_TEST


Suite *
state_suite(void)
{
    Suite  *s;
    TCase  *tc;

    s = suite_create("state");

    tc = tcase_create("Core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);              /* each test takes < 50 ms */
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_version1);
    tcase_add_test(tc, test_version3_join_at);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_fallback);
    tcase_add_test(tc, test_fp_len_crash);
    tcase_add_test(tc, test_check_hook);
    tcase_add_test(tc, test_giant_path);
    tcase_add_test(tc, test_generation_slot);
    tcase_add_test(tc, test_empty_and_absent);
    tcase_add_test(tc, test_dir_recreated);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_hostile, 0,
                        (int) (sizeof(hostile) / sizeof(hostile[0])));
    suite_add_tcase(s, tc);

    return s;
}
