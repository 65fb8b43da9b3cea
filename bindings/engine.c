/*
 * engine.c - the C host API (engine.h): the core plus one Lua VM.
 *
 * Each call runs one C function of this file under eo_lua_pcall: it
 * decodes the JSON arguments into Lua values, calls a function of
 * earnorm/host.lua (which uses the ordinary model API, so Lua events,
 * validators and computed fields run) and encodes the result. Nothing
 * touches the Lua state outside that protected call: with a memory_limit
 * any allocation can raise, and a raise outside a protected call aborts
 * the process. So an argument or a result too large for the limit is
 * EO_ENOMEM, never an abort, and the stack is balanced on every path.
 *
 * Every entry point clears the caller's eo_error first, so on success it
 * reads EO_OK, and checks its pointers (EO_EINVAL naming the argument).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eo_lua.h"

struct eo_engine {
    eo_vm *vm;
    int env_ref;     /* the Env object */
    int host_ref;    /* the earnorm.host module */
};

/* value.c: encode for a C host (bytes that are not UTF-8 as {"$binary"}) */
int eo_lua__json_encode_host(lua_State *L, int idx, char **out, size_t *len, eo_error *err);

/* One protected call: what the C function below it needs and gives. */
typedef struct call {
    eo_engine *eng;
    const char *fn;          /* host.lua function, or NULL for eval */
    const char *str;         /* a string pushed after the env (the model name), or none */
    const char *const *json; /* JSON texts to decode as arguments */
    const char *const *what; /* their names, for error messages */
    int njson;
    const char *code;        /* eval: the Lua chunk */
    char **out;              /* the result as JSON; NULL: dropped */
    long long *count;        /* the result as an integer (search_count) */
} call;

static int null_arg(eo_error *err, const char *fn, const char *arg)
{
    return eo_error_set(err, EO_EINVAL, "%s: %s is NULL", fn, arg);
}

/* Raise an earnorm.Error for err (inside the protected call only). */
static int raise_err(lua_State *L, const eo_error *err)
{
    return eo_lua_raise(L, err);
}

/* Push a JSON argument decoded; NULL or empty text pushes nil. */
static void push_json(lua_State *L, const char *json, const char *what)
{
    eo_error err;
    if (json == NULL || *json == '\0') {
        lua_pushnil(L);
        return;
    }
    if (eo_lua_push_json_any(L, json, strlen(json), &err) != EO_OK) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", what);
        eo_error__prefix(&err, prefix);
        raise_err(L, &err);
    }
}

/* Encode the value on top as JSON into *out (for the caller). */
static void take_json(lua_State *L, char **out)
{
    eo_error err;
    size_t len;
    if (eo_lua__json_encode_host(L, -1, out, &len, &err) != EO_OK) {
        eo_error__prefix(&err, "result: ");
        raise_err(L, &err);
    }
}

/* The protected body of every call but open: stack: lightuserdata(call). */
static int l_call(lua_State *L)
{
    call *c = lua_touserdata(L, 1);
    int i, nargs = 0;
    if (c->fn) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->eng->host_ref);
        lua_getfield(L, -1, c->fn);
        lua_remove(L, -2);
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->eng->env_ref);
        nargs = 1;
        if (c->str) {
            lua_pushstring(L, c->str);
            nargs++;
        }
        for (i = 0; i < c->njson; i++, nargs++)
            push_json(L, c->json[i], c->what[i]);
    } else {
        int st = luaL_loadbufferx(L, c->code, strlen(c->code), "=eval", "t");
        if (st == LUA_ERRMEM)
            return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL,
                                 "eval: out of memory compiling the code (the VM's memory limit "
                                 "was reached)");
        if (st != LUA_OK) {
            eo_error err;
            eo_lua_to_error(L, -1, &err);
            err.code = EO_EINVAL;
            return raise_err(L, &err);
        }
    }
    lua_call(L, nargs, 1);
    if (c->count) {
        *c->count = (long long)lua_tointeger(L, -1);
    } else if (c->out) {
        take_json(L, c->out);
    }
    return 0;
}

static int run(eo_engine *eng, call *c, eo_error *err)
{
    lua_State *L = eo_vm_state(eng->vm);
    int top = lua_gettop(L), rc;
    c->eng = eng;
    if (c->out)
        *c->out = NULL;
    /* neither push allocates: a light C function and a light userdata */
    lua_pushcfunction(L, l_call);
    lua_pushlightuserdata(L, c);
    rc = eo_lua_pcall(L, 1, 0, err, NULL);
    lua_settop(L, top);
    if (rc != EO_OK && c->out) {
        eo_free(*c->out);
        *c->out = NULL;
    }
    if (rc == EO_OK)
        eo_error_clear(err);
    return rc;
}

/* host.fn(env, [model,] args...) where args are JSON texts */
static int host_call(eo_engine *eng, const char *fn, const char *model, const char *const *json,
                     const char *const *what, int njson, char **out, eo_error *err)
{
    call c;
    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.str = model;
    c.json = json;
    c.what = what;
    c.njson = njson;
    c.out = out;
    return run(eng, &c, err);
}

/* ---- open ---- */

typedef struct open_args {
    eo_engine *eng;
    const char *url;
    int log_queries;
    eo_pool *pool;
} open_args;

static int l_open(lua_State *L)
{
    open_args *a = lua_touserdata(L, 1);
    /* stack: args */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "earnorm");
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "orm");
    lua_getglobal(L, "require");
    lua_pushliteral(L, "earnorm.host");
    lua_call(L, 1, 1);
    a->eng->host_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* stack: args, orm */
    lua_getfield(L, -1, "connect");
    lua_createtable(L, 0, 3);
    lua_pushstring(L, a->url);
    lua_setfield(L, -2, "database");
    lua_pushboolean(L, a->log_queries);
    lua_setfield(L, -2, "log_queries");
    if (a->pool) {
        lua_pushlightuserdata(L, a->pool);
        lua_setfield(L, -2, "pool");
    }
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "env");
    a->eng->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int eo_engine_open(eo_engine **out, const eo_engine_config *cfg, eo_error *err)
{
    eo_engine *eng;
    eo_vm_config vc;
    lua_State *L;
    open_args a;
    int rc;
    const char *url = cfg && cfg->database_url ? cfg->database_url : getenv("EARNORM_DATABASE_URL");

    eo_error_clear(err);
    if (out == NULL)
        return null_arg(err, "eo_engine_open", "out");
    *out = NULL;
    if (cfg && cfg->cache_url)
        return eo_error_set(err, EO_ENOTSUP,
                            "eo_engine_open: cfg.cache_url: the cache is not built yet (only the "
                            "in-process record store exists); leave cache_url NULL");
    eng = eo_calloc(1, sizeof *eng);
    if (eng == NULL)
        return eo_error_set(err, EO_ENOMEM, "out of memory opening an engine");
    eng->env_ref = eng->host_ref = LUA_NOREF;
    memset(&vc, 0, sizeof vc);
    if (cfg) {
        vc.memory_limit = cfg->memory_limit;
        vc.timeout_ms = cfg->timeout_ms;
    }
    if ((rc = eo_vm_new(&eng->vm, &vc, err)) != EO_OK) {
        eo_free(eng);
        return rc;
    }
    L = eo_vm_state(eng->vm);
    a.eng = eng;
    a.url = url ? url : "sqlite://earnorm.db";
    a.log_queries = cfg && cfg->log_queries;
    a.pool = cfg ? cfg->pool : NULL;
    lua_pushcfunction(L, l_open);
    lua_pushlightuserdata(L, &a);
    rc = eo_lua_pcall(L, 1, 0, err, NULL);
    lua_settop(L, 0);
    if (rc == EO_OK && cfg && cfg->models_path)
        rc = eo_engine_load_models(eng, cfg->models_path, err);
    if (rc != EO_OK) {
        eo_engine_close(eng);
        return rc;
    }
    *out = eng;
    eo_error_clear(err);
    return EO_OK;
}

void eo_engine_close(eo_engine *eng)
{
    if (eng == NULL)
        return;
    eo_vm_free(eng->vm);
    eo_free(eng);
}

static int l_load_models(lua_State *L)
{
    const char *path = lua_touserdata(L, 1);
    lua_getglobal(L, "orm");
    lua_getfield(L, -1, "load_models");
    lua_pushstring(L, path);
    lua_call(L, 1, 0);
    return 0;
}

int eo_engine_load_models(eo_engine *eng, const char *path, eo_error *err)
{
    lua_State *L;
    int rc;
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_load_models", "eng");
    if (path == NULL)
        return null_arg(err, "eo_engine_load_models", "path");
    L = eo_vm_state(eng->vm);
    lua_pushcfunction(L, l_load_models);
    lua_pushlightuserdata(L, (void *)path);
    rc = eo_lua_pcall(L, 1, 0, err, NULL);
    if (rc == EO_OK)
        eo_error_clear(err);
    return rc;
}

int eo_engine_migrate(eo_engine *eng, eo_error *err)
{
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_migrate", "eng");
    return host_call(eng, "migrate", NULL, NULL, NULL, 0, NULL, err);
}

/* The checks every model call makes. */
#define CHECK_MODEL_CALL(fn)                         \
    do {                                             \
        eo_error_clear(err);                         \
        if (eng == NULL)                             \
            return null_arg(err, fn, "eng");         \
        if (model == NULL)                           \
            return null_arg(err, fn, "model");       \
    } while (0)

int eo_create_json(eo_engine *eng, const char *model, const char *vals_json, char **out_ids,
                   eo_error *err)
{
    const char *j[] = { vals_json }, *w[] = { "values" };
    if (out_ids)
        *out_ids = NULL;
    CHECK_MODEL_CALL("eo_create_json");
    if (vals_json == NULL)
        return null_arg(err, "eo_create_json", "vals_json");
    return host_call(eng, "create", model, j, w, 1, out_ids, err);
}

int eo_search_read_json(eo_engine *eng, const char *model, const char *domain_json,
                        const char *opts_json, char **out_rows, eo_error *err)
{
    const char *j[] = { domain_json, opts_json }, *w[] = { "domain", "options" };
    if (out_rows)
        *out_rows = NULL;
    CHECK_MODEL_CALL("eo_search_read_json");
    if (out_rows == NULL)
        return null_arg(err, "eo_search_read_json", "out_rows");
    return host_call(eng, "search_read", model, j, w, 2, out_rows, err);
}

int eo_read_json(eo_engine *eng, const char *model, const char *ids_json, const char *fields_json,
                 char **out_rows, eo_error *err)
{
    const char *j[] = { ids_json, fields_json }, *w[] = { "ids", "fields" };
    if (out_rows)
        *out_rows = NULL;
    CHECK_MODEL_CALL("eo_read_json");
    if (ids_json == NULL)
        return null_arg(err, "eo_read_json", "ids_json");
    if (out_rows == NULL)
        return null_arg(err, "eo_read_json", "out_rows");
    return host_call(eng, "read", model, j, w, 2, out_rows, err);
}

int eo_search_count_json(eo_engine *eng, const char *model, const char *domain_json,
                         long long *out, eo_error *err)
{
    const char *j[] = { domain_json }, *w[] = { "domain" };
    call c;
    int rc;
    if (out)
        *out = 0;
    CHECK_MODEL_CALL("eo_search_count_json");
    if (out == NULL)
        return null_arg(err, "eo_search_count_json", "out");
    memset(&c, 0, sizeof c);
    c.fn = "search_count";
    c.str = model;
    c.json = j;
    c.what = w;
    c.njson = 1;
    c.count = out;
    rc = run(eng, &c, err);
    if (rc != EO_OK)
        *out = 0;
    return rc;
}

int eo_write_json(eo_engine *eng, const char *model, const char *ids_json, const char *vals_json,
                  eo_error *err)
{
    const char *j[] = { ids_json, vals_json }, *w[] = { "ids", "values" };
    CHECK_MODEL_CALL("eo_write_json");
    if (ids_json == NULL)
        return null_arg(err, "eo_write_json", "ids_json");
    if (vals_json == NULL)
        return null_arg(err, "eo_write_json", "vals_json");
    return host_call(eng, "write", model, j, w, 2, NULL, err);
}

int eo_unlink_json(eo_engine *eng, const char *model, const char *ids_json, eo_error *err)
{
    const char *j[] = { ids_json }, *w[] = { "ids" };
    CHECK_MODEL_CALL("eo_unlink_json");
    if (ids_json == NULL)
        return null_arg(err, "eo_unlink_json", "ids_json");
    return host_call(eng, "unlink", model, j, w, 1, NULL, err);
}

int eo_engine_begin(eo_engine *eng, const char *isolation, eo_error *err)
{
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_begin", "eng");
    /* NULL pushes nothing: host.begin(env) with the default isolation */
    return host_call(eng, "begin", isolation, NULL, NULL, 0, NULL, err);
}

int eo_engine_commit(eo_engine *eng, eo_error *err)
{
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_commit", "eng");
    return host_call(eng, "commit", NULL, NULL, NULL, 0, NULL, err);
}

int eo_engine_rollback(eo_engine *eng, eo_error *err)
{
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_rollback", "eng");
    return host_call(eng, "rollback", NULL, NULL, NULL, 0, NULL, err);
}

int eo_engine_ping(eo_engine *eng, char **out_json, eo_error *err)
{
    if (out_json)
        *out_json = NULL;
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_ping", "eng");
    if (out_json == NULL)
        return null_arg(err, "eo_engine_ping", "out_json");
    return host_call(eng, "ping", NULL, NULL, NULL, 0, out_json, err);
}

int eo_engine_stats(eo_engine *eng, char **out_json, eo_error *err)
{
    if (out_json)
        *out_json = NULL;
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_stats", "eng");
    if (out_json == NULL)
        return null_arg(err, "eo_engine_stats", "out_json");
    return host_call(eng, "stats", NULL, NULL, NULL, 0, out_json, err);
}

int eo_engine_eval(eo_engine *eng, const char *code, char **out_json, eo_error *err)
{
    call c;
    if (out_json)
        *out_json = NULL;
    eo_error_clear(err);
    if (eng == NULL)
        return null_arg(err, "eo_engine_eval", "eng");
    if (code == NULL)
        return null_arg(err, "eo_engine_eval", "code");
    memset(&c, 0, sizeof c);
    c.code = code;
    c.out = out_json;
    return run(eng, &c, err);
}
