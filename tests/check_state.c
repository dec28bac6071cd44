/* check_state.c - Unit tests for exporter/state.c: a checkpoint is
 * untrusted input.  Every bound of every decoded field, the counts of the
 * "end" line and duplicates are refused with the field named; a refused
 * slot leaves nothing in the store and the other slot is used; the check
 * hook can refuse a slot; a removed state directory is created again. */

#include <float.h>
#include <math.h>
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

/* Version 4: a histogram with native buckets (factor 1.1: schema 3, cap
 * 160), one series with 6 observations (zero bucket 1; -0.5 in negative
 * bucket -8; 1, 1 in 0; 2 in 8; 3 in 13), one without any. */
#define N       "n_seconds"
#define GOOD_NATIVE \
    "gwlog_state 4 4 1700000000\n" \
    "family n_seconds h 1 a 2 0x1.999999999999ap-4 0x1p+0 0\n" \
    "native 0x1.199999999999ap+0 160\n" \
    "s x 1 2 3 0x1.8p+3\n" \
    "n 3 1 1 3 -8 1 0 2 8 1 13 1\n" \
    "s y 0 0 0 0x0p+0\n" \
    "end 0 1 2 1\n"

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


/* A store with family N keeping native buckets at factor (0: none) and
 * cap max_buckets, observing raw * scale (0: 1). */
static store_t *
make_native_store(double factor, uint32_t max_buckets, double scale)
{
    store_family_def_t  def;
    store_t            *s = store_create();

    ck_assert_ptr_nonnull(s);
    memset(&def, 0, sizeof(def));
    def.sibling_label = -1;
    def.name = N;
    def.help = "n";
    def.type = STORE_HISTOGRAM;
    def.labels = h_labels;
    def.nlabels = 1;
    def.buckets = h_bounds;
    def.nbuckets = 2;
    def.native_factor = factor;
    def.native_max_buckets = max_buckets;
    def.scale = scale;
    ck_assert_ptr_nonnull(store_family_add(s, &def));
    return s;
}


/* The native buckets of N{a=value} in snap (NULL: none), with its
 * classic count in *count. */
static const native_t *
n_native(const store_snap_t *snap, const char *value, uint64_t *count)
{
    const char      *vals[1] = { value };
    const uint64_t  *c;
    double           sum;
    long             fi, j;

    fi = tu_family(snap, N);
    ck_assert_int_ge(fi, 0);
    j = tu_series_v(snap, (size_t) fi, vals);
    ck_assert_msg(j >= 0, "no series %s", value);
    c = store_snap_buckets(snap, (size_t) fi, (size_t) j, &sum);
    *count = c[0] + c[1] + c[2];
    return store_snap_native(snap, (size_t) fi, (size_t) j);
}


/* a and b hold the same schema, zero count and buckets. */
static void
native_eq(const native_t *a, const native_t *b, const char *what)
{
    const native_bucket_t  *ba, *bb;
    size_t                  na, nb, k;
    int                     side;

    ck_assert_msg(a != NULL && b != NULL, "%s: native buckets missing",
                  what);
    ck_assert_int_eq(native_schema(a), native_schema(b));
    ck_assert_uint_eq(native_zero_count(a), native_zero_count(b));
    for (side = 0; side < 2; side++) {
        na = native_buckets(a, side, &ba);
        nb = native_buckets(b, side, &bb);
        ck_assert_msg(na == nb, "%s: side %d: %zu buckets, not %zu", what,
                      side, nb, na);
        for (k = 0; k < na; k++) {
            ck_assert_int_eq(ba[k].index, bb[k].index);
            ck_assert_uint_eq(ba[k].count, bb[k].count);
        }
    }
}


/* Formats store, parses the text (checking its version) and applies it
 * to other. */
static void
round_trip(store_t *from, store_t *to, int version, state_info_t *info)
{
    store_snap_t  *snap;
    state_ckpt_t  *ck;
    buf_t          text = { 0 };
    char           head[32];

    snap = store_snapshot(from);
    state_format_text(&text, 9, 1700000000, snap, NULL, 0);
    store_snap_free(snap);
    snprintf(head, sizeof(head), "gwlog_state %d 9 ", version);
    ck_assert_msg(strncmp(text.p, head, strlen(head)) == 0, "%.20s", text.p);
    ck = state_parse_text(text.p, text.len, err, sizeof(err));
    ck_assert_msg(ck != NULL, "%s\n%.2000s", err, text.p);
    buf_free(&text);
    memset(info, 0, sizeof(*info));
    store_ingest_lock(to);
    state_ckpt_apply(ck, to, info);
    store_ingest_unlock(to);
    state_ckpt_free(ck);
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


/* Version 4: GOOD_NATIVE's buckets, as written by hand from native.h's
 * definition, reach the store. */
START_TEST(test_native_parse)
{
    static const native_bucket_t  pos[] = { { 0, 2 }, { 8, 1 }, { 13, 1 } };
    const native_bucket_t        *b;
    const native_t               *n;
    state_ckpt_t                 *ck;
    state_info_t                  info;
    store_snap_t                 *snap;
    store_t                      *ns = make_native_store(1.1, 160, 0);
    uint64_t                      count;
    size_t                        k;

    ck = state_parse_text(GOOD_NATIVE, strlen(GOOD_NATIVE), err,
                          sizeof(err));
    ck_assert_msg(ck != NULL, "%s", err);
    memset(&info, 0, sizeof(info));
    store_ingest_lock(ns);
    state_ckpt_apply(ck, ns, &info);
    store_ingest_unlock(ns);
    state_ckpt_free(ck);
    ck_assert_uint_eq(info.series, 2);
    ck_assert_uint_eq(info.skipped, 0);
    snap = store_snapshot(ns);
    n = n_native(snap, "x", &count);
    ck_assert_uint_eq(count, 6);
    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(native_schema(n), 3);
    ck_assert_uint_eq(native_zero_count(n), 1);
    ck_assert_uint_eq(native_buckets(n, 1, &b), 1);
    ck_assert_int_eq(b[0].index, -8);
    ck_assert_uint_eq(b[0].count, 1);
    ck_assert_uint_eq(native_buckets(n, 0, &b), 3);
    for (k = 0; k < 3; k++) {
        ck_assert_int_eq(b[k].index, pos[k].index);
        ck_assert_uint_eq(b[k].count, pos[k].count);
    }
    ck_assert_ptr_null(n_native(snap, "y", &count));
    ck_assert_uint_eq(count, 0);
    store_snap_free(snap);
    store_destroy(ns);
}
END_TEST


/* Format, parse, apply: the native buckets come back identical, for
 * series at their family's schema and for series halved by the cap (a
 * restored series is not halved again), with negative, zero, tiny, huge
 * and infinite values (DBL_MAX scaled by 2); the count agrees with them; the same
 * observations made into a fresh store (the model the values came from)
 * agree too. */
START_TEST(test_native_round_trip)
{
    static const double  vals[] = { 1, 2, 3, -0.5, 0, -0.0, 0x1p-130,
                                    -0x1p-127, 1e-300, 1e300, -1e300,
                                    DBL_MAX, 4, 5, 6, 7, 8, 9, 1e3, 1e6 };
    static const char   *names[] = { "x", "y", "z", "w" };
    const native_t      *a, *b;
    const native_bucket_t  *bk;
    store_family_t      *f;
    store_snap_t        *s1, *s2;
    state_info_t         info;
    store_t             *from, *to;
    uint64_t             ca, cb;
    uint32_t             id;
    size_t               i, k;
    strv_t               v;

    from = make_native_store(1.1, 5, 2);
    store_ingest_lock(from);
    f = store_family_find(from, N);
    for (k = 0; k < 2; k++) {
        v.p = names[k];
        v.len = 1;
        id = store_series(f, &v);
        for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            if (k == 0 || i < 4) {
                store_observe(f, id, vals[i]);
            }
        }
    }
    v.p = names[2];
    v.len = 1;
    (void) store_series(f, &v);                     /* no observation */
    /* w: 2^0, 2^4 ... 2^20 (raw halves), buckets 0, 32 ... 160 at schema
     * 3: the sixth passes the cap of 5 and halves to schema 2, where they
     * stay 6 (0, 16 ... 80): a series may hold more than its cap. */
    v.p = names[3];
    id = store_series(f, &v);
    for (i = 0; i < 6; i++) {
        store_observe(f, id, ldexp(1.0, 4 * (int) i - 1));
    }
    store_ingest_unlock(from);

    to = make_native_store(1.1, 5, 2);
    round_trip(from, to, 4, &info);
    ck_assert_uint_eq(info.series, 4);
    ck_assert_uint_eq(info.skipped, 0);
    s1 = store_snapshot(from);
    s2 = store_snapshot(to);
    a = n_native(s1, "w", &ca);
    ck_assert_int_eq(native_schema(a), 2);
    ck_assert_uint_eq(native_buckets(a, 0, &bk), 6);
    ck_assert_int_eq(bk[5].index, 80);
    native_eq(a, n_native(s2, "w", &cb), "w");
    ck_assert_uint_eq(cb, 6);
    for (k = 0; k < 2; k++) {
        a = n_native(s1, names[k], &ca);
        b = n_native(s2, names[k], &cb);
        native_eq(a, b, names[k]);
        ck_assert_uint_eq(ca, cb);
        ck_assert_uint_eq(ca, k == 0 ? 20 : 4);
    }
    /* x holds more kinds of values than 5 buckets at schema 3: halved. */
    ck_assert_int_lt(native_schema(n_native(s1, "x", &ca)), 3);
    ck_assert_int_eq(native_schema(n_native(s1, "y", &ca)), 3);
    ck_assert_ptr_null(n_native(s2, "z", &cb));
    ck_assert_uint_eq(cb, 0);
    store_snap_free(s1);
    store_snap_free(s2);

    /* Observed after the restore, as if never restarted. */
    store_ingest_lock(from);
    store_ingest_lock(to);
    for (k = 0; k < 2; k++) {
        v.p = names[k];
        v.len = 1;
        store_observe(store_family_find(from, N),
                      store_series(store_family_find(from, N), &v), 1e-3);
        store_observe(store_family_find(to, N),
                      store_series(store_family_find(to, N), &v), 1e-3);
    }
    store_ingest_unlock(to);
    store_ingest_unlock(from);
    s1 = store_snapshot(from);
    s2 = store_snapshot(to);
    for (k = 0; k < 2; k++) {
        native_eq(n_native(s1, names[k], &ca), n_native(s2, names[k], &cb),
                  names[k]);
    }
    store_snap_free(s1);
    store_snap_free(s2);
    store_destroy(from);
    store_destroy(to);
}
END_TEST


/* A family whose native factor or cap changed, or that keeps native
 * buckets only on one side of the restart, is dropped as a reload drops
 * it; with the same factor and cap it is restored. */
START_TEST(test_native_changed)
{
    static const struct {
        double      factor;
        uint32_t    cap;
        size_t      restored;
    } c[] = {
        { 1.1, 160, 2 },
        { 1.2, 160, 0 },                    /* same schema 3, other factor */
        { 1.1, 100, 0 },
        { 0, 0, 0 },                        /* native turned off */
    };
    state_ckpt_t  *ck;
    state_info_t   info;
    store_t       *ns;
    size_t         i;
    const char    *v3 = "gwlog_state 3 4 1700000000\n"
                        "family n_seconds h 1 a 2 0x1.999999999999ap-4 "
                        "0x1p+0 0\n"
                        "s x 1 2 3 0x1.8p+3\n"
                        "end 0 1 1\n";

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        ns = make_native_store(c[i].factor, c[i].cap, 0);
        ck = state_parse_text(GOOD_NATIVE, strlen(GOOD_NATIVE), err,
                              sizeof(err));
        ck_assert_msg(ck != NULL, "%s", err);
        memset(&info, 0, sizeof(info));
        store_ingest_lock(ns);
        state_ckpt_apply(ck, ns, &info);
        store_ingest_unlock(ns);
        state_ckpt_free(ck);
        ck_assert_msg(info.series == c[i].restored
                      && info.skipped == 2 - c[i].restored,
                      "case %zu: %zu restored, %zu skipped", i, info.series,
                      info.skipped);
        store_destroy(ns);
    }

    /* Version 3 has no native record: the family kept none when saved,
     * for all the checkpoint says, and keeps some now. */
    ns = make_native_store(1.1, 160, 0);
    ck = state_parse_text(v3, strlen(v3), err, sizeof(err));
    ck_assert_msg(ck != NULL, "%s", err);
    memset(&info, 0, sizeof(info));
    store_ingest_lock(ns);
    state_ckpt_apply(ck, ns, &info);
    store_ingest_unlock(ns);
    state_ckpt_free(ck);
    ck_assert_uint_eq(info.series, 0);
    ck_assert_uint_eq(info.skipped, 1);
    store_destroy(ns);
}
END_TEST


/* native_held_max() bounds what native_observe() makes: a cap of 4 and
 * values two buckets apart at every schema (no halving merges them)
 * hold cap + (start - schema) buckets, never more; and never above the
 * ranges at -4 (146). */
START_TEST(test_native_held_max)
{
    native_t               *n = NULL;
    const native_bucket_t  *b;
    size_t                  held, most = 0;
    int                     i;

    /* 2^(4k) for k = 0..: at schema 0 indexes 0, 4, 8...: every halving
     * but the last ones keeps them apart. */
    for (i = 0; i < 250; i++) {
        native_observe(&n, ldexp(1.0, 4 * i - 500), 0, 4);
        held = native_buckets(n, 0, &b) + native_buckets(n, 1, &b);
        ck_assert_msg(held <= native_held_max(native_schema(n), 0, 4),
                      "value %d: %zu buckets at schema %d, bound %zu", i,
                      held, native_schema(n),
                      native_held_max(native_schema(n), 0, 4));
        most = held > most ? held : most;
    }
    ck_assert_int_eq(native_schema(n), NATIVE_SCHEMA_MIN);
    ck_assert_uint_gt(most, 4);             /* the cap was passed */
    ck_assert_uint_eq(native_held_max(NATIVE_SCHEMA_MIN, 3, 160), 146);
    ck_assert_uint_eq(native_held_max(3, 3, 160), 160);
    ck_assert_uint_eq(native_held_max(1, 3, 160), 162);
    native_free(n);
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


/* The same for GOOD_NATIVE's native records (version 4). */
static const hostile_t  hostile_native[] = {
    /* Schema. */
    { "n 3 1", "n 9 1", NULL, NULL, "schema: 9 is not in [-4, 3]" },
    { "n 3 1", "n -5 1", NULL, NULL, "schema: -5 is not in [-4, 3]" },
    { "n 3 1", "n 4 1", NULL, NULL, "schema: 4 is not in [-4, 3] (the "
      "family starts at 3)" },
    { "n 3 1", "n +3 1", NULL, NULL, "schema: \"+3\"" },
    { "n 3 1", "n 3x 1", NULL, NULL, "schema: \"3x\"" },
    /* How many buckets. */
    { "0x1.199999999999ap+0 160", "0x1.199999999999ap+0 3", NULL, NULL,
      "nneg 1 + npos 3: more buckets than a series holds at schema 3 "
      "(9217 a side, 3 in all" },
    { "0x1.199999999999ap+0 160", "0x1.199999999999ap+0 0", "n 3 1 1 3",
      "n 3 1 1 9218", "npos 9218: more buckets" },
    { "n 3 1 1 3", "n 3 1 18446744073709551615 3", NULL, NULL,
      "more buckets" },
    { "n 3 1 1 3", "n 3 1 1 -3", NULL, NULL, "npos: \"-3\"" },
    { " 13 1\n", " 13 1 5\n", NULL, NULL, "more fields than the 4 "
      "buckets announced" },
    { " 13 1\n", " 13\n", NULL, NULL, "count 3: \"\" is not a positive" },
    { " 8 1 13 1\n", "\n", NULL, NULL, "index 2: \"\"" },
    /* Indexes and counts. */
    { "0 2 8 1 13 1", "8 2 0 1 13 1", NULL, NULL,
      "index 2: 0 does not ascend (8 before it)" },
    { "0 2 8 1 13 1", "0 2 0 1 13 1", NULL, NULL,
      "index 2: 0 does not ascend" },
    { "13 1\n", "8194 1\n", NULL, NULL,
      "index 3: 8194 is out of the range [-1023, 8193] of schema 3" },
    { "-8 1", "-1024 1", NULL, NULL, "index 0: -1024 is out of the range" },
    { "-8 1", "-2147483649 1", NULL, NULL, "index 0: -2147483649 is out" },
    { "-8 1", "-8x 1", NULL, NULL, "index 0: \"-8x\"" },
    { "-8 1 0 2", "-8 0 0 2", NULL, NULL, "count 0: \"0\" is not a "
      "positive" },
    { "-8 1 0 2", "-8 -1 0 2", NULL, NULL, "count 0: \"-1\"" },
    { "n 3 1 1", "n 3 18446744073709551615 1", NULL, NULL,
      "the native counts add up past 2^64" },
    /* Native total against the classic count. */
    { "n 3 1 1", "n 3 2 1", NULL, NULL, "native total 7 (zero bucket and "
      "buckets) is not the series' count 6" },
    { "n 3 1 1", "n 3 0 1", NULL, NULL, "native total 5" },
    { "n 3 1 1 3 -8 1 0 2 8 1 13 1\n", "", "end 0 1 2 1", "end 0 1 2 0",
      "series 0 counted 6 observations and has no native buckets" },
    /* Records out of place. */
    { "native 0x1.199999999999ap+0 160\n", "", NULL, NULL,
      "family n_seconds keeps no native buckets (no native record)" },
    { "s y 0", "n 3 0 0 0\ns y 0", "end 0 1 2 1", "end 0 1 2 2",
      "(n): not right after a series line" },
    { "s y 0 0 0 0x0p+0\n", "s y 0 0 0 0x0p+0\nn 3 0 0 0\n",
      "end 0 1 2 1", "end 0 1 2 2", NULL },
    { "native 0x1.199999999999ap+0 160\n", "native 0x1.199999999999ap+0 160"
      "\nnative 0x1.199999999999ap+0 160\n", NULL, NULL,
      "(native): not right after a family line" },
    { "family n_seconds", "family t_total c 0 0 0\nnative 0x1p+1 1\n"
      "family n_seconds", "end 0 1", "end 0 2",
      "family t_total is a counter" },
    { "n 3 1 1 3 -8 1 0 2 8 1 13 1", "n", NULL, NULL,
      "schema: missing or empty" },
    { "n 3 1 1 3", "n 3 1  1 3", NULL, NULL, "nneg: missing or empty" },
    /* The family's native configuration. */
    { "native 0x1.199999999999ap+0", "native 0x1p+0", NULL, NULL,
      "factor: \"0x1p+0\" is not a finite number above 1" },
    { "native 0x1.199999999999ap+0", "native inf", NULL, NULL, "factor" },
    { "native 0x1.199999999999ap+0", "native nan", NULL, NULL, "factor" },
    { "native 0x1.199999999999ap+0", "native -2", NULL, NULL, "factor" },
    { "0x1.199999999999ap+0 160", "0x1.199999999999ap+0 4294967296", NULL,
      NULL, "max_buckets: \"4294967296\"" },
    { "0x1.199999999999ap+0 160", "0x1.199999999999ap+0 160 1", NULL, NULL,
      "4 fields, not 3" },
    /* Versions and the end line. */
    { "gwlog_state 4", "gwlog_state 3", NULL, NULL,
      "a native record in a version 3 checkpoint" },
    { "end 0 1 2 1", "end 0 1 2 2", NULL, NULL, "2 native; the records "
      "hold 0, 1, 2, 1" },
    { "end 0 1 2 1\n", "end 0 1 2\n", NULL, NULL, "4 fields, not 5" },
};


static void
hostile_case(const char *good, const hostile_t *h, int i)
{
    state_ckpt_t  *ck;
    char          *text, *t2;

    text = replace(good, h->old, h->new);
    if (h->old2 != NULL) {
        t2 = replace(text, h->old2, h->new2);
        free(text);
        text = t2;
    }
    err[0] = '\0';
    ck = state_parse_text(text, strlen(text), err, sizeof(err));
    if (h->want == NULL) {                  /* a control: accepted */
        ck_assert_msg(ck != NULL, "case %d refused: %s", i, err);
        state_ckpt_free(ck);
        free(text);
        return;
    }
    ck_assert_msg(ck == NULL, "case %d accepted: %.60s -> %.60s", i, h->old,
                  h->new);
    ck_assert_msg(strstr(err, h->want) != NULL, "case %d: \"%s\" lacks "
                  "\"%s\"", i, err, h->want);
    free(text);
}


START_TEST(test_hostile_native)
{
    hostile_case(GOOD_NATIVE, &hostile_native[_i], _i);
}
END_TEST


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
    tcase_add_test(tc, test_native_parse);
    tcase_add_test(tc, test_native_round_trip);
    tcase_add_test(tc, test_native_changed);
    tcase_add_test(tc, test_native_held_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("Limits");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_hostile, 0,
                        (int) (sizeof(hostile) / sizeof(hostile[0])));
    tcase_add_loop_test(tc, test_hostile_native, 0,
                        (int) (sizeof(hostile_native)
                               / sizeof(hostile_native[0])));
    suite_add_tcase(s, tc);

    return s;
}
