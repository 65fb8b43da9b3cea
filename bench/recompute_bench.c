/*
 * recompute_bench.c - recomputing a stored total (issue 10): ROWS lines
 * spread over ROWS/10 orders, `total` depending on "line_ids.amount".
 *
 *   recompute  lines:write{ amount = k } (the write, the marks, the
 *              recompute of every order's total in one batch, its write)
 *              vs the raw driver doing the same in one transaction:
 *              UPDATE the lines, then one UPDATE ... FROM (SELECT
 *              order_id, SUM(amount) ... GROUP BY order_id).
 *
 * Both start from a cold store (env:invalidate()) and leave the same
 * totals, checked after the runs. SQL backends only: FerretDB has no
 * UPDATE ... FROM to compare with (its $group cannot write).
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const char *const MODELS =
    "local orm = require 'earnorm'\n"
    "local f = orm.fields\n"
    "local O = orm.model('bench.order', { _log_access = false,\n"
    "  name = f.Char{},\n"
    "  line_ids = f.One2many{ 'bench.oline', 'order_id' },\n"
    "  total = f.Integer{ compute = '_compute_total', depends = { 'line_ids.amount' }, store = true },\n"
    "})\n"
    "function O:_compute_total()\n"
    "  for rec in self:each() do\n"
    "    local t = 0\n"
    "    for line in rec.line_ids:each() do t = t + line.amount end\n"
    "    rec.total = t\n"
    "  end\n"
    "end\n"
    "orm.model('bench.oline', { _log_access = false, order_id = f.Many2one{ 'bench.order', index = true },\n"
    "                           amount = f.Integer{} })\n";

#define RAW_LINES "UPDATE bench_oline SET amount = %d"
#define RAW_TOTALS                                                                              \
    "UPDATE bench_order SET total = s.t FROM (SELECT order_id, SUM(amount) AS t FROM bench_oline " \
    "GROUP BY order_id) AS s WHERE bench_order.id = s.order_id"

static double raw_sqlite(const char *path, int k)
{
    sqlite3 *db;
    char sql[128];
    char *msg = NULL;
    double t0;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        bench_die("sqlite3_open", sqlite3_errmsg(db));
    t0 = bench_mark();
    snprintf(sql, sizeof sql, RAW_LINES, k);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, RAW_TOTALS, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK)
        bench_die("raw recompute", msg);
    t0 = bench_now() - t0;
    sqlite3_close(db);
    return t0;
}

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bench_die(sql, PQerrorMessage(c));
    PQclear(r);
}

static double raw_pg(const char *url, int k)
{
    PGconn *c = PQconnectdb(url);
    char sql[128];
    double t0;
    if (PQstatus(c) != CONNECTION_OK)
        bench_die("PQconnectdb", PQerrorMessage(c));
    t0 = bench_mark();
    snprintf(sql, sizeof sql, RAW_LINES, k);
    pg_exec(c, "BEGIN");
    pg_exec(c, sql);
    pg_exec(c, RAW_TOTALS);
    pg_exec(c, "COMMIT");
    t0 = bench_now() - t0;
    PQfinish(c);
    return t0;
}

void bench_recompute(lua_State *L, const char *backend, const char *url, const char *raw)
{
    bench_side orm = BENCH_SIDE_INIT, rawt = BENCH_SIDE_INIT;
    char name[64], code[160];
    int i, pg = strcmp(backend, "postgresql") == 0;
    lua_pushinteger(L, bench_rows);
    lua_setglobal(L, "ROWS");
    lua_pushstring(L, url);
    lua_setglobal(L, "RECURL");
    static int declared;
    if (!declared) {
        bench_lua(L, MODELS);
        declared = 1;
    }
    bench_lua(L,
              "env = require('earnorm').connect(RECURL); env:migrate()\n"
              "local O, Li = env['bench.order'], env['bench.oline']\n"
              "Li:search{}:unlink(); O:search{}:unlink()\n"
              "local NO = ROWS // 10\n"
              "local os_ = {}\n"
              "for i = 1, NO do os_[i] = { name = 'order ' .. i } end\n"
              "local orders = O:create(os_)\n"
              "local ls = {}\n"
              "for i = 1, ROWS do ls[i] = { order_id = orders[(i % NO) + 1].id, amount = 1 } end\n"
              "Li:create(ls)\n"
              "lines = Li:search{}\n"
              "assert(O:search_count{ { 'total', '=', 10 } } == NO, 'totals after create')\n"
              "function orm_recompute()\n"
              "  env:invalidate(); env:reset_stats()\n"
              "  lines:write{ amount = K }\n"
              "  rec_queries = env:stats().queries\n"
              "end\n");
    for (i = 0; i <= bench_runs; i++) {
        /* each side changes every amount: 2, 3, 2, 3 ... */
        snprintf(code, sizeof code, "K = %d", 2 + (i % 2));
        bench_lua(L, code);
        BENCH_RUN(L, orm, i, bench_lua_timed(L, "orm_recompute"));
        snprintf(code, sizeof code,
                 "env:invalidate(); assert(env['bench.order']:search_count{ { 'total', '=', %d } } == ROWS // 10, 'orm totals')",
                 10 * (2 + (i % 2)));
        bench_lua(L, code);
        BENCH_RUN(L, rawt, i, pg ? raw_pg(raw, 4 + (i % 2)) : raw_sqlite(raw, 4 + (i % 2)));
        snprintf(code, sizeof code,
                 "env:invalidate(); assert(env['bench.order']:search_count{ { 'total', '=', %d } } == ROWS // 10, 'raw totals')",
                 10 * (4 + (i % 2)));
        bench_lua(L, code);
    }
    snprintf(name, sizeof name, "%s.recompute", backend);
    bench_add(name, "write every line, recompute every order's total vs UPDATE + GROUP BY UPDATE",
              &orm, &rawt, 0, bench_lua_int(L, "rec_queries"));
    bench_lua(L, "env['bench.oline']:search{}:unlink(); env['bench.order']:search{}:unlink()\n"
                 "lines = nil; env:close(); env = nil; collectgarbage()");
}
