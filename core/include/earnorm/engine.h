/*
 * engine.h - the C host API: an engine is the core plus one Lua VM.
 *
 *   eo_engine *eng = NULL;
 *   eo_error err;
 *   eo_engine_config cfg = EO_ENGINE_CONFIG_INIT;
 *   cfg.database_url = "sqlite://demo.db";
 *   if (eo_engine_open(&eng, &cfg, &err) != EO_OK) { ... err.msg ... }
 *   eo_engine_load_models(eng, "models", &err);
 *   eo_engine_migrate(eng, &err);
 *   eo_create_json(eng, "res.partner", "[{\"name\":\"Ann\"}]", &ids, &err);
 *
 * Calls go through the same Lua model API scripts use, so validators,
 * computed fields and event handlers written in Lua run for C callers
 * exactly as for Lua callers.
 *
 * JSON in and out is plain JSON (RFC 8259), taken literally: null is NULL,
 * arrays are lists, objects are tables, integers stay integers and
 * numbers with a fraction or exponent are floats; no key or value has a
 * meaning of its own ({"$date": 0} is an object with the key "$date").
 * Refused with EO_EINVAL: NaN/Infinity, duplicate keys, numbers past a
 * double, "\u0000"; nesting past 256 levels is EO_ELIMIT. Results: lists
 * are arrays, empty ones too ("[]"); recordsets are their id arrays; rows
 * hold every field asked for, NULL as null. The one exception: a byte
 * string JSON text cannot hold (a Binary value that is not UTF-8 or holds
 * a NUL byte) comes out as {"$binary": {"base64": ..., "subType": "00"}}.
 *
 * Threading: an engine belongs to one thread at a time. Open one engine
 * per thread to work in parallel.
 *
 * Every function returns EO_OK or a negative EO_E* code and fills `err`
 * (which may be NULL); on success `err` is cleared (code EO_OK, empty
 * message). A NULL engine, model, code or required argument is EO_EINVAL
 * naming the argument. Everything a call does in Lua, decoding its JSON
 * arguments and encoding its result included, runs under the VM's
 * memory_limit and timeout_ms: past them the call fails with EO_ENOMEM or
 * EO_ETIMEOUT, never aborts, and the engine stays usable. Strings
 * returned through `out` parameters are Owned by the caller: free them
 * with eo_free; on failure they are set to NULL.
 */
#ifndef EARNORM_ENGINE_H
#define EARNORM_ENGINE_H

#include "common.h"
#include "error.h"
#include "pool.h"

EO_BEGIN_DECL

typedef struct eo_engine eo_engine;

typedef struct eo_engine_config {
    const char *database_url;  /* NULL: $EARNORM_DATABASE_URL, else sqlite://earnorm.db */
    const char *cache_url;     /* must be NULL: the shared cache is not built yet (EO_ENOTSUP) */
    const char *models_path;   /* a directory or .lua file to load at open, or NULL */
    int log_queries;           /* print each query to stderr */
    size_t memory_limit;       /* bytes the Lua VM may use; 0 = no limit */
    unsigned timeout_ms;       /* time limit of one call into Lua; 0 = none */
    eo_pool *pool;             /* share this pool (engines on several threads); NULL = own pool */
} eo_engine_config;

#define EO_ENGINE_CONFIG_INIT { NULL, NULL, NULL, 0, 0, 0, NULL }

/**
 * Open an engine: a Lua VM with earnorm loaded and an environment
 * connected to cfg->database_url. @p cfg may be NULL (the defaults).
 * @param[out] out Owned; close with eo_engine_close. NULL on failure.
 * @return 0, EO_EINVAL (bad URL or URL option, NULL out), EO_ECONN,
 * EO_ENOMEM (also when memory_limit is too small for the VM and earnorm),
 * EO_ENOTSUP (cache_url set).
 */
EO_API int eo_engine_open(eo_engine **out, const eo_engine_config *cfg, eo_error *err);
/** Close the environment and the VM. Accepts NULL. */
EO_API void eo_engine_close(eo_engine *eng);

/** Load model files: a directory (every *.lua, in name order) or one file. */
EO_API int eo_engine_load_models(eo_engine *eng, const char *path, eo_error *err);
/** Create or extend tables and indexes for every loaded model. */
EO_API int eo_engine_migrate(eo_engine *eng, eo_error *err);

/**
 * Create records. @p vals_json is an object (one record) or an array of
 * objects; "[]" creates none.
 * @param[out] out_ids JSON array of the new ids (may be NULL: not wanted).
 */
EO_API int eo_create_json(eo_engine *eng, const char *model, const char *vals_json,
                          char **out_ids, eo_error *err);
/**
 * Search and read. @p domain_json: a domain as in Lua ("[]", "" or NULL
 * for all); @p opts_json: {"fields": [...], "order": "...", "limit": n,
 * "offset": n} or NULL (an unknown key is EO_EINVAL naming it).
 * @param[out] out_rows JSON array of objects, each with every field asked
 * for (NULL as null). Required.
 */
EO_API int eo_search_read_json(eo_engine *eng, const char *model, const char *domain_json,
                               const char *opts_json, char **out_rows, eo_error *err);
/** Read fields of records by id (@p ids_json, a JSON array; required).
 * @p fields_json may be NULL (all fields). Rows as in eo_search_read_json. */
EO_API int eo_read_json(eo_engine *eng, const char *model, const char *ids_json,
                        const char *fields_json, char **out_rows, eo_error *err);
/** Count the records matching a domain. @p out is required (0 on failure). */
EO_API int eo_search_count_json(eo_engine *eng, const char *model, const char *domain_json,
                                long long *out, eo_error *err);
/** Write the same values on the records @p ids_json (a JSON array of ids). */
EO_API int eo_write_json(eo_engine *eng, const char *model, const char *ids_json,
                         const char *vals_json, eo_error *err);
/** Delete the records @p ids_json. */
EO_API int eo_unlink_json(eo_engine *eng, const char *model, const char *ids_json,
                          eo_error *err);
/**
 * Run Lua code with the globals `env` and `orm`; its first result comes
 * back as JSON (recordsets as id arrays, nil as null; @p out_json may be
 * NULL). A syntax error is EO_EINVAL; an error the code raises keeps its
 * code (EO_ERROR for a plain Lua error).
 */
EO_API int eo_engine_eval(eo_engine *eng, const char *code, char **out_json, eo_error *err);
/**
 * Transactions for C callers: begin (a savepoint when one is open), commit,
 * rollback. @p isolation: NULL, "read committed", "repeatable read" or
 * "serializable". The transaction events of the Lua side run as usual.
 */
EO_API int eo_engine_begin(eo_engine *eng, const char *isolation, eo_error *err);
EO_API int eo_engine_commit(eo_engine *eng, eo_error *err);
EO_API int eo_engine_rollback(eo_engine *eng, eo_error *err);

/** Round-trip to the database: {"backend": ..., "ok": true, "latency_ms": ...}.
 * @p out_json is required (as for eo_engine_stats). */
EO_API int eo_engine_ping(eo_engine *eng, char **out_json, eo_error *err);
/** Statistics as JSON (queries per backend, record store figures). */
EO_API int eo_engine_stats(eo_engine *eng, char **out_json, eo_error *err);

EO_END_DECL

#endif /* EARNORM_ENGINE_H */
