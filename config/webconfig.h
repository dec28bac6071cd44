/* webconfig.h - The web configuration file (--web.config.file), in the
 * format of Prometheus' exporter-toolkit:
 *
 *   tls_server_config:
 *     cert_file: server.crt          # PEM; relative to this file
 *     key_file: server.key
 *     client_auth_type: RequireAndVerifyClientCert
 *     client_ca_file: ca.crt
 *     min_version: TLS12             # TLS10 TLS11 TLS12 TLS13
 *     max_version: TLS13
 *   basic_auth_users:
 *     alice: $2y$10$...              # bcrypt
 *
 * Unknown keys and bad values are refused with "file:line: reason".
 * Ownership: webconfig_load() returns a webcfg_t that owns everything in
 * it; free it with webconfig_free().
 */

#ifndef GWLOG_WEBCONFIG_H
#define GWLOG_WEBCONFIG_H

#include <stddef.h>


/* Types */

typedef enum {
    WEB_CLIENT_NONE = 0,            /* NoClientCert (the default) */
    WEB_CLIENT_REQUEST,             /* RequestClientCert */
    WEB_CLIENT_REQUIRE_ANY,         /* RequireAnyClientCert */
    WEB_CLIENT_VERIFY_IF_GIVEN,     /* VerifyClientCertIfGiven */
    WEB_CLIENT_REQUIRE_AND_VERIFY   /* RequireAndVerifyClientCert */
} web_client_auth_t;

typedef struct {
    char               *file;           /* path it was read from */
    int                 tls;            /* tls_server_config present */
    char               *cert_pem;       /* contents of cert_file */
    char               *key_pem;        /* contents of key_file */
    char               *client_ca_pem;  /* contents of client_ca_file */
    web_client_auth_t   client_auth;
    int                 min_version;    /* 10..13; default 12 */
    int                 max_version;    /* 10..13; default 13 */
    char              **users;          /* basic_auth_users */
    char              **hashes;
    size_t              nusers;
} webcfg_t;


/* Macros */

#define WEBCFG_ERRLEN  512


/* Prototypes */

/* Loads and checks path (the certificate files are read into memory).
 * Returns NULL with "file:line: reason" in err. */
webcfg_t *webconfig_load(const char *path, char *err, size_t errlen);

/* Frees w.  webconfig_free(NULL) is a no-op. */
void webconfig_free(webcfg_t *w);

/* The GnuTLS priority string for the configured TLS versions. */
const char *webconfig_priorities(const webcfg_t *w);

/* Whether user/password match basic_auth_users (bcrypt through libcrypt).
 * A successful check is remembered (as exporter-toolkit does), since bcrypt
 * costs tens of milliseconds by design.  Thread-safe. */
int webconfig_check_password(const webcfg_t *w, const char *user,
    const char *password);

/* webconfig_check_password() in two halves, so that a server can choose
 * whether to spend a bcrypt.  The cheap half: 1 when the password is known
 * right, 0 when it is wrong (no such user, or this wrong password
 * remembered: the last 64 wrong ones are), -1 when only bcrypt can tell;
 * then *hash is a copy of the user's hash, which the caller frees.  The
 * costly half runs bcrypt and remembers the result either way; it needs
 * no webcfg_t, so it can run without the lock that guards one.  Both are
 * thread-safe. */
int webconfig_password_known(const webcfg_t *w, const char *user,
    const char *password, char **hash);
int webconfig_password_verify(const char *user, const char *hash,
    const char *password);

#endif /* GWLOG_WEBCONFIG_H */
