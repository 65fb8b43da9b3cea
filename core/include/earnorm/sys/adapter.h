/*
 * sys/adapter.h - the interface for adapter authors.
 *
 * An adapter connects the ORM to one kind of database. It implements the
 * vtable below and nothing else; the ORM above never branches on the
 * backend. Adapters receive bound, normalized domains (child_of/parent_of
 * already resolved to id lists) and canonical values (see model.h) and must
 * pass every value to the server as a bound parameter or a BSON value,
 * never spliced into query text.
 *
 * A connection struct embeds eo_conn as its first member. After each
 * statement an adapter calls eo_conn_trace so statistics and the query log
 * see it. A fatal driver error sets conn->broken; the owner discards a
 * broken connection instead of reusing it.
 *
 * Threading: a connection is used by one thread at a time.
 */
#ifndef EARNORM_SYS_ADAPTER_H
#define EARNORM_SYS_ADAPTER_H

#include "../common.h"
#include "../error.h"
#include "../model.h"
#include "../query.h"
#include "../value.h"

EO_BEGIN_DECL

typedef struct eo_adapter eo_adapter;
typedef struct eo_conn eo_conn;

/** What a statement was, for statistics. */
typedef enum eo_qkind {
    EO_Q_SELECT = 0, EO_Q_INSERT, EO_Q_UPDATE, EO_Q_DELETE, EO_Q_DDL,
    EO_Q_TXN, EO_Q_OTHER, EO_Q__COUNT
} eo_qkind;

/** Called after each statement (statistics, query log). */
typedef void (*eo_trace_fn)(void *payload, const eo_conn *c, eo_qkind kind,
                            const char *text, const eo_value *params,
                            size_t nparams, uint64_t ns, int64_t rows);

/** The part of every connection the core reads and writes. */
struct eo_conn {
    const eo_adapter *adapter;
    int broken;              /* a fatal error happened: do not reuse */
    int txn_depth;           /* 0 outside a transaction, 1 in BEGIN, >1 in savepoints */
    eo_trace_fn trace;       /* set by the owner; may be NULL */
    void *trace_payload;
    uint64_t pool_born_ns;   /* set by the pool: when it was opened */
    unsigned caps;           /* EO_CAP_* of this server (set by open; 0: the adapter's) */
    char server[96];         /* what the server is ("FerretDB v1.24.2, standalone"), may be "" */
    size_t insert_more;      /* during insert: rows of the same create still to come in later
                                calls, inside its transaction (set by the core; a hint, e.g.
                                to reserve their ids now) */
};

/** Report a statement to the connection's tracer. */
static inline void eo_conn_trace(const eo_conn *c, eo_qkind kind, const char *text,
                                 const eo_value *params, size_t nparams,
                                 uint64_t ns, int64_t rows)
{
    if (c->trace)
        c->trace(c->trace_payload, c, kind, text, params, nparams, ns, rows);
}

/** A parsed database URL: scheme://user:password@host:port/database?options */
typedef struct eo_url {
    const char *text;        /* the whole URL */
    char scheme[32];
    char *user, *password, *host, *path; /* Owned by eo_url_free; may be NULL */
    int port;                /* 0 when absent */
    char **keys, **vals;     /* query options */
    size_t nopts;
} eo_url;

/**
 * Parse @p text into @p out (Owned members: free with eo_url_free; a
 * failed parse leaves nothing to free; @p text is Borrowed by out->text). Clears @p err on success; a NULL @p out or @p text is
 * EO_EINVAL naming it (error.h).
 */
EO_API int eo_url_parse(eo_url *out, const char *text, eo_error *err);
/** Free what eo_url_parse allocated and zero @p u. Accepts NULL. */
EO_API void eo_url_free(eo_url *u);
/** The value of option @p key, or NULL (also for a NULL @p u or @p key). Borrowed. */
EO_API const char *eo_url_opt(const eo_url *u, const char *key);

/** Transaction isolation levels an adapter may offer. */
typedef enum eo_isolation {
    EO_ISO_DEFAULT = 0, EO_ISO_READ_COMMITTED, EO_ISO_REPEATABLE_READ,
    EO_ISO_SERIALIZABLE
} eo_isolation;

typedef enum eo_savepoint_op { EO_SP_CREATE = 0, EO_SP_RELEASE, EO_SP_ROLLBACK } eo_savepoint_op;

/** One line of what migrate did or would do. */
typedef void (*eo_migrate_note_fn)(void *payload, const char *line);

/** Capabilities (eo_adapter.caps). */
#define EO_CAP_TRANSACTIONS 0x01u
#define EO_CAP_SAVEPOINTS   0x02u
#define EO_CAP_SUBQUERIES   0x04u  /* can compile `any` to a subquery itself */
#define EO_CAP_GROUP        0x08u  /* group() runs on the server */
#define EO_CAP_SCANS        0x10u  /* every query reads the whole table (no index used):
                                      the engine loads in windows of EO_SCAN_PREFETCH */
#define EO_SCAN_PREFETCH    200000u
#define EO_CAP_FOREIGN_KEYS 0x20u  /* every stored Many2one column has a foreign key the
                                      database checks as the row is written: the engine
                                      asks no existence query before (a violation names
                                      the field: the adapter's message, or the engine's
                                      check after the rollback) */
#define EO_CAP_CURSOR_TXN   0x40u  /* a cursor lives in a transaction: outside one the core
                                      gives it a connection of its own, on which cursor_open
                                      begins (and cursor_close ends) a read transaction */

/** A server-side cursor, the adapter's own (see eo_adapter.cursor_open). */
typedef struct eo_adapter_cursor eo_adapter_cursor;

struct eo_adapter {
    const char *name;        /* "sqlite" */
    const char *scheme;      /* URL scheme it answers ("sqlite") */
    eo_idkind idkind;
    unsigned caps;           /* EO_CAP_* */

    int (*open)(eo_conn **out, const eo_url *url, eo_error *err);
    void (*close)(eo_conn *c);
    int (*ping)(eo_conn *c, eo_error *err);

    int (*begin)(eo_conn *c, eo_isolation iso, eo_error *err);
    int (*commit)(eo_conn *c, eo_error *err);
    int (*rollback)(eo_conn *c, eo_error *err);
    int (*savepoint)(eo_conn *c, eo_savepoint_op op, int depth, eo_error *err);

    /**
     * Create or extend the table/collection and indexes of @p m. Refuse
     * destructive changes (a column's type, a field made required while
     * records lack it) with EO_EINVAL naming the field. With @p dry_run,
     * report what would be done and change nothing.
     */
    int (*migrate)(eo_conn *c, const eo_model *m, int dry_run,
                   eo_migrate_note_fn note, void *payload, eo_error *err);

    /**
     * Insert @p nrows rows of @p ncols values (row-major) into @p m's
     * columns @p cols; write the new ids to @p out_ids.
     */
    int (*insert)(eo_conn *c, const eo_model *m, const eo_field *const *cols,
                  size_t ncols, const eo_value *vals, size_t nrows,
                  eo_id *out_ids, eo_error *err);
    /** Stream the rows of a search to @p fn. */
    int (*select)(eo_conn *c, const eo_query *q, eo_row_fn fn, void *payload,
                  eo_error *err);
    int (*count)(eo_conn *c, const eo_query *q, int64_t *out, eo_error *err);
    /** Set the same values on the records @p ids; *affected gets the count. */
    int (*update)(eo_conn *c, const eo_model *m, const eo_id *ids, size_t nids,
                  const eo_field *const *cols, const eo_value *vals,
                  size_t ncols, int64_t *affected, eo_error *err);
    int (*remove)(eo_conn *c, const eo_model *m, const eo_id *ids, size_t nids,
                  int64_t *affected, eo_error *err);
    /** Stream the groups of @p q to @p fn (see eo_group_query). */
    int (*group)(eo_conn *c, const eo_group_query *q, eo_row_fn fn,
                 void *payload, eo_error *err);
    /** Describe how @p q would run. @param[out] out Owned text. */
    int (*explain)(eo_conn *c, const eo_query *q, char **out, eo_error *err);
    /**
     * Second pass of migrate, once every model's table exists: constraints
     * between tables (foreign keys). NULL when migrate did them already.
     */
    int (*migrate_constraints)(eo_conn *c, const eo_model *m, int dry_run,
                               eo_migrate_note_fn note, void *payload, eo_error *err);
    /**
     * Set field @p f to vals[i] on ids[i], for each i (values differ per
     * record: stored computed fields), in as few round trips as the server
     * allows; *affected gets the records found. NULL: the core calls
     * update once per record on one connection.
     */
    int (*update_each)(eo_conn *c, const eo_model *m, const eo_id *ids, size_t n,
                       const eo_field *f, const eo_value *vals, int64_t *affected,
                       eo_error *err);
    /**
     * As update, on those of @p ids whose field @p check holds @p expect
     * (an EO_VNULL @p expect: holds no value), in one statement: the
     * optimistic-locking write (UPDATE ... WHERE id IN (...) AND version
     * = ?). *affected gets the records updated; the others were changed
     * since. NULL: models with a version field are refused (EO_ENOTSUP).
     */
    int (*update_if)(eo_conn *c, const eo_model *m, const eo_id *ids, size_t nids,
                     const eo_field *const *cols, const eo_value *vals, size_t ncols,
                     const eo_field *check, const eo_value *expect, int64_t *affected,
                     eo_error *err);
    /**
     * Wait for the writes sent on @p c and not yet confirmed (a bulk insert
     * left in flight so the server works while the engine prepares the
     * next chunk) and report their error. The core calls it before an
     * atomic scope commits. NULL: every write is confirmed when it returns.
     */
    int (*flush)(eo_conn *c, eo_error *err);

    /*
     * Server-side cursors (streaming search). All three NULL: the core
     * refuses cursors on this adapter with EO_ENOTSUP.
     *
     * cursor_open starts the search @p q (Borrowed for the call only: the
     * adapter keeps what it needs) on @p c and reports the statement that
     * starts it (DECLARE, a prepared statement, a find) through
     * eo_conn_trace. @p c stays with the cursor until cursor_close; the
     * core may run other statements on it in between (the env's loads)
     * unless the adapter has EO_CAP_CURSOR_TXN and c->txn_depth was 0.
     * @param[out] out Owned by the adapter until cursor_close.
     *
     * cursor_next streams at most @p n (>= 1) further rows to @p fn, with
     * one traced round trip (FETCH, getMore, one run of sqlite3_step) per
     * call, and sets *done when no row is left, so a search of N rows
     * read n at a time costs ceil(N/n) calls (one when N is 0). After an
     * error the cursor only closes.
     *
     * cursor_close frees the cursor, telling the server when it still
     * holds one (CLOSE, killCursors); it accepts NULL and cannot fail (a
     * server error there is traced, and a broken connection is marked).
     */
    int (*cursor_open)(eo_conn *c, const eo_query *q, eo_adapter_cursor **out, eo_error *err);
    int (*cursor_next)(eo_conn *c, eo_adapter_cursor *cur, size_t n, eo_row_fn fn,
                       void *payload, int *done, eo_error *err);
    void (*cursor_close)(eo_conn *c, eo_adapter_cursor *cur);
};

/** Register an adapter for its URL scheme (built-in ones are registered
 * already). Clears @p err on success; NULL @p a or a->scheme is EO_EINVAL. */
EO_API int eo_adapter_register(const eo_adapter *a, eo_error *err);
/** The adapter for a URL scheme, or NULL (also for NULL). */
EO_API const eo_adapter *eo_adapter_find(const char *scheme);

EO_END_DECL

#endif /* EARNORM_SYS_ADAPTER_H */
