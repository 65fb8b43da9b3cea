/*
 * m2o_bench.c - create with a Many2one (the target-existence check) vs the
 * same rows with an indexed integer column in its place (the index the
 * Many2one has too), both through the Lua API, on SQLite and PostgreSQL
 * (target <= 1.15), with the queries of each. The Many2one side also pays
 * the database's foreign key, row by row: on PostgreSQL that key is most of
 * the difference (its per-row check costs what the row does), so there the
 * same create is also measured against raw COPY of the same rows into the
 * same table, key included (create_m2o_copy: the engine's own cost).
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void empty_tables(const char *backend, const char *raw)
{
    if (strcmp(backend, "sqlite") == 0) {
        sqlite3 *db;
        char *msg = NULL;
        if (sqlite3_open(raw, &db) != SQLITE_OK)
            bench_die("sqlite3_open", sqlite3_errmsg(db));
        if (sqlite3_exec(db, "DELETE FROM bench_m2o_child; DELETE FROM bench_m2o_plain", NULL, NULL,
                         &msg) != SQLITE_OK)
            bench_die("DELETE", msg);
        sqlite3_close(db);
    } else {
        PGconn *c = bench_pg_open(raw);
        bench_pg_exec(c, "TRUNCATE bench_m2o_child, bench_m2o_plain");
        PQfinish(c);
    }
}

/* raw libpq COPY of the Many2one side's rows (name 'c<i>', ref_id the
 * (i % 1000 + 1)th target, as M2O_ROWS) into bench_m2o_child, its foreign
 * key checked by the server as for the engine */
static double raw_copy_children(const char *conninfo)
{
    PGconn *c = bench_pg_open(conninfo);
    PGresult *r;
    long long targets[1000];
    size_t cap = 1 << 20, len = 0;
    char *buf;
    double t0;
    int i, nt;
    r = PQexec(c, "SELECT id FROM bench_m2o_target ORDER BY id");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1000)
        bench_die("SELECT targets", PQerrorMessage(c));
    nt = PQntuples(r);
    for (i = 0; i < nt; i++)
        targets[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    PQclear(r);
    buf = malloc(cap);
    if (!buf)
        bench_die("malloc", "out of memory");
    t0 = bench_mark();
    bench_pg_copy_begin(c, "COPY bench_m2o_child (name, ref_id) FROM STDIN");
    for (i = 1; i <= bench_rows; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "c%d\t%lld\n", i, targets[i % 1000]);
        if (len > cap - 64 || i == bench_rows) {
            bench_pg_copy_put(c, buf, len);
            len = 0;
        }
    }
    bench_pg_copy_end(c);
    t0 = bench_now() - t0;
    free(buf);
    PQfinish(c);
    return t0;
}

void bench_m2o_create(lua_State *L, const char *backend, const char *url, const char *raw)
{
    bench_side orm = BENCH_SIDE_INIT, plain = BENCH_SIDE_INIT;
    char name[64], what[96];
    int i;
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    lua_pushstring(L, url);
    lua_setglobal(L, "M2OURL");
    bench_lua(L,
              "local orm = require 'earnorm'\n"
              "local f = orm.fields\n"
              "if not orm.models['bench.m2o_child'] then\n"
              "  orm.model('bench.m2o_target', { _log_access = false, name = f.Char{} })\n"
              "  orm.model('bench.m2o_child', { _log_access = false, name = f.Char{},\n"
              "                                 ref_id = f.Many2one{ 'bench.m2o_target' } })\n"
              "  orm.model('bench.m2o_plain', { _log_access = false, name = f.Char{},\n"
              "                                 ref_id = f.Integer{ index = true } })\n"
              "end\n"
              "env = orm.connect(M2OURL); env:migrate()\n"
              "local T = env['bench.m2o_target']\n"
              "local targets = T:search{}\n"
              "if #targets ~= 1000 then\n"
              "  env['bench.m2o_child']:search{}:unlink(); targets:unlink()\n"
              "  local ts = {}\n"
              "  for i = 1, 1000 do ts[i] = { name = 'target ' .. i } end\n"
              "  targets = T:create(ts)\n"
              "end\n"
              "M2O_ROWS = {}\n"
              "for i = 1, ROWS do M2O_ROWS[i] = { name = 'c' .. i, ref_id = targets[(i % 1000) + 1].id } end\n"
              "function orm_m2o()\n"
              "  env:invalidate(); env:reset_stats()\n"
              "  assert(#env['bench.m2o_child']:create(M2O_ROWS) == ROWS)\n"
              "  m2o_queries = env:stats().queries\n"
              "end\n"
              "function orm_plain()\n"
              "  env:invalidate(); env:reset_stats()\n"
              "  assert(#env['bench.m2o_plain']:create(M2O_ROWS) == ROWS)\n"
              "  plain_queries = env:stats().queries\n"
              "end\n");
    for (i = 0; i <= bench_runs; i++) {
        empty_tables(backend, raw);
        bench_lua(L, "collectgarbage()");
        BENCH_RUN(L, orm, i, bench_lua_timed(L, "orm_m2o"));
        BENCH_RUN(L, plain, i, bench_lua_timed(L, "orm_plain"));
    }
    empty_tables(backend, raw);
    snprintf(name, sizeof name, "%s.create_m2o", backend);
    snprintf(what, sizeof what, "create with a Many2one vs an integer (%lld queries)",
             bench_lua_int(L, "plain_queries"));
    bench_add(name, what, &orm, &plain, 1.15, bench_lua_int(L, "m2o_queries"));
    if (strcmp(backend, "postgresql") == 0) {
        bench_side copy = BENCH_SIDE_INIT;
        for (i = 0; i <= bench_runs; i++) {
            empty_tables(backend, raw);
            BENCH_RUN(L, copy, i, raw_copy_children(raw));
        }
        bench_lua(L, "assert(env['bench.m2o_child']:search_count{} == ROWS, 'raw COPY rows')");
        empty_tables(backend, raw);
        bench_add("postgresql.create_m2o_copy", "create with a Many2one vs raw COPY into the same table (key)",
                  &orm, &copy, 1.5, bench_lua_int(L, "m2o_queries"));
    }
    bench_lua(L, "M2O_ROWS = nil; env:close(); env = nil; collectgarbage()");
}
