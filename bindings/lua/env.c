/*
 * env.c - the CEnv userdata: an open eo_env, transactions, statistics.
 *
 * earnorm/env.lua wraps it in the Env object users see. The userdata is a
 * pointer box to a refcounted handle (rs.h): recordsets share the handle,
 * so the env outlives neither its Lua object nor its last recordset.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rs.h"
#include "util/suggest.h"

#define CENV "earnorm.CEnv"

#define MAX_KNOWN 64

/* The strings of the list at idx (they stay alive in it); how many. */
static size_t known_names(lua_State *L, int idx, const char **out)
{
    size_t n = 0;
    lua_Integer i;
    for (i = 1; n < MAX_KNOWN; i++) {
        const char *s;
        if (lua_rawgeti(L, idx, i) != LUA_TSTRING) {
            lua_pop(L, 1);
            break;
        }
        s = lua_tostring(L, -1);
        lua_pop(L, 1);
        out[n++] = s;
    }
    return n;
}

/* core.closest(name, { known... }) -> the closest known name, or nil */
static int l_closest(lua_State *L)
{
    const char *known[MAX_KNOWN], *c;
    const char *name = luaL_checkstring(L, 1);
    size_t n;
    luaL_checktype(L, 2, LUA_TTABLE);
    n = known_names(L, 2, known);
    c = eo_suggest__closest(name, known, n);
    if (c)
        lua_pushstring(L, c);
    else
        lua_pushnil(L);
    return 1;
}

/*
 * core.check_options(opts, { known... }, what): nothing when opts is nil or
 * a table whose keys are all known; else EINVAL naming the key and the
 * closest known one ("search: unknown option 'limt' (did you mean 'limit'?)").
 */
static int l_check_options(lua_State *L)
{
    const char *known[MAX_KNOWN];
    const char *what = luaL_checkstring(L, 3);
    size_t n, i;
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_isnoneornil(L, 1))
        return 0;
    if (!lua_istable(L, 1) || eo_lua_is_null(L, 1))
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "%s: options must be a table, got a %s", what,
                             luaL_typename(L, 1));
    n = known_names(L, 2, known);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        const char *k;
        char hint[200];
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                                 "%s: options are named (got a %s key in the options table)", what,
                                 luaL_typename(L, -1));
        k = lua_tostring(L, -1);
        for (i = 0; i < n; i++)
            if (strcmp(known[i], k) == 0)
                break;
        if (i < n)
            continue;
        if (eo_suggest__closest(k, known, n) == NULL) {
            /* no likely misspelling: list what is known */
            size_t used = 0;
            hint[0] = '\0';
            for (i = 0; i < n && used + 4 < sizeof hint; i++) {
                int w = snprintf(hint + used, sizeof hint - used, "%s%s", i ? ", " : " (known: ",
                                 known[i]);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            if (used >= sizeof hint)
                used = sizeof hint - 1;
            if (n == 0)
                snprintf(hint, sizeof hint, " (it takes none)");
            else if (used + 2 < sizeof hint)
                memcpy(hint + used, ")", 2);
        } else {
            eo_suggest__hint(hint, sizeof hint, k, known, n);
        }
        return eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "%s: unknown option '%s'%s", what, k, hint);
    }
    return 0;
}

void eo_envh_unref(envh *h)
{
    if (h == NULL || --h->refs > 0)
        return;
    eo_lua__pending_free(h);
    eo_env_free(h->env);
    eo_lua_ctx_unref(h->ctx);
    eo_free(h);
}

envh *eo_lua_check_cenv(lua_State *L, int idx)
{
    envh **box = luaL_checkudata(L, idx, CENV);
    if (*box == NULL || (*box)->env == NULL)
        eo_lua_raisef(L, EO_ETXNSTATE, NULL, NULL, "attempt to use a closed environment");
    return *box;
}

static int cenv_gc(lua_State *L)
{
    envh **box = luaL_checkudata(L, 1, CENV);
    if (*box) {
        eo_envh_unref(*box);
        *box = NULL;
    }
    return 0;
}

static int cenv_tostring(lua_State *L)
{
    envh **box = luaL_checkudata(L, 1, CENV);
    if (*box && (*box)->env)
        lua_pushfstring(L, "earnorm.CEnv (%s)", eo_env_url((*box)->env));
    else
        lua_pushliteral(L, "earnorm.CEnv (closed)");
    return 1;
}

/* core.connect(url, { log_queries =, prefetch = }) */
static int l_connect(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    eo_env_config cfg = EO_ENV_CONFIG_INIT;
    eo_lua_ctx *ctx = eo_lua_ctx_get(L);
    envh **box, *h;
    eo_error err;
    eo_pool_config pc = EO_POOL_CONFIG_INIT;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "log_queries");
        cfg.log_queries = lua_toboolean(L, -1);
        lua_getfield(L, 2, "prefetch");
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0)
            cfg.prefetch_max = (size_t)lua_tointeger(L, -1);
        lua_pop(L, 2);
        lua_getfield(L, 2, "pool");
        if (lua_islightuserdata(L, -1)) {
            /* a C host shares its eo_pool (engine.h) */
            cfg.pool = lua_touserdata(L, -1);
        } else if (lua_istable(L, -1)) {
            static const char *const keys[] = { "min", "max", "timeout", "idle_timeout",
                                                "max_lifetime", "retries", NULL };
            int k;
            /* every key is one of ours: pool = { maxx = 4 } is an error */
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                const char *name;
                char hint[64];
                lua_pop(L, 1);
                if (lua_type(L, -1) != LUA_TSTRING)
                    return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                                         "orm.connect: pool options are named (got a %s key)",
                                         luaL_typename(L, -1));
                name = lua_tostring(L, -1);
                for (k = 0; keys[k]; k++)
                    if (strcmp(keys[k], name) == 0)
                        break;
                if (keys[k] == NULL)
                    return eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "orm.connect: unknown pool option '%s'%s",
                                         name, eo_suggest__closest(name, keys, 6)
                                                   ? eo_suggest__hint(hint, sizeof hint, name, keys, 6)
                                                   : " (known: min, max, timeout, idle_timeout, max_lifetime, retries)");
            }
            for (k = 0; keys[k]; k++) {
                lua_Integer v;
                lua_getfield(L, -1, keys[k]);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    continue;
                }
                if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0)
                    return eo_lua_raisef(L, EO_EINVAL, NULL, NULL,
                                         "orm.connect: pool.%s must be a non-negative integer", keys[k]);
                v = lua_tointeger(L, -1);
                lua_pop(L, 1);
                switch (k) {
                case 0: pc.min_size = (size_t)v; break;
                case 1: pc.max_size = (size_t)v; break;
                case 2: pc.acquire_timeout_ms = (unsigned)v; break;
                case 3: pc.idle_timeout_ms = (unsigned)v; break;
                case 4: pc.max_lifetime_ms = (unsigned)v; break;
                default: pc.connect_retries = (unsigned)v; break;
                }
            }
            cfg.pool_config = &pc;
        } else if (!lua_isnil(L, -1)) {
            return eo_lua_raisef(L, EO_EINVAL, NULL, NULL, "orm.connect: pool must be a table");
        }
        lua_pop(L, 1);
    }
    cfg.database_url = url;
    /* the box and its metatable exist before the env does */
    box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, CENV);
    h = eo_calloc(1, sizeof *h);
    if (h == NULL)
        return eo_lua_raisef(L, EO_ENOMEM, NULL, NULL, "out of memory");
    if (eo_env_open(&h->env, eo_lua_ctx_registry(ctx), &cfg, &err) != EO_OK) {
        eo_free(h);
        return eo_lua_raise(L, &err);
    }
    h->refs = 1;
    h->ctx = ctx;
    eo_lua_ctx_ref(ctx);
    *box = h;
    return 1;
}

static int l_close(lua_State *L)
{
    envh **box = luaL_checkudata(L, 1, CENV);
    if (*box && (*box)->env) {
        eo_env_free((*box)->env);
        (*box)->env = NULL;
    }
    return 0;
}

static void note_line(void *payload, const char *line)
{
    lua_State *L = payload;
    /* stack: ..., list */
    lua_pushstring(L, line);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
}

/* core.migrate(cenv, dry_run) -> list of statements */
static int l_migrate(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    int dry = lua_toboolean(L, 2);
    eo_error err;
    lua_newtable(L);
    int rc;
    eo_lua_critical(L, 1);
    rc = eo_env_migrate(h->env, dry, note_line, L, &err);
    eo_lua_critical(L, -1);
    if (rc != EO_OK)
        return eo_lua_raise(L, &err);
    eo_lua_check_memory(L);
    return 1;
}

static int l_begin(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    eo_error err;
    if (eo_env_begin(h->env, (eo_isolation)luaL_optinteger(L, 2, 0), &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int l_commit(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    eo_error err;
    if (eo_env_commit(h->env, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int l_rollback(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    eo_error err;
    if (eo_env_rollback(h->env, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int l_txn_depth(lua_State *L)
{
    lua_pushinteger(L, eo_env_txn_depth(eo_lua_check_cenv(L, 1)->env));
    return 1;
}

static void setint(lua_State *L, const char *k, uint64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static int l_stats(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    eo_stats s;
    static const char *const kinds[] = { "select", "insert", "update", "delete",
                                         "ddl", "transaction", "other" };
    size_t i;
    eo_env_stats(h->env, &s);
    lua_createtable(L, 0, 10);
    lua_pushstring(L, eo_env_backend(h->env));
    lua_setfield(L, -2, "backend");
    setint(L, "queries", s.queries);
    lua_createtable(L, 0, 1);
    setint(L, eo_env_backend(h->env), s.queries);
    lua_setfield(L, -2, "queries_by_backend");
    lua_createtable(L, 0, EO_Q__COUNT);
    for (i = 0; i < EO_Q__COUNT; i++)
        setint(L, kinds[i], s.by_kind[i]);
    lua_setfield(L, -2, "by_kind");
    lua_pushnumber(L, (double)s.query_ns / 1e6);
    lua_setfield(L, -2, "query_time_ms");
    setint(L, "rows", s.rows);
    setint(L, "prefetches", s.prefetches);
    setint(L, "cursors", s.cursors);
    {
        eo_pool_stats ps;
        eo_pool_get_stats(eo_env_pool(h->env), &ps);
        lua_createtable(L, 0, 12);
        setint(L, "size", ps.size);
        setint(L, "in_use", ps.in_use);
        setint(L, "idle", ps.idle);
        setint(L, "max", ps.max_size);
        setint(L, "acquires", ps.acquires);
        setint(L, "waits", ps.waits);
        lua_pushnumber(L, (double)ps.wait_ns / 1e6);
        lua_setfield(L, -2, "wait_ms");
        setint(L, "timeouts", ps.timeouts);
        setint(L, "errors", ps.errors);
        setint(L, "reconnects", ps.reconnects);
        setint(L, "opened", ps.opened);
        setint(L, "closed", ps.closed);
        lua_setfield(L, -2, "pool");
    }
    lua_createtable(L, 0, 4);
    setint(L, "hits", s.store_hits);
    setint(L, "misses", s.store_misses);
    setint(L, "records", s.store_records);
    setint(L, "values", s.store_values);
    lua_setfield(L, -2, "store");
    return 1;
}

static int l_reset_stats(lua_State *L)
{
    eo_env_reset_stats(eo_lua_check_cenv(L, 1)->env);
    return 0;
}

static int l_ping(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    double ms = 0;
    eo_error err;
    int rc = eo_env_ping(h->env, &ms, &err);
    struct timespec t0, t1;
    eo_stats st;
    lua_createtable(L, 0, 5);
    lua_pushstring(L, eo_env_backend(h->env));
    lua_setfield(L, -2, "backend");
    lua_pushboolean(L, rc == EO_OK);
    lua_setfield(L, -2, "ok");
    lua_pushnumber(L, ms);
    lua_setfield(L, -2, "latency_ms");
    if (rc != EO_OK) {
        lua_pushstring(L, err.msg);
        lua_setfield(L, -2, "error");
    }
    /* the cache: the in-process record store (reached by reading its size) */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    eo_env_stats(h->env, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, "memory");
    lua_setfield(L, -2, "kind");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ok");
    lua_pushnumber(L, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    lua_setfield(L, -2, "latency_ms");
    lua_pushinteger(L, (lua_Integer)st.store_records);
    lua_setfield(L, -2, "records");
    lua_setfield(L, -2, "cache");
    return 1;
}

static int l_invalidate_all(lua_State *L)
{
    eo_env_invalidate_all(eo_lua_check_cenv(L, 1)->env);
    return 0;
}

static int l_set_log(lua_State *L)
{
    eo_env_set_query_log(eo_lua_check_cenv(L, 1)->env, lua_toboolean(L, 2), NULL);
    return 0;
}

static int l_env_url(lua_State *L)
{
    lua_pushstring(L, eo_env_url(eo_lua_check_cenv(L, 1)->env));
    return 1;
}

static int l_backend(lua_State *L)
{
    lua_pushstring(L, eo_env_backend(eo_lua_check_cenv(L, 1)->env));
    return 1;
}

static int l_computing(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    h->computing += (int)luaL_checkinteger(L, 2);
    if (h->computing < 0)
        h->computing = 0;
    return 0;
}

/* core.atomic_begin(cenv) / core.atomic_end(cenv, ok): the scope each ORM
 * operation with user code runs in (transaction, savepoint, or journal) */
static int l_atomic_begin(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    eo_error err;
    if (eo_env_atomic_begin(h->env, &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

static int l_atomic_end(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    eo_error err;
    if (eo_env_atomic_end(h->env, lua_toboolean(L, 2), &err) != EO_OK)
        return eo_lua_raise(L, &err);
    return 0;
}

/* core.capabilities(cenv) -> { transactions =, savepoints =, server_group =, table_scans =,
 * foreign_keys =, server = } */
static int l_capabilities(lua_State *L)
{
    envh *h = eo_lua_check_cenv(L, 1);
    unsigned caps = eo_env_caps(h->env);
    lua_createtable(L, 0, 6);
    lua_pushboolean(L, (caps & EO_CAP_TRANSACTIONS) != 0);
    lua_setfield(L, -2, "transactions");
    lua_pushboolean(L, (caps & EO_CAP_SAVEPOINTS) != 0);
    lua_setfield(L, -2, "savepoints");
    lua_pushboolean(L, (caps & EO_CAP_GROUP) != 0);
    lua_setfield(L, -2, "server_group");
    lua_pushboolean(L, (caps & EO_CAP_SCANS) != 0);
    lua_setfield(L, -2, "table_scans");
    lua_pushboolean(L, (caps & EO_CAP_FOREIGN_KEYS) != 0);
    lua_setfield(L, -2, "foreign_keys");
    lua_pushstring(L, eo_env_server(h->env));
    lua_setfield(L, -2, "server");
    return 1;
}

/* core.sleep(ms): transaction retries back off */
static int l_sleep(lua_State *L)
{
    lua_Integer ms = luaL_checkinteger(L, 1);
    struct timespec ts;
    if (ms > 0) {
        ts.tv_sec = (time_t)(ms / 1000);
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }
    return 0;
}

void eo_lua_open_env(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "connect", l_connect }, { "close", l_close }, { "migrate", l_migrate },
        { "begin", l_begin }, { "commit", l_commit }, { "rollback", l_rollback },
        { "txn_depth", l_txn_depth }, { "stats", l_stats }, { "reset_stats", l_reset_stats },
        { "ping", l_ping }, { "invalidate_all", l_invalidate_all }, { "set_log", l_set_log },
        { "env_url", l_env_url }, { "backend", l_backend }, { "computing", l_computing },
        { "sleep", l_sleep }, { "atomic_begin", l_atomic_begin }, { "atomic_end", l_atomic_end },
        { "capabilities", l_capabilities }, { "closest", l_closest },
        { "check_options", l_check_options },
        { NULL, NULL },
    };
    if (luaL_newmetatable(L, CENV)) {
        /* no __close: model code can reach the box (recs.env._c, which
         * core.cenv reads), and `local c <close> = recs.env._c` would
         * close the host's env */
        lua_pushcfunction(L, cenv_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, cenv_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
}
