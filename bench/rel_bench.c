/*
 * rel_bench.c - reading a Many2one's name across N records (issue 5),
 * against the raw driver doing the same join, with the queries issued:
 *   parent_name       search_read{ fields = { "parent_id.name" } } vs the
 *                     join building the same row tables (target <= 2.0);
 *   parent_name_loop  `for rec in recs:each() do rec.parent_id.name end`
 *                     vs the join handing each name to Lua (no tables: a
 *                     record object per row is what the loop pays for).
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common.lua.h"

#define JOIN "SELECT c.id, p.name FROM bench_child c LEFT JOIN bench_parent p ON p.id = c.parent_id ORDER BY c.id"

/* the join, building { id =, ["parent_id.name"] = } rows like search_read */
static void push_row(lua_State *L, lua_Integer id, const char *name, size_t len, lua_Integer i)
{
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, id);
    lua_setfield(L, -2, "id");
    if (name) {
        lua_pushlstring(L, name, len);
        lua_setfield(L, -2, "parent_id.name");
    }
    lua_rawseti(L, -2, i);
}

static double raw_sqlite_rows(lua_State *L, const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    lua_Integer i = 0;
    double t0;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        bench_die("sqlite3_open", sqlite3_errmsg(db));
    t0 = bench_now();
    if (sqlite3_prepare_v2(db, JOIN, -1, &st, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
    lua_newtable(L);
    while (sqlite3_step(st) == SQLITE_ROW)
        push_row(L, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                 (size_t)sqlite3_column_bytes(st, 1), ++i);
    sqlite3_finalize(st);
    t0 = bench_now() - t0;
    sqlite3_close(db);
    lua_setglobal(L, "raw_rows");
    return t0;
}

static double raw_pg_rows(lua_State *L, const char *url)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r;
    double t0;
    int i, n;
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("PQconnectdb", PQerrorMessage(c));
    t0 = bench_now();
    r = PQexec(c, JOIN);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_die("join", PQerrorMessage(c));
    n = PQntuples(r);
    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++)
        push_row(L, strtoll(PQgetvalue(r, i, 0), NULL, 10),
                 PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
                 i + 1);
    PQclear(r);
    t0 = bench_now() - t0;
    PQfinish(c);
    lua_setglobal(L, "raw_rows");
    return t0;
}

static double raw_sqlite(lua_State *L, const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    lua_Integer total = 0;
    double t0;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        bench_die("sqlite3_open", sqlite3_errmsg(db));
    t0 = bench_now();
    if (sqlite3_prepare_v2(db, JOIN, -1, &st, NULL) != SQLITE_OK)
        bench_die("prepare", sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW) {
        /* the name reaches Lua, as rec.parent_id.name does */
        lua_pushlstring(L, (const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        total += (lua_Integer)lua_rawlen(L, -1);
        lua_pop(L, 1);
    }
    sqlite3_finalize(st);
    t0 = bench_now() - t0;
    sqlite3_close(db);
    lua_pushinteger(L, total);
    lua_setglobal(L, "raw_total");
    return t0;
}

static double raw_pg(lua_State *L, const char *url)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r;
    lua_Integer total = 0;
    double t0;
    int i, n;
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("PQconnectdb", PQerrorMessage(c));
    t0 = bench_now();
    r = PQexec(c, JOIN);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_die("join", PQerrorMessage(c));
    n = PQntuples(r);
    for (i = 0; i < n; i++) {
        lua_pushlstring(L, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
        total += (lua_Integer)lua_rawlen(L, -1);
        lua_pop(L, 1);
    }
    PQclear(r);
    t0 = bench_now() - t0;
    PQfinish(c);
    lua_pushinteger(L, total);
    lua_setglobal(L, "raw_total");
    return t0;
}

static double best(double a, double b) { return a < b ? a : b; }

void bench_relations(lua_State *L, const char *backend, const char *url, const char *raw)
{
    double orm = 1e9, rawt = 1e9, orm_r = 1e9, raw_r = 1e9;
    char name[64];
    int i, sq = strcmp(backend, "sqlite") == 0;
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    bench_lua(L, bench_models_lua);
    lua_pushstring(L, url);
    lua_setglobal(L, "RELURL");
    bench_lua(L,
              "env = require('earnorm').connect(RELURL); env:migrate()\n"
              "local Pa, C = env['bench.parent'], env['bench.child']\n"
              "C:search{}:unlink(); Pa:search{}:unlink()\n"
              "local ps = {}\n"
              "for i = 1, 1000 do ps[i] = { name = 'parent number ' .. i } end\n"
              "local parents = Pa:create(ps)\n"
              "local cs = {}\n"
              "for i = 1, ROWS do cs[i] = { name = 'c' .. i, parent_id = parents[(i % 1000) + 1].id } end\n"
              "C:create(cs)\n"
              "function orm_rows_rel()\n"
              "  env:invalidate(); env:reset_stats()\n"
              "  orm_rows = C:search_read({}, { fields = { 'parent_id.name' }, order = 'id' })\n"
              "  rows_queries = env:stats().queries\n"
              "end\n"
              "function orm_rel()\n"
              "  env:invalidate(); env:reset_stats()\n"
              "  local total = 0\n"
              "  for rec in C:search{}:each() do total = total + #rec.parent_id.name end\n"
              "  rel_queries = env:stats().queries\n"
              "  orm_total = total\n"
              "end\n"
              "function check_rows()\n"
              "  assert(#orm_rows == #raw_rows, 'row counts differ')\n"
              "  for i = 1, #orm_rows, 997 do\n"
              "    assert(orm_rows[i]['parent_id.name'] == raw_rows[i]['parent_id.name'], 'names differ')\n"
              "  end\n"
              "end\n");
    for (i = 0; i < bench_runs; i++) {
        bench_lua(L, "reset_results()");
        orm_r = best(orm_r, bench_lua_timed(L, "orm_rows_rel"));
        bench_lua(L, "raw_rows = nil; collectgarbage()");
        raw_r = best(raw_r, sq ? raw_sqlite_rows(L, raw) : raw_pg_rows(L, raw));
    }
    bench_lua(L, "check_rows(); reset_results()");
    snprintf(name, sizeof name, "%s.parent_name", backend);
    bench_add(name, "search_read parent_id.name vs the join into rows", orm_r, raw_r, 2.0,
              bench_lua_int(L, "rows_queries"));
    for (i = 0; i < bench_runs; i++) {
        orm = best(orm, bench_lua_timed(L, "orm_rel"));
        rawt = best(rawt, sq ? raw_sqlite(L, raw) : raw_pg(L, raw));
    }
    bench_lua(L, "assert(orm_total == raw_total, 'orm and raw read different names')");
    snprintf(name, sizeof name, "%s.parent_name_loop", backend);
    bench_add(name, "rec.parent_id.name in a loop vs the join's names", orm, rawt, 0,
              bench_lua_int(L, "rel_queries"));
    bench_lua(L, "env['bench.child']:search{}:unlink(); env['bench.parent']:search{}:unlink();"
                 "env:close(); env = nil; collectgarbage()");
}
