/*
 * registry.c - URL parsing and the table of adapters by URL scheme.
 *
 * Built-in adapters register themselves on first lookup. The table is
 * small and fixed-size; registering is meant for start-up, not for
 * concurrent use.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "earnorm/sys/adapter.h"
#include "../internal.h"

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
    const char *p = text, *colon = strchr(text, ':'), *rest, *q;
    size_t slen;
    int rc;

    memset(u, 0, sizeof *u);
    u->text = text;
    if (colon == NULL || colon == text)
        return eo_error_set(err, EO_EINVAL,
                            "invalid database URL '%s': expected scheme://..., like sqlite://demo.db",
                            text);
    slen = (size_t)(colon - p);
    if (slen >= sizeof u->scheme)
        return eo_error_set(err, EO_EINVAL, "invalid database URL '%s': scheme too long", text);
    memcpy(u->scheme, p, slen);
    u->scheme[slen] = '\0';
    for (p = u->scheme; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'))
            return eo_error_set(err, EO_EINVAL, "invalid database URL '%s': bad scheme", text);
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
            rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': no file name", text);
            goto fail;
        }
        return EO_OK;
    }
    if (strncmp(rest, "//", 2) != 0) {
        rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': expected %s://host/...",
                          text, u->scheme);
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
                rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': unclosed '['", text);
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
                rc = eo_error_set(err, EO_EINVAL, "invalid database URL '%s': bad port", text);
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
}
