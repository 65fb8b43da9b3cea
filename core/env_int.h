/*
 * env_int.h - the environment struct, shared by env.c and the orm/ files.
 */
#ifndef EARNORM_ENV_INT_H
#define EARNORM_ENV_INT_H

#include "earnorm/env.h"
#include "earnorm/orm.h"
#include "earnorm/pool.h"
#include "internal.h"
#include "store.h"

struct eo_env {
    eo_registry *reg;          /* Borrowed */
    eo_pool *pool;             /* one reference held */
    const eo_adapter *adapter;
    eo_conn *conn;             /* pinned while a transaction is open, else NULL */
    eo_conn *held;             /* lent by the pool and kept by open cursors (nheld of them)
                                  that let the env's statements share it; the env's
                                  statements use it outside a transaction (cursor.c) */
    size_t nheld;
    struct eo_cursor *cursors; /* open cursors (a list through eo_cursor.next), closed
                                  by eo_env_free */
    size_t ncursors;
    eo_store *store;           /* Owned */
    eo_stats stats;
    int log_queries;
    FILE *log_file;
    size_t prefetch_max;
    unsigned resolved_version; /* registry version last resolved */
    unsigned caps;             /* the server's (EO_CAP_*), from the first connection */
    char server[96];           /* what the server is, for messages */
    struct eo_journal *journal;/* atomic scopes without transactions (journal.c) */
    eo_strmap checked;         /* names of the models whose stored schema passed the check */
    unsigned checked_version;  /* registry version `checked` holds for */
    struct eo_depstate *deps;  /* pending marks (depends/mark.c), made on first need */
};

/* depends/mark.c: the marks follow the atomic scopes (transactions,
 * savepoints, journal scopes) */
void eo_deps__scope_begin(eo_env *env);
void eo_deps__scope_end(eo_env *env, int ok);
void eo_deps__free(eo_env *env);
/* Drop the marks of records that were deleted (every target of m). */
void eo_deps__forget_records(eo_env *env, const eo_model *m, const eo_id *ids, size_t n);
/* A Many2many field f of record id gained `targets` (junction rows made). */
int eo_deps__m2m_linked(eo_env *env, const eo_field *f, eo_id id, const eo_id *targets,
                        size_t n, eo_error *err);

/* Resolve the registry when models were added since the last call. */
int eo_env__ready(eo_env *env, eo_error *err);
/*
 * The connection for one statement: the pinned one inside a transaction,
 * else one borrowed from the pool (give it back with eo_env__done).
 */
int eo_env__conn(eo_env *env, eo_conn **out, eo_error *err);
void eo_env__done(eo_env *env, eo_conn *c);

/* A connection from the pool (never the pinned or held one), traced. */
int eo_env__acquire(eo_env *env, eo_conn **out, eo_error *err);
/* The once-per-model schema check (env.c) before a statement on m over c. */
int eo_env__checked(eo_env *env, eo_conn *c, const eo_model *m, eo_error *err);
/* Keep c (the transaction's, or one just lent by the pool) for a cursor
 * that shares it with the env's statements; drop gives it back when the
 * last such cursor closes and no transaction holds it (cursor.c). */
void eo_env__hold(eo_env *env, eo_conn *c);
void eo_env__drop(eo_env *env, eo_conn *c);
/* Detach every open cursor (eo_env_free): their connections go back. */
void eo_cursor__detach_all(eo_env *env);

/* Adapter calls on the env's connection (eo_env__conn + call + done). */
int eo_env__select(eo_env *env, const eo_query *q, eo_row_fn fn, void *payload, eo_error *err);
int eo_env__count(eo_env *env, const eo_query *q, int64_t *out, eo_error *err);
int eo_env__insert(eo_env *env, const eo_model *m, const eo_field *const *cols, size_t ncols,
                   const eo_value *vals, size_t nrows, eo_id *out_ids, eo_error *err);
int eo_env__update(eo_env *env, const eo_model *m, const eo_id *ids, size_t nids,
                   const eo_field *const *cols, const eo_value *vals, size_t ncols,
                   int64_t *affected, eo_error *err);
/* update with a version check (sys/adapter.h, update_if); EO_ENOTSUP without one. */
int eo_env__update_if(eo_env *env, const eo_model *m, const eo_id *ids, size_t nids,
                      const eo_field *const *cols, const eo_value *vals, size_t ncols,
                      const eo_field *check, const eo_value *expect, int64_t *affected,
                      eo_error *err);
/* insert, telling the adapter that `more` rows of the same create follow. */
int eo_env__insert_more(eo_env *env, const eo_model *m, const eo_field *const *cols,
                        size_t ncols, const eo_value *vals, size_t nrows, size_t more,
                        eo_id *out_ids, eo_error *err);
int eo_env__update_each(eo_env *env, const eo_model *m, const eo_id *ids, size_t n,
                        const eo_field *f, const eo_value *vals, int64_t *affected,
                        eo_error *err);
int eo_env__remove(eo_env *env, const eo_model *m, const eo_id *ids, size_t nids,
                   int64_t *affected, eo_error *err);
int eo_env__group(eo_env *env, const eo_group_query *q, eo_row_fn fn, void *payload,
                  eo_error *err);
int eo_env__explain(eo_env *env, const eo_query *q, char **out, eo_error *err);

/* Run `fn` atomically: a transaction, or a savepoint inside one. */
int eo_env__atomic_begin(eo_env *env, eo_error *err);
int eo_env__atomic_end(eo_env *env, int rc, eo_error *err);
/*
 * The atomic scope of an operation that sends exactly one statement (one
 * record created or written): outside a transaction, on a backend with
 * transactions, that statement's own autocommit is all or nothing, so no
 * BEGIN / COMMIT round trips are spent on it (*solo = 1; the store is
 * cleared on failure as a rollback would). Anywhere else, atomic_begin.
 */
int eo_env__atomic_begin_one(eo_env *env, int *solo, eo_error *err);
int eo_env__atomic_end_one(eo_env *env, int solo, int rc, eo_error *err);

#endif
