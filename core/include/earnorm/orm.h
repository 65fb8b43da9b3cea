/*
 * orm.h - ORM operations on an environment: create, search, read, write,
 * unlink, count, group. Lua-free: the binding runs user code (events,
 * compute methods, validators) around these calls.
 *
 * Every write operation is atomic: it runs in its own transaction, or in a
 * savepoint inside an open one, and leaves the database as it was when it
 * fails. Values given are converted and checked in C (type, required, size,
 * min/max, choices, relation existence); unique is checked by the database
 * and reported as EO_ECONFLICT naming the field.
 *
 * Every function here that takes an eo_error clears it on success and
 * refuses NULL arguments with EO_EINVAL naming them (error.h).
 * The env, the model and the field are always required; id and value
 * arrays are required when their count is not 0; a domain, an order and
 * the `added`/`removed` sets may be NULL. eo_orm_peek/cached/invalidate
 * give NULL, 0 or do nothing for a NULL env, model or field.
 */
#ifndef EARNORM_ORM_H
#define EARNORM_ORM_H

#include "common.h"
#include "domain.h"
#include "env.h"
#include "error.h"
#include "model.h"
#include "query.h"

EO_BEGIN_DECL

/** A growable id array. Owned by whoever holds it; free with eo_ids_free. */
typedef struct eo_ids {
    eo_id *v;
    size_t n, cap;
} eo_ids;

/** Append @p id: 0, EO_ENOMEM, or EO_EINVAL when @p ids is NULL. */
EO_API int eo_ids_push(eo_ids *ids, eo_id id);
EO_API void eo_ids_free(eo_ids *ids);

/** A field and a value given for it. */
typedef struct eo_kv {
    const eo_field *field;
    eo_value value;
} eo_kv;

/**
 * Create source: fill @p out (capacity @p cap, the model's field count)
 * with the fields given for row @p i, set *n. Values are Borrowed until
 * eo_orm_create returns.
 */
typedef int (*eo_create_row_fn)(void *payload, size_t i, eo_kv *out, size_t cap,
                                size_t *n, eo_error *err);

/** Flags for create and write. */
#define EO_W_COMPUTE 0x1u  /* allowed to set computed fields (compute flush) */

/**
 * Create @p nrows records. Static defaults fill missing fields.
 * @param[out] out_ids nrows ids, in row order.
 */
EO_API int eo_orm_create(eo_env *env, const eo_model *m, size_t nrows,
                         eo_create_row_fn row, void *payload, unsigned flags,
                         eo_id *out_ids, eo_error *err);

/** Set the same values on @p ids. */
EO_API int eo_orm_write(eo_env *env, const eo_model *m, const eo_id *ids,
                        size_t n, const eo_kv *kvs, size_t nkv, unsigned flags,
                        eo_error *err);

/**
 * Set field @p f to vals[i] on ids[i], one value per record (how stored
 * computed values are written): one atomic operation, batched for the
 * server. @p flags as for eo_orm_write.
 */
EO_API int eo_orm_write_each(eo_env *env, const eo_model *m, const eo_id *ids,
                             size_t n, const eo_field *f, const eo_value *vals,
                             unsigned flags, eo_error *err);

/** Delete @p ids. */
EO_API int eo_orm_unlink(eo_env *env, const eo_model *m, const eo_id *ids,
                         size_t n, eo_error *err);

/**
 * Search: ids of records matching @p d (bound here if not yet; NULL = all),
 * in @p order (NULL = the model's), windowed by limit/offset (limit < 0:
 * none). A domain folded to FALSE returns nothing without a query.
 * @param[out] out Owned ids (appended to).
 */
EO_API int eo_orm_search(eo_env *env, const eo_model *m, eo_domain *d,
                         const char *order, int64_t limit, int64_t offset,
                         eo_ids *out, eo_error *err);

/** A streaming search (eo_orm_cursor_open). */
typedef struct eo_cursor eo_cursor;

/**
 * Open a server-side cursor over the records eo_orm_search would give for
 * the same arguments, to read their ids a batch at a time in bounded
 * memory: a SQLite statement kept open, a PostgreSQL DECLARE ... CURSOR, a
 * MongoDB cursor (find, then getMore). Sends one statement; each
 * eo_orm_cursor_next sends one more (all traced: eo_env_stats counts them).
 *
 * The cursor keeps a connection until its rows end, a call fails or it is
 * closed. Inside a transaction it is the transaction's; outside one, SQLite
 * and MongoDB share the one it keeps with the env's other statements (the
 * loads of a batch), while PostgreSQL (whose cursors live in transactions)
 * keeps a connection of its own with a read-only transaction open on it
 * from the DECLARE to the end: the env's other statements then take other
 * connections of the pool, and the cursor reads the snapshot of its
 * DECLARE. A domain folded to FALSE or a limit of 0 opens a cursor that
 * sends nothing and ends at once.
 *
 * @param[out] out Owned: eo_orm_cursor_close it. Close every cursor of an
 *        env before freeing the env (eo_env_free ends those left open; they
 *        then only close).
 * @return 0, EO_ENOTSUP when the backend has no cursors (or cannot stream
 *         this order: MongoDB ordering by a Many2one path), else as
 *         eo_orm_search.
 */
EO_API int eo_orm_cursor_open(eo_cursor **out, eo_env *env, const eo_model *m,
                              eo_domain *d, const char *order, int64_t limit,
                              int64_t offset, eo_error *err);
/**
 * Append the next ids of @p cur, at most @p n (>= 1), to @p out: none once
 * every id was given. The call that gives the last ids ends the cursor on
 * the server and gives its connection back. A failed call does the same
 * and leaves the cursor closed: later calls are EO_EINVAL saying so.
 */
EO_API int eo_orm_cursor_next(eo_cursor *cur, size_t n, eo_ids *out, eo_error *err);
/** 1 when @p cur has no ids left (or is closed, or NULL), else 0. */
EO_API int eo_orm_cursor_done(const eo_cursor *cur);
/** End the cursor (CLOSE, killCursors when the server still holds it) and free it. Accepts NULL. */
EO_API void eo_orm_cursor_close(eo_cursor *cur);

EO_API int eo_orm_search_count(eo_env *env, const eo_model *m, eo_domain *d,
                               int64_t *out, eo_error *err);

/**
 * Search and load in one query (Odoo's search_fetch): the ids of the
 * records matching @p d, as eo_orm_search gives them, with @p fields of
 * each put in the record store unless it holds them already. @p fields
 * are stored fields of @p m (NULL: every prefetchable stored field);
 * others are EO_EINVAL naming them.
 * @param[out] out Owned ids (appended to).
 */
EO_API int eo_orm_search_fetch(eo_env *env, const eo_model *m, eo_domain *d,
                               const eo_field *const *fields, size_t nfields,
                               const char *order, int64_t limit, int64_t offset,
                               eo_ids *out, eo_error *err);

/**
 * Search and stream rows of @p fields (stored fields only) to @p fn.
 * With @p fields NULL, every prefetchable stored field.
 */
EO_API int eo_orm_search_rows(eo_env *env, const eo_model *m, eo_domain *d,
                              const eo_field *const *fields, size_t nfields,
                              const char *order, int64_t limit, int64_t offset,
                              eo_row_fn fn, void *payload, eo_error *err);

/**
 * Read @p fields of @p ids, rows streamed to @p fn in the order of @p ids
 * (records that do not exist are skipped). Goes through the record store.
 */
EO_API int eo_orm_read_rows(eo_env *env, const eo_model *m, const eo_id *ids,
                            size_t n, const eo_field *const *fields,
                            size_t nfields, eo_row_fn fn, void *payload,
                            eo_error *err);

/**
 * The value of @p f for record @p id, from the record store; on a miss,
 * load the prefetchable fields of the records in @p prefetch (at most the
 * env's prefetch_max of them, starting near @p hint) in one query.
 * @param[out] out Borrowed until the next call on @p env.
 * @return 0, EO_ENOTFOUND when the record does not exist.
 */
EO_API int eo_orm_get(eo_env *env, const eo_model *m, eo_id id,
                      const eo_field *f, const eo_id *prefetch, size_t nprefetch,
                      size_t hint, const eo_value **out, eo_error *err);

/**
 * x2many (One2many, Many2many): the ids record @p id is linked to through
 * @p f, in the comodel's order. On a miss the field is loaded for the
 * records of @p prefetch around @p hint (one query for a One2many, two for
 * a Many2many). @param[out] out Borrowed until the next call on @p env.
 */
EO_API int eo_orm_get_ids(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
                          const eo_id *prefetch, size_t nprefetch, size_t hint,
                          const eo_id **out, size_t *n, eo_error *err);
/**
 * Link @p targets to record @p id through x2many @p f: a One2many sets
 * their inverse Many2one, a Many2many adds junction rows. Targets already
 * linked are left alone; @p added (may be NULL) gets the new ones.
 */
EO_API int eo_orm_link(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
                       const eo_id *targets, size_t n, eo_ids *added, eo_error *err);
/**
 * Undo links: a One2many clears the inverse (deletes the targets when the
 * inverse is required), a Many2many removes junction rows. @p removed (may
 * be NULL) gets the targets that were linked.
 */
EO_API int eo_orm_unlink_rel(eo_env *env, const eo_model *m, eo_id id, const eo_field *f,
                             const eo_id *targets, size_t n, eo_ids *removed, eo_error *err);

/** Put a value in the record store without writing it (non-stored computed fields). */
EO_API int eo_orm_cache_set(eo_env *env, const eo_model *m, eo_id id,
                            const eo_field *f, const eo_value *v, eo_error *err);
/** The cached value of @p f for @p id, or NULL; never loads. Borrowed. */
EO_API const eo_value *eo_orm_peek(eo_env *env, const eo_model *m, eo_id id,
                                   const eo_field *f);
/** 1 when the store holds @p f for @p id. */
EO_API int eo_orm_cached(eo_env *env, const eo_model *m, eo_id id, const eo_field *f);
/** Forget @p f (or every field when NULL) of @p ids (every record when NULL). */
EO_API void eo_orm_invalidate(eo_env *env, const eo_model *m, const eo_id *ids,
                              size_t n, const eo_field *f);

/** The subset of @p ids that exist, in the same order. @param[out] out Owned. */
EO_API int eo_orm_exists(eo_env *env, const eo_model *m, const eo_id *ids,
                         size_t n, eo_ids *out, eo_error *err);

/** Stream groups (see eo_group_query); the domain is bound here. */
EO_API int eo_orm_group(eo_env *env, eo_group_query *q, eo_domain *d,
                        eo_row_fn fn, void *payload, eo_error *err);

/**
 * How a search would run: the normalized domain and the backend's plan.
 * @param[out] out Owned text.
 */
EO_API int eo_orm_explain(eo_env *env, const eo_model *m, eo_domain *d,
                          const char *order, int64_t limit, int64_t offset,
                          char **out, eo_error *err);

EO_END_DECL

#endif /* EARNORM_ORM_H */
