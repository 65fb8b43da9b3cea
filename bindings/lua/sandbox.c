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
 *     table.sort compares through a function that counts comparisons and
 *     polls (Lua's own sort compares in C, where the hook never fires, and
 *     calls a comparator that may be the ORM's own code, which the hook
 *     lets run after the time limit). string.rep copies by doubling and
 *     polls between copies (Lua's loops n times even when the result is
 *     empty: ("").rep("", 2^63) never returns).
 *   - os.date runs one strftime per conversion of a format of any length:
 *     model files get a version that refuses a format longer than
 *     DATE_FORMAT_MAX bytes.
 *   - core.readonly(t, name) gives a read-only view of a table that model
 *     code cannot write through, not even with rawset (it is a userdata);
 *     core.new_object(mt) an object of that kind for the Lua side's own
 *     use (the env a recordset gives model code).
 *
 * It does not decide what a model file may call; sandbox.lua does.
 */
#include <limits.h>
#include <lualib.h>
#include <string.h>

#include "eo_lua.h"

#define POLL_EVERY 4096 /* loop iterations between two deadline polls */
#define DATE_FORMAT_MAX 1024 /* bytes of an os.date format in a model file */
#define REP_CHUNK ((size_t)1 << 24) /* bytes string.rep copies between two polls */

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

/*
 * table.sort: Lua's own, comparing through sort_less, which counts the
 * comparisons (eo_vm_tick polls every few thousand). Without a deadline
 * (no timeout_ms) Lua's sort runs as it is. The checks Lua's sort makes
 * are made here first, so its messages name the function as called.
 */
static int sort_less(lua_State *L)
{
    /* upvalues: the vm, the caller's comparator (or nil) */
    eo_vm_tick(L, lua_touserdata(L, lua_upvalueindex(1)));
    lua_settop(L, 2);
    if (lua_isnil(L, lua_upvalueindex(2))) {
        lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

static int sb_tsort(lua_State *L)
{
    eo_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    lua_Integer n;
    check_tablelike(L, 1, TAB_R | TAB_W | TAB_L);
    n = luaL_len(L, 1);
    if (n <= 1)
        return 0;
    luaL_argcheck(L, n < INT_MAX, 1, "array too big");
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(2));   /* Lua's sort */
    lua_pushvalue(L, 1);
    if (eo_vm_has_deadline(vm)) {
        lua_pushlightuserdata(L, vm);
        lua_pushvalue(L, 2);
        lua_pushcclosure(L, sort_less, 2);
    } else {
        lua_pushvalue(L, 2);
    }
    lua_call(L, 2, 0);
    return 0;
}

/* ---- string.rep ---- */

/* Lua's limit on the length of a string rep may build (lstrlib's MAXSIZE). */
#define REP_MAX (sizeof(size_t) < sizeof(int) ? (size_t)-1 : (size_t)INT_MAX)

/*
 * s, then sep..s n-1 times. The tail is periodic (sep..s), so after one
 * period it is filled by copying what is written to the end of it, at
 * most REP_CHUNK bytes (whole periods) at a time, polling in between.
 */
static int sb_rep(lua_State *L)
{
    size_t l, lsep, total, unit, done, rest;
    const char *s = luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *sep = luaL_optlstring(L, 3, "", &lsep);
    eo_vm *vm = lua_touserdata(L, lua_upvalueindex(1));
    luaL_Buffer b;
    char *p, *tail;
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    if (l + lsep < l || l + lsep > REP_MAX / (lua_Unsigned)n)
        return luaL_error(L, "resulting string too large");
    total = (size_t)n * l + (size_t)(n - 1) * lsep;
    if (total == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    p = luaL_buffinitsize(L, &b, total);
    memcpy(p, s, l);
    tail = p + l;
    rest = total - l;
    unit = l + lsep;
    if (rest > 0) {
        memcpy(tail, sep, lsep);
        memcpy(tail + lsep, s, l);
        for (done = unit; done < rest;) {
            size_t k = done;
            if (k > REP_CHUNK)
                k = REP_CHUNK / unit > 0 ? REP_CHUNK / unit * unit : unit;
            if (k > rest - done)
                k = rest - done;
            memcpy(tail + done, tail, k);
            done += k;
            eo_vm_poll(L, vm);
        }
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

/* ---- os.date for model files ---- */

static int sb_date(lua_State *L)
{
    int nargs;
    if (lua_type(L, 1) == LUA_TSTRING && lua_rawlen(L, 1) > DATE_FORMAT_MAX)
        /* named as the model calls it (called through pcall, Lua could not) */
        return luaL_error(L, "bad argument #1 to 'date' (format longer than %d bytes, the limit "
                             "in a model file)", DATE_FORMAT_MAX);
    nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
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
    /* stack: loaded, table */
    lua_pushlightuserdata(L, vm);
    lua_getfield(L, -2, "sort");
    lua_pushcclosure(L, sb_tsort, 2);
    lua_setfield(L, -2, "sort");
    lua_pop(L, 1);
    lua_getfield(L, -1, LUA_STRLIBNAME);
    lua_remove(L, -2);
    /* stack: string */
    lua_pushlightuserdata(L, vm);
    lua_pushcclosure(L, sb_rep, 1);
    lua_setfield(L, -2, "rep");
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

/* timed_out(): whether the call has timed out; raises the time-limit error
 * when this is how the timeout is found (the deadline passed inside a C
 * call), so the error in hand is the time limit from then on. */
static int sb_timed_out(lua_State *L)
{
    lua_pushboolean(L, eo_vm_check_time(L, eo_lua_vm(L), 1));
    return 1;
}

/* poll(): raise the time-limit error when the call has timed out. A
 * coroutine takes the hook count of its creator: resumed after the time
 * limit, it would run thousands of instructions before its own hook saw
 * it, so the sandbox's resume, wrap and close ask first. */
static int sb_poll(lua_State *L)
{
    eo_vm_poll(L, eo_lua_vm(L));
    return 0;
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
        { "require", sb_require }, { "timed_out", sb_timed_out }, { "poll", sb_poll },
        { "raw_metatable", sb_raw_metatable }, { "embedded_chunk", sb_embedded_chunk },
        { NULL, NULL },
    };
    lua_createtable(L, 0, 9);
    /* date: os.date with a bounded format */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, LUA_OSLIBNAME);
    lua_getfield(L, -1, "date");
    lua_pushcclosure(L, sb_date, 1);
    lua_setfield(L, -4, "date");
    lua_pop(L, 2);
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

/* ---- read-only views and sealed objects (earnorm.core) ---- */

/*
 * core.readonly(t, name): a userdata that reads as t (raw reads; tables
 * found in it come as views too, one per table), refuses every write
 * naming the key, and has #, pairs and ipairs. Uservalues: 1 = t, 2 = the
 * name used in messages. The views of tables are cached in a weak-keyed
 * table, so reading a view twice gives the same view.
 */
static const char ro_mt_key = 'r';
static const char ro_cache_key = 'k';

static void push_view(lua_State *L, int t, int name)
{
    t = lua_absindex(L, t);
    name = lua_absindex(L, name);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ro_cache_key);
    lua_pushvalue(L, t);
    if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
    }
    lua_pop(L, 1);
    /* stack: cache */
    lua_newuserdatauv(L, 0, 2);
    lua_pushvalue(L, t);
    lua_setiuservalue(L, -2, 1);
    lua_pushvalue(L, name);
    lua_setiuservalue(L, -2, 2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &ro_mt_key);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, t);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
    lua_remove(L, -2);
}

/* Push the name of key k (an absolute index) of the view at 1: "name.k".
 * The key itself is left as it is (lua_tostring would turn a number key
 * into a string, and next would then fail). */
static void push_key_name(lua_State *L, int k)
{
    int kt = lua_type(L, k);
    lua_getiuservalue(L, 1, 2);
    if (kt == LUA_TSTRING || kt == LUA_TNUMBER) {
        luaL_tolstring(L, k, NULL);
        lua_pushfstring(L, "%s.%s", lua_tostring(L, -2), lua_tostring(L, -1));
        lua_replace(L, -3);
        lua_pop(L, 1);
    } else {
        lua_pushfstring(L, "%s[%s]", lua_tostring(L, -1), luaL_typename(L, k));
        lua_remove(L, -2);
    }
}

/* Push the value at -1 as a reader of the view at 1 sees it (replaces it). */
static void as_seen(lua_State *L, int k)
{
    if (lua_type(L, -1) != LUA_TTABLE)
        return;
    push_key_name(L, k);
    push_view(L, -2, -1);
    lua_replace(L, -3);
    lua_pop(L, 1);
}

static int ro_index(lua_State *L)
{
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    as_seen(L, 2);
    return 1;
}

static int ro_newindex(lua_State *L)
{
    push_key_name(L, 2);
    return luaL_error(L, "%s is read-only", lua_tostring(L, -1));
}

static int ro_len(lua_State *L)
{
    lua_getiuservalue(L, 1, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static int ro_next(lua_State *L)
{
    lua_settop(L, 2);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    if (!lua_next(L, -2))
        return 0;
    /* stack: view, k, t, nk, v */
    as_seen(L, 4);
    return 2;
}

static int ro_pairs(lua_State *L)
{
    lua_pushcfunction(L, ro_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int ro_tostring(lua_State *L)
{
    lua_getiuservalue(L, 1, 2);
    lua_pushfstring(L, "read-only %s", lua_tostring(L, -1));
    return 1;
}

static int l_readonly(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkstring(L, 2);
    push_view(L, 1, 2);
    return 1;
}

/* core.new_object(mt): an empty userdata with metatable mt (nothing to rawset into). */
static int l_new_object(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_newuserdatauv(L, 0, 0);
    lua_pushvalue(L, 1);
    lua_setmetatable(L, -2);
    return 1;
}

/* core.timed_out(): whether the running call has passed its time limit,
 * and then the time-limit message. Never raises: the ORM uses it to stop
 * running handlers and go on cleaning up. */
static int l_timed_out(lua_State *L)
{
    eo_vm *vm = eo_lua_vm(L);
    if (!eo_vm_check_time(L, vm, 0)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(L, 1);
    lua_pushfstring(L, "script ran longer than %d ms and was stopped", (int)eo_vm_timeout_ms(vm));
    return 2;
}

/* core.main_thread(): the VM's main thread (model files load in a
 * coroutine; the sandbox shows them this one instead, as plain Lua does). */
static int l_main_thread(lua_State *L)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    return 1;
}

void eo_lua_open_guards(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "__index", ro_index }, { "__newindex", ro_newindex }, { "__len", ro_len },
        { "__pairs", ro_pairs }, { "__tostring", ro_tostring }, { NULL, NULL },
    };
    static const luaL_Reg fns[] = {
        { "readonly", l_readonly }, { "new_object", l_new_object }, { "timed_out", l_timed_out },
        { "main_thread", l_main_thread }, { NULL, NULL },
    };
    /* stack: core */
    lua_createtable(L, 0, 7);
    luaL_setfuncs(L, meta, 0);
    lua_pushliteral(L, "locked");
    lua_setfield(L, -2, "__metatable");
    lua_pushliteral(L, "earnorm.ReadOnly");
    lua_setfield(L, -2, "__name");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ro_mt_key);
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &ro_cache_key);
    luaL_setfuncs(L, fns, 0);
}
