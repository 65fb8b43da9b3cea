/*
 * eo_lua.h - the Lua binding layer: the earnorm.core module, the VM, and
 * marshalling between Lua and the core.
 *
 * Only this layer (and the CLI above it) includes lua.h. C objects keep an
 * eo_vm or a context pointer, never a lua_State, because a C function is
 * called with the state of whichever coroutine called it.
 */
#ifndef EARNORM_EO_LUA_H
#define EARNORM_EO_LUA_H

#include <lauxlib.h>
#include <lua.h>

#include "earnorm/earnorm.h"
/* The containers of the core (eo_vec, eo_idmap, eo_buf): same library. */
#include "internal.h"

/* ---- the VM: one lua_State with counted memory and a time limit ---- */

typedef struct eo_vm eo_vm;

typedef struct eo_vm_config {
    size_t memory_limit;      /* bytes; 0 = none */
    unsigned timeout_ms;      /* per eo_lua_pcall; 0 = none */
    int ignore_env;           /* like lua -E: LUA_PATH and LUA_CPATH are not read */
} eo_vm_config;

/* New VM with the standard libraries and earnorm preloaded. Owned. */
int eo_vm_new(eo_vm **out, const eo_vm_config *cfg, eo_error *err);
void eo_vm_free(eo_vm *vm);
lua_State *eo_vm_state(eo_vm *vm);
size_t eo_vm_memory(const eo_vm *vm);
size_t eo_vm_memory_limit(const eo_vm *vm); /* 0 = none */
/*
 * While C holds resources and pushes into Lua (rows streamed from a query),
 * a failed allocation must not longjmp past it: eo_lua_critical(L, 1)
 * suspends the memory limit, eo_lua_critical(L, -1) restores it, and
 * eo_lua_check_memory raises EO_ENOMEM afterwards when the limit was passed.
 */
void eo_lua_critical(lua_State *L, int delta);
int eo_lua_check_memory(lua_State *L);
/*
 * For row callbacks, which run while a query holds C resources: EO_ENOMEM
 * (filled into err) once the VM uses more than its limit, so the query
 * stops after the row that passed it instead of loading every row with the
 * limit waiting. vm may be NULL (no limit). Never raises.
 */
int eo_lua_rows_over_limit(eo_vm *vm, eo_error *err);
/* The VM of a state (NULL when the state was not made by eo_vm_new). */
eo_vm *eo_lua_vm(lua_State *L);

/*
 * Call the function below nargs arguments with a traceback handler, the
 * VM's time limit, and errors turned into an eo_error (LUA_ERRMEM becomes
 * EO_ENOMEM; an earnorm.Error keeps its code, model and field). On
 * failure nothing is left on the stack and `trace` (if not NULL) gets an
 * Owned copy of the full message with traceback.
 */
int eo_lua_pcall(lua_State *L, int nargs, int nresults, eo_error *err, char **trace);

/*
 * Raise the time-limit error when the running call has passed its deadline
 * (or already timed out). C code that loops over input a script chooses
 * (pattern matching, table.move) calls it every few thousand steps, since
 * the count hook fires only between VM instructions. vm may be NULL.
 */
void eo_vm_poll(lua_State *L, eo_vm *vm);
/* Count one step of a C loop; every few thousand steps, eo_vm_poll. */
void eo_vm_tick(lua_State *L, eo_vm *vm);
/* Whether a call with a deadline is running (vm may be NULL). */
int eo_vm_has_deadline(const eo_vm *vm);
unsigned eo_vm_timeout_ms(const eo_vm *vm);
/* Whether the running call has passed its deadline (no side effect: safe
 * after lua_pcall has returned). */
int eo_vm_timed_out(eo_vm *vm);
/*
 * The same, from Lua code running under the call: the first time the
 * passed deadline is seen here the call is marked timed out (the hook
 * stops model code from its next instruction), and with `raise` the
 * time-limit error is raised then.
 */
int eo_vm_check_time(lua_State *L, eo_vm *vm, int raise);

/* Register the embedded earnorm Lua modules in package.preload. */
void eo_lua_preload(lua_State *L);
/*
 * require, limited to the embedded modules: push package.loaded[name], or
 * run the embedded module `name` and push its value. Returns 0 (nothing
 * pushed) when no embedded module has that name; never reads a file.
 */
int eo_lua_require_embedded(lua_State *L, const char *name);
/* Whether a chunk name ("@earnorm/model.lua") is an embedded module's. */
int eo_lua_is_embedded_chunk(const char *chunkname);

/* ---- the model sandbox (sandbox.c, pattern.c, lua/earnorm/sandbox.lua) ---- */

/*
 * Harden a new state (eo_vm_new does it): the string metatable locked,
 * string.dump unreachable from strings, and the pattern functions and
 * table.insert/remove/move replaced by ones that honour vm's deadline.
 */
void eo_lua_harden(lua_State *L, eo_vm *vm);
/* Push a table with find, match, gmatch and gsub that poll vm's deadline
 * (vm may be NULL: no deadline). */
void eo_lua_push_patterns(lua_State *L, eo_vm *vm);
/* The private module earnorm.sandbox.core. */
int luaopen_earnorm_sandbox_core(lua_State *L);
/* core.readonly, core.new_object and core.timed_out (table at -1). */
void eo_lua_open_guards(lua_State *L);

/* The earnorm.core module. */
int luaopen_earnorm_core(lua_State *L);

/* ---- errors ---- */

/* Push an earnorm.Error built from err. */
void eo_lua_push_error(lua_State *L, const eo_error *err);
/* Raise an earnorm.Error built from err (does not return). */
int eo_lua_raise(lua_State *L, const eo_error *err);
/* Raise an earnorm.Error with a code and printf message. */
int eo_lua_raisef(lua_State *L, int code, const char *model, const char *field,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* Fill err from the error value at idx (an earnorm.Error or anything else).
 * It reads fields and converts numbers, which can allocate, so it may
 * raise: call it only under a protected call (eo_lua_pcall's message
 * handler does). */
void eo_lua_to_error(lua_State *L, int idx, eo_error *err);
int eo_lua_is_error(lua_State *L, int idx);
void eo_lua_error_init(lua_State *L);
void eo_lua_open_errors(lua_State *L);   /* table at -1 */

/* ---- values ---- */

/* The orm.null sentinel. */
void eo_lua_push_null(lua_State *L);
int eo_lua_is_null(lua_State *L, int idx);

/*
 * Temporary memory for conversions of one call (JSON text of a Json field,
 * formatted numbers): freed by eo_lua_scratch_free.
 */
typedef struct eo_lua_scratch {
    char **blocks;
    size_t n, cap;
    /* the bytes of JSON text the values converted with this scratch may
     * still take together (a domain's leaves share one budget); NULL: each
     * value alone up to EO_LUA_JSON_MAX_TEXT */
    size_t *json_room;
    int json_over;        /* a conversion failed for want of that room */
} eo_lua_scratch;
void eo_lua_scratch_free(eo_lua_scratch *s);
char *eo_lua_scratch_keep(eo_lua_scratch *s, char *p);

/*
 * The Lua value at idx as a value for field f (f may be NULL: generic).
 * Strings are Borrowed from Lua; JSON text for Json fields is kept in s.
 * Never raises.
 */
int eo_lua_to_value(lua_State *L, int idx, const eo_field *f, eo_idkind kind,
                    eo_lua_scratch *s, eo_value *out, eo_error *err);
/* Push a generic value (no field: no decoding). */
void eo_lua_push_value(lua_State *L, const eo_value *v);

/*
 * Plain JSON <-> Lua (value.c; the rules are in docs/models.md). Encoding
 * never raises (Owned text in *out). Decoding reports bad JSON through err
 * and pushes nothing then; it raises only on a memory error while building
 * the tables (nothing of C is held then). JSON null is orm.null.
 */
int eo_lua_json_encode(lua_State *L, int idx, char **out, size_t *len, eo_error *err);
/*
 * The most JSON text one Lua value stored or matched may become (the VM's
 * memory limit when lower): a table used in many places is written each
 * time, so a few kilobytes of Lua can stand for gigabytes of text. 64 MiB,
 * a quarter of what PostgreSQL's jsonb holds and four times a MongoDB
 * document. Results for the C host API are bounded by the VM's limit alone.
 */
#define EO_LUA_JSON_MAX_TEXT ((size_t)64 * 1024 * 1024)
/* eo_lua_json_encode with the text held to max bytes (EO_ELIMIT past it;
 * *over, when given, is 1 when that limit was the reason). */
int eo_lua_json_encode_max(lua_State *L, int idx, size_t max, int *over, char **out, size_t *len,
                           eo_error *err);
int eo_lua_json_decode(lua_State *L, const char *text, size_t len, eo_error *err);
/* The same, with a top-level null as nil (arguments of the C host API). */
int eo_lua_push_json_any(lua_State *L, const char *text, size_t len, eo_error *err);

/* ---- recordsets ---- */

/* Push the class table of model m (nil when unknown). */
void eo_lua_push_class(lua_State *L, const eo_model *m);
/* Domain from a Lua table at idx (Owned result). Never raises. */
int eo_lua_to_domain(lua_State *L, int idx, eo_idkind kind, eo_domain **out, eo_error *err);
/* The same for a domain on model m: a record given for a Reference field
 * becomes its "model,id" text. */
int eo_lua_to_domain_of(lua_State *L, int idx, eo_idkind kind, const eo_model *m,
                        eo_domain **out, eo_error *err);

/* Registration helpers of the parts of earnorm.core. */
void eo_lua_open_values(lua_State *L);     /* table at -1 */
void eo_lua_open_models(lua_State *L);
/* value.c: the id value *v of a record of m turned into Reference text
 * "model,id" (kept in s). */
int eo_lua__reference_text(const eo_model *m, eo_value *v, eo_lua_scratch *s, eo_error *err);
/* fieldtypes.c: the options of Html, Monetary, Reference and Properties
 * declarations (table at t) into spec; the Reference's models go into
 * models[0..cap). Strings stay Borrowed from the declaration table. */
int eo_lua__type_options(lua_State *L, int t, const char *model, const char *name,
                         eo_field_spec *spec, const char **models, size_t cap, eo_error *err);
void eo_lua_open_env(lua_State *L);
void eo_lua_open_recordset(lua_State *L);
void eo_lua_open_cursor(lua_State *L);      /* cursor_open, cursor_step (search_iter) */
void eo_lua_open_depends(lua_State *L);   /* table at -1 */
void eo_lua_open_domains(lua_State *L);     /* like_escape */
void eo_lua_open_fieldinfo(lua_State *L);   /* model_info, fields_info, rec_name */
void eo_lua_open_embedded(lua_State *L);    /* define_embedded, is_embedded_value */

/* embedded.c: replace the plain table on top (a decoded value of f, an
 * Embedded or List field) with its read-only value object. */
void eo_lua__embedded_wrap(lua_State *L, const eo_field *f);
/* embedded.c: push the value at idx with value objects replaced by the
 * plain tables behind them (the value itself when it holds none). */
void eo_lua__embedded_plain(lua_State *L, int idx);
/* model.c: add the field declarations of the list at idx to m. */
int eo_lua__add_fields(lua_State *L, int list, eo_model *m, eo_error *err);

/* The per-state context: the schema registry models are declared in. */
typedef struct eo_lua_ctx eo_lua_ctx;
eo_lua_ctx *eo_lua_ctx_get(lua_State *L);
eo_registry *eo_lua_ctx_registry(eo_lua_ctx *ctx);
void eo_lua_ctx_ref(eo_lua_ctx *ctx);
void eo_lua_ctx_unref(eo_lua_ctx *ctx);

#endif
