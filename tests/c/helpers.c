/*
 * helpers.c - fixtures shared by the cmocka tests.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int th_registry_build(eo_registry **out, eo_error *err)
{
    eo_registry *reg = NULL;
    eo_model *p = NULL, *t = NULL;
    eo_field_spec s;
    static const char *const kinds[] = { "person", "company" };
    eo_value dtrue = eo_bool(1), dperson = eo_cstr("person");
    int rc;

    *out = NULL;
    if ((rc = eo_registry_new(&reg, err)) != EO_OK)
        return rc;
    if ((rc = eo_registry_add_model(&p, reg, "res.partner", err)) != EO_OK ||
        (rc = eo_registry_add_model(&t, reg, "res.tag", err)) != EO_OK)
        goto done;

#define F(...)                                                                       \
    do {                                                                             \
        memset(&s, 0, sizeof s);                                                     \
        __VA_ARGS__;                                                                 \
        if ((rc = eo_model_add_field(NULL, p, &s, err)) != EO_OK)                    \
            goto done;                                                               \
    } while (0)
    F(s.name = "name"; s.type = EO_FT_CHAR; s.flags = EO_FF_REQUIRED | EO_FF_INDEX; s.size = 32);
    F(s.name = "email"; s.type = EO_FT_CHAR; s.flags = EO_FF_UNIQUE);
    F(s.name = "age"; s.type = EO_FT_INTEGER; s.flags = EO_FF_HAS_MIN | EO_FF_HAS_MAX; s.min = 0; s.max = 150);
    F(s.name = "score"; s.type = EO_FT_FLOAT);
    F(s.name = "active"; s.type = EO_FT_BOOLEAN; s.def = &dtrue);
    F(s.name = "birthday"; s.type = EO_FT_DATE);
    F(s.name = "seen_at"; s.type = EO_FT_DATETIME);
    F(s.name = "kind"; s.type = EO_FT_SELECTION; s.choices = kinds; s.nchoices = 2; s.def = &dperson);
    F(s.name = "data"; s.type = EO_FT_JSON);
    F(s.name = "price"; s.type = EO_FT_DECIMAL; s.precision = 12; s.scale = 2);
    F(s.name = "blob"; s.type = EO_FT_BINARY);
    F(s.name = "parent_id"; s.type = EO_FT_MANY2ONE; s.comodel = "res.partner");
#undef F
    memset(&s, 0, sizeof s);
    s.name = "name";
    s.type = EO_FT_CHAR;
    if ((rc = eo_model_add_field(NULL, t, &s, err)) != EO_OK)
        goto done;
    if ((rc = eo_registry_resolve(reg, err)) != EO_OK)
        goto done;
    *out = reg;
    reg = NULL;
done:
    eo_registry_free(reg);
    return rc;
}

eo_registry *th_registry(void)
{
    eo_registry *reg = NULL;
    eo_error err;
    if (th_registry_build(&reg, &err) != EO_OK)
        fail_msg("fixture: %s", err.msg);
    return reg;
}

eo_model *th_partner(eo_registry *reg)
{
    return eo_registry_find(reg, "res.partner");
}

const eo_field *th_field(const eo_model *m, const char *name)
{
    const eo_field *f = eo_model_field(m, name, strlen(name));
    if (f == NULL)
        fail_msg("fixture: %s has no field %s", m->name, name);
    return f;
}

char *th_norm(const eo_model *m, const char *json)
{
    eo_domain *d = NULL;
    eo_error err;
    char *s = NULL;
    if (eo_domain_from_json(&d, json, strlen(json), &err) != EO_OK)
        fail_msg("parse %s: %s", json, err.msg);
    if (eo_domain_bind(d, m, &err) != EO_OK) {
        eo_domain_free(d);
        fail_msg("bind %s: %s", json, err.msg);
    }
    if (eo_domain_to_string(&s, d, &err) != EO_OK) {
        eo_domain_free(d);
        fail_msg("to_string %s: %s", json, err.msg);
    }
    eo_domain_free(d);
    return s;
}

void th_tmpdir(char *buf, size_t cap)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/earnorm-test-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(buf) == NULL)
        fail_msg("mkdtemp %s failed", buf);
}

void th_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[4096];
    struct stat st;
    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            th_rmtree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

void th_write_file(char *out, size_t cap, const char *dir, const char *name, const char *text)
{
    FILE *f;
    snprintf(out, cap, "%s/%s", dir, name);
    f = fopen(out, "w");
    if (f == NULL)
        fail_msg("cannot write %s", out);
    fputs(text, f);
    fclose(f);
}

/* ---- servers, time, processes ------------------------------------- */

const char *th_pg_url(void)
{
    const char *url = getenv("EARNORM_TEST_PG_URL");
    if (url == NULL || *url == '\0')
        fail_msg("EARNORM_TEST_PG_URL is not set: start the test services "
                 "(scripts/services.sh start pg, then source its env.sh) or run make test");
    return url;
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void th_pg_exec(const char *url, const char *sql, char *out, size_t cap)
{
    PGconn *pg;
    PGresult *res;
    ExecStatusType st;
    char what[600];
    /* libpq wants postgresql://...; our URLs are exactly that */
    pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(what, sizeof what, "%s", PQerrorMessage(pg));
        PQfinish(pg);
        fail_msg("th_pg_exec: cannot connect to %s: %s", url, what);
    }
    PQsetNoticeProcessor(pg, quiet_notice, NULL); /* "does not exist, skipping" */
    res = PQexec(pg, sql);
    st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(what, sizeof what, "%s", PQerrorMessage(pg));
        PQclear(res);
        PQfinish(pg);
        fail_msg("th_pg_exec: %s: %s", sql, what);
    }
    if (out && cap) {
        out[0] = '\0';
        if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0)
            snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    PQfinish(pg);
}

eo_registry *th_registry_simple(const char *name)
{
    eo_registry *reg = NULL;
    eo_model *m = NULL;
    eo_field_spec s;
    eo_error err;
    if (eo_registry_new(&reg, &err) != EO_OK || eo_registry_add_model(&m, reg, name, &err) != EO_OK)
        fail_msg("fixture: %s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "tag";
    s.type = EO_FT_CHAR;
    s.size = 32;
    s.flags = EO_FF_INDEX;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK)
        fail_msg("fixture: %s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "seq";
    s.type = EO_FT_INTEGER;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK)
        fail_msg("fixture: %s", err.msg);
    memset(&s, 0, sizeof s);
    s.name = "val";
    s.type = EO_FT_INTEGER;
    if (eo_model_add_field(NULL, m, &s, &err) != EO_OK || eo_registry_resolve(reg, &err) != EO_OK)
        fail_msg("fixture: %s", err.msg);
    return reg;
}

int th_simple_row(void *payload, size_t i, eo_kv *out, size_t cap, size_t *n, eo_error *err)
{
    const th_simple_src *s = payload;
    if (cap < 3)
        return eo_error_set(err, EO_EINVAL, "test: the model has fewer than 3 fields");
    out[0].field = eo_model_field(s->m, "tag", 3);
    out[0].value = eo_cstr(s->tag);
    out[1].field = eo_model_field(s->m, "seq", 3);
    out[1].value = eo_int(s->base + (int64_t)i);
    out[2].field = eo_model_field(s->m, "val", 3);
    out[2].value = eo_int(1);
    *n = 3;
    return EO_OK;
}

double th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void th_sleep_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int th_closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        fail_msg("th_closed_port: %s", strerror(errno));
    port = ntohs(a.sin_port);
    close(s); /* bound but never listening: connects are refused */
    return port;
}

int th_system(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}
