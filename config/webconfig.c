/* webconfig.c - The web configuration file (see webconfig.h). */

#include "config/webconfig.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "lib/hash.h"


#define CACHE_SLOTS  64

/* Successful (user, password) checks, by a salted hash of both. */
static pthread_mutex_t  cache_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t         cache[CACHE_SLOTS];    /* right passwords */
static uint64_t         wrong[CACHE_SLOTS];    /* wrong ones */
static uint64_t         cache_salt;


static int load_doc(webcfg_t *w, yaml_document_t *doc, const char *dir,
    char *err, size_t errlen);
static int load_tls(webcfg_t *w, yaml_document_t *doc, yaml_node_t *map,
    const char *dir, char *err, size_t errlen);
static int load_users(webcfg_t *w, yaml_document_t *doc, yaml_node_t *map,
    char *err, size_t errlen);
static char *read_file(const char *dir, const char *name);
static int version(const char *s);
static const char *scalar(yaml_node_t *n);


webcfg_t *
webconfig_load(const char *path, char *err, size_t errlen)
{
    yaml_parser_t    parser;
    yaml_document_t  doc;
    webcfg_t        *w;
    FILE            *f;
    char            *dir, *slash;
    int              rc;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    w = calloc(1, sizeof(*w));
    dir = strdup(path);
    if (w == NULL || dir == NULL || (w->file = strdup(path)) == NULL) {
        fclose(f);
        free(dir);
        free(w);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
    } else {
        strcpy(dir, ".");
    }
    w->min_version = 12;
    w->max_version = 13;

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%d: %s", path,
                 (int) parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        fclose(f);
        free(dir);
        webconfig_free(w);
        return NULL;
    }
    rc = load_doc(w, &doc, dir, err, errlen);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    free(dir);
    if (rc != 0) {
        webconfig_free(w);
        return NULL;
    }
    return w;
}


void
webconfig_free(webcfg_t *w)
{
    size_t  i;

    if (w == NULL) {
        return;
    }
    for (i = 0; i < w->nusers; i++) {
        free(w->users[i]);
        free(w->hashes[i]);
    }
    free(w->users);
    free(w->hashes);
    free(w->cert_pem);
    free(w->key_pem);
    free(w->client_ca_pem);
    free(w->file);
    free(w);
}


const char *
webconfig_priorities(const webcfg_t *w)
{
    static const char  *p[4][4] = {
        { "NORMAL:-VERS-ALL:+VERS-TLS1.0",
          "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1",
          "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2",
          "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2"
          ":+VERS-TLS1.3" },
        { NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.1",
          "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.2",
          "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3" },
        { NULL, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.2",
          "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3" },
        { NULL, NULL, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.3" }
    };

    return p[w->min_version - 10][w->max_version - 10];
}


int
webconfig_check_password(const webcfg_t *w, const char *user,
    const char *password)
{
    char  *hash = NULL;
    int    known, ok;

    known = webconfig_password_known(w, user, password, &hash);
    if (known >= 0) {
        return known;
    }
    ok = webconfig_password_verify(user, hash, password);
    free(hash);
    return ok;
}


/* The key of user, hash and password in the caches: salted, so that it
 * cannot be chosen from outside. */
static uint64_t
cache_key(const char *user, const char *hash, const char *password)
{
    if (cache_salt == 0) {
        cache_salt = hash_mix((uint64_t) (uintptr_t) &cache_salt
                              ^ (uint64_t) time(NULL)) | 1;
    }
    return hash_bytes(password, strlen(password),
                      hash_bytes(hash, strlen(hash),
                                 hash_bytes(user, strlen(user), cache_salt)));
}


int
webconfig_password_known(const webcfg_t *w, const char *user,
    const char *password, char **hash_out)
{
    const char  *hash = NULL;
    uint64_t     key;
    size_t       i;

    *hash_out = NULL;
    for (i = 0; i < w->nusers; i++) {
        if (strcmp(w->users[i], user) == 0) {
            hash = w->hashes[i];
        }
    }
    if (hash == NULL) {
        return 0;
    }
    pthread_mutex_lock(&cache_lock);
    key = cache_key(user, hash, password);
    for (i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i] == key) {
            pthread_mutex_unlock(&cache_lock);
            return 1;
        }
        if (wrong[i] == key) {
            pthread_mutex_unlock(&cache_lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    *hash_out = strdup(hash);
    return *hash_out != NULL ? -1 : 0;
}


int
webconfig_password_verify(const char *user, const char *hash,
    const char *password)
{
    struct crypt_data  *cd;
    const char         *out;
    uint64_t            key;
    int                 ok;

    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        return 0;
    }
    out = crypt_r(password, hash, cd);
    ok = out != NULL && out[0] != '*' && strcmp(out, hash) == 0;
    free(cd);
    pthread_mutex_lock(&cache_lock);
    key = cache_key(user, hash, password);
    if (ok) {
        cache[key % CACHE_SLOTS] = key;
    } else {
        wrong[key % CACHE_SLOTS] = key;
    }
    pthread_mutex_unlock(&cache_lock);
    return ok;
}


static int
load_doc(webcfg_t *w, yaml_document_t *doc, const char *dir, char *err,
    size_t errlen)
{
    yaml_node_t       *root = yaml_document_get_root_node(doc), *k, *v;
    yaml_node_pair_t  *pair;

    if (root == NULL) {
        return 0;                           /* an empty file: no TLS, no auth */
    }
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s:%d: expected a mapping", w->file,
                 (int) root->start_mark.line + 1);
        return -1;
    }
    for (pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++)
    {
        k = yaml_document_get_node(doc, pair->key);
        v = yaml_document_get_node(doc, pair->value);
        if (strcmp(scalar(k), "tls_server_config") == 0) {
            if (load_tls(w, doc, v, dir, err, errlen) != 0) {
                return -1;
            }
        } else if (strcmp(scalar(k), "basic_auth_users") == 0) {
            if (load_users(w, doc, v, err, errlen) != 0) {
                return -1;
            }
        } else {
            snprintf(err, errlen, "%s:%d: unknown key \"%s\" (supported: "
                     "tls_server_config, basic_auth_users)", w->file,
                     (int) k->start_mark.line + 1, scalar(k));
            return -1;
        }
    }
    return 0;
}


static int
load_tls(webcfg_t *w, yaml_document_t *doc, yaml_node_t *map,
    const char *dir, char *err, size_t errlen)
{
    static const char  *auth[] = { "NoClientCert", "RequestClientCert",
        "RequireAnyClientCert", "VerifyClientCertIfGiven",
        "RequireAndVerifyClientCert" };
    yaml_node_pair_t   *pair;
    yaml_node_t        *k, *v;
    const char         *key, *val;
    char              **dst;
    int                 line, i, found;

    if (map->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s:%d: tls_server_config: expected a mapping",
                 w->file, (int) map->start_mark.line + 1);
        return -1;
    }
    w->tls = 1;
    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++)
    {
        k = yaml_document_get_node(doc, pair->key);
        v = yaml_document_get_node(doc, pair->value);
        key = scalar(k);
        val = scalar(v);
        line = (int) v->start_mark.line + 1;
        dst = NULL;
        if (strcmp(key, "cert_file") == 0) {
            dst = &w->cert_pem;
        } else if (strcmp(key, "key_file") == 0) {
            dst = &w->key_pem;
        } else if (strcmp(key, "client_ca_file") == 0) {
            dst = &w->client_ca_pem;
        } else if (strcmp(key, "client_auth_type") == 0) {
            for (i = 0, found = 0; i < 5 && !found; i++) {
                if (strcmp(val, auth[i]) == 0) {
                    w->client_auth = (web_client_auth_t) i;
                    found = 1;
                }
            }
            if (!found) {
                snprintf(err, errlen, "%s:%d: client_auth_type \"%s\": want "
                         "NoClientCert, RequestClientCert, "
                         "RequireAnyClientCert, VerifyClientCertIfGiven or "
                         "RequireAndVerifyClientCert", w->file, line, val);
                return -1;
            }
            continue;
        } else if (strcmp(key, "min_version") == 0
                   || strcmp(key, "max_version") == 0)
        {
            i = version(val);
            if (i == 0) {
                snprintf(err, errlen, "%s:%d: %s \"%s\": want TLS10, TLS11, "
                         "TLS12 or TLS13", w->file, line, key, val);
                return -1;
            }
            *(key[1] == 'i' ? &w->min_version : &w->max_version) = i;
            continue;
        } else {
            snprintf(err, errlen, "%s:%d: unknown key \"%s\" in "
                     "tls_server_config (supported: cert_file, key_file, "
                     "client_auth_type, client_ca_file, min_version, "
                     "max_version)", w->file, (int) k->start_mark.line + 1,
                     key);
            return -1;
        }
        if (val[0] == '\0') {
            snprintf(err, errlen, "%s:%d: %s: expected a file name", w->file,
                     line, key);
            return -1;
        }
        free(*dst);
        *dst = read_file(dir, val);
        if (*dst == NULL) {
            snprintf(err, errlen, "%s:%d: %s %s: %s", w->file, line, key, val,
                     strerror(errno));
            return -1;
        }
    }
    if (w->cert_pem == NULL || w->key_pem == NULL) {
        snprintf(err, errlen, "%s:%d: tls_server_config needs cert_file and "
                 "key_file", w->file, (int) map->start_mark.line + 1);
        return -1;
    }
    if (w->min_version > w->max_version) {
        snprintf(err, errlen, "%s:%d: min_version is above max_version",
                 w->file, (int) map->start_mark.line + 1);
        return -1;
    }
    /* libmicrohttpd asks clients for a certificate only when it has a
     * CA to verify them with. */
    if (w->client_auth != WEB_CLIENT_NONE && w->client_ca_pem == NULL) {
        snprintf(err, errlen, "%s:%d: client_auth_type %s needs "
                 "client_ca_file", w->file, (int) map->start_mark.line + 1,
                 auth[w->client_auth]);
        return -1;
    }
    return 0;
}


static int
load_users(webcfg_t *w, yaml_document_t *doc, yaml_node_t *map, char *err,
    size_t errlen)
{
    yaml_node_pair_t  *pair;
    yaml_node_t       *k, *v;
    size_t             n;

    if (map->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s:%d: basic_auth_users: expected a mapping "
                 "of user: bcrypt hash", w->file,
                 (int) map->start_mark.line + 1);
        return -1;
    }
    n = (size_t) (map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    w->users = calloc(n + 1, sizeof(char *));
    w->hashes = calloc(n + 1, sizeof(char *));
    if (w->users == NULL || w->hashes == NULL) {
        snprintf(err, errlen, "%s: out of memory", w->file);
        return -1;
    }
    for (pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++)
    {
        k = yaml_document_get_node(doc, pair->key);
        v = yaml_document_get_node(doc, pair->value);
        if (strncmp(scalar(v), "$2a$", 4) != 0
            && strncmp(scalar(v), "$2b$", 4) != 0
            && strncmp(scalar(v), "$2y$", 4) != 0)
        {
            snprintf(err, errlen, "%s:%d: user \"%s\": expected a bcrypt hash "
                     "($2y$...)", w->file, (int) v->start_mark.line + 1,
                     scalar(k));
            return -1;
        }
        w->users[w->nusers] = strdup(scalar(k));
        w->hashes[w->nusers] = strdup(scalar(v));
        if (w->users[w->nusers] == NULL || w->hashes[w->nusers] == NULL) {
            free(w->users[w->nusers]);
            free(w->hashes[w->nusers]);
            snprintf(err, errlen, "%s: out of memory", w->file);
            return -1;
        }
        w->nusers++;
    }
    return 0;
}


/* The bytes of dir/name (name as is when absolute), NUL-terminated. */
static char *
read_file(const char *dir, const char *name)
{
    char    path[4096], *p = NULL, *more;
    size_t  n = 0, cap = 0, r;
    FILE   *f;

    if (name[0] == '/') {
        snprintf(path, sizeof(path), "%s", name);
    } else {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            more = realloc(p, cap);
            if (more == NULL) {
                free(p);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            p = more;
        }
        r = fread(p + n, 1, 4096, f);
        n += r;
        if (r < 4096) {
            break;
        }
    }
    fclose(f);
    p[n] = '\0';
    return p;
}


static int
version(const char *s)
{
    if (strcmp(s, "TLS10") == 0) {
        return 10;
    }
    if (strcmp(s, "TLS11") == 0) {
        return 11;
    }
    if (strcmp(s, "TLS12") == 0) {
        return 12;
    }
    if (strcmp(s, "TLS13") == 0) {
        return 13;
    }
    return 0;
}


static const char *
scalar(yaml_node_t *n)
{
    return (n != NULL && n->type == YAML_SCALAR_NODE)
           ? (const char *) n->data.scalar.value : "";
}
