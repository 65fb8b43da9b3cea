/*
 * env.h - the environment: a registry, a database connection, the record
 * store, transactions, statistics and the query log.
 *
 * An environment belongs to one thread at a time. Several environments may
 * share a registry (read-only once built) and a connection pool (thread-safe).
 * Outside a transaction each statement borrows a connection from the pool;
 * a transaction keeps one from begin to commit or rollback. The record store caches field
 * values of records this environment has read or written; it is cleared
 * when a transaction rolls back, because the database forgot what the
 * store remembers.
 *
 * Every function here that takes an eo_error clears it on success and
 * refuses NULL arguments with EO_EINVAL naming them (error.h).
 * The getters give NULL, 0 or EO_IDNUM for a NULL env; the void functions
 * do nothing with it.
 *
 * Before an env first reads or writes a model it checks, once per model
 * (again after a migrate or when the registry changed), that the database
 * stores it as declared: a Decimal field whose digits differ from the ones
 * the database recorded is refused with EO_EINVAL naming the model, the
 * field and both digits, and telling to run migrate. Reading it would scale
 * every value wrongly (12.30 as 12300.0). So is a field that is a Decimal
 * on one side only (declared Integer: 12.30 read as 1230), which migrate
 * refuses too.
 */
#ifndef EARNORM_ENV_H
#define EARNORM_ENV_H

#include <stdio.h>

#include "common.h"
#include "error.h"
#include "model.h"
#include "pool.h"
#include "sys/adapter.h"

EO_BEGIN_DECL

typedef struct eo_env eo_env;

typedef struct eo_env_config {
    const char *database_url;   /* "sqlite://demo.db", "sqlite::memory:" */
    int log_queries;            /* print each query with parameters and time */
    FILE *log_file;             /* where; NULL means stderr */
    size_t prefetch_max;        /* records loaded per prefetch; 0 = default (20000, or
                                   200000 where each query scans the table: FerretDB) */
    eo_pool *pool;              /* share this pool (Borrowed; the env takes a reference), or NULL */
    const eo_pool_config *pool_config; /* for the env's own pool; NULL = defaults */
} eo_env_config;

#define EO_ENV_CONFIG_INIT { NULL, 0, NULL, 0, NULL, NULL }

/**
 * Open an environment on @p reg (Borrowed: it must outlive the env).
 * @param[out] out Owned; free with eo_env_free.
 * @return 0, EO_EINVAL (bad URL, unknown scheme), EO_ECONN (cannot connect).
 */
EO_API int eo_env_open(eo_env **out, eo_registry *reg,
                       const eo_env_config *cfg, eo_error *err);
/** Close the connection (rolling back an open transaction) and free. Accepts NULL. */
EO_API void eo_env_free(eo_env *env);

EO_API eo_registry *eo_env_registry(const eo_env *env);
/** The env's connection pool (its statistics, or to share it). Borrowed. */
EO_API eo_pool *eo_env_pool(const eo_env *env);
/** Backend name ("sqlite"). Static. */
EO_API const char *eo_env_backend(const eo_env *env);
EO_API eo_idkind eo_env_idkind(const eo_env *env);
/** The URL the env was opened with, password masked. Borrowed. */
EO_API const char *eo_env_url(const eo_env *env);

/**
 * Begin a transaction, or a savepoint when one is open already.
 * @return 0, EO_ENOTSUP (isolation level the backend cannot give).
 */
EO_API int eo_env_begin(eo_env *env, eo_isolation iso, eo_error *err);
/** Commit the innermost level (RELEASE for a savepoint). */
EO_API int eo_env_commit(eo_env *env, eo_error *err);
/** Roll back the innermost level; the record store is cleared. */
EO_API int eo_env_rollback(eo_env *env, eo_error *err);
/** 0 outside a transaction, 1 in one, more in savepoints. */
EO_API int eo_env_txn_depth(const eo_env *env);

/**
 * An atomic scope: what happens between begin and end is kept (ok) or
 * undone (!ok) as a whole. A transaction or a savepoint on servers that
 * have them; on servers without (a standalone MongoDB), an undo journal
 * that replays compensating writes - atomic for this env, not isolated
 * from others. The ORM's own operations run in such scopes.
 * eo_env_atomic_end(ok) returns a failed commit; with !ok it undoes and
 * returns 0, leaving @p err as it is (the caller may pass the struct that
 * holds the error that made the scope fail).
 */
EO_API int eo_env_atomic_begin(eo_env *env, eo_error *err);
EO_API int eo_env_atomic_end(eo_env *env, int ok, eo_error *err);
/** The server's capabilities (EO_CAP_*: transactions, savepoints...). */
EO_API unsigned eo_env_caps(const eo_env *env);
/** What the server is ("sqlite", "FerretDB v1.24.2, standalone"). Borrowed. */
EO_API const char *eo_env_server(const eo_env *env);
/** Records loaded per prefetch query (the configured or the backend's default). */
EO_API size_t eo_env_prefetch_max(const eo_env *env);

typedef struct eo_stats {
    uint64_t queries;                 /* data statements: select/insert/update/delete */
    uint64_t by_kind[EO_Q__COUNT];    /* every statement, by kind */
    uint64_t query_ns;                /* time spent in statements */
    uint64_t rows;                    /* rows returned or changed */
    uint64_t store_hits, store_misses;/* record store reads */
    uint64_t prefetches;              /* prefetch loads */
    uint64_t store_records;           /* records held in the store now */
    uint64_t store_values;            /* field values held in the store now */
    uint64_t cursors;                 /* cursors open now (eo_orm_cursor_open) */
} eo_stats;

EO_API void eo_env_stats(const eo_env *env, eo_stats *out);
EO_API void eo_env_reset_stats(eo_env *env);
/** Turn the query log on or off; @p f NULL means stderr. */
EO_API void eo_env_set_query_log(eo_env *env, int on, FILE *f);

/**
 * Create or extend tables and indexes for every model of the registry.
 * Destructive changes are refused with EO_EINVAL naming model and field.
 * @p note receives one line per action (may be NULL).
 */
EO_API int eo_env_migrate(eo_env *env, int dry_run, eo_migrate_note_fn note,
                          void *payload, eo_error *err);
/** Round-trip to the server; @p ms gets the latency. */
EO_API int eo_env_ping(eo_env *env, double *ms, eo_error *err);
/** Forget every cached value. */
EO_API void eo_env_invalidate_all(eo_env *env);

EO_END_DECL

#endif /* EARNORM_ENV_H */
