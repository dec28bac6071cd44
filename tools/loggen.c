/* loggen.c - Synthetic API gateway access logs for gwlog_exporter.
 *
 * Writes JSON access-log lines shaped like the seed sample (the Alibaba
 * Cloud OpenAPI gateway: one object per line, 4-5 KB, with the nested JSON
 * string Ext5 and the k=v string RequestContent), and the dimension CSVs
 * that go with them (gateway_cluster, user_level, api_meta).
 *
 * The "universe" (products, APIs, tenant UIDs, gateway node IPs and which
 * of them the CSVs cover) depends only on --tenants and --nodes, never on
 * --seed, so CSVs written by one run match the lines of any other run.
 * --seed only drives the stream of lines.  Without --rate, the same seed
 * (and --time) gives the same bytes.
 *
 * Output is built in a large buffer and written with write(2) in big
 * chunks.  With --rate, lines go out every 10 ms, and some lines are split
 * across two write() calls 10 ms apart so that tailers see partial lines.
 * SIGPIPE/EPIPE ends the program quietly; SIGINT/SIGTERM flush the whole
 * lines generated so far and exit 0.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* Macros */

#define LG_NAME             "loggen"
#define LG_FLUSH_BYTES      (4u << 20)      /* write when this much is ready */
#define LG_TICK_NS          10000000L       /* --rate batch interval: 10 ms */
#define LG_MAX_ITEMS        64              /* keys in one generated object */
#define LG_POOL_BYTES       (1u << 20)      /* random base64 to copy from */
#define LG_NELEM(a)         (sizeof(a) / sizeof((a)[0]))
#define LG_LIT(b, s)        lg_put((b), (s), sizeof(s) - 1)


/* Types */

typedef struct {
    char    *p;         /* owned */
    size_t   len;
    size_t   cap;
} lg_buf_t;

/* A product as written in the table below. */
typedef struct {
    const char  *code;          /* the Product value */
    const char  *version;       /* the usual Version */
    const char  *version2;      /* an older Version still called, or NULL */
    int          list_style;    /* read APIs are List* rather than Describe* */
    const char  *nouns;         /* '|' separated; "=Name" is a literal API */
} lg_product_def_t;

/* A product with its API list expanded at start-up. */
typedef struct {
    const lg_product_def_t  *def;       /* not owned (static table) */
    char                   **apis;      /* owned, napis strings */
    size_t                   napis;
    double                  *api_cdf;   /* owned, Zipf over apis */
    double                   median_ms; /* typical TotalUsedTime */
    double                   err_mult;  /* error-rate multiplier */
} lg_product_t;

/* One HTTP status with its share of requests and its error codes. */
typedef struct {
    unsigned      code;
    double        weight;       /* per mille of requests, before err_mult */
    const char   *errors[6];    /* NULL-terminated; empty -> "" */
} lg_status_t;

/* The "true" content of one line, before it is encoded. */
typedef struct {
    lg_product_t  *prod;
    const char    *api;
    const char    *version;
    uint64_t       tenant;
    size_t         node;
    size_t         biz_region;
    unsigned       http_code;
    const char    *error_code;
    uint64_t       tut_ms;
    int            warmup;
    int            sts;          /* the caller uses an STS token */
} lg_event_t;

/* A key/value pair as slices of the scratch buffer (encoded JSON). */
typedef struct {
    size_t  koff, klen;
    size_t  voff, vlen;
} lg_item_t;

/* How to damage or bend one line. */
typedef struct {
    int          awkward;
    int          missing;       /* garbage: 1 Product, 2 HttpCode */
    int          missing_form;  /* 0 absent, 1 null, 2 "", 3 {}, 4 [] */
    const char  *bad_number;    /* garbage: raw token for bad_field */
    int          bad_field;     /* LG_F_HTTPCODE or LG_F_TOTALUSEDTIME */
} lg_line_opts_t;

typedef enum {
    LG_F_AK = 0,
    LG_F_API,
    LG_F_CALLERUID,
    LG_F_CLIENTIP,
    LG_F_DOMAIN,
    LG_F_ERRORCODE,
    LG_F_EXT5,
    LG_F_HTTPCODE,
    LG_F_LOCALIP,
    LG_F_PRODUCT,
    LG_F_REGIONID,
    LG_F_REQUESTCONTENT,
    LG_F_TOTALUSEDTIME,
    LG_F_VERSION,
    LG_F_TIME,
    LG_NFIELDS
} lg_field_t;

typedef enum {
    LG_G_TRUNCATED = 0,
    LG_G_BINARY,
    LG_G_EMPTY,
    LG_G_NOT_OBJECT,
    LG_G_MISSING,
    LG_G_TRAILING_COMMA,
    LG_G_SINGLE_QUOTES,
    LG_G_BAD_ESCAPE,
    LG_G_CTRL_CHAR,
    LG_G_BAD_NUMBER,
    LG_G_TRAILING_GARBAGE,
    LG_G_DEEP,
    LG_G_BAD_UTF8,
    LG_G_NKINDS
} lg_garbage_t;

typedef struct {
    /* Options. */
    uint64_t        lines;          /* 0: unlimited */
    uint64_t        rate;           /* lines per second, 0: flat out */
    uint64_t        seed;
    uint64_t        tenants;
    uint64_t        nodes;
    uint64_t        line_bytes;
    double          garbage;
    int             awkward;
    int             lines_set;
    int64_t         fixed_time;     /* -1: the clock */
    const char     *output;         /* NULL: stdout */
    const char     *dims_dir;
    int             fd;

    /* Random streams. */
    uint64_t        rng;            /* line content */
    uint64_t        split_rng;      /* --rate write splitting only */

    /* The universe. */
    lg_product_t   *products;
    size_t          nproducts;
    double         *product_cdf;
    double         *tenant_cdf;
    double         *node_cdf;
    double         *region_cdf;
    char          (*node_ip)[16];
    size_t         *node_region;

    /* Clock text for the current batch. */
    int64_t         now;
    char            now_str[24];
    char            iso[24];

    /* Random base64 text; long blobs are slices of it (much faster than
     * drawing every character). */
    char           *b64_pool;

    /* Buffers, reused for every line. */
    lg_buf_t        scratch;        /* encoded keys and values */
    lg_buf_t        ext;            /* Ext5 object text */
    lg_buf_t        out;            /* lines waiting to be written */
} lg_t;


/* Static prototypes */

static void lg_usage(FILE *f);
static int lg_parse_u64(const char *name, const char *s, uint64_t *v);
static void *lg_xmalloc(size_t n);
static void lg_buf_grow(lg_buf_t *b, size_t n);
static void lg_universe_init(lg_t *lg);
static void lg_destroy(lg_t *lg);
static void lg_product_init(lg_product_t *p, size_t idx);
static double *lg_zipf_cdf(size_t n, double s);
static size_t lg_cdf_pick(const double *cdf, size_t n, double u);
static void lg_set_time(lg_t *lg, int64_t t);
static void lg_event(lg_t *lg, lg_event_t *ev);
static void lg_one_line(lg_t *lg);
static void lg_line(lg_t *lg, const lg_line_opts_t *o);
static void lg_garbage(lg_t *lg);
static void lg_ext5(lg_t *lg, const lg_event_t *ev, int awk);
static void lg_request_content(lg_t *lg, lg_buf_t *b, const lg_event_t *ev,
    size_t want, int awk);
static void lg_write_all(lg_t *lg, const char *p, size_t n);
static void lg_run_flat_out(lg_t *lg);
static void lg_run_rate(lg_t *lg);
static int lg_write_dims(lg_t *lg);


/* Tables */

static const char *lg_field_names[LG_NFIELDS] = {
    "AK", "Api", "CallerUid", "ClientIp", "Domain", "ErrorCode", "Ext5",
    "HttpCode", "LocalIp", "Product", "RegionId", "RequestContent",
    "TotalUsedTime", "Version", "__time__"
};

/* Ordered by traffic: index 0 is the busiest region. */
static const char *lg_regions[] = {
    "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen",
    "cn-zhangjiakou", "cn-huhehaote", "ap-southeast-1", "cn-hongkong",
    "cn-qingdao", "us-west-1", "cn-chengdu", "eu-central-1",
    "ap-northeast-1", "us-east-1", "cn-wulanchabu", "ap-southeast-5",
    "eu-west-1", "ap-south-1", "me-east-1", "ap-southeast-3"
};

/* Ordered by traffic; a Zipf with s = 2.2 makes ecs ~3700x the last. */
static const lg_product_def_t lg_product_defs[] = {
    { "ecs", "2014-05-26", NULL, 0,
      "Instance|Disk|SecurityGroup|Image|Snapshot|NetworkInterface|KeyPair|"
      "LaunchTemplate|InstanceType|Region|Zone|AvailableResource|"
      "DedicatedHost|AutoSnapshotPolicy|Command|Invocation|Tag|"
      "=DescribeInstanceStatus|=RunInstances|=StartInstance|=StopInstance|"
      "=RebootInstance|=RunCommand|=DescribeInstanceAttribute|"
      "=DescribeInstanceMonitorData|=AuthorizeSecurityGroup" },
    { "rds", "2014-08-15", NULL, 0,
      "DBInstance|Database|Account|Backup|Parameter|SQLLogRecord|SlowLog|"
      "ErrorLog|=DescribeDBInstanceAttribute|=DescribeDBInstancePerformance|"
      "=RestartDBInstance" },
    { "vpc", "2016-04-28", NULL, 0,
      "Vpc|VSwitch|RouteTable|EipAddress|NatGateway|SnatTableEntry|"
      "ForwardTableEntry|VpnGateway|=AssociateEipAddress|"
      "=UnassociateEipAddress|=AllocateEipAddress" },
    { "slb", "2014-05-15", NULL, 0,
      "LoadBalancer|VServerGroup|ServerCertificate|AccessControlList|"
      "=DescribeLoadBalancerAttribute|=DescribeHealthStatus|"
      "=SetBackendServers" },
    { "oss", "2019-05-17", NULL, 1,
      "Bucket|Object|=GetBucketInfo|=GetBucketStat|=PutBucketLifecycle" },
    { "cms", "2019-01-01", "2018-03-08", 0,
      "MetricRule|AlertHistory|Contact|MonitorGroup|=DescribeMetricList|"
      "=DescribeMetricLast|=PutCustomMetric" },
    { "ram", "2015-05-01", NULL, 1,
      "User|Role|Policy|Group|AccessKey|=AttachPolicyToUser|"
      "=GetAccountAlias" },
    { "sts", "2015-04-01", NULL, 0,
      "=AssumeRole|=GetCallerIdentity|=AssumeRoleWithSAML" },
    { "cs", "2015-12-15", NULL, 0,
      "Cluster|NodePool|ClusterNode|Addon|=DescribeClusterDetail|"
      "=ScaleOutCluster" },
    { "r-kvstore", "2015-01-01", NULL, 0,
      "Instance|Account|Backup|=DescribeInstanceAttribute|=FlushInstance" },
    { "cdn", "2018-05-10", "2014-11-11", 0,
      "CdnDomain|DomainConfig|RefreshTask|=RefreshObjectCaches|"
      "=PushObjectCache|=DescribeDomainBpsData" },
    { "alidns", "2015-01-09", NULL, 0,
      "Domain|DomainRecord|=AddDomainRecord|=UpdateDomainRecord|"
      "=DescribeDomainRecordInfo" },
    { "ess", "2014-08-28", NULL, 0,
      "ScalingGroup|ScalingRule|ScalingActivity|ScalingConfiguration|"
      "=ExecuteScalingRule" },
    { "kms", "2016-01-20", NULL, 1,
      "Key|Secret|Alias|=Encrypt|=Decrypt|=GetSecretValue|"
      "=GenerateDataKey" },
    { "polardb", "2017-08-01", NULL, 0,
      "DBCluster|DBNode|Account|Backup|=DescribeDBClusterAttribute" },
    { "dds", "2015-12-01", NULL, 0,
      "DBInstance|Account|Backup|=DescribeDBInstanceAttribute" },
    { "nas", "2017-06-26", NULL, 0,
      "FileSystem|MountTarget|AccessGroup|=DescribeFileSystemStatistics" },
    { "sls", "2020-12-30", "2019-10-23", 1,
      "Project|Logstore|Index|ConsumerGroup|=GetLogs|=PutLogs" },
    { "fc", "2023-03-30", "2021-04-06", 1,
      "Function|Trigger|Alias|=InvokeFunction|=GetFunctionCode" },
    { "alb", "2020-06-16", NULL, 1,
      "LoadBalancer|Listener|ServerGroup|Rule|=ListServerGroupServers" },
    { "nlb", "2022-04-30", NULL, 1,
      "LoadBalancer|Listener|ServerGroup|=GetLoadBalancerAttribute" },
    { "cbn", "2017-09-12", NULL, 0,
      "Cen|CenBandwidthPackage|CenRouteMap|=AttachCenChildInstance" },
    { "acc", "2024-04-02", NULL, 0,
      "CustomResource|=DescribeCustomResourceDetail|"
      "=DescribeCustomResourceStatus" },
    { "ons", "2019-02-14", NULL, 0,
      "Instance|Topic|Group|=OnsMessagePageQueryByTopic" },
    { "actiontrail", "2020-07-06", NULL, 0,
      "Trail|=LookupEvents|=GetTrailStatus" },
    { "resourcemanager", "2020-03-31", NULL, 1,
      "ResourceGroup|Account|Folder|=GetResourceGroup" },
    { "sas", "2018-12-03", NULL, 0,
      "SuspEvent|Vul|=DescribeCloudCenterInstances" },
    { "waf-openapi", "2019-09-10", "2021-10-01", 0,
      "Domain|Instance|=DescribeInstanceInfo" },
    { "ddoscoo", "2020-01-01", NULL, 0,
      "Instance|WebRule|Port|=DescribeDomainQps" },
    { "cas", "2020-04-07", NULL, 1,
      "Certificate|=UploadUserCertificate|=GetUserCertificateDetail" },
    { "dysmsapi", "2017-05-25", NULL, 0,
      "=SendSms|=SendBatchSms|=QuerySendDetails|SmsTemplate|SmsSign" },
    { "green", "2022-03-02", NULL, 0,
      "=TextModeration|=ImageModeration" },
    { "elasticsearch", "2017-06-13", NULL, 1,
      "Instance|Plugin|=ListInstance|=DescribeInstance" },
    { "hbase", "2019-01-01", NULL, 0,
      "Instance|Cluster|=DescribeInstance" },
    { "adb", "2019-03-15", NULL, 0,
      "DBCluster|Account|=DescribeDBClusterAttribute" },
    { "dts", "2020-01-01", NULL, 0,
      "DtsJob|MigrationJob|SynchronizationJob|=DescribeDtsJobDetail" },
    { "ga", "2019-11-20", NULL, 1,
      "Accelerator|Listener|EndpointGroup|=ListAccelerators" },
    { "cr", "2018-12-01", NULL, 1,
      "Instance|Namespace|Repository|RepoTag|=GetAuthorizationToken" },
    { "arms", "2019-08-08", NULL, 0,
      "TraceApp|AlertRule|=SearchTraces|=QueryMetricByPage" },
    { "bssopenapi", "2017-12-14", NULL, 0,
      "=QueryAccountBalance|=QueryBill|=QueryInstanceBill|"
      "=DescribeInstanceBill" },
    { "swas-open", "2020-06-01", NULL, 1,
      "Instance|Snapshot|Firewall|=ListInstances" },
    { "ehpc", "2018-04-12", NULL, 1,
      "Cluster|Node|Job|=ListClusters" }
};

/* Per mille of requests; 200 takes whatever is left. */
static const lg_status_t lg_statuses[] = {
    { 204, 1.0,  { "" } },
    { 400, 15.0, { "InvalidParameter", "MissingParameter",
                   "SignatureDoesNotMatch", "IncompleteSignature",
                   "Throttling.User", NULL } },
    { 403, 8.0,  { "Forbidden.RAM", "Forbidden.NoPermission",
                   "InvalidAccessKeyId.Inactive", "Forbidden.RiskControl",
                   NULL } },
    { 404, 12.0, { "ResourceNotFound", "InvalidInstanceId.NotFound",
                   "InvalidApi.NotFound", "InvalidAccessKeyId.NotFound",
                   NULL } },
    { 409, 2.0,  { "IncorrectInstanceStatus", "OperationConflict", NULL } },
    { 429, 8.0,  { "Throttling.User", "Throttling.Api", "Throttling",
                   NULL } },
    { 500, 4.0,  { "InternalError", "UnknownError", NULL } },
    { 502, 1.5,  { "BadGateway", "Backend.ConnectFailed", NULL } },
    { 503, 3.0,  { "ServiceUnavailable", "Throttling.Concurrency", NULL } }
};

static const char *lg_user_agents[] = {
    "AlibabaCloud (Linux; amd64) Java/1.8.0_352-b08 tea-util/0.2.21 "
        "TeaDSL/1",
    "AlibabaCloud (Darwin; arm64) Python/3.11.6 Core/2.13.36 "
        "python-requests/2.31.0",
    "aliyun-sdk-go/1.62.600 (linux; amd64) Go/go1.21.5",
    "Terraform/1.6.6 (+https://www.terraform.io) Terraform Plugin SDK/2.10.1 "
        "terraform-provider-alicloud/1.214.0",
    "aliyun-cli/3.0.204 (linux; amd64)",
    "AlibabaCloud (Linux; x64) Node.js/v18.19.0 Core/1.0.1 TeaDSL/2 "
        "@alicloud/pop-core/1.7.13",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/120.0.0.0 Safari/537.36 AliyunConsole/1.0",
    "ros-engine/2.0 (ResourceOrchestration; cn-hangzhou)"
};

static const char *lg_instance_types[] = {
    "ecs.g7.large", "ecs.c7.xlarge", "ecs.r7.2xlarge", "ecs.g6e.4xlarge",
    "ecs.t6-c1m2.large", "ecs.gn7i-c16g1.4xlarge", "ecs.u1-c1m4.xlarge"
};

static const char *lg_words[] = {
    "production", "web", "backend", "batch", "nightly", "cluster", "node",
    "primary", "replica", "gateway", "cache", "worker", "frontend", "api",
    "staging", "blue", "green", "canary", "ops", "data", "pipeline"
};

static const char lg_hex_lower[] = "0123456789abcdef";
static const char lg_hex_upper[] = "0123456789ABCDEF";
static const char lg_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char lg_alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ab";

static volatile sig_atomic_t lg_stop;


/* Buffers */

static void *
lg_xmalloc(size_t n)
{
    void  *p;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, LG_NAME ": out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}


static void
lg_buf_grow(lg_buf_t *b, size_t n)
{
    size_t   cap;
    char    *p;

    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) {
        cap *= 2;
    }
    p = realloc(b->p, cap);
    if (p == NULL) {
        fprintf(stderr, LG_NAME ": out of memory (%zu bytes)\n", cap);
        exit(1);
    }
    b->p = p;
    b->cap = cap;
}


static inline void
lg_reserve(lg_buf_t *b, size_t n)
{
    if (b->len + n > b->cap) {
        lg_buf_grow(b, n);
    }
}


static inline void
lg_put(lg_buf_t *b, const char *s, size_t n)
{
    lg_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}


static inline void
lg_putc(lg_buf_t *b, char c)
{
    lg_reserve(b, 1);
    b->p[b->len++] = c;
}


static inline void
lg_puts(lg_buf_t *b, const char *s)
{
    lg_put(b, s, strlen(s));
}


static void
lg_putu(lg_buf_t *b, uint64_t v)
{
    char    tmp[24];
    size_t  i;

    i = sizeof(tmp);
    do {
        tmp[--i] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    lg_put(b, tmp + i, sizeof(tmp) - i);
}


/* Inserts n bytes at offset off, moving the tail up. */
static void
lg_insert(lg_buf_t *b, size_t off, const char *s, size_t n)
{
    lg_reserve(b, n);
    memmove(b->p + off + n, b->p + off, b->len - off);
    memcpy(b->p + off, s, n);
    b->len += n;
}


/* Random numbers: splitmix64, fast and good enough for test data. */

static inline uint64_t
lg_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}


static inline uint64_t
lg_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return lg_mix(*s);
}


/* A stateless hash for the universe (independent of --seed). */
static inline uint64_t
lg_hash(uint64_t a, uint64_t b)
{
    return lg_mix(a * 0x9e3779b97f4a7c15ULL
                  + lg_mix(b + 0x632be59bd9b4e019ULL));
}


static inline double
lg_unif(lg_t *lg)
{
    return (double) (lg_next(&lg->rng) >> 11) * 0x1.0p-53;
}


static inline uint32_t
lg_below(lg_t *lg, uint32_t n)
{
    return (uint32_t) (((lg_next(&lg->rng) >> 32) * (uint64_t) n) >> 32);
}


static inline int
lg_chance(lg_t *lg, double p)
{
    return lg_unif(lg) < p;
}


static double
lg_normal(lg_t *lg)
{
    double  u1, u2;

    u1 = lg_unif(lg);
    u2 = lg_unif(lg);
    if (u1 < 1e-300) {
        u1 = 1e-300;
    }
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}


static void
lg_put_hex(lg_t *lg, lg_buf_t *b, size_t n, int upper)
{
    const char  *tab;
    uint64_t     r;
    size_t       i;
    char        *p;

    tab = upper ? lg_hex_upper : lg_hex_lower;
    lg_reserve(b, n);
    p = b->p + b->len;
    r = 0;
    for (i = 0; i < n; i++) {
        if ((i & 15) == 0) {
            r = lg_next(&lg->rng);
        }
        p[i] = tab[r & 15];
        r >>= 4;
    }
    b->len += n;
}


/* Writes n characters of table tab (64 entries), 10 per random draw. */
static void
lg_put_tab64(lg_t *lg, lg_buf_t *b, size_t n, const char *tab)
{
    uint64_t   r;
    size_t     i;
    char      *p;

    lg_reserve(b, n);
    p = b->p + b->len;
    r = 0;
    for (i = 0; i < n; i++) {
        if (i % 10 == 0) {
            r = lg_next(&lg->rng);
        }
        p[i] = tab[r & 63];
        r >>= 6;
    }
    b->len += n;
}


/* Writes n base64 characters: short runs are drawn, long ones copied
 * from a random offset of the pool. */
static void
lg_put_b64(lg_t *lg, lg_buf_t *b, size_t n)
{
    size_t  off, k;

    if (n < 64) {
        lg_put_tab64(lg, b, n, lg_b64);
        return;
    }
    while (n > 0) {
        k = n < LG_POOL_BYTES / 2 ? n : LG_POOL_BYTES / 2;
        off = (size_t) (lg_next(&lg->rng) % (LG_POOL_BYTES - k));
        lg_put(b, lg->b64_pool + off, k);
        n -= k;
    }
}


static void
lg_put_uuid(lg_t *lg, lg_buf_t *b, int upper)
{
    lg_put_hex(lg, b, 8, upper);
    lg_putc(b, '-');
    lg_put_hex(lg, b, 4, upper);
    lg_putc(b, '-');
    lg_put_hex(lg, b, 4, upper);
    lg_putc(b, '-');
    lg_put_hex(lg, b, 4, upper);
    lg_putc(b, '-');
    lg_put_hex(lg, b, 12, upper);
}


/* The universe */

static uint64_t
lg_uid(uint64_t tenant)
{
    return 1000000000000000ULL + lg_hash(1, tenant) % 9000000000000000ULL;
}


static int
lg_tenant_is_sts(uint64_t tenant)
{
    return lg_hash(2, tenant) % 10 < 3;
}


static void
lg_put_ak(lg_buf_t *b, uint64_t tenant)
{
    uint64_t  h;
    int       i;

    h = lg_hash(3, tenant);
    if (lg_tenant_is_sts(tenant)) {
        LG_LIT(b, "STS.NZ");
    } else {
        LG_LIT(b, "LTAI5t");
    }
    for (i = 0; i < 18; i++) {
        if (i == 10) {
            h = lg_hash(4, tenant);
        }
        lg_putc(b, lg_alnum[h & 63]);
        h >>= 6;
    }
}


static double *
lg_zipf_cdf(size_t n, double s)
{
    double  *cdf, sum;
    size_t   i;

    cdf = lg_xmalloc(n * sizeof(double));
    sum = 0.0;
    for (i = 0; i < n; i++) {
        sum += 1.0 / pow((double) (i + 1), s);
        cdf[i] = sum;
    }
    for (i = 0; i < n; i++) {
        cdf[i] /= sum;
    }
    return cdf;
}


static size_t
lg_cdf_pick(const double *cdf, size_t n, double u)
{
    size_t  lo, hi, mid;

    lo = 0;
    hi = n - 1;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (cdf[mid] > u) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}


/* Appends the plural of a resource name: Policy -> Policies. */
static void
lg_put_plural(lg_buf_t *b, const char *s, size_t n)
{
    char  last, prev;

    last = s[n - 1];
    prev = n > 1 ? s[n - 2] : 'a';
    if (last == 'y' && strchr("aeiou", prev) == NULL) {
        lg_put(b, s, n - 1);
        LG_LIT(b, "ies");
    } else if (last == 's' || last == 'x'
               || (last == 'h' && (prev == 'c' || prev == 's')))
    {
        lg_put(b, s, n);
        LG_LIT(b, "es");
    } else {
        lg_put(b, s, n);
        lg_putc(b, 's');
    }
}


static char *
lg_strndup(const char *s, size_t n)
{
    char  *p;

    p = lg_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}


/* Expands the noun list of product idx into API names; read APIs first,
 * so the Zipf over the list makes reads the bulk of the traffic. */
static void
lg_product_init(lg_product_t *p, size_t idx)
{
    const lg_product_def_t  *d;
    const char              *s, *e;
    lg_buf_t                 reads = {0}, writes = {0}, lits = {0};
    lg_buf_t                *all[3];
    size_t                   n, i, k, cap;
    uint64_t                 h;
    int                      noun;

    d = &lg_product_defs[idx];
    p->def = d;
    noun = 0;
    for (s = d->nouns; *s; s = *e ? e + 1 : e) {
        e = strchr(s, '|');
        if (e == NULL) {
            e = s + strlen(s);
        }
        n = (size_t) (e - s);
        if (s[0] == '=') {
            lg_put(&lits, s + 1, n - 1);
            lg_putc(&lits, '\n');
            continue;
        }
        h = lg_hash(10 + idx, (uint64_t) noun++);
        lg_puts(&reads, d->list_style ? "List" : "Describe");
        lg_put_plural(&reads, s, n);
        lg_putc(&reads, '\n');
        if (h & 1) {
            LG_LIT(&writes, "Create");
            lg_put(&writes, s, n);
            lg_putc(&writes, '\n');
        }
        if (h & 2) {
            LG_LIT(&writes, "Delete");
            lg_put(&writes, s, n);
            lg_putc(&writes, '\n');
        }
        if (h & 4) {
            if (d->list_style) {
                LG_LIT(&writes, "Update");
                lg_put(&writes, s, n);
            } else {
                LG_LIT(&writes, "Modify");
                lg_put(&writes, s, n);
                LG_LIT(&writes, "Attribute");
            }
            lg_putc(&writes, '\n');
        }
        if (!d->list_style && (h & 8)) {
            LG_LIT(&writes, "Get");
            lg_put(&writes, s, n);
            LG_LIT(&writes, "Info");
            lg_putc(&writes, '\n');
        }
    }

    all[0] = &reads;
    all[1] = &lits;
    all[2] = &writes;
    cap = 0;
    for (k = 0; k < 3; k++) {
        for (i = 0; i < all[k]->len; i++) {
            cap += all[k]->p[i] == '\n';
        }
    }
    p->apis = lg_xmalloc(cap * sizeof(char *));
    p->napis = 0;
    for (k = 0; k < 3; k++) {
        s = all[k]->p;
        for (i = 0; i < all[k]->len; i++) {
            if (all[k]->p[i] == '\n') {
                p->apis[p->napis++] = lg_strndup(s,
                                                 (size_t) (all[k]->p + i - s));
                s = all[k]->p + i + 1;
            }
        }
        free(all[k]->p);
    }
    p->api_cdf = lg_zipf_cdf(p->napis, 1.2);
    p->median_ms = 6.0 + (double) (lg_hash(20, idx) % 60);
    p->err_mult = (idx > 0 && lg_hash(21, idx) % 5 == 0) ? 3.0 : 1.0;
}


static void
lg_universe_init(lg_t *lg)
{
    size_t    i;
    uint64_t  n;
    double   *w, sum;

    lg->b64_pool = lg_xmalloc(LG_POOL_BYTES);
    for (i = 0; i < LG_POOL_BYTES; i++) {
        lg->b64_pool[i] = lg_b64[lg_hash(50, i) & 63];
    }

    lg->nproducts = LG_NELEM(lg_product_defs);
    lg->products = lg_xmalloc(lg->nproducts * sizeof(lg_product_t));
    for (i = 0; i < lg->nproducts; i++) {
        lg_product_init(&lg->products[i], i);
    }
    lg->product_cdf = lg_zipf_cdf(lg->nproducts, 2.2);
    lg->tenant_cdf = lg_zipf_cdf(lg->tenants, 1.05);
    lg->region_cdf = lg_zipf_cdf(LG_NELEM(lg_regions), 1.0);

    /* Gateway nodes: 11.197.X.Y, a mild skew, a region each. */
    n = lg->nodes;
    lg->node_ip = lg_xmalloc(n * sizeof(*lg->node_ip));
    lg->node_region = lg_xmalloc(n * sizeof(size_t));
    w = lg_xmalloc(n * sizeof(double));
    sum = 0.0;
    for (i = 0; i < n; i++) {
        snprintf(lg->node_ip[i], sizeof(lg->node_ip[i]), "11.197.%u.%u",
                 (unsigned) (10 + i / 240), (unsigned) (2 + (i * 97) % 240));
        lg->node_region[i] = i % LG_NELEM(lg_regions);
        sum += 1.0 / pow((double) (i + 1), 0.3);
        w[i] = sum;
    }
    for (i = 0; i < n; i++) {
        w[i] /= sum;
    }
    lg->node_cdf = w;
}


/* Frees the universe and the buffers; lg itself belongs to the caller. */
static void
lg_destroy(lg_t *lg)
{
    size_t  i, a;

    for (i = 0; lg->products && i < lg->nproducts; i++) {
        for (a = 0; a < lg->products[i].napis; a++) {
            free(lg->products[i].apis[a]);
        }
        free(lg->products[i].apis);
        free(lg->products[i].api_cdf);
    }
    free(lg->products);
    free(lg->product_cdf);
    free(lg->tenant_cdf);
    free(lg->node_cdf);
    free(lg->region_cdf);
    free(lg->node_ip);
    free(lg->node_region);
    free(lg->b64_pool);
    free(lg->scratch.p);
    free(lg->ext.p);
    free(lg->out.p);
}


/* Covered by the CSVs: most, never all, so lookups also miss. */

static int
lg_node_in_dims(const lg_t *lg, size_t node)
{
    return lg->nodes < 2 || node != lg->nodes - 1;
}


static int
lg_tenant_in_dims(uint64_t tenant)
{
    return lg_hash(5, tenant) % 10 != 0;
}


static int
lg_api_in_dims(size_t prod, size_t api)
{
    return prod < LG_NELEM(lg_product_defs) - 3
           && lg_hash(30 + prod, api) % 9 != 0;
}


/* Time */

static void
lg_set_time(lg_t *lg, int64_t t)
{
    struct tm  tm;
    time_t     tt;

    if (t == lg->now && lg->now_str[0]) {
        return;
    }
    lg->now = t;
    snprintf(lg->now_str, sizeof(lg->now_str), "%lld", (long long) t);
    tt = (time_t) t;
    gmtime_r(&tt, &tm);
    strftime(lg->iso, sizeof(lg->iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
}


static void
lg_tick_time(lg_t *lg)
{
    lg_set_time(lg, lg->fixed_time >= 0 ? lg->fixed_time
                                        : (int64_t) time(NULL));
}


/* Events */

static void
lg_event(lg_t *lg, lg_event_t *ev)
{
    const lg_status_t  *st;
    size_t              pi, i, ne;
    double              u, acc, median;

    pi = lg_cdf_pick(lg->product_cdf, lg->nproducts, lg_unif(lg));
    ev->prod = &lg->products[pi];
    ev->api = ev->prod->apis[lg_cdf_pick(ev->prod->api_cdf, ev->prod->napis,
                                         lg_unif(lg))];
    ev->version = ev->prod->def->version;
    if (ev->prod->def->version2 && lg_chance(lg, 0.1)) {
        ev->version = ev->prod->def->version2;
    }
    ev->tenant = lg_cdf_pick(lg->tenant_cdf, lg->tenants, lg_unif(lg));
    ev->sts = lg_tenant_is_sts(ev->tenant);
    ev->node = lg_cdf_pick(lg->node_cdf, lg->nodes, lg_unif(lg));
    ev->biz_region = lg->node_region[ev->node];
    if (lg_chance(lg, 0.2)) {
        ev->biz_region = lg_cdf_pick(lg->region_cdf, LG_NELEM(lg_regions),
                                     lg_unif(lg));
    }
    ev->warmup = lg_chance(lg, 0.01);

    /* Status and error code. */
    ev->http_code = 200;
    ev->error_code = "";
    u = lg_unif(lg) * 1000.0;
    acc = 0.0;
    for (i = 0; i < LG_NELEM(lg_statuses); i++) {
        st = &lg_statuses[i];
        acc += st->weight * (st->code >= 400 ? ev->prod->err_mult : 1.0);
        if (u < acc) {
            ev->http_code = st->code;
            ne = 0;
            while (ne < LG_NELEM(st->errors) && st->errors[ne]) {
                ne++;
            }
            ev->error_code = st->errors[ne > 1 ? lg_below(lg, (uint32_t) ne)
                                               : 0];
            break;
        }
    }

    /* TotalUsedTime: log-normal body, a slow tail above 1 s. */
    median = ev->prod->median_ms;
    if (ev->http_code == 429 || ev->http_code == 403
        || ev->http_code == 400)
    {
        median = 2.0;
    }
    if ((ev->http_code == 200 && lg_chance(lg, 0.015))
        || (ev->http_code >= 500 && lg_chance(lg, 0.3)))
    {
        u = 2500.0 * exp(0.8 * lg_normal(lg));
        ev->tut_ms = u < 1001.0 ? 1001 : (uint64_t) u;
        if (ev->tut_ms > 120000) {
            ev->tut_ms = 120000;
        }
    } else {
        u = median * exp(0.9 * lg_normal(lg));
        if (u > 900.0) {
            u = 900.0;
        }
        ev->tut_ms = (uint64_t) u;
    }
}


/* Encoding helpers for one line */

/* Random JSON whitespace (awkward lines only). */
static void
lg_put_ws(lg_t *lg, lg_buf_t *b, int on)
{
    static const char  *ws[] = { " ", "  ", "\t", " \t ", "\r\t", "    " };

    if (on && lg_chance(lg, 0.3)) {
        lg_puts(b, ws[lg_below(lg, LG_NELEM(ws))]);
    }
}


/* Copies s as JSON string content; in awkward mode some characters come
 * out as \uXXXX (same value once unescaped) and '/' as "\/". */
static void
lg_put_chars(lg_t *lg, lg_buf_t *b, const char *s, size_t n, int awk)
{
    const char  *hex;
    double       p;
    size_t       i;
    unsigned     c;

    if (!awk || lg_chance(lg, 0.6)) {
        lg_put(b, s, n);
        return;
    }
    p = lg_chance(lg, 0.1) ? 1.0 : 0.15;
    hex = lg_chance(lg, 0.5) ? lg_hex_upper : lg_hex_lower;
    for (i = 0; i < n; i++) {
        c = (unsigned char) s[i];
        if (c == '/' && lg_chance(lg, 0.5)) {
            LG_LIT(b, "\\/");
        } else if (lg_unif(lg) < p) {
            LG_LIT(b, "\\u00");
            lg_putc(b, hex[c >> 4]);
            lg_putc(b, hex[c & 15]);
        } else {
            lg_putc(b, (char) c);
        }
    }
}


static void
lg_put_jstr(lg_t *lg, lg_buf_t *b, const char *s, size_t n, int awk)
{
    lg_putc(b, '"');
    lg_put_chars(lg, b, s, n, awk);
    lg_putc(b, '"');
}


/* Writes the integer v as a JSON number in one of the first nforms
 * spellings of the same value: 14, 14.0, 1.4e1, 140E-1, 0.14e+2.  The
 * first four keep the leading digit (an HTTP code keeps its class). */
static void
lg_put_number(lg_t *lg, lg_buf_t *b, uint64_t v, uint32_t nforms)
{
    char    d[24];
    size_t  n;

    n = (size_t) snprintf(d, sizeof(d), "%llu", (unsigned long long) v);
    switch (lg_below(lg, nforms)) {
    case 1:
        lg_put(b, d, n);
        LG_LIT(b, ".0");
        break;
    case 2:
        lg_putc(b, d[0]);
        if (n > 1) {
            lg_putc(b, '.');
            lg_put(b, d + 1, n - 1);
        }
        lg_putc(b, lg_chance(lg, 0.5) ? 'e' : 'E');
        lg_putu(b, n - 1);
        break;
    case 3:
        if (v != 0) {
            lg_put(b, d, n);
        }
        LG_LIT(b, "0E-1");
        break;
    case 4:
        if (v == 0) {
            LG_LIT(b, "0.0e+0");
        } else {
            LG_LIT(b, "0.");
            lg_put(b, d, n);
            LG_LIT(b, "e+");
            lg_putu(b, n);
        }
        break;
    default:
        lg_put(b, d, n);
        break;
    }
}


/* Ext5: built as an object into lg->ext. */
static void
lg_ext5(lg_t *lg, const lg_event_t *ev, int awk)
{
    lg_buf_t    *b;
    const char  *region, *ua;
    uint64_t     uid;
    int          decoy, ws;

    b = &lg->ext;
    b->len = 0;
    region = lg_regions[lg->node_region[ev->node]];
    uid = lg_uid(ev->tenant);
    decoy = lg_chance(lg, awk ? 0.3 : 0.02);
    ws = awk && lg_chance(lg, 0.3);

    lg_putc(b, '{');
    lg_put_ws(lg, b, ws);
    if (awk && lg_chance(lg, 0.2)) {
        LG_LIT(b, "\"log\\u0052egionId\"");
    } else {
        LG_LIT(b, "\"logRegionId\"");
    }
    lg_put_ws(lg, b, ws);
    lg_putc(b, ':');
    lg_put_ws(lg, b, ws);
    lg_put_jstr(lg, b, region, strlen(region), awk);
    lg_put_ws(lg, b, ws);
    LG_LIT(b, ",\"appGroup\":\"pop-region-");
    lg_puts(b, region);
    LG_LIT(b, "\",\"callerInfo\":{\"callerType\":\"");
    if (ev->sts) {
        LG_LIT(b, "sts\",\"callerUid\":\"3");
        lg_putu(b, lg_hash(6, ev->tenant) % 100000000000000ULL);
    } else if (lg_hash(7, ev->tenant) & 1) {
        LG_LIT(b, "sub\",\"callerUid\":\"2");
        lg_putu(b, lg_hash(8, ev->tenant) % 100000000000000ULL);
    } else {
        LG_LIT(b, "customer\",\"callerUid\":\"");
        lg_putu(b, uid);
    }
    LG_LIT(b, "\",\"ownerId\":\"");
    lg_putu(b, uid);
    LG_LIT(b, "\",\"callerBid\":\"26842\"");
    if (decoy && lg_chance(lg, 0.5)) {
        LG_LIT(b, ",\"Api\":\"DecoyNestedApi\",\"Product\":\"decoy\"");
    }
    lg_put_ws(lg, b, ws);
    LG_LIT(b, "},\"headers\":{\"User-Agent\":");
    ua = lg_user_agents[lg_below(lg, LG_NELEM(lg_user_agents))];
    if (awk && lg_chance(lg, 0.2)) {
        LG_LIT(b, "\"Caf\\u00e9Bot/1.0 \\ud83d\\ude00 (\\/compat)\"");
    } else {
        lg_put_jstr(lg, b, ua, strlen(ua), awk);
    }
    LG_LIT(b, ",\"Accept\":\"application/json\",\"Accept-Encoding\":"
              "\"gzip, deflate\",\"Content-Type\":"
              "\"application/x-www-form-urlencoded; charset=UTF-8\","
              "\"Host\":\"");
    lg_puts(b, ev->prod->def->code);
    lg_putc(b, '.');
    lg_puts(b, lg_regions[ev->biz_region]);
    LG_LIT(b, ".aliyuncs.com\",\"x-acs-action\":\"");
    lg_puts(b, ev->api);
    LG_LIT(b, "\",\"x-acs-version\":\"");
    lg_puts(b, ev->version);
    LG_LIT(b, "\",\"x-acs-date\":\"");
    lg_puts(b, lg->iso);
    LG_LIT(b, "\",\"x-acs-signature-nonce\":\"");
    lg_put_uuid(lg, b, 0);
    LG_LIT(b, "\",\"x-acs-signature-method\":\"HMAC-SHA256\","
              "\"x-acs-content-sha256\":\"");
    lg_put_hex(lg, b, 64, 0);
    LG_LIT(b, "\",\"Authorization\":\"ACS3-HMAC-SHA256 Credential=");
    lg_put_ak(b, ev->tenant);
    LG_LIT(b, ",SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
              "x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=");
    lg_put_hex(lg, b, 64, 0);
    lg_putc(b, '"');
    if (ev->sts) {
        LG_LIT(b, ",\"x-acs-security-token\":\"CAIS");
        lg_put_b64(lg, b, 300 + lg_below(lg, 400));
        lg_putc(b, '"');
    }
    LG_LIT(b, ",\"traceparent\":\"00-");
    lg_put_hex(lg, b, 32, 0);
    lg_putc(b, '-');
    lg_put_hex(lg, b, 16, 0);
    LG_LIT(b, "-01\",\"EagleEye-TraceId\":\"0b");
    lg_put_hex(lg, b, 28, 0);
    LG_LIT(b, "\",\"x-acs-request-id\":\"");
    lg_put_uuid(lg, b, 1);
    lg_putc(b, '"');
    if (decoy && lg_chance(lg, 0.5)) {
        LG_LIT(b, ",\"Product\":\"decoy-header\",\"Api\":\"HeaderApi\","
                  "\"logRegionId\":\"decoy-region\"");
    }
    if (awk && lg_chance(lg, 0.2)) {
        LG_LIT(b, ",\"X-Nested\":{\"a\":[1,2,{\"b\":null}],\"c\":true}");
    }
    LG_LIT(b, "},\"stage\":\"");
    lg_puts(b, lg_chance(lg, 0.95) ? "RELEASE" : "PRE");
    lg_putc(b, '"');
    lg_put_ws(lg, b, ws);
    lg_putc(b, '}');
}


/* Copies the Ext5 object text as a JSON string: escapes '"', '\\' and
 * the whitespace control characters of awkward objects.  A hot loop:
 * one table lookup per byte, no bounds checks (room is reserved first). */
static void
lg_put_escaped(lg_buf_t *b, const char *s, size_t n)
{
    static unsigned char   esc[256];
    const unsigned char   *p, *end;
    unsigned char          c;
    uint64_t               v, x;
    char                  *d;

    if (esc['"'] == 0) {
        for (c = 0; c < 0x20; c++) {
            esc[c] = 'n';
        }
        esc['\t'] = 't';
        esc['\r'] = 'r';
        esc['"'] = '"';
        esc['\\'] = '\\';
    }
    lg_reserve(b, 2 * n + 2);
    d = b->p + b->len;
    *d++ = '"';
    p = (const unsigned char *) s;
    end = p + n;
    while (p < end) {
        if (end - p >= 8) {
            /* Eight plain bytes at a time: no '"', '\\' or control byte
             * (the has-zero-byte trick on v ^ '"', v ^ '\\' and v). */
            memcpy(&v, p, 8);
            x = ((v ^ 0x2222222222222222ULL) - 0x0101010101010101ULL)
                & ~(v ^ 0x2222222222222222ULL);
            x |= ((v ^ 0x5c5c5c5c5c5c5c5cULL) - 0x0101010101010101ULL)
                 & ~(v ^ 0x5c5c5c5c5c5c5c5cULL);
            x |= (v - 0x2020202020202020ULL) & ~v;
            if ((x & 0x8080808080808080ULL) == 0) {
                memcpy(d, p, 8);
                d += 8;
                p += 8;
                continue;
            }
        }
        c = *p++;
        if (esc[c]) {
            *d++ = '\\';
            *d++ = (char) esc[c];
        } else {
            *d++ = (char) c;
        }
    }
    *d++ = '"';
    b->len = (size_t) (d - b->p);
}


static void
lg_put_word(lg_t *lg, lg_buf_t *b)
{
    lg_puts(b, lg_words[lg_below(lg, LG_NELEM(lg_words))]);
}


/* RequestContent: "k=v;k=v" with RegionId usually first, grown to about
 * want bytes (the value, quotes included). */
static void
lg_request_content(lg_t *lg, lg_buf_t *b, const lg_event_t *ev,
    size_t want, int awk)
{
    const char  *region;
    size_t       start, n, i, k;
    double       u;
    int          pos;

    start = b->len;
    region = lg_regions[ev->biz_region];
    u = lg_unif(lg);
    pos = u < 0.75 ? 0 : (u < 0.95 ? 1 : (u < 0.998 ? 2 : 3));

    lg_putc(b, '"');
    if (lg_chance(lg, 0.03)) {
        LG_LIT(b, "DestinationRegionId=");
        lg_puts(b, lg_regions[lg_below(lg, LG_NELEM(lg_regions))]);
        lg_putc(b, ';');
    }
    if (pos == 0) {
        LG_LIT(b, "RegionId=");
        lg_puts(b, region);
        lg_putc(b, ';');
    } else if (pos == 3) {
        LG_LIT(b, "RegionId=;");
    }
    LG_LIT(b, "Action=");
    lg_puts(b, ev->api);
    LG_LIT(b, ";Version=");
    lg_puts(b, ev->version);
    if (pos == 1) {
        LG_LIT(b, ";RegionId=");
        lg_puts(b, region);
    }
    LG_LIT(b, ";Format=JSON;AccessKeyId=");
    lg_put_ak(b, ev->tenant);
    LG_LIT(b, ";SignatureMethod=HMAC-SHA1;SignatureVersion=1.0;"
              "SignatureNonce=");
    lg_put_hex(lg, b, 32, 0);
    lg_put_uuid(lg, b, 0);
    LG_LIT(b, ";Timestamp=");
    lg_puts(b, lg->iso);
    if (awk && pos == 0 && lg_chance(lg, 0.05)) {
        /* A second RegionId: the first one counts. */
        LG_LIT(b, ";RegionId=cn-second");
    }
    LG_LIT(b, ";InstanceId=i-");
    lg_put_tab64(lg, b, 20, "0123456789abcdefghijklmnopqrstuvwxyz"
                            "0123456789abcdefghijklmnopqrstuv");
    LG_LIT(b, ";PageSize=");
    lg_putu(b, 10u << lg_below(lg, 4));
    LG_LIT(b, ";PageNumber=");
    lg_putu(b, 1 + lg_below(lg, 5));
    LG_LIT(b, ";ResourceGroupId=rg-acfm");
    lg_put_tab64(lg, b, 11, lg_alnum);
    LG_LIT(b, ";ClientToken=");
    lg_put_uuid(lg, b, 0);

    /* Optional parameters while there is room. */
    for (k = 0; k < 12 && b->len - start + 300 < want && lg_chance(lg, 0.7);
         k++)
    {
        switch (lg_below(lg, 7)) {
        case 0:
            n = 1 + lg_below(lg, 8);
            LG_LIT(b, ";InstanceIds=[");
            for (i = 0; i < n; i++) {
                if (i) {
                    lg_putc(b, ',');
                }
                LG_LIT(b, "\\\"i-");
                lg_put_tab64(lg, b, 20, lg_alnum);
                LG_LIT(b, "\\\"");
            }
            lg_putc(b, ']');
            break;
        case 1:
            n = 1 + lg_below(lg, 5);
            for (i = 1; i <= n; i++) {
                LG_LIT(b, ";Tag.");
                lg_putu(b, i);
                LG_LIT(b, ".Key=");
                lg_put_word(lg, b);
                LG_LIT(b, ";Tag.");
                lg_putu(b, i);
                LG_LIT(b, ".Value=");
                lg_put_word(lg, b);
                lg_putc(b, '-');
                lg_putu(b, lg_below(lg, 1000));
            }
            break;
        case 2:
            LG_LIT(b, ";SecurityGroupId=sg-bp1");
            lg_put_tab64(lg, b, 17, lg_alnum);
            LG_LIT(b, ";VSwitchId=vsw-bp1");
            lg_put_tab64(lg, b, 17, lg_alnum);
            break;
        case 3:
            LG_LIT(b, ";ZoneId=");
            lg_puts(b, region);
            lg_putc(b, (char) ('a' + lg_below(lg, 6)));
            break;
        case 4:
            LG_LIT(b, ";InstanceType=");
            lg_puts(b, lg_instance_types[lg_below(lg,
                                         LG_NELEM(lg_instance_types))]);
            break;
        case 5:
            LG_LIT(b, ";Description=");
            n = 3 + lg_below(lg, 12);
            for (i = 0; i < n; i++) {
                if (i) {
                    lg_putc(b, ' ');
                }
                lg_put_word(lg, b);
            }
            if (awk && lg_chance(lg, 0.5)) {
                /* Escaped and raw non-ASCII, "\/" and an escaped quote. */
                LG_LIT(b, " caf\\u00e9 \\ud83d\\ude00 na\xc3\xafve "
                          "\xe4\xb8\xad\xe6\x96\x87 a\\/b \\\"q\\\"");
            }
            break;
        default:
            LG_LIT(b, ";ImageId=aliyun_3_x64_20G_alibase_2023");
            lg_putu(b, 1000 + lg_below(lg, 9000));
            LG_LIT(b, ".vhd");
            break;
        }
    }

    /* Fill the rest with a base64 blob, as a UserData would be. */
    n = b->len - start + 1;
    if (n + 12 < want) {
        LG_LIT(b, ";UserData=");
        n = want - n - 10;
        lg_put_b64(lg, b, n & ~(size_t) 3);
        if (n & 3) {
            lg_put(b, "==", (n & 3) > 2 ? 2 : (n & 3));
        }
    }
    lg_putc(b, '"');
}


/* Lines */

/* Appends a key (as the JSON string "key", possibly escaped) to scratch. */
static void
lg_item_key(lg_t *lg, lg_item_t *it, const char *key, int awk)
{
    lg_buf_t  *s;

    s = &lg->scratch;
    it->koff = s->len;
    lg_put_jstr(lg, s, key, strlen(key), awk && lg_chance(lg, 0.3));
    it->klen = s->len - it->koff;
}


/* A value that a later duplicate key overrides. */
static void
lg_put_decoy(lg_t *lg, lg_buf_t *s)
{
    static const char  *decoys[] = {
        "null", "\"decoy\"", "\"999\"", "123", "{\"Product\":\"x\"}", "[]",
        "\"\"", "true"
    };

    lg_puts(s, decoys[lg_below(lg, LG_NELEM(decoys))]);
}


/* Unknown keys with nested arrays and objects. */
static void
lg_put_extra(lg_t *lg, lg_item_t *it)
{
    static const char  *keys[] = {
        "\"Tags\"", "\"Meta\"", "\"caf\\u00e9\"", "\"Empty\"", "\"Lone\"",
        "\"\"", "\"Utf8\"", "\"Nums\"", "\"\\ud83d\\ude00\"", "\"Ext6\""
    };
    static const char  *vals[] = {
        "[{\"k\":\"v\"},[1,2,[3,[]]],null,true,false,-1.5e-7,0,\"x\"]",
        "{\"Api\":\"NestedApi\",\"Product\":\"nested\",\"HttpCode\":\"999\","
            "\"deep\":{\"a\":[{\"b\":[]}]}}",
        "\"\\ud83d\\ude00 caf\\u00e9 \\/ \\\"q\\\" \\\\ \\b\\f\\n\\r\\t\"",
        "{}",
        "\"lone \\udc00 surrogate \\ud800\"",
        "\"empty key\"",
        "\"\xe4\xb8\xad\xe6\x96\x87 \xc3\xa9 \xf0\x9f\x98\x80\"",
        "[0,-0,1e308,-1E-308,0.5,123456789012345678901234567890]",
        "[[[[[[[[[[\"ten\"]]]]]]]]]]",
        "\"{\\\"logRegionId\\\":\\\"nested-decoy\\\"}\""
    };
    lg_buf_t  *s;
    uint32_t   k;

    s = &lg->scratch;
    k = lg_below(lg, LG_NELEM(keys));
    it->koff = s->len;
    lg_puts(s, keys[k]);
    it->klen = s->len - it->koff;
    it->voff = s->len;
    lg_puts(s, vals[lg_below(lg, LG_NELEM(vals))]);
    it->vlen = s->len - it->voff;
}


/* Builds one line (with its newline) at the end of lg->out. */
static void
lg_line(lg_t *lg, const lg_line_opts_t *o)
{
    lg_event_t   ev;
    lg_item_t    items[LG_MAX_ITEMS], tmp;
    int          present[LG_NFIELDS];
    size_t       slot[LG_NFIELDS];
    size_t       nitems, i, j, k, sum, target, want;
    lg_buf_t    *s, *out;
    int          awk, ws, f, ext_mode, ndup;
    const char  *v;
    double       u;
    char         ipbuf[20];
    uint64_t     r;

    awk = o->awkward;
    s = &lg->scratch;
    out = &lg->out;
    s->len = 0;
    lg_event(lg, &ev);
    target = (size_t) ((double) lg->line_bytes * (0.85 + 0.3 * lg_unif(lg)));

    for (f = 0; f < LG_NFIELDS; f++) {
        present[f] = 1;
    }
    if (awk) {
        static const lg_field_t  optional[] = {
            LG_F_API, LG_F_VERSION, LG_F_ERRORCODE, LG_F_REQUESTCONTENT,
            LG_F_LOCALIP, LG_F_CALLERUID
        };

        for (i = 0; i < LG_NELEM(optional); i++) {
            if (lg_chance(lg, 0.04)) {
                present[optional[i]] = 0;
            }
        }
    }
    if (o->missing == 1 && o->missing_form == 0) {
        present[LG_F_PRODUCT] = 0;
    } else if (o->missing == 2 && o->missing_form == 0) {
        present[LG_F_HTTPCODE] = 0;
    }
    ext_mode = 0;                   /* 0 string, 1 object, 2 odd, 3 null */
    if (awk) {
        u = lg_unif(lg);
        ext_mode = u < 0.5 ? 0 : (u < 0.9 ? 1 : (u < 0.95 ? 2 : 3));
        if (lg_chance(lg, 0.02)) {
            present[LG_F_EXT5] = 0;
        }
    }

    /* Values, in the seed's order; RequestContent is sized last. */
    nitems = 0;
    for (f = 0; f < LG_NFIELDS; f++) {
        if (!present[f]) {
            continue;
        }
        slot[f] = nitems;
        lg_item_key(lg, &items[nitems], lg_field_names[f], awk);
        items[nitems].voff = s->len;

        switch ((lg_field_t) f) {
        case LG_F_AK:
            lg_putc(s, '"');
            lg_put_ak(s, ev.tenant);
            lg_putc(s, '"');
            break;
        case LG_F_API:
            lg_put_jstr(lg, s, ev.api, strlen(ev.api), awk);
            break;
        case LG_F_CALLERUID:
            j = s->len;
            lg_putu(s, lg_uid(ev.tenant));
            if (awk && lg_chance(lg, 0.1)) {
                /* Some loggers write it as a number. */
                break;
            }
            lg_insert(s, j, "\"", 1);
            lg_putc(s, '"');
            break;
        case LG_F_CLIENTIP:
            r = lg_next(&lg->rng);
            u = lg_unif(lg);
            if (u < 0.3) {
                snprintf(ipbuf, sizeof(ipbuf), "192.168.%u.%u",
                         (unsigned) (r & 255), (unsigned) ((r >> 8) & 255));
            } else if (u < 0.5) {
                snprintf(ipbuf, sizeof(ipbuf), "10.%u.%u.%u",
                         (unsigned) (r & 255), (unsigned) ((r >> 8) & 255),
                         (unsigned) ((r >> 16) & 255));
            } else {
                static const unsigned  first[] = { 47, 39, 8, 100, 120, 42 };

                snprintf(ipbuf, sizeof(ipbuf), "%u.%u.%u.%u",
                         first[(r >> 24) % LG_NELEM(first)],
                         (unsigned) (r & 255), (unsigned) ((r >> 8) & 255),
                         (unsigned) ((r >> 16) & 255));
            }
            lg_put_jstr(lg, s, ipbuf, strlen(ipbuf), awk);
            break;
        case LG_F_DOMAIN:
            lg_putc(s, '"');
            if (ev.warmup) {
                lg_put_chars(lg, s, "popwarmup.aliyuncs.com", 22, awk);
            } else {
                lg_puts(s, ev.prod->def->code);
                u = lg_unif(lg);
                if (u < 0.3) {
                    LG_LIT(s, "-vpc");
                }
                if (u < 0.9) {
                    lg_putc(s, '.');
                    lg_puts(s, lg_regions[ev.biz_region]);
                }
                LG_LIT(s, ".aliyuncs.com");
                if (awk && lg_chance(lg, 0.02)) {
                    LG_LIT(s, "\\udc00");     /* a lone surrogate */
                }
            }
            lg_putc(s, '"');
            break;
        case LG_F_ERRORCODE:
            if (awk && lg_chance(lg, 0.05)) {
                LG_LIT(s, "null");
            } else {
                lg_put_jstr(lg, s, ev.error_code, strlen(ev.error_code), awk);
            }
            break;
        case LG_F_EXT5:
            if (ext_mode == 2) {
                static const char  *odd[] = {
                    "\"\"", "\"not json\"", "\"[1,2]\"",
                    "\"{\\\"logRegionId\\\":\"", "\"null\"", "17"
                };

                lg_puts(s, odd[lg_below(lg, LG_NELEM(odd))]);
            } else if (ext_mode == 3) {
                LG_LIT(s, "null");
            } else {
                lg_ext5(lg, &ev, awk);
                if (ext_mode == 1) {
                    lg_put(s, lg->ext.p, lg->ext.len);
                } else {
                    lg_put_escaped(s, lg->ext.p, lg->ext.len);
                }
            }
            break;
        case LG_F_HTTPCODE:
            if (o->missing == 2) {
                break;
            }
            u = awk ? lg_unif(lg) : 1.0;
            if (o->bad_number && o->bad_field == LG_F_HTTPCODE) {
                lg_puts(s, o->bad_number);
            } else if (u < 0.35) {
                lg_putu(s, ev.http_code);
            } else if (u < 0.40) {
                lg_put_number(lg, s, ev.http_code, 4);
            } else if (u < 0.43) {
                lg_putc(s, '"');
                lg_put_number(lg, s, ev.http_code, 4);
                lg_putc(s, '"');
            } else {
                snprintf(ipbuf, sizeof(ipbuf), "%u", ev.http_code);
                lg_put_jstr(lg, s, ipbuf, 3, awk);
            }
            break;
        case LG_F_LOCALIP:
            v = lg->node_ip[ev.node];
            lg_put_jstr(lg, s, v, strlen(v), awk);
            break;
        case LG_F_PRODUCT:
            if (o->missing == 1) {
                break;
            }
            v = ev.prod->def->code;
            lg_put_jstr(lg, s, v, strlen(v), awk);
            break;
        case LG_F_REGIONID:
            v = lg_regions[ev.biz_region];
            lg_put_jstr(lg, s, v, strlen(v), awk);
            break;
        case LG_F_REQUESTCONTENT:
            break;
        case LG_F_TOTALUSEDTIME:
            if (o->bad_number && o->bad_field == LG_F_TOTALUSEDTIME) {
                lg_puts(s, o->bad_number);
            } else if (awk && lg_chance(lg, 0.4)) {
                lg_put_number(lg, s, ev.tut_ms, 5);
            } else if (awk && lg_chance(lg, 0.05)) {
                lg_putc(s, '"');
                lg_put_number(lg, s, ev.tut_ms, 5);
                lg_putc(s, '"');
            } else {
                lg_putc(s, '"');
                lg_putu(s, ev.tut_ms);
                lg_putc(s, '"');
            }
            break;
        case LG_F_VERSION:
            lg_put_jstr(lg, s, ev.version, strlen(ev.version), awk);
            break;
        case LG_F_TIME:
            if (awk && lg_chance(lg, 0.2)) {
                lg_puts(s, lg->now_str);
            } else {
                lg_putc(s, '"');
                lg_puts(s, lg->now_str);
                lg_putc(s, '"');
            }
            break;
        default:
            break;
        }
        items[nitems].vlen = s->len - items[nitems].voff;
        nitems++;
    }

    /* Required fields present but unusable (garbage only). */
    if (o->missing && o->missing_form) {
        static const char  *forms[] = { "", "null", "\"\"", "{}", "[]" };

        f = o->missing == 1 ? LG_F_PRODUCT : LG_F_HTTPCODE;
        items[slot[f]].voff = s->len;
        lg_puts(s, forms[o->missing_form]);
        items[slot[f]].vlen = s->len - items[slot[f]].voff;
    }

    /* RequestContent gets what is left of the target size. */
    if (present[LG_F_REQUESTCONTENT]) {
        sum = 2;
        for (i = 0; i < nitems; i++) {
            sum += items[i].klen + items[i].vlen + 2;
        }
        want = target > sum + 40 ? target - sum - 20 : 0;
        k = slot[LG_F_REQUESTCONTENT];
        items[k].voff = s->len;
        lg_request_content(lg, s, &ev, want, awk);
        items[k].vlen = s->len - items[k].voff;
    }

    if (awk) {
        /* Shuffled order. */
        if (lg_chance(lg, 0.6)) {
            for (i = nitems - 1; i > 0; i--) {
                j = lg_below(lg, (uint32_t) (i + 1));
                tmp = items[i];
                items[i] = items[j];
                items[j] = tmp;
            }
        }
        /* Unknown keys anywhere. */
        if (lg_chance(lg, 0.3)) {
            k = 1 + lg_below(lg, 3);
            for (i = 0; i < k && nitems < LG_MAX_ITEMS - 8; i++) {
                j = lg_below(lg, (uint32_t) (nitems + 1));
                memmove(&items[j + 1], &items[j],
                        (nitems - j) * sizeof(lg_item_t));
                lg_put_extra(lg, &items[j]);
                nitems++;
            }
        }
        /* Duplicate keys first: the later, true value wins. */
        if (lg_chance(lg, 0.25)) {
            static const lg_field_t  dupable[] = {
                LG_F_PRODUCT, LG_F_HTTPCODE, LG_F_API, LG_F_ERRORCODE,
                LG_F_LOCALIP, LG_F_CALLERUID, LG_F_DOMAIN, LG_F_VERSION,
                LG_F_TOTALUSEDTIME, LG_F_REQUESTCONTENT, LG_F_EXT5
            };

            ndup = 1 + (int) lg_below(lg, 2);
            for (i = 0; i < (size_t) ndup; i++) {
                f = dupable[lg_below(lg, LG_NELEM(dupable))];
                if (!present[f]) {
                    continue;
                }
                memmove(&items[1], &items[0], nitems * sizeof(lg_item_t));
                lg_item_key(lg, &items[0], lg_field_names[f], awk);
                items[0].voff = s->len;
                if (f == LG_F_REQUESTCONTENT) {
                    LG_LIT(s, "\"RegionId=decoy-region;Action=Decoy\"");
                } else if (f == LG_F_EXT5) {
                    LG_LIT(s, "\"{\\\"logRegionId\\\":\\\"decoy\\\"}\"");
                } else if (f == LG_F_DOMAIN && !ev.warmup) {
                    LG_LIT(s, "\"popwarmup.aliyuncs.com\"");
                } else {
                    lg_put_decoy(lg, s);
                }
                items[0].vlen = s->len - items[0].voff;
                nitems++;
            }
        }
    }

    /* The line. */
    ws = awk && lg_chance(lg, 0.5);
    lg_reserve(out, s->len + nitems * 8 + 64);
    lg_putc(out, '{');
    for (i = 0; i < nitems; i++) {
        if (i) {
            lg_put_ws(lg, out, ws);
            lg_putc(out, ',');
        }
        lg_put_ws(lg, out, ws);
        lg_put(out, s->p + items[i].koff, items[i].klen);
        lg_put_ws(lg, out, ws);
        lg_putc(out, ':');
        lg_put_ws(lg, out, ws);
        lg_put(out, s->p + items[i].voff, items[i].vlen);
    }
    lg_put_ws(lg, out, ws);
    lg_putc(out, '}');
    if (ws && lg_chance(lg, 0.5)) {
        lg_putc(out, '\r');
    }
    lg_putc(out, '\n');
}


/* Finds the first byte after `"key":"` in the line at out[start..]. */
static size_t
lg_find_value(lg_buf_t *b, size_t start, const char *key)
{
    char    pat[40];
    size_t  n, i;

    n = (size_t) snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    for (i = start; i + n <= b->len; i++) {
        if (memcmp(b->p + i, pat, n) == 0) {
            return i + n;
        }
    }
    return start + 1;
}


/* A deliberately invalid (or, for BAD_UTF8, oddly encoded) line. */
static void
lg_garbage(lg_t *lg)
{
    static const unsigned  weights[LG_G_NKINDS] = {
        20, 8, 10, 8, 14, 8, 6, 5, 5, 6, 5, 2, 3
    };
    static const char     *not_obj[] = {
        "[1,2]", "\"bare string\"", "42", "null", "true",
        "[{\"Product\":\"ecs\",\"HttpCode\":\"200\"}]", "-0.5e3", "[]"
    };
    static const char     *bad_nums[] = {
        "NaN", "Infinity", "-Infinity", "0123", "1.", "+5", ".5", "0x10",
        "1e", "--1", "01"
    };
    static const char     *escapes[] = {
        "\\x41", "\\u12G4", "\\U0041", "\\'", "\\a", "\\u00"
    };
    static const char     *ctrls[] = { "\t", "\x01", "\x1f", "\x7f\x00" };
    static const char     *trails[] = { " x", "}", "{}", ",", " \"\"", "]" };
    static const char     *bad_utf8[] = {
        "\xff", "\xc3(", "\xed\xa0\x80", "\xe2\x82", "\xc0\xaf", "\xf8\x88"
    };
    static const char     *empties[] = { "", " ", "   \t", "\t\r", "\r" };
    lg_line_opts_t         o = {0};
    lg_buf_t              *out;
    size_t                 start, i, n, last, pos;
    unsigned               total, u;
    int                    kind, depth;

    out = &lg->out;
    start = out->len;
    total = 0;
    for (kind = 0; kind < LG_G_NKINDS; kind++) {
        total += weights[kind];
    }
    u = lg_below(lg, total);
    for (kind = 0; kind < LG_G_NKINDS - 1 && u >= weights[kind]; kind++) {
        u -= weights[kind];
    }

    switch ((lg_garbage_t) kind) {
    case LG_G_BINARY:
        n = 1 + lg_below(lg, 400);
        lg_put_tab64(lg, out, n, lg_b64);
        for (i = start; i < out->len; i++) {
            out->p[i] = (char) lg_next(&lg->rng);
            if (out->p[i] == '\n') {
                out->p[i] = '\0';
            }
        }
        lg_putc(out, '\n');
        return;
    case LG_G_EMPTY:
        lg_puts(out, empties[lg_below(lg, LG_NELEM(empties))]);
        lg_putc(out, '\n');
        return;
    case LG_G_NOT_OBJECT:
        lg_puts(out, not_obj[lg_below(lg, LG_NELEM(not_obj))]);
        lg_putc(out, '\n');
        return;
    case LG_G_DEEP:
        LG_LIT(out, "{\"Product\":\"ecs\",\"HttpCode\":\"200\",\"Deep\":");
        depth = 520 + (int) lg_below(lg, 1500);
        lg_reserve(out, (size_t) depth * 2 + 4);
        memset(out->p + out->len, '[', (size_t) depth);
        out->len += (size_t) depth;
        memset(out->p + out->len, ']', (size_t) depth);
        out->len += (size_t) depth;
        LG_LIT(out, "}\n");
        return;
    case LG_G_MISSING:
        o.missing = 1 + (int) lg_below(lg, 2);
        o.missing_form = (int) lg_below(lg, 5);
        lg_line(lg, &o);
        return;
    case LG_G_BAD_NUMBER:
        o.bad_number = bad_nums[lg_below(lg, LG_NELEM(bad_nums))];
        o.bad_field = lg_chance(lg, 0.5) ? LG_F_HTTPCODE : LG_F_TOTALUSEDTIME;
        lg_line(lg, &o);
        return;
    default:
        break;
    }

    /* The rest damage a normal line in place. */
    lg_line(lg, &o);
    last = out->len - 1;                    /* the '\n' */
    while (last > start && out->p[last] != '}') {
        last--;
    }
    switch ((lg_garbage_t) kind) {
    case LG_G_TRUNCATED:
        out->len = start + 1 + lg_below(lg, (uint32_t) (last - start));
        lg_putc(out, '\n');
        break;
    case LG_G_TRAILING_COMMA:
        lg_insert(out, last, ",", 1);
        break;
    case LG_G_SINGLE_QUOTES:
        for (i = start; i < out->len; i++) {
            if (out->p[i] == '"') {
                out->p[i] = '\'';
            }
        }
        break;
    case LG_G_BAD_ESCAPE:
        pos = lg_find_value(out, start, lg_chance(lg, 0.5) ? "Api" : "AK");
        n = lg_below(lg, LG_NELEM(escapes));
        lg_insert(out, pos, escapes[n], strlen(escapes[n]));
        break;
    case LG_G_CTRL_CHAR:
        pos = lg_find_value(out, start, lg_chance(lg, 0.5) ? "Api" : "AK");
        n = lg_below(lg, LG_NELEM(ctrls));
        lg_insert(out, pos, ctrls[n], n == 3 ? 2 : 1);
        break;
    case LG_G_TRAILING_GARBAGE:
        n = lg_below(lg, LG_NELEM(trails));
        lg_insert(out, out->len - 1, trails[n], strlen(trails[n]));
        break;
    case LG_G_BAD_UTF8:
        /* Valid JSON with invalid UTF-8 in a value: the exporter keeps
         * the line (U+FFFD in the value); strict decoders reject it. */
        pos = lg_find_value(out, start, lg_chance(lg, 0.5) ? "Api" : "AK");
        n = lg_below(lg, LG_NELEM(bad_utf8));
        lg_insert(out, pos, bad_utf8[n], strlen(bad_utf8[n]));
        break;
    default:
        break;
    }
}


static void
lg_one_line(lg_t *lg)
{
    lg_line_opts_t  o = {0};

    if (lg->garbage > 0.0 && lg_unif(lg) < lg->garbage) {
        lg_garbage(lg);
        return;
    }
    o.awkward = lg->awkward && lg_chance(lg, 0.3);
    lg_line(lg, &o);
}


/* Output */

static void
lg_write_all(lg_t *lg, const char *p, size_t n)
{
    ssize_t  w;

    while (n > 0) {
        w = write(lg->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EPIPE) {
                exit(0);
            }
            fprintf(stderr, LG_NAME ": write(%s) failed: %s\n",
                    lg->output ? lg->output : "stdout", strerror(errno));
            exit(1);
        }
        p += w;
        n -= (size_t) w;
    }
}


static void
lg_run_flat_out(lg_t *lg)
{
    uint64_t  n;

    lg_tick_time(lg);
    for (n = 0; lg->lines == 0 || n < lg->lines; n++) {
        if ((n & 1023) == 0) {
            if (lg_stop) {
                break;
            }
            lg_tick_time(lg);
        }
        lg_one_line(lg);
        if (lg->out.len >= LG_FLUSH_BYTES) {
            lg_write_all(lg, lg->out.p, lg->out.len);
            lg->out.len = 0;
        }
    }
    lg_write_all(lg, lg->out.p, lg->out.len);
    lg->out.len = 0;
}


static double
lg_mono(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}


/* Every 10 ms, writes the lines that are due.  Now and then the last line
 * of a batch is cut in two: the head goes out now, the tail with the next
 * batch, so a reader sees a partial line for ~10 ms. */
static void
lg_run_rate(lg_t *lg)
{
    lg_buf_t         carry = {0};
    struct timespec  ts;
    double           t0;
    uint64_t         sent, due, n, i;
    size_t           last, cut;

    t0 = lg_mono();
    sent = 0;
    for ( ;; ) {
        due = (uint64_t) ((lg_mono() - t0) * (double) lg->rate);
        if (lg->lines && due > lg->lines) {
            due = lg->lines;
        }
        if (due - sent > lg->rate) {
            sent = due - lg->rate;          /* do not burst after a stall */
        }
        lg_tick_time(lg);
        lg->out.len = 0;
        if (carry.len > 0) {
            lg_put(&lg->out, carry.p, carry.len);
            carry.len = 0;
        }
        last = 0;
        n = lg_stop ? 0 : due - sent;
        for (i = 0; i < n; i++) {
            last = lg->out.len;
            lg_one_line(lg);
        }
        sent += n;
        if (n > 0 && lg->out.len - last > 2
            && (lg_next(&lg->split_rng) & 3) == 0)
        {
            cut = last + 1 + lg_next(&lg->split_rng)
                             % (lg->out.len - last - 2);
            lg_put(&carry, lg->out.p + cut, lg->out.len - cut);
            lg->out.len = cut;
        }
        lg_write_all(lg, lg->out.p, lg->out.len);
        if (carry.len == 0
            && (lg_stop || (lg->lines && sent >= lg->lines)))
        {
            break;
        }
        ts.tv_sec = 0;
        ts.tv_nsec = LG_TICK_NS;
        nanosleep(&ts, NULL);
    }
    free(carry.p);
}


/* Dimension CSVs */

static FILE *
lg_csv_open(const lg_t *lg, const char *name, char *tmp, size_t tmpsz)
{
    FILE  *f;

    snprintf(tmp, tmpsz, "%s/%s.csv.tmp", lg->dims_dir, name);
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, LG_NAME ": fopen(%s) failed: %s\n", tmp,
                strerror(errno));
    }
    return f;
}


/* Closes f and renames tmp over DIR/NAME.csv, so a reader never sees a
 * half-written table. */
static int
lg_csv_close(const lg_t *lg, FILE *f, const char *name, const char *tmp)
{
    char  path[4096];

    if (ferror(f) | fclose(f)) {
        fprintf(stderr, LG_NAME ": writing %s failed: %s\n", tmp,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s.csv", lg->dims_dir, name);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, LG_NAME ": rename(%s) failed: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}


/* With --awkward the CSVs use CRLF, quote some fields, repeat a key (the
 * later row wins) and carry a row with the wrong number of columns. */
static int
lg_write_dims(lg_t *lg)
{
    static const char  *levels[] = {
        "GC1", "GC2", "GC3", "GC4", "GC5", "GC6", "GC7"
    };
    static const unsigned  level_cdf[] = { 35, 60, 77, 88, 95, 99, 100 };
    static const char  *prios[] = { "P0", "P1", "P2", "P3" };
    char                tmp[4096];
    const char         *eol, *region, *lvl;
    FILE               *f;
    size_t              i, p, a;
    uint64_t            t, h;
    int                 awk, lv;

    awk = lg->awkward;
    eol = awk ? "\r\n" : "\n";
    if (mkdir(lg->dims_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, LG_NAME ": mkdir(%s) failed: %s\n", lg->dims_dir,
                strerror(errno));
        return -1;
    }

    /* gateway_cluster.csv: local_ip,app_group,region_id. */
    f = lg_csv_open(lg, "gateway_cluster", tmp, sizeof(tmp));
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "local_ip,app_group,region_id%s", eol);
    if (awk && lg->nodes > 0) {
        fprintf(f, "%s,pop-region-stale,stale-region%s", lg->node_ip[0], eol);
        fprintf(f, "11.197.0.1,too,many,columns%s", eol);
    }
    for (i = 0; i < lg->nodes; i++) {
        if (!lg_node_in_dims(lg, i)) {
            continue;
        }
        region = lg_regions[lg->node_region[i]];
        if (awk && i % 3 == 1) {
            fprintf(f, "\"%s\",\"pop-region-%s\",\"%s\"%s", lg->node_ip[i],
                    region, region, eol);
        } else {
            fprintf(f, "%s,pop-region-%s,%s%s", lg->node_ip[i], region,
                    region, eol);
        }
    }
    fprintf(f, "11.196.254.%u,pop-region-spare,cn-hangzhou%s",
            (unsigned) (lg->nodes % 250), eol);
    if (lg_csv_close(lg, f, "gateway_cluster", tmp) != 0) {
        return -1;
    }

    /* user_level.csv: uid,gc_level; the biggest tenants rank highest. */
    f = lg_csv_open(lg, "user_level", tmp, sizeof(tmp));
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "uid,gc_level%s", eol);
    if (awk) {
        fprintf(f, "%llu,GC0%s", (unsigned long long) lg_uid(0), eol);
        fprintf(f, "12345%s", eol);
    }
    for (t = 0; t < lg->tenants; t++) {
        if (!lg_tenant_in_dims(t)) {
            continue;
        }
        h = lg_hash(9, t) % 100;
        if (t < 10) {
            lv = 4 + (int) (h % 3);
        } else {
            lv = 0;
            while (h >= level_cdf[lv]) {
                lv++;
            }
        }
        lvl = levels[lv];
        if (awk && t % 7 == 3) {
            fprintf(f, "\"%llu\",\"%s\"%s", (unsigned long long) lg_uid(t),
                    lvl, eol);
        } else {
            fprintf(f, "%llu,%s%s", (unsigned long long) lg_uid(t), lvl, eol);
        }
    }
    if (lg_csv_close(lg, f, "user_level", tmp) != 0) {
        return -1;
    }

    /* api_meta.csv: product,api,priority. */
    f = lg_csv_open(lg, "api_meta", tmp, sizeof(tmp));
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "product,api,priority%s", eol);
    if (awk) {
        fprintf(f, "ecs,%s,P9%s", lg->products[0].apis[0], eol);
        fprintf(f, "ecs,OnlyTwoColumns%s", eol);
    }
    for (p = 0; p < lg->nproducts; p++) {
        for (a = 0; a < lg->products[p].napis; a++) {
            if (!lg_api_in_dims(p, a)) {
                continue;
            }
            h = lg_hash(40 + p, a) % 100;
            if (p < 4 && a < 3) {
                h = 0;
            }
            fprintf(f, awk && a % 5 == 2 ? "\"%s\",\"%s\",%s%s" : "%s,%s,%s%s",
                    lg->products[p].def->code, lg->products[p].apis[a],
                    prios[h < 10 ? 0 : (h < 35 ? 1 : (h < 70 ? 2 : 3))], eol);
        }
    }
    return lg_csv_close(lg, f, "api_meta", tmp);
}


/* Options */

static void
lg_usage(FILE *f)
{
    fprintf(f,
"Usage: " LG_NAME " [OPTION]...\n"
"Writes synthetic API gateway access logs (JSON, one object per line) for\n"
"gwlog_exporter, and optionally the dimension CSVs that go with them.\n"
"\n"
"  --lines=N        stop after N lines (default 0: unlimited)\n"
"  --rate=N         N lines per second, in 10 ms batches, some lines split\n"
"                   across two writes (default 0: as fast as possible)\n"
"  --seed=N         random seed; same seed, same bytes without --rate\n"
"                   (default 1)\n"
"  --time=T         write __time__ as T instead of the clock (for\n"
"                   byte-identical runs)\n"
"  --output=FILE    append to FILE (default: stdout)\n"
"  --dims-dir=DIR   write DIR/gateway_cluster.csv, user_level.csv and\n"
"                   api_meta.csv (most, not all, keys covered), then exit\n"
"                   unless --lines or --rate is given too\n"
"  --tenants=N      number of tenants (CallerUid), Zipf (default 5000)\n"
"  --nodes=N        number of gateway nodes (LocalIp) (default 8)\n"
"  --awkward        about 30%% of lines use legal but awkward JSON:\n"
"                   shuffled keys, whitespace, \\u escapes, numbers,\n"
"                   Ext5 as an object, duplicate keys, unknown keys,\n"
"                   missing optional keys; the CSVs get CRLF, quotes,\n"
"                   a repeated key and a short row\n"
"  --garbage=P      fraction P (0..1) of invalid lines (default 0)\n"
"  --line-bytes=N   target average line size (default 4500)\n"
"  --help           show this help\n");
}


static int
lg_parse_u64(const char *name, const char *s, uint64_t *v)
{
    char                *end;
    unsigned long long   x;

    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, LG_NAME ": invalid --%s: '%s'\n", name, s);
        return -1;
    }
    *v = (uint64_t) x;
    return 0;
}


static void
lg_on_signal(int sig)
{
    (void) sig;
    lg_stop = 1;
}


int
main(int argc, char **argv)
{
    static const struct option  opts[] = {
        { "lines",      required_argument, NULL, 'l' },
        { "rate",       required_argument, NULL, 'r' },
        { "seed",       required_argument, NULL, 's' },
        { "time",       required_argument, NULL, 'T' },
        { "output",     required_argument, NULL, 'o' },
        { "dims-dir",   required_argument, NULL, 'd' },
        { "tenants",    required_argument, NULL, 't' },
        { "nodes",      required_argument, NULL, 'n' },
        { "awkward",    no_argument,       NULL, 'a' },
        { "garbage",    required_argument, NULL, 'g' },
        { "line-bytes", required_argument, NULL, 'b' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct sigaction  sa;
    lg_t              lg = {0};
    uint64_t          t;
    char             *end;
    int               c, rc;

    lg.seed = 1;
    lg.tenants = 5000;
    lg.nodes = 8;
    lg.line_bytes = 4500;
    lg.fixed_time = -1;
    lg.fd = STDOUT_FILENO;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        rc = 0;
        switch (c) {
        case 'l':
            rc = lg_parse_u64("lines", optarg, &lg.lines);
            lg.lines_set = 1;
            break;
        case 'r':
            rc = lg_parse_u64("rate", optarg, &lg.rate);
            break;
        case 's':
            rc = lg_parse_u64("seed", optarg, &lg.seed);
            break;
        case 'T':
            rc = lg_parse_u64("time", optarg, &t);
            lg.fixed_time = (int64_t) t;
            break;
        case 'o':
            lg.output = optarg;
            break;
        case 'd':
            lg.dims_dir = optarg;
            break;
        case 't':
            rc = lg_parse_u64("tenants", optarg, &lg.tenants);
            if (rc == 0 && (lg.tenants == 0 || lg.tenants > 100000000)) {
                fprintf(stderr, LG_NAME ": --tenants must be 1..1e8\n");
                rc = -1;
            }
            break;
        case 'n':
            rc = lg_parse_u64("nodes", optarg, &lg.nodes);
            if (rc == 0 && (lg.nodes == 0 || lg.nodes > 57600)) {
                fprintf(stderr, LG_NAME ": --nodes must be 1..57600\n");
                rc = -1;
            }
            break;
        case 'a':
            lg.awkward = 1;
            break;
        case 'g':
            errno = 0;
            lg.garbage = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0'
                || !(lg.garbage >= 0.0 && lg.garbage <= 1.0))
            {
                fprintf(stderr, LG_NAME ": invalid --garbage: '%s' "
                        "(a fraction 0..1)\n", optarg);
                rc = -1;
            }
            break;
        case 'b':
            rc = lg_parse_u64("line-bytes", optarg, &lg.line_bytes);
            if (rc == 0 && lg.line_bytes > (64u << 20)) {
                fprintf(stderr, LG_NAME ": --line-bytes too large\n");
                rc = -1;
            }
            break;
        case 'h':
            lg_usage(stdout);
            return 0;
        default:
            lg_usage(stderr);
            return 2;
        }
        if (rc != 0) {
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, LG_NAME ": unexpected argument '%s'\n", argv[optind]);
        lg_usage(stderr);
        return 2;
    }

    lg.rng = lg_mix(lg.seed ^ 0x5eed5eed5eed5eedULL);
    lg.split_rng = lg_mix(lg.seed + 0x51u);
    lg_universe_init(&lg);

    if (lg.dims_dir) {
        rc = lg_write_dims(&lg);
        if (rc != 0 || (!lg.lines_set && lg.rate == 0)) {
            lg_destroy(&lg);
            return rc != 0;
        }
    }

    if (lg.output) {
        lg.fd = open(lg.output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                     0644);
        if (lg.fd < 0) {
            fprintf(stderr, LG_NAME ": open(%s) failed: %s\n", lg.output,
                    strerror(errno));
            lg_destroy(&lg);
            return 1;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = lg_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (lg.rate > 0) {
        lg_run_rate(&lg);
    } else {
        lg_run_flat_out(&lg);
    }
    rc = 0;
    if (lg.output && close(lg.fd) != 0) {
        fprintf(stderr, LG_NAME ": close(%s) failed: %s\n", lg.output,
                strerror(errno));
        rc = 1;
    }
    lg_destroy(&lg);
    return rc;
}
