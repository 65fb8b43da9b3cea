/*
 * sqlite.c - the SQLite adapter (the embedded default).
 *
 * One sqlite3 handle per connection in WAL mode, with a cache of prepared
 * statements keyed by SQL text (SQL is built so that its text depends on
 * the shape of a query, not on its values: long id lists travel as one
 * JSON parameter read by json_each). Every value is a bound parameter.
 *
 * Storage mapping: Boolean as INTEGER 0/1, Date and Datetime as ISO text
 * (which sorts correctly), Json as text, Decimal as an INTEGER scaled by
 * 10^scale (exact and sortable), Binary as BLOB. Case-sensitive `like`
 * uses GLOB; `ilike` uses lower() (ASCII case folding, as SQLite's lower).
 *
 * It does not pool: the environment owns one connection.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "earnorm/sys/adapter.h"
#include "../internal.h"
#include "../query/sql.h"

extern const eo_adapter eo_sqlite_adapter;

#define CACHE_MAX 128

typedef struct cached {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used;        /* LRU clock */
    int busy;             /* being stepped: a nested user needs its own */
} cached;

typedef struct sq_conn {
    eo_conn base;
    sqlite3 *db;
    cached cache[CACHE_MAX];
    size_t ncache;
    uint64_t clock;
} sq_conn;

/*
 * Map a driver error to an EO_E* code and a message that says what to do.
 * Constraint failures naming a field are constraint_error's; "expression
 * tree too large" and LIKE limits are refused before they reach SQLite
 * (core/query/sql.c).
 */
static int sq_error(sq_conn *c, eo_error *err, int rc, const char *what)
{
    const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    const char *hint = "";
    int code = EO_ERROR;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = EO_EBUSY;
        hint = " (another connection held the lock past the busy timeout, ?timeout=ms)";
        break;
    case SQLITE_NOMEM: code = EO_ENOMEM; break;
    case SQLITE_CONSTRAINT: code = EO_ECONFLICT; break;
    case SQLITE_CANTOPEN: code = EO_ECONN; break;
    case SQLITE_FULL:
        code = EO_ELIMIT;
        hint = ": the disk is full or the database reached its size limit (max_page_count); "
               "free space, then try again";
        break;
    case SQLITE_TOOBIG:
        code = EO_ELIMIT;
        hint = ": a value or statement is larger than SQLite's length limit (SQLITE_MAX_LENGTH)";
        break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = EO_ENOTSUP;
        hint = ": this database cannot be written here (a read-only file, directory or mount); "
               "open a writable copy";
        break;
    case SQLITE_NOTADB:
        code = EO_EINVAL; /* the URL names something else: not an outage to retry */
        c->base.broken = 1;
        hint = ": the file is not an SQLite database; check the URL";
        break;
    case SQLITE_CORRUPT:
        /* no code says "damaged": not bad input, not worth retrying */
        c->base.broken = 1;
        hint = ": the database file is damaged; restore it from a backup "
               "(PRAGMA integrity_check says where)";
        break;
    case SQLITE_IOERR:
        if (rc == SQLITE_IOERR_NOMEM) {
            code = EO_ENOMEM;
        } else {
            c->base.broken = 1;
            hint = ": the disk or file system failed; check it, then try again";
        }
        break;
    case SQLITE_MISMATCH: code = EO_EINVAL; break;
    case SQLITE_ERROR:
        if (strncmp(msg, "no such table", 13) == 0 || strncmp(msg, "no such column", 14) == 0) {
            code = EO_ENOTFOUND;
            hint = " (the database is older than the models: run migrate)";
        } else if (strstr(msg, "parser stack overflow")) {
            /* YYSTACKDEPTH 100: Debian's SQLite parses 11 nested sub-queries */
            code = EO_ELIMIT;
            hint = ": the domain nests too deeply for SQLite's parser (about 11 levels of "
                   "'any' sub-domains and dotted path segments); simplify it";
        } else if (strstr(msg, "Expression tree is too large") || strstr(msg, "too many SQL variables") ||
                   strstr(msg, "pattern too complex") || strstr(msg, "too many columns") ||
                   strstr(msg, "too many terms")) {
            /* the compiler keeps below these (sql.c); a statement an adapter or a
             * host built itself may not */
            code = EO_ELIMIT;
            hint = ": the statement is past one of SQLite's limits; simplify the domain or "
                   "split the operation";
        }
        break;
    default: break;
    }
    eo_error_set(err, code, "sqlite: %s: %s%s", what, msg, hint);
    eo_error__native(err, EO_DOMAIN_SQLITE, rc);
    return code;
}

static int exec_sql(sq_conn *c, const char *sql, eo_qkind kind, eo_error *err)
{
    uint64_t t0 = eo_clock__ns();
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    eo_conn_trace(&c->base, kind, sql, NULL, 0, eo_clock__ns() - t0, -1);
    if (rc != SQLITE_OK)
        return sq_error(c, err, rc, sql);
    return EO_OK;
}

static int sq_open(eo_conn **out, const eo_url *url, eo_error *err)
{
    sq_conn *c = eo_calloc(1, sizeof *c);
    const char *path = url->path;
    int memory = strcmp(path, ":memory:") == 0;
    int rc;
    const char *timeout = eo_url_opt(url, "timeout");
    /* ?mode=ro: a read-only snapshot that writes and creates nothing, not
     * even -wal/-shm files (SQLite's immutable=1; migrate --dry-run) */
    const char *mode = eo_url_opt(url, "mode");
    int ro = mode && strcmp(mode, "ro") == 0;
    char *uri = NULL;

    *out = NULL;
    if (mode && !ro && strcmp(mode, "rw") != 0) {
        eo_free(c);
        return eo_error_set(err, EO_EINVAL, "sqlite: ?mode=%s: use ro or rw", mode);
    }
    if (ro && !memory) {
        const char *q;
        eo_buf b = EO_BUF_INIT;
        eo_buf__puts(&b, "file:");
        for (q = path; *q; q++) {
            if (*q == '?' || *q == '#' || *q == '%')
                eo_buf__printf(&b, "%%%02X", (unsigned char)*q);
            else
                eo_buf__putc(&b, *q);
        }
        eo_buf__puts(&b, "?immutable=1");
        uri = b.oom ? NULL : eo_buf__detach(&b);
        eo_buf__free(&b);
        if (uri == NULL) {
            eo_free(c);
            c = NULL;
        }
        path = uri;
    }
    if (c == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory opening %s", url->text);
    rc = sqlite3_open_v2(path, &c->db,
                         (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                             SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                         NULL);
    eo_free(uri);
    path = url->path;
    if (rc != SQLITE_OK) {
        eo_error_set(err, EO_ECONN, "sqlite: cannot open %s: %s", path,
                     c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        eo_error__native(err, EO_DOMAIN_SQLITE, rc);
        sqlite3_close(c->db);
        eo_free(c);
        return EO_ECONN;
    }
    c->base.adapter = &eo_sqlite_adapter;
    /* env:capabilities().server: name and version (docs/backends.md) */
    snprintf(c->base.server, sizeof c->base.server, "SQLite %s", sqlite3_libversion());
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, timeout ? atoi(timeout) : 5000);
    if ((!memory && !ro && (rc = exec_sql(c, "PRAGMA journal_mode=WAL", EO_Q_OTHER, err)) != EO_OK) ||
        (rc = exec_sql(c, "PRAGMA synchronous=NORMAL", EO_Q_OTHER, err)) != EO_OK ||
        (rc = exec_sql(c, "PRAGMA foreign_keys=ON", EO_Q_OTHER, err)) != EO_OK) {
        if (rc == EO_EBUSY || rc == EO_ERROR)
            rc = EO_ECONN;
        if (err)
            err->code = rc;
        sqlite3_close(c->db);
        eo_free(c);
        return rc;
    }
    *out = &c->base;
    return EO_OK;
}

static void sq_close(eo_conn *base)
{
    sq_conn *c = (sq_conn *)base;
    size_t i;
    if (c == NULL)
        return;
    for (i = 0; i < c->ncache; i++) {
        sqlite3_finalize(c->cache[i].st);
        eo_free(c->cache[i].sql);
    }
    sqlite3_close_v2(c->db);
    eo_free(c);
}

/* A prepared statement for sql, from the cache when possible. *own is set
 * when the caller must finalize it (cache entry busy). */
static int prepare(sq_conn *c, const char *sql, size_t len, sqlite3_stmt **st, cached **ent,
                   eo_error *err)
{
    size_t i, victim = 0;
    int rc;
    *ent = NULL;
    for (i = 0; i < c->ncache; i++) {
        if (strcmp(c->cache[i].sql, sql) == 0) {
            if (c->cache[i].busy)
                break;
            c->cache[i].used = ++c->clock;
            c->cache[i].busy = 1;
            *st = c->cache[i].st;
            *ent = &c->cache[i];
            return EO_OK;
        }
    }
    rc = sqlite3_prepare_v2(c->db, sql, (int)len + 1, st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(c, err, rc, "prepare");
    if (i < c->ncache)
        return EO_OK; /* a busy twin exists: this one is the caller's to finalize */
    if (c->ncache == CACHE_MAX) {
        for (i = 1; i < c->ncache; i++)
            if (!c->cache[i].busy && c->cache[i].used < c->cache[victim].used)
                victim = i;
        if (c->cache[victim].busy)
            return EO_OK;
        sqlite3_finalize(c->cache[victim].st);
        eo_free(c->cache[victim].sql);
        i = victim;
    } else {
        i = c->ncache++;
    }
    c->cache[i].sql = eo_strndup(sql, len);
    if (c->cache[i].sql == NULL) {
        c->cache[i] = c->cache[--c->ncache];
        return EO_OK;
    }
    c->cache[i].st = *st;
    c->cache[i].used = ++c->clock;
    c->cache[i].busy = 1;
    *ent = &c->cache[i];
    return EO_OK;
}

static void release(sqlite3_stmt *st, cached *ent)
{
    sqlite3_reset(st);
    if (ent)
        ent->busy = 0;
    else
        sqlite3_finalize(st);
}

/* Bind v as parameter idx: text and blobs with `how` (SQLITE_STATIC borrows
 * them for the statement's run, SQLITE_TRANSIENT copies: cursors). */
static int bind_value_as(sqlite3_stmt *st, int idx, const eo_value *v, const eo_field *f,
                         sqlite3_destructor_type how)
{
    if (f && eo_ftype_base(f->type) == EO_FT_DECIMAL && v->type == EO_VTEXT) {
        int64_t n;
        if (eo_decimal__to_scaled(v->u.s.p, v->u.s.n, f->scale, &n) == 0)
            return sqlite3_bind_int64(st, idx, n);
    }
    if (f && eo_ftype_base(f->type) == EO_FT_DECIMAL && v->type == EO_VFLOAT)
        return sqlite3_bind_int64(st, idx, (sqlite3_int64)llround(v->u.f * pow(10, f->scale)));
    if (f && eo_ftype_base(f->type) == EO_FT_DECIMAL && v->type == EO_VINT) {
        int64_t n = v->u.i;
        int i;
        for (i = 0; i < f->scale; i++)
            n *= 10;
        return sqlite3_bind_int64(st, idx, n);
    }
    switch (v->type) {
    case EO_VNULL: return sqlite3_bind_null(st, idx);
    case EO_VBOOL: return sqlite3_bind_int(st, idx, v->u.b);
    case EO_VINT: return sqlite3_bind_int64(st, idx, v->u.i);
    case EO_VFLOAT: return sqlite3_bind_double(st, idx, v->u.f);
    case EO_VTEXT: return sqlite3_bind_text64(st, idx, v->u.s.p, v->u.s.n, how, SQLITE_UTF8);
    case EO_VBLOB: return sqlite3_bind_blob64(st, idx, v->u.s.p, v->u.s.n, how);
    }
    return SQLITE_MISUSE;
}

static int bind_value(sqlite3_stmt *st, int idx, const eo_value *v, const eo_field *f)
{
    return bind_value_as(st, idx, v, f, SQLITE_STATIC);
}

static int bind_params(sq_conn *c, sqlite3_stmt *st, const eo_sqlq *q, eo_error *err)
{
    size_t i;
    for (i = 0; i < q->params.len; i++) {
        const eo_sqlparam *p = eo_vec__at(&q->params, i);
        int rc = bind_value(st, (int)i + 1, &p->v, p->kind == EO_SQLP_FIELD ? p->field : NULL);
        if (rc != SQLITE_OK)
            return sq_error(c, err, rc, "bind");
    }
    return EO_OK;
}

/* Report a compiled statement to the tracer. The tracer reads its values
 * as one array, while q->params holds eo_sqlparam records: copy them out. */
static void trace_query(sq_conn *c, eo_qkind kind, const eo_sqlq *q, uint64_t ns, int64_t rows)
{
    eo_value few[20], *vals = few;
    size_t i, n = q->params.len;
    if (c->base.trace == NULL)
        return;
    if (n > 20 && (vals = eo_malloc(n * sizeof *vals)) == NULL) {
        vals = few; /* out of memory: trace the first ones only */
        n = 20;
    }
    for (i = 0; i < n; i++)
        vals[i] = ((const eo_sqlparam *)eo_vec__at(&q->params, i))->v;
    eo_conn_trace(&c->base, kind, q->sql.p, n ? vals : NULL, n, ns, rows);
    if (vals != few)
        eo_free(vals);
}

typedef char decbuf[48];

static eo_value column(sqlite3_stmt *st, int i, const eo_field *f, decbuf *scratch)
{
    int t = sqlite3_column_type(st, i);
    if (t == SQLITE_NULL)
        return eo_null();
    switch (f ? eo_ftype_base(f->type) : EO_FT_TEXT) {
    case EO_FT_BOOLEAN: return eo_bool(sqlite3_column_int(st, i) != 0);
    case EO_FT_DECIMAL:
        if (t == SQLITE_INTEGER) {
            eo_decimal__format_scaled(sqlite3_column_int64(st, i), f->scale, *scratch,
                                      sizeof *scratch);
            return eo_cstr(*scratch);
        }
        break;
    case EO_FT_ID:
    case EO_FT_INTEGER:
    case EO_FT_MANY2ONE:
        if (t == SQLITE_INTEGER)
            return eo_int(sqlite3_column_int64(st, i));
        break;
    case EO_FT_FLOAT:
        return eo_float(sqlite3_column_double(st, i));
    case EO_FT_BINARY: {
        const void *p = sqlite3_column_blob(st, i);
        return eo_blob(p ? p : "", (size_t)sqlite3_column_bytes(st, i));
    }
    default:
        break;
    }
    switch (t) {
    case SQLITE_INTEGER: return eo_int(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: return eo_float(sqlite3_column_double(st, i));
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(st, i);
        return eo_blob(p ? p : "", (size_t)sqlite3_column_bytes(st, i));
    }
    default: {
        const unsigned char *p = sqlite3_column_text(st, i);
        return eo_text((const char *)(p ? p : (const unsigned char *)""),
                       (size_t)sqlite3_column_bytes(st, i));
    }
    }
}

/* Run a compiled query; each row's columns are typed by fields[] (may hold NULLs). */
static int run_rows(sq_conn *c, eo_sqlq *q, eo_qkind kind, const eo_field *const *fields,
                    size_t ncols, eo_row_fn fn, void *payload, int64_t *changes, eo_error *err)
{
    sqlite3_stmt *st;
    cached *ent;
    eo_value *row = NULL;
    decbuf *scratch = NULL;
    uint64_t t0 = eo_clock__ns();
    int64_t nrows = 0;
    int rc, src;
    size_t i;

    if ((rc = prepare(c, q->sql.p, q->sql.len, &st, &ent, err)) != EO_OK)
        return rc;
    if (ncols) {
        row = eo_malloc(ncols * sizeof *row);
        scratch = eo_malloc(ncols * sizeof *scratch);
        if (row == NULL || scratch == NULL) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    if ((rc = bind_params(c, st, q, err)) != EO_OK)
        goto done;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        nrows++;
        if (fn == NULL)
            continue;
        for (i = 0; i < ncols; i++)
            row[i] = column(st, (int)i, fields ? fields[i] : NULL, &scratch[i]);
        if ((rc = fn(payload, row, ncols, err)) != EO_OK)
            goto done;
    }
    if (src != SQLITE_DONE) {
        rc = sq_error(c, err, src, "query");
        goto done;
    }
    if (changes) {
        *changes = sqlite3_changes64(c->db);
        nrows = *changes;
    }
done:
    release(st, ent);
    trace_query(c, kind, q, eo_clock__ns() - t0, nrows);
    eo_free(row);
    eo_free(scratch);
    return rc;
}

static int sq_select(eo_conn *base, const eo_query *qr, eo_row_fn fn, void *payload, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_sqlq q;
    int rc;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    if ((rc = eo_sql__select(&q, qr, err)) == EO_OK)
        rc = run_rows(c, &q, EO_Q_SELECT, qr->fields, qr->nfields, fn, payload, NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

/* ---- cursors ----
 *
 * A cursor is a statement of its own (not from the cache: it stays busy
 * for the whole iteration), its parameters copied, stepped n rows per
 * call. It steps one row ahead, so a call knows whether rows are left and
 * the last batch needs no empty call after it. Other statements may run
 * on the connection between calls (SQLite keeps the read open meanwhile).
 */

struct eo_adapter_cursor {
    sqlite3_stmt *st;
    const eo_field **fields;  /* Borrowed from the registry; the array Owned */
    size_t ncols;
    eo_value *row;
    decbuf *scratch;
    char *sql;                /* for the trace */
    char *line;               /* "-- step n: sql" (Owned) */
    size_t cap;
    int started, have_row;
};

static void sq_cursor_close(eo_conn *base, eo_adapter_cursor *cur)
{
    EO_UNUSED(base);
    if (cur == NULL)
        return;
    sqlite3_finalize(cur->st);
    eo_free(cur->fields);
    eo_free(cur->row);
    eo_free(cur->scratch);
    eo_free(cur->sql);
    eo_free(cur->line);
    eo_free(cur);
}

static int sq_cursor_open(eo_conn *base, const eo_query *qr, eo_adapter_cursor **out,
                          eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_adapter_cursor *cur;
    eo_sqlq q;
    uint64_t t0 = eo_clock__ns();
    size_t i, n = qr->nfields ? qr->nfields : 1;
    int rc, src;
    *out = NULL;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    if ((cur = eo_calloc(1, sizeof *cur)) == NULL ||
        (cur->fields = eo_calloc(n, sizeof *cur->fields)) == NULL ||
        (cur->row = eo_calloc(n, sizeof *cur->row)) == NULL ||
        (cur->scratch = eo_calloc(n, sizeof *cur->scratch)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur->ncols = qr->nfields;
    for (i = 0; i < qr->nfields; i++)
        cur->fields[i] = qr->fields[i];
    if ((rc = eo_sql__select(&q, qr, err)) != EO_OK)
        goto done;
    cur->cap = q.sql.len + 48;
    if ((cur->sql = eo_strndup(q.sql.p, q.sql.len)) == NULL ||
        (cur->line = eo_malloc(cur->cap)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    src = sqlite3_prepare_v2(c->db, q.sql.p, (int)q.sql.len + 1, &cur->st, NULL);
    if (src != SQLITE_OK) {
        rc = sq_error(c, err, src, "prepare");
        goto done;
    }
    for (i = 0; i < q.params.len; i++) {
        const eo_sqlparam *p = eo_vec__at(&q.params, i);
        src = bind_value_as(cur->st, (int)i + 1, &p->v,
                            p->kind == EO_SQLP_FIELD ? p->field : NULL, SQLITE_TRANSIENT);
        if (src != SQLITE_OK) {
            rc = sq_error(c, err, src, "bind");
            goto done;
        }
    }
done:
    trace_query(c, EO_Q_SELECT, &q, eo_clock__ns() - t0, -1);
    eo_sqlq__free(&q);
    if (rc != EO_OK)
        sq_cursor_close(base, cur);
    else
        *out = cur;
    return rc;
}

static int sq_cursor_step(sq_conn *c, eo_adapter_cursor *cur, eo_error *err)
{
    int src = sqlite3_step(cur->st);
    cur->have_row = src == SQLITE_ROW;
    if (src == SQLITE_ROW || src == SQLITE_DONE)
        return EO_OK;
    return sq_error(c, err, src, "query");
}

static int sq_cursor_next(eo_conn *base, eo_adapter_cursor *cur, size_t n, eo_row_fn fn,
                          void *payload, int *done, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    uint64_t t0 = eo_clock__ns();
    int64_t nrows = 0;
    size_t i;
    int rc = EO_OK;
    if (!cur->started) {
        cur->started = 1;
        rc = sq_cursor_step(c, cur, err);
    }
    while (rc == EO_OK && cur->have_row && (size_t)nrows < n) {
        for (i = 0; i < cur->ncols; i++)
            cur->row[i] = column(cur->st, (int)i, cur->fields[i], &cur->scratch[i]);
        nrows++;
        if ((rc = fn(payload, cur->row, cur->ncols, err)) == EO_OK)
            rc = sq_cursor_step(c, cur, err); /* one ahead: is a row left? */
    }
    *done = !cur->have_row;
    snprintf(cur->line, cur->cap, "-- step %zu: %s", n, cur->sql);
    eo_conn_trace(&c->base, EO_Q_SELECT, cur->line, NULL, 0, eo_clock__ns() - t0, nrows);
    return rc;
}

static int count_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    EO_UNUSED(ncols);
    EO_UNUSED(err);
    *(int64_t *)payload = row[0].type == EO_VINT ? row[0].u.i : 0;
    return EO_OK;
}

static int sq_count(eo_conn *base, const eo_query *qr, int64_t *out, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_sqlq q;
    int rc;
    *out = 0;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    if ((rc = eo_sql__count(&q, qr, err)) == EO_OK)
        rc = run_rows(c, &q, EO_Q_SELECT, NULL, 1, count_row, out, NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

/* Name the field behind "UNIQUE constraint failed: table.column". */
static int constraint_error(sq_conn *c, const eo_model *m, const eo_field *const *cols,
                            const eo_value *vals, size_t ncols, int rc, eo_error *err)
{
    const char *msg = sqlite3_errmsg(c->db);
    const char *dot = strrchr(msg, '.');
    size_t i;
    if ((rc & 0xff) == SQLITE_CONSTRAINT && strstr(msg, "UNIQUE constraint failed: ")) {
        /* a composite unique constraint: "... failed: t.a, t.b" */
        const char *list = strstr(msg, "failed: ") + 8;
        size_t k, x;
        for (x = 0; x < m->nindexes; x++) {
            const eo_model_index *ix = &m->indexes[x];
            eo_buf want = EO_BUF_INIT, rec = EO_BUF_INIT;
            int same;
            if (!ix->unique)
                continue;
            for (k = 0; k < ix->nfields; k++)
                eo_buf__printf(&want, "%s%s.%s", k ? ", " : "", m->table, ix->fields[k]->column);
            same = !want.oom && want.p && strcmp(want.p, list) == 0;
            eo_buf__free(&want);
            if (!same)
                continue;
            if (cols && vals)
                eo_model__describe_values(&rec, ix, cols, vals, ncols);
            eo_model__index_conflict(err, m, ix, rec.oom ? NULL : rec.p);
            eo_buf__free(&rec);
            eo_error__native(err, EO_DOMAIN_SQLITE, rc);
            return EO_ECONFLICT;
        }
    }
    if ((rc & 0xff) == SQLITE_CONSTRAINT && dot && strstr(msg, "UNIQUE")) {
        const char *colname = dot + 1;
        for (i = 0; i < ncols; i++) {
            if (cols[i]->column && strcmp(cols[i]->column, colname) == 0) {
                const eo_value *v = vals ? &vals[i] : NULL;
                if (v && v->type == EO_VTEXT)
                    eo_error_set(err, EO_ECONFLICT,
                                 "%s.%s: duplicate value '%.*s': it must be unique", m->name,
                                 cols[i]->name, (int)(v->u.s.n > 80 ? 80 : v->u.s.n), v->u.s.p);
                else if (v && v->type == EO_VINT)
                    eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value %lld: it must be unique",
                                 m->name, cols[i]->name, (long long)v->u.i);
                else
                    eo_error_set(err, EO_ECONFLICT, "%s.%s: duplicate value: it must be unique",
                                 m->name, cols[i]->name);
                eo_error_where(err, m->name, cols[i]->name);
                eo_error__native(err, EO_DOMAIN_SQLITE, rc);
                return EO_ECONFLICT;
            }
        }
    }
    if (rc == SQLITE_CONSTRAINT_NOTNULL) {
        eo_error_set(err, EO_EVALIDATE, "%s: %s", m->name, msg);
        eo_error__native(err, EO_DOMAIN_SQLITE, rc);
        return EO_EVALIDATE;
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
        eo_error_set(err, EO_EVALIDATE, "%s: a related record does not exist (%s)", m->name, msg);
        eo_error__native(err, EO_DOMAIN_SQLITE, rc);
        return EO_EVALIDATE;
    }
    return sq_error(c, err, rc, m->name);
}

static int sq_insert(eo_conn *base, const eo_model *m, const eo_field *const *cols, size_t ncols,
                     const eo_value *vals, size_t nrows, eo_id *out_ids, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_buf sql = EO_BUF_INIT;
    sqlite3_stmt *st = NULL;
    cached *ent = NULL;
    uint64_t t0 = eo_clock__ns();
    size_t r, i;
    int rc = EO_OK, src;

    eo_buf__puts(&sql, "INSERT INTO ");
    eo_sql__ident(&sql, m->table);
    if (ncols == 0) {
        eo_buf__puts(&sql, " DEFAULT VALUES");
    } else {
        eo_buf__puts(&sql, " (");
        for (i = 0; i < ncols; i++) {
            if (i)
                eo_buf__puts(&sql, ", ");
            eo_sql__ident(&sql, cols[i]->column);
        }
        eo_buf__puts(&sql, ") VALUES (");
        for (i = 0; i < ncols; i++)
            eo_buf__puts(&sql, i ? ", ?" : "?");
        eo_buf__putc(&sql, ')');
    }
    if (sql.oom) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = prepare(c, sql.p, sql.len, &st, &ent, err)) != EO_OK) {
        st = NULL;
        goto done;
    }
    for (r = 0; r < nrows; r++) {
        const eo_value *row = vals + r * ncols;
        for (i = 0; i < ncols; i++) {
            src = bind_value(st, (int)i + 1, &row[i], cols[i]);
            if (src != SQLITE_OK) {
                rc = sq_error(c, err, src, "bind");
                goto done;
            }
        }
        src = sqlite3_step(st);
        if (src != SQLITE_DONE) {
            rc = constraint_error(c, m, cols, row, ncols, src, err);
            goto done;
        }
        sqlite3_reset(st);
        out_ids[r] = eo_id_num(sqlite3_last_insert_rowid(c->db));
    }
done:
    if (st)
        release(st, ent);
    if (sql.p) {
        if (nrows > 1)
            eo_buf__printf(&sql, "  -- x %zu rows", nrows);
        eo_conn_trace(&c->base, EO_Q_INSERT, sql.p, nrows == 1 ? vals : NULL,
                      nrows == 1 ? ncols : 0, eo_clock__ns() - t0, (int64_t)nrows);
    }
    eo_buf__free(&sql);
    return rc;
}

static int update_rows(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                       const eo_field *const *cols, const eo_value *vals, size_t ncols,
                       const eo_field *check, const eo_value *expect, int64_t *affected,
                       eo_error *err);

static int sq_update(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                     const eo_field *const *cols, const eo_value *vals, size_t ncols,
                     int64_t *affected, eo_error *err)
{
    return update_rows(base, m, ids, nids, cols, vals, ncols, NULL, NULL, affected, err);
}

static int sq_update_if(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
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
    sq_conn *c = (sq_conn *)base;
    eo_sqlq q;
    size_t i;
    int rc;
    *affected = 0;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    eo_buf__puts(&q.sql, "UPDATE ");
    eo_sql__ident(&q.sql, m->table);
    eo_buf__puts(&q.sql, " SET ");
    for (i = 0; i < ncols; i++) {
        if (i)
            eo_buf__puts(&q.sql, ", ");
        eo_sql__ident(&q.sql, cols[i]->column);
        eo_buf__puts(&q.sql, " = ");
        if (eo_sql__param(&q, &vals[i], cols[i], EO_SQLP_FIELD) != EO_OK) {
            rc = eo_error_set(err, EO_ENOMEM, "out of memory");
            goto done;
        }
    }
    eo_buf__puts(&q.sql, " WHERE ");
    if ((rc = eo_sql__ids_in(&q, m, ids, nids, EO_IDNUM, err)) != EO_OK)
        goto done;
    if (check && (rc = eo_sql__and_equal(&q, check, expect, err)) != EO_OK)
        goto done;
    rc = run_rows(c, &q, EO_Q_UPDATE, NULL, 0, NULL, NULL, affected, err);
    if (rc == EO_ECONFLICT && err && err->native != 0)
        rc = constraint_error(c, m, cols, vals, ncols, err->native, err);
done:
    eo_sqlq__free(&q);
    return rc;
}

/* One value per record, UPDATE_EACH_ROWS records a statement (sql.c builds it). */
#define UPDATE_EACH_ROWS 2000

static int sq_update_each(eo_conn *base, const eo_model *m, const eo_id *ids, size_t n,
                          const eo_field *f, const eo_value *vals, int64_t *affected,
                          eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    size_t start;
    int rc = EO_OK;
    *affected = 0;
    for (start = 0; start < n && rc == EO_OK; start += UPDATE_EACH_ROWS) {
        size_t k = n - start < UPDATE_EACH_ROWS ? n - start : UPDATE_EACH_ROWS;
        int64_t got = 0;
        eo_sqlq q;
        eo_sqlq__init(&q, &eo_sql__sqlite);
        rc = eo_sql__update_each(&q, m, ids + start, k, f, vals + start, NULL, err);
        if (rc == EO_OK) {
            rc = run_rows(c, &q, EO_Q_UPDATE, NULL, 0, NULL, NULL, &got, err);
            if (rc == EO_ECONFLICT && err && err->native != 0)
                rc = constraint_error(c, m, &f, &vals[start], 1, err->native, err);
        }
        *affected += got;
        eo_sqlq__free(&q);
    }
    return rc;
}

static int sq_remove(eo_conn *base, const eo_model *m, const eo_id *ids, size_t nids,
                     int64_t *affected, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_sqlq q;
    int rc;
    *affected = 0;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    eo_buf__puts(&q.sql, "DELETE FROM ");
    eo_sql__ident(&q.sql, m->table);
    eo_buf__puts(&q.sql, " WHERE ");
    if ((rc = eo_sql__ids_in(&q, m, ids, nids, EO_IDNUM, err)) == EO_OK)
        rc = run_rows(c, &q, EO_Q_DELETE, NULL, 0, NULL, NULL, affected, err);
    if (rc == EO_ECONFLICT)
        rc = constraint_error(c, m, NULL, NULL, 0, err ? err->native : SQLITE_CONSTRAINT, err);
    eo_sqlq__free(&q);
    return rc;
}

typedef struct group_ctx {
    const eo_group_query *g;
    eo_row_fn fn;
    void *payload;
    eo_value *row;
    decbuf *scratch;
} group_ctx;

/* Rows come typed as stored: fix decimals (scaled) and booleans. */
static int group_row(void *payload, const eo_value *in, size_t ncols, eo_error *err)
{
    group_ctx *gc = payload;
    const eo_group_query *g = gc->g;
    size_t i;
    for (i = 0; i < ncols; i++)
        gc->row[i] = in[i];
    for (i = 0; i < g->nkeys; i++) {
        const eo_field *f = g->keys[i].field;
        if (g->keys[i].gran != EO_GRAN_NONE || in[i].type == EO_VNULL)
            continue;
        if (f->type == EO_FT_BOOLEAN && in[i].type == EO_VINT)
            gc->row[i] = eo_bool(in[i].u.i != 0);
        else if (eo_ftype_base(f->type) == EO_FT_DECIMAL && in[i].type == EO_VINT) {
            eo_decimal__format_scaled(in[i].u.i, f->scale, gc->scratch[i], sizeof gc->scratch[i]);
            gc->row[i] = eo_cstr(gc->scratch[i]);
        }
    }
    for (i = 0; i < g->naggs; i++) {
        const eo_group_agg *a = &g->aggs[i];
        size_t k = g->nkeys + 1 + i;
        const eo_value *v = &in[k];
        if (a->field == NULL || v->type == EO_VNULL)
            continue;
        if (eo_ftype_base(a->field->type) == EO_FT_DECIMAL) {
            double p = pow(10, a->field->scale);
            if (a->agg == EO_AGG_AVG)
                gc->row[k] = eo_float((v->type == EO_VINT ? (double)v->u.i : v->u.f) / p);
            else if (a->agg != EO_AGG_COUNT && a->agg != EO_AGG_COUNT_DISTINCT && v->type == EO_VINT) {
                eo_decimal__format_scaled(v->u.i, a->field->scale, gc->scratch[k],
                                          sizeof gc->scratch[k]);
                gc->row[k] = eo_cstr(gc->scratch[k]);
            }
        } else if (a->field->type == EO_FT_BOOLEAN && (a->agg == EO_AGG_MIN || a->agg == EO_AGG_MAX) &&
                   v->type == EO_VINT) {
            gc->row[k] = eo_bool(v->u.i != 0);
        } else if (a->field->type == EO_FT_FLOAT && v->type == EO_VINT) {
            gc->row[k] = eo_float((double)v->u.i);
        }
    }
    return gc->fn(gc->payload, gc->row, ncols, err);
}

static int sq_group(eo_conn *base, const eo_group_query *g, eo_row_fn fn, void *payload,
                    eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_sqlq q;
    group_ctx gc;
    size_t ncols = g->nkeys + 1 + g->naggs;
    int rc;
    gc.g = g;
    gc.fn = fn;
    gc.payload = payload;
    gc.row = eo_malloc(ncols * sizeof *gc.row);
    gc.scratch = eo_malloc(ncols * sizeof *gc.scratch);
    eo_sqlq__init(&q, &eo_sql__sqlite);
    if (gc.row == NULL || gc.scratch == NULL)
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    else if ((rc = eo_sql__group(&q, g, err)) == EO_OK)
        rc = run_rows(c, &q, EO_Q_SELECT, NULL, ncols, group_row, &gc, NULL, err);
    eo_sqlq__free(&q);
    eo_free(gc.row);
    eo_free(gc.scratch);
    return rc;
}

static int plan_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_buf *b = payload;
    EO_UNUSED(err);
    if (ncols >= 4 && row[3].type == EO_VTEXT)
        eo_buf__printf(b, "  %.*s\n", (int)row[3].u.s.n, row[3].u.s.p);
    return b->oom ? EO_ENOMEM : EO_OK;
}

static int sq_explain(eo_conn *base, const eo_query *qr, char **out, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_sqlq q;
    eo_buf b = EO_BUF_INIT, ex = EO_BUF_INIT;
    size_t i;
    int rc;
    *out = NULL;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    if ((rc = eo_sql__select(&q, qr, err)) != EO_OK)
        goto done;
    eo_buf__printf(&b, "sql: %s\n", q.sql.p);
    if (q.params.len) {
        eo_buf__puts(&b, "params:");
        for (i = 0; i < q.params.len; i++) {
            const eo_value *v = &((eo_sqlparam *)eo_vec__at(&q.params, i))->v;
            switch (v->type) {
            case EO_VINT: eo_buf__printf(&b, " %lld", (long long)v->u.i); break;
            case EO_VFLOAT: eo_buf__printf(&b, " %.17g", v->u.f); break;
            case EO_VTEXT: eo_buf__printf(&b, " '%.*s'", (int)(v->u.s.n > 60 ? 60 : v->u.s.n), v->u.s.p); break;
            case EO_VBOOL: eo_buf__puts(&b, v->u.b ? " true" : " false"); break;
            default: eo_buf__puts(&b, " null"); break;
            }
        }
        eo_buf__putc(&b, '\n');
    }
    eo_buf__puts(&b, "plan:\n");
    eo_buf__puts(&ex, "EXPLAIN QUERY PLAN ");
    eo_buf__put(&ex, q.sql.p, q.sql.len);
    eo_buf__free(&q.sql);
    q.sql = ex;
    ex.p = NULL;
    if ((rc = run_rows(c, &q, EO_Q_OTHER, NULL, 4, plan_row, &b, NULL, err)) != EO_OK)
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

static int sq_ping(eo_conn *base, eo_error *err)
{
    return exec_sql((sq_conn *)base, "SELECT 1", EO_Q_OTHER, err);
}

static int sq_begin(eo_conn *base, eo_isolation iso, eo_error *err)
{
    /* A transaction takes the write lock at BEGIN (IMMEDIATE), waiting for
     * it up to the busy timeout: a deferred transaction that reads and then
     * writes must upgrade its lock, and SQLite refuses that at once
     * (SQLITE_BUSY, without calling the busy handler) when another
     * connection wrote in between. ORM writes read first (unlink looks for
     * references), so they and user transactions without a level begin
     * IMMEDIATE. Asking for "read committed" or "repeatable read" begins
     * DEFERRED: such a transaction does not keep writers out while it
     * reads, and a write after its reads may fail at once with EO_EBUSY
     * (env:transaction's `retries`). Every level is serializable on
     * SQLite; reads outside a transaction take no lock. */
    int deferred = iso == EO_ISO_READ_COMMITTED || iso == EO_ISO_REPEATABLE_READ;
    return exec_sql((sq_conn *)base, deferred ? "BEGIN" : "BEGIN IMMEDIATE", EO_Q_TXN, err);
}

static int sq_commit(eo_conn *base, eo_error *err)
{
    return exec_sql((sq_conn *)base, "COMMIT", EO_Q_TXN, err);
}

static int sq_rollback(eo_conn *base, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    if (sqlite3_get_autocommit(c->db))
        return EO_OK; /* SQLite already rolled back (an error did it) */
    return exec_sql(c, "ROLLBACK", EO_Q_TXN, err);
}

static int sq_savepoint(eo_conn *base, eo_savepoint_op op, int depth, eo_error *err)
{
    char sql[64];
    static const char *const fmt[] = { "SAVEPOINT eo_sp%d", "RELEASE eo_sp%d",
                                       "ROLLBACK TO eo_sp%d" };
    snprintf(sql, sizeof sql, fmt[op], depth);
    return exec_sql((sq_conn *)base, sql, EO_Q_TXN, err);
}

/* ---- migration ---------------------------------------------------- */

typedef struct colinfo {
    char name[128];
    char type[32];
    int notnull;
} colinfo;

static int cols_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_vec *v = payload;
    colinfo ci;
    EO_UNUSED(ncols);
    memset(&ci, 0, sizeof ci);
    if (row[1].type == EO_VTEXT)
        snprintf(ci.name, sizeof ci.name, "%.*s", (int)row[1].u.s.n, row[1].u.s.p);
    if (row[2].type == EO_VTEXT)
        snprintf(ci.type, sizeof ci.type, "%.*s", (int)row[2].u.s.n, row[2].u.s.p);
    ci.notnull = row[3].type == EO_VINT && row[3].u.i;
    return eo_vec__push(v, &ci) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
}

static int names_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_vec *v = payload;
    colinfo ci;
    EO_UNUSED(ncols);
    memset(&ci, 0, sizeof ci);
    if (row[1].type == EO_VTEXT)
        snprintf(ci.name, sizeof ci.name, "%.*s", (int)row[1].u.s.n, row[1].u.s.p);
    return eo_vec__push(v, &ci) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
}

static int run_plain(sq_conn *c, const char *sql, const eo_value *params, size_t np, size_t ncols,
                     eo_row_fn fn, void *payload, eo_qkind kind, eo_error *err)
{
    eo_sqlq q;
    size_t i;
    int rc;
    eo_sqlq__init(&q, &eo_sql__sqlite);
    eo_buf__puts(&q.sql, sql);
    for (i = 0; i < np; i++) {
        eo_sqlparam p = { params[i], NULL, EO_SQLP_RAW };
        /* a missing parameter would run the cached statement with the
         * previous call's binding still in place */
        if (eo_vec__push(&q.params, &p) != EO_OK)
            q.sql.oom = 1;
    }
    if (q.sql.oom)
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
    else
        rc = run_rows(c, &q, kind, NULL, ncols, fn, payload, NULL, err);
    eo_sqlq__free(&q);
    return rc;
}

static int count_of(sq_conn *c, const char *sql, int64_t *n, eo_error *err)
{
    return run_plain(c, sql, NULL, 0, 1, count_row, n, EO_Q_SELECT, err);
}

static int ddl(sq_conn *c, const char *sql, int dry, eo_migrate_note_fn note, void *payload,
               eo_error *err)
{
    if (note)
        note(payload, sql);
    if (dry)
        return EO_OK;
    return exec_sql(c, sql, EO_Q_DDL, err);
}

/* EO_OK when the statement in b was built whole; a failed append would
 * otherwise run a truncated (or NULL) statement, or skip one silently. */
static int built(const eo_buf *b, eo_error *err)
{
    if (b->oom || b->p == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

static int refuse(eo_error *err, const eo_field *f, const char *fmt, const char *a, const char *b)
{
    char what[300];
    snprintf(what, sizeof what, fmt, a, b);
    eo_error_set(err, EO_EINVAL, "%s.%s: %s", f->model->name, f->name, what);
    eo_error_where(err, f->model->name, f->name);
    return EO_EINVAL;
}

/*
 * Decimal digits across migrations. A Decimal column holds integers scaled
 * by 10^scale, and nothing in the column says which scale: the digits each
 * Decimal column was migrated with are kept in the table "earnorm-schema"
 * (a name no model's table can have: model names hold no '-'). A change of
 * digits rescales the stored integers when every value fits the new digits
 * exactly, and is refused otherwise: migrate never rounds data. It runs in
 * migrate's transaction (eo_env_migrate), so a refusal changes nothing.
 * The other fields in INTEGER columns (Integer, Boolean, Many2one) are
 * recorded too, with precision -1 and their type in scale, so a column of
 * plain integers later declared a Decimal is refused, not read as 5 -> 0.05.
 */
#define META "\"earnorm-schema\""

typedef struct digits {
    char col[128];
    int precision, scale;
} digits;

static int digits_row(void *payload, const eo_value *row, size_t ncols, eo_error *err)
{
    eo_vec *v = payload;
    digits d;
    EO_UNUSED(ncols);
    memset(&d, 0, sizeof d);
    if (row[0].type == EO_VTEXT)
        snprintf(d.col, sizeof d.col, "%.*s", (int)row[0].u.s.n, row[0].u.s.p);
    d.precision = row[1].type == EO_VINT ? (int)row[1].u.i : 0;
    d.scale = row[2].type == EO_VINT ? (int)row[2].u.i : 0;
    return eo_vec__push(v, &d) ? eo_error_set(err, EO_ENOMEM, "out of memory") : EO_OK;
}

/* The recorded digits of m's Decimal columns (none when nothing is kept);
 * `kind` for the statistics (the env's check is bookkeeping, not a select). */
static int digits_load(sq_conn *c, const eo_model *m, eo_vec *out, eo_qkind kind, eo_error *err)
{
    eo_value args[1];
    int64_t have = 0;
    int rc;
    args[0] = eo_cstr("earnorm-schema");
    if ((rc = run_plain(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                        args, 1, 1, count_row, &have, kind, err)) != EO_OK ||
        !have)
        return rc;
    args[0] = eo_cstr(m->table);
    return run_plain(c, "SELECT col, precision, scale FROM " META " WHERE tbl = ?", args, 1, 3,
                     digits_row, out, kind, err);
}

/* The recorded digits of f in `had`, or NULL. */
static const digits *digits_of(const eo_vec *had, const eo_field *f)
{
    size_t j;
    for (j = 0; j < had->len; j++)
        if (strcmp(((const digits *)eo_vec__at(had, j))->col, f->column) == 0)
            return eo_vec__at(had, j);
    return NULL;
}

/* Whether a column's record is of plain integers (precision -1). */
static int plain_record(const digits *d) { return d->precision < 0; }

/* Fields other than Decimal kept in INTEGER columns: recorded as plain. */
static int plain_integer(const eo_field *f)
{
    return f->type == EO_FT_INTEGER || f->type == EO_FT_BOOLEAN || f->type == EO_FT_MANY2ONE;
}

/* A column recorded as Decimal whose field is declared another type (its
 * scaled integers would read as that type: 12.30 as 1230), or recorded as
 * plain integers and declared a Decimal (5 would read as 0.05). */
static int decimal_gone(const eo_field *f, const digits *d, eo_error *err)
{
    char held[48];
    if (plain_record(d))
        snprintf(held, sizeof held, "%s", eo_ftype_name((eo_ftype)d->scale));
    else
        snprintf(held, sizeof held, "Decimal (%d, %d)", d->precision, d->scale);
    return eo_schema__type_differs(err, f, held);
}

/* Whether the record d (NULL: none) disagrees with f being a Decimal or not. */
static int decimal_differs(const eo_field *f, const digits *d)
{
    if (d == NULL)
        return 0;
    return eo_ftype_base(f->type) == EO_FT_DECIMAL ? plain_record(d) : !plain_record(d);
}

/* The env's check before it uses m (internal.h): the digits recorded for
 * m's Decimal columns are the declared ones, and no column recorded as
 * Decimal has become another type. No record (a table from before digits
 * were kept, or none yet) passes, as migrate takes them; so a column that
 * was Integer and is declared Decimal cannot be told here. */
int eo_sqlite__schema_check(eo_conn *base, const eo_model *m, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_vec had = EO_VEC_INIT(digits);
    size_t i;
    int rc = digits_load(c, m, &had, EO_Q_OTHER, err);
    for (i = 1; i < m->nfields && rc == EO_OK && had.len; i++) {
        const eo_field *f = m->fields[i];
        const digits *d;
        if (!(f->flags & EO_FF_STORED) || (d = digits_of(&had, f)) == NULL)
            continue;
        if (decimal_differs(f, d))
            rc = decimal_gone(f, d, err);
        else if (eo_ftype_base(f->type) == EO_FT_DECIMAL &&
                 (d->precision != f->precision || d->scale != f->scale))
            rc = eo_schema__digits_differ(err, f, d->precision, d->scale);
    }
    eo_vec__free(&had);
    return rc;
}

/* Record the digits of m's Decimal columns (bookkeeping: neither a note
 * nor DDL in the stats). */
static int digits_save(sq_conn *c, const eo_model *m, const eo_vec *had, eo_error *err)
{
    size_t i, j;
    int rc = EO_OK, created = 0;
    for (i = 1; i < m->nfields && rc == EO_OK; i++) {
        const eo_field *f = m->fields[i];
        const digits *d = NULL;
        eo_value args[4];
        int prec = eo_ftype_base(f->type) == EO_FT_DECIMAL ? f->precision : -1;
        int scale = eo_ftype_base(f->type) == EO_FT_DECIMAL ? f->scale : (int)f->type;
        if ((eo_ftype_base(f->type) != EO_FT_DECIMAL && !plain_integer(f)) ||
            !(f->flags & EO_FF_STORED))
            continue;
        for (j = 0; j < had->len; j++)
            if (strcmp(((const digits *)eo_vec__at(had, j))->col, f->column) == 0)
                d = eo_vec__at(had, j);
        if (d && d->precision == prec && d->scale == scale)
            continue;
        if (!created) {
            rc = exec_sql(c, "CREATE TABLE IF NOT EXISTS " META " (tbl TEXT NOT NULL, col TEXT NOT "
                             "NULL, precision INTEGER NOT NULL, scale INTEGER NOT NULL, "
                             "PRIMARY KEY (tbl, col))", EO_Q_OTHER, err);
            created = 1;
            if (rc != EO_OK)
                break;
        }
        args[0] = eo_cstr(m->table);
        args[1] = eo_cstr(f->column);
        args[2] = eo_int(prec);
        args[3] = eo_int(scale);
        rc = run_plain(c, "INSERT OR REPLACE INTO " META " (tbl, col, precision, scale) "
                          "VALUES (?, ?, ?, ?)", args, 4, 0, NULL, NULL, EO_Q_OTHER, err);
    }
    return rc;
}

/* Forget what was recorded for a table that no longer exists. */
static int digits_forget(sq_conn *c, const eo_model *m, eo_error *err)
{
    eo_vec had = EO_VEC_INIT(digits);
    eo_value args[1];
    int rc = digits_load(c, m, &had, EO_Q_SELECT, err);
    if (rc == EO_OK && had.len) {
        args[0] = eo_cstr(m->table);
        rc = run_plain(c, "DELETE FROM " META " WHERE tbl = ?", args, 1, 0, NULL, NULL,
                       EO_Q_OTHER, err);
    }
    eo_vec__free(&had);
    return rc;
}

static int64_t pow10i(int e)
{
    int64_t p = 1;
    while (e-- > 0)
        p *= 10;
    return p;
}

/* Rescale column f from the recorded digits d to the field's, or refuse. */
static int digits_change(sq_conn *c, const eo_field *f, const digits *d, int dry,
                         eo_migrate_note_fn note, void *payload, eo_error *err)
{
    const eo_model *m = f->model;
    eo_buf b = EO_BUF_INIT, where = EO_BUF_INIT;
    int p0 = d->precision, s0 = d->scale, p1 = f->precision, s1 = f->scale;
    int lim = p1 - s1 + s0; /* stored |n| must stay below 10^lim */
    int64_t bad = 0, example = 0;
    int rc;
    /* which stored integers would not read back as the same number */
    eo_sql__ident(&where, f->column);
    eo_buf__puts(&where, " IS NOT NULL AND (0");
    if (s1 < s0) {
        eo_buf__puts(&where, " OR ");
        eo_sql__ident(&where, f->column);
        eo_buf__printf(&where, " %% %lld != 0", (long long)pow10i(s0 - s1));
    }
    if (lim < 18) {
        eo_buf__puts(&where, " OR abs(");
        eo_sql__ident(&where, f->column);
        eo_buf__printf(&where, ") >= %lld", (long long)pow10i(lim));
    }
    eo_buf__putc(&where, ')');
    eo_buf__puts(&b, "SELECT count(*) FROM ");
    eo_sql__ident(&b, m->table);
    eo_buf__puts(&b, " WHERE ");
    eo_buf__puts(&b, where.p ? where.p : "0");
    if ((rc = built(&b, err)) != EO_OK || (rc = count_of(c, b.p, &bad, err)) != EO_OK)
        goto done;
    if (bad > 0) {
        char ex[64];
        eo_buf__reset(&b);
        eo_buf__puts(&b, "SELECT ");
        eo_sql__ident(&b, f->column);
        eo_buf__puts(&b, " FROM ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " WHERE ");
        eo_buf__puts(&b, where.p ? where.p : "0");
        eo_buf__puts(&b, " LIMIT 1");
        if ((rc = built(&b, err)) != EO_OK || (rc = count_of(c, b.p, &example, err)) != EO_OK)
            goto done;
        eo_decimal__format_scaled(example, s0, ex, sizeof ex);
        rc = eo_error_set(err, EO_EINVAL,
                          "%s.%s: digits change from (%d, %d) to (%d, %d), but %lld stored "
                          "value%s would not fit without rounding (e.g. %s); migrate never rounds "
                          "data: change those values first, or keep the digits",
                          m->name, f->name, p0, s0, p1, s1, (long long)bad, bad == 1 ? "" : "s", ex);
        eo_error_where(err, m->name, f->name);
        goto done;
    }
    if (s1 != s0) {
        char line[300];
        eo_buf__reset(&b);
        eo_buf__puts(&b, "UPDATE ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " SET ");
        eo_sql__ident(&b, f->column);
        eo_buf__puts(&b, " = ");
        eo_sql__ident(&b, f->column);
        eo_buf__printf(&b, " %c %lld WHERE ", s1 > s0 ? '*' : '/',
                       (long long)pow10i(s1 > s0 ? s1 - s0 : s0 - s1));
        eo_sql__ident(&b, f->column);
        eo_buf__puts(&b, " IS NOT NULL");
        snprintf(line, sizeof line, "-- %s.%s: digits (%d, %d) -> (%d, %d): stored values rescaled",
                 m->name, f->name, p0, s0, p1, s1);
        if (note)
            note(payload, line);
        if ((rc = built(&b, err)) != EO_OK || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
            goto done;
    } else if (note) {
        char line[300];
        snprintf(line, sizeof line, "-- %s.%s: digits (%d, %d) -> (%d, %d): every stored value fits",
                 m->name, f->name, p0, s0, p1, s1);
        note(payload, line);
    }
done:
    eo_buf__free(&b);
    eo_buf__free(&where);
    return rc;
}

static int sq_migrate(eo_conn *base, const eo_model *m, int dry, eo_migrate_note_fn note,
                      void *payload, eo_error *err)
{
    sq_conn *c = (sq_conn *)base;
    eo_vec cols = EO_VEC_INIT(colinfo), idx = EO_VEC_INIT(colinfo), had = EO_VEC_INIT(digits);
    eo_buf b = EO_BUF_INIT;
    eo_value tname = eo_cstr(m->table);
    int64_t exists = 0, nrows = 0;
    size_t i, j;
    int rc;

    if ((rc = run_plain(c, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                        &tname, 1, 1, count_row, &exists, EO_Q_SELECT, err)) != EO_OK)
        goto done;
    if (exists)
        rc = digits_load(c, m, &had, EO_Q_SELECT, err);
    else if (!dry)
        rc = digits_forget(c, m, err); /* a table dropped by hand: its digits went with it */
    if (rc != EO_OK)
        goto done;
    if (!exists) {
        eo_buf__puts(&b, "CREATE TABLE ");
        eo_sql__ident(&b, m->table);
        eo_buf__puts(&b, " (\"id\" INTEGER PRIMARY KEY AUTOINCREMENT");
        for (i = 1; i < m->nfields; i++) {
            const eo_field *f = m->fields[i];
            const char *t = eo_sql__coltype(&eo_sql__sqlite, f);
            if (t == NULL)
                continue;
            eo_buf__puts(&b, ", ");
            eo_sql__ident(&b, f->column);
            eo_buf__printf(&b, " %s", t);
            if ((f->flags & EO_FF_REQUIRED) && !(f->flags & EO_FF_COMPUTED))
                eo_buf__puts(&b, " NOT NULL");
            eo_sql__references(&b, f); /* SQLite checks it when the row is written */
        }
        eo_buf__putc(&b, ')');
        if ((rc = built(&b, err)) != EO_OK || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
            goto done;
    } else {
        eo_buf__puts(&b, "PRAGMA table_info(");
        eo_sql__ident(&b, m->table);
        eo_buf__putc(&b, ')');
        if ((rc = built(&b, err)) != EO_OK ||
            (rc = run_plain(c, b.p, NULL, 0, 6, cols_row, &cols, EO_Q_OTHER, err)) != EO_OK)
            goto done;
        eo_buf__reset(&b);
        eo_buf__puts(&b, "SELECT count(*) FROM ");
        eo_sql__ident(&b, m->table);
        if ((rc = built(&b, err)) != EO_OK || (rc = count_of(c, b.p, &nrows, err)) != EO_OK)
            goto done;
        for (i = 1; i < m->nfields; i++) {
            const eo_field *f = m->fields[i];
            const char *t = eo_sql__coltype(&eo_sql__sqlite, f);
            const colinfo *have = NULL;
            int required = (f->flags & EO_FF_REQUIRED) && !(f->flags & EO_FF_COMPUTED);
            int64_t nulls = 0;
            if (t == NULL)
                continue;
            for (j = 0; j < cols.len; j++)
                if (strcmp(((colinfo *)eo_vec__at(&cols, j))->name, f->column) == 0)
                    have = eo_vec__at(&cols, j);
            if (have && strcasecmp(have->type, t) != 0) {
                rc = refuse(err, f,
                            "column is %s but the field needs %s; migrate does not change a column's type (data could be lost): convert it by hand",
                            have->type, t);
                goto done;
            }
            /* Decimal and Integer are both INTEGER columns: the record
             * says which one the values were written as */
            if (have && decimal_differs(f, digits_of(&had, f))) {
                rc = decimal_gone(f, digits_of(&had, f), err);
                goto done;
            }
            if (have && eo_ftype_base(f->type) == EO_FT_DECIMAL) {
                const digits *d = NULL;
                for (j = 0; j < had.len; j++)
                    if (strcmp(((digits *)eo_vec__at(&had, j))->col, f->column) == 0)
                        d = eo_vec__at(&had, j);
                /* no record: a table from before digits were kept; they are
                 * taken as they are declared now, and kept from here on */
                if (d && (d->precision != f->precision || d->scale != f->scale) &&
                    (rc = digits_change(c, f, d, dry, note, payload, err)) != EO_OK)
                    goto done;
            }
            if (!have) {
                eo_buf__reset(&b);
                eo_buf__puts(&b, "ALTER TABLE ");
                eo_sql__ident(&b, m->table);
                eo_buf__puts(&b, " ADD COLUMN ");
                eo_sql__ident(&b, f->column);
                eo_buf__printf(&b, " %s", t);
                eo_sql__references(&b, f);
                if (required && nrows > 0 && !(f->flags & EO_FF_DEFAULT)) {
                    char n[32];
                    snprintf(n, sizeof n, "%lld", (long long)nrows);
                    rc = refuse(err, f,
                                "a new required field without a default, and %s existing records would have no value; give it a default or make it optional first%s",
                                n, "");
                    goto done;
                }
                if ((rc = built(&b, err)) != EO_OK ||
                    (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
                    goto done;
                nulls = nrows;
            } else if (dry) {
                continue;
            }
            if (!dry && (f->flags & EO_FF_DEFAULT) && nrows > 0 && (required || !have)) {
                /* new column: existing records get the default */
                sqlite3_stmt *st;
                eo_buf__reset(&b);
                eo_buf__puts(&b, "UPDATE ");
                eo_sql__ident(&b, m->table);
                eo_buf__puts(&b, " SET ");
                eo_sql__ident(&b, f->column);
                eo_buf__puts(&b, " = ? WHERE ");
                eo_sql__ident(&b, f->column);
                eo_buf__puts(&b, " IS NULL");
                if (b.oom) {
                    rc = eo_error_set(err, EO_ENOMEM, "out of memory");
                    goto done;
                }
                if (sqlite3_prepare_v2(c->db, b.p, -1, &st, NULL) != SQLITE_OK) {
                    rc = sq_error(c, err, sqlite3_errcode(c->db), "prepare");
                    goto done;
                }
                bind_value(st, 1, &f->def, f);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                eo_conn_trace(&c->base, EO_Q_UPDATE, b.p, &f->def, 1, 0, sqlite3_changes64(c->db));
                if (rc != SQLITE_DONE) {
                    rc = sq_error(c, err, rc, "backfill");
                    goto done;
                }
                rc = EO_OK;
                if (note) {
                    char line[256];
                    snprintf(line, sizeof line, "-- %s.%s: existing records set to the default",
                             m->name, f->name);
                    note(payload, line);
                }
                continue;
            }
            if (required && have && !have->notnull) {
                eo_buf__reset(&b);
                eo_buf__puts(&b, "SELECT count(*) FROM ");
                eo_sql__ident(&b, m->table);
                eo_buf__puts(&b, " WHERE ");
                eo_sql__ident(&b, f->column);
                eo_buf__puts(&b, " IS NULL");
                if ((rc = built(&b, err)) != EO_OK || (rc = count_of(c, b.p, &nulls, err)) != EO_OK)
                    goto done;
                if (nulls > 0) {
                    char n[32];
                    snprintf(n, sizeof n, "%lld", (long long)nulls);
                    rc = refuse(err, f,
                                "the field is now required but %s records have no value; fill them or give the field a default%s",
                                n, "");
                    goto done;
                }
            }
        }
        for (j = 0; j < cols.len && note; j++) {
            const colinfo *ci = eo_vec__at(&cols, j);
            const eo_field *f = eo_model_field(m, ci->name, strlen(ci->name));
            if (f == NULL || !(f->flags & EO_FF_STORED)) {
                char line[300];
                snprintf(line, sizeof line, "-- %s: column %s has no field; kept (migrate never drops data)",
                         m->table, ci->name);
                note(payload, line);
            }
        }
    }
    /* indexes: ours are named <table>__<column>_uniq / _idx */
    if (exists) {
        eo_buf__reset(&b);
        eo_buf__puts(&b, "PRAGMA index_list(");
        eo_sql__ident(&b, m->table);
        eo_buf__putc(&b, ')');
        if ((rc = built(&b, err)) != EO_OK ||
            (rc = run_plain(c, b.p, NULL, 0, 5, names_row, &idx, EO_Q_OTHER, err)) != EO_OK)
            goto done;
    }
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
            if (rc == EO_ECONFLICT || (rc != EO_OK && want && k == 0)) {
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
            if ((rc = built(&b, err)) != EO_OK || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
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
        if ((rc = built(&b, err)) != EO_OK || (rc = ddl(c, b.p, dry, note, payload, err)) != EO_OK)
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
        if ((rc = built(&b, err)) != EO_OK)
            goto done;
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
    if (!dry)
        rc = digits_save(c, m, &had, err);
done:
    eo_vec__free(&cols);
    eo_vec__free(&idx);
    eo_vec__free(&had);
    eo_buf__free(&b);
    return rc;
}

const eo_adapter eo_sqlite_adapter = {
    "sqlite", "sqlite", EO_IDNUM,
    /* no EO_CAP_FOREIGN_KEYS: a column made before it was a Many2one has no
     * key (SQLite cannot add one in place), so the engine checks targets */
    EO_CAP_TRANSACTIONS | EO_CAP_SAVEPOINTS | EO_CAP_SUBQUERIES | EO_CAP_GROUP,
    sq_open, sq_close, sq_ping, sq_begin, sq_commit, sq_rollback, sq_savepoint,
    sq_migrate, sq_insert, sq_select, sq_count, sq_update, sq_remove, sq_group, sq_explain,
    NULL, /* foreign keys are declared with the columns */
    sq_update_each,
    sq_update_if,
    NULL, /* every write is done when it returns */
    sq_cursor_open, sq_cursor_next, sq_cursor_close,
};
