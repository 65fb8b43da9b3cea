/*
 * postgres.c - the PostgreSQL adapter (libpq).
 *
 * One PGconn per connection, a cache of server-side prepared statements
 * keyed by SQL text (bounded, least recently used deallocated), every value
 * a text parameter (bytea in binary). Sessions are set to UTC and ISO dates
 * at connect, so timestamptz reads back as "YYYY-MM-DD HH:MM:SS".
 *
 * Types: Json is jsonb, Decimal numeric(p, s), Datetime timestamptz,
 * Binary bytea, Boolean boolean, ids bigserial. Bulk create reserves ids
 * from the table's sequence in one query and sends the rows with COPY;
 * small batches use one multi-row INSERT ... RETURNING.
 *
 * Errors map by SQLSTATE: 23505 unique -> EO_ECONFLICT naming the field,
 * 40001/40P01 (serialization, deadlock) and 55P03 -> EO_EBUSY (try again),
 * class 22 (data) -> EO_EINVAL, 23502/23503/23514 -> EO_EVALIDATE, 57014
 * -> EO_ETIMEOUT, classes 53 (resources: disk full...) and 54 (program
 * limits) -> EO_ELIMIT (53200 EO_ENOMEM, 53300 EO_EBUSY), 25006 and 0A000
 * -> EO_ENOTSUP, 42P01/42703 -> EO_ENOTFOUND (run migrate), class 08 and a
 * lost connection -> EO_ECONN with the connection marked broken.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "earnorm/sys/adapter.h"
#include "../internal.h"
#include "../query/sql.h"
#include "../util/number.h"

extern const eo_adapter eo_postgres_adapter;

#define CACHE_MAX 256
#define COPY_MIN 16      /* batches this big go through COPY */
#define SPARE_MAX 100000 /* ids reserved at once for a create's later chunks */

typedef struct pstmt {
    char *sql;
    char name[24];
    uint64_t used;
} pstmt;

typedef struct pg_conn {
    eo_conn base;
    PGconn *pg;
    pstmt cache[CACHE_MAX];
    size_t ncache;
    uint64_t clock, serial;
    /* a COPY sent inside a transaction whose result is not read yet: its
     * model (errors name its fields), NULL when none (see settle) */
    const eo_model *copy_model;
    /* ids reserved for the chunks of a create still to come (insert_more):
     * spare[spare_at..nspare) of spare_model's sequence; dropped at the
     * transaction's end */
    const eo_model *spare_model;
    eo_id *spare;
    size_t spare_at, nspare;
    uint64_t txn_gen;     /* bumped when a transaction or savepoint is rolled back or
                             ends: cursors declared before are gone (cursor close) */
} pg_conn;

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs (IF NOT EXISTS ...) are not errors */
}

static int conn_error(pg_conn *c, eo_error *err, const char *what)
{
    c->base.broken = 1;
    eo_error_set(err, EO_ECONN, "postgresql: %s: %s", what,
                 c->pg ? PQerrorMessage(c->pg) : "no connection");
    eo_error__native(err, EO_DOMAIN_PG, 0);
    return EO_ECONN;
}

/* The field of m whose unique index is named `constraint`. */
static const eo_field *field_of_index(const eo_model *m, const char *constraint)
{
    size_t i;
    char name[200];
    if (m == NULL || constraint == NULL)
        return NULL;
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        if (f->column == NULL)
            continue;
        snprintf(name, sizeof name, "%s__%s_uniq", m->table, f->column);
        if (strcmp(name, constraint) == 0)
            return f;
    }
    return NULL;
}

/* Map a failed result to an eo_error; `m` names fields when known. */
static int result_error(pg_conn *c, PGresult *res, const eo_model *m, eo_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = "";
    int code = EO_ERROR;
    char *nl;

    if (PQstatus(c->pg) == CONNECTION_BAD || state == NULL ||
        (state[0] == '0' && state[1] == '8') || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0) {
        if (PQstatus(c->pg) == CONNECTION_BAD || state != NULL)
            return conn_error(c, err, "connection lost");
    }
    if (msg == NULL)
        msg = PQerrorMessage(c->pg);
    if (strcmp(state, "23505") == 0 &&
        eo_model__index_named(m, PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME)) != NULL) {
        /* DETAIL: Key (a, b)=(x, 3) already exists. */
        const eo_model_index *ix =
            eo_model__index_named(m, PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME));
        const char *k = detail ? strstr(detail, "Key (") : NULL;
        const char *v = k ? strstr(k, ")=(") : NULL;
        const char *e = v ? strstr(v + 3, ") already exists") : NULL;
        char rec[300];
        rec[0] = '\0';
        if (k && v && e)
            snprintf(rec, sizeof rec, "%.*s = %.*s", (int)(v - k - 5 > 120 ? 120 : v - k - 5), k + 5,
                     (int)(e - v - 3 > 120 ? 120 : e - v - 3), v + 3);
        eo_model__index_conflict(err, m, ix, rec);
        eo_error__native(err, EO_DOMAIN_PG, 23505);
        return EO_ECONFLICT;
    }
    if (strcmp(state, "23503") == 0 && m != NULL && detail != NULL &&
        strstr(detail, "is not present in table") != NULL) {
        /* a row of m points to a missing record: name the Many2one (its key
         * is <table>__<column>_fkey; DETAIL: Key (country_id)=(42) is not
         * present in table "rel_country".) */
        const char *cname = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
        const char *v = strstr(detail, ")=(");
        const char *e = v ? strstr(v + 3, ") is not present") : NULL;
        size_t tl = strlen(m->table), i;
        for (i = 1; cname && v && e && i < m->nfields; i++) {
            const eo_field *f = m->fields[i];
            size_t cl = strlen(f->column);
            if (f->type != EO_FT_MANY2ONE || strncmp(cname, m->table, tl) != 0 ||
                strncmp(cname + tl, "__", 2) != 0 || strncmp(cname + tl + 2, f->column, cl) != 0 ||
                strcmp(cname + tl + 2 + cl, "_fkey") != 0)
                continue;
            eo_error_set(err, EO_EVALIDATE, "%s.%s: %s(%.*s) does not exist", m->name, f->name,
                         f->comodel_name, (int)(e - v - 3 > 80 ? 80 : e - v - 3), v + 3);
            eo_error_where(err, m->name, f->name);
            eo_error__native(err, EO_DOMAIN_PG, (int)strtol(state, NULL, 36));
            return EO_EVALIDATE;
        }
    }
    if (strcmp(state, "23505") == 0) {
        const eo_field *f = field_of_index(m, PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME));
        if (f != NULL) {
            /* DETAIL: Key (email)=(ann@x) already exists. */
            const char *v = detail ? strstr(detail, ")=(") : NULL;
            const char *e = v ? strstr(v + 3, ") already exists") : NULL;
            if (v && e)
                eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value '%.*s': it must be unique",
                             m->name, f->name, (int)(e - v - 3 > 80 ? 80 : e - v - 3), v + 3);
            else
                eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value: it must be unique",
                             m->name, f->name);
            eo_error_where(err, m->name, f->name);
            eo_error__native(err, EO_DOMAIN_PG, 23505);
            return EO_ECONFLICT;
        }
        code = EO_ECONFLICT;
    } else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        code = EO_EBUSY; /* serialization failure, deadlock: run it again */
    } else if (strcmp(state, "23502") == 0 || strcmp(state, "23503") == 0 ||
               strcmp(state, "23514") == 0) {
        code = EO_EVALIDATE;
    } else if (state[0] == '2' && state[1] == '2') {
        code = EO_EINVAL;
    } else if (strcmp(state, "55P03") == 0) {
        code = EO_EBUSY;
    } else if (strcmp(state, "57014") == 0) {
        code = EO_ETIMEOUT;
        hint = ": the statement was canceled (statement_timeout, or a cancel request)";
    } else if (strcmp(state, "25P02") == 0) {
        code = EO_ETXNSTATE;
    } else if (strcmp(state, "25006") == 0) {
        code = EO_ENOTSUP;
        hint = ": the server takes no writes here (a standby, or default_transaction_read_only)";
    } else if (strcmp(state, "53200") == 0) {
        code = EO_ENOMEM;
    } else if (strcmp(state, "53300") == 0) {
        code = EO_EBUSY;
        hint = ": the server has no free connection slot; lower the pool's max or raise "
               "max_connections";
    } else if (strcmp(state, "53100") == 0) {
        code = EO_ELIMIT;
        hint = ": the database server's disk is full; free space there, then try again";
    } else if (state[0] == '5' && state[1] == '3') {
        code = EO_ELIMIT; /* insufficient resources: a server setting */
        hint = ": the server ran out of a resource its configuration limits";
    } else if (state[0] == '5' && state[1] == '4') {
        code = EO_ELIMIT; /* program_limit_exceeded */
        hint = ": past a PostgreSQL limit (a value, row, index entry or statement too large)";
    } else if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0) {
        code = EO_ENOTFOUND;
        hint = " (the database is older than the models: run migrate)";
    } else if (strcmp(state, "0A000") == 0) {
        code = EO_ENOTSUP;
    }
    eo_error_set(err, code, "postgresql: %s%s%s (SQLSTATE %s)%s", msg, detail ? ": " : "",
                 detail ? detail : "", state, hint);
    if (err && (nl = strchr(err->msg, '\n')) != NULL)
        *nl = ' ';
    eo_error__native(err, EO_DOMAIN_PG, (int)strtol(state, NULL, 36));
    if (m)
        eo_error_where(err, m->name, NULL);
    return code;
}

/*
 * Read the result of the COPY left in flight (copy_rows): the server
 * checked its rows while the engine prepared the next chunk. Every
 * statement on the connection settles first, so its error comes back to
 * the operation that sent it (create, which flushes before it commits).
 */
static int settle(pg_conn *c, eo_error *err)
{
    const eo_model *m = c->copy_model;
    PGresult *res;
    int rc = EO_OK;
    if (m == NULL)
        return EO_OK;
    c->copy_model = NULL;
    res = PQgetResult(c->pg);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = result_error(c, res, m, err);
    PQclear(res);
    /* drain: libpq returns NULL when the command is over */
    while ((res = PQgetResult(c->pg)) != NULL)
        PQclear(res);
    return rc;
}

static int pg_flush(eo_conn *base, eo_error *err)
{
    return settle((pg_conn *)base, err);
}

static int simple(pg_conn *c, const char *sql, eo_qkind kind, eo_error *err)
{
    uint64_t t0;
    PGresult *res;
    int rc = settle(c, err);
    ExecStatusType st;
    if (kind == EO_Q_TXN)
        c->spare_model = NULL; /* spare ids serve the create that reserved them */
    if (rc != EO_OK)
        return rc;
    t0 = eo_clock__ns();
    res = PQexec(c->pg, sql);
    st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = result_error(c, res, NULL, err);
    PQclear(res);
    eo_conn_trace(&c->base, kind, sql, NULL, 0, eo_clock__ns() - t0, -1);
    return rc;
}

static const char *const OWN_OPTS[] = { "pool_min", "pool_max", "pool_timeout", "idle_timeout",
                                        "max_lifetime", NULL };

static int pg_open(eo_conn **out, const eo_url *url, eo_error *err)
{
    const char *keys[32], *vals[32];
    char port[16];
    size_t n = 0, i, k;
    pg_conn *c;
    int rc;

    *out = NULL;
    c = eo_calloc(1, sizeof *c);
    if (c == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory opening %s", url->text);
    c->base.adapter = &eo_postgres_adapter;
    if (url->host && *url->host) {
        keys[n] = "host";
        vals[n++] = url->host;
    }
    if (url->port) {
        snprintf(port, sizeof port, "%d", url->port);
        keys[n] = "port";
        vals[n++] = port;
    }
    if (url->user) {
        keys[n] = "user";
        vals[n++] = url->user;
    }
    if (url->password) {
        keys[n] = "password";
        vals[n++] = url->password;
    }
    if (url->path && *url->path) {
        keys[n] = "dbname";
        vals[n++] = url->path;
    }
    for (i = 0; i < url->nopts && n < 28; i++) {
        int ours = 0;
        for (k = 0; OWN_OPTS[k]; k++)
            if (strcmp(OWN_OPTS[k], url->keys[i]) == 0)
                ours = 1;
        if (!ours) {
            keys[n] = url->keys[i];
            vals[n++] = url->vals[i];
        }
    }
    if (eo_url_opt(url, "connect_timeout") == NULL) {
        keys[n] = "connect_timeout";
        vals[n++] = "10";
    }
    keys[n] = "application_name";
    vals[n++] = "earnorm";
    keys[n] = NULL;
    vals[n] = NULL;
    c->pg = PQconnectdbParams(keys, vals, 0);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        const char *m = c->pg ? PQerrorMessage(c->pg) : "out of memory";
        char *nl;
        eo_error_set(err, EO_ECONN, "postgresql: cannot connect to %s:%s: %s",
                     url->host ? url->host : "localhost", url->port ? port : "5432", m);
        if (err && (nl = strchr(err->msg, '\n')) != NULL)
            *nl = '\0';
        eo_error__native(err, EO_DOMAIN_PG, 0);
        PQfinish(c->pg);
        eo_free(c);
        return EO_ECONN;
    }
    PQsetNoticeProcessor(c->pg, quiet, NULL);
    {
        /* env:capabilities().server: "PostgreSQL 15.5" (docs/backends.md) */
        const char *v = PQparameterStatus(c->pg, "server_version");
        snprintf(c->base.server, sizeof c->base.server, "PostgreSQL %.*s",
                 v ? (int)strcspn(v, " ") : 1, v ? v : "?");
    }
    if ((rc = simple(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; "
                        "SET client_min_messages = warning; SET extra_float_digits = 3",
                     EO_Q_OTHER, err)) != EO_OK) {
        PQfinish(c->pg);
        eo_free(c);
        return rc;
    }
    *out = &c->base;
    return EO_OK;
}

static void pg_close(eo_conn *base)
{
    pg_conn *c = (pg_conn *)base;
    size_t i;
    if (c == NULL)
        return;
    for (i = 0; i < c->ncache; i++)
        eo_free(c->cache[i].sql);
    eo_free(c->spare);
    PQfinish(c->pg);
    eo_free(c);
}

/* The prepared statement for sql, preparing it (and evicting) as needed. */
static int prepare(pg_conn *c, const char *sql, int nparams, const Oid *types,
                   const char **name, eo_error *err)
{
    size_t i, victim = 0;
    PGresult *res;
    for (i = 0; i < c->ncache; i++) {
        if (strcmp(c->cache[i].sql, sql) == 0) {
            c->cache[i].used = ++c->clock;
            *name = c->cache[i].name;
            return EO_OK;
        }
    }
    if (c->ncache == CACHE_MAX) {
        char dealloc[48];
        for (i = 1; i < c->ncache; i++)
            if (c->cache[i].used < c->cache[victim].used)
                victim = i;
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", c->cache[victim].name);
        res = PQexec(c->pg, dealloc);
        PQclear(res);
        eo_free(c->cache[victim].sql);
        i = victim;
    } else {
        i = c->ncache++;
    }
    snprintf(c->cache[i].name, sizeof c->cache[i].name, "eo_%llu",
             (unsigned long long)++c->serial);
    c->cache[i].sql = eo_strdup(sql);
    if (c->cache[i].sql == NULL) {
        c->cache[i] = c->cache[--c->ncache];
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    c->cache[i].used = ++c->clock;
    res = PQprepare(c->pg, c->cache[i].name, sql, nparams, types);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = result_error(c, res, NULL, err);
        PQclear(res);
        eo_free(c->cache[i].sql);
        c->cache[i] = c->cache[--c->ncache];
        return rc;
    }
    PQclear(res);
    *name = c->cache[i].name;
    return EO_OK;
}

/* ---- values ---- */

typedef char numbuf[64];

/* A parameter as libpq text (or binary for bytea). */
static void param_text(const eo_value *v, numbuf buf, const char **val, int *len, int *fmt)
{
    *fmt = 0;
    *len = 0;
    switch (v->type) {
    case EO_VNULL: *val = NULL; return;
    case EO_VBOOL: *val = v->u.b ? "true" : "false"; return;
    case EO_VINT:
        snprintf(buf, sizeof(numbuf), "%lld", (long long)v->u.i);
        *val = buf;
        return;
    case EO_VFLOAT:
        snprintf(buf, sizeof(numbuf), "%.17g", v->u.f);
        *val = buf;
        return;
    case EO_VTEXT: *val = v->u.s.p; return; /* NUL-terminated: borrowed Lua strings and arena text are */
    case EO_VBLOB:
        *val = v->u.s.p;
        *len = (int)v->u.s.n;
        *fmt = 1;
        return;
    }
}

static const char *strip_tz(const char *s, size_t *n)
{
    /* "2024-01-02 03:04:05.123+00" -> without "+00" */
    size_t len = strlen(s);
    if (len > 3 && (s[len - 3] == '+' || s[len - 3] == '-') && len >= 22)
        len -= 3;
    *n = len;
    return s;
}

typedef struct cell {
    numbuf buf;
    unsigned char *bytes; /* PQunescapeBytea result to PQfreemem */
} cell;

/* One column of a result, as the canonical value of field f (f NULL: by type OID). */
static eo_value cell_value(PGresult *res, int row, int col, const eo_field *f, cell *cl)
{
    const char *s;
    size_t n;
    if (PQgetisnull(res, row, col))
        return eo_null();
    s = PQgetvalue(res, row, col);
    if (f == NULL) {
        Oid t = PQftype(res, col);
        if (t == 20 || t == 21 || t == 23) /* int8, int2, int4 */
            return eo_int(eo_number__int(s, (size_t)PQgetlength(res, row, col)));
        if (t == 700 || t == 701 || t == 1700) /* float4, float8, numeric */
            return eo_float(eo_number__float(s, (size_t)PQgetlength(res, row, col)));
        if (t == 16)
            return eo_bool(s[0] == 't');
        return eo_text(s, (size_t)PQgetlength(res, row, col));
    }
    switch (eo_ftype_base(f->type)) {
    case EO_FT_ID:
    case EO_FT_INTEGER:
    case EO_FT_MANY2ONE: return eo_int(eo_number__int(s, (size_t)PQgetlength(res, row, col)));
    case EO_FT_FLOAT: return eo_float(eo_number__float(s, (size_t)PQgetlength(res, row, col)));
    case EO_FT_BOOLEAN: return eo_bool(s[0] == 't');
    case EO_FT_DATETIME: {
        const char *dot;
        s = strip_tz(s, &n);
        dot = memchr(s, '.', n);
        if (dot && n - (size_t)(dot - s) < 7 && n + 6 < sizeof cl->buf) {
            /* PostgreSQL trims the fraction ("…:58.49"): canonical text has six digits */
            size_t digits = n - (size_t)(dot - s) - 1;
            memcpy(cl->buf, s, n);
            memset(cl->buf + n, '0', 6 - digits);
            cl->buf[n + 6 - digits] = '\0';
            return eo_text(cl->buf, n + 6 - digits);
        }
        return eo_text(s, n);
    }
    case EO_FT_BINARY: {
        size_t blen = 0;
        cl->bytes = PQunescapeBytea((const unsigned char *)s, &blen);
        return eo_blob(cl->bytes ? (const char *)cl->bytes : "", blen);
    }
    default: return eo_text(s, (size_t)PQgetlength(res, row, col));
    }
}

/* Run a compiled query with its parameters, stream rows to fn. */
static int run(pg_conn *c, const eo_sqlq *q, eo_qkind kind, const eo_model *m,
               const eo_field *const *fields, size_t ncols, eo_row_fn fn, void *payload,
               int64_t *changes, eo_error *err)
{
    size_t np = q->params.len, i;
    const char **vals = NULL, *name = NULL; /* set by prepare(); gcc -O2 cannot tell */
    int *lens = NULL, *fmts = NULL;
    numbuf *bufs = NULL;
    eo_value *row = NULL, *tp = NULL;
    cell *cells = NULL;
    PGresult *res = NULL;
    uint64_t t0 = eo_clock__ns();
    int64_t nrows = -1;
    int rc, r, nr;

    if ((rc = settle(c, err)) != EO_OK)
        return rc;
    vals = eo_calloc(np ? np : 1, sizeof *vals);
    lens = eo_calloc(np ? np : 1, sizeof *lens);
    fmts = eo_calloc(np ? np : 1, sizeof *fmts);
    bufs = eo_calloc(np ? np : 1, sizeof *bufs);
    tp = eo_calloc(np ? np : 1, sizeof *tp);
    if (ncols) {
        row = eo_calloc(ncols, sizeof *row);
        cells = eo_calloc(ncols, sizeof *cells);
    }
    if (!vals || !lens || !fmts || !bufs || !tp || (ncols && (!row || !cells))) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < np; i++) {
        const eo_sqlparam *p = eo_vec__at(&q->params, i);
        tp[i] = p->v;
        param_text(&p->v, bufs[i], &vals[i], &lens[i], &fmts[i]);
    }
    if ((rc = prepare(c, q->sql.p, (int)np, NULL, &name, err)) != EO_OK)
        goto done;
    res = PQexecPrepared(c->pg, name, (int)np, vals, lens, fmts, 0);
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        nr = PQntuples(res);
        nrows = nr;
        for (r = 0; r < nr && fn; r++) {
            for (i = 0; i < ncols; i++) {
                cells[i].bytes = NULL;
                row[i] = cell_value(res, r, (int)i, fields ? fields[i] : NULL, &cells[i]);
            }
            rc = fn(payload, row, ncols, err);
            for (i = 0; i < ncols; i++)
                if (cells[i].bytes)
                    PQfreemem(cells[i].bytes);
            if (rc != EO_OK)
                goto done;
        }
        break;
    case PGRES_COMMAND_OK:
        nrows = strtoll(PQcmdTuples(res), NULL, 10);
        if (changes)
            *changes = nrows;
        break;
    default:
        rc = result_error(c, res, m, err);
        goto done;
    }
done:
    PQclear(res);
    eo_conn_trace(&c->base, kind, q->sql.p ? q->sql.p : "", tp, np, eo_clock__ns() - t0, nrows);
    eo_free(vals);
    eo_free(lens);
    eo_free(fmts);
    eo_free(bufs);
    eo_free(tp);
    eo_free(row);
    eo_free(cells);
    return rc;
}

static int pg_select(eo_conn *base, const eo_query *qr, eo_row_fn fn, void *payload, eo_error *err)
{
    eo_sqlq q;
    int rc;
    eo_sqlq__init(&q, &eo_sql__postgres);
    if ((rc = eo_sql__select(&q, qr, err)) == EO_OK)
        rc = run((pg_conn *)base, &q, EO_Q_SELECT, qr->model, qr->fields, qr->nfields, fn, payload,
                 NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

static int count_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    (void)ncols;
    (void)err;
    *(int64_t *)payload = row[0].type == EO_VINT ? row[0].u.i : 0;
    return EO_OK;
}

static int pg_count(eo_conn *base, const eo_query *qr, int64_t *out, eo_error *err)
{
    eo_sqlq q;
    int rc;
    *out = 0;
    eo_sqlq__init(&q, &eo_sql__postgres);
    if ((rc = eo_sql__count(&q, qr, err)) == EO_OK)
        rc = run((pg_conn *)base, &q, EO_Q_SELECT, qr->model, NULL, 1, count_row, out, NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

/* ---- inserts ---- */

typedef struct ids_ctx {
    eo_id *out;
    size_t n, cap;
} ids_ctx;

/*
 * The ids reserved, as one row: min, max, count, and only when they are
 * not the whole range min..max (another session took ids meanwhile) the
 * array of them. One row either way, not one per id.
 */
static int range_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    ids_ctx *c = payload;
    int64_t lo, hi, k, v;
    (void)ncols;
    if (row[0].type != EO_VINT || row[1].type != EO_VINT || row[2].type != EO_VINT)
        return eo_error_set(err, EO_ERROR, "postgresql: no ids reserved");
    lo = row[0].u.i;
    hi = row[1].u.i;
    k = row[2].u.i;
    if (k < 0 || (size_t)k > c->cap - c->n)
        return eo_error_set(err, EO_ERROR, "postgresql: %lld ids reserved for %zu", (long long)k,
                            c->cap - c->n);
    if (hi - lo + 1 == k) {
        for (v = lo; v <= hi; v++)
            c->out[c->n++] = eo_id_num(v);
        return EO_OK;
    }
    if (row[3].type == EO_VTEXT) { /* {3,4,9,...} */
        const char *p = row[3].u.s.p, *e = p + row[3].u.s.n;
        while (p < e && c->n < c->cap) {
            char *end;
            if (*p == '{' || *p == ',' || *p == '}') {
                p++;
                continue;
            }
            v = strtoll(p, &end, 10);
            if (end == p)
                break;
            c->out[c->n++] = eo_id_num(v);
            p = end;
        }
    }
    return EO_OK;
}

static int id_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    ids_ctx *c = payload;
    (void)ncols;
    if (c->n >= c->cap || row[0].type != EO_VINT)
        return eo_error_set(err, EO_ERROR, "postgresql: unexpected id row");
    c->out[c->n++] = eo_id_num(row[0].u.i);
    return EO_OK;
}

/* Append a COPY text-format field. */
static void copy_field(eo_buf *b, const eo_value *v, const eo_field *f)
{
    size_t i;
    char num[64];
    switch (v->type) {
    case EO_VNULL: eo_buf__puts(b, "\\N"); return;
    case EO_VBOOL: eo_buf__putc(b, v->u.b ? 't' : 'f'); return;
    case EO_VINT: eo_buf__put_int(b, (int64_t)v->u.i); return;
    case EO_VFLOAT:
        snprintf(num, sizeof num, "%.17g", v->u.f);
        eo_buf__puts(b, num);
        return;
    case EO_VBLOB: {
        static const char hex[] = "0123456789abcdef";
        eo_buf__puts(b, "\\\\x");
        for (i = 0; i < v->u.s.n; i++) {
            unsigned char ch = (unsigned char)v->u.s.p[i];
            eo_buf__putc(b, hex[ch >> 4]);
            eo_buf__putc(b, hex[ch & 15]);
        }
        return;
    }
    case EO_VTEXT:
        (void)f;
        for (i = 0; i < v->u.s.n; i++) {
            char ch = v->u.s.p[i];
            switch (ch) {
            case '\\': eo_buf__puts(b, "\\\\"); break;
            case '\t': eo_buf__puts(b, "\\t"); break;
            case '\n': eo_buf__puts(b, "\\n"); break;
            case '\r': eo_buf__puts(b, "\\r"); break;
            default: eo_buf__putc(b, ch); break;
            }
        }
        return;
    }
}

/*
 * COPY in binary format when every column is one whose binary form is
 * plain (bigint, double precision, boolean, varchar / text, bytea) and
 * every value has its column's type: no numbers printed and parsed again,
 * no text escaped. Anything else (dates, numeric, jsonb) goes as text.
 */
enum { BIN_NO = 0, BIN_INT8, BIN_FLOAT8, BIN_BOOL, BIN_TEXT, BIN_BYTEA };

static int bin_kind(const eo_field *f)
{
    switch (eo_ftype_base(f->type)) {
    case EO_FT_INTEGER:
    case EO_FT_MANY2ONE: return BIN_INT8;
    case EO_FT_FLOAT: return BIN_FLOAT8;
    case EO_FT_BOOLEAN: return BIN_BOOL;
    case EO_FT_CHAR:
    case EO_FT_SELECTION:
    case EO_FT_TEXT: return BIN_TEXT;
    case EO_FT_BINARY: return BIN_BYTEA;
    default: return BIN_NO;
    }
}

static int copy_binary_ok(const eo_field *const *cols, size_t ncols, const eo_value *vals,
                          size_t nrows)
{
    size_t r, i;
    for (i = 0; i < ncols; i++)
        if (bin_kind(cols[i]) == BIN_NO)
            return 0;
    for (r = 0; r < nrows; r++) {
        for (i = 0; i < ncols; i++) {
            const eo_value *v = &vals[r * ncols + i];
            int ok;
            switch (bin_kind(cols[i])) {
            case BIN_INT8: ok = v->type == EO_VINT; break;
            case BIN_FLOAT8: ok = v->type == EO_VFLOAT || v->type == EO_VINT; break;
            case BIN_BOOL: ok = v->type == EO_VBOOL; break;
            case BIN_TEXT: ok = v->type == EO_VTEXT && v->u.s.n <= 0x7fffffff; break;
            case BIN_BYTEA: ok = v->type == EO_VBLOB && v->u.s.n <= 0x7fffffff; break;
            default: ok = 0; break;
            }
            if (!ok && v->type != EO_VNULL)
                return 0;
        }
    }
    return 1;
}

static unsigned char *be16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
    return p + 2;
}

static unsigned char *be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

static unsigned char *be64(unsigned char *p, uint64_t v)
{
    p = be32(p, (uint32_t)(v >> 32));
    return be32(p, (uint32_t)v);
}

/* One row of a binary COPY: the id, then the columns. */
static int copy_row_binary(eo_buf *b, int64_t id, const eo_field *const *cols, size_t ncols,
                           const eo_value *row)
{
    size_t need = 2 + 12, i;
    unsigned char *p;
    for (i = 0; i < ncols; i++)
        need += 4 + ((row[i].type == EO_VTEXT || row[i].type == EO_VBLOB) ? row[i].u.s.n : 8);
    if (eo_buf__grow(b, need) != EO_OK)
        return EO_ENOMEM;
    p = (unsigned char *)b->p + b->len;
    p = be16(p, (uint16_t)(ncols + 1));
    p = be32(p, 8);
    p = be64(p, (uint64_t)id);
    for (i = 0; i < ncols; i++) {
        const eo_value *v = &row[i];
        if (v->type == EO_VNULL) {
            p = be32(p, 0xffffffffu);
            continue;
        }
        switch (bin_kind(cols[i])) {
        case BIN_INT8:
            p = be32(p, 8);
            p = be64(p, (uint64_t)v->u.i);
            break;
        case BIN_FLOAT8: {
            double d = v->type == EO_VINT ? (double)v->u.i : v->u.f;
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            p = be32(p, 8);
            p = be64(p, bits);
            break;
        }
        case BIN_BOOL:
            p = be32(p, 1);
            *p++ = v->u.b ? 1 : 0;
            break;
        default: /* text, bytea: the bytes */
            p = be32(p, (uint32_t)v->u.s.n);
            if (v->u.s.n)
                memcpy(p, v->u.s.p, v->u.s.n);
            p += v->u.s.n;
            break;
        }
    }
    b->len = (size_t)(p - (unsigned char *)b->p);
    b->p[b->len] = '\0';
    return EO_OK;
}

static int copy_rows(pg_conn *c, const eo_model *m, const eo_field *const *cols, size_t ncols,
                     const eo_value *vals, size_t nrows, eo_id *out_ids, eo_error *err)
{
    eo_sqlq q;
    eo_buf b = EO_BUF_INIT, sql = EO_BUF_INIT;
    ids_ctx ic = { out_ids, 0, nrows };
    eo_value n = eo_int((int64_t)nrows);
    PGresult *res = NULL;
    uint64_t t0;
    size_t r, i;
    int rc, bin = copy_binary_ok(cols, ncols, vals, nrows);

    /* 1. the ids: reserved from the table's sequence, with those of the
     * create's next chunks (up to SPARE_MAX) in the same query */
    if (c->spare_model == m && c->nspare - c->spare_at >= nrows) {
        memcpy(out_ids, c->spare + c->spare_at, nrows * sizeof *out_ids);
        c->spare_at += nrows;
    } else {
        size_t more = c->base.insert_more < SPARE_MAX ? c->base.insert_more : SPARE_MAX;
        size_t want = nrows + more;
        /* an insert of another model in between (history rows) keeps them */
        if (more)
            c->spare_model = NULL;
        if (more && want > c->nspare) {
            eo_id *grown = eo_realloc(c->spare, want * sizeof *grown);
            if (grown == NULL)
                return eo_error_set(err, EO_ENOMEM, "out of memory");
            c->spare = grown;
        }
        ic.out = more ? c->spare : out_ids;
        ic.cap = want;
        n = eo_int((int64_t)want);
        eo_sqlq__init(&q, &eo_sql__postgres);
        /* the sequence is looked up once, not per row (that costs more than
         * the COPY): OFFSET 0 keeps the planner from pulling the lookup
         * into the scan */
        eo_buf__puts(&q.sql, "SELECT min(v), max(v), count(*), CASE WHEN max(v) - min(v) + 1 = "
                             "count(*) THEN NULL ELSE array_agg(v) END FROM (");
        eo_buf__puts(&q.sql, "SELECT nextval(q.s) AS v FROM (SELECT pg_get_serial_sequence('");
        eo_sql__ident(&q.sql, m->table);
        eo_buf__puts(&q.sql, "', 'id')::regclass AS s OFFSET 0) q, generate_series(1, ");
        eo_sql__param(&q, &n, NULL, EO_SQLP_RAW);
        eo_buf__puts(&q.sql, ")) n");
        rc = q.sql.oom ? eo_error_set(err, EO_ENOMEM, "out of memory")
                       : run(c, &q, EO_Q_SELECT, m, NULL, 4, range_row, &ic, NULL, err);
        eo_sqlq__free(&q);
        if (rc != EO_OK)
            return rc;
        if (ic.n != want)
            return eo_error_set(err, EO_ERROR, "postgresql: reserved %zu ids for %zu rows", ic.n,
                                want);
        if (more) {
            memcpy(out_ids, c->spare, nrows * sizeof *out_ids);
            c->spare_model = m;
            c->spare_at = nrows;
            c->nspare = want;
        }
    }

    /* 2. COPY the rows with their ids */
    eo_buf__puts(&sql, "COPY ");
    eo_sql__ident(&sql, m->table);
    eo_buf__puts(&sql, " (\"id\"");
    for (i = 0; i < ncols; i++) {
        eo_buf__puts(&sql, ", ");
        eo_sql__ident(&sql, cols[i]->column);
    }
    eo_buf__puts(&sql, bin ? ") FROM STDIN (FORMAT binary)" : ") FROM STDIN");
    if (sql.oom) {
        eo_buf__free(&sql);
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    }
    /* 3. the rows, formatted before the previous chunk's COPY is settled:
     * the server is busy with that one meanwhile */
    t0 = eo_clock__ns();
    if (bin) /* the signature, no flags, no header extension */
        eo_buf__put(&b, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    for (r = 0; r < nrows && !b.oom; r++) {
        const eo_value *row = vals + r * ncols;
        if (bin) {
            copy_row_binary(&b, out_ids[r].num, cols, ncols, row);
            continue;
        }
        eo_buf__put_int(&b, (int64_t)out_ids[r].num);
        for (i = 0; i < ncols; i++) {
            eo_buf__putc(&b, '\t');
            copy_field(&b, &row[i], cols[i]);
        }
        eo_buf__putc(&b, '\n');
    }
    if (bin)
        eo_buf__put(&b, "\377\377", 2); /* the trailer */
    if (b.oom) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = settle(c, err)) != EO_OK)
        goto done;
    res = PQexec(c->pg, sql.p);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = result_error(c, res, m, err);
        goto done;
    }
    PQclear(res);
    res = NULL;
    for (r = 0; r < b.len; r += 65536) {
        size_t k = b.len - r < 65536 ? b.len - r : 65536;
        if (PQputCopyData(c->pg, b.p + r, (int)k) != 1) {
            rc = conn_error(c, err, "COPY");
            goto done;
        }
    }
    if (PQputCopyEnd(c->pg, NULL) != 1) {
        rc = conn_error(c, err, "COPY");
        goto done;
    }
    if (c->base.txn_depth > 0) {
        /* inside a transaction the result is read later (settle): the
         * server stores these rows while the engine converts the next
         * chunk; the transaction cannot commit before it is read */
        c->copy_model = m;
        goto done;
    }
    res = PQgetResult(c->pg);
    if (rc == EO_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = result_error(c, res, m, err);
    PQclear(res);
    /* drain: libpq returns NULL when the command is over */
    while ((res = PQgetResult(c->pg)) != NULL)
        PQclear(res);
done:
    PQclear(res);
    eo_buf__printf(&sql, "  -- %zu rows", nrows);
    eo_conn_trace(&c->base, EO_Q_INSERT, sql.p, NULL, 0, eo_clock__ns() - t0, (int64_t)nrows);
    eo_buf__free(&sql);
    eo_buf__free(&b);
    return rc;
}

static int pg_insert(eo_conn *base, const eo_model *m, const eo_field *const *cols, size_t ncols,
                     const eo_value *vals, size_t nrows, eo_id *out_ids, eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    eo_sqlq q;
    ids_ctx ic = { out_ids, 0, nrows };
    size_t r, i;
    int rc;

    if (nrows >= COPY_MIN && ncols > 0)
        return copy_rows(c, m, cols, ncols, vals, nrows, out_ids, err);
    eo_sqlq__init(&q, &eo_sql__postgres);
    eo_buf__puts(&q.sql, "INSERT INTO ");
    eo_sql__ident(&q.sql, m->table);
    if (ncols == 0) {
        eo_buf__puts(&q.sql, " DEFAULT VALUES");
        if (nrows != 1) {
            /* one statement per row: DEFAULT VALUES takes no row list */
            rc = EO_OK;
            for (r = 0; r < nrows && rc == EO_OK; r++) {
                eo_sqlq one;
                ids_ctx oc = { out_ids + r, 0, 1 };
                eo_sqlq__init(&one, &eo_sql__postgres);
                eo_buf__puts(&one.sql, q.sql.p);
                eo_buf__puts(&one.sql, " RETURNING \"id\"");
                rc = run(c, &one, EO_Q_INSERT, m, NULL, 1, id_row, &oc, NULL, err);
                eo_sqlq__free(&one);
            }
            eo_sqlq__free(&q);
            return rc;
        }
    } else {
        eo_buf__puts(&q.sql, " (");
        for (i = 0; i < ncols; i++) {
            if (i)
                eo_buf__puts(&q.sql, ", ");
            eo_sql__ident(&q.sql, cols[i]->column);
        }
        eo_buf__puts(&q.sql, ") VALUES ");
        for (r = 0; r < nrows; r++) {
            eo_buf__puts(&q.sql, r ? ", (" : "(");
            for (i = 0; i < ncols; i++) {
                if (i)
                    eo_buf__puts(&q.sql, ", ");
                eo_sql__param(&q, &vals[r * ncols + i], cols[i], EO_SQLP_FIELD);
            }
            eo_buf__putc(&q.sql, ')');
        }
    }
    eo_buf__puts(&q.sql, " RETURNING \"id\"");
    if (q.sql.oom)
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    else
        rc = run(c, &q, EO_Q_INSERT, m, NULL, 1, id_row, &ic, NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

static int update_rows(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                       const eo_field *const *cols, const eo_value *vals, size_t ncols,
                       const eo_field *check, const eo_value *expect, int64_t *affected,
                       eo_error *err);

static int pg_update(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                     const eo_field *const *cols, const eo_value *vals, size_t ncols,
                     int64_t *affected, eo_error *err)
{
    return update_rows(base, m, ids, nids, cols, vals, ncols, NULL, NULL, affected, err);
}

static int pg_update_if(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                        const eo_field *const *cols, const eo_value *vals, size_t ncols,
                        const eo_field *check, const eo_value *expect, int64_t *affected,
                        eo_error *err)
{
    return update_rows(base, m, ids, nids, cols, vals, ncols, check, expect, affected, err);
}

/* UPDATE t SET ... WHERE id IN (...) [AND check = expect] */
static int update_rows(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                       const eo_field *const *cols, const eo_value *vals, size_t ncols,
                       const eo_field *check, const eo_value *expect, int64_t *affected,
                       eo_error *err)
{
    eo_sqlq q;
    size_t i;
    int rc;
    *affected = 0;
    eo_sqlq__init(&q, &eo_sql__postgres);
    eo_buf__puts(&q.sql, "UPDATE ");
    eo_sql__ident(&q.sql, m->table);
    eo_buf__puts(&q.sql, " SET ");
    for (i = 0; i < ncols; i++) {
        if (i)
            eo_buf__puts(&q.sql, ", ");
        eo_sql__ident(&q.sql, cols[i]->column);
        eo_buf__puts(&q.sql, " = ");
        eo_sql__param(&q, &vals[i], cols[i], EO_SQLP_FIELD);
    }
    eo_buf__puts(&q.sql, " WHERE ");
    if ((rc = eo_sql__ids_in(&q, m, ids, nids, EO_IDNUM, err)) == EO_OK && check)
        rc = eo_sql__and_equal(&q, check, expect, err);
    if (rc == EO_OK)
        rc = run((pg_conn *)base, &q, EO_Q_UPDATE, m, NULL, 0, NULL, NULL, affected, err);
    eo_sqlq__free(&q);
    return rc;
}

static const char *coltype(const eo_field *f, char *buf, size_t cap, const char **reported);

/* One value per record, UPDATE_EACH_ROWS records a statement (sql.c builds it). */
#define UPDATE_EACH_ROWS 1000

static int pg_update_each(eo_conn *base, const eo_model *m, const eo_id *ids, size_t n,
                          const eo_field *f, const eo_value *vals, int64_t *affected,
                          eo_error *err)
{
    size_t start;
    int rc = EO_OK;
    char tbuf[64];
    const char *reported, *type = coltype(f, tbuf, sizeof tbuf, &reported);
    *affected = 0;
    if (type == NULL)
        return eo_error_set(err, EO_EINVAL, "%s.%s: not a column", m->name, f->name);
    for (start = 0; start < n && rc == EO_OK; start += UPDATE_EACH_ROWS) {
        size_t k = n - start < UPDATE_EACH_ROWS ? n - start : UPDATE_EACH_ROWS;
        int64_t got = 0;
        eo_sqlq q;
        eo_sqlq__init(&q, &eo_sql__postgres);
        rc = eo_sql__update_each(&q, m, ids + start, k, f, vals + start, type, err);
        if (rc == EO_OK)
            rc = run((pg_conn *)base, &q, EO_Q_UPDATE, m, NULL, 0, NULL, NULL, &got, err);
        *affected += got;
        eo_sqlq__free(&q);
    }
    return rc;
}

static int pg_remove(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                     int64_t *affected, eo_error *err)
{
    eo_sqlq q;
    int rc;
    *affected = 0;
    eo_sqlq__init(&q, &eo_sql__postgres);
    eo_buf__puts(&q.sql, "DELETE FROM ");
    eo_sql__ident(&q.sql, m->table);
    eo_buf__puts(&q.sql, " WHERE ");
    if ((rc = eo_sql__ids_in(&q, m, ids, nids, EO_IDNUM, err)) == EO_OK)
        rc = run((pg_conn *)base, &q, EO_Q_DELETE, m, NULL, 0, NULL, NULL, affected, err);
    eo_sqlq__free(&q);
    return rc;
}

/* ---- groups ---- */

static int pg_group(eo_conn *base, const eo_group_query *g, eo_row_fn fn, void *payload,
                    eo_error *err)
{
    eo_sqlq q;
    size_t ncols = g->nkeys + 1 + g->naggs, i;
    const eo_field **types = eo_calloc(ncols, sizeof *types);
    int rc;
    eo_sqlq__init(&q, &eo_sql__postgres);
    if (types == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    /* keys read as their field's type; aggregates by the column's type OID,
     * except where SQL widens: sum(bigint) is numeric, decimals stay exact */
    for (i = 0; i < g->nkeys; i++)
        types[i] = g->keys[i].gran == EO_GRAN_NONE ? g->keys[i].field : NULL;
    for (i = 0; i < g->naggs; i++) {
        const eo_group_agg *a = &g->aggs[i];
        eo_ftype t = a->field ? eo_ftype_base(a->field->type) : EO_FT_ID;
        if (a->field == NULL || a->agg == EO_AGG_COUNT || a->agg == EO_AGG_COUNT_DISTINCT ||
            a->agg == EO_AGG_AVG || t == EO_FT_BOOLEAN)
            continue;
        if (a->agg == EO_AGG_SUM && t == EO_FT_FLOAT)
            continue;
        types[g->nkeys + 1 + i] = a->field;
    }
    if ((rc = eo_sql__group(&q, g, err)) == EO_OK)
        rc = run((pg_conn *)base, &q, EO_Q_SELECT, g->model, types, ncols, fn, payload, NULL, err);
done:
    eo_sqlq__free(&q);
    eo_free(types);
    return rc;
}

static int plan_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_buf *b = payload;
    (void)err;
    if (ncols >= 1 && row[0].type == EO_VTEXT)
        eo_buf__printf(b, "  %.*s\n", (int)row[0].u.s.n, row[0].u.s.p);
    return b->oom ? EO_ENOMEM : EO_OK;
}

static int pg_explain(eo_conn *base, const eo_query *qr, char **out, eo_error *err)
{
    eo_sqlq q;
    eo_buf b = EO_BUF_INIT, ex = EO_BUF_INIT;
    int rc;
    *out = NULL;
    eo_sqlq__init(&q, &eo_sql__postgres);
    if ((rc = eo_sql__select(&q, qr, err)) != EO_OK)
        goto done;
    eo_buf__printf(&b, "sql: %s\nplan:\n", q.sql.p);
    eo_buf__puts(&ex, "EXPLAIN ");
    eo_buf__put(&ex, q.sql.p, q.sql.len);
    eo_buf__free(&q.sql);
    q.sql = ex;
    ex.p = NULL;
    if ((rc = run((pg_conn *)base, &q, EO_Q_OTHER, qr->model, NULL, 1, plan_row, &b, NULL, err)) !=
        EO_OK)
        goto done;
    if (b.oom) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    *out = eo_buf__detach(&b);
done:
    eo_buf__free(&b);
    eo_sqlq__free(&q);
    return rc;
}

static int pg_ping(eo_conn *base, eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return conn_error(c, err, "ping");
    return simple(c, "SELECT 1", EO_Q_OTHER, err);
}

static int pg_begin(eo_conn *base, eo_isolation iso, eo_error *err)
{
    static const char *const sql[] = {
        "BEGIN", "BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN ISOLATION LEVEL REPEATABLE READ",
        "BEGIN ISOLATION LEVEL SERIALIZABLE",
    };
    return simple((pg_conn *)base, sql[iso], EO_Q_TXN, err);
}

static int pg_commit(eo_conn *base, eo_error *err)
{
    ((pg_conn *)base)->txn_gen++;
    return simple((pg_conn *)base, "COMMIT", EO_Q_TXN, err);
}

static int pg_rollback(eo_conn *base, eo_error *err)
{
    eo_error dropped; /* what is undone needs no report */
    settle((pg_conn *)base, &dropped);
    ((pg_conn *)base)->txn_gen++;
    return simple((pg_conn *)base, "ROLLBACK", EO_Q_TXN, err);
}

static int pg_savepoint(eo_conn *base, eo_savepoint_op op, int depth, eo_error *err)
{
    char sql[64];
    static const char *const fmt[] = { "SAVEPOINT eo_sp%d", "RELEASE SAVEPOINT eo_sp%d",
                                       "ROLLBACK TO SAVEPOINT eo_sp%d" };
    snprintf(sql, sizeof sql, fmt[op], depth);
    if (op == EO_SP_ROLLBACK) {
        eo_error dropped; /* what is undone needs no report */
        settle((pg_conn *)base, &dropped);
        ((pg_conn *)base)->txn_gen++;
    }
    return simple((pg_conn *)base, sql, EO_Q_TXN, err);
}

/* ---- cursors ----
 *
 * DECLARE eo_cur_N NO SCROLL CURSOR FOR <the search>, its parameters sent
 * with it, then FETCH per call. Outside a transaction the cursor begins a
 * read-only one of its own (a cursor without HOLD lives in a transaction;
 * WITH HOLD would copy the whole result on the server at commit): the core
 * gives it a connection of its own for that (EO_CAP_CURSOR_TXN), so the
 * env's other statements (loads, writes) go to other connections and run
 * as they would without the cursor. Inside the caller's transaction it
 * uses the transaction's connection and FETCHes between its statements.
 *
 * Each call fetches one row more than it delivers and keeps that row (and
 * its PGresult) for the next call: a call knows whether rows are left, so
 * N rows read n at a time cost ceil(N/n) FETCHes, not one more.
 */

struct eo_adapter_cursor {
    char name[32];
    const eo_field **fields;  /* Borrowed from the registry; the array Owned */
    size_t ncols;
    eo_value *row;
    cell *cells;
    PGresult *res;            /* the last FETCH; rows from pos on not delivered yet */
    int pos;
    int exhausted;            /* the last FETCH got fewer rows than asked */
    int own_txn;              /* BEGIN was ours: COMMIT at close */
    uint64_t gen;             /* the connection's txn_gen at DECLARE */
};

static void pg_cursor_close(eo_conn *base, eo_adapter_cursor *cur)
{
    pg_conn *c = (pg_conn *)base;
    char sql[64];
    if (cur == NULL)
        return;
    PQclear(cur->res);
    if (!c->base.broken && cur->own_txn) {
        /* ends the cursor with it (a failed transaction rolls back) */
        simple(c, "COMMIT", EO_Q_TXN, NULL);
        c->base.txn_depth = 0;
        c->txn_gen++;
    } else if (!c->base.broken && cur->gen == c->txn_gen &&
               PQtransactionStatus(c->pg) == PQTRANS_INTRANS) {
        /* in the caller's transaction, which still holds the cursor: a
         * failed transaction keeps its own error (CLOSE would add one), and
         * one that ended or rolled back past the DECLARE closed it already
         * (CLOSE would fail, and fail the caller's transaction with it) */
        snprintf(sql, sizeof sql, "CLOSE %s", cur->name);
        simple(c, sql, EO_Q_OTHER, NULL);
    }
    eo_free(cur->fields);
    eo_free(cur->row);
    eo_free(cur->cells);
    eo_free(cur);
}

static int pg_cursor_open(eo_conn *base, const eo_query *qr, eo_adapter_cursor **out,
                          eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    eo_adapter_cursor *cur;
    eo_sqlq q;
    eo_buf sql = EO_BUF_INIT;
    size_t np = 0, i, n = qr->nfields ? qr->nfields : 1;
    const char **vals = NULL;
    int *lens = NULL, *fmts = NULL;
    numbuf *bufs = NULL;
    eo_value *tp = NULL;
    PGresult *res = NULL;
    uint64_t t0;
    int rc;

    *out = NULL;
    eo_sqlq__init(&q, &eo_sql__postgres);
    if ((cur = eo_calloc(1, sizeof *cur)) == NULL ||
        (cur->fields = eo_calloc(n, sizeof *cur->fields)) == NULL ||
        (cur->row = eo_calloc(n, sizeof *cur->row)) == NULL ||
        (cur->cells = eo_calloc(n, sizeof *cur->cells)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur->ncols = qr->nfields;
    for (i = 0; i < qr->nfields; i++)
        cur->fields[i] = qr->fields[i];
    snprintf(cur->name, sizeof cur->name, "eo_cur_%llu", (unsigned long long)++c->serial);
    if ((rc = eo_sql__select(&q, qr, err)) != EO_OK)
        goto done;
    eo_buf__printf(&sql, "DECLARE %s NO SCROLL CURSOR FOR %s", cur->name, q.sql.p);
    np = q.params.len;
    vals = eo_calloc(np ? np : 1, sizeof *vals);
    lens = eo_calloc(np ? np : 1, sizeof *lens);
    fmts = eo_calloc(np ? np : 1, sizeof *fmts);
    bufs = eo_calloc(np ? np : 1, sizeof *bufs);
    tp = eo_calloc(np ? np : 1, sizeof *tp);
    if (sql.oom || !vals || !lens || !fmts || !bufs || !tp) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < np; i++) {
        const eo_sqlparam *p = eo_vec__at(&q.params, i);
        tp[i] = p->v;
        param_text(&p->v, bufs[i], &vals[i], &lens[i], &fmts[i]);
    }
    if (c->base.txn_depth == 0) {
        if ((rc = simple(c, "BEGIN READ ONLY", EO_Q_TXN, err)) != EO_OK)
            goto done;
        cur->own_txn = 1;
        c->base.txn_depth = 1;
    }
    cur->gen = c->txn_gen;
    t0 = eo_clock__ns();
    res = PQexecParams(c->pg, sql.p, (int)np, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = result_error(c, res, qr->model, err);
    eo_conn_trace(&c->base, EO_Q_SELECT, sql.p, tp, np, eo_clock__ns() - t0, -1);
done:
    PQclear(res);
    eo_sqlq__free(&q);
    eo_buf__free(&sql);
    eo_free(vals);
    eo_free(lens);
    eo_free(fmts);
    eo_free(bufs);
    eo_free(tp);
    if (rc != EO_OK) {
        if (cur && cur->own_txn && !c->base.broken) {
            simple(c, "ROLLBACK", EO_Q_TXN, NULL);
            c->base.txn_depth = 0;
            c->txn_gen++;
        }
        if (cur)
            cur->own_txn = 0;
        pg_cursor_close(base, cur);
        return rc;
    }
    *out = cur;
    return EO_OK;
}

/* FETCH k more rows into cur->res (the previous result fully delivered). */
static int pg_cursor_fetch(pg_conn *c, eo_adapter_cursor *cur, size_t k, eo_error *err)
{
    char sql[64];
    uint64_t t0 = eo_clock__ns();
    int rc = EO_OK;
    PQclear(cur->res);
    cur->pos = 0;
    snprintf(sql, sizeof sql, "FETCH %zu FROM %s", k, cur->name);
    cur->res = PQexec(c->pg, sql);
    if (PQresultStatus(cur->res) != PGRES_TUPLES_OK) {
        rc = result_error(c, cur->res, NULL, err);
        PQclear(cur->res);
        cur->res = NULL;
        cur->exhausted = 1;
    } else if ((size_t)PQntuples(cur->res) < k) {
        cur->exhausted = 1;
    }
    eo_conn_trace(&c->base, EO_Q_SELECT, sql, NULL, 0, eo_clock__ns() - t0,
                  cur->res ? PQntuples(cur->res) : -1);
    return rc;
}

static int pg_cursor_next(eo_conn *base, eo_adapter_cursor *cur, size_t n, eo_row_fn fn,
                          void *payload, int *done, eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    size_t got = 0, i;
    int rc = EO_OK;
    while (got < n && rc == EO_OK) {
        if (cur->res && cur->pos < PQntuples(cur->res)) {
            for (i = 0; i < cur->ncols; i++) {
                cur->cells[i].bytes = NULL;
                cur->row[i] = cell_value(cur->res, cur->pos, (int)i, cur->fields[i],
                                         &cur->cells[i]);
            }
            cur->pos++;
            got++;
            rc = fn(payload, cur->row, cur->ncols, err);
            for (i = 0; i < cur->ncols; i++)
                if (cur->cells[i].bytes)
                    PQfreemem(cur->cells[i].bytes);
            continue;
        }
        if (cur->exhausted)
            break;
        rc = pg_cursor_fetch(c, cur, n - got + 1, err); /* one ahead: is a row left? */
    }
    *done = cur->exhausted && !(cur->res && cur->pos < PQntuples(cur->res));
    return rc;
}

/* ---- migration ---- */

typedef struct colinfo {
    char name[128];
    char type[64];
    int nullable;
    int precision, scale;   /* of a numeric column; 0 when unconstrained */
} colinfo;

static int int_of(const eo_value *v)
{
    if (v->type == EO_VINT)
        return (int)v->u.i;
    if (v->type == EO_VTEXT) {
        char buf[24];
        snprintf(buf, sizeof buf, "%.*s", (int)(v->u.s.n < 23 ? v->u.s.n : 23), v->u.s.p);
        return atoi(buf);
    }
    return 0;
}

static int col_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_vec *v = payload;
    colinfo ci;
    memset(&ci, 0, sizeof ci);
    snprintf(ci.name, sizeof ci.name, "%.*s", (int)row[0].u.s.n, row[0].u.s.p);
    snprintf(ci.type, sizeof ci.type, "%.*s", (int)row[1].u.s.n, row[1].u.s.p);
    ci.nullable = row[2].type == EO_VTEXT && row[2].u.s.n == 3; /* "YES" */
    if (ncols >= 5) {
        ci.precision = int_of(&row[3]);
        ci.scale = int_of(&row[4]);
    }
    return eo_vec__push(v, &ci) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
}

static int text_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    char *out = payload;
    (void)ncols;
    (void)err;
    if (row[0].type == EO_VTEXT)
        snprintf(out, 64, "%.*s", (int)(row[0].u.s.n < 63 ? row[0].u.s.n : 63), row[0].u.s.p);
    return EO_OK;
}

static int name_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_vec *v = payload;
    colinfo ci;
    (void)ncols;
    memset(&ci, 0, sizeof ci);
    snprintf(ci.name, sizeof ci.name, "%.*s", (int)row[0].u.s.n, row[0].u.s.p);
    return eo_vec__push(v, &ci) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
}

/* Column type for DDL, and the name information_schema reports. */
static const char *coltype(const eo_field *f, char *buf, size_t cap, const char **reported)
{
    switch (eo_ftype_base(f->type)) {
    case EO_FT_CHAR:
    case EO_FT_SELECTION: *reported = "character varying"; return "VARCHAR";
    case EO_FT_TEXT: *reported = "text"; return "TEXT";
    case EO_FT_INTEGER:
    case EO_FT_MANY2ONE: *reported = "bigint"; return "BIGINT";
    case EO_FT_FLOAT: *reported = "double precision"; return "DOUBLE PRECISION";
    case EO_FT_BOOLEAN: *reported = "boolean"; return "BOOLEAN";
    case EO_FT_DATE: *reported = "date"; return "DATE";
    case EO_FT_DATETIME: *reported = "timestamp with time zone"; return "TIMESTAMPTZ";
    case EO_FT_JSON:
    case EO_FT_EMBEDDED:
    case EO_FT_LIST: *reported = "jsonb"; return "JSONB";
    case EO_FT_DECIMAL:
        *reported = "numeric";
        snprintf(buf, cap, "NUMERIC(%d, %d)", f->precision, f->scale);
        return buf;
    case EO_FT_BINARY: *reported = "bytea"; return "BYTEA";
    default: *reported = NULL; return NULL;
    }
}

static int run_text(pg_conn *c, const char *sql, const char *arg, size_t ncols, eo_row_fn fn,
                    void *payload, eo_qkind kind, eo_error *err)
{
    eo_sqlq q;
    int rc;
    eo_sqlq__init(&q, &eo_sql__postgres);
    eo_buf__puts(&q.sql, sql);
    if (arg) {
        eo_sqlparam p;
        p.v = eo_cstr(arg);
        p.field = NULL;
        p.kind = EO_SQLP_RAW;
        eo_vec__push(&q.params, &p);
    }
    rc = q.sql.oom ? eo_error_set(err, EO_ENOMEM, "out of memory")
                   : run(c, &q, kind, NULL, NULL, ncols, fn, payload, NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

static int ddl(pg_conn *c, const char *sql, int dry, eo_migrate_note_fn note, void *payload,
               eo_error *err)
{
    if (note)
        note(payload, sql);
    return dry ? EO_OK : simple(c, sql, EO_Q_DDL, err);
}

static int refuse(eo_error *err, const eo_field *f, const char *what)
{
    eo_error_set(err, EO_EINVAL, "%s.%s: %s", f->model->name, f->name, what);
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}

/*
 * A change of a Decimal field's digits: the column's type changes (the
 * server converts the values, in migrate's transaction) when every stored
 * value fits the new digits exactly; otherwise it is refused, as on every
 * backend: migrate never rounds data.
 */
static int digits_change(pg_conn *c, const eo_field *f, const colinfo *have, int dry,
                         eo_migrate_note_fn note, void *payload, eo_error *err)
{
    const eo_model *m = f->model;
    eo_buf b = EO_BUF_INIT, where = EO_BUF_INIT;
    int64_t bad = 0;
    char line[300];
    int rc;
    eo_sql__ident(&where, f->column);
    eo_buf__puts(&where, " IS NOT NULL AND (");
    eo_sql__ident(&where, f->column);
    eo_buf__printf(&where, " <> round(");
    eo_sql__ident(&where, f->column);
    eo_buf__printf(&where, ", %d) OR abs(", f->scale);
    eo_sql__ident(&where, f->column);
    eo_buf__printf(&where, ") >= 10::numeric ^ %d)", f->precision - f->scale);
    eo_buf__puts(&b, "SELECT count(*) FROM ");
    eo_sql__ident(&b, m->table);
    eo_buf__puts(&b, " WHERE ");
    eo_buf__puts(&b, where.p ? where.p : "false");
    if (b.oom || where.oom) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = run_text(c, b.p, NULL, 1, count_row, &bad, EO_Q_SELECT, err)) != EO_OK)
        goto done;
    if (bad > 0) {
        char ex[64] = "?";
        eo_buf__reset(&b);
        eo_buf__puts(&b, "SELECT ");
        eo_sql__ident(&b, f->column);
        eo_buf__puts(&b, "::text FROM ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " WHERE ");
        eo_buf__puts(&b, where.p);
        eo_buf__puts(&b, " LIMIT 1");
        if (b.oom) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = run_text(c, b.p, NULL, 1, text_row, ex, EO_Q_SELECT, err)) != EO_OK)
            goto done;
        rc = eo_error_set(err, EO_EINVAL,
                          "%s.%s: digits change from (%d, %d) to (%d, %d), but %lld stored "
                          "value%s would not fit without rounding (e.g. %s); migrate never rounds "
                          "data: change those values first, or keep the digits",
                          m->name, f->name, have->precision, have->scale, f->precision, f->scale,
                          (long long)bad, bad == 1 ? "" : "s", ex);
        eo_error_where(err, m->name, f->name);
        goto done;
    }
    snprintf(line, sizeof line, "-- %s.%s: digits (%d, %d) -> (%d, %d): %s", m->name, f->name,
             have->precision, have->scale, f->precision, f->scale,
             have->scale != f->scale ? "stored values rescaled" : "every stored value fits");
    if (note)
        note(payload, line);
    eo_buf__reset(&b);
    eo_buf__puts(&b, "ALTER TABLE ");
    eo_sql__ident(&b, m->table);
    eo_buf__puts(&b, " ALTER COLUMN ");
    eo_sql__ident(&b, f->column);
    eo_buf__printf(&b, " TYPE NUMERIC(%d, %d)", f->precision, f->scale);
    rc = b.oom ? eo_error_set(err, EO_ENOMEM, "out of memory") : ddl(c, b.p, dry, note, payload, err);
done:
    eo_buf__free(&b);
    eo_buf__free(&where);
    return rc;
}

/* The env's check before it uses m (internal.h): each Decimal column's
 * type has the declared digits, and a field is Decimal exactly where its
 * column is numeric (PostgreSQL casts on the way in and out: 12.30 in a
 * bigint reads and writes as 12). An unconstrained numeric, and the other
 * type changes (which convert or fail loudly), are left to migrate. */
int eo_postgres__schema_check(eo_conn *base, const eo_model *m, eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    eo_vec cols = EO_VEC_INIT(colinfo);
    size_t i, j;
    int rc = run_text(c,
                      "SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale "
                      "FROM information_schema.columns WHERE table_schema = current_schema() "
                      "AND table_name = $1",
                      m->table, 5, col_row, &cols, EO_Q_OTHER, err);
    for (i = 1; i < m->nfields && rc == EO_OK; i++) {
        const eo_field *f = m->fields[i];
        if (!(f->flags & EO_FF_STORED))
            continue;
        for (j = 0; j < cols.len && rc == EO_OK; j++) {
            const colinfo *have = eo_vec__at(&cols, j);
            int numeric = strcmp(have->type, "numeric") == 0;
            char held[96];
            if (strcmp(have->name, f->column) != 0)
                continue;
            if (numeric != (eo_ftype_base(f->type) == EO_FT_DECIMAL)) {
                if (numeric && have->precision > 0)
                    snprintf(held, sizeof held, "numeric(%d, %d)", have->precision, have->scale);
                else
                    snprintf(held, sizeof held, "%s", have->type);
                rc = eo_schema__type_differs(err, f, held);
            } else if (numeric && have->precision > 0 &&
                       (have->precision != f->precision || have->scale != f->scale)) {
                rc = eo_schema__digits_differ(err, f, have->precision, have->scale);
            }
        }
    }
    eo_vec__free(&cols);
    return rc;
}

static int pg_migrate(eo_conn *base, const eo_model *m, int dry, eo_migrate_note_fn note,
                      void *payload, eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    eo_vec cols = EO_VEC_INIT(colinfo), idx = EO_VEC_INIT(colinfo);
    eo_buf b = EO_BUF_INIT;
    int64_t nrows = 0;
    char tbuf[64], what[400];
    const char *rep;
    size_t i, j;
    int rc;

    if ((rc = run_text(c,
                       "SELECT column_name, data_type, is_nullable, numeric_precision, "
                       "numeric_scale FROM information_schema.columns "
                       "WHERE table_schema = current_schema() AND table_name = $1",
                       m->table, 5, col_row, &cols, EO_Q_SELECT, err)) != EO_OK)
        goto done;
    if (cols.len == 0) {
        eo_buf__puts(&b, "CREATE TABLE ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " (\"id\" BIGSERIAL PRIMARY KEY");
        for (i = 1; i < m->nfields; i++) {
            const eo_field *f = m->fields[i];
            const char *t = (f->flags & EO_FF_STORED) ? coltype(f, tbuf, sizeof tbuf, &rep) : NULL;
            if (t == NULL)
                continue;
            eo_buf__puts(&b, ", ");
            eo_sql__ident(&b, f->column);
            eo_buf__printf(&b, " %s", t);
            if ((f->flags & EO_FF_REQUIRED) && !(f->flags & EO_FF_COMPUTED))
                eo_buf__puts(&b, " NOT NULL");
        }
        eo_buf__putc(&b, ')');
        if (b.oom || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
            goto done;
    } else {
        eo_buf__puts(&b, "SELECT count(*) FROM ");
        eo_sql__ident(&b, m->table);
        if ((rc = run_text(c, b.p, NULL, 1, count_row, &nrows, EO_Q_SELECT, err)) != EO_OK)
            goto done;
        for (i = 1; i < m->nfields; i++) {
            const eo_field *f = m->fields[i];
            const char *t = (f->flags & EO_FF_STORED) ? coltype(f, tbuf, sizeof tbuf, &rep) : NULL;
            const colinfo *have = NULL;
            int required = (f->flags & EO_FF_REQUIRED) && !(f->flags & EO_FF_COMPUTED);
            if (t == NULL)
                continue;
            for (j = 0; j < cols.len; j++)
                if (strcmp(((colinfo *)eo_vec__at(&cols, j))->name, f->column) == 0)
                    have = eo_vec__at(&cols, j);
            if (have && strcmp(have->type, rep) != 0) {
                snprintf(what, sizeof what,
                         "column is %s but the field needs %s; migrate does not change a column's type (data could be lost): convert it by hand",
                         have->type, rep);
                rc = refuse(err, f, what);
                goto done;
            }
            if (have && eo_ftype_base(f->type) == EO_FT_DECIMAL && have->precision > 0 &&
                (have->precision != f->precision || have->scale != f->scale) &&
                (rc = digits_change(c, f, have, dry, note, payload, err)) != EO_OK)
                goto done;
            if (!have) {
                if (required && nrows > 0 && !(f->flags & EO_FF_DEFAULT)) {
                    snprintf(what, sizeof what,
                             "a new required field without a default, and %lld existing records would have no value; give it a default or make it optional first",
                             (long long)nrows);
                    rc = refuse(err, f, what);
                    goto done;
                }
                eo_buf__reset(&b);
                eo_buf__puts(&b, "ALTER TABLE ");
                eo_sql__ident(&b, m->table);
                eo_buf__puts(&b, " ADD COLUMN ");
                eo_sql__ident(&b, f->column);
                eo_buf__printf(&b, " %s", t);
                if (b.oom || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
                    goto done;
            }
            if (!dry && (f->flags & EO_FF_DEFAULT) && nrows > 0 && (!have || required)) {
                eo_sqlq q;
                int64_t changed = 0;
                eo_sqlq__init(&q, &eo_sql__postgres);
                eo_buf__puts(&q.sql, "UPDATE ");
                eo_sql__ident(&q.sql, m->table);
                eo_buf__puts(&q.sql, " SET ");
                eo_sql__ident(&q.sql, f->column);
                eo_buf__puts(&q.sql, " = ");
                eo_sql__param(&q, &f->def, f, EO_SQLP_FIELD);
                eo_buf__puts(&q.sql, " WHERE ");
                eo_sql__ident(&q.sql, f->column);
                eo_buf__puts(&q.sql, " IS NULL");
                rc = run(c, &q, EO_Q_UPDATE, m, NULL, 0, NULL, NULL, &changed, err);
                eo_sqlq__free(&q);
                if (rc != EO_OK)
                    goto done;
                if (note && changed > 0) {
                    snprintf(what, sizeof what, "-- %s.%s: existing records set to the default",
                             m->name, f->name);
                    note(payload, what);
                }
                continue;
            }
            if (required && have && have->nullable) {
                int64_t nulls = 0;
                eo_buf__reset(&b);
                eo_buf__puts(&b, "SELECT count(*) FROM ");
                eo_sql__ident(&b, m->table);
                eo_buf__puts(&b, " WHERE ");
                eo_sql__ident(&b, f->column);
                eo_buf__puts(&b, " IS NULL");
                if ((rc = run_text(c, b.p, NULL, 1, count_row, &nulls, EO_Q_SELECT, err)) != EO_OK)
                    goto done;
                if (nulls > 0) {
                    snprintf(what, sizeof what,
                             "the field is now required but %lld records have no value; fill them or give the field a default",
                             (long long)nulls);
                    rc = refuse(err, f, what);
                    goto done;
                }
            }
        }
        for (j = 0; j < cols.len && note; j++) {
            const colinfo *ci = eo_vec__at(&cols, j);
            const eo_field *f = eo_model_field(m, ci->name, strlen(ci->name));
            if (f == NULL || !(f->flags & EO_FF_STORED)) {
                snprintf(what, sizeof what, "-- %s: column %s has no field; kept (migrate never drops data)",
                         m->table, ci->name);
                note(payload, what);
            }
        }
    }
    if ((rc = run_text(c,
                       "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
                       m->table, 1, name_row, &idx, EO_Q_SELECT, err)) != EO_OK)
        goto done;
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        int k;
        if (!(f->flags & EO_FF_STORED))
            continue;
        for (k = 0; k < 2; k++) {
            char name[200];
            int want = k == 0 ? (f->flags & EO_FF_UNIQUE) != 0
                              : (f->flags & (EO_FF_INDEX | EO_FF_UNIQUE)) == EO_FF_INDEX ||
                                    (f->type == EO_FT_MANY2ONE && !(f->flags & EO_FF_UNIQUE));
            int have = 0;
            snprintf(name, sizeof name, "%s__%s_%s", m->table, f->column, k == 0 ? "uniq" : "idx");
            for (j = 0; j < idx.len; j++)
                if (strcmp(((colinfo *)eo_vec__at(&idx, j))->name, name) == 0)
                    have = 1;
            if (want == have)
                continue;
            eo_buf__reset(&b);
            if (want) {
                eo_buf__puts(&b, k == 0 ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
                eo_sql__ident(&b, name);
                eo_buf__puts(&b, " ON ");
                eo_sql__ident(&b, m->table);
                eo_buf__puts(&b, " (");
                eo_sql__ident(&b, f->column);
                eo_buf__putc(&b, ')');
            } else {
                eo_buf__puts(&b, "DROP INDEX ");
                eo_sql__ident(&b, name);
            }
            if (b.oom) {
                rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                goto done;
            }
            rc = ddl(c, b.p, dry, note, payload, err);
            if (rc != EO_OK && want && k == 0) {
                eo_error_set(err, EO_ECONFLICT,
                             "%s.%s: cannot make it unique: some records share a value", m->name,
                             f->name);
                eo_error_where(err, m->name, f->name);
                rc = EO_ECONFLICT;
            }
            if (rc != EO_OK)
                goto done;
        }
    }
    if (m->junction) {
        /* a pair is linked once */
        char name[200];
        int have = 0;
        snprintf(name, sizeof name, "%s__pair_uniq", m->table);
        for (j = 0; j < idx.len; j++)
            if (strcmp(((colinfo *)eo_vec__at(&idx, j))->name, name) == 0)
                have = 1;
        if (!have) {
            eo_buf__reset(&b);
            eo_sql__pair_index(&b, m);
            if (b.oom || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
                goto done;
        }
    }
    /* composite indexes and unique constraints: <table>__..._cidx / _ckey */
    for (j = 0; j < idx.len; j++) {
        const char *nm = ((colinfo *)eo_vec__at(&idx, j))->name;
        if (!eo_model__our_index(m, nm) || eo_model__index_named(m, nm))
            continue;
        eo_buf__reset(&b);
        eo_buf__puts(&b, "DROP INDEX ");
        eo_sql__ident(&b, nm);
        if (b.oom) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
            goto done;
    }
    for (i = 0; i < m->nindexes; i++) {
        const eo_model_index *ix = &m->indexes[i];
        int have = 0;
        for (j = 0; j < idx.len; j++)
            if (strcmp(((colinfo *)eo_vec__at(&idx, j))->name, ix->name) == 0)
                have = 1;
        if (have)
            continue;
        eo_buf__reset(&b);
        eo_sql__model_index(&b, m, ix);
        if (b.oom) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK) {
            if (ix->unique) {
                eo_error_set(err, EO_ECONFLICT,
                             "%s: cannot add constraint %s: some records share their values of "
                             "its fields", m->name, ix->constraint);
                eo_error_where(err, m->name, NULL);
                rc = EO_ECONFLICT;
            }
            goto done;
        }
    }
done:
    eo_vec__free(&cols);
    eo_vec__free(&idx);
    eo_buf__free(&b);
    return rc;
}

/* Foreign keys, once every table exists: <table>__<column>_fkey. */
static int pg_migrate_constraints(eo_conn *base, const eo_model *m, int dry,
                                  eo_migrate_note_fn note, void *payload, eo_error *err)
{
    pg_conn *c = (pg_conn *)base;
    eo_vec have = EO_VEC_INIT(colinfo);
    eo_buf b = EO_BUF_INIT;
    size_t i, j;
    int rc;
    if ((rc = run_text(c,
                       "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = "
                       "(SELECT oid FROM pg_class WHERE relname = $1 AND relnamespace = "
                       "(SELECT oid FROM pg_namespace WHERE nspname = current_schema()))",
                       m->table, 1, name_row, &have, EO_Q_SELECT, err)) != EO_OK)
        goto done;
    for (i = 1; i < m->nfields; i++) {
        const eo_field *f = m->fields[i];
        char name[200];
        int found = 0;
        if (f->type != EO_FT_MANY2ONE || !(f->flags & EO_FF_STORED) || f->comodel == NULL)
            continue;
        snprintf(name, sizeof name, "%s__%s_fkey", m->table, f->column);
        for (j = 0; j < have.len; j++)
            if (strcmp(((colinfo *)eo_vec__at(&have, j))->name, name) == 0)
                found = 1;
        if (found)
            continue;
        eo_buf__reset(&b);
        eo_buf__puts(&b, "ALTER TABLE ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " ADD CONSTRAINT ");
        eo_sql__ident(&b, name);
        eo_buf__puts(&b, " FOREIGN KEY (");
        eo_sql__ident(&b, f->column);
        eo_buf__putc(&b, ')');
        eo_sql__references(&b, f);
        if (b.oom) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK) {
            char what[300];
            snprintf(what, sizeof what,
                     "cannot add its foreign key to %s: some records point to %s records that do not exist",
                     f->comodel->name, f->comodel->name);
            rc = refuse(err, f, what);
            eo_error__native(err, EO_DOMAIN_PG, 23503);
            if (err)
                err->code = rc = EO_ECONFLICT;
            goto done;
        }
    }
done:
    eo_vec__free(&have);
    eo_buf__free(&b);
    return rc;
}

const eo_adapter eo_postgres_adapter = {
    "postgresql", "postgresql", EO_IDNUM,
    EO_CAP_TRANSACTIONS | EO_CAP_SAVEPOINTS | EO_CAP_SUBQUERIES | EO_CAP_GROUP | EO_CAP_FOREIGN_KEYS |
        EO_CAP_CURSOR_TXN,
    pg_open, pg_close, pg_ping, pg_begin, pg_commit, pg_rollback, pg_savepoint,
    pg_migrate, pg_insert, pg_select, pg_count, pg_update, pg_remove, pg_group, pg_explain,
    pg_migrate_constraints, pg_update_each, pg_update_if, pg_flush,
    pg_cursor_open, pg_cursor_next, pg_cursor_close,
};
