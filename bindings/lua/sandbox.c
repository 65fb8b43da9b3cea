/*
 * sandbox.c - what the model sandbox (lua/earnorm/sandbox.lua) needs from
 * C, and the hardening every VM gets when it starts.
 *
 * Model files are untrusted code. The Lua side gives each one an
 * environment with an allow-list of globals; this file closes what an
 * environment cannot:
 *
 *   - Every string shares one metatable, whose __index is how ("x"):rep()
 *     finds its function. eo_lua_harden locks that metatable ("locked"),
 *     makes its __index a table that falls through to `string` but holds a
 *     refusing `dump`, and swaps the pattern functions for the deadline-
 *     checked ones of pattern.c (reachable from strings, so the sandbox
 *     cannot keep the stock ones away from a model).
 *   - setmetatable refuses a __gc field (finalizers run with hooks off, so
 *     an endless one would hang a later, unrelated call) and refuses to
 *     replace a metatable the sandbox did not set; getmetatable shows only
 *     metatables the sandbox set, "locked" for the host's.
 *   - require loads only the modules embedded in the binary.
 *   - table.insert, table.remove and table.move loop in C over a range a
 *     model chooses (a __len of 2^62): eo_lua_harden installs versions
 *     that poll the deadline (Lua's semantics and messages otherwise).
 *
 * It does not decide what a model file may call; sandbox.lua does.
 */
#include <lualib.h>
#include <string.h>

#include "eo_lua.h"

#define POLL_EVERY 4096 /* loop iterations between two deadline polls */

/* Lua's rule for table arguments: a table, or anything whose metatable has
 * the metamethods the function uses (raw fields, as ltablib's checktab). */
enum { TAB_R = 1, TAB_W = 2, TAB_L = 4 };

static int has_field(lua_State *L, int mt, const char *key)
{
    int r;
    lua_pushstring(L, key);
    r = lua_rawget(L, mt) != LUA_TNIL;
    lua_pop(L, 1);
    return r;
}

/* ---- table functions that loop over a range the caller picks ---- */

static void check_tablelike(lua_State *L, int arg, int what)
{
    int ok, mt;
    if (lua_type(L, arg) == LUA_TTABLE)
        return;
    ok = lua_getmetatable(L, arg);
    if (ok) {
        mt = lua_gettop(L);
        ok = (!(what & TAB_R) || has_field(L, mt, "__index")) &&
             (!(what & TAB_W) || has_field(L, mt, "__newindex")) &&
             (!(what & TAB_L) || has_field(L, mt, "__len"));
        lua_pop(L, 1);
    }
    if (!ok)
        luaL_checktype(L, arg, LUA_TTABLE);
}

static void poll(lua_State *L, lua_Integer i)
{
    if ((i & (POLL_EVERY - 1)) == 0)
        eo_vm_poll(L, lua_touserdata(L, lua_upvalueindex(1)));
}

static int sb_tinsert(lua_State *L)
{
    lua_Integer pos, end, i;
    check_tablelike(L, 1, TAB_R | TAB_W | TAB_L);
    end = luaL_len(L, 1);
    end = (lua_Integer)((lua_Unsigned)end + 1u); /* the first free slot (wraps as Lua's) */
    switch (lua_gettop(L)) {
    case 2:
        pos = end;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)end, 2, "position out of bounds");
        for (i = end; i > pos; i--) {
            poll(L, i);
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int sb_tremove(lua_State *L)
{
    lua_Integer size, pos;
    check_tablelike(L, 1, TAB_R | TAB_W | TAB_L);
    size = luaL_len(L, 1);
    pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        /* argument 1 in the message, as Lua's own says */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        poll(L, pos);
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int sb_tmove(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int dst = !lua_isnoneornil(L, 5) ? 5 : 1;
    check_tablelike(L, 1, TAB_R);
    check_tablelike(L, dst, TAB_W);
    if (e >= f) {
        lua_Integer n, i;
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        /* copy upwards unless the ranges overlap with the destination after the source */
        if (t > e || t <= f || (dst != 1 && !lua_compare(L, 1, dst, LUA_OPEQ))) {
            for (i = 0; i < n; i++) {
                poll(L, i + 1);
                lua_geti(L, 1, f + i);
                lua_seti(L, dst, t + i);
            }
        } else {
            for (i = n - 1; i >= 0; i--) {
                poll(L, i + 1);
                lua_geti(L, 1, f + i);
                lua_seti(L, dst, t + i);
            }
        }
    }
    lua_pushvalue(L, dst);
    return 1;
}

/* ---- hardening of a new state ---- */

static int refuse_dump(lua_State *L)
{
    return luaL_error(L, "string.dump is not available to model files (bytecode is refused)");
}

void eo_lua_harden(lua_State *L, eo_vm *vm)
{
    static const char *const replaced[] = { "find", "match", "gmatch", "gsub" };
    static const luaL_Reg loops[] = {
        { "insert", sb_tinsert }, { "remove", sb_tremove }, { "move", sb_tmove },
        { NULL, NULL },
    };
    size_t i;
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, LUA_TABLIBNAME);
    lua_pushlightuserdata(L, vm);
    luaL_setfuncs(L, loops, 1);
    lua_pop(L, 1);
    lua_getfield(L, -1, LUA_STRLIBNAME);
    lua_remove(L, -2);
    /* stack: string */
    eo_lua_push_patterns(L, vm);
    for (i = 0; i < sizeof replaced / sizeof replaced[0]; i++) {
        lua_getfield(L, -1, replaced[i]);
        lua_setfield(L, -3, replaced[i]);
    }
    lua_pop(L, 1);
    /* methods: { dump = refuse } falling through to string */
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, refuse_dump);
    lua_setfield(L, -2, "dump");
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    /* stack: string, methods */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushvalue(L, -3);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 3);
}

/* ---- getmetatable and setmetatable for model files ---- */

/*
 * Upvalue 1 of both: a weak-keyed set of the metatables sandboxed code
 * has set. Anything else is the host's.
 */
static int owned(lua_State *L, int idx)
{
    int r;
    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    r = lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL;
    lua_pop(L, 1);
    return r;
}

static int sb_getmetatable(lua_State *L)
{
    luaL_checkany(L, 1);
    if (!lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    if (!owned(L, -1)) {
        lua_pushliteral(L, "locked");
        return 1;
    }
    /* the model's own metatable: as stock, honouring its __metatable */
    luaL_getmetafield(L, 1, "__metatable");
    return 1;
}

static int sb_setmetatable(lua_State *L)
{
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (lua_getmetatable(L, 1)) {
        if (!owned(L, -1))
            return luaL_error(L, "cannot change a protected metatable");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    if (t == LUA_TTABLE) {
        /* Lua marks an object for finalization when its metatable has a
         * __gc at this moment; one added later never runs */
        if (has_field(L, 2, "__gc"))
            return luaL_error(L, "setmetatable: a __gc metamethod is not allowed in a model "
                                 "file (finalizers run outside the time limit)");
        lua_pushvalue(L, 2);
        lua_pushboolean(L, 1);
        lua_rawset(L, lua_upvalueindex(1));
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- the module ---- */

/* require(name): an embedded module, never a file (nil when there is none). */
static int sb_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (!eo_lua_require_embedded(L, name))
        luaL_pushfail(L);
    return 1;
}

static int sb_timed_out(lua_State *L)
{
    lua_pushboolean(L, eo_vm_timed_out(eo_lua_vm(L)));
    return 1;
}

/* embedded_chunk(name): whether "@path" names an embedded module (the hook lets those unwind). */
static int sb_embedded_chunk(lua_State *L)
{
    lua_pushboolean(L, eo_lua_is_embedded_chunk(luaL_checkstring(L, 1)));
    return 1;
}

/* raw_metatable(v): the metatable itself, ignoring __metatable (for the sandbox's own checks). */
static int sb_raw_metatable(lua_State *L)
{
    luaL_checkany(L, 1);
    if (!lua_getmetatable(L, 1))
        lua_pushnil(L);
    return 1;
}

int luaopen_earnorm_sandbox_core(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "getmetatable", sb_getmetatable }, { "setmetatable", sb_setmetatable },
        { NULL, NULL },
    };
    static const luaL_Reg plain[] = {
        { "require", sb_require }, { "timed_out", sb_timed_out },
        { "raw_metatable", sb_raw_metatable }, { "embedded_chunk", sb_embedded_chunk },
        { NULL, NULL },
    };
    lua_createtable(L, 0, 8);
    /* the set of metatables sandboxed code has set, weak keys */
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    luaL_setfuncs(L, meta, 1);
    luaL_setfuncs(L, plain, 0);
    return 1;
}
