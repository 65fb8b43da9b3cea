/*
 * preload.c - the embedded Lua modules of lua/earnorm, registered in
 * package.preload so `require "earnorm"` works with no file on disk.
 *
 * The sources are compiled into gen/eo_lua_modules.c by
 * cmake/EmbedLua.cmake. Each loads with its real name as chunk name
 * ("@earnorm/model.lua") so tracebacks point at file:line, and in text
 * mode only: bytecode is refused.
 *
 * The model sandbox requires through eo_lua_require_embedded, which knows
 * only these modules: never package.path or package.cpath, so a file
 * ./earnorm/x.lua in the working directory cannot stand in for one.
 */
#include <string.h>

#include "eo_lua.h"

typedef struct eo_lua_module {
    const char *name;            /* "earnorm.model" */
    const char *chunkname;       /* "@earnorm/model.lua" */
    const unsigned char *data;
    size_t size;
} eo_lua_module;

extern const eo_lua_module eo_lua_modules[];
extern const size_t eo_lua_nmodules;

static int loader(lua_State *L)
{
    const eo_lua_module *m = lua_touserdata(L, lua_upvalueindex(1));
    if (luaL_loadbufferx(L, (const char *)m->data, m->size, m->chunkname, "t") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, m->name);
    lua_call(L, 1, 1);
    return 1;
}

static const eo_lua_module *find_module(const char *name)
{
    size_t i;
    for (i = 0; i < eo_lua_nmodules; i++)
        if (strcmp(eo_lua_modules[i].name, name) == 0)
            return &eo_lua_modules[i];
    return NULL;
}

int eo_lua_require_embedded(lua_State *L, const char *name)
{
    const eo_lua_module *m;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, name) != LUA_TNIL) {
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, 1);
    if ((m = find_module(name)) == NULL) {
        lua_pop(L, 1);
        return 0;
    }
    /* as require does: the loader's value, or true, stays in package.loaded */
    lua_pushlightuserdata(L, (void *)m);
    lua_pushcclosure(L, loader, 1);
    lua_call(L, 0, 1);
    if (!lua_isnil(L, -1))
        lua_setfield(L, -2, name);
    else
        lua_pop(L, 1);
    if (lua_getfield(L, -1, name) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
    }
    lua_remove(L, -2);
    return 1;
}

int eo_lua_is_embedded_chunk(const char *chunkname)
{
    size_t i;
    if (chunkname == NULL)
        return 0;
    for (i = 0; i < eo_lua_nmodules; i++)
        if (strcmp(eo_lua_modules[i].chunkname, chunkname) == 0)
            return 1;
    return 0;
}

void eo_lua_preload(lua_State *L)
{
    size_t i;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (i = 0; i < eo_lua_nmodules; i++) {
        lua_pushlightuserdata(L, (void *)&eo_lua_modules[i]);
        lua_pushcclosure(L, loader, 1);
        lua_setfield(L, -2, eo_lua_modules[i].name);
    }
    lua_pushcfunction(L, luaopen_earnorm_core);
    lua_setfield(L, -2, "earnorm.core");
    lua_pushcfunction(L, luaopen_earnorm_sandbox_core);
    lua_setfield(L, -2, "earnorm.sandbox.core");
    lua_pop(L, 1);
}
