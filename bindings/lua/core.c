/*
 * core.c - luaopen_earnorm_core: the private C module under earnorm.
 *
 * Collects the functions of values.c, error.c, model.c, env.c,
 * recordset.c and cursor.c in one table. The public API is earnorm/init.lua; this
 * module's names may change between versions.
 */
#include "eo_lua.h"

int luaopen_earnorm_core(lua_State *L)
{
    eo_lua_ctx_get(L);
    lua_newtable(L);
    lua_pushliteral(L, EO_VERSION_STRING);
    lua_setfield(L, -2, "VERSION");
    eo_lua_open_errors(L);
    eo_lua_open_values(L);
    eo_lua_open_models(L);
    eo_lua_open_env(L);
    eo_lua_open_recordset(L);
    eo_lua_open_cursor(L);
    eo_lua_open_depends(L);
    eo_lua_open_domains(L);
    eo_lua_open_fieldinfo(L);
    eo_lua_open_embedded(L);
    eo_lua_open_guards(L);
    return 1;
}
