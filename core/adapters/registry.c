/*
 * registry.c - URL parsing and the table of adapters by URL scheme, the
 * URL options each built-in adapter reads, and URLs with their secrets
 * masked for display.
 *
 * Built-in adapters register themselves on first lookup. The table is
 * small and fixed-size; registering is meant for start-up, not for
 * concurrent use.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "earnorm/sys/adapter.h"
#include "../internal.h"
#include "../util/suggest.h"

extern const eo_adapter eo_sqlite_adapter;
extern const eo_adapter eo_postgres_adapter;
extern const eo_adapter eo_mongo_adapter;

#define MAX_ADAPTERS 16
static const eo_adapter *adapters[MAX_ADAPTERS];
static size_t nadapters;

static void builtins(void)
{
    if (nadapters == 0) {
        adapters[nadapters++] = &eo_sqlite_adapter;
        adapters[nadapters++] = &eo_postgres_adapter;
        adapters[nadapters++] = &eo_mongo_adapter;
    }
}

int eo_adapter_register(const eo_adapter *a, eo_error *err)
{
    size_t i;
    EO_ENTER();
    EO_REQUIRE(a);
    EO_REQUIRE(a->scheme);
    builtins();
    for (i = 0; i < nadapters; i++) {
        if (strcmp(adapters[i]->scheme, a->scheme) == 0) {
            adapters[i] = a;
            return EO_OK;
        }
    }
    if (nadapters == MAX_ADAPTERS)
        return eo_error_set(err, EO_ENOMEM, "too many adapters");
    adapters[nadapters++] = a;
    return EO_OK;
}

const eo_adapter *eo_adapter_find(const char *scheme)
{
    size_t i;
    if (scheme == NULL)
        return NULL;
    builtins();
    for (i = 0; i < nadapters; i++)
        if (strcmp(adapters[i]->scheme, scheme) == 0)
            return adapters[i];
    /* accepted spellings */
    if (strcmp(scheme, "postgres") == 0 || strcmp(scheme, "pgsql") == 0)
        return eo_adapter_find("postgresql");
    if (strcmp(scheme, "sqlite3") == 0)
        return eo_adapter_find("sqlite");
    return NULL;
}

eo_schema_check_fn eo_adapter__schema_check(const eo_adapter *a)
{
    if (a == &eo_sqlite_adapter)
        return eo_sqlite__schema_check;
    if (a == &eo_postgres_adapter)
        return eo_postgres__schema_check;
    if (a == &eo_mongo_adapter)
        return eo_mongo__schema_check;
    return NULL;
}

int eo_schema__digits_differ(eo_error *err, const eo_field *f, int precision, int scale)
{
    eo_error_set(err, EO_EINVAL,
                 "%s.%s: the database holds this Decimal with digits (%d, %d) but the model "
                 "declares (%d, %d), so its values would be read and written at the wrong scale: "
                 "run migrate (it rescales the stored values, or says why it cannot)",
                 f->model->name, f->name, precision, scale, f->precision, f->scale);
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}

int eo_schema__type_differs(eo_error *err, const eo_field *f, const char *held)
{
    char decl[48];
    if (eo_ftype_base(f->type) == EO_FT_DECIMAL)
        snprintf(decl, sizeof decl, "Decimal (%d, %d)", f->precision, f->scale);
    else
        snprintf(decl, sizeof decl, "%s", eo_ftype_name(f->type));
    eo_error_set(err, EO_EINVAL,
                 "%s.%s: the database holds this field as %s but the model declares %s, so its "
                 "values would be read and written wrongly; migrate does not change a field's type "
                 "(data could be lost): convert the data by hand, or declare the field as it was",
                 f->model->name, f->name, held, decl);
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}

/* The schemes, for "known: ..." in messages: "sqlite, postgresql, mongodb". */
const char *eo_adapter__schemes(char *buf, size_t cap)
{
    size_t i, used = 0;
    builtins();
    if (cap)
        buf[0] = '\0';
    for (i = 0; i < nadapters && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", adapters[i]->scheme);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* The closest scheme to a misspelled one (registered ones and spellings). */
const char *eo_adapter__closest_scheme(const char *scheme)
{
    const char *names[MAX_ADAPTERS + 3];
    size_t i, n = 0;
    builtins();
    for (i = 0; i < nadapters; i++)
        names[n++] = adapters[i]->scheme;
    names[n++] = "postgres";
    names[n++] = "sqlite3";
    return eo_suggest__closest(scheme, names, n);
}

/* ---- URL options -----------------------------------------------------
 *
 * Every option of a URL is one the pool or the adapter reads; anything
 * else is an error naming it (?timeoutt=5 is not silently ignored). The
 * built-in adapters' lists live here, beside the parser: PostgreSQL's are
 * libpq's connection keywords (PostgreSQL 15), MongoDB's the driver's URI
 * options (their case does not matter). An adapter registered by a host
 * has no list here and its options are not checked.
 */

static const char *const pool_opts[] = { "pool_min", "pool_max", "pool_timeout", "idle_timeout",
                                         "max_lifetime", NULL };
static const char *const sqlite_opts[] = { "timeout", "mode", NULL };
static const char *const pg_opts[] = {
    "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "channel_binding",
    "connect_timeout", "client_encoding", "options", "application_name",
    "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
    "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
    "requiressl", "sslcompression", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl",
    "sslcrldir", "sslsni", "requirepeer", "ssl_min_protocol_version",
    "ssl_max_protocol_version", "krbsrvname", "gsslib", "service", "target_session_attrs",
    NULL };
static const char *const mongo_opts[] = {
    "appname", "authMechanism", "authMechanismProperties", "authSource", "compressors",
    "connectTimeoutMS", "directConnection", "heartbeatFrequencyMS", "journal", "loadBalanced",
    "localThresholdMS", "maxIdleTimeMS", "maxPoolSize", "maxStalenessSeconds", "minPoolSize",
    "readConcernLevel", "readPreference", "readPreferenceTags", "replicaSet", "retryReads",
    "retryWrites", "safe", "serverSelectionTimeoutMS", "serverSelectionTryOnce",
    "socketCheckIntervalMS", "socketTimeoutMS", "srvMaxHosts", "srvServiceName", "ssl", "tls",
    "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames", "tlsCAFile",
    "tlsCertificateKeyFile", "tlsCertificateKeyFilePassword",
    "tlsDisableCertificateRevocationCheck", "tlsDisableOCSPEndpointCheck", "tlsInsecure", "w",
    "waitQueueMultiple", "waitQueueTimeoutMS", "wtimeoutMS", "zlibCompressionLevel", NULL };

static const char *const *adapter_opts(const eo_adapter *a, int *nocase)
{
    *nocase = 0;
    if (a == &eo_sqlite_adapter)
        return sqlite_opts;
    if (a == &eo_postgres_adapter)
        return pg_opts;
    if (a == &eo_mongo_adapter) {
        *nocase = 1;
        return mongo_opts;
    }
    return NULL;
}

static int in_list(const char *const *list, const char *k, int nocase)
{
    size_t i;
    for (i = 0; list && list[i]; i++)
        if (nocase ? strcasecmp(list[i], k) == 0 : strcmp(list[i], k) == 0)
            return 1;
    return 0;
}

int eo_url__check_options(const eo_url *u, const eo_adapter *a, eo_error *err)
{
    int nocase;
    const char *const *own = adapter_opts(a, &nocase);
    size_t i, j;
    if (own == NULL)
        return EO_OK;
    for (i = 0; i < u->nopts; i++) {
        const char *k = u->keys[i], *all[128], *close;
        size_t n = 0;
        if (in_list(pool_opts, k, 0) || in_list(own, k, nocase))
            continue;
        for (j = 0; pool_opts[j]; j++)
            all[n++] = pool_opts[j];
        for (j = 0; own[j] && n < 128; j++)
            all[n++] = own[j];
        close = eo_suggest__closest(k, all, n);
        if (close)
            return eo_error_set(err, EO_EINVAL,
                                "database URL: unknown option '%s' for %s (did you mean '%s'?)", k,
                                a->name, close);
        return eo_error_set(err, EO_EINVAL,
                            "database URL: unknown option '%s' for %s (it reads %s%s%s, and "
                            "pool_min, pool_max, pool_timeout, idle_timeout, max_lifetime)",
                            k, a->name, a == &eo_sqlite_adapter ? "timeout, mode" : "",
                            a == &eo_postgres_adapter ? "libpq's connection keywords" : "",
                            a == &eo_mongo_adapter ? "the driver's URI options" : "");
    }
    return EO_OK;
}

/* ---- masking ---- */

static int secret_key(const char *k, size_t n)
{
    static const char *const words[] = { "password", "passwd", "secret", "token", NULL };
    char low[64];
    size_t i;
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[n] = '\0';
    if (strcmp(low, "pwd") == 0 || strcmp(low, "pass") == 0)
        return 1;
    for (i = 0; words[i]; i++)
        if (strstr(low, words[i]))
            return 1;
    return 0;
}

/* Append s[0..n) to buf (truncating at cap). */
static void put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
    while (n-- > 0 && *o + 1 < cap)
        buf[(*o)++] = *s++;
}

char *eo_url__mask(const char *url, char *buf, size_t cap)
{
    const char *start = strstr(url, "://"), *q = strchr(url, '?'), *end = url + strlen(url);
    const char *head_end = q ? q : end, *p = url;
    size_t o = 0;
    if (cap == 0)
        return buf;
    if (start && start < head_end) {
        /* scheme://user:secret@host -> scheme://user:***@host */
        const char *auth = start + 3, *auth_end = auth, *at = NULL, *colon;
        while (auth_end < head_end && *auth_end != '/')
            auth_end++;
        for (colon = auth; colon < auth_end; colon++)
            if (*colon == '@')
                at = colon;
        colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && at > colon + 1) {
            put(buf, cap, &o, url, (size_t)(colon + 1 - url));
            put(buf, cap, &o, "***", 3);
            p = at;
        }
    }
    put(buf, cap, &o, p, (size_t)(head_end - p));
    /* ?password=secret&sslmode=x -> ?password=***&sslmode=x */
    for (p = head_end; p < end;) {
        const char *seg = p + 1, *amp = strchr(seg, '&'), *seg_end = amp ? amp : end, *eq;
        eq = memchr(seg, '=', (size_t)(seg_end - seg));
        put(buf, cap, &o, p, 1); /* '?' or '&' */
        if (eq && secret_key(seg, (size_t)(eq - seg))) {
            put(buf, cap, &o, seg, (size_t)(eq + 1 - seg));
            put(buf, cap, &o, "***", 3);
        } else {
            put(buf, cap, &o, seg, (size_t)(seg_end - seg));
        }
        p = seg_end;
    }
    buf[o] = '\0';
    return buf;
}

static int hexv(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Percent-decoded copy of s[0..n). */
static char *decode(const char *s, size_t n)
{
    char *d = eo_malloc(n + 1), *o = d;
    size_t i;
    if (d == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexv((unsigned char)s[i + 1]) >= 0 &&
            hexv((unsigned char)s[i + 2]) >= 0) {
            *o++ = (char)(hexv((unsigned char)s[i + 1]) * 16 + hexv((unsigned char)s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return d;
}

void eo_url_free(eo_url *u)
{
    size_t i;
    if (u == NULL)
        return;
    eo_free(u->user);
    eo_free(u->password);
    eo_free(u->host);
    eo_free(u->path);
    for (i = 0; i < u->nopts; i++) {
        eo_free(u->keys[i]);
        eo_free(u->vals[i]);
    }
    eo_free(u->keys);
    eo_free(u->vals);
    memset(u, 0, sizeof *u);
}

const char *eo_url_opt(const eo_url *u, const char *key)
{
    size_t i;
    if (u == NULL || key == NULL)
        return NULL;
    for (i = 0; i < u->nopts; i++)
        if (strcmp(u->keys[i], key) == 0)
            return u->vals[i];
    return NULL;
}

static int parse_opts(eo_url *u, const char *q, eo_error *err)
{
    while (*q) {
        const char *amp = strchr(q, '&'), *eq;
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        char **k, **v;
        eq = memchr(q, '=', len);
        if (len) {
            k = eo_realloc(u->keys, (u->nopts + 1) * sizeof *k);
            if (k == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            u->keys = k;
            v = eo_realloc(u->vals, (u->nopts + 1) * sizeof *v);
            if (v == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            u->vals = v;
            u->keys[u->nopts] = decode(q, eq ? (size_t)(eq - q) : len);
            u->vals[u->nopts] = eq ? decode(eq + 1, len - (size_t)(eq - q) - 1) : eo_strdup("");
            u->nopts++;
            if (u->keys[u->nopts - 1] == NULL || u->vals[u->nopts - 1] == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
        }
        q += len + (amp ? 1 : 0);
    }
    return EO_OK;
}

int eo_url_parse(eo_url *u, const char *text, eo_error *err)
{
    const char *p = text, *colon, *rest, *q;
    size_t slen;
    int rc;
    char shown[256]; /* the URL as messages show it: secrets masked */

#define SHOWN eo_url__mask(text, shown, sizeof shown)
    EO_ENTER();
    if (u == NULL)
        return eo_error__null(err, __func__, "out");
    memset(u, 0, sizeof *u);
    EO_REQUIRE(text);
    colon = strchr(text, ':');
    u->text = text;
    if (colon == NULL || colon == text)
        return eo_error_set(err, EO_EINVAL,
                            "invalid database URL '%s': expected scheme://..., like sqlite://demo.db",
                            SHOWN);
    slen = (size_t)(colon - p);
    if (slen >= sizeof u->scheme)
        return eo_error_set(err, EO_EINVAL, "invalid database URL '%s': scheme too long", SHOWN);
    memcpy(u->scheme, p, slen);
    u->scheme[slen] = '\0';
    for (p = u->scheme; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
            return eo_error_set(err, EO_EINVAL, "invalid database URL '%s': bad scheme", SHOWN);
    rest = colon + 1;
    q = strchr(rest, '?');
    if (q && (rc = parse_opts(u, q + 1, err)) != EO_OK)
        goto fail;
    if (strcmp(u->scheme, "sqlite") == 0 || strcmp(u->scheme, "sqlite3") == 0) {
        /* sqlite://relative.db, sqlite:///abs.db, sqlite::memory:, sqlite://:memory: */
        if (strncmp(rest, "//", 2) == 0)
            rest += 2;
        u->path = decode(rest, q ? (size_t)(q - rest) : strlen(rest));
        if (u->path == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto fail;
        }
        if (u->path[0] == '\0') {
            rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': no file name", SHOWN);
            goto fail;
        }
        return EO_OK;
    }
    if (strncmp(rest, "//", 2) != 0) {
        rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': expected %s://host/...",
                          SHOWN, u->scheme);
        goto fail;
    }
    rest += 2;
    {
        const char *end = q ? q : rest + strlen(rest);
        const char *slash = memchr(rest, '/', (size_t)(end - rest));
        const char *auth_end = slash ? slash : end;
        const char *at = NULL, *s, *hostp, *portp = NULL;
        for (s = rest; s < auth_end; s++)
            if (*s == '@')
                at = s;
        hostp = rest;
        if (at) {
            const char *c = memchr(rest, ':', (size_t)(at - rest));
            u->user = decode(rest, (size_t)((c ? c : at) - rest));
            if (c)
                u->password = decode(c + 1, (size_t)(at - c - 1));
            hostp = at + 1;
        }
        if (hostp < auth_end && *hostp == '[') {
            const char *rb = memchr(hostp, ']', (size_t)(auth_end - hostp));
            if (rb == NULL) {
                rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': unclosed '['", SHOWN);
                goto fail;
            }
            u->host = decode(hostp + 1, (size_t)(rb - hostp - 1));
            if (rb + 1 < auth_end && rb[1] == ':')
                portp = rb + 2;
        } else {
            const char *c = memchr(hostp, ':', (size_t)(auth_end - hostp));
            u->host = decode(hostp, (size_t)((c ? c : auth_end) - hostp));
            if (c)
                portp = c + 1;
        }
        if (portp) {
            char *pe;
            long port = strtol(portp, &pe, 10);
            if (pe != auth_end || port <= 0 || port > 65535) {
                rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': bad port", SHOWN);
                goto fail;
            }
            u->port = (int)port;
        }
        if (slash && slash + 1 < end)
            u->path = decode(slash + 1, (size_t)(end - slash - 1));
    }
    return EO_OK;
fail:
    eo_url_free(u);
    return rc;
#undef SHOWN
}
