/*
 * embedded.c - sub-record types and their values in Lua.
 *
 * core.define_embedded(name, fields) declares a sub-record type
 * (earnorm/embedded.lua checked the shape of the declaration; the fields
 * are read by model.c's code for model fields, so the same options mean
 * the same things). It is declared in a scratch registry first: a mistake
 * in its third field leaves nothing behind.
 *
 * A value of an Embedded field reads as an earnorm.Embedded userdata, of a
 * List field as an earnorm.EmbeddedList userdata: read-only (there is no
 * table to rawset into), indexed by sub-field name or by position, with #,
 * pairs, == (same contents) and tostring (the JSON text). The plain table
 * behind one is its user value and never leaves this file, so model code
 * (docs/sandbox.md) cannot change a value it was given. Writing one back
 * (rec:write{ address = other.address }) unwraps it (eo_lua__embedded_plain).
 */
#include "eo_lua.h"

#include "earnorm/embedded.h"

#define EMB_MT "earnorm.Embedded"
#define LIST_MT "earnorm.EmbeddedList"

/* The plain table behind the value object at idx, pushed; 0 (nothing
 * pushed) when idx is not one. */
static int push_data(lua_State *L, int idx)
{
    if (luaL_testudata(L, idx, EMB_MT) == NULL && luaL_testudata(L, idx, LIST_MT) == NULL)
        return 0;
    lua_getiuservalue(L, idx, 1);
    return 1;
}

static int m_index(lua_State *L)
{
    push_data(L, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int m_newindex(lua_State *L)
{
    return luaL_error(L, "%s values are read-only: write the field with a new value "
                         "(rec:write{ field = { ... } })",
                      luaL_testudata(L, 1, LIST_MT) ? "List" : "Embedded");
}

static int m_len(lua_State *L)
{
    push_data(L, 1);
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

static int m_next(lua_State *L)
{
    /* upvalue: the data table; arguments: the object, the last key */
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1)))
        return 2;
    lua_pushnil(L);
    return 1;
}

static int m_pairs(lua_State *L)
{
    push_data(L, 1);
    lua_pushcclosure(L, m_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* JSON text of the value object at idx (pushed), or nil. */
static void push_json(lua_State *L, int idx)
{
    char *json = NULL;
    size_t len = 0;
    eo_error err;
    idx = lua_absindex(L, idx);
    eo_lua__embedded_plain(L, idx);
    if (eo_lua_json_encode(L, -1, &json, &len, &err) == EO_OK) {
        lua_pop(L, 1);
        lua_pushlstring(L, json, len);
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    eo_free(json);
}

static int m_tostring(lua_State *L)
{
    push_json(L, 1);
    if (lua_isnil(L, -1))
        lua_pushstring(L, luaL_testudata(L, 1, LIST_MT) ? LIST_MT : EMB_MT);
    return 1;
}

static int m_eq(lua_State *L)
{
    push_json(L, 1);
    push_json(L, 2);
    lua_pushboolean(L, !lua_isnil(L, -1) && lua_rawequal(L, -1, -2));
    return 1;
}

static void push_meta(lua_State *L, const char *name)
{
    if (luaL_newmetatable(L, name)) {
        static const luaL_Reg mm[] = {
            { "__index", m_index }, { "__newindex", m_newindex }, { "__len", m_len },
            { "__pairs", m_pairs }, { "__tostring", m_tostring }, { "__eq", m_eq },
            { NULL, NULL },
        };
        luaL_setfuncs(L, mm, 0);
        lua_pushstring(L, name);
        lua_setfield(L, -2, "__metatable");
    }
}

/* Replace the plain table on top with a value object around it. */
static void wrap(lua_State *L, const char *mt)
{
    lua_newuserdatauv(L, 0, 1);     /* stack: data, box */
    push_meta(L, mt);
    lua_setmetatable(L, -2);
    lua_insert(L, -2);              /* stack: box, data */
    lua_setiuservalue(L, -2, 1);    /* stack: box */
}

void eo_lua__embedded_wrap(lua_State *L, const eo_field *f)
{
    if (!lua_istable(L, -1))
        return;
    if (f->type == EO_FT_LIST) {
        lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, i);
            if (lua_istable(L, -1)) {
                wrap(L, EMB_MT);
                lua_rawseti(L, -2, i);
            } else {
                lua_pop(L, 1);
            }
        }
        wrap(L, LIST_MT);
        return;
    }
    wrap(L, EMB_MT);
}

void eo_lua__embedded_plain(lua_State *L, int idx)
{
    lua_Integer i, n;
    int copy = 0;
    idx = lua_absindex(L, idx);
    if (luaL_testudata(L, idx, EMB_MT)) {
        push_data(L, idx);
        return;
    }
    if (luaL_testudata(L, idx, LIST_MT)) {
        push_data(L, idx);
        idx = lua_gettop(L);
        copy = 1;
    } else if (lua_type(L, idx) == LUA_TTABLE) {
        /* a list written by hand may hold value objects */
        n = (lua_Integer)lua_rawlen(L, idx);
        for (i = 1; i <= n && !copy; i++) {
            lua_rawgeti(L, idx, i);
            copy = luaL_testudata(L, -1, EMB_MT) != NULL;
            lua_pop(L, 1);
        }
        if (!copy) {
            lua_pushvalue(L, idx);
            return;
        }
        lua_pushnil(L); /* keep the stack shape of the list case */
    } else {
        lua_pushvalue(L, idx);
        return;
    }
    /* stack: ..., list data (or nil) */
    n = (lua_Integer)lua_rawlen(L, idx);
    lua_createtable(L, (int)n, 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) {       /* stack: list, copy, key, value */
        if (luaL_testudata(L, -1, EMB_MT)) {
            push_data(L, -1);
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_replace(L, -2);
}

/* core.define_embedded(name, fields): fields as model.c's add_fields reads them */
static int l_define_embedded(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    eo_registry *reg = eo_lua_ctx_registry(eo_lua_ctx_get(L)), *tmp = NULL;
    eo_model *m;
    eo_error err;
    int rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (eo_registry_find_embedded(reg, name) != NULL) {
        eo_error_set(&err, EO_ECONFLICT, "embedded type %s is already declared", name);
        return eo_lua_raise(L, &err);
    }
    if ((rc = eo_registry_new(&tmp, &err)) == EO_OK &&
        (rc = eo_registry_add_embedded(&m, tmp, name, &err)) == EO_OK)
        rc = eo_lua__add_fields(L, 2, m, &err);
    eo_registry_free(tmp);
    if (rc == EO_OK && (rc = eo_registry_add_embedded(&m, reg, name, &err)) == EO_OK)
        rc = eo_lua__add_fields(L, 2, m, &err);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

/* core.is_embedded_value(v) */
static int l_is_embedded_value(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, EMB_MT) || luaL_testudata(L, 1, LIST_MT));
    return 1;
}

void eo_lua_open_embedded(lua_State *L)
{
    lua_pushcfunction(L, l_define_embedded);
    lua_setfield(L, -2, "define_embedded");
    lua_pushcfunction(L, l_is_embedded_value);
    lua_setfield(L, -2, "is_embedded_value");
}
