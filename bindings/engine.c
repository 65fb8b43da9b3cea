/*
 * engine.c - the C host API (engine.h): the core plus one Lua VM.
 *
 * Each JSON call decodes its arguments into Lua values, calls a function
 * of earnorm/host.lua (which uses the ordinary model API, so Lua events,
 * validators and computed fields run) under eo_lua_pcall, and encodes the
 * result. The stack is balanced on every path.
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

/* Call `fn`(on the stack with its args) protected; leaves nres results. */
static int call(eo_engine *eng, int nargs, int nres, eo_error *err)
{
    return eo_lua_pcall(eo_vm_state(eng->vm), nargs, nres, err, NULL);
}

static int require_into(lua_State *L, const char *name, int *ref, eo_error *err)
{
    int rc;
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    if ((rc = eo_lua_pcall(L, 1, 1, err, NULL)) != EO_OK)
        return rc;
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return EO_OK;
}

int eo_engine_open(eo_engine **out, const eo_engine_config *cfg, eo_error *err)
{
    eo_engine *eng;
    eo_vm_config vc;
    lua_State *L;
    int rc, orm_ref = LUA_NOREF;
    const char *url = cfg && cfg->database_url ? cfg->database_url : getenv("EARNORM_DATABASE_URL");

    *out = NULL;
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
    if ((rc = require_into(L, "earnorm", &orm_ref, err)) != EO_OK ||
        (rc = require_into(L, "earnorm.host", &eng->host_ref, err)) != EO_OK)
        goto fail;
    lua_rawgeti(L, LUA_REGISTRYINDEX, orm_ref);
    lua_setglobal(L, "orm");
    lua_rawgeti(L, LUA_REGISTRYINDEX, orm_ref);
    lua_getfield(L, -1, "connect");
    lua_remove(L, -2);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, url ? url : "sqlite://earnorm.db");
    lua_setfield(L, -2, "database");
    lua_pushboolean(L, cfg && cfg->log_queries);
    lua_setfield(L, -2, "log_queries");
    if (cfg && cfg->pool) {
        lua_pushlightuserdata(L, cfg->pool);
        lua_setfield(L, -2, "pool");
    }
    if ((rc = call(eng, 1, 1, err)) != EO_OK)
        goto fail;
    lua_pushvalue(L, -1);
    lua_setglobal(L, "env");
    eng->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    luaL_unref(L, LUA_REGISTRYINDEX, orm_ref);
    if (cfg && cfg->models_path && (rc = eo_engine_load_models(eng, cfg->models_path, err)) != EO_OK)
        goto fail_closed;
    *out = eng;
    return EO_OK;
fail:
    luaL_unref(L, LUA_REGISTRYINDEX, orm_ref);
fail_closed:
    eo_engine_close(eng);
    return rc;
}

void eo_engine_close(eo_engine *eng)
{
    if (eng == NULL)
        return;
    eo_vm_free(eng->vm);
    eo_free(eng);
}

int eo_engine_load_models(eo_engine *eng, const char *path, eo_error *err)
{
    lua_State *L = eo_vm_state(eng->vm);
    lua_getglobal(L, "orm");
    lua_getfield(L, -1, "load_models");
    lua_remove(L, -2);
    lua_pushstring(L, path);
    return call(eng, 1, 0, err);
}

/* Push host.<fn> and the env. */
static void host_fn(eo_engine *eng, const char *fn)
{
    lua_State *L = eo_vm_state(eng->vm);
    lua_rawgeti(L, LUA_REGISTRYINDEX, eng->host_ref);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, eng->env_ref);
}

/* Push a JSON argument decoded; empty or NULL text pushes nil. */
static int push_json(lua_State *L, const char *json, const char *what, eo_error *err)
{
    int rc;
    if (json == NULL || *json == '\0') {
        lua_pushnil(L);
        return EO_OK;
    }
    if ((rc = eo_lua_push_json_any(L, json, strlen(json), err)) != EO_OK) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", what);
        eo_error__prefix(err, prefix);
        return rc;
    }
    return EO_OK;
}

/* Encode the value on top as JSON into *out and pop it. */
static int take_json(lua_State *L, char **out, eo_error *err)
{
    size_t len;
    int rc = eo_lua_json_encode(L, -1, out, &len, err);
    lua_pop(L, 1);
    return rc;
}

/* host.fn(env, args...) where args are JSON texts; result as JSON into out */
static int host_call(eo_engine *eng, const char *fn, const char *model, const char **json,
                     const char **what, int njson, char **out, eo_error *err)
{
    lua_State *L = eo_vm_state(eng->vm);
    int top = lua_gettop(L), i, rc, nargs = 1;
    if (out)
        *out = NULL;
    host_fn(eng, fn);
    if (model) {
        lua_pushstring(L, model);
        nargs++;
    }
    for (i = 0; i < njson; i++, nargs++) {
        if ((rc = push_json(L, json[i], what[i], err)) != EO_OK) {
            lua_settop(L, top);
            return rc;
        }
    }
    if ((rc = call(eng, nargs, 1, err)) != EO_OK)
        return rc;
    if (out == NULL) {
        lua_pop(L, 1);
        return EO_OK;
    }
    return take_json(L, out, err);
}

int eo_engine_migrate(eo_engine *eng, eo_error *err)
{
    return host_call(eng, "migrate", NULL, NULL, NULL, 0, NULL, err);
}

int eo_create_json(eo_engine *eng, const char *model, const char *vals_json, char **out_ids,
                   eo_error *err)
{
    const char *j[] = { vals_json }, *w[] = { "values" };
    return host_call(eng, "create", model, j, w, 1, out_ids, err);
}

int eo_search_read_json(eo_engine *eng, const char *model, const char *domain_json,
                        const char *opts_json, char **out_rows, eo_error *err)
{
    const char *j[] = { domain_json, opts_json }, *w[] = { "domain", "options" };
    return host_call(eng, "search_read", model, j, w, 2, out_rows, err);
}

int eo_read_json(eo_engine *eng, const char *model, const char *ids_json, const char *fields_json,
                 char **out_rows, eo_error *err)
{
    const char *j[] = { ids_json, fields_json }, *w[] = { "ids", "fields" };
    return host_call(eng, "read", model, j, w, 2, out_rows, err);
}

int eo_search_count_json(eo_engine *eng, const char *model, const char *domain_json,
                         long long *out, eo_error *err)
{
    char *text = NULL;
    const char *j[] = { domain_json }, *w[] = { "domain" };
    int rc = host_call(eng, "search_count", model, j, w, 1, &text, err);
    *out = rc == EO_OK ? strtoll(text, NULL, 10) : 0;
    eo_free(text);
    return rc;
}

int eo_write_json(eo_engine *eng, const char *model, const char *ids_json, const char *vals_json,
                  eo_error *err)
{
    const char *j[] = { ids_json, vals_json }, *w[] = { "ids", "values" };
    return host_call(eng, "write", model, j, w, 2, NULL, err);
}

int eo_unlink_json(eo_engine *eng, const char *model, const char *ids_json, eo_error *err)
{
    const char *j[] = { ids_json }, *w[] = { "ids" };
    return host_call(eng, "unlink", model, j, w, 1, NULL, err);
}

int eo_engine_begin(eo_engine *eng, const char *isolation, eo_error *err)
{
    lua_State *L = eo_vm_state(eng->vm);
    host_fn(eng, "begin");
    if (isolation)
        lua_pushstring(L, isolation);
    else
        lua_pushnil(L);
    return call(eng, 2, 0, err);
}

int eo_engine_commit(eo_engine *eng, eo_error *err)
{
    return host_call(eng, "commit", NULL, NULL, NULL, 0, NULL, err);
}

int eo_engine_rollback(eo_engine *eng, eo_error *err)
{
    return host_call(eng, "rollback", NULL, NULL, NULL, 0, NULL, err);
}

int eo_engine_ping(eo_engine *eng, char **out_json, eo_error *err)
{
    return host_call(eng, "ping", NULL, NULL, NULL, 0, out_json, err);
}

int eo_engine_stats(eo_engine *eng, char **out_json, eo_error *err)
{
    return host_call(eng, "stats", NULL, NULL, NULL, 0, out_json, err);
}

int eo_engine_eval(eo_engine *eng, const char *code, char **out_json, eo_error *err)
{
    lua_State *L = eo_vm_state(eng->vm);
    int rc;
    if (out_json)
        *out_json = NULL;
    if (luaL_loadbufferx(L, code, strlen(code), "=eval", "t") != LUA_OK) {
        eo_lua_to_error(L, -1, err);
        if (err)
            err->code = EO_EINVAL;
        lua_pop(L, 1);
        return EO_EINVAL;
    }
    if ((rc = call(eng, 0, 1, err)) != EO_OK)
        return rc;
    if (out_json == NULL) {
        lua_pop(L, 1);
        return EO_OK;
    }
    return take_json(L, out_json, err);
}
