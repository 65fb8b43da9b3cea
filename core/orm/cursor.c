/*
 * cursor.c - streaming searches: eo_orm_cursor_open/next/close over the
 * adapters' server-side cursors (sys/adapter.h, cursor_open).
 *
 * A cursor keeps one connection from open until its rows end, a call
 * fails or it closes. Which one:
 *
 *   in a transaction                   the transaction's (env->conn), held
 *   outside, EO_CAP_CURSOR_TXN (pg)    a connection of its own from the pool
 *                                      (the adapter begins a read
 *                                      transaction on it)
 *   outside, others (sqlite, mongodb)  env->held, or one lent now and held
 *
 * A held connection (eo_env__hold) serves the env's other statements too
 * while outside a transaction (sqlite::memory: has one connection in all),
 * and goes back to the pool when its last cursor ends and no transaction
 * pinned it meanwhile (eo_env__drop; unpin in env.c leaves it to them).
 *
 * States: open (in env->cursors, ac set) --next gives the last ids / fails,
 * or close--> ended (out of the list, connection given back) --close-->
 * freed. eo_env_free ends every open cursor (cur->env = NULL): it can only
 * close after that. It does not read records: the ids go to the caller,
 * who loads them (eo_orm_get, eo_orm_read_rows) through the env as usual.
 */
#include "orm_int.h"

struct eo_cursor {
    eo_env *env;               /* NULL once the env was freed */
    const eo_model *m;
    eo_conn *conn;             /* while open */
    eo_adapter_cursor *ac;     /* while open; NULL for a cursor that sends nothing */
    int shared;                /* conn held through eo_env__hold (else its own) */
    int open;                  /* in env->cursors */
    int done;                  /* no ids left */
    int failed;                /* a call failed: closed */
    struct eo_cursor *next, *prev;
};

/* Open -> ended: the server's cursor closed, the connection given back. */
static void end(eo_cursor *cur)
{
    eo_env *env = cur->env;
    if (!cur->open)
        return;
    if (cur->ac)
        env->adapter->cursor_close(cur->conn, cur->ac);
    cur->ac = NULL;
    if (cur->conn) {
        if (cur->shared)
            eo_env__drop(env, cur->conn);
        else
            eo_env__done(env, cur->conn);
    }
    cur->conn = NULL;
    if (cur->prev)
        cur->prev->next = cur->next;
    else
        env->cursors = cur->next;
    if (cur->next)
        cur->next->prev = cur->prev;
    cur->next = cur->prev = NULL;
    env->ncursors--;
    cur->open = 0;
    cur->done = 1;
}

void eo_cursor__detach_all(eo_env *env)
{
    while (env->cursors) {
        eo_cursor *cur = env->cursors;
        end(cur);
        cur->env = NULL;
    }
}

int eo_orm_cursor_open(eo_cursor **out, eo_env *env, const eo_model *m, eo_domain *d,
                       const char *order, int64_t limit, int64_t offset, eo_error *err)
{
    eo_query q;
    eo_order_item *items = NULL;
    const eo_field *idf;
    eo_cursor *cur = NULL;
    eo_conn *c = NULL;
    int rc, shared = 1;
    EO_ENTER();
    EO_REQUIRE(out);
    *out = NULL;
    EO_REQUIRE(env);
    EO_REQUIRE(m);
    if (env->adapter->cursor_open == NULL || env->adapter->cursor_next == NULL ||
        env->adapter->cursor_close == NULL) {
        rc = eo_error_set(err, EO_ENOTSUP,
                          "%s: the %s adapter has no server-side cursors: use search() "
                          "with limit and offset", m->name, env->adapter->name);
        eo_error_where(err, m->name, NULL);
        return rc;
    }
    if ((rc = eo_orm__query_init(env, &q, m, d, order, limit, offset, &items, err)) != EO_OK)
        goto done;
    idf = m->fields[0];
    q.fields = &idf;
    q.nfields = 1;
    if ((cur = eo_calloc(1, sizeof *cur)) == NULL) {
        rc = eo_error_set(err, EO_ENOMEM, "out of memory");
        goto done;
    }
    cur->env = env;
    cur->m = m;
    if ((d && eo_domain_is_false(d)) || limit == 0) {
        cur->done = 1; /* nothing to ask */
        goto done;
    }
    if (env->conn) {
        c = env->conn;
    } else if (env->adapter->caps & EO_CAP_CURSOR_TXN) {
        shared = 0;
        if ((rc = eo_env__acquire(env, &c, err)) != EO_OK)
            goto done;
    } else if (env->held) {
        c = env->held;
    } else if ((rc = eo_env__acquire(env, &c, err)) != EO_OK) {
        goto done;
    }
    if (shared)
        eo_env__hold(env, c);
    if ((rc = eo_env__checked(env, c, m, err)) == EO_OK)
        rc = env->adapter->cursor_open(c, &q, &cur->ac, err);
    if (rc != EO_OK) {
        if (shared)
            eo_env__drop(env, c);
        else
            eo_env__done(env, c);
        goto done;
    }
    cur->conn = c;
    cur->shared = shared;
    cur->open = 1;
    cur->next = env->cursors;
    if (env->cursors)
        env->cursors->prev = cur;
    env->cursors = cur;
    env->ncursors++;
done:
    eo_free(items);
    if (rc != EO_OK) {
        eo_free(cur);
        return rc;
    }
    *out = cur;
    return EO_OK;
}

int eo_orm_cursor_next(eo_cursor *cur, size_t n, eo_ids *out, eo_error *err)
{
    eo_orm__ids_ctx ctx;
    int rc, done = 0;
    EO_ENTER();
    EO_REQUIRE(cur);
    EO_REQUIRE(out);
    if (n == 0)
        return eo_error_set(err, EO_EINVAL, "eo_orm_cursor_next: n must be at least 1");
    if (cur->failed)
        return eo_error_set(err, EO_EINVAL,
                            "%s: the cursor is closed: an earlier call on it failed",
                            cur->m->name);
    if (cur->env == NULL)
        return eo_error_set(err, EO_EINVAL,
                            "%s: the cursor is closed: its environment was freed", cur->m->name);
    if (cur->done)
        return EO_OK;
    ctx.out = out;
    ctx.kind = cur->env->adapter->idkind;
    rc = cur->env->adapter->cursor_next(cur->conn, cur->ac, n, eo_orm__push_id, &ctx, &done,
                                        err);
    if (rc != EO_OK) {
        cur->failed = 1;
        end(cur);
        return rc;
    }
    if (done)
        end(cur);
    return EO_OK;
}

int eo_orm_cursor_done(const eo_cursor *cur)
{
    return cur == NULL || cur->done || cur->failed || cur->env == NULL;
}

void eo_orm_cursor_close(eo_cursor *cur)
{
    if (cur == NULL)
        return;
    if (cur->env)
        end(cur);
    eo_free(cur);
}
