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

static char *mask_url(const char *url)
{
    /* scheme://user:secret@host -> scheme://user:***@host */
    const char *at = strchr(url, '@'), *colon;
    const char *start = strstr(url, "://");
    eo_buf b = EO_BUF_INIT;
    if (at == NULL || start == NULL || at < start)
        return eo_strdup(url);
    colon = memchr(start + 3, ':', (size_t)(at - start - 3));
    if (colon == NULL)
        return eo_strdup(url);
    eo_buf__put(&b, url, (size_t)(colon - url + 1));
    eo_buf__puts(&b, "***");
    eo_buf__puts(&b, at);
    return b.oom ? (eo_buf__free(&b), NULL) : eo_buf__detach(&b);
}

int eo_env_open(eo_env **out, eo_registry *reg, const eo_env_config *cfg, eo_error *err)
{
    eo_env *env = NULL;
    eo_url url;
    int rc;
    const char *text = cfg && cfg->database_url ? cfg->database_url : "sqlite://earnorm.db";

    *out = NULL;
    memset(&url, 0, sizeof url);
    if ((rc = eo_url_parse(&url, text, err)) != EO_OK)
        return rc;
    env = eo_calloc(1, sizeof *env);
    if (env == NULL || eo_store__new(&env->store) != EO_OK ||
        (env->url = mask_url(text)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory opening %s", text);
        goto done;
    }
    env->reg = reg;
    env->adapter = eo_adapter_find(url.scheme);
    if (env->adapter == NULL) {
        rc = eo_error_set(err, EO_EINVAL,
                          "no database adapter for '%s://' in %s (known: sqlite, postgresql)",
                          url.scheme, env->url);
        goto done;
    }
    if ((rc = env->adapter->open(&env->conn, &url, err)) != EO_OK)
        goto done;
    env->conn->trace = trace;
    env->conn->trace_payload = env;
    env->log_queries = cfg ? cfg->log_queries : 0;
    env->log_file = cfg ? cfg->log_file : NULL;
    env->prefetch_max = cfg && cfg->prefetch_max ? cfg->prefetch_max : 20000;
    *out = env;
    env = NULL;
done:
    eo_url_free(&url);
    eo_env_free(env);
    return rc;
}

void eo_env_free(eo_env *env)
{
    if (env == NULL)
        return;
    if (env->conn) {
        if (env->conn->txn_depth > 0 && !env->conn->broken)
            env->adapter->rollback(env->conn, NULL);
        env->adapter->close(env->conn);
    }
    eo_store__free(env->store);
    eo_free(env->url);
    eo_free(env);
}

eo_registry *eo_env_registry(const eo_env *env) { return env->reg; }
const char *eo_env_backend(const eo_env *env) { return env->adapter->name; }
eo_idkind eo_env_idkind(const eo_env *env) { return env->adapter->idkind; }
const char *eo_env_url(const eo_env *env) { return env->url; }
int eo_env_txn_depth(const eo_env *env) { return env->conn->txn_depth; }

int eo_env__ready(eo_env *env, eo_error *err)
{
    unsigned v = eo_registry_version(env->reg);
    int rc;
    if (env->resolved_version == v)
        return EO_OK;
    if ((rc = eo_registry_resolve(env->reg, err)) != EO_OK)
        return rc;
    env->resolved_version = v;
    return EO_OK;
}

int eo_env_begin(eo_env *env, eo_isolation iso, eo_error *err)
{
    eo_conn *c = env->conn;
    int rc;
    if (c->txn_depth == 0) {
        if (!(env->adapter->caps & EO_CAP_TRANSACTIONS))
            return eo_error_set(err, EO_ENOTSUP, "%s: this server has no transactions",
                                env->adapter->name);
        rc = env->adapter->begin(c, iso, err);
    } else {
        if (iso != EO_ISO_DEFAULT)
            return eo_error_set(err, EO_ETXNSTATE,
                                "an isolation level can only be chosen for the outermost transaction");
        rc = env->adapter->savepoint(c, EO_SP_CREATE, c->txn_depth + 1, err);
    }
    if (rc == EO_OK)
        c->txn_depth++;
    return rc;
}

int eo_env_commit(eo_env *env, eo_error *err)
{
    eo_conn *c = env->conn;
    int rc;
    if (c->txn_depth == 0)
        return eo_error_set(err, EO_ETXNSTATE, "commit outside a transaction");
    if (c->txn_depth == 1)
        rc = env->adapter->commit(c, err);
    else
        rc = env->adapter->savepoint(c, EO_SP_RELEASE, c->txn_depth, err);
    if (rc == EO_OK)
        c->txn_depth--;
    return rc;
}

int eo_env_rollback(eo_env *env, eo_error *err)
{
    eo_conn *c = env->conn;
    int rc;
    if (c->txn_depth == 0)
        return eo_error_set(err, EO_ETXNSTATE, "rollback outside a transaction");
    if (c->txn_depth == 1) {
        rc = env->adapter->rollback(c, err);
    } else {
        rc = env->adapter->savepoint(c, EO_SP_ROLLBACK, c->txn_depth, err);
        if (rc == EO_OK)
            rc = env->adapter->savepoint(c, EO_SP_RELEASE, c->txn_depth, err);
    }
    /* the level is gone whatever the server said: it aborts on failure */
    c->txn_depth--;
    eo_store__clear(env->store);
    return rc;
}

int eo_env__atomic_begin(eo_env *env, eo_error *err)
{
    if (!(env->adapter->caps & EO_CAP_TRANSACTIONS))
        return EO_OK;
    return eo_env_begin(env, EO_ISO_DEFAULT, err);
}

int eo_env__atomic_end(eo_env *env, int rc, eo_error *err)
{
    if (!(env->adapter->caps & EO_CAP_TRANSACTIONS))
        return rc;
    if (rc == EO_OK)
        return eo_env_commit(env, err);
    /* keep the first error; a failed rollback only adds to it */
    eo_env_rollback(env, NULL);
    return rc;
}

void eo_env_stats(const eo_env *env, eo_stats *out)
{
    *out = env->stats;
    out->store_records = eo_store__records(env->store);
}

void eo_env_reset_stats(eo_env *env) { memset(&env->stats, 0, sizeof env->stats); }

void eo_env_set_query_log(eo_env *env, int on, FILE *f)
{
    env->log_queries = on;
    env->log_file = f;
}

void eo_env_invalidate_all(eo_env *env) { eo_store__clear(env->store); }

int eo_env_migrate(eo_env *env, int dry_run, eo_migrate_note_fn note, void *payload,
                   eo_error *err)
{
    size_t i, n;
    int rc;
    if ((rc = eo_env__ready(env, err)) != EO_OK)
        return rc;
    if (!dry_run && (rc = eo_env__atomic_begin(env, err)) != EO_OK)
        return rc;
    n = eo_registry_count(env->reg);
    for (i = 0; i < n && rc == EO_OK; i++) {
        const eo_model *m = eo_registry_at(env->reg, i);
        if (m->abstract)
            continue;
        rc = env->adapter->migrate(env->conn, m, dry_run, note, payload, err);
    }
    if (!dry_run)
        rc = eo_env__atomic_end(env, rc, err);
    if (rc == EO_OK)
        eo_store__clear(env->store);
    return rc;
}

int eo_env_ping(eo_env *env, double *ms, eo_error *err)
{
    uint64_t t0 = eo_clock__ns();
    int rc = env->adapter->ping(env->conn, err);
    if (ms)
        *ms = (double)(eo_clock__ns() - t0) / 1e6;
    return rc;
}
