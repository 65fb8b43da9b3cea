/*
 * preload.c - the embedded Lua modules of lua/earnorm, registered in
 * package.preload so `require "earnorm"` works with no file on disk.
 *
 * The sources are compiled into gen/eo_lua_modules.c by
 * cmake/EmbedLua.cmake. Each loads with its real name as chunk name
 * ("@earnorm/model.lua") so tracebacks point at file:line, and in text
 * mode only: bytecode is refused.
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
    lua_pop(L, 1);
}
