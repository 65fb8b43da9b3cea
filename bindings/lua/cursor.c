/*
 * cursor.c - streaming searches in Lua: core.cursor_open and the
 * earnorm.Cursor userdata behind Recordset:search_iter (recordset.lua).
 *
 * A Cursor holds an eo_cursor (core/orm/cursor.c), the ids of the batch
 * it read last, and as user values the recordset it was opened from (its
 * env and context) and the recordset of the current batch. Its step
 * function is the iterator of a generic for and the Cursor is the loop's
 * closing value, so a loop that ends, breaks or raises closes it (__close);
 * __gc closes one never looped over. Each batch is one recordset: its
 * records prefetch within it. Moving to the next batch forgets the values
 * of the previous one in the record store (eo_orm_invalidate), so a loop
 * over any number of records holds one batch of values at a time.
 *
 * It does not check options: recordset.lua does, as for search.
 */
#include "rs.h"

#define CURSOR_MT "earnorm.Cursor"

typedef struct lcursor {
    eo_cursor *cur;            /* NULL once closed */
    eo_ids batch;              /* the ids of the current batch (Owned) */
    size_t pos;                /* records of it given so far */
    size_t size;               /* ids per batch */
    int batches;               /* give batch recordsets, not records */
    const eo_model *m;
} lcursor;

/* user values: 1 the recordset it was opened from, 2 the current batch */

static lcursor *check_cursor(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, CURSOR_MT);
}

static void cursor_close(lcursor *c)
{
    eo_orm_cursor_close(c->cur);
    c->cur = NULL;
    eo_ids_free(&c->batch);
}

static int64_t opt_window(lua_State *L, int idx, int64_t dflt, const char *what)
{
    if (lua_isnoneornil(L, idx))
        return dflt;
    if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < 0)
        eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "%s must be a non-negative integer", what);
    return (int64_t)lua_tointeger(L, idx);
}

/* core.cursor_open(rs, domain, order, limit, offset, batch, batches) -> Cursor */
static int l_cursor_open(lua_State *L)
{
    eo_rs_view v;
    const char *order = luaL_optstring(L, 3, NULL);
    int64_t limit = opt_window(L, 4, -1, "limit"), offset = opt_window(L, 5, 0, "offset");
    lua_Integer size = luaL_checkinteger(L, 6);
    int batches = lua_toboolean(L, 7), on;
    eo_domain *d = NULL;
    lcursor *c;
    eo_error err;
    int rc;
    eo_lua__rs_view(L, 1, &v);
    if (size < 1)
        return eo_lua_raisef(L, EO_EINVAL, v.model->name, NULL,
                             "%s: search_iter: batch must be a positive integer", v.model->name);
    on = eo_lua__active_test(L, 1);
    /* the box first: nothing below raises while a C resource is held */
    c = lua_newuserdatauv(L, sizeof *c, 2);
    memset(c, 0, sizeof *c);
    luaL_setmetatable(L, CURSOR_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    c->size = (size_t)size;
    c->batches = batches;
    c->m = v.model;
    rc = eo_lua_to_domain_of(L, 2, eo_env_idkind(v.env), v.model, &d, &err);
    if (rc == EO_OK)
        rc = eo_domain_set_active_test(d, on, &err);
    if (rc != EO_OK && err.model[0] == '\0')
        eo_error_where(&err, v.model->name, NULL);
    if (rc == EO_OK)
        rc = eo_orm_cursor_open(&c->cur, v.env, v.model, d, order, limit, offset, &err);
    eo_domain_free(d);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    return 1;
}

/*
 * Read the next batch into c->batch (the previous one's values forgotten)
 * and push its recordset, or push nothing and close the cursor when no
 * ids are left. Returns 1 when a batch was pushed.
 */
static int next_batch(lua_State *L, int idx, lcursor *c)
{
    eo_rs_view v;
    eo_error err;
    int rc;
    lua_getiuservalue(L, idx, 1);
    eo_lua__rs_view(L, -1, &v); /* raises when the env was closed */
    if (c->batch.n)
        eo_orm_invalidate(v.env, c->m, c->batch.v, c->batch.n, NULL);
    c->batch.n = 0;
    c->pos = 0;
    rc = eo_orm_cursor_next(c->cur, c->size, &c->batch, &err);
    if (rc != EO_OK) {
        lua_pop(L, 1);
        cursor_close(c);
        return eo_lua_raise(L, &err);
    }
    if (c->batch.n == 0) {
        lua_pop(L, 1);
        cursor_close(c);
        return 0;
    }
    /* stack: origin rs, batch rs */
    eo_lua__push_ids(L, lua_gettop(L), c->m, c->batch.v, c->batch.n);
    lua_remove(L, -2);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, idx, 2);
    return 1;
}

/* The iterator: cursor_step(cursor) -> the next record (or batch), nil at the end. */
static int l_cursor_step(lua_State *L)
{
    lcursor *c = check_cursor(L, 1);
    if (c->cur == NULL) {
        lua_pushnil(L);
        return 1;
    }
    if (c->batches) {
        if (!next_batch(L, 1, c))
            lua_pushnil(L);
        return 1;
    }
    if (c->pos >= c->batch.n) {
        if (!next_batch(L, 1, c)) {
            lua_pushnil(L);
            return 1;
        }
        lua_pop(L, 1);
    }
    lua_getiuservalue(L, 1, 2);
    lua_geti(L, -1, (lua_Integer)++c->pos);
    return 1;
}

/* cursor:close(): end it now (also __close and __gc; twice is fine). */
static int l_cursor_close(lua_State *L)
{
    cursor_close(check_cursor(L, 1));
    return 0;
}

/* cursor:done() -> true when no record is left to give */
static int l_cursor_done(lua_State *L)
{
    lcursor *c = check_cursor(L, 1);
    lua_pushboolean(L, c->cur == NULL || (eo_orm_cursor_done(c->cur) && c->pos >= c->batch.n));
    return 1;
}

static int l_cursor_tostring(lua_State *L)
{
    lcursor *c = check_cursor(L, 1);
    lua_pushfstring(L, "earnorm.Cursor(%s, %s)", c->m ? c->m->name : "?",
                    c->cur ? "open" : "closed");
    return 1;
}

void eo_lua_open_cursor(lua_State *L)
{
    static const luaL_Reg meta[] = {
        { "__close", l_cursor_close }, { "__gc", l_cursor_close },
        { "__tostring", l_cursor_tostring }, { NULL, NULL },
    };
    static const luaL_Reg methods[] = {
        { "close", l_cursor_close }, { "done", l_cursor_done }, { NULL, NULL },
    };
    static const luaL_Reg fns[] = {
        { "cursor_open", l_cursor_open }, { "cursor_step", l_cursor_step }, { NULL, NULL },
    };
    /* stack: core, metatable */
    if (luaL_newmetatable(L, CURSOR_MT)) {
        luaL_setfuncs(L, meta, 0);
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
}
