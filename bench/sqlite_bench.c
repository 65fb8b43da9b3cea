/*
 * sqlite_bench.c - the SQLite suite: (a) create through the Lua model API
 * vs prepared inserts in one transaction, (b) search_read vs a raw scan
 * building the same Lua tables, (c) one field read across a recordset
 * (prefetch) vs a raw scan of that column.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "common.lua.h"

static const char *dbpath;

/* A connection with the settings the adapter uses (also loop_bench.c's). */
sqlite3 *bench_sqlite_open(const char *path)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        bench_die("sqlite3_open", sqlite3_errmsg(db));
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    return db;
}

void bench_sqlite_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        bench_die(sql, msg);
}

static sqlite3 *raw_open(void) { return bench_sqlite_open(dbpath); }

static double raw_insert(void)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    double t0;
    int i;
    bench_sqlite_exec(db, "DELETE FROM bench_rec");
    t0 = bench_mark();
    if (sqlite3_prepare_v2(db, "INSERT INTO bench_rec (name, email, age, score, active) VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
    bench_sqlite_exec(db, "BEGIN");
    for (i = 0; i < bench_rows; i++) {
        char name[32], email[48];
        int age, active;
        double score;
        bench_row(i, name, email, &age, &score, &active);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, email, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, age);
        sqlite3_bind_double(st, 4, score);
        sqlite3_bind_int(st, 5, active);
        if (sqlite3_step(st) != SQLITE_DONE)
            bench_die("step", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    bench_sqlite_exec(db, "COMMIT");
    sqlite3_finalize(st);
    t0 = bench_now() - t0;
    sqlite3_close(db);
    return t0;
}

static double raw_scan(lua_State *L)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    double t0 = bench_mark();
    lua_Integer n = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, name, email, age, score, active FROM bench_rec ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
    lua_newtable(L);
    while (sqlite3_step(st) == SQLITE_ROW) {
        lua_createtable(L, 0, 6);
        lua_pushinteger(L, sqlite3_column_int64(st, 0));
        lua_setfield(L, -2, "id");
        lua_pushlstring(L, (const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        lua_setfield(L, -2, "name");
        lua_pushlstring(L, (const char *)sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2));
        lua_setfield(L, -2, "email");
        lua_pushinteger(L, sqlite3_column_int64(st, 3));
        lua_setfield(L, -2, "age");
        lua_pushnumber(L, sqlite3_column_double(st, 4));
        lua_setfield(L, -2, "score");
        lua_pushboolean(L, sqlite3_column_int(st, 5));
        lua_setfield(L, -2, "active");
        lua_rawseti(L, -2, ++n);
    }
    sqlite3_finalize(st);
    t0 = bench_now() - t0;
    if (n != bench_rows)
        bench_die("raw scan", "wrong row count");
    lua_setglobal(L, "raw_rows");
    sqlite3_close(db);
    return t0;
}

static double raw_column(lua_State *L)
{
    sqlite3 *db = raw_open();
    sqlite3_stmt *st;
    double t0 = bench_mark();
    lua_Integer sum = 0;
    sqlite3_prepare_v2(db, "SELECT age FROM bench_rec ORDER BY id", -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        lua_pushinteger(L, sqlite3_column_int64(st, 0));
        sum += lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    sqlite3_finalize(st);
    t0 = bench_now() - t0;
    sqlite3_close(db);
    lua_pushinteger(L, sum);
    lua_setglobal(L, "raw_sum");
    return t0;
}

void bench_sqlite(lua_State *L, const char *path)
{
    bench_side orm_c = BENCH_SIDE_INIT, raw_c = BENCH_SIDE_INIT, orm_s = BENCH_SIDE_INIT,
               raw_s = BENCH_SIDE_INIT, orm_f = BENCH_SIDE_INIT, raw_f = BENCH_SIDE_INIT;
    char buf[600];
    int i;
    dbpath = path;
    snprintf(buf, sizeof buf, "%s", path);
    remove(buf);
    snprintf(buf, sizeof buf, "%s-wal", path);
    remove(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    remove(buf);
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    bench_lua(L, bench_models_lua);
    snprintf(buf, sizeof buf,
             "env = require('earnorm').connect('sqlite://%s'); env:migrate(); P = env['bench.rec']:with_context{ active_test = false }\n"
             "function clear() P:search{}:unlink(); env:invalidate(); collectgarbage() end\n"
             "function orm_field()\n"
             "  env:invalidate(); env:reset_stats()\n"
             "  local recs, sum = P:search{}, 0\n"
             "  for rec in recs:each() do sum = sum + rec.age end\n"
             "  field_queries = env:stats().queries\n"
             "  orm_sum = sum\n"
             "end\n",
             path);
    bench_lua(L, buf);
    for (i = 0; i <= bench_runs; i++) {
        bench_lua(L, "clear()");
        BENCH_RUN(L, orm_c, i, bench_lua_timed(L, "orm_create"));
        BENCH_RUN(L, raw_c, i, raw_insert());
    }
    bench_add("sqlite.create", "(a) create via the Lua API vs prepared inserts", &orm_c, &raw_c, 2.0, -1);
    /* the table now holds the raw rows: the same values the ORM wrote */
    bench_lua(L, "env:invalidate()");
    for (i = 0; i <= bench_runs; i++) {
        bench_lua(L, "reset_results()");
        BENCH_RUN(L, orm_s, i, bench_lua_timed(L, "orm_search_read"));
        bench_lua(L, "reset_results()");
        BENCH_RUN(L, raw_s, i, raw_scan(L));
    }
    bench_lua(L, "reset_results()");
    bench_add("sqlite.search_read", "(b) search_read vs a raw scan into Lua tables", &orm_s, &raw_s, 3.0, -1);
    for (i = 0; i <= bench_runs; i++) {
        BENCH_RUN(L, orm_f, i, bench_lua_timed(L, "orm_field"));
        BENCH_RUN(L, raw_f, i, raw_column(L));
    }
    bench_lua(L, "assert(orm_sum == raw_sum, 'orm and raw sums differ')");
    bench_add("sqlite.read_field", "(c) rec.age over a recordset vs a column scan", &orm_f, &raw_f, 0,
              bench_lua_int(L, "field_queries"));
    bench_lua(L, "clear(); env:close(); env = nil; P = nil; collectgarbage()");
}
