/*
 * error.c - earnorm.Error objects: the one shape every failure takes in
 * Lua. A table with code ("EVALIDATE"), message, model, field, domain
 * ("SQLITE", "LUA", ...) and native (the driver's code), printed as
 * "EVALIDATE: message". Tables, not userdata, so handlers may add fields.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "eo_lua.h"

static const char *const domains[] = { "", "CORE", "SQLITE", "PG", "MONGO", "REDIS",
                                       "LUA", "POOL", "JSON", "OS" };

static int err_tostring(lua_State *L)
{
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "ERROR"), luaL_optstring(L, -1, "?"));
    return 1;
}

void eo_lua_error_init(lua_State *L)
{
    if (luaL_newmetatable(L, "earnorm.Error")) {
        lua_pushcfunction(L, err_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

int eo_lua_is_error(lua_State *L, int idx)
{
    int r;
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, "earnorm.Error");
    r = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return r;
}

static void push_error_fields(lua_State *L, const char *code, const char *msg, const char *model,
                              const char *field, const char *domain, int native)
{
    lua_createtable(L, 0, 7);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "message");
    if (model && *model) {
        lua_pushstring(L, model);
        lua_setfield(L, -2, "model");
    }
    if (field && *field) {
        lua_pushstring(L, field);
        lua_setfield(L, -2, "field");
    }
    if (domain && *domain) {
        lua_pushstring(L, domain);
        lua_setfield(L, -2, "domain");
    }
    if (native) {
        lua_pushinteger(L, native);
        lua_setfield(L, -2, "native");
    }
    luaL_setmetatable(L, "earnorm.Error");
}

void eo_lua_push_error(lua_State *L, const eo_error *err)
{
    const char *dom = (unsigned)err->domain < sizeof domains / sizeof domains[0]
                          ? domains[err->domain] : "";
    push_error_fields(L, eo_code_name(err->code), err->msg, err->model, err->field, dom,
                      err->native);
}

int eo_lua_raise(lua_State *L, const eo_error *err)
{
    eo_lua_push_error(L, err);
    return lua_error(L);
}

int eo_lua_raisef(lua_State *L, int code, const char *model, const char *field,
                  const char *fmt, ...)
{
    eo_error e;
    va_list ap;
    eo_error_clear(&e);
    e.code = code;
    e.domain = EO_DOMAIN_CORE;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    eo_error_where(&e, model, field);
    return eo_lua_raise(L, &e);
}

static int code_of(const char *name)
{
    int c;
    for (c = 0; c >= EO_ELIMIT; c--)
        if (strcmp(eo_code_name(c), name) == 0)
            return c;
    return EO_ERROR;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    char *nl;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    /* eo_error messages are one line: keep the first */
    if ((nl = strchr(dst, '\n')) != NULL)
        *nl = '\0';
}

void eo_lua_to_error(lua_State *L, int idx, eo_error *err)
{
    if (err == NULL)
        return;
    idx = lua_absindex(L, idx);
    eo_error_clear(err);
    err->domain = EO_DOMAIN_LUA;
    if (eo_lua_is_error(L, idx)) {
        size_t i;
        lua_getfield(L, idx, "code");
        err->code = lua_isstring(L, -1) ? code_of(lua_tostring(L, -1)) : EO_ERROR;
        if (err->code == EO_OK)
            err->code = EO_ERROR;
        lua_getfield(L, idx, "message");
        copy_str(err->msg, sizeof err->msg, lua_tostring(L, -1));
        lua_getfield(L, idx, "model");
        copy_str(err->model, sizeof err->model, lua_tostring(L, -1));
        lua_getfield(L, idx, "field");
        copy_str(err->field, sizeof err->field, lua_tostring(L, -1));
        lua_getfield(L, idx, "domain");
        if (lua_isstring(L, -1))
            for (i = 0; i < sizeof domains / sizeof domains[0]; i++)
                if (strcmp(domains[i], lua_tostring(L, -1)) == 0)
                    err->domain = (int)i;
        lua_getfield(L, idx, "native");
        err->native = (int)lua_tointeger(L, -1);
        lua_pop(L, 6);
        return;
    }
    err->code = EO_ERROR;
    if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER)
        copy_str(err->msg, sizeof err->msg, lua_tostring(L, idx));
    else
        snprintf(err->msg, sizeof err->msg, "(error object is a %s value)", luaL_typename(L, idx));
}

/* core.new_error(code, message, model, field, domain) */
static int l_new_error(lua_State *L)
{
    const char *code = luaL_optstring(L, 1, "ERROR");
    const char *msg = luaL_optstring(L, 2, code);
    push_error_fields(L, code, msg, luaL_optstring(L, 3, NULL), luaL_optstring(L, 4, NULL),
                      luaL_optstring(L, 5, "LUA"), 0);
    return 1;
}

static int l_is_error(lua_State *L)
{
    lua_pushboolean(L, eo_lua_is_error(L, 1));
    return 1;
}

void eo_lua_open_errors(lua_State *L)
{
    eo_lua_error_init(L);
    lua_pushcfunction(L, l_new_error);
    lua_setfield(L, -2, "new_error");
    lua_pushcfunction(L, l_is_error);
    lua_setfield(L, -2, "is_error");
}
