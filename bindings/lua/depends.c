/*
 * depends.c - the dependency marks for Lua (earnorm.recordset drives the
 * recomputation and the constraints with these):
 *
 *   core.deps_next(rs)          -> records, field name | nil, constraint index | nil
 *   core.deps_take(rs, field)   -> the records of rs whose field is marked
 *   core.deps_done(rs, field | constraint index)
 *   core.deps_marked(rs, field) -> boolean (the first record)
 *   core.deps_watched(rs, vals) -> can writing vals (nil: creating or
 *                                  deleting records) mark anything?
 *   core.deps_pending(rs)       -> how many marks wait
 *   core.add_check(model name, { field paths }) -> constraint index
 */
#include "rs.h"

static void push_work(lua_State *L, int like, eo_dep_work *w)
{
    eo_lua__push_ids(L, like, w->model, w->ids, w->n);
    eo_free(w->ids);
    w->ids = NULL;
    if (w->field)
        lua_pushstring(L, w->field->name);
    else
        lua_pushnil(L);
    if (w->check)
        lua_pushinteger(L, (lua_Integer)w->check->index + 1);
    else
        lua_pushnil(L);
}

static int l_deps_next(lua_State *L)
{
    eo_rs_view v;
    eo_dep_work w;
    eo_error err;
    eo_lua__rs_view(L, 1, &v);
    if (eo_deps_next(v.env, &w, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    if (w.n == 0) {
        eo_free(w.ids);
        lua_pushnil(L);
        return 1;
    }
    push_work(L, 1, &w);
    return 3;
}

static const eo_field *field_arg(lua_State *L, const eo_rs_view *v, int idx)
{
    size_t len;
    const char *name = luaL_checklstring(L, idx, &len);
    const eo_field *f = eo_model_field(v->model, name, len);
    if (f == NULL)
        eo_lua_raisef(L, EO_EINVAL, v->model->name, name, "%s has no field '%s'", v->model->name,
                      name);
    return f;
}

static int l_deps_take(lua_State *L)
{
    eo_rs_view v;
    eo_dep_work w;
    eo_error err;
    const eo_field *f;
    eo_lua__rs_view(L, 1, &v);
    f = field_arg(L, &v, 2);
    if (eo_deps_take(v.env, v.model, f, v.ids, v.n, &w, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    eo_lua__push_ids(L, 1, v.model, w.ids, w.n);
    eo_free(w.ids);
    return 1;
}

static int l_deps_done(lua_State *L)
{
    eo_rs_view v;
    eo_lua__rs_view(L, 1, &v);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = luaL_checkinteger(L, 2);
        if (i < 1 || (size_t)i > v.model->nchecks)
            return eo_lua_raisef(L, EO_EINVAL, v.model->name, NULL, "%s has no constraint #%lld",
                                 v.model->name, (long long)i);
        eo_deps_done(v.env, v.model, NULL, v.model->checks[i - 1], v.ids, v.n);
        return 0;
    }
    eo_deps_done(v.env, v.model, field_arg(L, &v, 2), NULL, v.ids, v.n);
    return 0;
}

static int l_deps_marked(lua_State *L)
{
    eo_rs_view v;
    const eo_field *f;
    eo_lua__rs_view(L, 1, &v);
    f = field_arg(L, &v, 2);
    lua_pushboolean(L, v.n > 0 && eo_deps_is_marked(v.env, v.model, v.ids[0], f));
    return 1;
}

static int l_deps_watched(lua_State *L)
{
    eo_rs_view v;
    eo_lua__rs_view(L, 1, &v);
    if (lua_isnoneornil(L, 2)) {
        lua_pushboolean(L, eo_deps_watched(v.model, NULL));
        return 1;
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            size_t len;
            const char *k = lua_tolstring(L, -1, &len);
            const eo_field *f = eo_model_field(v.model, k, len);
            if (f && eo_deps_watched(v.model, f)) {
                lua_pop(L, 1);
                lua_pushboolean(L, 1);
                return 1;
            }
        }
    }
    lua_pushboolean(L, 0);
    return 1;
}

static int l_deps_pending(lua_State *L)
{
    eo_rs_view v;
    eo_lua__rs_view(L, 1, &v);
    lua_pushinteger(L, (lua_Integer)eo_deps_pending(v.env));
    return 1;
}

static int l_add_check(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    eo_registry *reg = eo_lua_ctx_registry(eo_lua_ctx_get(L));
    eo_model *m = eo_registry_find(reg, name);
    const char *paths[64];
    eo_check *c;
    eo_error err;
    lua_Integer n, i;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (m == NULL)
        return eo_lua_raisef(L, EO_ENOTFOUND, name, NULL, "model %s is not defined", name);
    n = (lua_Integer)lua_rawlen(L, 2);
    if (n > 64)
        return eo_lua_raisef(L, EO_ELIMIT, name, NULL,
                             "%s: a constraint watches at most 64 fields, got %lld", name, (long long)n);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            return eo_lua_raisef(L, EO_EINVAL, name, NULL,
                                 "%s: constraint field #%lld must be a field name (a string)", name,
                                 (long long)i);
        paths[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1); /* the table keeps the string */
    }
    if (eo_model_add_check(&c, m, paths, (size_t)n, 0, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    lua_pushinteger(L, (lua_Integer)c->index + 1);
    return 1;
}

void eo_lua_open_depends(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "deps_next", l_deps_next }, { "deps_take", l_deps_take }, { "deps_done", l_deps_done },
        { "deps_marked", l_deps_marked }, { "deps_watched", l_deps_watched },
        { "deps_pending", l_deps_pending }, { "add_check", l_add_check },
        { NULL, NULL },
    };
    luaL_setfuncs(L, fns, 0);
}
