/*
 * env.c - environments: connection, transactions, statistics, query log.
 *
 * Transactions nest: the first eo_env_begin sends BEGIN, later ones create
 * savepoints; commit and rollback undo one level. ORM write operations use
 * the same nesting for their own atomicity (eo_env__atomic_begin/end), so a
 * failed create inside a user's transaction undoes only itself.
 *
 *   depth 0 --begin--> 1 (BEGIN) --begin--> 2 (SAVEPOINT sp2) ...
 *   depth n --commit--> n-1 (COMMIT at 1, RELEASE sp<n> above)
 *   depth n --rollback--> n-1 (ROLLBACK at 1, ROLLBACK TO + RELEASE above)
 *
 * A rollback clears the record store: it may hold values the database no
 * longer has.
 */
#include <stdio.h>

#include "env_int.h"
#include "journal.h"
#include "orm/version.h"

static void trace(void *payload, const eo_conn *c, eo_qkind kind, const char *text,
                  const eo_value *params, size_t nparams, uint64_t ns, int64_t rows)
{
    eo_env *env = payload;
    size_t i;
    EO_UNUSED(c);
    env->stats.by_kind[kind]++;
    if (kind <= EO_Q_DELETE)
        env->stats.queries++;
    env->stats.query_ns += ns;
    if (rows > 0)
        env->stats.rows += (uint64_t)rows;
    if (!env->log_queries)
        return;
    {
        FILE *f = env->log_file ? env->log_file : stderr;
        fprintf(f, "[%s %.3f ms] %s", env->adapter->name, (double)ns / 1e6, text);
        if (nparams) {
            fputs("  -- params: [", f);
            for (i = 0; i < nparams && i < 20; i++) {
                const eo_value *v = &params[i];
                if (i)
                    fputs(", ", f);
                switch (v->type) {
                case EO_VNULL: fputs("null", f); break;
                case EO_VBOOL: fputs(v->u.b ? "true" : "false", f); break;
                case EO_VINT: fprintf(f, "%lld", (long long)v->u.i); break;
                case EO_VFLOAT: fprintf(f, "%.17g", v->u.f); break;
                case EO_VTEXT:
                    if (v->u.s.n > 60)
                        fprintf(f, "'%.57s...'", v->u.s.p);
                    else
                        fprintf(f, "'%.*s'", (int)v->u.s.n, v->u.s.p);
                    break;
                case EO_VBLOB: fprintf(f, "<%zu bytes>", v->u.s.n); break;
                }
            }
            if (nparams > 20)
                fprintf(f, ", ... %zu more", nparams - 20);
            fputc(']', f);
        }
        if (rows >= 0)
            fprintf(f, "  -- %lld row%s", (long long)rows, rows == 1 ? "" : "s");
        fputc('\n', f);
        fflush(f);
    }
}

int eo_env_open(eo_env **out, eo_registry *reg, const eo_env_config *cfg, eo_error *err)
{
    eo_env *env = NULL;
    eo_conn *c = NULL;
    int rc;
    const char *text = cfg && cfg->database_url ? cfg->database_url : "sqlite://earnorm.db";

    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(reg);
    env = eo_calloc(1, sizeof *env);
    if (env == NULL || eo_store__new(&env->store) != EO_OK) {
        char shown[256];
        rc = eo_error_set(err, EO_ENOMEM, "out of memory opening %s",
                          eo_url__mask(text, shown, sizeof shown));
        goto done;
    }
    env->reg = reg;
    if (cfg && cfg->pool) {
        env->pool = cfg->pool;
        eo_pool_ref(env->pool);
    } else if ((rc = eo_pool_new(&env->pool, text, cfg ? cfg->pool_config : NULL, err)) != EO_OK) {
        goto done;
    }
    env->adapter = eo_pool_adapter(env->pool);
    env->log_queries = cfg ? cfg->log_queries : 0;
    env->log_file = cfg ? cfg->log_file : NULL;
    env->prefetch_max = cfg && cfg->prefetch_max ? cfg->prefetch_max : 20000;
    /* connect now: a bad host or password fails here, not at the first query */
    if ((rc = eo_env__conn(env, &c, err)) != EO_OK)
        goto done;
    env->caps = c->caps ? c->caps : env->adapter->caps;
    /* where each query scans the table, one large window beats several */
    if ((env->caps & EO_CAP_SCANS) && !(cfg && cfg->prefetch_max))
        env->prefetch_max = EO_SCAN_PREFETCH;
    snprintf(env->server, sizeof env->server, "%s", c->server[0] ? c->server : env->adapter->name);
    eo_env__done(env, c);
    *out = env;
    env = NULL;
done:
    eo_env_free(env);
    return rc;
}

void eo_env_free(eo_env *env)
{
    if (env == NULL)
        return;
    eo_cursor__detach_all(env);
    if (env->conn) {
        /* an open transaction dies with its env: the pool rolls it back */
        eo_pool_release(env->pool, env->conn);
        env->conn = NULL;
    }
    eo_pool_unref(env->pool);
    eo_store__free(env->store);
    eo_deps__free(env);
    eo_journal__free(env->journal);
    eo_strmap__free(&env->checked);
    eo_free(env);
}

int eo_env__conn(eo_env *env, eo_conn **out, eo_error *err)
{
    if (env->conn) {
        *out = env->conn;
        return EO_OK;
    }
    if (env->held) {
        *out = env->held;
        return EO_OK;
    }
    return eo_env__acquire(env, out, err);
}

int eo_env__acquire(eo_env *env, eo_conn **out, eo_error *err)
{
    int rc;
    if ((rc = eo_pool_acquire(env->pool, out, err)) != EO_OK) {
        if (rc == EO_ETIMEOUT && env->ncursors && err) {
            /* say who holds them: a cursor outside a transaction may keep one */
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof err->msg - len,
                     "; %zu open cursor%s of this env hold%s (outside a transaction a "
                     "PostgreSQL cursor keeps a connection of its own): raise pool_max or "
                     "iterate inside a transaction", env->ncursors,
                     env->ncursors == 1 ? "" : "s",
                     env->ncursors == 1 ? "s one" : " some");
        }
        return rc;
    }
    (*out)->trace = trace;
    (*out)->trace_payload = env;
    return EO_OK;
}

void eo_env__done(eo_env *env, eo_conn *c)
{
    if (c != NULL && c != env->conn && c != env->held)
        eo_pool_release(env->pool, c);
}

void eo_env__hold(eo_env *env, eo_conn *c)
{
    if (EO_NEVER(env->held != NULL && env->held != c))
        return;
    env->held = c;
    env->nheld++;
}

void eo_env__drop(eo_env *env, eo_conn *c)
{
    if (EO_NEVER(env->held != c || env->nheld == 0))
        return;
    if (--env->nheld > 0)
        return;
    env->held = NULL;
    if (c != env->conn)
        eo_pool_release(env->pool, c);
}

/*
 * Does the database store m as declared, where a difference would be read
 * wrongly (internal.h, eo_schema_check_fn)? Asked before the first
 * statement on m, then remembered until the registry changes or this env
 * migrates: one check per model per env, not per query. A model that
 * fails is asked again next time (a migrate elsewhere may have fixed it).
 */
int eo_env__checked(eo_env *env, eo_conn *c, const eo_model *m, eo_error *err)
{
    eo_schema_check_fn check;
    unsigned v = eo_registry_version(env->reg);
    size_t len;
    int rc;
    if (env->checked_version != v) {
        eo_strmap__free(&env->checked);
        env->checked_version = v;
    }
    len = strlen(m->name);
    if (eo_strmap__get(&env->checked, m->name, len) != NULL)
        return EO_OK;
    check = eo_adapter__schema_check(env->adapter);
    if (check && (rc = check(c, m, err)) != EO_OK)
        return rc;
    if (eo_strmap__put(&env->checked, m->name, len, (void *)m) != EO_OK)
        return eo_error_set(err, EO_ENOMEM, "out of memory");
    return EO_OK;
}

/* The connection for a statement on m, checked (eo_env__conn, schema_checked). */
static int conn_for(eo_env *env, const eo_model *m, eo_conn **out, eo_error *err)
{
    int rc = eo_env__conn(env, out, err);
    if (rc != EO_OK)
        return rc;
    if ((rc = eo_env__checked(env, *out, m, err)) != EO_OK) {
        eo_env__done(env, *out);
        *out = NULL;
    }
    return rc;
}

int eo_env__select(eo_env *env, const eo_query *q, eo_row_fn fn, void *payload, eo_error *err)
{
    eo_conn *c;
    int rc = conn_for(env, q->model, &c, err);
    if (rc != EO_OK)
        return rc;
    rc = env->adapter->select(c, q, fn, payload, err);
    eo_env__done(env, c);
    return rc;
}

int eo_env__count(eo_env *env, const eo_query *q, int64_t *out, eo_error *err)
{
    eo_conn *c;
    int rc = conn_for(env, q->model, &c, err);
    if (rc != EO_OK)
        return rc;
    rc = env->adapter->count(c, q, out, err);
    eo_env__done(env, c);
    return rc;
}

int eo_env__insert(eo_env *env, const eo_model *m, const eo_field *const *cols, size_t ncols,
                   const eo_value *vals, size_t nrows, eo_id *out_ids, eo_error *err)
{
    return eo_env__insert_more(env, m, cols, ncols, vals, nrows, 0, out_ids, err);
}

int eo_env__insert_more(eo_env *env, const eo_model *m, const eo_field *const *cols,
                        size_t ncols, const eo_value *vals, size_t nrows, size_t more,
                        eo_id *out_ids, eo_error *err)
{
    eo_conn *c;
    int rc = conn_for(env, m, &c, err);
    if (rc != EO_OK)
        return rc;
    c->insert_more = c->txn_depth > 0 ? more : 0;
    rc = env->adapter->insert(c, m, cols, ncols, vals, nrows, out_ids, err);
    c->insert_more = 0;
    eo_env__done(env, c);
    if (rc == EO_OK && eo_journal__active(env->journal))
        rc = eo_journal__inserted(env->journal, m, out_ids, nrows, err);
    return rc;
}

int eo_env__update(eo_env *env, const eo_model *m, const eo_id *ids, size_t nids,
                   const eo_field *const *cols, const eo_value *vals, size_t ncols,
                   int64_t *affected, eo_error *err)
{
    eo_conn *c;
    int rc;
    if (eo_journal__active(env->journal) &&
        (rc = eo_journal__updating(env, env->journal, m, ids, nids, cols, ncols, err)) != EO_OK)
        return rc;
    if ((rc = conn_for(env, m, &c, err)) != EO_OK)
        return rc;
    rc = env->adapter->update(c, m, ids, nids, cols, vals, ncols, affected, err);
    eo_env__done(env, c);
    return rc;
}

int eo_env__update_if(eo_env *env, const eo_model *m, const eo_id *ids, size_t nids,
                      const eo_field *const *cols, const eo_value *vals, size_t ncols,
                      const eo_field *check, const eo_value *expect, int64_t *affected,
                      eo_error *err)
{
    eo_conn *c;
    int rc;
    *affected = 0;
    if (env->adapter->update_if == NULL)
        return eo_error_set(err, EO_ENOTSUP,
                            "%s: the %s adapter cannot check versions (no update_if): "
                            "models with _version are not supported on it",
                            m->name, env->adapter->name);
    if (eo_journal__active(env->journal) &&
        (rc = eo_journal__updating(env, env->journal, m, ids, nids, cols, ncols, err)) != EO_OK)
        return rc;
    if ((rc = conn_for(env, m, &c, err)) != EO_OK)
        return rc;
    rc = env->adapter->update_if(c, m, ids, nids, cols, vals, ncols, check, expect, affected,
                                 err);
    eo_env__done(env, c);
    return rc;
}

int eo_env__update_each(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, const eo_value *vals, int64_t *affected,
                        eo_error *err)
{
    eo_conn *c;
    size_t i;
    int rc;
    *affected = 0;
    if (eo_journal__active(env->journal) &&
        (rc = eo_journal__updating(env, env->journal, m, ids, n, &f, 1, err)) != EO_OK)
        return rc;
    if ((rc = conn_for(env, m, &c, err)) != EO_OK)
        return rc;
    if (env->adapter->update_each) {
        rc = env->adapter->update_each(c, m, ids, n, f, vals, affected, err);
    } else {
        for (i = 0; i < n && rc == EO_OK; i++) {
            int64_t one = 0;
            rc = env->adapter->update(c, m, &ids[i], 1, &f, &vals[i], 1, &one, err);
            *affected += one;
        }
    }
    eo_env__done(env, c);
    return rc;
}

int eo_env__remove(eo_env *env, const eo_model *m, const eo_id *ids, size_t nids,
                   int64_t *affected, eo_error *err)
{
    eo_conn *c;
    int rc;
    if (eo_journal__active(env->journal) &&
        (rc = eo_journal__deleting(env, env->journal, m, ids, nids, err)) != EO_OK)
        return rc;
    if ((rc = conn_for(env, m, &c, err)) != EO_OK)
        return rc;
    rc = env->adapter->remove(c, m, ids, nids, affected, err);
    eo_env__done(env, c);
    return rc;
}

int eo_env__group(eo_env *env, const eo_group_query *q, eo_row_fn fn, void *payload,
                  eo_error *err)
{
    eo_conn *c;
    int rc = conn_for(env, q->model, &c, err);
    if (rc != EO_OK)
        return rc;
    rc = env->adapter->group(c, q, fn, payload, err);
    eo_env__done(env, c);
    return rc;
}

int eo_env__explain(eo_env *env, const eo_query *q, char **out, eo_error *err)
{
    eo_conn *c;
    int rc = conn_for(env, q->model, &c, err);
    if (rc != EO_OK)
        return rc;
    rc = env->adapter->explain(c, q, out, err);
    eo_env__done(env, c);
    return rc;
}

/* Getters: a NULL env reads as NULL, 0 or EO_IDNUM (nothing to report an error in). */
eo_registry *eo_env_registry(const eo_env *env) { return env ? env->reg : NULL; }
const char *eo_env_backend(const eo_env *env) { return env ? env->adapter->name : NULL; }
eo_idkind eo_env_idkind(const eo_env *env) { return env ? env->adapter->idkind : EO_IDNUM; }
const char *eo_env_url(const eo_env *env) { return env ? eo_pool_url(env->pool) : NULL; }
int eo_env_txn_depth(const eo_env *env) { return env && env->conn ? env->conn->txn_depth : 0; }
eo_pool *eo_env_pool(const eo_env *env) { return env ? env->pool : NULL; }

int eo_env__ready(eo_env *env, eo_error *err)
{
    unsigned v = eo_registry_version(env->reg);
    int rc;
    if (env->resolved_version == v)
        return EO_OK;
    if ((rc = eo_registry_resolve(env->reg, err)) != EO_OK)
        return rc;
    env->resolved_version = eo_registry_version(env->reg); /* resolving may add junctions */
    return EO_OK;
}

/*
 * Open a transaction, or a savepoint inside one. A user's outermost
 * transaction (not an ORM operation's own atomic scope) starts with an
 * empty record store: values cached before it may be older than its
 * snapshot, and under REPEATABLE READ or SERIALIZABLE it must read what
 * the server shows it.
 */
static int begin_level(eo_env *env, eo_isolation iso, int user, eo_error *err)
{
    eo_conn *c = env->conn;
    int rc;
    if (c == NULL) {
        if (!(env->caps & EO_CAP_TRANSACTIONS))
            return eo_error_set(err, EO_ENOTSUP,
                                "%s: this server (%s) has no transactions, so a transaction "
                                "cannot be kept; use a server that has them (a MongoDB replica set)",
                                env->adapter->name, env->server);
        /* the transaction keeps one connection until it ends */
        if ((rc = eo_env__conn(env, &c, err)) != EO_OK)
            return rc;
        if ((rc = env->adapter->begin(c, iso, err)) != EO_OK) {
            eo_env__done(env, c);
            return rc;
        }
        c->txn_depth = 1;
        env->conn = c;
        if (user)
            eo_store__clear(env->store);
        eo_deps__scope_begin(env);
        return EO_OK;
    }
    if (iso != EO_ISO_DEFAULT)
        return eo_error_set(err, EO_ETXNSTATE,
                            "an isolation level can only be chosen for the outermost transaction");
    if ((rc = env->adapter->savepoint(c, EO_SP_CREATE, c->txn_depth + 1, err)) == EO_OK) {
        c->txn_depth++;
        eo_deps__scope_begin(env);
    }
    return rc;
}

int eo_env_begin(eo_env *env, eo_isolation iso, eo_error *err)
{
    EO_ENTER();
    EO_REQUIRE(env);
    return begin_level(env, iso, 1, err);
}

/* The outermost level ended: give the connection back. */
static void unpin(eo_env *env)
{
    eo_conn *c = env->conn;
    env->conn = NULL;
    if (c != env->held) /* else the cursors that hold it give it back */
        eo_pool_release(env->pool, c);
}

/* The writes left in flight on the transaction's connection, confirmed. */
static int flush(eo_env *env, eo_error *err)
{
    if (env->conn == NULL || env->adapter->flush == NULL)
        return EO_OK;
    return env->adapter->flush(env->conn, err);
}

int eo_env_commit(eo_env *env, eo_error *err)
{
    eo_conn *c;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    if ((c = env->conn) == NULL)
        return eo_error_set(err, EO_ETXNSTATE, "commit outside a transaction");
    if ((rc = flush(env, err)) != EO_OK)
        return rc;
    if (c->txn_depth > 1) {
        if ((rc = env->adapter->savepoint(c, EO_SP_RELEASE, c->txn_depth, err)) == EO_OK) {
            c->txn_depth--;
            eo_deps__scope_end(env, 1);
        }
        return rc;
    }
    rc = env->adapter->commit(c, err);
    if (rc == EO_OK)
        c->txn_depth = 0;
    else
        eo_store__clear(env->store); /* the pool rolls back what did not commit */
    eo_deps__scope_end(env, rc == EO_OK);
    unpin(env);
    return rc;
}

int eo_env_rollback(eo_env *env, eo_error *err)
{
    eo_conn *c;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    if ((c = env->conn) == NULL)
        return eo_error_set(err, EO_ETXNSTATE, "rollback outside a transaction");
    if (c->txn_depth > 1) {
        rc = env->adapter->savepoint(c, EO_SP_ROLLBACK, c->txn_depth, err);
        if (rc == EO_OK)
            rc = env->adapter->savepoint(c, EO_SP_RELEASE, c->txn_depth, err);
        /* the level is gone whatever the server said */
        c->txn_depth--;
    } else {
        rc = c->broken ? EO_OK : env->adapter->rollback(c, err);
        if (rc == EO_OK)
            c->txn_depth = 0;
        unpin(env);
    }
    eo_store__clear(env->store);
    eo_deps__scope_end(env, 0);
    return rc;
}

int eo_env__atomic_begin(eo_env *env, eo_error *err)
{
    if (!(env->caps & EO_CAP_TRANSACTIONS)) {
        int rc = eo_journal__begin(&env->journal, err);
        if (rc == EO_OK)
            eo_deps__scope_begin(env);
        return rc;
    }
    return begin_level(env, EO_ISO_DEFAULT, 0, err);
}

int eo_env__atomic_end(eo_env *env, int rc, eo_error *err)
{
    if (!(env->caps & EO_CAP_TRANSACTIONS)) {
        /* keep the first error; a failed undo only adds to it */
        eo_journal__end(env, env->journal, rc == EO_OK, NULL);
        if (rc != EO_OK)
            eo_store__clear(env->store);
        eo_deps__scope_end(env, rc == EO_OK);
        return rc;
    }
    /* a write in flight that fails undoes the scope, as any failure does */
    if (rc == EO_OK)
        rc = flush(env, err);
    if (rc == EO_OK)
        return eo_env_commit(env, err);
    eo_env_rollback(env, NULL);
    return rc;
}

int eo_env__atomic_begin_one(eo_env *env, int *solo, eo_error *err)
{
    *solo = (env->caps & EO_CAP_TRANSACTIONS) && env->conn == NULL;
    if (!*solo)
        return eo_env__atomic_begin(env, err);
    eo_deps__scope_begin(env);
    return EO_OK;
}

int eo_env__atomic_end_one(eo_env *env, int solo, int rc, eo_error *err)
{
    if (!solo)
        return eo_env__atomic_end(env, rc, err);
    if (rc != EO_OK)
        eo_store__clear(env->store);
    eo_deps__scope_end(env, rc == EO_OK);
    return rc;
}

int eo_env_atomic_begin(eo_env *env, eo_error *err)
{
    EO_ENTER();
    EO_REQUIRE(env);
    return eo_env__atomic_begin(env, err);
}

int eo_env_atomic_end(eo_env *env, int ok, eo_error *err)
{
    if (!ok) {
        /* Undo. err is left alone: the caller may pass the very struct
         * that holds the error that made the scope fail. */
        if (env == NULL)
            return eo_error__null(err, __func__, "env");
        eo_env__atomic_end(env, EO_ERROR, NULL);
        return EO_OK;
    }
    EO_ENTER();
    EO_REQUIRE(env);
    return eo_env__atomic_end(env, EO_OK, err);
}

unsigned eo_env_caps(const eo_env *env) { return env ? env->caps : 0; }
size_t eo_env_prefetch_max(const eo_env *env)
{
    return env ? env->prefetch_max : 0;
}

const char *eo_env_server(const eo_env *env) { return env ? env->server : NULL; }

void eo_env_stats(const eo_env *env, eo_stats *out)
{
    if (out == NULL)
        return;
    if (env == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = env->stats;
    out->store_records = eo_store__records(env->store);
    out->store_values = eo_store__values(env->store);
    out->cursors = env->ncursors;
}

void eo_env_reset_stats(eo_env *env)
{
    if (env)
        memset(&env->stats, 0, sizeof env->stats);
}

void eo_env_set_query_log(eo_env *env, int on, FILE *f)
{
    if (env == NULL)
        return;
    env->log_queries = on;
    env->log_file = f;
}

void eo_env_invalidate_all(eo_env *env)
{
    if (env)
        eo_store__clear(env->store);
}

int eo_env_migrate(eo_env *env, int dry_run, eo_migrate_note_fn note, void *payload,
                   eo_error *err)
{
    size_t i, n;
    int rc;
    EO_ENTER();
    EO_REQUIRE(env);
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (!dry_run && (rc = eo_env__atomic_begin(env, err)) != EO_OK)
        return rc;
    n = eo_registry_count(env->reg);
    for (i = 0; i < n && rc == EO_OK; i++) {
        const eo_model *m = eo_registry_at(env->reg, i);
        if (m->abstract)
            continue;
        eo_conn *c;
        if ((rc = eo_env__conn(env, &c, err)) != EO_OK)
            break;
        rc = env->adapter->migrate(c, m, dry_run, note, payload, err);
        eo_env__done(env, c);
    }
    /* constraints between tables, now that every table exists */
    for (i = 0; i < n && rc == EO_OK && env->adapter->migrate_constraints; i++) {
        const eo_model *m = eo_registry_at(env->reg, i);
        eo_conn *c;
        if (m->abstract)
            continue;
        if ((rc = eo_env__conn(env, &c, err)) != EO_OK)
            break;
        rc = env->adapter->migrate_constraints(c, m, dry_run, note, payload, err);
        eo_env__done(env, c);
    }
    /* rows older than a _version declaration start at version 1 */
    for (i = 0; i < n && rc == EO_OK && !dry_run; i++)
        rc = eo_version__backfill(env, eo_registry_at(env->reg, i), note, payload, err);
    if (!dry_run)
        rc = eo_env__atomic_end(env, rc, err);
    if (rc == EO_OK && !dry_run) {
        /* the stored schema may have changed (digits rescaled): check again */
        eo_strmap__free(&env->checked);
    }
    if (rc == EO_OK)
        eo_store__clear(env->store);
    return rc;
}

int eo_env_ping(eo_env *env, double *ms, eo_error *err)
{
    uint64_t t0 = eo_clock__ns();
    eo_conn *c;
    int rc;
    EO_ENTER();
    if (ms)
        *ms = 0;
    EO_REQUIRE(env);
    if ((rc = eo_env__conn(env, &c, err)) == EO_OK) {
        rc = env->adapter->ping(c, err);
        eo_env__done(env, c);
    }
    if (ms)
        *ms = (double)(eo_clock__ns() - t0) / 1e6;
    return rc;
}
