/*
 * pg_bench.c - the PostgreSQL suite: create through the Lua model API vs
 * raw libpq COPY of the same rows (target <= 2.0), and search_read vs a
 * raw query building the same Lua tables.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common.lua.h"

static PGconn *raw_open(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("PQconnectdb", PQerrorMessage(c));
    return c;
}

static void raw_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_die(sql, PQerrorMessage(c));
    PQclear(r);
}

static double raw_copy(const char *url)
{
    PGconn *c = raw_open(url);
    PGresult *r;
    char *buf;
    size_t cap = 1 << 20, len = 0;
    double t0;
    int i;
    raw_exec(c, "TRUNCATE bench_rec");
    buf = malloc(cap);
    t0 = bench_mark();
    r = PQexec(c, "COPY bench_rec (name, email, age, score, active) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bench_die("COPY", PQerrorMessage(c));
    PQclear(r);
    for (i = 0; i < bench_rows; i++) {
        char name[32], email[48];
        int age, active;
        double score;
        bench_row(i, name, email, &age, &score, &active);
        len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%d\t%.17g\t%c\n", name, email, age,
                                score, active ? 't' : 'f');
        if (len > cap - 256 || i + 1 == bench_rows) {
            if (PQputCopyData(c, buf, (int)len) != 1)
                bench_die("PQputCopyData", PQerrorMessage(c));
            len = 0;
        }
    }
    if (PQputCopyEnd(c, NULL) != 1)
        bench_die("PQputCopyEnd", PQerrorMessage(c));
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die("COPY end", PQerrorMessage(c));
    PQclear(r);
    t0 = bench_now() - t0;
    free(buf);
    PQfinish(c);
    return t0;
}

static double raw_scan(lua_State *L, const char *url)
{
    PGconn *c = raw_open(url);
    PGresult *r;
    double t0 = bench_mark();
    int i, n;
    r = PQexec(c, "SELECT id, name, email, age, score, active FROM bench_rec ORDER BY id");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        bench_die("SELECT", PQerrorMessage(c));
    n = PQntuples(r);
    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        lua_createtable(L, 0, 6);
        lua_pushinteger(L, strtoll(PQgetvalue(r, i, 0), NULL, 10));
        lua_setfield(L, -2, "id");
        lua_pushlstring(L, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
        lua_setfield(L, -2, "name");
        lua_pushlstring(L, PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
        lua_setfield(L, -2, "email");
        lua_pushinteger(L, strtoll(PQgetvalue(r, i, 3), NULL, 10));
        lua_setfield(L, -2, "age");
        lua_pushnumber(L, strtod(PQgetvalue(r, i, 4), NULL));
        lua_setfield(L, -2, "score");
        lua_pushboolean(L, PQgetvalue(r, i, 5)[0] == 't');
        lua_setfield(L, -2, "active");
        lua_rawseti(L, -2, i + 1);
    }
    PQclear(r);
    t0 = bench_now() - t0;
    if (n != bench_rows)
        bench_die("raw scan", "wrong row count");
    lua_setglobal(L, "raw_rows");
    PQfinish(c);
    return t0;
}

void bench_pg(lua_State *L, const char *url)
{
    bench_side orm_c = BENCH_SIDE_INIT, raw_c = BENCH_SIDE_INIT, orm_s = BENCH_SIDE_INIT,
               raw_s = BENCH_SIDE_INIT;
    char buf[1024];
    PGconn *c;
    int i;
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    bench_lua(L, bench_models_lua);
    lua_pushstring(L, url);
    lua_setglobal(L, "PGURL");
    bench_lua(L, "env = require('earnorm').connect(PGURL); env:migrate(); P = env['bench.rec']:with_context{ active_test = false }");
    for (i = 0; i <= bench_runs; i++) {
        c = raw_open(url);
        raw_exec(c, "TRUNCATE bench_rec");
        PQfinish(c);
        bench_lua(L, "env:invalidate(); collectgarbage()");
        BENCH_RUN(L, orm_c, i, bench_lua_timed(L, "orm_create"));
        BENCH_RUN(L, raw_c, i, raw_copy(url));
    }
    bench_add("postgresql.create", "create via the Lua API vs raw libpq COPY", &orm_c, &raw_c, 2.0, -1);
    bench_lua(L, "env:invalidate()");
    for (i = 0; i <= bench_runs; i++) {
        bench_lua(L, "reset_results()");
        BENCH_RUN(L, orm_s, i, bench_lua_timed(L, "orm_search_read"));
        bench_lua(L, "reset_results()");
        BENCH_RUN(L, raw_s, i, raw_scan(L, url));
    }
    bench_lua(L, "reset_results()");
    bench_add("postgresql.search_read", "search_read vs a raw query into Lua tables", &orm_s, &raw_s,
              3.0, -1);
    c = raw_open(url);
    raw_exec(c, "TRUNCATE bench_rec");
    PQfinish(c);
    snprintf(buf, sizeof buf, "env:close(); env = nil; P = nil; collectgarbage()");
    bench_lua(L, buf);
}
